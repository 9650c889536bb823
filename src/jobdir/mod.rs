//! The on-disk contract: the job directory `render` writes and `submit`,
//! `status`, the worker and `report` read, and the task directory the worker
//! writes. Every file name is a named value here, and every JSON file is
//! written and read by one type, so writer and readers cannot drift.
//!
//! A leaf, as nextest's `nextest-metadata` is for nextest: these modules
//! import only `crate::util` and external crates (the test below checks), so
//! writers (`experiment`, `scheduler`, `worker`) and readers (`report`, `cli`)
//! depend on the contract and not on each other. Every record is read through
//! [`read::read_bounded`]: regular files only, each record with a size bound.
//!
//! ```text
//! jobs/<experiment>/            the job directory
//!   install.com download.com train.com   job scripts (JobKind::script)
//!   config.yaml                 the resolved config the tasks read
//!   tasks.tsv, tasks.json       the sweep's tasks (tasks::TasksFile)
//!   templates.json              the --templates directory it was rendered with (tasks::TemplatesRecord)
//!   submission.json             what `hecjob submit` queued (submission::SubmissionRecord)
//!   written.json                the files hecjob wrote here (written::WrittenRecord): only those are replaced
//!   logs/                       the scheduler's -o/-e files
//!   rungs/                      early stopping: one record per task and rung (rungs::RungRecord)
//!   predict.json                the predict stage's shard plan (predict::PredictPlan)
//!   predict/                    shard-K.jsonl (+ .progress, .summary.json), predictions.jsonl
//!   data.json                   the data as the download job read it (data_record::DataRecord)
//!   rejects.tsv, heldout-dev.txt  rows left out (bad_rows: skip); dev ids held out of train
//! <output_dir>/<experiment>/task-N/   a task directory
//!   metrics.json                the worker's results (metrics::RunMetrics)
//!   progress.json               the worker's live position (progress::LiveProgress)
//! ```

pub mod data_record;
pub mod job_id;
pub mod metrics;
pub mod paths;
pub mod predict;
pub mod progress;
pub mod read;
pub mod rungs;
pub mod submission;
pub mod tasks;
pub mod written;

pub use metrics::RunStatus;
pub use paths::*;
pub use submission::SubmissionRecord;
pub use tasks::{TaskEntry, TasksFile, TemplatesRecord};

#[cfg(test)]
mod tests {
    /// The contract is a leaf: no `crate::` path in src/jobdir/ but `crate::util`
    /// and `crate::jobdir` (and the crate's `Error`/`Result`).
    #[test]
    fn the_contract_imports_nothing_of_the_domain() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/jobdir");
        let mut found = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            for (n, line) in text.lines().enumerate() {
                if line.trim_start().starts_with("//") {
                    continue;
                }
                let mut rest = line;
                while let Some(i) = rest.find("crate::") {
                    let tail = &rest[i + "crate::".len()..];
                    let allowed = ["util", "jobdir", "Error", "Result", "{Error", "{Result"]
                        .iter()
                        .any(|ok| {
                            tail.starts_with(ok)
                                && !tail[ok.len()..]
                                    .starts_with(|c: char| c.is_alphanumeric() || c == '_')
                        });
                    // A path goes on with a name or a `{` group (a quote is this
                    // test's own text); `$crate::` in a macro is the crate itself.
                    let is_path = tail.starts_with(|c: char| c.is_alphabetic() || c == '{');
                    let macro_crate = rest[..i].ends_with('$');
                    if is_path && !allowed && !macro_crate {
                        found.push(format!(
                            "{}:{}: {}",
                            path.file_name().unwrap().to_string_lossy(),
                            n + 1,
                            line.trim()
                        ));
                    }
                    rest = tail;
                }
            }
        }
        assert!(
            found.is_empty(),
            "src/jobdir/ is the on-disk contract and may import only crate::util: \n{}",
            found.join("\n")
        );
    }
}
