//! The best run's per-emotion test scores beside the paper's Table 4.

use crate::jobdir::metrics::{Evaluation, Prf};
use crate::report::table4::{paper_row, PAPER_MACRO};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct EmotionRow {
    pub emotion: String,
    pub ours: Prf,
    pub support: u64,
    /// `None` for a label the paper does not have.
    pub paper: Option<Prf>,
    /// ours − paper, when the paper has the label.
    pub delta: Option<Prf>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub task: u32,
    /// Test examples evaluated.
    pub examples: u64,
    pub rows: Vec<EmotionRow>,
    /// The macro-average row (our column means vs. the paper's).
    pub macro_row: EmotionRow,
}

fn row(emotion: &str, ours: Prf, support: u64, paper: Option<(f64, f64, f64)>) -> EmotionRow {
    let paper = paper.map(|(precision, recall, f1)| Prf {
        precision,
        recall,
        f1,
    });
    let delta = paper.map(|p| Prf {
        precision: ours.precision - p.precision,
        recall: ours.recall - p.recall,
        f1: ours.f1 - p.f1,
    });
    EmotionRow {
        emotion: emotion.to_string(),
        ours,
        support,
        paper,
        delta,
    }
}

/// Rows follow the run's label order (emotions.txt order, as Table 4 is embedded).
pub fn compare(task: u32, test: &Evaluation) -> Comparison {
    let rows = test
        .per_label
        .iter()
        .map(|s| row(&s.label, s.scores(), s.support, paper_row(&s.label)))
        .collect();
    Comparison {
        task,
        examples: test.examples,
        rows,
        macro_row: row(
            "macro-average",
            test.macro_avg,
            test.examples,
            Some(PAPER_MACRO),
        ),
    }
}
