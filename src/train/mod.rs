//! Training: labelled texts → [`Model`].
//!
//! 1. featurise every text once into a CSR matrix of term counts (parallel, batch by batch);
//! 2. document frequencies → buckets below `min_df` dropped, columns renumbered densely, IDF;
//! 3. TF-IDF weighting and L2 normalisation in place;
//! 4. per label: fit on the training part of a seeded stratified split (or k folds), calibrate the
//!    held-out scores (Platt), choose the threshold, then refit on all rows from the split's
//!    weights;
//! 5. weights back to bucket space, into a [`Model`].
//!
//! The fitter behind step 4 is exposed on its own through linfa's `Fit` trait on [`CsrMatrix`]
//! ([`ValidLogisticParams`] → [`LinearModels`]); the whole pipeline is `Fit` on [`Texts`].

pub mod calibrate;
pub mod objective;
mod params;
mod split;
#[cfg(test)]
mod tests;
pub mod tron;

pub use params::{LogisticParams, ThresholdTarget, TrainParams, ValidLogisticParams, ValidTrainParams, Validation};
pub use split::SplitMix64;

use crate::error::{Error, Result};
use crate::eval::{self, Confusion, ThresholdChoice};
use crate::features::{FeatScratch, Featurizer, TermCounter};
use crate::model::{LabelHead, Model, ModelMeta};
use crate::normalize::{NormScratch, Normalizer};
use crate::sparse::CsrMatrix;
use calibrate::Platt;
use linfa::dataset::{DatasetBase, Records};
use linfa::traits::{Fit, PredictInplace};
use ndarray::{Array2, ArrayView2};
use objective::Logistic;
use serde::{Deserialize, Serialize};
use std::time::Instant;
use tron::{TronParams, TronReport};

/// Raw texts as linfa records (one "feature": the text).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Texts(pub Vec<String>);

impl Records for Texts {
    type Elem = String;
    fn nsamples(&self) -> usize {
        self.0.len()
    }
    fn nfeatures(&self) -> usize {
        1
    }
}

/// Receives progress of the long stages (all methods optional). Used by the CLI's progress bars.
pub trait Progress: Sync {
    /// A stage starts with `total` units (rows to featurise, fits to run).
    fn stage(&self, _name: &str, _total: u64) {}
    fn advance(&self, _units: u64) {}
    /// A line for the log (e.g. one fit's result).
    fn note(&self, _message: &str) {}
}

/// Ignores progress.
pub struct NoProgress;
impl Progress for NoProgress {}

/// Weights and biases of one logistic regression per label, over the matrix's columns.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearModels {
    pub weights: Vec<Vec<f32>>,
    pub biases: Vec<f32>,
    pub reports: Vec<TronReport>,
}

impl LinearModels {
    /// Decision values (n × labels).
    pub fn margins(&self, x: &CsrMatrix) -> Array2<f64> {
        let rows: Vec<u32> = (0..x.nrows() as u32).collect();
        let mut out = Array2::zeros((x.nrows(), self.weights.len()));
        for (l, (w, &b)) in self.weights.iter().zip(&self.biases).enumerate() {
            for (i, m) in objective::margins(x, &rows, w, b).into_iter().enumerate() {
                out[(i, l)] = m;
            }
        }
        out
    }
}

/// Probabilities σ(x·w + b), one column per label (uncalibrated).
impl PredictInplace<CsrMatrix, Array2<f64>> for LinearModels {
    fn predict_inplace(&self, x: &CsrMatrix, y: &mut Array2<f64>) {
        assert_eq!(y.dim(), (x.nrows(), self.weights.len()), "target array has the wrong shape");
        y.assign(&self.margins(x).mapv(objective::sigmoid));
    }

    fn default_target(&self, x: &CsrMatrix) -> Array2<f64> {
        Array2::zeros((x.nrows(), self.weights.len()))
    }
}

/// Fit one L2-regularised logistic regression per target column on all rows (sample weights from
/// the dataset when present). Errors: a label with a single class, shape mismatch.
impl Fit<CsrMatrix, Array2<bool>, Error> for ValidLogisticParams {
    type Object = LinearModels;

