//! `raqib serve` end to end: the real binary on an ephemeral loopback port, a real HTTP client.
//! Every endpoint, limit and error of issue 5, the exact requests Coral Talk sends, reload and
//! shutdown by signal.

use crate::harness::{fixture_model, get, post, RawConn, Reply, Server};
use hmac::{Hmac, Mac};
use raqib::Model;
use serde_json::{json, Value};
use sha2::Sha256;
use std::path::{Path, PathBuf};
use std::time::Duration;

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
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn check(s: &Server, text: &str) -> Reply {
    post(
        &s.url("/v1/check"),
        json!({ "text": text }).to_string(),
        &[],
    )
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
    let r = post(
        &s.url("/v1/check"),
        json!({ "text": VIOLENT, "id": 42 }).to_string(),
        &[],
    );
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
    let v = post(
        &s.url("/v1/check"),
        json!({ "text": WEATHER, "id": "c-1" }).to_string(),
        &[],
    )
    .json();
    assert_eq!(
        (v["id"].as_str(), v["action"].as_str(), &v["flagged"]),
        (Some("c-1"), Some("publish"), &json!(false))
    );
    let v = check(&s, "").json();
    assert_eq!(v["id"], Value::Null, "an empty comment scores as the prior");
}

#[test]
fn check_explain_gives_character_spans() {
    let s = Server::start(&["--model", &model_arg()]);
    let text = format!("🔪 {ARABIC_VIOLENT}");
    let r = post(
        &s.url("/v1/check?explain=true&top=3"),
        json!({ "text": text }).to_string(),
        &[],
    );
    let v = r.json();
    assert_eq!(v["action"], "hold");
    let ngrams = v["explain"]["ngrams"].as_array().expect("ngrams");
    assert!(!ngrams.is_empty() && ngrams.len() <= 3);
    assert!(fixture().label_names().any(|l| v["explain"]["label"] == l));
    let chars: Vec<char> = text.chars().collect();
    for g in ngrams {
        assert!(g["weight"].is_f64() && g["ngram"].is_string());
        for sp in g["spans"].as_array().unwrap() {
            let (b, e) = (
                sp["begin"].as_u64().unwrap() as usize,
                sp["end"].as_u64().unwrap() as usize,
            );
            assert!(
                b < e && e <= chars.len(),
                "span {b}..{e} outside {} characters",
                chars.len()
            );
            // Character offsets: the emoji counts once, so no span starts inside it.
            assert!(b >= 2, "spans are past the emoji and its space");
        }
    }
    assert!(v.get("explain").is_some());
    assert!(
        check(&s, VIOLENT).json().get("explain").is_none(),
        "no explain unless asked"
    );
    for q in [
        "explain=maybe",
        "explain=true&top=0",
        "explain=true&top=51",
        "explain=true&top=x",
    ] {
        let r = post(
            &s.url(&format!("/v1/check?{q}")),
            json!({ "text": "x" }).to_string(),
            &[],
        );
        assert_eq!(native_error(&r, 400), "bad_query", "{q}");
    }
}

