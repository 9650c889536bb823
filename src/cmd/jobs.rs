//! `hecjob submit`, `hecjob status`, `hecjob run --local`.

use crate::error::{Error, Result};
use crate::jobdir::{JobKind, SubmissionRecord, SUBMISSION_FILE};
use crate::render::{prepare_job_dir, TemplateChoice};
use crate::scheduler::backend::Scheduler;
use crate::scheduler::dry_run::DryRun;
use crate::scheduler::local::Local;
use crate::scheduler::sge::GridEngine;
use crate::scheduler::status::{JobStatus, TaskState, TrackedJob};
use crate::scheduler::submission::{submit_chain, SubmittedJob};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct SubmitArgs {
    /// Experiment config (YAML). Without it, the embedded configs/goemotions.yaml.
    pub config: Option<PathBuf>,
    /// Submit only these jobs, still in install → download → train order and
    /// chained among themselves (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "JOBS", value_parser = parse_kind)]
    pub only: Vec<JobKind>,
    /// Render the scripts and print the exact qsub command lines; submit nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Job directory (default: jobs/<experiment>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Do not pass `-w e` (by default qsub refuses at once a job no queue can ever
    /// run, instead of leaving it pending forever).
    #[arg(long)]
    pub no_verify: bool,
    /// A directory whose *.tera files replace the embedded templates (default:
    /// those the job directory was rendered with by `hecjob render --templates`).
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
}

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

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Experiment config (YAML). Without it, the embedded configs/goemotions.yaml.
    pub config: Option<PathBuf>,
    /// Run the rendered scripts here with bash, one after the other, as Grid Engine
    /// would (environment, log files, exit 99 re-runs the task).
    #[arg(long)]
    pub local: bool,
    /// Run only these jobs (comma-separated: install,download,train).
    #[arg(long, value_delimiter = ',', value_name = "JOBS", value_parser = parse_kind)]
    pub only: Vec<JobKind>,
    /// Job directory (default: jobs/<experiment>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Run up to K array tasks at once (at most the config's max_concurrent_tasks),
    /// each with its own CUDA_VISIBLE_DEVICES (slot i: the i-th inherited device, or i).
    #[arg(long, value_name = "K", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub jobs: u32,
    /// A directory whose *.tera files replace the embedded templates (default:
    /// those the job directory was rendered with by `hecjob render --templates`).
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
}

fn parse_kind(s: &str) -> std::result::Result<JobKind, String> {
    JobKind::parse(s.trim()).ok_or_else(|| {
        format!("unknown job {s:?}: expected install, download or train (comma-separated)")
    })
}

pub fn run_submit(a: &SubmitArgs) -> Result<()> {
    let p = prepare_job_dir(
        a.config.as_deref(),
        a.out.as_deref(),
        TemplateChoice::GivenOrRecorded(a.templates.as_deref()),
        true,
    )?;
    let dir = p.dir.clone();
    let mut rendered = p.rendered;
    rendered.dir = dir.clone();
    let stages = rendered.stages(&a.only, !a.no_verify);
    let mut sched: Box<dyn Scheduler> = if a.dry_run {
        Box::new(DryRun::sge())
    } else {
        Box::new(GridEngine::new()?)
    };
    let jobs = submit_chain(sched.as_mut(), &dir, &stages)?;
    if a.dry_run {
        println!(
            "# dry run: scripts written to {}; nothing submitted.",
            dir.display()
        );
        println!("# Job ids below are placeholders; each job is held on the one before.");
        let chain: Vec<_> = jobs
            .iter()
            .map(|j| (j.stage.clone(), j.command.clone(), j.id))
            .collect();
        for line in crate::render::chain_lines(&dir, &chain) {
            println!("{line}");
        }
        return Ok(());
    }
    let config = match &a.config {
        Some(p) => Some(std::fs::canonicalize(p).map_err(|e| Error::io("resolving", p, e))?),
        None => None,
    };
    let record = SubmissionRecord::new(sched.name(), config, &dir, jobs);
    let path = record.write(&dir)?;
    print_submitted(&record.jobs);
    println!("record: {}", path.display());
    println!(
        "follow with: hecjob status {}",
        crate::shell::quote(&dir.display().to_string())
    );
    Ok(())
}

