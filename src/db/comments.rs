//! Comments, their reports, and how far each creator's digest has got.

use chrono::NaiveDateTime;
use diesel::dsl::{count_star, exists};
use diesel::prelude::*;

use super::DbConn;
use super::multi_connection_impl::MultiBackend;
use super::schema::{comment_digests, comment_reports, comments, users};
use crate::domain::{Actor, CampaignId, CommentId, UserId};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = comments)]
pub struct CommentRow {
    pub id: CommentId,
    pub campaign_id: CampaignId,
    pub update_id: Option<i64>,
    pub parent_id: Option<CommentId>,
    pub author_id: UserId,
    pub by_creator: bool,
    pub body: String,
    pub created_at: NaiveDateTime,
    pub edited_at: Option<NaiveDateTime>,
    pub deleted_at: Option<NaiveDateTime>,
    pub hidden_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = comments)]
pub struct NewComment<'a> {
    pub campaign_id: CampaignId,
    pub update_id: Option<i64>,
    pub parent_id: Option<CommentId>,
    pub author_id: UserId,
    pub by_creator: bool,
    pub body: &'a str,
    pub created_at: NaiveDateTime,
}

/// A comment with its author's display name.
pub type Authored = (CommentRow, String);

pub fn insert(conn: &mut DbConn, new: &NewComment<'_>) -> QueryResult<CommentRow> {
    diesel::insert_into(comments::table)
        .values(new)
        .returning(comments::all_columns)
        .get_result(conn)
}

pub fn find(conn: &mut DbConn, id: CommentId) -> QueryResult<Option<CommentRow>> {
    comments::table
        .find(id)
        .select(CommentRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_authored(conn: &mut DbConn, id: CommentId) -> QueryResult<Option<Authored>> {
    comments::table
        .inner_join(users::table)
        .filter(comments::id.eq(id))
        .select((CommentRow::as_select(), users::display_name))
        .first(conn)
        .optional()
}

/// Which thread: a campaign's own (`update_id` none) or one of its updates'.
#[derive(Debug, Clone, Copy)]
pub struct Thread {
    pub campaign_id: CampaignId,
    pub update_id: Option<i64>,
}

/// A thread's top-level comments as `viewer` sees them, newest first, before `before`. Hidden
/// comments reach only their author and admins; a deleted one keeps its place only while it
/// has a reply left.
pub fn top_level(
    conn: &mut DbConn,
    thread: Thread,
    viewer: Option<&Actor>,
    before: Option<CommentId>,
    limit: i64,
) -> QueryResult<Vec<Authored>> {
    let replies = diesel::alias!(comments as replies);
    let mut query = comments::table
        .inner_join(users::table)
        .filter(comments::campaign_id.eq(thread.campaign_id))
        .filter(comments::parent_id.is_null())
        .filter(
            comments::deleted_at.is_null().or(exists(
                replies
                    .filter(replies.field(comments::parent_id).eq(comments::id.nullable()))
                    .filter(replies.field(comments::deleted_at).is_null()),
            )),
        )
        .select((CommentRow::as_select(), users::display_name))
        .into_boxed();
    query = match thread.update_id {
        Some(update) => query.filter(comments::update_id.eq(update)),
        None => query.filter(comments::update_id.is_null()),
    };
    query = visible_to(query, viewer);
    if let Some(id) = before {
        query = query.filter(comments::id.lt(id));
    }
    query.order(comments::id.desc()).limit(limit).load(conn)
}

/// Comments with their authors' names, as a listing loads them.
type Listing<'a> = diesel::dsl::IntoBoxed<
    'a,
    diesel::dsl::Select<
        diesel::dsl::InnerJoin<comments::table, users::table>,
        (
            diesel::dsl::AsSelect<CommentRow, MultiBackend>,
            users::display_name,
        ),
    >,
    MultiBackend,
>;

/// Hidden comments are seen by admins and their authors only.
fn visible_to<'a>(query: Listing<'a>, viewer: Option<&Actor>) -> Listing<'a> {
    match viewer {
        Some(v) if v.is_admin() => query,
        Some(v) => query.filter(comments::hidden_at.is_null().or(comments::author_id.eq(v.id))),
        None => query.filter(comments::hidden_at.is_null()),
    }
}

