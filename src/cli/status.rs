//! `hecjob status`: the state of a submitted run, task by task, through the
//! scheduler seam (one queue query and one accounting call per refresh).

use crate::jobdir::{SubmissionRecord, SUBMISSION_FILE};
use crate::scheduler::backend::{RunRecord, StopCause};
use crate::scheduler::status::{JobStatus, TaskState, TaskStatus, TrackedJob};
use crate::scheduler::{Purpose, SchedulerKind};
use crate::util::error::{lit, Error, Result};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The job directory holding submission.json, or the file itself
    /// (default: the newest jobs/*/submission.json).
    pub run: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Refresh every SECS seconds until every task has finished.
    #[arg(long, value_name = "SECS")]
    pub watch: Option<u64>,
}

/// The newest `jobs/*/submission.json` under the current directory.
fn newest_record() -> Result<PathBuf> {
    let jobs = Path::new("jobs");
    let newest = std::fs::read_dir(jobs)
        .ok()
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .map(|e| e.path().join(SUBMISSION_FILE))
        .filter_map(|p| Some((p.metadata().ok()?.modified().ok()?, p)))
        .max();
    newest.map(|(_, p)| p).ok_or_else(|| {
        Error::Usage(
            "no jobs/*/submission.json here: pass the job directory that `hecjob submit` \
             printed (hecjob status jobs/<experiment>)"
                .into(),
        )
    })
}

/// Refreshes in a row in which the scheduler knows none of the run's tasks
/// before `--watch` gives up (accounting can lag one refresh, not three).
const UNKNOWN_ROUNDS: u32 = 3;

/// What `--watch` remembers between refreshes.
#[derive(Debug, Default)]
struct Watch {
    unknown_rounds: u32,
}

impl Watch {
    /// After one refresh: an error once every task has been unknown for
    /// [`UNKNOWN_ROUNDS`] refreshes in a row (it would never end otherwise).
    fn after(&mut self, st: &[JobStatus], record: &Path) -> Result<()> {
        let all_unknown = st
            .iter()
            .flat_map(|j| &j.tasks)
            .all(|t| t.state == TaskState::Unknown);
        self.unknown_rounds = if all_unknown {
            self.unknown_rounds + 1
        } else {
            0
        };
        if self.unknown_rounds < UNKNOWN_ROUNDS {
            return Ok(());
        }
        let ids: Vec<String> = st.iter().map(|j| j.id.number.to_string()).collect();
        Err(Error::Scheduler(format!(
            "{}: neither the queue nor accounting has listed job {} for {UNKNOWN_ROUNDS} \
             refreshes in a row, so the watch stops: the jobs may have ended longer ago than \
             accounting keeps, or belong to another cluster (run `hecjob status` there)",
            record.display(),
            ids.join(", ")
        )))
    }
}

pub fn run_status(a: &StatusArgs) -> Result<()> {
    if a.watch == Some(0) {
        return Err(Error::Usage(
            "--watch 0: the refresh interval is in seconds and must be at least 1 \
             (e.g. --watch 30)"
                .into(),
        ));
    }
    let path = match &a.run {
        Some(p) => p.clone(),
        None => newest_record()?,
    };
    let (record, kind) = load_record(&path)?;
    let mut sched = crate::scheduler::open(kind, Purpose::Query)?;
    let tracked: Vec<TrackedJob> = record
        .jobs
        .iter()
        .map(|j| TrackedJob {
            stage: j.stage.clone(),
            name: j.name.clone(),
            id: j.id,
        })
        .collect();
    crate::scheduler::status::check_walkable(&tracked)?;
    // Where the task list and rendered config are: progress and efficiency.
    let job_dir = if path.is_dir() {
        path.clone()
    } else {
        path.parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    };
    let mut watch = Watch::default();
    loop {
        let mut st = crate::scheduler::status::query(sched.as_mut(), &tracked)?;
        crate::report::status_view::refine_causes(&job_dir, &mut st);
        let note = sched.accounting_note();
        print_refresh(a, &path, kind, &job_dir, &st, note.as_deref())?;
        let done = settled(&st);
        if done
            && !a.json
            && st
                .iter()
                .flat_map(|j| &j.tasks)
                .any(|t| t.state == TaskState::Error)
        {
            println!(
                "a job is in error state and the jobs after it stay held: read its log in logs/, \
                 then `qmod -cj ID` to retry it or `qdel` the chain"
            );
        }
        match a.watch {
            Some(secs) if !done => {
                watch.after(&st, &path)?;
                std::thread::sleep(Duration::from_secs(secs));
            }
            _ => return Ok(()),
        }
    }
}

