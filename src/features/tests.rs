use super::*;
use proptest::prelude::*;

/// Repeats kept, so that each n-gram shows exactly the letters of its span (squeezing has its
/// own table below).
fn featurizer(char_min: u8, char_max: u8, word_ngrams: u8) -> Featurizer {
    Featurizer::new(FeatureConfig {
        char_min,
        char_max,
        word_ngrams,
        squeeze_repeats: false,
        ..FeatureConfig::default()
    })
    .unwrap()
}

fn shown(f: &Featurizer, text: &str) -> Vec<String> {
    f.features(text).iter().map(|x| x.display(text)).collect()
}

/// Golden buckets: computed independently with Python's `xxhash` package
/// (`xxh3_64_intdigest(ngram.encode(), seed) & (2**bits - 1)`). If this test fails, every model
/// file ever saved scores differently: do not "fix" the numbers, fix the code.
#[test]
fn golden_buckets() {
    let f = Featurizer::new(FeatureConfig::default()).unwrap();
    let chars: &[(&str, u32)] = &[
        (" ki", 342432),
        ("kill", 924523),
        (" kill ", 976976),
        ("اقت", 251909),
        ("قتل ", 635711),
        (" داعش ", 795573),
        ("🔪", 973072),
        (" 🔪🔪 ", 100264),
        ("خلافه", 984196),
    ];
    for (ngram, bucket) in chars {
        assert_eq!(f.char_bucket(ngram), *bucket, "char n-gram {ngram:?}");
    }
    let words: &[(&str, u32)] = &[("kill", 160987), ("داعش", 762609), ("kill them", 53433), ("اقتلوهم جميعا", 160691)];
    for (word, bucket) in words {
        assert_eq!(f.word_bucket(word), *bucket, "word {word:?}");
    }
    let small = Featurizer::new(FeatureConfig { bits: 16, ..FeatureConfig::default() }).unwrap();
    assert_eq!(small.char_bucket(" ki"), 14752);
    // The buckets the featuriser emits are the ones of the documented n-gram strings (with the
    // double l kept: by default character n-grams read it as one).
    let keep = Featurizer::new(FeatureConfig { squeeze_repeats: false, ..FeatureConfig::default() }).unwrap();
    let emitted: Vec<u32> = keep.features("kill").iter().map(|x| x.bucket).collect();
    assert!(emitted.contains(&342432) && emitted.contains(&924523) && emitted.contains(&160987));
    assert!(!emitted.contains(&976976), "6 graphemes is beyond the default char_max of 5");
}

#[test]
fn ngram_table() {
    let cases: &[(&str, u8, u8, u8, &[&str])] = &[
        // (what, min, max, words, expected n-grams in order)
        ("empty", 1, 5, 1, &[]),
        ("spaces only", 1, 5, 1, &[]),
        ("one letter", 1, 3, 0, &["a", "_a", "a_", "_a_"]),
        ("word 2..3", 2, 3, 0, &["_k", "ki", "il", "ll", "l_", "_ki", "kil", "ill", "ll_"]),
        ("short word stops at whole", 3, 6, 0, &["_ab", "ab_", "_ab_"]),
        ("arabic", 3, 3, 0, &["_قت", "قتل", "تل_"]),
        ("punctuation is its own token", 2, 2, 1, &["_k", "ki", "i_", "ki", "_!", "!!", "!_"]),
        ("emoji graphemes", 1, 2, 0, &["👍🏽", "🔪", "_👍🏽", "👍🏽🔪", "🔪_"]),
        ("combining mark stays in its grapheme", 1, 1, 0, &["e\u{301}", "x"]),
        ("word pairs", 0, 0, 2, &["a1", "b2", "a1 b2", "c3", "b2 c3"]),
        ("pairs do not cross symbols", 0, 0, 2, &["a1", "b2"]),
        ("rtl ltr mix", 0, 0, 2, &["isis", "داعش", "isis داعش"]),
    ];
    let inputs = ["", "   ", "a", "kill", "ab", "قتل", "ki!!", "👍🏽🔪", "e\u{301}x", "a1 b2 c3", "a1 ! b2", "isis داعش"];
    for ((what, min, max, words, expected), input) in cases.iter().zip(inputs) {
        let f = if *max == 0 {
            Featurizer::new(FeatureConfig { char_min: 0, char_max: 0, word_ngrams: *words, ..Default::default() })
                .unwrap()
        } else {
            featurizer(*min, *max, *words)
        };
        assert_eq!(shown(&f, input), *expected, "{what}: {input:?}");
    }
}

