//! Metrics for binary scores: ROC AUC, PR AUC (average precision), confusion matrices,
//! threshold choice (best F1 or a minimum precision), calibration error.
//!
//! Written here rather than taken from linfa 0.8.1, whose `ConfusionMatrix::precision` and
//! `recall` are swapped for binary problems (a regression test pins ours against hand counts).

use serde::{Deserialize, Serialize};

/// Counts at one threshold (score ≥ threshold ⇒ predicted positive).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confusion {
    pub tp: u64,
    pub fp: u64,
    pub tn: u64,
    #[serde(rename = "fn")]
    pub fn_: u64,
}

impl Confusion {
    pub fn at(scores: &[f64], labels: &[bool], threshold: f64) -> Self {
        let mut c = Confusion::default();
        for (&s, &y) in scores.iter().zip(labels) {
            match (s >= threshold, y) {
                (true, true) => c.tp += 1,
                (true, false) => c.fp += 1,
                (false, false) => c.tn += 1,
                (false, true) => c.fn_ += 1,
            }
        }
        c
    }
    /// tp / (tp + fp); 1 when nothing is predicted positive (no false alarms were raised).
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp, 1.0)
    }
    /// tp / (tp + fn); 0 when there are no positives.
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_, 0.0)
    }
    pub fn f1(&self) -> f64 {
        ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn_, 0.0)
    }
    /// fp / (fp + tn).
    pub fn false_positive_rate(&self) -> f64 {
        ratio(self.fp, self.fp + self.tn, 0.0)
    }
}

fn ratio(a: u64, b: u64, empty: f64) -> f64 {
    if b == 0 {
        empty
    } else {
        a as f64 / b as f64
    }
}

/// Indices sorted by score, highest first (NaN last), ties in input order.
fn order_desc(scores: &[f64]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    idx
}

/// One point per distinct score, from the highest: (score, cumulative tp, cumulative fp).
fn cumulative(scores: &[f64], labels: &[bool]) -> Vec<(f64, u64, u64)> {
    let order = order_desc(scores);
    let mut out: Vec<(f64, u64, u64)> = Vec::new();
    let (mut tp, mut fp) = (0, 0);
    for (k, &i) in order.iter().enumerate() {
        if labels[i] {
            tp += 1;
        } else {
            fp += 1;
        }
        let last_of_tie = order.get(k + 1).is_none_or(|&j| scores[j] != scores[i]);
        if last_of_tie {
            out.push((scores[i], tp, fp));
        }
    }
    out
}

/// Area under the ROC curve (ties count one half). `None` if either class is absent.
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let points = cumulative(scores, labels);
    let &(_, p, n) = points.last()?;
    if p == 0 || n == 0 {
        return None;
    }
    let (mut area, mut prev_tp, mut prev_fp) = (0.0, 0u64, 0u64);
    for &(_, tp, fp) in &points {
        area += (fp - prev_fp) as f64 * (tp + prev_tp) as f64 / 2.0;
        prev_tp = tp;
        prev_fp = fp;
    }
    Some(area / (p as f64 * n as f64))
}

/// Average precision (area under the precision-recall curve, step-wise, as scikit-learn).
/// `None` if there are no positives.
pub fn average_precision(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let points = cumulative(scores, labels);
    let &(_, p, _) = points.last()?;
    if p == 0 {
        return None;
    }
    let (mut ap, mut prev_recall) = (0.0, 0.0);
    for &(_, tp, fp) in &points {
        let recall = tp as f64 / p as f64;
        ap += (recall - prev_recall) * tp as f64 / (tp + fp) as f64;
        prev_recall = recall;
    }
    Some(ap)
}

/// ROC curve points (false positive rate, true positive rate), from (0,0) to (1,1).
pub fn roc_curve(scores: &[f64], labels: &[bool]) -> Vec<(f64, f64)> {
    let points = cumulative(scores, labels);
    let Some(&(_, p, n)) = points.last() else { return vec![] };
    let mut out = vec![(0.0, 0.0)];
    out.extend(points.iter().map(|&(_, tp, fp)| (ratio(fp, n, 0.0), ratio(tp, p, 0.0))));
    out
}

/// Precision-recall curve points (recall, precision), by decreasing threshold.
pub fn pr_curve(scores: &[f64], labels: &[bool]) -> Vec<(f64, f64)> {
    let points = cumulative(scores, labels);
    let Some(&(_, p, _)) = points.last() else { return vec![] };
    points.iter().map(|&(_, tp, fp)| (ratio(tp, p, 0.0), ratio(tp, tp + fp, 1.0))).collect()
}

/// A chosen decision threshold and what it gives on the data it was chosen on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ThresholdChoice {
    pub threshold: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// Candidate cuts: predicting positive for the top k distinct scores. The threshold sits halfway
