//! Email: every template sent by its real trigger to a real SMTP server on loopback (an
//! in-process mailin server), through the outbox worker of one or two instances.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use chrono::Duration;
use mailin_embedded::response::OK;
use mailin_embedded::{Handler, Response, Server, SslConfig};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, campaign_body, pledge_body, spawn_app_with};

/// One message as the SMTP server received it, decoded.
#[derive(Debug, Clone)]
pub struct Mail {
    /// The SMTP envelope's recipients.
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub message_id: String,
}

#[derive(Clone, Default)]
pub struct Inbox(Arc<Mutex<Vec<Mail>>>);

impl Inbox {
    pub fn all(&self) -> Vec<Mail> {
        self.0.lock().unwrap().clone()
    }

    /// Messages to `address` whose subject contains `subject`.
    pub fn find(&self, address: &str, subject: &str) -> Vec<Mail> {
        self.all()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t == address) && m.subject.contains(subject))
            .collect()
    }

    /// Waits (up to 15 s) until `count` such messages arrived; returns them.
    pub async fn wait_for(&self, address: &str, subject: &str, count: usize) -> Vec<Mail> {
        for _ in 0..300 {
            let found = self.find(address, subject);
            if found.len() >= count {
                return found;
            }
            tokio::time::sleep(StdDuration::from_millis(50)).await;
        }
        panic!(
            "expected {count} email(s) to {address} with {subject:?}; inbox: {:#?}",
            self.all().iter().map(|m| (&m.to, &m.subject)).collect::<Vec<_>>()
        );
    }
}

#[derive(Clone)]
struct Collector {
    inbox: Inbox,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Collector {
    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.to = to.to_vec();
        self.data.clear();
        OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let parsed = mail_parser::MessageParser::default()
            .parse(&self.data)
            .expect("a parsable message");
        self.inbox.0.lock().unwrap().push(Mail {
            to: self.to.clone(),
            subject: parsed.subject().unwrap_or_default().to_owned(),
            text: parsed.body_text(0).unwrap_or_default().into_owned(),
            html: parsed.body_html(0).unwrap_or_default().into_owned(),
            message_id: parsed.message_id().unwrap_or_default().to_owned(),
        });
        OK
    }
}

/// Serves SMTP on `listener` from a thread of its own, for the rest of the test process.
fn serve_smtp(listener: TcpListener) -> Inbox {
    let inbox = Inbox::default();
    let mut server = Server::new(Collector {
        inbox: inbox.clone(),
        to: Vec::new(),
        data: Vec::new(),
    });
    server
        .with_name("smtp.test")
        .with_ssl(SslConfig::None)
        .unwrap()
        .with_tcp_listener(listener);
    std::thread::spawn(move || {
        if let Err(e) = server.serve() {
            eprintln!("test SMTP server stopped: {e}");
        }
    });
    inbox
}

/// A loopback port with nothing listening: connections are refused until a server binds it.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn smtp_url(port: u16) -> String {
    format!("smtp://127.0.0.1:{port}")
}

/// An application whose worker delivers to a fresh SMTP server every 20 ms.
pub async fn app_with_smtp() -> (TestApp, Inbox) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let inbox = serve_smtp(listener);
    let app = spawn_app_with(&[
        ("SMTP_URL", &smtp_url(port)),
        ("MAIL_POLL_INTERVAL_MS", "20"),
        ("APP_BASE_URL", "https://app.test"),
    ])
    .await;
    (app, inbox)
}

