//! Semantic checks after the YAML parsed: every problem with its key path,
//! what was expected, and (where it helps) what to write instead.
//!
//! The strict patterns here are also the shell-safety boundary: values that are
//! written unquoted into `#$` directive lines (queues, resources) must match
//! them; `extra_directives` get a shape check (`#$` lines are comments to bash);
//! everything else is shell-quoted by the renderer.

use super::schema::*;
use crate::scheduler::resources::parse_memory;

/// One problem: the YAML key path and the message.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

#[derive(Default)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    pub fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem {
            path: path.into(),
            message: message.into(),
        });
    }
}

fn no_control_chars(p: &mut Problems, path: &str, v: &str) -> bool {
    if v.chars().any(char::is_control) {
        p.push(
            path,
            "must be a single line without control characters (newlines would break the job script)",
        );
        return false;
    }
    true
}

/// Grid Engine job names: no `/ : @ \ * ?` or whitespace (qsub(1)); we also
/// require a leading letter because `-hold_jid 123abc` would read as a job id.
pub fn is_job_name(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(f) if f.is_ascii_alphabetic())
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

fn check_queue(p: &mut Problems, key: String, q: &str, sched: SchedulerKind) {
    if let Err(e) = sched.dialect().check_queue(q) {
        p.push(key, e);
    }
}

fn is_memory(s: &str) -> bool {
    let digits = s.trim_end_matches(['K', 'k', 'M', 'm', 'G', 'g', 'T', 't']);
    (s.len() - digits.len()) <= 1
        && !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.chars().filter(|&c| c == '.').count() <= 1
        && digits.chars().next().is_some_and(|c| c.is_ascii_digit())
}

fn is_module(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.+/-".contains(c))
}

pub use crate::util::error::lit;

/// Paths are shell-quoted in the scripts and used as written by hecjob, so a
/// leading `~` would be a directory named `~`, never the home directory.
fn no_tilde(p: &mut Problems, path: &str, v: &str) -> bool {
    if v.starts_with('~') {
        p.push(
            path,
            format!("`{}`: `~` is not expanded (the path is used as written); write the absolute path, e.g. /home/…", lit(v)),
        );
        return false;
    }
    true
}

/// A run-time limit past a year is a typo (and far past any queue's limit).
pub const MAX_RUNTIME_SECS: u64 = 8760 * 3600;

/// The largest seed: libtorch seeds are i64 and each epoch adds its number,
/// and 2^53 - 1 also reads back exactly from metrics.json in any JSON reader.
pub const MAX_SEED: u64 = (1 << 53) - 1;

fn check_resources(
    p: &mut Problems,
    path: &str,
    r: &JobResources,
    cpu_job: bool,
    sched: SchedulerKind,
) {
    if let Some(q) = &r.queue {
        check_queue(p, format!("{path}.queue"), q, sched);
    }
    // The shapes and sizes were read where the YAML was (Memory, TimeLimit):
    // what is left is what the scheduler takes and what makes sense.
    if let Some(m) = r.h_vmem.as_ref().filter(|m| m.bytes() == 0) {
        p.push(
            format!("{path}.h_vmem"),
            format!("`{}` would allow no memory at all; give e.g. 4G (or leave it out for the site default)", lit(m.as_str())),
        );
    }
    check_time_limits(p, path, r, sched);
    if r.ncpus == Some(0) {
        p.push(
            format!("{path}.ncpus"),
            "must be at least 1 (or leave it out)",
        );
    }
    if let Some(t) = &r.gpu_type {
        check_gpu_type(p, path, t, r.ngpus.unwrap_or(0), sched);
    }
    if let Some(g) = r.ngpus {
        if cpu_job && g > 0 {
            p.push(
                format!("{path}.ngpus"),
                "this job runs on a CPU node (so no GPU time is spent downloading); only jobs.train and jobs.predict may ask for GPUs",
            );
        }
    }
    for (i, d) in r.extra_directives.iter().enumerate() {
        let dp = format!("{path}.extra_directives[{i}]");
        if !no_control_chars(p, &dp, d) {
            continue;
        }
        if let Err(e) = sched.dialect().check_extra_directive(d, !cpu_job) {
            p.push(dp, e);
        }
    }
}

