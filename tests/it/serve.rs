//! `raqib serve` end to end: the real binary on an ephemeral loopback port, a real HTTP client.
//! This file: raqib's own API, health, metrics, keys; `serve/perspective.rs`: the Perspective and
//! Coral wire formats; `serve/robustness.rs`: limits, malformed input, logs, start-up errors;
//! `serve/lifecycle.rs`: hot reload and graceful shutdown.

use crate::harness::{fixture_model, get, post, Reply, Server};
use hmac::{Hmac, Mac};
use raqib::Model;
use serde_json::{json, Value};
use sha2::Sha256;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod lifecycle;
mod perspective;
mod robustness;

const VIOLENT: &str = "we will kill them all";
const WEATHER: &str = "the weather is nice, coffee and family";
const ARABIC_VIOLENT: &str = "اللهم انصر جنود الخلافة واقتلوهم";
const API_KEY: &str = "test-api-key-0123456789";
const ADMIN_KEY: &str = "test-admin-key-0123456789";
const CORAL_SECRET: &str = "ssc_5b1c7e0f2a9d4e8c6b3a1f0e9d8c7b6a";

fn fixture() -> Model {
    Model::load(fixture_model()).expect("fixture model loads")
}

fn model_arg() -> String {
    fixture_model().display().to_string()
}

