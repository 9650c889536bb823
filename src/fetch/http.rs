//! Shared blocking HTTP download for `download-data` and `download-model`.
//!
//! What the tutorial's `requests.get(url, timeout=1.0)` lacked:
//! - separate connect and read (idle) timeouts, long enough for a busy login node;
//! - retries with exponential backoff on transient failures (connect errors,
//!   timeouts, 5xx/429/408, bodies cut short), never on 404;
//! - streaming into `<dest>.incomplete` beside the destination and a rename at the
//!   end, so an interrupted download never leaves a partial file under the final name;
//! - an optional sha256 checked before that rename;
//! - optional resume of `<dest>.incomplete` with an HTTP `Range` request (model weights);
//! - one writer per destination: `<dest>.hecjob-lock` (run_lock.rs) is held for
//!   the download, so two processes fetching one file into shared storage (two
//!   array tasks, two users of one cache) never write the same `.incomplete`;
//!   the second waits, then finds the file done and checks it;
//! - a low-speed limit (as curl's `--speed-limit/--speed-time`): a server that
//!   trickles bytes never trips the idle timeout, so a window moving fewer than
//!   [`HttpOptions::low_speed_limit`] bytes a second fails the attempt;
//! - an optional size cap ([`DownloadRequest::max_bytes`], for pinned files).
//!
//! Errors come back as [`FetchError`] so each caller can add its own advice
//! (a mirror variable, files to copy by hand) with [`FetchError::into_error`].

use crate::util::env_vars;
use crate::util::error::{Error, Result};
use crate::util::progress::Progress;
use reqwest::blocking::{Client, Response};
use reqwest::header::{HeaderMap, CONTENT_RANGE, LOCATION, RANGE};
use reqwest::StatusCode;
use sha2::{Digest, Sha256};
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Timeouts and retry policy. [`HttpOptions::from_env`] is what the CLI uses.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Time allowed to open a TCP/TLS connection.
    pub connect_timeout: Duration,
    /// Time a connection may stay silent (waiting for headers or between body
    /// reads) before the attempt counts as timed out. Not a total deadline:
    /// a 500 MB model on a slow link must not be cut off while it is moving.
    pub read_timeout: Duration,
    /// Retries after the first attempt.
    pub retries: u32,
    /// First wait between attempts; doubles each time, capped at 30 s.
    pub backoff: Duration,
    /// Bytes per second below which, sustained for `low_speed_time`, an
    /// attempt is abandoned (curl's `--speed-limit`).
    pub low_speed_limit: u64,
    /// The window over which the speed is measured (curl's `--speed-time`).
    pub low_speed_time: Duration,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            retries: 4,
            backoff: Duration::from_secs(1),
            low_speed_limit: 1024,
            low_speed_time: Duration::from_secs(60),
        }
    }
}

impl HttpOptions {
    /// Defaults, overridden by `HECJOB_HTTP_TIMEOUT`, `HECJOB_HTTP_CONNECT_TIMEOUT`,
    /// `HECJOB_HTTP_LOW_SPEED_TIME` (seconds, fractions allowed),
    /// `HECJOB_HTTP_LOW_SPEED_LIMIT` (bytes/s) and `HECJOB_HTTP_RETRIES`.
    pub fn from_env() -> Result<Self> {
        let mut o = HttpOptions::default();
        if let Some(v) = env_vars::get(env_vars::HECJOB_HTTP_TIMEOUT) {
            o.read_timeout = parse_secs(env_vars::HECJOB_HTTP_TIMEOUT, &v)?;
        }
        if let Some(v) = env_vars::get(env_vars::HECJOB_HTTP_CONNECT_TIMEOUT) {
            o.connect_timeout = parse_secs(env_vars::HECJOB_HTTP_CONNECT_TIMEOUT, &v)?;
        }
        if let Some(v) = env_vars::get(env_vars::HECJOB_HTTP_LOW_SPEED_TIME) {
            o.low_speed_time = parse_secs(env_vars::HECJOB_HTTP_LOW_SPEED_TIME, &v)?;
        }
        if let Some(v) = env_vars::get(env_vars::HECJOB_HTTP_LOW_SPEED_LIMIT) {
            o.low_speed_limit = v.trim().parse().map_err(|_| {
                Error::Usage(format!(
                    "{}={v:?}: expected a whole number of bytes per second, e.g. 1024 (0: no limit)",
                    env_vars::HECJOB_HTTP_LOW_SPEED_LIMIT
                ))
            })?;
        }
        if let Some(v) = env_vars::get(env_vars::HECJOB_HTTP_RETRIES) {
            o.retries = v.trim().parse().map_err(|_| {
                Error::Usage(format!(
                    "{}={v:?}: expected a whole number of retries, e.g. 4",
                    env_vars::HECJOB_HTTP_RETRIES
                ))
            })?;
        }
        Ok(o)
    }
}

