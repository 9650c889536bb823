//! BERT and RoBERTa encoders in tch, numerically matching Hugging Face
//! transformers, plus the tutorial's classification head
//! (pooled output → dropout → linear to the labels).
//!
//! Variables are created under the names HF uses (`bert.encoder.layer.0.…`,
//! `classifier.weight`), so checkpoints load without renaming and the model
//! hecjob saves loads in transformers as BertForSequenceClassification.

use super::config::{Architecture, EncoderConfig, HiddenAct};
use tch::nn::{self, Module};
use tch::{Kind, Tensor};

/// A linear layer, computed in `kind` when set (bf16 autocast): input, weight
/// and bias are cast, so gradients flow back to the fp32 master weights.
fn dense(l: &nn::Linear, x: &Tensor, kind: Option<Kind>) -> Tensor {
    linear_in(x, &l.ws, l.bs.as_ref(), kind)
}

/// `x·wᵀ + b`, in `kind` when set (see [`dense`]).
fn linear_in(x: &Tensor, w: &Tensor, b: Option<&Tensor>, kind: Option<Kind>) -> Tensor {
    match kind {
        None => x.linear(w, b),
        Some(k) => x.to_kind(k).linear(&w.to_kind(k), b.map(|b| b.to_kind(k))),
    }
}

/// The most negative finite value of a float dtype (torch.finfo(kind).min).
fn lowest(kind: Kind) -> f64 {
    match kind {
        Kind::Half => -65504.0,
        Kind::BFloat16 => -3.389_531_389_251_535_5e38,
        Kind::Double => f64::MIN,
        _ => f64::from(f32::MIN),
    }
}

/// Back to fp32 for the residual stream and LayerNorm; skipped (not even a
/// dispatcher call) when everything already is fp32.
fn to_fp32(x: Tensor, kind: Option<Kind>) -> Tensor {
    match kind {
        Some(_) => x.to_kind(Kind::Float),
        None => x,
    }
}

struct Embeddings {
    word: nn::Embedding,
    position: nn::Embedding,
    token_type: nn::Embedding,
    layer_norm: nn::LayerNorm,
    dropout: f64,
    arch: Architecture,
    pad_id: i64,
}

fn layer_norm(p: nn::Path, dim: i64, eps: f64) -> nn::LayerNorm {
    nn::layer_norm(
        p,
        vec![dim],
        nn::LayerNormConfig {
            eps,
            ..Default::default()
        },
    )
}

impl Embeddings {
    fn new(p: nn::Path, c: &EncoderConfig) -> Self {
        let e = nn::EmbeddingConfig::default();
        Embeddings {
            word: nn::embedding(&p / "word_embeddings", c.vocab_size, c.hidden_size, e),
            position: nn::embedding(
                &p / "position_embeddings",
                c.max_position_embeddings,
                c.hidden_size,
                e,
            ),
            token_type: nn::embedding(
                &p / "token_type_embeddings",
                c.type_vocab_size,
                c.hidden_size,
                e,
            ),
            layer_norm: layer_norm(&p / "LayerNorm", c.hidden_size, c.layer_norm_eps),
            dropout: c.hidden_dropout_prob,
            arch: c.model_type,
            pad_id: c.pad_token_id,
        }
    }

    fn forward_t(&self, input_ids: &Tensor, train: bool) -> Tensor {
        let (_, seq) = input_ids.size2().expect("input_ids is [batch, seq]");
        let words = self.word.forward(input_ids);
        // Every token has type 0 (one segment per text; RoBERTa has one type
        // only), so the type embedding is row 0 broadcast: a view, where a
        // lookup would cost an index tensor and a scatter in the backward.
        let token_type = self.token_type.ws.select(0, 0);
        let x = match self.arch {
            // Positions 0..seq for every row: the first `seq` rows, again a view.
            Architecture::Bert => words + self.position.ws.narrow(0, 0, seq) + token_type,
            // RoBERTa counts positions from padding_idx + 1 and gives padding
            // tokens the padding index (HF create_position_ids_from_input_ids).
            Architecture::Roberta => {
                let mask = input_ids.ne(self.pad_id).to_kind(Kind::Int64);
                let position_ids = mask.cumsum(1, Kind::Int64) * &mask + self.pad_id;
                words + self.position.forward(&position_ids) + token_type
            }
        };
        self.layer_norm.forward(&x).dropout(self.dropout, train)
    }
}

