//! Outbound webhooks, against a receiver on loopback that checks signatures the way the
//! Standard Webhooks specification says (written here from the specification, not with the
//! server's code), fails or hangs on demand, and records what arrived in order.

use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{
    TestApp, TestUser, assert_problem, campaign_body, invalid_fields, pledge_body, spawn_app_with, tier_body,
};

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub timestamp: i64,
    pub signature: String,
    pub raw: String,
    pub body: Value,
}

#[derive(Default)]
struct Script {
    /// The status to answer; 200 when 0.
    status: u16,
    /// Hold requests without answering.
    hang: bool,
}

/// An HTTP receiver on loopback.
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<Script>>,
    in_flight: Arc<Mutex<(usize, usize)>>,
}

impl Receiver {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let receiver = Self {
            url: format!("http://127.0.0.1:{port}/hook"),
            received: Arc::default(),
            script: Arc::default(),
            in_flight: Arc::default(),
        };
        let me = receiver.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let me = me.clone();
                tokio::spawn(async move { me.serve(stream).await });
            }
        });
        receiver
    }

    async fn serve(&self, mut stream: tokio::net::TcpStream) {
        let mut data = Vec::new();
        let mut buf = [0u8; 4096];
        let (head, body) = loop {
            let n = match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            data.extend_from_slice(&buf[..n]);
            let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") else {
                continue;
            };
            let head = String::from_utf8_lossy(&data[..end]).to_string();
            let length: usize = header(&head, "content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            while data.len() < end + 4 + length {
                let n = match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                data.extend_from_slice(&buf[..n]);
            }
            break (
                head,
                String::from_utf8_lossy(&data[end + 4..end + 4 + length]).to_string(),
            );
        };
        let received = Received {
            id: header(&head, "webhook-id").unwrap_or_default(),
            timestamp: header(&head, "webhook-timestamp")
                .and_then(|t| t.parse().ok())
                .unwrap_or(0),
            signature: header(&head, "webhook-signature").unwrap_or_default(),
            body: serde_json::from_str(&body).unwrap_or(Value::Null),
            raw: body,
        };
        self.received.lock().unwrap().push(received);
        {
            let mut flight = self.in_flight.lock().unwrap();
            flight.0 += 1;
            flight.1 = flight.1.max(flight.0);
        }
        let (status, hang) = {
            let script = self.script.lock().unwrap();
            (if script.status == 0 { 200 } else { script.status }, script.hang)
        };
        if hang {
            tokio::time::sleep(StdDuration::from_secs(1)).await;
        }
        let answer = format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        let _ = stream.write_all(answer.as_bytes()).await;
        self.in_flight.lock().unwrap().0 -= 1;
    }

    pub fn answer(&self, status: u16) {
        self.script.lock().unwrap().status = status;
    }

    pub fn hang(&self, hang: bool) {
        self.script.lock().unwrap().hang = hang;
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// The most requests it held at once.
    fn most_at_once(&self) -> usize {
        self.in_flight.lock().unwrap().1
    }

    /// Waits until at least `n` requests arrived (at most 20 s); returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..1000 {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(StdDuration::from_millis(20)).await;
        }
        panic!("expected {n} deliveries, got {:#?}", self.received());
    }

    /// Asserts nothing more than `n` requests arrive for a while.
    async fn stays_at(&self, n: usize) {
        tokio::time::sleep(StdDuration::from_millis(300)).await;
        assert_eq!(self.received().len(), n, "{:#?}", self.received());
    }
}

fn header(head: &str, name: &str) -> Option<String> {
    head.lines().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().to_owned())
    })
}

/// How many of the request's signatures `secret` makes: the Standard Webhooks scheme, HMAC-SHA256
/// keyed with the base64-decoded part after `whsec_`, over `{id}.{timestamp}.{body}`, each entry
/// `v1,<base64>`, entries separated by spaces.
pub fn valid_signatures(secret: &str, r: &Received) -> usize {
    let key = STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", r.id, r.timestamp, r.raw).as_bytes());
    let expected = STANDARD.encode(mac.finalize().into_bytes());
    r.signature
        .split(' ')
        .filter(|entry| entry.strip_prefix("v1,") == Some(expected.as_str()))
        .count()
}

