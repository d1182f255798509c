//! The rules of webhook endpoints: who registers which, what a URL may be, which events and
//! campaigns an endpoint hears about, and the secrets it is signed with.

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::address;
use super::secrets::{self, Sealer};
use super::subscription::check_events;
pub use super::subscription::{Events, campaign_ids, wants};
use crate::db::webhooks::{self, DeliveryRow, EndpointChanges, EndpointRow, NewEndpoint};
use crate::db::{DbConn, campaigns};
use crate::domain::{Actor, CampaignId, CoreError, DeliveryId, EndpointId, EventType, FieldErrors, Refusal};

/// Endpoints one account (or the platform) may have.
pub const MAX_ENDPOINTS: usize = 20;
/// How long a replaced secret keeps signing beside the new one.
pub const ROTATION_OVERLAP: Duration = Duration::hours(24);
const MAX_URL_LENGTH: usize = 2048;
const MAX_CAMPAIGNS: usize = 100;

/// Whose endpoints a request is about: the caller's own (events of their campaigns), or the
/// platform's (every event), which only admins manage.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    Own(Actor),
    Platform(Actor),
}

impl Scope {
    fn actor(self) -> Actor {
        match self {
            Self::Own(a) | Self::Platform(a) => a,
        }
    }

    fn platform(self) -> bool {
        matches!(self, Self::Platform(_))
    }

    fn check(self) -> Result<(), Refusal> {
        match self {
            Self::Platform(actor) if !actor.is_admin() => {
                Err(Refusal::forbidden("only admins manage platform webhooks"))
            }
            _ => Ok(()),
        }
    }

    fn contains(self, endpoint: &EndpointRow) -> bool {
        match self {
            Self::Own(actor) => !endpoint.platform && endpoint.owner_id == actor.id,
            Self::Platform(_) => endpoint.platform,
        }
    }
}

/// The fields of a registration or a change, as received.
#[derive(Debug, Default)]
pub struct Settings {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    /// `Some(None)`: every campaign.
    pub campaign_ids: Option<Option<Vec<i64>>>,
    pub enabled: Option<bool>,
}

/// The settings, checked; each invalid field named.
struct Checked {
    url: Option<String>,
    events: Option<Events>,
    campaign_ids: Option<Option<String>>,
}

fn check_url(raw: &str, allow_private: bool) -> Result<String, String> {
    if raw.len() > MAX_URL_LENGTH {
        return Err(format!("must be at most {MAX_URL_LENGTH} characters"));
    }
    let url = url::Url::parse(raw).map_err(|e| format!("is not an absolute URL ({e})"))?;
    let host = url.host().ok_or("must name a host")?;
    match url.scheme() {
        "https" => {}
        "http" if allow_private && address::is_loopback_host(&host) => {}
        "http" => return Err("must use https (http only for loopback, in development)".into()),
        _ => return Err("must be an https URL".into()),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry a user name or password".into());
    }
    if let Some(ip) = address::literal(&host)
        && !allow_private
        && !address::is_public(ip)
    {
        return Err(format!("{ip} is not a public address"));
    }
    Ok(url.to_string())
}

fn check(
    conn: &mut DbConn,
    scope: Scope,
    settings: &Settings,
    allow_private: bool,
) -> Result<Checked, CoreError> {
    let mut errors = FieldErrors::default();
    let url = settings
        .url
        .as_deref()
        .and_then(|raw| errors.check("url", check_url(raw, allow_private)));
    let events = settings
        .events
        .as_deref()
        .and_then(|names| errors.check("events", check_events(names)));
    let mut campaign_ids = None;
    match &settings.campaign_ids {
        None => {}
        Some(None) => campaign_ids = Some(None),
        Some(Some(ids)) if ids.is_empty() => {
            errors.push(
                "campaign_ids",
                "must list at least one campaign, or be null for all of them",
            );
        }
        Some(Some(ids)) if ids.len() > MAX_CAMPAIGNS => {
            errors.push(
                "campaign_ids",
                format!("must list at most {MAX_CAMPAIGNS} campaigns"),
            );
        }
        Some(Some(ids)) => {
            let mut ids = ids.clone();
            ids.sort_unstable();
            ids.dedup();
            for (i, id) in ids.iter().enumerate() {
                let campaign = campaigns::find(conn, CampaignId(*id))?;
                let ok = match (scope, campaign) {
                    (_, None) => false,
                    (Scope::Own(actor), Some(c)) => c.owner_id == actor.id,
                    (Scope::Platform(_), Some(_)) => true,
                };
                if !ok {
                    errors.push(
                        format!("campaign_ids[{i}]"),
                        format!("campaign {id} is not one of yours"),
                    );
                }
            }
            campaign_ids = Some(Some(Value::from(ids).to_string()));
        }
    }
    errors.finish()?;
    Ok(Checked {
        url,
        events,
        campaign_ids,
    })
}

