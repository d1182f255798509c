//! What a black-box attack found: each test reproduces one hole, then shows it closed.

use chrono::Duration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    SPA_ORIGIN, TestApp, TestUser, assert_problem, campaign_body, invalid_fields, pledge_body, spawn_app,
    spawn_app_with, tier_body,
};

/// A live campaign with `goal` over 2 days, with one tier; returns (campaign id, tier id).
async fn live_with_tier(app: &TestApp, owner: &TestUser, goal: &str) -> (i64, i64) {
    let mut body = campaign_body("Holes");
    body["goal"] = json!(goal);
    body["duration_days"] = json!(2);
    let id = app.create_campaign(owner, &body).await["id"].as_i64().unwrap();
    let tier = app
        .create_tier(owner, id, &tier_body("Lamp", "5.00", Some(100)))
        .await["id"]
        .as_i64()
        .unwrap();
    let launched = app
        .post_json(
            &format!("/api/v1/campaigns/{id}/launch"),
            &json!({}),
            Some(&owner.access_token),
        )
        .await;
    assert_eq!(launched.status(), StatusCode::OK);
    (id, tier)
}

async fn settlement_view(app: &TestApp, user: &TestUser, id: i64) -> Value {
    let response = app
        .get(
            &format!("/api/v1/campaigns/{id}/settlement"),
            Some(&user.access_token),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// A successful campaign with one collected 10.00 pledge; returns (owner, admin, campaign, pledge).
async fn successful_with_one_pledge(app: &TestApp) -> (TestUser, TestUser, i64, i64) {
    let owner = app.create_user().await;
    let admin = app.create_admin().await;
    let backer = app.create_user().await;
    let (id, _) = live_with_tier(app, &owner, "10.00").await;
    let pledge = app.pledged(&backer, id, &pledge_body(None, "10.00")).await["id"]
        .as_i64()
        .unwrap();
    app.clock.advance(Duration::days(2));
    for _ in 0..5 {
        app.settle().await;
        if app.campaign(id).await["status"] == "successful" {
            break;
        }
        app.clock.advance(Duration::hours(1));
    }
    assert_eq!(app.campaign(id).await["status"], "successful");
    (app.relogin(&owner).await, app.relogin(&admin).await, id, pledge)
}

// 1
#[tokio::test]
async fn a_live_campaign_past_its_deadline_no_longer_changes() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let (id, tier) = live_with_tier(&app, &owner, "10.00").await;
    let backer = app.create_user().await;
    app.pledged(&backer, id, &pledge_body(Some(tier), "20.00")).await;
    app.clock.advance(Duration::days(2) + Duration::minutes(1));
    let owner = app.relogin(&owner).await;
    let token = Some(owner.access_token.as_str());
    let campaign = format!("/api/v1/campaigns/{id}");
    let tiers = format!("{campaign}/tiers");

    for response in [
        app.patch_json(&campaign, &json!({"title": "Changed at the last second"}), token)
            .await,
        app.post_json(&tiers, &tier_body("Late tier", "1.00", None), token)
            .await,
        app.patch_json(&format!("{tiers}/{tier}"), &json!({"title": "Renamed"}), token)
            .await,
        app.post_json(&format!("{campaign}/cancel"), &json!({}), token)
            .await,
    ] {
        let problem = assert_problem(response, StatusCode::CONFLICT).await;
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("deadline has passed"),
            "{problem}"
        );
    }
    let unbacked = app.count(&format!(
        "SELECT COUNT(*) AS n FROM reward_tiers WHERE campaign_id = {id}"
    ));
    assert_eq!(unbacked, 1, "no tier was added");

    // Nothing changed: settlement closes it funded and charges the pledge.
    let view = app.campaign(id).await;
    assert_eq!(
        (view["title"].as_str(), view["status"].as_str()),
        (Some("Holes"), Some("live"))
    );
    app.settle().await;
    assert_eq!(app.campaign(id).await["status"], "successful");
}

