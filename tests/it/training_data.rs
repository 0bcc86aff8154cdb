//! The project's training data (`training-data/*.csv`) against its data card: schema, label and
//! kind vocabularies, composition, and no near-duplicates (the same rule as
//! `training-data/tools/check.py`, so a template-stamped row fails CI, not only the author's run).

use raqib::data::{ColumnRef, ReadOptions, TableReader};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

const LANGS: &[&str] = &["ar-msa", "ar-gulf", "ar-egy", "ar-lev", "ar-iq", "ar-mag", "arabizi", "en", "fr"];
const POSITIVE: &[&str] = &[
    "violent-supplication",
    "threat",
    "incitement",
    "praise-of-attack",
    "group-propaganda",
    "pledge-of-allegiance",
    "recruitment",
    "violent-takfir",
];
const NEGATIVE: &[&str] = &[
    "benign-supplication",
    "supplication-against-oppressors",
    "news-discussion",
    "condemnation",
    "quote-or-report",
    "angry-politics",
    "religious-discussion",
    "history",
    "counter-extremism",
    "sports",
    "insult",
    "everyday",
];

pub struct Row {
    pub file: &'static str,
    pub line: u64,
    pub text: String,
    pub violence: bool,
    pub extremism: bool,
    pub lang: String,
    pub kind: String,
}

/// Every row of `training-data/comments.csv` and `heldout.csv`, validated field by field.
pub fn rows() -> Vec<Row> {
    let mut out = Vec::new();
    for file in ["comments.csv", "heldout.csv"] {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("training-data").join(file);
        let mut r = TableReader::open(&path, &ReadOptions::default()).expect("training data opens");
        assert_eq!(r.header().unwrap(), ["text", "violence", "extremism", "lang", "kind"], "{file} header");
        let cols: Vec<_> = ["text", "violence", "extremism", "lang", "kind"]
            .iter()
            .map(|c| r.column(&ColumnRef::Name(c.to_string())).unwrap())
            .collect();
        while let Some(row) = r.next_row() {
            let row = row.unwrap();
            let f: Vec<String> = cols
                .iter()
                .map(|c| row.text(c).unwrap_or_else(|e| panic!("{file}:{}: {e}", row.line)).into_owned())
                .collect();
            let bit = |v: &str| match v {
                "0" => false,
                "1" => true,
                other => panic!("{file}:{}: label {other:?} is not 0/1", row.line),
            };
            out.push(Row {
                file,
                line: row.line,
                violence: bit(&f[1]),
                extremism: bit(&f[2]),
                lang: f[3].clone(),
                kind: f[4].clone(),
                text: f[0].clone(),
            });
        }
    }
    out
}

#[test]
fn every_row_follows_the_schema_and_vocabularies() {
    for r in rows() {
        let at = format!("{}:{}", r.file, r.line);
        assert!(r.text.split_whitespace().count() >= 3, "{at}: fewer than three words");
        assert!(LANGS.contains(&r.lang.as_str()), "{at}: lang {:?}", r.lang);
        let positive = r.violence || r.extremism;
        if POSITIVE.contains(&r.kind.as_str()) {
            assert!(positive, "{at}: positive kind {} with both labels 0", r.kind);
        } else {
            assert!(NEGATIVE.contains(&r.kind.as_str()), "{at}: unknown kind {:?}", r.kind);
            assert!(!positive, "{at}: negative kind {} with a label 1", r.kind);
        }
    }
}

#[test]
fn composition_matches_the_data_card() {
    let rows = rows();
    let n = rows.len() as f64;
    let share = |f: &dyn Fn(&Row) -> bool| rows.iter().filter(|r| f(r)).count() as f64 / n;
    assert!(rows.len() >= 4000, "{} rows", rows.len());
    let arabic = share(&|r| r.lang.starts_with("ar-"));
    let english = share(&|r| r.lang == "en");
    let hard = share(&|r| NEGATIVE.contains(&r.kind.as_str()) && r.kind != "everyday");
    assert!(arabic >= 0.60, "Arabic {arabic:.3}");
    assert!(english >= 0.25, "English {english:.3}");
    assert!(hard >= 0.45, "hard negatives {hard:.3}");
    for lang in LANGS {
        assert!(rows.iter().filter(|r| r.lang == *lang).count() >= 100, "too few {lang} rows");
    }
    for kind in POSITIVE.iter().chain(NEGATIVE) {
        assert!(rows.iter().any(|r| r.kind == *kind), "no {kind} rows");
    }
    assert!(rows.iter().any(|r| r.text.split_whitespace().count() >= 80), "no long comments");
}

/// Words as `check.py` sees them: folded, lower-cased, marks dropped, single ASCII letters ignored.
fn words(text: &str, n: &raqib::normalize::Normalizer) -> HashSet<String> {
    n.normalize(text)
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty() && (w.chars().count() > 1 || !w.is_ascii()))
        .map(String::from)
        .collect()
}

#[test]
fn no_near_duplicates_or_template_stamped_rows() {
    let rows = rows();
    let norm = raqib::normalize::Normalizer::default();
    let sets: Vec<HashSet<String>> = rows.iter().map(|r| words(&r.text, &norm)).collect();
    // Candidates share a word that is not common; then exact Jaccard and containment.
    let mut index: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, s) in sets.iter().enumerate() {
        for w in s {
            index.entry(w.as_str()).or_default().push(i);
        }
    }
    let mut problems = Vec::new();
    for (i, a) in sets.iter().enumerate() {
        let mut shared: HashMap<usize, usize> = HashMap::new();
        for w in a {
            let postings = &index[w.as_str()];
            if postings.len() > 400 {
                continue;
            }
            for &j in postings.iter().filter(|&&j| j < i) {
                *shared.entry(j).or_default() += 1;
            }
        }
        for (j, k) in shared {
            if k < 2 {
                continue;
            }
            let b = &sets[j];
            let inter = a.intersection(b).count() as f64;
            let jaccard = inter / a.union(b).count() as f64;
            let small = a.len().min(b.len());
            let containment = inter / small.max(1) as f64;
            if jaccard >= 0.6 || (small >= 6 && containment >= 0.9) {
                problems.push(format!(
                    "{}:{} ~ {}:{} (jaccard {jaccard:.2}, containment {containment:.2})",
                    rows[i].file, rows[i].line, rows[j].file, rows[j].line
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{} near-duplicate pairs:\n{}", problems.len(), problems.join("\n"));
}
