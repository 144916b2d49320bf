//! The `npy` target: see `src/npy_file.rs`.

#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| maxpool_fuzz::npy_file::run(bytes));
