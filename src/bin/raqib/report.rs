//! `raqib eval --report FILE.html`: one self-contained page (no scripts, fonts, images or links
//! to fetch): per label the figures, the confusion matrix, inline SVG charts (ROC curve,
//! precision-recall curve, score histograms per class, reliability diagram) and the worst false
//! positives and false negatives.
//!
//! The charts are drawn by plotters' SVG backend without a font backend: it estimates text sizes
//! for the layout and writes `<text>` elements that the browser draws with its own fonts, so
//! nothing depends on the fonts of the machine that writes the report.

use crate::eval::{EvalOutput, LabelEval};
use anyhow::Context;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use raqib::eval::{pr_curve, roc_curve};
use std::fmt::Write;
use std::path::Path;

/// Most points drawn for one curve: more cannot be told apart at this size and only make the
/// page heavier (a curve from a million rows has up to a million points).
pub const MAX_CURVE_POINTS: usize = 500;
const HISTOGRAM_BINS: usize = 20;
const CHART_SIZE: (u32, u32) = (380, 320);

const CURVE: RGBColor = RGBColor(31, 119, 180);
const NEGATIVE: RGBColor = RGBColor(31, 119, 180);
const POSITIVE: RGBColor = RGBColor(214, 39, 40);
const REFERENCE: RGBColor = RGBColor(140, 140, 140);

type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;
type DrawResult = Result<(), DrawingAreaErrorKind<std::io::Error>>;

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

fn label_section(h: &mut String, l: &LabelEval, texts: &[String], worst: usize) -> anyhow::Result<()> {
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
    charts(h, l)?;
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
    for (title, rows) in [
        ("Worst false positives (negatives scored highest)", &fp),
        ("Worst false negatives (positives scored lowest)", &fn_),
    ] {
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

/// The four charts of a label, side by side (wrapping on narrow screens), each with a caption.
fn charts(h: &mut String, l: &LabelEval) -> anyhow::Result<()> {
    let r = &l.report;
    let negatives = r.rows - r.positives;
    h.push_str("<div class=\"charts\">\n");
    let mut figure = |svg: String, caption: String| {
        let _ = writeln!(h, "<figure>{svg}<figcaption>{}</figcaption></figure>", escape(&caption));
    };
    let point = match r.at_model_threshold.threshold {
        Some(t) => format!("the dot is the model's threshold {t:.3}"),
        None => "the dot is the model's decisions (a threshold per label)".into(),
    };
    match r.roc_auc {
        Some(auc) => figure(roc_chart(l)?, format!("ROC curve, area {auc:.4}; the diagonal is chance, {point}.")),
        None => figure(
            String::new(),
            format!(
                "No ROC curve: the data has {} positive and {negatives} negative rows, it needs both.",
                r.positives
            ),
        ),
    }
    match r.pr_auc {
        Some(ap) => figure(
            pr_chart(l)?,
            format!("Precision-recall curve, average precision {ap:.4}; the dashed line is the share of positives, {point}."),
        ),
        None => figure(String::new(), "No precision-recall curve: the data has no positive rows.".into()),
    }
    figure(
        histogram_chart(l)?,
        format!(
            "Scores of the {} positive and {negatives} negative rows in {HISTOGRAM_BINS} bins, each class as a share of its rows.",
            r.positives
        ),
    );
    figure(
        reliability_chart(l)?,
        format!(
            "Reliability: the share of positives against the mean predicted probability per bin of {} (empty bins left out); expected calibration error {:.4}.",
            r.reliability.len(),
            r.expected_calibration_error
        ),
    );
    h.push_str("</div>\n");
    Ok(())
}

fn roc_chart(l: &LabelEval) -> anyhow::Result<String> {
    let curve = downsample(&roc_curve(&l.probs, &l.truth), MAX_CURVE_POINTS);
    let at = &l.report.at_model_threshold;
    let operating = (at.false_positive_rate, at.recall);
    svg_chart(&format!("ROC curve of {}", l.label), "false positive rate", "true positive rate", 1.0, None, |c| {
        c.draw_series(LineSeries::new([(0.0, 0.0), (1.0, 1.0)], REFERENCE.stroke_width(1)))?;
        c.draw_series(LineSeries::new(curve, CURVE.stroke_width(2)))?;
        c.draw_series(std::iter::once(Circle::new(operating, 4, BLACK.filled())))?;
        Ok(())
    })
}

fn pr_chart(l: &LabelEval) -> anyhow::Result<String> {
    let curve = downsample(&pr_curve(&l.probs, &l.truth), MAX_CURVE_POINTS);
    let r = &l.report;
    let share = r.positives as f64 / r.rows.max(1) as f64;
    let operating = (r.at_model_threshold.recall, r.at_model_threshold.precision);
    svg_chart(&format!("Precision-recall curve of {}", l.label), "recall", "precision", 1.0, None, |c| {
        c.draw_series(DashedLineSeries::new([(0.0, share), (1.0, share)], 6, 4, REFERENCE.stroke_width(1)))?;
        c.draw_series(LineSeries::new(curve, CURVE.stroke_width(2)))?;
        c.draw_series(std::iter::once(Circle::new(operating, 4, BLACK.filled())))?;
        Ok(())
    })
}

/// Share of `class`'s rows in each of `HISTOGRAM_BINS` equal bins of [0, 1], and the row count.
fn class_histogram(probs: &[f64], truth: &[bool], class: bool) -> (Vec<f64>, u64) {
    let mut counts = [0u64; HISTOGRAM_BINS];
    for (&p, _) in probs.iter().zip(truth).filter(|(_, &y)| y == class) {
        let bin = ((p.clamp(0.0, 1.0) * HISTOGRAM_BINS as f64) as usize).min(HISTOGRAM_BINS - 1);
        counts[bin] += 1;
    }
    let total: u64 = counts.iter().sum();
    let shares = counts.iter().map(|&c| c as f64 / total.max(1) as f64).collect();
    (shares, total)
}

fn histogram_chart(l: &LabelEval) -> anyhow::Result<String> {
    let classes = [
        (class_histogram(&l.probs, &l.truth, false), NEGATIVE, "negatives"),
        (class_histogram(&l.probs, &l.truth, true), POSITIVE, "positives"),
    ];
    let top = classes.iter().flat_map(|((shares, _), _, _)| shares.iter().copied()).fold(0.0, f64::max);
    // Room above the highest bar for the legend.
    let y_max = (top * 1.3).clamp(0.1, 1.0);
    let threshold = l.report.at_model_threshold.threshold;
    svg_chart(
        &format!("Score histograms of {}", l.label),
        "score",
        "share of the class",
        y_max,
        Some(SeriesLabelPosition::UpperMiddle),
        |c| {
            let width = 1.0 / HISTOGRAM_BINS as f64;
            for ((shares, n), color, name) in classes {
                // Translucent, so that where the classes overlap both stay visible.
                let fill = color.mix(0.45).filled();
                c.draw_series(shares.iter().enumerate().filter(|(_, &s)| s > 0.0).map(|(b, &s)| {
                    let x = b as f64 * width;
                    Rectangle::new([(x, 0.0), (x + width, s)], fill)
                }))?
                .label(format!("{name} ({n})"))
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], fill));
            }
            if let Some(t) = threshold {
                c.draw_series(LineSeries::new([(t, 0.0), (t, y_max)], BLACK.stroke_width(1)))?
                    .label(format!("threshold {t:.3}"))
                    .legend(|(x, y)| PathElement::new([(x, y), (x + 12, y)], BLACK));
            }
            Ok(())
        },
    )
}

