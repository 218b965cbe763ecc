//! `interp-loss`: see `gradscope_torch_cli::interp_loss` for what it does and how.

use clap::Parser;
use gradscope_torch_cli::interp_loss;
use std::process::ExitCode;

fn main() -> ExitCode {
    gradscope_torch::device::relaunch_with_runtime_settings();
    gradscope_tool::main_with(interp_loss::Args::parse(), interp_loss::run)
}
