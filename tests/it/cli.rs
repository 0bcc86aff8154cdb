//! The `raqib` command line, driven as a user would: the real binary, real files, real exit codes
//! (issue 3). Every subcommand; every error the issue lists ends in one `raqib: error:` line on
//! stderr with its documented exit code, never a panic or a backtrace.
//!
//! Models: the committed fixture `tests/fixtures/model-v1.raqib` wherever figures are checked
//! (the embedded default model changes with the training data), small `--bits 16` models where
//! training itself is under test.

use crate::harness::fixture_model;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// train
// ---------------------------------------------------------------------------------------------

#[test]
fn train_reads_csv_tsv_and_jsonl_and_writes_model_and_report() {
    let dir = tempfile::tempdir().unwrap();
    let rows = corpus();
    let n = rows.len();
    let mut csv = String::from("id,text,label\n");
    let mut tsv = String::new(); // no header: label, text
    let mut jsonl = String::new();
    for (i, (t, y)) in rows.iter().enumerate() {
        csv += &format!("{i},{},{}\n", csv_field(t), if *y { "yes" } else { "no" });
        tsv += &format!("{}\t{t}\n", if *y { "VIOLENT" } else { "OK" });
        jsonl += &(json!({"id": i, "comment": t, "violent": y}).to_string() + "\n");
    }
    let cases = [
        (write(dir.path(), "c.csv", &csv), ""),
        (
            write(dir.path(), "c.tab", &tsv),
            "--no-header --text-column 1 --label-column 0 --positive VIOLENT --label-name violence",
        ),
        (write(dir.path(), "c.jsonl", &jsonl), "--text-column comment --label-column violent"),
    ];
    for (data, flags) in cases {
        let out = data.with_extension("raqib");
        let line = format!("train --data {{}} --out {{}} --min-df 1 {FAST} {flags}");
        let r = rq(&line, &[s(&data), s(&out)]);
        r.expect(OK);
        assert!(r.out().contains(&format!(" on {n} rows ")), "{}", r.out());
        assert!(out.is_file(), "model written");
        let report = read_json(&report_of(&out));
        assert_eq!(report["rows_read"], n as u64);
        assert_eq!(report["rows_skipped"], 0);
        assert_eq!(report["training"]["rows"], n as u64);
        // The model works: a violent comment it was trained on is held.
        let violent = "we must destroy the council with bombs tonight";
        let r = rq("check --model {} {}", &[s(&out), violent]);
        r.expect(FLAGGED);
        assert_eq!(r.json()["action"], "hold");
    }
}

#[test]
fn train_two_labels_with_names_and_cross_validation() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("text,v,e\n");
    for (i, (t, y)) in corpus().iter().enumerate() {
        // A second label that is not the first: every third violent comment.
        let e = *y && i % 3 == 0;
        csv += &format!("{},{},{}\n", csv_field(t), u8::from(*y), u8::from(e));
    }
    let data = write(dir.path(), "two.csv", csv);
    let out = dir.path().join("two.raqib");
    let line = format!(
        "train --data {{}} --out {{}} --label-column v --label-column e \
         --label-name violence --label-name extremism --cv 3 --min-df 1 {FAST}"
    );
    let r = rq(&line, &[s(&data), s(&out)]);
    r.expect(OK);
    let out_text = r.out();
    assert!(out_text.contains("violence:") && out_text.contains("extremism:"), "{out_text}");
    assert!(out_text.contains("validation"), "cross-validation figures: {out_text}");
    let r = rq("check --model {} {}", &[s(&out), "the market looked lovely this morning"]);
    r.expect(OK);
    let labels = r.json()["labels"].as_object().unwrap().clone();
    assert_eq!(labels.keys().collect::<Vec<_>>(), ["violence", "extremism"]);
}

