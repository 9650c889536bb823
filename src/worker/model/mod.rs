//! The model: encoder config, the encoder forward passes, weight loading,
//! tokenization (and its cache on shared storage), and a trained model
//! directory (save / load). Only `config` (no libtorch) is in the light build.

#[cfg(feature = "torch")]
pub mod bert;
#[cfg(feature = "torch")]
pub mod classifier;
pub mod config;
#[cfg(feature = "torch")]
pub mod saved;
#[cfg(feature = "torch")]
pub mod token_cache;
#[cfg(feature = "torch")]
pub mod tokenize;
pub mod tokenizer_class;
#[cfg(feature = "torch")]
pub mod weights;
