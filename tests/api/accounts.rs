//! The account lifecycle, end to end: every link is read from the email a real SMTP server on
//! loopback received, and every code is computed from the secret the API handed out.

use chrono::Duration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    PASSWORD, TestApp, TestUser, assert_problem, campaign_body, invalid_fields, pledge_body,
};
use crate::mail::{Inbox, Mail, app_with_smtp};

const NEW_PASSWORD: &str = "a brand new passphrase";

/// The token of the first `{base}/{path}?token=...` link in a message.
fn link_token(mail: &Mail, path: &str) -> String {
    let marker = format!("https://app.test/{path}?token=");
    let start = mail
        .text
        .find(&marker)
        .unwrap_or_else(|| panic!("no {path} link in {}", mail.text))
        + marker.len();
    let token: String = mail.text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    assert!(token.len() >= 22, "≥ 128 bits: {token}");
    assert!(mail.html.contains(&token), "the HTML part has the same link");
    token
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    body: &Value,
    token: Option<&str>,
) -> reqwest::Response {
    app.request(method, path, token)
        .json(body)
        .send()
        .await
        .expect("request")
}

async fn me(app: &TestApp, user: &TestUser) -> Value {
    let response = app.get("/api/v1/me", Some(&user.access_token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn draft(app: &TestApp, owner: &TestUser) -> i64 {
    app.create_campaign(owner, &campaign_body("Lamp")).await["id"]
        .as_i64()
        .unwrap()
}

async fn launch(app: &TestApp, owner: &TestUser, id: i64) -> reqwest::Response {
    app.post_json(
        &format!("/api/v1/campaigns/{id}/launch"),
        &json!({}),
        Some(&owner.access_token),
    )
    .await
}

async fn verify(app: &TestApp, token: &str) -> reqwest::Response {
    app.post_json("/api/v1/auth/verify-email", &json!({ "token": token }), None)
        .await
}

/// Registers through the API; returns the user and its verification email.
async fn registered(app: &TestApp, inbox: &Inbox) -> (TestUser, Mail) {
    let user = app.create_unverified_user().await;
    let mail = inbox
        .wait_for(&user.email, "Confirm your email address", 1)
        .await
        .remove(0);
    (user, mail)
}

#[tokio::test]
async fn a_new_address_is_verified_by_the_emailed_link_and_only_then_launches() {
    let (app, inbox) = app_with_smtp().await;
    let (creator, mail) = registered(&app, &inbox).await;
    assert_eq!(me(&app, &creator).await["email_verified"], false);
    let token = link_token(&mail, "verify-email");

    // Unverified: drafts and pledges work, launching does not.
    let id = draft(&app, &creator).await;
    let problem = assert_problem(launch(&app, &creator, id).await, StatusCode::CONFLICT).await;
    assert!(
        problem["detail"].as_str().unwrap().contains("verified email"),
        "{problem}"
    );
    let other = app.create_user().await;
    let open = app.live_campaign(&other, "Open").await;
    app.pledged(&creator, open, &pledge_body(None, "5.00")).await;

    // Unknown tokens are refused; the real one verifies once.
    let problem = assert_problem(
        verify(&app, "not-a-token").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(invalid_fields(&problem), ["token"]);
    let verified = verify(&app, &token).await;
    assert_eq!(verified.status(), StatusCode::OK);
    let verified: Value = verified.json().await.unwrap();
    assert_eq!(verified["email_verified"], true);
    assert_eq!(verified["email"], creator.email.as_str());
    assert_problem(verify(&app, &token).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(me(&app, &creator).await["email_verified"], true);
    // Delivered, the outbox row keeps no trace of the token.
    crate::mail::wait_until_quiet(&app).await;
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM email_outbox WHERE context LIKE '%{token}%'"
        )),
        0
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM email_outbox WHERE template = 'verify_email' \
             AND recipient = '{}' AND context LIKE '%redacted%'",
            creator.email
        )),
        1
    );
    assert_eq!(launch(&app, &creator, id).await.status(), StatusCode::OK);

    // Verified already: resending is refused.
    let resend = app
        .post_json(
            "/api/v1/me/verify-email/resend",
            &json!({}),
            Some(&creator.access_token),
        )
        .await;
    assert_problem(resend, StatusCode::CONFLICT).await;
}

