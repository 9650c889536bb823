//! Reading a dataset as the `data:` keys describe it: the split files in any
//! layout, the label set, the label map, the task's one-label rule, bad rows
//! (an error naming file:line, or left out with their reason), and a dev
//! split held out of train when there is none.

use super::dataset::{Dataset, Example};
use super::labels::{build_map, row_labels, task_problem, Layout, Vocab};
use super::spec::{BadRows, DataSpec, Format, LabelColumns, Task};
use super::table::{self, Cell, Header, Row};
use super::{stratify, tsv};
use crate::util::error::{Error, Result};
use std::path::{Path, PathBuf};

/// Where the splits are, resolved (the config layer turns `data:` paths
/// relative to the storage root into these).
#[derive(Debug, Clone, PartialEq)]
pub struct Sources {
    pub format: Format,
    pub train: PathBuf,
    pub dev: Option<PathBuf>,
    pub test: Option<PathBuf>,
    /// GoEmotions' emotions.txt, or `data.labels_file`.
    pub labels_file: Option<PathBuf>,
}

impl Sources {
    /// GoEmotions' four files in `dir`.
    pub fn goemotions(dir: &Path) -> Sources {
        Sources {
            format: Format::Goemotions,
            train: dir.join("train.tsv"),
            dev: Some(dir.join("dev.tsv")),
            test: Some(dir.join("test.tsv")),
            labels_file: Some(dir.join("emotions.txt")),
        }
    }

    /// The files given, with their split names, train first.
    pub fn files(&self) -> Vec<(&'static str, &Path)> {
        let mut out = vec![("train", self.train.as_path())];
        out.extend(self.dev.as_deref().map(|p| ("dev", p)));
        out.extend(self.test.as_deref().map(|p| ("test", p)));
        out
    }
}

/// A row left out under `bad_rows: skip`, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Reject {
    pub split: &'static str,
    pub file: String,
    pub line: usize,
    pub reason: String,
}

/// One split file as read.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitFile {
    pub split: &'static str,
    pub path: PathBuf,
    /// Rows in the file (kept and rejected).
    pub rows: usize,
}

/// The dataset and what reading it found.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub dataset: Dataset,
    pub task: Task,
    pub files: Vec<SplitFile>,
    pub rejects: Vec<Reject>,
    /// The ids of the train rows held out as dev, when `data.dev` is absent.
    pub held_out: Option<Vec<String>>,
    /// Whether a test split was given (reports say when it was not).
    pub has_test: bool,
    /// How the label set was found: `given`, `labels_file`, `columns` or
    /// `inferred from train`.
    pub label_source: &'static str,
    /// The label names before `label_map` (what the files write).
    pub source_labels: Vec<String>,
}

