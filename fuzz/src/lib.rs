//! The fuzz targets' harnesses. They live in this library, and each target in `fuzz_targets/` only hands its
//! input to one of them, so that the library's generic code (every element type, backend and kernel) is
//! instantiated and optimised once for the three targets, not once in each: a third of the build.

#[allow(dead_code)]
mod common;

// The C ABI's own source, compiled in here: the crate is a cdylib/staticlib named like the `maxpool` crate it
// wraps, so it cannot also be a Rust dependency.
#[path = "../../crates/capi/src/lib.rs"]
#[allow(dead_code)]
mod maxpool_capi;

// The command's `.npy` header check, as it is. (The command reads big-endian files too; the npy target leaves
// that to ndarray-npy.)
#[allow(dead_code)]
#[path = "../../crates/cli/src/npy.rs"]
mod npy;

pub mod c_api;
pub mod npy_file;
pub mod rust_api;
