//! Small things every layer uses: errors and exit codes, atomic writes and
//! locks, digests, quoting, units, environment variable names, progress output.

pub mod cpu;
pub mod csv;
pub mod digest;
pub mod env_vars;
pub mod error;
pub mod exit_code;
pub mod fsutil;
pub mod progress;
pub mod run_lock;
pub mod shell;
pub mod suggest;
pub mod units;
