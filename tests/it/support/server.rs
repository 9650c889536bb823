//! A small threaded HTTP/1.1 server on 127.0.0.1 for download tests.
//!
//! Each route serves bytes the test generated and can be told to misbehave:
//! answer 404 or 500 a number of times, cut the body short, stall past the
//! client's timeout, redirect, ignore or honour `Range`, add headers. Every
//! request is logged so tests can check what the client really sent.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Route {
    pub body: Vec<u8>,
    /// Status of a normal answer (200, or e.g. 404).
    pub status: u16,
    /// Answer 500 to this many requests first.
    pub fail_first: u32,
    /// Cut this many GET bodies short after `truncate_at` bytes (Content-Length
    /// still announces the full length), then close the connection.
    pub truncate_first: u32,
    pub truncate_at: usize,
    /// Sleep this long before answering (to exceed the client's timeout).
    pub delay: Duration,
    /// Honour `Range: bytes=N-` with 206 (else always 200 with the whole body).
    pub ranges: bool,
    /// Answer 302 with this Location (plus `headers`) instead of the body.
    pub redirect: Option<String>,
    pub headers: Vec<(String, String)>,
    /// Send the body one byte per this interval (never idle long enough for
    /// the client's idle timeout).
    pub trickle: Duration,
}

impl Route {
    pub fn ok(body: impl Into<Vec<u8>>) -> Self {
        Route {
            body: body.into(),
            status: 200,
            fail_first: 0,
            truncate_first: 0,
            truncate_at: 0,
            delay: Duration::ZERO,
            ranges: true,
            redirect: None,
            headers: Vec::new(),
            trickle: Duration::ZERO,
        }
    }

    pub fn redirect(location: impl Into<String>) -> Self {
        Route {
            redirect: Some(location.into()),
            ..Route::ok(Vec::new())
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Logged {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
}

impl Logged {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct State {
    routes: HashMap<String, Route>,
    log: Vec<Logged>,
}

pub struct TestServer {
    port: u16,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl TestServer {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (state.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if sp.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let st = st.clone();
                std::thread::spawn(move || {
                    let _ = handle(conn, &st);
                });
            }
        });
        TestServer { port, state, stop }
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base())
    }

    pub fn route(&self, path: &str, route: Route) {
        self.state.lock().unwrap().routes.insert(path.into(), route);
    }

    pub fn requests(&self) -> Vec<Logged> {
        self.state.lock().unwrap().log.clone()
    }

    /// Requests with this method and path.
    pub fn hits(&self, method: &str, path: &str) -> Vec<Logged> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == method && r.path == path)
            .collect()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn read_request(conn: &mut TcpStream) -> Option<Logged> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if buf.len() > 64 * 1024 || conn.read(&mut byte).ok()? == 0 {
            return None;
        }
        buf.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&buf);
    let mut lines = text.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let path = first.next()?.to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    Some(Logged {
        method,
        path,
        headers,
    })
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        206 => "Partial Content",
        302 => "Found",
        307 => "Temporary Redirect",
        404 => "Not Found",
        416 => "Range Not Satisfiable",
        500 => "Internal Server Error",
        _ => "Status",
    }
}

fn handle(mut conn: TcpStream, state: &Mutex<State>) -> std::io::Result<()> {
    let Some(req) = read_request(&mut conn) else {
        return Ok(());
    };
    let is_head = req.method == "HEAD";
    // Decide the answer under the lock, then write it without holding it.
    let (route, fail, truncate) = {
        let mut st = state.lock().unwrap();
        st.log.push(req.clone());
        match st.routes.get_mut(&req.path) {
            None => (None, false, false),
            Some(r) => {
                let fail = r.fail_first > 0;
                if fail {
                    r.fail_first -= 1;
                }
                let truncate = !fail && !is_head && r.truncate_first > 0;
                if truncate {
                    r.truncate_first -= 1;
                }
                (Some(r.clone()), fail, truncate)
            }
        }
    };
    let Some(route) = route else {
        return respond(&mut conn, 404, &[], b"no such file", is_head, None);
    };
    if !route.delay.is_zero() {
        std::thread::sleep(route.delay);
    }
    if fail {
        return respond(&mut conn, 500, &[], b"try again", is_head, None);
    }
    let extra: Vec<(String, String)> = route.headers.clone();
    if let Some(loc) = &route.redirect {
        let mut h = extra;
        h.push(("Location".into(), loc.clone()));
        return respond(&mut conn, 302, &h, b"", is_head, None);
    }
    if route.status != 200 {
        return respond(&mut conn, route.status, &extra, &route.body, is_head, None);
    }
    let total = route.body.len();
    let range_start = req
        .header("range")
        .and_then(|v| v.strip_prefix("bytes="))
        .and_then(|v| v.strip_suffix('-'))
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|_| route.ranges);
    let (status, body, mut headers) = match range_start {
        Some(s) if s >= total => {
            let h = vec![("Content-Range".to_string(), format!("bytes */{total}"))];
            return respond(&mut conn, 416, &h, b"", is_head, None);
        }
        Some(s) => (
            206,
            &route.body[s..],
            vec![(
                "Content-Range".to_string(),
                format!("bytes {s}-{}/{total}", total - 1),
            )],
        ),
        None => (200, &route.body[..], Vec::new()),
    };
    headers.extend(extra);
    headers.push(("Accept-Ranges".into(), "bytes".into()));
    let cut = truncate.then_some(route.truncate_at.min(body.len()));
    if !route.trickle.is_zero() && !is_head {
        return trickle(&mut conn, status, &headers, body, route.trickle);
    }
    respond(&mut conn, status, &headers, body, is_head, cut)
}

fn trickle(
    conn: &mut TcpStream,
    code: u16,
    headers: &[(String, String)],
    body: &[u8],
    every: Duration,
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {code} {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        reason(code),
        body.len()
    );
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("\r\n");
    conn.write_all(head.as_bytes())?;
    for b in body {
        conn.write_all(&[*b])?;
        conn.flush()?;
        std::thread::sleep(every);
    }
    let _ = conn.shutdown(Shutdown::Both);
    Ok(())
}

fn respond(
    conn: &mut TcpStream,
    code: u16,
    headers: &[(String, String)],
    body: &[u8],
    is_head: bool,
    cut: Option<usize>,
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {code} {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        reason(code),
        body.len()
    );
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("\r\n");
    conn.write_all(head.as_bytes())?;
    if !is_head {
        let n = cut.unwrap_or(body.len());
        conn.write_all(&body[..n])?;
    }
    conn.flush()?;
    let _ = conn.shutdown(Shutdown::Both);
    Ok(())
}