/// `train` on a real file of `../shared/datasets/raw/`, with flags only. Skipped with a note
/// when the folder is absent (a fresh clone has none); `RAQIB_DATASETS` points elsewhere.
fn train_real(file: &str, flags: &str, rows: usize) {
    let root = std::env::var_os("RAQIB_DATASETS")
        .map_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/datasets")), PathBuf::from);
    let data = root.join("raw").join(file);
    if !data.is_file() {
        eprintln!("note: {} absent, skipping", data.display());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("real.raqib");
    // --no-refit: one fit on the training split is enough to show the file was read whole.
    let line = format!("train --data {{}} --out {{}} --no-refit {FAST} {flags}");
    let r = rq(&line, &[s(&data), s(&out)]);
    r.expect(OK);
    assert!(r.out().contains(&format!(" on {rows} rows ")), "expected {rows} rows:\n{}", r.out());
    assert!(out.is_file());
    let report = read_json(&report_of(&out));
    assert_eq!(report["rows_read"], rows as u64);
    assert_eq!(report["rows_skipped"], 0);
}

#[test]
fn train_real_osact_tsv_without_header_or_quoting() {
    train_real(
        "osact2020_osact4/OSACT2020-sharedTask-train.txt",
        "--format tsv --no-header --no-quoting --text-column 0 --label-column 1 --positive OFF",
        7000,
    );
}

#[test]
fn train_real_lhsab_tsv_with_quoted_newlines() {
    train_real(
        "lhsab/L-HSAB",
        "--format tsv --text-column Tweet --label-column Class --positive hate --positive abusive",
        5846,
    );
}

#[test]
fn train_real_olid_tsv() {
    train_real(
        "olid2019_en/olid-training-v1.0.tsv",
        "--text-column tweet --label-column subtask_a --positive OFF",
        13240,
    );
}

#[test]
fn train_real_davidson_csv() {
    train_real(
        "davidson2017/labeled_data.csv",
        "--text-column tweet --label-column class --positive 0 --positive 1",
        24783,
    );
}

#[test]
fn train_real_thsab_derived_csv() {
    train_real("thsab/T-HSAB.DERIVED.csv", "--positive hate --positive abusive", 6024);
}

// ---------------------------------------------------------------------------------------------
// Input errors (exit 2)
// ---------------------------------------------------------------------------------------------

/// `train`, `score` and `eval` reading `data` (`labels`: label flags for train and eval), all
/// to fail alike.
fn each_reader(data: &Path, labels: &str) -> [Run; 3] {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("never.raqib");
    let m = model();
    [
        rq(&format!("train --data {{}} --out {{}} {labels}"), &[s(data), s(&out)]),
        rq("score --model {} --input {}", &[&m, s(data)]),
        rq(&format!("eval --model {{}} --data {{}} {labels}"), &[&m, s(data)]),
    ]
}

#[test]
fn missing_input_file_for_train_score_and_eval() {
    let dir = tempfile::tempdir().unwrap();
    for r in each_reader(&dir.path().join("nope.csv"), "") {
        fails(&r, INPUT, &["nope.csv", "No such file"]);
    }
}

/// Regression: a missing file whose name tells no format was reported as "cannot tell the
/// format" instead of missing.
#[test]
fn missing_file_without_extension_is_reported_as_missing() {
    let dir = tempfile::tempdir().unwrap();
    let nope = dir.path().join("comments");
    let r = rq("score --model {} --input {}", &[&model(), s(&nope)]);
    fails(&r, INPUT, &["comments", "No such file"]);
}

/// Regression: the OS reason was printed twice ("…(os error 2): No such file … (os error 2)").
#[test]
fn io_error_reason_is_not_repeated() {
    let r = rq("score --model {} --input /nonexistent/nope.csv", &[&model()]);
    let line = fails(&r, INPUT, &["No such file"]);
    assert_eq!(line.matches("No such file").count(), 1, "{line}");
}

/// Unreadable input: a directory, which blocks reading even as root (chmod 000 does not).
#[test]
fn unreadable_input_file_for_train_score_and_eval() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("folder.csv");
    std::fs::create_dir(&folder).unwrap();
    for r in each_reader(&folder, "") {
        fails(&r, INPUT, &["folder.csv", "directory"]);
    }
}

/// Regression: the csv reader ends a quoted field left open at the end of the file silently,
/// so `score` turned every line after the quote into one row (rows in ≠ rows out, exit 0).
#[test]
fn unbalanced_quote_is_an_error_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(
        dir.path(),
        "bad.csv",
        "text,label\nfine comment,0\n\"this quote is never closed,1\nanother,0\nand another,1\n",
    );
    for r in each_reader(&csv, "") {
        fails(&r, INPUT, &["bad.csv:3:", "malformed CSV", "unbalanced quote"]);
    }
    let tsv = write(dir.path(), "bad.tsv", "text\tlabel\nfine comment\t0\n\"opened here\t1\nanother\t0\n");
    let m = model();
    let r = rq("score --model {} --input {}", &[&m, s(&tsv)]);
    fails(&r, INPUT, &["bad.tsv:3:", "malformed TSV", "unbalanced quote"]);
    // The same from standard input.
    let r = rq_stdin("score --model {}", &[&m], &std::fs::read(&csv).unwrap());
    fails(&r, INPUT, &["-:3:", "unbalanced quote"]);
    // With --no-quoting a quote is an ordinary character and every row comes out.
    let r = rq("score --model {} --input {} --no-quoting --quiet", &[&m, s(&tsv)]);
    r.expect(OK);
    assert_eq!(r.out().lines().count(), 4, "{}", r.out());
}

#[test]
fn missing_column_lists_the_columns_that_exist() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "cols.csv", "body,verdict\nhello,1\nworld,0\n");
    let listed = "0:\"body\", 1:\"verdict\"";
    for r in each_reader(&data, "--label-column verdict") {
        fails(&r, INPUT, &["cols.csv", "no column named \"text\"", listed]);
    }
    let r = rq("train --data {} --out x.raqib --text-column body", &[s(&data)]);
    fails(&r, INPUT, &["no column named \"label\"", listed]);
    let r = rq("score --model {} --input {} --text-column 7", &[&model(), s(&data)]);
    fails(&r, INPUT, &["no column #7", listed]);
}

#[test]
fn unrecognised_label_names_file_line_value_values_seen_and_hint() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "labels.csv", "text,label\nfirst,1\nsecond,0\nthird,maybe\nfourth,1\n");
    let [train, _, eval] = each_reader(&data, "");
    for r in [train, eval] {
        let want =
            ["labels.csv:4:2:", "\"maybe\"", "\"0\" ×1, \"1\" ×2, \"maybe\" ×1", "--positive", "--skip-bad-rows"];
        fails(&r, INPUT, &want);
    }
    // Text labels without --positive: OFF is not a default positive value.
    let off = write(dir.path(), "off.tsv", "text\tlabel\nbad words\tOFF\nfine\tNOT_OFF\n");
    let r = rq("train --data {} --out x.raqib", &[s(&off)]);
    fails(&r, INPUT, &["off.tsv:2:2:", "\"OFF\"", "\"NOT_OFF\" ×1", "pass --positive VALUE"]);
    // With both lists given, anything else is an error, and the hint says to add it.
    let strict = write(dir.path(), "strict.csv", "text,label\na,hate\nb,normal\nc,spam\n");
    let line = "train --data {} --out x.raqib --positive hate --negative normal";
    let r = rq(line, &[s(&strict)]);
    fails(&r, INPUT, &["strict.csv:4:2:", "\"spam\"", "add the value to --positive or --negative"]);
    // An empty label is an error too.
    let empty = write(dir.path(), "empty.csv", "text,label\na,1\nb,\n");
    let r = rq("train --data {} --out x.raqib", &[s(&empty)]);
    fails(&r, INPUT, &["empty.csv:3:2:", "empty label"]);
}

