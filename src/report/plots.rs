//! The report's figures, each written as SVG (for papers and editing) and PNG
//! (for slides), through `write_atomic`:
//! - `loss`: training loss per logged step, one line per task;
//! - `dev_f1`: dev macro-F1 per epoch, one line per task, the paper's macro-F1 dashed;
//! - `emotion_f1`: the best run's per-emotion test F1 beside the paper's (grouped bars);
//! - `memory`: GPU memory and RSS over time of the best run.
//!
//! Every drawing function is generic over the plotters backend and takes a scale
//! factor `k` for sizes (fonts, strokes, margins), so the PNG is drawn at a
//! higher resolution with the same layout as the SVG.

use super::font;
use super::text::swept_text;
use super::Report;
use crate::jobdir::metrics::RunMetrics;
use crate::util::error::{Error, Result};
use crate::util::fsutil::write_atomic;
use plotters::chart::MeshStyle;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::ops::Range;
use std::path::{Path, PathBuf};

/// What `write_all` produced.
#[derive(Debug, Clone, Default)]
pub struct Plots {
    pub files: Vec<PathBuf>,
    /// Plots not drawn, with why (e.g. no memory samples).
    pub skipped: Vec<String>,
}

/// The report's palette (Tableau 10, colour-blind friendly), the one
/// `svg.rs` writes as hex for the page: a run has one colour in both.
const PALETTE: [RGBColor; 10] = {
    let mut out = [RGBColor(0, 0, 0); 10];
    let mut i = 0;
    while i < out.len() {
        out[i] = hex_rgb(super::svg::PALETTE[i]);
        i += 1;
    }
    out
};

/// `#RRGGBB` as a colour (at compile time: a bad digit fails the build).
const fn hex_rgb(hex: &str) -> RGBColor {
    const fn digit(b: u8) -> u8 {
        match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => panic!("not a hex digit"),
        }
    }
    let b = hex.as_bytes();
    assert!(b.len() == 7 && b[0] == b'#', "not #RRGGBB");
    RGBColor(
        digit(b[1]) * 16 + digit(b[2]),
        digit(b[3]) * 16 + digit(b[4]),
        digit(b[5]) * 16 + digit(b[6]),
    )
}
const PAPER_GREY: RGBColor = RGBColor(0x6B, 0x6B, 0x6B);
const GRID: RGBColor = RGBColor(0xE4, 0xE4, 0xE4);
const FONT: &str = "sans-serif";
/// PNG pixels per SVG unit: 1.5 × gives slide-quality bitmaps of modest size.
const PNG_SCALE: f64 = 1.5;

type DrawResult = std::result::Result<(), String>;
/// The charts of every figure: f64 on both axes.
type Chart2d<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn px(v: f64, k: f64) -> i32 {
    (v * k).round() as i32
}

fn pxu(v: f64, k: f64) -> u32 {
    (v * k).round().max(1.0) as u32
}

/// A figure that can be drawn on any backend.
trait Figure {
    /// Base size (SVG units); the PNG is `PNG_SCALE` times larger.
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, k: f64) -> DrawResult;
}

