//! Grid Engine's [`Dialect`]: `#$` directives (`-l h_vmem`, `-l h_rt`, `-l s_rt`,
//! `-t`/`-tc`, `-notify`, `-M`/`-m`), its time limits (`HH:MM:SS` only: a bare
//! number would be seconds, unlike Slurm's minutes, so hecjob does not take one),
//! its memory sizes (binary multiples), `$SGE_TASK_ID`, and the default template
//! set (`templates/*.tera`).

use super::{display_name, qdel_command, qsub_command, request_directives, GridEngine, Programs};
use crate::jobdir::job_id::{JobId, TaskRange};
use crate::scheduler::backend::{CommandLine, JobRequest, Scheduler};
use crate::scheduler::command;
use crate::scheduler::dialect::{
    range_text, rewrite_directives, Dialect, MailOn, Purpose, Request,
};
use crate::scheduler::resources::{format_hms, is_hms, parse_hms};
use crate::scheduler::words::{AccountingWords, GRID_ENGINE};
use crate::util::error::{lit, Result};
use std::path::Path;

pub struct GridEngineDialect;

/// The one Grid Engine dialect.
pub static DIALECT: GridEngineDialect = GridEngineDialect;

/// Grid Engine's templates (`templates/*.tera`), the default set.
const TEMPLATES: &[(&str, &str)] = &[
    (
        "_header.tera",
        include_str!("../../../templates/_header.tera"),
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
        include_str!("../../../templates/train.com.tera"),
    ),
    (
        "retry.com.tera",
        include_str!("../../../templates/retry.com.tera"),
    ),
    (
        "predict.com.tera",
        include_str!("../../../templates/predict.com.tera"),
    ),
    (
        "merge.com.tera",
        include_str!("../../../templates/merge.com.tera"),
    ),
];

/// Directives hecjob writes itself; a duplicate would silently win or clash.
/// (`-wd` would replace `-cwd`, and the scripts expect the job directory.)
const RESERVED_DIRECTIVES: &[&str] = &[
    "-N",
    "-o",
    "-e",
    "-t",
    "-tc",
    "-S",
    "-cwd",
    "-wd",
    "-hold_jid",
];

fn is_queue(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-@*,".contains(c))
}

/// Bytes in Grid Engine's binary multiples: the largest of T, G, M, K that
/// divides exactly, else bytes.
pub fn format_memory(bytes: u64) -> String {
    for (unit, mult) in [
        ('T', 1u64 << 40),
        ('G', 1 << 30),
        ('M', 1 << 20),
        ('K', 1 << 10),
    ] {
        if bytes >= mult && bytes % mult == 0 {
            return format!("{}{unit}", bytes / mult);
        }
    }
    bytes.to_string()
}

