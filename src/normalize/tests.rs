use super::*;
use proptest::prelude::*;

#[test]
fn table_of_folds() {
    let cases: &[(&str, &str, &str)] = &[
        // (what, input, expected)
        ("empty", "", ""),
        ("whitespace only", " \t\n\u{A0}\u{3000} ", ""),
        ("collapse and trim", "  a \n\t b  ", "a b"),
        ("harakat", "أَهْلًا وَسَهْلًا", "اهلا وسهلا"),
        ("quranic marks and shadda", "ٱللَّهُ", "الله"),
        ("tatweel", "اللـــــــه", "الله"),
        ("alef variants", "أحمد إبراهيم آمنة", "احمد ابراهيم امنه"),
        ("alef maqsura, ta marbuta", "مستشفى المدينة", "مستشفي المدينه"),
        ("hamza on waw and ya", "مؤمن قائد", "مومن قايد"),
        ("persian letters", "کتاب یک", "كتاب يك"),
        ("arabic-indic digits", "عام ٢٠٢٤", "عام 2024"),
        ("persian digits", "۱۲۳", "123"),
        ("presentation form lam-alef", "\u{FEFB}", "لا"),
        ("ligature allah", "\u{FDF2}", "الله"),
        ("elongated arabic", "اللهههههم", "اللههم"),
        ("elongated latin", "kiiiiiill", "kiill"),
        ("elongation keeps pairs", "allah", "allah"),
        ("digits not elongation", "1000000", "1000000"),
        ("punctuation not elongation", "!!!!!", "!!!!!"),
        ("upper case", "KILL Them", "kill them"),
        ("accents", "Café crème à Noël", "cafe creme a noel"),
        ("decomposed accent", "e\u{301}te\u{301}", "ete"),
        ("math bold", "𝐤𝐢𝐥𝐥", "kill"),
        ("full width", "ｋｉｌｌ", "kill"),
        ("cyrillic i", "k\u{456}ll", "kill"),
        ("cyrillic a o e", "\u{430}tt\u{430}ck h\u{435}r\u{435} n\u{43E}w", "attack here now"),
        ("greek capitals", "ΚΙLL", "kill"),
        ("zero-width space", "ki\u{200B}ll", "kill"),
        ("zwnj inside arabic", "اق\u{200C}تل", "اقتل"),
        ("soft hyphen", "ki\u{AD}ll", "kill"),
        ("bom and word joiner", "\u{FEFF}ki\u{2060}ll", "kill"),
        ("bidi override dropped", "\u{202E}llik\u{202C}", "llik"),
        ("nul byte", "a\0b", "ab"),
        ("spelled with dots", "k.i.l.l them", "kill them"),
        ("spelled with spaces", "k i l l", "kill"),
        ("spelled with hyphens", "k-i-l-l", "kill"),
        ("spelled with underscores", "k_i_l_l", "kill"),
        ("spelled arabic", "ق ت ل", "قتل"),
        ("spelled arabic dots", "ذ.ب.ح الكفار", "ذبح الكفار"),
        ("spelled with spaced dots", "k . i . l . l", "kill"),
        ("two letters stay apart", "a b", "a b"),
        ("initials in text stay", "I am a b", "i am a b"),
        ("doctor abbreviation", "د. محمد", "د. محمد"),
        ("spelled then elongated", "k i i i l l", "kiill"),
        ("emoji kept", "🔪🔪🔪 💣", "🔪🔪🔪 💣"),
        ("skin tone kept", "👍🏽", "👍🏽"),
        ("emoji variation selector", "❤\u{FE0F}", "❤"),
        ("rtl ltr mix", "ISIS داعش 2024", "isis داعش 2024"),
        ("hangul kept", "한국어", "한국어"),
        ("devanagari marks kept", "हिन्दी", "हिन्दी"),
        ("dotted capital i", "İSTANBUL", "istanbul"),
    ];
    let n = Normalizer::default();
    for (what, input, expected) in cases {
        assert_eq!(n.normalize(input), *expected, "{what}: {input:?}");
        assert_eq!(n.normalize(expected), *expected, "{what}: expected output not stable");
    }
}

