//! The tch encoders against Hugging Face transformers on the same weights.
//! Goldens come from tests/golden/make_golden.py (transformers 5.24; the
//! DistilBERT, ELECTRA, RoBERTa-classifier, XLM-R, DeBERTa-v3 and ModernBERT
//! ones 5.25; fp32 CPU).

use crate::support;

use hecjob::worker::model::saved::LoadedModel;
use std::path::Path;
use tch::{Device, Kind, Tensor};

const TOL: f64 = 1e-4;

fn labels(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("l{i}")).collect()
}

fn golden(dir: &Path) -> (serde_json::Value, std::collections::HashMap<String, Tensor>) {
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("golden.json")).unwrap()).unwrap();
    let tensors = Tensor::read_safetensors(dir.join("golden.safetensors"))
        .unwrap()
        .into_iter()
        .collect();
    (json, tensors)
}

fn max_abs(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

/// Check every golden batch: token ids, hidden states, pooled output (and
/// logits, loss); prints the largest difference seen (`--nocapture`).
fn check(model_dir: &Path, golden_dir: &Path) {
    let (json, g) = golden(golden_dir);
    let max_length = json["max_length"].as_u64().unwrap() as usize;
    let lm = LoadedModel::pretrained(model_dir, &labels(28), 0.1, max_length, Device::Cpu).unwrap();
    let pad = lm.config.pad_token_id;
    let texts: Vec<String> = json["texts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    let mut checked = 0;
    let mut worst = 0f64;
    for (name, batch) in json["batches"].as_object().unwrap() {
        let ids: Vec<usize> = batch["text_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        let batch_texts: Vec<&str> = ids.iter().map(|&i| texts[i].as_str()).collect();
        let enc = lm.encoder.encode_all(&batch_texts).unwrap();
        let longest = enc.iter().map(Vec::len).max().unwrap();
        let mut flat = Vec::new();
        let mut mask = Vec::new();
        for row in &enc {
            let padding = longest - row.len();
            flat.extend(row.iter().copied().chain(std::iter::repeat_n(pad, padding)));
            mask.extend(
                std::iter::repeat_n(1i64, row.len()).chain(std::iter::repeat_n(0, padding)),
            );
        }
        let shape = [enc.len() as i64, longest as i64];
        let input_ids = Tensor::from_slice(&flat).view(shape);
        let attention = Tensor::from_slice(&mask).view(shape);
        assert!(
            input_ids.equal(&g[&format!("{name}.input_ids")]),
            "{name}: token ids differ from HF:\n ours {input_ids}\n HF   {}",
            g[&format!("{name}.input_ids")]
        );
        assert!(
            attention.equal(&g[&format!("{name}.attention_mask")]),
            "{name}: attention mask differs"
        );
        let (hidden, pooled) = tch::no_grad(|| lm.model.hidden_states(&input_ids, &attention));
        let gh = &g[&format!("{name}.last_hidden_state")];
        let d_all = max_abs(&hidden, gh);
        // Real tokens only: pad positions are computed but meaningless.
        let m = attention.unsqueeze(-1).to_kind(Kind::Float);
        let d_real = max_abs(&(&hidden * &m), &(gh * &m));
        assert!(
            d_real <= TOL && d_all <= TOL,
            "{name}: hidden states differ by {d_real:e} (real tokens), {d_all:e} (all)"
        );
        worst = worst.max(d_all);
        // Only BERT has a pooler. tiny-roberta is a RobertaModel checkpoint
        // with one: its pooler_output golden has no counterpart here (the
        // RoBERTa head reads the first token, the pooler is unused).
        let gp = g.get(&format!("{name}.pooler_output"));
        let family_has_pooler = lm.config.model_type.has_pooler();
        assert_eq!(
            pooled.is_some(),
            gp.is_some() && family_has_pooler,
            "{name}: pooler"
        );
        if let (Some(pooled), Some(gp)) = (pooled, gp) {
            let d_pool = max_abs(&pooled, gp);
            assert!(d_pool <= TOL, "{name}: pooled output differs by {d_pool:e}");
            worst = worst.max(d_pool);
        }
        if let Some(gl) = g.get(&format!("{name}.logits")) {
            let logits = tch::no_grad(|| lm.model.forward_t(&input_ids, &attention, false));
            let d = max_abs(&logits, gl);
            assert!(d <= TOL, "{name}: logits differ by {d:e}");
            worst = worst.max(d);
        }
        if let Some(gloss) = g.get(&format!("{name}.loss")) {
            let logits = tch::no_grad(|| lm.model.forward_t(&input_ids, &attention, false));
            let loss = logits.binary_cross_entropy_with_logits::<Tensor>(
                &g[&format!("{name}.labels")],
                None,
                None,
                tch::Reduction::Mean,
            );
            let d = max_abs(&loss.view([1]), gloss);
            assert!(d <= TOL, "{name}: loss differs by {d:e}");
            worst = worst.max(d);
        }
        checked += 1;
    }
    assert_eq!(checked, 8, "every golden batch was checked");
    eprintln!(
        "{}: max |Δ| against transformers {worst:e}",
        golden_dir.display()
    );
}

#[test]
fn tiny_bert_matches_transformers() {
    let d = support::fixture("golden/tiny-bert");
    check(&d, &d);
}

#[test]
fn tiny_bert_with_old_gamma_beta_names_matches() {
    // The same tensors under TF-era names (LayerNorm.gamma / .beta), written here
    // rather than committed twice.
    let src = support::fixture("golden/tiny-bert");
    let tmp = tempfile::tempdir().unwrap();
    for f in ["config.json", "tokenizer.json"] {
        std::fs::copy(src.join(f), tmp.path().join(f)).unwrap();
    }
    let renamed: Vec<(String, Tensor)> = Tensor::read_safetensors(src.join("model.safetensors"))
        .unwrap()
        .into_iter()
        .map(|(n, t)| {
            (
                n.replace("LayerNorm.weight", "LayerNorm.gamma")
                    .replace("LayerNorm.bias", "LayerNorm.beta"),
                t,
            )
        })
        .collect();
    assert!(renamed.iter().any(|(n, _)| n.ends_with("LayerNorm.gamma")));
    Tensor::write_safetensors(&renamed, tmp.path().join("model.safetensors")).unwrap();
    check(tmp.path(), &src);
}

#[test]
fn tiny_roberta_matches_transformers() {
    let d = support::fixture("golden/tiny-roberta");
    check(&d, &d);
}

#[test]
fn tiny_roberta_with_prefix_matches() {
    check(
        &support::fixture("golden/tiny-roberta-prefixed"),
        &support::fixture("golden/tiny-roberta"),
    );
}

#[test]
fn tiny_roberta_classifier_matches_transformers() {
    // RobertaForSequenceClassification as transformers saves it: `roberta.`
    // prefix, no pooler, classifier.dense → tanh → classifier.out_proj.
    let d = support::fixture("golden/tiny-roberta-cls");
    check(&d, &d);
}

#[test]
fn tiny_xlm_roberta_matches_transformers() {
    // model_type xlm-roberta: RoBERTa's body and head under `roberta.`, and a
    // SentencePiece-style Unigram tokenizer.json (Metaspace `▁`).
    let d = support::fixture("golden/tiny-xlm-roberta");
    check(&d, &d);
}

#[test]
fn tiny_distilbert_matches_transformers() {
    // Its own names (`transformer.layer.N.attention.q_lin`, `sa_layer_norm`),
    // no token types, and DistilBertForSequenceClassification's head
    // (pre_classifier → ReLU → classifier).
    let d = support::fixture("golden/tiny-distilbert");
    check(&d, &d);
}

#[test]
fn tiny_electra_matches_transformers() {
    // embedding_size 16 < hidden_size 48: `embeddings_project` is used; and
    // ElectraForSequenceClassification's head (dense → GELU → out_proj).
    let d = support::fixture("golden/tiny-electra");
    check(&d, &d);
}

#[test]
fn tiny_deberta_v3_matches_transformers() {
    // DeBERTa-v3's options: relative attention (c2p + p2c) with keys shared
    // with the content projections, 8 log buckets over max_relative_positions
    // 32 (the 64-token text reaches distances past both), the LayerNorm on
    // rel_embeddings, no absolute positions, no token types; the
    // ContextPooler head; a Unigram tokenizer with [CLS] … [SEP].
    let d = support::fixture("golden/tiny-deberta-v3");
    check(&d, &d);
}

#[test]
fn tiny_deberta_options_match_transformers() {
    // The DebertaV2 options v3 leaves off: absolute positions and token types
    // in the embeddings, embedding_size 16 → `embed_proj`, unbucketed relative
    // positions clamped at ±16, no LayerNorm on them, `pos_key_proj` /
    // `pos_query_proj` (share_att_key false), pos_att_type as "c2p|p2c".
    let d = support::fixture("golden/tiny-deberta-options");
    check(&d, &d);
}

#[test]
fn deberta_in_bf16_tracks_fp32_and_trains_every_weight() {
    // The autocast path (matmuls, position bias and attention in bf16,
    // LayerNorms and the residual stream in fp32) on the CPU: logits near the
    // fp32 goldens, and a backward pass reaches the relative embeddings, their
    // LayerNorm and every projection with finite fp32 gradients.
    let src = support::fixture("golden/tiny-deberta-v3");
    let mut lm = LoadedModel::pretrained(&src, &labels(28), 0.1, 64, Device::Cpu).unwrap();
    lm.model.set_compute_kind(Some(Kind::BFloat16));
    let (_, g) = golden(&src);
    let (ids, mask) = (&g["batch_all.input_ids"], &g["batch_all.attention_mask"]);
    let logits = tch::no_grad(|| lm.model.forward_t(ids, mask, false));
    assert_eq!(logits.kind(), Kind::Float);
    let d = max_abs(&logits, &g["batch_all.logits"]);
    assert!(d < 0.1, "bf16 logits differ from fp32 by {d}");
    let loss = lm
        .model
        .forward_t(ids, mask, true)
        .binary_cross_entropy_with_logits::<Tensor>(
            &g["batch_all.labels"],
            None,
            None,
            tch::Reduction::Mean,
        );
    loss.backward();
    for (name, v) in lm.vs.variables() {
        let grad = v.grad();
        assert!(grad.defined(), "{name}: no gradient");
        assert_eq!(grad.kind(), Kind::Float, "{name}");
        let norm = grad.abs().sum(Kind::Double).double_value(&[]);
        assert!(
            norm.is_finite() && norm > 0.0,
            "{name}: gradient norm {norm}"
        );
    }
}

/// tiny-deberta-v3 with `edit` applied to its config.json, in a temp dir.
fn deberta_with(edit: impl FnOnce(&mut serde_json::Value)) -> tempfile::TempDir {
    let src = support::fixture("golden/tiny-deberta-v3");
    let tmp = tempfile::tempdir().unwrap();
    for f in ["tokenizer.json", "model.safetensors"] {
        std::fs::copy(src.join(f), tmp.path().join(f)).unwrap();
    }
    let mut cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(src.join("config.json")).unwrap()).unwrap();
    edit(&mut cfg);
    std::fs::write(tmp.path().join("config.json"), cfg.to_string()).unwrap();
    tmp
}

#[test]
fn deberta_options_hecjob_does_not_implement_are_refused_naming_the_key() {
    let cases: [(&str, serde_json::Value, &str); 5] = [
        (
            "conv_kernel_size",
            3.into(),
            "conv_kernel_size 3 is not supported: hecjob's DeBERTa has no convolution layer (DeBERTa-v2 xlarge/xxlarge have one; DeBERTa-v3 has none)",
        ),
        (
            "pos_att_type",
            serde_json::json!(["p2c", "p2p"]),
            "pos_att_type entry `p2p` is not supported; hecjob implements `c2p` and `p2c`",
        ),
        (
            "norm_rel_ebd",
            "layer_norm|batch_norm".into(),
            "norm_rel_ebd entry `batch_norm` is not supported; expected `layer_norm` or `none`",
        ),
        (
            "pooler_hidden_size",
            64.into(),
            "pooler_hidden_size 64 is not supported: the pooler must be hidden_size (32) wide",
        ),
        (
            "max_relative_positions",
            5.into(),
            "max_relative_positions 5 must be more than position_buckets / 2 + 1 (5) for log-bucketed positions (position_buckets 8)",
        ),
    ];
    for (key, value, why) in cases {
        let tmp = deberta_with(|c| c[key] = value);
        let e = LoadedModel::pretrained(tmp.path(), &labels(28), 0.1, 16, Device::Cpu)
            .err()
            .expect("must fail");
        assert_eq!(e.exit_code(), 3, "{e}");
        assert_eq!(
            e.to_string(),
            format!("{}: {why}", tmp.path().join("config.json").display())
        );
    }
}

#[test]
fn deberta_reads_the_older_pipe_separated_pos_att_type() {
    // DeBERTa-v2/v3 configs saved by older transformers write "p2c|c2p".
    let tmp = deberta_with(|c| c["pos_att_type"] = "p2c|c2p".into());
    let d = support::fixture("golden/tiny-deberta-v3");
    check(tmp.path(), &d);
}

#[test]
fn transformers_loads_the_deberta_model_hecjob_saved_with_the_same_probabilities() {
    // Weights moved off the fixture's (so transformers must read hecjob's
    // names, not the fixture's), saved by hecjob, loaded by
    // AutoModelForSequenceClassification (tests/golden/load_saved.py): the
    // class config.json names, no key missing or unexpected, the labels, and
    // sigmoid probabilities on a padded 64-token batch within 1e-4.
    let py = support::repo().join(".venv/bin/python");
    let has_transformers = std::process::Command::new("timeout")
        .arg("120")
        .arg(&py)
        .args(["-c", "import transformers"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_transformers {
        assert!(
            std::env::var("CI").is_err(),
            "transformers not importable from .venv under CI"
        );
        eprintln!("SKIPPED: .venv/bin/python cannot import transformers");
        return;
    }
    let src = support::fixture("golden/tiny-deberta-v3");
    let lm = LoadedModel::pretrained(&src, &labels(28), 0.1, 64, Device::Cpu).unwrap();
    tch::no_grad(|| {
        tch::manual_seed(7);
        for (_, mut v) in lm.vs.variables() {
            let noise = v.randn_like() * 0.05;
            let _ = v.g_add_(&noise);
        }
    });
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("model");
    lm.save(&dir, &meta()).unwrap();
    let (_, g) = golden(&src);
    let ids = g["batch_all.input_ids"].shallow_clone();
    let mask = g["batch_all.attention_mask"].shallow_clone();
    let probs = tch::no_grad(|| lm.model.forward_t(&ids, &mask, false)).sigmoid();
    let inputs = tmp.path().join("inputs.safetensors");
    Tensor::write_safetensors(
        &[
            ("input_ids", ids),
            ("attention_mask", mask),
            ("probs", probs),
        ],
        &inputs,
    )
    .unwrap();
    let out = std::process::Command::new(&py)
        .arg(support::repo().join("tests/golden/load_saved.py"))
        .arg(&dir)
        .arg(&inputs)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("DebertaV2ForSequenceClassification: max |dprob|"),
        "{text}"
    );
}

/// A copy of a fixture's config.json, tokenizer.json and weights in a temp
/// directory, config.json changed by `edit`.
fn with_config(src: &Path, edit: impl FnOnce(&mut serde_json::Value)) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for f in ["tokenizer.json", "model.safetensors"] {
        std::fs::copy(src.join(f), tmp.path().join(f)).unwrap();
    }
    let mut cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(src.join("config.json")).unwrap()).unwrap();
    edit(&mut cfg);
    std::fs::write(tmp.path().join("config.json"), cfg.to_string()).unwrap();
    tmp
}

#[test]
fn tiny_modernbert_matches_transformers() {
    // ModernBertForSequenceClassification as transformers 5.25 saves it
    // (`layer_types`, `rope_parameters`): layers 0 and 2 global (rotary base
    // 1000), 1 and 3 local (base 30, keys within ±4), texts up to 64 tokens,
    // no norm/attention/MLP biases, mean pooling over the mask.
    let d = support::fixture("golden/tiny-modernbert");
    check(&d, &d);
}

#[test]
fn tiny_modernbert_with_cls_pooling_matches_transformers() {
    // The same weights with `classifier_pooling: "cls"`: the head reads the
    // first token (golden `<batch>.logits_cls`).
    let src = support::fixture("golden/tiny-modernbert");
    let tmp = with_config(&src, |c| c["classifier_pooling"] = "cls".into());
    let (json, g) = golden(&src);
    let lm = LoadedModel::pretrained(tmp.path(), &labels(28), 0.1, 64, Device::Cpu).unwrap();
    let mut checked = 0;
    for name in json["batches"].as_object().unwrap().keys() {
        let ids = &g[&format!("{name}.input_ids")];
        let mask = &g[&format!("{name}.attention_mask")];
        let logits = tch::no_grad(|| lm.model.forward_t(ids, mask, false));
        let d = max_abs(&logits, &g[&format!("{name}.logits_cls")]);
        assert!(d <= TOL, "{name}: cls-pooled logits differ by {d:e}");
        let mean = max_abs(&logits, &g[&format!("{name}.logits")]);
        assert!(mean > TOL, "{name}: cls and mean pooling agree ({mean:e})");
        checked += 1;
    }
    assert_eq!(checked, 8);
}

#[test]
fn tiny_modernbert_reads_the_hub_s_config_keys() {
    // answerdotai/ModernBERT-base's config.json names the layout and the bases
    // the older way: global_attn_every_n_layers, global_rope_theta,
    // local_rope_theta, no layer_types or rope_parameters. Same model.
    let src = support::fixture("golden/tiny-modernbert");
    let tmp = with_config(&src, |c| {
        let o = c.as_object_mut().unwrap();
        o.remove("layer_types");
        o.remove("rope_parameters");
        o.insert("global_attn_every_n_layers".into(), 2.into());
        o.insert("global_rope_theta".into(), 1000.0.into());
        o.insert("local_rope_theta".into(), 30.0.into());
    });
    check(tmp.path(), &src);
}

#[test]
fn tiny_modernbert_trains_under_bf16_autocast() {
    // Matmuls and attention in bf16 (masks in bf16 too, rotary in fp32 and
    // back), the residual stream and norms in fp32: the logits stay near the
    // fp32 ones, and a backward pass reaches the embeddings with finite
    // gradients. (On the CPU here; the trainer uses it on CUDA.)
    let d = support::fixture("golden/tiny-modernbert");
    let (_, g) = golden(&d);
    let mut lm = LoadedModel::pretrained(&d, &labels(28), 0.1, 64, Device::Cpu).unwrap();
    let ids = &g["batch_all.input_ids"];
    let mask = &g["batch_all.attention_mask"];
    lm.model.set_compute_kind(Some(Kind::BFloat16));
    let logits = lm.model.forward_t(ids, mask, true);
    assert_eq!(logits.kind(), Kind::Float);
    let eval = tch::no_grad(|| lm.model.forward_t(ids, mask, false));
    let d_bf16 = max_abs(&eval, &g["batch_all.logits"]);
    assert!(d_bf16 < 0.05, "bf16 logits differ by {d_bf16:e}");
    logits
        .binary_cross_entropy_with_logits::<Tensor>(
            &g["batch_all.labels"],
            None,
            None,
            tch::Reduction::Mean,
        )
        .backward();
    let vars = lm.vs.variables();
    for name in [
        "classifier.weight",
        "model.layers.1.attn.Wqkv.weight",
        "model.embeddings.tok_embeddings.weight",
    ] {
        let norm = vars[name].grad().norm().double_value(&[]);
        assert!(norm.is_finite() && norm > 0.0, "{name}: {norm}");
    }
}

#[test]
fn a_modernbert_config_that_does_not_match_its_weights_is_refused_before_building() {
    // ModernBERT has no position table and a doubled `mlp.Wi` (input and
    // gate): the header check compares those, and counts `model.layers.N`.
    let src = support::fixture("golden/tiny-modernbert");
    let refused = |edit: &dyn Fn(&mut serde_json::Value)| {
        let tmp = with_config(&src, edit);
        let e = LoadedModel::pretrained(tmp.path(), &labels(28), 0.1, 16, Device::Cpu)
            .err()
            .expect("must fail");
        assert_eq!(e.exit_code(), 3, "{e}");
        let weights = tmp.path().join("model.safetensors");
        e.to_string()
            .replace(&weights.display().to_string(), "WEIGHTS")
    };
    assert_eq!(
        refused(&|c| c["intermediate_size"] = 96.into()),
        "WEIGHTS: tensor `model.layers.0.mlp.Wi.weight` has shape [96, 32], config.json implies [192, 32]; the weights and config.json do not belong together"
    );
    assert_eq!(
        refused(&|c| {
            c["num_hidden_layers"] = 6.into();
            c.as_object_mut().unwrap().remove("layer_types");
        }),
        "WEIGHTS: 4 encoder layers in the weights, config.json says num_hidden_layers 6; the weights and config.json do not belong together"
    );
}

fn meta() -> hecjob::worker::model::saved::HecjobMeta {
    hecjob::worker::model::saved::HecjobMeta {
        hecjob_version: "test".into(),
        base_model: "tiny".into(),
        max_length: 16,
        threshold: 0.3,
        tuned_thresholds: None,
        dropout: 0.1,
        epoch: 1,
        task: Default::default(),
        precision: None,
    }
}

fn tensor_names(file: &Path) -> Vec<(String, Vec<i64>)> {
    let mut names: Vec<(String, Vec<i64>)> = Tensor::read_safetensors(file)
        .unwrap()
        .into_iter()
        .map(|(n, t)| (n, t.size()))
        .collect();
    names.sort();
    names
}

#[test]
fn a_saved_model_has_the_tensor_names_transformers_saves() {
    // Each fixture is transformers' own *ForSequenceClassification save; the
    // model hecjob saves from it must have exactly its names and shapes (so
    // either tool loads the other's head), name its class in config.json, and
    // reload to the same logits.
    for (fixture, class) in [
        ("golden/tiny-bert", "BertForSequenceClassification"),
        (
            "golden/tiny-distilbert",
            "DistilBertForSequenceClassification",
        ),
        ("golden/tiny-electra", "ElectraForSequenceClassification"),
        (
            "golden/tiny-roberta-cls",
            "RobertaForSequenceClassification",
        ),
        (
            "golden/tiny-xlm-roberta",
            "XLMRobertaForSequenceClassification",
        ),
        (
            "golden/tiny-deberta-v3",
            "DebertaV2ForSequenceClassification",
        ),
        (
            "golden/tiny-deberta-options",
            "DebertaV2ForSequenceClassification",
        ),
        (
            "golden/tiny-modernbert",
            "ModernBertForSequenceClassification",
        ),
    ] {
        let src = support::fixture(fixture);
        let tmp = tempfile::tempdir().unwrap();
        let lm = LoadedModel::pretrained(&src, &labels(28), 0.1, 16, Device::Cpu).unwrap();
        lm.save(tmp.path(), &meta()).unwrap();
        assert_eq!(
            tensor_names(&tmp.path().join("model.safetensors")),
            tensor_names(&src.join("model.safetensors")),
            "{fixture}"
        );
        let cfg: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(tmp.path().join("config.json")).unwrap())
                .unwrap();
        assert_eq!(
            cfg["architectures"],
            serde_json::json!([class]),
            "{fixture}"
        );
        let back = LoadedModel::trained(tmp.path(), Device::Cpu).unwrap();
        // Ids inside every fixture's vocabulary (RoBERTa's is 500 tokens).
        let pad = lm.config.pad_token_id;
        let ids = Tensor::from_slice(&[5i64, 45, 200, 7, 5, 7, pad, pad]).view([2, 4]);
        let mask = ids.ne(pad).to_kind(Kind::Int64);
        let a = tch::no_grad(|| lm.model.forward_t(&ids, &mask, false));
        let b = tch::no_grad(|| back.model.forward_t(&ids, &mask, false));
        assert!(
            a.equal(&b),
            "{fixture}: logits changed through save and load"
        );
    }
}

