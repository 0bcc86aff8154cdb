//! Stages 4–6: a trained model scores text. Hashed sparse vector → logistic regression per label →
//! calibrated probability → decision against the label's threshold.
//!
//! The model keeps one interleaved row `[idf, w₀, …, w_{L−1}]` (padded to a power of two) per
//! *feature* — a bucket seen in at least `min_df` training texts — so an n-gram costs one cache
//! line. Rows are stored densely, in bucket order; a bitmap over all buckets says which are
//! features, and each 64-bucket word of it carries the count of features before it, so a bucket's
//! row is one popcount away (rank). An n-gram the model never saw costs one bitmap test. For the
//! default model (about 100k features of 2^20 buckets) the rows take 1.6 MB instead of 16 MB.

mod format;
#[cfg(test)]
mod tests;

pub use format::{FORMAT_VERSION, MAGIC};

use crate::features::{FeatScratch, FeatureConfig, FeatureKind, Featurizer, TermCounter};
use crate::normalize::{NormScratch, NormalizeConfig, Normalizer};
use crate::train::calibrate::Platt;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::ops::Range;

/// Per-label parameters besides the weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelHead {
    pub name: String,
    pub bias: f32,
    pub calibration: Platt,
    /// Calibrated probability at or above which the label is flagged.
    pub threshold: f64,
}

/// Provenance and quality figures stored with the model (not used for scoring).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    /// Free-form model name, e.g. `raqib-default`.
    pub name: String,
    /// raqib version that trained it.
    pub raqib_version: String,
    /// UTC training date, RFC 3339 (from `SOURCE_DATE_EPOCH` when set, for reproducible builds).
    pub created_at: String,
    /// xxh3-64 (hex) of the training texts and labels, in order.
    pub data_hash: String,
    pub rows: u64,
    /// Positives per label, same order as the labels.
    pub positives: Vec<u64>,
    /// Training hyperparameters, as given.
    pub params: serde_json::Value,
    /// Validation figures per label (held-out split or cross-validation), as computed at training.
    pub validation: Vec<serde_json::Value>,
}

/// A trained classifier: everything needed to score, nothing rebuilt from flags.
#[derive(Clone)]
pub struct Model {
    normalizer: Normalizer,
    featurizer: Featurizer,
    labels: Vec<LabelHead>,
    meta: ModelMeta,
    /// Interleaved `[idf, w₀ … w_{L−1}, padding]` per feature, in bucket order.
    rows: Vec<f32>,
    stride: usize,
    /// Which buckets are features, and the row of each (see the module docs).
    index: Vec<RankWord>,
    /// A row of zeros: the weights of a bucket that is not a feature.
    zero: Vec<f32>,
    /// xxh3-64 of the serialised file: identifies the model in logs and API answers.
    hash: u64,
    /// 1 + ln(tf) for small tf, so the scorer rarely calls `ln`.
    tf_weights: [f32; 32],
}

/// 64 buckets of the feature index: which are features, and how many features come before them.
#[derive(Debug, Clone, Copy, Default)]
struct RankWord {
    bits: u64,
    before: u32,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("name", &self.meta.name)
            .field("labels", &self.labels)
            .field("features", self.featurizer.config())
            .field("hash", &format_args!("{:016x}", self.hash))
            .finish()
    }
}

/// One label's result for one text.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LabelScore {
    /// Calibrated probability in [0, 1].
    pub probability: f64,
    pub threshold: f64,
    pub flagged: bool,
    /// Raw decision value (before calibration).
    pub margin: f64,
}

/// A text's result: one [`LabelScore`] per model label, in model order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scores {
    pub labels: Vec<LabelScore>,
    /// Any label flagged.
    pub flagged: bool,
}

impl Scores {
    /// Highest probability over the labels (0 for a model without labels).
    pub fn max_probability(&self) -> f64 {
        self.labels.iter().map(|l| l.probability).fold(0.0, f64::max)
    }
}

/// One n-gram's part in a score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contribution {
    /// The n-gram as normalised (`_` marks a word boundary).
    pub ngram: String,
    pub kind: FeatureKind,
    /// Contribution to each label's decision value, model label order.
    pub per_label: Vec<f64>,
    /// Contribution to the explained label.
    pub weight: f64,
    /// Byte ranges of the *original* text where this n-gram occurs.
    pub spans: Vec<Range<usize>>,
}

