use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, campaign_body, invalid_fields, pledge_body, spawn_app};

fn titles(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["title"].as_str().unwrap().to_owned())
        .collect()
}

async fn page(app: &TestApp, query: &str) -> Value {
    let response = app.get(&format!("/api/v1/campaigns?{query}"), None).await;
    assert_eq!(response.status(), StatusCode::OK, "{query}");
    response.json().await.unwrap()
}

/// Follows `next_cursor` to the end; returns every title in order.
async fn walk(app: &TestApp, query: &str) -> Vec<String> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(c) => format!("{query}&cursor={c}"),
            None => query.to_owned(),
        };
        let page = page(app, &q).await;
        all.extend(titles(&page));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return all,
        }
    }
}

#[tokio::test]
async fn lists_live_campaigns_by_each_sort_order() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    // Launched minutes apart, with durations making the deadlines run another way.
    for (title, days) in [("Alpha", 50), ("Bravo", 20), ("Charlie", 40)] {
        let mut body = campaign_body(title);
        body["duration_days"] = json!(days);
        let id = app.create_campaign(&owner, &body).await["id"].as_i64().unwrap();
        app.post_json(
            &format!("/api/v1/campaigns/{id}/launch"),
            &json!({}),
            Some(&owner.access_token),
        )
        .await;
        app.clock.advance(Duration::minutes(1));
    }
    app.create_campaign(&owner, &campaign_body("Draft never listed"))
        .await;

    assert_eq!(
        titles(&page(&app, "").await),
        ["Charlie", "Bravo", "Alpha"],
        "newest first by default"
    );
    assert_eq!(
        titles(&page(&app, "sort=ending_soon").await),
        ["Bravo", "Charlie", "Alpha"]
    );
    assert_eq!(
        walk(&app, "sort=newest&limit=1").await,
        ["Charlie", "Bravo", "Alpha"]
    );
    assert_eq!(
        walk(&app, "sort=ending_soon&limit=2").await,
        ["Bravo", "Charlie", "Alpha"]
    );
    // No pledges yet: ties fall back to the newest id.
    assert_eq!(
        walk(&app, "sort=most_backed&limit=1").await,
        ["Charlie", "Bravo", "Alpha"]
    );
    assert_eq!(
        walk(&app, "sort=most_funded&limit=2").await,
        ["Charlie", "Bravo", "Alpha"]
    );
    assert_eq!(
        page(&app, "limit=3").await["next_cursor"],
        Value::Null,
        "no cursor after the last page"
    );
}

#[tokio::test]
async fn funded_and_backed_orders_use_the_running_totals() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let a = app.live_campaign(&owner, "Half funded").await;
    let b = app.live_campaign(&owner, "Double funded").await;
    let c = app.live_campaign(&owner, "Unfunded").await;
    // Totals and the ranked copies the listings sort by are written by pledges; set them
    // directly to test the ordering alone.
    app.sql(&format!(
        "UPDATE campaigns SET pledged_minor = 50000, backer_count = 9, \
         ranked_pledged_minor = 50000, ranked_backer_count = 9 WHERE id = {a}"
    ))
    .unwrap();
    app.sql(&format!(
        "UPDATE campaigns SET pledged_minor = 200000, backer_count = 3, \
         ranked_pledged_minor = 200000, ranked_backer_count = 3 WHERE id = {b}"
    ))
    .unwrap();
    let _ = c;
    assert_eq!(
        walk(&app, "sort=most_funded&limit=1").await,
        ["Double funded", "Half funded", "Unfunded"]
    );
    assert_eq!(
        walk(&app, "sort=most_backed&limit=1").await,
        ["Half funded", "Double funded", "Unfunded"]
    );
    let half: Value = app
        .get(&format!("/api/v1/campaigns/{a}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (half["pledged"].as_str(), half["percent_funded"].as_i64()),
        (Some("500.00"), Some(50))
    );
}

