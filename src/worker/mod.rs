//! The training worker a train task runs (`hecjob train`): the model in
//! tch, the training loop, its resource monitor and TensorBoard events, and the
//! early-stopping rule each array task applies to itself; and the streaming
//! predictor that labels whole files with a trained model (`hecjob predict --input`).
//!
//! The parts that need libtorch are behind the `torch` feature; `asha` and
//! `tensorboard` also serve the light binary (`report`), `model::config` its
//! `download-model` (the supported `model_type`s).

pub mod asha;
pub mod metrics;
pub mod model_card;
pub mod tensorboard;

#[cfg(feature = "torch")]
pub mod cpu;
pub mod model;
#[cfg(feature = "torch")]
pub mod monitor;
#[cfg(feature = "torch")]
pub mod predict;
#[cfg(feature = "torch")]
pub mod train;
