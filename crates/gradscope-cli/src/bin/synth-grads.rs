//! `synth-grads`: see `gradscope_cli::synth_grads` for what it computes and how.

use gradscope_cli::synth_grads;
use std::process::ExitCode;

fn main() -> ExitCode {
    gradscope_tool::main_with(
        gradscope_tool::parse::<synth_grads::Args>(),
        synth_grads::run,
    )
}