#[tokio::test]
async fn resending_is_paced_and_only_the_newest_unexpired_link_works() {
    let (app, inbox) = app_with_smtp().await;
    let (user, first) = registered(&app, &inbox).await;
    let first = link_token(&first, "verify-email");
    let resend = async || {
        app.request(
            Method::POST,
            "/api/v1/me/verify-email/resend",
            Some(&user.access_token),
        )
        .send()
        .await
        .unwrap()
    };
    let too_soon = resend().await;
    assert_eq!(too_soon.headers()["retry-after"], "60");
    assert_problem(too_soon, StatusCode::TOO_MANY_REQUESTS).await;

    app.clock.advance(Duration::seconds(61));
    assert_eq!(resend().await.status(), StatusCode::ACCEPTED);
    let second = inbox
        .wait_for(&user.email, "Confirm your email address", 2)
        .await
        .remove(1);
    let second = link_token(&second, "verify-email");
    assert_ne!(first, second);
    assert_problem(verify(&app, &first).await, StatusCode::UNPROCESSABLE_ENTITY).await;

    // 48 hours later the newest link has expired too.
    app.clock.advance(Duration::hours(48));
    assert_problem(verify(&app, &second).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    let user = app.relogin(&user).await;
    assert_eq!(me(&app, &user).await["email_verified"], false);
}

#[tokio::test]
async fn an_unverified_address_receives_only_its_verification_email() {
    // Issue: registering someone else's address and changing a pledge 20 times queued 21 emails.
    let (app, inbox) = app_with_smtp().await;
    let creator = app.create_user().await;
    let id = app.live_campaign(&creator, "Lamp").await;
    let (victim, _) = registered(&app, &inbox).await;
    let pledge = app.pledged(&victim, id, &pledge_body(None, "5.00")).await;
    for i in 0..20 {
        let changed = app
            .patch_json(
                &format!("/api/v1/pledges/{}", pledge["id"]),
                &json!({ "amount": format!("{}.00", 6 + i) }),
                Some(&victim.access_token),
            )
            .await;
        assert_eq!(changed.status(), StatusCode::OK);
    }
    app.settle().await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let to_victim = inbox.find(&victim.email, "");
    assert_eq!(
        to_victim.iter().map(|m| m.subject.as_str()).collect::<Vec<_>>(),
        ["Confirm your email address"]
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM email_outbox WHERE recipient = '{}'",
            victim.email
        )),
        1
    );
}

