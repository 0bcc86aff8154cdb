//! Training hyperparameters (`*Params`, checked once into `Valid*Params`, the linfa `ParamGuard`
//! pattern). What is saved in the model is the `*Config` of each stage, not these.

use crate::error::{Error, Result};
use crate::features::FeatureConfig;
use crate::normalize::NormalizeConfig;
use linfa::ParamGuard;
use serde::{Deserialize, Serialize};

/// How thresholds and calibration are chosen, and how the reported figures are measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Validation {
    /// No held-out data: identity calibration, threshold 0.5, no validation figures.
    None,
    /// A seeded, stratified held-out fraction of the rows (0 < fraction ≤ 0.5).
    Holdout { fraction: f64 },
    /// Seeded, stratified k-fold cross-validation (2 ≤ folds ≤ 20); out-of-fold scores.
    CrossValidation { folds: usize },
}

/// What the per-label threshold aims for on the validation scores.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ThresholdTarget {
    /// The threshold with the best F1.
    BestF1,
    /// The lowest threshold with at least this precision (the most recall under a precision
    /// floor). If none reaches it, the most precise threshold, with a note in the report.
    MinPrecision { precision: f64 },
}

/// Checked logistic-regression hyperparameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ValidLogisticParams {
    /// Inverse regularisation strength, as liblinear's and scikit-learn's `C`. Default 4.
    pub c: f64,
    /// Weight each class by `n / (2 · n_class)`. Default true.
    pub balanced: bool,
    /// Stop when ‖∇f‖ ≤ tolerance · ‖∇f(0)‖. Default 1e-3.
    pub tolerance: f64,
    /// Newton iterations at most. Default 200.
    pub max_iter: usize,
}

impl Default for ValidLogisticParams {
    fn default() -> Self {
        ValidLogisticParams { c: 4.0, balanced: true, tolerance: 1e-3, max_iter: 200 }
    }
}

/// Unchecked logistic-regression hyperparameters; `check()` gives [`ValidLogisticParams`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogisticParams(pub(crate) ValidLogisticParams);

impl LogisticParams {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn c(mut self, c: f64) -> Self {
        self.0.c = c;
        self
    }
    pub fn balanced(mut self, on: bool) -> Self {
        self.0.balanced = on;
        self
    }
    pub fn tolerance(mut self, tol: f64) -> Self {
        self.0.tolerance = tol;
        self
    }
    pub fn max_iter(mut self, n: usize) -> Self {
        self.0.max_iter = n;
        self
    }
}

impl ParamGuard for LogisticParams {
    type Checked = ValidLogisticParams;
    type Error = Error;

    /// Errors: `c` or `tolerance` not positive and finite, `max_iter` 0.
    fn check_ref(&self) -> Result<&ValidLogisticParams> {
        let p = &self.0;
        if !(p.c.is_finite() && p.c > 0.0) {
            return Err(Error::InvalidParams(format!("C must be positive, got {}", p.c)));
        }
        if !(p.tolerance.is_finite() && p.tolerance > 0.0) {
            return Err(Error::InvalidParams(format!("tolerance must be positive, got {}", p.tolerance)));
        }
        if p.max_iter == 0 {
            return Err(Error::InvalidParams("max_iter must be at least 1".into()));
        }
        Ok(p)
    }

    fn check(self) -> Result<ValidLogisticParams> {
        self.check_ref()?;
        Ok(self.0)
    }
}

/// Checked end-to-end training parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidTrainParams {
    /// Label names, in the order of the target columns.
    pub labels: Vec<String>,
    /// Model name saved in the file. Default `raqib`.
    pub name: String,
    pub normalize: NormalizeConfig,
    pub features: FeatureConfig,
    /// Buckets seen in fewer training texts are not features. Default 2.
    pub min_df: u32,
    pub logistic: ValidLogisticParams,
    /// Default: 10% holdout.
    pub validation: Validation,
    /// Default: best F1.
    pub threshold: ThresholdTarget,
    /// Platt-scale the validation scores. Default true.
    pub calibrate: bool,
    /// After choosing thresholds, train again on all rows (warm-started). Default true.
    pub refit: bool,
    /// Seed of the split. Default 42.
    pub seed: u64,
    /// Training date (Unix seconds) written in the model; `None` = now.
    pub created_at: Option<i64>,
}