    fn fit(&self, ds: &DatasetBase<CsrMatrix, Array2<bool>>) -> Result<LinearModels> {
        let x = ds.records();
        let y = ds.targets();
        if y.nrows() != x.nrows() {
            return Err(Error::TrainingData(format!("{} rows of features, {} of targets", x.nrows(), y.nrows())));
        }
        let rows: Vec<u32> = (0..x.nrows() as u32).collect();
        let mut out = LinearModels { weights: vec![], biases: vec![], reports: vec![] };
        for (l, col) in y.columns().into_iter().enumerate() {
            let labels: Vec<bool> = col.to_vec();
            let (w, report) = fit_binary(x, &rows, &labels, ds.weights(), self, None).map_err(|e| match e {
                Error::TrainingData(m) => Error::TrainingData(format!("target column {l}: {m}")),
                e => e,
            })?;
            out.biases.push(w[x.ncols()] as f32);
            out.weights.push(w[..x.ncols()].iter().map(|&v| v as f32).collect());
            out.reports.push(report);
        }
        Ok(out)
    }
}

/// Fit one label on `rows` of `x`. `labels` and `sample_weights` are indexed by row of `x`.
/// Returns `[w…, b]` and the optimiser's report.
pub fn fit_binary(
    x: &CsrMatrix,
    rows: &[u32],
    labels: &[bool],
    sample_weights: Option<&[f32]>,
    p: &ValidLogisticParams,
    warm_start: Option<&[f64]>,
) -> Result<(Vec<f64>, TronReport)> {
    let y: Vec<bool> = rows.iter().map(|&r| labels[r as usize]).collect();
    let pos = y.iter().filter(|&&v| v).count();
    let neg = y.len() - pos;
    if pos == 0 || neg == 0 {
        return Err(Error::TrainingData(format!("needs both classes, got {pos} positive and {neg} negative rows")));
    }
    let n = y.len() as f64;
    let (wp, wn) = if p.balanced { (n / (2.0 * pos as f64), n / (2.0 * neg as f64)) } else { (1.0, 1.0) };
    let cost: Vec<f64> = rows
        .iter()
        .zip(&y)
        .map(|(&r, &yi)| p.c * if yi { wp } else { wn } * sample_weights.map_or(1.0, |s| s[r as usize] as f64))
        .collect();
    let mut obj = Logistic::new(x, rows, &y, cost);
    let dim = x.ncols() + 1;
    let tron = TronParams { eps: p.tolerance, max_iter: p.max_iter, ..TronParams::default() };
    let (mut w, gnorm0) = match warm_start {
        Some(w0) => {
            // The stopping rule is relative to the gradient at zero, as for a cold start.
            use tron::Objective;
            let zero = vec![0.0; dim];
            let (mut g, mut d) = (vec![0.0; dim], vec![0.0; dim]);
            obj.fun(&zero);
            obj.grad(&zero, &mut g, &mut d);
            (w0.to_vec(), Some(g.iter().map(|v| v * v).sum::<f64>().sqrt()))
        }
        None => (vec![0.0; dim], None),
    };
    let report = tron::minimize(&mut obj, &mut w, &tron, gnorm0);
    Ok((w, report))
}

/// Validation figures of one label (held-out split or out-of-fold scores).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelValidation {
    pub rows: u64,
    pub positives: u64,
    pub roc_auc: Option<f64>,
    pub pr_auc: Option<f64>,
    pub threshold: ThresholdChoice,
    pub confusion: Confusion,
    pub expected_calibration_error: f64,
    pub calibration: Platt,
    pub note: Option<String>,
}

/// Per-label training summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelReport {
    pub name: String,
    pub positives: u64,
    pub negatives: u64,
    /// The final fit (on all rows when refitting).
    pub fit: TronReport,
    pub validation: Option<LabelValidation>,
}

/// What training did; the CLI writes it as JSON beside the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainReport {
    pub rows: u64,
    pub buckets: u64,
    pub features_used: u64,
    pub nonzeros: u64,
    pub data_hash: String,
    pub labels: Vec<LabelReport>,
    pub featurize_seconds: f64,
    pub optimize_seconds: f64,
    pub params: ValidTrainParams,
}

