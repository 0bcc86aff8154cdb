//! Labelled data for training and evaluation: a text column and one or more label columns whose
//! values are turned into booleans. Bad rows are errors naming file, line, column and value, or
//! (with `skip_bad_rows`) skipped and reported; never dropped silently.

use super::{Column, ColumnRef, ReadOptions, Row, RowData, TableReader};
use crate::error::{Error, Result};
use ndarray::Array2;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Which label values mean positive and negative (compared trimmed and case-insensitively).
///
/// Default (both lists empty): positive `1 true yes y`, negative `0 false no n`, and numbers
/// from 0 to 1 (soft labels, > 0.5 positive). Any other number is not a binary label: a class
/// column such as `0 1 2` needs `--positive` to say which classes are positive, rather than
/// `2` quietly counting as positive. With `positive` given and `negative` empty, every other
/// non-empty value is negative (`--positive OFF` makes `NOT_OFF` negative). With both given,
/// anything else is an error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSpec {
    pub positive: Vec<String>,
    pub negative: Vec<String>,
}

impl LabelSpec {
    /// `Some(label)` or `None` for a value this spec does not recognise.
    pub fn parse(&self, raw: &str) -> Option<bool> {
        let v = raw.trim();
        if v.is_empty() {
            return None;
        }
        let eq = |list: &[String]| list.iter().any(|p| p.trim().eq_ignore_ascii_case(v));
        if self.positive.is_empty() && self.negative.is_empty() {
            return match v.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "y" => Some(true),
                "0" | "false" | "no" | "n" => Some(false),
                _ => v.parse::<f64>().ok().filter(|f| (0.0..=1.0).contains(f)).map(|f| f > 0.5),
            };
        }
        if eq(&self.positive) {
            return Some(true);
        }
        if eq(&self.negative) {
            return Some(false);
        }
        if self.negative.is_empty() {
            Some(false)
        } else if self.positive.is_empty() {
            Some(true)
        } else {
            None
        }
    }

    fn hint(&self) -> &'static str {
        if self.positive.is_empty() {
            "pass --positive VALUE (repeatable) for the value(s) that mean positive"
        } else {
            "add the value to --positive or --negative"
        }
    }
}

/// Distinct values of a label column and how often each was seen, for error messages. At most
/// [`ValueCounts::MAX`] distinct values are kept (a text column given as the label column
/// would otherwise keep every text); the rest are only counted.
#[derive(Debug, Clone, Default)]
struct ValueCounts {
    counts: BTreeMap<String, u64>,
    /// Rows whose value was not kept because there were already `MAX` distinct values.
    others: u64,
    /// Some row had a value read as positive.
    positive: bool,
}

impl ValueCounts {
    const MAX: usize = 100;
    /// Listed in a message.
    const SHOWN: usize = 20;

    fn add(&mut self, value: &str) {
        self.add_n(value, 1);
    }

    fn add_n(&mut self, value: &str, n: u64) {
        let full = self.counts.len() >= Self::MAX;
        match self.counts.get_mut(value) {
            Some(m) => *m += n,
            None if !full => {
                self.counts.insert(value.to_string(), n);
            }
            None => self.others += n,
        }
    }

    fn merge(&mut self, other: &ValueCounts) {
        for (k, n) in &other.counts {
            self.add_n(k, *n);
        }
        self.others += other.others;
        self.positive |= other.positive;
    }

    /// `"0" ×3, "1" ×2`, the first [`ValueCounts::SHOWN`] in sorted order.
    fn list(&self) -> String {
        let mut v: Vec<String> = self.counts.iter().take(Self::SHOWN).map(|(k, n)| format!("{k:?} ×{n}")).collect();
        let hidden = self.counts.len().saturating_sub(Self::SHOWN);
        if hidden > 0 || self.others > 0 {
            let rows: u64 = self.counts.values().skip(Self::SHOWN).sum::<u64>() + self.others;
            v.push(format!("… {rows} more rows with other values"));
        }
        v.join(", ")
    }
}

