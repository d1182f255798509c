//! Flexible funding: charged at the deadline whatever the total, at a higher platform fee when
//! the goal was missed, and free of the last-24-hours rule.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, TestUser, assert_problem, campaign_body, invalid_fields, pledge_body, spawn_app,
};

/// A live flexible campaign with `goal` USD over 2 days; returns its id.
async fn flexible(app: &TestApp, owner: &TestUser, goal: &str) -> i64 {
    let mut body = campaign_body("Keep what you raise");
    body["goal"] = json!(goal);
    body["duration_days"] = json!(2);
    body["funding_model"] = json!("flexible");
    app.live_campaign_from(owner, &body).await
}

async fn settlement_of(app: &TestApp, owner: &TestUser, id: i64) -> Value {
    let response = app
        .get(
            &format!("/api/v1/campaigns/{id}/settlement"),
            Some(&owner.access_token),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_flexible_campaign_below_its_goal_is_charged_at_the_missed_goal_fee() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let missed = flexible(&app, &owner, "1000.00").await;
    let reached = flexible(&app, &owner, "50.00").await;
    let (a, b) = (app.create_user().await, app.create_user().await);
    app.pledged(&a, missed, &pledge_body(None, "60.00")).await;
    app.pledged(&b, missed, &pledge_body(None, "40.00")).await;
    app.pledged(&a, reached, &pledge_body(None, "100.00")).await;

    let listed: Value = app
        .get("/api/v1/campaigns?sort=newest", None)
        .await
        .json()
        .await
        .unwrap();
    let models: Vec<&Value> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["funding_model"])
        .collect();
    assert_eq!(models, [&json!("flexible"), &json!("flexible")]);
    assert_eq!(app.campaign(missed).await["funding_model"], "flexible");

    app.clock.advance(Duration::days(2));
    let summary = app.settle().await;
    assert_eq!(
        summary["campaigns"],
        json!({"reminded": 0, "funded": 2, "failed": 0, "successful": 2})
    );
    assert_eq!(summary["pledges"]["collected"], 3);
    assert_eq!(app.campaign(missed).await["status"], "successful");
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM sandbox_charges"),
        3,
        "every backer is charged though the goal was missed"
    );

    let owner = app.relogin(&owner).await;
    // 9 % of 100.00 where the goal was missed, 5 % of 100.00 where it was reached.
    let figures = settlement_of(&app, &owner, missed).await;
    assert_eq!(figures["collected"]["amount"], "100.00");
    assert_eq!(figures["platform_fee"], "9.00");
    assert_eq!(settlement_of(&app, &owner, reached).await["platform_fee"], "5.00");
    assert_eq!(app.balance("platform_revenue"), 900 + 500);
    assert_eq!(app.balance(&format!("escrow:campaign:{missed}")), 0);

    let funded_mail = app.count("SELECT COUNT(*) AS n FROM email_outbox WHERE template = 'campaign_funded'");
    assert_eq!(funded_mail, 3, "each backer hears of each pledge to be charged");
    let admin = app.create_admin().await;
    assert_eq!(app.audit(&admin).await["ok"], true);
}

#[tokio::test]
async fn the_last_day_rule_does_not_hold_a_flexible_campaign() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let id = flexible(&app, &owner, "100.00").await;
    let (a, b) = (app.create_user().await, app.create_user().await);
    let pa = app.pledged(&a, id, &pledge_body(None, "60.00")).await;
    let pb = app.pledged(&b, id, &pledge_body(None, "50.00")).await;
    app.clock.advance(Duration::hours(36));
    let (a, b) = (app.relogin(&a).await, app.relogin(&b).await);

    // Below the goal either way: a flexible campaign charges whatever is left.
    let lowered = app
        .patch_json(
            &format!("/api/v1/pledges/{}", pa["id"]),
            &json!({"amount": "10.00"}),
            Some(&a.access_token),
        )
        .await;
    assert_eq!(lowered.status(), StatusCode::OK);
    let canceled = app
        .delete(&format!("/api/v1/pledges/{}", pb["id"]), Some(&b.access_token))
        .await;
    assert_eq!(canceled.status(), StatusCode::OK);
    assert_eq!(app.campaign(id).await["pledged"], "10.00");
}

#[tokio::test]
async fn the_funding_model_is_chosen_in_draft_and_frozen_at_launch() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let draft = app.create_campaign(&owner, &campaign_body("Which model")).await;
    assert_eq!(draft["funding_model"], "all_or_nothing", "the default");
    let id = draft["id"].as_i64().unwrap();
    let path = format!("/api/v1/campaigns/{id}");

    let mut bad = campaign_body("Bad model");
    bad["funding_model"] = json!("sometimes");
    let problem = assert_problem(
        app.post_json("/api/v1/campaigns", &bad, Some(&owner.access_token))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(invalid_fields(&problem), ["funding_model"]);

    let changed = app
        .patch_json(
            &path,
            &json!({"funding_model": "flexible"}),
            Some(&owner.access_token),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    let changed: Value = changed.json().await.unwrap();
    assert_eq!(changed["funding_model"], "flexible");

    app.post_json(&format!("{path}/launch"), &json!({}), Some(&owner.access_token))
        .await;
    let problem = assert_problem(
        app.patch_json(
            &path,
            &json!({"funding_model": "all_or_nothing"}),
            Some(&owner.access_token),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(
        problem["detail"].as_str().unwrap().contains("funding_model"),
        "{problem}"
    );
    assert_eq!(app.campaign(id).await["funding_model"], "flexible");
}
