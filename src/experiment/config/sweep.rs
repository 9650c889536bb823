//! Sweep expansion: `sweep: {key: [v1, v2], …}` over `train` keys → the cartesian
//! product in a stable order (first key outermost, values in the order written),
//! task ids 1..=N as Grid Engine's `$SGE_TASK_ID` numbers them.

use super::schema::{Train, TRAIN_KEYS};
use super::validate::{check_train, Problems};
use indexmap::IndexMap;
use serde::Serialize;
use serde_yaml_ng::Value;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Task {
    /// 1-based, as `$SGE_TASK_ID`.
    pub id: u32,
    /// The swept keys and this task's values (empty without a sweep).
    pub swept: IndexMap<String, Value>,
    /// The full training parameters of this task.
    pub train: Train,
}

impl Task {
    /// The swept values as JSON (tasks.json, metrics.json).
    pub fn swept_json(&self) -> serde_json::Map<String, serde_json::Value> {
        self.swept
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    serde_json::to_value(v).unwrap_or(serde_json::Value::Null),
                )
            })
            .collect()
    }
}

/// Grid Engine caps array jobs (max_aj_tasks, 75,000 by default); far below that
/// a sweep is surely a typo.
pub const MAX_TASKS: usize = 10_000;

/// The tasks of a sweep: every combination of the lists, the last key turning
/// fastest. Problems (unknown keys, bad or duplicate values, too many tasks)
/// go to `p` and give no tasks.
pub fn expand(base: &Train, sweep: &IndexMap<String, Vec<Value>>, p: &mut Problems) -> Vec<Task> {
    if !check_lists(base, sweep, p) {
        return Vec::new();
    }
    let Some(total) = task_count(sweep, p) else {
        return Vec::new();
    };
    grid(base, sweep, total)
}

/// Each list: a train key, not empty, no duplicates, each value valid for its
/// key. False when anything was wrong.
fn check_lists(base: &Train, sweep: &IndexMap<String, Vec<Value>>, p: &mut Problems) -> bool {
    let mut ok = true;
    for (key, values) in sweep {
        let path = format!("sweep.{key}");
        if !TRAIN_KEYS.contains(&key.as_str()) {
            let hint = super::nearest(key, TRAIN_KEYS)
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            p.push(
                &path,
                format!(
                    "`{key}` is not a train key{hint} (sweepable: {})",
                    TRAIN_KEYS.join(", ")
                ),
            );
            ok = false;
            continue;
        }
        if values.is_empty() {
            p.push(
                &path,
                "an empty list would make no tasks; give at least one value or remove the key",
            );
            ok = false;
        }
        for (i, v) in values.iter().enumerate() {
            let at = format!("{path}[{i}]");
            if let Some(j) = values[..i].iter().position(|w| w == v) {
                p.push(
                    &at,
                    format!(
                        "duplicate value {}: equal to {path}[{j}]; list each value once",
                        show(v)
                    ),
                );
                ok = false;
            }
            match with_value(base, key, v) {
                Ok(t) => {
                    // Only this key's problems: the rest of `train` is reported
                    // once, under `train.*`, not again for every sweep value.
                    let mut probe = Problems::default();
                    check_train(&mut probe, &at, &t);
                    let own = format!("{at}.{key}");
                    for pr in probe.0.into_iter().filter(|pr| pr.path == own) {
                        p.push(&at, pr.message);
                        ok = false;
                    }
                }
                Err(e) => {
                    let msg = super::humanize_types(&e.to_string());
                    let hint = super::unknown_key_hint(&msg).unwrap_or_default();
                    p.push(&at, format!("{msg}{hint}"));
                    ok = false;
                }
            }
        }
    }
    ok
}

/// How many tasks the lists make, if at most [`MAX_TASKS`].
fn task_count(sweep: &IndexMap<String, Vec<Value>>, p: &mut Problems) -> Option<usize> {
    // Checked: list lengths can multiply past usize (a panic, unchecked).
    let product = sweep
        .values()
        .try_fold(1usize, |n, v| n.checked_mul(v.len()));
    match product {
        Some(n) if n <= MAX_TASKS => Some(n),
        _ => {
            let count = product.map_or_else(
                || {
                    let lengths: Vec<String> =
                        sweep.values().map(|v| v.len().to_string()).collect();
                    format!("{} (past 2^64)", lengths.join(" × "))
                },
                |n| n.to_string(),
            );
            p.push(
                "sweep",
                format!("{count} tasks is more than {MAX_TASKS}; is a list too long?"),
            );
            None
        }
    }
}

/// The `total` combinations of the (checked) lists, numbered from 1.
fn grid(base: &Train, sweep: &IndexMap<String, Vec<Value>>, total: usize) -> Vec<Task> {
    let mut tasks = Vec::with_capacity(total);
    let keys: Vec<&String> = sweep.keys().collect();
    let mut idx = vec![0usize; keys.len()];
    // One YAML round trip per task (not per key): at up to MAX_TASKS tasks it adds up.
    let base_map = serde_yaml_ng::to_value(base).expect("Train serializes");
    for n in 0..total {
        let mut swept = IndexMap::new();
        let mut map = base_map.clone();
        for (k, key) in keys.iter().enumerate() {
            let v = &sweep[*key][idx[k]];
            set_key(&mut map, key, v);
            swept.insert((*key).clone(), v.clone());
        }
        let train = serde_yaml_ng::from_value(map).expect("each value checked above");
        tasks.push(Task {
            id: (n + 1) as u32,
            swept,
            train,
        });
        // Odometer: the last key turns fastest.
        for k in (0..keys.len()).rev() {
            idx[k] += 1;
            if idx[k] < sweep[keys[k]].len() {
                break;
            }
            idx[k] = 0;
        }
    }
    tasks
}

/// `base` with `key` set to `value`, type-checked by serde.
fn with_value(base: &Train, key: &str, value: &Value) -> Result<Train, serde_yaml_ng::Error> {
    let mut map = serde_yaml_ng::to_value(base)?;
    set_key(&mut map, key, value);
    serde_yaml_ng::from_value(map)
}

/// Set `key` in a serialized `Train` (always a mapping).
fn set_key(map: &mut Value, key: &str, value: &Value) {
    if let Value::Mapping(m) = map {
        m.insert(Value::String(key.to_string()), value.clone());
    }
}

pub fn show(v: &Value) -> String {
    serde_yaml_ng::to_string(v)
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| format!("{v:?}"))
}
