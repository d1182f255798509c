use std::future::{Ready, ready};

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use super::error::ApiError;
use super::state::AppState;
use crate::domain::Actor;

/// The authenticated caller, from `Authorization: Bearer <access token>`, as the actor the
/// rules see. Taking it as a handler argument makes the route require a valid token (401
/// otherwise).
#[derive(Debug, Clone, Copy)]
pub struct AuthUser(pub Actor);

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req).map(Self))
    }
}

/// [`AuthUser`] with the session the access token was issued in (absent in tokens issued
/// before sessions were named), for the routes that end the caller's *other* sessions.
#[derive(Debug, Clone)]
pub struct AuthSession {
    pub actor: Actor,
    pub session: Option<String>,
}

impl FromRequest for AuthSession {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(verified(req).map(|v| Self {
            actor: Actor {
                id: v.user,
                role: v.role,
            },
            session: v.session,
        }))
    }
}

fn authenticate(req: &HttpRequest) -> Result<Actor, ApiError> {
    verified(req).map(|v| Actor {
        id: v.user,
        role: v.role,
    })
}

fn verified(req: &HttpRequest) -> Result<crate::auth::jwt::Verified, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("application state missing")))?;
    let value = req.headers().get(header::AUTHORIZATION).ok_or_else(|| {
        ApiError::Unauthorized("an access token is required (Authorization: Bearer ...)".into())
    })?;
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::Unauthorized("the Authorization header must be `Bearer <token>`".into()))?;
    state
        .jwt
        .verify_claims(token, &state.clock)
        .map_err(|_| ApiError::Unauthorized("the access token is invalid or expired".into()))
}

/// The caller if a token is sent, `None` for anonymous requests. A token that is sent but
/// invalid is still a 401: a client with an expired token should refresh, not silently see
/// the anonymous view.
#[derive(Debug, Clone, Copy)]
pub struct MaybeAuthUser(pub Option<Actor>);

impl FromRequest for MaybeAuthUser {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(if req.headers().contains_key(header::AUTHORIZATION) {
            authenticate(req).map(|user| Self(Some(user)))
        } else {
            Ok(Self(None))
        })
    }
}
