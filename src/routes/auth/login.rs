use actix_web::{HttpResponse, post, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{RefreshTokenTransport, SessionResponse, session_answer};
use crate::auth::{password, session};
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
    /// `cookie` (browsers): the refresh token is set as an `HttpOnly` cookie instead of being
    /// returned in the body. Default `body`.
    #[serde(default)]
    pub refresh_token_transport: RefreshTokenTransport,
}

/// Exchanges email and password for a session.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, body = SessionResponse),
        (status = 400, description = "Malformed JSON"),
        (status = 401, description = "Wrong email or password (the answer does not say which)"),
        (status = 422, description = "A field is missing or not an email address"),
        (status = 429, description = "Too many attempts from this address; see Retry-After"),
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
    let transport = body.refresh_token_transport;
    let user = state
        .db
        .run(move |conn| Ok::<_, CoreError>(users::find_by_email(conn, email.as_str())?))
        .await?;
    let (user, verified) = state
        .hashing
        .run(move || {
            let verified = match &user {
                Some(user) => password::verify(&body.password, &user.password_hash),
                None => {
                    password::verify_dummy(&body.password);
                    false
                }
            };
            (user, verified)
        })
        .await?;
    let user = match (user, verified) {
        (Some(user), true) => user,
        _ => return Err(ApiError::Unauthorized("wrong email or password".into())),
    };
    let now = state.clock.now();
    let user_id = user.id;
    let refresh_token = state
        .db
        .write(move |conn| Ok::<_, CoreError>(session::start(conn, user_id, now)?))
        .await?;
    tracing::info!(user.id = %user_id, "logged in");
    Ok(session_answer(
        HttpResponse::Ok(),
        SessionResponse::new(&state, user, refresh_token, now)?,
        transport,
    ))
}
