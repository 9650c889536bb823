//! Load HF safetensors into the variables of [`super::classifier::Classifier`].
//!
//! Checkpoints name the same tensor differently: a `bert.`/`roberta.`/
//! `distilbert.`/`electra.` prefix (ForSequenceClassification/ForMaskedLM/
//! ForPreTraining) or none (bare BertModel, sentence-transformers), and old
//! TF-converted ones call LayerNorm's weight and bias `gamma`/`beta`. We map
//! every name to ours explicitly; heads other than the classifier (MLM,
//! ELECTRA's discriminator and generator) are ignored, and so is a pooler the
//! family does not use (roberta-base's, xlm-roberta-base's): only the
//! model's variables are looked up in the file.

use super::config::{Architecture, EncoderConfig};
use crate::util::error::{Error, Result};
use std::collections::HashMap;
use std::path::Path;
use tch::{nn::VarStore, Tensor};

/// What to do when the file has no (or a differently sized) classifier head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Head {
    /// A fine-tuned hecjob model: the head must be there with the right shape.
    Required,
    /// A pretrained encoder: start the head (and a missing pooler) from random init.
    InitIfMissing,
}

/// Our variable name for a checkpoint tensor name, or None to ignore it.
pub fn canonical_name(name: &str, arch: Architecture) -> Option<String> {
    if is_head(name, arch) {
        return Some(name.to_string());
    }
    let mut rest = name;
    for prefix in [
        "bert.",
        "roberta.",
        "distilbert.",
        "electra.",
        "deberta.",
        "model.",
    ] {
        if let Some(r) = rest.strip_prefix(prefix) {
            rest = r;
            break;
        }
    }
    // Buffers and heads we don't use (position_ids, MLM/NSP heads).
    if ![
        "embeddings.",
        "embeddings_project.",
        "encoder.",
        "transformer.",
        "pooler.",
        "layers.",
        "final_norm.",
    ]
    .iter()
    .any(|p| rest.starts_with(p))
        || rest.ends_with("position_ids")
    {
        return None;
    }
    let rest = if let Some(r) = rest.strip_suffix("LayerNorm.gamma") {
        format!("{r}LayerNorm.weight")
    } else if let Some(r) = rest.strip_suffix("LayerNorm.beta") {
        format!("{r}LayerNorm.bias")
    } else {
        rest.to_string()
    };
    Some(format!("{}.{rest}", arch.prefix()))
}

/// The classification head's variables (`classifier.…`, DistilBERT's
/// `pre_classifier.…`, DeBERTa's ContextPooler `pooler.…` at the root,
/// ModernBERT's `head.…`): a pretrained encoder may lack them. (A bare
/// BertModel's `pooler.` is the encoder's, prefixed on loading;
/// ModernBertForMaskedLM's `head.dense` and `head.norm` have the classifier's
/// names and shapes: they load, as transformers loads them.)
fn is_head(name: &str, arch: Architecture) -> bool {
    name.starts_with("classifier.")
        || name.starts_with("pre_classifier.")
        || (arch == Architecture::DebertaV2 && name.starts_with("pooler."))
        || (arch == Architecture::ModernBert && name.starts_with("head."))
}

/// Copy the checkpoint's tensors into `vs`. Returns the names of variables that
/// kept their random init (pooler/classifier of a pretrained encoder).
pub fn load(vs: &VarStore, path: &Path, arch: Architecture, head: Head) -> Result<Vec<String>> {
    let tensors = Tensor::read_safetensors(path)
        .map_err(|e| Error::Data(format!("{}: cannot read safetensors: {e}", path.display())))?;
    let mut from_file: HashMap<String, Tensor> = HashMap::new();
    for (name, t) in tensors {
        if let Some(c) = canonical_name(&name, arch) {
            from_file.insert(c, t);
        }
    }
    let mut vars = vs.variables();
    let mut names: Vec<String> = vars.keys().cloned().collect();
    names.sort();
    let mut random_init = Vec::new();
    let mut missing = Vec::new();
    tch::no_grad(|| -> Result<()> {
        for name in &names {
            let var = vars.get_mut(name).expect("listed");
            let is_head = is_head(name, arch);
            let optional = head == Head::InitIfMissing && (is_head || name.contains(".pooler."));
            match from_file.get(name) {
                Some(t) if t.size() == var.size() => {
                    var.copy_(&t.to_kind(var.kind()).to_device(var.device()));
                }
                Some(_) if optional => random_init.push(name.clone()),
                Some(t) => {
                    let what = if is_head {
                        format!(
                            "the model's classifier has shape {:?} but {:?} is needed: the label count does not match the model",
                            t.size(),
                            var.size()
                        )
                    } else {
                        format!(
                            "shape {:?} in the file, {:?} expected from config.json",
                            t.size(),
                            var.size()
                        )
                    };
                    return Err(Error::Data(format!(
                        "{}: tensor `{name}`: {what}",
                        path.display()
                    )));
                }
                None if optional => random_init.push(name.clone()),
                None => missing.push(name.clone()),
            }
        }
        Ok(())
    })?;
    if !missing.is_empty() {
        let shown: Vec<&str> = missing.iter().take(5).map(String::as_str).collect();
        return Err(Error::Data(format!(
            "{}: {} weight{} missing, e.g. {} — is this a {} checkpoint matching config.json?",
            path.display(),
            missing.len(),
            if missing.len() == 1 { " is" } else { "s are" },
            shown.join(", "),
            arch.model_type()
        )));
    }
    Ok(random_init)
}

