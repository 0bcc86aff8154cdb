//! Prometheus metrics, kept in atomics (no lock on the request path) and rendered in the text
//! exposition format 0.0.4 by `GET /metrics`.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `raqib_http_requests_total` | counter | `route`, `code` |
//! | `raqib_http_request_duration_seconds` | histogram | `route` |
//! | `raqib_http_requests_in_flight` | gauge | |
//! | `raqib_comments_scored_total` | counter | `action` (`publish`, `hold`) |
//! | `raqib_flags_total` | counter | `label` |
//! | `raqib_model_info` | gauge (always 1) | `name`, `hash`, `labels`, `source` |
//! | `raqib_model_loaded_timestamp_seconds` | gauge | |
//! | `raqib_model_reloads_total` | counter | `result` (`success`, `failure`) |

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The routes measured; anything else is `unmatched` (404s, probes for other paths).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    Check,
    Score,
    Analyze,
    SuggestScore,
    CoralPhase,
    Healthz,
    Readyz,
    Metrics,
    AdminReload,
    Unmatched,
}

impl Route {
    const ALL: [Route; 10] = [
        Route::Check,
        Route::Score,
        Route::Analyze,
        Route::SuggestScore,
        Route::CoralPhase,
        Route::Healthz,
        Route::Readyz,
        Route::Metrics,
        Route::AdminReload,
        Route::Unmatched,
    ];

    pub(crate) fn path(self) -> &'static str {
        match self {
            Route::Check => "/v1/check",
            Route::Score => "/v1/score",
            Route::Analyze => "/v1alpha1/comments:analyze",
            Route::SuggestScore => "/v1alpha1/comments:suggestscore",
            Route::CoralPhase => "/coral/phase",
            Route::Healthz => "/healthz",
            Route::Readyz => "/readyz",
            Route::Metrics => "/metrics",
            Route::AdminReload => "/admin/reload",
            Route::Unmatched => "unmatched",
        }
    }

    pub(crate) fn from_path(path: &str) -> Route {
        Route::ALL.into_iter().find(|r| r.path() == path).unwrap_or(Route::Unmatched)
    }

    /// Operational routes stay available under overload: a load balancer must still see them.
    pub(crate) fn is_operational(self) -> bool {
        matches!(self, Route::Healthz | Route::Readyz | Route::Metrics)
    }
}

