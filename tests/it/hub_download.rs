//! `hecjob download-model` against a real HTTP server on 127.0.0.1 that
//! answers like the hub: X-Repo-Commit, ETag, LFS redirects with X-Linked-Etag.
use crate::support;
use crate::support::Hecjob;

use hecjob::fetch::hub::resolve_model_dir_in;
use std::path::{Path, PathBuf};
use std::process::Output;
use support::server::{Route, TestServer};

const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

fn bytes(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

struct File {
    name: &'static str,
    body: Vec<u8>,
    /// Served like an LFS file: a redirect to /cdn/<sha256> with X-Linked-Etag.
    lfs: bool,
}

fn tiny_model() -> Vec<File> {
    vec![
        File {
            name: "config.json",
            body: b"{\"model_type\": \"bert\"}".to_vec(),
            lfs: false,
        },
        File {
            name: "tokenizer.json",
            body: b"{\"version\": \"1.0\"}".to_vec(),
            lfs: false,
        },
        File {
            name: "tokenizer_config.json",
            body: b"{}".to_vec(),
            lfs: false,
        },
        File {
            name: "model.safetensors",
            body: support::safetensors(&bytes(300_000, 7)),
            lfs: true,
        },
    ]
}

/// Serve `files` for `name` at revision main and at COMMIT, like the hub.
fn serve(srv: &TestServer, name: &str, files: &[File], hub_headers: bool) {
    for f in files {
        let sha = support::sha256(&f.body);
        for rev in ["main", COMMIT] {
            let path = format!("/{name}/resolve/{rev}/{}", f.name);
            let mut route = if f.lfs && hub_headers {
                srv.route(&format!("/cdn/{sha}"), Route::ok(f.body.clone()));
                Route::redirect(srv.url(&format!("/cdn/{sha}")))
                    .header("X-Linked-Etag", &format!("\"{sha}\""))
                    .header("X-Linked-Size", &f.body.len().to_string())
            } else if hub_headers {
                // Regular files: their git blob sha1 as the ETag, as the hub.
                Route::ok(f.body.clone())
                    .header("ETag", &format!("\"{}\"", support::git_blob_sha1(&f.body)))
            } else {
                Route::ok(f.body.clone())
            };
            if hub_headers {
                route = route.header("X-Repo-Commit", COMMIT);
            }
            srv.route(&path, route);
        }
    }
}

fn hecjob(cache: &Path, endpoint: &str) -> Hecjob {
    Hecjob::new()
        .env_remove("HF_HOME")
        .env_remove("TRANSFORMERS_CACHE")
        .env_remove("HF_HUB_OFFLINE")
        .env_remove("HF_TOKEN")
        .env("HF_HUB_CACHE", cache)
        .env("HF_ENDPOINT", endpoint)
        .env("HECJOB_HTTP_RETRIES", "2")
        .env("HECJOB_HTTP_TIMEOUT", "5")
}

fn ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "exit {:?}\n{stdout}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn repo(cache: &Path) -> PathBuf {
    cache.join("models--acme--tiny-bert")
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn downloads_into_the_hf_layout_resumes_reuses_and_works_offline() {
    let srv = TestServer::start();
    let files = tiny_model();
    serve(&srv, "acme/tiny-bert", &files, true);
    let weights_sha = support::sha256(&files[3].body);
    // The first transfer of the weights breaks off at 100,000 bytes.
    srv.route(
        &format!("/cdn/{weights_sha}"),
        Route {
            truncate_first: 1,
            truncate_at: 100_000,
            ..Route::ok(files[3].body.clone())
        },
    );
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let stdout = ok(&hecjob(&cache, &srv.base())
        .args(["download-model", "acme/tiny-bert"])
        .output());
    assert!(
        stdout.contains(&format!(
            "model.safetensors: downloaded {} bytes (resumed at byte 100000)",
            files[3].body.len()
        )),
        "{stdout}"
    );

    let snap = repo(&cache).join("snapshots").join(COMMIT);
    assert_eq!(
        names_in(&snap),
        [
            "config.json",
            "model.safetensors",
            "tokenizer.json",
            "tokenizer_config.json"
        ]
    );
    for f in &files {
        let link = snap.join(f.name);
        let sha = support::sha256(&f.body);
        let blob = if f.lfs {
            sha.clone()
        } else {
            support::git_blob_sha1(&f.body)
        };
        assert_eq!(
            std::fs::read_link(&link).unwrap(),
            Path::new("../../blobs").join(&blob),
            "{}",
            f.name
        );
        assert_eq!(std::fs::read(&link).unwrap(), f.body, "{}", f.name);
    }
    assert_eq!(
        std::fs::read_to_string(repo(&cache).join("refs/main")).unwrap(),
        COMMIT
    );
    assert!(names_in(&repo(&cache).join("blobs"))
        .iter()
        .all(|n| !n.contains("incomplete")));
    // The retry continued where the cut-off transfer stopped.
    let cdn = srv.hits("GET", &format!("/cdn/{weights_sha}"));
    assert_eq!(cdn.len(), 2);
    assert_eq!(cdn[0].header("range"), None);
    assert_eq!(cdn[1].header("range"), Some("bytes=100000-"));
    // Once the commit is known, every file is fetched at that commit.
    let gets: Vec<_> = srv
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("/resolve/"))
        .collect();
    assert!(
        gets.iter().skip(1).all(|r| r.path.contains(COMMIT)),
        "{gets:?}"
    );
    // The absent optional file is not an error.
    assert_eq!(
        srv.hits(
            "HEAD",
            &format!("/acme/tiny-bert/resolve/{COMMIT}/special_tokens_map.json")
        )
        .len(),
        1
    );

    for rev in [None, Some("main"), Some(COMMIT)] {
        assert_eq!(
            resolve_model_dir_in(&cache, "acme/tiny-bert", rev).unwrap(),
            snap
        );
    }

    // Again: everything is in the cache, nothing is downloaded.
    let before = srv.requests().iter().filter(|r| r.method == "GET").count();
    let stdout = ok(&hecjob(&cache, &srv.base())
        .args(["download-model", "acme/tiny-bert"])
        .output());
    assert!(
        stdout.contains("model.safetensors: already in the cache"),
        "{stdout}"
    );
    assert_eq!(
        srv.requests().iter().filter(|r| r.method == "GET").count(),
        before
    );

    // Offline: the cache serves, and not one request reaches the (reachable) server.
    let n = srv.requests().len();
    let stdout = ok(&hecjob(&cache, &srv.base())
        .env("HF_HUB_OFFLINE", "1")
        .args(["download-model", "acme/tiny-bert"])
        .output());
    assert!(stdout.contains(&snap.display().to_string()), "{stdout}");
    assert_eq!(srv.requests().len(), n);
}

