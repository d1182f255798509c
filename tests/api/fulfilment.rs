use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, assert_problem, pledge_body, spawn_app, tier_body};
use crate::mail::app_with_smtp;
use crate::surveys::{Shop, answer, de_address, us_address};

#[tokio::test]
async fn creators_see_their_backers_as_json_pages_and_csv() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let admin = app.create_admin().await;
    let stranger = app.create_user().await;
    let id = app.live_campaign(&owner, "Lamp").await;
    let mut tier = tier_body("Lamp, boxed", "40.00", None);
    tier["shipping"] = json!({"*": "10.00"});
    let tier = app.create_tier(&owner, id, &tier).await["id"].as_i64().unwrap();

    let mut backers = Vec::new();
    for i in 0..3 {
        let backer = app.create_user().await;
        let mut body = pledge_body(Some(tier), &format!("{}.00", 50 + i));
        body["shipping_country"] = json!("DE");
        app.pledged(&backer, id, &body).await;
        backers.push(backer);
    }
    let path = format!("/api/v1/campaigns/{id}/pledges");

    let page: Value = app
        .get(&format!("{path}?limit=2"), Some(&owner.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(page["items"][0]["backer"]["email"], backers[0].email.as_str());
    assert_eq!(page["items"][0]["tier_title"], "Lamp, boxed");
    assert!(page["items"][0]["pledge"].get("payment_method").is_none());
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest: Value = app
        .get(
            &format!("{path}?limit=2&cursor={cursor}"),
            Some(&owner.access_token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rest["items"][0]["pledge"]["amount"], "52.00");
    assert_eq!(rest["next_cursor"], Value::Null);

    let csv = app
        .request(
            reqwest::Method::GET,
            &format!("{path}?status=all"),
            Some(&owner.access_token),
        )
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "pledge_id,backer_name,backer_email,tier,addons,amount,currency,shipping_country,status,\
         pledged_at,fulfilment_status,carrier,tracking_number,ref"
    );
    assert_eq!(lines.len(), 4);
    assert!(lines[1].ends_with(",unfulfilled,,,"), "{}", lines[1]);
    assert!(
        lines[1].contains(&format!(
            "Test User,{},\"Lamp, boxed\",,50.00,USD,DE,active,",
            backers[0].email
        )),
        "{}",
        lines[1]
    );

    let to_fulfil = app
        .request(reqwest::Method::GET, &path, Some(&owner.access_token))
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        to_fulfil.lines().count(),
        1,
        "by default the CSV lists collected pledges: none yet"
    );
    assert_problem(
        app.get(&format!("{path}?status=shipped"), Some(&owner.access_token))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;

    assert_eq!(
        app.get(&path, Some(&admin.access_token)).await.status(),
        StatusCode::OK
    );
    assert_problem(
        app.get(&path, Some(&stranger.access_token)).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_problem(
        app.get(&path, Some(&backers[0].access_token)).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_problem(app.get(&path, None).await, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn csv_export_streams_past_one_page() {
    let app = spawn_app().await;
    let owner = app.create_user().await;
    let backer = app.create_user().await;
    let id = app.live_campaign(&owner, "Big").await;
    app.pledged(&backer, id, &pledge_body(None, "10.00")).await;
    // 2 500 pledges, more than two pages of the export, written directly for speed.
    let mut values = Vec::new();
    for _ in 0..2_500 {
        values.push(format!(
            "({id}, {}, 1000, 'canceled', 'pm_card_visa', '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
            backer.id
        ));
    }
    app.sql(&format!(
        "INSERT INTO pledges (campaign_id, backer_id, amount_minor, status, payment_method, created_at, updated_at) VALUES {}",
        values.join(",")
    ))
    .unwrap();
    let text = app
        .request(
            reqwest::Method::GET,
            &format!("/api/v1/campaigns/{id}/pledges?status=all"),
            Some(&owner.access_token),
        )
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(rows.len(), 2_501);
    let ids: std::collections::BTreeSet<&str> = rows.iter().map(|r| r.split(',').next().unwrap()).collect();
    assert_eq!(ids.len(), 2_501, "no row twice");
}

async fn csv_of(app: &TestApp, user: &TestUser, campaign: i64, query: &str) -> Vec<Vec<String>> {
    let text = app
        .request(
            reqwest::Method::GET,
            &format!("/api/v1/campaigns/{campaign}/pledges{query}"),
            Some(&user.access_token),
        )
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let mut all: Vec<Vec<String>> = vec![reader.headers().unwrap().iter().map(str::to_owned).collect()];
    all.extend(
        reader
            .records()
            .map(|r| r.unwrap().iter().map(str::to_owned).collect()),
    );
    all
}

async fn fulfil(app: &TestApp, user: &TestUser, pledge: i64, body: Value) -> reqwest::Response {
    app.patch_json(
        &format!("/api/v1/pledges/{pledge}/fulfilment"),
        &body,
        Some(&user.access_token),
    )
    .await
}

#[tokio::test]
async fn rewards_are_shipped_with_tracking_and_the_backer_is_told() {
    let (app, inbox) = app_with_smtp().await;
    let shop = Shop::open(&app).await;
    let [a, b, c, d] = &shop.backers;
    let [pa, _, pc, pd] = shop.pledges;
    let shipped =
        json!({"status": "shipped", "carrier": "USPS", "tracking_number": "9400 1000 0000 0000 0000 00"});

    assert_problem(fulfil(&app, b, pa, shipped.clone()).await, StatusCode::NOT_FOUND).await;
    assert_problem(fulfil(&app, a, pa, shipped.clone()).await, StatusCode::FORBIDDEN).await;
    let problem = assert_problem(
        fulfil(&app, &shop.owner, pa, json!({"status": "unfulfilled"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(crate::helpers::invalid_fields(&problem), ["status"]);
    assert_problem(
        fulfil(&app, &shop.owner, pc, shipped.clone()).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_problem(
        fulfil(&app, &shop.owner, pd, shipped.clone()).await,
        StatusCode::CONFLICT,
    )
    .await;

    let pledge: Value = fulfil(&app, &shop.owner, pa, shipped.clone())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(pledge["fulfilment_status"], "shipped");
    assert_eq!(pledge["carrier"], "USPS");
    assert!(pledge["shipped_at"].is_string());
    let mail = inbox.wait_for(&a.email, "has shipped", 1).await;
    assert!(
        mail[0].text.contains("9400 1000 0000 0000 0000 00"),
        "{}",
        mail[0].text
    );

    // A corrected tracking number is kept, without a second email.
    let corrected: Value = fulfil(
        &app,
        &shop.owner,
        pa,
        json!({"status": "shipped", "tracking_number": "9400 2"}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        (
            corrected["carrier"].as_str(),
            corrected["tracking_number"].as_str()
        ),
        (Some("USPS"), Some("9400 2"))
    );
    assert_eq!(corrected["shipped_at"], pledge["shipped_at"]);
    let delivered: Value = fulfil(&app, &shop.owner, pa, json!({"status": "delivered"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(delivered["fulfilment_status"], "delivered");
    assert_problem(
        fulfil(&app, &shop.owner, pa, shipped.clone()).await,
        StatusCode::CONFLICT,
    )
    .await;

    // The backer sees it on the pledge and in their list.
    let own: Value = app
        .get(&format!("/api/v1/pledges/{pa}"), Some(&a.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (own["fulfilment_status"].as_str(), own["tracking_number"].as_str()),
        (Some("delivered"), Some("9400 2"))
    );
    let mine: Value = app
        .get("/api/v1/me/pledges", Some(&c.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["items"][0]["fulfilment_status"], "not_applicable");
    assert_eq!(inbox.find(&a.email, "has shipped").len(), 1);
    assert!(inbox.find(&d.email, "has shipped").is_empty());
}

#[tokio::test]
async fn the_export_carries_answers_and_imports_back() {
    let app = spawn_app().await;
    let shop = Shop::open(&app).await;
    shop.survey_sent(&app, 30).await;
    let [a, b, c, _] = &shop.backers;
    let [pa, pb, pc, pd] = shop.pledges;
    answer(
        &app,
        a,
        pa,
        json!({"address": us_address(), "note": "=HYPERLINK(\"x\")"}),
    )
    .await;
    answer(&app, b, pb, json!({"address": de_address(), "size": "M"})).await;
    answer(&app, c, pc, json!({"note": "Thanks, all"})).await;

    let sheet = csv_of(&app, &shop.owner, shop.id, "").await;
    let header: Vec<&str> = sheet[0].iter().map(String::as_str).collect();
    assert_eq!(
        header,
        [
            "pledge_id",
            "backer_name",
            "backer_email",
            "tier",
            "addons",
            "amount",
            "currency",
            "shipping_country",
            "status",
            "pledged_at",
            "fulfilment_status",
            "carrier",
            "tracking_number",
            "ref",
            "address.name",
            "address.line1",
            "address.line2",
            "address.city",
            "address.region",
            "address.postal_code",
            "address.country",
            "address.phone",
            "size",
            "note",
        ]
    );
    assert_eq!(sheet.len(), 4, "the three collected pledges, not d's: {sheet:?}");
    let row = |pledge: i64| sheet.iter().find(|r| r[0] == pledge.to_string()).unwrap().clone();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let ra = row(pa);
    assert_eq!(ra[column("address.region")], "CA");
    assert_eq!(ra[column("address.postal_code")], "94043");
    assert_eq!(ra[column("note")], "'=HYPERLINK(\"x\")", "defused");
    let rb = row(pb);
    assert_eq!(rb[column("address.line2")], "Hinterhaus");
    assert_eq!(rb[column("size")], "M");
    assert_eq!(rb[column("tier")], "T-shirt");
    let rc = row(pc);
    assert_eq!(rc[column("fulfilment_status")], "not_applicable");
    assert_eq!(rc[column("address.name")], "");
    assert_eq!(csv_of(&app, &shop.owner, shop.id, "?status=all").await.len(), 5);

    // The export, imported back unchanged, changes nothing.
    let export = app
        .request(
            reqwest::Method::GET,
            &format!("/api/v1/campaigns/{}/pledges", shop.id),
            Some(&shop.owner.access_token),
        )
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let import = |body: String, content_type: &'static str| {
        app.request(
            reqwest::Method::POST,
            &format!("/api/v1/campaigns/{}/fulfilment/import", shop.id),
            Some(&shop.owner.access_token),
        )
        .header("content-type", content_type)
        .body(body)
        .send()
    };
    let report: Value = import(export, "text/csv").await.unwrap().json().await.unwrap();
    assert_eq!(
        (
            report["applied"].as_i64(),
            report["unchanged"].as_i64(),
            report["refused"].as_i64()
        ),
        (Some(0), Some(3), Some(0)),
        "{report}"
    );

    let other = app.create_user().await;
    let elsewhere = app.live_campaign(&other, "Elsewhere").await;
    let stranger_pledge = app.pledged(a, elsewhere, &pledge_body(None, "5.00")).await["id"]
        .as_i64()
        .unwrap();
    let file = format!(
        "pledge_id,fulfilment_status,carrier,tracking_number\r\n\
         {pb},shipped,DHL,\"00340434, 1\"\r\n\
         {pa},delivered,,\r\n\
         {pc},shipped,DHL,1\r\n\
         {pd},shipped,DHL,2\r\n\
         {stranger_pledge},shipped,DHL,3\r\n\
         nope,shipped,,\r\n\
         {pb},lost,,\r\n"
    );
    let report: Value = import(file.clone(), "text/csv; charset=utf-8")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let outcomes: Vec<(i64, &str)> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["line"].as_i64().unwrap(), r["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        outcomes,
        [
            (2, "applied"),
            (3, "applied"),
            (4, "refused"),
            (5, "refused"),
            (6, "refused"),
            (7, "refused"),
            (8, "refused")
        ],
        "{report}"
    );
    assert!(
        report["rows"][2]["reason"]
            .as_str()
            .unwrap()
            .contains("ships nothing"),
        "{report}"
    );
    assert!(
        report["rows"][6]["reason"]
            .as_str()
            .unwrap()
            .contains("fulfilment_status"),
        "{report}"
    );
    let pledge_b: Value = app
        .get(&format!("/api/v1/pledges/{pb}"), Some(&b.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            pledge_b["fulfilment_status"].as_str(),
            pledge_b["tracking_number"].as_str()
        ),
        (Some("shipped"), Some("00340434, 1"))
    );
    let pledge_c: Value = app
        .get(&format!("/api/v1/pledges/{pc}"), Some(&c.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        pledge_c["fulfilment_status"], "not_applicable",
        "a refused row changed nothing"
    );
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) AS n FROM email_outbox WHERE template = 'reward_shipped' AND subject_id = 'pledge:{pb}'")),
        1
    );
    // Imported twice: the second time, nothing more is applied.
    let again: Value = import(file, "text/csv").await.unwrap().json().await.unwrap();
    assert_eq!(again["applied"], 0, "{again}");
    assert_eq!(again["unchanged"], 2, "{again}");

    let problem = assert_problem(
        import("a,b\r\n1,2\r\n".into(), "text/csv").await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(crate::helpers::invalid_fields(&problem), ["file"]);
    assert_problem(
        import("{}".into(), "application/json").await.unwrap(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
    )
    .await;
    let refused = app
        .request(
            reqwest::Method::POST,
            &format!("/api/v1/campaigns/{}/fulfilment/import", shop.id),
            Some(&b.access_token),
        )
        .header("content-type", "text/csv")
        .body("pledge_id,fulfilment_status\r\n")
        .send()
        .await
        .unwrap();
    assert_problem(refused, StatusCode::FORBIDDEN).await;

    let stats: Value = app
        .get(
            &format!("/api/v1/campaigns/{}/stats", shop.id),
            Some(&shop.owner.access_token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        stats["fulfilment"],
        json!({"unfulfilled": 0, "shipped": 1, "delivered": 1, "not_applicable": 1})
    );
}
