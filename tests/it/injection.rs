//! Shell safety of the rendered job scripts.
//!
//! Every config string that reaches a script carries shell payloads
//! (`"; touch PWNED #`, `$(touch PWNED)`, backticks, `'; …; '`, globs, …). Each
//! config either is refused by validation (newlines: the exact message is
//! asserted) or renders; the rendered install/download/train scripts then pass
//! `bash -n` and are EXECUTED in a scratch directory with stand-in commands on
//! PATH (`hecjob`, `python3`, `cargo`, `install`, `module`, …) that record their
//! argv and environment. The test proves that no `PWNED` file appears anywhere
//! and that each stand-in received each payload literally, as one argument.
//!
//! `cluster.setup` lines are shell code by design (schema.rs): they are left out
//! of the payloads, and serve as the positive control instead — a setup line
//! `touch PWNED` does create the file, so the detector below can fail.

use hecjob::experiment::config::{self, LoadedConfig};
use hecjob::experiment::render;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Payloads for fields that may hold any single line.
const PAYLOADS: &[&str] = &[
    "x\"; touch PWNED #",
    "$(touch PWNED)",
    "`touch PWNED`",
    "'; touch PWNED; '",
    "${IFS}touch${IFS}PWNED;* ?[a] -rf",
    "\\\"$HOME\\ && touch PWNED || touch PWNED &",
    " -n lead space|touch PWNED>x<y",
];

/// The same ideas without whitespace, for `data.base_url` (validated as a URL).
const URL_PAYLOADS: &[&str] = &[
    "x\";touch${IFS}PWNED;#",
    "$(touch${IFS}PWNED)",
    "`touch${IFS}PWNED`",
    "';touch${IFS}PWNED;'",
    "*?[a]|touch${IFS}PWNED>x<y&&$HOME",
];

/// One stand-in for every command: records argv (NUL-separated) and the
/// environment the scripts set up, then does the least the real command would
/// do for the script to go on (see `act` below). Nothing about the payloads is
/// faked: the test reads back what the stand-in received.
const STANDIN: &str = r#"#!/bin/bash
set -u
name=$(basename "$0")
log="$HECJOB_STANDIN_LOG"
n=$(ls "$log" | wc -l)
rec="$log/$(printf %04d "$n")-$name"
printf '%s\0' "$@" > "$rec.argv"
printf '%s\0' "PWD=$PWD" "HF_HOME=${HF_HOME-<unset>}" "HF_HUB_CACHE=${HF_HUB_CACHE-<unset>}" \
    "HF_HUB_OFFLINE=${HF_HUB_OFFLINE-<unset>}" "HECJOB_HOME=${HECJOB_HOME-<unset>}" \
    "PIP_CACHE_DIR=${PIP_CACHE_DIR-<unset>}" "CARGO_HOME=${CARGO_HOME-<unset>}" \
    "PROFILE=${HECJOB_TEST_PROFILE_SOURCED-<unset>}" > "$rec.env"
case "$name" in
    python3)
        # `python3 -m venv DIR`: a venv whose python and pip are stand-ins too.
        if [ "${1-}" = -m ] && [ "${2-}" = venv ]; then
            mkdir -p "$3/bin"
            cp "$0" "$3/bin/python"
            cp "$0" "$3/bin/pip"
        fi
        ;;
    python)
        # No torch here (as before the first install): the import fails.
        exit 1
        ;;
    cargo)
        # `cargo install --root R --path P`: fails like cargo without P; else
        # puts a (stand-in) hecjob into R/bin.
        root=""; src=""
        while [ $# -gt 0 ]; do
            case "$1" in
                --root) root="$2"; shift ;;
                --path) src="$2"; shift ;;
            esac
            shift
        done
        [ -f "$src/Cargo.toml" ] || { echo "error: $src does not contain a Cargo.toml" >&2; exit 101; }
        # Two installs building on one storage root at once are what the
        # install job's lock prevents: fail if another is in progress here
        # (HECJOB_STANDIN_CARGO_SECONDS widens the window).
        busy="$(dirname "$root")/.standin-cargo-busy"
        mkdir "$busy" 2>/dev/null || { echo "stand-in cargo: another install is building under $(dirname "$root") at once" >&2; exit 1; }
        sleep "${HECJOB_STANDIN_CARGO_SECONDS:-0}"
        mkdir -p "$root/bin"
        cp "$HECJOB_STANDIN_DIR/hecjob" "$root/bin/hecjob"
        rmdir "$busy"
        # Like a compiler cache server: a process that outlives the build,
        # with every descriptor cargo had except its stdio.
        if [ -n "${HECJOB_STANDIN_CARGO_DAEMON-}" ]; then
            sleep 120 </dev/null >/dev/null 2>&1 &
            echo $! > "$HECJOB_STANDIN_CARGO_DAEMON"
        fi
        ;;
    install)
        exec /usr/bin/install "$@"
        ;;
esac
exit 0
"#;

const STANDINS: &[&str] = &["hecjob", "python3", "cargo", "install", "module"];

/// One recorded call of a stand-in.
#[derive(Debug, Clone)]
struct Call {
    name: String,
    argv: Vec<String>,
    env: BTreeMap<String, String>,
}

struct Scratch {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    job: PathBuf,
    standins: PathBuf,
    log: PathBuf,
    profile: PathBuf,
}

impl Scratch {
    fn new() -> Scratch {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        let s = Scratch {
            job: root.join("job"),
            standins: root.join("standins"),
            log: root.join("log"),
            profile: root.join("profile"),
            root,
            _tmp: tmp,
        };
        for d in [&s.job, &s.standins, &s.log, &s.root.join("home")] {
            std::fs::create_dir_all(d).unwrap();
        }
        for name in STANDINS {
            crate::support::stand_in(&s.standins, name, STANDIN);
        }
        // Stands in for the HEC's /etc/profile (see `run_script`).
        std::fs::write(&s.profile, "export HECJOB_TEST_PROFILE_SOURCED=yes\n").unwrap();
        s
    }

    /// Run one rendered script as Grid Engine would (cwd = job directory).
    ///
    /// The header sources /etc/profile (on the HEC it defines `module`). On a
    /// Debian host that file resets PATH, which would hide the stand-ins and run
    /// the real cargo; so this one line is pointed at a stand-in profile. The
    /// line is fixed template text, not config-derived.
    fn run_script(&self, name: &str, env: &[(&str, &str)]) -> std::process::Output {
        self.command(&self.job, name, env).output().unwrap()
    }

