//! Memory records while training: GPU memory through NVML (the device's used
//! memory and this process's, the card's total), GPU utilization and energy
//! through NVML, RAM through sysinfo (this process's RSS).
//!
//! A background thread samples every `interval`; peaks are over all samples.
//! A resumed run starts the monitor with the earlier attempts' [`Totals`]
//! (kept in the checkpoint): peaks, the mean utilization and the energy then
//! cover every attempt, not only the last; the samples are this attempt's.
//! tch exposes no CUDA allocator statistics, so NVML is the source of GPU figures.
//! Without NVML (no driver, a CPU machine) the run goes on and the record says why.

use crate::jobdir::metrics::{MemoryRecord, MemorySample};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Keep at most this many samples (older ones are thinned) so long runs stay small.
const MAX_SAMPLES: usize = 2000;

pub struct Monitor {
    stop: Arc<AtomicBool>,
    record: Arc<Mutex<MemoryRecord>>,
    /// Every attempt's figures so far, this one's included.
    totals: Arc<Mutex<Totals>>,
    /// The newest sample, kept or not (the record's samples are thinned).
    latest: Arc<Mutex<Option<MemorySample>>>,
    handle: Option<JoinHandle<()>>,
}

/// What the monitor measured over every attempt of a run so far: carried in
/// the checkpoint from one attempt (process) to the next, so that a requeued
/// run's record covers all of its attempts. Sums and counts, not means, so
/// the mean over all samples comes out exact.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Totals {
    pub gpu_utilization_sum: f64,
    pub gpu_utilization_samples: u64,
    /// Joules, each attempt's rise of the energy counter added up; None when
    /// no attempt read one.
    pub gpu_energy_joules: Option<f64>,
    /// An attempt that read the GPU got no energy figure: the sum would fall
    /// short, so the run has none.
    pub gpu_energy_gap: bool,
    pub peak_gpu_device_used_bytes: Option<u64>,
    pub peak_gpu_process_used_bytes: Option<u64>,
    pub peak_rss_bytes: Option<u64>,
}

impl Totals {
    pub fn mean_utilization(&self) -> Option<f64> {
        (self.gpu_utilization_samples > 0)
            .then(|| self.gpu_utilization_sum / self.gpu_utilization_samples as f64)
    }

    pub fn energy_joules(&self) -> Option<f64> {
        self.gpu_energy_joules.filter(|_| !self.gpu_energy_gap)
    }
}

/// Running GPU figures of this attempt that are not peaks, over the earlier
/// attempts' [`Totals`]: utilization readings and the energy counter's rise
/// since this attempt's first reading.
#[derive(Debug, Default)]
struct GpuTotals {
    earlier: Totals,
    util_sum: f64,
    util_n: u64,
    read_gpu: bool,
    energy_first_mj: Option<u64>,
    energy_last_mj: Option<u64>,
}

impl GpuTotals {
    fn after(earlier: Totals) -> GpuTotals {
        GpuTotals {
            earlier,
            ..GpuTotals::default()
        }
    }

    fn add(&mut self, util: Option<u32>, energy_mj: Option<u64>) {
        if let Some(u) = util {
            self.util_sum += f64::from(u);
            self.util_n += 1;
            self.read_gpu = true;
        }
        if let Some(e) = energy_mj {
            self.energy_first_mj.get_or_insert(e);
            self.energy_last_mj = Some(e);
            self.read_gpu = true;
        }
    }

    /// Joules between this attempt's first and last reading (the counter is
    /// in mJ since the driver loaded, so only the difference means anything).
    fn attempt_energy_joules(&self) -> Option<f64> {
        match (self.energy_first_mj, self.energy_last_mj) {
            (Some(a), Some(b)) if b >= a => Some((b - a) as f64 / 1000.0),
            _ => None,
        }
    }

    /// The earlier attempts' figures with this attempt's added (peaks aside:
    /// the record keeps those).
    fn combined(&self) -> Totals {
        let mut t = self.earlier.clone();
        t.gpu_utilization_sum += self.util_sum;
        t.gpu_utilization_samples += self.util_n;
        match self.attempt_energy_joules() {
            Some(j) => t.gpu_energy_joules = Some(t.gpu_energy_joules.unwrap_or(0.0) + j),
            // A GPU read without an energy rise (no counter, or it went
            // backwards on a driver reload): a sum would be short.
            None if self.read_gpu => t.gpu_energy_gap = true,
            None => {}
        }
        t
    }
}

