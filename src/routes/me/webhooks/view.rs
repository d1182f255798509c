//! What the webhook routes take and answer.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::webhooks::{DeliveryRow, EndpointRow};
use crate::domain::{DeliveryStatus, EventType};
use crate::routes::campaigns::view::double_option;
use crate::webhooks::delivery::webhook_id;
use crate::webhooks::endpoints::{self, Created, Events, Settings};

/// An endpoint's settings. On creation `url` and `events` are required; on a change, what is
/// absent stays as it is.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpointRequest {
    /// `https://`; `http://` only for loopback, with `WEBHOOK_ALLOW_PRIVATE` on (development).
    #[schema(example = "https://shop.example.com/hooks/crowdfund", max_length = 2048)]
    pub url: Option<String>,
    /// Event types, or `["*"]` for all of them (`webhook.ping` always comes).
    #[schema(example = json!(["pledge.created", "pledge.collected"]))]
    pub events: Option<Vec<String>>,
    /// Only these campaigns (yours); null for all of them.
    #[serde(default, deserialize_with = "double_option")]
    pub campaign_ids: Option<Option<Vec<i64>>>,
    /// Enabling an endpoint disabled after failures starts its count of failures afresh.
    pub enabled: Option<bool>,
}

impl From<WebhookEndpointRequest> for Settings {
    fn from(body: WebhookEndpointRequest) -> Self {
        Self {
            url: body.url,
            events: body.events,
            campaign_ids: body.campaign_ids,
            enabled: body.enabled,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEndpoint {
    #[schema(example = 4)]
    pub id: i64,
    pub url: String,
    #[schema(example = json!(["*"]))]
    pub events: Vec<String>,
    pub campaign_ids: Option<Vec<i64>>,
    pub enabled: bool,
    /// Registered by an admin; receives every event.
    pub platform: bool,
    /// Why it was disabled, when the platform disabled it after 5 days of failures.
    pub disabled_reason: Option<String>,
    /// The first failed delivery since the last success.
    pub failing_since: Option<DateTime<Utc>>,
    /// Until then deliveries also carry a signature with the secret that was rotated out.
    pub previous_secret_valid_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<EndpointRow> for WebhookEndpoint {
    fn from(row: EndpointRow) -> Self {
        Self {
            id: row.id.0,
            events: Events::parse_stored(&row.events).names(),
            campaign_ids: endpoints::campaign_ids(&row).map(|ids| ids.into_iter().map(|c| c.0).collect()),
            url: row.url,
            enabled: row.enabled,
            platform: row.platform,
            disabled_reason: row.disabled_reason,
            failing_since: row.failing_since.map(|t| t.and_utc()),
            previous_secret_valid_until: row.previous_secret_until.map(|t| t.and_utc()),
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
        }
    }
}

/// A new endpoint, or a new secret: the only time the secret is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEndpointWithSecret {
    #[serde(flatten)]
    pub endpoint: WebhookEndpoint,
    /// `whsec_` + base64 of the key: verify `webhook-signature` with it (README, "Webhooks").
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: String,
}

impl From<Created> for WebhookEndpointWithSecret {
    fn from(created: Created) -> Self {
        Self {
            endpoint: created.endpoint.into(),
            secret: created.secret,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEndpointList {
    pub items: Vec<WebhookEndpoint>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDelivery {
    #[schema(example = 91)]
    pub id: i64,
    pub event_id: i64,
    pub event_type: EventType,
    /// The `webhook-id` header: the same for every attempt, the receiver's deduplication key.
    #[schema(example = "msg_1207_4")]
    pub webhook_id: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    /// The receiver's last HTTP status, if it answered.
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    /// When the next attempt is due (pending deliveries only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl WebhookDelivery {
    pub(super) fn new(row: DeliveryRow, kind: EventType) -> Self {
        Self {
            id: row.id.0,
            event_id: row.event_id,
            event_type: kind,
            webhook_id: webhook_id(&row),
            status: row.status,
            attempts: row.attempts,
            last_status_code: row.last_status_code,
            last_error: row.last_error,
            next_attempt_at: (row.status == DeliveryStatus::Pending).then(|| row.next_attempt_at.and_utc()),
            last_attempt_at: row.last_attempt_at.map(|t| t.and_utc()),
            delivered_at: row.delivered_at.map(|t| t.and_utc()),
            created_at: row.created_at.and_utc(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDeliveryPage {
    pub items: Vec<WebhookDelivery>,
    /// Pass as `cursor` for the next page; null on the last one.
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// 1–100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}
