//! A new pledge on PostgreSQL in two statements, two round trips, where the usual path
//! (`pledges::service::create` in a transaction) takes eleven, fifteen with an
//! `Idempotency-Key`: [`look`] reads everything the pledge's checks need, and [`write`] writes
//! everything the pledge changes, as one statement that is its own transaction.
//!
//! [`write`]'s statement claims the tier's unit, then moves the campaign's totals, each under the
//! condition the usual path's update checks (never oversold; live and before the deadline), in
//! the order every pledge locks those rows (tier, campaign: the totals' condition reads the
//! claim's result, so the claim runs first). The pledge is inserted only from the totals'
//! result, and its event, confirmation email, webhook event and stored answer only from the
//! pledge. When a condition refuses, the statement ends by calling `pledge_refused()` (migration
//! 000019), whose error rolls back whatever it had written: it writes all of the pledge or none.
//! A second active pledge or an `Idempotency-Key` already taken fail their unique indexes and
//! write nothing either. The caller then takes the usual path, which says why.

use chrono::NaiveDateTime;
use diesel::dsl::{exists, sql};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error};
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamp};

use super::DbConn;
use super::campaigns::{CampaignRow, moved_totals_sql};
use super::idempotency::Stored;
use super::outbox::{Addresses, ToUser};
use super::pledges::{NewPledge, NewPledgeEvent, PledgeRow, active_of};
use super::prepared::PreparedDsl;
use super::schema::{campaigns, idempotency_keys, pledges, referral_tags, reward_tiers};
use super::tiers::TierRow;
use super::webhooks::NewEvent;
use crate::domain::{CampaignId, CampaignStatus, FulfilmentStatus, PledgeId, PledgeStatus, TierId, UserId};

/// What a new pledge's checks read, in one statement.
pub struct Snapshot {
    pub campaign: CampaignRow,
    /// The campaign's tier the pledge names, if it names one of the campaign's.
    pub tier: Option<TierRow>,
    /// Whether the backer already has an active pledge on the campaign.
    pub backs_it: bool,
    /// Whether the backer's `Idempotency-Key` is already stored (answered or running).
    pub key_taken: bool,
    /// Whether the referral code the pledge names is one of the campaign's.
    pub tag_known: bool,
    /// The new pledge's id, taken from the table's sequence so that everything written with the
    /// pledge (its answer above all) can name it before it is written.
    pub next_id: PledgeId,
}

/// Reads the campaign, the tier, the backer's active pledge, the key and the referral tag, and
/// takes the pledge's id. `None` when the campaign does not exist, or on SQLite, whose
/// statements are calls, not round trips.
pub fn look(
    conn: &mut DbConn,
    campaign_id: CampaignId,
    backer_id: UserId,
    tier_id: Option<TierId>,
    key: Option<&str>,
    tag: Option<&str>,
) -> QueryResult<Option<Snapshot>> {
    let DbConn::Pg(pg) = conn else {
        return Ok(None);
    };
    let tier_of_campaign = reward_tiers::campaign_id
        .eq(campaigns::id)
        .and(reward_tiers::id.nullable().eq(tier_id));
    let backs_it = exists(pledges::table.filter(active_of(campaign_id, backer_id)));
    let key_taken = exists(
        idempotency_keys::table
            .filter(idempotency_keys::user_id.eq(backer_id))
            .filter(idempotency_keys::idempotency_key.nullable().eq(key)),
    );
    let tag_known = exists(
        referral_tags::table
            .filter(referral_tags::campaign_id.eq(campaign_id))
            .filter(referral_tags::code.nullable().eq(tag)),
    );
    let next_id = sql::<BigInt>("nextval(pg_get_serial_sequence('pledges', 'id'))");
    let found: Option<(CampaignRow, Option<TierRow>, bool, bool, bool, i64)> = campaigns::table
        .find(campaign_id)
        .left_join(reward_tiers::table.on(tier_of_campaign))
        .select((
            CampaignRow::as_select(),
            Option::<TierRow>::as_select(),
            backs_it,
            key_taken,
            tag_known,
            next_id,
        ))
        .prepared()
        .get_result(pg)
        .optional()?;
    Ok(found.map(
        |(campaign, tier, backs_it, key_taken, tag_known, next_id)| Snapshot {
            campaign,
            tier,
            backs_it,
            key_taken,
            tag_known,
            next_id: PledgeId(next_id),
        },
    ))
}

