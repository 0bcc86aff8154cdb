use super::*;
use crate::error::ModelError;
use crate::testutil::tiny_model;
use proptest::prelude::*;

const SAMPLES: &[&str] = &[
    "we will kill them all",
    "اللهم انصر جنود الخلافة واقتلوهم",
    "the weather is nice, coffee and family",
    "",
    "   ",
    "🔪🔪🔪",
    "ISIS داعش caliphate الخلافة 2024",
    "kiiiiill them all, اللهههم اهلكهم",
];

#[test]
fn model_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Model>();
}

#[test]
fn round_trip_through_bytes_and_file() {
    let model = tiny_model();
    let bytes = model.to_bytes();
    let back = Model::from_bytes(&bytes).unwrap();
    assert!(back.to_bytes() == bytes, "bytes differ after a round trip");
    assert_eq!(back.hash(), model.hash());
    for s in SAMPLES {
        assert_eq!(back.score(s), model.score(s), "{s:?}");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.raqib");
    model.save(&path).unwrap();
    assert!(Model::load(&path).unwrap().to_bytes() == bytes);
    // The atomic write leaves nothing else behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

/// Rewrite the trailing checksum after tampering, to reach the checks behind it.
fn reseal(mut bytes: Vec<u8>) -> Vec<u8> {
    let n = bytes.len() - 8;
    let sum = xxhash_rust::xxh3::xxh3_64(&bytes[..n]);
    bytes[n..].copy_from_slice(&sum.to_le_bytes());
    bytes
}

fn header_len(bytes: &[u8]) -> usize {
    u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize
}

#[test]
fn every_corruption_is_a_typed_error() {
    let good = tiny_model().to_bytes();
    let err = |b: &[u8]| Model::from_bytes(b).unwrap_err();

    assert_eq!(err(b""), ModelError::BadMagic);
    assert_eq!(err(b"PK\x03\x04 a zip file"), ModelError::BadMagic);
    for cut in [3, 12, 40, good.len() / 2, good.len() - 1] {
        assert!(matches!(err(&good[..cut]), ModelError::Truncated(_)), "cut at {cut}: {:?}", err(&good[..cut]));
    }

    let mut flipped = good.clone();
    let at = good.len() - 20;
    flipped[at] ^= 0x40;
    assert!(matches!(err(&flipped), ModelError::Checksum { .. }));

    let mut newer = good.clone();
    newer[8..12].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    assert_eq!(err(&newer), ModelError::NewerVersion { found: FORMAT_VERSION + 1, supported: FORMAT_VERSION });

    let mut longer = good.clone();
    longer.splice(good.len() - 8..good.len() - 8, [0u8; 12]);
    assert!(matches!(err(&reseal(longer)), ModelError::SizeMismatch(_)));

    // A NaN weight in the first entry (after its u32 bucket index and f32 idf).
    let first_weight = 16 + header_len(&good) + 8;
    let mut nan = good.clone();
    nan[first_weight..first_weight + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    assert!(matches!(err(&reseal(nan)), ModelError::NonFinite(_)));
    let mut inf = good.clone();
    inf[first_weight - 4..first_weight].copy_from_slice(&f32::INFINITY.to_le_bytes());
    assert!(matches!(err(&reseal(inf)), ModelError::NonFinite(_)));

    // Entries out of order.
    let entry = 8 + 4 * 2;
    let mut swapped = good.clone();
    let e0 = 16 + header_len(&good);
    let (a, b) = (swapped[e0..e0 + entry].to_vec(), swapped[e0 + entry..e0 + 2 * entry].to_vec());
    swapped[e0..e0 + entry].copy_from_slice(&b);
    swapped[e0 + entry..e0 + 2 * entry].copy_from_slice(&a);
    assert!(matches!(err(&reseal(swapped)), ModelError::SizeMismatch(_)));

    // A header that is valid JSON-framed but wrong: garbage with a correct checksum.
    let mut garbled = good.clone();
    garbled[16] = b'[';
    assert!(matches!(err(&reseal(garbled.clone())), ModelError::Header(_)));
    // ...and without resealing it is reported as corruption.
    assert!(matches!(err(&garbled), ModelError::Checksum { .. }));
}

#[test]
fn load_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.raqib");
    std::fs::write(&path, b"RAQIBMDL\x01").unwrap();
    let e = Model::load(&path).unwrap_err().to_string();
    assert!(e.contains("broken.raqib") && e.contains("truncated"), "{e}");
    let e = Model::load(dir.path().join("missing.raqib")).unwrap_err().to_string();
    assert!(e.contains("missing.raqib"), "{e}");
}

/// Scores a committed fixture model must still give, to 1e-9.
fn assert_fixture_scores(model: &Model, expected: &str) {
    assert_eq!(model.label_names().collect::<Vec<_>>(), ["violence", "extremism"]);
    for line in expected.lines() {
        let (text, probs) = line.split_once('\t').unwrap();
        let want: Vec<f64> = probs.split(',').map(|p| p.parse().unwrap()).collect();
        let got: Vec<f64> = model.score(text).labels.iter().map(|l| l.probability).collect();
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-9, "{text:?}: {got:?} != {want:?}");
        }
    }
}

/// Model files written by earlier format versions and committed: every later raqib must load
/// them and score the same. Add one per new format version (`write_model_fixture`), keep the rest.
#[test]
fn committed_v1_fixture_still_loads_and_scores_the_same() {
    let model = Model::from_bytes(include_bytes!("../../tests/fixtures/model-v1.raqib")).expect("the v1 fixture loads");
    // Format 1 predates squeezed repeats: its character n-grams keep them, as when it was written.
    assert!(!model.featurizer().config().squeeze_repeats);
    assert_fixture_scores(&model, include_str!("../../tests/fixtures/model-v1.scores.txt"));
}