/// A new endpoint and its secret, shown this once.
pub struct Created {
    pub endpoint: EndpointRow,
    pub secret: String,
}

pub fn create(
    conn: &mut DbConn,
    sealer: &Sealer,
    scope: Scope,
    settings: &Settings,
    allow_private: bool,
    now: DateTime<Utc>,
) -> Result<Created, CoreError> {
    scope.check()?;
    let mut errors = FieldErrors::default();
    if settings.url.is_none() {
        errors.push("url", "is required");
    }
    if settings.events.is_none() {
        errors.push("events", "is required: a list of event types, or [\"*\"]");
    }
    errors.finish()?;
    let checked = check(conn, scope, settings, allow_private)?;
    let actor = scope.actor();
    if webhooks::list_endpoints(conn, actor.id, scope.platform())?.len() >= MAX_ENDPOINTS {
        return Err(Refusal::conflict(format!(
            "at most {MAX_ENDPOINTS} webhook endpoints; delete one first"
        ))
        .into());
    }
    let secret = secrets::generate();
    let sealed = sealer.seal(&secret);
    let (Some(url), Some(events)) = (checked.url, checked.events) else {
        return Err(Refusal::field("url", "is required").into());
    };
    let at = now.naive_utc();
    let endpoint = webhooks::insert_endpoint(
        conn,
        &NewEndpoint {
            owner_id: actor.id,
            platform: scope.platform(),
            url: &url,
            events: &events.to_stored(),
            campaign_ids: checked.campaign_ids.flatten().as_deref(),
            enabled: settings.enabled.unwrap_or(true),
            secret: &sealed,
            created_at: at,
            updated_at: at,
        },
    )?;
    Ok(Created { endpoint, secret })
}

pub fn list(conn: &mut DbConn, scope: Scope) -> Result<Vec<EndpointRow>, CoreError> {
    scope.check()?;
    let actor = scope.actor();
    Ok(webhooks::list_endpoints(conn, actor.id, scope.platform())?)
}

/// The endpoint, if it is in the scope; 404 otherwise (another's endpoint is not shown to exist).
pub fn get(conn: &mut DbConn, scope: Scope, id: EndpointId) -> Result<EndpointRow, CoreError> {
    scope.check()?;
    match webhooks::find_endpoint(conn, id)? {
        Some(endpoint) if scope.contains(&endpoint) => Ok(endpoint),
        _ => Err(Refusal::NotFound.into()),
    }
}

pub fn update(
    conn: &mut DbConn,
    scope: Scope,
    id: EndpointId,
    settings: &Settings,
    allow_private: bool,
    now: DateTime<Utc>,
) -> Result<EndpointRow, CoreError> {
    let endpoint = get(conn, scope, id)?;
    let checked = check(conn, scope, settings, allow_private)?;
    let mut changes = EndpointChanges {
        url: checked.url,
        events: checked.events.map(|e| e.to_stored()),
        campaign_ids: checked.campaign_ids,
        enabled: settings.enabled,
        updated_at: Some(now.naive_utc()),
        ..Default::default()
    };
    if settings.enabled == Some(true) && !endpoint.enabled {
        // A fresh start: the five days of failures count again from the next one.
        changes.failing_since = Some(None);
        changes.disabled_reason = Some(None);
    }
    webhooks::update_endpoint(conn, id, &changes)?.ok_or_else(|| Refusal::NotFound.into())
}