#[test]
fn every_switch_off_is_identity() {
    let n = Normalizer::new(NormalizeConfig::none());
    for s in ["", "  KiIIIll  ", "أَهْلًا\u{200B}", "k.i.l.l", "ｋ"] {
        assert_eq!(n.normalize(s), s);
    }
}

#[test]
fn each_switch_alone() {
    let on = |f: fn(&mut NormalizeConfig)| {
        let mut c = NormalizeConfig::none();
        f(&mut c);
        Normalizer::new(c)
    };
    assert_eq!(on(|c| c.lowercase = true).normalize("KiLL أ"), "kill أ");
    assert_eq!(on(|c| c.strip_tatweel = true).normalize("اللـــه َ"), "الله َ");
    assert_eq!(on(|c| c.strip_diacritics = true).normalize("أَهْل"), "أهل");
    assert_eq!(on(|c| c.fold_arabic_letters = true).normalize("أَهْلة"), "اَهْله");
    assert_eq!(on(|c| c.nfkc = true).normalize("ｋ\u{FEFB}"), "kلا");
    assert_eq!(on(|c| c.fold_digits = true).normalize("٣"), "3");
    assert_eq!(on(|c| c.collapse_elongation = true).normalize("KKK  k"), "KK  k");
    assert_eq!(on(|c| c.rejoin_spelled_letters = true).normalize("K.I.L.L"), "KILL");
    assert_eq!(on(|c| c.fold_homoglyphs = true).normalize("\u{41A}"), "K");
    assert_eq!(on(|c| c.strip_accents = true).normalize("É"), "E");
    assert_eq!(on(|c| c.drop_invisible = true).normalize("a\u{200D}b"), "ab");
    assert_eq!(on(|c| c.collapse_whitespace = true).normalize(" a \n b "), "a b");
}

#[test]
fn spans_point_into_the_original() {
    let original = "اللـــه أكبرررر K\u{200B}ILL";
    let n = Normalizer::default().normalize_mapped(original);
    assert_eq!(n.text, "الله اكبرر kill");
    let find = |needle: &str| {
        let at = n.text.find(needle).unwrap();
        &original[n.original_span(at..at + needle.len())]
    };
    assert_eq!(find("الله"), "اللـــه");
    assert_eq!(find("اكبرر"), "أكبرررر");
    assert_eq!(find("kill"), "K\u{200B}ILL");
    assert_eq!(n.original_span(0..0), 0..0);
}

#[test]
fn spelled_letters_map_to_each_letter() {
    let original = "k.i.l.l";
    let n = Normalizer::default().normalize_mapped(original);
    assert_eq!(n.text, "kill");
    assert_eq!(&original[n.original_span(0..4)], "k.i.l.l");
    assert_eq!(&original[n.original_span(1..2)], "i");
}

#[test]
fn invalid_utf8_is_replaced_not_rejected() {
    let n = Normalizer::default();
    assert_eq!(n.normalize_bytes(b"ki\xFFll"), "ki\u{FFFD}ll");
}

#[test]
fn ten_megabytes_does_not_blow_up() {
    let big = "اقتلهم جميعا ".repeat(10 * 1024 * 1024 / 24);
    let out = Normalizer::default().normalize(&big);
    assert!(out.starts_with("اقتلهم جميعا اقتلهم"));
}

fn config_strategy() -> impl Strategy<Value = NormalizeConfig> {
    proptest::collection::vec(any::<bool>(), 12).prop_map(|b| NormalizeConfig {
        nfkc: b[0],
        drop_invisible: b[1],
        collapse_whitespace: b[2],
        strip_diacritics: b[3],
        strip_tatweel: b[4],
        fold_arabic_letters: b[5],
        fold_digits: b[6],
        lowercase: b[7],
        fold_homoglyphs: b[8],
        strip_accents: b[9],
        collapse_elongation: b[10],
        rejoin_spelled_letters: b[11],
    })
}

