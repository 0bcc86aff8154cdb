//! Shared by the benchmarks: the evaluation corpus, read from ../shared/datasets when present.

use raqib::data::{ColumnRef, ReadOptions, TableReader};
use std::path::PathBuf;

/// Root of the shared datasets (override with RAQIB_DATASETS).
pub fn datasets() -> PathBuf {
    std::env::var_os("RAQIB_DATASETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets"))
}

/// Every `text` of `suite/*/*.csv`, in a fixed order; `None` (with a note) when absent.
#[allow(dead_code)]
pub fn suite_texts() -> Option<Vec<String>> {
    let suite = datasets().join("suite");
    let Ok(dirs) = std::fs::read_dir(&suite) else {
        eprintln!("note: {} not found: skipping the corpus benchmarks", suite.display());
        return None;
    };
    let mut files: Vec<PathBuf> = dirs
        .flatten()
        .flat_map(|d| std::fs::read_dir(d.path()).into_iter().flatten().flatten().map(|f| f.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    files.sort();
    let mut texts = Vec::new();
    for f in files {
        let mut r = TableReader::open(&f, &ReadOptions::default()).expect("suite file opens");
        let col = r.column(&ColumnRef::Name("text".into())).expect("text column");
        while let Some(row) = r.next_row() {
            texts.push(row.expect("row").text_lossy(&col).expect("text").into_owned());
        }
    }
    Some(texts)
}
