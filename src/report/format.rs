//! Rendering a [`Report`] as a text table, CSV, JSON or Markdown.
//!
//! Text and Markdown are for people: rounded scores, GiB, h:mm:ss. CSV and JSON
//! are for programs: raw numbers (bytes, seconds), empty/null for unknown.

use super::compare::{Comparison, EmotionRow};
use super::plots::Plots;
use super::row::Row;
use super::Report;
use crate::util::csv;
use crate::util::error::lit;
use serde_json::{json, Value};
use std::fmt::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
    Markdown,
}

#[derive(Clone, Copy, PartialEq)]
enum Align {
    Left,
    Right,
}

/// A grid of cells with per-column alignment, printable as text or Markdown.
struct Grid {
    headers: Vec<String>,
    align: Vec<Align>,
    rows: Vec<Vec<String>>,
}

impl Grid {
    fn widths(&self) -> Vec<usize> {
        let mut w: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate() {
                w[i] = w[i].max(c.chars().count());
            }
        }
        w
    }

    fn pad(cell: &str, width: usize, align: Align) -> String {
        match align {
            Align::Left => format!("{cell:<width$}"),
            Align::Right => format!("{cell:>width$}"),
        }
    }

    fn line(&self, cells: &[String], widths: &[usize], sep: &str) -> String {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| Self::pad(c, widths[i], self.align[i]))
            .collect::<Vec<_>>()
            .join(sep)
    }

    /// The grid with every cell passed through `f` (escaping for an output).
    fn mapped(&self, f: impl Fn(&str) -> String) -> Grid {
        Grid {
            headers: self.headers.iter().map(|c| f(c)).collect(),
            align: self.align.clone(),
            rows: self
                .rows
                .iter()
                .map(|r| r.iter().map(|c| f(c)).collect())
                .collect(),
        }
    }

    /// Aligned columns for a terminal; a folder name's control characters are
    /// escaped, not sent to the terminal.
    fn to_text(&self) -> String {
        self.mapped(lit).text_of_printable()
    }

    fn text_of_printable(&self) -> String {
        let w = self.widths();
        let mut out = String::new();
        let _ = writeln!(out, "{}", self.line(&self.headers, &w, "  ").trim_end());
        // The unnamed mark column gets no rule, so `*` stands alone.
        let rule: Vec<String> = w
            .iter()
            .zip(&self.headers)
            .map(|(&n, h)| {
                if h.is_empty() {
                    " ".repeat(n)
                } else {
                    "-".repeat(n)
                }
            })
            .collect();
        let _ = writeln!(out, "{}", rule.join("  "));
        for r in &self.rows {
            let _ = writeln!(out, "{}", self.line(r, &w, "  ").trim_end());
        }
        out
    }

    /// A GitHub-flavoured Markdown table; every cell is escaped first
    /// ([`markdown_cell`]), so widths are those of the escaped text.
    fn to_markdown(&self) -> String {
        self.mapped(markdown_cell).markdown_of_escaped()
    }

    fn markdown_of_escaped(&self) -> String {
        let w: Vec<usize> = self.widths().iter().map(|&n| n.max(3)).collect();
        let mut out = String::new();
        let cells = |r: &[String]| -> Vec<String> { r.to_vec() };
        let _ = writeln!(out, "| {} |", self.line(&cells(&self.headers), &w, " | "));
        let rule: Vec<String> = w
            .iter()
            .zip(&self.align)
            .map(|(&n, a)| match a {
                Align::Left => format!(":{}", "-".repeat(n - 1)),
                Align::Right => format!("{}:", "-".repeat(n - 1)),
            })
            .collect();
        let _ = writeln!(out, "| {} |", rule.join(" | "));
        for r in &self.rows {
            let _ = writeln!(out, "| {} |", self.line(&cells(r), &w, " | "));
        }
        out
    }
}

/// One cell of a Markdown table: a backslash and a `|` escaped (`a\\|b` would
/// otherwise end in an escaped backslash and a bare `|` that splits the row),
/// control characters spelt out (a newline would end the table).
fn markdown_cell(s: &str) -> String {
    lit(s).replace('\\', "\\\\").replace('|', "\\|")
}

