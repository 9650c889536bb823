//! The one place that knows every scheduler (in the style of submitit's
//! `auto`): [`SchedulerKind`] names them, [`SchedulerKind::dialect`] gives each
//! one's [`Dialect`], and [`open`] is the one factory every command uses to
//! reach a scheduler (submit, status, check, report, `run --local`; tests
//! build their back ends directly). A third scheduler adds a variant here and
//! a folder beside `sge/` and `slurm/` (docs/scheduler-backend.md).

use super::backend::Scheduler;
use super::dialect::{Dialect, Purpose};
use super::dry_run::DryRun;
use super::local::Local;
use crate::util::error::Result;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The scheduler a config writes for (`cluster.scheduler`) and a submission
/// record names (`executor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SchedulerKind {
    /// Son of Grid Engine (`#$` directives, qsub/qstat/qacct).
    #[default]
    Sge,
    /// Slurm (`#SBATCH` directives, sbatch/squeue/sacct).
    Slurm,
}

impl SchedulerKind {
    pub const ALL: [SchedulerKind; 2] = [SchedulerKind::Sge, SchedulerKind::Slurm];

    /// Its dialect: every rule hecjob follows when it writes for this scheduler.
    pub fn dialect(self) -> &'static dyn Dialect {
        match self {
            SchedulerKind::Sge => &super::sge::dialect::DIALECT,
            SchedulerKind::Slurm => &super::slurm::dialect::DIALECT,
        }
    }

    /// The scheduler's name as users know it, for messages.
    pub fn display_name(self) -> &'static str {
        self.dialect().display_name()
    }

    /// The name a submission record holds (`sge`, `slurm`).
    pub fn as_str(self) -> &'static str {
        self.dialect().name()
    }

    /// The scheduler a submission record's `executor` names; `None` for a run
    /// no scheduler took (`local`, `dry-run`).
    pub fn from_record(name: &str) -> Option<SchedulerKind> {
        SchedulerKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// A scheduler's client for a purpose: the real one for submitting (which
/// fails at once, with what to do, where its submit client is missing) or for
/// queries, a dry run that builds the same commands and submits nothing, or
/// the local runner (`run --local`), which reads each script's own directives.
pub fn open(kind: SchedulerKind, purpose: Purpose) -> Result<Box<dyn Scheduler>> {
    match purpose {
        Purpose::DryRun => Ok(Box::new(DryRun::new(kind.dialect()))),
        Purpose::Local { jobs } => {
            let mut local = Local::new();
            local.jobs = jobs;
            Ok(Box::new(local))
        }
        _ => kind.dialect().client(purpose),
    }
}

/// A scheduler's client for queries with `program` as its accounting client,
/// where it has one to replace (`hecjob report --qacct PROGRAM`).
pub fn open_accounting(kind: SchedulerKind, program: &Path) -> Result<Box<dyn Scheduler>> {
    kind.dialect().accounting_client(program)
}

/// A scheduler's accounting captured from a real one (tests/data/), as neutral
/// records: for tests of what is shown from them, outside `scheduler/`.
#[cfg(test)]
pub(crate) fn captured_runs(kind: SchedulerKind, file: &str) -> Vec<super::RunRecord> {
    match kind {
        SchedulerKind::Sge => super::sge::qacct::parse(&super::captured(file))
            .unwrap()
            .iter()
            .map(|r| r.to_neutral())
            .collect(),
        SchedulerKind::Slurm => super::slurm::client::neutral_runs(
            &super::slurm::sacct::parse(&super::slurm::captured(file)).unwrap(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_names_round_trip() {
        for k in SchedulerKind::ALL {
            assert_eq!(SchedulerKind::from_record(k.as_str()), Some(k));
        }
        assert_eq!(SchedulerKind::from_record("local"), None);
        assert_eq!(SchedulerKind::from_record("dry-run"), None);
    }

    #[test]
    fn a_dry_run_is_named_as_such() {
        for k in SchedulerKind::ALL {
            assert_eq!(open(k, Purpose::DryRun).unwrap().name(), "dry-run");
        }
    }
}