/// `h_rt` and `s_rt`: written as the scheduler writes a time limit, above
/// zero, below a year, the soft one below the hard one (and as far below as
/// the scheduler can signal).
fn check_time_limits(p: &mut Problems, path: &str, r: &JobResources, sched: SchedulerKind) {
    let dialect = sched.dialect();
    // A limit as this scheduler writes one, with its seconds.
    let limit = |key: &str, t: &TimeLimit, example: &str, p: &mut Problems| -> Option<u64> {
        let text = lit(t.as_str());
        let problem = if !dialect.is_time(t.as_str()) {
            dialect.time_expected(example, t.as_str())
        } else if t.secs() > MAX_RUNTIME_SECS {
            format!("`{text}` is more than a year (8760:00:00): surely a typo")
        } else if t.secs() == 0 && key == "h_rt" {
            format!(
                "`{text}` is a limit of no time at all (Slurm reads a zero limit as no limit); \
                 give e.g. 00:25:00, or leave it out for the queue's default"
            )
        } else if t.secs() == 0 {
            format!(
                "`{text}` would send the warning signal as the job starts; give a soft limit \
                 above zero and below h_rt (e.g. 00:23:00), or leave it out"
            )
        } else {
            return Some(t.secs());
        };
        p.push(format!("{path}.{key}"), problem);
        None
    };
    if let Some(t) = &r.h_rt {
        limit("h_rt", t, "00:25:00", p);
    }
    let hard_shaped = r
        .h_rt
        .as_ref()
        .filter(|t| dialect.is_time(t.as_str()))
        .map(TimeLimit::secs);
    if let Some(t) = &r.s_rt {
        if let (Some(s), Some(h)) = (limit("s_rt", t, "00:23:00", p), hard_shaped) {
            let h_rt = r.h_rt.as_ref().map(TimeLimit::as_str).unwrap_or("");
            if s >= h {
                p.push(
                    format!("{path}.s_rt"),
                    format!("the soft limit {t} must be below h_rt {h_rt} so the task can checkpoint before the kill"),
                );
            } else if let Some(e) = dialect.check_soft_limit(t.as_str(), h_rt, s, h) {
                p.push(format!("{path}.s_rt"), e);
            }
        }
    }
}

fn check_gpu_type(p: &mut Problems, path: &str, t: &str, gpus: u32, sched: SchedulerKind) {
    let key = format!("{path}.gpu_type");
    if !sched.dialect().gpu_types() {
        p.push(
            key,
            format!(
                "GPU types are Slurm GRES types (--gres=gpu:TYPE:N); {} asks for GPUs by count only: \
                 remove gpu_type, or set cluster.scheduler: slurm",
                sched.display_name()
            ),
        );
    } else if t.is_empty()
        || !t
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    {
        p.push(
            key,
            format!(
                "`{}` is not a GRES type (letters, digits, _ . -; e.g. nvidia_h200_nvl, tesla_v100-pcie-32gb)",
                lit(t)
            ),
        );
    } else if gpus == 0 {
        p.push(
            key,
            "a GPU type without GPUs: set ngpus (e.g. 1) or remove gpu_type",
        );
    }
}

/// A mail address as `-M` and `mail` take it: local@domain, no spaces or quotes,
/// and no leading `-` (`mail` would read `-s@evil.example` as its `-s` option;
/// the templates also put `--` before the address).
fn is_mail_address(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !local.starts_with('-')
        && !domain.starts_with('-')
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._%+-".contains(c))
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-".contains(c))
}

