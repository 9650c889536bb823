//! src/http.rs against a real HTTP server on 127.0.0.1.
use crate::support;

use hecjob::fetch::http::{partial_path, DownloadRequest, FetchError, Http, HttpOptions};
use std::path::Path;
use std::time::{Duration, Instant};
use support::server::{Route, TestServer};

fn http(retries: u32) -> Http {
    Http::new(HttpOptions {
        connect_timeout: Duration::from_secs(2),
        read_timeout: Duration::from_millis(400),
        retries,
        backoff: Duration::from_millis(10),
        ..HttpOptions::default()
    })
    .unwrap()
}

fn body(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 251) as u8).collect()
}

/// The destination directory holds exactly these names (no temp or partial files).
fn assert_dir_holds(dir: &Path, names: &[&str]) {
    let mut got: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    got.sort();
    let mut want: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn full_download_with_checksum() {
    let srv = TestServer::start();
    let data = body(300_000);
    srv.route("/f.bin", Route::ok(data.clone()));
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("sub/f.bin");
    let sha = support::sha256(&data);
    let url = srv.url("/f.bin");
    let got = http(0)
        .download(&DownloadRequest {
            sha256: Some(&sha),
            ..DownloadRequest::new(&url, &dest, "f.bin")
        })
        .unwrap();
    assert_eq!(got.bytes, data.len() as u64);
    assert_eq!(got.sha256, sha);
    assert_eq!(std::fs::read(&dest).unwrap(), data);
    assert_dir_holds(dest.parent().unwrap(), &["f.bin"]);
}

#[test]
fn wrong_checksum_keeps_nothing() {
    let srv = TestServer::start();
    srv.route("/f.bin", Route::ok(b"not what you expected".to_vec()));
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("f.bin");
    let want = "ab".repeat(32);
    let url = srv.url("/f.bin");
    let err = http(3)
        .download(&DownloadRequest {
            sha256: Some(&want),
            ..DownloadRequest::new(&url, &dest, "f.bin")
        })
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, FetchError::Checksum { .. }), "{msg}");
    assert!(msg.contains(&format!("expected {want}")), "{msg}");
    assert!(
        msg.contains(&support::sha256(b"not what you expected")),
        "{msg}"
    );
    assert_dir_holds(dir.path(), &[]);
    // A mismatch is not a transient failure: one request only.
    assert_eq!(srv.hits("GET", "/f.bin").len(), 1);
}

#[test]
fn not_found_is_not_retried() {
    let srv = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("missing.tsv");
    let url = srv.url("/missing.tsv");
    let err = http(3)
        .download(&DownloadRequest::new(&url, &dest, "x"))
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(err.to_string().contains(&url));
    assert_eq!(srv.hits("GET", "/missing.tsv").len(), 1);
    assert_dir_holds(dir.path(), &[]);
}

#[test]
fn server_errors_are_retried_then_succeed() {
    let srv = TestServer::start();
    let data = body(5_000);
    srv.route(
        "/f",
        Route {
            fail_first: 2,
            ..Route::ok(data.clone())
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("f");
    let url = srv.url("/f");
    http(2)
        .download(&DownloadRequest::new(&url, &dest, "f"))
        .unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), data);
    assert_eq!(srv.hits("GET", "/f").len(), 3);
}

