//! `maxpool`: pool `.npy` files from the shell, show the notebook's examples, check the backends against the
//! reference, and time them beside a memcpy.

mod args;
mod bench;
mod check;
mod demo;
mod npy;
mod pool;

use std::fmt;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// 2-D max pooling with winner indices and multiplier.
#[derive(Parser)]
#[command(name = "maxpool", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Pool the notebook's matrices with every backend and print values, winner indices and multiplier.
    Demo,
    /// Pool a .npy file of 2 (H, W), 3 (planes, H, W) or 4 (N, C, H, W) dimensions, or channels-last.
    #[command(mut_arg("kernel", |a| a.required(true)))]
    Pool(pool::PoolArgs),
    /// Check every backend against the reference implementation on random cases.
    Check(check::CheckArgs),
    /// Time every backend on one workload beside a memcpy of the same bytes.
    Bench(bench::BenchArgs),
}

/// A failure to report: one line, no backtrace.
#[derive(Debug)]
pub struct Failure(pub String);

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Formats a [`Failure`].
#[macro_export]
macro_rules! fail {
    ($($arg:tt)*) => { $crate::Failure(format!($($arg)*)) };
}

/// Prints a line to standard output. When the reader has gone (`maxpool demo | head`), stops quietly as other
/// Unix tools do, instead of failing.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => { $crate::say_line(format_args!($($arg)*)) };
}

#[doc(hidden)]
pub fn say_line(line: fmt::Arguments<'_>) {
    use std::io::Write;
    if let Err(e) = writeln!(std::io::stdout().lock(), "{line}") {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("maxpool: cannot write to standard output: {e}");
        }
        std::process::exit(if e.kind() == std::io::ErrorKind::BrokenPipe {
            0
        } else {
            1
        });
    }
}

/// What a subcommand returns: `Ok(false)` is a clean run that found problems (exit status 1).
pub type Outcome = Result<bool, Failure>;

fn main() -> ExitCode {
    // A panic would be a bug; report it in one line like any other failure instead of with a backtrace.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("maxpool: internal error (please report it): {info}");
    }));
    let cli = Cli::parse();
    let outcome = std::panic::catch_unwind(|| match cli.command {
        Command::Demo => demo::run(),
        Command::Pool(args) => pool::run(&args),
        Command::Check(args) => check::run(&args),
        Command::Bench(args) => bench::run(&args),
    });
    match outcome {
        Ok(Ok(true)) => ExitCode::SUCCESS,
        Ok(Ok(false)) => ExitCode::FAILURE,
        Ok(Err(failure)) => {
            eprintln!("maxpool: {failure}");
            ExitCode::FAILURE
        }
        Err(_) => ExitCode::from(101),
    }
}
