use chrono::Duration;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{
    TestApp, TestUser, assert_problem, campaign_body, invalid_fields, pledge_body, spawn_app,
};

async fn pledge_with_key(
    app: &TestApp,
    backer: &TestUser,
    campaign: i64,
    key: &str,
    body: &Value,
) -> reqwest::Response {
    app.request(
        reqwest::Method::POST,
        &format!("/api/v1/campaigns/{campaign}/pledges"),
        Some(&backer.access_token),
    )
    .header("Idempotency-Key", key)
    .json(body)
    .send()
    .await
    .unwrap()
}

fn pledges_of(app: &TestApp, campaign: i64) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) AS n FROM pledges WHERE campaign_id = {campaign}"
    ))
}

#[tokio::test]
async fn a_retry_replays_the_first_answer_byte_for_byte() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let backer = app.create_user().await;
    let id = app.live_campaign(&owner, "Lamp").await;
    let body = pledge_body(None, "10.00");

    let first = pledge_with_key(&app, &backer, id, "key-1", &body).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first_body = first.bytes().await.unwrap();

    app.clock.advance(Duration::minutes(5));
    let retry = pledge_with_key(&app, &backer, id, "key-1", &body).await;
    assert_eq!(retry.status(), StatusCode::CREATED);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(retry.bytes().await.unwrap(), first_body);
    assert_eq!(pledges_of(&app, id), 1);

    // The same body with its keys in another order is the same request.
    let reordered: Value =
        serde_json::from_str(r#"{"payment_method":"pm_card_visa","amount":"10.00","tier_id":null}"#).unwrap();
    let again = pledge_with_key(&app, &backer, id, "key-1", &reordered).await;
    assert_eq!(again.bytes().await.unwrap(), first_body);
}

#[tokio::test]
async fn the_same_key_with_another_body_is_422() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let backer = app.create_user().await;
    let id = app.live_campaign(&owner, "Lamp").await;
    assert_eq!(
        pledge_with_key(&app, &backer, id, "key-1", &pledge_body(None, "10.00"))
            .await
            .status(),
        StatusCode::CREATED
    );
    let other = pledge_with_key(&app, &backer, id, "key-1", &pledge_body(None, "99.00")).await;
    let problem = assert_problem(other, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(invalid_fields(&problem), ["Idempotency-Key"]);
    assert_eq!(pledges_of(&app, id), 1);
    assert_eq!(app.campaign(id).await["pledged"], "10.00");
}

#[tokio::test]
async fn concurrent_requests_with_one_key_make_one_pledge() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let backer = app.create_user().await;
    let id = app.live_campaign(&owner, "Lamp").await;
    let body = pledge_body(None, "10.00");
    let attempts = (0..8).map(|_| pledge_with_key(&app, &backer, id, "same-key", &body));
    let statuses: Vec<StatusCode> = futures::future::join_all(attempts)
        .await
        .iter()
        .map(|r| r.status())
        .collect();
    // Each answer is the first one (201, possibly replayed) or "still running" (409): never a second pledge.
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT),
        "{statuses:?}"
    );
    assert!(statuses.contains(&StatusCode::CREATED));
    assert_eq!(pledges_of(&app, id), 1);
}

#[tokio::test]
async fn a_request_still_running_is_409() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let backer = app.create_user().await;
    let id = app.live_campaign(&owner, "Lamp").await;
    let body = pledge_body(None, "10.00");
    let first = pledge_with_key(&app, &backer, id, "in-flight", &body).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    // Make the record look "running", as while a request is in flight (or after its process died).
    app.sql(&format!(
        "UPDATE idempotency_keys SET response_status = NULL, response_body = NULL WHERE user_id = {}",
        backer.id
    ))
    .unwrap();
    let retry = pledge_with_key(&app, &backer, id, "in-flight", &body).await;
    let problem = assert_problem(retry, StatusCode::CONFLICT).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("still being processed"),
        "{problem}"
    );

    // Abandoned after a minute: the next retry runs again (and meets the real state: already backed).
    app.clock.advance(Duration::seconds(61));
    let backer = app.relogin(&backer).await;
    let retry = pledge_with_key(&app, &backer, id, "in-flight", &body).await;
    assert_problem(retry, StatusCode::CONFLICT).await;
    assert_eq!(pledges_of(&app, id), 1);
}

