//! What every binary does around its `run`: exit codes and the error line.
//!
//! Exit codes: 0 on success (and when a downstream reader closes the pipe early, as
//! `head` does: a broken pipe is not an error for a Unix filter), 1 on any failure with one
//! line `error: <what failed>: <why>` on stderr, 2 on usage errors: clap's own, and
//! [`UsageError`] for whatever else the command line alone shows to be wrong (a value out
//! of its range, a malformed list or range, options that contradict each other). A value
//! that is wrong only for the data (a batch larger than the dataset, a layer the file
//! lacks) is found by reading the input and exits 1 like any other bad input.

use crate::console;
use std::process::ExitCode;

/// A command line that cannot be honoured (a value out of its range, options that
/// contradict each other): exit code 2, like clap's errors.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Bails out of a `run` with a [`UsageError`] (exit code 2).
#[macro_export]
macro_rules! usage_bail {
    ($($arg:tt)*) => { return Err($crate::exit::UsageError(format!($($arg)*)).into()) };
}

/// Marks an error found in the command line alone (the parse of a flag's value, a range
/// check) as a usage error, exit code 2, keeping its one line.
pub fn usage_error(e: anyhow::Error) -> anyhow::Error {
    if e.chain().any(|c| c.is::<UsageError>()) {
        e
    } else {
        UsageError(one_line(&e)).into()
    }
}

/// Parses the command line as clap's `Parser::parse` does, `--help` and `--version`
/// included, except that an error is one line, like every other error of the tools:
/// clap's message with its continuation lines joined (the missing arguments, a tip) and
/// without the usage block, then exit code 2.
pub fn parse<A: clap::Parser>() -> A {
    match A::try_parse() {
        Ok(args) => args,
        Err(e) => {
            use clap::error::ErrorKind;
            match e.kind() {
                ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
                _ => {
                    console::err(&format!("{}\n", clap_one_line(&e.render().to_string())));
                    std::process::exit(2)
                }
            }
        }
    }
}

/// clap's rendered error on one line: continuation lines joined to the first (after a
/// colon by a space, a `tip:` by "; ", list items by ", "), the usage block and the
/// pointer to `--help` replaced by "(see --help)".
fn clap_one_line(rendered: &str) -> String {
    let mut line = String::new();
    for part in rendered.lines().map(str::trim) {
        if part.starts_with("Usage:") || part.starts_with("For more information") {
            break;
        }
        if part.is_empty() {
            continue;
        }
        if !line.is_empty() {
            line.push_str(if line.ends_with(':') {
                " "
            } else if part.starts_with("tip:") {
                "; "
            } else {
                ", "
            });
        }
        line.push_str(part);
    }
    line.push_str(" (see --help)");
    line
}

/// Runs a tool's `run` with its parsed arguments and maps the result to an exit code.
pub fn main_with<A>(args: A, run: fn(A) -> anyhow::Result<()>) -> ExitCode {
    code_of(run(args))
}

/// The exit code of a run's result, writing the error line when it failed.
pub fn code_of(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            console::err(&format!("error: {}\n", one_line(&e)));
            if e.chain().any(|c| c.is::<UsageError>()) {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

/// The error and its causes on one line; a cause already said (word for word, or as the
/// tail of an earlier part) is left out, so contexts never repeat themselves.
pub fn one_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let s = without_libtorch_trace(&cause.to_string()).replace('\n', " ");
        if !parts.iter().any(|p| p.contains(&s)) {
            // "cannot write X" followed by "cannot write X: why": keep the longer one.
            if let Some(last) = parts.last_mut() {
                if s.starts_with(last.as_str()) {
                    *last = s;
                    continue;
                }
            }
            parts.push(s);
        }
    }
    parts.join(": ")
}

/// A libtorch error without what only its developers read: the C++ stack that follows
/// "Exception raised from" (kilobytes of frames), and of a TorchScript interpreter's
/// failure the two serialized tracebacks, of which the last line (`RuntimeError: mat1 and
/// mat2 shapes cannot be multiplied (2x6 and 5x7)`) says what went wrong.
pub fn without_libtorch_trace(s: &str) -> String {
    let s = match s.find("Exception raised from") {
        Some(i) => s[..i].trim_end(),
        None => s,
    };
    const INTERPRETER: &str = "The following operation failed in the TorchScript interpreter.";
    match s.find(INTERPRETER) {
        Some(i) if s.contains("Traceback of TorchScript") => {
            let last = s.lines().rev().map(str::trim).find(|l| !l.is_empty());
            format!(
                "{}the module's forward failed: {}",
                &s[..i],
                last.unwrap_or_default()
            )
        }
        _ => s.to_string(),
    }
}

