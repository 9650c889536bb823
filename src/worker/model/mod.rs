//! The model: encoder config, the encoder forward passes, weight loading,
//! tokenization (and its cache on shared storage), and a trained model
//! directory (save / load). Only `config`, DeBERTa's config keys
//! (`deberta::DebertaOptions`) and ModernBERT's (`modernbert::ModernBertOptions`)
//! are in the light build (no libtorch).

#[cfg(feature = "torch")]
pub mod bert;
#[cfg(feature = "torch")]
pub mod classifier;
pub mod config;
pub mod deberta;
#[cfg(feature = "torch")]
pub mod int8;
pub mod modernbert;
#[cfg(feature = "torch")]
pub mod saved;
#[cfg(feature = "torch")]
pub mod token_cache;
#[cfg(feature = "torch")]
pub mod tokenize;
pub mod tokenizer_class;
#[cfg(feature = "torch")]
pub mod weights;
