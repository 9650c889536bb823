//! `submit`, `status`, `run --local` (placeholder: being written).
use crate::error::{Error, Result};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct SubmitArgs {
    pub config: Option<PathBuf>,
}
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    pub run: Option<PathBuf>,
}
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    pub config: Option<PathBuf>,
}

pub fn run_submit(_a: &SubmitArgs) -> Result<()> {
    Err(Error::Internal("submit is not implemented yet".into()))
}
pub fn run_status(_a: &StatusArgs) -> Result<()> {
    Err(Error::Internal("status is not implemented yet".into()))
}
pub fn run_run(_a: &RunArgs) -> Result<()> {
    Err(Error::Internal("run is not implemented yet".into()))
}
