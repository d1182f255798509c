//! Model-based test: seeded random sequences of pledge / change / cancel / fix payment /
//! time passing / settle (with declined cards and passes cut short) / refund, pledges buying a
//! few units of a scarce add-on, checked after every step against an in-memory model of the
//! rules (amounts, add-on stock). `MODEL_SEEDS` sets how many seeds run
//! (default 1 000); `MODEL_SEED=n` replays one. A failure prints its seed and step.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{CRON_SECRET, JWT_SECRET, TestApp, spawn_app_with};

/// splitmix64: tiny, and the same sequence for a seed forever.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Active,
    Canceled,
    Released,
    Collected,
    Errored,
    Dropped,
    Refunded,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Canceled => "canceled",
            Self::Released => "released",
            Self::Collected => "collected",
            Self::Errored => "errored",
            Self::Dropped => "dropped",
            Self::Refunded => "refunded",
        }
    }
}

#[derive(Debug, Clone)]
struct Pledge {
    id: i64,
    amount: i64,
    /// Units of the campaign's add-on it holds.
    units: i64,
    status: Status,
    declines: bool,
    first_error: Option<DateTime<Utc>>,
    next_attempt: Option<DateTime<Utc>>,
}

#[derive(Debug)]
struct Model {
    goal: i64,
    deadline: DateTime<Utc>,
    status: &'static str,
    /// Every pledge ever made, by backer index; the last one is the current.
    pledges: BTreeMap<usize, Vec<Pledge>>,
    /// Units the campaign's add-on (1.00 each) has on offer.
    addon_stock: i64,
    /// Takes late pledges once successful.
    late: bool,
}

/// The add-on's price, in cents.
const ADDON_PRICE: i64 = 100;

impl Model {
    fn current(&mut self, backer: usize) -> Option<&mut Pledge> {
        self.pledges.get_mut(&backer).and_then(|p| p.last_mut())
    }
    fn total(&self) -> i64 {
        self.pledges
            .values()
            .flatten()
            .filter(|p| p.status == Status::Active)
            .map(|p| p.amount)
            .sum()
    }
    /// Add-on units held: by pledges that are active, or were charged (not given back).
    fn units_held(&self) -> i64 {
        self.pledges
            .values()
            .flatten()
            .filter(|p| {
                matches!(
                    p.status,
                    Status::Active | Status::Collected | Status::Errored | Status::Refunded
                )
            })
            .map(|p| p.units)
            .sum()
    }
    /// Whether the backer holds a pledge that backs the campaign (no second one).
    fn backs(&self, backer: usize) -> bool {
        self.pledges.get(&backer).is_some_and(|ps| {
            ps.iter()
                .any(|p| matches!(p.status, Status::Active | Status::Collected | Status::Errored))
        })
    }
    fn backers(&self) -> i64 {
        self.pledges
            .values()
            .flatten()
            .filter(|p| p.status == Status::Active)
            .count() as i64
    }
    /// The rule for lowering or canceling: not in the last 24 hours below a reached goal.
    fn may_lower(&self, now: DateTime<Utc>, by: i64) -> bool {
        let total = self.total();
        self.deadline - now > Duration::hours(24) || total < self.goal || total - by >= self.goal
    }
    /// One complete settlement pass, in the server's order: close, drop, charge, complete.
    fn settle(&mut self, now: DateTime<Utc>) {
        if self.status == "live" && now >= self.deadline {
            if self.total() >= self.goal {
                self.status = "funded";
            } else {
                self.status = "failed";
                for p in self
                    .pledges
                    .values_mut()
                    .flatten()
                    .filter(|p| p.status == Status::Active)
                {
                    p.status = Status::Released;
                }
            }
        }
        if self.status != "funded" {
            return;
        }
        for p in self.pledges.values_mut().flatten() {
            if p.status == Status::Errored && p.first_error.is_some_and(|t| t <= now - Duration::days(7)) {
                p.status = Status::Dropped;
            }
        }
        for p in self.pledges.values_mut().flatten() {
            let due = p.status == Status::Active
                || (p.status == Status::Errored && p.next_attempt.is_some_and(|t| t <= now));
            if due {
                if p.declines {
                    p.status = Status::Errored;
                    p.first_error.get_or_insert(now);
                    p.next_attempt = Some(now + Duration::hours(48));
                } else {
                    p.status = Status::Collected;
                }
            }
        }
        if !self
            .pledges
            .values()
            .flatten()
            .any(|p| matches!(p.status, Status::Active | Status::Errored))
        {
            self.status = "successful";
        }
    }
}

