//! `train`: see `gradscope_torch_cli::train` for what it does and how.

use gradscope_torch_cli::train;
use std::process::ExitCode;

fn main() -> ExitCode {
    gradscope_torch::device::relaunch_with_runtime_settings();
    gradscope_tool::main_with(gradscope_tool::parse::<train::Args>(), train::run)
}
