//! `weight-spectra`: see `gradscope_cli::weight_spectra` for what it computes and how.

use clap::Parser;
use gradscope_cli::weight_spectra;
use std::process::ExitCode;

fn main() -> ExitCode {
    gradscope_tool::main_with(weight_spectra::Args::parse(), weight_spectra::run)
}
