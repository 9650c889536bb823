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
use std::path::Path;

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
    /// The job's data record, when the download job checked the data.
    pub(super) record: Option<DataRecord>,
    /// Train rows before `train_limit` (the token cache holds them all).
    pub(super) train_rows: usize,
}

/// The three splits' token ids: from the job's token cache when the download
/// job wrote one for this data, tokenizer and max_length, else tokenized here.
/// Says which in the log.
pub(super) fn encode_splits_cached(
    lm: &LoadedModel,
    model_dir: &Path,
    spec: &RunSpec,
    data: &Splits,
) -> Result<(Encoded, Encoded, Encoded)> {
    let started = std::time::Instant::now();
    if let Some(cached) = from_cache(model_dir, spec, data)? {
        println!(
            "token ids from the job's token cache ({} / {} / {} texts in {:.1} s)",
            cached.0.ids.len(),
            cached.1.ids.len(),
            cached.2.ids.len(),
            started.elapsed().as_secs_f64()
        );
        return Ok(cached);
    }
    let train = encode(lm, &data.train)?;
    let dev = encode(lm, &data.dev)?;
    let test = encode(lm, &data.test)?;
    println!(
        "tokenized {} / {} / {} texts in {:.1} s",
        train.ids.len(),
        dev.ids.len(),
        test.ids.len(),
        started.elapsed().as_secs_f64()
    );
    Ok((train, dev, test))
}

/// The cached ids, when there is a whole cache for this run; a cache that
/// is there but damaged is said and ignored (tokenizing gives the same ids).
fn from_cache(
    model_dir: &Path,
    spec: &RunSpec,
    data: &Splits,
) -> Result<Option<(Encoded, Encoded, Encoded)>> {
    use crate::worker::model::token_cache;
    let (Some(record), Some(job_dir)) = (&data.record, &spec.data.record_dir) else {
        return Ok(None);
    };
    let key = token_cache::key(record, &spec.data.spec, model_dir, spec.params.max_length)?;
    let with_labels = |ids: Vec<Vec<i64>>, examples: &[Example]| Encoded {
        ids,
        labels: examples.iter().map(|e| e.labels.clone()).collect(),
    };
    let mut out = Vec::new();
    for (split, examples, rows) in [
        ("train", &data.train, data.train_rows),
        ("dev", &data.dev, data.dev.len()),
        ("test", &data.test, data.test.len()),
    ] {
        if examples.is_empty() {
            out.push(with_labels(Vec::new(), examples));
            continue;
        }
        match token_cache::read(job_dir, split, &key, rows) {
            Ok(Some(mut ids)) => {
                ids.truncate(examples.len());
                out.push(with_labels(ids, examples));
            }
            Ok(None) => return Ok(None),
            Err(why) => {
                eprintln!("warning: token cache not used: {why}; tokenizing here");
                return Ok(None);
            }
        }
    }
    let mut it = out.into_iter();
    match (it.next(), it.next(), it.next()) {
        (Some(a), Some(b), Some(c)) => Ok(Some((a, b, c))),
        _ => Ok(None),
    }
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
    let train_rows = train_ex.len();
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
        record,
        train_rows,
    })
}