fn reliability_chart(l: &LabelEval) -> anyhow::Result<String> {
    let points: Vec<(f64, f64)> =
        l.report.reliability.iter().filter(|b| b.count > 0).map(|b| (b.mean_predicted, b.fraction_positive)).collect();
    svg_chart(
        &format!("Reliability diagram of {}", l.label),
        "mean predicted probability",
        "share of positives",
        1.0,
        None,
        |c| {
            c.draw_series(LineSeries::new([(0.0, 0.0), (1.0, 1.0)], REFERENCE.stroke_width(1)))?;
            c.draw_series(LineSeries::new(points.iter().copied(), CURVE.stroke_width(2)))?;
            c.draw_series(points.iter().map(|&p| Circle::new(p, 3, CURVE.filled())))?;
            Ok(())
        },
    )
}

/// One chart over [0, 1] × [0, `y_max`] as an inline `<svg>` element; `draw` adds the series,
/// and a legend of the series it labelled is drawn at `legend` when given.
fn svg_chart(
    label: &str,
    x_desc: &str,
    y_desc: &str,
    y_max: f64,
    legend: Option<SeriesLabelPosition>,
    draw: impl FnOnce(&mut Chart<'_, '_>) -> DrawResult,
) -> anyhow::Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, CHART_SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(48)
            .build_cartesian_2d(0f64..1f64, 0f64..y_max)?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .x_labels(6)
            .y_labels(6)
            .x_label_formatter(&|v| format!("{v:.1}"))
            .y_label_formatter(&|v| format!("{v:.2}"))
            .label_style(("sans-serif", 12))
            .axis_desc_style(("sans-serif", 13))
            .bold_line_style(BLACK.mix(0.08))
            .light_line_style(TRANSPARENT)
            .draw()?;
        draw(&mut chart)?;
        if let Some(position) = legend {
            chart
                .configure_series_labels()
                .position(position)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK.mix(0.3))
                .label_font(("sans-serif", 12))
                .draw()?;
        }
        root.present()?;
    }
    // Inline SVG in HTML takes its namespace from the parser: without the declaration the page
    // holds no URL at all, and `role`/`aria-label` name the chart for screen readers.
    let named = format!(" role=\"img\" aria-label=\"{}\"", escape(label));
    Ok(svg.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", &named, 1))
}