/// One `cluster.gpu_types` entry: a name, a memory size that is more than
/// nothing, a GRES type written as Slurm writes them. Only hecjob reads these
/// (the report), so the note is free text.
fn check_site_gpu(p: &mut Problems, path: &str, g: &SiteGpu) {
    if g.name.trim().is_empty() || g.name.chars().any(char::is_control) {
        p.push(
            format!("{path}.name"),
            "expected the type's name as people write it (e.g. A100-80GB)",
        );
    }
    if !is_memory(&g.memory) || parse_memory(&g.memory).unwrap_or(0) == 0 {
        p.push(
            format!("{path}.memory"),
            format!(
                "expected the card's memory like 80G or 46068M, got `{}`",
                lit(&g.memory)
            ),
        );
    }
    if let Some(t) = &g.gres {
        if t.is_empty()
            || !t
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        {
            p.push(
                format!("{path}.gres"),
                format!(
                    "`{}` is not a GRES type (letters, digits, _ . -; e.g. nvidia_a100_80gb)",
                    lit(t)
                ),
            );
        }
    }
}

fn check_notify(p: &mut Problems, n: &Notify) {
    if !is_mail_address(&n.address) {
        p.push(
            "cluster.notify.address",
            format!(
                "expected a mail address like me@lancaster.ac.uk (not starting with `-`), got `{}`",
                lit(&n.address)
            ),
        );
    }
    if n.on.is_empty() {
        p.push(
            "cluster.notify.on",
            "list when to mail: [end], [fail] or [end, fail] (or leave notify out)",
        );
    }
}

/// GRES types of GPUs whose driver runs CUDA 12 at most (the HEC's V100s: 12.9).
const CUDA12_GPU_TYPES: &[&str] = &["v100"];

/// Things that are allowed but probably wrong: printed as warnings, never fatal.
pub fn warnings(cfg: &Config) -> Problems {
    let mut p = Problems::default();
    let train = &cfg.cluster.jobs.train;
    let cuda13 = match cfg.install.torch_cuda {
        None => cfg.install.from == InstallFrom::Source,
        Some(b) => b.cuda_major() >= 13,
    };
    if let Some(t) = &train.gpu_type {
        let lower = t.to_ascii_lowercase();
        if cuda13 && CUDA12_GPU_TYPES.iter().any(|g| lower.contains(g)) {
            let build = cfg
                .install
                .torch_cuda
                .map(|b| format!("install.torch_cuda: {}", b.as_str()))
                .unwrap_or_else(|| {
                    format!(
                        "the default torch {} wheel (CUDA 13)",
                        cfg.install.torch_version
                    )
                });
            p.push(
                "install.torch_cuda",
                format!(
                    "cluster.jobs.train.gpu_type {t} runs CUDA 12.9 at most, but {build} needs CUDA 13: \
                     set install.torch_cuda: cu128 (or cu126)"
                ),
            );
        }
    }
    p
}

/// Every problem of a config, in the order of its sections (experiment,
/// cluster, install, paths and data, model, train).
pub fn check(cfg: &Config) -> Problems {
    let mut p = Problems::default();
    check_experiment(&mut p, cfg);
    check_cluster(&mut p, &cfg.cluster);
    check_install(&mut p, &cfg.install);
    check_paths(&mut p, cfg);
    super::data_keys::check_data(&mut p, &cfg.data);
    check_model(&mut p, &cfg.model);
    check_train(&mut p, "train", &cfg.train);
    if cfg.train.device == DeviceChoice::Cuda && cfg.cluster.jobs.train.ngpus == Some(0) {
        p.push(
            "train.device",
            "`cuda` but cluster.jobs.train.ngpus is 0: the job would get no GPU; ask for one (ngpus: 1) or use `auto`/`cpu`",
        );
    }
    check_setup(&mut p, &cfg.cluster.setup);
    if let Some(pr) = &cfg.predict {
        check_predict(&mut p, pr);
    }
    p
}

