//! `hecjob download-model NAME` and the Hugging Face cache layout, so a model
//! fetched on a CPU node (the download job) is found offline by the training
//! worker, and a cache filled by Python's huggingface_hub is used as is:
//!
//! ```text
//! <cache>/models--ORG--NAME/blobs/<etag>                       the bytes
//! <cache>/models--ORG--NAME/snapshots/<commit>/<file> -> ../../blobs/<etag>
//! <cache>/models--ORG--NAME/refs/<revision>                    contains <commit>
//! ```
//!
//! Cache: `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `$TRANSFORMERS_CACHE` (what
//! the HEC tutorial exports), else `~/.cache/huggingface/hub`. `HF_ENDPOINT`
//! selects a mirror, `HF_HUB_OFFLINE=1` forbids the network, `HF_TOKEN` is sent
//! for gated models.

use crate::fetch::http::{self, DownloadRequest, FetchError, Http};
use crate::fetch::model_ref::ModelRef;
use crate::util::env_vars;
use crate::util::error::{Error, Result};
use std::path::{Path, PathBuf};

pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// Where and how to reach the hub, from the environment.
#[derive(Debug, Clone)]
pub struct HubEnv {
    pub cache: PathBuf,
    pub endpoint: String,
    pub offline: bool,
    pub token: Option<String>,
}

impl HubEnv {
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(env_vars::get)
    }

    /// Same as [`HubEnv::from_env`] with `get` standing in for the environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self> {
        Ok(HubEnv {
            cache: cache_dir_from(&get)?,
            endpoint: get(env_vars::HF_ENDPOINT)
                .map(|e| e.trim_end_matches('/').to_string())
                .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string()),
            offline: get(env_vars::HF_HUB_OFFLINE).is_some_and(|v| truthy(&v)),
            token: get(env_vars::HF_TOKEN),
        })
    }
}

fn truthy(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "yes" | "on"
    )
}

/// The hub cache directory (see the module docs for the order).
pub fn cache_dir_from(get: impl Fn(&str) -> Option<String>) -> Result<PathBuf> {
    if let Some(c) = get(env_vars::HF_HUB_CACHE) {
        return Ok(PathBuf::from(c));
    }
    if let Some(h) = get(env_vars::HF_HOME) {
        return Ok(PathBuf::from(h).join("hub"));
    }
    if let Some(t) = get(env_vars::TRANSFORMERS_CACHE) {
        return Ok(PathBuf::from(t));
    }
    match get(env_vars::HOME) {
        Some(home) => Ok(PathBuf::from(home).join(".cache/huggingface/hub")),
        None => Err(Error::Usage(format!(
            "cannot tell where the Hugging Face cache is: set {} (or {} or {})",
            env_vars::HF_HUB_CACHE,
            env_vars::HF_HOME,
            env_vars::TRANSFORMERS_CACHE
        ))),
    }
}

/// Check a hub model name (`name` or `org/name`) so it cannot escape the cache
/// (the rule of [`crate::fetch::model_ref::check_hub_id`]).
fn check_name(name: &str) -> Result<()> {
    crate::fetch::model_ref::check_hub_id(name).map_err(|_| {
        Error::Usage(format!(
            "{name:?} is not a hub model name; expected NAME or ORG/NAME made of letters, \
             digits, '-', '_' and '.', e.g. roberta-base or google-bert/bert-base-uncased"
        ))
    })
}

/// The revision rule of [`crate::fetch::model_ref::check_revision`].
fn check_revision(rev: &str) -> Result<()> {
    crate::fetch::model_ref::check_revision(rev).map_err(|_| {
        Error::Usage(format!(
            "revision {rev:?}: expected a branch, tag or commit hash such as main or v1.0"
        ))
    })
}

/// `<cache>/models--ORG--NAME`.
pub fn repo_dir(cache: &Path, name: &str) -> PathBuf {
    cache.join(format!("models--{}", name.replace('/', "--")))
}