/// Check the weights file's tensor names and shapes against config.json from
/// the file's header alone, before the model is built: a config.json asking
/// for 100,000 layers would otherwise allocate them all (minutes, gigabytes)
/// before the first weight is compared.
pub fn check_against_config(path: &Path, cfg: &EncoderConfig) -> Result<()> {
    let shapes = header_shapes(path)?;
    let arch = cfg.model_type;
    let mut layers = 0i64;
    let mut by_name: HashMap<String, Vec<i64>> = HashMap::new();
    for (name, shape) in shapes {
        let Some(c) = canonical_name(&name, arch) else {
            continue;
        };
        let layers_at = format!("{}.{}.", arch.prefix(), arch.layers_path());
        if let Some(rest) = c.strip_prefix(&layers_at) {
            if let Some(n) = rest.split('.').next().and_then(|n| n.parse::<i64>().ok()) {
                layers = layers.max(n + 1);
            }
        }
        by_name.insert(c, shape);
    }
    let mismatch = |what: String| {
        Err(Error::Data(format!(
            "{}: {what}; the weights and config.json do not belong together",
            path.display()
        )))
    };
    if layers != cfg.num_hidden_layers {
        return mismatch(format!(
            "{layers} encoder layers in the weights, config.json says num_hidden_layers {}",
            cfg.num_hidden_layers
        ));
    }
    // DeBERTa-v3 has no absolute positions (position_biased_input false).
    let positions = cfg.deberta.as_ref().is_none_or(|o| o.position_biased_input);
    let layer_0 = format!(".{}.0.", arch.layers_path());
    for (name, want) in expected_tensors(cfg) {
        match by_name.get(&name) {
            Some(got) if *got == want => {}
            Some(got) => {
                return mismatch(format!(
                    "tensor `{name}` has shape {got:?}, config.json implies {want:?}"
                ))
            }
            // A model without layers has no layer 0: nothing to compare.
            None if cfg.num_hidden_layers == 0 && name.contains(&layer_0) => {}
            None if !positions && name.ends_with(".position_embeddings.weight") => {}
            None => return mismatch(format!("no tensor `{name}`")),
        }
    }
    Ok(())
}

/// The tensors whose shapes config.json fixes, by our names: the embeddings
/// and layer 0's first feed-forward projection.
fn expected_tensors(cfg: &EncoderConfig) -> Vec<(String, Vec<i64>)> {
    let arch = cfg.model_type;
    let p = arch.prefix();
    let emb = cfg.embedding_size();
    let intermediate = (
        format!(
            "{p}.{}.0.{}.weight",
            arch.layers_path(),
            arch.intermediate_name()
        ),
        vec![cfg.intermediate_size, cfg.hidden_size],
    );
    match arch {
        // No position table (rotary); `mlp.Wi` holds the input and the gate.
        Architecture::ModernBert => vec![
            (
                format!("{p}.embeddings.tok_embeddings.weight"),
                vec![cfg.vocab_size, cfg.hidden_size],
            ),
            (
                intermediate.0,
                vec![2 * cfg.intermediate_size, cfg.hidden_size],
            ),
        ],
        _ => vec![
            (
                format!("{p}.embeddings.word_embeddings.weight"),
                vec![cfg.vocab_size, emb],
            ),
            (
                format!("{p}.embeddings.position_embeddings.weight"),
                vec![cfg.max_position_embeddings, emb],
            ),
            intermediate,
        ],
    }
}

