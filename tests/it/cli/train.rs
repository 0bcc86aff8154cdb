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
    let mut piped = String::from("label|text\n"); // another delimiter, a name that tells no format
    for (i, (t, y)) in rows.iter().enumerate() {
        csv += &format!("{i},{},{}\n", csv_field(t), if *y { "yes" } else { "no" });
        tsv += &format!("{}\t{t}\n", if *y { "VIOLENT" } else { "OK" });
        jsonl += &(json!({"id": i, "comment": t, "violent": y}).to_string() + "\n");
        piped += &format!("{}|{t}\n", u8::from(*y));
    }
    let cases = [
        (write(dir.path(), "c.csv", &csv), ""),
        (
            write(dir.path(), "c.tab", &tsv),
            "--no-header --text-column 1 --label-column 0 --positive VIOLENT --label-name violence",
        ),
        (write(dir.path(), "c.jsonl", &jsonl), "--text-column comment --label-column violent"),
        (write(dir.path(), "c.txt", &piped), "--format csv --delimiter |"),
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

/// `--keep-repeats` trains character n-grams that keep doubled letters; by default a stretched
/// word scores as the word itself.
#[test]
fn keep_repeats_is_saved_in_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("text,label\n");
    for (t, y) in corpus() {
        csv += &format!("{},{}\n", csv_field(&t), u8::from(y));
    }
    let data = write(dir.path(), "c.csv", &csv);
    let mut gaps = Vec::new();
    for (flag, squeezed) in [("", true), ("--keep-repeats", false)] {
        let out = dir.path().join(format!("m{squeezed}.raqib"));
        rq(&format!("train --data {{}} --out {{}} --min-df 1 {FAST} {flag}"), &[s(&data), s(&out)]).expect(OK);
        let model = raqib::Model::load(&out).unwrap();
        assert_eq!(model.featurizer().config().squeeze_repeats, squeezed, "{flag:?}");
        let p = |t: &str| model.score(t).labels[0].probability;
        // Only the word n-grams of the stretched word ("kiill" after normalisation) still differ.
        gaps.push((p("we will kill them all") - p("we will kiiiiill them all")).abs());
    }
    assert!(gaps[0] < gaps[1], "squeezed {} vs kept {}", gaps[0], gaps[1]);
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

/// The summary on stdout names rows, positives per label, iterations, time, and the validation
/// figures (ROC/PR AUC, P/R/F1 at the chosen threshold); `--validation` sets the held-out share
/// (stratified: the same share of positives) and `--cv` uses every row out of fold.
#[test]
fn train_summary_validation_fraction_and_cv() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "c.csv", corpus_csv());
    let (n, positives) = (corpus().len(), corpus().iter().filter(|(_, y)| *y).count());
    let validation_of = |flags: &str| {
        let out = dir.path().join("v.raqib");
        let r = rq(&format!("train --data {{}} --out {{}} --min-df 1 {FAST} {flags}"), &[s(&data), s(&out)]);
        r.expect(OK);
        let report = read_json(&report_of(&out));
        let v = report["training"]["labels"][0]["validation"].clone();
        (r.out(), report["training"]["params"]["validation"].clone(), v)
    };
    let (summary, params, v) = validation_of("--validation 0.25");
    assert_eq!(params, json!({"kind": "holdout", "fraction": 0.25}));
    let (rows, pos) = (v["rows"].as_u64().unwrap() as f64, v["positives"].as_u64().unwrap() as f64);
    assert!((rows - 0.25 * n as f64).abs() <= 1.0, "{rows} of {n} held out");
    assert!((pos - 0.25 * positives as f64).abs() <= 1.0, "{pos} of {positives} positives held out");
    let lines: Vec<&str> = summary.lines().collect();
    let first = format!("trained {} on {n} rows (", s(&dir.path().join("v.raqib")));
    assert!(lines[0].starts_with(&first) && lines[0].contains("s (featurise "), "{summary}");
    let label = format!("  label: {positives} positive / {} negative; ", n - positives);
    assert!(lines[1].starts_with(&label) && lines[1].contains(" Newton iterations"), "{summary}");
    let figures = format!("    validation ({rows} rows, {pos} positive): ROC AUC ");
    assert!(lines[2].starts_with(&figures), "{summary}");
    for part in [", PR AUC ", "; at threshold ", ": precision ", ", recall ", ", F1 ", "; ECE "] {
        assert!(lines[2].contains(part), "{part:?} in {}", lines[2]);
    }
    assert!(lines.last().unwrap().contains(&format!("report {}", s(&report_of(&dir.path().join("v.raqib"))))));
    // A smaller share holds out fewer rows.
    let (_, _, small) = validation_of("--validation 0.1");
    assert!(small["rows"].as_u64().unwrap() < rows as u64, "{small}");
    // Cross-validation: every row is scored out of fold.
    let (summary, params, v) = validation_of("--cv 4");
    assert_eq!(params, json!({"kind": "cross_validation", "folds": 4}));
    assert_eq!((v["rows"].as_u64(), v["positives"].as_u64()), (Some(n as u64), Some(positives as u64)));
    assert!(summary.contains(&format!("validation ({n} rows, {positives} positive)")), "{summary}");
}