/// The replies to these comments that `viewer` sees, oldest first. Deleted replies are gone.
pub fn replies_to(
    conn: &mut DbConn,
    parents: &[CommentId],
    viewer: Option<&Actor>,
) -> QueryResult<Vec<Authored>> {
    if parents.is_empty() {
        return Ok(Vec::new());
    }
    let query = comments::table
        .inner_join(users::table)
        .filter(comments::parent_id.eq_any(parents.iter().map(|p| Some(*p))))
        .filter(comments::deleted_at.is_null())
        .select((CommentRow::as_select(), users::display_name))
        .into_boxed();
    visible_to(query, viewer).order(comments::id).load(conn)
}

/// Whether the comment has a reply that is not deleted.
pub fn has_replies(conn: &mut DbConn, id: CommentId) -> QueryResult<bool> {
    diesel::select(exists(
        comments::table
            .filter(comments::parent_id.eq(id))
            .filter(comments::deleted_at.is_null()),
    ))
    .get_result(conn)
}

/// How many comments the user posted since `since` (the rate limit).
pub fn posted_since(conn: &mut DbConn, author: UserId, since: NaiveDateTime) -> QueryResult<i64> {
    comments::table
        .filter(comments::author_id.eq(author))
        .filter(comments::created_at.gt(since))
        .count()
        .get_result(conn)
}

/// The oldest of the user's comments since `since`: when the rate limit frees a slot.
pub fn oldest_since(
    conn: &mut DbConn,
    author: UserId,
    since: NaiveDateTime,
) -> QueryResult<Option<NaiveDateTime>> {
    comments::table
        .filter(comments::author_id.eq(author))
        .filter(comments::created_at.gt(since))
        .select(diesel::dsl::min(comments::created_at))
        .get_result(conn)
}

/// Replaces the body of a comment that is not deleted; false if it is (or is gone).
pub fn edit(conn: &mut DbConn, id: CommentId, body: &str, now: NaiveDateTime) -> QueryResult<bool> {
    diesel::update(comments::table.find(id).filter(comments::deleted_at.is_null()))
        .set((comments::body.eq(body), comments::edited_at.eq(now)))
        .execute(conn)
        .map(|n| n == 1)
}

/// Marks a comment deleted and blanks its body; its reports go with it.
pub fn delete(conn: &mut DbConn, id: CommentId, now: NaiveDateTime) -> QueryResult<bool> {
    let deleted = diesel::update(comments::table.find(id).filter(comments::deleted_at.is_null()))
        .set((comments::body.eq(""), comments::deleted_at.eq(now)))
        .execute(conn)?;
    resolve_reports(conn, id, now)?;
    Ok(deleted == 1)
}

/// Deletes every comment of an author (their account is deleted).
pub fn delete_by_author(conn: &mut DbConn, author: UserId, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        comments::table
            .filter(comments::author_id.eq(author))
            .filter(comments::deleted_at.is_null()),
    )
    .set((comments::body.eq(""), comments::deleted_at.eq(now)))
    .execute(conn)
}

/// Hides (`Some`) or shows again (`None`) a comment, resolving its open reports.
pub fn set_hidden(
    conn: &mut DbConn,
    id: CommentId,
    hidden_at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(comments::table.find(id))
        .set(comments::hidden_at.eq(hidden_at))
        .execute(conn)?;
    resolve_reports(conn, id, now).map(drop)
}

fn resolve_reports(conn: &mut DbConn, id: CommentId, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        comment_reports::table
            .filter(comment_reports::comment_id.eq(id))
            .filter(comment_reports::resolved_at.is_null()),
    )
    .set(comment_reports::resolved_at.eq(now))
    .execute(conn)
}

/// Every comment the user wrote, oldest first (the account's export).
pub fn by_author(conn: &mut DbConn, author: UserId) -> QueryResult<Vec<CommentRow>> {
    comments::table
        .filter(comments::author_id.eq(author))
        .filter(comments::deleted_at.is_null())
        .order(comments::id)
        .select(CommentRow::as_select())
        .load(conn)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = comment_reports)]
