use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{assert_problem, pledge_body, spawn_app, tier_body};

#[tokio::test]
async fn creators_see_their_backers_as_json_pages_and_csv() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let admin = app.create_admin().await;
    let stranger = app.create_user().await;
    let id = app.live_campaign(&owner, "Lamp").await;
    let mut tier = tier_body("Lamp, boxed", "40.00", None);
    tier["shipping"] = json!({"*": "10.00"});
    let tier = app.create_tier(&owner, id, &tier).await["id"].as_i64().unwrap();

    let mut backers = Vec::new();
    for i in 0..3 {
        let backer = app.create_user().await;
        let mut body = pledge_body(Some(tier), &format!("{}.00", 50 + i));
        body["shipping_country"] = json!("DE");
        app.pledged(&backer, id, &body).await;
        backers.push(backer);
    }
    let path = format!("/api/v1/campaigns/{id}/pledges");

    let page: Value = app
        .get(&format!("{path}?limit=2"), Some(&owner.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(page["items"][0]["backer"]["email"], backers[0].email.as_str());
    assert_eq!(page["items"][0]["tier_title"], "Lamp, boxed");
    assert!(page["items"][0]["pledge"].get("payment_method").is_none());
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest: Value = app
        .get(
            &format!("{path}?limit=2&cursor={cursor}"),
            Some(&owner.access_token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rest["items"][0]["pledge"]["amount"], "52.00");
    assert_eq!(rest["next_cursor"], Value::Null);

    let csv = app
        .request(reqwest::Method::GET, &path, Some(&owner.access_token))
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "pledge_id,backer_name,backer_email,tier,amount,currency,shipping_country,status,pledged_at"
    );
    assert_eq!(lines.len(), 4);
    assert!(
        lines[1].contains(&format!(
            "Test User,{},\"Lamp, boxed\",50.00,USD,DE,active,",
            backers[0].email
        )),
        "{}",
        lines[1]
    );

    assert_eq!(
        app.get(&path, Some(&admin.access_token)).await.status(),
        StatusCode::OK
    );
    assert_problem(
        app.get(&path, Some(&stranger.access_token)).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_problem(
        app.get(&path, Some(&backers[0].access_token)).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_problem(app.get(&path, None).await, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn csv_export_streams_past_one_page() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let backer = app.create_user().await;
    let id = app.live_campaign(&owner, "Big").await;
    app.pledged(&backer, id, &pledge_body(None, "10.00")).await;
    // 2 500 pledges, more than two pages of the export, written directly for speed.
    let mut values = Vec::new();
    for _ in 0..2_500 {
        values.push(format!(
            "({id}, {}, 1000, 'canceled', 'pm_card_visa', '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
            backer.id
        ));
    }
    app.sql(&format!(
        "INSERT INTO pledges (campaign_id, backer_id, amount_minor, status, payment_method, created_at, updated_at) VALUES {}",
        values.join(",")
    ))
    .unwrap();
    let text = app
        .request(
            reqwest::Method::GET,
            &format!("/api/v1/campaigns/{id}/pledges"),
            Some(&owner.access_token),
        )
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(rows.len(), 2_501);
    let ids: std::collections::BTreeSet<&str> = rows.iter().map(|r| r.split(',').next().unwrap()).collect();
    assert_eq!(ids.len(), 2_501, "no row twice");
}
