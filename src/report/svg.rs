//! Small inline SVG line charts for `report.html`: hand-written markup (no
//! fonts embedded, text drawn by the browser), a `viewBox` so they scale to
//! the page and to paper, and a `<title>` on every marker for hover values.
//!
//! The PNG/SVG files of `plots.rs` are for papers and slides; these are for
//! the page, where the legend is HTML beside the chart (it wraps, it prints,
//! and the same colours mark the rows of the sweep table).

use std::fmt::Write;

/// Tableau 10: colour-blind friendly, prints in grey well. The report's one
/// palette: `plots.rs` draws its PNG/SVG figures in these colours too.
pub const PALETTE: [&str; 10] = [
    "#4E79A7", "#F28E2B", "#E15759", "#76B7B2", "#59A14F", "#EDC948", "#B07AA1", "#FF9DA7",
    "#9C755F", "#BAB0AC",
];

pub fn color(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

pub struct Series {
    pub label: String,
    pub color: &'static str,
    /// (x, y), x increasing.
    pub points: Vec<(f64, f64)>,
    /// A thicker line (the best run).
    pub emphasis: bool,
}

pub struct Chart<'a> {
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub series: &'a [Series],
    /// A dashed horizontal reference line and its label (the paper's macro-F1).
    pub reference: Option<(f64, &'a str)>,
    /// Values are integers on x (steps, epochs): ticks stay whole.
    pub integer_x: bool,
    /// Start the y axis at 0 (losses); scores close together read better
    /// on an axis fitted to them.
    pub from_zero: bool,
}

const W: f64 = 640.0;
const H: f64 = 300.0;
const LEFT: f64 = 58.0;
const RIGHT: f64 = 14.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 44.0;

/// Nicely rounded ticks covering [lo, hi] (1, 2, 5 × 10^k steps).
pub fn ticks(lo: f64, hi: f64, want: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return vec![lo];
    }
    let raw = (hi - lo) / want.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() * step;
    let mut out = Vec::new();
    let mut v = first;
    while v <= hi + step * 1e-9 {
        // Snap away float noise (0.6000000000000001).
        out.push(((v / step).round() * step * 1e9).round() / 1e9);
        v += step;
    }
    out
}

fn tick_text(v: f64, step: f64) -> String {
    if step >= 1.0 {
        format!("{v:.0}")
    } else {
        let digits = (-step.log10()).ceil().max(0.0) as usize;
        format!("{v:.digits$}")
    }
}

use super::text::esc;

/// Where a chart's axes run and their ticks (see [`Chart::axes`]).
struct Axes {
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
    xt: Vec<f64>,
    yt: Vec<f64>,
}

