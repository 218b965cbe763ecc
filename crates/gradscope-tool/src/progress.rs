//! Progress bars on stderr for work that takes more than a second.

/// A progress bar on stderr, hidden when stderr is not a terminal (indicatif's own
/// check); `len` None draws a spinner with a count.
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
