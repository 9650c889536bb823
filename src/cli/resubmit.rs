//! `hecjob resubmit [RUN]`: run again the train tasks that did not finish,
//! each resuming its checkpoint, with the requests their stop called for
//! (`experiment::resubmit` decides; the scheduler's dialect rewrites its own
//! directives). The resubmitted jobs join the run's submission.json, so
//! `status` shows every attempt. As round K of `submit --retries N`, it queues
//! what follows the round; with `--then-predict`, the round that ends the
//! retries also queues the predict stage (predict after the jobs still to
//! end, merge after it), once: the record is read and written under
//! `RESUBMIT_LOCK`, and a record that holds a predict job gets no other.

use super::status::{load_record, newest_record};
use crate::experiment::config::{Config, MAX_RETRIES};
use crate::experiment::resubmit::{plan, Attempt, Plan, Requests, TaskFacts};
use crate::jobdir::job_id::TaskRange;
use crate::jobdir::submission::{JobRequests, SubmissionRecord, SubmittedJob};
use crate::jobdir::JobKind;
use crate::scheduler::backend::JobRequest;
use crate::scheduler::status::{JobStatus, TaskState, TrackedJob};
use crate::scheduler::submission::{submit_after_chain, submit_chain, StageJob};
use crate::scheduler::{Purpose, SchedulerKind};
use crate::util::error::{Error, Result};
use crate::util::run_lock::FileLock;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct ResubmitArgs {
    /// The job directory or its submission.json (default: the newest under jobs/).
    pub run: Option<PathBuf>,
    /// Print what would be resubmitted, with which requests and why; submit nothing.
    #[arg(long, conflicts_with = "retry_round")]
    pub dry_run: bool,
    /// Run as round K of `submit --retries N` (the retry job passes both):
    /// wait for accounting to settle, resubmit, then queue round K+1 after the
    /// resubmitted jobs while rounds are left. The last line says what was done
    /// or why the retries stop.
    #[arg(long, value_name = "K", requires = "retries",
          value_parser = clap::value_parser!(u32).range(1..=MAX_RETRIES as i64))]
    pub retry_round: Option<u32>,
    /// The rounds `submit --retries N` asked for (with --retry-round).
    #[arg(long, value_name = "N", requires = "retry_round",
          value_parser = clap::value_parser!(u32).range(1..=MAX_RETRIES as i64))]
    pub retries: Option<u32>,
    /// With --retry-round: when the retries stop (the last round, or a round
    /// that resubmits nothing), queue the predict stage, predict after the
    /// jobs still to end and merge after it (`submit` leaves it to the retry
    /// job when the config has a `predict:` section).
    #[arg(long, requires = "retry_round")]
    pub then_predict: bool,
}

/// The flag `submit` passes the retry job, and each round the next.
pub const THEN_PREDICT: &str = "--then-predict";

/// The lock a resubmission holds in the job directory, so that a retry job
/// and a person resubmitting at once cannot both queue the same tasks.
const RESUBMIT_LOCK: &str = ".hecjob-resubmit.lock";

/// How long a retry job waits for accounting to record the tasks it follows
/// as ended (the scheduler starts it at once; accounting lags a little).
const SETTLE: std::time::Duration = std::time::Duration::from_secs(180);

/// `--retry-round K --retries N`, when given.
#[derive(Debug, Clone, Copy)]
struct Round {
    this: u32,
    of: u32,
    /// Queue the predict stage when the retries stop (--then-predict).
    predict: bool,
}