fn parse_secs(name: &str, v: &str) -> Result<Duration> {
    match v.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s < 1e6 => Ok(Duration::from_secs_f64(s)),
        _ => Err(Error::Usage(format!(
            "{name}={v:?}: expected a positive number of seconds, e.g. 30"
        ))),
    }
}

/// A check of a finished download: `Err(problem)` rejects it.
pub type Verify<'a> = dyn Fn(&Path) -> std::result::Result<(), String> + 'a;

/// One file to fetch.
#[derive(Clone)]
pub struct DownloadRequest<'a> {
    pub url: &'a str,
    /// Final path; the data is streamed into `<dest>.incomplete` first.
    pub dest: &'a Path,
    /// Lowercase hex sha256 the file must have; checked before the rename.
    pub sha256: Option<&'a str>,
    /// Continue an existing `<dest>.incomplete` with a `Range` request
    /// (and across retries after a cut-off body).
    pub resume: bool,
    /// Shown on the progress bar / log lines.
    pub label: &'a str,
    /// Bearer token (the hub's `HF_TOKEN`).
    pub bearer: Option<&'a str>,
    /// Extra check of the complete `<dest>.incomplete` before the rename; an
    /// `Err(problem)` discards the file and fails with [`FetchError::Invalid`].
    pub verify: Option<&'a Verify<'a>>,
    /// More bytes than this fail the download at once (a pinned file whose
    /// size is known: a server sending more is sending something else).
    pub max_bytes: Option<u64>,
}

impl<'a> DownloadRequest<'a> {
    /// A plain download of `url` to `dest`: no checksum, no resume.
    pub fn new(url: &'a str, dest: &'a Path, label: &'a str) -> Self {
        DownloadRequest {
            url,
            dest,
            sha256: None,
            resume: false,
            label,
            bearer: None,
            verify: None,
            max_bytes: None,
        }
    }
}

/// What a finished download produced.
#[derive(Debug, Clone)]
pub struct Downloaded {
    pub bytes: u64,
    pub sha256: String,
    /// Bytes already on disk that a `Range` request continued from (0 if none).
    pub resumed_from: u64,
    /// Not downloaded: another process finished the same file while this one
    /// waited for its lock, and the file passed the request's checks.
    pub reused: bool,
}

/// Headers of a `HEAD` request (after following same-host redirects).
#[derive(Debug, Clone)]
pub struct HeadInfo {
    pub status: u16,
    pub headers: HeaderMap,
}

impl HeadInfo {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Why a download failed; `attempts` counts every try including the first.
#[derive(Debug)]
pub enum FetchError {
    NotFound {
        url: String,
    },
    Status {
        url: String,
        code: u16,
        attempts: u32,
    },
    Unreachable {
        url: String,
        cause: String,
        attempts: u32,
    },
    Timeout {
        url: String,
        cause: String,
        attempts: u32,
    },
    Truncated {
        url: String,
        got: u64,
        expected: Option<u64>,
        attempts: u32,
    },
    Checksum {
        url: String,
        expected: String,
        got: String,
        bytes: u64,
    },
    /// The caller's [`DownloadRequest::verify`] rejected the file, or the
    /// server sent more than [`DownloadRequest::max_bytes`].
    Invalid {
        url: String,
        problem: String,
    },
    /// An answer no working server gives (206 to a plain request, a redirect
    /// loop): retrying or blaming the network would not help.
    Protocol {
        url: String,
        problem: String,
        attempts: u32,
    },
    Io(Error),
}

impl FetchError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, FetchError::NotFound { .. })
    }

    /// Turn into the crate error, with `hint` (what the user can do) appended
    /// to failures that are about reaching the server.
    pub fn into_error(self, hint: &str) -> Error {
        match self {
            FetchError::Io(e) => e,
            other if hint.is_empty() => Error::Network(other.to_string()),
            other => Error::Network(format!("{other}\n  hint: {hint}")),
        }
    }

    fn set_attempts(mut self, n: u32) -> Self {
        match &mut self {
            FetchError::Status { attempts, .. }
            | FetchError::Unreachable { attempts, .. }
            | FetchError::Timeout { attempts, .. }
            | FetchError::Protocol { attempts, .. }
            | FetchError::Truncated { attempts, .. } => *attempts = n,
            _ => {}
        }
        self
    }
}