/// The submission record at `path` and the scheduler it was submitted to
/// (an error for a record no scheduler took).
fn load_record(path: &Path) -> Result<(SubmissionRecord, SchedulerKind)> {
    let record = SubmissionRecord::load(path)?;
    let Some(kind) = SchedulerKind::from_record(&record.executor) else {
        return Err(Error::Usage(format!(
            "{}: this record is from a `{}` submission; only Grid Engine and Slurm jobs have a status",
            path.display(),
            record.executor,
        )));
    };
    Ok((record, kind))
}

/// Print one refresh: JSON, or the table with its notes, progress and efficiency.
fn print_refresh(
    a: &StatusArgs,
    path: &Path,
    kind: SchedulerKind,
    job_dir: &Path,
    st: &[JobStatus],
    note: Option<&str>,
) -> Result<()> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    if a.json {
        let value = crate::report::status_view::json(job_dir, st, now);
        let json = serde_json::to_string_pretty(&value)
            .map_err(|e| Error::Internal(format!("serializing status: {e}")))?;
        println!("{json}");
        return Ok(());
    }
    if a.watch.is_some() {
        println!("--- {} ---", path.display());
    }
    print!("{}", table(st, Some(kind)));
    if let Some(n) = note {
        println!("note: {}", lit(n));
    }
    if let Some(why) = chain_broken_by(st) {
        println!("{}", lit(&why));
    }
    // Live progress of running train tasks, efficiency of finished ones.
    print!("{}", crate::report::status_view::text(job_dir, st, now));
    Ok(())
}

/// Whether nothing can move on by itself: every task finished, or held for a
/// reason other than a dependency. A job in error state (e.g. an install that
/// exited 100) keeps the jobs after it held forever.
fn settled(st: &[JobStatus]) -> bool {
    // A Slurm job waiting on its dependency (reason `Dependency`) starts by
    // itself once the job before it ends: held, but not settled.
    st.iter().flat_map(|j| &j.tasks).all(|t| match t.state {
        TaskState::Done | TaskState::Failed | TaskState::Error => true,
        TaskState::Held => t.reason.as_deref() != Some("Dependency"),
        _ => false,
    })
}

/// Grid Engine's view of these jobs: one qstat call, then qacct for the jobs
/// qstat no longer lists.
pub fn query(jobs: &[TrackedJob]) -> Result<Vec<JobStatus>> {
    let mut sge = crate::scheduler::open(SchedulerKind::Sge, Purpose::Query)?;
    crate::scheduler::status::query(sge.as_mut(), jobs)
}

/// When a stage failed and the stages after it never ran (Slurm cancels them:
/// `--kill-on-invalid-dep=yes`), say which one broke the chain and where its log is.
pub fn chain_broken_by(st: &[JobStatus]) -> Option<String> {
    let failed = st
        .iter()
        .position(|j| j.tasks.iter().any(|t| t.state == TaskState::Failed))?;
    let later: Vec<&str> = st[failed + 1..]
        .iter()
        .filter(|j| {
            j.tasks.iter().all(|t| {
                t.state == TaskState::Failed
                    && t.last_run
                        .as_ref()
                        .and_then(|r| r.failure.as_deref())
                        .is_some_and(|f| f.starts_with("CANCELLED"))
            })
        })
        .map(|j| j.stage.as_str())
        .collect();
    if later.is_empty() {
        return None;
    }
    let j = &st[failed];
    let why = j
        .tasks
        .iter()
        .find_map(|t| t.last_run.as_ref().and_then(|r| r.failure.clone()))
        .unwrap_or_else(|| "failed".into());
    Some(format!(
        "{} (job {}) failed: {why}; so {} never ran (cancelled by the scheduler). \
         Its log is in logs/{}.*; fix the cause and submit again.",
        j.stage,
        j.id.number,
        later.join(" and "),
        j.name
    ))
}

/// The status table: one row per job, or per task for array jobs. Its
/// columns are named neutrally (FAILURE, PEAK_MEM); a line below says which
/// of `scheduler`'s accounting fields they are (qacct's `maxvmem`, sacct's
/// `MaxRSS`), so a Slurm run is not labelled in Grid Engine's words.
pub fn table(st: &[JobStatus], scheduler: Option<SchedulerKind>) -> String {
    let mut rows = vec![[
        "STAGE",
        "JOB",
        "TASK",
        "STATE",
        "EXIT",
        "FAILURE",
        "WHY",
        "WALLCLOCK",
        "PEAK_MEM",
        "RUNS",
        "NAME",
    ]
    .map(String::from)];
    for j in st {
        rows.extend(j.tasks.iter().map(|t| task_cells(j, t)));
    }
    let mut out = aligned(&rows);
    out.push_str(&attempt_lines(st));
    out.push_str(&footnotes(st, scheduler));
    out
}

