//! The `data:` keys as flags, for the commands that read data without a
//! config (`analyze`, `train`'s tutorial form, `evaluate`): each flag
//! overrides the key of the same name.

use crate::data::load::Sources;
use crate::data::spec::{
    BadRows, DataSpec, Format, LabelColumns, LabelMapSpec, LabelsAre, PosWeight, Task, TextColumns,
};
use crate::util::error::{Error, Result};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, PartialEq, clap::Args)]
#[command(next_help_heading = "Data (the config's data: keys)")]
pub struct DataFlags {
    /// How the files are written (default: from the extension).
    #[arg(
        long = "data-format",
        id = "data_format",
        value_enum,
        value_name = "FORMAT"
    )]
    pub format: Option<Format>,
    /// The column holding the text; repeat (or comma-separate) to join several.
    #[arg(long, value_name = "COLUMN", value_delimiter = ',')]
    pub text_column: Vec<String>,
    /// What joins several text columns (default: a space).
    #[arg(long, value_name = "TEXT")]
    pub text_join: Option<String>,
    /// A column naming each row (default: its line number).
    #[arg(long, value_name = "COLUMN")]
    pub id_column: Option<String>,
    /// One column holding each row's labels (a JSON list, or delimited text).
    #[arg(long, value_name = "COLUMN")]
    pub label_column: Option<String>,
    /// What separates labels in --label-column, e.g. "," or "|".
    #[arg(long, value_name = "TEXT")]
    pub label_delimiter: Option<String>,
    /// One 0/1 column per label (comma-separated), or `rest`.
    #[arg(long, value_name = "COLUMNS|rest")]
    pub label_columns: Option<String>,
    /// Whether label values are names or ids.
    #[arg(long, value_enum)]
    pub labels_are: Option<LabelsAre>,
    /// The label names in id order (comma-separated).
    #[arg(
        long = "labels",
        id = "label_names",
        value_name = "NAMES",
        value_delimiter = ','
    )]
    pub labels: Vec<String>,
    /// A file with one label name per line.
    #[arg(long, value_name = "FILE")]
    pub labels_file: Option<PathBuf>,
    /// Merge labels: ekman or sentiment (GoEmotions' groupings).
    #[arg(long, value_name = "MAP", value_parser = LabelMapSpec::parse_flag)]
    pub label_map: Option<LabelMapSpec>,
    /// multi_label (sigmoid + BCE) or single_label (softmax + cross-entropy).
    #[arg(long = "data-task", id = "data_task", value_enum)]
    pub task: Option<Task>,
    /// `auto`: BCE positive weights from train frequencies (multi-label).
    #[arg(long, value_enum)]
    pub pos_weight: Option<PosWeight>,
    /// `skip` leaves bad rows out (listing them) instead of stopping.
    #[arg(long, value_enum)]
    pub bad_rows: Option<BadRows>,
    /// Share of train held out as dev when there is no dev file.
    #[arg(long, value_name = "SHARE")]
    pub dev_fraction: Option<f64>,
    /// Seed of that hold-out.
    #[arg(long, value_name = "N")]
    pub data_seed: Option<u64>,
}

impl DataFlags {
    /// `base` with every flag given applied.
    pub fn overlay(&self, mut d: DataSpec) -> DataSpec {
        if self.format.is_some() {
            d.format = self.format;
        }
        match self.text_column.as_slice() {
            [] => {}
            [one] => d.text_column = TextColumns::One(one.clone()),
            many => d.text_column = TextColumns::Many(many.to_vec()),
        }
        set(&mut d.text_join, &self.text_join);
        opt(&mut d.id_column, &self.id_column);
        opt(&mut d.label_column, &self.label_column);
        opt(&mut d.label_delimiter, &self.label_delimiter);
        if let Some(c) = &self.label_columns {
            d.label_columns = Some(if c == "rest" {
                LabelColumns::Rest
            } else {
                LabelColumns::Listed(c.split(',').map(|s| s.trim().to_string()).collect())
            });
        }
        if self.labels_are.is_some() {
            d.labels_are = self.labels_are;
        }
        if !self.labels.is_empty() {
            d.labels = Some(self.labels.clone());
        }
        if let Some(f) = &self.labels_file {
            d.labels_file = Some(f.display().to_string());
        }
        opt(&mut d.label_map, &self.label_map);
        set(&mut d.task, &self.task);
        set(&mut d.pos_weight, &self.pos_weight);
        set(&mut d.bad_rows, &self.bad_rows);
        set(&mut d.dev_fraction, &self.dev_fraction);
        set(&mut d.seed, &self.data_seed);
        d
    }

    /// The data and its files given as paths: `train` (required), `dev` and
    /// `test` (optional). GoEmotions' format takes `labels_file` for emotions.txt.
    pub fn sources(
        &self,
        train: &Path,
        dev: Option<&Path>,
        test: Option<&Path>,
    ) -> Result<(DataSpec, Sources)> {
        let mut spec = self.overlay(DataSpec::default());
        spec.train = Some(train.display().to_string());
        let format = spec.format_of(train).ok_or_else(|| {
            Error::Usage(format!(
                "{}: cannot tell the format from the extension; pass --data-format csv, tsv, jsonl or goemotions",
                train.display()
            ))
        })?;
        spec.format = Some(format);
        let labels_file = self.labels_file.clone().or_else(|| {
            (format == Format::Goemotions).then(|| train.with_file_name("emotions.txt"))
        });
        let mut problems = crate::experiment::config::validate::Problems::default();
        crate::experiment::config::check_data(&mut problems, &spec);
        if let Some(p) = problems.0.first() {
            return Err(Error::Usage(format!(
                "--{}: {}",
                p.path.trim_start_matches("data.").replace('_', "-"),
                p.message
            )));
        }
        Ok((
            spec,
            Sources {
                format,
                train: train.to_path_buf(),
                dev: dev.map(Path::to_path_buf),
                test: test.map(Path::to_path_buf),
                labels_file,
            },
        ))
    }
}

fn set<T: Clone>(slot: &mut T, v: &Option<T>) {
    if let Some(v) = v {
        *slot = v.clone();
    }
}

fn opt<T: Clone>(slot: &mut Option<T>, v: &Option<T>) {
    if v.is_some() {
        *slot = v.clone();
    }
}