/// What `hecjob predict` sizes its GPU batches and picks its precision from:
/// the card CUDA device 0 of this process is, read once through NVML.
#[derive(Debug, Clone, PartialEq)]
pub struct GpuFacts {
    pub name: Option<String>,
    /// Memory not yet used on the card (after the model was loaded onto it).
    pub free_bytes: u64,
    /// CUDA compute capability (major, minor): 8.0 and newer have bf16
    /// tensor cores, 7.x fp16 ones.
    pub capability: Option<(i32, i32)>,
}

impl GpuFacts {
    /// Read them now; the error says why NVML could not.
    pub fn read() -> Result<GpuFacts, String> {
        let gpu = Gpu::open()?;
        let dev = gpu
            .nvml
            .device_by_index(gpu.index)
            .map_err(|e| format!("NVML: {e}"))?;
        let free_bytes = dev.memory_info().map_err(|e| format!("NVML: {e}"))?.free;
        Ok(GpuFacts {
            name: dev.name().ok(),
            free_bytes,
            capability: dev
                .cuda_compute_capability()
                .ok()
                .map(|c| (c.major, c.minor)),
        })
    }
}

/// One GPU reading.
#[derive(Debug, Default)]
struct GpuSample {
    device_used: Option<u64>,
    process_used: Option<u64>,
    utilization: Option<u32>,
    energy_mj: Option<u64>,
}

struct Gpu {
    nvml: nvml_wrapper::Nvml,
    index: u32,
}

impl Gpu {
    /// The NVML device behind CUDA device 0 of this process (CUDA_VISIBLE_DEVICES
    /// renumbers devices; NVML does not).
    fn open() -> Result<Gpu, String> {
        let nvml = nvml_wrapper::Nvml::init().map_err(|e| format!("NVML unavailable: {e}"))?;
        let count = nvml.device_count().map_err(|e| format!("NVML: {e}"))?;
        if count == 0 {
            return Err("NVML sees no GPU".into());
        }
        let index = match crate::util::env_vars::get(crate::util::env_vars::CUDA_VISIBLE_DEVICES) {
            Some(v) => {
                let first = v.split(',').next().unwrap_or("").trim().to_string();
                if let Ok(i) = first.parse::<u32>() {
                    i
                } else {
                    (0..count)
                        .find(|&i| {
                            nvml.device_by_index(i)
                                .and_then(|d| d.uuid())
                                .map(|u| u == first)
                                .unwrap_or(false)
                        })
                        .unwrap_or(0)
                }
            }
            None => 0,
        };
        Ok(Gpu { nvml, index })
    }

    /// The card's name and total memory.
    fn describe(&self) -> (Option<String>, Option<u64>) {
        match self.nvml.device_by_index(self.index) {
            Ok(d) => (d.name().ok(), d.memory_info().ok().map(|m| m.total)),
            Err(_) => (None, None),
        }
    }

    /// Whether the card has an energy counter (Volta and newer), and if not why.
    fn energy_reason(&self) -> Option<String> {
        let dev = self.nvml.device_by_index(self.index).ok()?;
        dev.total_energy_consumption()
            .err()
            .map(|e| format!("NVML reports no energy counter for this GPU ({e})"))
    }

    fn sample(&self, pid: u32) -> GpuSample {
        let Ok(dev) = self.nvml.device_by_index(self.index) else {
            return GpuSample::default();
        };
        let process_used = dev.running_compute_processes().ok().and_then(|ps| {
            ps.iter()
                .find(|p| p.pid == pid)
                .and_then(|p| match p.used_gpu_memory {
                    nvml_wrapper::enums::device::UsedGpuMemory::Used(b) => Some(b),
                    nvml_wrapper::enums::device::UsedGpuMemory::Unavailable => None,
                })
        });
        GpuSample {
            device_used: dev.memory_info().ok().map(|m| m.used),
            process_used,
            utilization: dev.utilization_rates().ok().map(|u| u.gpu),
            energy_mj: dev.total_energy_consumption().ok(),
        }
    }
}

