//! hecjob: YAML experiment → Grid Engine job scripts → tch training worker.
//!
//! Orchestration (always built): `config` → `plan` → `render` → `scheduler`.
//! Data and model files (always built, so the download job runs on a light binary):
//! `data`, `hub`, `http`. Worker (feature `torch`): `model`, `train`, `monitor`.
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
