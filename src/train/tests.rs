use super::*;
use crate::testutil::corpus;
use linfa::ParamGuard;
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2};

/// Reference check: our trust-region Newton solver and linfa-logistic (dense, argmin L-BFGS)
/// minimise the same objective, Σ log(1 + exp(−y·(x·w + b))) + α/2‖w‖², on the same data, and
/// must land on the same weights and loss. linfa-logistic 0.8.1 makes the *more frequent* class
/// its positive one: the labels here are mostly `false`, so its weights are for `false` and are
/// negated before comparing (read from `labels().pos`, not assumed).
#[test]
fn agrees_with_linfa_logistic_on_a_dense_problem() {
    let (n, d) = (300, 8);
    let mut rng = SplitMix64(3);
    let mut unit = || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    let true_w = [1.5, -2.0, 0.5, 0.0, 1.0, -0.5, 2.5, -1.0];
    let mut x = Array2::<f64>::zeros((n, d));
    let mut y = Array1::from_elem(n, false);
    for i in 0..n {
        let mut z = -1.2;
        for j in 0..d {
            // Sparse-ish: about 60% zeros, like text features.
            let v = if unit() < 0.6 { 0.0 } else { unit() * 2.0 - 0.5 };
            x[(i, j)] = v;
            z += true_w[j] * v;
        }
        y[i] = unit() < objective::sigmoid(z);
    }
    let alpha = 0.5;
    let reference = LogisticRegression::default()
        .alpha(alpha)
        .with_intercept(true)
        .gradient_tolerance(1e-10)
        .max_iterations(1000)
        .fit(&linfa::Dataset::new(x.clone(), y.clone()))
        .expect("linfa-logistic fits");
    let sign = if reference.labels().pos.class { 1.0 } else { -1.0 };
    assert_eq!(sign, -1.0, "the trap this test exists for: linfa took the frequent class `false` as positive");
    let ref_w: Vec<f64> = reference.params().iter().map(|v| sign * v).collect();
    let ref_b = sign * reference.intercept();

    let ours = LogisticParams::new()
        .c(1.0 / alpha) // ½‖w‖² + C·Σloss  ≡  (α/2)‖w‖² + Σloss, scaled by 1/α
        .balanced(false)
        .tolerance(1e-10)
        .check()
        .unwrap()
        .fit(&DatasetBase::new(CsrMatrix::from_dense(&x), y.clone().insert_axis(ndarray::Axis(1))))
        .expect("ours fits");
    let loss = |w: &[f64], b: f64| {
        let data: f64 = (0..n)
            .map(|i| {
                let z = (0..d).map(|j| x[(i, j)] * w[j]).sum::<f64>() + b;
                objective::log1p_exp_neg(if y[i] { z } else { -z })
            })
            .sum();
        data + 0.5 * alpha * w.iter().map(|v| v * v).sum::<f64>()
    };
    let our_w: Vec<f64> = ours.weights[0].iter().map(|&v| v as f64).collect();
    let our_b = ours.biases[0] as f64;
    for j in 0..d {
        assert!((our_w[j] - ref_w[j]).abs() < 2e-3, "w[{j}]: ours {} linfa {}", our_w[j], ref_w[j]);
    }
    assert!((our_b - ref_b).abs() < 2e-3, "bias: ours {our_b} linfa {ref_b}");
    let (lo, lr) = (loss(&our_w, our_b), loss(&ref_w, ref_b));
    assert!((lo - lr).abs() < 1e-5 * lr.abs(), "loss: ours {lo} linfa {lr}");
    assert!(ours.reports[0].converged);
}

fn params() -> ValidTrainParams {
    TrainParams::new(["violence", "extremism"])
        .features(crate::features::FeatureConfig { bits: 16, ..Default::default() })
        .created_at(Some(1_700_000_000))
        .check()
        .unwrap()
}

