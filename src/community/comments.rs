//! Who may comment where, and what a comment's author, the creator and admins may do with it.
//!
//! Everyone who sees a campaign reads its comments, but the comments of a backers-only update
//! are for those who read the update. The creator and backers post (a backer's pledge in any
//! state but released or canceled); replies go one level deep. Hidden comments reach only their
//! author and admins.

use chrono::{DateTime, Duration, Utc};

use crate::campaigns::{access, updates};
use crate::db::campaign_updates;
use crate::db::campaigns::{self, CampaignRow};
use crate::db::comments::{self, Authored, CommentRow, NewComment, Thread};
use crate::db::{DbConn, pledges};
use crate::domain::comment::{self, RATE_LIMIT, RATE_WINDOW_SECS};
use crate::domain::{Actor, CampaignId, CampaignStatus, CommentId, CoreError, PledgeStatus, Refusal};
use crate::mail::queue::community as mail;

/// A top-level comment with the replies the viewer sees, oldest first.
pub struct WithReplies {
    pub comment: Authored,
    pub replies: Vec<Authored>,
}

/// The thread a route names, checked for `viewer`: the campaign visible to them, the update
/// one of its own, and readable (a backers-only update's thread is for those who read it).
pub fn thread(
    conn: &mut DbConn,
    campaign_id: CampaignId,
    update_id: Option<i64>,
    viewer: Option<&Actor>,
) -> Result<(CampaignRow, Thread), CoreError> {
    let campaign = access::visible(campaigns::find(conn, campaign_id)?, viewer)?;
    if let Some(update_id) = update_id {
        let update = campaign_updates::find(conn, update_id)?
            .filter(|u| u.campaign_id == campaign.id)
            .ok_or(Refusal::NotFound)?;
        if update.backers_only && !updates::may_read_backers_only(conn, &campaign, viewer)? {
            return Err(
                Refusal::forbidden("the comments of a backers-only update are for its backers").into(),
            );
        }
    }
    let thread = Thread {
        campaign_id: campaign.id,
        update_id,
    };
    Ok((campaign, thread))
}

/// One page of a thread, newest first, with each comment's replies.
pub fn page(
    conn: &mut DbConn,
    thread: Thread,
    viewer: Option<&Actor>,
    before: Option<CommentId>,
    limit: i64,
) -> Result<Vec<WithReplies>, CoreError> {
    let top = comments::top_level(conn, thread, viewer, before, limit)?;
    let ids: Vec<CommentId> = top.iter().map(|(c, _)| c.id).collect();
    let mut replies = comments::replies_to(conn, &ids, viewer)?;
    Ok(top
        .into_iter()
        .map(|comment| {
            let id = comment.0.id;
            let (mine, rest) = replies.drain(..).partition(|(r, _)| r.parent_id == Some(id));
            replies = rest;
            WithReplies {
                comment,
                replies: mine,
            }
        })
        .collect())
}

/// Whether `actor` may post on the campaign, and as its creator: the creator, or a backer
/// whose pledge is in any state but released or canceled.
fn poster(conn: &mut DbConn, campaign: &CampaignRow, actor: &Actor) -> Result<bool, CoreError> {
    if actor.id == campaign.owner_id {
        return Ok(true);
    }
    let statuses = pledges::statuses_of(conn, campaign.id, actor.id)?;
    if statuses
        .iter()
        .any(|s| !matches!(s, PledgeStatus::Released | PledgeStatus::Canceled))
    {
        Ok(false)
    } else {
        Err(Refusal::forbidden("only the creator and the campaign's backers can comment").into())
    }
}

/// At most [`RATE_LIMIT`] comments per user per [`RATE_WINDOW_SECS`], counted in the database
/// so that every instance enforces the same limit.
fn within_rate(conn: &mut DbConn, actor: &Actor, now: DateTime<Utc>) -> Result<(), CoreError> {
    let since = (now - Duration::seconds(RATE_WINDOW_SECS)).naive_utc();
    if comments::posted_since(conn, actor.id, since)? < RATE_LIMIT {
        return Ok(());
    }
    let frees = comments::oldest_since(conn, actor.id, since)?
        .map_or(RATE_WINDOW_SECS, |oldest| (oldest - since).num_seconds() + 1);
    Err(Refusal::TooSoon {
        reason: format!("at most {RATE_LIMIT} comments a minute"),
        retry_after_secs: frees.clamp(1, RATE_WINDOW_SECS) as u64,
    }
    .into())
}

/// What a new comment says and where it goes.
pub struct Post {
    body: String,
    parent_id: Option<CommentId>,
}