/// Tensor names and shapes from a safetensors header (8-byte length, JSON).
fn header_shapes(path: &Path) -> Result<Vec<(String, Vec<i64>)>> {
    use std::io::Read;
    let bad = |why: String| {
        Error::Data(format!(
            "{}: not a safetensors file ({why})",
            path.display()
        ))
    };
    let mut f = std::fs::File::open(path).map_err(|e| Error::io("reading", path, e))?;
    let size = f
        .metadata()
        .map_err(|e| Error::io("reading", path, e))?
        .len();
    let mut len = [0u8; 8];
    f.read_exact(&mut len)
        .map_err(|_| bad(format!("{size} bytes")))?;
    let n = u64::from_le_bytes(len);
    if n > 100_000_000 || n > size.saturating_sub(8) {
        return Err(bad(format!("header length {n} in {size} bytes")));
    }
    let mut header = vec![0u8; n as usize];
    f.read_exact(&mut header)
        .map_err(|e| Error::io("reading", path, e))?;
    let v: serde_json::Value =
        serde_json::from_slice(&header).map_err(|e| bad(format!("header: {e}")))?;
    let obj = v
        .as_object()
        .ok_or_else(|| bad("header is not an object".into()))?;
    Ok(obj
        .iter()
        .filter(|(k, _)| *k != "__metadata__")
        .map(|(k, t)| {
            let shape = t["shape"]
                .as_array()
                .map(|a| a.iter().filter_map(|d| d.as_i64()).collect())
                .unwrap_or_default();
            (k.clone(), shape)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map() {
        let b = Architecture::Bert;
        assert_eq!(
            canonical_name("bert.encoder.layer.0.attention.self.query.weight", b).unwrap(),
            "bert.encoder.layer.0.attention.self.query.weight"
        );
        assert_eq!(
            canonical_name("encoder.layer.0.output.LayerNorm.gamma", b).unwrap(),
            "bert.encoder.layer.0.output.LayerNorm.weight"
        );
        assert_eq!(
            canonical_name("embeddings.LayerNorm.beta", b).unwrap(),
            "bert.embeddings.LayerNorm.bias"
        );
        assert_eq!(
            canonical_name("classifier.weight", b).unwrap(),
            "classifier.weight"
        );
        assert_eq!(canonical_name("bert.embeddings.position_ids", b), None);
        assert_eq!(canonical_name("cls.predictions.bias", b), None);
        assert_eq!(
            canonical_name("roberta.pooler.dense.bias", Architecture::Roberta).unwrap(),
            "roberta.pooler.dense.bias"
        );
    }

    #[test]
    fn distilbert_and_electra_names_map() {
        let d = Architecture::DistilBert;
        assert_eq!(
            canonical_name("distilbert.transformer.layer.2.ffn.lin1.weight", d).unwrap(),
            "distilbert.transformer.layer.2.ffn.lin1.weight"
        );
        assert_eq!(
            canonical_name("transformer.layer.0.sa_layer_norm.bias", d).unwrap(),
            "distilbert.transformer.layer.0.sa_layer_norm.bias"
        );
        assert_eq!(
            canonical_name("pre_classifier.weight", d).unwrap(),
            "pre_classifier.weight"
        );
        // DistilBertForMaskedLM's head is not ours.
        assert_eq!(canonical_name("vocab_projector.bias", d), None);
        assert_eq!(canonical_name("vocab_transform.weight", d), None);
        let e = Architecture::Electra;
        assert_eq!(
            canonical_name("electra.embeddings_project.weight", e).unwrap(),
            "electra.embeddings_project.weight"
        );
        assert_eq!(
            canonical_name("classifier.out_proj.bias", e).unwrap(),
            "classifier.out_proj.bias"
        );
        // ElectraForPreTraining's discriminator head is not ours.
        assert_eq!(
            canonical_name("discriminator_predictions.dense.weight", e),
            None
        );
    }

    #[test]
    fn deberta_names_map_with_the_context_pooler_at_the_root() {
        let d = Architecture::DebertaV2;
        for name in [
            "deberta.encoder.rel_embeddings.weight",
            "deberta.encoder.LayerNorm.bias",
            "deberta.encoder.layer.1.attention.self.pos_key_proj.weight",
        ] {
            assert_eq!(canonical_name(name, d).unwrap(), name);
        }
        // DebertaV2Model saved bare: the prefix is added.
        assert_eq!(
            canonical_name("encoder.layer.0.attention.self.query_proj.bias", d).unwrap(),
            "deberta.encoder.layer.0.attention.self.query_proj.bias"
        );
        // The ContextPooler is the head's (root), unlike a bare BertModel's pooler.
        assert_eq!(
            canonical_name("pooler.dense.weight", d).unwrap(),
            "pooler.dense.weight"
        );
        assert_eq!(
            canonical_name("pooler.dense.weight", Architecture::Bert).unwrap(),
            "bert.pooler.dense.weight"
        );
        // DebertaV2ForMaskedLM's head (legacy and new) is not ours.
        assert_eq!(canonical_name("lm_predictions.lm_head.bias", d), None);
        assert_eq!(canonical_name("cls.predictions.bias", d), None);
        assert_eq!(canonical_name("mask_predictions.dense.weight", d), None);
    }

    #[test]
    fn modernbert_names_map_and_its_mlm_decoder_is_ignored() {
        let m = Architecture::ModernBert;
        assert_eq!(
            canonical_name("model.layers.1.attn.Wqkv.weight", m).unwrap(),
            "model.layers.1.attn.Wqkv.weight"
        );
        // A bare ModernBertModel's names get the prefix.
        assert_eq!(
            canonical_name("final_norm.weight", m).unwrap(),
            "model.final_norm.weight"
        );
        assert_eq!(
            canonical_name("embeddings.tok_embeddings.weight", m).unwrap(),
            "model.embeddings.tok_embeddings.weight"
        );
        assert_eq!(
            canonical_name("head.dense.weight", m).unwrap(),
            "head.dense.weight"
        );
        assert_eq!(canonical_name("decoder.bias", m), None);
        assert_eq!(canonical_name("decoder.weight", m), None);
    }
}
