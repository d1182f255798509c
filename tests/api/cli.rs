//! The `crowdfund` binary's subcommands, run as an operator would.

use std::process::Command;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{PASSWORD, spawn_app};

fn crowdfund(database_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_crowdfund"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn");
    command
}

#[tokio::test]
async fn create_admin_creates_or_promotes_an_admin() {
    let app = spawn_app().await;

    let output = crowdfund(&app.database_url)
        .args(["create-admin", "--email", "Root@Example.com"])
        .env("CROWDFUND_ADMIN_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let session: Value = app
        .login("root@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(session["user"]["role"], "admin");

    let user = app.create_user().await;
    let output = crowdfund(&app.database_url)
        .args(["create-admin", "--email", &user.email])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let session: Value = app.login(&user.email, PASSWORD).await.json().await.unwrap();
    assert_eq!(session["user"]["role"], "admin", "promoted, password unchanged");
    let me: Value = app
        .get("/api/v1/me", session["access_token"].as_str())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "admin");
}

#[tokio::test]
async fn create_admin_refuses_a_weak_password() {
    let app = spawn_app().await;
    let output = crowdfund(&app.database_url)
        .args(["create-admin", "--email", "root@example.com"])
        .env("CROWDFUND_ADMIN_PASSWORD", "short")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert_eq!(
        app.login("root@example.com", "short").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[test]
fn openapi_subcommand_prints_the_committed_spec() {
    let output = Command::new(env!("CARGO_BIN_EXE_crowdfund"))
        .arg("openapi")
        .output()
        .unwrap();
    assert!(output.status.success());
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json")).unwrap();
    assert_eq!(String::from_utf8(output.stdout).unwrap(), committed);
}

#[test]
fn production_refuses_to_start_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_crowdfund"))
        .env_clear()
        .current_dir(dir.path())
        .env("APP_ENV", "production")
        .env("JWT_SECRET", "short")
        .arg("serve")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("JWT_SECRET: must be at least 32 bytes"),
        "{stderr}"
    );
    assert!(stderr.contains("CRON_SECRET: required"), "{stderr}");
    assert!(!dir.path().join("crowdfund.db").exists(), "nothing was created");
}

#[tokio::test]
async fn migrate_reports_an_up_to_date_database() {
    let app = spawn_app().await;
    let output = crowdfund(&app.database_url).arg("migrate").output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("up to date"));
}

#[tokio::test]
async fn serve_stops_gracefully_on_sigterm() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_crowdfund"))
        .env_clear()
        .current_dir(dir.path())
        .env("BIND_ADDR", "127.0.0.1:0")
        .env("LOG_FORMAT", "json")
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
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
    let ready = reqwest::get(format!("http://127.0.0.1:{port}/health/ready"))
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::OK);

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status {status:?}");
    assert!(
        lines.map_while(Result::ok).any(|l| l.contains("\"stopped\"")),
        "it logs its stop"
    );
}

/// Every `crowdfund …` command shown in the README and the operator recipes parses with the
/// current binary: its subcommand and flags exist (checked with `--help`, which runs nothing).
#[test]
fn documented_commands_exist() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md"), root.join("examples/spa/README.md")];
    for entry in std::fs::read_dir(root.join("docs/operations")).unwrap() {
        files.push(entry.unwrap().path());
    }
    let mut checked = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for line in text.lines() {
            // Commands as typed: at the start of a line, after `&&` or an environment
            // assignment, or as inline code.
            let Some(start) = line.match_indices("crowdfund ").map(|(i, _)| i).find(|&i| {
                let before = line[..i].trim_end();
                line[..i].ends_with('`')
                    || before.is_empty()
                    || before.ends_with("&&")
                    || (line[..i].ends_with(' ')
                        && before.split_whitespace().last().is_some_and(|w| w.contains('=')))
            }) else {
                continue;
            };
            let rest = &line[start + "crowdfund ".len()..];
            let rest = if line[..start].ends_with('`') {
                rest.split('`').next().unwrap_or_default()
            } else {
                rest
            };
            let words: Vec<&str> = rest
                .split_whitespace()
                .take_while(|w| {
                    !w.starts_with('#') && !w.starts_with('>') && !w.starts_with('|') && *w != "&&"
                })
                .collect();
            let Some(sub) = words.first() else { continue };
            if !sub.chars().all(|c| c.is_ascii_lowercase() || c == '-') {
                continue;
            }
            let flags: Vec<&str> = words.iter().copied().filter(|w| w.starts_with("--")).collect();
            let output = Command::new(env!("CARGO_BIN_EXE_crowdfund"))
                .arg(sub)
                .args(&flags)
                .arg("--help")
                .output()
                .unwrap();
            assert!(
                output.status.success(),
                "{}: `crowdfund {sub} {}` does not parse: {}",
                file.display(),
                flags.join(" "),
                String::from_utf8_lossy(&output.stderr)
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "found only {checked} documented commands");
}

/// `seed-demo`'s printed logins: (email, password) of the creator, then the backer.
fn printed_logins(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let role = words.next()?;
            if role != "creator" && role != "backer" {
                return None;
            }
            let email = words.next()?.to_owned();
            (words.next()? == "password").then(|| (email, words.next().unwrap_or_default().to_owned()))
        })
        .collect()
}

#[tokio::test]
async fn seed_demo_makes_two_live_campaigns_and_a_pledge_once_and_never_in_production() {
    let app = spawn_app().await;
    let refused = crowdfund(&app.database_url)
        .arg("seed-demo")
        .env("APP_ENV", "production")
        .env("JWT_SECRET", "a-production-secret-of-at-least-32-bytes")
        .env("CRON_SECRET", "a-cron-secret-16b")
        .env("SMTP_URL", "smtp://localhost:2525")
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("APP_ENV=production"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM campaigns"), 0);

    let output = crowdfund(&app.database_url).arg("seed-demo").output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let logins = printed_logins(&stdout);
    assert_eq!(logins.len(), 2, "{stdout}");

    let creator: Value = app.login(&logins[0].0, &logins[0].1).await.json().await.unwrap();
    let mine: Value = app
        .get("/api/v1/me/campaigns", creator["access_token"].as_str())
        .await
        .json()
        .await
        .unwrap();
    let items = mine["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{mine}");
    for item in items {
        assert_eq!(item["status"], "live");
        let page = app.campaign(item["id"].as_i64().unwrap()).await;
        assert_eq!(page["tiers"].as_array().unwrap().len(), 2);
        assert_eq!(page["addons"].as_array().unwrap().len(), 1);
    }

    let backer: Value = app.login(&logins[1].0, &logins[1].1).await.json().await.unwrap();
    let pledges: Value = app
        .get("/api/v1/me/pledges", backer["access_token"].as_str())
        .await
        .json()
        .await
        .unwrap();
    let pledge = &pledges["items"][0];
    assert_eq!(pledge["status"], "active");
    assert_eq!(pledge["addons"][0]["quantity"], 2);

    // A second run changes nothing.
    let again = crowdfund(&app.database_url).arg("seed-demo").output().unwrap();
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("seeded already"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM campaigns"), 2);
}
