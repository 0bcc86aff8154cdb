//! Corpus throughput: comments scored per second on every text of ../shared/datasets/suite, with
//! 1 and 2 threads, beside the floor (a bare loop that only hashes every n-gram and reads its
//! weight) and the stages on their own. `cargo bench --bench throughput`.
//! Model: RAQIB_BENCH_MODEL or the embedded default.

mod common;

use raqib::features::FeatScratch;
use raqib::normalize::NormScratch;
use rayon::prelude::*;
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Median comments/s of `f` over `reps` passes of the corpus.
fn rate(texts: &[String], reps: usize, mut f: impl FnMut() -> f64) -> f64 {
    let mut rates = Vec::new();
    let mut sink = 0.0;
    for _ in 0..reps {
        let t = Instant::now();
        sink += f();
        rates.push(texts.len() as f64 / t.elapsed().as_secs_f64());
    }
    std::hint::black_box(sink);
    median(rates)
}

fn main() {
    let Some(mut texts) = common::suite_texts() else { return };
    // RAQIB_BENCH_LIMIT=N keeps the first N comments (for instruction counting under callgrind).
    if let Some(n) = std::env::var("RAQIB_BENCH_LIMIT").ok().and_then(|v| v.parse().ok()) {
        texts.truncate(n);
    }
    let path = std::env::var_os("RAQIB_BENCH_MODEL");
    // Load time: median of 21 loads (from the file, or parsing the embedded default).
    let mut loads = Vec::new();
    let mut model = None;
    for _ in 0..21 {
        let t = Instant::now();
        let m = match &path {
            Some(p) => raqib::Model::load(p).expect("bench model loads"),
            None => raqib::model::embedded_default().expect("embedded model"),
        };
        loads.push(t.elapsed().as_secs_f64() * 1e3);
        model = Some(m);
    }
    let model = model.expect("loaded");
    let entries = model.features();
    println!("model load: median {:.1} ms ({} features in the file)", median(loads), entries);
    let chars: usize = texts.iter().map(|t| t.chars().count()).sum();
    println!(
        "corpus: {} comments, mean {:.0} characters; model {:?}, 2^{} buckets, {} labels",
        texts.len(),
        chars as f64 / texts.len() as f64,
        model.meta().name,
        model.featurizer().config().bits,
        model.labels().len()
    );
    let reps = 7;
    // For profiling one path under perf: RAQIB_BENCH_ONLY=score runs just the 1-thread scorer.
    if std::env::var("RAQIB_BENCH_ONLY").as_deref() == Ok("score") {
        let reps = std::env::var("RAQIB_BENCH_REPS").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
        let r = rate(&texts, reps, || texts.iter().map(|t| model.score(t).labels[0].probability).sum());
        println!("Model::score, 1 thread: {r:.0} comments/s");
        return;
    }
    let pool = |n| rayon::ThreadPoolBuilder::new().num_threads(n).build().expect("pool");
    let (one, two) = (pool(1), pool(2));

    // Floor: hash every n-gram of the raw text and read its weight. No normalisation, no term
    // counting, no idf, no norm, no calibration.
    let fz = model.featurizer().clone();
    let floor = |t: &String, fs: &mut FeatScratch, b: &mut Vec<u32>| {
        b.clear();
        fz.buckets(t, fs, b);
        b.iter().map(|&k| model.bucket_row(k).1[0] as f64).sum::<f64>()
    };
    let floor_1 = one.install(|| {
        let (mut fs, mut b) = (FeatScratch::default(), Vec::new());
        rate(&texts, reps, || texts.iter().map(|t| floor(t, &mut fs, &mut b)).sum())
    });
    let floor_2 = two.install(|| {
        rate(&texts, reps, || {
            texts
                .par_iter()
                .with_min_len(256)
                .map_init(|| (FeatScratch::default(), Vec::new()), |(fs, b), t| floor(t, fs, b))
                .sum()
        })
    });
    let norm = model.normalizer().clone();
    let normalise_1 = one.install(|| {
        let (mut ns, mut out) = (NormScratch::default(), String::new());
        rate(&texts, reps, || {
            texts
                .iter()
                .map(|t| {
                    norm.normalize_into(t, &mut ns, &mut out, None);
                    out.len() as f64
                })
                .sum()
        })
    });
    let featurise_1 = one.install(|| {
        let (mut ns, mut out, mut fs, mut b) =
            (NormScratch::default(), String::new(), FeatScratch::default(), Vec::new());
        rate(&texts, reps, || {
            texts
                .iter()
                .map(|t| {
                    norm.normalize_into(t, &mut ns, &mut out, None);
                    b.clear();
                    fz.buckets(&out, &mut fs, &mut b);
                    b.len() as f64
                })
                .sum()
        })
    });
    let count_1 = one.install(|| {
        let (mut ns, mut out, mut fs, mut b, mut c) = (
            NormScratch::default(),
            String::new(),
            FeatScratch::default(),
            Vec::new(),
            raqib::features::TermCounter::default(),
        );
        rate(&texts, reps, || {
            texts
                .iter()
                .map(|t| {
                    norm.normalize_into(t, &mut ns, &mut out, None);
                    b.clear();
                    fz.buckets(&out, &mut fs, &mut b);
                    c.count(&b, |_| {});
                    c.len() as f64
                })
                .sum()
        })
    });
    let score_1 =
        one.install(|| rate(&texts, reps, || texts.iter().map(|t| model.score(t).labels[0].probability).sum()));
    let score_2 =
        two.install(|| rate(&texts, reps, || model.score_batch(&texts).iter().map(|s| s.labels[0].probability).sum()));

    println!("{:<46} {:>12}", "measure (median of 7 passes)", "comments/s");
    println!("{:<46} {:>12.0}", "normalise only, 1 thread", normalise_1);
    println!("{:<46} {:>12.0}", "normalise + featurise, 1 thread", featurise_1);
    println!("{:<46} {:>12.0}", "normalise + featurise + count terms, 1 thread", count_1);
    println!("{:<46} {:>12.0}", "floor: hash n-grams + read weight, 1 thread", floor_1);
    println!("{:<46} {:>12.0}", "floor: hash n-grams + read weight, 2 threads", floor_2);
    println!("{:<46} {:>12.0}", "Model::score, 1 thread", score_1);
    println!("{:<46} {:>12.0}", "Model::score_batch, 2 threads", score_2);
    println!(
        "ratios: floor/score 1 thread {:.2}, 2 threads {:.2}; 2 threads/1 thread {:.2}",
        floor_1 / score_1,
        floor_2 / score_2,
        score_2 / score_1
    );
}