/// Draw all figures the report has data for into `dir`; returns the files written.
pub fn write_all(report: &Report, dir: &Path) -> Result<Plots> {
    font::ensure_registered()?;
    let mut out = Plots::default();
    let tasks = plotted_tasks(report);

    let loss = LossFigure { tasks: &tasks };
    if tasks.iter().any(|t| !t.run.loss_log.is_empty()) {
        out.files.extend(write_figure(dir, "loss", &loss)?);
    } else {
        out.skipped
            .push("loss: no run has logged a training loss yet".into());
    }

    let dev = DevF1Figure {
        tasks: &tasks,
        reference: super::reference::shared(report.runs.values()).and_then(|r| r.macro_line()),
    };
    if tasks
        .iter()
        .any(|t| t.run.epochs.iter().any(|e| e.dev.is_some()))
    {
        out.files.extend(write_figure(dir, "dev_f1", &dev)?);
    } else {
        out.skipped
            .push("dev_f1: no run has a dev evaluation yet".into());
    }

    match &report.comparison {
        Some(c) => {
            let fig = EmotionFigure {
                task: c.task,
                rows: c
                    .rows
                    .iter()
                    .map(|r| (r.emotion.clone(), r.ours.f1, r.paper.as_ref().map(|p| p.f1)))
                    .collect(),
                macro_f1: (c.macro_row.ours.f1, c.macro_row.paper.map(|p| p.f1)),
            };
            out.files.extend(write_figure(dir, "emotion_f1", &fig)?);
        }
        None => out
            .skipped
            .push("emotion_f1: the best run has no test evaluation yet".into()),
    }

    match (report.best, report.best_metrics()) {
        (Some(task), Some(m)) if !m.memory.samples.is_empty() => {
            let fig = MemoryFigure { task, run: m };
            out.files.extend(write_figure(dir, "memory", &fig)?);
        }
        _ => out
            .skipped
            .push("memory: the best run has no memory samples".into()),
    }
    Ok(out)
}

/// A task to plot: its legend label and metrics.
struct PlotTask<'a> {
    label: String,
    run: &'a RunMetrics,
}

/// The shown rows that have metrics, in table order (so colours follow the table).
fn plotted_tasks(report: &Report) -> Vec<PlotTask<'_>> {
    report
        .rows
        .iter()
        .filter_map(|r| {
            let run = report.runs.get(&r.task)?;
            let swept = swept_text(r);
            let mut label = r.label();
            if !swept.is_empty() {
                label.push_str(&format!(": {swept}"));
            }
            if r.best {
                label.push_str(" (best)");
            }
            Some(PlotTask { label, run })
        })
        .collect()
}

fn write_figure(dir: &Path, stem: &str, fig: &impl Figure) -> Result<Vec<PathBuf>> {
    let (w, h) = fig.size();
    let draw_error = |e: String| Error::Internal(format!("drawing plot {stem}: {e}"));

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        fig.draw(&root, 1.0).map_err(draw_error)?;
        root.present().map_err(|e| draw_error(err(e)))?;
    }
    let svg_path = dir.join(format!("{stem}.svg"));
    write_atomic(&svg_path, svg.as_bytes())?;

    let (pw, ph) = (
        (f64::from(w) * PNG_SCALE) as u32,
        (f64::from(h) * PNG_SCALE) as u32,
    );
    let mut rgb = vec![0u8; pw as usize * ph as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (pw, ph)).into_drawing_area();
        fig.draw(&root, PNG_SCALE).map_err(draw_error)?;
        root.present().map_err(|e| draw_error(err(e)))?;
    }
    let png_path = dir.join(format!("{stem}.png"));
    write_atomic(&png_path, &encode_png(&rgb, pw, ph)?)?;
    Ok(vec![svg_path, png_path])
}

fn encode_png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let mut enc = png::Encoder::new(&mut bytes, w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header()
        .and_then(|mut wr| wr.write_image_data(rgb))
        .map_err(|e| Error::Internal(format!("encoding PNG: {e}")))?;
    Ok(bytes)
}

// --- shared pieces -------------------------------------------------------------

#[derive(Clone, Copy)]
enum Mark {
    Line,
    Dashed,
    Bar,
}

struct LegendEntry {
    label: String,
    color: RGBColor,
    mark: Mark,
}

/// Title on top; returns the area below it.
fn titled<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    k: f64,
) -> std::result::Result<DrawingArea<DB, Shift>, String> {
    root.fill(&WHITE).map_err(err)?;
    // Breathing room above the title; the chart margins handle the other sides.
    root.margin(px(10.0, k), 0, 0, 0)
        .titled(title, (FONT, 24.0 * k).into_font().color(&BLACK))
        .map_err(err)
}

