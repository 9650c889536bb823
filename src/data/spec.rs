//! The `data:` keys: which files hold the splits, how their rows are laid out,
//! which labels they carry and what task they pose. GoEmotions' TSV is the
//! default, so a config without these keys reads the tutorial's files.
//!
//! The same struct is the config's `data:` section and the `--data-*` flags of
//! `train`, `evaluate`, `analyze` and `prepare-data` (cli::data_flags).

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataSpec {
    /// Mirror for the GoEmotions files (default: the tutorial's pinned GitHub URL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// How the split files are written; default from the train file's extension
    /// (`.csv`, `.tsv`, `.jsonl`), and `goemotions` when no `train` is given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<Format>,
    /// The split files (relative to the storage root, or absolute). Without
    /// `train`, GoEmotions' train/dev/test.tsv in `paths.data_dir`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub train: Option<String>,
    /// Without it, `dev_fraction` of train is held out (stratified, `seed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
    /// Without it, nothing is tested and reports say so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test: Option<String>,
    pub dev_fraction: f64,
    /// Seed of the held-out dev split (not of training: that is `train.seed`).
    pub seed: u64,
    /// The column holding the text, or several joined by `text_join`.
    pub text_column: TextColumns,
    pub text_join: String,
    /// A column naming each row (kept in held-out ids, rejects and predictions);
    /// without it a row is named by its line number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_column: Option<String>,
    /// One column holding each row's labels: a JSON list, or text split by
    /// `label_delimiter`, or (single-label) one label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_column: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_delimiter: Option<String>,
    /// One 0/1 column per label: a list, or `rest` (every column after the text).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_columns: Option<LabelColumns>,
    /// Whether label values are names or ids (indexes into `labels`) where the
    /// file does not say (JSON numbers are always ids).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels_are: Option<LabelsAre>,
    /// The label names in order (ids index this list).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
    /// A file with one label name per line, like GoEmotions' emotions.txt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels_file: Option<String>,
    /// Merge labels many-to-one: `ekman`, `sentiment` or `{new: [old, …]}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_map: Option<LabelMapSpec>,
    pub task: Task,
    pub pos_weight: PosWeight,
    pub bad_rows: BadRows,
}

impl Default for DataSpec {
    fn default() -> Self {
        DataSpec {
            base_url: None,
            format: None,
            train: None,
            dev: None,
            test: None,
            dev_fraction: 0.1,
            seed: 42,
            text_column: TextColumns::One("text".into()),
            text_join: " ".into(),
            id_column: None,
            label_column: None,
            label_delimiter: None,
            label_columns: None,
            labels_are: None,
            labels: None,
            labels_file: None,
            label_map: None,
            task: Task::MultiLabel,
            pos_weight: PosWeight::None,
            bad_rows: BadRows::Error,
        }
    }
}

impl DataSpec {
    /// The format: as given, else from the train file's extension, else GoEmotions'.
    pub fn format(&self) -> Option<Format> {
        if let Some(f) = self.format {
            return Some(f);
        }
        match &self.train {
            None => Some(Format::Goemotions),
            Some(t) => Format::from_extension(t),
        }
    }

    /// [`DataSpec::format`] for the train file at `train`: a `.tsv` named
    /// without `format:` or any column key that reads as GoEmotions' own
    /// (no header, `text<TAB>ids<TAB>id`) is GoEmotions'.
    pub fn format_of(&self, train: &std::path::Path) -> Option<Format> {
        let guessed = self.format();
        let no_column_keys = self.label_column.is_none() && self.label_columns.is_none();
        if self.format.is_none()
            && guessed == Some(Format::Tsv)
            && no_column_keys
            && super::tsv::looks_like_goemotions(train)
        {
            return Some(Format::Goemotions);
        }
        guessed
    }

    /// Whether this reads GoEmotions' own files (the paper's comparisons apply).
    pub fn is_goemotions(&self) -> bool {
        self.format() == Some(Format::Goemotions)
    }

    /// The text columns, in order.
    pub fn text_columns(&self) -> Vec<&str> {
        match &self.text_column {
            TextColumns::One(c) => vec![c.as_str()],
            TextColumns::Many(cs) => cs.iter().map(String::as_str).collect(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// `text<TAB>ids<TAB>id`, no header, labels in emotions.txt.
    Goemotions,
    /// Comma-separated, RFC 4180 quoting, a header row.
    Csv,
    /// Tab-separated with a header row (quoted as CSV is).
    Tsv,
    /// One JSON object per line.
    Jsonl,
}

impl Format {
    /// The format a file name's extension implies (`.csv`, `.tsv`, `.jsonl`/`.ndjson`).
    pub fn from_extension(path: &str) -> Option<Format> {
        let ext = std::path::Path::new(path)
            .extension()?
            .to_str()?
            .to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(Format::Csv),
            "tsv" | "tab" => Some(Format::Tsv),
            "jsonl" | "ndjson" => Some(Format::Jsonl),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Goemotions => "goemotions",
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Jsonl => "jsonl",
        }
    }
}

/// `text_column: body` or `text_column: [title, body]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TextColumns {
    One(String),
    Many(Vec<String>),
}

/// `label_columns: [a, b]` or `label_columns: rest`.
#[derive(Debug, Clone, PartialEq)]
pub enum LabelColumns {
    Listed(Vec<String>),
    /// Every column after the (last) text column, except the id column.
    Rest,
}

impl Serialize for LabelColumns {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            LabelColumns::Listed(v) => v.serialize(s),
            LabelColumns::Rest => s.serialize_str("rest"),
        }
    }
}