/// One task's row of [`table`]. What the scheduler printed (state code,
/// reason, failure, name) reaches the terminal with its control characters escaped.
fn task_cells(j: &JobStatus, t: &TaskStatus) -> [String; 11] {
    let run = t.last_run.as_ref();
    let state = match (&t.code, &t.reason, t.state) {
        (Some(code), Some(why), s) => format!("{} ({code}: {why})", s.as_str()),
        (Some(code), None, s) => format!("{} ({code})", s.as_str()),
        (None, _, s) => s.as_str().to_string(),
    };
    let failed = match run {
        Some(r) => r.failure.clone().unwrap_or_else(|| "0".into()),
        None => "-".into(),
    };
    let show = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    [
        j.stage.clone(),
        j.id.number.to_string(),
        t.task.map(|x| x.to_string()).unwrap_or_else(|| "-".into()),
        state,
        show(run.and_then(|r| r.exit_status).map(|c| c.to_string())),
        failed,
        show(run.and_then(why)),
        show(run.and_then(|r| r.wallclock_s).map(|s| format!("{s:.0} s"))),
        show(
            run.and_then(|r| r.maxvmem_bytes.or(r.max_rss_bytes))
                .map(crate::util::units::bytes),
        ),
        t.runs.to_string(),
        j.name.clone(),
    ]
    .map(|cell| lit(&cell))
}

/// The WHY cell: the run's [`StopCause`], with the exit status named when the
/// run failed by itself (`run failed (exit 3: bad input)`).
fn why(r: &RunRecord) -> Option<String> {
    let cause = r.cause?;
    Some(match (cause, r.exit_status) {
        (StopCause::RunFailed, Some(code)) => format!(
            "{} (exit {code}{})",
            cause.describe(),
            crate::util::exit_code::name(code)
                .map(|n| format!(": {n}"))
                .unwrap_or_default()
        ),
        _ => cause.describe().to_string(),
    })
}

/// Tasks that ran more than once: why each attempt ended, oldest first.
fn attempt_lines(st: &[JobStatus]) -> String {
    let mut out = String::new();
    for j in st {
        for t in j.tasks.iter().filter(|t| t.attempts.len() > 1) {
            let list: Vec<&str> = t
                .attempts
                .iter()
                .map(|c| c.map_or("?", StopCause::describe))
                .collect();
            let task = t.task.map(|n| format!(" task {n}")).unwrap_or_default();
            out.push_str(&format!(
                "{} job {}{task}: {} attempts: {}\n",
                j.stage,
                j.id.number,
                list.len(),
                list.join(", then ")
            ));
        }
    }
    out
}

