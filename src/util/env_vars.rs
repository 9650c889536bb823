//! Every environment variable hecjob reads, in one place (uv's env_vars.rs style).
//! Add a constant here rather than spelling a name inline elsewhere.

/// Base URL of the GoEmotions files (a mirror); overrides the pinned GitHub URL.
pub const HECJOB_DATA_URL: &str = "HECJOB_DATA_URL";
/// Read (idle) timeout for downloads, in seconds (default 30): how long a
/// stalled connection may stay silent before the attempt is retried.
pub const HECJOB_HTTP_TIMEOUT: &str = "HECJOB_HTTP_TIMEOUT";
/// Connect timeout for downloads, in seconds (default 10).
pub const HECJOB_HTTP_CONNECT_TIMEOUT: &str = "HECJOB_HTTP_CONNECT_TIMEOUT";
/// How many times a download is retried after a transient failure (default 4).
pub const HECJOB_HTTP_RETRIES: &str = "HECJOB_HTTP_RETRIES";
/// Low-speed limit for downloads, in bytes per second (default 1024): an
/// attempt moving less than this over HECJOB_HTTP_LOW_SPEED_TIME is retried.
pub const HECJOB_HTTP_LOW_SPEED_LIMIT: &str = "HECJOB_HTTP_LOW_SPEED_LIMIT";
/// The window of that limit, in seconds (default 60).
pub const HECJOB_HTTP_LOW_SPEED_TIME: &str = "HECJOB_HTTP_LOW_SPEED_TIME";
/// How long a scheduler client (qsub, qstat, qacct, qdel…) may run, in seconds
/// (default 120), before it is killed and the command named in the error.
pub const HECJOB_SCHEDULER_TIMEOUT: &str = "HECJOB_SCHEDULER_TIMEOUT";
/// Read by the rendered install job, not by hecjob: how long it waits, in
/// seconds, for another install job on the same storage root (its lock)
/// before it stops (default: half the install job's h_rt).
pub const HECJOB_INSTALL_LOCK_WAIT: &str = "HECJOB_INSTALL_LOCK_WAIT";
/// Directory of the real GoEmotions data for tests and benchmarks.
pub const GOEMOTIONS_DIR: &str = "GOEMOTIONS_DIR";
/// Hugging Face hub cache directory (highest priority).
pub const HF_HUB_CACHE: &str = "HF_HUB_CACHE";
/// Hugging Face home; the hub cache is `$HF_HOME/hub`.
pub const HF_HOME: &str = "HF_HOME";
/// Legacy cache variable the HEC tutorial exports; honoured as a hub cache.
pub const TRANSFORMERS_CACHE: &str = "TRANSFORMERS_CACHE";
/// Hub mirror base URL (default <https://huggingface.co>).
pub const HF_ENDPOINT: &str = "HF_ENDPOINT";
/// Access token for gated or private models (sent as a Bearer token to the hub only).
pub const HF_TOKEN: &str = "HF_TOKEN";
/// `1` forbids network access for model downloads.
pub const HF_HUB_OFFLINE: &str = "HF_HUB_OFFLINE";
/// Grid Engine array task id, set in each task of an array job.
pub const SGE_TASK_ID: &str = "SGE_TASK_ID";
/// Grid Engine job id.
pub const JOB_ID: &str = "JOB_ID";
/// Home directory (default hub cache location).
pub const HOME: &str = "HOME";
/// Per-job temporary directory set by Grid Engine.
pub const TMPDIR: &str = "TMPDIR";
/// First, last and step of the array job's task range (`undefined` outside arrays).
pub const SGE_TASK_FIRST: &str = "SGE_TASK_FIRST";
pub const SGE_TASK_LAST: &str = "SGE_TASK_LAST";
pub const SGE_TASK_STEPSIZE: &str = "SGE_TASK_STEPSIZE";
/// Grid Engine job name (`-N`).
pub const JOB_NAME: &str = "JOB_NAME";
/// `1` when Grid Engine runs a task again after it exited 99 (or its host failed).
pub const RESTARTED: &str = "RESTARTED";
/// Slots granted to the job.
pub const NSLOTS: &str = "NSLOTS";
/// The directory qsub was run in.
pub const SGE_O_WORKDIR: &str = "SGE_O_WORKDIR";
/// Per-job temporary directory (Grid Engine sets TMP as well as TMPDIR).
pub const TMP: &str = "TMP";
/// User name: Grid Engine's `$USER` pseudo variable in -o/-e paths.
pub const USER: &str = "USER";

