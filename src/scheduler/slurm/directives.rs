//! The `#SBATCH` lines of a job script: written by hecjob ([`lines`]), read back as
//! sbatch reads them ([`Directives::parse`]), and checked when they come from a
//! config's `extra_directives` ([`check_extra`]).
//!
//! sbatch reads `#SBATCH` lines only up to the first line that is neither blank nor a
//! comment, and every word of such a line is an option (`--mail-type=END -o /x` sets
//! the output file too). Options are `-X value`, `--name=value` or `--name value`.
//! Log file names take Slurm's patterns: `%x` job name, `%j` job id, `%A` array job
//! id, `%a` array task id, `%%` a percent sign ([`expand_pattern`]).

use crate::jobdir::job_id::TaskRange;

/// Options that take no value.
const FLAGS: &[&str] = &[
    "--requeue",
    "--no-requeue",
    "--exclusive",
    "--hold",
    "-H",
    "--parsable",
    "--test-only",
    "--overcommit",
    "-O",
    "--contiguous",
    "--no-kill",
    "-k",
    "--wait",
    "-W",
    "--quiet",
    "-Q",
    "--verbose",
    "-v",
    "--spread-job",
    "--use-min-nodes",
    "--ignore-pbs",
    "--get-user-env",
    "--oversubscribe",
    "-s",
];

/// The long name of a short option hecjob cares about.
fn long_name(opt: &str) -> &str {
    match opt {
        "-J" => "--job-name",
        "-o" => "--output",
        "-e" => "--error",
        "-a" => "--array",
        "-p" => "--partition",
        "-D" => "--chdir",
        "-t" => "--time",
        "-c" => "--cpus-per-task",
        "-d" => "--dependency",
        "-G" => "--gpus",
        other => other,
    }
}

/// Options hecjob writes itself (long names): a second one in `extra_directives`
/// would silently win or clash. The config has a key for each of these.
pub const RESERVED: &[&str] = &[
    "--job-name",
    "--output",
    "--error",
    "--array",
    "--partition",
    "--chdir",
    "--time",
    "--mem",
    "--mem-per-cpu",
    "--cpus-per-task",
    "--gres",
    "--gpus",
    "--dependency",
    "--signal",
    "--requeue",
    "--no-requeue",
    "--open-mode",
    "--parsable",
    "--wrap",
    "--kill-on-invalid-dep",
];

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directives {
    pub name: Option<String>,
    pub stdout: Option<String>,
    pub stderr: Option<String>,
    pub partition: Option<String>,
    /// `--array` as written (`1-6%3`).
    pub array: Option<String>,
    pub tasks: Option<TaskRange>,
    pub chdir: Option<String>,
    /// Every option in order, long names for the ones above, with its value.
    pub all: Vec<(String, Option<String>)>,
}

/// Split an option word list into (option, value) pairs.
fn pairs(words: &[String]) -> Result<Vec<(String, Option<String>)>, String> {
    let mut out = Vec::new();
    let mut it = words.iter();
    while let Some(w) = it.next() {
        if !w.starts_with('-') || w == "-" || w == "--" {
            return Err(format!("expected an option, found {w:?}"));
        }
        if let Some((name, value)) = w.split_once('=').filter(|_| w.starts_with("--")) {
            out.push((name.to_string(), Some(value.to_string())));
        } else if FLAGS.contains(&w.as_str()) {
            out.push((w.clone(), None));
        } else if !w.starts_with("--") && w.len() > 2 {
            // `-Jname`: a short option with its value attached.
            out.push((w[..2].to_string(), Some(w[2..].to_string())));
        } else {
            match it.next() {
                Some(v) => out.push((w.clone(), Some(v.clone()))),
                None => return Err(format!("option {w} needs a value")),
            }
        }
    }
    Ok(out)
}

impl Directives {
    /// Read a script's `#SBATCH` lines as sbatch does (up to the first command).
    pub fn parse(script: &str) -> Result<Directives, String> {
        let mut d = Directives::default();
        for (i, line) in script.lines().enumerate() {
            let t = line.trim_start();
            if let Some(rest) = t.strip_prefix("#SBATCH") {
                let words: Vec<String> = rest.split_whitespace().map(str::to_string).collect();
                for (opt, value) in pairs(&words).map_err(|e| format!("line {}: {e}", i + 1))? {
                    d.apply(&opt, value)
                        .map_err(|e| format!("line {}: {e}", i + 1))?;
                }
            } else if !(t.is_empty() || t.starts_with('#')) {
                break;
            }
        }
        Ok(d)
    }

