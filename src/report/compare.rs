//! The best run's per-label test scores, beside the paper's Table 4 when its
//! labels are GoEmotions' 28 ([`Reference`] decides), with the single-label
//! scores (accuracy, micro-F1, the confusion matrix) when the run has them.

use crate::jobdir::metrics::{Evaluation, Prf};
use crate::report::reference::Reference;
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
    /// What the rows are compared with: the paper's columns are filled only
    /// for `table4`.
    pub reference: Reference,
    /// The label set, for headings (see `reference::label_set_name`).
    pub label_set: String,
    /// Micro-averaged P/R/F1 (every run from 0.4 on).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub micro_avg: Option<Prf>,
    /// Single-label runs: the share of texts classified right.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<f64>,
    /// Single-label runs: `counts[gold][predicted]`, in the rows' label order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confusion: Option<Vec<Vec<u64>>>,
}

impl Comparison {
    /// Whether the run classified each text into exactly one label.
    pub fn single_label(&self) -> bool {
        self.accuracy.is_some() || self.confusion.is_some()
    }

    pub fn labels(&self) -> Vec<String> {
        self.rows.iter().map(|r| r.emotion.clone()).collect()
    }
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

/// Rows follow the run's label order (emotions.txt order, as Table 4 is
/// embedded). The paper's figures are looked up only against Table 4: the
/// Ekman grouping's `anger` is not GoEmotions' `anger`.
pub fn compare(
    task: u32,
    test: &Evaluation,
    reference: Reference,
    label_set: String,
) -> Comparison {
    let table4 = reference.is_table4();
    let rows = test
        .per_label
        .iter()
        .map(|s| {
            let paper = if table4 { paper_row(&s.label) } else { None };
            row(&s.label, s.scores(), s.support, paper)
        })
        .collect();
    Comparison {
        task,
        examples: test.examples,
        rows,
        macro_row: row(
            "macro-average",
            test.macro_avg,
            test.examples,
            table4.then_some(PAPER_MACRO),
        ),
        reference,
        label_set,
        micro_avg: test.micro_avg,
        accuracy: test.accuracy,
        confusion: test.confusion.clone(),
    }
}
