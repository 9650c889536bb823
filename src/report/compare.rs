//! The best run's per-emotion test scores beside the paper's Table 4.

use crate::metrics::Evaluation;
use crate::table4::{paper_row, PAPER_MACRO};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Scores {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct EmotionRow {
    pub emotion: String,
    pub ours: Scores,
    pub support: u64,
    /// `None` for a label the paper does not have.
    pub paper: Option<Scores>,
    /// ours − paper, when the paper has the label.
    pub delta: Option<Scores>,
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

fn scores((p, r, f): (f64, f64, f64)) -> Scores {
    Scores {
        precision: p,
        recall: r,
        f1: f,
    }
}

fn row(emotion: &str, ours: Scores, support: u64, paper: Option<(f64, f64, f64)>) -> EmotionRow {
    let delta = paper.map(|(p, r, f)| Scores {
        precision: ours.precision - p,
        recall: ours.recall - r,
        f1: ours.f1 - f,
    });
    EmotionRow {
        emotion: emotion.to_string(),
        ours,
        support,
        paper: paper.map(scores),
        delta,
    }
}

/// Rows follow the run's label order (emotions.txt order, as Table 4 is embedded).
pub fn compare(task: u32, test: &Evaluation) -> Comparison {
    let rows = test
        .per_label
        .iter()
        .map(|s| {
            row(
                &s.label,
                scores((s.precision, s.recall, s.f1)),
                s.support,
                paper_row(&s.label),
            )
        })
        .collect();
    let m = test.macro_avg;
    Comparison {
        task,
        examples: test.examples,
        rows,
        macro_row: row(
            "macro-average",
            scores((m.precision, m.recall, m.f1)),
            test.examples,
            Some(PAPER_MACRO),
        ),
    }
}
