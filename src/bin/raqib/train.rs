//! `raqib train`: labelled files → model file and a JSON training report beside it.

use crate::common::{CliError, CliResult};
use crate::input::{report_skipped, Bars, LabelArgs, TableArgs};
use anyhow::{anyhow, Context};
use linfa::ParamGuard;
use raqib::data::{read_labelled, ColumnRef, LabelledOptions};
use raqib::features::FeatureConfig;
use raqib::normalize::NormalizeConfig;
use raqib::train::{LogisticParams, ThresholdTarget, TrainParams, TrainReport, Validation};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  # CSV with a header, columns text and label (1/0):
  raqib train --data comments.csv --out my.raqib
  # Two labels, text values, 5-fold cross-validation, thresholds for 95% precision:
  raqib train --data a.csv --data b.csv --label-column violence --label-column extremism \\
      --cv 5 --min-precision 0.95 --out my.raqib
  # OffensEval (OSACT) TSV without header or quoting: text, OFF/NOT_OFF, HS/NOT_HS
  raqib train --data OSACT2020-sharedTask-train.txt --format tsv --no-header --no-quoting \\
      --text-column 0 --label-column 1 --label-name offensive --positive OFF --out off.raqib")]
pub struct TrainArgs {
    /// Labelled input file(s): CSV, TSV or JSONL (repeatable).
    #[arg(long, short = 'd', value_name = "FILE", required = true)]
    data: Vec<PathBuf>,
    /// Where to write the model (atomically). The report goes to MODEL.report.json.
    #[arg(long, short = 'o', value_name = "MODEL")]
    out: PathBuf,
    #[command(flatten)]
    table: TableArgs,
    /// Label column: a name, or a 0-based number (repeatable: one model label each).
    #[arg(long, value_name = "COLUMN", default_value = "label")]
    label_column: Vec<String>,
    /// Name of each label in the model (repeatable, in --label-column order; default: the column names).
    #[arg(long, value_name = "NAME")]
    label_name: Vec<String>,
    #[command(flatten)]
    labels: LabelArgs,
    /// Held-out fraction used to calibrate, choose thresholds and measure (seeded, stratified).
    #[arg(long, value_name = "FRACTION", default_value_t = 0.1, conflicts_with_all = ["cv", "no_validation"])]
    validation: f64,
    /// K-fold cross-validation instead of a held-out split.
    #[arg(long, value_name = "K")]
    cv: Option<usize>,
    /// No held-out data: no calibration, threshold 0.5, no validation figures.
    #[arg(long)]
    no_validation: bool,
    /// Choose each threshold for at least this precision on validation data (default: best F1).
    #[arg(long, value_name = "P")]
    min_precision: Option<f64>,
    /// Keep the model trained without the held-out rows (default: refit on all rows).
    #[arg(long)]
    no_refit: bool,
    /// Do not Platt-scale the validation scores.
    #[arg(long)]
    no_calibration: bool,
    /// Seed of the validation split / folds.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Hash buckets = 2^BITS (16–24).
    #[arg(long, default_value_t = 20)]
    bits: u8,
    /// Character n-gram lengths, MIN-MAX in grapheme clusters (0 turns them off).
    #[arg(long, value_name = "MIN-MAX", default_value = "2-5")]
    char_ngrams: String,
    /// Word n-grams: 0 none, 1 words, 2 words and pairs.
    #[arg(long, default_value_t = 2)]
    word_ngrams: u8,
    /// Character n-grams keep repeated letters ("kill" stays `kill`) instead of reading a run of
    /// one letter as one, which makes them immune to elongation.
    #[arg(long)]
    keep_repeats: bool,
    /// Drop n-gram buckets seen in fewer training texts.
    #[arg(long, default_value_t = 2)]
    min_df: u32,
    /// Inverse regularisation strength.
    #[arg(long = "c", value_name = "C", default_value_t = 4.0)]
    c: f64,
    /// Do not weight classes by their inverse frequency.
    #[arg(long)]
    no_balanced: bool,
    /// Relative gradient tolerance of the optimiser.
    #[arg(long, default_value_t = 1e-3)]
    tolerance: f64,
    /// Newton iterations at most.
    #[arg(long, default_value_t = 200)]
    max_iter: usize,
    /// Turn a normalisation step off (repeatable): nfkc, drop_invisible, collapse_whitespace,
    /// strip_diacritics, strip_tatweel, fold_arabic_letters, fold_digits, lowercase,
    /// fold_homoglyphs, strip_accents, collapse_elongation, rejoin_spelled_letters.
    #[arg(long, value_name = "STEP")]
    no_normalize: Vec<String>,
    /// Model name stored in the file.
    #[arg(long, default_value = "raqib")]
    name: String,
    /// Where to write the JSON training report (default: MODEL.report.json).
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// No progress bars.
    #[arg(long, short = 'q')]
    quiet: bool,
}

