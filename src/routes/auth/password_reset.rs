use actix_web::{HttpResponse, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::recovery;
use crate::auth::password;
use crate::domain::{CoreError, Email, NewPassword};
use crate::http::{ApiError, AppState, Json};
use crate::telemetry::mask_email;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    #[schema(example = "ana@example.com")]
    pub email: String,
}

/// The same answer whether or not the address has an account.
#[derive(Serialize, ToSchema)]
pub struct PasswordResetAccepted {
    #[schema(example = "if an account has this address, a reset link is on its way")]
    pub status: &'static str,
}

const ACCEPTED: PasswordResetAccepted = PasswordResetAccepted {
    status: "if an account has this address, a reset link is on its way",
};

/// Asks for a password reset link (`{APP_BASE_URL}/reset-password?token=...`, valid for an
/// hour; a newer link replaces older ones; at most one email a minute per account). The answer
/// is the same, and as fast, whether or not an account has the address: the work happens after
/// the answer.
#[utoipa::path(
    tag = "auth",
    request_body = PasswordResetRequest,
    responses(
        (status = 202, body = PasswordResetAccepted),
        (status = 400, description = "Malformed JSON"),
        (status = 422, description = "email is not an email address"),
        (status = 429, description = "Too many attempts from this address; see Retry-After"),
    )
)]
#[post("/password-reset")]
#[tracing::instrument(skip_all)]
pub async fn request_password_reset(
    state: web::Data<AppState>,
    Json(body): Json<PasswordResetRequest>,
) -> Result<HttpResponse, ApiError> {
    let email = Email::parse(&body.email).map_err(|m| ApiError::field("email", m))?;
    let now = state.clock.now();
    let db = state.db.clone();
    actix_web::rt::spawn(async move {
        let masked = mask_email(email.as_str());
        let queued = db
            .write(move |conn| recovery::request(conn, email.as_str(), now))
            .await;
        match queued {
            Ok(queued) => tracing::info!(email = %masked, queued, "password reset asked for"),
            Err(e) => tracing::error!(error = ?e, email = %masked, "password reset not queued"),
        }
    });
    Ok(HttpResponse::Accepted().json(ACCEPTED))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetConfirm {
    /// The `token` parameter of the link in the `password_reset` email.
    #[schema(min_length = 1)]
    pub token: String,
    /// The same policy as at registration.
    #[schema(min_length = 10, max_length = 128)]
    pub new_password: String,
}

/// Sets a new password from a reset link. The address is then verified (the link reached it),
/// every session of the account ends, a login lock is lifted, and `password_changed` is sent.
#[utoipa::path(
    tag = "auth",
    request_body = PasswordResetConfirm,
    responses(
        (status = 204, description = "The password is set; log in with it"),
        (status = 400, description = "Malformed JSON"),
        (status = 422, description = "The token is unknown, used or expired, or the new password breaks the policy"),
        (status = 429, description = "Too many attempts from this address; see Retry-After"),
        (status = 503, description = "Too many passwords are being hashed at once; see Retry-After"),
    )
)]
#[post("/password-reset/confirm")]
#[tracing::instrument(skip_all)]
pub async fn confirm_password_reset(
    state: web::Data<AppState>,
    Json(body): Json<PasswordResetConfirm>,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let token = body.token;
    let peeked = token.clone();
    let account = state
        .db
        .run(move |conn| recovery::peek(conn, &peeked, now))
        .await?;
    let new_password = NewPassword::parse(&body.new_password, Some(&account.email))
        .map_err(|m| ApiError::field("new_password", m))?;
    let hash = state
        .hashing
        .run(move || password::hash(new_password.expose()))
        .await?
        .map_err(CoreError::Unexpected)?;
    let user = state
        .db
        .write(move |conn| recovery::confirm(conn, &token, &hash, now))
        .await?;
    tracing::info!(user.id = %user, "password reset");
    Ok(HttpResponse::NoContent().finish())
}
