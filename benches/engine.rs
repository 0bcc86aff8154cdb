//! Per-comment cost of each pipeline stage (criterion): normalise, featurise, score, explain, on a
//! few comments written for this benchmark (Arabic, English, obfuscated, long).
//! `cargo bench --bench engine`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use raqib::features::{FeatScratch, TermCounter};
use raqib::normalize::NormScratch;

const COMMENTS: &[(&str, &str)] = &[
    (
        "arabic-supplication",
        "اللهم احفظ بلادنا وأهلها من كل سوء، وارحم شهداءنا واشف جرحانا، واجعل هذا البلد آمنا مطمئنا",
    ),
    ("arabic-obfuscated", "اللـــهم اهـــلكهم وأحْصِهم عَدَدًا ولا تُبقِ منهم أحدا، ق ت ل هو الحل"),
    ("english", "Another attack on a market and the media still won't call it what it is. Condemn it, all of it."),
    ("english-evasion", "k.i.l.l every one of them, no mercy 🔪🔪"),
    (
        "long-mixed",
        "The minister said today that the army retook the town from ISIS after weeks of fighting. \
        الحمد لله على سلامة الأهالي، ونسأل الله أن يعود النازحون إلى بيوتهم قريبا. People in the comments \
        keep arguing about who is to blame, but the families just want to go home and rebuild their lives.",
    ),
];

fn bench(c: &mut Criterion) {
    let model = raqib::model::embedded_default().expect("embedded default model");
    let norm = model.normalizer().clone();
    let fz = model.featurizer().clone();
    for (name, text) in COMMENTS {
        let mut g = c.benchmark_group(*name);
        g.throughput(Throughput::Elements(1));
        let mut ns = NormScratch::default();
        let mut out = String::new();
        g.bench_function("normalise", |b| b.iter(|| norm.normalize_into(black_box(text), &mut ns, &mut out, None)));
        norm.normalize_into(text, &mut ns, &mut out, None);
        let normalized = out.clone();
        let (mut fs, mut counter) = (FeatScratch::default(), TermCounter::default());
        g.bench_function("featurise", |b| {
            b.iter(|| fz.count_terms(black_box(&normalized), &mut fs, &mut counter, |_| {}, Some, |_| {}))
        });
        g.bench_function("score", |b| b.iter(|| model.score(black_box(text))));
        g.bench_function("explain", |b| b.iter(|| model.explain(black_box(text), 10)));
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
