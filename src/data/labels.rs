//! Labels: where a row keeps them (a list or delimited column, or one 0/1
//! column per label), the label set they index, and many-to-one label maps
//! (the GoEmotions authors' Ekman and sentiment groupings built in).

use super::spec::{LabelMapSpec, LabelsAre, Task};
use super::table::{json_kind, Cell, Header, Row};
use serde_json::Value;
use std::collections::HashMap;

/// Where each row's labels are.
#[derive(Debug, Clone, PartialEq)]
pub enum Layout {
    /// One column: a JSON list, text split by `delimiter`, or (without a
    /// delimiter) a single label.
    Column {
        name: String,
        delimiter: Option<String>,
    },
    /// One 0/1 column per label; the label names are the column names.
    Indicators(Vec<String>),
}

/// A label as a row writes it.
#[derive(Debug, Clone, PartialEq)]
pub enum RawLabel {
    Name(String),
    Id(u64),
    /// Digits written as text: a name or an id, as `labels_are` and the label
    /// set decide.
    Digits(String),
}

impl std::fmt::Display for RawLabel {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            RawLabel::Name(n) | RawLabel::Digits(n) => write!(f, "{n:?}"),
            RawLabel::Id(i) => write!(f, "{i}"),
        }
    }
}

/// The labels of one row as written, or why they cannot be read (the caller
/// adds file:line).
pub fn row_labels(row: &Row, header: &Header, layout: &Layout) -> Result<Vec<RawLabel>, String> {
    match layout {
        Layout::Column { name, delimiter } => match row.cell(header, name) {
            None => Err(format!("no `{name}` key; expected the labels in `{name}`")),
            Some(cell) => column_labels(cell, name, delimiter.as_deref()),
        },
        Layout::Indicators(columns) => {
            let mut out = Vec::new();
            for (i, c) in columns.iter().enumerate() {
                let cell = row
                    .cell(header, c)
                    .ok_or_else(|| format!("no `{c}` key; expected a 0/1 value for label `{c}`"))?;
                if indicator(cell).map_err(|v| {
                    format!("column `{c}` holds {v}; expected 0 or 1 (one 0/1 column per label)")
                })? {
                    out.push(RawLabel::Id(i as u64));
                }
            }
            Ok(out)
        }
    }
}

/// A 0/1 cell: `0`, `1`, `0.0`, `1.0`, `true`, `false` (text or JSON).
fn indicator(cell: Cell) -> Result<bool, String> {
    let text = match cell {
        Cell::Text(t) => t.trim().to_string(),
        Cell::Json(Value::Bool(b)) => return Ok(*b),
        Cell::Json(Value::Number(n)) => n.to_string(),
        Cell::Json(Value::String(s)) => s.trim().to_string(),
        Cell::Json(v) => return Err(format!("a JSON {}", json_kind(v))),
    };
    match text.to_ascii_lowercase().as_str() {
        "1" | "1.0" | "true" => Ok(true),
        "0" | "0.0" | "false" => Ok(false),
        _ => Err(format!("{text:?}")),
    }
}

fn column_labels(
    cell: Cell,
    column: &str,
    delimiter: Option<&str>,
) -> Result<Vec<RawLabel>, String> {
    match cell {
        Cell::Json(Value::Array(items)) => items.iter().map(|v| json_label(v, column)).collect(),
        Cell::Json(Value::Null) => Ok(Vec::new()),
        Cell::Json(v @ Value::Number(_)) => json_label(v, column).map(|l| vec![l]),
        Cell::Json(Value::String(s)) => Ok(text_labels(s, delimiter)),
        Cell::Json(v) => Err(format!(
            "`{column}` holds a JSON {}; expected a list of label names or ids",
            json_kind(v)
        )),
        Cell::Text(t) if t.trim_start().starts_with('[') => {
            // A list exported into a CSV cell: JSON reads it; a Python repr
            // (single quotes) does not, and is said so.
            match serde_json::from_str::<Value>(t) {
                Ok(v @ Value::Array(_)) => column_labels(Cell::Json(&v), column, delimiter),
                _ => Err(format!(
                    "`{column}` holds {t:?}, which is not a JSON list; write it as JSON \
                     ([\"a\", \"b\"], double quotes) or as delimited text with data.label_delimiter"
                )),
            }
        }
        Cell::Text(t) => Ok(text_labels(t, delimiter)),
    }
}

