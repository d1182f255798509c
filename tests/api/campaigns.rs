use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{assert_problem, campaign_body, invalid_fields, spawn_app, tier_body};

fn at(value: &Value) -> DateTime<Utc> {
    value.as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_draft_is_private_until_launched() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let other = app.create_user().await;
    let admin = app.create_admin().await;

    let draft = app
        .create_campaign(&owner, &campaign_body("Solar Bike Lamp!"))
        .await;
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["slug"], "solar-bike-lamp");
    assert_eq!(draft["goal"], "1000.00");
    assert_eq!(draft["pledged"], "0.00");
    assert_eq!(draft["owner"]["id"], owner.id);
    assert_eq!(draft["launched_at"], Value::Null);
    let id = draft["id"].as_i64().unwrap();
    let path = format!("/api/v1/campaigns/{id}");

    assert_eq!(
        app.get(&path, Some(&owner.access_token)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get("/api/v1/campaigns/solar-bike-lamp", Some(&owner.access_token))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get(&path, Some(&admin.access_token)).await.status(),
        StatusCode::OK
    );
    assert_problem(app.get(&path, None).await, StatusCode::NOT_FOUND).await;
    assert_problem(
        app.get(&path, Some(&other.access_token)).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_problem(
        app.get("/api/v1/campaigns/solar-bike-lamp", None).await,
        StatusCode::NOT_FOUND,
    )
    .await;

    let now = app.clock.now();
    let live: Value = app
        .post_json(&format!("{path}/launch"), &json!({}), Some(&owner.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(live["status"], "live");
    assert_eq!(at(&live["launched_at"]), now);
    assert_eq!(at(&live["deadline"]), now + Duration::days(30));
    assert_eq!(live["seconds_left"], 30 * 86_400);

    let public: Value = app
        .get("/api/v1/campaigns/solar-bike-lamp", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(public["id"], id);
    assert_eq!(public["description"], "Long description\nwith paragraphs.");
    assert_eq!(public["percent_funded"], 0);

    app.clock.advance(Duration::days(1));
    let later: Value = app.get(&path, None).await.json().await.unwrap();
    assert_eq!(later["seconds_left"], 29 * 86_400);
}

#[tokio::test]
async fn launch_names_what_is_missing() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let draft = app
        .create_campaign(&owner, &json!({"title": "Bare idea", "currency": "EUR"}))
        .await;
    let id = draft["id"].as_i64().unwrap();
    let response = app
        .post_json(
            &format!("/api/v1/campaigns/{id}/launch"),
            &json!({}),
            Some(&owner.access_token),
        )
        .await;
    let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(
        invalid_fields(&problem),
        ["description", "category", "goal", "duration_days"]
    );
    let still: Value = app
        .get(&format!("/api/v1/campaigns/{id}"), Some(&owner.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(still["status"], "draft");
}

#[tokio::test]
async fn amounts_follow_the_currency_rules() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    for (currency, goal) in [
        ("USD", "10.001"),
        ("JPY", "10.5"),
        ("USD", "-5"),
        ("USD", "abc"),
        ("USD", "0.50"),
        ("EUR", "100000000.01"),
    ] {
        let mut body = campaign_body("Amounts");
        body["currency"] = json!(currency);
        body["goal"] = json!(goal);
        let response = app
            .post_json("/api/v1/campaigns", &body, Some(&owner.access_token))
            .await;
        let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(invalid_fields(&problem), ["goal"], "{currency} {goal}");
    }
    let mut yen = campaign_body("Yen");
    yen["currency"] = json!("JPY");
    yen["goal"] = json!("500000");
    assert_eq!(app.create_campaign(&owner, &yen).await["goal"], "500000");

    let mut euros = campaign_body("Euros");
    euros["currency"] = json!("EUR");
    euros["goal"] = json!("2500.5");
    assert_eq!(app.create_campaign(&owner, &euros).await["goal"], "2500.50");

    let mut bad = campaign_body("x");
    bad["currency"] = json!("XYZ");
    bad["duration_days"] = json!(61);
    let problem = assert_problem(
        app.post_json("/api/v1/campaigns", &bad, Some(&owner.access_token))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        invalid_fields(&problem),
        ["currency"],
        "a wrong enum stops parsing first"
    );
    bad["currency"] = json!("USD");
    let problem = assert_problem(
        app.post_json("/api/v1/campaigns", &bad, Some(&owner.access_token))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(invalid_fields(&problem), ["title", "duration_days"]);
}

#[tokio::test]
async fn server_owned_fields_cannot_be_set() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    for field in [
        "status",
        "owner_id",
        "pledged",
        "backer_count",
        "launched_at",
        "deadline",
        "id",
    ] {
        let mut body = campaign_body("Sneaky");
        body[field] = json!("live");
        let response = app
            .post_json("/api/v1/campaigns", &body, Some(&owner.access_token))
            .await;
        let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(invalid_fields(&problem), [field]);
    }
    let id = app.live_campaign(&owner, "Honest").await;
    for (field, value) in [
        ("status", json!("successful")),
        ("owner_id", json!(1)),
        ("pledged", json!("9999.00")),
    ] {
        let response = app
            .patch_json(
                &format!("/api/v1/campaigns/{id}"),
                &json!({ field: value }),
                Some(&owner.access_token),
            )
            .await;
        assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let tier = app
        .create_tier(&owner, id, &tier_body("Reward", "10.00", Some(5)))
        .await;
    let response = app
        .patch_json(
            &format!("/api/v1/campaigns/{id}/tiers/{}", tier["id"]),
            &json!({"claimed": 5}),
            Some(&owner.access_token),
        )
        .await;
    assert_eq!(
        invalid_fields(&assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await),
        ["claimed"]
    );
    let campaigns = app
        .get("/api/v1/campaigns?q=sneaky&status=live", None)
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(
        campaigns["items"],
        json!([]),
        "nothing was created by the rejected bodies"
    );
}

#[tokio::test]
async fn goal_currency_and_deadline_freeze_at_launch() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let id = app.live_campaign(&owner, "Frozen").await;
    let path = format!("/api/v1/campaigns/{id}");
    let token = Some(owner.access_token.as_str());

    for body in [
        json!({"goal": "5000.00"}),
        json!({"currency": "EUR"}),
        json!({"duration_days": 45}),
        json!({"slug": "new-name"}),
    ] {
        assert_problem(app.patch_json(&path, &body, token).await, StatusCode::CONFLICT).await;
    }
    let edited: Value = app
        .patch_json(
            &path,
            &json!({"title": "Still frozen", "blurb": "New blurb", "category": "design"}),
            token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(edited["title"], "Still frozen");
    assert_eq!(edited["category"], "design");
    assert_eq!(edited["goal"], "1000.00");

    assert_eq!(
        app.post_json(&format!("{path}/cancel"), &json!({}), token)
            .await
            .status(),
        StatusCode::OK
    );
    assert_problem(
        app.patch_json(&path, &json!({"title": "Too late"}), token).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_problem(
        app.post_json(&format!("{path}/cancel"), &json!({}), token).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_problem(
        app.post_json(&format!("{path}/launch"), &json!({}), token).await,
        StatusCode::CONFLICT,
    )
    .await;
}

#[tokio::test]
async fn drafts_change_freely_but_currency_waits_for_tiers_to_go() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let token = Some(owner.access_token.as_str());
    let id = app.create_campaign(&owner, &campaign_body("Draft")).await["id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/v1/campaigns/{id}");

    let problem = assert_problem(
        app.patch_json(&path, &json!({"currency": "JPY"}), token).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        invalid_fields(&problem),
        ["goal"],
        "the goal must be restated in the new currency"
    );
    let yen: Value = app
        .patch_json(
            &path,
            &json!({"currency": "JPY", "goal": "150000", "slug": "yen-draft"}),
            token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            yen["currency"].as_str(),
            yen["goal"].as_str(),
            yen["slug"].as_str()
        ),
        (Some("JPY"), Some("150000"), Some("yen-draft"))
    );

    app.create_tier(&owner, id, &tier_body("Thanks", "1000", None))
        .await;
    assert_problem(
        app.patch_json(&path, &json!({"currency": "USD", "goal": "10.00"}), token)
            .await,
        StatusCode::CONFLICT,
    )
    .await;
}

#[tokio::test]
async fn slugs_are_unique_and_never_numeric() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let first = app.create_campaign(&owner, &campaign_body("Same title")).await;
    let second = app.create_campaign(&owner, &campaign_body("Same title")).await;
    assert_eq!(first["slug"], "same-title");
    assert_eq!(second["slug"], "same-title-2");

    let mut taken = campaign_body("Another");
    taken["slug"] = json!("same-title");
    assert_problem(
        app.post_json("/api/v1/campaigns", &taken, Some(&owner.access_token))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    taken["slug"] = json!("12345");
    let problem = assert_problem(
        app.post_json("/api/v1/campaigns", &taken, Some(&owner.access_token))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(invalid_fields(&problem), ["slug"]);
}

#[tokio::test]
async fn only_drafts_are_deleted() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let token = Some(owner.access_token.as_str());
    let draft = app.create_campaign(&owner, &campaign_body("Draft")).await["id"]
        .as_i64()
        .unwrap();
    app.create_tier(&owner, draft, &tier_body("Reward", "5.00", None))
        .await;
    assert_eq!(
        app.delete(&format!("/api/v1/campaigns/{draft}"), token)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_problem(
        app.get(&format!("/api/v1/campaigns/{draft}"), token).await,
        StatusCode::NOT_FOUND,
    )
    .await;

    let live = app.live_campaign(&owner, "Live").await;
    assert_problem(
        app.delete(&format!("/api/v1/campaigns/{live}"), token).await,
        StatusCode::CONFLICT,
    )
    .await;
}

#[tokio::test]
async fn admins_suspend_live_campaigns_with_a_reason() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let admin = app.create_admin().await;
    let id = app.live_campaign(&owner, "Dubious").await;
    let path = format!("/api/v1/admin/campaigns/{id}/suspend");

    let response = app
        .post_json(&path, &json!({"reason": " "}), Some(&admin.access_token))
        .await;
    assert_eq!(
        invalid_fields(&assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await),
        ["reason"]
    );
    let suspended: Value = app
        .post_json(
            &path,
            &json!({"reason": "Reported as fraudulent"}),
            Some(&admin.access_token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(suspended["status"], "suspended");
    assert_problem(
        app.post_json(&path, &json!({"reason": "again"}), Some(&admin.access_token))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    let public: Value = app
        .get(&format!("/api/v1/campaigns/{id}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(public["status"], "suspended");
}

#[tokio::test]
async fn every_transition_is_logged_with_actor_and_reason() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let admin = app.create_admin().await;
    let id = app.live_campaign(&owner, "Logged").await;
    app.post_json(
        &format!("/api/v1/admin/campaigns/{id}/suspend"),
        &json!({"reason": "spam"}),
        Some(&admin.access_token),
    )
    .await;
    let expected = [
        (None, "draft", owner.id, None),
        (Some("draft"), "live", owner.id, None),
        (Some("live"), "suspended", admin.id, Some("spam")),
    ];
    for (from, to, actor, reason) in expected {
        let from_sql = from.map_or("from_status IS NULL".to_owned(), |f| {
            format!("from_status = '{f}'")
        });
        let reason_sql = reason.map_or("reason IS NULL".to_owned(), |r| format!("reason = '{r}'"));
        let found = app.count(&format!(
            "SELECT COUNT(*) AS n FROM campaign_events WHERE campaign_id = {id} AND {from_sql} \
             AND to_status = '{to}' AND actor_id = {actor} AND {reason_sql}"
        ));
        assert_eq!(found, 1, "no event {from:?} -> {to}");
    }
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM campaign_events WHERE campaign_id = {id}"
        )),
        3
    );
    // The log is append-only, whatever the code does.
    let rewrite = app.sql("UPDATE campaign_events SET to_status = 'draft'");
    assert!(rewrite.is_err());
}
