//! Typed configuration from environment variables (and `.env`), validated once at start-up.
//! Every variable is listed and explained in `.env.example`.

use std::net::SocketAddr;

use crate::db::DatabaseUrl;

mod mail;
mod media;
mod payments;
mod secret;
mod values;
mod webhooks;

use mail::mail_settings;
pub use mail::{MailSettings, MailTransport};
use media::media_settings;
pub use media::{MediaSettings, MediaStoreUrl, S3Settings};
use payments::stripe_settings;
pub use payments::{PaymentProviderKind, StripeSettings};
pub use secret::{Secret, hex};
pub use values::ConfigError;
pub(crate) use values::parse_number;
pub use webhooks::WebhookSettings;
use webhooks::webhook_settings;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppEnv {
    Development,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub app_env: AppEnv,
    pub database_url: DatabaseUrl,
    pub database_pool_size: u32,
    pub bind_addr: SocketAddr,
    pub jwt_secret: Secret,
    pub cron_secret: Secret,
    /// When set (`METRICS_TOKEN`), `/metrics` answers only `Authorization: Bearer <token>`.
    pub metrics_token: Option<Secret>,
    pub cors_allowed_origins: Vec<String>,
    pub auth_rate_limit_per_minute: u32,
    /// Changes to pledges (amount, reward, payment method, cancel) one user may make a minute
    /// (`PLEDGE_CHANGE_RATE_LIMIT_PER_MINUTE`, 10 by default).
    pub pledge_change_rate_limit_per_minute: u32,
    /// Lifetime of access tokens (`ACCESS_TOKEN_TTL_SECONDS`, 900 by default).
    pub access_token_ttl_seconds: u32,
    pub payment_provider: PaymentProviderKind,
    pub platform_fee_bps: u32,
    /// The platform fee of a flexible campaign that missed its goal
    /// (`PLATFORM_FEE_FLEXIBLE_MISSED_BPS`, 900 by default).
    pub platform_fee_flexible_missed_bps: u32,
    pub settlement_batch_size: u32,
    /// Days a delivered pledge's survey answers (its address) are kept
    /// (`ADDRESS_RETENTION_DAYS`, 180 by default).
    pub address_retention_days: u32,
    pub settlement_time_budget_ms: u32,
    /// Threads charging at once in a settlement pass (`SETTLEMENT_CONCURRENCY`).
    pub settlement_concurrency: u32,
    /// Password hashes running at once (`PASSWORD_HASH_CONCURRENCY`, default: the cores).
    pub password_hash_concurrency: u32,
    /// Password hashes waiting for a turn (`PASSWORD_HASH_QUEUE`, 64 by default); past it, 503.
    pub password_hash_queue: u32,
    pub log_format: LogFormat,
    pub mail: MailSettings,
    pub webhooks: WebhookSettings,
    pub media: MediaSettings,
    /// Warnings to log once logging is up (configuration is read before it is).
    pub warnings: Vec<String>,
}

pub const MIN_JWT_SECRET_BYTES: usize = 32;
pub const MIN_CRON_SECRET_BYTES: usize = 16;

impl Settings {
    /// Reads `.env` (if present) and the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// Builds settings from any key lookup, collecting every problem before failing.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |key: &str| lookup(key).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let mut errors = Vec::new();
        let mut warnings = Vec::new();

        let app_env = match get("APP_ENV").as_deref() {
            None | Some("development") => AppEnv::Development,
            Some("production") => AppEnv::Production,
            Some(other) => {
                errors.push(format!(
                    "APP_ENV: expected development or production, got {other:?}"
                ));
                AppEnv::Development
            }
        };

        let database_url = get("DATABASE_URL").unwrap_or_else(|| "sqlite://crowdfund.db".into());
        let database_url = DatabaseUrl::parse(&database_url).unwrap_or_else(|e| {
            errors.push(format!("DATABASE_URL: {e}"));
            DatabaseUrl::Sqlite("crowdfund.db".into())
        });

        let workers = std::thread::available_parallelism().map_or(2, |n| n.get()) as u32;
        let database_pool_size = parse_number(
            &get,
            "DATABASE_POOL_SIZE",
            (2 * workers + 2).max(4),
            1..=1000,
            &mut errors,
        );
        let auth_rate_limit_per_minute =
            parse_number(&get, "AUTH_RATE_LIMIT_PER_MINUTE", 20, 1..=1_000_000, &mut errors);
        let pledge_change_rate_limit_per_minute = parse_number(
            &get,
            "PLEDGE_CHANGE_RATE_LIMIT_PER_MINUTE",
            10,
            1..=1_000_000,
            &mut errors,
        );

