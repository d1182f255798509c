//! Add-ons: managed like tiers, paid for in the pledge's amount with their shipping, claimed in
//! the pledge's transaction (never oversold), given back when a pledge drops them.

use chrono::Duration;
use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, assert_problem, invalid_fields, pledge_body, spawn_app, tier_body};

fn addon_body(title: &str, price: &str, quantity: Option<i64>) -> Value {
    json!({"title": title, "price": price, "quantity": quantity})
}

async fn create_addon(app: &TestApp, owner: &TestUser, campaign: i64, body: &Value) -> Value {
    let response = app
        .post_json(
            &format!("/api/v1/campaigns/{campaign}/addons"),
            body,
            Some(&owner.access_token),
        )
        .await;
    let status = response.status();
    let created: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created
}

/// The add-ons as the creator sees them, by id.
async fn addons_of(app: &TestApp, owner: &TestUser, campaign: i64) -> Vec<Value> {
    app.get(
        &format!("/api/v1/campaigns/{campaign}/addons"),
        Some(&owner.access_token),
    )
    .await
    .json::<Vec<Value>>()
    .await
    .unwrap()
}

fn with_addons(mut body: Value, addons: Value) -> Value {
    body["addons"] = addons;
    body
}

/// A live campaign with a tier that ships (25.00, US 5.00), a shipped add-on (12.00, US 2.00 a
/// unit, 20 units) and a digital one (3.00, unlimited). Returns (campaign, tier, shipped,
/// digital).
async fn shop(app: &TestApp, owner: &TestUser) -> (i64, i64, i64, i64) {
    let id = app.live_campaign(owner, "Extras").await;
    let mut tier = tier_body("Lamp", "25.00", None);
    tier["shipping"] = json!({"US": "5.00"});
    let tier = app.create_tier(owner, id, &tier).await["id"].as_i64().unwrap();
    let mut shipped = addon_body("Spare battery", "12.00", Some(20));
    shipped["shipping"] = json!({"US": "2.00"});
    let shipped = create_addon(app, owner, id, &shipped).await["id"]
        .as_i64()
        .unwrap();
    let digital = create_addon(app, owner, id, &addon_body("Wallpaper", "3.00", None)).await["id"]
        .as_i64()
        .unwrap();
    (id, tier, shipped, digital)
}