    /// Command-line options on top of the script's own, as sbatch combines them.
    pub fn apply_options(&mut self, options: &[String]) -> Result<(), String> {
        for (opt, value) in pairs(options)? {
            self.apply(&opt, value)?;
        }
        Ok(())
    }

    fn apply(&mut self, opt: &str, value: Option<String>) -> Result<(), String> {
        let name = long_name(opt).to_string();
        match name.as_str() {
            "--job-name" => self.name = value.clone(),
            "--output" => self.stdout = value.clone(),
            "--error" => self.stderr = value.clone(),
            "--partition" => self.partition = value.clone(),
            "--chdir" => self.chdir = value.clone(),
            "--array" => {
                let spec = value.clone().unwrap_or_default();
                self.tasks = Some(array_range(&spec).ok_or_else(|| {
                    format!("--array {spec:?}: hecjob reads ranges like 1-6 or 1-6%3")
                })?);
                self.array = Some(spec);
            }
            _ => {}
        }
        self.all.push((name, value));
        Ok(())
    }
}

/// `1-6%3` → tasks 1..=6 (the `%3` cap does not change the set); `4`; `1-7:2`.
pub fn array_range(spec: &str) -> Option<TaskRange> {
    let set = spec.split_once('%').map_or(spec, |(s, _)| s);
    TaskRange::parse(set)
}

/// What a job asks for, in Slurm's terms; [`lines`] writes it as `#SBATCH` options.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub name: String,
    pub partition: String,
    /// Log file patterns (`logs/%x.%A_%a.out`).
    pub stdout: String,
    pub stderr: String,
    /// `--mem` value (`40G`).
    pub mem: Option<String>,
    /// `--time` value (`02:00:00`, `1-12:00:00`).
    pub time: Option<String>,
    pub cpus: Option<u32>,
    /// GPUs per job and their GRES type (`nvidia_h200_nvl`), if one is asked for.
    pub gpus: u32,
    pub gpu_type: Option<String>,
    /// Array tasks `1-N` and the cap on how many run at once.
    pub array: Option<(u32, Option<u32>)>,
    /// Signal the batch shell with USR1 this many seconds before `--time`, and let
    /// the script requeue the task (`--requeue`).
    pub signal_before_s: Option<u64>,
    /// Extra options from the config, one `#SBATCH` line each, as written.
    pub extra: Vec<String>,
}

/// The `#SBATCH` options of a request, in the order the HEC's own scripts use.
pub fn lines(r: &Request) -> Vec<String> {
    let mut d = vec![
        format!("-J {}", r.name),
        format!("-p {}", r.partition),
        format!("-o {}", r.stdout),
        format!("-e {}", r.stderr),
    ];
    if let Some(m) = &r.mem {
        d.push(format!("--mem={m}"));
    }
    if let Some(t) = &r.time {
        d.push(format!("--time={t}"));
    }
    if let Some(c) = r.cpus {
        d.push(format!("--cpus-per-task={c}"));
    }
    if r.gpus > 0 {
        match &r.gpu_type {
            Some(t) => d.push(format!("--gres=gpu:{t}:{}", r.gpus)),
            None => d.push(format!("--gres=gpu:{}", r.gpus)),
        }
    }
    if let Some((n, cap)) = r.array {
        match cap {
            Some(k) => d.push(format!("--array=1-{n}%{k}")),
            None => d.push(format!("--array=1-{n}")),
        }
    }
    if let Some(s) = r.signal_before_s {
        d.push(format!("--signal=B:USR1@{s}"));
        d.push("--requeue".into());
        // A requeued task appends to its log instead of truncating the first run's.
        d.push("--open-mode=append".into());
    }
    d.extend(r.extra.iter().cloned());
    d
}