#[test]
fn an_unsupported_model_type_is_refused_with_the_supported_ones() {
    let src = support::fixture("golden/tiny-bert");
    let tmp = tempfile::tempdir().unwrap();
    for f in ["tokenizer.json", "model.safetensors"] {
        std::fs::copy(src.join(f), tmp.path().join(f)).unwrap();
    }
    std::fs::write(
        tmp.path().join("config.json"),
        r#"{"model_type": "deberta", "hidden_size": 32}"#,
    )
    .unwrap();
    let e = LoadedModel::pretrained(tmp.path(), &labels(28), 0.1, 16, Device::Cpu)
        .err()
        .expect("must fail");
    assert_eq!(e.exit_code(), 3, "{e}");
    assert_eq!(
        e.to_string(),
        format!(
            "{}: model_type `deberta` is not supported; expected one of `bert` (BERT, MiniLM), `roberta`, `distilbert`, `electra`, `xlm-roberta`, `deberta-v2` (DeBERTa-v2, -v3), `modernbert`",
            tmp.path().join("config.json").display()
        )
    );
}

#[test]
fn a_pretrained_roberta_with_a_pooler_saves_as_roberta_for_sequence_classification() {
    // roberta-base's layout (RobertaModel, pooler, no prefix): the pooler is
    // read past, and the model hecjob saves has exactly the tensor names of
    // transformers' RobertaForSequenceClassification (tiny-roberta-cls, the
    // same shapes).
    let src = support::fixture("golden/tiny-roberta");
    let tmp = tempfile::tempdir().unwrap();
    let lm = LoadedModel::pretrained(&src, &labels(28), 0.1, 16, Device::Cpu).unwrap();
    lm.save(tmp.path(), &meta()).unwrap();
    let saved = tensor_names(&tmp.path().join("model.safetensors"));
    assert!(
        !saved.iter().any(|(n, _)| n.contains("pooler")),
        "{saved:?}"
    );
    assert_eq!(
        saved,
        tensor_names(&support::fixture(
            "golden/tiny-roberta-cls/model.safetensors"
        ))
    );
}