#[test]
fn score_batch_keeps_order_and_enforces_its_limit() {
    let model = fixture();
    let s = Server::start(&["--model", &model_arg()]);
    // 1,000 comments (the default maximum), scored in parallel on the server, in order.
    let texts: Vec<String> = (0..1000)
        .map(|i| {
            if i % 3 == 0 {
                format!("{VIOLENT} {i}")
            } else {
                format!("{WEATHER} {i}")
            }
        })
        .collect();
    let comments: Vec<Value> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| json!({ "id": format!("c{i}"), "text": t }))
        .collect();
    let r = post(
        &s.url("/v1/score"),
        json!({ "comments": comments }).to_string(),
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 1000);
    assert_eq!(v["model"]["hash"], model.hash());
    for (i, (res, t)) in results.iter().zip(&texts).enumerate() {
        assert_eq!(res["id"], format!("c{i}"));
        let want = model.score(t);
        assert_eq!(res["flagged"], want.flagged, "comment {i}");
        assert!(
            (res["labels"]["violence"]["score"].as_f64().unwrap() - want.labels[0].probability)
                .abs()
                < 1e-12
        );
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
    assert_eq!(
        v["results"][1]["labels"],
        check(&s, VIOLENT).json()["labels"]
    );
    assert_eq!(
        post(&s.url("/v1/score"), r#"{"comments": []}"#, &[]).json()["results"],
        json!([])
    );
    let over: Vec<Value> = (0..1001).map(|_| json!({ "text": "x" })).collect();
    let r = post(
        &s.url("/v1/score"),
        json!({ "comments": over }).to_string(),
        &[],
    );
    assert_eq!(native_error(&r, 413), "batch_too_large");

    let s = Server::start(&[
        "--model",
        &model_arg(),
        "--max-batch",
        "3",
        "--max-comment-chars",
        "30",
    ]);
    let r = post(
        &s.url("/v1/score"),
        json!({ "comments": [{"text": "a"}, {"text": "b"}, {"text": "c"}, {"text": "d"}] })
            .to_string(),
        &[],
    );
    assert_eq!(native_error(&r, 413), "batch_too_large");
    let r = post(
        &s.url("/v1/score"),
        json!({ "comments": [{"text": "a"}, {"text": "b".repeat(31)}] }).to_string(),
        &[],
    );
    assert_eq!(native_error(&r, 413), "comment_too_long");
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("comments[1]"));
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

#[test]
fn perspective_answers_the_exact_coral_request() {
    let dir = tempfile::tempdir().unwrap();
    let keys = write_file(
        dir.path(),
        "keys",
        &format!("# rotation: two keys\n{API_KEY}\nanother-key-0123456789\n"),
    );
    let model = fixture();
    let s = Server::start(&[
        "--model",
        &model_arg(),
        "--api-key-file",
        keys.to_str().unwrap(),
    ]);
    let url = s.url(&format!("/v1alpha1/comments:analyze?key={API_KEY}"));
    let headers = [("User-Agent", "Coral Perspective/8.0.0")];
    for (text, coral_holds) in [(ARABIC_VIOLENT, true), (VIOLENT, true), (WEATHER, false)] {
        let r = post(&url, coral_analyze_body(text), &headers);
        assert_eq!(r.status, 200, "{}", r.body);
        let v = r.json();
        let score = &v["attributeScores"]["TOXICITY"]["summaryScore"];
        assert_eq!(score["type"], "PROBABILITY");
        // TOXICITY is the highest label probability.
        let want = model.score(text).max_probability();
        assert!((score["value"].as_f64().unwrap() - want).abs() < 1e-12);
        // Coral holds a comment when value > threshold, 0.8 by default.
        assert_eq!(
            score["value"].as_f64().unwrap() > 0.8,
            coral_holds,
            "{text}"
        );
        assert_eq!(
            v["languages"],
            json!(["en"]),
            "languages mirror the request"
        );
        let script = if text == ARABIC_VIOLENT { "ar" } else { "en" };
        assert_eq!(v["detectedLanguages"], json!([script]));
        assert!(v["attributeScores"]["TOXICITY"].get("spanScores").is_none());
    }
    // The key, wherever Perspective clients put it; errors in Perspective's shape.
    let bare = s.url("/v1alpha1/comments:analyze");
    perspective_error(
        &post(&bare, coral_analyze_body(VIOLENT), &[]),
        401,
        "UNAUTHENTICATED",
    );
    let wrong = s.url("/v1alpha1/comments:analyze?key=not-the-key-0123456789");
    assert_eq!(
        perspective_error(
            &post(&wrong, coral_analyze_body(VIOLENT), &[]),
            401,
            "UNAUTHENTICATED"
        ),
        "API key not valid"
    );
    assert_eq!(
        post(
            &bare,
            coral_analyze_body(VIOLENT),
            &[("X-Goog-Api-Key", API_KEY)]
        )
        .status,
        200
    );
    assert_eq!(
        post(
            &bare,
            coral_analyze_body(VIOLENT),
            &[("Authorization", "Bearer another-key-0123456789")]
        )
        .status,
        200
    );
}

#[test]
fn perspective_options_spans_and_errors() {
    let model = fixture();
    let s = Server::start(&["--model", &model_arg()]);
    let url = s.url("/v1alpha1/comments:analyze");
    // Span annotations: one span per sentence, offsets in UTF-16 code units (the emoji is two).
    let text = format!("🔪 {VIOLENT}. {WEATHER}.");
    let body = json!({
        "comment": { "text": text },
        "requestedAttributes": { "THREAT": {}, "EXTREMISM": { "scoreType": "PROBABILITY" }, "INSULT": {} },
        "spanAnnotations": true,
        "dropUnsupportedAttributes": true,
        "clientToken": "token-1",
    });
    let v = post(&url, body.to_string(), &[]).json();
    assert_eq!(v["clientToken"], "token-1");
    assert!(
        v["attributeScores"].get("INSULT").is_none(),
        "dropped, not an error"
    );
    assert_eq!(
        v["languages"],
        json!(["en"]),
        "no languages sent: the detected one"
    );
    let spans = v["attributeScores"]["THREAT"]["spanScores"]
        .as_array()
        .unwrap();
    assert_eq!(spans.len(), 2);
    let first = format!("🔪 {VIOLENT}.");
    assert_eq!(spans[0]["begin"], 0);
    assert_eq!(spans[0]["end"], first.encode_utf16().count());
    assert_eq!(spans[1]["begin"], first.encode_utf16().count() + 1);
    assert_eq!(spans[1]["end"], text.encode_utf16().count());
    assert!(
        spans[0]["score"]["value"].as_f64().unwrap() > 0.5
            && spans[1]["score"]["value"].as_f64().unwrap() < 0.5
    );
    let threat = v["attributeScores"]["THREAT"]["summaryScore"]["value"]
        .as_f64()
        .unwrap();
    assert!(
        (threat - model.score(&text).labels[0].probability).abs() < 1e-12,
        "THREAT is the violence label"
    );

    // scoreThreshold drops a score below it; HTML comments are read as text.
    let body = json!({
        "comment": { "text": "<p>the <b>weather</b> is nice</p>", "type": "HTML" },
        "requestedAttributes": { "TOXICITY": { "scoreThreshold": 0.9 }, "VIOLENCE": {} },
    });
    let v = post(&url, body.to_string(), &[]).json();
    assert!(v["attributeScores"].get("TOXICITY").is_none());
    let violence = v["attributeScores"]["VIOLENCE"]["summaryScore"]["value"]
        .as_f64()
        .unwrap();
    assert!((violence - model.score("the weather is nice").labels[0].probability).abs() < 1e-12);

    let err = |body: Value| {
        perspective_error(&post(&url, body.to_string(), &[]), 400, "INVALID_ARGUMENT")
    };
    assert!(
        err(json!({ "comment": { "text": "x" }, "requestedAttributes": { "INSULT": {} } }))
            .contains("INSULT")
    );
    assert!(err(json!({ "comment": { "text": "x" }, "requestedAttributes": { "TOXICITY": { "scoreType": "STD_DEV_SCORE" } } })).contains("scoreType"));
    assert_eq!(
        err(json!({ "comment": { "text": "  " }, "requestedAttributes": { "TOXICITY": {} } })),
        "Comment must be non-empty."
    );
    assert!(err(json!({ "requestedAttributes": { "TOXICITY": {} } })).contains("comment.text"));
    assert!(err(json!({ "comment": { "text": "x" } })).contains("requestedAttributes"));
    assert!(err(json!({ "comment": { "text": "x", "type": "PDF" }, "requestedAttributes": { "TOXICITY": {} } })).contains("PDF"));
    assert!(
        err(json!({ "comment": { "text": 5 }, "requestedAttributes": { "TOXICITY": {} } }))
            .contains("invalid")
    );
    perspective_error(&post(&url, "{not json", &[]), 400, "INVALID_ARGUMENT");
    perspective_error(
        &post(&s.url("/v1alpha1/comments:nothing"), "{}", &[]),
        404,
        "NOT_FOUND",
    );
}

#[test]
fn attribute_mapping_is_configurable_and_checked_against_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(
        dir.path(),
        "attributes",
        "# operator mapping\nIDENTITY_ATTACK = extremism\n\nTHREAT=max\n",
    );
    let model = fixture();
    let s = Server::start(&[
        "--model",
        &model_arg(),
        "--attribute-file",
        file.to_str().unwrap(),
        "--attribute",
        "TOXICITY=none",
    ]);
    let url = s.url("/v1alpha1/comments:analyze");
    let body = json!({ "comment": { "text": ARABIC_VIOLENT }, "requestedAttributes": { "IDENTITY_ATTACK": {}, "THREAT": {} } });
    let v = post(&url, body.to_string(), &[]).json();
    let scores = model.score(ARABIC_VIOLENT);
    let got = |a: &str| {
        v["attributeScores"][a]["summaryScore"]["value"]
            .as_f64()
            .unwrap()
    };
    assert!((got("IDENTITY_ATTACK") - scores.labels[1].probability).abs() < 1e-12);
    assert!((got("THREAT") - scores.max_probability()).abs() < 1e-12);
    let r = post(&url, coral_analyze_body(VIOLENT), &[]);
    assert!(
        perspective_error(&r, 400, "INVALID_ARGUMENT").contains("TOXICITY"),
        "removed by TOXICITY=none"
    );
    let ready = get(&s.url("/readyz"), &[]).json();
    assert_eq!(ready["model"]["attributes"]["IDENTITY_ATTACK"], "extremism");

    // A mapping to a label the model lacks, or a malformed one, stops the server at start.
    let (code, logs) =
        Server::start_failure(&["--model", &model_arg(), "--attribute", "THREAT=spam"]);
    assert_eq!(code, 2, "{logs}");
    let (code, _) =
        Server::start_failure(&["--model", &model_arg(), "--attribute", "no-equals-sign"]);
    assert_eq!(code, 2);
}

