//! How many threads pooling calls may use.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use crate::error::Result;

/// The environment variable that sets the default thread count, read once per process.
pub const NUM_THREADS_ENV: &str = "MAXPOOL_NUM_THREADS";

/// 0 means "the default".
static REQUESTED: AtomicUsize = AtomicUsize::new(0);

/// Sets how many threads pooling calls may use; 0 restores the default: `MAXPOOL_NUM_THREADS` when it is a
/// positive integer, else every core. Calls that start afterwards follow it; calls already running are unaffected.
pub fn set_num_threads(threads: usize) -> Result<()> {
    REQUESTED.store(threads, Ordering::Relaxed);
    Ok(())
}

/// The number of threads a pooling call starting now may use, at least 1.
pub fn num_threads() -> usize {
    match REQUESTED.load(Ordering::Relaxed) {
        0 => default_threads(),
        n => n,
    }
}

fn default_threads() -> usize {
    static DEFAULT: OnceLock<usize> = OnceLock::new();
    *DEFAULT.get_or_init(|| {
        std::env::var(NUM_THREADS_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    })
}
