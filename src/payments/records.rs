//! What a payment provider reports of its own records, for reconciliation
//! (`ledger::reconcile`): every charge it made under one of our keys, and what it refunded.

/// A charge as the provider keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderCharge {
    /// The provider's id: what a succeeded attempt keeps as its `provider_charge_id`.
    pub id: String,
    /// The idempotency key it was made with (`pledge-{id}-attempt-{n}`).
    pub key: String,
    pub amount_minor: i64,
    /// ISO 4217, upper case.
    pub currency: String,
    /// Whether the money was taken (a refund later does not change that).
    pub succeeded: bool,
    /// Refunded of it so far.
    pub refunded_minor: i64,
}

/// The provider's side of the books.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProviderRecords {
    /// Charges made under one of our keys; others (made outside crowdfund) are left out.
    pub charges: Vec<ProviderCharge>,
    /// How many refunds the provider reports of them.
    pub refunds: usize,
}

/// Whether a key is one of our charge attempts' (`pledge-{id}-attempt-{n}`).
pub fn is_ours(key: &str) -> bool {
    key.strip_prefix("pledge-")
        .and_then(|rest| rest.split_once("-attempt-"))
        .is_some_and(|(pledge, attempt)| {
            [pledge, attempt]
                .iter()
                .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
}

#[cfg(test)]
mod tests {
    use super::is_ours;

    #[test]
    fn only_attempt_keys_are_ours() {
        assert!(is_ours("pledge-17-attempt-2"));
        for other in [
            "refund-pledge-17",
            "pledge-17",
            "pledge--attempt-1",
            "pledge-x-attempt-1",
            "customer-user-3",
        ] {
            assert!(!is_ours(other), "{other}");
        }
    }
}
