use chrono::Duration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, TestUser, assert_problem, campaign_body, pledge_body, spawn_app, spawn_app_with, tier_body,
};

/// A live campaign with `goal` USD over 2 days; returns its id.
async fn campaign_with_goal(app: &TestApp, owner: &TestUser, goal: &str) -> i64 {
    let mut body = campaign_body("Settle me");
    body["goal"] = json!(goal);
    body["duration_days"] = json!(2);
    let id = app.create_campaign(owner, &body).await["id"].as_i64().unwrap();
    app.post_json(
        &format!("/api/v1/campaigns/{id}/launch"),
        &json!({}),
        Some(&owner.access_token),
    )
    .await;
    id
}

fn with_method(mut body: Value, method: &str) -> Value {
    body["payment_method"] = json!(method);
    body
}

async fn status_of(app: &TestApp, owner: &TestUser, pledge: &Value) -> String {
    let p: Value = app
        .get(
            &format!("/api/v1/pledges/{}", pledge["id"]),
            Some(&owner.access_token),
        )
        .await
        .json()
        .await
        .unwrap();
    p["status"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn only_cron_may_run_settlement() {
    let app = spawn_app().await;
    let user = app.create_user().await;
    for token in [None, Some("wrong-secret"), Some(user.access_token.as_str())] {
        let response = app
            .request(Method::POST, "/api/v1/settlement/run", token)
            .send()
            .await
            .unwrap();
        assert_problem(response, StatusCode::UNAUTHORIZED).await;
    }
    let summary = app.settle().await;
    assert_eq!(summary["more"], false);
}

#[tokio::test]
async fn a_funded_campaign_charges_everyone_once_and_pays_out() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let admin = app.create_admin().await;
    let id = campaign_with_goal(&app, &owner, "100.00").await;
    let (a, b) = (app.create_user().await, app.create_user().await);
    let pa = app.pledged(&a, id, &pledge_body(None, "60.00")).await;
    let pb = app.pledged(&b, id, &pledge_body(None, "50.00")).await;

    let early = app.settle().await;
    assert_eq!(
        early["campaigns"]["funded"], 0,
        "nothing happens before the deadline"
    );

    app.clock.advance(Duration::days(2));
    let summary = app.settle().await;
    assert_eq!(
        summary["campaigns"],
        json!({"reminded": 0, "funded": 1, "failed": 0, "successful": 1})
    );
    assert_eq!(summary["pledges"]["collected"], 2);

    let owner = app.relogin(&owner).await;
    let admin = app.relogin(&admin).await;
    assert_eq!(status_of(&app, &owner, &pa).await, "collected");
    assert_eq!(status_of(&app, &owner, &pb).await, "collected");
    let campaign = app.campaign(id).await;
    assert_eq!(campaign["status"], "successful");

    // 110.00 collected; processing fees 2.04 + 1.75; platform fee 5 % = 5.50; the rest is owed.
    assert_eq!(app.balance(&format!("escrow:campaign:{id}")), 0);
    assert_eq!(app.balance("processor_fees"), 204 + 175);
    assert_eq!(app.balance("platform_revenue"), 550);
    assert_eq!(
        app.balance(&format!("creator_payable:campaign:{id}")),
        11_000 - 379 - 550
    );
    assert_eq!(app.balance("backers"), -11_000);
    let report = app.audit(&admin).await;
    assert_eq!(report["ok"], true);

    // Running again changes nothing and charges nobody twice.
    let again = app.settle().await;
    assert_eq!(again["pledges"]["collected"], 0);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM sandbox_charges"), 2);
}

#[tokio::test]
async fn a_failed_campaign_charges_nobody() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let id = campaign_with_goal(&app, &owner, "1000.00").await;
    let tier = app
        .create_tier(&owner, id, &tier_body("T", "10.00", Some(5)))
        .await["id"]
        .as_i64()
        .unwrap();
    let backer = app.create_user().await;
    let pledge = app.pledged(&backer, id, &pledge_body(Some(tier), "10.00")).await;
    app.clock.advance(Duration::days(2));
    let summary = app.settle().await;
    assert_eq!(
        summary["campaigns"],
        json!({"reminded": 0, "funded": 0, "failed": 1, "successful": 0})
    );
    assert_eq!(summary["pledges"]["released"], 1);
    let owner = app.relogin(&owner).await;
    assert_eq!(status_of(&app, &owner, &pledge).await, "released");
    let campaign = app.campaign(id).await;
    assert_eq!(campaign["status"], "failed");
    assert_eq!(campaign["tiers"][0]["claimed"], 0);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM sandbox_charges"), 0);
    assert_eq!(
        app.count(&format!(
            "SELECT final_pledged_minor AS n FROM campaigns WHERE id = {id}"
        )),
        1000
    );
}