fn print_submitted(jobs: &[SubmittedJob]) {
    for j in jobs {
        let tasks =
            j.id.tasks
                .map(|t| format!(" tasks {t}"))
                .unwrap_or_default();
        let hold = if j.hold.is_empty() {
            String::new()
        } else {
            format!(
                ", held on {}",
                j.hold
                    .iter()
                    .map(|h| h.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            )
        };
        println!(
            "submitted {:<9} job {}{tasks} ({}{hold})",
            j.stage, j.id, j.name
        );
    }
}

pub fn run_run(a: &RunArgs) -> Result<()> {
    if !a.local {
        return Err(Error::Usage(
            "`hecjob run` runs the scripts on this machine and needs --local; \
             to use Grid Engine, run `hecjob submit`"
                .into(),
        ));
    }
    let p = prepare_job_dir(
        a.config.as_deref(),
        a.out.as_deref(),
        TemplateChoice::GivenOrRecorded(a.templates.as_deref()),
        true,
    )?;
    let dir = p.dir.clone();
    let mut rendered = p.rendered;
    rendered.dir = dir.clone();
    let stages = rendered.stages(&a.only, false);
    let mut exec = Local::new();
    exec.jobs = a.jobs as usize;
    let jobs = submit_chain(&mut exec, &dir, &stages)?;
    for j in &jobs {
        println!("finished {:<9} job {} ({})", j.stage, j.id, j.name);
    }
    println!("logs: {}", dir.join(crate::jobdir::LOG_DIR).display());
    Ok(())
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

pub fn run_status(a: &StatusArgs) -> Result<()> {
    let path = match &a.run {
        Some(p) => p.clone(),
        None => newest_record()?,
    };
    let record = SubmissionRecord::load(&path)?;
    if record.executor != "sge" {
        return Err(Error::Usage(format!(
            "{}: this record is from a `{}` submission; only Grid Engine jobs have a status",
            path.display(),
            record.executor
        )));
    }
    let tracked: Vec<TrackedJob> = record
        .jobs
        .iter()
        .map(|j| TrackedJob {
            stage: j.stage.clone(),
            name: j.name.clone(),
            id: j.id,
        })
        .collect();
    let mut sched = GridEngine::for_queries()?;
    loop {
        let st = crate::scheduler::status::query(&mut sched, &tracked)?;
        if a.json {
            let json = serde_json::to_string_pretty(&st)
                .map_err(|e| Error::Internal(format!("serializing status: {e}")))?;
            println!("{json}");
        } else {
            if a.watch.is_some() {
                println!("--- {} ---", path.display());
            }
            print!("{}", table(&st));
            // Live progress of running train tasks, efficiency of finished ones.
            let job_dir = if path.is_dir() {
                path.clone()
            } else {
                path.parent()
                    .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
            };
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            print!("{}", crate::report::status_view::text(&job_dir, &st, now));
        }
        // Also stop when nothing can move on by itself: a job in error state
        // (e.g. an install that exited 100) keeps the jobs after it held forever.
        let states: Vec<TaskState> = st
            .iter()
            .flat_map(|j| j.tasks.iter().map(|t| t.state))
            .collect();
        let settled = states.iter().all(|s| {
            matches!(
                s,
                TaskState::Done | TaskState::Failed | TaskState::Error | TaskState::Held
            )
        });
        // Finished tasks are settled too, so `settled` alone says the chain is over.
        let done = settled;
        if settled && states.contains(&TaskState::Error) && !a.json {
            println!(
                "a job is in error state and the jobs after it stay held: read its log in logs/, \
                 then `qmod -cj ID` to retry it or `qdel` the chain"
            );
        }
        match a.watch {
            Some(secs) if !done => std::thread::sleep(Duration::from_secs(secs.max(1))),
            _ => return Ok(()),
        }
    }
}

/// Grid Engine's view of these jobs: one qstat call, then qacct for the jobs
/// qstat no longer lists.
pub fn query(jobs: &[TrackedJob]) -> Result<Vec<JobStatus>> {
    crate::scheduler::status::query(&mut GridEngine::for_queries()?, jobs)
}

fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// The status table: one row per job, or per task for array jobs.
pub fn table(st: &[JobStatus]) -> String {
    let mut rows = vec![[
        "STAGE",
        "JOB",
        "TASK",
        "STATE",
        "EXIT",
        "GE_FAILED",
        "WALLCLOCK",
        "MAXVMEM",
        "RUNS",
        "NAME",
    ]
    .map(String::from)];
    for j in st {
        for t in &j.tasks {
            let run = t.last_run.as_ref();
            let state = match (&t.code, t.state) {
                (Some(code), s) => format!("{} ({code})", s.as_str()),
                (None, s) => s.as_str().to_string(),
            };
            let failed = match run {
                Some(r) => r.failure.clone().unwrap_or_else(|| "0".into()),
                None => "-".into(),
            };
            let show = |v: Option<String>| v.unwrap_or_else(|| "-".into());
            rows.push([
                j.stage.clone(),
                j.id.number.to_string(),
                t.task.map(|x| x.to_string()).unwrap_or_else(|| "-".into()),
                state,
                show(run.and_then(|r| r.exit_status).map(|c| c.to_string())),
                failed,
                show(run.and_then(|r| r.wallclock_s).map(|s| format!("{s:.0} s"))),
                show(
                    run.and_then(|r| r.maxvmem_bytes.or(r.max_rss_bytes))
                        .map(human_bytes),
                ),
                t.runs.to_string(),
                j.name.clone(),
            ]);
        }
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in &rows {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    let unknown = st
        .iter()
        .flat_map(|j| &j.tasks)
        .filter(|t| t.state == TaskState::Unknown)
        .count();
    if unknown > 0 {
        out.push_str(&format!(
            "{unknown} task(s) unknown: neither qstat nor qacct lists them yet \
             (accounting can lag a few seconds; or the ids belong to another cluster)\n"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct T {
        #[command(flatten)]
        s: SubmitArgs,
    }

    #[test]
    fn only_parses_a_comma_list() {
        let t = T::try_parse_from(["x", "--only", "download,train", "--dry-run"]).unwrap();
        assert_eq!(t.s.only, vec![JobKind::Download, JobKind::Train]);
        let e = T::try_parse_from(["x", "--only", "trian"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("install, download or train"), "{e}");
    }

    #[test]
    fn table_rows() {
        let recs: Vec<_> =
            crate::scheduler::sge::qacct::parse(&crate::scheduler::captured("qacct_failed.txt"))
                .unwrap()
                .iter()
                .map(|r| r.to_neutral())
                .collect();
        let jobs = vec![TrackedJob {
            stage: "train".into(),
            name: "n".into(),
            id: crate::scheduler::JobId::single(5),
        }];
        let st = crate::scheduler::status::collect(&jobs, &[], &recs);
        let t = table(&st);
        assert!(t.contains("failed"), "{t}");
        assert!(t.contains("37 qmaster enforced"), "{t}");
        assert!(t.contains("99"), "{t}");
    }
}
