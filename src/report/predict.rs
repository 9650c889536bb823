//! The predict stage in the report: per shard, its rows and rows/s from the
//! summary the shard wrote (jobdir::predict::ShardSummary), and whether the
//! merge has written the predictions. Nothing when the job directory has no
//! `predict.json`.

use crate::jobdir::predict::{PredictPlan, ShardSummary, PREDICT_PLAN_FILE};
use crate::util::error::Result;
use serde::Serialize;
use std::path::Path;

#[derive(Debug, Clone, Serialize)]
pub struct PredictFacts {
    pub rows: u64,
    pub shard_size: u64,
    /// One per shard, in order; `summary` is `None` until the shard finished.
    pub shards: Vec<ShardFacts>,
    /// The merged file, once the merge job wrote it.
    pub merged: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ShardFacts {
    pub shard: u32,
    pub input_rows: u64,
    pub summary: Option<ShardSummary>,
    pub rows_per_second: Option<f64>,
}

/// The predict stage of the job directory `dir`, if it has one.
pub fn facts(dir: &Path) -> Result<Option<PredictFacts>> {
    if !dir.join(PREDICT_PLAN_FILE).is_file() {
        return Ok(None);
    }
    let plan = PredictPlan::read(dir)?;
    let mut shards = Vec::new();
    for k in 1..=plan.shards {
        let r = plan.shard_rows(k);
        let summary = ShardSummary::read(dir, k)?;
        shards.push(ShardFacts {
            shard: k,
            input_rows: r.end - r.start,
            rows_per_second: summary.as_ref().and_then(ShardSummary::rows_per_second),
            summary,
        });
    }
    let merged = plan.merged_output(dir);
    Ok(Some(PredictFacts {
        rows: plan.rows,
        shard_size: plan.shard_size,
        shards,
        merged: merged.is_file().then(|| merged.display().to_string()),
    }))
}

/// The block the text report prints.
pub fn text(f: &PredictFacts) -> String {
    let mut s = format!(
        "Predict: {} input rows in {} shard(s) of {}\n{:>6} {:>10} {:>10} {:>9} {:>10}\n",
        f.rows,
        f.shards.len(),
        f.shard_size,
        "shard",
        "rows",
        "predicted",
        "seconds",
        "rows/s"
    );
    for sh in &f.shards {
        match &sh.summary {
            Some(sum) => s.push_str(&format!(
                "{:>6} {:>10} {:>10} {:>9.1} {:>10}\n",
                sh.shard,
                sum.rows,
                sum.predicted,
                sum.seconds,
                sh.rows_per_second
                    .map_or("-".to_string(), |r| format!("{r:.1}"))
            )),
            None => s.push_str(&format!(
                "{:>6} {:>10} {:>10}\n",
                sh.shard, sh.input_rows, "not done"
            )),
        }
    }
    match &f.merged {
        Some(m) => s.push_str(&format!("merged: {m}\n")),
        None => s.push_str("merged: not yet (the merge job writes predict/predictions.*)\n"),
    }
    s
}
