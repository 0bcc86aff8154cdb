//! Server configuration: [`ServeParams`] as given (flags, files) → [`ServeParams::check`] → a
//! validated [`ServeConfig`]. Every file named by the parameters (keys, secrets, attribute map) is
//! read and checked once, at start, so a bad file stops the server before it listens.

use super::attributes::AttributeMap;
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use subtle::ConstantTimeEq;

/// Why the server could not be configured or started.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A parameter out of range or an attribute mapping that does not fit the model.
    #[error("invalid server configuration: {0}")]
    Config(String),
    /// A key, secret or attribute file that cannot be used.
    #[error("{}: {message}", path.display())]
    File { path: PathBuf, message: String },
    /// The model could not be loaded.
    #[error(transparent)]
    Model(#[from] crate::Error),
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    /// The server failed while running (accept loop, signal handlers).
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
}

/// Request limits. Every one is enforced before any scoring work is done.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Largest request body, except `/v1/score` (default 64 KiB). Larger → 413.
    pub max_body_bytes: usize,
    /// Largest `/v1/score` body (default 4 MiB: 1,000 comments of ~4 KiB). Larger → 413.
    pub max_batch_body_bytes: usize,
    /// Longest comment in Unicode characters (default 20,000, Perspective's own limit is 20 KB).
    /// Longer → 413 (400 on Perspective routes, as Perspective does); the Coral phase holds such
    /// a comment for review instead, so length cannot be used to slip past moderation.
    pub max_comment_chars: usize,
    /// Most comments in one `/v1/score` request (default 1,000). More → 413.
    pub max_batch: usize,
    /// Longest time a request may take, body upload included (default 5 s). Longer → 408.
    pub request_timeout: Duration,
    /// Most API requests in flight at once (default 256); beyond it requests are shed at once
    /// with 503 rather than queued, because a queued moderation call is a late one. Health,
    /// readiness and metrics do not count.
    pub max_concurrency: usize,
    /// Most `/v1/score` requests in flight at once (default 4; they count against
    /// `max_concurrency` too); more get 503. Each may buffer `max_batch_body_bytes`, so this, not `max_concurrency`, is what
    /// bounds the memory batches can take: 256 × 64 KiB + 4 × 4 MiB = 32 MiB of bodies.
    pub max_batch_concurrency: usize,
    /// A keep-alive connection with no request for this long is closed (default 75 s: longer
    /// than nginx's 60 s upstream keep-alive, so the proxy closes first and never sends on a
    /// connection being closed). The request head must arrive within `request_timeout`.
    pub idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 64 * 1024,
            max_batch_body_bytes: 4 * 1024 * 1024,
            max_comment_chars: 20_000,
            max_batch: 1_000,
            request_timeout: Duration::from_secs(5),
            max_concurrency: 256,
            max_batch_concurrency: 4,
            idle_timeout: Duration::from_secs(75),
        }
    }
}

/// Everything `raqib serve` can be told, before validation. Start from [`Default`].
#[derive(Debug, Clone)]
pub struct ServeParams {
    /// Listening address (default `127.0.0.1:8080`: loopback, so nothing is exposed by accident).
    pub bind: SocketAddr,
    /// The model file, re-read on reload. `None` serves the embedded default, which cannot be
    /// reloaded.
    pub model_path: Option<PathBuf>,
    /// API keys, one per line (`#` comments and blank lines ignored, several keys allow rotation).
    /// When set, every scoring route requires one of them; when unset, scoring is open.
    pub api_key_file: Option<PathBuf>,
    /// Keys for `/admin/*`. Defaults to the API keys; with neither, `/admin/reload` is disabled
    /// (403) and only SIGHUP reloads.
    pub admin_key_file: Option<PathBuf>,
    /// Coral external-moderation signing secrets, one per line. `/coral/phase` answers 404 without.
    pub coral_secret_file: Option<PathBuf>,
    /// JSONL file that `comments:suggestscore` appends to. Without it that route answers 501.
    pub feedback_file: Option<PathBuf>,
    /// Perspective attribute mappings, `NAME=label`, `NAME=max` or `NAME=none`, applied after
    /// the defaults and the attribute file.
    pub attributes: Vec<String>,
    /// A file of attribute mappings, one `NAME=target` per line.
    pub attribute_file: Option<PathBuf>,
    /// Rescale Perspective scores so that each label's threshold lands on this value (0 < v < 1),
    /// e.g. 0.8 for Coral's default toxicity threshold. `None` (default): calibrated probabilities.
    pub perspective_align: Option<f64>,
    pub limits: Limits,
    /// After SIGTERM, how long in-flight requests may take before the process exits anyway
    /// (default 30 s).
    pub shutdown_grace: Duration,
    /// Put comment text in logs (default off: logs carry ids, scores and decisions only).
    pub log_comments: bool,
}