/// Split off a legend panel on the right, wide enough for the longest label
/// (up to 40% of the figure); returns (plot area, legend area).
fn split_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[LegendEntry],
    k: f64,
) -> (DrawingArea<DB, Shift>, DrawingArea<DB, Shift>) {
    let (w, _) = area.dim_in_pixel();
    let style = TextStyle::from((FONT, 15.0 * k).into_font());
    let longest = entries
        .iter()
        .filter_map(|e| area.estimate_text_size(&e.label, &style).ok())
        .map(|(tw, _)| tw)
        .max()
        .unwrap_or(0);
    let want = longest + pxu(60.0, k);
    let panel = want.clamp(pxu(160.0, k), (w as f64 * 0.4) as u32);
    area.split_horizontally(w - panel)
}

/// A hand-drawn legend: one swatch and label per line, truncated with "…" to
/// the panel, and "… N more" when the entries outnumber the lines that fit.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[LegendEntry],
    k: f64,
) -> DrawResult {
    let (w, h) = area.dim_in_pixel();
    let style = TextStyle::from((FONT, 15.0 * k).into_font())
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    let line_h = px(24.0, k);
    let top = px(24.0, k);
    let swatch = px(28.0, k);
    let x_text = px(8.0, k) + swatch + px(8.0, k);
    let max_text = w as i32 - x_text - px(6.0, k);
    let fits = ((h as i32 - top) / line_h).max(1) as usize;
    let shown = if entries.len() > fits {
        fits - 1
    } else {
        entries.len()
    };
    for (i, e) in entries.iter().take(shown).enumerate() {
        let y = top + i as i32 * line_h;
        let x0 = px(8.0, k);
        match e.mark {
            Mark::Line => area
                .draw(&PathElement::new(
                    vec![(x0, y), (x0 + swatch, y)],
                    e.color.stroke_width(pxu(3.0, k)),
                ))
                .map_err(err)?,
            Mark::Dashed => {
                let seg = swatch / 4;
                for s in [0, 2] {
                    area.draw(&PathElement::new(
                        vec![(x0 + s * seg, y), (x0 + (s + 1) * seg, y)],
                        e.color.stroke_width(pxu(3.0, k)),
                    ))
                    .map_err(err)?;
                }
            }
            Mark::Bar => area
                .draw(&Rectangle::new(
                    [(x0, y - px(7.0, k)), (x0 + swatch, y + px(7.0, k))],
                    e.color.filled(),
                ))
                .map_err(err)?,
        }
        let label = fit_text(area, &e.label, &style, max_text);
        area.draw(&Text::new(label, (x_text, y), style.clone()))
            .map_err(err)?;
    }
    if shown < entries.len() {
        let y = top + shown as i32 * line_h;
        area.draw(&Text::new(
            format!("… {} more", entries.len() - shown),
            (px(8.0, k), y),
            style,
        ))
        .map_err(err)?;
    }
    Ok(())
}

/// Cut `text` with "…" until it is at most `max` pixels wide.
fn fit_text<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    style: &TextStyle,
    max: i32,
) -> String {
    let width = |s: &str| {
        area.estimate_text_size(s, style)
            .map(|(w, _)| w as i32)
            .unwrap_or(0)
    };
    if width(text) <= max {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    let mut n = chars.len();
    while n > 1 {
        n -= 1;
        let cut: String = chars[..n].iter().collect::<String>() + "…";
        if width(&cut) <= max {
            return cut;
        }
    }
    "…".into()
}

/// A figure's chart on `plot`: the margins and the x label area every figure
/// has, `y_label_area` pixels for the y labels, and `x` × `y` in data units.
fn chart_on<'a, DB: DrawingBackend>(
    plot: &'a DrawingArea<DB, Shift>,
    k: f64,
    y_label_area: i32,
    x: Range<f64>,
    y: Range<f64>,
) -> std::result::Result<Chart2d<'a, DB>, String> {
    ChartBuilder::on(plot)
        .margin(px(12.0, k))
        .x_label_area_size(px(56.0, k))
        .y_label_area_size(y_label_area)
        .build_cartesian_2d(x, y)
        .map_err(err)
}

