//! What requests cost the database, counted (not timed): each statement is one round trip.
//! These numbers are part of the performance budget; a change that adds a round trip to the
//! pledge path should be a decision, not an accident.

use serde_json::Value;

use crate::helpers::{TestApp, pledge_body, spawn_app_with};

async fn statements(app: &TestApp) -> i64 {
    let text = app.get("/metrics", None).await.text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("crowdfund_db_statements_total "))
        .and_then(|n| n.trim().parse().ok())
        .expect("statement counter")
}

#[tokio::test]
async fn one_pledge_costs_a_fixed_number_of_statements() {
    // No email worker: its polling would be counted too.
    let app = spawn_app_with(&[("MAIL_WORKER", "off")]).await;
    let owner = app.create_user().await;
    let id = app.live_campaign(&owner, "Lamp").await;
    let tier = app
        .create_tier(&owner, id, &crate::helpers::tier_body("Lamp", "10.00", Some(100)))
        .await["id"]
        .as_i64()
        .unwrap();
    let backer = app.create_user().await;
    let second = app.create_user().await;

    // A scrape costs statements of its own (the outbox counts); measure them to leave them out.
    let idle = statements(&app).await;
    let scrape = statements(&app).await - idle;

    let before = statements(&app).await;
    app.pledged(&backer, id, &pledge_body(Some(tier), "10.00")).await;
    let plain = statements(&app).await - before - scrape;

    let before = statements(&app).await;
    let response = app
        .request(
            reqwest::Method::POST,
            &format!("/api/v1/campaigns/{id}/pledges"),
            Some(&second.access_token),
        )
        .header("Idempotency-Key", "k1")
        .json(&pledge_body(Some(tier), "10.00"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let _: Value = response.json().await.unwrap();
    let keyed = statements(&app).await - before - scrape;

    // BEGIN; campaign; existing pledge; tier; insert; event; confirmation email; claim; totals;
    // COMMIT.
    assert_eq!(scrape, 1, "a scrape reads the outbox counts");
    assert_eq!(plain, 10, "statements for one pledge");
    // + BEGIN; purge; lookup; reserve; COMMIT, and the stored answer in the pledge transaction.
    assert_eq!(keyed, 16, "statements for one pledge with an Idempotency-Key");
}

/// The pledge path looks up the backer's active pledge on the campaign. That lookup must read
/// one entry of `pledges_one_active_idx` however many pledges the campaign holds, also in the
/// plan PostgreSQL makes for a kept prepared statement once it stops looking at the values (a
/// generic plan, after five executions): planned without it, each pledge read every active
/// pledge of the campaign, and a campaign slowed down with every backer it gained.
#[tokio::test]
async fn the_active_pledge_lookup_uses_its_unique_index_whatever_the_values() {
    use crowdfund::db::DbConn;
    use crowdfund::db::pledges::active_of;
    use crowdfund::db::schema::pledges;
    use diesel::prelude::*;

    #[derive(QueryableByName)]
    struct PgPlan {
        #[diesel(column_name = "QUERY PLAN", sql_type = diesel::sql_types::Text)]
        line: String,
    }
    #[derive(QueryableByName)]
    struct SqlitePlan {
        #[diesel(sql_type = diesel::sql_types::Text)]
        detail: String,
    }

    let app = spawn_app_with(&[("MAIL_WORKER", "off")]).await;
    let query = pledges::table
        .filter(active_of(1, 2))
        .select(pledges::id)
        .limit(1);
    let mut conn = app.connection();
    let plan = match &mut *conn {
        DbConn::Pg(conn) => {
            let sql = diesel::debug_query::<diesel::pg::Pg, _>(&query).to_string();
            let sql = sql.split(" -- binds").next().unwrap();
            diesel::sql_query("SET plan_cache_mode = force_generic_plan")
                .execute(conn)
                .unwrap();
            diesel::sql_query(format!("PREPARE lookup AS {sql}"))
                .execute(conn)
                .unwrap();
            let binds = vec!["1"; sql.matches('$').count()].join(", ");
            diesel::sql_query(format!("EXPLAIN EXECUTE lookup({binds})"))
                .load::<PgPlan>(conn)
                .unwrap()
                .into_iter()
                .map(|p| p.line)
                .collect::<Vec<_>>()
        }
        DbConn::Sqlite(conn) => {
            let sql = diesel::debug_query::<diesel::sqlite::Sqlite, _>(&query).to_string();
            let sql = sql.split(" -- binds").next().unwrap();
            diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
                .load::<SqlitePlan>(conn)
                .unwrap()
                .into_iter()
                .map(|p| p.detail)
                .collect()
        }
    };
    let plan = plan.join("\n");
    assert!(plan.contains("pledges_one_active_idx"), "{plan}");
}
