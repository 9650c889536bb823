//! The encoder's shape, read from a Hugging Face `config.json`.
//!
//! [`Architecture`] is the one list of the `model_type`s hecjob runs
//! ([`Architecture::ALL`]); anything else is refused with that list.
//! DistilBERT's own key names (`dim`, `n_layers`, …) are read into the BERT
//! names here, so the forward pass sees one shape; the file's JSON is kept
//! whole and written back as it was.

use super::deberta::DebertaOptions;
use crate::util::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Architecture {
    Bert,
    Roberta,
    #[serde(rename = "distilbert")]
    DistilBert,
    Electra,
    /// XLM-RoBERTa: RoBERTa's body under RoBERTa's weight names (`roberta.…`),
    /// with a SentencePiece (Unigram) tokenizer.json.
    #[serde(rename = "xlm-roberta")]
    XlmRoberta,
    /// DeBERTa-v2 and -v3 (`deberta-v2`): disentangled attention over
    /// relative positions, its own module (`deberta.rs`).
    #[serde(rename = "deberta-v2")]
    DebertaV2,
    /// ModernBERT: pre-norm, rotary positions, alternating global/local
    /// attention, GeGLU (its own module, `modernbert.rs`).
    ModernBert,
}

impl Architecture {
    /// Every supported family, in the order error messages list them.
    pub const ALL: [Architecture; 7] = [
        Architecture::Bert,
        Architecture::Roberta,
        Architecture::DistilBert,
        Architecture::Electra,
        Architecture::XlmRoberta,
        Architecture::DebertaV2,
        Architecture::ModernBert,
    ];

    /// The weight-name prefix HF's *ForSequenceClassification checkpoints use
    /// (XLM-R's is RoBERTa's: `roberta.`).
    pub fn prefix(self) -> &'static str {
        match self {
            Architecture::Bert => "bert",
            Architecture::Roberta | Architecture::XlmRoberta => "roberta",
            Architecture::DistilBert => "distilbert",
            Architecture::Electra => "electra",
            Architecture::DebertaV2 => "deberta",
            Architecture::ModernBert => "model",
        }
    }

    /// config.json's `model_type` for the family.
    pub fn model_type(self) -> &'static str {
        match self {
            Architecture::XlmRoberta => "xlm-roberta",
            Architecture::DebertaV2 => "deberta-v2",
            Architecture::ModernBert => "modernbert",
            a => a.prefix(),
        }
    }

    /// RoBERTa's embeddings: positions counted from padding_idx + 1, padding
    /// tokens at padding_idx (XLM-R's are the same).
    pub fn positions_after_padding(self) -> bool {
        matches!(self, Architecture::Roberta | Architecture::XlmRoberta)
    }

    /// The family for config.json's `model_type`, or the error listing the
    /// supported ones (`where_` names the file).
    pub fn from_model_type(kind: &str, where_: &str) -> Result<Architecture> {
        Architecture::ALL
            .into_iter()
            .find(|a| a.model_type() == kind)
            .ok_or_else(|| {
                Error::Data(format!(
                    "{where_}: model_type `{kind}` is not supported; expected one of {}",
                    Architecture::supported()
                ))
            })
    }

    /// `` `bert` (BERT, MiniLM), `roberta`, … `` for messages.
    pub fn supported() -> String {
        Architecture::ALL
            .iter()
            .map(|a| match a {
                Architecture::Bert => "`bert` (BERT, MiniLM)".to_string(),
                Architecture::DebertaV2 => "`deberta-v2` (DeBERTa-v2, -v3)".to_string(),
                a => format!("`{}`", a.model_type()),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The transformers class whose checkpoint hecjob's saved model is.
    pub fn hf_class(self) -> &'static str {
        match self {
            Architecture::Bert => "BertForSequenceClassification",
            Architecture::Roberta => "RobertaForSequenceClassification",
            Architecture::XlmRoberta => "XLMRobertaForSequenceClassification",
            Architecture::DistilBert => "DistilBertForSequenceClassification",
            Architecture::Electra => "ElectraForSequenceClassification",
            Architecture::DebertaV2 => "DebertaV2ForSequenceClassification",
            Architecture::ModernBert => "ModernBertForSequenceClassification",
        }
    }

    /// Where the layers live under the prefix (`encoder.layer.N` in BERT).
    pub fn layers_path(self) -> &'static str {
        match self {
            Architecture::DistilBert => "transformer.layer",
            Architecture::ModernBert => "layers",
            _ => "encoder.layer",
        }
    }

    /// The first feed-forward projection of a layer, relative to the layer.
    pub fn intermediate_name(self) -> &'static str {
        match self {
            Architecture::DistilBert => "ffn.lin1",
            Architecture::ModernBert => "mlp.Wi",
            _ => "intermediate.dense",
        }
    }

    /// Whether the encoder has BERT's pooler (`tanh(dense(h[:, 0]))`). BERT
    /// only: RobertaForSequenceClassification has none (its head reads the
    /// first token itself), so a pretrained roberta-base / xlm-roberta-base
    /// pooler in the file is read past and unused.
    pub fn has_pooler(self) -> bool {
        matches!(self, Architecture::Bert)
    }
}