// 2
#[tokio::test]
async fn refunds_past_the_payout_show_in_the_settlement_view_and_fail_the_audit() {
    let app = spawn_app().await;
    let (owner, admin, id, pledge) = successful_with_one_pledge(&app).await;
    // 10.00 = processing fee 0.59 (2.9 % + 0.30) + platform fee 0.50 (5 %) + payout 8.91.
    let view = settlement_view(&app, &owner, id).await;
    assert_eq!(
        (
            view["payout"].as_str(),
            view["creator_payable"].as_str(),
            view["owed_by_creator"].as_str()
        ),
        (Some("8.91"), Some("8.91"), Some("0.00"))
    );
    assert_eq!(app.audit(&admin).await["ok"], true);

    let refunded = app
        .post_json(
            &format!("/api/v1/pledges/{pledge}/refund"),
            &json!({}),
            Some(&owner.access_token),
        )
        .await;
    assert_eq!(refunded.status(), StatusCode::OK);
    let view = settlement_view(&app, &owner, id).await;
    assert_eq!(view["refunded"], json!({"pledges": 1, "amount": "10.00"}));
    assert_eq!(
        (
            view["payout"].as_str(),
            view["creator_payable"].as_str(),
            view["owed_by_creator"].as_str()
        ),
        (Some("8.91"), Some("0.00"), Some("1.09"))
    );

    let report = app
        .get("/api/v1/admin/ledger/verify", Some(&admin.access_token))
        .await;
    let problem = assert_problem(report, StatusCode::CONFLICT).await;
    assert_eq!(
        problem["errors"],
        json!([{"field": "negative_creator_balances", "message": format!("campaign {id}: creator balance -109")}])
    );
}

// 3
#[tokio::test]
async fn a_body_on_a_route_that_takes_none_is_refused() {
    let app = spawn_app().await;
    let (owner, _admin, _id, pledge) = successful_with_one_pledge(&app).await;
    let path = format!("/api/v1/pledges/{pledge}/refund");
    let problem = assert_problem(
        app.post_json(&path, &json!({"amount": "1000000.00"}), Some(&owner.access_token))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(invalid_fields(&problem), ["amount"]);
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM sandbox_refunds"),
        0,
        "nothing refunded"
    );

    // No body at all, or an empty object, is what the route takes.
    let response = app
        .request(Method::POST, &path, Some(&owner.access_token))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

// 4
#[tokio::test]
async fn concurrent_refunds_of_one_pledge_refund_once_and_the_losers_get_409() {
    let app = spawn_app().await;
    let (owner, _admin, _id, pledge) = successful_with_one_pledge(&app).await;
    let path = format!("/api/v1/pledges/{pledge}/refund");
    let body = json!({});
    let answers =
        futures::future::join_all((0..10).map(|_| app.post_json(&path, &body, Some(&owner.access_token))))
            .await;
    let mut statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409, 409, 409, 409, 409, 409, 409, 409, 409]);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM sandbox_refunds"), 1);
}

