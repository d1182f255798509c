//! Templates (minijinja): for each [`Template`], `templates/{name}.txt` (the subject block and
//! the plain-text part) and `templates/{name}.html` (the HTML part, auto-escaped), both built on
//! a layout. A variable missing from the context is an error, never an empty string.
//!
//! Filters: `money(currency)` formats minor units in the campaign's currency (`1234 | money("EUR")`
//! is `12.34 EUR`); `datetime` formats an RFC 3339 instant for people (`Tue 24 Nov 2026, 18:00 UTC`).
//!
//! Preview any template with `crowdfund mail-preview <name>`, which renders it with
//! [`sample_context`].

use std::str::FromStr;
use std::sync::LazyLock;

use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior, context};
use serde_json::{Value, json};

use super::Template;
use crate::domain::{Currency, Money};

macro_rules! sources {
    ($($name:literal),* $(,)?) => {
        &[$(
            (concat!($name, ".txt"), include_str!(concat!("templates/", $name, ".txt"))),
            (concat!($name, ".html"), include_str!(concat!("templates/", $name, ".html"))),
        )*]
    };
}

const SOURCES: &[(&str, &str)] = sources!(
    "layout",
    "pledge_confirmed",
    "pledge_changed",
    "pledge_canceled",
    "campaign_canceled",
    "campaign_funded",
    "payment_receipt",
    "payment_failed",
    "pledge_dropped",
    "campaign_failed",
    "refund_issued",
    "campaign_update",
    "survey",
    "survey_reminder",
    "reward_shipped",
    "comment_reply",
    "campaign_launched_followed",
    "campaign_ending_followed",
    "comments_digest",
    "campaign_launched",
    "campaign_ending",
    "campaign_successful",
    "creator_campaign_failed",
    "verify_email",
    "password_reset",
    "password_changed",
    "email_changed",
    "account_deleted",
    "webhook_disabled",
);

static ENV: LazyLock<Result<Environment<'static>, Error>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_trim_blocks(true);
    env.set_keep_trailing_newline(true);
    env.add_filter("money", money);
    env.add_filter("datetime", datetime);
    for (name, source) in SOURCES {
        env.add_template(name, source)?;
    }
    Ok(env)
});

fn money(minor: i64, currency: &str) -> Result<String, Error> {
    let currency = Currency::from_str(currency).map_err(|e| Error::new(ErrorKind::InvalidOperation, e))?;
    Ok(Money::from_minor(minor, currency).to_string())
}

fn datetime(at: &str) -> Result<String, Error> {
    let at = chrono::DateTime::parse_from_rfc3339(at).map_err(|e| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("not an RFC 3339 instant: {e}"),
        )
    })?;
    Ok(at
        .with_timezone(&chrono::Utc)
        .format("%a %-d %b %Y, %H:%M UTC")
        .to_string())
}

/// A message ready for the transport.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// What every template may use besides its own context.
pub struct Common<'a> {
    pub recipient_name: &'a str,
    pub base_url: &'a str,
}

/// Renders `template` with a context as stored in the outbox.
pub fn render(template: Template, context: &Value, common: &Common<'_>) -> Result<Rendered, Error> {
    let env = ENV
        .as_ref()
        .map_err(|e| Error::new(ErrorKind::InvalidOperation, format!("templates do not load: {e}")))?;
    let name = template.as_str();
    let base = context! {
        ..minijinja::Value::from_serialize(context),
        // The base URL is configuration, not user input: no escaping inside href="…".
        ..context! {
            recipient_name => common.recipient_name,
            base_url => minijinja::Value::from_safe_string(common.base_url.to_owned()),
        },
    };
    let mut captured = env.get_template(&format!("{name}.txt"))?.render_captured(&base)?;
    // One line, whatever a campaign title contains.
    let subject = captured.with_state_mut(|state| state.render_block("subject"))?;
    let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
    let html = env
        .get_template(&format!("{name}.html"))?
        .render(context! { ..base, ..context! { subject => subject.clone() } })?;
    Ok(Rendered {
        subject,
        text: captured.into_output(),
        html,
    })
}

