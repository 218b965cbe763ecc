//! `vmf-null`: see `gradscope_cli::vmf_null` for what it computes and how.

use clap::Parser;
use gradscope_cli::vmf_null;
use std::process::ExitCode;

fn main() -> ExitCode {
    gradscope_tool::main_with(vmf_null::Args::parse(), vmf_null::run)
}