/// to the next lower score, so a slightly different score on new data falls on the same side.
fn cuts(scores: &[f64], labels: &[bool]) -> Vec<ThresholdChoice> {
    let points = cumulative(scores, labels);
    let Some(&(_, p, _)) = points.last() else { return vec![] };
    (0..points.len())
        .map(|k| {
            let (s, tp, fp) = points[k];
            let threshold = points.get(k + 1).map_or(s, |next| (s + next.0) / 2.0);
            let c = Confusion { tp, fp, tn: 0, fn_: p - tp };
            ThresholdChoice { threshold, precision: c.precision(), recall: c.recall(), f1: c.f1() }
        })
        .collect()
}

/// The threshold with the best F1 (ties: the higher threshold). `None` without positives.
pub fn best_f1(scores: &[f64], labels: &[bool]) -> Option<ThresholdChoice> {
    if !labels.iter().any(|&y| y) {
        return None;
    }
    cuts(scores, labels).into_iter().fold(None, |best: Option<ThresholdChoice>, c| match best {
        Some(b) if b.f1 >= c.f1 => Some(b),
        _ => Some(c),
    })
}

/// The lowest threshold whose precision is at least `min_precision` (most recall under the
/// precision floor). `None` if no threshold reaches it.
pub fn min_precision(scores: &[f64], labels: &[bool], min_precision: f64) -> Option<ThresholdChoice> {
    cuts(scores, labels).into_iter().filter(|c| c.precision >= min_precision && c.recall > 0.0).fold(
        None,
        |best: Option<ThresholdChoice>, c| match best {
            Some(b) if b.recall >= c.recall => Some(b),
            _ => Some(c),
        },
    )
}

/// The threshold with the highest precision, then the most recall, among those that flag at
/// least one positive. `None` without positives.
pub fn most_precise(scores: &[f64], labels: &[bool]) -> Option<ThresholdChoice> {
    cuts(scores, labels).into_iter().filter(|c| c.recall > 0.0).fold(
        None,
        |best: Option<ThresholdChoice>, c| match best {
            Some(b) if (b.precision, b.recall) >= (c.precision, c.recall) => Some(b),
            _ => Some(c),
        },
    )
}

/// One reliability bin of predicted probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    pub lower: f64,
    pub upper: f64,
    pub count: u64,
    pub mean_predicted: f64,
    pub fraction_positive: f64,
}

/// Expected calibration error over `bins` equal-width bins of probability, and the bins.
pub fn calibration(probs: &[f64], labels: &[bool], bins: usize) -> (f64, Vec<ReliabilityBin>) {
    let bins = bins.max(1);
    let mut sum_p = vec![0.0; bins];
    let mut pos = vec![0u64; bins];
    let mut count = vec![0u64; bins];
    for (&p, &y) in probs.iter().zip(labels) {
        let b = ((p.clamp(0.0, 1.0) * bins as f64) as usize).min(bins - 1);
        sum_p[b] += p;
        count[b] += 1;
        pos[b] += y as u64;
    }
    let n = probs.len().max(1) as f64;
    let mut ece = 0.0;
    let out = (0..bins)
        .map(|b| {
            let c = count[b].max(1) as f64;
            let bin = ReliabilityBin {
                lower: b as f64 / bins as f64,
                upper: (b + 1) as f64 / bins as f64,
                count: count[b],
                mean_predicted: sum_p[b] / c,
                fraction_positive: pos[b] as f64 / c,
            };
            ece += count[b] as f64 / n * (bin.mean_predicted - bin.fraction_positive).abs();
            bin
        })
        .collect();
    (ece, out)
}

/// Figures at one decision threshold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AtThreshold {
    /// `None` when predictions come from several per-label thresholds (the "any label" view).
    pub threshold: Option<f64>,
    pub confusion: Confusion,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub false_positive_rate: f64,
}

impl AtThreshold {
    pub fn from_predictions(threshold: Option<f64>, predicted: &[bool], truth: &[bool]) -> Self {
        let mut c = Confusion::default();
        for (&p, &y) in predicted.iter().zip(truth) {
            match (p, y) {
                (true, true) => c.tp += 1,
                (true, false) => c.fp += 1,
                (false, false) => c.tn += 1,
                (false, true) => c.fn_ += 1,
            }
        }
        AtThreshold {
            threshold,
            confusion: c,
            precision: c.precision(),
            recall: c.recall(),
            f1: c.f1(),
            false_positive_rate: c.false_positive_rate(),
        }
    }
}

/// Everything `raqib eval` reports for one label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BinaryReport {
    pub rows: u64,
    pub positives: u64,
    pub roc_auc: Option<f64>,
    pub pr_auc: Option<f64>,
    /// At the decisions given (the model's thresholds).
    pub at_model_threshold: AtThreshold,
    /// At extra thresholds asked for.
    pub at_thresholds: Vec<AtThreshold>,
    pub expected_calibration_error: f64,
    pub reliability: Vec<ReliabilityBin>,
}

