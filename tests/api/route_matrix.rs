//! Every route of the route table (as the OpenAPI document lists it) × every role: anonymous,
//! backer A (who backs the campaign), backer B (an unrelated user), the creator, an admin. A
//! route without a row here fails the test, so a new route cannot ship without its row; and
//! each status a role gets must be one the spec documents for that operation.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, TestUser, campaign_body, pledge_body, spawn_app_with, tier_body};

const ROLES: [&str; 5] = ["anonymous", "backer A", "backer B", "creator", "admin"];

/// What each check starts from: a draft, and a live campaign with a tier, A's pledge and an update.
struct Fixture {
    draft: i64,
    live: i64,
    /// Their slugs.
    draft_slug: String,
    live_slug: String,
    tier: i64,
    addon: i64,
    pledge: i64,
    /// The creator's webhook endpoint and a delivery of it; the platform's, and one of its.
    hook: i64,
    hook_delivery: i64,
    platform_hook: i64,
    platform_delivery: i64,
    /// The live campaign's update, and A's comment on the campaign.
    update: i64,
    comment: i64,
    /// An image of the live campaign, and the path its small variant is served at.
    image: i64,
    media_path: String,
}

struct Users {
    a: TestUser,
    b: TestUser,
    creator: TestUser,
    admin: TestUser,
}

impl Users {
    /// The access token of role `role` (an index into [`ROLES`]); none for anonymous.
    fn token(&self, role: usize) -> Option<&str> {
        let user = match role {
            0 => return None,
            1 => &self.a,
            2 => &self.b,
            3 => &self.creator,
            _ => &self.admin,
        };
        Some(&user.access_token)
    }
}

