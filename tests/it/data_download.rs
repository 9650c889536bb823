//! `download-data` against a real HTTP server on 127.0.0.1: the library call
//! with generated files and checksums, and the CLI with its embedded checksums.
use crate::support;
use crate::support::Hecjob;

use hecjob::fetch::dataset::{download_files, goemotions_files, FileSpec, Outcome};
use hecjob::fetch::http::{Http, HttpOptions};
use std::time::Duration;
use support::server::{Route, TestServer};

fn http() -> Http {
    Http::new(HttpOptions {
        connect_timeout: Duration::from_secs(2),
        read_timeout: Duration::from_secs(2),
        retries: 1,
        backoff: Duration::from_millis(10),
        ..HttpOptions::default()
    })
    .unwrap()
}

/// A tiny GoEmotions-shaped data set, served at /data/<file>.
fn generated(srv: &TestServer) -> Vec<FileSpec> {
    let files: [(&str, &str, usize); 4] = [
        (
            "train.tsv",
            "a\t0\tt1\n\"q \"\"x\"\"\"\t1,2\tt2\nc\t2\tt3\n",
            3,
        ),
        ("dev.tsv", "d\t1\td1\n", 1),
        ("test.tsv", "e\t0,1\te1\nf\t2\te2\n", 2),
        ("emotions.txt", "joy\nanger\nneutral", 3),
    ];
    files
        .iter()
        .map(|(name, body, rows)| {
            srv.route(
                &format!("/data/{name}"),
                Route::ok(body.as_bytes().to_vec()),
            );
            FileSpec {
                name: name.to_string(),
                sha256: support::sha256(body.as_bytes()),
                bytes: body.len() as u64,
                rows: *rows,
            }
        })
        .collect()
}

#[test]
fn downloads_then_skips_then_replaces_a_damaged_file() {
    let srv = TestServer::start();
    let specs = generated(&srv);
    let dir = tempfile::tempdir().unwrap();
    let base = srv.url("/data/");
    let out = download_files(&http(), dir.path(), &base, &specs).unwrap();
    assert_eq!(out, vec![Outcome::Downloaded; 4]);
    for s in &specs {
        let bytes = std::fs::read(dir.path().join(&s.name)).unwrap();
        assert_eq!(support::sha256(&bytes), s.sha256, "{}", s.name);
    }
    assert_eq!(srv.requests().len(), 4);

    // Second run: all present and valid, nothing fetched.
    let out = download_files(&http(), dir.path(), &base, &specs).unwrap();
    assert_eq!(out, vec![Outcome::Skipped; 4]);
    assert_eq!(srv.requests().len(), 4);

    // A damaged file is fetched again, and says why.
    std::fs::write(dir.path().join("dev.tsv"), "d\t1\td1\nextra\t0\td2\n").unwrap();
    let out = download_files(&http(), dir.path(), &base, &specs).unwrap();
    match &out[1] {
        Outcome::Replaced(why) => {
            assert!(
                why.contains(&format!("expected {}", specs[1].sha256)),
                "{why}"
            );
            assert!(why.contains("2 rows, expected 1"), "{why}");
        }
        other => panic!("dev.tsv: {other:?}"),
    }
    assert_eq!(out[0], Outcome::Skipped);
    assert_eq!(srv.hits("GET", "/data/dev.tsv").len(), 2);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("dev.tsv")).unwrap(),
        "d\t1\td1\n"
    );
}

#[test]
fn served_file_with_wrong_content_is_not_kept() {
    let srv = TestServer::start();
    let specs = generated(&srv);
    srv.route("/data/test.tsv", Route::ok(b"e\t0,1\te1\n".to_vec()));
    let dir = tempfile::tempdir().unwrap();
    let err = download_files(&http(), dir.path(), &srv.url("/data"), &specs).unwrap_err();
    let msg = err.to_string();
    assert_eq!(err.exit_code(), 5, "{msg}");
    assert!(msg.contains("/data/test.tsv"), "{msg}");
    assert!(
        msg.contains(&format!("sha256 is {}", support::sha256(b"e\t0,1\te1\n"))),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("expected {}", specs[2].sha256)),
        "{msg}"
    );
    assert!(msg.contains("1 rows, expected 2"), "{msg}");
    assert!(!dir.path().join("test.tsv").exists());
    assert!(!dir.path().join("test.tsv.incomplete").exists());
    // The files before it are in place.
    assert!(dir.path().join("dev.tsv").exists());
}

