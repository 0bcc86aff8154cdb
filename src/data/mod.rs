//! Reading comment files: CSV, TSV and JSONL, with or without a header, quoted or not, from a
//! path or standard input. Rows come back with their line number so every problem can be reported
//! as `file:line:column`. Text fields stay bytes until asked for, so one row with invalid UTF-8
//! is one bad row, not a failed file.

mod labels;
mod quote;
#[cfg(test)]
mod tests;

pub use labels::{read_labelled, BadRow, LabelSpec, LabelledData, LabelledOptions};
use quote::QuoteTracker;

use crate::error::{Error, Result};
use std::borrow::Cow;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Tsv,
    Jsonl,
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "tsv" | "tab" => Ok(Format::Tsv),
            "jsonl" | "ndjson" | "json" => Ok(Format::Jsonl),
            other => Err(format!("unknown format {other:?} (csv, tsv or jsonl)")),
        }
    }
}

impl Format {
    /// By extension: `.csv`; `.tsv`/`.tab`; `.jsonl`/`.ndjson`/`.json`. `None` otherwise.
    pub fn from_path(path: &Path) -> Option<Format> {
        path.extension()?.to_str()?.parse().ok()
    }

    /// The name to show in messages.
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "CSV",
            Format::Tsv => "TSV",
            Format::Jsonl => "JSONL",
        }
    }

    fn default_delimiter(self) -> u8 {
        match self {
            Format::Tsv => b'\t',
            _ => b',',
        }
    }
}

/// How to read a table. Defaults: format from the extension, its usual delimiter, a header row,
/// RFC 4180 quoting with `"`.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    pub format: Option<Format>,
    pub delimiter: Option<u8>,
    pub has_header: bool,
    /// Treat `"` as a quote character. Off for files whose fields are never quoted but may
    /// start with a quote (e.g. the OSACT tweets).
    pub quoting: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions { format: None, delimiter: None, has_header: true, quoting: true }
    }
}

/// A column given by name (needs a header) or by 0-based index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnRef {
    Name(String),
    Index(usize),
}

impl FromStr for ColumnRef {
    type Err = std::convert::Infallible;
    /// All digits → index, anything else → name. A header column literally named "2" still
    /// resolves by name first.
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Ok(match s.parse::<usize>() {
            Ok(i) => ColumnRef::Index(i),
            Err(_) => ColumnRef::Name(s.to_string()),
        })
    }
}

impl std::fmt::Display for ColumnRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ColumnRef::Name(n) => write!(f, "{n:?}"),
            ColumnRef::Index(i) => write!(f, "#{i}"),
        }
    }
}

/// A resolved column: its position (delimited files) or key (JSONL objects; also the index for
/// JSONL arrays).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub index: usize,
    pub key: Option<String>,
    /// Name to show and to derive output names from (header name, key, or `column{i}`).
    pub name: String,
}

/// One row as read.
#[derive(Debug, Clone)]
pub enum RowData {
    Fields(csv::ByteRecord),
    Json(serde_json::Value),
    /// A JSONL line that is not valid JSON: kept so that the row still counts.
    BadJson {
        raw: Vec<u8>,
        error: String,
        column: u64,
    },
}

#[derive(Debug, Clone)]
pub struct Row {
    /// 1-based line where the row starts.
    pub line: u64,
    /// Lines the row spans (quoted newlines make it more than one).
    pub lines: u64,
    pub data: RowData,
}

/// Why a field could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldError {
    Missing {
        column: String,
        found: usize,
    },
    /// A JSONL row without the key or array element, or with `null` there.
    MissingValue {
        column: String,
    },
    InvalidUtf8 {
        column: String,
        byte: usize,
    },
    NotText {
        column: String,
        found: String,
    },
    BadJson {
        error: String,
    },
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FieldError::Missing { column, found } => {
                write!(f, "no field for column {column} (the row has {found} fields; an unbalanced quote may have joined lines)")
            }
            FieldError::MissingValue { column } => write!(f, "no value for {column:?} (absent or null)"),
            FieldError::InvalidUtf8 { column, byte } => {
                write!(f, "column {column} is not valid UTF-8 (byte {byte} of the field)")
            }
            FieldError::NotText { column, found } => write!(f, "column {column} holds {found}, not text"),
            FieldError::BadJson { error } => write!(f, "not valid JSON: {error}"),
        }
    }
}

