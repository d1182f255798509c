//! Late pledges: after a campaign's success its creator keeps selling; each pledge is charged at
//! once at the tiers' late prices, stays out of the campaign's frozen figures, and its money
//! reaches the creator's account in the same transaction.

use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, TestUser, assert_problem, campaign_body, invalid_fields, pledge_body, spawn_app, tier_body,
};

/// A live 2-day campaign (goal 50.00) with a 20.00 tier of `units`, late pledges on, and one
/// 30.00 pledge on the tier; returns (campaign, tier).
async fn funded_with_late_pledges(app: &TestApp, owner: &TestUser, units: Option<i64>) -> (i64, i64) {
    let mut body = campaign_body("Still selling");
    body["goal"] = json!("50.00");
    body["duration_days"] = json!(2);
    let id = app.live_campaign_from(owner, &body).await;
    let tier = app
        .create_tier(owner, id, &tier_body("Lamp", "20.00", units))
        .await["id"]
        .as_i64()
        .unwrap();
    let on = app
        .patch_json(
            &format!("/api/v1/campaigns/{id}"),
            &json!({"late_pledges": true}),
            Some(&owner.access_token),
        )
        .await;
    assert_eq!(on.status(), StatusCode::OK);
    let early = app.create_user().await;
    app.pledged(&early, id, &pledge_body(Some(tier), "60.00")).await;
    (id, tier)
}

/// Past the deadline, settled: the campaign is successful.
async fn succeed(app: &TestApp, id: i64) {
    app.clock.advance(Duration::days(2));
    app.settle().await;
    assert_eq!(app.campaign(id).await["status"], "successful");
}