#[test]
fn perspective_alignment_puts_thresholds_on_corals_cutoff() {
    let model = fixture();
    let s = Server::start(&["--model", &model_arg(), "--perspective-align", "0.8"]);
    let url = s.url("/v1alpha1/comments:analyze");
    for text in [VIOLENT, WEATHER, ARABIC_VIOLENT, "kill", "coffee"] {
        let v = post(&url, coral_analyze_body(text), &[]).json();
        let value = v["attributeScores"]["TOXICITY"]["summaryScore"]["value"]
            .as_f64()
            .unwrap();
        // At or above 0.8 exactly when raqib flags the comment.
        assert_eq!(value >= 0.8, model.score(text).flagged, "{text}: {value}");
    }
}

#[test]
fn suggestscore_appends_feedback_lines() {
    let dir = tempfile::tempdir().unwrap();
    let feedback = dir.path().join("feedback.jsonl");
    let s = Server::start(&[
        "--model",
        &model_arg(),
        "--feedback-file",
        feedback.to_str().unwrap(),
    ]);
    // Coral's "comments:suggestscore" body (formatBody in services/perspective/perspective.ts).
    let context =
        json!({ "url": "https://news.example/story?commentID=c1", "Coral_comment_id": "c1" })
            .to_string();
    let body = json!({
        "comment": { "text": ARABIC_VIOLENT },
        "context": { "entries": [{ "text": context }] },
        "attributeScores": { "TOXICITY": { "summaryScore": { "value": 1 } }, "THREAT": { "summaryScore": { "value": 1 } } },
        "languages": ["en"],
        "communityId": "Coral:https://news.example/",
        "clientToken": "comment:c1",
    });
    let r = post(
        &s.url("/v1alpha1/comments:suggestscore?key=ignored"),
        body.to_string(),
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["clientToken"], "comment:c1");
    assert_eq!(r.json()["requestedLanguages"], json!(["en"]));
    let approved = json!({ "comment": { "text": WEATHER }, "attributeScores": { "TOXICITY": { "summaryScore": { "value": 0 } } } });
    assert_eq!(
        post(
            &s.url("/v1alpha1/comments:suggestscore"),
            approved.to_string(),
            &[]
        )
        .status,
        200
    );
    let lines: Vec<Value> = std::fs::read_to_string(&feedback)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["text"], ARABIC_VIOLENT);
    assert_eq!(
        lines[0]["attributes"],
        json!({ "THREAT": 1.0, "TOXICITY": 1.0 })
    );
    assert_eq!(
        lines[0]["labels"],
        json!({ "violence": 1.0 }),
        "THREAT maps to one label; TOXICITY does not"
    );
    assert_eq!(lines[0]["context"], json!([context]));
    assert_eq!(lines[0]["model"], fixture().hash());
    assert_eq!(lines[1]["attributes"]["TOXICITY"], 0.0);
    let bad = json!({ "comment": { "text": "x" }, "attributeScores": { "TOXICITY": { "summaryScore": { "value": 7 } } } });
    perspective_error(
        &post(
            &s.url("/v1alpha1/comments:suggestscore"),
            bad.to_string(),
            &[],
        ),
        400,
        "INVALID_ARGUMENT",
    );

    let s = Server::start(&["--model", &model_arg()]);
    let r = post(
        &s.url("/v1alpha1/comments:suggestscore"),
        body.to_string(),
        &[],
    );
    assert!(perspective_error(&r, 501, "UNIMPLEMENTED").contains("--feedback-file"));
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
fn coral_phase_verifies_signatures_and_answers_coral() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = write_file(dir.path(), "coral", &format!("{CORAL_SECRET}\n"));
    let s = Server::start(&[
        "--model",
        &model_arg(),
        "--coral-secret-file",
        secrets.to_str().unwrap(),
        "--max-comment-chars",
        "500",
    ]);
    let url = s.url("/coral/phase");
    let send = |comment: &str, sign_with: Option<&str>| {
        let body = coral_phase_body(comment);
        let sig = sign_with.map(|k| format!("sha256={}", hex_hmac(k, body.as_bytes())));
        let mut headers = vec![("User-Agent", "Coral Moderation/8.0.0")];
        if let Some(sig) = &sig {
            headers.push(("X-Coral-Signature", sig.as_str()));
        }
        post(&url, &body, &headers)
    };
    let held = send(
        "<div>we will <b>kill</b> them all</div>",
        Some(CORAL_SECRET),
    );
    assert_eq!(held.status, 200, "{}", held.body);
    assert_eq!(
        held.json(),
        json!({ "actions": [{ "actionType": "FLAG", "reason": "COMMENT_DETECTED_TOXIC" }], "status": "SYSTEM_WITHHELD" })
    );
    let plain = send(&format!("<p>{WEATHER}</p>"), Some(CORAL_SECRET));
    assert_eq!(
        (plain.status, plain.body.as_str()),
        (204, ""),
        "publish: 204 without a body"
    );
    assert_eq!(
        send(ARABIC_VIOLENT, Some(CORAL_SECRET)).status,
        200,
        "plain-text format works too"
    );
    assert_eq!(
        send("<br>", Some(CORAL_SECRET)).status,
        204,
        "nothing to score"
    );
    // Over the length limit: held for a moderator, not published unchecked.
    assert_eq!(send(&"و".repeat(501), Some(CORAL_SECRET)).status, 200);

    assert_eq!(native_error(&send(VIOLENT, None), 401), "missing_signature");
    assert_eq!(
        native_error(&send(VIOLENT, Some("ssc_not_the_secret_000000000000")), 401),
        "bad_signature"
    );
    // Signed, then altered in transit.
    let body = coral_phase_body(WEATHER);
    let sig = format!("sha256={}", hex_hmac(CORAL_SECRET, body.as_bytes()));
    let tampered = body.replace("weather", "weathe.");
    assert_eq!(
        native_error(&post(&url, &tampered, &[("X-Coral-Signature", &sig)]), 401),
        "bad_signature"
    );
    // During a secret rotation Coral sends one signature per active secret.
    let body = coral_phase_body(VIOLENT);
    let both = format!(
        "sha256={},sha256={}",
        hex_hmac("ssc_previous_secret_00000000000", body.as_bytes()),
        hex_hmac(CORAL_SECRET, body.as_bytes())
    );
    assert_eq!(
        post(&url, &body, &[("X-Coral-Signature", &both)]).status,
        200
    );
    // Signed but not Coral's shape.
    let junk = r#"{"comment": "not an object"}"#;
    let sig = format!("sha256={}", hex_hmac(CORAL_SECRET, junk.as_bytes()));
    assert_eq!(
        native_error(&post(&url, junk, &[("X-Coral-Signature", &sig)]), 400),
        "bad_json"
    );

    let s = Server::start(&["--model", &model_arg()]);
    assert_eq!(
        native_error(
            &post(&s.url("/coral/phase"), coral_phase_body(VIOLENT), &[]),
            404
        ),
        "coral_disabled"
    );
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
    post(
        &s.url("/v1alpha1/comments:analyze"),
        coral_analyze_body(ARABIC_VIOLENT),
        &[],
    );
    let m = get(&s.url("/metrics"), &[]);
    assert_eq!(m.status, 200);
    assert!(m
        .header("content-type")
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = m.body;
    let has = |line: &str| text.lines().any(|l| l == line);
    assert!(
        has("raqib_http_requests_total{route=\"/v1/check\",code=\"200\"} 3"),
        "{text}"
    );
    assert!(
        has("raqib_http_requests_total{route=\"/v1/check\",code=\"400\"} 1"),
        "{text}"
    );
    assert!(
        has("raqib_http_requests_total{route=\"/v1alpha1/comments:analyze\",code=\"200\"} 1"),
        "{text}"
    );
    assert!(
        has("raqib_http_request_duration_seconds_count{route=\"/v1/check\"} 4"),
        "{text}"
    );
    assert!(
        has("raqib_http_request_duration_seconds_bucket{route=\"/v1/check\",le=\"+Inf\"} 4"),
        "{text}"
    );
    assert!(has("raqib_flags_total{label=\"violence\"} 3"), "{text}");
    assert!(has("raqib_flags_total{label=\"extremism\"} 1"), "{text}");
    assert!(
        has("raqib_comments_scored_total{action=\"hold\"} 3"),
        "{text}"
    );
    assert!(
        has("raqib_comments_scored_total{action=\"publish\"} 1"),
        "{text}"
    );
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
    let s = Server::start(&[
        "--model",
        &model_arg(),
        "--api-key-file",
        keys.to_str().unwrap(),
    ]);
    let body = json!({ "text": VIOLENT }).to_string();
    let url = s.url("/v1/check");
    let r = post(&url, &body, &[]);
    assert_eq!(native_error(&r, 401), "missing_api_key");
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    assert_eq!(
        native_error(
            &post(
                &url,
                &body,
                &[("Authorization", "Bearer wrong-key-0123456789")]
            ),
            401
        ),
        "invalid_api_key"
    );
    assert_eq!(
        native_error(
            &post(&url, &body, &[("X-Api-Key", &API_KEY[..API_KEY.len() - 1])]),
            401
        ),
        "invalid_api_key"
    );
    assert_eq!(
        post(
            &url,
            &body,
            &[("Authorization", &format!("Bearer {API_KEY}"))]
        )
        .status,
        200
    );
    assert_eq!(post(&url, &body, &[("X-Api-Key", API_KEY)]).status, 200);
    // `?key=` is Perspective's convention only: a key in a URL ends up in proxy logs.
    assert_eq!(
        post(&s.url(&format!("/v1/check?key={API_KEY}")), &body, &[]).status,
        401
    );
    let batch = json!({ "comments": [{ "text": "x" }] }).to_string();
    assert_eq!(post(&s.url("/v1/score"), &batch, &[]).status, 401);
    for open in ["/healthz", "/readyz", "/metrics"] {
        assert_eq!(get(&s.url(open), &[]).status, 200, "{open}");
    }
    // Keys are never logged.
    assert!(s.logs().iter().all(|l| !l.contains(API_KEY)));
}

