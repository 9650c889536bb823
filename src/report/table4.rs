//! The GoEmotions paper's Table 4 (Demszky et al., ACL 2020): BERT-base on the
//! test set at threshold 0.3. Embedded so reports can stand beside it offline.
//! Rows follow emotions.txt order (neutral last), not the paper's alphabetical order.

use crate::jobdir::metrics::{Evaluation, Prf};

/// (emotion, precision, recall, f1)
pub const PAPER_TABLE4: [(&str, f64, f64, f64); 28] = [
    ("admiration", 0.53, 0.83, 0.65),
    ("amusement", 0.70, 0.94, 0.80),
    ("anger", 0.36, 0.66, 0.47),
    ("annoyance", 0.24, 0.63, 0.34),
    ("approval", 0.26, 0.57, 0.36),
    ("caring", 0.30, 0.56, 0.39),
    ("confusion", 0.24, 0.76, 0.37),
    ("curiosity", 0.40, 0.84, 0.54),
    ("desire", 0.43, 0.59, 0.49),
    ("disappointment", 0.19, 0.52, 0.28),
    ("disapproval", 0.29, 0.61, 0.39),
    ("disgust", 0.34, 0.66, 0.45),
    ("embarrassment", 0.39, 0.49, 0.43),
    ("excitement", 0.26, 0.52, 0.34),
    ("fear", 0.46, 0.85, 0.60),
    ("gratitude", 0.79, 0.95, 0.86),
    ("grief", 0.00, 0.00, 0.00),
    ("joy", 0.39, 0.73, 0.51),
    ("love", 0.68, 0.92, 0.78),
    ("nervousness", 0.28, 0.48, 0.35),
    ("optimism", 0.41, 0.69, 0.51),
    ("pride", 0.67, 0.25, 0.36),
    ("realization", 0.16, 0.29, 0.21),
    ("relief", 0.50, 0.09, 0.15),
    ("remorse", 0.53, 0.88, 0.66),
    ("sadness", 0.38, 0.71, 0.49),
    ("surprise", 0.40, 0.66, 0.50),
    ("neutral", 0.56, 0.84, 0.68),
];

/// The paper's macro-average row (precision, recall, f1).
pub const PAPER_MACRO: (f64, f64, f64) = (0.40, 0.63, 0.46);

/// The cells of every Table 4 hecjob prints (the training log's and the
/// report's): a score with two decimals, a difference signed (rounded before
/// signing, so a tiny negative reads 0.00), and `-` where there is no value
/// (a label the paper lacks).
pub mod cell {
    pub const NONE: &str = "-";

    pub fn score(v: Option<f64>) -> String {
        v.map_or_else(|| NONE.to_string(), |x| format!("{x:.2}"))
    }

    pub fn delta(v: Option<f64>) -> String {
        v.map_or_else(
            || NONE.to_string(),
            |x| {
                let r = (x * 100.0).round() / 100.0;
                if r == 0.0 {
                    "0.00".to_string()
                } else {
                    format!("{r:+.2}")
                }
            },
        )
    }
}

/// The paper's (precision, recall, f1) for an emotion name.
pub fn paper_row(emotion: &str) -> Option<(f64, f64, f64)> {
    PAPER_TABLE4
        .iter()
        .find(|r| r.0 == emotion)
        .map(|r| (r.1, r.2, r.3))
}

/// Table 4 as text: per-emotion P/R/F1/support, the paper's values beside
/// them when the labels are GoEmotions' 28 (`-` in its columns otherwise).
pub fn format(eval: &Evaluation, title: &str) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "{title}");
    let _ = writeln!(
        out,
        "{:<15} {:>6} {:>6} {:>6} {:>7}   {:>6} {:>6} {:>6} {:>7}",
        "emotion", "P", "R", "F1", "support", "paperP", "paperR", "paperF", "ΔF1"
    );
    // The report's cells (table4::cell): a label the paper lacks shows `-`.
    let mut line = |label: &str, ours: Prf, support: u64, paper: Option<(f64, f64, f64)>| {
        let _ = writeln!(
            out,
            "{:<15} {:>6} {:>6} {:>6} {:>7}   {:>6} {:>6} {:>6} {:>7}",
            label,
            cell::score(Some(ours.precision)),
            cell::score(Some(ours.recall)),
            cell::score(Some(ours.f1)),
            support,
            cell::score(paper.map(|p| p.0)),
            cell::score(paper.map(|p| p.1)),
            cell::score(paper.map(|p| p.2)),
            cell::delta(paper.map(|p| ours.f1 - p.2))
        );
    };
    // The paper's figures only for GoEmotions' 28 labels: an Ekman run's
    // `anger` is not the paper's `anger`.
    let labels: Vec<String> = eval.per_label.iter().map(|s| s.label.clone()).collect();
    let table4 = crate::report::reference::is_goemotions_28(&labels);
    for s in &eval.per_label {
        line(
            &s.label,
            s.scores(),
            s.support,
            paper_row(&s.label).filter(|_| table4),
        );
    }
    line(
        "macro-average",
        eval.macro_avg,
        eval.examples,
        table4.then_some(PAPER_MACRO),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macro_row_is_the_column_mean() {
        let n = PAPER_TABLE4.len() as f64;
        let p: f64 = PAPER_TABLE4.iter().map(|r| r.1).sum::<f64>() / n;
        let r: f64 = PAPER_TABLE4.iter().map(|r| r.2).sum::<f64>() / n;
        let f: f64 = PAPER_TABLE4.iter().map(|r| r.3).sum::<f64>() / n;
        assert!((p - PAPER_MACRO.0).abs() < 0.005, "{p}");
        assert!((r - PAPER_MACRO.1).abs() < 0.005, "{r}");
        assert!((f - PAPER_MACRO.2).abs() < 0.005, "{f}");
    }

    /// The shared reference file, when present, agrees with the embedded copy.
    #[test]
    fn matches_reference_tsv() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/reference/goemotions_table4.tsv");
        let Ok(text) = std::fs::read_to_string(&path) else {
            // CI has ../shared beside the clone: a skip there would hide a broken setup.
            assert!(
                std::env::var("CI").is_err(),
                "{} not found under CI",
                path.display()
            );
            eprintln!("SKIPPED: {} not present", path.display());
            return;
        };
        let mut seen = 0;
        for line in text.lines().filter(|l| !l.starts_with('#')).skip(1) {
            let f: Vec<&str> = line.split('\t').collect();
            let vals: Vec<f64> = f[1..4].iter().map(|v| v.parse().unwrap()).collect();
            if f[0] == "macro-average" {
                assert_eq!((vals[0], vals[1], vals[2]), PAPER_MACRO);
            } else if let Some(row) = paper_row(f[0]) {
                assert_eq!(row, (vals[0], vals[1], vals[2]), "{}", f[0]);
                seen += 1;
            }
        }
        assert_eq!(seen, 28);
    }
}
