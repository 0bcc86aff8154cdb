//! Operational endpoints: liveness, readiness, metrics, reload.

use super::http::{authorize, ApiError, Flavor, Scope};
use super::state::{AppState, ReloadError};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// `GET /healthz`: 200 while the process can answer at all (liveness).
pub(crate) async fn healthz() -> Response {
    axum::Json(json!({ "status": "ok" })).into_response()
}

fn model_json(state: &AppState) -> serde_json::Value {
    let snap = state.snapshot();
    let labels: Vec<_> =
        snap.model.labels().iter().map(|l| json!({ "name": l.name, "threshold": l.threshold })).collect();
    json!({
        "name": snap.model.meta().name,
        "hash": snap.hash,
        "labels": labels,
        "source": snap.source,
        "loaded_at": crate::train::rfc3339(snap.loaded_at),
        "attributes": snap.attributes.describe(&snap.model),
    })
}

/// `GET /readyz`: 200 with the serving model when ready for traffic; 503 once shutdown has begun,
/// so a load balancer takes the replica out before it stops.
pub(crate) async fn readyz(State(state): State<AppState>) -> Response {
    if state.is_draining() {
        return (StatusCode::SERVICE_UNAVAILABLE, axum::Json(json!({ "status": "draining" }))).into_response();
    }
    axum::Json(json!({ "status": "ready", "model": model_json(&state) })).into_response()
}

/// `GET /metrics`: Prometheus text format 0.0.4.
pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    let body = state.metrics().render(&state.snapshot().info(), state.in_flight());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body).into_response()
}

/// `POST /admin/reload` (admin key): reload the model file now, as SIGHUP does.
/// 200 with the old and new hashes; 409 when serving the embedded model (no file to re-read);
/// 422 when the file is corrupt or incompatible, the old model still serving.
pub(crate) async fn reload(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Result<Response, ApiError> {
    authorize(&state, &headers, uri.query(), Scope::Admin, Flavor::Native)?;
    match state.reload().await {
        Ok(o) => Ok(axum::Json(json!({
            "status": "reloaded",
            "changed": o.changed,
            "previous": o.previous,
            "current": o.current,
            "model": model_json(&state),
        }))
        .into_response()),
        Err(e @ ReloadError::NoFile) => Err(ApiError::new(StatusCode::CONFLICT, "no_model_file", e.to_string())),
        Err(e) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "model_rejected",
            format!("{e}; the previous model keeps serving"),
        )),
    }
}
