//! `Idempotency-Key` on POSTs that create something, with Stripe's semantics:
//!
//! - a key is scoped to the user and kept 24 hours (older ones are purged);
//! - a retry with the same key and the same request replays the first answer byte for byte
//!   (status and body), with `Idempotent-Replayed: true`;
//! - the same key with a different request is 422; while the first request still runs, 409;
//! - the answer is stored in the same transaction as the change it reports, so a crash leaves
//!   either both or neither. A request that fails (any error) stores nothing: the key is
//!   released and a retry runs again. A record left "running" by a crashed process is taken
//!   over after [`ABANDONED_AFTER_SECS`].

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Duration;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::error::ApiError;
use super::state::AppState;
use crate::config::hex;

use crate::db::group_commit::Work;
use crate::db::idempotency::Stored;
use crate::db::{DbConn, idempotency, marker_transaction, write_transaction};
use crate::domain::{Actor, UserId};

pub const HEADER: &str = "Idempotency-Key";
pub const KEEP_HOURS: i64 = 24;
pub const ABANDONED_AFTER_SECS: i64 = 60;

/// A request's `Idempotency-Key`, scoped to its user and bound to the request's hash.
#[derive(Clone)]
pub struct Key {
    user_id: UserId,
    key: String,
    hash: String,
}

/// The request's key, if it has one; a malformed key is a 422.
pub fn key_from(req: &HttpRequest, user: &Actor, request: &impl Serialize) -> Result<Option<Key>, ApiError> {
    let Some(value) = req.headers().get(HEADER) else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| (1..=255).contains(&k.len()))
        .ok_or_else(|| ApiError::field(HEADER, "must be 1 to 255 visible ASCII characters"))?;
    let canonical = serde_json::to_string(request).map_err(|e| ApiError::Internal(e.into()))?;
    let digest = Sha256::digest(format!("{} {}\n{canonical}", req.method(), req.path()).as_bytes());
    Ok(Some(Key {
        user_id: user.id,
        key: key.to_owned(),
        hash: hex(&digest),
    }))
}

impl Key {
    /// The key as a statement that writes the creation stores it with its answer.
    fn stored(&self, now: chrono::DateTime<chrono::Utc>) -> Stored<'_> {
        Stored {
            user_id: self.user_id,
            key: &self.key,
            request_hash: &self.hash,
            status: i32::from(StatusCode::CREATED.as_u16()),
            purge_before: (now - Duration::hours(KEEP_HOURS)).naive_utc(),
        }
    }
}

enum Begin {
    Proceed,
    Replay { status: u16, body: String },
}

/// Reserves the key. A marker: lost in a crash, it only lets the client's retry run the request
/// again, which is what a crash before the request's own commit calls for anyway; the request's
/// durable commit makes it durable too.
fn begin(conn: &mut DbConn, key: &Key, now: chrono::DateTime<chrono::Utc>) -> Result<Begin, ApiError> {
    marker_transaction(conn, |conn| reserve(conn, key, now))
}

/// [`begin`]'s work, in the caller's transaction.
fn reserve(conn: &mut DbConn, key: &Key, now: chrono::DateTime<chrono::Utc>) -> Result<Begin, ApiError> {
    idempotency::purge(
        conn,
        Some(key.user_id),
        (now - Duration::hours(KEEP_HOURS)).naive_utc(),
    )?;
    let Some(existing) = idempotency::find(conn, key.user_id, &key.key)? else {
        return match idempotency::insert(conn, key.user_id, &key.key, &key.hash, now.naive_utc()) {
            Ok(_) => Ok(Begin::Proceed),
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => Err(still_running()),
            Err(e) => Err(e.into()),
        };
    };
    if existing.request_hash != key.hash {
        return Err(ApiError::field(
            HEADER,
            "was already used with a different request",
        ));
    }
    match (existing.response_status, existing.response_body) {
        (Some(status), Some(body)) => Ok(Begin::Replay {
            status: status as u16,
            body,
        }),
        _ => {
            let abandoned = (now - Duration::seconds(ABANDONED_AFTER_SECS)).naive_utc();
            if idempotency::restart(conn, key.user_id, &key.key, abandoned, now.naive_utc())? {
                Ok(Begin::Proceed)
            } else {
                Err(still_running())
            }
        }
    }
}

fn still_running() -> ApiError {
    ApiError::Conflict("a request with this Idempotency-Key is still being processed; retry shortly".into())
}

