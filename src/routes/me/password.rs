use actix_web::{HttpResponse, put, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::confirm_password;
use crate::accounts::credentials;
use crate::auth::password;
use crate::domain::{CoreError, NewPassword};
use crate::http::auth::AuthSession;
use crate::http::{ApiError, AppState, Json};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    /// The same policy as at registration.
    #[schema(min_length = 10, max_length = 128)]
    pub new_password: String,
}

/// Changes the password. Every other session of the account ends (this one continues);
/// `password_changed` is sent.
#[utoipa::path(
    tag = "account",
    security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Changed"),
        (status = 400, description = "Malformed JSON"),
        (status = 401, description = "Missing, invalid or expired access token"),
        (status = 422, description = "current_password is wrong, or new_password breaks the policy"),
        (status = 429, description = "Too many failed passwords for this account; see Retry-After"),
        (status = 503, description = "Too many passwords are being hashed at once; see Retry-After"),
    )
)]
#[put("/me/password")]
#[tracing::instrument(skip_all, fields(user.id = %auth.actor.id))]
pub async fn change_password(
    state: web::Data<AppState>,
    auth: AuthSession,
    Json(body): Json<ChangePasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    let user = auth.actor.id;
    let row = confirm_password(&state, user, body.current_password, "current_password").await?;
    let new_password = NewPassword::parse(&body.new_password, Some(&row.email))
        .map_err(|m| ApiError::field("new_password", m))?;
    let hash = state
        .hashing
        .run(move || password::hash(new_password.expose()))
        .await?
        .map_err(CoreError::Unexpected)?;
    let now = state.clock.now();
    let keep = auth.session;
    state
        .db
        .write(move |conn| credentials::change_password(conn, user, &hash, keep.as_deref(), now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
