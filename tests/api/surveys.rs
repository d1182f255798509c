//! After the campaign: the backer survey (define, send, answer, lock, remind), and its
//! privacy and retention. Fulfilment and the export are in `fulfilment.rs`.

use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, TestUser, assert_problem, campaign_body, invalid_fields, tier_body};
use crate::mail::app_with_smtp;

/// A successful-but-for-one campaign with three tiers — a lamp that ships, a T-shirt that ships
/// and asks a size, a digital edition — and four backers: a (lamp, US), b (T-shirt, DE),
/// c (digital), all collected, and d (lamp, FR) whose card was declined (errored).
pub struct Shop {
    pub owner: TestUser,
    pub id: i64,
    pub shirt: i64,
    pub backers: [TestUser; 4],
    pub pledges: [i64; 4],
}

impl Shop {
    pub async fn open(app: &TestApp) -> Self {
        let owner = app.create_user().await;
        let mut body = campaign_body("Night Lamp");
        body["goal"] = json!("100.00");
        body["duration_days"] = json!(2);
        let id = app.create_campaign(&owner, &body).await["id"].as_i64().unwrap();
        let mut lamp = tier_body("Lamp", "40.00", None);
        lamp["shipping"] = json!({"US": "10.00", "*": "20.00"});
        let lamp = app.create_tier(&owner, id, &lamp).await["id"].as_i64().unwrap();
        let mut shirt = tier_body("T-shirt", "25.00", None);
        shirt["shipping"] = json!({"*": "5.00"});
        let shirt = app.create_tier(&owner, id, &shirt).await["id"].as_i64().unwrap();
        let digital = app
            .create_tier(&owner, id, &tier_body("Digital", "10.00", None))
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
        let orders = [
            (lamp, "50.00", Some("US"), "pm_card_visa"),
            (shirt, "30.00", Some("DE"), "pm_card_visa"),
            (digital, "10.00", None, "pm_card_visa"),
            (lamp, "60.00", Some("FR"), "pm_card_chargeDeclined"),
        ];
        let mut backers = Vec::new();
        let mut pledges = Vec::new();
        for (tier, amount, country, method) in orders {
            let backer = app.create_user().await;
            let body = json!({
                "tier_id": tier, "amount": amount, "shipping_country": country, "payment_method": method,
            });
            pledges.push(app.pledged(&backer, id, &body).await["id"].as_i64().unwrap());
            backers.push(backer);
        }
        app.clock.advance(Duration::days(2));
        let summary = app.settle().await;
        assert_eq!(summary["pledges"]["collected"], 3, "{summary}");
        assert_eq!(summary["pledges"]["errored"], 1, "{summary}");
        let mut shop = Self {
            owner,
            id,
            shirt,
            backers: backers.try_into().unwrap_or_else(|_| unreachable!()),
            pledges: pledges.try_into().unwrap(),
        };
        shop.relogin(app).await;
        shop
    }

    pub async fn relogin(&mut self, app: &TestApp) {
        self.owner = app.relogin(&self.owner).await;
        for backer in &mut self.backers {
            *backer = app.relogin(backer).await;
        }
    }

    pub fn questions(&self) -> Value {
        json!([
            {"id": "address", "kind": "shipping_address", "prompt": "Where should we send it?"},
            {"id": "size", "kind": "single_choice", "prompt": "T-shirt size", "required": true,
             "options": ["S", "M", "L", "XL"], "tiers": [self.shirt]},
            {"id": "note", "kind": "text", "prompt": "Anything we should know?"},
        ])
    }

    /// Defines the survey and sends it, locking in `lock_days`.
    pub async fn survey_sent(&self, app: &TestApp, lock_days: i64) -> Value {
        let defined = app
            .request(
                reqwest::Method::PUT,
                &self.survey_path(),
                Some(&self.owner.access_token),
            )
            .json(&json!({"questions": self.questions()}))
            .send()
            .await
            .unwrap();
        assert_eq!(defined.status(), StatusCode::OK);
        let sent = app
            .post_json(
                &format!("{}/send", self.survey_path()),
                &json!({"lock_at": app.clock.now() + Duration::days(lock_days)}),
                Some(&self.owner.access_token),
            )
            .await;
        assert_eq!(sent.status(), StatusCode::OK);
        sent.json().await.unwrap()
    }

    pub fn survey_path(&self) -> String {
        format!("/api/v1/campaigns/{}/survey", self.id)
    }
}

pub fn answers_path(pledge: i64) -> String {
    format!("/api/v1/pledges/{pledge}/survey")
}

