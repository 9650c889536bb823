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
    "--help",
    "-h",
    "--usage",
    "--version",
    "-V",
    "--reboot",
    "--contiguous",
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
        "-W" => "--wait",
        "-M" => "--clusters",
        "-Q" => "--quiet",
        "-h" => "--help",
        "-V" => "--version",
        "-C" => "--constraint",
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

/// Options that replace the memory, GPU or CPU request hecjob writes from the
/// config (`--mem`, `--gres`, `--cpus-per-task`): Slurm takes the last or the
/// more specific one, so the config's `h_vmem`, `ngpus`, `ncpus` would silently
/// not be what the job gets.
pub const OVERRIDES: &[&str] = &[
    "--mem-per-gpu",
    "--gpus-per-node",
    "--gpus-per-task",
    "--gpus-per-socket",
    "--cpus-per-gpu",
    "--tres-per-task",
];

/// Options that change what sbatch answers or where the job goes; hecjob reads
/// the job id from sbatch's answer and follows the job with squeue and sacct on
/// this cluster. Each with what it would do.
pub const CHANGES_THE_ANSWER: &[(&str, &str)] = &[
    ("--test-only", "sbatch then submits nothing and prints no job id"),
    ("--quiet", "sbatch then prints no job id"),
    ("--help", "sbatch then prints its help, submits nothing and prints no job id"),
    ("--usage", "sbatch then prints its usage, submits nothing and prints no job id"),
    ("--version", "sbatch then prints its version, submits nothing and prints no job id"),
    (
        "--wait",
        "sbatch then blocks until the job ends, so the submission times out and the chain is rolled back",
    ),
    (
        "--clusters",
        "the job then goes to a cluster where squeue and sacct here never look",
    ),
    (
        "--cluster-constraint",
        "the job may then go to a cluster where squeue and sacct here never look",
    ),
];

/// Options whose value is a Slurm expression with `|`, `&`, `[]` or `()`
/// (features: `--constraint=v100|a100`). Such a value is written double-quoted
/// on its `#SBATCH` line, which sbatch reads without a shell and unquotes.
pub const EXPRESSIONS: &[&str] = &["--constraint", "--prefer"];

/// The characters an [`EXPRESSIONS`] value may hold beyond plain words.
pub const EXPRESSION_CHARS: &str = "|&[]()";

