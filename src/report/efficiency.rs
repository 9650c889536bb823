//! Efficiency, per task and for the sweep: what the train job asked for
//! against what it used (seff's question, with the GPU included), and what to
//! ask for next time.
//!
//! Three sources, each optional, and every figure says where it came from or
//! why it is missing:
//! - the requests: the rendered `config.yaml` (`cluster.jobs.train`);
//! - the scheduler's accounting ([`Accounting`], filled from Grid Engine's
//!   qacct or Slurm's sacct): peak memory, elapsed time, CPU time;
//! - the worker's own records (metrics.json): peak RSS, GPU name, total and
//!   peak memory, mean utilization and energy through NVML.
//!
//! The suggestion takes the largest use over the finished tasks (all tasks
//! when none finished), adds headroom and rounds up the way requests are
//! written (`12G`, `"01:30:00"`); the GPU type is the smallest of the site's
//! types (`cluster.gpu_types`, else the HEC's: [`hec_gpus`]) whose memory
//! holds the peak with headroom.

use super::accounting::{self, Accounting};
use super::row::Status;
use super::Report;
use crate::experiment::config::JobResources;
use serde::Serialize;

/// Headroom over the largest use, for memory and GPU memory.
pub const MEMORY_HEADROOM: f64 = 1.2;
/// Headroom over the longest run, plus a fixed margin for load and save.
pub const TIME_HEADROOM: f64 = 1.25;
pub const TIME_MARGIN_SECONDS: f64 = 600.0;
/// Requests below this share of use are flagged.
const LOW_USE: f64 = 0.5;

/// A GPU type of a site: its name as users ask for it and its memory.
#[derive(Debug, Clone, Serialize)]
pub struct GpuType {
    pub name: String,
    /// `--gres=gpu:<gres>:1` on Slurm, where the site has a type for it.
    pub gres: Option<String>,
    /// Memory as NVML reports the card's total, bytes.
    pub memory_bytes: u64,
    /// Where it is, or what else to know before asking for it.
    pub note: String,
}

const MIB: u64 = 1024 * 1024;

/// The HEC's GPU types (../shared/notes/hec-slurm.md), smallest memory first:
/// the types a config without `cluster.gpu_types` is suggested.
pub fn hec_gpus() -> Vec<GpuType> {
    let t = |name: &str, gres: &str, mib: u64, note: &str| GpuType {
        name: name.into(),
        gres: Some(gres.into()),
        memory_bytes: mib * MIB,
        note: note.into(),
    };
    vec![
        t(
            "V100",
            "tesla_v100-pcie-32gb",
            32_768,
            "gpu-short/medium/long; CUDA up to 12.9 only, so install a torch build for CUDA 12.x",
        ),
        t("L40", "nvidia_l40", 46_068, "astro partition"),
        t("L40S", "nvidia_l40s", 46_068, "astro partition"),
        t("H200", "nvidia_h200_nvl", 143_771, "gpu-short/medium/long"),
    ]
}

/// [`SiteGpus::site`] of the built-in types.
const HEC_SITE: &str = "the HEC";

/// The GPU types a suggestion picks from, and whose they are.
#[derive(Debug, Clone, Serialize)]
pub struct SiteGpus {
    /// `the HEC` (built in) or `cluster.gpu_types`.
    pub site: String,
    /// Smallest memory first.
    pub types: Vec<GpuType>,
}

impl Default for SiteGpus {
    fn default() -> SiteGpus {
        SiteGpus {
            site: HEC_SITE.into(),
            types: hec_gpus(),
        }
    }
}