/// The whole pipeline: texts and a targets matrix (rows × labels) → [`Model`].
impl Fit<Texts, Array2<bool>, Error> for ValidTrainParams {
    type Object = Model;

    fn fit(&self, ds: &DatasetBase<Texts, Array2<bool>>) -> Result<Model> {
        Ok(self.train(&ds.records().0, ds.targets().view(), ds.weights(), &NoProgress)?.0)
    }
}

impl ValidTrainParams {
    /// Train a model. `targets` is rows × labels; `sample_weights` optional, one per row.
    /// Errors: no rows, shape mismatch, a label without both classes.
    pub fn train(
        &self,
        texts: &[String],
        targets: ArrayView2<bool>,
        sample_weights: Option<&[f32]>,
        progress: &dyn Progress,
    ) -> Result<(Model, TrainReport)> {
        let n = texts.len();
        if n == 0 {
            return Err(Error::TrainingData("no rows to train on".into()));
        }
        if targets.dim() != (n, self.labels.len()) {
            return Err(Error::TrainingData(format!(
                "targets are {}×{}, expected {n} rows × {} labels",
                targets.nrows(),
                targets.ncols(),
                self.labels.len()
            )));
        }
        if let Some(w) = sample_weights {
            if w.len() != n || w.iter().any(|v| !(v.is_finite() && *v >= 0.0)) {
                return Err(Error::TrainingData("sample weights must be one finite non-negative value per row".into()));
            }
        }
        let columns: Vec<Vec<bool>> = targets.columns().into_iter().map(|c| c.to_vec()).collect();
        for (name, col) in self.labels.iter().zip(&columns) {
            let pos = col.iter().filter(|&&v| v).count();
            if pos == 0 || pos == n {
                return Err(Error::TrainingData(format!(
                    "label {name:?} has {pos} positive rows out of {n}: both classes are needed"
                )));
            }
        }

        let started = Instant::now();
        let normalizer = Normalizer::new(self.normalize);
        let featurizer = Featurizer::new(self.features)?;
        let (x, idf, kept) = self.featurize(texts, &normalizer, &featurizer, progress);
        let featurize_seconds = started.elapsed().as_secs_f64();

        let started = Instant::now();
        let keys: Vec<u64> = (0..n)
            .map(|i| columns.iter().take(64).enumerate().fold(0u64, |k, (l, c)| k | (c[i] as u64) << l))
            .collect();
        let all: Vec<u32> = (0..n as u32).collect();
        let folds = match self.validation {
            Validation::None => 0,
            Validation::Holdout { .. } => 1,
            Validation::CrossValidation { folds } => folds,
        };
        let fits_per_label = folds + usize::from(folds == 0 || self.refit);
        progress.stage("optimise", (fits_per_label * self.labels.len()) as u64);

        let mut heads = Vec::new();
        let mut reports = Vec::new();
        let mut weights = Vec::new();
        for (name, y) in self.labels.iter().zip(&columns) {
            let fit = |rows: &[u32], warm: Option<&[f64]>| {
                let r = fit_binary(&x, rows, y, sample_weights, &self.logistic, warm)
                    .map_err(|e| Error::TrainingData(format!("label {name:?}: {e}")));
                progress.advance(1);
                r
            };
            let (w, report, validation) = match self.validation {
                Validation::None => {
                    let (w, report) = fit(&all, None)?;
                    (w, report, None)
                }
                Validation::Holdout { fraction } => {
                    let (train, val) = split::holdout(&keys, fraction, self.seed);
                    let (w, report) = fit(&train, None)?;
                    let margins = objective::margins(&x, &val, &to_f32(&w[..x.ncols()]), w[x.ncols()] as f32);
                    let truth: Vec<bool> = val.iter().map(|&r| y[r as usize]).collect();
                    let v = self.validate(&margins, &truth);
                    let (w, report) = if self.refit { fit(&all, Some(&w))? } else { (w, report) };
                    (w, report, Some(v))
                }
                Validation::CrossValidation { folds } => {
                    let fold_of = split::kfold(&keys, folds, self.seed);
                    let mut oof = vec![0.0; n];
                    let mut last = None;
                    for f in 0..folds as u8 {
                        let train: Vec<u32> = all.iter().copied().filter(|&r| fold_of[r as usize] != f).collect();
                        let test: Vec<u32> = all.iter().copied().filter(|&r| fold_of[r as usize] == f).collect();
                        let (w, report) = fit(&train, None)?;
                        let m = objective::margins(&x, &test, &to_f32(&w[..x.ncols()]), w[x.ncols()] as f32);
                        for (&r, m) in test.iter().zip(m) {
                            oof[r as usize] = m;
                        }
                        last = Some((w, report));
                    }
                    let v = self.validate(&oof, y);
                    let (w, report) = last.expect("at least two folds");
                    let (w, report) = if self.refit { fit(&all, Some(&w))? } else { (w, report) };
                    (w, report, Some(v))
                }
            };
            progress.note(&format!(
                "{name}: {} Newton iterations ({} CG), loss {:.4}, {}",
                report.iterations,
                report.cg_iterations,
                report.loss,
                if report.converged { "converged" } else { "NOT converged (raise max_iter)" }
            ));
            let (calibration, threshold) = match &validation {
                Some(v) => (v.calibration, v.threshold.threshold),
                None => (Platt::IDENTITY, 0.5),
            };
            heads.push(LabelHead { name: name.clone(), bias: w[x.ncols()] as f32, calibration, threshold });
            weights.push(w);
            let pos = y.iter().filter(|&&v| v).count() as u64;
            reports.push(LabelReport {
                name: name.clone(),
                positives: pos,
                negatives: n as u64 - pos,
                fit: report,
                validation,
            });
        }
        let optimize_seconds = started.elapsed().as_secs_f64();

        // Back to bucket space: column c of x is bucket kept[c].
        let buckets = self.features.buckets();
        let bucket_weights: Vec<Vec<f32>> = weights
            .iter()
            .map(|w| {
                let mut out = vec![0.0f32; buckets];
                for (c, &b) in kept.iter().enumerate() {
                    out[b as usize] = w[c] as f32;
                }
                out
            })
            .collect();
        let data_hash = format!("{:016x}", data_hash(texts, &columns));
        let meta = ModelMeta {
            name: self.name.clone(),
            raqib_version: env!("CARGO_PKG_VERSION").into(),
            created_at: rfc3339(self.created_at.unwrap_or_else(now_unix)),
            data_hash: data_hash.clone(),
            rows: n as u64,
            positives: reports.iter().map(|r| r.positives).collect(),
            params: serde_json::to_value(self).unwrap_or_default(),
            validation: reports.iter().map(|r| serde_json::to_value(&r.validation).unwrap_or_default()).collect(),
        };
        let model = Model::from_parts(self.normalize, self.features, heads, &idf, &bucket_weights, meta)?;
        let report = TrainReport {
            rows: n as u64,
            buckets: buckets as u64,
            features_used: kept.len() as u64,
            nonzeros: x.nnz() as u64,
            data_hash,
            labels: reports,
            featurize_seconds,
            optimize_seconds,
            params: self.clone(),
        };
        Ok((model, report))
    }