impl Default for ServeParams {
    fn default() -> Self {
        ServeParams {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            model_path: None,
            api_key_file: None,
            admin_key_file: None,
            coral_secret_file: None,
            feedback_file: None,
            attributes: Vec::new(),
            attribute_file: None,
            perspective_align: None,
            limits: Limits::default(),
            shutdown_grace: Duration::from_secs(30),
            log_comments: false,
        }
    }
}

/// A validated configuration: key files read, limits in range, attribute specs parsed. Built by
/// [`ServeParams::check`]; the attribute map is resolved against the model when serving starts.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub(crate) bind: SocketAddr,
    pub(crate) model_path: Option<PathBuf>,
    pub(crate) api_keys: KeySet,
    pub(crate) admin_keys: KeySet,
    pub(crate) coral_secrets: Vec<String>,
    pub(crate) feedback_file: Option<PathBuf>,
    pub(crate) attributes: AttributeMap,
    pub(crate) perspective_align: Option<f64>,
    pub(crate) limits: Limits,
    pub(crate) shutdown_grace: Duration,
    pub(crate) log_comments: bool,
}

impl ServeConfig {
    pub fn bind(&self) -> SocketAddr {
        self.bind
    }
    pub fn limits(&self) -> &Limits {
        &self.limits
    }
    pub fn model_path(&self) -> Option<&Path> {
        self.model_path.as_deref()
    }
}

/// Shortest key or secret accepted: shorter ones are guessable.
pub const MIN_KEY_LEN: usize = 16;

impl ServeParams {
    /// Validate and read the files named. Errors: [`ServeError::Config`] for an out-of-range
    /// value or a malformed attribute spec, [`ServeError::File`] for an unreadable, empty or weak
    /// key file.
    pub fn check(self) -> Result<ServeConfig, ServeError> {
        let bad = |m: String| Err(ServeError::Config(m));
        let l = &self.limits;
        if l.max_body_bytes < 1024 {
            return bad(format!("max body size {} bytes is below 1024", l.max_body_bytes));
        }
        if l.max_batch_body_bytes < l.max_body_bytes {
            return bad("the batch body limit must be at least the body limit".into());
        }
        if l.max_comment_chars == 0 {
            return bad("max comment length must be at least 1 character".into());
        }
        if l.max_batch == 0 {
            return bad("max batch size must be at least 1".into());
        }
        if l.request_timeout.is_zero() {
            return bad("request timeout must be more than 0".into());
        }
        if l.max_concurrency == 0 || l.max_concurrency > tokio::sync::Semaphore::MAX_PERMITS {
            return bad(format!(
                "max concurrency {} is not within 1..={}",
                l.max_concurrency,
                tokio::sync::Semaphore::MAX_PERMITS
            ));
        }
        if l.max_batch_concurrency == 0 {
            return bad("max batch concurrency must be at least 1".into());
        }
        if l.idle_timeout.is_zero() {
            return bad("idle timeout must be more than 0".into());
        }
        if let Some(a) = self.perspective_align {
            if !(a > 0.0 && a < 1.0) {
                return bad(format!("perspective alignment {a} is not strictly between 0 and 1"));
            }
        }
        let api_keys = match &self.api_key_file {
            Some(p) => KeySet::from_file(p)?,
            None => KeySet::default(),
        };
        let admin_keys = match &self.admin_key_file {
            Some(p) => KeySet::from_file(p)?,
            None => api_keys.clone(),
        };
        let coral_secrets = match &self.coral_secret_file {
            Some(p) => read_secret_lines(p)?,
            None => Vec::new(),
        };
        let mut attributes = AttributeMap::default();
        if let Some(p) = &self.attribute_file {
            let text = std::fs::read_to_string(p).map_err(|e| file_error(p, e.to_string()))?;
            for (i, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                attributes.push_spec(line).map_err(|m| file_error(p, format!("line {}: {m}", i + 1)))?;
            }
        }
        for spec in &self.attributes {
            attributes.push_spec(spec).map_err(|m| ServeError::Config(format!("--attribute {spec:?}: {m}")))?;
        }
        Ok(ServeConfig {
            bind: self.bind,
            model_path: self.model_path,
            api_keys,
            admin_keys,
            coral_secrets,
            feedback_file: self.feedback_file,
            attributes,
            perspective_align: self.perspective_align,
            limits: self.limits,
            shutdown_grace: self.shutdown_grace,
            log_comments: self.log_comments,
        })
    }
}

