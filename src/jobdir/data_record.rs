//! `data.json` and `rejects.tsv` in the job directory: what the download job
//! found when it read the data (on a CPU node, before any GPU time is spent),
//! and `heldout-dev.txt` beside it when dev was held out of train. Train
//! tasks compare each file's sha256 with this record and refuse data that
//! changed since; every run's metrics.json carries the same record.

use super::read::{read_bounded, Record, MAX_RECORD_BYTES};
use crate::util::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

pub const DATA_RECORD_FILE: &str = "data.json";
pub const REJECTS_FILE: &str = "rejects.tsv";
pub const HELD_OUT_FILE: &str = "heldout-dev.txt";

pub const DATA_RECORD: Record = Record {
    name: "data record",
    reading: "reading data record",
    limit: MAX_RECORD_BYTES,
};

/// The dataset as the data check read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataRecord {
    /// `goemotions`, `csv`, `tsv` or `jsonl`.
    pub format: String,
    /// `multi_label` or `single_label`.
    pub task: String,
    /// `ekman`, `sentiment` or `custom` when labels were merged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_map: Option<String>,
    /// The label names in id order (after the map): every task uses this order.
    pub labels: Vec<String>,
    /// How the label set was found (`given`, `labels_file`, `columns`, `inferred from train`).
    pub label_source: String,
    /// Each split file read.
    pub files: Vec<FileRecord>,
    /// Each split as used: rows kept and examples per label.
    pub splits: Vec<SplitRecord>,
    /// When dev was held out of train: how, and where the ids are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_out: Option<HeldOut>,
    pub has_test: bool,
    /// Rows left out under `bad_rows: skip` (listed in rejects.tsv).
    pub rejected: usize,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileRecord {
    pub split: String,
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
    /// Rows in the file, kept and rejected.
    pub rows: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitRecord {
    pub split: String,
    pub examples: usize,
    /// Examples carrying each label, in label order.
    pub label_counts: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldOut {
    pub fraction: f64,
    pub seed: u64,
    pub rows: usize,
    /// The file (beside data.json) listing the held-out rows' ids, one per line.
    pub ids_file: String,
}

impl DataRecord {
    /// The record in `job_dir`, if the data check wrote one.
    pub fn read(job_dir: &Path) -> Result<Option<DataRecord>> {
        let path = job_dir.join(DATA_RECORD_FILE);
        let Some(text) = read_bounded(&path, DATA_RECORD)? else {
            return Ok(None);
        };
        serde_json::from_str(&text).map(Some).map_err(|e| {
            Error::Data(format!(
                "{}: not a data record hecjob wrote ({e}); rerun `hecjob prepare-data`",
                path.display()
            ))
        })
    }

    /// Write it into `job_dir` atomically.
    pub fn write(&self, job_dir: &Path) -> Result<()> {
        let mut text =
            serde_json::to_string_pretty(self).map_err(|e| Error::Data(e.to_string()))?;
        text.push('\n');
        crate::util::fsutil::write_atomic(&job_dir.join(DATA_RECORD_FILE), text.as_bytes())
    }
}
