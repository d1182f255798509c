//! Crashes: the real binary killed with SIGKILL in the middle of a settlement pass and of a burst
//! of pledges, then restarted. Nothing may be lost or done twice: `crowdfund audit` passes, every
//! pledge is charged at most once, and retried requests find the pledges the crash left.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration as StdDuration;

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{CRON_SECRET, JWT_SECRET, PASSWORD, TestDb, campaign_body};

/// `crowdfund serve` as its own process, on a port of its choosing.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(database_url: &str, mail_dir: &std::path::Path, extra: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_crowdfund"));
        command
            .env_clear()
            .env("DATABASE_URL", database_url)
            .env("BIND_ADDR", "127.0.0.1:0")
            .env("JWT_SECRET", JWT_SECRET)
            .env("CRON_SECRET", CRON_SECRET)
            .env("AUTH_RATE_LIMIT_PER_MINUTE", "1000000")
            .env("MAIL_DIR", mail_dir)
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .arg("serve")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (k, v) in extra {
            command.env(k, v);
        }
        let mut child = command.spawn().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let port = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|line| {
                let log: Value = serde_json::from_str(&line).ok()?;
                (log["message"] == "crowdfund listening")
                    .then(|| log["port"].as_u64())
                    .flatten()
            })
            .expect("the server announces its port");
        // Keep draining its output so that logging never blocks it.
        std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
        Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    fn kill9(mut self) {
        let status = Command::new("kill")
            .args(["-KILL", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Fixture {
    db_url: String,
    mail: tempfile::TempDir,
    client: reqwest::Client,
    _db: TestDb,
}

impl Fixture {
    fn new() -> Self {
        let (db, db_url) = TestDb::create();
        Self {
            db_url,
            mail: tempfile::tempdir().unwrap(),
            client: reqwest::Client::new(),
            _db: db,
        }
    }

    fn server(&self, extra: &[(&str, &str)]) -> Server {
        Server::start(&self.db_url, self.mail.path(), extra)
    }

    fn connection(&self) -> diesel::r2d2::PooledConnection<crowdfund::db::ConnectionManager> {
        let url = crowdfund::db::DatabaseUrl::parse(&self.db_url).unwrap();
        crowdfund::db::Db::connect(&url, 1)
            .unwrap()
            .get_blocking()
            .unwrap()
    }

    fn sql(&self, query: &str) {
        diesel::RunQueryDsl::execute(diesel::sql_query(query), &mut *self.connection()).unwrap();
    }

    fn count(&self, query: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        diesel::RunQueryDsl::get_result::<Count>(diesel::sql_query(query), &mut *self.connection())
            .unwrap()
            .n
    }

    async fn post(&self, server: &Server, path: &str, body: &Value, token: &str) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", server.base))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Registers `n` users at once; returns their access tokens.
    async fn users(&self, server: &Server, n: usize) -> Vec<String> {
        let register = |i: usize| {
            self.client
                .post(format!("{}/api/v1/auth/register", server.base))
                .json(&json!({
                    "email": format!("u{i}-{}@example.com", uuid::Uuid::new_v4().simple()),
                    "password": PASSWORD,
                    "display_name": format!("User {i}"),
                }))
                .send()
        };
        let mut tokens = Vec::new();
        for chunk in (0..n).collect::<Vec<_>>().chunks(16) {
            for response in join_all(chunk.iter().map(|&i| register(i))).await {
                let session: Value = response.unwrap().json().await.unwrap();
                tokens.push(session["access_token"].as_str().unwrap().to_owned());
            }
        }
        // As if each had opened the link in its verification email: creators must have.
        self.sql("UPDATE users SET email_verified_at = created_at");
        tokens
    }

    async fn campaign(
        &self,
        server: &Server,
        creator: &str,
        tier_quantity: Option<i64>,
    ) -> (i64, Option<i64>) {
        let mut body = campaign_body("Crash test");
        body["goal"] = json!("10.00");
        let campaign: Value = self
            .post(server, "/api/v1/campaigns", &body, creator)
            .await
            .json()
            .await
            .unwrap();
        let id = campaign["id"].as_i64().unwrap();
        let tier = match tier_quantity {
            Some(quantity) => {
                let tier: Value = self
                    .post(
                        server,
                        &format!("/api/v1/campaigns/{id}/tiers"),
                        &crate::helpers::tier_body("Unit", "5.00", Some(quantity)),
                        creator,
                    )
                    .await
                    .json()
                    .await
                    .unwrap();
                tier["id"].as_i64()
            }
            None => None,
        };
        let launched = self
            .post(
                server,
                &format!("/api/v1/campaigns/{id}/launch"),
                &json!({}),
                creator,
            )
            .await;
        assert_eq!(launched.status(), StatusCode::OK);
        (id, tier)
    }

    async fn settle(&self, server: &Server) -> reqwest::Result<Value> {
        self.client
            .post(format!("{}/api/v1/settlement/run", server.base))
            .bearer_auth(CRON_SECRET)
            .send()
            .await?
            .json()
            .await
    }

    fn audit(&self) {
        let output = Command::new(env!("CARGO_BIN_EXE_crowdfund"))
            .env_clear()
            .env("DATABASE_URL", &self.db_url)
            .env("RUST_LOG", "error")
            .arg("audit")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "crowdfund audit: {}",
            String::from_utf8_lossy(&output.stdout)
        );
    }
}

/// A past instant in the format both backends compare correctly with stored timestamps.
fn minutes_ago(minutes: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::minutes(minutes))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

#[tokio::test]
async fn settlement_killed_mid_pass_charges_each_pledge_once() {
    let fixture = Fixture::new();
    // Small batches: a pass is many short transactions, so the kills land between and inside them.
    let settings = [("MAIL_WORKER", "off"), ("SETTLEMENT_BATCH_SIZE", "4")];
    let server = fixture.server(&settings);
    let creator = fixture.users(&server, 1).await.remove(0);
    let (campaign, _) = fixture.campaign(&server, &creator, None).await;
    let backers = fixture.users(&server, 48).await;
    let path = format!("/api/v1/campaigns/{campaign}/pledges");
    let bodies: Vec<Value> = (0..backers.len())
        .map(|i| {
            // Every sixth card declines at the deadline.
            let method = if i % 6 == 5 {
                "pm_card_chargeDeclined"
            } else {
                "pm_card_visa"
            };
            json!({"amount": "5.00", "payment_method": method})
        })
        .collect();
    let pledges = backers
        .iter()
        .zip(&bodies)
        .map(|(token, body)| fixture.post(&server, &path, body, token));
    for response in join_all(pledges).await {
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    // The deadline passes (the server runs on the system clock).
    fixture.sql(&format!(
        "UPDATE campaigns SET deadline = '{}' WHERE id = {campaign}",
        minutes_ago(1)
    ));

    // Three passes, each killed at a different moment.
    let mut server = server;
    let mut collected_at_kill = Vec::new();
    let collected = || fixture.count("SELECT COUNT(*) AS n FROM pledges WHERE status = 'collected'");
    for cycle in 0..3 {
        let pass = tokio::spawn({
            let fixture_client = fixture.client.clone();
            let url = format!("{}/api/v1/settlement/run", server.base);
            async move { fixture_client.post(url).bearer_auth(CRON_SECRET).send().await }
        });
        if cycle == 0 {
            // Early: while campaigns close and the first attempts are written.
            tokio::time::sleep(StdDuration::from_millis(15)).await;
        } else {
            // In the middle of charging: once a few more pledges are collected.
            let before = collected();
            for _ in 0..500 {
                if collected() >= before + 2 {
                    break;
                }
                tokio::time::sleep(StdDuration::from_millis(2)).await;
            }
        }
        server.kill9();
        let _ = pass.await;
        collected_at_kill.push(collected());
        // What five minutes would do: leases held by the dead process expire.
        fixture.sql("UPDATE pledges SET lease_until = NULL");
        server = fixture.server(&settings);
    }

    // Finish: passes until nothing is left to do.
    for _ in 0..50 {
        let summary = fixture.settle(&server).await.unwrap();
        if summary["more"] == false && summary["pledges"]["deferred"] == 0 {
            break;
        }
    }
    let visa = 40;
    let declined = 8;
    eprintln!("collected when each pass was killed: {collected_at_kill:?}");
    assert!(
        collected_at_kill.iter().all(|&n| n < visa),
        "every kill must interrupt the work ({collected_at_kill:?})"
    );
    assert_eq!(
        fixture.count("SELECT COUNT(*) AS n FROM pledges WHERE status = 'collected'"),
        visa
    );
    assert_eq!(
        fixture.count("SELECT COUNT(*) AS n FROM pledges WHERE status = 'errored'"),
        declined
    );
    // Once each: one successful attempt and one sandbox charge per collected pledge.
    assert_eq!(
        fixture.count("SELECT COUNT(*) AS n FROM charge_attempts WHERE status = 'succeeded'"),
        visa
    );
    assert_eq!(
        fixture.count("SELECT COUNT(*) AS n FROM sandbox_charges WHERE status = 'succeeded'"),
        visa,
        "the provider charged each card once, whatever the crashes"
    );
    assert_eq!(
        fixture.count("SELECT COUNT(*) AS n FROM charge_attempts WHERE status = 'pending'"),
        0
    );
    assert_eq!(
        fixture.count("SELECT COUNT(*) AS n FROM ledger_transactions WHERE kind = 'charge'"),
        visa
    );
    fixture.audit();
}

#[tokio::test]
async fn a_burst_of_pledges_killed_midway_is_completed_by_retries() {
    let fixture = Fixture::new();
    let settings = [("MAIL_WORKER", "off")];
    let server = fixture.server(&settings);
    let creator = fixture.users(&server, 1).await.remove(0);
    let (campaign, tier) = fixture.campaign(&server, &creator, Some(1000)).await;
    let tier = tier.unwrap();
    let backers = fixture.users(&server, 60).await;
    let path = format!("/api/v1/campaigns/{campaign}/pledges");
    let body = json!({"amount": "7.00", "tier_id": tier, "payment_method": "pm_card_visa"});
    let send = |server_base: String, token: String, key: String| {
        let client = fixture.client.clone();
        let url = format!("{server_base}{path}");
        let body = body.clone();
        async move {
            client
                .post(url)
                .bearer_auth(token)
                .header("Idempotency-Key", key)
                .json(&body)
                .send()
                .await
        }
    };

    let burst = tokio::spawn(join_all(
        backers
            .iter()
            .enumerate()
            .map(|(i, token)| send(server.base.clone(), token.clone(), format!("burst-{i}")))
            .collect::<Vec<_>>(),
    ));
    // Kill once some pledges are in, while others are on their way.
    for _ in 0..1000 {
        if fixture.count("SELECT COUNT(*) AS n FROM pledges") >= 10 {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(2)).await;
    }
    server.kill9();
    let first: Vec<Option<i64>> = burst
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            r.ok()
                .filter(|r| r.status() == StatusCode::CREATED)
                .map(|r| r.headers().clone())
        })
        .map(|headers| {
            headers.and_then(|h| h.get("location")?.to_str().ok()?.rsplit('/').next()?.parse().ok())
        })
        .collect();

    let completed = first.iter().flatten().count();
    eprintln!("pledges answered before the kill: {completed} of 60");
    assert!(completed < 60, "the kill must interrupt the burst");
    // What a minute would do: keys reserved by requests the crash interrupted are abandoned.
    fixture
        .sql("UPDATE idempotency_keys SET created_at = '2000-01-01 00:00:00' WHERE response_status IS NULL");
    let server = fixture.server(&settings);
    let retried = join_all(
        backers
            .iter()
            .enumerate()
            .map(|(i, token)| send(server.base.clone(), token.clone(), format!("burst-{i}")))
            .collect::<Vec<_>>(),
    )
    .await;
    for (i, response) in retried.into_iter().enumerate() {
        let response = response.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "backer {i}");
        let pledge: Value = response.json().await.unwrap();
        if let Some(id) = first[i] {
            assert_eq!(
                pledge["id"], id,
                "backer {i}: the retry returns the pledge made before the crash"
            );
        }
    }

    // Exactly one pledge per backer, and every running total agrees with the pledges.
    let active = "FROM pledges WHERE status = 'active'";
    assert_eq!(fixture.count(&format!("SELECT COUNT(*) AS n {active}")), 60);
    assert_eq!(
        fixture.count(&format!("SELECT COUNT(DISTINCT backer_id) AS n {active}")),
        60
    );
    assert_eq!(
        fixture.count(&format!(
            "SELECT CAST(pledged_minor AS BIGINT) AS n FROM campaigns WHERE id = {campaign}"
        )),
        60 * 700
    );
    assert_eq!(
        fixture.count(&format!(
            "SELECT CAST(backer_count AS BIGINT) AS n FROM campaigns WHERE id = {campaign}"
        )),
        60
    );
    assert_eq!(
        fixture.count(&format!(
            "SELECT CAST(claimed AS BIGINT) AS n FROM reward_tiers WHERE id = {tier}"
        )),
        60
    );
    assert_eq!(
        fixture.count("SELECT COUNT(*) AS n FROM pledge_events WHERE reason = 'pledged'"),
        60
    );
    assert_eq!(
        fixture.count("SELECT COUNT(*) AS n FROM email_outbox WHERE template = 'pledge_confirmed'"),
        60,
        "one confirmation per pledge, none for requests that rolled back"
    );
    fixture.audit();
}

