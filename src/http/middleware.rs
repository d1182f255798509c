use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpResponse, web};
use tracing_actix_web::RequestId;

use super::error::ApiError;
use super::state::AppState;

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Echoes the request id the tracing middleware assigned, so a client can quote it and an
/// operator can find the request's log lines. Must run inside `TracingLogger`.
pub async fn request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = req.extensions().get::<RequestId>().copied();
    let mut res = next.call(req).await?;
    if let Some(value) = id.and_then(|id| HeaderValue::from_str(&id.to_string()).ok()) {
        res.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    Ok(res)
}

/// Gives every error answer made outside the handlers (a CORS preflight refused, anything else
/// the framework answers by itself) a problem+json body: the status stays, the framework's
/// short text becomes the `detail`. An HTML page (the share pages' 404) is an answer for
/// browsers and crawlers, and stays as it is.
pub async fn problem_bodies(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let res = next.call(req).await?.map_into_boxed_body();
    let is_problem = res.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
        v.as_bytes().starts_with(b"application/problem+json") || v.as_bytes().starts_with(b"text/html")
    });
    if !(res.status().is_client_error() || res.status().is_server_error()) || is_problem {
        return Ok(res);
    }
    let (req, res) = res.into_parts();
    let status = res.status();
    let mut headers = res.headers().clone();
    let text = actix_web::body::to_bytes_limited(res.into_body(), 1024)
        .await
        .ok()
        .and_then(Result::ok)
        .and_then(|bytes| String::from_utf8(bytes.to_vec()).ok())
        .filter(|t| !t.trim().is_empty() && t.chars().all(|c| !c.is_control()));
    let problem = super::error::Problem::for_status(status, text);
    let mut answer = HttpResponse::build(status);
    headers.remove(header::CONTENT_TYPE);
    headers.remove(header::CONTENT_LENGTH);
    for (name, value) in &headers {
        answer.append_header((name.clone(), value.clone()));
    }
    let answer = answer.content_type("application/problem+json").json(problem);
    Ok(ServiceResponse::new(req, answer))
}

/// Counts every answer (errors included) by method, route pattern and status.
pub async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let method = req.method().to_string();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let res = next.call(req).await;
    if let Some(state) = state {
        let elapsed = started.elapsed().as_secs_f64();
        let (route, status) = match &res {
            Ok(r) => (r.request().match_pattern(), r.status().as_u16()),
            Err(e) => (None, e.as_response_error().status_code().as_u16()),
        };
        let route = route.unwrap_or_else(|| "unmatched".into());
        state.metrics.observe(&method, &route, status, elapsed);
    }
    res
}

/// Limits requests per client IP (`AUTH_RATE_LIMIT_PER_MINUTE`): 429 with `Retry-After`.
pub async fn rate_limit_auth(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    if let (Some(state), Some(peer)) = (req.app_data::<web::Data<AppState>>(), req.peer_addr())
        && let Err(retry_after_secs) = state.auth_limiter.check(&peer.ip())
    {
        return Err(ApiError::TooManyRequests { retry_after_secs }.into());
    }
    next.call(req).await
}