/// Slurm's variables, as `hecjob run --local` sets them for a Slurm-rendered script
/// (and the train script reads SLURM_ARRAY_TASK_ID and SLURM_RESTART_COUNT).
pub const SLURM_JOB_ID: &str = "SLURM_JOB_ID";
pub const SLURM_JOB_NAME: &str = "SLURM_JOB_NAME";
pub const SLURM_ARRAY_JOB_ID: &str = "SLURM_ARRAY_JOB_ID";
pub const SLURM_ARRAY_TASK_ID: &str = "SLURM_ARRAY_TASK_ID";
pub const SLURM_ARRAY_TASK_MIN: &str = "SLURM_ARRAY_TASK_MIN";
pub const SLURM_ARRAY_TASK_MAX: &str = "SLURM_ARRAY_TASK_MAX";
pub const SLURM_ARRAY_TASK_STEP: &str = "SLURM_ARRAY_TASK_STEP";
pub const SLURM_ARRAY_TASK_COUNT: &str = "SLURM_ARRAY_TASK_COUNT";
/// How often Slurm has requeued this job (absent on the first run).
pub const SLURM_RESTART_COUNT: &str = "SLURM_RESTART_COUNT";
pub const SLURM_SUBMIT_DIR: &str = "SLURM_SUBMIT_DIR";
pub const SLURM_JOB_PARTITION: &str = "SLURM_JOB_PARTITION";
pub const SLURM_CPUS_PER_TASK: &str = "SLURM_CPUS_PER_TASK";
/// Set by `hecjob run --local`: a Slurm train script then exits 99 for the local
/// runner to re-run the task, instead of `scontrol requeue`.
pub const HECJOB_RUN_LOCAL: &str = "HECJOB_RUN_LOCAL";

/// Tests only: `POINT:EPOCH` (e.g. `best-saved:2`) makes `hecjob train` SIGKILL
/// itself at that point of that epoch, as h_rt or a node crash would, so a test
/// can prove what a kill there leaves behind (train/trainer.rs `kill_point`).
pub const HECJOB_TEST_KILL_AT: &str = "HECJOB_TEST_KILL_AT";
/// Tests only: milliseconds `hecjob train` sleeps after each training step,
/// so a test of `--checkpoint-every 1s` sees time pass between steps of a
/// tiny model (train/epoch.rs `slow_step`).
pub const HECJOB_TEST_STEP_DELAY_MS: &str = "HECJOB_TEST_STEP_DELAY_MS";
/// Tests only: the CPU's flags as /proc/cpuinfo's `flags` line would list
/// them (space-separated), read instead of /proc/cpuinfo (util/cpu.rs), so a
/// test can show what happens on a CPU without native bf16.
pub const HECJOB_TEST_CPU_FLAGS: &str = "HECJOB_TEST_CPU_FLAGS";

/// The host name, when /proc/sys/kernel/hostname cannot be read: it names the
/// holder of an output or download lock (util/run_lock.rs).
pub const HOSTNAME: &str = "HOSTNAME";
/// Where `qsub`, `qstat` and `qacct` are looked up.
pub const PATH: &str = "PATH";
/// The GPUs this process may use; the first is the one NVML reports on.
pub const CUDA_VISIBLE_DEVICES: &str = "CUDA_VISIBLE_DEVICES";
// Also read: the variable that `cluster.storage_root` names (e.g. `$global_storage`).

/// Read a variable, treating an empty value as unset.
// The one reader clippy.toml's disallowed std::env::var points everyone to.
#[allow(clippy::disallowed_methods)]
pub fn get(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Set (not read) by hecjob for `precision: tf32`/`auto` on CUDA: libtorch then
/// lets cuBLAS use TF32 tensor cores for fp32 matmuls.
pub const TORCH_ALLOW_TF32_CUBLAS_OVERRIDE: &str = "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE";