/// The subject an outbox row's email has (or had), for the account's export; `None` if the row
/// no longer renders.
pub fn subject_of(row: &crate::db::outbox::OutboxRow) -> Option<String> {
    let template = Template::from_str(&row.template).ok()?;
    let context: Value = serde_json::from_str(&row.context).ok()?;
    let common = Common {
        recipient_name: &row.recipient_name,
        base_url: "",
    };
    render(template, &context, &common).ok().map(|r| r.subject)
}

/// A plausible context for each template, for previews and tests.
pub fn sample_context(template: Template) -> Value {
    let mut context = json!({
        "campaign_id": 42,
        "campaign_title": "Tiny <Robots> & Friends",
        "campaign_slug": "tiny-robots-and-friends",
        "currency": "EUR",
        "pledge_id": 7,
        "amount_minor": 4500,
    });
    let extra = match template {
        Template::PledgeConfirmed => {
            json!({ "tier_title": "Early bird", "deadline": "2026-12-24T18:00:00Z" })
        }
        Template::PledgeChanged => json!({
            "tier_title": null, "previous_amount_minor": 2500, "deadline": "2026-12-24T18:00:00Z"
        }),
        Template::PledgeCanceled | Template::RefundIssued => json!({}),
        Template::PledgeDropped => json!({ "late": false }),
        Template::CampaignCanceled => super::queue::Cancellation { suspended: false }.context(),
        Template::CampaignFunded | Template::CampaignFailed | Template::CreatorCampaignFailed => json!({
            "pledged_minor": 1_250_000, "goal_minor": 1_000_000, "backer_count": 311
        }),
        Template::PaymentReceipt => {
            json!({ "charge_id": "ch_sandbox_91", "charged_at": "2026-12-24T18:05:00Z" })
        }
        Template::PaymentFailed => json!({
            "failure_code": "insufficient_funds",
            "retry_at": "2026-12-26T18:05:00Z",
            "drop_at": "2026-12-31T18:05:00Z"
        }),
        Template::CampaignUpdate => json!({
            "update_id": 3, "update_title": "Prototype #2 <works>", "update_body": "It walks.\nIt talks."
        }),
        Template::Survey => json!({ "lock_at": "2027-01-31T18:00:00Z" }),
        Template::SurveyReminder => json!({ "lock_at": "2027-01-31T18:00:00Z", "reminder": 1 }),
        Template::RewardShipped => json!({ "carrier": "La Poste", "tracking_number": "6A12345678901" }),
        Template::CommentReply => json!({
            "comment_id": 12, "parent_id": 9, "update_id": null, "author": "Bo <Backer>",
            "excerpt": "Will it ship <before> the holidays?"
        }),
        Template::CampaignLaunchedFollowed => {
            json!({ "goal_minor": 1_000_000, "deadline": "2026-12-24T18:00:00Z" })
        }
        Template::CampaignEndingFollowed => json!({
            "pledged_minor": 800_000, "goal_minor": 1_000_000, "deadline": "2026-12-24T18:00:00Z"
        }),
        Template::CommentsDigest => json!({
            "count": 3, "day": "2026-12-06",
            "comments": [{ "comment_id": 12, "author": "Bo <Backer>", "excerpt": "Love it & more" }]
        }),
        Template::CampaignLaunched => json!({ "goal_minor": 1_000_000, "deadline": "2026-12-24T18:00:00Z" }),
        Template::CampaignEnding => json!({
            "pledged_minor": 800_000, "goal_minor": 1_000_000, "backer_count": 1,
            "deadline": "2026-12-24T18:00:00Z"
        }),
        Template::CampaignSuccessful => json!({
            "collected_minor": 1_200_000, "collected_pledges": 305, "dropped_pledges": 6,
            "processing_fees_minor": 44_295, "platform_fee_minor": 60_000, "payout_minor": 1_095_705
        }),
        // The account's own emails say nothing of a campaign.
        Template::VerifyEmail => {
            return json!({ "token": "sample-token", "change": false, "expires_at": "2026-12-08T18:00:00Z" });
        }
        Template::PasswordReset => {
            return json!({ "token": "sample-token", "expires_at": "2026-12-06T19:00:00Z" });
        }
        Template::PasswordChanged => return json!({ "changed_at": "2026-12-06T18:00:00Z", "reset": false }),
        Template::EmailChanged => {
            return json!({ "new_email": "ana@new.example", "changed_at": "2026-12-06T18:00:00Z" });
        }
        Template::AccountDeleted => {
            return json!({ "pseudonym": "deleted-user-7", "deleted_at": "2026-12-06T18:00:00Z" });
        }
        Template::WebhookDisabled => {
            return json!({
                "endpoint_id": 4, "url": "https://hooks.example.com/crowdfund",
                "failing_since": "2026-12-01T18:00:00Z", "disabled_at": "2026-12-06T18:00:00Z"
            });
        }
    };
    if let (Value::Object(context), Value::Object(extra)) = (&mut context, extra) {
        context.extend(extra);
    }
    context
}