async fn app() -> TestApp {
    spawn_app_with(&[("WEBHOOK_POLL_INTERVAL_MS", "20")]).await
}

/// Registers an endpoint; returns its answer (with the secret).
async fn register(app: &TestApp, user: &TestUser, path: &str, body: Value) -> Value {
    let response = app.post_json(path, &body, Some(&user.access_token)).await;
    let status = response.status();
    let answer: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    answer
}

async fn deliveries(app: &TestApp, user: &TestUser, endpoint: &Value) -> Vec<Value> {
    let path = format!("/api/v1/me/webhooks/{}/deliveries?limit=100", endpoint["id"]);
    let page: Value = app
        .get(&path, Some(&user.access_token))
        .await
        .json()
        .await
        .unwrap();
    page["items"].as_array().unwrap().clone()
}

/// The endpoint's newest delivery once `ready` holds for it (at most 20 s).
async fn newest_delivery_when(
    app: &TestApp,
    user: &TestUser,
    endpoint: &Value,
    ready: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..1000 {
        if let Some(d) = deliveries(app, user, endpoint).await.first()
            && ready(d)
        {
            return d.clone();
        }
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    panic!(
        "no delivery got there: {:#?}",
        deliveries(app, user, endpoint).await
    );
}

async fn ping(app: &TestApp, user: &TestUser, endpoint: &Value) -> reqwest::Response {
    let path = format!("/api/v1/me/webhooks/{}/ping", endpoint["id"]);
    app.post_json(&path, &json!({}), Some(&user.access_token)).await
}

fn at(value: &Value) -> DateTime<Utc> {
    value.as_str().unwrap().parse().unwrap()
}

fn types(received: &[Received]) -> Vec<String> {
    received
        .iter()
        .map(|r| r.body["type"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn every_event_type_arrives_once_per_endpoint_signed_and_without_backers_details() {
    let app = app().await;
    let (creator, other) = (app.create_user().await, app.create_user().await);
    let admin = app.create_admin().await;
    let (mine, platform, theirs) = (
        Receiver::start().await,
        Receiver::start().await,
        Receiver::start().await,
    );
    let endpoint = register(
        &app,
        &creator,
        "/api/v1/me/webhooks",
        json!({"url": mine.url, "events": ["*"]}),
    )
    .await;
    let secret = endpoint["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_") && STANDARD.decode(&secret[6..]).unwrap().len() >= 24);
    let platform_endpoint = register(
        &app,
        &admin,
        "/api/v1/admin/webhooks",
        json!({"url": platform.url, "events": ["*"]}),
    )
    .await;
    register(
        &app,
        &other,
        "/api/v1/me/webhooks",
        json!({"url": theirs.url, "events": ["*"]}),
    )
    .await;

    // Campaign A: launched, pledged, changed, canceled, an update, funded, collected, errored,
    // dropped, successful, refunded.
    let mut body = campaign_body("Hooked");
    body["goal"] = json!("30.00");
    body["duration_days"] = json!(2);
    let a = app.create_campaign(&creator, &body).await["id"].as_i64().unwrap();
    let tier = app.create_tier(&creator, a, &tier_body("T", "10.00", None)).await["id"]
        .as_i64()
        .unwrap();
    let launch = |id: i64| format!("/api/v1/campaigns/{id}/launch");
    app.post_json(&launch(a), &json!({}), Some(&creator.access_token))
        .await;
    let (b1, b2, b3) = (
        app.create_user().await,
        app.create_user().await,
        app.create_user().await,
    );
    let p1 = app.pledged(&b1, a, &pledge_body(Some(tier), "40.00")).await;
    let changed = app
        .patch_json(
            &format!("/api/v1/pledges/{}", p1["id"]),
            &json!({"amount": "45.00"}),
            Some(&b1.access_token),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    let p2 = app.pledged(&b2, a, &pledge_body(None, "5.00")).await;
    let canceled = app
        .delete(&format!("/api/v1/pledges/{}", p2["id"]), Some(&b2.access_token))
        .await;
    assert!(canceled.status().is_success(), "{}", canceled.status());
    let mut declined = pledge_body(None, "5.00");
    declined["payment_method"] = json!("pm_card_chargeDeclined");
    app.pledged(&b3, a, &declined).await;
    let update = app
        .post_json(
            &format!("/api/v1/campaigns/{a}/updates"),
            &json!({"title": "Thanks", "body": "All of you"}),
            Some(&creator.access_token),
        )
        .await;
    assert_eq!(update.status(), StatusCode::CREATED);
    app.clock.advance(Duration::days(2));
    app.settle().await;
    for _ in 0..4 {
        app.clock.advance(Duration::hours(48));
        app.settle().await;
    }
    let creator = app.relogin(&creator).await;
    let refund = app
        .post_json(
            &format!("/api/v1/pledges/{}/refund", p1["id"]),
            &json!({}),
            Some(&creator.access_token),
        )
        .await;
    assert_eq!(
        refund.status(),
        StatusCode::OK,
        "{}",
        refund.text().await.unwrap()
    );

    // Campaign B canceled, C failed, D suspended.
    let b = app.live_campaign(&creator, "Canceled").await;
    app.post_json(
        &format!("/api/v1/campaigns/{b}/cancel"),
        &json!({}),
        Some(&creator.access_token),
    )
    .await;
    let c = app.create_campaign(&creator, &body).await["id"].as_i64().unwrap();
    app.post_json(&launch(c), &json!({}), Some(&creator.access_token))
        .await;
    let d = app.live_campaign(&creator, "Suspended").await;
    let admin = app.relogin(&admin).await;
    let suspended = app
        .post_json(
            &format!("/api/v1/admin/campaigns/{d}/suspend"),
            &json!({"reason": "Reported"}),
            Some(&admin.access_token),
        )
        .await;
    assert_eq!(suspended.status(), StatusCode::OK);
    app.clock.advance(Duration::days(3));
    app.settle().await;

    let expected = [
        "campaign.launched",
        "pledge.created",
        "pledge.updated",
        "pledge.created",
        "pledge.canceled",
        "pledge.created",
        "update.published",
        "campaign.funded",
        "pledge.collected",
        "pledge.errored",
        "pledge.errored",
        "pledge.errored",
        "pledge.errored",
        "pledge.dropped",
        "campaign.successful",
        "pledge.refunded",
        "campaign.launched",
        "campaign.canceled",
        "campaign.launched",
        "campaign.launched",
        "campaign.suspended",
        "campaign.failed",
    ];
    let sorted = |received: &[Received]| {
        let mut names = types(received);
        names.sort();
        names
    };
    let mut wanted: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    wanted.sort();
    let got = mine.wait_for(expected.len()).await;
    mine.stays_at(expected.len()).await;
    assert_eq!(sorted(&got), wanted, "each event once");
    assert_eq!(got[0].body["type"], "campaign.launched");
    let platform_got = platform.wait_for(expected.len()).await;
    platform.stays_at(expected.len()).await;
    assert_eq!(
        sorted(&platform_got),
        wanted,
        "the platform endpoint hears of everything, once"
    );
    theirs.stays_at(0).await;
    let of = |kind: &str| -> Vec<&Value> {
        got.iter()
            .filter(|r| r.body["type"] == kind)
            .map(|r| &r.body["data"])
            .collect()
    };

    let mut ids: Vec<&str> = got.iter().map(|r| r.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), expected.len(), "a webhook-id per event");
    for r in &got {
        assert_eq!(valid_signatures(&secret, r), 1, "{r:?}");
        assert!(r.body["timestamp"].is_string());
        if r.body["type"].as_str().unwrap().starts_with("pledge.") {
            let data = &r.body["data"];
            assert!(data.get("payment_method").is_none(), "{data}");
            assert!(!r.raw.contains('@'), "no email address: {}", r.raw);
            assert_eq!(data["campaign_id"], a);
        }
    }
    assert_eq!(of("pledge.updated")[0]["amount"], "45.00");
    assert_eq!(of("pledge.refunded")[0]["status"], "refunded");
    assert_eq!(of("pledge.collected")[0]["id"], p1["id"]);
    assert_eq!(of("pledge.canceled")[0]["id"], p2["id"]);
    assert_eq!(of("update.published")[0]["title"], "Thanks");
    assert_eq!(of("campaign.funded")[0]["status"], "funded");
    assert_eq!(of("campaign.failed")[0]["id"], c);
    assert_eq!(of("campaign.canceled")[0]["id"], b);
    assert_eq!(of("campaign.suspended")[0]["id"], d);
    let platform_secret = platform_endpoint["secret"].as_str().unwrap();
    assert!(
        platform_got
            .iter()
            .all(|r| valid_signatures(platform_secret, r) == 1)
    );
    assert!(
        platform_got.iter().all(|r| valid_signatures(&secret, r) == 0),
        "each endpoint its own key"
    );

    let creator = app.relogin(&creator).await;
    let list = deliveries(&app, &creator, &endpoint).await;
    assert_eq!(list.len(), expected.len());
    assert!(
        list.iter()
            .all(|d| d["status"] == "succeeded" && d["attempts"] == 1 && d["last_status_code"] == 200)
    );
}

/// Makes the insert into `table` fail when `condition` holds, with a trigger, to roll back the
/// transaction of a change after its webhook event was written.
fn fail_inserts(app: &TestApp, table: &str, condition: &str) {
    if app.database_url.starts_with("postgres") {
        app.sql("CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$ LANGUAGE plpgsql")
            .unwrap();
        app.sql(&format!(
            "CREATE TRIGGER refuse BEFORE INSERT ON {table} FOR EACH ROW WHEN ({condition}) EXECUTE FUNCTION refuse()"
        ))
        .unwrap();
    } else {
        app.sql(&format!(
            "CREATE TRIGGER refuse BEFORE INSERT ON {table} WHEN {condition} BEGIN SELECT RAISE(ABORT, 'refused'); END"
        ))
        .unwrap();
    }
}

#[tokio::test]
async fn a_change_that_rolls_back_sends_nothing() {
    let app = app().await;
    let creator = app.create_user().await;
    let receiver = Receiver::start().await;
    register(
        &app,
        &creator,
        "/api/v1/me/webhooks",
        json!({"url": receiver.url, "events": ["campaign.launched"]}),
    )
    .await;
    let id = app.create_campaign(&creator, &campaign_body("Rolled back")).await["id"]
        .as_i64()
        .unwrap();
    // The launch writes its webhook event before its campaign event: failing the latter rolls
    // the former back.
    fail_inserts(&app, "campaign_events", "NEW.to_status = 'live'");
    let path = format!("/api/v1/campaigns/{id}/launch");
    let failed = app
        .post_json(&path, &json!({}), Some(&creator.access_token))
        .await;
    assert_eq!(failed.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM webhook_events"), 0);
    receiver.stays_at(0).await;

    app.sql("DROP TRIGGER refuse ON campaign_events")
        .or_else(|_| app.sql("DROP TRIGGER refuse"))
        .unwrap();
    let launched = app
        .post_json(&path, &json!({}), Some(&creator.access_token))
        .await;
    assert_eq!(launched.status(), StatusCode::OK);
    let got = receiver.wait_for(1).await;
    receiver.stays_at(1).await;
    assert_eq!(got[0].body["data"]["id"], id);
}

#[tokio::test]
async fn failed_deliveries_are_retried_on_the_schedule_then_given_up_and_can_be_sent_again() {
    let app = app().await;
    let mut user = app.create_user().await;
    let receiver = Receiver::start().await;
    receiver.answer(500);
    let endpoint = register(
        &app,
        &user,
        "/api/v1/me/webhooks",
        json!({"url": receiver.url, "events": ["*"]}),
    )
    .await;
    assert_eq!(ping(&app, &user, &endpoint).await.status(), StatusCode::ACCEPTED);
    receiver.wait_for(1).await;
    let schedule = [
        Duration::seconds(5),
        Duration::minutes(5),
        Duration::minutes(30),
        Duration::hours(2),
        Duration::hours(5),
        Duration::hours(10),
        Duration::hours(10),
    ];
    for (i, wait) in schedule.iter().enumerate() {
        let attempt = i + 1;
        user = app.relogin(&user).await;
        // Recorded: the next attempt is set after the last one.
        let delivery = newest_delivery_when(&app, &user, &endpoint, |d| {
            d["attempts"] == attempt
                && d["next_attempt_at"].is_string()
                && at(&d["next_attempt_at"]) > at(&d["last_attempt_at"])
        })
        .await;
        assert_eq!(delivery["status"], "pending");
        assert_eq!(delivery["last_status_code"], 500);
        let gap = at(&delivery["next_attempt_at"]) - at(&delivery["last_attempt_at"]);
        let (low, high) = (*wait * 9 / 10, *wait * 11 / 10);
        assert!(
            gap >= low && gap <= high,
            "attempt {attempt}: waits {gap} for {wait}"
        );
        // Not before it is due.
        app.clock.advance(low - Duration::milliseconds(1));
        receiver.stays_at(attempt).await;
        app.clock.advance(high - low + Duration::milliseconds(2));
        receiver.wait_for(attempt + 1).await;
    }
    let user = app.relogin(&user).await;
    let delivery = newest_delivery_when(&app, &user, &endpoint, |d| d["status"] != "pending").await;
    assert_eq!(delivery["status"], "failed");
    assert_eq!(delivery["attempts"], 8);
    assert!(delivery["next_attempt_at"].is_null());
    app.clock.advance(Duration::days(1));
    receiver.stays_at(8).await;

    let user = app.relogin(&user).await;
    receiver.answer(204);
    let path = format!(
        "/api/v1/me/webhooks/{}/deliveries/{}/redeliver",
        endpoint["id"], delivery["id"]
    );
    let again = app.post_json(&path, &json!({}), Some(&user.access_token)).await;
    assert_eq!(again.status(), StatusCode::ACCEPTED);
    let got = receiver.wait_for(9).await;
    assert!(
        got.iter().all(|r| r.id == got[0].id),
        "one webhook-id for every attempt"
    );
    assert_eq!(got[0].body["type"], "webhook.ping");
    let delivered = newest_delivery_when(&app, &user, &endpoint, |d| d["status"] == "succeeded").await;
    assert_eq!(delivered["last_status_code"], 204);
}

#[tokio::test]
async fn a_rotated_secret_keeps_signing_beside_the_new_one_for_a_day() {
    let app = app().await;
    let user = app.create_user().await;
    let receiver = Receiver::start().await;
    let endpoint = register(
        &app,
        &user,
        "/api/v1/me/webhooks",
        json!({"url": receiver.url, "events": ["*"]}),
    )
    .await;
    let old = endpoint["secret"].as_str().unwrap().to_owned();
    let shown: Value = app
        .get(
            &format!("/api/v1/me/webhooks/{}", endpoint["id"]),
            Some(&user.access_token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(shown.get("secret").is_none(), "the secret is shown once: {shown}");
    let rotated: Value = app
        .post_json(
            &format!("/api/v1/me/webhooks/{}/rotate-secret", endpoint["id"]),
            &json!({}),
            Some(&user.access_token),
        )
        .await
        .json()
        .await
        .unwrap();
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    ping(&app, &user, &endpoint).await;
    let got = receiver.wait_for(1).await;
    assert_eq!(got[0].signature.split(' ').count(), 2);
    assert_eq!(
        (valid_signatures(&new, &got[0]), valid_signatures(&old, &got[0])),
        (1, 1)
    );

    app.clock.advance(Duration::hours(24) + Duration::seconds(1));
    let user = app.relogin(&user).await;
    ping(&app, &user, &endpoint).await;
    let got = receiver.wait_for(2).await;
    assert_eq!(
        (valid_signatures(&new, &got[1]), valid_signatures(&old, &got[1])),
        (1, 0)
    );
}

#[tokio::test]
async fn an_endpoint_failing_for_five_days_is_disabled_and_its_owner_told() {
    let app = app().await;
    let user = app.create_user().await;
    let receiver = Receiver::start().await;
    receiver.answer(503);
    let endpoint = register(
        &app,
        &user,
        "/api/v1/me/webhooks",
        json!({"url": receiver.url, "events": ["*"]}),
    )
    .await;
    let path = format!("/api/v1/me/webhooks/{}", endpoint["id"]);
    ping(&app, &user, &endpoint).await;
    receiver.wait_for(1).await;
    app.clock.advance(Duration::days(5));
    let user = app.relogin(&user).await;
    ping(&app, &user, &endpoint).await;
    let mut shown = Value::Null;
    for _ in 0..1000 {
        shown = app
            .get(&path, Some(&user.access_token))
            .await
            .json()
            .await
            .unwrap();
        if shown["enabled"] == false {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    assert_eq!(shown["enabled"], false, "{shown}");
    assert!(
        shown["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("every delivery failed")
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM email_outbox WHERE template = 'webhook_disabled' AND user_id = {}",
            user.id
        )),
        1
    );
    let refused = ping(&app, &user, &endpoint).await;
    assert_problem(refused, StatusCode::CONFLICT).await;
    // Events while it is disabled are not sent to it.
    let id = app.live_campaign(&user, "Unheard").await;
    let before = receiver.received().len();
    receiver.stays_at(before).await;

    receiver.answer(200);
    let enabled: Value = app
        .patch_json(&path, &json!({"enabled": true}), Some(&user.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (enabled["enabled"].as_bool(), enabled["failing_since"].is_null()),
        (Some(true), true)
    );
    ping(&app, &user, &endpoint).await;
    let got = receiver.wait_for(before + 1).await;
    assert_eq!(got.last().unwrap().body["type"], "webhook.ping");
    assert!(got.iter().all(|r| r.body["data"]["id"] != id));
}

#[tokio::test]
async fn in_production_no_delivery_reaches_a_non_public_address() {
    let app = spawn_app_with(&[
        ("WEBHOOK_POLL_INTERVAL_MS", "20"),
        ("WEBHOOK_ALLOW_PRIVATE", "off"),
    ])
    .await;
    let user = app.create_user().await;
    let receiver = Receiver::start().await;
    let port = receiver
        .url
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    for url in [
        format!("https://127.0.0.1:{port}/hook"),
        "https://10.0.0.1/hook".to_owned(),
        "https://169.254.169.254/latest/meta-data".to_owned(),
        format!("https://[::1]:{port}/hook"),
        format!("http://localhost:{port}/hook"),
        receiver.url.clone(),
    ] {
        let response = app
            .post_json(
                "/api/v1/me/webhooks",
                &json!({"url": url, "events": ["*"]}),
                Some(&user.access_token),
            )
            .await;
        let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(invalid_fields(&problem), ["url"], "{url}");
    }
    // A name is checked after it resolves, when the delivery is made.
    let endpoint = register(
        &app,
        &user,
        "/api/v1/me/webhooks",
        json!({"url": format!("https://localhost:{port}/hook"), "events": ["*"]}),
    )
    .await;
    ping(&app, &user, &endpoint).await;
    let delivery = newest_delivery_when(&app, &user, &endpoint, |d| {
        d["attempts"] == 1 && d["last_error"].is_string()
    })
    .await;
    let error = delivery["last_error"].as_str().unwrap();
    assert!(error.contains("no public address"), "{error}");
    assert!(delivery["last_status_code"].is_null());
    receiver.stays_at(0).await;
}

#[tokio::test]
async fn endpoints_belong_to_their_owner_and_hear_only_what_they_asked_for() {
    let app = spawn_app_with(&[
        ("WEBHOOK_POLL_INTERVAL_MS", "20"),
        ("WEBHOOK_CONCURRENCY_PER_ENDPOINT", "1"),
    ])
    .await;
    let (creator, stranger) = (app.create_user().await, app.create_user().await);
    let receiver = Receiver::start().await;
    let a = app.live_campaign(&creator, "Heard").await;
    let b = app.live_campaign(&creator, "Unheard").await;
    let theirs = app.live_campaign(&stranger, "Theirs").await;

    for (body, field) in [
        (json!({"events": ["*"]}), "url"),
        (json!({"url": receiver.url}), "events"),
        (json!({"url": receiver.url, "events": []}), "events"),
        (
            json!({"url": receiver.url, "events": ["pledge.exploded"]}),
            "events",
        ),
        (json!({"url": "ftp://example.com", "events": ["*"]}), "url"),
        (
            json!({"url": receiver.url, "events": ["*"], "campaign_ids": [theirs]}),
            "campaign_ids[0]",
        ),
        (
            json!({"url": receiver.url, "events": ["*"], "campaign_ids": []}),
            "campaign_ids",
        ),
    ] {
        let response = app
            .post_json("/api/v1/me/webhooks", &body, Some(&creator.access_token))
            .await;
        let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(invalid_fields(&problem), [field], "{body}");
    }
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM webhook_endpoints"), 0);
    let endpoint = register(
        &app,
        &creator,
        "/api/v1/me/webhooks",
        json!({"url": receiver.url, "events": ["pledge.created"], "campaign_ids": [a]}),
    )
    .await;
    assert_eq!(endpoint["campaign_ids"], json!([a]));
    let path = format!("/api/v1/me/webhooks/{}", endpoint["id"]);
    assert_problem(
        app.get(&path, Some(&stranger.access_token)).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_problem(
        app.delete(&path, Some(&stranger.access_token)).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let listed: Value = app
        .get("/api/v1/me/webhooks", Some(&stranger.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"], json!([]));
    assert_problem(
        app.get("/api/v1/admin/webhooks", Some(&creator.access_token))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;

    let backers = [
        app.create_user().await,
        app.create_user().await,
        app.create_user().await,
    ];
    let mut pledges = Vec::new();
    for backer in &backers {
        pledges.push(app.pledged(backer, a, &pledge_body(None, "5.00")).await["id"].clone());
        app.pledged(backer, b, &pledge_body(None, "5.00")).await;
    }
    let got = receiver.wait_for(3).await;
    receiver.stays_at(3).await;
    let heard: Vec<Value> = got.iter().map(|r| r.body["data"]["id"].clone()).collect();
    assert_eq!(
        heard, pledges,
        "only campaign {a}'s pledges, in the order they were made"
    );

    // With one delivery in flight per endpoint, a slow receiver gets them one at a time, in order.
    receiver.hang(true);
    for _ in 0..3 {
        ping(&app, &creator, &endpoint).await;
    }
    let got = receiver.wait_for(6).await;
    assert_eq!(receiver.most_at_once(), 1);
    let pings: Vec<i64> = got[3..]
        .iter()
        .map(|r| r.id.split('_').nth(1).unwrap().parse().unwrap())
        .collect();
    assert!(pings.windows(2).all(|w| w[0] < w[1]), "{pings:?}");

    let patched = app
        .patch_json(
            &path,
            &json!({"events": ["*"], "campaign_ids": null}),
            Some(&creator.access_token),
        )
        .await;
    assert_eq!(patched.status(), StatusCode::OK);
    assert_eq!(
        app.delete(&path, Some(&creator.access_token)).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM webhook_deliveries"), 0);
}

/// The Python interpreter of `.venv` when it has the Standard Webhooks library.
fn python_with_standardwebhooks() -> Option<std::path::PathBuf> {
    let python = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    let ok = std::process::Command::new(&python)
        .args(["-c", "import standardwebhooks"])
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(python)
}

#[tokio::test]
#[ignore = "needs the standardwebhooks library in .venv: `cargo test -- --ignored` runs it (bash .ci/run installs it)"]
async fn the_example_receiver_verifies_deliveries_with_the_reference_library() {
    use std::io::BufRead;

    let python = python_with_standardwebhooks()
        .expect("standardwebhooks is not installed in .venv (bash .ci/run installs it)");
    let app = app().await;
    let creator = app.create_user().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = register(
        &app,
        &creator,
        "/api/v1/me/webhooks",
        json!({"url": format!("http://127.0.0.1:{port}/hook"), "events": ["*"]}),
    )
    .await;
    let mut child = std::process::Command::new(python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/webhook_receiver.py"
        ))
        .arg(port.to_string())
        .env("WEBHOOK_SECRET", endpoint["secret"].as_str().unwrap())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines, read) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    // The library refuses a timestamp 5 minutes off: the events wait for the receiver, not the
    // other way round (no clock moved to retry).
    for _ in 0..500 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    let id = app.live_campaign(&creator, "Verified").await;
    let backer = app.create_user().await;
    let pledge = app.pledged(&backer, id, &pledge_body(None, "5.00")).await;
    let mut verified = Vec::new();
    for _ in 0..200 {
        while let Ok(line) = read.try_recv() {
            verified.push(serde_json::from_str::<Value>(&line).unwrap());
        }
        if verified.len() >= 2 {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(verified.len(), 2, "{verified:?}");
    assert!(verified.iter().all(|v| v["verified"] == true), "{verified:?}");
    assert_eq!(verified[0]["event"]["type"], "campaign.launched");
    assert_eq!(verified[1]["event"]["type"], "pledge.created");
    assert_eq!(verified[1]["event"]["data"]["id"], pledge["id"]);
}