#[test]
fn a_partial_blob_left_by_an_interrupted_run_is_resumed() {
    let srv = TestServer::start();
    let files = tiny_model();
    serve(&srv, "acme/tiny-bert", &files, true);
    let sha = support::sha256(&files[3].body);
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let blobs = repo(&cache).join("blobs");
    std::fs::create_dir_all(&blobs).unwrap();
    std::fs::write(
        blobs.join(format!("{sha}.incomplete")),
        &files[3].body[..40_000],
    )
    .unwrap();
    ok(&hecjob(&cache, &srv.base())
        .args(["download-model", "acme/tiny-bert"])
        .output());
    let cdn = srv.hits("GET", &format!("/cdn/{sha}"));
    assert_eq!(cdn.len(), 1);
    assert_eq!(cdn[0].header("range"), Some("bytes=40000-"));
    assert_eq!(std::fs::read(blobs.join(&sha)).unwrap(), files[3].body);
}

#[test]
fn offline_without_the_model_fails_clearly() {
    let srv = TestServer::start();
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let out = hecjob(&cache, &srv.base())
        .env("HF_HUB_OFFLINE", "1")
        .args(["download-model", "acme/tiny-bert"])
        .output();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert!(err.contains("HF_HUB_OFFLINE=1 forbids downloads"), "{err}");
    assert!(
        err.contains("run `hecjob download-model acme/tiny-bert`"),
        "{err}"
    );
    assert!(srv.requests().is_empty());
    let e = resolve_model_dir_in(&cache, "acme/tiny-bert", None).unwrap_err();
    assert!(
        e.to_string()
            .contains("run `hecjob download-model acme/tiny-bert` first"),
        "{e}"
    );
}