/// An access token minted with the test secret at the app's current time.
fn token_as(app: &TestApp, user_id: i64, role: &str) -> String {
    let now = app.clock.now().timestamp();
    let claims = json!({"iss": "crowdfund", "aud": "crowdfund-api", "sub": user_id.to_string(),
                        "exp": now + 900, "iat": now, "role": role});
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap()
}

fn token(app: &TestApp, user_id: i64) -> String {
    token_as(app, user_id, "user")
}

/// Passes through the instance at `base` until one says there is nothing more.
async fn settle_until_done(app: &TestApp, base: &str) {
    for _ in 0..200 {
        let summary: Value = app
            .client
            .post(format!("{base}/api/v1/settlement/run"))
            .bearer_auth(CRON_SECRET)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if summary["more"] == false {
            return;
        }
    }
    panic!("settlement never finished");
}

struct Runner<'a> {
    app: &'a TestApp,
    /// The same database, served with a 1 ms settlement budget.
    chopped: &'a str,
    owner: i64,
    backers: &'a [i64],
}

/// Checks the campaign's public view as the instance at `base` (the one that wrote last)
/// answers it, and its pledges as the owner sees them. Another instance's writes reach a view
/// kept for anonymous callers only within a second, so the view is read where the write was.
async fn check(r: &Runner<'_>, model: &Model, campaign: i64, context: &str, base: &str) {
    let app = r.app;
    let addons: Value = app
        .get(
            &format!("/api/v1/campaigns/{campaign}/addons"),
            Some(&token(app, r.owner)),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        addons[0]["claimed"],
        model.units_held(),
        "{context}: add-on units claimed"
    );
    let c: Value = app
        .client
        .get(format!("{base}/api/v1/campaigns/{campaign}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(c["status"], model.status, "{context}: campaign status");
    if model.status == "live" {
        let pledged = crowdfund::domain::Money::from_minor(model.total(), crowdfund::domain::Currency::USD);
        assert_eq!(
            c["pledged"],
            pledged.to_decimal_string(),
            "{context}: pledged total"
        );
        assert_eq!(c["backer_count"], model.backers(), "{context}: backer count");
    }
    let page: Value = app
        .get(
            &format!("/api/v1/campaigns/{campaign}/pledges?limit=100"),
            Some(&token(app, r.owner)),
        )
        .await
        .json()
        .await
        .unwrap();
    let actual: BTreeMap<i64, (String, String, i64)> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["pledge"]["id"].as_i64().unwrap(),
                (
                    i["pledge"]["status"].as_str().unwrap().to_owned(),
                    i["pledge"]["amount"].as_str().unwrap().to_owned(),
                    i["pledge"]["addons"][0]["quantity"].as_i64().unwrap_or(0),
                ),
            )
        })
        .collect();
    let expected: BTreeMap<i64, (String, String, i64)> = model
        .pledges
        .values()
        .flatten()
        .map(|p| {
            let amount = crowdfund::domain::Money::from_minor(p.amount, crowdfund::domain::Currency::USD);
            (
                p.id,
                (p.status.as_str().to_owned(), amount.to_decimal_string(), p.units),
            )
        })
        .collect();
    assert_eq!(actual, expected, "{context}: pledges");
}

/// A late pledge's answer as the model expects it: charged at once, collected or declined and
/// dropped; the pledge it made joins the model.
async fn late_answer(
    model: &mut Model,
    backer: usize,
    (amount, units, declines): (i64, i64, bool),
    response: reqwest::Response,
    context: &str,
) {
    let expected = if amount < units * ADDON_PRICE {
        StatusCode::UNPROCESSABLE_ENTITY
    } else if model.units_held() + units > model.addon_stock {
        StatusCode::CONFLICT
    } else if declines {
        StatusCode::PAYMENT_REQUIRED
    } else {
        StatusCode::CREATED
    };
    assert_eq!(response.status(), expected, "{context}: late pledge");
    let body: Value = response.json().await.unwrap();
    let made = match expected {
        StatusCode::CREATED => Some((body["id"].as_i64().unwrap(), Status::Collected)),
        StatusCode::PAYMENT_REQUIRED => {
            let link = body["existing"].as_str().unwrap();
            Some((link.rsplit('/').next().unwrap().parse().unwrap(), Status::Dropped))
        }
        _ => None,
    };
    if let Some((id, status)) = made {
        model.pledges.entry(backer).or_default().push(Pledge {
            id,
            amount,
            units,
            status,
            declines,
            first_error: None,
            next_attempt: None,
        });
    }
}

