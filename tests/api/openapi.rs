use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::spawn_app;

fn committed_spec() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
        .expect("openapi/openapi.json is committed");
    serde_json::from_str(&text).expect("valid JSON")
}

#[tokio::test]
async fn served_spec_equals_the_committed_file() {
    let app = spawn_app().await;
    let response = app.get("/api-docs/openapi.json", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let served: Value = response.json().await.unwrap();
    assert!(
        served == committed_spec(),
        "openapi/openapi.json is stale: regenerate it with `cargo run -- openapi > openapi/openapi.json`"
    );
}

#[test]
fn spec_documents_security_and_errors() {
    let spec = committed_spec();
    assert_eq!(spec["openapi"].as_str().unwrap().get(..3), Some("3.1"));
    assert_eq!(
        spec["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let me = &spec["paths"]["/api/v1/me"]["get"];
    assert_eq!(me["security"][0]["bearer"], serde_json::json!([]));
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            assert!(responses.contains_key("500"), "{method} {path} lacks a 500");
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    // Pages for browsers (the share pages, outside /api) answer HTML.
                    let page = !path.starts_with("/api/") && response["content"]["text/html"].is_object();
                    assert!(
                        response["content"]["application/problem+json"].is_object() || page,
                        "{method} {path} {status} has no problem body"
                    );
                }
            }
        }
    }
}

fn refs<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                match (key.as_str(), item) {
                    ("$ref", Value::String(target)) => found.push(target),
                    _ => refs(item, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| refs(item, found)),
        _ => {}
    }
}

#[test]
fn every_reference_in_the_spec_resolves() {
    let spec = committed_spec();
    let mut found = Vec::new();
    refs(&spec, &mut found);
    assert!(found.len() > 20, "{found:?}");
    for target in found {
        let pointer = target.strip_prefix('#').expect("a local reference");
        assert!(spec.pointer(pointer).is_some(), "{target} does not resolve");
    }
}

#[test]
fn operation_ids_are_unique() {
    let spec = committed_spec();
    let mut seen = std::collections::HashSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} has no id"));
            assert!(seen.insert(id.to_owned()), "{id} is used twice ({method} {path})");
        }
    }
}

/// Every amount a client sends is documented with the syntax the server parses.
#[test]
fn request_amounts_state_their_syntax() {
    let spec = committed_spec();
    let mut amounts = 0;
    for (name, schema) in spec["components"]["schemas"].as_object().unwrap() {
        if !name.ends_with("Request") {
            continue;
        }
        for (field, property) in schema["properties"].as_object().into_iter().flatten() {
            if ["amount", "min_amount", "goal"].contains(&field.as_str()) {
                assert_eq!(
                    property["pattern"],
                    crowdfund::domain::money::AMOUNT_PATTERN,
                    "{name}.{field}"
                );
                amounts += 1;
            }
        }
    }
    assert_eq!(
        amounts, 6,
        "pledge, tier and campaign amounts, to create and to change"
    );
}

/// Operations with a body document the JSON extractor's refusals.
#[test]
fn bodies_document_malformed_oversized_and_foreign_media() {
    let spec = committed_spec();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if operation.get("requestBody").is_some() {
                for status in ["400", "413", "415"] {
                    assert!(
                        operation["responses"].get(status).is_some(),
                        "{method} {path} lacks {status}"
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn a_documented_path_under_another_method_is_405_with_allow() {
    let app = spawn_app().await;
    for (method, path, allow) in [
        (reqwest::Method::PUT, "/api/v1/campaigns", "GET, POST"),
        (reqwest::Method::POST, "/api/v1/campaigns/1", "GET, PATCH, DELETE"),
        (
            reqwest::Method::from_bytes(b"TRACE").unwrap(),
            "/health/live",
            "GET",
        ),
        (reqwest::Method::OPTIONS, "/api/v1/me", "GET, DELETE"),
        (reqwest::Method::GET, "/api/v1/settlement/run", "POST"),
    ] {
        let response = app.request(method.clone(), path, None).send().await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert_eq!(response.headers()["allow"], allow, "{method} {path}");
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["type"], "/problems/method-not-allowed");
    }
    let response = app.get("/api/v1/nothing-here", None).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
