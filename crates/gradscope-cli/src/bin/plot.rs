//! `plot`: see `gradscope_cli::plot` for what it draws.

use clap::Parser;
use gradscope_cli::plot;
use std::process::ExitCode;

fn main() -> ExitCode {
    gradscope_tool::main_with(plot::Args::parse(), plot::run)
}