async fn fixture(app: &TestApp, users: &Users) -> Fixture {
    let creator = &users.creator;
    let draft = app.create_campaign(creator, &campaign_body("Draft")).await["id"]
        .as_i64()
        .unwrap();
    let live = app.live_campaign(creator, "Live").await;
    let tier = app
        .create_tier(creator, live, &tier_body("Tier", "10.00", Some(5)))
        .await["id"]
        .as_i64()
        .unwrap();
    let addon = app
        .post_json(
            &format!("/api/v1/campaigns/{live}/addons"),
            &json!({"title": "Add-on", "price": "3.00"}),
            Some(&creator.access_token),
        )
        .await
        .json::<Value>()
        .await
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let pledge = app.pledged(&users.a, live, &pledge_body(None, "5.00")).await["id"]
        .as_i64()
        .unwrap();
    let update = app
        .post_json(
            &format!("/api/v1/campaigns/{live}/updates"),
            &json!({"title": "News", "body": "Things happened."}),
            Some(&creator.access_token),
        )
        .await;
    assert_eq!(update.status(), StatusCode::CREATED);
    let update = update.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let comment = comment_by(app, &users.a, live);
    let live_slug = app.campaign(live).await["slug"].as_str().unwrap().to_owned();
    let draft_slug = app
        .get(&format!("/api/v1/campaigns/{draft}"), Some(&creator.access_token))
        .await
        .json::<Value>()
        .await
        .unwrap()["slug"]
        .as_str()
        .unwrap()
        .to_owned();
    let (hook, hook_delivery) = webhook(app, creator, "/api/v1/me/webhooks").await;
    let (platform_hook, platform_delivery) = webhook(app, &users.admin, "/api/v1/admin/webhooks").await;
    let survey = app
        .request(
            Method::PUT,
            &format!("/api/v1/campaigns/{live}/survey"),
            Some(&creator.access_token),
        )
        .json(&json!({"questions": [{"id": "note", "kind": "text", "prompt": "Anything else?"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(survey.status(), StatusCode::OK);
    let image = app.uploaded(creator, live).await;
    let small = image["variants"]["small"].as_str().unwrap();
    Fixture {
        image: image["id"].as_i64().unwrap(),
        media_path: small.strip_prefix(&app.address).unwrap().to_owned(),
        draft,
        live,
        draft_slug,
        live_slug,
        tier,
        addon,
        pledge,
        update,
        comment,
        hook,
        hook_delivery,
        platform_hook,
        platform_delivery,
    }
}

/// A comment of `user` on the campaign, written straight to the database: through the API,
/// the checks' many fixtures would meet the comment rate limit. The earlier fixtures' comments
/// are moved out of the limit's minute.
fn comment_by(app: &TestApp, user: &TestUser, campaign: i64) -> i64 {
    app.sql(&format!(
        "UPDATE comments SET created_at = '2020-01-01 00:00:00' WHERE author_id = {}",
        user.id
    ))
    .unwrap();
    let now = app.clock.now().naive_utc().format("%Y-%m-%d %H:%M:%S%.6f");
    app.sql(&format!(
        "INSERT INTO comments (campaign_id, author_id, by_creator, body, created_at) \
         VALUES ({campaign}, {}, FALSE, 'First!', '{now}')",
        user.id
    ))
    .unwrap();
    app.count(&format!(
        "SELECT MAX(id) AS n FROM comments WHERE author_id = {}",
        user.id
    ))
}

/// An endpoint registered under `base` and the delivery of a ping to it (no worker sends it).
/// The ones of earlier checks go first: an account has at most 20.
async fn webhook(app: &TestApp, user: &TestUser, base: &str) -> (i64, i64) {
    app.sql(&format!(
        "DELETE FROM webhook_endpoints WHERE owner_id = {}",
        user.id
    ))
    .unwrap();
    let endpoint: Value = app
        .post_json(
            base,
            &json!({"url": "https://hooks.example.com/in", "events": ["*"]}),
            Some(&user.access_token),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = endpoint["id"].as_i64().unwrap();
    let delivery: Value = app
        .post_json(&format!("{base}/{id}/ping"), &json!({}), Some(&user.access_token))
        .await
        .json()
        .await
        .unwrap();
    (id, delivery["id"].as_i64().unwrap())
}

type Path = fn(&Fixture) -> String;

struct Row {
    method: Method,
    /// The route as the spec names it.
    route: &'static str,
    path: Path,
    body: Value,
    /// [anonymous, backer A, backer B, creator, admin]
    expect: [u16; 5],
}

fn row(method: Method, route: &'static str, path: Path, body: Value, expect: [u16; 5]) -> Row {
    Row {
        method,
        route,
        path,
        body,
        expect,
    }
}

fn table(users: &Users) -> Vec<Row> {
    use Method as M;
    let none = Value::Null;
    vec![
        row(
            M::POST,
            "/api/v1/admin/campaigns/{id}/suspend",
            |f| format!("/api/v1/admin/campaigns/{}/suspend", f.live),
            json!({"reason": "reported"}),
            [401, 403, 403, 403, 200],
        ),
        row(
            M::POST,
            "/api/v1/admin/campaigns/{id}/suspend",
            |f| format!("/api/v1/admin/campaigns/{}/suspend", f.draft),
            json!({"reason": "reported"}),
            [401, 403, 403, 403, 409],
        ),
        row(
            M::GET,
            "/api/v1/admin/ledger/verify",
            |_| "/api/v1/admin/ledger/verify".into(),
            none.clone(),
            [401, 403, 403, 403, 200],
        ),
        row(
            M::GET,
            "/api/v1/admin/reconciliation",
            |_| "/api/v1/admin/reconciliation".into(),
            none.clone(),
            [401, 403, 403, 403, 200],
        ),
        row(
            M::GET,
            "/api/v1/admin/users",
            |_| "/api/v1/admin/users?q=example".into(),
            none.clone(),
            [401, 403, 403, 403, 200],
        ),
        row(
            M::POST,
            "/api/v1/admin/users/{id}/disable",
            |_| "/api/v1/admin/users/999999/disable".into(),
            none.clone(),
            [401, 403, 403, 403, 404],
        ),
        // User 2 is backer B on this fresh database, and is not disabled: enabling is a no-op.
        row(
            M::POST,
            "/api/v1/admin/users/{id}/enable",
            |_| "/api/v1/admin/users/2/enable".into(),
            none.clone(),
            [401, 403, 403, 403, 200],
        ),
        row(
            M::POST,
            "/api/v1/auth/verify-email",
            |_| "/api/v1/auth/verify-email".into(),
            json!({"token": "not-a-token"}),
            [422; 5],
        ),
        row(
            M::POST,
            "/api/v1/auth/password-reset",
            |_| "/api/v1/auth/password-reset".into(),
            json!({"email": users.b.email}),
            [202; 5],
        ),
        row(
            M::POST,
            "/api/v1/auth/password-reset/confirm",
            |_| "/api/v1/auth/password-reset/confirm".into(),
            json!({"token": "not-a-token", "new_password": "a brand new passphrase"}),
            [422; 5],
        ),
        // Wrong passwords below: the rows must not change who the users are. Each counts one
        // failure against each account, well under its lock.
        row(
            M::DELETE,
            "/api/v1/me",
            |_| "/api/v1/me".into(),
            json!({"password": "not the password"}),
            [401, 422, 422, 422, 422],
        ),
        row(
            M::POST,
            "/api/v1/me/verify-email/resend",
            |_| "/api/v1/me/verify-email/resend".into(),
            none.clone(),
            [401, 409, 409, 409, 409],
        ),
        row(
            M::PUT,
            "/api/v1/me/password",
            |_| "/api/v1/me/password".into(),
            json!({"current_password": "not the password", "new_password": "a brand new passphrase"}),
            [401, 422, 422, 422, 422],
        ),
        row(
            M::PUT,
            "/api/v1/me/email",
            |_| "/api/v1/me/email".into(),
            json!({"new_email": "moved@example.com", "password": "not the password"}),
            [401, 422, 422, 422, 422],
        ),
        row(
            M::POST,
            "/api/v1/me/2fa",
            |_| "/api/v1/me/2fa".into(),
            none.clone(),
            [401, 200, 200, 200, 200],
        ),
        row(
            M::POST,
            "/api/v1/me/2fa/confirm",
            |_| "/api/v1/me/2fa/confirm".into(),
            json!({"code": "abcdef"}),
            [401, 422, 422, 422, 422],
        ),
        row(
            M::DELETE,
            "/api/v1/me/2fa",
            |_| "/api/v1/me/2fa".into(),
            json!({"password": "not the password", "code": "abcdef"}),
            [401, 422, 422, 422, 422],
        ),
        row(
            M::POST,
            "/api/v1/me/webhooks",
            |_| "/api/v1/me/webhooks".into(),
            json!({"url": "https://hooks.example.com/new", "events": ["pledge.created"]}),
            [401, 201, 201, 201, 201],
        ),
        row(
            M::GET,
            "/api/v1/me/webhooks",
            |_| "/api/v1/me/webhooks".into(),
            none.clone(),
            [401, 200, 200, 200, 200],
        ),
        row(
            M::GET,
            "/api/v1/me/webhooks/{id}",
            |f| format!("/api/v1/me/webhooks/{}", f.hook),
            none.clone(),
            [401, 404, 404, 200, 404],
        ),
        row(
            M::PATCH,
            "/api/v1/me/webhooks/{id}",
            |f| format!("/api/v1/me/webhooks/{}", f.hook),
            json!({"enabled": true}),
            [401, 404, 404, 200, 404],
        ),
        row(
            M::DELETE,
            "/api/v1/me/webhooks/{id}",
            |f| format!("/api/v1/me/webhooks/{}", f.hook),
            none.clone(),
            [401, 404, 404, 204, 404],
        ),
        row(
            M::POST,
            "/api/v1/me/webhooks/{id}/rotate-secret",
            |f| format!("/api/v1/me/webhooks/{}/rotate-secret", f.hook),
            none.clone(),
            [401, 404, 404, 200, 404],
        ),
        row(
            M::GET,
            "/api/v1/me/webhooks/{id}/deliveries",
            |f| format!("/api/v1/me/webhooks/{}/deliveries", f.hook),
            none.clone(),
            [401, 404, 404, 200, 404],
        ),
        row(
            M::POST,
            "/api/v1/me/webhooks/{id}/deliveries/{delivery_id}/redeliver",
            |f| {
                format!(
                    "/api/v1/me/webhooks/{}/deliveries/{}/redeliver",
                    f.hook, f.hook_delivery
                )
            },
            none.clone(),
            [401, 404, 404, 202, 404],
        ),
        row(
            M::POST,
            "/api/v1/me/webhooks/{id}/ping",
            |f| format!("/api/v1/me/webhooks/{}/ping", f.hook),
            none.clone(),
            [401, 404, 404, 202, 404],
        ),
        row(
            M::POST,
            "/api/v1/admin/webhooks",
            |_| "/api/v1/admin/webhooks".into(),
            json!({"url": "https://hooks.example.com/all", "events": ["*"]}),
            [401, 403, 403, 403, 201],
        ),
        row(
            M::GET,
            "/api/v1/admin/webhooks",
            |_| "/api/v1/admin/webhooks".into(),
            none.clone(),
            [401, 403, 403, 403, 200],
        ),
        row(
            M::GET,
            "/api/v1/admin/webhooks/{id}",
            |f| format!("/api/v1/admin/webhooks/{}", f.platform_hook),
            none.clone(),
            [401, 403, 403, 403, 200],
        ),
        row(
            M::PATCH,
            "/api/v1/admin/webhooks/{id}",
            |f| format!("/api/v1/admin/webhooks/{}", f.platform_hook),
            json!({"events": ["campaign.funded"]}),
            [401, 403, 403, 403, 200],
        ),
        row(
            M::DELETE,
            "/api/v1/admin/webhooks/{id}",
            |f| format!("/api/v1/admin/webhooks/{}", f.platform_hook),
            none.clone(),
            [401, 403, 403, 403, 204],
        ),
        row(
            M::POST,
            "/api/v1/admin/webhooks/{id}/rotate-secret",
            |f| format!("/api/v1/admin/webhooks/{}/rotate-secret", f.platform_hook),
            none.clone(),
            [401, 403, 403, 403, 200],
        ),
        row(
            M::GET,
            "/api/v1/admin/webhooks/{id}/deliveries",
            |f| format!("/api/v1/admin/webhooks/{}/deliveries", f.platform_hook),
            none.clone(),
            [401, 403, 403, 403, 200],
        ),
        row(
            M::POST,
            "/api/v1/admin/webhooks/{id}/deliveries/{delivery_id}/redeliver",
            |f| {
                format!(
                    "/api/v1/admin/webhooks/{}/deliveries/{}/redeliver",
                    f.platform_hook, f.platform_delivery
                )
            },
            none.clone(),
            [401, 403, 403, 403, 202],
        ),
        row(
            M::POST,
            "/api/v1/admin/webhooks/{id}/ping",
            |f| format!("/api/v1/admin/webhooks/{}/ping", f.platform_hook),
            none.clone(),
            [401, 403, 403, 403, 202],
        ),
        row(
            M::POST,
            "/api/v1/campaigns/{id}/images",
            |f| format!("/api/v1/campaigns/{}/images", f.live),
            json!({}),
            [401, 403, 403, 415, 415],
        ),
        row(
            M::GET,
            "/api/v1/campaigns/{id}/images",
            |f| format!("/api/v1/campaigns/{}/images", f.live),
            none.clone(),
            [401, 403, 403, 200, 200],
        ),
        row(
            M::DELETE,
            "/api/v1/campaigns/{id}/images/{image_id}",
            |f| format!("/api/v1/campaigns/{}/images/{}", f.live, f.image),
            none.clone(),
            [401, 403, 403, 204, 204],
        ),
        row(
            M::PUT,
            "/api/v1/campaigns/{id}/gallery",
            |f| format!("/api/v1/campaigns/{}/gallery", f.live),
            json!({"image_ids": []}),
            [401, 403, 403, 200, 200],
        ),
        row(
            M::PUT,
            "/api/v1/campaigns/{id}/survey",
            |f| format!("/api/v1/campaigns/{}/survey", f.live),
            json!({"questions": [{"id": "size", "kind": "single_choice", "prompt": "Size", "options": ["S", "M"]}]}),
            [401, 404, 404, 200, 403],
        ),
        row(
            M::GET,
            "/api/v1/campaigns/{id}/survey",
            |f| format!("/api/v1/campaigns/{}/survey", f.live),
            none.clone(),
            [401, 404, 404, 200, 200],
        ),
        // Live: it has collected nothing to survey yet.
        row(
            M::POST,
            "/api/v1/campaigns/{id}/survey/send",
            |f| format!("/api/v1/campaigns/{}/survey/send", f.live),
            json!({"lock_at": "2099-01-01T00:00:00Z"}),
            [401, 404, 404, 409, 403],
        ),
        // Not sent: no pledge has a survey yet.
        row(
            M::GET,
            "/api/v1/pledges/{id}/survey",
            |f| format!("/api/v1/pledges/{}/survey", f.pledge),
            none.clone(),
            [401, 404, 404, 404, 404],
        ),
        row(
            M::PUT,
            "/api/v1/pledges/{id}/survey",
            |f| format!("/api/v1/pledges/{}/survey", f.pledge),
            json!({"answers": {"note": "Hi"}}),
            [401, 404, 404, 404, 404],
        ),
        // The pledge is active, not collected: nothing to ship yet.
        row(
            M::PATCH,
            "/api/v1/pledges/{id}/fulfilment",
            |f| format!("/api/v1/pledges/{}/fulfilment", f.pledge),
            json!({"status": "shipped"}),
            [401, 403, 404, 409, 403],
        ),
        // A JSON body: the creator is told to send CSV.
        row(
            M::POST,
            "/api/v1/campaigns/{id}/fulfilment/import",
            |f| format!("/api/v1/campaigns/{}/fulfilment/import", f.live),
            json!({}),
            [401, 403, 403, 415, 403],
        ),
        row(
            M::GET,
            "/media/{key}",
            |f| f.media_path.clone(),
            none.clone(),
            [200; 5],
        ),
        row(
            M::GET,
            "/api/v1/me/export",
            |_| "/api/v1/me/export".into(),
            none.clone(),
            [401, 200, 200, 200, 200],
        ),
        row(
            M::POST,
            "/api/v1/auth/login",
            |_| "/api/v1/auth/login".into(),
            json!({"email": users.b.email, "password": PASSWORD}),
            [200; 5],
        ),
        row(
            M::POST,
            "/api/v1/auth/logout",
            |_| "/api/v1/auth/logout".into(),
            json!({"refresh_token": "not-a-token"}),
            [204; 5],
        ),
        row(
            M::POST,
            "/api/v1/auth/refresh",
            |_| "/api/v1/auth/refresh".into(),
            json!({"refresh_token": "not-a-token"}),
            [401; 5],
        ),
        // The body is given a fresh email at each call (see `body_for`).
        row(
            M::POST,
            "/api/v1/auth/register",
            |_| "/api/v1/auth/register".into(),
            json!({"password": PASSWORD, "display_name": "New"}),
            [201; 5],
        ),
        row(
            M::GET,
            "/api/v1/campaigns",
            |_| "/api/v1/campaigns".into(),
            none.clone(),
            [200; 5],
        ),
        row(
            M::POST,
            "/api/v1/campaigns",
            |_| "/api/v1/campaigns".into(),
            campaign_body("New"),
            [401, 201, 201, 201, 201],
        ),
        row(
            M::GET,
            "/api/v1/campaigns/{id}",
            |f| format!("/api/v1/campaigns/{}", f.draft),
            none.clone(),
            [404, 404, 404, 200, 200],
        ),
        row(
            M::GET,
            "/api/v1/campaigns/{id}",
            |f| format!("/api/v1/campaigns/{}", f.live),
            none.clone(),
            [200; 5],
        ),
        row(
            M::PATCH,
            "/api/v1/campaigns/{id}",
            |f| format!("/api/v1/campaigns/{}", f.draft),
            json!({"blurb": "Changed"}),
            [401, 404, 404, 200, 403],
        ),
        row(
            M::PATCH,
            "/api/v1/campaigns/{id}",
            |f| format!("/api/v1/campaigns/{}", f.live),
            json!({"blurb": "Changed"}),
            [401, 403, 403, 200, 403],
        ),
        row(
            M::DELETE,
            "/api/v1/campaigns/{id}",
            |f| format!("/api/v1/campaigns/{}", f.draft),
            none.clone(),
            [401, 404, 404, 204, 403],
        ),
        row(
            M::DELETE,
            "/api/v1/campaigns/{id}",
            |f| format!("/api/v1/campaigns/{}", f.live),
            none.clone(),
            [401, 403, 403, 409, 403],
        ),
        row(
            M::POST,
            "/api/v1/campaigns/{id}/cancel",
            |f| format!("/api/v1/campaigns/{}/cancel", f.live),
            json!({}),
            [401, 403, 403, 200, 403],
        ),
        row(
            M::POST,
            "/api/v1/campaigns/{id}/launch",
            |f| format!("/api/v1/campaigns/{}/launch", f.draft),
            json!({}),
            [401, 404, 404, 200, 403],
        ),
        row(
            M::GET,
            "/api/v1/campaigns/{id}/pledges",
            |f| format!("/api/v1/campaigns/{}/pledges", f.live),
            none.clone(),
            [401, 403, 403, 200, 200],
        ),
        row(
            M::POST,
            "/api/v1/campaigns/{id}/pledges",
            |f| format!("/api/v1/campaigns/{}/pledges", f.live),
            pledge_body(None, "5.00"),
            [401, 409, 201, 403, 201],
        ),
        row(
            M::GET,
            "/api/v1/campaigns/{id}/settlement",
            |f| format!("/api/v1/campaigns/{}/settlement", f.live),
            none.clone(),
            [401, 403, 403, 409, 409],
        ),
        row(
            M::GET,
            "/api/v1/campaigns/{id}/stats",
            |f| format!("/api/v1/campaigns/{}/stats", f.live),
            none.clone(),
            [401, 403, 403, 200, 200],
        ),
        row(
            M::GET,
            "/api/v1/campaigns/{id}/tiers",
            |f| format!("/api/v1/campaigns/{}/tiers", f.draft),
            none.clone(),
            [404, 404, 404, 200, 200],
        ),
        row(
            M::GET,
            "/api/v1/campaigns/{id}/tiers",
            |f| format!("/api/v1/campaigns/{}/tiers", f.live),
            none.clone(),
            [200; 5],
        ),
        row(
            M::POST,
            "/api/v1/campaigns/{id}/tiers",
            |f| format!("/api/v1/campaigns/{}/tiers", f.live),
            tier_body("More", "20.00", None),
            [401, 403, 403, 201, 403],
        ),
        row(
            M::PATCH,
            "/api/v1/campaigns/{id}/tiers/{tier_id}",
            |f| format!("/api/v1/campaigns/{}/tiers/{}", f.live, f.tier),
            json!({"title": "Renamed"}),
            [401, 403, 403, 200, 403],
        ),
        row(
            M::DELETE,
            "/api/v1/campaigns/{id}/tiers/{tier_id}",
            |f| format!("/api/v1/campaigns/{}/tiers/{}", f.live, f.tier),
            none.clone(),
            [401, 403, 403, 204, 403],
        ),
        row(
            M::GET,
            "/api/v1/campaigns/{id}/addons",
            |f| format!("/api/v1/campaigns/{}/addons", f.draft),
            none.clone(),
            [404, 404, 404, 200, 200],
        ),
        row(
            M::GET,
            "/api/v1/campaigns/{id}/addons",
            |f| format!("/api/v1/campaigns/{}/addons", f.live),
            none.clone(),
            [200; 5],
        ),
        row(
            M::POST,
            "/api/v1/campaigns/{id}/addons",
            |f| format!("/api/v1/campaigns/{}/addons", f.live),
            json!({"title": "More", "price": "4.00"}),
            [401, 403, 403, 201, 403],
        ),
        row(
            M::PATCH,
            "/api/v1/campaigns/{id}/addons/{addon_id}",
            |f| format!("/api/v1/campaigns/{}/addons/{}", f.live, f.addon),
            json!({"title": "Renamed"}),
            [401, 403, 403, 200, 403],
        ),
        row(
            M::DELETE,
            "/api/v1/campaigns/{id}/addons/{addon_id}",
            |f| format!("/api/v1/campaigns/{}/addons/{}", f.live, f.addon),
            none.clone(),
            [401, 403, 403, 204, 403],
        ),
        row(
            M::GET,
            "/api/v1/campaigns/{id}/updates",
            |f| format!("/api/v1/campaigns/{}/updates", f.live),
            none.clone(),
            [200; 5],
        ),
        row(
            M::POST,
            "/api/v1/campaigns/{id}/updates",
            |f| format!("/api/v1/campaigns/{}/updates", f.live),
            json!({"title": "More news", "body": "Yes."}),
            [401, 403, 403, 201, 403],
        ),
        row(
            M::GET,
            "/api/v1/campaigns/{id}/comments",
            |f| format!("/api/v1/campaigns/{}/comments", f.live),
            none.clone(),
            [200; 5],
        ),
        row(
            M::POST,
            "/api/v1/campaigns/{id}/comments",
            |f| format!("/api/v1/campaigns/{}/comments", f.live),
            json!({"body": "Hello"}),
            [401, 201, 403, 201, 403],
        ),
        row(
            M::GET,
            "/api/v1/campaigns/{id}/updates/{update_id}/comments",
            |f| format!("/api/v1/campaigns/{}/updates/{}/comments", f.live, f.update),
            none.clone(),
            [200; 5],
        ),
        row(
            M::POST,
            "/api/v1/campaigns/{id}/updates/{update_id}/comments",
            |f| format!("/api/v1/campaigns/{}/updates/{}/comments", f.live, f.update),
            json!({"body": "Nice update"}),
            [401, 201, 403, 201, 403],
        ),
        row(
            M::PATCH,
            "/api/v1/comments/{id}",
            |f| format!("/api/v1/comments/{}", f.comment),
            json!({"body": "Edited"}),
            [401, 200, 403, 403, 403],
        ),
        row(
            M::DELETE,
            "/api/v1/comments/{id}",
            |f| format!("/api/v1/comments/{}", f.comment),
            none.clone(),
            [401, 204, 403, 204, 204],
        ),
        row(
            M::POST,
            "/api/v1/comments/{id}/report",
            |f| format!("/api/v1/comments/{}/report", f.comment),
            json!({"reason": "Spam"}),
            [401, 409, 204, 204, 204],
        ),
        row(
            M::GET,
            "/api/v1/admin/reports",
            |_| "/api/v1/admin/reports".into(),
            none.clone(),
            [401, 403, 403, 403, 200],
        ),
        row(
            M::POST,
            "/api/v1/admin/comments/{id}/hide",
            |f| format!("/api/v1/admin/comments/{}/hide", f.comment),
            none.clone(),
            [401, 403, 403, 403, 200],
        ),
        row(
            M::POST,
            "/api/v1/admin/comments/{id}/unhide",
            |f| format!("/api/v1/admin/comments/{}/unhide", f.comment),
            none.clone(),
            [401, 403, 403, 403, 200],
        ),
        row(
            M::POST,
            "/api/v1/campaigns/{id}/referrals",
            |f| format!("/api/v1/campaigns/{}/referrals", f.live),
            json!({"name": "Newsletter"}),
            [401, 403, 403, 201, 403],
        ),
        row(
            M::GET,
            "/api/v1/campaigns/{id}/referrals",
            |f| format!("/api/v1/campaigns/{}/referrals", f.live),
            none.clone(),
            [401, 403, 403, 200, 200],
        ),
        row(
            M::POST,
            "/api/v1/campaigns/{id}/follow",
            |f| format!("/api/v1/campaigns/{}/follow", f.live),
            none.clone(),
            [401, 200, 200, 409, 200],
        ),
        // A draft that is not prelaunch: hidden from others, not followable by anyone.
        row(
            M::POST,
            "/api/v1/campaigns/{id}/follow",
            |f| format!("/api/v1/campaigns/{}/follow", f.draft),
            none.clone(),
            [401, 404, 404, 409, 409],
        ),
        row(
            M::DELETE,
            "/api/v1/campaigns/{id}/follow",
            |f| format!("/api/v1/campaigns/{}/follow", f.live),
            none.clone(),
            [401, 200, 200, 200, 200],
        ),
        row(
            M::GET,
            "/api/v1/me/following",
            |_| "/api/v1/me/following".into(),
            none.clone(),
            [401, 200, 200, 200, 200],
        ),
        row(
            M::GET,
            "/c/{slug}",
            |f| format!("/c/{}", f.live_slug),
            none.clone(),
            [200; 5],
        ),
        // A draft has no share page, even for its creator: it is for link previews.
        row(
            M::GET,
            "/c/{slug}",
            |f| format!("/c/{}", f.draft_slug),
            none.clone(),
            [404; 5],
        ),
        row(
            M::GET,
            "/api/v1/me",
            |_| "/api/v1/me".into(),
            none.clone(),
            [401, 200, 200, 200, 200],
        ),
        row(
            M::GET,
            "/api/v1/me/campaigns",
            |_| "/api/v1/me/campaigns".into(),
            none.clone(),
            [401, 200, 200, 200, 200],
        ),
        row(
            M::GET,
            "/api/v1/me/pledges",
            |_| "/api/v1/me/pledges".into(),
            none.clone(),
            [401, 200, 200, 200, 200],
        ),
        row(
            M::GET,
            "/api/v1/pledges/{id}",
            |f| format!("/api/v1/pledges/{}", f.pledge),
            none.clone(),
            [401, 200, 404, 200, 200],
        ),
        row(
            M::PATCH,
            "/api/v1/pledges/{id}",
            |f| format!("/api/v1/pledges/{}", f.pledge),
            json!({"amount": "6.00"}),
            [401, 200, 404, 404, 404],
        ),
        row(
            M::DELETE,
            "/api/v1/pledges/{id}",
            |f| format!("/api/v1/pledges/{}", f.pledge),
            none.clone(),
            [401, 200, 404, 404, 404],
        ),
        row(
            M::PUT,
            "/api/v1/pledges/{id}/payment-method",
            |f| format!("/api/v1/pledges/{}/payment-method", f.pledge),
            json!({"payment_method": "pm_card_visa"}),
            [401, 200, 404, 404, 404],
        ),
        row(
            M::POST,
            "/api/v1/pledges/{id}/refund",
            |f| format!("/api/v1/pledges/{}/refund", f.pledge),
            json!({}),
            [401, 403, 404, 409, 409],
        ),
        // The cron secret, not a user's token: every role is refused.
        row(
            M::POST,
            "/api/v1/settlement/run",
            |_| "/api/v1/settlement/run".into(),
            none.clone(),
            [401; 5],
        ),
        // Not a user's route: refused without a Stripe-Signature whatever the token (with one,
        // it is a 404 under the sandbox: stripe.rs).
        row(
            M::POST,
            "/api/v1/webhooks/stripe",
            |_| "/api/v1/webhooks/stripe".into(),
            json!({}),
            [400; 5],
        ),
        row(
            M::GET,
            "/health/live",
            |_| "/health/live".into(),
            none.clone(),
            [200; 5],
        ),
        row(
            M::GET,
            "/health/ready",
            |_| "/health/ready".into(),
            none.clone(),
            [200; 5],
        ),
        row(M::GET, "/metrics", |_| "/metrics".into(), none, [200; 5]),
    ]
}

fn body_for(row: &Row) -> Value {
    let mut body = row.body.clone();
    if row.route == "/api/v1/auth/register" {
        body["email"] = json!(format!("new-{}@example.com", uuid::Uuid::new_v4().simple()));
    }
    body
}

fn committed_spec() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn every_route_answers_every_role_as_designed() {
    let app = spawn_app_with(&[("WEBHOOK_WORKER", "off"), ("MEDIA_UPLOADS_PER_HOUR", "100000")]).await;
    let users = Users {
        a: app.create_user().await,
        b: app.create_user().await,
        creator: app.create_user().await,
        admin: app.create_admin().await,
    };
    let rows = table(&users);
    let spec = committed_spec();

    // The table and the route table name the same operations.
    let mut operations = Vec::new();
    for (route, item) in spec["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            operations.push((method.to_uppercase(), route.clone()));
        }
    }
    for (method, route) in &operations {
        assert!(
            rows.iter()
                .any(|r| r.method.as_str() == method && r.route == route),
            "{method} {route} has no row in the role matrix"
        );
    }
    for r in &rows {
        assert!(
            operations
                .iter()
                .any(|(m, route)| m == r.method.as_str() && route == r.route),
            "{} {} is not a route",
            r.method,
            r.route
        );
    }

    let mut wrong = Vec::new();
    for r in &rows {
        let documented = spec["paths"][r.route][r.method.as_str().to_lowercase()]["responses"]
            .as_object()
            .unwrap();
        for (role, &want) in r.expect.iter().enumerate() {
            assert!(
                documented.contains_key(&want.to_string()),
                "{} {} answers {want} to {} but its spec does not list {want}",
                r.method,
                r.route,
                ROLES[role]
            );
            // A fresh fixture for each call, so one call's effect cannot change the next.
            let f = fixture(&app, &users).await;
            let token = users.token(role);
            let mut request = app.request(r.method.clone(), &(r.path)(&f), token);
            if !r.body.is_null() {
                request = request.json(&body_for(r));
            }
            let got = request.send().await.unwrap().status().as_u16();
            if got != want {
                wrong.push(format!(
                    "{} {} as {}: {got}, expected {want}",
                    r.method,
                    (r.path)(&f),
                    ROLES[role]
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Every route that takes a JSON body, called by a role it serves: an unknown field is a 422
/// naming it, so is a body that is not an object, and a body over 64 KiB is a 413, before
/// anything happens.
#[tokio::test]
async fn every_json_body_refuses_unknown_fields_and_oversize_bodies() {
    let app = spawn_app_with(&[("WEBHOOK_WORKER", "off"), ("MEDIA_UPLOADS_PER_HOUR", "100000")]).await;
    let users = Users {
        a: app.create_user().await,
        b: app.create_user().await,
        creator: app.create_user().await,
        admin: app.create_admin().await,
    };
    let spec = committed_spec();
    let mut checked = 0;
    for r in table(&users) {
        let operation = &spec["paths"][r.route][r.method.as_str().to_lowercase()];
        if operation["requestBody"]["content"]["application/json"].is_null() || !r.body.is_object() {
            continue;
        }
        let Some(role) = r.expect.iter().position(|s| (200..300).contains(s)) else {
            continue; // no role gets past authentication (refresh with a bad token, webhooks)
        };
        let token = users.token(role);
        let f = fixture(&app, &users).await;
        let mut body = body_for(&r);
        body["surprise"] = json!(true);
        let response = app
            .request(r.method.clone(), &(r.path)(&f), token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let problem = crate::helpers::assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(
            crate::helpers::invalid_fields(&problem),
            ["surprise"],
            "{} {}: {problem}",
            r.method,
            r.route
        );

        // The same fields as an array, which serde would read in declaration order.
        let as_array = Value::Array(body_for(&r).as_object().unwrap().values().cloned().collect());
        let response = app
            .request(r.method.clone(), &(r.path)(&f), token)
            .json(&as_array)
            .send()
            .await
            .unwrap();
        let problem = crate::helpers::assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(
            crate::helpers::invalid_fields(&problem),
            ["body"],
            "{} {}: {problem}",
            r.method,
            r.route
        );

        let mut huge = body_for(&r);
        huge["padding"] = json!("x".repeat(70 * 1024));
        let response = app
            .request(r.method.clone(), &(r.path)(&f), token)
            .json(&huge)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "{} {}",
            r.method,
            r.route
        );
        checked += 1;
    }
    assert!(checked >= 13, "only {checked} routes checked");
}
