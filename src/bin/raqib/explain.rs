//! `raqib explain`: scores, then the comment with the n-grams that weighed most highlighted in
//! the original text, then those n-grams.

use crate::common::{print_json, CliError, CliResult, ModelArg};
use anyhow::Context;
use std::io::{IsTerminal, Read};
use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  raqib explain \"اللهم أهلكهم وأحصهم عددا\"
  raqib explain --top 20 --json \"k.i.l.l them all\"")]
pub struct ExplainArgs {
    /// The comment. Without it, standard input is read.
    text: Option<String>,
    #[command(flatten)]
    model: ModelArg,
    /// How many n-grams to list.
    #[arg(long, value_name = "N", default_value_t = 10)]
    top: usize,
    /// JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Colour the highlights (auto: when standard output is a terminal and NO_COLOR is not set).
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
}

const RED: &str = "\x1b[1;31m";
const GREEN: &str = "\x1b[32m";
const RESET: &str = "\x1b[0m";

pub fn run(args: ExplainArgs) -> CliResult {
    let model = args.model.load()?;
    let text = match args.text {
        Some(t) => t,
        None => {
            let mut bytes = Vec::new();
            std::io::stdin().read_to_end(&mut bytes).context("reading standard input").map_err(CliError::input)?;
            String::from_utf8_lossy(&bytes).into_owned()
        }
    };
    let why = model.explain(&text, args.top);
    let names: Vec<&str> = model.label_names().collect();
    if args.json {
        let ngrams: Vec<serde_json::Value> = why
            .ngrams
            .iter()
            .map(|c| {
                let spans: Vec<[usize; 2]> = c.spans.iter().map(|s| raqib::model::char_span(&text, s)).map(|r| [r.start, r.end]).collect();
                let per_label: serde_json::Map<String, serde_json::Value> =
                    names.iter().zip(&c.per_label).map(|(n, v)| (n.to_string(), (*v).into())).collect();
                serde_json::json!({"ngram": c.ngram, "kind": c.kind, "weight": c.weight, "per_label": per_label, "spans": spans})
            })
            .collect();
        let labels: serde_json::Map<String, serde_json::Value> = names
            .iter()
            .zip(&why.scores.labels)
            .map(|(n, l)| {
                (
                    n.to_string(),
                    serde_json::json!({"score": l.probability, "threshold": l.threshold, "flagged": l.flagged}),
                )
            })
            .collect();
        print_json(&serde_json::json!({
            "flagged": why.scores.flagged,
            "labels": labels,
            "explained_label": names.get(why.label),
            "normalized": why.normalized,
            "ngrams": ngrams,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    let color = match args.color {
        Color::Always => true,
        Color::Never => false,
        // The NO_COLOR convention (no-color.org): set and not empty turns automatic colour off.
        Color::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    };
    let mut out = String::new();
    for (n, l) in names.iter().zip(&why.scores.labels) {
        out += &format!(
            "{n:<12} {:>6.3}  (threshold {:.3}){}\n",
            l.probability,
            l.threshold,
            if l.flagged { "  FLAGGED" } else { "" }
        );
    }
    out += &format!("\nwhy {:?}, n-grams that weighed most:\n", names.get(why.label).copied().unwrap_or(""));
    out += &highlight(&text, &why.ngrams, color);
    out += "\n\n";
    for c in &why.ngrams {
        let places: Vec<String> = c.spans.iter().take(3).map(|s| format!("{:?}", &text[s.clone()])).collect();
        // A word and the character n-gram of the same letters are different features with
        // different weights: say which is which.
        let kind = match c.kind {
            raqib::features::FeatureKind::Chars(_) => "chars",
            raqib::features::FeatureKind::Word => "word",
            raqib::features::FeatureKind::WordPair => "words",
        };
        out += &format!("  {:+8.4}  {kind:<5}  {:<14} in {}\n", c.weight, c.ngram, places.join(", "));
    }
    use std::io::Write;
    std::io::stdout().lock().write_all(out.as_bytes()).context("writing to stdout")?;
    Ok(ExitCode::SUCCESS)
}

/// The original text with bytes covered by a positive contribution in red and by a negative one
/// in green (or between [[ ]] and (( )) without colour).
fn highlight(text: &str, ngrams: &[raqib::model::Contribution], color: bool) -> String {
    let mut mark = vec![0i8; text.len()];
    for c in ngrams {
        let sign = if c.weight > 0.0 {
            1
        } else if c.weight < 0.0 {
            -1
        } else {
            0
        };
        for s in &c.spans {
            for m in &mut mark[s.clone()] {
                if *m == 0 || sign > 0 {
                    *m = sign;
                }
            }
        }
    }
    let (open_pos, open_neg, close_pos, close_neg) =
        if color { (RED, GREEN, RESET, RESET) } else { ("[[", "((", "]]", "))") };
    let mut out = String::new();
    let mut current = 0i8;
    for (i, ch) in text.char_indices() {
        let m = mark[i];
        if m != current {
            match current {
                1 => out += close_pos,
                -1 => out += close_neg,
                _ => {}
            }
            match m {
                1 => out += open_pos,
                -1 => out += open_neg,
                _ => {}
            }
            current = m;
        }
        out.push(ch);
    }
    match current {
        1 => out += close_pos,
        -1 => out += close_neg,
        _ => {}
    }
    out
}
