//! `/api/v1/campaigns/{id}/comments`, `/api/v1/campaigns/{id}/updates/{update_id}/comments` and
//! `/api/v1/comments/{id}`.

pub mod change;
pub mod list;
pub mod post;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::community::comments::WithReplies;
use crate::db::comments::Authored;
use crate::domain::comment::editable_until;

/// Who wrote a comment.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommentAuthor {
    pub id: i64,
    pub display_name: String,
}

/// A comment as its reader sees it. Bodies are plain text, to be shown as text, never as HTML.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommentResponse {
    pub id: i64,
    pub campaign_id: i64,
    /// The update it is on; null on the campaign's own thread.
    pub update_id: Option<i64>,
    /// The comment it replies to; null for a top-level comment.
    pub parent_id: Option<i64>,
    /// Null once deleted.
    pub author: Option<CommentAuthor>,
    /// Written by the campaign's creator.
    pub by_creator: bool,
    /// Null once deleted (the comment keeps its place while it has replies).
    pub body: Option<String>,
    pub deleted: bool,
    /// Hidden by an admin: only its author and admins see it.
    pub hidden: bool,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    /// The author may edit it until then.
    pub editable_until: DateTime<Utc>,
    /// Its replies, oldest first (top-level comments only; replies have none).
    #[schema(no_recursion)]
    pub replies: Vec<CommentResponse>,
}

impl CommentResponse {
    pub fn new((row, display_name): Authored, replies: Vec<Authored>) -> Self {
        let deleted = row.deleted_at.is_some();
        Self {
            id: row.id.0,
            campaign_id: row.campaign_id.0,
            update_id: row.update_id,
            parent_id: row.parent_id.map(|p| p.0),
            author: (!deleted).then_some(CommentAuthor {
                id: row.author_id.0,
                display_name,
            }),
            by_creator: row.by_creator,
            body: (!deleted).then_some(row.body),
            deleted,
            hidden: row.hidden_at.is_some(),
            created_at: row.created_at.and_utc(),
            edited_at: row.edited_at.map(|t| t.and_utc()),
            editable_until: editable_until(row.created_at).and_utc(),
            replies: replies.into_iter().map(|r| Self::new(r, Vec::new())).collect(),
        }
    }
}

impl From<WithReplies> for CommentResponse {
    fn from(c: WithReplies) -> Self {
        Self::new(c.comment, c.replies)
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommentPage {
    pub items: Vec<CommentResponse>,
    /// Pass as `cursor` for the next page; absent on the last one.
    pub next_cursor: Option<String>,
}
