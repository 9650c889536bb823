//! The `sweep:` section as a search space: `method: grid` (the default, every
//! combination of the lists, see [`super::sweep`]) or `method: random` (`samples`
//! points drawn from a list or a distribution per key), plus the optional
//! `early_stop` rule.
//!
//! Guarantees:
//! * Points are drawn here, at load (render) time, from [`SplitMix64`] seeded by
//!   `sweep.seed` and the key's name: the same config gives the same points with
//!   every hecjob version, so `tasks.tsv` lists every task's values before anything
//!   runs. Each key has its own stream, so raising `samples` keeps the first points
//!   and adding a key keeps the other keys' values.
//! * Drawn values lie within `[lo, hi]` (`int_uniform`: whole numbers, both ends
//!   included) and are rounded to 4 significant digits, so they read cleanly.
//! * Every problem is reported with its key path, all of them at once.
//!
//! Settings and swept keys share the mapping. `seed` is both a setting and a
//! `train` key; the shape decides: a single number is the sampling seed, a list or
//! a distribution sweeps `train.seed`.
//!
//! `model.name` (see [`super::sweep`]) takes a list or `choice:`: a random
//! search draws each task's encoder as it draws a named train key.

use super::prng::{fnv1a, mix, SplitMix64};
use super::schema::{Model, Train};
use super::sweep::{expand, not_sweepable, show, Task, MAX_TASKS, MODEL_NAME};
use super::validate::{check_train, Problems};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_yaml_ng::Value;

/// The keys of `sweep:` that configure the search rather than sweep a train key.
pub const SETTINGS: &[&str] = &["method", "samples", "seed", "early_stop"];
pub const DISTRIBUTIONS: &[&str] = &["log_uniform", "uniform", "int_uniform", "choice"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    #[default]
    Grid,
    Random,
}

/// What one swept key takes its values from.
#[derive(Debug, Clone, PartialEq)]
pub enum Domain {
    /// A list (grid), or `choice:` (random: one element, uniformly).
    List(Vec<Value>),
    Uniform {
        lo: f64,
        hi: f64,
    },
    LogUniform {
        lo: f64,
        hi: f64,
    },
    /// Whole numbers, both ends included.
    IntUniform {
        lo: i64,
        hi: i64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum StopRule {
    /// Asynchronous successive halving (Li et al., MLSys 2020).
    #[default]
    Asha,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum StopMetric {
    #[default]
    DevMacroF1,
}

impl StopMetric {
    pub fn as_str(self) -> &'static str {
        match self {
            StopMetric::DevMacroF1 => "dev_macro_f1",
        }
    }
}

/// `sweep.early_stop`: rungs at `min_epochs · reduction_factor^k` below
/// `train.epochs`; at each, a task goes on only if it is in the top
/// 1/`reduction_factor` of the results recorded there so far.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EarlyStop {
    #[serde(default)]
    pub rule: StopRule,
    #[serde(default)]
    pub metric: StopMetric,
    #[serde(default = "default_min_epochs")]
    pub min_epochs: u32,
    #[serde(default = "default_reduction_factor")]
    pub reduction_factor: u32,
}

fn default_min_epochs() -> u32 {
    1
}
fn default_reduction_factor() -> u32 {
    3
}

/// The parsed `sweep:` section.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SearchSpace {
    pub method: Method,
    pub samples: Option<u32>,
    pub seed: u64,
    pub early_stop: Option<EarlyStop>,
    /// Swept train keys in the order written.
    pub keys: IndexMap<String, Domain>,
}

/// What kind of value a train key holds, for which distributions fit it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Real,
    Whole,
    Named,
}

pub fn key_kind(key: &str) -> Option<KeyKind> {
    Some(match key {
        "learning_rate" | "threshold" | "dropout" | "warmup_ratio" | "weight_decay" => {
            KeyKind::Real
        }
        "batch_size" | "epochs" | "max_length" | "seed" | "log_every" | "max_train_examples" => {
            KeyKind::Whole
        }
        "optimizer" | "precision" | "device" | "tune_thresholds" | "lr_schedule"
        | "length_buckets" | "checkpoint_every" | MODEL_NAME => KeyKind::Named,
        _ => return None,
    })
}