impl Post {
    pub fn parse(body: &str, parent_id: Option<CommentId>) -> Result<Self, CoreError> {
        let body = comment::body(body).map_err(|m| Refusal::field("body", m))?;
        Ok(Self { body, parent_id })
    }
}

/// Posts a comment (or a reply) on a thread of a launched campaign that is not suspended, and
/// tells the parent's author of a reply.
pub fn post(
    conn: &mut DbConn,
    campaign_id: CampaignId,
    update_id: Option<i64>,
    actor: &Actor,
    post: &Post,
    now: DateTime<Utc>,
) -> Result<Authored, CoreError> {
    let (campaign, thread) = thread(conn, campaign_id, update_id, Some(actor))?;
    if matches!(campaign.status, CampaignStatus::Draft | CampaignStatus::Suspended) {
        return Err(Refusal::conflict(format!(
            "a {} campaign cannot be commented on",
            campaign.status.as_str()
        ))
        .into());
    }
    let by_creator = poster(conn, &campaign, actor)?;
    let parent = match post.parent_id {
        None => None,
        Some(id) => Some(parent_in(conn, id, thread, actor)?),
    };
    within_rate(conn, actor, now)?;
    let row = comments::insert(
        conn,
        &NewComment {
            campaign_id: campaign.id,
            update_id,
            parent_id: post.parent_id,
            author_id: actor.id,
            by_creator,
            body: &post.body,
            created_at: now.naive_utc(),
        },
    )?;
    let posted = comments::find_authored(conn, row.id)?
        .ok_or_else(|| CoreError::unexpected("a comment vanished after its insert"))?;
    if let Some(parent) = parent.filter(|p| p.author_id != actor.id) {
        mail::comment_reply(conn, &campaign, &parent, &posted, now)?;
    }
    Ok(posted)
}

/// The comment a reply answers: a top-level comment of the same thread, there for `actor`.
fn parent_in(
    conn: &mut DbConn,
    id: CommentId,
    thread: Thread,
    actor: &Actor,
) -> Result<CommentRow, CoreError> {
    let parent = comments::find(conn, id)?
        .filter(|p| {
            p.campaign_id == thread.campaign_id
                && p.update_id == thread.update_id
                && p.deleted_at.is_none()
                && (p.hidden_at.is_none() || p.author_id == actor.id || actor.is_admin())
        })
        .ok_or_else(|| Refusal::field("parent_id", "is not a comment of this thread"))?;
    if parent.parent_id.is_some() {
        return Err(Refusal::field("parent_id", "is a reply; replies go one level deep").into());
    }
    Ok(parent)
}

/// A comment that exists for `actor`: not deleted, and not hidden unless theirs or they are an
/// admin, in a thread they may read.
pub fn visible(
    conn: &mut DbConn,
    id: CommentId,
    actor: &Actor,
) -> Result<(CommentRow, CampaignRow), CoreError> {
    let row = comments::find(conn, id)?
        .filter(|c| c.deleted_at.is_none())
        .filter(|c| c.hidden_at.is_none() || c.author_id == actor.id || actor.is_admin())
        .ok_or(Refusal::NotFound)?;
    let (campaign, _) = thread(conn, row.campaign_id, row.update_id, Some(actor))?;
    Ok((row, campaign))
}

/// Its author changes a comment's body, within [`comment::edit_window`] of posting it.
pub fn edit(
    conn: &mut DbConn,
    id: CommentId,
    actor: &Actor,
    body: &str,
    now: DateTime<Utc>,
) -> Result<Authored, CoreError> {
    let body = comment::body(body).map_err(|m| Refusal::field("body", m))?;
    let (row, _) = visible(conn, id, actor)?;
    if row.author_id != actor.id {
        return Err(Refusal::forbidden("only its author can edit a comment").into());
    }
    if now.naive_utc() > comment::editable_until(row.created_at) {
        return Err(Refusal::conflict("a comment can be edited for 15 minutes after it is posted").into());
    }
    if !comments::edit(conn, id, &body, now.naive_utc())? {
        return Err(Refusal::NotFound.into());
    }
    comments::find_authored(conn, id)?.ok_or_else(|| Refusal::NotFound.into())
}

/// Deletes a comment: its author, the campaign's creator, or an admin. One with replies keeps
/// its place, shown as deleted.
pub fn delete(conn: &mut DbConn, id: CommentId, actor: &Actor, now: DateTime<Utc>) -> Result<(), CoreError> {
    let (row, campaign) = visible(conn, id, actor)?;
    if row.author_id != actor.id && campaign.owner_id != actor.id && !actor.is_admin() {
        return Err(
            Refusal::forbidden("only its author, the creator or an admin can delete a comment").into(),
        );
    }
    comments::delete(conn, id, now.naive_utc())?;
    Ok(())
}