/// Why a text scored as it did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    pub scores: Scores,
    /// Index of the explained label: the flagged label with the highest probability, or the
    /// highest-probability label when none is flagged.
    pub label: usize,
    /// Strongest contributions toward the explained label first.
    pub ngrams: Vec<Contribution>,
    pub normalized: String,
}

#[derive(Default)]
struct Scratch {
    norm: NormScratch,
    feat: FeatScratch,
    text: String,
    counter: TermCounter,
    dots: Vec<f64>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

impl Model {
    /// Assemble a model from its parts. `idf` and each of `weights` have one entry per bucket.
    /// Errors if the sizes disagree with the feature configuration or a value is not finite.
    pub fn from_parts(
        normalize: NormalizeConfig,
        features: FeatureConfig,
        labels: Vec<LabelHead>,
        idf: &[f32],
        weights: &[Vec<f32>],
        meta: ModelMeta,
    ) -> crate::Result<Model> {
        let featurizer = Featurizer::new(features)?;
        let buckets = features.buckets();
        let bad = |m: String| crate::Error::InvalidParams(m);
        if idf.len() != buckets || weights.len() != labels.len() || weights.iter().any(|w| w.len() != buckets) {
            return Err(bad(format!("model parts do not match {buckets} buckets and {} labels", labels.len())));
        }
        if idf.iter().chain(weights.iter().flatten()).any(|v| !v.is_finite()) {
            return Err(bad("model weights contain NaN or infinity".into()));
        }
        let mut model = Model::empty(normalize, featurizer, labels, meta);
        for b in 0..buckets {
            // A bucket with idf 0 is not a feature: its weights can never count, and are not kept.
            if idf[b] != 0.0 {
                model.push_feature(b as u32, idf[b], weights.iter().map(|w| w[b]));
            }
        }
        model.finish_index();
        model.hash = format::content_hash(&model);
        Ok(model)
    }

    fn empty(normalize: NormalizeConfig, featurizer: Featurizer, labels: Vec<LabelHead>, meta: ModelMeta) -> Model {
        let stride = (1 + labels.len()).next_power_of_two();
        let buckets = featurizer.config().buckets();
        let mut tf_weights = [0.0; 32];
        for (tf, w) in tf_weights.iter_mut().enumerate() {
            *w = featurizer.config().tf_weight(tf as u32);
        }
        Model {
            normalizer: Normalizer::new(normalize),
            featurizer,
            labels,
            meta,
            rows: Vec::new(),
            stride,
            index: vec![RankWord::default(); buckets.div_ceil(64)],
            zero: vec![0.0; stride],
            hash: 0,
            tf_weights,
        }
    }

    /// Add the next feature; buckets must come in increasing order, then [`Model::finish_index`].
    fn push_feature(&mut self, bucket: u32, idf: f32, weights: impl Iterator<Item = f32>) {
        self.index[(bucket >> 6) as usize].bits |= 1 << (bucket & 63);
        let start = self.rows.len();
        self.rows.push(idf);
        self.rows.extend(weights);
        self.rows.resize(start + self.stride, 0.0);
    }

    /// Count the features before each word of the index.
    fn finish_index(&mut self) {
        let mut before = 0u32;
        for w in &mut self.index {
            w.before = before;
            before += w.bits.count_ones();
        }
        self.rows.shrink_to_fit();
    }

    /// Row of `bucket` if it is a feature.
    #[inline(always)]
    fn feature_row(&self, bucket: u32) -> Option<u32> {
        let w = self.index[(bucket >> 6) as usize];
        let bit = 1u64 << (bucket & 63);
        (w.bits & bit != 0).then(|| w.before + (w.bits & (bit - 1)).count_ones())
    }

    #[inline(always)]
    fn row(&self, row: u32) -> &[f32] {
        &self.rows[row as usize * self.stride..][..self.stride]
    }

    /// Number of features (buckets with an idf) in the model.
    pub fn features(&self) -> usize {
        self.rows.len() / self.stride
    }

    /// The features in bucket order: (bucket, row).
    fn feature_buckets(&self) -> impl Iterator<Item = (u32, &[f32])> + '_ {
        self.index.iter().enumerate().flat_map(move |(w, word)| {
            (0..64u32).filter(move |bit| word.bits & (1 << bit) != 0).map(move |bit| {
                let bucket = (w as u32) * 64 + bit;
                (bucket, self.row(word.before + (word.bits & ((1u64 << bit) - 1)).count_ones()))
            })
        })
    }