fn is_commit_hash(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A model directory for the training worker: a path (see [`ModelRef`]) is
/// used as it is when it holds config.json; a hub id is the snapshot of
/// `revision` (default `main`) in the cache.
pub fn resolve_model_dir(name_or_path: &str, revision: Option<&str>) -> Result<PathBuf> {
    if crate::fetch::model_ref::is_path(name_or_path) {
        return resolve_model_dir_in(Path::new(""), name_or_path, revision);
    }
    resolve_model_dir_in(&HubEnv::from_env()?.cache, name_or_path, revision)
}

/// [`resolve_model_dir`] with an explicit cache directory.
pub fn resolve_model_dir_in(
    cache: &Path,
    name_or_path: &str,
    revision: Option<&str>,
) -> Result<PathBuf> {
    let (id, revision) = match ModelRef::parse(name_or_path, revision) {
        Ok(ModelRef::Local(dir)) => return local_model_dir(dir),
        Ok(ModelRef::Hub { id, revision }) => (id, revision),
        Err(e) => return Err(Error::Usage(format!("model {e}"))),
    };
    let rev = revision.as_deref().unwrap_or("main");
    let snapshot = snapshot_dir(cache, &id, rev);
    // A snapshot is linked file by file: after an interrupted download it can
    // hold config.json without the weights. Say so now, not at load time.
    if let Some(dir) = snapshot
        .as_ref()
        .filter(|d| d.join("config.json").is_file())
    {
        let missing = missing_files(dir);
        if !missing.is_empty() {
            return Err(Error::Data(format!(
                "model {id} (revision {rev}) is only partly in the Hugging Face cache {} \
                 (missing: {}; an interrupted download?); run `hecjob download-model {id}{}` again",
                dir.display(),
                missing.join(", "),
                if rev == "main" {
                    String::new()
                } else {
                    format!(" --revision {rev}")
                }
            )));
        }
    }
    match snapshot {
        Some(dir) if dir.join("config.json").is_file() => Ok(dir),
        _ => {
            let rev_flag = if rev == "main" {
                String::new()
            } else {
                format!(" --revision {rev}")
            };
            // A directory of that name here is not used: paths start with / ./ ../.
            let here = if Path::new(&id).join("config.json").is_file() {
                format!("; a model directory {id} exists here: write ./{id} to use it")
            } else {
                String::new()
            };
            Err(Error::Data(format!(
                "model {id} (revision {rev}) is not in the Hugging Face cache {}; \
                 run `hecjob download-model {id}{rev_flag}` first (on a node with \
                 network, e.g. the download job), or set {} / {} / {} to the cache that holds \
                 it, or give the path of a model directory{here}",
                cache.display(),
                env_vars::HF_HUB_CACHE,
                env_vars::HF_HOME,
                env_vars::TRANSFORMERS_CACHE
            )))
        }
    }
}

fn local_model_dir(local: PathBuf) -> Result<PathBuf> {
    if !local.is_dir() {
        return Err(Error::Data(format!(
            "{}: no such model directory; expected a directory with config.json, \
             tokenizer.json and model.safetensors, or a hub model name such as roberta-base",
            local.display()
        )));
    }
    if local.join("config.json").is_file() {
        return Ok(local);
    }
    Err(Error::Data(format!(
        "{}: a directory without config.json; expected a model directory \
         (config.json, tokenizer.json, model.safetensors) or a hub model name",
        local.display()
    )))
}

/// `snapshots/<commit>` for `rev`: through `refs/<rev>` if present, else
/// `rev` itself (a commit hash, or a mirror that sent no commit).
fn snapshot_dir(cache: &Path, name: &str, rev: &str) -> Option<PathBuf> {
    let repo = repo_dir(cache, name);
    let commit = std::fs::read_to_string(repo.join("refs").join(rev))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| rev.to_string());
    let dir = repo.join("snapshots").join(commit);
    dir.is_dir().then_some(dir)
}

/// Tokenizer files, in order of preference: the first complete set is used.
const TOKENIZER_SETS: [&[&str]; 3] = [
    &["tokenizer.json"],
    &["vocab.txt"],
    &["vocab.json", "merges.txt"],
];
/// Fetched when the repo has them; their absence is fine.
const OPTIONAL: [&str; 2] = ["tokenizer_config.json", "special_tokens_map.json"];

