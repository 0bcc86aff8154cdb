//! Limits, malformed input, logs and start-up errors of `raqib serve`.

use super::*;
use crate::harness::RawConn;

#[test]
fn limits_answer_413_408_503() {
    let s = Server::start(&["--model", &model_arg()]);
    // Body over the 64 KiB default, declared by Content-Length.
    let big = json!({ "text": "a".repeat(70 * 1024) }).to_string();
    assert_eq!(native_error(&post(&s.url("/v1/check"), &big, &[]), 413), "body_too_large");
    perspective_error(&post(&s.url("/v1alpha1/comments:analyze"), &big, &[]), 413, "INVALID_ARGUMENT");
    // Just under the limit but over the comment length (20,000 characters by default).
    let long = json!({ "text": "ب".repeat(20_001) }).to_string();
    assert!(long.len() < 64 * 1024);
    assert_eq!(native_error(&post(&s.url("/v1/check"), &long, &[]), 413), "comment_too_long");
    let r = post(&s.url("/v1alpha1/comments:analyze"), coral_analyze_body(&"ب".repeat(20_001)), &[]);
    assert!(perspective_error(&r, 400, "INVALID_ARGUMENT").contains("longer than 20000"));
    assert_eq!(check(&s, &"ب".repeat(20_000)).status, 200, "at the limit is fine");
    // A chunked body (no Content-Length) is cut off at the limit too.
    let mut raw = RawConn::raw(
        s.addr,
        b"POST /v1/check HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
    );
    let chunk = "a".repeat(16 * 1024);
    for _ in 0..5 {
        raw.send(format!("{:x}\r\n{chunk}\r\n", chunk.len()).as_bytes());
    }
    raw.send(b"0\r\n\r\n");
    let (status, body) = raw.finish();
    assert_eq!(status, 413, "{body}");

    // Request timeout, upload included: a client that stalls mid-body gets 408.
    let s = Server::start(&["--model", &model_arg(), "--request-timeout", "300ms", "--max-body", "2KiB"]);
    let stalled = RawConn::start_post(s.addr, "/v1/check", 100, b"{\"text\": \"we will");
    let (status, body) = stalled.finish();
    assert_eq!(status, 408, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["error"]["code"], "timeout");
    let r = post(&s.url("/v1/check"), json!({ "text": "x".repeat(3000) }).to_string(), &[]);
    assert_eq!(native_error(&r, 413), "body_too_large", "--max-body applies");

    // Concurrency: with one slot taken by a stalled upload, the next request is shed at once.
    let s = Server::start(&["--model", &model_arg(), "--max-concurrency", "1"]);
    let body = json!({ "text": VIOLENT }).to_string();
    let (head, tail) = body.as_bytes().split_at(5);
    let mut first = RawConn::start_post(s.addr, "/v1/check", body.len(), head);
    wait_in_flight(&s, 1);
    let shed = check(&s, WEATHER);
    assert_eq!(native_error(&shed, 503), "overloaded");
    assert_eq!(shed.header("retry-after"), Some("1"));
    assert_eq!(get(&s.url("/healthz"), &[]).status, 200, "probes are exempt");
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
        b"{\"comment\": {\"text\": \"x\"}, \"requestedAttributes\": {\"TOXICITY\": {\"scoreThreshold\": \"high\"}}}"
            .to_vec(),
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
    let routes =
        ["/v1/check", "/v1/score", "/v1alpha1/comments:analyze", "/v1alpha1/comments:suggestscore", "/coral/phase"];
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
    // Every request has its log line (read from the pipe by a thread) before the logs are checked.
    let requests = routes.len() * bodies.len();
    assert!(s.wait_for_log_count("\"route\":", requests, Duration::from_secs(10)));
    let logs = s.logs();
    assert!(logs.iter().all(|l| !l.contains("panic")), "{logs:?}");
    assert!(!logs.iter().any(|l| l.contains("\"status\":500")));
}

#[test]
fn logs_leave_comment_text_out_unless_asked() {
    let marker = "unique-marker-text-kill-them-4417";
    let s = Server::start(&["--model", &model_arg()]);
    check(&s, marker);
    post(&s.url("/v1alpha1/comments:analyze"), coral_analyze_body(marker), &[]);
    post(&s.url("/v1/check"), format!("{{\"text\": {{\"oops\": \"{marker}\"}}}}"), &[]);
    assert!(s.wait_for_log_count("\"message\":\"request\"", 3, Duration::from_secs(5)), "{:?}", s.logs());
    let logs = s.logs();
    // Structured (JSON) request lines with the decision, not the text.
    let line: Value =
        logs.iter().filter_map(|l| serde_json::from_str::<Value>(l).ok()).find(|v| v["route"] == "/v1/check").unwrap();
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
    assert_eq!(Server::start_failure(&["--model", corrupt.to_str().unwrap()]).0, 3);
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
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_raqib")).args(["serve", "--help"]).output().unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("[default: 127.0.0.1:8080]"));
}