/// Parse and check `sweep:`, then make the tasks (grid or random) from the
/// config's `train:` and `model:`. Problems go to `p`; with any problem the
/// task list is empty.
pub fn tasks(
    base: &Train,
    model: &Model,
    raw: &IndexMap<String, Value>,
    p: &mut Problems,
) -> (SearchSpace, Vec<Task>) {
    let before = p.0.len();
    let space = parse(raw, p);
    check_revision(model, &space, p);
    if p.0.len() > before {
        return (space, Vec::new());
    }
    let tasks = match space.method {
        Method::Grid => {
            let lists: IndexMap<String, Vec<Value>> = space
                .keys
                .iter()
                .map(|(k, d)| match d {
                    Domain::List(v) => (k.clone(), v.clone()),
                    _ => unreachable!("parse refuses distributions in a grid"),
                })
                .collect();
            expand(base, model, &lists, p)
        }
        Method::Random => random_tasks(base, model, &space, p),
    };
    if let Some(es) = &space.early_stop {
        check_early_stop(es, base, &tasks, p);
    }
    if p.0.len() > before {
        return (space, Vec::new());
    }
    (space, tasks)
}

/// A `model.revision` names a commit of one repository: with several swept
/// models it would be looked up in each, and fail in all but one.
fn check_revision(model: &Model, space: &SearchSpace, p: &mut Problems) {
    let models = match space.keys.get(MODEL_NAME) {
        Some(Domain::List(values)) => values.len(),
        _ => return,
    };
    if let (Some(rev), true) = (&model.revision, models > 1) {
        p.push(
            "model.revision",
            format!(
                "`{rev}` is a revision of one model's repository, but sweep.{MODEL_NAME} lists {models} models; remove model.revision (each model's main branch) or sweep one model"
            ),
        );
    }
}

fn parse(raw: &IndexMap<String, Value>, p: &mut Problems) -> SearchSpace {
    let mut s = SearchSpace::default();
    let mut seed_given = false;
    for (key, v) in raw {
        let path = format!("sweep.{key}");
        match key.as_str() {
            "method" => match serde_yaml_ng::from_value::<Method>(v.clone()) {
                Ok(m) => s.method = m,
                Err(_) => p.push(
                    &path,
                    format!("expected `grid` (every combination) or `random` (`samples` points drawn at random), got {}", show(v)),
                ),
            },
            "samples" => match v.as_u64() {
                Some(0) => p.push(&path, "0 samples would make no tasks; draw at least 1"),
                Some(n) if n > MAX_TASKS as u64 => p.push(
                    &path,
                    format!("{n} samples is more than {MAX_TASKS} tasks; is it a typo?"),
                ),
                Some(n) => s.samples = Some(n as u32),
                None => p.push(&path, format!("expected a whole number of points to draw (e.g. 20), got {}", show(v))),
            },
            "seed" if !matches!(v, Value::Sequence(_) | Value::Mapping(_)) => match v.as_u64() {
                Some(n) => {
                    s.seed = n;
                    seed_given = true;
                }
                None => p.push(
                    &path,
                    format!("the sampling seed must be a whole number >= 0, got {} (to sweep train.seed, give a list: seed: [1, 2, 3])", show(v)),
                ),
            },
            "early_stop" => match serde_yaml_ng::from_value::<EarlyStop>(v.clone()) {
                Ok(es) => s.early_stop = Some(es),
                Err(e) => {
                    let msg = super::humanize_types(&e.to_string());
                    let hint = super::unknown_key_hint(&msg).unwrap_or_default();
                    p.push(&path, format!("{msg}{hint}"));
                }
            },
            _ => {
                if let Some(d) = parse_domain(key, v, p) {
                    s.keys.insert(key.clone(), d);
                }
            }
        }
    }
    check_method(raw, &s, seed_given, p);
    s
}

