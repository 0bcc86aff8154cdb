//! Shared server state and hot reload.
//!
//! The serving model lives in a [`Snapshot`] behind an `RwLock<Arc<_>>`: a request clones the
//! `Arc` once (the lock is held for that clone only) and scores with that snapshot to the end, so a
//! reload never changes the model under a request. A reload loads and checks the new file off the
//! async threads, then swaps the `Arc` in one write: requests see the old model or the new one,
//! never a mix, and a file that fails to load or check leaves the old model serving.

use super::attributes::Resolved;
use super::config::{ServeConfig, ServeError};
use super::metrics::{Metrics, ModelInfo};
use crate::Model;
use std::fs::File;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// One loaded model with everything derived from it.
pub(crate) struct Snapshot {
    pub model: Model,
    pub hash: String,
    pub attributes: Resolved,
    /// Flag counters in model label order.
    pub flags: Vec<Arc<AtomicU64>>,
    /// File path, or `<embedded>`.
    pub source: String,
    pub loaded_at: i64,
}

impl Snapshot {
    fn new(model: Model, source: String, config: &ServeConfig, metrics: &Metrics) -> Result<Snapshot, String> {
        let attributes = config.attributes.resolve(&model)?;
        let flags = model.label_names().map(|l| metrics.flag_counter(l)).collect();
        Ok(Snapshot { hash: model.hash(), attributes, flags, source, loaded_at: now_unix(), model })
    }

    pub(crate) fn info(&self) -> ModelInfo {
        ModelInfo {
            name: self.model.meta().name.clone(),
            hash: self.hash.clone(),
            labels: self.model.label_names().map(str::to_string).collect(),
            source: self.source.clone(),
            loaded_at: self.loaded_at,
        }
    }