/// The fields of HF's BertConfig / RobertaConfig / ElectraConfig that the
/// forward pass needs (DistilBertConfig's are renamed to these on reading).
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
    /// ELECTRA's embedding width, projected to `hidden_size` by
    /// `embeddings_project` when it differs (ElectraConfig's default 128);
    /// DeBERTa's `embed_proj` likewise.
    #[serde(default)]
    pub embedding_size: Option<i64>,
    /// DeBERTa's own keys (relative positions, pooler), read and checked by
    /// [`DebertaOptions::from_raw`]; None for the other families.
    #[serde(skip)]
    pub deberta: Option<DebertaOptions>,
    /// ModernBERT's own keys (None for the other families).
    #[serde(skip)]
    pub modernbert: Option<super::modernbert::ModernBertOptions>,
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
/// DistilBertConfig's keys under BertConfig's names: `dim`, `n_layers`,
/// `n_heads`, `hidden_dim`, `activation`, `dropout`, `attention_dropout`; no
/// token types; LayerNorm eps fixed at 1e-12 as DistilBERT's modules have it.
/// Sinusoidal position embeddings (`sinusoidal_pos_embds: true`, frozen in
/// transformers) are refused: no released DistilBERT uses them.
fn distilbert_as_bert(raw: &serde_json::Value, path: &Path) -> Result<serde_json::Value> {
    if raw.get("sinusoidal_pos_embds").and_then(|v| v.as_bool()) == Some(true) {
        return Err(Error::Data(format!(
            "{}: sinusoidal_pos_embds true is not supported (hecjob trains DistilBERT's learned position embeddings, as the released models have)",
            path.display()
        )));
    }
    let mut v = raw.clone();
    let obj = v.as_object_mut().ok_or_else(|| {
        Error::Data(format!(
            "{}: config.json is not a JSON object",
            path.display()
        ))
    })?;
    for (from, to) in [
        ("dim", "hidden_size"),
        ("n_layers", "num_hidden_layers"),
        ("n_heads", "num_attention_heads"),
        ("hidden_dim", "intermediate_size"),
        ("activation", "hidden_act"),
        ("dropout", "hidden_dropout_prob"),
        ("attention_dropout", "attention_probs_dropout_prob"),
    ] {
        if let Some(x) = obj.get(from).cloned() {
            obj.insert(to.into(), x);
        }
    }
    // DistilBertConfig's defaults for the shape keys a config.json may omit.
    for (key, default) in [
        ("hidden_size", 768),
        ("num_hidden_layers", 6),
        ("num_attention_heads", 12),
        ("intermediate_size", 3072),
        ("max_position_embeddings", 512),
    ] {
        obj.entry(key).or_insert(default.into());
    }
    obj.insert("type_vocab_size".into(), 0.into());
    obj.insert("layer_norm_eps".into(), 1e-12.into());
    obj.remove("embedding_size");
    Ok(v)
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

/// config.json's JSON and the family its `model_type` names, or the error
/// listing the supported ones. `download-model` calls this on config.json
/// before it fetches anything else.
pub fn read_model_type(path: &Path) -> Result<(Architecture, serde_json::Value)> {
    let text = crate::util::fsutil::read_to_string(path, "reading model config")?;
    let raw: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        Error::Data(format!(
            "{}:{}: not valid JSON: {e}",
            path.display(),
            e.line()
        ))
    })?;
    let kind = raw.get("model_type").and_then(|v| v.as_str()).unwrap_or("");
    let arch = Architecture::from_model_type(kind, &path.display().to_string())?;
    Ok((arch, raw))
}

