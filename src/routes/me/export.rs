use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::{UserResponse, gone};
use crate::accounts::export::{Export, gather};
use crate::domain::{CampaignStatus, FulfilmentStatus, PledgeStatus};
use crate::http::{ApiError, AppState, AuthUser};

fn utc(at: NaiveDateTime) -> DateTime<Utc> {
    at.and_utc()
}

/// Everything the platform holds about the account's owner, in one document.
#[derive(Serialize, ToSchema)]
pub struct AccountExport {
    pub exported_at: DateTime<Utc>,
    pub profile: ExportProfile,
    /// Campaigns the account created.
    pub campaigns: Vec<ExportCampaign>,
    /// Pledges the account made, each with its history.
    pub pledges: Vec<ExportPledge>,
    /// Updates the account posted.
    pub updates: Vec<ExportUpdate>,
    /// The comments it wrote (not those it deleted).
    pub comments: Vec<ExportComment>,
    /// The campaigns it follows.
    pub following: Vec<ExportFollow>,
    /// Emails the platform sent (or is about to send) to the account.
    pub emails: Vec<ExportEmail>,
    /// Logins and how long each lasted. Client IP addresses are not kept.
    pub sessions: Vec<ExportSession>,
    /// The webhook endpoints it registered (never their secrets).
    pub webhooks: Vec<super::webhooks::WebhookEndpoint>,
}