#[test]
fn a_roberta_classifier_saved_with_the_old_pooled_head_is_refused_clearly() {
    // hecjob 0.3 and earlier saved RoBERTa with BERT's head: `roberta.pooler.…`,
    // `classifier.weight` [labels, hidden], architectures ["RobertaModel"].
    let src = support::fixture("golden/tiny-roberta-prefixed");
    let tmp = tempfile::tempdir().unwrap();
    for f in ["tokenizer.json", "config.json"] {
        std::fs::copy(src.join(f), tmp.path().join(f)).unwrap();
    }
    let mut tensors: Vec<(String, Tensor)> =
        Tensor::read_safetensors(src.join("model.safetensors")).unwrap();
    assert!(tensors
        .iter()
        .any(|(n, _)| n == "roberta.pooler.dense.weight"));
    tensors.push((
        "classifier.weight".into(),
        Tensor::zeros([28, 32], tch::kind::FLOAT_CPU),
    ));
    tensors.push((
        "classifier.bias".into(),
        Tensor::zeros([28], tch::kind::FLOAT_CPU),
    ));
    Tensor::write_safetensors(&tensors, tmp.path().join("model.safetensors")).unwrap();
    std::fs::write(tmp.path().join("labels.txt"), labels(28).join("\n") + "\n").unwrap();
    std::fs::write(
        tmp.path().join("hecjob.json"),
        serde_json::to_string(&meta()).unwrap(),
    )
    .unwrap();
    let e = LoadedModel::trained(tmp.path(), Device::Cpu)
        .err()
        .expect("must fail");
    assert_eq!(e.exit_code(), 3, "{e}");
    assert_eq!(
        e.to_string(),
        format!(
            "{}: a RoBERTa classifier saved by hecjob 0.3 or earlier (pooler → classifier head, architectures RobertaModel); hecjob now trains RobertaForSequenceClassification's head (classifier.dense → classifier.out_proj): retrain the model, or predict with hecjob 0.3",
            tmp.path().display()
        )
    );
}

