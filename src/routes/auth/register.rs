use actix_web::{HttpResponse, post, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{RefreshTokenTransport, SessionResponse, session_answer};
use crate::accounts::verification;
use crate::auth::{password, session};
use crate::db::users;
use crate::domain::{CoreError, DisplayName, Email, FieldErrors, NewPassword, Refusal, Role};
use crate::http::{ApiError, AppState, Json};
use crate::telemetry::mask_email;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// Case-insensitively unique.
    #[schema(example = "ana@example.com")]
    pub email: String,
    /// 10 to 128 characters; not a common password, not the email address.
    #[schema(example = "correct horse battery staple", min_length = 10, max_length = 128)]
    pub password: String,
    /// 1 to 80 characters, shown to other users.
    #[schema(example = "Ana López", min_length = 1, max_length = 80)]
    pub display_name: String,
    /// `cookie` (browsers): the refresh token is set as an `HttpOnly` cookie instead of being
    /// returned in the body. Default `body`.
    #[serde(default)]
    pub refresh_token_transport: RefreshTokenTransport,
}

struct Registration {
    email: Email,
    display_name: DisplayName,
    password: NewPassword,
}

impl TryFrom<RegisterRequest> for Registration {
    type Error = ApiError;

    fn try_from(body: RegisterRequest) -> Result<Self, ApiError> {
        let mut errors = FieldErrors::default();
        let email = errors.check("email", Email::parse(&body.email));
        let display_name = errors.check("display_name", DisplayName::parse(&body.display_name));
        let password = errors.check(
            "password",
            NewPassword::parse(&body.password, Some(body.email.trim())),
        );
        errors.finish()?;
        match (email, display_name, password) {
            (Some(email), Some(display_name), Some(password)) => Ok(Self {
                email,
                display_name,
                password,
            }),
            _ => Err(CoreError::unexpected("validation passed without values").into()),
        }
    }
}

/// Creates an account (role `user`) and logs it in. A `verify_email` email goes to the
/// address; until its link is opened the account may pledge but not launch a campaign, and
/// the address receives no other email.
#[utoipa::path(
    tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, body = SessionResponse),
        (status = 400, description = "Malformed JSON"),
        (status = 409, description = "An account with this email already exists"),
        (status = 422, description = "A field is invalid; `errors` names it"),
        (status = 429, description = "Too many attempts from this address; see Retry-After"),
        (status = 503, description = "Too many passwords are being hashed at once; see Retry-After"),
    )
)]
#[post("/register")]
#[tracing::instrument(skip_all)]
pub async fn register(
    state: web::Data<AppState>,
    Json(body): Json<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    let transport = body.refresh_token_transport;
    let Registration {
        email,
        display_name,
        password,
    } = body.try_into()?;
    let hash = state
        .hashing
        .run(move || password::hash(password.expose()))
        .await?
        .map_err(CoreError::Unexpected)?;
    let now = state.clock.now();
    tracing::info!(email = %mask_email(email.as_str()), "registering");
    let (user, session) = state
        .db
        .write(move |conn| {
            if users::find_by_email(conn, email.as_str())?.is_some() {
                return Err(Refusal::conflict("an account with this email already exists").into());
            }
            let user = users::insert(
                conn,
                &users::NewUser {
                    email: email.as_str(),
                    display_name: display_name.as_str(),
                    password_hash: &hash,
                    role: Role::User,
                    created_at: now.naive_utc(),
                    updated_at: now.naive_utc(),
                    email_verified_at: None,
                },
            )?;
            verification::start(conn, user.id, now)?;
            let session = session::start(conn, user.id, now)?;
            Ok::<_, CoreError>((user, session))
        })
        .await?;
    Ok(session_answer(
        HttpResponse::Created(),
        SessionResponse::new(&state, user, session, now)?,
        transport,
    ))
}
