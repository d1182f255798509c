//! `/api/v1/me`: the caller's own account.

pub mod email;
pub mod export;
pub mod password;
pub mod two_factor;
pub mod webhooks;

use actix_web::{HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::{self, deletion, login, two_factor as second_factor, verification};
use crate::auth::password as hashing;
use crate::db::users::UserRow;
use crate::domain::{CoreError, Refusal, Role, UserId};
use crate::http::{ApiError, AppState, AuthUser, Json, NoBody};

/// An account as its owner sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserResponse {
    #[schema(example = 42)]
    pub id: i64,
    #[schema(example = "ana@example.com")]
    pub email: String,
    #[schema(example = "Ana López")]
    pub display_name: String,
    pub role: Role,
    /// Whether the link in the verification email was opened. Launching a campaign needs it.
    pub email_verified: bool,
    /// Whether logging in also takes a one-time code.
    pub two_factor_enabled: bool,
    pub created_at: DateTime<Utc>,
}

impl From<UserRow> for UserResponse {
    fn from(row: UserRow) -> Self {
        Self {
            role: row.role,
            id: row.id.0,
            email_verified: row.email_verified_at.is_some(),
            two_factor_enabled: row.totp().is_some(),
            email: row.email,
            display_name: row.display_name,
            created_at: row.created_at.and_utc(),
        }
    }
}

/// A missing account is a 401: the token outlived it.
pub(crate) fn gone(e: CoreError) -> ApiError {
    match e.refusal() {
        Some(Refusal::NotFound) => ApiError::Unauthorized("the account no longer exists".into()),
        _ => e.into(),
    }
}

/// The caller's account, or 401 when it is gone (deleted meanwhile).
async fn account(state: &AppState, user: UserId) -> Result<UserRow, ApiError> {
    state
        .db
        .run(move |conn| accounts::own(conn, user).map_err(gone))
        .await
}

/// Checks the account's password on the hashing threads; a wrong one counts against the
/// account's login throttle and is refused naming `field`.
pub(crate) async fn confirm_password(
    state: &AppState,
    user: UserId,
    password: String,
    field: &'static str,
) -> Result<UserRow, ApiError> {
    let now = state.clock.now();
    let row = account(state, user).await?;
    if let Some(wait) = login::locked(&row, now) {
        return Err(login::locked_refusal(wait).into());
    }
    let hash = row.password_hash.clone();
    let ok = state
        .hashing
        .run(move || hashing::verify(&password, &hash))
        .await?;
    state
        .db
        .write(move |conn| {
            let verdict = login::check_password(conn, &row, ok, field, now)?;
            Ok::<_, CoreError>(verdict.map(|()| row))
        })
        .await?
        .map_err(ApiError::from)
}

/// The account the access token belongs to.
#[utoipa::path(
    tag = "account",
    security(("bearer" = [])),
    responses(
        (status = 200, body = UserResponse),
        (status = 401, description = "Missing, invalid or expired access token"),
    )
)]
#[get("/me")]
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn me(state: web::Data<AppState>, AuthUser(user): AuthUser) -> Result<HttpResponse, ApiError> {
    let row = account(&state, user.id).await?;
    Ok(HttpResponse::Ok().json(UserResponse::from(row)))
}

/// What a request that was accepted for later says.
#[derive(Serialize, ToSchema)]
pub struct Accepted {
    #[schema(example = "a verification email is on its way")]
    pub status: String,
}

/// Sends the verification email again (the newest link replaces older ones), at most once a
/// minute.
#[utoipa::path(
    tag = "account",
    security(("bearer" = [])),
    responses(
        (status = 202, body = Accepted),
        (status = 400, description = "A body was sent; this route takes none"),
        (status = 401, description = "Missing, invalid or expired access token"),
        (status = 409, description = "The address is verified already"),
        (status = 429, description = "A verification email was sent less than a minute ago; see Retry-After"),
    )
)]
#[post("/me/verify-email/resend")]
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn resend_verification(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    _: NoBody,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    state
        .db
        .write(move |conn| verification::resend(conn, user.id, now))
        .await
        .map_err(gone)?;
    Ok(HttpResponse::Accepted().json(Accepted {
        status: "a verification email is on its way".into(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteAccountRequest {
    pub password: String,
    /// With two-factor authentication: a current code, or a recovery code.
    #[serde(default)]
    pub otp: Option<String>,
}

/// Deletes the account. Refused while the account owns a live or funded campaign, or has a
/// pledge that is active or being collected. Otherwise the person is erased: address, name,
/// password, two-factor secret, sessions and unsent emails go; pledges, campaigns, ledger
/// entries and events stay, attributed to "Deleted user"; draft campaigns are deleted. A last
/// `account_deleted` email goes to the address, which can then register again.
#[utoipa::path(
    tag = "account",
    security(("bearer" = [])),
    request_body = DeleteAccountRequest,
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Malformed JSON"),
        (status = 401, description = "Missing, invalid or expired access token; `type` `/problems/otp-required` when the account has two-factor authentication and no `otp` came"),
        (status = 409, description = "Something still blocks deletion; `detail` names each"),
        (status = 422, description = "password (or otp) is wrong"),
        (status = 429, description = "Too many failed passwords for this account; see Retry-After"),
        (status = 503, description = "Too many passwords are being checked at once; see Retry-After"),
    )
)]
#[delete("/me")]
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn delete_account(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    Json(body): Json<DeleteAccountRequest>,
) -> Result<HttpResponse, ApiError> {
    let row = confirm_password(&state, user.id, body.password, "password").await?;
    let now = state.clock.now();
    let otp = body.otp;
    let refused = state
        .db
        .write(move |conn| {
            if row.totp().is_some() {
                let Some(code) = otp else {
                    return Ok(Some(ApiError::OtpRequired));
                };
                let passed = second_factor::accept_code(conn, &row, &code, now)?
                    || second_factor::accept_recovery_code(conn, &row, &code, now)?;
                if !passed {
                    login::record_failure(conn, &row, now)?;
                    return Ok(Some(ApiError::field(
                        "otp",
                        "is not a current code or an unused recovery code",
                    )));
                }
            }
            deletion::delete(conn, &row, now)?;
            Ok::<_, ApiError>(None)
        })
        .await?;
    match refused {
        Some(refusal) => Err(refusal),
        None => Ok(HttpResponse::NoContent().finish()),
    }
}
