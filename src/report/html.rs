//! `report.html`: the whole report as one self-contained page, to open in a
//! browser or print: the sweep table (sortable by any column, the best run
//! marked, each task's state), the data the runs read, loss and dev-F1 curves
//! as inline SVG, the best run's per-label scores (beside the paper's Table 4
//! when its labels are GoEmotions' 28), a single-label run's confusion
//! matrix, the efficiency section and the config.
//!
//! Self-contained means nothing is fetched: CSS and SVG are inline, the only
//! script is the table sort below (plain DOM, a dozen lines), and no link
//! points off the page. `tests/it/report.rs` opens the page in a real
//! headless Chromium and checks that.

use super::compare::EmotionRow;
use super::format::{best_run_who, human_bytes, human_duration, swept_text, value_text};
use super::row::{Row, SortKey, Status};
use super::svg::{color, Chart, Series};
use super::Report;
use crate::util::error::Result;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

/// What the page shows besides the [`Report`].
#[derive(Debug, Clone, Default)]
pub struct Extras {
    /// The experiment config as rendered (`config.yaml` of a jobs directory), with its path.
    pub config: Option<(String, String)>,
    /// The efficiency section, already as HTML (see `efficiency::html`).
    pub efficiency_html: Option<String>,
}

pub use super::text::esc;

/// Write the page to `path` (atomically).
pub fn write(report: &Report, extras: &Extras, path: &Path) -> Result<()> {
    crate::util::fsutil::write_atomic(path, render(report, extras).as_bytes())
}

pub fn render(report: &Report, extras: &Extras) -> String {
    let colors = task_colors(report);
    let title = match &report.experiment {
        Some(e) => format!("hecjob report: {e}"),
        None => "hecjob report".to_string(),
    };
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{CSS}</style></head><body>\n",
        esc(&title)
    );
    let _ = write!(o, "<header><h1>{}</h1>", esc(&title));
    let _ = write!(
        o,
        "<p class=\"meta\">{} &middot; <code>{}</code> &middot; generated {} by hecjob {}</p>",
        esc(&state_summary(report)),
        esc(&report.dir.display().to_string()),
        esc(&utc_now()),
        env!("CARGO_PKG_VERSION")
    );
    nav(&mut o, report);
    sweep_section(&mut o, report, &colors);
    data_section(&mut o, report);
    curves_section(&mut o, report, &colors);
    table4_section(&mut o, report);
    confusion_section(&mut o, report);
    o.push_str("<section id=\"efficiency\"><h2>Efficiency</h2>");
    match &extras.efficiency_html {
        Some(h) => o.push_str(h),
        None => o.push_str("<p class=\"missing\">Not computed for this report.</p>"),
    }
    o.push_str("</section>\n");
    config_section(&mut o, report, extras);
    let _ = writeln!(o, "</main><script>{SCRIPT}</script></body></html>");
    o
}

/// The links to the sections the page has.
fn nav(o: &mut String, report: &Report) {
    let table4 = report
        .comparison
        .as_ref()
        .is_none_or(|c| c.reference.is_table4());
    o.push_str("<nav><a href=\"#sweep\">Sweep</a>");
    if !report.data.lines().is_empty() {
        o.push_str("<a href=\"#data\">Data</a>");
    }
    o.push_str("<a href=\"#curves\">Curves</a>");
    o.push_str(if table4 {
        "<a href=\"#table4\">Table 4</a>"
    } else {
        "<a href=\"#table4\">Per label</a>"
    });
    if report
        .comparison
        .as_ref()
        .is_some_and(|c| c.confusion.is_some())
    {
        o.push_str("<a href=\"#confusion\">Confusion</a>");
    }
    o.push_str(
        "<a href=\"#efficiency\">Efficiency</a><a href=\"#config\">Config</a></nav></header>\n<main>\n",
    );
}

/// The data the runs read, their label sets, the data check's rejected rows.
fn data_section(o: &mut String, report: &Report) {
    let lines = report.data.lines();
    if lines.is_empty() {
        return;
    }
    o.push_str("<section id=\"data\"><h2>Data</h2><ul class=\"data\">");
    for l in &lines {
        let _ = write!(o, "<li>{}</li>", esc(l));
    }
    o.push_str("</ul></section>\n");
}

