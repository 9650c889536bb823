//! The GPU's memory-sized batches (`hecjob predict --cuda`, `--batch-size
//! auto`: worker::predict::gpu_batches) run on the CPU, where the same code
//! cuts the batches: every row comes back, in input order, with the
//! probabilities fixed-size batches give.

use crate::support;
use hecjob::worker::model::saved::LoadedModel;
use hecjob::worker::predict::gpu_batches::{Batching, Footprint};
use hecjob::worker::predict::precision::Compute;
use hecjob::worker::predict::reader::{Columns, Input, InputFormat};
use hecjob::worker::predict::writer::OutputFormat;
use hecjob::worker::predict::{run, Job};
use std::path::Path;
use tch::Device;

/// Row `i`'s text: 1 to 60 words, so batches of one window differ in length.
fn text(i: usize) -> String {
    let words = [
        "calm", "glad", "odd", "sorry", "wow", "thanks", "ugh", "fine",
    ];
    (0..(i * 37) % 60 + 1)
        .map(|w| words[(i + w) % words.len()])
        .collect::<Vec<_>>()
        .join(" ")
}

fn job(input: &Path, output: &Path, batching: Batching) -> Job {
    Job {
        inputs: vec![Input {
            path: input.to_path_buf(),
            format: InputFormat::Text,
            from: None,
        }],
        columns: Columns {
            text: vec!["text".into()],
            join: " ".into(),
            id: None,
        },
        output: output.to_path_buf(),
        format: OutputFormat::Jsonl,
        probabilities: true,
        threshold: None,
        top_k: None,
        batching,
        window: 128,
        resume: false,
        compute: Compute::Fp32,
        log: Vec::new(),
        rows: None,
    }
}

fn rows(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn memory_sized_batches_give_what_fixed_batches_give() {
    let model = support::fixture("golden/tiny-bert");
    let labels: Vec<String> = (0..28).map(|i| format!("label{i}")).collect();
    let lm = LoadedModel::pretrained(&model, &labels, 0.1, 64, Device::Cpu).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.txt");
    let n = 300;
    let lines: Vec<String> = (0..n).map(text).collect();
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();

    // A budget that holds 40 rows of 8 tokens but 3 of the longest: the
    // length-sorted window is cut into batches of very different sizes.
    let footprint = Footprint::of(&lm.config, Compute::Fp32.bytes());
    let budget = footprint.batch_bytes(40, 8);
    let tokens = lm
        .encoder
        .encode_all(&lines[..128].iter().map(String::as_str).collect::<Vec<_>>())
        .unwrap();
    let rows_of = Batching {
        max_rows: 64,
        memory: None,
    };
    let by_memory = Batching {
        max_rows: 128,
        memory: Some(budget),
    };
    let order = hecjob::worker::train::batches::by_length(&tokens);
    let sizes: Vec<usize> = by_memory
        .cut(&order, |i| tokens[i].len(), footprint)
        .iter()
        .map(|b| b.len())
        .collect();
    assert!(
        sizes.iter().max() > Some(&20) && sizes.iter().min() < Some(&6),
        "the budget should bind: {sizes:?}"
    );

    let fixed = tmp.path().join("fixed.jsonl");
    let sized = tmp.path().join("sized.jsonl");
    run(&job(&input, &fixed, rows_of), &lm, &model, Device::Cpu).unwrap();
    run(&job(&input, &sized, by_memory), &lm, &model, Device::Cpu).unwrap();
    let (a, b) = (rows(&fixed), rows(&sized));
    assert_eq!(a.len(), n);
    assert_eq!(b.len(), n);
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert_eq!(x["id"], y["id"], "row {i}");
        assert_eq!(x["id"], format!("{}:{}", input.display(), i + 1), "row {i}");
        let p = |v: &serde_json::Value| -> Vec<f64> {
            let probs = v["probabilities"].as_object().unwrap();
            labels.iter().map(|l| probs[l].as_f64().unwrap()).collect()
        };
        for (u, v) in p(x).iter().zip(p(y)) {
            assert!((u - v).abs() < 1e-5, "row {i}: {u} vs {v}");
        }
    }
}
