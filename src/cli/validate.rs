//! `hecjob validate`: check a config and show its tasks.

use crate::util::error::Result;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// Experiment config (YAML). Without it, the embedded default.
    pub config: Option<PathBuf>,
    /// Print the resolved config (every default spelled out).
    #[arg(long)]
    pub resolved: bool,
}

pub fn run_validate(a: &ValidateArgs) -> Result<()> {
    let loaded = crate::experiment::config::load(a.config.as_deref())?;
    loaded.print_warnings();
    if a.resolved {
        print!("{}", loaded.to_yaml());
        return Ok(());
    }
    let c = &loaded.config;
    let models: Vec<&str> = loaded.models().iter().map(|m| m.name.as_str()).collect();
    println!(
        "{}: valid — experiment `{}`, model{} {}, {} task{}",
        loaded.source,
        c.experiment.name,
        if models.len() == 1 { "" } else { "s" },
        models.join(", "),
        loaded.tasks.len(),
        if loaded.tasks.len() == 1 { "" } else { "s" }
    );
    if !loaded.search.keys.is_empty() {
        for t in &loaded.tasks {
            let vals: Vec<String> = t
                .swept
                .iter()
                .map(|(k, v)| format!("{k}={}", crate::experiment::config::sweep::show(v)))
                .collect();
            println!("  task {:>3}: {}", t.id, vals.join(" "));
        }
    }
    if let Some(es) = &loaded.search.early_stop {
        let epochs = loaded
            .tasks
            .iter()
            .map(|t| t.train.epochs)
            .max()
            .unwrap_or(0);
        let rungs: Vec<String> =
            crate::worker::asha::rungs(es.min_epochs, es.reduction_factor, epochs)
                .iter()
                .map(u32::to_string)
                .collect();
        println!(
            "early stopping (ASHA on {}, η = {}): rungs after epoch {}; at each, a task goes on only in the top 1/{} of the results recorded so far",
            es.metric.as_str(),
            es.reduction_factor,
            rungs.join(", "),
            es.reduction_factor
        );
    }
    Ok(())
}
