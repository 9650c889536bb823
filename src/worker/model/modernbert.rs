//! ModernBERT (`model_type: "modernbert"`) in tch, numerically matching
//! transformers' `ModernBertForSequenceClassification`, under its variable
//! names (`model.embeddings.tok_embeddings`, `model.layers.N.attn.Wqkv`,
//! `model.final_norm`, `head.dense`, `head.norm`, `classifier`), so a Hub
//! checkpoint loads without renaming and the model hecjob saves loads in
//! transformers as that class.
//!
//! The body: token embeddings → LayerNorm → dropout; pre-norm layers
//! (`attn_norm`, the identity in layer 0 as in transformers; `attn.Wqkv`,
//! rotary positions on queries and keys, attention, `attn.Wo`; `mlp_norm`,
//! GeGLU `mlp.Wi` → `act(input) · gate` → `mlp.Wo`); `final_norm`. Layers
//! alternate between global attention (rotary base `global_rope_theta`) and
//! local attention (`local_rope_theta`, keys within ±`local_attention / 2`
//! positions, as transformers masks it). The head pools (`classifier_pooling`:
//! the first token, or the mean over the attention mask) → `head.dense` →
//! `classifier_activation` → `head.norm` → dropout → `classifier`.
//!
//! Config keys: the Hub's configs name the layout `global_attn_every_n_layers`
//! (layer i global when i % n == 0), `global_rope_theta`, `local_rope_theta`;
//! transformers 5.x writes `layer_types` and `rope_parameters` instead. Both
//! are read ([`ModernBertOptions::from_raw`], with transformers' defaults), and
//! the file's JSON is saved back as it was, which transformers 5.25 loads.
//! The option parsing is in the light build; the model needs libtorch.
//!
//! Speed (transformers on the CPU pads and masks, as here): Q, K and V come
//! from one matmul (`Wqkv`), and rotary positions are applied to Q and K
//! stacked together; the rotary cos/sin tables are computed once per forward
//! for each theta in use, and the additive masks once per forward for each
//! attention type (global [batch, 1, 1, seq]; local [batch, 1, seq, seq]);
//! attention is `scaled_dot_product_attention`. No per-row or per-head loops.
//! Under bf16 autocast matmuls and attention run in bf16, while the residual
//! stream, the norms and the rotary arithmetic stay fp32 (as torch autocast
//! and transformers' `apply_rotary_pos_emb` have them).

use super::config::HiddenAct;
use crate::util::error::{Error, Result};
use serde_json::Value;
use std::path::Path;

/// How the head reduces the last hidden state to one vector per text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    /// The first token (`[CLS]`).
    Cls,
    /// The mean over the tokens the attention mask keeps.
    Mean,
}

/// Whether a layer attends to every token or to a window around each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttentionType {
    /// `full_attention`: every key, rotary base `global_rope_theta`.
    Global,
    /// `sliding_attention`: keys within ±`local_attention / 2`, rotary base
    /// `local_rope_theta`.
    Local,
}

/// ModernBertConfig's keys beyond the common encoder shape, with
/// transformers' defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct ModernBertOptions {
    pub norm_eps: f64,
    pub norm_bias: bool,
    pub attention_bias: bool,
    pub mlp_bias: bool,
    pub classifier_bias: bool,
    pub hidden_activation: HiddenAct,
    pub classifier_activation: HiddenAct,
    pub classifier_pooling: Pooling,
    pub embedding_dropout: f64,
    pub attention_dropout: f64,
    pub mlp_dropout: f64,
    pub global_rope_theta: f64,
    pub local_rope_theta: f64,
    /// The total width of the local window (`local_attention`); a key is in
    /// the window when |query − key| ≤ local_attention / 2 (integer division).
    pub local_attention: i64,
    /// One per layer.
    pub layer_types: Vec<AttentionType>,
}

/// ModernBertConfig's defaults for the keys the common encoder shape reads.
const SHAPE_DEFAULTS: [(&str, i64); 7] = [
    ("vocab_size", 50368),
    ("hidden_size", 768),
    ("intermediate_size", 1152),
    ("num_hidden_layers", 22),
    ("num_attention_heads", 12),
    ("max_position_embeddings", 8192),
    ("pad_token_id", 50283),
];