fn rss_bytes(sys: &mut sysinfo::System, pid: sysinfo::Pid) -> Option<u64> {
    sys.refresh_processes_specifics(
        sysinfo::ProcessesToUpdate::Some(&[pid]),
        true,
        sysinfo::ProcessRefreshKind::nothing().with_memory(),
    );
    sys.process(pid).map(|p| p.memory())
}

/// The record a run starts from: the peaks, mean utilization and energy of
/// the `earlier` attempts.
fn record_after(earlier: &Totals) -> MemoryRecord {
    MemoryRecord {
        peak_gpu_device_used_bytes: earlier.peak_gpu_device_used_bytes,
        peak_gpu_process_used_bytes: earlier.peak_gpu_process_used_bytes,
        peak_rss_bytes: earlier.peak_rss_bytes,
        gpu_utilization_avg_percent: earlier.mean_utilization(),
        gpu_energy_joules: earlier.energy_joules(),
        ..MemoryRecord::default()
    }
}

/// The background thread's side of a [`Monitor`]: what it writes and when it stops.
struct Sampler {
    interval: Duration,
    stop: Arc<AtomicBool>,
    record: Arc<Mutex<MemoryRecord>>,
    totals: Arc<Mutex<Totals>>,
    latest: Arc<Mutex<Option<MemorySample>>>,
}

/// Which samples the record keeps: every `every`-th, doubled each time the
/// record is thinned.
struct Thinning {
    every: usize,
    n: usize,
}

impl Sampler {
    /// Sample until stopped: open the GPU, say what it is, then one sample per interval.
    fn run(self, want_gpu: bool, earlier: Totals) {
        let gpu = if want_gpu {
            Gpu::open()
        } else {
            Err("training on the CPU".to_string())
        };
        self.describe_gpu(&gpu, earlier.gpu_energy_gap);
        let pid = std::process::id();
        let spid = sysinfo::Pid::from_u32(pid);
        // sysinfo 0.40: System::new() can fail (no /proc); RSS is then unreported.
        let mut sys = sysinfo::System::new().ok();
        let t0 = Instant::now();
        let mut thinning = Thinning { every: 1, n: 0 };
        let mut gpu_totals = GpuTotals::after(earlier);
        loop {
            let g = match &gpu {
                Ok(g) => g.sample(pid),
                Err(_) => GpuSample::default(),
            };
            gpu_totals.add(g.utilization, g.energy_mj);
            let sample = MemorySample {
                t: t0.elapsed().as_secs_f64(),
                gpu_device_used_bytes: g.device_used,
                gpu_process_used_bytes: g.process_used,
                rss_bytes: sys.as_mut().and_then(|s| rss_bytes(s, spid)),
                gpu_utilization_percent: g.utilization,
            };
            *self.latest.lock().unwrap() = Some(sample.clone());
            self.add(sample, gpu_totals.combined(), &mut thinning);
            if self.stop.load(Ordering::Relaxed) {
                break;
            }
            self.pause();
        }
    }

    /// Write what the GPU is (or why there is none) into the record.
    fn describe_gpu(&self, gpu: &Result<Gpu, String>, earlier_energy_gap: bool) {
        let mut r = self.record.lock().unwrap();
        match gpu {
            Ok(g) => {
                r.gpu_available = true;
                (r.gpu_name, r.gpu_total_bytes) = g.describe();
                r.gpu_energy_unavailable_reason = g.energy_reason().or_else(|| {
                    earlier_energy_gap.then(|| {
                        "an earlier attempt of this run read the GPU without an energy figure"
                            .to_string()
                    })
                });
            }
            Err(why) => r.gpu_unavailable_reason = Some(why.clone()),
        }
    }