pub fn run_resubmit(a: &ResubmitArgs) -> Result<()> {
    let path = match &a.run {
        Some(p) => p.clone(),
        None => newest_record()?,
    };
    let job_dir = if path.is_dir() {
        path.clone()
    } else {
        path.parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    };
    let round = a.retry_round.zip(a.retries).map(|(this, of)| Round {
        this,
        of,
        predict: a.then_predict,
    });
    let _lock = if a.dry_run {
        None
    } else {
        Some(FileLock::wait(
            &job_dir.join(RESUBMIT_LOCK),
            "another `hecjob resubmit` of this run",
        )?)
    };
    // Read under the lock: a resubmission that held it has appended its jobs.
    let (record, kind) = load_record(&path)?;
    let config = crate::experiment::config::load(Some(&job_dir.join("config.yaml")))?.config;
    let train_jobs: Vec<&SubmittedJob> =
        record.jobs.iter().filter(|j| j.stage == "train").collect();
    if train_jobs.is_empty() {
        return Err(Error::Usage(format!(
            "{}: no train job in this submission",
            path.display()
        )));
    }
    let (requests, current, limits) = train_requests(&config, &train_jobs);
    let tracked: Vec<TrackedJob> = train_jobs
        .iter()
        .map(|j| TrackedJob {
            stage: j.stage.clone(),
            name: j.name.clone(),
            id: j.id,
        })
        .collect();
    // Failing, the retries stop unknowing; the jobs this retry job was
    // held on have ended, so the predict stage may start now.
    let queried = query(kind, &tracked, round.is_some());
    let mut st = stop_on_error(queried, round, kind, &job_dir, &record, &[])?;
    crate::report::status_view::refine_causes(&job_dir, &mut st);
    let (facts, waiting, finished) = task_facts(&job_dir, &st, &requests);
    let p = plan(&facts, current, limits);
    print_plan(&p, &waiting);
    if p.tasks.is_empty() {
        println!("nothing to resubmit");
        if let Some(r) = round {
            println!("{}", stopped_line(r, &p, &waiting, finished));
            if r.predict {
                // After the train jobs still queued or running, if any.
                stopped_then_predict(kind, &job_dir, record, &unended(&st))?;
            }
        }
        return Ok(());
    }
    if let Some(r) = round.filter(|_| !waiting.is_empty()) {
        println!("{}", still_waiting(r, &waiting));
    }
    // The rendered script: each resubmission rewrites its directives afresh.
    let script = job_dir.join(&train_jobs[0].script);
    let submitted = submit_ranges(kind, &job_dir, &script, &p, a.dry_run);
    let submitted = stop_on_error(submitted, round, kind, &job_dir, &record, &unended(&st))?;
    if a.dry_run {
        return Ok(());
    }
    record_jobs(kind, &job_dir, round, record, submitted, &unended(&st))
}

/// Append the resubmitted jobs to the record and, in a retry round, queue
/// what follows them (the next round, or the notify job, and the predict
/// stage when the retries stop: after them and the `unended` jobs, whose
/// tasks were left alone), recording that too; the record is written also
/// when queueing the follower fails.
fn record_jobs(
    kind: SchedulerKind,
    job_dir: &Path,
    round: Option<Round>,
    mut record: SubmissionRecord,
    submitted: Vec<SubmittedJob>,
    unended: &[u64],
) -> Result<()> {
    let new_ids: Vec<u64> = submitted.iter().map(|j| j.id.number).collect();
    record.jobs.extend(submitted);
    if let Some(r) = round {
        let followed = follow_round(kind, job_dir, r, &new_ids);
        let next_queued = match &followed {
            Ok((jobs, line)) => {
                record.jobs.extend(jobs.iter().cloned());
                println!("{line}");
                r.this < r.of
            }
            Err(_) => false,
        };
        // No next round: the retries stop with the jobs just resubmitted.
        let predicted = if r.predict && !next_queued {
            let mut hold = unended.to_vec();
            hold.extend(&new_ids);
            predict_when_stopped(kind, job_dir, &mut record, &hold)
        } else {
            Ok(())
        };
        if followed.is_err() || predicted.is_err() {
            record.write(job_dir)?;
            followed?;
            predicted?;
        }
    }
    record.write(job_dir)?;
    println!(
        "follow with: hecjob status {}",
        crate::util::shell::quote(&job_dir.display().to_string())
    );
    Ok(())
}

/// What each train job asked for (a resubmission recorded its own; the
/// others asked for what the config says), what the newest asked for, and
/// `cluster.limits`.
fn train_requests(
    config: &Config,
    train_jobs: &[&SubmittedJob],
) -> (BTreeMap<u64, Requests>, Requests, Requests) {
    let train = &config.cluster.jobs.train;
    let configured = Requests {
        memory: train.h_vmem.as_ref().map(|m| m.bytes()),
        time: train.h_rt.as_ref().map(|t| t.secs()),
    };
    let limits = Requests {
        memory: config.cluster.limits.max_memory.as_ref().map(|m| m.bytes()),
        time: config.cluster.limits.max_time.as_ref().map(|t| t.secs()),
    };
    let requests: BTreeMap<u64, Requests> = train_jobs
        .iter()
        .map(|j| {
            let r = j.requests.map_or(configured, |r| Requests {
                memory: r.memory_bytes,
                time: r.time_s,
            });
            (j.id.number, r)
        })
        .collect();
    let newest = train_jobs
        .last()
        .map_or(configured, |j| requests[&j.id.number]);
    (requests, newest, limits)
}

