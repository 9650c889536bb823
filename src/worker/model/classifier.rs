//! The sequence classifier of any supported family: one type for the trainer,
//! predict and evaluate, dispatching to the family's own module. Each family
//! module builds its variables under the names its `transformers`
//! `*ForSequenceClassification` uses, so checkpoints go both ways.

use super::bert::BertClassifier;
use super::config::{Architecture, EncoderConfig};
use super::deberta::DebertaClassifier;
use super::modernbert::ModernBertClassifier;
use tch::nn;
use tch::{Kind, Tensor};

/// A family's classifier (encoder + head).
pub enum Classifier {
    /// BERT, RoBERTa, XLM-R, DistilBERT and ELECTRA: one post-norm layer type.
    Bert(BertClassifier),
    /// DeBERTa-v2 / -v3: disentangled attention, ContextPooler head.
    Deberta(DebertaClassifier),
    /// ModernBERT: rotary, alternating global/local attention, GeGLU.
    ModernBert(ModernBertClassifier),
}

impl Classifier {
    /// Variables at `root`, named as `transformers` names them for the family
    /// in `config.model_type`.
    pub fn new(root: &nn::Path, config: &EncoderConfig, num_labels: i64, dropout: f64) -> Self {
        match (config.model_type, &config.modernbert) {
            (Architecture::DebertaV2, _) => {
                Classifier::Deberta(DebertaClassifier::new(root, config, num_labels, dropout))
            }
            (Architecture::ModernBert, Some(o)) => Classifier::ModernBert(
                ModernBertClassifier::new(root, config, o, num_labels, dropout),
            ),
            (Architecture::ModernBert, None) => {
                unreachable!("EncoderConfig::from_file reads ModernBERT's options")
            }
            _ => Classifier::Bert(BertClassifier::new(root, config, num_labels, dropout)),
        }
    }

    /// Logits [batch, labels], fp32 whatever the compute dtype.
    pub fn forward_t(&self, input_ids: &Tensor, attention_mask: &Tensor, train: bool) -> Tensor {
        match self {
            Classifier::Bert(m) => m.forward_t(input_ids, attention_mask, train),
            Classifier::Deberta(m) => m.forward_t(input_ids, attention_mask, train),
            Classifier::ModernBert(m) => m.forward_t(input_ids, attention_mask, train),
        }
    }

    /// The encoder's last hidden state [batch, seq, hidden] and BERT's pooled
    /// output where the family has a pooler (what the goldens compare).
    pub fn hidden_states(
        &self,
        input_ids: &Tensor,
        attention_mask: &Tensor,
    ) -> (Tensor, Option<Tensor>) {
        match self {
            Classifier::Bert(m) => m.encoder.forward_t(input_ids, attention_mask, false),
            // The ContextPooler belongs to the head: no pooled output here.
            Classifier::Deberta(m) => (m.encoder.forward_t(input_ids, attention_mask, false), None),
            Classifier::ModernBert(m) => {
                (m.encoder.forward_t(input_ids, attention_mask, false), None)
            }
        }
    }

    /// Compute dtype for matmuls and attention (None: the weights' fp32).
    pub fn set_compute_kind(&mut self, kind: Option<Kind>) {
        match self {
            Classifier::Bert(m) => m.encoder.compute_kind = kind,
            Classifier::Deberta(m) => m.encoder.compute_kind = kind,
            Classifier::ModernBert(m) => m.encoder.compute_kind = kind,
        }
    }

    /// The encoder's layers' linear maps in int8 (CPU inference), every
    /// family (DeBERTa's relative-position projections stay fp32).
    pub fn quantize_int8(&mut self) -> crate::util::error::Result<()> {
        match self {
            Classifier::Bert(m) => m.encoder.quantize_int8(),
            Classifier::Deberta(m) => m.encoder.quantize_int8(),
            Classifier::ModernBert(m) => m.encoder.quantize_int8(),
        }
    }

    pub fn num_labels(&self) -> i64 {
        match self {
            Classifier::Bert(m) => m.num_labels,
            Classifier::Deberta(m) => m.num_labels,
            Classifier::ModernBert(m) => m.num_labels,
        }
    }
}
