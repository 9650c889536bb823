//! Getting files onto shared storage: resumable, verified HTTP downloads, the
//! Hugging Face hub's cache layout, the pinned GoEmotions files, and the rule
//! that decides whether a model name is a hub id or a local path.

pub mod dataset;
pub mod filecheck;
pub mod http;
pub mod hub;
pub mod model_ref;
