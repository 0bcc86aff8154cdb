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

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use common::{CliError, CliResult, EXIT_CODES_HELP};
use std::process::ExitCode;

/// Examples at the end of `raqib --help`, before the exit codes.
const EXAMPLES: &str = "\
Examples:
  raqib check \"a comment before it is published\" || hold_for_review
  raqib score --input comments.csv --output scored.csv
  raqib eval --data labelled.csv --report report.html
  raqib explain \"why does this comment score high?\"
  raqib train --data mine.csv --label-column violence --out mine.raqib
  raqib serve --bind 127.0.0.1:8080
  raqib completions bash > /etc/bash_completion.d/raqib
Every subcommand has its own --help with its flags and examples.";

#[derive(Debug, Parser)]
#[command(
    name = "raqib",
    version,
    about = "Moderation classifier for reader comments: calls for violence and support for extremist groups (Arabic, English)",
    after_help = format!("{EXAMPLES}\n\n{EXIT_CODES_HELP}"),
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

/// The command line with the exit codes at the end of every subcommand's `--help` too (after
/// its examples): a script author reading `raqib score --help` should not need the top level.
fn command() -> clap::Command {
    Cli::command().mut_subcommands(|sub| {
        let after = match sub.get_after_help() {
            Some(help) => format!("{help}\n\n{EXIT_CODES_HELP}"),
            None => EXIT_CODES_HELP.to_string(),
        };
        sub.after_help(after)
    })
}

fn main() -> ExitCode {
    // Parse errors and --help/--version exit here, with clap's codes (2 for a usage error).
    let cli = match Cli::from_arg_matches(&command().get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
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
            clap_complete::generate(shell, &mut command(), "raqib", &mut std::io::stdout());
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
