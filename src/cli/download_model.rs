//! `hecjob download-model NAME`: a model into the Hugging Face cache layout.

use crate::fetch::http::Http;
use crate::fetch::hub::{download_model, offline_snapshot, HubEnv};
use crate::util::error::Result;

#[derive(Debug, clap::Args)]
pub struct DownloadModelArgs {
    /// Model name on the hub (e.g. bert-base-uncased, roberta-base, google-bert/bert-base-cased).
    pub name: String,
    /// Branch, tag or commit hash.
    #[arg(long, default_value = "main")]
    pub revision: String,
}

pub fn run(args: &DownloadModelArgs) -> Result<()> {
    let env = HubEnv::from_env()?;
    let dir = if env.offline {
        offline_snapshot(&env, &args.name, &args.revision)?
    } else {
        // The supported model_types are the worker's; refused before the weights.
        let accept =
            |p: &std::path::Path| crate::worker::model::config::read_model_type(p).map(|_| ());
        download_model(
            &Http::from_env()?,
            &env,
            &args.name,
            &args.revision,
            &accept,
        )?
    };
    println!(
        "model {} ({}) ready in {}",
        args.name,
        args.revision,
        dir.display()
    );
    Ok(())
}
