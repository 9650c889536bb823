//! `hecjob predict MODEL --input FILE… --output OUT` through the binary, with
//! the tiny BERT (tests/fixtures/golden/tiny-bert) trained a few steps on real
//! GoEmotions lines: the same labels as the text interface, input order kept
//! though batches are sorted by length, a SIGKILLed run resumed byte for
//! byte, and the errors a user meets, whole.

use crate::support;
use crate::support::Hecjob;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The trained model and the GoEmotions copy it was trained on, made once
/// for every test here (None, with SKIPPED printed, without the data).
fn model() -> Option<&'static (PathBuf, PathBuf)> {
    static MODEL: OnceLock<Option<(PathBuf, PathBuf)>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            // Kept for the life of the test process.
            let dir = tempfile::tempdir().unwrap().keep();
            let data = dir.join("go");
            std::fs::create_dir_all(&data).unwrap();
            support::small_goemotions(&data, 320, 120, 120)?;
            let model = dir.join("model");
            Hecjob::new()
                .arg("train")
                .args(["train.tsv", "dev.tsv", "test.tsv", "emotions.txt"].map(|f| data.join(f)))
                .arg(&model)
                .arg("--transformer-model")
                .arg(support::fixture("golden/tiny-bert"))
                .args(["--epochs", "1", "--max-steps", "12", "--max-length", "32"])
                .args(["--learning-rate", "3e-3", "--batch-size", "16"])
                .args(["--tune-thresholds"])
                .run()
                .success();
            Some((model, data))
        })
        .as_ref()
}

/// The first `n` texts of a GoEmotions split (the full data: `model` has
/// checked it is there).
fn texts(split: &str, n: usize) -> Vec<String> {
    let full = support::goemotions_dir()
        .unwrap()
        .join(format!("{split}.tsv"));
    std::fs::read_to_string(full)
        .unwrap()
        .lines()
        .take(n)
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect()
}

fn csv_of(rows: &[(String, String)]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["id", "body"]).unwrap();
    for (id, text) in rows {
        w.write_record([id, text]).unwrap();
    }
    String::from_utf8(w.into_inner().unwrap()).unwrap()
}

fn jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The text interface's labels (most probable first) and their probabilities.
fn cli_labels(model: &Path, texts: &[String]) -> Vec<Vec<(String, f32)>> {
    let out = Hecjob::new()
        .arg("predict")
        .arg(model)
        .arg("--json")
        .arg("--")
        .args(texts)
        .run()
        .success();
    let v: Value = serde_json::from_str(&out.stdout()).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|row| {
            row["labels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| {
                    let p = l["probability"].as_f64().unwrap() as f32;
                    (l["label"].as_str().unwrap().to_string(), p)
                })
                .collect()
        })
        .collect()
}

