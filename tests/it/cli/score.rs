//! `raqib score`: golden output, rows in = rows out and in order, streams, thresholds, pipes.

use super::*;
use serde_json::{json, Value};
use std::path::Path;

// score

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
    let counted = format!("{rows} rows in, {rows} out:");
    assert!(stderr.contains(&counted), "{stderr}");
    assert!(stderr.contains("; 2 not scored (see their error column)"), "{stderr}");
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
            // Every line has the same keys: the scores are there, null.
            for key in ["score_violence", "score_extremism", "flagged_labels"] {
                assert_eq!(v.get(key), Some(&Value::Null), "{key}: {v}");
            }
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
    let input = b"text\nwe will kill them all\n\"the weather is nice, coffee and family\"\n";
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
    assert!(r.stderr.contains("2 rows in, 2 out: 0 flagged"), "{}", r.stderr);
    let line = "score --model {} --threshold violence=0 --threshold extremism=0";
    let r = rq_stdin(line, &[&m], input);
    r.expect(OK);
    let all = "2 rows in, 2 out: 2 flagged (violence 2, extremism 2)";
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

/// Memory is bounded because `score` never holds more than one batch: the rows of a batch are
/// written (and flushed) before the next batch is read. Shown through a pipe kept open: the
/// first 64 rows come out while the rest of the input has not even been written.
#[test]
fn score_streams_batch_by_batch_while_input_is_still_open() {
    use std::io::{BufRead, BufReader, Write};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_raqib"))
        .args(["score", "--model", &model(), "--batch", "64", "--quiet"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut first = String::from("id,text\n");
    for i in 0..64 {
        first += &format!("{i},comment {i} about the match\n");
    }
    stdin.write_all(first.as_bytes()).unwrap();
    stdin.flush().unwrap();
    // Read the header and the first batch on another thread, so that a raqib that waits for the
    // end of its input fails the test by timeout instead of hanging it.
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let batch: Vec<String> = lines.by_ref().take(65).map(Result::unwrap).collect();
        tx.send(batch).unwrap();
        lines.count()
    });
    let batch = rx.recv_timeout(std::time::Duration::from_secs(60)).expect("the first batch before the end of input");
    assert!(batch[0].starts_with("id,text,score_violence"), "{}", batch[0]);
    assert!(batch[64].starts_with("63,comment 63 "), "{}", batch[64]);
    // The rest, then the end of input.
    let mut rest = String::new();
    for i in 64..200 {
        rest += &format!("{i},comment {i} about the match\n");
    }
    stdin.write_all(rest.as_bytes()).unwrap();
    drop(stdin);
    assert_eq!(reader.join().unwrap(), 200 - 64, "every later row too");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

/// `--delimiter`: a semicolon-separated file is read and written back with semicolons.
#[test]
fn score_with_another_delimiter() {
    let m = model();
    let input = b"id;text;section\n1;we will kill them all;sport\n2;\"lunch; then a walk\";life\n";
    let r = rq_stdin("score --model {} --delimiter ; --quiet", &[&m], input);
    r.expect(OK);
    let (header, rows) = parse_delimited(&r.stdout, b';');
    assert_eq!(header[..4], ["id", "text", "section", "score_violence"]);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1][1], b"lunch; then a walk", "a quoted delimiter stays in its field");
    assert_eq!((&rows[0][5][..], &rows[0][6][..]), (&b"true"[..], &b"violence"[..]));
    // A tab given as `\t`, on a file whose name does not say TSV.
    let tsv = b"text\tn\nwe will kill them all\t1\n";
    let r = rq_stdin("score --model {} --delimiter \\t --quiet", &[&m], tsv);
    r.expect(OK);
    assert!(r.out().starts_with("text\tn\tscore_violence\t"), "{}", r.out());
}

/// A file read with `--no-quoting` (OSACT-style tweets that start with a quote) is written
/// without quoting: its fields come back byte for byte. Appended fields lose any delimiter.
#[test]
fn score_no_quoting_writes_fields_back_unchanged() {
    let m = model();
    let input =
        "\"quoted\" start of a comment\tOFF\nwe will kill them all\tNOT_OFF\nsay \"hi\" to \"everyone\"\tNOT_OFF\n";
    let line = "score --model {} --format tsv --no-header --no-quoting --text-column 0 --explain 3 --quiet";
    let r = rq_stdin(line, &[&m], input.as_bytes());
    r.expect(OK);
    let out = r.out();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    for (got, want) in lines.iter().zip(input.lines()) {
        assert!(got.starts_with(&format!("{want}\t")), "{got:?} keeps {want:?}");
        let fields: Vec<&str> = got.split('\t').collect();
        // text, label, two scores, flagged, flagged_labels, explain, error.
        assert_eq!(fields.len(), 8, "{got:?}");
    }
}

/// A row with more fields than the header (an unquoted comma inside a comment) is kept whole
/// and reported in its error column, not scored on a piece of its text.
#[test]
fn score_reports_rows_with_more_fields_than_the_header() {
    let m = model();
    let input = b"id,text\n1,a calm comment\n2,we will, kill them all\n3,another calm one\n";
    let r = rq_stdin("score --model {}", &[&m], input);
    r.expect(OK);
    let (header, rows) = parse_delimited(&r.stdout, b',');
    assert_eq!(rows.len(), 3, "rows in = rows out");
    assert_eq!(rows[1][..3], [b"2".to_vec(), b"we will".to_vec(), b" kill them all".to_vec()], "fields kept");
    let error = String::from_utf8_lossy(rows[1].last().unwrap()).into_owned();
    assert!(error.contains("the row has 3 fields but the header 2"), "{error}");
    assert_eq!(rows[0].len(), header.len());
    assert!(r.stderr.contains("3 rows in, 3 out:") && r.stderr.contains("; 1 not scored"), "{}", r.stderr);
    assert!(r.stderr.contains("-:3: the row has 3 fields"), "{}", r.stderr);
}
