//! Text → token ids with the model's own `tokenizer.json` (HF tokenizers).
//!
//! Padding and truncation are set here explicitly: some tokenizer.json files fix
//! them (e.g. pad to 128), which would silently change batch shapes.

use crate::util::error::{Error, Result};
use std::path::Path;
use tokenizers::{Tokenizer, TruncationParams};

pub struct TextEncoder {
    tokenizer: Tokenizer,
}

impl TextEncoder {
    pub fn from_dir(dir: &Path, max_length: usize) -> Result<TextEncoder> {
        let path = dir.join("tokenizer.json");
        if !path.exists() {
            return Err(Error::Data(format!(
                "{}: no tokenizer.json (hecjob download-model fetches it; a local model directory needs one)",
                dir.display()
            )));
        }
        let mut tokenizer = load_as_transformers_does(dir, &path)?;
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length,
                ..Default::default()
            }))
            .map_err(|e| Error::Data(format!("{}: {e}", path.display())))?;
        tokenizer.with_padding(None);
        Ok(TextEncoder { tokenizer })
    }

    /// Token ids with special tokens (`[CLS] … [SEP]` / `<s> … </s>`), truncated.
    pub fn encode_all(&self, texts: &[&str]) -> Result<Vec<Vec<i64>>> {
        self.encode_all_counting_cut(texts).map(|(ids, _)| ids)
    }

    /// [`TextEncoder::encode_all`], and how many of the texts were longer
    /// than `max_length` tokens (cut by the truncation). Texts go to the
    /// tokenizer in chunks: a tokenizer `Encoding` holds offsets, type ids and
    /// masks besides the ids, so a million at once would take gigabytes where
    /// the ids alone take a few hundred megabytes.
    pub fn encode_all_counting_cut(&self, texts: &[&str]) -> Result<(Vec<Vec<i64>>, usize)> {
        const CHUNK: usize = 4096;
        let mut ids = Vec::with_capacity(texts.len());
        let mut cut = 0;
        for chunk in texts.chunks(CHUNK) {
            let inputs: Vec<tokenizers::EncodeInput> = chunk.iter().map(|t| (*t).into()).collect();
            let encs = self
                .tokenizer
                .encode_batch(inputs, true)
                .map_err(|e| Error::Data(format!("tokenizer failed: {e}")))?;
            cut += encs
                .iter()
                .filter(|e| !e.get_overflowing().is_empty())
                .count();
            ids.extend(encs.iter().map(|e| {
                e.get_ids()
                    .iter()
                    .map(|&i| i64::from(i))
                    .collect::<Vec<i64>>()
            }));
        }
        Ok((ids, cut))
    }

    pub fn save(&self, dir: &Path) -> Result<()> {
        let path = dir.join("tokenizer.json");
        let json = self
            .tokenizer
            .to_string(false)
            .map_err(|e| Error::Internal(format!("serialising tokenizer: {e}")))?;
        crate::util::fsutil::write_atomic(&path, json.as_bytes())
    }
}

/// The model's tokenizer.json with the pipeline `transformers` runs for the
/// class its tokenizer_config.json names ([`super::tokenizer_class`]).
fn load_as_transformers_does(dir: &Path, path: &Path) -> Result<Tokenizer> {
    let bad = |e: &dyn std::fmt::Display| {
        Error::Data(format!("{}: cannot load tokenizer: {e}", path.display()))
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(&e))?;
    let file: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(&e))?;
    let config_path = dir.join("tokenizer_config.json");
    let config: Option<serde_json::Value> =
        match std::fs::read_to_string(&config_path) {
            Ok(t) => Some(serde_json::from_str(&t).map_err(|e| {
                Error::Data(format!("{}: not valid JSON: {e}", config_path.display()))
            })?),
            Err(_) => None,
        };
    let file = super::tokenizer_class::as_transformers_runs_it(file, config.as_ref());
    file.to_string().parse::<Tokenizer>().map_err(|e| bad(&e))
}