#[tokio::test]
async fn a_webhook_delivery_killed_midway_is_sent_again_after_the_restart() {
    let fixture = Fixture::new();
    let receiver = crate::webhooks::Receiver::start().await;
    let settings = [
        ("WEBHOOK_ALLOW_PRIVATE", "on"),
        ("WEBHOOK_SECRETS_KEY", crate::helpers::WEBHOOK_SECRETS_KEY),
        ("WEBHOOK_POLL_INTERVAL_MS", "50"),
        // The lease is the timeout and 5 s: the restarted server takes the delivery over then.
        ("WEBHOOK_TIMEOUT_SECONDS", "2"),
    ];
    let server = fixture.server(&settings);
    let token = fixture.users(&server, 1).await.remove(0);
    let endpoint: Value = fixture
        .post(
            &server,
            "/api/v1/me/webhooks",
            &json!({"url": receiver.url, "events": ["*"]}),
            &token,
        )
        .await
        .json()
        .await
        .unwrap();
    let secret = endpoint["secret"].as_str().unwrap().to_owned();
    receiver.hang(true);
    let ping = format!("/api/v1/me/webhooks/{}/ping", endpoint["id"]);
    assert_eq!(
        fixture.post(&server, &ping, &json!({}), &token).await.status(),
        StatusCode::ACCEPTED
    );
    receiver.wait_for(1).await;
    // The receiver holds the request: the server dies before it hears back.
    server.kill9();
    receiver.hang(false);
    assert_eq!(
        fixture
            .count("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE status = 'pending' AND attempts = 1"),
        1
    );

    let _server = fixture.server(&settings);
    let got = receiver.wait_for(2).await;
    assert_eq!(
        got[0].id, got[1].id,
        "the same webhook-id: the receiver can tell it is a repeat"
    );
    assert_eq!(crate::webhooks::valid_signatures(&secret, &got[1]), 1);
    for _ in 0..250 {
        if fixture
            .count("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE status = 'succeeded' AND attempts = 2")
            == 1
        {
            return;
        }
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    panic!("the delivery was not recorded as delivered after the restart");
}