/// The rows in left-aligned columns two spaces apart, one line each.
fn aligned(rows: &[[String; 11]]) -> String {
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// The lines below [`table`]: which accounting fields the columns are, and
/// how many tasks no one knows.
fn footnotes(st: &[JobStatus], scheduler: Option<SchedulerKind>) -> String {
    let mut out = String::new();
    // Only where accounting filled those columns: without it (no sacct) they
    // are all `-`, and naming sacct's fields would say they came from it.
    let accounted = st
        .iter()
        .flat_map(|j| &j.tasks)
        .any(|t| t.last_run.is_some());
    if let Some(w) = scheduler.map(|k| k.dialect().words()).filter(|_| accounted) {
        out.push_str(&format!(
            "FAILURE: {client}'s {}; PEAK_MEM: {client}'s {} ({})\n",
            w.failure,
            w.peak_memory,
            w.peak_memory_means,
            client = w.client,
        ));
    }
    let unknown = st
        .iter()
        .flat_map(|j| &j.tasks)
        .filter(|t| t.state == TaskState::Unknown)
        .count();
    if unknown > 0 {
        out.push_str(&format!(
            "{unknown} task(s) unknown: neither the queue nor accounting lists them yet \
             (accounting can lag a few seconds; or the ids belong to another cluster)\n"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_rows() {
        let recs = crate::scheduler::auto::captured_runs(SchedulerKind::Sge, "qacct_failed.txt");
        let jobs = vec![TrackedJob {
            stage: "train".into(),
            name: "n".into(),
            id: crate::scheduler::JobId::single(5),
        }];
        let st = crate::scheduler::status::collect(&jobs, &[], &recs);
        let t = table(&st, Some(SchedulerKind::Sge));
        assert!(t.contains("failed"), "{t}");
        assert!(t.contains("37 qmaster enforced"), "{t}");
        // Failed 37 with the peak far below any h_vmem: the h_rt=8 it asked for.
        let header = t.lines().next().unwrap();
        let why = header.find("WHY").unwrap();
        assert_eq!(
            &t.lines().nth(1).unwrap()[why..why + 10],
            "time limit",
            "{t}"
        );
        assert!(t.contains("99"), "{t}");
        assert!(
            t.contains("FAILURE: qacct's failed; PEAK_MEM: qacct's maxvmem (peak virtual memory)"),
            "{t}"
        );
    }

    /// Issue: a Slurm run's table had a `GE_FAILED` and a `MAXVMEM` column
    /// (holding sacct's State and MaxRSS). The columns are neutral, and the
    /// line below names sacct's fields.
    #[test]
    fn slurm_columns_are_not_named_in_grid_engines_words() {
        let recs = crate::scheduler::auto::captured_runs(SchedulerKind::Slurm, "sacct_requeue.txt");
        let jobs = vec![TrackedJob {
            stage: "train".into(),
            name: "n".into(),
            id: crate::scheduler::JobId::single(recs[0].job),
        }];
        let st = crate::scheduler::status::collect(&jobs, &[], &recs);
        let t = table(&st, Some(SchedulerKind::Slurm));
        let header = t.lines().next().unwrap();
        assert!(
            header.contains("FAILURE") && header.contains("PEAK_MEM"),
            "{t}"
        );
        assert!(
            !t.contains("GE_FAILED") && !t.to_lowercase().contains("maxvmem"),
            "{t}"
        );
        assert!(
            t.contains("FAILURE: sacct's State; PEAK_MEM: sacct's MaxRSS (peak resident memory"),
            "{t}"
        );
        // Each run's cause, oldest first, for a task that ran more than once.
        assert!(
            t.contains(
                "train job 36: 4 attempts: requeued, then requeued, then finished, then finished"
            ),
            "{t}"
        );
        // Without accounting (no sacct) the columns are `-`, and the line
        // does not claim sacct filled them.
        let st = crate::scheduler::status::collect(&jobs, &[], &[]);
        let t = table(&st, Some(SchedulerKind::Slurm));
        assert!(!t.contains("sacct's"), "{t}");
    }

    /// A reason or name with a terminal escape (from squeue) is printed with
    /// the escape spelt out, not sent to the terminal.
    #[test]
    fn scheduler_text_reaches_the_table_without_control_characters() {
        let jobs = vec![TrackedJob {
            stage: "train".into(),
            name: "n\u{1b}]0;owned\u{7}".into(),
            id: crate::scheduler::JobId::single(5),
        }];
        let queue = vec![crate::scheduler::backend::QueueEntry {
            job: 5,
            tasks: Vec::new(),
            state: crate::scheduler::backend::QueueState::Pending,
            code: "PD".into(),
            reason: Some("\u{1b}[2JResources".into()),
            name: "n".into(),
            queue: None,
        }];
        let st = crate::scheduler::status::collect(&jobs, &queue, &[]);
        let t = table(&st, Some(SchedulerKind::Slurm));
        assert!(!t.contains('\u{1b}') && !t.contains('\u{7}'), "{t:?}");
        assert!(t.contains("pending (PD: \\u{1b}[2JResources)"), "{t}");
        assert!(t.contains("n\\u{1b}]0;owned\\u{7}"), "{t}");
    }

    /// `--watch` on jobs no scheduler knows ended only when killed; it stops
    /// after three refreshes in a row with every task unknown, and a refresh
    /// that knows a task starts the count again.
    #[test]
    fn a_watch_on_jobs_nobody_knows_stops_after_three_refreshes() {
        let jobs = vec![TrackedJob {
            stage: "train".into(),
            name: "n".into(),
            id: crate::scheduler::JobId::single(777),
        }];
        let unknown = crate::scheduler::status::collect(&jobs, &[], &[]);
        let queued = crate::scheduler::status::collect(
            &jobs,
            &[crate::scheduler::backend::QueueEntry {
                job: 777,
                tasks: Vec::new(),
                state: crate::scheduler::backend::QueueState::Running,
                code: "r".into(),
                reason: None,
                name: "n".into(),
                queue: None,
            }],
            &[],
        );
        let record = Path::new("jobs/x/submission.json");
        let mut w = Watch::default();
        w.after(&unknown, record).unwrap();
        w.after(&unknown, record).unwrap();
        w.after(&queued, record).unwrap();
        w.after(&unknown, record).unwrap();
        w.after(&unknown, record).unwrap();
        let e = w.after(&unknown, record).unwrap_err();
        assert_eq!(e.exit_code(), 6);
        assert_eq!(
            e.to_string(),
            "jobs/x/submission.json: neither the queue nor accounting has listed job 777 for 3 \
             refreshes in a row, so the watch stops: the jobs may have ended longer ago than \
             accounting keeps, or belong to another cluster (run `hecjob status` there)"
        );
    }
}
