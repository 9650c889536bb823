//! `hecjob analyze`: the tutorial's data_analysis.py label statistics per
//! split, plus how often `neutral` shares a text, how many labels texts have,
//! the label pairs that share texts most, and a histogram of text lengths.
//!
//! Percentages are printed as Python's `format(x, '.2f')` prints them: the
//! exact binary value rounded to two decimals, ties to even. Rust's `{:.2}`
//! does the same (both round the exact decimal expansion of the f64), and
//! `x` is computed in the same order, `count / total * 100`, so the digits match.

use crate::data::tsv::{Dataset, Example, SPLITS};
use crate::util::csv;
use serde_json::json;
use std::collections::BTreeMap;
use std::fmt::Write as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// The tutorial's lines: `name, raw_count, pct_of_texts%, pct_multi%`.
    #[default]
    Text,
    /// One row per split and label (the label table only).
    Csv,
    /// Everything, machine-readable.
    Json,
}

/// One label's counts in one split.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelStats {
    pub name: String,
    /// Texts carrying this label.
    pub raw_count: usize,
    /// Of those, texts that carry more than one label.
    pub multi_count: usize,
}

impl LabelStats {
    /// raw_count / texts × 100.
    pub fn pct_of_texts(&self, texts: usize) -> f64 {
        self.raw_count as f64 / texts as f64 * 100.0
    }

    /// multi_count / raw_count × 100; `None` for a label that never occurs
    /// (where data_analysis.py would divide by zero).
    pub fn pct_multi(&self) -> Option<f64> {
        (self.raw_count > 0).then(|| self.multi_count as f64 / self.raw_count as f64 * 100.0)
    }
}

/// `neutral` together with other labels.
#[derive(Debug, Clone, PartialEq)]
pub struct NeutralStats {
    /// Texts labelled neutral.
    pub texts: usize,
    /// Of those, texts with at least one other label.
    pub with_other: usize,
    /// Labels seen with neutral, most frequent first (ties by label id).
    pub partners: Vec<(String, usize)>,
}

/// Statistics of one split.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitStats {
    pub split: String,
    pub texts: usize,
    /// In emotions.txt order.
    pub labels: Vec<LabelStats>,
    /// `None` when emotions.txt has no `neutral`.
    pub neutral: Option<NeutralStats>,
    /// Number of labels on a text → number of texts.
    pub labels_per_text: BTreeMap<usize, usize>,
    /// The label pairs that share texts most often (up to [`TOP_PAIRS`]),
    /// most frequent first (ties by label ids).
    pub pairs: Vec<(String, String, usize)>,
    /// Texts per length bucket in words ([`WORD_BUCKETS`]), in bucket order.
    pub words_per_text: Vec<(&'static str, usize)>,
}

/// How many label pairs `analyze` lists.
pub const TOP_PAIRS: usize = 5;

/// Length buckets in words (whitespace-separated): their names and upper bounds.
pub const WORD_BUCKETS: [(&str, usize); 8] = [
    ("1-5", 5),
    ("6-10", 10),
    ("11-20", 20),
    ("21-50", 50),
    ("51-100", 100),
    ("101-200", 200),
    ("201-500", 500),
    (">500", usize::MAX),
];

/// The most frequent co-occurring label pairs of `examples`.
fn top_pairs(names: &[String], examples: &[Example]) -> Vec<(String, String, usize)> {
    let mut counts: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for ex in examples {
        let mut l = ex.labels.clone();
        l.sort_unstable();
        for (i, &a) in l.iter().enumerate() {
            for &b in &l[i + 1..] {
                *counts.entry((a, b)).or_insert(0) += 1;
            }
        }
    }
    let mut v: Vec<((usize, usize), usize)> = counts.into_iter().collect();
    v.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
    v.into_iter()
        .take(TOP_PAIRS)
        .map(|((a, b), c)| (names[a].clone(), names[b].clone(), c))
        .collect()
}

/// Texts per [`WORD_BUCKETS`] bucket.
fn word_histogram(examples: &[Example]) -> Vec<(&'static str, usize)> {
    let mut counts = [0usize; WORD_BUCKETS.len()];
    for ex in examples {
        let words = ex.text.split_whitespace().count().max(1);
        if let Some(i) = WORD_BUCKETS.iter().position(|(_, hi)| words <= *hi) {
            counts[i] += 1;
        }
    }
    WORD_BUCKETS
        .iter()
        .zip(counts)
        .map(|((name, _), c)| (*name, c))
        .collect()
}

