//! Warnings about a dataset that reads fine but may not be what its owner
//! meant: the same text twice in a split, texts shared between train and
//! dev or test (leakage), labels with no train example, labels that dev or
//! test never carries. Each says how many, and shows up to three examples.

use super::dataset::{Dataset, Example};
use std::collections::HashMap;

const EXAMPLES: usize = 3;

/// The warnings for `ds`; `files` names each split's file (`heldout` for a dev
/// held out of train).
pub fn warnings(ds: &Dataset, files: &HashMap<&str, String>) -> Vec<String> {
    let mut out = Vec::new();
    let name = |split: &str| {
        files
            .get(split)
            .cloned()
            .unwrap_or_else(|| split.to_string())
    };
    for split in ["train", "dev", "test"] {
        let rows = ds.split(split).unwrap_or_default();
        if let Some(w) = duplicates(rows, &name(split), split) {
            out.push(w);
        }
    }
    out.extend(leakage(ds, &name));
    out.extend(label_coverage(ds));
    out
}

/// Texts of dev and test that train has too.
fn leakage(ds: &Dataset, name: &dyn Fn(&str) -> String) -> Vec<String> {
    let mut out = Vec::new();
    let train_texts: HashMap<&str, &Example> =
        ds.train.iter().map(|e| (e.text.as_str(), e)).collect();
    for split in ["dev", "test"] {
        let shared: Vec<&Example> = ds
            .split(split)
            .unwrap_or_default()
            .iter()
            .filter(|e| train_texts.contains_key(e.text.as_str()))
            .collect();
        if !shared.is_empty() {
            out.push(format!(
                "{} {split} text{} also in train (leakage: the {split} score overstates); e.g. {}",
                shared.len(),
                plural(shared.len()),
                shared
                    .iter()
                    .take(EXAMPLES)
                    .map(|e| format!(
                        "{}:{} = {}:{}",
                        name(split),
                        e.line,
                        name("train"),
                        train_texts[e.text.as_str()].line
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    out
}

/// Labels with no train example, and labels dev or test never carries.
fn label_coverage(ds: &Dataset) -> Vec<String> {
    let mut out = Vec::new();
    let counts = |rows: &[Example]| {
        let mut c = vec![0usize; ds.labels.len()];
        for e in rows {
            for &l in &e.labels {
                c[l] += 1;
            }
        }
        c
    };
    let unseen = |rows: &[Example]| -> Vec<&str> {
        counts(rows)
            .iter()
            .enumerate()
            .filter(|(_, &n)| n == 0)
            .map(|(i, _)| ds.labels[i].as_str())
            .collect()
    };
    let none_in_train = unseen(&ds.train);
    if !none_in_train.is_empty() {
        out.push(format!(
            "{} label{} with no train example (the model cannot learn {}): {}",
            none_in_train.len(),
            plural(none_in_train.len()),
            if none_in_train.len() == 1 {
                "it"
            } else {
                "them"
            },
            none_in_train.join(", ")
        ));
    }
    for split in ["dev", "test"] {
        let rows = ds.split(split).unwrap_or_default();
        if rows.is_empty() {
            continue;
        }
        let absent = unseen(rows);
        if !absent.is_empty() {
            out.push(format!(
                "{} label{} absent from {split} (their {split} F1 is undefined, reported as 0): {}",
                absent.len(),
                plural(absent.len()),
                absent.join(", ")
            ));
        }
    }
    out
}

/// Texts written more than once in one split.
fn duplicates(rows: &[Example], file: &str, split: &str) -> Option<String> {
    let mut first: HashMap<&str, usize> = HashMap::new();
    let mut repeats: Vec<(usize, usize)> = Vec::new();
    for e in rows {
        match first.get(e.text.as_str()) {
            Some(&line) => repeats.push((e.line, line)),
            None => {
                first.insert(&e.text, e.line);
            }
        }
    }
    (!repeats.is_empty()).then(|| {
        format!(
            "{} duplicate text{} in {split} (a row whose text an earlier row has); e.g. {}",
            repeats.len(),
            plural(repeats.len()),
            repeats
                .iter()
                .take(EXAMPLES)
                .map(|(line, prev)| format!("{file}:{line} repeats line {prev}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(text: &str, labels: &[usize], line: usize) -> Example {
        Example {
            text: text.into(),
            labels: labels.to_vec(),
            id: line.to_string(),
            line,
        }
    }

    #[test]
    fn every_warning_with_its_message() {
        let ds = Dataset {
            labels: vec!["a".into(), "b".into(), "c".into()],
            train: vec![ex("x", &[0], 2), ex("y", &[1], 3), ex("x", &[0], 4)],
            dev: vec![ex("y", &[0], 2)],
            test: vec![ex("z", &[0, 1], 2)],
        };
        let files: HashMap<&str, String> = [
            ("train", "t.csv".to_string()),
            ("dev", "d.csv".into()),
            ("test", "s.csv".into()),
        ]
        .into();
        assert_eq!(
            warnings(&ds, &files),
            [
                "1 duplicate text in train (a row whose text an earlier row has); e.g. t.csv:4 repeats line 2",
                "1 dev text also in train (leakage: the dev score overstates); e.g. d.csv:2 = t.csv:3",
                "1 label with no train example (the model cannot learn it): c",
                "2 labels absent from dev (their dev F1 is undefined, reported as 0): b, c",
                "1 label absent from test (their test F1 is undefined, reported as 0): c",
            ]
        );
    }
}
