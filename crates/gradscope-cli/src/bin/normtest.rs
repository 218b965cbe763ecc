//! `normtest`: see `gradscope_cli::normtest` for what it computes and how.

use clap::Parser;
use gradscope_cli::normtest;
use std::process::ExitCode;

fn main() -> ExitCode {
    gradscope_tool::main_with(normtest::Args::parse(), normtest::run)
}