/// Check one `extra_directives` entry for Slurm: options only, none hecjob sets
/// itself. The message names the problem; the caller adds the key path.
///
/// Read the way sbatch's getopt reads it, which is laxer than it looks: a long
/// option may be abbreviated (`--sig=…` is `--signal`), a flag hecjob does not
/// know may take no value (`--nice --time=…` sets the time), and short options
/// bundle (`-st10` is `-s -t10`). So every word that starts with `-` is checked
/// as an option, every prefix of a reserved name counts as that name, and a
/// short option's value must be a word of its own.
pub fn check_extra(d: &str) -> Result<(), String> {
    let words: Vec<String> = d.split_whitespace().map(str::to_string).collect();
    if words.is_empty() {
        return Err("empty; expected an sbatch option such as `--mail-type=END`".into());
    }
    let opts = pairs(&words).map_err(|e| {
        format!("expected sbatch options such as `--qos=gpu` or `-A project`, got `{d}` ({e})")
    })?;
    for (opt, value) in &opts {
        let bare = opt[1..].trim_start_matches('-');
        let name_ok = opt.len() > 1
            && !bare.is_empty()
            && bare
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !name_ok {
            return Err(format!("`{opt}` is not an sbatch option name"));
        }
        let long = long_name(opt);
        if RESERVED.contains(&long) {
            return Err(format!(
                "`{opt}` is set by hecjob itself; use the config key for it instead"
            ));
        }
        if opt.starts_with("--") {
            if let Some(full) = RESERVED.iter().find(|r| r.starts_with(long)) {
                return Err(format!(
                    "`{opt}` is how sbatch abbreviates `{full}`, which hecjob sets itself; use the config key for it instead"
                ));
            }
        } else if let Some(v) = value
            .as_deref()
            .filter(|v| words.iter().any(|w| *w == format!("{opt}{v}")))
        {
            // hecjob cannot know every short flag of every Slurm version, and
            // getopt reads `-st10` as `-s -t10`: only `-X value` is unambiguous.
            return Err(format!(
                "`{opt}{v}`: sbatch may read the letters after `{opt}` as options of their own (`-st10` is `-s -t10`); write `{opt} {v}` with a space, or the long option"
            ));
        }
        // Only a value written as a word of its own: `--comment=-x` is a value.
        let separate = |v: &&str| v.starts_with('-') && words.iter().any(|w| w == v);
        if let Some(v) = value.as_deref().filter(separate) {
            return Err(format!(
                "`{opt} {v}`: a value that starts with `-` is read by sbatch as an option of its own when `{opt}` takes none; write `{opt}={v}` if it is the value"
            ));
        }
    }
    Ok(())
}

