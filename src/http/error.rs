//! One error type for the whole HTTP surface, answered as RFC 9457 `application/problem+json`.
//! The core's errors become one here, in [`From<CoreError>`], the only place that picks a
//! status for them.
//!
//! The `type` member is a relative URI reference (`/problems/validation`, ...): a stable
//! identifier clients can branch on, listed in the README.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::RunError;
use crate::domain::{CoreError, FieldError, Refusal};

/// A problem detail (RFC 9457).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "/problems/validation",
    "title": "Invalid request",
    "status": 422,
    "detail": "1 field is invalid",
    "errors": [{"field": "email", "message": "is not a valid email address"}]
}))]
pub struct Problem {
    /// Identifies the kind of problem; stable, safe to branch on.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// Short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request, for humans.
    pub detail: String,
    /// The fields that failed validation (422 only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// For a 409 caused by an existing resource (a second pledge): where that resource is.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "/api/v1/pledges/17")]
    pub existing: Option<String>,
    /// For a 402: the payment provider's reason (`card_declined`, `insufficient_funds`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "insufficient_funds")]
    pub decline_code: Option<String>,
}

impl Problem {
    /// A problem for an answer the framework made with only a status (and maybe a line of
    /// text, which becomes the detail).
    pub fn for_status(status: StatusCode, detail: Option<String>) -> Self {
        let slug = match status.as_u16() {
            400 => "bad-request",
            401 => "unauthorized",
            403 => "forbidden",
            404 => "not-found",
            405 => "method-not-allowed",
            408 => "request-timeout",
            409 => "conflict",
            413 => "payload-too-large",
            415 => "unsupported-media-type",
            422 => "validation",
            429 => "rate-limited",
            431 => "headers-too-large",
            503 => "unavailable",
            500..=599 => "internal",
            _ => "http-error",
        };
        let title = status.canonical_reason().unwrap_or("Error").to_owned();
        Self {
            problem_type: format!("/problems/{slug}"),
            detail: detail.unwrap_or_else(|| title.clone()),
            title,
            status: status.as_u16(),
            errors: Vec::new(),
            existing: None,
            decline_code: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("malformed request: {0}")]
    BadRequest(String),
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    /// 404 naming the field whose value names nothing the caller can see.
    #[error("not found: {0:?}")]
    NotFoundField(FieldError),
    #[error("conflict: {0}")]
    Conflict(String),
    /// 402: the provider declined the charge; `pledge` is the pledge it dropped.
    #[error("payment declined: {code}")]
    PaymentDeclined { code: String, pledge: String },
    /// 409 pointing at the resource that already exists (also sent as `Location`).
    #[error("conflict: {detail}")]
    Duplicate { detail: String, existing: String },
    #[error("validation failed: {0:?}")]
    Validation(Vec<FieldError>),
    #[error("request body exceeds {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// 413 for content that is larger than a rule allows, saying which.
    #[error("too large: {0}")]
    ContentTooLarge(String),
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// 405 for a documented path under a method it does not take; `allow` lists the ones it does.
    #[error("method not allowed")]
    MethodNotAllowed { allow: String },
    #[error("rate limited for {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    /// 429 for a rule's own pace (a resend a minute, a locked account), saying which.
    #[error("too soon: {reason}")]
    TooSoon { reason: String, retry_after_secs: u64 },
    /// 401: the password was right, and the account also needs its second factor.
    #[error("a one-time code is required")]
    OtpRequired,
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// 503 with `Retry-After`: this instance is at capacity for the request's kind of work.
    #[error("at capacity: {what}")]
    AtCapacity {
        what: &'static str,
        retry_after_secs: u64,
    },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    fn kind(&self) -> (&'static str, &'static str) {
        match self {
            Self::BadRequest(_) => ("bad-request", "Malformed request"),
            Self::Unauthorized(_) => ("unauthorized", "Authentication required"),
            Self::Forbidden(_) => ("forbidden", "Not allowed"),
            Self::NotFound | Self::NotFoundField(_) => ("not-found", "Not found"),
            Self::Conflict(_) | Self::Duplicate { .. } => ("conflict", "Conflict with the current state"),
            Self::PaymentDeclined { .. } => ("payment-declined", "Payment declined"),
            Self::Validation(_) => ("validation", "Invalid request"),
            Self::PayloadTooLarge { .. } | Self::ContentTooLarge(_) => {
                ("payload-too-large", "Request body too large")
            }
            Self::UnsupportedMediaType(_) => ("unsupported-media-type", "Unsupported media type"),
            Self::MethodNotAllowed { .. } => ("method-not-allowed", "Method not allowed"),
            Self::TooManyRequests { .. } | Self::TooSoon { .. } => ("rate-limited", "Too many requests"),
            Self::OtpRequired => ("otp-required", "One-time code required"),
            Self::Unavailable(_) | Self::AtCapacity { .. } => ("unavailable", "Service unavailable"),
            Self::Internal(_) => ("internal", "Internal server error"),
        }
    }

    fn detail(&self) -> String {
        match self {
            Self::BadRequest(d)
            | Self::Unauthorized(d)
            | Self::Forbidden(d)
            | Self::Conflict(d)
            | Self::ContentTooLarge(d)
            | Self::UnsupportedMediaType(d) => d.clone(),
            Self::Duplicate { detail, .. } => detail.clone(),
            Self::PaymentDeclined { code, .. } => format!(
                "the payment provider declined the charge ({code}); nothing was charged and the pledge was dropped: send another payment method"
            ),
            Self::NotFound => "the resource does not exist or is not visible to you".into(),
            Self::NotFoundField(error) => format!("{}: {}", error.field, error.message),
            Self::Validation(errors) => match errors.len() {
                1 => "1 field is invalid".into(),
                n => format!("{n} fields are invalid"),
            },
            Self::PayloadTooLarge { limit } => format!("the request body exceeds {limit} bytes"),
            Self::MethodNotAllowed { allow } => format!("this path takes {allow}"),
            Self::TooManyRequests { retry_after_secs } => {
                format!("rate limit reached; retry in {retry_after_secs} s")
            }
            Self::TooSoon {
                reason,
                retry_after_secs,
            } => format!("{reason}; retry in {retry_after_secs} s"),
            Self::OtpRequired => {
                "this account has two-factor authentication: send `otp` (a current code) or `recovery_code`"
                    .into()
            }
            // Never leak internals: the cause is in the log, under the request id.
            Self::Unavailable(_) => "the service is temporarily unavailable; retry shortly".into(),
            Self::AtCapacity {
                what,
                retry_after_secs,
            } => format!("{what}; retry in {retry_after_secs} s"),
            Self::Internal(_) => "an unexpected error occurred".into(),
        }
    }

    pub fn problem(&self) -> Problem {
        let (slug, title) = self.kind();
        Problem {
            problem_type: format!("/problems/{slug}"),
            title: title.into(),
            status: self.status_code().as_u16(),
            detail: self.detail(),
            errors: match self {
                Self::Validation(errors) => errors.clone(),
                Self::NotFoundField(error) => vec![error.clone()],
                Self::PaymentDeclined { code, .. } => {
                    vec![FieldError::new("payment_method", format!("was declined: {code}"))]
                }
                _ => Vec::new(),
            },
            existing: match self {
                Self::Duplicate { existing, .. } => Some(existing.clone()),
                Self::PaymentDeclined { pledge, .. } => Some(pledge.clone()),
                _ => None,
            },
            decline_code: match self {
                Self::PaymentDeclined { code, .. } => Some(code.clone()),
                _ => None,
            },
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound | Self::NotFoundField(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) | Self::Duplicate { .. } => StatusCode::CONFLICT,
            Self::PaymentDeclined { .. } => StatusCode::PAYMENT_REQUIRED,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::PayloadTooLarge { .. } | Self::ContentTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::TooManyRequests { .. } | Self::TooSoon { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::OtpRequired => StatusCode::UNAUTHORIZED,
            Self::Unavailable(_) | Self::AtCapacity { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Internal(e) => tracing::error!(error = ?e, "request failed"),
            Self::Unavailable(cause) => tracing::warn!(%cause, "service unavailable"),
            _ => {}
        }
        let mut response = HttpResponse::build(self.status_code());
        response.content_type("application/problem+json");
        match self {
            Self::Unauthorized(_) | Self::OtpRequired => {
                response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
            }
            Self::TooManyRequests { retry_after_secs }
            | Self::TooSoon { retry_after_secs, .. }
            | Self::AtCapacity { retry_after_secs, .. } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            Self::Duplicate { existing, .. } => {
                response.insert_header((header::LOCATION, existing.clone()));
            }
            Self::MethodNotAllowed { allow } => {
                response.insert_header((header::ALLOW, allow.clone()));
            }
            _ => {}
        }
        response.json(self.problem())
    }
}

impl From<crate::auth::password::HashingError> for ApiError {
    fn from(e: crate::auth::password::HashingError) -> Self {
        use crate::auth::password::{Hashing, HashingError};
        match e {
            HashingError::Busy => Self::AtCapacity {
                what: "too many passwords are being checked at once",
                retry_after_secs: Hashing::RETRY_AFTER_SECS,
            },
            HashingError::Failed(cause) => Self::Internal(cause),
        }
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::Refused(refusal) => refusal.into(),
            CoreError::Unavailable(cause) => Self::Unavailable(format!("{cause:#}")),
            CoreError::Database(cause) => Self::Internal(cause.into()),
            CoreError::Unexpected(cause) => Self::Internal(cause),
        }
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::NotFound => Self::NotFound,
            Refusal::Unknown(error) => Self::NotFoundField(error),
            Refusal::Forbidden(reason) => Self::Forbidden(reason),
            Refusal::Conflict(reason) => Self::Conflict(reason),
            Refusal::Stale(resource) => Self::Conflict(format!(
                "the {} changed meanwhile; reload it and retry",
                resource.as_str()
            )),
            Refusal::Duplicate { detail, existing } => Self::Duplicate { detail, existing },
            Refusal::Invalid(errors) => Self::Validation(errors),
            Refusal::Unsupported(detail) => Self::UnsupportedMediaType(detail),
            Refusal::TooLarge(detail) => Self::ContentTooLarge(detail),
            Refusal::Declined { code, pledge } => Self::PaymentDeclined { code, pledge },
            Refusal::TooSoon {
                reason,
                retry_after_secs,
            } => Self::TooSoon {
                reason,
                retry_after_secs,
            },
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        CoreError::from(e).into()
    }
}

impl From<RunError> for ApiError {
    fn from(e: RunError) -> Self {
        CoreError::from(e).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_are_opaque() {
        let problem = ApiError::Internal(anyhow::anyhow!("password=hunter2 leaked")).problem();
        assert_eq!(problem.status, 500);
        assert!(!problem.detail.contains("hunter2"));
    }

    #[test]
    fn validation_lists_fields() {
        let problem = ApiError::Validation(vec![
            FieldError::new("email", "bad"),
            FieldError::new("password", "short"),
        ])
        .problem();
        assert_eq!(problem.status, 422);
        assert_eq!(problem.problem_type, "/problems/validation");
        assert_eq!(problem.detail, "2 fields are invalid");
        assert_eq!(problem.errors.len(), 2);
    }
}
