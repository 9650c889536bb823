//! Rendered job scripts of the three shipped configs: insta snapshots of every
//! file, `bash -n` on each script, byte-identical re-rendering, and
//! `render --dry-run` through the binary (writes nothing, prints the chain).

use crate::support::config::edit;
use crate::support::Hecjob;
use hecjob::experiment::config::{self, LoadedConfig};
use hecjob::experiment::render::{self, Rendered};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support;

/// The Grid Engine configs (the dry-run test below reads their qsub lines).
const CONFIGS: [&str; 3] = ["goemotions", "sweep", "local"];
/// Every shipped config, Grid Engine's and Slurm's.
const ALL_CONFIGS: [&str; 5] = ["goemotions", "sweep", "local", "slurm", "slurm-sweep"];
const SCHEDULERS: [&str; 2] = ["sge", "slurm"];
const FILES: [&str; 6] = [
    "install.com",
    "download.com",
    "train.com",
    "config.yaml",
    "tasks.tsv",
    "tasks.json",
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Load a shipped config with a fixed `source` so the headers are the same on
/// every machine.
fn load_shipped(name: &str) -> LoadedConfig {
    let path = repo().join(format!("configs/{name}.yaml"));
    let mut loaded = config::load(Some(&path)).unwrap_or_else(|e| panic!("{name}: {e}"));
    loaded.source = format!("configs/{name}.yaml");
    loaded
}

fn render_shipped(name: &str) -> Rendered {
    let loaded = load_shipped(name);
    let out = render::default_out_dir(&loaded);
    render::render(&loaded, &out, None).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A shipped config with `cluster.scheduler` set to `scheduler` in its text (so it is
/// validated for that scheduler, as a user switching would see it), rendered.
fn render_shipped_for(name: &str, scheduler: &str) -> Rendered {
    let path = repo().join(format!("configs/{name}.yaml"));
    let text = std::fs::read_to_string(&path).unwrap();
    let text = if text.contains("  scheduler: ") {
        text.lines()
            .map(|l| {
                if l.starts_with("  scheduler: ") {
                    format!("  scheduler: {scheduler}")
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
            + "\n"
    } else {
        edit(
            &text,
            "cluster:\n",
            &format!("cluster:\n  scheduler: {scheduler}\n"),
        )
    };
    let source = format!("configs/{name}.yaml");
    let loaded =
        config::load_str(&text, &source).unwrap_or_else(|e| panic!("{name} as {scheduler}: {e}"));
    assert_eq!(
        loaded.config.cluster.scheduler,
        serde_yaml_ng::from_str(scheduler).unwrap(),
        "{name}"
    );
    let out = render::default_out_dir(&loaded);
    render::render(&loaded, &out, None).unwrap_or_else(|e| panic!("{name} as {scheduler}: {e}"))
}

/// The version appears in headers; keep it out of the snapshots.
fn redact(s: &str) -> String {
    s.replace(
        concat!("hecjob ", env!("CARGO_PKG_VERSION")),
        "hecjob [VERSION]",
    )
}

fn bash_n(name: &str, script: &str) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(name);
    std::fs::write(&p, script).unwrap();
    let out = Command::new("bash").arg("-n").arg(&p).output().unwrap();
    assert!(
        out.status.success(),
        "bash -n {name} failed:\n{}\n--- script ---\n{script}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_rendered_file_matches_its_snapshot() {
    for name in ALL_CONFIGS {
        let r = render_shipped(name);
        let names: Vec<&str> = r.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, FILES, "{name}: rendered file list");
        for f in &r.files {
            assert_eq!(f.executable, f.name.ends_with(".com"), "{name}/{}", f.name);
            insta::assert_snapshot!(format!("{name}__{}", f.name), redact(&f.content));
        }
    }
}

#[test]
fn every_script_passes_bash_n() {
    for name in ALL_CONFIGS {
        let r = render_shipped(name);
        for f in r.files.iter().filter(|f| f.executable) {
            assert!(f.content.starts_with("#!/bin/bash\n"), "{name}/{}", f.name);
            bash_n(&f.name, &f.content);
        }
    }
}

/// Every shipped config renders under both schedulers: each script is
/// snapshotted (`<config>@<scheduler>__<script>`), passes `bash -n`, and carries
/// only its own scheduler's directives.
#[test]
fn every_shipped_config_renders_for_both_schedulers() {
    for name in ALL_CONFIGS {
        for sched in SCHEDULERS {
            let r = render_shipped_for(name, sched);
            for f in r.files.iter().filter(|f| f.executable) {
                bash_n(&f.name, &f.content);
                let (own, other) = if sched == "sge" {
                    ("#$ ", "#SBATCH")
                } else {
                    ("#SBATCH ", "#$ ")
                };
                assert!(f.content.contains(own), "{name}@{sched}/{}", f.name);
                assert!(!f.content.contains(other), "{name}@{sched}/{}", f.name);
                insta::assert_snapshot!(format!("{name}@{sched}__{}", f.name), redact(&f.content));
            }
        }
    }
}

#[test]
fn bash_n_catches_a_broken_script() {
    // The check above must be able to fail: an unterminated quote is refused.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("broken.com");
    std::fs::write(&p, "#!/bin/bash\necho 'unterminated\n").unwrap();
    assert!(!Command::new("bash")
        .arg("-n")
        .arg(&p)
        .output()
        .unwrap()
        .status
        .success());
}

#[test]
fn rendering_twice_is_byte_identical() {
    for name in ALL_CONFIGS {
        let a = render_shipped(name);
        let b = render_shipped(name);
        assert_eq!(a.files, b.files, "{name}");
        assert_eq!(chain(&a), chain(&b), "{name}");
        // And loading afresh from the resolved config.yaml renders the same scripts:
        // the resolved file is a faithful, complete config.
        let resolved = a.files.iter().find(|f| f.name == "config.yaml").unwrap();
        let mut again =
            config::load_str(&resolved.content, &format!("configs/{name}.yaml")).unwrap();
        again.source = format!("configs/{name}.yaml");
        let c = render::render(&again, &a.dir, None).unwrap();
        assert_eq!(
            a.files, c.files,
            "{name}: re-rendered from its resolved config.yaml"
        );
    }
}

#[test]
fn directives_and_chain_of_the_sweep() {
    let r = render_shipped("sweep");
    let train = r.file("train.com").unwrap();
    for d in [
        "#$ -N goemotions-sweep-train\n",
        "#$ -q short\n",
        "#$ -l ngpus=1\n",
        "#$ -t 1-6\n",
        "#$ -tc 3\n",
        "#$ -notify\n",
        "#$ -l s_rt=01:50:00\n",
    ] {
        assert!(train.content.contains(d), "train.com lacks {d:?}");
    }
    let install = r.file("install.com").unwrap();
    assert!(install.content.contains("#$ -q serial\n"));
    assert!(
        !install.content.contains("ngpus"),
        "install must not ask for a GPU"
    );
    assert!(
        !install.content.contains("#$ -t "),
        "install is not an array job"
    );
    assert_eq!(
        chain(&r),
        [
            "cd jobs/goemotions-sweep",
            "qsub -terse -w e install.com    # install → job 1",
            "qsub -terse -hold_jid 1 -w e download.com    # download → job 2",
            "qsub -terse -hold_jid 2 -w e train.com    # train → job 3",
        ]
    );
}

/// The chain `render` prints: submit's stages through its scheduler's builder.
fn chain(r: &Rendered) -> Vec<String> {
    let stages = r.stages(&[], true);
    let dialect = r.plan.scheduler.dialect();
    let jobs = render::chain_commands(&r.dir, &stages, |job| dialect.submit_command(job));
    render::chain_lines(&r.dir, &jobs)
}

#[test]
fn directives_and_chain_of_the_slurm_sweep() {
    let r = render_shipped("slurm-sweep");
    let train = r.file("train.com").unwrap();
    for d in [
        "#SBATCH -J goemotions-sweep-train\n",
        "#SBATCH -p gpu-short\n",
        "#SBATCH -o logs/%x.%A_%a.out\n",
        "#SBATCH --mem=40G\n",
        "#SBATCH --time=02:00:00\n",
        "#SBATCH --cpus-per-task=4\n",
        "#SBATCH --gres=gpu:1\n",
        "#SBATCH --array=1-6%3\n",
        // The soft limit 01:50:00: USR1 to the batch shell 600 s before --time.
        "#SBATCH --signal=B:USR1@600\n",
        "#SBATCH --requeue\n",
        "then source /etc/profile; fi\n",
        "\nmodule add cuda || exit 100\n",
        "scontrol requeue \"$THIS_TASK\"",
    ] {
        assert!(
            train.content.contains(d),
            "train.com lacks {d:?}:\n{}",
            train.content
        );
    }
    let install = r.file("install.com").unwrap();
    assert!(install.content.contains("#SBATCH -p serial\n"));
    assert!(install.content.contains("#SBATCH -o logs/%x.%j.out\n"));
    assert!(
        !install.content.contains("--gres"),
        "install must not ask for a GPU"
    );
    assert!(
        !install.content.contains("--array"),
        "install is not an array job"
    );
    assert!(
        install
            .content
            .contains("--index-url https://download.pytorch.org/whl/cu128 "),
        "install.torch_cuda: cu128 picks the CUDA 12.8 build"
    );
    assert_eq!(
        chain(&r),
        [
            "cd jobs/goemotions-sweep",
            "sbatch --parsable install.com    # install → job 1",
            "sbatch --parsable --dependency=afterok:1 --kill-on-invalid-dep=yes download.com    # download → job 2",
            "sbatch --parsable --dependency=afterok:2 --kill-on-invalid-dep=yes train.com    # train → job 3",
        ]
    );
}

#[test]
fn dry_run_writes_nothing_and_prints_the_chain() {
    for name in CONFIGS {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = format!("{name}.yaml");
        std::fs::copy(repo().join("configs").join(&cfg), tmp.path().join(&cfg)).unwrap();
        let before: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();

        // With --out, and with the default jobs/<experiment>.
        let out = Hecjob::new()
            .current_dir(tmp.path())
            .args(["render", "--dry-run", "--out", "out", &cfg])
            .output();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        let def = Hecjob::new()
            .current_dir(tmp.path())
            .args(["render", "--dry-run", &cfg])
            .output();
        assert!(
            def.status.success(),
            "{}",
            String::from_utf8_lossy(&def.stderr)
        );
        let def_stdout = String::from_utf8(def.stdout).unwrap();

        assert!(
            !tmp.path().join("out").exists(),
            "{name}: --dry-run created the out dir"
        );
        assert!(
            !tmp.path().join("jobs").exists(),
            "{name}: --dry-run created jobs/"
        );
        let after: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(before, after, "{name}: --dry-run wrote something");

        assert!(stdout.contains("# dry run: nothing written."), "{name}");
        assert!(stdout.contains("\n  cd out\n"), "{name}:\n{stdout}");
        // The printed chain is what `submit` runs, `-w e` included (it lacked it).
        let sub_dir = tempfile::tempdir().unwrap();
        std::fs::copy(repo().join("configs").join(&cfg), sub_dir.path().join(&cfg)).unwrap();
        let sub = Hecjob::new()
            .current_dir(sub_dir.path())
            .args(["submit", "--dry-run", "--out", "out", &cfg])
            .output();
        assert!(
            sub.status.success(),
            "{}",
            String::from_utf8_lossy(&sub.stderr)
        );
        let sub_stdout = String::from_utf8(sub.stdout).unwrap();
        let qsub_lines: Vec<&str> = sub_stdout
            .lines()
            .filter(|l| l.starts_with("qsub "))
            .collect();
        assert_eq!(qsub_lines.len(), 3, "{sub_stdout}");
        for l in &qsub_lines {
            assert!(l.contains(" -w e "), "{l}");
            assert!(
                stdout.contains(&format!("\n  {l}\n")),
                "{name}: render lacks {l:?}:\n{stdout}"
            );
        }
        // The scripts it prints are the library's, file by file.
        let mut loaded = config::load(Some(&tmp.path().join(&cfg))).unwrap();
        loaded.source = cfg.clone();
        let r = render::render(&loaded, Path::new("out"), None).unwrap();
        for f in &r.files {
            let block = format!("==> out/{} <==\n{}", f.name, f.content);
            assert!(
                stdout.contains(&block),
                "{name}: dry run lacks {} as rendered",
                f.name
            );
        }
        let exp = &loaded.config.experiment.name;
        assert!(def_stdout.contains(&format!("==> jobs/{exp}/train.com <==\n")));
        assert!(def_stdout.contains(&format!("\n  cd jobs/{exp}\n")));
        if name == "sweep" {
            insta::assert_snapshot!("sweep__dry_run_stdout", redact(&stdout));
        }
    }
}

#[test]
fn render_writes_the_same_files_as_the_library() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(
        repo().join("configs/sweep.yaml"),
        tmp.path().join("sweep.yaml"),
    )
    .unwrap();
    let out = Hecjob::new()
        .current_dir(tmp.path())
        .args(["render", "--out", "out", "sweep.yaml"])
        .output();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut loaded = config::load(Some(&tmp.path().join("sweep.yaml"))).unwrap();
    loaded.source = "sweep.yaml".into();
    let r = render::render(&loaded, Path::new("out"), None).unwrap();
    let mut written: Vec<String> = std::fs::read_dir(tmp.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    written.sort();
    let mut expected: Vec<String> = FILES
        .iter()
        .map(|s| s.to_string())
        .chain(["logs".to_string(), "written.json".to_string()])
        .collect();
    expected.sort();
    assert_eq!(written, expected);
    assert!(tmp.path().join("out/logs").is_dir());
    for f in &r.files {
        let p = tmp.path().join("out").join(&f.name);
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            f.content,
            "{}",
            f.name
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o111 != 0, f.executable, "{}: mode {mode:o}", f.name);
        }
    }
}

#[test]
fn a_templates_directory_that_overrides_nothing_is_an_error() {
    // Issue 15: it was silently ignored (the built-in templates were used).
    let loaded = hecjob::experiment::config::load(None).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("tpl");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("train.tera"), "misspelt").unwrap();
    let Err(e) = hecjob::experiment::render::render(&loaded, &tmp.path().join("out"), Some(&dir))
    else {
        panic!("a templates directory overriding nothing was accepted");
    };
    assert_eq!(e.exit_code(), 2);
    assert!(
        e.to_string().starts_with(&format!(
            "--templates {}: holds none of _header.tera, install.com.tera, download.com.tera, train.com.tera",
            dir.display()
        )),
        "{e}"
    );
    // One real override is enough.
    std::fs::write(dir.join("train.com.tera"), "#!/bin/bash\necho custom\n").unwrap();
    let r =
        hecjob::experiment::render::render(&loaded, &tmp.path().join("out"), Some(&dir)).unwrap();
    assert!(r
        .files
        .iter()
        .any(|f| f.content == "#!/bin/bash\necho custom\n"));
}

/// A template that includes itself (or two that include each other) is an error
/// naming the loop; it overflowed the stack (issue 22).
#[test]
fn a_template_that_includes_itself_is_an_error_not_a_stack_overflow() {
    let loaded = hecjob::experiment::config::load(None).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("tpl");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("_header.tera"), "{%- include '_header.tera' -%}\n").unwrap();
    let Err(e) = hecjob::experiment::render::render(&loaded, &tmp.path().join("out"), Some(&dir))
    else {
        panic!("a self-including template was accepted");
    };
    assert_eq!(e.exit_code(), 2);
    assert_eq!(
        e.to_string(),
        format!(
            "--templates {}: _header.tera → _header.tera includes itself; \
             a template may include others only without a loop",
            dir.display()
        )
    );
    std::fs::write(
        dir.join("_header.tera"),
        "{% include \"train.com.tera\" %}\n",
    )
    .unwrap();
    let Err(e) = hecjob::experiment::render::render(&loaded, &tmp.path().join("out"), Some(&dir))
    else {
        panic!("templates including each other were accepted");
    };
    assert!(
        e.to_string()
            .contains("_header.tera → train.com.tera → _header.tera includes itself"),
        "{e}"
    );
}

/// Issue 22: `render --out .` wrote the resolved config over the user's own
/// config.yaml (comments and layout lost), and replaced their own train.com
/// in the out folder. Neither is touched now; the message names the file and
/// what to do; a folder hecjob rendered is rendered again as before.
#[test]
fn render_never_overwrites_a_file_hecjob_did_not_write() {
    let tmp = tempfile::tempdir().unwrap();
    let own = "# my notes\nexperiment:\n  name: mine   # keep this comment\n";
    std::fs::write(tmp.path().join("config.yaml"), own).unwrap();
    let render = |args: &[&str]| {
        Hecjob::new()
            .arg("render")
            .args(args)
            .current_dir(tmp.path())
            .output()
    };
    let out = render(&["config.yaml", "--out", "."]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "error: ./config.yaml: this is the config being rendered, and the resolved config \
         would be written over it. Render elsewhere (--out jobs/<experiment>, the default \
         without --out)\n"
    );
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("config.yaml")).unwrap(),
        own
    );

    // The user's own script in the out folder.
    std::fs::create_dir(tmp.path().join("mine")).unwrap();
    std::fs::write(tmp.path().join("mine/train.com"), "echo mine\n").unwrap();
    let out = render(&["config.yaml", "--out", "mine"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "error: mine/train.com: exists and hecjob did not write it (it is not in written.json), \
         so it is left alone. Render elsewhere (--out jobs/<experiment>), or delete the file if \
         it may go\n"
    );
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("mine/train.com")).unwrap(),
        "echo mine\n"
    );
    assert!(
        !tmp.path().join("mine/config.yaml").exists(),
        "nothing written"
    );

    // Its own folder, twice: the second render replaces what the first wrote.
    for _ in 0..2 {
        let out = render(&["config.yaml", "--out", "jobs/mine"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let record = std::fs::read_to_string(tmp.path().join("jobs/mine/written.json")).unwrap();
    assert!(
        record.contains("\"train.com\"") && record.contains("\"config.yaml\""),
        "{record}"
    );
}

/// `render --templates DIR` and then `submit` (or `run`) without it: the job
/// directory is rendered again with the same templates, so the user's custom
/// train.com is what gets submitted (submit used to re-render with the embedded
/// templates, silently dropping it). Rendering again without --templates goes
/// back to the embedded ones.
#[test]
fn custom_templates_survive_submit() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(
        repo().join("configs/sweep.yaml"),
        tmp.path().join("sweep.yaml"),
    )
    .unwrap();
    let tdir = tmp.path().join("my-templates");
    std::fs::create_dir(&tdir).unwrap();
    let mut custom = std::fs::read_to_string(repo().join("templates/train.com.tera")).unwrap();
    custom.push_str("# custom line from my-templates\n");
    std::fs::write(tdir.join("train.com.tera"), custom).unwrap();
    let train = tmp.path().join("out/train.com");
    let has_line = || {
        std::fs::read_to_string(&train)
            .unwrap()
            .contains("# custom line from my-templates")
    };

    let ok = |o: std::process::Output| {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    ok(Hecjob::new()
        .current_dir(tmp.path())
        .args([
            "render",
            "--templates",
            "my-templates",
            "--out",
            "out",
            "sweep.yaml",
        ])
        .output());
    assert!(has_line(), "render wrote the custom train.com");
    ok(Hecjob::new()
        .current_dir(tmp.path())
        .args(["submit", "--dry-run", "--out", "out", "sweep.yaml"])
        .output());
    assert!(has_line(), "submit kept the templates render used");

    // Without --templates, render means the embedded templates.
    ok(Hecjob::new()
        .current_dir(tmp.path())
        .args(["render", "--out", "out", "sweep.yaml"])
        .output());
    assert!(!has_line());
    ok(Hecjob::new()
        .current_dir(tmp.path())
        .args(["submit", "--dry-run", "--out", "out", "sweep.yaml"])
        .output());
    assert!(!has_line());
    // And submit can be given them itself.
    ok(Hecjob::new()
        .current_dir(tmp.path())
        .args([
            "submit",
            "--dry-run",
            "--templates",
            "my-templates",
            "--out",
            "out",
            "sweep.yaml",
        ])
        .output());
    assert!(has_line());
}

/// The rendered notify.com run with bash, with stand-ins for `sacct`, `mail` and
/// `sleep` on its PATH. Slurm's accounting learns of the ends a moment after the
/// dependency lets notify start (CI once mailed "1 pending" for a cancelled
/// task): the script asks again until no task is pending or running. Tasks that
/// never started come as one line with a range list (`_[1-3:2,6%3]`); each
/// task in it counts once.
#[test]
fn notify_waits_for_accounting_and_counts_every_task() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    let calls = tmp.path().join("sacct.calls");
    let mail_log = tmp.path().join("mail.log");
    // First answer: accounting has not heard yet; then the tasks' real ends.
    support::stand_in(
        &bin,
        "sacct",
        &format!(
            r#"#!/bin/sh
echo call >> {calls}
if [ "$(wc -l < {calls})" -lt 3 ]; then
    echo '378_[1-3:2,6%3]|PENDING'
    exit 0
fi
echo '378_2|COMPLETED'
echo '378_4|FAILED'
echo '378_5|COMPLETED'
echo '378_[1-3:2,6%3]|CANCELLED by 0'
"#,
            calls = calls.display()
        ),
    );
    support::stand_in(
        &bin,
        "mail",
        &format!(
            "#!/bin/sh\nprintf 'argv:' >> {log}\nprintf ' [%s]' \"$@\" >> {log}\nprintf '\\n' >> {log}\ncat >> {log}\n",
            log = mail_log.display()
        ),
    );
    support::stand_in(&bin, "sleep", "#!/bin/sh\nexit 0\n");
    let text = edit(
        &std::fs::read_to_string(repo().join("configs/slurm-sweep.yaml")).unwrap(),
        "  modules: [cuda]\n",
        "  modules: []\n",
    );
    let text = edit(
            &text,
            "cluster:\n",
            &format!(
                "cluster:\n  notify: {{ address: me@lancaster.ac.uk, on: [end] }}\n  storage_root: {}\n  setup: [\"export PATH={}:$PATH\"]\n",
                tmp.path().join("storage").display(),
                bin.display()
            ),
        );
    let loaded = config::load_str(&text, "configs/slurm-sweep.yaml").unwrap();
    let rendered = render::render(&loaded, &render::default_out_dir(&loaded), None).unwrap();
    let script = tmp.path().join("notify.com");
    std::fs::write(&script, &rendered.file("notify.com").unwrap().content).unwrap();
    let out = Command::new("bash")
        .arg(&script)
        .arg("378")
        .current_dir(tmp.path())
        .output()
        .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{log}");
    assert_eq!(
        std::fs::read_to_string(&calls).unwrap().lines().count(),
        3,
        "asked until accounting had the ends\n{log}"
    );
    // 1, 3 and 6 never started.
    let summary =
        "hecjob: goemotions-sweep: 6 train task(s), job 378: 3 cancelled, 2 completed, 1 failed";
    let mail = std::fs::read_to_string(&mail_log).unwrap();
    assert!(
        mail.contains(&format!("argv: [-s] [{summary}] [--] [me@lancaster.ac.uk]")),
        "{mail}\n{log}"
    );
}

/// `cluster.notify`: Grid Engine mails from every job (`-M`, `-m`); Slurm renders one
/// more script, notify.com, which `submit` queues after the train array.
#[test]
fn notify_renders_per_scheduler() {
    let with_notify = |name: &str, on: &str| {
        let text = edit(
            &std::fs::read_to_string(repo().join(format!("configs/{name}.yaml"))).unwrap(),
            "cluster:\n",
            &format!("cluster:\n  notify: {{ address: me@lancaster.ac.uk, on: {on} }}\n"),
        );
        let loaded = config::load_str(&text, &format!("configs/{name}.yaml")).unwrap();
        render::render(&loaded, &render::default_out_dir(&loaded), None).unwrap()
    };
    let sge = with_notify("sweep", "[end, fail]");
    for f in ["install.com", "download.com", "train.com"] {
        let c = &sge.file(f).unwrap().content;
        assert!(
            c.contains("#$ -M me@lancaster.ac.uk\n#$ -m ea\n"),
            "{f}:\n{c}"
        );
    }
    assert!(sge.file("notify.com").is_none());

    let slurm = with_notify("slurm-sweep", "[fail]");
    for f in ["install.com", "download.com", "train.com"] {
        let c = &slurm.file(f).unwrap().content;
        assert!(
            !c.contains("--mail"),
            "{f}: the HEC rejects arrays asking for mail"
        );
    }
    let notify = slurm.file("notify.com").unwrap();
    assert!(notify.executable);
    bash_n("notify.com", &notify.content);
    insta::assert_snapshot!("slurm-sweep@notify__notify.com", redact(&notify.content));
    // Not a chained stage: submit queues it itself, after train, however train ends.
    let stages: Vec<String> = slurm
        .stages(&[], true)
        .iter()
        .map(|s| s.stage.clone())
        .collect();
    assert_eq!(stages, ["install", "download", "train"]);
}

/// `cluster.retries`: one more script on either scheduler, retry.com, which
/// `submit` queues after the train array with round 1; it never asks Grid
/// Engine for mail (it mails its own summary when the rounds stop), and with
/// Slurm's notify job it mails the way notify.com does.
#[test]
fn retries_render_a_retry_job_for_both_schedulers() {
    let with_retries = |name: &str, extra: &str| {
        let text = edit(
            &std::fs::read_to_string(repo().join(format!("configs/{name}.yaml"))).unwrap(),
            "cluster:\n",
            &format!("cluster:\n  retries: 2\n{extra}"),
        );
        let loaded = config::load_str(&text, &format!("configs/{name}.yaml")).unwrap();
        render::render(&loaded, &render::default_out_dir(&loaded), None).unwrap()
    };
    let sge = with_retries(
        "sweep",
        "  notify: { address: me@lancaster.ac.uk, on: [fail] }\n",
    );
    let retry = sge.file("retry.com").unwrap();
    assert!(retry.executable);
    assert!(!retry.content.contains("#$ -M"), "{}", retry.content);
    bash_n("retry.com", &retry.content);
    insta::assert_snapshot!("sweep@retries__retry.com", redact(&retry.content));
    let slurm = with_retries(
        "slurm-sweep",
        "  notify: { address: me@lancaster.ac.uk, on: [end] }\n",
    );
    let retry = slurm.file("retry.com").unwrap();
    bash_n("retry.com", &retry.content);
    insta::assert_snapshot!("slurm-sweep@retries__retry.com", redact(&retry.content));
    let stages: Vec<String> = slurm
        .stages(&[], true)
        .iter()
        .map(|s| s.stage.clone())
        .collect();
    assert_eq!(stages, ["install", "download", "train"]);
    // Without retries, no retry job.
    assert!(render_shipped("sweep").file("retry.com").is_none());
}

/// `submit --retries 2 --dry-run`: the retry job is queued after the train
/// array however it ends, with round 1; on Slurm it takes the notify job's
/// place (the last round queues that); the resolved config records the rounds.
#[test]
fn submit_retries_queues_the_retry_job_after_train() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("slurm.yaml");
    std::fs::write(
        &cfg,
        edit(
            &std::fs::read_to_string(repo().join("configs/slurm-sweep.yaml")).unwrap(),
            "cluster:\n",
            "cluster:\n  notify: { address: me@lancaster.ac.uk, on: [fail] }\n",
        ),
    )
    .unwrap();
    let out = Hecjob::new()
        .current_dir(tmp.path())
        .args([
            "submit",
            "--dry-run",
            "--retries",
            "2",
            "--out",
            "out",
            "slurm.yaml",
        ])
        .output();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout
            .contains("sbatch --parsable --dependency=afterany:3 retry.com 1    # retry → job 4\n"),
        "{stdout}"
    );
    assert!(!stdout.contains("notify.com"), "{stdout}");
    let resolved = std::fs::read_to_string(tmp.path().join("out/config.yaml")).unwrap();
    assert!(resolved.contains("\n  retries: 2\n"), "{resolved}");
    let too_many = Hecjob::new()
        .current_dir(tmp.path())
        .args(["submit", "--dry-run", "--retries", "11", "slurm.yaml"])
        .output();
    assert!(
        String::from_utf8_lossy(&too_many.stderr).contains("11 is not in 1..=10"),
        "{}",
        String::from_utf8_lossy(&too_many.stderr)
    );
}

