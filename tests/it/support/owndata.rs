//! GoEmotions written out in the layouts people bring their own data in, for
//! the equivalence tests: the same rows, the same order, as CSV with one 0/1
//! column per label, JSONL with a list of label names, TSV with a delimited
//! id column, and a single-label CSV. Each comes with its `data:` keys.

use hecjob::data::load::Sources;
use hecjob::data::spec::{DataSpec, Format, LabelColumns, LabelsAre, Task};
use hecjob::data::tsv::{load_dir, Dataset};
use std::path::Path;
use std::path::PathBuf;

/// The layouts, each named as its config would be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `id,text,admiration,…,neutral` with 0/1 cells; `label_columns: rest`.
    CsvIndicators,
    /// `{"id": …, "text": …, "labels": ["joy", …]}` per line.
    JsonlNames,
    /// `text<TAB>labels<TAB>id` with a header and `3,27` ids; `labels_file`.
    TsvDelimitedIds,
}

pub const LAYOUTS: [Layout; 3] = [
    Layout::CsvIndicators,
    Layout::JsonlNames,
    Layout::TsvDelimitedIds,
];

impl Layout {
    fn ext(self) -> &'static str {
        match self {
            Layout::CsvIndicators => "csv",
            Layout::JsonlNames => "jsonl",
            Layout::TsvDelimitedIds => "tsv",
        }
    }
}

/// The files a spec with absolute paths names (as `write` returns them).
pub fn sources(spec: &DataSpec) -> Sources {
    let p = |s: &Option<String>| s.as_ref().map(PathBuf::from);
    Sources {
        format: spec.format().unwrap(),
        train: PathBuf::from(spec.train.as_ref().unwrap()),
        dev: p(&spec.dev),
        test: p(&spec.test),
        labels_file: p(&spec.labels_file),
    }
}

/// Write the GoEmotions copy in `goemotions` (train/dev/test.tsv, emotions.txt)
/// into `dir` in `layout`; returns the `data:` keys that read it (absolute paths).
pub fn write(goemotions: &Path, dir: &Path, layout: Layout) -> DataSpec {
    let ds = load_dir(goemotions).unwrap();
    std::fs::create_dir_all(dir).unwrap();
    let mut spec = DataSpec {
        id_column: Some("id".into()),
        ..DataSpec::default()
    };
    for split in ["train", "dev", "test"] {
        let path = dir.join(format!("{split}.{}", layout.ext()));
        let rows = ds.split(split).unwrap();
        let bytes = match layout {
            Layout::CsvIndicators => csv_indicators(&ds, rows),
            Layout::JsonlNames => jsonl_names(&ds, rows),
            Layout::TsvDelimitedIds => tsv_ids(rows),
        };
        std::fs::write(&path, bytes).unwrap();
        let p = Some(path.display().to_string());
        match split {
            "train" => spec.train = p,
            "dev" => spec.dev = p,
            _ => spec.test = p,
        }
    }
    match layout {
        Layout::CsvIndicators => spec.label_columns = Some(LabelColumns::Rest),
        Layout::JsonlNames => {
            // Named in emotions.txt's order: inferred, they would come in
            // order of first appearance.
            spec.labels = Some(ds.labels.clone());
            spec.label_column = Some("labels".into());
        }
        Layout::TsvDelimitedIds => {
            let names = dir.join("labels.txt");
            std::fs::write(&names, ds.labels.join("\n") + "\n").unwrap();
            spec.labels_file = Some(names.display().to_string());
            spec.label_column = Some("labels".into());
            spec.label_delimiter = Some(",".into());
            spec.labels_are = Some(LabelsAre::Ids);
        }
    }
    spec.format = Some(match layout {
        Layout::CsvIndicators => Format::Csv,
        Layout::JsonlNames => Format::Jsonl,
        Layout::TsvDelimitedIds => Format::Tsv,
    });
    spec
}

/// A single-label CSV (`text,label`) of the rows with exactly one Ekman
/// emotion (or neutral), the label written as its name.
pub fn write_single_label(goemotions: &Path, dir: &Path) -> DataSpec {
    let ekman = hecjob::data::labels::build_map(
        &hecjob::data::spec::LabelMapSpec::Ekman,
        &load_dir(goemotions).unwrap().labels,
    )
    .unwrap();
    let ds = load_dir(goemotions).unwrap();
    std::fs::create_dir_all(dir).unwrap();
    let mut spec = DataSpec {
        task: Task::SingleLabel,
        label_column: Some("label".into()),
        ..DataSpec::default()
    };
    for split in ["train", "dev", "test"] {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(["text", "label"]).unwrap();
        for e in ds.split(split).unwrap() {
            let mapped = ekman.apply(&e.labels);
            if let [one] = mapped.as_slice() {
                w.write_record([e.text.as_str(), ekman.names[*one].as_str()])
                    .unwrap();
            }
        }
        let path = dir.join(format!("{split}.csv"));
        std::fs::write(&path, w.into_inner().unwrap()).unwrap();
        let p = Some(path.display().to_string());
        match split {
            "train" => spec.train = p,
            "dev" => spec.dev = p,
            _ => spec.test = p,
        }
    }
    spec
}

fn csv_indicators(ds: &Dataset, rows: &[hecjob::data::dataset::Example]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["id".to_string(), "text".to_string()];
    header.extend(ds.labels.iter().cloned());
    w.write_record(&header).unwrap();
    for e in rows {
        let mut r = vec![e.id.clone(), e.text.clone()];
        r.extend((0..ds.labels.len()).map(|l| u8::from(e.labels.contains(&l)).to_string()));
        w.write_record(&r).unwrap();
    }
    w.into_inner().unwrap()
}

fn jsonl_names(ds: &Dataset, rows: &[hecjob::data::dataset::Example]) -> Vec<u8> {
    let mut out = String::new();
    for e in rows {
        let names: Vec<&str> = e.labels.iter().map(|&l| ds.labels[l].as_str()).collect();
        out.push_str(&serde_json::json!({"id": e.id, "text": e.text, "labels": names}).to_string());
        out.push('\n');
    }
    out.into_bytes()
}

fn tsv_ids(rows: &[hecjob::data::dataset::Example]) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(b'\t')
        .from_writer(Vec::new());
    w.write_record(["text", "labels", "id"]).unwrap();
    for e in rows {
        let ids: Vec<String> = e.labels.iter().map(|l| l.to_string()).collect();
        w.write_record([e.text.as_str(), ids.join(",").as_str(), e.id.as_str()])
            .unwrap();
    }
    w.into_inner().unwrap()
}
