//! What an endpoint hears of: the event types it subscribed to (or all of them), the campaigns
//! it is limited to, and whose events those are.

use serde_json::Value;

use crate::db::webhooks::{EndpointRow, EventRow};
use crate::domain::{CampaignId, EventType};

/// What an endpoint subscribes to, as stored (`["*"]` for everything).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Events {
    All,
    Only(Vec<EventType>),
}

impl Events {
    pub fn parse_stored(stored: &str) -> Self {
        let names: Vec<String> = serde_json::from_str(stored).unwrap_or_default();
        if names.iter().any(|n| n == "*") {
            Self::All
        } else {
            Self::Only(names.iter().filter_map(|n| n.parse().ok()).collect())
        }
    }

    pub fn to_stored(&self) -> String {
        match self {
            Self::All => r#"["*"]"#.to_owned(),
            Self::Only(types) => {
                Value::from(types.iter().map(|t| t.as_str()).collect::<Vec<_>>()).to_string()
            }
        }
    }

    pub fn names(&self) -> Vec<String> {
        match self {
            Self::All => vec!["*".to_owned()],
            Self::Only(types) => types.iter().map(|t| t.as_str().to_owned()).collect(),
        }
    }

    fn includes(&self, kind: EventType) -> bool {
        match self {
            Self::All => true,
            Self::Only(types) => types.contains(&kind),
        }
    }
}

pub fn campaign_ids(endpoint: &EndpointRow) -> Option<Vec<CampaignId>> {
    endpoint.campaign_ids.as_deref().map(|stored| {
        serde_json::from_str::<Vec<i64>>(stored)
            .unwrap_or_default()
            .into_iter()
            .map(CampaignId)
            .collect()
    })
}

/// Whether the endpoint is to hear of the event (the worker's fan-out).
pub fn wants(endpoint: &EndpointRow, event: &EventRow) -> bool {
    if !endpoint.enabled || endpoint.created_at > event.created_at {
        return false;
    }
    if let Some(target) = event.endpoint_id {
        return target == endpoint.id;
    }
    if event.event_type == EventType::Ping
        || !Events::parse_stored(&endpoint.events).includes(event.event_type)
    {
        return false;
    }
    if !endpoint.platform && event.creator_id != Some(endpoint.owner_id) {
        return false;
    }
    match (campaign_ids(endpoint), event.campaign_id) {
        (None, _) => true,
        (Some(ids), Some(campaign)) => ids.contains(&campaign),
        (Some(_), None) => false,
    }
}

pub(super) fn check_events(names: &[String]) -> Result<Events, String> {
    if names.is_empty() {
        return Err("must list at least one event type, or \"*\"".into());
    }
    if names.iter().any(|n| n == "*") {
        return if names.len() == 1 {
            Ok(Events::All)
        } else {
            Err("\"*\" stands alone".into())
        };
    }
    let mut types = Vec::new();
    for name in names {
        match name.parse::<EventType>() {
            Ok(EventType::Ping) => {
                return Err("webhook.ping is sent to every endpoint; it is not subscribed to".into());
            }
            Ok(kind) => types.push(kind),
            Err(_) => return Err(format!("{name:?} is not an event type")),
        }
    }
    types.sort();
    types.dedup();
    Ok(Events::Only(types))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_known_types_or_everything() {
        assert_eq!(check_events(&["*".into()]), Ok(Events::All));
        assert!(check_events(&[]).is_err());
        assert!(check_events(&["*".into(), "pledge.created".into()]).is_err());
        assert!(check_events(&["pledge.exploded".into()]).is_err());
        assert!(check_events(&["webhook.ping".into()]).is_err());
        assert_eq!(
            check_events(&[
                "pledge.created".into(),
                "campaign.funded".into(),
                "pledge.created".into()
            ]),
            Ok(Events::Only(vec![
                EventType::CampaignFunded,
                EventType::PledgeCreated
            ]))
        );
    }
}
