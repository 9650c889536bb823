//! `rungs/`: early stopping's records on shared storage, how array tasks learn
//! each other's results with no server and no locks (`worker::asha` applies
//! the rule to them).
//!
//! Contract:
//! * One file per (rung epoch, task): `rungs/rung-<epoch>.task-<id>.json` in the
//!   job directory. Only task `<id>` writes it, so no two writers ever share a
//!   name; it is written to a uniquely named temp file beside it, synced, then
//!   renamed (atomic on POSIX file systems and on an NFS server), so a reader sees
//!   a whole record or none.
//! * A task records a rung once. Grid Engine and Slurm run one attempt of a task
//!   at a time, so "the file exists" is a safe test; a requeued task that reaches
//!   the rung again keeps its first record (and its value) and decides again
//!   against what is recorded now.
//! * A task writes its record before it reads the others', so of two tasks at a
//!   rung at the same moment, at least the later reader sees both. A stale
//!   directory listing (NFS attribute caching) can only hide records, which makes
//!   the rule judge on fewer results "so far" — never on a torn one.
//! * Records carry the sha256 of the config they were made under; readers skip
//!   others', so a re-rendered experiment in the same directory starts afresh.
//! * Anyone who can write the folder can leave files there. Readers accept only
//!   a record under its canonical name (`rung-1.task-3.json`, not `task-03`)
//!   from one of the array's own tasks, so each task counts once and a record
//!   of a task outside the array cannot outrank the real ones; others are
//!   ignored with a warning. Every record is read bounded (`read::RUNG`) and
//!   only from a regular file, so a FIFO or a huge file stops no task.

use super::read::{read_bounded, RUNG};
use super::RUNGS_DIR;
use crate::util::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What a task learned at a rung; `stopped_early` in metrics.json when it stops.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// 1 for the first rung.
    pub rung: u32,
    /// The epoch the rung sits at.
    pub epoch: u32,
    pub metric: String,
    pub value: f64,
    /// 1 = best among the results compared.
    pub rank: usize,
    /// How many results were compared (this task's included).
    pub compared: usize,
    /// How many of them go on: max(1, ⌊compared/η⌋).
    pub kept: usize,
    pub continues: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RungRecord {
    pub task: u32,
    /// The epoch the rung sits at.
    pub epoch: u32,
    pub metric: String,
    /// `null` for a metric that was not a number.
    pub value: Option<f64>,
    pub config_sha256: String,
    /// Process that wrote it, for a person reading the folder.
    pub pid: u32,
    pub recorded_unix: u64,
}

/// The rung folder of one job directory, as one config's array sees it.
pub struct RungStore {
    pub dir: PathBuf,
    config_sha256: String,
    /// The array's task ids, sorted: only their records count.
    tasks: Vec<u32>,
}

/// `rung-<epoch>.task-<id>.json`
pub fn file_name(epoch: u32, task: u32) -> String {
    format!("rung-{epoch}.task-{task}.json")
}

/// (epoch, task) of a record's file name; temp files and others give `None`.
fn parse_name(name: &str) -> Option<(u32, u32)> {
    let rest = name.strip_prefix("rung-")?.strip_suffix(".json")?;
    let (epoch, task) = rest.split_once(".task-")?;
    Some((epoch.parse().ok()?, task.parse().ok()?))
}

impl RungStore {
    /// The store of the job directory `job_dir` for the config with this
    /// sha256, whose array has the tasks `tasks`.
    pub fn new(
        job_dir: &Path,
        config_sha256: &str,
        tasks: impl IntoIterator<Item = u32>,
    ) -> RungStore {
        let mut tasks: Vec<u32> = tasks.into_iter().collect();
        tasks.sort_unstable();
        tasks.dedup();
        RungStore {
            dir: job_dir.join(RUNGS_DIR),
            config_sha256: config_sha256.to_string(),
            tasks,
        }
    }
    /// Record `value` for `task` at the rung at `epoch`, unless this task has
    /// recorded that rung already (then that record stands). Returns the record
    /// in force and whether it was written now.
    pub fn record(
        &self,
        task: u32,
        epoch: u32,
        metric: &str,
        value: f64,
    ) -> Result<(RungRecord, bool)> {
        let path = self.dir.join(file_name(epoch, task));
        // A record of another config, or one that cannot be read, is this
        // task's own slot: replaced below.
        if let Ok(Some(existing)) = read_record(&path) {
            if existing.config_sha256 == self.config_sha256 {
                return Ok((existing, false));
            }
        }
        let rec = RungRecord {
            task,
            epoch,
            metric: metric.to_string(),
            value: value.is_finite().then_some(value),
            config_sha256: self.config_sha256.clone(),
            pid: std::process::id(),
            recorded_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        };
        let json = serde_json::to_string_pretty(&rec).expect("json");
        crate::util::fsutil::write_atomic(&path, json.as_bytes())?;
        // The rename is durable once the directory is; best effort (some
        // network file systems refuse fsync on a directory).
        if let Ok(d) = std::fs::File::open(&self.dir) {
            let _ = d.sync_all();
        }
        Ok((rec, true))
    }

