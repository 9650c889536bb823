//! What the CPU offers and how much of it this job may use: native bf16
//! (AMX-BF16 or AVX512-BF16, read from /proc/cpuinfo's `flags`), and the
//! thread count the scheduler granted (`NSLOTS` on Grid Engine,
//! `SLURM_CPUS_PER_TASK` on Slurm), never more than the CPUs the process may
//! run on. Plain reads and arithmetic, so the light build has them too; the
//! worker hands the answers to libtorch (worker::cpu).
//!
//! No crate: `std::arch::is_x86_feature_detected!` knows `avx512bf16` only on
//! nightly and nothing of AMX, and the kernel's flags are what a user can
//! check (`grep -o 'avx512_bf16\|amx_bf16' /proc/cpuinfo`).

use crate::util::env_vars;

/// The /proc/cpuinfo flags that mean bf16 matmuls run natively (oneDNN uses
/// them), best first.
pub const BF16_FLAGS: [&str; 2] = ["amx_bf16", "avx512_bf16"];

/// The first of [`BF16_FLAGS`] in a cpuinfo text (its first `flags` line), or
/// in a bare flags line.
pub fn bf16_flag_in(cpuinfo: &str) -> Option<&'static str> {
    let flags: Vec<&str> = match cpuinfo.lines().find(|l| l.starts_with("flags")) {
        Some(line) => line.split_once(':').map_or("", |(_, f)| f),
        None => cpuinfo,
    }
    .split_whitespace()
    .collect();
    BF16_FLAGS.into_iter().find(|f| flags.contains(f))
}

/// This CPU's native bf16 flag (`HECJOB_TEST_CPU_FLAGS` stands in for
/// /proc/cpuinfo in tests); None where it has none or the file cannot be read.
pub fn native_bf16() -> Option<&'static str> {
    let text = env_vars::get(env_vars::HECJOB_TEST_CPU_FLAGS)
        .or_else(|| std::fs::read_to_string("/proc/cpuinfo").ok())?;
    bf16_flag_in(&text)
}

/// Why bf16 is not native here, for an error or a log line.
pub fn no_bf16_reason() -> String {
    format!(
        "this CPU has neither {} nor {} in /proc/cpuinfo's flags, so bf16 would be emulated (slower than fp32)",
        BF16_FLAGS[0], BF16_FLAGS[1]
    )
}

/// Threads for libtorch, and where the number came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Threads {
    pub n: usize,
    /// For the log: `NSLOTS=4`, `SLURM_CPUS_PER_TASK=8, capped at the 2 CPUs
    /// this process may run on`, `the 2 CPUs this process may run on`.
    pub source: String,
}

/// The scheduler's grant (Grid Engine's first), capped at `usable` (the CPUs
/// of the process's affinity mask and cgroup quota); `usable` without a grant.
pub fn choose_threads(nslots: Option<&str>, slurm_cpus: Option<&str>, usable: usize) -> Threads {
    let usable = usable.max(1);
    let granted = [
        (env_vars::NSLOTS, nslots),
        (env_vars::SLURM_CPUS_PER_TASK, slurm_cpus),
    ]
    .into_iter()
    .find_map(|(name, v)| {
        let n = v?.trim().parse::<usize>().ok().filter(|n| *n > 0)?;
        Some((name, n))
    });
    match granted {
        Some((name, n)) if n <= usable => Threads {
            n,
            source: format!("{name}={n}"),
        },
        Some((name, n)) => Threads {
            n: usable,
            source: format!("{name}={n}, capped at the {usable} CPUs this process may run on"),
        },
        None => Threads {
            n: usable,
            source: format!("the {usable} CPUs this process may run on"),
        },
    }
}

/// [`choose_threads`] for this process.
pub fn granted_threads() -> Threads {
    let usable = std::thread::available_parallelism().map_or(1, |n| n.get());
    choose_threads(
        env_vars::get(env_vars::NSLOTS).as_deref(),
        env_vars::get(env_vars::SLURM_CPUS_PER_TASK).as_deref(),
        usable,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured from this machine (a Sapphire Rapids guest) and from a Skylake
    // and a Zen 2 host, cut to the flags around the ones that matter.
    const SAPPHIRE: &str = "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu vme sse4_2 avx2 avx512f avx512_vnni avx512_bf16 wbnoinvd arat\nbugs\t\t: spectre_v1\n";
    const SAPPHIRE_AMX: &str =
        "flags\t\t: fpu avx512f avx512_vnni avx512_bf16 amx_bf16 amx_tile amx_int8\n";
    const SKYLAKE: &str = "processor\t: 0\nflags\t\t: fpu vme sse4_2 avx2 avx512f avx512dq avx512cd avx512bw avx512vl\n";
    const ZEN2: &str = "flags\t\t: fpu sse4_2 avx2 sha_ni clzero\n";

    #[test]
    fn bf16_is_native_with_avx512_bf16_or_amx_and_amx_comes_first() {
        assert_eq!(bf16_flag_in(SAPPHIRE), Some("avx512_bf16"));
        assert_eq!(bf16_flag_in(SAPPHIRE_AMX), Some("amx_bf16"));
        assert_eq!(bf16_flag_in(SKYLAKE), None);
        assert_eq!(bf16_flag_in(ZEN2), None);
        // A bare flags line, as HECJOB_TEST_CPU_FLAGS gives it.
        assert_eq!(bf16_flag_in("fpu avx2 avx512_bf16"), Some("avx512_bf16"));
        assert_eq!(bf16_flag_in("fpu avx2"), None);
        // A flag's prefix is not the flag.
        assert_eq!(bf16_flag_in("avx512_bf16x"), None);
    }

    #[test]
    fn threads_follow_the_grant_never_more_than_the_usable_cpus() {
        let t = |ns, sl, u| choose_threads(ns, sl, u);
        assert_eq!(t(Some("4"), None, 16).n, 4);
        assert_eq!(t(Some("4"), None, 16).source, "NSLOTS=4");
        assert_eq!(t(None, Some("8"), 16).source, "SLURM_CPUS_PER_TASK=8");
        assert_eq!(
            t(None, Some("8"), 2),
            Threads {
                n: 2,
                source: "SLURM_CPUS_PER_TASK=8, capped at the 2 CPUs this process may run on"
                    .into()
            }
        );
        assert_eq!(
            t(None, None, 6),
            Threads {
                n: 6,
                source: "the 6 CPUs this process may run on".into()
            }
        );
        // Grid Engine's variable wins; junk and zero count as no grant.
        assert_eq!(t(Some("3"), Some("8"), 16).n, 3);
        assert_eq!(t(Some("x"), Some("0"), 5).n, 5);
        assert_eq!(t(Some("0"), Some("2"), 5).n, 2);
    }
}
