//! The Stripe provider's own tables: the Customer of each backer, and the webhook events applied.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};

use super::DbConn;
use super::schema::stripe_customers;
use crate::domain::UserId;

pub fn customer_of(conn: &mut DbConn, user_id: UserId) -> QueryResult<Option<String>> {
    stripe_customers::table
        .find(user_id)
        .select(stripe_customers::customer_id)
        .get_result(conn)
        .optional()
}

/// Records `customer_id` as the user's Customer unless one was recorded first (two pledges at
/// once); returns the one that stands.
pub fn save_customer(
    conn: &mut DbConn,
    user_id: UserId,
    customer_id: &str,
    now: NaiveDateTime,
) -> QueryResult<String> {
    let sql = super::for_backend(
        conn,
        "INSERT INTO stripe_customers (user_id, customer_id, created_at) VALUES (?, ?, ?) \
         ON CONFLICT (user_id) DO NOTHING",
    );
    diesel::sql_query(sql)
        .bind::<BigInt, _>(user_id)
        .bind::<Text, _>(customer_id)
        .bind::<Timestamp, _>(now)
        .execute(conn)?;
    stripe_customers::table
        .find(user_id)
        .select(stripe_customers::customer_id)
        .get_result(conn)
}

/// Records a webhook event; false if it was applied before.
pub fn remember_event(
    conn: &mut DbConn,
    id: &str,
    event_type: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let sql = super::for_backend(
        conn,
        "INSERT INTO stripe_events (id, type, received_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING",
    );
    diesel::sql_query(sql)
        .bind::<Text, _>(id)
        .bind::<Text, _>(event_type)
        .bind::<Timestamp, _>(now)
        .execute(conn)
        .map(|n| n > 0)
}