    /// Fold one sample into the peaks, the totals and (thinned) the record's samples.
    fn add(&self, sample: MemorySample, all: Totals, thinning: &mut Thinning) {
        let mut r = self.record.lock().unwrap();
        r.peak_gpu_device_used_bytes =
            max_opt(r.peak_gpu_device_used_bytes, sample.gpu_device_used_bytes);
        r.peak_gpu_process_used_bytes =
            max_opt(r.peak_gpu_process_used_bytes, sample.gpu_process_used_bytes);
        r.peak_rss_bytes = max_opt(r.peak_rss_bytes, sample.rss_bytes);
        r.gpu_utilization_avg_percent = all.mean_utilization();
        r.gpu_energy_joules = all.energy_joules();
        *self.totals.lock().unwrap() = Totals {
            peak_gpu_device_used_bytes: r.peak_gpu_device_used_bytes,
            peak_gpu_process_used_bytes: r.peak_gpu_process_used_bytes,
            peak_rss_bytes: r.peak_rss_bytes,
            ..all
        };
        if thinning.n % thinning.every == 0 {
            r.samples.push(sample);
            if r.samples.len() >= MAX_SAMPLES {
                // Thin to every other sample and sample half as often.
                let kept: Vec<MemorySample> = r.samples.iter().step_by(2).cloned().collect();
                r.samples = kept;
                thinning.every *= 2;
            }
        }
        thinning.n += 1;
    }

    /// Wait one interval, in short slices so stop() returns promptly.
    fn pause(&self) {
        let until = Instant::now() + self.interval;
        while Instant::now() < until && !self.stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(20).min(self.interval));
        }
    }
}

impl Monitor {
    /// Start sampling. `want_gpu`: look for NVML (a CPU run skips it and says so).
    pub fn start(interval: Duration, want_gpu: bool) -> Monitor {
        Monitor::start_after(interval, want_gpu, Totals::default())
    }

    /// [`Monitor::start`] for an attempt that continues a run: the record's
    /// peaks, mean utilization and energy cover `earlier` attempts too.
    pub fn start_after(interval: Duration, want_gpu: bool, earlier: Totals) -> Monitor {
        let stop = Arc::new(AtomicBool::new(false));
        let record = Arc::new(Mutex::new(record_after(&earlier)));
        let totals = Arc::new(Mutex::new(earlier.clone()));
        let latest = Arc::new(Mutex::new(None));
        let sampler = Sampler {
            interval,
            stop: stop.clone(),
            record: record.clone(),
            totals: totals.clone(),
            latest: latest.clone(),
        };
        let handle = std::thread::Builder::new()
            .name("hecjob-monitor".into())
            .spawn(move || sampler.run(want_gpu, earlier))
            .expect("spawning monitor thread");
        Monitor {
            stop,
            record,
            totals,
            latest,
            handle: Some(handle),
        }
    }

    /// The newest sample (for logging memory beside the loss).
    pub fn latest(&self) -> Option<MemorySample> {
        self.latest.lock().unwrap().clone()
    }

    /// The record so far (peaks and samples).
    pub fn snapshot(&self) -> MemoryRecord {
        self.record.lock().unwrap().clone()
    }

    /// Every attempt's figures so far, for the checkpoint.
    pub fn totals(&self) -> Totals {
        self.totals.lock().unwrap().clone()
    }

    /// Stop sampling (one last sample is taken) and return the record.
    pub fn finish(self) -> MemoryRecord {
        self.finish_with_totals().0
    }

