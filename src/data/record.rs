//! The data record of a loaded dataset (jobdir::data_record): each file's
//! sha256 and rows, each split's label counts, the warnings; written with the
//! rejected rows and the held-out dev ids into the job directory, and checked
//! by train tasks against the files as they are when the task starts.

use super::checks;
use super::load::{Loaded, Sources};
use super::spec::DataSpec;
use crate::jobdir::data_record::{
    DataRecord, FileRecord, HeldOut, SplitRecord, HELD_OUT_FILE, REJECTS_FILE,
};
use crate::util::digest::sha256_file;
use crate::util::error::{Error, Result};
use crate::util::fsutil::write_atomic;
use std::collections::HashMap;
use std::path::Path;

/// The record of `loaded`, read as `spec` and `src` say. A file that
/// `verified` (the job's record, just checked by [`verify_unchanged`]) already
/// hashed keeps that sha256 instead of being read once more.
pub fn record(
    loaded: &Loaded,
    spec: &DataSpec,
    src: &Sources,
    verified: Option<&DataRecord>,
) -> Result<DataRecord> {
    let mut files = Vec::new();
    for f in &loaded.files {
        let path = f.path.display().to_string();
        let known = verified.and_then(|r| {
            r.files
                .iter()
                .find(|k| k.split == f.split && k.path == path)
        });
        let (sha256, bytes) = match known {
            Some(k) => (k.sha256.clone(), k.bytes),
            None => (
                sha256_file(&f.path)?,
                std::fs::metadata(&f.path).map(|m| m.len()).unwrap_or(0),
            ),
        };
        files.push(FileRecord {
            split: f.split.to_string(),
            path,
            sha256,
            bytes,
            rows: f.rows,
        });
    }
    let ds = &loaded.dataset;
    let splits = ["train", "dev", "test"]
        .into_iter()
        .filter(|s| *s != "test" || loaded.has_test)
        .map(|s| {
            let rows = ds.split(s).unwrap_or_default();
            let mut counts = vec![0usize; ds.labels.len()];
            for e in rows {
                for &l in &e.labels {
                    counts[l] += 1;
                }
            }
            SplitRecord {
                split: s.to_string(),
                examples: rows.len(),
                label_counts: counts,
            }
        })
        .collect();
    let names: HashMap<&str, String> = loaded
        .files
        .iter()
        .map(|f| (f.split, f.path.display().to_string()))
        .collect();
    Ok(DataRecord {
        format: src.format.name().to_string(),
        task: loaded.task.name().to_string(),
        label_map: spec.label_map.as_ref().map(|m| m.name().to_string()),
        labels: ds.labels.clone(),
        label_source: loaded.label_source.to_string(),
        files,
        splits,
        held_out: loaded.held_out.as_ref().map(|ids| HeldOut {
            fraction: spec.dev_fraction,
            seed: spec.seed,
            rows: ids.len(),
            ids_file: HELD_OUT_FILE.to_string(),
        }),
        has_test: loaded.has_test,
        rejected: loaded.rejects.len(),
        warnings: checks::warnings(ds, &names),
    })
}

/// Write the record, rejects.tsv (when rows were rejected) and
/// heldout-dev.txt (when dev was held out) into `job_dir`.
pub fn write_all(record: &DataRecord, loaded: &Loaded, job_dir: &Path) -> Result<()> {
    if !loaded.rejects.is_empty() {
        let mut t = String::from("split\tfile\tline\treason\n");
        for r in &loaded.rejects {
            t.push_str(&format!(
                "{}\t{}\t{}\t{}\n",
                r.split,
                r.file,
                r.line,
                r.reason.replace(['\t', '\n'], " ")
            ));
        }
        write_atomic(&job_dir.join(REJECTS_FILE), t.as_bytes())?;
    }
    if let Some(ids) = &loaded.held_out {
        let mut t = ids.join("\n");
        t.push('\n');
        write_atomic(&job_dir.join(HELD_OUT_FILE), t.as_bytes())?;
    }
    record.write(job_dir)
}

/// Refuse files that changed since `record` was made: each file of `src`
/// must have the recorded sha256.
pub fn verify_unchanged(record: &DataRecord, src: &Sources) -> Result<()> {
    for (split, path) in src.files() {
        let Some(f) = record.files.iter().find(|f| f.split == split) else {
            return Err(Error::Data(format!(
                "{}: the data record has no {split} file, but the config now names one; rerun the download job (or `hecjob prepare-data`) to check it",
                path.display()
            )));
        };
        let now = sha256_file(path)?;
        if now != f.sha256 {
            return Err(Error::Data(format!(
                "{}: changed since the data was checked (sha256 {} then, {} now); rerun the download job (or `hecjob prepare-data CONFIG`) so the data is checked again before training",
                path.display(),
                &f.sha256[..12.min(f.sha256.len())],
                &now[..12]
            )));
        }
    }
    Ok(())
}
