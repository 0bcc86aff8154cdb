//! Layers around every handler, outermost first: [`observe`] (metrics, request log), [`guard`]
//! (concurrency limit, request timeout), then tower-http's panic catcher (a panic in a handler
//! becomes a 500 JSON answer, never a dropped connection).

use super::conn::ConnHandle;
use super::http::{ApiError, ErrorCode, Flavor};
use super::metrics::Route;
use super::native::Id;
use super::state::{AppState, Snapshot};
use crate::Scores;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Instant;

/// What a scoring handler tells the request log: counts and decisions, comment text only when
/// the operator asked for it (`--log-comments`).
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestOutcome {
    comments: usize,
    held: usize,
    /// Flagged labels of a single comment, comma-separated.
    labels: String,
    score: Option<f64>,
    id: Option<String>,
    text: Option<String>,
}

impl RequestOutcome {
    pub(crate) fn single(state: &AppState, snap: &Snapshot, scores: &Scores, id: Option<&Id>, text: &str) -> Self {
        let labels = snap
            .model
            .labels()
            .iter()
            .zip(&scores.labels)
            .filter(|(_, s)| s.flagged)
            .map(|(h, _)| h.name.as_str())
            .collect::<Vec<_>>()
            .join(",");
        RequestOutcome {
            comments: 1,
            held: usize::from(scores.flagged),
            labels,
            score: Some(scores.max_probability()),
            id: id.map(|i| i.to_string()),
            text: state.config().log_comments.then(|| text.to_string()),
        }
    }

    pub(crate) fn batch(scores: &[Scores]) -> Self {
        RequestOutcome {
            comments: scores.len(),
            held: scores.iter().filter(|s| s.flagged).count(),
            ..Default::default()
        }
    }
}

fn route_of(req: &Request) -> Route {
    req.extensions().get::<MatchedPath>().map_or(Route::Unmatched, |p| Route::from_path(p.as_str()))
}

/// Count and time every request by route and status, and log one line per request. The log has
/// method, route, status, latency, and for scoring routes the counts and decisions; never the
/// comment text unless `--log-comments`, never the query string (it may hold `?key=`).
pub(crate) async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    // The request head is in: from here the handler's timeout (in `guard`) applies, not the
    // connection's head deadline. Absent when the router is served by other means than `serve`.
    if let Some(ConnectInfo(conn)) = req.extensions().get::<ConnectInfo<ConnHandle>>() {
        conn.handler_started();
    }
    let route = route_of(&req);
    let method = req.method().clone();
    let res = next.run(req).await;
    let elapsed = start.elapsed();
    let status = res.status().as_u16();
    state.metrics().observe(route, status, elapsed);
    if route.is_operational() {
        tracing::debug!(%method, route = route.path(), status, latency_us = elapsed.as_micros() as u64, "request");
        return res;
    }
    // `Option` fields are recorded only when present.
    let error = res.extensions().get::<ErrorCode>().map(|c| c.0);
    let o = res.extensions().get::<RequestOutcome>().cloned().unwrap_or_default();
    let id = o.id.as_deref();
    let latency_us = elapsed.as_micros() as u64;
    let score = o.score;
    let labels = (!o.labels.is_empty()).then_some(o.labels.as_str());
    match (&o.text, status >= 500) {
        // Load shedding is expected under overload: a warning, not an error per request.
        (_, true) if status == 503 => {
            tracing::warn!(%method, route = route.path(), status, latency_us, error, "request shed")
        }
        (_, true) => {
            tracing::error!(%method, route = route.path(), status, latency_us, error, "request failed")
        }
        (Some(text), _) => tracing::info!(
            %method, route = route.path(), status, latency_us, comments = o.comments, held = o.held,
            labels, score, id, error, text = %text, "request"
        ),
        (None, _) => tracing::info!(
            %method, route = route.path(), status, latency_us, comments = o.comments, held = o.held,
            labels, score, id, error, "request"
        ),
    }
    res
}

/// Shed load beyond the concurrency limit (503 at once, `Retry-After: 1`) and bound each
/// request's time, body upload included (408). Health, readiness and metrics are exempt from the
/// concurrency limit so that probes keep working under load.
pub(crate) async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = route_of(&req);
    let flavor = Flavor::of_path(req.uri().path());
    let _permit = if route.is_operational() {
        None
    } else {
        match state.inner.permits.clone().try_acquire_owned() {
            Ok(p) => Some(p),
            Err(_) => {
                return ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "overloaded",
                    "too many requests in flight; retry shortly",
                )
                .flavor(flavor)
                .into_response()
            }
        }
    };
    let timeout = state.config().limits.request_timeout;
    match tokio::time::timeout(timeout, next.run(req)).await {
        // The panic catcher below cannot see the route; answer in the route's error shape here.
        Ok(res) if flavor != Flavor::Native && res.extensions().get::<Panicked>().is_some() => {
            let mut res = ApiError::internal("internal error").flavor(flavor).into_response();
            res.extensions_mut().insert(Panicked);
            res
        }
        Ok(res) => res,
        Err(_) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "timeout",
            format!("the request took longer than {} ms", timeout.as_millis()),
        )
        .flavor(flavor)
        .into_response(),
    }
}

/// tower-http's `CatchPanicLayer` calls this with the panic payload. The payload is not shown to
/// the client (it could quote input); it is logged.
pub(crate) fn panic_response(payload: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    tracing::error!(panic = %what, "handler panicked; answered 500");
    let mut res = ApiError::internal("internal error").into_response();
    res.extensions_mut().insert(Panicked);
    res
}

/// Marks the answer to a request whose handler panicked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Panicked;

/// 404 for unknown paths, as JSON.
pub(crate) async fn not_found(req: Request) -> ApiError {
    let path = req.uri().path();
    ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no such endpoint: {path}")).flavor(Flavor::of_path(path))
}

/// 405 for a known path with the wrong method, as JSON.
pub(crate) async fn method_not_allowed(req: Request) -> ApiError {
    let path = req.uri().path();
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} is not allowed on {path}", req.method()),
    )
    .flavor(Flavor::of_path(path))
}