/// `HF_HUB_OFFLINE=1`: the cached snapshot if it is complete, else a clear error.
pub fn offline_snapshot(env: &HubEnv, name: &str, revision: &str) -> Result<PathBuf> {
    check_name(name)?;
    check_revision(revision)?;
    let snap = snapshot_dir(&env.cache, name, revision);
    let missing = match &snap {
        None => vec!["everything".to_string()],
        Some(dir) => missing_files(dir),
    };
    match snap {
        Some(dir) if missing.is_empty() => {
            println!("{}=1: using the cached snapshot", env_vars::HF_HUB_OFFLINE);
            Ok(dir)
        }
        _ => Err(Error::Network(format!(
            "{}=1 forbids downloads, and model {name} (revision {revision}) is not complete in \
             the cache {} (missing: {}); unset {} and run `hecjob download-model {name}` on a node \
             with network, or copy a model directory there and give its path as the model name",
            env_vars::HF_HUB_OFFLINE,
            env.cache.display(),
            missing.join(", "),
            env_vars::HF_HUB_OFFLINE,
        ))),
    }
}

fn missing_files(dir: &Path) -> Vec<String> {
    let mut missing = Vec::new();
    for f in ["config.json", "model.safetensors"] {
        if !dir.join(f).is_file() {
            missing.push(f.to_string());
        }
    }
    if !TOKENIZER_SETS
        .iter()
        .any(|set| set.iter().all(|f| dir.join(f).is_file()))
    {
        missing.push("tokenizer.json (or vocab.txt, or vocab.json + merges.txt)".into());
    }
    missing
}

/// Fetch config, tokenizer and weights of `name` at `revision` into the cache;
/// returns the snapshot directory. `accept_config` sees config.json first: its
/// error (a `model_type` the worker cannot run) stops the download there.
pub fn download_model(
    http: &Http,
    env: &HubEnv,
    name: &str,
    revision: &str,
    accept_config: &dyn Fn(&Path) -> Result<()>,
) -> Result<PathBuf> {
    check_name(name)?;
    check_revision(revision)?;
    let mut dl = ModelDownload {
        http,
        env,
        name,
        repo: repo_dir(&env.cache, name),
        url_rev: revision.to_string(),
        pinned: false,
    };
    let config = dl
        .fetch("config.json")?
        .ok_or_else(|| not_found(env, name, revision, "config.json"))?;
    accept_config(&config)?;
    let mut have_tokenizer = false;
    for set in TOKENIZER_SETS {
        let mut all = true;
        for f in set {
            if dl.fetch(f)?.is_none() {
                all = false;
                break;
            }
        }
        if all {
            have_tokenizer = true;
            break;
        }
    }
    if !have_tokenizer {
        return Err(convertible(
            not_found(
                env,
                name,
                revision,
                "tokenizer.json (nor vocab.txt, nor vocab.json + merges.txt)",
            ),
            name,
        ));
    }
    dl.fetch("model.safetensors")?.ok_or_else(|| {
        convertible(
            not_found(
                env,
                name,
                revision,
                "model.safetensors (hecjob loads safetensors weights only)",
            ),
            name,
        )
    })?;
    for f in OPTIONAL {
        dl.fetch(f)?;
    }
    if dl.url_rev != revision {
        let r = dl.repo.join("refs").join(revision);
        crate::util::fsutil::write_atomic(&r, dl.url_rev.as_bytes())?;
    }
    Ok(dl.repo.join("snapshots").join(&dl.url_rev))
}

/// `e`, with how to make a directory hecjob reads from a repository that
/// has only a SentencePiece `spm.model` or `pytorch_model.bin` (as
/// microsoft/deberta-v3-base does): transformers writes both files once.
fn convertible(e: Error, name: &str) -> Error {
    let Error::Network(msg) = e else {
        return e;
    };
    Error::Network(format!(
        "{msg}. If the repository has the model in another form (spm.model, pytorch_model.bin), \
         convert it once where transformers is installed and give the directory as the model \
         name: python -c \"from transformers import AutoTokenizer, AutoModel; \
         AutoTokenizer.from_pretrained('{name}').save_pretrained('DIR'); \
         AutoModel.from_pretrained('{name}').save_pretrained('DIR')\""
    ))
}

fn not_found(env: &HubEnv, name: &str, revision: &str, what: &str) -> Error {
    Error::Network(format!(
        "{}/{name} (revision {revision}) has no {what}; check the model name and revision \
         (private or gated models need {})",
        env.endpoint,
        env_vars::HF_TOKEN
    ))
}

