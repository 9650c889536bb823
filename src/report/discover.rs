//! Which kind of directory `hecjob report DIR` was given, and where each sweep
//! task's `metrics.json` is expected.
//!
//! Four layouts are accepted, tried in this order:
//! 1. a rendered jobs directory (`tasks.json`, maybe `submission.json`): the task
//!    list is authoritative, so tasks that never wrote metrics still get a row;
//! 2. an output root with `task-<N>/` directories;
//! 3. a single task directory holding `metrics.json`;
//! 4. a folder of runs: any subdirectories holding `metrics.json` (runs made
//!    with the tutorial interface, `hecjob train … models/run-a`), each named
//!    by its folder.
//!
//! Several directories ([`discover_many`]) are runs side by side: each is a run
//! or a folder of runs (any layout above), every run named by its folder.

use crate::jobdir::metrics::RunMetrics;
use crate::jobdir::{parse_task_dir_name, TasksFile, METRICS_FILE, SUBMISSION_FILE, TASKS_FILE};
use crate::util::error::{Error, Result};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    JobsDir,
    OutputRoot,
    TaskDir,
    /// Runs named by their folders (a folder of runs, or several directories).
    Runs,
}

/// One sweep task as discovered, before its metrics are read.
#[derive(Debug, Clone)]
pub struct TaskSource {
    pub id: u32,
    /// The run's folder name, for runs that are not sweep tasks.
    pub name: Option<String>,
    /// Swept values from tasks.json; empty for the other layouts (filled from metrics).
    pub swept: Map<String, Value>,
    /// The task's output directory, when it could be resolved.
    pub dir: Option<PathBuf>,
    /// Why `dir` could not be resolved (e.g. an unset variable in `output_dir`).
    pub problem: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Discovered {
    pub layout: Layout,
    pub experiment: Option<String>,
    pub tasks: Vec<TaskSource>,
    /// The scheduler's job ids of the train array job and of each
    /// `hecjob resubmit` after it, in submission order (from submission.json).
    pub train_job_ids: Vec<u64>,
}

/// What reading one `metrics.json` gave.
#[derive(Debug, Clone)]
pub enum Loaded {
    Metrics(Box<RunMetrics>),
    /// No metrics.json (yet).
    Absent,
    /// Present but not a RunMetrics; the reason says why.
    Unreadable(String),
}

pub fn discover(dir: &Path) -> Result<Discovered> {
    if !dir.is_dir() {
        return Err(Error::Usage(format!(
            "report: {} is not a directory",
            dir.display()
        )));
    }
    let tasks_json = dir.join(TASKS_FILE);
    if tasks_json.is_file() {
        return discover_jobs_dir(dir, &tasks_json);
    }
    let task_dirs = task_subdirs(dir)?;
    if !task_dirs.is_empty() {
        return Ok(Discovered {
            layout: Layout::OutputRoot,
            experiment: None,
            tasks: task_dirs
                .into_iter()
                .map(|(id, d)| TaskSource {
                    id,
                    name: None,
                    swept: Map::new(),
                    dir: Some(d),
                    problem: None,
                })
                .collect(),
            train_job_ids: Vec::new(),
        });
    }
    if dir.join(METRICS_FILE).is_file() {
        // The id comes from metrics.json when it says; the directory name otherwise.
        let id = dir
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(parse_task_dir_name)
            .unwrap_or(1);
        return Ok(Discovered {
            layout: Layout::TaskDir,
            experiment: None,
            tasks: vec![TaskSource {
                id,
                name: None,
                swept: Map::new(),
                dir: Some(dir.to_path_buf()),
                problem: None,
            }],
            train_job_ids: Vec::new(),
        });
    }
    let runs = run_subdirs(dir)?;
    if !runs.is_empty() {
        return Ok(Discovered {
            layout: Layout::Runs,
            experiment: None,
            tasks: named(runs),
            train_job_ids: Vec::new(),
        });
    }
    Err(Error::Usage(format!(
        "report: {} is none of: a jobs directory (no tasks.json), an output root \
         (no task-<N>/ directories), a run directory (no metrics.json), a folder of runs \
         (no subdirectory holds a metrics.json). Give the directory that `hecjob train` \
         wrote to, or the folder holding such directories.",
        dir.display()
    )))
}

/// Several directories, each a run or a folder of runs: one report over all
/// their runs, ids 1.. in the order given, each named by its folder (with its
/// parent's name too where two folders share a name).
pub fn discover_many(dirs: &[PathBuf]) -> Result<Discovered> {
    if let [one] = dirs {
        return discover(one);
    }
    let mut runs: Vec<PathBuf> = Vec::new();
    for d in dirs {
        let found = discover(d)?;
        runs.extend(found.tasks.into_iter().filter_map(|t| t.dir));
    }
    Ok(Discovered {
        layout: Layout::Runs,
        experiment: None,
        tasks: named(runs),
        train_job_ids: Vec::new(),
    })
}

fn folder_name(p: &Path, with_parent: bool) -> String {
    let name = |p: &Path| {
        p.file_name().map_or_else(
            || p.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    };
    match (with_parent, p.parent()) {
        (true, Some(parent)) if parent.file_name().is_some() => {
            format!("{}/{}", name(parent), name(p))
        }
        _ => name(p),
    }
}

fn named(dirs: Vec<PathBuf>) -> Vec<TaskSource> {
    let short: Vec<String> = dirs.iter().map(|d| folder_name(d, false)).collect();
    dirs.iter()
        .enumerate()
        .map(|(i, d)| {
            let clash = short.iter().filter(|s| **s == short[i]).count() > 1;
            TaskSource {
                id: i as u32 + 1,
                name: Some(folder_name(d, clash)),
                swept: Map::new(),
                dir: Some(d.clone()),
                problem: None,
            }
        })
        .collect()
}

/// Subdirectories holding a metrics.json, sorted by name.
fn run_subdirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("listing", dir, e))?;
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("listing", dir, e))?;
        let p = entry.path();
        if p.is_dir() && p.join(METRICS_FILE).is_file() {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}