    /// [`Monitor::finish`], with [`Monitor::totals`] after the last sample.
    pub fn finish_with_totals(mut self) -> (MemoryRecord, Totals) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        (self.snapshot(), self.totals())
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn max_opt(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_rss_and_explains_missing_gpu() {
        let m = Monitor::start(Duration::from_millis(10), false);
        // Samples before the allocation give the baseline (libtorch alone is
        // well over 50 MB, so an absolute bound would prove nothing).
        std::thread::sleep(Duration::from_millis(50));
        let big: Vec<u8> = vec![1; 200_000_000];
        std::thread::sleep(Duration::from_millis(100));
        let r = m.finish();
        std::hint::black_box(&big);
        assert!(!r.gpu_available);
        assert_eq!(
            r.gpu_unavailable_reason.as_deref(),
            Some("training on the CPU")
        );
        let baseline = r.samples.iter().filter_map(|s| s.rss_bytes).min().unwrap();
        let peak = r.peak_rss_bytes.unwrap();
        assert!(
            peak >= baseline + 150_000_000,
            "peak {peak} vs baseline {baseline}"
        );
        assert!(r.samples.len() >= 2);
        assert!(r
            .samples
            .iter()
            .all(|s| s.gpu_utilization_percent.is_none()));
        assert_eq!(r.gpu_utilization_avg_percent, None);
        assert_eq!(r.gpu_energy_joules, None);
    }

    #[test]
    fn gpu_totals_mean_and_energy_difference() {
        let mut t = GpuTotals::default();
        let c = t.combined();
        assert_eq!((c.mean_utilization(), c.energy_joules()), (None, None));
        t.add(Some(90), Some(1_000_000));
        t.add(None, None);
        t.add(Some(60), Some(1_250_500));
        let c = t.combined();
        assert_eq!(c.mean_utilization(), Some(75.0));
        assert_eq!(c.energy_joules(), Some(250.5));
        // A counter that went backwards (driver reload) gives no figure rather than a wrong one.
        t.add(None, Some(10));
        assert_eq!(t.combined().energy_joules(), None);
    }

    #[test]
    fn a_resumed_attempt_adds_to_the_earlier_ones() {
        // Attempt 1, as NVML would read it: 3 samples at 90, 90, 60 %, the
        // counter rising 400 J.
        let mut first = GpuTotals::default();
        first.add(Some(90), Some(5_000_000));
        first.add(Some(90), Some(5_200_000));
        first.add(Some(60), Some(5_400_000));
        let carried = first.combined();
        assert_eq!(carried.mean_utilization(), Some(80.0));
        // Through the checkpoint (JSON) to attempt 2, on a node whose counter
        // starts elsewhere: one sample at 40 %, a rise of 100.5 J.
        let json = serde_json::to_string(&carried).unwrap();
        let mut second = GpuTotals::after(serde_json::from_str(&json).unwrap());
        second.add(Some(40), Some(70_000_000));
        second.add(None, Some(70_100_500));
        let all = second.combined();
        // The mean over all 4 samples (not the mean of the two means, 60).
        assert_eq!(all.mean_utilization(), Some(70.0));
        assert_eq!(all.energy_joules(), Some(500.5));
        // An attempt on a GPU without an energy counter leaves the sum short:
        // the run then has no energy figure, now or after later attempts.
        let mut third = GpuTotals::after(all);
        third.add(Some(50), None);
        let gap = third.combined();
        assert_eq!(gap.energy_joules(), None);
        assert_eq!(gap.mean_utilization(), Some(66.0));
        let mut fourth = GpuTotals::after(gap);
        fourth.add(Some(50), Some(1_000));
        fourth.add(Some(50), Some(2_000));
        assert_eq!(fourth.combined().energy_joules(), None);
        // An attempt on the CPU reads no GPU and changes nothing.
        let mut cpu = GpuTotals::after(carried.clone());
        cpu.add(None, None);
        assert_eq!(cpu.combined(), carried);
    }

    #[test]
    fn a_resumed_monitor_keeps_the_earlier_peaks() {
        let earlier = Totals {
            peak_rss_bytes: Some(1 << 50),
            gpu_utilization_sum: 150.0,
            gpu_utilization_samples: 2,
            gpu_energy_joules: Some(12.5),
            ..Totals::default()
        };
        let m = Monitor::start_after(Duration::from_millis(10), false, earlier.clone());
        std::thread::sleep(Duration::from_millis(50));
        let (r, t) = m.finish_with_totals();
        assert_eq!(r.peak_rss_bytes, Some(1 << 50));
        assert_eq!(r.gpu_utilization_avg_percent, Some(75.0));
        assert_eq!(r.gpu_energy_joules, Some(12.5));
        assert_eq!(
            t, earlier,
            "a CPU attempt adds no GPU figures and no higher peak"
        );
    }

    #[test]
    fn nvml_absent_is_a_reason_not_a_failure() {
        let m = Monitor::start(Duration::from_millis(10), true);
        std::thread::sleep(Duration::from_millis(50));
        let r = m.finish();
        if r.gpu_available {
            assert_eq!(r.gpu_unavailable_reason, None);
        } else {
            assert!(r.gpu_unavailable_reason.unwrap().contains("NVML"));
        }
    }
}