#[test]
fn a_roberta_family_head_gets_gradients_down_to_the_embeddings() {
    // One training step's backward through XLM-R's and RoBERTa's tanh head:
    // finite, non-zero gradients on the head and the word embeddings, and no
    // pooler variable to train.
    for fixture in ["golden/tiny-xlm-roberta", "golden/tiny-roberta-cls"] {
        let d = support::fixture(fixture);
        let lm = LoadedModel::pretrained(&d, &labels(28), 0.1, 16, Device::Cpu).unwrap();
        let enc = lm.encoder.encode_all(&["I love this so much!"]).unwrap();
        let ids = Tensor::from_slice(&enc[0]).unsqueeze(0);
        let mask = ids.ones_like();
        let logits = lm.model.forward_t(&ids, &mask, true);
        let target = Tensor::zeros([1, 28], tch::kind::FLOAT_CPU);
        logits
            .binary_cross_entropy_with_logits::<Tensor>(&target, None, None, tch::Reduction::Mean)
            .backward();
        let vars = lm.vs.variables();
        assert!(!vars.keys().any(|n| n.contains("pooler")), "{fixture}");
        for name in [
            "classifier.dense.weight",
            "classifier.out_proj.weight",
            "roberta.embeddings.word_embeddings.weight",
        ] {
            let g = vars[name].grad();
            let norm = g.norm().double_value(&[]);
            assert!(norm.is_finite() && norm > 0.0, "{fixture}: {name}: {norm}");
        }
    }
}

