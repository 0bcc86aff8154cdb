//! Running the real `raqib serve` binary for a test: start it on an ephemeral loopback port,
//! collect its JSON logs, talk to it over real HTTP (ureq) or a raw socket, signal it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The committed two-label fixture model (violence, extremism).
pub fn fixture_model() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/model-v1.raqib")
}

/// A running server, killed on drop if still running.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    logs: Arc<Mutex<Vec<String>>>,
}

/// Spawn `raqib serve ARGS` and collect stderr lines into a shared buffer.
fn spawn(args: &[&str]) -> (Child, Arc<Mutex<Vec<String>>>) {
    // An ephemeral loopback port unless the test picks the address.
    let bind: &[&str] = if args.contains(&"--bind") { &[] } else { &["--bind", "127.0.0.1:0"] };
    let mut child = Command::new(env!("CARGO_BIN_EXE_raqib"))
        .arg("serve")
        .args(bind)
        .args(["--log-format", "json"])
        .args(args)
        .env_remove("RAQIB_MODEL")
        .env_remove("RAQIB_API_KEY_FILE")
        .env_remove("RAQIB_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start raqib serve");
    let logs = Arc::new(Mutex::new(Vec::new()));
    let stderr = child.stderr.take().expect("stderr piped");
    let sink = logs.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            sink.lock().unwrap().push(line);
        }
    });
    (child, logs)
}

impl Server {
    /// Start with extra arguments; panics (with the logs) if it does not report listening in 30 s.
    pub fn start(args: &[&str]) -> Server {
        let (mut child, logs) = spawn(args);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let addr = logs.lock().unwrap().iter().find_map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).ok()?;
                (v["message"] == "listening").then(|| v["addr"].as_str()?.parse().ok())?
            });
            if let Some(addr) = addr {
                return Server { child, addr, logs };
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("server exited with {status} before listening:\n{}", logs.lock().unwrap().join("\n"));
            }
            assert!(Instant::now() < deadline, "server did not start:\n{}", logs.lock().unwrap().join("\n"));
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Run `raqib serve ARGS` expecting it to fail at start; returns the exit code and stderr.
    pub fn start_failure(args: &[&str]) -> (i32, String) {
        let (mut child, logs) = spawn(args);
        let status = wait_timeout(&mut child, Duration::from_secs(30)).expect("server should exit at once");
        std::thread::sleep(Duration::from_millis(50));
        let logs = logs.lock().unwrap().join("\n");
        (status.code().unwrap_or(-1), logs)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// All log lines so far.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    /// Wait until a log line contains `needle`.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.logs().iter().any(|l| l.contains(needle)) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    /// Wait until at least `n` log lines contain `needle`.
    pub fn wait_for_log_count(&self, needle: &str, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.logs().iter().filter(|l| l.contains(needle)).count() >= n {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    /// Send a signal by name (`HUP`, `TERM`) with kill(1).
    pub fn signal(&self, name: &str) {
        let ok = Command::new("kill").args(["-s", name, &self.pid().to_string()]).status().expect("run kill").success();
        assert!(ok, "kill -s {name} failed");
    }

    /// Wait for the process to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        wait_timeout(&mut self.child, timeout)
    }
}

fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(Some(s)) = child.try_wait() {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// An HTTP answer: status, lower-case headers, body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

fn reply(mut res: ureq::http::Response<ureq::Body>) -> Reply {
    let status = res.status().as_u16();
    let headers =
        res.headers().iter().map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string())).collect();
    let body = res.body_mut().with_config().limit(64 << 20).read_to_string().expect("read the answer");
    Reply { status, headers, body }
}

/// POST `body` with `Content-Type: application/json` and extra headers.
pub fn post(url: &str, body: impl AsRef<[u8]>, headers: &[(&str, &str)]) -> Reply {
    let mut req = agent().post(url).header("Content-Type", "application/json");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    reply(req.send(body.as_ref()).unwrap_or_else(|e| panic!("POST {url}: {e}")))
}

pub fn get(url: &str, headers: &[(&str, &str)]) -> Reply {
    let mut req = agent().get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    reply(req.call().unwrap_or_else(|e| panic!("GET {url}: {e}")))
}

/// A hand-driven HTTP/1.1 connection, for what a normal client cannot do: stall mid-body.
pub struct RawConn {
    stream: TcpStream,
}

impl RawConn {
    /// Send a POST's head with `Content-Length: content_length` and the first part of the body.
    pub fn start_post(addr: SocketAddr, path: &str, content_length: usize, first: &[u8]) -> RawConn {
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {content_length}\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(first).unwrap();
        stream.flush().unwrap();
        RawConn { stream }
    }

    /// Open a connection and write `bytes` as they are (a hand-made request head).
    pub fn raw(addr: SocketAddr, bytes: &[u8]) -> RawConn {
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        stream.write_all(bytes).unwrap();
        RawConn { stream }
    }

    /// Write more of the request. A server that already answered and closed may refuse it.
    pub fn send(&mut self, rest: &[u8]) {
        let _ = self.stream.write_all(rest);
        let _ = self.stream.flush();
    }

    /// Read the whole answer (the server closes: `Connection: close`); status and body.
    pub fn finish(mut self) -> (u16, String) {
        let mut buf = Vec::new();
        let _ = self.stream.read_to_end(&mut buf);
        let text = String::from_utf8_lossy(&buf).into_owned();
        let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let body = text.split_once("\r\n\r\n").map_or(String::new(), |(_, b)| b.to_string());
        (status, body)
    }
}