async fn launched(app: &TestApp, owner: &TestUser, title: &str, goal: &str, days: i64) -> i64 {
    let mut body = campaign_body(title);
    body["goal"] = json!(goal);
    body["duration_days"] = json!(days);
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

fn paying_with(mut body: Value, method: &str) -> Value {
    body["payment_method"] = json!(method);
    body
}

#[tokio::test]
async fn a_campaign_from_launch_to_refund_sends_every_email_once() {
    let (app, inbox) = app_with_smtp().await;
    // A second instance with its own worker: both claim from the same outbox.
    app.another_instance().await;
    let creator = app.create_user().await;
    let id = launched(&app, &creator, "Solar <Lamp> & Co", "100.00", 5).await;
    let launched_mail = &inbox.wait_for(&creator.email, "is live", 1).await[0];
    assert_eq!(launched_mail.subject, "Solar <Lamp> & Co is live");
    assert!(
        launched_mail.text.contains("It needs 100.00 USD by"),
        "{}",
        launched_mail.text
    );
    assert!(
        launched_mail.html.contains("Solar &lt;Lamp&gt; &amp; Co"),
        "HTML escapes the title"
    );
    assert!(
        launched_mail
            .text
            .contains("https://app.test/campaigns/solar-lamp-co")
    );

    let (a, b, c) = (
        app.create_user().await,
        app.create_user().await,
        app.create_user().await,
    );
    let pa = app.pledged(&a, id, &pledge_body(None, "60.00")).await;
    let confirmed = &inbox.wait_for(&a.email, "is confirmed", 1).await[0];
    assert_eq!(confirmed.subject, "Your pledge to Solar <Lamp> & Co is confirmed");
    assert!(
        confirmed.text.contains("Your pledge: 60.00 USD (no reward)"),
        "{}",
        confirmed.text
    );
    let changed = app
        .patch_json(
            &format!("/api/v1/pledges/{}", pa["id"]),
            &json!({"amount": "70.00"}),
            Some(&a.access_token),
        )
        .await;
    assert_eq!(changed.status(), 200);
    let changed = &inbox.wait_for(&a.email, "has changed", 1).await[0];
    assert!(
        changed
            .text
            .contains("is now 70.00 USD (no reward) (it was 60.00 USD)"),
        "{}",
        changed.text
    );

    let pb = app.pledged(&b, id, &pledge_body(None, "20.00")).await;
    let canceled = app
        .delete(&format!("/api/v1/pledges/{}", pb["id"]), Some(&b.access_token))
        .await;
    assert_eq!(canceled.status(), 200);
    let canceled = &inbox.wait_for(&b.email, "is canceled", 1).await[0];
    assert!(
        canceled.text.contains("canceled your pledge of 20.00 USD"),
        "{}",
        canceled.text
    );

    app.pledged(
        &c,
        id,
        &paying_with(
            pledge_body(None, "40.00"),
            "pm_card_chargeDeclinedInsufficientFunds",
        ),
    )
    .await;
    let update = app
        .post_json(
            &format!("/api/v1/campaigns/{id}/updates"),
            &json!({"title": "Prototype works", "body": "It <glows>.", "backers_only": true}),
            Some(&creator.access_token),
        )
        .await;
    assert_eq!(update.status(), 201);
    for backer in [&a, &c] {
        let update = &inbox.wait_for(&backer.email, "Prototype works", 1).await[0];
        assert_eq!(update.subject, "Solar <Lamp> & Co: Prototype works");
        assert!(update.text.contains("It <glows>."), "{}", update.text);
        assert!(update.html.contains("It &lt;glows&gt;."), "{}", update.html);
    }

    // Under 48 hours left: the creator hears once, however often settlement runs.
    app.clock.advance(Duration::days(3) + Duration::hours(1));
    assert_eq!(app.settle().await["campaigns"]["reminded"], 1);
    assert_eq!(app.settle().await["campaigns"]["reminded"], 0);
    let ending = &inbox.wait_for(&creator.email, "48 hours left", 1).await[0];
    assert!(
        ending
            .text
            .contains("So far: 110.00 USD of 100.00 USD from 2 backers."),
        "{}",
        ending.text
    );

    // The deadline: funded; A is charged, C's card fails.
    app.clock.advance(Duration::days(2));
    app.settle().await;
    for backer in [&a, &c] {
        inbox.wait_for(&backer.email, "is funded", 1).await;
    }
    let receipt = &inbox.wait_for(&a.email, "Receipt", 1).await[0];
    assert_eq!(receipt.subject, "Receipt: 70.00 USD for Solar <Lamp> & Co");
    let failed = &inbox.wait_for(&c.email, "payment for", 1).await[0];
    assert!(failed.subject.starts_with("Action needed"), "{}", failed.subject);
    assert!(
        failed.text.contains("could not charge 40.00 USD"),
        "{}",
        failed.text
    );
    assert!(failed.text.contains("insufficient_funds"), "{}", failed.text);
    assert!(
        failed.text.contains("https://app.test/pledges/"),
        "how to fix it: {}",
        failed.text
    );

    // Still failing 48 hours later: told again.
    app.clock.advance(Duration::hours(49));
    app.settle().await;
    inbox.wait_for(&c.email, "payment for", 2).await;

    // Seven days after the first failure: dropped; the campaign completes.
    app.clock.advance(Duration::days(6));
    let summary = app.settle().await;
    assert_eq!(summary["campaigns"]["successful"], 1, "{summary}");
    let dropped = &inbox.wait_for(&c.email, "was dropped", 1).await[0];
    assert!(dropped.text.contains("40.00 USD"), "{}", dropped.text);
    let success = &inbox.wait_for(&creator.email, "is successful", 1).await[0];
    // 70.00 collected; sandbox fee 2.9 % + 0.30 = 2.33; platform fee 5 % = 3.50.
    assert_eq!(
        success.subject,
        "Solar <Lamp> & Co is successful: your payout is 64.17 USD"
    );
    for line in [
        "Collected from 1 backer: 70.00 USD",
        "Payment processing fees:  -2.33 USD",
        "Platform fee:             -3.50 USD",
        "Your payout:              64.17 USD",
        "1 pledge was dropped",
    ] {
        assert!(success.text.contains(line), "{line:?} in {}", success.text);
    }

    let creator = app.relogin(&creator).await;
    let refund = app
        .post_json(
            &format!("/api/v1/pledges/{}/refund", pa["id"]),
            &json!({}),
            Some(&creator.access_token),
        )
        .await;
    assert_eq!(refund.status(), 200);
    let refund = &inbox.wait_for(&a.email, "Refund", 1).await[0];
    assert_eq!(refund.subject, "Refund: 70.00 USD for Solar <Lamp> & Co");

    // Nothing arrived twice, and nothing else arrived: 1 to the creator at launch, A 6, B 2,
    // C 6 (confirmed, update, funded, two failures, dropped), the creator 2 more, and the four
    // verification emails of registering.
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    let all = inbox.all();
    assert_eq!(
        all.len(),
        21,
        "{:#?}",
        all.iter().map(|m| (&m.to, &m.subject)).collect::<Vec<_>>()
    );
    let mut ids: Vec<&str> = all.iter().map(|m| m.message_id.as_str()).collect();
    assert!(ids.iter().all(|id| id.starts_with("outbox.")), "{ids:?}");
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 21, "every message has its own Message-ID");
    assert!(all.iter().all(|m| m.to.len() == 1), "one recipient per message");

    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(
        metrics.contains("crowdfund_email_outbox_messages{status=\"sent\"} 21"),
        "{metrics}"
    );
    assert!(metrics.contains("crowdfund_email_outbox_messages{status=\"queued\"} 0"));
    assert!(metrics.contains("crowdfund_email_outbox_messages{status=\"failed\"} 0"));
}