impl EncoderConfig {
    /// The checked config and the file's JSON as read (a saved model keeps it
    /// whole, keys hecjob does not use included).
    pub fn from_file(path: &Path) -> Result<(EncoderConfig, serde_json::Value)> {
        let (arch, raw) = read_model_type(path)?;
        let fields = match arch {
            Architecture::DistilBert => distilbert_as_bert(&raw, path)?,
            Architecture::Electra => {
                let mut v = raw.clone();
                if v.get("embedding_size").is_none() {
                    v["embedding_size"] = 128.into();
                }
                v
            }
            // DebertaV2Config's defaults where they differ from BERT's.
            Architecture::DebertaV2 => {
                let mut v = raw.clone();
                for (key, default) in [
                    ("type_vocab_size", 0.into()),
                    ("layer_norm_eps", 1e-7.into()),
                ] {
                    if v.get(key).is_none_or(|x| x.is_null()) {
                        v[key] = default;
                    }
                }
                v
            }
            Architecture::ModernBert => super::modernbert::as_encoder_fields(&raw, path)?,
            _ => raw.clone(),
        };
        let mut cfg: EncoderConfig = serde_json::from_value(fields)
            .map_err(|e| Error::Data(format!("{}: {e}", path.display())))?;
        if cfg.num_attention_heads < 1
            || cfg.hidden_size < 1
            || cfg.vocab_size < 1
            || cfg.max_position_embeddings < 1
            || cfg.embedding_size() < 1
        {
            return Err(Error::Data(format!(
                "{}: num_attention_heads, hidden_size, vocab_size, max_position_embeddings and embedding_size must be positive",
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
            ("embedding_size", cfg.embedding_size(), 65_536),
        ] {
            if !(0..=max).contains(&v) {
                return Err(Error::Data(format!(
                    "{}: {key} {v} is outside 0..={max}; is this the config.json of a BERT-family encoder?",
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
        cfg.read_family_options(&raw, path)?;
        Ok((cfg, raw))
    }

    /// DeBERTa's and ModernBERT's own keys, read once the shape is checked
    /// (ModernBERT's per-layer list is num_hidden_layers long).
    fn read_family_options(&mut self, raw: &serde_json::Value, path: &Path) -> Result<()> {
        match self.model_type {
            Architecture::DebertaV2 => {
                self.deberta = Some(DebertaOptions::from_raw(
                    raw,
                    path,
                    self.max_position_embeddings,
                    self.hidden_size,
                    self.num_attention_heads,
                )?);
            }
            Architecture::ModernBert => {
                self.modernbert = Some(super::modernbert::ModernBertOptions::from_raw(
                    raw,
                    self.num_hidden_layers,
                    path,
                )?);
            }
            _ => {}
        }
        Ok(())
    }

    /// The longest input the position embeddings cover (RoBERTa numbers
    /// positions from padding_idx + 1, so it loses pad_token_id + 1 of them).
    pub fn max_tokens(&self) -> i64 {
        if self.model_type.positions_after_padding() {
            self.max_position_embeddings - self.pad_token_id - 1
        } else {
            self.max_position_embeddings
        }
    }

    /// The width of the embeddings (ELECTRA's `embedding_size`, else hidden).
    pub fn embedding_size(&self) -> i64 {
        self.embedding_size.unwrap_or(self.hidden_size)
    }

    pub fn head_dim(&self) -> i64 {
        self.hidden_size / self.num_attention_heads
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> Result<EncoderConfig> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.json");
        std::fs::write(&p, json).unwrap();
        EncoderConfig::from_file(&p).map(|(c, _)| c)
    }

    #[test]
    fn distilbert_keys_are_read_under_bert_names() {
        let c = read(
            r#"{"model_type": "distilbert", "vocab_size": 100, "dim": 32, "n_layers": 3,
                "n_heads": 4, "hidden_dim": 64, "activation": "relu", "dropout": 0.0,
                "attention_dropout": 0.2, "max_position_embeddings": 64}"#,
        )
        .unwrap();
        assert_eq!(c.model_type, Architecture::DistilBert);
        assert_eq!(
            (c.hidden_size, c.num_hidden_layers, c.num_attention_heads),
            (32, 3, 4)
        );
        assert_eq!((c.intermediate_size, c.hidden_act), (64, HiddenAct::Relu));
        assert_eq!(
            (c.hidden_dropout_prob, c.attention_probs_dropout_prob),
            (0.0, 0.2)
        );
        assert_eq!((c.layer_norm_eps, c.embedding_size()), (1e-12, 32));
    }

    #[test]
    fn sinusoidal_distilbert_positions_are_refused() {
        let e = read(
            r#"{"model_type": "distilbert", "vocab_size": 100, "sinusoidal_pos_embds": true}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.ends_with(": sinusoidal_pos_embds true is not supported (hecjob trains DistilBERT's learned position embeddings, as the released models have)"),
            "{e}"
        );
    }

    #[test]
    fn xlm_roberta_is_its_own_model_type_under_roberta_names() {
        let c = read(
            r#"{"model_type": "xlm-roberta", "vocab_size": 250002, "hidden_size": 32,
                "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64,
                "max_position_embeddings": 514, "pad_token_id": 1, "type_vocab_size": 1}"#,
        )
        .unwrap();
        assert_eq!(c.model_type, Architecture::XlmRoberta);
        assert_eq!(c.model_type.prefix(), "roberta");
        assert_eq!(c.max_tokens(), 512);
    }

    #[test]
    fn deberta_v2_takes_its_own_defaults_and_options() {
        let c = read(
            r#"{"model_type": "deberta-v2", "vocab_size": 128100, "hidden_size": 32,
                "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64,
                "max_position_embeddings": 512, "relative_attention": true,
                "position_buckets": 256, "pos_att_type": "p2c|c2p"}"#,
        )
        .unwrap();
        assert_eq!(c.model_type, Architecture::DebertaV2);
        assert_eq!(c.model_type.prefix(), "deberta");
        // DebertaV2Config's defaults, not BERT's (2 and 1e-12).
        assert_eq!((c.type_vocab_size, c.layer_norm_eps), (0, 1e-7));
        let o = c.deberta.expect("DeBERTa's options");
        assert_eq!((o.attention_span(), o.max_relative_positions), (256, 512));
        assert!(o.c2p && o.p2c);
    }

    #[test]
    fn modernbert_reads_its_own_keys_after_the_shape_is_checked() {
        let c = read(
            r#"{"model_type": "modernbert", "vocab_size": 100, "hidden_size": 32,
                "num_hidden_layers": 3, "num_attention_heads": 4, "intermediate_size": 48,
                "norm_eps": 1e-6, "hidden_activation": "gelu_pytorch_tanh"}"#,
        )
        .unwrap();
        assert_eq!(c.model_type.prefix(), "model");
        assert_eq!(
            (c.layer_norm_eps, c.hidden_act),
            (1e-6, HiddenAct::GeluPytorchTanh)
        );
        assert_eq!((c.max_position_embeddings, c.pad_token_id), (8192, 50283));
        assert_eq!(c.modernbert.expect("options").layer_types.len(), 3);
        // A per-layer list is not built for an absurd layer count.
        let e = read(r#"{"model_type": "modernbert", "num_hidden_layers": 4000000000}"#)
            .unwrap_err()
            .to_string();
        assert!(
            e.ends_with(": num_hidden_layers 4000000000 is outside 0..=1024; is this the config.json of a BERT-family encoder?"),
            "{e}"
        );
    }

    #[test]
    fn electra_embedding_size_defaults_as_in_transformers() {
        let base = r#""model_type": "electra", "vocab_size": 100, "hidden_size": 256,
            "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 1024,
            "max_position_embeddings": 512"#;
        assert_eq!(read(&format!("{{{base}}}")).unwrap().embedding_size(), 128);
        let c = read(&format!("{{{base}, \"embedding_size\": 256}}")).unwrap();
        assert_eq!(c.embedding_size(), 256);
    }
}
