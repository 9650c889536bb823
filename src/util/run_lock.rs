//! One writer per output directory: a training run holds `<dir>/.hecjob-lock`
//! from its start to its end, so two runs into one directory (a task submitted
//! twice) cannot mix their checkpoints and metrics.
//!
//! The lock is a file written under a name of its own and hard-linked into
//! place: an exclusive create that is atomic on local disks and on NFS v3+,
//! Lustre and GPFS (unlike `flock`, which Lustre refuses or keeps node local),
//! and never seen empty. Where the file system has no hard links (some
//! CIFS/FUSE mounts) it is created with `O_EXCL` instead. It names its holder:
//! host, pid, the process's start time and the kernel's boot id. It is removed when the [`OutputLock`] is dropped (normal
//! end, error, or exit 99 on a signal). A lock left by a process that died
//! without dropping it (kill -9, a crashed node) is recognised as stale:
//! - on the same host: the boot id differs, or no process has that pid and
//!   start time;
//! - from another host: the holder refreshes the file's mtime every
//!   [`HEARTBEAT`]; a lock not refreshed for [`STALE_AFTER`] is stale.
//!
//! A stale lock is taken over (removed, then created afresh); a live one
//! makes [`OutputLock::acquire`] fail at once with exit 4 and the holder named.
//!
//! Taking over is where contenders race: several see the same stale lock at
//! once, and a blind rename or unlink by a slow one would move aside the fresh
//! lock a quicker one has just created (both then believe they hold it, or a
//! third creates one in the gap). So a stale file is only ever removed by the
//! holder of `<lock>.takeover`, itself created with `O_EXCL`, after it has read
//! the lock again under that token and found exactly the text it judged stale
//! (each lock's text is unique: it carries a random nonce). Nobody else can
//! change that file meanwhile: creators fail while it exists, its own holder is
//! gone, and other removers need the token. A token left by a process killed
//! mid-takeover is stale by the same rules and removed the same way, guarded by
//! `<lock>.takeover.takeover`. At most one process holds the lock, whatever
//! the interleaving, with only exclusive create, read and unlink (no `flock`).
//! Holding the lock, no other writer exists: temp files (`.hecjob-tmp-*`, see
//! fsutil) that a killed run left in the directory are removed then.
//!
//! Nothing but a regular file is ever taken for a lock or a token: a directory,
//! a symbolic link (dangling or not) or a FIFO in its place is an error naming
//! it and what to delete, at once (never opened, never removed by hecjob). A
//! lock that cannot be read is judged by its mtime alone; an mtime in the
//! future counts as now. Every wait ([`FileLock::wait`]) has a deadline
//! ([`WAIT_LIMIT`]), after which the error names the lock, its holder and what
//! to delete.

use crate::util::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

pub const LOCK_FILE: &str = ".hecjob-lock";
pub const HEARTBEAT: Duration = Duration::from_secs(60);
/// Ten heartbeats: generous for clock skew between nodes and slow storage.
pub const STALE_AFTER: Duration = Duration::from_secs(600);
/// How long [`FileLock::wait`] waits for another process's download: a model
/// of a few GB on a slow link, with room to spare. A holder still there after
/// this is stuck (or not hecjob: a lock naming an unrelated live pid).
pub const WAIT_LIMIT: Duration = Duration::from_secs(2 * 3600);

/// Who holds a lock, as written in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Holder {
    pub host: String,
    pub pid: u32,
    /// Start time of the process in clock ticks since boot (/proc/PID/stat).
    pub start: String,
    pub boot_id: String,
    /// Seconds since the Unix epoch when the lock was taken.
    pub since: u64,
    /// Random, so that no two locks have the same text (threads of one
    /// process, or a pid reused within a second): a takeover recognises the
    /// stale lock it judged by its text alone. Empty in older locks.
    pub nonce: String,
}

impl Holder {
    fn current() -> Holder {
        let pid = std::process::id();
        Holder {
            host: hostname(),
            pid,
            start: process_start(pid).unwrap_or_default(),
            boot_id: boot_id(),
            since: SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            nonce: nonce(),
        }
    }

    fn to_text(&self) -> String {
        let mut t = format!(
            "host={}\npid={}\nstart={}\nboot_id={}\nsince={}\n",
            self.host, self.pid, self.start, self.boot_id, self.since
        );
        if !self.nonce.is_empty() {
            t.push_str(&format!("nonce={}\n", self.nonce));
        }
        t
    }

    fn parse(text: &str) -> Option<Holder> {
        let get = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(k)?.strip_prefix('='))
                .map(str::to_string)
        };
        Some(Holder {
            host: get("host")?,
            pid: get("pid")?.parse().ok()?,
            start: get("start")?,
            boot_id: get("boot_id")?,
            since: get("since")?.parse().ok()?,
            nonce: get("nonce").unwrap_or_default(),
        })
    }

    /// Whether the process that wrote this lock is certainly gone.
    fn is_gone(&self, mtime_age: Duration) -> bool {
        if self.host == hostname() && !self.boot_id.is_empty() {
            return self.boot_id != boot_id()
                || process_start(self.pid).is_none_or(|s| s != self.start);
        }
        mtime_age > STALE_AFTER
    }
}