/// `predict:`: a model, at least one input, sizes that make sense.
fn check_predict(p: &mut Problems, pr: &Predict) {
    if pr.model.trim().is_empty() {
        p.push(
            "predict.model",
            "empty; give a model directory saved by `hecjob train`, or `best` for the sweep's best task",
        );
    } else {
        no_control_chars(p, "predict.model", &pr.model);
    }
    if pr.inputs.is_empty() {
        p.push(
            "predict.inputs",
            "empty; list the files (or globs such as corpus/*.txt) to label",
        );
    }
    for (i, input) in pr.inputs.iter().enumerate() {
        let path = format!("predict.inputs[{i}]");
        if input.trim().is_empty() {
            p.push(path, "empty; give a file or a glob such as corpus/*.txt");
        } else {
            no_control_chars(p, &path, input);
        }
    }
    if pr.shard_size == 0 {
        p.push(
            "predict.shard_size",
            "must be at least 1 (input rows per array task, e.g. 100000)",
        );
    }
    if pr.batch_size == Some(0) {
        p.push("predict.batch_size", "must be at least 1 (e.g. 64)");
    }
    if let Some(t) = pr.threshold.filter(|t| !(*t > 0.0 && *t < 1.0)) {
        p.push(
            "predict.threshold",
            format!("{t} is not a probability strictly between 0 and 1 (e.g. 0.3), or leave it out for the model's own thresholds"),
        );
    }
}

/// `experiment:`: a name the scheduler accepts, a description without control characters.
fn check_experiment(p: &mut Problems, cfg: &Config) {
    let name = &cfg.experiment.name;
    if !is_job_name(name) {
        p.push(
            "experiment.name",
            format!(
                "`{}` cannot name {} jobs: use a letter first, then letters, digits, _ . - (at most 64)",
                lit(name),
                cfg.cluster.scheduler.display_name()
            ),
        );
    }
    if let Some(d) = &cfg.experiment.description {
        no_control_chars(p, "experiment.description", d);
    }
}

/// `cluster:`: queues, storage root, modules, setup lines, the task cap,
/// notification and each job's resources.
fn check_cluster(p: &mut Problems, c: &Cluster) {
    for (key, q) in [
        ("cluster.cpu_queue", &c.cpu_queue),
        ("cluster.gpu_queue", &c.gpu_queue),
    ] {
        check_queue(p, key.to_string(), q, c.scheduler);
    }
    check_storage_root(p, &c.storage_root);
    for (i, m) in c.modules.iter().enumerate() {
        if !is_module(m) {
            p.push(
                format!("cluster.modules[{i}]"),
                format!("`{}` is not a module name (e.g. anaconda3/wmlce)", lit(m)),
            );
        }
    }
    for (i, s) in c.setup.iter().enumerate() {
        no_control_chars(p, &format!("cluster.setup[{i}]"), s);
    }
    if c.max_concurrent_tasks == Some(0) {
        p.push(
            "cluster.max_concurrent_tasks",
            "must be at least 1 (or leave it out for no cap)",
        );
    }
    if c.retries > super::MAX_RETRIES {
        p.push(
            "cluster.retries",
            format!(
                "{} rounds is more than the {} hecjob runs: a task still failing after that needs a person (see hecjob status)",
                c.retries,
                super::MAX_RETRIES
            ),
        );
    }
    if let Some(n) = &c.notify {
        check_notify(p, n);
    }
    for (i, g) in c.gpu_types.iter().enumerate() {
        check_site_gpu(p, &format!("cluster.gpu_types[{i}]"), g);
    }
    check_jobs(p, c);
}

/// `cluster.storage_root`: a variable, or an absolute path other tools can
/// write into their scripts.
fn check_storage_root(p: &mut Problems, storage_root: &str) {
    if no_control_chars(p, "cluster.storage_root", storage_root)
        && crate::util::shell::var_reference(storage_root).is_none()
    {
        if !storage_root.starts_with('/') {
            p.push(
                "cluster.storage_root",
                format!(
                    "expected an environment variable such as `$global_storage` or an absolute path, got `{}`",
                    lit(storage_root)
                ),
            );
        } else if !crate::util::shell::is_tool_safe_path(storage_root) {
            // The venv, pip cache and cargo home live under it, and python's
            // venv writes it into a launcher that a shell runs (shell.rs).
            p.push(
                "cluster.storage_root",
                format!(
                    "`{}`: other tools (python's venv, pip) write this path into scripts they run, so it may hold only {}; choose a directory without spaces, quotes, `$`, backticks, backslashes or `:`",
                    lit(storage_root),
                    crate::util::shell::TOOL_SAFE_PATH_CHARS
                ),
            );
        }
    }
}

