//! Everything the platform holds about a person, gathered for `GET /me/export`.

use crate::db::DbConn;
use crate::db::campaign_updates::{self, UpdateRow};
use crate::db::campaigns::{self, CampaignRow};
use crate::db::comments::{self, CommentRow};
use crate::db::outbox::{self, OutboxRow};
use crate::db::pledge_events::{self, PledgeEventRow};
use crate::db::pledges::{self, PledgeRow};
use crate::db::refresh_tokens::{self, SessionSummary};
use crate::db::surveys::{self, ResponseRow};
use crate::db::users::UserRow;
use crate::db::webhooks::{self, EndpointRow};
use crate::domain::{CoreError, UserId};

pub struct Export {
    pub user: UserRow,
    pub campaigns: Vec<CampaignRow>,
    /// Each with its history and its survey answers.
    pub pledges: Vec<(PledgeRow, Vec<PledgeEventRow>, Option<ResponseRow>)>,
    pub updates: Vec<UpdateRow>,
    /// Those not deleted.
    pub comments: Vec<CommentRow>,
    /// The campaigns it follows, with when.
    pub following: Vec<(crate::domain::CampaignId, chrono::NaiveDateTime)>,
    /// With each email's subject as it was (or will be) sent.
    pub emails: Vec<(OutboxRow, String)>,
    pub sessions: Vec<SessionSummary>,
    pub webhooks: Vec<EndpointRow>,
}

pub fn gather(conn: &mut DbConn, user: UserId) -> Result<Export, CoreError> {
    let user = super::own(conn, user)?;
    let pledge_rows = pledges::all_for_backer(conn, user.id)?;
    let ids: Vec<_> = pledge_rows.iter().map(|p| p.id).collect();
    let mut events = pledge_events::events_of(conn, &ids)?;
    let mut responses: std::collections::HashMap<_, _> = surveys::responses_of(conn, &ids)?
        .into_iter()
        .map(|r| (r.pledge_id, r))
        .collect();
    let pledges = pledge_rows
        .into_iter()
        .map(|p| {
            let (own, rest): (Vec<_>, Vec<_>) = events.drain(..).partition(|e| e.pledge_id == p.id);
            events = rest;
            let response = responses.remove(&p.id);
            (p, own, response)
        })
        .collect();
    let emails = outbox::for_user(conn, user.id)?
        .into_iter()
        .map(|row| {
            let subject = crate::mail::render::subject_of(&row).unwrap_or_else(|| row.template.clone());
            (row, subject)
        })
        .collect();
    Ok(Export {
        campaigns: campaigns::owned_by(conn, user.id)?,
        pledges,
        updates: campaign_updates::by_author(conn, user.id)?,
        comments: comments::by_author(conn, user.id)?,
        following: crate::db::follows::all_of(conn, user.id)?,
        emails,
        sessions: refresh_tokens::sessions(conn, user.id)?,
        webhooks: webhooks::owned_by(conn, user.id)?,
        user,
    })
}
