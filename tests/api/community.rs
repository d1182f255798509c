//! Community: comments and replies on campaigns and updates, who may post them, their edit
//! window, deletion, rate limit, reports and moderation, and the creator's daily digest.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, TestUser, assert_problem, campaign_body, invalid_fields, pledge_body, spawn_app, tier_body,
};

/// A live campaign with a tier, its creator, a backer with a pledge, and an outsider.
pub struct Crowd {
    pub creator: TestUser,
    pub id: i64,
    pub tier: i64,
    pub backer: TestUser,
    pub outsider: TestUser,
}

impl Crowd {
    pub async fn open(app: &TestApp) -> Self {
        let creator = app.create_user().await;
        let id = app.live_campaign(&creator, "Night Lamp").await;
        let tier = app
            .create_tier(&creator, id, &tier_body("Lamp", "10.00", None))
            .await["id"]
            .as_i64()
            .unwrap();
        let backer = app.create_user().await;
        app.pledged(&backer, id, &pledge_body(Some(tier), "10.00")).await;
        let outsider = app.create_user().await;
        Self {
            creator,
            id,
            tier,
            backer,
            outsider,
        }
    }

    pub async fn relogin(&mut self, app: &TestApp) {
        self.creator = app.relogin(&self.creator).await;
        self.backer = app.relogin(&self.backer).await;
        self.outsider = app.relogin(&self.outsider).await;
    }

    pub fn comments(&self) -> String {
        format!("/api/v1/campaigns/{}/comments", self.id)
    }
}