impl TrainArgs {
    /// Validate the flags into training parameters (the `check()` step).
    fn params(&self, labels: Vec<String>) -> anyhow::Result<raqib::train::ValidTrainParams> {
        let (char_min, char_max) = parse_range(&self.char_ngrams)?;
        let features = FeatureConfig {
            char_min,
            char_max,
            word_ngrams: self.word_ngrams,
            bits: self.bits,
            squeeze_repeats: !self.keep_repeats,
            ..FeatureConfig::default()
        };
        let mut normalize = NormalizeConfig::default();
        for step in &self.no_normalize {
            switch_off(&mut normalize, step)?;
        }
        let validation = match (self.no_validation, self.cv) {
            (true, _) => Validation::None,
            (false, Some(folds)) => Validation::CrossValidation { folds },
            (false, None) => Validation::Holdout { fraction: self.validation },
        };
        let threshold = match self.min_precision {
            Some(p) => ThresholdTarget::MinPrecision { precision: p },
            None => ThresholdTarget::BestF1,
        };
        // Reproducible builds: the date in the model comes from SOURCE_DATE_EPOCH when set.
        let created_at = match std::env::var("SOURCE_DATE_EPOCH") {
            Ok(v) => Some(
                v.trim().parse::<i64>().map_err(|_| anyhow!("SOURCE_DATE_EPOCH must be Unix seconds, got {v:?}"))?,
            ),
            Err(_) => None,
        };
        Ok(TrainParams::new(labels)
            .name(&self.name)
            .normalize(normalize)
            .features(features)
            .min_df(self.min_df)
            .logistic(
                LogisticParams::new()
                    .c(self.c)
                    .balanced(!self.no_balanced)
                    .tolerance(self.tolerance)
                    .max_iter(self.max_iter),
            )
            .validation(validation)
            .threshold(threshold)
            .calibrate(!self.no_calibration)
            .refit(!self.no_refit)
            .seed(self.seed)
            .created_at(created_at)
            .check()?)
    }
}

fn parse_range(s: &str) -> anyhow::Result<(u8, u8)> {
    let bad = || anyhow!("--char-ngrams must look like 1-5 (or 0 to turn them off), got {s:?}");
    if s.trim() == "0" {
        return Ok((0, 0));
    }
    let (a, b) = s.split_once(['-', ':']).or_else(|| s.split_once("..")).ok_or_else(bad)?;
    Ok((a.trim().parse().map_err(|_| bad())?, b.trim().trim_start_matches('=').parse().map_err(|_| bad())?))
}

fn switch_off(cfg: &mut NormalizeConfig, step: &str) -> anyhow::Result<()> {
    let flag = match step {
        "nfkc" => &mut cfg.nfkc,
        "drop_invisible" => &mut cfg.drop_invisible,
        "collapse_whitespace" => &mut cfg.collapse_whitespace,
        "strip_diacritics" => &mut cfg.strip_diacritics,
        "strip_tatweel" => &mut cfg.strip_tatweel,
        "fold_arabic_letters" => &mut cfg.fold_arabic_letters,
        "fold_digits" => &mut cfg.fold_digits,
        "lowercase" => &mut cfg.lowercase,
        "fold_homoglyphs" => &mut cfg.fold_homoglyphs,
        "strip_accents" => &mut cfg.strip_accents,
        "collapse_elongation" => &mut cfg.collapse_elongation,
        "rejoin_spelled_letters" => &mut cfg.rejoin_spelled_letters,
        other => return Err(anyhow!("unknown normalisation step {other:?} for --no-normalize")),
    };
    *flag = false;
    Ok(())
}

