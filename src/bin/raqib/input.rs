//! Flags for reading tables, shared by `train`, `score` and `eval`, and the progress bars.

use anyhow::anyhow;
use raqib::data::{BadRow, Format, LabelSpec, ReadOptions};
use std::io::IsTerminal;

/// How to read input files (CSV, TSV or JSONL).
#[derive(Debug, Clone, clap::Args)]
pub struct TableArgs {
    /// csv, tsv or jsonl (default: from the file extension; stdin defaults to csv).
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<Format>,
    /// Field delimiter, one character (default: `,` for CSV, tab for TSV). `\t` means tab.
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<String>,
    /// The first row is data, not column names; columns are then 0-based numbers.
    #[arg(long)]
    pub no_header: bool,
    /// Fields are never quoted: a `"` is an ordinary character (e.g. OSACT tweet files).
    #[arg(long)]
    pub no_quoting: bool,
    /// Column holding the comment text: a name, or a 0-based number.
    #[arg(long, value_name = "COLUMN", default_value = "text")]
    pub text_column: String,
}

impl TableArgs {
    /// Errors: a delimiter that is not exactly one ASCII character.
    pub fn read_options(&self) -> anyhow::Result<ReadOptions> {
        let delimiter = match self.delimiter.as_deref() {
            None => None,
            Some("\\t") | Some("tab") | Some("\t") => Some(b'\t'),
            Some(d) if d.len() == 1 && d.is_ascii() => Some(d.as_bytes()[0]),
            Some(d) => return Err(anyhow!("--delimiter must be one ASCII character, got {d:?}")),
        };
        Ok(ReadOptions { format: self.format, delimiter, has_header: !self.no_header, quoting: !self.no_quoting })
    }
}

/// How label values become true/false.
#[derive(Debug, Clone, clap::Args)]
pub struct LabelArgs {
    /// A label value that means positive, e.g. OFF or hate (repeatable). Without it: 1/true/yes
    /// are positive and 0/false/no negative. With it alone, every other value is negative.
    #[arg(long, value_name = "VALUE")]
    pub positive: Vec<String>,
    /// A label value that means negative (repeatable). With --positive, anything else is an error.
    #[arg(long, value_name = "VALUE")]
    pub negative: Vec<String>,
    /// Skip rows with a missing or unrecognised label or unreadable text, and report them.
    #[arg(long)]
    pub skip_bad_rows: bool,
}

impl LabelArgs {
    pub fn spec(&self) -> LabelSpec {
        LabelSpec { positive: self.positive.clone(), negative: self.negative.clone() }
    }
}

/// Tell how many rows `--skip-bad-rows` skipped and where (the first ten), on stderr.
pub fn report_skipped(bad_rows: &[BadRow], rows_read: u64) {
    if bad_rows.is_empty() {
        return;
    }
    eprintln!("skipped {} bad row(s) of {rows_read}:", bad_rows.len());
    for bad in bad_rows.iter().take(10) {
        eprintln!("  {bad}");
    }
    if bad_rows.len() > 10 {
        eprintln!("  … and {} more", bad_rows.len() - 10);
    }
}

/// Progress bars on stderr, only when it is a terminal and not `--quiet`.
pub struct Bars {
    enabled: bool,
    bar: std::sync::Mutex<Option<indicatif::ProgressBar>>,
}

impl Bars {
    pub fn new(quiet: bool) -> Self {
        Bars { enabled: !quiet && std::io::stderr().is_terminal(), bar: std::sync::Mutex::new(None) }
    }

    fn with(&self, f: impl FnOnce(&mut Option<indicatif::ProgressBar>)) {
        if self.enabled {
            if let Ok(mut b) = self.bar.lock() {
                f(&mut b);
            }
        }
    }

    /// A counter without a known total (reading rows).
    pub fn spinner(&self, name: &str) {
        self.with(|b| {
            if let Some(old) = b.take() {
                old.finish_and_clear();
            }
            let pb = indicatif::ProgressBar::new_spinner();
            pb.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {msg} {pos} rows [{elapsed}]")
                    .expect("valid template"),
            );
            pb.set_message(name.to_string());
            pb.enable_steady_tick(std::time::Duration::from_millis(120));
            *b = Some(pb);
        });
    }

    pub fn set_position(&self, pos: u64) {
        self.with(|b| {
            if let Some(pb) = b {
                pb.set_position(pos);
            }
        });
    }

    pub fn finish(&self) {
        self.with(|b| {
            if let Some(pb) = b.take() {
                pb.finish_and_clear();
            }
        });
    }
}

impl raqib::train::Progress for Bars {
    fn stage(&self, name: &str, total: u64) {
        self.with(|b| {
            if let Some(old) = b.take() {
                old.finish_and_clear();
            }
            let pb = indicatif::ProgressBar::new(total);
            pb.set_style(
                indicatif::ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} [{elapsed}<{eta}]")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            pb.set_message(name.to_string());
            *b = Some(pb);
        });
    }
    fn advance(&self, units: u64) {
        self.with(|b| {
            if let Some(pb) = b {
                pb.inc(units);
            }
        });
    }
    fn note(&self, message: &str) {
        self.with(|b| match b {
            Some(pb) => pb.println(message),
            None => eprintln!("{message}"),
        });
    }
}
