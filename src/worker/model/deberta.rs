//! DeBERTa-v2 / DeBERTa-v3 (`model_type: "deberta-v2"`) in tch, numerically
//! matching transformers' `DebertaV2ForSequenceClassification`, under its
//! variable names (`deberta.encoder.layer.N.attention.self.query_proj`,
//! `deberta.encoder.rel_embeddings`, `pooler.dense`, `classifier`).
//!
//! What is implemented, as DeBERTa-v3's configs set it: disentangled
//! attention (content→content + content→position `c2p` + position→content
//! `p2c`, scaled by `sqrt(head_dim · (1 + number of position terms))`),
//! log-bucketed relative positions (`position_buckets`, `max_relative_positions`),
//! the `rel_embeddings` table and its LayerNorm (`norm_rel_ebd: layer_norm`),
//! position keys shared with the content projections (`share_att_key`) or
//! their own `pos_key_proj` / `pos_query_proj`, embeddings with or without
//! absolute positions (`position_biased_input`), token types
//! (`type_vocab_size` > 0) and `embed_proj` (`embedding_size` ≠ hidden), and
//! the head: `ContextPooler` (first token → pooler dropout → `pooler.dense` →
//! `pooler_hidden_act`) → dropout → `classifier`. The options hecjob does not
//! implement (DeBERTa-v2's `conv_kernel_size` layer, `pos_att_type` entries
//! other than `c2p`/`p2c`, a `pooler_hidden_size` other than `hidden_size`, an
//! `attention_head_size` other than hidden / heads) are refused when
//! config.json is read, naming the key ([`DebertaOptions::from_raw`]).
//!
//! For speed: the bucketed relative-position index, the two clamped gather
//! indices derived from it, the additive 2-D attention mask and the
//! normalized relative embeddings are built once per forward, not per layer,
//! and only the relative-embedding rows the sequence length can reach take
//! part (transformers multiplies by all 2·span and gathers a few);
//! Q, K and V are one matmul; c2p and p2c are one batched matmul each (all
//! heads and rows against the projected relative embeddings, `[b, heads, seq,
//! 2·span]`) followed by one gather on the shared index; the position bias is
//! added to the mask and the content attention runs in
//! `scaled_dot_product_attention` with the DeBERTa scale (fused kernels where
//! the device has them). bf16 autocast as in `bert.rs`: matmuls in
//! `compute_kind`, the residual stream and every LayerNorm in fp32.

use super::config::HiddenAct;
use crate::util::error::{Error, Result};
use serde_json::Value;
use std::path::Path;

/// The DeBERTa-specific keys of config.json, with transformers' defaults
/// (DebertaV2Config) where a key is absent.
#[derive(Debug, Clone, PartialEq)]
pub struct DebertaOptions {
    pub relative_attention: bool,
    /// ≤ 0: relative positions are not bucketed.
    pub position_buckets: i64,
    /// Resolved: `max_position_embeddings` when config.json says < 1.
    pub max_relative_positions: i64,
    pub c2p: bool,
    pub p2c: bool,
    pub share_att_key: bool,
    /// `norm_rel_ebd` contains `layer_norm`: `encoder.LayerNorm` on the table.
    pub norm_rel_ebd: bool,
    pub position_biased_input: bool,
    pub pooler_dropout: f64,
    pub pooler_hidden_act: HiddenAct,
}

impl DebertaOptions {
    /// The relative distances the attention distinguishes on either side:
    /// the bucket count when bucketed, else `max_relative_positions`. The
    /// `rel_embeddings` table has twice as many rows.
    pub fn attention_span(&self) -> i64 {
        if self.position_buckets > 0 {
            self.position_buckets
        } else {
            self.max_relative_positions
        }
    }