#[test]
fn committed_v2_fixture_still_loads_and_scores_the_same() {
    let model = Model::from_bytes(include_bytes!("../../tests/fixtures/model-v2.raqib")).expect("the v2 fixture loads");
    assert!(model.featurizer().config().squeeze_repeats);
    assert_fixture_scores(&model, include_str!("../../tests/fixtures/model-v2.scores.txt"));
}

/// Writes the fixture of the current format version (run once with `--ignored` when a new
/// format version is introduced, then add a test like the ones above).
#[test]
#[ignore]
fn write_model_fixture() {
    let model = tiny_model();
    std::fs::create_dir_all("tests/fixtures").unwrap();
    model.save(format!("tests/fixtures/model-v{FORMAT_VERSION}.raqib")).unwrap();
    let lines: Vec<String> = SAMPLES
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| {
            let p: Vec<String> = model.score(s).labels.iter().map(|l| format!("{:.12}", l.probability)).collect();
            format!("{s}\t{}", p.join(","))
        })
        .collect();
    std::fs::write(format!("tests/fixtures/model-v{FORMAT_VERSION}.scores.txt"), lines.join("\n") + "\n").unwrap();
}

#[test]
fn batch_keeps_order_and_matches_single_scores() {
    let model = tiny_model();
    let texts: Vec<String> = (0..500).map(|i| format!("{} {i}", SAMPLES[i % SAMPLES.len()])).collect();
    let batch = model.score_batch(&texts);
    assert_eq!(batch.len(), texts.len());
    for (t, s) in texts.iter().zip(&batch) {
        assert_eq!(&model.score(t), s);
    }
}

#[test]
fn awkward_inputs_have_defined_results() {
    let model = tiny_model();
    let ten_mb = "kill them اقتلوهم ".repeat(10 * 1024 * 1024 / 30);
    let inputs = ["", " \n\t ", "\0\0\0", "a\0b", "😀😀😀", "שלום مرحبا hello", ten_mb.as_str()];
    for s in inputs {
        let scores = model.score(s);
        assert_eq!(scores.labels.len(), 2);
        assert!(scores.labels.iter().all(|l| (0.0..=1.0).contains(&l.probability)), "{s:.20}");
    }
    // No features at all: the model's prior, the same for every empty-looking text.
    assert_eq!(model.score(""), model.score(" \n\t "));
    assert_eq!(model.score(""), model.score("\u{200B}\u{FEFF}"));
    assert_eq!(model.score_bytes(b"kill \xFF\xFE them").labels.len(), 2);
}

#[test]
fn explanation_spans_point_into_the_original_text() {
    let model = tiny_model();
    let text = "We will K.I.L.L them, اقـــتـــلوهم";
    let why = model.explain(text, 10);
    assert_eq!(why.scores, model.score(text));
    assert!(!why.ngrams.is_empty());
    assert!(why.ngrams.windows(2).all(|w| w[0].weight >= w[1].weight));
    for c in &why.ngrams {
        for span in &c.spans {
            let original = &text[span.clone()];
            assert!(!original.is_empty(), "{c:?}");
        }
    }
    // The strongest n-grams for "violence" come from the two violent words (an n-gram such as
    // "ill" may also occur elsewhere, in "will": at least one of its spans is in a violent word).
    let violent =
        [text.find("K.I.L.L").unwrap()..text.find("K.I.L.L").unwrap() + 7, text.find('ا').unwrap()..text.len()];
    let inside = |s: &std::ops::Range<usize>| violent.iter().any(|v| v.start <= s.start && s.end <= v.end);
    assert!(why.ngrams[..3].iter().all(|c| c.spans.iter().any(inside)), "{:?}", &why.ngrams[..3]);
    let top = &why.ngrams[0];
    let original = &text[top.spans[0].clone()];
    let chars = char_span(text, &top.spans[0]);
    assert_eq!(text.chars().skip(chars.start).take(chars.len()).collect::<String>(), original);
}

#[test]
fn threshold_override_is_checked() {
    let mut model = tiny_model().clone();
    assert!(model.set_threshold(0, 1.5).is_err());
    assert!(model.set_threshold(7, 0.5).is_err());
    model.set_threshold(0, 0.0).unwrap();
    assert!(model.score("anything").labels[0].flagged);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Evasion by invisible characters, tatweel or diacritics changes nothing.
    #[test]
    fn score_ignores_zero_width_tatweel_and_diacritics(
        text in "[a-z ا-ي]{1,40}",
        noise in proptest::collection::vec(prop_oneof![Just('\u{200B}'), Just('\u{200D}'), Just('\u{640}'), Just('\u{64B}'), Just('\u{650}'), Just('\u{FEFF}')], 1..10),
        seed in any::<u64>(),
    ) {
        let model = tiny_model();
        let mut chars: Vec<char> = text.chars().collect();
        let mut rng = crate::train::SplitMix64(seed);
        for c in noise {
            // After a letter: a mark at the very start of a word would attach to the space.
            let letters: Vec<usize> = (0..chars.len()).filter(|&i| chars[i] != ' ').collect();
            if letters.is_empty() { break; }
            let at = letters[rng.below(letters.len() as u64) as usize] + 1;
            chars.insert(at, c);
        }
        let noisy: String = chars.into_iter().collect();
        prop_assert_eq!(model.score(&noisy), model.score(&text));
    }

    #[test]
    fn arbitrary_unicode_scores_without_panic(s in any::<String>()) {
        let scores = tiny_model().score(&s);
        prop_assert!(scores.labels.iter().all(|l| l.probability.is_finite()));
        let _ = tiny_model().explain(&s, 5);
    }
}
