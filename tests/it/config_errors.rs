//! Bad experiment configs: each is refused with its exact, full message —
//! `file:line:column` for YAML syntax, unknown keys (with the nearest valid key)
//! and type errors; `file:line: key.path: message` for semantic problems, all of
//! them at once — and exit code 2 through the binary.

use crate::support::config::edit;
use crate::support::Hecjob;
use hecjob::experiment::config::{self, load_str, TRAIN_KEYS};

const SRC: &str = "bad.yaml";
const TRAIN_LIST: &str = "`learning_rate`, `batch_size`, `epochs`, `max_length`, `seed`, `threshold`, `dropout`, `warmup_ratio`, `weight_decay`, `optimizer`, `precision`, `device`, `tune_thresholds`, `log_every`, `lr_schedule`, `length_buckets`, `max_train_examples`, `checkpoint_every`";
const TOP_LIST: &str =
    "`experiment`, `cluster`, `install`, `paths`, `data`, `model`, `train`, `sweep`, `predict`";
const CLUSTER_LIST: &str = "`scheduler`, `cpu_queue`, `gpu_queue`, `storage_root`, `modules`, `setup`, `max_concurrent_tasks`, `notify`, `gpu_types`, `jobs`, `limits`, `retries`";
const JOB_LIST: &str =
    "`queue`, `h_vmem`, `h_rt`, `s_rt`, `ncpus`, `ngpus`, `gpu_type`, `extra_directives`";

fn err(yaml: &str) -> String {
    match load_str(yaml, SRC) {
        Ok(l) => panic!("accepted a bad config ({} tasks):\n{yaml}", l.tasks.len()),
        Err(e) => {
            assert_eq!(e.exit_code(), 2, "{e}");
            e.to_string()
        }
    }
}

/// One semantic problem: the whole message `load` gives for it.
fn one(line: usize, path: &str, message: &str) -> String {
    format!("{SRC}: 1 problem in the config:\n  {SRC}:{line}: {path}: {message}")
}

/// A config whose only content beyond a valid `experiment` is `rest`.
fn with(rest: &str) -> String {
    format!("experiment:\n  name: e\n{rest}")
}

macro_rules! case {
    ($name:ident, $yaml:expr, $expected:expr) => {
        #[test]
        fn $name() {
            let yaml: String = $yaml.into();
            let expected: String = $expected.into();
            assert_eq!(err(&yaml), expected, "config:\n{yaml}");
        }
    };
}

// ---- YAML syntax: file:line:column, and where the construct began ----

case!(
    syntax_bad_indentation,
    "experiment:\n  name: e\n train: 1\n",
    "bad.yaml:3:2: did not find expected key, while parsing a block mapping"
);
case!(
    syntax_unterminated_quote,
    "experiment:\n  name: \"e\n",
    "bad.yaml:3:1: found unexpected end of stream, while scanning a quoted scalar at line 2 column 9"
);
case!(
    syntax_unclosed_flow_mapping,
    "experiment: {name: e\n",
    "bad.yaml:2:1: did not find expected ',' or '}', while parsing a flow mapping at line 1 column 13"
);
case!(
    syntax_tab_indentation,
    "experiment:\n\tname: e\n",
    "bad.yaml:2:1: found character that cannot start any token, while scanning for the next token (a tab: YAML indents with spaces only)"
);
case!(
    syntax_colon_in_plain_value,
    "experiment:\n  name: e\n  description: a: b\n",
    "bad.yaml:3:17: mapping values are not allowed in this context"
);
case!(
    duplicate_key,
    "experiment:\n  name: e\n  name: f\n",
    "bad.yaml:2:3: experiment: duplicate field `name`"
);

// ---- empty or not a mapping ----

case!(
    empty_file,
    "",
    "bad.yaml: the file is empty; expected at least\n  experiment:\n    name: my-experiment"
);
case!(
    only_comments,
    "# nothing yet\n\n   \n",
    "bad.yaml: the file is empty; expected at least\n  experiment:\n    name: my-experiment"
);
case!(
    top_level_list,
    "- experiment\n- train\n",
    "bad.yaml:1:1: invalid type: sequence, expected a mapping of keys"
);
case!(
    section_is_a_scalar,
    with("train: 5\n"),
    "bad.yaml:3:8: train: invalid type: integer `5`, expected a mapping of keys"
);

// ---- missing keys ----

case!(
    missing_experiment_name,
    "experiment:\n  description: no name\n",
    "bad.yaml:2:3: experiment: missing field `name`"
);
case!(
    missing_experiment,
    "train:\n  epochs: 2\n",
    "bad.yaml:1:1: missing field `experiment`"
);

// ---- unknown keys at several levels, with the nearest valid key ----

case!(
    unknown_top_level_key,
    "experimnt:\n  name: e\n",
    format!("bad.yaml:1:1: unknown field `experimnt`, expected one of {TOP_LIST}; did you mean `experiment`?")
);
case!(
    unknown_train_key,
    with("train:\n  learnig_rate: 1e-5\n"),
    format!("bad.yaml:4:3: train: unknown field `learnig_rate`, expected one of {TRAIN_LIST}; did you mean `learning_rate`?")
);
case!(
    a_limit_that_is_not_a_time,
    with("cluster:\n  limits:\n    max_time: soon\n"),
    "bad.yaml:5:15: cluster.limits.max_time: expected a time limit like 00:25:00 (HH:MM:SS; on Slurm also D-HH:MM:SS, e.g. 1-12:00:00), got `soon`"
);
case!(
    a_limit_that_is_not_memory,
    with("cluster:\n  limits:\n    max_memory: lots\n"),
    "bad.yaml:5:17: cluster.limits.max_memory: expected memory like 4G or 512M, got `lots`"
);
case!(
    unknown_cluster_key,
    with("cluster:\n  gpu_queu: short\n"),
    format!("bad.yaml:4:3: cluster: unknown field `gpu_queu`, expected one of {CLUSTER_LIST}; did you mean `gpu_queue`?")
);
case!(
    unknown_job_name,
    with("cluster:\n  jobs:\n    trian: {h_rt: \"01:00:00\"}\n"),
    "bad.yaml:5:5: cluster.jobs: unknown field `trian`, expected one of `install`, `download`, `train`, `predict`; did you mean `train`?"
);
case!(
    unknown_job_resource,
    with("cluster:\n  jobs:\n    train:\n      h_vmen: 4G\n"),
    format!("bad.yaml:6:7: cluster.jobs.train: unknown field `h_vmen`, expected one of {JOB_LIST}; did you mean `h_vmem`?")
);
case!(
    unknown_key_far_from_any,
    with("zzzzqqq: 1\n"),
    format!("bad.yaml:3:1: unknown field `zzzzqqq`, expected one of {TOP_LIST}")
);
case!(
    unknown_enum_variant_with_suggestion,
    with("train:\n  optimizer: adamm\n"),
    "bad.yaml:4:14: train.optimizer: unknown variant `adamm`, expected `adam` or `adamw`; did you mean `adam`?"
);
case!(
    unknown_scheduler,
    with("cluster:\n  scheduler: pbs\n"),
    "bad.yaml:4:14: cluster.scheduler: unknown variant `pbs`, expected `sge` or `slurm`"
);

// ---- types ----

case!(
    string_for_batch_size,
    with("train:\n  batch_size: sixteen\n"),
    "bad.yaml:4:15: train.batch_size: invalid type: string \"sixteen\", expected a whole number >= 0"
);
case!(
    negative_batch_size,
    with("train:\n  batch_size: -1\n"),
    "bad.yaml:4:15: train.batch_size: invalid type: integer `-1`, expected a whole number >= 0"
);
case!(
    list_for_learning_rate,
    with("train:\n  learning_rate: [1e-5, 2e-5]\n"),
    "bad.yaml:4:18: train.learning_rate: invalid type: sequence, expected a number"
);
case!(
    string_for_bool,
    with("train:\n  tune_thresholds: maybe\n"),
    "bad.yaml:4:20: train.tune_thresholds: invalid type: string \"maybe\", expected a boolean"
);
case!(
    list_for_model_name,
    with("model:\n  name: [a]\n"),
    "bad.yaml:4:9: model.name: invalid type: sequence, expected a string"
);
case!(
    sweep_not_a_list,
    with("sweep:\n  batch_size: 16\n"),
    one(
        4,
        "sweep.batch_size",
        "expected a list of values (e.g. [16, 32]) or one distribution such as {int_uniform: [lo, hi]}, got 16"
    )
);

