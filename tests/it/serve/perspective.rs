//! The Perspective API routes and Coral Talk's external moderation phase, driven with the exact
//! requests Coral sends.

use super::*;

#[test]
fn perspective_answers_the_exact_coral_request() {
    let dir = tempfile::tempdir().unwrap();
    let keys = write_file(dir.path(), "keys", &format!("# rotation: two keys\n{API_KEY}\nanother-key-0123456789\n"));
    let model = fixture();
    let s = Server::start(&["--model", &model_arg(), "--api-key-file", keys.to_str().unwrap()]);
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
        assert_eq!(score["value"].as_f64().unwrap() > 0.8, coral_holds, "{text}");
        assert_eq!(v["languages"], json!(["en"]), "languages mirror the request");
        let script = if text == ARABIC_VIOLENT { "ar" } else { "en" };
        assert_eq!(v["detectedLanguages"], json!([script]));
        assert!(v["attributeScores"]["TOXICITY"].get("spanScores").is_none());
    }
    // The key, wherever Perspective clients put it; errors in Perspective's shape.
    let bare = s.url("/v1alpha1/comments:analyze");
    perspective_error(&post(&bare, coral_analyze_body(VIOLENT), &[]), 401, "UNAUTHENTICATED");
    let wrong = s.url("/v1alpha1/comments:analyze?key=not-the-key-0123456789");
    assert_eq!(
        perspective_error(&post(&wrong, coral_analyze_body(VIOLENT), &[]), 401, "UNAUTHENTICATED"),
        "API key not valid"
    );
    assert_eq!(post(&bare, coral_analyze_body(VIOLENT), &[("X-Goog-Api-Key", API_KEY)]).status, 200);
    assert_eq!(
        post(&bare, coral_analyze_body(VIOLENT), &[("Authorization", "Bearer another-key-0123456789")]).status,
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
    assert!(v["attributeScores"].get("INSULT").is_none(), "dropped, not an error");
    assert_eq!(v["languages"], json!(["en"]), "no languages sent: the detected one");
    let spans = v["attributeScores"]["THREAT"]["spanScores"].as_array().unwrap();
    assert_eq!(spans.len(), 2);
    let first = format!("🔪 {VIOLENT}.");
    assert_eq!(spans[0]["begin"], 0);
    assert_eq!(spans[0]["end"], first.encode_utf16().count());
    assert_eq!(spans[1]["begin"], first.encode_utf16().count() + 1);
    assert_eq!(spans[1]["end"], text.encode_utf16().count());
    assert!(spans[0]["score"]["value"].as_f64().unwrap() > 0.5 && spans[1]["score"]["value"].as_f64().unwrap() < 0.5);
    let threat = v["attributeScores"]["THREAT"]["summaryScore"]["value"].as_f64().unwrap();
    assert!((threat - model.score(&text).labels[0].probability).abs() < 1e-12, "THREAT is the violence label");

    // SEVERE_TOXICITY, like TOXICITY, is the highest label; `languages` changes nothing.
    for languages in [json!(["en"]), json!(["ar"]), json!(["fr", "de"])] {
        let body = json!({
            "comment": { "text": ARABIC_VIOLENT },
            "requestedAttributes": { "SEVERE_TOXICITY": {}, "TOXICITY": {} },
            "languages": languages,
        });
        let v = post(&url, body.to_string(), &[]).json();
        let want = model.score(ARABIC_VIOLENT).max_probability();
        for a in ["SEVERE_TOXICITY", "TOXICITY"] {
            let got = v["attributeScores"][a]["summaryScore"]["value"].as_f64().unwrap();
            assert!((got - want).abs() < 1e-12, "{a} with {languages}: {got} vs {want}");
        }
        assert_eq!(v["languages"], languages);
    }

    // scoreThreshold drops a score below it; HTML comments are read as text.
    let body = json!({
        "comment": { "text": "<p>the <b>weather</b> is nice</p>", "type": "HTML" },
        "requestedAttributes": { "TOXICITY": { "scoreThreshold": 0.9 }, "VIOLENCE": {} },
    });
    let v = post(&url, body.to_string(), &[]).json();
    assert!(v["attributeScores"].get("TOXICITY").is_none());
    let violence = v["attributeScores"]["VIOLENCE"]["summaryScore"]["value"].as_f64().unwrap();
    assert!((violence - model.score("the weather is nice").labels[0].probability).abs() < 1e-12);

    let err = |body: Value| perspective_error(&post(&url, body.to_string(), &[]), 400, "INVALID_ARGUMENT");
    assert!(err(json!({ "comment": { "text": "x" }, "requestedAttributes": { "INSULT": {} } })).contains("INSULT"));
    assert!(err(
        json!({ "comment": { "text": "x" }, "requestedAttributes": { "TOXICITY": { "scoreType": "STD_DEV_SCORE" } } })
    )
    .contains("scoreType"));
    assert_eq!(
        err(json!({ "comment": { "text": "  " }, "requestedAttributes": { "TOXICITY": {} } })),
        "Comment must be non-empty."
    );
    assert!(err(json!({ "requestedAttributes": { "TOXICITY": {} } })).contains("comment.text"));
    assert!(err(json!({ "comment": { "text": "x" } })).contains("requestedAttributes"));
    assert!(err(json!({ "comment": { "text": "x", "type": "PDF" }, "requestedAttributes": { "TOXICITY": {} } }))
        .contains("PDF"));
    assert!(err(json!({ "comment": { "text": 5 }, "requestedAttributes": { "TOXICITY": {} } })).contains("invalid"));
    perspective_error(&post(&url, "{not json", &[]), 400, "INVALID_ARGUMENT");
    perspective_error(&post(&s.url("/v1alpha1/comments:nothing"), "{}", &[]), 404, "NOT_FOUND");
}

