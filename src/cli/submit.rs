//! `hecjob submit`: render the job directory (the pipeline `render` uses) and
//! submit the chain, or with --dry-run print its exact commands.

use crate::experiment::config::MAX_RETRIES;
use crate::experiment::render::{prepare_job_dir_with, TemplateChoice};
use crate::jobdir::{JobKind, SubmissionRecord};
use crate::scheduler::backend::Scheduler;
use crate::scheduler::submission::{submit_after_chain, submit_chain, SubmittedJob};
use crate::scheduler::{Purpose, SchedulerKind};
use crate::util::error::{Error, Result};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct SubmitArgs {
    /// Experiment config (YAML). Without it, the embedded configs/goemotions.yaml.
    pub config: Option<PathBuf>,
    /// Submit only these jobs, still in install → download → train → predict →
    /// merge order and chained among themselves (comma-separated; `predict`
    /// brings its merge job along, and needs the model to exist already
    /// unless `train` is submitted too).
    #[arg(long, value_delimiter = ',', value_name = "JOBS", value_parser = parse_kind)]
    pub only: Vec<JobKind>,
    /// Render the scripts and print the exact qsub command lines; submit nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Job directory (default: jobs/<experiment>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Grid Engine: do not pass `-w e` (by default qsub refuses at once a job no
    /// queue can ever run, instead of leaving it pending forever). Slurm: nothing
    /// to turn off (sbatch checks a job when it is submitted, whatever the
    /// options); submit says so and submits as usual.
    #[arg(long)]
    pub no_verify: bool,
    /// A directory whose *.tera files replace the embedded templates (default:
    /// those the job directory was rendered with by `hecjob render --templates`).
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
    /// Run `hecjob resubmit` by itself after the train array, up to N rounds
    /// (sets cluster.retries): the unfinished tasks run again from their
    /// checkpoints, with more memory or time where that is why they stopped,
    /// until every task finished or nothing changed. The predict stage (a
    /// `predict:` section) then follows the last round, not the first array.
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=MAX_RETRIES as i64))]
    pub retries: Option<u32>,
}

pub(crate) fn parse_kind(s: &str) -> std::result::Result<JobKind, String> {
    JobKind::parse(s.trim()).ok_or_else(|| {
        format!(
            "unknown job {s:?}: expected install, download, train, predict or merge (comma-separated)"
        )
    })
}

pub fn run_submit(a: &SubmitArgs) -> Result<()> {
    let p = prepare_job_dir_with(
        a.config.as_deref(),
        a.out.as_deref(),
        TemplateChoice::GivenOrRecorded(a.templates.as_deref()),
        true,
        |loaded| {
            if let Some(n) = a.retries {
                loaded.config.cluster.retries = n;
            }
        },
    )?;
    p.loaded.print_warnings();
    let dir = p.dir.clone();
    let mut rendered = p.rendered;
    rendered.dir = dir.clone();
    let mut stages = rendered.stages(&a.only, !a.no_verify);
    let predict_after_retries = predict_after_retries(&rendered, &stages);
    if predict_after_retries {
        stages.retain(|s| !is_predict_stage(&s.stage));
    }
    if !a.dry_run {
        super::predict_job::check_only(&a.only, &rendered, &dir)?;
    }
    let kind = p.loaded.config.cluster.scheduler;
    if let Some(note) = no_verify_note(kind, a.no_verify) {
        eprintln!("note: {note}");
    }
    let purpose = if a.dry_run {
        Purpose::DryRun
    } else {
        Purpose::Submit
    };
    let mut sched = crate::scheduler::open(kind, purpose)?;
    let mut jobs = submit_chain(sched.as_mut(), &dir, &stages)?;
    // With retries, the notify job follows the last round instead (the retry
    // job queues it), so its mail counts the tasks as they finally ended;
    // so does the predict stage, so it labels with the models as they end.
    let after_train = if rendered.plan.job(JobKind::Retry).is_some() {
        let then = predict_after_retries.then_some(super::resubmit::THEN_PREDICT);
        submit_after_train(sched.as_mut(), &rendered, &jobs, JobKind::Retry, then)?
    } else {
        submit_after_train(sched.as_mut(), &rendered, &jobs, JobKind::Notify, None)?
    };
    jobs.extend(after_train);
    if a.dry_run {
        print_dry_run(&dir, &jobs, predict_after_retries);
        return Ok(());
    }
    let config = match &a.config {
        Some(p) => Some(std::fs::canonicalize(p).map_err(|e| Error::io("resolving", p, e))?),
        None => None,
    };
    let jobs = super::predict_job::keep_earlier_jobs(&a.only, &dir, jobs)?;
    let record = SubmissionRecord::new(sched.name(), config, &dir, jobs);
    let path = record.write(&dir)?;
    print_submitted(&record.jobs);
    println!("record: {}", path.display());
    println!(
        "follow with: hecjob status {}",
        crate::util::shell::quote(&dir.display().to_string())
    );
    Ok(())
}