/// A CSV (text in `body`, ids in `id`) and a JSONL file of the same texts give
/// the labels the command line gives them, in JSONL and in CSV.
#[test]
fn files_get_the_labels_the_command_line_gives() {
    let Some((model, _)) = model() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let texts = texts("test", 40);
    let rows: Vec<(String, String)> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| (format!("c{i}"), t.clone()))
        .collect();
    let csv_in = tmp.path().join("in.csv");
    std::fs::write(&csv_in, csv_of(&rows)).unwrap();
    let jsonl_in = tmp.path().join("in.jsonl");
    let lines: String = texts
        .iter()
        .map(|t| serde_json::json!({"text": t}).to_string() + "\n")
        .collect();
    std::fs::write(&jsonl_in, lines).unwrap();
    let expected = cli_labels(model, &texts);
    assert!(
        expected.iter().any(|l| !l.is_empty()),
        "the tiny model predicts some label: {expected:?}"
    );

    let out = tmp.path().join("from-csv.jsonl");
    Hecjob::new()
        .arg("predict")
        .arg(model)
        .arg("--input")
        .arg(&csv_in)
        .arg("--output")
        .arg(&out)
        .args([
            "--text-column",
            "body",
            "--id-column",
            "id",
            "--probabilities",
        ])
        .run()
        .success()
        .stdout_contains("predicted 40 rows in ");
    let got = jsonl(&out);
    assert_eq!(got.len(), 40);
    for (i, (row, want)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(row["id"], format!("c{i}"), "{row}");
        let labels: Vec<&str> = row["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap())
            .collect();
        let want_labels: Vec<&str> = want.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(labels, want_labels, "row {i}");
        for (label, p) in want {
            assert_eq!(
                row["probabilities"][label].as_f64().unwrap() as f32,
                *p,
                "row {i} {label}"
            );
        }
        assert_eq!(row["probabilities"].as_object().unwrap().len(), 28);
    }

    let out = tmp.path().join("from-jsonl.csv");
    Hecjob::new()
        .arg("predict")
        .arg(model)
        .arg("--input")
        .arg(&jsonl_in)
        .arg("--output")
        .arg(&out)
        .args(["--format", "csv"])
        .run()
        .success();
    let text = std::fs::read_to_string(&out).unwrap();
    let mut r = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(r.headers().unwrap(), vec!["id", "labels"]);
    let got: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(got.len(), 40);
    for (i, (row, want)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(&row[0], format!("{}:{}", jsonl_in.display(), i + 1));
        let want: Vec<&str> = want.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(row[1], want.join("|"), "row {i}");
    }
}

/// Texts whose lengths zig-zag, predicted two at a time (so batches are
/// sorted by length, far from input order), come back in input order, each
/// with its own text's probabilities: those of the same text predicted alone.
#[test]
fn rows_come_back_in_input_order_though_batches_are_length_sorted() {
    let Some((model, _)) = model() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut pool = texts("dev", 200);
    pool.sort_by_key(String::len);
    // Longest, shortest, second longest, second shortest, …
    let mut zigzag = Vec::new();
    let (mut lo, mut hi) = (0, pool.len() - 1);
    while zigzag.len() < 30 {
        zigzag.push(pool[hi].clone());
        zigzag.push(pool[lo].clone());
        hi -= 1;
        lo += 1;
    }
    let input = tmp.path().join("zigzag.txt");
    std::fs::write(&input, zigzag.join("\n") + "\n").unwrap();
    let predict = |out: &Path, extra: &[&str]| {
        Hecjob::new()
            .arg("predict")
            .arg(model)
            .arg("--input")
            .arg(&input)
            .arg("--output")
            .arg(out)
            .arg("--probabilities")
            .args(extra)
            .run()
            .success();
        jsonl(out)
    };
    // fp32: padding changes bf16's results in more than the last digits.
    let sorted = predict(
        &tmp.path().join("sorted.jsonl"),
        &["--batch-size", "2", "--precision", "fp32"],
    );
    let alone = predict(
        &tmp.path().join("alone.jsonl"),
        &["--window", "1", "--precision", "fp32"],
    );
    assert_eq!(sorted.len(), 30);
    let probs = |row: &Value| -> Vec<f64> {
        row["probabilities"]
            .as_object()
            .unwrap()
            .values()
            .map(|p| p.as_f64().unwrap())
            .collect()
    };
    let distance = |a: &[f64], b: &[f64]| -> f64 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max)
    };
    for (i, row) in sorted.iter().enumerate() {
        assert_eq!(row["id"], format!("{}:{}", input.display(), i + 1));
        let mine = distance(&probs(row), &probs(&alone[i]));
        // Padding changes a probability only in its last digits; another
        // text's probabilities are further off than that.
        assert!(mine < 1e-4, "row {i}: {mine}");
        let nearest_other = (0..alone.len())
            .filter(|&j| zigzag[j] != zigzag[i])
            .map(|j| distance(&probs(row), &probs(&alone[j])))
            .fold(f64::INFINITY, f64::min);
        assert!(
            nearest_other > mine,
            "row {i}: {mine} vs another text's {nearest_other}"
        );
    }
}