/// `--skip-bad-rows` reports how many rows were skipped and where, for `train` and (regression:
/// it listed them without a count) `eval`.
#[test]
fn skip_bad_rows_reports_count_and_where() {
    let dir = tempfile::tempdir().unwrap();
    let good = corpus().len();
    let data = write(dir.path(), "skip.csv", corpus_csv() + "unsure comment,maybe\nno label at all,\n");
    // Lines: the header, the good rows, then the two bad ones.
    let (bad1, bad2) = (good + 2, good + 3);
    let summary = format!("skipped 2 bad row(s) of {}:", good + 2);
    let out = dir.path().join("skip.raqib");
    let line = format!("train --data {{}} --out {{}} --skip-bad-rows --min-df 1 {FAST}");
    let r = rq(&line, &[s(&data), s(&out)]);
    r.expect(OK);
    assert!(r.stderr.contains(&summary), "{}", r.stderr);
    assert!(r.stderr.contains(&format!("skip.csv:{bad1}:2: unrecognised label \"maybe\"")));
    assert!(r.stderr.contains(&format!("skip.csv:{bad2}:2: empty label")));
    assert!(r.out().contains(&format!(" on {good} rows ")), "{}", r.out());
    assert_eq!(read_json(&report_of(&out))["rows_skipped"], 2);

    let r = rq("eval --model {} --data {} --skip-bad-rows --json", &[&model(), s(&data)]);
    r.expect(OK);
    assert!(r.stderr.contains(&summary), "{}", r.stderr);
    assert!(r.stderr.contains(&format!("skip.csv:{bad1}:2:")), "{}", r.stderr);
    assert_eq!(r.json()["rows_skipped"], 2);
    assert_eq!(r.json()["labels"][0]["rows"], good as u64);
}

#[test]
fn bad_flags_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.csv", "text,label\na,1\nb,0\n");
    let (m, d) = (model(), s(&data).to_string());
    // Rejected by the argument parser.
    usage_error(&rq("--no-such-flag", &[]), "--no-such-flag");
    usage_error(&rq("score --no-such-flag", &[]), "--no-such-flag");
    usage_error(&rq("frobnicate", &[]), "frobnicate");
    usage_error(&rq("score --format xml", &[]), "xml");
    usage_error(&rq("score --batch many", &[]), "--batch");
    usage_error(&rq("check --explain x text", &[]), "--explain");
    usage_error(&rq("train --out x.raqib", &[]), "--data");
    usage_error(&rq("train --data {} --out x --validation 0.2 --cv 3", &[&d]), "--cv");
    usage_error(&rq("completions nosh", &[]), "nosh");
    // Rejected when checked: one line, exit 2.
    let cases = [
        ("score --model {} --input {} --threshold abc", "--threshold \"abc\": not a number"),
        ("score --model {} --input {} --threshold nolabel=0.5", "no label \"nolabel\" (labels: violence, extremism)"),
        ("score --model {} --input {} --threshold 1.5", "threshold 1.5 is not within 0..=1"),
        ("score --model {} --input {} --delimiter ab", "--delimiter"),
        ("eval --model {} --data {} --threshold 2", "--threshold"),
        ("eval --model {} --data {} --label-column label=nolabel", "no label \"nolabel\""),
    ];
    for (line, needle) in cases {
        fails(&rq(line, &[&m, &d]), INPUT, &[needle]);
    }
    fails(&rq("check --model {} --threshold violence=-1 x", &[&m]), INPUT, &["-1"]);
    let cases = [
        ("--char-ngrams x", "--char-ngrams"),
        ("--bits 40", "bits must be 16..=24"),
        ("--no-normalize nonsense", "nonsense"),
    ];
    for (flags, needle) in cases {
        let r = rq(&format!("train --data {{}} --out x.raqib {flags}"), &[&d]);
        fails(&r, INPUT, &[needle]);
    }
}

#[test]
fn unwritable_outputs_are_input_errors() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.csv", "text,label\na,1\nb,0\n");
    let m = model();
    let r = rq("score --model {} --input {} --output /nonexistent/dir/out.csv", &[&m, s(&data)]);
    fails(&r, INPUT, &["/nonexistent/dir/out.csv"]);
    let r = rq("eval --model {} --data {} --report /nonexistent/dir/r.html", &[&m, s(&data)]);
    fails(&r, INPUT, &["/nonexistent/dir/r.html"]);
    let r = rq("train --data {} --out /nonexistent/dir/m.raqib --no-validation", &[s(&data)]);
    fails(&r, INPUT, &["/nonexistent/dir/m.raqib"]);
}

// ---------------------------------------------------------------------------------------------
// Model errors (exit 3)
// ---------------------------------------------------------------------------------------------

