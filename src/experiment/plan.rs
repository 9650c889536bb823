//! The jobs and tasks of an experiment: what will be submitted, in which order,
//! with which resources. Built from a validated config; rendered by `render`,
//! submitted by `scheduler`.

use crate::experiment::config::{
    Config, JobResources, LoadedConfig, Notify, NotifyOn, SchedulerKind, Task,
};
pub use crate::jobdir::{JobKind, LOG_DIR};
use crate::scheduler::dialect::{Mail, MailOn, Request};
use crate::scheduler::resources::{Memory, TimeLimit};
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
    /// Ask for a warning signal before h_rt (`-notify`; Slurm: `--signal=B:USR1@…`
    /// and `--requeue`).
    pub notify: bool,
    pub description: String,
    /// Whose directives the script carries.
    pub scheduler: SchedulerKind,
    /// `cluster.notify`: on Grid Engine, `-M`/`-m` on every job.
    #[serde(skip)]
    pub mail: Option<Notify>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub experiment: String,
    pub scheduler: SchedulerKind,
    pub jobs: Vec<PlannedJob>,
    pub tasks: Vec<Task>,
}

/// A job of the experiment `c`, on `queue` unless its resources name one.
fn planned(
    c: &Config,
    kind: JobKind,
    queue: &str,
    res: &JobResources,
    after: Option<JobKind>,
    description: &str,
) -> PlannedJob {
    PlannedJob {
        kind,
        name: format!("{}-{}", c.experiment.name, kind.as_str()),
        script: kind.script().to_string(),
        queue: res.queue.clone().unwrap_or_else(|| queue.to_string()),
        resources: res.clone(),
        array: None,
        after,
        notify: false,
        description: description.to_string(),
        scheduler: c.cluster.scheduler,
        mail: c.cluster.notify.clone(),
    }
}

/// Slurm with `cluster.notify`: the HEC rejects arrays that ask for mail, so
/// one small job after the array mails the summary (Grid Engine mails from
/// the jobs: -M/-m).
fn notify_job(c: &Config) -> Option<PlannedJob> {
    if c.cluster.scheduler.dialect().mails_from_jobs() || c.cluster.notify.is_none() {
        return None;
    }
    let res = JobResources {
        h_vmem: Some("100M".into()),
        h_rt: Some("00:05:00".into()),
        ncpus: Some(1),
        ..JobResources::default()
    };
    Some(planned(
        c,
        JobKind::Notify,
        &c.cluster.cpu_queue,
        &res,
        Some(JobKind::Train),
        "Mail a one-line summary of the train array once it has ended (cluster.notify).",
    ))
}

/// `cluster.retries` (or `submit --retries`): one small CPU job after the
/// train array runs `hecjob resubmit`. It loads hecjob, libtorch linked in,
/// whose mappings count against Grid Engine's h_vmem, and waits up to 3
/// minutes for accounting to settle.
fn retry_job(c: &Config) -> Option<PlannedJob> {
    if c.cluster.retries == 0 {
        return None;
    }
    let res = JobResources {
        h_vmem: Some("4G".into()),
        h_rt: Some("00:15:00".into()),
        ncpus: Some(1),
        ..JobResources::default()
    };
    Some(PlannedJob {
        // The retry job mails its own summary when it stops.
        mail: None,
        ..planned(
            c,
            JobKind::Retry,
            &c.cluster.cpu_queue,
            &res,
            Some(JobKind::Train),
            "Run again, one round at a time, the train tasks that did not finish (cluster.retries).",
        )
    })
}

