//! The experiment: its YAML config (schema, validation, sweeps), the plan of
//! jobs it becomes, and the job scripts rendered from it.

pub mod config;
pub mod plan;
pub mod predict;
pub mod render;
pub mod resubmit;
