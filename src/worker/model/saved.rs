//! A model on disk: a pretrained encoder to fine-tune, or a hecjob-trained
//! classifier directory (`model.safetensors`, `config.json`, `tokenizer.json`,
//! `labels.txt`, `hecjob.json`) that `predict`/`evaluate` reload.

use super::classifier::Classifier;
use super::config::{Architecture, EncoderConfig};
use super::tokenize::TextEncoder;
use super::weights::{self, Head};
use crate::util::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tch::{nn::VarStore, Device};

/// Inference settings saved beside a trained model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HecjobMeta {
    pub hecjob_version: String,
    pub base_model: String,
    pub max_length: usize,
    pub threshold: f64,
    /// Per-label thresholds tuned on dev (when --tune-thresholds was used).
    pub tuned_thresholds: Option<Vec<f64>>,
    pub dropout: f64,
    pub epoch: u32,
    /// How the logits are read: `multi_label` (sigmoid per label, thresholds)
    /// or `single_label` (softmax over the classes, argmax). Models saved
    /// before hecjob 0.4 have none: multi-label.
    #[serde(default)]
    pub task: crate::data::spec::Task,
    /// What the run's matmuls computed in, its dev and test scores included:
    /// `bf16` (autocast; the weights are saved in fp32 all the same), absent
    /// for fp32. `hecjob evaluate` scores in it where the hardware has it, so
    /// its numbers are the run's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<String>,
}

pub struct LoadedModel {
    pub vs: VarStore,
    pub model: Classifier,
    pub encoder: TextEncoder,
    pub labels: Vec<String>,
    pub config: EncoderConfig,
    /// Raw config.json, kept to write it back with the labels added.
    pub raw_config: serde_json::Value,
    pub meta: Option<HecjobMeta>,
}

/// Resolve a model name by the one rule ([`crate::fetch::model_ref::ModelRef`]): a
/// path is used as it is, a hub id is looked up in the HF cache.
pub fn resolve(name: &str, revision: Option<&str>) -> Result<PathBuf> {
    crate::fetch::hub::resolve_model_dir(name, revision)
}

fn read_raw_config(dir: &Path) -> Result<(EncoderConfig, serde_json::Value)> {
    let path = dir.join("config.json");
    if !path.is_file() {
        return Err(Error::Data(format!(
            "{}: no config.json; is this a model directory?",
            dir.display()
        )));
    }
    EncoderConfig::from_file(&path)
}

fn weights_file(dir: &Path) -> Result<PathBuf> {
    let p = dir.join("model.safetensors");
    if p.is_file() {
        Ok(p)
    } else {
        Err(Error::Data(format!(
            "{}: no model.safetensors (hecjob reads safetensors weights only; pytorch_model.bin is not supported)",
            dir.display()
        )))
    }
}

impl LoadedModel {
    /// A pretrained encoder with a fresh head for `labels`.
    pub fn pretrained(
        dir: &Path,
        labels: &[String],
        dropout: f64,
        max_length: usize,
        device: Device,
    ) -> Result<LoadedModel> {
        Self::new_for_training(dir, labels, dropout, max_length, device, false)
    }

    /// `random_init`: ignore any weights and start from tch's initialisation
    /// (benchmarks of a model shape with only config.json and tokenizer.json).
    pub fn new_for_training(
        dir: &Path,
        labels: &[String],
        dropout: f64,
        max_length: usize,
        device: Device,
        random_init: bool,
    ) -> Result<LoadedModel> {
        let (config, raw_config) = read_raw_config(dir)?;
        if max_length as i64 > config.max_tokens() {
            return Err(Error::Usage(format!(
                "max_length {max_length} is longer than {} can take ({} tokens); lower train.max_length / --max-length",
                dir.display(),
                config.max_tokens()
            )));
        }
        let encoder = TextEncoder::from_dir(dir, max_length)?;
        // Names and shapes from the file's header first: a config.json that
        // does not match its weights is refused before the model is built.
        let weights_path = if random_init {
            None
        } else {
            let p = weights_file(dir)?;
            weights::check_against_config(&p, &config)?;
            Some(p)
        };
        let vs = VarStore::new(device);
        let model = Classifier::new(&vs.root(), &config, labels.len() as i64, dropout);
        if let Some(p) = weights_path {
            let random = weights::load(&vs, &p, config.model_type, Head::InitIfMissing)?;
            if random.iter().any(|n| n.contains(".pooler.")) {
                eprintln!(
                    "note: {} has no pooler weights; the pooler starts from random init",
                    dir.display()
                );
            }
        }
        Ok(LoadedModel {
            vs,
            model,
            encoder,
            labels: labels.to_vec(),
            config,
            raw_config,
            meta: None,
        })
    }

