//! What every handler shares: JSON errors in two shapes, bounded body reading, query strings,
//! API-key checks.

use super::state::AppState;
use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use http_body_util::BodyExt;

/// Which error JSON a route speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// raqib's own: `{"error": {"code": "bad_json", "message": "...", "status": 400}}`.
    Native,
    /// Google API errors, as Perspective sends them:
    /// `{"error": {"code": 400, "message": "...", "status": "INVALID_ARGUMENT"}}`
    /// (seen verbatim in Perspective answers quoted in atom/biohazard-alert issue #20).
    Perspective,
}

impl Flavor {
    /// Routes under `/v1alpha1/` are Perspective's.
    pub(crate) fn of_path(path: &str) -> Flavor {
        if path.starts_with("/v1alpha1/") {
            Flavor::Perspective
        } else {
            Flavor::Native
        }
    }
}

/// A request that cannot be answered normally. Rendered as JSON in the route's [`Flavor`].
#[derive(Debug)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    /// Stable machine-readable code, also logged (the message is not: it may quote the body).
    pub code: &'static str,
    pub message: String,
    pub flavor: Flavor,
}

/// The error code a response carried, for the request log.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ErrorCode(pub &'static str);

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), flavor: Flavor::Native }
    }
    pub(crate) fn flavor(mut self, flavor: Flavor) -> Self {
        self.flavor = flavor;
        self
    }
    pub(crate) fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub(crate) fn too_large(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, code, message)
    }
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }
}

/// Google's canonical status name for an HTTP status (google.rpc.Code mapping).
fn google_status(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 | 413 | 415 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        405 | 501 => "UNIMPLEMENTED",
        408 | 504 => "DEADLINE_EXCEEDED",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        503 => "UNAVAILABLE",
        _ => "INTERNAL",
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = match self.flavor {
            Flavor::Native => serde_json::json!({
                "error": { "code": self.code, "message": self.message, "status": self.status.as_u16() }
            }),
            Flavor::Perspective => serde_json::json!({
                "error": { "code": self.status.as_u16(), "message": self.message, "status": google_status(self.status) }
            }),
        };
        let mut res = (self.status, axum::Json(body)).into_response();
        match self.status {
            StatusCode::UNAUTHORIZED => {
                res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        res.extensions_mut().insert(ErrorCode(self.code));
        res
    }
}

/// Read a whole body, at most `limit` bytes. A declared `Content-Length` over the limit is refused
/// before reading anything; a body that turns out longer is cut off at the limit. Errors: 413 over
/// the limit, 400 when the client breaks off the upload.
pub(crate) async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let too_large =
        || ApiError::too_large("body_too_large", format!("request body is larger than the limit of {limit} bytes"));
    if let Some(len) =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok())
    {
        if len > limit as u64 {
            return Err(too_large());
        }
    }
    match http_body_util::Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Err(e) => Err(ApiError::bad_request("body_read", format!("could not read the request body: {e}"))),
    }
}

/// Parse JSON into `T`. Errors: 400 `bad_json` with serde's message (type and position).
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("bad_json", "request body is empty; expected a JSON object"));
    }
    // serde_json limits nesting to 128 levels, so a deeply nested body is an error, not a stack
    // overflow.
    serde_json::from_slice(bytes).map_err(|e| ApiError::bad_request("bad_json", format!("invalid JSON body: {e}")))
}

/// Value of `name` in a query string (`a=1&key=x`), percent- and `+`-decoded; the first wins.
pub(crate) fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(k) == name).then(|| percent_decode(v))
    })
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte; invalid escapes
/// are kept literally and invalid UTF-8 is replaced, never an error.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (b.get(i + 1).and_then(|&c| hex(c)), b.get(i + 2).and_then(|&c| hex(c))) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Scoring routes: open unless API keys are configured.
    Api,
    /// `/admin/*`: admin keys (or the API keys); disabled when there are none.
    Admin,
}

/// Check the caller's key. Accepted from `Authorization: Bearer KEY`, `X-Api-Key: KEY`, and on
/// Perspective routes also `X-Goog-Api-Key: KEY` and `?key=KEY` (Coral puts the key in the query,
/// `url.searchParams.set("key", key)` in coralproject/talk services/perspective/perspective.ts).
/// Errors: 401 when missing or wrong, 403 for admin routes with no key configured.
pub(crate) fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    query: Option<&str>,
    scope: Scope,
    flavor: Flavor,
) -> Result<(), ApiError> {
    let keys = match scope {
        Scope::Api => &state.config().api_keys,
        Scope::Admin => &state.config().admin_keys,
    };
    if keys.is_empty() {
        return match scope {
            Scope::Api => Ok(()),
            Scope::Admin => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "admin_disabled",
                "admin endpoints are disabled: start the server with --admin-key-file or --api-key-file (SIGHUP still reloads)",
            )
            .flavor(flavor)),
        };
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).map(str::to_string);
    let bearer = header("authorization").and_then(|v| {
        let (scheme, token) = v.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_string())
    });
    let mut presented = bearer.or_else(|| header("x-api-key"));
    if flavor == Flavor::Perspective {
        presented = presented.or_else(|| header("x-goog-api-key")).or_else(|| query_param(query, "key"));
    }
    match presented {
        None => {
            Err(ApiError::new(StatusCode::UNAUTHORIZED, "missing_api_key", "an API key is required").flavor(flavor))
        }
        Some(k) if keys.matches(&k) => Ok(()),
        Some(_) => Err(ApiError::new(StatusCode::UNAUTHORIZED, "invalid_api_key", "API key not valid").flavor(flavor)),
    }
}

/// Length check on comment text: byte length bounds the character count from above, so most
/// texts are accepted without counting.
pub(crate) fn too_long(text: &str, max_chars: usize) -> bool {
    text.len() > max_chars && text.chars().count() > max_chars
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_params_decode() {
        assert_eq!(query_param(Some("a=1&key=ab%2Bc+d"), "key").as_deref(), Some("ab+c d"));
        assert_eq!(query_param(Some("key=%zz%4"), "key").as_deref(), Some("%zz%4"));
        assert_eq!(query_param(Some("key"), "key").as_deref(), Some(""));
        assert_eq!(query_param(Some("explain=true"), "key"), None);
        assert_eq!(query_param(None, "key"), None);
        assert_eq!(query_param(Some("k=%ff%fe"), "k").as_deref(), Some("\u{fffd}\u{fffd}"));
        assert_eq!(query_param(Some("k=%"), "k").as_deref(), Some("%"));
    }

    #[test]
    fn too_long_counts_characters_not_bytes() {
        assert!(!too_long("اقتلوهم", 7));
        assert!(too_long("اقتلوهم", 6));
        assert!(!too_long("", 1));
    }
}