    /// Count the flags of one scored comment.
    pub(crate) fn count(&self, metrics: &Metrics, scores: &crate::Scores) {
        metrics.decision(scores.flagged);
        for (l, c) in scores.labels.iter().zip(&self.flags) {
            if l.flagged {
                c.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

pub(crate) fn now_unix() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// The server's state, cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct AppState {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub config: ServeConfig,
    current: RwLock<Arc<Snapshot>>,
    /// One reload at a time: two racing reloads could otherwise swap in the older file last.
    reload_lock: tokio::sync::Mutex<()>,
    pub metrics: Metrics,
    pub feedback: Option<Mutex<File>>,
    pub permits: Arc<tokio::sync::Semaphore>,
    /// `/v1/score` requests in flight (see [`super::Limits::max_batch_concurrency`]).
    pub batch_permits: Arc<tokio::sync::Semaphore>,
    /// Set on SIGTERM: `/readyz` answers 503 so a load balancer stops sending traffic.
    pub draining: AtomicBool,
}

/// Why a reload was refused. The old model keeps serving in every case.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("no model file to reload: the server runs the embedded default model (start it with --model PATH)")]
    NoFile,
    #[error(transparent)]
    Load(#[from] crate::Error),
    #[error("incompatible model: {0}")]
    Incompatible(String),
}

/// What a successful reload did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReloadOutcome {
    pub previous: String,
    pub current: String,
    /// False when the file held the same model (same content hash).
    pub changed: bool,
}

impl AppState {
    /// State for serving `model` (loaded from `config`'s model path, or the embedded default).
    /// Errors if the attribute map does not fit the model or the feedback file cannot be opened.
    pub fn new(config: ServeConfig, model: Model) -> Result<AppState, ServeError> {
        let metrics = Metrics::new();
        let source = config.model_path.as_ref().map_or_else(|| "<embedded>".to_string(), |p| p.display().to_string());
        let snapshot = Snapshot::new(model, source, &config, &metrics).map_err(ServeError::Config)?;
        let feedback = match &config.feedback_file {
            Some(path) => {
                let file = std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(|e| {
                    ServeError::File { path: path.clone(), message: format!("cannot open for appending: {e}") }
                })?;
                Some(Mutex::new(file))
            }
            None => None,
        };
        let permits = Arc::new(tokio::sync::Semaphore::new(config.limits.max_concurrency));
        let batch_permits = Arc::new(tokio::sync::Semaphore::new(config.limits.max_batch_concurrency));
        Ok(AppState {
            inner: Arc::new(Inner {
                config,
                current: RwLock::new(Arc::new(snapshot)),
                reload_lock: tokio::sync::Mutex::new(()),
                metrics,
                feedback,
                permits,
                batch_permits,
                draining: AtomicBool::new(false),
            }),
        })
    }

    /// The model serving now.
    pub(crate) fn snapshot(&self) -> Arc<Snapshot> {
        // A poisoned lock only means a panic elsewhere while holding it; the Arc inside is whole.
        self.inner.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub(crate) fn config(&self) -> &ServeConfig {
        &self.inner.config
    }

    pub(crate) fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Stop reporting ready (graceful shutdown has begun).
    pub fn begin_drain(&self) {
        self.inner.draining.store(true, Ordering::SeqCst);
    }

    pub(crate) fn is_draining(&self) -> bool {
        self.inner.draining.load(Ordering::SeqCst)
    }

    /// API requests in flight now.
    pub(crate) fn in_flight(&self) -> usize {
        self.inner.config.limits.max_concurrency.saturating_sub(self.inner.permits.available_permits())
    }

    /// Re-read the model file and swap it in. The new model must load (magic, version, checksum),
    /// keep every label of the serving model (clients may ask for any of them; it may add labels)
    /// and fit the attribute map. On any error the serving model is untouched.
    pub async fn reload(&self) -> Result<ReloadOutcome, ReloadError> {
        let result = self.reload_inner().await;
        self.inner.metrics.reload(result.is_ok());
        match &result {
            Ok(o) => {
                tracing::info!(previous = %o.previous, current = %o.current, changed = o.changed, "model reloaded")
            }
            Err(e) => {
                tracing::error!(error = %e, "model reload rejected; the previous model keeps serving")
            }
        }
        result
    }

    async fn reload_inner(&self) -> Result<ReloadOutcome, ReloadError> {
        let _one_at_a_time = self.inner.reload_lock.lock().await;
        let path = self.inner.config.model_path.clone().ok_or(ReloadError::NoFile)?;
        let source = path.display().to_string();
        // Reading and checking a model file is blocking work (tens of MB for a big model).
        let model = tokio::task::spawn_blocking(move || Model::load(&path))
            .await
            .map_err(|e| ReloadError::Incompatible(format!("loader task failed: {e}")))??;
        let old = self.snapshot();
        let missing: Vec<&str> = old.model.label_names().filter(|l| !model.label_names().any(|n| n == *l)).collect();
        if !missing.is_empty() {
            return Err(ReloadError::Incompatible(format!(
                "the new model lacks label(s) {missing:?} of the serving model; restart the server to change the label set"
            )));
        }
        let snapshot =
            Snapshot::new(model, source, &self.inner.config, &self.inner.metrics).map_err(ReloadError::Incompatible)?;
        let outcome = ReloadOutcome {
            previous: old.hash.clone(),
            current: snapshot.hash.clone(),
            changed: old.hash != snapshot.hash,
        };
        *self.inner.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(snapshot);
        Ok(outcome)
    }

    /// Append one JSON line to the feedback file. Returns false when no file is configured.
    /// One `write_all` of the whole line under the lock, so concurrent lines never interleave.
    pub(crate) fn append_feedback(&self, line: &[u8]) -> std::io::Result<bool> {
        let Some(file) = &self.inner.feedback else {
            return Ok(false);
        };
        let mut f = file.lock().unwrap_or_else(|p| p.into_inner());
        f.write_all(line)?;
        f.flush()?;
        Ok(true)
    }
}