/// Damaged copies of the fixture model, each with what the error must say. The layout is in
/// src/model/format.rs: magic (8), version (4), header length H (4), header JSON (H), entries,
/// xxh3-64 checksum of everything before it (8).
fn damaged_models(dir: &Path) -> Vec<(PathBuf, &'static str)> {
    let good = std::fs::read(fixture_model()).unwrap();
    let hlen = u32::from_le_bytes(good[12..16].try_into().unwrap()) as usize;
    let entries = 16 + hlen;
    let mut cases: Vec<(&str, Vec<u8>, &'static str)> = vec![
        ("empty.raqib", vec![], "not a raqib model"),
        ("magic.raqib", [b"NOTMODEL".as_slice(), &good[8..]].concat(), "not a raqib model"),
        ("in-magic.raqib", good[..4].to_vec(), "truncated"),
        ("in-prefix.raqib", good[..12].to_vec(), "truncated"),
        ("in-header.raqib", good[..entries - 10].to_vec(), "truncated"),
        ("in-entries.raqib", good[..entries + 100].to_vec(), "truncated"),
        ("no-checksum.raqib", good[..good.len() - 8].to_vec(), "truncated"),
        ("trailing.raqib", [good.as_slice(), &[0u8; 4]].concat(), "size mismatch"),
    ];
    let mut newer = good.clone();
    newer[8..12].copy_from_slice(&2u32.to_le_bytes());
    cases.push(("newer.raqib", newer, "format version 2 is newer than this raqib supports (1)"));
    let mut flipped = good.clone();
    flipped[entries + 5] ^= 0x40;
    cases.push(("checksum.raqib", flipped, "checksum mismatch"));
    // A correctly sealed file whose header has a field this version does not know.
    let mut header: Value = serde_json::from_slice(&good[16..entries]).unwrap();
    header["surprise"] = 1.into();
    let header = serde_json::to_vec(&header).unwrap();
    let mut body = good[..12].to_vec();
    body.extend_from_slice(&(header.len() as u32).to_le_bytes());
    body.extend_from_slice(&header);
    body.extend_from_slice(&good[entries..good.len() - 8]);
    let sum = xxhash_rust::xxh3::xxh3_64(&body);
    body.extend_from_slice(&sum.to_le_bytes());
    cases.push(("header.raqib", body, "invalid header"));
    cases.into_iter().map(|(name, bytes, why)| (write(dir, name, bytes), why)).collect()
}

#[test]
fn every_model_file_error_exits_3_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.csv", "text,label\nhello,1\nworld,0\n");
    let mut cases = damaged_models(dir.path());
    cases.push((dir.path().join("missing.raqib"), "does not exist"));
    let folder = dir.path().join("folder.raqib");
    std::fs::create_dir(&folder).unwrap();
    cases.push((folder, "cannot read"));
    for (path, why) in &cases {
        let name = path.file_name().unwrap().to_str().unwrap();
        let (p, d) = (s(path), s(&data));
        for r in [
            rq("score --model {} --input {}", &[p, d]),
            rq("eval --model {} --data {}", &[p, d]),
            rq("explain --model {} {}", &[p, "some comment"]),
            rq("check --model {} {}", &[p, "some comment"]),
        ] {
            fails(&r, MODEL, &[name, why]);
        }
    }
    // The same through the environment variable.
    let (newer, why) = cases.iter().find(|(p, _)| p.ends_with("newer.raqib")).unwrap();
    let r = run_with(raqib().env("RAQIB_MODEL", newer).args(["check", "hello"]));
    fails(&r, MODEL, &["newer.raqib", why]);
}

// ---------------------------------------------------------------------------------------------
// score
// ---------------------------------------------------------------------------------------------

/// The committed input and expected output: any change to scoring, columns or quoting shows
/// here. Regenerate with `RAQIB_BLESS=1 cargo test --test it golden` and review the diff.
#[test]
fn score_golden_output() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let input = fixtures.join("score-golden.csv");
    let expected = fixtures.join("score-golden.expected.csv");
    let m = model();
    let r = rq("score --model {} --input {} --explain 2 --quiet", &[&m, s(&input)]);
    r.expect(OK);
    assert_eq!(r.stderr, "", "--quiet: nothing on stderr");
    if std::env::var_os("RAQIB_BLESS").is_some() {
        std::fs::write(&expected, &r.stdout).unwrap();
    }
    let want = std::fs::read_to_string(&expected).unwrap();
    let got = r.out();
    for (i, (g, w)) in got.lines().zip(want.lines()).enumerate() {
        assert_eq!(g, w, "first difference on output line {}", i + 1);
    }
    assert_eq!(got, want);
    // The same rows from standard input to standard output.
    let stdin = std::fs::read(&input).unwrap();
    let r = rq_stdin("score --model {} --explain 2 --quiet", &[&m], &stdin);
    r.expect(OK);
    assert_eq!(r.out(), want);
}

/// One megabyte of comment: a harmless sentence over and over.
fn big_comment() -> String {
    let sentence = "the council met again today and talked about the new bridge. ";
    sentence.repeat((1 << 20) / sentence.len() + 1)
}

/// Rows of the row-keeping test, as (id, text bytes); `None` is a row without the text field.
/// Rows 3 (invalid UTF-8) and 6 (no text field) cannot be scored.
fn awkward_rows() -> Vec<(u32, Option<Vec<u8>>)> {
    vec![
        (1, Some(b"first line\nsecond line, with a comma and \"quotes\"".to_vec())),
        (2, Some(b"".to_vec())),
        (3, Some(b"broken \xff\xfe bytes".to_vec())),
        (4, Some(big_comment().into_bytes())),
        (5, Some("نريد السلام لكل الناس في المدينة".as_bytes().to_vec())),
        (6, None),
        (7, Some("\u{1F525} burn it all down".as_bytes().to_vec())),
        (8, Some(b"   ".to_vec())),
    ]
}
const UNREADABLE: [u32; 2] = [3, 6];

