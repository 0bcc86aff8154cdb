//! Typed errors of the library. Each variant carries what a user needs to fix the problem: the path,
//! the line and column, the value that was wrong.

use std::path::PathBuf;

/// Everything the library can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Hyperparameters or configuration rejected by a `check()`.
    #[error("invalid parameter: {0}")]
    InvalidParams(String),

    /// Training data that cannot be learned from (no rows, a label with a single class, ...).
    #[error("training data: {0}")]
    TrainingData(String),

    /// A model file that cannot be loaded. `path` is `<embedded>` for the built-in model.
    #[error("model {path}: {kind}")]
    Model { path: String, kind: ModelError },

    /// An input file problem at a known place: `path:line:column: message`.
    #[error("{}", located(path, *line, *column, message))]
    Input { path: PathBuf, line: u64, column: Option<u64>, message: String },

    /// Plain I/O failure with the path involved.
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },

    /// linfa's own error type, for the `Fit` trait bound.
    #[error(transparent)]
    Linfa(#[from] linfa::Error),
}

fn located(path: &std::path::Path, line: u64, column: Option<u64>, message: &str) -> String {
    match column {
        Some(col) => format!("{}:{line}:{col}: {message}", path.display()),
        None => format!("{}:{line}: {message}", path.display()),
    }
}

/// Why a model file was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    #[error("not a raqib model (wrong magic bytes)")]
    BadMagic,
    #[error("format version {found} is newer than this raqib supports ({supported}); upgrade raqib")]
    NewerVersion { found: u32, supported: u32 },
    #[error("file is truncated ({0})")]
    Truncated(String),
    #[error("checksum mismatch: stored {stored:016x}, computed {computed:016x} (file corrupted)")]
    Checksum { stored: u64, computed: u64 },
    #[error("{0} contains a non-finite value (NaN or infinity)")]
    NonFinite(String),
    #[error("size mismatch: {0}")]
    SizeMismatch(String),
    #[error("invalid header: {0}")]
    Header(String),
    #[error("cannot read: {0}")]
    Io(String),
}

impl Error {
    pub(crate) fn model(path: impl Into<String>, kind: ModelError) -> Self {
        Error::Model { path: path.into(), kind }
    }
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