/// (what, text, each character 3-gram as hashed with repeats squeezed and the span it covers)
type SqueezeCase = (&'static str, &'static str, &'static [(&'static str, &'static str)]);

#[test]
fn squeeze_table() {
    let cases: &[SqueezeCase] = &[
        ("no repeat: unchanged", "qatl", &[("_qa", "qa"), ("qat", "qat"), ("atl", "atl"), ("tl_", "tl")]),
        ("a word's own double", "kill", &[("_ki", "ki"), ("kil", "kill"), ("il_", "ill")]),
        ("elongated = plain", "kiill", &[("_ki", "kii"), ("kil", "kiill"), ("il_", "iill")]),
        ("arabic elongation", "اللههم", &[("_ال", "الل"), ("اله", "اللهه"), ("لهم", "للههم"), ("هم_", "ههم")]),
        ("digits are not letters", "1000", &[("_10", "10"), ("100", "100"), ("000", "000"), ("00_", "00")]),
        ("emoji runs stay", "🔥🔥", &[("_🔥🔥", "🔥🔥"), ("🔥🔥_", "🔥🔥")]),
        (
            "combining marks ride along",
            "e\u{301}e\u{301}x",
            &[("_e\u{301}x", "e\u{301}e\u{301}x"), ("e\u{301}x_", "e\u{301}e\u{301}x")],
        ),
    ];
    let f = Featurizer::new(FeatureConfig { char_min: 3, char_max: 3, word_ngrams: 0, ..FeatureConfig::default() })
        .unwrap();
    for (what, text, expected) in cases {
        let got: Vec<(u32, &str)> = f.features(text).iter().map(|x| (x.bucket, &text[x.span.clone()])).collect();
        let want: Vec<(u32, &str)> = expected.iter().map(|(g, s)| (f.char_bucket(&g.replace('_', " ")), *s)).collect();
        assert_eq!(got, want, "{what}: {text:?}");
    }
    // The point of it: a stretched letter leaves the character n-grams of the word as they were.
    let buckets = |t: &str| f.features(t).iter().map(|x| x.bucket).collect::<Vec<_>>();
    assert_eq!(buckets("wholeeeee"), buckets("whole"));
    assert_eq!(buckets("kiiiiill"), buckets("kill"));
}

#[test]
fn spans_cover_the_ngram_in_the_text() {
    let f = featurizer(3, 3, 1);
    let text = "اقتل kill";
    for feat in f.features(text) {
        let body = &text[feat.span.clone()];
        let shown = feat.display(text);
        assert_eq!(shown.trim_matches('_'), body, "{feat:?}");
    }
}

#[test]
fn config_check_rejects_bad_values() {
    let bad = [
        FeatureConfig { bits: 15, ..Default::default() },
        FeatureConfig { bits: 25, ..Default::default() },
        FeatureConfig { char_min: 4, char_max: 3, ..Default::default() },
        FeatureConfig { char_min: 0, char_max: 3, ..Default::default() },
        FeatureConfig { char_max: 13, ..Default::default() },
        FeatureConfig { word_ngrams: 3, ..Default::default() },
        FeatureConfig { char_min: 0, char_max: 0, word_ngrams: 0, ..Default::default() },
    ];
    for cfg in bad {
        assert!(Featurizer::new(cfg).is_err(), "{cfg:?} accepted");
    }
}

#[test]
fn tokens_split_words_symbols_and_space() {
    let t: Vec<(String, bool)> = Tokens::new(" kill!!! 🔪 داعش،2024 ")
        .map(|t| (" kill!!! 🔪 داعش،2024 "[t.range].to_string(), t.is_word))
        .collect();
    let expect = [("kill", true), ("!!!", false), ("🔪", false), ("داعش", true), ("،", false), ("2024", true)];
    assert_eq!(t, expect.map(|(s, w)| (s.to_string(), w)));
}

#[test]
fn term_counter_counts_like_a_map() {
    let mut c = TermCounter::default();
    for round in 0..3 {
        let buckets: Vec<u32> = (0..2000u32).map(|i| (i * 7919 + round) % 613).collect();
        let mut seen = Vec::new();
        c.count(&buckets, |b| seen.push(b));
        let mut want = std::collections::BTreeMap::new();
        for b in &buckets {
            *want.entry(*b).or_insert(0u32) += 1;
        }
        let got: std::collections::BTreeMap<u32, u32> = c.terms().collect();
        assert_eq!(got, want);
        assert_eq!(seen, c.terms().map(|t| t.0).collect::<Vec<_>>(), "first-seen order");
        assert_eq!(c.len(), want.len());
    }
    c.count(&[], |_| {});
    assert!(c.is_empty());
}

proptest! {
    #[test]
    fn fast_grapheme_path_matches_uax29(s in "[a-zA-Z0-9éàçß\u{621}-\u{64A}\u{64B}\u{651}\u{301}👍🏽\u{200D}]{0,20}") {
        for token in Tokens::new(&s) {
            let tok = &s[token.range];
            if tok.chars().all(one_char_grapheme) {
                let fast: Vec<usize> = tok.char_indices().map(|(i, _)| i).collect();
                let slow: Vec<usize> = tok.grapheme_indices(true).map(|(i, _)| i).collect();
                prop_assert_eq!(fast, slow);
            }
        }
    }

    #[test]
    fn any_text_featurises_without_panic(s in any::<String>()) {
        let f = Featurizer::new(FeatureConfig { word_ngrams: 2, ..Default::default() }).unwrap();
        for feat in f.features(&s) {
            prop_assert!(feat.bucket < 1 << 20);
            prop_assert!(s.get(feat.span.clone()).is_some());
        }
    }
}