/// A single-label best run's confusion matrix as a heat map.
fn confusion_section(o: &mut String, report: &Report) {
    let Some(c) = &report.comparison else {
        return;
    };
    let Some(counts) = &c.confusion else {
        return;
    };
    let (who, swept) = best_run_who(report, c);
    let _ = writeln!(
        o,
        "<section id=\"confusion\"><h2>Confusion matrix</h2><p>Best run, {}{}: test set, \
         {} examples. Rows are the gold labels, columns the predicted ones; each cell's \
         colour is its share of the gold row.</p><div class=\"scroll\">{}</div></section>",
        esc(&who),
        esc(&swept),
        c.examples,
        super::confusion::svg(&c.labels(), counts)
    );
}

/// Each task's colour (a border, not a background: borders print), by its place in the table (as the curves use it).
fn task_colors(report: &Report) -> BTreeMap<u32, &'static str> {
    report
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| (r.task, color(i)))
        .collect()
}

fn state_summary(report: &Report) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for r in &report.rows {
        let s = r.status.to_string();
        match counts.iter_mut().find(|(k, _)| *k == s) {
            Some((_, n)) => *n += 1,
            None => counts.push((s, 1)),
        }
    }
    let parts: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
    let shown = if report.rows.len() < report.total_tasks {
        format!("top {} of {} tasks", report.rows.len(), report.total_tasks)
    } else {
        format!(
            "{} task{}",
            report.total_tasks,
            if report.total_tasks == 1 { "" } else { "s" }
        )
    };
    format!("{shown}: {}", parts.join(", "))
}

// --- the sweep table -------------------------------------------------------

/// A cell: shown text and the value the sort uses (`None` sorts last).
enum Cell {
    Num(String, Option<f64>),
    Text(String),
    State,
}

fn num(v: Option<f64>, f: impl Fn(f64) -> String) -> Cell {
    Cell::Num(v.map_or("–".into(), f), v)
}

fn sweep_section(o: &mut String, report: &Report, colors: &BTreeMap<u32, &str>) {
    o.push_str("<section id=\"sweep\"><h2>Sweep</h2>");
    let best_by = match report.sort.best_by() {
        SortKey::DevF1 => "best dev macro-F1",
        SortKey::TestPrecision => "test macro precision",
        SortKey::TestRecall => "test macro recall",
        _ => "test macro-F1",
    };
    match &report.best_row {
        Some(b) => {
            let _ = write!(
                o,
                "<p><span class=\"star\">★</span> best run: <b>{}</b> by {best_by}. \
                 Click a column header to sort.</p>",
                esc(&b.label())
            );
        }
        None => o.push_str("<p>No run has a score to pick the best by yet.</p>"),
    }
    table_head_html(o, report);
    for r in &report.rows {
        row_html(o, report, r, colors);
    }
    o.push_str("</tbody></table></div>");
    let notes: Vec<&Row> = report.rows.iter().filter(|r| r.note.is_some()).collect();
    if !notes.is_empty() {
        o.push_str("<ul class=\"notes\">");
        for r in notes {
            let _ = write!(
                o,
                "<li>{} ({}): {}</li>",
                esc(&r.label()),
                esc(r.status.as_str()),
                esc(r.note.as_deref().unwrap_or_default())
            );
        }
        o.push_str("</ul>");
    }
    o.push_str("</section>\n");
}