pub fn delete(conn: &mut DbConn, scope: Scope, id: EndpointId) -> Result<(), CoreError> {
    get(conn, scope, id)?;
    webhooks::delete_endpoint(conn, id)?;
    Ok(())
}

/// A new secret; the old one keeps signing for [`ROTATION_OVERLAP`].
pub fn rotate(
    conn: &mut DbConn,
    sealer: &Sealer,
    scope: Scope,
    id: EndpointId,
    now: DateTime<Utc>,
) -> Result<Created, CoreError> {
    let endpoint = get(conn, scope, id)?;
    let secret = secrets::generate();
    let changes = EndpointChanges {
        secret: Some(sealer.seal(&secret)),
        previous_secret: Some(Some(endpoint.secret)),
        previous_secret_until: Some(Some((now + ROTATION_OVERLAP).naive_utc())),
        updated_at: Some(now.naive_utc()),
        ..Default::default()
    };
    let endpoint = webhooks::update_endpoint(conn, id, &changes)?.ok_or(Refusal::NotFound)?;
    Ok(Created { endpoint, secret })
}

pub fn deliveries(
    conn: &mut DbConn,
    scope: Scope,
    id: EndpointId,
    before: Option<DeliveryId>,
    limit: i64,
) -> Result<Vec<(DeliveryRow, EventType)>, CoreError> {
    get(conn, scope, id)?;
    Ok(webhooks::deliveries_page(conn, id, before, limit)?)
}

fn check_enabled(endpoint: &EndpointRow) -> Result<(), Refusal> {
    if endpoint.enabled {
        Ok(())
    } else {
        Err(Refusal::conflict("the endpoint is disabled; enable it first"))
    }
}

/// Sends a delivery again, from the first attempt of the schedule, with the same `webhook-id`.
pub fn redeliver(
    conn: &mut DbConn,
    scope: Scope,
    id: EndpointId,
    delivery: DeliveryId,
    now: DateTime<Utc>,
) -> Result<(DeliveryRow, EventType), CoreError> {
    let endpoint = get(conn, scope, id)?;
    let (_, kind) = webhooks::find_delivery(conn, id, delivery)?.ok_or(Refusal::NotFound)?;
    check_enabled(&endpoint)?;
    let row = webhooks::restart(conn, delivery, now.naive_utc())?.ok_or_else(|| {
        Refusal::conflict("an attempt at this delivery is in flight; try again when it ends")
    })?;
    Ok((row, kind))
}

/// A `webhook.ping` to the endpoint.
pub fn ping(
    conn: &mut DbConn,
    scope: Scope,
    id: EndpointId,
    now: DateTime<Utc>,
) -> Result<(DeliveryRow, EventType), CoreError> {
    let endpoint = get(conn, scope, id)?;
    check_enabled(&endpoint)?;
    let event = super::events::ping(conn, id, now)?;
    let delivery = webhooks::insert_delivery(conn, event, id, now.naive_utc())?
        .ok_or_else(|| CoreError::unexpected(format!("ping event {event} was delivered already")))?;
    Ok(webhooks::find_delivery(conn, id, delivery)?.ok_or(Refusal::NotFound)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_https_or_loopback_http_in_development() {
        assert!(check_url("https://hooks.example.com/x", false).is_ok());
        assert!(check_url("http://hooks.example.com/x", true).is_err());
        assert!(check_url("http://127.0.0.1:9000/x", true).is_ok());
        assert!(check_url("http://localhost:9000/x", false).is_err());
        assert!(check_url("https://10.0.0.1/x", false).is_err());
        assert!(check_url("https://[::1]/x", false).is_err());
        assert!(check_url("https://169.254.169.254/latest", false).is_err());
        assert!(check_url("https://user:pw@hooks.example.com/", false).is_err());
        assert!(check_url("ftp://hooks.example.com/", false).is_err());
        assert!(check_url("hooks.example.com", false).is_err());
    }
}