/// The row [`super::pledges::insert`] would store for `new` under `id`, the table's defaults
/// written out (active, no attempt, unfulfilled): [`write`] inserts every column from it, and
/// the pledge is answered from it before it is written.
pub fn new_row(id: PledgeId, new: &NewPledge<'_>) -> PledgeRow {
    PledgeRow {
        id,
        campaign_id: new.campaign_id,
        backer_id: new.backer_id,
        tier_id: new.tier_id,
        amount_minor: new.amount_minor,
        shipping_country: new.shipping_country.map(str::to_owned),
        shipping_fee_minor: new.shipping_fee_minor,
        status: PledgeStatus::Active,
        payment_method: new.payment_method.to_owned(),
        created_at: new.created_at,
        updated_at: new.updated_at,
        canceled_at: None,
        released_at: None,
        collected_at: None,
        errored_at: None,
        dropped_at: None,
        refunded_at: None,
        attempts: 0,
        next_attempt_at: None,
        lease_until: None,
        failure_code: None,
        fulfilment_status: FulfilmentStatus::Unfulfilled,
        carrier: None,
        tracking_number: None,
        shipped_at: None,
        delivered_at: None,
        referral: new.referral.map(str::to_owned),
        addons: new.addons.to_owned(),
        // A pledge on a live campaign: late ones take `pledges::late`'s path.
        late: false,
    }
}

/// Everything a new pledge writes, built before it is written.
pub struct Writes<'a> {
    /// The pledge as it will be stored: every column [`write`] inserts comes from it.
    pub pledge: &'a PledgeRow,
    pub event: &'a NewPledgeEvent<'a>,
    pub email_template: &'a str,
    pub email_addresses: Addresses,
    pub email: &'a ToUser,
    pub webhook: &'a NewEvent,
    /// The request's key and the answer to store under it.
    pub answer: Option<(&'a Stored<'a>, &'a str)>,
    pub now: NaiveDateTime,
}

#[derive(QueryableByName)]
struct Written {
    #[diesel(sql_type = BigInt)]
    #[allow(dead_code)]
    id: i64,
}

