//! The events written beside each change, in the caller's transaction: a change that rolls back
//! takes its event with it, and one that commits cannot lose it. `data` is the object as the
//! API shows it to the campaign's creator at that moment (never a backer's email address or
//! payment method), so a receiver parses one set of shapes.
//!
//! | event | data | written by |
//! |---|---|---|
//! | `campaign.launched`, `.funded`, `.failed`, `.successful`, `.canceled`, `.suspended` | `CampaignSummary` | `campaigns::lifecycle::transition` |
//! | `pledge.created` | `PledgeResponse` | `pledges::lifecycle::created` |
//! | `pledge.updated` | `PledgeResponse` | `pledges::lifecycle::changed` (amount, reward, country) |
//! | `pledge.canceled` | `PledgeResponse` | `pledges::lifecycle::cancel` |
//! | `pledge.collected` | `PledgeResponse` | `pledges::lifecycle::collect` (settlement) |
//! | `pledge.errored` | `PledgeResponse` | `pledges::lifecycle::decline`, each failed charge |
//! | `pledge.dropped` | `PledgeResponse` | `pledges::lifecycle::drop` |
//! | `pledge.refunded` | `PledgeResponse` | `pledges::lifecycle::refund` |
//! | `update.published` | `UpdateResponse` | `campaigns::updates::publish` |
//! | `webhook.ping` | `{"endpoint_id"}` | `POST …/webhooks/{id}/ping`, to that endpoint only |

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use diesel::QueryResult;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::db::DbConn;
use crate::db::campaign_updates::UpdateRow;
use crate::db::campaigns::{self, CampaignRow};
use crate::db::pledges::PledgeRow;
use crate::db::webhooks::{self, NewEvent};
use crate::domain::{EndpointId, EventType};
use crate::media::MediaLinks;
use crate::shapes::campaign::CampaignSummary;
use crate::shapes::image::{self, ImageResponse};
use crate::shapes::pledge::PledgeResponse;
use crate::shapes::update::UpdateResponse;

// The bodies as the OpenAPI document describes them (`webhooks`); [`body`] writes them.

/// The body of a campaign event (`campaign.*`).
#[derive(ToSchema)]
pub struct WebhookCampaignEvent {
    #[schema(example = "campaign.funded")]
    pub r#type: EventType,
    pub timestamp: DateTime<Utc>,
    pub data: CampaignSummary,
}

/// The body of a pledge event (`pledge.*`): the pledge as its creator sees it, without the
/// backer's payment method.
#[derive(ToSchema)]
pub struct WebhookPledgeEvent {
    #[schema(example = "pledge.created")]
    pub r#type: EventType,
    pub timestamp: DateTime<Utc>,
    pub data: PledgeResponse,
}

/// The body of `update.published`.
#[derive(ToSchema)]
pub struct WebhookUpdateEvent {
    #[schema(example = "update.published")]
    pub r#type: EventType,
    pub timestamp: DateTime<Utc>,
    pub data: UpdateResponse,
}

#[derive(ToSchema)]
pub struct WebhookPingData {
    pub endpoint_id: i64,
}

/// The body of `webhook.ping`.
#[derive(ToSchema)]
pub struct WebhookPingEvent {
    #[schema(example = "webhook.ping")]
    pub r#type: EventType,
    pub timestamp: DateTime<Utc>,
    pub data: WebhookPingData,
}

/// The request body of every delivery.
fn body(kind: EventType, at: NaiveDateTime, data: &impl Serialize) -> String {
    json!({
        "type": kind,
        "timestamp": at.and_utc().to_rfc3339_opts(SecondsFormat::Micros, true),
        "data": data,
    })
    .to_string()
}

fn event(kind: EventType, campaign: &CampaignRow, payload: String, at: NaiveDateTime) -> NewEvent {
    NewEvent {
        event_type: kind,
        campaign_id: Some(campaign.id),
        creator_id: Some(campaign.owner_id),
        endpoint_id: None,
        payload,
        created_at: at,
        fanned_out_at: None,
    }
}

/// A campaign's change of status, with the campaign as it is after it.
pub fn campaign(
    conn: &mut DbConn,
    links: &MediaLinks,
    kind: EventType,
    campaign: &CampaignRow,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let owner = campaigns::owner_name(conn, campaign.owner_id)?;
    let at = now.naive_utc();
    let cover = image::one(conn, campaign.cover_image_id, links)?;
    let payload = body(kind, at, &CampaignSummary::new(campaign, owner, cover, now));
    webhooks::insert_event(conn, &event(kind, campaign, payload, at)).map(drop)
}

/// A pledge's change as its event, for a caller that writes it ([`pledge`] writes it at once).
pub fn pledge_event(
    kind: EventType,
    campaign: &CampaignRow,
    pledge: &PledgeRow,
    at: NaiveDateTime,
) -> NewEvent {
    let data = PledgeResponse::new(pledge, campaign.currency, false);
    event(kind, campaign, body(kind, at, &data), at)
}

/// A pledge's change, with the pledge as it is after it.
pub fn pledge(
    conn: &mut DbConn,
    kind: EventType,
    campaign: &CampaignRow,
    pledge: &PledgeRow,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    webhooks::insert_event(conn, &pledge_event(kind, campaign, pledge, now.naive_utc())).map(drop)
}

/// The same change of many pledges (settlement's batches), in a few statements.
pub fn pledges(
    conn: &mut DbConn,
    kind: EventType,
    changed: &[(&CampaignRow, &PledgeRow)],
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let at = now.naive_utc();
    let events: Vec<NewEvent> = changed
        .iter()
        .map(|(campaign, pledge)| pledge_event(kind, campaign, pledge, at))
        .collect();
    webhooks::insert_events(conn, &events).map(drop)
}

/// A published update, body included (the endpoints are the creator's and the platform's).
pub fn update(
    conn: &mut DbConn,
    campaign: &CampaignRow,
    row: &UpdateRow,
    images: Vec<ImageResponse>,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let at = now.naive_utc();
    let kind = EventType::UpdatePublished;
    let payload = body(kind, at, &UpdateResponse::new(row.clone(), images, true));
    webhooks::insert_event(conn, &event(kind, campaign, payload, at)).map(drop)
}

/// A ping for one endpoint, fanned out at once. Returns the event's id.
pub fn ping(conn: &mut DbConn, endpoint: EndpointId, now: DateTime<Utc>) -> QueryResult<i64> {
    let at = now.naive_utc();
    let kind = EventType::Ping;
    webhooks::insert_event(
        conn,
        &NewEvent {
            event_type: kind,
            campaign_id: None,
            creator_id: None,
            endpoint_id: Some(endpoint),
            payload: body(kind, at, &json!({ "endpoint_id": endpoint })),
            created_at: at,
            fanned_out_at: Some(at),
        },
    )
}
