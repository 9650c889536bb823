//! `hecjob render`: write (or with --dry-run, print) a job directory and the
//! chain `submit` would run.

use crate::experiment::render::{chain_commands, chain_lines, prepare_job_dir, TemplateChoice};
use crate::util::error::Result;
use crate::util::shell;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// Experiment config (YAML). Without it, the embedded configs/goemotions.yaml.
    pub config: Option<PathBuf>,
    /// Where to write (default: jobs/<experiment>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print the scripts and the qsub chain; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// A directory whose *.tera files replace the embedded templates of the same name.
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
}

pub fn run(a: &RenderArgs) -> Result<()> {
    let p = prepare_job_dir(
        a.config.as_deref(),
        a.out.as_deref(),
        TemplateChoice::Given(a.templates.as_deref()),
        !a.dry_run,
    )?;
    p.loaded.print_warnings();
    let (dir, rendered) = (&p.rendered.dir, &p.rendered);
    if a.dry_run {
        for f in &rendered.files {
            println!("==> {} <==", dir.join(&f.name).display());
            print!("{}", f.content);
            if !f.content.ends_with('\n') {
                println!();
            }
            println!();
        }
        println!("# dry run: nothing written. The chain `hecjob submit` runs (job ids are placeholders):");
    } else {
        println!(
            "wrote {} ({} task{}):",
            dir.display(),
            rendered.plan.tasks.len(),
            if rendered.plan.tasks.len() == 1 {
                ""
            } else {
                "s"
            }
        );
        for f in &rendered.files {
            println!("  {}", dir.join(&f.name).display());
        }
        println!(
            "submit with `hecjob submit{}`; it runs (job ids are placeholders):",
            a.config
                .as_ref()
                .map(|c| format!(" {}", shell::quote(&c.display().to_string())))
                .unwrap_or_default()
        );
    }
    // Exactly what `submit` runs by default: its stages, its builder.
    let mut stages = rendered.stages(&[], true);
    let predict_after_retries = super::submit::predict_after_retries(rendered, &stages);
    if predict_after_retries {
        stages.retain(|s| !super::submit::is_predict_stage(&s.stage));
    }
    let dialect = rendered.plan.scheduler.dialect();
    let jobs = chain_commands(dir, &stages, |job| dialect.submit_command(job));
    for line in chain_lines(dir, &jobs) {
        println!("  {line}");
    }
    if predict_after_retries {
        println!(
            "  # then predict and merge, queued by the retry job once the retries stop (cluster.retries)"
        );
    }
    Ok(())
}
