//! What every binary does around its `run`: thread pools, exit codes, error lines.
//!
//! Exit codes: 0 on success (and when a downstream reader closes the pipe early, as
//! `head` does: a broken pipe is not an error for a Unix filter), 1 on any failure with one
//! line `error: <what failed>: <why>` on stderr, 2 on usage errors (clap's own).

use std::process::ExitCode;

/// Runs a tool's `run` with its parsed arguments and maps the result to an exit code.
pub fn main_with<A>(args: A, run: fn(A) -> anyhow::Result<()>) -> ExitCode {
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            ExitCode::from(1)
        }
    }
}

/// The error and its causes on one line, each cause once.
pub fn one_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let s = cause.to_string().replace('\n', " ");
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ")
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
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

/// Sizes rayon's global pool: `threads` = 0 means one per core.
pub fn init_threads(threads: usize) {
    if threads > 0 {
        // Fails only if the pool was already built (e.g. twice in tests): harmless.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global();
    }
}

/// The tool's name and version for provenance records.
pub fn tool_name(name: &str) -> String {
    format!("{name} {}", env!("CARGO_PKG_VERSION"))
}

/// A progress bar on stderr, hidden when stderr is not a terminal.
pub fn progress(len: Option<u64>, what: &str) -> indicatif::ProgressBar {
    let bar = match len {
        Some(n) => indicatif::ProgressBar::new(n),
        None => indicatif::ProgressBar::new_spinner(),
    };
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr_with_hz(4));
    let style = match len {
        Some(_) => indicatif::ProgressStyle::with_template(
            "{prefix} [{bar:30}] {pos}/{len} {per_sec} eta {eta}",
        ),
        None => indicatif::ProgressStyle::with_template("{prefix} {spinner} {pos} {per_sec}"),
    };
    if let Ok(style) = style {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(what.to_string());
    bar
}
