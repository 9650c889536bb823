//! BERT, RoBERTa, XLM-RoBERTa, DistilBERT and ELECTRA encoders in tch,
//! numerically matching Hugging Face transformers, each with the head of its
//! `*ForSequenceClassification` (BERT's: pooled output → dropout → linear).
//!
//! The five share one layer (post-norm attention + feed-forward); they differ
//! in names, embeddings (RoBERTa's positions start after padding_idx;
//! DistilBERT has no token types; ELECTRA's may be narrower than the layers
//! and are projected), the pooler (BERT only) and the head. XLM-R is
//! RoBERTa's body under RoBERTa's names; only its tokenizer differs.
//! Variables are created under the names HF uses (`bert.encoder.layer.0.…`,
//! `distilbert.transformer.layer.0.…`, `classifier.weight`), so checkpoints
//! load without renaming and the model hecjob saves loads in transformers as
//! the matching class ([`Architecture::hf_class`]).

use super::config::{Architecture, EncoderConfig, HiddenAct};
use super::int8::Int8Linear;
use crate::util::error::Result;
use tch::nn::{self, Module};
use tch::{Kind, Tensor};

/// A linear layer, computed in `kind` when set (bf16 autocast): input, weight
/// and bias are cast, so gradients flow back to the fp32 master weights.
pub(super) fn dense(l: &nn::Linear, x: &Tensor, kind: Option<Kind>) -> Tensor {
    linear_in(x, &l.ws, l.bs.as_ref(), kind)
}

/// `x·wᵀ + b`, in `kind` when set (see [`dense`]).
pub(super) fn linear_in(x: &Tensor, w: &Tensor, b: Option<&Tensor>, kind: Option<Kind>) -> Tensor {
    match kind {
        None => x.linear(w, b),
        Some(k) => x.to_kind(k).linear(&w.to_kind(k), b.map(|b| b.to_kind(k))),
    }
}

/// The most negative finite value of a float dtype (torch.finfo(kind).min).
pub(super) fn lowest(kind: Kind) -> f64 {
    match kind {
        Kind::Half => -65504.0,
        Kind::BFloat16 => -3.389_531_389_251_535_5e38,
        Kind::Double => f64::MIN,
        _ => f64::from(f32::MIN),
    }
}

/// Back to fp32 for the residual stream and LayerNorm; skipped (not even a
/// dispatcher call) when everything already is fp32.
pub(super) fn to_fp32(x: Tensor, kind: Option<Kind>) -> Tensor {
    match kind {
        Some(_) => x.to_kind(Kind::Float),
        None => x,
    }
}

struct Embeddings {
    word: nn::Embedding,
    position: nn::Embedding,
    /// None for DistilBERT, which has no token types.
    token_type: Option<nn::Embedding>,
    layer_norm: nn::LayerNorm,
    /// ELECTRA's `embeddings_project` (embedding_size → hidden_size), applied
    /// after the dropout; None where the widths agree.
    project: Option<nn::Linear>,
    dropout: f64,
    arch: Architecture,
    pad_id: i64,
}

