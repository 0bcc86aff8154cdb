use super::*;
use std::io::Write;

fn file(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::File::create(&p).unwrap().write_all(bytes).unwrap();
    p
}

fn opts(text: &str, labels: &[&str]) -> LabelledOptions {
    LabelledOptions {
        read: ReadOptions::default(),
        text: text.parse().unwrap(),
        labels: labels.iter().map(|l| l.parse().unwrap()).collect(),
        label_names: vec![],
        spec: LabelSpec::default(),
        skip_bad_rows: false,
        group: None,
    }
}

#[test]
fn label_values_table() {
    let default = LabelSpec::default();
    let off = LabelSpec { positive: vec!["OFF".into()], negative: vec![] };
    let strict = LabelSpec { positive: vec!["hate".into(), "abusive".into()], negative: vec!["normal".into()] };
    let cases: &[(&LabelSpec, &str, Option<bool>)] = &[
        (&default, "1", Some(true)),
        (&default, " TRUE ", Some(true)),
        (&default, "yes", Some(true)),
        (&default, "0", Some(false)),
        (&default, "no", Some(false)),
        (&default, "0.9", Some(true)),
        (&default, "0.0", Some(false)),
        // A class number is not a binary label: it needs --positive.
        (&default, "2", None),
        (&default, "-1", None),
        (&default, "1.5", None),
        (&default, "", None),
        (&default, "OFF", None),
        (&default, "NaN", None),
        (&off, "off", Some(true)),
        (&off, "NOT_OFF", Some(false)),
        (&off, "", None),
        (&strict, "Hate", Some(true)),
        (&strict, "abusive", Some(true)),
        (&strict, "normal", Some(false)),
        (&strict, "spam", None),
    ];
    for (spec, raw, want) in cases {
        assert_eq!(spec.parse(raw), *want, "{spec:?} {raw:?}");
    }
}

#[test]
fn csv_with_header_bom_and_quoted_newlines() {
    let dir = tempfile::tempdir().unwrap();
    let p =
        file(&dir, "a.csv", "\u{FEFF}id,text,label\n1,\"line one\nline two, with comma\",1\n2,plain,0\n".as_bytes());
    let data = read_labelled(&[p], &opts("text", &["label"]), &|_| {}).unwrap();
    assert_eq!(data.texts, ["line one\nline two, with comma", "plain"]);
    assert_eq!(data.targets.column(0).to_vec(), [true, false]);
    assert_eq!(data.label_names, ["label"]);
    let mut r = TableReader::open(&dir.path().join("a.csv"), &ReadOptions::default()).unwrap();
    assert_eq!(r.header().unwrap(), ["id", "text", "label"]);
    let row = r.next_row().unwrap().unwrap();
    assert_eq!((row.line, row.lines), (2, 2));
    assert_eq!(r.next_row().unwrap().unwrap().line, 4);
}

#[test]
fn tsv_without_header_or_quoting_by_index() {
    let dir = tempfile::tempdir().unwrap();
    let p = file(&dir, "osact.txt", b"\"quoted\" start of a tweet\tOFF\tHS\nsecond\tNOT_OFF\tNOT_HS\n");
    let mut o = opts("0", &["1", "2"]);
    o.read = ReadOptions { format: Some(Format::Tsv), has_header: false, quoting: false, ..Default::default() };
    o.spec = LabelSpec { positive: vec!["OFF".into(), "HS".into()], negative: vec![] };
    o.label_names = vec!["off".into(), "hs".into()];
    let data = read_labelled(&[p], &o, &|_| {}).unwrap();
    assert_eq!(data.texts[0], "\"quoted\" start of a tweet");
    assert_eq!(data.targets.row(0).to_vec(), [true, true]);
    assert_eq!(data.targets.row(1).to_vec(), [false, false]);
    assert_eq!(data.label_names, ["off", "hs"]);
}

#[test]
fn jsonl_objects_blank_lines_and_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    let p = file(&dir, "c.jsonl", b"{\"text\":\"a\",\"violent\":true}\n\n{\"text\":\"b\",\"violent\":0}\n{not json\n{\"text\":\"c\",\"violent\":\"yes\"}\n");
    let mut o = opts("text", &["violent"]);
    let e = read_labelled(std::slice::from_ref(&p), &o, &|_| {}).unwrap_err().to_string();
    assert!(e.contains("c.jsonl:4:") && e.contains("not valid JSON"), "{e}");
    o.skip_bad_rows = true;
    let data = read_labelled(&[p], &o, &|_| {}).unwrap();
    assert_eq!(data.texts, ["a", "b", "c"]);
    assert_eq!(data.targets.column(0).to_vec(), [true, false, true]);
    assert_eq!(data.rows_read, 4);
    assert_eq!(data.bad_rows.len(), 1);
    assert_eq!(data.bad_rows[0].line, 4);
}

#[test]
fn group_column_is_kept_per_row() {
    let dir = tempfile::tempdir().unwrap();
    let p = file(&dir, "g.csv", b"text,label,lang\na,1,ar\nb,0,en\n");
    let mut o = opts("text", &["label"]);
    o.group = Some("lang".parse().unwrap());
    let data = read_labelled(&[p], &o, &|_| {}).unwrap();
    assert_eq!(data.groups, ["ar", "en"]);
}

#[test]
fn unknown_column_lists_the_columns() {
    let dir = tempfile::tempdir().unwrap();
    let p = file(&dir, "a.csv", b"comment,is_bad\nx,1\n");
    let e = read_labelled(&[p], &opts("text", &["is_bad"]), &|_| {}).unwrap_err().to_string();
    assert!(e.contains("no column named \"text\"") && e.contains("0:\"comment\", 1:\"is_bad\""), "{e}");
}