    /// The rows of the `rel_embeddings` table that a sequence of `seq` tokens
    /// reaches, as (first, count): transformers multiplies by all 2·span rows
    /// and gathers the few it needs; hecjob multiplies by these only (for 128
    /// tokens and DeBERTa-v3's 256 buckets, 255 of the 512). The log-bucket
    /// reach is computed in f64 here and in f32 by the index, so it is
    /// widened by one row: the window may be a row larger, never smaller.
    pub fn rows_used(&self, seq: i64) -> (i64, i64) {
        let span = self.attention_span();
        let far = (seq - 1).max(0);
        let mid = self.position_buckets / 2;
        let reach = if self.position_buckets > 0 && far > mid {
            let (mid_f, max_f) = (mid as f64, (self.max_relative_positions - 1) as f64);
            let log_pos =
                ((far as f64 / mid_f).ln() / (max_f / mid_f).ln() * (mid - 1) as f64).ceil();
            log_pos as i64 + mid + 1
        } else {
            far
        };
        let first = (span - reach).max(0);
        let last = (span + reach).min(2 * span - 1);
        (first, last - first + 1)
    }

    /// 1 + the number of relative terms (c2p, p2c): the scores are divided
    /// by `sqrt(head_dim · scale_factor)`.
    pub fn scale_factor(&self) -> i64 {
        1 + i64::from(self.c2p) + i64::from(self.p2c)
    }

    /// Read and check the keys from config.json's JSON (`raw`); `path` names
    /// the file in errors. `max_position_embeddings`, `hidden_size` and
    /// `heads` are the already-parsed common fields.
    pub fn from_raw(
        raw: &Value,
        path: &Path,
        max_position_embeddings: i64,
        hidden_size: i64,
        heads: i64,
    ) -> Result<DebertaOptions> {
        let keys = Keys {
            raw,
            file: path.display().to_string(),
        };
        keys.refuse_unimplemented(hidden_size, heads)?;
        let (c2p, p2c) = keys.pos_att_types()?;
        let max_relative = keys.int("max_relative_positions", -1)?;
        let options = DebertaOptions {
            relative_attention: keys.boolean("relative_attention", false)?,
            position_buckets: keys.int("position_buckets", -1)?,
            max_relative_positions: if max_relative < 1 {
                max_position_embeddings
            } else {
                max_relative
            },
            c2p,
            p2c,
            share_att_key: keys.boolean("share_att_key", false)?,
            norm_rel_ebd: keys.norm_rel_ebd()?,
            position_biased_input: keys.boolean("position_biased_input", true)?,
            pooler_dropout: keys.pooler_dropout()?,
            pooler_hidden_act: keys.pooler_hidden_act()?,
        };
        if options.relative_attention {
            keys.check_relative_positions(&options)?;
        }
        Ok(options)
    }
}

/// config.json's JSON and its path, for reading keys with errors naming them.
struct Keys<'a> {
    raw: &'a Value,
    file: String,
}

