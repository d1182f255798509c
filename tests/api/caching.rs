use std::time::{Duration, Instant};

use reqwest::header::{CACHE_CONTROL, ETAG, IF_NONE_MATCH, VARY};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, pledge_body, spawn_app, tier_body};

/// A public answer's tag, after checking the headers that let anyone keep it.
fn public_tag(response: &reqwest::Response) -> String {
    let headers = response.headers();
    let control = headers[CACHE_CONTROL].to_str().unwrap();
    assert!(control.contains("public"), "{control}");
    assert!(control.contains("max-age=5"), "{control}");
    assert!(control.contains("stale-while-revalidate=30"), "{control}");
    let vary = headers[VARY].to_str().unwrap();
    assert!(vary.split(", ").any(|v| v == "Authorization"), "{vary}");
    let tag = headers[ETAG].to_str().unwrap().to_owned();
    assert!(tag.starts_with('"') && !tag.starts_with("W/"), "strong: {tag}");
    tag
}

async fn get_if_none_match(app: &TestApp, path: &str, tag: &str) -> reqwest::Response {
    app.request(Method::GET, path, None)
        .header(IF_NONE_MATCH, tag)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn anonymous_reads_have_strong_tags_and_revalidate_to_304() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let id = app.live_campaign(&owner, "Cached lamp").await;
    let tier = app
        .post_json(
            &format!("/api/v1/campaigns/{id}/tiers"),
            &tier_body("Early", "10.00", Some(5)),
            Some(&owner.access_token),
        )
        .await;
    assert_eq!(tier.status(), StatusCode::CREATED);

    for path in [
        format!("/api/v1/campaigns/{id}"),
        format!("/api/v1/campaigns/{id}/tiers"),
        "/api/v1/campaigns".to_owned(),
        "/api/v1/campaigns?q=lamp".to_owned(),
    ] {
        let first = app.get(&path, None).await;
        assert_eq!(first.status(), StatusCode::OK, "{path}");
        let tag = public_tag(&first);
        let body: Value = first.json().await.unwrap();

        let again = app.get(&path, None).await;
        assert_eq!(public_tag(&again), tag, "{path}: same answer, same tag");
        assert_eq!(again.json::<Value>().await.unwrap(), body);

        let unchanged = get_if_none_match(&app, &path, &tag).await;
        assert_eq!(unchanged.status(), StatusCode::NOT_MODIFIED, "{path}");
        assert_eq!(public_tag(&unchanged), tag);
        assert!(unchanged.bytes().await.unwrap().is_empty());
        let listed = get_if_none_match(&app, &path, &format!("\"other\", {tag}")).await;
        assert_eq!(
            listed.status(),
            StatusCode::NOT_MODIFIED,
            "{path}: a tag in a list"
        );
        let any = get_if_none_match(&app, &path, "*").await;
        assert_eq!(any.status(), StatusCode::NOT_MODIFIED, "{path}: *");

        let other = get_if_none_match(&app, &path, "\"other\"").await;
        assert_eq!(other.status(), StatusCode::OK, "{path}");
        assert_eq!(other.json::<Value>().await.unwrap(), body);

        let signed_in = app
            .request(Method::GET, &path, Some(&owner.access_token))
            .header(IF_NONE_MATCH, &tag)
            .send()
            .await
            .unwrap();
        assert_eq!(
            signed_in.status(),
            StatusCode::OK,
            "{path}: not for a signed-in caller"
        );
        assert!(signed_in.headers().get(ETAG).is_none());
        assert!(signed_in.headers().get(CACHE_CONTROL).is_none());
    }
}

#[tokio::test]
async fn this_servers_writes_show_at_once_and_change_the_tag() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let id = app.live_campaign(&owner, "Telescope").await;
    let path = format!("/api/v1/campaigns/{id}");
    let before = app.get(&path, None).await;
    let tag = public_tag(&before);
    assert_eq!(before.json::<Value>().await.unwrap()["pledged"], "0.00");

    let backer = app.create_user().await;
    app.pledged(&backer, id, &pledge_body(None, "25.00")).await;
    let after = get_if_none_match(&app, &path, &tag).await;
    assert_eq!(after.status(), StatusCode::OK, "the old tag no longer matches");
    assert_ne!(public_tag(&after), tag);
    assert_eq!(after.json::<Value>().await.unwrap()["pledged"], "25.00");

    let renamed = app
        .patch_json(
            &path,
            &json!({"blurb": "Now with a tripod"}),
            Some(&owner.access_token),
        )
        .await;
    assert_eq!(renamed.status(), StatusCode::OK);
    assert_eq!(app.campaign(id).await["blurb"], "Now with a tripod");

    // The clock moving on is a change too: the time left is counted from it.
    let left = app.campaign(id).await["seconds_left"].as_i64().unwrap();
    app.clock.advance(chrono::Duration::days(1));
    assert_eq!(
        app.campaign(id).await["seconds_left"].as_i64().unwrap(),
        left - 86_400
    );
}

#[tokio::test]
async fn other_servers_writes_show_within_a_second() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let id = app.live_campaign(&owner, "Shared view").await;
    let path = format!("/api/v1/campaigns/{id}");
    let filled = Instant::now();
    assert_eq!(app.campaign(id).await["title"], "Shared view");

    // Another server (or the command line) changes the campaign: this one does not hear of it.
    app.sql(&format!(
        "UPDATE campaigns SET title = 'Renamed view' WHERE id = {id}"
    ))
    .unwrap();
    let kept = app.campaign(id).await;
    if filled.elapsed() < Duration::from_millis(900) {
        assert_eq!(kept["title"], "Shared view", "served from this server's copy");
    }
    let signed_in: Value = app
        .get(&path, Some(&owner.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        signed_in["title"], "Renamed view",
        "signed-in callers read the database"
    );

    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(app.campaign(id).await["title"], "Renamed view");
}