#[tokio::test]
async fn twenty_pledge_changes_send_one_email_with_the_latest_state() {
    let (app, inbox) = app_with_smtp().await;
    let creator = app.create_user().await;
    let id = app.live_campaign(&creator, "Lamp").await;
    let backer = app.create_user().await;
    let pledge = app.pledged(&backer, id, &pledge_body(None, "5.00")).await;
    inbox.wait_for(&backer.email, "is confirmed", 1).await;
    let path = format!("/api/v1/pledges/{}", pledge["id"]);
    let change = async |amount: String| {
        app.patch_json(&path, &json!({ "amount": amount }), Some(&backer.access_token))
            .await
            .status()
    };
    // The first change is told at once; the next 19 wait and fold into one email.
    assert_eq!(change("6.00".into()).await, StatusCode::OK);
    inbox.wait_for(&backer.email, "has changed", 1).await;
    for i in 1..20 {
        assert_eq!(change(format!("{}.00", 6 + i)).await, StatusCode::OK);
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        inbox.find(&backer.email, "has changed").len(),
        1,
        "nothing more within 10 minutes"
    );
    app.clock.advance(Duration::minutes(10));
    let changes = inbox.wait_for(&backer.email, "has changed", 2).await;
    let last = &changes[1];
    assert!(
        last.text.contains("25.00 USD"),
        "the latest amount: {}",
        last.text
    );
    assert!(
        last.text.contains("6.00 USD"),
        "the amount before these changes: {}",
        last.text
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(inbox.find(&backer.email, "has changed").len(), 2);
}

#[tokio::test]
async fn pledge_changes_are_rate_limited_per_user() {
    let app = crate::helpers::spawn_app_with(&[("PLEDGE_CHANGE_RATE_LIMIT_PER_MINUTE", "5")]).await;
    let creator = app.create_user().await;
    let id = app.live_campaign(&creator, "Lamp").await;
    let backer = app.create_user().await;
    let pledge = app.pledged(&backer, id, &pledge_body(None, "5.00")).await;
    let path = format!("/api/v1/pledges/{}", pledge["id"]);
    for i in 0..5 {
        let r = app
            .patch_json(
                &path,
                &json!({ "amount": format!("{}.00", 6 + i) }),
                Some(&backer.access_token),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    let limited = app
        .patch_json(&path, &json!({ "amount": "20.00" }), Some(&backer.access_token))
        .await;
    assert!(limited.headers().contains_key("retry-after"));
    assert_problem(limited, StatusCode::TOO_MANY_REQUESTS).await;
    let stored = app
        .get(&path, Some(&backer.access_token))
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(stored["amount"], "10.00", "the refused change changed nothing");
    // Another user is not held back by it.
    let other = app.create_user().await;
    let theirs = app.pledged(&other, id, &pledge_body(None, "5.00")).await;
    let r = app
        .patch_json(
            &format!("/api/v1/pledges/{}", theirs["id"]),
            &json!({ "amount": "7.00" }),
            Some(&other.access_token),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_password_reset_never_tells_who_has_an_account_and_ends_every_session() {
    let (app, inbox) = app_with_smtp().await;
    let (user, verify_mail) = registered(&app, &inbox).await;
    let ask = async |email: String| {
        let r = app
            .post_json("/api/v1/auth/password-reset", &json!({ "email": email }), None)
            .await;
        (r.status(), r.text().await.unwrap())
    };
    let known = ask(user.email.to_uppercase()).await;
    let unknown = ask("nobody@example.com".into()).await;
    assert_eq!(known.0, StatusCode::ACCEPTED);
    assert_eq!(known, unknown, "the same answer either way");
    let mail = inbox
        .wait_for(&user.email, "Reset your crowdfund password", 1)
        .await
        .remove(0);
    let token = link_token(&mail, "reset-password");
    assert!(inbox.find("nobody@example.com", "").is_empty());

    let confirm = async |token: String, password: &str| {
        app.post_json(
            "/api/v1/auth/password-reset/confirm",
            &json!({ "token": token, "new_password": password }),
            None,
        )
        .await
    };
    let weak = assert_problem(
        confirm(token.clone(), "short").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(invalid_fields(&weak), ["new_password"]);
    assert_eq!(
        confirm(token.clone(), NEW_PASSWORD).await.status(),
        StatusCode::NO_CONTENT
    );
    let reused = assert_problem(
        confirm(token, NEW_PASSWORD).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(invalid_fields(&reused), ["token"]);

    // The old refresh token and the old password no longer work; the new one does, and the
    // address counts as verified (the link reached it): its old verification link is moot.
    assert_eq!(
        app.refresh(&user.refresh_token).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login(&user.email, PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let session: Value = app.login(&user.email, NEW_PASSWORD).await.json().await.unwrap();
    assert_eq!(session["user"]["email_verified"], true);
    assert_eq!(
        verify(&app, &link_token(&verify_mail, "verify-email"))
            .await
            .status(),
        StatusCode::OK,
        "an unused verification link of a verified account answers success"
    );
    inbox.wait_for(&user.email, "password was changed", 1).await;
}

#[tokio::test]
async fn reset_links_expire_after_an_hour_and_a_newer_one_replaces_the_older() {
    let (app, inbox) = app_with_smtp().await;
    let user = app.create_user().await;
    let ask = async || {
        app.post_json(
            "/api/v1/auth/password-reset",
            &json!({ "email": user.email }),
            None,
        )
        .await
    };
    assert_eq!(ask().await.status(), StatusCode::ACCEPTED);
    let first = link_token(
        &inbox.wait_for(&user.email, "Reset", 1).await[0],
        "reset-password",
    );
    // Asked again within a minute: no second email.
    assert_eq!(ask().await.status(), StatusCode::ACCEPTED);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(inbox.find(&user.email, "Reset").len(), 1);
    app.clock.advance(Duration::minutes(2));
    assert_eq!(ask().await.status(), StatusCode::ACCEPTED);
    let second = link_token(
        &inbox.wait_for(&user.email, "Reset", 2).await[1],
        "reset-password",
    );
    let confirm = async |token: String| {
        app.post_json(
            "/api/v1/auth/password-reset/confirm",
            &json!({ "token": token, "new_password": NEW_PASSWORD }),
            None,
        )
        .await
    };
    assert_problem(confirm(first).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    app.clock.advance(Duration::minutes(61));
    assert_problem(confirm(second).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(app.login(&user.email, PASSWORD).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn changing_the_password_ends_the_other_sessions_only() {
    let (app, inbox) = app_with_smtp().await;
    let here = app.create_user().await;
    let elsewhere = app.relogin(&here).await;
    let change = async |current: &str| {
        send(
            &app,
            Method::PUT,
            "/api/v1/me/password",
            &json!({ "current_password": current, "new_password": NEW_PASSWORD }),
            Some(&here.access_token),
        )
        .await
    };
    let wrong = assert_problem(change("not the password").await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(invalid_fields(&wrong), ["current_password"]);
    assert_eq!(change(PASSWORD).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.refresh(&here.refresh_token).await.status(), StatusCode::OK);
    assert_eq!(
        app.refresh(&elsewhere.refresh_token).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login(&here.email, NEW_PASSWORD).await.status(),
        StatusCode::OK
    );
    let mail = &inbox.wait_for(&here.email, "password was changed", 1).await[0];
    assert!(
        mail.text.contains("Your other sessions were logged out"),
        "{}",
        mail.text
    );
}

#[tokio::test]
async fn a_new_address_takes_over_only_once_its_link_is_opened() {
    let (app, inbox) = app_with_smtp().await;
    let user = app.create_user().await;
    let taken = app.create_user().await;
    let new_address = format!("moved-{}", user.email);
    let change = async |email: &str, password: &str| {
        send(
            &app,
            Method::PUT,
            "/api/v1/me/email",
            &json!({ "new_email": email, "password": password }),
            Some(&user.access_token),
        )
        .await
    };
    assert_problem(change(&taken.email, PASSWORD).await, StatusCode::CONFLICT).await;
    let wrong = assert_problem(
        change(&new_address, "not the password").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(invalid_fields(&wrong), ["password"]);
    let pending = change(&new_address, PASSWORD).await;
    assert_eq!(pending.status(), StatusCode::ACCEPTED);
    assert_eq!(
        pending.json::<Value>().await.unwrap()["pending_email"],
        new_address.as_str()
    );
    assert_eq!(
        me(&app, &user).await["email"],
        user.email.as_str(),
        "nothing moves yet"
    );

    let mail = inbox
        .wait_for(&new_address, "Confirm your new email address", 1)
        .await
        .remove(0);
    let token = link_token(&mail, "verify-email");
    let moved: Value = verify(&app, &token).await.json().await.unwrap();
    assert_eq!(moved["email"], new_address.as_str());
    assert_eq!(moved["email_verified"], true);
    let notice = &inbox.wait_for(&user.email, "moved to another address", 1).await[0];
    assert!(notice.text.contains(&new_address), "{}", notice.text);
    assert_eq!(app.login(&new_address, PASSWORD).await.status(), StatusCode::OK);
    assert_eq!(
        app.login(&user.email, PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // Taken between the request and the confirmation: 409 at confirmation.
    let user = app
        .relogin(&TestUser {
            email: new_address.clone(),
            ..user
        })
        .await;
    let third = format!("third-{}", user.email);
    let r = send(
        &app,
        Method::PUT,
        "/api/v1/me/email",
        &json!({ "new_email": third, "password": PASSWORD }),
        Some(&user.access_token),
    )
    .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let token = link_token(
        &inbox.wait_for(&third, "Confirm your new", 1).await[0],
        "verify-email",
    );
    assert_eq!(
        app.register(&third, PASSWORD, "Quick").await.status(),
        StatusCode::CREATED
    );
    assert_problem(verify(&app, &token).await, StatusCode::CONFLICT).await;
    assert_eq!(me(&app, &user).await["email"], new_address.as_str());
}

fn totp_code(secret: &str, app: &TestApp) -> String {
    let totp = totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(secret).unwrap())
        .build()
        .unwrap();
    totp.generate(app.clock.now().timestamp() as u64).to_string()
}

async fn login_with(app: &TestApp, email: &str, extra: Value) -> reqwest::Response {
    let mut body = json!({ "email": email, "password": PASSWORD });
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    app.post_json("/api/v1/auth/login", &body, None).await
}

#[tokio::test]
async fn two_factor_codes_work_once_and_recovery_codes_stand_in_for_the_device() {
    let app = crate::helpers::spawn_app().await;
    let user = app.create_user().await;
    let enrolled = app
        .post_json("/api/v1/me/2fa", &json!({}), Some(&user.access_token))
        .await;
    assert_eq!(enrolled.status(), StatusCode::OK);
    let enrolled: Value = enrolled.json().await.unwrap();
    let secret = enrolled["secret"].as_str().unwrap().to_owned();
    assert!(
        enrolled["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/crowdfund:"),
        "{enrolled}"
    );
    // Not in force until confirmed.
    assert_eq!(
        login_with(&app, &user.email, json!({})).await.status(),
        StatusCode::OK
    );
    let confirm = async |code: String| {
        app.post_json(
            "/api/v1/me/2fa/confirm",
            &json!({ "code": code }),
            Some(&user.access_token),
        )
        .await
    };
    assert_problem(confirm("000000".into()).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    let confirmed = confirm(totp_code(&secret, &app)).await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    let codes: Vec<String> = confirmed.json::<Value>().await.unwrap()["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    assert_eq!(me(&app, &user).await["two_factor_enabled"], true);

    // The password alone is not enough now.
    let problem = assert_problem(
        login_with(&app, &user.email, json!({})).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(problem["type"], "/problems/otp-required");
    let wrong = assert_problem(
        login_with(
            &app,
            &user.email,
            json!({ "password": "wrong password!!", "otp": "123456" }),
        )
        .await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(
        wrong["type"], "/problems/unauthorized",
        "a wrong password says nothing of 2FA"
    );

    // A code from the next step (the enrolment used this one) logs in, once.
    app.clock.advance(Duration::seconds(30));
    let code = totp_code(&secret, &app);
    assert_eq!(
        login_with(&app, &user.email, json!({ "otp": code }))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        login_with(&app, &user.email, json!({ "otp": code }))
            .await
            .status(),
        StatusCode::UNAUTHORIZED,
        "a code is accepted once"
    );
    // A recovery code, typed loosely, once.
    let loose = codes[0].to_uppercase().replace('-', " ");
    assert_eq!(
        login_with(&app, &user.email, json!({ "recovery_code": loose }))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        login_with(&app, &user.email, json!({ "recovery_code": codes[0] }))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );

    // Turning it off takes the password and a code.
    let off = async |password: &str, code: &str| {
        send(
            &app,
            Method::DELETE,
            "/api/v1/me/2fa",
            &json!({ "password": password, "code": code }),
            Some(&user.access_token),
        )
        .await
    };
    assert_problem(off(PASSWORD, "000000").await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_problem(
        off("wrong password!!", &codes[1]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(off(PASSWORD, &codes[1]).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        login_with(&app, &user.email, json!({})).await.status(),
        StatusCode::OK
    );
    assert_eq!(me(&app, &user).await["two_factor_enabled"], false);
}

#[tokio::test]
async fn ten_failed_passwords_lock_the_account_whatever_the_address_until_a_reset() {
    let (app, inbox) = app_with_smtp().await;
    let user = app.create_user().await;
    let bystander = app.create_user().await;
    for _ in 0..10 {
        assert_eq!(
            app.login(&user.email, "not the password").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    // Locked: even the right password is refused, and says when to come back.
    let locked = app.login(&user.email, PASSWORD).await;
    let retry: i64 = locked.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((890..=900).contains(&retry), "{retry}");
    assert_problem(locked, StatusCode::TOO_MANY_REQUESTS).await;
    assert_eq!(
        app.login(&bystander.email, PASSWORD).await.status(),
        StatusCode::OK,
        "per account"
    );

    // A reset lifts it at once.
    app.post_json(
        "/api/v1/auth/password-reset",
        &json!({ "email": user.email }),
        None,
    )
    .await;
    let token = link_token(
        &inbox.wait_for(&user.email, "Reset", 1).await[0],
        "reset-password",
    );
    let reset = app
        .post_json(
            "/api/v1/auth/password-reset/confirm",
            &json!({ "token": token, "new_password": NEW_PASSWORD }),
            None,
        )
        .await;
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.login(&user.email, NEW_PASSWORD).await.status(),
        StatusCode::OK
    );

    // Otherwise it lasts 15 minutes.
    for _ in 0..10 {
        app.login(&bystander.email, "not the password").await;
    }
    assert_eq!(
        app.login(&bystander.email, PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    app.clock.advance(Duration::minutes(15));
    assert_eq!(
        app.login(&bystander.email, PASSWORD).await.status(),
        StatusCode::OK
    );

    // Failures spread beyond the window do not add up.
    for _ in 0..9 {
        app.login(&bystander.email, "not the password").await;
    }
    app.clock.advance(Duration::minutes(16));
    for _ in 0..9 {
        app.login(&bystander.email, "not the password").await;
    }
    assert_eq!(
        app.login(&bystander.email, PASSWORD).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn deleting_an_account_waits_for_its_money_then_erases_the_person() {
    let (app, inbox) = app_with_smtp().await;
    let creator = app.create_user().await;
    let id = app.live_campaign(&creator, "Lamp").await;
    let backer = app.create_user().await;
    let pledge = app.pledged(&backer, id, &pledge_body(None, "5.00")).await;
    inbox.wait_for(&backer.email, "is confirmed", 1).await;
    let delete = async |user: &TestUser, password: &str| {
        send(
            &app,
            Method::DELETE,
            "/api/v1/me",
            &json!({ "password": password }),
            Some(&user.access_token),
        )
        .await
    };
    let blocked = assert_problem(delete(&creator, PASSWORD).await, StatusCode::CONFLICT).await;
    assert!(
        blocked["detail"].as_str().unwrap().contains("is live"),
        "{blocked}"
    );
    let blocked = assert_problem(delete(&backer, PASSWORD).await, StatusCode::CONFLICT).await;
    assert!(
        blocked["detail"].as_str().unwrap().contains("pledge"),
        "{blocked}"
    );

    let cancel = app
        .delete(
            &format!("/api/v1/pledges/{}", pledge["id"]),
            Some(&backer.access_token),
        )
        .await;
    assert_eq!(cancel.status(), StatusCode::OK);
    assert_problem(
        delete(&backer, "not the password").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(delete(&backer, PASSWORD).await.status(), StatusCode::NO_CONTENT);

    let goodbye = &inbox.wait_for(&backer.email, "account is deleted", 1).await[0];
    assert!(goodbye.text.contains("Deleted user"), "{}", goodbye.text);
    assert_eq!(
        app.get("/api/v1/me", Some(&backer.access_token)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login(&backer.email, PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.refresh(&backer.refresh_token).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // What money law keeps stays, under the pseudonym; nothing holds the address any more.
    let fulfilment: Value = app
        .get(
            &format!("/api/v1/campaigns/{id}/pledges"),
            Some(&creator.access_token),
        )
        .await
        .json()
        .await
        .unwrap();
    let row = &fulfilment["items"][0];
    assert_eq!(row["backer"]["display_name"], "Deleted user", "{fulfilment}");
    assert_eq!(row["backer"]["email"], format!("deleted-user-{}", backer.id));
    assert_eq!(row["pledge"]["status"], "canceled");
    crate::mail::wait_until_quiet(&app).await;
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM email_outbox WHERE recipient = '{}' OR context LIKE '%{}%'",
            backer.email, backer.email
        )),
        0,
        "the address is gone from the outbox"
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM pledge_events WHERE pledge_id = {}",
            pledge["id"]
        )),
        2
    );

    // The address is free again.
    let again = app.register(&backer.email, PASSWORD, "Back again").await;
    assert_eq!(again.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn deleting_with_two_factor_takes_a_code() {
    let app = crate::helpers::spawn_app().await;
    let user = app.create_user().await;
    let secret: Value = app
        .post_json("/api/v1/me/2fa", &json!({}), Some(&user.access_token))
        .await
        .json()
        .await
        .unwrap();
    let secret = secret["secret"].as_str().unwrap().to_owned();
    let code = totp_code(&secret, &app);
    let confirmed = app
        .post_json(
            "/api/v1/me/2fa/confirm",
            &json!({ "code": code }),
            Some(&user.access_token),
        )
        .await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    let delete = async |body: Value| {
        send(
            &app,
            Method::DELETE,
            "/api/v1/me",
            &body,
            Some(&user.access_token),
        )
        .await
    };
    let problem = assert_problem(
        delete(json!({ "password": PASSWORD })).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(problem["type"], "/problems/otp-required");
    app.clock.advance(Duration::seconds(30));
    let code = totp_code(&secret, &app);
    assert_eq!(
        delete(json!({ "password": PASSWORD, "otp": code }))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.login(&user.email, PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_export_holds_everything_kept_about_the_person() {
    let (app, inbox) = app_with_smtp().await;
    let (user, mail) = registered(&app, &inbox).await;
    verify(&app, &link_token(&mail, "verify-email")).await;
    let id = app.live_campaign(&user, "Lamp").await;
    let update = app
        .post_json(
            &format!("/api/v1/campaigns/{id}/updates"),
            &json!({ "title": "Week one", "body": "Going well." }),
            Some(&user.access_token),
        )
        .await;
    assert_eq!(update.status(), StatusCode::CREATED);
    let other = app.create_user().await;
    let theirs = app.live_campaign(&other, "Chair").await;
    let pledge = app.pledged(&user, theirs, &pledge_body(None, "7.00")).await;
    inbox.wait_for(&user.email, "is confirmed", 1).await;
    app.relogin(&user).await;
    let hook = app
        .post_json(
            "/api/v1/me/webhooks",
            &json!({"url": "https://crm.example.com/hooks", "events": ["pledge.created"]}),
            Some(&user.access_token),
        )
        .await;
    assert_eq!(hook.status(), StatusCode::CREATED);

    let response = app.get("/api/v1/me/export", Some(&user.access_token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let export: Value = response.json().await.unwrap();
    assert_eq!(export["profile"]["email"], user.email.as_str());
    assert!(export["profile"]["email_verified_at"].is_string());
    assert_eq!(export["campaigns"][0]["id"], id);
    assert_eq!(export["campaigns"][0]["status"], "live");
    assert_eq!(export["updates"][0]["title"], "Week one");
    assert_eq!(export["pledges"][0]["id"], pledge["id"]);
    assert_eq!(export["pledges"][0]["amount_minor"], 700);
    assert_eq!(export["pledges"][0]["events"][0]["to_status"], "active");
    let subjects: Vec<&str> = export["emails"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["subject"].as_str().unwrap())
        .collect();
    for subject in [
        "Confirm your email address",
        "Lamp is live",
        "Your pledge to Chair is confirmed",
    ] {
        assert!(subjects.contains(&subject), "{subject:?} in {subjects:?}");
    }
    assert_eq!(
        export["sessions"].as_array().unwrap().len(),
        2,
        "{}",
        export["sessions"]
    );
    assert!(export["sessions"][0]["started_at"].is_string());
    assert!(!export.to_string().contains("password_hash"));
    assert!(!export.to_string().contains("token="), "no link's token survives");
    assert_eq!(export["webhooks"][0]["url"], "https://crm.example.com/hooks");
    assert!(!export.to_string().contains("whsec_"), "no webhook secret");
}

#[tokio::test]
async fn admins_find_disable_and_enable_accounts() {
    let app = crate::helpers::spawn_app().await;
    let admin = app.create_admin().await;
    let user = app.create_user().await;
    let id = app.live_campaign(&user, "Lamp").await;
    let needle = &user.email[..12];
    let search = async |q: &str, token: &str| {
        app.get(&format!("/api/v1/admin/users?q={q}&limit=1"), Some(token))
            .await
    };
    assert_problem(search(needle, &user.access_token).await, StatusCode::FORBIDDEN).await;
    let page: Value = search(&needle.to_uppercase(), &admin.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"][0]["id"], user.id, "{page}");
    assert!(page["next_cursor"].is_null());
    let all: Value = app
        .get("/api/v1/admin/users?limit=1", Some(&admin.access_token))
        .await
        .json()
        .await
        .unwrap();
    let cursor = all["next_cursor"].as_str().expect("more than one account");
    let next: Value = app
        .get(
            &format!("/api/v1/admin/users?limit=1&cursor={cursor}"),
            Some(&admin.access_token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(next["items"][0]["id"], all["items"][0]["id"]);

    let disable = app
        .post_json(
            &format!("/api/v1/admin/users/{}/disable", user.id),
            &json!({}),
            Some(&admin.access_token),
        )
        .await;
    assert_eq!(disable.status(), StatusCode::OK);
    assert!(disable.json::<Value>().await.unwrap()["disabled_at"].is_string());
    assert_problem(app.login(&user.email, PASSWORD).await, StatusCode::FORBIDDEN).await;
    assert_eq!(
        app.refresh(&user.refresh_token).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.campaign(id).await["status"],
        "live",
        "campaigns are left alone"
    );
    assert_problem(
        app.post_json(
            &format!("/api/v1/admin/users/{}/disable", admin.id),
            &json!({}),
            Some(&admin.access_token),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_problem(
        app.post_json(
            "/api/v1/admin/users/999999/disable",
            &json!({}),
            Some(&admin.access_token),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;

    let enable = app
        .post_json(
            &format!("/api/v1/admin/users/{}/enable", user.id),
            &json!({}),
            Some(&admin.access_token),
        )
        .await;
    assert!(enable.json::<Value>().await.unwrap()["disabled_at"].is_null());
    assert_eq!(app.login(&user.email, PASSWORD).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_link_or_a_code_presented_many_times_at_once_works_once() {
    let (app, inbox) = app_with_smtp().await;
    let user = app.create_user().await;
    app.post_json(
        "/api/v1/auth/password-reset",
        &json!({ "email": user.email }),
        None,
    )
    .await;
    let token = link_token(
        &inbox.wait_for(&user.email, "Reset", 1).await[0],
        "reset-password",
    );
    let body = json!({ "token": token, "new_password": NEW_PASSWORD });
    let confirms = (0..8).map(|_| app.post_json("/api/v1/auth/password-reset/confirm", &body, None));
    let statuses: Vec<u16> = futures::future::join_all(confirms)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(statuses.iter().filter(|&&s| s == 204).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|&s| s == 204 || s == 422), "{statuses:?}");

    let enrolled: Value = app
        .post_json("/api/v1/me/2fa", &json!({}), Some(&user.access_token))
        .await
        .json()
        .await
        .unwrap();
    let secret = enrolled["secret"].as_str().unwrap().to_owned();
    let confirmed = app
        .post_json(
            "/api/v1/me/2fa/confirm",
            &json!({ "code": totp_code(&secret, &app) }),
            Some(&user.access_token),
        )
        .await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    app.clock.advance(Duration::seconds(30));
    let login = json!({ "email": user.email, "password": NEW_PASSWORD, "otp": totp_code(&secret, &app) });
    let logins = (0..8).map(|_| app.post_json("/api/v1/auth/login", &login, None));
    let statuses: Vec<u16> = futures::future::join_all(logins)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(statuses.iter().filter(|&&s| s == 200).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|&s| s == 200 || s == 401), "{statuses:?}");
}

#[tokio::test]
async fn wrong_passwords_anywhere_count_and_drafts_go_with_their_account() {
    let app = crate::helpers::spawn_app().await;
    let admin = app.create_admin().await;
    let user = app.create_user().await;
    // Wrong current passwords on the account's own routes count towards the same lock.
    for _ in 0..10 {
        let r = send(
            &app,
            Method::PUT,
            "/api/v1/me/password",
            &json!({ "current_password": "not the password", "new_password": NEW_PASSWORD }),
            Some(&user.access_token),
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    assert_eq!(
        app.login(&user.email, PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    let locked = send(
        &app,
        Method::DELETE,
        "/api/v1/me",
        &json!({ "password": PASSWORD }),
        Some(&user.access_token),
    )
    .await;
    assert_problem(locked, StatusCode::TOO_MANY_REQUESTS).await;
    app.clock.advance(Duration::minutes(15));

    let id = draft(&app, &user).await;
    let user = app.relogin(&user).await;
    let deleted = send(
        &app,
        Method::DELETE,
        "/api/v1/me",
        &json!({ "password": PASSWORD }),
        Some(&user.access_token),
    )
    .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = app
        .get(&format!("/api/v1/campaigns/{id}"), Some(&admin.access_token))
        .await;
    assert_problem(gone, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn money_still_being_collected_blocks_deletion_on_both_sides() {
    let app = crate::helpers::spawn_app().await;
    let creator = app.create_user().await;
    let mut body = campaign_body("Lamp");
    body["goal"] = json!("10.00");
    body["duration_days"] = json!(2);
    let id = app.create_campaign(&creator, &body).await["id"].as_i64().unwrap();
    assert_eq!(launch(&app, &creator, id).await.status(), StatusCode::OK);
    let backer = app.create_user().await;
    let mut pledge = pledge_body(None, "10.00");
    pledge["payment_method"] = json!("pm_card_chargeDeclined");
    app.pledged(&backer, id, &pledge).await;
    app.clock.advance(Duration::days(3));
    let summary = app.settle().await;
    assert_eq!(summary["pledges"]["errored"], 1, "{summary}");
    let (creator, backer) = (app.relogin(&creator).await, app.relogin(&backer).await);
    let delete = async |user: &TestUser| {
        send(
            &app,
            Method::DELETE,
            "/api/v1/me",
            &json!({ "password": PASSWORD }),
            Some(&user.access_token),
        )
        .await
    };
    let blocked = assert_problem(delete(&creator).await, StatusCode::CONFLICT).await;
    assert!(
        blocked["detail"].as_str().unwrap().contains("is funded"),
        "{blocked}"
    );
    let blocked = assert_problem(delete(&backer).await, StatusCode::CONFLICT).await;
    assert!(
        blocked["detail"].as_str().unwrap().contains("being collected"),
        "{blocked}"
    );
}