/// A split's name and its examples.
type NamedSplit = (&'static str, Vec<Example>);

/// Read the dataset `spec` describes from `src`.
pub fn load(spec: &DataSpec, src: &Sources) -> Result<Loaded> {
    let (mut vocab, label_source, layout) = label_set(spec, src)?;
    let mut rejects = Vec::new();
    let mut files = Vec::new();
    let mut raw: Vec<NamedSplit> = Vec::new();
    for (split, path) in src.files() {
        let (examples, rows) = read_split(
            spec,
            src.format,
            path,
            split,
            layout.as_ref(),
            &mut vocab,
            &mut rejects,
        )?;
        if split == "train" {
            vocab.freeze();
        }
        files.push(SplitFile {
            split,
            path: path.to_path_buf(),
            rows,
        });
        raw.push((split, examples));
    }
    let source_labels = vocab.names.clone();
    let (labels, mut splits) = map_and_check(spec, src, &source_labels, raw, &mut rejects)?;
    let take = |name: &str, splits: &mut Vec<NamedSplit>| {
        splits
            .iter()
            .position(|(s, _)| *s == name)
            .map(|i| splits.remove(i).1)
    };
    let mut train = take("train", &mut splits).unwrap_or_default();
    let (dev, held_out) = match take("dev", &mut splits) {
        Some(dev) => (dev, None),
        None => {
            let (kept, dev) = hold_out_dev(train, labels.len(), spec.dev_fraction, spec.seed);
            train = kept;
            let ids = dev.iter().map(|e| e.id.clone()).collect();
            (dev, Some(ids))
        }
    };
    let test = take("test", &mut splits);
    Ok(Loaded {
        has_test: test.is_some(),
        dataset: Dataset {
            labels,
            train,
            dev,
            test: test.unwrap_or_default(),
        },
        task: spec.task,
        files,
        rejects,
        held_out,
        label_source,
        source_labels,
    })
}

/// The label names after `label_map`, and each split's examples mapped and
/// checked against the task (a row that fits it not is a bad row).
fn map_and_check(
    spec: &DataSpec,
    src: &Sources,
    source_labels: &[String],
    raw: Vec<NamedSplit>,
    rejects: &mut Vec<Reject>,
) -> Result<(Vec<String>, Vec<NamedSplit>)> {
    let map = match &spec.label_map {
        Some(m) => Some(build_map(m, source_labels).map_err(Error::Data)?),
        None => None,
    };
    let labels = map
        .as_ref()
        .map_or_else(|| source_labels.to_vec(), |m| m.names.clone());
    let mut splits = Vec::new();
    for (split, examples) in raw {
        let file = src
            .files()
            .iter()
            .find(|(s, _)| *s == split)
            .map(|(_, p)| p.display().to_string())
            .unwrap_or_default();
        let mut kept = Vec::with_capacity(examples.len());
        for mut ex in examples {
            if let Some(m) = &map {
                ex.labels = m.apply(&ex.labels);
            }
            match task_problem(spec.task, &ex.labels, &labels) {
                None => kept.push(ex),
                Some(reason) => bad_row(spec.bad_rows, rejects, split, &file, ex.line, reason)?,
            }
        }
        splits.push((split, kept));
    }
    Ok((labels, splits))
}

/// Train split into (kept, held out), each in file order.
fn hold_out_dev(
    train: Vec<Example>,
    n_labels: usize,
    fraction: f64,
    seed: u64,
) -> (Vec<Example>, Vec<Example>) {
    let labels: Vec<Vec<usize>> = train.iter().map(|e| e.labels.clone()).collect();
    let held = stratify::hold_out(&labels, n_labels, fraction, seed);
    let (mut kept, mut dev) = (Vec::new(), Vec::new());
    for (ex, h) in train.into_iter().zip(held) {
        if h {
            dev.push(ex)
        } else {
            kept.push(ex)
        }
    }
    (kept, dev)
}

/// The label set to start from, how it was found, and (for table formats)
/// the layout of each row's labels.
fn label_set(spec: &DataSpec, src: &Sources) -> Result<(Vocab, &'static str, Option<Layout>)> {
    if src.format == Format::Goemotions {
        let file = src.labels_file.as_deref().ok_or_else(|| {
            Error::Data("GoEmotions data needs its emotions.txt (data.labels_file)".into())
        })?;
        return Ok((
            Vocab::fixed(tsv::read_emotions(file)?, None),
            "labels_file",
            None,
        ));
    }
    let header = table::read_header(&src.train, src.format)?;
    check_text_columns(spec, &header, &src.train, src.format)?;
    let layout = layout(spec, &header, &src.train, src.format)?;
    let (vocab, source) = match (&layout, &spec.labels, &src.labels_file) {
        (Layout::Indicators(cols), _, _) => {
            (Vocab::fixed(cols.clone(), spec.labels_are), "columns")
        }
        (_, Some(names), _) => (Vocab::fixed(names.clone(), spec.labels_are), "given"),
        (_, None, Some(file)) => (
            Vocab::fixed(tsv::read_emotions(file)?, spec.labels_are),
            "labels_file",
        ),
        (_, None, None) => (Vocab::inferred(spec.labels_are), "inferred from train"),
    };
    Ok((vocab, source, Some(layout)))
}

/// The label layout the keys describe, checked against the train header.
fn layout(spec: &DataSpec, header: &Header, file: &Path, format: Format) -> Result<Layout> {
    let missing = |col: &str, key: &str| {
        Error::Data(format!(
            "{}: no column `{col}` (data.{key}); the {} {}",
            file.display(),
            if format == Format::Jsonl {
                "first object's keys are"
            } else {
                "header row's columns are"
            },
            header.listing()
        ))
    };
    match (&spec.label_column, &spec.label_columns) {
        (Some(c), None) => {
            if format != Format::Jsonl && header.position(c).is_none() {
                return Err(missing(c, "label_column"));
            }
            Ok(Layout::Column { name: c.clone(), delimiter: spec.label_delimiter.clone() })
        }
        (None, Some(LabelColumns::Listed(cols))) => {
            for c in cols {
                if format != Format::Jsonl && header.position(c).is_none() {
                    return Err(missing(c, "label_columns"));
                }
            }
            Ok(Layout::Indicators(cols.clone()))
        }
        (None, Some(LabelColumns::Rest)) => {
            let text = spec.text_columns();
            let last_text = text.iter().filter_map(|c| header.position(c)).max().unwrap_or(0);
            let cols: Vec<String> = header.columns[last_text + 1..]
                .iter()
                .filter(|c| Some(c.as_str()) != spec.id_column.as_deref())
                .cloned()
                .collect();
            if cols.is_empty() {
                return Err(Error::Data(format!(
                    "{}: data.label_columns: rest, but no column follows the text column `{}` (columns: {})",
                    file.display(),
                    text.last().copied().unwrap_or("text"),
                    header.listing()
                )));
            }
            Ok(Layout::Indicators(cols))
        }
        (None, None) => match ["labels", "label"].iter().find(|c| header.position(c).is_some()) {
            Some(c) => Ok(Layout::Column { name: c.to_string(), delimiter: spec.label_delimiter.clone() }),
            None => Err(Error::Data(format!(
                "{}: where are the labels? Set data.label_column (a list or delimited column) or data.label_columns (one 0/1 column per label, or `rest`); the columns are {}",
                file.display(),
                header.listing()
            ))),
        },
        (Some(_), Some(_)) => Err(Error::Data(
            "data.label_column and data.label_columns are both set; expected one: a labels column, or one 0/1 column per label".into(),
        )),
    }
}

/// Every text column (and the id column) is in the header, or in a JSONL
/// file's first object (later objects are checked one by one).
fn check_text_columns(spec: &DataSpec, header: &Header, file: &Path, format: Format) -> Result<()> {
    let wanted = spec
        .text_columns()
        .into_iter()
        .map(|c| (c, "text_column"))
        .chain(spec.id_column.as_deref().map(|c| (c, "id_column")));
    for (col, key) in wanted {
        if header.position(col).is_none() && format == Format::Jsonl && !header.columns.is_empty() {
            // Every row needs it, and the first has not got it: the key is
            // misnamed, not one row bad.
            return Err(Error::Data(format!(
                "{}: no `{col}` key in the first object (data.{key}); its keys are {}",
                file.display(),
                header.listing()
            )));
        }
        if header.position(col).is_none() && format != Format::Jsonl {
            return Err(Error::Data(format!(
                "{}:1: no column `{col}` (data.{key}); the header row's columns are {}{}",
                file.display(),
                header.listing(),
                if key != "text_column" {
                    ""
                } else if looks_like_data(header) {
                    "; is the first line data, not a header? CSV and TSV files need a header row naming the columns"
                } else {
                    "; set data.text_column to the column holding the text"
                }
            )));
        }
    }
    Ok(())
}

/// Whether a "header" reads like a row of data: a cell with a space that is
/// long, or a 0/1 or numeric cell (column names are rarely either).
fn looks_like_data(header: &Header) -> bool {
    header.columns.iter().any(|c| {
        c.split_whitespace().count() >= 4
            || (!c.is_empty()
                && c.chars()
                    .all(|ch| ch.is_ascii_digit() || ch == '.' || ch == ','))
    })
}

/// Record `reason` for the row at `file:line`: an error, or a reject.
fn bad_row(
    mode: BadRows,
    rejects: &mut Vec<Reject>,
    split: &'static str,
    file: &str,
    line: usize,
    reason: String,
) -> Result<()> {
    match mode {
        BadRows::Error => Err(Error::Data(format!(
            "{file}:{line}: {reason} (data.bad_rows: skip leaves such rows out, listing them in rejects.tsv)"
        ))),
        BadRows::Skip => {
            rejects.push(Reject { split, file: file.to_string(), line, reason });
            Ok(())
        }
    }
}

/// One split's examples (label ids into `vocab`, before any map) and its row count.
fn read_split(
    spec: &DataSpec,
    format: Format,
    path: &Path,
    split: &'static str,
    layout: Option<&Layout>,
    vocab: &mut Vocab,
    rejects: &mut Vec<Reject>,
) -> Result<(Vec<Example>, usize)> {
    let Some(layout) = layout else {
        let examples = tsv::read_split(path, vocab.names.len())?;
        let n = examples.len();
        return Ok((examples, n));
    };
    if split != "train" {
        let header = table::read_header(path, format)?;
        check_text_columns(spec, &header, path, format)?;
        if let Layout::Indicators(cols) = layout {
            if let Some(c) = cols
                .iter()
                .find(|c| format != Format::Jsonl && header.position(c).is_none())
            {
                return Err(Error::Data(format!(
                    "{}:1: no label column `{c}`, which train has; the columns are {}",
                    path.display(),
                    header.listing()
                )));
            }
        }
    }
    let file = path.display().to_string();
    let mut examples = Vec::new();
    let mut rows = 0usize;
    table::for_each_row(path, format, |header, row| {
        rows += 1;
        match example(spec, header, &row, layout, vocab) {
            Ok(ex) => examples.push(ex),
            Err(reason) => bad_row(spec.bad_rows, rejects, split, &file, row.line, reason)?,
        }
        Ok(())
    })?;
    Ok((examples, rows))
}

/// One row as an example, or why it is bad.
fn example(
    spec: &DataSpec,
    header: &Header,
    row: &Row,
    layout: &Layout,
    vocab: &mut Vocab,
) -> std::result::Result<Example, String> {
    let mut parts = Vec::new();
    for col in spec.text_columns() {
        match row.cell(header, col) {
            None => {
                return Err(format!(
                    "no `{col}` key (data.text_column); keys: {}",
                    header.listing()
                ))
            }
            Some(cell) => parts.push(cell_text(cell, col)?),
        }
    }
    let text = parts.join(&spec.text_join);
    if text.trim().is_empty() {
        return Err("empty text".into());
    }
    let mut labels = Vec::new();
    for raw in row_labels(row, header, layout)? {
        let id = vocab.resolve(&raw)?;
        if !labels.contains(&id) {
            labels.push(id);
        }
    }
    let id = match &spec.id_column {
        Some(c) => match row.cell(header, c) {
            Some(cell) => cell_text(cell, c)?,
            None => return Err(format!("no `{c}` key (data.id_column)")),
        },
        None => row.line.to_string(),
    };
    Ok(Example {
        text,
        labels,
        id,
        line: row.line,
    })
}

/// A cell as text, or why it is not (naming its column).
fn cell_text(cell: Cell, col: &str) -> std::result::Result<String, String> {
    cell.text()
        .map_err(|kind| format!("`{col}` holds a JSON {kind}; expected text"))
}