/// The mesh every figure shares (fonts, grid lines); the caller adds its
/// axis descriptions, tick counts and label formats, then draws it.
fn styled_mesh<'a, 'b, DB: DrawingBackend>(
    chart: &'b mut Chart2d<'a, DB>,
    k: f64,
) -> MeshStyle<'a, 'b, RangedCoordf64, RangedCoordf64, DB> {
    let mut mesh = chart.configure_mesh();
    mesh.axis_desc_style((FONT, 18.0 * k))
        .label_style((FONT, 15.0 * k))
        .light_line_style(WHITE)
        .bold_line_style(GRID.stroke_width(pxu(1.0, k)));
    mesh
}

/// Which points of a line get a marker.
#[derive(Clone, Copy)]
enum Markers {
    /// Every point (epochs: few, and each one a result).
    Always,
    /// Only when there are one or two: a line through them is invisible or
    /// looks like a glitch (tiny test runs).
    IfSparse,
}

/// One series: a line of `width` (SVG units) in `c`, with markers as asked.
fn draw_line<DB: DrawingBackend>(
    chart: &mut Chart2d<'_, DB>,
    pts: &[(f64, f64)],
    c: RGBColor,
    width: f64,
    markers: Markers,
    k: f64,
) -> DrawResult {
    chart
        .draw_series(LineSeries::new(pts.to_vec(), c.stroke_width(pxu(width, k))))
        .map_err(err)?;
    if matches!(markers, Markers::Always) || pts.len() <= 2 {
        chart
            .draw_series(pts.iter().map(|&p| Circle::new(p, pxu(4.0, k), c.filled())))
            .map_err(err)?;
    }
    Ok(())
}

/// The paper's figure as a dashed grey line at `y` across `x` (30 dashes).
fn draw_paper_line<DB: DrawingBackend>(
    chart: &mut Chart2d<'_, DB>,
    x: Range<f64>,
    y: f64,
    k: f64,
) -> DrawResult {
    let dash = (x.end - x.start) / 60.0;
    chart
        .draw_series((0..60).step_by(2).map(|j| {
            let x0 = x.start + j as f64 * dash;
            PathElement::new(
                vec![(x0, y), (x0 + dash, y)],
                PAPER_GREY.stroke_width(pxu(2.0, k)),
            )
        }))
        .map_err(err)?;
    Ok(())
}

fn line_entry(label: String, color: RGBColor) -> LegendEntry {
    LegendEntry {
        label,
        color,
        mark: Mark::Line,
    }
}

fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Upper axis bound with a little headroom; never a zero-width range.
fn upper(max: f64, min_span: f64) -> f64 {
    if max.is_finite() && max > 0.0 {
        (max * 1.08).max(min_span)
    } else {
        min_span
    }
}

// --- loss ------------------------------------------------------------------------

struct LossFigure<'a> {
    tasks: &'a [PlotTask<'a>],
}

impl Figure for LossFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (1200, 700)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, k: f64) -> DrawResult {
        let area = titled(root, "Training loss per logged step", k)?;
        let logged = || {
            self.tasks
                .iter()
                .enumerate()
                .filter(|(_, t)| !t.run.loss_log.is_empty())
        };
        let entries: Vec<LegendEntry> = logged()
            .map(|(i, t)| line_entry(t.label.clone(), color(i)))
            .collect();
        let (plot, legend) = split_legend(&area, &entries, k);
        let points = self.tasks.iter().flat_map(|t| t.run.loss_log.iter());
        let (max_step, max_loss) = points.fold((0u64, 0f64), |(s, l), p| {
            (
                s.max(p.step),
                if p.loss.is_finite() { l.max(p.loss) } else { l },
            )
        });
        let x = 0f64..upper(max_step as f64, 1.0);
        let mut chart = chart_on(&plot, k, px(78.0, k), x, 0f64..upper(max_loss, 0.1))?;
        styled_mesh(&mut chart, k)
            .x_desc("global step (training batches)")
            .y_desc("training loss (BCE, mean per batch)")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| format!("{y:.2}"))
            .draw()
            .map_err(err)?;
        for (i, t) in logged() {
            let pts: Vec<(f64, f64)> = t
                .run
                .loss_log
                .iter()
                .filter(|p| p.loss.is_finite())
                .map(|p| (p.step as f64, p.loss))
                .collect();
            draw_line(&mut chart, &pts, color(i), 2.0, Markers::IfSparse, k)?;
        }
        draw_legend(&legend, &entries, k)
    }
}