fn json_label(v: &Value, column: &str) -> Result<RawLabel, String> {
    match v {
        Value::String(s) => Ok(raw_from_text(s.trim())),
        Value::Number(n) => n.as_u64().map(RawLabel::Id).ok_or_else(|| {
            format!("`{column}` holds the number {n}; expected label ids 0, 1, 2, …")
        }),
        other => Err(format!(
            "`{column}` holds a JSON {} in its list; expected label names or ids",
            json_kind(other)
        )),
    }
}

fn text_labels(text: &str, delimiter: Option<&str>) -> Vec<RawLabel> {
    let parts: Vec<&str> = match delimiter {
        Some(d) => text.split(d).collect(),
        None => vec![text],
    };
    parts
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(raw_from_text)
        .collect()
}

fn raw_from_text(t: &str) -> RawLabel {
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        RawLabel::Digits(t.to_string())
    } else {
        RawLabel::Name(t.to_string())
    }
}

/// The label names ids index; fixed when given, else grown from train in
/// order of first appearance.
#[derive(Debug, Clone)]
pub struct Vocab {
    pub names: Vec<String>,
    index: HashMap<String, usize>,
    growable: bool,
    labels_are: Option<LabelsAre>,
}

impl Vocab {
    pub fn fixed(names: Vec<String>, labels_are: Option<LabelsAre>) -> Vocab {
        let index = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i))
            .collect();
        Vocab {
            names,
            index,
            growable: false,
            labels_are,
        }
    }

    pub fn inferred(labels_are: Option<LabelsAre>) -> Vocab {
        Vocab {
            growable: true,
            ..Vocab::fixed(Vec::new(), labels_are)
        }
    }

    pub fn is_growable(&self) -> bool {
        self.growable
    }

    /// No more labels after train: dev and test must use train's.
    pub fn freeze(&mut self) {
        self.growable = false;
    }

    /// The id of `raw`, adding a name while growable.
    pub fn resolve(&mut self, raw: &RawLabel) -> Result<usize, String> {
        let as_id = |i: u64, names: &[String]| {
            if (i as usize) < names.len() {
                Ok(i as usize)
            } else if names.is_empty() {
                Err(format!(
                    "label id {i}, but no label names were given; set data.labels or data.labels_file \
                     (the names, id = position), or data.labels_are: names to use the values as names"
                ))
            } else {
                Err(format!(
                    "label id {i} is out of range; expected 0 to {} ({} labels)",
                    names.len() - 1,
                    names.len()
                ))
            }
        };
        match (raw, self.labels_are) {
            (RawLabel::Id(i), _) => as_id(*i, &self.names),
            (RawLabel::Digits(d), Some(LabelsAre::Ids)) => {
                as_id(d.parse().unwrap_or(u64::MAX), &self.names)
            }
            (RawLabel::Name(n), Some(LabelsAre::Ids)) => Err(format!(
                "label {n:?} is not an id; data.labels_are: ids expects ids 0, 1, 2, …"
            )),
            (RawLabel::Digits(d), None) if !self.index.contains_key(d) => {
                if !self.growable || self.names.is_empty() {
                    as_id(d.parse().unwrap_or(u64::MAX), &self.names)
                } else {
                    self.name(d)
                }
            }
            (RawLabel::Name(n) | RawLabel::Digits(n), _) => self.name(n),
        }
    }

    fn name(&mut self, n: &str) -> Result<usize, String> {
        if let Some(&i) = self.index.get(n) {
            return Ok(i);
        }
        if self.growable {
            self.index.insert(n.to_string(), self.names.len());
            self.names.push(n.to_string());
            return Ok(self.names.len() - 1);
        }
        let candidates: Vec<&str> = self.names.iter().map(String::as_str).collect();
        let near = crate::util::suggest::nearest(n, &candidates);
        Err(format!(
            "unknown label {n:?}{}; expected one of the {} labels ({})",
            near.map(|s| format!(" (did you mean {s:?}?)"))
                .unwrap_or_default(),
            self.names.len(),
            abbreviated(&self.names)
        ))
    }
}

/// The first names of a list, `…` after eight.
pub fn abbreviated(names: &[String]) -> String {
    let mut s = names.iter().take(8).cloned().collect::<Vec<_>>().join(", ");
    if names.len() > 8 {
        s.push_str(", …");
    }
    s
}