/// What hecjob does with each option sbatch lists, when a config names it in
/// `extra_directives` (for the test that classifies sbatch's whole option table).
#[cfg(test)]
const ALLOWED: &[&str] = &[
    "--account",
    "--bb",
    "--bbf",
    "--begin",
    "--comment",
    "--constraint",
    "--container",
    "--contiguous",
    "--core-spec",
    "--cores-per-socket",
    "--cpu-freq",
    "--deadline",
    "--delay-boot",
    "--distribution",
    "--exclude",
    "--exclusive",
    "--export",
    "--export-file",
    "--extra-node-info",
    "--get-user-env",
    "--gid",
    "--gpu-bind",
    "--gpu-freq",
    "--gres-flags",
    "--hold",
    "--ignore-pbs",
    "--input",
    "--licenses",
    "--mail-type",
    "--mail-user",
    "--mcs-label",
    "--mincpus",
    "--nice",
    "--no-kill",
    "--nodefile",
    "--nodelist",
    "--nodes",
    "--ntasks",
    "--ntasks-per-core",
    "--ntasks-per-node",
    "--ntasks-per-socket",
    "--overcommit",
    "--oversubscribe",
    "--power",
    "--priority",
    "--profile",
    "--propagate",
    "--qos",
    "--reboot",
    "--reservation",
    "--sockets-per-node",
    "--spread-job",
    "--switches",
    "--thread-spec",
    "--threads-per-core",
    "--time-min",
    "--tmp",
    "--uid",
    "--use-min-nodes",
    "--verbose",
    "--wckey",
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
        if let Some(why) = refusal(long) {
            return Err(format!("`{opt}` {why}"));
        }
        if opt.starts_with("--") {
            let refused = RESERVED
                .iter()
                .chain(OVERRIDES)
                .chain(CHANGES_THE_ANSWER.iter().map(|(o, _)| o))
                .find(|r| r.starts_with(long));
            if let Some(full) = refused {
                let why = if RESERVED.contains(full) {
                    "hecjob sets itself; use the config key for it instead".to_string()
                } else {
                    refusal(full).unwrap_or_default()
                };
                return Err(format!(
                    "`{opt}` is how sbatch abbreviates `{full}`, which {why}"
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

/// Why hecjob refuses the option `long` (a long name) in `extra_directives`,
/// starting with a verb ("is set by hecjob itself; …"), or None.
fn refusal(long: &str) -> Option<String> {
    if RESERVED.contains(&long) {
        return Some("is set by hecjob itself; use the config key for it instead".into());
    }
    if OVERRIDES.contains(&long) {
        return Some(
            "replaces the memory, GPU or CPU request hecjob writes from the config \
             (--mem, --gres, --cpus-per-task); use h_vmem, ngpus, gpu_type and ncpus instead"
                .into(),
        );
    }
    CHANGES_THE_ANSWER
        .iter()
        .find(|(o, _)| *o == long)
        .map(|(_, what)| format!("is not for a job hecjob submits: {what}"))
}

/// The first word of an `extra_directives` entry that is not a plain sbatch
/// argument (letters, digits and `- _ . @ , : = / + % *`; an [`EXPRESSIONS`]
/// value may also hold [`EXPRESSION_CHARS`]). sbatch reads the line, not a
/// shell, so shell syntax there only garbles it.
pub fn odd_word(d: &str) -> Option<&str> {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_.@,:=/+%*".contains(c);
    let expr = |c: char| plain(c) || EXPRESSION_CHARS.contains(c);
    let mut value_of_expression = false;
    for w in d.split_whitespace() {
        let ok = if value_of_expression {
            w.chars().all(expr)
        } else if let Some((o, v)) = w.split_once('=').filter(|(o, _)| o.starts_with("--")) {
            o.chars().all(plain)
                && if EXPRESSIONS.contains(&long_name(o)) {
                    v.chars().all(expr)
                } else {
                    v.chars().all(plain)
                }
        } else {
            w.chars().all(plain)
        };
        if !ok {
            return Some(w);
        }
        value_of_expression = EXPRESSIONS.contains(&long_name(w));
    }
    None
}

/// An `extra_directives` entry as its `#SBATCH` line carries it: the value of
/// an expression option ([`EXPRESSIONS`]) with `|` and the like double-quoted.
pub fn quote_expressions(d: &str) -> String {
    let needs = |v: &str| v.contains(|c| EXPRESSION_CHARS.contains(c)) && !v.contains('"');
    let mut out: Vec<String> = Vec::new();
    let mut quote_next = false;
    for w in d.split_whitespace() {
        if quote_next && needs(w) {
            out.push(format!("\"{w}\""));
        } else if let Some((o, v)) = w
            .split_once('=')
            .filter(|(o, v)| o.starts_with("--") && EXPRESSIONS.contains(&long_name(o)) && needs(v))
        {
            out.push(format!("{o}=\"{v}\""));
        } else {
            out.push(w.to_string());
        }
        quote_next = EXPRESSIONS.contains(&long_name(w));
    }
    out.join(" ")
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
    fn every_sbatch_option_is_classified() {
        // sbatch 22.05.8's own table (tests/data/slurm/capture.sh), plus the
        // ones it takes without listing them.
        let help = crate::scheduler::slurm::captured("sbatch_help.txt");
        let mut listed: Vec<String> = help
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .filter(|w| w.starts_with("--") && w.len() > 2)
            .map(str::to_string)
            .collect();
        listed.extend(["--test-only".to_string(), "--tres-per-task".into()]);
        listed.sort();
        listed.dedup();
        assert!(listed.len() > 90, "{listed:?}");
        let unclassified: Vec<&String> = listed
            .iter()
            .filter(|o| {
                let o = o.as_str();
                !(ALLOWED.contains(&o)
                    || RESERVED.contains(&o)
                    || OVERRIDES.contains(&o)
                    || CHANGES_THE_ANSWER.iter().any(|(c, _)| *c == o))
            })
            .collect();
        assert!(unclassified.is_empty(), "classify: {unclassified:?}");
        for o in &listed {
            let allowed = ALLOWED.contains(&o.as_str());
            assert_eq!(refusal(o).is_none(), allowed, "{o}");
        }
    }

    /// Issue 22: options that override hecjob's requests or change sbatch's
    /// answer were accepted in extra_directives.
    #[test]
    fn options_that_override_requests_or_answers_are_refused() {
        for (d, msg) in [
            ("--mem-per-gpu=20G", "`--mem-per-gpu` replaces the memory, GPU or CPU request hecjob writes from the config (--mem, --gres, --cpus-per-task); use h_vmem, ngpus, gpu_type and ncpus instead"),
            ("--gpus-per-node=2", "`--gpus-per-node` replaces the memory"),
            ("--gpus-per-task=1", "`--gpus-per-task` replaces the memory"),
            ("--cpus-per-gpu=8", "`--cpus-per-gpu` replaces the memory"),
            ("--tres-per-task=gres/gpu:1", "`--tres-per-task` replaces the memory"),
            ("--test-only", "`--test-only` is not for a job hecjob submits: sbatch then submits nothing and prints no job id"),
            ("--wait", "`--wait` is not for a job hecjob submits: sbatch then blocks until the job ends"),
            ("-W", "`-W` is not for a job hecjob submits: sbatch then blocks"),
            ("-M other", "`-M` is not for a job hecjob submits: the job then goes to a cluster where squeue and sacct here never look"),
            ("--clusters=other", "`--clusters` is not for a job hecjob submits"),
            ("--clus=other", "`--clus` is how sbatch abbreviates `--clusters`, which is not for a job hecjob submits"),
            ("-Q", "`-Q` is not for a job hecjob submits: sbatch then prints no job id"),
        ] {
            let e = check_extra(d).unwrap_err();
            assert!(e.starts_with(msg), "{d}: {e}");
        }
    }

    #[test]
    fn constraint_expressions_are_quoted_for_sbatch() {
        assert_eq!(check_extra("--constraint=v100|a100"), Ok(()));
        assert_eq!(
            quote_expressions("--constraint=v100|a100"),
            "--constraint=\"v100|a100\""
        );
        assert_eq!(quote_expressions("-C v100&ib"), "-C \"v100&ib\"");
        assert_eq!(quote_expressions("--qos=gpu"), "--qos=gpu");
        assert_eq!(quote_expressions("--comment=a|b"), "--comment=a|b");
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
