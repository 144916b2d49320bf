//! What holds for the whole library: its version and the number of threads its calls may use.

use std::ffi::{c_char, CStr};

use super::status::{boundary, MaxpoolStatus};

/// The library's version, "MAJOR.MINOR.PATCH": a static string.
#[no_mangle]
pub extern "C" fn maxpool_version() -> *const c_char {
    const VERSION: &CStr =
        match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
            Ok(v) => v,
            Err(_) => panic!("the version has no NUL"),
        };
    VERSION.as_ptr()
}

/// The most threads a pooling call may use: `maxpool_set_num_threads` refuses more, and a larger
/// `MAXPOOL_NUM_THREADS` is ignored.
// cbindgen writes only literals into the header, so this is one, held equal to the library's by the compiler.
pub const MAXPOOL_MAX_THREADS: usize = 1024;
const _: () = assert!(MAXPOOL_MAX_THREADS == maxpool::MAX_THREADS);

/// Sets how many threads pooling calls may use, at most `MAXPOOL_MAX_THREADS`; 0 restores the default: the
/// `MAXPOOL_NUM_THREADS` environment variable when it is a whole number from 1 to `MAXPOOL_MAX_THREADS` (any other
/// value is ignored), else all cores (at most `MAXPOOL_MAX_THREADS`). Takes effect for calls that start
/// afterwards. A count above `MAXPOOL_MAX_THREADS` gives `MAXPOOL_STATUS_INVALID_PARAMS` and leaves the setting as
/// it was.
#[no_mangle]
pub extern "C" fn maxpool_set_num_threads(threads: usize) -> MaxpoolStatus {
    boundary(|| Ok(maxpool::set_num_threads(threads)?))
}
