//! Phase 5 of a run: the best epoch on test (Table 4; nothing tested when the
//! data has no test split), the final metrics.json, the checkpoint removed,
//! the memory peaks printed.

use super::evaluation::evaluate_best;
use super::prepare::Prepared;
use super::state::Live;
use super::trainer::{write_metrics, RunSpec};
use crate::jobdir::metrics::RunMetrics;
use crate::jobdir::RunStatus;
use crate::util::error::Result;
use crate::util::units::bytes as human_bytes;

/// Phase 5: the best epoch on test (Table 4), the final metrics.json, the
/// checkpoint removed.
pub(super) fn finish(
    spec: &RunSpec,
    run: &Prepared,
    live: Live,
    mut metrics: RunMetrics,
) -> Result<RunMetrics> {
    if !spec.limits.skip_eval {
        evaluate_best(spec, run, &mut metrics)?;
    }
    metrics.total_seconds = live.seconds();
    if let Some(m) = live.monitor {
        metrics.memory = m.finish();
    }
    metrics.status = if metrics.stopped_early.is_some() {
        RunStatus::StoppedEarly
    } else {
        RunStatus::Finished
    };
    write_metrics(&spec.save_dir, &metrics)?;
    write_model_card(spec, &metrics)?;
    live.ckpt.remove();
    print_memory(&metrics);
    println!(
        "done in {:.1} s; metrics in {}",
        metrics.total_seconds,
        spec.save_dir.join("metrics.json").display()
    );
    Ok(metrics)
}

/// README.md beside the model: what the Hub shows for it
/// ([`crate::worker::model_card`]).
fn write_model_card(spec: &RunSpec, metrics: &RunMetrics) -> Result<()> {
    use crate::worker::model_card;
    let base_dir = crate::worker::model::saved::resolve(&spec.model, spec.revision.as_deref()).ok();
    let license = model_card::base_license(&spec.model, base_dir.as_deref());
    let card = model_card::render(metrics, license.as_deref());
    crate::util::fsutil::write_atomic(&spec.save_dir.join(model_card::FILE), card.as_bytes())
}

pub(super) fn print_memory(m: &RunMetrics) {
    let mem = &m.memory;
    match (mem.gpu_available, mem.peak_gpu_device_used_bytes) {
        (true, Some(dev)) => println!(
            "peak GPU memory (NVML{}): device {}, this process {}",
            mem.gpu_name
                .as_deref()
                .map(|n| format!(", {n}"))
                .unwrap_or_default(),
            human_bytes(dev),
            mem.peak_gpu_process_used_bytes
                .map_or("not reported".to_string(), human_bytes)
        ),
        _ => println!(
            "peak GPU memory: not available ({})",
            mem.gpu_unavailable_reason
                .as_deref()
                .unwrap_or("no samples")
        ),
    }
    if let Some(rss) = mem.peak_rss_bytes {
        println!("peak RAM (RSS, sysinfo): {}", human_bytes(rss));
    }
}
