//! Checks of the `data:` keys that need no file: which keys go together,
//! ranges, and names. Problems carry the key path (`data.label_columns`), so
//! the message points at the line in the YAML (what the files hold is
//! checked when they are read, with file:line).

use super::validate::{lit, Problems};
use crate::data::spec::{DataSpec, Format, LabelMapSpec, PosWeight, Task, TextColumns};

/// Every problem of the `data:` section.
pub fn check_data(p: &mut Problems, d: &DataSpec) {
    check_files(p, d);
    check_columns(p, d);
    check_label_set(p, d);
    if !(d.dev_fraction > 0.0 && d.dev_fraction < 1.0) {
        p.push(
            "data.dev_fraction",
            format!(
                "expected a share between 0 and 1 (exclusive) of train to hold out as dev, got {}",
                d.dev_fraction
            ),
        );
    }
    if d.pos_weight == PosWeight::Auto && d.task == Task::SingleLabel {
        p.push(
            "data.pos_weight",
            "`auto` weighs the positives of each label's binary loss, which single_label data does not have (its loss is one softmax); use none",
        );
    }
}

/// The split files: paths hecjob can use, and a format it can tell.
fn check_files(p: &mut Problems, d: &DataSpec) {
    for (key, v) in [
        ("data.train", &d.train),
        ("data.dev", &d.dev),
        ("data.test", &d.test),
        ("data.labels_file", &d.labels_file),
    ] {
        match v.as_deref() {
            Some("") => p.push(key, "is empty; expected a path (relative to cluster.storage_root, or absolute)"),
            Some(s) if s.starts_with('~') => p.push(
                key,
                format!("`{}` starts with `~`, which hecjob does not expand; write the path from cluster.storage_root, or an absolute one", lit(s)),
            ),
            Some(s) if s.chars().any(char::is_control) => {
                p.push(key, "must be a single line without control characters")
            }
            _ => {}
        }
    }
    if d.train.is_none() {
        for (key, v) in [("data.dev", &d.dev), ("data.test", &d.test)] {
            if v.is_some() {
                p.push(
                    key,
                    "is set but data.train is not; name the train file too (without data.train, GoEmotions' files in paths.data_dir are read)",
                );
            }
        }
    }
    if let Some(t) = &d.train {
        if d.format.is_none() && Format::from_extension(t).is_none() {
            p.push(
                "data.format",
                format!(
                    "cannot tell the format of `{}` from its extension; set data.format: csv, tsv, jsonl or goemotions",
                    lit(t)
                ),
            );
        }
    }
}

/// Column keys: which go together, and none with GoEmotions' header-less TSV.
fn check_columns(p: &mut Problems, d: &DataSpec) {
    if d.is_goemotions() {
        let default_text = d.text_column == TextColumns::One("text".into());
        for (key, set) in [
            ("data.text_column", !default_text),
            ("data.label_column", d.label_column.is_some()),
            ("data.label_columns", d.label_columns.is_some()),
            ("data.label_delimiter", d.label_delimiter.is_some()),
            ("data.id_column", d.id_column.is_some()),
        ] {
            if set {
                p.push(
                    key,
                    "GoEmotions' TSV has fixed columns (text, label ids, comment id) and no header; drop this key, or set data.format: tsv for a TSV with a header row",
                );
            }
        }
    }
    if d.label_column.is_some() && d.label_columns.is_some() {
        p.push(
            "data.label_columns",
            "set together with data.label_column; use one: label_column (a list or delimited column) or label_columns (one 0/1 column per label)",
        );
    }
    match d.label_delimiter.as_deref() {
        Some("") => p.push(
            "data.label_delimiter",
            "is empty; expected the text between labels, e.g. \",\" or \"|\"",
        ),
        Some(_) if d.label_column.is_none() => p.push(
            "data.label_delimiter",
            "needs data.label_column (the column whose text it splits)",
        ),
        _ => {}
    }
    match &d.text_column {
        TextColumns::Many(cs) if cs.is_empty() => p.push(
            "data.text_column",
            "is an empty list; expected a column name or a list of them",
        ),
        TextColumns::One(c) if c.is_empty() => {
            p.push("data.text_column", "is empty; expected a column name")
        }
        _ => {}
    }
}

/// `labels`, `labels_file` and `label_map`: one source of names, distinct names.
fn check_label_set(p: &mut Problems, d: &DataSpec) {
    if d.labels.is_some() && d.labels_file.is_some() {
        p.push(
            "data.labels_file",
            "set together with data.labels; give the names one way",
        );
    }
    if d.labels.is_some() && d.label_columns.is_some() {
        p.push(
            "data.labels",
            "set together with data.label_columns, whose column names are the labels; drop data.labels",
        );
    }
    if let Some(names) = &d.labels {
        if names.is_empty() {
            p.push(
                "data.labels",
                "is an empty list; expected the label names in id order",
            );
        }
        for (i, n) in names.iter().enumerate() {
            if n.trim().is_empty() {
                p.push(
                    format!("data.labels[{i}]"),
                    "is empty; expected a label name",
                );
            } else if let Some(j) = names[..i].iter().position(|m| m == n) {
                p.push(
                    format!("data.labels[{i}]"),
                    format!(
                        "`{}` is already data.labels[{j}]; expected distinct names",
                        lit(n)
                    ),
                );
            }
        }
    }
    if let Some(LabelMapSpec::Custom(m)) = &d.label_map {
        if m.is_empty() {
            p.push(
                "data.label_map",
                "is an empty map; expected new label → [labels it merges], or ekman / sentiment",
            );
        }
        for (new, old) in m {
            if old.is_empty() {
                p.push(
                    format!("data.label_map.{new}"),
                    "is an empty list; expected the labels it merges",
                );
            }
        }
    }
}