#[test]
fn attribute_mapping_is_configurable_and_checked_against_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(dir.path(), "attributes", "# operator mapping\nIDENTITY_ATTACK = extremism\n\nTHREAT=max\n");
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
    let got = |a: &str| v["attributeScores"][a]["summaryScore"]["value"].as_f64().unwrap();
    assert!((got("IDENTITY_ATTACK") - scores.labels[1].probability).abs() < 1e-12);
    assert!((got("THREAT") - scores.max_probability()).abs() < 1e-12);
    let r = post(&url, coral_analyze_body(VIOLENT), &[]);
    assert!(perspective_error(&r, 400, "INVALID_ARGUMENT").contains("TOXICITY"), "removed by TOXICITY=none");
    let ready = get(&s.url("/readyz"), &[]).json();
    assert_eq!(ready["model"]["attributes"]["IDENTITY_ATTACK"], "extremism");

    // A mapping to a label the model lacks, or a malformed one, stops the server at start.
    let (code, logs) = Server::start_failure(&["--model", &model_arg(), "--attribute", "THREAT=spam"]);
    assert_eq!(code, 2, "{logs}");
    let (code, _) = Server::start_failure(&["--model", &model_arg(), "--attribute", "no-equals-sign"]);
    assert_eq!(code, 2);
}

#[test]
fn perspective_alignment_puts_thresholds_on_corals_cutoff() {
    let model = fixture();
    let s = Server::start(&["--model", &model_arg(), "--perspective-align", "0.8"]);
    let url = s.url("/v1alpha1/comments:analyze");
    for text in [VIOLENT, WEATHER, ARABIC_VIOLENT, "kill", "coffee"] {
        let v = post(&url, coral_analyze_body(text), &[]).json();
        let value = v["attributeScores"]["TOXICITY"]["summaryScore"]["value"].as_f64().unwrap();
        // Coral holds when `value > threshold`: above 0.8 exactly when raqib flags the comment.
        assert_eq!(value > 0.8, model.score(text).flagged, "{text}: {value}");
    }

    // A comment exactly on raqib's threshold is flagged (`score >= threshold`), so Coral must
    // hold it too: a model whose violence threshold is that comment's own score.
    let dir = tempfile::tempdir().unwrap();
    let mut on_edge = fixture();
    let p = on_edge.score(VIOLENT).labels[0].probability;
    on_edge.set_threshold(0, p).unwrap();
    let path = dir.path().join("edge.raqib");
    on_edge.save(&path).unwrap();
    let edge = Model::load(&path).unwrap();
    assert!(edge.score(VIOLENT).labels[0].flagged && edge.score(VIOLENT).labels[0].probability == p);
    let s = Server::start(&["--model", path.to_str().unwrap(), "--perspective-align", "0.8"]);
    let body = json!({ "comment": { "text": VIOLENT }, "requestedAttributes": { "THREAT": {} } });
    let v = post(&s.url("/v1alpha1/comments:analyze"), body.to_string(), &[]).json();
    let value = v["attributeScores"]["THREAT"]["summaryScore"]["value"].as_f64().unwrap();
    assert!(value > 0.8, "on the threshold: {value}");
}