    /// Every record at the rung at `epoch` made under this config, by task id.
    /// A record that cannot be read is skipped with a warning: it cannot be
    /// compared, and one bad file must not stop every task of the sweep.
    pub fn read(&self, epoch: u32) -> Result<Vec<RungRecord>> {
        Ok(self
            .read_all()?
            .into_iter()
            .filter(|r| r.epoch == epoch)
            .collect())
    }

    /// Every record under this config, by (epoch, task).
    pub fn read_all(&self) -> Result<Vec<RungRecord>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("listing rung records", &self.dir, e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io("listing rung records", &self.dir, e))?;
            let name = entry.file_name();
            let Some((epoch, task)) = name.to_str().and_then(parse_name) else {
                continue;
            };
            if let Err(why) = self.accepts(&name.to_string_lossy(), epoch, task) {
                eprintln!("warning: ignoring {}: {why}", entry.path().display());
                continue;
            }
            match read_record(&entry.path()) {
                Ok(Some(r))
                    if r.config_sha256 == self.config_sha256
                        && (r.epoch, r.task) == (epoch, task) =>
                {
                    out.push(r)
                }
                Ok(_) => {}
                Err(e) => eprintln!("warning: skipping a rung record: {e}"),
            }
        }
        out.sort_by_key(|r| (r.epoch, r.task));
        Ok(out)
    }

    /// Whether a file named `name`, of `task` at `epoch`, is one this array's
    /// readers count; the reason when not.
    fn accepts(&self, name: &str, epoch: u32, task: u32) -> std::result::Result<(), String> {
        let canonical = file_name(epoch, task);
        if name != canonical {
            return Err(format!(
                "not a rung record's own name (task {task}'s record at epoch {epoch} is {canonical})"
            ));
        }
        if self.tasks.binary_search(&task).is_err() {
            return Err(format!(
                "task {task} is not one of the array's tasks ({}), so its record is not compared",
                describe(&self.tasks)
            ));
        }
        Ok(())
    }
}

/// `1-12` for a run of ids, else the ids (the first few).
fn describe(tasks: &[u32]) -> String {
    match (tasks.first(), tasks.last()) {
        (None, _) | (_, None) => "none".into(),
        (Some(a), Some(b)) if (b - a) as usize + 1 == tasks.len() => format!("{a}-{b}"),
        _ => {
            let mut s: Vec<String> = tasks.iter().take(8).map(u32::to_string).collect();
            if tasks.len() > 8 {
                s.push("…".into());
            }
            s.join(",")
        }
    }
}

/// A record file, or `None` when there is none.
fn read_record(path: &Path) -> Result<Option<RungRecord>> {
    let Some(text) = read_bounded(path, RUNG)? else {
        return Ok(None);
    };
    serde_json::from_str(&text).map(Some).map_err(|e| {
        Error::Data(format!(
            "{}: not a rung record ({e}); remove it if it is not hecjob's",
            path.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_temp_files_are_not_records() {
        assert_eq!(parse_name(&file_name(3, 17)), Some((3, 17)));
        assert_eq!(parse_name(".hecjob-tmp-abc"), None);
        assert_eq!(parse_name("rung-1.task-x.json"), None);
    }

    #[test]
    fn array_tasks_are_described_as_a_range_or_a_list() {
        assert_eq!(describe(&[1, 2, 3]), "1-3");
        assert_eq!(describe(&[2, 5]), "2,5");
        assert_eq!(describe(&[]), "none");
    }
}
