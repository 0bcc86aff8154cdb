//! Hot reload (SIGHUP, `/admin/reload`) and graceful shutdown (SIGTERM) of `raqib serve`.

use super::*;
use crate::harness::RawConn;

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
        .features(raqib::features::FeatureConfig { bits: 16, ..Default::default() })
        .validation(Validation::None)
        .check()
        .unwrap();
    let (model, _) = params.train(&texts, targets.view(), None, &NoProgress).unwrap();
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
    let s = Server::start(&["--model", live.to_str().unwrap(), "--admin-key-file", admin.to_str().unwrap()]);
    let ready_hash = || get(&s.url("/readyz"), &[]).json()["model"]["hash"].as_str().unwrap().to_string();
    let auth = format!("Bearer {ADMIN_KEY}");
    let reload = || post(&s.url("/admin/reload"), "", &[("Authorization", auth.as_str())]);
    assert_eq!(ready_hash(), original);

    // SIGHUP picks up a new file.
    install(&v2, &live);
    s.signal("HUP");
    assert!(s.wait_for_log("model reloaded", Duration::from_secs(10)), "{:?}", s.logs());
    assert_eq!(ready_hash(), v2_hash);
    assert_eq!(check(&s, WEATHER).json()["labels"]["violence"]["threshold"], 0.9);

    // POST /admin/reload, same file: succeeds, unchanged.
    let r = reload();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!((r.json()["changed"].as_bool(), r.json()["current"].as_str()), (Some(false), Some(v2_hash.as_str())));

    // A corrupt file, a truncated file and a model with other labels are all rejected; the
    // serving model stays.
    std::fs::write(dir.path().join("junk"), b"RAQIBMDL\x01\x00\x00\x00 not a model").unwrap();
    install(&dir.path().join("junk"), &live);
    assert_eq!(native_error(&reload(), 422), "model_rejected");
    let bytes = std::fs::read(&v2).unwrap();
    std::fs::write(dir.path().join("cut"), &bytes[..bytes.len() / 2]).unwrap();
    install(&dir.path().join("cut"), &live);
    assert!(reload().json()["error"]["message"].as_str().unwrap().contains("truncated"));
    other_labels_model(&dir.path().join("insult.raqib"));
    install(&dir.path().join("insult.raqib"), &live);
    let r = reload();
    assert_eq!(native_error(&r, 422), "model_rejected");
    assert!(r.body.contains("lacks label"), "{}", r.body);
    s.signal("HUP");
    // Three rejections by POST so far; the fourth is this SIGHUP's.
    assert!(s.wait_for_log_count("model reload rejected", 4, Duration::from_secs(10)), "{:?}", s.logs());
    assert_eq!(ready_hash(), v2_hash, "the old model keeps serving");
    assert_eq!(check(&s, VIOLENT).json()["action"], "hold");
    let metrics = get(&s.url("/metrics"), &[]).body;
    assert!(metrics.contains("raqib_model_reloads_total{result=\"success\"} 2\n"), "{metrics}");
    assert!(metrics.contains("raqib_model_reloads_total{result=\"failure\"} 4\n"), "{metrics}");

    // The admin key is required; the API (open here) is not enough.
    assert_eq!(native_error(&post(&s.url("/admin/reload"), "", &[]), 401), "missing_api_key");
    assert_eq!(
        native_error(&post(&s.url("/admin/reload"), "", &[("X-Api-Key", "wrong-admin-key-000000")]), 401),
        "invalid_api_key"
    );

    // No key configured at all: the admin route is off. The embedded model has no file to reload.
    let s = Server::start(&[]);
    assert_eq!(native_error(&post(&s.url("/admin/reload"), "", &[]), 403), "admin_disabled");
    let keys = write_file(dir.path(), "keys", &format!("{API_KEY}\n"));
    let s = Server::start(&["--api-key-file", keys.to_str().unwrap()]);
    let r = post(&s.url("/admin/reload"), "", &[("X-Api-Key", API_KEY)]);
    assert_eq!(native_error(&r, 409), "no_model_file", "the API key doubles as admin key by default");
}

#[test]
fn reload_under_load_is_atomic() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live.raqib");
    let (a, a_hash) = variant(dir.path(), 0.3);
    let (b, b_hash) = variant(dir.path(), 0.7);
    install(&a, &live);
    let admin = write_file(dir.path(), "admin", &format!("{ADMIN_KEY}\n"));
    let s = Server::start(&["--model", live.to_str().unwrap(), "--admin-key-file", admin.to_str().unwrap()]);
    let url = s.url("/v1/check");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients: Vec<_> = (0..2)
        .map(|_| {
            let (url, stop, a_hash, b_hash) = (url.clone(), stop.clone(), a_hash.clone(), b_hash.clone());
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
        let r = post(&s.url("/admin/reload"), "", &[("Authorization", auth.as_str())]);
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
    wait_in_flight(&s, 1);
    s.signal("TERM");
    assert!(s.wait_for_log("SIGTERM", Duration::from_secs(5)));
    std::thread::sleep(Duration::from_millis(300));
    assert!(s.wait_exit(Duration::ZERO).is_none(), "still running while a request is in flight");
    // New connections are no longer accepted.
    assert!(std::net::TcpStream::connect_timeout(&s.addr, Duration::from_secs(1)).is_err());
    conn.send(tail);
    let (status, answer) = conn.finish();
    assert_eq!(status, 200, "{answer}");
    let v: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!((v["id"].as_str(), v["action"].as_str()), (Some("in-flight"), Some("hold")));
    let exit = s.wait_exit(Duration::from_secs(10)).expect("exits after draining");
    assert!(exit.success(), "{exit}");
    // The log reader thread may still be draining the pipe.
    assert!(s.wait_for_log("\"message\":\"stopped\"", Duration::from_secs(5)));
}

#[test]
fn sigterm_gives_up_on_requests_after_the_grace_period() {
    let mut s = Server::start(&["--model", &model_arg(), "--shutdown-grace", "300ms", "--request-timeout", "60s"]);
    // An upload that never finishes: without the grace period, shutdown would wait for it.
    let body = json!({ "text": VIOLENT }).to_string();
    let _stalled = RawConn::start_post(s.addr, "/v1/check", body.len(), &body.as_bytes()[..4]);
    wait_in_flight(&s, 1);
    s.signal("TERM");
    let exit = s.wait_exit(Duration::from_secs(20)).expect("exits once the grace period is over");
    assert!(exit.success(), "{exit}");
    assert!(s.wait_for_log("shutdown grace period over", Duration::from_secs(5)), "{:?}", s.logs());
    let line: Value = s
        .logs()
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["message"].as_str().is_some_and(|m| m.contains("grace period over")))
        .unwrap();
    assert_eq!(line["in_flight"], 1, "the log says how many requests were cut off");
}