#[test]
fn server_errors_give_up_after_the_retries() {
    let srv = TestServer::start();
    srv.route(
        "/f",
        Route {
            fail_first: 10,
            ..Route::ok(b"x".to_vec())
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("f");
    let url = srv.url("/f");
    let err = http(2)
        .download(&DownloadRequest::new(&url, &dest, "f"))
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("HTTP 500") && msg.contains("after 3 attempts"),
        "{msg}"
    );
    assert_eq!(srv.hits("GET", "/f").len(), 3);
    assert_dir_holds(dir.path(), &[]);
}

#[test]
fn truncated_body_is_retried_from_the_start_without_resume() {
    let srv = TestServer::start();
    let data = body(200_000);
    srv.route(
        "/f",
        Route {
            truncate_first: 1,
            truncate_at: 50_000,
            ..Route::ok(data.clone())
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("f");
    let url = srv.url("/f");
    http(1)
        .download(&DownloadRequest::new(&url, &dest, "f"))
        .unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), data);
    let hits = srv.hits("GET", "/f");
    assert_eq!(hits.len(), 2);
    assert!(hits.iter().all(|h| h.header("range").is_none()));
}

#[test]
fn truncated_body_resumes_with_range() {
    let srv = TestServer::start();
    let data = body(200_000);
    srv.route(
        "/f",
        Route {
            truncate_first: 1,
            truncate_at: 50_000,
            ..Route::ok(data.clone())
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("f");
    let url = srv.url("/f");
    let sha = support::sha256(&data);
    let got = http(1)
        .download(&DownloadRequest {
            resume: true,
            sha256: Some(&sha),
            ..DownloadRequest::new(&url, &dest, "f")
        })
        .unwrap();
    assert_eq!(got.resumed_from, 50_000);
    assert_eq!(std::fs::read(&dest).unwrap(), data);
    let hits = srv.hits("GET", "/f");
    assert_eq!(hits[1].header("range"), Some("bytes=50000-"));
}

#[test]
fn truncated_every_time_fails_without_a_final_file() {
    let srv = TestServer::start();
    srv.route(
        "/f",
        Route {
            truncate_first: 100,
            truncate_at: 1_000,
            ..Route::ok(body(10_000))
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("f");
    let url = srv.url("/f");
    let err = http(1)
        .download(&DownloadRequest::new(&url, &dest, "f"))
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("closed after 1000 of 10000 bytes") && msg.contains("after 2 attempts"),
        "{msg}"
    );
    assert_dir_holds(dir.path(), &[]);
}

#[test]
fn existing_partial_file_is_resumed() {
    let srv = TestServer::start();
    let data = body(100_000);
    srv.route("/f", Route::ok(data.clone()));
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("f");
    std::fs::write(partial_path(&dest), &data[..30_000]).unwrap();
    let url = srv.url("/f");
    let sha = support::sha256(&data);
    let got = http(0)
        .download(&DownloadRequest {
            resume: true,
            sha256: Some(&sha),
            ..DownloadRequest::new(&url, &dest, "f")
        })
        .unwrap();
    assert_eq!(got.resumed_from, 30_000);
    assert_eq!(
        srv.hits("GET", "/f")[0].header("range"),
        Some("bytes=30000-")
    );
    assert_eq!(std::fs::read(&dest).unwrap(), data);
    assert_dir_holds(dir.path(), &["f"]);
}

#[test]
fn server_ignoring_range_restarts_cleanly() {
    let srv = TestServer::start();
    let data = body(100_000);
    srv.route(
        "/f",
        Route {
            ranges: false,
            ..Route::ok(data.clone())
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("f");
    std::fs::write(partial_path(&dest), &data[..30_000]).unwrap();
    let url = srv.url("/f");
    let got = http(0)
        .download(&DownloadRequest {
            resume: true,
            ..DownloadRequest::new(&url, &dest, "f")
        })
        .unwrap();
    // It asked to resume, got the whole body back, and started over cleanly.
    assert_eq!(
        srv.hits("GET", "/f")[0].header("range"),
        Some("bytes=30000-")
    );
    assert_eq!(got.resumed_from, 0);
    assert_eq!(std::fs::read(&dest).unwrap(), data);
    assert_dir_holds(dir.path(), &["f"]);
}

#[test]
fn too_slow_server_times_out() {
    let srv = TestServer::start();
    srv.route(
        "/slow",
        Route {
            delay: Duration::from_secs(3),
            ..Route::ok(b"late".to_vec())
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("slow");
    let url = srv.url("/slow");
    let t = Instant::now();
    let err = http(1)
        .download(&DownloadRequest::new(&url, &dest, "slow"))
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, FetchError::Timeout { .. }), "{msg}");
    assert!(
        msg.contains("timed out") && msg.contains("HECJOB_HTTP_TIMEOUT"),
        "{msg}"
    );
    // Two attempts of 0.4 s each, not the server's 3 s.
    assert!(
        t.elapsed() < Duration::from_millis(2_500),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(srv.hits("GET", "/slow").len(), 2);
    assert_dir_holds(dir.path(), &[]);
}

#[test]
fn unreachable_server_names_the_url_and_hint() {
    // A port nobody listens on: bind, note, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/train.tsv");
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("train.tsv");
    let err = http(1)
        .download(&DownloadRequest::new(&url, &dest, "train.tsv"))
        .unwrap_err();
    assert!(matches!(err, FetchError::Unreachable { .. }), "{err}");
    let e = err.into_error("copy the files in by hand");
    assert_eq!(e.exit_code(), 5);
    let msg = e.to_string();
    assert!(
        msg.contains(&url) && msg.contains("after 2 attempts"),
        "{msg}"
    );
    assert!(msg.contains("hint: copy the files in by hand"), "{msg}");
}

#[test]
fn head_stops_at_a_redirect_to_another_host_but_follows_local_ones() {
    let srv = TestServer::start();
    srv.route("/old/x", Route::redirect("/new/x"));
    srv.route(
        "/new/x",
        Route::redirect("http://cdn.invalid/blob").header("X-Linked-Etag", "\"abc\""),
    );
    let info = http(0).head(&srv.url("/old/x"), None).unwrap();
    assert_eq!(info.status, 302);
    assert_eq!(info.header("x-linked-etag"), Some("\"abc\""));
    assert_eq!(srv.hits("HEAD", "/new/x").len(), 1);
}

// ---- issue 15 ----

#[test]
fn a_trickling_server_trips_the_low_speed_limit() {
    // One byte every 50 ms never leaves the connection idle for the 400 ms
    // read timeout; only the low-speed limit ends it.
    let srv = TestServer::start();
    srv.route(
        "/slow",
        Route {
            trickle: Duration::from_millis(50),
            ..Route::ok(body(100_000))
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("slow");
    let url = srv.url("/slow");
    let h = Http::new(HttpOptions {
        connect_timeout: Duration::from_secs(2),
        read_timeout: Duration::from_millis(400),
        retries: 0,
        backoff: Duration::from_millis(10),
        low_speed_limit: 1000,
        low_speed_time: Duration::from_millis(500),
    })
    .unwrap();
    let err = h
        .download(&DownloadRequest::new(&url, &dest, "slow"))
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, FetchError::Timeout { .. }), "{msg}");
    assert!(
        msg.contains("below the low-speed limit of 1000 bytes/s"),
        "{msg}"
    );
    assert_dir_holds(dir.path(), &[]);
}

#[test]
fn a_pinned_file_is_cut_off_past_its_size() {
    let srv = TestServer::start();
    srv.route("/big", Route::ok(body(1_000_000)));
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("small.tsv");
    let url = srv.url("/big");
    let err = http(3)
        .download(&DownloadRequest {
            max_bytes: Some(3_500),
            resume: true,
            ..DownloadRequest::new(&url, &dest, "small.tsv")
        })
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{url}: the server sent more than the 3500 bytes this file has; the file was not kept"
        )
    );
    // Fatal: not retried, and nothing kept to resume.
    assert_eq!(srv.hits("GET", "/big").len(), 1);
    assert_dir_holds(dir.path(), &[]);
}

#[test]
fn a_second_downloader_of_one_file_waits_and_uses_the_first_ones_file() {
    // Two processes fetching one file into shared storage appended to one
    // `.incomplete` (a tokenizer.json 8 KB too long). Now the second waits
    // for the first's lock. Here the test holds that lock as the first.
    let srv = TestServer::start();
    let data = body(10_000);
    srv.route("/f", Route::ok(data.clone()));
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("f");
    let first =
        hecjob::util::run_lock::FileLock::try_acquire(&hecjob::fetch::http::lock_path(&dest))
            .unwrap();
    let sha = support::sha256(&data);
    let second = {
        let (url, dest, sha) = (srv.url("/f"), dest.clone(), sha.clone());
        std::thread::spawn(move || {
            http(0).download(&DownloadRequest {
                sha256: Some(&sha),
                ..DownloadRequest::new(&url, &dest, "f")
            })
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    assert!(!second.is_finished(), "the second did not wait");
    assert!(!partial_path(&dest).exists());
    std::fs::write(&dest, &data).unwrap();
    drop(first);
    let got = second.join().unwrap().unwrap();
    assert!(got.reused);
    assert_eq!(got.sha256, sha);
    assert!(srv.hits("GET", "/f").is_empty(), "downloaded again");
    assert_dir_holds(dir.path(), &["f"]);
}

#[test]
fn concurrent_downloads_of_one_file_leave_it_whole() {
    // The real race: both start at once against a slow server.
    let srv = TestServer::start();
    let data = body(3_000);
    srv.route(
        "/tokenizer.json",
        Route {
            trickle: Duration::from_micros(300),
            ..Route::ok(data.clone())
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("tokenizer.json");
    let sha = support::sha256(&data);
    let runs: Vec<_> = (0..3)
        .map(|_| {
            let (url, dest, sha) = (srv.url("/tokenizer.json"), dest.clone(), sha.clone());
            std::thread::spawn(move || {
                http(0).download(&DownloadRequest {
                    sha256: Some(&sha),
                    resume: true,
                    ..DownloadRequest::new(&url, &dest, "tokenizer.json")
                })
            })
        })
        .collect();
    for r in runs {
        r.join().unwrap().unwrap();
    }
    assert_eq!(std::fs::read(&dest).unwrap(), data);
    assert_dir_holds(dir.path(), &["tokenizer.json"]);
}

#[test]
fn a_206_to_a_plain_request_and_a_redirect_loop_say_what_happened() {
    let srv = TestServer::start();
    srv.route(
        "/p",
        Route {
            status: 206,
            ..Route::ok(b"partial".to_vec())
        },
    );
    srv.route("/loop", Route::redirect("/loop"));
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("p");
    let url = srv.url("/p");
    let err = http(1)
        .download(&DownloadRequest::new(&url, &dest, "p"))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{url}: answered 206 Partial Content to a request for the whole file (after 2 attempts); the server or a proxy between is misbehaving: try a mirror")
    );
    let url = srv.url("/loop");
    let err = http(3)
        .download(&DownloadRequest::new(&url, &dest, "loop"))
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!("{url}: redirect loop or too many redirects (")),
        "{msg}"
    );
    assert!(!msg.contains("no internet"), "{msg}");
    assert_eq!(
        srv.hits("GET", "/loop").len(),
        11,
        "retried a redirect loop"
    );
}
