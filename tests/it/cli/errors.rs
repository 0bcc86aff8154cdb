//! Every input error (exit 2) and model-file error (exit 3): one line on stderr, no panic.

use super::*;
use crate::harness::fixture_model;
use serde_json::Value;
use std::path::{Path, PathBuf};

// Input errors (exit 2)

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
    // Regression: a quote left open in the middle of a file was closed by the next quoted field,
    // and the csv reader silently made one row of every line between (5 rows in, 2 out).
    let mid = write(dir.path(), "mid.csv", "text,label\n\"never closed,1\nok,0\nfine,1\n\"quoted\",1\nlast,0\n");
    for r in each_reader(&mid, "") {
        fails(&r, INPUT, &["mid.csv:5:2:", "malformed CSV: unbalanced quote", "field opened on line 2"]);
    }
    // A quote inside a quoted field that is not doubled: line and (character) column.
    let inner = write(dir.path(), "inner.csv", "text,label\nfine,0\n\"قال \"لا\" مرتين\",1\n");
    let r = rq("score --model {} --input {}", &[&m, s(&inner)]);
    fails(&r, INPUT, &["inner.csv:3:7:", "must be doubled", "--no-quoting"]);
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

/// A class column (0/1/2, as in the Davidson data) is not binary: 2 is an error naming the
/// values seen, not a silent positive; `--positive` says which classes count. A `--positive`
/// value that no row has (a typo) is an error too, instead of a model with no positives.
#[test]
fn non_binary_label_values_and_unmatched_positive() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("text,class\n");
    for (i, (t, y)) in corpus().iter().enumerate() {
        csv += &format!("{},{}\n", csv_field(t), if *y { 2 - i % 2 } else { 0 });
    }
    let data = write(dir.path(), "classes.csv", &csv);
    let [train, _, eval] = each_reader(&data, "--label-column class");
    for r in [train, eval] {
        let want = ["classes.csv:2:2: unrecognised label \"2\"", "\"0\" ×36, \"1\" ×", "\"2\" ×", "--positive"];
        fails(&r, INPUT, &want);
    }
    let out = dir.path().join("m.raqib");
    let line = format!("train --data {{}} --out {{}} --label-column class --positive 1 --positive 2 --min-df 1 {FAST}");
    rq(&line, &[s(&data), s(&out)]).expect(OK);
    let positives = corpus().iter().filter(|(_, y)| *y).count() as u64;
    assert_eq!(read_json(&report_of(&out))["training"]["labels"][0]["positives"], positives);
    // Soft labels between 0 and 1 are still read (> 0.5 positive); -1 is not.
    let soft = write(dir.path(), "soft.csv", "text,label\na,0.8\nb,0.1\nc,-1\n");
    let r = rq("train --data {} --out x.raqib", &[s(&soft)]);
    fails(&r, INPUT, &["soft.csv:4:2: unrecognised label \"-1\""]);
    // A typo in --positive.
    let off = write(dir.path(), "off.tsv", "text\tlabel\nbad words\tOFF\nfine\tNOT_OFF\n");
    let [train, _, eval] = each_reader(&off, "--positive OF");
    for r in [train, eval] {
        let want = ["--positive \"OF\" matches no value of label column \"label\"", "\"NOT_OFF\" ×1, \"OFF\" ×1"];
        fails(&r, INPUT, &want);
    }
}

/// A JSONL line that is not JSON names its line and column, and nothing about label values.
#[test]
fn malformed_jsonl_names_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "c.jsonl", "{\"text\": \"a\", \"label\": 1}\n  {\"text\": \"b\", \"label\": 0\n");
    let [train, _, eval] = each_reader(&data, "");
    for r in [train, eval] {
        // Column 26: the 24 characters of the object start after two spaces.
        let line = fails(&r, INPUT, &["c.jsonl:2:26: not valid JSON: EOF while parsing an object"]);
        assert!(!line.contains("line 1"), "serde's own position, relative to the line, is left out: {line}");
        assert!(!line.contains("--positive"), "{line}");
    }
}

/// `eval` on a file with no usable row says so, instead of printing figures of nothing.
#[test]
fn eval_without_rows_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let empty = write(dir.path(), "empty.csv", "text,label\n");
    fails(&rq("eval --model {} --data {}", &[&model(), s(&empty)]), INPUT, &["empty.csv", "no rows to evaluate"]);
    let bad = write(dir.path(), "bad.csv", "text,label\na,maybe\n");
    let r = rq("eval --model {} --data {} --skip-bad-rows", &[&model(), s(&bad)]);
    r.expect(INPUT);
    assert!(r.stderr.contains("skipped 1 bad row(s) of 1"), "{}", r.stderr);
    assert!(r.stderr.lines().last().unwrap().contains("no rows to evaluate (1 read, 1 skipped)"), "{}", r.stderr);
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

// Model errors (exit 3)

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
    newer[8..12].copy_from_slice(&3u32.to_le_bytes());
    cases.push(("newer.raqib", newer, "format version 3 is newer than this raqib supports (2)"));
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
