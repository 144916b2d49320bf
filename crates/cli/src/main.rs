//! `maxpool`: pool `.npy` files from the shell, show the notebook's examples, check the backends against the
//! reference, and time them beside a memcpy. The code is the `maxpool_cli` library's.

use std::process::ExitCode;

fn main() -> ExitCode {
    // A panic would be a bug; report it in one line like any other failure instead of with a backtrace.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("maxpool: internal error (please report it): {info}");
    }));
    maxpool_cli::main_with(std::env::args_os())
}