/// The table's opening and header row; the column --sort sorts by carries `aria-sort`.
fn table_head_html(o: &mut String, report: &Report) {
    // (header, sort key name when it matches --sort)
    let first = if report.layout == super::Layout::Runs {
        "run"
    } else {
        "task"
    };
    let mut headers: Vec<(String, Option<&str>)> = vec![(first.into(), Some("task"))];
    headers.extend(report.swept_keys.iter().map(|k| (k.clone(), None)));
    headers.extend([
        ("state".into(), None),
        ("epochs".into(), None),
        ("best dev F1".into(), Some("dev_f1")),
        ("@epoch".into(), None),
        ("test P".into(), Some("test_precision")),
        ("test R".into(), Some("test_recall")),
        ("test F1".into(), Some("test_f1")),
    ]);
    // Micro-F1 and accuracy, when some run has them.
    headers.extend(
        super::format::extra_test_columns(report)
            .into_iter()
            .map(|(h, _)| (h.to_string(), None)),
    );
    headers.extend([
        ("s/epoch".into(), Some("seconds_per_epoch")),
        ("peak GPU".into(), Some("peak_gpu")),
        ("peak RSS".into(), None),
        (report.scheduler_peak_label(), None),
        ("wall time".into(), None),
    ]);
    o.push_str(
        "<div class=\"scroll\"><table class=\"sortable sweep\" id=\"sweep-table\"><thead><tr>",
    );
    for (h, key) in &headers {
        let sorted = match key {
            Some(k) if *k == report.sort.name() => {
                if matches!(
                    report.sort,
                    SortKey::SecondsPerEpoch | SortKey::PeakGpu | SortKey::Task
                ) {
                    " aria-sort=\"ascending\""
                } else {
                    " aria-sort=\"descending\""
                }
            }
            _ => "",
        };
        let _ = write!(o, "<th tabindex=\"0\"{sorted}>{}</th>", esc(h));
    }
    o.push_str("</tr></thead><tbody>");
}

/// One run's row: its colour swatch and star, then each cell with its sort value.
fn row_html(o: &mut String, report: &Report, r: &Row, colors: &BTreeMap<u32, &str>) {
    let cells = row_cells(report, r);
    let _ = write!(
        o,
        "<tr data-task=\"{}\"{}>",
        r.task,
        if r.best { " class=\"best\"" } else { "" }
    );
    for (i, c) in cells.into_iter().enumerate() {
        if i == 0 {
            let sw = colors.get(&r.task).copied().unwrap_or("#999");
            let _ = write!(
                o,
                "<td class=\"num\" data-v=\"{}\"><span class=\"sw\" style=\"border-color:{sw}\"></span>{}{}</td>",
                r.task,
                esc(&r.key()),
                if r.best { " <span class=\"star\" title=\"best run\">★</span>" } else { "" }
            );
            continue;
        }
        match c {
            Cell::Num(text, v) => {
                let _ = write!(
                    o,
                    "<td class=\"num\" data-v=\"{}\">{}</td>",
                    v.map_or(String::new(), |v| v.to_string()),
                    esc(&text)
                );
            }
            Cell::Text(text) => {
                let _ = write!(o, "<td data-v=\"{0}\">{0}</td>", esc(&text));
            }
            Cell::State => {
                let _ = write!(
                    o,
                    "<td data-v=\"{}\">{}</td>",
                    esc(r.status.as_str()),
                    state_html(r)
                );
            }
        }
    }
    o.push_str("</tr>");
}

/// The state cell is a coloured badge; other text cells are plain.
fn state_html(r: &Row) -> String {
    let class = match r.status {
        Status::Finished => "ok",
        Status::Running | Status::Pending => "run",
        Status::Failed | Status::Unreadable | Status::Missing => "bad",
        _ => "warn",
    };
    format!(
        "<span class=\"badge {class}\">{}</span>",
        esc(r.status.as_str())
    )
}

fn row_cells(report: &Report, r: &Row) -> Vec<Cell> {
    let score = |v: Option<f64>| num(v, |x| format!("{x:.4}"));
    let mut c = vec![Cell::Num(r.task.to_string(), Some(f64::from(r.task)))];
    for k in &report.swept_keys {
        c.push(match r.swept.get(k) {
            Some(v) if v.is_number() => Cell::Num(value_text(v), v.as_f64()),
            Some(v) => Cell::Text(value_text(v)),
            None => Cell::Num("–".into(), None),
        });
    }
    c.push(Cell::State);
    c.push(Cell::Num(
        match r.epochs_planned {
            Some(p) => format!("{}/{p}", r.epochs_done),
            None => r.epochs_done.to_string(),
        },
        Some(f64::from(r.epochs_done)),
    ));
    c.push(score(r.best_dev_f1));
    c.push(num(r.best_dev_epoch.map(f64::from), |e| format!("{e:.0}")));
    c.push(score(r.test_precision));
    c.push(score(r.test_recall));
    c.push(score(r.test_f1));
    for (_, get) in super::format::extra_test_columns(report) {
        c.push(score(get(r)));
    }
    c.push(num(r.seconds_per_epoch, |s| format!("{s:.1}")));
    let bytes = |b: Option<u64>| num(b.map(|b| b as f64), |b| human_bytes(b as u64));
    c.push(bytes(r.peak_gpu_bytes));
    c.push(bytes(r.peak_rss_bytes));
    c.push(bytes(r.scheduler_peak_memory_bytes));
    c.push(num(r.wallclock_seconds, human_duration));
    c
}