impl SiteGpus {
    /// `cluster.gpu_types` when the config lists any (validated: every memory
    /// parses), else the HEC's.
    pub fn from_config(types: &[crate::experiment::config::SiteGpu]) -> SiteGpus {
        if types.is_empty() {
            return SiteGpus::default();
        }
        let mut types: Vec<GpuType> = types
            .iter()
            .map(|g| GpuType {
                name: g.name.clone(),
                gres: g.gres.clone(),
                memory_bytes: crate::scheduler::resources::parse_memory(&g.memory).unwrap_or(0),
                note: g.note.clone().unwrap_or_default(),
            })
            .collect();
        types.sort_by_key(|t| t.memory_bytes);
        SiteGpus {
            site: "cluster.gpu_types".into(),
            types,
        }
    }
}

/// What the train job asked for.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Requests {
    /// Where the requests were read (the rendered config.yaml).
    pub source: String,
    pub memory: Option<String>,
    pub memory_bytes: Option<u64>,
    pub time: Option<String>,
    pub time_seconds: Option<f64>,
    pub cpus: Option<u32>,
    pub gpus: Option<u32>,
    /// The site's GPU types, for the suggestion.
    #[serde(skip)]
    pub site_gpus: SiteGpus,
}

impl Requests {
    pub fn from_job(job: &JobResources, source: &str) -> Requests {
        Requests {
            source: source.to_string(),
            memory: job.h_vmem.as_ref().map(|m| m.to_string()),
            memory_bytes: job.h_vmem.as_ref().map(|m| m.bytes()),
            time: job.h_rt.as_ref().map(|t| t.to_string()),
            time_seconds: job.h_rt.as_ref().map(|t| t.secs() as f64),
            // Grid Engine and Slurm give a job one CPU unless it asks for more.
            cpus: Some(job.ncpus.unwrap_or(1)),
            gpus: Some(job.ngpus.unwrap_or(0)),
            site_gpus: SiteGpus::default(),
        }
    }
}

/// requested against used, for one resource of one task.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TaskEfficiency {
    pub task: u32,
    /// The run's folder for runs that are not sweep tasks, else the task id.
    pub key: String,
    pub status: String,
    /// Whether the run finished (the suggestion goes by finished runs).
    #[serde(skip)]
    pub finished: bool,
    pub requested_memory_bytes: Option<u64>,
    /// The scheduler's peak (Grid Engine maxvmem, Slurm MaxRSS).
    pub scheduler_peak_memory_bytes: Option<u64>,
    pub worker_peak_rss_bytes: Option<u64>,
    /// The larger peak over the request.
    pub memory_used_share: Option<f64>,
    pub requested_seconds: Option<f64>,
    pub elapsed_seconds: Option<f64>,
    /// `scheduler` (accounting) or `worker` (metrics.json's clock).
    pub elapsed_source: Option<&'static str>,
    pub time_used_share: Option<f64>,
    pub requested_cpus: Option<u32>,
    pub cpu_seconds: Option<f64>,
    /// CPU time over elapsed time: the cores kept busy on average.
    pub cores_used: Option<f64>,
    /// cores_used over the CPUs asked for.
    pub cpu_efficiency: Option<f64>,
    pub requested_gpus: Option<u32>,
    pub device: Option<String>,
    pub gpu_name: Option<String>,
    pub gpu_total_bytes: Option<u64>,
    /// This process's peak (NVML), else the device's.
    pub gpu_peak_bytes: Option<u64>,
    pub gpu_memory_share: Option<f64>,
    pub gpu_utilization_avg_percent: Option<f64>,
    pub gpu_hours: Option<f64>,
    pub gpu_energy_joules: Option<f64>,
    /// Which figures are missing and why.
    pub missing: Vec<String>,
    /// Requests far above use, or work done without the GPU asked for.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SweepTotals {
    pub tasks: usize,
    pub elapsed_seconds: f64,
    pub cpu_hours: Option<f64>,
    pub gpu_hours: Option<f64>,
    pub gpu_energy_kwh: Option<f64>,
    /// Mean GPU utilization weighted by each task's elapsed time.
    pub gpu_utilization_avg_percent: Option<f64>,
}