    /// A classifier saved by hecjob (`save`).
    pub fn trained(dir: &Path, device: Device) -> Result<LoadedModel> {
        let (config, raw_config) = read_raw_config(dir)?;
        refuse_old_roberta_head(dir, &config, &raw_config)?;
        let meta_path = dir.join("hecjob.json");
        if !meta_path.exists() {
            let (meta, labels) = transformers_meta(dir, &config, &raw_config)?;
            return Self::with_meta(dir, config, raw_config, meta, labels, device);
        }
        let meta: HecjobMeta = serde_json::from_str(&crate::util::fsutil::read_to_string(
            &meta_path,
            "reading model metadata",
        )?)
        .map_err(|e| Error::Data(format!("{}: {e}", meta_path.display())))?;
        let labels_path = dir.join("labels.txt");
        let labels: Vec<String> =
            crate::util::fsutil::read_to_string(&labels_path, "reading labels")?
                .lines()
                .map(str::to_string)
                .filter(|l| !l.is_empty())
                .collect();
        if let Some(t) = &meta.tuned_thresholds {
            if t.len() != labels.len() {
                return Err(Error::Data(format!(
                    "{}: {} tuned thresholds for {} labels in labels.txt",
                    meta_path.display(),
                    t.len(),
                    labels.len()
                )));
            }
        }
        Self::with_meta(dir, config, raw_config, meta, labels, device)
    }

    /// The encoder, the weights with their head, and `meta`.
    fn with_meta(
        dir: &Path,
        config: EncoderConfig,
        raw_config: serde_json::Value,
        meta: HecjobMeta,
        labels: Vec<String>,
        device: Device,
    ) -> Result<LoadedModel> {
        let encoder = TextEncoder::from_dir(dir, meta.max_length)?;
        let weights_path = weights_file(dir)?;
        weights::check_against_config(&weights_path, &config)?;
        let vs = VarStore::new(device);
        let model = Classifier::new(&vs.root(), &config, labels.len() as i64, meta.dropout);
        weights::load(&vs, &weights_path, config.model_type, Head::Required)?;
        Ok(LoadedModel {
            vs,
            model,
            encoder,
            labels,
            config,
            raw_config,
            meta: Some(meta),
        })
    }

    /// How the model's logits are read (multi-label for a model without
    /// hecjob.json).
    pub fn task(&self) -> crate::data::spec::Task {
        self.meta.as_ref().map(|m| m.task).unwrap_or_default()
    }

    /// Per-label decision thresholds: `threshold` for every label when given,
    /// else the ones tuned on dev at training time, else the training threshold.
    pub fn thresholds(&self, threshold: Option<f64>) -> Vec<f64> {
        let n = self.labels.len();
        match (threshold, self.meta.as_ref()) {
            (Some(t), _) => vec![t; n],
            (None, Some(m)) => m
                .tuned_thresholds
                .clone()
                .unwrap_or_else(|| vec![m.threshold; n]),
            (None, None) => vec![0.3; n],
        }
    }

    /// Write the model directory atomically file by file: weights (HF names,
    /// loadable as the family's class, [`super::config::Architecture::hf_class`]: e.g.
    /// BertForSequenceClassification), config.json with the labels,
    /// tokenizer.json, labels.txt, hecjob.json.
    pub fn save(&self, dir: &Path, meta: &HecjobMeta) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("creating model directory", dir, e))?;
        save_weights(&self.vs, &dir.join("model.safetensors"))?;
        self.save_beside_weights(dir, meta)
    }

    /// Everything of [`LoadedModel::save`] but the weights: config.json with
    /// the labels, the tokenizer, labels.txt, hecjob.json (last). For a
    /// `model.safetensors` put there otherwise (an earlier epoch's, restored
    /// from a checkpoint).
    pub fn save_beside_weights(&self, dir: &Path, meta: &HecjobMeta) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("creating model directory", dir, e))?;
        let mut cfg = self.raw_config.clone();
        if let Some(obj) = cfg.as_object_mut() {
            let arch = self.config.model_type.hf_class();
            obj.insert("architectures".into(), serde_json::json!([arch]));
            // transformers picks sigmoid + BCE or softmax + cross-entropy by it.
            let problem = match meta.task {
                crate::data::spec::Task::MultiLabel => "multi_label_classification",
                crate::data::spec::Task::SingleLabel => "single_label_classification",
            };
            obj.insert("problem_type".into(), problem.into());
            let id2label: serde_json::Map<String, serde_json::Value> = self
                .labels
                .iter()
                .enumerate()
                .map(|(i, l)| (i.to_string(), l.clone().into()))
                .collect();
            let label2id: serde_json::Map<String, serde_json::Value> = self
                .labels
                .iter()
                .enumerate()
                .map(|(i, l)| (l.clone(), i.into()))
                .collect();
            obj.insert("id2label".into(), id2label.into());
            obj.insert("label2id".into(), label2id.into());
        }
        let json = serde_json::to_string_pretty(&cfg).expect("json");
        crate::util::fsutil::write_atomic(&dir.join("config.json"), json.as_bytes())?;
        self.encoder.save(dir)?;
        crate::util::fsutil::write_atomic(
            &dir.join("labels.txt"),
            (self.labels.join("\n") + "\n").as_bytes(),
        )?;
        let meta_json = serde_json::to_string_pretty(meta).expect("json");
        crate::util::fsutil::write_atomic(&dir.join("hecjob.json"), meta_json.as_bytes())?;
        Ok(())
    }
}