// --- curves ----------------------------------------------------------------

fn curves_section(o: &mut String, report: &Report, colors: &BTreeMap<u32, &'static str>) {
    o.push_str("<section id=\"curves\"><h2>Curves</h2>");
    let label = |r: &Row| {
        let s = swept_text(r);
        if s.is_empty() {
            r.label()
        } else {
            format!("{} ({s})", r.label())
        }
    };
    let mut loss = Vec::new();
    let mut dev = Vec::new();
    for r in &report.rows {
        let Some(m) = report.runs.get(&r.task) else {
            continue;
        };
        let c = colors.get(&r.task).copied().unwrap_or("#999");
        loss.push(Series {
            label: label(r),
            color: c,
            points: m.loss_log.iter().map(|p| (p.step as f64, p.loss)).collect(),
            emphasis: r.best,
        });
        dev.push(Series {
            label: label(r),
            color: c,
            points: m
                .epochs
                .iter()
                .filter_map(|e| e.dev.as_ref().map(|d| (f64::from(e.epoch), d.macro_avg.f1)))
                .collect(),
            emphasis: r.best,
        });
    }
    o.push_str("<div class=\"charts\">");
    figure(
        o,
        "Training loss per logged step",
        &Chart {
            x_label: "step",
            y_label: "training loss",
            series: &loss,
            reference: None,
            integer_x: true,
            from_zero: true,
        },
        "no run has logged a training loss yet",
    );
    let line = super::reference::shared(report.runs.values()).and_then(|r| r.macro_line());
    figure(
        o,
        "Dev macro-F1 per epoch",
        &Chart {
            x_label: "epoch",
            y_label: "dev macro-F1",
            series: &dev,
            reference: line.as_ref().map(|(v, l)| (*v, l.as_str())),
            integer_x: true,
            from_zero: false,
        },
        "no run has a dev evaluation yet",
    );
    o.push_str("</div>");
    if !loss.is_empty() {
        o.push_str("<ul class=\"legend\">");
        for s in &loss {
            let _ = write!(
                o,
                "<li{}><span class=\"sw\" style=\"border-color:{}\"></span>{}</li>",
                if s.emphasis { " class=\"best\"" } else { "" },
                s.color,
                esc(&s.label)
            );
        }
        o.push_str("</ul>");
    }
    o.push_str("</section>\n");
}

fn figure(o: &mut String, caption: &str, chart: &Chart, empty: &str) {
    let _ = write!(o, "<figure><figcaption>{}</figcaption>", esc(caption));
    if chart.series.iter().all(|s| s.points.is_empty()) {
        let _ = write!(o, "<p class=\"missing\">Not drawn: {}.</p>", esc(empty));
    } else {
        o.push_str(&chart.render());
    }
    o.push_str("</figure>");
}

// --- Table 4 ----------------------------------------------------------------