fn discover_jobs_dir(dir: &Path, tasks_json: &Path) -> Result<Discovered> {
    let file = TasksFile::read(tasks_json)?;
    let tasks = file
        .tasks
        .into_iter()
        .map(
            |t| match expand_vars(&t.output_dir, crate::util::env_vars::get) {
                Ok(p) => TaskSource {
                    id: t.id,
                    name: None,
                    swept: t.swept,
                    dir: Some(resolve_relative(dir, Path::new(&p))),
                    problem: None,
                },
                Err(e) => TaskSource {
                    id: t.id,
                    name: None,
                    swept: t.swept,
                    dir: None,
                    problem: Some(e),
                },
            },
        )
        .collect();
    Ok(Discovered {
        layout: Layout::JobsDir,
        experiment: file.experiment,
        tasks,
        train_job_ids: read_train_job_ids(&dir.join(SUBMISSION_FILE))?,
    })
}

/// A relative `output_dir` is taken from the current directory (where the job
/// scripts were rendered and run from); failing that, from the jobs directory.
fn resolve_relative(jobs_dir: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() || p.exists() {
        return p.to_path_buf();
    }
    let beside = jobs_dir.join(p);
    if beside.exists() {
        beside
    } else {
        p.to_path_buf()
    }
}

/// The scheduler a job directory was submitted to (`sge`, `slurm`), from its
/// submission.json; `None` when there is none or it cannot be read.
pub fn submitted_to(dir: &Path) -> Option<String> {
    let path = dir.join(SUBMISSION_FILE);
    if !path.is_file() {
        return None;
    }
    crate::jobdir::SubmissionRecord::load(&path)
        .ok()
        .map(|r| r.executor)
}

/// The train jobs' ids from submission.json (written by `hecjob submit`,
/// extended by `hecjob resubmit`); empty when not submitted.
fn read_train_job_ids(path: &Path) -> Result<Vec<u64>> {
    if !path.is_file() {
        return Ok(Vec::new());
    }
    let record = crate::jobdir::SubmissionRecord::load(path)?;
    let train = crate::jobdir::JobKind::Train.as_str();
    Ok(record
        .jobs
        .iter()
        .filter(|j| j.stage == train)
        .map(|j| j.id.number)
        .collect())
}

/// `task-<N>` subdirectories, sorted by N.
fn task_subdirs(dir: &Path) -> Result<Vec<(u32, PathBuf)>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("listing", dir, e))?;
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("listing", dir, e))?;
        let name = entry.file_name();
        if let Some(id) = name.to_str().and_then(parse_task_dir_name) {
            if entry.path().is_dir() {
                out.push((id, entry.path()));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Expand `$VAR` and `${VAR}` references. An unset variable is an error that
/// names it, so the row says why its metrics cannot be found.
pub fn expand_vars(s: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let (name, tail) = if let Some(braced) = after.strip_prefix('{') {
            let end = braced
                .find('}')
                .ok_or_else(|| format!("unclosed ${{ in output_dir {s:?}"))?;
            (&braced[..end], &braced[end + 1..])
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        if name.is_empty() {
            // A lone `$` is kept literally.
            out.push('$');
            rest = after;
            continue;
        }
        let value = lookup(name).ok_or_else(|| {
            format!("output_dir {s:?} uses ${name}, which is not set in this environment")
        })?;
        out.push_str(&value);
        rest = tail;
    }
    out.push_str(rest);
    Ok(out)
}

/// Read one task's metrics.json. Never fails: an unreadable file is a row state.
pub fn load_metrics(task_dir: &Path) -> Loaded {
    match RunMetrics::read(task_dir) {
        None => Loaded::Absent,
        Some(Ok(m)) => Loaded::Metrics(Box::new(m)),
        Some(Err(e)) => Loaded::Unreadable(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(k: &str) -> Option<String> {
        match k {
            "global_storage" => Some("/gs/u".into()),
            "HOME" => Some("/home/u".into()),
            _ => None,
        }
    }

    #[test]
    fn expands_both_forms_anywhere() {
        assert_eq!(
            expand_vars("$global_storage/models/x/task-1", env).unwrap(),
            "/gs/u/models/x/task-1"
        );
        assert_eq!(
            expand_vars("${HOME}/a$HOME", env).unwrap(),
            "/home/u/a/home/u"
        );
        assert_eq!(expand_vars("plain/dir", env).unwrap(), "plain/dir");
        assert_eq!(expand_vars("cost$", env).unwrap(), "cost$");
    }

    #[test]
    fn unset_variable_is_named() {
        let e = expand_vars("$nope/task-1", env).unwrap_err();
        assert!(e.contains("$nope"), "{e}");
        assert!(expand_vars("${HOME", env).is_err());
    }

    #[test]
    fn task_dir_names() {
        assert_eq!(parse_task_dir_name("task-12"), Some(12));
        assert_eq!(parse_task_dir_name("task-x"), None);
        assert_eq!(parse_task_dir_name("report"), None);
    }
}
