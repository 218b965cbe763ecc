//! `normtest`: see `gradscope_cli::normtest` for what it computes and how.

use gradscope_cli::normtest;
use std::process::ExitCode;

fn main() -> ExitCode {
    gradscope_tool::main_with(gradscope_tool::parse::<normtest::Args>(), normtest::run)
}