#[tokio::test]
async fn failed_canceled_and_suspended_campaigns_tell_their_backers() {
    let (app, inbox) = app_with_smtp().await;
    let creator = app.create_user().await;
    let admin = app.create_admin().await;
    let backer = app.create_user().await;
    let failing = launched(&app, &creator, "Too Big", "1000.00", 2).await;
    let canceled = launched(&app, &creator, "Called Off", "100.00", 30).await;
    let suspended = launched(&app, &creator, "Looks Fishy", "100.00", 30).await;
    for id in [failing, canceled, suspended] {
        app.pledged(&backer, id, &pledge_body(None, "10.00")).await;
    }

    let response = app
        .post_json(
            &format!("/api/v1/campaigns/{canceled}/cancel"),
            &json!({}),
            Some(&creator.access_token),
        )
        .await;
    assert_eq!(response.status(), 200);
    let mail = &inbox
        .wait_for(&backer.email, "Called Off has been canceled", 1)
        .await[0];
    assert!(
        mail.text
            .contains("The creator of Called Off has canceled the campaign")
    );
    assert!(
        mail.text.contains("Your pledge of 10.00 USD is released"),
        "{}",
        mail.text
    );

    let response = app
        .post_json(
            &format!("/api/v1/admin/campaigns/{suspended}/suspend"),
            &json!({"reason": "reported"}),
            Some(&admin.access_token),
        )
        .await;
    assert_eq!(response.status(), 200);
    let mail = &inbox
        .wait_for(&backer.email, "Looks Fishy has been suspended", 1)
        .await[0];
    assert!(mail.text.contains("suspended by the platform"), "{}", mail.text);

    app.clock.advance(Duration::days(3));
    assert_eq!(app.settle().await["campaigns"]["failed"], 1);
    let mail = &inbox
        .wait_for(&backer.email, "Too Big did not reach its goal", 1)
        .await[0];
    assert!(
        mail.text
            .contains("ended with 10.00 USD pledged of its 1000.00 USD goal"),
        "{}",
        mail.text
    );
    assert!(mail.text.contains("nobody is charged"));
    let mail = &inbox
        .wait_for(&creator.email, "Too Big did not reach its goal", 1)
        .await[0];
    assert!(mail.text.contains("from 1 backer."), "{}", mail.text);

    // The creator: three "is live", one failure. The backer: three confirmations, three endings.
    // Each also got the verification email of registering.
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    assert_eq!(inbox.find(&creator.email, "").len(), 5);
    assert_eq!(inbox.find(&backer.email, "").len(), 7);
}

