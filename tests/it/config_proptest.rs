//! The config loader never panics on arbitrary input, and its cost is bounded
//! by limits checked before parsing (config/text.rs), not by luck:
//! - any text: `load_str` answers Ok or a config error (exit 2) naming the
//!   source, never a panic (sweep products, h_rt hours, seeds included);
//! - input past the size or flow-depth limit is refused with the limit's own
//!   message, before the YAML parser sees it. Tests never assert timings: the
//!   bound is that limit (the parser's cost grows with size and depth).
use hecjob::experiment::config::{load_str, text};
use proptest::prelude::*;
use serde_yaml_ng::Value;

const SRC: &str = "p.yaml";

fn check(yaml: &str) -> Result<(), TestCaseError> {
    match load_str(yaml, SRC) {
        Ok(l) => prop_assert!(!l.tasks.is_empty()),
        Err(e) => {
            prop_assert_eq!(e.exit_code(), 2, "{}", e);
            prop_assert!(e.to_string().starts_with(SRC), "{}", e);
        }
    }
    Ok(())
}

/// Text built from YAML's special characters and a few words.
fn yamlish() -> impl Strategy<Value = String> {
    const PIECES: &[&str] = &[
        "{",
        "}",
        "[",
        "]",
        ":",
        ": ",
        ",",
        "- ",
        "#",
        "&a ",
        "*a",
        "!!str ",
        "|",
        ">",
        "'",
        "\"",
        "%YAML 1.2\n",
        "---\n",
        "...\n",
        "\n",
        "  ",
        "\t",
        "\u{feff}",
        "~",
        "null",
        "1e9",
        "-1",
        "99999999999999999999",
        "5124095576030432:00:00",
        "experiment",
        "name",
        "train",
        "sweep",
        "seed",
        "epochs",
        "cluster",
        "jobs",
        "h_rt",
        "storage_root",
        "$x",
        "é",
        "\\",
        "<<: ",
    ];
    proptest::collection::vec(0..PIECES.len(), 0..120)
        .prop_map(|ix| ix.into_iter().map(|i| PIECES[i]).collect())
}

/// Arbitrary YAML values (nested maps, lists and scalars).
fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| Value::Number(n.into())),
        any::<u64>().prop_map(|n| Value::Number(n.into())),
        any::<f64>().prop_map(|f| Value::Number(f.into())),
        "[a-z0-9_:. $`\"'-]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Sequence),
            proptest::collection::vec(("[a-z_]{1,12}", inner), 0..6).prop_map(|kv| {
                Value::Mapping(kv.into_iter().map(|(k, v)| (Value::String(k), v)).collect())
            }),
        ]
    })
}

const KEYS: &[&str] = &[
    "train",
    "sweep",
    "cluster",
    "model",
    "paths",
    "install",
    "data",
    "experiment",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn arbitrary_text_never_panics(yaml in yamlish()) {
        check(&yaml)?;
        check(&format!("experiment:\n  name: e\n{yaml}"))?;
    }

    #[test]
    fn arbitrary_documents_in_a_config_never_panic(
        key in 0..KEYS.len(),
        sub in "[a-z_]{1,16}",
        v in value(),
    ) {
        let doc = serde_yaml_ng::to_string(&v).unwrap();
        // The value as a whole section, and under a key of one.
        let mut as_section = serde_yaml_ng::Mapping::new();
        as_section.insert("experiment".into(), serde_yaml_ng::from_str("{name: e}").unwrap());
        as_section.insert(KEYS[key].into(), v.clone());
        check(&serde_yaml_ng::to_string(&as_section).unwrap())?;
        check(&format!("experiment: {{name: e}}\n{}:\n  {sub}: {}\n", KEYS[key], doc.replace('\n', "\n    ")))?;
    }

    #[test]
    fn sweeps_of_arbitrary_values_never_panic(
        lists in proptest::collection::vec(
            ("(seed|epochs|batch_size|learning_rate|max_length|log_every|threshold|nope)",
             proptest::collection::vec(value(), 0..4)),
            0..5),
    ) {
        let mut sweep = serde_yaml_ng::Mapping::new();
        for (k, vs) in lists {
            sweep.insert(k.into(), Value::Sequence(vs));
        }
        let mut cfg = serde_yaml_ng::Mapping::new();
        cfg.insert("experiment".into(), serde_yaml_ng::from_str("{name: e}").unwrap());
        cfg.insert("sweep".into(), Value::Mapping(sweep));
        check(&serde_yaml_ng::to_string(&cfg).unwrap())?;
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing(depth in 0usize..3000, open in "[\\[{]") {
        let yaml = format!("experiment: {{name: e}}\nsweep: {{seed: {}{}}}\n",
            open.repeat(depth),
            if open == "[" { "]".repeat(depth) } else { "}".repeat(depth) });
        let r = load_str(&yaml, SRC);
        // sweep's `{` plus the depth: past the limit, the limit's message.
        if depth + 1 > text::MAX_DEPTH {
            let e = r.unwrap_err().to_string();
            prop_assert!(e.starts_with("p.yaml:2: `[`/`{` nested more than 64 deep"), "{}", e);
        } else if let Err(e) = r {
            prop_assert_eq!(e.exit_code(), 2);
        }
    }
}

#[test]
fn oversized_input_is_refused_before_parsing() {
    let big = format!(
        "experiment: {{name: e}}\n# {}\n",
        "x".repeat(text::MAX_BYTES as usize)
    );
    assert_eq!(
        load_str(&big, SRC).unwrap_err().to_string(),
        "p.yaml: larger than 1024 KiB; an experiment config is a page of YAML: is this the right file?"
    );
}
