//! The `raqib` command: train, score, eval, explain, check, serve.

mod check;
mod common;
mod eval;
mod explain;
mod input;
mod report;
mod score;
mod serve;
mod train;

use clap::{CommandFactory, Parser, Subcommand};
use common::{CliError, CliResult, EXIT_CODES_HELP};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "raqib",
    version,
    about = "Moderation classifier for reader comments: calls for violence and support for extremist groups (Arabic, English)",
    after_help = EXIT_CODES_HELP,
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Worker threads (default: all cores).
    #[arg(long, global = true, value_name = "N")]
    threads: Option<usize>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train a model from labelled CSV, TSV or JSONL files.
    Train(train::TrainArgs),
    /// Score a file or stdin: the same rows out, with scores, flags and errors appended.
    Score(score::ScoreArgs),
    /// Measure a model on labelled data: AUCs, precision/recall/F1, calibration; HTML report.
    Eval(eval::EvalArgs),
    /// Show why a comment scores as it does: the n-grams that weighed most, highlighted.
    Explain(explain::ExplainArgs),
    /// Pre-publication hook: JSON verdict on stdout, exit 0 to publish, 1 to hold.
    Check(check::CheckArgs),
    /// Run the HTTP moderation service (Perspective-compatible, Coral-ready).
    Serve(serve::ServeArgs),
    /// Print a shell completion script.
    Completions {
        /// bash, zsh, fish, powershell or elvish.
        shell: clap_complete::Shell,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(n) = cli.threads {
        if let Err(e) = rayon::ThreadPoolBuilder::new().num_threads(n.max(1)).build_global() {
            eprintln!("raqib: error: cannot start {n} threads: {e}");
            return ExitCode::from(common::EXIT_INPUT);
        }
    }
    let result: CliResult = match cli.command {
        Command::Train(args) => train::run(args),
        Command::Score(args) => score::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Check(args) => check::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "raqib", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(CliError { error, .. }) if common::is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(CliError { code, error }) => {
            eprintln!("raqib: error: {}", one_line(&error));
            ExitCode::from(code)
        }
    }
}

/// The error and its causes on one line. Library errors already print their source (an I/O
/// error names the path and the OS reason), so a cause whose text is already in the message is
/// not repeated, and line breaks (a file name or a value from the data) are escaped: scripts
/// read exactly one `raqib: error:` line.
fn one_line(error: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if message.contains(&text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
    message.replace('\r', "\\r").replace('\n', "\\n")
}
