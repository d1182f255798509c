//! The refresh token as a cookie, for browsers (`refresh_token_transport: "cookie"` at login or
//! registration).
//!
//! `HttpOnly` keeps it away from scripts (an XSS cannot steal it), `Secure` off plain HTTP
//! (browsers treat `localhost` as secure), `SameSite=Strict` off every request started by
//! another site, and `Path=/api/v1/auth` off every route but the auth ones — of which only
//! `/refresh` and `/logout` read it.
//!
//! CSRF: a forged cross-site request never carries the cookie (`SameSite=Strict`). Even from a
//! same-site page, the two routes that read it take a JSON body (`Content-Type:
//! application/json`), which a cross-origin page can only send after a CORS preflight that
//! succeeds for `CORS_ALLOWED_ORIGINS` alone, and their answer (a new access token) is readable
//! only by those origins.

use actix_web::HttpRequest;
use actix_web::http::header::{self, HeaderValue};

use super::session::REFRESH_TOKEN_TTL_DAYS;

pub const NAME: &str = "crowdfund_refresh";
pub const PATH: &str = "/api/v1/auth";

/// The `Set-Cookie` value that stores `token`.
pub fn set(token: &str) -> String {
    format!(
        "{NAME}={token}; Path={PATH}; Max-Age={}; HttpOnly; Secure; SameSite=Strict",
        REFRESH_TOKEN_TTL_DAYS * 24 * 3600
    )
}

/// The `Set-Cookie` value that removes it.
pub fn clear() -> String {
    format!("{NAME}=; Path={PATH}; Max-Age=0; HttpOnly; Secure; SameSite=Strict")
}

/// The refresh token the browser sent, if any.
pub fn read(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v: &HeaderValue| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == NAME && !value.is_empty())
        .map(|(_, value)| value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn the_cookie_is_locked_down() {
        let cookie = set("abc");
        for part in [
            "crowdfund_refresh=abc",
            "HttpOnly",
            "Secure",
            "SameSite=Strict",
            "Path=/api/v1/auth",
        ] {
            assert!(cookie.contains(part), "{cookie}");
        }
        assert!(clear().contains("Max-Age=0"));
    }

    #[test]
    fn the_token_is_read_among_other_cookies() {
        let req = TestRequest::default()
            .insert_header((header::COOKIE, "theme=dark; crowdfund_refresh=tok123; x=y"))
            .to_http_request();
        assert_eq!(read(&req).as_deref(), Some("tok123"));
        let req = TestRequest::default()
            .insert_header((header::COOKIE, "crowdfund_refresh="))
            .to_http_request();
        assert_eq!(read(&req), None);
    }
}
