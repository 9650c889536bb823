//! `hecjob run --local`: render the job directory (the pipeline `render` uses)
//! and run its scripts here, in order, as Grid Engine would.

use super::submit::parse_kind;
use crate::experiment::render::{prepare_job_dir, TemplateChoice};
use crate::jobdir::JobKind;
use crate::scheduler::submission::submit_chain;
use crate::scheduler::Purpose;
use crate::util::error::{Error, Result};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Experiment config (YAML). Without it, the embedded configs/goemotions.yaml.
    pub config: Option<PathBuf>,
    /// Run the rendered scripts here with bash, one after the other, as Grid Engine
    /// would (environment, log files, exit 99 re-runs the task).
    #[arg(long)]
    pub local: bool,
    /// Run only these jobs (comma-separated: install,download,train,predict,merge).
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
    p.loaded.print_warnings();
    let dir = p.dir.clone();
    let mut rendered = p.rendered;
    rendered.dir = dir.clone();
    let stages = rendered.stages(&a.only, false);
    super::predict_job::check_only(&a.only, &rendered, &dir)?;
    let kind = p.loaded.config.cluster.scheduler;
    let mut exec = crate::scheduler::open(
        kind,
        Purpose::Local {
            jobs: a.jobs as usize,
        },
    )?;
    let jobs = submit_chain(exec.as_mut(), &dir, &stages)?;
    for j in &jobs {
        println!("finished {:<9} job {} ({})", j.stage, j.id, j.name);
    }
    println!("logs: {}", dir.join(crate::jobdir::LOG_DIR).display());
    Ok(())
}