#[tokio::test]
async fn a_declined_card_is_retried_at_once_after_the_backer_fixes_it() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let id = campaign_with_goal(&app, &owner, "10.00").await;
    let (good, bad) = (app.create_user().await, app.create_user().await);
    app.pledged(&good, id, &pledge_body(None, "20.00")).await;
    let declined = app
        .pledged(
            &bad,
            id,
            &with_method(pledge_body(None, "20.00"), "pm_card_chargeDeclined"),
        )
        .await;

    app.clock.advance(Duration::days(2));
    let summary = app.settle().await;
    assert_eq!(
        (
            summary["pledges"]["collected"].as_i64(),
            summary["pledges"]["errored"].as_i64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(
        summary["campaigns"]["successful"], 0,
        "a pledge is still in flight"
    );
    let bad = app.relogin(&bad).await;
    let errored: Value = app
        .get(
            &format!("/api/v1/pledges/{}", declined["id"]),
            Some(&bad.access_token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(errored["status"], "errored");

    let nothing = app.settle().await;
    assert_eq!(
        nothing["pledges"]["errored"], 0,
        "the retry is not due for 48 hours"
    );

    let fixed = app
        .request(
            Method::PUT,
            &format!("/api/v1/pledges/{}/payment-method", declined["id"]),
            Some(&bad.access_token),
        )
        .json(&json!({"payment_method": "pm_card_visa"}))
        .send()
        .await
        .unwrap();
    assert_eq!(fixed.status(), StatusCode::OK);
    let summary = app.settle().await;
    assert_eq!(summary["pledges"]["collected"], 1, "retried at once");
    assert_eq!(summary["campaigns"]["successful"], 1);
    let keys = app.count(&format!(
        "SELECT COUNT(*) AS n FROM charge_attempts WHERE pledge_id = {} AND idempotency_key IN \
         ('pledge-{0}-attempt-1', 'pledge-{0}-attempt-2')",
        declined["id"]
    ));
    assert_eq!(keys, 2);
}

#[tokio::test]
async fn a_pledge_failing_for_seven_days_is_dropped_and_the_creator_keeps_the_rest() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let admin = app.create_admin().await;
    let id = campaign_with_goal(&app, &owner, "30.00").await;
    let tier = app
        .create_tier(&owner, id, &tier_body("T", "20.00", Some(5)))
        .await["id"]
        .as_i64()
        .unwrap();
    let (good, bad) = (app.create_user().await, app.create_user().await);
    app.pledged(&good, id, &pledge_body(Some(tier), "20.00")).await;
    let broke = app
        .pledged(
            &bad,
            id,
            &with_method(
                pledge_body(Some(tier), "20.00"),
                "pm_card_chargeDeclinedInsufficientFunds",
            ),
        )
        .await;
    app.clock.advance(Duration::days(2));
    app.settle().await;
    for _ in 0..3 {
        app.clock.advance(Duration::hours(48));
        let summary = app.settle().await;
        assert_eq!(summary["pledges"]["errored"], 1, "retried every 48 hours");
    }
    app.clock.advance(Duration::hours(24));
    let summary = app.settle().await;
    assert_eq!(summary["pledges"]["dropped"], 1);
    assert_eq!(
        summary["campaigns"]["successful"], 1,
        "successful even below the goal after drops"
    );
    let owner = app.relogin(&owner).await;
    assert_eq!(status_of(&app, &owner, &broke).await, "dropped");
    assert_eq!(
        app.campaign(id).await["tiers"][0]["claimed"],
        1,
        "the dropped unit went back"
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM charge_attempts WHERE pledge_id = {}",
            broke["id"]
        )),
        4
    );
    let admin = app.relogin(&admin).await;
    assert_eq!(app.audit(&admin).await["ok"], true);
    assert_eq!(app.balance(&format!("escrow:campaign:{id}")), 0);
}

