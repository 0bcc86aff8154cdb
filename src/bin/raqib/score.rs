//! `raqib score`: stream a table in, the same table out with scores appended. Every input row
//! gives exactly one output row, in order; a row whose text cannot be read gets an `error` value.

use crate::common::{CliError, CliResult, ModelArg};
use crate::input::TableArgs;
use anyhow::{anyhow, Context};
use raqib::data::{Column, ColumnRef, Format, Row, RowData, TableReader};
use raqib::{Model, Scores};
use rayon::prelude::*;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Output: every input column, in order, then score_<label> for each model label, flagged,
flagged_labels (separated by ';'), explain (with --explain), and error (empty unless the row
could not be scored: text missing or not UTF-8, or more fields than the header). Rows keep
input order; rows in = rows out; results leave batch by batch. A summary goes to stderr.
A file read with --no-quoting is written without quoting.

Examples:
  raqib score --input comments.csv --output scored.csv
  cat comments.jsonl | raqib score --format jsonl > scored.jsonl
  raqib score --input big.tsv --no-header --text-column 1 --threshold violence=0.8 --explain 5")]
pub struct ScoreArgs {
    /// Input file, or - for standard input.
    #[arg(long, short = 'i', value_name = "FILE", default_value = "-")]
    input: PathBuf,
    /// Output file, or - for standard output. Same format as the input.
    #[arg(long, short = 'o', value_name = "FILE", default_value = "-")]
    output: PathBuf,
    #[command(flatten)]
    table: TableArgs,
    #[command(flatten)]
    model: ModelArg,
    /// Override thresholds: one number for every label, or LABEL=NUMBER (repeatable).
    #[arg(long, value_name = "[LABEL=]P")]
    threshold: Vec<String>,
    /// Add the N n-grams that weighed most for each flagged row.
    #[arg(long, value_name = "N", default_value_t = 0)]
    explain: usize,
    /// Rows scored together in parallel (memory stays bounded by this, whatever the file size).
    #[arg(long, value_name = "ROWS", default_value_t = 16384)]
    batch: usize,
    /// No summary on stderr.
    #[arg(long, short = 'q')]
    quiet: bool,
}

/// Apply `--threshold` overrides. Errors: unknown label, value outside 0..=1.
pub fn apply_thresholds(model: &mut Model, overrides: &[String]) -> Result<(), CliError> {
    for o in overrides {
        let (label, value) = match o.split_once('=') {
            Some((l, v)) => (Some(l.trim()), v),
            None => (None, o.as_str()),
        };
        let p: f64 = value.trim().parse().map_err(|_| CliError::input(anyhow!("--threshold {o:?}: not a number")))?;
        let targets: Vec<usize> = match label {
            None => (0..model.labels().len()).collect(),
            Some(l) => vec![model.label_names().position(|n| n == l).ok_or_else(|| {
                CliError::input(anyhow!(
                    "--threshold {o:?}: the model has no label {l:?} (labels: {})",
                    model.label_names().collect::<Vec<_>>().join(", ")
                ))
            })?],
        };
        for t in targets {
            model.set_threshold(t, p).map_err(CliError::input)?;
        }
    }
    Ok(())
}

/// Result for one row: scores and explanation, or why the text could not be read.
type Outcome = Result<(Scores, Option<String>), String>;

pub fn run(args: ScoreArgs) -> CliResult {
    let mut model = args.model.load()?;
    apply_thresholds(&mut model, &args.threshold)?;
    let mut reader = TableReader::open(&args.input, &args.table.read_options().map_err(CliError::input)?)?;
    let text_ref: ColumnRef = args.table.text_column.parse().unwrap_or(ColumnRef::Name(args.table.text_column.clone()));
    let column = reader.column(&text_ref)?;
    let out: Box<dyn Write> = if args.output.as_os_str() == "-" {
        Box::new(std::io::stdout().lock())
    } else {
        Box::new(
            std::fs::File::create(&args.output).with_context(|| format!("cannot create {}", args.output.display()))?,
        )
    };
    let mut writer = Writer::new(out, &reader, &model, args.explain > 0)?;
    // A row with more fields than the header has a delimiter where it should not (an unquoted
    // comma in a comment): its text column is likely a piece of the comment, and its appended
    // columns cannot line up under their names. It is kept, and reported instead of scored.
    let header_width = reader.header_record().map(|h| h.len());

    let names: Vec<String> = model.label_names().map(String::from).collect();
    let mut summary = Summary { flagged_per_label: vec![0; names.len()], ..Summary::default() };
    let batch = args.batch.max(1);
    let mut rows: Vec<Row> = Vec::with_capacity(batch);
    loop {
        rows.clear();
        while rows.len() < batch {
            match reader.next_row() {
                Some(row) => rows.push(row?),
                None => break,
            }
        }
        if rows.is_empty() {
            break;
        }
        let outcomes: Vec<Outcome> = rows
            .par_iter()
            .with_min_len(64)
            .map(|row| score_row(&model, row, &column, header_width, args.explain))
            .collect();
        for (row, outcome) in rows.iter().zip(&outcomes) {
            summary.count(row, outcome);
            writer.write(row, outcome)?;
            summary.written += 1;
        }
        // Each batch leaves as soon as it is scored: a reader at the other end of a pipe sees
        // results while the input is still arriving, and nothing piles up in buffers.
        writer.flush()?;
    }
    writer.finish()?;
    if !args.quiet {
        summary.print(&names, &args.input);
    }
    Ok(ExitCode::SUCCESS)
}