fn quoted(bytes: &[u8]) -> Vec<u8> {
    let mut out = b"\"".to_vec();
    for &b in bytes {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
    out
}

/// [`awkward_rows`] as CSV or TSV: `id,text,lang`, every text quoted.
fn delimited(sep: u8) -> Vec<u8> {
    let mut out = [b"id".as_slice(), &[sep], b"text", &[sep], b"lang\n"].concat();
    for (id, text) in awkward_rows() {
        out.extend_from_slice(id.to_string().as_bytes());
        if let Some(t) = text {
            out.push(sep);
            out.extend_from_slice(&quoted(&t));
            out.push(sep);
            out.extend_from_slice(b"xx");
        }
        out.push(b'\n');
    }
    out
}

/// [`awkward_rows`] as JSONL objects `{"id", "text"}`.
fn jsonl() -> Vec<u8> {
    let mut out = Vec::new();
    for (id, text) in awkward_rows() {
        match text {
            // Invalid UTF-8 cannot be in a JSON string: the line is written raw.
            Some(t) if std::str::from_utf8(&t).is_err() => {
                out.extend_from_slice(format!("{{\"id\":{id},\"text\":\"").as_bytes());
                out.extend_from_slice(&t);
                out.extend_from_slice(b"\"}");
            }
            Some(t) => {
                let text = String::from_utf8(t).unwrap();
                out.extend_from_slice(json!({"id": id, "text": text}).to_string().as_bytes());
            }
            None => out.extend_from_slice(format!("{{\"id\":{id}}}").as_bytes()),
        }
        out.push(b'\n');
    }
    out
}

/// Parse `score`'s delimited output: the header, then each row's fields.
fn parse_delimited(bytes: &[u8], sep: u8) -> (Vec<String>, Vec<Vec<Vec<u8>>>) {
    let mut r = csv::ReaderBuilder::new().delimiter(sep).flexible(true).from_reader(bytes);
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r.byte_records().map(|rec| rec.unwrap().iter().map(<[u8]>::to_vec).collect()).collect();
    (header, rows)
}

fn unreadable_summary(stderr: &str, rows: usize) {
    let counted = format!("scored {rows} rows:");
    assert!(stderr.contains(&counted), "{stderr}");
    assert!(stderr.contains("; 2 rows with an unreadable text"), "{stderr}");
}

/// Rows in = rows out, in order, over multi-line quoted comments, empty texts, invalid UTF-8, a
/// 1 MB comment and a row without its text field; only the unreadable rows get an `error`, and
/// the summary on stderr counts them. CSV and TSV, from files and from stdin.
#[test]
fn score_keeps_row_count_and_order_csv_tsv() {
    let dir = tempfile::tempdir().unwrap();
    let m = model();
    let n = awkward_rows().len();
    for (name, sep, format) in [("rows.csv", b',', "csv"), ("rows.tsv", b'\t', "tsv")] {
        let input = write(dir.path(), name, delimited(sep));
        let out = dir.path().join(format!("out-{name}"));
        let r = rq("score --model {} --input {} --output {}", &[&m, s(&input), s(&out)]);
        r.expect(OK);
        assert!(r.stdout.is_empty());
        unreadable_summary(&r.stderr, n);
        // Row 3 starts on line 5: the header, then row 1 over two lines, then row 2.
        let where_ = format!("{name}:5: column text is not valid UTF-8");
        assert!(r.stderr.contains(&where_), "{}", r.stderr);
        let file_out = std::fs::read(&out).unwrap();
        let (header, rows) = parse_delimited(&file_out, sep);
        let columns = ["id", "text", "lang", "score_violence", "score_extremism", "flagged", "flagged_labels", "error"];
        assert_eq!(header, columns);
        assert_eq!(rows.len(), n, "rows in = rows out");
        for (row, (id, text)) in rows.iter().zip(awkward_rows()) {
            assert_eq!(row[0], id.to_string().as_bytes(), "order kept");
            // Regression: a short row shifted the appended columns to the left.
            assert_eq!(row.len(), header.len(), "row {id}: every column present");
            if let Some(t) = &text {
                assert_eq!(&row[1], t, "row {id}: input field kept byte for byte");
            }
            let error = String::from_utf8_lossy(&row[7]);
            if UNREADABLE.contains(&id) {
                assert!(!error.is_empty(), "row {id} has an error");
                assert!(row[3].is_empty() && row[5].is_empty(), "row {id}: no score");
            } else {
                assert!(error.is_empty(), "row {id}: {error}");
                let p: f64 = std::str::from_utf8(&row[3]).unwrap().parse().unwrap();
                assert!((0.0..=1.0).contains(&p));
                assert!(row[5] == b"true" || row[5] == b"false");
            }
        }
        // stdin → stdout gives the same bytes.
        let stdin = std::fs::read(&input).unwrap();
        let r = rq_stdin("score --model {} --format {}", &[&m, format], &stdin);
        r.expect(OK);
        assert_eq!(r.stdout, file_out, "{name} through stdin");
        assert!(r.stderr.contains("-:5: column text is not valid UTF-8"), "{}", r.stderr);
    }
}

/// The same for JSONL: a line that is not JSON (invalid UTF-8) comes back raw in its place, a
/// row without `text` keeps its other keys.
#[test]
fn score_keeps_row_count_and_order_jsonl() {
    let dir = tempfile::tempdir().unwrap();
    let m = model();
    let n = awkward_rows().len();
    let input = write(dir.path(), "rows.jsonl", jsonl());
    let r = rq("score --model {} --input {}", &[&m, s(&input)]);
    r.expect(OK);
    unreadable_summary(&r.stderr, n);
    // Regression: a JSON row without the key blamed an unbalanced quote.
    assert!(r.stderr.contains("rows.jsonl:6: no value for \"text\""), "{}", r.stderr);
    assert!(!r.stderr.contains("quote"), "{}", r.stderr);
    let lines: Vec<Value> = r.out().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), n, "rows in = rows out");
    for (v, (id, _)) in lines.iter().zip(awkward_rows()) {
        if UNREADABLE.contains(&id) {
            assert!(v["error"].is_string() && v["flagged"].is_null(), "{v}");
        } else {
            assert_eq!(v["id"], id, "order kept");
            assert!(v["error"].is_null(), "{v}");
            assert!(v["score_violence"].is_f64() && v["flagged"].is_boolean(), "{v}");
        }
    }
    assert_eq!(lines[3]["text"].as_str().unwrap().len(), big_comment().len());
    assert_eq!(lines[5]["id"], 6, "the row without text keeps its other fields");
    assert!(lines[2]["raw"].as_str().unwrap().contains("broken"), "{}", lines[2]);
    let r2 = rq_stdin("score --model {} --format jsonl", &[&m], &jsonl());
    r2.expect(OK);
    assert_eq!(r2.stdout, r.stdout, "JSONL through stdin");
}

