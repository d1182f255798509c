//! What admins do to accounts: find them, disable and enable them. A disabled account cannot
//! log in or refresh (its sessions end at once; access tokens already issued run out within
//! their lifetime); its campaigns are left as they are.

use chrono::{DateTime, Utc};

use crate::auth::session;
use crate::db::DbConn;
use crate::db::users::{self, UserRow};
use crate::domain::{Actor, CoreError, Refusal, UserId};

fn admin(actor: &Actor) -> Result<(), Refusal> {
    if actor.is_admin() {
        Ok(())
    } else {
        Err(Refusal::forbidden("only admins manage accounts"))
    }
}

pub fn search(
    conn: &mut DbConn,
    actor: &Actor,
    q: &str,
    after: Option<UserId>,
    limit: i64,
) -> Result<Vec<UserRow>, CoreError> {
    admin(actor)?;
    Ok(users::search(conn, q, after, limit)?)
}

pub fn set_disabled(
    conn: &mut DbConn,
    actor: &Actor,
    user: UserId,
    disabled: bool,
    now: DateTime<Utc>,
) -> Result<UserRow, CoreError> {
    admin(actor)?;
    let row = super::own(conn, user)?;
    if disabled && row.id == actor.id {
        return Err(Refusal::conflict("admins cannot disable their own account").into());
    }
    match (disabled, row.disabled_at) {
        (true, None) => {
            users::set_disabled(conn, user, Some(now.naive_utc()), now.naive_utc())?;
            session::revoke_all(conn, user, None, now)?;
            tracing::info!(user.id = %user, admin.id = %actor.id, "account disabled");
        }
        (false, Some(_)) => {
            users::set_disabled(conn, user, None, now.naive_utc())?;
            tracing::info!(user.id = %user, admin.id = %actor.id, "account enabled");
        }
        _ => {}
    }
    super::own(conn, user)
}