/// What the sweep's keys say together: `samples` and a seed only with
/// `method: random`, which needs something to draw; a grid takes only lists.
fn check_method(
    raw: &IndexMap<String, Value>,
    s: &SearchSpace,
    seed_given: bool,
    p: &mut Problems,
) {
    match (s.method, s.samples) {
        (Method::Random, None) if !raw.contains_key("samples") => p.push(
            "sweep.method",
            "`method: random` needs `samples: N`, the number of points to draw (tasks 1..N)",
        ),
        (Method::Grid, Some(_)) => p.push(
            "sweep.samples",
            "a grid runs every combination of the lists; `samples` needs `method: random`",
        ),
        _ => {}
    }
    if s.method == Method::Grid && seed_given {
        p.push(
            "sweep.seed",
            "a single number is the sampling seed of `method: random`, which a grid does not use; to sweep train.seed give a list (seed: [1, 2, 3])",
        );
    }
    let swept_given = raw.iter().any(|(k, v)| {
        !SETTINGS.contains(&k.as_str())
            || (k == "seed" && matches!(v, Value::Sequence(_) | Value::Mapping(_)))
    });
    if s.method == Method::Random && !swept_given {
        p.push(
            "sweep.method",
            "`method: random` needs at least one train key to draw, e.g. learning_rate: {log_uniform: [1.0e-5, 1.0e-4]}",
        );
    }
    if s.method == Method::Grid {
        for (key, d) in &s.keys {
            if !matches!(d, Domain::List(_)) {
                p.push(
                    format!("sweep.{key}"),
                    "a distribution is drawn at random: set `sweep.method: random` and `samples: N`, or give a list of values for the grid",
                );
            }
        }
    }
}

/// One swept key's list or distribution, checked against what the key can take.
fn parse_domain(key: &str, v: &Value, p: &mut Problems) -> Option<Domain> {
    let path = format!("sweep.{key}");
    let kind = swept_kind(key, &path, p)?;
    let map = match v {
        Value::Sequence(items) => return Some(Domain::List(items.clone())),
        Value::Mapping(m) => m,
        other => {
            p.push(
                &path,
                format!(
                    "expected a list of values (e.g. [16, 32]) or one distribution such as {{{}: [lo, hi]}}, got {}",
                    example_distribution(kind),
                    flow(other)
                ),
            );
            return None;
        }
    };
    if map.len() != 1 {
        p.push(
            &path,
            format!(
                "expected exactly one distribution ({}), got {} keys",
                DISTRIBUTIONS.join(", "),
                map.len()
            ),
        );
        return None;
    }
    parse_distribution(key, kind, map, &path, p)
}

/// What a swept key takes, or a problem naming the nearest train key.
fn swept_kind(key: &str, path: &str, p: &mut Problems) -> Option<KeyKind> {
    // train.com passes one interval to every task of the array (--checkpoint-every):
    // a swept one would be ignored, so it is refused.
    if key == "checkpoint_every" {
        p.push(
            path,
            "is when the job checkpoints, the same for every task: set it under train:, not in sweep:",
        );
        return None;
    }
    let kind = key_kind(key);
    if kind.is_none() {
        p.push(path, not_sweepable(key, SETTINGS));
    }
    kind
}

/// The one distribution of `map` (`choice`, `uniform`, `log_uniform`,
/// `int_uniform`), checked against the kind of number `key` takes.
fn parse_distribution(
    key: &str,
    kind: KeyKind,
    map: &serde_yaml_ng::Mapping,
    path: &str,
    p: &mut Problems,
) -> Option<Domain> {
    let (name, arg) = map.iter().next().expect("one entry");
    let name = name.as_str().unwrap_or("");
    let at = format!("{path}.{name}");
    match name {
        "choice" => match arg {
            Value::Sequence(items) => Some(Domain::List(items.clone())),
            other => {
                p.push(
                    &at,
                    format!(
                        "expected a list of values to choose from, got {}",
                        flow(other)
                    ),
                );
                None
            }
        },
        "uniform" | "log_uniform" | "int_uniform" => {
            let fits = matches!(
                (name, kind),
                ("int_uniform", KeyKind::Whole) | ("uniform" | "log_uniform", KeyKind::Real)
            );
            if !fits {
                let why = match kind {
                    KeyKind::Named => format!("`{key}` takes named values, not numbers: give a list or choice: [...]"),
                    KeyKind::Whole => format!("`{name}` draws real numbers but `{key}` is a whole number: use int_uniform: [lo, hi] or a list"),
                    KeyKind::Real => format!("`int_uniform` draws whole numbers but `{key}` is a real number: use uniform or log_uniform"),
                };
                p.push(&at, why);
                return None;
            }
            range(name, arg, &at, p)
        }
        other => {
            let hint = super::nearest(other, DISTRIBUTIONS)
                .map(|s| format!("did you mean `{s}`? "))
                .unwrap_or_default();
            p.push(
                path,
                format!(
                    "`{}` is not a distribution; {hint}(expected one of {})",
                    show(&map.keys().next().cloned().unwrap_or(Value::Null)),
                    DISTRIBUTIONS.join(", ")
                ),
            );
            None
        }
    }
}

