//! `raqib eval --report FILE.html`: one self-contained page (no external assets): per label the
//! figures, the confusion matrix, and the worst false positives and false negatives.

use crate::eval::{EvalOutput, LabelEval};
use anyhow::Context;
use std::fmt::Write;
use std::path::Path;

/// Escape text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Write the report. Errors: the file cannot be written.
pub fn write_html(path: &Path, out: &EvalOutput, texts: &[String], worst: usize) -> anyhow::Result<()> {
    let mut h = String::new();
    let title = format!("raqib evaluation: {} ({})", out.model.name, out.model.hash);
    let inputs: Vec<String> = out.inputs.iter().map(|p| escape(&p.display().to_string())).collect();
    write!(
        h,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\n<style>{}</style></head><body>\n<h1>{}</h1>\n<p>Data: {} — {} rows read, {} skipped.</p>\n",
        escape(&title),
        STYLE,
        escape(&title),
        inputs.join(", "),
        out.rows_read,
        out.rows_skipped
    )?;
    for l in &out.labels {
        label_section(&mut h, l, texts, worst)?;
    }
    h.push_str("</body></html>\n");
    std::fs::write(path, h).with_context(|| format!("writing the report {}", path.display()))
}

fn label_section(h: &mut String, l: &LabelEval, texts: &[String], worst: usize) -> std::fmt::Result {
    let r = &l.report;
    let f = |x: Option<f64>| x.map_or("n/a".into(), |v| format!("{v:.4}"));
    write!(
        h,
        "<section><h2>{} <small>(column {})</small></h2>\n<p>{} rows, {} positive. ROC AUC <b>{}</b>, PR AUC <b>{}</b>, expected calibration error {:.4}.</p>\n",
        escape(&l.label),
        escape(&l.column),
        r.rows,
        r.positives,
        f(r.roc_auc),
        f(r.pr_auc),
        r.expected_calibration_error
    )?;
    h.push_str("<table><tr><th>threshold</th><th>precision</th><th>recall</th><th>F1</th><th>FPR</th><th>TP</th><th>FP</th><th>TN</th><th>FN</th></tr>\n");
    for t in std::iter::once(&r.at_model_threshold).chain(&r.at_thresholds) {
        let name = t.threshold.map_or("model (per label)".to_string(), |v| format!("{v:.4}"));
        let c = t.confusion;
        writeln!(
            h,
            "<tr><td>{}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&name),
            t.precision,
            t.recall,
            t.f1,
            t.false_positive_rate,
            c.tp,
            c.fp,
            c.tn,
            c.fn_
        )?;
    }
    h.push_str("</table>\n");
    // Worst errors: negatives scored highest, positives scored lowest.
    let mut fp: Vec<usize> = (0..l.truth.len()).filter(|&i| !l.truth[i]).collect();
    fp.sort_by(|&a, &b| l.probs[b].total_cmp(&l.probs[a]));
    let mut fn_: Vec<usize> = (0..l.truth.len()).filter(|&i| l.truth[i]).collect();
    fn_.sort_by(|&a, &b| l.probs[a].total_cmp(&l.probs[b]));
    for (title, rows) in [("Worst false positives (negatives scored highest)", &fp), ("Worst false negatives (positives scored lowest)", &fn_)] {
        write!(h, "<h3>{title}</h3>\n<table class=\"errors\"><tr><th>score</th><th>flagged</th><th>text</th></tr>\n")?;
        for &i in rows.iter().take(worst) {
            writeln!(
                h,
                "<tr><td>{:.4}</td><td>{}</td><td dir=\"auto\">{}</td></tr>",
                l.probs[i],
                if l.predicted[i] { "yes" } else { "no" },
                escape(texts.get(i).map_or("", |t| t.as_str()))
            )?;
        }
        h.push_str("</table>\n");
    }
    h.push_str("</section>\n");
    Ok(())
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;max-width:72em}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .5em;text-align:right}\
table.errors td:last-child{text-align:start;max-width:50em}section{margin-bottom:3em}small{color:#666}";
