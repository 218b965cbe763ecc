//! `powerlaw-fit`: see `gradscope_cli::powerlaw_fit` for what it computes and how.

use gradscope_cli::powerlaw_fit;
use std::process::ExitCode;

fn main() -> ExitCode {
    gradscope_tool::main_with(
        gradscope_tool::parse::<powerlaw_fit::Args>(),
        powerlaw_fit::run,
    )
}