/// A value as it would be written inline (`[0.1]`, `{a: 1}`), for messages.
fn flow(v: &Value) -> String {
    match v {
        Value::Sequence(items) => {
            format!(
                "[{}]",
                items.iter().map(flow).collect::<Vec<_>>().join(", ")
            )
        }
        Value::Mapping(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}: {}", flow(k), flow(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => show(other),
    }
}

fn example_distribution(kind: KeyKind) -> &'static str {
    match kind {
        KeyKind::Real => "log_uniform",
        KeyKind::Whole => "int_uniform",
        KeyKind::Named => "choice",
    }
}

/// `[lo, hi]` with lo < hi (and lo > 0 for a log range).
fn range(name: &str, arg: &Value, at: &str, p: &mut Problems) -> Option<Domain> {
    let pair = match arg {
        Value::Sequence(v) if v.len() == 2 => v,
        other => {
            p.push(
                at,
                format!("expected [lo, hi] (two numbers), got {}", flow(other)),
            );
            return None;
        }
    };
    if name == "int_uniform" {
        let (Some(lo), Some(hi)) = (pair[0].as_i64(), pair[1].as_i64()) else {
            p.push(
                at,
                format!("expected two whole numbers [lo, hi], got {}", flow(arg)),
            );
            return None;
        };
        if lo >= hi {
            p.push(at, format!("the range is empty or a single value: lo {lo} must be below hi {hi} (for one value, give a list: [{lo}])"));
            return None;
        }
        return Some(Domain::IntUniform { lo, hi });
    }
    let (Some(lo), Some(hi)) = (pair[0].as_f64(), pair[1].as_f64()) else {
        p.push(
            at,
            format!("expected two numbers [lo, hi], got {}", flow(arg)),
        );
        return None;
    };
    if !(lo.is_finite() && hi.is_finite()) {
        p.push(at, format!("expected finite bounds, got {}", flow(arg)));
        return None;
    }
    if lo >= hi {
        p.push(
            at,
            format!(
                "the range is empty: lo {} must be below hi {}",
                show(&pair[0]),
                show(&pair[1])
            ),
        );
        return None;
    }
    if name == "log_uniform" {
        if lo <= 0.0 {
            p.push(at, format!("a log-uniform range must lie above 0 (log of {} is undefined); e.g. [1.0e-6, 1.0e-3], or use uniform", show(&pair[0])));
            return None;
        }
        return Some(Domain::LogUniform { lo, hi });
    }
    Some(Domain::Uniform { lo, hi })
}

/// Each list value and each range end must be a valid value of its key (a
/// dropout range [0, 1.5] is refused at its `hi`, not at a draw).
fn check_values(base: &Train, model: &Model, space: &SearchSpace, p: &mut Problems) {
    for (key, d) in &space.keys {
        let path = format!("sweep.{key}");
        let ends: Vec<(&str, Value)> = match d {
            Domain::List(values) => {
                // The grid's checks (types, duplicates, ranges) one key at a time.
                let one: IndexMap<String, Vec<Value>> =
                    [(key.clone(), values.clone())].into_iter().collect();
                let _ = expand(base, model, &one, p);
                continue;
            }
            Domain::Uniform { lo, hi } => vec![("lo", (*lo).into()), ("hi", (*hi).into())],
            Domain::LogUniform { lo, hi } => vec![("lo", (*lo).into()), ("hi", (*hi).into())],
            Domain::IntUniform { lo, hi } => vec![("lo", (*lo).into()), ("hi", (*hi).into())],
        };
        for (end, v) in ends {
            let mut probe = Problems::default();
            match with_value(base, key, &v) {
                Ok(t) => check_train(&mut probe, "train", &t),
                Err(e) => probe.push(
                    format!("train.{key}"),
                    super::humanize_types(&e.to_string()),
                ),
            }
            let own = format!("train.{key}");
            for pr in probe.0.into_iter().filter(|pr| pr.path == own) {
                p.push(&path, format!("{end} {}: {}", show(&v), pr.message));
            }
        }
    }
}

