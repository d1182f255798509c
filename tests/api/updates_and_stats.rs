use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{assert_problem, campaign_body, invalid_fields, pledge_body, spawn_app, tier_body};

#[tokio::test]
async fn backers_only_updates_show_only_a_title_to_others() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let backer = app.create_user().await;
    let former = app.create_user().await;
    let stranger = app.create_user().await;
    let admin = app.create_admin().await;
    let id = app.live_campaign(&owner, "Lamp").await;
    app.pledged(&backer, id, &pledge_body(None, "10.00")).await;
    let canceled = app.pledged(&former, id, &pledge_body(None, "10.00")).await;
    app.delete(
        &format!("/api/v1/pledges/{}", canceled["id"]),
        Some(&former.access_token),
    )
    .await;
    let path = format!("/api/v1/campaigns/{id}/updates");
    let token = Some(owner.access_token.as_str());

    let public = app
        .post_json(
            &path,
            &json!({"title": "Prototype done", "body": "Photos inside."}),
            token,
        )
        .await;
    assert_eq!(public.status(), StatusCode::CREATED);
    let secret = app
        .post_json(
            &path,
            &json!({"title": "Backer survey", "body": "Your code: 42", "backers_only": true}),
            token,
        )
        .await;
    assert_eq!(secret.status(), StatusCode::CREATED);

    let body_seen_by = |page: &Value| page["items"][0]["body"].clone();
    for (who, token, sees) in [
        ("anonymous", None, false),
        ("stranger", Some(stranger.access_token.as_str()), false),
        ("former backer", Some(former.access_token.as_str()), false),
        ("backer", Some(backer.access_token.as_str()), true),
        ("owner", Some(owner.access_token.as_str()), true),
        ("admin", Some(admin.access_token.as_str()), true),
    ] {
        let page: Value = app.get(&path, token).await.json().await.unwrap();
        assert_eq!(page["items"][0]["title"], "Backer survey", "{who}");
        assert_eq!(page["items"][0]["locked"], !sees, "{who}");
        if sees {
            assert_eq!(body_seen_by(&page), "Your code: 42", "{who}");
        } else {
            assert_eq!(body_seen_by(&page), Value::Null, "{who}");
        }
        assert_eq!(
            page["items"][1]["body"], "Photos inside.",
            "public posts are public ({who})"
        );
    }

    let problem = assert_problem(
        app.post_json(&path, &json!({"title": "", "body": ""}), token)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(invalid_fields(&problem), ["title", "body"]);
    assert_problem(
        app.post_json(
            &path,
            &json!({"title": "x", "body": "y"}),
            Some(&backer.access_token),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let draft = app.create_campaign(&owner, &campaign_body("Draft")).await["id"]
        .as_i64()
        .unwrap();
    assert_problem(
        app.post_json(
            &format!("/api/v1/campaigns/{draft}/updates"),
            &json!({"title": "x", "body": "y"}),
            token,
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
}

#[tokio::test]
async fn stats_break_pledges_down_by_tier_and_day() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let id = app.live_campaign(&owner, "Lamp").await;
    let small = app
        .create_tier(&owner, id, &tier_body("Small", "10.00", None))
        .await["id"]
        .as_i64()
        .unwrap();
    app.create_tier(&owner, id, &tier_body("Unpopular", "500.00", None))
        .await;

    for amount in ["10.00", "15.00"] {
        let backer = app.create_user().await;
        app.pledged(&backer, id, &pledge_body(Some(small), amount)).await;
    }
    app.clock.advance(Duration::days(1));
    let owner = app.relogin(&owner).await;
    let late = app.create_user().await;
    app.pledged(&late, id, &pledge_body(None, "7.50")).await;
    let quitter = app.create_user().await;
    let gone = app
        .pledged(&quitter, id, &pledge_body(Some(small), "99.00"))
        .await;
    app.delete(
        &format!("/api/v1/pledges/{}", gone["id"]),
        Some(&quitter.access_token),
    )
    .await;

    let stats: Value = app
        .get(
            &format!("/api/v1/campaigns/{id}/stats"),
            Some(&owner.access_token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (stats["pledged"].as_str(), stats["backer_count"].as_i64()),
        (Some("32.50"), Some(3))
    );
    assert_eq!(stats["percent_funded"], 3);
    let tiers: Vec<(Value, i64, String)> = stats["tiers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["title"].clone(),
                t["backers"].as_i64().unwrap(),
                t["amount"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        tiers,
        [
            (json!("Small"), 2, "25.00".into()),
            (json!("Unpopular"), 0, "0.00".into()),
            (Value::Null, 1, "7.50".into())
        ]
    );
    let days: Vec<(i64, String)> = stats["per_day"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["pledges"].as_i64().unwrap(),
                d["amount"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(days, [(2, "25.00".into()), (1, "7.50".into())]);
    let first_day = app.clock.now() - Duration::days(1);
    assert_eq!(
        stats["per_day"][0]["date"],
        first_day.format("%Y-%m-%d").to_string()
    );

    assert_problem(
        app.get(&format!("/api/v1/campaigns/{id}/stats"), Some(&late.access_token))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
}