// ---- semantics: key path and line ----

case!(
    learning_rate_zero,
    with("train:\n  learning_rate: 0\n"),
    one(4, "train.learning_rate", "must be > 0 (e.g. 5e-5), got 0")
);
case!(
    learning_rate_negative,
    with("train:\n  learning_rate: -1e-5\n"),
    one(
        4,
        "train.learning_rate",
        "must be > 0 (e.g. 5e-5), got -0.00001"
    )
);
case!(
    learning_rate_one,
    with("train:\n  learning_rate: 1.0\n"),
    one(
        4,
        "train.learning_rate",
        "must be < 1 for fine-tuning (e.g. 5e-5), got 1"
    )
);
case!(
    batch_size_zero,
    with("train:\n  epochs: 3\n  batch_size: 0\n"),
    one(
        5,
        "train.batch_size",
        "must be at least 1 (the paper used 16)"
    )
);
case!(
    epochs_zero,
    with("train:\n  epochs: 0\n"),
    one(4, "train.epochs", "must be at least 1 (the paper used 4)")
);
case!(
    threshold_zero,
    with("train:\n  threshold: 0\n"),
    one(
        4,
        "train.threshold",
        "must be between 0 and 1 exclusive (Table 4 uses 0.3), got 0"
    )
);
case!(
    threshold_above_one,
    with("train:\n  threshold: 1.5\n"),
    one(
        4,
        "train.threshold",
        "must be between 0 and 1 exclusive (Table 4 uses 0.3), got 1.5"
    )
);
case!(
    dropout_one,
    with("train:\n  dropout: 1\n"),
    one(4, "train.dropout", "must be in [0, 1), got 1")
);
case!(
    max_length_too_long,
    with("train:\n  max_length: 1024\n"),
    one(
        4,
        "train.max_length",
        "must be between 2 and 512 tokens, got 1024"
    )
);
case!(
    h_rt_without_hours,
    with("cluster:\n  jobs:\n    train:\n      h_rt: \"25:00\"\n"),
    one(
        6,
        "cluster.jobs.train.h_rt",
        "expected HH:MM:SS (e.g. 00:25:00), got `25:00`"
    )
);
// A time or size no scheduler takes is refused where the YAML is read (into
// seconds and bytes, once), at its line and column.
case!(
    h_rt_61_minutes,
    with("cluster:\n  jobs:\n    train:\n      h_rt: \"00:61:00\"\n"),
    "bad.yaml:6:13: cluster.jobs.train.h_rt: expected a time limit like 00:25:00 (HH:MM:SS; on Slurm also D-HH:MM:SS, e.g. 1-12:00:00), got `00:61:00`"
);
// train.checkpoint_every is read into seconds where the YAML is read.
case!(
    checkpoint_every_soon,
    with("train:\n  checkpoint_every: soon\n"),
    "bad.yaml:4:21: train.checkpoint_every: expected a duration like 30m, 90s or 2h (whole seconds, minutes or hours), or `off`, got `soon`"
);
case!(
    checkpoint_every_swept,
    with("sweep:\n  checkpoint_every: [10m, 20m]\n"),
    one(
        4,
        "sweep.checkpoint_every",
        "is when the job checkpoints, the same for every task: set it under train:, not in sweep:"
    )
);
case!(
    h_vmem_lots,
    with("cluster:\n  jobs:\n    download:\n      h_vmem: lots\n"),
    "bad.yaml:6:15: cluster.jobs.download.h_vmem: expected memory like 4G or 512M, got `lots`"
);
case!(
    s_rt_not_below_h_rt,
    with("cluster:\n  jobs:\n    train:\n      h_rt: \"01:00:00\"\n      s_rt: \"01:00:00\"\n"),
    one(
        7,
        "cluster.jobs.train.s_rt",
        "the soft limit 01:00:00 must be below h_rt 01:00:00 so the task can checkpoint before the kill"
    )
);
case!(
    ngpus_on_install,
    with("cluster:\n  jobs:\n    install:\n      ngpus: 1\n"),
    one(
        6,
        "cluster.jobs.install.ngpus",
        "this job runs on a CPU node (so no GPU time is spent downloading); only jobs.train and jobs.predict may ask for GPUs"
    )
);
case!(
    ngpus_on_download,
    with("cluster:\n  jobs:\n    download: {ngpus: 2}\n"),
    one(
        5,
        "cluster.jobs.download.ngpus",
        "this job runs on a CPU node (so no GPU time is spent downloading); only jobs.train and jobs.predict may ask for GPUs"
    )
);
case!(
    ncpus_zero,
    with("cluster:\n  jobs:\n    train: {ncpus: 0}\n"),
    one(
        5,
        "cluster.jobs.train.ncpus",
        "must be at least 1 (or leave it out)"
    )
);
case!(
    job_name_leading_digit,
    "experiment:\n  name: 1abc\n",
    one(2, "experiment.name", "`1abc` cannot name Grid Engine jobs: use a letter first, then letters, digits, _ . - (at most 64)")
);
case!(
    job_name_with_space,
    "experiment:\n  name: my job\n",
    one(2, "experiment.name", "`my job` cannot name Grid Engine jobs: use a letter first, then letters, digits, _ . - (at most 64)")
);
case!(
    job_name_with_slash,
    "experiment:\n  name: a/b\n",
    one(2, "experiment.name", "`a/b` cannot name Grid Engine jobs: use a letter first, then letters, digits, _ . - (at most 64)")
);
case!(
    queue_with_space,
    with("cluster:\n  gpu_queue: short queue\n"),
    one(
        4,
        "cluster.gpu_queue",
        "`short queue` is not a queue name (letters, digits, _ . - @)"
    )
);
case!(
    job_queue_with_semicolon,
    with("cluster:\n  jobs:\n    train:\n      queue: \"gpu; rm\"\n"),
    one(
        6,
        "cluster.jobs.train.queue",
        "`gpu; rm` is not a queue name (letters, digits, _ . - @)"
    )
);
case!(
    storage_root_relative,
    with("cluster:\n  storage_root: scratch/me\n"),
    one(
        4,
        "cluster.storage_root",
        "expected an environment variable such as `$global_storage` or an absolute path, got `scratch/me`"
    )
);
case!(
    storage_root_variable_with_suffix,
    with("cluster:\n  storage_root: $HOME/x\n"),
    one(
        4,
        "cluster.storage_root",
        "expected an environment variable such as `$global_storage` or an absolute path, got `$HOME/x`"
    )
);
case!(
    module_with_semicolon,
    with("cluster:\n  modules:\n    - cuda/12\n    - \"cuda; rm -rf ~\"\n"),
    one(
        4,
        "cluster.modules[1]",
        "`cuda; rm -rf ~` is not a module name (e.g. anaconda3/wmlce)"
    )
);
case!(
    setup_line_with_newline,
    with("cluster:\n  setup:\n    - \"echo a\\nrm -rf /tmp/x\"\n"),
    one(
        4,
        "cluster.setup[0]",
        "must be a single line without control characters (newlines would break the job script)"
    )
);
case!(
    max_concurrent_zero,
    with("cluster:\n  max_concurrent_tasks: 0\n"),
    one(
        4,
        "cluster.max_concurrent_tasks",
        "must be at least 1 (or leave it out for no cap)"
    )
);
case!(
    retries_past_the_most,
    with("cluster:\n  retries: 11\n"),
    one(
        4,
        "cluster.retries",
        "11 rounds is more than the 10 hecjob runs: a task still failing after that needs a person (see hecjob status)"
    )
);
case!(
    extra_directive_reserved_after_another_option,
    with("cluster:\n  jobs:\n    train:\n      extra_directives: [\"-m ea -o /elsewhere\"]\n"),
    one(
        6,
        "cluster.jobs.train.extra_directives[0]",
        "`-o` is set by hecjob itself; use the config key for it instead"
    )
);
case!(
    extra_directive_reserved,
    with("cluster:\n  jobs:\n    train:\n      extra_directives: [\"-N other\"]\n"),
    one(
        6,
        "cluster.jobs.train.extra_directives[0]",
        "`-N` is set by hecjob itself; use the config key for it instead"
    )
);
case!(
    extra_directive_without_dash,
    with("cluster:\n  jobs:\n    train:\n      extra_directives:\n        - \"M me@lancaster.ac.uk\"\n"),
    one(
        6,
        "cluster.jobs.train.extra_directives[0]",
        "expected a qsub option such as `-M me@example.org`, got `M me@lancaster.ac.uk`"
    )
);
case!(
    install_binary_missing,
    with("install:\n  from: binary\n"),
    one(
        3,
        "install.binary",
        "`from: binary` needs the path of a prebuilt hecjob binary"
    )
);
case!(
    torch_version_not_a_version,
    with("install:\n  torch_version: latest\n"),
    one(
        4,
        "install.torch_version",
        "expected a version like 2.11.0, got `latest`"
    )
);
case!(
    empty_path,
    with("paths:\n  data_dir: \"\"\n"),
    one(4, "paths.data_dir", "must not be empty")
);
case!(
    model_neither_hub_id_nor_path,
    with("model:\n  name: \"bert base\"\n"),
    one(
        4,
        "model.name",
        "`bert base` is neither a hub name (bert-base-uncased, org/name) nor a path (starting with /, ./ or ../)"
    )
);
case!(
    model_path_with_tilde,
    with("model:\n  name: ~/models/bert\n"),
    one(
        4,
        "model.name",
        "`~/models/bert`: `~` is not expanded (the path is used as written); write the absolute path, e.g. /home/…"
    )
);
case!(
    install_source_and_data_dir_with_tilde,
    with("install:\n  source: ~/hecjob\npaths:\n  data_dir: ~/data\n"),
    "bad.yaml: 2 problems in the config:\n  \
     bad.yaml:4: install.source: `~/hecjob`: `~` is not expanded (the path is used as written); write the absolute path, e.g. /home/…\n  \
     bad.yaml:6: paths.data_dir: `~/data`: `~` is not expanded (the path is used as written); write the absolute path, e.g. /home/…"
);
case!(
    newline_in_an_echoed_value_is_escaped,
    with("model:\n  revision: \"main\\ntouch PWNED\"\n"),
    one(
        4,
        "model.revision",
        "expected a branch, tag or commit hash, got `main\\ntouch PWNED`"
    )
);
case!(
    model_revision_with_semicolon,
    with("model:\n  revision: \"main; x\"\n"),
    one(
        4,
        "model.revision",
        "expected a branch, tag or commit hash, got `main; x`"
    )
);
// The hub's revision rule, checked at validate time (it used to pass here and
// fail only on the node, in `hub`).
case!(
    model_revision_climbing_out_of_the_cache,
    with("model:\n  revision: \"../../x\"\n"),
    one(
        4,
        "model.revision",
        "expected a branch, tag or commit hash, got `../../x`"
    )
);
case!(
    base_url_not_http,
    with("data:\n  base_url: ftp://example.org/data\n"),
    one(
        4,
        "data.base_url",
        "expected an http(s) URL without spaces, got `ftp://example.org/data`"
    )
);

