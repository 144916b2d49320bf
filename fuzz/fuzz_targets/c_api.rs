//! The `c_api` target: see `src/c_api.rs`.

#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| maxpool_fuzz::c_api::run(bytes));