/// Upper bounds of the latency histogram, seconds: 50 µs to 5 s, dense around the
/// sub-millisecond answers the server is built for.
const BUCKETS: [f64; 15] =
    [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

/// Status codes 100..=599, one counter each.
const CODES: usize = 500;

struct RouteMetrics {
    by_code: Box<[AtomicU64]>,
    /// Non-cumulative: `buckets[i]` counts durations in (BUCKETS[i-1], BUCKETS[i]]; the last
    /// slot counts those above every bound.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_nanos: AtomicU64,
    count: AtomicU64,
}

impl RouteMetrics {
    fn new() -> Self {
        RouteMetrics {
            by_code: (0..CODES).map(|_| AtomicU64::new(0)).collect(),
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_nanos: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }
}

/// All counters of one server.
pub(crate) struct Metrics {
    routes: Vec<RouteMetrics>,
    publish: AtomicU64,
    hold: AtomicU64,
    /// Per label name, kept across reloads so counters never go back.
    flags: Mutex<BTreeMap<String, Arc<AtomicU64>>>,
    reload_success: AtomicU64,
    reload_failure: AtomicU64,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        Metrics {
            routes: Route::ALL.iter().map(|_| RouteMetrics::new()).collect(),
            publish: AtomicU64::new(0),
            hold: AtomicU64::new(0),
            flags: Mutex::new(BTreeMap::new()),
            reload_success: AtomicU64::new(0),
            reload_failure: AtomicU64::new(0),
        }
    }

    fn route(&self, r: Route) -> &RouteMetrics {
        let i = Route::ALL.iter().position(|x| *x == r).unwrap_or(Route::ALL.len() - 1);
        &self.routes[i]
    }

    pub(crate) fn observe(&self, route: Route, status: u16, elapsed: Duration) {
        let m = self.route(route);
        if let Some(c) = (status as usize).checked_sub(100).and_then(|i| m.by_code.get(i)) {
            c.fetch_add(1, Relaxed);
        }
        let secs = elapsed.as_secs_f64();
        let slot = BUCKETS.iter().position(|&b| secs <= b).unwrap_or(BUCKETS.len());
        m.buckets[slot].fetch_add(1, Relaxed);
        m.sum_nanos.fetch_add(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX), Relaxed);
        m.count.fetch_add(1, Relaxed);
    }

    /// One scored comment's decision.
    pub(crate) fn decision(&self, flagged: bool) {
        if flagged { &self.hold } else { &self.publish }.fetch_add(1, Relaxed);
    }

    /// The counter of flags for a label, created at zero on first use.
    pub(crate) fn flag_counter(&self, label: &str) -> Arc<AtomicU64> {
        let mut flags = self.flags.lock().unwrap_or_else(|p| p.into_inner());
        flags.entry(label.to_string()).or_default().clone()
    }

    pub(crate) fn reload(&self, ok: bool) {
        if ok { &self.reload_success } else { &self.reload_failure }.fetch_add(1, Relaxed);
    }

    /// Render everything; `model` is the serving model's identity.
    pub(crate) fn render(&self, model: &ModelInfo, in_flight: usize) -> String {
        let mut out = String::with_capacity(8 * 1024);
        // Writing to a String cannot fail; the results are ignored for that reason.
        out.push_str("# HELP raqib_http_requests_total HTTP requests answered, by route and status code.\n");
        out.push_str("# TYPE raqib_http_requests_total counter\n");
        for r in Route::ALL {
            for (i, c) in self.route(r).by_code.iter().enumerate() {
                let n = c.load(Relaxed);
                if n > 0 {
                    let _ =
                        writeln!(out, "raqib_http_requests_total{{route=\"{}\",code=\"{}\"}} {n}", r.path(), i + 100);
                }
            }
        }
        out.push_str("# HELP raqib_http_request_duration_seconds Time from request to response, by route.\n");
        out.push_str("# TYPE raqib_http_request_duration_seconds histogram\n");
        for r in Route::ALL {
            let m = self.route(r);
            let count = m.count.load(Relaxed);
            if count == 0 {
                continue;
            }
            let mut cumulative = 0;
            for (i, b) in BUCKETS.iter().enumerate() {
                cumulative += m.buckets[i].load(Relaxed);
                let _ = writeln!(
                    out,
                    "raqib_http_request_duration_seconds_bucket{{route=\"{}\",le=\"{b}\"}} {cumulative}",
                    r.path()
                );
            }
            cumulative += m.buckets[BUCKETS.len()].load(Relaxed);
            let p = r.path();
            let _ =
                writeln!(out, "raqib_http_request_duration_seconds_bucket{{route=\"{p}\",le=\"+Inf\"}} {cumulative}");
            let sum = m.sum_nanos.load(Relaxed) as f64 / 1e9;
            let _ = writeln!(out, "raqib_http_request_duration_seconds_sum{{route=\"{p}\"}} {sum}");
            let _ = writeln!(out, "raqib_http_request_duration_seconds_count{{route=\"{p}\"}} {cumulative}");
        }
        out.push_str("# HELP raqib_http_requests_in_flight API requests being processed now.\n");
        out.push_str("# TYPE raqib_http_requests_in_flight gauge\n");
        let _ = writeln!(out, "raqib_http_requests_in_flight {in_flight}");
        out.push_str("# HELP raqib_comments_scored_total Comments scored, by decision.\n");
        out.push_str("# TYPE raqib_comments_scored_total counter\n");
        let _ = writeln!(out, "raqib_comments_scored_total{{action=\"publish\"}} {}", self.publish.load(Relaxed));
        let _ = writeln!(out, "raqib_comments_scored_total{{action=\"hold\"}} {}", self.hold.load(Relaxed));
        out.push_str("# HELP raqib_flags_total Comments flagged, by label (a comment may count for several).\n");
        out.push_str("# TYPE raqib_flags_total counter\n");
        for (label, n) in self.flags.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            let _ = writeln!(out, "raqib_flags_total{{label=\"{}\"}} {}", escape(label), n.load(Relaxed));
        }
        out.push_str("# HELP raqib_model_info The model being served (value always 1).\n");
        out.push_str("# TYPE raqib_model_info gauge\n");
        let _ = writeln!(
            out,
            "raqib_model_info{{name=\"{}\",hash=\"{}\",labels=\"{}\",source=\"{}\"}} 1",
            escape(&model.name),
            escape(&model.hash),
            escape(&model.labels.join(",")),
            escape(&model.source)
        );
        out.push_str("# HELP raqib_model_loaded_timestamp_seconds When the serving model was loaded (Unix time).\n");
        out.push_str("# TYPE raqib_model_loaded_timestamp_seconds gauge\n");
        let _ = writeln!(out, "raqib_model_loaded_timestamp_seconds {}", model.loaded_at);
        out.push_str("# HELP raqib_model_reloads_total Model reload attempts, by result.\n");
        out.push_str("# TYPE raqib_model_reloads_total counter\n");
        let _ = writeln!(out, "raqib_model_reloads_total{{result=\"success\"}} {}", self.reload_success.load(Relaxed));
        let _ = writeln!(out, "raqib_model_reloads_total{{result=\"failure\"}} {}", self.reload_failure.load(Relaxed));
        out
    }
}