/// The GoEmotions authors' Ekman grouping (goemotions/data/ekman_mapping.json);
/// `neutral` stays `neutral`.
const EKMAN: &[(&str, &[&str])] = &[
    ("anger", &["anger", "annoyance", "disapproval"]),
    ("disgust", &["disgust"]),
    ("fear", &["fear", "nervousness"]),
    (
        "joy",
        &[
            "joy",
            "amusement",
            "approval",
            "excitement",
            "gratitude",
            "love",
            "optimism",
            "relief",
            "pride",
            "admiration",
            "desire",
            "caring",
        ],
    ),
    (
        "sadness",
        &[
            "sadness",
            "disappointment",
            "embarrassment",
            "grief",
            "remorse",
        ],
    ),
    (
        "surprise",
        &["surprise", "realization", "confusion", "curiosity"],
    ),
];

/// Their sentiment grouping (goemotions/data/sentiment_dict.json).
const SENTIMENT: &[(&str, &[&str])] = &[
    (
        "positive",
        &[
            "amusement",
            "excitement",
            "joy",
            "love",
            "desire",
            "optimism",
            "caring",
            "pride",
            "admiration",
            "gratitude",
            "relief",
            "approval",
        ],
    ),
    (
        "negative",
        &[
            "fear",
            "nervousness",
            "remorse",
            "embarrassment",
            "disappointment",
            "sadness",
            "grief",
            "disgust",
            "anger",
            "annoyance",
            "disapproval",
        ],
    ),
    (
        "ambiguous",
        &["realization", "surprise", "curiosity", "confusion"],
    ),
];

/// A label map applied: the new label names, and each old id's new id.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelMap {
    pub names: Vec<String>,
    pub new_id: Vec<usize>,
}

/// Build the map of `spec` over the labels `old`: the map's groups in order,
/// then the labels no group names, in their order. Errors name the key.
pub fn build_map(spec: &LabelMapSpec, old: &[String]) -> Result<LabelMap, String> {
    let groups: Vec<(String, Vec<String>)> = match spec {
        LabelMapSpec::Ekman => owned(EKMAN),
        LabelMapSpec::Sentiment => owned(SENTIMENT),
        LabelMapSpec::Custom(m) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
    };
    let builtin = !matches!(spec, LabelMapSpec::Custom(_));
    let index: HashMap<&str, usize> = old
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let mut new_id: Vec<Option<usize>> = vec![None; old.len()];
    let mut names: Vec<String> = Vec::new();
    for (new, members) in &groups {
        if names.contains(new) {
            return Err(format!("data.label_map: `{new}` is named twice"));
        }
        let id = names.len();
        names.push(new.clone());
        for m in members {
            let Some(&i) = index.get(m.as_str()) else {
                return Err(format!(
                    "data.label_map.{new}: {m:?} is not one of the data's labels ({}){}",
                    abbreviated(old),
                    if builtin {
                        "; the built-in maps group GoEmotions' 28 emotions"
                    } else {
                        ""
                    }
                ));
            };
            if let Some(prev) = new_id[i] {
                return Err(format!(
                    "data.label_map.{new}: {m:?} is already merged into `{}`; expected each label in one group",
                    names[prev]
                ));
            }
            new_id[i] = Some(id);
        }
    }
    for (i, n) in old.iter().enumerate() {
        if new_id[i].is_none() {
            if builtin && n != "neutral" {
                return Err(format!(
                    "data.label_map: {}: the label {n:?} is not one of GoEmotions' emotions; the built-in maps group GoEmotions' 28 labels (write your own map as {{new: [old, …]}})",
                    spec.name()
                ));
            }
            new_id[i] = Some(match names.iter().position(|x| x == n) {
                Some(p) => p,
                None => {
                    names.push(n.clone());
                    names.len() - 1
                }
            });
        }
    }
    Ok(LabelMap {
        names,
        new_id: new_id.into_iter().map(|x| x.unwrap_or(0)).collect(),
    })
}

fn owned(groups: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
    groups
        .iter()
        .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
        .collect()
}

impl LabelMap {
    /// A row's ids mapped, each new id once, in order of first appearance.
    pub fn apply(&self, ids: &[usize]) -> Vec<usize> {
        let mut out: Vec<usize> = Vec::with_capacity(ids.len());
        for &i in ids {
            let n = self.new_id[i];
            if !out.contains(&n) {
                out.push(n);
            }
        }
        out
    }
}

