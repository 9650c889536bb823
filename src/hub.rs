//! `hecjob download-model` and the Hugging Face cache layout (placeholder: being written).
use crate::error::{Error, Result};

#[derive(Debug, clap::Args)]
pub struct DownloadModelArgs {
    /// Model name on the hub (e.g. bert-base-uncased, roberta-base).
    pub name: String,
}

pub fn run(_args: &DownloadModelArgs) -> Result<()> {
    Err(Error::Internal("download-model is not implemented yet".into()))
}

/// Placeholder until the hub module lands: local directories only.
pub fn resolve_model_dir(name: &str, _revision: Option<&str>) -> Result<std::path::PathBuf> {
    Err(Error::Data(format!("model `{name}` not found: run `hecjob download-model {name}`")))
}