// ---- sweep ----

case!(
    sweep_unknown_key,
    with("sweep:\n  learnin_rate: [1e-5]\n"),
    one(
        4,
        "sweep.learnin_rate",
        &format!(
            "`learnin_rate` is not a train key; did you mean `learning_rate`? (sweepable: {}, model.name)",
            TRAIN_KEYS.join(", ")
        )
    )
);
case!(
    sweep_empty_list,
    with("sweep:\n  batch_size: []\n"),
    one(
        4,
        "sweep.batch_size",
        "an empty list would make no tasks; give at least one value or remove the key"
    )
);
case!(
    sweep_duplicate_value_spelled_differently,
    with("sweep:\n  learning_rate: [5e-5, 3e-5, 0.00005]\n"),
    one(
        4,
        "sweep.learning_rate[2]",
        "duplicate value 0.00005: equal to sweep.learning_rate[0]; list each value once"
    )
);
case!(
    sweep_value_of_wrong_type,
    with("sweep:\n  batch_size: [16, big]\n"),
    one(
        4,
        "sweep.batch_size[1]",
        "invalid type: string \"big\", expected a whole number >= 0"
    )
);
case!(
    sweep_value_unknown_variant,
    with("sweep:\n  optimizer: [adam, adamm]\n"),
    one(
        4,
        "sweep.optimizer[1]",
        "unknown variant `adamm`, expected `adam` or `adamw`; did you mean `adam`?"
    )
);
case!(
    sweep_value_out_of_range,
    with("train:\n  epochs: 2\nsweep:\n  epochs: [1, 2]\n  learning_rate: [1e-5, 2]\n"),
    one(
        7,
        "sweep.learning_rate[1]",
        "must be < 1 for fine-tuning (e.g. 5e-5), got 2"
    )
);

// ---- sweep.model.name: each value checked as model.name is ----

case!(
    sweep_model_name_neither_hub_id_nor_path,
    with("sweep:\n  learning_rate: [1e-5]\n  model.name: [bert-base-uncased, roberta-base, \"bert base\"]\n"),
    one(
        5,
        "sweep.model.name[2]",
        "`bert base` is neither a hub name (bert-base-uncased, org/name) nor a path (starting with /, ./ or ../)"
    )
);
case!(
    sweep_model_name_with_tilde,
    with("sweep:\n  model.name: [bert-base-uncased, ~/models/bert]\n"),
    one(
        4,
        "sweep.model.name[1]",
        "`~/models/bert`: `~` is not expanded (the path is used as written); write the absolute path, e.g. /home/…"
    )
);
case!(
    sweep_model_name_not_a_string,
    with("sweep:\n  model.name: [bert-base-uncased, [roberta-base]]\n"),
    one(
        4,
        "sweep.model.name[1]",
        "invalid type: sequence, expected a string"
    )
);
case!(
    sweep_model_name_listed_twice,
    with("sweep:\n  model.name: [roberta-base, bert-base-uncased, roberta-base]\n"),
    one(
        4,
        "sweep.model.name[2]",
        "duplicate value roberta-base: equal to sweep.model.name[0]; list each value once"
    )
);
case!(
    sweep_model_name_nested_under_model,
    with("sweep:\n  model:\n    name: [bert-base-uncased, roberta-base]\n"),
    one(
        4,
        "sweep.model",
        "to sweep the encoder, write the dotted key `model.name: [bert-base-uncased, roberta-base]` (a list of model names; the rest of `model:` applies to every task)"
    )
);
case!(
    sweep_model_revision,
    with("sweep:\n  model.revision: [main, v2]\n"),
    one(
        4,
        "sweep.model.revision",
        "only `model.name` of `model:` can be swept; `model.revision` applies to every task (set it under `model:`)"
    )
);
case!(
    one_revision_for_several_swept_models,
    with("model:\n  revision: v1.0\nsweep:\n  model.name: [bert-base-uncased, roberta-base]\n"),
    one(
        4,
        "model.revision",
        "`v1.0` is a revision of one model's repository, but sweep.model.name lists 2 models; remove model.revision (each model's main branch) or sweep one model"
    )
);
case!(
    sweep_model_name_drawn_from_a_range,
    random("model.name: {uniform: [0, 1]}"),
    one(
        6,
        "sweep.model.name.uniform",
        "`model.name` takes named values, not numbers: give a list or choice: [...]"
    )
);
case!(
    sweep_model_name_bad_choice,
    random("model.name: {choice: [roberta-base, \"a;b\"]}"),
    one(
        6,
        "sweep.model.name[1]",
        "`a;b` is neither a hub name (bert-base-uncased, org/name) nor a path (starting with /, ./ or ../)"
    )
);

// ---- search spaces (method: random) and early stopping ----

/// A random sweep whose only swept key is `key_line` (at line 6).
fn random(key_line: &str) -> String {
    with(&format!(
        "sweep:\n  method: random\n  samples: 4\n  {key_line}\n"
    ))
}