#[tokio::test]
async fn a_crash_between_charging_and_recording_is_repaired_without_a_second_charge() {
    use crowdfund::payments::{ChargeRequest, PaymentProvider};
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let id = campaign_with_goal(&app, &owner, "10.00").await;
    let backer = app.create_user().await;
    let pledge = app.pledged(&backer, id, &pledge_body(None, "25.00")).await;
    app.clock.advance(Duration::days(2));
    // Close the campaign only: a pass whose charging step then dies.
    app.sql(&format!("UPDATE campaigns SET status = 'funded', closed_at = created_at, final_pledged_minor = pledged_minor WHERE id = {id}")).unwrap();
    // The attempt was recorded and the provider charged, but the outcome was never written.
    let pledge_id = pledge["id"].as_i64().unwrap();
    let key = format!("pledge-{pledge_id}-attempt-1");
    app.sql(&format!(
        "INSERT INTO charge_attempts (pledge_id, attempt, idempotency_key, payment_method, amount_minor, currency, status, created_at) \
         VALUES ({pledge_id}, 1, '{key}', 'pm_card_visa', 2500, 'USD', 'pending', '2026-01-01 00:00:00')"
    ))
    .unwrap();
    app.sql(&format!("UPDATE pledges SET attempts = 1 WHERE id = {pledge_id}"))
        .unwrap();
    let db = crowdfund::db::Db::connect(&crowdfund::db::DatabaseUrl::parse(&app.database_url).unwrap(), 1)
        .unwrap();
    let sandbox = crowdfund::payments::sandbox::Sandbox::new(db, crowdfund::clock::Clock::system());
    let amount = crowdfund::domain::Money::from_minor(2500, crowdfund::domain::Currency::USD);
    tokio::task::spawn_blocking(move || {
        sandbox
            .charge(&ChargeRequest {
                idempotency_key: &key,
                payment_method: "pm_card_visa",
                amount,
            })
            .unwrap()
    })
    .await
    .unwrap();

    let summary = app.settle().await;
    assert_eq!(summary["pledges"]["collected"], 1);
    assert_eq!(summary["campaigns"]["successful"], 1);
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM sandbox_charges"),
        1,
        "the key was replayed, not charged again"
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM charge_attempts WHERE pledge_id = {pledge_id}"
        )),
        1
    );
}

#[tokio::test]
async fn a_dry_run_reports_and_changes_nothing() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let funded = campaign_with_goal(&app, &owner, "10.00").await;
    let failed = campaign_with_goal(&app, &owner, "5000.00").await;
    let backer = app.create_user().await;
    app.pledged(&backer, funded, &pledge_body(None, "20.00")).await;
    app.pledged(&backer, failed, &pledge_body(None, "20.00")).await;
    app.clock.advance(Duration::days(2));
    let response = app
        .request(
            Method::POST,
            "/api/v1/settlement/run?dry_run=true",
            Some(crate::helpers::CRON_SECRET),
        )
        .send()
        .await
        .unwrap();
    let summary: Value = response.json().await.unwrap();
    assert_eq!(summary["dry_run"], true);
    assert_eq!(
        (
            summary["campaigns"]["funded"].as_i64(),
            summary["campaigns"]["failed"].as_i64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(summary["pledges"]["released"], 1);
    assert_eq!(app.campaign(funded).await["status"], "live");
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM sandbox_charges"), 0);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM charge_attempts"), 0);
}

