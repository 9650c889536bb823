//! Memory records while training: GPU memory through NVML (the device's used
//! memory and this process's, the card's total), GPU utilization and energy
//! through NVML, RAM through sysinfo (this process's RSS).
//!
//! A background thread samples every `interval`; peaks are over all samples.
//! tch exposes no CUDA allocator statistics, so NVML is the source of GPU figures.
//! Without NVML (no driver, a CPU machine) the run goes on and the record says why.

use crate::metrics::{MemoryRecord, MemorySample};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Keep at most this many samples (older ones are thinned) so long runs stay small.
const MAX_SAMPLES: usize = 2000;

pub struct Monitor {
    stop: Arc<AtomicBool>,
    record: Arc<Mutex<MemoryRecord>>,
    /// The newest sample, kept or not (the record's samples are thinned).
    latest: Arc<Mutex<Option<MemorySample>>>,
    handle: Option<JoinHandle<()>>,
}

/// Running figures over a GPU's samples that are not peaks: the mean
/// utilization and the energy counter's rise since the first reading.
#[derive(Debug, Default)]
struct GpuTotals {
    util_sum: f64,
    util_n: u64,
    energy_first_mj: Option<u64>,
    energy_last_mj: Option<u64>,
}

impl GpuTotals {
    fn add(&mut self, util: Option<u32>, energy_mj: Option<u64>) {
        if let Some(u) = util {
            self.util_sum += f64::from(u);
            self.util_n += 1;
        }
        if let Some(e) = energy_mj {
            self.energy_first_mj.get_or_insert(e);
            self.energy_last_mj = Some(e);
        }
    }

    fn mean_utilization(&self) -> Option<f64> {
        (self.util_n > 0).then(|| self.util_sum / self.util_n as f64)
    }

    /// Joules between the first and the last reading (the counter is in mJ
    /// since the driver loaded, so only the difference means anything).
    fn energy_joules(&self) -> Option<f64> {
        match (self.energy_first_mj, self.energy_last_mj) {
            (Some(a), Some(b)) if b >= a => Some((b - a) as f64 / 1000.0),
            _ => None,
        }
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
        let index = match std::env::var(crate::env_vars::CUDA_VISIBLE_DEVICES) {
            Ok(v) => {
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
            Err(_) => 0,
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

impl Monitor {
    /// Start sampling. `want_gpu`: look for NVML (a CPU run skips it and says so).
    pub fn start(interval: Duration, want_gpu: bool) -> Monitor {
        let stop = Arc::new(AtomicBool::new(false));
        let record = Arc::new(Mutex::new(MemoryRecord::default()));
        let latest = Arc::new(Mutex::new(None));
        let (stop2, record2, latest2) = (stop.clone(), record.clone(), latest.clone());
        let handle = std::thread::Builder::new()
            .name("hecjob-monitor".into())
            .spawn(move || {
                let gpu = if want_gpu {
                    Gpu::open()
                } else {
                    Err("training on the CPU".to_string())
                };
                {
                    let mut r = record2.lock().unwrap();
                    match &gpu {
                        Ok(g) => {
                            r.gpu_available = true;
                            (r.gpu_name, r.gpu_total_bytes) = g.describe();
                            r.gpu_energy_unavailable_reason = g.energy_reason();
                        }
                        Err(why) => r.gpu_unavailable_reason = Some(why.clone()),
                    }
                }
                let pid = std::process::id();
                let spid = sysinfo::Pid::from_u32(pid);
                // sysinfo 0.40: System::new() can fail (no /proc); RSS is then unreported.
                let mut sys = sysinfo::System::new().ok();
                let t0 = Instant::now();
                let mut every = 1usize;
                let mut n = 0usize;
                let mut totals = GpuTotals::default();
                loop {
                    let g = match &gpu {
                        Ok(g) => g.sample(pid),
                        Err(_) => GpuSample::default(),
                    };
                    totals.add(g.utilization, g.energy_mj);
                    let rss = sys.as_mut().and_then(|s| rss_bytes(s, spid));
                    let sample = MemorySample {
                        t: t0.elapsed().as_secs_f64(),
                        gpu_device_used_bytes: g.device_used,
                        gpu_process_used_bytes: g.process_used,
                        rss_bytes: rss,
                        gpu_utilization_percent: g.utilization,
                    };
                    *latest2.lock().unwrap() = Some(sample.clone());
                    {
                        let mut r = record2.lock().unwrap();
                        r.peak_gpu_device_used_bytes =
                            max_opt(r.peak_gpu_device_used_bytes, g.device_used);
                        r.peak_gpu_process_used_bytes =
                            max_opt(r.peak_gpu_process_used_bytes, g.process_used);
                        r.peak_rss_bytes = max_opt(r.peak_rss_bytes, rss);
                        r.gpu_utilization_avg_percent = totals.mean_utilization();
                        r.gpu_energy_joules = totals.energy_joules();
                        if n % every == 0 {
                            r.samples.push(sample);
                            if r.samples.len() >= MAX_SAMPLES {
                                // Thin to every other sample and sample half as often.
                                let kept: Vec<MemorySample> =
                                    r.samples.iter().step_by(2).cloned().collect();
                                r.samples = kept;
                                every *= 2;
                            }
                        }
                    }
                    n += 1;
                    if stop2.load(Ordering::Relaxed) {
                        break;
                    }
                    // Sleep in short slices so stop() returns promptly.
                    let until = Instant::now() + interval;
                    while Instant::now() < until && !stop2.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(20).min(interval));
                    }
                }
            })
            .expect("spawning monitor thread");
        Monitor {
            stop,
            record,
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

    /// Stop sampling (one last sample is taken) and return the record.
    pub fn finish(mut self) -> MemoryRecord {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        self.snapshot()
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
        assert_eq!((t.mean_utilization(), t.energy_joules()), (None, None));
        t.add(Some(90), Some(1_000_000));
        t.add(None, None);
        t.add(Some(60), Some(1_250_500));
        assert_eq!(t.mean_utilization(), Some(75.0));
        assert_eq!(t.energy_joules(), Some(250.5));
        // A counter that went backwards (driver reload) gives no figure rather than a wrong one.
        t.add(None, Some(10));
        assert_eq!(t.energy_joules(), None);
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
