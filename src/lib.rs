//! # raqib (رقيب, "the watcher")
//!
//! A moderation classifier for reader comments on news sites, Arabic first, English too: does a
//! comment call for violence or support extremist groups, how sure is it, and why.
//!
//! ## The pipeline
//!
//! 1. [`normalize`]: Unicode NFKC, invisible characters dropped, Arabic diacritics, tatweel and
//!    letter variants folded, Latin case, accents and homoglyphs folded, evasion undone
//!    (`k.i.l.l`, `ق ت ل`, `kiiiill`). Every step is a switch saved in the model.
//! 2. [`features`]: character n-grams over grapheme clusters, bounded by words (like
//!    scikit-learn's `char_wb`; a run of one letter counts once, so elongation cannot move them),
//!    plus word n-grams, each hashed with seeded xxh3-64 into `2^bits` buckets; sublinear TF, IDF,
//!    L2 normalisation.
//! 3. [`sparse`]: a CSR matrix built in parallel; never a dense design matrix.
//! 4. [`train`]: L2-regularised logistic regression per label by a trust-region Newton method
//!    (liblinear's), parallel and deterministic; Platt calibration and a threshold per label from
//!    a held-out split or cross-validation.
//! 5. [`model`]: one self-contained, checksummed file; scoring, batch scoring and explanations
//!    with spans in the original text.
//! 6. [`eval`]: ROC/PR AUC, confusion matrices, thresholds, calibration error.
//! 7. [`serve`]: the pre-publication hook server (`raqib serve`): raqib's own API, Perspective
//!    API compatibility, Coral Talk's external moderation phase, metrics, hot reload.
//!
//! ## Example
//!
//! ```
//! use linfa::ParamGuard;
//! use ndarray::Array2;
//! use raqib::train::{TrainParams, Validation, NoProgress};
//!
//! // A toy corpus: one label, "violence".
//! let mut texts = Vec::new();
//! let mut labels = Vec::new();
//! for i in 0..60 {
//!     texts.push(format!("we will kill them all, attack number {i}"));
//!     labels.push(true);
//!     texts.push(format!("the match ended {i} to 1, what a game"));
//!     labels.push(false);
//! }
//! let targets = Array2::from_shape_vec((labels.len(), 1), labels).unwrap();
//! let params = TrainParams::new(["violence"])
//!     .validation(Validation::CrossValidation { folds: 3 })
//!     .check()?;
//! let (model, report) = params.train(&texts, targets.view(), None, &NoProgress)?;
//! assert!(report.labels[0].validation.as_ref().unwrap().roc_auc.unwrap() > 0.9);
//!
//! let scores = model.score("K.I.L.L them all");
//! assert!(scores.flagged);
//! let why = model.explain("K.I.L.L them all", 3);
//! println!("{:?}", why.ngrams[0].ngram); // the n-gram that weighed most, e.g. "kill"
//! # Ok::<(), raqib::Error>(())
//! ```

pub mod data;
pub mod error;
pub mod eval;
pub mod features;
pub mod model;
pub mod normalize;
pub mod serve;
pub mod sparse;
pub mod train;

pub use error::{Error, ModelError, Result};
pub use model::{Explanation, LabelScore, Model, Scores};

#[cfg(test)]
pub(crate) mod testutil;
