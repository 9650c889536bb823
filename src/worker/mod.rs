//! The training worker a train task runs (`hecjob train`): data, the model in
//! tch, the training loop, its resource monitor and TensorBoard events, and the
//! early-stopping rule each array task applies to itself.
//!
//! The parts that need libtorch are behind the `torch` feature; `data`,
//! `asha` and `tensorboard` also serve the light binary (`analyze`, `report`).

pub mod asha;
pub mod data;
pub mod tensorboard;

#[cfg(feature = "torch")]
pub mod model;
#[cfg(feature = "torch")]
pub mod monitor;
#[cfg(feature = "torch")]
pub mod train;
