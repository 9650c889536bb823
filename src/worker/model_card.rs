//! The model card (`README.md`) written into a trained model's directory, as
//! the Hugging Face Hub reads it: YAML front matter (`base_model`,
//! `datasets`, `license`, `library_name: transformers`, `pipeline_tag:
//! text-classification`, and the test results as `model-index`), then the
//! recipe, the per-label table and the data fingerprint. `hf upload REPO DIR`
//! then publishes a complete model page.
//!
//! The front matter is serialised from a value, never pasted together, so a
//! label or path with YAML's special characters cannot break it.

use crate::jobdir::metrics::{Evaluation, RunMetrics};
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::path::Path;

/// The file's name in the model directory.
pub const FILE: &str = "README.md";

/// Licenses of the base models the README names, for when the base model's
/// own card is not at hand (a local copy without README.md).
const KNOWN_LICENSES: &[(&str, &str)] = &[
    ("bert-base-uncased", "apache-2.0"),
    ("bert-base-cased", "apache-2.0"),
    ("google-bert/", "apache-2.0"),
    ("roberta-", "mit"),
    ("FacebookAI/", "mit"),
    ("xlm-roberta-", "mit"),
    ("distilbert", "apache-2.0"),
    ("google/electra-", "apache-2.0"),
    ("microsoft/deberta-v3-", "mit"),
    ("answerdotai/ModernBERT-", "apache-2.0"),
    ("sentence-transformers/all-MiniLM-L6-v2", "apache-2.0"),
];

/// The GoEmotions dataset's id on the Hub.
const GOEMOTIONS_HUB_ID: &str = "google-research-datasets/go_emotions";

/// The base model's license: its own card's `license:` when `base_dir` has
/// one, else the table above.
pub fn base_license(base_model: &str, base_dir: Option<&Path>) -> Option<String> {
    let from_card = base_dir
        .and_then(|d| std::fs::read_to_string(d.join(FILE)).ok())
        .and_then(|text| front_matter(&text))
        .and_then(|v| v.get("license").and_then(Value::as_str).map(str::to_string));
    from_card.or_else(|| {
        KNOWN_LICENSES
            .iter()
            .find(|(prefix, _)| base_model.starts_with(prefix))
            .map(|(_, l)| l.to_string())
    })
}

/// The YAML front matter of a card, as JSON values.
pub fn front_matter(card: &str) -> Option<Value> {
    let rest = card.strip_prefix("---\n")?;
    let end = rest.find("\n---")?;
    serde_yaml_ng::from_str(&rest[..end]).ok()
}

/// Whether `name` is a Hub id (`owner/name` or a legacy bare name) rather
/// than a path on this machine: only an id belongs in `base_model`.
fn is_hub_id(name: &str) -> bool {
    !name.starts_with(['/', '.', '~']) && name.split('/').count() <= 2 && !Path::new(name).exists()
}

/// The card for the run in `m`, whose base model's license is `license`.
pub fn render(m: &RunMetrics, license: Option<&str>) -> String {
    let mut out = String::from("---\n");
    out.push_str(&serde_yaml_ng::to_string(&card_data(m, license)).expect("YAML of JSON values"));
    out.push_str("---\n\n");
    body(&mut out, m, license);
    out
}

fn is_goemotions(m: &RunMetrics) -> bool {
    m.data.as_ref().is_none_or(|d| d.format == "goemotions")
}

fn single_label(m: &RunMetrics) -> bool {
    m.data.as_ref().is_some_and(|d| d.task == "single_label")
}

fn name(m: &RunMetrics) -> String {
    match (&m.experiment, m.task) {
        (Some(e), Some(t)) => format!("{e}-task{t}"),
        (Some(e), None) => e.clone(),
        _ => "hecjob-classifier".to_string(),
    }
}

/// The front matter: the Hub's model card metadata.
fn card_data(m: &RunMetrics, license: Option<&str>) -> Value {
    let mut data = serde_json::Map::new();
    if is_hub_id(&m.model) {
        data.insert("base_model".into(), json!(m.model));
    }
    if let Some(l) = license {
        data.insert("license".into(), json!(l));
    }
    if is_goemotions(m) {
        data.insert("datasets".into(), json!([GOEMOTIONS_HUB_ID]));
    }
    data.insert("library_name".into(), json!("transformers"));
    data.insert("pipeline_tag".into(), json!("text-classification"));
    let kind = if single_label(m) {
        "single-label-classification"
    } else {
        "multi-label-classification"
    };
    data.insert(
        "tags".into(),
        json!(["hecjob", "text-classification", kind]),
    );
    if let Some(test) = &m.test {
        data.insert("metrics".into(), json!(["f1", "precision", "recall"]));
        data.insert("model-index".into(), model_index(m, test));
    }
    Value::Object(data)
}

