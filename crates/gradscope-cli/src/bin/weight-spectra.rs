//! `weight-spectra`: see `gradscope_cli::weight_spectra` for what it computes and how.

use gradscope_cli::weight_spectra;
use std::process::ExitCode;

fn main() -> ExitCode {
    gradscope_tool::main_with(
        gradscope_tool::parse::<weight_spectra::Args>(),
        weight_spectra::run,
    )
}