#[tokio::test]
async fn concurrent_passes_charge_each_pledge_once() {
    // Several charging threads per pass on either backend (SQLite's default is one).
    let app = spawn_app_with(&[("SETTLEMENT_CONCURRENCY", "4")]).await;
    let owner = app.create_user().await;
    let admin = app.create_admin().await;
    let id = campaign_with_goal(&app, &owner, "10.00").await;
    for _ in 0..40 {
        let backer = app.create_user().await;
        app.pledged(&backer, id, &pledge_body(None, "10.00")).await;
    }
    app.clock.advance(Duration::days(2));
    let passes = (0..8).map(|_| app.settle());
    let summaries = futures::future::join_all(passes).await;
    let collected: i64 = summaries
        .iter()
        .map(|s| s["pledges"]["collected"].as_i64().unwrap())
        .sum();
    let funded: i64 = summaries
        .iter()
        .map(|s| s["campaigns"]["funded"].as_i64().unwrap())
        .sum();
    assert_eq!((collected, funded), (40, 1));
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM sandbox_charges"), 40);
    app.settle().await;
    assert_eq!(app.campaign(id).await["status"], "successful");
    let admin = app.relogin(&admin).await;
    assert_eq!(app.audit(&admin).await["ok"], true);
}

fn crowdfund(app: &TestApp, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_crowdfund"))
        .env_clear()
        .env("DATABASE_URL", &app.database_url)
        .env("RUST_LOG", "error")
        .args(args)
        .output()
        .unwrap()
}

#[tokio::test]
async fn settle_and_audit_run_from_the_command_line_and_audit_catches_a_broken_ledger() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let admin = app.create_admin().await;
    let id = campaign_with_goal(&app, &owner, "10.00").await;
    let backer = app.create_user().await;
    app.pledged(&backer, id, &pledge_body(None, "15.00")).await;
    // The command line uses the system clock: move the deadline into the past instead.
    app.sql(&format!(
        "UPDATE campaigns SET deadline = '2020-01-01 00:00:00' WHERE id = {id}"
    ))
    .unwrap();

    let settled = crowdfund(&app, &["settle"]);
    assert!(
        settled.status.success(),
        "{}",
        String::from_utf8_lossy(&settled.stderr)
    );
    let summary: Value = serde_json::from_slice(&settled.stdout).unwrap();
    assert_eq!(summary["campaigns"]["successful"], 1);
    assert_eq!(summary["pledges"]["collected"], 1);
    let audit = crowdfund(&app, &["audit"]);
    assert!(
        audit.status.success(),
        "{}",
        String::from_utf8_lossy(&audit.stdout)
    );

    // A transaction whose entries do not balance: both the endpoint and the command notice.
    app.sql(&format!(
        "INSERT INTO ledger_transactions (kind, campaign_id, currency, reference, created_at) \
         VALUES ('charge', {id}, 'USD', 'forged', '2026-01-01 00:00:00')"
    ))
    .unwrap();
    app.sql("INSERT INTO ledger_entries (transaction_id, account, amount_minor) SELECT MAX(id), 'backers', -100 FROM ledger_transactions")
        .unwrap();
    let response = app
        .get("/api/v1/admin/ledger/verify", Some(&admin.access_token))
        .await;
    let problem = assert_problem(response, StatusCode::CONFLICT).await;
    assert!(
        crate::helpers::invalid_fields(&problem).contains(&"unbalanced_transactions".to_owned()),
        "{problem}"
    );
    assert!(
        crate::helpers::invalid_fields(&problem).contains(&"collected_mismatches".to_owned()),
        "{problem}"
    );
    let audit = crowdfund(&app, &["audit"]);
    assert_eq!(audit.status.code(), Some(1));
    let stranger = app.create_user().await;
    assert_problem(
        app.get("/api/v1/admin/ledger/verify", Some(&stranger.access_token))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
}

