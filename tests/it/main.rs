//! hecjob's integration tests, as one test binary (`cargo test --test it`):
//! one module per area, and the harness in `support` compiled once.
//!
//! Modules that need libtorch are behind the `torch` feature, as the worker
//! is. `.config/nextest.toml` names the fast default set (no live
//! schedulers, browser or CPU training) and the `ci` profile that runs all.
//!
//! Tests run as threads of this one process under `cargo test` (nextest runs
//! each in its own): none may change the process's environment or working
//! directory; they pass both to the child (`support::Hecjob`) instead.

// clippy.toml's disallowed methods guard production code; a test writes its
// fixtures with std::fs::write and reads CI or GOEMOTIONS_DIR directly.
#![allow(clippy::disallowed_methods)]

mod support;

mod asha_rungs;
#[cfg(feature = "torch")]
mod asha_sge;
#[cfg(feature = "torch")]
mod asha_train;
mod config_errors;
mod config_proptest;
mod data_download;
mod data_real;
mod data_tsv_proptest;
#[cfg(feature = "torch")]
mod hf_round_trip;
mod http_download;
mod hub_download;
mod injection;
#[cfg(feature = "torch")]
mod model_golden;
#[cfg(feature = "torch")]
mod model_steps;
mod own_data;
#[cfg(feature = "torch")]
mod own_data_train;
#[cfg(feature = "torch")]
mod pipeline_sge;
#[cfg(feature = "torch")]
mod pipeline_slurm;
#[cfg(feature = "torch")]
mod predict_batches;
#[cfg(feature = "torch")]
mod predict_files;
mod predict_job;
mod render_snapshots;
mod report;
mod retries_live;
mod sge_live;
mod slurm_live;
#[cfg(feature = "torch")]
mod step_checkpoint;
mod sweep;
mod sweep_search;
#[cfg(feature = "torch")]
mod tensorboard;
#[cfg(feature = "torch")]
mod train_cpu;
#[cfg(feature = "torch")]
mod train_own_data;
