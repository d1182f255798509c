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
                    assert!(
                        response["content"]["application/problem+json"].is_object(),
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