#[test]
fn real_minilm_matches_transformers() {
    let Some(dir) = support::minilm_dir() else {
        return;
    };
    check(&dir, &support::fixture("golden/minilm"));
}

#[test]
fn classifier_label_count_mismatch_is_a_clear_error() {
    // A trained tiny-bert has a 28-label head; asking for 3 labels must fail clearly.
    let d = support::fixture("golden/tiny-bert");
    let tmp = tempfile::tempdir().unwrap();
    let lm = LoadedModel::pretrained(&d, &labels(28), 0.1, 16, Device::Cpu).unwrap();
    lm.save(tmp.path(), &meta()).unwrap();
    std::fs::write(tmp.path().join("labels.txt"), "a\nb\nc\n").unwrap();
    let err = LoadedModel::trained(tmp.path(), Device::Cpu)
        .err()
        .expect("must fail")
        .to_string();
    assert!(err.contains("label count does not match"), "{err}");
}

#[test]
fn cuda_is_linked() {
    // libtorch_cuda must be in the process even on a CPU machine: rustc's
    // --as-needed would otherwise drop it and CUDA would read as unavailable on a GPU.
    let _ = tch::Cuda::is_available();
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    assert!(
        maps.contains("libtorch_cuda.so"),
        "libtorch_cuda.so is not linked: see build.rs"
    );
}