/// What to ask for next time.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Suggestion {
    /// `h_vmem` / `--mem`, e.g. `12G`.
    pub memory: Option<String>,
    /// `h_rt` / `--time`, `HH:MM:SS`.
    pub time: Option<String>,
    pub cpus: Option<u32>,
    pub gpu_type: Option<GpuType>,
    /// Whose type it is: `the HEC` or `cluster.gpu_types`.
    pub gpu_site: Option<String>,
    /// The same as config YAML, ready to paste under `cluster.jobs`.
    pub yaml: Option<String>,
    /// How each value was reached.
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Efficiency {
    pub requests: Option<Requests>,
    /// Where accounting came from, or why there is none.
    pub accounting: String,
    pub tasks: Vec<TaskEfficiency>,
    pub totals: SweepTotals,
    pub suggestion: Suggestion,
}

/// The efficiency of the report's shown tasks against `requests`.
pub fn compute(report: &Report, requests: Option<&Requests>) -> Efficiency {
    let tasks: Vec<TaskEfficiency> = report
        .rows
        .iter()
        .map(|r| {
            let mut t = task(
                report,
                r.task,
                &r.status,
                requests,
                report.accounting.get(&r.task),
            );
            t.key = r.key();
            t
        })
        .collect();
    let totals = totals(&tasks);
    let suggestion = suggest(&tasks, requests);
    Efficiency {
        requests: requests.cloned(),
        accounting: report.accounting_note.clone(),
        tasks,
        totals,
        suggestion,
    }
}

fn share(used: Option<f64>, asked: Option<f64>) -> Option<f64> {
    match (used, asked) {
        (Some(u), Some(a)) if a > 0.0 => Some(u / a),
        _ => None,
    }
}

fn task(
    report: &Report,
    id: u32,
    status: &Status,
    req: Option<&Requests>,
    acct: Option<&Accounting>,
) -> TaskEfficiency {
    let run = report.runs.get(&id);
    let mut t = TaskEfficiency {
        task: id,
        status: status.to_string(),
        finished: *status == Status::Finished,
        ..Default::default()
    };
    if req.is_none() {
        t.missing.push(
            "requests: no rendered config.yaml beside the tasks (report a jobs directory to compare with them)".into(),
        );
    }
    if acct.is_none() {
        t.missing.push(if report.accounting_found {
            format!(
                "scheduler accounting: {} has no record of task {id} yet",
                report.accounting_note
            )
        } else {
            format!("scheduler accounting: {}", report.accounting_note)
        });
    }
    if run.is_none() {
        t.missing
            .push("worker records: no readable metrics.json".into());
    }
    // Memory.
    t.requested_memory_bytes = req.and_then(|r| r.memory_bytes);
    t.scheduler_peak_memory_bytes = acct.and_then(accounting::Accounting::peak_memory_bytes);
    t.worker_peak_rss_bytes = run.and_then(|m| m.memory.peak_rss_bytes);
    let peak = t
        .scheduler_peak_memory_bytes
        .max(t.worker_peak_rss_bytes)
        .map(|b| b as f64);
    t.memory_used_share = share(peak, t.requested_memory_bytes.map(|b| b as f64));
    // Time.
    t.requested_seconds = req.and_then(|r| r.time_seconds);
    if let Some(w) = acct.and_then(|a| a.wallclock_seconds) {
        t.elapsed_seconds = Some(w);
        t.elapsed_source = Some("scheduler");
    } else if let Some(m) = run {
        t.elapsed_seconds = Some(m.total_seconds);
        t.elapsed_source = Some("worker");
    }
    t.time_used_share = share(t.elapsed_seconds, t.requested_seconds);
    // CPUs.
    t.requested_cpus = req.and_then(|r| r.cpus);
    t.cpu_seconds = acct.and_then(|a| a.cpu_seconds);
    if acct.is_some() && t.cpu_seconds.is_none() {
        t.missing
            .push("CPU time: the accounting record has none".into());
    }
    t.cores_used = match (t.cpu_seconds, acct.and_then(|a| a.wallclock_seconds)) {
        (Some(c), Some(w)) if w > 0.0 => Some(c / w),
        _ => None,
    };
    t.cpu_efficiency = share(t.cores_used, t.requested_cpus.map(f64::from));
    // GPU.
    t.requested_gpus = req.and_then(|r| r.gpus);
    if let Some(m) = run {
        gpu_figures(&mut t, m);
    }
    warn_low_use(&mut t);
    t
}

