//! `hessian-align`: see `gradscope_torch_cli::hessian_align` for what it does and how.

use clap::Parser;
use gradscope_torch_cli::hessian_align;
use std::process::ExitCode;

fn main() -> ExitCode {
    gradscope_torch::device::relaunch_with_runtime_settings();
    gradscope_tool::main_with(hessian_align::Args::parse(), hessian_align::run)
}