#[test]
fn training_is_bit_identical_across_runs_and_thread_counts() {
    let (texts, y) = corpus(800, 5);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| params().train(&texts, y.view(), None, &NoProgress).unwrap().0.to_bytes())
    };
    let one = run(1);
    assert!(one == run(1), "two runs on one thread differ");
    assert!(one == run(2), "1 and 2 threads differ");
    assert!(one == run(3), "1 and 3 threads differ");
}

#[test]
fn learns_the_synthetic_task_and_reports_it() {
    let (texts, y) = corpus(1200, 9);
    let (model, report) = params().train(&texts, y.view(), None, &NoProgress).unwrap();
    for l in &report.labels {
        let v = l.validation.as_ref().unwrap();
        assert!(v.roc_auc.unwrap() > 0.9, "{}: {v:?}", l.name);
        assert!(l.fit.converged, "{}: {:?}", l.name, l.fit);
    }
    assert_eq!(report.rows, 1200);
    assert!(report.features_used > 0 && report.features_used < report.buckets);
    assert!(model.score("we will kill them all").labels[0].flagged);
    assert!(model.score("join the brothers of the caliphate").labels[1].flagged);
    assert!(!model.score("the weather and the match").flagged);
    assert_eq!(model.meta().created_at, "2023-11-14T22:13:20Z");
}

#[test]
fn min_precision_target_is_met_on_validation() {
    let (texts, y) = corpus(1500, 11);
    let p = TrainParams::new(["violence", "extremism"])
        .features(crate::features::FeatureConfig { bits: 16, ..Default::default() })
        .threshold(ThresholdTarget::MinPrecision { precision: 0.97 })
        .validation(Validation::CrossValidation { folds: 4 })
        .check()
        .unwrap();
    let (_, report) = p.train(&texts, y.view(), None, &NoProgress).unwrap();
    for l in &report.labels {
        let v = l.validation.as_ref().unwrap();
        assert!(v.note.is_some() || v.confusion.precision() >= 0.97, "{}: {v:?}", l.name);
    }
}

#[test]
fn bad_training_input_is_a_typed_error() {
    let p = params();
    let texts = vec!["a".to_string(), "b".to_string()];
    let one_class = Array2::from_elem((2, 2), false);
    let e = p.train(&texts, one_class.view(), None, &NoProgress).unwrap_err();
    assert!(e.to_string().contains("both classes"), "{e}");
    let e = p.train(&[], Array2::from_elem((0, 2), false).view(), None, &NoProgress).unwrap_err();
    assert!(e.to_string().contains("no rows"), "{e}");
    let e = p.train(&texts, Array2::from_elem((2, 1), false).view(), None, &NoProgress).unwrap_err();
    assert!(e.to_string().contains("expected 2 rows × 2 labels"), "{e}");
}

#[test]
fn params_are_checked() {
    assert!(TrainParams::new(Vec::<String>::new()).check().is_err());
    assert!(TrainParams::new(["a", "a"]).check().is_err());
    assert!(TrainParams::new(["a"]).min_df(0).check().is_err());
    assert!(TrainParams::new(["a"]).validation(Validation::Holdout { fraction: 0.9 }).check().is_err());
    assert!(TrainParams::new(["a"]).validation(Validation::CrossValidation { folds: 1 }).check().is_err());
    assert!(TrainParams::new(["a"]).threshold(ThresholdTarget::MinPrecision { precision: 1.5 }).check().is_err());
    assert!(TrainParams::new(["a"]).logistic(LogisticParams::new().c(-1.0)).check().is_err());
    assert!(TrainParams::new(["a"]).logistic(LogisticParams::new().max_iter(0)).check().is_err());
    assert!(TrainParams::new(["a"]).check().is_ok());
}

#[test]
fn rfc3339_dates() {
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(rfc3339(1_795_000_000), "2026-11-18T11:06:40Z"); // python: datetime.fromtimestamp(1795000000, UTC)
}
