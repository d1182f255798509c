//! The fan-outs: one statement that queues an email to each of a campaign's people, however
//! many they are.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};

use crate::db::DbConn;
use crate::domain::pledge::sql_list;
use crate::domain::{CampaignId, PledgeStatus};

/// Queues one email per pledge of a campaign in one of `statuses`, in one statement, whatever
/// their number, to backers whose address is verified. Each row's subject is `subject_prefix` followed by the pledge id, and its
/// context is `context` with the pledge's `pledge_id` and `amount_minor` added. Returns how many
/// were queued.
pub fn queue_for_backers(
    conn: &mut DbConn,
    template: &str,
    campaign_id: CampaignId,
    statuses: &[PledgeStatus],
    subject_prefix: &str,
    context: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let merged = match conn {
        DbConn::Pg(_) => {
            "CAST(CAST(? AS jsonb) || jsonb_build_object('pledge_id', p.id, 'amount_minor', p.amount_minor) \
             AS TEXT)"
        }
        DbConn::Sqlite(_) => "json_patch(?, json_object('pledge_id', p.id, 'amount_minor', p.amount_minor))",
    };
    let sql = crate::db::for_backend(
        conn,
        &format!(
            "INSERT INTO email_outbox \
             (template, recipient, recipient_name, subject_id, context, next_attempt_at, created_at, user_id) \
             SELECT ?, u.email, u.display_name, ? || CAST(p.id AS TEXT), {merged}, ?, ?, u.id \
             FROM pledges p JOIN users u ON u.id = p.backer_id \
             WHERE p.campaign_id = ? AND p.status IN ({}) \
             AND u.email_verified_at IS NOT NULL AND u.deleted_at IS NULL \
             ON CONFLICT (template, recipient, subject_id) DO NOTHING",
            sql_list(statuses.iter().copied())
        ),
    );
    diesel::sql_query(sql)
        .bind::<Text, _>(template)
        .bind::<Text, _>(subject_prefix)
        .bind::<Text, _>(context)
        .bind::<Timestamp, _>(now)
        .bind::<Timestamp, _>(now)
        .bind::<BigInt, _>(campaign_id)
        .execute(conn)
}

/// Queues one email to each follower of a campaign whose address is verified, in one
/// statement, under `subject_id`; with `unbacked_only`, not to those who back it (a pledge
/// active, collected or errored). Returns how many were queued.
pub fn queue_for_followers(
    conn: &mut DbConn,
    template: &str,
    campaign_id: CampaignId,
    subject_id: &str,
    context: &str,
    unbacked_only: bool,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let unbacked = if unbacked_only {
        format!(
            " AND NOT EXISTS (SELECT 1 FROM pledges p WHERE p.campaign_id = f.campaign_id \
             AND p.backer_id = f.user_id AND p.status IN ({}))",
            sql_list(PledgeStatus::backing())
        )
    } else {
        String::new()
    };
    let sql = crate::db::for_backend(
        conn,
        &format!(
            "INSERT INTO email_outbox \
             (template, recipient, recipient_name, subject_id, context, next_attempt_at, created_at, user_id) \
             SELECT ?, u.email, u.display_name, ?, ?, ?, ?, u.id \
             FROM follows f JOIN users u ON u.id = f.user_id \
             WHERE f.campaign_id = ? AND u.email_verified_at IS NOT NULL AND u.deleted_at IS NULL{unbacked} \
             ON CONFLICT (template, recipient, subject_id) DO NOTHING"
        ),
    );
    diesel::sql_query(sql)
        .bind::<Text, _>(template)
        .bind::<Text, _>(subject_id)
        .bind::<Text, _>(context)
        .bind::<Timestamp, _>(now)
        .bind::<Timestamp, _>(now)
        .bind::<BigInt, _>(campaign_id)
        .execute(conn)
}
