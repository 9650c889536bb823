//! The run's data: the labels and the three splits, read as the `data:` keys
//! say (and checked against the job's data record), and their texts
//! tokenized by the model's tokenizer.

use super::trainer::RunSpec;
use crate::data::dataset::Example;
use crate::data::load::{load, Loaded};
use crate::data::record::verify_unchanged;
use crate::jobdir::data_record::DataRecord;
use crate::util::error::{Error, Result};
use crate::worker::model::saved::LoadedModel;

pub(super) struct Encoded {
    pub(super) ids: Vec<Vec<i64>>,
    pub(super) labels: Vec<Vec<usize>>,
}

pub(super) fn encode(model: &LoadedModel, examples: &[Example]) -> Result<Encoded> {
    let texts: Vec<&str> = examples.iter().map(|e| e.text.as_str()).collect();
    Ok(Encoded {
        ids: model.encoder.encode_all(&texts)?,
        labels: examples.iter().map(|e| e.labels.clone()).collect(),
    })
}

/// The labels and the three splits, as read.
pub(super) struct Splits {
    pub(super) labels: Vec<String>,
    pub(super) train: Vec<Example>,
    pub(super) dev: Vec<Example>,
    pub(super) test: Vec<Example>,
    /// Whether the data has a test split (without one, nothing is tested).
    pub(super) has_test: bool,
    /// The dataset as read: files, label set, rejects.
    pub(super) loaded: Loaded,
}

/// The labels and the three splits (train cut to `train_limit`; dev and test
/// empty with `skip_eval`, and otherwise required to be non-empty).
pub(super) fn read_data(spec: &RunSpec) -> Result<Splits> {
    let files = &spec.data;
    let record = match &files.record_dir {
        Some(dir) => DataRecord::read(dir)?,
        None => None,
    };
    if let Some(r) = &record {
        verify_unchanged(r, &files.sources)?;
    }
    let mut loaded = load(&files.spec, &files.sources)?;
    if let Some(r) = &record {
        // Every task of a sweep uses the label order the data check wrote.
        if r.labels != loaded.dataset.labels {
            return Err(Error::Data(format!(
                "the labels read now ({}) differ from the data record's ({}); rerun the download job (or `hecjob prepare-data`)",
                loaded.dataset.labels.join(", "),
                r.labels.join(", ")
            )));
        }
    }
    let ds = &mut loaded.dataset;
    let mut train_ex = std::mem::take(&mut ds.train);
    if let Some(n) = spec.limits.train_limit {
        train_ex.truncate(n);
    }
    let (dev_ex, test_ex) = if spec.limits.skip_eval {
        (Vec::new(), Vec::new())
    } else {
        (std::mem::take(&mut ds.dev), std::mem::take(&mut ds.test))
    };
    let file = |split: &str| {
        loaded.files.iter().find(|f| f.split == split).map_or_else(
            || format!("{split} (held out of train)"),
            |f| f.path.display().to_string(),
        )
    };
    if train_ex.is_empty() {
        return Err(Error::Data(format!(
            "{}: no training examples",
            file("train")
        )));
    }
    // An empty split would report F1 0.0000 (or NaN) and exit 0.
    let checks = [
        (&dev_ex, "dev", "dev picks the best epoch", true),
        (
            &test_ex,
            "test",
            "test gives the final scores",
            loaded.has_test,
        ),
    ];
    for (ex, split, role, present) in checks {
        if present && ex.is_empty() && !spec.limits.skip_eval {
            return Err(Error::Data(format!(
                "{}: no examples; {role}, so it needs at least one (or pass --no-eval)",
                file(split)
            )));
        }
    }
    Ok(Splits {
        labels: loaded.dataset.labels.clone(),
        train: train_ex,
        dev: dev_ex,
        test: test_ex,
        has_test: loaded.has_test,
        loaded,
    })
}