/// A creation under way: either a key was reserved for it, or the request had none.
pub struct Creation {
    key: Option<Key>,
}

/// What to do with a creation request: run it, or answer with the stored response.
pub enum Start {
    Run(Creation),
    Replayed(HttpResponse),
}

/// Reserves the request's `Idempotency-Key` (if it has one), or returns the stored answer.
/// For a creation that has more to do than its transaction between the two (a call to the
/// payment provider); otherwise [`create`] does both in one trip.
pub async fn start(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    user: &Actor,
    request: &impl Serialize,
) -> Result<Start, ApiError> {
    let key = key_from(req, user, request)?;
    let now = state.clock.now();
    if let Some(key) = key.clone()
        && let Begin::Replay { status, body } = state.db.run(move |conn| begin(conn, &key, now)).await?
    {
        return Ok(Start::Replayed(replayed(status, body)?));
    }
    Ok(Start::Run(Creation { key }))
}

/// Runs a creation whose only work is `f`, honouring its `Idempotency-Key` ([`key_from`]):
/// [`start`] and [`Creation::commit`] in one trip to the blocking pool, the key's reservation
/// and the creation's transaction one after the other on one connection. The semantics are
/// theirs: a stored answer is replayed, a failure releases the key.
pub async fn create<T, F>(
    state: &web::Data<AppState>,
    key: Option<Key>,
    f: F,
) -> Result<HttpResponse, ApiError>
where
    T: Serialize,
    F: FnOnce(&mut DbConn) -> Result<(T, String), ApiError> + Send + 'static,
{
    let now = state.clock.now();
    let answer = state
        .db
        .run(move |conn| {
            if let Some(key) = &key
                && let Begin::Replay { status, body } = begin(conn, key, now)?
            {
                return Ok(Answer::Replay { status, body });
            }
            match create_and_store(conn, key.as_ref(), f) {
                Ok((body, location)) => Ok(Answer::Created { body, location }),
                Err(error) => {
                    if let Some(key) = &key {
                        idempotency::delete(conn, key.user_id, &key.key)?;
                    }
                    Err(error)
                }
            }
        })
        .await?;
    match answer {
        Answer::Created { body, location } => Ok(created(body, location)),
        Answer::Replay { status, body } => replayed(status, body),
    }
}