/// At most `max` (≥ 2) points of a curve, its first and last kept. Points within a small step
/// of the last kept one go first, which keeps the shape of a monotone curve such as the ROC
/// (its length is at most 2, so `max` steps of 2/`max` cover it); a curve that zigzags (a
/// precision-recall curve over many ties) is then thinned to an even stride.
pub fn downsample(points: &[(f64, f64)], max: usize) -> Vec<(f64, f64)> {
    let max = max.max(2);
    if points.len() <= max {
        return points.to_vec();
    }
    let step = 2.0 / max as f64;
    let last = points[points.len() - 1];
    let mut kept = vec![points[0]];
    for &p in &points[1..points.len() - 1] {
        let k = kept[kept.len() - 1];
        if (p.0 - k.0).abs() + (p.1 - k.1).abs() >= step {
            kept.push(p);
        }
    }
    kept.push(last);
    if kept.len() <= max {
        return kept;
    }
    let n = kept.len();
    (0..max).map(|i| kept[i * (n - 1) / (max - 1)]).collect()
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;max-width:80em}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .5em;text-align:right}\
table.errors td:last-child{text-align:start;max-width:50em}section{margin-bottom:3em}small{color:#666}\
.charts{display:flex;flex-wrap:wrap;gap:1em;margin:1em 0}figure{margin:0;width:380px;max-width:100%}\
figure svg{width:100%;height:auto;border:1px solid #eee}figcaption{font-size:.85em;color:#444}";

#[cfg(test)]
mod tests {
    use super::*;
    use raqib::eval::binary_report;

    fn label(probs: Vec<f64>, truth: Vec<bool>, threshold: f64) -> LabelEval {
        let predicted: Vec<bool> = probs.iter().map(|&p| p >= threshold).collect();
        let report = binary_report(&probs, &predicted, &truth, Some(threshold), &[], 10);
        LabelEval { label: "violence".into(), column: "violence".into(), report, probs, truth, predicted }
    }

    #[test]
    fn downsample_keeps_the_ends_and_the_bound() {
        let short = [(0.0, 0.0), (0.5, 0.7), (1.0, 1.0)];
        assert_eq!(downsample(&short, 500), short);
        // A monotone staircase of 10,000 points, like a ROC curve.
        let stairs: Vec<(f64, f64)> = (0..=10_000)
            .map(|i| (i as f64 / 10_000.0, ((i as f64 / 10_000.0).sqrt() * 100.0).floor() / 100.0))
            .collect();
        let d = downsample(&stairs, 500);
        assert!(d.len() <= 500 && d.len() > 100, "{}", d.len());
        assert_eq!((d[0], d[d.len() - 1]), (stairs[0], stairs[10_000]));
        assert!(d.windows(2).all(|w| w[0].0 <= w[1].0), "order kept");
        // A zigzag whose length defeats the distance rule still ends at the bound.
        let zigzag: Vec<(f64, f64)> = (0..5_000).map(|i| (i as f64 / 4_999.0, (i % 2) as f64)).collect();
        let d = downsample(&zigzag, 500);
        assert_eq!(d.len(), 500);
        assert_eq!((d[0], d[499]), (zigzag[0], zigzag[4_999]));
    }

    /// Plotters' SVG backend without a font backend must still lay out and write the text:
    /// CI machines have no system fonts.
    #[test]
    fn charts_draw_text_without_fonts_and_without_urls() {
        let l = label(vec![0.9, 0.8, 0.35, 0.3, 0.2, 0.1], vec![true, false, true, false, false, false], 0.5);
        let mut h = String::new();
        charts(&mut h, &l).unwrap();
        assert_eq!(h.matches("<svg").count(), 4, "{h}");
        assert!(h.contains("<text") && h.contains("false positive rate"), "{h}");
        assert!(h.contains("<polyline") && h.contains("<rect"), "{h}");
        assert!(!h.contains("http"), "no namespace URL or other link: {h}");
    }

    #[test]
    fn a_label_without_positives_gets_notes_instead_of_curves() {
        let l = label(vec![0.9, 0.1, 0.4], vec![false, false, false], 0.5);
        let mut h = String::new();
        label_section(&mut h, &l, &["a".into(), "b".into(), "c".into()], 5).unwrap();
        assert!(h.contains("No ROC curve") && h.contains("No precision-recall curve"), "{h}");
        // The histogram and the reliability diagram are still drawn.
        assert_eq!(h.matches("<svg").count(), 2, "{h}");
    }
}