#[test]
fn plain_mirror_without_hub_headers_and_vocab_txt_tokenizer() {
    let srv = TestServer::start();
    let files = vec![
        File {
            name: "config.json",
            body: b"{\"model_type\": \"bert\"}".to_vec(),
            lfs: false,
        },
        File {
            name: "vocab.txt",
            body: b"[PAD]\n[UNK]\n".to_vec(),
            lfs: false,
        },
        File {
            name: "model.safetensors",
            body: support::safetensors(&bytes(5_000, 3)),
            lfs: false,
        },
    ];
    serve(&srv, "acme/tiny-bert", &files, false);
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    ok(&hecjob(&cache, &format!("{}/", srv.base()))
        .args(["download-model", "acme/tiny-bert"])
        .output());
    // No commit header: the snapshot is named after the revision, no refs file.
    let snap = repo(&cache).join("snapshots/main");
    assert_eq!(
        names_in(&snap),
        ["config.json", "model.safetensors", "vocab.txt"]
    );
    assert!(!repo(&cache).join("refs").exists());
    // No ETag: blobs are named by their sha256.
    let weights = std::fs::read_link(snap.join("model.safetensors")).unwrap();
    assert_eq!(
        weights,
        Path::new("../../blobs").join(support::sha256(&files[2].body))
    );
    assert_eq!(
        resolve_model_dir_in(&cache, "acme/tiny-bert", None).unwrap(),
        snap
    );
    // tokenizer.json was asked for first, and its absence was fine.
    assert_eq!(
        srv.hits("HEAD", "/acme/tiny-bert/resolve/main/tokenizer.json")
            .len(),
        1
    );
}