pub async fn answer(app: &TestApp, backer: &TestUser, pledge: i64, answers: Value) -> reqwest::Response {
    app.request(
        reqwest::Method::PUT,
        &answers_path(pledge),
        Some(&backer.access_token),
    )
    .json(&json!({ "answers": answers }))
    .send()
    .await
    .unwrap()
}

pub fn us_address() -> Value {
    json!({"name": "Ana López", "line1": "1600 Amphitheatre Pkwy", "city": "Mountain View",
           "region": "ca", "postal_code": "94043", "country": "US", "phone": "+1 650 253 0000"})
}

pub fn de_address() -> Value {
    json!({"name": "Bo Berg", "line1": "Unter den Linden 1", "line2": "Hinterhaus",
           "city": "Berlin", "postal_code": "10117", "country": "DE"})
}

async fn put(app: &TestApp, path: &str, body: &Value, user: &TestUser) -> reqwest::Response {
    app.request(reqwest::Method::PUT, path, Some(&user.access_token))
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_survey_is_defined_sent_answered_and_locked() {
    let (app, inbox) = app_with_smtp().await;
    let mut shop = Shop::open(&app).await;
    let [a, b, c, d] = &shop.backers;
    let [pa, pb, pc, pd] = shop.pledges;
    let path = shop.survey_path();

    // Questions are checked against the campaign.
    let bad = json!({"questions": [
        {"id": "address", "kind": "shipping_address", "prompt": "Where?"},
        {"id": "address", "kind": "text", "prompt": "Again"},
        {"id": "size", "kind": "single_choice", "prompt": "Size", "options": ["S"], "tiers": [999999]},
    ]});
    let problem = assert_problem(
        put(&app, &path, &bad, &shop.owner).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        invalid_fields(&problem),
        ["questions[1].id", "questions[2].options", "questions[2].tiers[0]"]
    );
    assert_problem(
        app.get(&path, Some(&shop.owner.access_token)).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // Other people do not learn of it; an admin reads it but does not change it.
    let admin = app.create_admin().await;
    let body = json!({"questions": shop.questions()});
    assert_problem(put(&app, &path, &body, a).await, StatusCode::NOT_FOUND).await;
    assert_problem(put(&app, &path, &body, &admin).await, StatusCode::FORBIDDEN).await;

    let defined: Value = put(&app, &path, &body, &shop.owner).await.json().await.unwrap();
    assert_eq!(
        defined["questions"][0]["required"], true,
        "an address is required"
    );
    assert_eq!(defined["sent_at"], Value::Null);
    assert_eq!(
        app.get(&path, Some(&admin.access_token)).await.status(),
        StatusCode::OK
    );
    assert_problem(app.get(&path, Some(&a.access_token)).await, StatusCode::NOT_FOUND).await;
    // Before it is sent, backers have nothing to answer.
    assert_problem(
        app.get(&answers_path(pa), Some(&a.access_token)).await,
        StatusCode::NOT_FOUND,
    )
    .await;

    let send = format!("{path}/send");
    let too_soon = json!({"lock_at": app.clock.now() + Duration::hours(2)});
    let problem = assert_problem(
        app.post_json(&send, &too_soon, Some(&shop.owner.access_token))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(invalid_fields(&problem), ["lock_at"]);
    let lock_at = app.clock.now() + Duration::days(10);
    let sent: Value = app
        .post_json(
            &send,
            &json!({ "lock_at": lock_at }),
            Some(&shop.owner.access_token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(sent["invited"], 3, "the collected pledges: {sent}");
    assert!(sent["survey"]["sent_at"].is_string());
    assert_problem(
        app.post_json(
            &send,
            &json!({ "lock_at": lock_at }),
            Some(&shop.owner.access_token),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_problem(put(&app, &path, &body, &shop.owner).await, StatusCode::CONFLICT).await;

    for (backer, pledge) in [(a, pa), (b, pb), (c, pc)] {
        let mail = inbox
            .wait_for(&backer.email, "a few questions about your reward", 1)
            .await;
        assert!(
            mail[0]
                .text
                .contains(&format!("https://app.test/pledges/{pledge}/survey")),
            "{}",
            mail[0].text
        );
    }
    assert!(
        inbox.find(&d.email, "a few questions").is_empty(),
        "d has not paid"
    );

    // Each pledge is asked what applies to it.
    let ids = |survey: &Value| {
        survey["questions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| q["id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let of_b: Value = app
        .get(&answers_path(pb), Some(&b.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&of_b), ["address", "size", "note"]);
    assert_eq!(of_b["answers"], Value::Null);
    let of_c: Value = app
        .get(&answers_path(pc), Some(&c.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&of_c), ["note"], "a digital reward ships nowhere");
    let of_a: Value = app
        .get(&answers_path(pa), Some(&a.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&of_a), ["address", "note"]);

    // Answers are checked per kind and against the country the shipping was paid for.
    let mut wrong_country = de_address();
    wrong_country["country"] = json!("FR");
    let problem = assert_problem(
        answer(
            &app,
            b,
            pb,
            json!({"address": wrong_country, "size": "XXL", "shoe": 42}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        invalid_fields(&problem),
        ["answers.shoe", "answers.address.country", "answers.size"]
    );
    let mut bad_zip = us_address();
    bad_zip["postal_code"] = json!("9404");
    bad_zip["region"] = json!("Narnia");
    let problem = assert_problem(
        answer(&app, a, pa, json!({ "address": bad_zip })).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        invalid_fields(&problem),
        ["answers.address.postal_code", "answers.address.region"]
    );
    let problem = assert_problem(
        answer(&app, a, pa, json!({"note": "hi"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        invalid_fields(&problem),
        ["answers.address"],
        "the address is required"
    );
    let problem = assert_problem(
        answer(&app, c, pc, json!({"note": "x".repeat(2_001)})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(invalid_fields(&problem), ["answers.note"]);
    let after_refusals: Value = app
        .get(&answers_path(pa), Some(&a.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        after_refusals["answers"],
        Value::Null,
        "a refused answer changes nothing"
    );

    let answered: Value = answer(
        &app,
        a,
        pa,
        json!({ "address": us_address(), "note": "Leave it at the door" }),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(answered["answers"]["address"]["region"], "CA", "normalised");
    assert!(answered["answered_at"].is_string());
    let answered = answer(&app, b, pb, json!({"address": de_address(), "size": "M"})).await;
    assert_eq!(answered.status(), StatusCode::OK);
    // Only the backer answers; others who may see it read it.
    assert_problem(
        answer(&app, &shop.owner, pa, json!({})).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let seen: Value = app
        .get(&answers_path(pa), Some(&shop.owner.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(seen["answers"]["note"], "Leave it at the door");
    assert_eq!(
        app.get(&answers_path(pa), Some(&admin.access_token))
            .await
            .status(),
        StatusCode::OK
    );
    // Another backer and another campaign's creator do not learn it exists.
    let other_creator = app.create_user().await;
    app.live_campaign(&other_creator, "Elsewhere").await;
    for stranger in [b, &other_creator] {
        assert_problem(
            app.get(&answers_path(pa), Some(&stranger.access_token)).await,
            StatusCode::NOT_FOUND,
        )
        .await;
        assert_problem(answer(&app, stranger, pa, json!({})).await, StatusCode::NOT_FOUND).await;
        assert_problem(
            app.get(&path, Some(&stranger.access_token)).await,
            StatusCode::NOT_FOUND,
        )
        .await;
    }

    // d's card is replaced; collected by the next pass, d is invited then.
    let replaced = put(
        &app,
        &format!("/api/v1/pledges/{pd}/payment-method"),
        &json!({"payment_method": "pm_card_visa"}),
        d,
    )
    .await;
    assert_eq!(replaced.status(), StatusCode::OK);
    assert_eq!(app.settle().await["pledges"]["collected"], 1);
    inbox
        .wait_for(&d.email, "a few questions about your reward", 1)
        .await;
    let mut fr = de_address();
    fr["country"] = json!("FR");
    fr["postal_code"] = json!("75008");
    assert_eq!(
        answer(&app, d, pd, json!({ "address": fr })).await.status(),
        StatusCode::OK
    );

    // Answers change until the lock, and not after.
    let changed = answer(&app, b, pb, json!({"address": de_address(), "size": "L"})).await;
    assert_eq!(changed.status(), StatusCode::OK);
    app.clock.advance(Duration::days(10));
    shop.relogin(&app).await;
    let [_, b, ..] = &shop.backers;
    assert_problem(
        answer(&app, b, pb, json!({"address": de_address(), "size": "S"})).await,
        StatusCode::CONFLICT,
    )
    .await;
    let locked: Value = app
        .get(&answers_path(pb), Some(&b.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(locked["locked"], true);
    assert_eq!(locked["answers"]["size"], "L");

    let stats: Value = app
        .get(
            &format!("/api/v1/campaigns/{}/stats", shop.id),
            Some(&shop.owner.access_token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        stats["survey"],
        json!({"invited": 4, "answered": 3, "response_rate_percent": 75})
    );
}

#[tokio::test]
async fn a_survey_waits_for_the_campaign_to_collect() {
    let app = crate::helpers::spawn_app().await;
    let owner = app.create_user().await;
    let id = app.live_campaign(&owner, "Not yet").await;
    let path = format!("/api/v1/campaigns/{id}/survey");
    let body = json!({"questions": [{"id": "note", "kind": "text", "prompt": "Hi?"}]});
    assert_eq!(
        put(&app, &path, &body, &owner).await.status(),
        StatusCode::OK,
        "prepared while live"
    );
    let problem = assert_problem(
        app.post_json(
            &format!("{path}/send"),
            &json!({"lock_at": Utc::now() + Duration::days(30)}),
            Some(&owner.access_token),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(problem["detail"].as_str().unwrap().contains("live"), "{problem}");
}

#[tokio::test]
async fn unanswered_surveys_are_reminded_weekly_three_times() {
    let app = crate::helpers::spawn_app().await;
    let shop = Shop::open(&app).await;
    shop.survey_sent(&app, 60).await;
    let [a, ..] = &shop.backers;
    let [pa, pb, pc, _] = shop.pledges;
    answer(&app, a, pa, json!({ "address": us_address() })).await;
    let reminders = |pledge: i64| {
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM email_outbox WHERE template = 'survey_reminder' \
             AND subject_id LIKE 'survey-reminder:{pledge}:%'"
        ))
    };
    assert_eq!(app.settle().await["surveys"]["reminded"], 0, "not a week yet");
    for week in 1..=5 {
        app.clock.advance(Duration::days(7));
        let summary = app.settle().await;
        let expected = if week <= 3 { 2 } else { 0 };
        assert_eq!(summary["surveys"]["reminded"], expected, "week {week}: {summary}");
    }
    assert_eq!(reminders(pb), 3);
    assert_eq!(reminders(pc), 3);
    assert_eq!(reminders(pa), 0, "a answered");
}

#[tokio::test]
async fn answers_are_exported_to_the_backer_and_erased_after_delivery() {
    let app = crate::helpers::spawn_app().await;
    let shop = Shop::open(&app).await;
    shop.survey_sent(&app, 30).await;
    let [a, b, c, _] = &shop.backers;
    let [pa, pb, pc, _] = shop.pledges;
    assert_eq!(
        answer(&app, a, pa, json!({ "address": us_address() }))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        answer(&app, b, pb, json!({"address": de_address(), "size": "M"}))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        answer(&app, c, pc, json!({"note": "Thanks!"})).await.status(),
        StatusCode::OK
    );

    let export: Value = app
        .get("/api/v1/me/export", Some(&a.access_token))
        .await
        .json()
        .await
        .unwrap();
    let pledge = &export["pledges"][0];
    assert_eq!(pledge["survey_answers"]["address"]["postal_code"], "94043");
    assert_eq!(pledge["fulfilment_status"], "unfulfilled");

    // c deletes the account: nothing is left to ship, so the answers go with it. b's pledge
    // still has to ship: its address stays until it is delivered.
    for backer in [b, c] {
        let deleted = app
            .request(reqwest::Method::DELETE, "/api/v1/me", Some(&backer.access_token))
            .json(&json!({ "password": PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    }
    let kept = |pledge: i64| {
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM survey_responses WHERE pledge_id = {pledge} AND answers IS NOT NULL"
        ))
    };
    assert_eq!(kept(pc), 0);
    assert_eq!(kept(pb), 1);
    let owner_sees: Value = app
        .get(&answers_path(pb), Some(&shop.owner.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(owner_sees["answers"]["address"]["city"], "Berlin");

    let deliver = async |pledge: i64| {
        app.patch_json(
            &format!("/api/v1/pledges/{pledge}/fulfilment"),
            &json!({"status": "delivered"}),
            Some(&shop.owner.access_token),
        )
        .await
    };
    assert_eq!(deliver(pa).await.status(), StatusCode::OK);
    assert_eq!(deliver(pb).await.status(), StatusCode::OK);
    let summary = app.settle().await;
    assert_eq!(summary["surveys"]["erased"], 1, "b's, now delivered: {summary}");
    assert_eq!(kept(pb), 0);
    assert_eq!(kept(pa), 1, "kept for the retention period");

    app.clock.advance(Duration::days(179));
    assert_eq!(app.settle().await["surveys"]["erased"], 0);
    app.clock.advance(Duration::days(2));
    assert_eq!(app.settle().await["surveys"]["erased"], 1);
    let a = &app.relogin(&shop.backers[0]).await;
    let erased: Value = app
        .get(&answers_path(pa), Some(&a.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(erased["answers"], Value::Null);
    assert!(erased["answered_at"].is_string(), "that it was answered stays");
}
