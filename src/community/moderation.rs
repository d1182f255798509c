//! Reports of comments, and the admins who act on them: a hidden comment is absent for
//! everyone but its author and admins. Hiding or showing a comment resolves its open reports.

use chrono::{DateTime, Utc};

use super::comments::visible;
use crate::db::DbConn;
use crate::db::comments::{self, Authored, CommentRow, ReportRow};
use crate::domain::comment;
use crate::domain::{Actor, CommentId, CoreError, Refusal};

/// A user reports a comment they see (not their own), once.
pub fn report(
    conn: &mut DbConn,
    id: CommentId,
    actor: &Actor,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), CoreError> {
    let reason = comment::reason(reason).map_err(|m| Refusal::field("reason", m))?;
    let (row, _) = visible(conn, id, actor)?;
    if row.author_id == actor.id {
        return Err(Refusal::conflict("you cannot report your own comment").into());
    }
    if !comments::report(conn, id, actor.id, &reason, now.naive_utc())? {
        return Err(Refusal::conflict("you have reported this comment already").into());
    }
    Ok(())
}

fn admin_only(actor: &Actor) -> Result<(), Refusal> {
    if actor.is_admin() {
        Ok(())
    } else {
        Err(Refusal::forbidden("only admins moderate comments"))
    }
}

/// One page of reports, open ones first.
pub fn reports(
    conn: &mut DbConn,
    actor: &Actor,
    after: Option<(bool, i64)>,
    limit: i64,
) -> Result<Vec<(ReportRow, CommentRow)>, CoreError> {
    admin_only(actor)?;
    Ok(comments::reports_page(conn, after, limit)?)
}

/// Hides a comment (`hidden`) or shows it again; answers it as admins see it.
pub fn set_hidden(
    conn: &mut DbConn,
    id: CommentId,
    actor: &Actor,
    hidden: bool,
    now: DateTime<Utc>,
) -> Result<Authored, CoreError> {
    admin_only(actor)?;
    let row = comments::find(conn, id)?
        .filter(|c| c.deleted_at.is_none())
        .ok_or(Refusal::NotFound)?;
    let at = now.naive_utc();
    let hidden_at = if hidden {
        Some(row.hidden_at.unwrap_or(at))
    } else {
        None
    };
    comments::set_hidden(conn, id, hidden_at, at)?;
    comments::find_authored(conn, id)?.ok_or_else(|| Refusal::NotFound.into())
}