#[test]
fn score_threshold_and_explain_flags() {
    let m = model();
    let input = b"text\nwe will kill them all\nthe weather is nice, coffee and family\n";
    let r = rq_stdin("score --model {} --explain 3 --quiet", &[&m], input);
    r.expect(OK);
    let (header, rows) = parse_delimited(&r.stdout, b',');
    assert_eq!(header[5..], ["explain", "error"]);
    assert_eq!((&rows[0][3][..], &rows[0][4][..]), (&b"true"[..], &b"violence"[..]));
    let why = String::from_utf8(rows[0][5].clone()).unwrap();
    assert_eq!(why.split("; ").count(), 3, "{why}");
    assert!(rows[1][5].is_empty(), "no explanation for a row that is not flagged");
    // A threshold of 1 flags nothing; 0 flags everything.
    let r = rq_stdin("score --model {} --threshold 1", &[&m], input);
    r.expect(OK);
    assert!(r.stderr.contains("scored 2 rows: 0 flagged"), "{}", r.stderr);
    let line = "score --model {} --threshold violence=0 --threshold extremism=0";
    let r = rq_stdin(line, &[&m], input);
    r.expect(OK);
    let all = "scored 2 rows: 2 flagged (violence 2, extremism 2)";
    assert!(r.stderr.contains(all), "{}", r.stderr);
}

/// `raqib score … | head -1` stops reading early: not an error.
#[test]
fn score_into_a_closed_pipe_is_not_an_error() {
    use std::io::{BufRead, BufReader, Write};
    let mut input = String::from("text\n");
    for i in 0..100_000 {
        input += &format!("comment number {i} about the match\n");
    }
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_raqib"))
        .args(["score", "--model", &model(), "--batch", "64"])
        .env("RUST_BACKTRACE", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        // Fails once raqib has stopped reading: expected.
        let _ = stdin.write_all(input.as_bytes());
    });
    let mut first = String::new();
    let stdout = child.stdout.take().unwrap();
    BufReader::new(stdout).read_line(&mut first).unwrap();
    // The reader is dropped: stdout is closed with most of the rows still to write.
    assert!(first.starts_with("text,score_violence"), "{first}");
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    no_panic(&stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
}

// ---------------------------------------------------------------------------------------------
// check, explain
// ---------------------------------------------------------------------------------------------

#[test]
fn check_exit_codes_json_shape_and_stdin() {
    let m = model();
    let r = rq("check --model {} {}", &[&m, "the weather is nice, coffee and family"]);
    r.expect(OK);
    assert_eq!(r.out().lines().count(), 1, "one JSON line");
    let v = r.json();
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["action", "flagged", "labels", "model"]);
    assert_eq!((v["action"].as_str(), v["flagged"].as_bool()), (Some("publish"), Some(false)));
    assert_eq!(v["model"]["name"], "raqib");
    assert_eq!(v["model"]["hash"], "6a91a30c3b4f1752");
    let labels = v["labels"].as_object().unwrap();
    assert_eq!(labels.keys().collect::<Vec<_>>(), ["violence", "extremism"]);
    for l in labels.values() {
        let keys: Vec<&String> = l.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["score", "threshold", "flagged"]);
        assert_eq!(l["flagged"], false);
    }

    let r = rq("check --model {} {}", &[&m, "we will kill them all"]);
    r.expect(FLAGGED);
    let v = r.json();
    assert_eq!((v["action"].as_str(), v["flagged"].as_bool()), (Some("hold"), Some(true)));
    assert_eq!(v["labels"]["violence"]["flagged"], true);
    close(&v["labels"]["violence"]["score"], 0.999999996914);

    // Standard input, with the trailing newline `echo` adds; invalid UTF-8 is replaced.
    let r = rq_stdin("check --model {}", &[&m], b"we will kill them all\n");
    r.expect(FLAGGED);
    assert_eq!(r.json()["action"], "hold");
    rq_stdin("check --model {}", &[&m], b"the weather \xff is nice").expect(OK);
    rq_stdin("check --model {}", &[&m], b"").expect(OK);

    // A threshold override changes the decision.
    let r = rq("check --model {} --threshold violence=1 {}", &[&m, "we will kill them all"]);
    r.expect(OK);
    assert_eq!(r.json()["labels"]["violence"]["threshold"], 1.0);

    // --explain adds n-grams with character spans.
    let r = rq("check --model {} --explain 2 {}", &[&m, "we will kill them all"]);
    r.expect(FLAGGED);
    let explain = r.json()["explain"].as_array().unwrap().clone();
    assert_eq!(explain.len(), 2);
    assert_eq!(explain[0]["spans"], json!([[5, 7], [10, 12], [19, 21]]), "the three 'll'");
}

/// Every span of `explain --json` is a character range of the ORIGINAL text whose normalised
/// form is the n-gram (without its word-boundary marks). Emoji before the words would shift
/// byte offsets; capitals and Arabic letter variants differ between original and normalised.
#[test]
fn explain_json_spans_point_into_the_original_text() {
    let fixture = raqib::Model::load(fixture_model()).unwrap();
    let text = "\u{1F525}\u{1F525} WE will KILL them all, انصر جنود الخلافة";
    let chars: Vec<char> = text.chars().collect();
    let r = rq("explain --model {} --json --top 40 {}", &[&model(), text]);
    r.expect(OK);
    let v = r.json();
    assert_eq!(v["flagged"], true);
    // The explained label is the flagged one with the highest score.
    let explained = v["explained_label"].as_str().unwrap();
    assert_eq!(v["labels"][explained]["flagged"], true, "{v}");
    let ngrams = v["ngrams"].as_array().unwrap();
    assert_eq!(ngrams.len(), 40);
    let mut checked = 0;
    for g in ngrams {
        let ngram = g["ngram"].as_str().unwrap();
        assert!(g["per_label"]["violence"].is_f64() && g["per_label"]["extremism"].is_f64());
        for span in g["spans"].as_array().unwrap() {
            let (a, b) = (span[0].as_u64().unwrap() as usize, span[1].as_u64().unwrap() as usize);
            assert!(a < b && b <= chars.len(), "{ngram}: {a}..{b}");
            let original: String = chars[a..b].iter().collect();
            let normalized = fixture.normalizer().normalize(&original);
            let normalized = normalized.split_whitespace().collect::<Vec<_>>().join(" ");
            assert_eq!(normalized, ngram.trim_matches('_'), "span {a}..{b} = {original:?}");
            checked += 1;
        }
    }
    assert!(checked >= 40, "{checked}");
    // The n-grams come strongest first.
    let w: Vec<f64> = ngrams.iter().map(|g| g["weight"].as_f64().unwrap()).collect();
    assert!(w.windows(2).all(|p| p[0] >= p[1]), "{w:?}");
}