#[test]
fn limits_answer_413_408_503() {
    let s = Server::start(&["--model", &model_arg()]);
    // Body over the 64 KiB default, declared by Content-Length.
    let big = json!({ "text": "a".repeat(70 * 1024) }).to_string();
    assert_eq!(
        native_error(&post(&s.url("/v1/check"), &big, &[]), 413),
        "body_too_large"
    );
    perspective_error(
        &post(&s.url("/v1alpha1/comments:analyze"), &big, &[]),
        413,
        "INVALID_ARGUMENT",
    );
    // Just under the limit but over the comment length (20,000 characters by default).
    let long = json!({ "text": "ب".repeat(20_001) }).to_string();
    assert!(long.len() < 64 * 1024);
    assert_eq!(
        native_error(&post(&s.url("/v1/check"), &long, &[]), 413),
        "comment_too_long"
    );
    let r = post(
        &s.url("/v1alpha1/comments:analyze"),
        coral_analyze_body(&"ب".repeat(20_001)),
        &[],
    );
    assert!(perspective_error(&r, 400, "INVALID_ARGUMENT").contains("longer than 20000"));
    assert_eq!(
        check(&s, &"ب".repeat(20_000)).status,
        200,
        "at the limit is fine"
    );
    // A chunked body (no Content-Length) is cut off at the limit too.
    let mut raw = RawConn::raw(s.addr, b"POST /v1/check HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
    let chunk = "a".repeat(16 * 1024);
    for _ in 0..5 {
        raw.send(format!("{:x}\r\n{chunk}\r\n", chunk.len()).as_bytes());
    }
    raw.send(b"0\r\n\r\n");
    let (status, body) = raw.finish();
    assert_eq!(status, 413, "{body}");

    // Request timeout, upload included: a client that stalls mid-body gets 408.
    let s = Server::start(&[
        "--model",
        &model_arg(),
        "--request-timeout",
        "300ms",
        "--max-body",
        "2KiB",
    ]);
    let stalled = RawConn::start_post(s.addr, "/v1/check", 100, b"{\"text\": \"we will");
    let (status, body) = stalled.finish();
    assert_eq!(status, 408, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["error"]["code"],
        "timeout"
    );
    let r = post(
        &s.url("/v1/check"),
        json!({ "text": "x".repeat(3000) }).to_string(),
        &[],
    );
    assert_eq!(
        native_error(&r, 413),
        "body_too_large",
        "--max-body applies"
    );

    // Concurrency: with one slot taken by a stalled upload, the next request is shed at once.
    let s = Server::start(&["--model", &model_arg(), "--max-concurrency", "1"]);
    let body = json!({ "text": VIOLENT }).to_string();
    let (head, tail) = body.as_bytes().split_at(5);
    let mut first = RawConn::start_post(s.addr, "/v1/check", body.len(), head);
    std::thread::sleep(Duration::from_millis(300));
    let shed = check(&s, WEATHER);
    assert_eq!(native_error(&shed, 503), "overloaded");
    assert_eq!(shed.header("retry-after"), Some("1"));
    assert_eq!(
        get(&s.url("/healthz"), &[]).status,
        200,
        "probes are exempt"
    );
    first.send(tail);
    let (status, answer) = first.finish();
    assert_eq!(status, 200, "{answer}");
    assert_eq!(check(&s, WEATHER).status, 200, "the slot is free again");
}

#[test]
fn odd_bodies_get_json_errors_and_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let feedback = dir.path().join("f.jsonl");
    let secrets = write_file(dir.path(), "coral", CORAL_SECRET);
    let s = Server::start(&[
        "--model",
        &model_arg(),
        "--feedback-file",
        feedback.to_str().unwrap(),
        "--coral-secret-file",
        secrets.to_str().unwrap(),
    ]);
    let deep_array = "[".repeat(100_000);
    let deep_object = format!("{}1{}", "{\"a\":".repeat(5000), "}".repeat(5000));
    let mut bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"   ".to_vec(),
        b"null".to_vec(),
        b"[]".to_vec(),
        b"{}".to_vec(),
        b"\"text\"".to_vec(),
        b"123".to_vec(),
        b"{\"text\": 5}".to_vec(),
        b"{\"text\": null}".to_vec(),
        b"{\"text\": [\"a\"]}".to_vec(),
        b"{\"text\": \"\\ud800\"}".to_vec(),
        b"{\"text\": \"a\\u0000b\", \"id\": {\"x\": 1}}".to_vec(),
        b"{\"comments\": {}}".to_vec(),
        b"{\"comments\": [1, 2]}".to_vec(),
        b"{\"comment\": {\"text\": \"x\"}, \"requestedAttributes\": []}".to_vec(),
        b"{\"comment\": {\"text\": \"x\"}, \"requestedAttributes\": {\"TOXICITY\": {\"scoreThreshold\": \"high\"}}}".to_vec(),
        b"{\"comment\": {\"body\": 1e999}}".to_vec(),
        b"{\"text\": \"x\"".to_vec(),
        deep_array.into_bytes(),
        deep_object.into_bytes(),
        vec![0xff, 0xfe, 0x00, 0x80],
        [b"{\"text\": \"".as_slice(), &[0xc3, 0x28], b"\"}"].concat(),
    ];
    // And seeded random bytes, some starting like JSON.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..60 {
        let len = (i * 37) % 300;
        let mut b: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        if i % 2 == 0 {
            b.insert(0, b'{');
        }
        bodies.push(b);
    }
    let routes = [
        "/v1/check",
        "/v1/score",
        "/v1alpha1/comments:analyze",
        "/v1alpha1/comments:suggestscore",
        "/coral/phase",
    ];
    for route in routes {
        for body in &bodies {
            let sig = format!("sha256={}", hex_hmac(CORAL_SECRET, body));
            let r = post(&s.url(route), body, &[("X-Coral-Signature", &sig)]);
            assert!(
                (400..500).contains(&r.status),
                "{route} answered {} to {:?}: {}",
                r.status,
                String::from_utf8_lossy(&body[..body.len().min(60)]),
                r.body
            );
            let v = r.json();
            assert!(v["error"]["message"].is_string(), "{route}: {}", r.body);
        }
    }
    assert_eq!(get(&s.url("/healthz"), &[]).status, 200, "still serving");
    let logs = s.logs();
    assert!(logs.iter().all(|l| !l.contains("panic")), "{logs:?}");
    assert!(!logs.iter().any(|l| l.contains("\"status\":500")));
}