/// Why a row's label ids do not fit the task, if they do not.
pub fn task_problem(task: Task, ids: &[usize], names: &[String]) -> Option<String> {
    match (task, ids.len()) {
        (Task::MultiLabel, _) | (Task::SingleLabel, 1) => None,
        (Task::SingleLabel, 0) => Some(
            "no label; data.task: single_label needs exactly one label per row".to_string(),
        ),
        (Task::SingleLabel, _) => Some(format!(
            "{} labels ({}); data.task: single_label needs exactly one label per row (use task: multi_label for several)",
            ids.len(),
            ids.iter().map(|&i| names[i].as_str()).collect::<Vec<_>>().join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn goemotions_names() -> Vec<String> {
        "admiration amusement anger annoyance approval caring confusion curiosity desire disappointment disapproval disgust embarrassment excitement fear gratitude grief joy love nervousness optimism pride realization relief remorse sadness surprise neutral"
            .split(' ')
            .map(String::from)
            .collect()
    }

    #[test]
    fn ekman_and_sentiment_cover_goemotions() {
        let old = goemotions_names();
        let m = build_map(&LabelMapSpec::Ekman, &old).unwrap();
        assert_eq!(
            m.names,
            ["anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral"]
        );
        // annoyance (3) → anger; admiration (0) + joy (17) → one joy.
        assert_eq!(m.apply(&[3]), [0]);
        assert_eq!(m.apply(&[0, 17, 27]), [3, 6]);
        let s = build_map(&LabelMapSpec::Sentiment, &old).unwrap();
        assert_eq!(s.names, ["positive", "negative", "ambiguous", "neutral"]);
    }

    #[test]
    fn custom_maps_are_checked_by_key() {
        let old: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let spec = |y: &str| serde_yaml_ng::from_str::<LabelMapSpec>(y).unwrap();
        let m = build_map(&spec("{ab: [a, b]}"), &old).unwrap();
        assert_eq!(m.names, ["ab", "c"]);
        assert_eq!(m.apply(&[0, 1, 2]), [0, 1]);
        assert_eq!(
            build_map(&spec("{ab: [a, z]}"), &old).unwrap_err(),
            "data.label_map.ab: \"z\" is not one of the data's labels (a, b, c)"
        );
        assert_eq!(
            build_map(&spec("{x: [a], y: [a]}"), &old).unwrap_err(),
            "data.label_map.y: \"a\" is already merged into `x`; expected each label in one group"
        );
        let e = build_map(&LabelMapSpec::Ekman, &old).unwrap_err();
        assert!(e.starts_with("data.label_map.anger: \"anger\" is not one of the data's labels (a, b, c); the built-in maps"), "{e}");
    }

    #[test]
    fn vocab_names_ids_and_digits() {
        let mut v = Vocab::inferred(None);
        assert_eq!(v.resolve(&RawLabel::Name("joy".into())), Ok(0));
        assert_eq!(v.resolve(&RawLabel::Name("love".into())), Ok(1));
        assert_eq!(v.resolve(&RawLabel::Id(1)), Ok(1));
        v.freeze();
        assert_eq!(
            v.resolve(&RawLabel::Name("jot".into())).unwrap_err(),
            "unknown label \"jot\" (did you mean \"joy\"?); expected one of the 2 labels (joy, love)"
        );
        let mut ids = Vocab::inferred(None);
        assert!(ids
            .resolve(&RawLabel::Digits("3".into()))
            .unwrap_err()
            .starts_with("label id 3, but no label names were given"));
        let mut named = Vocab::inferred(Some(LabelsAre::Names));
        assert_eq!(named.resolve(&RawLabel::Digits("3".into())), Ok(0));
        let mut fixed = Vocab::fixed(vec!["a".into(), "b".into()], None);
        assert_eq!(fixed.resolve(&RawLabel::Digits("1".into())), Ok(1));
        assert_eq!(
            fixed.resolve(&RawLabel::Digits("2".into())).unwrap_err(),
            "label id 2 is out of range; expected 0 to 1 (2 labels)"
        );
    }

    #[test]
    fn single_label_rows_need_one_label() {
        let names: Vec<String> = ["a", "b"].map(String::from).to_vec();
        assert_eq!(task_problem(Task::SingleLabel, &[1], &names), None);
        assert_eq!(
            task_problem(Task::SingleLabel, &[0, 1], &names).unwrap(),
            "2 labels (a, b); data.task: single_label needs exactly one label per row (use task: multi_label for several)"
        );
        assert!(task_problem(Task::MultiLabel, &[], &names).is_none());
    }
}