pub(super) fn layer_norm(p: nn::Path, dim: i64, eps: f64) -> nn::LayerNorm {
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
    /// `p` is the embeddings' path; `project` the path of ELECTRA's projection
    /// (a sibling: `electra.embeddings_project`).
    fn new(p: nn::Path, project: nn::Path, c: &EncoderConfig) -> Self {
        let e = nn::EmbeddingConfig::default();
        let width = c.embedding_size();
        Embeddings {
            word: nn::embedding(&p / "word_embeddings", c.vocab_size, width, e),
            position: nn::embedding(
                &p / "position_embeddings",
                c.max_position_embeddings,
                width,
                e,
            ),
            token_type: (c.model_type != Architecture::DistilBert)
                .then(|| nn::embedding(&p / "token_type_embeddings", c.type_vocab_size, width, e)),
            layer_norm: layer_norm(&p / "LayerNorm", width, c.layer_norm_eps),
            project: (width != c.hidden_size)
                .then(|| nn::linear(project, width, c.hidden_size, Default::default())),
            dropout: c.hidden_dropout_prob,
            arch: c.model_type,
            pad_id: c.pad_token_id,
        }
    }

    fn forward_t(&self, input_ids: &Tensor, train: bool, kind: Option<Kind>) -> Tensor {
        let (_, seq) = input_ids.size2().expect("input_ids is [batch, seq]");
        let words = self.word.forward(input_ids);
        let x = match self.arch {
            // RoBERTa (and XLM-R) count positions from padding_idx + 1 and give
            // padding tokens the padding index (HF create_position_ids_from_input_ids).
            a if a.positions_after_padding() => {
                let mask = input_ids.ne(self.pad_id).to_kind(Kind::Int64);
                let position_ids = mask.cumsum(1, Kind::Int64) * &mask + self.pad_id;
                words + self.position.forward(&position_ids)
            }
            // Positions 0..seq for every row: the first `seq` rows, a view.
            _ => words + self.position.ws.narrow(0, 0, seq),
        };
        // Every token has type 0 (one segment per text; RoBERTa has one type
        // only), so the type embedding is row 0 broadcast: a view, where a
        // lookup would cost an index tensor and a scatter in the backward.
        let x = match &self.token_type {
            Some(t) => x + t.ws.select(0, 0),
            None => x,
        };
        let x = self.layer_norm.forward(&x).dropout(self.dropout, train);
        match &self.project {
            Some(p) => to_fp32(dense(p, &x, kind), kind),
            None => x,
        }
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
    /// The four matmuls in int8 (`Encoder::quantize_int8`), for inference.
    int8: Option<Int8Layer>,
}

/// A post-norm layer's linear maps quantized (BERT's and DeBERTa's): Q, K
/// and V as one, as the fp32 path computes them.
pub(super) struct Int8Layer {
    pub(super) qkv: Int8Linear,
    pub(super) attn_out: Int8Linear,
    pub(super) intermediate: Int8Linear,
    pub(super) output: Int8Linear,
}

impl Int8Layer {
    pub(super) fn new(
        [query, key, value]: [&nn::Linear; 3],
        attn_out: &nn::Linear,
        intermediate: &nn::Linear,
        output: &nn::Linear,
    ) -> Result<Int8Layer> {
        let q = |l: &nn::Linear| Int8Linear::new(&l.ws, l.bs.as_ref());
        let (w, bias) = qkv_concat(query, key, value);
        Ok(Int8Layer {
            qkv: Int8Linear::new(&w, bias.as_ref())?,
            attn_out: q(attn_out)?,
            intermediate: q(intermediate)?,
            output: q(output)?,
        })
    }
}

/// Q, K and V's weights (and biases) concatenated: one matmul.
pub(super) fn qkv_concat(
    query: &nn::Linear,
    key: &nn::Linear,
    value: &nn::Linear,
) -> (Tensor, Option<Tensor>) {
    let w = Tensor::cat(&[&query.ws, &key.ws, &value.ws], 0);
    let bias = match (&query.bs, &key.bs, &value.bs) {
        (Some(bq), Some(bk), Some(bv)) => Some(Tensor::cat(&[bq, bk, bv], 0)),
        _ => None,
    };
    (w, bias)
}

/// `l` in int8 when quantized, else in `kind` ([`dense`]).
pub(super) fn apply(
    l: &nn::Linear,
    q: Option<&Int8Linear>,
    x: &Tensor,
    kind: Option<Kind>,
) -> Tensor {
    match q {
        Some(q) => q.forward(x),
        None => dense(l, x, kind),
    }
}

#[derive(Clone, Copy)]
enum Activation {
    GeluErf,
    GeluTanh,
    Relu,
}

/// A layer's variable names, relative to the layer: BERT's (RoBERTa and
/// ELECTRA share them) or DistilBERT's. Order: query, key, value, attention
/// output, its LayerNorm, intermediate, output, its LayerNorm.
fn layer_names(arch: Architecture) -> [&'static str; 8] {
    match arch {
        Architecture::DistilBert => [
            "attention.q_lin",
            "attention.k_lin",
            "attention.v_lin",
            "attention.out_lin",
            "sa_layer_norm",
            "ffn.lin1",
            "ffn.lin2",
            "output_layer_norm",
        ],
        _ => [
            "attention.self.query",
            "attention.self.key",
            "attention.self.value",
            "attention.output.dense",
            "attention.output.LayerNorm",
            "intermediate.dense",
            "output.dense",
            "output.LayerNorm",
        ],
    }
}

/// `p / "a.b.c"`: a dotted name as nested path components.
pub(super) fn at<'a>(p: &nn::Path<'a>, dotted: &str) -> nn::Path<'a> {
    let mut parts = dotted.split('.');
    let first = p / parts.next().unwrap_or_default();
    parts.fold(first, |p, part| p / part)
}