#[test]
fn a_config_that_does_not_match_its_weights_is_refused_before_building() {
    // Issue 15: `num_hidden_layers: 100000` built the whole model (61 s,
    // 5.5 GB) before a weight was compared. Now the file's header is compared
    // with config.json first; absurd sizes are refused on their own.
    let src = support::fixture("golden/tiny-bert");
    let tmp = tempfile::tempdir().unwrap();
    for f in ["tokenizer.json", "model.safetensors"] {
        std::fs::copy(src.join(f), tmp.path().join(f)).unwrap();
    }
    let mut cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(src.join("config.json")).unwrap()).unwrap();
    let layers = cfg["num_hidden_layers"].as_i64().unwrap();
    let try_with = |cfg: &serde_json::Value| {
        std::fs::write(tmp.path().join("config.json"), cfg.to_string()).unwrap();
        let e = LoadedModel::pretrained(tmp.path(), &labels(28), 0.1, 16, Device::Cpu)
            .err()
            .expect("must fail");
        assert_eq!(e.exit_code(), 3, "{e}");
        e.to_string()
    };
    cfg["num_hidden_layers"] = (layers + 500).into();
    assert_eq!(
        try_with(&cfg),
        format!(
            "{}: {layers} encoder layers in the weights, config.json says num_hidden_layers {}; the weights and config.json do not belong together",
            tmp.path().join("model.safetensors").display(),
            layers + 500
        )
    );
    cfg["num_hidden_layers"] = 100_000.into();
    assert_eq!(
        try_with(&cfg),
        format!(
            "{}: num_hidden_layers 100000 is outside 0..=1024; is this the config.json of a BERT-family encoder?",
            tmp.path().join("config.json").display()
        )
    );
    cfg["num_hidden_layers"] = layers.into();
    let hidden = cfg["intermediate_size"].as_i64().unwrap();
    cfg["intermediate_size"] = (hidden * 2).into();
    let e = try_with(&cfg);
    assert!(e.contains("intermediate.dense.weight` has shape"), "{e}");
}