async fn settlement_of(app: &TestApp, owner: &TestUser, id: i64) -> Value {
    let response = app
        .get(
            &format!("/api/v1/campaigns/{id}/settlement"),
            Some(&owner.access_token),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

fn minor(amount: &Value) -> i64 {
    let text = amount.as_str().unwrap();
    let (units, cents) = text.split_once('.').unwrap();
    units.parse::<i64>().unwrap() * 100 + cents.parse::<i64>().unwrap()
}

#[tokio::test]
async fn a_late_pledge_is_charged_at_once_at_the_late_price_and_paid_to_the_creator() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let (id, tier) = funded_with_late_pledges(&app, &owner, Some(3)).await;
    succeed(&app, id).await;
    let owner = app.relogin(&owner).await;
    let before = settlement_of(&app, &owner, id).await;

    let priced = app
        .patch_json(
            &format!("/api/v1/campaigns/{id}/tiers/{tier}"),
            &json!({"late_price": "25.00"}),
            Some(&owner.access_token),
        )
        .await;
    assert_eq!(
        priced.status(),
        StatusCode::OK,
        "only the late price changes after success"
    );
    assert_eq!(priced.json::<Value>().await.unwrap()["late_price"], "25.00");
    let page = app.campaign(id).await;
    assert_eq!(page["taking_late_pledges"], true);
    assert_eq!(page["tiers"][0]["late_price"], "25.00");
    let deadline: DateTime<Utc> = page["deadline"].as_str().unwrap().parse().unwrap();
    let until: DateTime<Utc> = page["late_pledges_until"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        until - deadline,
        Duration::days(365),
        "open for a year unless the creator says"
    );

    let backer = app.create_user().await;
    let below = app.pledge(&backer, id, &pledge_body(Some(tier), "20.00")).await;
    let problem = assert_problem(below, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(invalid_fields(&problem), ["amount"]);
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("25.00"),
        "{problem}"
    );

    let key = "late-pledge-1";
    let first = app
        .request(
            reqwest::Method::POST,
            &format!("/api/v1/campaigns/{id}/pledges"),
            Some(&backer.access_token),
        )
        .header("Idempotency-Key", key)
        .json(&pledge_body(Some(tier), "25.00"))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let pledge: Value = first.json().await.unwrap();
    assert_eq!(pledge["status"], "collected", "charged in the request");
    assert_eq!(pledge["late"], true);
    let replay = app
        .request(
            reqwest::Method::POST,
            &format!("/api/v1/campaigns/{id}/pledges"),
            Some(&backer.access_token),
        )
        .header("Idempotency-Key", key)
        .json(&pledge_body(Some(tier), "25.00"))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), StatusCode::CREATED);
    assert_eq!(replay.headers()["Idempotent-Replayed"], "true");
    assert_eq!(replay.json::<Value>().await.unwrap()["id"], pledge["id"]);
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM sandbox_charges"),
        2,
        "charged once"
    );
    let again = app.pledge(&backer, id, &pledge_body(Some(tier), "25.00")).await;
    let problem = assert_problem(again, StatusCode::CONFLICT).await;
    assert_eq!(problem["existing"], format!("/api/v1/pledges/{}", pledge["id"]));

    // The campaign's outcome stays as it was frozen; the late pledge has figures of its own.
    let page = app.campaign(id).await;
    assert_eq!(page["pledged"], "60.00");
    assert_eq!(page["backer_count"], 1);
    assert_eq!(
        page["tiers"][0]["claimed"], 2,
        "tier units count late pledges too"
    );
    let after = settlement_of(&app, &owner, id).await;
    for field in [
        "collected",
        "pledged_at_deadline",
        "processing_fees",
        "platform_fee",
        "payout",
    ] {
        assert_eq!(after[field], before[field], "{field}");
    }
    let late = &after["late"];
    assert_eq!(late["collected"], json!({"pledges": 1, "amount": "25.00"}));
    assert_eq!(late["platform_fee"], "1.25", "the campaign's 5 %");
    assert_eq!(
        minor(&late["processing_fees"]) + minor(&late["platform_fee"]) + minor(&late["payout"]),
        2_500
    );
    assert_eq!(
        minor(&after["creator_payable"]),
        minor(&before["creator_payable"]) + minor(&late["payout"]),
        "the late share is the creator's at once"
    );
    assert_eq!(app.balance(&format!("escrow:campaign:{id}")), 0);
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
        stats["late"],
        json!({"collected": 1, "collected_amount": "25.00", "pending": 0, "declined": 0})
    );
    assert_eq!(stats["pledged"], "60.00");
    let receipts = app.count("SELECT COUNT(*) AS n FROM email_outbox WHERE template = 'payment_receipt'");
    assert_eq!(receipts, 2, "the late backer has a receipt");
    let admin = app.create_admin().await;
    assert_eq!(app.audit(&admin).await["ok"], true);

    // Refunded as any collected pledge, out of the creator's account.
    let refunded = app
        .post_json(
            &format!("/api/v1/pledges/{}/refund", pledge["id"]),
            &json!({}),
            Some(&owner.access_token),
        )
        .await;
    assert_eq!(refunded.status(), StatusCode::OK);
    assert_eq!(
        settlement_of(&app, &owner, id).await["late"]["refunded"],
        json!({"pledges": 1, "amount": "25.00"})
    );
    assert_eq!(app.audit(&admin).await["ok"], true);
}

