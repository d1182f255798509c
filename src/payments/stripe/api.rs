//! Stripe's REST API over HTTPS: form-encoded requests, JSON answers, and the retries (network
//! errors and 5xx, with the same idempotency key; never a 4xx).

use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{Context, anyhow};
use serde_json::Value;

use crate::config::StripeSettings;

/// Tries per request (the first and two retries), with these pauses in between.
const BACKOFF: [Duration; 2] = [Duration::from_millis(250), Duration::from_secs(1)];
const TIMEOUT: Duration = Duration::from_secs(30);

pub(super) struct Api {
    settings: StripeSettings,
    /// Built on first use, on a blocking thread: reqwest's blocking client must not be created
    /// or dropped on the async runtime.
    client: OnceLock<reqwest::blocking::Client>,
}

/// A Stripe answer: its HTTP status and JSON body.
#[derive(Debug)]
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) body: Value,
}

impl Answer {
    pub(super) fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub(super) fn str(&self, key: &str) -> Option<&str> {
        self.body.get(key).and_then(Value::as_str)
    }

    /// `error.decline_code`, else `error.code`, else `error.type`.
    pub(super) fn error_code(&self) -> String {
        let error = &self.body["error"];
        ["decline_code", "code", "type"]
            .iter()
            .find_map(|k| error.get(*k).and_then(Value::as_str))
            .unwrap_or("unknown_error")
            .to_owned()
    }

    pub(super) fn error_message(&self) -> String {
        self.body["error"]["message"]
            .as_str()
            .map_or_else(|| self.error_code(), str::to_owned)
    }

    pub(super) fn id(&self) -> anyhow::Result<String> {
        self.str("id")
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("Stripe answered without an id: {}", self.body))
    }
}

impl Api {
    pub(super) fn new(settings: StripeSettings) -> Self {
        Self {
            settings,
            client: OnceLock::new(),
        }
    }

    fn client(&self) -> anyhow::Result<&reqwest::blocking::Client> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let client = reqwest::blocking::Client::builder()
            .timeout(TIMEOUT)
            .user_agent(concat!("crowdfund/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(self.client.get_or_init(|| client))
    }

    /// One API call, retried on network errors and 5xx with the same idempotency key.
    pub(super) fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        form: &[(&str, &str)],
        idempotency_key: Option<&str>,
    ) -> anyhow::Result<Answer> {
        let url = format!("{}{path}", self.settings.api_base);
        let body = encode(form);
        let secret = std::str::from_utf8(self.settings.secret_key.expose())?;
        let mut last_error = None;
        for pause in BACKOFF.iter().map(Some).chain([None]) {
            let mut request = self
                .client()?
                .request(method.clone(), &url)
                .basic_auth(secret, None::<&str>)
                .header("Stripe-Version", "2024-06-20");
            if method == reqwest::Method::POST {
                request = request
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .body(body.clone());
            }
            if let Some(key) = idempotency_key {
                request = request.header("Idempotency-Key", key);
            }
            match request.send() {
                Ok(response) if response.status().is_server_error() => {
                    last_error = Some(anyhow!("Stripe answered {} to {path}", response.status()));
                }
                Ok(response) => {
                    let status = response.status().as_u16();
                    let text = response
                        .text()
                        .with_context(|| format!("reading Stripe's answer to {path}"))?;
                    let body: Value = serde_json::from_str(&text)
                        .with_context(|| format!("Stripe's answer to {path} is not JSON"))?;
                    return Ok(Answer { status, body });
                }
                Err(e) => last_error = Some(anyhow!(e).context(format!("calling Stripe {path}"))),
            }
            if let Some(pause) = pause {
                std::thread::sleep(*pause);
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow!("calling Stripe {path}")))
    }

    pub(super) fn post(
        &self,
        path: &str,
        form: &[(&str, &str)],
        key: Option<&str>,
    ) -> anyhow::Result<Answer> {
        self.call(reqwest::Method::POST, path, form, key)
    }
}

/// `application/x-www-form-urlencoded`, with Stripe's bracketed keys left as they are.
pub fn encode(form: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish()
}