#[derive(Serialize, ToSchema)]
pub struct ExportProfile {
    #[serde(flatten)]
    pub user: UserResponse,
    pub email_verified_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct ExportCampaign {
    pub id: i64,
    pub title: String,
    pub slug: String,
    pub blurb: String,
    pub description: String,
    pub status: CampaignStatus,
    pub currency: String,
    pub goal_minor: Option<i64>,
    pub pledged_minor: i64,
    pub backer_count: i32,
    pub created_at: DateTime<Utc>,
    pub launched_at: Option<DateTime<Utc>>,
    pub deadline: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct ExportPledge {
    pub id: i64,
    pub campaign_id: i64,
    pub tier_id: Option<i64>,
    pub amount_minor: i64,
    pub shipping_country: Option<String>,
    pub shipping_fee_minor: i64,
    pub status: PledgeStatus,
    pub created_at: DateTime<Utc>,
    pub events: Vec<ExportPledgeEvent>,
    /// Of the reward: `not_applicable` when the pledge ships nothing.
    pub fulfilment_status: FulfilmentStatus,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    /// The survey's answers, keyed by question id (absent before answering and once erased).
    #[schema(value_type = Option<Object>)]
    pub survey_answers: Option<serde_json::Value>,
    pub survey_answered_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct ExportPledgeEvent {
    pub from_status: Option<PledgeStatus>,
    pub to_status: PledgeStatus,
    pub reason: String,
    pub amount_minor: i64,
    pub tier_id: Option<i64>,
    pub at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct ExportUpdate {
    pub id: i64,
    pub campaign_id: i64,
    pub title: String,
    pub body: String,
    pub backers_only: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct ExportComment {
    pub id: i64,
    pub campaign_id: i64,
    pub update_id: Option<i64>,
    pub parent_id: Option<i64>,
    pub body: String,
    pub hidden: bool,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct ExportFollow {
    pub campaign_id: i64,
    pub followed_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct ExportEmail {
    /// Which email (`pledge_confirmed`, `verify_email`, ...).
    pub template: String,
    pub subject: String,
    pub to: String,
    /// `queued`, `sent` or `failed`.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct ExportSession {
    pub started_at: Option<DateTime<Utc>>,
    /// When its refresh token was last exchanged (or the login, if never).
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was logged out or revoked; absent while it lasts.
    pub ended_at: Option<DateTime<Utc>>,
}

impl AccountExport {
    fn new(data: Export, now: DateTime<Utc>) -> Self {
        let Export {
            user,
            campaigns,
            pledges,
            updates,
            comments,
            following,
            emails,
            sessions,
            webhooks,
        } = data;
        Self {
            exported_at: now,
            profile: ExportProfile {
                email_verified_at: user.email_verified_at.map(utc),
                updated_at: utc(user.updated_at),
                disabled_at: user.disabled_at.map(utc),
                user: UserResponse::from(user),
            },
            campaigns: campaigns
                .into_iter()
                .map(|c| ExportCampaign {
                    id: c.id.0,
                    title: c.title,
                    slug: c.slug,
                    blurb: c.blurb,
                    description: c.description,
                    status: c.status,
                    currency: c.currency.to_string(),
                    goal_minor: c.goal_minor,
                    pledged_minor: c.pledged_minor,
                    backer_count: c.backer_count,
                    created_at: utc(c.created_at),
                    launched_at: c.launched_at.map(utc),
                    deadline: c.deadline.map(utc),
                })
                .collect(),
            pledges: pledges
                .into_iter()
                .map(|(p, events, response)| ExportPledge {
                    fulfilment_status: FulfilmentStatus::of(
                        p.fulfilment_status,
                        p.shipping_country.is_some(),
                    ),
                    carrier: p.carrier,
                    tracking_number: p.tracking_number,
                    survey_answers: response
                        .as_ref()
                        .and_then(|r| r.answers.as_deref())
                        .and_then(|a| serde_json::from_str(a).ok()),
                    survey_answered_at: response.and_then(|r| r.answered_at).map(utc),
                    id: p.id.0,
                    campaign_id: p.campaign_id.0,
                    tier_id: p.tier_id.map(|t| t.0),
                    amount_minor: p.amount_minor,
                    shipping_country: p.shipping_country,
                    shipping_fee_minor: p.shipping_fee_minor,
                    status: p.status,
                    created_at: utc(p.created_at),
                    events: events
                        .into_iter()
                        .map(|e| ExportPledgeEvent {
                            from_status: e.from_status,
                            to_status: e.to_status,
                            reason: e.reason,
                            amount_minor: e.amount_minor,
                            tier_id: e.tier_id.map(|t| t.0),
                            at: utc(e.created_at),
                        })
                        .collect(),
                })
                .collect(),
            updates: updates
                .into_iter()
                .map(|u| ExportUpdate {
                    id: u.id,
                    campaign_id: u.campaign_id.0,
                    title: u.title,
                    body: u.body,
                    backers_only: u.backers_only,
                    created_at: utc(u.created_at),
                })
                .collect(),
            comments: comments
                .into_iter()
                .map(|c| ExportComment {
                    id: c.id.0,
                    campaign_id: c.campaign_id.0,
                    update_id: c.update_id,
                    parent_id: c.parent_id.map(|p| p.0),
                    body: c.body,
                    hidden: c.hidden_at.is_some(),
                    created_at: utc(c.created_at),
                    edited_at: c.edited_at.map(utc),
                })
                .collect(),
            following: following
                .into_iter()
                .map(|(campaign_id, at)| ExportFollow {
                    campaign_id: campaign_id.0,
                    followed_at: utc(at),
                })
                .collect(),
            emails: emails
                .into_iter()
                .map(|(row, subject)| ExportEmail {
                    template: row.template,
                    subject,
                    to: row.recipient,
                    status: row.status.as_str().to_owned(),
                    created_at: utc(row.created_at),
                    sent_at: row.sent_at.map(utc),
                })
                .collect(),
            sessions: sessions
                .into_iter()
                .map(|s| ExportSession {
                    started_at: s.started_at.map(utc),
                    last_used_at: s.last_used_at.map(utc),
                    expires_at: s.expires_at.map(utc),
                    ended_at: s.revoked.map(utc),
                })
                .collect(),
            webhooks: webhooks.into_iter().map(Into::into).collect(),
        }
    }
}

/// Everything the platform holds about the caller, as one JSON document (a download).
#[utoipa::path(
    tag = "account",
    security(("bearer" = [])),
    responses(
        (status = 200, body = AccountExport),
        (status = 401, description = "Missing, invalid or expired access token"),
    )
)]
#[get("/me/export")]
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn export(state: web::Data<AppState>, AuthUser(user): AuthUser) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let data = state
        .db
        .run(move |conn| gather(conn, user.id).map_err(gone))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            "attachment; filename=\"crowdfund-export.json\"",
        ))
        .json(AccountExport::new(data, now)))
}
