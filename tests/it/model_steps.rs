//! One training step and the tokenizer of every classifier fixture against
//! transformers: the goldens `train_step.json` and `dev_tokens.json` that
//! tests/golden/make_step_goldens.py writes beside each fixture's other goldens.
//! Every fixture directory holding them is checked, so a new family's fixture
//! is covered as soon as its goldens are generated.

use crate::support;

use hecjob::worker::model::saved::LoadedModel;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use tch::{Device, Tensor};

const TOL: f64 = 1e-4;

/// The fixture directories with `file`, at least `min` of them (a fixture
/// losing its goldens must not silently shrink what is checked).
fn fixtures_with(file: &str, min: usize) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(support::fixture("golden"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|d| d.join(file).is_file())
        .collect();
    dirs.sort();
    assert!(
        dirs.len() >= min,
        "only {} fixtures have {file}: {dirs:?}",
        dirs.len()
    );
    dirs
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn labels(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("l{i}")).collect()
}

/// Loss and gradient norms (global and per tensor, by transformers' names) of
/// one step with dropout off, on the fixture's padded `batch_all` batch.
fn check_train_step(dir: &Path) -> f64 {
    let golden = read_json(&dir.join("train_step.json"));
    let batches: std::collections::HashMap<String, Tensor> =
        Tensor::read_safetensors(dir.join("golden.safetensors"))
            .unwrap()
            .into_iter()
            .collect();
    let ids = &batches["batch_all.input_ids"];
    let mask = &batches["batch_all.attention_mask"];
    let rows: Vec<Vec<f32>> = golden["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect()
        })
        .collect();
    let n_labels = rows[0].len();
    let targets = Tensor::from_slice(&rows.concat()).view([rows.len() as i64, n_labels as i64]);
    let lm = LoadedModel::pretrained(dir, &labels(n_labels), 0.0, 16, Device::Cpu).unwrap();
    // train=false: no dropout anywhere, gradients still flow (transformers'
    // model.eval() with autograd on, as the golden was made).
    let logits = lm.model.forward_t(ids, mask, false);
    let loss = logits.binary_cross_entropy_with_logits::<Tensor>(
        &targets,
        None,
        None,
        tch::Reduction::Mean,
    );
    loss.backward();
    let name = dir.file_name().unwrap().to_string_lossy();
    let d_loss = (loss.double_value(&[]) - golden["loss"].as_f64().unwrap()).abs();
    assert!(d_loss <= TOL, "{name}: loss differs by {d_loss:e}");

    let ours = lm.vs.variables();
    let theirs = golden["grad_norms"].as_object().unwrap();
    let mut missing: Vec<&String> = theirs.keys().filter(|n| !ours.contains_key(*n)).collect();
    missing.sort();
    assert!(
        missing.is_empty(),
        "{name}: transformers has gradients for tensors hecjob lacks: {missing:?}"
    );
    let mut worst = d_loss;
    let mut total = 0f64;
    for (n, v) in &ours {
        let g = v.grad();
        let norm = if g.defined() {
            g.norm().double_value(&[])
        } else {
            0.0
        };
        total += norm * norm;
        let want = theirs.get(n).and_then(|w| w.as_f64()).unwrap_or_else(|| {
            panic!("{name}: hecjob's variable {n} has no gradient in transformers")
        });
        let d = (norm - want).abs();
        assert!(
            d <= TOL,
            "{name}: gradient norm of {n} is {norm}, transformers {want}"
        );
        worst = worst.max(d);
    }
    let d_total = (total.sqrt() - golden["grad_norm"].as_f64().unwrap()).abs();
    assert!(
        d_total <= TOL,
        "{name}: global gradient norm differs by {d_total:e}"
    );
    eprintln!(
        "{name}: one step within {:e} of transformers",
        worst.max(d_total)
    );
    worst
}

#[test]
fn one_training_step_matches_transformers_for_every_family() {
    for dir in fixtures_with("train_step.json", 5) {
        check_train_step(&dir);
    }
}

#[test]
fn a_wrong_gradient_is_caught_by_the_step_check() {
    // The check must be able to fail: the same fixture with one tensor scaled
    // gives a different loss or gradient.
    let src = support::fixture("golden/tiny-bert");
    let tmp = tempfile::tempdir().unwrap();
    for f in std::fs::read_dir(&src).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, tmp.path().join(f.file_name().unwrap())).unwrap();
    }
    let scaled: Vec<(String, Tensor)> = Tensor::read_safetensors(src.join("model.safetensors"))
        .unwrap()
        .into_iter()
        .map(|(n, t)| {
            let t = if n.ends_with("layer.1.attention.self.query.weight") {
                t * 1.01
            } else {
                t
            };
            (n, t)
        })
        .collect();
    Tensor::write_safetensors(&scaled, tmp.path().join("model.safetensors")).unwrap();
    let failed = std::panic::catch_unwind(|| check_train_step(tmp.path())).is_err();
    assert!(failed, "a perturbed weight passed the training-step check");
}

/// sha256 of one row as make_step_goldens.py hashes it: ids joined by ','.
fn row_line(ids: &[i64]) -> String {
    let mut line = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    line.push('\n');
    line
}

#[test]
fn tokenization_matches_transformers_on_every_goemotions_dev_text() {
    let Some(data) = support::goemotions_dir() else {
        return;
    };
    let examples = hecjob::data::tsv::read_split(&data.join("dev.tsv"), 28).unwrap();
    let texts: Vec<&str> = examples.iter().map(|e| e.text.as_str()).collect();
    for dir in fixtures_with("dev_tokens.json", 5) {
        let golden = read_json(&dir.join("dev_tokens.json"));
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let max_length = golden["max_length"].as_u64().unwrap() as usize;
        let lm = LoadedModel::pretrained(&dir, &labels(28), 0.0, max_length, Device::Cpu).unwrap();
        let (rows, cut) = lm.encoder.encode_all_counting_cut(&texts).unwrap();
        assert_eq!(rows.len(), golden["texts"].as_u64().unwrap() as usize);
        let digests = golden["row_digests"].as_array().unwrap();
        let mut whole = Sha256::new();
        for (i, row) in rows.iter().enumerate() {
            let line = row_line(row);
            whole.update(line.as_bytes());
            let digest = format!("{:x}", Sha256::digest(line.as_bytes()));
            assert_eq!(
                &digest[..8],
                digests[i].as_str().unwrap(),
                "{name}: dev text {} ({:?}) tokenizes differently from transformers: ours {row:?}",
                i + 1,
                texts[i]
            );
        }
        assert_eq!(
            format!("{:x}", whole.finalize()),
            golden["sha256"].as_str().unwrap(),
            "{name}"
        );
        // The attention mask is ones over each row: every id is a real token.
        assert!(rows.iter().all(|r| r.len() <= max_length));
        let truncated = rows.iter().filter(|r| r.len() == max_length).count();
        assert_eq!(
            truncated as u64,
            golden["truncated"].as_u64().unwrap(),
            "{name}"
        );
        eprintln!(
            "{name}: {} dev texts identical ({cut} cut at {max_length})",
            rows.len()
        );
    }
}
