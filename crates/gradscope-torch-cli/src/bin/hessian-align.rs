//! `hessian-align`: see `gradscope_torch_cli::hessian_align` for what it does and how.

use gradscope_torch_cli::hessian_align;
use std::process::ExitCode;

fn main() -> ExitCode {
    gradscope_torch::device::relaunch_with_runtime_settings();
    gradscope_tool::main_with(
        gradscope_tool::parse::<hessian_align::Args>(),
        hessian_align::run,
    )
}