/// A classifier directory transformers saved (no hecjob.json) is read as
/// transformers' pipeline reads it: labels from id2label, sigmoid per label for
/// `problem_type: multi_label_classification`. `predict` gives the
/// probabilities transformers' own logits give, for every family.
#[test]
fn predict_reads_a_transformers_classifier_directory() {
    for name in [
        "tiny-distilbert",
        "tiny-electra",
        "tiny-roberta-cls",
        "tiny-xlm-roberta",
        "tiny-modernbert",
    ] {
        let dir = support::fixture(&format!("golden/{name}"));
        let golden: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("golden.json")).unwrap())
                .unwrap();
        let text = golden["texts"][0].as_str().unwrap();
        let reference = Tensor::read_safetensors(dir.join("golden.safetensors")).unwrap();
        let logits = &reference
            .iter()
            .find(|(k, _)| k == "single_0.logits")
            .unwrap()
            .1;
        let want: Vec<f32> = Vec::<f32>::try_from(logits.sigmoid().flatten(0, -1)).unwrap();
        let out = support::Hecjob::new()
            .arg("predict")
            .arg(&dir)
            // fp32, as transformers computed the goldens (auto is bf16 on
            // a CPU with native bf16).
            .args(["--precision", "fp32"])
            .args([text, "--top-k", &want.len().to_string(), "--json"])
            .run()
            .success();
        let got: serde_json::Value = serde_json::from_str(&out.stdout()).unwrap();
        let labels = got[0]["labels"].as_array().unwrap();
        assert_eq!(labels.len(), want.len(), "{name}");
        for l in labels {
            let id: usize = l["label"]
                .as_str()
                .unwrap()
                .trim_start_matches("LABEL_")
                .parse()
                .unwrap();
            let p = l["probability"].as_f64().unwrap() as f32;
            assert!(
                (p - want[id]).abs() < 1e-4,
                "{name} LABEL_{id}: {p} vs transformers {}",
                want[id]
            );
        }
    }
}

