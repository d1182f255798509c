//! Campaign media on the file store: uploads (raw and multipart), the variants and how they are
//! served, hostile files, who may upload, use in covers, galleries, tiers and updates, deletion
//! and the settlement pass's cleanup. `media_s3.rs` runs the store's part against S3.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{
    TestApp, assert_problem, campaign_body, invalid_fields, jpeg, png, spawn_app, spawn_app_with, tier_body,
};

/// A JPEG whose EXIF carries a GPS position, and a marker string beside it.
pub fn jpeg_with_gps(width: u32, height: u32) -> (Vec<u8>, &'static [u8]) {
    const MARKER: &[u8] = b"GPS-48.8566N-2.3522E-home";
    let plain = jpeg(width, height);
    let mut tiff: Vec<u8> = vec![0x4D, 0x4D, 0x00, 0x2A, 0, 0, 0, 8];
    // IFD0: one entry, the GPS IFD's offset (26).
    tiff.extend([0, 1, 0x88, 0x25, 0, 4, 0, 0, 0, 1, 0, 0, 0, 26, 0, 0, 0, 0]);
    // GPS IFD: latitude reference "N" and latitude 48/1 51/1 2400/100 at offset 56.
    tiff.extend([0, 2]);
    tiff.extend([0, 1, 0, 2, 0, 0, 0, 2, b'N', 0, 0, 0]);
    tiff.extend([0, 2, 0, 5, 0, 0, 0, 3, 0, 0, 0, 56]);
    tiff.extend([0, 0, 0, 0]);
    for (num, den) in [(48u32, 1u32), (51, 1), (2400, 100)] {
        tiff.extend(num.to_be_bytes());
        tiff.extend(den.to_be_bytes());
    }
    tiff.extend(MARKER);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend(tiff);
    let length = (app1.len() + 2) as u16;
    let mut out = plain[..2].to_vec(); // SOI
    out.extend([0xFF, 0xE1]);
    out.extend(length.to_be_bytes());
    out.extend(app1);
    out.extend(&plain[2..]);
    (out, MARKER)
}

/// A PNG whose header declares `width` × `height` pixels, with almost no data behind it.
pub fn png_declaring(width: u32, height: u32) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend((data.len() as u32).to_be_bytes());
        let mut crc_input = kind.to_vec();
        crc_input.extend(data);
        out.extend(&crc_input);
        out.extend(crc32(&crc_input).to_be_bytes());
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend(width.to_be_bytes());
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]); // 8-bit RGB
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn fetch(app: &TestApp, url: &str) -> reqwest::Response {
    app.client.get(url).send().await.expect("fetch variant")
}