#[test]
fn explain_text_highlights_and_reads_stdin() {
    let m = model();
    let kill = "we will kill them all";
    let r = rq("explain --model {} --color never --top 3 {}", &[&m, kill]);
    r.expect(OK);
    let out = r.out();
    assert!(out.contains("violence") && out.contains("FLAGGED"), "{out}");
    assert!(out.contains("we w[[ill]] k[[ill]] them a[[ll]]"), "{out}");
    assert!(!out.contains('\x1b'), "no colour with --color never");
    let r = rq("explain --model {} --color always {}", &[&m, kill]);
    r.expect(OK);
    assert!(r.out().contains("\x1b[1;31m"), "{}", r.out());
    let arabic = "اللهم انصر جنود الخلافة واقتلوهم";
    let r = rq_stdin("explain --model {} --json", &[&m], arabic.as_bytes());
    r.expect(OK);
    assert_eq!(r.json()["flagged"], true);
}

// ---------------------------------------------------------------------------------------------
// eval
// ---------------------------------------------------------------------------------------------

/// Four rows whose fixture-model scores are in tests/fixtures/model-v1.scores.txt, so every
/// figure can be worked out by hand.
const HAND: &str = "text,violence,extremism\n\
we will kill them all,1,0\n\
\"the weather is nice, coffee and family\",0,0\n\
ISIS داعش caliphate الخلافة 2024,1,1\n\
🔪🔪🔪,0,0\n";

fn close(v: &Value, want: f64) {
    let got = v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"));
    assert!((got - want).abs() < 1e-6, "{got} != {want}");
}

#[test]
fn eval_json_figures_match_a_hand_count() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "hand.csv", HAND);
    let m = model();
    let r = rq("eval --model {} --data {} --json --threshold 0.03", &[&m, s(&data)]);
    r.expect(OK);
    let v = r.json();
    assert_eq!((v["rows_read"].as_u64(), v["rows_skipped"].as_u64()), (Some(4), Some(0)));
    assert_eq!(v["model"]["hash"], "6a91a30c3b4f1752");
    let labels = v["labels"].as_array().unwrap();
    assert_eq!(labels.len(), 2, "columns named like the model's labels are picked up");

    // violence: scores 0.99999999691 (pos), 0.01799 (neg), 0.02774 (pos), 0.04330 (neg).
    let vi = &labels[0];
    assert_eq!((vi["label"].as_str(), vi["column"].as_str()), (Some("violence"), Some("violence")));
    assert_eq!((vi["rows"].as_u64(), vi["positives"].as_u64()), (Some(4), Some(2)));
    // Pairs (pos > neg): 0.9999 beats both, 0.0277 beats 0.0180 only: 3 of 4.
    close(&vi["roc_auc"], 0.75);
    // Ranked: pos, neg, pos, neg → AP = ½·1 + ½·⅔.
    close(&vi["pr_auc"], 0.5 + 1.0 / 3.0);
    // Threshold 0.434: only the first row is flagged → TP 1, FP 0, TN 2, FN 1.
    let at = &vi["at_model_threshold"];
    close(&at["threshold"], 0.4339718936421103);
    assert_eq!(at["confusion"], json!({"tp": 1, "fp": 0, "tn": 2, "fn": 1}));
    close(&at["precision"], 1.0);
    close(&at["recall"], 0.5);
    close(&at["f1"], 2.0 / 3.0);
    close(&at["false_positive_rate"], 0.0);
    // At 0.03 the knives row (0.0433) is flagged too: TP 1, FP 1, TN 1, FN 1.
    let extra = &vi["at_thresholds"][0];
    close(&extra["threshold"], 0.03);
    assert_eq!(extra["confusion"], json!({"tp": 1, "fp": 1, "tn": 1, "fn": 1}));
    close(&extra["precision"], 0.5);
    close(&extra["false_positive_rate"], 0.5);
    // Calibration, 10 bins: three rows in [0, 0.1) with one positive, one row in [0.9, 1].
    let low_mean: f64 = (0.017991807383 + 0.027742803980 + 0.043303229286) / 3.0;
    let ece = 0.75 * (low_mean - 1.0 / 3.0).abs() + 0.25 * (1.0 - 0.999999996914);
    close(&vi["expected_calibration_error"], ece);
    let bins = vi["reliability"].as_array().unwrap();
    assert_eq!(bins.len(), 10);
    assert_eq!((bins[0]["count"].as_u64(), bins[9]["count"].as_u64()), (Some(3), Some(1)));
    close(&bins[0]["mean_predicted"], low_mean);
    close(&bins[0]["fraction_positive"], 1.0 / 3.0);

    // extremism: only the ISIS row is positive and it scores 1.0; nothing else passes 0.48.
    let ex = &labels[1];
    close(&ex["roc_auc"], 1.0);
    close(&ex["pr_auc"], 1.0);
    let want = json!({"tp": 1, "fp": 0, "tn": 3, "fn": 0});
    assert_eq!(ex["at_model_threshold"]["confusion"], want);

    // The tables show the same figures.
    let r = rq("eval --model {} --data {}", &[&m, s(&data)]);
    r.expect(OK);
    assert!(r.out().contains("ROC AUC 0.7500   PR AUC 0.8333"), "{}", r.out());
}

