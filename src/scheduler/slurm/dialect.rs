//! Slurm's [`Dialect`]: `#SBATCH` options ([`directives::lines`]), its time limits
//! (`HH:MM:SS`, `D-HH:MM:SS` and Slurm's other forms: a bare number is minutes),
//! `--mem` sizes in whole units, the soft limit as `--signal=B:USR1@SECONDS`, GRES
//! GPU types, `$SLURM_ARRAY_TASK_ID`, and its own templates (`templates/slurm/`:
//! header and train script; install and download share Grid Engine's bodies, so
//! storage, caches and exit codes cannot drift apart).

use super::client::{
    display_name, request_directives, sbatch_command, scancel_command, Programs, Slurm,
    LIST_OWN_JOBS,
};
use super::{directives, memory, time};
use crate::jobdir::job_id::{JobId, TaskRange};
use crate::scheduler::backend::{CommandLine, JobRequest, Scheduler};
use crate::scheduler::dialect::{range_text, rewrite_directives, Dialect, Purpose, Request};
use crate::scheduler::resources::parse_time_limit;
use crate::scheduler::words::{AccountingWords, SLURM};
use crate::util::error::{lit, Result};
use std::path::Path;

pub struct SlurmDialect;

/// The one Slurm dialect.
pub static DIALECT: SlurmDialect = SlurmDialect;

const TEMPLATES: &[(&str, &str)] = &[
    (
        "_header.tera",
        include_str!("../../../templates/slurm/_header.tera"),
    ),
    (
        "install.com.tera",
        include_str!("../../../templates/install.com.tera"),
    ),
    (
        "download.com.tera",
        include_str!("../../../templates/download.com.tera"),
    ),
    (
        "train.com.tera",
        include_str!("../../../templates/slurm/train.com.tera"),
    ),
    (
        "predict.com.tera",
        include_str!("../../../templates/slurm/predict.com.tera"),
    ),
    (
        "merge.com.tera",
        include_str!("../../../templates/slurm/merge.com.tera"),
    ),
    (
        "notify.com.tera",
        include_str!("../../../templates/slurm/notify.com.tera"),
    ),
    (
        "retry.com.tera",
        include_str!("../../../templates/retry.com.tera"),
    ),
];

/// The longest `--signal=B:USR1@SECONDS` Slurm takes.
pub const MAX_SIGNAL_S: u64 = 65535;

fn is_partition_list(q: &str) -> bool {
    // -p takes a name or a comma-separated list of names.
    !q.is_empty()
        && q.split(',').all(|x| {
            !x.is_empty()
                && x.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        })
}

