//! The encoder's shape, read from a Hugging Face `config.json`.

use crate::util::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Architecture {
    Bert,
    Roberta,
}

impl Architecture {
    /// The weight-name prefix HF's *ForSequenceClassification checkpoints use.
    pub fn prefix(self) -> &'static str {
        match self {
            Architecture::Bert => "bert",
            Architecture::Roberta => "roberta",
        }
    }
}

/// The fields of HF's BertConfig / RobertaConfig that the forward pass needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncoderConfig {
    pub model_type: Architecture,
    pub vocab_size: i64,
    pub hidden_size: i64,
    pub num_hidden_layers: i64,
    pub num_attention_heads: i64,
    pub intermediate_size: i64,
    #[serde(default)]
    pub hidden_act: HiddenAct,
    pub max_position_embeddings: i64,
    #[serde(default = "default_type_vocab")]
    pub type_vocab_size: i64,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    #[serde(default)]
    pub pad_token_id: i64,
    #[serde(default = "default_dropout")]
    pub hidden_dropout_prob: f64,
    #[serde(default = "default_dropout")]
    pub attention_probs_dropout_prob: f64,
}

/// config.json's `hidden_act`, parsed once (candle's `HiddenAct`): the names
/// transformers writes for the activations the encoder implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum HiddenAct {
    /// Exact erf GELU (BERT).
    #[default]
    Gelu,
    /// The tanh approximation, under either of its names.
    GeluNew,
    GeluPytorchTanh,
    Relu,
}
fn default_type_vocab() -> i64 {
    2
}
fn default_eps() -> f64 {
    1e-12
}
fn default_dropout() -> f64 {
    0.1
}

impl EncoderConfig {
    /// The checked config and the file's JSON as read (a saved model keeps it
    /// whole, keys hecjob does not use included).
    pub fn from_file(path: &Path) -> Result<(EncoderConfig, serde_json::Value)> {
        let text = crate::util::fsutil::read_to_string(path, "reading model config")?;
        let raw: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            Error::Data(format!(
                "{}:{}: not valid JSON: {e}",
                path.display(),
                e.line()
            ))
        })?;
        let kind = raw.get("model_type").and_then(|v| v.as_str()).unwrap_or("");
        if !matches!(kind, "bert" | "roberta") {
            return Err(Error::Data(format!(
                "{}: model_type `{kind}` is not supported; expected `bert` (BERT, MiniLM) or `roberta`",
                path.display()
            )));
        }
        let cfg: EncoderConfig = serde_json::from_value(raw.clone())
            .map_err(|e| Error::Data(format!("{}: {e}", path.display())))?;
        if cfg.num_attention_heads < 1
            || cfg.hidden_size < 1
            || cfg.vocab_size < 1
            || cfg.max_position_embeddings < 1
        {
            return Err(Error::Data(format!(
                "{}: num_attention_heads, hidden_size, vocab_size and max_position_embeddings must be positive",
                path.display()
            )));
        }
        // Far past any BERT or RoBERTa: a typo (or a hostile file) that would
        // allocate gigabytes before anything else could fail.
        for (key, v, max) in [
            ("num_hidden_layers", cfg.num_hidden_layers, 1024),
            ("hidden_size", cfg.hidden_size, 65_536),
            ("intermediate_size", cfg.intermediate_size, 262_144),
            ("vocab_size", cfg.vocab_size, 4_000_000),
            (
                "max_position_embeddings",
                cfg.max_position_embeddings,
                1_048_576,
            ),
            ("type_vocab_size", cfg.type_vocab_size, 1024),
        ] {
            if !(0..=max).contains(&v) {
                return Err(Error::Data(format!(
                    "{}: {key} {v} is outside 0..={max}; is this the config.json of a BERT or RoBERTa model?",
                    path.display()
                )));
            }
        }
        if cfg.hidden_size % cfg.num_attention_heads != 0 {
            return Err(Error::Data(format!(
                "{}: hidden_size {} is not a multiple of num_attention_heads {}",
                path.display(),
                cfg.hidden_size,
                cfg.num_attention_heads
            )));
        }
        Ok((cfg, raw))
    }

    /// The longest input the position embeddings cover (RoBERTa numbers
    /// positions from padding_idx + 1, so it loses pad_token_id + 1 of them).
    pub fn max_tokens(&self) -> i64 {
        match self.model_type {
            Architecture::Bert => self.max_position_embeddings,
            Architecture::Roberta => self.max_position_embeddings - self.pad_token_id - 1,
        }
    }

    pub fn head_dim(&self) -> i64 {
        self.hidden_size / self.num_attention_heads
    }
}