fn tries(n: u32) -> String {
    if n == 1 {
        "1 attempt".into()
    } else {
        format!("{n} attempts")
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::NotFound { url } => write!(f, "{url}: 404 Not Found (the server has no such file)"),
            FetchError::Status { url, code, attempts } => {
                let reason = StatusCode::from_u16(*code)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("");
                write!(f, "{url}: HTTP {code} {reason} (after {})", tries(*attempts))
            }
            FetchError::Unreachable { url, cause, attempts } => write!(
                f,
                "cannot download {url}: {cause} (after {}); this machine may have no internet access",
                tries(*attempts)
            ),
            FetchError::Timeout { url, cause, attempts } => write!(
                f,
                "{url}: timed out: {cause} (after {}); raise {} (seconds) for a slow link",
                tries(*attempts),
                env_vars::HECJOB_HTTP_TIMEOUT
            ),
            FetchError::Truncated { url, got, expected, attempts } => match expected {
                Some(e) => write!(
                    f,
                    "{url}: the connection closed after {got} of {e} bytes (after {})",
                    tries(*attempts)
                ),
                None => write!(
                    f,
                    "{url}: the connection broke after {got} bytes (after {})",
                    tries(*attempts)
                ),
            },
            FetchError::Checksum { url, expected, got, bytes } => write!(
                f,
                "{url}: sha256 mismatch: expected {expected}, got {got} ({bytes} bytes); \
                 the file was not kept"
            ),
            FetchError::Invalid { url, problem } => {
                write!(f, "{url}: {problem}; the file was not kept")
            }
            FetchError::Protocol { url, problem, attempts } => write!(
                f,
                "{url}: {problem} (after {}); the server or a proxy between is misbehaving: try a mirror",
                tries(*attempts)
            ),
            FetchError::Io(e) => write!(f, "{e}"),
        }
    }
}

/// One attempt's failure: worth retrying or not.
enum Attempt {
    Retry(FetchError),
    Fatal(FetchError),
}

/// `<dest>.incomplete`: where a download streams to before the final rename.
pub fn partial_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".incomplete");
    dest.with_file_name(name)
}

/// A blocking client with the crate's timeouts and retry policy.
pub struct Http {
    client: Client,
    /// For HEAD: the hub answers with the metadata we need on the redirect
    /// itself (X-Repo-Commit, X-Linked-Etag), which following it would lose.
    no_redirect: Client,
    opts: HttpOptions,
}

