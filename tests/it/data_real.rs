//! The loader and the analysis on the real GoEmotions files (env GOEMOTIONS_DIR),
//! checked against counts recomputed here independently of the library.
use crate::support;

use hecjob::data::analysis::{analyze, analyze_split, pct2, render_text};
use hecjob::data::tsv::{load_dir, read_split};
use hecjob::fetch::dataset::{check, goemotions_files};
use std::collections::HashMap;
use std::path::Path;

/// Rows as a plain tab split sees them: (raw text field, label ids, id).
/// GoEmotions texts contain no tabs, so the label and id columns are the last two.
fn plain_rows(path: &Path) -> Vec<(String, Vec<usize>, String)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let mut it = l.rsplitn(3, '\t');
            let id = it.next().unwrap().to_string();
            let labels = it
                .next()
                .unwrap()
                .split(',')
                .map(|x| x.parse().unwrap())
                .collect();
            (it.next().unwrap().to_string(), labels, id)
        })
        .collect()
}

#[test]
fn real_files_load_with_the_expected_counts() {
    let Some(dir) = support::goemotions_dir() else {
        return;
    };
    let ds = load_dir(&dir).unwrap();
    assert_eq!(ds.labels.len(), 28);
    assert_eq!(ds.labels[0], "admiration");
    assert_eq!(ds.labels[26], "surprise");
    assert_eq!(ds.labels[27], "neutral");
    assert_eq!(
        (ds.train.len(), ds.dev.len(), ds.test.len()),
        (43_410, 5_426, 5_427)
    );
    assert_eq!(ds.train[0].id, "eebbqej");
    assert_eq!(ds.train[0].labels, vec![27]);
    assert_eq!(
        ds.train[0].text,
        "My favourite food is anything I didn't have to cook myself."
    );
}

#[test]
fn quoted_text_fields_are_unquoted_like_python_csv() {
    let Some(dir) = support::goemotions_dir() else {
        return;
    };
    for (split, want) in [("train", 1_097), ("dev", 137), ("test", 149)] {
        let path = dir.join(format!("{split}.tsv"));
        let parsed = read_split(&path, 28).unwrap();
        let plain = plain_rows(&path);
        assert_eq!(parsed.len(), plain.len());
        let mut differing = 0;
        for (ex, (raw, labels, id)) in parsed.iter().zip(&plain) {
            assert_eq!(&ex.labels, labels);
            assert_eq!(&ex.id, id);
            if ex.text != *raw {
                differing += 1;
                // Independent unquoting: strip the outer quotes, undouble the inner ones.
                assert!(raw.starts_with('"') && raw.ends_with('"'), "{raw}");
                let inner = &raw[1..raw.len() - 1];
                assert_eq!(ex.text, inner.replace("\"\"", "\""), "{split} {id}");
            } else {
                assert!(!raw.starts_with('"'), "{raw}");
            }
        }
        assert_eq!(
            differing, want,
            "{split}: lines whose text depends on CSV quoting"
        );
    }
}

#[test]
fn embedded_checksums_match_sha256sums_and_files() {
    let Some(dir) = support::goemotions_dir() else {
        return;
    };
    let sums = std::fs::read_to_string(dir.join("SHA256SUMS")).unwrap();
    let sums: HashMap<&str, &str> = sums
        .lines()
        .filter_map(|l| l.split_once("  "))
        .map(|(h, n)| (n.trim(), h.trim()))
        .collect();
    for spec in goemotions_files() {
        assert_eq!(
            sums.get(spec.name.as_str()),
            Some(&spec.sha256.as_str()),
            "{}",
            spec.name
        );
        assert_eq!(
            check(&dir.join(&spec.name), &spec, 28),
            Ok(()),
            "{}",
            spec.name
        );
    }
}

#[test]
fn analysis_matches_an_independent_recount() {
    let Some(dir) = support::goemotions_dir() else {
        return;
    };
    let ds = load_dir(&dir).unwrap();
    let stats = analyze(&ds);
    for (s, split) in stats.iter().zip(["train", "dev", "test"]) {
        let rows = plain_rows(&dir.join(format!("{split}.tsv")));
        assert_eq!(s.texts, rows.len());
        for (id, l) in s.labels.iter().enumerate() {
            let raw = rows.iter().filter(|r| r.1.contains(&id)).count();
            let multi = rows
                .iter()
                .filter(|r| r.1.contains(&id) && r.1.len() > 1)
                .count();
            assert_eq!(
                (l.raw_count, l.multi_count),
                (raw, multi),
                "{split} {}",
                l.name
            );
        }
        let neutral = s.neutral.as_ref().unwrap();
        let with_n: Vec<_> = rows.iter().filter(|r| r.1.contains(&27)).collect();
        assert_eq!(neutral.texts, with_n.len());
        assert_eq!(
            neutral.with_other,
            with_n.iter().filter(|r| r.1.len() > 1).count()
        );
        // Label pairs: each listed count recounted, in descending order, and
        // no unlisted pair more frequent than the last one listed.
        let both = |a: &str, b: &str| {
            let (a, b) = (
                ds.labels.iter().position(|n| n == a).unwrap(),
                ds.labels.iter().position(|n| n == b).unwrap(),
            );
            rows.iter()
                .filter(|r| r.1.contains(&a) && r.1.contains(&b))
                .count()
        };
        for (a, b, c) in &s.pairs {
            assert_eq!(*c, both(a, b), "{split} {a} + {b}");
        }
        assert!(s.pairs.windows(2).all(|w| w[0].2 >= w[1].2), "{split}");
        if let Some(last) = s.pairs.last() {
            for a in &ds.labels {
                for b in &ds.labels {
                    if a < b
                        && !s
                            .pairs
                            .iter()
                            .any(|p| (&p.0, &p.1) == (a, b) || (&p.0, &p.1) == (b, a))
                    {
                        assert!(
                            both(a, b) <= last.2,
                            "{split}: {a} + {b} beats the listed pairs"
                        );
                    }
                }
            }
        }
        let words: usize = s.words_per_text.iter().map(|(_, c)| c).sum();
        assert_eq!(words, rows.len(), "every text in one length bucket");
        let hist_total: usize = s.labels_per_text.values().sum();
        assert_eq!(hist_total, rows.len());
        for (k, v) in &s.labels_per_text {
            assert_eq!(*v, rows.iter().filter(|r| r.1.len() == *k).count());
        }
    }
    // Spot checks (values from the tutorial's data_analysis.py method, run by hand).
    let train = &stats[0];
    assert_eq!(train.labels[0].raw_count, 4_130);
    assert_eq!(pct2(train.labels[0].pct_of_texts(train.texts)), "9.51");
    assert_eq!(train.labels[27].raw_count, 14_219);
    // The README: neutral is with another label for at least 9.8 % of its texts.
    assert_eq!(pct2(train.labels[27].pct_multi().unwrap()), "9.82");
    let text = render_text(&stats);
    assert!(
        text.starts_with("Split: train\nadmiration, 4130, 9.51%, 34.38%\n"),
        "{text}"
    );
    assert!(
        text.contains("\nneutral, 14219, 32.76%, 9.82%\nText count: 43410\n"),
        "{text}"
    );
    assert!(text.contains("\nText count: 5426\n") && text.contains("\nText count: 5427\n"));
    // Analysing one split alone gives the same numbers.
    assert_eq!(analyze_split("dev", &ds.labels, &ds.dev), stats[1]);
}