struct ModelDownload<'a> {
    http: &'a Http,
    env: &'a HubEnv,
    name: &'a str,
    repo: PathBuf,
    /// The revision in URLs and the snapshot directory's name: the commit once
    /// the first answer names it, so every file comes from the same commit even
    /// if the branch moves.
    url_rev: String,
    /// Whether `url_rev` is that commit yet.
    pinned: bool,
}

impl ModelDownload<'_> {
    fn url(&self, file: &str) -> String {
        format!(
            "{}/{}/resolve/{}/{file}",
            self.env.endpoint,
            self.name,
            self.url_rev.replace('/', "%2F")
        )
    }

    fn hint(&self) -> String {
        format!(
            "this node may have no internet access: run `hecjob download-model {}` on one \
             that has (the download job), set {} to a mirror (e.g. https://hf-mirror.com), or \
             copy a model directory (config.json, tokenizer.json, model.safetensors) here and \
             give its path as the model name; gated models need {}",
            self.name,
            env_vars::HF_ENDPOINT,
            env_vars::HF_TOKEN
        )
    }

    /// Fetch one file into the cache and link it into the snapshot.
    /// `Ok(None)`: the repo has no such file.
    fn fetch(&mut self, file: &str) -> Result<Option<PathBuf>> {
        let Some(head) = self.head_and_pin(file)? else {
            return Ok(None);
        };
        // Fetch at the commit the HEAD named, not at a branch that may have moved since.
        let url = self.url(file);
        let id = ServerId::from_head(&head);
        let verify = |p: &Path| verify_blob(p, file, id.git_sha1.as_deref());
        let checks = Checks {
            sha256: id.sha256.as_deref(),
            verify: &verify,
            max_bytes: id.max_bytes,
        };
        let blob = self.store_blob(file, &url, id.etag.as_deref(), &checks)?;
        let link = self.repo.join("snapshots").join(&self.url_rev).join(file);
        let blob_name = blob.file_name().unwrap_or_default();
        link_blob(&link, &Path::new("../../blobs").join(blob_name), &blob)?;
        Ok(Some(link))
    }

    /// HEAD the file (`Ok(None)`: no such file); the first answer naming a
    /// commit pins the download to it.
    fn head_and_pin(&mut self, file: &str) -> Result<Option<http::HeadInfo>> {
        let url = self.url(file);
        let token = self.env.token.as_deref();
        let head = match self.http.head(&url, token) {
            Ok(h) => h,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e.into_error(&self.hint())),
        };
        if !self.pinned {
            if let Some(c) = head.header("x-repo-commit").map(str::trim) {
                if is_commit_hash(c) {
                    self.url_rev = c.to_ascii_lowercase();
                    self.pinned = true;
                }
            }
        }
        Ok(Some(head))
    }

    /// The blob for `file` in `blobs/`: a checked cached one, else downloaded
    /// under its ETag, else (no ETag) under the sha256 of what came.
    fn store_blob(
        &self,
        file: &str,
        url: &str,
        etag: Option<&str>,
        checks: &Checks,
    ) -> Result<PathBuf> {
        let blobs = self.repo.join("blobs");
        let label = format!("{}/{file}", self.name);
        Ok(match etag {
            Some(etag) if blobs.join(etag).is_file() => {
                let dest = blobs.join(etag);
                // A blob stored by an older hecjob may be a portal page or an
                // overlong file from two writers: checked, and fetched again.
                match (checks.verify)(&dest) {
                    Ok(()) => println!("{file}: already in the cache"),
                    Err(problem) => {
                        println!("{file}: in the cache but {problem}; downloading it again");
                        std::fs::remove_file(&dest)
                            .map_err(|e| Error::io("removing a damaged blob", &dest, e))?;
                        self.download(url, &dest, checks, &label)?;
                    }
                }
                dest
            }
            Some(etag) => {
                let dest = blobs.join(etag);
                self.download(url, &dest, checks, &label)?;
                dest
            }
            None => {
                // No ETag (a plain mirror): name the blob by its sha256 afterwards.
                let tmp = blobs.join(format!(".download-{}-{file}", self.url_rev));
                let got = self.download(url, &tmp, checks, &label)?;
                let dest = blobs.join(&got.sha256);
                std::fs::rename(&tmp, &dest)
                    .map_err(|e| Error::io("renaming the download onto", &dest, e))?;
                dest
            }
        })
    }

    fn download(
        &self,
        url: &str,
        dest: &Path,
        checks: &Checks,
        label: &str,
    ) -> Result<http::Downloaded> {
        let req = DownloadRequest {
            sha256: checks.sha256,
            resume: true,
            bearer: self.env.token.as_deref(),
            verify: Some(checks.verify),
            max_bytes: checks.max_bytes,
            ..DownloadRequest::new(url, dest, label)
        };
        let got = self
            .http
            .download(&req)
            .map_err(|e: FetchError| e.into_error(&self.hint()))?;
        let file = label.rsplit('/').next().unwrap_or(label);
        if got.reused {
            println!("{file}: fetched by another process meanwhile; checked, and used");
        } else if got.resumed_from > 0 {
            println!(
                "{file}: downloaded {} bytes (resumed at byte {})",
                got.bytes, got.resumed_from
            );
        } else {
            println!("{file}: downloaded {} bytes", got.bytes);
        }
        Ok(got)
    }
}