/// config.json's keys under the names [`super::config::EncoderConfig`] reads:
/// ModernBertConfig's defaults for the shape keys a file omits; `norm_eps` as
/// `layer_norm_eps`, `hidden_activation` as `hidden_act`, `mlp_dropout` and
/// `attention_dropout` as the BERT dropouts; no token types.
pub fn as_encoder_fields(raw: &Value, path: &Path) -> Result<Value> {
    let mut v = raw.clone();
    let obj = v.as_object_mut().ok_or_else(|| {
        Error::Data(format!(
            "{}: config.json is not a JSON object",
            path.display()
        ))
    })?;
    for (key, default) in SHAPE_DEFAULTS {
        if obj.get(key).is_none_or(Value::is_null) {
            obj.insert(key.into(), default.into());
        }
    }
    for (from, to, default) in [
        ("norm_eps", "layer_norm_eps", Value::from(1e-5)),
        ("hidden_activation", "hidden_act", Value::from("gelu")),
        ("mlp_dropout", "hidden_dropout_prob", Value::from(0.0)),
        (
            "attention_dropout",
            "attention_probs_dropout_prob",
            Value::from(0.0),
        ),
    ] {
        let x = obj.get(from).cloned().unwrap_or(default);
        obj.insert(to.into(), x);
    }
    obj.insert("type_vocab_size".into(), 0.into());
    obj.remove("embedding_size");
    Ok(v)
}

impl ModernBertOptions {
    /// The family's options from config.json's JSON (`path` names the file
    /// in errors); `layers` is num_hidden_layers.
    pub fn from_raw(raw: &Value, layers: i64, path: &Path) -> Result<ModernBertOptions> {
        let bad = |what: String| Error::Data(format!("{}: {what}", path.display()));
        let float = |key: &str, default: f64| -> Result<f64> {
            match raw.get(key) {
                None | Some(Value::Null) => Ok(default),
                Some(v) => v
                    .as_f64()
                    .ok_or_else(|| bad(format!("{key} must be a number, not {v}"))),
            }
        };
        let flag = |key: &str, default: bool| -> Result<bool> {
            match raw.get(key) {
                None | Some(Value::Null) => Ok(default),
                Some(v) => v
                    .as_bool()
                    .ok_or_else(|| bad(format!("{key} must be true or false, not {v}"))),
            }
        };
        let act = |key: &str| -> Result<HiddenAct> {
            match raw.get(key) {
                None | Some(Value::Null) => Ok(HiddenAct::Gelu),
                Some(v) => serde_json::from_value(v.clone()).map_err(|_| {
                    bad(format!(
                        "{key} {v} is not supported; expected \"gelu\", \"gelu_new\", \"gelu_pytorch_tanh\" or \"relu\""
                    ))
                }),
            }
        };
        let classifier_pooling = match raw.get("classifier_pooling").and_then(Value::as_str) {
            None | Some("cls") => Pooling::Cls,
            Some("mean") => Pooling::Mean,
            Some(other) => {
                return Err(bad(format!(
                    "classifier_pooling \"{other}\" is not supported; expected \"cls\" or \"mean\""
                )))
            }
        };
        let local_attention = match raw.get("local_attention") {
            None | Some(Value::Null) => 128,
            Some(v) => v.as_i64().filter(|w| *w >= 0).ok_or_else(|| {
                bad(format!(
                    "local_attention must be a whole number ≥ 0, not {v}"
                ))
            })?,
        };
        let (global_rope_theta, local_rope_theta) = rope_thetas(raw, &bad)?;
        Ok(ModernBertOptions {
            norm_eps: float("norm_eps", 1e-5)?,
            norm_bias: flag("norm_bias", false)?,
            attention_bias: flag("attention_bias", false)?,
            mlp_bias: flag("mlp_bias", false)?,
            classifier_bias: flag("classifier_bias", false)?,
            hidden_activation: act("hidden_activation")?,
            classifier_activation: act("classifier_activation")?,
            classifier_pooling,
            embedding_dropout: float("embedding_dropout", 0.0)?,
            attention_dropout: float("attention_dropout", 0.0)?,
            mlp_dropout: float("mlp_dropout", 0.0)?,
            global_rope_theta,
            local_rope_theta,
            local_attention,
            layer_types: layer_types(raw, layers, &bad)?,
        })
    }