pub fn run(args: TrainArgs) -> CliResult {
    let started = Instant::now();
    let bars = Bars::new(args.quiet);
    let opts = LabelledOptions {
        read: args.table.read_options().map_err(CliError::input)?,
        text: args.table.text_column.parse().unwrap_or(ColumnRef::Name(args.table.text_column.clone())),
        labels: args.label_column.iter().map(|c| c.parse().unwrap_or(ColumnRef::Name(c.clone()))).collect(),
        label_names: args.label_name.clone(),
        spec: args.labels.spec(),
        skip_bad_rows: args.labels.skip_bad_rows,
        group: None,
    };
    // Validate the flags before spending time on reading.
    let placeholder: Vec<String> = (0..args.label_column.len()).map(|i| format!("label{i}")).collect();
    args.params(placeholder).map_err(CliError::input)?;

    bars.spinner("reading");
    let data = read_labelled(&args.data, &opts, &|n| bars.set_position(n))?;
    bars.finish();
    report_skipped(&data.bad_rows, data.rows_read);
    let params = args.params(data.label_names.clone()).map_err(CliError::input)?;
    let (model, report) = params.train(&data.texts, data.targets.view(), None, &bars)?;
    bars.finish();
    model.save(&args.out).map_err(CliError::input)?;
    let report_path = args.report.clone().unwrap_or_else(|| {
        let mut p = args.out.clone().into_os_string();
        p.push(".report.json");
        PathBuf::from(p)
    });
    let json = serde_json::json!({
        "model": args.out,
        "model_hash": model.hash(),
        "inputs": args.data,
        "rows_read": data.rows_read,
        "rows_skipped": data.bad_rows.len(),
        "skipped": data.bad_rows.iter().take(1000).map(|b| b.to_string()).collect::<Vec<_>>(),
        "seconds": started.elapsed().as_secs_f64(),
        "training": report,
    });
    std::fs::write(&report_path, serde_json::to_string_pretty(&json).context("serialising the report")? + "\n")
        .with_context(|| format!("writing {}", report_path.display()))?;
    print_summary(
        &mut std::io::stdout().lock(),
        &args,
        &report,
        model.hash(),
        started.elapsed().as_secs_f64(),
        &report_path,
    )
    .context("writing the summary")?;
    Ok(ExitCode::SUCCESS)
}

fn print_summary(
    w: &mut impl std::io::Write,
    args: &TrainArgs,
    r: &TrainReport,
    hash: String,
    seconds: f64,
    report_path: &std::path::Path,
) -> std::io::Result<()> {
    writeln!(w,
        "trained {} on {} rows ({} features used of {} buckets, {} non-zeros) in {:.1}s (featurise {:.1}s, optimise {:.1}s)",
        args.out.display(),
        r.rows,
        r.features_used,
        r.buckets,
        r.nonzeros,
        seconds,
        r.featurize_seconds,
        r.optimize_seconds
    )?;
    let refit = r.params.refit;
    for l in &r.labels {
        writeln!(
            w,
            "  {}: {} positive / {} negative; {} Newton iterations{}, final loss {:.4}{}",
            l.name,
            l.positives,
            l.negatives,
            l.fit.iterations,
            // The refit starts from the validation model's weights, so it needs few iterations.
            if refit && l.validation.is_some() { " (refit on all rows, warm-started)" } else { "" },
            l.fit.loss,
            if l.fit.converged { "" } else { " (not converged: raise --max-iter)" }
        )?;
        if let Some(v) = &l.validation {
            let f = |x: Option<f64>| x.map_or("n/a".into(), |v| format!("{v:.4}"));
            writeln!(w,
                "    validation ({} rows, {} positive): ROC AUC {}, PR AUC {}; at threshold {:.3}: precision {:.3}, recall {:.3}, F1 {:.3}; ECE {:.3}",
                v.rows,
                v.positives,
                f(v.roc_auc),
                f(v.pr_auc),
                v.threshold.threshold,
                v.confusion.precision(),
                v.confusion.recall(),
                v.confusion.f1(),
                v.expected_calibration_error
            )?;
            if let Some(note) = &v.note {
                writeln!(w, "    note: {note}")?;
            }
        }
    }
    writeln!(w, "model hash {hash}; report {}", report_path.display())
}