impl Layer {
    fn new(p: nn::Path, c: &EncoderConfig) -> Self {
        let lin = Default::default();
        let h = c.hidden_size;
        let [q, k, v, ao, an, i, o, on] = layer_names(c.model_type);
        Layer {
            query: nn::linear(at(&p, q), h, h, lin),
            key: nn::linear(at(&p, k), h, h, lin),
            value: nn::linear(at(&p, v), h, h, lin),
            attn_out: nn::linear(at(&p, ao), h, h, lin),
            attn_norm: layer_norm(at(&p, an), h, c.layer_norm_eps),
            intermediate: nn::linear(at(&p, i), h, c.intermediate_size, lin),
            output: nn::linear(at(&p, o), c.intermediate_size, h, lin),
            out_norm: layer_norm(at(&p, on), h, c.layer_norm_eps),
            heads: c.num_attention_heads,
            head_dim: c.head_dim(),
            hidden_dropout: c.hidden_dropout_prob,
            attn_dropout: c.attention_probs_dropout_prob,
            act: match c.hidden_act {
                HiddenAct::Gelu => Activation::GeluErf,
                HiddenAct::Relu => Activation::Relu,
                HiddenAct::GeluNew | HiddenAct::GeluPytorchTanh => Activation::GeluTanh,
            },
            int8: None,
        }
    }

    fn quantize_int8(&mut self) -> Result<()> {
        self.int8 = Some(Int8Layer::new(
            [&self.query, &self.key, &self.value],
            &self.attn_out,
            &self.intermediate,
            &self.output,
        )?);
        Ok(())
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
        let q8 = self.int8.as_ref();
        let qkv = match q8 {
            Some(q) => q.qkv.forward(x),
            None => {
                let (w, bias) = qkv_concat(&self.query, &self.key, &self.value);
                linear_in(x, &w, bias.as_ref(), kind)
            }
        };
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
        let attn = apply(&self.attn_out, q8.map(|q| &q.attn_out), &ctx, kind)
            .dropout(self.hidden_dropout, train);
        let x = self.attn_norm.forward(&to_fp32(attn + x, kind));
        let inter = apply(&self.intermediate, q8.map(|q| &q.intermediate), &x, kind);
        let inter = match self.act {
            Activation::GeluErf => inter.gelu("none"),
            Activation::GeluTanh => inter.gelu("tanh"),
            Activation::Relu => inter.relu(),
        };
        let out = apply(&self.output, q8.map(|q| &q.output), &inter, kind)
            .dropout(self.hidden_dropout, train);
        self.out_norm.forward(&to_fp32(out + x, kind))
    }
}

/// The encoder: embeddings, transformer layers, and BERT's pooler where the
/// family has one.
pub struct Encoder {
    embeddings: Embeddings,
    layers: Vec<Layer>,
    pooler: Option<nn::Linear>,
    /// Compute dtype for matmuls and attention (None: the weights' fp32).
    pub compute_kind: Option<Kind>,
}

impl Encoder {
    /// `p` is the path of the encoder (e.g. `root / "bert"`).
    pub fn new(p: nn::Path, config: &EncoderConfig) -> Self {
        let arch = config.model_type;
        let layers = (0..config.num_hidden_layers)
            .map(|i| Layer::new(at(&p, arch.layers_path()) / i, config))
            .collect();
        Encoder {
            embeddings: Embeddings::new(&p / "embeddings", &p / "embeddings_project", config),
            layers,
            pooler: arch.has_pooler().then(|| {
                nn::linear(
                    &p / "pooler" / "dense",
                    config.hidden_size,
                    config.hidden_size,
                    Default::default(),
                )
            }),
            compute_kind: None,
        }
    }

    /// Every layer's linear maps in int8 from now on (CPU inference only:
    /// the fp32 weights stay, unused, and nothing trains through these).
    pub fn quantize_int8(&mut self) -> Result<()> {
        self.layers.iter_mut().try_for_each(Layer::quantize_int8)
    }

