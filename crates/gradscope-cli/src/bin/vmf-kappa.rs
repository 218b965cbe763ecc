//! `vmf-kappa`: see `gradscope_cli::vmf_kappa` for what it computes and how.

use clap::Parser;
use gradscope_cli::vmf_kappa;
use std::process::ExitCode;

fn main() -> ExitCode {
    gradscope_tool::main_with(vmf_kappa::Args::parse(), vmf_kappa::run)
}
