//! Prometheus metrics: requests by route and status, latency, database pool usage, and email
//! (the outbox by status, read from the database at scrape time; this process's send outcomes).
//!
//! Every label has a bounded set of values, whatever clients send: `route` is the matched
//! route pattern (`/api/v1/campaigns/{id}`), never the raw path, and unmatched requests share
//! `unmatched`; `method` is one of the standard methods or `other`.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

use crate::db::Db;
use crate::domain::OutboxStatus;

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool_connections: IntGaugeVec,
    pool_max: IntGauge,
    statements: IntCounter,
    /// Write transactions that carried several grouped writes, and the writes they carried.
    grouped: (IntCounter, IntCounter),
    pub emails: IntCounterVec,
    outbox: IntGaugeVec,
    pub webhooks: IntCounterVec,
}

impl Metrics {
    pub fn new() -> anyhow::Result<Self> {
        let registry = Registry::new_custom(Some("crowdfund".into()), None)?;
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests answered, by route and status",
            ),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "Time to answer HTTP requests").buckets(
                vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ],
            ),
            &["method", "route"],
        )?;
        let pool_connections = IntGaugeVec::new(
            Opts::new(
                "db_pool_connections",
                "Database connections held by the pool, by state",
            ),
            &["state"],
        )?;
        let pool_max = IntGauge::new("db_pool_max_connections", "Largest size the pool may grow to")?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(pool_connections.clone()))?;
        let statements = IntCounter::new(
            "db_statements_total",
            "Statements sent to the database (round trips)",
        )?;
        registry.register(Box::new(pool_max.clone()))?;
        registry.register(Box::new(statements.clone()))?;
        let grouped = (
            IntCounter::new(
                "db_grouped_transactions_total",
                "Write transactions that carried several pledges at once (group commit)",
            )?,
            IntCounter::new(
                "db_grouped_writes_total",
                "Pledges committed in a transaction with others (group commit)",
            )?,
        );
        registry.register(Box::new(grouped.0.clone()))?;
        registry.register(Box::new(grouped.1.clone()))?;
        let emails = IntCounterVec::new(
            Opts::new(
                "emails_total",
                "Email delivery attempts by this process, by outcome (sent, retry, failed)",
            ),
            &["outcome"],
        )?;
        let outbox = IntGaugeVec::new(
            Opts::new(
                "email_outbox_messages",
                "Messages in the email outbox, by status (queued, sent, failed)",
            ),
            &["status"],
        )?;
        registry.register(Box::new(emails.clone()))?;
        let webhooks = IntCounterVec::new(
            Opts::new(
                "webhook_deliveries_total",
                "Webhook delivery attempts by this process, by outcome (succeeded, retry, failed)",
            ),
            &["outcome"],
        )?;
        registry.register(Box::new(webhooks.clone()))?;
        registry.register(Box::new(outbox.clone()))?;
        Ok(Self {
            registry,
            requests,
            latency,
            pool_connections,
            pool_max,
            statements,
            grouped,
            emails,
            outbox,
            webhooks,
        })
    }

    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let method = method_label(method);
        self.requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.latency.with_label_values(&[method, route]).observe(seconds);
    }

    /// Whether a scrape may read the metrics: anyone, unless `METRICS_TOKEN` is set.
    pub fn may_read(token: Option<&crate::config::Secret>, authorization: Option<&str>) -> bool {
        use subtle::ConstantTimeEq;
        token.is_none_or(|token| {
            let presented = authorization
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or_default();
            bool::from(presented.as_bytes().ct_eq(token.expose()))
        })
    }

    /// The Prometheus text exposition, with pool gauges read at scrape time and the outbox
    /// counts the caller read from the database.
    /// The figures as Prometheus reads them; `grouped` is the group commit's count of
    /// (transactions, writes) so far.
    pub fn render(
        &self,
        db: &Db,
        outbox: &[(OutboxStatus, i64)],
        grouped: (u64, u64),
    ) -> anyhow::Result<String> {
        for status in OutboxStatus::ALL {
            let count = outbox.iter().find(|(s, _)| *s == status).map_or(0, |(_, n)| *n);
            self.outbox.with_label_values(&[status.as_str()]).set(count);
        }
        let (open, idle) = db.pool_state();
        self.pool_connections
            .with_label_values(&["idle"])
            .set(i64::from(idle));
        self.pool_connections
            .with_label_values(&["in_use"])
            .set(i64::from(open.saturating_sub(idle)));
        self.pool_max.set(i64::from(db.max_size()));
        self.statements
            .inc_by(db.statements().saturating_sub(self.statements.get()));
        self.grouped
            .0
            .inc_by(grouped.0.saturating_sub(self.grouped.0.get()));
        self.grouped
            .1
            .inc_by(grouped.1.saturating_sub(self.grouped.1.get()));
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buffer)?;
        Ok(String::from_utf8(buffer)?)
    }
}

/// The methods of RFC 9110 and PATCH keep their name; any other, invented by a client, is
/// `other`, so that it cannot add series.
fn method_label(method: &str) -> &str {
    const STANDARD: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
    ];
    STANDARD.into_iter().find(|m| *m == method).unwrap_or("other")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invented_methods_share_one_label() {
        assert_eq!(method_label("GET"), "GET");
        assert_eq!(method_label("PATCH"), "PATCH");
        assert_eq!(method_label("XABCD"), "other");
        assert_eq!(method_label("get"), "other", "methods are case-sensitive");
    }

    #[test]
    fn a_token_guards_the_metrics_when_set() {
        let token = crate::config::Secret::new("metrics-token-0123456789");
        assert!(Metrics::may_read(None, None));
        assert!(Metrics::may_read(
            Some(&token),
            Some("Bearer metrics-token-0123456789")
        ));
        assert!(!Metrics::may_read(Some(&token), None));
        assert!(!Metrics::may_read(Some(&token), Some("Bearer wrong")));
    }
}