/// Text drawn from the characters that matter here, so that interesting mixes are common.
pub(crate) fn comment_strategy() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        Just("ا".to_string()),
        Just("أ".to_string()),
        Just("ل".to_string()),
        Just("ه".to_string()),
        Just("ة".to_string()),
        Just("ى".to_string()),
        Just("ق".to_string()),
        Just("ت".to_string()),
        Just("\u{64E}".to_string()),
        Just("\u{651}".to_string()),
        Just("\u{654}".to_string()),
        Just("\u{640}".to_string()),
        Just("\u{200B}".to_string()),
        Just("\u{200D}".to_string()),
        Just(" ".to_string()),
        Just(".".to_string()),
        Just("-".to_string()),
        Just("_".to_string()),
        Just("k".to_string()),
        Just("K".to_string()),
        Just("i".to_string()),
        Just("l".to_string()),
        Just("\u{301}".to_string()),
        Just("é".to_string()),
        Just("\u{456}".to_string()),
        Just("İ".to_string()),
        Just("ß".to_string()),
        Just("ǅ".to_string()),
        Just("\u{FEFB}".to_string()),
        Just("🔪".to_string()),
        Just("👍🏽".to_string()),
        Just("\n".to_string()),
        Just("٣".to_string()),
        Just("한".to_string()),
        Just("\u{1100}".to_string()),
        Just("\u{1161}".to_string()),
        any::<char>().prop_map(String::from),
    ];
    proptest::collection::vec(pieces, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn idempotent_default(s in comment_strategy()) {
        let n = Normalizer::default();
        let once = n.normalize(&s);
        prop_assert_eq!(n.normalize(&once), once);
    }

    #[test]
    fn idempotent_any_config(s in comment_strategy(), cfg in config_strategy()) {
        let n = Normalizer::new(cfg);
        let once = n.normalize(&s);
        prop_assert_eq!(n.normalize(&once), once);
    }

    #[test]
    fn arbitrary_unicode_never_panics(s in any::<String>()) {
        let n = Normalizer::default();
        let m = n.normalize_mapped(&s);
        prop_assert_eq!(n.normalize(&m.text), m.text.clone());
        let span = m.original_span(0..m.text.len());
        prop_assert!(span.end <= s.len());
    }

    /// The scorer's direct path and the explainer's mapped path must give the same text, or an
    /// explanation would describe a different vector than the one scored.
    #[test]
    fn direct_and_mapped_paths_agree(s in comment_strategy(), cfg in config_strategy()) {
        let n = Normalizer::new(cfg);
        prop_assert_eq!(n.normalize(&s), n.normalize_mapped(&s).text);
    }

    #[test]
    fn fast_table_agrees_with_slow_path(s in comment_strategy(), cfg in config_strategy()) {
        let fast = Normalizer::new(cfg);
        let slow = Normalizer { config: cfg, table: Box::new([]) };
        prop_assert_eq!(fast.normalize(&s), slow.normalize(&s));
    }

    #[test]
    fn invisibles_tatweel_and_diacritics_are_transparent(
        words in proptest::collection::vec("[a-zا-ي]{1,8}", 1..6),
        noise in proptest::collection::vec(prop_oneof![Just('\u{200B}'), Just('\u{640}'), Just('\u{64E}'), Just('\u{200C}'), Just('\u{FEFF}')], 1..8),
        at in any::<prop::sample::Index>(),
    ) {
        let n = Normalizer::default();
        let clean = words.join(" ");
        let mut noisy: Vec<char> = clean.chars().collect();
        // Insert after a letter (a leading mark would be a different text).
        let pos = 1 + at.index(noisy.len());
        for c in &noise { noisy.insert(pos.min(noisy.len()), *c); }
        let noisy: String = noisy.into_iter().collect();
        prop_assert_eq!(n.normalize(&noisy), n.normalize(&clean));
    }
}