/// Writes the pledge and everything with it, all or nothing. `Ok(false)` when a condition or a
/// unique index refused it: nothing was written, and the usual path will say why.
pub fn write(conn: &mut DbConn, writes: &Writes<'_>) -> QueryResult<bool> {
    let sql = super::for_backend(conn, &statement(writes.email_addresses, writes.answer.is_some()));
    let DbConn::Pg(pg) = conn else {
        return Ok(false);
    };
    let (p, e, email, hook) = (writes.pledge, writes.event, writes.email, writes.webhook);
    let now = writes.now;
    let query = diesel::sql_query(sql)
        .into_boxed::<Pg>()
        // claim
        .bind::<Timestamp, _>(now)
        .bind::<Nullable<BigInt>, _>(p.tier_id)
        // totals
        .bind::<BigInt, _>(p.amount_minor)
        .bind::<Integer, _>(1)
        .bind::<BigInt, _>(p.amount_minor)
        .bind::<BigInt, _>(p.amount_minor)
        .bind::<Integer, _>(1)
        .bind::<Integer, _>(1)
        .bind::<Timestamp, _>(now)
        .bind::<BigInt, _>(p.campaign_id)
        .bind::<Text, _>(CampaignStatus::Live)
        .bind::<Timestamp, _>(now)
        .bind::<Nullable<BigInt>, _>(p.tier_id)
        // pledge
        .bind::<BigInt, _>(p.id)
        .bind::<BigInt, _>(p.campaign_id)
        .bind::<BigInt, _>(p.backer_id)
        .bind::<Nullable<BigInt>, _>(p.tier_id)
        .bind::<BigInt, _>(p.amount_minor)
        .bind::<Nullable<Text>, _>(p.shipping_country.as_deref())
        .bind::<BigInt, _>(p.shipping_fee_minor)
        .bind::<Text, _>(p.status)
        .bind::<Text, _>(&p.payment_method)
        .bind::<Timestamp, _>(p.created_at)
        .bind::<Timestamp, _>(p.updated_at)
        .bind::<Integer, _>(p.attempts)
        .bind::<Text, _>(p.fulfilment_status)
        .bind::<Nullable<Text>, _>(p.referral.as_deref())
        // event
        .bind::<Nullable<BigInt>, _>(e.actor_id)
        .bind::<Nullable<Text>, _>(e.from_status)
        .bind::<Text, _>(e.to_status)
        .bind::<Text, _>(e.reason)
        .bind::<BigInt, _>(e.amount_minor)
        .bind::<Nullable<BigInt>, _>(e.tier_id)
        .bind::<Timestamp, _>(e.created_at)
        // email
        .bind::<Text, _>(writes.email_template)
        .bind::<Text, _>(&email.subject_id)
        .bind::<Text, _>(&email.context)
        .bind::<Timestamp, _>(now)
        .bind::<Timestamp, _>(now)
        .bind::<BigInt, _>(email.user_id)
        // webhook event
        .bind::<Text, _>(hook.event_type)
        .bind::<Nullable<BigInt>, _>(hook.campaign_id)
        .bind::<Nullable<BigInt>, _>(hook.creator_id)
        .bind::<Nullable<BigInt>, _>(hook.endpoint_id)
        .bind::<Text, _>(&hook.payload)
        .bind::<Timestamp, _>(hook.created_at)
        .bind::<Nullable<Timestamp>, _>(hook.fanned_out_at);
    let query = match writes.answer {
        Some((key, body)) => query
            .bind::<BigInt, _>(key.user_id)
            .bind::<Text, _>(key.key)
            .bind::<Text, _>(key.request_hash)
            .bind::<Integer, _>(key.status)
            .bind::<Text, _>(body)
            .bind::<Timestamp, _>(now)
            .bind::<BigInt, _>(key.user_id)
            .bind::<Timestamp, _>(key.purge_before),
        None => query,
    };
    match query.prepared().get_result::<Written>(pg) {
        Ok(_) => Ok(true),
        Err(Error::DatabaseError(kind, info)) if refused(&kind, info.message()) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The errors that mean "not this way": a condition's `pledge_refused()`, a unique index (a
/// second active pledge, a key taken meanwhile), a check or a reference (a tier deleted meanwhile).
fn refused(kind: &DatabaseErrorKind, message: &str) -> bool {
    match kind {
        DatabaseErrorKind::UniqueViolation
        | DatabaseErrorKind::CheckViolation
        | DatabaseErrorKind::ForeignKeyViolation => true,
        _ => message.starts_with("pledge refused"),
    }
}

/// The statement's SQL: two shapes per kind of email address (with and without a stored answer),
/// each kept prepared.
fn statement(addresses: Addresses, with_answer: bool) -> String {
    let answer = if with_answer {
        ", answer AS (INSERT INTO idempotency_keys (user_id, idempotency_key, request_hash, \
         response_status, response_body, created_at) SELECT ?, ?, ?, ?, ?, ? FROM pledge), \
         purged AS (DELETE FROM idempotency_keys WHERE user_id = ? AND created_at < ?)"
    } else {
        ""
    };
    format!(
        "WITH claim AS (UPDATE reward_tiers SET claimed = claimed + 1, updated_at = ? \
         WHERE id = ? AND (quantity IS NULL OR claimed < quantity) RETURNING id), \
         totals AS (UPDATE campaigns SET {totals}, updated_at = ? \
         WHERE id = ? AND status = ? AND deadline > ? \
         AND (CAST(? AS BIGINT) IS NULL OR EXISTS (SELECT 1 FROM claim)) RETURNING id), \
         pledge AS (INSERT INTO pledges (id, campaign_id, backer_id, tier_id, amount_minor, \
         shipping_country, shipping_fee_minor, status, payment_method, created_at, updated_at, \
         attempts, fulfilment_status, referral) OVERRIDING SYSTEM VALUE \
         SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM totals RETURNING id), \
         event AS (INSERT INTO pledge_events (pledge_id, actor_id, from_status, to_status, reason, \
         amount_minor, tier_id, created_at) SELECT id, ?, ?, ?, ?, ?, ?, ? FROM pledge), \
         email AS (INSERT INTO email_outbox (template, recipient, recipient_name, subject_id, \
         context, next_attempt_at, created_at, user_id) \
         SELECT ?, u.email, u.display_name, ?, ?, ?, ?, u.id FROM pledge, users u \
         WHERE u.id = ? AND u.deleted_at IS NULL{condition} \
         ON CONFLICT (template, recipient, subject_id) DO NOTHING), \
         hook AS (INSERT INTO webhook_events (event_type, campaign_id, creator_id, endpoint_id, \
         payload, created_at, fanned_out_at) SELECT ?, ?, ?, ?, ?, ?, ? FROM pledge){answer} \
         SELECT COALESCE((SELECT id FROM pledge), pledge_refused()) AS id",
        totals = moved_totals_sql(),
        condition = addresses.condition(),
    )
}