fn file_error(path: &Path, message: String) -> ServeError {
    ServeError::File { path: path.to_path_buf(), message }
}

/// Non-comment lines of a secrets file, trimmed. Errors if unreadable, empty or a line is short.
fn read_secret_lines(path: &Path) -> Result<Vec<String>, ServeError> {
    let text = std::fs::read_to_string(path).map_err(|e| file_error(path, e.to_string()))?;
    warn_if_readable_by_others(path);
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.len() < MIN_KEY_LEN {
            return Err(file_error(path, format!("line {}: a key must be at least {MIN_KEY_LEN} characters", i + 1)));
        }
        out.push(line.to_string());
    }
    if out.is_empty() {
        return Err(file_error(path, "no key in the file (blank lines and # comments are ignored)".into()));
    }
    Ok(out)
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(path = %path.display(), "secret file is readable by group or others; chmod 600 it");
        }
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

/// A set of keys kept only as SHA-256 digests. Comparing digests makes the comparison
/// constant-time in the key's length too (a plain byte compare would stop at the first
/// difference, or at a length mismatch).
#[derive(Clone, Default)]
pub(crate) struct KeySet {
    digests: Vec<[u8; 32]>,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeySet({} keys)", self.digests.len())
    }
}

impl KeySet {
    fn from_file(path: &Path) -> Result<KeySet, ServeError> {
        Ok(KeySet::new(read_secret_lines(path)?.iter().map(String::as_str)))
    }

    pub(crate) fn new<'a>(keys: impl IntoIterator<Item = &'a str>) -> KeySet {
        KeySet { digests: keys.into_iter().map(|k| Sha256::digest(k.as_bytes()).into()).collect() }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }

    /// Whether `presented` is one of the keys. Every stored key is compared, match or not.
    pub(crate) fn matches(&self, presented: &str) -> bool {
        let d: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let mut found = subtle::Choice::from(0u8);
        for k in &self.digests {
            found |= k.ct_eq(&d);
        }
        found.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyset_matches_only_its_keys() {
        let keys = KeySet::new(["0123456789abcdef", "fedcba9876543210"]);
        assert!(keys.matches("0123456789abcdef"));
        assert!(keys.matches("fedcba9876543210"));
        assert!(!keys.matches("0123456789abcdeF"));
        assert!(!keys.matches(""));
        assert!(!KeySet::default().matches("anything"));
    }

    #[test]
    fn check_rejects_out_of_range_limits() {
        let mut p = ServeParams::default();
        p.limits.max_batch = 0;
        assert!(matches!(p.check(), Err(ServeError::Config(_))));
        let p = ServeParams { perspective_align: Some(1.0), ..Default::default() };
        assert!(matches!(p.check(), Err(ServeError::Config(_))));
        let mut p = ServeParams::default();
        p.limits.max_batch_body_bytes = 10;
        assert!(p.check().is_err());
        let config = ServeParams::default().check().unwrap();
        // Nothing is exposed unless the operator says so.
        assert!(config.bind().ip().is_loopback());
        assert_eq!(config.limits().max_body_bytes, 64 * 1024);
        assert_eq!(config.limits().max_batch, 1000);
    }

    #[test]
    fn key_files_must_hold_strong_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys");
        std::fs::write(&path, "# comment\n\n  0123456789abcdef  \n").unwrap();
        let keys = KeySet::from_file(&path).unwrap();
        assert!(keys.matches("0123456789abcdef"));
        std::fs::write(&path, "short\n").unwrap();
        assert!(matches!(KeySet::from_file(&path), Err(ServeError::File { .. })));
        std::fs::write(&path, "# only a comment\n").unwrap();
        assert!(KeySet::from_file(&path).is_err());
        assert!(KeySet::from_file(&dir.path().join("missing")).is_err());
    }
}