/// The worker's GPU figures (or why there are none), GPU hours, and the
/// warning when GPUs were asked for but the run trained elsewhere.
fn gpu_figures(t: &mut TaskEfficiency, m: &crate::jobdir::metrics::RunMetrics) {
    t.device = Some(m.device.clone());
    let mem = &m.memory;
    if mem.gpu_available {
        t.gpu_name = mem.gpu_name.clone();
        t.gpu_total_bytes = mem.gpu_total_bytes;
        t.gpu_peak_bytes = mem
            .peak_gpu_process_used_bytes
            .or(mem.peak_gpu_device_used_bytes);
        t.gpu_memory_share = share(
            t.gpu_peak_bytes.map(|b| b as f64),
            t.gpu_total_bytes.map(|b| b as f64),
        );
        t.gpu_utilization_avg_percent = mem.gpu_utilization_avg_percent;
        t.gpu_energy_joules = mem.gpu_energy_joules;
        if mem.gpu_total_bytes.is_none() {
            t.missing
                .push("GPU total memory: not recorded (metrics.json from an older hecjob)".into());
        }
        if mem.gpu_utilization_avg_percent.is_none() {
            t.missing.push(
                "GPU utilization: not recorded (NVML gave no reading, or an older hecjob)".into(),
            );
        }
        if mem.gpu_energy_joules.is_none() {
            t.missing.push(format!(
                "GPU energy: {}",
                mem.gpu_energy_unavailable_reason
                    .as_deref()
                    .unwrap_or("NVML gave no energy reading")
            ));
        }
    } else {
        t.missing.push(format!(
            "GPU figures: {}",
            mem.gpu_unavailable_reason
                .as_deref()
                .unwrap_or("NVML was not read")
        ));
    }
    let on_gpu = m.device.to_ascii_lowercase().contains("cuda");
    // A run that trained on CUDA held at least one GPU, asked for or not (a
    // partition's default GPU): its hours count.
    let gpus = t.requested_gpus.unwrap_or(0).max(u32::from(on_gpu));
    if gpus > 0 {
        t.gpu_hours = t.elapsed_seconds.map(|s| s * f64::from(gpus) / 3600.0);
        if !on_gpu {
            t.warnings.push(format!(
                "asked for {gpus} GPU{} but trained on {}: the GPU time was wasted",
                if gpus == 1 { "" } else { "s" },
                m.device
            ));
        }
    }
}

/// Warnings for memory, CPUs or a GPU asked for and left mostly idle.
fn warn_low_use(t: &mut TaskEfficiency) {
    if let Some(s) = t.memory_used_share.filter(|s| *s < LOW_USE) {
        t.warnings
            .push(format!("used {:.0} % of the memory asked for", s * 100.0));
    }
    if let Some(s) = t.cpu_efficiency.filter(|s| *s < LOW_USE) {
        t.warnings.push(format!(
            "kept {:.0} % of the CPUs asked for busy",
            s * 100.0
        ));
    }
    if let Some(u) = t.gpu_utilization_avg_percent.filter(|u| *u < 50.0) {
        t.warnings.push(format!(
            "the GPU was busy {u:.0} % of the time (input pipeline or small batches?)"
        ));
    }
}

