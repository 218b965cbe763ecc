//! `plot`: see `gradscope_cli::plot` for what it draws.

use clap::Parser;
use gradscope_cli::{app, plot};
use std::process::ExitCode;

fn main() -> ExitCode {
    app::main_with(plot::Args::parse(), plot::run)
}
