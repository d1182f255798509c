//! Emails of the campaign's crowd: a reply to the parent comment's author, the creator's daily
//! digest of comments, and the followers' launch and last-48-hours notices.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::QueryResult;
use serde_json::json;

use super::{instant, to_user, with};
use crate::db::DbConn;
use crate::db::campaigns::CampaignRow;
use crate::db::comments::{Authored, CommentRow};
use crate::db::outbox;
use crate::mail::Template;

/// Characters of a comment quoted in an email.
const EXCERPT_CHARS: usize = 200;

fn excerpt(body: &str) -> String {
    let mut text: String = body.chars().take(EXCERPT_CHARS).collect();
    if body.chars().count() > EXCERPT_CHARS {
        text.push('…');
    }
    text
}

/// The parent's author hears of a reply (`comment-reply:{parent id}:{reply id}`), at most
/// once an hour per thread: replies within the hour of the last email send nothing more.
pub fn comment_reply(
    conn: &mut DbConn,
    campaign: &CampaignRow,
    parent: &CommentRow,
    (reply, author): &Authored,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let template = Template::CommentReply;
    let prefix = format!("comment-reply:{}:", parent.id);
    if let Some(last) = outbox::latest_with_subject(conn, template.as_str(), &prefix)?
        && last.created_at > (now - Duration::hours(1)).naive_utc()
    {
        return Ok(());
    }
    let context = with(
        campaign,
        json!({
            "comment_id": reply.id,
            "parent_id": parent.id,
            "update_id": reply.update_id,
            "author": author,
            "excerpt": excerpt(&reply.body),
        }),
    );
    let subject = format!("{prefix}{}", reply.id);
    to_user(conn, template, parent.author_id, &subject, &context, now)
}

/// One digest per campaign per day (`comments-digest:{campaign id}:{day}`), `day` being the
/// last day it covers.
pub fn comments_digest(
    conn: &mut DbConn,
    campaign: &CampaignRow,
    count: i64,
    newest: &[Authored],
    cutoff: NaiveDateTime,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let day = (cutoff - Duration::days(1)).date();
    let comments: Vec<_> = newest
        .iter()
        .map(|(c, author)| json!({ "comment_id": c.id, "author": author, "excerpt": excerpt(&c.body) }))
        .collect();
    let context = with(
        campaign,
        json!({ "count": count, "day": day.to_string(), "comments": comments }),
    );
    let subject = format!("comments-digest:{}:{day}", campaign.id);
    to_user(
        conn,
        Template::CommentsDigest,
        campaign.owner_id,
        &subject,
        &context,
        now,
    )
}

/// Every follower, when the campaign launches (`campaign:{id}`: once).
pub fn campaign_launched_followed(
    conn: &mut DbConn,
    campaign: &CampaignRow,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let context = with(
        campaign,
        json!({
            "goal_minor": campaign.goal_minor.unwrap_or_default(),
            "deadline": campaign.deadline.map(instant),
        }),
    );
    to_followers(
        conn,
        campaign,
        Template::CampaignLaunchedFollowed,
        &context,
        false,
        now,
    )
}

/// Followers who have not backed the campaign, 48 hours before its deadline (`campaign:{id}`:
/// once).
pub fn campaign_ending_followed(
    conn: &mut DbConn,
    campaign: &CampaignRow,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let context = with(
        campaign,
        json!({
            "pledged_minor": campaign.pledged_minor,
            "goal_minor": campaign.goal_minor.unwrap_or_default(),
            "deadline": campaign.deadline.map(instant),
        }),
    );
    to_followers(
        conn,
        campaign,
        Template::CampaignEndingFollowed,
        &context,
        true,
        now,
    )
}

/// One email per follower (with `unbacked_only`, per follower who does not back it) under
/// `campaign:{id}`, so each is sent once.
fn to_followers(
    conn: &mut DbConn,
    campaign: &CampaignRow,
    template: Template,
    context: &str,
    unbacked_only: bool,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let subject = format!("campaign:{}", campaign.id);
    outbox::queue_for_followers(
        conn,
        template.as_str(),
        campaign.id,
        &subject,
        context,
        unbacked_only,
        now.naive_utc(),
    )
    .map(drop)
}