struct Layer {
    query: nn::Linear,
    key: nn::Linear,
    value: nn::Linear,
    attn_out: nn::Linear,
    attn_norm: nn::LayerNorm,
    intermediate: nn::Linear,
    output: nn::Linear,
    out_norm: nn::LayerNorm,
    heads: i64,
    head_dim: i64,
    hidden_dropout: f64,
    attn_dropout: f64,
    act: Activation,
}

#[derive(Clone, Copy)]
enum Activation {
    GeluErf,
    GeluTanh,
    Relu,
}

impl Layer {
    fn new(p: nn::Path, c: &EncoderConfig) -> Self {
        let lin = Default::default();
        let att = &p / "attention";
        let h = c.hidden_size;
        Layer {
            query: nn::linear(&att / "self" / "query", h, h, lin),
            key: nn::linear(&att / "self" / "key", h, h, lin),
            value: nn::linear(&att / "self" / "value", h, h, lin),
            attn_out: nn::linear(&att / "output" / "dense", h, h, lin),
            attn_norm: layer_norm(&att / "output" / "LayerNorm", h, c.layer_norm_eps),
            intermediate: nn::linear(&p / "intermediate" / "dense", h, c.intermediate_size, lin),
            output: nn::linear(&p / "output" / "dense", c.intermediate_size, h, lin),
            out_norm: layer_norm(&p / "output" / "LayerNorm", h, c.layer_norm_eps),
            heads: c.num_attention_heads,
            head_dim: c.head_dim(),
            hidden_dropout: c.hidden_dropout_prob,
            attn_dropout: c.attention_probs_dropout_prob,
            act: match c.hidden_act {
                HiddenAct::Gelu => Activation::GeluErf,
                HiddenAct::Relu => Activation::Relu,
                HiddenAct::GeluNew | HiddenAct::GeluPytorchTanh => Activation::GeluTanh,
            },
        }
    }

    /// `mask`: additive [batch, 1, 1, seq] in the compute dtype, 0 where a key
    /// may be attended to and the dtype's lowest finite value where it is padding.
    /// LayerNorms and the residual stream stay fp32 (as under torch autocast);
    /// matmuls and attention run in `kind` when set.
    fn forward_t(&self, x: &Tensor, mask: &Tensor, train: bool, kind: Option<Kind>) -> Tensor {
        let (b, s, h) = x.size3().expect("hidden is [batch, seq, hidden]");
        // Q, K and V in ONE matmul over the concatenated weights: fewer, larger
        // kernels (forward and backward) than three projections. The weights
        // stay three HF-named variables; the concatenation is part of the graph.
        let w = Tensor::cat(&[&self.query.ws, &self.key.ws, &self.value.ws], 0);
        let bias = match (&self.query.bs, &self.key.bs, &self.value.bs) {
            (Some(bq), Some(bk), Some(bv)) => Some(Tensor::cat(&[bq, bk, bv], 0)),
            _ => None,
        };
        let qkv = linear_in(x, &w, bias.as_ref(), kind);
        // [b, s, 3·h] → three [b, heads, s, head_dim] views.
        let qkv = qkv
            .view([b, s, 3, self.heads, self.head_dim])
            .permute([2, 0, 3, 1, 4]);
        let (q, k, v) = (qkv.get(0), qkv.get(1), qkv.get(2));
        // SDPA picks a fused kernel (flash / memory-efficient) on CUDA and the
        // math path on CPU; scale defaults to 1/sqrt(head_dim) as in HF.
        let dropout = if train { self.attn_dropout } else { 0.0 };
        let ctx = Tensor::scaled_dot_product_attention(
            &q,
            &k,
            &v,
            Some(mask),
            dropout,
            false,
            None,
            false,
        );
        let ctx = ctx.transpose(1, 2).contiguous().view([b, s, h]);
        let attn = dense(&self.attn_out, &ctx, kind).dropout(self.hidden_dropout, train);
        let x = self.attn_norm.forward(&to_fp32(attn + x, kind));
        let inter = dense(&self.intermediate, &x, kind);
        let inter = match self.act {
            Activation::GeluErf => inter.gelu("none"),
            Activation::GeluTanh => inter.gelu("tanh"),
            Activation::Relu => inter.relu(),
        };
        let out = dense(&self.output, &inter, kind).dropout(self.hidden_dropout, train);
        self.out_norm.forward(&to_fp32(out + x, kind))
    }
}