case!(
    random_without_samples,
    with("sweep:\n  method: random\n  learning_rate: {log_uniform: [1.0e-5, 1.0e-3]}\n"),
    one(
        4,
        "sweep.method",
        "`method: random` needs `samples: N`, the number of points to draw (tasks 1..N)"
    )
);
case!(
    random_zero_samples,
    with("sweep:\n  method: random\n  samples: 0\n  learning_rate: [1.0e-5]\n"),
    one(
        5,
        "sweep.samples",
        "0 samples would make no tasks; draw at least 1"
    )
);
case!(
    random_absurd_samples,
    with("sweep:\n  method: random\n  samples: 1000000\n  learning_rate: [1.0e-5]\n"),
    one(
        5,
        "sweep.samples",
        "1000000 samples is more than 10000 tasks; is it a typo?"
    )
);
case!(
    random_samples_not_a_number,
    with("sweep:\n  method: random\n  samples: many\n  learning_rate: [1.0e-5]\n"),
    one(
        5,
        "sweep.samples",
        "expected a whole number of points to draw (e.g. 20), got many"
    )
);
case!(
    random_with_nothing_to_draw,
    with("sweep:\n  method: random\n  samples: 3\n"),
    one(
        4,
        "sweep.method",
        "`method: random` needs at least one train key to draw, e.g. learning_rate: {log_uniform: [1.0e-5, 1.0e-4]}"
    )
);
case!(
    samples_in_a_grid,
    with("sweep:\n  samples: 5\n  learning_rate: [1.0e-5]\n"),
    one(
        4,
        "sweep.samples",
        "a grid runs every combination of the lists; `samples` needs `method: random`"
    )
);
case!(
    sampling_seed_in_a_grid,
    with("sweep:\n  seed: 3\n  batch_size: [16]\n"),
    one(
        4,
        "sweep.seed",
        "a single number is the sampling seed of `method: random`, which a grid does not use; to sweep train.seed give a list (seed: [1, 2, 3])"
    )
);
case!(
    unknown_method,
    with("sweep:\n  method: bayes\n  learning_rate: [1.0e-5]\n"),
    one(
        4,
        "sweep.method",
        "expected `grid` (every combination) or `random` (`samples` points drawn at random), got bayes"
    )
);
case!(
    distribution_in_a_grid,
    with("sweep:\n  learning_rate: {log_uniform: [1.0e-5, 1.0e-3]}\n"),
    one(
        4,
        "sweep.learning_rate",
        "a distribution is drawn at random: set `sweep.method: random` and `samples: N`, or give a list of values for the grid"
    )
);
case!(
    log_range_through_zero,
    random("learning_rate: {log_uniform: [0, 1.0e-3]}"),
    one(
        6,
        "sweep.learning_rate.log_uniform",
        "a log-uniform range must lie above 0 (log of 0 is undefined); e.g. [1.0e-6, 1.0e-3], or use uniform"
    )
);
case!(
    empty_range,
    random("dropout: {uniform: [0.3, 0.1]}"),
    one(
        6,
        "sweep.dropout.uniform",
        "the range is empty: lo 0.3 must be below hi 0.1"
    )
);
case!(
    int_range_of_one_value,
    random("batch_size: {int_uniform: [16, 16]}"),
    one(
        6,
        "sweep.batch_size.int_uniform",
        "the range is empty or a single value: lo 16 must be below hi 16 (for one value, give a list: [16])"
    )
);
case!(
    range_not_two_numbers,
    random("dropout: {uniform: [0.1]}"),
    one(
        6,
        "sweep.dropout.uniform",
        "expected [lo, hi] (two numbers), got [0.1]"
    )
);
case!(
    range_end_invalid_for_the_key,
    random("dropout: {uniform: [0.0, 1.5]}"),
    one(6, "sweep.dropout", "hi 1.5: must be in [0, 1), got 1.5")
);
case!(
    numbers_on_a_named_key,
    random("optimizer: {uniform: [0, 1]}"),
    one(
        6,
        "sweep.optimizer.uniform",
        "`optimizer` takes named values, not numbers: give a list or choice: [...]"
    )
);
case!(
    real_distribution_on_a_whole_number_key,
    random("batch_size: {log_uniform: [8, 64]}"),
    one(
        6,
        "sweep.batch_size.log_uniform",
        "`log_uniform` draws real numbers but `batch_size` is a whole number: use int_uniform: [lo, hi] or a list"
    )
);
case!(
    whole_numbers_on_a_real_key,
    random("learning_rate: {int_uniform: [1, 2]}"),
    one(
        6,
        "sweep.learning_rate.int_uniform",
        "`int_uniform` draws whole numbers but `learning_rate` is a real number: use uniform or log_uniform"
    )
);
case!(
    unknown_distribution,
    random("learning_rate: {loguniform: [1.0e-5, 1.0e-3]}"),
    one(
        6,
        "sweep.learning_rate",
        "`loguniform` is not a distribution; did you mean `log_uniform`? (expected one of log_uniform, uniform, int_uniform, choice)"
    )
);
case!(
    two_distributions_for_one_key,
    random("dropout: {uniform: [0.0, 0.1], choice: [0.2]}"),
    one(
        6,
        "sweep.dropout",
        "expected exactly one distribution (log_uniform, uniform, int_uniform, choice), got 2 keys"
    )
);
case!(
    choice_value_checked_like_a_list,
    random("optimizer: {choice: [adam, adamm]}"),
    one(
        6,
        "sweep.optimizer[1]",
        "unknown variant `adamm`, expected `adam` or `adamw`; did you mean `adam`?"
    )
);
case!(
    early_stop_unknown_key,
    with("sweep:\n  learning_rate: [1.0e-5]\n  early_stop: {min_epoch: 1}\n"),
    one(
        5,
        "sweep.early_stop",
        "unknown field `min_epoch`, expected one of `rule`, `metric`, `min_epochs`, `reduction_factor`; did you mean `min_epochs`?"
    )
);
case!(
    early_stop_unknown_metric,
    with("sweep:\n  learning_rate: [1.0e-5]\n  early_stop: {metric: test_f1}\n"),
    one(
        5,
        "sweep.early_stop",
        "unknown variant `test_f1`, expected `dev_macro_f1`"
    )
);
case!(
    early_stop_without_a_rung,
    with("train:\n  epochs: 2\nsweep:\n  learning_rate: [1.0e-5]\n  early_stop: {min_epochs: 2}\n"),
    one(
        7,
        "sweep.early_stop.min_epochs",
        "2 is not below train.epochs (2): there would be no rung, so nothing could stop early; lower min_epochs or train longer"
    )
);
case!(
    early_stop_reduction_factor_one,
    with("sweep:\n  learning_rate: [1.0e-5]\n  early_stop: {reduction_factor: 1}\n"),
    one(
        5,
        "sweep.early_stop.reduction_factor",
        "must be at least 2 (the top 1/η go on at each rung), got 1"
    )
);

// ---- Slurm (cluster.scheduler: slurm): its own time format, GPU types, #SBATCH rules ----

/// A Slurm config whose train job has `train_keys` (one flow mapping line).
fn slurm_train(train_keys: &str) -> String {
    with(&format!(
        "cluster:\n  scheduler: slurm\n  gpu_queue: gpu-short\n  jobs:\n    train: {{{train_keys}}}\n"
    ))
}