/// The train script of a Slurm config whose train job has `train_keys`.
fn slurm_train_script(train_keys: &str) -> String {
    let text = format!(
        "experiment: {{name: e}}\ncluster:\n  scheduler: slurm\n  gpu_queue: gpu-short\n  \
         jobs:\n    train: {{{train_keys}}}\n"
    );
    let loaded = config::load_str(&text, "t.yaml").unwrap_or_else(|e| panic!("{e}"));
    let r = render::render(&loaded, &render::default_out_dir(&loaded), None).unwrap();
    let train = r.file("train.com").unwrap().content.clone();
    bash_n("train.com", &train);
    train
}

/// Issue 22: a padded `h_rt` was written as `--time= 01:00:00 `. Times are
/// read into seconds and written from them.
#[test]
fn a_padded_slurm_time_is_written_trimmed() {
    let train = slurm_train_script("h_rt: \" 01:00:00 \"");
    for d in ["#SBATCH --time=01:00:00\n", "#SBATCH --signal=B:USR1@360\n"] {
        assert!(train.contains(d), "train.com lacks {d:?}:\n{train}");
    }
}

/// Issue 22: a feature expression (`--constraint=v100|a100`) was refused. It is
/// written double-quoted for sbatch, which unquotes it (bash reads a comment).
#[test]
fn a_slurm_feature_expression_is_written_quoted() {
    let train = slurm_train_script("extra_directives: [\"--constraint=v100|a100\"]");
    let d = "#SBATCH --constraint=\"v100|a100\"\n";
    assert!(train.contains(d), "train.com lacks {d:?}:\n{train}");
}