    /// Steps 1–3: TF-IDF matrix over the kept buckets, the idf of every bucket (0 = dropped), and
    /// the bucket of each column.
    fn featurize(
        &self,
        texts: &[String],
        normalizer: &Normalizer,
        featurizer: &Featurizer,
        progress: &dyn Progress,
    ) -> (CsrMatrix, Vec<f32>, Vec<u32>) {
        let cfg = self.features;
        let buckets = cfg.buckets();
        progress.stage("featurise", texts.len() as u64);
        let mut x = CsrMatrix::new(buckets);
        for batch in texts.chunks(1 << 15) {
            x.extend_par(
                batch,
                || (NormScratch::default(), FeatScratch::default(), String::new(), TermCounter::default(), Vec::new()),
                |text, (ns, fs, norm, counter, terms), row| {
                    normalizer.normalize_into(text, ns, norm, None);
                    featurizer.count_terms(norm, fs, counter, |_| {}, Some, |_| {});
                    // CSR rows need increasing columns: sort the few distinct terms, not every n-gram.
                    terms.clear();
                    terms.extend(counter.terms());
                    terms.sort_unstable();
                    for &(b, tf) in terms.iter() {
                        row.indices.push(b);
                        row.values.push(tf as f32);
                    }
                },
            );
            progress.advance(batch.len() as u64);
        }
        let df = x.column_counts();
        let n = x.nrows() as f64;
        // Columns are the kept buckets numbered by decreasing document frequency (ties by
        // bucket): the frequent n-grams, which make most of the non-zeros, then share a small hot
        // region of every dense vector the optimiser touches, and stay in cache while the matrix
        // streams past.
        let mut kept: Vec<u32> = (0..buckets as u32).filter(|&b| df[b as usize] >= self.min_df).collect();
        kept.sort_by_key(|&b| (std::cmp::Reverse(df[b as usize]), b));
        let mut map = vec![u32::MAX; buckets];
        let mut idf = vec![0.0f32; buckets];
        let mut idf_col = Vec::with_capacity(kept.len());
        for (c, &b) in kept.iter().enumerate() {
            // Smooth idf, as scikit-learn: ln((1 + n) / (1 + df)) + 1.
            let v = if cfg.idf { (((1.0 + n) / (1.0 + df[b as usize] as f64)).ln() + 1.0) as f32 } else { 1.0 };
            map[b as usize] = c as u32;
            idf_col.push(v);
            idf[b as usize] = v;
        }
        x.remap_columns(idf_col.len(), &map, |_, _, v| v);
        x.map_rows_par(|_, idx, vals| {
            let mut norm2 = 0.0f64;
            for (v, &c) in vals.iter_mut().zip(idx) {
                *v = cfg.tf_weight(*v as u32) * idf_col[c as usize];
                norm2 += (*v as f64) * (*v as f64);
            }
            if cfg.l2_normalize && norm2 > 0.0 {
                let inv = (1.0 / norm2.sqrt()) as f32;
                vals.iter_mut().for_each(|v| *v *= inv);
            }
        });
        x.sort_rows_par();
        (x, idf, kept)
    }