/// Count labels of `examples` (whose ids index `names`).
pub fn analyze_split(split: &str, names: &[String], examples: &[Example]) -> SplitStats {
    let mut raw = vec![0usize; names.len()];
    let mut multi = vec![0usize; names.len()];
    let mut per_text = BTreeMap::new();
    let neutral_id = names.iter().position(|n| n == "neutral");
    let mut partners = vec![0usize; names.len()];
    let (mut neutral_texts, mut neutral_with_other) = (0, 0);
    for ex in examples {
        *per_text.entry(ex.labels.len()).or_insert(0) += 1;
        let is_multi = ex.labels.len() > 1;
        for &l in &ex.labels {
            raw[l] += 1;
            if is_multi {
                multi[l] += 1;
            }
        }
        if let Some(n) = neutral_id.filter(|n| ex.labels.contains(n)) {
            neutral_texts += 1;
            if is_multi {
                neutral_with_other += 1;
            }
            for &l in ex.labels.iter().filter(|&&l| l != n) {
                partners[l] += 1;
            }
        }
    }
    let neutral = neutral_id.map(|_| {
        let mut p: Vec<(usize, usize)> = partners
            .iter()
            .copied()
            .enumerate()
            .filter(|&(_, c)| c > 0)
            .collect();
        p.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        NeutralStats {
            texts: neutral_texts,
            with_other: neutral_with_other,
            partners: p.into_iter().map(|(l, c)| (names[l].clone(), c)).collect(),
        }
    });
    SplitStats {
        split: split.to_string(),
        texts: examples.len(),
        labels: names
            .iter()
            .enumerate()
            .map(|(i, name)| LabelStats {
                name: name.clone(),
                raw_count: raw[i],
                multi_count: multi[i],
            })
            .collect(),
        neutral,
        labels_per_text: per_text,
        pairs: top_pairs(names, examples),
        words_per_text: word_histogram(examples),
    }
}

/// All three splits, in the tutorial's order.
pub fn analyze(ds: &Dataset) -> Vec<SplitStats> {
    SPLITS
        .iter()
        .map(|s| analyze_split(s, &ds.labels, ds.split(s).unwrap_or_default()))
        .collect()
}

/// Two decimals as Python's `format(x, '.2f')`.
pub fn pct2(x: f64) -> String {
    format!("{x:.2}")
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64 * 100.0
    }
}

pub fn render_text(stats: &[SplitStats]) -> String {
    let mut o = String::new();
    for (i, s) in stats.iter().enumerate() {
        if i > 0 {
            o.push('\n');
        }
        let _ = writeln!(o, "Split: {}", s.split);
        for l in &s.labels {
            let multi = l
                .pct_multi()
                .map(|x| format!("{}%", pct2(x)))
                .unwrap_or_else(|| "n/a".into());
            let _ = writeln!(
                o,
                "{}, {}, {}%, {}",
                l.name,
                l.raw_count,
                pct2(l.pct_of_texts(s.texts)),
                multi
            );
        }
        let _ = writeln!(o, "Text count: {}", s.texts);
        if let Some(n) = &s.neutral {
            let top: Vec<String> = n
                .partners
                .iter()
                .take(3)
                .map(|(name, c)| format!("{name} {c}"))
                .collect();
            let _ = writeln!(
                o,
                "Neutral with another label: {} of {} neutral texts ({}%){}",
                n.with_other,
                n.texts,
                pct2(ratio(n.with_other, n.texts)),
                if top.is_empty() {
                    String::new()
                } else {
                    format!("; most often with {}", top.join(", "))
                }
            );
        }
        let hist: Vec<String> = s
            .labels_per_text
            .iter()
            .map(|(k, v)| format!("{k}: {v} ({}%)", pct2(ratio(*v, s.texts))))
            .collect();
        let _ = writeln!(o, "Labels per text: {}", hist.join(", "));
        if !s.pairs.is_empty() {
            let pairs: Vec<String> = s
                .pairs
                .iter()
                .map(|(a, b, c)| format!("{a} + {b} {c}"))
                .collect();
            let _ = writeln!(o, "Most frequent label pairs: {}", pairs.join(", "));
        }
        let words: Vec<String> = s
            .words_per_text
            .iter()
            .filter(|(_, c)| *c > 0)
            .map(|(b, c)| format!("{b}: {c} ({}%)", pct2(ratio(*c, s.texts))))
            .collect();
        let _ = writeln!(o, "Words per text: {}", words.join(", "));
    }
    o
}

