//! The `#$` directives of a job script, as far as running it outside Grid Engine
//! needs them: name (-N), logs (-o, -e, -j), array range (-t), working directory
//! (-cwd, -wd). Everything else (-q, -l, -notify, …) is kept verbatim but unused.

use crate::jobdir::job_id::TaskRange;
use crate::util::error::{Error, Result};
use std::path::Path;

/// Options that take no argument; every other option takes one (`-pe` takes
/// two, `-now y|n` one).
const FLAGS: &[&str] = &["-cwd", "-notify", "-V", "-h", "-terse", "-clear", "-verify"];

/// How many arguments follow an option: none for a flag, two for `-pe`.
fn arg_count(opt: &str) -> usize {
    if FLAGS.contains(&opt) {
        0
    } else if opt == "-pe" {
        2
    } else {
        1
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directives {
    pub name: Option<String>,
    pub stdout: Option<String>,
    pub stderr: Option<String>,
    /// `-j y`: stderr goes into the stdout file.
    pub join: bool,
    pub tasks: Option<TaskRange>,
    pub cwd: bool,
    pub wd: Option<String>,
    pub shell: Option<String>,
    /// Every option in order, `(option, arguments)`.
    pub all: Vec<(String, Vec<String>)>,
}

impl Directives {
    pub fn from_file(path: &Path) -> Result<Directives> {
        let text = crate::util::fsutil::read_to_string(path, "reading job script")?;
        Directives::parse(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
    }

    /// Parse a script's `#$` lines (Grid Engine reads them anywhere in the script).
    pub fn parse(script: &str) -> std::result::Result<Directives, String> {
        let mut words = Vec::new();
        for (i, line) in script.lines().enumerate() {
            if let Some(rest) = line.strip_prefix("#$") {
                let parsed = split_words(rest).map_err(|e| format!("line {}: {e}", i + 1))?;
                words.extend(parsed.into_iter().map(|w| (i + 1, w)));
            }
        }
        let mut d = Directives::default();
        let mut it = words.into_iter();
        while let Some((line, opt)) = it.next() {
            if !opt.starts_with('-') {
                return Err(format!(
                    "line {line}: expected an option after `#$`, found {opt:?}"
                ));
            }
            let nargs = arg_count(&opt);
            let mut args = Vec::with_capacity(nargs);
            for _ in 0..nargs {
                match it.next() {
                    Some((_, a)) => args.push(a),
                    None => return Err(format!("line {line}: option {opt} needs an argument")),
                }
            }
            d.apply(&opt, &args)
                .map_err(|e| format!("line {line}: {opt}: {e}"))?;
            d.all.push((opt, args));
        }
        Ok(d)
    }

    /// Apply command-line options given to the submission on top of the script's own,
    /// as qsub does (command line wins).
    pub fn apply_options(&mut self, options: &[String]) -> std::result::Result<(), String> {
        let mut it = options.iter();
        while let Some(opt) = it.next() {
            if !opt.starts_with('-') {
                return Err(format!("expected an option, found {opt:?}"));
            }
            let nargs = arg_count(opt);
            let args: Vec<String> = it.by_ref().take(nargs).cloned().collect();
            if args.len() != nargs {
                return Err(format!("option {opt} needs an argument"));
            }
            self.apply(opt, &args)?;
            self.all.push((opt.clone(), args));
        }
        Ok(())
    }

    fn apply(&mut self, opt: &str, args: &[String]) -> std::result::Result<(), String> {
        let arg = || args.first().cloned().unwrap_or_default();
        match opt {
            "-N" => self.name = Some(arg()),
            "-o" => self.stdout = Some(arg()),
            "-e" => self.stderr = Some(arg()),
            "-j" => self.join = matches!(arg().to_ascii_lowercase().as_str(), "y" | "yes" | "true"),
            "-t" => {
                self.tasks = Some(TaskRange::parse(&arg()).ok_or_else(|| {
                    format!("bad task range {:?} (expected n, n-m or n-m:s)", arg())
                })?)
            }
            "-cwd" => self.cwd = true,
            "-wd" => self.wd = Some(arg()),
            "-S" => self.shell = Some(arg()),
            _ => {}
        }
        Ok(())
    }
}

/// Split a directive line into words: blanks separate, `"…"` and `'…'` group, and a
/// `#` after a blank starts a comment.
fn split_words(s: &str) -> std::result::Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None => match c {
                '"' | '\'' => {
                    quote = Some(c);
                    in_word = true;
                }
                '#' if !in_word => break,
                c if c.is_whitespace() => {
                    if in_word {
                        out.push(std::mem::take(&mut cur));
                        in_word = false;
                    }
                }
                c => {
                    cur.push(c);
                    in_word = true;
                }
            },
        }
    }
    if quote.is_some() {
        return Err("unterminated quote".into());
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRAIN: &str = "#!/bin/bash\n#$ -S /bin/bash\n#$ -q short\n#$ -l ngpus=1 -l ncpus=4\n#$ -l h_vmem=40G -l h_rt=00:25:00\n#$ -N run-transformer-model\n#$ -cwd\n#$ -o logs/ -e logs/\n#$ -notify\n#$ -t 1-4\nsource /etc/profile\n# $ not a directive\nexec hecjob train --task \"$SGE_TASK_ID\"\n";

    #[test]
    fn hec_style_train_script() {
        let d = Directives::parse(TRAIN).unwrap();
        assert_eq!(d.name.as_deref(), Some("run-transformer-model"));
        assert_eq!(d.stdout.as_deref(), Some("logs/"));
        assert_eq!(d.stderr.as_deref(), Some("logs/"));
        assert!(d.cwd);
        assert!(!d.join);
        assert_eq!(
            d.tasks.unwrap().tasks().collect::<Vec<_>>(),
            vec![1, 2, 3, 4]
        );
        assert_eq!(d.shell.as_deref(), Some("/bin/bash"));
        let l: Vec<_> = d.all.iter().filter(|(o, _)| o == "-l").collect();
        assert_eq!(l.len(), 4);
    }

    #[test]
    fn quotes_comments_and_errors() {
        let d = Directives::parse("#$ -N 'my job' # the name\n#$ -j y\n#$ -pe smp 4\n").unwrap();
        assert_eq!(d.name.as_deref(), Some("my job"));
        assert!(d.join);
        assert_eq!(d.all[2], ("-pe".into(), vec!["smp".into(), "4".into()]));
        assert!(Directives::parse("#$ -N\n")
            .unwrap_err()
            .contains("needs an argument"));
        assert!(Directives::parse("#$ -t 0-3\n")
            .unwrap_err()
            .contains("task range"));
        assert!(Directives::parse("#$ oops\n")
            .unwrap_err()
            .contains("line 1"));
    }

    #[test]
    fn command_line_overrides() {
        let mut d = Directives::parse("#$ -N a\n").unwrap();
        d.apply_options(&["-N".into(), "b".into(), "-cwd".into()])
            .unwrap();
        assert_eq!(d.name.as_deref(), Some("b"));
        assert!(d.cwd);
    }
}
