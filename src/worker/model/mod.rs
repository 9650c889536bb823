//! The model: encoder config, the encoder forward passes, weight loading,
//! tokenization (and its cache on shared storage), and a trained model
//! directory (save / load). Only `config` and ModernBERT's option parsing
//! (no libtorch) are in the light build.

#[cfg(feature = "torch")]
pub mod bert;
#[cfg(feature = "torch")]
pub mod classifier;
pub mod config;
pub mod modernbert;
#[cfg(feature = "torch")]
pub mod saved;
#[cfg(feature = "torch")]
pub mod token_cache;
#[cfg(feature = "torch")]
pub mod tokenize;
#[cfg(feature = "torch")]
pub mod weights;
