//! The Stripe side of a reconciliation: every PaymentIntent made under one of our keys, and the
//! refunds of them, read through Stripe's list endpoints a page of 100 at a time.

use std::collections::HashMap;

use anyhow::{anyhow, bail};
use chrono::NaiveDateTime;
use serde_json::Value;

use super::Stripe;
use super::api::encode;
use crate::payments::records::{ProviderCharge, ProviderRecords, is_ours};

/// Objects per page: Stripe's largest.
const PAGE: &str = "100";

impl Stripe {
    /// Every object of a list endpoint, following `has_more` with `starting_after`.
    fn list_all(&self, path: &str) -> anyhow::Result<Vec<Value>> {
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut query = vec![("limit", PAGE)];
            if let Some(last) = &after {
                query.push(("starting_after", last.as_str()));
            }
            let answer = self.api.call(
                reqwest::Method::GET,
                &format!("{path}?{}", encode(&query)),
                &[],
                None,
            )?;
            if !answer.ok() {
                bail!("listing {path}: {}", answer.error_message());
            }
            let page = answer.body["data"]
                .as_array()
                .ok_or_else(|| anyhow!("listing {path}: no data in {}", answer.body))?;
            let last = page.last().and_then(|o| o["id"].as_str()).map(str::to_owned);
            all.extend(page.iter().cloned());
            match (answer.body["has_more"].as_bool(), last) {
                (Some(true), Some(last)) => after = Some(last),
                _ => return Ok(all),
            }
        }
    }

    /// PaymentIntents (our charges: a succeeded one's id is what the attempt keeps) created
    /// since `since`, with the refunds made of each.
    pub(super) fn read_records(&self, since: Option<NaiveDateTime>) -> anyhow::Result<ProviderRecords> {
        let since = since.map_or(i64::MIN, |t| t.and_utc().timestamp());
        let mut refunded: HashMap<String, i64> = HashMap::new();
        let mut refunds = 0;
        for refund in self.list_all("/v1/refunds")? {
            let (Some(intent), Some(amount)) = (refund["payment_intent"].as_str(), refund["amount"].as_i64())
            else {
                continue;
            };
            if refund["status"] == "succeeded" {
                *refunded.entry(intent.to_owned()).or_default() += amount;
                refunds += 1;
            }
        }
        let charges = self
            .list_all("/v1/payment_intents")?
            .into_iter()
            .filter(|intent| intent["created"].as_i64().is_some_and(|t| t >= since))
            .filter_map(|intent| {
                let key = intent["metadata"]["idempotency_key"]
                    .as_str()
                    .filter(|k| is_ours(k))?;
                let id = intent["id"].as_str()?.to_owned();
                Some(ProviderCharge {
                    key: key.to_owned(),
                    amount_minor: intent["amount"].as_i64()?,
                    currency: intent["currency"].as_str()?.to_ascii_uppercase(),
                    succeeded: intent["status"] == "succeeded",
                    refunded_minor: refunded.get(&id).copied().unwrap_or(0),
                    id,
                })
            })
            .collect();
        Ok(ProviderRecords { charges, refunds })
    }
}