async fn run_seed(r: &Runner<'_>, seed: u64) {
    let app = r.app;
    let mut rng = Rng(seed);
    let goal = 1_000 + rng.below(5) as i64 * 1_000;
    let days = 2 + rng.below(3) as i64;
    let owner_token = token(app, r.owner);
    let mut body = crate::helpers::campaign_body(&format!("Model {seed}"));
    body["goal"] = json!(
        crowdfund::domain::Money::from_minor(goal, crowdfund::domain::Currency::USD).to_decimal_string()
    );
    body["duration_days"] = json!(days);
    let created: Value = app
        .post_json("/api/v1/campaigns", &body, Some(&owner_token))
        .await
        .json()
        .await
        .unwrap();
    let campaign = created["id"].as_i64().unwrap();
    let launched = app
        .post_json(
            &format!("/api/v1/campaigns/{campaign}/launch"),
            &json!({}),
            Some(&owner_token),
        )
        .await;
    assert_eq!(launched.status(), StatusCode::OK);
    let addon_stock = 2 + rng.below(3) as i64;
    let addon: Value = app
        .post_json(
            &format!("/api/v1/campaigns/{campaign}/addons"),
            &json!({"title": "Sticker", "price": "1.00", "quantity": addon_stock}),
            Some(&owner_token),
        )
        .await
        .json()
        .await
        .unwrap();
    let addon = addon["id"].as_i64().unwrap();
    let late = rng.below(2) == 0;
    if late {
        let on = app
            .patch_json(
                &format!("/api/v1/campaigns/{campaign}"),
                &json!({"late_pledges": true}),
                Some(&owner_token),
            )
            .await;
        assert_eq!(on.status(), StatusCode::OK);
    }
    let addons_of = |units: i64| {
        if units == 0 {
            json!([])
        } else {
            json!([{"addon_id": addon, "quantity": units}])
        }
    };
    let mut model = Model {
        goal,
        deadline: app.clock.now() + Duration::days(days),
        status: "live",
        pledges: BTreeMap::new(),
        addon_stock,
        late,
    };

    for step in 0..18 {
        let mut wrote_last = app.address.as_str();
        let now = app.clock.now();
        let backer = rng.below(r.backers.len() as u64) as usize;
        let user = r.backers[backer];
        let t = token(app, user);
        let op = rng.below(100);
        let context = format!("seed {seed} step {step}");
        match op {
            0..=29 => {
                let amount = 100 + rng.below(20) as i64 * 100;
                let units = rng.below(3) as i64;
                let declines = rng.below(4) == 0;
                let method = if declines {
                    "pm_card_chargeDeclined"
                } else {
                    "pm_card_visa"
                };
                let amount_text =
                    crowdfund::domain::Money::from_minor(amount, crowdfund::domain::Currency::USD)
                        .to_decimal_string();
                let response = app
                    .post_json(
                        &format!("/api/v1/campaigns/{campaign}/pledges"),
                        &json!({"amount": amount_text, "payment_method": method, "addons": addons_of(units)}),
                        Some(&t),
                    )
                    .await;
                let allowed = model.status == "live"
                    && now < model.deadline
                    && model.current(backer).is_none_or(|p| p.status != Status::Active);
                let late = model.late && model.status == "successful" && !model.backs(backer);
                if late {
                    late_answer(&mut model, backer, (amount, units, declines), response, &context).await;
                } else if allowed && amount < units * ADDON_PRICE {
                    assert_eq!(
                        response.status(),
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "{context}: the amount must cover the add-ons"
                    );
                } else if allowed && model.units_held() + units > model.addon_stock {
                    assert_eq!(
                        response.status(),
                        StatusCode::CONFLICT,
                        "{context}: add-on sold out"
                    );
                } else if allowed {
                    assert_eq!(response.status(), StatusCode::CREATED, "{context}: pledge");
                    let id = response.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
                    model.pledges.entry(backer).or_default().push(Pledge {
                        id,
                        amount,
                        units,
                        status: Status::Active,
                        declines,
                        first_error: None,
                        next_attempt: None,
                    });
                } else {
                    assert_eq!(
                        response.status(),
                        StatusCode::CONFLICT,
                        "{context}: pledge refused"
                    );
                }
            }
            30..=54 => {
                let cancel = op >= 45;
                let Some(current) = model.current(backer).cloned() else {
                    continue;
                };
                let new_amount = if cancel {
                    0
                } else {
                    100 + rng.below(20) as i64 * 100
                };
                let new_units = if cancel { 0 } else { rng.below(3) as i64 };
                let path = format!("/api/v1/pledges/{}", current.id);
                let response = if cancel {
                    app.delete(&path, Some(&t)).await
                } else {
                    let text =
                        crowdfund::domain::Money::from_minor(new_amount, crowdfund::domain::Currency::USD)
                            .to_decimal_string();
                    let body = json!({"amount": text, "addons": addons_of(new_units)});
                    app.patch_json(&path, &body, Some(&t)).await
                };
                let lowering_by = current.amount - new_amount;
                let open = current.status == Status::Active && model.status == "live" && now < model.deadline;
                let short = model.units_held() - current.units + new_units > model.addon_stock;
                if open && !cancel && new_amount < new_units * ADDON_PRICE {
                    assert_eq!(
                        response.status(),
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "{context}: the amount must cover the add-ons"
                    );
                } else if open && (lowering_by <= 0 || model.may_lower(now, lowering_by)) && !short {
                    assert_eq!(response.status(), StatusCode::OK, "{context}: change/cancel");
                    let p = model.current(backer).unwrap();
                    if cancel {
                        p.status = Status::Canceled;
                    } else {
                        p.amount = new_amount;
                        p.units = new_units;
                    }
                } else {
                    assert_eq!(
                        response.status(),
                        StatusCode::CONFLICT,
                        "{context}: change/cancel refused"
                    );
                }
            }
            55..=62 => {
                let Some(current) = model.current(backer).cloned() else {
                    continue;
                };
                let response = app
                    .request(
                        Method::PUT,
                        &format!("/api/v1/pledges/{}/payment-method", current.id),
                        Some(&t),
                    )
                    .json(&json!({"payment_method": "pm_card_visa"}))
                    .send()
                    .await
                    .unwrap();
                if matches!(current.status, Status::Active | Status::Errored) {
                    assert_eq!(response.status(), StatusCode::OK, "{context}: fix");
                    let p = model.current(backer).unwrap();
                    p.declines = false;
                    if p.status == Status::Errored {
                        p.next_attempt = Some(now);
                    }
                } else {
                    assert_eq!(response.status(), StatusCode::CONFLICT, "{context}: fix refused");
                }
            }
            63..=77 => {
                let hours = [1, 12, 23, 25, 47, 49, 72][rng.below(7) as usize];
                app.clock.advance(Duration::hours(hours));
            }
            78..=94 => {
                let chopped = rng.below(3) == 0;
                if chopped {
                    wrote_last = r.chopped;
                }
                settle_until_done(app, wrote_last).await;
                model.settle(app.clock.now());
            }
            _ => {
                let Some(current) = model.current(backer).cloned() else {
                    continue;
                };
                let owner_token = token(app, r.owner);
                let response = app
                    .post_json(
                        &format!("/api/v1/pledges/{}/refund", current.id),
                        &json!({}),
                        Some(&owner_token),
                    )
                    .await;
                if current.status == Status::Collected && model.status == "successful" {
                    assert_eq!(response.status(), StatusCode::OK, "{context}: refund");
                    model.current(backer).unwrap().status = Status::Refunded;
                } else {
                    assert_eq!(
                        response.status(),
                        StatusCode::CONFLICT,
                        "{context}: refund refused"
                    );
                }
            }
        }
        check(r, &model, campaign, &context, wrote_last).await;
    }
    // Let the campaign run its course; the ledger must hold throughout.
    for _ in 0..6 {
        app.clock.advance(Duration::hours(49));
        settle_until_done(app, &app.address).await;
        model.settle(app.clock.now());
        check(
            r,
            &model,
            campaign,
            &format!("seed {seed} epilogue"),
            &app.address,
        )
        .await;
    }
    // Late pledges, from every backer free to make one, once the campaign has succeeded.
    if model.late && model.status == "successful" {
        for backer in 0..r.backers.len() {
            if model.backs(backer) {
                continue;
            }
            let amount = 100 + rng.below(20) as i64 * 100;
            let units = rng.below(3) as i64;
            let declines = rng.below(4) == 0;
            let method = if declines {
                "pm_card_chargeDeclined"
            } else {
                "pm_card_visa"
            };
            let amount_text = crowdfund::domain::Money::from_minor(amount, crowdfund::domain::Currency::USD)
                .to_decimal_string();
            let response = app
                .post_json(
                    &format!("/api/v1/campaigns/{campaign}/pledges"),
                    &json!({"amount": amount_text, "payment_method": method, "addons": addons_of(units)}),
                    Some(&token(app, r.backers[backer])),
                )
                .await;
            let context = format!("seed {seed} late pledge of backer {backer}");
            late_answer(&mut model, backer, (amount, units, declines), response, &context).await;
            check(r, &model, campaign, &context, &app.address).await;
        }
    }
    let succeeded_twice = app.count(&format!(
        "SELECT COUNT(*) AS n FROM (SELECT a.pledge_id FROM charge_attempts a JOIN pledges p ON p.id = a.pledge_id \
         WHERE p.campaign_id = {campaign} AND a.status = 'succeeded' GROUP BY a.pledge_id HAVING COUNT(*) > 1) d"
    ));
    assert_eq!(succeeded_twice, 0, "seed {seed}: a pledge was charged twice");
}