impl Http {
    pub fn new(opts: HttpOptions) -> Result<Self> {
        let build = |policy| {
            Client::builder()
                .connect_timeout(opts.connect_timeout)
                // reqwest's blocking `timeout` applies to waiting for the response
                // headers and to each body read separately: an idle timeout.
                .timeout(opts.read_timeout)
                .redirect(policy)
                .user_agent(concat!("hecjob/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| Error::Internal(format!("building the HTTP client: {e}")))
        };
        Ok(Http {
            client: build(reqwest::redirect::Policy::limited(10))?,
            no_redirect: build(reqwest::redirect::Policy::none())?,
            opts,
        })
    }

    pub fn from_env() -> Result<Self> {
        Http::new(HttpOptions::from_env()?)
    }

    fn with_retries<T>(
        &self,
        mut once: impl FnMut() -> Result<T, Attempt>,
    ) -> Result<T, FetchError> {
        let mut attempt = 1;
        loop {
            match once() {
                Ok(v) => return Ok(v),
                Err(Attempt::Fatal(e)) => return Err(e.set_attempts(attempt)),
                Err(Attempt::Retry(e)) if attempt > self.opts.retries => {
                    return Err(e.set_attempts(attempt))
                }
                Err(Attempt::Retry(e)) => {
                    let wait = self
                        .opts
                        .backoff
                        .saturating_mul(1 << (attempt - 1).min(16))
                        .min(Duration::from_secs(30));
                    eprintln!(
                        "warning: {}\n  retrying in {:.1} s (retry {} of {})",
                        e.set_attempts(attempt),
                        wait.as_secs_f64(),
                        attempt,
                        self.opts.retries
                    );
                    std::thread::sleep(wait);
                    attempt += 1;
                }
            }
        }
    }

    /// HEAD `url`, following redirects to paths on the same server (renamed
    /// repos) but stopping at one to another host (the hub's CDN), whose
    /// response carries the metadata. 404 is [`FetchError::NotFound`].
    pub fn head(&self, url: &str, bearer: Option<&str>) -> Result<HeadInfo, FetchError> {
        self.with_retries(|| {
            let mut current = reqwest::Url::parse(url).map_err(|e| {
                Attempt::Fatal(FetchError::Io(Error::Usage(format!(
                    "bad URL {url:?}: {e}"
                ))))
            })?;
            for _ in 0..10 {
                let mut rb = self.no_redirect.head(current.clone());
                if let Some(t) = bearer {
                    rb = rb.bearer_auth(t);
                }
                let resp = rb.send().map_err(|e| transport_error(url, &e))?;
                let status = resp.status();
                if status.is_redirection() {
                    if let Some(loc) = resp.headers().get(LOCATION).and_then(|v| v.to_str().ok()) {
                        if loc.starts_with('/') && !loc.starts_with("//") {
                            current = current.join(loc).map_err(|e| {
                                Attempt::Fatal(FetchError::Io(Error::Network(format!(
                                    "{url}: bad redirect {loc:?}: {e}"
                                ))))
                            })?;
                            continue;
                        }
                    }
                } else {
                    check_status(url, status)?;
                }
                return Ok(HeadInfo {
                    status: status.as_u16(),
                    headers: resp.headers().clone(),
                });
            }
            Err(Attempt::Fatal(FetchError::Io(Error::Network(format!(
                "{url}: more than 10 redirects"
            )))))
        })
    }

    /// Download `req.url` to `req.dest` (see the module docs for the guarantees).
    pub fn download(&self, req: &DownloadRequest) -> Result<Downloaded, FetchError> {
        let dir = match req.dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        fs::create_dir_all(dir)
            .map_err(|e| FetchError::Io(Error::io("creating directory", dir, e)))?;
        let _lock = crate::util::run_lock::FileLock::wait(&lock_path(req.dest), req.label)
            .map_err(FetchError::Io)?;
        if let Some(done) = finished_meanwhile(req) {
            return Ok(done);
        }
        let partial = partial_path(req.dest);
        let got = self
            .with_retries(|| self.attempt(req, &partial))
            .inspect_err(|_| {
                // Keep a partial file only where a later run can resume it.
                if !req.resume {
                    let _ = fs::remove_file(&partial);
                }
            })?;
        fs::rename(&partial, req.dest).map_err(|e| {
            FetchError::Io(Error::io(
                "renaming the finished download onto",
                req.dest,
                e,
            ))
        })?;
        Ok(got)
    }

    fn attempt(&self, req: &DownloadRequest, partial: &Path) -> Result<Downloaded, Attempt> {
        let result = self.attempt_once(req, partial);
        // Bytes past the cap or refused by verify are not worth resuming.
        if let Err(Attempt::Fatal(FetchError::Invalid { .. })) = &result {
            let _ = fs::remove_file(partial);
        }
        result
    }

    /// One try: ask for the file (or its rest), stream it into `partial`,
    /// then check length, checksum and content.
    fn attempt_once(&self, req: &DownloadRequest, partial: &Path) -> Result<Downloaded, Attempt> {
        let (resp, start) = self.request(req, partial)?;
        let (file, hasher) = open_partial(partial, start)?;
        let expected = resp.content_length().map(|l| l + start);
        if let (Some(max), Some(e)) = (req.max_bytes, expected) {
            if e > max {
                return Err(too_big(req));
            }
        }
        let body = Body {
            resp,
            file,
            hasher,
            start,
            expected,
        };
        let (done, hasher) = self.stream(req, partial, body)?;
        let sha256 = crate::util::digest::hex(&hasher.finalize());
        check_finished(req, partial, done, expected, &sha256)?;
        Ok(Downloaded {
            bytes: done,
            sha256,
            resumed_from: start,
            reused: false,
        })
    }

    /// Sends the GET (with a Range when a partial file can be resumed) and
    /// returns the response and the byte it starts at: the partial file's
    /// length when the server really continued there, else 0.
    fn request(&self, req: &DownloadRequest, partial: &Path) -> Result<(Response, u64), Attempt> {
        let url = req.url;
        let have = if req.resume {
            fs::metadata(partial).map(|m| m.len()).unwrap_or(0)
        } else {
            0
        };
        let mut rb = self.client.get(url);
        if have > 0 {
            rb = rb.header(RANGE, format!("bytes={have}-"));
        }
        if let Some(t) = req.bearer {
            rb = rb.bearer_auth(t);
        }
        let resp = rb.send().map_err(|e| transport_error(url, &e))?;
        let status = resp.status();
        if status == StatusCode::RANGE_NOT_SATISFIABLE && have > 0 {
            // The partial file is as long as (or longer than) the file: start over.
            remove_partial(partial)?;
            return Err(Attempt::Retry(FetchError::Truncated {
                url: url.into(),
                got: have,
                expected: None,
                attempts: 0,
            }));
        }
        check_status(url, status)?;

        // Append only when the server really continued where we stopped.
        let start = if have > 0
            && status == StatusCode::PARTIAL_CONTENT
            && content_range_start(&resp) == Some(have)
        {
            have
        } else {
            0
        };
        if start == 0 && status == StatusCode::PARTIAL_CONTENT {
            // A range we did not ask for (or a mismatched one): its bytes don't fit.
            remove_partial(partial)?;
            let problem = if have == 0 {
                "answered 206 Partial Content to a request for the whole file".to_string()
            } else {
                format!(
                    "asked to continue at byte {have}, answered with another range ({})",
                    resp.headers()
                        .get(CONTENT_RANGE)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("no Content-Range")
                )
            };
            return Err(Attempt::Retry(FetchError::Protocol {
                url: url.into(),
                problem,
                attempts: 0,
            }));
        }
        Ok((resp, start))
    }

    /// Copies the body into `file`, hashing as it goes, with the size cap, the
    /// read timeout and the low-speed limit; returns the bytes now in the file.
    fn stream(
        &self,
        req: &DownloadRequest,
        partial: &Path,
        body: Body,
    ) -> Result<(u64, Sha256), Attempt> {
        let Body {
            mut resp,
            mut file,
            mut hasher,
            start,
            expected,
        } = body;
        let url = req.url;
        let mut progress = Progress::new(req.label, expected.unwrap_or(0), Duration::from_secs(5));
        if start > 0 {
            progress.println(&format!("{}: resuming at byte {start}", req.label));
            progress.inc(start, String::new);
        }
        let mut done = start;
        let mut buf = vec![0u8; 256 * 1024];
        let mut window = (std::time::Instant::now(), done);
        loop {
            let n = match resp.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    progress.finish();
                    let _ = file.flush();
                    return Err(self.read_failed(&e, url, done, expected));
                }
            };
            file.write_all(&buf[..n])
                .map_err(|e| partial_io(partial, "writing", e))?;
            hasher.update(&buf[..n]);
            done += n as u64;
            if req.max_bytes.is_some_and(|max| done > max) {
                progress.finish();
                return Err(too_big(req));
            }
            let elapsed = window.0.elapsed();
            if elapsed >= self.opts.low_speed_time {
                if let Some(slow) = self.too_slow(elapsed, done - window.1, done, url) {
                    progress.finish();
                    let _ = file.flush();
                    return Err(slow);
                }
                window = (std::time::Instant::now(), done);
            }
            progress.inc(n as u64, || format!("{:.1} MiB", done as f64 / 1048576.0));
        }
        progress.finish();
        file.sync_all()
            .map_err(|e| partial_io(partial, "writing", e))?;
        drop(file);
        Ok((done, hasher))
    }