#[tokio::test]
async fn failures_are_not_stored_and_keys_expire_after_24_hours() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let backer = app.create_user().await;
    let id = app.live_campaign(&owner, "Lamp").await;
    let bad = pledge_body(None, "0.10");
    assert_problem(
        pledge_with_key(&app, &backer, id, "key", &bad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    // The failure stored nothing, so the key can carry the corrected request.
    assert_eq!(
        pledge_with_key(&app, &backer, id, "key", &pledge_body(None, "10.00"))
            .await
            .status(),
        StatusCode::CREATED
    );

    app.clock.advance(Duration::hours(25));
    let backer = app.relogin(&backer).await;
    let owner = app.relogin(&owner).await;
    let other = app.live_campaign(&owner, "Other").await;
    let fresh = pledge_with_key(&app, &backer, other, "key", &pledge_body(None, "10.00")).await;
    assert_eq!(
        fresh.status(),
        StatusCode::CREATED,
        "an expired key is forgotten, not compared"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM idempotency_keys"),
        1,
        "the old record was purged"
    );
}

#[tokio::test]
async fn keys_are_scoped_to_the_user_and_work_for_campaigns_too() {
    let app = spawn_app().await;
    let alice = app.create_user().await;
    let bob = app.create_user().await;
    let create = |user: &TestUser, title: &str| {
        app.request(
            reqwest::Method::POST,
            "/api/v1/campaigns",
            Some(&user.access_token),
        )
        .header("Idempotency-Key", "k")
        .json(&campaign_body(title))
        .send()
    };
    let a1: Value = create(&alice, "Alice's").await.unwrap().json().await.unwrap();
    let a2: Value = create(&alice, "Alice's").await.unwrap().json().await.unwrap();
    assert_eq!(a1["id"], a2["id"], "replayed");
    let b1 = create(&bob, "Bob's").await.unwrap();
    assert_eq!(
        b1.status(),
        StatusCode::CREATED,
        "another user's key is another key"
    );
    assert_ne!(b1.json::<Value>().await.unwrap()["id"], a1["id"]);
    let mine: Value = app
        .get("/api/v1/me/campaigns", Some(&alice.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn tiers_and_updates_honour_the_key_too() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let id = app.live_campaign(&owner, "Lamp").await;
    // One key per request: a key belongs to the user, and reusing it on another route is a
    // different request (422), as with Stripe.
    for (key, path, body) in [
        (
            "tier-key",
            format!("/api/v1/campaigns/{id}/tiers"),
            crate::helpers::tier_body("Tier", "5.00", None),
        ),
        (
            "update-key",
            format!("/api/v1/campaigns/{id}/updates"),
            serde_json::json!({"title": "News", "body": "Text"}),
        ),
    ] {
        let send = || {
            app.request(reqwest::Method::POST, &path, Some(&owner.access_token))
                .header("Idempotency-Key", key)
                .json(&body)
                .send()
        };
        let first = send().await.unwrap();
        assert_eq!(first.status(), StatusCode::CREATED);
        let first = first.bytes().await.unwrap();
        let again = send().await.unwrap();
        assert_eq!(again.headers()["idempotent-replayed"], "true", "{path}");
        assert_eq!(again.bytes().await.unwrap(), first);
    }
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM reward_tiers WHERE campaign_id = {id}"
        )),
        1
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM campaign_updates WHERE campaign_id = {id}"
        )),
        1
    );
}

#[derive(diesel::QueryableByName)]
struct Setting {
    #[diesel(sql_type = diesel::sql_types::Text)]
    synchronous_commit: String,
}

fn synchronous_commit(conn: &mut crowdfund::db::DbConn) -> String {
    use diesel::RunQueryDsl;
    diesel::sql_query("SHOW synchronous_commit")
        .get_result::<Setting>(conn)
        .expect("SHOW")
        .synchronous_commit
}

/// On PostgreSQL the key's reservation is committed without waiting for the disk (the
/// request's own commit, which follows, is durable and makes it durable too); every other
/// transaction, and the connection afterwards, waits as configured.
#[test]
fn only_the_key_reservation_skips_the_wait_for_the_disk() {
    use crowdfund::db::{DatabaseUrl, Db, marker_transaction, write_transaction};
    let (_db, url) = crate::helpers::TestDb::create();
    if !url.starts_with("postgres") {
        return; // SQLite's marker has a unit test of its own (`db::tests`)
    }
    let db = Db::connect(&DatabaseUrl::parse(&url).unwrap(), 1).unwrap();
    let mut conn = db.get_blocking().unwrap();
    let inside = marker_transaction(&mut conn, |c| {
        Ok::<_, diesel::result::Error>(synchronous_commit(c))
    });
    assert_eq!(inside.unwrap(), "off");
    let inside = write_transaction(&mut conn, |c| {
        Ok::<_, diesel::result::Error>(synchronous_commit(c))
    });
    assert_eq!(inside.unwrap(), "on");
    assert_eq!(synchronous_commit(&mut conn), "on");
}
