//! Stop signals: the scheduler's warnings before a limit (SIGUSR1 at Grid
//! Engine's s_rt or Slurm's --signal, SIGUSR2 before a kill) and a user's
//! SIGINT/SIGTERM set a flag the training loop checks before every step.

use crate::util::error::{Error, Result};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Which signal asked us to stop (0: none). Checked before every batch, so a
/// signal during an epoch's evaluation or checkpoint takes effect at the first
/// batch of the next epoch, once that checkpoint is complete. After the last
/// epoch the run finishes its test evaluation (seconds) rather than stopping.
pub(super) static STOP_SIGNAL: AtomicUsize = AtomicUsize::new(0);

pub(super) fn install_signal_handlers() -> Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR1, SIGUSR2};
    // SIGUSR1: Grid Engine's warning at s_rt (with -notify); SIGUSR2: before a kill.
    for sig in [SIGINT, SIGTERM, SIGUSR1, SIGUSR2] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe {
            signal_hook::low_level::register(sig, move || {
                STOP_SIGNAL.store(sig as usize, Ordering::SeqCst);
            })
        }
        .map_err(|e| Error::Internal(format!("installing signal handler: {e}")))?;
    }
    Ok(())
}

pub(super) fn signal_name(sig: usize) -> &'static str {
    match sig as i32 {
        signal_hook::consts::SIGINT => "SIGINT",
        signal_hook::consts::SIGTERM => "SIGTERM",
        signal_hook::consts::SIGUSR1 => "SIGUSR1 (the scheduler's warning before the time limit: Grid Engine's s_rt, Slurm's --signal)",
        signal_hook::consts::SIGUSR2 => "SIGUSR2 (Grid Engine's warning before a kill)",
        _ => "a signal",
    }
}

/// The signal that asked the run to stop, if any (0: none).
pub(super) fn pending() -> usize {
    STOP_SIGNAL.load(Ordering::SeqCst)
}

/// Forget a signal an earlier run in this process received, then install
/// the handlers.
pub(super) fn install() -> Result<()> {
    STOP_SIGNAL.store(0, Ordering::SeqCst);
    install_signal_handlers()
}