/// Whether a lock file's text and age show its holder gone. A file without a
/// holder (killed between create and write) is stale once old.
fn is_stale(holder: Option<&Holder>, age: Duration) -> bool {
    holder.map_or(age > STALE_AFTER, |h| h.is_gone(age))
}

/// 64 random bits as hex: std's hasher keys are seeded from the OS per thread
/// and advanced on every use; the counter separates calls on one thread.
fn nonce() -> String {
    use std::hash::{BuildHasher, Hasher};
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(CALLS.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    format!("{:016x}", h.finish())
}

/// How often [`FileLock::try_acquire`] looks again while others move the lock
/// (a takeover or release in progress): each look follows another process's
/// step, so this bounds the wait, not the number of contenders that can win.
const MAX_LOOKS: usize = 1000;
/// While another process holds the takeover token (a few file operations).
const TAKEOVER_PAUSE: Duration = Duration::from_millis(5);
/// `<lock>.takeover`, `<lock>.takeover.takeover`, …: how deep stale tokens of
/// killed takeovers are cleared before giving up.
const MAX_TOKEN_DEPTH: usize = 3;

/// What [`remove_stale`] did.
enum Removal {
    /// The stale file is gone: create the lock now.
    Removed,
    /// The file is no longer the one judged stale (taken over, released, or
    /// a stale token cleared): look again.
    Changed,
    /// Another process holds the takeover token: it is taking over now.
    InProgress,
}

/// An exclusive lock file held until dropped (see the module docs).
#[derive(Debug)]
pub struct FileLock {
    path: PathBuf,
    text: String,
    stop: Arc<AtomicBool>,
    heartbeat: Option<std::thread::JoinHandle<()>>,
}

/// Why [`FileLock::try_acquire`] did not get the lock.
#[derive(Debug)]
pub enum Busy {
    /// A live holder (`None`: a lock file without a readable holder, fresh).
    Held(Option<Box<Holder>>, Duration),
    /// The lock is stale, but another process holds its takeover token and
    /// has not finished: one that is taking over now, or one killed in the
    /// middle on another host (its token is stale only after [`STALE_AFTER`]).
    TakingOver {
        token: PathBuf,
        taker: Option<Box<Holder>>,
    },
    Io(Error),
}

impl FileLock {
    /// Take the lock at `path` now (taking over a stale one), or say who holds it.
    pub fn try_acquire(path: &Path) -> std::result::Result<FileLock, Busy> {
        let text = Holder::current().to_text();
        // Set once we removed a stale lock, for the message when we then win.
        let mut took_over: Option<String> = None;
        // Whether the last look found another takeover under way.
        let mut in_progress = false;
        for _ in 0..MAX_LOOKS {
            match create_new(path, &text) {
                Ok(()) => {
                    if let Some(why) = took_over {
                        eprintln!(
                            "hecjob: took over the stale lock {} ({why}: that process is gone)",
                            path.display()
                        );
                    }
                    return Ok(FileLock::held(path.to_path_buf(), text));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(Busy::Io(Error::io("creating lock file", path, e))),
            }
            let (found, age) = match look(path) {
                Found::Missing => continue, // removed in between: try again
                Found::Lock(text, age) => (text, age),
                Found::Unreadable(e, age) if age > STALE_AFTER => {
                    return Err(Busy::Io(unreadable_and_old(path, &e, age)))
                }
                Found::Unreadable(_, age) => return Err(Busy::Held(None, age)),
                Found::Foreign(kind) => return Err(Busy::Io(foreign(path, kind, None))),
            };
            let holder = Holder::parse(&found);
            if !is_stale(holder.as_ref(), age) {
                return Err(Busy::Held(holder.map(Box::new), age));
            }
            let removal = remove_stale(path, &found, 0)
                .map_err(|e| Busy::Io(with_gone_holder(e, path, holder.as_ref())))?;
            in_progress = matches!(removal, Removal::InProgress);
            match removal {
                Removal::Removed => {
                    took_over = Some(holder.as_ref().map_or("an unreadable lock".into(), |h| {
                        format!("host {}, pid {}", h.host, h.pid)
                    }));
                }
                Removal::Changed => {}
                Removal::InProgress => std::thread::sleep(TAKEOVER_PAUSE),
            }
        }
        if in_progress {
            let token = takeover_token(path);
            let taker = read_lock(&token).and_then(|(t, _)| Holder::parse(&t).map(Box::new));
            return Err(Busy::TakingOver { token, taker });
        }
        let (found, age) = read_lock(path).unwrap_or_default();
        Err(Busy::Held(Holder::parse(&found).map(Box::new), age))
    }

    /// Take the lock at `path`, waiting while a live holder has it (another
    /// process fetching the same file), at most [`WAIT_LIMIT`]; `what` names
    /// the work in the message.
    pub fn wait(path: &Path, what: &str) -> Result<FileLock> {
        FileLock::wait_at_most(path, what, WAIT_LIMIT)
    }

    /// [`FileLock::wait`] with its own deadline: past `limit` the error names
    /// the lock, its holder and what to delete.
    pub fn wait_at_most(path: &Path, what: &str, limit: Duration) -> Result<FileLock> {
        let started = std::time::Instant::now();
        let mut told = false;
        loop {
            let (holder, token) = match FileLock::try_acquire(path) {
                Ok(l) => return Ok(l),
                Err(Busy::Io(e)) => return Err(e),
                Err(Busy::Held(h, _)) => (h, None),
                Err(Busy::TakingOver { taker, token }) => (taker, Some(token)),
            };
            let who = holder.as_deref().map_or_else(
                || "a process whose lock cannot be read".into(),
                |h| format!("pid {} on host {}", h.pid, h.host),
            );
            if started.elapsed() >= limit {
                return Err(gave_up(path, what, &who, token.as_deref(), limit));
            }
            if !told {
                eprintln!("{what}: {who} is fetching it; waiting for it to finish");
                told = true;
            }
            std::thread::sleep(Duration::from_millis(200).min(limit));
        }
    }

    fn held(path: PathBuf, text: String) -> FileLock {
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (path.clone(), stop.clone());
        // Refresh the mtime so other hosts can tell this lock is alive.
        let heartbeat = std::thread::Builder::new()
            .name("hecjob-lock".into())
            .spawn(move || {
                let tick = Duration::from_millis(100);
                let mut waited = Duration::ZERO;
                while !s.load(Ordering::Relaxed) {
                    // Parked, so that Drop (which unparks) need not wait a tick.
                    std::thread::park_timeout(tick);
                    waited += tick;
                    if waited >= HEARTBEAT {
                        waited = Duration::ZERO;
                        if let Ok(f) = std::fs::File::options().append(true).open(&p) {
                            let _ = f.set_modified(SystemTime::now());
                        }
                    }
                }
            })
            .ok();
        FileLock {
            path,
            text,
            stop,
            heartbeat,
        }
    }
}

/// Held for the whole training run: `<dir>/.hecjob-lock`. The field is held
/// for its Drop (which removes the lock), never read.
#[derive(Debug)]
pub struct OutputLock(#[allow(dead_code)] FileLock);

impl OutputLock {
    /// Take the lock on `dir` (created if missing), or fail with exit 4
    /// naming the live holder.
    pub fn acquire(dir: &Path) -> Result<OutputLock> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("creating output directory", dir, e))?;
        match FileLock::try_acquire(&dir.join(LOCK_FILE)) {
            Ok(l) => {
                // Only where the trainer itself writes: the output folder's
                // own files and checkpoint/. A tutorial-style SAVE_PATH may hold
                // other runs (each with its own lock) or a model cache, whose
                // temp files belong to processes that may be live.
                remove_stale_temps(dir, false);
                remove_stale_temps(&dir.join("checkpoint"), true);
                remove_old_lock_drafts(dir);
                Ok(OutputLock(l))
            }
            Err(Busy::Io(e)) => Err(e),
            Err(Busy::Held(h, age)) => Err(in_use(dir, h.as_deref(), age)),
            Err(Busy::TakingOver { token, taker }) => {
                Err(takeover_stuck(dir, &token, taker.as_deref()))
            }
        }
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.heartbeat.take() {
            h.thread().unpark();
            let _ = h.join();
        }
        // Only our own lock: after a takeover by another run (ours judged
        // stale), the file is theirs.
        if read_lock(&self.path).is_some_and(|(t, _)| t == self.text) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// `.hecjob-tmp-*` files in `dir`, and with `recurse` in its subfolders too.
fn remove_stale_temps(dir: &Path, recurse: bool) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            if recurse {
                remove_stale_temps(&p, true);
            }
        } else if e
            .file_name()
            .to_string_lossy()
            .starts_with(crate::util::fsutil::TEMP_PREFIX)
        {
            match std::fs::remove_file(&p) {
                Ok(()) => eprintln!(
                    "hecjob: removed {}, left by a run that was killed",
                    p.display()
                ),
                Err(e) => eprintln!("warning: could not remove {}: {e}", p.display()),
            }
        }
    }
}