    /// Calibrate held-out margins, choose the threshold, and measure.
    fn validate(&self, margins: &[f64], truth: &[bool]) -> LabelValidation {
        let calibration = if self.calibrate { Platt::fit(margins, truth) } else { Platt::IDENTITY };
        let probs: Vec<f64> = margins.iter().map(|&m| calibration.probability(m)).collect();
        let mut note = None;
        let choice = match self.threshold {
            ThresholdTarget::BestF1 => eval::best_f1(&probs, truth),
            ThresholdTarget::MinPrecision { precision } => {
                eval::min_precision(&probs, truth, precision).or_else(|| {
                    note = Some(format!(
                        "precision {precision} not reached on validation data; using the most precise threshold"
                    ));
                    eval::most_precise(&probs, truth)
                })
            }
        };
        let choice = choice.unwrap_or(ThresholdChoice { threshold: 0.5, precision: 0.0, recall: 0.0, f1: 0.0 });
        let threshold = choice.threshold.clamp(0.0, 1.0);
        let (ece, _) = eval::calibration(&probs, truth, 10);
        LabelValidation {
            rows: truth.len() as u64,
            positives: truth.iter().filter(|&&v| v).count() as u64,
            roc_auc: eval::roc_auc(&probs, truth),
            pr_auc: eval::average_precision(&probs, truth),
            threshold: ThresholdChoice { threshold, ..choice },
            confusion: Confusion::at(&probs, truth, threshold),
            expected_calibration_error: ece,
            calibration,
            note,
        }
    }
}

fn to_f32(w: &[f64]) -> Vec<f32> {
    w.iter().map(|&v| v as f32).collect()
}

/// xxh3-64 over (length, bytes) of each text and then the label columns.
fn data_hash(texts: &[String], columns: &[Vec<bool>]) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for t in texts {
        h.update(&(t.len() as u64).to_le_bytes());
        h.update(t.as_bytes());
    }
    for c in columns {
        let bytes: Vec<u8> = c.iter().map(|&v| v as u8).collect();
        h.update(&bytes);
    }
    h.digest()
}

fn now_unix() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// Unix seconds → `YYYY-MM-DDTHH:MM:SSZ` (civil-from-days, H. Hinnant).
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}