#[tokio::test]
async fn a_late_pledge_declined_by_the_card_is_refused_and_dropped() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let (id, tier) = funded_with_late_pledges(&app, &owner, Some(2)).await;
    succeed(&app, id).await;
    let backer = app.create_user().await;
    let mut body = pledge_body(Some(tier), "20.00");
    body["payment_method"] = json!("pm_card_chargeDeclinedInsufficientFunds");
    let declined = app.pledge(&backer, id, &body).await;
    let problem = assert_problem(declined, StatusCode::PAYMENT_REQUIRED).await;
    assert_eq!(problem["type"], "/problems/payment-declined");
    assert_eq!(problem["decline_code"], "insufficient_funds");
    assert_eq!(invalid_fields(&problem), ["payment_method"]);
    let link = problem["existing"].as_str().unwrap().to_owned();
    let dropped: Value = app
        .get(&link, Some(&backer.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(dropped["status"], "dropped");
    assert_eq!(
        app.campaign(id).await["tiers"][0]["claimed"],
        1,
        "its unit is given back"
    );
    let dropped_mail = app.count("SELECT COUNT(*) AS n FROM email_outbox WHERE template = 'pledge_dropped'");
    assert_eq!(dropped_mail, 1);
    let posted = app.count(&format!(
        "SELECT COUNT(*) AS n FROM ledger_transactions WHERE pledge_id = {}",
        dropped["id"]
    ));
    assert_eq!(posted, 0, "nothing was charged");

    // Another card: the backer pledges again.
    let accepted = app.pledge(&backer, id, &pledge_body(Some(tier), "20.00")).await;
    assert_eq!(accepted.status(), StatusCode::CREATED);
    assert_eq!(accepted.json::<Value>().await.unwrap()["status"], "collected");
    // The last unit is gone: tier quantities hold for late pledges too.
    let late = app.create_user().await;
    let sold_out = app.pledge(&late, id, &pledge_body(Some(tier), "20.00")).await;
    let problem = assert_problem(sold_out, StatusCode::CONFLICT).await;
    assert!(
        problem["detail"].as_str().unwrap().contains("sold out"),
        "{problem}"
    );
    let owner = app.relogin(&owner).await;
    let figures = settlement_of(&app, &owner, id).await;
    assert_eq!(
        figures["late"]["dropped"],
        json!({"pledges": 1, "amount": "20.00"})
    );
    assert_eq!(figures["late"]["collected"]["pledges"], 1);
    let admin = app.create_admin().await;
    assert_eq!(app.audit(&admin).await["ok"], true);
}

#[tokio::test]
async fn late_pledges_close_when_the_creator_closes_them_or_their_date_passes() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let (id, tier) = funded_with_late_pledges(&app, &owner, None).await;
    let page = app.campaign(id).await;
    assert_eq!(page["late_pledges"], true);
    assert_eq!(page["taking_late_pledges"], false, "only once successful");
    succeed(&app, id).await;
    let owner = app.relogin(&owner).await;
    let deadline: DateTime<Utc> = app.campaign(id).await["deadline"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let set = |body: Value| {
        let (app, owner) = (&app, &owner);
        async move {
            app.patch_json(
                &format!("/api/v1/campaigns/{id}"),
                &body,
                Some(&owner.access_token),
            )
            .await
        }
    };

    let off = set(json!({"late_pledges": false})).await;
    assert_eq!(off.status(), StatusCode::OK);
    let backer = app.create_user().await;
    let closed = app.pledge(&backer, id, &pledge_body(Some(tier), "20.00")).await;
    assert_problem(closed, StatusCode::CONFLICT).await;

    for (until, why) in [
        (deadline + Duration::days(366), "beyond a year after the deadline"),
        (deadline - Duration::days(1), "before the deadline"),
    ] {
        let refused = set(json!({"late_pledges": true, "late_pledges_until": until})).await;
        let problem = assert_problem(refused, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(invalid_fields(&problem), ["late_pledges_until"], "{why}");
    }
    let frozen = set(json!({"late_pledges": true, "title": "Renamed"})).await;
    assert_problem(frozen, StatusCode::CONFLICT).await;
    assert_eq!(
        app.campaign(id).await["late_pledges"],
        false,
        "a refusal changes nothing"
    );
    let below_minimum = app
        .patch_json(
            &format!("/api/v1/campaigns/{id}/tiers/{tier}"),
            &json!({"late_price": "19.99"}),
            Some(&owner.access_token),
        )
        .await;
    let problem = assert_problem(below_minimum, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(invalid_fields(&problem), ["late_price"]);

    let until = app.clock.now() + Duration::days(10);
    let on = set(json!({"late_pledges": true, "late_pledges_until": until})).await;
    assert_eq!(on.status(), StatusCode::OK);
    let shown: DateTime<Utc> = on.json::<Value>().await.unwrap()["late_pledges_until"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((shown - until).num_milliseconds().abs() < 1, "{shown} {until}");
    let taken = app.pledge(&backer, id, &pledge_body(Some(tier), "20.00")).await;
    assert_eq!(taken.status(), StatusCode::CREATED);

    app.clock.advance(Duration::days(10));
    let late = app.create_user().await;
    let past = app.pledge(&late, id, &pledge_body(Some(tier), "20.00")).await;
    assert_problem(past, StatusCode::CONFLICT).await;
    assert_eq!(app.campaign(id).await["taking_late_pledges"], false);
}

#[tokio::test]
async fn only_campaigns_that_may_still_succeed_take_late_pledge_settings() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let draft = app.create_campaign(&owner, &campaign_body("Not yet")).await["id"]
        .as_i64()
        .unwrap();
    let dated = app
        .patch_json(
            &format!("/api/v1/campaigns/{draft}"),
            &json!({"late_pledges": true, "late_pledges_until": Utc::now() + Duration::days(40)}),
            Some(&owner.access_token),
        )
        .await;
    let problem = assert_problem(dated, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(
        invalid_fields(&problem),
        ["late_pledges_until"],
        "a draft has no deadline yet"
    );
    let plain = app
        .patch_json(
            &format!("/api/v1/campaigns/{draft}"),
            &json!({"late_pledges": true}),
            Some(&owner.access_token),
        )
        .await;
    assert_eq!(plain.status(), StatusCode::OK);

    let mut body = campaign_body("Will fail");
    body["duration_days"] = json!(1);
    let failing = app.live_campaign_from(&owner, &body).await;
    app.clock.advance(Duration::days(1));
    app.settle().await;
    assert_eq!(app.campaign(failing).await["status"], "failed");
    let owner = app.relogin(&owner).await;
    let refused = app
        .patch_json(
            &format!("/api/v1/campaigns/{failing}"),
            &json!({"late_pledges": true}),
            Some(&owner.access_token),
        )
        .await;
    assert_problem(refused, StatusCode::CONFLICT).await;
}

#[tokio::test]
async fn a_late_charge_without_an_answer_is_replayed_by_settlement() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let (id, tier) = funded_with_late_pledges(&app, &owner, None).await;
    succeed(&app, id).await;
    // The provider answers the next pledge's first attempt with an error (its key already
    // holds another charge), as if the network had failed. Ids to come may skip a few (a
    // sequence's values are not handed back): the next ten are covered.
    let last = app.count("SELECT CAST(MAX(id) AS BIGINT) AS n FROM pledges");
    let now = app.clock.now().naive_utc();
    for next in last + 1..=last + 10 {
        app.sql(&format!(
            "INSERT INTO sandbox_charges (idempotency_key, payment_method, amount_minor, currency, status, \
             fee_minor, refunded_minor, created_at) VALUES ('pledge-{next}-attempt-1', 'pm_card_visa', 1, \
             'USD', 'succeeded', 0, 0, '{now}')"
        ))
        .unwrap();
    }
    let backer = app.create_user().await;
    let unknown = app.pledge(&backer, id, &pledge_body(Some(tier), "20.00")).await;
    assert_problem(unknown, StatusCode::SERVICE_UNAVAILABLE).await;
    let retry = app.pledge(&backer, id, &pledge_body(Some(tier), "20.00")).await;
    let problem = assert_problem(retry, StatusCode::CONFLICT).await;
    let link = problem["existing"].as_str().unwrap().to_owned();
    let waiting: Value = app
        .get(&link, Some(&backer.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        waiting["status"], "active",
        "the pledge waits for its charge's outcome"
    );
    assert_eq!(waiting["late"], true);

    // The provider never charged it; once the request's lease is over, a pass replays the key.
    app.sql("DELETE FROM sandbox_charges WHERE amount_minor = 1")
        .unwrap();
    assert_eq!(
        app.settle().await["pledges"]["collected"],
        0,
        "still leased to its request"
    );
    app.clock.advance(Duration::minutes(6));
    assert_eq!(app.settle().await["pledges"]["collected"], 1);
    let backer = app.relogin(&backer).await;
    let pledge: Value = app
        .get(&link, Some(&backer.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(pledge["status"], "collected");
    assert_eq!(app.balance(&format!("escrow:campaign:{id}")), 0);
    let admin = app.create_admin().await;
    assert_eq!(app.audit(&admin).await["ok"], true);
}
