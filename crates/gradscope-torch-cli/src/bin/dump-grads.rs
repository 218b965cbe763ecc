//! `dump-grads`: see `gradscope_torch_cli::dump_grads` for what it writes and how.

use clap::Parser;
use gradscope_cli::app;
use gradscope_torch_cli::dump_grads;
use std::process::ExitCode;

fn main() -> ExitCode {
    gradscope_torch::device::relaunch_with_runtime_settings();
    app::main_with(dump_grads::Args::parse(), dump_grads::run)
}