/// Evaluate probabilities `probs` and the model's decisions `predicted` against `truth`, plus
/// each threshold of `extra`. `bins` reliability bins.
pub fn binary_report(
    probs: &[f64],
    predicted: &[bool],
    truth: &[bool],
    model_threshold: Option<f64>,
    extra: &[f64],
    bins: usize,
) -> BinaryReport {
    let (ece, reliability) = calibration(probs, truth, bins);
    BinaryReport {
        rows: truth.len() as u64,
        positives: truth.iter().filter(|&&y| y).count() as u64,
        roc_auc: roc_auc(probs, truth),
        pr_auc: average_precision(probs, truth),
        at_model_threshold: AtThreshold::from_predictions(model_threshold, predicted, truth),
        at_thresholds: extra
            .iter()
            .map(|&t| {
                let p: Vec<bool> = probs.iter().map(|&s| s >= t).collect();
                AtThreshold::from_predictions(Some(t), &p, truth)
            })
            .collect(),
        expected_calibration_error: ece,
        reliability,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precision_and_recall_are_not_swapped() {
        // 3 predicted positive (2 right), 4 actual positives.
        let scores = [0.9, 0.8, 0.7, 0.2, 0.1, 0.1, 0.05];
        let labels = [true, true, false, true, true, false, false];
        let c = Confusion::at(&scores, &labels, 0.5);
        assert_eq!(c, Confusion { tp: 2, fp: 1, tn: 2, fn_: 2 });
        assert!((c.precision() - 2.0 / 3.0).abs() < 1e-12);
        assert!((c.recall() - 0.5).abs() < 1e-12);
        assert!((c.f1() - 4.0 / 7.0).abs() < 1e-12);
    }

    #[test]
    fn auc_matches_hand_computation() {
        // Pairs (pos, neg): 0.9>0.3, 0.9>0.5, 0.4>0.3, 0.4<0.5 → 3/4. A tie counts one half.
        assert_eq!(roc_auc(&[0.9, 0.4, 0.3, 0.5], &[true, true, false, false]), Some(0.75));
        assert_eq!(roc_auc(&[0.5, 0.5], &[true, false]), Some(0.5));
        assert_eq!(roc_auc(&[0.5, 0.4], &[true, true]), None);
        // AP: ranks 1 (pos), 2 (neg), 3 (pos): (1/2)·1 + (1/2)·(2/3).
        let ap = average_precision(&[0.9, 0.8, 0.7], &[true, false, true]).unwrap();
        assert!((ap - (0.5 + 1.0 / 3.0)).abs() < 1e-12);
    }

    #[test]
    fn thresholds() {
        let scores = [0.95, 0.9, 0.8, 0.6, 0.4, 0.3];
        let labels = [true, true, false, true, false, false];
        let best = best_f1(&scores, &labels).unwrap();
        assert!((best.f1 - 6.0 / 7.0).abs() < 1e-12, "{best:?}"); // top 4: tp 3, fp 1
        assert!((best.threshold - 0.5).abs() < 1e-12);
        let strict = min_precision(&scores, &labels, 1.0).unwrap();
        assert_eq!((strict.recall * 3.0).round(), 2.0);
        assert!(strict.threshold > 0.8 && strict.threshold < 0.9);
        assert!(min_precision(&[0.9, 0.1], &[false, true], 0.9).is_none());
    }

    #[test]
    fn binary_report_counts_at_model_and_extra_thresholds() {
        let probs = [0.9, 0.8, 0.3, 0.2];
        let truth = [true, false, true, false];
        let r = binary_report(&probs, &[true, true, false, false], &truth, Some(0.5), &[0.85, 0.1], 2);
        assert_eq!((r.rows, r.positives), (4, 2));
        assert_eq!(r.at_model_threshold.confusion, Confusion { tp: 1, fp: 1, tn: 1, fn_: 1 });
        assert_eq!(r.at_thresholds[0].confusion, Confusion { tp: 1, fp: 0, tn: 2, fn_: 1 });
        assert_eq!(r.at_thresholds[1].false_positive_rate, 1.0);
        assert_eq!(r.roc_auc, Some(0.75));
        assert_eq!(r.reliability.len(), 2);
    }

    #[test]
    fn calibration_error() {
        let (ece, bins) = calibration(&[0.1, 0.1, 0.9, 0.9], &[false, false, true, false], 10);
        assert_eq!(bins.len(), 10);
        assert_eq!(bins[1].count, 2);
        assert!((ece - (0.5 * 0.1 + 0.5 * 0.4)).abs() < 1e-12);
    }
}