/// The train jobs' status; for a retry round (`settle`), once accounting
/// records every task as ended, or after [`SETTLE`].
fn query(kind: SchedulerKind, tracked: &[TrackedJob], settle: bool) -> Result<Vec<JobStatus>> {
    let mut sched = crate::scheduler::open(kind, Purpose::Query)?;
    let mut st = crate::scheduler::status::query(sched.as_mut(), tracked)?;
    let deadline = std::time::Instant::now() + SETTLE;
    while settle
        && st
            .iter()
            .flat_map(|j| &j.tasks)
            .any(|t| !t.state.is_finished())
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_secs(5));
        st = crate::scheduler::status::query(sched.as_mut(), tracked)?;
    }
    Ok(st)
}

/// After round `r` resubmitted `new_ids`: queue the next round's retry job
/// after them, or on the last round the notify job (Slurm with
/// `cluster.notify`), so the mail comes once every retry has ended.
fn follow_round(
    kind: SchedulerKind,
    job_dir: &Path,
    r: Round,
    new_ids: &[u64],
) -> Result<(Vec<SubmittedJob>, String)> {
    let dialect = kind.dialect();
    let mut sched = crate::scheduler::open(kind, Purpose::Submit)?;
    let (stage, args, what) = if r.this < r.of {
        let next = r.this + 1;
        let mut args = vec![next.to_string()];
        args.extend(r.predict.then(|| THEN_PREDICT.to_string()));
        (
            JobKind::Retry,
            args,
            format!("round {next} queued after them"),
        )
    } else if job_dir.join(JobKind::Notify.script()).exists() {
        (
            JobKind::Notify,
            vec![new_ids.last().expect("a resubmitted job").to_string()],
            "that was the last round; the notify job mails once they end".to_string(),
        )
    } else {
        return Ok((
            Vec::new(),
            format!(
                "hecjob retries: round {} of {} (the last): resubmitted as job {}",
                r.this,
                r.of,
                list64(new_ids)
            ),
        ));
    };
    let mut req = JobRequest::new(stage.script(), job_dir);
    req.options = dialect.after_any(new_ids);
    req.args = args;
    let mut job = submit_after_chain(sched.as_mut(), stage.as_str(), &req, &[])
        .map_err(|e| Error::Scheduler(format!("queueing the job after round {}: {e}", r.this)))?;
    job.hold = new_ids.to_vec();
    let line = format!(
        "hecjob retries: round {} of {}: resubmitted as job {}; {what} (job {})",
        r.this,
        r.of,
        list64(new_ids),
        job.id.number
    );
    Ok((vec![job], line))
}

/// The train jobs of `st` with a task not yet ended.
fn unended(st: &[JobStatus]) -> Vec<u64> {
    st.iter()
        .filter(|j| j.tasks.iter().any(|t| !t.state.is_finished()))
        .map(|j| j.id.number)
        .collect()
}

/// `result`; an error in a round with the predict stage to queue stops the
/// retries there, so the stage is queued after `hold` (a failure to is
/// printed: the round's own error is the one returned).
fn stop_on_error<T>(
    result: Result<T>,
    round: Option<Round>,
    kind: SchedulerKind,
    job_dir: &Path,
    record: &SubmissionRecord,
    hold: &[u64],
) -> Result<T> {
    if result.is_err() && round.is_some_and(|r| r.predict) {
        if let Err(e) = stopped_then_predict(kind, job_dir, record.clone(), hold) {
            eprintln!("error: {e}");
        }
    }
    result
}

/// [`predict_when_stopped`], then write the record, also when queueing failed.
fn stopped_then_predict(
    kind: SchedulerKind,
    job_dir: &Path,
    mut record: SubmissionRecord,
    hold: &[u64],
) -> Result<()> {
    let queued = predict_when_stopped(kind, job_dir, &mut record, hold);
    record.write(job_dir)?;
    queued
}

