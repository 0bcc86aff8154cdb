//! Stage 7: the pre-publication hook server behind `raqib serve`. Comment systems call it over
//! HTTP before they publish; it answers in well under a millisecond.
//!
//! | route | what |
//! |---|---|
//! | `POST /v1/check` | one comment → decision, label scores, model; `?explain=true` adds n-grams with spans |
//! | `POST /v1/score` | a batch (default at most 1,000) → decisions in request order |
//! | `POST /v1alpha1/comments:analyze` | Perspective API `AnalyzeComment` ([`perspective`](self) module docs) |
//! | `POST /v1alpha1/comments:suggestscore` | Perspective feedback, appended to a JSONL file |
//! | `POST /coral/phase` | Coral Talk external moderation phase, HMAC-signed |
//! | `GET /healthz`, `GET /readyz` | liveness; readiness with the serving model |
//! | `GET /metrics` | Prometheus text format |
//! | `POST /admin/reload` | reload the model file (admin key), as SIGHUP does |
//!
//! Configuration goes [`ServeParams`] → [`ServeParams::check`] → [`ServeConfig`]; [`run`] serves
//! until SIGTERM or SIGINT, reloading the model on SIGHUP. [`router`] gives the bare
//! [`axum::Router`] for embedding. `docs/SERVER.md` is the operator's guide.
//!
//! ```no_run
//! # async fn demo() -> Result<(), raqib::serve::ServeError> {
//! let config = raqib::serve::ServeParams::default().check()?;
//! let model = raqib::model::embedded_default()?;
//! raqib::serve::run(config, model).await
//! # }
//! ```

mod attributes;
mod config;
mod conn;
mod coral;
mod html;
mod http;
mod metrics;
mod middleware;
mod native;
mod ops;
mod perspective;
mod state;

pub use attributes::AttributeTarget;
pub use config::{Limits, ServeConfig, ServeError, ServeParams, MIN_KEY_LEN};
pub use state::{AppState, ReloadError, ReloadOutcome};

pub(crate) use middleware::RequestOutcome;

use axum::routing::{get, post};
use axum::Router;
use std::future::{Future, IntoFuture};
use tokio::net::TcpListener;

/// All routes with their layers (metrics and logging, concurrency limit and timeout, panic
/// catcher) over `state`.
pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route("/v1/check", post(native::check))
        .route("/v1/score", post(native::score))
        .route("/v1alpha1/comments:analyze", post(perspective::analyze))
        .route("/v1alpha1/comments:suggestscore", post(perspective::suggest_score))
        .route("/coral/phase", post(coral::phase))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/admin/reload", post(ops::reload));
    with_layers(routes, state)
}

/// The fallbacks and layers of [`router`] around `routes`.
fn with_layers(routes: Router<AppState>, state: AppState) -> Router {
    routes
        .fallback(middleware::not_found)
        .method_not_allowed_fallback(middleware::method_not_allowed)
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(middleware::panic_response))
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::guard))
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::observe))
        .with_state(state)
}

/// Serve `config` with `model` until SIGTERM or SIGINT; SIGHUP reloads the model file. Errors:
/// [`ServeError::Config`] if the attribute map does not fit the model, [`ServeError::File`] if
/// the feedback file cannot be opened, [`ServeError::Bind`] if the address is taken.
pub async fn run(config: ServeConfig, model: crate::Model) -> Result<(), ServeError> {
    let signals = Signals::install()?;
    let state = AppState::new(config, model)?;
    let addr = state.config().bind;
    let listener = TcpListener::bind(addr).await.map_err(|source| ServeError::Bind { addr, source })?;
    let local = listener.local_addr()?;
    {
        let snap = state.snapshot();
        let labels: Vec<&str> = snap.model.label_names().collect();
        tracing::info!(
            addr = %local,
            model = %snap.model.meta().name,
            hash = %snap.hash,
            source = %snap.source,
            labels = ?labels,
            attributes = ?snap.attributes.describe(&snap.model),
            "listening"
        );
    }
    let (reloads, shutdown) = signals.split(state.clone());
    let result = serve(listener, state, shutdown).await;
    reloads.abort();
    tracing::info!("stopped");
    result
}

/// Serve on `listener` until `shutdown` completes, then stop accepting, let in-flight requests
/// finish (up to the configured grace period) and return.
pub async fn serve<F>(listener: TcpListener, state: AppState, shutdown: F) -> Result<(), ServeError>
where
    F: Future<Output = ()> + Send + 'static,
{
    serve_app(listener, router(state.clone()), state, shutdown).await
}

/// [`serve`] with the routes given.
async fn serve_app<F>(listener: TcpListener, app: Router, state: AppState, shutdown: F) -> Result<(), ServeError>
where
    F: Future<Output = ()> + Send + 'static,
{
    let grace = state.config().shutdown_grace;
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = tx.send(true);
    });
    let (mut stop, mut deadline) = (rx.clone(), rx);
    let limits = state.config().limits;
    let deadlines = conn::Deadlines { head: limits.request_timeout, idle: limits.idle_timeout };
    let listener = conn::TimedListener::new(listener, deadlines);
    let app = app.into_make_service_with_connect_info::<conn::ConnHandle>();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        if stop.wait_for(|&v| v).await.is_err() {
            std::future::pending::<()>().await;
        }
    });
    tokio::select! {
        r = server.into_future() => r.map_err(ServeError::Io),
        () = async move {
            if deadline.wait_for(|&v| v).await.is_err() {
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!(in_flight = state.in_flight(), grace_ms = grace.as_millis() as u64, "shutdown grace period over; exiting with requests unfinished");
            Ok(())
        }
    }
}

