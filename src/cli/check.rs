//! `hecjob check CONFIG`: ask the scheduler, without submitting anything, whether
//! each job of the experiment could ever run: `sbatch --test-only` on Slurm (where
//! and when it would start, or Slurm's reason why never), `qsub -w v` on Grid
//! Engine (a suitable queue exists, or why none does).
//!
//! Exit codes: 0 every job could run; 6 the scheduler refuses at least one (its
//! reason is printed per job); 8 the check itself failed for at least one (the
//! client was killed, printed nothing, or nothing readable: no verdict, which is
//! not a refusal); 2 a bad config; the usual codes otherwise. The scripts are
//! rendered into a temporary directory: the job directory is left alone.

use crate::experiment::render::{prepare_job_dir, TemplateChoice};
use crate::scheduler::submission;
use crate::scheduler::{JobId, Purpose, Verdict};
use crate::util::error::{Error, Result};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Experiment config (YAML). Without it, the embedded configs/goemotions.yaml.
    pub config: Option<PathBuf>,
    /// A directory whose *.tera files replace the embedded templates.
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
}

pub fn run_check(a: &CheckArgs) -> Result<()> {
    let tmp = tempfile::Builder::new()
        .prefix("hecjob-check.")
        .tempdir()
        .map_err(|e| Error::io("creating a temporary directory", std::env::temp_dir(), e))?;
    let p = prepare_job_dir(
        a.config.as_deref(),
        Some(tmp.path()),
        TemplateChoice::Given(a.templates.as_deref()),
        true,
    )?;
    p.loaded.print_warnings();
    let kind = p.loaded.config.cluster.scheduler;
    let mut rendered = p.rendered;
    rendered.dir = p.dir.clone();
    let stages = rendered.stages(&[], false);
    // Placeholder ids: the requests carry no dependency into the checks below.
    let ids: Vec<JobId> = (1..=stages.len() as u64).map(JobId::single).collect();
    let requests = submission::requests(&p.dir, &stages, &ids);
    let mut sched = crate::scheduler::open(kind, Purpose::Submit)?;
    let mut verdicts = Vec::new();
    for (stage, req) in stages.iter().zip(&requests) {
        verdicts.push((stage.stage.clone(), sched.check(req)?));
    }
    report(kind.display_name(), &verdicts)
}

/// Print each job's verdict; fail when one was refused or got none.
fn report(scheduler: &str, verdicts: &[(String, Verdict)]) -> Result<()> {
    for (stage, v) in verdicts {
        let (mark, words) = match v {
            Verdict::Runs(w) => ("ok  ", w.clone()),
            Verdict::Refused(w) => ("FAIL", format!("{scheduler} refuses it: {w}")),
            Verdict::Unknown(w) => ("??  ", format!("the check failed: {w}")),
        };
        println!("{stage:<9} {mark}  {words}");
    }
    let with = |f: fn(&Verdict) -> bool| -> Vec<&str> {
        verdicts
            .iter()
            .filter(|(_, v)| f(v))
            .map(|(s, _)| s.as_str())
            .collect()
    };
    let refused = with(|v| matches!(v, Verdict::Refused(_)));
    let unknown = with(|v| matches!(v, Verdict::Unknown(_)));
    if !refused.is_empty() {
        Err(Error::Scheduler(format!(
            "{scheduler} would never run {} as configured: change its request in cluster.jobs \
             (partition/queue, memory, time, CPUs, GPUs) and check again",
            refused.join(" and ")
        )))
    } else if !unknown.is_empty() {
        Err(Error::NoVerdict(format!(
            "could not check {} with {scheduler}: its client gave no verdict (see above), \
             which says nothing about the jobs; check again, or ask {scheduler} by hand",
            unknown.join(" and ")
        )))
    } else {
        println!("every job could run on {scheduler}; nothing was submitted");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue: a check that gave no verdict failed as a refusal (exit 6, "Slurm
    /// would never run …"). It says the check failed, with its own exit code.
    #[test]
    fn no_verdict_is_not_a_refusal() {
        let v = |s: &str, v: Verdict| (s.to_string(), v);
        let e = report(
            "Slurm",
            &[
                v("install", Verdict::Runs("would start".into())),
                v("train", Verdict::Unknown("sbatch was killed".into())),
            ],
        )
        .unwrap_err();
        assert_eq!(e.exit_code(), 8);
        assert_eq!(
            e.to_string(),
            "could not check train with Slurm: its client gave no verdict (see above), which \
             says nothing about the jobs; check again, or ask Slurm by hand"
        );
        let e = report(
            "Slurm",
            &[
                v("install", Verdict::Refused("Invalid partition".into())),
                v("train", Verdict::Unknown("sbatch was killed".into())),
            ],
        )
        .unwrap_err();
        assert_eq!(e.exit_code(), 6);
        assert!(e
            .to_string()
            .starts_with("Slurm would never run install as configured"));
    }
}