#[test]
fn slurm_time_formats_are_accepted() {
    for t in [
        "\"1-12:00:00\"",
        "\"02:00:00\"",
        "\"2-0\"",
        "\"90\"",
        "\"36:00:00\"",
    ] {
        let l = load_str(&slurm_train(&format!("h_rt: {t}")), SRC)
            .unwrap_or_else(|e| panic!("{t}: {e}"));
        assert_eq!(
            l.config
                .cluster
                .jobs
                .train
                .h_rt
                .as_ref()
                .map(|t| t.as_str()),
            Some(t.trim_matches('"'))
        );
    }
    // The soft limit's default comes out in Slurm's own format past a day.
    let l = load_str(&slurm_train("h_rt: \"2-00:00:00\""), SRC).unwrap();
    assert_eq!(
        l.config
            .cluster
            .jobs
            .train
            .s_rt
            .as_ref()
            .map(|t| t.as_str()),
        Some("1-23:50:00")
    );
}
case!(
    slurm_h_rt_61_minutes,
    slurm_train("h_rt: \"00:61:00\""),
    "bad.yaml:7:19: cluster.jobs.train.h_rt: expected a time limit like 00:25:00 (HH:MM:SS; on Slurm also D-HH:MM:SS, e.g. 1-12:00:00), got `00:61:00`"
);
case!(
    grid_engine_refuses_slurm_days,
    with("cluster:\n  jobs:\n    train:\n      h_rt: \"1-12:00:00\"\n"),
    one(
        6,
        "cluster.jobs.train.h_rt",
        "expected HH:MM:SS (e.g. 00:25:00), got `1-12:00:00`"
    )
);
case!(
    slurm_soft_limit_too_far_for_signal,
    slurm_train("h_rt: \"2-00:00:00\", s_rt: \"12:00:00\""),
    one(
        7,
        "cluster.jobs.train.s_rt",
        "on Slurm the soft limit is a signal sent a number of seconds before h_rt (--signal=B:USR1@SECONDS), at most 65535; 12:00:00 is 129600 s before h_rt 2-00:00:00"
    )
);
case!(
    slurm_partition_name,
    with("cluster:\n  scheduler: slurm\n  gpu_queue: \"gpu@short\"\n"),
    one(
        5,
        "cluster.gpu_queue",
        "`gpu@short` is not a Slurm partition name (letters, digits, _ . -; e.g. gpu-short)"
    )
);
case!(
    gpu_type_on_grid_engine,
    with("cluster:\n  jobs:\n    train: {gpu_type: nvidia_h200_nvl}\n"),
    one(
        5,
        "cluster.jobs.train.gpu_type",
        "GPU types are Slurm GRES types (--gres=gpu:TYPE:N); Grid Engine asks for GPUs by count only: remove gpu_type, or set cluster.scheduler: slurm"
    )
);
// A list entry's problem is placed at the list's key, as for modules and setup.
case!(
    site_gpu_memory_not_a_size,
    with("cluster:\n  gpu_types:\n    - { name: A100-80GB, memory: 80 GB }\n"),
    one(
        4,
        "cluster.gpu_types[0].memory",
        "expected the card's memory like 80G or 46068M, got `80 GB`"
    )
);
case!(
    site_gpu_memory_zero,
    with("cluster:\n  gpu_types:\n    - { name: T4, memory: 16G }\n    - { name: none, memory: 0G }\n"),
    one(
        4,
        "cluster.gpu_types[1].memory",
        "expected the card's memory like 80G or 46068M, got `0G`"
    )
);
case!(
    site_gpu_gres_not_a_type,
    with("cluster:\n  gpu_types:\n    - { name: A100, memory: 40G, gres: \"gpu:a100\" }\n"),
    one(
        4,
        "cluster.gpu_types[0].gres",
        "`gpu:a100` is not a GRES type (letters, digits, _ . -; e.g. nvidia_a100_80gb)"
    )
);
case!(
    site_gpu_unknown_key,
    with("cluster:\n  gpu_types:\n    - { name: A100, mem: 40G }\n"),
    "bad.yaml:5:21: cluster.gpu_types[0]: unknown field `mem`, expected one of `name`, `memory`, `gres`, `note`; did you mean `memory`?"
);
case!(
    gpu_type_without_gpus,
    slurm_train("ngpus: 0, gpu_type: nvidia_h200_nvl"),
    one(
        7,
        "cluster.jobs.train.gpu_type",
        "a GPU type without GPUs: set ngpus (e.g. 1) or remove gpu_type"
    )
);
case!(
    gpu_type_with_a_colon,
    slurm_train("gpu_type: \"h200:2\""),
    one(
        7,
        "cluster.jobs.train.gpu_type",
        "`h200:2` is not a GRES type (letters, digits, _ . -; e.g. nvidia_h200_nvl, tesla_v100-pcie-32gb)"
    )
);
case!(
    slurm_directive_hecjob_sets,
    slurm_train("extra_directives: [\"--qos=gpu --time=1:00:00\"]"),
    one(
        7,
        "cluster.jobs.train.extra_directives[0]",
        "`--time` is set by hecjob itself; use the config key for it instead (Slurm: written as `#SBATCH --qos=gpu --time=1:00:00`)"
    )
);
case!(
    slurm_directive_not_an_option,
    slurm_train("extra_directives: [\"qos gpu\"]"),
    one(
        7,
        "cluster.jobs.train.extra_directives[0]",
        "expected sbatch options such as `--qos=gpu` or `-A project`, got `qos gpu` (expected an option, found \"qos\") (Slurm: written as `#SBATCH qos gpu`)"
    )
);
case!(
    slurm_mail_on_the_train_array,
    slurm_train("extra_directives: [\"--mail-type=END\"]"),
    one(
        7,
        "cluster.jobs.train.extra_directives[0]",
        "the train job is a job array, and the HEC rejects arrays that ask for mail at submission; use cluster.notify (one small job after the array mails a summary)"
    )
);
case!(
    notify_address,
    with("cluster:\n  notify: {address: \"me; rm -rf ~\"}\n"),
    one(
        4,
        "cluster.notify.address",
        "expected a mail address like me@lancaster.ac.uk (not starting with `-`), got `me; rm -rf ~`"
    )
);
case!(
    notify_address_that_mail_would_read_as_an_option,
    with("cluster:\n  notify: {address: \"-s@evil.example\"}\n"),
    one(
        4,
        "cluster.notify.address",
        "expected a mail address like me@lancaster.ac.uk (not starting with `-`), got `-s@evil.example`"
    )
);
case!(
    notify_address_with_an_option_for_a_domain,
    with("cluster:\n  notify: {address: \"me@-bspy.example\"}\n"),
    one(
        4,
        "cluster.notify.address",
        "expected a mail address like me@lancaster.ac.uk (not starting with `-`), got `me@-bspy.example`"
    )
);
case!(
    torch_cuda_unknown_build,
    with("install:\n  torch_cuda: cu118\n"),
    "bad.yaml:4:15: install.torch_cuda: unknown variant `cu118`, expected one of `cu130`, `cu128`, `cu126`; did you mean `cu128`?"
);

#[test]
fn v100_with_a_cuda_13_torch_is_warned_about() {
    let cfg = |install: &str| {
        format!(
            "experiment:\n  name: e\ncluster:\n  scheduler: slurm\n  jobs:\n    train: {{gpu_type: tesla_v100-pcie-32gb}}\n{install}"
        )
    };
    let warn = |yaml: &str| -> Vec<String> {
        let l = load_str(yaml, SRC).unwrap();
        config::validate::warnings(&l.config)
            .0
            .into_iter()
            .map(|p| format!("{}: {}", p.path, p.message))
            .collect()
    };
    assert_eq!(
        warn(&cfg("")),
        ["install.torch_cuda: cluster.jobs.train.gpu_type tesla_v100-pcie-32gb runs CUDA 12.9 at most, but the default torch 2.11.0 wheel (CUDA 13) needs CUDA 13: set install.torch_cuda: cu128 (or cu126)"]
    );
    assert_eq!(
        warn(&cfg("install:\n  torch_cuda: cu130\n")),
        ["install.torch_cuda: cluster.jobs.train.gpu_type tesla_v100-pcie-32gb runs CUDA 12.9 at most, but install.torch_cuda: cu130 needs CUDA 13: set install.torch_cuda: cu128 (or cu126)"]
    );
    assert!(warn(&cfg("install:\n  torch_cuda: cu128\n")).is_empty());
    assert!(warn(&edit(&cfg(""), "tesla_v100-pcie-32gb", "nvidia_h200_nvl")).is_empty());
}

#[test]
fn several_problems_are_all_reported_once_each() {
    let yaml = "experiment:\n  name: 1abc\n\
                cluster:\n  gpu_queue: \"a b\"\n  jobs:\n    install: {ngpus: 1}\n\
                train:\n  learning_rate: 0\n  batch_size: 0\n\
                sweep:\n  epochs: [1, 1]\n  threshold: [0.3, 1.5]\n";
    assert_eq!(
        err(yaml),
        "bad.yaml: 7 problems in the config:\n  \
         bad.yaml:2: experiment.name: `1abc` cannot name Grid Engine jobs: use a letter first, then letters, digits, _ . - (at most 64)\n  \
         bad.yaml:4: cluster.gpu_queue: `a b` is not a queue name (letters, digits, _ . - @)\n  \
         bad.yaml:6: cluster.jobs.install.ngpus: this job runs on a CPU node (so no GPU time is spent downloading); only jobs.train and jobs.predict may ask for GPUs\n  \
         bad.yaml:8: train.learning_rate: must be > 0 (e.g. 5e-5), got 0\n  \
         bad.yaml:9: train.batch_size: must be at least 1 (the paper used 16)\n  \
         bad.yaml:11: sweep.epochs[1]: duplicate value 1: equal to sweep.epochs[0]; list each value once\n  \
         bad.yaml:12: sweep.threshold[1]: must be between 0 and 1 exclusive (Table 4 uses 0.3), got 1.5"
    );
}