/// Whether the failure is a closed pipe on the way to a reader.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            return io.kind() == std::io::ErrorKind::BrokenPipe;
        }
        if let Some(arrow::error::ArrowError::IoError(_, io)) =
            c.downcast_ref::<arrow::error::ArrowError>()
        {
            return io.kind() == std::io::ErrorKind::BrokenPipe;
        }
        c.to_string().contains("Broken pipe")
    })
}

/// The tool's name and version for provenance records.
pub fn tool_name(name: &str) -> String {
    format!("{name} {}", env!("CARGO_PKG_VERSION"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn contexts_do_not_repeat() {
        let e: anyhow::Result<()> = Err(anyhow::anyhow!(
            "cannot write o.csv: directory d does not exist"
        ))
        .context("cannot write o.csv");
        assert_eq!(
            one_line(&e.unwrap_err()),
            "cannot write o.csv: directory d does not exist"
        );
        let io = std::io::Error::from(std::io::ErrorKind::StorageFull);
        let e = anyhow::Error::new(io).context("cannot write to stdout");
        assert!(one_line(&e).starts_with("cannot write to stdout: "));
        assert!(!is_broken_pipe(&e));
        let e = anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::BrokenPipe))
            .context("cannot write to stdout");
        assert!(is_broken_pipe(&e));
    }

    #[test]
    fn clap_errors_become_one_line() {
        // clap 4's renderings of a missing argument and an unknown one.
        let missing = "error: the following required arguments were not provided:\n  --output <OUTPUT>\n  --model <MODEL>\n\nUsage: train --output <OUTPUT> --model <MODEL>\n\nFor more information, try '--help'.\n";
        assert_eq!(
            clap_one_line(missing),
            "error: the following required arguments were not provided: --output <OUTPUT>, --model <MODEL> (see --help)"
        );
        let unknown = "error: unexpected argument '--ouput' found\n\n  tip: a similar argument exists: '--output'\n\nUsage: train --output <OUTPUT>\n\nFor more information, try '--help'.\n";
        assert_eq!(
            clap_one_line(unknown),
            "error: unexpected argument '--ouput' found; tip: a similar argument exists: '--output' (see --help)"
        );
    }

    #[test]
    fn usage_errors_exit_2_with_their_one_line() {
        let parse = "x".parse::<u32>().map_err(anyhow::Error::new);
        let e = parse.context("--shard x/2: shard index \"x\" is not a whole number");
        let e = usage_error(e.unwrap_err());
        assert_eq!(
            e.to_string(),
            "--shard x/2: shard index \"x\" is not a whole number: invalid digit found in string"
        );
        assert_eq!(code_of(Err(e)), ExitCode::from(2));
        // Marking twice, or a context around a usage error, keeps exit 2.
        let e = usage_error(usage_error(anyhow::anyhow!("--alpha 0")));
        assert_eq!(e.to_string(), "--alpha 0");
        assert_eq!(code_of(Err(e.context("k.csv"))), ExitCode::from(2));
        assert_eq!(
            code_of(Err(anyhow::anyhow!("g.parquet: no samples"))),
            ExitCode::from(1)
        );
    }

    #[test]
    fn libtorch_traces_are_left_out() {
        // The shapes of the two messages libtorch 2.x gives (frames and code shortened).
        let load = "Internal torch error: PytorchStreamReader failed reading zip archive: not a ZIP archive. \
            This is an internal miniz error.\nException raised from valid at inline_container.cc:242 \
            (most recent call first):\nframe #0: c10::Error::Error(c10::SourceLocation) + 0x9d\n";
        let e = anyhow::anyhow!(load.to_string()).context("cannot load TorchScript module m.pt");
        assert_eq!(
            one_line(&e),
            "cannot load TorchScript module m.pt: Internal torch error: PytorchStreamReader failed \
             reading zip archive: not a ZIP archive. This is an internal miniz error."
        );
        let forward = "Internal torch error: The following operation failed in the TorchScript interpreter.\n\
            Traceback of TorchScript, serialized code (most recent call last):\n  File \"code/__torch__.py\", line 12\n\
            return torch.linear(input, weight, bias)\n\nTraceback of TorchScript, original code (most recent call last):\n\
            File \"ts.py\", line 7, in forward\nRuntimeError: mat1 and mat2 shapes cannot be multiplied (2x6 and 5x7)\n";
        let e = anyhow::anyhow!(forward.to_string()).context("model m cannot take x");
        assert_eq!(
            one_line(&e),
            "model m cannot take x: Internal torch error: the module's forward failed: \
             RuntimeError: mat1 and mat2 shapes cannot be multiplied (2x6 and 5x7)"
        );
        assert_eq!(without_libtorch_trace("plain"), "plain");
    }

    #[test]
    fn usage_errors_exit_2() {
        let r: anyhow::Result<()> = Err(UsageError("-o - and --json".into()).into());
        assert_eq!(code_of(r), ExitCode::from(2));
        assert_eq!(code_of(Err(anyhow::anyhow!("x"))), ExitCode::from(1));
    }
}
