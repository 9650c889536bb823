//! hecjob: a YAML experiment → Grid Engine or Slurm job scripts → a tch training worker.
//!
//! The modules are the layers (docs/architecture.md); each imports only those
//! listed after it.

// clippy.toml's disallowed methods guard production code; a test writes its
// fixtures with std::fs::write and reads CI directly.
#![cfg_attr(test, allow(clippy::disallowed_methods))]

pub mod cli;
pub mod experiment;
pub mod fetch;
pub mod jobdir;
pub mod report;
pub mod scheduler;
pub mod util;
pub mod worker;

pub use util::error::{Error, Result};
