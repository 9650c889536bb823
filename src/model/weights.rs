//! Load HF safetensors into the variables of [`super::bert::Classifier`].
//!
//! Checkpoints name the same tensor differently: a `bert.`/`roberta.` prefix
//! (ForSequenceClassification/ForMaskedLM) or none (bare BertModel,
//! sentence-transformers), and old TF-converted ones call LayerNorm's weight and
//! bias `gamma`/`beta`. We map every name to ours explicitly.

use super::config::Architecture;
use crate::error::{Error, Result};
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
    if name.starts_with("classifier.") {
        return Some(name.to_string());
    }
    let mut rest = name;
    for prefix in ["bert.", "roberta.", "model."] {
        if let Some(r) = rest.strip_prefix(prefix) {
            rest = r;
            break;
        }
    }
    // Buffers and heads we don't use (position_ids, MLM/NSP heads).
    if !(rest.starts_with("embeddings.")
        || rest.starts_with("encoder.")
        || rest.starts_with("pooler."))
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
            let is_head = name.starts_with("classifier.");
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
            arch.prefix()
        )));
    }
    Ok(random_init)
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
}