/// The retries stop: queue the predict stage (`--then-predict`), predict
/// after `hold` however those end (none: right away) and merge after it, and
/// add both to `record`. Once only: a record that holds a predict job
/// already (another run of this round queued it) is left as it is.
fn predict_when_stopped(
    kind: SchedulerKind,
    job_dir: &Path,
    record: &mut SubmissionRecord,
    hold: &[u64],
) -> Result<()> {
    if let Some(p) = record.job(JobKind::Predict) {
        println!(
            "hecjob retries: the predict stage was queued already (job {})",
            p.id.number
        );
        return Ok(());
    }
    let stage = |job: JobKind, options: Vec<String>| StageJob {
        stage: job.as_str().into(),
        script: job_dir.join(job.script()),
        verify: true,
        options,
        after_any: false,
    };
    let options = if hold.is_empty() {
        Vec::new()
    } else {
        kind.dialect().after_any(hold)
    };
    let stages = [
        stage(JobKind::Predict, options),
        stage(JobKind::Merge, Vec::new()),
    ];
    let mut sched = crate::scheduler::open(kind, Purpose::Submit)?;
    let mut jobs = submit_chain(sched.as_mut(), job_dir, &stages).map_err(|e| match e {
        Error::Scheduler(m) => Error::Scheduler(format!("queueing the predict stage: {m}")),
        other => other,
    })?;
    jobs[0].hold = hold.to_vec();
    println!(
        "hecjob retries: predict queued as job {} {}; merge as job {} after it",
        jobs[0].id.number,
        if hold.is_empty() {
            "to start now".to_string()
        } else {
            format!("after job {}", list64(hold))
        },
        jobs[1].id.number
    );
    record.jobs.extend(jobs);
    Ok(())
}

/// Why a round resubmits some tasks and not `waiting`: their jobs have not
/// ended, so another round would resubmit none of them, and they may yet
/// finish; a person decides.
fn still_waiting(r: Round, waiting: &[u32]) -> String {
    format!(
        "hecjob retries: round {} of {}: tasks {} still queued or running after {} s; \
         resubmitting the others",
        r.this,
        r.of,
        list(waiting),
        SETTLE.as_secs()
    )
}

/// The retry job's last line when it resubmits nothing: why the retries stop
/// (the notify mail carries it).
fn stopped_line(r: Round, p: &Plan, waiting: &[u32], finished: usize) -> String {
    let mut why = Vec::new();
    if p.skipped.is_empty() && waiting.is_empty() {
        why.push(format!("every task finished ({finished})"));
    } else if finished > 0 {
        why.push(format!("{finished} task(s) finished"));
    }
    for (task, reason) in &p.skipped {
        why.push(format!("task {task} not retried: {reason}"));
    }
    if !waiting.is_empty() {
        why.push(format!("tasks {} still queued or running", list(waiting)));
    }
    format!(
        "hecjob retries: stopped at round {} of {}: {}",
        r.this,
        r.of,
        why.join("; ")
    )
}

/// Each train task's runs across the record's train jobs, oldest first, as
/// facts for the plan (each run with its job's requests); the tasks still
/// queued or running, which are left alone; and how many tasks finished.
fn task_facts(
    job_dir: &Path,
    st: &[JobStatus],
    requests: &BTreeMap<u64, Requests>,
) -> (Vec<TaskFacts>, Vec<u32>, usize) {
    let mut latest: BTreeMap<u32, TaskFacts> = BTreeMap::new();
    let mut state: BTreeMap<u32, TaskState> = BTreeMap::new();
    for job in st {
        let asked = requests.get(&job.id.number).copied().unwrap_or_default();
        for t in &job.tasks {
            let id = t.task.unwrap_or(1);
            state.insert(id, t.state);
            let entry = latest.entry(id).or_insert_with(|| TaskFacts {
                task: id,
                attempts: Vec::new(),
                peak_memory: None,
                seconds_left: None,
            });
            entry
                .attempts
                .extend(t.attempts.iter().map(|&cause| Attempt {
                    cause,
                    requests: asked,
                }));
            if let Some(run) = &t.last_run {
                entry.peak_memory = run.maxvmem_bytes.or(run.max_rss_bytes);
            }
        }
    }
    let found = crate::report::discover::discover(job_dir).ok();
    let mut facts = Vec::new();
    let mut waiting = Vec::new();
    let mut finished = 0;
    for (id, mut f) in latest {
        match state[&id] {
            TaskState::Failed => {}
            TaskState::Done => {
                finished += 1;
                continue;
            }
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
    (facts, waiting, finished)
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

fn list64(ids: &[u64]) -> String {
    ids.iter()
        .map(u64::to_string)
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
) -> Result<Vec<SubmittedJob>> {
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
            after_any: false,
        };
        let mut jobs = submit_chain(sched.as_mut(), job_dir, &[stage])?;
        for j in &mut jobs {
            println!("submitted {} as job {}", name, j.id.number);
            j.requests = Some(JobRequests {
                memory_bytes: p.requests.memory,
                time_s: p.requests.time,
            });
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
