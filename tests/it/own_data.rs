//! Your own data: GoEmotions written out in each layout reads as the same
//! examples; the Ekman map on the real files; every data error and warning
//! with its full message; `prepare-data` and `analyze` on a config.

use crate::support::owndata::sources;
use crate::support::{self, config, owndata, Hecjob};
use hecjob::data::load::{load, Sources};
use hecjob::data::spec::{BadRows, DataSpec, LabelMapSpec, Task};
use hecjob::data::tsv::load_dir;
use std::path::{Path, PathBuf};

/// (id, text, sorted label ids) of every example of a split.
fn rows(ex: &[hecjob::data::dataset::Example]) -> Vec<(String, String, Vec<usize>)> {
    ex.iter()
        .map(|e| {
            let mut l = e.labels.clone();
            l.sort();
            (e.id.clone(), e.text.clone(), l)
        })
        .collect()
}

#[test]
fn every_layout_reads_the_same_examples_in_the_same_order() {
    let tmp = tempfile::tempdir().unwrap();
    let go = tmp.path().join("go");
    std::fs::create_dir_all(&go).unwrap();
    if support::small_goemotions(&go, 400, 150, 150).is_none() {
        return;
    }
    let want = load_dir(&go).unwrap();
    for layout in owndata::LAYOUTS {
        let spec = owndata::write(&go, &tmp.path().join(format!("{layout:?}")), layout);
        let got = load(&spec, &sources(&spec)).unwrap();
        assert_eq!(got.dataset.labels, want.labels, "{layout:?}");
        for split in ["train", "dev", "test"] {
            assert_eq!(
                rows(got.dataset.split(split).unwrap()),
                rows(want.split(split).unwrap()),
                "{layout:?} {split}"
            );
        }
        assert!(got.rejects.is_empty() && got.held_out.is_none() && got.has_test);
    }
}

#[test]
fn the_ekman_map_on_the_real_data_merges_counts() {
    let Some(dir) = support::goemotions_dir() else {
        return;
    };
    let original = load_dir(&dir).unwrap();
    let spec = DataSpec {
        label_map: Some(LabelMapSpec::Ekman),
        ..DataSpec::default()
    };
    let mapped = load(&spec, &Sources::goemotions(&dir)).unwrap();
    let names = &mapped.dataset.labels;
    assert_eq!(
        names,
        &["anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral"]
    );
    let groups: Vec<(&str, Vec<&str>)> = vec![
        ("anger", vec!["anger", "annoyance", "disapproval"]),
        ("fear", vec!["fear", "nervousness"]),
        (
            "surprise",
            vec!["surprise", "realization", "confusion", "curiosity"],
        ),
        ("neutral", vec!["neutral"]),
    ];
    for split in ["train", "dev", "test"] {
        let orig = original.split(split).unwrap();
        let new = mapped.dataset.split(split).unwrap();
        assert_eq!(orig.len(), new.len(), "no row is lost");
        for (group, members) in &groups {
            let ids: Vec<usize> = members
                .iter()
                .map(|m| original.labels.iter().position(|n| n == m).unwrap())
                .collect();
            let g = names.iter().position(|n| n == group).unwrap();
            let count = new.iter().filter(|e| e.labels.contains(&g)).count();
            // The sum of the members' counts, less the texts counted twice
            // (a text with two members of one group carries the group once).
            let sum: usize = ids
                .iter()
                .map(|i| orig.iter().filter(|e| e.labels.contains(i)).count())
                .sum();
            let extra: usize = orig
                .iter()
                .map(|e| {
                    e.labels
                        .iter()
                        .filter(|l| ids.contains(l))
                        .count()
                        .saturating_sub(1)
                })
                .sum();
            assert_eq!(count, sum - extra, "{split} {group}");
            if *group == "neutral" {
                assert_eq!(count, sum, "neutral is kept as it is");
            }
        }
    }
}

/// Write `files` (name → content) into a fresh dir and load `spec` over them
/// (train = the first file, dev/test when named so).
fn load_files(
    files: &[(&str, &str)],
    mut spec: DataSpec,
) -> (
    tempfile::TempDir,
    hecjob::Result<hecjob::data::load::Loaded>,
) {
    let tmp = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(tmp.path().join(name), text).unwrap();
        let p = Some(tmp.path().join(name).display().to_string());
        match name.split('.').next().unwrap() {
            "dev" => spec.dev = p,
            "test" => spec.test = p,
            _ => spec.train = p,
        }
    }
    let src = sources(&spec);
    let r = load(&spec, &src);
    (tmp, r)
}

