//! The HTTP/1 server under the application, and what it says about requests it cannot parse.
//!
//! actix-http answers a request it cannot parse (a header holding NUL or DEL, a request line
//! longer than a URI may be, a head too large, a head that never finishes) itself, before any
//! application code or middleware runs, with an empty body. Every 4xx of this API is
//! problem+json, so the connection's writes pass through [`ProblemStream`], which replaces exactly
//! those bodiless answers with the same status and a problem body. Application answers always
//! have a body (`http::error`), so none is mistaken for one of them.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use actix_web::http::StatusCode;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::error::Problem;

/// The answers actix-http writes on its own: status line, then `content-length: 0`.
const CODEC_ANSWERS: [(StatusCode, &str, &str); 3] = [
    (
        StatusCode::BAD_REQUEST,
        "bad-request",
        "the request is not valid HTTP/1.1: a header holds a control character, or the request line or a header is malformed or too long",
    ),
    (
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "headers-too-large",
        "the request's head (request line and headers) exceeds 128 KiB",
    ),
    (
        StatusCode::REQUEST_TIMEOUT,
        "request-timeout",
        "the request's head did not arrive in time",
    ),
];

/// `head` (one whole answer, as written) with the problem body of its status, if it is one of
/// the codec's bodiless answers.
fn rewrite(head: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(head).ok()?;
    let (status_line, rest) = text.split_once("\r\n")?;
    let rest = rest.strip_suffix("\r\n\r\n")?;
    let (status, slug, detail) = CODEC_ANSWERS
        .iter()
        .find(|(status, ..)| status_line.starts_with(&format!("HTTP/1.1 {} ", status.as_u16())))?;
    let headers: Vec<&str> = rest.split("\r\n").collect();
    if !headers
        .iter()
        .any(|h| h.eq_ignore_ascii_case("content-length: 0"))
    {
        return None;
    }
    let problem = Problem {
        problem_type: format!("/problems/{slug}"),
        title: status.canonical_reason().unwrap_or("Bad request").to_owned(),
        status: status.as_u16(),
        detail: (*detail).to_owned(),
        errors: Vec::new(),
        existing: None,
        decline_code: None,
    };
    let body = serde_json::to_vec(&problem).ok()?;
    let mut out = format!("{status_line}\r\n");
    for header in headers
        .iter()
        .filter(|h| !h.to_ascii_lowercase().starts_with("content-length:"))
    {
        out.push_str(header);
        out.push_str("\r\n");
    }
    out.push_str(&format!(
        "content-type: application/problem+json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    ));
    let mut out = out.into_bytes();
    out.extend_from_slice(&body);
    Some(out)
}

/// A connection whose writes are passed on, except the codec's bodiless error answers, which
/// get their problem body. Such an answer is the last one on its connection and is written at
/// the start of a write (nothing else is pending when a request fails to parse).
pub struct ProblemStream<T> {
    io: T,
    /// A rewritten answer being written: its bytes, how many are written, and how long the
    /// original was (what the caller is told was written once all of it is).
    replacing: Option<(Vec<u8>, usize, usize)>,
}

impl<T> ProblemStream<T> {
    pub fn new(io: T) -> Self {
        Self { io, replacing: None }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ProblemStream<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ProblemStream<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.replacing.is_none() {
            // Only a short write can be one of those heads; anything else passes untouched.
            let candidate = buf.len() < 512 && buf.starts_with(b"HTTP/1.1 4");
            match candidate.then(|| rewrite(buf)).flatten() {
                Some(bytes) => this.replacing = Some((bytes, 0, buf.len())),
                None => return Pin::new(&mut this.io).poll_write(cx, buf),
            }
        }
        while let Some((bytes, written, original)) = this.replacing.as_mut() {
            if *written == bytes.len() {
                let original = *original;
                this.replacing = None;
                return Poll::Ready(Ok(original));
            }
            let n = ready!(Pin::new(&mut this.io).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(0))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_codecs_bodiless_answers_get_a_problem_body() {
        let head = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\ndate: Sun, 06 Dec 2026 21:19:01 GMT\r\n\r\n";
        let out = String::from_utf8(rewrite(head).unwrap()).unwrap();
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"));
        assert!(head.contains("connection: close\r\ndate: Sun"));
        assert!(head.contains("content-type: application/problem+json"));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let problem: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(problem["type"], "/problems/bad-request");
        assert_eq!(problem["status"], 400);
    }

    #[test]
    fn answers_with_a_body_or_another_status_pass_untouched() {
        assert!(rewrite(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\n\r\n").is_none());
        assert!(rewrite(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n").is_none());
        assert!(rewrite(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
        assert!(
            rewrite(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n").is_none(),
            "not a whole head"
        );
    }
}
