//! Reconciliation: the payment provider's charges and refunds against the attempts and the
//! ledger, each difference named with its ids, through the admin route and the command line.

use std::process::Command;

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, assert_problem, campaign_body, pledge_body, spawn_app};

async fn reconcile(app: &TestApp, admin: &TestUser, query: &str) -> reqwest::Response {
    app.get(
        &format!("/api/v1/admin/reconciliation{query}"),
        Some(&admin.access_token),
    )
    .await
}

/// The kinds of difference a 409 lists, each with the key it names.
async fn differences(response: reqwest::Response) -> Vec<(String, String)> {
    let problem = assert_problem(response, StatusCode::CONFLICT).await;
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let message = e["message"].as_str().unwrap();
            let key = message.split_once(' ').map_or(message, |(k, _)| k);
            (e["field"].as_str().unwrap().to_owned(), key.to_owned())
        })
        .collect()
}

#[tokio::test]
async fn the_books_and_the_sandbox_agree_and_each_difference_is_named() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let mut body = campaign_body("Counted twice");
    body["goal"] = json!("50.00");
    body["duration_days"] = json!(2);
    let id = app.live_campaign_from(&owner, &body).await;
    let (a, b, c) = (
        app.create_user().await,
        app.create_user().await,
        app.create_user().await,
    );
    let pa = app.pledged(&a, id, &pledge_body(None, "60.00")).await["id"]
        .as_i64()
        .unwrap();
    let pb = app.pledged(&b, id, &pledge_body(None, "20.00")).await["id"]
        .as_i64()
        .unwrap();
    let mut declining = pledge_body(None, "10.00");
    declining["payment_method"] = json!("pm_card_chargeDeclined");
    let pc = app.pledged(&c, id, &declining).await["id"].as_i64().unwrap();
    app.clock.advance(Duration::days(2));
    app.settle().await;
    app.clock.advance(Duration::days(8));
    app.settle().await;
    let owner = app.relogin(&owner).await;
    let refunded = app
        .post_json(
            &format!("/api/v1/pledges/{pb}/refund"),
            &json!({}),
            Some(&owner.access_token),
        )
        .await;
    assert_eq!(refunded.status(), StatusCode::OK);

    let admin = app.create_admin().await;
    let agreed = reconcile(&app, &admin, "").await;
    assert_eq!(agreed.status(), StatusCode::OK);
    let report: Value = agreed.json().await.unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(report["provider"], "sandbox");
    assert_eq!(
        report["charges_checked"], 3,
        "two charges and a declined one: {report}"
    );
    assert_eq!(report["refunds_checked"], 1);
    let later: Value = reconcile(&app, &admin, "?since=2999-01-01")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(later["charges_checked"], 0);
    for bad in ["?since=yesterday", "?from=2026-01-01"] {
        assert_problem(
            reconcile(&app, &admin, bad).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    assert_problem(reconcile(&app, &owner, "").await, StatusCode::FORBIDDEN).await;

    // What a provider's records would show if the books had missed something.
    let key = |pledge: i64| format!("pledge-{pledge}-attempt-1");
    let now = app.clock.now().naive_utc();
    let cases = [
        (
            format!(
                "UPDATE sandbox_charges SET amount_minor = 6001 WHERE idempotency_key = '{}'",
                key(pa)
            ),
            format!(
                "UPDATE sandbox_charges SET amount_minor = 6000 WHERE idempotency_key = '{}'",
                key(pa)
            ),
            vec![("amount_mismatch", key(pa))],
        ),
        (
            format!(
                "UPDATE sandbox_charges SET refunded_minor = 0 WHERE idempotency_key = '{}'",
                key(pb)
            ),
            format!(
                "UPDATE sandbox_charges SET refunded_minor = 2000 WHERE idempotency_key = '{}'",
                key(pb)
            ),
            vec![("refund_mismatch", key(pb))],
        ),
        (
            format!(
                "UPDATE sandbox_charges SET status = 'succeeded' WHERE idempotency_key = '{}'",
                key(pc)
            ),
            format!(
                "UPDATE sandbox_charges SET status = 'failed' WHERE idempotency_key = '{}'",
                key(pc)
            ),
            vec![("status_mismatch", key(pc))],
        ),
        (
            format!(
                "INSERT INTO sandbox_charges (idempotency_key, payment_method, amount_minor, currency, status, \
                 fee_minor, refunded_minor, created_at) VALUES ('pledge-{pc}-attempt-9', 'pm_card_visa', 1000, \
                 'USD', 'succeeded', 0, 0, '{now}')"
            ),
            format!("DELETE FROM sandbox_charges WHERE idempotency_key = 'pledge-{pc}-attempt-9'"),
            vec![("missing_in_ledger", format!("pledge-{pc}-attempt-9"))],
        ),
    ];
    for (break_it, mend_it, expected) in cases {
        app.sql(&break_it).unwrap();
        let found = differences(reconcile(&app, &admin, "").await).await;
        let expected: Vec<(String, String)> =
            expected.into_iter().map(|(k, key)| (k.to_owned(), key)).collect();
        assert_eq!(found, expected, "{break_it}");
        app.sql(&mend_it).unwrap();
    }
    assert_eq!(reconcile(&app, &admin, "").await.status(), StatusCode::OK);

    // The command line reports the same and fails while they differ.
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_crowdfund"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &app.database_url)
            .env("RUST_LOG", "warn")
            .args(["reconcile", "--since", "2020-01-01"])
            .output()
            .unwrap()
    };
    let output = run();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed["ok"], true);
    app.sql(&format!(
        "UPDATE sandbox_charges SET amount_minor = 1 WHERE idempotency_key = '{}'",
        key(pa)
    ))
    .unwrap();
    let output = run();
    assert_eq!(output.status.code(), Some(1));
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed["differences"][0]["kind"], "amount_mismatch");
    assert_eq!(printed["differences"][0]["pledge_id"], pa);

    // The provider reports no charge where the books have one.
    app.sql(&format!(
        "DELETE FROM sandbox_charges WHERE idempotency_key = '{}'",
        key(pa)
    ))
    .unwrap();
    let found = differences(reconcile(&app, &admin, "").await).await;
    assert_eq!(found, [("missing_at_provider".to_owned(), key(pa))]);
}