/// The error message with the temp dir replaced by `DIR`.
fn message(tmp: &Path, r: hecjob::Result<hecjob::data::load::Loaded>) -> String {
    r.expect_err("an error")
        .to_string()
        .replace(&format!("{}/", tmp.display()), "")
}

#[test]
fn every_data_error_names_file_line_and_what_to_do() {
    let spec = |f: &dyn Fn(&mut DataSpec)| {
        let mut s = DataSpec::default();
        f(&mut s);
        s
    };
    let names = |s: &mut DataSpec| {
        s.labels = Some(vec!["joy".into(), "anger".into()]);
        s.label_column = Some("labels".into());
        s.label_delimiter = Some("|".into());
    };
    type Case<'a> = (Vec<(&'a str, &'a str)>, DataSpec, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec![("train.csv", "text,labels\nhi,joy|angr\n")],
            spec(&names),
            "train.csv:2: unknown label \"angr\" (did you mean \"anger\"?); expected one of the 2 labels (joy, anger) (data.bad_rows: skip leaves such rows out, listing them in rejects.tsv)",
        ),
        (
            vec![("train.csv", "text,labels\n  ,joy\n")],
            spec(&names),
            "train.csv:2: empty text (data.bad_rows: skip leaves such rows out, listing them in rejects.tsv)",
        ),
        (
            vec![("train.csv", "body,labels\nhi,joy\n")],
            spec(&names),
            "train.csv:1: no column `text` (data.text_column); the header row's columns are body, labels; set data.text_column to the column holding the text",
        ),
        (
            vec![("train.csv", "I love this so much,joy\nhi,anger\n")],
            spec(&names),
            "train.csv:1: no column `text` (data.text_column); the header row's columns are I love this so much, joy; is the first line data, not a header? CSV and TSV files need a header row naming the columns",
        ),
        (
            vec![("train.csv", "text,tags\nhi,joy\n")],
            spec(&names),
            "train.csv: no column `labels` (data.label_column); the header row's columns are text, tags",
        ),
        (
            vec![("train.csv", "text,label\nhi,\n")],
            spec(&|s| {
                s.task = Task::SingleLabel;
                s.label_column = Some("label".into());
            }),
            "train.csv:2: no label; data.task: single_label needs exactly one label per row (data.bad_rows: skip leaves such rows out, listing them in rejects.tsv)",
        ),
        (
            vec![("train.csv", "text,labels\nhi,0|2\n")],
            spec(&|s| {
                names(s);
                s.labels_are = Some(hecjob::data::spec::LabelsAre::Ids);
            }),
            "train.csv:2: label id 2 is out of range; expected 0 to 1 (2 labels) (data.bad_rows: skip leaves such rows out, listing them in rejects.tsv)",
        ),
        (
            vec![("train.csv", "text,toxic,obscene\nhi,1,maybe\n")],
            spec(&|s| s.label_columns = Some(hecjob::data::spec::LabelColumns::Rest)),
            "train.csv:2: column `obscene` holds \"maybe\"; expected 0 or 1 (one 0/1 column per label) (data.bad_rows: skip leaves such rows out, listing them in rejects.tsv)",
        ),
        (
            vec![("train.jsonl", "{\"body\": \"a\", \"labels\": [\"joy\"]}\n")],
            spec(&|s| s.label_column = Some("labels".into())),
            "train.jsonl: no `text` key in the first object (data.text_column); its keys are body, labels",
        ),
        (
            vec![("train.jsonl", "{\"text\": \"a\", \"labels\": [\"joy\"]}\n{\"text\": \"b\"}\n")],
            spec(&|s| s.label_column = Some("labels".into())),
            "train.jsonl:2: no `labels` key; expected the labels in `labels` (data.bad_rows: skip leaves such rows out, listing them in rejects.tsv)",
        ),
        (
            vec![("train.csv", "text,labels\na,\"['joy', 'love']\"\n")],
            spec(&|s| s.label_column = Some("labels".into())),
            "train.csv:2: `labels` holds \"['joy', 'love']\", which is not a JSON list; write it as JSON ([\"a\", \"b\"], double quotes) or as delimited text with data.label_delimiter (data.bad_rows: skip leaves such rows out, listing them in rejects.tsv)",
        ),
        (
            vec![("train.csv", "text,labels\na,3\n")],
            spec(&|s| s.label_column = Some("labels".into())),
            "train.csv:2: label id 3, but no label names were given; set data.labels or data.labels_file (the names, id = position), or data.labels_are: names to use the values as names (data.bad_rows: skip leaves such rows out, listing them in rejects.tsv)",
        ),
        (
            vec![("train.csv", "text,labels\na,joy\n"), ("test.csv", "text,labels\nb,fear\n")],
            spec(&|s| s.label_column = Some("labels".into())),
            "test.csv:2: unknown label \"fear\"; expected one of the 1 labels (joy) (data.bad_rows: skip leaves such rows out, listing them in rejects.tsv)",
        ),
        (
            vec![("train.csv", "text,labels\na,joy\n")],
            spec(&|s| {
                s.label_column = Some("labels".into());
                s.label_map = Some(LabelMapSpec::Sentiment);
            }),
            "data.label_map.positive: \"amusement\" is not one of the data's labels (joy); the built-in maps group GoEmotions' 28 emotions",
        ),
    ];
    for (files, spec, want) in cases {
        let (tmp, r) = load_files(&files, spec);
        assert_eq!(message(tmp.path(), r), want);
    }
}

