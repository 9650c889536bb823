//! Executors for the rendered jobs: Grid Engine, local, dry-run (placeholder: being written).
pub mod cli;