/// `cluster.jobs`: each job's resources, and room for the train job's soft limit.
fn check_jobs(p: &mut Problems, c: &Cluster) {
    check_resources(
        p,
        "cluster.jobs.install",
        &c.jobs.install,
        true,
        c.scheduler,
    );
    check_resources(
        p,
        "cluster.jobs.download",
        &c.jobs.download,
        true,
        c.scheduler,
    );
    check_resources(p, "cluster.jobs.train", &c.jobs.train, false, c.scheduler);
    check_resources(
        p,
        "cluster.jobs.predict",
        &c.jobs.predict,
        false,
        c.scheduler,
    );
    // fill_defaults gives the train job a soft limit only when h_rt leaves
    // room for one (2 minutes); without it the task is killed mid-epoch.
    let train_rt = c
        .jobs
        .train
        .h_rt
        .as_ref()
        .filter(|t| c.scheduler.dialect().is_time(t.as_str()))
        .map(TimeLimit::secs);
    if c.jobs.train.s_rt.is_none() && train_rt.is_some_and(|s| s > 0 && s < 120) {
        p.push(
            "cluster.jobs.train.h_rt",
            "under 00:02:00 leaves no time for the soft limit (s_rt) that lets a task checkpoint before the kill; give at least 00:02:00, or set s_rt yourself",
        );
    }
}

/// `install:`: where hecjob comes from, and the torch version.
fn check_install(p: &mut Problems, inst: &Install) {
    if no_control_chars(p, "install.source", &inst.source) {
        no_tilde(p, "install.source", &inst.source);
    }
    match (&inst.from, &inst.binary) {
        (InstallFrom::Binary, None) => p.push(
            "install.binary",
            "`from: binary` needs the path of a prebuilt hecjob binary",
        ),
        (_, Some(b)) if no_control_chars(p, "install.binary", b) => {
            no_tilde(p, "install.binary", b);
        }
        _ => {}
    }
    let tv = &inst.torch_version;
    if tv.split('.').count() != 3
        || !tv
            .split('.')
            .all(|x| !x.is_empty() && x.chars().all(|c| c.is_ascii_digit()))
    {
        p.push(
            "install.torch_version",
            format!("expected a version like 2.11.0, got `{}`", lit(tv)),
        );
    }
}

/// `paths:` and `data.base_url`.
fn check_paths(p: &mut Problems, cfg: &Config) {
    for (key, v) in [
        ("paths.data_dir", &cfg.paths.data_dir),
        ("paths.model_cache", &cfg.paths.model_cache),
        ("paths.output_dir", &cfg.paths.output_dir),
    ] {
        if v.is_empty() {
            p.push(key, "must not be empty");
        } else if no_control_chars(p, key, v) {
            no_tilde(p, key, v);
        }
    }
    if let Some(u) = &cfg.data.base_url {
        if !(u.starts_with("http://") || u.starts_with("https://"))
            || u.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            p.push(
                "data.base_url",
                format!("expected an http(s) URL without spaces, got `{}`", lit(u)),
            );
        }
    }
}

/// `model:`: a hub id or a local path, and the revision.
fn check_model(p: &mut Problems, m: &Model) {
    check_model_name(p, "model.name", &m.name);
    // The hub's own rule (`..` refused), whatever the name: one check, here and on the node.
    if let Some(Err(e)) = m
        .revision
        .as_deref()
        .map(crate::fetch::model_ref::check_revision)
    {
        p.push("model.revision", e);
    }
}

/// A `model.name` (or one value of `sweep.model.name`, at `path`): a hub id
/// or a local path.
pub(super) fn check_model_name(p: &mut Problems, path: &str, name: &str) {
    if name.starts_with('~') {
        no_tilde(p, path, name);
    } else if let Err(e) = crate::fetch::model_ref::check_name(name) {
        p.push(path, e);
    } else {
        no_control_chars(p, path, name);
    }
}