#[test]
fn skipped_rows_are_left_out_with_their_reasons() {
    let spec = DataSpec {
        label_column: Some("labels".into()),
        labels: Some(vec!["joy".into(), "anger".into()]),
        bad_rows: BadRows::Skip,
        ..DataSpec::default()
    };
    let (tmp, r) = load_files(
        &[(
            "train.csv",
            "text,labels\nok,joy\n,joy\nhm,fear\nfine,anger\n",
        )],
        spec,
    );
    let l = r.unwrap();
    let kept: Vec<&str> = l.dataset.train.iter().map(|e| e.text.as_str()).collect();
    let got: Vec<(usize, String)> = l
        .rejects
        .iter()
        .map(|r| (r.line, r.reason.clone()))
        .collect();
    assert_eq!(
        got,
        [
            (3, "empty text".to_string()),
            (
                4,
                "unknown label \"fear\"; expected one of the 2 labels (joy, anger)".to_string()
            ),
        ]
    );
    // Dev held out of train (no dev file): from the three kept rows.
    assert_eq!(kept.len() + l.dataset.dev.len(), 2);
    drop(tmp);
}

#[test]
fn warnings_name_duplicates_leakage_and_missing_labels() {
    let spec = DataSpec {
        label_column: Some("labels".into()),
        label_delimiter: Some("|".into()),
        labels: Some(vec!["joy".into(), "anger".into(), "fear".into()]),
        ..DataSpec::default()
    };
    let (tmp, r) = load_files(
        &[
            ("train.csv", "text,labels\na,joy\nb,anger\na,joy\n"),
            ("dev.csv", "text,labels\nb,joy\n"),
            ("test.csv", "text,labels\nc,joy|anger\n"),
        ],
        spec,
    );
    let l = r.unwrap();
    let names = [
        ("train", "train.csv".to_string()),
        ("dev", "dev.csv".into()),
        ("test", "test.csv".into()),
    ]
    .into();
    assert_eq!(
        hecjob::data::checks::warnings(&l.dataset, &names),
        [
            "1 duplicate text in train (a row whose text an earlier row has); e.g. train.csv:4 repeats line 2",
            "1 dev text also in train (leakage: the dev score overstates); e.g. dev.csv:2 = train.csv:3",
            "1 label with no train example (the model cannot learn it): fear",
            "2 labels absent from dev (their dev F1 is undefined, reported as 0): anger, fear",
            "1 label absent from test (their test F1 is undefined, reported as 0): fear",
        ]
    );
    drop(tmp);
}

/// A config in `dir` reading `spec`'s files (absolute paths), as jobs/x/config.yaml.
fn job_config(dir: &Path, spec: DataSpec) -> PathBuf {
    let mut c = config::named("own");
    c.cluster.storage_root = dir.display().to_string();
    c.data = spec;
    let job = dir.join("jobs/own");
    std::fs::create_dir_all(&job).unwrap();
    let path = job.join("config.yaml");
    config::write(&c, &path);
    path
}