#[test]
fn every_family_predicts_in_fp16_near_its_fp32_logits() {
    // The GPU's fp16 inference path (`hecjob predict --cuda --precision
    // fp16`, and `auto` on a Volta or Turing card), run on the CPU: matmuls
    // and attention in fp16, masks at fp16's lowest finite value, LayerNorms,
    // the residual stream and the logits in fp32.
    for family in [
        "tiny-bert",
        "tiny-distilbert",
        "tiny-deberta-v3",
        "tiny-modernbert",
    ] {
        let d = support::fixture(&format!("golden/{family}"));
        let (_, g) = golden(&d);
        let mut lm = LoadedModel::pretrained(&d, &labels(28), 0.1, 64, Device::Cpu).unwrap();
        lm.model.set_compute_kind(Some(Kind::Half));
        let (ids, mask) = (&g["batch_all.input_ids"], &g["batch_all.attention_mask"]);
        let logits = tch::no_grad(|| lm.model.forward_t(ids, mask, false));
        assert_eq!(logits.kind(), Kind::Float, "{family}");
        let d = max_abs(&logits, &g["batch_all.logits"]);
        assert!(d < 0.02, "{family}: fp16 logits differ from fp32 by {d:e}");
        assert!(
            d > 0.0,
            "{family}: fp32's logits exactly, so not computed in fp16"
        );
    }
}

#[test]
fn int8_linear_layers_keep_the_logits_near_fp32_in_every_family() {
    // `--quantize int8`: the encoder layers' linear maps in fbgemm's dynamic
    // int8 (fp32 activations around them; DeBERTa's relative-position
    // projections stay fp32).
    for family in [
        "tiny-bert",
        "tiny-distilbert",
        "tiny-deberta-v3",
        "tiny-deberta-options",
        "tiny-modernbert",
    ] {
        let d = support::fixture(&format!("golden/{family}"));
        let (_, g) = golden(&d);
        let mut lm = LoadedModel::pretrained(&d, &labels(28), 0.1, 64, Device::Cpu).unwrap();
        lm.model.quantize_int8().unwrap();
        let (ids, mask) = (&g["batch_all.input_ids"], &g["batch_all.attention_mask"]);
        let logits = tch::no_grad(|| lm.model.forward_t(ids, mask, false));
        let fp32 = &g["batch_all.logits"];
        let d = max_abs(&logits, fp32);
        // Per-tensor int8 keeps a few percent of the logits' range.
        let range = fp32.abs().max().double_value(&[]);
        assert!(
            d < 0.06 * range,
            "{family}: int8 logits differ from fp32 by {d:e} of {range}"
        );
        assert!(
            d > 0.0,
            "{family}: fp32's logits exactly, so not computed in int8"
        );
    }
}