    /// How far a local layer looks each way: transformers' `sliding_window`.
    pub fn half_window(&self) -> i64 {
        self.local_attention / 2
    }
}

/// `layer_types` (transformers 5.x) or, in older files,
/// `global_attn_every_n_layers` (default 3: layer i is global when
/// i % n == 0).
fn layer_types(
    raw: &Value,
    layers: i64,
    bad: &dyn Fn(String) -> Error,
) -> Result<Vec<AttentionType>> {
    if let Some(list) = raw.get("layer_types").filter(|v| !v.is_null()) {
        let list = list
            .as_array()
            .ok_or_else(|| bad(format!("layer_types must be a list, not {list}")))?;
        if list.len() as i64 != layers {
            return Err(bad(format!(
                "layer_types has {} entries for num_hidden_layers {layers}",
                list.len()
            )));
        }
        return list
            .iter()
            .map(|t| match t.as_str() {
                Some("full_attention") => Ok(AttentionType::Global),
                Some("sliding_attention") => Ok(AttentionType::Local),
                _ => Err(bad(format!(
                    "layer_types entry {t} is not \"full_attention\" or \"sliding_attention\""
                ))),
            })
            .collect();
    }
    let every = match raw.get("global_attn_every_n_layers") {
        None | Some(Value::Null) => 3,
        Some(v) => v.as_i64().filter(|n| *n >= 1).ok_or_else(|| {
            bad(format!(
                "global_attn_every_n_layers must be a whole number ≥ 1, not {v}"
            ))
        })?,
    };
    Ok((0..layers.max(0))
        .map(|i| {
            if i % every == 0 {
                AttentionType::Global
            } else {
                AttentionType::Local
            }
        })
        .collect())
}

/// The rotary bases (global, local): `rope_parameters.full_attention.rope_theta`
/// and `…sliding_attention.rope_theta` (transformers 5.x), else
/// `global_rope_theta` / `local_rope_theta`, else 160000 / 10000. Only the
/// default rotary type is implemented; scaled variants are refused.
fn rope_thetas(raw: &Value, bad: &dyn Fn(String) -> Error) -> Result<(f64, f64)> {
    if raw.get("rope_scaling").is_some_and(|v| !v.is_null()) {
        return Err(bad(
            "rope_scaling is not supported (hecjob implements ModernBERT's default rotary embeddings)"
                .into(),
        ));
    }
    let params = raw.get("rope_parameters").filter(|v| !v.is_null());
    let theta = |kind: &str, old_key: &str, default: f64| -> Result<f64> {
        let nested = params.and_then(|p| p.get(kind)).filter(|v| !v.is_null());
        if let Some(p) = nested {
            if let Some(t) = p.get("rope_type").and_then(Value::as_str) {
                if t != "default" {
                    return Err(bad(format!(
                        "rope_parameters.{kind}.rope_type \"{t}\" is not supported (hecjob implements the default rotary embeddings)"
                    )));
                }
            }
        }
        let value = nested
            .and_then(|p| p.get("rope_theta"))
            .or_else(|| raw.get(old_key))
            .filter(|v| !v.is_null());
        match value {
            None => Ok(default),
            Some(v) => v.as_f64().filter(|t| *t > 0.0).ok_or_else(|| {
                bad(format!(
                    "the {kind} rotary base must be a positive number, not {v}"
                ))
            }),
        }
    };
    Ok((
        theta("full_attention", "global_rope_theta", 160_000.0)?,
        theta("sliding_attention", "local_rope_theta", 10_000.0)?,
    ))
}

#[cfg(feature = "torch")]
pub use net::{Encoder, ModernBertClassifier};

#[cfg(feature = "torch")]
mod net {
    use super::{AttentionType, ModernBertOptions, Pooling};
    use crate::util::error::Result;
    use crate::worker::model::bert::{apply, dense, lowest, to_fp32};
    use crate::worker::model::config::{EncoderConfig, HiddenAct};
    use crate::worker::model::int8::Int8Linear;
    use tch::nn::{self, Module};
    use tch::{Device, Kind, Tensor};

