//! The `raqib` command: train, score, eval, explain, check, serve.

mod common;
mod serve;

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
            eprintln!("raqib: error: {error:#}");
            ExitCode::from(code)
        }
    }
}
