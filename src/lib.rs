//! hecjob: YAML experiment → Grid Engine job scripts → tch training worker.
//!
//! Command line: `cmd` (one file per subcommand: its flags and the code that
//! prints; domain modules print nothing of their own but progress).
//! Orchestration (always built): `config` → `plan` → `render::prepare_job_dir`
//! → `scheduler` (the `Scheduler` seam, its back ends, and the one runner every
//! scheduler command goes through). `jobdir` is the on-disk contract between
//! render, submit, status, the worker and report; `exit_code` the codes that
//! cross the script boundary; `model_ref` the one rule for model names.
//! Data and model files (always built, so the download job runs on a light binary):
//! `data`, `hub`, `http`, `digest`. Worker (feature `torch`): `model`, `train`, `monitor`.
//! `metrics` and `report` are pure Rust so reports work on a login node.

pub mod asha;
pub mod cmd;
pub mod config;
pub mod csv;
pub mod data;
pub mod digest;
pub mod env_vars;
pub mod error;
pub mod exit_code;
pub mod filecheck;
pub mod flag_values;
pub mod fsutil;
pub mod http;
pub mod hub;
pub mod jobdir;
pub mod live;
pub mod metrics;
pub mod model_ref;
pub mod plan;
pub mod progress;
pub mod render;
pub mod report;
pub mod run_lock;
pub mod scheduler;
pub mod shell;
pub mod table4;
pub mod tensorboard;
pub mod units;

#[cfg(feature = "torch")]
pub mod model;
#[cfg(feature = "torch")]
pub mod monitor;
#[cfg(feature = "torch")]
pub mod train;

pub use error::{Error, Result};