#[test]
fn suggestscore_appends_feedback_lines() {
    let dir = tempfile::tempdir().unwrap();
    let feedback = dir.path().join("feedback.jsonl");
    let s = Server::start(&["--model", &model_arg(), "--feedback-file", feedback.to_str().unwrap()]);
    // Coral's "comments:suggestscore" body (formatBody in services/perspective/perspective.ts).
    let context = json!({ "url": "https://news.example/story?commentID=c1", "Coral_comment_id": "c1" }).to_string();
    let body = json!({
        "comment": { "text": ARABIC_VIOLENT },
        "context": { "entries": [{ "text": context }] },
        "attributeScores": { "TOXICITY": { "summaryScore": { "value": 1 } }, "THREAT": { "summaryScore": { "value": 1 } } },
        "languages": ["en"],
        "communityId": "Coral:https://news.example/",
        "clientToken": "comment:c1",
    });
    let r = post(&s.url("/v1alpha1/comments:suggestscore?key=ignored"), body.to_string(), &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["clientToken"], "comment:c1");
    assert_eq!(r.json()["requestedLanguages"], json!(["en"]));
    let approved = json!({ "comment": { "text": WEATHER }, "attributeScores": { "TOXICITY": { "summaryScore": { "value": 0 } } } });
    assert_eq!(post(&s.url("/v1alpha1/comments:suggestscore"), approved.to_string(), &[]).status, 200);
    let lines: Vec<Value> =
        std::fs::read_to_string(&feedback).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["text"], ARABIC_VIOLENT);
    assert_eq!(lines[0]["attributes"], json!({ "THREAT": 1.0, "TOXICITY": 1.0 }));
    assert_eq!(lines[0]["labels"], json!({ "violence": 1.0 }), "THREAT maps to one label; TOXICITY does not");
    assert_eq!(lines[0]["context"], json!([context]));
    assert_eq!(lines[0]["model"], fixture().hash());
    assert_eq!(lines[1]["attributes"]["TOXICITY"], 0.0);
    let bad =
        json!({ "comment": { "text": "x" }, "attributeScores": { "TOXICITY": { "summaryScore": { "value": 7 } } } });
    perspective_error(&post(&s.url("/v1alpha1/comments:suggestscore"), bad.to_string(), &[]), 400, "INVALID_ARGUMENT");

    let s = Server::start(&["--model", &model_arg()]);
    let r = post(&s.url("/v1alpha1/comments:suggestscore"), body.to_string(), &[]);
    assert!(perspective_error(&r, 501, "UNIMPLEMENTED").contains("--feedback-file"));
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
    let held = send("<div>we will <b>kill</b> them all</div>", Some(CORAL_SECRET));
    assert_eq!(held.status, 200, "{}", held.body);
    assert_eq!(
        held.json(),
        json!({ "actions": [{ "actionType": "FLAG", "reason": "COMMENT_DETECTED_TOXIC" }], "status": "SYSTEM_WITHHELD" })
    );
    let plain = send(&format!("<p>{WEATHER}</p>"), Some(CORAL_SECRET));
    assert_eq!((plain.status, plain.body.as_str()), (204, ""), "publish: 204 without a body");
    assert_eq!(send(ARABIC_VIOLENT, Some(CORAL_SECRET)).status, 200, "plain-text format works too");
    assert_eq!(send("<br>", Some(CORAL_SECRET)).status, 204, "nothing to score");
    // Over the length limit: held for a moderator, not published unchecked.
    assert_eq!(send(&"و".repeat(501), Some(CORAL_SECRET)).status, 200);

    assert_eq!(native_error(&send(VIOLENT, None), 401), "missing_signature");
    assert_eq!(native_error(&send(VIOLENT, Some("ssc_not_the_secret_000000000000")), 401), "bad_signature");
    // Signed, then altered in transit.
    let body = coral_phase_body(WEATHER);
    let sig = format!("sha256={}", hex_hmac(CORAL_SECRET, body.as_bytes()));
    let tampered = body.replace("weather", "weathe.");
    assert_eq!(native_error(&post(&url, &tampered, &[("X-Coral-Signature", &sig)]), 401), "bad_signature");
    // During a secret rotation Coral sends one signature per active secret.
    let body = coral_phase_body(VIOLENT);
    let both = format!(
        "sha256={},sha256={}",
        hex_hmac("ssc_previous_secret_00000000000", body.as_bytes()),
        hex_hmac(CORAL_SECRET, body.as_bytes())
    );
    assert_eq!(post(&url, &body, &[("X-Coral-Signature", &both)]).status, 200);
    // Signed but not Coral's shape.
    let junk = r#"{"comment": "not an object"}"#;
    let sig = format!("sha256={}", hex_hmac(CORAL_SECRET, junk.as_bytes()));
    assert_eq!(native_error(&post(&url, junk, &[("X-Coral-Signature", &sig)]), 400), "bad_json");

    let s = Server::start(&["--model", &model_arg()]);
    assert_eq!(native_error(&post(&s.url("/coral/phase"), coral_phase_body(VIOLENT), &[]), 404), "coral_disabled");
}