    /// The command `run_script` runs, for the script `name` in `job`.
    fn command(&self, job: &Path, name: &str, env: &[(&str, &str)]) -> Command {
        let path = job.join(name);
        let text = std::fs::read_to_string(&path).unwrap();
        let line = "if [ -f /etc/profile ]; then source /etc/profile; fi\n";
        assert_eq!(
            text.matches(line).count(),
            1,
            "{name}: the profile line moved"
        );
        let text = text.replace(
            line,
            &format!(
                "source {}\n",
                hecjob::util::shell::quote(self.profile.to_str().unwrap())
            ),
        );
        let runnable = crate::support::stand_in(
            &self.root,
            &format!("run-{}-{name}", job.file_name().unwrap().to_string_lossy()),
            &text,
        );
        let mut cmd = Command::new("/bin/bash");
        cmd.arg(&runnable)
            .current_dir(job)
            .env_clear()
            .env("PATH", format!("{}:/usr/bin:/bin", self.standins.display()))
            .env("HOME", self.root.join("home"))
            .env("HECJOB_STANDIN_LOG", &self.log)
            .env("HECJOB_STANDIN_DIR", &self.standins);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    /// The calls recorded so far, in order; clears the log.
    /// Run a script that must succeed; the commands it ran, in order.
    fn run_ok(&self, name: &str, env: &[(&str, &str)]) -> Vec<Call> {
        let out = self.run_script(name, env);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.take_calls()
    }

    fn take_calls(&self) -> Vec<Call> {
        let mut names: Vec<String> = std::fs::read_dir(&self.log)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".argv"))
            .collect();
        names.sort();
        let calls = names
            .iter()
            .map(|n| {
                let stem = n.trim_end_matches(".argv");
                let argv = read_nul(&self.log.join(n));
                let env = read_nul(&self.log.join(format!("{stem}.env")))
                    .into_iter()
                    .map(|kv| {
                        let (k, v) = kv.split_once('=').unwrap();
                        (k.to_string(), v.to_string())
                    })
                    .collect();
                Call {
                    name: stem.split_once('-').unwrap().1.to_string(),
                    argv,
                    env,
                }
            })
            .collect();
        std::fs::remove_dir_all(&self.log).unwrap();
        std::fs::create_dir(&self.log).unwrap();
        calls
    }

    /// Every file or directory named exactly `PWNED` under the scratch root.
    fn pwned(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let e = e.unwrap();
                if e.file_name() == "PWNED" {
                    found.push(e.path());
                }
                if e.file_type().unwrap().is_dir() {
                    walk(&e.path(), found);
                }
            }
        }
        let mut found = Vec::new();
        walk(&self.root, &mut found);
        found
    }
}

fn read_nul(p: &Path) -> Vec<String> {
    let bytes = std::fs::read(p).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    let mut parts: Vec<String> = text.split('\0').map(str::to_string).collect();
    assert_eq!(
        parts.pop().as_deref(),
        Some(""),
        "{}: not NUL-terminated",
        p.display()
    );
    parts
}

/// A config as YAML, built from JSON so every payload is correctly YAML-quoted.
fn yaml_of(v: &Value) -> String {
    serde_yaml_ng::to_string(v).unwrap()
}

fn load(v: &Value, source: &str) -> hecjob::Result<LoadedConfig> {
    config::load_str(&yaml_of(v), source)
}

/// Field values carrying `p`, relative to the storage root / job directory.
struct Fields {
    description: String,
    storage: String,
    data_dir: String,
    model_cache: String,
    output_dir: String,
    source: String,
    binary: String,
    model: String,
    url: String,
    directive: String,
    /// `sge` or `slurm`: whose scripts are rendered and run.
    scheduler: &'static str,
}

impl Fields {
    fn relative(s: &Scratch, p: &str, url: &str) -> Fields {
        Fields {
            description: format!("d{p}"),
            // The storage root may not carry payloads (refused: see
            // `hostile_storage_roots_are_refused`); every path under it may.
            storage: format!("{}/store/s", s.root.display()),
            data_dir: format!("data/d{p}"),
            model_cache: format!("cache/c{p}"),
            output_dir: format!("out/o{p}"),
            source: format!("./src/s{p}"),
            binary: format!("./bin/b{p}"),
            model: format!("./models/m{p}"),
            url: format!("https://example.org/{url}"),
            // Every word of a directive is checked (payloads refused: see
            // `values_that_reach_directive_lines_are_strict`).
            directive: "-A acct-1".to_string(),
            scheduler: "sge",
        }
    }

    /// The same fields, rendered for Slurm.
    fn slurm(self) -> Fields {
        Fields {
            scheduler: "slurm",
            ..self
        }
    }

    /// Every path absolute (the other branch of the renderer's path_expr).
    fn absolute(s: &Scratch, p: &str, url: &str) -> Fields {
        let r = s.root.display();
        Fields {
            data_dir: format!("{r}/abs/d{p}"),
            model_cache: format!("{r}/abs/c{p}"),
            output_dir: format!("{r}/abs/o{p}"),
            source: format!("{r}/abs/s{p}"),
            binary: format!("{r}/abs/b{p}"),
            model: format!("{r}/abs/m{p}"),
            ..Fields::relative(s, p, url)
        }
    }

    fn config(&self, from: &str, storage_root: &str) -> Value {
        let directives = match self.scheduler {
            "sge" => json!([self.directive, "-M me@example.org"]),
            _ => json!(["--comment=acct-1", "--qos=normal"]),
        };
        json!({
            "experiment": {"name": "inj", "description": self.description},
            "cluster": {
                "scheduler": self.scheduler,
                "storage_root": storage_root,
                "modules": ["cuda/12.1"],
                "jobs": {"train": {"extra_directives": directives}},
            },
            "install": {"from": from, "source": self.source, "binary": self.binary},
            "paths": {"data_dir": self.data_dir, "model_cache": self.model_cache, "output_dir": self.output_dir},
            "data": {"base_url": self.url},
            "model": {"name": self.model},
            "sweep": {"learning_rate": [5e-5, 3e-5], "batch_size": [16, 32]},
        })
    }

