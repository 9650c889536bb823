//! The run spec of one sweep task of a rendered config (what train.com runs).

use super::trainer::{self, DataFiles, RunLimits, RunSpec};
use crate::experiment::config::{self, DeviceChoice};
use crate::util::error::{Error, Result};

/// The spec of one sweep task of a config (what train.com runs).
pub fn spec_from_config(path: &std::path::Path, task: u32) -> Result<RunSpec> {
    let loaded = config::load(Some(path))?;
    let t = loaded.task(task)?;
    let c = &loaded.config;
    let swept = t.swept_json();
    // The rung records live beside config.yaml, in the job directory every
    // task of the array shares.
    let early_stop = match loaded.search.early_stop {
        Some(rule) => {
            let text = crate::jobdir::read::read_bounded(path, crate::jobdir::read::CONFIG_COPY)?
                .ok_or_else(|| Error::Usage(format!("{}: not found", path.display())))?;
            Some(trainer::EarlyStopSpec {
                job_dir: crate::jobdir::job_dir_of_config(path),
                config_sha256: config::body_sha256(&text),
                tasks: loaded.tasks.iter().map(|t| t.id).collect(),
                rule,
            })
        }
        None => None,
    };
    let mut params = t.train.clone();
    // A job that asked Grid Engine for a GPU must not fall back to the CPU
    // quietly (a driver/libtorch mismatch would otherwise train for hours on
    // the CPU): `auto` means `cuda` there, and a missing GPU is an error.
    if params.device == DeviceChoice::Auto && c.cluster.jobs.train.ngpus.unwrap_or(0) > 0 {
        params.device = DeviceChoice::Cuda;
    }
    Ok(RunSpec {
        data: DataFiles {
            spec: c.data.clone(),
            sources: c.data_sources()?,
            record_dir: Some(crate::jobdir::job_dir_of_config(path)),
        },
        save_dir: c.task_output_dir(task)?,
        // The task's own: `sweep.model.name` may give each task another.
        model: t.model.name.clone(),
        revision: t.model.revision.clone(),
        params,
        resume: true,
        scheduler_restart: trainer::scheduler_restart_from_env(),
        experiment: Some(c.experiment.name.clone()),
        task: Some(task),
        swept,
        limits: RunLimits {
            train_limit: t.train.max_train_examples.map(|n| n as usize),
            ..RunLimits::full()
        },
        // The caller (cli) supplies the report's formatter.
        print_table: None,
        early_stop,
    })
}
