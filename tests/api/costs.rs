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
    // No email or webhook worker: their polling would be counted too.
    let app = spawn_app_with(&[("MAIL_WORKER", "off"), ("WEBHOOK_WORKER", "off")]).await;
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

    assert_eq!(scrape, 1, "a scrape reads the outbox counts");
    let sqlite = matches!(&*app.connection(), crowdfund::db::DbConn::Sqlite(_));
    if sqlite {
        // BEGIN; campaign; existing pledge; tier; insert; event; confirmation email; webhook
        // event; claim; totals; COMMIT.
        assert_eq!(plain, 11, "statements for one pledge");
        // + purge; lookup; reserve, and the stored answer, all in the pledge's transaction.
        assert_eq!(keyed, 15, "statements for one pledge with an Idempotency-Key");
    } else {
        // What the checks read (campaign, tier, existing pledge, key, the new id); then every
        // write, the key and its answer included, in one statement that is its own transaction.
        assert_eq!(plain, 2, "statements for one pledge");
        assert_eq!(keyed, 2, "statements for one pledge with an Idempotency-Key");
    }
}

#[tokio::test]
async fn the_active_pledge_lookup_uses_its_unique_index_whatever_the_values() {
    use crowdfund::db::DbConn;
    use crowdfund::db::pledges::active_of;
    use crowdfund::db::schema::pledges;
    use crowdfund::domain::{CampaignId, UserId};
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
        .filter(active_of(CampaignId(1), UserId(2)))
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

/// Every pledge updates its campaign's totals. The listings sort by ranked copies of them,
/// refreshed only when a total has moved by 1 % or more, so that most such updates change no
/// indexed column: on PostgreSQL the update is then HOT (the row is rewritten in place, no
/// index gains an entry), which keeps a campaign taking hundreds of pledges a second from
/// filling its indexes with dead entries. Checked on the statement the pledge path runs.
#[tokio::test]
async fn a_pledge_updates_its_campaign_in_place_unless_the_ranking_moves() {
    use chrono::Duration;
    use crowdfund::db::DbConn;
    use crowdfund::db::campaigns::adjust_totals;
    use crowdfund::db::schema::campaigns;
    use crowdfund::domain::CampaignId;
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;

    #[derive(QueryableByName)]
    struct Updates {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n_tup_upd: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n_tup_hot_upd: i64,
    }

    let app = spawn_app_with(&[("MAIL_WORKER", "off")]).await;
    let owner = app.create_user().await;
    let id = app.live_campaign(&owner, "Lamp").await;
    let other = app.live_campaign(&owner, "Desk").await;
    let now = chrono::Utc::now().naive_utc();
    let mut conn = app.connection();
    let totals = |conn: &mut DbConn| {
        campaigns::table
            .find(id)
            .select((
                campaigns::pledged_minor,
                campaigns::ranked_pledged_minor,
                campaigns::backer_count,
                campaigns::ranked_backer_count,
            ))
            .get_result::<(i64, i64, i32, i32)>(conn)
            .unwrap()
    };
    // One pledge of 10.00 at a time, as the pledge path moves the totals.
    let pledge = |conn: &mut DbConn| {
        assert!(adjust_totals(conn, CampaignId(id), 1000, 1, now, now - Duration::days(1)).unwrap())
    };

    if matches!(&*conn, DbConn::Pg(_)) {
        // A campaign with 1 000 backers and its ranking exact; count what one more pledge's
        // update does to the table (`pg_stat_xact_user_tables`, read before and after it in its
        // transaction). Checked first, while the table's page has room: a new row version
        // stays on its page only if it fits, and dead versions are pruned only once no open
        // transaction may still see them, which the concurrent tests can delay.
        let update = |conn: &mut DbConn, amount: i64| {
            conn.batch_execute(&format!(
                "UPDATE campaigns SET pledged_minor = 1000000, backer_count = 1000, \
                 ranked_pledged_minor = 1000000, ranked_backer_count = 1000 WHERE id = {other}"
            ))
            .unwrap();
            let count = |conn: &mut DbConn| {
                diesel::sql_query(
                    "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables \
                     WHERE relname = 'campaigns'",
                )
                .get_result::<Updates>(conn)
                .map(|u| (u.n_tup_upd, u.n_tup_hot_upd))
            };
            conn.transaction(|conn| {
                let before = count(conn)?;
                assert!(adjust_totals(
                    conn,
                    CampaignId(other),
                    amount,
                    1,
                    now,
                    now - Duration::days(1)
                )?);
                let after = count(conn)?;
                Ok::<_, diesel::result::Error>((after.0 - before.0, after.1 - before.1))
            })
            .unwrap()
        };
        assert_eq!(
            update(&mut conn, 1000),
            (1, 1),
            "a pledge within 1 %: updated in place"
        );
        assert_eq!(
            update(&mut conn, 100_000),
            (1, 0),
            "a pledge of 10 %: the ranking moves"
        );
    }

    // While a total is at most 100 times the change, the ranking follows every pledge.
    for _ in 0..101 {
        pledge(&mut conn);
    }
    assert_eq!(totals(&mut conn), (101_000, 101_000, 101, 101));
    // Past that it moves in steps of 1 %: the 102nd backer (0.99 % more) leaves it where it
    // was, the 103rd (1.98 % more than the ranked 101) moves it.
    pledge(&mut conn);
    assert_eq!(totals(&mut conn), (102_000, 101_000, 102, 101));
    pledge(&mut conn);
    assert_eq!(totals(&mut conn), (103_000, 103_000, 103, 103));
    for _ in 0..1000 {
        pledge(&mut conn);
        let (pledged, ranked_pledged, backers, ranked_backers) = totals(&mut conn);
        assert!(ranked_pledged <= pledged && (pledged - ranked_pledged) * 100 < ranked_pledged);
        assert!(ranked_backers <= backers && (backers - ranked_backers) * 100 < ranked_backers);
    }
}