#[test]
fn logs_leave_comment_text_out_unless_asked() {
    let marker = "unique-marker-text-kill-them-4417";
    let s = Server::start(&["--model", &model_arg()]);
    check(&s, marker);
    post(
        &s.url("/v1alpha1/comments:analyze"),
        coral_analyze_body(marker),
        &[],
    );
    post(
        &s.url("/v1/check"),
        format!("{{\"text\": {{\"oops\": \"{marker}\"}}}}"),
        &[],
    );
    assert!(
        s.wait_for_log_count("\"message\":\"request\"", 3, Duration::from_secs(5)),
        "{:?}",
        s.logs()
    );
    let logs = s.logs();
    // Structured (JSON) request lines with the decision, not the text.
    let line: Value = logs
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["route"] == "/v1/check")
        .unwrap();
    assert_eq!(line["status"], 200);
    assert!(line["latency_us"].is_u64() && line["held"].is_u64());
    assert!(logs.iter().all(|l| !l.contains(marker)), "{logs:?}");

    let s = Server::start(&["--model", &model_arg(), "--log-comments"]);
    check(&s, marker);
    assert!(s.wait_for_log(marker, Duration::from_secs(5)));
}

#[test]
fn startup_errors_exit_with_their_codes() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.raqib");
    let (code, logs) = Server::start_failure(&["--model", missing.to_str().unwrap()]);
    assert_eq!(code, 3, "{logs}");
    let corrupt = write_file(dir.path(), "corrupt.raqib", "RAQIBMDL garbage");
    assert_eq!(
        Server::start_failure(&["--model", corrupt.to_str().unwrap()]).0,
        3
    );
    let weak = write_file(dir.path(), "keys", "short\n");
    let (code, logs) = Server::start_failure(&["--api-key-file", weak.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(logs.contains("at least 16"), "{logs}");
    assert_eq!(Server::start_failure(&["--max-batch", "0"]).0, 2);
    assert_eq!(Server::start_failure(&["--perspective-align", "1.5"]).0, 2);
    // Address in use.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (code, logs) = Server::start_failure(&["--bind", &addr]);
    assert_eq!(code, 2, "{logs}");
    assert!(logs.contains("cannot listen"), "{logs}");
    // The default address is loopback.
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_raqib"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("[default: 127.0.0.1:8080]"));
}

/// A copy of `model` with the violence threshold moved: same labels, different content hash.
fn variant(dir: &Path, threshold: f64) -> (PathBuf, String) {
    let mut m = fixture();
    m.set_threshold(0, threshold).unwrap();
    let path = dir.join(format!("variant-{threshold}.raqib"));
    m.save(&path).unwrap();
    let hash = Model::load(&path).unwrap().hash();
    (path, hash)
}

/// Replace `target` by `source` atomically (copy beside, rename over), as a deploy script should.
fn install(source: &Path, target: &Path) {
    let tmp = target.with_extension("tmp");
    std::fs::copy(source, &tmp).unwrap();
    std::fs::rename(&tmp, target).unwrap();
}

/// A valid model whose only label is `insult`: incompatible with a server serving
/// violence/extremism.
fn other_labels_model(path: &Path) {
    use linfa::ParamGuard;
    use raqib::train::{NoProgress, TrainParams, Validation};
    let mut texts = Vec::new();
    let mut y = Vec::new();
    for i in 0..40 {
        texts.push(format!("you are an idiot number {i}"));
        y.push(true);
        texts.push(format!("nice match today number {i}"));
        y.push(false);
    }
    let targets = ndarray::Array2::from_shape_vec((y.len(), 1), y).unwrap();
    let params = TrainParams::new(["insult"])
        .features(raqib::features::FeatureConfig {
            bits: 16,
            ..Default::default()
        })
        .validation(Validation::None)
        .check()
        .unwrap();
    let (model, _) = params
        .train(&texts, targets.view(), None, &NoProgress)
        .unwrap();
    model.save(path).unwrap();
}

#[test]
fn reload_swaps_valid_models_and_rejects_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live.raqib");
    std::fs::copy(fixture_model(), &live).unwrap();
    let original = fixture().hash();
    let (v2, v2_hash) = variant(dir.path(), 0.9);
    assert_ne!(original, v2_hash);
    let admin = write_file(dir.path(), "admin", &format!("{ADMIN_KEY}\n"));
    let s = Server::start(&[
        "--model",
        live.to_str().unwrap(),
        "--admin-key-file",
        admin.to_str().unwrap(),
    ]);
    let ready_hash = || {
        get(&s.url("/readyz"), &[]).json()["model"]["hash"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let auth = format!("Bearer {ADMIN_KEY}");
    let reload = || {
        post(
            &s.url("/admin/reload"),
            "",
            &[("Authorization", auth.as_str())],
        )
    };
    assert_eq!(ready_hash(), original);

    // SIGHUP picks up a new file.
    install(&v2, &live);
    s.signal("HUP");
    assert!(
        s.wait_for_log("model reloaded", Duration::from_secs(10)),
        "{:?}",
        s.logs()
    );
    assert_eq!(ready_hash(), v2_hash);
    assert_eq!(
        check(&s, WEATHER).json()["labels"]["violence"]["threshold"],
        0.9
    );

    // POST /admin/reload, same file: succeeds, unchanged.
    let r = reload();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (r.json()["changed"].as_bool(), r.json()["current"].as_str()),
        (Some(false), Some(v2_hash.as_str()))
    );

    // A corrupt file, a truncated file and a model with other labels are all rejected; the
    // serving model stays.
    std::fs::write(
        dir.path().join("junk"),
        b"RAQIBMDL\x01\x00\x00\x00 not a model",
    )
    .unwrap();
    install(&dir.path().join("junk"), &live);
    assert_eq!(native_error(&reload(), 422), "model_rejected");
    let bytes = std::fs::read(&v2).unwrap();
    std::fs::write(dir.path().join("cut"), &bytes[..bytes.len() / 2]).unwrap();
    install(&dir.path().join("cut"), &live);
    assert!(reload().json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("truncated"));
    other_labels_model(&dir.path().join("insult.raqib"));
    install(&dir.path().join("insult.raqib"), &live);
    let r = reload();
    assert_eq!(native_error(&r, 422), "model_rejected");
    assert!(r.body.contains("lacks label"), "{}", r.body);
    s.signal("HUP");
    // Three rejections by POST so far; the fourth is this SIGHUP's.
    assert!(
        s.wait_for_log_count("model reload rejected", 4, Duration::from_secs(10)),
        "{:?}",
        s.logs()
    );
    assert_eq!(ready_hash(), v2_hash, "the old model keeps serving");
    assert_eq!(check(&s, VIOLENT).json()["action"], "hold");
    let metrics = get(&s.url("/metrics"), &[]).body;
    assert!(
        metrics.contains("raqib_model_reloads_total{result=\"success\"} 2\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("raqib_model_reloads_total{result=\"failure\"} 4\n"),
        "{metrics}"
    );

    // The admin key is required; the API (open here) is not enough.
    assert_eq!(
        native_error(&post(&s.url("/admin/reload"), "", &[]), 401),
        "missing_api_key"
    );
    assert_eq!(
        native_error(
            &post(
                &s.url("/admin/reload"),
                "",
                &[("X-Api-Key", "wrong-admin-key-000000")]
            ),
            401
        ),
        "invalid_api_key"
    );

    // No key configured at all: the admin route is off. The embedded model has no file to reload.
    let s = Server::start(&[]);
    assert_eq!(
        native_error(&post(&s.url("/admin/reload"), "", &[]), 403),
        "admin_disabled"
    );
    let keys = write_file(dir.path(), "keys", &format!("{API_KEY}\n"));
    let s = Server::start(&["--api-key-file", keys.to_str().unwrap()]);
    let r = post(&s.url("/admin/reload"), "", &[("X-Api-Key", API_KEY)]);
    assert_eq!(
        native_error(&r, 409),
        "no_model_file",
        "the API key doubles as admin key by default"
    );
}

#[test]
fn reload_under_load_is_atomic() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live.raqib");
    let (a, a_hash) = variant(dir.path(), 0.3);
    let (b, b_hash) = variant(dir.path(), 0.7);
    install(&a, &live);
    let admin = write_file(dir.path(), "admin", &format!("{ADMIN_KEY}\n"));
    let s = Server::start(&[
        "--model",
        live.to_str().unwrap(),
        "--admin-key-file",
        admin.to_str().unwrap(),
    ]);
    let url = s.url("/v1/check");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients: Vec<_> = (0..2)
        .map(|_| {
            let (url, stop, a_hash, b_hash) =
                (url.clone(), stop.clone(), a_hash.clone(), b_hash.clone());
            std::thread::spawn(move || {
                let mut seen = std::collections::BTreeSet::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let v = post(&url, json!({ "text": VIOLENT }).to_string(), &[]).json();
                    let hash = v["model"]["hash"].as_str().unwrap().to_string();
                    let threshold = v["labels"]["violence"]["threshold"].as_f64().unwrap();
                    // Every answer comes whole from one model: its hash and its threshold agree.
                    let want = if hash == a_hash {
                        0.3
                    } else if hash == b_hash {
                        0.7
                    } else {
                        panic!("unknown model {hash}")
                    };
                    assert_eq!(threshold, want);
                    seen.insert(hash);
                }
                seen
            })
        })
        .collect();
    let auth = format!("Bearer {ADMIN_KEY}");
    for i in 0..12 {
        install(if i % 2 == 0 { &b } else { &a }, &live);
        let r = post(
            &s.url("/admin/reload"),
            "",
            &[("Authorization", auth.as_str())],
        );
        assert_eq!(r.status, 200, "{}", r.body);
        std::thread::sleep(Duration::from_millis(30));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut seen = std::collections::BTreeSet::new();
    for c in clients {
        seen.extend(c.join().expect("client thread"));
    }
    assert_eq!(seen.len(), 2, "both models answered during the run");
}

#[test]
fn sigterm_lets_in_flight_requests_finish() {
    let mut s = Server::start(&["--model", &model_arg()]);
    let body = json!({ "text": VIOLENT, "id": "in-flight" }).to_string();
    let (head, tail) = body.as_bytes().split_at(10);
    let mut conn = RawConn::start_post(s.addr, "/v1/check", body.len(), head);
    std::thread::sleep(Duration::from_millis(200));
    s.signal("TERM");
    assert!(s.wait_for_log("SIGTERM", Duration::from_secs(5)));
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        s.wait_exit(Duration::ZERO).is_none(),
        "still running while a request is in flight"
    );
    // New connections are no longer accepted.
    assert!(std::net::TcpStream::connect_timeout(&s.addr, Duration::from_secs(1)).is_err());
    conn.send(tail);
    let (status, answer) = conn.finish();
    assert_eq!(status, 200, "{answer}");
    let v: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(
        (v["id"].as_str(), v["action"].as_str()),
        (Some("in-flight"), Some("hold"))
    );
    let exit = s
        .wait_exit(Duration::from_secs(10))
        .expect("exits after draining");
    assert!(exit.success(), "{exit}");
    assert!(s
        .logs()
        .iter()
        .any(|l| l.contains("\"message\":\"stopped\"")));
}