        let access_token_ttl_seconds =
            parse_number(&get, "ACCESS_TOKEN_TTL_SECONDS", 900, 1..=86_400, &mut errors);
        let platform_fee_bps = parse_number(&get, "PLATFORM_FEE_BPS", 500, 0..=10_000, &mut errors);
        let platform_fee_flexible_missed_bps = parse_number(
            &get,
            "PLATFORM_FEE_FLEXIBLE_MISSED_BPS",
            900,
            0..=10_000,
            &mut errors,
        );
        let settlement_batch_size =
            parse_number(&get, "SETTLEMENT_BATCH_SIZE", 500, 1..=100_000, &mut errors);
        let address_retention_days =
            parse_number(&get, "ADDRESS_RETENTION_DAYS", 180, 1..=3_650, &mut errors);
        let settlement_time_budget_ms = parse_number(
            &get,
            "SETTLEMENT_TIME_BUDGET_MS",
            10_000,
            1..=3_600_000,
            &mut errors,
        );

        // SQLite has one writer at a time, and with the sandbox every charge is a write: more
        // threads only wait on each other's locks (measured in bench/RESULTS.md).
        let concurrency_default = match database_url {
            DatabaseUrl::Sqlite(_) => 1,
            DatabaseUrl::Postgres(_) => 4,
        };
        let settlement_concurrency = parse_number(
            &get,
            "SETTLEMENT_CONCURRENCY",
            concurrency_default,
            1..=64,
            &mut errors,
        );

        let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
        let password_hash_concurrency = parse_number(
            &get,
            "PASSWORD_HASH_CONCURRENCY",
            cores.min(256),
            1..=256,
            &mut errors,
        );
        let password_hash_queue = parse_number(&get, "PASSWORD_HASH_QUEUE", 64, 0..=10_000, &mut errors);

        let bind_addr = get("BIND_ADDR").unwrap_or_else(|| "127.0.0.1:8080".into());
        let bind_addr = bind_addr.parse().unwrap_or_else(|_| {
            errors.push(format!(
                "BIND_ADDR: expected HOST:PORT such as 127.0.0.1:8080, got {bind_addr:?}"
            ));
            SocketAddr::from(([127, 0, 0, 1], 8080))
        });

        let mut secret = |key: &str, min_len: usize| match get(key) {
            Some(value) if value.len() >= min_len => Secret::new(value),
            Some(_) => {
                errors.push(format!("{key}: must be at least {min_len} bytes"));
                Secret::generate()
            }
            None if app_env == AppEnv::Production => {
                errors.push(format!("{key}: required when APP_ENV=production"));
                Secret::generate()
            }
            None => {
                warnings.push(format!(
                    "{key} is not set: using a throwaway value generated for this run \
                     (set it in .env to keep it across restarts)"
                ));
                Secret::generate()
            }
        };
        let jwt_secret = secret("JWT_SECRET", MIN_JWT_SECRET_BYTES);
        let cron_secret = secret("CRON_SECRET", MIN_CRON_SECRET_BYTES);
        let metrics_token = match get("METRICS_TOKEN") {
            Some(token) if token.len() < MIN_CRON_SECRET_BYTES => {
                errors.push(format!(
                    "METRICS_TOKEN: must be at least {MIN_CRON_SECRET_BYTES} bytes"
                ));
                None
            }
            token => token.map(Secret::new),
        };

