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
