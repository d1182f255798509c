//! A new pledge on PostgreSQL is written in one statement, answered before its row exists
//! (`crowdfund::db::pledge_statement`). What a backer sees must not tell the two paths apart,
//! and a statement that a condition refuses must leave nothing behind.

use chrono::Utc;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, pledge_body, spawn_app, tier_body};
use crowdfund::db::DbConn;
use crowdfund::db::pledge_statement::{self, Snapshot, Writes};
use crowdfund::db::pledges::NewPledge;
use crowdfund::domain::{CampaignId, TierId, UserId};
use crowdfund::mail::Template;
use crowdfund::pledges::lifecycle;

#[tokio::test]
async fn a_new_pledges_answer_is_the_pledge_as_stored() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let backer = app.create_user().await;
    let id = app.live_campaign(&owner, "Lamp").await;
    let mut tier = tier_body("Lamp", "40.00", Some(10));
    tier["shipping"] = json!({"US": "5.00", "*": "15.00"});
    let tier = app.create_tier(&owner, id, &tier).await["id"].as_i64().unwrap();

    let mut body = pledge_body(Some(tier), "60.00");
    body["shipping_country"] = json!("fr");
    body["ref"] = json!("Search");
    let send = || {
        app.request(
            Method::POST,
            &format!("/api/v1/campaigns/{id}/pledges"),
            Some(&backer.access_token),
        )
        .header("Idempotency-Key", "lamp-1")
        .json(&body)
        .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let location = first.headers()["location"].to_str().unwrap().to_owned();
    let answer = first.text().await.unwrap();
    let created: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(location, format!("/api/v1/pledges/{}", created["id"]));
    assert_eq!(created["shipping_country"], "FR");
    assert_eq!(created["shipping_fee"], "15.00");
    assert_eq!(created["ref"], "search");

    // The answer is the pledge as any later read shows it, field for field.
    let stored: Value = app
        .get(&location, Some(&backer.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(created, stored);

    // A retry replays the stored answer byte for byte.
    let again = send().await.unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.text().await.unwrap(), answer);

    // What goes with a pledge was written with it, once.
    let pledge = created["id"].as_i64().unwrap();
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM pledge_events WHERE pledge_id = {pledge} AND to_status = 'active' AND reason = 'pledged'"
        )),
        1
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM email_outbox WHERE template = 'pledge_confirmed' AND subject_id = 'pledge:{pledge}'"
        )),
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM webhook_events WHERE event_type = 'pledge.created'"),
        1
    );
    assert_eq!(
        app.count(&format!(
            "SELECT CAST(claimed AS BIGINT) AS n FROM reward_tiers WHERE id = {tier}"
        )),
        1
    );
    let campaign = app.campaign(id).await;
    assert_eq!(campaign["pledged"], "60.00");
    assert_eq!(campaign["backer_count"], 1);
}

/// What the pledge's checks read, taken as the first of its two statements would.
fn look(app: &TestApp, campaign: i64, backer: &TestUser, tier: i64) -> Option<Snapshot> {
    let mut conn = app.connection();
    pledge_statement::look(
        &mut conn,
        CampaignId(campaign),
        UserId(backer.id),
        Some(TierId(tier)),
        Some("late-key"),
        None,
    )
    .unwrap()
}

/// The second statement, writing a 10.00 pledge from what `seen` showed.
fn write(app: &TestApp, seen: &Snapshot, backer: &TestUser, tier: i64) -> bool {
    let now = Utc::now();
    let pledge = pledge_statement::new_row(
        seen.next_id,
        &NewPledge {
            campaign_id: seen.campaign.id,
            backer_id: UserId(backer.id),
            tier_id: Some(TierId(tier)),
            amount_minor: 1_000,
            shipping_country: None,
            shipping_fee_minor: 0,
            payment_method: "pm_card_visa",
            referral: None,
            created_at: now.naive_utc(),
            updated_at: now.naive_utc(),
            addons: "[]",
            late: false,
            lease_until: None,
        },
    );
    let records = lifecycle::created_records(&seen.campaign, &pledge, Some("Lamp"), now);
    let key = crowdfund::db::idempotency::Stored {
        user_id: UserId(backer.id),
        key: "late-key",
        request_hash: "hash",
        status: 201,
        purge_before: now.naive_utc(),
    };
    let mut conn = app.connection();
    pledge_statement::write(
        &mut conn,
        &Writes {
            pledge: &pledge,
            event: &records.event,
            email_template: Template::PledgeConfirmed.as_str(),
            email_addresses: Template::PledgeConfirmed.addresses(),
            email: &records.email,
            webhook: &records.webhook,
            answer: Some((&key, "{}")),
            now: now.naive_utc(),
        },
    )
    .unwrap()
}