fn score_row(model: &Model, row: &Row, column: &Column, header_width: Option<usize>, explain: usize) -> Outcome {
    if let (RowData::Fields(rec), Some(width)) = (&row.data, header_width) {
        if rec.len() > width {
            return Err(format!(
                "the row has {} fields but the header {width} (an unquoted delimiter in a field?)",
                rec.len()
            ));
        }
    }
    let text = row.text(column).map_err(|e| e.to_string())?;
    let scores = model.score(&text);
    let why = (explain > 0 && scores.flagged).then(|| {
        model
            .explain(&text, explain)
            .ngrams
            .iter()
            .map(|c| format!("{}:{:.3}", c.ngram, c.weight))
            .collect::<Vec<_>>()
            .join("; ")
    });
    Ok((scores, why))
}

#[derive(Default)]
struct Summary {
    /// Rows read, and rows written (counted apart: the summary shows that they are equal).
    rows: u64,
    written: u64,
    flagged: u64,
    flagged_per_label: Vec<u64>,
    errors: Vec<(u64, String)>,
    error_count: u64,
}

impl Summary {
    fn count(&mut self, row: &Row, outcome: &Outcome) {
        self.rows += 1;
        match outcome {
            Ok((s, _)) => {
                self.flagged += u64::from(s.flagged);
                for (n, l) in self.flagged_per_label.iter_mut().zip(&s.labels) {
                    *n += u64::from(l.flagged);
                }
            }
            Err(e) => {
                self.error_count += 1;
                if self.errors.len() < 10 {
                    self.errors.push((row.line, e.clone()));
                }
            }
        }
    }

    fn print(&self, names: &[String], input: &std::path::Path) {
        let per: Vec<String> = names.iter().zip(&self.flagged_per_label).map(|(n, c)| format!("{n} {c}")).collect();
        eprintln!(
            "{} rows in, {} out: {} flagged ({}); {} not scored (see their error column)",
            self.rows,
            self.written,
            self.flagged,
            per.join(", "),
            self.error_count
        );
        for (line, e) in &self.errors {
            eprintln!("  {}:{line}: {e}", input.display());
        }
        if self.error_count > self.errors.len() as u64 {
            eprintln!("  … and {} more", self.error_count - self.errors.len() as u64);
        }
    }
}

/// Writes rows back in the input's format with the score columns appended.
enum Writer {
    /// `width`: fields per input row (the header's, or the first row's without one). Shorter rows
    /// are padded to it so that the appended columns stay under their names.
    /// `clean`: the delimiter of a file without quoting, which (with line breaks) must not
    /// appear in an appended field.
    Delimited {
        csv: Box<csv::Writer<Box<dyn Write>>>,
        names: Vec<String>,
        explain: bool,
        width: usize,
        clean: Option<u8>,
    },
    Jsonl {
        out: std::io::BufWriter<Box<dyn Write>>,
        names: Vec<String>,
        explain: bool,
    },
}

impl Writer {
    fn new(out: Box<dyn Write>, reader: &TableReader, model: &Model, explain: bool) -> anyhow::Result<Writer> {
        let names: Vec<String> = model.label_names().map(String::from).collect();
        match reader.format() {
            Format::Csv | Format::Tsv => {
                // The input's quoting convention: a file read with --no-quoting is written without
                // quotes too, so that its fields come back byte for byte (a field of such a file
                // holds neither the delimiter nor a line break; the appended ones are cleaned).
                let style = if reader.quoting() { csv::QuoteStyle::Necessary } else { csv::QuoteStyle::Never };
                let mut csv = csv::WriterBuilder::new()
                    .delimiter(reader.delimiter())
                    .quote_style(style)
                    .flexible(true)
                    .from_writer(out);
                let width = reader.header_record().map_or(0, |h| h.len());
                if let Some(header) = reader.header_record() {
                    let mut rec = header.clone();
                    for n in &names {
                        rec.push_field(format!("score_{n}").as_bytes());
                    }
                    rec.push_field(b"flagged");
                    rec.push_field(b"flagged_labels");
                    if explain {
                        rec.push_field(b"explain");
                    }
                    rec.push_field(b"error");
                    csv.write_byte_record(&rec).map_err(io_error)?;
                }
                let clean = (!reader.quoting()).then_some(reader.delimiter());
                Ok(Writer::Delimited { csv: Box::new(csv), names, explain, width, clean })
            }
            Format::Jsonl => Ok(Writer::Jsonl { out: std::io::BufWriter::with_capacity(1 << 16, out), names, explain }),
        }
    }