/// The encoder: embeddings, transformer layers, pooler.
pub struct Encoder {
    embeddings: Embeddings,
    layers: Vec<Layer>,
    pooler: nn::Linear,
    /// Compute dtype for matmuls and attention (None: the weights' fp32).
    pub compute_kind: Option<Kind>,
}

impl Encoder {
    /// `p` is the path of the encoder (e.g. `root / "bert"`).
    pub fn new(p: nn::Path, config: &EncoderConfig) -> Self {
        let layers = (0..config.num_hidden_layers)
            .map(|i| Layer::new(&p / "encoder" / "layer" / i, config))
            .collect();
        Encoder {
            embeddings: Embeddings::new(&p / "embeddings", config),
            layers,
            pooler: nn::linear(
                &p / "pooler" / "dense",
                config.hidden_size,
                config.hidden_size,
                Default::default(),
            ),
            compute_kind: None,
        }
    }

    /// (last hidden state [batch, seq, hidden], pooled output [batch, hidden]).
    pub fn forward_t(
        &self,
        input_ids: &Tensor,
        attention_mask: &Tensor,
        train: bool,
    ) -> (Tensor, Tensor) {
        let (b, s) = input_ids.size2().expect("input_ids is [batch, seq]");
        // Built once here, not per layer: SDPA would convert a boolean mask to
        // an additive one in every layer. The fill is the dtype's most negative
        // FINITE value, as in HF (softmax gives those keys exactly 0 either
        // way): -inf reaching cuDNN's bf16 attention is what PyTorch's own
        // boolean-mask conversion avoids.
        let kind = self.compute_kind.unwrap_or(Kind::Float);
        let mask = Tensor::zeros([b, 1, 1, s], (kind, input_ids.device()))
            .masked_fill(&attention_mask.eq(0).view([b, 1, 1, s]), lowest(kind));
        let mut x = self.embeddings.forward_t(input_ids, train);
        for layer in &self.layers {
            x = layer.forward_t(&x, &mask, train, self.compute_kind);
        }
        let pooled = dense(&self.pooler, &x.select(1, 0), self.compute_kind).tanh();
        (x, pooled)
    }
}

/// The tutorial's classifier: encoder → dropout on the pooled output → linear.
pub struct Classifier {
    pub encoder: Encoder,
    head: nn::Linear,
    dropout: f64,
    pub num_labels: i64,
}

impl Classifier {
    /// Variables at `root / <bert|roberta>` and `root / "classifier"`.
    pub fn new(root: &nn::Path, config: &EncoderConfig, num_labels: i64, dropout: f64) -> Self {
        let encoder = Encoder::new(root / config.model_type.prefix(), config);
        let head = nn::linear(
            root / "classifier",
            config.hidden_size,
            num_labels,
            Default::default(),
        );
        Classifier {
            encoder,
            head,
            dropout,
            num_labels,
        }
    }

    /// Logits [batch, labels], fp32 whatever the compute dtype.
    pub fn forward_t(&self, input_ids: &Tensor, attention_mask: &Tensor, train: bool) -> Tensor {
        let (_, pooled) = self.encoder.forward_t(input_ids, attention_mask, train);
        let kind = self.encoder.compute_kind;
        to_fp32(
            dense(&self.head, &pooled.dropout(self.dropout, train), kind),
            kind,
        )
    }
}