    /// What the scripts act on must exist (relative paths: from the job dir).
    fn create(&self, s: &Scratch) {
        let at = |p: &str| {
            if p.starts_with('/') {
                PathBuf::from(p)
            } else {
                s.job.join(p)
            }
        };
        std::fs::create_dir_all(at(&self.source)).unwrap();
        std::fs::write(at(&self.source).join("Cargo.toml"), "[package]\n").unwrap();
        std::fs::create_dir_all(at(&self.binary).parent().unwrap()).unwrap();
        std::fs::copy(s.standins.join("hecjob"), at(&self.binary)).unwrap();
        std::fs::create_dir_all(at(&self.model)).unwrap();
        std::fs::write(at(&self.model).join("config.json"), "{}").unwrap();
    }
}

fn argv(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Render `f` (install from `from`), run all three scripts, check every call.
/// `storage_root` is what the config says; `storage` what it means on the node.
fn render_and_run(
    s: &Scratch,
    f: &Fields,
    from: &str,
    storage_root: &str,
    storage: &str,
    env: &[(&str, &str)],
) {
    let source = format!("cfg{}.yaml\n$(touch PWNED)", f.description);
    let loaded =
        load(&f.config(from, storage_root), &source).unwrap_or_else(|e| panic!("refused: {e}"));
    assert_eq!(
        loaded.config.experiment.description.as_deref(),
        Some(f.description.as_str())
    );
    assert_eq!(loaded.tasks.len(), 4);
    let _ = std::fs::remove_dir_all(&s.job);
    let _ = std::fs::remove_dir_all(storage);
    f.create(s);
    let rendered = render::render(&loaded, &s.job, None).unwrap();
    rendered.write().unwrap();

    for script in ["install.com", "download.com", "train.com"] {
        let text = std::fs::read_to_string(s.job.join(script)).unwrap();
        let out = Command::new("bash")
            .arg("-n")
            .arg(s.job.join(script))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "bash -n {script}: {}\n{text}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The source name's newline never reaches a script line of its own.
        assert!(
            !text.lines().any(|l| l.starts_with("$(touch")),
            "{script}:\n{text}"
        );
    }

    // config.yaml (read by the train worker) carries the values exactly.
    let resolved = std::fs::read_to_string(s.job.join("config.yaml")).unwrap();
    let again = config::load_str(&resolved, "config.yaml").unwrap();
    assert_eq!(again.config, loaded.config);

    // A build from source has a folder of its own per torch build.
    let hecjob_home = match from {
        "source" => format!("{storage}/hecjob/torch-2.11.0"),
        _ => format!("{storage}/hecjob"),
    };
    let storage_rel = |p: &str| {
        if p.starts_with('/') {
            p.to_string()
        } else {
            format!("{storage}/{p}")
        }
    };
    let hf_home = storage_rel(&f.model_cache);
    let base_env = |c: &Call| {
        assert_eq!(c.env["PWD"], s.job.display().to_string(), "{c:?}");
        // `module add` comes before the storage lines (template order).
        let home = if c.name == "module" {
            "<unset>"
        } else {
            hecjob_home.as_str()
        };
        assert_eq!(c.env["HECJOB_HOME"], home, "{c:?}");
        assert_eq!(c.env["PROFILE"], "yes", "{c:?}");
    };

    // install.com
    let calls = s.run_ok("install.com", env);
    let names: Vec<&str> = calls.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(calls[0].argv, argv(&["add", "cuda/12.1"]));
    if from == "source" {
        // A fresh storage root: no venv yet, so the torch check cannot run.
        assert_eq!(
            names,
            ["module", "python3", "pip", "python", "cargo", "hecjob"]
        );
        assert_eq!(
            calls[1].argv,
            argv(&["-m", "venv", &format!("{hecjob_home}/venv")])
        );
        assert_eq!(
            calls[2].argv,
            argv(&["install", "--quiet", "torch==2.11.0"])
        );
        assert_eq!(
            calls[3].argv,
            argv(&[
                "-c",
                "import os, torch; print(os.path.dirname(torch.__file__))"
            ])
        );
        assert_eq!(
            calls[4].argv,
            argv(&[
                "install",
                "--locked",
                "--force",
                "--root",
                &hecjob_home,
                "--path",
                &f.source
            ])
        );
        assert_eq!(
            calls[4].env["PIP_CACHE_DIR"],
            format!("{storage}/pip-cache")
        );
        assert_eq!(calls[4].env["CARGO_HOME"], format!("{storage}/cargo"));
    } else {
        assert_eq!(names, ["module", "install", "hecjob"]);
        assert_eq!(
            calls[1].argv,
            argv(&[
                "-m",
                "0755",
                &f.binary,
                &format!("{hecjob_home}/bin/hecjob")
            ])
        );
    }
    assert_eq!(calls.last().unwrap().argv, argv(&["--version"]));
    calls.iter().for_each(base_env);

    // download.com
    let calls = s.run_ok("download.com", env);
    let names: Vec<&str> = calls.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["module", "hecjob", "hecjob"]);
    // The data check reads the job's own config.yaml, beside the script.
    assert_eq!(calls[2].argv, argv(&["prepare-data", "config.yaml"]));
    assert_eq!(
        calls[1].argv,
        argv(&[
            "download-data",
            &storage_rel(&f.data_dir),
            "--base-url",
            &f.url
        ])
    );
    assert_eq!(calls[1].env["HF_HOME"], hf_home);
    assert_eq!(calls[1].env["HF_HUB_CACHE"], format!("{hf_home}/hub"));
    calls.iter().for_each(base_env);

    // train.com
    let mut train_env = env.to_vec();
    train_env.push(match f.scheduler {
        "sge" => ("SGE_TASK_ID", "3"),
        _ => ("SLURM_ARRAY_TASK_ID", "3"),
    });
    let calls = s.run_ok("train.com", &train_env);
    let names: Vec<&str> = calls.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["module", "hecjob"]);
    // Then the sha256 of the config body the job was rendered with, and the
    // checkpoint interval (a tenth of the default h_rt).
    let sha = hecjob::experiment::config::body_sha256(
        &std::fs::read_to_string(s.job.join("config.yaml")).unwrap(),
    );
    assert_eq!(
        calls[1].argv,
        argv(&[
            "train",
            "--config",
            "config.yaml",
            "--task",
            "3",
            "--config-sha256",
            &sha,
            "--checkpoint-every",
            "12m"
        ])
    );
    assert_eq!(calls[1].env["HF_HOME"], hf_home);
    assert_eq!(calls[1].env["HF_HUB_OFFLINE"], "1");
    calls.iter().for_each(base_env);

    assert_eq!(s.pwned(), Vec::<PathBuf>::new(), "a payload ran");
}