    /// A read that failed mid-body: a timeout when no data came for the read
    /// timeout, else a truncated body. Both are retried.
    fn read_failed(
        &self,
        e: &std::io::Error,
        url: &str,
        done: u64,
        expected: Option<u64>,
    ) -> Attempt {
        if is_timeout_io(e) {
            return Attempt::Retry(FetchError::Timeout {
                url: url.into(),
                cause: format!(
                    "no data for {:?} after {done} bytes",
                    self.opts.read_timeout
                ),
                attempts: 0,
            });
        }
        Attempt::Retry(FetchError::Truncated {
            url: url.into(),
            got: done,
            expected,
            attempts: 0,
        })
    }

    /// The low-speed check over a window of `elapsed` in which `moved` bytes
    /// came: a retried timeout when that is below the limit.
    fn too_slow(&self, elapsed: Duration, moved: u64, done: u64, url: &str) -> Option<Attempt> {
        if (moved as f64) >= self.opts.low_speed_limit as f64 * elapsed.as_secs_f64() {
            return None;
        }
        Some(Attempt::Retry(FetchError::Timeout {
            url: url.into(),
            cause: format!(
                "{moved} bytes in {:.0} s, below the low-speed limit of {} bytes/s (after {done} bytes)",
                elapsed.as_secs_f64(),
                self.opts.low_speed_limit
            ),
            attempts: 0,
        }))
    }
}

