//! The default model shipped inside raqib: reproducible from `training-data/` bit for bit, precise
//! on the held-out project data, robust to obfuscation, and right on the product's typical cases.

use crate::training_data::{rows, Row};
use raqib::Model;
use std::path::Path;

fn model() -> Model {
    raqib::model::embedded_default().expect("the embedded default model loads")
}

fn heldout() -> Vec<Row> {
    rows().into_iter().filter(|r| r.file == "heldout.csv").collect()
}

#[test]
fn default_model_reproduces_bit_for_bit() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("default.raqib");
    let status = std::process::Command::new("sh")
        .arg(root.join("models/train-default.sh"))
        .arg(env!("CARGO_BIN_EXE_raqib"))
        .arg(&out)
        .current_dir(root)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run models/train-default.sh");
    assert!(status.success());
    let rebuilt = std::fs::read(&out).unwrap();
    let shipped = std::fs::read(root.join("models/default.raqib")).unwrap();
    assert!(rebuilt == shipped, "models/default.raqib differs from a fresh models/train-default.sh run");
    assert!(raqib::model::EMBEDDED_DEFAULT == shipped.as_slice(), "the binary embeds a stale models/default.raqib");
}

#[test]
fn precision_first_on_held_out_project_data() {
    let model = model();
    let held = heldout();
    let texts: Vec<&str> = held.iter().map(|r| r.text.as_str()).collect();
    let scores = model.score_batch(&texts);
    for (l, name) in model.label_names().enumerate() {
        let truth: Vec<bool> = held.iter().map(|r| if name == "violence" { r.violence } else { r.extremism }).collect();
        let predicted: Vec<bool> = scores.iter().map(|s| s.labels[l].flagged).collect();
        let at = raqib::eval::AtThreshold::from_predictions(Some(model.labels()[l].threshold), &predicted, &truth);
        println!(
            "held-out {name}: precision {:.3}, recall {:.3}, FPR {:.4} ({:?})",
            at.precision, at.recall, at.false_positive_rate, at.confusion
        );
        assert!(at.precision >= 0.95, "{name}: held-out precision {:.3} < 0.95", at.precision);
        assert!(at.recall >= 0.4, "{name}: held-out recall {:.3} collapsed", at.recall);
    }
}

/// Deterministic pseudo-random choices for the variants (SplitMix64).
struct Rng(raqib::train::SplitMix64);
impl Rng {
    fn pick(&mut self, n: usize) -> usize {
        self.0.below(n.max(1) as u64) as usize
    }
}

fn is_arabic(c: char) -> bool {
    ('\u{621}'..='\u{64A}').contains(&c)
}

/// The word carrying the n-gram that weighed most for a flagged label: what an evader disguises.
fn trigger_word(model: &Model, text: &str) -> Option<std::ops::Range<usize>> {
    let why = model.explain(text, 1);
    let span = why.ngrams.first()?.spans.first()?.clone();
    let start =
        text[..span.start].rfind(char::is_whitespace).map_or(0, |i| i + text[i..].chars().next().unwrap().len_utf8());
    let end = text[span.end..].find(char::is_whitespace).map_or(text.len(), |i| span.end + i);
    (end > start).then_some(start..end)
}

/// Obfuscated variants of `text`, by name.
fn variants(model: &Model, text: &str, rng: &mut Rng) -> Vec<(&'static str, String)> {
    let chars: Vec<char> = text.chars().collect();
    let letters: Vec<usize> = (0..chars.len()).filter(|&i| chars[i].is_alphabetic()).collect();
    let insert_after = |pick: &mut dyn FnMut(char) -> Option<char>| {
        let mut s = String::new();
        for &c in &chars {
            s.push(c);
            if let Some(extra) = pick(c) {
                s.push(extra);
            }
        }
        s
    };
    let mut out = Vec::new();
    // Diacritics: harakat on Arabic letters, combining accents on Latin ones.
    let marks = ['\u{64E}', '\u{64F}', '\u{650}', '\u{651}', '\u{652}', '\u{64B}'];
    let mut k = 0usize;
    out.push((
        "diacritics",
        insert_after(&mut |c| {
            k += 1;
            if is_arabic(c) {
                Some(marks[k % marks.len()])
            } else if c.is_ascii_alphabetic() && k % 2 == 0 {
                Some('\u{301}')
            } else {
                None
            }
        }),
    ));
    // Tatweel inside Arabic words (and soft hyphens inside Latin ones, its nearest equivalent).
    out.push((
        "tatweel",
        insert_after(&mut |c| {
            if is_arabic(c) && !matches!(c, 'ا' | 'د' | 'ذ' | 'ر' | 'ز' | 'و' | 'ة' | 'ء') {
                Some('\u{640}')
            } else if c.is_ascii_alphabetic() {
                Some('\u{AD}')
            } else {
                None
            }
        }),
    ));
    let zw = ['\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}'];
    out.push(("zero-width", insert_after(&mut |c| c.is_alphabetic().then(|| zw[rng.pick(zw.len())]))));
    // Elongation: one letter of the trigger word (or a random letter) repeated five times.
    if let Some(&i) = letters.get(rng.pick(letters.len())) {
        let mut s: String = chars[..i].iter().collect();
        for _ in 0..5 {
            s.push(chars[i]);
        }
        s.extend(&chars[i + 1..]);
        out.push(("elongated", s));
    }
    // The trigger word spelled out with spaces, then with dots.
    if let Some(w) = trigger_word(model, text) {
        for (name, sep) in [("spaced letters", " "), ("dotted letters", ".")] {
            let spelled: Vec<String> =
                text[w.clone()].chars().filter(|c| c.is_alphabetic()).map(String::from).collect();
            if spelled.len() >= 3 {
                out.push((name, format!("{}{}{}", &text[..w.start], spelled.join(sep), &text[w.end..])));
            }
        }
    }
    // Homoglyphs: Cyrillic look-alikes in Latin script; Persian/Kurdish letter shapes in Arabic.
    let swap = |c: char| match c {
        'a' => 'а',
        'e' => 'е',
        'o' => 'о',
        'p' => 'р',
        'c' => 'с',
        'x' => 'х',
        'y' => 'у',
        'i' => 'і',
        'ك' => 'ک',
        'ي' => 'ی',
        'ه' => 'ە',
        other => other,
    };
    out.push(("homoglyphs", chars.iter().map(|&c| swap(c)).collect()));
    out
}