// --- human-readable values -------------------------------------------------

const DASH: &str = "-";

fn opt<T>(v: Option<T>, f: impl Fn(T) -> String) -> String {
    v.map(f).unwrap_or_else(|| DASH.to_string())
}

fn score(v: Option<f64>) -> String {
    opt(v, |x| format!("{x:.4}"))
}

/// Bytes in binary units: the one formatter, [`crate::util::units::bytes`].
pub use crate::util::units::bytes as human_bytes;
/// Seconds as h:mm:ss: the one formatter, [`crate::util::units::duration`].
pub use crate::util::units::duration as human_duration;

pub use super::text::{swept_text, value_text};

fn epochs_text(r: &Row) -> String {
    match r.epochs_planned {
        Some(p) => format!("{}/{p}", r.epochs_done),
        None => r.epochs_done.to_string(),
    }
}

// --- the sweep table ---------------------------------------------------------

fn rows_grid(report: &Report) -> Grid {
    let first = if report.layout == super::Layout::Runs {
        "run"
    } else {
        "task"
    };
    let mut headers: Vec<String> = vec!["".into(), first.into()];
    headers.extend(report.swept_keys.iter().cloned());
    headers.extend(
        [
            "status",
            "epochs",
            "best dev F1",
            "@epoch",
            "test P",
            "test R",
            "test F1",
        ]
        .map(String::from),
    );
    let extra = extra_test_columns(report);
    headers.extend(extra.iter().map(|(h, _)| (*h).to_string()));
    headers.extend(["s/epoch", "peak GPU", "peak RSS"].map(String::from));
    // Named after the scheduler's own field (qacct maxvmem, sacct MaxRSS).
    headers.push(report.scheduler_peak_label());
    headers.push("wallclock".into());
    let mut align = vec![Align::Left, Align::Right];
    align.extend(report.swept_keys.iter().map(|_| Align::Right));
    align.push(Align::Left);
    align.extend(std::iter::repeat_n(Align::Right, 11 + extra.len()));
    let rows = report
        .rows
        .iter()
        .map(|r| {
            let mut c = vec![if r.best { "*".into() } else { String::new() }, r.key()];
            c.extend(
                report
                    .swept_keys
                    .iter()
                    .map(|k| r.swept.get(k).map_or(DASH.into(), value_text)),
            );
            c.extend([
                r.status.to_string(),
                epochs_text(r),
                score(r.best_dev_f1),
                opt(r.best_dev_epoch, |e| e.to_string()),
                score(r.test_precision),
                score(r.test_recall),
                score(r.test_f1),
            ]);
            c.extend(extra.iter().map(|(_, get)| score(get(r))));
            c.extend([
                opt(r.seconds_per_epoch, |s| format!("{s:.1}")),
                opt(r.peak_gpu_bytes, human_bytes),
                opt(r.peak_rss_bytes, human_bytes),
                opt(r.scheduler_peak_memory_bytes, human_bytes),
                opt(r.wallclock_seconds, human_duration),
            ]);
            c
        })
        .collect();
    Grid {
        headers,
        align,
        rows,
    }
}