#[tokio::test]
async fn filters_by_status_category_and_text() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let mut game = campaign_body("Dungeon Board Game");
    game["category"] = json!("games");
    game["blurb"] = json!("Cooperative 100% fun_for all");
    let game_id = app.create_campaign(&owner, &game).await["id"].as_i64().unwrap();
    app.post_json(
        &format!("/api/v1/campaigns/{game_id}/launch"),
        &json!({}),
        Some(&owner.access_token),
    )
    .await;
    let lamp = app.live_campaign(&owner, "Solar lamp").await;
    app.post_json(
        &format!("/api/v1/campaigns/{lamp}/cancel"),
        &json!({}),
        Some(&owner.access_token),
    )
    .await;

    assert_eq!(
        titles(&page(&app, "category=games").await),
        ["Dungeon Board Game"]
    );
    assert_eq!(
        titles(&page(&app, "category=technology").await),
        Vec::<String>::new()
    );
    assert_eq!(titles(&page(&app, "status=canceled").await), ["Solar lamp"]);
    assert_eq!(
        titles(&page(&app, "q=BOARD").await),
        ["Dungeon Board Game"],
        "case-insensitive title match"
    );
    assert_eq!(
        titles(&page(&app, "q=cooperative").await),
        ["Dungeon Board Game"],
        "blurb match"
    );
    assert_eq!(
        titles(&page(&app, "q=100%25").await),
        ["Dungeon Board Game"],
        "100% holds the word 100"
    );
    assert_eq!(
        titles(&page(&app, "q=%25game").await),
        ["Dungeon Board Game"],
        "% only separates words"
    );
    assert_eq!(
        titles(&page(&app, "q=g_me").await),
        Vec::<String>::new(),
        "_ is no wildcard"
    );
    assert_eq!(
        titles(&page(&app, "q=_").await),
        Vec::<String>::new(),
        "no words, no matches"
    );
    assert_eq!(titles(&page(&app, "q=1_0").await), Vec::<String>::new());
}

async fn launched(app: &TestApp, owner: &crate::helpers::TestUser, title: &str, blurb: &str) -> i64 {
    let mut body = campaign_body(title);
    body["blurb"] = json!(blurb);
    app.live_campaign_from(owner, &body).await
}

#[tokio::test]
async fn search_finds_words_ranks_title_matches_first_and_pages_by_relevance() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    launched(&app, &owner, "Camping stove", "Cooks with solar power").await;
    launched(&app, &owner, "Solar lamp", "Light for the tent").await;
    launched(&app, &owner, "Café racer", "A motorbike kit").await;
    launched(&app, &owner, "Board game", "Players race to the solarium").await;

    assert_eq!(
        titles(&page(&app, "q=solar").await),
        ["Solar lamp", "Camping stove", "Board game"],
        "a title match first; the last word is a prefix"
    );
    assert_eq!(
        titles(&page(&app, "q=SOLAR%20la").await),
        ["Solar lamp"],
        "every word must match, the last as a prefix"
    );
    assert_eq!(titles(&page(&app, "q=lamp%20solar").await), ["Solar lamp"]);
    assert_eq!(
        titles(&page(&app, "q=sol%20lamp").await),
        Vec::<String>::new(),
        "only the last word is a prefix"
    );
    assert_eq!(titles(&page(&app, "q=caf%C3%89").await), ["Café racer"]);
    assert_eq!(
        titles(&page(&app, "q=cafe").await),
        Vec::<String>::new(),
        "accents are kept"
    );
    assert_eq!(
        titles(&page(&app, "q=%22solar%22%20OR%20stove*").await),
        Vec::<String>::new(),
        "operators are words: OR must appear"
    );
    assert_eq!(
        titles(&page(&app, "q=solar&sort=newest").await),
        ["Board game", "Solar lamp", "Camping stove"]
    );
    assert_eq!(
        walk(&app, "q=solar&limit=1").await,
        ["Solar lamp", "Camping stove", "Board game"],
        "relevance pages continue after the last row"
    );
    assert_eq!(
        walk(&app, "q=solar&sort=relevance&limit=2").await,
        ["Solar lamp", "Camping stove", "Board game"]
    );
    assert_eq!(
        titles(&page(&app, "q=solar&category=games").await),
        Vec::<String>::new(),
        "filters still apply"
    );

    let response = app.get("/api/v1/campaigns?sort=relevance", None).await;
    let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(invalid_fields(&problem), ["sort"]);
}