    /// LayerNorm with a bias only where `norm_bias` asks for one.
    struct Norm {
        weight: Tensor,
        bias: Option<Tensor>,
        eps: f64,
    }

    impl Norm {
        fn new(p: nn::Path, dim: i64, o: &ModernBertOptions) -> Norm {
            Norm {
                weight: p.var("weight", &[dim], nn::Init::Const(1.0)),
                bias: o
                    .norm_bias
                    .then(|| p.var("bias", &[dim], nn::Init::Const(0.0))),
                eps: o.norm_eps,
            }
        }

        /// Always in fp32 (the residual stream's dtype).
        fn forward(&self, x: &Tensor) -> Tensor {
            let dim = self.weight.size()[0];
            x.layer_norm(
                [dim],
                Some(&self.weight),
                self.bias.as_ref(),
                self.eps,
                true,
            )
        }
    }

    fn linear(p: nn::Path, inp: i64, out: i64, bias: bool) -> nn::Linear {
        nn::linear(
            p,
            inp,
            out,
            nn::LinearConfig {
                bias,
                ..Default::default()
            },
        )
    }

    fn activate(x: &Tensor, act: HiddenAct) -> Tensor {
        match act {
            HiddenAct::Gelu => x.gelu("none"),
            HiddenAct::GeluNew | HiddenAct::GeluPytorchTanh => x.gelu("tanh"),
            HiddenAct::Relu => x.relu(),
        }
    }

    /// Rotary cos and sin tables [seq, head_dim] (fp32) for one base, as
    /// transformers' default rotary embedding computes them.
    struct Rotary {
        cos: Tensor,
        sin: Tensor,
    }

    impl Rotary {
        fn new(theta: f64, head_dim: i64, seq: i64, device: Device) -> Rotary {
            let exponents =
                Tensor::arange_start_step(0, head_dim, 2, (Kind::Float, device)) / head_dim as f64;
            let inv_freq = Tensor::pow_scalar(theta, &exponents).reciprocal();
            let positions = Tensor::arange(seq, (Kind::Float, device));
            let freqs = positions.unsqueeze(1) * inv_freq.unsqueeze(0);
            let angles = Tensor::cat(&[&freqs, &freqs], -1);
            Rotary {
                cos: angles.cos(),
                sin: angles.sin(),
            }
        }

        /// `x·cos + rotate_half(x)·sin` over the last two dimensions [seq,
        /// head_dim], in fp32 and back to `x`'s dtype.
        fn apply(&self, x: &Tensor) -> Tensor {
            let kind = x.kind();
            let x = x.to_kind(Kind::Float);
            let half = x.size().last().copied().unwrap_or(0) / 2;
            let rotated = Tensor::cat(&[-x.narrow(-1, half, half), x.narrow(-1, 0, half)], -1);
            (x * &self.cos + rotated * &self.sin).to_kind(kind)
        }
    }

    /// What every layer of one forward pass shares: per attention type, the
    /// additive mask and the rotary tables.
    struct Context {
        global_mask: Tensor,
        local_mask: Option<Tensor>,
        global_rotary: Rotary,
        local_rotary: Option<Rotary>,
    }

    struct Layer {
        attn_norm: Option<Norm>,
        wqkv: nn::Linear,
        attn_out: nn::Linear,
        mlp_norm: Norm,
        wi: nn::Linear,
        mlp_out: nn::Linear,
        kind: AttentionType,
        heads: i64,
        head_dim: i64,
        intermediate: i64,
        attn_dropout: f64,
        mlp_dropout: f64,
        act: HiddenAct,
        /// The four matmuls in int8 (`Encoder::quantize_int8`), for inference.
        int8: Option<Int8Layer>,
    }

    /// A layer's linear maps quantized.
    struct Int8Layer {
        wqkv: Int8Linear,
        attn_out: Int8Linear,
        wi: Int8Linear,
        mlp_out: Int8Linear,
    }