/// A lock's text is written under `<lock>.new-<nonce>` before it is linked
/// into place (see [`create_new`]); a process killed between the two leaves
/// that draft behind. A draft lives for microseconds, so one older than a
/// minute is a killed process's, never a contender's in the middle of taking
/// the lock.
fn remove_old_lock_drafts(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let draft = name.starts_with(&format!("{LOCK_FILE}.new-"))
            || name.starts_with(&format!("{LOCK_FILE}.takeover.new-"));
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|a| a > Duration::from_secs(60)));
        if draft && old {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Create `path` holding `text`, failing with `AlreadyExists` if it exists.
/// The text is written to a file of our own first and then hard-linked into
/// place (`link` fails if the name exists: the NFS-safe form of `O_EXCL`), so
/// no reader ever sees the lock created but not yet written.
fn create_new(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::MetadataExt;
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".new-{}", nonce()));
    let mine = path.with_file_name(name);
    let written = (|| {
        let mut f = std::fs::File::options()
            .write(true)
            .create_new(true)
            .open(&mine)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()
    })();
    let linked = written.and_then(|()| match std::fs::hard_link(&mine, path) {
        // Over NFS a retried `link` whose first reply was lost fails although
        // it worked: our file then has two names.
        Err(e) if std::fs::metadata(&mine).is_ok_and(|m| m.nlink() == 2) => {
            let _ = e;
            Ok(())
        }
        // No hard links here: an exclusive create of the lock itself (a reader
        // may then see it empty for a moment, and waits as for a fresh lock).
        Err(e) if no_hard_links(&e) => {
            let mut f = std::fs::File::options()
                .write(true)
                .create_new(true)
                .open(path)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()
        }
        r => r,
    });
    let _ = std::fs::remove_file(&mine);
    linked
}