#[test]
fn payloads_in_relative_paths_stay_literal() {
    let s = Scratch::new();
    for (i, p) in PAYLOADS.iter().enumerate() {
        let f = Fields::relative(&s, p, URL_PAYLOADS[i % URL_PAYLOADS.len()]);
        for from in ["source", "binary"] {
            render_and_run(&s, &f, from, &f.storage, &f.storage, &[]);
        }
        let f = f.slurm();
        for from in ["source", "binary"] {
            render_and_run(&s, &f, from, &f.storage, &f.storage, &[]);
        }
    }
}

#[test]
fn payloads_in_absolute_paths_stay_literal() {
    let s = Scratch::new();
    for (i, p) in PAYLOADS.iter().enumerate() {
        let f = Fields::absolute(&s, p, URL_PAYLOADS[(i + 2) % URL_PAYLOADS.len()]);
        for from in ["source", "binary"] {
            render_and_run(&s, &f, from, &f.storage, &f.storage, &[]);
        }
        let f = f.slurm();
        for from in ["source", "binary"] {
            render_and_run(&s, &f, from, &f.storage, &f.storage, &[]);
        }
    }
}

#[test]
fn storage_variable_is_expanded_on_the_node() {
    // storage_root: $HECJOB_TEST_STORAGE, set on the node to a legal path.
    let s = Scratch::new();
    for sched in ["sge", "slurm"] {
        let mut f = Fields::relative(&s, PAYLOADS[0], URL_PAYLOADS[0]);
        f.scheduler = sched;
        let value = format!("{}/env/v+@,%", s.root.display());
        for from in ["source", "binary"] {
            render_and_run(
                &s,
                &f,
                from,
                "$HECJOB_TEST_STORAGE",
                &value,
                &[("HECJOB_TEST_STORAGE", &value)],
            );
        }
    }
    // Unset, the script stops before running anything.
    let f = Fields::relative(&s, PAYLOADS[0], URL_PAYLOADS[0]);
    let loaded = load(&f.config("binary", "$HECJOB_TEST_STORAGE"), "cfg.yaml").unwrap();
    render::render(&loaded, &s.job, None)
        .unwrap()
        .write()
        .unwrap();
    let out = s.run_script("download.com", &[]);
    // 100: Grid Engine's error state, so the jobs chained after it stay held.
    assert_eq!(out.status.code(), Some(100));
    assert!(String::from_utf8_lossy(&out.stderr).contains(
        "hecjob: $HECJOB_TEST_STORAGE is not set: set it or change cluster.storage_root in the config"
    ));
    let calls = s.take_calls();
    assert_eq!(
        calls.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["module"]
    );
    assert!(s.pwned().is_empty());
}

#[test]
fn hostile_storage_roots_are_refused() {
    // Quoting in hecjob's own lines is not enough for this one value: python's
    // venv writes it into the pip launcher (see `install_job_runs_for_real`).
    let mut roots: Vec<String> = PAYLOADS
        .iter()
        .map(|p| format!("/scratch/me/{p}"))
        .collect();
    roots.extend(
        [
            "/scratch/my dir",
            "/scratch/a:b",
            "/scratch/a\\b",
            "/scratch/it's",
        ]
        .map(String::from),
    );
    for root in roots {
        let cfg = json!({"experiment": {"name": "inj"}, "cluster": {"storage_root": root}});
        let err = load(&cfg, "s.yaml").expect_err(&root).to_string();
        let (_, rest) = err.split_once("\n  s.yaml:").unwrap();
        let (_, msg) = rest.split_once(": cluster.storage_root: ").unwrap();
        let shown = hecjob::experiment::config::validate::lit(&root);
        assert_eq!(
            msg,
            format!("`{shown}`: other tools (python's venv, pip) write this path into scripts they run, so it may hold only letters, digits and _ . - / + @ , %; choose a directory without spaces, quotes, `$`, backticks, backslashes or `:`"),
            "{err}"
        );
    }
}

#[test]
fn hostile_storage_variable_stops_every_job_before_any_tool() {
    // The variable's value is known only on the node: each script checks it
    // before it runs a single command, and exits 100 (jobs behind stay held).
    let s = Scratch::new();
    let f = Fields::relative(&s, "plain", "plain");
    let loaded = load(&f.config("source", "$HECJOB_TEST_STORAGE"), "cfg.yaml").unwrap();
    f.create(&s);
    render::render(&loaded, &s.job, None)
        .unwrap()
        .write()
        .unwrap();
    for p in PAYLOADS {
        let value = format!("{}/env/v{p}", s.root.display());
        for script in ["install.com", "download.com", "train.com"] {
            let out = s.run_script(
                script,
                &[("HECJOB_TEST_STORAGE", &value), ("SGE_TASK_ID", "1")],
            );
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(100), "{script} {p}: {stderr}");
            assert!(
                stderr.contains(&format!("hecjob: $HECJOB_TEST_STORAGE is '{value}': python's venv and pip write it into scripts they run, so it may hold only letters, digits and _ . - / + @ , %")),
                "{script}: {stderr}"
            );
            let calls = s.take_calls();
            assert_eq!(
                calls.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
                ["module"],
                "{script} {p}"
            );
        }
    }
    assert!(s.pwned().is_empty());
}

