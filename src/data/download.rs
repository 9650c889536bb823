//! `hecjob download-data` (placeholder: being written).
use crate::error::{Error, Result};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct DownloadDataArgs {
    /// Directory to write train.tsv, dev.tsv, test.tsv and emotions.txt into.
    pub dir: PathBuf,
}

pub fn run(_args: &DownloadDataArgs) -> Result<()> {
    Err(Error::Internal("download-data is not implemented yet".into()))
}
