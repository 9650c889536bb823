//! Text → token ids with the model's own `tokenizer.json` (HF tokenizers).
//!
//! Padding and truncation are set here explicitly: some tokenizer.json files fix
//! them (e.g. pad to 128), which would silently change batch shapes.

use crate::util::error::{Error, Result};
use std::path::Path;
use tokenizers::{Tokenizer, TruncationParams};

pub struct TextEncoder {
    tokenizer: Tokenizer,
    /// The model's tokenizer_config.json and special_tokens_map.json, written
    /// back beside a saved model so `AutoTokenizer` picks the same class and
    /// special tokens.
    class_files: Vec<(&'static str, serde_json::Value)>,
    max_length: usize,
}

/// The files beside tokenizer.json that name its class and special tokens.
const CLASS_FILES: [&str; 2] = ["tokenizer_config.json", "special_tokens_map.json"];

impl TextEncoder {
    pub fn from_dir(dir: &Path, max_length: usize) -> Result<TextEncoder> {
        let path = dir.join("tokenizer.json");
        if !path.exists() {
            return Err(Error::Data(format!(
                "{}: no tokenizer.json (hecjob download-model fetches it; a local model directory needs one)",
                dir.display()
            )));
        }
        let class_files = read_class_files(dir)?;
        let class = class_files
            .iter()
            .find(|(name, _)| *name == CLASS_FILES[0])
            .map(|(_, v)| v);
        let mut tokenizer = load_as_transformers_does(&path, class)?;
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length,
                ..Default::default()
            }))
            .map_err(|e| Error::Data(format!("{}: {e}", path.display())))?;
        tokenizer.with_padding(None);
        Ok(TextEncoder {
            tokenizer,
            class_files,
            max_length,
        })
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

    /// tokenizer.json, and the class files the model came with;
    /// `model_max_length` becomes hecjob's `max_length`, so
    /// `tokenizer(texts, truncation=True)` in transformers cuts where hecjob does.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let path = dir.join("tokenizer.json");
        let json = self
            .tokenizer
            .to_string(false)
            .map_err(|e| Error::Internal(format!("serialising tokenizer: {e}")))?;
        crate::util::fsutil::write_atomic(&path, json.as_bytes())?;
        for (name, value) in &self.class_files {
            let mut value = value.clone();
            if *name == CLASS_FILES[0] {
                value["model_max_length"] = serde_json::json!(self.max_length);
            }
            let text = serde_json::to_string_pretty(&value).expect("json");
            crate::util::fsutil::write_atomic(&dir.join(name), text.as_bytes())?;
        }
        Ok(())
    }
}

/// The model's tokenizer.json with the pipeline `transformers` runs for the
/// class its tokenizer_config.json names ([`super::tokenizer_class`]).
fn load_as_transformers_does(path: &Path, class: Option<&serde_json::Value>) -> Result<Tokenizer> {
    let bad = |e: &dyn std::fmt::Display| {
        Error::Data(format!("{}: cannot load tokenizer: {e}", path.display()))
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(&e))?;
    let file: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(&e))?;
    let file = super::tokenizer_class::as_transformers_runs_it(file, class);
    file.to_string().parse::<Tokenizer>().map_err(|e| bad(&e))
}

/// [`CLASS_FILES`] present in `dir`, parsed.
fn read_class_files(dir: &Path) -> Result<Vec<(&'static str, serde_json::Value)>> {
    let mut found = Vec::new();
    for name in CLASS_FILES {
        let path = dir.join(name);
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let value = serde_json::from_str(&text)
            .map_err(|e| Error::Data(format!("{}: not valid JSON: {e}", path.display())))?;
        found.push((name, value));
    }
    Ok(found)
}
