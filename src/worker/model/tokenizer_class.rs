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
    if class == "DebertaV2Tokenizer" || class == "DebertaV2TokenizerFast" {
        return as_deberta_v2(file, tokenizer_config, &flag);
    }
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

/// DebertaV2Tokenizer.__init__: the normalizer (lower-casing when asked; the
/// charsmap, a right strip and runs of spaces made one, or without a charsmap
/// whitespace runs made one space, NFC and a right strip), Metaspace (after
/// punctuation splitting when asked), `[CLS] … [SEP]`, and the unknown
/// token's id found as transformers finds it.
fn as_deberta_v2(
    mut file: Value,
    config: Option<&Value>,
    flag: &dyn Fn(&str, bool) -> bool,
) -> Value {
    let token = |key: &str, default: &str| {
        config
            .and_then(|c| c.get(key))
            .and_then(Value::as_str)
            .unwrap_or(default)
            .to_string()
    };
    let replace =
        |pattern: &str| json!({"type": "Replace", "pattern": {"Regex": pattern}, "content": " "});
    let strip_right = json!({"type": "Strip", "strip_left": false, "strip_right": true});
    let mut normalizers = Vec::new();
    if flag("do_lower_case", false) {
        normalizers.push(json!({"type": "Lowercase"}));
    }
    match precompiled_charsmap(&file) {
        Some(charsmap) => normalizers.extend([charsmap, strip_right, replace(" {2,}")]),
        None => normalizers.extend([
            replace(r"\s{2,}|[\n\r\t]"),
            json!({"type": "NFC"}),
            strip_right,
        ]),
    }
    file["normalizer"] = json!({"type": "Sequence", "normalizers": normalizers});
    let mut pre = Vec::new();
    if flag("split_by_punct", false) {
        pre.push(json!({"type": "Punctuation", "behavior": "Isolated"}));
    }
    let scheme = if flag("add_prefix_space", true) {
        "always"
    } else {
        "first"
    };
    pre.push(
        json!({"type": "Metaspace", "replacement": "▁", "prepend_scheme": scheme, "split": true}),
    );
    file["pre_tokenizer"] = json!({"type": "Sequence", "pretokenizers": pre});
    if file["model"]["type"] == "Unigram" {
        let vocab = file["model"]["vocab"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        // `(unk_token, 0.0) in vocab`: the piece with a score of exactly 0, else 1.
        let unk = token("unk_token", "[UNK]");
        let unk_id = vocab
            .iter()
            .position(|e| e[0].as_str() == Some(&unk) && e[1].as_f64() == Some(0.0))
            .unwrap_or(1);
        file["model"]["unk_id"] = json!(unk_id);
        let id_of = |t: &str| {
            vocab
                .iter()
                .position(|e| e[0].as_str() == Some(t))
                .unwrap_or(0)
        };
        let (cls, sep) = (token("cls_token", "[CLS]"), token("sep_token", "[SEP]"));
        let special =
            |t: &str, type_id: u32| json!({"SpecialToken": {"id": t, "type_id": type_id}});
        let seq = |id: &str, type_id: u32| json!({"Sequence": {"id": id, "type_id": type_id}});
        file["post_processor"] = json!({
            "type": "TemplateProcessing",
            "single": [special(&cls, 0), seq("A", 0), special(&sep, 0)],
            "pair": [special(&cls, 0), seq("A", 0), special(&sep, 0), seq("B", 1), special(&sep, 1)],
            "special_tokens": {
                cls.clone(): {"id": cls, "ids": [id_of(&cls)], "tokens": [cls]},
                sep.clone(): {"id": sep, "ids": [id_of(&sep)], "tokens": [sep]},
            }
        });
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
    fn deberta_v2_without_a_charsmap_collapses_whitespace_and_finds_its_unk() {
        let file = json!({
            "normalizer": {"type": "NFKC"},
            "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true},
            "post_processor": null,
            "model": {"type": "Unigram", "unk_id": 0, "vocab": [
                ["[PAD]", 0.0], ["[CLS]", 0.0], ["[SEP]", 0.0], ["[UNK]", 0.0], ["▁a", -1.0]
            ]}
        });
        let config = json!({"tokenizer_class": "DebertaV2Tokenizer", "do_lower_case": true});
        let out = as_transformers_runs_it(file, Some(&config));
        let n = &out["normalizer"]["normalizers"];
        assert_eq!(n[0]["type"], "Lowercase");
        assert_eq!(n[1]["pattern"]["Regex"], r"\s{2,}|[\n\r\t]");
        assert_eq!(n[2]["type"], "NFC");
        assert_eq!(n[3]["strip_right"], true);
        assert_eq!(out["model"]["unk_id"], 3);
        assert_eq!(
            out["post_processor"]["special_tokens"]["[CLS]"]["ids"],
            json!([1])
        );
        assert_eq!(
            out["post_processor"]["special_tokens"]["[SEP]"]["ids"],
            json!([2])
        );
        assert_eq!(
            out["pre_tokenizer"]["pretokenizers"][0]["prepend_scheme"],
            "always"
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
