//! `interp-loss`: see `gradscope_torch_cli::interp_loss` for what it does and how.

use gradscope_torch_cli::interp_loss;
use std::process::ExitCode;

fn main() -> ExitCode {
    gradscope_torch::device::relaunch_with_runtime_settings();
    gradscope_tool::main_with(
        gradscope_tool::parse::<interp_loss::Args>(),
        interp_loss::run,
    )
}
