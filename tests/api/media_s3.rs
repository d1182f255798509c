//! `MEDIA_STORE=s3://…` against a real S3-compatible server on loopback: moto in server mode,
//! started per test. Like the Stripe tests, these are `#[ignore]`d so that a plain `cargo test`
//! lists them as ignored with the reason; `bash .ci/run` installs moto in `.venv/` and runs
//! them, and they fail if moto cannot be found (elsewhere set `MOTO_SERVER_BIN`).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration as StdDuration;

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, png, spawn_app_with};
use crate::media::{jpeg_with_gps, png_declaring};

const BUCKET: &str = "crowdfund-media";
const PREFIX: &str = "campaigns";

/// A moto server process, killed when dropped.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto_bin() -> Option<PathBuf> {
    if let Ok(bin) = std::env::var("MOTO_SERVER_BIN") {
        return Some(bin.into());
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/moto_server");
    venv.exists().then_some(venv)
}

/// moto on a free port, with the bucket made and readable by anyone (as a bucket that clients
/// load from, or a CDN's origin, is).
async fn moto() -> Moto {
    let bin = moto_bin()
        .expect("moto is not installed (.venv/bin/moto_server or MOTO_SERVER_BIN; bash .ci/run installs it)");
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto");
    let endpoint = format!("http://127.0.0.1:{port}");
    let server = Moto { child, endpoint };
    let client = reqwest::Client::new();
    for _ in 0..400 {
        if let Ok(made) = client.put(format!("{}/{BUCKET}", server.endpoint)).send().await {
            assert!(
                made.status().is_success(),
                "moto refused the bucket: {}",
                made.status()
            );
            let policy = json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": format!("arn:aws:s3:::{BUCKET}/*"),
                }],
            });
            let public = client
                .put(format!("{}/{BUCKET}?policy", server.endpoint))
                .header("content-type", "application/json")
                .body(policy.to_string())
                .send()
                .await
                .unwrap();
            assert!(
                public.status().is_success(),
                "moto refused the policy: {}",
                public.status()
            );
            return server;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    panic!("moto did not start on port {port}");
}

async fn s3_app(moto: &Moto) -> TestApp {
    spawn_app_with(&[
        ("MEDIA_STORE", &format!("s3://{BUCKET}/{PREFIX}")),
        ("S3_ENDPOINT", &moto.endpoint),
        ("S3_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
    ])
    .await
}

/// The keys stored under the prefix (ListObjectsV2).
async fn stored_keys(moto: &Moto) -> Vec<String> {
    let listing = reqwest::get(format!("{}/{BUCKET}?list-type=2&prefix={PREFIX}/", moto.endpoint))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut keys: Vec<String> = listing
        .split("<Key>")
        .skip(1)
        .filter_map(|rest| rest.split_once("</Key>").map(|(key, _)| key.to_owned()))
        .collect();
    keys.sort();
    keys
}

#[tokio::test]
#[ignore = "needs moto (S3); bash .ci/run installs it"]
async fn variants_are_stored_in_the_bucket_and_loaded_from_it() {
    let moto = moto().await;
    let app = s3_app(&moto).await;
    let creator = app.create_user().await;
    let campaign = app.live_campaign(&creator, "Lamp").await;
    let (photo, marker) = jpeg_with_gps(1_800, 1_200);
    let response = app.upload(&creator, campaign, photo, "image/jpeg").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let image: Value = response.json().await.unwrap();

    let bucket_base = format!("{}/{BUCKET}/{PREFIX}/", moto.endpoint);
    let mut keys = Vec::new();
    for size in ["small", "medium", "large"] {
        let url = image["variants"][size].as_str().unwrap();
        assert!(url.starts_with(&bucket_base), "{url} is not in the bucket");
        let served = reqwest::get(url).await.unwrap();
        assert_eq!(served.status(), StatusCode::OK, "{url}");
        assert_eq!(served.headers()["content-type"], "image/jpeg");
        assert_eq!(
            served.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        let bytes = served.bytes().await.unwrap();
        assert!(!bytes.windows(4).any(|w| w == b"Exif"), "{size} keeps EXIF");
        assert!(
            !bytes.windows(marker.len()).any(|w| w == marker),
            "{size} keeps the GPS position"
        );
        keys.push(format!("{PREFIX}/{}", url.rsplit('/').next().unwrap()));
        // The server serves the same object at its own /media.
        let key = url.rsplit('/').next().unwrap();
        let proxied = app.get(&format!("/media/{key}"), None).await;
        assert_eq!(proxied.status(), StatusCode::OK);
        assert_eq!(proxied.bytes().await.unwrap(), bytes);
    }
    keys.sort();
    assert_eq!(stored_keys(&moto).await, keys);

    // Hostile files put nothing in the bucket.
    assert_problem(
        app.upload(&creator, campaign, png_declaring(100_000, 100_000), "image/png")
            .await,
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;
    assert_problem(
        app.upload(&creator, campaign, png(16, 16), "image/webp").await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
    )
    .await;
    assert_eq!(stored_keys(&moto).await, keys);
}

#[tokio::test]
#[ignore = "needs moto (S3); bash .ci/run installs it"]
async fn deleted_and_unused_images_leave_the_bucket() {
    let moto = moto().await;
    let app = s3_app(&moto).await;
    let creator = app.create_user().await;
    let campaign = app.live_campaign(&creator, "Lamp").await;
    let path = format!("/api/v1/campaigns/{campaign}");
    let token = Some(creator.access_token.as_str());
    let cover = app.uploaded(&creator, campaign).await;
    let deleted = app.uploaded(&creator, campaign).await;
    let unused = app.uploaded(&creator, campaign).await;
    app.patch_json(&path, &json!({"cover_image_id": cover["id"]}), token)
        .await;
    assert_eq!(stored_keys(&moto).await.len(), 3);

    let refused = app.delete(&format!("{path}/images/{}", cover["id"]), token).await;
    assert_problem(refused, StatusCode::CONFLICT).await;
    let url = deleted["variants"]["small"].as_str().unwrap().to_owned();
    assert_eq!(
        app.delete(&format!("{path}/images/{}", deleted["id"]), token)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(reqwest::get(&url).await.unwrap().status(), StatusCode::NOT_FOUND);
    assert_eq!(stored_keys(&moto).await.len(), 2);

    app.clock.advance(Duration::hours(25));
    let summary = app.settle().await;
    assert_eq!(summary["images"]["deleted"], 1, "{summary}");
    let unused_url = unused["variants"]["small"].as_str().unwrap();
    assert_eq!(
        reqwest::get(unused_url).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let left = stored_keys(&moto).await;
    let cover_key = cover["variants"]["small"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    assert_eq!(left, [format!("{PREFIX}/{cover_key}")]);
}