    impl Layer {
        fn new(p: nn::Path, index: i64, c: &EncoderConfig, o: &ModernBertOptions) -> Layer {
            let h = c.hidden_size;
            let i = c.intermediate_size;
            Layer {
                // transformers' layer 0 has nn.Identity here: the embeddings'
                // norm has just run.
                attn_norm: (index > 0).then(|| Norm::new(&p / "attn_norm", h, o)),
                wqkv: linear(&p / "attn" / "Wqkv", h, 3 * h, o.attention_bias),
                attn_out: linear(&p / "attn" / "Wo", h, h, o.attention_bias),
                mlp_norm: Norm::new(&p / "mlp_norm", h, o),
                wi: linear(&p / "mlp" / "Wi", h, 2 * i, o.mlp_bias),
                mlp_out: linear(&p / "mlp" / "Wo", i, h, o.mlp_bias),
                kind: o.layer_types[index as usize],
                heads: c.num_attention_heads,
                head_dim: c.head_dim(),
                intermediate: i,
                attn_dropout: o.attention_dropout,
                mlp_dropout: o.mlp_dropout,
                act: o.hidden_activation,
                int8: None,
            }
        }

        fn quantize_int8(&mut self) -> Result<()> {
            let q = |l: &nn::Linear| Int8Linear::new(&l.ws, l.bs.as_ref());
            self.int8 = Some(Int8Layer {
                wqkv: q(&self.wqkv)?,
                attn_out: q(&self.attn_out)?,
                wi: q(&self.wi)?,
                mlp_out: q(&self.mlp_out)?,
            });
            Ok(())
        }

        fn forward_t(&self, x: &Tensor, ctx: &Context, train: bool, kind: Option<Kind>) -> Tensor {
            let (b, s, h) = x.size3().expect("hidden is [batch, seq, hidden]");
            let normed = match &self.attn_norm {
                Some(n) => n.forward(x),
                None => x.shallow_clone(),
            };
            let (mask, rotary) = match self.kind {
                AttentionType::Global => (&ctx.global_mask, &ctx.global_rotary),
                AttentionType::Local => (
                    ctx.local_mask.as_ref().expect("built for local layers"),
                    ctx.local_rotary.as_ref().expect("built for local layers"),
                ),
            };
            // [b, s, 3·h] → [3, b, heads, s, head_dim]; Q and K rotated together.
            let q8 = self.int8.as_ref();
            let qkv = apply(&self.wqkv, q8.map(|q| &q.wqkv), &normed, kind)
                .view([b, s, 3, self.heads, self.head_dim])
                .permute([2, 0, 3, 1, 4]);
            let qk = rotary.apply(&qkv.narrow(0, 0, 2));
            let dropout = if train { self.attn_dropout } else { 0.0 };
            let ctx_v = Tensor::scaled_dot_product_attention(
                &qk.get(0),
                &qk.get(1),
                &qkv.get(2),
                Some(mask),
                dropout,
                false,
                None,
                false,
            );
            let ctx_v = ctx_v.transpose(1, 2).contiguous().view([b, s, h]);
            let attn = apply(&self.attn_out, q8.map(|q| &q.attn_out), &ctx_v, kind)
                .dropout(self.attn_dropout, train);
            let x = x + to_fp32(attn, kind);
            let up = apply(
                &self.wi,
                q8.map(|q| &q.wi),
                &self.mlp_norm.forward(&x),
                kind,
            );
            let input = up.narrow(-1, 0, self.intermediate);
            let gate = up.narrow(-1, self.intermediate, self.intermediate);
            let glu = (activate(&input, self.act) * gate).dropout(self.mlp_dropout, train);
            let out = apply(&self.mlp_out, q8.map(|q| &q.mlp_out), &glu, kind);
            x + to_fp32(out, kind)
        }
    }

    /// The encoder (`model.` in the checkpoint): embeddings, layers, final norm.
    pub struct Encoder {
        tok_embeddings: nn::Embedding,
        embed_norm: Norm,
        embed_dropout: f64,
        layers: Vec<Layer>,
        final_norm: Norm,
        options: ModernBertOptions,
        head_dim: i64,
        /// Compute dtype for matmuls and attention (None: the weights' fp32).
        pub compute_kind: Option<Kind>,
    }