/// The shipped configs that read your own data (and GoEmotions' groupings).
const OWN_DATA_CONFIGS: [&str; 5] = [
    "own-csv-columns",
    "own-jsonl-names",
    "own-tsv-ids",
    "own-single-label",
    "goemotions-ekman",
];

#[test]
fn own_data_configs_render_for_both_schedulers() {
    for name in OWN_DATA_CONFIGS {
        for sched in SCHEDULERS {
            let r = render_shipped_for(name, sched);
            for f in r.files.iter().filter(|f| f.executable) {
                bash_n(&f.name, &f.content);
            }
            let download = r.file("download.com").unwrap();
            // Own files are read where they are; GoEmotions' are downloaded.
            assert_eq!(
                download.content.contains("hecjob download-data"),
                name == "goemotions-ekman",
                "{name}@{sched}"
            );
            assert!(
                download
                    .content
                    .contains("\nhecjob prepare-data config.yaml\n"),
                "{name}@{sched}"
            );
        }
    }
    insta::assert_snapshot!(
        "own-csv-columns@slurm__download.com",
        redact(
            &render_shipped_for("own-csv-columns", "slurm")
                .file("download.com")
                .unwrap()
                .content
        )
    );
}

/// The shipped config of each encoder family, and the model it names.
const FAMILY_CONFIGS: [(&str, &str); 6] = [
    ("roberta", "roberta-base"),
    ("xlm-roberta", "xlm-roberta-base"),
    ("distilbert", "distilbert-base-uncased"),
    ("electra", "google/electra-base-discriminator"),
    ("deberta-v3", "microsoft/deberta-v3-base"),
    ("modernbert", "answerdotai/ModernBERT-base"),
];