/// The errors of `link(2)` on a file system that has no hard links.
fn no_hard_links(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EPERM) | Some(libc::EOPNOTSUPP) | Some(libc::ENOSYS)
    )
}

/// What is found at a lock's (or token's) path.
enum Found {
    /// Nothing: released in between.
    Missing,
    /// A lock file: its text and how long since its mtime.
    Lock(String, Duration),
    /// A regular file that cannot be read: judged by its mtime alone.
    Unreadable(std::io::Error, Duration),
    /// Not a regular file (a directory, a symbolic link, a FIFO): no lock of
    /// hecjob's; never opened, never removed.
    Foreign(&'static str),
}

/// How long since `m`'s mtime; an mtime in the future (another host's clock)
/// counts as now, never as an age that would make a lock look stale.
fn mtime_age(m: &std::fs::Metadata) -> Duration {
    m.modified()
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .unwrap_or(Duration::ZERO)
}

/// Look at `path` without following a symbolic link and without opening
/// anything but a regular file (a FIFO's open would wait for a writer).
fn look(path: &Path) -> Found {
    use std::io::Read;
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Found::Missing,
        Err(e) => return Found::Unreadable(e, Duration::ZERO),
    };
    if !meta.file_type().is_file() {
        return Found::Foreign(crate::util::fsutil::file_kind(meta.file_type()));
    }
    let mut text = String::new();
    let read = crate::util::fsutil::open_regular(path).and_then(|mut f| {
        let age = f
            .metadata()
            .map_or_else(|_| mtime_age(&meta), |m| mtime_age(&m));
        f.read_to_string(&mut text).map(|_| age)
    });
    match read {
        Ok(age) => Found::Lock(text, age),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Found::Missing,
        Err(e) => Found::Unreadable(e, mtime_age(&meta)),
    }
}

/// The lock's text and how long since its mtime, when it is a readable lock file.
fn read_lock(path: &Path) -> Option<(String, Duration)> {
    match look(path) {
        Found::Lock(text, age) => Some((text, age)),
        _ => None,
    }
}

/// Remove the lock file at `path` if it still holds `seen` (judged stale),
/// holding `<path>.takeover` meanwhile so that no other remover can act between
/// our check and our unlink (see the module docs). `depth`: how many tokens
/// deep this is.
/// `<lock>.takeover`: whoever holds it may remove the stale `<lock>`.
fn takeover_token(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".takeover");
    path.with_file_name(name)
}

fn remove_stale(path: &Path, seen: &str, depth: usize) -> Result<Removal> {
    let token = takeover_token(path);
    match create_new(&token, &Holder::current().to_text()) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let (t, age) = match look(&token) {
                Found::Missing => return Ok(Removal::Changed), // released in between
                Found::Lock(t, age) => (t, age),
                Found::Foreign(kind) => return Err(foreign(&token, kind, Some(path))),
                Found::Unreadable(e, age) if age > STALE_AFTER => {
                    return Err(unreadable_and_old(&token, &e, age))
                }
                Found::Unreadable(..) => return Ok(Removal::InProgress),
            };
            // A token whose taker was killed mid-takeover: clear it the same way.
            if depth < MAX_TOKEN_DEPTH && is_stale(Holder::parse(&t).as_ref(), age) {
                remove_stale(&token, &t, depth + 1)?;
                return Ok(Removal::Changed);
            }
            return Ok(Removal::InProgress);
        }
        Err(e) => return Err(Error::io("creating lock takeover file", &token, e)),
    }
    // Holding the token. Staleness is judged again: a holder on another host
    // may have refreshed its heartbeat since (the text stays the same).
    let outcome = match read_lock(path) {
        Some((t, age)) if t == seen && is_stale(Holder::parse(&t).as_ref(), age) => {
            match std::fs::remove_file(path) {
                Ok(()) => Ok(Removal::Removed),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Removal::Changed),
                Err(e) => Err(Error::io("removing a stale lock", path, e)),
            }
        }
        _ => Ok(Removal::Changed),
    };
    // Ours alone: nobody removes a live holder's token.
    let _ = std::fs::remove_file(&token);
    outcome
}

fn in_use(dir: &Path, holder: Option<&Holder>, age: Duration) -> Error {
    let who = match holder {
        Some(h) => format!(
            "hecjob train on host {} (pid {}) has held it since {} (Unix time; lock refreshed {} s ago)",
            h.host,
            h.pid,
            h.since,
            age.as_secs()
        ),
        None => format!(
            "an unreadable lock last written {} s ago (taken for stale after {} minutes)",
            age.as_secs(),
            STALE_AFTER.as_secs() / 60
        ),
    };
    Error::io(
        "output directory in use",
        dir,
        std::io::Error::new(
            std::io::ErrorKind::WouldBlock,
            format!(
                "{who}. Two runs into one directory would mix their checkpoints and metrics: wait for it, or train into another directory. If that process is gone, delete {}",
                dir.join(LOCK_FILE).display()
            ),
        ),
    )
}