#[tokio::test]
async fn a_change_that_is_refused_queues_nothing() {
    let app = spawn_app_with(&[("MAIL_WORKER", "off")]).await;
    let creator = app.create_user().await;
    let id = app.live_campaign(&creator, "Lamp").await;
    let backer = app.create_user().await;
    let other = app.create_user().await;
    app.pledged(&backer, id, &pledge_body(None, "10.00")).await;
    let queued = app.count("SELECT COUNT(*) AS n FROM email_outbox");
    // A second pledge (409) and a pledge below the minimum (422) roll back whole.
    assert_eq!(
        app.pledge(&backer, id, &pledge_body(None, "10.00"))
            .await
            .status(),
        409
    );
    assert_eq!(
        app.pledge(&other, id, &pledge_body(None, "0.50")).await.status(),
        422
    );
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM email_outbox"), queued);
}

async fn outbox_row(app: &TestApp, template: &str) -> (String, i64, Option<String>) {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        status: String,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        attempts: i32,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        last_error: Option<String>,
    }
    let url = crowdfund::db::DatabaseUrl::parse(&app.database_url).unwrap();
    let db = crowdfund::db::Db::connect(&url, 1).unwrap();
    let row: Row = diesel::RunQueryDsl::get_result(
        diesel::sql_query(format!(
            "SELECT status, attempts, last_error FROM email_outbox WHERE template = '{template}'"
        )),
        &mut *db.get_blocking().unwrap(),
    )
    .unwrap();
    (row.status, i64::from(row.attempts), row.last_error)
}

