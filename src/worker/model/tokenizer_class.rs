//! What `transformers` does to a tokenizer.json before using it, so hecjob's
//! ids are the ids `AutoTokenizer` gives for the same model directory.
//!
//! transformers 5 does not take a tokenizer.json whole when
//! `tokenizer_config.json` names a class with its own pipeline: it keeps the
//! file's vocabulary, post-processor, padding and truncation, and rebuilds the
//! normalizer and pre-tokenizer as the class defines them (for SentencePiece
//! classes, only a `Precompiled` charsmap survives from the file's
//! normalizer). A file whose own pipeline differs — a trailing space kept as
//! `▁`, an NFKC normalizer — then tokenizes differently in the two tools
//! unless hecjob applies the same rule. Classes not listed here (BERT's and
//! RoBERTa's rebuild what their files already say; `PreTrainedTokenizerFast`
//! and `TokenizersBackend` use the file as it is) are left alone.
//!
//! The rule is applied to the parsed JSON, so it is the same whatever version
//! of the tokenizers crate reads it; [`RULES_VERSION`] goes into the token
//! cache key, so ids cached under an older rule are not reused.

use serde_json::{json, Value};

/// Bumped whenever a rule here changes what ids a file gives.
pub const RULES_VERSION: u32 = 1;

/// The tokenizer.json `file` as `transformers` would run it for the class in
/// `tokenizer_config` (the parsed tokenizer_config.json, when there is one).
pub fn as_transformers_runs_it(mut file: Value, tokenizer_config: Option<&Value>) -> Value {
    let class = tokenizer_config
        .and_then(|c| c.get("tokenizer_class"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let flag = |key: &str, default: bool| {
        tokenizer_config
            .and_then(|c| c.get(key))
            .and_then(Value::as_bool)
            .unwrap_or(default)
    };
    if class == "XLMRobertaTokenizer" || class == "XLMRobertaTokenizerFast" {
        // XLMRobertaTokenizer.__init__: Unigram with unk id 3, the charsmap
        // only, then WhitespaceSplit + Metaspace.
        let scheme = if flag("add_prefix_space", true) {
            "always"
        } else {
            "never"
        };
        file["normalizer"] = precompiled_charsmap(&file).unwrap_or(Value::Null);
        file["pre_tokenizer"] = json!({
            "type": "Sequence",
            "pretokenizers": [
                {"type": "WhitespaceSplit"},
                {"type": "Metaspace", "replacement": "▁", "prepend_scheme": scheme, "split": true}
            ]
        });
        if file["model"]["type"] == "Unigram" {
            file["model"]["unk_id"] = json!(3);
        }
    }
    file
}

/// The file's `Precompiled` normalizer (SentencePiece's charsmap), alone or
/// inside a `Sequence`: the one part of the normalizer transformers keeps.
fn precompiled_charsmap(file: &Value) -> Option<Value> {
    let n = file.get("normalizer")?;
    let is_precompiled = |v: &Value| v.get("type").and_then(Value::as_str) == Some("Precompiled");
    if is_precompiled(n) {
        return Some(n.clone());
    }
    n.get("normalizers")?
        .as_array()?
        .iter()
        .find(|v| is_precompiled(v))
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xlmr_file(normalizer: Value) -> Value {
        json!({
            "normalizer": normalizer,
            "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true},
            "model": {"type": "Unigram", "unk_id": 7, "vocab": []}
        })
    }

    #[test]
    fn xlm_roberta_keeps_only_the_charsmap_and_splits_on_whitespace_first() {
        let charsmap = json!({"type": "Precompiled", "precompiled_charsmap": "AAAA"});
        let file = xlmr_file(json!({"type": "Sequence", "normalizers": [
            charsmap.clone(),
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}
        ]}));
        let config = json!({"tokenizer_class": "XLMRobertaTokenizer"});
        let out = as_transformers_runs_it(file, Some(&config));
        assert_eq!(out["normalizer"], charsmap);
        assert_eq!(
            out["pre_tokenizer"]["pretokenizers"][0]["type"],
            "WhitespaceSplit"
        );
        assert_eq!(
            out["pre_tokenizer"]["pretokenizers"][1]["prepend_scheme"],
            "always"
        );
        assert_eq!(out["model"]["unk_id"], 3);
    }

    #[test]
    fn xlm_roberta_without_a_charsmap_has_no_normalizer() {
        let file = xlmr_file(json!({"type": "NFKC"}));
        let config = json!({"tokenizer_class": "XLMRobertaTokenizer", "add_prefix_space": false});
        let out = as_transformers_runs_it(file, Some(&config));
        assert_eq!(out["normalizer"], Value::Null);
        assert_eq!(
            out["pre_tokenizer"]["pretokenizers"][1]["prepend_scheme"],
            "never"
        );
    }

    #[test]
    fn a_file_without_a_class_is_used_as_it_is() {
        let file = xlmr_file(json!({"type": "NFKC"}));
        assert_eq!(as_transformers_runs_it(file.clone(), None), file);
        let fast = json!({"tokenizer_class": "PreTrainedTokenizerFast"});
        assert_eq!(as_transformers_runs_it(file.clone(), Some(&fast)), file);
    }
}