fn random_tasks(base: &Train, model: &Model, space: &SearchSpace, p: &mut Problems) -> Vec<Task> {
    let before = p.0.len();
    check_values(base, model, space, p);
    if p.0.len() > before {
        return Vec::new();
    }
    let n = space.samples.unwrap_or(0) as usize;
    let columns: Vec<(String, Vec<Value>)> = space
        .keys
        .iter()
        .map(|(k, d)| (k.clone(), draw(d, space.seed, k, n)))
        .collect();
    let base_map = serde_yaml_ng::to_value(base).expect("Train serializes");
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let values = columns.iter().map(|(k, col)| (k, &col[i]));
        match super::sweep::task((i + 1) as u32, &base_map, model, values) {
            Ok(t) => tasks.push(t),
            Err(e) => {
                p.push("sweep", format!("point {}: {e}", i + 1));
                return Vec::new();
            }
        }
    }
    tasks
}

/// `n` values of one key, from its own stream (seed and key name).
pub fn draw(d: &Domain, seed: u64, key: &str, n: usize) -> Vec<Value> {
    let mut rng = SplitMix64::new(mix(seed) ^ fnv1a(key));
    (0..n)
        .map(|_| match d {
            Domain::List(values) => values[rng.below(values.len() as u64) as usize].clone(),
            Domain::Uniform { lo, hi } => {
                Value::from(round4(lo + (hi - lo) * rng.next_f64()).clamp(*lo, *hi))
            }
            Domain::LogUniform { lo, hi } => {
                let (a, b) = (lo.ln(), hi.ln());
                Value::from(round4((a + (b - a) * rng.next_f64()).exp()).clamp(*lo, *hi))
            }
            Domain::IntUniform { lo, hi } => {
                let offset = match hi.abs_diff(*lo).checked_add(1) {
                    Some(span) => rng.below(span),
                    None => rng.next_u64(), // the whole i64 range
                };
                Value::from(lo.wrapping_add(offset as i64))
            }
        })
        .collect()
}

/// `x` to 4 significant digits (3.4567e-5 rather than 3.456712093e-5).
fn round4(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    // Through the printed form, so the value is the shortest decimal (YAML
    // shows 3.457e-5, not 3.4570000000000003e-5).
    format!("{x:.3e}").parse().unwrap_or(x)
}

fn check_early_stop(es: &EarlyStop, base: &Train, tasks: &[Task], p: &mut Problems) {
    if es.min_epochs < 1 {
        p.push(
            "sweep.early_stop.min_epochs",
            "must be at least 1 (the first rung's epoch)",
        );
    }
    if es.reduction_factor < 2 {
        p.push(
            "sweep.early_stop.reduction_factor",
            format!(
                "must be at least 2 (the top 1/η go on at each rung), got {}",
                es.reduction_factor
            ),
        );
    }
    let most = tasks
        .iter()
        .map(|t| t.train.epochs)
        .max()
        .unwrap_or(base.epochs);
    if es.min_epochs >= 1 && es.min_epochs >= most {
        p.push(
            "sweep.early_stop.min_epochs",
            format!(
                "{} is not below train.epochs ({most}): there would be no rung, so nothing could stop early; lower min_epochs or train longer",
                es.min_epochs
            ),
        );
    }
}

/// `base` with `key` set to `value`, type-checked by serde.
fn with_value(base: &Train, key: &str, value: &Value) -> Result<Train, serde_yaml_ng::Error> {
    let mut map = serde_yaml_ng::to_value(base)?;
    if let Value::Mapping(m) = &mut map {
        m.insert(Value::String(key.to_string()), value.clone());
    }
    serde_yaml_ng::from_value(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sweepable_key_has_a_kind() {
        for k in super::super::schema::TRAIN_KEYS {
            assert!(key_kind(k).is_some(), "{k}");
        }
        assert_eq!(key_kind(MODEL_NAME), Some(KeyKind::Named));
    }

    #[test]
    fn rounding_keeps_four_digits() {
        assert_eq!(round4(3.456_712_093e-5), 3.457e-5);
        assert_eq!(round4(0.123_449), 0.1234);
        assert_eq!(round4(-2.0), -2.0);
    }
}
