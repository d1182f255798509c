//! Pledges that arrive together share a commit on SQLite (`crowdfund::db::group_commit`), and
//! each keeps its own outcome on both backends: a refused pledge fails nobody else's.

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestApp, pledge_body, spawn_app, tier_body};

/// (transactions that carried several pledges, pledges they carried), from the metrics.
async fn grouped(app: &TestApp) -> (i64, i64) {
    let text = app.get("/metrics", None).await.text().await.unwrap();
    let read = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} in the metrics"))
    };
    (
        read("crowdfund_db_grouped_transactions_total "),
        read("crowdfund_db_grouped_writes_total "),
    )
}

#[tokio::test]
async fn pledges_that_arrive_together_share_commits_and_keep_their_own_outcomes() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let id = app.live_campaign(&owner, "Hot item").await;
    let tier = app
        .create_tier(&owner, id, &tier_body("Limited", "10.00", Some(10)))
        .await["id"]
        .as_i64()
        .unwrap();
    let mut backers = Vec::new();
    for _ in 0..48 {
        backers.push(app.create_user().await);
    }
    let before = grouped(&app).await;

    // 32 for the 10 units, 8 below the tier's minimum, 8 without a reward, mixed, all at once.
    let bodies: Vec<Value> = (0..48)
        .map(|i| match i % 6 {
            2 => pledge_body(Some(tier), "9.99"),
            5 => pledge_body(None, "5.00"),
            _ => pledge_body(Some(tier), "10.00"),
        })
        .collect();
    let requests = backers
        .iter()
        .zip(&bodies)
        .map(|(backer, body)| app.pledge(backer, id, body));
    let statuses: Vec<StatusCode> = join_all(requests).await.iter().map(|r| r.status()).collect();

    let of = |wanted: &str, status: StatusCode| {
        bodies
            .iter()
            .zip(&statuses)
            .filter(|(b, s)| b["amount"] == wanted && **s == status)
            .count()
    };
    let for_the_tier = bodies.iter().filter(|b| b["amount"] == "10.00").count();
    let below = bodies.iter().filter(|b| b["amount"] == "9.99").count();
    let without = bodies.iter().filter(|b| b["amount"] == "5.00").count();
    assert_eq!(of("10.00", StatusCode::CREATED), 10, "{statuses:?}");
    assert_eq!(
        of("10.00", StatusCode::CONFLICT),
        for_the_tier - 10,
        "{statuses:?}"
    );
    assert_eq!(
        of("9.99", StatusCode::UNPROCESSABLE_ENTITY),
        below,
        "{statuses:?}"
    );
    assert_eq!(of("5.00", StatusCode::CREATED), without, "{statuses:?}");

    let campaign = app.campaign(id).await;
    assert_eq!(campaign["tiers"][0]["claimed"], 10);
    assert_eq!(campaign["backer_count"], 10 + without);
    assert_eq!(campaign["pledged"], format!("{}.00", 10 * 10 + 5 * without));
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM pledges WHERE campaign_id = {id}"
        )),
        (10 + without) as i64
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM pledge_events e JOIN pledges p ON p.id = e.pledge_id WHERE p.campaign_id = {id}"
        )),
        (10 + without) as i64
    );

    let after = grouped(&app).await;
    if matches!(&*app.connection(), crowdfund::db::DbConn::Sqlite(_)) {
        // Some of them shared a commit.
        assert!(after.0 > before.0, "no transaction carried several pledges");
        assert!(after.1 - before.1 >= 2 * (after.0 - before.0));
    } else {
        // PostgreSQL runs each pledge alone, side by side on its own connection.
        assert_eq!(after, before);
    }
}