/// Where and how to read labelled rows.
#[derive(Debug, Clone)]
pub struct LabelledOptions {
    pub read: ReadOptions,
    pub text: ColumnRef,
    pub labels: Vec<ColumnRef>,
    /// Label names; default the label columns' names.
    pub label_names: Vec<String>,
    pub spec: LabelSpec,
    /// Skip (and report) bad rows instead of failing on the first.
    pub skip_bad_rows: bool,
    /// A column to keep as is for each row (e.g. language), to group results by.
    pub group: Option<ColumnRef>,
}

/// A row that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    pub path: PathBuf,
    pub line: u64,
    pub column: Option<u64>,
    pub reason: String,
}

impl std::fmt::Display for BadRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.column {
            Some(c) => write!(f, "{}:{}:{}: {}", self.path.display(), self.line, c, self.reason),
            None => write!(f, "{}:{}: {}", self.path.display(), self.line, self.reason),
        }
    }
}

/// Texts and their labels, read from one or more files.
#[derive(Debug, Clone)]
pub struct LabelledData {
    pub texts: Vec<String>,
    /// rows × labels.
    pub targets: Array2<bool>,
    pub label_names: Vec<String>,
    /// Rows skipped (only with `skip_bad_rows`), in file order.
    pub bad_rows: Vec<BadRow>,
    /// The `group` column of each kept row (empty without `group`).
    pub groups: Vec<String>,
    /// Rows read in all, good and bad.
    pub rows_read: u64,
}

/// Read every file with the same options. `on_rows` is called with the number of rows read so far
/// (for progress bars). Errors: an unreadable file, an unknown column (listing those that
/// exist), or — without `skip_bad_rows` — the first bad row with the label values seen and a hint.
pub fn read_labelled(files: &[PathBuf], opts: &LabelledOptions, on_rows: &dyn Fn(u64)) -> Result<LabelledData> {
    if opts.labels.is_empty() {
        return Err(Error::InvalidParams("at least one label column is needed".into()));
    }
    let mut texts = Vec::new();
    let mut flat: Vec<bool> = Vec::new();
    let mut bad_rows = Vec::new();
    let mut groups = Vec::new();
    let mut rows_read = 0u64;
    let mut names: Option<Vec<String>> = None;
    // Label values over all files, and whether some row of each label column was positive.
    let mut seen_all: Vec<ValueCounts> = vec![ValueCounts::default(); opts.labels.len()];
    for path in files {
        let mut reader = TableReader::open(path, &opts.read)?;
        let text_col = reader.column(&opts.text)?;
        let label_cols: Vec<Column> = opts.labels.iter().map(|c| reader.column(c)).collect::<Result<_>>()?;
        let group_col = opts.group.as_ref().map(|c| reader.column(c)).transpose()?;
        let these: Vec<String> = if opts.label_names.is_empty() {
            label_cols.iter().map(|c| c.name.clone()).collect()
        } else if opts.label_names.len() == label_cols.len() {
            opts.label_names.clone()
        } else {
            return Err(Error::InvalidParams(format!(
                "{} label names for {} label columns",
                opts.label_names.len(),
                label_cols.len()
            )));
        };
        names.get_or_insert(these);
        // Distinct label values seen per column, for the error message.
        let mut seen: Vec<ValueCounts> = vec![ValueCounts::default(); label_cols.len()];
        // The first bad row, and whether its label value is the problem (then the message lists
        // the values seen and how to map them).
        let mut first_bad: Option<(BadRow, bool)> = None;
        while let Some(row) = reader.next_row() {
            let row = row?;
            rows_read += 1;
            if rows_read % 10_000 == 0 {
                on_rows(rows_read);
            }
            let group = group_col.as_ref().map(|g| row.text_lossy(g).map(|v| v.trim().to_string()));
            match (read_row(path, &row, &text_col, &label_cols, &opts.spec, &mut seen), group) {
                (Ok(_), Some(Err(e))) => {
                    let bad = BadRow {
                        path: path.clone(),
                        line: row.line,
                        column: None,
                        reason: format!("group column: {e}"),
                    };
                    if opts.skip_bad_rows {
                        bad_rows.push(bad);
                    } else if first_bad.is_none() {
                        first_bad = Some((bad, false));
                    }
                }
                (Ok((text, labels)), group) => {
                    texts.push(text);
                    flat.extend(labels);
                    if let Some(Ok(g)) = group {
                        groups.push(g);
                    }
                }
                (Err((bad, value)), _) => {
                    if opts.skip_bad_rows {
                        bad_rows.push(bad);
                    } else if first_bad.is_none() {
                        first_bad = Some((bad, value));
                    }
                }
            }
        }
        if let Some((bad, value)) = first_bad {
            let message = if value {
                let values: Vec<String> =
                    seen.iter().zip(&label_cols).map(|(s, c)| format!("{}: {}", c.name, s.list())).collect();
                format!(
                    "{}; label values in this file: {}; {} (or --skip-bad-rows)",
                    bad.reason,
                    values.join("; "),
                    opts.spec.hint()
                )
            } else {
                format!("{} (--skip-bad-rows skips such rows and reports them)", bad.reason)
            };
            return Err(Error::Input { path: bad.path, line: bad.line, column: bad.column, message });
        }
        for (all, this) in seen_all.iter_mut().zip(&seen) {
            all.merge(this);
        }
    }
    on_rows(rows_read);
    let label_names = names.unwrap_or_default();
    // `--positive` with a value the data never has (a typo, or the wrong column) would make
    // every row negative without a word.
    if !opts.spec.positive.is_empty() {
        for (k, counts) in seen_all.iter().enumerate() {
            if !counts.positive && (!counts.counts.is_empty() || counts.others > 0) {
                let given: Vec<String> = opts.spec.positive.iter().map(|p| format!("{p:?}")).collect();
                return Err(Error::InvalidParams(format!(
                    "--positive {} matches no value of label column {}; values seen: {} (compared ignoring case; for data without positive rows pass --negative instead)",
                    given.join(", "),
                    opts.labels[k],
                    counts.list()
                )));
            }
        }
    }
    let n = texts.len();
    let targets = Array2::from_shape_vec((n, label_names.len()), flat).expect("one label per column per row");
    Ok(LabelledData { texts, targets, label_names, bad_rows, groups, rows_read })
}