/// The lock's holder is gone, but a takeover did not finish while we looked:
/// say so, rather than name the dead holder as if it were alive.
fn takeover_stuck(dir: &Path, token: &Path, taker: Option<&Holder>) -> Error {
    let who = taker.map_or("a process whose note is unreadable".into(), |h| {
        format!("pid {} on host {}", h.pid, h.host)
    });
    Error::io(
        "output directory in use",
        dir,
        std::io::Error::new(
            std::io::ErrorKind::WouldBlock,
            format!(
                "its lock {} was left by a run that is gone, and {who} is taking it over ({}) but \
                 has not finished; run again in a minute. If that process was killed (its note \
                 goes stale after {} minutes) and no hecjob trains into this directory, delete \
                 both files",
                dir.join(LOCK_FILE).display(),
                token.display(),
                STALE_AFTER.as_secs() / 60
            ),
        ),
    )
}

/// A directory, a symbolic link or a FIFO where a lock (or, with `lock`, the
/// takeover token of that lock) belongs: hecjob never wrote it and never
/// removes it; the message says what to delete.
fn foreign(path: &Path, kind: &str, lock: Option<&Path>) -> Error {
    let what = match lock {
        Some(l) => format!(
            "is {kind}, not the takeover note hecjob writes beside the lock {}",
            l.display()
        ),
        None => format!("is {kind}, not a lock file hecjob writes"),
    };
    Error::io(
        "lock in the way",
        path,
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "{what}, so hecjob can neither hold nor wait on it. If no hecjob run uses it, \
                 delete it (rm -r {}) and run again",
                path.display()
            ),
        ),
    )
}

/// A lock that cannot be read and has not been written for [`STALE_AFTER`]:
/// hecjob cannot tell whose it is, so it does not remove it itself.
fn unreadable_and_old(path: &Path, e: &std::io::Error, age: Duration) -> Error {
    Error::io(
        "lock in the way",
        path,
        std::io::Error::new(
            e.kind(),
            format!(
                "cannot be read ({e}) and was last written {} minutes ago, so its holder is \
                 taken for gone; hecjob does not remove a lock it cannot read. Delete it and run \
                 again",
                age.as_secs() / 60
            ),
        ),
    )
}

/// An error met while taking over a stale lock, with the gone holder named as
/// gone (the message must not read as if it still held the lock).
fn with_gone_holder(e: Error, path: &Path, holder: Option<&Holder>) -> Error {
    match e {
        Error::Io {
            context,
            path: p,
            source,
        } => {
            let gone = holder.map_or_else(
                || "its holder is gone".into(),
                |h| format!("its holder, pid {} on host {}, is gone", h.pid, h.host),
            );
            Error::io(
                context,
                p,
                std::io::Error::new(
                    source.kind(),
                    format!("{source} (the lock {} is stale: {gone})", path.display()),
                ),
            )
        }
        other => other,
    }
}

/// [`FileLock::wait`] past its deadline.
fn gave_up(path: &Path, what: &str, who: &str, token: Option<&Path>, limit: Duration) -> Error {
    let delete = match token {
        Some(t) => format!("delete {} and {}", path.display(), t.display()),
        None => format!("delete {}", path.display()),
    };
    Error::io(
        "waiting for a lock",
        path,
        std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!(
                "{what}: {who} has held it for all of the {} s this run waited. If that process \
                 is gone or is not fetching this file, {delete} and run again",
                limit.as_secs()
            ),
        ),
    )
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}

fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// Field 22 of /proc/PID/stat (after the parenthesised command name, which
/// may itself hold spaces and parentheses).
fn process_start(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_run_is_refused_with_exit_4_naming_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("task-1");
        let lock = OutputLock::acquire(&out).unwrap();
        let e = OutputLock::acquire(&out).unwrap_err();
        assert_eq!(e.exit_code(), 4);
        let msg = e.to_string();
        let expected = format!(
            "output directory in use: {}: hecjob train on host {} (pid {}) has held it since",
            out.display(),
            hostname(),
            std::process::id()
        );
        assert!(msg.starts_with(&expected), "{msg}");
        assert!(msg.ends_with(&format!(
            "wait for it, or train into another directory. If that process is gone, delete {}/.hecjob-lock",
            out.display()
        )));
        drop(lock);
        assert!(!out.join(LOCK_FILE).exists());
        OutputLock::acquire(&out).unwrap();
    }

    #[test]
    fn a_lock_of_a_dead_process_on_this_host_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(LOCK_FILE), dead_holder().to_text()).unwrap();
        let lock = OutputLock::acquire(dir.path()).unwrap();
        let now = std::fs::read_to_string(dir.path().join(LOCK_FILE)).unwrap();
        assert_eq!(Holder::parse(&now).unwrap().pid, std::process::id());
        drop(lock);
        // A live process with a reused pid but another start time: gone too.
        let reused = Holder {
            start: "0".into(),
            ..Holder::current()
        };
        std::fs::write(dir.path().join(LOCK_FILE), reused.to_text()).unwrap();
        OutputLock::acquire(dir.path()).unwrap();
    }

    #[test]
    fn another_hosts_lock_is_stale_only_without_heartbeat() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOCK_FILE);
        let other = Holder {
            host: "node-elsewhere".into(),
            ..Holder::current()
        };
        std::fs::write(&path, other.to_text()).unwrap();
        let e = OutputLock::acquire(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("hecjob train on host node-elsewhere (pid"),
            "{e}"
        );
        let old = SystemTime::now() - STALE_AFTER - Duration::from_secs(60);
        std::fs::File::options()
            .append(true)
            .open(&path)
            .unwrap()
            .set_modified(old)
            .unwrap();
        OutputLock::acquire(dir.path()).unwrap();
        // An empty lock (killed between create and write) that is fresh: held.
        std::fs::write(&path, "").unwrap();
        let e = OutputLock::acquire(dir.path()).unwrap_err().to_string();
        assert!(e.contains("an unreadable lock"), "{e}");
    }

    /// A stale lock whose takeover token was left, fresh, by a process on
    /// another host (killed mid-takeover; tokens have no heartbeat): the run
    /// is refused with the token named and what to do, not with the dead
    /// holder named as if it were alive.
    #[test]
    fn an_unfinished_takeover_is_named_not_the_dead_holder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOCK_FILE);
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead_pid = child.id();
        child.wait().unwrap();
        let dead = Holder {
            pid: dead_pid,
            ..Holder::current()
        };
        std::fs::write(&path, dead.to_text()).unwrap();
        let taker = Holder {
            host: "node-elsewhere".into(),
            pid: 4242,
            ..Holder::current()
        };
        std::fs::write(takeover_token(&path), taker.to_text()).unwrap();
        let e = OutputLock::acquire(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("was left by a run that is gone, and pid 4242 on host node-elsewhere is taking it over"),
            "{e}"
        );
        assert!(e.contains(".hecjob-lock.takeover"), "{e}");
        assert!(e.contains("delete both files"), "{e}");
        assert!(!e.contains("has held it since"), "{e}");
    }

    /// A lock draft left by a process killed between writing and linking it
    /// is removed by the next run once it is old; a fresh one (a contender
    /// taking the lock right now) is left alone.
    #[test]
    fn old_lock_drafts_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join(format!("{LOCK_FILE}.new-0123456789abcdef"));
        let fresh = dir.path().join(format!("{LOCK_FILE}.new-fedcba9876543210"));
        std::fs::write(&old, Holder::current().to_text()).unwrap();
        std::fs::write(&fresh, Holder::current().to_text()).unwrap();
        std::fs::File::options()
            .append(true)
            .open(&old)
            .unwrap()
            .set_modified(SystemTime::now() - Duration::from_secs(3600))
            .unwrap();
        drop(OutputLock::acquire(dir.path()).unwrap());
        assert!(!old.exists());
        assert!(fresh.exists());
    }

    #[test]
    fn temp_files_of_a_killed_run_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let ckpt = dir.path().join("checkpoint/epoch-1");
        std::fs::create_dir_all(&ckpt).unwrap();
        for p in [
            dir.path().join(".hecjob-tmp-a1"),
            ckpt.join(".hecjob-tmp-b2.safetensors"),
        ] {
            std::fs::write(p, "partial").unwrap();
        }
        std::fs::write(ckpt.join("state.json"), "{}").unwrap();
        // Another run (or a model cache) inside the output folder: its temp
        // files may belong to a live process and are left alone.
        let other = dir.path().join("run-b/checkpoint");
        std::fs::create_dir_all(&other).unwrap();
        std::fs::write(other.join(".hecjob-tmp-c3"), "writing").unwrap();
        let _lock = OutputLock::acquire(dir.path()).unwrap();
        assert!(!dir.path().join(".hecjob-tmp-a1").exists());
        assert!(!ckpt.join(".hecjob-tmp-b2.safetensors").exists());
        assert!(ckpt.join("state.json").exists());
        assert!(other.join(".hecjob-tmp-c3").exists());
    }

    /// A holder on this host that has certainly exited (a pid just reaped).
    fn dead_holder() -> Holder {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        let start = process_start(pid);
        child.wait().unwrap();
        Holder {
            pid,
            start: start.unwrap_or_else(|| "1".into()),
            ..Holder::current()
        }
    }

    /// Many contenders see one stale lock at once (the takeover race: one
    /// moves the stale file aside and creates its own while another, which
    /// read the stale text before, moves or replaces it again). Whatever the
    /// interleaving, each round must end with exactly one holder, the file on
    /// disk being its lock, and every other contender told that holder.
    #[test]
    fn racing_takeovers_of_a_stale_lock_leave_exactly_one_holder() {
        const ROUNDS: u64 = 500;
        const RACERS: usize = 16;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOCK_FILE);
        let dead = dead_holder();
        for round in 0..ROUNDS {
            // Each round's stale lock has its own text, as two dead runs would.
            let stale = Holder {
                since: round,
                ..dead.clone()
            };
            std::fs::write(&path, stale.to_text()).unwrap();
            let start = std::sync::Barrier::new(RACERS);
            let results: Vec<std::result::Result<FileLock, Busy>> = std::thread::scope(|s| {
                let racers: Vec<_> = (0..RACERS)
                    .map(|_| {
                        s.spawn(|| {
                            start.wait();
                            FileLock::try_acquire(&path)
                        })
                    })
                    .collect();
                racers.into_iter().map(|r| r.join().unwrap()).collect()
            });
            let winners: Vec<&FileLock> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
            assert_eq!(
                winners.len(),
                1,
                "round {round}: {} contenders hold the lock at once",
                winners.len()
            );
            let on_disk = std::fs::read_to_string(&path).unwrap();
            assert_eq!(
                on_disk, winners[0].text,
                "round {round}: the file is not the winner's lock"
            );
            let holder = Holder::parse(&on_disk).unwrap();
            for r in &results {
                match r {
                    Ok(_) => {}
                    Err(Busy::Held(Some(h), _)) => {
                        assert_eq!(
                            **h, holder,
                            "round {round}: a loser was told another holder"
                        )
                    }
                    Err(Busy::Held(None, _)) => {
                        panic!("round {round}: a loser was not told who holds the lock")
                    }
                    Err(Busy::Io(e)) => panic!("round {round}: {e}"),
                    Err(Busy::TakingOver { .. }) => {
                        panic!("round {round}: a takeover was left unfinished")
                    }
                }
            }
            drop(results);
            // Nothing but the (released) lock's own name was ever left behind.
            let left: Vec<_> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert!(left.is_empty(), "round {round}: left behind {left:?}");
        }
    }

    /// Set for the contender processes of the test below: this test binary
    /// run again, each process one contender.
    const RACE_ENV: &str = "HECJOB_TEST_LOCK_RACE";
    const RACE_PREFIX: &str = "RACE:";

    /// One contender in a process of its own: says it is ready, waits for
    /// `go` on stdin, tries the lock, prints the outcome (the holder's text,
    /// newlines as `|`), and holds on to it until stdin says `release`. Does
    /// nothing unless started by the test below.
    #[test]
    #[ignore = "a contender process of racing_processes_take_over_a_stale_lock_one_at_a_time"]
    fn lock_race_contender() {
        use std::io::{BufRead, Write};
        let Some(path) = std::env::var_os(RACE_ENV) else {
            return;
        };
        // Written to stdout itself: the test harness captures println!.
        let say = |what: &str| {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{RACE_PREFIX}{what}").unwrap();
            out.flush().unwrap();
        };
        let mut stdin = std::io::stdin().lock();
        let mut line = String::new();
        say("ready");
        stdin.read_line(&mut line).unwrap();
        let result = FileLock::try_acquire(Path::new(&path));
        let outcome = match &result {
            Ok(l) => format!("won {}", l.text),
            Err(Busy::Held(Some(h), _)) => format!("held {}", h.to_text()),
            Err(Busy::Held(None, _)) => "held by a holder not named".into(),
            Err(Busy::TakingOver { token, .. }) => {
                format!("a takeover left unfinished ({})", token.display())
            }
            Err(Busy::Io(e)) => format!("error {e}"),
        };
        say(&outcome.replace('\n', "|"));
        stdin.read_line(&mut line).unwrap();
        drop(result);
    }

    /// The race of `racing_takeovers_of_a_stale_lock_leave_exactly_one_holder`
    /// between processes, as on a cluster: each contender has its own pid, so
    /// a lost race is also judged against a live holder that is another
    /// process. Exactly one wins each round and every other is told its text.
    #[test]
    fn racing_processes_take_over_a_stale_lock_one_at_a_time() {
        use std::io::{BufRead, BufReader, Write};
        use std::process::{Command, Stdio};
        const ROUNDS: u64 = 30;
        const RACERS: usize = 6;
        let exe = std::env::current_exe().unwrap();
        let dead = dead_holder();
        for round in 0..ROUNDS {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(LOCK_FILE);
            let stale = Holder {
                since: round,
                ..dead.clone()
            };
            std::fs::write(&path, stale.to_text()).unwrap();
            let mut racers: Vec<_> = (0..RACERS)
                .map(|_| {
                    let mut child = Command::new(&exe)
                        .args([
                            "--exact",
                            "util::run_lock::tests::lock_race_contender",
                            "--ignored",
                            "--nocapture",
                            "--test-threads=1",
                        ])
                        .env(RACE_ENV, &path)
                        .stdin(Stdio::piped())
                        .stdout(Stdio::piped())
                        .stderr(Stdio::null())
                        .spawn()
                        .unwrap();
                    let out = BufReader::new(child.stdout.take().unwrap());
                    (child, out)
                })
                .collect();
            // The next line a contender prints after RACE_PREFIX.
            let next = |out: &mut BufReader<std::process::ChildStdout>| loop {
                let mut line = String::new();
                assert_ne!(out.read_line(&mut line).unwrap(), 0, "a contender ended");
                // After the harness's "test … " on the first line.
                if let Some(at) = line.find(RACE_PREFIX) {
                    return line[at + RACE_PREFIX.len()..].trim_end().to_string();
                }
            };
            for (_, out) in racers.iter_mut() {
                assert_eq!(next(out), "ready");
            }
            for (child, _) in racers.iter_mut() {
                child.stdin.as_mut().unwrap().write_all(b"go\n").unwrap();
            }
            let outcomes: Vec<String> = racers.iter_mut().map(|(_, out)| next(out)).collect();
            let won: Vec<&String> = outcomes.iter().filter(|o| o.starts_with("won ")).collect();
            assert_eq!(won.len(), 1, "round {round}: {outcomes:#?}");
            let text = won[0].strip_prefix("won ").unwrap();
            let on_disk = std::fs::read_to_string(&path).unwrap().replace('\n', "|");
            assert_eq!(
                on_disk, text,
                "round {round}: the file is not the winner's lock"
            );
            for o in &outcomes {
                assert!(
                    o == won[0] || o.strip_prefix("held ") == Some(text),
                    "round {round}: a loser was not told the winner: {outcomes:#?}"
                );
            }
            for (mut child, _) in racers {
                child
                    .stdin
                    .as_mut()
                    .unwrap()
                    .write_all(b"release\n")
                    .unwrap();
                assert!(child.wait().unwrap().success());
            }
            let left: Vec<_> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert!(left.is_empty(), "round {round}: left behind {left:?}");
        }
    }

    #[test]
    fn process_start_reads_past_odd_command_names() {
        assert!(process_start(std::process::id()).is_some());
        assert_eq!(process_start(u32::MAX), None);
    }

    /// Issue 22: a directory, a dangling symbolic link or a FIFO where the
    /// lock belongs was waited on forever (the directory reported as "written
    /// less than 10 minutes ago"). Each is an error at once, naming what it is
    /// and what to delete; a FIFO is never opened.
    #[test]
    fn a_lock_that_is_not_a_file_is_an_error_not_a_wait() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOCK_FILE);
        let expect = |kind: &str| {
            format!(
                "lock in the way: {p}: is {kind}, not a lock file hecjob writes, so hecjob can \
                 neither hold nor wait on it. If no hecjob run uses it, delete it (rm -r {p}) \
                 and run again",
                p = path.display()
            )
        };
        std::fs::create_dir(&path).unwrap();
        let e = OutputLock::acquire(dir.path()).unwrap_err();
        assert_eq!(e.exit_code(), 4);
        assert_eq!(e.to_string(), expect("a directory"));
        let e = FileLock::wait(&path, "model.safetensors").unwrap_err();
        assert_eq!(e.to_string(), expect("a directory"));
        std::fs::remove_dir(&path).unwrap();

        std::os::unix::fs::symlink(dir.path().join("nowhere"), &path).unwrap();
        let e = FileLock::wait(&path, "model.safetensors").unwrap_err();
        assert_eq!(e.to_string(), expect("a symbolic link"));
        std::fs::remove_file(&path).unwrap();

        let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo reads a NUL-terminated path that outlives the call.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        let e = OutputLock::acquire(dir.path()).unwrap_err();
        assert_eq!(e.to_string(), expect("a FIFO (named pipe)"));
        assert!(path.exists(), "hecjob removes nothing it did not write");
    }

    /// A live-looking lock (another host, mtime in the future; or a pid that
    /// is alive but not hecjob's) was waited on forever: the wait ends at its
    /// deadline, naming the lock, its holder and what to delete; a future
    /// mtime counts as now, not as stale.
    #[test]
    fn a_wait_on_a_lock_that_never_ends_stops_at_its_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors.lock");
        let other = Holder {
            host: "node-elsewhere".into(),
            pid: 1,
            ..Holder::current()
        };
        std::fs::write(&path, other.to_text()).unwrap();
        std::fs::File::options()
            .append(true)
            .open(&path)
            .unwrap()
            .set_modified(SystemTime::now() + Duration::from_secs(365 * 86400))
            .unwrap();
        let (_, age) = read_lock(&path).unwrap();
        assert_eq!(age, Duration::ZERO, "the future is clamped to now");
        let t = std::time::Instant::now();
        let e =
            FileLock::wait_at_most(&path, "model.safetensors", Duration::from_secs(1)).unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(10));
        assert_eq!(e.exit_code(), 4);
        assert_eq!(
            e.to_string(),
            format!(
                "waiting for a lock: {p}: model.safetensors: pid 1 on host node-elsewhere has \
                 held it for all of the 1 s this run waited. If that process is gone or is not \
                 fetching this file, delete {p} and run again",
                p = path.display()
            )
        );
    }

    /// A stale lock with a directory where its takeover token belongs named
    /// the dead holder as if it held the lock; the token is named now, with
    /// the holder said to be gone.
    #[test]
    fn a_takeover_token_that_is_a_directory_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOCK_FILE);
        let dead = dead_holder();
        std::fs::write(&path, dead.to_text()).unwrap();
        std::fs::create_dir(takeover_token(&path)).unwrap();
        let e = OutputLock::acquire(dir.path()).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "lock in the way: {t}: is a directory, not the takeover note hecjob writes \
                 beside the lock {p}, so hecjob can neither hold nor wait on it. If no hecjob run \
                 uses it, delete it (rm -r {t}) and run again (the lock {p} is stale: its \
                 holder, pid {pid} on host {host}, is gone)",
                t = takeover_token(&path).display(),
                p = path.display(),
                pid = dead.pid,
                host = dead.host
            )
        );
    }
}
