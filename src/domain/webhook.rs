//! Outbound webhooks: what an endpoint is told about, and where a delivery stands.

use std::str::FromStr;

use diesel::sql_types::{BigInt, Text};
use diesel::{AsExpression, FromSqlRow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::sql::{id_column, text_column};

/// A webhook endpoint's id.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, AsExpression, FromSqlRow,
)]
#[serde(transparent)]
#[diesel(sql_type = BigInt)]
pub struct EndpointId(pub i64);
id_column!(EndpointId);

/// One delivery: one event to one endpoint.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, AsExpression, FromSqlRow,
)]
#[serde(transparent)]
#[diesel(sql_type = BigInt)]
pub struct DeliveryId(pub i64);
id_column!(DeliveryId);

/// An event an endpoint can subscribe to; its name is the payload's `type`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    ToSchema,
    AsExpression,
    FromSqlRow,
)]
#[diesel(sql_type = Text)]
pub enum EventType {
    #[serde(rename = "campaign.launched")]
    CampaignLaunched,
    #[serde(rename = "campaign.funded")]
    CampaignFunded,
    #[serde(rename = "campaign.failed")]
    CampaignFailed,
    #[serde(rename = "campaign.successful")]
    CampaignSuccessful,
    #[serde(rename = "campaign.canceled")]
    CampaignCanceled,
    #[serde(rename = "campaign.suspended")]
    CampaignSuspended,
    #[serde(rename = "pledge.created")]
    PledgeCreated,
    #[serde(rename = "pledge.updated")]
    PledgeUpdated,
    #[serde(rename = "pledge.canceled")]
    PledgeCanceled,
    #[serde(rename = "pledge.collected")]
    PledgeCollected,
    #[serde(rename = "pledge.errored")]
    PledgeErrored,
    #[serde(rename = "pledge.dropped")]
    PledgeDropped,
    #[serde(rename = "pledge.refunded")]
    PledgeRefunded,
    #[serde(rename = "update.published")]
    UpdatePublished,
    /// Sent only by `POST …/ping`, to the one endpoint.
    #[serde(rename = "webhook.ping")]
    Ping,
}

impl EventType {
    pub const ALL: [EventType; 15] = [
        Self::CampaignLaunched,
        Self::CampaignFunded,
        Self::CampaignFailed,
        Self::CampaignSuccessful,
        Self::CampaignCanceled,
        Self::CampaignSuspended,
        Self::PledgeCreated,
        Self::PledgeUpdated,
        Self::PledgeCanceled,
        Self::PledgeCollected,
        Self::PledgeErrored,
        Self::PledgeDropped,
        Self::PledgeRefunded,
        Self::UpdatePublished,
        Self::Ping,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CampaignLaunched => "campaign.launched",
            Self::CampaignFunded => "campaign.funded",
            Self::CampaignFailed => "campaign.failed",
            Self::CampaignSuccessful => "campaign.successful",
            Self::CampaignCanceled => "campaign.canceled",
            Self::CampaignSuspended => "campaign.suspended",
            Self::PledgeCreated => "pledge.created",
            Self::PledgeUpdated => "pledge.updated",
            Self::PledgeCanceled => "pledge.canceled",
            Self::PledgeCollected => "pledge.collected",
            Self::PledgeErrored => "pledge.errored",
            Self::PledgeDropped => "pledge.dropped",
            Self::PledgeRefunded => "pledge.refunded",
            Self::UpdatePublished => "update.published",
            Self::Ping => "webhook.ping",
        }
    }
}

text_column!(EventType);

impl FromStr for EventType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| format!("unknown event type {s:?}"))
    }
}

/// `pending` until the receiver answers 2xx (`succeeded`) or the last retry fails (`failed`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, AsExpression, FromSqlRow,
)]
#[serde(rename_all = "lowercase")]
#[diesel(sql_type = Text)]
pub enum DeliveryStatus {
    Pending,
    Succeeded,
    Failed,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 3] = [Self::Pending, Self::Succeeded, Self::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }
}

text_column!(DeliveryStatus);

impl FromStr for DeliveryStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| format!("unknown delivery status {s:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in EventType::ALL {
            assert_eq!(t.as_str().parse::<EventType>(), Ok(t));
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
        for s in DeliveryStatus::ALL {
            assert_eq!(s.as_str().parse::<DeliveryStatus>(), Ok(s));
        }
        assert!("pledge.exploded".parse::<EventType>().is_err());
    }
}
