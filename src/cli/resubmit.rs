//! `hecjob resubmit [RUN]`: run again the train tasks that did not finish,
//! each resuming its checkpoint, with the requests their stop called for
//! (`experiment::resubmit` decides; the scheduler's dialect rewrites its own
//! directives). The resubmitted jobs join the run's submission.json, so
//! `status` shows every attempt.

use super::status::{load_record, newest_record};
use crate::experiment::resubmit::{plan, Plan, Requests, TaskFacts};
use crate::jobdir::job_id::TaskRange;
use crate::scheduler::status::{JobStatus, TaskState, TrackedJob};
use crate::scheduler::submission::{submit_chain, StageJob};
use crate::scheduler::{Purpose, SchedulerKind};
use crate::util::error::{Error, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct ResubmitArgs {
    /// The job directory or its submission.json (default: the newest under jobs/).
    pub run: Option<PathBuf>,
    /// Print what would be resubmitted, with which requests and why; submit nothing.
    #[arg(long)]
    pub dry_run: bool,
}

pub fn run_resubmit(a: &ResubmitArgs) -> Result<()> {
    let path = match &a.run {
        Some(p) => p.clone(),
        None => newest_record()?,
    };
    let (mut record, kind) = load_record(&path)?;
    let job_dir = if path.is_dir() {
        path.clone()
    } else {
        path.parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    };
    let config = crate::experiment::config::load(Some(&job_dir.join("config.yaml")))?.config;
    let train = &config.cluster.jobs.train;
    let current = Requests {
        memory: train.h_vmem.as_ref().map(|m| m.bytes()),
        time: train.h_rt.as_ref().map(|t| t.secs()),
    };
    let limits = Requests {
        memory: config.cluster.limits.max_memory.as_ref().map(|m| m.bytes()),
        time: config.cluster.limits.max_time.as_ref().map(|t| t.secs()),
    };
    let mut sched = crate::scheduler::open(kind, Purpose::Query)?;
    let tracked: Vec<TrackedJob> = record
        .jobs
        .iter()
        .filter(|j| j.stage == "train")
        .map(|j| TrackedJob {
            stage: j.stage.clone(),
            name: j.name.clone(),
            id: j.id,
        })
        .collect();
    if tracked.is_empty() {
        return Err(Error::Usage(format!(
            "{}: no train job in this submission",
            path.display()
        )));
    }
    let mut st = crate::scheduler::status::query(sched.as_mut(), &tracked)?;
    crate::report::status_view::refine_causes(&job_dir, &mut st);
    let (facts, waiting) = task_facts(&job_dir, &st);
    let p = plan(&facts, current, limits);
    print_plan(&p, &waiting);
    if p.tasks.is_empty() {
        println!("nothing to resubmit");
        return Ok(());
    }
    let script = job_dir.join(
        &record
            .jobs
            .iter()
            .find(|j| j.stage == "train")
            .unwrap()
            .script,
    );
    let submitted = submit_ranges(kind, &job_dir, &script, &p, a.dry_run)?;
    if !a.dry_run {
        record.jobs.extend(submitted);
        record.write(&job_dir)?;
        println!(
            "follow with: hecjob status {}",
            crate::util::shell::quote(&job_dir.display().to_string())
        );
    }
    Ok(())
}

/// Each train task's latest state across the record's train jobs (a later
/// job's run of a task supersedes an earlier one's), as facts for the plan;
/// and the tasks still queued or running, which are left alone.
fn task_facts(job_dir: &Path, st: &[JobStatus]) -> (Vec<TaskFacts>, Vec<u32>) {
    let mut latest: BTreeMap<u32, TaskFacts> = BTreeMap::new();
    let mut state: BTreeMap<u32, TaskState> = BTreeMap::new();
    for job in st {
        for t in &job.tasks {
            let id = t.task.unwrap_or(1);
            state.insert(id, t.state);
            let entry = latest.entry(id).or_insert_with(|| TaskFacts {
                task: id,
                attempts: Vec::new(),
                peak_memory: None,
                seconds_left: None,
            });
            entry.attempts.extend(t.attempts.iter().copied());
            if let Some(run) = &t.last_run {
                entry.peak_memory = run.maxvmem_bytes.or(run.max_rss_bytes);
            }
        }
    }
    let found = crate::report::discover::discover(job_dir).ok();
    let mut facts = Vec::new();
    let mut waiting = Vec::new();
    for (id, mut f) in latest {
        match state[&id] {
            TaskState::Failed => {}
            TaskState::Done => continue,
            _ => {
                waiting.push(id);
                continue;
            }
        }
        let dir = found
            .as_ref()
            .and_then(|d| d.tasks.iter().find(|t| t.id == id))
            .and_then(|t| t.dir.clone());
        f.seconds_left = dir
            .and_then(|d| crate::jobdir::progress::read(&d))
            .and_then(|p| p.ok())
            .and_then(|p| p.eta_seconds);
        facts.push(f);
    }
    (facts, waiting)
}

fn print_plan(p: &Plan, waiting: &[u32]) {
    for (task, why) in &p.skipped {
        println!("task {task}: not resubmitted: {why}");
    }
    if !waiting.is_empty() {
        println!(
            "tasks {}: still queued or running, left alone",
            list(waiting)
        );
    }
    if !p.tasks.is_empty() {
        println!("resubmitting tasks {}", list(&p.tasks));
    }
    for c in &p.changes {
        println!("  {c}");
    }
    if !p.tasks.is_empty() && p.changes.is_empty() {
        println!("  requests unchanged (each task resumes its checkpoint)");
    }
}

fn list(ids: &[u32]) -> String {
    ids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The tasks as ranges a scheduler takes (`a-b:s`): the whole set when its
/// ids are evenly spaced, else each run of consecutive ids.
pub fn ranges(tasks: &[u32]) -> Vec<TaskRange> {
    let step = match tasks {
        [a, b, ..] => b - a,
        _ => 1,
    };
    let even = step > 0 && tasks.windows(2).all(|w| w[1] - w[0] == step);
    if even {
        let (first, last) = (tasks[0], *tasks.last().unwrap());
        return vec![TaskRange::new(first, last, step.max(1)).expect("ids from a range")];
    }
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=tasks.len() {
        if i == tasks.len() || tasks[i] != tasks[i - 1] + 1 {
            out.push(TaskRange::new(tasks[start], tasks[i - 1], 1).expect("ids from a range"));
            start = i;
        }
    }
    out
}

/// Write `train.resubmit-N.com` per range (the rendered script with its
/// directives rewritten) and submit each; in a dry run, print them instead.
fn submit_ranges(
    kind: SchedulerKind,
    job_dir: &Path,
    script: &Path,
    p: &Plan,
    dry_run: bool,
) -> Result<Vec<crate::jobdir::submission::SubmittedJob>> {
    let text = crate::util::fsutil::read_to_string(script, "reading the train script")?;
    let dialect = kind.dialect();
    let purpose = if dry_run {
        Purpose::DryRun
    } else {
        Purpose::Submit
    };
    let mut sched = crate::scheduler::open(kind, purpose)?;
    let mut submitted = Vec::new();
    for range in ranges(&p.tasks) {
        let new = dialect
            .resubmit_script(&text, range, p.requests.memory, p.requests.time)
            .map_err(|e| Error::Data(format!("{}: {e}", script.display())))?;
        let name = next_script_name(job_dir);
        let path = job_dir.join(&name);
        if dry_run {
            println!("# {name}: {}", changed_lines(&text, &new).join("; "));
            continue;
        }
        crate::util::fsutil::write_atomic_executable(&path, new.as_bytes())?;
        let stage = StageJob {
            stage: "train".into(),
            script: path,
            verify: true,
            options: Vec::new(),
        };
        let jobs = submit_chain(sched.as_mut(), job_dir, &[stage])?;
        for j in &jobs {
            println!("submitted {} as job {}", name, j.id.number);
        }
        submitted.extend(jobs);
    }
    Ok(submitted)
}

/// `train.resubmit-N.com` for the first N not yet in `job_dir`.
fn next_script_name(job_dir: &Path) -> String {
    (1..)
        .map(|n| format!("train.resubmit-{n}.com"))
        .find(|name| !job_dir.join(name).exists())
        .expect("some number is free")
}

/// The lines of `new` that differ from `old`'s.
fn changed_lines(old: &str, new: &str) -> Vec<String> {
    old.lines()
        .zip(new.lines())
        .filter(|(a, b)| a != b)
        .map(|(_, b)| b.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evenly_spaced_tasks_are_one_range_and_others_are_runs() {
        let r = |v: &[u32]| {
            ranges(v)
                .iter()
                .map(|r| crate::scheduler::dialect::range_text(*r))
                .collect::<Vec<_>>()
        };
        assert_eq!(r(&[3, 7, 11]), ["3-11:4"]);
        assert_eq!(r(&[4]), ["4"]);
        assert_eq!(r(&[1, 2, 3]), ["1-3"]);
        assert_eq!(r(&[1, 2, 5, 9, 10]), ["1-2", "5", "9-10"]);
    }
}
