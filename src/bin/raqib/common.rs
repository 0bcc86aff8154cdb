//! What every subcommand shares: exit codes, error classification, model loading, output.

use anyhow::Context;
use raqib::{Error, Model};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit codes, documented in `--help` and the README (0 is success).
/// `check` only: the comment should be held for review.
pub const EXIT_FLAGGED: u8 = 1;
/// Bad usage or bad input (missing file, malformed CSV, unknown column, bad label value).
pub const EXIT_INPUT: u8 = 2;
/// The model file is missing, unreadable, corrupt or from a newer raqib.
pub const EXIT_MODEL: u8 = 3;

pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success (check: publish)
  1  check only: the comment is flagged, hold it for review
  2  usage or input error (bad flag, missing file, malformed CSV/JSONL, unknown column, bad label)
  3  model error (missing, unreadable, corrupt or newer-format model file)";

/// An error with the exit code it maps to.
#[derive(Debug)]
pub struct CliError {
    pub code: u8,
    pub error: anyhow::Error,
}

impl CliError {
    pub fn input(error: impl Into<anyhow::Error>) -> Self {
        CliError { code: EXIT_INPUT, error: error.into() }
    }
    pub fn model(error: impl Into<anyhow::Error>) -> Self {
        CliError { code: EXIT_MODEL, error: error.into() }
    }
}

/// Library errors find their exit code by kind: model problems are 3, everything else 2.
impl From<Error> for CliError {
    fn from(e: Error) -> Self {
        let code = if matches!(e, Error::Model { .. }) { EXIT_MODEL } else { EXIT_INPUT };
        CliError { code, error: e.into() }
    }
}

impl From<anyhow::Error> for CliError {
    fn from(error: anyhow::Error) -> Self {
        // An I/O error on stdout that is a closed pipe (`raqib score | head`) is not a failure.
        CliError { code: EXIT_INPUT, error }
    }
}

pub type CliResult = Result<ExitCode, CliError>;

/// `--model PATH`, shared by the subcommands that score.
#[derive(Debug, Clone, clap::Args)]
pub struct ModelArg {
    /// Model file to use. Without it, the default model compiled into raqib.
    #[arg(long, short = 'm', value_name = "PATH", env = "RAQIB_MODEL")]
    pub model: Option<PathBuf>,
}

impl ModelArg {
    /// Load the model (or the embedded default). Errors map to exit code 3.
    pub fn load(&self) -> Result<Model, CliError> {
        load_model(self.model.as_deref())
    }
}

pub fn load_model(path: Option<&Path>) -> Result<Model, CliError> {
    match path {
        Some(p) => {
            if !p.exists() {
                return Err(CliError::model(anyhow::anyhow!("model file {} does not exist", p.display())));
            }
            // A library I/O error names only the path; say it is the model that cannot be read.
            Model::load(p).map_err(|e| match e {
                Error::Io { source, .. } => {
                    CliError::model(anyhow::anyhow!("model file {}: cannot read: {source}", p.display()))
                }
                e => CliError::model(e),
            })
        }
        None => raqib::model::embedded_default().map_err(CliError::model),
    }
}

/// True when `e` (or its cause) is a broken pipe on output.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}

/// Write a JSON value and a newline to stdout.
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, value).context("writing to stdout")?;
    out.write_all(b"\n").context("writing to stdout")?;
    Ok(())
}