pub fn render_csv(stats: &[SplitStats]) -> String {
    let mut o = String::from("split,label,raw_count,pct_of_texts,pct_multi,texts\n");
    for s in stats {
        for l in &s.labels {
            let _ = writeln!(
                o,
                "{},{},{},{},{},{}",
                csv::field(&s.split),
                csv::field(&l.name),
                l.raw_count,
                pct2(l.pct_of_texts(s.texts)),
                l.pct_multi().map(pct2).unwrap_or_default(),
                s.texts
            );
        }
    }
    o
}

/// The two-decimal string as a JSON number, so JSON shows what the text shows.
fn num2(x: f64) -> serde_json::Value {
    pct2(x)
        .parse::<f64>()
        .map(|v| json!(v))
        .unwrap_or(serde_json::Value::Null)
}

pub fn render_json(stats: &[SplitStats]) -> String {
    let splits: Vec<_> = stats
        .iter()
        .map(|s| {
            json!({
                "split": s.split,
                "texts": s.texts,
                "labels": s.labels.iter().map(|l| json!({
                    "name": l.name,
                    "raw_count": l.raw_count,
                    "multi_count": l.multi_count,
                    "pct_of_texts": num2(l.pct_of_texts(s.texts)),
                    "pct_multi": l.pct_multi().map(num2),
                })).collect::<Vec<_>>(),
                "neutral": s.neutral.as_ref().map(|n| json!({
                    "texts": n.texts,
                    "with_other": n.with_other,
                    "pct_with_other": num2(ratio(n.with_other, n.texts)),
                    "partners": n.partners.iter().map(|(name, c)| json!({"name": name, "count": c})).collect::<Vec<_>>(),
                })),
                "labels_per_text": s.labels_per_text.iter().map(|(k, v)| json!({"labels": k, "texts": v})).collect::<Vec<_>>(),
                "pairs": s.pairs.iter().map(|(a, b, c)| json!({"labels": [a, b], "texts": c})).collect::<Vec<_>>(),
                "words_per_text": s.words_per_text.iter().map(|(b, c)| json!({"words": b, "texts": c})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut out = serde_json::to_string_pretty(&json!({ "splits": splits }))
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_decimals_round_like_python() {
        // Python 3: [format(x, '.2f') for x in ...]; ties on exact binary
        // values go to even, other values by their exact binary expansion.
        let cases = [
            (0.125, "0.12"),
            (0.375, "0.38"),
            (2.675, "2.67"),
            (1.005, "1.00"),
            (0.045, "0.04"),
            (12.345, "12.35"),
            (100.0, "100.00"),
            (0.0, "0.00"),
        ];
        for (x, want) in cases {
            assert_eq!(pct2(x), want, "{x}");
        }
    }

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    fn ex(labels: &[usize], id: &str) -> Example {
        Example {
            text: "t".into(),
            labels: labels.to_vec(),
            id: id.into(),
            line: 1,
        }
    }

    #[test]
    fn counts_and_text_lines() {
        let labels = names(&["joy", "anger", "unused", "neutral"]);
        let data = [
            ex(&[0], "a"),
            ex(&[0, 1], "b"),
            ex(&[3], "c"),
            ex(&[3, 0], "d"),
            ex(&[1, 3, 0], "e"),
            ex(&[0], "f"),
            ex(&[1], "g"),
            ex(&[3], "h"),
        ];
        let s = analyze_split("train", &labels, &data);
        assert_eq!(s.labels[0].raw_count, 5);
        assert_eq!(s.labels[0].multi_count, 3);
        let text = render_text(std::slice::from_ref(&s));
        let want = "Split: train\n\
            joy, 5, 62.50%, 60.00%\n\
            anger, 3, 37.50%, 66.67%\n\
            unused, 0, 0.00%, n/a\n\
            neutral, 4, 50.00%, 50.00%\n\
            Text count: 8\n\
            Neutral with another label: 2 of 4 neutral texts (50.00%); most often with joy 2, anger 1\n\
            Labels per text: 1: 5 (62.50%), 2: 2 (25.00%), 3: 1 (12.50%)\n\
            Most frequent label pairs: joy + anger 2, joy + neutral 2, anger + neutral 1\n\
            Words per text: 1-5: 8 (100.00%)\n";
        assert_eq!(text, want);
        let csv = render_csv(std::slice::from_ref(&s));
        assert!(csv.contains("\ntrain,unused,0,0.00,,8\n"), "{csv}");
        let j: serde_json::Value = serde_json::from_str(&render_json(&[s])).unwrap();
        assert_eq!(j["splits"][0]["labels"][1]["pct_multi"], json!(66.67));
        assert_eq!(
            j["splits"][0]["labels"][2]["pct_multi"],
            serde_json::Value::Null
        );
        assert_eq!(j["splits"][0]["neutral"]["with_other"], json!(2));
    }
}