#[test]
fn obfuscated_held_out_positives_still_flag() {
    let model = model();
    let mut rng = Rng(raqib::train::SplitMix64(7));
    // Held-out positives the model flags in clean form: does disguising them change the verdict?
    let flagged: Vec<Row> =
        heldout().into_iter().filter(|r| (r.violence || r.extremism) && model.score(&r.text).flagged).collect();
    assert!(flagged.len() >= 100, "only {} flagged held-out positives", flagged.len());
    let mut tally: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
    let mut misses = Vec::new();
    for r in &flagged {
        for (name, v) in variants(&model, &r.text, &mut rng) {
            let t = tally.entry(name).or_default();
            t.1 += 1;
            if model.score(&v).flagged {
                t.0 += 1;
            } else if misses.len() < 10 {
                misses.push(format!("{name}: {v}"));
            }
        }
    }
    for (name, (ok, n)) in &tally {
        println!("{name:<15} {ok}/{n} still flagged ({:.1}%)", 100.0 * *ok as f64 / *n as f64);
    }
    for (name, (ok, n)) in &tally {
        assert!(*n >= 50, "{name}: only {n} variants");
        assert!(*ok as f64 >= 0.95 * *n as f64, "{name}: {ok}/{n} still flagged; misses:\n{}", misses.join("\n"));
    }
}

/// The product's typical cases, in comments written for this test (in the spirit of the reader
/// comments under an article about ISIS): the violent supplication for the "soldiers of the
/// caliphate" is held; criticism of the same politics, and ordinary pious supplications, pass.
#[test]
fn typical_cases_hold_and_pass() {
    let model = model();
    let hold = [
        "اللهم انصر جنود دولة الخلافة في كل مكان، واجعل قتلهم للكفار والمرتدين إبادة، وشتت شمل أعدائهم وأحصهم عددا واقتلهم بددا ولا تغادر منهم أحدا",
        "اللهم عليك بالصليبيين والروافض وأعوانهم، جمد الدماء في عروقهم ويتم أطفالهم ورمل نساءهم، وسلط عليهم جنود الدولة الإسلامية",
        "The brothers of the Islamic State will return, renew your bay'ah to the caliph and join them before it is too late",
        "we know where that journalist lives, he will be slaughtered like the others",
    ];
    let pass = [
        "اللهم ارحم شهداء الوطن واشف الجرحى واحفظ بلادنا من الفتن ما ظهر منها وما بطن",
        "اللهم عليك بالظالمين الذين نهبوا خيرات البلاد، اللهم اكشفهم أمام الناس واهزمهم وانصر المظلومين",
        "داعش صناعة مخابرات وحكام العرب باعونا، لكن الحل ليس في السلاح بل في العدل والتعليم وانتخابات نزيهة",
        "These ISIS murderers must be tried and jailed for life, and their victims' families deserve justice",
        "What a match! We destroyed them 4-0, their defence was slaughtered all night",
    ];
    let wrong = [wrong_verdicts(&model, &hold, true), wrong_verdicts(&model, &pass, false)].concat();
    assert!(wrong.is_empty(), "wrong verdicts:\n{}", wrong.join("\n"));
}

/// The texts whose verdict is not `flagged`, each with its label probabilities.
fn wrong_verdicts(model: &raqib::Model, texts: &[&str], flagged: bool) -> Vec<String> {
    texts
        .iter()
        .filter_map(|t| {
            let s = model.score(t);
            (s.flagged != flagged).then(|| {
                let p: Vec<f64> = s.labels.iter().map(|l| l.probability).collect();
                format!("{} {t} {p:?}", if flagged { "should hold:" } else { "should pass:" })
            })
        })
        .collect()
}

/// Regression: the round-2 model held short, harmless comments made of vocatives ("يا …"), and
/// read "deserves" (يستاهل) and "the state" (الدولة) as violence and extremism, because in its
/// training data those words came mostly with violent rows. Comments written for this test.
#[test]
fn vocatives_deserves_and_the_state_alone_do_not_hold() {
    let model = model();
    let pass = [
        "يا رب يا كريم يا واسع العطاء ارزقنا من حيث لا نحتسب",
        "يا عمري يا روحي والله اشتقت لكم كثير",
        "يا سلام عليك يا زمالك يا فن وهندسة",
        "يا جماعة الخير مين عنده سباك شاطر في الحي ده؟",
        "يا بنتي يا حبيبتي ذاكري وربنا معاكي",
        "يا حي يا قيوم برحمتك أستغيث أصلح لي شأني كله",
        "يا ليلة ما لها آخر يا قمر",
        "يا أبو حسين يا طيب تستاهل كل خير",
        "هذا اللاعب يستاهل الكرة الذهبية بجدارة",
        "الدولة لازم تدعم المزارعين قبل ما يبيعوا أراضيهم",
        "ya 7abibi ya 3omri, tamam el 7amdollah",
    ];
    let held = wrong_verdicts(&model, &pass, false);
    assert!(held.is_empty(), "held harmless comments:\n{}", held.join("\n"));
}
