//! Coral Talk external moderation phase: `POST /coral/phase`.
//!
//! Wire format matched (coralproject/talk, `services/comments/pipeline/phases/external.ts`,
//! `services/fetch/fetch.ts`, `models/settings/signingSecret/helpers.ts`, and the "External
//! Moderation Phases" and "Webhooks" guides at docs.coralproject.net):
//! - Coral POSTs `ExternalModerationRequest` JSON, `{action: "NEW"|"EDIT", comment: {body,
//!   parentID}, author: {id, role}, story: {id, url}, site: {id}, tenantID, tenantDomain}`, the
//!   body serialised with `JSON.stringify(data, null, 2)`; `comment.body` is HTML or plain text
//!   depending on the phase's format setting, so it is always passed through the HTML converter
//!   (harmless on plain text, except that a literal `<b>` typed by a commenter is dropped).
//! - Header `X-Coral-Signature: sha256=<hex HMAC-SHA256 of the raw body keyed by the secret>`, one
//!   entry per active secret joined by `,` while a rotated secret is still valid. The HMAC is over
//!   the exact bytes received, so the body is verified before it is parsed.
//! - Answer 204 with no body to leave the comment alone, or 200 with `ExternalModerationResponse`
//!   `{actions: [{actionType: "FLAG", reason: "COMMENT_DETECTED_TOXIC"}], status:
//!   "SYSTEM_WITHHELD"}` (Coral's Joi schema allows only FLAG with COMMENT_DETECTED_TOXIC or
//!   COMMENT_DETECTED_SPAM, and strips unknown keys). Coral skips the phase on any non-2xx answer
//!   or after the phase's own timeout, so errors here publish the comment: the signature and
//!   parse errors are for misconfiguration, not for comments.

use super::http::{read_body, too_long, ApiError};
use super::state::AppState;
use super::{html, RequestOutcome};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

/// Most signatures looked at in one header: bounds the HMAC work a forged header can cause.
const MAX_SIGNATURES: usize = 8;

#[derive(Deserialize)]
struct PhaseComment {
    /// Always present in Coral's request; a body without it is not from Coral.
    body: String,
}

#[derive(Deserialize)]
struct PhaseRequest {
    comment: PhaseComment,
    #[serde(default)]
    action: Option<String>,
}

/// Whether `header` carries a valid signature of `body` under one of `secrets`. Each candidate
/// is checked with `Mac::verify_slice`, a constant-time comparison.
pub(crate) fn verify_signature(secrets: &[String], header: &str, body: &[u8]) -> bool {
    let mut ok = false;
    for sig in header.split(',').take(MAX_SIGNATURES) {
        let Some(hex) = sig.trim().strip_prefix("sha256=") else {
            continue;
        };
        let Some(bytes) = decode_hex(hex.trim()) else {
            continue;
        };
        for secret in secrets {
            // HMAC takes a key of any length, so this cannot fail.
            let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
                continue;
            };
            mac.update(body);
            ok |= mac.verify_slice(&bytes).is_ok();
        }
    }
    ok
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    s.as_bytes().chunks(2).map(|p| Some(digit(p[0])? << 4 | digit(p[1])?)).collect()
}

/// Coral's "hold" answer.
fn withheld() -> Response {
    axum::Json(serde_json::json!({
        "actions": [{ "actionType": "FLAG", "reason": "COMMENT_DETECTED_TOXIC" }],
        "status": "SYSTEM_WITHHELD",
    }))
    .into_response()
}

/// `POST /coral/phase`. Errors: 404 when no signing secret is configured, 401 for a missing or
/// wrong signature, 400 for a body that is not Coral's request, 413 over the body limit.
pub(crate) async fn phase(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Result<Response, ApiError> {
    let secrets = &state.config().coral_secrets;
    if secrets.is_empty() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "coral_disabled",
            "the Coral phase is not enabled: start raqib serve with --coral-secret-file PATH",
        ));
    }
    let limits = state.config().limits;
    let bytes = read_body(&headers, body, limits.max_body_bytes).await?;
    let Some(signature) = headers.get("x-coral-signature").and_then(|v| v.to_str().ok()) else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing_signature",
            "X-Coral-Signature header is required",
        ));
    };
    if !verify_signature(secrets, signature, &bytes) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "bad_signature",
            "X-Coral-Signature does not match the body",
        ));
    }
    let req: PhaseRequest = super::http::parse_json(&bytes)?;
    let text = html::to_text(&req.comment.body);
    let snap = state.snapshot();
    let action = req.action.as_deref().unwrap_or("");
    if too_long(&text, limits.max_comment_chars) {
        // Failing open here would let anyone publish unchecked text by padding it: hold it for
        // a moderator instead.
        tracing::warn!(
            action,
            max_chars = limits.max_comment_chars,
            "comment over the length limit: withheld for review unscored"
        );
        state.metrics().decision(true);
        return Ok(withheld());
    }
    if text.is_empty() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let scores = snap.model.score(&text);
    snap.count(state.metrics(), &scores);
    let outcome = RequestOutcome::single(&state, &snap, &scores, None, &text);
    let mut res = if scores.flagged { withheld() } else { StatusCode::NO_CONTENT.into_response() };
    res.extensions_mut().insert(outcome);
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(body);
        mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn verifies_coral_signatures_including_rotation() {
        let secrets = vec!["ssc_0123456789abcdef0123456789abcdef".to_string()];
        let body = br#"{"comment":{"body":"hi"}}"#;
        let good = format!("sha256={}", sign(&secrets[0], body));
        assert!(verify_signature(&secrets, &good, body));
        // Coral sends one signature per active secret during a rotation.
        let rotated = format!("sha256={},{good}", sign("ssc_old_secret_0000000000000000", body));
        assert!(verify_signature(&secrets, &rotated, body));
        assert!(!verify_signature(&secrets, &good, b"{\"comment\":{\"body\":\"HI\"}}"));
        assert!(!verify_signature(&secrets, &good.to_uppercase(), body));
        assert!(!verify_signature(&secrets, "sha256=zz", body));
        assert!(!verify_signature(&secrets, "", body));
        assert!(!verify_signature(&secrets, &format!("sha1={}", sign(&secrets[0], body)), body));
        // Upper-case hex digits are still the same bytes.
        assert!(verify_signature(&secrets, &format!("sha256={}", sign(&secrets[0], body).to_uppercase()), body));
    }
}