/// What a dry run would have submitted, and (`predict_after_retries`) that
/// the retry job queues the predict stage.
fn print_dry_run(dir: &std::path::Path, jobs: &[SubmittedJob], predict_after_retries: bool) {
    println!(
        "# dry run: scripts written to {}; nothing submitted.",
        dir.display()
    );
    println!("# Job ids below are placeholders; each job is held on the one before.");
    let chain: Vec<_> = jobs
        .iter()
        .map(|j| (j.stage.clone(), j.command.clone(), j.id))
        .collect();
    for line in crate::experiment::render::chain_lines(dir, &chain) {
        println!("{line}");
    }
    if predict_after_retries {
        println!(
            "# predict and merge are not queued after train: the retry job queues them \
             once the retries stop, after the last round's jobs (cluster.retries)."
        );
    }
}

/// `predict`, `merge`: the stages of the predict stage.
pub(super) fn is_predict_stage(stage: &str) -> bool {
    stage == JobKind::Predict.as_str() || stage == JobKind::Merge.as_str()
}

/// Whether the retry job, not this chain, queues the predict stage: with
/// `cluster.retries`, when the chain has both the train array and the
/// predict stage, predict waits for the last round (the retry job queues it
/// when the retries stop), not for the first train array only, so that it
/// labels with the models of the tasks the rounds ran again.
pub(super) fn predict_after_retries(
    rendered: &crate::experiment::render::Rendered,
    stages: &[crate::scheduler::submission::StageJob],
) -> bool {
    let has = |kind: JobKind| stages.iter().any(|s| s.stage == kind.as_str());
    rendered.plan.job(JobKind::Retry).is_some() && has(JobKind::Train) && has(JobKind::Predict)
}

/// Submit the planned `kind` job after the train array, however it ends
/// (Grid Engine `-hold_jid`, Slurm `--dependency=afterany`): the notify job
/// (Slurm with `cluster.notify`) gets the train job's id as its argument, the
/// retry job (`cluster.retries`) its first round, and `then` after it (the
/// flag that leaves the predict stage to it). Nothing when the plan has no
/// such job or no train job was submitted. If it fails, the chain just queued
/// is cancelled, as for any failed submission ([`submit_after_chain`] names
/// what was removed, and says when this job itself may be queued).
fn submit_after_train(
    sched: &mut dyn Scheduler,
    rendered: &crate::experiment::render::Rendered,
    chain: &[SubmittedJob],
    kind: JobKind,
    then: Option<&str>,
) -> Result<Option<SubmittedJob>> {
    let Some(job) = rendered.plan.job(kind) else {
        return Ok(None);
    };
    let Some(train) = chain.iter().find(|j| j.stage == JobKind::Train.as_str()) else {
        return Ok(None);
    };
    let mut req = crate::scheduler::JobRequest::new(&job.script, &rendered.dir);
    req.options = rendered
        .plan
        .scheduler
        .dialect()
        .after_any(&[train.id.number]);
    req.args = vec![match kind {
        JobKind::Retry => "1".to_string(),
        _ => train.id.number.to_string(),
    }];
    req.args.extend(then.map(str::to_string));
    let why = match kind {
        JobKind::Retry => "the retry job (cluster.retries)",
        _ => "the notify job (cluster.notify)",
    };
    let mut after = submit_after_chain(sched, kind.as_str(), &req, chain).map_err(|e| match e {
        Error::Scheduler(m) => Error::Scheduler(format!("submitting {why}: {m}")),
        other => other,
    })?;
    after.hold = vec![train.id.number];
    Ok(Some(after))
}

/// What `--no-verify` does on this scheduler, when that is not what it says
/// (the dialect's note: on Slurm it changes nothing).
fn no_verify_note(kind: SchedulerKind, no_verify: bool) -> Option<&'static str> {
    kind.dialect().no_verify_note().filter(|_| no_verify)
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct T {
        #[command(flatten)]
        s: SubmitArgs,
    }

    /// Issue: `--no-verify` was silently ignored on Slurm. It is said to change
    /// nothing there, and stays quiet where it does something (Grid Engine).
    #[test]
    fn no_verify_is_named_on_slurm_only() {
        let note = no_verify_note(SchedulerKind::Slurm, true).unwrap();
        assert!(
            note.starts_with("--no-verify changes nothing on Slurm"),
            "{note}"
        );
        assert_eq!(no_verify_note(SchedulerKind::Slurm, false), None);
        assert_eq!(no_verify_note(SchedulerKind::Sge, true), None);
    }

    #[test]
    fn only_parses_a_comma_list() {
        let t = T::try_parse_from(["x", "--only", "download,train", "--dry-run"]).unwrap();
        assert_eq!(t.s.only, vec![JobKind::Download, JobKind::Train]);
        let e = T::try_parse_from(["x", "--only", "trian"])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("install, download, train, predict or merge"),
            "{e}"
        );
    }
}
