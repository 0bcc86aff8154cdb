//! `raqib eval`: figures worked by hand, label mapping, JSON and the HTML report.

use super::*;
use serde_json::json;

// eval

/// Four rows whose fixture-model scores are in tests/fixtures/model-v1.scores.txt, so every
/// figure can be worked out by hand.
const HAND: &str = "text,violence,extremism\n\
we will kill them all,1,0\n\
\"the weather is nice, coffee and family\",0,0\n\
ISIS داعش caliphate الخلافة 2024,1,1\n\
🔪🔪🔪,0,0\n";

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
    // Worst errors, per label: --worst 5 of each kind, highest-scored negatives first.
    // (extremism has a single positive row, so a single false negative to list).
    for (title, counts) in [("Worst false positives", [5, 5]), ("Worst false negatives", [5, 1])] {
        let tables: Vec<&str> = html.split(title).skip(1).map(|t| t.split("</table>").next().unwrap()).collect();
        assert_eq!(tables.len(), 2, "{title} for each label");
        for (t, count) in tables.into_iter().zip(counts) {
            assert_eq!(t.matches("<tr><td>").count(), count, "{title}: {t}");
            let scores: Vec<f64> =
                t.split("<tr><td>").skip(1).map(|r| r.split("</td>").next().unwrap().parse().unwrap()).collect();
            let ordered = if title.contains("positives") {
                scores.windows(2).all(|w| w[0] >= w[1])
            } else {
                scores.windows(2).all(|w| w[0] <= w[1])
            };
            assert!(ordered, "{title}: {scores:?}");
        }
    }
    // Worst errors: the Arabic false negative is listed, escaped, its direction automatic.
    let row = "<td dir=\"auto\">سنحرق السوق &lt;b&gt;كلها&lt;/b&gt; &amp; more</td>";
    assert!(html.contains(row), "escaped RTL text in the worst errors");
}
