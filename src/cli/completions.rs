//! `hecjob completions bash|zsh|fish`: a completion script for the shell,
//! generated from the same clap definitions the binary parses with.

use crate::util::error::{Error, Result};
use clap::CommandFactory;
use clap_complete::Shell;
use std::io::Write;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "bash: hecjob completions bash > ~/.local/share/bash-completion/completions/hecjob\n\
zsh:  hecjob completions zsh > ~/.zfunc/_hecjob   (with fpath+=~/.zfunc before compinit)\n\
fish: hecjob completions fish > ~/.config/fish/completions/hecjob.fish"
)]
pub struct CompletionsArgs {
    /// The shell to write completions for.
    #[arg(value_enum)]
    pub shell: CompletionShell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

/// The completion script as bytes.
pub fn script(shell: CompletionShell) -> Vec<u8> {
    let shell = match shell {
        CompletionShell::Bash => Shell::Bash,
        CompletionShell::Zsh => Shell::Zsh,
        CompletionShell::Fish => Shell::Fish,
    };
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut super::Cli::command(), "hecjob", &mut out);
    out
}

pub fn run(a: &CompletionsArgs) -> Result<()> {
    std::io::stdout()
        .write_all(&script(a.shell))
        .map_err(|e| Error::io("writing", "<stdout>", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each script names every subcommand and is valid for its shell where the
    /// shell is installed (bash always is here).
    #[test]
    fn scripts_name_the_subcommands() {
        for shell in [
            CompletionShell::Bash,
            CompletionShell::Zsh,
            CompletionShell::Fish,
        ] {
            let s = String::from_utf8(script(shell)).unwrap();
            for sub in [
                "validate",
                "render",
                "submit",
                "status",
                "report",
                "completions",
            ] {
                assert!(s.contains(sub), "{shell:?} lacks {sub}");
            }
        }
        let bash = script(CompletionShell::Bash);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("hecjob.bash");
        std::fs::write(&p, bash).unwrap();
        let ok = std::process::Command::new("bash")
            .arg("-n")
            .arg(&p)
            .status()
            .unwrap()
            .success();
        assert!(ok, "bash -n rejects the bash completion script");
    }
}
