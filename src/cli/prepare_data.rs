//! `hecjob prepare-data CONFIG`: the download job's data check, on a CPU
//! node before any GPU time is spent. Reads every split as the config's
//! `data:` says, stops at the first bad row (file:line) or leaves bad rows out
//! (`bad_rows: skip`), and writes the data record (data.json: each file's
//! sha256, rows, label counts), rejects.tsv and heldout-dev.txt beside the
//! config, in the job directory, where train tasks check them. The full build
//! also tokenizes every split once into the job's token cache
//! (worker::model::token_cache), which every task of the sweep reads.

use crate::data::load::load;
use crate::data::record::{record, write_all};
use crate::experiment::config;
use crate::jobdir::data_record::{DATA_RECORD_FILE, REJECTS_FILE};
use crate::util::error::Result;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct PrepareDataArgs {
    /// The job directory's config.yaml (the record is written beside it).
    pub config: PathBuf,
}

pub fn run(args: &PrepareDataArgs) -> Result<()> {
    let loaded_config = config::load(Some(&args.config))?;
    let c = &loaded_config.config;
    let sources = c.data_sources()?;
    let loaded = load(&c.data, &sources)?;
    #[allow(unused_mut)] // only the full build adds to it
    let mut rec = record(&loaded, &c.data, &sources, None)?;
    let job_dir = crate::jobdir::job_dir_of_config(&args.config);
    let rows = |s: &str| {
        rec.splits
            .iter()
            .find(|x| x.split == s)
            .map_or(0, |x| x.examples)
    };
    println!(
        "data: {}, {}, {} labels ({}); train {} / dev {}{} / test {}",
        rec.format,
        rec.task,
        rec.labels.len(),
        rec.label_source,
        rows("train"),
        rows("dev"),
        if rec.held_out.is_some() {
            " (held out of train)"
        } else {
            ""
        },
        if rec.has_test {
            rows("test").to_string()
        } else {
            "none".into()
        },
    );
    #[cfg(feature = "torch")]
    tokenize(&loaded_config, &loaded, &mut rec, &job_dir)?;
    write_all(&rec, &loaded, &job_dir)?;
    if rec.rejected > 0 {
        println!(
            "{} bad row{} left out (data.bad_rows: skip): see {}",
            rec.rejected,
            if rec.rejected == 1 { "" } else { "s" },
            job_dir.join(REJECTS_FILE).display()
        );
    }
    for w in &rec.warnings {
        eprintln!("warning: {w}");
    }
    println!("data record: {}", job_dir.join(DATA_RECORD_FILE).display());
    Ok(())
}

/// Each model the tasks fine-tune, each once in task order, with the
/// `max_length`s its tasks use (sorted): what the token cache is written for.
#[cfg_attr(not(feature = "torch"), allow(dead_code))]
fn tokenizations(loaded: &config::LoadedConfig) -> Vec<(&config::Model, Vec<u32>)> {
    loaded
        .models()
        .into_iter()
        .map(|m| {
            let mut lengths: Vec<u32> = loaded
                .tasks
                .iter()
                .filter(|t| &t.model == m)
                .map(|t| t.train.max_length)
                .collect();
            lengths.sort_unstable();
            lengths.dedup();
            (m, lengths)
        })
        .collect()
}

/// Tokenize every split once for each model's tokenizer and each `max_length`
/// its tasks use, into the job directory's token cache, and add the share of
/// texts cut by the truncation to the record's warnings. A model not in the
/// cache yet (the download job fetches it first) is skipped, saying so; models
/// that share a tokenizer share a key, tokenized once.
#[cfg(feature = "torch")]
fn tokenize(
    loaded_config: &config::LoadedConfig,
    loaded: &crate::data::load::Loaded,
    rec: &mut crate::jobdir::data_record::DataRecord,
    job_dir: &std::path::Path,
) -> Result<()> {
    use crate::worker::model::{token_cache, tokenize::TextEncoder};
    let c = &loaded_config.config;
    let plan = tokenizations(loaded_config);
    let several = plan.len() > 1;
    let mut written = std::collections::HashSet::new();
    for (model, lengths) in plan {
        // Only with several models does a line need to say whose it is.
        let whose = if several {
            format!("{}, ", model.name)
        } else {
            String::new()
        };
        let model_dir = match crate::worker::model::saved::resolve(
            &model.name,
            model.revision.as_deref(),
        ) {
            Ok(d) => d,
            Err(_) => {
                println!(
                    "token cache: not written for {0} ({0} is not downloaded yet); its tasks tokenize for themselves",
                    model.name
                );
                continue;
            }
        };
        for max_length in lengths {
            let started = std::time::Instant::now();
            let key = token_cache::key(rec, &c.data, &model_dir, max_length)?;
            if !written.insert(key.clone()) {
                println!("token cache: {whose}max_length {max_length}: the same tokenizer as a model above ({key})");
                continue;
            }
            let encoder = TextEncoder::from_dir(&model_dir, max_length as usize)?;
            for split in ["train", "dev", "test"] {
                let examples = loaded.dataset.split(split).unwrap_or_default();
                if examples.is_empty() {
                    continue;
                }
                let texts: Vec<&str> = examples.iter().map(|e| e.text.as_str()).collect();
                let (ids, cut) = encoder.encode_all_counting_cut(&texts)?;
                token_cache::write(job_dir, split, &key, &ids)?;
                if cut > 0 {
                    rec.warnings.push(format!(
                        "{whose}{cut} of {} {split} texts ({:.1}%) are longer than max_length {max_length} tokens and are cut",
                        texts.len(),
                        cut as f64 * 100.0 / texts.len() as f64
                    ));
                }
            }
            println!(
                "token cache: {whose}max_length {max_length} in {:.1} s ({}/*-{key}.bin)",
                started.elapsed().as_secs_f64(),
                job_dir.join(token_cache::TOKENS_DIR).display()
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The token cache is written for every model of a `sweep.model.name`,
    /// each with the max_lengths of its own tasks.
    #[test]
    fn every_swept_model_is_tokenized_for_its_own_lengths() {
        let yaml = "experiment:\n  name: e\nsweep:\n  model.name: [bert-base-uncased, roberta-base]\n  max_length: [64, 128]\n";
        let loaded = config::load_str(yaml, "t.yaml").unwrap();
        let got: Vec<(&str, Vec<u32>)> = tokenizations(&loaded)
            .into_iter()
            .map(|(m, l)| (m.name.as_str(), l))
            .collect();
        assert_eq!(
            got,
            [
                ("bert-base-uncased", vec![64, 128]),
                ("roberta-base", vec![64, 128])
            ]
        );
        let one = config::load_str("experiment:\n  name: e\n", "t.yaml").unwrap();
        let got: Vec<&str> = tokenizations(&one)
            .iter()
            .map(|(m, _)| m.name.as_str())
            .collect();
        assert_eq!(got, ["bert-base-uncased"]);
    }
}