fn totals(tasks: &[TaskEfficiency]) -> SweepTotals {
    let sum = |f: fn(&TaskEfficiency) -> Option<f64>| {
        let v: Vec<f64> = tasks.iter().filter_map(f).collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>())
    };
    let weighted: Vec<(f64, f64)> = tasks
        .iter()
        .filter_map(|t| Some((t.gpu_utilization_avg_percent?, t.elapsed_seconds?)))
        .collect();
    let wsum: f64 = weighted.iter().map(|(_, w)| w).sum();
    SweepTotals {
        tasks: tasks.len(),
        elapsed_seconds: sum(|t| t.elapsed_seconds).unwrap_or(0.0),
        cpu_hours: sum(|t| t.cpu_seconds).map(|s| s / 3600.0),
        gpu_hours: sum(|t| t.gpu_hours),
        gpu_energy_kwh: sum(|t| t.gpu_energy_joules).map(|j| j / 3.6e6),
        gpu_utilization_avg_percent: (wsum > 0.0)
            .then(|| weighted.iter().map(|(u, w)| u * w).sum::<f64>() / wsum),
    }
}

/// Memory as users write it: whole GiB on a 1-2-3-4-6-8-12-16… ladder.
pub fn memory_request(bytes: f64) -> String {
    const LADDER: [u64; 20] = [
        1, 2, 3, 4, 6, 8, 10, 12, 16, 20, 24, 32, 40, 48, 64, 80, 96, 128, 192, 256,
    ];
    let gib = bytes / (1u64 << 30) as f64;
    let g = LADDER
        .iter()
        .copied()
        .find(|g| *g as f64 >= gib)
        .unwrap_or_else(|| (gib / 64.0).ceil() as u64 * 64);
    format!("{g}G")
}

/// A time limit as users write it: `HH:MM:SS`, rounded up to 15 minutes
/// (5 minutes under an hour).
pub fn time_request(seconds: f64) -> String {
    let step = if seconds < 3600.0 { 300.0 } else { 900.0 };
    let s = ((seconds / step).ceil() * step) as u64;
    crate::scheduler::resources::format_hms(s)
}

fn suggest(tasks: &[TaskEfficiency], req: Option<&Requests>) -> Suggestion {
    let finished: Vec<&TaskEfficiency> = tasks.iter().filter(|t| t.finished).collect();
    let basis: Vec<&TaskEfficiency> = if finished.is_empty() {
        tasks.iter().collect()
    } else {
        finished
    };
    let over = if basis.len() == tasks.len() {
        format!(
            "the {} task{}",
            basis.len(),
            if basis.len() == 1 { "" } else { "s" }
        )
    } else {
        format!(
            "the {} finished task{}",
            basis.len(),
            if basis.len() == 1 { "" } else { "s" }
        )
    };
    let max = |f: &dyn Fn(&TaskEfficiency) -> Option<f64>| {
        basis
            .iter()
            .filter_map(|t| f(t))
            .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))
    };
    let human = |b: f64| super::format::human_bytes(b as u64);
    let mut s = Suggestion::default();
    // The request is judged against the scheduler's own peak: Grid Engine's
    // h_vmem limits virtual memory, which a process (a CUDA one above all)
    // holds far more of than its RSS, so an RSS-based request could kill the
    // job. Without the scheduler's figure the request is kept.
    let sched = max(&|t| t.scheduler_peak_memory_bytes.map(|b| b as f64));
    let rss = max(&|t| t.worker_peak_rss_bytes.map(|b| b as f64));
    match (sched, rss) {
        (Some(m), rss) => {
            let m = m.max(rss.unwrap_or(0.0));
            let v = memory_request(m * MEMORY_HEADROOM);
            s.reasons.push(format!(
                "memory {v}: the largest peak over {over} was {} (+{:.0} %)",
                human(m),
                (MEMORY_HEADROOM - 1.0) * 100.0
            ));
            s.memory = Some(v);
        }
        (None, Some(r)) => {
            s.memory = req.and_then(|q| q.memory.clone());
            s.reasons.push(format!(
                "memory: {}; the scheduler's peak is unknown and the worker's RSS ({}) says \
                 too little about the virtual memory h_vmem limits",
                if s.memory.is_some() {
                    "kept as asked"
                } else {
                    "no suggestion"
                },
                human(r)
            ));
        }
        (None, None) => s.memory = req.and_then(|q| q.memory.clone()),
    }
    let any_finished = tasks.iter().any(|t| t.finished);
    if any_finished {
        if let Some(e) = max(&|t| t.elapsed_seconds) {
            let v = time_request(e * TIME_HEADROOM + TIME_MARGIN_SECONDS);
            s.reasons.push(format!(
                "time {v}: the longest of {over} took {} (+{:.0} % and {} min)",
                super::format::human_duration(e),
                (TIME_HEADROOM - 1.0) * 100.0,
                TIME_MARGIN_SECONDS / 60.0
            ));
            s.time = Some(v);
        }
    } else {
        s.reasons
            .push("time: kept as asked; no task has finished, so no run length to go by".into());
        s.time = req.and_then(|q| q.time.clone());
    }
    if let Some(c) = max(&|t| t.cores_used) {
        let v = ((c * 1.2).ceil() as u32).max(1);
        s.reasons.push(format!(
            "CPUs {v}: at most {c:.1} cores were kept busy on average"
        ));
        s.cpus = Some(v);
    } else if let Some(c) = req.and_then(|q| q.cpus) {
        s.reasons
            .push("CPUs: kept as asked (no CPU time in the accounting)".into());
        s.cpus = Some(c);
    }
    if let Some(g) = max(&|t| t.gpu_peak_bytes.map(|b| b as f64)) {
        let hec = SiteGpus::default();
        suggest_gpu(&mut s, g, req.map_or(&hec, |r| &r.site_gpus));
    }
    s.yaml = suggestion_yaml(&s, req);
    s
}

