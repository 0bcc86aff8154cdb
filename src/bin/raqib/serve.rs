//! `raqib serve`: the HTTP moderation service (library: `raqib::serve`; guide: docs/SERVER.md).

use crate::common::{CliError, CliResult, ModelArg, EXIT_INPUT, EXIT_MODEL};
use raqib::serve::{Limits, ServeError, ServeParams};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, clap::Args)]
#[command(after_help = "Endpoints: POST /v1/check, POST /v1/score, POST /v1alpha1/comments:analyze (Perspective), \
POST /v1alpha1/comments:suggestscore, POST /coral/phase (Coral Talk), GET /healthz, GET /readyz, GET /metrics, \
POST /admin/reload. SIGHUP reloads the model file; SIGTERM drains and stops. See docs/SERVER.md.")]
pub struct ServeArgs {
    #[command(flatten)]
    pub model: ModelArg,
    /// Address to listen on. The default is loopback only; put a proxy or load balancer in front
    /// to expose it.
    #[arg(long, default_value = "127.0.0.1:8080", env = "RAQIB_BIND", value_name = "ADDR")]
    pub bind: SocketAddr,
    /// File of API keys, one per line (# comments allowed). When given, scoring routes need
    /// `Authorization: Bearer KEY`, `X-Api-Key: KEY`, or on Perspective routes `?key=KEY`.
    #[arg(long, env = "RAQIB_API_KEY_FILE", value_name = "PATH")]
    pub api_key_file: Option<PathBuf>,
    /// File of keys for POST /admin/reload [default: the API keys; without either it is disabled].
    #[arg(long, env = "RAQIB_ADMIN_KEY_FILE", value_name = "PATH")]
    pub admin_key_file: Option<PathBuf>,
    /// File of Coral external moderation phase signing secrets, one per line; enables POST /coral/phase.
    #[arg(long, env = "RAQIB_CORAL_SECRET_FILE", value_name = "PATH")]
    pub coral_secret_file: Option<PathBuf>,
    /// JSONL file that Perspective comments:suggestscore feedback is appended to; enables that route.
    #[arg(long, value_name = "PATH")]
    pub feedback_file: Option<PathBuf>,
    /// Map a Perspective attribute: NAME=LABEL, NAME=max (highest label score) or NAME=none.
    /// Repeatable; applied after the defaults (TOXICITY, SEVERE_TOXICITY=max, THREAT=violence,
    /// each label as its upper-case name).
    #[arg(long = "attribute", value_name = "NAME=TARGET")]
    pub attributes: Vec<String>,
    /// File of attribute mappings, one NAME=TARGET per line (# comments allowed).
    #[arg(long, value_name = "PATH")]
    pub attribute_file: Option<PathBuf>,
    /// Rescale Perspective scores so each label's threshold maps to this value, e.g. 0.8 to match
    /// Coral's default toxicity threshold [default: calibrated probabilities, unscaled].
    #[arg(long, value_name = "SCORE")]
    pub perspective_align: Option<f64>,
    /// Largest request body (bytes; K/KiB/M/MiB suffixes accepted). Larger → 413.
    #[arg(long, default_value = "64KiB", value_parser = parse_size, value_name = "SIZE")]
    pub max_body: usize,
    /// Largest /v1/score request body.
    #[arg(long, default_value = "4MiB", value_parser = parse_size, value_name = "SIZE")]
    pub max_batch_body: usize,
    /// Longest comment, in characters.
    #[arg(long, default_value_t = 20_000, value_name = "N")]
    pub max_comment_chars: usize,
    /// Most comments in one /v1/score request.
    #[arg(long, default_value_t = 1_000, value_name = "N")]
    pub max_batch: usize,
    /// Longest time for one request, upload included (e.g. 800ms, 5s). Longer → 408.
    #[arg(long, default_value = "5s", value_parser = parse_duration, value_name = "DURATION")]
    pub request_timeout: Duration,
    /// Most API requests in flight; beyond it requests get 503 at once instead of queueing.
    #[arg(long, default_value_t = 256, value_name = "N")]
    pub max_concurrency: usize,
    /// Most /v1/score requests in flight (each may buffer --max-batch-body); more get 503.
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub max_batch_concurrency: usize,
    /// Close a keep-alive connection after this long without a request. (A request's head must
    /// arrive within --request-timeout, else the connection is closed.)
    #[arg(long, default_value = "75s", value_parser = parse_duration, value_name = "DURATION")]
    pub idle_timeout: Duration,
    /// After SIGTERM, how long in-flight requests may run before the process exits anyway.
    #[arg(long, default_value = "30s", value_parser = parse_duration, value_name = "DURATION")]
    pub shutdown_grace: Duration,
    /// Log format on stderr.
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Least severe log level shown (request lines are info).
    #[arg(long, value_enum, default_value = "info", env = "RAQIB_LOG")]
    pub log_level: LogLevel,
    /// Include comment text in request logs (off by default: logs carry scores and decisions only).
    #[arg(long)]
    pub log_comments: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

/// `65536`, `64K`, `64KiB`, `4M`, `4MiB` (K and M are binary, as body limits usually are).
fn parse_size(s: &str) -> Result<usize, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: usize = num.parse().map_err(|_| format!("{s:?} is not a size like 65536, 64KiB or 4MiB"))?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => 1024 * 1024,
        other => return Err(format!("unknown size unit {other:?} (use KiB or MiB)")),
    };
    n.checked_mul(mult).ok_or_else(|| format!("{s:?} is too large"))
}