/// [`create`] for a creation that may share its transaction with others arriving meanwhile
/// (`db::group_commit`): its key reserved and its answer stored in the same transaction, in a
/// savepoint of its own. `quick` is tried first: the creation and its answer written in one
/// statement, returning the answer's body and `Location`, or `None` when it wrote nothing and
/// `f` is to run.
pub async fn create_grouped<T, Q, F>(
    state: &web::Data<AppState>,
    key: Option<Key>,
    quick: Q,
    f: F,
) -> Result<HttpResponse, ApiError>
where
    T: Serialize + 'static,
    Q: Fn(&mut DbConn, Option<&Stored<'_>>) -> Result<Option<(String, String)>, ApiError>
        + Send
        + Sync
        + 'static,
    F: Fn(&mut DbConn) -> Result<(T, String), ApiError> + Send + Sync + 'static,
{
    let now = state.clock.now();
    let work = Arc::new(Grouped { key, now, quick, f });
    match state.group_commit.run(&state.db, work).await? {
        Answer::Created { body, location } => Ok(created(body, location)),
        Answer::Replay { status, body } => replayed(status, body),
    }
}

/// A keyed creation as a unit of a shared transaction.
struct Grouped<Q, F> {
    key: Option<Key>,
    now: chrono::DateTime<chrono::Utc>,
    quick: Q,
    f: F,
}

impl<T, Q, F> Work<Answer, ApiError> for Grouped<Q, F>
where
    T: Serialize,
    Q: Fn(&mut DbConn, Option<&Stored<'_>>) -> Result<Option<(String, String)>, ApiError> + Send + Sync,
    F: Fn(&mut DbConn) -> Result<(T, String), ApiError> + Send + Sync,
{
    fn at_once(&self, conn: &mut DbConn) -> Result<Option<Answer>, ApiError> {
        let stored = self.key.as_ref().map(|key| key.stored(self.now));
        Ok((self.quick)(conn, stored.as_ref())?.map(|(body, location)| Answer::Created { body, location }))
    }

    fn run(&self, conn: &mut DbConn) -> Result<Answer, ApiError> {
        if let Some(key) = &self.key
            && let Begin::Replay { status, body } = reserve(conn, key, self.now)?
        {
            return Ok(Answer::Replay { status, body });
        }
        let (body, location) = answer_and_store(conn, self.key.as_ref(), |conn| (self.f)(conn))?;
        Ok(Answer::Created { body, location })
    }
}

/// What a creation answers: made now, or the answer stored under its key.
pub enum Answer {
    Created { body: String, location: String },
    Replay { status: u16, body: String },
}

/// `f` in a write transaction, its answer stored under the key in the same transaction;
/// returns the answer's body and the `Location` of what was created.
fn create_and_store<T, F>(conn: &mut DbConn, key: Option<&Key>, f: F) -> Result<(String, String), ApiError>
where
    T: Serialize,
    F: FnOnce(&mut DbConn) -> Result<(T, String), ApiError>,
{
    write_transaction(conn, |conn| answer_and_store(conn, key, f))
}

/// [`create_and_store`]'s work, in the caller's transaction.
fn answer_and_store<T, F>(conn: &mut DbConn, key: Option<&Key>, f: F) -> Result<(String, String), ApiError>
where
    T: Serialize,
    F: FnOnce(&mut DbConn) -> Result<(T, String), ApiError>,
{
    let (response, location) = f(conn)?;
    let body = serde_json::to_string(&response).map_err(|e| ApiError::Internal(e.into()))?;
    if let Some(key) = key {
        let status = i32::from(StatusCode::CREATED.as_u16());
        idempotency::complete(conn, key.user_id, &key.key, status, &body)?;
    }
    Ok((body, location))
}

fn created(body: String, location: String) -> HttpResponse {
    HttpResponse::Created()
        .content_type("application/json")
        .insert_header(("Location", location))
        .body(body)
}

fn replayed(status: u16, body: String) -> Result<HttpResponse, ApiError> {
    let status = StatusCode::from_u16(status).map_err(|e| ApiError::Internal(e.into()))?;
    Ok(HttpResponse::build(status)
        .content_type("application/json")
        .insert_header(("Idempotent-Replayed", "true"))
        .body(body))
}

impl Creation {
    /// Runs `f` in a write transaction and stores its answer under the key in the same
    /// transaction. `f` returns the response body and the `Location` of what it created.
    /// On any error the key is released.
    pub async fn commit<T, F>(self, state: &web::Data<AppState>, f: F) -> Result<HttpResponse, ApiError>
    where
        T: Serialize,
        F: FnOnce(&mut DbConn) -> Result<(T, String), ApiError> + Send + 'static,
    {
        let stored_key = self.key.clone();
        let result = state
            .db
            .run(move |conn| create_and_store(conn, stored_key.as_ref(), f))
            .await;
        match result {
            Ok((body, location)) => Ok(created(body, location)),
            Err(error) => {
                self.abandon(state).await?;
                Err(error)
            }
        }
    }

    /// [`Creation::commit`] for a creation whose transaction may refuse and still keep what it
    /// wrote (a late pledge whose charge was declined is dropped): `f`'s inner error commits
    /// the transaction without an answer, releases the key in it, and is returned.
    pub async fn commit_or_refuse<T, F>(
        self,
        state: &web::Data<AppState>,
        f: F,
    ) -> Result<HttpResponse, ApiError>
    where
        T: Serialize,
        F: FnOnce(&mut DbConn) -> Result<Result<(T, String), ApiError>, ApiError> + Send + 'static,
    {
        let stored_key = self.key.clone();
        let result = state
            .db
            .run(move |conn| {
                write_transaction(conn, |conn| match f(conn)? {
                    Ok(created) => answer_and_store(conn, stored_key.as_ref(), |_| Ok(created)).map(Ok),
                    Err(refusal) => {
                        if let Some(key) = &stored_key {
                            idempotency::delete(conn, key.user_id, &key.key)?;
                        }
                        Ok(Err(refusal))
                    }
                })
            })
            .await;
        match result {
            Ok(Ok((body, location))) => Ok(created(body, location)),
            Ok(Err(refusal)) => Err(refusal),
            Err(error) => {
                self.abandon(state).await?;
                Err(error)
            }
        }
    }

    /// Releases the key of a request that failed before it could commit.
    pub async fn abandon(self, state: &web::Data<AppState>) -> Result<(), ApiError> {
        if let Some(key) = self.key {
            state
                .db
                .run(move |conn| Ok::<_, ApiError>(idempotency::delete(conn, key.user_id, &key.key)?))
                .await?;
        }
        Ok(())
    }
}
