//! `PAYMENT_PROVIDER=stripe` against localstripe (a stateful fake Stripe) on loopback, started
//! per test. The tests that need it are `#[ignore]`d, so that a plain `cargo test` lists them
//! as ignored, with the reason; `cargo test -- --ignored` runs them (`bash .ci/run` does, after
//! installing localstripe in `.venv/`; elsewhere set `LOCALSTRIPE_BIN`) and they fail if
//! localstripe cannot be found.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration as StdDuration;

use chrono::Duration;
use crowdfund::payments::stripe_signature;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, campaign_body, spawn_app_with};

const SECRET_KEY: &str = "sk_test_crowdfund";
const WEBHOOK_SECRET: &str = "whsec_crowdfund_test";

/// A localstripe process, killed when dropped.
struct LocalStripe {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for LocalStripe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn localstripe_bin() -> Option<PathBuf> {
    if let Ok(bin) = std::env::var("LOCALSTRIPE_BIN") {
        return Some(bin.into());
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/localstripe");
    venv.exists().then_some(venv)
}

async fn localstripe() -> LocalStripe {
    let bin = localstripe_bin().expect(
        "localstripe is not installed (.venv/bin/localstripe or LOCALSTRIPE_BIN; bash .ci/run installs it)",
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new(bin)
        .args(["--port", &port.to_string(), "--from-scratch"])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start localstripe");
    let base = format!("http://127.0.0.1:{port}");
    let server = LocalStripe {
        child,
        base: base.clone(),
        _dir: dir,
    };
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client
            .get(format!("{base}/v1/customers"))
            .basic_auth(SECRET_KEY, None::<&str>)
            .send()
            .await
            .is_ok()
        {
            return server;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    panic!("localstripe did not start on port {port}");
}

async fn stripe_app(stripe: &LocalStripe) -> TestApp {
    spawn_app_with(&[
        ("PAYMENT_PROVIDER", "stripe"),
        ("STRIPE_SECRET_KEY", SECRET_KEY),
        ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("STRIPE_API_BASE", &stripe.base),
        ("MAIL_WORKER", "off"),
    ])
    .await
}

impl LocalStripe {
    async fn call(&self, method: reqwest::Method, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let response = reqwest::Client::new()
            .request(method, format!("{}{path}", self.base))
            .basic_auth(SECRET_KEY, None::<&str>)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(crowdfund::payments::stripe::encode(form))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    /// What Stripe.js gives the web app for a card: a PaymentMethod id.
    async fn payment_method(&self, number: &str) -> String {
        let (status, method) = self
            .call(
                reqwest::Method::POST,
                "/v1/payment_methods",
                &[
                    ("type", "card"),
                    ("card[number]", number),
                    ("card[exp_month]", "12"),
                    ("card[exp_year]", "2034"),
                    ("card[cvc]", "123"),
                ],
            )
            .await;
        assert_eq!(status, 200, "{method}");
        method["id"].as_str().unwrap().to_owned()
    }

    async fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, &[]).await.1
    }
}

async fn launched(app: &TestApp, owner: &TestUser) -> i64 {
    let mut body = campaign_body("Stripe lamp");
    body["goal"] = json!("50.00");
    body["duration_days"] = json!(3);
    let id = app.create_campaign(owner, &body).await["id"].as_i64().unwrap();
    let response = app
        .post_json(
            &format!("/api/v1/campaigns/{id}/launch"),
            &json!({}),
            Some(&owner.access_token),
        )
        .await;
    assert_eq!(response.status(), 200);
    id
}

fn pledge_with(method: &str, amount: &str) -> Value {
    json!({"amount": amount, "payment_method": method})
}

async fn webhook(app: &TestApp, event: &Value, secret: &str) -> reqwest::Response {
    let body = event.to_string();
    let signature = stripe_signature::sign(body.as_bytes(), secret.as_bytes(), app.clock.now().timestamp());
    app.request(reqwest::Method::POST, "/api/v1/webhooks/stripe", None)
        .header("Stripe-Signature", signature)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn pledge_status(app: &TestApp, backer: &TestUser, id: &Value) -> String {
    let backer = app.relogin(backer).await;
    let pledge: Value = app
        .get(&format!("/api/v1/pledges/{id}"), Some(&backer.access_token))
        .await
        .json()
        .await
        .unwrap();
    pledge["status"].as_str().unwrap().to_owned()
}

#[tokio::test]
#[ignore = "needs localstripe: `cargo test -- --ignored` runs it (bash .ci/run installs localstripe)"]
async fn a_campaign_runs_from_launch_to_payout_on_stripe() {
    let stripe = localstripe().await;
    let app = stripe_app(&stripe).await;
    let owner = app.create_user().await;
    let admin = app.create_admin().await;
    let id = launched(&app, &owner).await;
    let (good, bad, refused) = (
        app.create_user().await,
        app.create_user().await,
        app.create_user().await,
    );

    // A pledge saves the card: a Customer for the backer, the method attached, a SetupIntent.
    let card = stripe.payment_method("4242424242424242").await;
    let pledge_a = app.pledged(&good, id, &pledge_with(&card, "40.00")).await;
    assert!(
        pledge_a["setup_intent_client_secret"]
            .as_str()
            .unwrap()
            .starts_with("seti_"),
        "{pledge_a}"
    );
    let saved = pledge_a["payment_method"].as_str().unwrap();
    let (customer, method) = saved.split_once('/').unwrap();
    assert_eq!(method, card);
    let customer = stripe.get(&format!("/v1/customers/{customer}")).await;
    assert_eq!(customer["email"], good.email.as_str());
    assert_eq!(customer["metadata"]["user_id"], good.id.to_string());
    let attached = stripe.get(&format!("/v1/payment_methods/{card}")).await;
    assert_eq!(attached["customer"], customer["id"]);

    // Saves, but every charge is declined.
    let declining = stripe.payment_method("4000000000000341").await;
    let pledge_b = app.pledged(&bad, id, &pledge_with(&declining, "20.00")).await;
    // Refused when saved: 422 on payment_method, no pledge.
    let refusing = stripe.payment_method("4000000000000002").await;
    let response = app.pledge(&refused, id, &pledge_with(&refusing, "20.00")).await;
    let problem = crate::helpers::assert_problem(response, reqwest::StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(crate::helpers::invalid_fields(&problem), ["payment_method"]);
    // Not a PaymentMethod id at all.
    let response = app
        .pledge(&refused, id, &pledge_with("pm_card_visa/../x", "20.00"))
        .await;
    crate::helpers::assert_problem(response, reqwest::StatusCode::UNPROCESSABLE_ENTITY).await;

    // The deadline: the good card is charged off-session, the declining one errs.
    app.clock.advance(Duration::days(3) + Duration::minutes(1));
    let summary = app.settle().await;
    assert_eq!(summary["pledges"]["collected"], 1, "{summary}");
    assert_eq!(summary["pledges"]["errored"], 1, "{summary}");
    assert_eq!(pledge_status(&app, &good, &pledge_a["id"]).await, "collected");
    assert_eq!(pledge_status(&app, &bad, &pledge_b["id"]).await, "errored");
    let intents = stripe.get("/v1/payment_intents").await;
    let succeeded: Vec<&Value> = intents["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|pi| pi["status"] == "succeeded")
        .collect();
    assert_eq!(succeeded.len(), 1, "{intents}");
    assert_eq!(succeeded[0]["amount"], 4000);
    assert_eq!(succeeded[0]["currency"], "usd");
    assert_eq!(
        succeeded[0]["metadata"]["idempotency_key"],
        format!("pledge-{}-attempt-1", pledge_a["id"])
    );

    // The backer fixes the card; the next pass charges it and the campaign completes.
    let bad = app.relogin(&bad).await;
    let fixed = stripe.payment_method("4242424242424242").await;
    let response = app
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/pledges/{}/payment-method", pledge_b["id"]),
            Some(&bad.access_token),
        )
        .json(&json!({"payment_method": fixed}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let summary = app.settle().await;
    assert_eq!(summary["pledges"]["collected"], 1, "{summary}");
    assert_eq!(summary["campaigns"]["successful"], 1, "{summary}");

    // A refund through the API reaches Stripe.
    let owner = app.relogin(&owner).await;
    let response = app
        .post_json(
            &format!("/api/v1/pledges/{}/refund", pledge_a["id"]),
            &json!({}),
            Some(&owner.access_token),
        )
        .await;
    assert_eq!(response.status(), 200);
    let intent_a = succeeded[0]["id"].as_str().unwrap();
    let refunds = stripe
        .get(&format!("/v1/refunds?payment_intent={intent_a}"))
        .await;
    assert_eq!(refunds["data"][0]["amount"], 4000, "{refunds}");

    // A refund made in the Stripe dashboard arrives as a signed webhook.
    let intent_b = stripe.get("/v1/payment_intents").await["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|pi| pi["status"] == "succeeded" && pi["amount"] == 2000)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let refunded = json!({
        "id": "evt_refund_b",
        "type": "charge.refunded",
        "data": {"object": {"object": "charge", "id": "ch_b", "payment_intent": intent_b,
                             "amount": 2000, "amount_refunded": 2000}}
    });
    // A forged signature changes nothing.
    let response = webhook(&app, &refunded, "whsec_forged").await;
    crate::helpers::assert_problem(response, reqwest::StatusCode::BAD_REQUEST).await;
    assert_eq!(pledge_status(&app, &bad, &pledge_b["id"]).await, "collected");
    let response = webhook(&app, &refunded, WEBHOOK_SECRET).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["result"], "applied");
    assert_eq!(pledge_status(&app, &bad, &pledge_b["id"]).await, "refunded");
    // Delivered again: nothing more.
    let response = webhook(&app, &refunded, WEBHOOK_SECRET).await;
    assert_eq!(response.json::<Value>().await.unwrap()["result"], "duplicate");

    let dispute = json!({
        "id": "evt_dispute_a",
        "type": "charge.dispute.created",
        "data": {"object": {"object": "dispute", "id": "dp_1", "charge": "ch_a",
                             "payment_intent": intent_a, "reason": "fraudulent"}}
    });
    let response = webhook(&app, &dispute, WEBHOOK_SECRET).await;
    assert_eq!(response.json::<Value>().await.unwrap()["result"], "applied");
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM pledge_events WHERE pledge_id = {} AND reason = 'dispute opened at Stripe: fraudulent'",
            pledge_a["id"]
        )),
        1
    );

    let admin = app.relogin(&admin).await;
    // Refunds come out of the payout: nothing left for the creator but negative fees, which
    // the audit reports as what the creator owes.
    assert_eq!(app.balance(&format!("escrow:campaign:{id}")), 0);
    assert_only_the_creator_owes(&app, &admin, id).await;
}

#[tokio::test]
#[ignore = "needs localstripe: `cargo test -- --ignored` runs it (bash .ci/run installs localstripe)"]
async fn a_webhook_settles_an_attempt_left_pending_by_a_crash() {
    let stripe = localstripe().await;
    let app = stripe_app(&stripe).await;
    let owner = app.create_user().await;
    let admin = app.create_admin().await;
    let id = launched(&app, &owner).await;
    let backer = app.create_user().await;
    let card = stripe.payment_method("4242424242424242").await;
    let pledge = app.pledged(&backer, id, &pledge_with(&card, "60.00")).await;
    let pledge_id = pledge["id"].as_i64().unwrap();
    let method = pledge["payment_method"].as_str().unwrap();
    let (customer, _) = method.split_once('/').unwrap();

    // What a crash leaves behind: the campaign funded, the attempt written and sent to Stripe,
    // Stripe's answer never recorded.
    app.clock.advance(Duration::days(3) + Duration::minutes(1));
    let key = format!("pledge-{pledge_id}-attempt-1");
    app.sql(&format!(
        "UPDATE campaigns SET status = 'funded', closed_at = CURRENT_TIMESTAMP, \
         final_pledged_minor = pledged_minor, final_backer_count = backer_count WHERE id = {id}"
    ))
    .unwrap();
    app.sql(&format!(
        "INSERT INTO charge_attempts (pledge_id, attempt, idempotency_key, payment_method, amount_minor, \
         currency, status, created_at) VALUES ({pledge_id}, 1, '{key}', '{method}', 6000, 'USD', 'pending', \
         CURRENT_TIMESTAMP)"
    ))
    .unwrap();
    app.sql(&format!("UPDATE pledges SET attempts = 1 WHERE id = {pledge_id}"))
        .unwrap();
    let (status, intent) = stripe
        .call(
            reqwest::Method::POST,
            "/v1/payment_intents",
            &[
                ("amount", "6000"),
                ("currency", "usd"),
                ("customer", customer),
                ("payment_method", &card),
                ("off_session", "true"),
                ("confirm", "true"),
                ("metadata[idempotency_key]", &key),
            ],
        )
        .await;
    assert_eq!(status, 200, "{intent}");

    // A refund event about it cannot be applied yet: 409, so Stripe delivers it again later.
    let refunded = json!({
        "id": "evt_early_refund",
        "type": "charge.refunded",
        "data": {"object": {"object": "charge", "id": "ch_1", "payment_intent": intent["id"],
                             "amount": 6000, "amount_refunded": 6000,
                             "metadata": {"idempotency_key": key}}}
    });
    let response = webhook(&app, &refunded, WEBHOOK_SECRET).await;
    crate::helpers::assert_problem(response, reqwest::StatusCode::CONFLICT).await;

    // Stripe's event settles the attempt by replaying its key; once.
    let succeeded = json!({
        "id": "evt_pi_ok",
        "type": "payment_intent.succeeded",
        "data": {"object": intent}
    });
    let first = webhook(&app, &succeeded, WEBHOOK_SECRET)
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(first["result"], "applied");
    let again = webhook(&app, &succeeded, WEBHOOK_SECRET)
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(again["result"], "duplicate");
    assert_eq!(pledge_status(&app, &backer, &pledge["id"]).await, "collected");
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM charge_attempts WHERE status = 'succeeded'"),
        1
    );