#[test]
fn eval_label_column_choices() {
    let dir = tempfile::tempdir().unwrap();
    let m = model();
    // A column named "label": compared with "any" (flagged if any label is, highest score).
    let any = write(
        dir.path(),
        "any.csv",
        "text,label\nwe will kill them all,1\nISIS داعش caliphate الخلافة 2024,1\nthe weather is nice,0\n",
    );
    let r = rq("eval --model {} --data {} --json", &[&m, s(&any)]);
    r.expect(OK);
    let l = &r.json()["labels"][0];
    assert_eq!((l["label"].as_str(), l["column"].as_str()), (Some("any"), Some("label")));
    assert!(l["at_model_threshold"]["threshold"].is_null());
    assert_eq!(l["at_model_threshold"]["confusion"]["tp"], 2);
    // COLUMN=LABEL, a TSV without header and text labels.
    let tsv = write(dir.path(), "t.tsv", "we will kill them all\tOFF\nthe weather is nice\tNOT_OFF\n");
    let line = "eval --model {} --data {} --no-header --text-column 0 --label-column 1=violence \
                --positive OFF --json";
    let r = rq(line, &[&m, s(&tsv)]);
    r.expect(OK);
    let l = &r.json()["labels"][0];
    assert_eq!((l["label"].as_str(), l["column"].as_str()), (Some("violence"), Some("1")));
    close(&l["roc_auc"], 1.0);
    // Neither a model label's column nor "label": the message says what to pass.
    let none = write(dir.path(), "none.csv", "text,verdict\na,1\n");
    let r = rq("eval --model {} --data {}", &[&m, s(&none)]);
    fails(&r, INPUT, &["none.csv", "violence, extremism", "--label-column"]);
}

/// The HTML report: one file, nothing fetched (no scripts, links or URLs), inline SVG charts per
/// label with curves of at most ~500 points, and the worst errors with their (RTL) texts.
#[test]
fn eval_report_is_self_contained_html_with_charts() {
    let dir = tempfile::tempdir().unwrap();
    // 1,500 distinct pairs of comments, so that the curves have far more than 500 points.
    let rows = corpus();
    let mut csv = String::from("text,violence,extremism\n");
    for i in 0..1500 {
        let ((a, ya), (b, yb)) = (&rows[i % rows.len()], &rows[i / rows.len()]);
        let text = csv_field(&format!("{a}; {b}"));
        csv += &format!("{text},{},0\n", u8::from(*ya || *yb));
    }
    csv += "سنحرق السوق <b>كلها</b> & more,0,1\n";
    let data = write(dir.path(), "many.csv", csv);
    let html_path = dir.path().join("report.html");
    let line = "eval --model {} --data {} --report {} --worst 5 --quiet";
    let r = rq(line, &[&model(), s(&data), s(&html_path)]);
    r.expect(OK);
    let html = std::fs::read_to_string(&html_path).unwrap();
    assert!(html.starts_with("<!doctype html>"));
    let fetches = ["http://", "https://", "<script", "<link", "src=", "href=", "url(", "@import"];
    for banned in fetches {
        assert!(!html.contains(banned), "{banned:?} in the report");
    }
    assert_eq!(html.matches("<section>").count(), 2, "one section per label");
    assert_eq!(html.matches("<svg").count(), 8, "ROC, PR, histogram, reliability per label");
    assert_eq!(html.matches("</svg>").count(), 8);
    let captions =
        ["ROC curve, area", "Precision-recall curve, average precision", "Scores of the", "Reliability: the share"];
    for caption in captions {
        assert_eq!(html.matches(caption).count(), 2, "{caption}");
    }
    // Every polyline (curves, axes, grid) has at most ~500 points, and the curves were long.
    let mut longest = 0;
    for chunk in html.split("<polyline").skip(1) {
        let points = chunk.split("points=\"").nth(1).unwrap().split('"').next().unwrap();
        longest = longest.max(points.split_whitespace().count());
    }
    assert!((100..=502).contains(&longest), "longest polyline: {longest} points");
    // Worst errors: the Arabic false negative is listed, escaped, its direction automatic.
    let row = "<td dir=\"auto\">سنحرق السوق &lt;b&gt;كلها&lt;/b&gt; &amp; more</td>";
    assert!(html.contains(row), "escaped RTL text in the worst errors");
}

// ---------------------------------------------------------------------------------------------
// completions, help
// ---------------------------------------------------------------------------------------------

#[test]
fn completions_and_help() {
    let shells = [("bash", "complete -F"), ("zsh", "#compdef raqib"), ("fish", "complete -c raqib")];
    for (shell, needle) in shells {
        let r = rq("completions {}", &[shell]);
        r.expect(OK);
        let out = r.out();
        assert!(out.contains(needle), "{shell}: {out}");
        for sub in ["train", "score", "eval", "explain", "check"] {
            assert!(out.contains(sub), "{shell} completes {sub}");
        }
    }
    let r = rq("--help", &[]);
    r.expect(OK);
    for code in ["0  success", "1  check only", "2  usage or input error", "3  model error"] {
        assert!(r.out().contains(code), "exit code {code:?} documented:\n{}", r.out());
    }
    for sub in ["train", "score", "eval", "explain", "check"] {
        let r = rq("{} --help", &[sub]);
        r.expect(OK);
        assert!(r.out().contains("Examples:"), "{sub} --help has examples");
    }
    // No subcommand: usage on stderr, exit 2.
    let r = rq("", &[]);
    r.expect(INPUT);
    assert!(r.stderr.contains("Usage:"), "{}", r.stderr);
}