/// The smallest of the site's GPUs that holds the peak GPU memory `g` with headroom.
fn suggest_gpu(s: &mut Suggestion, g: f64, site: &SiteGpus) {
    let human = |b: f64| super::format::human_bytes(b as u64);
    let need = g * MEMORY_HEADROOM;
    match site.types.iter().find(|t| t.memory_bytes as f64 >= need) {
        Some(t) => {
            s.reasons.push(format!(
                "GPU {}: the peak GPU memory was {} (+{:.0} % = {}); the smallest GPU of {} that holds it ({}{})",
                t.name,
                human(g),
                (MEMORY_HEADROOM - 1.0) * 100.0,
                human(need),
                site.site,
                human(t.memory_bytes as f64),
                if t.note.is_empty() { String::new() } else { format!(", {}", t.note) }
            ));
            s.gpu_type = Some(t.clone());
            s.gpu_site = Some(site.site.clone());
        }
        None => s.reasons.push(format!(
            "GPU: the peak GPU memory {} is more than any GPU of {} holds; use a smaller batch or bf16",
            human(g),
            site.site
        )),
    }
}

impl Suggestion {
    /// The GPU type to ask for, as a comment under the suggested YAML:
    /// `# on the HEC's Slurm: --gres=gpu:nvidia_l40:1 (astro partition)`.
    pub fn gpu_comment(&self) -> Option<String> {
        let g = self.gpu_type.as_ref()?;
        let site = self.gpu_site.as_deref().unwrap_or("the site");
        let note = if g.note.is_empty() {
            String::new()
        } else {
            format!(" ({})", g.note)
        };
        Some(match &g.gres {
            Some(gres) if site == HEC_SITE => {
                format!("# on the HEC's Slurm: --gres=gpu:{gres}:1{note}")
            }
            Some(gres) => format!("# GPU {} ({site}): --gres=gpu:{gres}:1{note}", g.name),
            None => format!("# GPU {} ({site}){note}", g.name),
        })
    }
}