    pub fn labels(&self) -> &[LabelHead] {
        &self.labels
    }

    pub fn label_names(&self) -> impl Iterator<Item = &str> {
        self.labels.iter().map(|l| l.name.as_str())
    }

    pub fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    pub fn normalizer(&self) -> &Normalizer {
        &self.normalizer
    }

    pub fn featurizer(&self) -> &Featurizer {
        &self.featurizer
    }

    /// Identity of the model content (hex of xxh3-64 over the scoring parameters).
    pub fn hash(&self) -> String {
        format!("{:016x}", self.hash)
    }

    /// Replace the threshold of every label (e.g. a command-line override). Errors unless 0..=1.
    pub fn set_threshold(&mut self, label: usize, threshold: f64) -> crate::Result<()> {
        if !(0.0..=1.0).contains(&threshold) {
            return Err(crate::Error::InvalidParams(format!("threshold {threshold} is not within 0..=1")));
        }
        let head =
            self.labels.get_mut(label).ok_or_else(|| crate::Error::InvalidParams(format!("no label {label}")))?;
        head.threshold = threshold;
        Ok(())
    }

    /// idf of a bucket and the weight of each label there (0 for a bucket that is not a feature).
    pub fn bucket_row(&self, bucket: u32) -> (f32, &[f32]) {
        let nl = self.labels.len();
        match self.feature_row(bucket) {
            Some(r) => {
                let row = self.row(r);
                (row[0], &row[1..1 + nl])
            }
            None => (0.0, &self.zero[..nl]),
        }
    }

    #[inline]
    fn tf_weight(&self, tf: usize) -> f32 {
        match self.tf_weights.get(tf) {
            Some(&w) => w,
            None => self.featurizer.config().tf_weight(tf as u32),
        }
    }

    /// Score one text. Never fails: empty text scores as the model's prior.
    pub fn score(&self, text: &str) -> Scores {
        SCRATCH.with(|s| {
            let mut s = s.borrow_mut();
            self.score_with(text, &mut s)
        })
    }

    /// Score text given as bytes; invalid UTF-8 is replaced by U+FFFD (lossy), never an error.
    pub fn score_bytes(&self, bytes: &[u8]) -> Scores {
        self.score(&String::from_utf8_lossy(bytes))
    }

    /// Score many texts in parallel; results in input order.
    pub fn score_batch<S: AsRef<str> + Sync>(&self, texts: &[S]) -> Vec<Scores> {
        texts.par_iter().with_min_len(64).map(|t| self.score(t.as_ref())).collect()
    }

    fn score_with(&self, text: &str, s: &mut Scratch) -> Scores {
        let Scratch { norm, feat, text: normalized, counter, dots } = s;
        self.normalizer.normalize_into(text, norm, normalized, None);
        self.featurizer.count_terms(
            normalized,
            feat,
            counter,
            |b| prefetch(&self.index[(b >> 6) as usize]),
            |b| self.feature_row(b),
            |r| prefetch(&self.rows[r as usize * self.stride]),
        );
        let inv_norm = self.accumulate(counter, dots);
        self.finish(dots, inv_norm)
    }

    /// Dot products of the TF-IDF vector of the counted terms (keyed by feature row) with every
    /// label's weights; returns the factor that L2-normalises them.
    #[inline]
    fn accumulate(&self, counter: &TermCounter, dots: &mut Vec<f64>) -> f64 {
        let nl = self.labels.len();
        dots.clear();
        dots.resize(nl, 0.0);
        let mut norm2 = 0.0f64;
        for (r, tf) in counter.terms() {
            let row = self.row(r);
            let idf = row[0];
            if idf != 0.0 {
                let x = (self.tf_weight(tf as usize) * idf) as f64;
                norm2 += x * x;
                for (d, &w) in dots.iter_mut().zip(&row[1..1 + nl]) {
                    *d += x * w as f64;
                }
            }
        }
        if self.featurizer.config().l2_normalize && norm2 > 0.0 {
            1.0 / norm2.sqrt()
        } else {
            1.0
        }
    }