#[tokio::test]
async fn settlement_figures_add_up_and_refunds_come_out_of_the_payout() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let admin = app.create_admin().await;
    let id = campaign_with_goal(&app, &owner, "50.00").await;
    let (a, b, c) = (
        app.create_user().await,
        app.create_user().await,
        app.create_user().await,
    );
    let pa = app.pledged(&a, id, &pledge_body(None, "40.00")).await;
    app.pledged(&b, id, &pledge_body(None, "30.00")).await;
    app.pledged(
        &c,
        id,
        &with_method(pledge_body(None, "20.00"), "pm_card_chargeDeclined"),
    )
    .await;
    let owner_token = owner.access_token.clone();
    assert_problem(
        app.get(&format!("/api/v1/campaigns/{id}/settlement"), Some(&owner_token))
            .await,
        StatusCode::CONFLICT,
    )
    .await;

    app.clock.advance(Duration::days(2));
    app.settle().await;
    for _ in 0..4 {
        app.clock.advance(Duration::hours(48));
        app.settle().await;
    }
    let owner = app.relogin(&owner).await;
    let admin = app.relogin(&admin).await;
    let a = app.relogin(&a).await;
    let view: Value = app
        .get(
            &format!("/api/v1/campaigns/{id}/settlement"),
            Some(&owner.access_token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(view["status"], "successful");
    assert_eq!(
        (
            view["pledged_at_deadline"].as_str(),
            view["backers_at_deadline"].as_i64()
        ),
        (Some("90.00"), Some(3))
    );
    assert_eq!(view["collected"], json!({"pledges": 2, "amount": "70.00"}));
    assert_eq!(view["dropped"], json!({"pledges": 1, "amount": "20.00"}));
    // 70.00 = fees (1.46 + 1.17) + platform fee 3.50 (5 %) + payout 63.87.
    assert_eq!(
        (view["processing_fees"].as_str(), view["platform_fee"].as_str()),
        (Some("2.63"), Some("3.50"))
    );
    assert_eq!(
        (view["payout"].as_str(), view["in_escrow"].as_str()),
        (Some("63.87"), Some("0.00"))
    );

    // Refunds: creator or admin only, once.
    let path = format!("/api/v1/pledges/{}/refund", pa["id"]);
    assert_problem(
        app.post_json(&path, &json!({}), Some(&a.access_token)).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let stranger = app.create_user().await;
    assert_problem(
        app.post_json(&path, &json!({}), Some(&stranger.access_token))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let refunded = app.post_json(&path, &json!({}), Some(&owner.access_token)).await;
    assert_eq!(refunded.status(), StatusCode::OK);
    assert_eq!(refunded.json::<Value>().await.unwrap()["status"], "refunded");
    assert_problem(
        app.post_json(&path, &json!({}), Some(&admin.access_token)).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM sandbox_refunds"), 1);
    assert_eq!(
        app.balance(&format!("creator_payable:campaign:{id}")),
        6_387 - 4_000
    );
    assert_eq!(app.audit(&admin).await["ok"], true);
    let view: Value = app
        .get(
            &format!("/api/v1/campaigns/{id}/settlement"),
            Some(&admin.access_token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(view["refunded"], json!({"pledges": 1, "amount": "40.00"}));
}

#[tokio::test]
async fn eight_passes_across_two_instances_settle_each_pledge_once() {
    let app = spawn_app().await;
    let second = app.another_instance().await;
    let owner = app.create_user().await;
    let admin = app.create_admin().await;
    for goal in ["10.00", "10.00", "100000.00"] {
        let id = campaign_with_goal(&app, &owner, goal).await;
        for method in ["pm_card_visa", "pm_card_visa", "pm_card_chargeDeclined"] {
            let backer = app.create_user().await;
            app.pledged(&backer, id, &with_method(pledge_body(None, "10.00"), method))
                .await;
        }
    }
    app.clock.advance(Duration::days(2));
    let client = reqwest::Client::new();
    let passes = (0..8).map(|i| {
        let base = if i % 2 == 0 {
            app.address.clone()
        } else {
            second.clone()
        };
        let client = client.clone();
        async move {
            let response = client
                .post(format!("{base}/api/v1/settlement/run"))
                .bearer_auth(crate::helpers::CRON_SECRET)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            response.json::<Value>().await.unwrap()
        }
    });
    let summaries = futures::future::join_all(passes).await;
    let total = |path: [&str; 2]| {
        summaries
            .iter()
            .map(|s| s[path[0]][path[1]].as_i64().unwrap())
            .sum::<i64>()
    };
    assert_eq!(total(["campaigns", "funded"]), 2);
    assert_eq!(total(["campaigns", "failed"]), 1);
    assert_eq!(total(["pledges", "collected"]), 4);
    assert_eq!(total(["pledges", "errored"]), 2);
    assert_eq!(total(["pledges", "released"]), 3);
    // Exactly one attempt per pledge charged, as a single serial pass would make.
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM sandbox_charges"), 6);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM charge_attempts"), 6);
    let admin = app.relogin(&admin).await;
    assert_eq!(app.audit(&admin).await["ok"], true);
}

#[tokio::test]
async fn a_bounded_pass_says_more_and_the_next_ones_finish_the_work() {
    let app =
        crate::helpers::spawn_app_with(&[("SETTLEMENT_BATCH_SIZE", "3"), ("SETTLEMENT_TIME_BUDGET_MS", "1")])
            .await;
    let owner = app.create_user().await;
    let id = campaign_with_goal(&app, &owner, "10.00").await;
    for _ in 0..10 {
        let backer = app.create_user().await;
        app.pledged(&backer, id, &pledge_body(None, "10.00")).await;
    }
    app.clock.advance(Duration::days(2));
    let first = app.settle().await;
    assert_eq!(first["more"], true, "{first}");
    let mut collected = first["pledges"]["collected"].as_i64().unwrap();
    let mut passes = 1;
    loop {
        let summary = app.settle().await;
        collected += summary["pledges"]["collected"].as_i64().unwrap();
        passes += 1;
        if summary["more"] == false {
            break;
        }
        assert!(passes < 50, "settlement never finished");
    }
    assert_eq!(collected, 10);
    assert!(
        passes >= 4,
        "3 per batch, 1 ms budget: several passes, got {passes}"
    );
    assert_eq!(app.campaign(id).await["status"], "successful");
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM sandbox_charges"), 10);
}

/// A funded campaign, closed by a pass that died before charging: one 25.00 pledge.
async fn closed_but_uncharged(app: &TestApp) -> (i64, i64) {
    let owner = app.create_user().await;
    let id = campaign_with_goal(app, &owner, "10.00").await;
    let backer = app.create_user().await;
    let pledge = app.pledged(&backer, id, &pledge_body(None, "25.00")).await["id"]
        .as_i64()
        .unwrap();
    app.clock.advance(Duration::days(2));
    app.sql(&format!(
        "UPDATE campaigns SET status = 'funded', closed_at = created_at, final_pledged_minor = pledged_minor, \
         final_backer_count = backer_count WHERE id = {id}"
    ))
    .unwrap();
    (id, pledge)
}

#[tokio::test]
async fn a_pass_that_died_after_claiming_leaves_a_lease_that_expires() {
    let app = spawn_app().await;
    let (id, pledge) = closed_but_uncharged(&app).await;
    let leased_until = (app.clock.now() + Duration::minutes(5)).format("%Y-%m-%d %H:%M:%S%.6f");
    app.sql(&format!(
        "UPDATE pledges SET lease_until = '{leased_until}' WHERE id = {pledge}"
    ))
    .unwrap();
    let blocked = app.settle().await;
    assert_eq!(blocked["pledges"]["collected"], 0, "another run holds the pledge");
    app.clock.advance(Duration::minutes(5) + Duration::seconds(1));
    let summary = app.settle().await;
    assert_eq!(
        (
            summary["pledges"]["collected"].as_i64(),
            summary["campaigns"]["successful"].as_i64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM sandbox_charges"), 1);
    assert_eq!(app.campaign(id).await["status"], "successful");
}

#[tokio::test]
async fn a_pass_that_died_before_calling_the_provider_charges_once_with_the_recorded_key() {
    let app = spawn_app().await;
    let (_, pledge) = closed_but_uncharged(&app).await;
    let key = format!("pledge-{pledge}-attempt-1");
    app.sql(&format!(
        "INSERT INTO charge_attempts (pledge_id, attempt, idempotency_key, payment_method, amount_minor, currency, status, created_at) \
         VALUES ({pledge}, 1, '{key}', 'pm_card_visa', 2500, 'USD', 'pending', '2026-01-01 00:00:00')"
    ))
    .unwrap();
    app.sql(&format!("UPDATE pledges SET attempts = 1 WHERE id = {pledge}"))
        .unwrap();
    let summary = app.settle().await;
    assert_eq!(summary["pledges"]["collected"], 1);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM sandbox_charges WHERE idempotency_key = '{key}'"
        )),
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM charge_attempts"),
        1,
        "no second attempt"
    );
}

#[tokio::test]
async fn a_pass_that_died_before_completing_is_completed_by_the_next() {
    let app = spawn_app().await;
    let admin = app.create_admin().await;
    let (id, pledge) = closed_but_uncharged(&app).await;
    // Charged and recorded, but the pass stops before completion: the campaign is still funded.
    app.settle_with_budget_for_charging_only(pledge).await;
    assert_eq!(app.campaign(id).await["status"], "funded");
    let done = app.settle().await;
    assert_eq!(done["campaigns"]["successful"], 1);
    assert_eq!(app.campaign(id).await["status"], "successful");
    // 25.00 collected: fee 0.725 → 0.72 (half-even) + 0.30; platform fee 1.25; the rest is owed.
    assert_eq!(app.balance(&format!("escrow:campaign:{id}")), 0);
    assert_eq!(
        app.balance(&format!("creator_payable:campaign:{id}")),
        2_500 - 102 - 125
    );
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM sandbox_charges"), 1);
    let admin = app.relogin(&admin).await;
    assert_eq!(app.audit(&admin).await["ok"], true);
}

impl TestApp {
    /// Charges one pledge the way a pass does, then stops: a pass that died before step 4.
    async fn settle_with_budget_for_charging_only(&self, pledge: i64) {
        // Hold completion back with a second, leased pledge in flight...
        let blocker = self.create_user().await;
        let campaign = self.count(&format!(
            "SELECT campaign_id AS n FROM pledges WHERE id = {pledge}"
        ));
        let blocker_id = blocker.id;
        self.sql(&format!(
            "INSERT INTO pledges (campaign_id, backer_id, amount_minor, status, payment_method, created_at, updated_at, lease_until) \
             VALUES ({campaign}, {blocker_id}, 100, 'active', 'pm_card_visa', '2026-01-01 00:00:00', '2026-01-01 00:00:00', '2999-01-01 00:00:00')"
        ))
        .unwrap();
        let summary = self.settle().await;
        assert_eq!(
            (
                summary["pledges"]["collected"].as_i64(),
                summary["campaigns"]["successful"].as_i64()
            ),
            (Some(1), Some(0))
        );
        // ...then take it away, as if it had never been there.
        self.sql(&format!("DELETE FROM pledges WHERE backer_id = {blocker_id}"))
            .unwrap();
    }
}

/// PostgreSQL plans a connection's statements, foreign-key checks included, for the table sizes
/// of the moment and keeps the plans until an `ANALYZE`; a pass that fills an empty ledger must
/// plan again as it grows, or it checks every new entry's transaction by scanning the ledger
/// (see `settlement::charge::replan_due`). Counted by PostgreSQL's statistics, not timed. SQLite
/// plans by its indexes and keeps no such plans: nothing to check there.
#[tokio::test]
async fn a_pass_filling_an_empty_ledger_checks_entries_by_index_not_by_scan() {
    let app = spawn_app().await;
    if !app.database_url.starts_with("postgres") {
        return;
    }
    let owner = app.create_user().await;
    let id = campaign_with_goal(&app, &owner, "10.00").await;
    const PLEDGES: i64 = 3_000;
    app.sql(&format!(
        "INSERT INTO users (email, display_name, password_hash, role, created_at, updated_at) \
         SELECT 'many' || i || '@example.com', 'Backer ' || i, 'x', 'user', now(), now() \
         FROM generate_series(1, {PLEDGES}) i"
    ))
    .unwrap();
    app.sql(&format!(
        "INSERT INTO pledges (campaign_id, backer_id, amount_minor, status, payment_method, \
         created_at, updated_at) SELECT {id}, id, 1000, 'active', 'pm_card_visa', now(), now() \
         FROM users WHERE email LIKE 'many%'"
    ))
    .unwrap();
    app.sql(&format!(
        "UPDATE campaigns SET pledged_minor = {PLEDGES} * 1000, backer_count = {PLEDGES} WHERE id = {id}"
    ))
    .unwrap();
    // A database-wide ANALYZE while the ledger is empty: its statistics now say so.
    app.sql("ANALYZE").unwrap();
    app.clock.advance(Duration::days(2));

    let mut collected = 0;
    for _ in 0..20 {
        let summary = app.settle().await;
        collected += summary["pledges"]["collected"].as_i64().unwrap();
        if summary["more"] == false {
            break;
        }
    }
    assert_eq!(collected, PLEDGES);
    let entries = app.count("SELECT COUNT(*) AS n FROM ledger_entries");
    // Two postings of two entries per charge; the platform's fee and the payout at completion.
    assert_eq!(entries, 4 * PLEDGES + 4);

    // Each entry's check is one scan of `ledger_transactions`; the server's connections report
    // their counts when idle, within seconds.
    let scans = |kind: &str| {
        app.count(&format!(
            "SELECT {kind} AS n FROM pg_stat_user_tables WHERE relname = 'ledger_transactions'"
        ))
    };
    let started = std::time::Instant::now();
    while scans("seq_scan") + scans("idx_scan") < entries && started.elapsed().as_secs() < 30 {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let (seq, idx) = (scans("seq_scan"), scans("idx_scan"));
    assert!(
        seq + idx >= entries,
        "statistics not reported: {seq} + {idx} < {entries}"
    );
    assert!(
        seq < entries / 4,
        "{seq} of {entries} entries checked by scanning the ledger ({idx} by index)"
    );
}

/// A pass leases each batch past the highest pledge id it leased before: with batches of two,
/// over two campaigns whose pledges interleave, one pass still charges every pledge, once.
#[tokio::test]
async fn one_pass_of_small_batches_charges_interleaved_campaigns_whole() {
    let app = spawn_app_with(&[("SETTLEMENT_BATCH_SIZE", "2")]).await;
    let owner = app.create_user().await;
    let first = campaign_with_goal(&app, &owner, "10.00").await;
    let second = campaign_with_goal(&app, &owner, "10.00").await;
    for i in 0..7 {
        let backer = app.create_user().await;
        let campaign = if i % 2 == 0 { first } else { second };
        app.pledged(&backer, campaign, &pledge_body(None, "10.00")).await;
    }
    app.clock.advance(Duration::days(2));
    let summary = app.settle().await;
    assert_eq!(summary["pledges"]["collected"], 7, "{summary}");
    assert_eq!(summary["campaigns"]["successful"], 2, "{summary}");
    assert_eq!(summary["more"], false, "{summary}");
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM sandbox_charges"), 7);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM charge_attempts"), 7);
}
