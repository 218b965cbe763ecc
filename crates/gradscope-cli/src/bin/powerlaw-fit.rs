//! `powerlaw-fit`: see `gradscope_cli::powerlaw_fit` for what it computes and how.

use clap::Parser;
use gradscope_cli::powerlaw_fit;
use std::process::ExitCode;

fn main() -> ExitCode {
    gradscope_tool::main_with(powerlaw_fit::Args::parse(), powerlaw_fit::run)
}
