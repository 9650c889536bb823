//! `hecjob check CONFIG`: ask the scheduler, without submitting anything, whether
//! each job of the experiment could ever run: `sbatch --test-only` on Slurm (where
//! and when it would start, or Slurm's reason why never), `qsub -w v` on Grid
//! Engine (a suitable queue exists, or why none does).
//!
//! Exit codes: 0 every job could run; 6 the scheduler refuses at least one (its
//! reason is printed per job); 2 a bad config; the usual codes otherwise. The
//! scripts are rendered into a temporary directory: the job directory is left alone.

use crate::experiment::config::SchedulerKind;
use crate::experiment::render::{prepare_job_dir, TemplateChoice};
use crate::scheduler::sge::GridEngine;
use crate::scheduler::slurm::sbatch::TestOnly;
use crate::scheduler::slurm::Slurm;
use crate::scheduler::submission;
use crate::scheduler::JobId;
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

/// One job's verdict.
struct Verdict {
    stage: String,
    ok: bool,
    words: String,
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
    let kind = p.loaded.config.cluster.scheduler;
    let mut rendered = p.rendered;
    rendered.dir = p.dir.clone();
    let stages = rendered.stages(&[], false);
    // Placeholder ids: the requests carry no dependency into the checks below.
    let ids: Vec<JobId> = (1..=stages.len() as u64).map(JobId::single).collect();
    let requests = submission::requests(&p.dir, &stages, &ids);
    let mut verdicts = Vec::new();
    match kind {
        SchedulerKind::Slurm => {
            let mut slurm = Slurm::new()?;
            for (stage, req) in stages.iter().zip(&requests) {
                let (_, t) = slurm.test_only(req)?;
                let (ok, words) = match t {
                    TestOnly::WouldStart {
                        start,
                        nodes,
                        partition,
                        ..
                    } => (
                        true,
                        format!(
                            "would start{} on {nodes} in partition {partition}",
                            start.map(|s| format!(" at {s}")).unwrap_or_default()
                        ),
                    ),
                    TestOnly::Refused { reason } => (false, format!("Slurm refuses it: {reason}")),
                };
                verdicts.push(Verdict {
                    stage: stage.stage.clone(),
                    ok,
                    words,
                });
            }
        }
        SchedulerKind::Sge => {
            let sge = GridEngine::new()?;
            for (stage, req) in stages.iter().zip(&requests) {
                let (_, ok, words) = sge.verify(req)?;
                let words = if ok {
                    "a suitable queue exists (qsub -w v)".to_string()
                } else {
                    format!("Grid Engine refuses it: {}", words.replace('\n', "; "))
                };
                verdicts.push(Verdict {
                    stage: stage.stage.clone(),
                    ok,
                    words,
                });
            }
        }
    }
    for v in &verdicts {
        println!(
            "{:<9} {}  {}",
            v.stage,
            if v.ok { "ok  " } else { "FAIL" },
            v.words
        );
    }
    let refused: Vec<&str> = verdicts
        .iter()
        .filter(|v| !v.ok)
        .map(|v| v.stage.as_str())
        .collect();
    if refused.is_empty() {
        println!(
            "every job could run on {}; nothing was submitted",
            kind.display_name()
        );
        Ok(())
    } else {
        Err(Error::Scheduler(format!(
            "{} would never run {} as configured: change its request in cluster.jobs \
             (partition/queue, memory, time, CPUs, GPUs) and check again",
            kind.display_name(),
            refused.join(" and ")
        )))
    }
}
