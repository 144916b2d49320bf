//! The `rust_api` target: see `src/rust_api.rs`.

#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| maxpool_fuzz::rust_api::run(bytes));
