//! `plot`: see `gradscope_cli::plot` for what it draws.

use gradscope_cli::plot;
use std::process::ExitCode;

fn main() -> ExitCode {
    gradscope_tool::main_with(gradscope_tool::parse::<plot::Args>(), plot::run)
}