fn sidecar(out: &Path) -> PathBuf {
    PathBuf::from(format!("{}.progress", out.display()))
}

/// A run SIGKILLed after some windows (and with a half line added past its
/// last recorded append, as a kill mid-write leaves) resumed with --resume
/// writes the same bytes as an uninterrupted run; a second --resume is a no-op.
#[test]
fn a_killed_run_resumes_to_the_same_bytes() {
    let Some((model, _)) = model() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("corpus.txt");
    std::fs::write(&input, texts("train", 4000).join("\n") + "\n").unwrap();
    let args = |out: &Path| -> Vec<std::ffi::OsString> {
        let mut v: Vec<std::ffi::OsString> = vec!["predict".into(), model.into(), "--input".into()];
        v.push(input.clone().into());
        v.push("--output".into());
        v.push(out.into());
        for a in ["--probabilities", "--batch-size", "4", "--window", "100"] {
            v.push(a.into());
        }
        v
    };
    let straight = tmp.path().join("straight.jsonl");
    Hecjob::new().args(args(&straight)).run().success();

    let resumed = tmp.path().join("resumed.jsonl");
    let mut child = Hecjob::new()
        .args(args(&resumed))
        .command()
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let rows_done = |out: &Path| -> Option<(u64, bool)> {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(sidecar(out)).ok()?).ok()?;
        Some((v["rows_done"].as_u64()?, v["done"].as_bool()?))
    };
    let killed_at = loop {
        match rows_done(&resumed) {
            Some((n, false)) if n >= 200 => {
                child.kill().unwrap();
                child.wait().unwrap();
                break n;
            }
            Some((_, true)) => panic!("the run finished before it could be killed"),
            _ => std::thread::sleep(std::time::Duration::from_millis(5)),
        }
    };
    let (after_kill, done) = rows_done(&resumed).unwrap();
    assert!(
        !done && after_kill >= killed_at && after_kill < 4000,
        "{after_kill}"
    );
    // A write the kill cut short: bytes past the recorded length.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&resumed)
        .unwrap();
    std::io::Write::write_all(&mut f, b"{\"id\":\"half a li").unwrap();
    drop(f);

    Hecjob::new()
        .args(args(&resumed))
        .arg("--resume")
        .run()
        .success()
        .stdout_contains(&format!(
            "resuming {} after {after_kill} rows",
            resumed.display()
        ))
        .stdout_contains(&format!("predicted {} rows in ", 4000 - after_kill));
    assert!(
        std::fs::read(&straight).unwrap() == std::fs::read(&resumed).unwrap(),
        "the resumed output differs from the uninterrupted one"
    );
    assert_eq!(jsonl(&resumed).len(), 4000);
    assert_eq!(rows_done(&resumed), Some((4000, true)));

    Hecjob::new()
        .args(args(&resumed))
        .arg("--resume")
        .run()
        .success()
        .stdout_eq(&format!(
            "{}: already complete ({}); nothing to do\n",
            resumed.display(),
            sidecar(&resumed).display()
        ));
    assert!(std::fs::read(&straight).unwrap() == std::fs::read(&resumed).unwrap());
}

