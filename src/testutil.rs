//! Shared fixtures for unit tests: a small synthetic multilingual corpus and a model trained on it.

use crate::train::{NoProgress, SplitMix64, TrainParams, Validation};
use crate::Model;
use linfa::ParamGuard;
use ndarray::Array2;

const VIOLENT: &[&str] = &["اقتلوهم", "kill", "slaughter", "ابادة", "اذبحوا", "burn them", "exterminate", "اقتل"];
const EXTREMIST: &[&str] = &["الخلافة", "caliphate", "بيعة", "dawlah", "جنود الدولة", "join the brothers"];
const NEUTRAL: &[&str] = &[
    "الطقس",
    "weather",
    "match",
    "المباراة",
    "prices",
    "الاسعار",
    "اللهم ارحم",
    "condemn",
    "نرفض الارهاب",
    "government",
    "الحكومة",
    "school",
    "family",
    "رمضان",
    "the news",
    "train",
    "coffee",
    "الدوري",
];

/// `n` texts with two labels (violence, extremism), deterministic for a seed.
pub fn corpus(n: usize, seed: u64) -> (Vec<String>, Array2<bool>) {
    let mut rng = SplitMix64(seed);
    let pick = |words: &[&str], rng: &mut SplitMix64| words[rng.below(words.len() as u64) as usize].to_string();
    let mut texts = Vec::with_capacity(n);
    let mut y = Array2::from_elem((n, 2), false);
    for i in 0..n {
        let kind = rng.below(4);
        let mut words: Vec<String> = (0..4 + rng.below(6)).map(|_| pick(NEUTRAL, &mut rng)).collect();
        if kind == 1 || kind == 3 {
            words.insert(rng.below(words.len() as u64) as usize, pick(VIOLENT, &mut rng));
            y[(i, 0)] = true;
        }
        if kind == 2 || kind == 3 {
            words.insert(rng.below(words.len() as u64) as usize, pick(EXTREMIST, &mut rng));
            y[(i, 1)] = true;
        }
        // A little label noise, so the problem is not separable.
        if rng.below(50) == 0 {
            y[(i, 0)] = !y[(i, 0)];
        }
        texts.push(words.join(" "));
    }
    (texts, y)
}

/// A small two-label model (2^16 buckets), trained once per test binary.
pub fn tiny_model() -> &'static Model {
    static MODEL: std::sync::OnceLock<Model> = std::sync::OnceLock::new();
    MODEL.get_or_init(|| {
        let (texts, y) = corpus(600, 1);
        let params = TrainParams::new(["violence", "extremism"])
            .features(crate::features::FeatureConfig { bits: 16, ..Default::default() })
            .validation(Validation::CrossValidation { folds: 3 })
            .created_at(Some(0))
            .check()
            .expect("valid params");
        params.train(&texts, y.view(), None, &NoProgress).expect("trains").0
    })
}