impl Keys<'_> {
    fn bad(&self, key: &str, why: impl std::fmt::Display) -> Error {
        Error::Data(format!("{}: {key} {why}", self.file))
    }

    /// The key's value; `null` reads as absent (transformers' None).
    fn get(&self, key: &str) -> Option<&Value> {
        self.raw.get(key).filter(|v| !v.is_null())
    }

    fn boolean(&self, key: &str, default: bool) -> Result<bool> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_bool()
                .ok_or_else(|| self.bad(key, format!("must be true or false, not {v}"))),
        }
    }

    fn int(&self, key: &str, default: i64) -> Result<i64> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_i64()
                .ok_or_else(|| self.bad(key, format!("must be an integer, not {v}"))),
        }
    }

    /// DeBERTa-v2's convolution layer, and head or pooler widths other than
    /// the ones hecjob builds.
    fn refuse_unimplemented(&self, hidden_size: i64, heads: i64) -> Result<()> {
        let conv = self.int("conv_kernel_size", 0)?;
        if conv > 0 {
            return Err(self.bad(
                "conv_kernel_size",
                format!("{conv} is not supported: hecjob's DeBERTa has no convolution layer (DeBERTa-v2 xlarge/xxlarge have one; DeBERTa-v3 has none)"),
            ));
        }
        let head_dim = hidden_size / heads;
        if let Some(size) = self.get("attention_head_size") {
            if size.as_i64() != Some(head_dim) {
                return Err(self.bad(
                    "attention_head_size",
                    format!("{size} is not supported: hecjob's heads are hidden_size / num_attention_heads = {head_dim}"),
                ));
            }
        }
        if let Some(size) = self.get("pooler_hidden_size") {
            if size.as_i64() != Some(hidden_size) {
                return Err(self.bad(
                    "pooler_hidden_size",
                    format!("{size} is not supported: the pooler must be hidden_size ({hidden_size}) wide"),
                ));
            }
        }
        Ok(())
    }

    /// `pos_att_type` as a list (`["p2c", "c2p"]`) or transformers' older
    /// `"p2c|c2p"` string: whether c2p and p2c are on.
    fn pos_att_types(&self) -> Result<(bool, bool)> {
        let key = "pos_att_type";
        let entries: Vec<String> = match self.get(key) {
            None => Vec::new(),
            Some(Value::String(s)) => s.split('|').map(|e| e.trim().to_lowercase()).collect(),
            Some(Value::Array(a)) => a
                .iter()
                .map(|e| {
                    e.as_str()
                        .map(str::to_lowercase)
                        .ok_or_else(|| self.bad(key, format!("entries must be strings, not {e}")))
                })
                .collect::<Result<_>>()?,
            Some(other) => {
                return Err(self.bad(
                    key,
                    format!("must be a list such as [\"p2c\", \"c2p\"], not {other}"),
                ))
            }
        };
        let (mut c2p, mut p2c) = (false, false);
        for e in entries.iter().filter(|e| !e.is_empty()) {
            match e.as_str() {
                "c2p" => c2p = true,
                "p2c" => p2c = true,
                other => {
                    return Err(self.bad(
                        key,
                        format!(
                            "entry `{other}` is not supported; hecjob implements `c2p` and `p2c`"
                        ),
                    ))
                }
            }
        }
        Ok((c2p, p2c))
    }

    /// `norm_rel_ebd` (`"layer_norm"`, `"none"`, `|`-separated): whether
    /// the relative embeddings get `encoder.LayerNorm`.
    fn norm_rel_ebd(&self) -> Result<bool> {
        let key = "norm_rel_ebd";
        let Some(v) = self.get(key) else {
            return Ok(false);
        };
        let text = v
            .as_str()
            .ok_or_else(|| self.bad(key, format!("must be a string, not {v}")))?;
        let mut layer_norm = false;
        for part in text.to_lowercase().split('|').map(str::trim) {
            match part {
                "layer_norm" => layer_norm = true,
                "none" | "" => {}
                other => {
                    return Err(self.bad(
                        key,
                        format!(
                            "entry `{other}` is not supported; expected `layer_norm` or `none`"
                        ),
                    ))
                }
            }
        }
        Ok(layer_norm)
    }

    fn pooler_hidden_act(&self) -> Result<HiddenAct> {
        let key = "pooler_hidden_act";
        match self.get(key) {
            None => Ok(HiddenAct::Gelu),
            Some(v) => serde_json::from_value(v.clone()).map_err(|_| {
                self.bad(key, format!("{v} is not supported; expected \"gelu\", \"gelu_new\", \"gelu_pytorch_tanh\" or \"relu\""))
            }),
        }
    }

    fn pooler_dropout(&self) -> Result<f64> {
        let key = "pooler_dropout";
        match self.get(key) {
            None => Ok(0.0),
            Some(v) => v
                .as_f64()
                .filter(|p| (0.0..1.0).contains(p))
                .ok_or_else(|| self.bad(key, format!("must be in [0, 1), not {v}"))),
        }
    }

    /// The log buckets divide by `log((max_relative_positions - 1) / (buckets / 2))`:
    /// it must be positive, and the table must not be absurdly large.
    fn check_relative_positions(&self, o: &DebertaOptions) -> Result<()> {
        if !(1..=65_536).contains(&o.attention_span()) {
            let key = if o.position_buckets > 0 {
                "position_buckets"
            } else {
                "max_relative_positions"
            };
            return Err(self.bad(key, format!("{} is outside 1..=65536", o.attention_span())));
        }
        let mid = o.position_buckets / 2;
        if o.position_buckets > 0 && (mid < 1 || o.max_relative_positions - 1 <= mid) {
            return Err(self.bad(
                "max_relative_positions",
                format!(
                    "{} must be more than position_buckets / 2 + 1 ({}) for log-bucketed positions (position_buckets {})",
                    o.max_relative_positions,
                    mid + 1,
                    o.position_buckets
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(feature = "torch")]
pub use net::DebertaClassifier;

#[cfg(feature = "torch")]
mod net {
    use super::DebertaOptions;
    use crate::util::error::Result;
    use crate::worker::model::bert::{
        apply, at, dense, layer_norm, linear_in, lowest, qkv_concat, to_fp32, Int8Layer,
    };
    use crate::worker::model::config::{EncoderConfig, HiddenAct};
    use tch::nn::{self, Module};
    use tch::{Kind, Tensor};

    fn activate(x: Tensor, act: HiddenAct) -> Tensor {
        match act {
            HiddenAct::Gelu => x.gelu("none"),
            HiddenAct::GeluNew | HiddenAct::GeluPytorchTanh => x.gelu("tanh"),
            HiddenAct::Relu => x.relu(),
        }
    }

    struct Embeddings {
        word: nn::Embedding,
        /// Absolute positions (`position_biased_input`; off in DeBERTa-v3).
        position: Option<nn::Embedding>,
        /// Only when `type_vocab_size` > 0 (0 in DeBERTa-v3).
        token_type: Option<nn::Embedding>,
        /// `embed_proj` (no bias) when `embedding_size` ≠ hidden, before the LayerNorm.
        project: Option<nn::Linear>,
        layer_norm: nn::LayerNorm,
        dropout: f64,
    }

    impl Embeddings {
        fn new(p: nn::Path, c: &EncoderConfig, o: &DebertaOptions) -> Self {
            let e = nn::EmbeddingConfig::default();
            let width = c.embedding_size();
            Embeddings {
                word: nn::embedding(&p / "word_embeddings", c.vocab_size, width, e),
                position: o.position_biased_input.then(|| {
                    nn::embedding(
                        &p / "position_embeddings",
                        c.max_position_embeddings,
                        width,
                        e,
                    )
                }),
                token_type: (c.type_vocab_size > 0).then(|| {
                    nn::embedding(&p / "token_type_embeddings", c.type_vocab_size, width, e)
                }),
                project: (width != c.hidden_size).then(|| {
                    let no_bias = nn::LinearConfig {
                        bias: false,
                        ..Default::default()
                    };
                    nn::linear(&p / "embed_proj", width, c.hidden_size, no_bias)
                }),
                layer_norm: layer_norm(&p / "LayerNorm", c.hidden_size, c.layer_norm_eps),
                dropout: c.hidden_dropout_prob,
            }
        }

        /// `keep`: [batch, seq, 1] fp32, 1 at tokens, 0 at padding.
        fn forward_t(
            &self,
            input_ids: &Tensor,
            keep: &Tensor,
            train: bool,
            kind: Option<Kind>,
        ) -> Tensor {
            let (_, seq) = input_ids.size2().expect("input_ids is [batch, seq]");
            let words = self.word.forward(input_ids);
            let x = match &self.position {
                Some(p) => words + p.ws.narrow(0, 0, seq),
                None => words,
            };
            // One segment per text: every token has type 0 (a broadcast row).
            let x = match &self.token_type {
                Some(t) => x + t.ws.select(0, 0),
                None => x,
            };
            let x = match &self.project {
                Some(p) => to_fp32(dense(p, &x, kind), kind),
                None => x,
            };
            (self.layer_norm.forward(&x) * keep).dropout(self.dropout, train)
        }
    }

    /// What every layer shares, built once per forward.
    struct Shared {
        /// Additive [batch, 1, seq, seq] in the compute dtype: 0 where query
        /// and key are both tokens, the dtype's lowest value elsewhere (as
        /// transformers masks `mask[:, None, :] · mask[:, :, None]`).
        mask: Tensor,
        /// None without `relative_attention`.
        relative: Option<Relative>,
    }

    /// The relative-position inputs of c2p and p2c.
    struct Relative {
        /// The normalized `rel_embeddings` rows the sequence reaches
        /// ([`DebertaOptions::rows_used`]), fp32.
        rows: Tensor,
        /// Clamped gather indices [seq, seq] into `rows`.
        c2p: Tensor,
        p2c: Tensor,
    }

    struct Layer {
        query: nn::Linear,
        key: nn::Linear,
        value: nn::Linear,
        /// Separate position projections when `share_att_key` is false.
        pos_key: Option<nn::Linear>,
        pos_query: Option<nn::Linear>,
        attn_out: nn::Linear,
        attn_norm: nn::LayerNorm,
        intermediate: nn::Linear,
        output: nn::Linear,
        out_norm: nn::LayerNorm,
        heads: i64,
        head_dim: i64,
        hidden_dropout: f64,
        attn_dropout: f64,
        act: HiddenAct,
        c2p: bool,
        p2c: bool,
        /// 1 / sqrt(head_dim · scale_factor).
        scale: f64,
        /// The content matmuls in int8 (`Encoder::quantize_int8`), for
        /// inference; the relative positions' projections stay fp32 (they
        /// see the position table, not the batch).
        int8: Option<Int8Layer>,
    }

    impl Layer {
        fn new(p: nn::Path, c: &EncoderConfig, o: &DebertaOptions) -> Self {
            let h = c.hidden_size;
            let lin =
                |name: &str, i: i64, out: i64| nn::linear(at(&p, name), i, out, Default::default());
            let separate = o.relative_attention && !o.share_att_key;
            Layer {
                query: lin("attention.self.query_proj", h, h),
                key: lin("attention.self.key_proj", h, h),
                value: lin("attention.self.value_proj", h, h),
                pos_key: (separate && o.c2p).then(|| lin("attention.self.pos_key_proj", h, h)),
                pos_query: (separate && o.p2c).then(|| lin("attention.self.pos_query_proj", h, h)),
                attn_out: lin("attention.output.dense", h, h),
                attn_norm: layer_norm(at(&p, "attention.output.LayerNorm"), h, c.layer_norm_eps),
                intermediate: lin("intermediate.dense", h, c.intermediate_size),
                output: lin("output.dense", c.intermediate_size, h),
                out_norm: layer_norm(at(&p, "output.LayerNorm"), h, c.layer_norm_eps),
                heads: c.num_attention_heads,
                head_dim: c.head_dim(),
                hidden_dropout: c.hidden_dropout_prob,
                attn_dropout: c.attention_probs_dropout_prob,
                act: c.hidden_act,
                c2p: o.c2p,
                p2c: o.p2c,
                scale: 1.0 / ((c.head_dim() * o.scale_factor()) as f64).sqrt(),
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

        /// [rows, heads·head_dim] → [heads, rows, head_dim].
        fn per_head(&self, x: Tensor) -> Tensor {
            let rows = x.size()[0];
            x.view([rows, self.heads, self.head_dim]).transpose(0, 1)
        }

        /// The c2p + p2c bias [batch, heads, seq, seq], already scaled:
        /// one batched matmul and one gather per term. `qkv` are the
        /// concatenated content projections (shared with the positions
        /// under `share_att_key`).
        fn relative_bias(
            &self,
            (q, k): (&Tensor, &Tensor),
            qkv: (&Tensor, Option<&Tensor>),
            relative: &Relative,
            train: bool,
            kind: Option<Kind>,
        ) -> Tensor {
            let (b, _, s, _) = q.size4().expect("q is [batch, heads, seq, head_dim]");
            let rel = relative.rows.dropout(self.hidden_dropout, train);
            let index = |i: &Tensor| i.expand([b, self.heads, s, s], false);
            let h = self.heads * self.head_dim;
            let (w, bias) = qkv;
            // share_att_key: the content projections, applied to the table.
            let shared = |part: i64| {
                linear_in(
                    &rel,
                    &w.narrow(0, part * h, h),
                    bias.map(|b| b.narrow(0, part * h, h)).as_ref(),
                    kind,
                )
            };
            let mut score: Option<Tensor> = None;
            if self.c2p {
                let pos_key = match &self.pos_key {
                    Some(l) => dense(l, &rel, kind),
                    None => shared(1),
                };
                let all = q.matmul(&self.per_head(pos_key).transpose(-1, -2));
                score = Some(all.gather(-1, &index(&relative.c2p), false));
            }
            if self.p2c {
                let pos_query = match &self.pos_query {
                    Some(l) => dense(l, &rel, kind),
                    None => shared(0),
                };
                let all = k.matmul(&self.per_head(pos_query).transpose(-1, -2));
                let p2c = all
                    .gather(-1, &index(&relative.p2c), false)
                    .transpose(-1, -2);
                score = Some(match score {
                    Some(c2p) => c2p + p2c,
                    None => p2c,
                });
            }
            score.expect("relative attention has c2p or p2c") * self.scale
        }

        fn forward_t(
            &self,
            x: &Tensor,
            shared: &Shared,
            train: bool,
            kind: Option<Kind>,
        ) -> Tensor {
            let (b, s, h) = x.size3().expect("hidden is [batch, seq, hidden]");
            // Q, K and V in one matmul over the concatenated weights (as bert.rs).
            let (w, bias) = qkv_concat(&self.query, &self.key, &self.value);
            let q8 = self.int8.as_ref();
            let qkv = match q8 {
                Some(q) => q.qkv.forward(x),
                None => linear_in(x, &w, bias.as_ref(), kind),
            };
            let qkv = qkv
                .view([b, s, 3, self.heads, self.head_dim])
                .permute([2, 0, 3, 1, 4]);
            let (q, k, v) = (qkv.get(0), qkv.get(1), qkv.get(2));
            // The position bias joins the mask: SDPA adds both to Q·Kᵀ·scale.
            let mask = match &shared.relative {
                Some(relative) if self.c2p || self.p2c => {
                    let position =
                        self.relative_bias((&q, &k), (&w, bias.as_ref()), relative, train, kind);
                    position + &shared.mask
                }
                _ => shared.mask.shallow_clone(),
            };
            let dropout = if train { self.attn_dropout } else { 0.0 };
            let ctx = Tensor::scaled_dot_product_attention(
                &q,
                &k,
                &v,
                Some(&mask),
                dropout,
                false,
                self.scale,
                false,
            );
            let ctx = ctx.transpose(1, 2).contiguous().view([b, s, h]);
            let attn = apply(&self.attn_out, q8.map(|q| &q.attn_out), &ctx, kind)
                .dropout(self.hidden_dropout, train);
            let x = self.attn_norm.forward(&to_fp32(attn + x, kind));
            let inter = activate(
                apply(&self.intermediate, q8.map(|q| &q.intermediate), &x, kind),
                self.act,
            );
            let out = apply(&self.output, q8.map(|q| &q.output), &inter, kind)
                .dropout(self.hidden_dropout, train);
            self.out_norm.forward(&to_fp32(out + x, kind))
        }
    }

    /// transformers' `make_log_bucket_position`, by the same float32
    /// operations (so the bucket edges round alike): distances within
    /// ±buckets/2 kept, longer ones on a log scale reaching ±buckets at
    /// `max_position` (and past it beyond).
    pub(super) fn log_buckets(rel: &Tensor, buckets: i64, max_position: i64) -> Tensor {
        let device = rel.device();
        let mid = buckets / 2;
        let near = rel.lt(mid).logical_and(&rel.gt(-mid));
        let abs =
            Tensor::scalar_tensor(mid - 1, (Kind::Int64, device)).where_self(&near, &rel.abs());
        let ratio = (max_position - 1) as f64 / mid as f64;
        let denom = Tensor::scalar_tensor(ratio, (Kind::Float, device)).log();
        let log_pos = ((abs.to_kind(Kind::Float) / mid as f64).log() / denom * (mid - 1) as f64)
            .ceil()
            + mid as f64;
        rel.to_kind(Kind::Float)
            .where_self(&abs.le(mid), &(log_pos * rel.sign()))
            .to_kind(Kind::Int64)
    }

    /// `DebertaV2Model`: embeddings, the relative-position table, the layers.
    pub struct Encoder {
        embeddings: Embeddings,
        rel_embeddings: Option<nn::Embedding>,
        rel_norm: Option<nn::LayerNorm>,
        layers: Vec<Layer>,
        options: DebertaOptions,
        pub compute_kind: Option<Kind>,
    }

    impl Encoder {
        fn new(p: nn::Path, c: &EncoderConfig, o: &DebertaOptions) -> Self {
            let enc = &p / "encoder";
            let relative = o.relative_attention;
            Encoder {
                embeddings: Embeddings::new(&p / "embeddings", c, o),
                rel_embeddings: relative.then(|| {
                    nn::embedding(
                        &enc / "rel_embeddings",
                        2 * o.attention_span(),
                        c.hidden_size,
                        Default::default(),
                    )
                }),
                rel_norm: o
                    .norm_rel_ebd
                    .then(|| layer_norm(&enc / "LayerNorm", c.hidden_size, c.layer_norm_eps)),
                layers: (0..c.num_hidden_layers)
                    .map(|i| Layer::new(&enc / "layer" / i, c, o))
                    .collect(),
                options: o.clone(),
                compute_kind: None,
            }
        }

        /// `q - k` for a sequence of `seq`, [seq, seq] int64, log-bucketed
        /// when `position_buckets` > 0.
        fn relative_positions(&self, seq: i64, device: tch::Device) -> Tensor {
            let ids = Tensor::arange(seq, (Kind::Int64, device));
            let rel = ids.unsqueeze(1) - ids.unsqueeze(0);
            match self.options.position_buckets {
                b if b > 0 => log_buckets(&rel, b, self.options.max_relative_positions),
                _ => rel,
            }
        }

        fn shared(&self, attention_mask: &Tensor) -> Shared {
            let (b, s) = attention_mask
                .size2()
                .expect("attention_mask is [batch, seq]");
            let kind = self.compute_kind.unwrap_or(Kind::Float);
            let token = attention_mask.ne(0);
            let both = token
                .view([b, 1, 1, s])
                .logical_and(&token.view([b, 1, s, 1]));
            let mask = Tensor::zeros([b, 1, s, s], (kind, attention_mask.device()))
                .masked_fill(&both.logical_not(), lowest(kind));
            let relative = self.rel_embeddings.as_ref().map(|table| {
                let span = self.options.attention_span();
                // Only the rows this length reaches: the same scores, from
                // smaller c2p / p2c matmuls (LayerNorm is per row).
                let (first, count) = self.options.rows_used(s);
                let window = table.ws.narrow(0, first, count);
                let rows = match &self.rel_norm {
                    Some(n) => n.forward(&window),
                    None => window,
                };
                let rel = self.relative_positions(s, attention_mask.device());
                Relative {
                    rows,
                    c2p: (&rel + span).clamp(0, 2 * span - 1) - first,
                    p2c: (-rel + span).clamp(0, 2 * span - 1) - first,
                }
            });
            Shared { mask, relative }
        }

        /// Every layer's content linear maps in int8 from now on (CPU
        /// inference only: the fp32 weights stay for saving).
        pub fn quantize_int8(&mut self) -> Result<()> {
            self.layers.iter_mut().try_for_each(Layer::quantize_int8)
        }

        /// The last hidden state [batch, seq, hidden] (fp32).
        pub fn forward_t(
            &self,
            input_ids: &Tensor,
            attention_mask: &Tensor,
            train: bool,
        ) -> Tensor {
            let keep = attention_mask.to_kind(Kind::Float).unsqueeze(-1);
            let shared = self.shared(attention_mask);
            let kind = self.compute_kind;
            let mut x = self.embeddings.forward_t(input_ids, &keep, train, kind);
            for layer in &self.layers {
                x = layer.forward_t(&x, &shared, train, kind);
            }
            x
        }
    }

    /// `DebertaV2ForSequenceClassification`: the encoder under `deberta.`,
    /// `pooler.dense` and `classifier` at the root.
    pub struct DebertaClassifier {
        pub encoder: Encoder,
        pooler: nn::Linear,
        classifier: nn::Linear,
        pooler_dropout: f64,
        pooler_act: HiddenAct,
        /// The classifier dropout hecjob is given (transformers' `cls_dropout`).
        dropout: f64,
        pub num_labels: i64,
    }

    impl DebertaClassifier {
        pub fn new(root: &nn::Path, c: &EncoderConfig, num_labels: i64, dropout: f64) -> Self {
            let o = c
                .deberta
                .as_ref()
                .expect("EncoderConfig::from_file reads DeBERTa's options");
            let h = c.hidden_size;
            DebertaClassifier {
                encoder: Encoder::new(root / "deberta", c, o),
                pooler: nn::linear(root / "pooler" / "dense", h, h, Default::default()),
                classifier: nn::linear(root / "classifier", h, num_labels, Default::default()),
                pooler_dropout: o.pooler_dropout,
                pooler_act: o.pooler_hidden_act,
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
            let first = hidden.select(1, 0).dropout(self.pooler_dropout, train);
            let pooled = activate(dense(&self.pooler, &first, kind), self.pooler_act);
            let logits = dense(&self.classifier, &pooled.dropout(self.dropout, train), kind);
            to_fp32(logits, kind)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(json: &str) -> Result<DebertaOptions> {
        let raw: Value = serde_json::from_str(json).unwrap();
        DebertaOptions::from_raw(&raw, Path::new("config.json"), 512, 768, 12)
    }

    #[test]
    fn deberta_v3_base_options_are_read() {
        let o = options(
            r#"{"relative_attention": true, "position_buckets": 256, "max_relative_positions": -1,
                "pos_att_type": ["p2c", "c2p"], "share_att_key": true, "norm_rel_ebd": "layer_norm",
                "position_biased_input": false, "pooler_hidden_size": 768, "pooler_dropout": 0,
                "pooler_hidden_act": "gelu"}"#,
        )
        .unwrap();
        assert_eq!(o.max_relative_positions, 512);
        assert_eq!((o.attention_span(), o.scale_factor()), (256, 3));
        assert!(o.relative_attention && o.share_att_key && o.norm_rel_ebd);
        assert!(o.c2p && o.p2c && !o.position_biased_input);
    }

    #[test]
    fn absent_keys_take_debertav2config_defaults() {
        let o = options("{}").unwrap();
        assert!(!o.relative_attention && !o.share_att_key && !o.norm_rel_ebd);
        assert!(!o.c2p && !o.p2c && o.position_biased_input);
        assert_eq!((o.position_buckets, o.max_relative_positions), (-1, 512));
        assert_eq!(
            (o.pooler_dropout, o.pooler_hidden_act),
            (0.0, HiddenAct::Gelu)
        );
        assert_eq!(o.scale_factor(), 1);
    }

    #[test]
    fn the_rows_used_cover_every_bucket_a_length_reaches() {
        let v3 = options(r#"{"relative_attention": true, "position_buckets": 256}"#).unwrap();
        assert_eq!(v3.rows_used(512), (0, 512));
        assert_eq!(v3.rows_used(128), (129, 255));
        assert_eq!(v3.rows_used(1), (256, 1));
        // bucket(300) = 207 (transformers): one row of margin either side.
        assert_eq!(v3.rows_used(301), (256 - 208, 2 * 208 + 1));
        let tiny = options(
            r#"{"relative_attention": true, "position_buckets": 8, "max_relative_positions": 32}"#,
        )
        .unwrap();
        assert_eq!(tiny.rows_used(64), (0, 16));
        // bucket(8) = 6 (transformers), + 1.
        assert_eq!(tiny.rows_used(9), (8 - 7, 15));
        let unbucketed = options(r#"{"relative_attention": true}"#).unwrap();
        assert_eq!(unbucketed.rows_used(10), (512 - 9, 19));
    }

    #[test]
    fn a_wrongly_typed_key_is_named() {
        let e = options(r#"{"share_att_key": "yes"}"#)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "config.json: share_att_key must be true or false, not \"yes\""
        );
        let e = options(r#"{"pos_att_type": 3}"#).unwrap_err().to_string();
        assert_eq!(
            e,
            "config.json: pos_att_type must be a list such as [\"p2c\", \"c2p\"], not 3"
        );
    }

    #[cfg(feature = "torch")]
    #[test]
    fn log_buckets_match_transformers() {
        // make_log_bucket_position's output in transformers 5.25 for these distances.
        let bucket = |rel: &[i64], buckets, max| {
            let t = super::net::log_buckets(&tch::Tensor::from_slice(rel), buckets, max);
            Vec::<i64>::try_from(&t).unwrap()
        };
        assert_eq!(
            bucket(
                &[0, 1, -1, 127, 128, 129, -129, 200, 300, 511, -511, 1000],
                256,
                512
            ),
            [0, 1, -1, 127, 128, 129, -129, 169, 207, 255, -255, 317]
        );
        assert_eq!(
            bucket(&[0, 3, 4, 5, -5, 10, 31, 32, 40, 63, -63], 8, 32),
            [0, 3, 4, 5, -5, 6, 7, 8, 8, 9, -9]
        );
    }
}