fn write_file(dir: &Path, name: &str, content: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

fn hex_hmac(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// Wait until the server reports `n` API requests in flight (a stalled upload has reached it).
fn wait_in_flight(s: &Server, n: usize) {
    let want = format!("raqib_http_requests_in_flight {n}\n");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !get(&s.url("/metrics"), &[]).body.contains(&want) {
        assert!(std::time::Instant::now() < deadline, "never saw {n} request(s) in flight");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn check(s: &Server, text: &str) -> Reply {
    post(&s.url("/v1/check"), json!({ "text": text }).to_string(), &[])
}

/// The error object of a raqib-native error answer, after checking its shape.
fn native_error(r: &Reply, status: u16) -> String {
    assert_eq!(r.status, status, "{}", r.body);
    let v = r.json();
    assert_eq!(v["error"]["status"], status, "{}", r.body);
    assert!(v["error"]["message"].is_string());
    v["error"]["code"].as_str().expect("code").to_string()
}

/// Perspective's error shape: `{"error": {"code": <http status>, "message", "status": NAME}}`.
fn perspective_error(r: &Reply, status: u16, name: &str) -> String {
    assert_eq!(r.status, status, "{}", r.body);
    let v = r.json();
    assert_eq!(v["error"]["code"], status, "{}", r.body);
    assert_eq!(v["error"]["status"], name, "{}", r.body);
    v["error"]["message"].as_str().expect("message").to_string()
}

#[test]
fn check_scores_with_model_identity_and_echoes_ids() {
    let model = fixture();
    let s = Server::start(&["--model", &model_arg()]);
    let r = post(&s.url("/v1/check"), json!({ "text": VIOLENT, "id": 42 }).to_string(), &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    let expected = model.score(VIOLENT);
    assert_eq!(v["id"], 42);
    assert_eq!(v["action"], "hold");
    assert_eq!(v["flagged"], true);
    assert_eq!(v["model"]["hash"], model.hash());
    assert_eq!(v["model"]["name"], model.meta().name);
    for (head, l) in model.labels().iter().zip(&expected.labels) {
        let got = &v["labels"][&head.name];
        assert!((got["score"].as_f64().unwrap() - l.probability).abs() < 1e-12);
        assert_eq!(got["threshold"].as_f64().unwrap(), l.threshold);
        assert_eq!(got["flagged"], l.flagged);
    }
    let v = post(&s.url("/v1/check"), json!({ "text": WEATHER, "id": "c-1" }).to_string(), &[]).json();
    assert_eq!((v["id"].as_str(), v["action"].as_str(), &v["flagged"]), (Some("c-1"), Some("publish"), &json!(false)));
    let v = check(&s, "").json();
    assert_eq!(v["id"], Value::Null, "an empty comment scores as the prior");
}

#[test]
fn check_explain_gives_character_spans() {
    let s = Server::start(&["--model", &model_arg()]);
    let text = format!("🔪 {ARABIC_VIOLENT}");
    let r = post(&s.url("/v1/check?explain=true&top=3"), json!({ "text": text }).to_string(), &[]);
    let v = r.json();
    assert_eq!(v["action"], "hold");
    let ngrams = v["explain"]["ngrams"].as_array().expect("ngrams");
    assert!(!ngrams.is_empty() && ngrams.len() <= 3);
    assert!(fixture().label_names().any(|l| v["explain"]["label"] == l));
    let chars: Vec<char> = text.chars().collect();
    for g in ngrams {
        assert!(g["weight"].is_f64() && g["ngram"].is_string());
        for sp in g["spans"].as_array().unwrap() {
            let (b, e) = (sp["begin"].as_u64().unwrap() as usize, sp["end"].as_u64().unwrap() as usize);
            // Character offsets, not bytes: the Arabic words that weigh most sit at the end of a
            // text of 35 characters but 63 bytes, so byte offsets would overrun.
            assert!(b < e && e <= chars.len(), "span {b}..{e} outside {} characters", chars.len());
        }
    }
    assert!(v.get("explain").is_some());
    assert!(check(&s, VIOLENT).json().get("explain").is_none(), "no explain unless asked");
    for q in ["explain=maybe", "explain=true&top=0", "explain=true&top=51", "explain=true&top=x"] {
        let r = post(&s.url(&format!("/v1/check?{q}")), json!({ "text": "x" }).to_string(), &[]);
        assert_eq!(native_error(&r, 400), "bad_query", "{q}");
    }
}

#[test]
fn score_batch_keeps_order_and_enforces_its_limit() {
    let model = fixture();
    let s = Server::start(&["--model", &model_arg()]);
    // 1,000 comments (the default maximum), scored in parallel on the server, in order.
    let texts: Vec<String> =
        (0..1000).map(|i| if i % 3 == 0 { format!("{VIOLENT} {i}") } else { format!("{WEATHER} {i}") }).collect();
    let comments: Vec<Value> =
        texts.iter().enumerate().map(|(i, t)| json!({ "id": format!("c{i}"), "text": t })).collect();
    let r = post(&s.url("/v1/score"), json!({ "comments": comments }).to_string(), &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 1000);
    assert_eq!(v["model"]["hash"], model.hash());
    for (i, (res, t)) in results.iter().zip(&texts).enumerate() {
        assert_eq!(res["id"], format!("c{i}"));
        let want = model.score(t);
        assert_eq!(res["flagged"], want.flagged, "comment {i}");
        assert!((res["labels"]["violence"]["score"].as_f64().unwrap() - want.labels[0].probability).abs() < 1e-12);
    }
    // A small batch (scored inline) agrees with /v1/check.
    let v = post(
        &s.url("/v1/score"),
        json!({ "comments": [{ "text": WEATHER }, { "id": 7, "text": VIOLENT }] }).to_string(),
        &[],
    )
    .json();
    assert_eq!(v["results"][0]["action"], "publish");
    assert_eq!(v["results"][1]["id"], 7);
    assert_eq!(v["results"][1]["labels"], check(&s, VIOLENT).json()["labels"]);
    assert_eq!(post(&s.url("/v1/score"), r#"{"comments": []}"#, &[]).json()["results"], json!([]));
    let over: Vec<Value> = (0..1001).map(|_| json!({ "text": "x" })).collect();
    let r = post(&s.url("/v1/score"), json!({ "comments": over }).to_string(), &[]);
    assert_eq!(native_error(&r, 413), "batch_too_large");

    let s = Server::start(&["--model", &model_arg(), "--max-batch", "3", "--max-comment-chars", "30"]);
    let r = post(
        &s.url("/v1/score"),
        json!({ "comments": [{"text": "a"}, {"text": "b"}, {"text": "c"}, {"text": "d"}] }).to_string(),
        &[],
    );
    assert_eq!(native_error(&r, 413), "batch_too_large");
    let r =
        post(&s.url("/v1/score"), json!({ "comments": [{"text": "a"}, {"text": "b".repeat(31)}] }).to_string(), &[]);
    assert_eq!(native_error(&r, 413), "comment_too_long");
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("comments[1]"));
}

/// Exactly what Coral Talk sends to Perspective (`formatBody` for "comments:analyze" in
/// coralproject/talk services/perspective/perspective.ts): compact JSON, the key in `?key=`,
/// `doNotStore: true`, one requested attribute (the tenant's model, TOXICITY by default), and
/// `languages: ["en"]` even for an Arabic site (Coral maps unknown locales to "en").
fn coral_analyze_body(text: &str) -> String {
    json!({
        "comment": { "text": text },
        "doNotStore": true,
        "requestedAttributes": { "TOXICITY": {} },
        "languages": ["en"],
    })
    .to_string()
}

/// Coral's external moderation request: `JSON.stringify(data, null, 2)` of an
/// ExternalModerationRequest (services/comments/pipeline/phases/external.ts), signed
/// `X-Coral-Signature: sha256=<hex>` (models/settings/signingSecret/helpers.ts).
fn coral_phase_body(comment_body: &str) -> String {
    serde_json::to_string_pretty(&json!({
        "action": "NEW",
        "comment": { "body": comment_body, "parentID": null },
        "author": { "id": "user-1", "role": "COMMENTER" },
        "story": { "id": "story-1", "url": "https://news.example/2026/story" },
        "site": { "id": "site-1" },
        "tenantID": "tenant-1",
        "tenantDomain": "news.example",
    }))
    .unwrap()
}

#[test]
fn health_readiness_and_metrics() {
    let model = fixture();
    let s = Server::start(&["--model", &model_arg()]);
    assert_eq!(get(&s.url("/healthz"), &[]).json()["status"], "ok");
    let ready = get(&s.url("/readyz"), &[]);
    assert_eq!(ready.status, 200);
    assert_eq!(ready.json()["model"]["hash"], model.hash());
    assert_eq!(ready.json()["model"]["labels"][0]["name"], "violence");
    check(&s, VIOLENT);
    check(&s, VIOLENT);
    check(&s, WEATHER);
    post(&s.url("/v1/check"), "{", &[]);
    post(&s.url("/v1alpha1/comments:analyze"), coral_analyze_body(ARABIC_VIOLENT), &[]);
    let m = get(&s.url("/metrics"), &[]);
    assert_eq!(m.status, 200);
    assert!(m.header("content-type").unwrap().starts_with("text/plain; version=0.0.4"));
    let text = m.body;
    let has = |line: &str| text.lines().any(|l| l == line);
    assert!(has("raqib_http_requests_total{route=\"/v1/check\",code=\"200\"} 3"), "{text}");
    assert!(has("raqib_http_requests_total{route=\"/v1/check\",code=\"400\"} 1"), "{text}");
    assert!(has("raqib_http_requests_total{route=\"/v1alpha1/comments:analyze\",code=\"200\"} 1"), "{text}");
    assert!(has("raqib_http_request_duration_seconds_count{route=\"/v1/check\"} 4"), "{text}");
    assert!(has("raqib_http_request_duration_seconds_bucket{route=\"/v1/check\",le=\"+Inf\"} 4"), "{text}");
    assert!(has("raqib_flags_total{label=\"violence\"} 3"), "{text}");
    assert!(has("raqib_flags_total{label=\"extremism\"} 1"), "{text}");
    assert!(has("raqib_comments_scored_total{action=\"hold\"} 3"), "{text}");
    assert!(has("raqib_comments_scored_total{action=\"publish\"} 1"), "{text}");
    let info = format!(
        "raqib_model_info{{name=\"{}\",hash=\"{}\",labels=\"violence,extremism\",source=\"{}\"}} 1",
        model.meta().name,
        model.hash(),
        model_arg()
    );
    assert!(has(&info), "{text}");
}

#[test]
fn api_keys_guard_scoring_routes_only() {
    let dir = tempfile::tempdir().unwrap();
    let keys = write_file(dir.path(), "keys", &format!("{API_KEY}\n"));
    let s = Server::start(&["--model", &model_arg(), "--api-key-file", keys.to_str().unwrap()]);
    let body = json!({ "text": VIOLENT }).to_string();
    let url = s.url("/v1/check");
    let r = post(&url, &body, &[]);
    assert_eq!(native_error(&r, 401), "missing_api_key");
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    assert_eq!(
        native_error(&post(&url, &body, &[("Authorization", "Bearer wrong-key-0123456789")]), 401),
        "invalid_api_key"
    );
    assert_eq!(
        native_error(&post(&url, &body, &[("X-Api-Key", &API_KEY[..API_KEY.len() - 1])]), 401),
        "invalid_api_key"
    );
    assert_eq!(post(&url, &body, &[("Authorization", &format!("Bearer {API_KEY}"))]).status, 200);
    assert_eq!(post(&url, &body, &[("X-Api-Key", API_KEY)]).status, 200);
    // `?key=` is Perspective's convention only: a key in a URL ends up in proxy logs.
    assert_eq!(post(&s.url(&format!("/v1/check?key={API_KEY}")), &body, &[]).status, 401);
    let batch = json!({ "comments": [{ "text": "x" }] }).to_string();
    assert_eq!(post(&s.url("/v1/score"), &batch, &[]).status, 401);
    for open in ["/healthz", "/readyz", "/metrics"] {
        assert_eq!(get(&s.url(open), &[]).status, 200, "{open}");
    }
    // Keys are never logged.
    assert!(s.logs().iter().all(|l| !l.contains(API_KEY)));
}