/// install.com with the real python3: a real venv, and its real pip launcher
/// run (it fails to find torch: no package index here). Whitespace, or a path
/// too long for a `#!` line, makes venv write the launcher's first line as
/// `'''exec' "<path>/bin/python3" "$0" "$@"` (without the quotes when the path
/// has no space), which `sh` runs: a `$(touch PWNED)` in the path ran there,
/// however well hecjob quoted its own lines.
#[test]
fn install_job_runs_for_real() {
    if !have_python_venv("install_job_runs_for_real") {
        return;
    }
    let s = Scratch::new();
    // No python3 stand-in: the script finds the real one in /usr/bin.
    std::fs::remove_file(s.standins.join("python3")).unwrap();
    let f = Fields::relative(&s, "plain", "plain");
    f.create(&s);
    let run = |storage_root: &str, value: &str| {
        let loaded = load(&f.config("source", storage_root), "cfg.yaml").unwrap();
        render::render(&loaded, &s.job, None)
            .unwrap()
            .write()
            .unwrap();
        s.run_script(
            "install.com",
            &[
                ("HECJOB_TEST_STORAGE", value),
                ("PIP_NO_INDEX", "1"),
                ("PIP_DISABLE_PIP_VERSION_CHECK", "1"),
            ],
        )
    };

    // A legal root long enough for the `exec` form of the launcher: pip runs
    // through it, and says torch is not to be found.
    let long = format!("{}/store/{}", s.root.display(), "d+@,%_.-".repeat(16));
    let out = run(&long, "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(100), "{stderr}");
    let launcher =
        std::fs::read_to_string(format!("{long}/hecjob/torch-2.11.0/venv/bin/pip")).unwrap();
    // venv writes the path UNQUOTED here when it has no space, so `;`, `|`,
    // `&`, `*`, `#`, … would act too: hence a list of allowed characters.
    assert!(launcher.starts_with("#!/bin/sh\n'''exec' /"), "{launcher}");
    assert!(
        stderr.contains("torch==2.11.0"),
        "pip did not run: {stderr}"
    );
    s.take_calls();

    // A payload in the variable's value: stopped before the venv is made.
    for p in PAYLOADS {
        let value = format!("{}/env/v{p}", s.root.display());
        let out = run("$HECJOB_TEST_STORAGE", &value);
        assert_eq!(
            out.status.code(),
            Some(100),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!Path::new(&value).join("hecjob").exists(), "{p}");
    }
    assert_eq!(s.pwned(), Vec::<PathBuf>::new(), "a payload ran");
}

/// Whether `python3 -m venv` works here (else the test says SKIPPED; under CI
/// that fails).
fn have_python_venv(test: &str) -> bool {
    let probe = Command::new("python3")
        .args(["-m", "venv", "--help"])
        .output();
    if probe.is_ok_and(|o| o.status.success()) {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "python3 -m venv is needed under CI"
    );
    eprintln!("SKIPPED {test}: no python3 with venv");
    false
}

/// A folder with a wheel named torch, of `version`, for pip to install
/// offline: a package whose `__version__` is what the install job checks.
fn torch_wheel(dir: &Path, version: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let script = r#"
import sys, zipfile
out, version = sys.argv[1], sys.argv[2]
dist = f"torch-{version}.dist-info"
files = {
    "torch/__init__.py": f"__version__ = {version!r}\n",
    f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: torch\nVersion: {version}\n",
    f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: hecjob-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
files[f"{dist}/RECORD"] = "".join(f"{p},,\n" for p in files) + f"{dist}/RECORD,,\n"
with zipfile.ZipFile(f"{out}/torch-{version}-py3-none-any.whl", "w") as z:
    for path, text in files.items():
        z.writestr(path, text)
"#;
    let out = Command::new("python3")
        .args(["-c", script, dir.to_str().unwrap(), version])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir.to_path_buf()
}

/// Install jobs on one storage root at once, with the real python3 and pip
/// (torch is a small wheel served from a folder): two submissions of one
/// experiment, then two experiments asking for different torch builds. The
/// install lock lets one job build at a time (the cargo stand-in fails if two
/// build at once), both succeed, and each build has a working venv of its own;
/// a venv that already has its torch is left alone (its job would fail if pip
/// ran: its wheel folder is empty by then).
#[test]
fn install_jobs_at_once_share_a_storage_root() {
    if !have_python_venv("install_jobs_at_once_share_a_storage_root") {
        return;
    }
    let s = Scratch::new();
    std::fs::remove_file(s.standins.join("python3")).unwrap();
    let f = Fields::absolute(&s, "plain", "plain");
    f.create(&s);
    let storage = PathBuf::from(&f.storage);
    let render_into = |job: &Path, torch_cuda: Option<&str>| {
        let mut cfg = f.config("source", &f.storage);
        if let Some(c) = torch_cuda {
            cfg["install"]["torch_cuda"] = json!(c);
        }
        let loaded = load(&cfg, "cfg.yaml").unwrap();
        render::render(&loaded, job, None).unwrap().write().unwrap();
    };
    // Both jobs start together; each must succeed.
    let run_together = |jobs: [(&Path, &Path); 2]| {
        let children: Vec<_> = jobs
            .iter()
            .map(|(job, wheels)| {
                s.command(
                    job,
                    "install.com",
                    &[
                        ("PIP_NO_INDEX", "1"),
                        ("PIP_FIND_LINKS", wheels.to_str().unwrap()),
                        ("PIP_DISABLE_PIP_VERSION_CHECK", "1"),
                        ("HECJOB_STANDIN_CARGO_SECONDS", "1"),
                    ],
                )
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
            })
            .collect();
        for (child, (job, _)) in children.into_iter().zip(jobs) {
            let out = child.wait_with_output().unwrap();
            assert_eq!(
                out.status.code(),
                Some(0),
                "{}: {}",
                job.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    };
    let torch_in = |build: &str| {
        let python = storage.join(format!("hecjob/torch-{build}/venv/bin/python"));
        let out = Command::new(&python)
            .args(["-c", "import torch; print(torch.__version__)"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            python.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };

    // One experiment submitted twice: one job dir, two jobs.
    let pypi = torch_wheel(&s.root.join("wheels-pypi"), "2.11.0");
    render_into(&s.job, None);
    run_together([(&s.job, &pypi), (&s.job, &pypi)]);
    assert_eq!(torch_in("2.11.0"), "2.11.0");
    assert!(storage.join("hecjob/torch-2.11.0/bin/hecjob").is_file());

    // Two experiments, one asking for the cu128 build: a venv each. The
    // PyPI one is already installed: no wheel is left for it.
    std::fs::remove_file(pypi.join("torch-2.11.0-py3-none-any.whl")).unwrap();
    let cu128 = torch_wheel(&s.root.join("wheels-cu128"), "2.11.0+cu128");
    let job_b = s.root.join("job-b");
    render_into(&job_b, Some("cu128"));
    run_together([(&s.job, &pypi), (&job_b, &cu128)]);
    assert_eq!(torch_in("2.11.0"), "2.11.0");
    assert_eq!(torch_in("2.11.0+cu128"), "2.11.0+cu128");
    assert!(storage
        .join("hecjob/torch-2.11.0+cu128/bin/hecjob")
        .is_file());
    // Train jobs run the hecjob of their own build.
    for (job, build) in [(&s.job, "2.11.0"), (&job_b, "2.11.0+cu128")] {
        let train = std::fs::read_to_string(job.join("train.com")).unwrap();
        assert!(
            train.contains(&format!(
                "export HECJOB_HOME=\"$STORAGE\"/hecjob/torch-{build}\n"
            )),
            "{train}"
        );
    }
    assert_eq!(s.pwned(), Vec::<PathBuf>::new());
}

/// An install job that cannot get the storage root's install lock in time
/// stops (exit 100, later jobs held) naming the lock file and its holder.
#[test]
fn an_install_job_waiting_too_long_names_the_lock_holder() {
    use std::os::fd::AsRawFd;
    let s = Scratch::new();
    let f = Fields::relative(&s, "plain", "plain");
    f.create(&s);
    let loaded = load(&f.config("source", &f.storage), "cfg.yaml").unwrap();
    render::render(&loaded, &s.job, None)
        .unwrap()
        .write()
        .unwrap();
    let lock = PathBuf::from(&f.storage).join("hecjob/install.lock");
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    std::fs::write(&lock, "install job other-install (7) on node-9, pid 42\n").unwrap();
    let held = std::fs::File::open(&lock).unwrap();
    // flock(2), as flock(1) in the job takes it.
    // SAFETY: flock(2) on a descriptor of a file this test holds open.
    assert_eq!(unsafe { libc::flock(held.as_raw_fd(), libc::LOCK_EX) }, 0);
    let out = s.run_script("install.com", &[("HECJOB_INSTALL_LOCK_WAIT", "1")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(100), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "hecjob: another install job has held {} for over 1 s: install job other-install (7) on node-9, pid 42. Submit this experiment again once that job has ended",
            lock.display()
        )),
        "{stderr}"
    );
    // Nothing was installed meanwhile.
    let calls = s.take_calls();
    let names: Vec<&str> = calls.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["module"]);

    let out = s.run_script("install.com", &[("HECJOB_INSTALL_LOCK_WAIT", "soon")]);
    assert_eq!(out.status.code(), Some(100));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("hecjob: HECJOB_INSTALL_LOCK_WAIT is 'soon'; expected whole seconds"));

    // Released: the same job now runs, and names itself in the file.
    drop(held);
    s.take_calls();
    s.run_ok("install.com", &[]);
    let holder = std::fs::read_to_string(&lock).unwrap();
    assert!(
        holder.starts_with("install job inj-install (local) on "),
        "{holder}"
    );
}

/// Issue 22: an install lock that is a symbolic link had the job write its
/// holder line through it, to a file outside the storage root. The job stops
/// (exit 100) naming the lock and what to do, and the target is untouched; a
/// dangling link (which `>>` would create) and a directory are refused too.
#[test]
fn an_install_lock_that_is_a_symlink_is_refused() {
    let s = Scratch::new();
    let f = Fields::relative(&s, "plain", "plain");
    f.create(&s);
    let loaded = load(&f.config("source", &f.storage), "cfg.yaml").unwrap();
    render::render(&loaded, &s.job, None)
        .unwrap()
        .write()
        .unwrap();
    let lock = PathBuf::from(&f.storage).join("hecjob/install.lock");
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    let outside = s.job.join("outside.txt");
    std::fs::write(&outside, "precious\n").unwrap();
    let dangling = s.job.join("created-by-the-job.txt");
    for target in [&outside, &dangling] {
        let _ = std::fs::remove_file(&lock);
        std::os::unix::fs::symlink(target, &lock).unwrap();
        let out = s.run_script("install.com", &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(100), "{stderr}");
        assert!(
            stderr.ends_with(&format!(
                "hecjob: {l} is a symbolic link or not a regular file; the install lock must be \
                 a plain file, so nothing was written through it. Delete it (rm {l}) and submit \
                 again\n",
                l = lock.display()
            )),
            "{stderr}"
        );
    }
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "precious\n");
    assert!(!dangling.exists(), "the job created the link's target");
    std::fs::remove_file(&lock).unwrap();
    std::fs::create_dir(&lock).unwrap();
    let out = s.run_script("install.com", &[]);
    assert_eq!(out.status.code(), Some(100));
    let calls = s.take_calls();
    let names: Vec<&str> = calls.iter().map(|c| c.name.as_str()).collect();
    assert!(
        !names.contains(&"pip") && !names.contains(&"cargo"),
        "{names:?}"
    );
}

/// A process an install step leaves running (a compiler cache server started by
/// cargo) does not keep the install lock after the job: the next install job
/// on the storage root gets it at once.
#[test]
fn a_daemon_left_by_cargo_does_not_hold_the_install_lock() {
    let s = Scratch::new();
    let f = Fields::relative(&s, "plain", "plain");
    f.create(&s);
    let loaded = load(&f.config("source", &f.storage), "cfg.yaml").unwrap();
    render::render(&loaded, &s.job, None)
        .unwrap()
        .write()
        .unwrap();
    let pid_file = s.root.join("daemon.pid");
    s.run_ok(
        "install.com",
        &[("HECJOB_STANDIN_CARGO_DAEMON", pid_file.to_str().unwrap())],
    );
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let again = s.run_script("install.com", &[("HECJOB_INSTALL_LOCK_WAIT", "2")]);
    // SAFETY: kill(2) of the stand-in's sleep, started by this test.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

#[test]
fn setup_lines_run_as_shell_so_the_detector_can_fail() {
    // Positive control: cluster.setup is shell by design. The same harness that
    // finds no PWNED above finds this one, and sees the scripts stop at a
    // failing command (set -e + ERR trap → exit 100).
    let s = Scratch::new();
    let f = Fields::relative(&s, "plain", "plain");
    let mut cfg = f.config("binary", &f.storage);
    cfg["cluster"]["setup"] = json!(["touch PWNED"]);
    let loaded = load(&cfg, "cfg.yaml").unwrap();
    f.create(&s);
    render::render(&loaded, &s.job, None)
        .unwrap()
        .write()
        .unwrap();
    let out = s.run_script("download.com", &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(s.pwned(), [s.job.join("PWNED")]);
    std::fs::remove_file(s.job.join("PWNED")).unwrap();
    s.take_calls();

    // The model directory is checked (test -f): without it, exit 100 and no
    // download call — the scripts' success above is not vacuous.
    let mut cfg = f.config("binary", &f.storage);
    cfg["model"]["name"] = json!("./models/missing");
    let loaded = load(&cfg, "cfg.yaml").unwrap();
    render::render(&loaded, &s.job, None)
        .unwrap()
        .write()
        .unwrap();
    let out = s.run_script("download.com", &[]);
    assert_eq!(out.status.code(), Some(100));
    assert!(String::from_utf8_lossy(&out.stderr).contains("hecjob: inj-download failed at line"));

    // The stand-in cargo refuses a source without Cargo.toml, as cargo does.
    let mut cfg = f.config("source", &f.storage);
    cfg["install"]["source"] = json!("./nowhere");
    let loaded = load(&cfg, "cfg.yaml").unwrap();
    render::render(&loaded, &s.job, None)
        .unwrap()
        .write()
        .unwrap();
    let out = s.run_script("install.com", &[]);
    assert_eq!(out.status.code(), Some(100));
    let calls = s.take_calls();
    assert_eq!(
        calls.last().unwrap().argv.last().map(String::as_str),
        Some("./nowhere")
    );
}

#[test]
fn unquoted_expansion_would_be_caught() {
    // The detector itself: the same payload expanded unquoted by bash creates
    // PWNED in the job dir, and a stand-in would see it split into words.
    let s = Scratch::new();
    let payload = PAYLOADS[1];
    let script = format!(
        "cd {}\necho {payload}\nhecjob x{payload}y\n",
        hecjob::util::shell::quote(s.job.to_str().unwrap())
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env("PATH", format!("{}:/usr/bin:/bin", s.standins.display()))
        .env("HECJOB_STANDIN_LOG", &s.log)
        .env("HECJOB_STANDIN_DIR", &s.standins)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(s.pwned(), [s.job.join("PWNED")]);
    let calls = s.take_calls();
    assert_eq!(
        calls[0].argv,
        argv(&["xy"]),
        "the payload did not arrive literally"
    );
    // Quoted with the renderer's own quoting, it stays one literal argument.
    std::fs::remove_file(s.job.join("PWNED")).unwrap();
    for p in PAYLOADS {
        let script = format!("hecjob {}\n", hecjob::util::shell::quote(p));
        let out = Command::new("bash")
            .arg("-c")
            .arg(&script)
            .current_dir(&s.job)
            .env("PATH", format!("{}:/usr/bin:/bin", s.standins.display()))
            .env("HECJOB_STANDIN_LOG", &s.log)
            .env("HECJOB_STANDIN_DIR", &s.standins)
            .output()
            .unwrap();
        assert!(out.status.success());
        assert_eq!(s.take_calls()[0].argv, argv(&[p]));
    }
    assert!(s.pwned().is_empty());
}

/// Puts a bad value somewhere in a config.
type Setter<'a> = Box<dyn Fn(&mut Value) + 'a>;

#[test]
fn newlines_are_refused_in_every_field() {
    let single_line =
        "must be a single line without control characters (newlines would break the job script)";
    let nl = "x\ntouch PWNED";
    let base = || {
        json!({
            "experiment": {"name": "inj"},
            "model": {"name": "./models/m"},
        })
    };
    // (where in the config, the key path reported, the message)
    let cases: Vec<(Setter<'_>, &str, String)> = vec![
        (Box::new(|c| c["experiment"]["description"] = json!(nl)), "experiment.description", single_line.into()),
        (Box::new(|c| c["cluster"] = json!({"storage_root": format!("/s/{nl}")})), "cluster.storage_root", single_line.into()),
        (Box::new(|c| c["paths"] = json!({"data_dir": nl})), "paths.data_dir", single_line.into()),
        (Box::new(|c| c["paths"] = json!({"model_cache": nl})), "paths.model_cache", single_line.into()),
        (Box::new(|c| c["paths"] = json!({"output_dir": nl})), "paths.output_dir", single_line.into()),
        (Box::new(|c| c["install"] = json!({"source": nl})), "install.source", single_line.into()),
        (Box::new(|c| c["install"] = json!({"from": "binary", "binary": nl})), "install.binary", single_line.into()),
        (Box::new(|c| c["model"]["name"] = json!(format!("./{nl}"))), "model.name", single_line.into()),
        (
            Box::new(|c| c["model"]["name"] = json!(nl)),
            "model.name",
            "`x\\ntouch PWNED` is neither a hub name (bert-base-uncased, org/name) nor a path (starting with /, ./ or ../)".into(),
        ),
        (
            Box::new(|c| c["model"] = json!({"name": "bert-base-uncased", "revision": nl})),
            "model.revision",
            "expected a branch, tag or commit hash, got `x\\ntouch PWNED`".into(),
        ),
        (
            Box::new(|c| c["data"] = json!({"base_url": format!("https://e.org/{nl}")})),
            "data.base_url",
            "expected an http(s) URL without spaces, got `https://e.org/x\\ntouch PWNED`".into(),
        ),
        (Box::new(|c| c["cluster"] = json!({"setup": ["echo ok", nl]})), "cluster.setup[1]", single_line.into()),
        (
            Box::new(|c| c["cluster"] = json!({"jobs": {"download": {"extra_directives": [format!("-M {nl}")]}}})),
            "cluster.jobs.download.extra_directives[0]",
            single_line.into(),
        ),
        (
            Box::new(|c| c["cluster"] = json!({"scheduler": "slurm", "jobs": {"download": {"extra_directives": [format!("--qos={nl}")]}}})),
            "cluster.jobs.download.extra_directives[0]",
            single_line.into(),
        ),
        (
            Box::new(|c| c["cluster"] = json!({"modules": [nl]})),
            "cluster.modules[0]",
            "`x\\ntouch PWNED` is not a module name (e.g. anaconda3/wmlce)".into(),
        ),
        (
            Box::new(|c| c["cluster"] = json!({"gpu_queue": nl})),
            "cluster.gpu_queue",
            "`x\\ntouch PWNED` is not a queue name (letters, digits, _ . - @)".into(),
        ),
        (
            Box::new(|c| c["experiment"]["name"] = json!(nl)),
            "experiment.name",
            "`x\\ntouch PWNED` cannot name Grid Engine jobs: use a letter first, then letters, digits, _ . - (at most 64)".into(),
        ),
    ];
    for (set, path, message) in &cases {
        let mut c = base();
        set(&mut c);
        let yaml = yaml_of(&c);
        let err = config::load_str(&yaml, "nl.yaml")
            .expect_err(path)
            .to_string();
        // Key lines differ with the YAML layout; compare without them.
        let (head, rest) = err.split_once("\n  ").unwrap();
        assert_eq!(head, "nl.yaml: 1 problem in the config:", "{path}: {err}");
        let rest = rest.split_once(": ").map(|(at, r)| {
            assert!(at.starts_with("nl.yaml:"), "{path}: {err}");
            r
        });
        assert_eq!(rest, Some(format!("{path}: {message}").as_str()), "{yaml}");
    }
}

#[test]
fn values_that_reach_directive_lines_are_strict() {
    // `#$` lines are read by qsub, not bash: values there are validated, never
    // quoted. Shell metacharacters in each are refused.
    for (cfg, path) in [
        (
            json!({"cluster": {"cpu_queue": "serial;id"}}),
            "cluster.cpu_queue",
        ),
        (
            json!({"cluster": {"jobs": {"train": {"queue": "a$(id)"}}}}),
            "cluster.jobs.train.queue",
        ),
        (
            json!({"cluster": {"jobs": {"train": {"h_vmem": "4G -l x"}}}}),
            "cluster.jobs.train.h_vmem",
        ),
        (
            json!({"cluster": {"jobs": {"train": {"h_rt": "01:00:00 -q x"}}}}),
            "cluster.jobs.train.h_rt",
        ),
        (
            json!({"cluster": {"jobs": {"train": {"extra_directives": ["$(id)"]}}}}),
            "cluster.jobs.train.extra_directives[0]",
        ),
        (
            json!({"cluster": {"jobs": {"train": {"extra_directives": ["-A a$(id)"]}}}}),
            "cluster.jobs.train.extra_directives[0]",
        ),
        (
            json!({"cluster": {"jobs": {"train": {"extra_directives": ["-m ea; touch PWNED"]}}}}),
            "cluster.jobs.train.extra_directives[0]",
        ),
        (
            json!({"cluster": {"modules": ["a`id`"]}}),
            "cluster.modules[0]",
        ),
        (
            json!({"install": {"torch_version": "2.11.0;id"}}),
            "install.torch_version",
        ),
        (json!({"model": {"name": "bert$(id)"}}), "model.name"),
        (
            json!({"cluster": {"storage_root": "$(id)"}}),
            "cluster.storage_root",
        ),
        (
            json!({"cluster": {"scheduler": "slurm", "gpu_queue": "gpu-short;id"}}),
            "cluster.gpu_queue",
        ),
        (
            json!({"cluster": {"scheduler": "slurm", "jobs": {"train": {"h_rt": "1-00:00:00 -p x"}}}}),
            "cluster.jobs.train.h_rt",
        ),
        (
            json!({"cluster": {"scheduler": "slurm", "jobs": {"train": {"gpu_type": "h200$(id)"}}}}),
            "cluster.jobs.train.gpu_type",
        ),
        (
            json!({"cluster": {"scheduler": "slurm", "jobs": {"train": {"extra_directives": ["$(id)"]}}}}),
            "cluster.jobs.train.extra_directives[0]",
        ),
        (
            json!({"cluster": {"scheduler": "slurm", "jobs": {"train": {"extra_directives": ["--qos=x -o /tmp/elsewhere"]}}}}),
            "cluster.jobs.train.extra_directives[0]",
        ),
        (
            json!({"cluster": {"notify": {"address": "me@x.org;id"}}}),
            "cluster.notify.address",
        ),
    ] {
        let mut c = cfg.clone();
        c["experiment"] = json!({"name": "inj"});
        let err = config::load_str(&yaml_of(&c), "d.yaml")
            .expect_err(path)
            .to_string();
        // One problem, at its line, naming the key: refused where the YAML is
        // read (h_vmem, h_rt: `d.yaml:L:C: key: …`) or by the checks after it.
        assert!(
            err.starts_with("d.yaml: 1 problem in the config:\n  d.yaml:")
                || (err.starts_with("d.yaml:") && !err.contains('\n')),
            "{err}"
        );
        assert!(err.contains(&format!(": {path}: ")), "{path}: {err}");
    }
}

/// The hecjob command lines the scripts run, as the stand-in recorded them,
/// each parsed by the real command line (clap): the scripts and the CLI agree.
fn hecjob_calls_parse(cfg: Value) -> Vec<String> {
    use clap::Parser;
    let s = Scratch::new();
    let loaded = load(&cfg, "cfg.yaml").unwrap();
    render::render(&loaded, &s.job, None)
        .unwrap()
        .write()
        .unwrap();
    let storage = s.root.join("store");
    let mut problems = Vec::new();
    let mut seen = 0;
    let scripts: &[&str] = if cfg!(feature = "torch") {
        &["download.com", "train.com"]
    } else {
        // `hecjob train` exists only in the torch build.
        &["download.com"]
    };
    for script in scripts {
        let calls = s.run_ok(
            script,
            &[
                ("HECJOB_TEST_STORAGE", storage.to_str().unwrap()),
                ("SGE_TASK_ID", "1"),
            ],
        );
        for c in calls.into_iter().filter(|c| c.name == "hecjob") {
            seen += 1;
            let args = std::iter::once("hecjob".to_string()).chain(c.argv.iter().cloned());
            if let Err(e) = hecjob::cli::Cli::try_parse_from(args) {
                problems.push(format!("{script}: hecjob {:?}: {}", c.argv, e.kind()));
            }
        }
    }
    assert!(seen >= scripts.len(), "no hecjob calls recorded");
    problems
}

#[test]
fn the_cli_accepts_what_the_scripts_run() {
    let cfg = json!({
        "experiment": {"name": "cli"},
        "cluster": {"storage_root": "$HECJOB_TEST_STORAGE"},
        "model": {"name": "bert-base-uncased"},
    });
    assert_eq!(hecjob_calls_parse(cfg), Vec::<String>::new());
}

#[test]
fn the_cli_accepts_base_url_and_revision() {
    let cfg = json!({
        "experiment": {"name": "cli"},
        "cluster": {"storage_root": "$HECJOB_TEST_STORAGE"},
        "data": {"base_url": "https://example.org/goemotions"},
        "model": {"name": "bert-base-uncased", "revision": "main"},
    });
    assert_eq!(hecjob_calls_parse(cfg), Vec::<String>::new());
}