/// SIGHUP, SIGTERM and SIGINT handlers, installed before the socket is opened: SIGHUP's default
/// action ends the process, and a reload signal sent right after start must not.
struct Signals {
    #[cfg(unix)]
    hup: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Signals {
    #[cfg(unix)]
    fn install() -> std::io::Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Signals {
            hup: signal(SignalKind::hangup())?,
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    #[cfg(not(unix))]
    fn install() -> std::io::Result<Signals> {
        Ok(Signals {})
    }

    /// A task reloading on each SIGHUP, and a future that completes on SIGTERM or SIGINT (after
    /// marking the state as draining).
    fn split(self, state: AppState) -> (tokio::task::JoinHandle<()>, impl Future<Output = ()> + Send + 'static) {
        #[cfg(unix)]
        let Signals { mut hup, mut term, mut int } = self;
        let reload_state = state.clone();
        let reloads = tokio::spawn(async move {
            #[cfg(unix)]
            while hup.recv().await.is_some() {
                tracing::info!("SIGHUP: reloading the model");
                // The outcome is logged and counted by `reload` itself.
                let _ = reload_state.reload().await;
            }
            #[cfg(not(unix))]
            let _ = reload_state;
        });
        let shutdown = async move {
            #[cfg(unix)]
            tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM: finishing in-flight requests, then stopping"),
                _ = int.recv() => tracing::info!("SIGINT: finishing in-flight requests, then stopping"),
            }
            #[cfg(not(unix))]
            {
                let _ = tokio::signal::ctrl_c().await;
                tracing::info!("interrupted: finishing in-flight requests, then stopping");
            }
            state.begin_drain();
        };
        (reloads, shutdown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// Serve `app` on an ephemeral port; the sender stops it.
    async fn start(app: Router, state: &AppState) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(serve_app(listener, app, state.clone(), async move {
            let _ = stopped.await;
        }));
        (addr, stop)
    }

    /// One POST over a fresh TCP connection: status line and body of the answer.
    async fn raw_post(addr: std::net::SocketAddr, path: &'static str, body: &'static str) -> (String, String) {
        tokio::task::spawn_blocking(move || {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            write!(
                s,
                "POST {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
            (head.lines().next().unwrap_or("").to_string(), body.to_string())
        })
        .await
        .unwrap()
    }

    fn state() -> AppState {
        let config = ServeParams::default().check().unwrap();
        AppState::new(config, crate::testutil::tiny_model().clone()).unwrap()
    }

    /// The library path, as an embedding application would use it: `serve` on an ephemeral port
    /// with its own shutdown future, one real request over TCP, then a clean stop.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn serves_on_an_ephemeral_port_until_told_to_stop() {
        let state = state();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, state.clone(), async move {
            let _ = stopped.await;
        }));
        let (status, body) = raw_post(addr, "/v1/check", r#"{"text": "اقتلوهم kill them", "id": "x"}"#).await;
        assert!(status.starts_with("HTTP/1.1 200"), "{status}");
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["id"], "x");
        assert_eq!(json["action"], "hold");
        assert_eq!(json["model"]["hash"], state.snapshot().hash);
        stop.send(()).unwrap();
        server.await.unwrap().unwrap();
    }

    /// A handler that panics (a bug) gets a 500 JSON answer in its route's error shape, is
    /// counted and logged, and the server keeps serving. No real route can be made to panic from
    /// outside, so two panicking routes are put behind the same layers.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_handler_is_answered_500_and_the_server_goes_on() {
        async fn boom() -> &'static str {
            panic!("a bug")
        }
        let state = state();
        let routes = Router::new()
            .route("/v1/boom", post(boom))
            .route("/v1alpha1/boom", post(boom))
            .route("/v1/check", post(native::check))
            .route("/metrics", get(ops::metrics));
        let (addr, stop) = start(with_layers(routes, state.clone()), &state).await;
        let (status, body) = raw_post(addr, "/v1/boom", "{}").await;
        assert!(status.starts_with("HTTP/1.1 500"), "{status}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["error"]["code"], "internal");
        assert_eq!(v["error"]["status"], 500);
        let (status, body) = raw_post(addr, "/v1alpha1/boom", "{}").await;
        assert!(status.starts_with("HTTP/1.1 500"), "{status}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!((v["error"]["code"].as_u64(), v["error"]["status"].as_str()), (Some(500), Some("INTERNAL")));
        let (status, _) = raw_post(addr, "/v1/check", r#"{"text": "still here"}"#).await;
        assert!(status.starts_with("HTTP/1.1 200"), "{status}");
        let m = state.metrics().render(&state.snapshot().info(), 0);
        assert!(m.contains("raqib_http_requests_total{route=\"unmatched\",code=\"500\"} 2\n"), "{m}");
        stop.send(()).unwrap();
    }
}
