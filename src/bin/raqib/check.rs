//! `raqib check`: the pre-publication hook for systems that run a command. One comment in, one
//! JSON line out, and the decision in the exit code.

use crate::common::{print_json, CliError, CliResult, ModelArg, EXIT_FLAGGED};
use crate::score::apply_thresholds;
use anyhow::Context;
use std::io::Read;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Prints {\"action\":\"publish\"|\"hold\",\"flagged\":…,\"labels\":{NAME:{\"score\",\"threshold\",\"flagged\"}},\"model\":{…}}
and exits 0 to publish, 1 to hold (2 input error, 3 model error).

Examples:
  raqib check \"the match was a massacre, 4-0!\"        # exit 0
  echo \"$COMMENT\" | raqib check || hold_for_review")]
pub struct CheckArgs {
    /// The comment. Without it, standard input is read (invalid UTF-8 is replaced, not refused).
    text: Option<String>,
    #[command(flatten)]
    model: ModelArg,
    /// Override thresholds: one number for every label, or LABEL=NUMBER (repeatable).
    #[arg(long, value_name = "[LABEL=]P")]
    threshold: Vec<String>,
    /// Add the N n-grams that weighed most, with their character spans in the comment.
    #[arg(long, value_name = "N", default_value_t = 0)]
    explain: usize,
}

pub fn run(args: CheckArgs) -> CliResult {
    let mut model = args.model.load()?;
    apply_thresholds(&mut model, &args.threshold)?;
    let text = match args.text {
        Some(t) => t,
        None => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .context("reading the comment from standard input")
                .map_err(CliError::input)?;
            String::from_utf8_lossy(&bytes).into_owned()
        }
    };
    let (scores, ngrams) = if args.explain > 0 {
        let why = model.explain(&text, args.explain);
        let ngrams: Vec<serde_json::Value> = why
            .ngrams
            .iter()
            .map(|c| {
                let spans: Vec<[usize; 2]> =
                    c.spans.iter().map(|s| raqib::model::char_span(&text, s)).map(|r| [r.start, r.end]).collect();
                serde_json::json!({"ngram": c.ngram, "weight": c.weight, "spans": spans})
            })
            .collect();
        (why.scores, Some(ngrams))
    } else {
        (model.score(&text), None)
    };
    let labels: serde_json::Map<String, serde_json::Value> = model
        .label_names()
        .zip(&scores.labels)
        .map(|(n, l)| {
            (n.to_string(), serde_json::json!({"score": l.probability, "threshold": l.threshold, "flagged": l.flagged}))
        })
        .collect();
    let mut out = serde_json::json!({
        "action": if scores.flagged { "hold" } else { "publish" },
        "flagged": scores.flagged,
        "labels": labels,
        "model": {"name": model.meta().name, "hash": model.hash()},
    });
    if let Some(n) = ngrams {
        out["explain"] = n.into();
    }
    print_json(&out)?;
    Ok(if scores.flagged { ExitCode::from(EXIT_FLAGGED) } else { ExitCode::SUCCESS })
}
