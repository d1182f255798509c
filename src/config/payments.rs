//! The payment provider's settings.

use super::Secret;

/// Which payment provider charges backers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentProviderKind {
    Sandbox,
    Stripe(StripeSettings),
}

/// `PAYMENT_PROVIDER=stripe`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeSettings {
    /// `STRIPE_SECRET_KEY` (`sk_live_…`, `sk_test_…` or a restricted `rk_…` key).
    pub secret_key: Secret,
    /// `STRIPE_WEBHOOK_SECRET` (`whsec_…`): verifies `Stripe-Signature`.
    pub webhook_secret: Secret,
    /// `STRIPE_API_BASE`, `https://api.stripe.com` unless testing against a stand-in.
    pub api_base: String,
}

pub(super) fn stripe_settings(
    get: &impl Fn(&str) -> Option<String>,
    errors: &mut Vec<String>,
) -> PaymentProviderKind {
    let mut key = |name: &str, prefixes: &[&str]| match get(name) {
        Some(v) if prefixes.iter().any(|p| v.starts_with(p)) => Secret::new(v),
        Some(_) => {
            errors.push(format!(
                "{name}: expected a key starting with {}",
                prefixes.join(" or ")
            ));
            Secret::new("")
        }
        None => {
            errors.push(format!("{name}: required when PAYMENT_PROVIDER=stripe"));
            Secret::new("")
        }
    };
    let secret_key = key("STRIPE_SECRET_KEY", &["sk_", "rk_"]);
    let webhook_secret = key("STRIPE_WEBHOOK_SECRET", &["whsec_"]);
    let api_base = get("STRIPE_API_BASE")
        .unwrap_or_else(|| "https://api.stripe.com".into())
        .trim_end_matches('/')
        .to_owned();
    if url::Url::parse(&api_base).map_or(true, |u| !matches!(u.scheme(), "http" | "https")) {
        errors.push(format!(
            "STRIPE_API_BASE: expected an http(s) URL such as https://api.stripe.com, got {api_base:?}"
        ));
    }
    PaymentProviderKind::Stripe(StripeSettings {
        secret_key,
        webhook_secret,
        api_base,
    })
}
