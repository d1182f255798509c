//! Prelaunch pages, followers, and the emails that tell followers a campaign launched and is
//! about to end.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, assert_problem, campaign_body, pledge_body, spawn_app, tier_body};
use crate::mail::{app_with_smtp, wait_until_quiet};

async fn prelaunch_draft(app: &TestApp, creator: &TestUser, title: &str, days: i64) -> i64 {
    let mut body = campaign_body(title);
    body["duration_days"] = json!(days);
    let id = app.create_campaign(creator, &body).await["id"].as_i64().unwrap();
    app.create_tier(creator, id, &tier_body("Lamp", "10.00", Some(5)))
        .await;
    let opened = app
        .patch_json(
            &format!("/api/v1/campaigns/{id}"),
            &json!({"prelaunch": true}),
            Some(&creator.access_token),
        )
        .await;
    assert_eq!(opened.status(), StatusCode::OK);
    id
}

async fn follow(app: &TestApp, user: &TestUser, id: i64) -> reqwest::Response {
    app.request(
        reqwest::Method::POST,
        &format!("/api/v1/campaigns/{id}/follow"),
        Some(&user.access_token),
    )
    .send()
    .await
    .unwrap()
}

async fn view(app: &TestApp, id: i64, user: Option<&TestUser>) -> Value {
    let response = app
        .get(
            &format!("/api/v1/campaigns/{id}"),
            user.map(|u| u.access_token.as_str()),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_prelaunch_draft_shows_everyone_a_coming_soon_page_and_nothing_else() {
    let app = spawn_app().await;
    let creator = app.create_user().await;
    let mut body = campaign_body("Coming Lamp");
    body["description"] = json!("The secret plan");
    let id = app.create_campaign(&creator, &body).await["id"].as_i64().unwrap();
    app.create_tier(&creator, id, &tier_body("Lamp", "10.00", Some(5)))
        .await;
    let backer = app.create_user().await;
    assert_problem(
        app.get(&format!("/api/v1/campaigns/{id}"), None).await,
        StatusCode::NOT_FOUND,
    )
    .await;

    let opened = app
        .patch_json(
            &format!("/api/v1/campaigns/{id}"),
            &json!({"prelaunch": true}),
            Some(&creator.access_token),
        )
        .await;
    assert_eq!(opened.status(), StatusCode::OK);
    let page = view(&app, id, None).await;
    assert_eq!(page["status"], "draft");
    assert_eq!(page["prelaunch"], true);
    assert_eq!(page["title"], "Coming Lamp");
    assert_eq!(page["blurb"], "A lamp that charges while you ride");
    assert_eq!(page["category"], "technology");
    assert_eq!(page["owner"]["id"], creator.id);
    assert_eq!(page["tiers"], json!([]));
    assert_eq!(page["description"], "");
    // Its creator still sees everything.
    let own = view(&app, id, Some(&creator)).await;
    assert_eq!(own["tiers"].as_array().unwrap().len(), 1);
    assert_eq!(own["description"], "The secret plan");

    // No tiers, no pledges, no comments for others.
    assert_problem(
        app.get(&format!("/api/v1/campaigns/{id}/tiers"), None).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let pledge = app.pledge(&backer, id, &pledge_body(None, "5.00")).await;
    assert_problem(pledge, StatusCode::NOT_FOUND).await;
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM pledges"), 0);

    let closed = app
        .patch_json(
            &format!("/api/v1/campaigns/{id}"),
            &json!({"prelaunch": false}),
            Some(&creator.access_token),
        )
        .await;
    assert_eq!(closed.status(), StatusCode::OK);
    assert_problem(
        app.get(&format!("/api/v1/campaigns/{id}"), None).await,
        StatusCode::NOT_FOUND,
    )
    .await;

    let live = app.live_campaign(&creator, "Live Lamp").await;
    let frozen = app
        .patch_json(
            &format!("/api/v1/campaigns/{live}"),
            &json!({"prelaunch": true}),
            Some(&creator.access_token),
        )
        .await;
    assert_problem(frozen, StatusCode::CONFLICT).await;
    assert_eq!(view(&app, live, None).await["prelaunch"], false);
}

#[tokio::test]
async fn followers_are_counted_and_listed() {
    let app = spawn_app().await;
    let creator = app.create_user().await;
    let id = prelaunch_draft(&app, &creator, "Coming Lamp", 30).await;
    let (ana, bo) = (app.create_user().await, app.create_user().await);
    let followed = follow(&app, &ana, id).await;
    assert_eq!(followed.status(), StatusCode::OK);
    assert_eq!(
        followed.json::<Value>().await.unwrap(),
        json!({"following": true, "followers_count": 1})
    );
    assert_eq!(
        follow(&app, &ana, id).await.json::<Value>().await.unwrap()["followers_count"],
        1,
        "again: no change"
    );
    assert_eq!(
        follow(&app, &bo, id).await.json::<Value>().await.unwrap()["followers_count"],
        2
    );
    assert_problem(follow(&app, &creator, id).await, StatusCode::CONFLICT).await;
    let anonymous = app
        .request(
            reqwest::Method::POST,
            &format!("/api/v1/campaigns/{id}/follow"),
            None,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    let seen = view(&app, id, Some(&ana)).await;
    assert_eq!(
        (seen["followers_count"].clone(), seen["following"].clone()),
        (json!(2), json!(true))
    );
    let seen = view(&app, id, None).await;
    assert_eq!(
        (seen["followers_count"].clone(), seen["following"].clone()),
        (json!(2), json!(false))
    );

    let mine: Value = app
        .get("/api/v1/me/following", Some(&ana.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    assert_eq!(mine["items"][0]["id"], id);
    assert!(mine["items"][0]["followed_at"].is_string());

    let left = app
        .delete(&format!("/api/v1/campaigns/{id}/follow"), Some(&bo.access_token))
        .await;
    assert_eq!(left.status(), StatusCode::OK);
    assert_eq!(
        left.json::<Value>().await.unwrap(),
        json!({"following": false, "followers_count": 1})
    );
    let bos: Value = app
        .get("/api/v1/me/following", Some(&bo.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(bos["items"], json!([]));

    // A draft that is not prelaunch cannot be followed, nor an ended campaign.
    let hidden = app.create_campaign(&creator, &campaign_body("Hidden")).await["id"]
        .as_i64()
        .unwrap();
    assert_problem(follow(&app, &ana, hidden).await, StatusCode::NOT_FOUND).await;
    let canceled = app.live_campaign(&creator, "Short-lived").await;
    let cancel = app
        .post_json(
            &format!("/api/v1/campaigns/{canceled}/cancel"),
            &json!({}),
            Some(&creator.access_token),
        )
        .await;
    assert_eq!(cancel.status(), StatusCode::OK);
    assert_problem(follow(&app, &ana, canceled).await, StatusCode::CONFLICT).await;
}

#[tokio::test]
async fn followers_hear_of_the_launch_and_those_who_did_not_back_of_the_last_48_hours() {
    let (app, inbox) = app_with_smtp().await;
    let creator = app.create_user().await;
    let id = prelaunch_draft(&app, &creator, "Coming Lamp", 3).await;
    let (ana, bo, cy) = (
        app.create_user().await,
        app.create_user().await,
        app.create_user().await,
    );
    for user in [&ana, &bo, &cy] {
        assert_eq!(follow(&app, user, id).await.status(), StatusCode::OK);
    }
    let left = app
        .delete(&format!("/api/v1/campaigns/{id}/follow"), Some(&cy.access_token))
        .await;
    assert_eq!(left.status(), StatusCode::OK);

    let launched = app
        .post_json(
            &format!("/api/v1/campaigns/{id}/launch"),
            &json!({}),
            Some(&creator.access_token),
        )
        .await;
    assert_eq!(launched.status(), StatusCode::OK);
    for user in [&ana, &bo] {
        let mail = inbox.wait_for(&user.email, "Coming Lamp has launched", 1).await;
        assert!(
            mail[0].text.contains("https://app.test/campaigns/coming-lamp"),
            "{}",
            mail[0].text
        );
    }
    // Bo backs it; Ana only follows.
    app.pledged(&bo, id, &pledge_body(None, "5.00")).await;

    app.clock.advance(Duration::days(1) + Duration::minutes(1));
    let summary = app.settle().await;
    assert_eq!(summary["campaigns"]["reminded"], 1, "{summary}");
    inbox
        .wait_for(&ana.email, "48 hours left to back Coming Lamp", 1)
        .await;
    app.settle().await;
    wait_until_quiet(&app).await;
    assert!(
        inbox.find(&bo.email, "48 hours left").is_empty(),
        "a backer is not asked to back it"
    );
    assert!(
        inbox.find(&cy.email, "Coming Lamp").is_empty(),
        "who stopped following hears nothing"
    );
    assert_eq!(inbox.find(&ana.email, "48 hours left").len(), 1, "once");
    assert_eq!(inbox.find(&ana.email, "has launched").len(), 1, "once");
}