/// How a `*ForSequenceClassification` directory that transformers saved (no
/// hecjob.json) is read, as transformers' text-classification pipeline reads
/// it: the labels from `id2label`; sigmoid per label at 0.5 when `problem_type`
/// is `multi_label_classification` (or there is one label), else softmax over
/// the classes; texts cut at the model's positions (at most 512 tokens).
fn transformers_meta(
    dir: &Path,
    config: &EncoderConfig,
    raw: &serde_json::Value,
) -> Result<(HecjobMeta, Vec<String>)> {
    let id2label = raw
        .get("id2label")
        .and_then(|v| v.as_object())
        .ok_or_else(|| {
            Error::Data(format!(
                "{}: neither a model hecjob saved (no hecjob.json) nor a transformers classifier (config.json has no id2label)",
                dir.display()
            ))
        })?;
    let mut pairs: Vec<(usize, String)> = Vec::with_capacity(id2label.len());
    for (k, v) in id2label {
        let id = k.parse::<usize>().map_err(|_| {
            Error::Data(format!(
                "{}/config.json: id2label key {k:?} is not an id",
                dir.display()
            ))
        })?;
        pairs.push((id, v.as_str().unwrap_or_default().to_string()));
    }
    pairs.sort();
    if pairs.iter().enumerate().any(|(i, (id, _))| *id != i) {
        return Err(Error::Data(format!(
            "{}/config.json: id2label's ids are not 0..{}",
            dir.display(),
            pairs.len()
        )));
    }
    let labels: Vec<String> = pairs.into_iter().map(|(_, l)| l).collect();
    let multi = raw.get("problem_type").and_then(|v| v.as_str())
        == Some("multi_label_classification")
        || labels.len() == 1;
    let meta = HecjobMeta {
        hecjob_version: "transformers".into(),
        base_model: dir.display().to_string(),
        max_length: config.max_tokens().clamp(1, 512) as usize,
        threshold: 0.5,
        tuned_thresholds: None,
        dropout: 0.0,
        epoch: 0,
        precision: None,
        task: if multi {
            crate::data::spec::Task::MultiLabel
        } else {
            crate::data::spec::Task::SingleLabel
        },
    };
    Ok((meta, labels))
}

/// hecjob 0.3 and earlier saved RoBERTa classifiers with BERT's head (pooler →
/// `classifier`) and `architectures: ["RobertaModel"]`; the head is now
/// RobertaForSequenceClassification's, which those weights do not have.
fn refuse_old_roberta_head(
    dir: &Path,
    config: &EncoderConfig,
    raw: &serde_json::Value,
) -> Result<()> {
    if config.model_type == Architecture::Roberta
        && raw.get("architectures") == Some(&serde_json::json!(["RobertaModel"]))
    {
        return Err(Error::Data(format!(
            "{}: a RoBERTa classifier saved by hecjob 0.3 or earlier (pooler → classifier head, architectures RobertaModel); hecjob now trains RobertaForSequenceClassification's head (classifier.dense → classifier.out_proj): retrain the model, or predict with hecjob 0.3",
            dir.display()
        )));
    }
    Ok(())
}

/// Save a VarStore as safetensors: fp32, on the CPU, sorted by name.
pub fn save_weights(vs: &VarStore, path: &Path) -> Result<()> {
    let mut vars: Vec<(String, tch::Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    // Weights are always stored fp32 on the CPU, whatever the training precision.
    let vars: Vec<(String, tch::Tensor)> = vars
        .into_iter()
        .map(|(n, t)| {
            (
                n,
                t.detach()
                    .to_kind(tch::Kind::Float)
                    .to_device(Device::Cpu)
                    .contiguous(),
            )
        })
        .collect();
    write_safetensors_atomic(path, &vars)
}

/// Write tensors as safetensors through a temp file + rename (tch writes in
/// place, which an interruption would leave half-written).
pub fn write_safetensors_atomic(
    path: &Path,
    tensors: &[(impl AsRef<str>, tch::Tensor)],
) -> Result<()> {
    crate::util::fsutil::replace_atomic(path, ".safetensors", |tmp| {
        tch::Tensor::write_safetensors(tensors, tmp.path()).map_err(|e| {
            // A full disk is local I/O (exit 4), not bad data.
            crate::util::error::tch_local_io(&e, path.to_path_buf()).unwrap_or_else(|| {
                Error::Training(format!("{}: writing safetensors: {e}", path.display()))
            })
        })
    })
}
