//! The `raqib` command line, driven as a user would: the real binary, real files, real exit codes
//! (issue 3). Every subcommand; every error the issue lists ends in one `raqib: error:` line on
//! stderr with its documented exit code, never a panic or a backtrace.
//!
//! Models: the committed fixture `tests/fixtures/model-v1.raqib` wherever figures are checked
//! (the embedded default model changes with the training data), small `--bits 16` models where
//! training itself is under test.

use crate::harness::fixture_model;
use serde_json::Value;
use std::path::{Path, PathBuf};

mod check_explain;
mod errors;
mod eval;
mod score;
mod train;

// Shared helpers of the CLI tests.

/// Exit codes documented in `raqib --help` (src/bin/raqib/common.rs).
const OK: i32 = 0;
const FLAGGED: i32 = 1;
const INPUT: i32 = 2;
const MODEL: i32 = 3;

/// The binary, with the environment it reads cleared, and backtraces on: a panic would then
/// print one, which the error checks below look for.
fn raqib() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_raqib"));
    cmd.env_remove("RAQIB_MODEL").env_remove("SOURCE_DATE_EPOCH").env("RUST_BACKTRACE", "1").env("NO_COLOR", "1");
    cmd
}

/// Arguments from a command line split on whitespace, each `{}` replaced by the next of
/// `values` (paths and comments, which may hold spaces).
fn argv(line: &str, values: &[&str]) -> Vec<String> {
    let mut values = values.iter();
    let args = line
        .split_whitespace()
        .map(|w| match w {
            "{}" => values.next().expect("a value for each {}").to_string(),
            w => w.to_string(),
        })
        .collect();
    assert!(values.next().is_none(), "a {{}} for each value");
    args
}

/// Run `raqib LINE` (see [`argv`]).
fn rq(line: &str, values: &[&str]) -> Run {
    run_with(raqib().args(argv(line, values)))
}

/// Run `raqib LINE` with `stdin` as standard input.
fn rq_stdin(line: &str, values: &[&str], stdin: &[u8]) -> Run {
    run_with(raqib().args(argv(line, values)).write_stdin(stdin.to_vec()))
}

struct Run {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
}

impl Run {
    fn out(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.out()))
    }
    /// Assert the exit code (both streams in the message when it differs) and no panic.
    fn expect(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "exit code\n--- stdout\n{}\n--- stderr\n{}", self.out(), self.stderr);
        no_panic(&self.stderr);
        self
    }
}

fn no_panic(stderr: &str) {
    for bad in ["panicked", "RUST_BACKTRACE", "stack backtrace"] {
        assert!(!stderr.contains(bad), "{bad:?} on stderr:\n{stderr}");
    }
}

fn run_with(cmd: &mut assert_cmd::Command) -> Run {
    let out = cmd.output().expect("run raqib");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The command failed with `code` and exactly one line on stderr, `raqib: error: …`, holding
/// every needle. Returns that line.
fn fails(r: &Run, code: i32, needles: &[&str]) -> String {
    r.expect(code);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr:\n{}", r.stderr);
    let line = lines[0];
    assert!(line.starts_with("raqib: error: "), "{line}");
    for n in needles {
        assert!(line.contains(n), "{n:?} not in: {line}");
    }
    line.to_string()
}

/// A usage error from the argument parser: exit 2, clap's `error:` first, naming `needle`.
fn usage_error(r: &Run, needle: &str) {
    r.expect(INPUT);
    assert!(r.stderr.starts_with("error:"), "{}", r.stderr);
    assert!(r.stderr.contains(needle), "{needle:?} not in:\n{}", r.stderr);
}

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn s(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

fn model() -> String {
    s(&fixture_model()).to_string()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `MODEL.report.json`, written by `train` beside the model.
fn report_of(model: &Path) -> PathBuf {
    PathBuf::from(format!("{}.report.json", model.display()))
}

/// Comments written for these tests (none from any data set): a mildly violent half and a
/// harmless half, English and Arabic, in the spirit of news-site comments.
fn corpus() -> Vec<(String, bool)> {
    let violent_en = [
        "they should burn the {} to the ground",
        "I will kill the people of the {} if I see them",
        "attack the {} and shoot them all",
        "we must destroy the {} with bombs tonight",
    ];
    let calm_en = [
        "the {} looked lovely this morning",
        "I agree with the article about the {}",
        "thanks for the careful report on the {}",
        "the new {} schedule is a good idea",
    ];
    let violent_ar = ["يجب أن نقتل أهل {} جميعا", "سنحرق {} كلها الليلة", "اضربوهم بالرصاص في {}"];
    let calm_ar = ["نتمنى السلام والخير في {}", "مقال رائع عن {}", "شكرا على التقرير حول {}"];
    let mut rows = Vec::new();
    for p in ["council", "market", "stadium", "village", "bridge", "school"] {
        rows.extend(violent_en.iter().map(|t| (t.replace("{}", p), true)));
        rows.extend(calm_en.iter().map(|t| (t.replace("{}", p), false)));
    }
    for p in ["المدينة", "القرية", "السوق", "الملعب"] {
        rows.extend(violent_ar.iter().map(|t| (t.replace("{}", p), true)));
        rows.extend(calm_ar.iter().map(|t| (t.replace("{}", p), false)));
    }
    rows
}

/// RFC 4180 quoting for a CSV field.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// [`corpus`] as CSV with a header `text,label` (1/0).
fn corpus_csv() -> String {
    let mut csv = String::from("text,label\n");
    for (t, y) in corpus() {
        csv += &format!("{},{}\n", csv_field(&t), u8::from(y));
    }
    csv
}

/// Flags that keep training fast in a debug build; the reading is what is under test.
const FAST: &str = "--bits 16 --char-ngrams 3-4 --word-ngrams 1 --quiet";

fn close(v: &Value, want: f64) {
    let got = v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"));
    assert!((got - want).abs() < 1e-6, "{got} != {want}");
}