impl Row {
    /// The field of `col` as text. Strings only for JSONL; numbers and booleans are written out.
    pub fn text(&self, col: &Column) -> std::result::Result<Cow<'_, str>, FieldError> {
        match &self.data {
            RowData::Fields(rec) => {
                let bytes =
                    rec.get(col.index).ok_or(FieldError::Missing { column: col.name.clone(), found: rec.len() })?;
                std::str::from_utf8(bytes)
                    .map(Cow::Borrowed)
                    .map_err(|e| FieldError::InvalidUtf8 { column: col.name.clone(), byte: e.valid_up_to() })
            }
            RowData::Json(v) => {
                let field = match (&col.key, v) {
                    (Some(k), serde_json::Value::Object(m)) => m.get(k),
                    (None, serde_json::Value::Array(a)) => a.get(col.index),
                    _ => None,
                };
                match field {
                    Some(serde_json::Value::String(s)) => Ok(Cow::Borrowed(s)),
                    Some(serde_json::Value::Null) | None => Err(FieldError::MissingValue { column: col.name.clone() }),
                    Some(serde_json::Value::Bool(b)) => Ok(Cow::Owned(b.to_string())),
                    Some(serde_json::Value::Number(n)) => Ok(Cow::Owned(n.to_string())),
                    Some(other) => {
                        Err(FieldError::NotText { column: col.name.clone(), found: json_kind(other).into() })
                    }
                }
            }
            RowData::BadJson { error, .. } => Err(FieldError::BadJson { error: error.clone() }),
        }
    }

    /// Like [`Row::text`], but invalid UTF-8 is replaced by U+FFFD instead of failing.
    pub fn text_lossy(&self, col: &Column) -> std::result::Result<Cow<'_, str>, FieldError> {
        match (&self.data, self.text(col)) {
            (RowData::Fields(rec), Err(FieldError::InvalidUtf8 { .. })) => {
                Ok(String::from_utf8_lossy(rec.get(col.index).unwrap_or_default()))
            }
            (_, r) => r,
        }
    }
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

enum Inner {
    Delimited(csv::Reader<QuoteTracker>),
    Jsonl { lines: BufReader<Box<dyn Read>>, line: u64, buf: Vec<u8>, first: Option<Row> },
}

/// Streams the rows of one table file (or standard input, path `-`).
pub struct TableReader {
    path: PathBuf,
    format: Format,
    delimiter: u8,
    quoting: bool,
    header: Option<Vec<String>>,
    header_raw: Option<csv::ByteRecord>,
    inner: Inner,
    rows: u64,
    /// A malformed-quoting error was returned: the rows after it cannot be told apart, so the
    /// reader ends there.
    failed: bool,
}

