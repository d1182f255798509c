use actix_web::{HttpResponse, post, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{RefreshTokenTransport, SessionResponse, session_answer};
use crate::accounts::login::{self as rules, Outcome, SecondFactor};
use crate::auth::password;
use crate::db::users;
use crate::domain::{CoreError, Email};
use crate::http::{ApiError, AppState, Json};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(example = "ana@example.com")]
    pub email: String,
    #[schema(example = "correct horse battery staple")]
    pub password: String,
    /// With two-factor authentication: a current code from the authenticator app (6 digits).
    #[serde(default)]
    #[schema(example = "123456")]
    pub otp: Option<String>,
    /// With two-factor authentication, instead of `otp`: one of the recovery codes (each works
    /// once).
    #[serde(default)]
    pub recovery_code: Option<String>,
    /// `cookie` (browsers): the refresh token is set as an `HttpOnly` cookie instead of being
    /// returned in the body. Default `body`.
    #[serde(default)]
    pub refresh_token_transport: RefreshTokenTransport,
}

/// Exchanges email and password (and, with two-factor authentication, a code) for a session.
/// Ten failed passwords or codes for one account within 15 minutes lock its logins for 15
/// minutes, whatever address they come from; a password reset lifts the lock.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, body = SessionResponse),
        (status = 400, description = "Malformed JSON"),
        (status = 401, description = "Wrong email, password or code (the answer does not say which); `type` `/problems/otp-required` when the password was right and the account needs `otp` or `recovery_code`"),
        (status = 403, description = "The account is disabled"),
        (status = 422, description = "A field is missing or not an email address, or both otp and recovery_code were sent"),
        (status = 429, description = "Too many attempts from this address, or too many failed logins for this account; see Retry-After"),
        (status = 503, description = "Too many passwords are being checked at once; see Retry-After"),
    )
)]
#[post("/login")]
#[tracing::instrument(skip_all)]
pub async fn login(
    state: web::Data<AppState>,
    Json(body): Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let email = Email::parse(&body.email).map_err(|m| ApiError::field("email", m))?;
    let second = match (body.otp, body.recovery_code) {
        (Some(_), Some(_)) => {
            return Err(ApiError::field(
                "recovery_code",
                "send either otp or recovery_code, not both",
            ));
        }
        (Some(otp), None) => SecondFactor::Otp(otp),
        (None, Some(code)) => SecondFactor::RecoveryCode(code),
        (None, None) => SecondFactor::None,
    };
    let transport = body.refresh_token_transport;
    let now = state.clock.now();
    let user = state
        .db
        .run(move |conn| Ok::<_, CoreError>(users::find_by_email(conn, email.as_str())?))
        .await?;
    // A locked account is refused before any hashing: guesses against it cost nothing.
    if let Some(wait) = user.as_ref().and_then(|u| rules::locked(u, now)) {
        return Err(rules::locked_refusal(wait).into());
    }
    let password = body.password;
    let (user, verified) = state
        .hashing
        .run(move || {
            let verified = match &user {
                Some(user) => password::verify(&password, &user.password_hash),
                None => {
                    password::verify_dummy(&password);
                    false
                }
            };
            (user, verified)
        })
        .await?;
    let wrong = || ApiError::Unauthorized("wrong email, password or code".into());
    let Some(user) = user else {
        return Err(wrong());
    };
    let outcome = state
        .db
        .write(move |conn| rules::conclude(conn, user, verified, &second, now))
        .await?;
    match outcome {
        Outcome::Granted { user, session } => {
            tracing::info!(user.id = %user.id, "logged in");
            Ok(session_answer(
                HttpResponse::Ok(),
                SessionResponse::new(&state, *user, session, now)?,
                transport,
            ))
        }
        Outcome::Refused => Err(wrong()),
        Outcome::OtpRequired => Err(ApiError::OtpRequired),
        Outcome::Disabled => Err(ApiError::Forbidden("this account is disabled".into())),
        Outcome::Locked { wait } => Err(rules::locked_refusal(wait).into()),
    }
}
