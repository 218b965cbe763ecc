//! `vmf-kappa`: see `gradscope_cli::vmf_kappa` for what it computes and how.

use gradscope_cli::vmf_kappa;
use std::process::ExitCode;

fn main() -> ExitCode {
    gradscope_tool::main_with(gradscope_tool::parse::<vmf_kappa::Args>(), vmf_kappa::run)
}