#[test]
fn unrecognised_label_names_line_value_values_seen_and_hint() {
    let dir = tempfile::tempdir().unwrap();
    let p = file(&dir, "d.csv", b"text,label\na,hate\nb,normal\nc,abusive\nd,normal\n");
    let e = read_labelled(std::slice::from_ref(&p), &opts("text", &["label"]), &|_| {}).unwrap_err().to_string();
    assert!(e.starts_with(&format!("{}:2:2: unrecognised label \"hate\"", p.display())), "{e}");
    assert!(e.contains("\"normal\" ×2") && e.contains("--positive"), "{e}");
    let mut o = opts("text", &["label"]);
    o.spec.positive = vec!["hate".into(), "abusive".into()];
    let data = read_labelled(&[p], &o, &|_| {}).unwrap();
    assert_eq!(data.targets.column(0).to_vec(), [true, false, true, false]);
}

#[test]
fn invalid_utf8_and_missing_fields_are_bad_rows_with_places() {
    let dir = tempfile::tempdir().unwrap();
    let p = file(&dir, "e.csv", b"text,label\nok,1\nbad \xFF byte,0\nshort\nfine,0\n");
    let mut o = opts("text", &["label"]);
    o.skip_bad_rows = true;
    let data = read_labelled(std::slice::from_ref(&p), &o, &|_| {}).unwrap();
    assert_eq!(data.texts, ["ok", "fine"]);
    let places: Vec<(u64, Option<u64>)> = data.bad_rows.iter().map(|b| (b.line, b.column)).collect();
    assert_eq!(places, [(3, Some(1)), (4, Some(2))]);
    assert!(data.bad_rows[0].reason.contains("UTF-8"), "{:?}", data.bad_rows[0]);
    assert!(data.bad_rows[1].to_string().contains("e.csv:4:2: missing label"), "{}", data.bad_rows[1]);
    // Lossy access still gives the scorer something to work with.
    let mut r = TableReader::open(&p, &ReadOptions::default()).unwrap();
    let col = r.column(&"text".parse().unwrap()).unwrap();
    r.next_row();
    let row = r.next_row().unwrap().unwrap();
    assert_eq!(row.text_lossy(&col).unwrap(), "bad \u{FFFD} byte");
}

#[test]
fn format_must_be_known() {
    let dir = tempfile::tempdir().unwrap();
    let p = file(&dir, "x.txt", b"a\tb\n");
    let e = TableReader::open(&p, &ReadOptions::default()).err().unwrap().to_string();
    assert!(e.contains("--format"), "{e}");
    let e = TableReader::open(&dir.path().join("nope.csv"), &ReadOptions::default()).err().unwrap().to_string();
    assert!(e.contains("nope.csv"), "{e}");
}

#[test]
fn positive_value_that_no_row_has_is_an_error_listing_the_values() {
    let dir = tempfile::tempdir().unwrap();
    let p = file(&dir, "o.csv", b"text,label\na,OFF\nb,NOT_OFF\nc,NOT_OFF\n");
    let mut o = opts("text", &["label"]);
    o.spec.positive = vec!["OFFENSIVE".into()];
    let e = read_labelled(std::slice::from_ref(&p), &o, &|_| {}).unwrap_err().to_string();
    assert!(e.contains("--positive \"OFFENSIVE\" matches no value of label column \"label\""), "{e}");
    assert!(e.contains("\"NOT_OFF\" ×2, \"OFF\" ×1"), "{e}");
    // Matched in one of two files is enough; case does not matter.
    let q = file(&dir, "q.csv", b"text,label\nd,offensive\n");
    let data = read_labelled(&[p, q], &o, &|_| {}).unwrap();
    assert_eq!(data.targets.column(0).to_vec(), [false, false, false, true]);
}

#[test]
fn label_values_listed_are_bounded() {
    // A text column given as the label column: the message lists a few values, not all.
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("text,label\n");
    for i in 0..500 {
        csv += &format!("c{i},comment number {i}\n");
    }
    let p = file(&dir, "t.csv", csv.as_bytes());
    let e = read_labelled(&[p], &opts("text", &["label"]), &|_| {}).unwrap_err().to_string();
    assert!(e.contains("… 480 more rows with other values"), "{e}");
    assert!(e.len() < 2000, "{} bytes", e.len());
}

#[test]
fn jsonl_error_column_counts_characters_of_the_line() {
    let dir = tempfile::tempdir().unwrap();
    // The error is at the closing quote's absence: after `{"text": "é` and the rest.
    let p = file(&dir, "c.jsonl", "  {\"text\": \"é\", \"label\": 1,}\n".as_bytes());
    let e = read_labelled(&[p], &opts("text", &["label"]), &|_| {}).unwrap_err().to_string();
    // 2 spaces, then `{"text": "é", "label": 1,` is 25 characters: the `}` is column 28.
    assert!(e.contains("c.jsonl:1:28: not valid JSON: trailing comma"), "{e}");
    assert!(!e.contains("at line") && !e.contains("--positive"), "{e}");
}

#[test]
fn column_list_of_a_huge_header_is_cut_short() {
    let dir = tempfile::tempdir().unwrap();
    let header: Vec<String> = (0..300).map(|i| format!("{}{i}", "x".repeat(100))).collect();
    let p = file(&dir, "wide.csv", (header.join(",") + "\n").as_bytes());
    let r = TableReader::open(&p, &ReadOptions::default()).unwrap();
    let e = r.column(&"text".parse().unwrap()).unwrap_err().to_string();
    assert!(e.contains(&format!("49:\"{}\"…, … 250 more", "x".repeat(60))), "{e}");
    assert!(e.len() < 5000, "{} bytes", e.len());
}