async fn wait_until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..300 {
        if check().await {
            return;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    panic!("timed out waiting until {what}");
}

#[tokio::test]
async fn an_smtp_outage_delays_mail_and_loses_none() {
    let port = closed_port();
    let app = spawn_app_with(&[
        ("SMTP_URL", &smtp_url(port)),
        ("MAIL_POLL_INTERVAL_MS", "20"),
        ("MAIL_RETRY_BASE_MS", "60000"),
    ])
    .await;
    let creator = app.create_user().await;
    let id = app.live_campaign(&creator, "Lamp").await;
    let backers = [app.create_user().await, app.create_user().await];
    for backer in &backers {
        app.pledged(backer, id, &pledge_body(None, "10.00")).await;
    }
    // Six messages: the launch, two confirmations, and the three verification emails.
    // Attempts are counted when a row is claimed; the lease is cleared once the attempt failed.
    let failed_attempts = |n: i64| {
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM email_outbox \
             WHERE status = 'queued' AND attempts >= {n} AND lease_until IS NULL"
        ))
    };
    wait_until("every first attempt failed", async || failed_attempts(1) == 6).await;
    let (status, attempts, error) = outbox_row(&app, "campaign_launched").await;
    assert_eq!(
        (status.as_str(), attempts),
        ("queued", 1),
        "waits a minute before the retry"
    );
    assert!(error.is_some_and(|e| !e.is_empty()));
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(
        metrics.contains("crowdfund_email_outbox_messages{status=\"queued\"} 6"),
        "{metrics}"
    );
    assert!(
        metrics.contains("crowdfund_emails_total{outcome=\"retry\"}"),
        "{metrics}"
    );

    // Still down a minute later: a second attempt, then a two-minute wait.
    app.clock.advance(Duration::seconds(61));
    wait_until("every second attempt failed", async || failed_attempts(2) == 6).await;

    let inbox = serve_smtp(TcpListener::bind(("127.0.0.1", port)).unwrap());
    tokio::time::sleep(StdDuration::from_millis(200)).await;
    assert!(inbox.all().is_empty(), "nothing is retried before its time");
    app.clock.advance(Duration::seconds(121));
    inbox.wait_for(&creator.email, "is live", 1).await;
    for backer in &backers {
        inbox.wait_for(&backer.email, "is confirmed", 1).await;
    }
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    assert_eq!(inbox.all().len(), 6, "each message arrives exactly once");
    let (status, attempts, error) = outbox_row(&app, "campaign_launched").await;
    assert_eq!((status.as_str(), attempts, error), ("sent", 3, None));
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(
        metrics.contains("crowdfund_email_outbox_messages{status=\"sent\"} 6"),
        "{metrics}"
    );
    assert!(
        metrics.contains("crowdfund_emails_total{outcome=\"sent\"} 6"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_message_is_given_up_after_the_configured_attempts() {
    let port = closed_port();
    let app = spawn_app_with(&[
        ("SMTP_URL", &smtp_url(port)),
        ("MAIL_POLL_INTERVAL_MS", "20"),
        ("MAIL_RETRY_BASE_MS", "1000"),
        ("MAIL_MAX_ATTEMPTS", "3"),
    ])
    .await;
    let creator = app.create_user().await;
    // One message under test: not the verification email registering queued.
    app.sql("DELETE FROM email_outbox WHERE template = 'verify_email'")
        .unwrap();
    app.live_campaign(&creator, "Lamp").await;
    wait_until("the message failed for good", async || {
        app.clock.advance(Duration::seconds(5));
        outbox_row(&app, "campaign_launched").await.0 == "failed"
    })
    .await;
    let (_, attempts, error) = outbox_row(&app, "campaign_launched").await;
    assert_eq!(attempts, 3);
    assert!(error.is_some(), "the last error stays on the row");
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(
        metrics.contains("crowdfund_email_outbox_messages{status=\"failed\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("crowdfund_emails_total{outcome=\"failed\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn without_smtp_mail_is_written_as_eml_files() {
    let app = spawn_app_with(&[("MAIL_POLL_INTERVAL_MS", "20")]).await;
    let creator = app.create_user().await;
    app.live_campaign(&creator, "Desk Lamp").await;
    let dir = app.mail_dir.path().to_owned();
    let launched = |p: &std::path::PathBuf| {
        p.file_name()
            .is_some_and(|n| n.to_string_lossy().ends_with("-campaign_launched.eml"))
    };
    wait_until("an .eml file is written", async || {
        std::fs::read_dir(&dir)
            .unwrap()
            .any(|e| launched(&e.unwrap().path()))
    })
    .await;
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(launched)
        .unwrap();
    assert!(
        file.file_name()
            .unwrap()
            .to_string_lossy()
            .ends_with("-campaign_launched.eml"),
        "{file:?}"
    );
    let raw = std::fs::read(&file).unwrap();
    let message = mail_parser::MessageParser::default().parse(&raw).unwrap();
    assert_eq!(message.subject(), Some("Desk Lamp is live"));
    assert_eq!(
        message.to().unwrap().first().unwrap().address(),
        Some(creator.email.as_str())
    );
}

#[tokio::test]
async fn send_mail_delivers_what_is_due_once_from_cron() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let inbox = serve_smtp(listener);
    let app = spawn_app_with(&[("MAIL_WORKER", "off"), ("SMTP_URL", &smtp_url(port))]).await;
    let creator = app.create_user().await;
    app.live_campaign(&creator, "Lamp").await;
    let backer = app.create_user().await;
    let id = app.live_campaign(&creator, "Chair").await;
    app.pledged(&backer, id, &pledge_body(None, "10.00")).await;
    tokio::time::sleep(StdDuration::from_millis(200)).await;
    assert!(inbox.all().is_empty(), "no worker runs in this instance");

    let run = || {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_crowdfund"))
            .env_clear()
            .env("DATABASE_URL", &app.database_url)
            .env("SMTP_URL", smtp_url(port))
            .env("RUST_LOG", "error")
            .arg("send-mail")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice::<Value>(&output.stdout).unwrap()
    };
    // Two launches, a pledge's confirmation and the two verification emails of registering.
    assert_eq!(run(), json!({"sent": 5, "retrying": 0, "failed": 0}));
    assert_eq!(run(), json!({"sent": 0, "retrying": 0, "failed": 0}));
    assert_eq!(inbox.all().len(), 5);
    inbox
        .wait_for(&backer.email, "Your pledge to Chair is confirmed", 1)
        .await;
}

/// Waits (up to 15 s) until the outbox holds nothing queued.
pub async fn wait_until_quiet(app: &TestApp) {
    wait_until("the outbox is drained", async || {
        app.count("SELECT COUNT(*) AS n FROM email_outbox WHERE status = 'queued'") == 0
    })
    .await;
}