/// `script` (util-linux) runs a command on a pseudo-terminal; its output is what the terminal
/// shows. `None`, with a note, where it is not installed.
pub(super) fn on_terminal(args: &[&str], env: &[(&str, &str)]) -> Option<String> {
    let quoted: Vec<String> = std::iter::once(env!("CARGO_BIN_EXE_raqib"))
        .chain(args.iter().copied())
        .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
        .collect();
    let mut cmd = std::process::Command::new("script");
    cmd.args(["-qec", &quoted.join(" "), "/dev/null"]).env_remove("NO_COLOR").env("TERM", "xterm");
    for (k, v) in env {
        cmd.env(k, v);
    }
    match cmd.output() {
        Ok(out) if out.status.success() => Some(String::from_utf8_lossy(&out.stdout).into_owned()),
        Ok(out) => panic!("script {args:?}: {:?}\n{}", out.status, String::from_utf8_lossy(&out.stdout)),
        Err(e) => {
            eprintln!("note: cannot run `script` ({e}): terminal behaviour not checked");
            None
        }
    }
}

/// Progress bars (read, featurise, optimise) are drawn on a terminal only, and not with
/// `--quiet`; when stderr is a pipe, as here, nothing but the summary is printed.
#[test]
fn progress_bars_only_on_a_terminal_without_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "c.csv", corpus_csv());
    let out = dir.path().join("m.raqib");
    let flags = ["--bits", "16", "--char-ngrams", "3-4", "--word-ngrams", "1", "--min-df", "1"];
    let mut args = vec!["train", "--data", s(&data), "--out", s(&out)];
    args.extend(flags);
    let piped = run_with(raqib().args(&args));
    piped.expect(OK);
    assert_eq!(piped.stderr, "", "no progress output into a pipe");
    let Some(shown) = on_terminal(&args, &[]) else { return };
    for stage in ["reading", "featurise [", "optimise ["] {
        assert!(shown.contains(stage), "{stage:?} bar on the terminal:\n{shown}");
    }
    args.push("--quiet");
    let Some(quiet) = on_terminal(&args, &[]) else { return };
    assert!(!quiet.contains("featurise [") && !quiet.contains('\x1b'), "--quiet:\n{quiet}");
    assert!(quiet.contains("trained "), "the summary still shows:\n{quiet}");
}

/// The root of the public datasets: `RAQIB_DATASETS`, else `../shared/datasets`.
fn datasets() -> PathBuf {
    std::env::var_os("RAQIB_DATASETS")
        .map_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/datasets")), PathBuf::from)
}

/// `train` on a real file of `../shared/datasets/raw/`, with flags only. Skipped with a note
/// when the folder is absent (a fresh clone has none); `RAQIB_DATASETS` points elsewhere.
/// Returns the training report.
fn train_real(file: &str, flags: &str, rows: usize) -> Option<serde_json::Value> {
    let data = datasets().join("raw").join(file);
    if !data.is_file() {
        eprintln!("note: {} absent, skipping", data.display());
        return None;
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
    Some(report)
}

#[test]
fn train_real_osact_tsv_without_header_or_quoting() {
    train_real(
        "osact2020_osact4/OSACT2020-sharedTask-train.txt",
        "--format tsv --no-header --no-quoting --text-column 0 --label-column 1 --positive OFF",
        7000,
    );
}

/// The same file read with quoting on (forgetting --no-quoting): a tweet with a quote in the
/// middle of its text stops the reading at its line, and the message says what to pass.
#[test]
fn train_real_osact_with_quoting_points_to_no_quoting() {
    let data = datasets().join("raw/osact2020_osact4/OSACT2020-sharedTask-train.txt");
    if !data.is_file() {
        eprintln!("note: {} absent, skipping", data.display());
        return;
    }
    let line = "train --data {} --out x.raqib --format tsv --no-header --text-column 0 --label-column 1 --positive OFF";
    let r = rq(line, &[s(&data)]);
    fails(&r, INPUT, &["OSACT2020-sharedTask-train.txt:", "malformed TSV: unbalanced quote", "--no-quoting"]);
}

/// Several label columns of one real file make a multi-label model (OSACT 2022: id, text, OFF,
/// HS1-6, VLG, VIO; no header, no quoting).
#[test]
fn train_real_osact2022_multi_label() {
    let flags = "--format tsv --no-header --no-quoting --text-column 1 --label-column 2 --label-column 5 \
                 --label-name offensive --label-name violence --positive OFF --positive VIO";
    let Some(report) = train_real("osact2022_osact5/OSACT2022-sharedTask-train.txt", flags, 8887) else { return };
    let labels = report["training"]["labels"].as_array().unwrap();
    let counts: Vec<(&str, u64)> =
        labels.iter().map(|l| (l["name"].as_str().unwrap(), l["positives"].as_u64().unwrap())).collect();
    assert_eq!(counts, [("offensive", 3172), ("violence", 61)]);
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
