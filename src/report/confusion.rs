//! A single-label run's confusion matrix as an inline SVG heat map for
//! `report.html`: rows are the gold labels, columns the predicted ones, each
//! cell holds its count and is coloured by its share of the gold row (so a
//! rare label's row reads as clearly as a frequent one's). Label names run
//! along both axes (the columns' turned upright), long ones shortened with
//! the whole name in the cell's `<title>`. Sized for 2 to 30 labels: the
//! cells shrink as labels grow in number, within a `viewBox` that scales.

use super::text::esc;
use std::fmt::Write;

/// Characters of a label shown on an axis (the rest in the hover title).
const LABEL_CHARS: usize = 18;
/// Approximate width of one axis-label character at 12px, for the margins.
const CHAR_W: f64 = 7.0;

/// The colour of a share in [0, 1]: from near white to the palette's blue,
/// darkened (light cells keep dark text, dark cells white text).
pub fn shade(share: f64) -> String {
    let s = share.clamp(0.0, 1.0);
    let lerp = |a: f64, b: f64| (a + (b - a) * s).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        lerp(247.0, 31.0),
        lerp(250.0, 73.0),
        lerp(253.0, 125.0)
    )
}

fn short(label: &str) -> String {
    if label.chars().count() <= LABEL_CHARS {
        label.to_string()
    } else {
        let head: String = label.chars().take(LABEL_CHARS - 1).collect();
        format!("{head}…")
    }
}

/// Cell side in SVG units: large for a few labels, small for many.
fn cell_size(n: usize) -> f64 {
    (480.0 / n.max(1) as f64).clamp(20.0, 64.0)
}

/// The heat map; `counts[gold][predicted]` in `labels` order. Rows or
/// columns beyond the labels (a malformed record) are not drawn.
pub fn svg(labels: &[String], counts: &[Vec<u64>]) -> String {
    let n = labels.len();
    let cell = cell_size(n);
    let longest = labels
        .iter()
        .map(|l| short(l).chars().count())
        .max()
        .unwrap_or(1) as f64;
    let left = 34.0 + longest * CHAR_W;
    let top = 30.0 + longest * CHAR_W;
    let (w, h) = (left + cell * n as f64 + 10.0, top + cell * n as f64 + 10.0);
    let mut o = String::new();
    let _ = write!(
        o,
        r#"<svg class="confusion" viewBox="0 0 {w:.0} {h:.0}" style="max-width:{w:.0}px" role="img" aria-label="confusion matrix, gold labels by row, predicted by column" xmlns="http://www.w3.org/2000/svg">"#
    );
    axis_titles(&mut o, left, top, cell * n as f64);
    for (i, label) in labels.iter().enumerate() {
        let mid = i as f64 * cell + cell / 2.0;
        let _ = write!(
            o,
            r#"<text class="gold" x="{:.1}" y="{:.1}" text-anchor="end"><title>{e}</title>{}</text>"#,
            left - 6.0,
            top + mid + 4.0,
            esc(&short(label)),
            e = esc(label)
        );
        let _ = write!(
            o,
            r#"<text class="pred" transform="translate({:.1} {:.1}) rotate(-90)" text-anchor="start"><title>{e}</title>{}</text>"#,
            left + mid + 4.0,
            top - 6.0,
            esc(&short(label)),
            e = esc(label)
        );
    }
    for (g, row) in counts.iter().take(n).enumerate() {
        let total: u64 = row.iter().take(n).sum();
        for (p, &count) in row.iter().take(n).enumerate() {
            let share = if total == 0 {
                0.0
            } else {
                count as f64 / total as f64
            };
            cell_svg(&mut o, (left, top, cell), (g, p), count, share, labels);
        }
    }
    o.push_str("</svg>");
    o
}

/// "predicted" over the columns, "gold" beside the rows.
fn axis_titles(o: &mut String, left: f64, top: f64, side: f64) {
    let _ = write!(
        o,
        r#"<text class="label" x="{:.1}" y="14" text-anchor="middle">predicted</text><text class="label" transform="translate(14 {:.1}) rotate(-90)" text-anchor="middle">gold</text>"#,
        left + side / 2.0,
        top + side / 2.0
    );
}

/// One cell: its square, its count (white on dark shades), the hover title.
fn cell_svg(
    o: &mut String,
    (left, top, cell): (f64, f64, f64),
    (g, p): (usize, usize),
    count: u64,
    share: f64,
    labels: &[String],
) {
    let (x, y) = (left + p as f64 * cell, top + g as f64 * cell);
    let font = (cell * 0.34).clamp(8.0, 15.0);
    // Zeros recede, so the confusions that happened stand out.
    let ink = match (count, share > 0.5) {
        (0, _) => "#a3a9b0",
        (_, true) => "#ffffff",
        (_, false) => "#1d1f23",
    };
    let _ = write!(
        o,
        r##"<g class="cell" data-gold="{g}" data-predicted="{p}"><title>gold {}, predicted {}: {count} ({:.1}% of gold {})</title><rect x="{x:.1}" y="{y:.1}" width="{cell:.1}" height="{cell:.1}" fill="{}" stroke="#ffffff"/><text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="{font:.1}" fill="{ink}">{count}</text></g>"##,
        esc(&labels[g]),
        esc(&labels[p]),
        share * 100.0,
        esc(&labels[g]),
        shade(share),
        x + cell / 2.0,
        y + cell / 2.0 + font * 0.35
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cell_is_drawn_with_its_count_and_row_share() {
        let labels: Vec<String> = ["pos", "neg", "a<b"].map(String::from).to_vec();
        let counts = vec![vec![8, 2, 0], vec![1, 3, 0], vec![0, 0, 0]];
        let s = svg(&labels, &counts);
        assert_eq!(s.matches("<g class=\"cell\"").count(), 9, "{s}");
        assert!(
            s.contains("gold pos, predicted pos: 8 (80.0% of gold pos)"),
            "{s}"
        );
        assert!(
            s.contains("gold neg, predicted neg: 3 (75.0% of gold neg)"),
            "{s}"
        );
        // An empty gold row is drawn, at share 0.
        assert!(
            s.contains("gold a&lt;b, predicted a&lt;b: 0 (0.0% of gold a&lt;b)"),
            "{s}"
        );
        assert!(s.contains(&format!("fill=\"{}\"", shade(0.8))), "{s}");
        assert_eq!(shade(0.0), "#f7fafd");
        assert_eq!(shade(1.0), "#1f497d");
        roxmltree::Document::parse(&s).unwrap();
    }

    #[test]
    fn long_labels_are_shortened_on_the_axes_and_whole_in_titles() {
        let long = "a-label-name-much-longer-than-eighteen".to_string();
        let s = svg(&[long.clone(), "b".into()], &[vec![1, 0], vec![0, 1]]);
        assert!(s.contains("a-label-name-much…</text>"), "{s}");
        assert!(s.contains(&format!("<title>{long}</title>")), "{s}");
    }

    #[test]
    fn cells_shrink_with_many_labels() {
        assert_eq!(cell_size(2), 64.0);
        assert_eq!(cell_size(30), 20.0);
    }
}