    impl Encoder {
        pub fn new(p: nn::Path, c: &EncoderConfig, o: &ModernBertOptions) -> Encoder {
            let e = &p / "embeddings";
            Encoder {
                tok_embeddings: nn::embedding(
                    &e / "tok_embeddings",
                    c.vocab_size,
                    c.hidden_size,
                    Default::default(),
                ),
                embed_norm: Norm::new(&e / "norm", c.hidden_size, o),
                embed_dropout: o.embedding_dropout,
                layers: (0..c.num_hidden_layers)
                    .map(|i| Layer::new(&p / "layers" / i, i, c, o))
                    .collect(),
                final_norm: Norm::new(&p / "final_norm", c.hidden_size, o),
                options: o.clone(),
                head_dim: c.head_dim(),
                compute_kind: None,
            }
        }

        /// Masks and rotary tables for one batch, built once for all layers.
        /// A masked key gets the dtype's lowest finite value, as in
        /// transformers' eager masks (a query whose every key is masked, a
        /// padding position far from the text, then attends evenly instead of
        /// giving NaN).
        fn context(&self, attention_mask: &Tensor) -> Context {
            let (b, s) = attention_mask
                .size2()
                .expect("attention_mask is [batch, seq]");
            let device = attention_mask.device();
            let kind = self.compute_kind.unwrap_or(Kind::Float);
            let o = &self.options;
            let keys = attention_mask.ne(0).view([b, 1, 1, s]);
            let additive = |allowed: &Tensor| {
                Tensor::zeros(allowed.size(), (kind, device))
                    .masked_fill(&allowed.logical_not(), lowest(kind))
            };
            let any_local = self.layers.iter().any(|l| l.kind == AttentionType::Local);
            let local_mask = any_local.then(|| {
                let pos = Tensor::arange(s, (Kind::Int64, device));
                let near = (pos.unsqueeze(1) - pos.unsqueeze(0))
                    .abs()
                    .le(o.half_window())
                    .view([1, 1, s, s]);
                additive(&near.logical_and(&keys))
            });
            Context {
                global_mask: additive(&keys),
                local_mask,
                global_rotary: Rotary::new(o.global_rope_theta, self.head_dim, s, device),
                local_rotary: any_local
                    .then(|| Rotary::new(o.local_rope_theta, self.head_dim, s, device)),
            }
        }

        /// Every layer's linear maps in int8 from now on (CPU inference
        /// only: the fp32 weights stay for saving). The head stays fp32.
        pub fn quantize_int8(&mut self) -> Result<()> {
            self.layers.iter_mut().try_for_each(Layer::quantize_int8)
        }

        /// The last hidden state [batch, seq, hidden], fp32.
        pub fn forward_t(
            &self,
            input_ids: &Tensor,
            attention_mask: &Tensor,
            train: bool,
        ) -> Tensor {
            let ctx = self.context(attention_mask);
            let mut x = self
                .embed_norm
                .forward(&self.tok_embeddings.forward(input_ids))
                .dropout(self.embed_dropout, train);
            for layer in &self.layers {
                x = layer.forward_t(&x, &ctx, train, self.compute_kind);
            }
            self.final_norm.forward(&x)
        }
    }

    /// Encoder and ModernBertForSequenceClassification's head.
    pub struct ModernBertClassifier {
        pub encoder: Encoder,
        dense: nn::Linear,
        norm: Norm,
        out: nn::Linear,
        act: HiddenAct,
        pooling: Pooling,
        dropout: f64,
        pub num_labels: i64,
    }

    impl ModernBertClassifier {
        /// The encoder at `root / "model"`, the head at `root / "head"` and
        /// `root / "classifier"`; `dropout` is the head's (hecjob's classifier
        /// dropout, in place of config.json's `classifier_dropout`).
        pub fn new(
            root: &nn::Path,
            c: &EncoderConfig,
            o: &ModernBertOptions,
            num_labels: i64,
            dropout: f64,
        ) -> ModernBertClassifier {
            let h = c.hidden_size;
            ModernBertClassifier {
                encoder: Encoder::new(root / "model", c, o),
                dense: linear(root / "head" / "dense", h, h, o.classifier_bias),
                norm: Norm::new(root / "head" / "norm", h, o),
                out: linear(root / "classifier", h, num_labels, true),
                act: o.classifier_activation,
                pooling: o.classifier_pooling,
                dropout,
                num_labels,
            }
        }

