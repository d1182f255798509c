use actix_web::{HttpResponse, put, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::confirm_password;
use crate::accounts::verification;
use crate::domain::Email;
use crate::http::{ApiError, AppState, AuthUser, Json};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeEmailRequest {
    #[schema(example = "ana@new.example")]
    pub new_email: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct EmailChangePending {
    /// Where the confirmation link went. The account keeps its address until it is opened.
    pub pending_email: String,
}

/// Starts a change of address: a `verify_email` link goes to the new address, and the account
/// moves there only when it is opened (`POST /auth/verify-email`); the old address then gets
/// `email_changed`. A newer request replaces an older one.
#[utoipa::path(
    tag = "account",
    security(("bearer" = [])),
    request_body = ChangeEmailRequest,
    responses(
        (status = 202, body = EmailChangePending),
        (status = 400, description = "Malformed JSON"),
        (status = 401, description = "Missing, invalid or expired access token"),
        (status = 409, description = "Another account has this address"),
        (status = 422, description = "new_email is not an email address or is the current one, or password is wrong"),
        (status = 429, description = "Too many failed passwords for this account; see Retry-After"),
        (status = 503, description = "Too many passwords are being checked at once; see Retry-After"),
    )
)]
#[put("/me/email")]
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn change_email(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    Json(body): Json<ChangeEmailRequest>,
) -> Result<HttpResponse, ApiError> {
    let new_email = Email::parse(&body.new_email).map_err(|m| ApiError::field("new_email", m))?;
    confirm_password(&state, user.id, body.password, "password").await?;
    let now = state.clock.now();
    let address = new_email.as_str().to_owned();
    state
        .db
        .write(move |conn| verification::change_email(conn, user.id, &address, now))
        .await
        .map_err(super::gone)?;
    Ok(HttpResponse::Accepted().json(EmailChangePending {
        pending_email: new_email.as_str().to_owned(),
    }))
}