#[cfg(test)]
mod tests {
    use super::*;

    fn common() -> Common<'static> {
        Common {
            recipient_name: "Ada <Admin>",
            base_url: "https://app.example.com",
        }
    }

    #[test]
    fn every_template_renders_its_sample() {
        for template in Template::ALL {
            let rendered = render(template, &sample_context(template), &common())
                .unwrap_or_else(|e| panic!("{template}: {e:#}"));
            assert!(!rendered.subject.is_empty(), "{template}");
            assert!(!rendered.subject.contains('\n'), "{template}");
            assert!(
                rendered.text.starts_with("Hi Ada <Admin>,"),
                "{template}: {}",
                rendered.text
            );
            assert!(
                rendered.html.contains("Hi Ada &lt;Admin&gt;,"),
                "{template}: {}",
                rendered.html
            );
            if sample_context(template).get("campaign_title").is_some() {
                assert!(
                    rendered.html.contains("Tiny &lt;Robots&gt; &amp; Friends"),
                    "{template}: titles are escaped in HTML"
                );
                assert!(!rendered.html.contains("<Robots>"), "{template}");
            }
        }
    }

    #[test]
    fn amounts_are_formatted_in_the_campaign_currency() {
        let mut context = sample_context(Template::PaymentReceipt);
        context["currency"] = json!("JPY");
        context["amount_minor"] = json!(4500);
        let rendered = render(Template::PaymentReceipt, &context, &common()).unwrap();
        assert_eq!(rendered.subject, "Receipt: 4500 JPY for Tiny <Robots> & Friends");
        let rendered = render(
            Template::PaymentReceipt,
            &sample_context(Template::PaymentReceipt),
            &common(),
        )
        .unwrap();
        assert!(
            rendered.text.contains("We charged 45.00 EUR"),
            "{}",
            rendered.text
        );
        assert!(
            rendered.text.contains("Thu 24 Dec 2026, 18:05 UTC"),
            "{}",
            rendered.text
        );
    }

    #[test]
    fn a_flexible_campaign_funded_below_its_goal_says_so() {
        let mut context = sample_context(Template::CampaignFunded);
        let reached = render(Template::CampaignFunded, &context, &common()).unwrap();
        assert!(reached.text.contains("reached its goal"), "{}", reached.text);
        context["pledged_minor"] = json!(context["goal_minor"].as_i64().unwrap() - 1);
        let missed = render(Template::CampaignFunded, &context, &common()).unwrap();
        assert!(!missed.text.contains("reached its goal"), "{}", missed.text);
        assert!(missed.html.contains("keeps what it raised"), "{}", missed.html);
    }

    #[test]
    fn a_missing_variable_is_an_error() {
        let mut context = sample_context(Template::PaymentFailed);
        context.as_object_mut().unwrap().remove("retry_at");
        assert!(render(Template::PaymentFailed, &context, &common()).is_err());
    }

    #[test]
    fn creator_payout_lines_add_up_in_the_sample() {
        let c = sample_context(Template::CampaignSuccessful);
        let n = |k: &str| c[k].as_i64().unwrap();
        assert_eq!(
            n("collected_minor") - n("processing_fees_minor") - n("platform_fee_minor"),
            n("payout_minor")
        );
    }
}
