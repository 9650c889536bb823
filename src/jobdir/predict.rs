//! The predict stage's files: `predict.json` in the job directory (the shard
//! plan `render` wrote: every input file with its row count, the shard size,
//! the model and the output options), and under `predict/` each shard's
//! output (`shard-K.jsonl`), its resume sidecar, its summary
//! (`shard-K.summary.json`: rows and rows/s, for `report`) and the merged
//! `predictions.jsonl` (or `.csv`).
//!
//! Shard K (1-based) labels rows `(K-1)·shard_size ..< K·shard_size` of the
//! inputs read one after another in the plan's order (0-based row numbers);
//! the last shard takes what is left. The plan is written at render time, so
//! the array's size and each shard's rows are fixed when the job is submitted.
//! Each input also records where in it each shard after the first begins
//! (`starts`: the row, its byte offset and line), so a shard opens its first
//! file there instead of reading it from the start; a plan without them
//! (written before they were) is read from each file's start, as then.

use super::read::{read_bounded, Record, MAX_RECORD_BYTES};
use crate::util::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const PREDICT_PLAN_FILE: &str = "predict.json";
/// The shards' outputs and the merged predictions, inside the job directory.
pub const PREDICT_DIR: &str = "predict";

const PLAN_RECORD: Record = Record {
    name: "predict plan",
    reading: "reading predict plan",
    limit: MAX_RECORD_BYTES,
};
const SUMMARY_RECORD: Record = Record {
    name: "shard summary",
    reading: "reading shard summary",
    limit: 64 << 10,
};

/// One input file as counted at render time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanInput {
    /// Absolute path (globs and relative paths resolved at render time).
    pub path: PathBuf,
    /// `text`, `csv`, `tsv` or `jsonl`.
    pub format: String,
    /// Input rows (text: lines; tables: data rows).
    pub rows: u64,
    /// Its size when counted: a shard refuses a file that changed since.
    pub bytes: u64,
    /// Where the shards that begin inside this file begin, in row order
    /// (none at its first row: a shard starting there reads from the start).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub starts: Vec<RowStart>,
}

/// Where one row of an input file begins, so a reader can start there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowStart {
    /// The row, 0-based within the file (text: its line; table: its data row).
    pub row: u64,
    /// The byte offset of its first byte.
    pub byte: u64,
    /// The 1-based line it begins on (a text row's id, a table row's messages).
    pub line: u64,
}

/// `predict.json`: what every shard and the merge read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictPlan {
    /// A model directory, or `best`: the sweep's best task, chosen when a shard runs.
    pub model: String,
    pub inputs: Vec<PlanInput>,
    /// Rows of all inputs together.
    pub rows: u64,
    pub shard_size: u64,
    pub shards: u32,
    /// `jsonl` or `csv`: the outputs' format and extension.
    pub format: String,
    pub probabilities: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// Texts per forward pass; None: `auto` (64 on the CPU, on a GPU as
    /// many as its free memory allows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<usize>,
    pub text_column: Vec<String>,
    pub text_join: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_column: Option<String>,
    /// `auto`, `fp32` or `bf16` (predict.precision).
    #[serde(default = "auto")]
    pub precision: String,
    /// `int8` when predict.quantize says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantize: Option<String>,
}

fn auto() -> String {
    "auto".into()
}

/// What a finished shard writes beside its output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardSummary {
    pub shard: u32,
    /// Rows in the shard's output.
    pub rows: u64,
    /// Rows this run predicted (the rest were there from an earlier, resumed run).
    pub predicted: u64,
    /// Seconds this run spent predicting.
    pub seconds: f64,
    /// The model directory used (`best` resolved).
    pub model: String,
}

impl ShardSummary {
    pub fn rows_per_second(&self) -> Option<f64> {
        (self.seconds > 0.0 && self.predicted > 0).then(|| self.predicted as f64 / self.seconds)
    }

    pub fn path(job_dir: &Path, shard: u32) -> PathBuf {
        job_dir
            .join(PREDICT_DIR)
            .join(format!("shard-{shard}.summary.json"))
    }

    pub fn read(job_dir: &Path, shard: u32) -> Result<Option<ShardSummary>> {
        let path = Self::path(job_dir, shard);
        let Some(text) = read_bounded(&path, SUMMARY_RECORD)? else {
            return Ok(None);
        };
        serde_json::from_str(&text).map(Some).map_err(|e| {
            Error::Data(format!(
                "{}: not a shard summary hecjob wrote ({e}); remove it and run the shard again",
                path.display()
            ))
        })
    }

    pub fn write(&self, job_dir: &Path) -> Result<()> {
        write_json(&Self::path(job_dir, self.shard), self)
    }
}

/// `predict/best.json`: the task `predict.model: best` named for this
/// submission's shards. The first shard to resolve it writes it (under
/// `BestChoice::lock_path`); the others, and reruns of a shard, read it, so
/// every shard labels with one model even when a task finishes in between.
/// `submit` removes it, so a new submission chooses again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BestChoice {
    pub task: u32,
    pub dir: PathBuf,
}

impl BestChoice {
    pub fn path(job_dir: &Path) -> PathBuf {
        job_dir.join(PREDICT_DIR).join("best.json")
    }

    /// What the shards hold while one of them chooses.
    pub fn lock_path(job_dir: &Path) -> PathBuf {
        job_dir.join(PREDICT_DIR).join(".best.lock")
    }

