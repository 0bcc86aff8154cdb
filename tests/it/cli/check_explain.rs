//! `raqib check`, `explain`, `completions` and `--help`.

use super::*;
use crate::harness::fixture_model;
use serde_json::json;

// check, explain

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
    // Automatic colour: none into a pipe (this run), colour on a terminal unless NO_COLOR.
    let r = run_with(raqib().env_remove("NO_COLOR").args(["explain", "--model", &m, kill]));
    r.expect(OK);
    assert!(!r.out().contains('\x1b') && r.out().contains("[[ill]]"), "{}", r.out());
    let args = ["explain", "--model", &m, kill];
    if let Some(shown) = super::train::on_terminal(&args, &[]) {
        assert!(shown.contains("\x1b[1;31mill\x1b[0m"), "colour on a terminal:\n{shown}");
    }
    if let Some(shown) = super::train::on_terminal(&args, &[("NO_COLOR", "1")]) {
        assert!(!shown.contains('\x1b') && shown.contains("[[ill]]"), "NO_COLOR:\n{shown}");
    }
    let arabic = "اللهم انصر جنود الخلافة واقتلوهم";
    let r = rq_stdin("explain --model {} --json", &[&m], arabic.as_bytes());
    r.expect(OK);
    assert_eq!(r.json()["flagged"], true);
}

// completions, help

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
    assert!(r.out().contains("Examples:\n  raqib check "), "raqib --help has examples:\n{}", r.out());
    for sub in ["train", "score", "eval", "explain", "check", "serve", "completions"] {
        let r = rq("{} --help", &[sub]);
        r.expect(OK);
        let help = r.out();
        if sub != "completions" && sub != "serve" {
            assert!(help.contains("Examples:\n"), "{sub} --help has examples:\n{help}");
        }
        // The exit codes close every subcommand's help, after its examples.
        let codes = help.find("Exit codes:\n  0  success").unwrap_or_else(|| panic!("{sub}: exit codes:\n{help}"));
        assert!(help.find("Examples:").is_none_or(|e| e < codes), "{sub}: examples first");
    }
    // No subcommand: usage on stderr, exit 2.
    let r = rq("", &[]);
    r.expect(INPUT);
    assert!(r.stderr.contains("Usage:"), "{}", r.stderr);
}

/// Without `--model` (and without RAQIB_MODEL) every subcommand uses the model compiled into
/// the binary: the same hash, the same scores as the library's embedded default.
#[test]
fn without_model_every_subcommand_uses_the_embedded_default() {
    let embedded = raqib::model::embedded_default().unwrap();
    let text = "we will kill them all";
    let want = embedded.score(text);
    let violence = embedded.label_names().position(|n| n == "violence").expect("a violence label");
    let r = rq("check {}", &[text]);
    assert!(r.code == OK || r.code == FLAGGED, "{}", r.stderr);
    assert_eq!(r.json()["model"]["hash"], embedded.hash());
    close(&r.json()["labels"]["violence"]["score"], want.labels[violence].probability);
    let r = rq("explain --json {}", &[text]);
    r.expect(OK);
    close(&r.json()["labels"]["violence"]["score"], want.labels[violence].probability);
    let r = rq_stdin("score --quiet", &[], format!("text\n{text}\n").as_bytes());
    r.expect(OK);
    let out = r.out();
    let (header, row) = (out.lines().next().unwrap(), out.lines().nth(1).unwrap());
    let k = header.split(',').position(|c| c == "score_violence").unwrap();
    let got: f64 = row.split(',').nth(k).unwrap().parse().unwrap();
    assert!((got - want.labels[violence].probability).abs() < 1e-6, "{row}");
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.csv", format!("text,violence\n{text},1\nthe weather is nice,0\n"));
    let r = rq("eval --data {} --json", &[s(&data)]);
    r.expect(OK);
    assert_eq!(r.json()["model"]["hash"], embedded.hash());
    // RAQIB_MODEL stands for --model.
    let r = run_with(raqib().env("RAQIB_MODEL", fixture_model()).args(["check", text]));
    assert_eq!(r.json()["model"]["hash"], "6a91a30c3b4f1752");
}