/// A live campaign with a 10.00 tier of `units`; returns (campaign, tier).
async fn lamp(app: &TestApp, owner: &TestUser, units: i64) -> (i64, i64) {
    let id = app.live_campaign(owner, "Lamp").await;
    let tier = app
        .create_tier(owner, id, &tier_body("Lamp", "10.00", Some(units)))
        .await["id"]
        .as_i64()
        .unwrap();
    (id, tier)
}

fn is_sqlite(app: &TestApp) -> bool {
    matches!(&*app.connection(), DbConn::Sqlite(_))
}

/// Everything a refused statement might have left: pledges, events, emails, webhook events,
/// stored keys, and the tier's and campaign's figures.
fn traces(app: &TestApp, campaign: i64, tier: i64) -> Vec<i64> {
    [
        "SELECT COUNT(*) AS n FROM pledges".to_owned(),
        "SELECT COUNT(*) AS n FROM pledge_events".to_owned(),
        "SELECT COUNT(*) AS n FROM email_outbox WHERE template = 'pledge_confirmed'".to_owned(),
        "SELECT COUNT(*) AS n FROM webhook_events WHERE event_type = 'pledge.created'".to_owned(),
        "SELECT COUNT(*) AS n FROM idempotency_keys".to_owned(),
        format!("SELECT CAST(claimed AS BIGINT) AS n FROM reward_tiers WHERE id = {tier}"),
        format!("SELECT pledged_minor AS n FROM campaigns WHERE id = {campaign}"),
        format!("SELECT CAST(backer_count AS BIGINT) AS n FROM campaigns WHERE id = {campaign}"),
    ]
    .iter()
    .map(|q| app.count(q))
    .collect()
}

#[tokio::test]
async fn the_statement_writes_nothing_when_the_last_unit_went_after_its_look() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let (first, late) = (app.create_user().await, app.create_user().await);
    let (id, tier) = lamp(&app, &owner, 1).await;

    let seen = look(&app, id, &late, tier);
    if is_sqlite(&app) {
        // SQLite's statements are calls, not round trips: it keeps the transaction's path.
        assert!(seen.is_none());
        return;
    }
    let seen = seen.expect("the campaign is there");
    assert_eq!(seen.tier.as_ref().map(|t| t.claimed), Some(0));

    app.pledged(&first, id, &pledge_body(Some(tier), "10.00")).await;
    let before = traces(&app, id, tier);
    assert!(!write(&app, &seen, &late, tier), "the unit is gone");
    assert_eq!(traces(&app, id, tier), before);
    assert_eq!(before[5], 1, "one unit, claimed once");
}

#[tokio::test]
async fn the_statement_takes_back_its_claim_when_the_campaign_closed_after_its_look() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let backer = app.create_user().await;
    let (id, tier) = lamp(&app, &owner, 5).await;

    let seen = look(&app, id, &backer, tier);
    if is_sqlite(&app) {
        assert!(seen.is_none());
        return;
    }
    let seen = seen.expect("the campaign is there");
    let canceled = app
        .post_json(
            &format!("/api/v1/campaigns/{id}/cancel"),
            &json!({}),
            Some(&owner.access_token),
        )
        .await;
    assert_eq!(canceled.status(), StatusCode::OK);

    // The claim's condition holds (units are left), the totals' does not (not live): the claim
    // must not survive the statement.
    let before = traces(&app, id, tier);
    assert!(!write(&app, &seen, &backer, tier));
    assert_eq!(traces(&app, id, tier), before);
    assert_eq!(before[5], 0);

    // And the API says why, from the usual path.
    let refused = app.pledge(&backer, id, &pledge_body(Some(tier), "10.00")).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
}
