//! The training worker (`hecjob train`), and `predict` / `evaluate`.

pub mod batches;
pub mod checkpoint;
pub mod cli;
pub mod optim;
pub mod runlog;
pub mod trainer;