fn table4_section(o: &mut String, report: &Report) {
    if let Some(c) = report
        .comparison
        .as_ref()
        .filter(|c| !c.reference.is_table4())
    {
        return per_label_section(o, report, c);
    }
    o.push_str("<section id=\"table4\"><h2>Table 4: best run vs. the paper</h2>");
    let Some(c) = &report.comparison else {
        let why = match report.best {
            Some(t) => format!("task {t}, the best run so far, has no test evaluation yet"),
            None => "no run has finished".into(),
        };
        let _ = writeln!(
            o,
            "<p class=\"missing\">Not shown: {}.</p></section>",
            esc(&why)
        );
        return;
    };
    let (who, swept) = best_run_who(report, c);
    let _ = write!(
        o,
        "<p>Best run, {}{}: test set, {} examples, threshold as configured; the paper: \
         BERT-base, threshold 0.3 (Demszky et al., ACL 2020).</p>",
        esc(&who),
        esc(&swept),
        c.examples
    );
    if let Some(line) = super::format::summary_line(c) {
        let _ = write!(o, "<p class=\"summary\">{}.</p>", esc(&line));
    }
    if let Some(t) = report.best_metrics().and_then(|m| m.test_tuned.as_ref()) {
        let _ = write!(
            o,
            "<p>With per-label thresholds tuned on dev: test macro P {:.4}, R {:.4}, F1 {:.4}.</p>",
            t.macro_avg.precision, t.macro_avg.recall, t.macro_avg.f1
        );
    }
    o.push_str(
        "<div class=\"scroll\"><table class=\"sortable t4\" id=\"table4-table\"><thead>\
         <tr class=\"group\"><th></th><th colspan=\"3\">this run</th><th colspan=\"3\">paper</th><th colspan=\"2\"></th></tr>\
         <tr><th tabindex=\"0\">emotion</th><th tabindex=\"0\">P</th><th tabindex=\"0\">R</th><th tabindex=\"0\">F1</th>\
         <th tabindex=\"0\">P</th><th tabindex=\"0\">R</th><th tabindex=\"0\">F1</th>\
         <th tabindex=\"0\">ΔF1</th><th tabindex=\"0\">support</th></tr></thead><tbody>",
    );
    for e in &c.rows {
        t4_row(o, e, false);
    }
    o.push_str("</tbody><tfoot>");
    t4_row(o, &c.macro_row, true);
    o.push_str("</tfoot></table></div></section>\n");
}

/// Any other label set: the run's per-label scores alone, and what they may
/// be compared with.
fn per_label_section(o: &mut String, report: &Report, c: &super::Comparison) {
    let _ = write!(
        o,
        "<section id=\"table4\"><h2>Per-label test scores: best run</h2><p>{}.</p>",
        esc(&super::format::comparison_heading(report, c))
    );
    for line in [
        super::format::summary_line(c),
        super::format::reference_line(c),
    ]
    .into_iter()
    .flatten()
    {
        let _ = write!(o, "<p class=\"summary\">{}</p>", esc(&line));
    }
    o.push_str(
        "<div class=\"scroll\"><table class=\"sortable\" id=\"labels-table\"><thead>\
         <tr><th tabindex=\"0\">label</th><th tabindex=\"0\">P</th><th tabindex=\"0\">R</th>\
         <th tabindex=\"0\">F1</th><th tabindex=\"0\">support</th></tr></thead><tbody>",
    );
    let two = |x: f64| format!("<td class=\"num\" data-v=\"{x}\">{x:.2}</td>");
    for (i, e) in c.rows.iter().chain([&c.macro_row]).enumerate() {
        if i == c.rows.len() {
            o.push_str("</tbody><tfoot><tr class=\"macro\">");
        } else {
            o.push_str("<tr>");
        }
        let _ = write!(o, "<td data-v=\"{n}\">{n}</td>", n = esc(&e.emotion));
        for v in [e.ours.precision, e.ours.recall, e.ours.f1] {
            o.push_str(&two(v));
        }
        let _ = write!(
            o,
            "<td class=\"num\" data-v=\"{s}\">{s}</td></tr>",
            s = e.support
        );
    }
    o.push_str("</tfoot></table></div></section>\n");
}

