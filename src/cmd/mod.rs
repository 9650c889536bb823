//! The command layer: every subcommand's clap arguments and the code that runs
//! it and prints. Domain modules (config, render, scheduler, report, …) return
//! values and errors and print nothing of their own.

pub mod jobs;