/// `800ms`, `5s`, `2m`, or a bare number of seconds.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().map_err(|_| format!("{s:?} is not a duration like 800ms, 5s or 1m"))?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" => n * 60.0,
        other => return Err(format!("unknown duration unit {other:?} (use ms, s or m)")),
    };
    Duration::try_from_secs_f64(secs).map_err(|e| format!("{s:?}: {e}"))
}

impl ServeArgs {
    /// The library's parameters, validated. Errors map to exit code 2.
    pub fn check(&self) -> Result<raqib::serve::ServeConfig, CliError> {
        let params = ServeParams {
            bind: self.bind,
            model_path: self.model.model.clone(),
            api_key_file: self.api_key_file.clone(),
            admin_key_file: self.admin_key_file.clone(),
            coral_secret_file: self.coral_secret_file.clone(),
            feedback_file: self.feedback_file.clone(),
            attributes: self.attributes.clone(),
            attribute_file: self.attribute_file.clone(),
            perspective_align: self.perspective_align,
            limits: Limits {
                max_body_bytes: self.max_body,
                max_batch_body_bytes: self.max_batch_body,
                max_comment_chars: self.max_comment_chars,
                max_batch: self.max_batch,
                request_timeout: self.request_timeout,
                max_concurrency: self.max_concurrency,
                max_batch_concurrency: self.max_batch_concurrency,
                idle_timeout: self.idle_timeout,
            },
            shutdown_grace: self.shutdown_grace,
            log_comments: self.log_comments,
        };
        params.check().map_err(serve_error)
    }
}

/// Model problems exit 3, everything else (flags, files, the address) 2.
fn serve_error(e: ServeError) -> CliError {
    let code = match &e {
        ServeError::Model(raqib::Error::Model { .. }) => EXIT_MODEL,
        _ => EXIT_INPUT,
    };
    CliError { code, error: e.into() }
}

fn init_logging(format: LogFormat, level: LogLevel) {
    use tracing_subscriber::filter::LevelFilter;
    let level = match level {
        LogLevel::Error => LevelFilter::ERROR,
        LogLevel::Warn => LevelFilter::WARN,
        LogLevel::Info => LevelFilter::INFO,
        LogLevel::Debug => LevelFilter::DEBUG,
        LogLevel::Trace => LevelFilter::TRACE,
    };
    let builder = tracing_subscriber::fmt().with_max_level(level).with_writer(std::io::stderr).with_target(false);
    // `try_init` fails only if a subscriber is already set; then logs go there.
    let _ = match format {
        LogFormat::Text => builder.with_ansi(false).try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

pub fn run(args: ServeArgs) -> CliResult {
    init_logging(args.log_format, args.log_level);
    let config = args.check()?;
    let model = args.model.load()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("raqib-serve")
        .build()
        .map_err(|e| CliError::input(anyhow::anyhow!("cannot start the async runtime: {e}")))?;
    runtime.block_on(raqib::serve::run(config, model)).map_err(serve_error)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations_parse() {
        assert_eq!(parse_size("65536"), Ok(65536));
        assert_eq!(parse_size("64KiB"), Ok(65536));
        assert_eq!(parse_size("4M"), Ok(4 << 20));
        assert!(parse_size("4G").is_err());
        assert!(parse_size("lots").is_err());
        assert_eq!(parse_duration("800ms"), Ok(Duration::from_millis(800)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("5h").is_err());
    }
}
