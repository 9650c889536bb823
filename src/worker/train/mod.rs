//! The training worker (`hecjob train`), and `predict` / `evaluate`.
//!
//! `trainer` is the run and its named phases; the files after it are its
//! concerns, one each (see trainer.rs).

pub mod batches;
pub mod checkpoint;
pub mod optim;
pub mod runlog;
pub mod spec;
pub mod trainer;

mod commit;
mod data;
mod device;
mod end_epoch;
mod epoch;
mod evaluation;
mod finish;
mod interrupt;
mod loss;
mod prepare;
mod requeue;
mod resume;
mod rungs;
mod signals;
mod state;