    fn finish(&self, dots: &[f64], inv_norm: f64) -> Scores {
        let mut flagged = false;
        let labels = self
            .labels
            .iter()
            .zip(dots)
            .map(|(head, &dot)| {
                let margin = dot * inv_norm + head.bias as f64;
                let probability = head.calibration.probability(margin);
                let f = probability >= head.threshold;
                flagged |= f;
                LabelScore { probability, threshold: head.threshold, flagged: f, margin }
            })
            .collect();
        Scores { labels, flagged }
    }

    /// Score `text` and list the `top` n-grams that pushed the explained label's decision value
    /// the most (positive contributions first), each with its spans in the original text.
    pub fn explain(&self, text: &str, top: usize) -> Explanation {
        let normalized = self.normalizer.normalize_mapped(text);
        let features = self.featurizer.features(&normalized.text);
        // The same rows, counted in the same order, as the scorer: the same sums, bit for bit.
        let rows: Vec<u32> = features.iter().filter_map(|f| self.feature_row(f.bucket)).collect();
        let mut counter = TermCounter::default();
        counter.count(&rows, |_| {});
        let mut dots = Vec::new();
        let inv_norm = self.accumulate(&counter, &mut dots);
        let scores = self.finish(&dots, inv_norm);
        let label = pick_label(&scores);

        // Group occurrences by bucket: the bucket's weight is shared by all of them.
        let mut by_bucket: std::collections::BTreeMap<u32, Contribution> = std::collections::BTreeMap::new();
        for f in &features {
            let span = normalized.original_span(f.span.clone());
            let entry = by_bucket.entry(f.bucket).or_insert_with(|| Contribution {
                ngram: f.display(&normalized.text),
                kind: f.kind,
                per_label: Vec::new(),
                weight: 0.0,
                spans: Vec::new(),
            });
            if !entry.spans.contains(&span) {
                entry.spans.push(span);
            }
        }
        let counts: std::collections::HashMap<u32, u32> = counter.terms().collect();
        let mut out: Vec<Contribution> = by_bucket
            .into_iter()
            .filter_map(|(b, mut c)| {
                let tf = counts[&self.feature_row(b)?] as usize;
                let (idf, w) = self.bucket_row(b);
                if idf == 0.0 {
                    return None;
                }
                let x = (self.tf_weight(tf) * idf) as f64 * inv_norm;
                c.per_label = w.iter().map(|&w| x * w as f64).collect();
                c.weight = c.per_label.get(label).copied().unwrap_or(0.0);
                Some(c)
            })
            .collect();
        out.sort_by(|a, b| b.weight.total_cmp(&a.weight).then_with(|| a.ngram.cmp(&b.ngram)));
        out.truncate(top);
        Explanation { scores, label, ngrams: out, normalized: normalized.text }
    }
}

fn pick_label(scores: &Scores) -> usize {
    let key = |i: usize| (scores.labels[i].flagged, scores.labels[i].probability);
    (0..scores.labels.len())
        .max_by(|&a, &b| key(a).partial_cmp(&key(b)).unwrap_or(std::cmp::Ordering::Equal))
        .unwrap_or(0)
}

/// Character (Unicode scalar) offsets of a byte range of `text`, for APIs that count characters.
pub fn char_span(text: &str, bytes: &Range<usize>) -> Range<usize> {
    let start = text.get(..bytes.start).map_or(0, |s| s.chars().count());
    let len = text.get(bytes.clone()).map_or(0, |s| s.chars().count());
    start..start + len
}

/// The default model's file, compiled into the library from `models/default.raqib`.
pub static EMBEDDED_DEFAULT: &[u8] = include_bytes!("../../models/default.raqib");

/// Load the default model compiled into raqib (no file needed). Errors only if the embedded
/// bytes are damaged, reported with the path `<embedded>`.
pub fn embedded_default() -> crate::Result<Model> {
    Model::from_bytes(EMBEDDED_DEFAULT).map_err(|kind| crate::Error::model("<embedded>", kind))
}

/// Ask the CPU to start loading the cache line of `at` now. The model's index and rows are
/// megabytes, so the few hundred n-grams of a comment are cache misses, and overlapping them is
/// much of the speed.
#[inline(always)]
fn prefetch<T>(at: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching has no architectural effect and cannot fault; the pointer comes from a
    // reference anyway.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>((at as *const T).cast())
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = at;
}