#[test]
fn flow_style_problems_fall_back_to_the_enclosing_key_line() {
    // locate.rs scans block mappings; a key inside `{…}` gets its parent's line.
    let yaml =
        "experiment: {name: e}\ncluster:\n  jobs:\n    train: {h_rt: \"25:00\", h_vmem: \"0G\"}\n";
    assert_eq!(
        err(yaml),
        "bad.yaml: 2 problems in the config:\n  \
         bad.yaml:4: cluster.jobs.train.h_vmem: `0G` would allow no memory at all; give e.g. 4G (or leave it out for the site default)\n  \
         bad.yaml:4: cluster.jobs.train.h_rt: expected HH:MM:SS (e.g. 00:25:00), got `25:00`"
    );
}

#[test]
fn nearest_key_suggestion() {
    assert_eq!(
        config::nearest("learnig_rate", TRAIN_KEYS),
        Some("learning_rate")
    );
    assert_eq!(
        config::nearest("Batch_Size", TRAIN_KEYS),
        Some("batch_size")
    );
    assert_eq!(config::nearest("epoch", TRAIN_KEYS), Some("epochs"));
    assert_eq!(config::nearest("warmup", TRAIN_KEYS), Some("warmup_ratio"));
    assert_eq!(
        config::nearest("gpu_queu", &["cpu_queue", "gpu_queue", "jobs"]),
        Some("gpu_queue")
    );
    assert_eq!(config::nearest("zzzzqqq", TRAIN_KEYS), None);
    assert_eq!(config::nearest("x", &[]), None);
}

#[test]
fn missing_file_is_a_config_error() {
    let e = config::load(Some(std::path::Path::new("/nonexistent/bad.yaml"))).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert_eq!(
        e.to_string(),
        "/nonexistent/bad.yaml: no such config file (run `hecjob render` with no file for the embedded default, or see configs/)"
    );
}

#[test]
fn the_shipped_configs_are_valid() {
    // The other side of every case above: the real configs load.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for (name, tasks) in [
        ("goemotions", 1),
        ("sweep", 6),
        ("local", 1),
        ("slurm", 1),
        ("slurm-sweep", 6),
    ] {
        let l = config::load(Some(&root.join(format!("configs/{name}.yaml")))).unwrap();
        assert_eq!(l.tasks.len(), tasks, "{name}");
    }
    assert_eq!(
        config::load(None).unwrap().config.experiment.name,
        "goemotions-bert"
    );
}

#[test]
fn binary_exits_2_with_the_message_on_stderr() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        ("semantic.yaml", with("train:\n  learning_rate: 0\n")),
        ("syntax.yaml", "experiment:\n  name: \"e\n".to_string()),
        ("unknown.yaml", with("train:\n  learnig_rate: 1e-5\n")),
        ("empty.yaml", String::new()),
    ];
    for (file, yaml) in &cases {
        std::fs::write(tmp.path().join(file), yaml).unwrap();
        let expected = load_str(yaml, file).unwrap_err().to_string();
        for sub in ["validate", "render"] {
            Hecjob::new()
                .current_dir(tmp.path())
                .args([sub, file])
                .run()
                .code(2)
                .stderr_eq(&format!("error: {expected}\n"))
                .stdout_eq("");
        }
    }
    // Nothing was rendered for the refused configs.
    assert!(!tmp.path().join("jobs").exists());
    Hecjob::new()
        .current_dir(tmp.path())
        .args(["validate", "missing.yaml"])
        .run()
        .code(2)
        .stderr_eq("error: missing.yaml: no such config file (run `hecjob render` with no file for the embedded default, or see configs/)\n");
    // And a valid config exits 0 through the same path.
    std::fs::write(tmp.path().join("good.yaml"), with("")).unwrap();
    Hecjob::new()
        .current_dir(tmp.path())
        .args(["validate", "good.yaml"])
        .run()
        .success()
        .stdout_eq("good.yaml: valid — experiment `e`, model bert-base-uncased, 1 task\n");
    // A model axis: validate names every model and each task's.
    std::fs::write(
        tmp.path().join("models.yaml"),
        with("sweep:\n  model.name: [roberta-base, ./local-bert]\n"),
    )
    .unwrap();
    Hecjob::new()
        .current_dir(tmp.path())
        .args(["validate", "models.yaml"])
        .run()
        .success()
        .stdout_eq(
            "models.yaml: valid — experiment `e`, models roberta-base, ./local-bert, 2 tasks\n  \
             task   1: model.name=roberta-base\n  \
             task   2: model.name=./local-bert\n",
        );
}

// ---- issue 15: values that panicked, or passed and failed later ----