/// The errors, whole: a text column the file lacks (listing its columns), an
/// existing output without --resume, a --resume whose input changed.
#[test]
fn errors_name_the_column_the_flag_and_what_changed() {
    let Some((model, _)) = model() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.csv");
    std::fs::write(&input, "id,body\n1,so happy\n2,what a day\n").unwrap();
    let out = tmp.path().join("out.jsonl");
    let predict = |extra: &[&str]| {
        Hecjob::new()
            .arg("predict")
            .arg(model)
            .arg("--input")
            .arg(&input)
            .arg("--output")
            .arg(&out)
            .args(extra)
            .run()
    };
    predict(&[]).code(3).stderr_eq(&format!(
        "error: {}:1: no column `text` (--text-column); the header row's columns are id, body; \
         pass --text-column with the column to read\n",
        input.display()
    ));
    assert!(
        !out.exists(),
        "nothing is written before the columns are checked"
    );

    predict(&["--text-column", "body"]).success();
    predict(&["--text-column", "body"]).code(2).stderr_eq(&format!(
        "error: {} exists; pass --resume to continue the run that wrote it, or remove it (and {}) to start over\n",
        out.display(),
        sidecar(&out).display()
    ));

    // The same file named another way would change the ids (`FILE:LINE`).
    Hecjob::new()
        .current_dir(tmp.path())
        .arg("predict")
        .arg(model)
        .args(["--input", "in.csv", "--output"])
        .arg(&out)
        .args(["--text-column", "body", "--resume"])
        .run()
        .code(2)
        .stderr_eq(&format!(
            "error: --resume: --input is in.csv, but the run began with {}; resume with the same \
             inputs, model and options, or remove {} and {} to start over\n",
            input.display(),
            out.display(),
            sidecar(&out).display()
        ));

    std::fs::write(&input, "id,body\n1,so happy\n2,what a day\n3,and more\n").unwrap();
    let canonical = std::fs::canonicalize(&input).unwrap();
    predict(&["--text-column", "body", "--resume"]).code(2).stderr_eq(&format!(
        "error: --resume: {} changed since the run began (43 bytes now, 32 then); resume with the same \
         inputs, model and options, or remove {} and {} to start over\n",
        canonical.display(),
        out.display(),
        sidecar(&out).display()
    ));
    let txt = tmp.path().join("in.txt");
    std::fs::write(&txt, "hello\n").unwrap();
    Hecjob::new()
        .arg("predict")
        .arg(model)
        .arg("--input")
        .arg(&txt)
        .arg("--output")
        .arg(tmp.path().join("t.jsonl"))
        .args(["--text-column", "body"])
        .run()
        .code(2)
        .stderr_eq(&format!(
            "error: --text-column: {} is plain text (one text per line), which has no columns; \
             leave --text-column out, or pass --data-format csv, tsv or jsonl if it is a table\n",
            txt.display()
        ));
}

/// Flags of a CPU with native bf16 and of one without (Skylake's), given to
/// hecjob in place of /proc/cpuinfo so these tests do not depend on the host.
const BF16_CPU: &str = "fpu sse4_2 avx2 avx512f avx512_vnni avx512_bf16";
const PLAIN_CPU: &str = "fpu sse4_2 avx2 avx512f avx512bw";

