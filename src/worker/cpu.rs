//! libtorch on the CPU, set up once per process for `train` and `predict`:
//! intra-op threads from the scheduler's grant (util::cpu::granted_threads:
//! `NSLOTS`, `SLURM_CPUS_PER_TASK`, else the CPUs the process may run on,
//! never more than those), logged once.

use std::sync::Once;

/// Set libtorch's intra-op threads to the job's grant, once: the first call
/// returns the line that says so (`4 CPU threads (NSLOTS=4)`) for the caller
/// to log when its run begins; later calls do nothing and return None.
pub fn use_granted_threads() -> Option<String> {
    static ONCE: Once = Once::new();
    let mut line = None;
    ONCE.call_once(|| {
        let t = crate::util::cpu::granted_threads();
        tch::set_num_threads(i32::try_from(t.n).unwrap_or(i32::MAX));
        let s = if t.n == 1 { "" } else { "s" };
        line = Some(format!("{} CPU thread{s} ({})", t.n, t.source));
    });
    line
}