// A visitor rather than an untagged enum: serde buffers an untagged value, and
// the error would then point at the enclosing section, not at this key.
impl<'de> Deserialize<'de> for LabelColumns {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = LabelColumns;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of column names, or `rest`")
            }

            fn visit_str<E: serde::de::Error>(self, w: &str) -> Result<LabelColumns, E> {
                if w == "rest" {
                    Ok(LabelColumns::Rest)
                } else {
                    Err(E::custom(format!(
                        "`{w}`: expected a list of column names (`[{w}]`), or `rest` for every column after the text"
                    )))
                }
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                seq: A,
            ) -> Result<LabelColumns, A::Error> {
                Vec::<String>::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
                    .map(LabelColumns::Listed)
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LabelsAre {
    Names,
    Ids,
}

/// `label_map: ekman`, `label_map: sentiment` or `{new: [old, …]}`.
#[derive(Debug, Clone, PartialEq)]
pub enum LabelMapSpec {
    /// The GoEmotions authors' Ekman grouping: 6 emotions + neutral.
    Ekman,
    /// Their sentiment grouping: positive, negative, ambiguous + neutral.
    Sentiment,
    /// New label → the labels it merges; labels not named stay as they are.
    Custom(IndexMap<String, Vec<String>>),
}

impl LabelMapSpec {
    /// `ekman`, `sentiment` or `custom`.
    pub fn name(&self) -> &'static str {
        match self {
            LabelMapSpec::Ekman => "ekman",
            LabelMapSpec::Sentiment => "sentiment",
            LabelMapSpec::Custom(_) => "custom",
        }
    }

    /// A `--label-map` flag: `ekman` or `sentiment`.
    pub fn parse_flag(s: &str) -> Result<LabelMapSpec, String> {
        match s {
            "ekman" => Ok(LabelMapSpec::Ekman),
            "sentiment" => Ok(LabelMapSpec::Sentiment),
            other => Err(format!(
                "`{other}`: expected ekman or sentiment (a custom map is written in the config's data.label_map)"
            )),
        }
    }
}

impl Serialize for LabelMapSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            LabelMapSpec::Custom(m) => m.serialize(s),
            named => s.serialize_str(named.name()),
        }
    }
}

impl<'de> Deserialize<'de> for LabelMapSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = LabelMapSpec;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("ekman, sentiment, or a map of new label → list of labels it merges")
            }

            fn visit_str<E: serde::de::Error>(self, w: &str) -> Result<LabelMapSpec, E> {
                LabelMapSpec::parse_flag(w).map_err(E::custom)
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<LabelMapSpec, A::Error> {
                IndexMap::<String, Vec<String>>::deserialize(
                    serde::de::value::MapAccessDeserializer::new(map),
                )
                .map(LabelMapSpec::Custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// Any number of labels per text: sigmoid + binary cross-entropy.
    #[default]
    #[value(name = "multi_label")]
    MultiLabel,
    /// Exactly one label per text: softmax + cross-entropy.
    #[value(name = "single_label")]
    SingleLabel,
}

impl Task {
    pub fn name(self) -> &'static str {
        match self {
            Task::MultiLabel => "multi_label",
            Task::SingleLabel => "single_label",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum PosWeight {
    /// Every label's positives weigh 1.
    #[default]
    None,
    /// BCE positive weights from train frequencies (negatives / positives, capped).
    Auto,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum BadRows {
    /// The first bad row stops the run, naming file:line.
    #[default]
    Error,
    /// Bad rows are left out, each written with its reason to a rejects file.
    Skip,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<DataSpec, String> {
        serde_yaml_ng::from_str(yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_read_goemotions() {
        let d = DataSpec::default();
        assert_eq!(d.format(), Some(Format::Goemotions));
        assert!(d.is_goemotions());
        assert_eq!(d.text_columns(), ["text"]);
    }

    #[test]
    fn format_follows_the_extension() {
        let d = parse("train: data/a.JSONL").unwrap();
        assert_eq!(d.format(), Some(Format::Jsonl));
        assert_eq!(parse("train: a.txt").unwrap().format(), None);
        assert_eq!(
            parse("train: a.txt\nformat: tsv").unwrap().format(),
            Some(Format::Tsv)
        );
    }

    #[test]
    fn label_columns_and_maps_parse() {
        let d = parse("label_columns: rest\nlabel_map: ekman\ntask: single_label").unwrap();
        assert_eq!(d.label_columns, Some(LabelColumns::Rest));
        assert_eq!(d.label_map, Some(LabelMapSpec::Ekman));
        assert_eq!(d.task, Task::SingleLabel);
        let d = parse("label_columns: [toxic, obscene]\nlabel_map: {pos: [joy, love]}").unwrap();
        assert_eq!(
            d.label_columns,
            Some(LabelColumns::Listed(vec!["toxic".into(), "obscene".into()]))
        );
        assert!(
            matches!(d.label_map, Some(LabelMapSpec::Custom(m)) if m["pos"] == ["joy", "love"])
        );
        let e = parse("label_columns: toxic").unwrap_err();
        assert!(
            e.contains("expected a list of column names (`[toxic]`)"),
            "{e}"
        );
        let e = parse("label_map: plutchik").unwrap_err();
        assert!(e.contains("`plutchik`: expected ekman or sentiment"), "{e}");
    }

    #[test]
    fn round_trips_through_yaml() {
        let d = parse(
            "train: a.csv\ntext_column: [title, body]\nlabel_column: tags\nlabel_delimiter: '|'\nlabel_map: {pos: [a]}",
        )
        .unwrap();
        let back: DataSpec =
            serde_yaml_ng::from_str(&serde_yaml_ng::to_string(&d).unwrap()).unwrap();
        assert_eq!(back, d);
    }
}