// --- dev macro-F1 -------------------------------------------------------------------

struct DevF1Figure<'a> {
    tasks: &'a [PlotTask<'a>],
    /// The dashed line every run shares (the paper's macro-F1, or a grouping's
    /// published reproduction), with its legend text; none for other data.
    reference: Option<(f64, String)>,
}

impl DevF1Figure<'_> {
    /// Each task's (epoch, dev macro-F1) points, with the task's index
    /// (its colour); tasks with no dev evaluation left out.
    fn series(&self) -> Vec<(usize, Vec<(f64, f64)>)> {
        self.tasks
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let pts = t
                    .run
                    .epochs
                    .iter()
                    .filter_map(|e| e.dev.as_ref().map(|d| (f64::from(e.epoch), d.macro_avg.f1)))
                    .collect();
                (i, pts)
            })
            .filter(|(_, p): &(usize, Vec<(f64, f64)>)| !p.is_empty())
            .collect()
    }
}

impl Figure for DevF1Figure<'_> {
    fn size(&self) -> (u32, u32) {
        (1200, 700)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, k: f64) -> DrawResult {
        let area = titled(root, "Dev macro-F1 per epoch", k)?;
        let series = self.series();
        let mut entries: Vec<LegendEntry> = series
            .iter()
            .map(|(i, _)| line_entry(self.tasks[*i].label.clone(), color(*i)))
            .collect();
        if let Some((v, label)) = &self.reference {
            entries.push(LegendEntry {
                label: if label.starts_with("paper") {
                    format!("paper, test macro-F1 ({v:.2})")
                } else {
                    label.clone()
                },
                color: PAPER_GREY,
                mark: Mark::Dashed,
            });
        }
        let paper = self.reference.as_ref().map_or(0.0, |r| r.0);
        let (plot, legend) = split_legend(&area, &entries, k);
        let all = || series.iter().flat_map(|(_, p)| p.iter());
        let max_epoch = all().map(|q| q.0).fold(1.0, f64::max);
        let max_f1 = all().map(|q| q.1).fold(paper, f64::max);
        let y_max = ((max_f1 + 0.05) * 10.0).ceil() / 10.0;
        let x = 0.7f64..max_epoch + 0.3;
        let mut chart = chart_on(&plot, k, px(78.0, k), x.clone(), 0f64..y_max.min(1.0))?;
        styled_mesh(&mut chart, k)
            .x_desc("epoch")
            .y_desc(
                if self
                    .reference
                    .as_ref()
                    .is_some_and(|r| r.1.starts_with("paper"))
                {
                    "dev macro-F1 (28 emotions)"
                } else {
                    "dev macro-F1"
                },
            )
            .x_labels((max_epoch as usize + 1).min(20))
            // Only whole epochs are labelled.
            .x_label_formatter(&|x| {
                if (x - x.round()).abs() < 1e-6 {
                    format!("{x:.0}")
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|y| format!("{y:.2}"))
            .draw()
            .map_err(err)?;
        // The paper's line first, so runs draw over it.
        if self.reference.is_some() {
            draw_paper_line(&mut chart, x, paper, k)?;
        }
        for (i, pts) in &series {
            draw_line(&mut chart, pts, color(*i), 2.5, Markers::Always, k)?;
        }
        draw_legend(&legend, &entries, k)
    }
}

// --- per-emotion F1 ----------------------------------------------------------------

struct EmotionFigure {
    task: u32,
    /// (emotion, our F1, the paper's F1)
    rows: Vec<(String, f64, Option<f64>)>,
    /// (our macro-F1, the paper's: only against Table 4)
    macro_f1: (f64, Option<f64>),
}

/// The colour of this run's bars (the paper's are PAPER_GREY).
const OURS: RGBColor = PALETTE[0];

impl Figure for EmotionFigure {
    fn size(&self) -> (u32, u32) {
        (1100, 160 + 30 * self.rows.len().max(1) as u32)
    }

    /// Horizontal grouped bars: emotion names stay horizontal and readable.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, k: f64) -> DrawResult {
        let title = match self.macro_f1.1 {
            Some(_) => format!(
                "Per-emotion test F1: best run (task {}) vs. GoEmotions paper, Table 4",
                self.task
            ),
            None => format!("Per-label test F1: best run (task {})", self.task),
        };
        let area = titled(root, &title, k)?;
        let mut entries = vec![LegendEntry {
            label: format!("this run (macro-F1 {:.2})", self.macro_f1.0),
            color: OURS,
            mark: Mark::Bar,
        }];
        if let Some(paper) = self.macro_f1.1 {
            entries.push(LegendEntry {
                label: format!("paper, BERT-base (macro-F1 {paper:.2})"),
                color: PAPER_GREY,
                mark: Mark::Bar,
            });
        }
        let (plot, legend) = split_legend(&area, &entries, k);
        let n = self.rows.len().max(1) as f64;
        let label_style = TextStyle::from((FONT, 15.0 * k).into_font())
            .color(&BLACK)
            .pos(Pos::new(HPos::Right, VPos::Center));
        let longest = self
            .rows
            .iter()
            .filter_map(|r| plot.estimate_text_size(&r.0, &label_style).ok())
            .map(|(w, _)| w)
            .max()
            .unwrap_or(0);
        let y_label_area = longest as i32 + px(16.0, k);
        let mut chart = chart_on(&plot, k, y_label_area, 0f64..1f64, 0f64..n)?;
        styled_mesh(&mut chart, k)
            .disable_y_mesh()
            .y_labels(0)
            .x_desc("F1 on the test set (threshold 0.3)")
            .x_labels(11)
            .x_label_formatter(&|x| format!("{x:.1}"))
            .draw()
            .map_err(err)?;
        self.draw_bars(&mut chart, n)?;
        self.draw_row_names(&chart, &plot, n, &label_style, k)?;
        draw_legend(&legend, &entries, k)
    }
}