/// `<dest>.hecjob-lock`: held by the process downloading `dest`.
pub fn lock_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".hecjob-lock");
    dest.with_file_name(name)
}

/// `dest`, when another process finished it while this one waited for the
/// lock and it passes the request's own checks (a sha256 or a verify; a
/// request with neither is downloaded again).
fn finished_meanwhile(req: &DownloadRequest) -> Option<Downloaded> {
    if req.sha256.is_none() && req.verify.is_none() {
        return None;
    }
    let bytes = fs::metadata(req.dest).ok()?.len();
    let sha256 = crate::util::digest::sha256_file(req.dest).ok()?;
    let sha_ok = req.sha256.is_none_or(|w| w.eq_ignore_ascii_case(&sha256));
    let verify_ok = req.verify.is_none_or(|v| v(req.dest).is_ok());
    (sha_ok && verify_ok).then_some(Downloaded {
        bytes,
        sha256,
        resumed_from: 0,
        reused: true,
    })
}

/// A response being written into the partial file (what `Http::stream` takes).
struct Body {
    resp: Response,
    file: File,
    /// Already holds the bytes before `start` when resuming.
    hasher: Sha256,
    /// The byte the response starts at (the partial file's length when resuming).
    start: u64,
    /// The whole file's length, when the server announced it.
    expected: Option<u64>,
}

/// The partial file to write into: appended to (and its bytes hashed first)
/// when resuming at `start`, else created empty.
fn open_partial(partial: &Path, start: u64) -> Result<(File, Sha256), Attempt> {
    let mut hasher = Sha256::new();
    let file = if start > 0 {
        let ctx = "reading the partial download";
        let mut f = File::open(partial).map_err(|e| partial_io(partial, ctx, e))?;
        std::io::copy(&mut f, &mut hasher).map_err(|e| partial_io(partial, ctx, e))?;
        OpenOptions::new()
            .append(true)
            .open(partial)
            .map_err(|e| partial_io(partial, "opening the partial download", e))?
    } else {
        File::create(partial).map_err(|e| partial_io(partial, "creating", e))?
    };
    Ok((file, hasher))
}

/// A finished body's checks: as long as announced, the expected sha256, and
/// whatever `req.verify` asks of the content.
fn check_finished(
    req: &DownloadRequest,
    partial: &Path,
    done: u64,
    expected: Option<u64>,
    sha256: &str,
) -> Result<(), Attempt> {
    let url = req.url;
    if let Some(e) = expected {
        if done != e {
            return Err(Attempt::Retry(FetchError::Truncated {
                url: url.into(),
                got: done,
                expected,
                attempts: 0,
            }));
        }
    }
    if let Some(want) = req.sha256 {
        if !want.eq_ignore_ascii_case(sha256) {
            remove_partial(partial)?;
            return Err(Attempt::Fatal(FetchError::Checksum {
                url: url.into(),
                expected: want.to_ascii_lowercase(),
                got: sha256.to_string(),
                bytes: done,
            }));
        }
    }
    if let Some(verify) = req.verify {
        if let Err(problem) = verify(partial) {
            remove_partial(partial)?;
            return Err(Attempt::Fatal(FetchError::Invalid {
                url: url.into(),
                problem,
            }));
        }
    }
    Ok(())
}

