//! `raqib train`: every input format, labels, cross-validation, and the real files of ../shared.

use super::*;
use serde_json::json;
use std::path::PathBuf;

// train

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

/// Regression: `train`, `eval` and `explain` printed with `println!`, which panics when stdout is
/// a pipe already closed by its reader (`raqib train … | head -1`). A closed pipe is success.
#[test]
fn summaries_into_a_closed_pipe_are_not_errors() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "c.csv", corpus_csv());
    let out = dir.path().join("m.raqib");
    let commands = [
        format!("train --data '{}' --out '{}' {FAST}", s(&data), s(&out)),
        format!("eval --model '{}' --data '{}' --label-column label=violence -q", model(), s(&data)),
        format!("explain --model '{}' 'we will kill them all'", model()),
    ];
    for cmd in commands {
        // `true` exits without reading: every write raqib makes meets a closed pipe.
        let output = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!("set -o pipefail; '{}' {cmd} | true", env!("CARGO_BIN_EXE_raqib")))
            .env("RUST_BACKTRACE", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{cmd}: {:?}\n{stderr}", output.status);
        no_panic(&stderr);
    }
}