/// A score column shown only when some run has it: micro-F1 (runs from 0.4
/// on), accuracy (single-label runs).
pub(crate) type ScoreColumn = (&'static str, fn(&Row) -> Option<f64>);

pub(crate) fn extra_test_columns(report: &Report) -> Vec<ScoreColumn> {
    let all: [ScoreColumn; 2] = [
        ("test micro-F1", |r| r.test_micro_f1),
        ("test acc", |r| r.test_accuracy),
    ];
    all.into_iter()
        .filter(|(_, get)| report.rows.iter().any(|r| get(r).is_some()))
        .collect()
}

fn notes(report: &Report) -> String {
    let mut out = String::new();
    for r in report.rows.iter().filter(|r| r.note.is_some()) {
        let _ = writeln!(
            out,
            "{}: {} ({})",
            r.label(),
            r.status,
            r.note.as_deref().unwrap_or_default()
        );
    }
    match &report.best_row {
        Some(b) => {
            let _ = writeln!(
                out,
                "* best: {} by {}",
                b.label(),
                match report.sort.best_by() {
                    super::SortKey::DevF1 => "best dev macro-F1",
                    super::SortKey::TestPrecision => "test macro precision",
                    super::SortKey::TestRecall => "test macro recall",
                    _ => "test macro-F1",
                }
            );
        }
        None => {
            let _ = writeln!(out, "no run has a score to pick the best by yet");
        }
    }
    out
}

// --- Table 4 -----------------------------------------------------------------

/// The per-label table: with the paper's columns only against Table 4.
fn comparison_grid(c: &Comparison) -> Grid {
    if !c.reference.is_table4() {
        return scores_grid(c);
    }
    let headers = [
        "emotion", "P", "R", "F1", "support", "paper P", "paper R", "paper F1", "ΔP", "ΔR", "ΔF1",
    ]
    .map(String::from)
    .to_vec();
    let mut align = vec![Align::Left];
    align.extend([Align::Right; 10]);
    // The cells of every Table 4 hecjob prints (table4::cell).
    use crate::report::table4::cell;
    let line = |e: &EmotionRow| {
        vec![
            e.emotion.clone(),
            cell::score(Some(e.ours.precision)),
            cell::score(Some(e.ours.recall)),
            cell::score(Some(e.ours.f1)),
            e.support.to_string(),
            cell::score(e.paper.as_ref().map(|p| p.precision)),
            cell::score(e.paper.as_ref().map(|p| p.recall)),
            cell::score(e.paper.as_ref().map(|p| p.f1)),
            cell::delta(e.delta.as_ref().map(|d| d.precision)),
            cell::delta(e.delta.as_ref().map(|d| d.recall)),
            cell::delta(e.delta.as_ref().map(|d| d.f1)),
        ]
    };
    let mut rows: Vec<Vec<String>> = c.rows.iter().map(line).collect();
    rows.push(line(&c.macro_row));
    Grid {
        headers,
        align,
        rows,
    }
}

/// Per-label P/R/F1 and support of any label set, nothing beside them.
fn scores_grid(c: &Comparison) -> Grid {
    use crate::report::table4::cell;
    let headers = ["label", "P", "R", "F1", "support"]
        .map(String::from)
        .to_vec();
    let mut align = vec![Align::Left];
    align.extend([Align::Right; 4]);
    let line = |e: &EmotionRow| {
        vec![
            e.emotion.clone(),
            cell::score(Some(e.ours.precision)),
            cell::score(Some(e.ours.recall)),
            cell::score(Some(e.ours.f1)),
            e.support.to_string(),
        ]
    };
    let mut rows: Vec<Vec<String>> = c.rows.iter().map(line).collect();
    rows.push(line(&c.macro_row));
    Grid {
        headers,
        align,
        rows,
    }
}

/// Who the comparison is about, for its heading in every format: the best
/// run's label (or its task number when its row is gone) and, when anything
/// was swept, ` (its swept values)` to follow it.
pub(crate) fn best_run_who(report: &Report, c: &Comparison) -> (String, String) {
    let swept = report
        .best_row
        .as_ref()
        .map(swept_text)
        .filter(|s| !s.is_empty())
        .map(|s| format!(" ({s})"))
        .unwrap_or_default();
    let who = report
        .best_row
        .as_ref()
        .map_or_else(|| format!("task {}", c.task), Row::label);
    (who, swept)
}

pub(crate) fn comparison_heading(report: &Report, c: &Comparison) -> String {
    use crate::report::reference::Reference;
    let (who, swept) = best_run_who(report, c);
    match &c.reference {
        Reference::Table4 => format!(
            "Best run, {who}{swept}: test set ({} examples) vs. the paper's Table 4 \
             (BERT-base, threshold 0.3)",
            c.examples
        ),
        _ => format!(
            "Best run, {who}{swept}: test set ({} examples), per label; {}",
            c.examples, c.label_set
        ),
    }
}

/// What the per-label scores stand beside when it is not Table 4: the
/// published reproduction's macro-F1 for a GoEmotions grouping, or nothing.
pub(crate) fn reference_line(c: &Comparison) -> Option<String> {
    use crate::report::reference::Reference;
    match &c.reference {
        Reference::Table4 => None,
        Reference::Reproduction {
            label_map,
            macro_f1,
            source,
        } => Some(format!(
            "Published reproduction, {source}: {label_map} test macro-F1 {macro_f1:.3} \
             (this run {:.4}, {}). The paper's own per-label figures for this grouping \
             are not included.",
            c.macro_row.ours.f1,
            crate::report::table4::cell::delta(Some(c.macro_row.ours.f1 - macro_f1))
        )),
        Reference::None => Some(
            "No published figures to compare this label set with (the GoEmotions paper's apply to its own 28 labels).".into(),
        ),
    }
}

/// The best run's test summary beyond the macro scores: accuracy, macro-
/// and micro-F1 for a single-label run; micro-F1 for a multi-label one.
pub(crate) fn summary_line(c: &Comparison) -> Option<String> {
    let macro_f1 = c.macro_row.ours.f1;
    match (c.accuracy, c.micro_avg) {
        (Some(acc), micro) => Some(format!(
            "Single-label test scores: accuracy {acc:.4}, macro-F1 {macro_f1:.4}, micro-F1 {}",
            micro.map_or_else(|| DASH.to_string(), |m| format!("{:.4}", m.f1))
        )),
        (None, Some(m)) => Some(format!(
            "Test scores: macro-F1 {macro_f1:.4}, micro-F1 {:.4} (micro P {:.4}, R {:.4})",
            m.f1, m.precision, m.recall
        )),
        (None, None) => None,
    }
}

/// The best run's test scores with per-label thresholds tuned on dev, when the
/// run was trained with `tune_thresholds`.
fn tuned_line(report: &Report) -> Option<String> {
    let m = report.best_metrics()?.test_tuned.as_ref()?.macro_avg;
    Some(format!(
        "With per-label thresholds tuned on dev: test macro P {:.4}, R {:.4}, F1 {:.4}",
        m.precision, m.recall, m.f1
    ))
}

pub(crate) fn comparison_missing(report: &Report) -> Option<String> {
    let no_test = report
        .best_metrics()
        .and_then(|m| m.data.as_ref())
        .is_some_and(|d| !d.has_test);
    match (report.best, &report.comparison) {
        (Some(t), None) if no_test => Some(format!(
            "Per-label test scores: task {t}'s data has no test split, so there is no test evaluation"
        )),
        (Some(t), None) => Some(format!(
            "Table 4 comparison: task {t} has no test evaluation yet"
        )),
        _ => None,
    }
}

// --- entry points ------------------------------------------------------------

pub fn render(report: &Report, format: Format, plots: &Plots) -> String {
    match format {
        Format::Table => text(report, plots),
        Format::Markdown => markdown(report, plots),
        Format::Csv => csv(report),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&to_json(report, plots))
                .expect("report JSON is always serialisable");
            s.push('\n');
            s
        }
    }
}