#[tokio::test]
async fn an_upload_becomes_three_stripped_variants_served_immutably() {
    let app = spawn_app().await;
    let creator = app.create_user().await;
    let campaign = app.create_campaign(&creator, &campaign_body("Lamp")).await["id"]
        .as_i64()
        .unwrap();
    let (photo, marker) = jpeg_with_gps(2_000, 1_200);
    assert!(contains(&photo, b"Exif") && contains(&photo, marker));

    let response = app
        .request(
            reqwest::Method::POST,
            &format!("/api/v1/campaigns/{campaign}/images?alt=The%20lamp%20at%20night"),
            Some(&creator.access_token),
        )
        .header("content-type", "image/jpeg")
        .body(photo)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let image: Value = response.json().await.unwrap();
    assert_eq!(
        location,
        format!("/api/v1/campaigns/{campaign}/images/{}", image["id"])
    );
    assert_eq!(image["alt"], "The lamp at night");
    assert_eq!(
        (image["width"].as_i64(), image["height"].as_i64()),
        (Some(2_000), Some(1_200))
    );

    let mut widths = Vec::new();
    for size in ["small", "medium", "large"] {
        let url = image["variants"][size].as_str().unwrap();
        assert!(url.starts_with(&format!("{}/media/", app.address)), "{url}");
        let served = fetch(&app, url).await;
        assert_eq!(served.status(), StatusCode::OK);
        let headers = served.headers().clone();
        assert_eq!(headers["content-type"], "image/jpeg");
        assert_eq!(headers["cache-control"], "public, max-age=31536000, immutable");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["content-disposition"], "inline");
        let bytes = served.bytes().await.unwrap();
        // Content-addressed: the key is the hash of what it serves.
        let hash = format!("{:x}", Sha256::digest(&bytes));
        assert!(url.ends_with(&format!("/{hash}.jpg")), "{url}");
        assert_eq!(headers["etag"], format!("\"{hash}\"").as_str());
        assert!(!contains(&bytes, b"Exif"), "{size} keeps EXIF");
        assert!(!contains(&bytes, marker), "{size} keeps the GPS position");
        let decoded = image::load_from_memory(&bytes).unwrap();
        widths.push((decoded.width(), decoded.height()));

        let again = app
            .client
            .get(url)
            .header("if-none-match", format!("\"{hash}\""))
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    }
    assert_eq!(widths, [(400, 240), (1_024, 614), (1_600, 960)]);
    assert_eq!(app.stored_files().len(), 3);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM media_pending"), 0);

    // A key that is not one, and one that names nothing.
    assert_eq!(
        fetch(&app, &format!("{}/media/../secret", app.address))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let absent = format!("{}/media/{}.jpg", app.address, "0".repeat(64));
    assert_eq!(fetch(&app, &absent).await.status(), StatusCode::NOT_FOUND);

    // The creator lists it; a narrow image is never upscaled.
    let narrow: Value = app
        .upload(&creator, campaign, png(300, 200), "image/png")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(narrow["variants"]["small"], narrow["variants"]["large"]);
    let listed: Value = app
        .get(
            &format!("/api/v1/campaigns/{campaign}/images"),
            Some(&creator.access_token),
        )
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&Value> = listed.as_array().unwrap().iter().map(|i| &i["id"]).collect();
    assert_eq!(ids, [&image["id"], &narrow["id"]]);
}

