//! `synth-grads`: see `gradscope_cli::synth_grads` for what it computes and how.

use clap::Parser;
use gradscope_cli::synth_grads;
use std::process::ExitCode;

fn main() -> ExitCode {
    gradscope_tool::main_with(synth_grads::Args::parse(), synth_grads::run)
}