#[tokio::test]
async fn search_follows_title_and_blurb_changes() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let mut body = campaign_body("Old name");
    body["blurb"] = json!("Nothing here");
    let id = app.create_campaign(&owner, &body).await["id"].as_i64().unwrap();
    let response = app
        .patch_json(
            &format!("/api/v1/campaigns/{id}"),
            &json!({"title": "Telescope", "blurb": "See the rings of Saturn"}),
            Some(&owner.access_token),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    app.post_json(
        &format!("/api/v1/campaigns/{id}/launch"),
        &json!({}),
        Some(&owner.access_token),
    )
    .await;
    assert_eq!(titles(&page(&app, "q=telescope").await), ["Telescope"]);
    assert_eq!(titles(&page(&app, "q=saturn").await), ["Telescope"]);
    assert_eq!(titles(&page(&app, "q=old").await), Vec::<String>::new());
    assert_eq!(titles(&page(&app, "q=nothing").await), Vec::<String>::new());

    // Pledges move the totals, not the index.
    let backer = app.create_user().await;
    app.pledged(&backer, id, &pledge_body(None, "10.00")).await;
    let found = page(&app, "q=telescope").await;
    assert_eq!(found["items"][0]["pledged"], "10.00");
}

#[tokio::test]
async fn pages_stay_stable_when_campaigns_are_added() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    for i in 0..5 {
        app.live_campaign(&owner, &format!("Campaign {i}")).await;
        app.clock.advance(Duration::minutes(1));
    }
    let first = page(&app, "limit=2").await;
    assert_eq!(titles(&first), ["Campaign 4", "Campaign 3"]);
    app.live_campaign(&owner, "Inserted meanwhile").await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = page(&app, &format!("limit=2&cursor={cursor}")).await;
    assert_eq!(
        titles(&second),
        ["Campaign 2", "Campaign 1"],
        "no repeats, no skips"
    );
}

#[tokio::test]
async fn bad_list_parameters_are_422() {
    let app = spawn_app().await;
    let first = page(&app, "limit=1").await;
    assert_eq!(first["items"], json!([]));
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("status=draft", "status"),
        ("status=bogus", "status"),
        ("sort=cheapest", "sort"),
        ("category=cooking", "category"),
        ("cursor=nonsense", "cursor"),
        ("unknown=1", "unknown"),
    ] {
        let response = app.get(&format!("/api/v1/campaigns?{query}"), None).await;
        let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(invalid_fields(&problem), [field], "{query}");
    }
    // A cursor from one sort order is refused by another.
    let owner = app.create_user().await;
    app.live_campaign(&owner, "One").await;
    app.live_campaign(&owner, "Two").await;
    let cursor = page(&app, "limit=1").await["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = app
        .get(
            &format!("/api/v1/campaigns?sort=most_backed&cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(
        invalid_fields(&assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await),
        ["cursor"]
    );
}

#[tokio::test]
async fn me_campaigns_lists_own_drafts_too() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let other = app.create_user().await;
    app.live_campaign(&owner, "Mine live").await;
    app.create_campaign(&owner, &campaign_body("Mine draft")).await;
    app.create_campaign(&other, &campaign_body("Not mine")).await;
    let mut all = Vec::new();
    let mut query = "/api/v1/me/campaigns?limit=1".to_owned();
    loop {
        let page: Value = app
            .get(&query, Some(&owner.access_token))
            .await
            .json()
            .await
            .unwrap();
        all.extend(titles(&page));
        match page["next_cursor"].as_str() {
            Some(c) => query = format!("/api/v1/me/campaigns?limit=1&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(all, ["Mine draft", "Mine live"]);
    let drafts: Value = app
        .get("/api/v1/me/campaigns?status=draft", Some(&owner.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(titles(&drafts), ["Mine draft"]);
    assert_problem(
        app.get("/api/v1/me/campaigns", None).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}
