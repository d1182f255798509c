//! Secret rewards: absent from listings and the campaign page, shown and pledged on with their
//! token, and otherwise answered exactly as a tier that does not exist.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, assert_problem, invalid_fields, pledge_body, spawn_app, tier_body};

fn titles(tiers: &Value) -> Vec<&str> {
    tiers
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect()
}

async fn tiers(app: &TestApp, id: i64, query: &str, user: Option<&TestUser>) -> Value {
    let response = app
        .get(
            &format!("/api/v1/campaigns/{id}/tiers{query}"),
            user.map(|u| u.access_token.as_str()),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// A live campaign with a public tier and a secret one (5 units); returns (campaign, public
/// tier, secret tier, token).
async fn with_secret_tier(app: &TestApp, owner: &TestUser) -> (i64, i64, i64, String) {
    let id = app.live_campaign(owner, "Members only").await;
    let public = app
        .create_tier(owner, id, &tier_body("Public", "10.00", None))
        .await;
    assert_eq!(public["visibility"], "public");
    assert_eq!(public["secret_token"], Value::Null);
    let mut body = tier_body("Inner circle", "20.00", Some(5));
    body["visibility"] = json!("secret");
    let secret = app.create_tier(owner, id, &body).await;
    assert_eq!(secret["visibility"], "secret");
    let token = secret["secret_token"].as_str().unwrap().to_owned();
    assert!(token.len() >= 22, "{token}");
    (
        id,
        public["id"].as_i64().unwrap(),
        secret["id"].as_i64().unwrap(),
        token,
    )
}

#[tokio::test]
async fn a_secret_tier_is_seen_only_with_its_token() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let backer = app.create_user().await;
    let (id, _, _, token) = with_secret_tier(&app, &owner).await;

    assert_eq!(titles(&app.campaign(id).await["tiers"]), ["Public"]);
    assert_eq!(titles(&tiers(&app, id, "", None).await), ["Public"]);
    assert_eq!(titles(&tiers(&app, id, "", Some(&backer)).await), ["Public"]);
    assert_eq!(
        titles(&tiers(&app, id, "?secret=not-the-token", None).await),
        ["Public"]
    );

    let shared = tiers(&app, id, &format!("?secret={token}"), Some(&backer)).await;
    assert_eq!(titles(&shared), ["Public", "Inner circle"]);
    assert_eq!(
        shared[1]["secret_token"],
        Value::Null,
        "the token is the creator's to share"
    );
    let anonymous = tiers(&app, id, &format!("?secret={token}"), None).await;
    assert_eq!(titles(&anonymous), ["Public", "Inner circle"]);

    let own = tiers(&app, id, "", Some(&owner)).await;
    assert_eq!(titles(&own), ["Public", "Inner circle"]);
    assert_eq!(own[1]["secret_token"], json!(token));
}

#[tokio::test]
async fn pledging_on_a_secret_tier_needs_its_token() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let (id, public, secret, token) = with_secret_tier(&app, &owner).await;
    let backer = app.create_user().await;

    let missing = assert_problem(
        app.pledge(&backer, id, &pledge_body(Some(999_999), "20.00"))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    for body in [pledge_body(Some(secret), "20.00"), {
        let mut wrong = pledge_body(Some(secret), "20.00");
        wrong["secret"] = json!(format!("{token}x"));
        wrong
    }] {
        let problem = assert_problem(app.pledge(&backer, id, &body).await, StatusCode::NOT_FOUND).await;
        assert_eq!(problem, missing, "answered as a tier that does not exist");
        assert_eq!(invalid_fields(&problem), ["tier_id"]);
    }
    let campaign = app.campaign(id).await;
    assert_eq!(
        (&campaign["pledged"], &campaign["backer_count"]),
        (&json!("0.00"), &json!(0))
    );

    let mut body = pledge_body(Some(secret), "20.00");
    body["secret"] = json!(token);
    let pledge = app.pledged(&backer, id, &body).await;
    assert_eq!(pledge["tier_id"], secret);
    let own = tiers(&app, id, "", Some(&owner)).await;
    assert_eq!(own[1]["claimed"], 1);

    // Changing the amount keeps the tier the pledge holds without the token again.
    let path = format!("/api/v1/pledges/{}", pledge["id"]);
    let raised = app
        .patch_json(&path, &json!({"amount": "25.00"}), Some(&backer.access_token))
        .await;
    assert_eq!(raised.status(), StatusCode::OK);

    // Moving to the secret tier from another needs it.
    let other = app.create_user().await;
    let moved = app.pledged(&other, id, &pledge_body(Some(public), "20.00")).await;
    let path = format!("/api/v1/pledges/{}", moved["id"]);
    assert_problem(
        app.patch_json(&path, &json!({"tier_id": secret}), Some(&other.access_token))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let moved = app
        .patch_json(
            &path,
            &json!({"tier_id": secret, "secret": token}),
            Some(&other.access_token),
        )
        .await;
    assert_eq!(moved.status(), StatusCode::OK);
    let own = tiers(&app, id, "", Some(&owner)).await;
    assert_eq!((&own[0]["claimed"], &own[1]["claimed"]), (&json!(0), &json!(2)));
}

#[tokio::test]
async fn a_tier_made_secret_keeps_its_token() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let id = app.live_campaign(&owner, "Switching").await;
    let tier = app.create_tier(&owner, id, &tier_body("T", "10.00", None)).await;
    let path = format!("/api/v1/campaigns/{id}/tiers/{}", tier["id"]);
    let patch = |body: Value| {
        let (app, path, token) = (&app, &path, owner.access_token.clone());
        async move {
            let response = app.patch_json(path, &body, Some(&token)).await;
            let status = response.status();
            (status, response.json::<Value>().await.unwrap())
        }
    };

    let (status, secret) = patch(json!({"visibility": "secret"})).await;
    assert_eq!(status, StatusCode::OK);
    let token = secret["secret_token"].as_str().unwrap().to_owned();
    assert_eq!(app.campaign(id).await["tiers"], json!([]));

    let (_, public) = patch(json!({"visibility": "public"})).await;
    assert_eq!(public["visibility"], "public");
    assert_eq!(titles(&app.campaign(id).await["tiers"]), ["T"]);
    let (_, again) = patch(json!({"visibility": "secret"})).await;
    assert_eq!(again["secret_token"], json!(token), "a shared link keeps working");

    let (status, problem) = patch(json!({"visibility": "hidden"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(invalid_fields(&problem), ["visibility"]);
}