impl Chart<'_> {
    /// The chart as an inline `<svg>` (empty when no series has a point).
    pub fn render(&self) -> String {
        let Some(Axes {
            x0,
            x1,
            y0,
            y1,
            xt,
            yt,
        }) = self.axes()
        else {
            return String::new();
        };
        let sx = |x: f64| LEFT + (x - x0) / (x1 - x0) * (W - LEFT - RIGHT);
        let sy = |y: f64| TOP + (1.0 - (y - y0) / (y1 - y0)) * (H - TOP - BOTTOM);
        let mut o = String::new();
        let _ = write!(
            o,
            r#"<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{} against {}" xmlns="http://www.w3.org/2000/svg">"#,
            esc(self.y_label),
            esc(self.x_label)
        );
        // Grid and axes.
        let ystep = if yt.len() > 1 { yt[1] - yt[0] } else { 1.0 };
        for &v in &yt {
            let y = sy(v);
            let _ = write!(
                o,
                r#"<line class="grid" x1="{LEFT}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}"/><text class="tick" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
                W - RIGHT,
                LEFT - 6.0,
                y + 4.0,
                tick_text(v, ystep)
            );
        }
        let xstep = if xt.len() > 1 { xt[1] - xt[0] } else { 1.0 };
        for &v in &xt {
            let x = sx(v);
            let _ = write!(
                o,
                r#"<line class="grid" x1="{x:.1}" x2="{x:.1}" y1="{TOP}" y2="{:.1}"/><text class="tick" x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                H - BOTTOM,
                H - BOTTOM + 16.0,
                tick_text(v, xstep)
            );
        }
        let _ = write!(
            o,
            r#"<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{b:.1}"/><line class="axis" x1="{LEFT}" x2="{r:.1}" y1="{b:.1}" y2="{b:.1}"/>"#,
            b = H - BOTTOM,
            r = W - RIGHT
        );
        let _ = write!(
            o,
            r#"<text class="label" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text><text class="label" transform="translate(14 {:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
            (LEFT + W - RIGHT) / 2.0,
            H - 6.0,
            esc(self.x_label),
            (TOP + H - BOTTOM) / 2.0,
            esc(self.y_label)
        );
        if let Some((r, label)) = self.reference {
            let y = sy(r);
            let _ = write!(
                o,
                r#"<line class="ref" x1="{LEFT}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}"/><text class="reflabel" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
                W - RIGHT,
                W - RIGHT - 4.0,
                y - 5.0,
                esc(label)
            );
        }
        self.series_svg(&mut o, &sx, &sy);
        o.push_str("</svg>");
        o
    }

    /// Each series as a polyline (with markers where points are few), the
    /// emphasised one last so it is drawn on top.
    fn series_svg(&self, o: &mut String, sx: &dyn Fn(f64) -> f64, sy: &dyn Fn(f64) -> f64) {
        let mut order: Vec<&Series> = self.series.iter().collect();
        order.sort_by_key(|s| s.emphasis);
        for s in order {
            if s.points.is_empty() {
                continue;
            }
            let path: Vec<String> = s
                .points
                .iter()
                .map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y)))
                .collect();
            let width = if s.emphasis { 3.0 } else { 1.6 };
            let _ = write!(
                o,
                r#"<polyline fill="none" stroke="{}" stroke-width="{width}" points="{}"><title>{}</title></polyline>"#,
                s.color,
                path.join(" "),
                esc(&s.label)
            );
            // Markers where points are few enough to tell apart (epochs).
            if s.points.len() <= 30 {
                for &(x, y) in &s.points {
                    let _ = write!(
                        o,
                        r#"<circle cx="{:.1}" cy="{:.1}" r="{}" fill="{}"><title>{}: {} {}, {} {:.4}</title></circle>"#,
                        sx(x),
                        sy(y),
                        if s.emphasis { 4.0 } else { 3.0 },
                        s.color,
                        esc(&s.label),
                        esc(self.x_label),
                        tick_text(x, if self.integer_x { 1.0 } else { 0.001 }),
                        esc(self.y_label),
                        y
                    );
                }
            }
        }
    }

    /// The ranges and tick values: all points (and the reference line) in
    /// view, padded unless the y axis starts at zero, each axis ending on a
    /// tick. `None` when there is nothing to draw.
    fn axes(&self) -> Option<Axes> {
        let pts = self.series.iter().flat_map(|s| s.points.iter());
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for &(x, y) in pts {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
        if let Some((r, _)) = self.reference {
            y0 = y0.min(r);
            y1 = y1.max(r);
        }
        if x0 > x1 {
            return None;
        }
        if x1 - x0 < 1e-12 {
            x0 -= 1.0;
            x1 += 1.0;
        }
        if self.from_zero {
            y0 = y0.min(0.0);
        } else {
            let pad = ((y1 - y0) * 0.15).max(0.01);
            y0 = (y0 - pad).max(0.0);
            y1 += pad;
        }
        if y1 - y0 < 1e-12 {
            y1 = y0 + 1.0;
        }
        let xt = ticks(x0, x1, 6);
        let xt: Vec<f64> = if self.integer_x {
            xt.into_iter().filter(|v| v.fract() == 0.0).collect()
        } else {
            xt
        };
        let yt = ticks(y0, y1, 5);
        let ystep0 = if yt.len() > 1 { yt[1] - yt[0] } else { 0.0 };
        // The axis ends on a tick line (or the data, whichever is higher).
        let y1 = yt
            .last()
            .map_or(y1, |t| if *t < y1 { t + ystep0 } else { *t });
        let y0 = yt
            .first()
            .map_or(y0, |t| if *t > y0 { t - ystep0 } else { y0 });
        let yt: Vec<f64> = ticks(y0, y1, 5);
        Some(Axes {
            x0,
            x1,
            y0,
            y1,
            xt,
            yt,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round() {
        assert_eq!(ticks(0.0, 1.0, 5), vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        assert_eq!(
            ticks(0.0, 530.0, 6),
            vec![0.0, 100.0, 200.0, 300.0, 400.0, 500.0]
        );
        assert_eq!(ticks(1.0, 1.0, 5), vec![1.0]);
    }

    #[test]
    fn chart_has_one_line_per_series_and_escapes_labels() {
        let series = vec![
            Series {
                label: "task 1 <a&b>".into(),
                color: color(0),
                points: vec![(1.0, 0.3), (2.0, 0.4)],
                emphasis: true,
            },
            Series {
                label: "task 2".into(),
                color: color(1),
                points: vec![(1.0, 0.2)],
                emphasis: false,
            },
        ];
        let svg = Chart {
            x_label: "epoch",
            y_label: "dev macro-F1",
            series: &series,
            reference: Some((0.46, "paper 0.46")),
            integer_x: true,
            from_zero: false,
        }
        .render();
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains("task 1 &lt;a&amp;b&gt;"));
        assert!(!svg.contains("<a&b>"));
        assert!(svg.contains("paper 0.46"));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }
}
