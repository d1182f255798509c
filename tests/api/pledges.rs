use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, TestUser, assert_problem, campaign_body, invalid_fields, pledge_body, spawn_app, tier_body,
};

/// A live campaign (goal 1000.00 USD, 30 days) with a 10-unit tier at 40.00 that ships
/// (US 5.00, elsewhere 15.00); returns (campaign id, tier id).
async fn shop(app: &TestApp, owner: &TestUser) -> (i64, i64) {
    let id = app.live_campaign(owner, "Lamp").await;
    let mut tier = tier_body("Lamp", "40.00", Some(10));
    tier["shipping"] = json!({"US": "5.00", "*": "15.00"});
    let tier = app.create_tier(owner, id, &tier).await;
    (id, tier["id"].as_i64().unwrap())
}

fn with_country(mut body: Value, country: &str) -> Value {
    body["shipping_country"] = json!(country);
    body
}

#[tokio::test]
async fn a_pledge_claims_a_unit_and_moves_the_totals() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let backer = app.create_user().await;
    let stranger = app.create_user().await;
    let (id, tier) = shop(&app, &owner).await;

    let response = app
        .pledge(&backer, id, &with_country(pledge_body(Some(tier), "60"), "fr"))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let pledge: Value = response.json().await.unwrap();
    assert_eq!(location, format!("/api/v1/pledges/{}", pledge["id"]));
    assert_eq!(pledge["status"], "active");
    assert_eq!(
        (pledge["amount"].as_str(), pledge["shipping_fee"].as_str()),
        (Some("60.00"), Some("15.00"))
    );
    assert_eq!(pledge["shipping_country"], "FR");
    assert_eq!(pledge["payment_method"], "pm_card_visa");

    let campaign = app.campaign(id).await;
    assert_eq!(
        (campaign["pledged"].as_str(), campaign["backer_count"].as_i64()),
        (Some("60.00"), Some(1))
    );
    assert_eq!(campaign["percent_funded"], 6);
    assert_eq!(
        (
            campaign["tiers"][0]["claimed"].as_i64(),
            campaign["tiers"][0]["remaining"].as_i64()
        ),
        (Some(1), Some(9))
    );

    let as_backer: Value = app
        .get(&location, Some(&backer.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(as_backer["payment_method"], "pm_card_visa");
    let as_owner: Value = app
        .get(&location, Some(&owner.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(as_owner["amount"], "60.00");
    assert!(
        as_owner.get("payment_method").is_none(),
        "the creator never sees payment details"
    );
    assert_problem(
        app.get(&location, Some(&stranger.access_token)).await,
        StatusCode::NOT_FOUND,
    )
    .await;

    let event = app.count(&format!(
        "SELECT COUNT(*) AS n FROM pledge_events WHERE pledge_id = {} AND from_status IS NULL \
         AND to_status = 'active' AND actor_id = {} AND amount_minor = 6000",
        pledge["id"], backer.id
    ));
    assert_eq!(event, 1);
}

#[tokio::test]
async fn pledges_must_meet_every_rule() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let backer = app.create_user().await;
    let (id, tier) = shop(&app, &owner).await;

    let cases = [
        (with_country(pledge_body(Some(tier), "44.99"), "US"), "amount"),
        (pledge_body(Some(tier), "60.00"), "shipping_country"),
        (
            with_country(pledge_body(Some(tier), "60.00"), "USA"),
            "shipping_country",
        ),
        (pledge_body(None, "0.99"), "amount"),
        (pledge_body(None, "10.001"), "amount"),
        (pledge_body(None, "-5"), "amount"),
        (
            json!({"amount": "10.00", "payment_method": "pm_card_unknown"}),
            "payment_method",
        ),
        (
            json!({"amount": "10.00", "payment_method": "pm_card_visa", "status": "collected"}),
            "status",
        ),
    ];
    for (body, field) in cases {
        let problem = assert_problem(
            app.pledge(&backer, id, &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(invalid_fields(&problem), [field], "{body}");
    }
    // A tier that is not the campaign's is not found, as a secret one without its token is.
    let problem = assert_problem(
        app.pledge(&backer, id, &pledge_body(Some(999_999), "60.00"))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(invalid_fields(&problem), ["tier_id"]);
    assert_problem(
        app.pledge(&owner, id, &pledge_body(None, "10.00")).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let campaign = app.campaign(id).await;
    assert_eq!(
        (campaign["pledged"].as_str(), campaign["backer_count"].as_i64()),
        (Some("0.00"), Some(0)),
        "nothing changed"
    );

    // The minimum without a reward is one unit of the currency; the reward's includes shipping.
    app.pledged(&backer, id, &with_country(pledge_body(Some(tier), "45.00"), "US"))
        .await;
}

#[tokio::test]
async fn one_live_pledge_per_backer_pointing_at_the_first() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let backer = app.create_user().await;
    let id = app.live_campaign(&owner, "Lamp").await;
    let first = app.pledged(&backer, id, &pledge_body(None, "10.00")).await;
    let response = app.pledge(&backer, id, &pledge_body(None, "20.00")).await;
    let expected = format!("/api/v1/pledges/{}", first["id"]);
    assert_eq!(response.headers()["location"], expected.as_str());
    let problem = assert_problem(response, StatusCode::CONFLICT).await;
    assert_eq!(problem["existing"], expected);

    // After canceling, the backer may pledge again.
    let canceled = app.delete(&expected, Some(&backer.access_token)).await;
    assert_eq!(canceled.status(), StatusCode::OK);
    app.pledged(&backer, id, &pledge_body(None, "20.00")).await;
}

#[tokio::test]
async fn only_live_campaigns_before_their_deadline_take_pledges() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let backer = app.create_user().await;
    let draft = app.create_campaign(&owner, &campaign_body("Draft")).await["id"]
        .as_i64()
        .unwrap();
    assert_problem(
        app.pledge(&backer, draft, &pledge_body(None, "10.00")).await,
        StatusCode::NOT_FOUND,
    )
    .await;

    let canceled = app.live_campaign(&owner, "Canceled").await;
    app.post_json(
        &format!("/api/v1/campaigns/{canceled}/cancel"),
        &json!({}),
        Some(&owner.access_token),
    )
    .await;
    assert_problem(
        app.pledge(&backer, canceled, &pledge_body(None, "10.00")).await,
        StatusCode::CONFLICT,
    )
    .await;

    let live = app.live_campaign(&owner, "Ending").await;
    app.clock.advance(Duration::days(30));
    let backer = app.relogin(&backer).await;
    assert_problem(
        app.pledge(&backer, live, &pledge_body(None, "10.00")).await,
        StatusCode::CONFLICT,
    )
    .await;
}

#[tokio::test]
async fn tier_windows_and_sell_outs_are_conflicts() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let backer = app.create_user().await;
    let other = app.create_user().await;
    let id = app.live_campaign(&owner, "Lamp").await;
    let now = app.clock.now();
    let mut early = tier_body("Early bird", "20.00", Some(1));
    early["starts_at"] = json!((now + Duration::hours(1)).to_rfc3339());
    let early = app.create_tier(&owner, id, &early).await["id"].as_i64().unwrap();
    assert_problem(
        app.pledge(&backer, id, &pledge_body(Some(early), "20.00")).await,
        StatusCode::CONFLICT,
    )
    .await;
    app.clock.advance(Duration::hours(1));
    let backer = app.relogin(&backer).await;
    let other = app.relogin(&other).await;
    app.pledged(&backer, id, &pledge_body(Some(early), "20.00")).await;
    let problem = assert_problem(
        app.pledge(&other, id, &pledge_body(Some(early), "20.00")).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(problem["detail"].as_str().unwrap().contains("sold out"));
}

#[tokio::test]
async fn changing_and_canceling_move_units_and_totals() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let backer = app.create_user().await;
    let (id, lamp) = shop(&app, &owner).await;
    let thanks = app
        .create_tier(&owner, id, &tier_body("Thanks", "5.00", Some(3)))
        .await["id"]
        .as_i64()
        .unwrap();
    let pledge = app
        .pledged(&backer, id, &pledge_body(Some(thanks), "10.00"))
        .await;
    let path = format!("/api/v1/pledges/{}", pledge["id"]);
    let token = Some(backer.access_token.as_str());

    let problem = assert_problem(
        app.patch_json(&path, &json!({"tier_id": lamp}), token).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        invalid_fields(&problem),
        ["shipping_country"],
        "the new tier ships"
    );
    let changed: Value = app
        .patch_json(
            &path,
            &json!({"tier_id": lamp, "amount": "55.00", "shipping_country": "US"}),
            token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            changed["tier_id"].as_i64(),
            changed["amount"].as_str(),
            changed["shipping_fee"].as_str()
        ),
        (Some(lamp), Some("55.00"), Some("5.00"))
    );
    let campaign = app.campaign(id).await;
    assert_eq!(
        (campaign["pledged"].as_str(), campaign["backer_count"].as_i64()),
        (Some("55.00"), Some(1))
    );
    let claimed: Vec<_> = campaign["tiers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["title"].clone(), t["claimed"].clone()))
        .collect();
    assert_eq!(claimed, [(json!("Thanks"), json!(0)), (json!("Lamp"), json!(1))]);

    let no_reward: Value = app
        .patch_json(&path, &json!({"tier_id": null, "shipping_country": null}), token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(no_reward["tier_id"], Value::Null);
    assert_eq!(app.campaign(id).await["tiers"][1]["claimed"], 0);

    let canceled: Value = app.delete(&path, token).await.json().await.unwrap();
    assert_eq!(canceled["status"], "canceled");
    assert!(canceled["canceled_at"].is_string());
    let campaign = app.campaign(id).await;
    assert_eq!(
        (campaign["pledged"].as_str(), campaign["backer_count"].as_i64()),
        (Some("0.00"), Some(0))
    );
    assert_problem(app.delete(&path, token).await, StatusCode::CONFLICT).await;
    assert_problem(
        app.patch_json(&path, &json!({"amount": "20.00"}), token).await,
        StatusCode::CONFLICT,
    )
    .await;
    let other = app.create_user().await;
    assert_problem(
        app.delete(&path, Some(&other.access_token)).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn the_last_day_cannot_take_a_funded_campaign_below_its_goal() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let mut body = campaign_body("Close call");
    body["goal"] = json!("100.00");
    body["duration_days"] = json!(2);
    let id = app.create_campaign(&owner, &body).await["id"].as_i64().unwrap();
    app.post_json(
        &format!("/api/v1/campaigns/{id}/launch"),
        &json!({}),
        Some(&owner.access_token),
    )
    .await;
    let a = app.create_user().await;
    let b = app.create_user().await;
    let pa = app.pledged(&a, id, &pledge_body(None, "60.00")).await;
    let pb = app.pledged(&b, id, &pledge_body(None, "50.00")).await;
    let (path_a, path_b) = (
        format!("/api/v1/pledges/{}", pa["id"]),
        format!("/api/v1/pledges/{}", pb["id"]),
    );

    // More than a day left: lowering is allowed even below the goal.
    let lowered = app
        .patch_json(&path_b, &json!({"amount": "30.00"}), Some(&b.access_token))
        .await;
    assert_eq!(lowered.status(), StatusCode::OK);
    app.patch_json(&path_b, &json!({"amount": "50.00"}), Some(&b.access_token))
        .await;

    app.clock.advance(Duration::hours(36));
    let a = app.relogin(&a).await;
    let b = app.relogin(&b).await;
    let problem = assert_problem(
        app.delete(&path_b, Some(&b.access_token)).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(
        problem["detail"].as_str().unwrap().contains("last 24 hours"),
        "{problem}"
    );
    assert_problem(
        app.patch_json(&path_a, &json!({"amount": "49.99"}), Some(&a.access_token))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    // Staying at or above the goal is fine, and so is raising.
    assert_eq!(
        app.patch_json(&path_a, &json!({"amount": "50.00"}), Some(&a.access_token))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.patch_json(&path_b, &json!({"amount": "80.00"}), Some(&b.access_token))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(app.campaign(id).await["pledged"], "130.00");
}

#[tokio::test]
async fn canceling_a_campaign_releases_its_pledges() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let backer = app.create_user().await;
    let (id, tier) = shop(&app, &owner).await;
    let pledge = app
        .pledged(&backer, id, &with_country(pledge_body(Some(tier), "45.00"), "US"))
        .await;
    app.post_json(
        &format!("/api/v1/campaigns/{id}/cancel"),
        &json!({}),
        Some(&owner.access_token),
    )
    .await;
    let released: Value = app
        .get(
            &format!("/api/v1/pledges/{}", pledge["id"]),
            Some(&backer.access_token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(released["status"], "released");
    assert!(released["released_at"].is_string());
    assert_eq!(
        app.campaign(id).await["tiers"][0]["claimed"],
        0,
        "the unit went back"
    );
    let events = app.count(&format!(
        "SELECT COUNT(*) AS n FROM pledge_events WHERE pledge_id = {} AND to_status = 'released' AND actor_id = {}",
        pledge["id"], owner.id
    ));
    assert_eq!(events, 1);
}

#[tokio::test]
async fn never_oversold_200_backers_for_50_units() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let id = app.live_campaign(&owner, "Hot item").await;
    let tier = app
        .create_tier(&owner, id, &tier_body("Limited", "25.00", Some(50)))
        .await["id"]
        .as_i64()
        .unwrap();
    let mut backers = Vec::new();
    for _ in 0..200 {
        backers.push(app.create_user().await);
    }
    let body = pledge_body(Some(tier), "25.00");
    let requests = backers.iter().map(|b| app.pledge(b, id, &body));
    let statuses: Vec<StatusCode> = futures::future::join_all(requests)
        .await
        .iter()
        .map(|r| r.status())
        .collect();
    let created = statuses.iter().filter(|s| **s == StatusCode::CREATED).count();
    let sold_out = statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count();
    assert_eq!((created, sold_out), (50, 150), "{statuses:?}");
    let campaign = app.campaign(id).await;
    assert_eq!(campaign["tiers"][0]["claimed"], 50);
    assert_eq!(campaign["tiers"][0]["remaining"], 0);
    assert_eq!(campaign["backer_count"], 50);
    assert_eq!(campaign["pledged"], "1250.00");
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM pledges WHERE campaign_id = {id}"
        )),
        50
    );
}

#[tokio::test]
async fn me_pledges_and_replacing_the_payment_method() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let backer = app.create_user().await;
    let first = app.live_campaign(&owner, "First").await;
    let second = app.live_campaign(&owner, "Second").await;
    let p1 = app.pledged(&backer, first, &pledge_body(None, "10.00")).await;
    let p2 = app.pledged(&backer, second, &pledge_body(None, "20.00")).await;
    let page: Value = app
        .get("/api/v1/me/pledges?limit=1", Some(&backer.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"][0]["id"], p2["id"]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let next: Value = app
        .get(
            &format!("/api/v1/me/pledges?limit=1&cursor={cursor}"),
            Some(&backer.access_token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(next["items"][0]["id"], p1["id"]);
    assert_eq!(next["next_cursor"], Value::Null);

    let path = format!("/api/v1/pledges/{}/payment-method", p1["id"]);
    let response = app
        .request(reqwest::Method::PUT, &path, Some(&backer.access_token))
        .json(&json!({"payment_method": "pm_card_chargeDeclined"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap()["payment_method"],
        "pm_card_chargeDeclined"
    );
    let response = app
        .request(reqwest::Method::PUT, &path, Some(&backer.access_token))
        .json(&json!({"payment_method": "4242"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        invalid_fields(&assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await),
        ["payment_method"]
    );
    let response = app
        .request(reqwest::Method::PUT, &path, Some(&owner.access_token))
        .json(&json!({"payment_method": "pm_card_visa"}))
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::NOT_FOUND).await;
}