fn title(report: &Report) -> String {
    let n = report.rows.len();
    let total = report.total_tasks;
    let what = if report.layout == super::Layout::Runs {
        "runs"
    } else {
        "tasks"
    };
    let shown = if n < total {
        format!("top {n} of {total} {what}")
    } else {
        format!("{total} {what}")
    };
    match &report.experiment {
        Some(e) => format!("Experiment {e}: {shown}, sorted by {}", report.sort.name()),
        None => format!("{shown}, sorted by {}", report.sort.name()),
    }
}

fn text(report: &Report, plots: &Plots) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}\n", title(report));
    out.push_str(&rows_grid(report).to_text());
    out.push('\n');
    out.push_str(&notes(report));
    if let Some(es) = &report.early_stop {
        let _ = write!(out, "\n{}", super::rungs::text(es));
    }
    let data = report.data.lines();
    if !data.is_empty() {
        out.push('\n');
        for line in &data {
            let _ = writeln!(out, "{line}");
        }
    }
    if let Some(c) = &report.comparison {
        let _ = writeln!(out, "\n{}\n", comparison_heading(report, c));
        out.push_str(&comparison_grid(c).to_text());
        for line in [summary_line(c), reference_line(c), tuned_line(report)]
            .into_iter()
            .flatten()
        {
            let _ = writeln!(out, "\n{line}");
        }
    } else if let Some(m) = comparison_missing(report) {
        let _ = writeln!(out, "\n{m}");
    }
    if !plots.files.is_empty() || !plots.skipped.is_empty() {
        let _ = writeln!(out, "\nplots:");
        for p in &plots.files {
            let _ = writeln!(out, "  {}", p.display());
        }
        for s in &plots.skipped {
            let _ = writeln!(out, "  not drawn: {s}");
        }
    }
    out
}

