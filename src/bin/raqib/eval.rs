//! `raqib eval`: a model against labelled data. Per label: ROC and PR AUC, precision, recall, F1,
//! false-positive rate and confusion matrix at the model's thresholds (and at `--threshold`),
//! calibration error and reliability bins; `--json`; `--report FILE.html`.

use crate::common::{print_json, CliError, CliResult, ModelArg};
use crate::input::{report_skipped, Bars, LabelArgs, TableArgs};
use anyhow::{anyhow, Context};
use raqib::data::{read_labelled, ColumnRef, LabelledOptions, TableReader};
use raqib::eval::{binary_report, BinaryReport};
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;

/// The pseudo-label "any": flagged when any model label is, scored by the highest probability.
pub const ANY: &str = "any";

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Label columns: COLUMN compares the file's column with the model label of the same name, or with
\"any\" (flagged if any label is; score = the highest probability) when no label has that name;
COLUMN=LABEL picks the model label. Without --label-column: every column named like a model
label, else a column named \"label\" against \"any\".

Examples:
  raqib eval --data held-out.csv
  raqib eval --data test.tsv --no-header --text-column 0 --label-column 1=violence --positive OFF
  raqib eval --data test.csv --threshold 0.5 --report report.html --json > figures.json")]
pub struct EvalArgs {
    /// Labelled file(s): CSV, TSV or JSONL (repeatable).
    #[arg(long, short = 'd', value_name = "FILE", required = true)]
    data: Vec<PathBuf>,
    #[command(flatten)]
    table: TableArgs,
    /// Label column to evaluate, optionally =MODEL_LABEL (repeatable).
    #[arg(long, value_name = "COLUMN[=LABEL]")]
    label_column: Vec<String>,
    #[command(flatten)]
    labels: LabelArgs,
    #[command(flatten)]
    model: ModelArg,
    /// Also report every label at this threshold (repeatable).
    #[arg(long, value_name = "P")]
    threshold: Vec<f64>,
    /// Reliability bins for the calibration error.
    #[arg(long, value_name = "N", default_value_t = 10)]
    bins: usize,
    /// JSON on stdout instead of tables.
    #[arg(long)]
    json: bool,
    /// Write a self-contained HTML report (curves, histograms, worst errors).
    #[arg(long, value_name = "FILE.html")]
    report: Option<PathBuf>,
    /// Also report every label per value of this column (e.g. lang or kind).
    #[arg(long, value_name = "COLUMN")]
    group_by: Option<String>,
    /// Worst false positives and false negatives listed in the report.
    #[arg(long, value_name = "N", default_value_t = 25)]
    worst: usize,
    /// No progress bars.
    #[arg(long, short = 'q')]
    quiet: bool,
}

#[derive(Debug, Serialize)]
pub struct ModelInfo {
    pub name: String,
    pub hash: String,
}

/// The evaluation of one model label (or "any") against one column.
#[derive(Debug, Serialize)]
pub struct LabelEval {
    pub label: String,
    pub column: String,
    #[serde(flatten)]
    pub report: BinaryReport,
    #[serde(skip)]
    pub probs: Vec<f64>,
    #[serde(skip)]
    pub truth: Vec<bool>,
    #[serde(skip)]
    pub predicted: Vec<bool>,
}

/// The evaluation restricted to the rows of one value of the `--group-by` column.
#[derive(Debug, Serialize)]
pub struct GroupEval {
    pub group: String,
    pub labels: Vec<LabelEval>,
}

#[derive(Debug, Serialize)]
pub struct EvalOutput {
    pub model: ModelInfo,
    pub inputs: Vec<PathBuf>,
    pub rows_read: u64,
    pub rows_skipped: usize,
    pub labels: Vec<LabelEval>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupEval>,
}

