//! hecjob: a YAML experiment → Grid Engine or Slurm job scripts → a tch training worker.
//!
//! The modules are the layers, top to bottom; each imports only the layers
//! below it (docs/architecture.md, checked by scripts/check-layers.sh).

// clippy.toml's disallowed methods guard production code; a test writes its
// fixtures with std::fs::write and reads CI directly.
#![cfg_attr(test, allow(clippy::disallowed_methods))]

pub mod cli;

pub mod report;

pub mod worker;

pub mod experiment;

pub mod scheduler;

pub mod fetch;

pub mod data;

pub mod jobdir;

pub mod util;

pub use util::error::{Error, Result};