fn markdown(report: &Report, plots: &Plots) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## {}\n", title(report));
    out.push_str(&rows_grid(report).to_markdown());
    out.push('\n');
    for line in notes(report).lines() {
        let _ = writeln!(out, "- {}", line.trim_start_matches("* "));
    }
    if let Some(es) = &report.early_stop {
        let _ = write!(out, "\n```\n{}```\n", super::rungs::text(es));
    }
    let data = report.data.lines();
    if !data.is_empty() {
        out.push('\n');
        for line in &data {
            let _ = writeln!(out, "- {line}");
        }
    }
    if let Some(c) = &report.comparison {
        let _ = writeln!(out, "\n### {}\n", comparison_heading(report, c));
        out.push_str(&comparison_grid(c).to_markdown());
        for line in [summary_line(c), reference_line(c)].into_iter().flatten() {
            let _ = writeln!(out, "\n{line}");
        }
    } else if let Some(m) = comparison_missing(report) {
        let _ = writeln!(out, "\n{m}");
    }
    if !plots.files.is_empty() || !plots.skipped.is_empty() {
        let _ = writeln!(out, "\n### Plots\n");
        for p in &plots.files {
            let _ = writeln!(out, "- `{}`", p.display());
        }
        for s in &plots.skipped {
            let _ = writeln!(out, "- not drawn: {s}");
        }
    }
    out
}

/// One line per task, raw units; the per-label comparison is in the JSON output.
/// A task stopped early has its rung, that rung's epoch, its rank there and how
/// many results it was compared with in the last four columns.
fn csv(report: &Report) -> String {
    let mut headers: Vec<String> = vec!["best".into(), "task".into()];
    headers.extend(report.swept_keys.iter().cloned());
    headers.extend(CSV_COLUMNS.map(String::from));
    let mut out = csv_line(&headers);
    for r in &report.rows {
        let mut c: Vec<String> = vec![if r.best { "1" } else { "0" }.into(), r.task.to_string()];
        c.extend(
            report
                .swept_keys
                .iter()
                .map(|k| r.swept.get(k).map(value_text).unwrap_or_default()),
        );
        c.extend(csv_cells(r));
        out.push_str(&csv_line(&c));
    }
    out
}

/// The CSV columns after `best`, `task` and the swept keys.
const CSV_COLUMNS: [&str; 21] = [
    "status",
    "note",
    "epochs_done",
    "epochs_planned",
    "best_dev_f1",
    "best_dev_epoch",
    "test_precision",
    "test_recall",
    "test_f1",
    "test_micro_f1",
    "test_accuracy",
    "seconds_per_epoch",
    "peak_gpu_bytes",
    "peak_rss_bytes",
    "scheduler_peak_memory_bytes",
    "wallclock_seconds",
    "exit_status",
    "stopped_at_rung",
    "stopped_at_epoch",
    "stopped_rank",
    "stopped_compared",
];