/// Read one HTTP/1.1 answer with a `Content-Length` from a kept-alive connection.
fn read_answer(stream: &mut std::net::TcpStream) -> (u16, String) {
    use std::io::Read;
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        assert_eq!(stream.read(&mut byte).expect("read the answer head"), 1, "closed mid-answer");
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf).to_string();
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let len: usize = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body).unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// Whether the server closes `stream` (EOF or reset) within 20 s, and how long it took.
fn closed_by_server(stream: &mut std::net::TcpStream) -> (bool, Duration) {
    use std::io::Read;
    let start = std::time::Instant::now();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut buf = [0u8; 256];
    let closed = loop {
        match stream.read(&mut buf) {
            Ok(0) => break true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break true,
            Err(_) => break false,
        }
    };
    (closed, start.elapsed())
}

#[test]
fn connection_deadlines_close_stalled_heads_and_idle_connections() {
    use std::io::Write;
    let s = Server::start(&["--model", &model_arg(), "--request-timeout", "400ms", "--idle-timeout", "1500ms"]);
    // Half a request head, then silence: no handler ever runs, so only the connection's head
    // deadline (the request timeout) can end it.
    let mut head = std::net::TcpStream::connect(s.addr).unwrap();
    head.write_all(b"POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Le").unwrap();
    let (closed, after) = closed_by_server(&mut head);
    assert!(closed, "a stalled request head was never closed");
    assert!(after >= Duration::from_millis(350), "closed after {after:?}, before the request timeout");

    // A connection that never sends anything is closed after the idle timeout.
    let mut idle = std::net::TcpStream::connect(s.addr).unwrap();
    let (closed, after) = closed_by_server(&mut idle);
    assert!(closed && after >= Duration::from_millis(1400), "idle connection: closed {closed} after {after:?}");

    // Keep-alive works within the idle timeout, and the head deadline does not cut a request
    // whose handler is running (here: waiting for a slow body, answered 408 by the handler).
    let mut conn = std::net::TcpStream::connect(s.addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let body = json!({ "text": VIOLENT }).to_string();
    let request = format!("POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}", body.len());
    for _ in 0..2 {
        conn.write_all(request.as_bytes()).unwrap();
        let (status, answer) = read_answer(&mut conn);
        assert_eq!(status, 200, "{answer}");
        std::thread::sleep(Duration::from_millis(500));
    }
    write!(conn, "POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{{\"te", body.len()).unwrap();
    let (status, answer) = read_answer(&mut conn);
    assert_eq!(
        (status, serde_json::from_str::<Value>(&answer).unwrap()["error"]["code"].clone()),
        (408, json!("timeout"))
    );
    assert_eq!(get(&s.url("/healthz"), &[]).status, 200);
}

#[test]
fn batches_in_flight_are_bounded_separately() {
    let s = Server::start(&["--model", &model_arg(), "--max-batch-concurrency", "1"]);
    let body = json!({ "comments": [{ "text": VIOLENT }] }).to_string();
    let (head, tail) = body.as_bytes().split_at(8);
    let mut first = RawConn::start_post(s.addr, "/v1/score", body.len(), head);
    wait_in_flight(&s, 1);
    // A second batch would buffer another --max-batch-body: shed. Single checks still go through.
    let shed = post(&s.url("/v1/score"), &body, &[]);
    assert_eq!(native_error(&shed, 503), "overloaded");
    assert_eq!(shed.header("retry-after"), Some("1"));
    assert_eq!(check(&s, WEATHER).status, 200);
    first.send(tail);
    let (status, answer) = first.finish();
    assert_eq!(status, 200, "{answer}");
    assert_eq!(post(&s.url("/v1/score"), &body, &[]).status, 200, "the batch slot is free again");
    assert_eq!(Server::start_failure(&["--max-batch-concurrency", "0"]).0, 2);
}

/// The README's `curl … -d '{"text": …}'` sends `Content-Type: application/x-www-form-urlencoded`
/// (curl's default for `-d`); the body is JSON all the same and is read as such.
#[test]
fn curl_style_requests_without_a_json_content_type_work() {
    let s = Server::start(&["--model", &model_arg()]);
    let body = json!({ "text": VIOLENT, "id": "c-17" }).to_string();
    let head = format!(
        "POST /v1/check HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let (status, answer) = RawConn::raw(s.addr, head.as_bytes()).finish();
    assert_eq!(status, 200, "{answer}");
    let v: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!((v["id"].as_str(), v["action"].as_str()), (Some("c-17"), Some("hold")));
}