/// What `/metrics` says about the serving model.
pub(crate) struct ModelInfo {
    pub name: String,
    pub hash: String,
    pub labels: Vec<String>,
    pub source: String,
    pub loaded_at: i64,
}

/// Escape a label value: backslash, double quote and newline, as the text format requires.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histogram_and_escapes() {
        let m = Metrics::new();
        m.observe(Route::Check, 200, Duration::from_micros(80));
        m.observe(Route::Check, 200, Duration::from_millis(3));
        m.observe(Route::Check, 413, Duration::from_secs(10));
        m.observe(Route::Unmatched, 999, Duration::ZERO);
        m.decision(true);
        m.flag_counter("vio\"lence").fetch_add(2, Relaxed);
        m.reload(false);
        let info = ModelInfo {
            name: "n".into(),
            hash: "h".into(),
            labels: vec!["a".into(), "b".into()],
            source: "<embedded>".into(),
            loaded_at: 5,
        };
        let text = m.render(&info, 1);
        assert!(text.contains("raqib_http_requests_total{route=\"/v1/check\",code=\"200\"} 2\n"));
        assert!(text.contains("raqib_http_requests_total{route=\"/v1/check\",code=\"413\"} 1\n"));
        assert!(text.contains("raqib_http_request_duration_seconds_bucket{route=\"/v1/check\",le=\"0.0001\"} 1\n"));
        assert!(text.contains("raqib_http_request_duration_seconds_bucket{route=\"/v1/check\",le=\"0.005\"} 2\n"));
        assert!(text.contains("raqib_http_request_duration_seconds_bucket{route=\"/v1/check\",le=\"+Inf\"} 3\n"));
        assert!(text.contains("raqib_http_request_duration_seconds_count{route=\"/v1/check\"} 3\n"));
        assert!(text.contains("raqib_flags_total{label=\"vio\\\"lence\"} 2\n"));
        assert!(text.contains("raqib_comments_scored_total{action=\"hold\"} 1\n"));
        assert!(text.contains("raqib_model_info{name=\"n\",hash=\"h\",labels=\"a,b\",source=\"<embedded>\"} 1\n"));
        assert!(text.contains("raqib_model_reloads_total{result=\"failure\"} 1\n"));
        // An impossible status code is dropped, never an index out of bounds.
        assert!(!text.contains("code=\"999\""));
    }
}