pub struct ReportRow {
    pub id: i64,
    pub comment_id: CommentId,
    pub reporter_id: UserId,
    pub reason: String,
    pub created_at: NaiveDateTime,
    pub resolved_at: Option<NaiveDateTime>,
}

/// Files the user's report of a comment; false if they had reported it already.
pub fn report(
    conn: &mut DbConn,
    comment: CommentId,
    reporter: UserId,
    reason: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let values = (
        comment_reports::comment_id.eq(comment),
        comment_reports::reporter_id.eq(reporter),
        comment_reports::reason.eq(reason),
        comment_reports::created_at.eq(now),
    );
    super::on_backend!(conn, |c| diesel::insert_into(comment_reports::table)
        .values(values)
        .on_conflict((comment_reports::comment_id, comment_reports::reporter_id))
        .do_nothing()
        .execute(c))
    .map(|n| n == 1)
}

/// Reports for admins: open ones first, newest first within each, after the cursor
/// `(open, id)` when given; with the comment reported.
pub fn reports_page(
    conn: &mut DbConn,
    after: Option<(bool, i64)>,
    limit: i64,
) -> QueryResult<Vec<(ReportRow, CommentRow)>> {
    let mut query = comment_reports::table
        .inner_join(comments::table)
        .select((ReportRow::as_select(), CommentRow::as_select()))
        .into_boxed();
    query = match after {
        Some((true, id)) => query.filter(
            comment_reports::resolved_at
                .is_not_null()
                .or(comment_reports::id.lt(id)),
        ),
        Some((false, id)) => query
            .filter(comment_reports::resolved_at.is_not_null())
            .filter(comment_reports::id.lt(id)),
        None => query,
    };
    query
        .order((
            comment_reports::resolved_at.is_null().desc(),
            comment_reports::id.desc(),
        ))
        .limit(limit)
        .load(conn)
}

/// Campaigns with comments (not the creator's, not deleted) posted before `cutoff` and after
/// their last digest, with how many; at most `limit`.
pub fn undigested(
    conn: &mut DbConn,
    cutoff: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<(CampaignId, i64)>> {
    comments::table
        .left_join(comment_digests::table.on(comment_digests::campaign_id.eq(comments::campaign_id)))
        .filter(comments::by_creator.eq(false))
        .filter(comments::deleted_at.is_null())
        .filter(comments::created_at.lt(cutoff))
        .filter(
            comment_digests::through_at
                .is_null()
                .or(comments::created_at.ge(comment_digests::through_at.assume_not_null())),
        )
        .group_by(comments::campaign_id)
        .select((comments::campaign_id, count_star()))
        .order(comments::campaign_id)
        .limit(limit)
        .load(conn)
}

/// The newest of those comments of one campaign, for the digest's excerpts.
pub fn newest_undigested(
    conn: &mut DbConn,
    campaign: CampaignId,
    cutoff: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<Authored>> {
    let through: Option<NaiveDateTime> = comment_digests::table
        .find(campaign)
        .select(comment_digests::through_at)
        .first(conn)
        .optional()?;
    let mut query = comments::table
        .inner_join(users::table)
        .filter(comments::campaign_id.eq(campaign))
        .filter(comments::by_creator.eq(false))
        .filter(comments::deleted_at.is_null())
        .filter(comments::created_at.lt(cutoff))
        .select((CommentRow::as_select(), users::display_name))
        .into_boxed();
    if let Some(through) = through {
        query = query.filter(comments::created_at.ge(through));
    }
    query.order(comments::id.desc()).limit(limit).load(conn)
}

/// Records that the campaign's comments before `through` have been digested.
pub fn digested(conn: &mut DbConn, campaign: CampaignId, through: NaiveDateTime) -> QueryResult<()> {
    super::on_backend!(conn, |c| diesel::insert_into(comment_digests::table)
        .values((
            comment_digests::campaign_id.eq(campaign),
            comment_digests::through_at.eq(through),
        ))
        .on_conflict(comment_digests::campaign_id)
        .do_update()
        .set(comment_digests::through_at.eq(through))
        .execute(c))
    .map(drop)
}
