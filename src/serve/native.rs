//! raqib's own API: `POST /v1/check` (one comment) and `POST /v1/score` (a batch, in order).

use super::http::{authorize, parse_json, query_param, read_body, too_long, ApiError, Flavor, Scope};
use super::state::{AppState, Snapshot};
use super::RequestOutcome;
use crate::model::char_span;
use crate::Scores;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use std::sync::Arc;

/// Default and largest number of n-grams `?explain=true` lists (`&top=N` picks another).
const EXPLAIN_TOP: usize = 5;
const EXPLAIN_TOP_MAX: usize = 50;
/// Batches at least this long are scored on the blocking pool, in parallel (rayon), so a 1,000
/// comment batch does not stall the async threads that answer single checks.
const PARALLEL_BATCH: usize = 64;

/// A client's comment id: a string or a number, echoed back as given.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub(crate) enum Id {
    Text(String),
    Number(serde_json::Number),
}

impl std::fmt::Display for Id {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Id::Text(s) => f.write_str(s),
            Id::Number(n) => write!(f, "{n}"),
        }
    }
}

#[derive(Deserialize)]
struct CheckRequest {
    text: String,
    #[serde(default)]
    id: Option<Id>,
}

#[derive(Deserialize)]
struct ScoreRequest {
    comments: Vec<CheckRequest>,
}

/// `{name: {"score", "threshold", "flagged"}}` in model label order.
struct LabelsOut<'a>(&'a Snapshot, &'a Scores);

impl Serialize for LabelsOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct One {
            score: f64,
            threshold: f64,
            flagged: bool,
        }
        let mut map = s.serialize_map(Some(self.1.labels.len()))?;
        for (head, l) in self.0.model.labels().iter().zip(&self.1.labels) {
            map.serialize_entry(&head.name, &One { score: l.probability, threshold: l.threshold, flagged: l.flagged })?;
        }
        map.end()
    }
}

#[derive(Serialize)]
pub(crate) struct ModelRef<'a> {
    pub name: &'a str,
    pub hash: &'a str,
}

impl<'a> ModelRef<'a> {
    pub(crate) fn of(s: &'a Snapshot) -> Self {
        ModelRef { name: &s.model.meta().name, hash: &s.hash }
    }
}

#[derive(Serialize)]
struct Verdict<'a> {
    id: Option<&'a Id>,
    action: &'static str,
    flagged: bool,
    labels: LabelsOut<'a>,
}

impl<'a> Verdict<'a> {
    fn new(snap: &'a Snapshot, id: Option<&'a Id>, scores: &'a Scores) -> Self {
        Verdict {
            id,
            action: if scores.flagged { "hold" } else { "publish" },
            flagged: scores.flagged,
            labels: LabelsOut(snap, scores),
        }
    }
}

#[derive(Serialize)]
struct CheckResponse<'a> {
    #[serde(flatten)]
    verdict: Verdict<'a>,
    model: ModelRef<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    explain: Option<ExplainOut>,
}

#[derive(Serialize)]
struct ExplainOut {
    /// The label explained: the flagged one with the highest score, else the highest.
    label: String,
    ngrams: Vec<NgramOut>,
}

#[derive(Serialize)]
struct NgramOut {
    ngram: String,
    /// Contribution to the explained label's decision value (positive pushes toward flagging).
    weight: f64,
    /// Where it occurs in the submitted text: `[begin, end)` in Unicode characters (code points).
    spans: Vec<SpanOut>,
}

#[derive(Serialize)]
struct SpanOut {
    begin: usize,
    end: usize,
}

fn explain_params(uri: &Uri) -> Result<Option<usize>, ApiError> {
    let q = uri.query();
    let on = match query_param(q, "explain").as_deref() {
        None | Some("false") | Some("0") => false,
        Some("true") | Some("1") | Some("") => true,
        Some(v) => return Err(ApiError::bad_request("bad_query", format!("explain must be true or false, not {v:?}"))),
    };
    if !on {
        return Ok(None);
    }
    match query_param(q, "top") {
        None => Ok(Some(EXPLAIN_TOP)),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=EXPLAIN_TOP_MAX).contains(&n) => Ok(Some(n)),
            _ => Err(ApiError::bad_request(
                "bad_query",
                format!("top must be a whole number from 1 to {EXPLAIN_TOP_MAX}"),
            )),
        },
    }
}