fn t4_row(o: &mut String, e: &EmotionRow, macro_row: bool) {
    let two = |x: f64| format!("<td class=\"num\" data-v=\"{x}\">{x:.2}</td>");
    let opt2 = |x: Option<f64>| x.map_or("<td class=\"num\" data-v=\"\">–</td>".into(), two);
    let _ = write!(
        o,
        "<tr{}><td data-v=\"{n}\">{n}</td>",
        if macro_row { " class=\"macro\"" } else { "" },
        n = esc(&e.emotion)
    );
    o.push_str(&two(e.ours.precision));
    o.push_str(&two(e.ours.recall));
    o.push_str(&two(e.ours.f1));
    o.push_str(&opt2(e.paper.map(|p| p.precision)));
    o.push_str(&opt2(e.paper.map(|p| p.recall)));
    o.push_str(&opt2(e.paper.map(|p| p.f1)));
    match e.delta.map(|d| d.f1) {
        Some(d) => {
            let r = (d * 100.0).round() / 100.0;
            let (class, text) = if r == 0.0 {
                ("", "0.00".to_string())
            } else if r > 0.0 {
                ("up", format!("{r:+.2}"))
            } else {
                ("down", format!("{r:+.2}"))
            };
            let _ = write!(o, "<td class=\"num {class}\" data-v=\"{d}\">{text}</td>");
        }
        None => o.push_str("<td class=\"num\" data-v=\"\">–</td>"),
    }
    let _ = write!(
        o,
        "<td class=\"num\" data-v=\"{s}\">{s}</td></tr>",
        s = e.support
    );
}

// --- config -------------------------------------------------------------------

fn config_section(o: &mut String, report: &Report, extras: &Extras) {
    o.push_str("<section id=\"config\"><h2>Config</h2>");
    if let Some((path, text)) = &extras.config {
        let _ = write!(
            o,
            "<p>As rendered: <code>{}</code></p><pre>{}</pre>",
            esc(path),
            esc(text)
        );
    }
    match (report.best, report.best_metrics()) {
        (Some(t), Some(m)) => {
            let _ = write!(
                o,
                "<p>Training parameters of the best run (task {t}, model <code>{}</code>, device {}):</p>\
                 <table class=\"params\"><tbody>",
                esc(&m.model),
                esc(&m.device)
            );
            for (k, v) in &m.params {
                let _ = write!(
                    o,
                    "<tr><th>{}</th><td>{}</td></tr>",
                    esc(k),
                    esc(&value_text(v))
                );
            }
            o.push_str("</tbody></table>");
        }
        _ if extras.config.is_none() => {
            o.push_str("<p class=\"missing\">No config found: no config.yaml beside the tasks and no run with parameters yet.</p>");
        }
        _ => {}
    }
    o.push_str("</section>\n");
}

/// `2026-11-29 07:40 UTC` without a date crate (civil-from-days, Hinnant).
fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