/// Each row's label set and every label's probability (JSONL, --probabilities).
fn labelled(path: &Path) -> Vec<(Vec<String>, Vec<f64>)> {
    jsonl(path)
        .iter()
        .map(|row| {
            let labels = row["labels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l.as_str().unwrap().to_string())
                .collect();
            let probs = row["probabilities"]
                .as_object()
                .unwrap()
                .values()
                .map(|p| p.as_f64().unwrap())
                .collect();
            (labels, probs)
        })
        .collect()
}

/// bf16 and int8 run on the tiny model and agree with fp32 on 120 texts:
/// every probability within 0.02 (bf16) / 0.05 (int8) of fp32's, and a label
/// only one side predicts is always one whose fp32 probability is that close
/// to its threshold. (The tiny model, trained 12 steps, puts many
/// probabilities near their tuned thresholds, so how often whole label sets
/// agree is measured on a real model by bench/predict.py, not here.) The log
/// says what was chosen and why.
#[test]
fn bf16_and_int8_agree_with_fp32_on_a_small_input() {
    let Some((model, _)) = model() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.txt");
    std::fs::write(&input, texts("test", 120).join("\n") + "\n").unwrap();
    let run = |name: &str, flags: &[&str], log: &str| {
        let out = tmp.path().join(format!("{name}.jsonl"));
        Hecjob::new()
            .env("HECJOB_TEST_CPU_FLAGS", BF16_CPU)
            .arg("predict")
            .arg(model)
            .arg("--input")
            .arg(&input)
            .arg("--output")
            .arg(&out)
            .args(["--probabilities", "--batch-size", "16"])
            .args(flags)
            .run()
            .success()
            .stderr_contains(log);
        labelled(&out)
    };
    let fp32 = run(
        "fp32",
        &["--precision", "fp32"],
        "hecjob: predicting in fp32\n",
    );
    let bf16 = run(
        "auto",
        &[],
        "hecjob: CPU has avx512_bf16: predicting in bf16\n",
    );
    let int8 = run(
        "int8",
        &["--quantize", "int8"],
        "hecjob: predicting with int8 linear layers (dynamic quantization, fp32 activations)\n",
    );
    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(model.join("hecjob.json")).unwrap()).unwrap();
    let thresholds: Vec<f64> = meta["tuned_thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_f64().unwrap())
        .collect();
    let names: Vec<String> = std::fs::read_to_string(model.join("labels.txt"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    for (name, other, tol) in [("bf16", &bf16, 0.02), ("int8", &int8, 0.05)] {
        assert_eq!(other.len(), fp32.len());
        for (i, ((l32, p32), (l, p))) in fp32.iter().zip(other.iter()).enumerate() {
            let worst = p32
                .iter()
                .zip(p)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            assert!(
                worst <= tol,
                "{name} row {i}: a probability differs by {worst}"
            );
            // A label only one side predicts must be one within tol of its threshold.
            for label in l
                .iter()
                .filter(|x| !l32.contains(x))
                .chain(l32.iter().filter(|x| !l.contains(x)))
            {
                let j = names.iter().position(|n| n == label).unwrap();
                assert!(
                    (p32[j] - thresholds[j]).abs() <= tol,
                    "{name} row {i}: {label} (fp32 {} vs threshold {}) differs: {l:?} vs {l32:?}",
                    p32[j],
                    thresholds[j]
                );
            }
        }
    }
}

/// bf16 on a CPU without it is refused with the reason (`auto` says it picks
/// fp32); a --resume with another precision than the run began with is
/// refused, naming both.
#[test]
fn bf16_without_native_support_is_refused_and_precision_is_part_of_resume() {
    let Some((model, _)) = model() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.txt");
    std::fs::write(&input, texts("test", 10).join("\n") + "\n").unwrap();
    let out = tmp.path().join("out.jsonl");
    let predict = |cpu: &str| {
        Hecjob::new()
            .env("HECJOB_TEST_CPU_FLAGS", cpu)
            .arg("predict")
            .arg(model)
            .arg("--input")
            .arg(&input)
            .arg("--output")
            .arg(&out)
    };
    predict(PLAIN_CPU)
        .args(["--precision", "bf16"])
        .run()
        .code(2)
        .stderr_contains(
            "error: --precision bf16: this CPU has neither amx_bf16 nor avx512_bf16 in /proc/cpuinfo's \
             flags, so bf16 would be emulated (slower than fp32); pass --precision fp32 or auto (fp32 on \
             this CPU), or --quantize int8\n",
        );
    assert!(!out.exists());
    predict(PLAIN_CPU)
        .run()
        .success()
        .stderr_contains("hecjob: CPU has neither amx_bf16 nor avx512_bf16: predicting in fp32\n");
    predict(BF16_CPU)
        .arg("--resume")
        .run()
        .code(2)
        .stderr_contains(&format!(
        "error: --resume: --precision is bf16, but the run began with fp32; resume with the same \
             inputs, model and options, or remove {} and {} to start over\n",
        out.display(),
        sidecar(&out).display()
    ));
    predict(PLAIN_CPU)
        .args(["--quantize", "int8", "--resume"])
        .run()
        .code(2)
        .stderr_contains("error: --resume: --quantize is int8, but the run began with (none);");
}

/// The person's check at scale: a 200,000-line corpus (GoEmotions texts
/// repeated) SIGKILLed mid-run, then --resume'd, writes the bytes an
/// uninterrupted run writes. About 4 minutes on 2 cores (two 200,000-line
/// runs in the debug build): outside the fast set (.config/nextest.toml),
/// run by `make test` and CI.
#[test]
fn a_200k_line_corpus_killed_and_resumed_is_byte_identical() {
    let Some((model, _)) = model() else {
        return;
    };
    const LINES: usize = 200_000;
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("corpus.txt");
    let pool = texts("train", 5000);
    let corpus: String = (0..LINES)
        .map(|i| pool[i % pool.len()].clone() + "\n")
        .collect();
    std::fs::write(&input, corpus).unwrap();
    let args = |out: &Path| -> Vec<std::ffi::OsString> {
        let mut v: Vec<std::ffi::OsString> = vec!["predict".into(), model.into(), "--input".into()];
        v.push(input.clone().into());
        v.push("--output".into());
        v.push(out.into());
        for a in [
            "--precision",
            "fp32",
            "--window",
            "8192",
            "--batch-size",
            "128",
        ] {
            v.push(a.into());
        }
        v
    };
    let straight = tmp.path().join("straight.jsonl");
    Hecjob::new().args(args(&straight)).run().success();

    let resumed = tmp.path().join("resumed.jsonl");
    let mut child = Hecjob::new()
        .args(args(&resumed))
        .command()
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let rows_done = |out: &Path| -> Option<(u64, bool)> {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(sidecar(out)).ok()?).ok()?;
        Some((v["rows_done"].as_u64()?, v["done"].as_bool()?))
    };
    // Mid-run: past a third of the corpus, so a window is being predicted.
    let killed_at = loop {
        match rows_done(&resumed) {
            Some((n, false)) if n >= LINES as u64 / 3 => {
                // SIGKILL (std's kill), as the OOM killer or h_rt would.
                child.kill().unwrap();
                child.wait().unwrap();
                break n;
            }
            Some((_, true)) => panic!("the run finished before it could be killed"),
            _ => std::thread::sleep(std::time::Duration::from_millis(20)),
        }
    };
    assert!(killed_at < LINES as u64, "{killed_at}");
    Hecjob::new()
        .args(args(&resumed))
        .arg("--resume")
        .run()
        .success();
    assert!(
        std::fs::read(&straight).unwrap() == std::fs::read(&resumed).unwrap(),
        "the resumed output differs from the uninterrupted one"
    );
    assert_eq!(
        std::fs::read_to_string(&resumed).unwrap().lines().count(),
        LINES
    );
}

/// The predict stage's shards (`hecjob predict-shard K`, each opening its
/// first file at its first row as predict.json records it) and their merge
/// give, byte for byte, what the shards give reading every file from its
/// start (a predict.json written before the starts were), and what one
/// `hecjob predict` over the same files gives: a CSV whose quoted fields run
/// over lines at and beside shard boundaries, a JSONL with blank lines and a
/// text file with an empty line, in shards of 3 rows (6 shards).
#[test]
fn shards_that_seek_to_their_rows_give_the_one_shot_output() {
    let Some((model, _)) = model() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let corpus = tmp.path().join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    let files = [
        (
            "b.csv",
            "id,text\n1,I love this\n2,so sad\n3,\"a long\nquoted, \"\"text\"\"\"\n\
             4,\"crossing\n\nthe boundary\"\n5,ok then\n6,what a day\n7,\"thanks\nso much\"\n",
        ),
        (
            "c.jsonl",
            "{\"text\": \"so angry\"}\n\n{\"text\": \"fine\"}\n{\"text\": \"wow, really?\"}\n\
             {\"text\": \"meh\"}\n\n{\"text\": \"great news\"}\n",
        ),
        ("d.txt", "hello there\nterrible\n\nnot sure\nyay\nthe end"),
    ];
    for (name, text) in files {
        std::fs::write(corpus.join(name), text).unwrap();
    }
    let cfg = tmp.path().join("c.yaml");
    std::fs::write(
        &cfg,
        format!(
            "experiment:\n  name: label\ncluster:\n  storage_root: /tmp/hecjob-none\n\
             predict:\n  model: {}\n  inputs: [corpus/b.csv, corpus/c.jsonl, corpus/d.txt]\n  \
             shard_size: 3\n  batch_size: 1\n  probabilities: true\n  precision: fp32\n",
            model.display()
        ),
    )
    .unwrap();
    let jobs = tmp.path().join("jobs");
    Hecjob::new()
        .args(["render", "--out"])
        .arg(&jobs)
        .arg(&cfg)
        .run()
        .success();
    let plan = hecjob::jobdir::predict::PredictPlan::read(&jobs).unwrap();
    assert_eq!((plan.rows, plan.shards), (18, 6));
    let starts: Vec<usize> = plan.inputs.iter().map(|i| i.starts.len()).collect();
    assert_eq!(starts, [2, 1, 1]);
    let shards_and_merge = || {
        let _ = std::fs::remove_dir_all(jobs.join("predict"));
        for k in 1..=plan.shards {
            Hecjob::new()
                .args(["predict-shard", &k.to_string(), "--dir"])
                .arg(&jobs)
                .run()
                .success();
        }
        Hecjob::new()
            .args(["predict-merge", "--dir"])
            .arg(&jobs)
            .run()
            .success();
        std::fs::read_to_string(jobs.join("predict/predictions.jsonl")).unwrap()
    };
    let seeking = shards_and_merge();
    // predict.json as the version before the starts wrote it.
    let path = jobs.join("predict.json");
    let with_starts = std::fs::read_to_string(&path).unwrap();
    let mut old: Value = serde_json::from_str(&with_starts).unwrap();
    for input in old["inputs"].as_array_mut().unwrap() {
        input.as_object_mut().unwrap().remove("starts").unwrap();
    }
    std::fs::write(&path, serde_json::to_string_pretty(&old).unwrap()).unwrap();
    let from_the_start = shards_and_merge();
    assert_eq!(seeking, from_the_start);
    let one_shot = tmp.path().join("one.jsonl");
    let mut one = Hecjob::new().arg("predict").arg(model);
    for (name, _) in files {
        one = one.arg("--input").arg(corpus.join(name));
    }
    one.arg("--output")
        .arg(&one_shot)
        .args([
            "--probabilities",
            "--batch-size",
            "1",
            "--precision",
            "fp32",
        ])
        .run()
        .success();
    assert_eq!(seeking, std::fs::read_to_string(&one_shot).unwrap());
    let ids: Vec<String> = jsonl(&jobs.join("predict/predictions.jsonl"))
        .iter()
        .map(|r| {
            r["id"]
                .as_str()
                .unwrap()
                .replace(&corpus.display().to_string(), "")
        })
        .collect();
    assert_eq!(
        ids,
        [
            "/b.csv:2",
            "/b.csv:3",
            "/b.csv:4",
            "/b.csv:6",
            "/b.csv:9",
            "/b.csv:10",
            "/b.csv:11",
            "/c.jsonl:1",
            "/c.jsonl:3",
            "/c.jsonl:4",
            "/c.jsonl:5",
            "/c.jsonl:7",
            "/d.txt:1",
            "/d.txt:2",
            "/d.txt:3",
            "/d.txt:4",
            "/d.txt:5",
            "/d.txt:6",
        ]
    );
    // A shard reads only its rows: with b.csv's row 5 (line 9, shard 2's)
    // made bad at the same size, shards 1 and 3 read past it no more.
    std::fs::write(&path, with_starts).unwrap();
    let csv = corpus.join("b.csv");
    let bad = std::fs::read_to_string(&csv)
        .unwrap()
        .replace("5,ok then", "5,ok,then");
    std::fs::write(&csv, bad).unwrap();
    std::fs::remove_dir_all(jobs.join("predict")).unwrap();
    let shard = |k: &str| {
        Hecjob::new()
            .args(["predict-shard", k, "--dir"])
            .arg(&jobs)
            .run()
    };
    shard("1").success();
    shard("3").success();
    shard("2").code(3).stderr_contains(&format!(
        "{}:9: 3 fields where the header has 2",
        csv.display()
    ));
}