impl EmotionFigure {
    /// Row i (table order) at the top: y runs from n (top) down to 0; this
    /// run's bar above the paper's.
    fn draw_bars<DB: DrawingBackend>(&self, chart: &mut Chart2d<'_, DB>, n: f64) -> DrawResult {
        for (i, (_, f1, paper)) in self.rows.iter().enumerate() {
            let y = n - i as f64 - 1.0;
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(0.0, y + 0.52), (*f1, y + 0.88)],
                    OURS.filled(),
                )))
                .map_err(err)?;
            if let Some(p) = paper {
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(0.0, y + 0.12), (*p, y + 0.48)],
                        PAPER_GREY.filled(),
                    )))
                    .map_err(err)?;
            }
        }
        Ok(())
    }

    /// Emotion names beside their bars, drawn by hand so each sits at its row's centre.
    fn draw_row_names<DB: DrawingBackend>(
        &self,
        chart: &Chart2d<'_, DB>,
        plot: &DrawingArea<DB, Shift>,
        n: f64,
        style: &TextStyle,
        k: f64,
    ) -> DrawResult {
        let (x_range, _) = chart.plotting_area().get_pixel_range();
        for (i, (name, _, _)) in self.rows.iter().enumerate() {
            let y = n - i as f64 - 0.5;
            let (_, py) = chart.backend_coord(&(0.0, y));
            plot.draw(&Text::new(
                name.clone(),
                (
                    x_range.start - px(8.0, k) - plot.get_base_pixel().0,
                    py - plot.get_base_pixel().1,
                ),
                style.clone(),
            ))
            .map_err(err)?;
        }
        Ok(())
    }
}