    // The next pass charges nothing more and completes the campaign.
    let summary = app.settle().await;
    assert_eq!(summary["pledges"]["collected"], 0, "{summary}");
    assert_eq!(summary["campaigns"]["successful"], 1, "{summary}");
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM charge_attempts"),
        1,
        "no second attempt"
    );

    // Redelivered now, the refund applies.
    let response = webhook(&app, &refunded, WEBHOOK_SECRET).await;
    assert_eq!(response.json::<Value>().await.unwrap()["result"], "applied");
    assert_eq!(pledge_status(&app, &backer, &pledge["id"]).await, "refunded");

    // A stale signature (older than 5 minutes) is refused.
    let body = succeeded.to_string();
    let stale = stripe_signature::sign(
        body.as_bytes(),
        WEBHOOK_SECRET.as_bytes(),
        app.clock.now().timestamp() - 301,
    );
    let response = app
        .request(reqwest::Method::POST, "/api/v1/webhooks/stripe", None)
        .header("Stripe-Signature", stale)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);

    // Refunded in full, the pledge took back the fees the payout had paid: the creator owes them.
    let admin = app.relogin(&admin).await;
    assert_only_the_creator_owes(&app, &admin, id).await;
}

/// The ledger holds, but for the creator's account of campaign `id`: below zero, as the audit
/// reports.
async fn assert_only_the_creator_owes(app: &TestApp, admin: &TestUser, id: i64) {
    let creator = app.balance(&format!("creator_payable:campaign:{id}"));
    assert!(creator < 0, "{creator}");
    let report = app
        .get("/api/v1/admin/ledger/verify", Some(&admin.access_token))
        .await;
    assert_eq!(report.status(), StatusCode::CONFLICT);
    let report: Value = report.json().await.unwrap();
    assert_eq!(
        report["errors"],
        json!([{"field": "negative_creator_balances", "message": format!("campaign {id}: creator balance {creator}")}]),
        "{report}"
    );
}

