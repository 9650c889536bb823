//! The jobs and tasks of an experiment: what will be submitted, in which order,
//! with which resources. Built from a validated config; rendered by `render`,
//! submitted by `scheduler`.

use crate::config::{JobResources, LoadedConfig, Task};
pub use crate::jobdir::{JobKind, LOG_DIR};
use serde::Serialize;

/// Array job shape: tasks 1..=tasks, at most `max_concurrent` at once.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArraySpec {
    pub tasks: u32,
    pub max_concurrent: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedJob {
    pub kind: JobKind,
    /// Grid Engine job name (`-N`).
    pub name: String,
    /// Script file name inside the job directory.
    pub script: String,
    pub queue: String,
    pub resources: JobResources,
    pub array: Option<ArraySpec>,
    /// The job this one waits for (`-hold_jid`).
    pub after: Option<JobKind>,
    /// Ask for a warning signal before h_rt (`-notify`).
    pub notify: bool,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub experiment: String,
    pub jobs: Vec<PlannedJob>,
    pub tasks: Vec<Task>,
}

impl Plan {
    pub fn new(loaded: &LoadedConfig) -> Plan {
        let c = &loaded.config;
        let exp = &c.experiment.name;
        let job =
            |kind: JobKind, queue: &str, res: &JobResources, after, description: &str| PlannedJob {
                kind,
                name: format!("{exp}-{}", kind.as_str()),
                script: kind.script().to_string(),
                queue: res.queue.clone().unwrap_or_else(|| queue.to_string()),
                resources: res.clone(),
                array: None,
                after,
                notify: false,
                description: description.to_string(),
            };
        let mut train = job(
            JobKind::Train,
            &c.cluster.gpu_queue,
            &c.cluster.jobs.train,
            Some(JobKind::Download),
            "Fine-tune one sweep task per array task and evaluate it (Table 4).",
        );
        train.array = Some(ArraySpec {
            tasks: loaded.tasks.len() as u32,
            max_concurrent: c.cluster.max_concurrent_tasks,
        });
        train.notify = true;
        Plan {
            experiment: exp.clone(),
            jobs: vec![
                job(
                    JobKind::Install,
                    &c.cluster.cpu_queue,
                    &c.cluster.jobs.install,
                    None,
                    "Install hecjob and libtorch under the storage root.",
                ),
                job(
                    JobKind::Download,
                    &c.cluster.cpu_queue,
                    &c.cluster.jobs.download,
                    Some(JobKind::Install),
                    "Download the GoEmotions data and the model on a CPU node.",
                ),
                train,
            ],
            tasks: loaded.tasks.clone(),
        }
    }
}

impl PlannedJob {
    /// The `#$` directives, in a fixed order. Every value here was validated
    /// against a strict pattern (config::validate), so none needs quoting;
    /// `extra_directives` only pass a shape check (one line, a `-flag` first,
    /// no option hecjob writes itself), which is enough: `#$` lines are
    /// comments to bash.
    pub fn directives(&self) -> Vec<String> {
        let mut d = vec![
            "-S /bin/bash".to_string(),
            format!("-N {}", self.name),
            "-cwd".to_string(),
            format!("-o {LOG_DIR}/"),
            format!("-e {LOG_DIR}/"),
            format!("-q {}", self.queue),
        ];
        let r = &self.resources;
        if let Some(v) = &r.h_vmem {
            d.push(format!("-l h_vmem={v}"));
        }
        if let Some(v) = &r.h_rt {
            d.push(format!("-l h_rt={v}"));
        }
        if let Some(v) = &r.s_rt {
            d.push(format!("-l s_rt={v}"));
        }
        if let Some(v) = r.ncpus {
            d.push(format!("-l ncpus={v}"));
        }
        if let Some(v) = r.ngpus.filter(|&g| g > 0) {
            d.push(format!("-l ngpus={v}"));
        }
        if let Some(a) = &self.array {
            d.push(format!("-t 1-{}", a.tasks));
            if let Some(tc) = a.max_concurrent {
                d.push(format!("-tc {tc}"));
            }
        }
        if self.notify {
            d.push("-notify".to_string());
        }
        d.extend(r.extra_directives.iter().cloned());
        d
    }
}