fn model_index(m: &RunMetrics, test: &Evaluation) -> Value {
    let threshold = if single_label(m) {
        "argmax".to_string()
    } else {
        format!(
            "threshold {}",
            test.per_label.first().map_or(0.3, |l| l.threshold)
        )
    };
    let mut metrics = vec![
        json!({"type": "f1", "value": test.macro_avg.f1, "name": format!("Macro F1 ({threshold})")}),
        json!({"type": "precision", "value": test.macro_avg.precision, "name": "Macro precision"}),
        json!({"type": "recall", "value": test.macro_avg.recall, "name": "Macro recall"}),
    ];
    if let Some(micro) = &test.micro_avg {
        metrics.push(json!({"type": "f1", "value": micro.f1, "name": "Micro F1"}));
    }
    if let Some(acc) = test.accuracy {
        metrics.push(json!({"type": "accuracy", "value": acc, "name": "Accuracy"}));
    }
    let dataset = if is_goemotions(m) {
        json!({"name": "GoEmotions", "type": GOEMOTIONS_HUB_ID, "split": "test"})
    } else {
        json!({"name": "own data", "type": "custom", "split": "test"})
    };
    json!([{
        "name": name(m),
        "results": [{
            "task": {"type": "text-classification", "name": "Text classification"},
            "dataset": dataset,
            "metrics": metrics,
        }]
    }])
}

fn body(out: &mut String, m: &RunMetrics, license: Option<&str>) {
    let task = if single_label(m) {
        "single-label"
    } else {
        "multi-label"
    };
    let _ = writeln!(out, "# {}\n", name(m));
    let base = if is_hub_id(&m.model) {
        format!("[{0}](https://huggingface.co/{0})", m.model)
    } else {
        format!("`{}` (a local model)", m.model)
    };
    let _ = writeln!(
        out,
        "A {task} text classifier over {} labels, fine-tuned from {base} by hecjob {}.\n",
        m.labels.len(),
        m.hecjob_version
    );
    if license.is_none() {
        out.push_str("The base model's license is not known here: add `license:` above before publishing.\n\n");
    }
    usage(out, m);
    recipe(out, m);
    if let Some(test) = &m.test {
        results(out, test);
    }
    data(out, m);
}

fn usage(out: &mut String, m: &RunMetrics) {
    let (activation, pick) = if single_label(m) {
        ("softmax", "the top label")
    } else {
        (
            "sigmoid",
            "every label whose probability is at least its threshold",
        )
    };
    let _ = writeln!(
        out,
        "## Use\n\n```python\nfrom transformers import pipeline\n\n\
         classify = pipeline(\"text-classification\", model=\"THIS_DIRECTORY_OR_REPO\", \
         top_k=None, function_to_apply=\"{activation}\")\n\
         print(classify(\"I love this so much!\"))\n```\n\n\
         Predicted labels are {pick} (`hecjob.json` in this directory holds the thresholds; \
         `hecjob predict` applies them).\n"
    );
}

fn recipe(out: &mut String, m: &RunMetrics) {
    out.push_str("## Training recipe\n\n| setting | value |\n|---|---|\n");
    for (k, v) in &m.params {
        let v = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let _ = writeln!(out, "| {k} | {} |", cell(&v));
    }
    if let Some(best) = m.best_epoch {
        let _ = writeln!(out, "| best epoch (dev macro F1) | {best} |");
    }
    let _ = writeln!(out, "| device | {} |", cell(&m.device));
    let _ = writeln!(out, "| training time | {:.0} s |\n", m.total_seconds);
}

fn results(out: &mut String, test: &Evaluation) {
    let _ = writeln!(
        out,
        "## Results on test ({} examples)\n\n| label | precision | recall | F1 | support |\n|---|---|---|---|---|",
        test.examples
    );
    for l in &test.per_label {
        let _ = writeln!(
            out,
            "| {} | {:.3} | {:.3} | {:.3} | {} |",
            cell(&l.label),
            l.precision,
            l.recall,
            l.f1,
            l.support
        );
    }
    let a = &test.macro_avg;
    let _ = writeln!(
        out,
        "| **macro average** | {:.3} | {:.3} | {:.3} | |\n",
        a.precision, a.recall, a.f1
    );
}