/// With Stripe the key is reserved before the card is saved (a call over the network) and the
/// pledge is made after: a retry replays the first answer without saving the card again, and
/// a card Stripe refuses releases the key for the corrected request.
#[tokio::test]
#[ignore = "needs localstripe: `cargo test -- --ignored` runs it (bash .ci/run installs localstripe)"]
async fn stripe_pledges_honour_the_idempotency_key() {
    let stripe = localstripe().await;
    let app = stripe_app(&stripe).await;
    let owner = app.create_user().await;
    let id = launched(&app, &owner).await;
    let backer = app.create_user().await;
    let keyed = |key: &'static str, body: Value| {
        app.request(
            reqwest::Method::POST,
            &format!("/api/v1/campaigns/{id}/pledges"),
            Some(&backer.access_token),
        )
        .header("Idempotency-Key", key)
        .json(&body)
        .send()
    };

    let refusing = stripe.payment_method("4000000000000002").await;
    let refused = keyed("k", pledge_with(&refusing, "20.00")).await.unwrap();
    assert_eq!(refused.status(), 422);

    let card = stripe.payment_method("4242424242424242").await;
    let first = keyed("k", pledge_with(&card, "20.00")).await.unwrap();
    assert_eq!(first.status(), 201, "the refusal released the key");
    assert!(first.headers().get("Idempotent-Replayed").is_none());
    let first = first.text().await.unwrap();
    let retry = keyed("k", pledge_with(&card, "20.00")).await.unwrap();
    assert_eq!(retry.status(), 201);
    assert_eq!(retry.headers()["Idempotent-Replayed"], "true");
    assert_eq!(retry.text().await.unwrap(), first);

    let pledge: Value = serde_json::from_str(&first).unwrap();
    let customer = pledge["payment_method"]
        .as_str()
        .unwrap()
        .split_once('/')
        .unwrap()
        .0;
    let intents = stripe.get("/v1/setup_intents").await;
    let for_card: Vec<_> = intents["data"]
        .as_array()
        .expect("a list of SetupIntents")
        .iter()
        .filter(|intent| intent["customer"] == customer && intent["payment_method"] == card.as_str())
        .collect();
    assert_eq!(for_card.len(), 1, "the card is saved once: {intents}");
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM pledges WHERE campaign_id = {id}"
        )),
        1
    );
}

