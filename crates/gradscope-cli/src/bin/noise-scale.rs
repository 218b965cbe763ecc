//! `noise-scale`: see `gradscope_cli::noise_scale` for what it computes and how.

use gradscope_cli::noise_scale;
use std::process::ExitCode;

fn main() -> ExitCode {
    gradscope_tool::main_with(
        gradscope_tool::parse::<noise_scale::Args>(),
        noise_scale::run,
    )
}