#[test]
fn prepare_data_writes_the_record_rejects_and_held_out_ids() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("train.jsonl"),
        (0..40)
            .map(|i| {
                format!(
                    "{{\"id\": \"r{i}\", \"text\": \"text {i}\", \"labels\": [\"{}\"]}}\n",
                    ["joy", "anger"][i % 2]
                )
            })
            .collect::<String>()
            + "{\"id\": \"bad\", \"text\": \"\", \"labels\": [\"joy\"]}\n",
    )
    .unwrap();
    let spec = DataSpec {
        train: Some("train.jsonl".into()),
        label_column: Some("labels".into()),
        bad_rows: BadRows::Skip,
        dev_fraction: 0.25,
        ..DataSpec::default()
    };
    let cfg = job_config(tmp.path(), spec);
    let job = cfg.parent().unwrap();
    let run = Hecjob::new()
        .args(["prepare-data"])
        .arg(&cfg)
        .run()
        .success();
    let out = run.stdout();
    assert!(
        out.starts_with("data: jsonl, multi_label, 2 labels (inferred from train); train 30 / dev 10 (held out of train) / test none\n"),
        "{out}"
    );
    // (The full build says here whether it wrote the token cache.)
    assert!(
        out.contains("\n1 bad row left out (data.bad_rows: skip): see "),
        "{out}"
    );
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(job.join("data.json")).unwrap()).unwrap();
    assert_eq!(record["labels"], serde_json::json!(["joy", "anger"]));
    assert_eq!(
        record["splits"][0]["label_counts"],
        serde_json::json!([15, 15])
    );
    assert_eq!(
        record["splits"][1]["label_counts"],
        serde_json::json!([5, 5]),
        "stratified"
    );
    assert_eq!(record["files"][0]["rows"], 41);
    assert_eq!(record["files"][0]["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(record["rejected"], 1);
    let rejects = std::fs::read_to_string(job.join("rejects.tsv")).unwrap();
    assert_eq!(
        rejects.replace(&format!("{}/", tmp.path().display()), ""),
        "split\tfile\tline\treason\ntrain\ttrain.jsonl\t41\tempty text\n"
    );
    let held = std::fs::read_to_string(job.join("heldout-dev.txt")).unwrap();
    assert_eq!(held.lines().count(), 10);
    // The same seed holds out the same rows; another seed others.
    Hecjob::new()
        .args(["prepare-data"])
        .arg(&cfg)
        .run()
        .success();
    assert_eq!(
        std::fs::read_to_string(job.join("heldout-dev.txt")).unwrap(),
        held
    );
    let mut c = config::read(&cfg);
    c.data.seed = 7;
    config::write(&c, &cfg);
    Hecjob::new()
        .args(["prepare-data"])
        .arg(&cfg)
        .run()
        .success();
    assert_ne!(
        std::fs::read_to_string(job.join("heldout-dev.txt")).unwrap(),
        held
    );
}

#[test]
fn changed_data_is_refused_after_the_check() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("train.csv"), "text,label\na,x\nb,y\nc,x\n").unwrap();
    let spec = DataSpec {
        train: Some("train.csv".into()),
        label_column: Some("label".into()),
        ..DataSpec::default()
    };
    let cfg = job_config(tmp.path(), spec.clone());
    Hecjob::new()
        .args(["prepare-data"])
        .arg(&cfg)
        .run()
        .success();
    let record = hecjob::jobdir::data_record::DataRecord::read(cfg.parent().unwrap())
        .unwrap()
        .unwrap();
    let mut c = config::read(&cfg);
    c.data = spec;
    let src = c.data_sources().unwrap();
    hecjob::data::record::verify_unchanged(&record, &src).unwrap();
    std::fs::write(tmp.path().join("train.csv"), "text,label\na,x\nb,y\nc,y\n").unwrap();
    let e = hecjob::data::record::verify_unchanged(&record, &src)
        .unwrap_err()
        .to_string();
    let e = e.replace(&format!("{}/", tmp.path().display()), "");
    assert!(
        e.starts_with("train.csv: changed since the data was checked (sha256 "),
        "{e}"
    );
    assert!(e.ends_with("now); rerun the download job (or `hecjob prepare-data CONFIG`) so the data is checked again before training"), "{e}");
}

