//! A new pledge on PostgreSQL in two round trips (`db::pledge_statement`): the checks of
//! [`super::service::create`] made on what one statement read, then every write in one statement.
//!
//! It takes only a pledge it can answer for. Anything it would refuse, or that a condition or
//! index refuses when it writes, is left to the usual path, which gives the refusal its words
//! (and finds the pledge fine if the campaign changed in between): a refused pledge costs two
//! round trips more, a pledge that goes through costs two in all.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::lifecycle;
use super::service::NewTerms;
use super::terms;
use crate::campaigns::{access, is_open};
use crate::db::DbConn;
use crate::db::campaigns::CampaignRow;
use crate::db::idempotency::Stored;
use crate::db::pledge_statement::{self, Writes};
use crate::db::pledges::{NewPledge, PledgeRow};
use crate::domain::referral::{self, Ref};
use crate::domain::{Actor, CampaignId, CoreError};
use crate::mail::Template;

/// Makes the pledge as [`super::service::create`] would and stores `answer`'s body under the key, in
/// two statements. Returns the answer's body and `Location`, or `None` when the usual path is
/// to run instead (nothing was written). On SQLite always `None`.
#[allow(clippy::too_many_arguments)]
pub fn create<T, F>(
    conn: &mut DbConn,
    campaign_id: CampaignId,
    backer: &Actor,
    new: &NewTerms<'_>,
    payment_method: &str,
    key: Option<&Stored<'_>>,
    answer: F,
    now: DateTime<Utc>,
) -> Result<Option<(String, String)>, CoreError>
where
    T: Serialize,
    F: FnOnce(&CampaignRow, &PledgeRow) -> (T, String),
{
    if !new.addons.is_empty() {
        // Add-ons take claims of their own: the usual path makes them.
        return Ok(None);
    }
    let referral = new.referral.map(referral::parse);
    let code = match &referral {
        Some(Ok(Ref::Code(code))) => Some(code.as_str()),
        _ => None,
    };
    let Some(seen) = pledge_statement::look(
        conn,
        campaign_id,
        backer.id,
        new.tier_id,
        key.map(|k| k.key),
        code,
    )?
    else {
        return Ok(None);
    };
    let campaign = seen.campaign;
    if !access::can_view(&campaign, Some(backer))
        || campaign.owner_id == backer.id
        || !is_open(&campaign, now)
        || seen.backs_it
        || seen.key_taken
        || seen
            .tier
            .as_ref()
            .is_some_and(|t| t.quantity.is_some_and(|q| t.claimed >= q))
    {
        return Ok(None);
    }
    let referral = match referral {
        None => None,
        Some(Ok(Ref::Channel(channel))) => Some(channel.to_owned()),
        Some(Ok(Ref::Code(code))) if seen.tag_known => Some(code),
        Some(_) => return Ok(None),
    };
    let Ok(checked) = terms::judge(campaign.currency, &new.asked(), seen.tier, &[], now) else {
        return Ok(None);
    };

    let pledge = pledge_statement::new_row(
        seen.next_id,
        &NewPledge {
            campaign_id: campaign.id,
            backer_id: backer.id,
            tier_id: checked.tier.as_ref().map(|t| t.id),
            amount_minor: checked.amount_minor,
            shipping_country: checked.shipping_country.as_deref(),
            shipping_fee_minor: checked.shipping_fee_minor,
            payment_method,
            referral: referral.as_deref(),
            created_at: now.naive_utc(),
            updated_at: now.naive_utc(),
            addons: "[]",
            late: false,
            lease_until: None,
        },
    );
    let tier_title = checked.tier.as_ref().map(|t| t.title.as_str());
    let records = lifecycle::created_records(&campaign, &pledge, tier_title, now);
    let (response, location) = answer(&campaign, &pledge);
    let body = serde_json::to_string(&response).map_err(CoreError::unexpected)?;
    let confirmation = Template::PledgeConfirmed;
    let written = pledge_statement::write(
        conn,
        &Writes {
            pledge: &pledge,
            event: &records.event,
            email_template: confirmation.as_str(),
            email_addresses: confirmation.addresses(),
            email: &records.email,
            webhook: &records.webhook,
            answer: key.map(|key| (key, body.as_str())),
            now: now.naive_utc(),
        },
    )?;
    Ok(written.then_some((body, location)))
}
