//! The training worker (`hecjob train`), and `predict` / `evaluate`.

pub mod batches;
pub mod checkpoint;
pub mod optim;
pub mod runlog;
pub mod spec;
pub mod trainer;
