//! Progress reporting: a bar on a terminal, plain periodic lines otherwise
//! (a scheduler's log files — Grid Engine's `.o`, Slurm's `slurm-%A_%a.out` —
//! are not terminals, and bars there are unreadable).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// A progress sink for a known number of steps.
pub struct Progress {
    bar: Option<ProgressBar>,
    label: String,
    total: u64,
    done: u64,
    last_line: Instant,
    every: Duration,
}

impl Progress {
    /// `label` prefixes the plain lines; `every` spaces them out in logs.
    pub fn new(label: &str, total: u64, every: Duration) -> Self {
        let bar = if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix} [{elapsed_precise}] {wide_bar} {pos}/{len} {msg} ({eta})",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_prefix(label.to_string());
            Some(bar)
        } else {
            None
        };
        Progress {
            bar,
            label: label.to_string(),
            total,
            done: 0,
            last_line: Instant::now(),
            every,
        }
    }

    /// Advance by `n`; `msg` is shown on the bar or in the periodic line.
    pub fn inc(&mut self, n: u64, msg: impl FnOnce() -> String) {
        self.done += n;
        match &self.bar {
            Some(bar) => {
                bar.inc(n);
                bar.set_message(msg());
            }
            None => {
                if self.last_line.elapsed() >= self.every || self.done == self.total {
                    self.last_line = Instant::now();
                    println!("{}: {}/{} {}", self.label, self.done, self.total, msg());
                }
            }
        }
    }

    /// A line that must appear in logs whatever the output is (bar-safe).
    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => println!("{line}"),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
