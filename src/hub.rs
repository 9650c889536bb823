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