impl Dialect for SlurmDialect {
    fn name(&self) -> &'static str {
        "slurm"
    }

    fn display_name(&self) -> &'static str {
        "Slurm"
    }

    fn directive_prefix(&self) -> &'static str {
        "#SBATCH"
    }

    /// In the order of the HEC's own examples. Memory in whole units, as `--mem`
    /// requires (`1.5G` → `1536M`). Logs: `logs/<name>.<job id>.out` / `.err`,
    /// array tasks `logs/<name>.<array job id>_<task>.out`, as the HEC names them.
    fn directives(&self, r: &Request) -> Vec<String> {
        let id = if r.array.is_some() { "%A_%a" } else { "%j" };
        let signal_before_s = match (r.warn_before_limit, r.time_s, r.soft_time_s) {
            (true, Some(h), Some(s)) if s < h => Some(h - s),
            _ => None,
        };
        directives::lines(&directives::Request {
            name: r.name.clone(),
            partition: r.queue.clone(),
            stdout: format!("{}/%x.{id}.out", r.log_dir),
            stderr: format!("{}/%x.{id}.err", r.log_dir),
            mem: r.memory_bytes.map(memory::format_mem_request),
            time: r.time_s.map(time::format_duration),
            cpus: r.cpus,
            gpus: r.gpus,
            gpu_type: r.gpu_type.clone(),
            array: r.array,
            signal_before_s,
            extra: r
                .extra
                .iter()
                .map(|d| directives::quote_expressions(d))
                .collect(),
        })
    }

    fn task_id_var(&self) -> &'static str {
        "SLURM_ARRAY_TASK_ID"
    }

    fn templates(&self) -> &'static [(&'static str, &'static str)] {
        TEMPLATES
    }

    fn templates_subdir(&self) -> Option<&'static str> {
        Some("slurm")
    }

    /// The HEC rejects arrays that ask for mail: one small job after the array mails.
    fn mails_from_jobs(&self) -> bool {
        false
    }

    fn check_queue(&self, q: &str) -> std::result::Result<(), String> {
        if is_partition_list(q) {
            Ok(())
        } else {
            Err(format!(
                "`{}` is not a Slurm partition name (letters, digits, _ . -; e.g. gpu-short)",
                lit(q)
            ))
        }
    }

    fn check_extra_directive(&self, d: &str, array_job: bool) -> std::result::Result<(), String> {
        // The same rule as for qsub: sbatch reads the line, not a shell, so shell
        // syntax there only garbles it (a feature expression's `|` excepted).
        let odd_word = directives::odd_word(d);
        if let Err(e) = directives::check_extra(d) {
            Err(format!("{e} (Slurm: written as `#SBATCH {d}`)"))
        } else if let Some(w) = odd_word {
            Err(format!(
                "`{w}` in `{d}` is not a plain sbatch argument (letters, digits and - _ . @ , : = / + % *); sbatch reads this line, not a shell, so `;` `|` `$` quotes and the like only garble it"
            ))
        } else if array_job && d.split_whitespace().any(|w| w.starts_with("--mail-")) {
            Err(
                "the train job is a job array, and the HEC rejects arrays that ask for mail \
                 at submission; use cluster.notify (one small job after the array mails a summary)"
                    .into(),
            )
        } else {
            Ok(())
        }
    }

    fn is_time(&self, s: &str) -> bool {
        parse_time_limit(s.trim()).is_some()
    }

    fn parse_time(&self, s: &str) -> Option<u64> {
        parse_time_limit(s.trim())
    }

    fn time_expected(&self, example: &str, got: &str) -> String {
        format!(
            "expected a Slurm time limit, HH:MM:SS or D-HH:MM:SS (e.g. {example} or 1-12:00:00), got `{}`",
            lit(got)
        )
    }

    fn format_time(&self, secs: u64) -> String {
        time::format_duration(secs)
    }

    fn format_memory(&self, bytes: u64) -> String {
        memory::format_mem_request(bytes)
    }

    fn check_soft_limit(&self, soft: &str, hard: &str, soft_s: u64, hard_s: u64) -> Option<String> {
        (hard_s - soft_s > MAX_SIGNAL_S).then(|| {
            format!(
                "on Slurm the soft limit is a signal sent a number of seconds before h_rt \
                 (--signal=B:USR1@SECONDS), at most {MAX_SIGNAL_S}; {soft} is {} s before h_rt {hard}",
                hard_s - soft_s
            )
        })
    }

    fn gpu_types(&self) -> bool {
        true
    }

    fn submit_command(&self, job: &JobRequest) -> CommandLine {
        sbatch_command(job)
    }

    fn cancel_command(&self, ids: &[JobId]) -> CommandLine {
        scancel_command(ids)
    }

    fn after_any(&self, jobs: &[u64]) -> Vec<String> {
        let ids: Vec<String> = jobs.iter().map(u64::to_string).collect();
        vec![format!("--dependency=afterany:{}", ids.join(":"))]
    }

    /// `--array` (keeping its `%` cap), `--mem` and `--time` rewritten in
    /// place; `--signal`'s warning is relative to the end, so it still holds.
    fn resubmit_script(
        &self,
        script: &str,
        tasks: TaskRange,
        memory: Option<u64>,
        time: Option<u64>,
    ) -> std::result::Result<String, String> {
        let cap = script
            .lines()
            .find_map(|l| l.strip_prefix("#SBATCH --array="))
            .and_then(|spec| spec.split_once('%'))
            .map(|(_, cap)| format!("%{}", cap.trim()))
            .unwrap_or_default();
        let mut rewrites = vec![(
            "#SBATCH --array=",
            format!("#SBATCH --array={}{cap}", range_text(tasks)),
        )];
        if let Some(bytes) = memory {
            rewrites.push((
                "#SBATCH --mem=",
                format!("#SBATCH --mem={}", self.format_memory(bytes)),
            ));
        }
        if let Some(secs) = time {
            rewrites.push((
                "#SBATCH --time=",
                format!("#SBATCH --time={}", self.format_time(secs)),
            ));
        }
        rewrite_directives(script, &rewrites)
    }

    fn accounting_command(&self, _program: Option<&Path>, job: u64) -> String {
        format!("sacct -j {job}")
    }

    fn list_own_jobs(&self) -> &'static str {
        LIST_OWN_JOBS
    }

    fn remove_one(&self) -> &'static str {
        "scancel ID"
    }

    fn words(&self) -> AccountingWords {
        SLURM
    }

    fn inspect(&self, job: &JobRequest) -> Result<(String, Option<TaskRange>)> {
        let d = request_directives(job)?;
        Ok((display_name(job), d.tasks))
    }

    /// On Slurm there is no check to drop (sbatch has no switch like qsub's `-w e`;
    /// it refuses at submission what no partition can ever run, as far as the
    /// cluster's `EnforcePartLimits` says), so the flag is named as changing
    /// nothing rather than silently ignored.
    fn no_verify_note(&self) -> Option<&'static str> {
        Some(
            "--no-verify changes nothing on Slurm: sbatch checks each job against the \
             cluster's partitions when it is submitted, and has no switch to turn that \
             off, so the jobs are the same without it",
        )
    }

    fn client(&self, purpose: Purpose) -> Result<Box<dyn Scheduler>> {
        Ok(match purpose {
            Purpose::Submit => Box::new(Slurm::new()?),
            Purpose::Query | Purpose::DryRun | Purpose::Local { .. } => {
                Box::new(Slurm::for_queries()?)
            }
        })
    }

    /// sacct is sacct: `--qacct PROGRAM` names Grid Engine's client only.
    fn accounting_client(&self, _program: &Path) -> Result<Box<dyn Scheduler>> {
        Ok(Box::new(Slurm::with_programs(
            Programs::default(),
            crate::scheduler::command::timeout_from_env()?,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resubmission_keeps_the_array_cap_and_rewrites_mem_and_time() {
        let train = "#!/bin/bash\n#SBATCH -J x-train\n#SBATCH --mem=40G\n#SBATCH --time=02:00:00\n\
                     #SBATCH --array=1-6%3\n#SBATCH --signal=B:USR1@600\necho run\n";
        let out = SlurmDialect
            .resubmit_script(
                train,
                TaskRange::new(2, 6, 2).unwrap(),
                Some(60 << 30),
                Some(90_000),
            )
            .unwrap();
        assert_eq!(
            out,
            "#!/bin/bash\n#SBATCH -J x-train\n#SBATCH --mem=60G\n#SBATCH --time=1-01:00:00\n\
             #SBATCH --array=2-6:2%3\n#SBATCH --signal=B:USR1@600\necho run\n"
        );
    }
}