/// The suggestion as the `cluster.jobs.train` YAML to paste (`None`: nothing to suggest).
fn suggestion_yaml(s: &Suggestion, req: Option<&Requests>) -> Option<String> {
    let mut yaml = Vec::new();
    if let Some(m) = &s.memory {
        yaml.push(format!("h_vmem: {m}"));
    }
    if let Some(t) = &s.time {
        yaml.push(format!("h_rt: \"{t}\""));
    }
    if let Some(c) = s.cpus {
        yaml.push(format!("ncpus: {c}"));
    }
    if let Some(g) = req.and_then(|r| r.gpus) {
        yaml.push(format!("ngpus: {g}"));
    }
    (!yaml.is_empty()).then(|| format!("cluster:\n  jobs:\n    train: {{ {} }}", yaml.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_rounded_as_people_write_them() {
        let gib = (1u64 << 30) as f64;
        assert_eq!(memory_request(0.3 * gib), "1G");
        assert_eq!(memory_request(4.1 * gib), "6G");
        assert_eq!(memory_request(12.0 * gib), "12G");
        assert_eq!(memory_request(300.0 * gib), "320G");
        assert_eq!(time_request(61.0), "00:05:00");
        assert_eq!(time_request(3599.0), "01:00:00");
        assert_eq!(time_request(3601.0), "01:15:00");
    }

    #[test]
    fn smallest_hec_gpu_first() {
        let mut sizes: Vec<u64> = hec_gpus().iter().map(|g| g.memory_bytes).collect();
        let sorted = {
            let mut s = sizes.clone();
            s.sort();
            s
        };
        assert_eq!(sizes, sorted);
        sizes.dedup();
        assert_eq!(sizes.len(), 3);
    }

    /// A site's own types (`cluster.gpu_types`), in any order, replace the
    /// HEC's: the smallest that holds the peak with headroom is suggested,
    /// named with the site's GRES type.
    #[test]
    fn a_sites_own_gpu_types_are_suggested() {
        let gpu =
            |name: &str, memory: &str, gres: Option<&str>| crate::experiment::config::SiteGpu {
                name: name.into(),
                memory: memory.into(),
                gres: gres.map(str::to_string),
                note: None,
            };
        let site = SiteGpus::from_config(&[
            gpu("A100-80GB", "80G", Some("nvidia_a100_80gb")),
            gpu("T4", "16G", None),
            gpu("A100-40GB", "40G", Some("nvidia_a100_40gb")),
        ]);
        let names: Vec<&str> = site.types.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["T4", "A100-40GB", "A100-80GB"]);
        let gib = (1u64 << 30) as f64;
        let mut s = Suggestion::default();
        suggest_gpu(&mut s, 20.0 * gib, &site);
        assert_eq!(s.gpu_type.as_ref().unwrap().name, "A100-40GB");
        assert!(
            s.reasons[0].contains("the smallest GPU of cluster.gpu_types"),
            "{:?}",
            s.reasons
        );
        assert_eq!(
            s.gpu_comment().unwrap(),
            "# GPU A100-40GB (cluster.gpu_types): --gres=gpu:nvidia_a100_40gb:1"
        );
        let mut small = Suggestion::default();
        suggest_gpu(&mut small, 10.0 * gib, &site);
        assert_eq!(small.gpu_comment().unwrap(), "# GPU T4 (cluster.gpu_types)");
        let mut none = Suggestion::default();
        suggest_gpu(&mut none, 70.0 * gib, &site);
        assert!(none.gpu_type.is_none());
        assert!(none.reasons[0].contains("more than any GPU of cluster.gpu_types holds"));
        // Without the key: the HEC's, as before.
        let mut hec = Suggestion::default();
        suggest_gpu(&mut hec, 20.0 * gib, &SiteGpus::from_config(&[]));
        assert_eq!(
            hec.gpu_comment().unwrap(),
            "# on the HEC's Slurm: --gres=gpu:tesla_v100-pcie-32gb:1 (gpu-short/medium/long; CUDA up to 12.9 only, so install a torch build for CUDA 12.x)"
        );
    }
}