/// Posts a comment that must be accepted; returns it.
pub async fn commented(app: &TestApp, path: &str, user: &TestUser, body: Value) -> Value {
    let response = app.post_json(path, &body, Some(&user.access_token)).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

async fn page(app: &TestApp, path: &str, user: Option<&TestUser>) -> Value {
    let response = app.get(path, user.map(|u| u.access_token.as_str())).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn backers_and_the_creator_comment_and_everyone_reads() {
    let app = spawn_app().await;
    let crowd = Crowd::open(&app).await;
    let path = crowd.comments();

    let by_backer = commented(
        &app,
        &path,
        &crowd.backer,
        json!({"body": "  Does it work on 110 V?\n"}),
    )
    .await;
    assert_eq!(by_backer["body"], "Does it work on 110 V?");
    assert_eq!(by_backer["by_creator"], false);
    assert_eq!(by_backer["author"]["id"], crowd.backer.id);
    assert!(by_backer["author"]["display_name"].is_string());
    let by_creator = commented(&app, &path, &crowd.creator, json!({"body": "<b>Yes</b> & more"})).await;
    assert_eq!(by_creator["by_creator"], true);
    // Plain text: stored and answered as written, never turned into markup.
    assert_eq!(by_creator["body"], "<b>Yes</b> & more");

    let outsider = app
        .post_json(&path, &json!({"body": "hi"}), Some(&crowd.outsider.access_token))
        .await;
    assert_problem(outsider, StatusCode::FORBIDDEN).await;
    let anonymous = app.post_json(&path, &json!({"body": "hi"}), None).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    for (body, field) in [
        (json!({"body": " "}), "body"),
        (json!({"body": "x".repeat(5001)}), "body"),
    ] {
        let refused = app
            .post_json(&path, &body, Some(&crowd.backer.access_token))
            .await;
        let problem = assert_problem(refused, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(invalid_fields(&problem), [field]);
    }

    // Everyone reads, newest first.
    let read = page(&app, &path, None).await;
    assert_eq!(
        ids(&read),
        [
            by_creator["id"].as_i64().unwrap(),
            by_backer["id"].as_i64().unwrap()
        ]
    );
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM comments"), 2);

    // A draft has no comments for others, and none can be posted on it.
    let draft = app.create_campaign(&crowd.creator, &campaign_body("Draft")).await["id"]
        .as_i64()
        .unwrap();
    let hidden = app
        .get(&format!("/api/v1/campaigns/{draft}/comments"), None)
        .await;
    assert_problem(hidden, StatusCode::NOT_FOUND).await;
    let on_draft = app
        .post_json(
            &format!("/api/v1/campaigns/{draft}/comments"),
            &json!({"body": "first"}),
            Some(&crowd.creator.access_token),
        )
        .await;
    assert_problem(on_draft, StatusCode::CONFLICT).await;
}

#[tokio::test]
async fn released_and_canceled_backers_may_not_comment() {
    let app = spawn_app().await;
    let creator = app.create_user().await;
    let mut body = campaign_body("Too Ambitious");
    body["duration_days"] = json!(1);
    let id = app.create_campaign(&creator, &body).await["id"].as_i64().unwrap();
    let launched = app
        .post_json(
            &format!("/api/v1/campaigns/{id}/launch"),
            &json!({}),
            Some(&creator.access_token),
        )
        .await;
    assert_eq!(launched.status(), StatusCode::OK);
    let released = app.create_user().await;
    app.pledged(&released, id, &pledge_body(None, "5.00")).await;
    let canceled = app.create_user().await;
    let pledge = app.pledged(&canceled, id, &pledge_body(None, "5.00")).await;
    let cancel = app
        .delete(
            &format!("/api/v1/pledges/{}", pledge["id"]),
            Some(&canceled.access_token),
        )
        .await;
    assert!(cancel.status().is_success(), "{}", cancel.status());
    let path = format!("/api/v1/campaigns/{id}/comments");
    let refused = app
        .post_json(
            &path,
            &json!({"body": "still here"}),
            Some(&canceled.access_token),
        )
        .await;
    assert_problem(refused, StatusCode::FORBIDDEN).await;

    // Before the deadline the backer comments; once the campaign failed and released the
    // pledge, no longer.
    let before = app
        .post_json(&path, &json!({"body": "good luck"}), Some(&released.access_token))
        .await;
    assert_eq!(before.status(), StatusCode::CREATED);
    app.clock.advance(Duration::days(1) + Duration::minutes(1));
    assert_eq!(app.settle().await["campaigns"]["failed"], 1);
    let released = app.relogin(&released).await;
    let after = app
        .post_json(&path, &json!({"body": "too bad"}), Some(&released.access_token))
        .await;
    assert_problem(after, StatusCode::FORBIDDEN).await;
}

#[tokio::test]
async fn replies_go_one_level_deep_and_tell_the_parents_author_once_an_hour() {
    let app = spawn_app().await;
    let mut crowd = Crowd::open(&app).await;
    let path = crowd.comments();
    let parent = commented(&app, &path, &crowd.backer, json!({"body": "When does it ship?"})).await;
    let parent_id = parent["id"].as_i64().unwrap();
    let reply = commented(
        &app,
        &path,
        &crowd.creator,
        json!({"body": "In March", "parent_id": parent_id}),
    )
    .await;
    assert_eq!(reply["parent_id"], parent_id);
    commented(
        &app,
        &path,
        &crowd.creator,
        json!({"body": "Maybe April", "parent_id": parent_id}),
    )
    .await;
    // The backer's own reply tells nobody.
    commented(
        &app,
        &path,
        &crowd.backer,
        json!({"body": "Thanks!", "parent_id": parent_id}),
    )
    .await;

    let read = page(&app, &path, None).await;
    assert_eq!(ids(&read), [parent_id], "replies are not top-level comments");
    let replies: Vec<&str> = read["items"][0]["replies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["body"].as_str().unwrap())
        .collect();
    assert_eq!(replies, ["In March", "Maybe April", "Thanks!"]);

    let deeper = app
        .post_json(
            &path,
            &json!({"body": "no", "parent_id": reply["id"]}),
            Some(&crowd.creator.access_token),
        )
        .await;
    let problem = assert_problem(deeper, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(invalid_fields(&problem), ["parent_id"]);
    let other = app.live_campaign(&crowd.creator, "Other").await;
    let elsewhere = app
        .post_json(
            &format!("/api/v1/campaigns/{other}/comments"),
            &json!({"body": "no", "parent_id": parent_id}),
            Some(&crowd.creator.access_token),
        )
        .await;
    let problem = assert_problem(elsewhere, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(invalid_fields(&problem), ["parent_id"]);

    let emails = format!(
        "SELECT COUNT(*) AS n FROM email_outbox WHERE template = 'comment_reply' AND recipient = '{}'",
        crowd.backer.email
    );
    assert_eq!(
        app.count(&emails),
        1,
        "two replies within the hour send one email"
    );
    app.clock.advance(Duration::minutes(61));
    crowd.relogin(&app).await;
    commented(
        &app,
        &path,
        &crowd.creator,
        json!({"body": "Definitely April", "parent_id": parent_id}),
    )
    .await;
    assert_eq!(app.count(&emails), 2);
}

#[tokio::test]
async fn authors_edit_for_fifteen_minutes() {
    let app = spawn_app().await;
    let mut crowd = Crowd::open(&app).await;
    let posted = commented(
        &app,
        &crowd.comments(),
        &crowd.backer,
        json!({"body": "Typo hree"}),
    )
    .await;
    let at = format!("/api/v1/comments/{}", posted["id"]);
    let by_other = app
        .patch_json(
            &at,
            &json!({"body": "mine now"}),
            Some(&crowd.creator.access_token),
        )
        .await;
    assert_problem(by_other, StatusCode::FORBIDDEN).await;
    let empty = app
        .patch_json(&at, &json!({"body": ""}), Some(&crowd.backer.access_token))
        .await;
    assert_eq!(
        invalid_fields(&assert_problem(empty, StatusCode::UNPROCESSABLE_ENTITY).await),
        ["body"]
    );

    app.clock.advance(Duration::minutes(14));
    crowd.relogin(&app).await;
    let edited = app
        .patch_json(
            &at,
            &json!({"body": "Typo here"}),
            Some(&crowd.backer.access_token),
        )
        .await;
    assert_eq!(edited.status(), StatusCode::OK);
    let edited: Value = edited.json().await.unwrap();
    assert_eq!(edited["body"], "Typo here");
    assert!(edited["edited_at"].is_string());

    app.clock.advance(Duration::minutes(2));
    crowd.relogin(&app).await;
    let late = app
        .patch_json(
            &at,
            &json!({"body": "Too late"}),
            Some(&crowd.backer.access_token),
        )
        .await;
    assert_problem(late, StatusCode::CONFLICT).await;
    let read = page(&app, &crowd.comments(), None).await;
    assert_eq!(read["items"][0]["body"], "Typo here");
}

#[tokio::test]
async fn deleted_comments_keep_their_place_only_while_they_have_replies() {
    let app = spawn_app().await;
    let crowd = Crowd::open(&app).await;
    let path = crowd.comments();
    let second_backer = app.create_user().await;
    app.pledged(&second_backer, crowd.id, &pledge_body(Some(crowd.tier), "10.00"))
        .await;
    let lonely = commented(&app, &path, &crowd.backer, json!({"body": "Nobody answers this"})).await;
    let asked = commented(&app, &path, &crowd.backer, json!({"body": "Answer this"})).await;
    let reply = commented(
        &app,
        &path,
        &crowd.creator,
        json!({"body": "Answered", "parent_id": asked["id"]}),
    )
    .await;
    let spam = commented(&app, &path, &second_backer, json!({"body": "Buy my stuff"})).await;

    // Another backer may not delete it; its author, the creator and admins may.
    let other = app
        .delete(
            &format!("/api/v1/comments/{}", lonely["id"]),
            Some(&second_backer.access_token),
        )
        .await;
    assert_problem(other, StatusCode::FORBIDDEN).await;
    for (id, user) in [
        (&lonely["id"], &crowd.backer),
        (&asked["id"], &crowd.backer),
        (&spam["id"], &crowd.creator),
    ] {
        let deleted = app
            .delete(&format!("/api/v1/comments/{id}"), Some(&user.access_token))
            .await;
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    }
    let again = app
        .delete(
            &format!("/api/v1/comments/{}", lonely["id"]),
            Some(&crowd.backer.access_token),
        )
        .await;
    assert_problem(again, StatusCode::NOT_FOUND).await;

    let read = page(&app, &path, None).await;
    assert_eq!(ids(&read), [asked["id"].as_i64().unwrap()]);
    let kept = &read["items"][0];
    assert_eq!(kept["deleted"], true);
    assert!(kept["body"].is_null() && kept["author"].is_null(), "{kept}");
    assert_eq!(kept["replies"][0]["id"], reply["id"]);
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM comments WHERE body = 'Answer this'"),
        0,
        "a deleted body is not kept"
    );

    // Once its last reply goes, so does the deleted comment.
    let admin = app.create_admin().await;
    let by_admin = app
        .delete(
            &format!("/api/v1/comments/{}", reply["id"]),
            Some(&admin.access_token),
        )
        .await;
    assert_eq!(by_admin.status(), StatusCode::NO_CONTENT);
    assert!(ids(&page(&app, &path, None).await).is_empty());
}

#[tokio::test]
async fn at_most_ten_comments_a_minute() {
    let app = spawn_app().await;
    let mut crowd = Crowd::open(&app).await;
    let path = crowd.comments();
    for n in 0..10 {
        commented(
            &app,
            &path,
            &crowd.backer,
            json!({"body": format!("comment {n}")}),
        )
        .await;
    }
    let limited = app
        .post_json(
            &path,
            &json!({"body": "one more"}),
            Some(&crowd.backer.access_token),
        )
        .await;
    let retry: i64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_problem(limited, StatusCode::TOO_MANY_REQUESTS).await;
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM comments"), 10);
    // Another user is not limited by it.
    commented(&app, &path, &crowd.creator, json!({"body": "I am not limited"})).await;

    app.clock.advance(Duration::seconds(61));
    crowd.relogin(&app).await;
    commented(&app, &path, &crowd.backer, json!({"body": "one more"})).await;
}

#[tokio::test]
async fn reported_comments_are_hidden_by_admins_from_everyone_but_their_author() {
    let app = spawn_app().await;
    let crowd = Crowd::open(&app).await;
    let admin = app.create_admin().await;
    let path = crowd.comments();
    let rude = commented(&app, &path, &crowd.backer, json!({"body": "Rude words"})).await;
    let fine = commented(&app, &path, &crowd.backer, json!({"body": "Nice words"})).await;
    let report = |id: &Value, user: &TestUser, reason: &str| {
        let path = format!("/api/v1/comments/{id}/report");
        let token = user.access_token.clone();
        let body = json!({ "reason": reason });
        let app = &app;
        async move { app.post_json(&path, &body, Some(&token)).await }
    };
    assert_eq!(
        report(&rude["id"], &crowd.outsider, "Insulting").await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        report(&rude["id"], &crowd.creator, "Off topic").await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        report(&fine["id"], &crowd.outsider, "Mistake").await.status(),
        StatusCode::NO_CONTENT
    );
    assert_problem(
        report(&rude["id"], &crowd.outsider, "Again").await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_problem(
        report(&rude["id"], &crowd.backer, "Myself").await,
        StatusCode::CONFLICT,
    )
    .await;
    let no_reason = report(&rude["id"], &app.create_user().await, "").await;
    assert_eq!(
        invalid_fields(&assert_problem(no_reason, StatusCode::UNPROCESSABLE_ENTITY).await),
        ["reason"]
    );

    let reports = app
        .get("/api/v1/admin/reports", Some(&crowd.creator.access_token))
        .await;
    assert_problem(reports, StatusCode::FORBIDDEN).await;
    let hidden = app
        .request(
            reqwest::Method::POST,
            &format!("/api/v1/admin/comments/{}/hide", rude["id"]),
            Some(&admin.access_token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(hidden.status(), StatusCode::OK);
    assert_eq!(hidden.json::<Value>().await.unwrap()["hidden"], true);
    let by_creator = app
        .request(
            reqwest::Method::POST,
            &format!("/api/v1/admin/comments/{}/hide", fine["id"]),
            Some(&crowd.creator.access_token),
        )
        .send()
        .await
        .unwrap();
    assert_problem(by_creator, StatusCode::FORBIDDEN).await;

    // Open reports first (the fine comment's), then the resolved ones.
    let reports: Value = app
        .get("/api/v1/admin/reports?limit=1", Some(&admin.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(reports["items"][0]["comment_id"], fine["id"]);
    assert!(reports["items"][0]["resolved_at"].is_null());
    let rest: Value = app
        .get(
            &format!(
                "/api/v1/admin/reports?cursor={}",
                reports["next_cursor"].as_str().unwrap()
            ),
            Some(&admin.access_token),
        )
        .await
        .json()
        .await
        .unwrap();
    let resolved: Vec<(&Value, bool)> = rest["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (&r["comment_id"], r["resolved_at"].is_string()))
        .collect();
    assert_eq!(resolved, [(&rude["id"], true), (&rude["id"], true)]);
    assert!(rest["next_cursor"].is_null());

    // Absent for everyone but its author and admins.
    let fine_id = fine["id"].as_i64().unwrap();
    let rude_id = rude["id"].as_i64().unwrap();
    assert_eq!(ids(&page(&app, &path, None).await), [fine_id]);
    assert_eq!(ids(&page(&app, &path, Some(&crowd.outsider)).await), [fine_id]);
    assert_eq!(ids(&page(&app, &path, Some(&crowd.creator)).await), [fine_id]);
    let own = page(&app, &path, Some(&crowd.backer)).await;
    assert_eq!(ids(&own), [fine_id, rude_id]);
    assert_eq!(own["items"][1]["hidden"], true);
    assert_eq!(ids(&page(&app, &path, Some(&admin)).await), [fine_id, rude_id]);
    let report_hidden = report(&rude["id"], &app.create_user().await, "Still rude").await;
    assert_problem(report_hidden, StatusCode::NOT_FOUND).await;

    let shown = app
        .request(
            reqwest::Method::POST,
            &format!("/api/v1/admin/comments/{rude_id}/unhide"),
            Some(&admin.access_token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(shown.status(), StatusCode::OK);
    assert_eq!(ids(&page(&app, &path, None).await), [fine_id, rude_id]);
}

#[tokio::test]
async fn the_comments_of_a_backers_only_update_are_for_its_backers() {
    let app = spawn_app().await;
    let crowd = Crowd::open(&app).await;
    let update = app
        .post_json(
            &format!("/api/v1/campaigns/{}/updates", crowd.id),
            &json!({"title": "For backers", "body": "Secret plans", "backers_only": true}),
            Some(&crowd.creator.access_token),
        )
        .await;
    assert_eq!(update.status(), StatusCode::CREATED);
    let update: Value = update.json().await.unwrap();
    let path = format!("/api/v1/campaigns/{}/updates/{}/comments", crowd.id, update["id"]);
    let posted = commented(&app, &path, &crowd.backer, json!({"body": "Love the plans"})).await;
    assert_eq!(posted["update_id"], update["id"]);

    assert_eq!(
        ids(&page(&app, &path, Some(&crowd.backer)).await),
        [posted["id"].as_i64().unwrap()]
    );
    assert_eq!(ids(&page(&app, &path, Some(&crowd.creator)).await).len(), 1);
    assert_problem(app.get(&path, None).await, StatusCode::FORBIDDEN).await;
    assert_problem(
        app.get(&path, Some(&crowd.outsider.access_token)).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let report = app
        .post_json(
            &format!("/api/v1/comments/{}/report", posted["id"]),
            &json!({"reason": "curious"}),
            Some(&crowd.outsider.access_token),
        )
        .await;
    assert_problem(report, StatusCode::FORBIDDEN).await;
    // The update's thread is its own: the campaign's thread does not show it.
    assert!(ids(&page(&app, &crowd.comments(), None).await).is_empty());
    let unknown = app
        .get(
            &format!("/api/v1/campaigns/{}/updates/999999/comments", crowd.id),
            None,
        )
        .await;
    assert_problem(unknown, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn comments_page_newest_first() {
    let app = spawn_app().await;
    let crowd = Crowd::open(&app).await;
    let path = crowd.comments();
    let mut posted = Vec::new();
    for n in 0..5 {
        posted.push(
            commented(&app, &path, &crowd.backer, json!({"body": format!("n{n}")})).await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    posted.reverse();
    let first = page(&app, &format!("{path}?limit=3"), None).await;
    assert_eq!(ids(&first), posted[..3]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = page(&app, &format!("{path}?limit=3&cursor={cursor}"), None).await;
    assert_eq!(ids(&second), posted[3..]);
    assert!(second["next_cursor"].is_null());
    let foreign = app.get(&format!("{path}?cursor=bm90LWEtY3Vyc29y"), None).await;
    assert_eq!(
        invalid_fields(&assert_problem(foreign, StatusCode::UNPROCESSABLE_ENTITY).await),
        ["cursor"]
    );
}

#[tokio::test]
async fn the_creator_gets_one_digest_a_day_when_backers_commented() {
    let app = spawn_app().await;
    let mut crowd = Crowd::open(&app).await;
    let path = crowd.comments();
    commented(&app, &path, &crowd.backer, json!({"body": "First!"})).await;
    commented(&app, &path, &crowd.backer, json!({"body": "Second <thought>"})).await;
    commented(&app, &path, &crowd.creator, json!({"body": "The creator's own"})).await;
    let digests = "SELECT COUNT(*) AS n FROM email_outbox WHERE template = 'comments_digest'";

    // Nothing while the day lasts.
    assert_eq!(app.settle().await["comments"]["digests"], 0);
    assert_eq!(app.count(digests), 0);
    app.clock.advance(Duration::days(1));
    assert_eq!(app.settle().await["comments"]["digests"], 1);
    assert_eq!(app.settle().await["comments"]["digests"], 0, "one a day");
    assert_eq!(app.count(digests), 1);
    let context = app.count(&format!(
        "SELECT COUNT(*) AS n FROM email_outbox WHERE template = 'comments_digest' \
         AND recipient = '{}' AND context LIKE '%\"count\":2%'",
        crowd.creator.email
    ));
    assert_eq!(context, 1, "the creator's own comment is not counted");

    // A quiet day sends nothing; the next comment is in the next day's digest.
    app.clock.advance(Duration::days(1));
    assert_eq!(app.settle().await["comments"]["digests"], 0);
    crowd.relogin(&app).await;
    commented(&app, &path, &crowd.backer, json!({"body": "Third"})).await;
    app.clock.advance(Duration::days(1));
    assert_eq!(app.settle().await["comments"]["digests"], 1);
    assert_eq!(app.count(digests), 2);
}

#[tokio::test]
async fn the_account_export_holds_its_comments_and_deletion_removes_them() {
    let app = spawn_app().await;
    let crowd = Crowd::open(&app).await;
    let path = crowd.comments();
    let kept = commented(&app, &path, &crowd.backer, json!({"body": "Answer me"})).await;
    commented(
        &app,
        &path,
        &crowd.creator,
        json!({"body": "Answered", "parent_id": kept["id"]}),
    )
    .await;
    let gone = commented(&app, &path, &crowd.backer, json!({"body": "Nobody answers"})).await;
    let export: Value = app
        .get("/api/v1/me/export", Some(&crowd.backer.access_token))
        .await
        .json()
        .await
        .unwrap();
    let bodies: Vec<&str> = export["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["Answer me", "Nobody answers"]);

    // With the pledge canceled nothing holds the account; what it wrote goes with it.
    let pledges: Value = app
        .get("/api/v1/me/pledges", Some(&crowd.backer.access_token))
        .await
        .json()
        .await
        .unwrap();
    let cancel = app
        .delete(
            &format!("/api/v1/pledges/{}", pledges["items"][0]["id"]),
            Some(&crowd.backer.access_token),
        )
        .await;
    assert!(cancel.status().is_success(), "{}", cancel.status());
    let deleted = app
        .request(
            reqwest::Method::DELETE,
            "/api/v1/me",
            Some(&crowd.backer.access_token),
        )
        .json(&json!({"password": crate::helpers::PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let read = page(&app, &path, None).await;
    assert_eq!(ids(&read), [kept["id"].as_i64().unwrap()], "{read}");
    assert_eq!(read["items"][0]["deleted"], true);
    assert_ne!(read["items"][0]["id"], gone["id"]);
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM comments WHERE body IN ('Answer me', 'Nobody answers')"),
        0
    );
}
