//! Outbound webhook settings.

use super::values::parse_number;
use super::{AppEnv, Secret};

#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Whether `serve` runs the delivery worker (`WEBHOOK_WORKER`, on by default).
    pub worker: bool,
    /// Encrypts the signing secrets at rest (`WEBHOOK_SECRETS_KEY`, at least 32 bytes; required
    /// in production). Changing it makes every endpoint's secret unreadable: rotate them after.
    pub secrets_key: Secret,
    /// Lets deliveries reach loopback, private and link-local addresses, and registrations
    /// use `http://` on loopback (`WEBHOOK_ALLOW_PRIVATE`, off by default): for development
    /// and tests only.
    pub allow_private: bool,
    /// Deliveries to one endpoint in flight at once (`WEBHOOK_CONCURRENCY_PER_ENDPOINT`, 4).
    pub concurrency_per_endpoint: u32,
    /// How long a receiver has to answer (`WEBHOOK_TIMEOUT_SECONDS`, 10).
    pub timeout_seconds: u32,
    /// How often the worker looks for due deliveries (`WEBHOOK_POLL_INTERVAL_MS`, 1000).
    pub poll_interval_ms: u32,
}

pub(super) fn webhook_settings(
    get: &impl Fn(&str) -> Option<String>,
    app_env: AppEnv,
    errors: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> WebhookSettings {
    let on_off = |key: &str, default: bool, errors: &mut Vec<String>| match get(key).as_deref() {
        None => default,
        Some("on") | Some("true") => true,
        Some("off") | Some("false") => false,
        Some(other) => {
            errors.push(format!("{key}: expected on or off, got {other:?}"));
            default
        }
    };
    let worker = on_off("WEBHOOK_WORKER", true, errors);
    let allow_private = on_off("WEBHOOK_ALLOW_PRIVATE", false, errors);
    if allow_private && app_env == AppEnv::Production {
        warnings.push(
            "WEBHOOK_ALLOW_PRIVATE is on in production: webhook deliveries can reach this \
             server's own network"
                .into(),
        );
    }
    let secrets_key = match get("WEBHOOK_SECRETS_KEY") {
        Some(key) if key.len() >= 32 => Secret::new(key),
        Some(_) => {
            errors.push("WEBHOOK_SECRETS_KEY: must be at least 32 bytes".into());
            Secret::generate()
        }
        None if app_env == AppEnv::Production => {
            errors.push("WEBHOOK_SECRETS_KEY: required when APP_ENV=production".into());
            Secret::generate()
        }
        None => {
            warnings.push(
                "WEBHOOK_SECRETS_KEY is not set: webhook secrets made in this run cannot be \
                 read after a restart (set it in .env to keep them)"
                    .into(),
            );
            Secret::generate()
        }
    };
    WebhookSettings {
        worker,
        secrets_key,
        allow_private,
        concurrency_per_endpoint: parse_number(get, "WEBHOOK_CONCURRENCY_PER_ENDPOINT", 4, 1..=64, errors),
        timeout_seconds: parse_number(get, "WEBHOOK_TIMEOUT_SECONDS", 10, 1..=60, errors),
        poll_interval_ms: parse_number(get, "WEBHOOK_POLL_INTERVAL_MS", 1000, 10..=60_000, errors),
    }
}