// 5
#[tokio::test]
async fn the_largest_pledges_on_the_smallest_goal_still_rank() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let (id, _) = live_with_tier(&app, &owner, "1.00").await;
    let backer = app.create_user().await;
    let problem = assert_problem(
        app.pledge(&backer, id, &pledge_body(None, "100000000.01")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(invalid_fields(&problem), ["amount"]);
    for _ in 0..10 {
        let backer = app.create_user().await;
        app.pledged(&backer, id, &pledge_body(None, "100000000.00")).await;
    }
    assert_eq!(app.campaign(id).await["pledged"], "1000000000.00");
    let page: Value = app
        .get("/api/v1/campaigns?sort=most_funded", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"][0]["id"], id);
}

/// Series in a Prometheus text exposition: its lines that are not comments.
async fn series(app: &TestApp, token: Option<&str>) -> usize {
    let response = app.request(Method::GET, "/metrics", token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .count()
}

// 6
#[tokio::test]
async fn invented_methods_and_paths_add_no_metrics_series_and_a_token_can_guard_them() {
    const TOKEN: &str = "metrics-token-0123456789";
    let app = spawn_app_with(&[("METRICS_TOKEN", TOKEN)]).await;
    assert_problem(app.get("/metrics", None).await, StatusCode::UNAUTHORIZED).await;
    assert_problem(
        app.request(Method::GET, "/metrics", Some("wrong-token-0123456789"))
            .send()
            .await
            .unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;

    let invented = |n: usize| Method::from_bytes(format!("X{n:05}").as_bytes()).unwrap();
    for n in 0..3 {
        app.request(invented(n), &format!("/nowhere/{n}"), None)
            .send()
            .await
            .unwrap();
        app.request(invented(n), "/health/live", None)
            .send()
            .await
            .unwrap();
    }
    // (a first scrape that succeeds adds its own series: GET /metrics answered 200)
    series(&app, Some(TOKEN)).await;
    let before = series(&app, Some(TOKEN)).await;
    for n in 3..1_003 {
        let path = if n % 2 == 0 {
            format!("/nowhere/{n}")
        } else {
            "/health/live".to_owned()
        };
        app.request(invented(n), &path, None).send().await.unwrap();
    }
    assert_eq!(series(&app, Some(TOKEN)).await, before);
}

// 8
#[tokio::test]
async fn control_characters_in_text_input_are_refused() {
    let app = spawn_app().await;
    let problem = assert_problem(
        app.get("/api/v1/campaigns?q=%00", None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(invalid_fields(&problem), ["q"]);
    let owner = app.create_user().await;
    let mut body = campaign_body("Fine title");
    body["description"] = json!("text\u{0}with a NUL");
    let problem = assert_problem(
        app.post_json("/api/v1/campaigns", &body, Some(&owner.access_token))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(invalid_fields(&problem), ["description"]);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM campaigns"), 0);
}

// 9
#[tokio::test]
async fn a_key_repeated_in_a_body_is_refused() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let (id, _) = live_with_tier(&app, &owner, "10.00").await;
    let backer = app.create_user().await;
    let response = app
        .request(
            Method::POST,
            &format!("/api/v1/campaigns/{id}/pledges"),
            Some(&backer.access_token),
        )
        .header("content-type", "application/json")
        .body(r#"{"amount":"10.00","payment_method":"pm_card_visa","amount":"1000000.00"}"#)
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(invalid_fields(&problem), ["amount"]);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM pledges"), 0);
}

// 10
#[tokio::test]
async fn dates_outside_any_sensible_range_are_refused() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let id = app.create_campaign(&owner, &campaign_body("Dated")).await["id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/v1/campaigns/{id}/tiers");
    let token = Some(owner.access_token.as_str());
    let mut far = tier_body("Far", "5.00", None);
    far["estimated_delivery"] = json!("9999-12");
    let mut year_zero = tier_body("Year zero", "5.00", None);
    year_zero["starts_at"] = json!("0000-01-01T00:00:00Z");
    let mut epoch = tier_body("Epoch", "5.00", None);
    epoch["ends_at"] = json!("1970-01-01T00:00:00Z");
    for (body, field) in [
        (far, "estimated_delivery"),
        (year_zero, "starts_at"),
        (epoch, "ends_at"),
    ] {
        let problem = assert_problem(
            app.post_json(&path, &body, token).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(invalid_fields(&problem), [field], "{problem}");
    }
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM reward_tiers"), 0);

    // A live campaign's windows end by its deadline (30 days away).
    let launched = app
        .post_json(&format!("/api/v1/campaigns/{id}/launch"), &json!({}), token)
        .await;
    assert_eq!(launched.status(), StatusCode::OK);
    let mut late = tier_body("Late", "5.00", None);
    late["ends_at"] = json!((app.clock.now() + Duration::days(31)).to_rfc3339());
    let problem = assert_problem(
        app.post_json(&path, &late, token).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(invalid_fields(&problem), ["ends_at"]);
    late["ends_at"] = json!((app.clock.now() + Duration::days(29)).to_rfc3339());
    app.create_tier(&owner, id, &late).await;
}

// 11
#[tokio::test]
async fn only_assigned_country_codes_are_taken() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let id = app.create_campaign(&owner, &campaign_body("Shipped")).await["id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/v1/campaigns/{id}/tiers");
    let mut body = tier_body("Boxed", "5.00", None);
    body["shipping"] = json!({"XX": "5.00", "*": "9.00"});
    let problem = assert_problem(
        app.post_json(&path, &body, Some(&owner.access_token)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(invalid_fields(&problem), ["shipping.XX"]);
    body["shipping"] = json!({"US": "5.00", "*": "9.00"});
    let tier = app.create_tier(&owner, id, &body).await["id"].as_i64().unwrap();
    app.post_json(
        &format!("/api/v1/campaigns/{id}/launch"),
        &json!({}),
        Some(&owner.access_token),
    )
    .await;
    let backer = app.create_user().await;
    let mut pledge = pledge_body(Some(tier), "20.00");
    pledge["shipping_country"] = json!("XX");
    let problem = assert_problem(
        app.pledge(&backer, id, &pledge).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(invalid_fields(&problem), ["shipping_country"]);
    pledge["shipping_country"] = json!("FR");
    app.pledged(&backer, id, &pledge).await;
}

// 12
#[tokio::test]
async fn bidi_overrides_and_zero_width_characters_are_refused() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let token = Some(owner.access_token.as_str());
    for (field, value) in [
        ("title", "Lamp \u{202E}gnp.exe"),
        ("title", "La\u{200B}mp"),
        ("blurb", "\u{2066}isolated\u{2069}"),
        ("description", "reads \u{202E}backwards"),
    ] {
        let mut body = campaign_body("Fine title");
        body[field] = json!(value);
        let problem = assert_problem(
            app.post_json("/api/v1/campaigns", &body, token).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(invalid_fields(&problem), [field], "{value:?}");
    }
    let problem = assert_problem(
        app.register("zw@example.com", crate::helpers::PASSWORD, "Ad\u{200D}min")
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(invalid_fields(&problem), ["display_name"]);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM campaigns"), 0);
}

/// Sends raw bytes (what no HTTP client library would send) and reads the whole answer:
/// (status, content type, body).
async fn raw_request(app: &TestApp, request: Vec<u8>) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    // The server may answer (and close) before reading all of an oversized head.
    let _ = stream.write_all(&request).await;
    let mut answer = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        match tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => answer.extend_from_slice(&chunk[..n]),
        }
    }
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type: ")
                .map(str::to_owned)
        })
        .unwrap_or_default();
    (status, content_type, body.to_owned())
}

fn assert_problem_answer((status, content_type, body): (u16, String, String), want: u16, what: &str) {
    assert_eq!(status, want, "{what}: {body}");
    assert_eq!(content_type, "application/problem+json", "{what}: {body}");
    let problem: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{what}: {e}: {body:?}"));
    assert_eq!(problem["status"], want, "{what}");
    assert!(
        problem["type"].as_str().unwrap().starts_with("/problems/"),
        "{what}"
    );
    assert!(!problem["detail"].as_str().unwrap().is_empty(), "{what}");
}

#[tokio::test]
async fn what_the_framework_refuses_is_still_answered_with_a_problem() {
    let app = spawn_app().await;
    let query = "a".repeat(80 * 1024);
    let long = format!("GET /api/v1/campaigns?q={query} HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_problem_answer(
        raw_request(&app, long.into_bytes()).await,
        400,
        "an 80 KB query string",
    );
    for (name, byte) in [("NUL", 0u8), ("DEL", 0x7f)] {
        let mut request = b"GET /api/v1/campaigns HTTP/1.1\r\nHost: x\r\nX-Note: a".to_vec();
        request.push(byte);
        request.extend_from_slice(b"b\r\n\r\n");
        assert_problem_answer(raw_request(&app, request).await, 400, name);
    }
    let mut huge = b"GET /api/v1/campaigns HTTP/1.1\r\nHost: x\r\nX-Note: ".to_vec();
    huge.extend(std::iter::repeat_n(b'b', 140 * 1024));
    huge.extend_from_slice(b"\r\n\r\n");
    assert_problem_answer(raw_request(&app, huge).await, 431, "a 140 KB header");

    // A refused CORS preflight: an origin not allowed, and a method not allowed.
    for (origin, method) in [("http://evil.test", "POST"), (SPA_ORIGIN, "TRACE")] {
        let preflight = app
            .request(Method::OPTIONS, "/api/v1/campaigns", None)
            .header("Origin", origin)
            .header("Access-Control-Request-Method", method)
            .send()
            .await
            .unwrap();
        let problem = assert_problem(preflight, StatusCode::BAD_REQUEST).await;
        assert!(
            problem["detail"].as_str().unwrap().contains("not allowed"),
            "{problem}"
        );
    }
    // What is allowed is answered as before, and the server still serves.
    let preflight = app
        .request(Method::OPTIONS, "/api/v1/campaigns", None)
        .header("Origin", SPA_ORIGIN)
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), StatusCode::OK);
    assert_eq!(preflight.headers()["access-control-allow-origin"], SPA_ORIGIN);
    assert_eq!(app.get("/health/ready", None).await.status(), StatusCode::OK);
}