/// What a downloaded file must pass before it gets its name in the cache.
struct Checks<'a> {
    sha256: Option<&'a str>,
    verify: &'a http::Verify<'a>,
    max_bytes: Option<u64>,
}

/// What the server's HEAD says the file is: its ETag (safe as a file name),
/// and from it the sha256 (LFS files, with X-Linked-Size as the most bytes to
/// accept) or the git blob sha1 (files in git).
struct ServerId {
    etag: Option<String>,
    sha256: Option<String>,
    git_sha1: Option<String>,
    max_bytes: Option<u64>,
}

impl ServerId {
    fn from_head(head: &http::HeadInfo) -> Self {
        // LFS files answer with a redirect whose X-Linked-Etag is the sha256.
        let etag = head
            .header("x-linked-etag")
            .or_else(|| head.header("etag"))
            .map(normalize_etag)
            .filter(|e| !e.is_empty() && !e.contains(['/', '\\']) && e != "." && e != "..");
        let hex_of = |n: usize| {
            etag.clone()
                .filter(|e| e.len() == n && e.bytes().all(|b| b.is_ascii_hexdigit()))
        };
        let (sha256, git_sha1) = (hex_of(64), hex_of(40));
        let max_bytes = sha256
            .as_ref()
            .and(head.header("x-linked-size"))
            .and_then(|v| v.trim().parse::<u64>().ok());
        ServerId {
            etag,
            sha256,
            git_sha1,
            max_bytes,
        }
    }
}

/// The checks a blob passes besides its size and sha256: the file's own
/// format check, and the git blob sha1 the ETag named.
fn verify_blob(p: &Path, file: &str, git_sha1: Option<&str>) -> std::result::Result<(), String> {
    crate::fetch::filecheck::check(p, file)?;
    if let Some(want) = git_sha1 {
        let got = crate::fetch::filecheck::git_blob_sha1(p)?;
        if !got.eq_ignore_ascii_case(want) {
            return Err(format!(
                "its git blob sha1 is {got}, the server's ETag says {want}"
            ));
        }
    }
    Ok(())
}

/// `"abc"`, `W/"abc"` → `abc`.
fn normalize_etag(e: &str) -> String {
    e.trim()
        .trim_start_matches("W/")
        .trim_matches('"')
        .to_string()
}

