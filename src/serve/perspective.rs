//! Perspective API compatibility: `POST /v1alpha1/comments:analyze` and
//! `POST /v1alpha1/comments:suggestscore`, so any Perspective client (Coral Talk among them) can
//! point its endpoint at raqib.
//!
//! Wire format matched (conversationai/perspectiveapi `2-api/methods.md`, and the v1alpha1
//! discovery schema: AnalyzeCommentRequest, AnalyzeCommentResponse, SpanScore, Score):
//! - request `{comment: {text, type?}, requestedAttributes: {NAME: {scoreType?, scoreThreshold?}},
//!   languages?, doNotStore?, spanAnnotations?, clientToken?, dropUnsupportedAttributes?,
//!   context?, sessionId?, communityId?}`; proto3 JSON also allows snake_case names, accepted too;
//! - response `{attributeScores: {NAME: {summaryScore: {value, type: "PROBABILITY"},
//!   spanScores?: [{begin, end, score: {value, type}}]}}, languages, detectedLanguages,
//!   clientToken?}`; `begin`/`end` count UTF-16 code units ("the UTF-16 codepoint range",
//!   end exclusive), which is what a JavaScript client such as Coral indexes strings by;
//! - `languages` in the response mirrors the request's, else the detected one
//!   ("effective_languages" in the discovery schema); `scoreThreshold` drops scores below it;
//! - errors `{"error": {"code": 400, "message", "status": "INVALID_ARGUMENT"}}`.
//!
//! The exact request Coral sends (coralproject/talk `services/perspective/perspective.ts`,
//! `formatBody`): `{"comment": {"text"}, "doNotStore": true, "requestedAttributes": {"TOXICITY":
//! {}}, "languages": ["en"]}` to `{endpoint}/comments:analyze?key=KEY` with only
//! `Content-Type: application/json`, under an 800 ms timeout (`PERSPECTIVE_TIMEOUT` in
//! `config.ts`); Coral maps every locale it has no Perspective model for (Arabic included) to
//! "en", which is why `languages` never selects anything here. Coral reads
//! `attributeScores[model].summaryScore.value` and holds the comment when it is `> threshold`
//! (default 0.8, `TOXICITY_THRESHOLD_DEFAULT`).

use super::attributes::{attribute_value, Target};
use super::http::{authorize, parse_json, read_body, too_long, ApiError, Flavor, Scope};
use super::state::{now_unix, AppState};
use super::{html, RequestOutcome};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ops::Range;

/// Most spans returned with `spanAnnotations`; the rest of a longer text forms the last span.
const MAX_SPANS: usize = 64;