case!(
    h_rt_hours_overflow,
    with("cluster:\n  jobs:\n    train:\n      h_rt: \"5124095576030432:00:00\"\n"),
    one(
        6,
        "cluster.jobs.train.h_rt",
        "`5124095576030432:00:00` is more than a year (8760:00:00): surely a typo"
    )
);
case!(
    s_rt_overflow,
    with("cluster:\n  jobs:\n    download:\n      s_rt: \"5124095576030432:00:00\"\n"),
    one(
        6,
        "cluster.jobs.download.s_rt",
        "`5124095576030432:00:00` is more than a year (8760:00:00): surely a typo"
    )
);
case!(
    h_rt_absurd_in_a_cpu_job,
    with("cluster:\n  jobs:\n    install:\n      h_rt: \"9000:00:00\"\n"),
    one(
        6,
        "cluster.jobs.install.h_rt",
        "`9000:00:00` is more than a year (8760:00:00): surely a typo"
    )
);
case!(
    train_h_rt_too_short_to_checkpoint,
    with("cluster:\n  jobs:\n    train:\n      h_rt: \"00:01:30\"\n"),
    one(
        6,
        "cluster.jobs.train.h_rt",
        "under 00:02:00 leaves no time for the soft limit (s_rt) that lets a task checkpoint before the kill; give at least 00:02:00, or set s_rt yourself"
    )
);
#[test]
fn sweep_product_overflows() {
    // 600^6 × 511 ≈ 2.4e19 tasks: past u64, where `product()` panicked.
    let list = |from: u32, n: u32| {
        (from..from + n)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut yaml = String::from("sweep:\n");
    for k in [
        "seed",
        "epochs",
        "batch_size",
        "log_every",
        "max_train_examples",
    ] {
        yaml.push_str(&format!("  {k}: [{}]\n", list(1, 600)));
    }
    yaml.push_str(&format!("  max_length: [{}]\n", list(2, 511)));
    let lrs: Vec<String> = (1..=600).map(|i| format!("{i}e-7")).collect();
    yaml.push_str(&format!("  learning_rate: [{}]\n", lrs.join(", ")));
    assert_eq!(
        err(&with(&yaml)),
        one(
            3,
            "sweep",
            "600 × 600 × 600 × 600 × 600 × 511 × 600 (past 2^64) tasks is more than 10000; is a list too long?"
        )
    );
}

case!(
    seed_past_i64,
    with("train:\n  seed: 9223372036854775807\n"),
    one(
        4,
        "train.seed",
        "must be at most 9007199254740991 (2^53 - 1), got 9223372036854775807"
    )
);
case!(
    wd_directive_is_reserved,
    with("cluster:\n  jobs:\n    train:\n      extra_directives: [\"-wd /tmp\"]\n"),
    one(
        6,
        "cluster.jobs.train.extra_directives[0]",
        "`-wd` is set by hecjob itself; use the config key for it instead"
    )
);
case!(
    config_with_deep_flow_nesting,
    with(&format!("sweep:\n  seed: {}{}\n", "[".repeat(40_000), "]".repeat(40_000))),
    "bad.yaml:4: `[`/`{` nested more than 64 deep; a hecjob config needs two levels (`sweep: {key: [values]}`)"
);

#[test]
fn encodings_exit_2_with_where_and_a_bom_is_not_content() {
    let tmp = tempfile::tempdir().unwrap();
    let good = with("");
    let latin1 = [b"experiment:\n  name: e\n  description: caf\xE9\n".as_slice()].concat();
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(good.encode_utf16().flat_map(u16::to_le_bytes));
    let cases: [(&str, Vec<u8>, String); 3] = [
        (
            "latin1.yaml",
            latin1,
            "error: latin1.yaml:3:19: byte 40 (0xE9) is not UTF-8; save the file as UTF-8 (a Latin-1 file: `iconv -f LATIN1 -t UTF-8`)\n".into(),
        ),
        (
            "utf16.yaml",
            utf16,
            "error: utf16.yaml: the file is UTF-16 (a byte-order mark or NUL bytes at the start); save it as UTF-8 (e.g. `iconv -f UTF-16 -t UTF-8`)\n".into(),
        ),
        (
            "big.yaml",
            format!("{good}# {}\n", "x".repeat(1 << 20)).into_bytes(),
            "error: big.yaml: larger than 1024 KiB; an experiment config is a page of YAML: is this the right file?\n".into(),
        ),
    ];
    for (file, bytes, expected) in &cases {
        std::fs::write(tmp.path().join(file), bytes).unwrap();
        Hecjob::new()
            .current_dir(tmp.path())
            .args(["validate", file])
            .run()
            .code(2)
            .stderr_eq(expected);
    }
    // A UTF-8 byte-order mark is dropped, not read as a second document.
    std::fs::write(tmp.path().join("bom.yaml"), format!("\u{feff}{good}")).unwrap();
    Hecjob::new()
        .current_dir(tmp.path())
        .args(["validate", "bom.yaml"])
        .run()
        .stderr_eq("")
        .success();
}

// ---- issue 15, should fix: validation ----

case!(
    extra_directive_every_word_is_checked,
    with("cluster:\n  jobs:\n    train:\n      extra_directives: [\"-m ea; touch x\"]\n"),
    one(
        6,
        "cluster.jobs.train.extra_directives[0]",
        "`ea;` in `-m ea; touch x` is not a plain qsub argument (letters, digits and - _ . @ , : = / + % *); qsub reads this line, not a shell, so `;` `|` `$` quotes and the like only garble it"
    )
);
case!(
    revision_climbing_out,
    with("model:\n  name: bert-base-uncased\n  revision: ../../..\n"),
    one(
        5,
        "model.revision",
        "expected a branch, tag or commit hash, got `../../..`"
    )
);
case!(
    experiment_name_null,
    "experiment:\n  name: null\n",
    "bad.yaml:2:3: experiment: `name` is empty (YAML null); write a name, e.g. `name: goemotions-bert` (quote it, \"null\", to mean the word)"
);
case!(
    setup_with_a_syntax_error,
    with("cluster:\n  setup:\n    - module purge\n    - if [ -d /x ]; then echo\n"),
    "bad.yaml: 1 problem in the config:\n  bad.yaml:4: cluster.setup: bash -n: syntax error: unexpected end of file"
);
case!(
    cuda_without_a_gpu,
    with("cluster:\n  jobs:\n    train: {ngpus: 0}\ntrain:\n  device: cuda\n"),
    one(
        7,
        "train.device",
        "`cuda` but cluster.jobs.train.ngpus is 0: the job would get no GPU; ask for one (ngpus: 1) or use `auto`/`cpu`"
    )
);
case!(
    h_vmem_zero,
    with("cluster:\n  jobs:\n    download:\n      h_vmem: 0G\n"),
    one(
        6,
        "cluster.jobs.download.h_vmem",
        "`0G` would allow no memory at all; give e.g. 4G (or leave it out for the site default)"
    )
);

#[test]
fn quoted_null_is_a_name_and_bash_n_passes_good_setup() {
    let l = load_str(
        "experiment:\n  name: \"null\"\ncluster:\n  setup: [\"if true; then\", \"  echo ok\", \"fi\"]\n",
        "ok.yaml",
    );
    // Quoted, it is the word; and setup lines parse as one script together.
    assert_eq!(l.unwrap().config.experiment.name, "null");
}

// ---- issue 22: panics and endless waits in `status` ----

/// A task range read back from submission.json goes through the same checks
/// as a parsed one: a step of 0 panicked (exit 101), four billion tasks
/// aborted on a 34 GB allocation. `--watch 0` was accepted.
#[test]
fn status_refuses_a_corrupt_task_range_and_watch_0() {
    let tmp = tempfile::tempdir().unwrap();
    let record = |tasks: &str| {
        format!(
            r#"{{"hecjob_version":"0.1.0","executor":"sge","submitted_at_unix":0,"config":null,"job_dir":"/j","jobs":[{{"stage":"train","name":"t","script":"train.com","sha256":"","id":{{"number":7,"tasks":{tasks}}},"hold":[],"command":{{"argv":["qsub"],"cwd":"/j"}}}}]}}"#
        )
    };
    let cases = [(
        r#"{"first":1,"last":3,"step":0}"#,
        "task range 1-3:0: the step must be at least 1 at line 1 column 218",
    )];
    for (tasks, why) in cases {
        std::fs::write(tmp.path().join("submission.json"), record(tasks)).unwrap();
        let out = Hecjob::new()
            .current_dir(tmp.path())
            .args(["status", "submission.json"])
            .output();
        assert_eq!(
            String::from_utf8(out.stderr).unwrap(),
            format!("error: submission.json: not a submission record: {why}\n")
        );
        assert_eq!(out.status.code(), Some(3), "{tasks}");
    }
    // Four billion tasks: read as a range, refused before any query.
    std::fs::write(
        tmp.path().join("submission.json"),
        record(r#"{"first":1,"last":4294967295,"step":1}"#),
    )
    .unwrap();
    let out = Hecjob::new()
        .current_dir(tmp.path())
        .args(["status", "submission.json"])
        .output();
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "error: train job 7 (t): task range 1-4294967295:1: 4294967295 tasks, more than the \
         1000000 hecjob follows one by one (no scheduler runs that many in one array); is its \
         submission.json intact?\n"
    );
    assert_eq!(out.status.code(), Some(3));
    let out = Hecjob::new()
        .current_dir(tmp.path())
        .args(["status", "--watch", "0", "submission.json"])
        .output();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "error: --watch 0: the refresh interval is in seconds and must be at least 1 \
         (e.g. --watch 30)\n"
    );
}

/// Issue 22: raw terminal escapes in what an error quotes (a file or folder
/// name, a scheduler's answer) reached the terminal; they are spelt out, and
/// the message keeps its lines.
#[test]
fn errors_print_control_characters_spelt_out() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Hecjob::new()
        .current_dir(tmp.path())
        .args(["validate", "bad\u{1b}]0;owned\u{7}.yaml"])
        .output();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "error: bad\\u{1b}]0;owned\\u{7}.yaml: no such config file (run `hecjob render` with no \
         file for the embedded default, or see configs/)\n"
    );
}
// ---- issue 22: scheduler values that passed and then misbehaved ----

/// Slurm reads a zero `--time` as no limit at all: a zero limit is refused for
/// every way Slurm (and Grid Engine) writes one.
#[test]
fn zero_time_limits_are_refused() {
    for t in ["0", "00:00:00", "0-0"] {
        assert_eq!(
            err(&slurm_train(&format!("h_rt: \"{t}\", s_rt: \"00:01:00\""))),
            format!(
                "bad.yaml: 2 problems in the config:\n  \
                 bad.yaml:7: cluster.jobs.train.h_rt: `{t}` is a limit of no time at all (Slurm reads a zero limit as no limit); give e.g. 00:25:00, or leave it out for the queue's default\n  \
                 bad.yaml:7: cluster.jobs.train.s_rt: the soft limit 00:01:00 must be below h_rt {t} so the task can checkpoint before the kill"
            )
        );
    }
}
case!(
    install_zero_time_limit,
    with("cluster:\n  scheduler: slurm\n  jobs:\n    install:\n      h_rt: \"0\"\n"),
    one(
        7,
        "cluster.jobs.install.h_rt",
        "`0` is a limit of no time at all (Slurm reads a zero limit as no limit); give e.g. 00:25:00, or leave it out for the queue's default"
    )
);
case!(
    zero_soft_limit,
    with("cluster:\n  jobs:\n    train:\n      s_rt: \"00:00:00\"\n"),
    one(
        6,
        "cluster.jobs.train.s_rt",
        "`00:00:00` would send the warning signal as the job starts; give a soft limit above zero and below h_rt (e.g. 00:23:00), or leave it out"
    )
);
case!(
    h_vmem_past_u64,
    with("cluster:\n  scheduler: slurm\n  jobs:\n    download:\n      h_vmem: 99999999999999999999T\n"),
    "bad.yaml:7:15: cluster.jobs.download.h_vmem: `99999999999999999999T` is more memory than can be counted (2^64 bytes, 16777216T): surely a typo"
);
case!(
    slurm_directive_overriding_the_memory_request,
    slurm_train("extra_directives: [\"--mem-per-gpu=20G\"]"),
    one(
        7,
        "cluster.jobs.train.extra_directives[0]",
        "`--mem-per-gpu` replaces the memory, GPU or CPU request hecjob writes from the config (--mem, --gres, --cpus-per-task); use h_vmem, ngpus, gpu_type and ncpus instead (Slurm: written as `#SBATCH --mem-per-gpu=20G`)"
    )
);
case!(
    slurm_directive_that_blocks_sbatch,
    slurm_train("extra_directives: [\"-W\"]"),
    one(
        7,
        "cluster.jobs.train.extra_directives[0]",
        "`-W` is not for a job hecjob submits: sbatch then blocks until the job ends, so the submission times out and the chain is rolled back (Slurm: written as `#SBATCH -W`)"
    )
);
case!(
    slurm_directive_to_another_cluster,
    slurm_train("extra_directives: [\"--clusters=gpu2\"]"),
    one(
        7,
        "cluster.jobs.train.extra_directives[0]",
        "`--clusters` is not for a job hecjob submits: the job then goes to a cluster where squeue and sacct here never look (Slurm: written as `#SBATCH --clusters=gpu2`)"
    )
);