const CSS: &str = r#"
:root{--fg:#1d1f23;--muted:#5f6670;--line:#dfe2e6;--best:#fff6d6;--accent:#4E79A7}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);background:#fff}
header{padding:18px 28px 8px;border-bottom:1px solid var(--line);background:#f7f8fa}
h1{font-size:1.45rem;margin:0 0 4px}
h2{font-size:1.15rem;margin:28px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--line)}
.meta{color:var(--muted);margin:0 0 8px;font-size:.9rem}
nav a{margin-right:16px;color:var(--accent);text-decoration:none;font-weight:600;font-size:.92rem}
main{padding:0 28px 40px;max-width:1400px}
code,pre{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,monospace;font-size:.86rem}
pre{background:#f7f8fa;border:1px solid var(--line);padding:10px 12px;overflow:auto;max-height:32em}
.scroll{overflow-x:auto}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{padding:4px 8px;border-bottom:1px solid var(--line);text-align:left;white-space:nowrap}
table.sweep,table.eff{font-size:.9rem}table.sweep thead th,table.eff thead th{white-space:normal;vertical-align:bottom;min-width:3.2em}
table.eff td:nth-child(12),table.eff td:nth-child(13){white-space:normal;min-width:8em}
table.t4 td:nth-child(5),table.t4 th:nth-child(5),table.t4 td:nth-child(8),table.t4 th:nth-child(8){border-left:1px solid #c9cdd2}
table.t4 tr.group th:nth-child(2),table.t4 tr.group th:nth-child(3){border-left:1px solid #c9cdd2}
td.num{text-align:right}
thead th{background:#f1f3f5;position:sticky;top:0}
table.sortable thead tr:last-child th{cursor:pointer;user-select:none}
table.sortable th[aria-sort=ascending]::after{content:" ▲";font-size:.7em}
table.sortable th[aria-sort=descending]::after{content:" ▼";font-size:.7em}
tr.group th{text-align:center;font-weight:500;color:var(--muted);background:#fff}
tr.best td{background:var(--best);font-weight:600}
tr.macro td{font-weight:700;border-top:2px solid var(--fg)}
.star{color:#c98a00}
.sw{display:inline-block;width:0;height:0;border:5px solid;border-radius:2px;margin-right:6px;vertical-align:baseline}
tfoot{display:table-row-group}
.badge{padding:1px 7px;border-radius:9px;font-size:.82rem;font-weight:600}
.badge.ok{background:#dcefdc;color:#1e6b1e}.badge.run{background:#dde8f5;color:#244d7a}
.badge.bad{background:#f8dcdc;color:#8a1f1f}.badge.warn{background:#fbeccf;color:#7a5200}
td.up{color:#1e6b1e}td.down{color:#a02525}
.notes{color:var(--muted);font-size:.9rem}
.missing{color:var(--muted);font-style:italic}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:18px}
figure{margin:0}figcaption{font-weight:600;margin-bottom:4px}
svg.chart{width:100%;height:auto;max-height:340px}
svg .grid{stroke:#eceef0}svg .axis{stroke:#888}svg .tick{font-size:11px;fill:#555}
svg .label{font-size:12px;fill:#333}svg.confusion{width:100%;height:auto}
svg.confusion .gold,svg.confusion .pred{font-size:12px;fill:#1d1f23}.data{font-size:.92rem}svg .ref{stroke:#6b6b6b;stroke-dasharray:6 4}svg .reflabel{font-size:11px;fill:#555}
.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:4px 18px;font-size:.88rem}
.legend li.best{font-weight:700}
table.params th{background:none;font-weight:500;color:var(--muted);position:static}
.eff-grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(250px,1fr));gap:12px;margin:10px 0}
.card{border:1px solid var(--line);border-radius:6px;padding:10px 12px}
.card h3{margin:0 0 6px;font-size:.95rem}
.bar{height:8px;background:#eceef0;border-radius:4px;overflow:hidden;margin:3px 0 6px}
.bar span{display:block;height:100%;background:var(--accent)}
.suggest{border-left:4px solid #59A14F;background:#f3f9f2;padding:8px 12px}
@media (max-width:700px){header,main{padding-left:12px;padding-right:12px}.charts{grid-template-columns:1fr}}
@media print{
  body{font-size:10.5pt}nav{display:none}header{background:none;padding:0 0 6px}
  main{padding:0;max-width:none}.scroll{overflow:visible}pre{max-height:none;white-space:pre-wrap}
  thead th{position:static}section{break-inside:auto}figure,tr,.card{break-inside:avoid}
  h2{break-after:avoid}.charts{grid-template-columns:1fr 1fr}
  tr.best td{background:none}tr.best td:first-child{outline:2px solid #c98a00}
  th,td{padding:2px 5px}table.sweep,table.eff{font-size:7.5pt}table.sweep th,table.sweep td,table.eff th,table.eff td{padding:1px 3px}
  table.eff th{white-space:normal}.eff-grid{grid-template-columns:repeat(4,1fr)}
}
"#;

/// Sorting: click (or Enter on) a header; numbers by data-v, blanks last.
const SCRIPT: &str = r#"
document.querySelectorAll("table.sortable").forEach(function(t){
  var hs=t.tHead.rows[t.tHead.rows.length-1].cells;
  Array.prototype.forEach.call(hs,function(th,i){
    function sort(){
      var asc=th.getAttribute("aria-sort")!=="ascending",b=t.tBodies[0],rows=Array.prototype.slice.call(b.rows);
      Array.prototype.forEach.call(hs,function(h){h.removeAttribute("aria-sort")});
      th.setAttribute("aria-sort",asc?"ascending":"descending");
      rows.sort(function(x,y){
        var a=x.cells[i].dataset.v,c=y.cells[i].dataset.v;
        if(a===""||c==="")return (a==="")-(c==="");
        var p=parseFloat(a),q=parseFloat(c),r=(isNaN(p)||isNaN(q))?a.localeCompare(c):p-q;
        return asc?r:-r;
      });
      rows.forEach(function(r){b.appendChild(r)});
    }
    th.addEventListener("click",sort);
    th.addEventListener("keydown",function(e){if(e.key==="Enter")sort()});
  });
});
"#;