    /// (last hidden state [batch, seq, hidden], pooled output [batch, hidden]
    /// where the family has a pooler).
    pub fn forward_t(
        &self,
        input_ids: &Tensor,
        attention_mask: &Tensor,
        train: bool,
    ) -> (Tensor, Option<Tensor>) {
        let (b, s) = input_ids.size2().expect("input_ids is [batch, seq]");
        // Built once here, not per layer: SDPA would convert a boolean mask to
        // an additive one in every layer. The fill is the dtype's most negative
        // FINITE value, as in HF (softmax gives those keys exactly 0 either
        // way): -inf reaching cuDNN's bf16 attention is what PyTorch's own
        // boolean-mask conversion avoids.
        let kind = self.compute_kind.unwrap_or(Kind::Float);
        let mask = Tensor::zeros([b, 1, 1, s], (kind, input_ids.device()))
            .masked_fill(&attention_mask.eq(0).view([b, 1, 1, s]), lowest(kind));
        let mut x = self
            .embeddings
            .forward_t(input_ids, train, self.compute_kind);
        for layer in &self.layers {
            x = layer.forward_t(&x, &mask, train, self.compute_kind);
        }
        let pooled = self
            .pooler
            .as_ref()
            .map(|p| dense(p, &x.select(1, 0), self.compute_kind).tanh());
        (x, pooled)
    }
}

/// The classification head, as each family's `*ForSequenceClassification`
/// builds it (same variable names, so a head trained in either tool loads in
/// the other). Every dropout is the classifier dropout hecjob is given.
enum Head {
    /// BERT: pooled → dropout → `classifier`.
    Pooled(nn::Linear),
    /// DistilBERT: first token → `pre_classifier` → ReLU → dropout → `classifier`.
    DistilBert { pre: nn::Linear, out: nn::Linear },
    /// ELECTRA, RoBERTa and XLM-R: first token → dropout →
    /// `classifier.dense` → GELU (erf; tanh for RoBERTa and XLM-R) → dropout
    /// → `classifier.out_proj`.
    FirstToken {
        dense: nn::Linear,
        out: nn::Linear,
        tanh: bool,
    },
}

/// Encoder and head: logits for each label.
pub struct BertClassifier {
    pub encoder: Encoder,
    head: Head,
    dropout: f64,
    pub num_labels: i64,
}

impl BertClassifier {
    /// Variables at `root / <prefix>` (`roberta` for XLM-R) and the head's names at `root`.
    pub fn new(root: &nn::Path, config: &EncoderConfig, num_labels: i64, dropout: f64) -> Self {
        let arch = config.model_type;
        let encoder = Encoder::new(root / arch.prefix(), config);
        let h = config.hidden_size;
        let lin = |p: nn::Path, out: i64| nn::linear(p, h, out, Default::default());
        let head = match arch {
            Architecture::Bert => Head::Pooled(lin(root / "classifier", num_labels)),
            Architecture::DistilBert => Head::DistilBert {
                pre: lin(root / "pre_classifier", h),
                out: lin(root / "classifier", num_labels),
            },
            Architecture::Electra | Architecture::Roberta | Architecture::XlmRoberta => {
                Head::FirstToken {
                    dense: lin(root / "classifier" / "dense", h),
                    out: lin(root / "classifier" / "out_proj", num_labels),
                    tanh: arch != Architecture::Electra,
                }
            }
            Architecture::DebertaV2 => unreachable!("Classifier::new builds DeBERTa's own model"),
            Architecture::ModernBert => {
                unreachable!("Classifier::new builds ModernBERT from modernbert.rs")
            }
        };
        BertClassifier {
            encoder,
            head,
            dropout,
            num_labels,
        }
    }

    /// Logits [batch, labels], fp32 whatever the compute dtype.
    pub fn forward_t(&self, input_ids: &Tensor, attention_mask: &Tensor, train: bool) -> Tensor {
        let (hidden, pooled) = self.encoder.forward_t(input_ids, attention_mask, train);
        let kind = self.encoder.compute_kind;
        let p = self.dropout;
        let logits = match &self.head {
            Head::Pooled(out) => {
                let pooled = pooled.expect("BERT has a pooler");
                dense(out, &pooled.dropout(p, train), kind)
            }
            Head::DistilBert { pre, out } => {
                let x = dense(pre, &hidden.select(1, 0), kind).relu();
                dense(out, &x.dropout(p, train), kind)
            }
            Head::FirstToken {
                dense: d,
                out,
                tanh,
            } => {
                let x = dense(d, &hidden.select(1, 0).dropout(p, train), kind);
                let x = if *tanh { x.tanh() } else { x.gelu("none") };
                dense(out, &x.dropout(p, train), kind)
            }
        };
        to_fp32(logits, kind)
    }
}
