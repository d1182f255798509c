//! Email settings: the transport and the outbox worker's pacing.

use super::{AppEnv, Secret, parse_number};

/// Where email goes.
#[derive(Debug, Clone)]
pub enum MailTransport {
    /// `SMTP_URL`: `smtps://` (TLS) or `smtp://` (`?tls=required` for STARTTLS), credentials in
    /// the URL or in `SMTP_USERNAME` / `SMTP_PASSWORD`.
    Smtp {
        url: Secret,
        username: Option<String>,
        password: Option<Secret>,
    },
    /// Development: each message is written as an `.eml` file into this folder (`MAIL_DIR`).
    Files(std::path::PathBuf),
}

/// Email delivery: the transport and the outbox worker's pacing.
#[derive(Debug, Clone)]
pub struct MailSettings {
    pub transport: MailTransport,
    /// The `From` mailbox (`MAIL_FROM`), e.g. `crowdfund <no-reply@example.com>`.
    pub from: String,
    /// Where links in emails point (`APP_BASE_URL`): the backers' web app.
    pub app_base_url: String,
    /// Whether `serve` runs the delivery worker (`MAIL_WORKER`); off when cron runs `send-mail`.
    pub worker: bool,
    /// Attempts before a message is marked failed (`MAIL_MAX_ATTEMPTS`).
    pub max_attempts: u32,
    /// The first retry's delay (`MAIL_RETRY_BASE_MS`); it doubles per attempt, up to an hour.
    pub retry_base_ms: u32,
    /// How often the worker looks for due messages (`MAIL_POLL_INTERVAL_MS`).
    pub poll_interval_ms: u32,
}

pub(super) fn mail_settings(
    get: &impl Fn(&str) -> Option<String>,
    app_env: AppEnv,
    errors: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> MailSettings {
    let transport = match get("SMTP_URL") {
        Some(url) => {
            if let Err(e) = check_smtp_url(&url, app_env) {
                errors.push(format!("SMTP_URL: {e}"));
            }
            MailTransport::Smtp {
                url: Secret::new(url),
                username: get("SMTP_USERNAME"),
                password: get("SMTP_PASSWORD").map(Secret::new),
            }
        }
        None if app_env == AppEnv::Production => {
            errors.push("SMTP_URL: required when APP_ENV=production".into());
            MailTransport::Files("mail-outbox".into())
        }
        None => {
            let dir = get("MAIL_DIR").unwrap_or_else(|| "mail-outbox".into());
            warnings.push(format!(
                "SMTP_URL is not set: emails are written as .eml files into {dir}/ instead of being sent"
            ));
            MailTransport::Files(dir.into())
        }
    };
    if get("SMTP_USERNAME").is_some() != get("SMTP_PASSWORD").is_some() {
        errors.push("SMTP_USERNAME and SMTP_PASSWORD: set both or neither".into());
    }
    let from = get("MAIL_FROM").unwrap_or_else(|| "crowdfund <no-reply@localhost>".into());
    if let Err(e) = from.parse::<lettre::message::Mailbox>() {
        errors.push(format!(
            "MAIL_FROM: expected a mailbox such as \"crowdfund <no-reply@example.com>\" ({e})"
        ));
    }
    if app_env == AppEnv::Production && get("MAIL_FROM").is_none() {
        warnings.push("MAIL_FROM is not set: emails come from no-reply@localhost".into());
    }
    let app_base_url = get("APP_BASE_URL")
        .unwrap_or_else(|| "http://localhost:8080".into())
        .trim_end_matches('/')
        .to_owned();
    if !(app_base_url.starts_with("http://") || app_base_url.starts_with("https://")) {
        errors.push(format!(
            "APP_BASE_URL: expected an absolute http(s) URL, got {app_base_url:?}"
        ));
    }
    let worker = match get("MAIL_WORKER").as_deref() {
        None | Some("on") | Some("true") => true,
        Some("off") | Some("false") => false,
        Some(other) => {
            errors.push(format!("MAIL_WORKER: expected on or off, got {other:?}"));
            true
        }
    };
    MailSettings {
        transport,
        from,
        app_base_url,
        worker,
        max_attempts: parse_number(get, "MAIL_MAX_ATTEMPTS", 24, 1..=1000, errors),
        retry_base_ms: parse_number(get, "MAIL_RETRY_BASE_MS", 30_000, 1..=3_600_000, errors),
        poll_interval_ms: parse_number(get, "MAIL_POLL_INTERVAL_MS", 1_000, 10..=3_600_000, errors),
    }
}

/// Accepts what lettre accepts, and in production only an encrypted connection (`smtps://` or
/// `?tls=required`) unless the relay is on this machine.
fn check_smtp_url(raw: &str, app_env: AppEnv) -> Result<(), String> {
    use lettre::{AsyncSmtpTransport, Tokio1Executor};
    AsyncSmtpTransport::<Tokio1Executor>::from_url(raw)
        .map_err(|e| format!("not a usable SMTP URL ({e})"))?;
    let url = url::Url::parse(raw).map_err(|e| format!("not a URL ({e})"))?;
    let encrypted = url.scheme() == "smtps" || url.query_pairs().any(|(k, v)| k == "tls" && v == "required");
    let local = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    if app_env == AppEnv::Production && !encrypted && !local {
        return Err("production sends mail only over TLS: use smtps:// or add ?tls=required".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::settings;

    #[test]
    fn development_mail_goes_to_files_by_default() {
        let s = settings(&[]).unwrap();
        assert!(
            matches!(s.mail.transport, MailTransport::Files(ref dir) if dir.as_os_str() == "mail-outbox")
        );
        assert!(s.mail.worker);
    }

    #[test]
    fn production_refuses_plaintext_smtp_to_another_host() {
        let base = [
            ("APP_ENV", "production"),
            ("JWT_SECRET", "0123456789abcdef0123456789abcdef"),
            ("CRON_SECRET", "0123456789abcdef"),
            ("WEBHOOK_SECRETS_KEY", "0123456789abcdef0123456789abcdef"),
            ("MEDIA_PUBLIC_URL", "https://media.example.com"),
        ];
        let with = |url: &'static str| {
            let mut vars = base.to_vec();
            vars.push(("SMTP_URL", url));
            settings(&vars)
        };
        let err = with("smtp://user:pass@smtp.example.com:587").unwrap_err();
        assert!(err.to_string().contains("only over TLS"), "{err}");
        assert!(with("smtp://user:pass@smtp.example.com:587?tls=required").is_ok());
        assert!(
            with("smtp://127.0.0.1:25").is_ok(),
            "a local relay may be plaintext"
        );
        let err = with("http://smtp.example.com").unwrap_err();
        assert!(
            err.to_string().contains("SMTP_URL: not a usable SMTP URL"),
            "{err}"
        );
    }

    #[test]
    fn smtp_credentials_never_print() {
        let s = settings(&[("SMTP_URL", "smtps://mailer:hunter2-hunter2@smtp.example.com")]).unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