        let cors_allowed_origins: Vec<String> = get("CORS_ALLOWED_ORIGINS")
            .map(|v| {
                v.split(',')
                    .map(|o| o.trim().trim_end_matches('/').to_owned())
                    .filter(|o| !o.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        for origin in &cors_allowed_origins {
            if !(origin.starts_with("http://") || origin.starts_with("https://")) || origin == "*" {
                errors.push(format!(
                    "CORS_ALLOWED_ORIGINS: {origin:?} is not an origin such as https://app.example.com"
                ));
            }
        }

        let payment_provider = match get("PAYMENT_PROVIDER").as_deref() {
            None | Some("sandbox") => PaymentProviderKind::Sandbox,
            Some("stripe") => stripe_settings(&get, &mut errors),
            Some(other) => {
                errors.push(format!(
                    "PAYMENT_PROVIDER: expected sandbox or stripe, got {other:?}"
                ));
                PaymentProviderKind::Sandbox
            }
        };

        let log_format = match get("LOG_FORMAT").as_deref() {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => {
                errors.push(format!("LOG_FORMAT: expected pretty or json, got {other:?}"));
                LogFormat::Pretty
            }
        };

        let mail = mail_settings(&get, app_env, &mut errors, &mut warnings);
        let webhooks = webhook_settings(&get, app_env, &mut errors, &mut warnings);
        let media = media_settings(&get, app_env, &mut errors);

        if !errors.is_empty() {
            return Err(ConfigError(errors));
        }
        Ok(Self {
            app_env,
            database_url,
            database_pool_size,
            bind_addr,
            jwt_secret,
            cron_secret,
            metrics_token,
            cors_allowed_origins,
            auth_rate_limit_per_minute,
            pledge_change_rate_limit_per_minute,
            access_token_ttl_seconds,
            payment_provider,
            platform_fee_bps,
            platform_fee_flexible_missed_bps,
            settlement_batch_size,
            address_retention_days,
            settlement_time_budget_ms,
            settlement_concurrency,
            password_hash_concurrency,
            password_hash_queue,
            log_format,
            mail,
            webhooks,
            media,
            warnings,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::HashMap;

    pub(crate) fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn development_needs_no_configuration() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.app_env, AppEnv::Development);
        assert_eq!(s.database_url, DatabaseUrl::Sqlite("crowdfund.db".into()));
        assert_eq!(s.bind_addr.to_string(), "127.0.0.1:8080");
        assert_eq!(s.auth_rate_limit_per_minute, 20);
        assert!(s.jwt_secret.expose().len() >= MIN_JWT_SECRET_BYTES);
        assert_eq!(
            s.warnings.len(),
            4,
            "the three generated secrets and the file mail transport are announced"
        );
    }

    #[test]
    fn production_refuses_missing_secrets() {
        let err = settings(&[("APP_ENV", "production")]).unwrap_err();
        let all = err.to_string();
        assert!(all.contains("JWT_SECRET: required"), "{all}");
        assert!(all.contains("CRON_SECRET: required"), "{all}");
        assert!(all.contains("SMTP_URL: required"), "{all}");
    }

    #[test]
    fn production_refuses_a_short_jwt_secret() {
        let err = settings(&[
            ("APP_ENV", "production"),
            ("JWT_SECRET", "too-short"),
            ("CRON_SECRET", "0123456789abcdef0123"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("JWT_SECRET: must be at least 32 bytes"));
    }

    #[test]
    fn production_starts_with_its_secrets() {
        let s = settings(&[
            ("APP_ENV", "production"),
            ("JWT_SECRET", "0123456789abcdef0123456789abcdef"),
            ("CRON_SECRET", "0123456789abcdef"),
            (
                "SMTP_URL",
                "smtps://mailer:0123456789abcdef-smtp@smtp.example.com",
            ),
            ("MAIL_FROM", "crowdfund <no-reply@example.com>"),
            ("WEBHOOK_SECRETS_KEY", "0123456789abcdef0123456789abcdef-webhooks"),
            ("MEDIA_PUBLIC_URL", "https://media.example.com"),
        ])
        .unwrap();
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
        assert!(
            !format!("{s:?}").contains("0123456789abcdef"),
            "secrets never print"
        );
    }

    #[test]
    fn env_example_documents_every_variable_with_a_valid_value() {
        let example = include_str!("../../.env.example");
        let vars: HashMap<String, String> = dotenvy::from_read_iter(example.as_bytes())
            .map(|item| item.unwrap())
            .collect();
        let from_example = Settings::from_lookup(|k| vars.get(k).cloned());
        assert!(from_example.is_ok(), "{:?}", from_example.err());
        // Every quoted upper-case name in this file is a variable read here.
        let source = [
            include_str!("mod.rs"),
            include_str!("mail.rs"),
            include_str!("payments.rs"),
            include_str!("webhooks.rs"),
        ]
        .concat();
        let names: Vec<&str> = source
            .split('"')
            .skip(1)
            .step_by(2)
            .filter(|n| n.len() >= 6 && n.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
            .collect();
        assert!(names.len() >= 20, "{names:?}");
        for name in names {
            assert!(example.contains(name), "{name} is missing from .env.example");
        }
    }

    #[test]
    fn bad_values_are_all_reported() {
        let err = settings(&[
            ("DATABASE_POOL_SIZE", "0"),
            ("BIND_ADDR", "nowhere"),
            ("CORS_ALLOWED_ORIGINS", "*"),
            ("LOG_FORMAT", "xml"),
            ("MAIL_FROM", "not a mailbox"),
            ("MAIL_MAX_ATTEMPTS", "0"),
        ])
        .unwrap_err();
        assert_eq!(err.0.len(), 6, "{err}");
    }
}