/// A row's cells for [`CSV_COLUMNS`], raw units, empty for unknown.
fn csv_cells(r: &Row) -> [String; 21] {
    let o = |v: Option<String>| v.unwrap_or_default();
    // Why an early-stopped task stopped (`sweep.early_stop`); empty otherwise.
    let stop = r.stopped_early.as_ref();
    [
        r.status.to_string(),
        o(r.note.clone()),
        r.epochs_done.to_string(),
        o(r.epochs_planned.map(|v| v.to_string())),
        o(r.best_dev_f1.map(|v| v.to_string())),
        o(r.best_dev_epoch.map(|v| v.to_string())),
        o(r.test_precision.map(|v| v.to_string())),
        o(r.test_recall.map(|v| v.to_string())),
        o(r.test_f1.map(|v| v.to_string())),
        o(r.test_micro_f1.map(|v| v.to_string())),
        o(r.test_accuracy.map(|v| v.to_string())),
        o(r.seconds_per_epoch.map(|v| v.to_string())),
        o(r.peak_gpu_bytes.map(|v| v.to_string())),
        o(r.peak_rss_bytes.map(|v| v.to_string())),
        o(r.scheduler_peak_memory_bytes.map(|v| v.to_string())),
        o(r.wallclock_seconds.map(|v| v.to_string())),
        o(r.exit_status.map(|v| v.to_string())),
        o(stop.map(|d| d.rung.to_string())),
        o(stop.map(|d| d.epoch.to_string())),
        o(stop.map(|d| d.rank.to_string())),
        o(stop.map(|d| d.compared.to_string())),
    ]
}

/// One CSV line: the cells quoted where needed, comma-separated, `\n`-ended.
fn csv_line(cells: &[String]) -> String {
    let mut line = cells
        .iter()
        .map(|s| csv::field(s))
        .collect::<Vec<_>>()
        .join(",");
    line.push('\n');
    line
}

pub fn to_json(report: &Report, plots: &Plots) -> Value {
    let mut v = json!({
        "experiment": report.experiment,
        "layout": report.layout,
        "sort": report.sort,
        "total_tasks": report.total_tasks,
        "best_task": report.best,
        "swept_keys": report.swept_keys,
        "rows": report.rows,
        // Which accounting field the rows' scheduler_peak_memory_bytes is.
        "scheduler_peak_memory": report.accounting_words.map(|w| w.peak_memory_source()),
        // The best run's per-label test scores (beside Table 4 where it applies).
        "table4": report.comparison,
        "data": report.data,
        "plots": plots.files,
        "plots_skipped": plots.skipped,
    });
    // Only sweeps that stopped tasks early have rungs to show.
    if let Some(es) = &report.early_stop {
        v["early_stop"] = json!(es);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pipes of a Markdown row that are not escaped: the row's separators.
    fn separators(line: &str) -> usize {
        let mut n = 0;
        let mut escaped = false;
        for c in line.chars() {
            match c {
                '\\' if !escaped => escaped = true,
                '|' if !escaped => n += 1,
                _ => escaped = false,
            }
        }
        n
    }

    /// Issue 22: a `|` in a run folder's name split the Markdown table; a
    /// backslash before it, or a newline, still did. Every row keeps its
    /// columns, and a terminal escape is spelt out in the text table.
    #[test]
    fn folder_names_cannot_split_a_markdown_table_or_reach_the_terminal() {
        let grid = Grid {
            headers: vec!["run".into(), "status".into()],
            align: vec![Align::Left, Align::Left],
            rows: ["a|b", "a\\|b", "a\nb", "\u{1b}[2Jx"]
                .iter()
                .map(|name| vec![name.to_string(), "finished".into()])
                .collect(),
        };
        let md = grid.to_markdown();
        let lines: Vec<&str> = md.lines().collect();
        assert_eq!(lines.len(), 6, "{md}");
        for line in &lines {
            assert_eq!(separators(line), 3, "{line:?} in\n{md}");
        }
        assert!(lines[2].starts_with("| a\\|b "), "{md}");
        assert!(lines[3].starts_with("| a\\\\\\|b "), "{md}");
        let text = grid.to_text();
        assert!(!text.contains('\u{1b}'), "{text:?}");
        assert!(text.contains("\\u{1b}[2Jx"), "{text}");
    }
}