    pub fn read(job_dir: &Path) -> Result<Option<BestChoice>> {
        let path = Self::path(job_dir);
        let Some(text) = read_bounded(&path, SUMMARY_RECORD)? else {
            return Ok(None);
        };
        serde_json::from_str(&text).map(Some).map_err(|e| {
            Error::Data(format!(
                "{}: not a choice hecjob wrote ({e}); remove it to choose the best task again",
                path.display()
            ))
        })
    }

    pub fn write(&self, job_dir: &Path) -> Result<()> {
        write_json(&Self::path(job_dir), self)
    }

    /// Forget the choice (a new submission of the predict stage).
    pub fn clear(job_dir: &Path) -> Result<()> {
        let path = Self::path(job_dir);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(Error::io("removing", &path, e))
            }
            _ => Ok(()),
        }
    }
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value).map_err(|e| Error::Data(e.to_string()))?;
    text.push('\n');
    crate::util::fsutil::write_atomic(path, text.as_bytes())
}

impl PredictPlan {
    /// The plan in `job_dir`; an error naming what to do when there is none.
    pub fn read(job_dir: &Path) -> Result<PredictPlan> {
        let path = job_dir.join(PREDICT_PLAN_FILE);
        let Some(text) = read_bounded(&path, PLAN_RECORD)? else {
            return Err(Error::Usage(format!(
                "{}: no such file; render the job directory from a config with a `predict:` section",
                path.display()
            )));
        };
        serde_json::from_str(&text).map_err(|e| {
            Error::Data(format!(
                "{}: not a predict plan hecjob wrote ({e}); render the job directory again",
                path.display()
            ))
        })
    }

    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a plan serialises");
        text.push('\n');
        text
    }

    /// The rows (0-based, over all inputs in order) shard `shard` labels.
    pub fn shard_rows(&self, shard: u32) -> std::ops::Range<u64> {
        let start = (u64::from(shard.max(1)) - 1).saturating_mul(self.shard_size);
        start.min(self.rows)..start.saturating_add(self.shard_size).min(self.rows)
    }

    /// Shard `shard`'s output file.
    pub fn shard_output(&self, job_dir: &Path, shard: u32) -> PathBuf {
        job_dir
            .join(PREDICT_DIR)
            .join(format!("shard-{shard}.{}", self.format))
    }

    /// The merged predictions.
    pub fn merged_output(&self, job_dir: &Path) -> PathBuf {
        job_dir
            .join(PREDICT_DIR)
            .join(format!("predictions.{}", self.format))
    }

    /// The shards needed for `rows` rows of `shard_size` (at least one, so
    /// an empty corpus still gets a merge that writes an empty file).
    pub fn shards_for(rows: u64, shard_size: u64) -> u32 {
        let n = rows.div_ceil(shard_size.max(1)).max(1);
        u32::try_from(n).unwrap_or(u32::MAX)
    }
}

#[cfg(test)]
impl PredictPlan {
    /// A plan of `rows` rows over `inputs` for unit tests: `best`, JSONL,
    /// the other options at their defaults.
    pub(crate) fn for_tests(inputs: Vec<PlanInput>, rows: u64, shard_size: u64) -> PredictPlan {
        PredictPlan {
            model: "best".into(),
            inputs,
            rows,
            shard_size,
            shards: PredictPlan::shards_for(rows, shard_size),
            format: "jsonl".into(),
            probabilities: false,
            threshold: None,
            batch_size: Some(64),
            text_column: vec!["text".into()],
            text_join: " ".into(),
            id_column: None,
            precision: "auto".into(),
            quantize: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(rows: u64, shard_size: u64) -> PredictPlan {
        PredictPlan::for_tests(vec![], rows, shard_size)
    }

    #[test]
    fn shards_cover_every_row_once_and_the_last_takes_the_rest() {
        let p = plan(10, 4);
        assert_eq!(p.shards, 3);
        let ranges: Vec<_> = (1..=p.shards).map(|k| p.shard_rows(k)).collect();
        assert_eq!(ranges, [0..4, 4..8, 8..10]);
        assert_eq!(plan(8, 4).shards, 2);
        assert_eq!(plan(0, 4).shards, 1);
        assert_eq!(plan(0, 4).shard_rows(1), 0..0);
    }

    /// predict.json as the version before `starts` wrote it still reads,
    /// with no starts: every shard reads its files from the start.
    #[test]
    fn a_plan_without_starts_still_reads() {
        let dir = tempfile::tempdir().unwrap();
        let old = r#"{"model": "best", "inputs": [{"path": "/c/a.txt", "format": "text",
            "rows": 5, "bytes": 20}], "rows": 5, "shard_size": 2, "shards": 3,
            "format": "jsonl", "probabilities": false, "batch_size": 64,
            "text_column": ["text"], "text_join": " "}"#;
        std::fs::write(dir.path().join(PREDICT_PLAN_FILE), old).unwrap();
        let p = PredictPlan::read(dir.path()).unwrap();
        assert_eq!(p.inputs[0].starts, []);
        assert_eq!((p.inputs[0].rows, p.shards), (5, 3));
    }

    #[test]
    fn a_plan_reads_back_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = plan(10, 4);
        p.inputs.push(PlanInput {
            path: "/c/a.txt".into(),
            format: "text".into(),
            rows: 10,
            bytes: 40,
            starts: vec![RowStart {
                row: 4,
                byte: 16,
                line: 5,
            }],
        });
        crate::util::fsutil::write_atomic(
            &dir.path().join(PREDICT_PLAN_FILE),
            p.to_json().as_bytes(),
        )
        .unwrap();
        assert_eq!(PredictPlan::read(dir.path()).unwrap(), p);
    }
}