#[test]
fn analyze_reads_a_config_and_files_with_flags() {
    let tmp = tempfile::tempdir().unwrap();
    let go = tmp.path().join("go");
    std::fs::create_dir_all(&go).unwrap();
    if support::small_goemotions(&go, 300, 100, 100).is_none() {
        return;
    }
    let spec = owndata::write(&go, &tmp.path().join("csv"), owndata::Layout::CsvIndicators);
    let from_dir = Hecjob::new()
        .arg("analyze")
        .arg(&go)
        .run()
        .success()
        .stdout();
    let cfg = job_config(tmp.path(), spec.clone());
    let from_config = Hecjob::new()
        .arg("analyze")
        .arg(&cfg)
        .run()
        .success()
        .stdout();
    // The label statistics are GoEmotions' own; then where the labels came from.
    let stats = |s: &str| s.split("\nLabels: ").next().unwrap().to_string();
    assert_eq!(stats(&from_config), stats(&from_dir));
    assert!(
        from_config.ends_with("\nLabels: 28 (columns)\n"),
        "{from_config}"
    );
    let by_flags = Hecjob::new()
        .args([
            "analyze",
            "--train",
            spec.train.as_deref().unwrap(),
            "--label-columns",
            "rest",
            "--id-column",
            "id",
            "--label-map",
            "ekman",
        ])
        .run()
        .success();
    assert!(
        by_flags
            .stdout()
            .contains("\nLabels: 7 (columns, merged from 28 by the label map)\nDev: "),
        "{}",
        by_flags.stdout()
    );
    assert!(by_flags
        .stdout()
        .contains("Test: none (no test file given; nothing will be tested)\n"));
    assert!(!by_flags.stdout().contains("Split: test"));
}

#[test]
fn a_single_label_csv_reads_one_class_per_row() {
    let tmp = tempfile::tempdir().unwrap();
    let go = tmp.path().join("go");
    std::fs::create_dir_all(&go).unwrap();
    if support::small_goemotions(&go, 400, 100, 100).is_none() {
        return;
    }
    let spec = owndata::write_single_label(&go, &tmp.path().join("single"));
    let l = load(&spec, &sources(&spec)).unwrap();
    assert_eq!(l.task, Task::SingleLabel);
    assert_eq!(l.label_source, "inferred from train");
    let mut names = l.dataset.labels.clone();
    names.sort();
    assert_eq!(
        names,
        ["anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise"]
    );
    for split in ["train", "dev", "test"] {
        assert!(l
            .dataset
            .split(split)
            .unwrap()
            .iter()
            .all(|e| e.labels.len() == 1));
    }
}

/// The example file a shipped config shows in its comment (`#   ` lines).
fn example_in_comment(text: &str) -> String {
    text.lines()
        .filter_map(|l| l.strip_prefix("#   "))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Each shipped own-data config reads the example file its comment shows
/// (written as every split it names): the comments are true.
#[test]
fn shipped_configs_read_the_files_their_comments_show() {
    for name in [
        "own-csv-columns",
        "own-jsonl-names",
        "own-tsv-ids",
        "own-single-label",
    ] {
        let path = support::repo().join(format!("configs/{name}.yaml"));
        let text = std::fs::read_to_string(&path).unwrap();
        let example = example_in_comment(&text);
        assert!(example.lines().count() >= 3, "{name}");
        let tmp = tempfile::tempdir().unwrap();
        let mut c = config::parse(&text);
        c.cluster.storage_root = tmp.path().display().to_string();
        for split in [&c.data.train, &c.data.dev, &c.data.test]
            .into_iter()
            .flatten()
        {
            let p = tmp.path().join(split);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, &example).unwrap();
        }
        if let Some(f) = &c.data.labels_file {
            std::fs::write(
                tmp.path().join(f),
                "reliability\nstaff\npunctuality\nprice\n",
            )
            .unwrap();
        }
        let cfg = tmp.path().join("config.yaml");
        config::write(&c, &cfg);
        let out = Hecjob::new()
            .arg("analyze")
            .arg(&cfg)
            .run()
            .success()
            .stdout();
        assert!(out.contains("Split: train\n"), "{name}: {out}");
        Hecjob::new().arg("prepare-data").arg(&cfg).run().success();
    }
}

/// GoEmotions' own TSV files named in `data.train` (another folder, a slice)
/// read as GoEmotions' (no header; emotions.txt beside them), as the
/// tutorial form reads them.
#[test]
fn goemotions_files_named_in_data_train_are_recognised() {
    let tmp = tempfile::tempdir().unwrap();
    let go = tmp.path().join("slice");
    std::fs::create_dir_all(&go).unwrap();
    if support::small_goemotions(&go, 100, 30, 30).is_none() {
        return;
    }
    let spec = DataSpec {
        train: Some("slice/train.tsv".into()),
        dev: Some("slice/dev.tsv".into()),
        test: Some("slice/test.tsv".into()),
        ..DataSpec::default()
    };
    let cfg = job_config(tmp.path(), spec);
    let out = Hecjob::new()
        .arg("prepare-data")
        .arg(&cfg)
        .run()
        .success()
        .stdout();
    assert!(
        out.starts_with("data: goemotions, multi_label, 28 labels (labels_file); train 100 / dev 30 / test 30\n"),
        "{out}"
    );
}