#[tokio::test]
async fn a_pledge_pays_for_its_addons_and_their_shipping() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let backer = app.create_user().await;
    let (id, tier, shipped, digital) = shop(&app, &owner).await;
    let items = json!([{"addon_id": shipped, "quantity": 2}, {"addon_id": digital, "quantity": 1}]);
    let mut body = with_addons(pledge_body(Some(tier), "60.99"), items.clone());
    body["shipping_country"] = json!("US");

    // 25.00 + 2 × 12.00 + 3.00 + shipping 5.00 + 2 × 2.00 = 61.00.
    let problem = assert_problem(
        app.pledge(&backer, id, &body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(invalid_fields(&problem), ["amount"]);
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("61.00"),
        "{problem}"
    );
    body["amount"] = json!("61.00");
    let pledge = app.pledged(&backer, id, &body).await;
    assert_eq!(pledge["shipping_fee"], "9.00");
    assert_eq!(
        pledge["breakdown"],
        json!({"reward": "25.00", "addons": "27.00", "shipping": "9.00"})
    );
    assert_eq!(
        pledge["addons"],
        json!([
            {"addon_id": shipped, "quantity": 2, "price": "12.00", "shipping_fee": "4.00"},
            {"addon_id": digital, "quantity": 1, "price": "3.00", "shipping_fee": "0.00"},
        ])
    );
    let stock = addons_of(&app, &owner, id).await;
    assert_eq!(
        (&stock[0]["claimed"], &stock[0]["remaining"]),
        (&json!(2), &json!(18))
    );
    assert_eq!(stock[1]["claimed"], 1);
    assert_eq!(app.campaign(id).await["pledged"], "61.00");

    // What the pledge holds stays when the creator lowers the limit afterwards.
    let path = format!("/api/v1/pledges/{}", pledge["id"]);
    let limited = app
        .patch_json(
            &format!("/api/v1/campaigns/{id}/addons/{shipped}"),
            &json!({"max_per_pledge": 1}),
            Some(&owner.access_token),
        )
        .await;
    assert_eq!(limited.status(), StatusCode::OK);
    let kept = app
        .patch_json(&path, &json!({"amount": "62.00"}), Some(&backer.access_token))
        .await;
    assert_eq!(kept.status(), StatusCode::OK);
    let kept: Value = kept.json().await.unwrap();
    assert_eq!(kept["addons"][0]["quantity"], 2);

    // Changing the list gives units back and takes new ones; the amount still has to cover it.
    let changed = app
        .patch_json(
            &path,
            &json!({"addons": [{"addon_id": shipped, "quantity": 1}], "amount": "44.00"}),
            Some(&backer.access_token),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    let changed: Value = changed.json().await.unwrap();
    assert_eq!(changed["breakdown"]["addons"], "12.00");
    let stock = addons_of(&app, &owner, id).await;
    assert_eq!(
        (&stock[0]["claimed"], &stock[1]["claimed"]),
        (&json!(1), &json!(0))
    );
    // The event log keeps each list the backer set.
    let logged = app.count(&format!(
        "SELECT COUNT(*) AS n FROM pledge_events WHERE pledge_id = {} AND addons LIKE '%\"quantity\":%'",
        pledge["id"]
    ));
    assert_eq!(logged, 3, "the creation and both changes");
    // An amount change alone keeps the add-ons.
    let raised: Value = app
        .patch_json(&path, &json!({"amount": "50.00"}), Some(&backer.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(raised["addons"][0]["quantity"], 1);
    assert_eq!(
        raised["breakdown"]["reward"], "31.00",
        "the bonus goes to the reward"
    );

    // The creator's export says what to pack.
    let csv = app
        .request(
            reqwest::Method::GET,
            &format!("/api/v1/campaigns/{id}/pledges?status=all"),
            Some(&owner.access_token),
        )
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.lines().next().unwrap().contains(",tier,addons,"), "{csv}");
    assert!(csv.contains("Lamp,1 × Spare battery,50.00"), "{csv}");

    let canceled = app.delete(&path, Some(&backer.access_token)).await;
    assert_eq!(canceled.status(), StatusCode::OK);
    let stock = addons_of(&app, &owner, id).await;
    assert_eq!(
        (&stock[0]["claimed"], &stock[1]["claimed"]),
        (&json!(0), &json!(0))
    );
}

#[tokio::test]
async fn addon_choices_are_checked_and_refusals_change_nothing() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let backer = app.create_user().await;
    let (id, tier, shipped, digital) = shop(&app, &owner).await;
    let other_tier = app
        .create_tier(&owner, id, &tier_body("Poster", "10.00", None))
        .await["id"]
        .as_i64()
        .unwrap();
    let mut only_lamp = addon_body("Lamp case", "8.00", None);
    only_lamp["tiers"] = json!([tier]);
    only_lamp["max_per_pledge"] = json!(2);
    let only_lamp = create_addon(&app, &owner, id, &only_lamp).await["id"]
        .as_i64()
        .unwrap();

    let cases = [
        (
            with_addons(
                pledge_body(Some(other_tier), "50.00"),
                json!([{"addon_id": only_lamp, "quantity": 1}]),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "addons[0].addon_id",
        ),
        (
            with_addons(
                pledge_body(None, "50.00"),
                json!([{"addon_id": only_lamp, "quantity": 1}]),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "addons[0].addon_id",
        ),
        (
            with_addons(
                pledge_body(None, "50.00"),
                json!([{"addon_id": digital, "quantity": 0}]),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "addons[0].quantity",
        ),
        (
            with_addons(
                pledge_body(None, "50.00"),
                json!([{"addon_id": digital, "quantity": 1}, {"addon_id": digital, "quantity": 1}]),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "addons[1].addon_id",
        ),
        (
            with_addons(
                pledge_body(None, "50.00"),
                json!([{"addon_id": digital, "quantity": 11}]),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "addons[0].quantity",
        ),
        (
            with_addons(
                pledge_body(None, "50.00"),
                json!([{"addon_id": shipped, "quantity": 1}]),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "shipping_country",
        ),
        (
            with_addons(
                pledge_body(None, "50.00"),
                json!([{"addon_id": 999_999, "quantity": 1}]),
            ),
            StatusCode::NOT_FOUND,
            "addons[0].addon_id",
        ),
        (
            with_addons(pledge_body(None, "50.00"), json!([{"addon_id": digital}])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "addons[0].quantity",
        ),
    ];
    for (body, status, field) in cases {
        let problem = assert_problem(app.pledge(&backer, id, &body).await, status).await;
        assert_eq!(invalid_fields(&problem), [field], "{body}");
    }
    let mut abroad = with_addons(
        pledge_body(None, "50.00"),
        json!([{"addon_id": shipped, "quantity": 1}]),
    );
    abroad["shipping_country"] = json!("FR");
    let problem = assert_problem(
        app.pledge(&backer, id, &abroad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("does not ship to FR"),
        "{problem}"
    );
    let campaign = app.campaign(id).await;
    assert_eq!(
        (&campaign["pledged"], &campaign["backer_count"]),
        (&json!("0.00"), &json!(0))
    );
    assert!(
        addons_of(&app, &owner, id)
            .await
            .iter()
            .all(|a| a["claimed"] == 0),
        "nothing claimed"
    );

    // Without a reward an add-on is enough: its price is the minimum.
    let just_wallpaper = with_addons(
        pledge_body(None, "3.00"),
        json!([{"addon_id": digital, "quantity": 1}]),
    );
    let pledge = app.pledged(&backer, id, &just_wallpaper).await;
    assert_eq!(
        pledge["breakdown"],
        json!({"reward": "0.00", "addons": "3.00", "shipping": "0.00"})
    );
}

#[tokio::test]
async fn a_limited_addon_is_never_oversold() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let id = app.live_campaign(&owner, "Ten units").await;
    let addon = create_addon(&app, &owner, id, &addon_body("Pin", "5.00", Some(10))).await["id"]
        .as_i64()
        .unwrap();
    let mut backers = Vec::new();
    for _ in 0..100 {
        backers.push(app.create_user().await);
    }
    let body = with_addons(
        pledge_body(None, "5.00"),
        json!([{"addon_id": addon, "quantity": 1}]),
    );
    let statuses: Vec<StatusCode> = join_all(backers.iter().map(|b| app.pledge(b, id, &body)))
        .await
        .iter()
        .map(|r| r.status())
        .collect();
    let created = statuses.iter().filter(|s| **s == StatusCode::CREATED).count();
    let refused = statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count();
    assert_eq!((created, refused), (10, 90), "{statuses:?}");
    let stock = addons_of(&app, &owner, id).await;
    assert_eq!(
        (&stock[0]["claimed"], &stock[0]["remaining"]),
        (&json!(10), &json!(0))
    );
    let campaign = app.campaign(id).await;
    assert_eq!(
        (&campaign["pledged"], &campaign["backer_count"]),
        (&json!("50.00"), &json!(10))
    );
}

#[tokio::test]
async fn addons_are_managed_like_tiers() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let stranger = app.create_user().await;
    let (id, tier, shipped, digital) = shop(&app, &owner).await;
    let path = format!("/api/v1/campaigns/{id}/addons");
    let token = Some(owner.access_token.as_str());

    let mut bad = addon_body("", "0", Some(0));
    bad["max_per_pledge"] = json!(0);
    bad["shipping"] = json!({"XX": "1.00"});
    bad["tiers"] = json!([tier, 999_999]);
    let problem = assert_problem(
        app.post_json(&path, &bad, token).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let mut fields = invalid_fields(&problem);
    fields.sort();
    assert_eq!(
        fields,
        [
            "max_per_pledge",
            "price",
            "quantity",
            "shipping.XX",
            "tiers[1]",
            "title"
        ]
    );
    assert_problem(
        app.post_json(
            &path,
            &addon_body("Mine", "1.00", None),
            Some(&stranger.access_token),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;

    let public: Vec<Value> = app.get(&path, None).await.json().await.unwrap();
    assert_eq!(public.len(), 2);
    assert_eq!(app.campaign(id).await["addons"].as_array().unwrap().len(), 2);

    // Before anyone buys it, everything may change; after, price and shipping are frozen,
    // quantity only rises, and it stays.
    let shipped_path = format!("{path}/{shipped}");
    let repriced = app
        .patch_json(&shipped_path, &json!({"price": "13.00"}), token)
        .await;
    assert_eq!(repriced.status(), StatusCode::OK);
    let backer = app.create_user().await;
    let mut body = with_addons(
        pledge_body(None, "20.00"),
        json!([{"addon_id": shipped, "quantity": 1}]),
    );
    body["shipping_country"] = json!("US");
    app.pledged(&backer, id, &body).await;
    for (patch, frozen) in [
        (json!({"price": "14.00"}), "price"),
        (json!({"shipping": null}), "shipping"),
        (json!({"quantity": 5}), "quantity"),
    ] {
        let problem = assert_problem(
            app.patch_json(&shipped_path, &patch, token).await,
            StatusCode::CONFLICT,
        )
        .await;
        assert!(problem["detail"].as_str().unwrap().contains(frozen), "{problem}");
    }
    let more = app
        .patch_json(&shipped_path, &json!({"quantity": 40, "title": "Battery"}), token)
        .await;
    assert_eq!(more.status(), StatusCode::OK);
    assert_problem(app.delete(&shipped_path, token).await, StatusCode::CONFLICT).await;
    let gone = app.delete(&format!("{path}/{digital}"), token).await;
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
    assert_eq!(addons_of(&app, &owner, id).await.len(), 1);
}

#[tokio::test]
async fn a_failed_campaign_gives_its_addons_back_and_a_secret_addon_needs_its_token() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let backer = app.create_user().await;
    let mut campaign = crate::helpers::campaign_body("Big goal");
    campaign["goal"] = json!("100000.00");
    campaign["duration_days"] = json!(2);
    let id = app.live_campaign_from(&owner, &campaign).await;
    let mut secret = addon_body("Backstage pass", "30.00", Some(3));
    secret["visibility"] = json!("secret");
    let secret = create_addon(&app, &owner, id, &secret).await;
    let (addon, token) = (
        secret["id"].as_i64().unwrap(),
        secret["secret_token"].as_str().unwrap(),
    );
    assert_eq!(app.campaign(id).await["addons"], json!([]));

    let body = with_addons(
        pledge_body(None, "30.00"),
        json!([{"addon_id": addon, "quantity": 2}]),
    );
    let problem = assert_problem(app.pledge(&backer, id, &body).await, StatusCode::NOT_FOUND).await;
    assert_eq!(invalid_fields(&problem), ["addons[0].addon_id"]);
    let opened = with_addons(
        pledge_body(None, "60.00"),
        json!([{"addon_id": addon, "quantity": 2, "secret": token}]),
    );
    let pledge = app.pledged(&backer, id, &opened).await;
    assert_eq!(addons_of(&app, &owner, id).await[0]["claimed"], 2);

    app.clock.advance(Duration::days(2));
    let summary = app.settle().await;
    assert_eq!(summary["campaigns"]["failed"], 1);
    let owner = app.relogin(&owner).await;
    assert_eq!(addons_of(&app, &owner, id).await[0]["claimed"], 0);
    let backer = app.relogin(&backer).await;
    let released: Value = app
        .get(
            &format!("/api/v1/pledges/{}", pledge["id"]),
            Some(&backer.access_token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(released["status"], "released");
    assert_eq!(
        released["addons"][0]["quantity"], 2,
        "the pledge still says what it held"
    );
}

#[tokio::test]
async fn an_addon_sells_inside_its_window_and_a_pledge_keeps_what_it_bought_after() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let backer = app.create_user().await;
    let id = app.live_campaign(&owner, "Timed").await;
    let now = app.clock.now();
    let mut body = addon_body("Launch-week pin", "4.00", None);
    body["starts_at"] = json!((now + Duration::hours(1)).to_rfc3339());
    body["ends_at"] = json!((now + Duration::days(2)).to_rfc3339());
    let addon = create_addon(&app, &owner, id, &body).await;
    assert_eq!(addon["available"], false, "not open yet");
    let addon = addon["id"].as_i64().unwrap();
    let with_pins = |n: i64, amount: &str| {
        with_addons(
            pledge_body(None, amount),
            json!([{"addon_id": addon, "quantity": n}]),
        )
    };

    let early = assert_problem(
        app.pledge(&backer, id, &with_pins(1, "4.00")).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(
        early["detail"].as_str().unwrap().contains("not available yet"),
        "{early}"
    );

    app.clock.advance(Duration::hours(1));
    let backer = app.relogin(&backer).await;
    let pledge = app.pledged(&backer, id, &with_pins(2, "8.00")).await;
    let path = format!("/api/v1/pledges/{}", pledge["id"]);

    app.clock.advance(Duration::days(2));
    let backer = app.relogin(&backer).await;
    let token = Some(backer.access_token.as_str());
    // Fewer of them, or the same with a bonus, is keeping what was bought; more is buying.
    let fewer = app
        .patch_json(
            &path,
            &json!({"addons": [{"addon_id": addon, "quantity": 1}]}),
            token,
        )
        .await;
    assert_eq!(fewer.status(), StatusCode::OK);
    let more = assert_problem(
        app.patch_json(
            &path,
            &json!({"addons": [{"addon_id": addon, "quantity": 2}]}),
            token,
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(
        more["detail"].as_str().unwrap().contains("no longer available"),
        "{more}"
    );
    let owner = app.relogin(&owner).await;
    assert_eq!(addons_of(&app, &owner, id).await[0]["claimed"], 1);
}

#[tokio::test]
async fn a_secret_addon_is_listed_with_its_token_and_its_token_is_the_creators_to_share() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let admin = app.create_admin().await;
    let backer = app.create_user().await;
    let id = app.live_campaign(&owner, "Hidden extras").await;
    create_addon(&app, &owner, id, &addon_body("Poster", "8.00", None)).await;
    let mut secret = addon_body("Signed print", "30.00", Some(20));
    secret["visibility"] = json!("secret");
    let token = create_addon(&app, &owner, id, &secret).await["secret_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let titles = |list: &Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|a| a["title"].as_str().unwrap().to_owned())
            .collect()
    };
    let path = format!("/api/v1/campaigns/{id}/addons");
    let listed = |query: String, token: Option<String>| {
        let (app, path) = (&app, &path);
        async move {
            app.get(&format!("{path}{query}"), token.as_deref())
                .await
                .json::<Value>()
                .await
                .unwrap()
        }
    };

    assert_eq!(titles(&listed(String::new(), None).await), ["Poster"]);
    assert_eq!(titles(&listed("?secret=wrong".into(), None).await), ["Poster"]);
    let shared = listed(format!("?secret={token}"), Some(backer.access_token.clone())).await;
    assert_eq!(titles(&shared), ["Poster", "Signed print"]);
    assert_eq!(shared[1]["secret_token"], Value::Null);
    for manager in [&owner, &admin] {
        let all = listed(String::new(), Some(manager.access_token.clone())).await;
        assert_eq!(titles(&all), ["Poster", "Signed print"]);
        assert_eq!(all[1]["secret_token"], json!(token));
    }
    assert_problem(
        app.get(&format!("{path}?colour=red"), None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
}
