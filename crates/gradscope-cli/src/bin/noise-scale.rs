//! `noise-scale`: see `gradscope_cli::noise_scale` for what it computes and how.

use clap::Parser;
use gradscope_cli::noise_scale;
use std::process::ExitCode;

fn main() -> ExitCode {
    gradscope_tool::main_with(noise_scale::Args::parse(), noise_scale::run)
}
