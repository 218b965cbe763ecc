//! `dump-grads`: see `gradscope_torch_cli::dump_grads` for what it writes and how.

use gradscope_torch_cli::dump_grads;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = gradscope_tool::parse::<dump_grads::Args>();
    if args.single_threaded_libtorch() {
        gradscope_torch::device::apply_malloc_settings();
    } else {
        gradscope_torch::device::relaunch_with_runtime_settings();
    }
    gradscope_tool::main_with(args, dump_grads::run)
}