/// The server sent more than `req.max_bytes` (not worth resuming).
fn too_big(req: &DownloadRequest) -> Attempt {
    Attempt::Fatal(FetchError::Invalid {
        url: req.url.into(),
        problem: format!(
            "the server sent more than the {} bytes this file has",
            req.max_bytes.unwrap_or_default()
        ),
    })
}

/// An I/O error on the partial file: fatal (retrying would not help).
fn partial_io(partial: &Path, ctx: &'static str, e: std::io::Error) -> Attempt {
    Attempt::Fatal(FetchError::Io(Error::io(ctx, partial, e)))
}

fn remove_partial(partial: &Path) -> Result<(), Attempt> {
    match fs::remove_file(partial) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Attempt::Fatal(FetchError::Io(Error::io(
            "removing the partial download",
            partial,
            e,
        )))),
    }
}

fn check_status(url: &str, status: StatusCode) -> Result<(), Attempt> {
    if status.is_success() {
        return Ok(());
    }
    let code = status.as_u16();
    let err = FetchError::Status {
        url: url.into(),
        code,
        attempts: 0,
    };
    match code {
        404 | 410 => Err(Attempt::Fatal(FetchError::NotFound { url: url.into() })),
        408 | 429 | 500..=599 => Err(Attempt::Retry(err)),
        _ => Err(Attempt::Fatal(err)),
    }
}

/// `Content-Range: bytes START-END/TOTAL` → START.
fn content_range_start(resp: &Response) -> Option<u64> {
    let v = resp.headers().get(CONTENT_RANGE)?.to_str().ok()?;
    let rest = v.trim().strip_prefix("bytes")?.trim_start();
    rest.split('-').next()?.trim().parse().ok()
}

fn transport_error(url: &str, e: &reqwest::Error) -> Attempt {
    let cause = error_chain(e);
    if e.is_redirect() {
        return Attempt::Fatal(FetchError::Protocol {
            url: url.into(),
            problem: format!("redirect loop or too many redirects ({cause})"),
            attempts: 0,
        });
    }
    if e.is_timeout() {
        Attempt::Retry(FetchError::Timeout {
            url: url.into(),
            cause,
            attempts: 0,
        })
    } else if e.is_builder() {
        Attempt::Fatal(FetchError::Io(Error::Usage(format!(
            "bad URL {url:?}: {cause}"
        ))))
    } else {
        Attempt::Retry(FetchError::Unreachable {
            url: url.into(),
            cause,
            attempts: 0,
        })
    }
}

fn is_timeout_io(e: &std::io::Error) -> bool {
    if e.kind() == std::io::ErrorKind::TimedOut {
        return true;
    }
    let mut src: Option<&(dyn std::error::Error + 'static)> = e.get_ref().map(|r| r as _);
    while let Some(s) = src {
        if let Some(r) = s.downcast_ref::<reqwest::Error>() {
            if r.is_timeout() {
                return true;
            }
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::TimedOut {
                return true;
            }
        }
        src = s.source();
    }
    false
}

/// reqwest's top-level message hides the cause ("error sending request"):
/// join the whole source chain.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let s_msg = s.to_string();
        if !msg.contains(&s_msg) {
            msg.push_str(": ");
            msg.push_str(&s_msg);
        }
        src = s.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_path_is_beside_dest() {
        assert_eq!(
            partial_path(Path::new("/a/b/train.tsv")),
            PathBuf::from("/a/b/train.tsv.incomplete")
        );
    }

    #[test]
    fn bad_timeout_values_are_rejected() {
        assert!(parse_secs("X", "0").is_err());
        assert!(parse_secs("X", "abc").is_err());
        assert!(parse_secs("X", "-1").is_err());
        assert_eq!(parse_secs("X", "1.5").unwrap(), Duration::from_millis(1500));
    }

    #[test]
    fn hex_encodes() {}
}
