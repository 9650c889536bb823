//! What a run's per-label test scores can be stood beside, decided by its
//! label set and data record (`RunMetrics::data`), and how a label set is
//! named in the report.
//!
//! - GoEmotions' own 28 labels (the data is GoEmotions, no label map; or a
//!   run from before data records with exactly those labels): the paper's
//!   Table 4, per label ([`super::table4`]).
//! - GoEmotions grouped by the `ekman` or `sentiment` map: the paper reports
//!   these groupings in its results tables, but their per-label figures
//!   could not be found in the stored copies of the paper (arXiv 2005.00547)
//!   when this was written, so they are not embedded. What is shown instead is
//!   the published reproduction's test macro-F1 (monologg/GoEmotions-pytorch,
//!   as the reference notes beside the data record it), said to be that.
//! - Anything else (custom maps, other data): no published figures.

use super::table4::PAPER_TABLE4;
use crate::jobdir::metrics::RunMetrics;
use serde::Serialize;

/// The published reproduction the groupings are compared with.
pub const REPRODUCTION: &str =
    "monologg/GoEmotions-pytorch (bert-base-cased, threshold 0.3, 10 epochs)";

/// The reproduction's test macro-F1 per GoEmotions grouping (and for the
/// original 28 labels, for completeness).
pub const REPRODUCTION_MACRO_F1: [(&str, f64); 3] =
    [("ekman", 0.624), ("sentiment", 0.701), ("original", 0.503)];

/// What a run's scores are compared with.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reference {
    /// The GoEmotions paper's Table 4: per-label P/R/F1 and the macro average.
    Table4,
    /// GoEmotions grouped by a label map: the published reproduction's
    /// test macro-F1 only.
    Reproduction {
        label_map: String,
        macro_f1: f64,
        source: &'static str,
    },
    /// No published figures for this data.
    None,
}

impl Reference {
    pub fn is_table4(&self) -> bool {
        matches!(self, Reference::Table4)
    }

    /// The macro-F1 a dev-F1 chart draws its dashed line at, with its label.
    pub fn macro_line(&self) -> Option<(f64, String)> {
        match self {
            Reference::Table4 => Some((
                super::table4::PAPER_MACRO.2,
                format!("paper macro-F1 {:.2}", super::table4::PAPER_MACRO.2),
            )),
            Reference::Reproduction {
                label_map,
                macro_f1,
                ..
            } => Some((
                *macro_f1,
                format!("reproduction, {label_map}: macro-F1 {macro_f1:.3}"),
            )),
            Reference::None => None,
        }
    }
}

/// Whether `labels` are GoEmotions' original 28 (in any order).
pub fn is_goemotions_28(labels: &[String]) -> bool {
    labels.len() == PAPER_TABLE4.len()
        && PAPER_TABLE4
            .iter()
            .all(|(name, ..)| labels.iter().any(|l| l == name))
}

/// What `m`'s scores are compared with (see the module comment).
pub fn for_run(m: &RunMetrics) -> Reference {
    let is28 = is_goemotions_28(&m.labels);
    let Some(d) = &m.data else {
        // Runs from before data records read GoEmotions' own files.
        return if is28 {
            Reference::Table4
        } else {
            Reference::None
        };
    };
    if d.format != "goemotions" {
        return Reference::None;
    }
    match d.label_map.as_deref() {
        None if is28 => Reference::Table4,
        Some(map) => REPRODUCTION_MACRO_F1
            .iter()
            .find(|(name, _)| *name == map)
            .map_or(Reference::None, |(name, f1)| Reference::Reproduction {
                label_map: (*name).to_string(),
                macro_f1: *f1,
                source: REPRODUCTION,
            }),
        None => Reference::None,
    }
}

/// The label set's name for people: `GoEmotions, 28 labels`, `GoEmotions
/// grouped by the ekman map, 7 labels`, `tsv, 3 labels (a, b, c)`.
pub fn label_set_name(m: &RunMetrics) -> String {
    let n = m.labels.len();
    let listed = |n: usize| {
        let shown: Vec<&str> = m.labels.iter().take(6).map(String::as_str).collect();
        let more = if n > 6 { ", …" } else { "" };
        format!("{n} labels ({}{more})", shown.join(", "))
    };
    match &m.data {
        None if is_goemotions_28(&m.labels) => format!("GoEmotions, {n} labels"),
        None => listed(n),
        Some(d) => match (d.format.as_str(), d.label_map.as_deref()) {
            ("goemotions", None) => format!("GoEmotions, {n} labels"),
            ("goemotions", Some(map)) => {
                format!("GoEmotions grouped by the {map} map, {}", listed(n))
            }
            (format, Some(map)) => format!("{format} data, {map} map, {}", listed(n)),
            (format, None) => format!("{format} data, {}", listed(n)),
        },
    }
}

/// The reference every run shares, when they share one (a dev-F1 chart's
/// dashed line is drawn only then).
pub fn shared<'a>(mut runs: impl Iterator<Item = &'a RunMetrics>) -> Option<Reference> {
    let first = for_run(runs.next()?);
    runs.all(|m| for_run(m) == first).then_some(first)
}
