//! Reach: referral tags and the refs pledges carry, and the share pages that link previews read.

use chrono::Duration;
use reqwest::StatusCode;
use scraper::{Html, Selector};
use serde_json::{Value, json};

use crate::community::Crowd;
use crate::helpers::{
    TestApp, TestUser, assert_problem, campaign_body, invalid_fields, pledge_body, spawn_app,
};

async fn tag(app: &TestApp, owner: &TestUser, campaign: i64, name: &str) -> Value {
    let response = app
        .post_json(
            &format!("/api/v1/campaigns/{campaign}/referrals"),
            &json!({ "name": name }),
            Some(&owner.access_token),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

#[tokio::test]
async fn pledges_carry_their_ref_and_stats_count_them() {
    let app = spawn_app().await;
    let crowd = Crowd::open(&app).await;
    let newsletter = tag(&app, &crowd.creator, crowd.id, "Newsletter").await;
    let code = newsletter["code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 8);
    assert_eq!(newsletter["share_path"], format!("/c/night-lamp?ref={code}"));
    let again = app
        .post_json(
            &format!("/api/v1/campaigns/{}/referrals", crowd.id),
            &json!({"name": "Newsletter"}),
            Some(&crowd.creator.access_token),
        )
        .await;
    assert_problem(again, StatusCode::CONFLICT).await;
    let by_backer = app
        .post_json(
            &format!("/api/v1/campaigns/{}/referrals", crowd.id),
            &json!({"name": "Mine"}),
            Some(&crowd.backer.access_token),
        )
        .await;
    assert_problem(by_backer, StatusCode::FORBIDDEN).await;

    // A tag's code (in any case), a channel, or nothing; anything else is refused.
    let from_tag = app.create_user().await;
    let mut body = pledge_body(Some(crowd.tier), "25.00");
    body["ref"] = json!(code.to_uppercase());
    let tagged = app.pledged(&from_tag, crowd.id, &body).await;
    assert_eq!(tagged["ref"], code.as_str());
    let from_search = app.create_user().await;
    body["ref"] = json!("search");
    body["amount"] = json!("15.00");
    let searched = app.pledged(&from_search, crowd.id, &body).await;
    for wrong in ["newsletter", "zzzzzzzz", ""] {
        body["ref"] = json!(wrong);
        let refused = app.pledge(&app.create_user().await, crowd.id, &body).await;
        let problem = assert_problem(refused, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(invalid_fields(&problem), ["ref"], "{wrong:?}");
    }
    let other = app.live_campaign(&crowd.creator, "Other").await;
    let other_code = tag(&app, &crowd.creator, other, "Elsewhere").await["code"].clone();
    body["ref"] = other_code;
    let foreign = app.pledge(&app.create_user().await, crowd.id, &body).await;
    assert_eq!(
        invalid_fields(&assert_problem(foreign, StatusCode::UNPROCESSABLE_ENTITY).await),
        ["ref"]
    );

    // The first ref wins: a change may add one, never replace it.
    let change = |pledge: &Value, user: &TestUser, body: Value| {
        let path = format!("/api/v1/pledges/{}", pledge["id"]);
        let token = user.access_token.clone();
        let app = &app;
        async move { app.patch_json(&path, &body, Some(&token)).await }
    };
    let kept: Value = change(&searched, &from_search, json!({"ref": code, "amount": "16.00"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(kept["ref"], "search");
    assert_eq!(kept["amount"], "16.00");
    let untagged = app.create_user().await;
    let plain = app.pledged(&untagged, crowd.id, &pledge_body(None, "5.00")).await;
    assert!(plain["ref"].is_null());
    let added: Value = change(&plain, &untagged, json!({"ref": "embed"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(added["ref"], "embed");
    let wrong = change(&plain, &untagged, json!({"ref": "nope"})).await;
    assert_eq!(
        invalid_fields(&assert_problem(wrong, StatusCode::UNPROCESSABLE_ENTITY).await),
        ["ref"]
    );

    let stats: Value = app
        .get(
            &format!("/api/v1/campaigns/{}/stats", crowd.id),
            Some(&crowd.creator.access_token),
        )
        .await
        .json()
        .await
        .unwrap();
    let by_ref: Vec<(Value, Value, Value, Value)> = stats["by_referral"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["ref"].clone(),
                r["name"].clone(),
                r["pledges"].clone(),
                r["amount"].clone(),
            )
        })
        .collect();
    let mut expected = vec![
        (Value::Null, Value::Null, json!(1), json!("10.00")),
        (json!("embed"), Value::Null, json!(1), json!("5.00")),
        (json!(code), json!("Newsletter"), json!(1), json!("25.00")),
        (json!("search"), Value::Null, json!(1), json!("16.00")),
    ];
    expected.sort_by_key(|(r, ..)| r.as_str().map(str::to_owned));
    let mut got = by_ref.clone();
    got.sort_by_key(|(r, ..)| r.as_str().map(str::to_owned));
    assert_eq!(got, expected, "{}", stats["by_referral"]);

    let list: Value = app
        .get(
            &format!("/api/v1/campaigns/{}/referrals", crowd.id),
            Some(&crowd.creator.access_token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"][0]["code"], code.as_str());
    assert_eq!(list["items"][0]["pledges"], 1);
    assert_eq!(list["items"][0]["amount"], "25.00");
    assert_eq!(list["items"][0]["collected"], "0.00");
    let hidden = app
        .get(
            &format!("/api/v1/campaigns/{}/referrals", crowd.id),
            Some(&crowd.outsider.access_token),
        )
        .await;
    assert_problem(hidden, StatusCode::FORBIDDEN).await;
}

#[tokio::test]
async fn the_fulfilment_export_and_collected_figures_show_the_ref() {
    let app = spawn_app().await;
    let creator = app.create_user().await;
    let mut body = campaign_body("Small Goal");
    body["goal"] = json!("10.00");
    body["duration_days"] = json!(1);
    let id = app.create_campaign(&creator, &body).await["id"].as_i64().unwrap();
    let launched = app
        .post_json(
            &format!("/api/v1/campaigns/{id}/launch"),
            &json!({}),
            Some(&creator.access_token),
        )
        .await;
    assert_eq!(launched.status(), StatusCode::OK);
    let code = tag(&app, &creator, id, "Podcast").await["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let backer = app.create_user().await;
    let mut pledge = pledge_body(None, "20.00");
    pledge["ref"] = json!(code);
    app.pledged(&backer, id, &pledge).await;
    app.clock.advance(Duration::days(1) + Duration::minutes(1));
    assert_eq!(app.settle().await["pledges"]["collected"], 1);
    let creator = app.relogin(&creator).await;

    let stats: Value = app
        .get(
            &format!("/api/v1/campaigns/{id}/stats"),
            Some(&creator.access_token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stats["by_referral"][0]["ref"], code.as_str());
    assert_eq!(stats["by_referral"][0]["collected"], "20.00");
    let csv = app
        .request(
            reqwest::Method::GET,
            &format!("/api/v1/campaigns/{id}/pledges"),
            Some(&creator.access_token),
        )
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].ends_with(",tracking_number,ref"), "{}", lines[0]);
    assert!(lines[1].ends_with(&format!(",{code}")), "{}", lines[1]);
}

fn meta(page: &Html, attribute: &str, name: &str) -> Option<String> {
    let selector = Selector::parse(&format!("meta[{attribute}=\"{name}\"]")).unwrap();
    page.select(&selector)
        .next()
        .and_then(|m| m.value().attr("content"))
        .map(str::to_owned)
}

#[tokio::test]
async fn share_pages_tell_link_previews_about_the_campaign() {
    let app = spawn_app().await;
    let creator = app.create_user().await;
    let title = r#"Tiny <script>alert("x")</script> & "Robots""#;
    let mut body = campaign_body(title);
    body["blurb"] = json!("It's <b>bold</b> & 'fun'");
    let campaign = app.create_campaign(&creator, &body).await;
    let id = campaign["id"].as_i64().unwrap();
    let slug = campaign["slug"].as_str().unwrap().to_owned();

    // A draft has no share page.
    let draft = app.get(&format!("/c/{slug}"), None).await;
    assert_eq!(draft.status(), StatusCode::NOT_FOUND);
    assert!(
        draft.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(draft.text().await.unwrap().contains("Campaign not found"));
    assert_eq!(
        app.get("/c/no-such-campaign", None).await.status(),
        StatusCode::NOT_FOUND
    );

    let image = app.uploaded(&creator, id).await;
    let cover = app
        .patch_json(
            &format!("/api/v1/campaigns/{id}"),
            &json!({"cover_image_id": image["id"]}),
            Some(&creator.access_token),
        )
        .await;
    assert_eq!(cover.status(), StatusCode::OK);
    let launched = app
        .post_json(
            &format!("/api/v1/campaigns/{id}/launch"),
            &json!({}),
            Some(&creator.access_token),
        )
        .await;
    assert_eq!(launched.status(), StatusCode::OK);
    app.pledged(&app.create_user().await, id, &pledge_body(None, "250.00"))
        .await;

    let response = app.get(&format!("/c/{slug}?utm_source=x&ref=Search"), None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let cache = response.headers()["cache-control"].to_str().unwrap().to_owned();
    assert!(
        cache.contains("public") && cache.contains("max-age=60"),
        "{cache}"
    );
    let text = response.text().await.unwrap();
    assert!(!text.contains("<script>alert"), "the title stays text: {text}");
    let page = Html::parse_document(&text);
    let canonical = format!("http://localhost:8080/campaigns/{slug}");
    assert_eq!(meta(&page, "property", "og:title").as_deref(), Some(title));
    assert_eq!(
        meta(&page, "property", "og:description").as_deref(),
        Some("It's <b>bold</b> & 'fun'")
    );
    assert_eq!(meta(&page, "property", "og:url"), Some(canonical.clone()));
    assert_eq!(
        meta(&page, "property", "og:image").as_deref(),
        image["variants"]["large"].as_str()
    );
    assert_eq!(
        meta(&page, "name", "twitter:card").as_deref(),
        Some("summary_large_image")
    );
    assert_eq!(meta(&page, "name", "twitter:title").as_deref(), Some(title));
    assert_eq!(meta(&page, "name", "twitter:label1").as_deref(), Some("Raised"));
    assert_eq!(
        meta(&page, "name", "twitter:data1").as_deref(),
        Some("250.00 USD of 1000.00 USD (25%)")
    );
    assert_eq!(
        meta(&page, "name", "twitter:label2").as_deref(),
        Some("Days left")
    );
    assert_eq!(meta(&page, "name", "twitter:data2").as_deref(), Some("30"));
    assert_eq!(
        meta(&page, "http-equiv", "refresh"),
        Some(format!("0; url={canonical}?ref=search"))
    );
    let link = Selector::parse("a#continue").unwrap();
    assert_eq!(
        page.select(&link).next().unwrap().value().attr("href"),
        Some(format!("{canonical}?ref=search").as_str())
    );
    let raised = Selector::parse("#raised").unwrap();
    let raised: String = page.select(&raised).next().unwrap().text().collect();
    assert!(
        raised.contains("250.00 USD of 1000.00 USD") && raised.contains("25%"),
        "{raised}"
    );
    assert!(raised.contains("30 days left"), "{raised}");
    let h1 = Selector::parse("h1").unwrap();
    assert_eq!(page.select(&h1).next().unwrap().text().collect::<String>(), title);

    // A ref that is no ref is not carried into the link.
    let odd = app
        .get(&format!("/c/{slug}?ref=%22%3E%3Cscript%3E"), None)
        .await
        .text()
        .await
        .unwrap();
    let odd = Html::parse_document(&odd);
    assert_eq!(
        meta(&odd, "http-equiv", "refresh"),
        Some(format!("0; url={canonical}"))
    );
}