fn read_row(
    path: &Path,
    row: &Row,
    text_col: &Column,
    label_cols: &[Column],
    spec: &LabelSpec,
    seen: &mut [ValueCounts],
) -> std::result::Result<(String, Vec<bool>), (BadRow, bool)> {
    // `value`: the label value is the problem (not the row's shape or text).
    let bad = |column: Option<u64>, reason: String, value: bool| {
        (BadRow { path: path.into(), line: row.line, column, reason }, value)
    };
    let col_no =
        |c: &Column| (c.index != usize::MAX && !matches!(row.data, RowData::Json(_))).then_some(c.index as u64 + 1);
    if let RowData::BadJson { error, column, .. } = &row.data {
        return Err(bad(Some(*column), format!("not valid JSON: {error}"), false));
    }
    let text = row.text(text_col).map_err(|e| bad(col_no(text_col), e.to_string(), false))?.into_owned();
    let mut labels = Vec::with_capacity(label_cols.len());
    for (c, seen) in label_cols.iter().zip(seen.iter_mut()) {
        let raw = row.text(c).map_err(|e| bad(col_no(c), format!("missing label: {e}"), false))?;
        let value = raw.trim();
        seen.add(value);
        match spec.parse(value) {
            Some(v) => {
                seen.positive |= v;
                labels.push(v);
            }
            None if value.is_empty() => {
                return Err(bad(col_no(c), format!("empty label in column {:?}", c.name), true))
            }
            None => return Err(bad(col_no(c), format!("unrecognised label {value:?} in column {:?}", c.name), true)),
        }
    }
    Ok((text, labels))
}