impl Plan {
    /// `predict_shards`: the predict array's size, from the shard plan
    /// (experiment::predict), when the config has a `predict:` section.
    pub fn new(loaded: &LoadedConfig, predict_shards: Option<u32>) -> Plan {
        let c = &loaded.config;
        let exp = &c.experiment.name;
        let job = |kind, queue: &str, res: &JobResources, after, description: &str| {
            planned(c, kind, queue, res, after, description)
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
        let predict_jobs = predict_shards
            .map(|shards| predict_jobs(c, shards))
            .unwrap_or_default();
        Plan {
            experiment: exp.clone(),
            scheduler: c.cluster.scheduler,
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
                    if c.data.train.is_none() {
                        "Download the GoEmotions data and the model, and check the data, on a CPU node."
                    } else {
                        "Check your data and download the model on a CPU node."
                    },
                ),
                train,
            ]
            .into_iter()
            .chain(predict_jobs)
            .chain(notify_job(c))
            .chain(retry_job(c))
            .collect(),
            tasks: loaded.tasks.clone(),
        }
    }
}

impl Plan {
    /// The planned job of `kind`, when the plan has one.
    pub fn job(&self, kind: JobKind) -> Option<&PlannedJob> {
        self.jobs.iter().find(|j| j.kind == kind)
    }
}

/// The predict array (one task per shard, on the GPU queue if it asks for
/// GPUs) and the small merge job after it.
fn predict_jobs(c: &Config, shards: u32) -> Vec<PlannedJob> {
    let res = &c.cluster.jobs.predict;
    let queue = if res.ngpus.unwrap_or(0) > 0 {
        &c.cluster.gpu_queue
    } else {
        &c.cluster.cpu_queue
    };
    let mut predict = planned(
        c,
        JobKind::Predict,
        queue,
        res,
        Some(JobKind::Train),
        "Label one shard of the predict inputs per array task (predict.json).",
    );
    predict.array = Some(ArraySpec {
        tasks: shards,
        max_concurrent: None,
    });
    // hecjob maps libtorch (and its CUDA libraries) at start: about 3 GB of
    // address space, which Grid Engine's h_vmem counts.
    let merge_res = JobResources {
        h_vmem: Some("4G".into()),
        h_rt: Some("01:00:00".into()),
        ncpus: Some(1),
        ..JobResources::default()
    };
    let merge = planned(
        c,
        JobKind::Merge,
        &c.cluster.cpu_queue,
        &merge_res,
        Some(JobKind::Predict),
        "Concatenate the predict shards in input order and check every input row has one output row.",
    );
    vec![predict, merge]
}

impl PlannedJob {
    /// The scheduler's directives for this job, in a fixed order (its
    /// [`Dialect`](crate::scheduler::Dialect) writes them). Every value was
    /// validated against a strict pattern (config::validate), so none needs
    /// quoting; `extra_directives` passed the dialect's own check, which is
    /// enough: directive lines are comments to bash.
    pub fn directives(&self) -> Vec<String> {
        let dialect = self.scheduler.dialect();
        dialect.directives(&self.request())
    }

    /// This job's requests in neutral terms (bytes, seconds).
    pub fn request(&self) -> Request {
        let r = &self.resources;
        let dialect = self.scheduler.dialect();
        let secs = |t: &Option<TimeLimit>| t.as_ref().map(TimeLimit::secs);
        Request {
            name: self.name.clone(),
            queue: self.queue.clone(),
            log_dir: LOG_DIR.to_string(),
            memory_bytes: r.h_vmem.as_ref().map(Memory::bytes),
            time_s: secs(&r.h_rt),
            soft_time_s: secs(&r.s_rt),
            cpus: r.ncpus,
            gpus: r.ngpus.unwrap_or(0),
            gpu_type: r.gpu_type.clone(),
            array: self.array.as_ref().map(|a| (a.tasks, a.max_concurrent)),
            warn_before_limit: self.notify,
            mail: self
                .mail
                .as_ref()
                .filter(|_| dialect.mails_from_jobs())
                .map(|m| Mail {
                    address: m.address.clone(),
                    on: m
                        .on
                        .iter()
                        .map(|o| match o {
                            NotifyOn::End => MailOn::End,
                            NotifyOn::Fail => MailOn::Fail,
                        })
                        .collect(),
                }),
            extra: r.extra_directives.clone(),
        }
    }
}