/// Expand Slurm's file name patterns for a job (what sbatch does with `-o`/`-e`),
/// for `hecjob run --local`. `task` None: a plain job, where `%a` expands to nothing.
pub fn expand_pattern(
    pattern: &str,
    name: &str,
    job: u64,
    array_job: u64,
    task: Option<u32>,
) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some('x') => out.push_str(name),
            Some('j') => out.push_str(&job.to_string()),
            Some('A') => out.push_str(&array_job.to_string()),
            Some('a') => out.push_str(&task.map(|t| t.to_string()).unwrap_or_default()),
            Some('N') => out.push_str("localhost"),
            Some('n') | Some('t') => out.push('0'),
            Some('s') => out.push_str("batch"),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn train_request() -> Request {
        Request {
            name: "goemotions-bert-train".into(),
            partition: "gpu-short".into(),
            stdout: "logs/%x.%A_%a.out".into(),
            stderr: "logs/%x.%A_%a.err".into(),
            mem: Some("40G".into()),
            time: Some("02:00:00".into()),
            cpus: Some(4),
            gpus: 1,
            gpu_type: Some("nvidia_h200_nvl".into()),
            array: Some((6, Some(3))),
            signal_before_s: Some(600),
            extra: vec!["--qos=normal".into()],
        }
    }

    #[test]
    fn written_lines_read_back() {
        let r = train_request();
        let l = lines(&r);
        assert_eq!(
            l,
            [
                "-J goemotions-bert-train",
                "-p gpu-short",
                "-o logs/%x.%A_%a.out",
                "-e logs/%x.%A_%a.err",
                "--mem=40G",
                "--time=02:00:00",
                "--cpus-per-task=4",
                "--gres=gpu:nvidia_h200_nvl:1",
                "--array=1-6%3",
                "--signal=B:USR1@600",
                "--requeue",
                "--open-mode=append",
                "--qos=normal",
            ]
        );
        let script: String = std::iter::once("#!/bin/bash\n".to_string())
            .chain(l.iter().map(|x| format!("#SBATCH {x}\n")))
            .chain(["echo hi\n#SBATCH -J ignored-after-a-command\n".to_string()])
            .collect();
        let d = Directives::parse(&script).unwrap();
        assert_eq!(d.name.as_deref(), Some("goemotions-bert-train"));
        assert_eq!(d.partition.as_deref(), Some("gpu-short"));
        assert_eq!(d.stdout.as_deref(), Some("logs/%x.%A_%a.out"));
        assert_eq!(d.tasks, TaskRange::parse("1-6"));
        assert_eq!(d.array.as_deref(), Some("1-6%3"));
        assert!(d.all.contains(&("--requeue".into(), None)));
    }

    #[test]
    fn option_forms_and_command_line_override() {
        let d =
            Directives::parse("#SBATCH -Jshort --output out.txt\n#SBATCH --array 2-4\n").unwrap();
        assert_eq!(d.name.as_deref(), Some("short"));
        assert_eq!(d.stdout.as_deref(), Some("out.txt"));
        assert_eq!(d.tasks, TaskRange::parse("2-4"));
        let mut d = d;
        d.apply_options(&["--job-name=cli".to_string()]).unwrap();
        assert_eq!(d.name.as_deref(), Some("cli"));
        let e = Directives::parse("#SBATCH --array=odd\n").unwrap_err();
        assert!(e.starts_with("line 1: --array \"odd\""), "{e}");
        let e = Directives::parse("#SBATCH -J\n").unwrap_err();
        assert_eq!(e, "line 1: option -J needs a value");
        let e = Directives::parse("#SBATCH name\n").unwrap_err();
        assert_eq!(e, "line 1: expected an option, found \"name\"");
    }

    #[test]
    fn extra_directives_rules() {
        for ok in [
            "--mail-type=END",
            "-A project",
            "--qos=gpu",
            "--constraint=v100",
            "--exclusive",
        ] {
            assert_eq!(check_extra(ok), Ok(()), "{ok}");
        }
        // Every word counts: a second option on the line would replace hecjob's.
        let e = check_extra("--mail-type=END -o /tmp/x").unwrap_err();
        assert!(e.contains("`-o` is set by hecjob"), "{e}");
        let e = check_extra("--time=1:00:00").unwrap_err();
        assert!(e.contains("`--time` is set by hecjob"), "{e}");
        let e = check_extra("-t 10").unwrap_err();
        assert!(e.contains("`-t` is set by hecjob"), "{e}");
        let e = check_extra("echo hi").unwrap_err();
        assert!(e.contains("expected sbatch options"), "{e}");
        let e = check_extra("--mem;rm=1").unwrap_err();
        assert!(e.contains("not an sbatch option name"), "{e}");
        assert!(check_extra("").is_err());
    }

    /// What getopt lets through besides the plain spellings: an abbreviated
    /// long option, a value that is really the next option (hecjob does not
    /// know every Slurm flag, `--nice` takes no value), a bundled short flag.
    #[test]
    fn extra_directives_as_getopt_reads_them() {
        let e = check_extra("--sig=B:USR1@5").unwrap_err();
        assert!(e.contains("abbreviates `--signal`"), "{e}");
        let e = check_extra("--ti 10").unwrap_err();
        assert!(e.contains("abbreviates `--time`"), "{e}");
        let e = check_extra("--nice --time=99:00:00").unwrap_err();
        assert!(e.contains("`--nice --time=99:00:00`"), "{e}");
        assert!(e.contains("write `--nice=--time=99:00:00`"), "{e}");
        let e = check_extra("-A -t").unwrap_err();
        assert!(e.contains("starts with `-`"), "{e}");
        let e = check_extra("-Ht10").unwrap_err();
        assert!(e.contains("write `-H t10` with a space"), "{e}");
        // A flag hecjob may not know bundled with a reserved one.
        let e = check_extra("-st10").unwrap_err();
        assert!(e.contains("(`-st10` is `-s -t10`)"), "{e}");
        let e = check_extra("-Aproject").unwrap_err();
        assert!(e.contains("write `-A project` with a space"), "{e}");
        assert_eq!(check_extra("--oversubscribe"), Ok(()));
        // Values written with `=` are values, whatever they look like.
        assert_eq!(check_extra("--comment=-x"), Ok(()));
        assert_eq!(
            check_extra("--nice=10 --mail-user=me@lancaster.ac.uk"),
            Ok(())
        );
    }

    #[test]
    fn patterns() {
        assert_eq!(
            expand_pattern("logs/%x.%A_%a.out", "t", 12, 10, Some(3)),
            "logs/t.10_3.out"
        );
        assert_eq!(
            expand_pattern("logs/%x.%j.out", "d", 7, 7, None),
            "logs/d.7.out"
        );
        assert_eq!(expand_pattern("100%%-%q%", "x", 1, 1, None), "100%-%q%");
    }
}
