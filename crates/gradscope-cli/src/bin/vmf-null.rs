//! `vmf-null`: see `gradscope_cli::vmf_null` for what it computes and how.

use gradscope_cli::vmf_null;
use std::process::ExitCode;

fn main() -> ExitCode {
    gradscope_tool::main_with(gradscope_tool::parse::<vmf_null::Args>(), vmf_null::run)
}