impl TableReader {
    /// Open `path` (`-` for standard input). Errors: unreadable file, unknown format, a header
    /// that cannot be read.
    pub fn open(path: &Path, opts: &ReadOptions) -> Result<TableReader> {
        // A missing file is reported as missing, even when its name would not tell the format.
        if path != Path::new("-") && !path.exists() {
            let missing = std::fs::metadata(path).err().unwrap_or_else(|| std::io::ErrorKind::NotFound.into());
            return Err(Error::io(path, missing));
        }
        let format = match (opts.format, Format::from_path(path)) {
            (Some(f), _) | (None, Some(f)) => f,
            (None, None) if path == Path::new("-") => Format::Csv,
            (None, None) => {
                return Err(Error::Input {
                    path: path.into(),
                    line: 0,
                    column: None,
                    message: "cannot tell the format from the file name; pass --format csv, tsv or jsonl".into(),
                })
            }
        };
        let source: Box<dyn Read> = if path == Path::new("-") {
            Box::new(std::io::stdin())
        } else {
            if path.is_dir() {
                return Err(Error::io(path, std::io::Error::other("is a directory, not a file")));
            }
            Box::new(std::fs::File::open(path).map_err(|e| Error::io(path, e))?)
        };
        let delimiter = opts.delimiter.unwrap_or_else(|| format.default_delimiter());
        let mut reader = TableReader {
            path: path.into(),
            format,
            delimiter,
            quoting: opts.quoting,
            header: None,
            header_raw: None,
            inner: Inner::Delimited(csv::Reader::from_reader(QuoteTracker::new(
                Box::new(std::io::empty()),
                b',',
                false,
            ))),
            rows: 0,
            failed: false,
        };
        match format {
            Format::Csv | Format::Tsv => {
                let tracked = QuoteTracker::new(source, delimiter, opts.quoting);
                let mut r = csv::ReaderBuilder::new()
                    .delimiter(delimiter)
                    .has_headers(false)
                    .flexible(true)
                    .quoting(opts.quoting)
                    .double_quote(true)
                    .from_reader(tracked);
                if opts.has_header {
                    let mut rec = csv::ByteRecord::new();
                    match r.read_byte_record(&mut rec) {
                        Ok(true) => {
                            // A UTF-8 BOM at the start of the header is common from spreadsheets.
                            let names: Vec<String> = rec
                                .iter()
                                .enumerate()
                                .map(|(i, f)| {
                                    let s = String::from_utf8_lossy(f);
                                    let s = if i == 0 { s.trim_start_matches('\u{FEFF}') } else { &s };
                                    s.trim().to_string()
                                })
                                .collect();
                            reader.header = Some(names);
                            reader.header_raw = Some(rec);
                        }
                        Ok(false) => reader.header = Some(vec![]),
                        Err(e) => return Err(reader.csv_error(e)),
                    }
                    if let Some(stray) = r.get_ref().stray_quote_before(r.position().byte()) {
                        return Err(reader.stray_quote_error(stray));
                    }
                    if let Some(line) = r.get_ref().unclosed_quote() {
                        return Err(reader.unclosed_quote_error(line));
                    }
                }
                reader.inner = Inner::Delimited(r);
            }
            Format::Jsonl => {
                reader.inner = Inner::Jsonl { lines: BufReader::new(source), line: 0, buf: Vec::new(), first: None };
                // Keys of the first object serve as the header (for messages and column lists).
                if let Some(Ok(row)) = reader.next_row() {
                    if let RowData::Json(serde_json::Value::Object(m)) = &row.data {
                        reader.header = Some(m.keys().cloned().collect());
                    }
                    reader.rows = 0;
                    if let Inner::Jsonl { first, .. } = &mut reader.inner {
                        *first = Some(row);
                    }
                }
            }
        }
        Ok(reader)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
    pub fn format(&self) -> Format {
        self.format
    }
    pub fn delimiter(&self) -> u8 {
        self.delimiter
    }
    /// Whether `"` quotes fields (CSV and TSV; false with `--no-quoting`).
    pub fn quoting(&self) -> bool {
        self.quoting
    }
    /// Column names from the header (JSONL: keys of the first object).
    pub fn header(&self) -> Option<&[String]> {
        self.header.as_deref()
    }
    /// The header record as read, for writing it back unchanged.
    pub fn header_record(&self) -> Option<&csv::ByteRecord> {
        self.header_raw.as_ref()
    }

    /// Resolve a column. Errors name the column asked for and list the columns that exist.
    pub fn column(&self, col: &ColumnRef) -> Result<Column> {
        // Every column, unless the header is no header at all (a data file read with a header
        // row, a binary file): then the first ones, each cut short, keep the message one line.
        const LISTED: usize = 50;
        const NAME_CHARS: usize = 60;
        let listed = || match &self.header {
            Some(h) if !h.is_empty() => {
                let mut names: Vec<String> = h
                    .iter()
                    .take(LISTED)
                    .enumerate()
                    .map(|(i, n)| match n.char_indices().nth(NAME_CHARS) {
                        Some((cut, _)) => format!("{i}:{:?}…", &n[..cut]),
                        None => format!("{i}:{n:?}"),
                    })
                    .collect();
                if h.len() > LISTED {
                    names.push(format!("… {} more", h.len() - LISTED));
                }
                names.join(", ")
            }
            _ => "no header (use 0-based column numbers)".into(),
        };
        let missing = |what: String| Error::Input {
            path: self.path.clone(),
            line: 1,
            column: None,
            message: format!("{what}; columns: {}", listed()),
        };
        if let Some(h) = &self.header {
            let wanted = match col {
                ColumnRef::Name(n) => Some(n.clone()),
                ColumnRef::Index(i) => Some(i.to_string()),
            };
            if let Some(i) = wanted.and_then(|w| h.iter().position(|n| *n == w)) {
                let key = (self.format == Format::Jsonl).then(|| h[i].clone());
                return Ok(Column { index: i, key, name: h[i].clone() });
            }
        }
        match col {
            ColumnRef::Name(n) if self.format == Format::Jsonl => {
                // JSONL objects may have keys the first object lacks.
                Ok(Column { index: usize::MAX, key: Some(n.clone()), name: n.clone() })
            }
            ColumnRef::Name(n) => Err(missing(format!("no column named {n:?}"))),
            ColumnRef::Index(i) => match &self.header {
                Some(h) if !h.is_empty() && *i >= h.len() => Err(missing(format!("no column #{i}"))),
                Some(h) if self.format == Format::Jsonl && !h.is_empty() => {
                    Ok(Column { index: *i, key: Some(h[*i].clone()), name: h[*i].clone() })
                }
                Some(h) if !h.is_empty() => Ok(Column { index: *i, key: None, name: h[*i].clone() }),
                _ => Ok(Column { index: *i, key: None, name: format!("column{i}") }),
            },
        }
    }

    fn csv_error(&self, e: csv::Error) -> Error {
        let line = e.position().map_or(0, |p| p.line());
        Error::Input {
            path: self.path.clone(),
            line,
            column: None,
            message: format!("malformed {}: {e}", self.format.name()),
        }
    }

    fn unclosed_quote_error(&self, line: u64) -> Error {
        Error::Input {
            path: self.path.clone(),
            line,
            column: None,
            message: format!(
                "malformed {}: unbalanced quote: the quoted field opened on this line is never closed (a field that merely contains \" needs --no-quoting, or the quote doubled)",
                self.format.name()
            ),
        }
    }

    fn stray_quote_error(&self, stray: quote::StrayQuote) -> Error {
        let opened =
            if stray.opened == stray.line { "on this line".to_string() } else { format!("on line {}", stray.opened) };
        Error::Input {
            path: self.path.clone(),
            line: stray.line,
            column: Some(stray.column),
            message: format!(
                "malformed {}: unbalanced quote: text after the closing quote of the field opened {opened} (a quote inside a quoted field must be doubled, \"\"; a file whose fields are never quoted needs --no-quoting)",
                self.format.name()
            ),
        }
    }

    /// Rows read so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The next row, `None` at the end. Errors are I/O failures and malformed quoting (which
    /// breaks the rows apart wrongly), after which reading stops; a row that is malformed in
    /// itself (bad JSON, bad UTF-8, too few fields) is returned as a row.
    pub fn next_row(&mut self) -> Option<Result<Row>> {
        if self.failed {
            return None;
        }
        let row = match &mut self.inner {
            Inner::Delimited(r) => {
                let mut rec = csv::ByteRecord::new();
                let start = r.position().line();
                match r.read_byte_record(&mut rec) {
                    Ok(false) => return None,
                    Ok(true) => {
                        // The csv crate reads a stray quote leniently, and ends a field left open
                        // at the end of the input silently: either may swallow later lines into
                        // this row. The stray quote, when there is one, is the cause.
                        if let Some(stray) = r.get_ref().stray_quote_before(r.position().byte()) {
                            self.failed = true;
                            return Some(Err(self.stray_quote_error(stray)));
                        }
                        if let Some(line) = r.get_ref().unclosed_quote() {
                            self.failed = true;
                            return Some(Err(self.unclosed_quote_error(line)));
                        }
                        let line = rec.position().map_or(start, |p| p.line());
                        let end = r.position().line();
                        Row { line, lines: end.saturating_sub(line).max(1), data: RowData::Fields(rec) }
                    }
                    Err(e) => {
                        self.failed = true;
                        return Some(Err(self.csv_error(e)));
                    }
                }
            }
            Inner::Jsonl { lines, line, buf, first } => {
                if let Some(row) = first.take() {
                    self.rows += 1;
                    return Some(Ok(row));
                }
                loop {
                    buf.clear();
                    match lines.read_until(b'\n', buf) {
                        Ok(0) => return None,
                        Ok(_) => {}
                        Err(e) => return Some(Err(Error::io(self.path.clone(), e))),
                    }
                    *line += 1;
                    let trimmed = buf.trim_ascii();
                    if trimmed.is_empty() {
                        continue; // blank lines are not rows
                    }
                    let data = match serde_json::from_slice::<serde_json::Value>(trimmed) {
                        Ok(v) => RowData::Json(v),
                        Err(e) => {
                            // serde's message ends "at line 1 column N" (lines of this one line):
                            // the row's own line and column are reported instead.
                            let message = e.to_string();
                            let error = match message.rsplit_once(" at line ") {
                                Some((m, _)) => m.to_string(),
                                None => message,
                            };
                            // serde counts bytes of the trimmed line; report characters of
                            // the line as written, as the CSV errors do.
                            let lead = (buf.len() - buf.trim_ascii_start().len()) as u64;
                            let upto = e.column().saturating_sub(1).min(trimmed.len());
                            let chars = trimmed[..upto].iter().filter(|&&b| b & 0xC0 != 0x80).count() as u64;
                            RowData::BadJson { raw: trimmed.to_vec(), error, column: lead + chars + 1 }
                        }
                    };
                    break Row { line: *line, lines: 1, data };
                }
            }
        };
        self.rows += 1;
        Some(Ok(row))
    }
}
