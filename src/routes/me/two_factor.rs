use actix_web::{HttpResponse, delete, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{confirm_password, gone};
use crate::accounts::{login, two_factor};
use crate::http::{ApiError, AppState, AuthUser, Json, NoBody};

#[derive(Serialize, ToSchema)]
pub struct TwoFactorEnrolment {
    /// The shared secret, base32, for entering by hand.
    #[schema(example = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")]
    pub secret: String,
    /// The same as an `otpauth://totp/...` URI (for a QR code).
    pub otpauth_uri: String,
}

/// Starts two-factor enrolment: a new TOTP secret (SHA-1, 6 digits, 30 s), not in force until
/// confirmed with a code from it. Calling it again replaces a secret not yet confirmed.
#[utoipa::path(
    tag = "account",
    security(("bearer" = [])),
    responses(
        (status = 200, body = TwoFactorEnrolment),
        (status = 400, description = "A body was sent; this route takes none"),
        (status = 401, description = "Missing, invalid or expired access token"),
        (status = 409, description = "Two-factor authentication is on already"),
    )
)]
#[post("/me/2fa")]
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn enrol_two_factor(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    _: NoBody,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let enrolment = state
        .db
        .write(move |conn| two_factor::enrol(conn, user.id, now))
        .await
        .map_err(gone)?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(TwoFactorEnrolment {
            secret: enrolment.secret,
            otpauth_uri: enrolment.otpauth_uri,
        }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TwoFactorConfirm {
    /// A current code from the enrolled secret.
    #[schema(example = "123456")]
    pub code: String,
}

#[derive(Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// Ten codes, each usable once instead of a one-time code. Shown only now.
    pub recovery_codes: Vec<String>,
}

/// Turns two-factor authentication on; answers the recovery codes, once.
#[utoipa::path(
    tag = "account",
    security(("bearer" = [])),
    request_body = TwoFactorConfirm,
    responses(
        (status = 200, body = RecoveryCodes),
        (status = 400, description = "Malformed JSON"),
        (status = 401, description = "Missing, invalid or expired access token"),
        (status = 409, description = "No enrolment in progress, or two-factor authentication is on already"),
        (status = 422, description = "code is not a current code of the enrolled secret"),
    )
)]
#[post("/me/2fa/confirm")]
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn confirm_two_factor(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    Json(body): Json<TwoFactorConfirm>,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let recovery_codes = state
        .db
        .write(move |conn| two_factor::confirm(conn, user.id, &body.code, now))
        .await
        .map_err(gone)?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(RecoveryCodes { recovery_codes }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TwoFactorDisable {
    pub password: String,
    /// A current code, or one of the recovery codes.
    pub code: String,
}

/// Turns two-factor authentication off (its secret and recovery codes are dropped).
#[utoipa::path(
    tag = "account",
    security(("bearer" = [])),
    request_body = TwoFactorDisable,
    responses(
        (status = 204, description = "Off"),
        (status = 400, description = "Malformed JSON"),
        (status = 401, description = "Missing, invalid or expired access token"),
        (status = 409, description = "Two-factor authentication is not on"),
        (status = 422, description = "password or code is wrong"),
        (status = 429, description = "Too many failed passwords or codes for this account; see Retry-After"),
        (status = 503, description = "Too many passwords are being checked at once; see Retry-After"),
    )
)]
#[delete("/me/2fa")]
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn disable_two_factor(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    Json(body): Json<TwoFactorDisable>,
) -> Result<HttpResponse, ApiError> {
    let row = confirm_password(&state, user.id, body.password, "password").await?;
    let now = state.clock.now();
    let done = state
        .db
        .write(move |conn| {
            let done = two_factor::disable(conn, &row, &body.code, now)?;
            if !done {
                login::record_failure(conn, &row, now)?;
            }
            Ok::<_, ApiError>(done)
        })
        .await?;
    if done {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::field(
            "code",
            "is not a current code or an unused recovery code",
        ))
    }
}