pub fn run(args: EvalArgs) -> CliResult {
    let model = args.model.load()?;
    if args.threshold.iter().any(|t| !(0.0..=1.0).contains(t)) {
        return Err(CliError::input(anyhow!("--threshold values must be within 0..=1")));
    }
    let names: Vec<String> = model.label_names().map(String::from).collect();
    let read = args.table.read_options().map_err(CliError::input)?;
    // Which column is compared with which model label.
    let pairs: Vec<(String, String)> = if args.label_column.is_empty() {
        let reader = TableReader::open(&args.data[0], &read)?;
        let header = reader.header().unwrap_or_default();
        let matching: Vec<(String, String)> =
            names.iter().filter(|n| header.contains(n)).map(|n| (n.clone(), n.clone())).collect();
        if !matching.is_empty() {
            matching
        } else if header.iter().any(|h| h == "label") {
            vec![("label".into(), ANY.into())]
        } else {
            return Err(CliError::input(anyhow!(
                "{}: no column named like a model label ({}) or \"label\"; pass --label-column COLUMN[=LABEL]",
                args.data[0].display(),
                names.join(", ")
            )));
        }
    } else {
        args.label_column
            .iter()
            .map(|c| match c.split_once('=') {
                Some((col, label)) => (col.to_string(), label.to_string()),
                None => (c.clone(), if names.contains(c) { c.clone() } else { ANY.into() }),
            })
            .collect()
    };
    for (_, label) in &pairs {
        if label != ANY && !names.contains(label) {
            return Err(CliError::input(anyhow!(
                "the model has no label {label:?} (labels: {}, or {ANY})",
                names.join(", ")
            )));
        }
    }
    let opts = LabelledOptions {
        read,
        text: args.table.text_column.parse().unwrap_or(ColumnRef::Name(args.table.text_column.clone())),
        labels: pairs.iter().map(|(c, _)| c.parse().unwrap_or(ColumnRef::Name(c.clone()))).collect(),
        label_names: vec![],
        spec: args.labels.spec(),
        skip_bad_rows: args.labels.skip_bad_rows,
        group: args.group_by.as_ref().map(|c| c.parse().unwrap_or(ColumnRef::Name(c.clone()))),
    };
    let bars = Bars::new(args.quiet || args.json);
    bars.spinner("reading");
    let data = read_labelled(&args.data, &opts, &|n| bars.set_position(n))?;
    bars.finish();
    report_skipped(&data.bad_rows, data.rows_read);
    // Figures over no rows would read as a perfect precision of nothing.
    if data.texts.is_empty() {
        let files: Vec<String> = args.data.iter().map(|p| p.display().to_string()).collect();
        return Err(CliError::input(anyhow!(
            "{}: no rows to evaluate ({} read, {} skipped)",
            files.join(", "),
            data.rows_read,
            data.bad_rows.len()
        )));
    }
    let scores = model.score_batch(&data.texts);

    let mut labels = Vec::new();
    for (k, (column, label)) in pairs.iter().enumerate() {
        let truth: Vec<bool> = data.targets.column(k).to_vec();
        let (probs, predicted, threshold): (Vec<f64>, Vec<bool>, Option<f64>) = if label == ANY {
            (scores.iter().map(|s| s.max_probability()).collect(), scores.iter().map(|s| s.flagged).collect(), None)
        } else {
            let l = names.iter().position(|n| n == label).expect("checked above");
            (
                scores.iter().map(|s| s.labels[l].probability).collect(),
                scores.iter().map(|s| s.labels[l].flagged).collect(),
                Some(model.labels()[l].threshold),
            )
        };
        let report = binary_report(&probs, &predicted, &truth, threshold, &args.threshold, args.bins);
        labels.push(LabelEval { label: label.clone(), column: column.clone(), report, probs, truth, predicted });
    }
    // Per group: the same evaluation on the rows of each value, in sorted order.
    let mut values: Vec<&String> = data.groups.iter().collect();
    values.sort();
    values.dedup();
    let groups: Vec<GroupEval> = values
        .into_iter()
        .map(|g| {
            let rows: Vec<usize> = (0..data.groups.len()).filter(|&i| &data.groups[i] == g).collect();
            let labels = labels
                .iter()
                .map(|l| {
                    let pick = |v: &[f64]| rows.iter().map(|&i| v[i]).collect::<Vec<f64>>();
                    let pick_b = |v: &[bool]| rows.iter().map(|&i| v[i]).collect::<Vec<bool>>();
                    let (probs, truth, predicted) = (pick(&l.probs), pick_b(&l.truth), pick_b(&l.predicted));
                    let report = binary_report(
                        &probs,
                        &predicted,
                        &truth,
                        l.report.at_model_threshold.threshold,
                        &args.threshold,
                        args.bins,
                    );
                    LabelEval { label: l.label.clone(), column: l.column.clone(), report, probs, truth, predicted }
                })
                .collect();
            GroupEval { group: g.clone(), labels }
        })
        .collect();
    let output = EvalOutput {
        model: ModelInfo { name: model.meta().name.clone(), hash: model.hash() },
        inputs: args.data.clone(),
        rows_read: data.rows_read,
        rows_skipped: data.bad_rows.len(),
        labels,
        groups,
    };
    if let Some(path) = &args.report {
        crate::report::write_html(path, &output, &data.texts, args.worst).map_err(CliError::input)?;
    }
    if args.json {
        print_json(&output)?;
    } else {
        let mut w = std::io::stdout().lock();
        print_tables(&mut w, &output).and_then(|()| print_groups(&mut w, &output)).context("writing to stdout")?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_groups(w: &mut impl std::io::Write, out: &EvalOutput) -> std::io::Result<()> {
    if out.groups.is_empty() {
        return Ok(());
    }
    let f = |x: Option<f64>| x.map_or("   n/a".into(), |v| format!("{v:.4}"));
    writeln!(w, "\nby group, at the model's thresholds:")?;
    writeln!(
        w,
        "  {:<16} {:<12} {:>6} {:>6} {:>8} {:>9} {:>7} {:>7}",
        "group", "label", "rows", "pos", "ROC AUC", "precision", "recall", "FPR"
    )?;
    for g in &out.groups {
        for l in &g.labels {
            let (r, t) = (&l.report, &l.report.at_model_threshold);
            writeln!(
                w,
                "  {:<16} {:<12} {:>6} {:>6} {:>8} {:>9.4} {:>7.4} {:>7.4}",
                g.group,
                l.label,
                r.rows,
                r.positives,
                f(r.roc_auc),
                t.precision,
                t.recall,
                t.false_positive_rate
            )?;
        }
    }
    Ok(())
}

fn print_tables(w: &mut impl std::io::Write, out: &EvalOutput) -> std::io::Result<()> {
    let f = |x: Option<f64>| x.map_or("   n/a".into(), |v| format!("{v:.4}"));
    writeln!(w, "model {} ({}), {} rows", out.model.name, out.model.hash, out.rows_read - out.rows_skipped as u64)?;
    for l in &out.labels {
        let r = &l.report;
        writeln!(w, "\n{} (column {:?}): {} rows, {} positive", l.label, l.column, r.rows, r.positives)?;
        writeln!(w, "  ROC AUC {}   PR AUC {}   ECE {:.4}", f(r.roc_auc), f(r.pr_auc), r.expected_calibration_error)?;
        writeln!(
            w,
            "  {:<22} {:>9} {:>9} {:>9} {:>9} {:>7} {:>7} {:>7} {:>7}",
            "threshold", "precision", "recall", "F1", "FPR", "TP", "FP", "TN", "FN"
        )?;
        for (name, t) in std::iter::once((
            r.at_model_threshold.threshold.map_or("model (per label)".into(), |t| format!("model {t:.4}")),
            &r.at_model_threshold,
        ))
        .chain(r.at_thresholds.iter().map(|t| (format!("{:.4}", t.threshold.unwrap_or(f64::NAN)), t)))
        {
            let c = t.confusion;
            writeln!(
                w,
                "  {:<22} {:>9.4} {:>9.4} {:>9.4} {:>9.4} {:>7} {:>7} {:>7} {:>7}",
                name, t.precision, t.recall, t.f1, t.false_positive_rate, c.tp, c.fp, c.tn, c.fn_
            )?;
        }
    }
    Ok(())
}
