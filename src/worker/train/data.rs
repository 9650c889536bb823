//! The run's data: the labels and the three splits read from their TSV files,
//! and their texts tokenized by the model's tokenizer.

use super::trainer::RunSpec;
use crate::data::tsv;
use crate::util::error::{Error, Result};
use crate::worker::model::saved::LoadedModel;

pub(super) struct Encoded {
    pub(super) ids: Vec<Vec<i64>>,
    pub(super) labels: Vec<Vec<usize>>,
}

pub(super) fn encode(model: &LoadedModel, examples: &[tsv::Example]) -> Result<Encoded> {
    let texts: Vec<&str> = examples.iter().map(|e| e.text.as_str()).collect();
    Ok(Encoded {
        ids: model.encoder.encode_all(&texts)?,
        labels: examples.iter().map(|e| e.labels.clone()).collect(),
    })
}

/// The labels and the three splits, as read.
pub(super) struct Splits {
    pub(super) labels: Vec<String>,
    pub(super) train: Vec<tsv::Example>,
    pub(super) dev: Vec<tsv::Example>,
    pub(super) test: Vec<tsv::Example>,
}

/// The labels and the three splits (train cut to `train_limit`; dev and test
/// empty with `skip_eval`, and otherwise required to be non-empty).
pub(super) fn read_data(spec: &RunSpec) -> Result<Splits> {
    let labels = tsv::read_emotions(&spec.data.labels)?;
    let mut train_ex = tsv::read_split(&spec.data.train, labels.len())?;
    if let Some(n) = spec.limits.train_limit {
        train_ex.truncate(n);
    }
    let (dev_ex, test_ex) = if spec.limits.skip_eval {
        (Vec::new(), Vec::new())
    } else {
        (
            tsv::read_split(&spec.data.dev, labels.len())?,
            tsv::read_split(&spec.data.test, labels.len())?,
        )
    };
    if train_ex.is_empty() {
        return Err(Error::Data(format!(
            "{}: no training examples",
            spec.data.train.display()
        )));
    }
    // An empty split would report F1 0.0000 (or NaN) and exit 0.
    for (ex, path, role) in [
        (&dev_ex, &spec.data.dev, "dev picks the best epoch"),
        (&test_ex, &spec.data.test, "test gives Table 4"),
    ] {
        if ex.is_empty() && !spec.limits.skip_eval {
            return Err(Error::Data(format!(
                "{}: no examples; {role}, so it needs at least one (or pass --no-eval)",
                path.display()
            )));
        }
    }
    Ok(Splits {
        labels,
        train: train_ex,
        dev: dev_ex,
        test: test_ex,
    })
}