#[tokio::test]
async fn api_and_ledger_agree_with_the_model_for_every_seed() {
    let app = spawn_app_with(&[]).await;
    // The same database, served with a 1 ms settlement budget and batches of one.
    let chopped = app
        .another_instance_with(&[("SETTLEMENT_TIME_BUDGET_MS", "1"), ("SETTLEMENT_BATCH_SIZE", "1")])
        .await;
    // (passes stop early and leave the rest to the next, as after a crash)
    let owner = app.create_user().await;
    let mut backers = Vec::new();
    for _ in 0..4 {
        backers.push(app.create_user().await.id);
    }
    let admin = app.create_admin().await;
    let runner = Runner {
        app: &app,
        chopped: &chopped,
        owner: owner.id,
        backers: &backers,
    };
    let seeds: Vec<u64> = match std::env::var("MODEL_SEED") {
        Ok(one) => vec![one.parse().expect("MODEL_SEED")],
        Err(_) => (0..std::env::var("MODEL_SEEDS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(1_000))
            .collect(),
    };
    for seed in seeds {
        run_seed(&runner, seed).await;
        let report = app
            .get(
                "/api/v1/admin/ledger/verify",
                Some(&token_as(&app, admin.id, "admin")),
            )
            .await;
        // Refunds may take more than a payout left: the audit names exactly those campaigns.
        let status = report.status();
        let body: Value = report.json().await.unwrap();
        let findings: Vec<(String, String)> = body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| {
                        (
                            e["field"].as_str().unwrap().to_owned(),
                            e["message"].as_str().unwrap().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let negative = negative_creator_balances(&app);
        let expected: Vec<(String, String)> = negative
            .iter()
            .map(|(id, balance)| {
                (
                    "negative_creator_balances".to_owned(),
                    format!("campaign {id}: creator balance {balance}"),
                )
            })
            .collect();
        assert_eq!(findings, expected, "seed {seed}: ledger audit: {body}");
        assert_eq!(
            status,
            if negative.is_empty() {
                StatusCode::OK
            } else {
                StatusCode::CONFLICT
            },
            "seed {seed}: {body}"
        );
        // And the books agree with the money the sandbox took.
        let reconciled = app
            .get(
                "/api/v1/admin/reconciliation",
                Some(&token_as(&app, admin.id, "admin")),
            )
            .await;
        let status = reconciled.status();
        let body: Value = reconciled.json().await.unwrap();
        assert_eq!(status, StatusCode::OK, "seed {seed}: reconciliation: {body}");
    }
}

/// Campaigns whose creator account is below zero, by id, read straight from the ledger.
fn negative_creator_balances(app: &TestApp) -> Vec<(i64, i64)> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        balance: i64,
    }
    use diesel::RunQueryDsl;
    diesel::sql_query(
        "SELECT t.campaign_id AS id, CAST(SUM(e.amount_minor) AS BIGINT) AS balance \
         FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id \
         WHERE e.account = 'creator_payable:campaign:' || CAST(t.campaign_id AS TEXT) \
         GROUP BY t.campaign_id HAVING SUM(e.amount_minor) < 0 ORDER BY t.campaign_id",
    )
    .load::<Row>(&mut *app.connection())
    .unwrap()
    .into_iter()
    .map(|r| (r.id, r.balance))
    .collect()
}
