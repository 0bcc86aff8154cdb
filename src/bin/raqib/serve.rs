//! `raqib serve`: owned by the server work (issue 5); see `src/serve/`.

use crate::common::{CliResult, ModelArg};

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub model: ModelArg,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub bind: std::net::SocketAddr,
}

pub fn run(args: ServeArgs) -> CliResult {
    let _model = args.model.load()?;
    Err(crate::common::CliError::input(anyhow::anyhow!("serve is not available yet")))
}