/// Point `link` at `target` (relative), replacing what is there atomically.
fn link_blob(link: &Path, target: &Path, blob: &Path) -> Result<()> {
    let dir = link.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io("creating directory", dir, e))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        link.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let _ = std::fs::remove_file(&tmp);
    #[cfg(unix)]
    std::os::unix::fs::symlink(target, &tmp).map_err(|e| Error::io("creating symlink", &tmp, e))?;
    // Without symlinks, a copy keeps the layout usable.
    #[cfg(not(unix))]
    {
        let _ = target;
        std::fs::copy(blob, &tmp).map_err(|e| Error::io("copying", &tmp, e))?;
    }
    #[cfg(unix)]
    let _ = blob;
    std::fs::rename(&tmp, link).map_err(|e| Error::io("renaming onto", link, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    #[test]
    fn cache_dir_priority() {
        let all = [
            ("HF_HUB_CACHE", "/a"),
            ("HF_HOME", "/b"),
            ("TRANSFORMERS_CACHE", "/c"),
            ("HOME", "/h"),
        ];
        assert_eq!(cache_dir_from(lookup(&all)).unwrap(), PathBuf::from("/a"));
        assert_eq!(
            cache_dir_from(lookup(&all[1..])).unwrap(),
            PathBuf::from("/b/hub")
        );
        assert_eq!(
            cache_dir_from(lookup(&all[2..])).unwrap(),
            PathBuf::from("/c")
        );
        assert_eq!(
            cache_dir_from(lookup(&all[3..])).unwrap(),
            PathBuf::from("/h/.cache/huggingface/hub")
        );
        assert!(cache_dir_from(lookup(&[])).is_err());
    }

    #[test]
    fn env_endpoint_and_offline() {
        let e = HubEnv::from_lookup(lookup(&[("HOME", "/h")])).unwrap();
        assert_eq!(e.endpoint, DEFAULT_ENDPOINT);
        assert!(!e.offline);
        let e = HubEnv::from_lookup(lookup(&[
            ("HOME", "/h"),
            ("HF_ENDPOINT", "https://hf-mirror.com/"),
            ("HF_HUB_OFFLINE", "1"),
        ]))
        .unwrap();
        assert_eq!(e.endpoint, "https://hf-mirror.com");
        assert!(e.offline);
    }

    #[test]
    fn names_and_layout() {
        assert_eq!(
            repo_dir(Path::new("/c"), "google-bert/bert-base-uncased"),
            PathBuf::from("/c/models--google-bert--bert-base-uncased")
        );
        assert!(check_name("roberta-base").is_ok());
        assert!(check_name("org/name.v2").is_ok());
        for bad in ["../x", "a/b/c", "", "a//b", "a b", "/abs"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert!(check_revision("main").is_ok());
        assert!(check_revision("refs/pr/1").is_ok());
        assert!(check_revision("../main").is_err());
        assert_eq!(normalize_etag("W/\"abc\""), "abc");
        assert_eq!(normalize_etag("\"abc\""), "abc");
    }

    #[test]
    fn resolve_local_dir_and_missing_model() {
        let d = tempfile::tempdir().unwrap();
        let model = d.path().join("m");
        std::fs::create_dir(&model).unwrap();
        let e = resolve_model_dir_in(d.path(), model.to_str().unwrap(), None).unwrap_err();
        assert!(e.to_string().contains("without config.json"), "{e}");
        std::fs::write(model.join("config.json"), "{}").unwrap();
        assert_eq!(
            resolve_model_dir_in(d.path(), model.to_str().unwrap(), None).unwrap(),
            model
        );
        let e = resolve_model_dir_in(d.path(), "roberta-base", None).unwrap_err();
        assert!(
            e.to_string()
                .contains("run `hecjob download-model roberta-base` first"),
            "{e}"
        );
        let e = resolve_model_dir_in(d.path(), "roberta-base", Some("v2")).unwrap_err();
        assert!(
            e.to_string()
                .contains("`hecjob download-model roberta-base --revision v2`"),
            "{e}"
        );
    }

    /// A snapshot an interrupted download left with config.json but no
    /// weights is named as such, not handed to the trainer.
    #[test]
    fn a_partial_snapshot_is_named() {
        let d = tempfile::tempdir().unwrap();
        let snap = repo_dir(d.path(), "acme/tiny").join("snapshots/abc");
        std::fs::create_dir_all(&snap).unwrap();
        std::fs::create_dir_all(repo_dir(d.path(), "acme/tiny").join("refs")).unwrap();
        std::fs::write(repo_dir(d.path(), "acme/tiny").join("refs/main"), "abc").unwrap();
        std::fs::write(snap.join("config.json"), "{}").unwrap();
        let e = resolve_model_dir_in(d.path(), "acme/tiny", None).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("only partly"), "{msg}");
        assert!(msg.contains("model.safetensors"), "{msg}");
        std::fs::write(snap.join("model.safetensors"), "x").unwrap();
        std::fs::write(snap.join("tokenizer.json"), "{}").unwrap();
        assert_eq!(
            resolve_model_dir_in(d.path(), "acme/tiny", None).unwrap(),
            snap
        );
    }
}