#[test]
fn base_url_must_be_http() {
    let dir = tempfile::tempdir().unwrap();
    let err = download_files(&http(), dir.path(), "/some/dir", &goemotions_files()).unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("not an http(s) URL"), "{err}");
}

fn hecjob() -> Hecjob {
    Hecjob::new()
        .env_remove("HECJOB_DATA_URL")
        .env("HECJOB_HTTP_RETRIES", "0")
        .env("HECJOB_HTTP_TIMEOUT", "5")
}

#[test]
fn cli_rejects_a_mirror_serving_other_data() {
    // The CLI checks against the embedded GoEmotions sums, so generated data fails.
    let srv = TestServer::start();
    generated(&srv);
    let dir = tempfile::tempdir().unwrap();
    let out = hecjob()
        .arg("download-data")
        .arg(dir.path())
        .args(["--base-url", &srv.url("/data")])
        .output();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert!(err.contains("train.tsv: sha256 is"), "{err}");
    assert!(
        err.contains("expected 1c254a142be5c00e80d819b9ae1bbd36d94b2eeb8f4b1271846508d57e57d9c5"),
        "{err}"
    );
    assert!(err.contains("3 rows, expected 43,410"), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn cli_404_and_unreachable_say_what_to_do() {
    let srv = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    // Env var instead of the flag.
    let out = hecjob()
        .arg("download-data")
        .arg(dir.path())
        .env("HECJOB_DATA_URL", srv.url("/nothing-here"))
        .output();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert!(
        err.contains(&srv.url("/nothing-here/train.tsv")) && err.contains("404"),
        "{err}"
    );
    assert!(
        err.contains("copy them into") && err.contains("HECJOB_DATA_URL"),
        "{err}"
    );

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/x");
    let out = hecjob()
        .arg("download-data")
        .arg(dir.path())
        .args(["--base-url", &url])
        .output();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert!(
        err.contains(&format!("cannot download {url}/train.tsv")),
        "{err}"
    );
    assert!(
        err.contains("no internet access") && err.contains("--base-url"),
        "{err}"
    );
}

#[test]
fn cli_downloads_the_real_files_from_a_local_mirror() {
    let Some(real) = support::goemotions_dir() else {
        return;
    };
    let srv = TestServer::start();
    for s in goemotions_files() {
        let bytes = std::fs::read(real.join(&s.name)).unwrap();
        srv.route(&format!("/goemotions/data/{}", s.name), Route::ok(bytes));
    }
    let dir = tempfile::tempdir().unwrap();
    let run = || {
        hecjob()
            .arg("download-data")
            .arg(dir.path())
            .args(["--base-url", &srv.url("/goemotions/data/")])
            .output()
    };
    let out = run();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("train.tsv: downloaded 43,410 rows"),
        "{stdout}"
    );
    for s in goemotions_files() {
        assert_eq!(
            std::fs::read(dir.path().join(&s.name)).unwrap(),
            std::fs::read(real.join(&s.name)).unwrap()
        );
    }
    let out = run();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        stdout.contains("emotions.txt: present, sha256 and 28 names ok; skipped"),
        "{stdout}"
    );
    assert_eq!(srv.requests().len(), 4);
}

#[test]
fn two_concurrent_downloads_into_one_directory_both_succeed() {
    // Issue 15: the loser failed with "renaming … No such file" (both wrote
    // one `.incomplete`; the winner renamed it away).
    let srv = TestServer::start();
    let specs = generated(&srv);
    let dir = tempfile::tempdir().unwrap();
    let base = srv.url("/data/");
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let (dir, base, specs) = (dir.path().to_path_buf(), base.clone(), specs.clone());
            std::thread::spawn(move || download_files(&http(), &dir, &base, &specs))
        })
        .collect();
    for r in runs {
        r.join().unwrap().unwrap();
    }
    for s in &specs {
        let bytes = std::fs::read(dir.path().join(&s.name)).unwrap();
        assert_eq!(support::sha256(&bytes), s.sha256, "{}", s.name);
    }
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["dev.tsv", "emotions.txt", "test.tsv", "train.tsv"]);
}

#[test]
fn a_blank_base_url_is_an_error_not_the_default() {
    let dir = tempfile::tempdir().unwrap();
    Hecjob::new()
        .args([
            "download-data",
            dir.path().to_str().unwrap(),
            "--base-url",
            " ",
        ])
        .env_remove("HECJOB_DATA_URL")
        .run()
        .code(2)
        .stderr_eq("error: --base-url / HECJOB_DATA_URL is empty; give a mirror URL, or leave both out for the pinned GitHub commit\n");
}
