//! The jobs and tasks of an experiment: what will be submitted, in which order,
//! with which resources. Built from a validated config; rendered by `render`,
//! submitted by `scheduler`.

use crate::experiment::config::{
    JobResources, LoadedConfig, Notify, NotifyOn, SchedulerKind, Task,
};
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
                scheduler: c.cluster.scheduler,
                mail: c.cluster.notify.clone(),
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
        // Slurm: the HEC rejects arrays that ask for mail, so one small job after
        // the array mails the summary (Grid Engine mails from the jobs: -M/-m).
        let notify_job = (c.cluster.scheduler == SchedulerKind::Slurm
            && c.cluster.notify.is_some())
        .then(|| {
            let res = JobResources {
                h_vmem: Some("100M".into()),
                h_rt: Some("00:05:00".into()),
                ncpus: Some(1),
                ..JobResources::default()
            };
            job(
                JobKind::Notify,
                &c.cluster.cpu_queue,
                &res,
                Some(JobKind::Train),
                "Mail a one-line summary of the train array once it has ended (cluster.notify).",
            )
        });
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
                    "Download the GoEmotions data and the model on a CPU node.",
                ),
                train,
            ]
            .into_iter()
            .chain(notify_job)
            .collect(),
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
        match self.scheduler {
            SchedulerKind::Sge => self.sge_directives(),
            SchedulerKind::Slurm => self.slurm_directives(),
        }
    }

    fn sge_directives(&self) -> Vec<String> {
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
        if let Some(m) = self
            .mail
            .as_ref()
            .filter(|_| self.scheduler == SchedulerKind::Sge)
        {
            // Grid Engine's mail events: e(nd), a(bort).
            let events: String =
                m.on.iter()
                    .map(|o| match o {
                        NotifyOn::End => 'e',
                        NotifyOn::Fail => 'a',
                    })
                    .collect();
            d.push(format!("-M {}", m.address));
            d.push(format!("-m {events}"));
        }
        d.extend(r.extra_directives.iter().cloned());
        d
    }

    /// The `#SBATCH` options, in the order of the HEC's own examples. As for Grid
    /// Engine, every value was validated (partitions, times, GRES types) and
    /// `extra_directives` passed Slurm's shape check; `#SBATCH` lines are comments
    /// to bash. Memory is rewritten in whole units, as `--mem` requires (`1.5G` →
    /// `1536M`). Logs: `logs/<name>.<job id>.out` / `.err`, array tasks
    /// `logs/<name>.<array job id>_<task>.out`, as the HEC names them.
    fn slurm_directives(&self) -> Vec<String> {
        use crate::scheduler::slurm::{directives, memory, time};
        let r = &self.resources;
        let id = if self.array.is_some() { "%A_%a" } else { "%j" };
        let secs = |t: &Option<String>| t.as_deref().and_then(time::parse_time_limit);
        let signal_before_s = match (self.notify, secs(&r.h_rt), secs(&r.s_rt)) {
            (true, Some(h), Some(s)) if s < h => Some(h - s),
            _ => None,
        };
        let req = directives::Request {
            name: self.name.clone(),
            partition: self.queue.clone(),
            stdout: format!("{LOG_DIR}/%x.{id}.out"),
            stderr: format!("{LOG_DIR}/%x.{id}.err"),
            mem: r.h_vmem.as_deref().map(|m| {
                memory::parse_rss(m).map_or_else(|| m.to_string(), memory::format_mem_request)
            }),
            time: r.h_rt.clone(),
            cpus: r.ncpus,
            gpus: r.ngpus.unwrap_or(0),
            gpu_type: r.gpu_type.clone(),
            array: self.array.as_ref().map(|a| (a.tasks, a.max_concurrent)),
            signal_before_s,
            extra: r.extra_directives.clone(),
        };
        directives::lines(&req)
    }
}