#[tokio::test]
async fn stripe_webhooks_are_not_served_with_the_sandbox() {
    let app = crate::helpers::spawn_app().await;
    let response = app
        .request(reqwest::Method::POST, "/api/v1/webhooks/stripe", None)
        .header("Stripe-Signature", "t=1,v1=00")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
#[ignore = "needs localstripe: `cargo test -- --ignored` runs it (bash .ci/run installs localstripe)"]
async fn late_pledges_are_charged_on_session_on_stripe() {
    let stripe = localstripe().await;
    let app = stripe_app(&stripe).await;
    let owner = app.create_user().await;
    let id = launched(&app, &owner).await;
    let on = app
        .patch_json(
            &format!("/api/v1/campaigns/{id}"),
            &json!({"late_pledges": true}),
            Some(&owner.access_token),
        )
        .await;
    assert_eq!(on.status(), 200);
    let early = app.create_user().await;
    let card = stripe.payment_method("4242424242424242").await;
    app.pledged(&early, id, &pledge_with(&card, "60.00")).await;
    app.clock.advance(Duration::days(3) + Duration::minutes(1));
    let summary = app.settle().await;
    assert_eq!(summary["campaigns"]["successful"], 1, "{summary}");
    let intents_of = |amount: i64| {
        let stripe = &stripe;
        async move {
            let listed = stripe.get("/v1/payment_intents").await;
            listed["data"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|pi| pi["amount"] == amount)
                .cloned()
                .collect::<Vec<Value>>()
        }
    };

    // A card that goes through: collected in the request, on session.
    let (paying, declined, confirming, away) = (
        app.create_user().await,
        app.create_user().await,
        app.create_user().await,
        app.create_user().await,
    );
    let card = stripe.payment_method("4242424242424242").await;
    let late = app.pledged(&paying, id, &pledge_with(&card, "25.00")).await;
    assert_eq!(late["status"], "collected", "{late}");
    assert_eq!(late["late"], true);
    let charged = intents_of(2500).await;
    assert_eq!(charged.len(), 1, "{charged:?}");
    assert_eq!(charged[0]["status"], "succeeded");
    assert_eq!(
        charged[0]["metadata"]["idempotency_key"],
        format!("pledge-{}-attempt-1", late["id"])
    );

    // A card the bank declines: 402 with its reason, the pledge dropped.
    let card = stripe.payment_method("4000000000000341").await;
    let response = app.pledge(&declined, id, &pledge_with(&card, "26.00")).await;
    let problem = crate::helpers::assert_problem(response, reqwest::StatusCode::PAYMENT_REQUIRED).await;
    assert_eq!(problem["decline_code"], "card_declined", "{problem}");
    let dropped_id: i64 = problem["existing"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        pledge_status(&app, &declined, &json!(dropped_id)).await,
        "dropped"
    );

    // A card that needs the backer: `requires_action` with the client secret; the backer
    // confirms and Stripe's webhook reports the payment.
    let card = stripe.payment_method("4000002760003184").await;
    let waiting = app.pledged(&confirming, id, &pledge_with(&card, "27.00")).await;
    assert_eq!(waiting["status"], "active", "{waiting}");
    let secret = waiting["payment_intent_client_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let intent = intents_of(2700).await.remove(0);
    assert_eq!(intent["status"], "requires_action");
    assert!(secret.starts_with(intent["id"].as_str().unwrap()), "{secret}");
    let (status, confirmed) = stripe
        .call(
            reqwest::Method::POST,
            &format!(
                "/v1/payment_intents/{}/_authenticate",
                intent["id"].as_str().unwrap()
            ),
            &[("client_secret", &secret), ("success", "true")],
        )
        .await;
    assert_eq!(status, 200, "{confirmed}");
    let succeeded = json!({
        "id": "evt_late_confirmed",
        "type": "payment_intent.succeeded",
        "data": {"object": confirmed}
    });
    let applied = webhook(&app, &succeeded, WEBHOOK_SECRET).await;
    assert_eq!(applied.json::<Value>().await.unwrap()["result"], "applied");
    assert_eq!(
        pledge_status(&app, &confirming, &waiting["id"]).await,
        "collected"
    );
    assert_eq!(intents_of(2700).await.len(), 1, "read, not made again");

    // A backer who never confirms: after an hour a pass cancels the payment and drops the pledge.
    let card = stripe.payment_method("4000002760003184").await;
    let abandoned = app.pledged(&away, id, &pledge_with(&card, "28.00")).await;
    assert_eq!(abandoned["status"], "active");
    assert_eq!(
        app.settle().await["pledges"]["dropped"],
        0,
        "the backer still has time"
    );
    app.clock.advance(Duration::hours(1) + Duration::minutes(1));
    let summary = app.settle().await;
    assert_eq!(summary["pledges"]["dropped"], 1, "{summary}");
    assert_eq!(pledge_status(&app, &away, &abandoned["id"]).await, "dropped");
    assert_eq!(intents_of(2800).await[0]["status"], "canceled");

    let owner = app.relogin(&owner).await;
    let figures: Value = app
        .get(
            &format!("/api/v1/campaigns/{id}/settlement"),
            Some(&owner.access_token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        figures["late"]["collected"],
        json!({"pledges": 2, "amount": "52.00"})
    );
    assert_eq!(figures["late"]["dropped"]["pledges"], 2);
    assert_eq!(figures["pledged_at_deadline"], "60.00");
    let admin = app.create_admin().await;
    assert_eq!(app.audit(&admin).await["ok"], true);

    // Stripe's lists, page by page, agree with the books; a PaymentIntent under one of our keys
    // that no attempt made is named.
    let reconciled = app
        .get("/api/v1/admin/reconciliation", Some(&admin.access_token))
        .await;
    assert_eq!(reconciled.status(), 200);
    let report: Value = reconciled.json().await.unwrap();
    assert_eq!(report["provider"], "stripe");
    assert_eq!(report["charges_checked"], 5, "{report}");
    let customer = late["payment_method"]
        .as_str()
        .unwrap()
        .split_once('/')
        .unwrap()
        .0;
    let stray = stripe.payment_method("4242424242424242").await;
    let (status, _) = stripe
        .call(
            reqwest::Method::POST,
            "/v1/payment_intents",
            &[
                ("amount", "900"),
                ("currency", "usd"),
                ("customer", customer),
                ("payment_method", &stray),
                ("confirm", "true"),
                ("metadata[idempotency_key]", "pledge-999999-attempt-1"),
            ],
        )
        .await;
    assert_eq!(status, 200);
    let differs = app
        .get("/api/v1/admin/reconciliation", Some(&admin.access_token))
        .await;
    let problem = crate::helpers::assert_problem(differs, reqwest::StatusCode::CONFLICT).await;
    assert_eq!(problem["errors"][0]["field"], "missing_in_ledger", "{problem}");
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("pledge-999999-attempt-1"),
        "{problem}"
    );
}