#[test]
fn each_family_config_renders_and_fetches_its_model() {
    for (name, model) in FAMILY_CONFIGS {
        for sched in SCHEDULERS {
            let r = render_shipped_for(name, sched);
            for f in r.files.iter().filter(|f| f.executable) {
                bash_n(&f.name, &f.content);
            }
            let download = &r.file("download.com").unwrap().content;
            assert!(
                download.contains(&format!("\nhecjob download-model {model}\n")),
                "{name}@{sched}: {download}"
            );
            let resolved = &r.file("config.yaml").unwrap().content;
            assert!(
                resolved.contains(&format!("name: {model}\n")),
                "{name}@{sched}"
            );
        }
    }
}

#[test]
fn every_shipped_config_is_tested() {
    let mut shipped: Vec<String> = std::fs::read_dir(repo().join("configs"))
        .unwrap()
        .flatten()
        .map(|e| {
            e.file_name()
                .to_string_lossy()
                .trim_end_matches(".yaml")
                .to_string()
        })
        .collect();
    shipped.sort();
    let mut tested: Vec<String> = ALL_CONFIGS
        .iter()
        .chain(&OWN_DATA_CONFIGS)
        .map(|s| s.to_string())
        .chain(FAMILY_CONFIGS.iter().map(|(name, _)| name.to_string()))
        .collect();
    tested.sort();
    assert_eq!(shipped, tested);
}

