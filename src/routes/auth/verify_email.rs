use actix_web::{HttpResponse, post, web};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::accounts::verification::{self, Verified};
use crate::http::{ApiError, AppState, Json};
use crate::routes::UserResponse;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyEmailRequest {
    /// The `token` parameter of the link in the `verify_email` email.
    #[schema(min_length = 1)]
    pub token: String,
}

/// Opens a verification link: marks the account's address verified, or, for a link sent to a
/// new address (`PUT /me/email`), moves the account to it (the old address is told). Each
/// link works once and for 48 hours; only the newest link of an account works.
#[utoipa::path(
    tag = "auth",
    request_body = VerifyEmailRequest,
    responses(
        (status = 200, body = UserResponse, description = "The account, its address verified"),
        (status = 400, description = "Malformed JSON"),
        (status = 409, description = "The new address belongs to another account by now"),
        (status = 422, description = "The token is unknown, already used or expired"),
        (status = 429, description = "Too many attempts from this address; see Retry-After"),
    )
)]
#[post("/verify-email")]
#[tracing::instrument(skip_all)]
pub async fn verify_email(
    state: web::Data<AppState>,
    Json(body): Json<VerifyEmailRequest>,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let verified = state
        .db
        .write(move |conn| verification::confirm(conn, &body.token, now))
        .await?;
    let user = match verified {
        Verified::Address(user) => user,
        Verified::Moved(user) => {
            tracing::info!(user.id = %user.id, "email address changed");
            user
        }
    };
    Ok(HttpResponse::Ok().json(UserResponse::from(user)))
}