#[test]
fn a_slurm_feature_expression_is_accepted() {
    let l = load_str(
        &slurm_train("extra_directives: [\"--constraint=v100|a100\"]"),
        SRC,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        l.config.cluster.jobs.train.extra_directives,
        ["--constraint=v100|a100"]
    );
    // Grid Engine's -l has no such expression: `|` stays refused there.
    assert!(err(&with(
        "cluster:\n  jobs:\n    train:\n      extra_directives: [\"-l gpu=v100|a100\"]\n"
    ))
    .contains("is not a plain qsub argument"));
}

/// Issue 22: the V100 warning the README promises was never printed
/// (`validate::warnings` was called nowhere). validate, render and submit
/// print it on stderr and go on.
#[test]
fn the_v100_warning_is_printed_by_validate_render_and_submit() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("v100.yaml"),
        "experiment:\n  name: e\ncluster:\n  scheduler: slurm\n  gpu_queue: gpu-short\n  jobs:\n    train: {gpu_type: tesla_v100-pcie-32gb}\n",
    )
    .unwrap();
    let warning = "warning: v100.yaml: install.torch_cuda: cluster.jobs.train.gpu_type tesla_v100-pcie-32gb runs CUDA 12.9 at most, but the default torch 2.11.0 wheel (CUDA 13) needs CUDA 13: set install.torch_cuda: cu128 (or cu126)\n";
    for args in [
        &["validate", "v100.yaml"][..],
        &["render", "v100.yaml", "--dry-run"],
        &["submit", "v100.yaml", "--dry-run"],
    ] {
        let out = Hecjob::new().current_dir(tmp.path()).args(args).output();
        assert!(out.status.success(), "{args:?}: {out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), warning, "{args:?}");
    }
}

// Issue 22: a key written twice in `sweep:` kept the second list and dropped
// the first without a word; elsewhere a duplicate is refused.
case!(
    sweep_duplicate_key,
    "experiment:\n  name: e\nsweep:\n  epochs: [1, 2]\n  learning_rate: [1e-5]\n  epochs: [3]\n",
    "bad.yaml:4:3: sweep: duplicate field `epochs`"
);

// ---- data: which keys go together, ranges, names (issue 19) ----

case!(
    data_label_column_and_columns_together,
    with("data:\n  train: a.csv\n  label_column: tags\n  label_columns: rest\n"),
    one(
        6,
        "data.label_columns",
        "set together with data.label_column; use one: label_column (a list or delimited column) or label_columns (one 0/1 column per label)"
    )
);
case!(
    data_unknown_extension_needs_a_format,
    with("data:\n  train: corpus.txt\n  label_column: tags\n"),
    one(
        3,
        "data.format",
        "cannot tell the format of `corpus.txt` from its extension; set data.format: csv, tsv, jsonl or goemotions"
    )
);
case!(
    data_dev_without_train,
    with("data:\n  dev: dev.csv\n"),
    one(
        4,
        "data.dev",
        "is set but data.train is not; name the train file too (without data.train, GoEmotions' files in paths.data_dir are read)"
    )
);
case!(
    data_columns_on_goemotions_tsv,
    with("data:\n  label_column: labels\n"),
    one(
        4,
        "data.label_column",
        "GoEmotions' TSV has fixed columns (text, label ids, comment id) and no header; drop this key, or set data.format: tsv for a TSV with a header row"
    )
);
case!(
    data_dev_fraction_out_of_range,
    with("data:\n  train: a.csv\n  label_column: l\n  dev_fraction: 1.5\n"),
    one(
        6,
        "data.dev_fraction",
        "expected a share between 0 and 1 (exclusive) of train to hold out as dev, got 1.5"
    )
);
case!(
    data_pos_weight_with_single_label,
    with("data:\n  train: a.csv\n  label_column: l\n  task: single_label\n  pos_weight: auto\n"),
    one(
        7,
        "data.pos_weight",
        "`auto` weighs the positives of each label's binary loss, which single_label data does not have (its loss is one softmax); use none"
    )
);
case!(
    data_labels_named_twice,
    with("data:\n  train: a.csv\n  label_column: l\n  labels: [joy, anger, joy]\n"),
    one(
        6,
        "data.labels[2]",
        "`joy` is already data.labels[0]; expected distinct names"
    )
);
case!(
    data_delimiter_without_column,
    with("data:\n  train: a.csv\n  label_columns: rest\n  label_delimiter: '|'\n"),
    one(
        6,
        "data.label_delimiter",
        "needs data.label_column (the column whose text it splits)"
    )
);
case!(
    data_label_columns_a_word,
    with("data:\n  train: a.csv\n  label_columns: toxic\n"),
    "bad.yaml:5:18: data.label_columns: `toxic`: expected a list of column names (`[toxic]`), or `rest` for every column after the text"
);
case!(
    data_unknown_label_map,
    with("data:\n  label_map: plutchik\n"),
    "bad.yaml:4:14: data.label_map: `plutchik`: expected ekman or sentiment (a custom map is written in the config's data.label_map)"
);

// ---- predict: ----

case!(
    predict_precision_misspelt,
    with("predict:\n  model: best\n  inputs: [a.txt]\n  precision: bf17\n"),
    "bad.yaml:6:14: predict.precision: unknown variant `bf17`, expected one of `auto`, `fp32`, `bf16`, `fp16`; did you mean `bf16`?"
);
case!(
    predict_without_inputs,
    with("predict:\n  model: best\n  inputs: []\n"),
    one(
        5,
        "predict.inputs",
        "empty; list the files (or globs such as corpus/*.txt) to label"
    )
);
case!(
    predict_shard_size_zero,
    with("predict:\n  model: best\n  inputs: [a.txt]\n  shard_size: 0\n"),
    one(
        6,
        "predict.shard_size",
        "must be at least 1 (input rows per array task, e.g. 100000)"
    )
);
case!(
    predict_threshold_not_a_probability,
    with("predict:\n  model: m\n  inputs: [a.txt]\n  threshold: 1.5\n"),
    one(
        6,
        "predict.threshold",
        "1.5 is not a probability strictly between 0 and 1 (e.g. 0.3), or leave it out for the model's own thresholds"
    )
);
case!(
    predict_empty_model,
    with("predict:\n  model: ''\n  inputs: [a.txt]\n"),
    one(
        4,
        "predict.model",
        "empty; give a model directory saved by `hecjob train`, or `best` for the sweep's best task"
    )
);
case!(
    predict_unknown_key,
    with("predict:\n  model: best\n  inputs: [a.txt]\n  shards: 4\n"),
    "bad.yaml:6:3: predict: unknown field `shards`, expected one of `model`, `inputs`, `shard_size`, `format`, `probabilities`, `threshold`, `batch_size`, `data_format`, `text_column`, `text_join`, `id_column`, `precision`, `quantize`; did you mean `shard_size`?"
);
case!(
    predict_without_model,
    with("predict:\n  inputs: [a.txt]\n"),
    "bad.yaml:4:3: predict: missing field `model`"
);
case!(
    predict_job_may_ask_for_a_gpu_but_download_may_not,
    with("cluster:\n  jobs:\n    predict:\n      ngpus: 1\n    download:\n      ngpus: 1\n"),
    one(
        8,
        "cluster.jobs.download.ngpus",
        "this job runs on a CPU node (so no GPU time is spent downloading); only jobs.train and jobs.predict may ask for GPUs"
    )
);