#[tokio::test]
async fn multipart_uploads_take_a_file_part_and_alt_text() {
    let app = spawn_app().await;
    let creator = app.create_user().await;
    let campaign = app.live_campaign(&creator, "Lamp").await;
    let url = format!("{}/api/v1/campaigns/{campaign}/images", app.address);
    let send = |form: reqwest::multipart::Form| {
        app.client
            .post(&url)
            .bearer_auth(&creator.access_token)
            .multipart(form)
            .send()
    };
    let part = |bytes: Vec<u8>, mime: &str| {
        reqwest::multipart::Part::bytes(bytes)
            .file_name("photo.png")
            .mime_str(mime)
            .unwrap()
    };

    let form = reqwest::multipart::Form::new()
        .part("file", part(png(800, 600), "image/png"))
        .text("alt", "Backers at the launch party");
    let response = send(form).await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let image: Value = response.json().await.unwrap();
    assert_eq!(image["alt"], "Backers at the launch party");
    assert_eq!(image["width"], 800);

    // Sent without a type, the bytes decide.
    let form = reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(png(10, 10)));
    assert_eq!(send(form).await.unwrap().status(), StatusCode::CREATED);

    let form = reqwest::multipart::Form::new()
        .part("file", part(png(10, 10), "image/png"))
        .text("alt", "x".repeat(301));
    let problem = assert_problem(send(form).await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(invalid_fields(&problem), ["alt"]);

    let form = reqwest::multipart::Form::new().text("alt", "no file");
    let problem = assert_problem(send(form).await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(invalid_fields(&problem), ["file"]);

    let form = reqwest::multipart::Form::new()
        .part("file", part(png(10, 10), "image/png"))
        .part("other", part(png(10, 10), "image/png"));
    let problem = assert_problem(send(form).await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(invalid_fields(&problem), ["other"]);

    // A PNG part declared as a JPEG.
    let form = reqwest::multipart::Form::new().part("file", part(png(10, 10), "image/jpeg"));
    assert_problem(send(form).await.unwrap(), StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM campaign_images"), 2);
}

#[tokio::test]
async fn hostile_files_are_refused_and_leave_nothing_behind() {
    let app = spawn_app().await;
    let creator = app.create_user().await;
    let campaign = app.live_campaign(&creator, "Lamp").await;
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>"#
        .to_vec();
    let mut polyglot = png(32, 32);
    polyglot.extend_from_slice(b"<html><script>fetch('/api/v1/me')</script></html>");
    let cases: Vec<(&str, Vec<u8>, &str, StatusCode)> = vec![
        (
            "a 100 000 x 100 000 PNG",
            png_declaring(100_000, 100_000),
            "image/png",
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            "an 8 001 pixel wide PNG",
            png_declaring(8_001, 10),
            "image/png",
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            "a PNG sent as a JPEG",
            png(32, 32),
            "image/jpeg",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "text sent as a PNG",
            b"just some text, honest".to_vec(),
            "image/png",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "an SVG sent as a PNG",
            svg.clone(),
            "image/png",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "an SVG as itself",
            svg,
            "image/svg+xml",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "a PNG carrying HTML",
            polyglot,
            "image/png",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "a truncated PNG",
            png(64, 64)[..120].to_vec(),
            "image/png",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "11 MiB",
            vec![0xFF; 11 * 1024 * 1024],
            "image/jpeg",
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            "JSON",
            b"{}".to_vec(),
            "application/json",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
    ];
    for (what, bytes, content_type, status) in cases {
        let response = app.upload(&creator, campaign, bytes, content_type).await;
        assert_eq!(response.status(), status, "{what}");
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["status"], status.as_u16(), "{what}: {problem}");
    }
    assert!(app.stored_files().is_empty(), "{:?}", app.stored_files());
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM campaign_images"), 0);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM media_pending"), 0);
}

#[tokio::test]
async fn only_the_creator_and_admins_upload_within_the_limits() {
    let app = spawn_app_with(&[("MEDIA_UPLOADS_PER_HOUR", "3")]).await;
    let creator = app.create_user().await;
    let backer = app.create_user().await;
    let admin = app.create_admin().await;
    let live = app.live_campaign(&creator, "Lamp").await;
    let draft = app.create_campaign(&creator, &campaign_body("Draft")).await["id"]
        .as_i64()
        .unwrap();

    let anonymous = app
        .client
        .post(format!("{}/api/v1/campaigns/{live}/images", app.address))
        .header("content-type", "image/png")
        .body(png(8, 8))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_problem(
        app.upload(&backer, live, png(8, 8), "image/png").await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_problem(
        app.upload(&backer, draft, png(8, 8), "image/png").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(
        app.upload(&admin, live, png(8, 8), "image/png").await.status(),
        StatusCode::CREATED
    );

    // The limit is per user and per hour.
    for _ in 0..3 {
        assert_eq!(
            app.upload(&creator, draft, png(8, 8), "image/png").await.status(),
            StatusCode::CREATED
        );
    }
    let limited = app.upload(&creator, draft, png(8, 8), "image/png").await;
    assert!(limited.headers().contains_key("retry-after"));
    assert_problem(limited, StatusCode::TOO_MANY_REQUESTS).await;

    // A campaign holds 30 images.
    app.sql(&format!(
        "INSERT INTO campaign_images (campaign_id, alt, width, height, content_type, small_key, medium_key, \
         large_key, created_at) SELECT {live}, '', 1, 1, 'image/jpeg', 'k', 'k', 'k', created_at FROM campaigns \
         CROSS JOIN (SELECT 1 AS n UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 \
         UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9 UNION ALL SELECT 10 \
         UNION ALL SELECT 11 UNION ALL SELECT 12 UNION ALL SELECT 13 UNION ALL SELECT 14 UNION ALL SELECT 15 \
         UNION ALL SELECT 16 UNION ALL SELECT 17 UNION ALL SELECT 18 UNION ALL SELECT 19 UNION ALL SELECT 20 \
         UNION ALL SELECT 21 UNION ALL SELECT 22 UNION ALL SELECT 23 UNION ALL SELECT 24 UNION ALL SELECT 25 \
         UNION ALL SELECT 26 UNION ALL SELECT 27 UNION ALL SELECT 28 UNION ALL SELECT 29) AS n WHERE id = {live}"
    ))
    .unwrap();
    let full = app.upload(&admin, live, png(8, 8), "image/png").await;
    let problem = assert_problem(full, StatusCode::CONFLICT).await;
    assert!(
        problem["detail"].as_str().unwrap().contains("30 images"),
        "{problem}"
    );

    // Closed campaigns take no more.
    app.clock.advance(Duration::days(31));
    app.settle().await;
    let admin = app.relogin(&admin).await;
    assert_problem(
        app.upload(&admin, live, png(8, 8), "image/png").await,
        StatusCode::CONFLICT,
    )
    .await;
}

#[tokio::test]
async fn images_show_as_cover_gallery_tier_and_update_images() {
    let app = spawn_app().await;
    let creator = app.create_user().await;
    let other = app.create_user().await;
    let campaign = app.create_campaign(&creator, &campaign_body("Lamp")).await["id"]
        .as_i64()
        .unwrap();
    let foreign = app.create_campaign(&other, &campaign_body("Other")).await["id"]
        .as_i64()
        .unwrap();
    let [a, b, c] = [
        app.uploaded(&creator, campaign).await,
        app.uploaded(&creator, campaign).await,
        app.uploaded(&creator, campaign).await,
    ];
    let theirs = app.uploaded(&other, foreign).await;
    let path = format!("/api/v1/campaigns/{campaign}");
    let token = Some(creator.access_token.as_str());

    let refused = app
        .patch_json(&path, &json!({"cover_image_id": theirs["id"]}), token)
        .await;
    assert_eq!(
        invalid_fields(&assert_problem(refused, StatusCode::UNPROCESSABLE_ENTITY).await),
        ["cover_image_id"]
    );
    let view: Value = app
        .patch_json(&path, &json!({"cover_image_id": a["id"]}), token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(view["cover_image"], a);

    let gallery = format!("{path}/gallery");
    let put = |ids: Value| {
        app.request(reqwest::Method::PUT, &gallery, token)
            .json(&json!({"image_ids": ids}))
            .send()
    };
    let set: Value = put(json!([c["id"], b["id"]]))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(set, json!([c, b]));
    for bad in [json!([b["id"], b["id"]]), json!([theirs["id"]]), json!([123_456])] {
        let problem = assert_problem(put(bad).await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(invalid_fields(&problem), ["image_ids"]);
    }

    let mut tier = tier_body("Lamp", "40.00", Some(10));
    tier["image_id"] = b["id"].clone();
    let tier = app.create_tier(&creator, campaign, &tier).await;
    assert_eq!(tier["image"], b);
    let mut bad_tier = tier_body("Lamp", "40.00", Some(10));
    bad_tier["image_id"] = theirs["id"].clone();
    let refused = app.post_json(&format!("{path}/tiers"), &bad_tier, token).await;
    assert_eq!(
        invalid_fields(&assert_problem(refused, StatusCode::UNPROCESSABLE_ENTITY).await),
        ["image_id"]
    );

    // Launch, then the public sees it all.
    let launched = app.post_json(&format!("{path}/launch"), &json!({}), token).await;
    assert_eq!(launched.status(), StatusCode::OK);
    let public = app.campaign(campaign).await;
    assert_eq!(public["cover_image"], a);
    assert_eq!(public["gallery"], json!([c, b]));
    assert_eq!(public["tiers"][0]["image"], b);
    let listed: Value = app.get("/api/v1/campaigns", None).await.json().await.unwrap();
    let item = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == campaign)
        .unwrap();
    assert_eq!(item["cover_image"], a);
    assert!(item.get("gallery").is_none());
    let tiers: Value = app
        .get(&format!("{path}/tiers"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tiers[0]["image"], b);

    let update = app
        .post_json(
            &format!("{path}/updates"),
            &json!({"title": "Photos", "body": "From the workshop.", "image_ids": [c["id"], a["id"]]}),
            token,
        )
        .await;
    assert_eq!(update.status(), StatusCode::CREATED);
    let update: Value = update.json().await.unwrap();
    assert_eq!(update["images"], json!([c, a]));
    let updates: Value = app
        .get(&format!("{path}/updates"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(updates["items"][0]["images"], json!([c, a]));
    let refused = app
        .post_json(
            &format!("{path}/updates"),
            &json!({"title": "Photos", "body": "Theirs.", "image_ids": [theirs["id"]]}),
            token,
        )
        .await;
    assert_eq!(
        invalid_fields(&assert_problem(refused, StatusCode::UNPROCESSABLE_ENTITY).await),
        ["image_ids"]
    );

    // A live campaign keeps a cover.
    let refused = app
        .patch_json(&path, &json!({"cover_image_id": null}), token)
        .await;
    assert_eq!(
        invalid_fields(&assert_problem(refused, StatusCode::UNPROCESSABLE_ENTITY).await),
        ["cover_image_id"]
    );
}

#[tokio::test]
async fn deleted_and_unused_images_leave_the_store() {
    let app = spawn_app().await;
    let creator = app.create_user().await;
    let backer = app.create_user().await;
    let campaign = app.live_campaign(&creator, "Lamp").await;
    let path = format!("/api/v1/campaigns/{campaign}");
    let token = Some(creator.access_token.as_str());
    let cover = app.uploaded(&creator, campaign).await;
    let in_gallery = app.uploaded(&creator, campaign).await;
    let app_image = |image: &Value| format!("{path}/images/{}", image["id"]);
    app.patch_json(&path, &json!({"cover_image_id": cover["id"]}), token)
        .await;
    app.request(reqwest::Method::PUT, &format!("{path}/gallery"), token)
        .json(&json!({"image_ids": [in_gallery["id"]]}))
        .send()
        .await
        .unwrap();

    let refused = app.delete(&app_image(&cover), token).await;
    let problem = assert_problem(refused, StatusCode::CONFLICT).await;
    assert!(problem["detail"].as_str().unwrap().contains("cover"), "{problem}");
    assert_problem(
        app.delete(&app_image(&in_gallery), Some(&backer.access_token))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;

    // Deleting removes the variants, and the image from where it was shown.
    let url = in_gallery["variants"]["large"].as_str().unwrap().to_owned();
    assert_eq!(
        app.delete(&app_image(&in_gallery), token).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(fetch(&app, &url).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.campaign(campaign).await["gallery"], json!([]));
    assert_problem(
        app.delete(&app_image(&in_gallery), token).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // An image narrower than 400 pixels has one variant file for its three sizes.
    assert_eq!(app.stored_files().len(), 1, "only the cover's variants are left");

    // The same file twice shares its variants; deleting one copy keeps the other's.
    let twice = png(120, 90);
    let first: Value = app
        .upload(&creator, campaign, twice.clone(), "image/png")
        .await
        .json()
        .await
        .unwrap();
    let second: Value = app
        .upload(&creator, campaign, twice, "image/png")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["variants"], second["variants"]);
    assert_eq!(
        app.delete(&app_image(&first), token).await.status(),
        StatusCode::NO_CONTENT
    );
    let shared = second["variants"]["small"].as_str().unwrap();
    assert_eq!(fetch(&app, shared).await.status(), StatusCode::OK);

    // A day after its upload, an image nothing uses is deleted by the settlement pass.
    app.clock.advance(Duration::hours(23));
    let summary = app.settle().await;
    assert_eq!(summary["images"]["deleted"], 0);
    app.clock.advance(Duration::hours(2));
    let summary = app.settle().await;
    assert_eq!(summary["images"]["deleted"], 1, "{summary}");
    assert_eq!(summary["images"]["objects_deleted"], 1, "{summary}");
    assert_eq!(fetch(&app, shared).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        app.campaign(campaign).await["cover_image"],
        cover,
        "the cover stays"
    );
    assert_eq!(app.stored_files().len(), 1);

    // Keys an upload noted but never recorded (a crash between its puts and its row) are
    // collected once their grace has passed.
    app.sql(&format!(
        "INSERT INTO media_pending (object_key, since) VALUES ('{}.jpg', '2020-01-01 00:00:00')",
        "a".repeat(64)
    ))
    .unwrap();
    std::fs::write(
        app.media_dir.path().join(format!("{}.jpg", "a".repeat(64))),
        b"orphan",
    )
    .unwrap();
    let summary = app.settle().await;
    assert_eq!(summary["images"]["objects_deleted"], 1, "{summary}");
    assert_eq!(app.stored_files().len(), 1);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM media_pending"), 0);

    // Deleting a draft deletes its images.
    let creator = app.relogin(&creator).await;
    let token = Some(creator.access_token.as_str());
    let draft = app.create_campaign(&creator, &campaign_body("Draft")).await["id"]
        .as_i64()
        .unwrap();
    app.uploaded(&creator, draft).await;
    assert_eq!(app.stored_files().len(), 2);
    assert_eq!(
        app.delete(&format!("/api/v1/campaigns/{draft}"), token)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.stored_files().len(), 1);
}
