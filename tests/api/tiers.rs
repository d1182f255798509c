use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{assert_problem, campaign_body, invalid_fields, spawn_app, tier_body};

#[tokio::test]
async fn tiers_show_price_shipping_and_what_remains() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let id = app.live_campaign(&owner, "Lamp").await;
    let mut body = tier_body("Lamp + shipping", "45.5", Some(100));
    body["shipping"] = json!({"US": "5", "*": "15.00"});
    body["description"] = json!("One lamp.\nShipped worldwide.");
    let tier = app.create_tier(&owner, id, &body).await;
    assert_eq!(tier["min_amount"], "45.50");
    assert_eq!(tier["shipping"], json!({"US": "5.00", "*": "15.00"}));
    assert_eq!(
        (
            tier["quantity"].as_i64(),
            tier["remaining"].as_i64(),
            tier["claimed"].as_i64()
        ),
        (Some(100), Some(100), Some(0))
    );
    assert_eq!(tier["available"], true);
    app.create_tier(&owner, id, &tier_body("Thanks", "5.00", None))
        .await;

    let tiers: Value = app
        .get(&format!("/api/v1/campaigns/{id}/tiers"), None)
        .await
        .json()
        .await
        .unwrap();
    let titles: Vec<_> = tiers
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Thanks", "Lamp + shipping"], "cheapest first");
    assert_eq!(tiers[0]["remaining"], Value::Null, "unlimited");
    let campaign: Value = app
        .get(&format!("/api/v1/campaigns/{id}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(campaign["tiers"], tiers);
}

#[tokio::test]
async fn tier_fields_are_validated_and_named() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let id = app.live_campaign(&owner, "Lamp").await;
    let path = format!("/api/v1/campaigns/{id}/tiers");
    let token = Some(owner.access_token.as_str());
    let mut bad = tier_body("", "10.001", Some(0));
    bad["estimated_delivery"] = json!("2020-01");
    bad["shipping"] = json!({"usa": "5.00"});
    let problem = assert_problem(
        app.post_json(&path, &bad, token).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        invalid_fields(&problem),
        [
            "title",
            "min_amount",
            "quantity",
            "estimated_delivery",
            "shipping.usa"
        ]
    );

    let mut window = tier_body("Early bird", "10.00", Some(10));
    window["starts_at"] = json!("2099-02-01T00:00:00Z");
    window["ends_at"] = json!("2099-01-01T00:00:00Z");
    let problem = assert_problem(
        app.post_json(&path, &window, token).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(invalid_fields(&problem), ["ends_at"]);

    // JSON has one number type: 12.0 is the integer 12 (as in JSON Schema), 12.5 is not one.
    let mut fractional = tier_body("Half a lamp", "10.00", None);
    fractional["quantity"] = json!(12.5);
    let problem = assert_problem(
        app.post_json(&path, &fractional, token).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(invalid_fields(&problem), ["quantity"]);

    let tiers: Value = app.get(&path, None).await.json().await.unwrap();
    assert_eq!(tiers, json!([]), "nothing was created");

    let mut integral = tier_body("Lamp", "10.00", None);
    integral["quantity"] = json!(12.0);
    let tier = app.create_tier(&owner, id, &integral).await;
    assert_eq!(tier["quantity"], 12);
}

#[tokio::test]
async fn yen_tiers_have_no_decimals() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let mut body = campaign_body("Yen");
    body["currency"] = json!("JPY");
    body["goal"] = json!("300000");
    let id = app.create_campaign(&owner, &body).await["id"].as_i64().unwrap();
    let tier = app
        .create_tier(&owner, id, &tier_body("Sticker", "500", None))
        .await;
    assert_eq!(tier["min_amount"], "500");
    let response = app
        .post_json(
            &format!("/api/v1/campaigns/{id}/tiers"),
            &tier_body("Half", "500.5", None),
            Some(&owner.access_token),
        )
        .await;
    assert_eq!(
        invalid_fields(&assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await),
        ["min_amount"]
    );
}

#[tokio::test]
async fn early_bird_window_opens_and_closes() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let id = app.live_campaign(&owner, "Lamp").await;
    let now = app.clock.now();
    let mut body = tier_body("Early bird", "20.00", Some(50));
    body["starts_at"] = json!((now + Duration::hours(1)).to_rfc3339());
    body["ends_at"] = json!((now + Duration::days(2)).to_rfc3339());
    let tier = app.create_tier(&owner, id, &body).await;
    assert_eq!(tier["available"], false, "not open yet");
    app.clock.advance(Duration::hours(1));
    let tiers: Value = app
        .get(&format!("/api/v1/campaigns/{id}/tiers"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tiers[0]["available"], true);
    app.clock.advance(Duration::days(2));
    let tiers: Value = app
        .get(&format!("/api/v1/campaigns/{id}/tiers"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tiers[0]["available"], false, "closed");
}

#[tokio::test]
async fn a_tier_with_backers_keeps_its_price_shipping_and_units() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let id = app.live_campaign(&owner, "Lamp").await;
    let mut body = tier_body("Lamp", "40.00", Some(10));
    body["shipping"] = json!({"*": "10.00"});
    let tier = app.create_tier(&owner, id, &body).await;
    let tier_id = tier["id"].as_i64().unwrap();
    let path = format!("/api/v1/campaigns/{id}/tiers/{tier_id}");
    let token = Some(owner.access_token.as_str());

    // Without backers everything can change.
    let edited: Value = app
        .patch_json(&path, &json!({"min_amount": "35.00", "quantity": 8}), token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (edited["min_amount"].as_str(), edited["quantity"].as_i64()),
        (Some("35.00"), Some(8))
    );

    // Three units held by backers (pledges set this counter in their own transaction).
    app.sql(&format!(
        "UPDATE reward_tiers SET claimed = 3 WHERE id = {tier_id}"
    ))
    .unwrap();
    for body in [
        json!({"min_amount": "30.00"}),
        json!({"shipping": {"*": "12.00"}}),
        json!({"shipping": null}),
        json!({"quantity": 7}),
    ] {
        assert_problem(app.patch_json(&path, &body, token).await, StatusCode::CONFLICT).await;
    }
    assert_problem(app.delete(&path, token).await, StatusCode::CONFLICT).await;

    let raised: Value = app
        .patch_json(
            &path,
            &json!({"quantity": 20, "title": "Lamp (restocked)", "min_amount": "35.00"}),
            token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (raised["quantity"].as_i64(), raised["remaining"].as_i64()),
        (Some(20), Some(17))
    );
    assert_eq!(raised["title"], "Lamp (restocked)");
    let unlimited: Value = app
        .patch_json(&path, &json!({"quantity": null}), token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(unlimited["remaining"], Value::Null);

    // The database refuses overselling on its own.
    app.sql(&format!(
        "UPDATE reward_tiers SET quantity = 3 WHERE id = {tier_id}"
    ))
    .unwrap();
    assert!(
        app.sql(&format!(
            "UPDATE reward_tiers SET claimed = 4 WHERE id = {tier_id}"
        ))
        .is_err()
    );
}

#[tokio::test]
async fn tiers_freeze_when_the_campaign_ends() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let token = Some(owner.access_token.as_str());
    let id = app.live_campaign(&owner, "Lamp").await;
    let tier = app
        .create_tier(&owner, id, &tier_body("Lamp", "40.00", Some(10)))
        .await;
    app.post_json(&format!("/api/v1/campaigns/{id}/cancel"), &json!({}), token)
        .await;
    let path = format!("/api/v1/campaigns/{id}/tiers");
    assert_problem(
        app.post_json(&path, &tier_body("More", "5.00", None), token)
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    let tier_path = format!("{path}/{}", tier["id"]);
    assert_problem(
        app.patch_json(&tier_path, &json!({"title": "x"}), token).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_problem(app.delete(&tier_path, token).await, StatusCode::CONFLICT).await;
    assert_eq!(
        app.delete(&format!("{path}/999999"), token).await.status(),
        StatusCode::CONFLICT
    );
}