        /// Logits [batch, labels], fp32 whatever the compute dtype.
        pub fn forward_t(
            &self,
            input_ids: &Tensor,
            attention_mask: &Tensor,
            train: bool,
        ) -> Tensor {
            let hidden = self.encoder.forward_t(input_ids, attention_mask, train);
            let kind = self.encoder.compute_kind;
            let pooled = match self.pooling {
                Pooling::Cls => hidden.select(1, 0),
                Pooling::Mean => {
                    let m = attention_mask.to_kind(Kind::Float).unsqueeze(-1);
                    (hidden * &m).sum_dim_intlist(1, false, Kind::Float)
                        / m.sum_dim_intlist(1, false, Kind::Float)
                }
            };
            let x = activate(&dense(&self.dense, &pooled, kind), self.act);
            let x = self
                .norm
                .forward(&to_fp32(x, kind))
                .dropout(self.dropout, train);
            to_fp32(dense(&self.out, &x, kind), kind)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(json: &str, layers: i64) -> Result<ModernBertOptions> {
        let raw: Value = serde_json::from_str(json).unwrap();
        ModernBertOptions::from_raw(&raw, layers, Path::new("m/config.json"))
    }

    #[test]
    fn the_hub_keys_give_the_layout_and_the_bases() {
        let o = options(
            r#"{"global_attn_every_n_layers": 3, "global_rope_theta": 160000.0,
                "local_rope_theta": 10000.0, "local_attention": 128,
                "classifier_pooling": "mean", "norm_bias": false}"#,
            7,
        )
        .unwrap();
        use AttentionType::{Global as G, Local as L};
        assert_eq!(o.layer_types, [G, L, L, G, L, L, G]);
        assert_eq!(
            (o.global_rope_theta, o.local_rope_theta),
            (160000.0, 10000.0)
        );
        assert_eq!((o.local_attention, o.half_window()), (128, 64));
        assert_eq!(o.classifier_pooling, Pooling::Mean);
    }

    #[test]
    fn the_transformers_5_keys_win_over_the_old_ones() {
        let o = options(
            r#"{"layer_types": ["full_attention", "sliding_attention", "full_attention"],
                "global_attn_every_n_layers": 1, "global_rope_theta": 1.0,
                "rope_parameters": {"full_attention": {"rope_type": "default", "rope_theta": 500.0},
                                    "sliding_attention": {"rope_type": "default", "rope_theta": 50.0}}}"#,
            3,
        )
        .unwrap();
        use AttentionType::{Global as G, Local as L};
        assert_eq!(o.layer_types, [G, L, G]);
        assert_eq!((o.global_rope_theta, o.local_rope_theta), (500.0, 50.0));
        // Defaults as ModernBertConfig's.
        let d = options("{}", 4).unwrap();
        assert_eq!(d.layer_types, [G, L, L, G]);
        assert_eq!(
            (d.global_rope_theta, d.local_rope_theta),
            (160000.0, 10000.0)
        );
        assert_eq!(
            (d.local_attention, d.classifier_pooling),
            (128, Pooling::Cls)
        );
        assert_eq!((d.norm_eps, d.norm_bias, d.mlp_bias), (1e-5, false, false));
    }

    #[test]
    fn unsupported_options_are_refused_with_the_key() {
        let e = |json: &str| options(json, 2).unwrap_err().to_string();
        assert_eq!(
            e(r#"{"classifier_pooling": "max"}"#),
            "m/config.json: classifier_pooling \"max\" is not supported; expected \"cls\" or \"mean\""
        );
        assert_eq!(
            e(r#"{"layer_types": ["full_attention"]}"#),
            "m/config.json: layer_types has 1 entries for num_hidden_layers 2"
        );
        assert_eq!(
            e(r#"{"rope_parameters": {"full_attention": {"rope_type": "yarn", "rope_theta": 5.0}}}"#),
            "m/config.json: rope_parameters.full_attention.rope_type \"yarn\" is not supported (hecjob implements the default rotary embeddings)"
        );
        assert_eq!(
            e(r#"{"hidden_activation": "swiglu"}"#),
            "m/config.json: hidden_activation \"swiglu\" is not supported; expected \"gelu\", \"gelu_new\", \"gelu_pytorch_tanh\" or \"relu\""
        );
    }
}