/// Unchecked training parameters; `check()` gives [`ValidTrainParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct TrainParams(pub(crate) ValidTrainParams);

impl TrainParams {
    /// Defaults for the given label names.
    pub fn new<S: Into<String>>(labels: impl IntoIterator<Item = S>) -> Self {
        TrainParams(ValidTrainParams {
            labels: labels.into_iter().map(Into::into).collect(),
            name: "raqib".into(),
            normalize: NormalizeConfig::default(),
            features: FeatureConfig::default(),
            min_df: 2,
            logistic: ValidLogisticParams::default(),
            validation: Validation::Holdout { fraction: 0.1 },
            threshold: ThresholdTarget::BestF1,
            calibrate: true,
            refit: true,
            seed: 42,
            created_at: None,
        })
    }
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.0.name = name.into();
        self
    }
    pub fn normalize(mut self, cfg: NormalizeConfig) -> Self {
        self.0.normalize = cfg;
        self
    }
    pub fn features(mut self, cfg: FeatureConfig) -> Self {
        self.0.features = cfg;
        self
    }
    pub fn min_df(mut self, n: u32) -> Self {
        self.0.min_df = n;
        self
    }
    pub fn logistic(mut self, p: LogisticParams) -> Self {
        self.0.logistic = p.0;
        self
    }
    pub fn validation(mut self, v: Validation) -> Self {
        self.0.validation = v;
        self
    }
    pub fn threshold(mut self, t: ThresholdTarget) -> Self {
        self.0.threshold = t;
        self
    }
    pub fn calibrate(mut self, on: bool) -> Self {
        self.0.calibrate = on;
        self
    }
    pub fn refit(mut self, on: bool) -> Self {
        self.0.refit = on;
        self
    }
    pub fn seed(mut self, seed: u64) -> Self {
        self.0.seed = seed;
        self
    }
    pub fn created_at(mut self, unix_seconds: Option<i64>) -> Self {
        self.0.created_at = unix_seconds;
        self
    }
}

impl ParamGuard for TrainParams {
    type Checked = ValidTrainParams;
    type Error = Error;

    /// Errors: no labels, an empty or repeated label name, a bad feature configuration,
    /// `min_df` 0, a holdout fraction outside (0, 0.5], folds outside 2..=20, a precision target
    /// outside (0, 1], bad logistic parameters.
    fn check_ref(&self) -> Result<&ValidTrainParams> {
        let p = &self.0;
        let bad = |m: String| Err(Error::InvalidParams(m));
        if p.labels.is_empty() {
            return bad("at least one label is needed".into());
        }
        for (i, l) in p.labels.iter().enumerate() {
            if l.trim().is_empty() {
                return bad(format!("label {i} has an empty name"));
            }
            if p.labels[..i].contains(l) {
                return bad(format!("label name {l:?} appears twice"));
            }
        }
        p.features.check()?;
        if p.min_df == 0 {
            return bad("min_df must be at least 1".into());
        }
        match p.validation {
            Validation::Holdout { fraction } if !(fraction > 0.0 && fraction <= 0.5) => {
                return bad(format!("validation fraction must be in (0, 0.5], got {fraction}"))
            }
            Validation::CrossValidation { folds } if !(2..=20).contains(&folds) => {
                return bad(format!("cross-validation folds must be 2..=20, got {folds}"))
            }
            _ => {}
        }
        if let ThresholdTarget::MinPrecision { precision } = p.threshold {
            if !(precision > 0.0 && precision <= 1.0) {
                return bad(format!("precision target must be in (0, 1], got {precision}"));
            }
        }
        LogisticParams(p.logistic).check_ref()?;
        Ok(p)
    }

    fn check(self) -> Result<ValidTrainParams> {
        self.check_ref()?;
        Ok(self.0)
    }
}