/// `bash -n` over the setup lines: a syntax error is found by `validate`, not
/// by the job on the node (where it stops every job with exit 100).
fn check_setup(p: &mut Problems, setup: &[String]) {
    if setup.is_empty() || setup.iter().any(|s| s.chars().any(char::is_control)) {
        return;
    }
    let script = setup.join("\n") + "\n";
    let Some(stderr) = bash_syntax_errors(&script) else {
        return;
    };
    // bash -n: "bash: line N: syntax error …" (N counts setup lines from 1).
    let first = stderr.lines().next().unwrap_or_default();
    let line = first
        .split("line ")
        .nth(1)
        .and_then(|r| r.split(':').next())
        .and_then(|n| n.trim().parse::<usize>().ok())
        .filter(|&n| (1..=setup.len()).contains(&n));
    let at = line.map_or("cluster.setup".to_string(), |n| {
        format!("cluster.setup[{}]", n - 1)
    });
    let msg = stderr
        .lines()
        .map(|l| {
            l.split_once(": line ")
                .map_or(l, |(_, r)| r.split_once(": ").map_or(r, |(_, m)| m))
        })
        .collect::<Vec<_>>()
        .join("; ");
    p.push(at, format!("bash -n: {msg}"));
}

/// bash -n's complaints about `script`, or None when it is fine (or no bash
/// is there to ask). Bounded: bash -n only parses; it is killed after 10 s.
fn bash_syntax_errors(script: &str) -> Option<String> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new("bash")
        .arg("-n")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    let _ = child.stdin.take()?.write_all(script.as_bytes());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let mut err = String::new();
                std::io::Read::read_to_string(&mut child.stderr.take()?, &mut err).ok()?;
                return (!status.success()).then(|| err.trim().to_string());
            }
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(5))
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

pub fn check_train(p: &mut Problems, path: &str, t: &Train) {
    let k = |key: &str| format!("{path}.{key}");
    if !(t.learning_rate.is_finite() && t.learning_rate > 0.0) {
        p.push(
            k("learning_rate"),
            format!("must be > 0 (e.g. 5e-5), got {}", t.learning_rate),
        );
    } else if t.learning_rate >= 1.0 {
        p.push(
            k("learning_rate"),
            format!(
                "must be < 1 for fine-tuning (e.g. 5e-5), got {}",
                t.learning_rate
            ),
        );
    }
    if t.batch_size < 1 {
        p.push(k("batch_size"), "must be at least 1 (the paper used 16)");
    }
    if t.epochs < 1 {
        p.push(k("epochs"), "must be at least 1 (the paper used 4)");
    }
    if !(2..=512).contains(&t.max_length) {
        p.push(
            k("max_length"),
            format!("must be between 2 and 512 tokens, got {}", t.max_length),
        );
    }
    if !(t.threshold > 0.0 && t.threshold < 1.0) {
        p.push(
            k("threshold"),
            format!(
                "must be between 0 and 1 exclusive (Table 4 uses 0.3), got {}",
                t.threshold
            ),
        );
    }
    if !(0.0..1.0).contains(&t.dropout) {
        p.push(
            k("dropout"),
            format!("must be in [0, 1), got {}", t.dropout),
        );
    }
    if !(0.0..=1.0).contains(&t.warmup_ratio) {
        p.push(
            k("warmup_ratio"),
            format!("must be in [0, 1], got {}", t.warmup_ratio),
        );
    }
    if !(t.weight_decay.is_finite() && t.weight_decay >= 0.0) {
        p.push(
            k("weight_decay"),
            format!("must be >= 0, got {}", t.weight_decay),
        );
    }
    if t.max_train_examples == Some(0) {
        p.push(
            k("max_train_examples"),
            "must be at least 1 (or leave it out to use every example)",
        );
    }
    if t.log_every < 1 {
        p.push(k("log_every"), "must be at least 1");
    }
    if t.seed > MAX_SEED {
        p.push(
            k("seed"),
            format!("must be at most {MAX_SEED} (2^53 - 1), got {}", t.seed),
        );
    }
}