// --- memory ------------------------------------------------------------------------

struct MemoryFigure<'a> {
    task: u32,
    run: &'a RunMetrics,
}

/// A memory series: legend label, points (time, GiB), colour.
type MemorySeries<'s> = (&'s str, Vec<(f64, f64)>, RGBColor);

impl MemoryFigure<'_> {
    /// The memory figures that have samples, in `div`-second units of time.
    fn series(&self, div: f64) -> Vec<MemorySeries<'static>> {
        const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
        type Get = fn(&crate::jobdir::metrics::MemorySample) -> Option<u64>;
        let kinds: [(&str, Get, RGBColor); 3] = [
            (
                "GPU memory, this process",
                |s| s.gpu_process_used_bytes,
                PALETTE[0],
            ),
            (
                "GPU memory, whole device",
                |s| s.gpu_device_used_bytes,
                PALETTE[1],
            ),
            ("resident set size (RSS)", |s| s.rss_bytes, PALETTE[4]),
        ];
        let samples = &self.run.memory.samples;
        kinds
            .iter()
            .map(|(name, get, c)| {
                let pts = samples
                    .iter()
                    .filter_map(|s| get(s).map(|b| (s.t / div, b as f64 / GIB)))
                    .collect();
                (*name, pts, *c)
            })
            .filter(|(_, p, _): &MemorySeries| !p.is_empty())
            .collect()
    }
}

impl Figure for MemoryFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (1200, 700)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, k: f64) -> DrawResult {
        let title = format!("Memory over time, best run (task {})", self.task);
        let area = titled(root, &title, k)?;
        let span = self
            .run
            .memory
            .samples
            .iter()
            .map(|s| s.t)
            .fold(0.0, f64::max);
        // Minutes read better than thousands of seconds.
        let (unit, div) = if span > 300.0 {
            ("minutes", 60.0)
        } else {
            ("seconds", 1.0)
        };
        let series = self.series(div);
        let entries: Vec<LegendEntry> = series
            .iter()
            .map(|(name, _, c)| line_entry((*name).to_string(), *c))
            .collect();
        let (plot, legend) = split_legend(&area, &entries, k);
        let y_max = series
            .iter()
            .flat_map(|(_, p, _)| p.iter().map(|q| q.1))
            .fold(0.0, f64::max);
        let x_max = upper(span / div, 1.0);
        // Whole units unless the run is too short for them to tell ticks apart.
        let time_label = move |x: &f64| {
            if x_max >= 10.0 {
                format!("{x:.0}")
            } else {
                format!("{x:.1}")
            }
        };
        let mut chart = chart_on(&plot, k, px(78.0, k), 0f64..x_max, 0f64..upper(y_max, 0.5))?;
        styled_mesh(&mut chart, k)
            .x_desc(format!("time since training started ({unit})"))
            .y_desc("memory used (GiB)")
            .x_label_formatter(&time_label)
            .y_label_formatter(&|y| format!("{y:.1}"))
            .draw()
            .map_err(err)?;
        for (_, pts, c) in &series {
            draw_line(&mut chart, pts, *c, 2.0, Markers::IfSparse, k)?;
        }
        draw_legend(&legend, &entries, k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The figures and the page's charts give a run one colour.
    #[test]
    fn figures_use_the_pages_palette() {
        let hex: Vec<String> = PALETTE
            .iter()
            .map(|c| format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2))
            .collect();
        assert_eq!(hex, super::super::svg::PALETTE);
        assert_eq!(color(11), hex_rgb("#f28e2b"));
    }
}