#[test]
fn renamed_repo_redirects_are_followed() {
    let srv = TestServer::start();
    let files = tiny_model();
    serve(&srv, "google-bert/bert-base-uncased", &files, true);
    for f in &files {
        for rev in ["main", COMMIT] {
            srv.route(
                &format!("/bert-base-uncased/resolve/{rev}/{}", f.name),
                Route::redirect(format!(
                    "/google-bert/bert-base-uncased/resolve/{rev}/{}",
                    f.name
                )),
            );
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    ok(&hecjob(&cache, &srv.base())
        .args(["download-model", "bert-base-uncased"])
        .output());
    let snap = cache
        .join("models--bert-base-uncased/snapshots")
        .join(COMMIT);
    assert_eq!(
        std::fs::read(snap.join("model.safetensors")).unwrap(),
        files[3].body
    );
    assert_eq!(
        resolve_model_dir_in(&cache, "bert-base-uncased", None).unwrap(),
        snap
    );
}

#[test]
fn weights_with_the_wrong_sha256_are_not_kept() {
    let srv = TestServer::start();
    let files = tiny_model();
    serve(&srv, "acme/tiny-bert", &files, true);
    let sha = support::sha256(&files[3].body);
    srv.route(&format!("/cdn/{sha}"), Route::ok(bytes(300_000, 99)));
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let out = hecjob(&cache, &srv.base())
        .args(["download-model", "acme/tiny-bert"])
        .output();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert!(
        err.contains(&format!("sha256 mismatch: expected {sha}")),
        "{err}"
    );
    assert!(names_in(&repo(&cache).join("blobs"))
        .iter()
        .all(|n| !n.starts_with(&sha)));
    assert!(!repo(&cache)
        .join("snapshots")
        .join(COMMIT)
        .join("model.safetensors")
        .exists());
}

#[test]
fn unknown_model_says_so() {
    let srv = TestServer::start();
    let tmp = tempfile::tempdir().unwrap();
    let out = hecjob(&tmp.path().join("c"), &srv.base())
        .args(["download-model", "acme/nope"])
        .output();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert!(
        err.contains("acme/nope (revision main) has no config.json"),
        "{err}"
    );
    // 404 is final: asked once.
    assert_eq!(srv.requests().len(), 1);
}

#[test]
fn a_modernbert_model_is_downloaded_whole() {
    // model_type modernbert (answerdotai/ModernBERT-base's) is one the worker
    // runs: config.json is accepted and the weights follow.
    let srv = TestServer::start();
    let mut files = tiny_model();
    files[0].body = b"{\"model_type\": \"modernbert\", \"global_attn_every_n_layers\": 3}".to_vec();
    serve(&srv, "acme/modernbert", &files, true);
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("c");
    ok(&hecjob(&cache, &srv.base())
        .args(["download-model", "acme/modernbert"])
        .output());
    let snapshot = cache
        .join("models--acme--modernbert/snapshots")
        .join(COMMIT);
    assert_eq!(
        names_in(&snapshot),
        [
            "config.json",
            "model.safetensors",
            "tokenizer.json",
            "tokenizer_config.json"
        ]
    );
}

#[test]
fn an_unsupported_model_type_is_refused_before_the_weights_are_fetched() {
    // Issue 20: a model hecjob cannot train is refused from its config.json,
    // with the supported model_types, not after gigabytes of weights.
    let srv = TestServer::start();
    let mut files = tiny_model();
    files[0].body = b"{\"model_type\": \"deberta\"}".to_vec();
    serve(&srv, "acme/deberta", &files, true);
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("c");
    let out = hecjob(&cache, &srv.base())
        .args(["download-model", "acme/deberta"])
        .output();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    let config = cache
        .join("models--acme--deberta/snapshots")
        .join(COMMIT)
        .join("config.json");
    assert!(
        err.contains(&format!(
            "{}: model_type `deberta` is not supported; expected one of `bert` (BERT, MiniLM), `roberta`, `distilbert`, `electra`, `xlm-roberta`, `deberta-v2` (DeBERTa-v2, -v3)",
            config.display()
        )),
        "{err}"
    );
    let asked: Vec<String> = srv.requests().into_iter().map(|r| r.path).collect();
    assert!(
        asked.iter().all(|p| p.ends_with("/config.json")),
        "only config.json may be fetched: {asked:?}"
    );
}

#[test]
fn a_deberta_v2_model_is_downloaded() {
    // DeBERTa-v2 / -v3 checkpoints (`model_type: deberta-v2`) are one of the
    // families the worker trains: config.json passes and the rest is fetched.
    let srv = TestServer::start();
    let mut files = tiny_model();
    files[0].body = b"{\"model_type\": \"deberta-v2\"}".to_vec();
    serve(&srv, "acme/deberta-v3-tiny", &files, true);
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("c");
    ok(&hecjob(&cache, &srv.base())
        .args(["download-model", "acme/deberta-v3-tiny"])
        .output());
    let snap = cache
        .join("models--acme--deberta-v3-tiny/snapshots")
        .join(COMMIT);
    assert_eq!(
        names_in(&snap),
        [
            "config.json",
            "model.safetensors",
            "tokenizer.json",
            "tokenizer_config.json"
        ]
    );
}

#[test]
fn a_repository_with_only_spm_model_says_how_to_convert_it() {
    // microsoft/deberta-v3-base ships spm.model and pytorch_model.bin, no
    // tokenizer.json: the error says how to write both once with transformers.
    let srv = TestServer::start();
    let files = vec![
        File {
            name: "config.json",
            body: b"{\"model_type\": \"deberta-v2\"}".to_vec(),
            lfs: false,
        },
        File {
            name: "spm.model",
            body: bytes(1000, 3),
            lfs: true,
        },
    ];
    serve(&srv, "acme/deberta-v3-spm", &files, true);
    let tmp = tempfile::tempdir().unwrap();
    let out = hecjob(&tmp.path().join("c"), &srv.base())
        .args(["download-model", "acme/deberta-v3-spm"])
        .output();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert!(
        err.contains("has no tokenizer.json (nor vocab.txt, nor vocab.json + merges.txt)"),
        "{err}"
    );
    assert!(
        err.contains(
            "AutoTokenizer.from_pretrained('acme/deberta-v3-spm').save_pretrained('DIR'); \
             AutoModel.from_pretrained('acme/deberta-v3-spm').save_pretrained('DIR')"
        ),
        "{err}"
    );
}

// ---- issue 15 ----

#[test]
fn a_captive_portal_page_is_not_stored_as_the_model() {
    // 200 with an HTML page for every file, no ETag: was stored as
    // config.json, tokenizer.json and model.safetensors, and "ready".
    let srv = TestServer::start();
    let portal = b"<!DOCTYPE html>\n<html><body>Please log in to the network</body></html>\n";
    for f in ["config.json", "tokenizer.json", "model.safetensors"] {
        srv.route(
            &format!("/acme/tiny-bert/resolve/main/{f}"),
            Route::ok(portal.to_vec()),
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let out = hecjob(&cache, &srv.base())
        .args(["download-model", "acme/tiny-bert"])
        .output();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert!(
        err.contains(&format!(
            "{}/acme/tiny-bert/resolve/main/config.json: an HTML page, not config.json (a login or captive portal page answered in its place?); the file was not kept",
            srv.base()
        )),
        "{err}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).find("ready").is_none());
    assert!(!repo(&cache).join("snapshots/main/config.json").exists());
    assert_eq!(names_in(&repo(&cache).join("blobs")), Vec::<String>::new());
}

#[test]
fn a_file_that_does_not_match_its_git_etag_is_not_kept() {
    let srv = TestServer::start();
    let mut files = tiny_model();
    serve(&srv, "acme/tiny-bert", &files, true);
    // tokenizer.json arrives 8 KB too long (what two writers made of it).
    let good = files.remove(1).body;
    let mut long = good.clone();
    long.extend(std::iter::repeat_n(b' ', 8192));
    for rev in ["main", COMMIT] {
        srv.route(
            &format!("/acme/tiny-bert/resolve/{rev}/tokenizer.json"),
            Route::ok(long.clone())
                .header("ETag", &format!("\"{}\"", support::git_blob_sha1(&good)))
                .header("X-Repo-Commit", COMMIT),
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let out = hecjob(&cache, &srv.base())
        .args(["download-model", "acme/tiny-bert"])
        .output();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert!(
        err.contains(&format!(
            "its git blob sha1 is {}, the server's ETag says {}; the file was not kept",
            support::git_blob_sha1(&long),
            support::git_blob_sha1(&good)
        )),
        "{err}"
    );
}

#[test]
fn two_concurrent_downloads_into_one_cache_leave_it_whole() {
    let srv = TestServer::start();
    let files = tiny_model();
    serve(&srv, "acme/tiny-bert", &files, true);
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let runs: Vec<_> = (0..3)
        .map(|_| {
            hecjob(&cache, &srv.base())
                .args(["download-model", "acme/tiny-bert"])
                .command()
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for r in runs {
        ok(&r.wait_with_output().unwrap());
    }
    let snap = repo(&cache).join("snapshots").join(COMMIT);
    for f in &files {
        assert_eq!(
            std::fs::read(snap.join(f.name)).unwrap(),
            f.body,
            "{}",
            f.name
        );
    }
    // Only blobs: no lock, partial or temp file left behind.
    assert_eq!(names_in(&repo(&cache).join("blobs")).len(), files.len());
}
