//! The model: encoder config, the BERT/RoBERTa forward pass, weight loading,
//! tokenization (and its cache on shared storage), and a trained model
//! directory (save / load).

pub mod bert;
pub mod config;
pub mod saved;
pub mod token_cache;
pub mod tokenize;
pub mod weights;