    fn write(&mut self, row: &Row, outcome: &Outcome) -> anyhow::Result<()> {
        match self {
            Writer::Delimited { csv, names, explain, width, clean } => {
                let clean = *clean;
                let text = |s: &str| -> Vec<u8> {
                    match clean {
                        Some(d) => {
                            s.bytes().map(|b| if b == d || b == b'\n' || b == b'\r' { b' ' } else { b }).collect()
                        }
                        None => s.as_bytes().to_vec(),
                    }
                };
                let mut rec = match &row.data {
                    RowData::Fields(r) => r.clone(),
                    _ => csv::ByteRecord::new(),
                };
                if *width == 0 {
                    *width = rec.len();
                }
                while rec.len() < *width {
                    rec.push_field(b"");
                }
                match outcome {
                    Ok((s, why)) => {
                        for l in &s.labels {
                            rec.push_field(format!("{:.6}", l.probability).as_bytes());
                        }
                        rec.push_field(if s.flagged { b"true" } else { b"false" });
                        rec.push_field(&text(&flagged_labels(s, names).join(";")));
                        if *explain {
                            rec.push_field(&text(why.as_deref().unwrap_or("")));
                        }
                        rec.push_field(b"");
                    }
                    Err(e) => {
                        for _ in 0..names.len() + 2 {
                            rec.push_field(b"");
                        }
                        if *explain {
                            rec.push_field(b"");
                        }
                        rec.push_field(&text(e));
                    }
                }
                csv.write_byte_record(&rec).map_err(io_error)
            }
            Writer::Jsonl { out, names, explain } => {
                let mut obj = match &row.data {
                    RowData::Json(serde_json::Value::Object(m)) => m.clone(),
                    RowData::Json(other) => serde_json::Map::from_iter([("row".to_string(), other.clone())]),
                    RowData::BadJson { raw, .. } => serde_json::Map::from_iter([(
                        "raw".to_string(),
                        String::from_utf8_lossy(raw).into_owned().into(),
                    )]),
                    RowData::Fields(_) => serde_json::Map::new(),
                };
                match outcome {
                    Ok((s, why)) => {
                        for (n, l) in names.iter().zip(&s.labels) {
                            obj.insert(format!("score_{n}"), round6(l.probability).into());
                        }
                        obj.insert("flagged".into(), s.flagged.into());
                        obj.insert("flagged_labels".into(), flagged_labels(s, names).into());
                        if *explain {
                            obj.insert("explain".into(), why.clone().unwrap_or_default().into());
                        }
                        obj.insert("error".into(), serde_json::Value::Null);
                    }
                    Err(e) => {
                        // The same keys as a scored row, so that every line has one shape.
                        for n in names.iter() {
                            obj.insert(format!("score_{n}"), serde_json::Value::Null);
                        }
                        obj.insert("flagged".into(), serde_json::Value::Null);
                        obj.insert("flagged_labels".into(), serde_json::Value::Null);
                        if *explain {
                            obj.insert("explain".into(), serde_json::Value::Null);
                        }
                        obj.insert("error".into(), e.clone().into());
                    }
                }
                serde_json::to_writer(&mut *out, &obj).map_err(|e| anyhow!(std::io::Error::from(e)))?;
                out.write_all(b"\n").context("writing output")
            }
        }
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        match self {
            Writer::Delimited { csv, .. } => csv.flush().context("writing output"),
            Writer::Jsonl { out, .. } => out.flush().context("writing output"),
        }
    }

    fn finish(self) -> anyhow::Result<()> {
        match self {
            Writer::Delimited { mut csv, .. } => csv.flush().context("writing output"),
            Writer::Jsonl { mut out, .. } => out.flush().context("writing output"),
        }
    }
}

fn round6(p: f64) -> f64 {
    (p * 1e6).round() / 1e6
}

/// Names of the labels `s` flags, in model order.
pub fn flagged_labels<'n>(s: &Scores, names: &'n [String]) -> Vec<&'n str> {
    names.iter().zip(&s.labels).filter(|(_, l)| l.flagged).map(|(n, _)| n.as_str()).collect()
}

fn io_error(e: csv::Error) -> anyhow::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => anyhow::Error::new(io).context("writing output"),
        other => anyhow!("writing output: {other:?}"),
    }
}