fn data(out: &mut String, m: &RunMetrics) {
    let Some(d) = &m.data else {
        return;
    };
    let _ = writeln!(
        out,
        "## Data\n\nFormat `{}`, task `{}`, {} labels ({}).\n\n| split | file | sha256 | bytes |\n|---|---|---|---|",
        d.format,
        d.task,
        d.labels.len(),
        d.label_source
    );
    for f in &d.files {
        let file = Path::new(&f.path)
            .file_name()
            .map_or(f.path.clone(), |n| n.to_string_lossy().to_string());
        let _ = writeln!(
            out,
            "| {} | {} | `{}` | {} |",
            f.split,
            cell(&file),
            f.sha256,
            f.bytes
        );
    }
    out.push('\n');
}

/// A Markdown table cell: `|` escaped, one line.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobdir::metrics::{LabelScore, Prf};

    fn metrics(model: &str, labels: &[&str]) -> RunMetrics {
        let mut m: RunMetrics = serde_json::from_value(json!({
            "schema_version": 1, "hecjob_version": "0.5.0", "status": "finished",
            "params": {}, "experiment": null, "task": null, "best_epoch": null,
            "test": null, "test_tuned": null, "save_seconds": null, "message": null,
            "model": model, "device": "cpu", "labels": labels, "epochs": [],
            "loss_log": [], "memory": serde_json::to_value(crate::jobdir::metrics::MemoryRecord::default()).unwrap(), "total_seconds": 12.0
        }))
        .unwrap();
        m.experiment = Some("emo: \"quoted\" # not a comment".into());
        m.params.insert("learning_rate".into(), json!(3e-5));
        let per_label = labels
            .iter()
            .map(|l| LabelScore {
                label: l.to_string(),
                precision: 0.5,
                recall: 0.25,
                f1: 1.0 / 3.0,
                support: 7,
                threshold: 0.3,
            })
            .collect();
        m.test = Some(Evaluation {
            per_label,
            macro_avg: Prf {
                precision: 0.5,
                recall: 0.25,
                f1: 1.0 / 3.0,
            },
            examples: 10,
            micro_avg: None,
            accuracy: None,
            confusion: None,
        });
        m
    }

    #[test]
    fn the_front_matter_names_the_hub_base_model_its_license_and_the_results() {
        let m = metrics("microsoft/deberta-v3-base", &["joy", "a|b"]);
        let license = base_license(&m.model, None);
        assert_eq!(license.as_deref(), Some("mit"));
        let card = render(&m, license.as_deref());
        let front = front_matter(&card).unwrap();
        assert_eq!(front["base_model"], "microsoft/deberta-v3-base");
        assert_eq!(front["license"], "mit");
        assert_eq!(front["pipeline_tag"], "text-classification");
        assert_eq!(front["library_name"], "transformers");
        let result = &front["model-index"][0]["results"][0];
        assert_eq!(result["metrics"][0]["value"], 1.0 / 3.0);
        assert_eq!(result["metrics"][0]["name"], "Macro F1 (threshold 0.3)");
        // A name with YAML's special characters survives as it was.
        assert_eq!(
            front["model-index"][0]["name"],
            "emo: \"quoted\" # not a comment"
        );
        assert!(
            card.contains("| a\\|b | 0.500 | 0.250 | 0.333 | 7 |"),
            "{card}"
        );
        assert!(!card.contains("add `license:`"));
    }

    #[test]
    fn a_local_base_model_gets_no_base_model_id_and_its_card_s_license() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(FILE),
            "---\nlicense: cc-by-4.0\n---\n# base\n",
        )
        .unwrap();
        let path = dir.path().display().to_string();
        let m = metrics(&path, &["joy"]);
        let license = base_license(&m.model, Some(dir.path()));
        assert_eq!(license.as_deref(), Some("cc-by-4.0"));
        let front = front_matter(&render(&m, None)).unwrap();
        assert!(front.get("base_model").is_none(), "{front}");
        assert!(front.get("license").is_none());
        assert!(render(&m, None).contains("add `license:`"));
    }
}
