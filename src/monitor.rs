//! Memory records while training: GPU memory through NVML (the device's used
//! memory and this process's), RAM through sysinfo (this process's RSS).
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
    handle: Option<JoinHandle<()>>,
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

    /// (device used bytes, this process's used bytes if listed).
    fn sample(&self, pid: u32) -> Option<(u64, Option<u64>)> {
        let dev = self.nvml.device_by_index(self.index).ok()?;
        let used = dev.memory_info().ok()?.used;
        let mine = dev.running_compute_processes().ok().and_then(|ps| {
            ps.iter()
                .find(|p| p.pid == pid)
                .and_then(|p| match p.used_gpu_memory {
                    nvml_wrapper::enums::device::UsedGpuMemory::Used(b) => Some(b),
                    nvml_wrapper::enums::device::UsedGpuMemory::Unavailable => None,
                })
        });
        Some((used, mine))
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
        let (stop2, record2) = (stop.clone(), record.clone());
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
                            r.gpu_name =
                                g.nvml.device_by_index(g.index).and_then(|d| d.name()).ok();
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
                loop {
                    let (dev, mine) = match &gpu {
                        Ok(g) => g.sample(pid).map_or((None, None), |(d, m)| (Some(d), m)),
                        Err(_) => (None, None),
                    };
                    let rss = sys.as_mut().and_then(|s| rss_bytes(s, spid));
                    {
                        let mut r = record2.lock().unwrap();
                        r.peak_gpu_device_used_bytes = max_opt(r.peak_gpu_device_used_bytes, dev);
                        r.peak_gpu_process_used_bytes =
                            max_opt(r.peak_gpu_process_used_bytes, mine);
                        r.peak_rss_bytes = max_opt(r.peak_rss_bytes, rss);
                        if n % every == 0 {
                            r.samples.push(MemorySample {
                                t: t0.elapsed().as_secs_f64(),
                                gpu_device_used_bytes: dev,
                                gpu_process_used_bytes: mine,
                                rss_bytes: rss,
                            });
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
            handle: Some(handle),
        }
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

/// "1.23 GB" for logs.
pub fn human_bytes(b: u64) -> String {
    let gb = b as f64 / 1e9;
    if gb >= 1.0 {
        format!("{gb:.2} GB")
    } else {
        format!("{:.0} MB", b as f64 / 1e6)
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
