//! The data behind a report: each distinct data record the runs carry
//! (`RunMetrics::data`: format, task, label set, each file's sha256), the
//! label sets they were scored on (several in one report are said, never
//! mixed into one table's columns), and, for a job directory, its data
//! check's `data.json` (rows rejected under `bad_rows: skip`, listed in
//! `rejects.tsv` beside it).

use super::discover::Layout;
use super::reference;
use super::row::Row;
use crate::jobdir::data_record::{DataRecord, REJECTS_FILE};
use crate::jobdir::metrics::RunMetrics;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Characters of each file's sha256 the report shows.
pub const SHA_PREFIX: usize = 12;

/// One data record and the runs (row labels, table order) that read it.
#[derive(Debug, Clone, Serialize)]
pub struct DataUse {
    pub record: DataRecord,
    pub runs: Vec<String>,
}

/// One label set and the runs scored on it.
#[derive(Debug, Clone, Serialize)]
pub struct LabelSetUse {
    pub name: String,
    pub labels: Vec<String>,
    pub runs: Vec<String>,
}

/// The job directory's data check.
#[derive(Debug, Clone, Serialize)]
pub struct JobData {
    /// Rows left out under `bad_rows: skip`.
    pub rejected: usize,
    /// Where they are listed.
    pub rejects: PathBuf,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DataFacts {
    pub records: Vec<DataUse>,
    pub label_sets: Vec<LabelSetUse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<JobData>,
    /// Why the job's data.json could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_problem: Option<String>,
}

/// The facts of the shown runs (table order) and, for a job directory, of
/// its data check.
pub fn collect(
    dir: &Path,
    layout: Layout,
    rows: &[Row],
    runs: &BTreeMap<u32, RunMetrics>,
) -> DataFacts {
    let mut facts = DataFacts::default();
    for r in rows {
        let Some(m) = runs.get(&r.task) else {
            continue;
        };
        if let Some(d) = &m.data {
            match facts.records.iter_mut().find(|u| u.record == *d) {
                Some(u) => u.runs.push(r.label()),
                None => facts.records.push(DataUse {
                    record: d.clone(),
                    runs: vec![r.label()],
                }),
            }
        }
        let name = reference::label_set_name(m);
        match facts
            .label_sets
            .iter_mut()
            .find(|s| s.name == name && s.labels == m.labels)
        {
            Some(s) => s.runs.push(r.label()),
            None => facts.label_sets.push(LabelSetUse {
                name,
                labels: m.labels.clone(),
                runs: vec![r.label()],
            }),
        }
    }
    if layout == Layout::JobsDir {
        match DataRecord::read(dir) {
            Ok(Some(d)) => {
                facts.job = Some(JobData {
                    rejected: d.rejected,
                    rejects: dir.join(REJECTS_FILE),
                });
            }
            Ok(None) => {}
            Err(e) => facts.job_problem = Some(e.to_string()),
        }
    }
    facts
}

/// `tsv, single_label, 5 labels, label map custom; train 3f2a9c1b0d4e, …`
pub fn record_line(d: &DataRecord) -> String {
    let map = match &d.label_map {
        Some(m) => format!("label map {m}"),
        None => "no label map".to_string(),
    };
    let files: Vec<String> = d
        .files
        .iter()
        .map(|f| {
            let n = SHA_PREFIX.min(f.sha256.len());
            format!("{} {}", f.split, &f.sha256[..n])
        })
        .collect();
    format!(
        "{}, {}, {} labels, {map}; sha256 {}",
        d.format,
        d.task,
        d.labels.len(),
        files.join(", ")
    )
}

impl DataFacts {
    /// The facts as lines of text, the same in every format.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        let several = self.records.len() > 1;
        for u in &self.records {
            let who = if several {
                format!(" ({})", u.runs.join(", "))
            } else {
                String::new()
            };
            out.push(format!("data{who}: {}", record_line(&u.record)));
            if !u.record.has_test {
                out.push(format!(
                    "no test split{who}: the runs have no test evaluation; their scores are dev's"
                ));
            }
        }
        if self.label_sets.len() > 1 {
            let sets: Vec<String> = self
                .label_sets
                .iter()
                .map(|s| format!("{} ({})", s.name, s.runs.join(", ")))
                .collect();
            out.push(format!(
                "label sets differ: {}. Scores on different label sets are not comparable; \
                 the per-label table is the best run's alone.",
                sets.join("; ")
            ));
        }
        if let Some(j) = &self.job {
            out.push(match j.rejected {
                0 => "data check: no rows rejected".to_string(),
                n => format!(
                    "data check: {n} row{} rejected (bad_rows: skip), listed in {}",
                    if n == 1 { "" } else { "s" },
                    j.rejects.display()
                ),
            });
        }
        if let Some(p) = &self.job_problem {
            out.push(format!("data check: {p}"));
        }
        out
    }
}
