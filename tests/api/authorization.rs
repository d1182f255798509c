//! Who may call each campaign and tier route: anonymous, the owner, another user, an admin.
//! Drafts are invisible to others (404); visible campaigns refuse non-owners with 403.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, campaign_body, spawn_app, tier_body};

/// Fresh fixtures for each check, so a successful call cannot change what the next one sees.
struct Fixture {
    draft: i64,
    live: i64,
    tier: i64,
}

async fn fixture(app: &TestApp, owner: &TestUser) -> Fixture {
    let draft = app.create_campaign(owner, &campaign_body("Draft")).await["id"]
        .as_i64()
        .unwrap();
    let live = app.live_campaign(owner, "Live").await;
    let tier = app
        .create_tier(owner, live, &tier_body("Tier", "10.00", Some(5)))
        .await["id"]
        .as_i64()
        .unwrap();
    Fixture { draft, live, tier }
}

#[derive(Clone, Copy)]
enum Role {
    Anonymous,
    Owner,
    Other,
    Admin,
}

/// (method, path template, body, [anonymous, owner, other, admin])
fn table() -> Vec<(Method, &'static str, Value, [u16; 4])> {
    vec![
        (
            Method::GET,
            "/api/v1/campaigns",
            json!(null),
            [200, 200, 200, 200],
        ),
        (
            Method::POST,
            "/api/v1/campaigns",
            campaign_body("New"),
            [401, 201, 201, 201],
        ),
        (
            Method::GET,
            "/api/v1/me/campaigns",
            json!(null),
            [401, 200, 200, 200],
        ),
        (
            Method::GET,
            "/api/v1/campaigns/{draft}",
            json!(null),
            [404, 200, 404, 200],
        ),
        (
            Method::GET,
            "/api/v1/campaigns/{live}",
            json!(null),
            [200, 200, 200, 200],
        ),
        (
            Method::PATCH,
            "/api/v1/campaigns/{draft}",
            json!({"blurb": "x"}),
            [401, 200, 404, 403],
        ),
        (
            Method::PATCH,
            "/api/v1/campaigns/{live}",
            json!({"blurb": "x"}),
            [401, 200, 403, 403],
        ),
        (
            Method::DELETE,
            "/api/v1/campaigns/{draft}",
            json!(null),
            [401, 204, 404, 403],
        ),
        (
            Method::DELETE,
            "/api/v1/campaigns/{live}",
            json!(null),
            [401, 409, 403, 403],
        ),
        (
            Method::POST,
            "/api/v1/campaigns/{draft}/launch",
            json!({}),
            [401, 200, 404, 403],
        ),
        (
            Method::POST,
            "/api/v1/campaigns/{live}/cancel",
            json!({}),
            [401, 200, 403, 403],
        ),
        (
            Method::POST,
            "/api/v1/admin/campaigns/{live}/suspend",
            json!({"reason": "r"}),
            [401, 403, 403, 200],
        ),
        (
            Method::POST,
            "/api/v1/admin/campaigns/{draft}/suspend",
            json!({"reason": "r"}),
            [401, 403, 403, 409],
        ),
        (
            Method::GET,
            "/api/v1/campaigns/{draft}/tiers",
            json!(null),
            [404, 200, 404, 200],
        ),
        (
            Method::GET,
            "/api/v1/campaigns/{live}/tiers",
            json!(null),
            [200, 200, 200, 200],
        ),
        (
            Method::POST,
            "/api/v1/campaigns/{draft}/tiers",
            tier_body("T", "1.00", None),
            [401, 201, 404, 403],
        ),
        (
            Method::POST,
            "/api/v1/campaigns/{live}/tiers",
            tier_body("T", "1.00", None),
            [401, 201, 403, 403],
        ),
        (
            Method::PATCH,
            "/api/v1/campaigns/{live}/tiers/{tier}",
            json!({"title": "x"}),
            [401, 200, 403, 403],
        ),
        (
            Method::DELETE,
            "/api/v1/campaigns/{live}/tiers/{tier}",
            json!(null),
            [401, 204, 403, 403],
        ),
    ]
}

#[tokio::test]
async fn every_campaign_and_tier_route_answers_each_role_as_designed() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let other = app.create_user().await;
    let admin = app.create_admin().await;
    let mut failures = Vec::new();
    for (method, template, body, expected) in table() {
        // The owner goes last: a success may change the fixture.
        for role in [Role::Anonymous, Role::Other, Role::Admin, Role::Owner] {
            let f = fixture(&app, &owner).await;
            let path = template
                .replace("{draft}", &f.draft.to_string())
                .replace("{live}", &f.live.to_string())
                .replace("{tier}", &f.tier.to_string());
            let token = match role {
                Role::Anonymous => None,
                Role::Owner => Some(owner.access_token.as_str()),
                Role::Other => Some(other.access_token.as_str()),
                Role::Admin => Some(admin.access_token.as_str()),
            };
            let mut request = app.request(method.clone(), &path, token);
            if !body.is_null() {
                request = request.json(&body);
            }
            let status = request.send().await.unwrap().status();
            let want = StatusCode::from_u16(expected[role as usize]).unwrap();
            if status != want {
                failures.push(format!(
                    "{method} {template} as {:?}: got {status}, want {want}",
                    role as usize
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "roles are [anonymous, owner, other, admin]:\n{}",
        failures.join("\n")
    );
}
