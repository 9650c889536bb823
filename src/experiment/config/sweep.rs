//! Sweep expansion: `sweep: {key: [v1, v2], …}` over `train` keys and
//! `model.name` → the cartesian product in a stable order (first key outermost,
//! values in the order written), task ids 1..=N as Grid Engine's `$SGE_TASK_ID`
//! numbers them.
//!
//! `model.name` is the one swept key outside `train:`, written dotted (one line,
//! `model.name: [bert-base-uncased, roberta-base]`): each task then fine-tunes
//! its own encoder, recorded in its swept values (tasks.json, metrics.json)
//! like any other key. Its values are checked as `model.name` is.

use super::schema::{Model, Train, TRAIN_KEYS};
use super::validate::{check_model_name, check_train, Problems};
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
    /// The encoder this task fine-tunes: `model:`, with its `sweep.model.name` value.
    pub model: Model,
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

/// The one sweepable key outside `train:`.
pub const MODEL_NAME: &str = "model.name";

/// Whether `key` may be swept: a `train` key or [`MODEL_NAME`].
pub fn is_sweepable(key: &str) -> bool {
    key == MODEL_NAME || TRAIN_KEYS.contains(&key)
}

/// Why `key` cannot be swept, with the nearest key that can (or one of
/// `settings`, the search's own keys).
pub(super) fn not_sweepable(key: &str, settings: &[&str]) -> String {
    if key == "model" {
        return format!(
            "to sweep the encoder, write the dotted key `{MODEL_NAME}: [bert-base-uncased, roberta-base]` (a list of model names; the rest of `model:` applies to every task)"
        );
    }
    if key.starts_with("model.") {
        return format!(
            "only `{MODEL_NAME}` of `model:` can be swept; `{key}` applies to every task (set it under `model:`)"
        );
    }
    let candidates: Vec<&str> = TRAIN_KEYS
        .iter()
        .copied()
        .chain([MODEL_NAME])
        .chain(settings.iter().copied())
        .collect();
    let hint = super::nearest(key, &candidates)
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default();
    format!(
        "`{key}` is not a train key{hint} (sweepable: {}, {MODEL_NAME})",
        TRAIN_KEYS.join(", ")
    )
}

/// Grid Engine caps array jobs (max_aj_tasks, 75,000 by default); far below that
/// a sweep is surely a typo.
pub const MAX_TASKS: usize = 10_000;

/// The tasks of a sweep: every combination of the lists, the last key turning
/// fastest. Problems (unknown keys, bad or duplicate values, too many tasks)
/// go to `p` and give no tasks. `model` is every task's model unless
/// `model.name` is swept.
pub fn expand(
    base: &Train,
    model: &Model,
    sweep: &IndexMap<String, Vec<Value>>,
    p: &mut Problems,
) -> Vec<Task> {
    if !check_lists(base, sweep, p) {
        return Vec::new();
    }
    let Some(total) = task_count(sweep, p) else {
        return Vec::new();
    };
    grid(base, model, sweep, total)
}

/// Each list: a sweepable key, not empty, no duplicates, each value valid for
/// its key. False when anything was wrong.
fn check_lists(base: &Train, sweep: &IndexMap<String, Vec<Value>>, p: &mut Problems) -> bool {
    let mut ok = true;
    for (key, values) in sweep {
        let path = format!("sweep.{key}");
        if !is_sweepable(key) {
            p.push(&path, not_sweepable(key, &[]));
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
            if key == MODEL_NAME {
                ok &= check_model_value(&at, v, p);
                continue;
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

/// One value of `sweep.model.name` (at `at`): a name, valid as `model.name`.
pub(super) fn check_model_value(at: &str, v: &Value, p: &mut Problems) -> bool {
    let before = p.0.len();
    match serde_yaml_ng::from_value::<String>(v.clone()) {
        Ok(name) => check_model_name(p, at, &name),
        Err(e) => p.push(at, super::humanize_types(&e.to_string())),
    }
    p.0.len() == before
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
fn grid(
    base: &Train,
    model: &Model,
    sweep: &IndexMap<String, Vec<Value>>,
    total: usize,
) -> Vec<Task> {
    let mut tasks = Vec::with_capacity(total);
    let keys: Vec<&String> = sweep.keys().collect();
    let mut idx = vec![0usize; keys.len()];
    // One YAML round trip per task (not per key): at up to MAX_TASKS tasks it adds up.
    let base_map = serde_yaml_ng::to_value(base).expect("Train serializes");
    for n in 0..total {
        let values = keys
            .iter()
            .enumerate()
            .map(|(k, key)| (*key, &sweep[*key][idx[k]]));
        tasks.push(
            task((n + 1) as u32, &base_map, model, values).expect("each value checked above"),
        );
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

/// Task `id`: `base_map` (a serialized `Train`) and `model` with each swept
/// key set to its value.
pub(super) fn task<'v>(
    id: u32,
    base_map: &Value,
    model: &Model,
    values: impl IntoIterator<Item = (&'v String, &'v Value)>,
) -> Result<Task, serde_yaml_ng::Error> {
    let mut swept = IndexMap::new();
    let mut map = base_map.clone();
    let mut model = model.clone();
    for (key, v) in values {
        if key == MODEL_NAME {
            model.name = serde_yaml_ng::from_value(v.clone())?;
        } else {
            set_key(&mut map, key, v);
        }
        swept.insert(key.clone(), v.clone());
    }
    Ok(Task {
        id,
        swept,
        train: serde_yaml_ng::from_value(map)?,
        model,
    })
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