#[derive(Deserialize)]
struct TextEntry {
    #[serde(default)]
    text: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct AttributeParameters {
    #[serde(default, alias = "score_type")]
    score_type: Option<String>,
    #[serde(default, alias = "score_threshold")]
    score_threshold: Option<f64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AnalyzeRequest {
    #[serde(default)]
    comment: Option<TextEntry>,
    #[serde(default, alias = "requested_attributes")]
    requested_attributes: Option<BTreeMap<String, Option<AttributeParameters>>>,
    #[serde(default)]
    languages: Option<Vec<String>>,
    /// Accepted and honoured trivially: raqib never stores analyzed comments.
    #[serde(default, alias = "do_not_store")]
    #[allow(dead_code)]
    do_not_store: Option<bool>,
    #[serde(default, alias = "span_annotations")]
    span_annotations: Option<bool>,
    #[serde(default, alias = "client_token")]
    client_token: Option<String>,
    #[serde(default, alias = "drop_unsupported_attributes")]
    drop_unsupported_attributes: Option<bool>,
}

#[derive(Serialize)]
struct Score {
    value: f64,
    #[serde(rename = "type")]
    kind: &'static str,
}

impl Score {
    fn probability(value: f64) -> Score {
        Score { value, kind: "PROBABILITY" }
    }
}

#[derive(Serialize)]
struct SpanScore {
    begin: usize,
    end: usize,
    score: Score,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AttributeScore {
    #[serde(skip_serializing_if = "Option::is_none")]
    span_scores: Option<Vec<SpanScore>>,
    summary_score: Score,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AnalyzeResponse {
    attribute_scores: BTreeMap<String, AttributeScore>,
    languages: Vec<String>,
    detected_languages: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_token: Option<String>,
}

fn invalid(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::bad_request(code, message).flavor(Flavor::Perspective)
}

/// The comment's plain text: `comment.text`, converted from HTML when `comment.type` is `HTML`.
fn comment_text(comment: Option<TextEntry>, max_chars: usize) -> Result<String, ApiError> {
    let entry = comment.ok_or_else(|| invalid("missing_comment", "comment.text is required"))?;
    let text = entry.text.ok_or_else(|| invalid("missing_comment", "comment.text is required"))?;
    let text = match entry.kind.as_deref() {
        None | Some("PLAIN_TEXT") | Some("TEXT_TYPE_UNSPECIFIED") => text,
        Some("HTML") => html::to_text(&text),
        Some(other) => {
            return Err(invalid("bad_comment_type", format!("comment.type {other:?} is not PLAIN_TEXT or HTML")))
        }
    };
    if text.trim().is_empty() {
        // Perspective's own answer to an empty comment.
        return Err(invalid("empty_comment", "Comment must be non-empty."));
    }
    if too_long(&text, max_chars) {
        return Err(invalid("comment_too_long", format!("Comment text is longer than {max_chars} characters.")));
    }
    Ok(text)
}

/// `POST /v1alpha1/comments:analyze`.
pub(crate) async fn analyze(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> Result<Response, ApiError> {
    let flavor = Flavor::Perspective;
    authorize(&state, &headers, uri.query(), Scope::Api, flavor)?;
    let limits = state.config().limits;
    let bytes = read_body(&headers, body, limits.max_body_bytes).await.map_err(|e| e.flavor(flavor))?;
    let req: AnalyzeRequest = parse_json(&bytes).map_err(|e| e.flavor(flavor))?;
    let text = comment_text(req.comment, limits.max_comment_chars)?;
    let requested = req.requested_attributes.unwrap_or_default();
    if requested.is_empty() {
        return Err(invalid("no_attributes", "requestedAttributes must name at least one attribute"));
    }
    let snap = state.snapshot();
    let drop_unsupported = req.drop_unsupported_attributes.unwrap_or(false);
    let mut wanted: Vec<(String, Target, Option<f64>)> = Vec::with_capacity(requested.len());
    for (name, params) in requested {
        let params = params.unwrap_or_default();
        match params.score_type.as_deref() {
            None | Some("PROBABILITY") | Some("SCORE_TYPE_UNSPECIFIED") => {}
            Some(other) => {
                return Err(invalid(
                    "bad_score_type",
                    format!("scoreType {other:?} is not supported; only PROBABILITY is"),
                ))
            }
        }
        if params.score_threshold.is_some_and(|t| !t.is_finite()) {
            return Err(invalid("bad_threshold", format!("scoreThreshold of {name} is not a finite number")));
        }
        match snap.attributes.get(&name) {
            Some(target) => wanted.push((name, target, params.score_threshold)),
            None if drop_unsupported => {}
            None => {
                let known: Vec<String> = snap.attributes.describe(&snap.model).into_keys().collect();
                return Err(invalid(
                    "unsupported_attribute",
                    format!("Attribute {name} is not supported by this server (supported: {}).", known.join(", ")),
                ));
            }
        }
    }

    let scores = snap.model.score(&text);
    snap.count(state.metrics(), &scores);
    let align = state.config().perspective_align;
    let spans = if req.span_annotations.unwrap_or(false) {
        let ranges = sentences(&text);
        let scored: Vec<(usize, usize, crate::Scores)> = ranges
            .iter()
            .map(|r| (utf16_len(&text[..r.start]), utf16_len(&text[..r.end]), snap.model.score(&text[r.clone()])))
            .collect();
        Some(scored)
    } else {
        None
    };
    let mut attribute_scores = BTreeMap::new();
    for (name, target, threshold) in wanted {
        let value = attribute_value(&scores, target, align);
        if threshold.is_some_and(|t| value < t) {
            continue;
        }
        let span_scores = spans.as_ref().map(|spans| {
            spans
                .iter()
                .map(|(b, e, s)| SpanScore {
                    begin: *b,
                    end: *e,
                    score: Score::probability(attribute_value(s, target, align)),
                })
                .collect()
        });
        attribute_scores.insert(name, AttributeScore { span_scores, summary_score: Score::probability(value) });
    }
    let detected = detect_languages(&text);
    let languages = match req.languages {
        Some(l) if !l.is_empty() => l,
        _ => detected.first().map(|l| vec![l.to_string()]).unwrap_or_default(),
    };
    let outcome = RequestOutcome::single(&state, &snap, &scores, None, &text);
    let body =
        AnalyzeResponse { attribute_scores, languages, detected_languages: detected, client_token: req.client_token };
    let mut res = axum::Json(body).into_response();
    res.extensions_mut().insert(outcome);
    Ok(res)
}

#[derive(Deserialize)]
struct SuggestedScore {
    #[serde(default)]
    value: Option<f64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SuggestedAttribute {
    #[serde(default, alias = "summary_score")]
    summary_score: Option<SuggestedScore>,
}

#[derive(Deserialize)]
struct Context {
    #[serde(default)]
    entries: Option<Vec<TextEntry>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SuggestRequest {
    #[serde(default)]
    comment: Option<TextEntry>,
    #[serde(default)]
    context: Option<Context>,
    #[serde(default, alias = "attribute_scores")]
    attribute_scores: Option<BTreeMap<String, SuggestedAttribute>>,
    #[serde(default)]
    languages: Option<Vec<String>>,
    #[serde(default, alias = "community_id")]
    community_id: Option<String>,
    #[serde(default, alias = "client_token")]
    client_token: Option<String>,
}

/// One line of the feedback file: what a moderator decided, in raqib's labels where the
/// attribute maps to one label, for retraining.
#[derive(Serialize)]
struct FeedbackLine<'a> {
    received_at: String,
    /// Hash of the model serving when the feedback came in.
    model: &'a str,
    text: &'a str,
    /// The suggested summary score per attribute, as sent.
    attributes: BTreeMap<&'a str, f64>,
    /// The same, for attributes that map to a single model label.
    labels: BTreeMap<&'a str, f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    community_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_token: Option<&'a str>,
    /// Context entry texts as sent (Coral puts a JSON object with the comment's URL and ids here).
    context: Vec<&'a str>,
    languages: &'a [String],
}

/// `POST /v1alpha1/comments:suggestscore`: append the suggestion to the feedback file.
/// Answers `{clientToken?, requestedLanguages, detectedLanguages}` (SuggestCommentScoreResponse).
/// Errors: 501 when no feedback file is configured, 500 if the file cannot be written.
pub(crate) async fn suggest_score(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> Result<Response, ApiError> {
    let flavor = Flavor::Perspective;
    authorize(&state, &headers, uri.query(), Scope::Api, flavor)?;
    if state.inner.feedback.is_none() {
        return Err(ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            "feedback_disabled",
            "feedback is not enabled on this server: start raqib serve with --feedback-file PATH",
        )
        .flavor(flavor));
    }
    let limits = state.config().limits;
    let bytes = read_body(&headers, body, limits.max_body_bytes).await.map_err(|e| e.flavor(flavor))?;
    let req: SuggestRequest = parse_json(&bytes).map_err(|e| e.flavor(flavor))?;
    let text = comment_text(req.comment, limits.max_comment_chars)?;
    let suggested = req.attribute_scores.unwrap_or_default();
    if suggested.is_empty() {
        return Err(invalid("no_attributes", "attributeScores must hold at least one attribute"));
    }
    let snap = state.snapshot();
    let mut attributes = BTreeMap::new();
    let mut labels = BTreeMap::new();
    for (name, a) in &suggested {
        let value = a.summary_score.as_ref().and_then(|s| s.value).unwrap_or(f64::NAN);
        if !(0.0..=1.0).contains(&value) {
            return Err(invalid(
                "bad_score",
                format!("attributeScores.{name}.summaryScore.value must be a number from 0 to 1"),
            ));
        }
        attributes.insert(name.as_str(), value);
        if let Some(Target::Label(i)) = snap.attributes.get(name) {
            if let Some(head) = snap.model.labels().get(i) {
                labels.insert(head.name.as_str(), value);
            }
        }
    }
    let languages = req.languages.unwrap_or_default();
    let entries = req.context.and_then(|c| c.entries).unwrap_or_default();
    let line = FeedbackLine {
        received_at: crate::train::rfc3339(now_unix()),
        model: &snap.hash,
        text: &text,
        attributes,
        labels,
        community_id: req.community_id.as_deref(),
        client_token: req.client_token.as_deref(),
        context: entries.iter().filter_map(|e| e.text.as_deref()).collect(),
        languages: &languages,
    };
    let mut bytes = serde_json::to_vec(&line).map_err(|e| ApiError::internal(e.to_string()).flavor(flavor))?;
    bytes.push(b'\n');
    // A short append to the page cache under a lock: microseconds, not worth a thread hop.
    state.append_feedback(&bytes).map_err(|e| {
        tracing::error!(error = %e, "cannot append to the feedback file");
        ApiError::internal("could not store the feedback").flavor(flavor)
    })?;
    Ok(axum::Json(serde_json::json!({
        "clientToken": req.client_token,
        "requestedLanguages": languages,
        "detectedLanguages": detect_languages(&text),
    }))
    .into_response())
}

/// UTF-16 code units in `s` (Perspective span offsets).
fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

fn is_terminator(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '؟' | '۔' | '…' | '\n' | '。')
}

/// Sentence byte ranges of `text`, trimmed of white space, at most [`MAX_SPANS`]. A terminator
/// (`. ! ? ؟ ۔ …` or a line break) ends a sentence when white space or the end follows, so
/// "3.5" and "a.m." inside a word stay whole.
pub(crate) fn sentences(text: &str) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    let mut push = |r: Range<usize>| {
        let s = &text[r.clone()];
        let lead = s.len() - s.trim_start().len();
        let trimmed = s.trim();
        if !trimmed.is_empty() {
            out.push(r.start + lead..r.start + lead + trimmed.len());
        }
    };
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if !is_terminator(c) {
            continue;
        }
        let mut end = i + c.len_utf8();
        while let Some(&(j, d)) = chars.peek() {
            if is_terminator(d) || matches!(d, '"' | '\'' | '»' | ')' | '”') {
                end = j + d.len_utf8();
                chars.next();
            } else {
                break;
            }
        }
        let at_break = c == '\n' || chars.peek().is_none_or(|&(_, d)| d.is_whitespace());
        if at_break {
            push(start..end);
            start = end;
        }
    }
    push(start..text.len());
    if out.len() > MAX_SPANS {
        let last_end = out[out.len() - 1].end;
        out.truncate(MAX_SPANS);
        out[MAX_SPANS - 1].end = last_end;
    }
    out
}

fn is_arabic(c: char) -> bool {
    matches!(c, '\u{0600}'..='\u{06FF}' | '\u{0750}'..='\u{077F}' | '\u{08A0}'..='\u{08FF}' | '\u{FB50}'..='\u{FDFF}' | '\u{FE70}'..='\u{FEFF}')
        && c.is_alphabetic()
}

fn is_latin(c: char) -> bool {
    c.is_ascii_alphabetic() || (('\u{00C0}'..='\u{024F}').contains(&c) && c.is_alphabetic())
}

/// The languages raqib tells apart, by script, most letters first: Arabic script → `ar`, Latin →
/// `en` (raqib's two languages; it does not guess among Latin-script languages). Empty when the
/// text has no letters of either.
pub(crate) fn detect_languages(text: &str) -> Vec<&'static str> {
    let (mut ar, mut lat) = (0usize, 0usize);
    for c in text.chars() {
        if is_arabic(c) {
            ar += 1;
        } else if is_latin(c) {
            lat += 1;
        }
    }
    let mut out = Vec::with_capacity(2);
    match (ar, lat) {
        (0, 0) => {}
        (a, l) if a >= l => {
            out.push("ar");
            if l > 0 {
                out.push("en");
            }
        }
        (a, _) => {
            out.push("en");
            if a > 0 {
                out.push("ar");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(text: &str) -> Vec<&str> {
        sentences(text).into_iter().map(|r| &text[r]).collect()
    }

    #[test]
    fn splits_sentences_in_both_scripts() {
        assert_eq!(
            pieces("What kind of idiot name is foo? Sorry, I like your name."),
            ["What kind of idiot name is foo?", "Sorry, I like your name."]
        );
        assert_eq!(pieces("هل هذا صحيح؟ نعم!! بالتأكيد"), ["هل هذا صحيح؟", "نعم!!", "بالتأكيد"]);
        assert_eq!(pieces("pi is 3.14 ok"), ["pi is 3.14 ok"]);
        assert_eq!(pieces("line one\nline two"), ["line one", "line two"]);
        assert!(pieces("   ").is_empty());
        assert!(pieces("").is_empty());
        assert_eq!(pieces("...").len(), 1);
        let long = "a. ".repeat(200);
        let s = sentences(&long);
        assert_eq!(s.len(), MAX_SPANS);
        assert_eq!(s[MAX_SPANS - 1].end, long.trim_end().len());
    }

    #[test]
    fn utf16_offsets_count_surrogate_pairs() {
        assert_eq!(utf16_len("Hi"), 2);
        assert_eq!(utf16_len("سلام"), 4);
        assert_eq!(utf16_len("🔪x"), 3);
    }

    #[test]
    fn detects_by_script() {
        assert_eq!(detect_languages("اقتلوهم جميعا"), ["ar"]);
        assert_eq!(detect_languages("kill them all"), ["en"]);
        assert_eq!(detect_languages("kill them اقتلوهم جميعا"), ["ar", "en"]);
        assert!(detect_languages("123 🔪").is_empty());
    }
}