impl Dialect for GridEngineDialect {
    fn name(&self) -> &'static str {
        "sge"
    }

    fn display_name(&self) -> &'static str {
        "Grid Engine"
    }

    fn directive_prefix(&self) -> &'static str {
        "#$"
    }

    /// Every value was validated against a strict pattern, so none needs
    /// quoting; `extra_directives` passed [`Dialect::check_extra_directive`],
    /// which is enough: `#$` lines are comments to bash.
    fn directives(&self, r: &Request) -> Vec<String> {
        let mut d = vec![
            "-S /bin/bash".to_string(),
            format!("-N {}", r.name),
            "-cwd".to_string(),
            format!("-o {}/", r.log_dir),
            format!("-e {}/", r.log_dir),
            format!("-q {}", r.queue),
        ];
        if let Some(v) = r.memory_bytes {
            d.push(format!("-l h_vmem={}", format_memory(v)));
        }
        if let Some(v) = r.time_s {
            d.push(format!("-l h_rt={}", format_hms(v)));
        }
        if let Some(v) = r.soft_time_s {
            d.push(format!("-l s_rt={}", format_hms(v)));
        }
        if let Some(v) = r.cpus {
            d.push(format!("-l ncpus={v}"));
        }
        if r.gpus > 0 {
            d.push(format!("-l ngpus={}", r.gpus));
        }
        if let Some((n, cap)) = r.array {
            d.push(format!("-t 1-{n}"));
            if let Some(tc) = cap {
                d.push(format!("-tc {tc}"));
            }
        }
        if r.warn_before_limit {
            d.push("-notify".to_string());
        }
        if let Some(m) = &r.mail {
            // Grid Engine's mail events: e(nd), a(bort).
            let events: String =
                m.on.iter()
                    .map(|o| match o {
                        MailOn::End => 'e',
                        MailOn::Fail => 'a',
                    })
                    .collect();
            d.push(format!("-M {}", m.address));
            d.push(format!("-m {events}"));
        }
        d.extend(r.extra.iter().cloned());
        d
    }

    fn task_id_var(&self) -> &'static str {
        "SGE_TASK_ID"
    }

    fn templates(&self) -> &'static [(&'static str, &'static str)] {
        TEMPLATES
    }

    fn templates_subdir(&self) -> Option<&'static str> {
        None
    }

    fn mails_from_jobs(&self) -> bool {
        true
    }

    fn check_queue(&self, q: &str) -> std::result::Result<(), String> {
        if is_queue(q) {
            Ok(())
        } else {
            Err(format!(
                "`{}` is not a queue name (letters, digits, _ . - @)",
                lit(q)
            ))
        }
    }

    fn check_extra_directive(&self, d: &str, _array_job: bool) -> std::result::Result<(), String> {
        let flag = d.split_whitespace().next().unwrap_or("");
        let flag_ok = flag.len() > 1
            && flag.starts_with('-')
            && flag[1..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        // qsub reads every option on a `#$` line, so look at every word, not
        // only the first: `-m ea -o /x` would silently replace hecjob's -o.
        let reserved = d
            .split_whitespace()
            .find(|w| RESERVED_DIRECTIVES.contains(w));
        // Every word, not only the first: qsub reads `-m ea; touch x` as
        // arguments `ea;`, `touch`, `x`, which is never what was meant.
        let odd_word = d.split_whitespace().find(|w| {
            !w.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.@,:=/+%*".contains(c))
        });
        if !flag_ok {
            Err(format!(
                "expected a qsub option such as `-M me@example.org`, got `{d}`"
            ))
        } else if let Some(r) = reserved {
            Err(format!(
                "`{r}` is set by hecjob itself; use the config key for it instead"
            ))
        } else if let Some(w) = odd_word {
            Err(format!(
                "`{w}` in `{d}` is not a plain qsub argument (letters, digits and - _ . @ , : = / + % *); qsub reads this line, not a shell, so `;` `|` `$` quotes and the like only garble it"
            ))
        } else {
            Ok(())
        }
    }

    fn is_time(&self, s: &str) -> bool {
        is_hms(s)
    }

    fn parse_time(&self, s: &str) -> Option<u64> {
        is_hms(s).then(|| parse_hms(s)).flatten()
    }

    fn time_expected(&self, example: &str, got: &str) -> String {
        format!("expected HH:MM:SS (e.g. {example}), got `{}`", lit(got))
    }

    fn format_time(&self, secs: u64) -> String {
        format_hms(secs)
    }

    fn format_memory(&self, bytes: u64) -> String {
        format_memory(bytes)
    }

    fn check_soft_limit(&self, _: &str, _: &str, _: u64, _: u64) -> Option<String> {
        None
    }

    fn gpu_types(&self) -> bool {
        false
    }

    fn submit_command(&self, job: &JobRequest) -> CommandLine {
        qsub_command(job)
    }

    fn cancel_command(&self, ids: &[JobId]) -> CommandLine {
        qdel_command(ids)
    }

    /// `-hold_jid` waits for the job's end whatever its exit status (but 100,
    /// which holds the chain on purpose).
    fn after_any(&self, jobs: &[u64]) -> Vec<String> {
        let ids: Vec<String> = jobs.iter().map(u64::to_string).collect();
        vec!["-hold_jid".into(), ids.join(",")]
    }

    /// `-l h_vmem`, `-l h_rt` (and the soft `s_rt` below it, by the config's
    /// rule) and `-t` rewritten in place: a `-l` given on qsub's command line
    /// instead would leave the script's own in the job's resource list too.
    fn resubmit_script(
        &self,
        script: &str,
        tasks: TaskRange,
        memory: Option<u64>,
        time: Option<u64>,
    ) -> std::result::Result<String, String> {
        let mut rewrites = vec![("#$ -t ", format!("#$ -t {}", range_text(tasks)))];
        if let Some(bytes) = memory {
            rewrites.push((
                "#$ -l h_vmem=",
                format!("#$ -l h_vmem={}", format_memory(bytes)),
            ));
        }
        if let Some(secs) = time {
            rewrites.push(("#$ -l h_rt=", format!("#$ -l h_rt={}", format_hms(secs))));
            if script.lines().any(|l| l.starts_with("#$ -l s_rt=")) {
                let soft = secs
                    .saturating_sub(crate::scheduler::resources::soft_margin(secs))
                    .max(1);
                rewrites.push(("#$ -l s_rt=", format!("#$ -l s_rt={}", format_hms(soft))));
            }
        }
        rewrite_directives(script, &rewrites)
    }

    fn accounting_command(&self, program: Option<&Path>, job: u64) -> String {
        let p = program.map_or_else(|| "qacct".to_string(), |p| p.display().to_string());
        format!("{p} -j {job}")
    }

    fn list_own_jobs(&self) -> &'static str {
        super::LIST_OWN_JOBS
    }

    fn remove_one(&self) -> &'static str {
        "qdel ID"
    }

    fn words(&self) -> AccountingWords {
        GRID_ENGINE
    }

    fn inspect(&self, job: &JobRequest) -> Result<(String, Option<TaskRange>)> {
        let d = request_directives(job)?;
        Ok((display_name(job), d.tasks))
    }

    fn client(&self, purpose: Purpose) -> Result<Box<dyn Scheduler>> {
        Ok(match purpose {
            Purpose::Submit => Box::new(GridEngine::new()?),
            Purpose::Query | Purpose::DryRun | Purpose::Local { .. } => {
                Box::new(GridEngine::for_queries()?)
            }
        })
    }

    fn accounting_client(&self, program: &Path) -> Result<Box<dyn Scheduler>> {
        Ok(Box::new(GridEngine::with_programs(
            Programs {
                qacct: Some(program.to_path_buf()),
                ..Programs::default()
            },
            command::timeout_from_env()?,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRAIN: &str = "#!/bin/bash\n#$ -N x-train\n#$ -l h_vmem=40G\n#$ -l h_rt=02:00:00\n\
                         #$ -l s_rt=01:50:00\n#$ -l ngpus=1\n#$ -t 1-6\n#$ -tc 3\necho run\n";

    #[test]
    fn a_resubmission_rewrites_only_the_range_memory_and_limits() {
        let tasks = TaskRange::new(3, 11, 4).unwrap();
        let out = GridEngineDialect
            .resubmit_script(TRAIN, tasks, Some(60 << 30), Some(4 * 3600))
            .unwrap();
        assert_eq!(
            out,
            "#!/bin/bash\n#$ -N x-train\n#$ -l h_vmem=60G\n#$ -l h_rt=04:00:00\n\
             #$ -l s_rt=03:50:00\n#$ -l ngpus=1\n#$ -t 3-11:4\n#$ -tc 3\necho run\n"
        );
        // Nothing raised: only the range changes.
        let one = GridEngineDialect
            .resubmit_script(TRAIN, TaskRange::new(5, 5, 1).unwrap(), None, None)
            .unwrap();
        assert!(one.contains("\n#$ -t 5\n"), "{one}");
        assert!(
            one.contains("h_vmem=40G") && one.contains("h_rt=02:00:00"),
            "{one}"
        );
        // A script without the directive to raise says so.
        let no_vmem = TRAIN.replace("#$ -l h_vmem=40G\n", "");
        let e = GridEngineDialect
            .resubmit_script(&no_vmem, tasks, Some(1 << 30), None)
            .unwrap_err();
        assert_eq!(e, "the script has no `#$ -l h_vmem=` line to rewrite");
    }

    #[test]
    fn memory_in_the_largest_exact_unit() {
        assert_eq!(format_memory(40 << 30), "40G");
        assert_eq!(format_memory(1536 << 20), "1536M");
        assert_eq!(format_memory(100), "100");
    }

    #[test]
    fn time_limits_are_hours_minutes_seconds_only() {
        assert_eq!(DIALECT.parse_time("01:30:00"), Some(5400));
        assert_eq!(
            DIALECT.parse_time("30"),
            None,
            "a bare number is seconds to qsub"
        );
        assert_eq!(DIALECT.parse_time("1-00:00:00"), None);
        assert_eq!(DIALECT.format_time(90000), "25:00:00");
    }
}