/// `sweep.model.name` × learning rate under both schedulers: the manifest gives
/// each task its model (train.com's worker reads it from config.yaml by task
/// id), and the download job fetches every model, or checks a local one.
#[test]
fn a_model_axis_gives_each_task_its_model_and_downloads_every_one() {
    for scheduler in SCHEDULERS {
        let yaml = format!(
            "experiment:\n  name: m\ncluster:\n  scheduler: {scheduler}\n\
             sweep:\n  model.name: [bert-base-uncased, /models/my encoder]\n  learning_rate: [3.0e-5, 2.0e-5]\n"
        );
        let loaded = config::load_str(&yaml, "m.yaml").unwrap();
        let r = render::render(&loaded, Path::new("out"), None).unwrap();
        let tsv = &r.file("tasks.tsv").unwrap().content;
        let rows: Vec<Vec<&str>> = tsv
            .lines()
            .map(|l| l.split('\t').take(3).collect())
            .collect();
        assert_eq!(
            rows,
            [
                ["task", "model.name", "learning_rate"],
                ["1", "bert-base-uncased", "0.00003"],
                ["2", "bert-base-uncased", "0.00002"],
                ["3", "/models/my encoder", "0.00003"],
                ["4", "/models/my encoder", "0.00002"],
            ],
            "{scheduler}"
        );
        let json: serde_json::Value =
            serde_json::from_str(&r.file("tasks.json").unwrap().content).unwrap();
        let models: Vec<&str> = json["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["swept"]["model.name"].as_str().unwrap())
            .collect();
        assert_eq!(
            models,
            [
                "bert-base-uncased",
                "bert-base-uncased",
                "/models/my encoder",
                "/models/my encoder"
            ]
        );
        let download = &r.file("download.com").unwrap().content;
        assert!(
            download.contains(
                "hecjob download-model bert-base-uncased\n\
                 # model.name is a local directory: nothing to download.\n\
                 test -f '/models/my encoder'/config.json\n"
            ),
            "{scheduler}:\n{download}"
        );
        bash_n("download.com", download);
        // The worker's config: the resolved config.yaml gives task 3 its model.
        let back =
            config::load_str(&r.file("config.yaml").unwrap().content, "config.yaml").unwrap();
        assert_eq!(back.task(3).unwrap().model.name, "/models/my encoder");
        assert_eq!(back.task(2).unwrap().model.name, "bert-base-uncased");
    }
}

/// Two hub models × two learning rates: four tasks, two downloads, each once.
#[test]
fn a_two_model_sweep_downloads_both_models_once() {
    let yaml = "experiment:\n  name: m\n\
                sweep:\n  model.name: [roberta-base, google/electra-base-discriminator]\n  learning_rate: [3.0e-5, 2.0e-5]\n";
    let loaded = config::load_str(yaml, "m.yaml").unwrap();
    assert_eq!(loaded.tasks.len(), 4);
    let r = render::render(&loaded, Path::new("out"), None).unwrap();
    assert!(r.file("train.com").unwrap().content.contains("#$ -t 1-4\n"));
    let download = &r.file("download.com").unwrap().content;
    let fetches: Vec<&str> = download
        .lines()
        .filter(|l| l.starts_with("hecjob download-model "))
        .collect();
    assert_eq!(
        fetches,
        [
            "hecjob download-model roberta-base",
            "hecjob download-model google/electra-base-discriminator"
        ]
    );
}

/// A config with `predict:` over two input files (a glob) renders, under both
/// schedulers, predict.com (an array of one task per shard: 5 rows in shards
/// of 2 make 3) and merge.com after it, chained after the train array;
/// predict.json lists each file with its rows and where in it each shard
/// begins. `--only predict` brings the
/// merge along.
#[test]
fn predict_renders_an_array_of_shards_and_a_merge_for_both_schedulers() {
    use hecjob::jobdir::predict::PredictPlan;
    use hecjob::jobdir::JobKind;
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("a.txt"), "one\ntwo\nthree\n").unwrap();
    std::fs::write(tmp.path().join("b.txt"), "four\nfive").unwrap();
    for scheduler in SCHEDULERS {
        let cfg = tmp.path().join(format!("{scheduler}.yaml"));
        std::fs::write(
            &cfg,
            format!(
                "experiment:\n  name: label\ncluster:\n  scheduler: {scheduler}\n\
                 predict:\n  model: best\n  inputs: [\"*.txt\"]\n  shard_size: 2\n"
            ),
        )
        .unwrap();
        let mut loaded = config::load(Some(&cfg)).unwrap();
        let r = render::render(&loaded, Path::new("jobs/label"), None).unwrap();
        let plan: PredictPlan =
            serde_json::from_str(&r.file("predict.json").unwrap().content).unwrap();
        let inputs: Vec<(String, u64)> = plan
            .inputs
            .iter()
            .map(|i| (i.path.file_name().unwrap().to_string_lossy().into(), i.rows))
            .collect();
        assert_eq!(inputs, [("a.txt".into(), 3), ("b.txt".into(), 2)]);
        // Where shards 2 (row 2: a.txt's third line) and 3 (row 4: b.txt's
        // second) begin, so each opens its first file there.
        let start = |row, byte, line| hecjob::jobdir::predict::RowStart { row, byte, line };
        assert_eq!(plan.inputs[0].starts, [start(2, 8, 3)]);
        assert_eq!(plan.inputs[1].starts, [start(1, 5, 2)]);
        assert_eq!(
            (plan.rows, plan.shards, plan.model.as_str()),
            (5, 3, "best")
        );
        // The header names the source: a fixed one keeps the snapshot stable.
        loaded.source = "label.yaml".into();
        let r2 = render::render(&loaded, Path::new("jobs/label"), None);
        // Relative inputs are the config's folder's: from label.yaml (here,
        // the test's working directory) they match nothing.
        assert!(r2.is_err(), "rendered from the wrong folder");
        for name in ["predict.com", "merge.com"] {
            let f = r.file(name).unwrap();
            assert!(f.executable);
            bash_n(name, &f.content);
            let content = redact(&f.content).replace(&cfg.display().to_string(), "label.yaml");
            insta::assert_snapshot!(format!("predict@{scheduler}__{name}"), content);
        }
        let array = if scheduler == "sge" {
            "-t 1-3"
        } else {
            "--array=1-3"
        };
        assert!(
            r.file("predict.com").unwrap().content.contains(array),
            "{scheduler}: no {array}"
        );
        let stages = |only: &[JobKind]| -> Vec<String> {
            r.stages(only, false).into_iter().map(|s| s.stage).collect()
        };
        assert_eq!(
            stages(&[]),
            ["install", "download", "train", "predict", "merge"]
        );
        assert_eq!(stages(&[JobKind::Predict]), ["predict", "merge"]);
        // Held on the train array however its tasks end (a failed task
        // leaves the others' models): Grid Engine's -hold_jid, Slurm's
        // afterany; the merge only after the predict array succeeded.
        let tail: Vec<String> = chain(&r).split_off(4);
        let expected = if scheduler == "sge" {
            [
                "qsub -terse -hold_jid 3 -w e predict.com    # predict → job 4",
                "qsub -terse -hold_jid 4 -w e merge.com    # merge → job 5",
            ]
        } else {
            [
                "sbatch --parsable --dependency=afterany:3 predict.com    # predict → job 4",
                "sbatch --parsable --dependency=afterok:4 --kill-on-invalid-dep=yes merge.com    # merge → job 5",
            ]
        };
        assert_eq!(tail, expected);
    }
}

/// An input glob that matches nothing is refused at render time, naming the key.
#[test]
fn a_predict_glob_matching_nothing_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("c.yaml");
    std::fs::write(
        &cfg,
        "experiment:\n  name: label\npredict:\n  model: best\n  inputs: [corpus/*.csv]\n",
    )
    .unwrap();
    let loaded = config::load(Some(&cfg)).unwrap();
    let e = render::render(&loaded, Path::new("jobs/label"), None)
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        format!(
            "predict.inputs[0]: {} matches no file (relative inputs are read from the config's folder, {})",
            tmp.path().join("corpus/*.csv").display(),
            tmp.path().display()
        )
    );
}