/// `POST /v1/check`: `{"text", "id"?}` → the decision, label scores and model identity.
/// `?explain=true[&top=N]` adds the n-grams that weighed most, with their spans.
pub(crate) async fn check(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> Result<Response, ApiError> {
    authorize(&state, &headers, uri.query(), Scope::Api, Flavor::Native)?;
    let explain_top = explain_params(&uri)?;
    let limits = state.config().limits;
    let bytes = read_body(&headers, body, limits.max_body_bytes).await?;
    let req: CheckRequest = parse_json(&bytes)?;
    if too_long(&req.text, limits.max_comment_chars) {
        return Err(ApiError::too_large(
            "comment_too_long",
            format!("text is longer than {} characters", limits.max_comment_chars),
        ));
    }
    let snap = state.snapshot();
    let (scores, explain) = match explain_top {
        None => (snap.model.score(&req.text), None),
        Some(top) => {
            let why = snap.model.explain(&req.text, top);
            let label = snap.model.labels().get(why.label).map_or_else(String::new, |l| l.name.clone());
            let ngrams = why
                .ngrams
                .into_iter()
                .map(|c| NgramOut {
                    spans: c
                        .spans
                        .iter()
                        .map(|r| {
                            let s = char_span(&req.text, r);
                            SpanOut { begin: s.start, end: s.end }
                        })
                        .collect(),
                    ngram: c.ngram,
                    weight: c.weight,
                })
                .collect();
            (why.scores, Some(ExplainOut { label, ngrams }))
        }
    };
    snap.count(state.metrics(), &scores);
    let outcome = RequestOutcome::single(&state, &snap, &scores, req.id.as_ref(), &req.text);
    let body =
        CheckResponse { verdict: Verdict::new(&snap, req.id.as_ref(), &scores), model: ModelRef::of(&snap), explain };
    let mut res = axum::Json(body).into_response();
    res.extensions_mut().insert(outcome);
    Ok(res)
}

#[derive(Serialize)]
struct ScoreResponse<'a> {
    results: Vec<Verdict<'a>>,
    model: ModelRef<'a>,
}

/// `POST /v1/score`: `{"comments": [{"id"?, "text"}, …]}` → `{"results": […], "model"}`, results
/// in request order. Errors: 413 over the batch size or a comment over the length limit.
pub(crate) async fn score(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> Result<Response, ApiError> {
    authorize(&state, &headers, uri.query(), Scope::Api, Flavor::Native)?;
    let limits = state.config().limits;
    // Held to the end: the body, the parsed comments and the answer all live until then.
    let _batch_permit = state.inner.batch_permits.clone().try_acquire_owned().map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            format!("{} batch requests in flight already; retry shortly", limits.max_batch_concurrency),
        )
    })?;
    let bytes = read_body(&headers, body, limits.max_batch_body_bytes).await?;
    let req: ScoreRequest = parse_json(&bytes)?;
    drop(bytes);
    if req.comments.len() > limits.max_batch {
        return Err(ApiError::too_large(
            "batch_too_large",
            format!("{} comments in one request; the limit is {}", req.comments.len(), limits.max_batch),
        ));
    }
    if let Some(i) = req.comments.iter().position(|c| too_long(&c.text, limits.max_comment_chars)) {
        return Err(ApiError::too_large(
            "comment_too_long",
            format!("comments[{i}].text is longer than {} characters", limits.max_comment_chars),
        ));
    }
    let snap = state.snapshot();
    let comments = Arc::new(req.comments);
    let all_scores = if comments.len() >= PARALLEL_BATCH {
        let (snap2, comments2) = (snap.clone(), comments.clone());
        tokio::task::spawn_blocking(move || {
            let texts: Vec<&str> = comments2.iter().map(|c| c.text.as_str()).collect();
            snap2.model.score_batch(&texts)
        })
        .await
        .map_err(|e| ApiError::internal(format!("batch scoring failed: {e}")))?
    } else {
        comments.iter().map(|c| snap.model.score(&c.text)).collect()
    };
    for s in &all_scores {
        snap.count(state.metrics(), s);
    }
    let results = comments.iter().zip(&all_scores).map(|(c, s)| Verdict::new(&snap, c.id.as_ref(), s)).collect();
    let outcome = RequestOutcome::batch(&all_scores);
    let mut res = axum::Json(ScoreResponse { results, model: ModelRef::of(&snap) }).into_response();
    res.extensions_mut().insert(outcome);
    Ok(res)
}
