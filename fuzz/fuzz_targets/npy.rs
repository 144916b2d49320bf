//! The command's `.npy` reader: `maxpool pool FILE`, run as the shell runs it, on whatever bytes the fuzzer
//! makes of a file. It must pool the file or refuse it with exit status 1 or 2, never panic (101) or abort, and
//! never allocate more than the file's own size suggests (libFuzzer's -malloc_limit_mb catches that). The first
//! byte picks the options; the rest is the file.

#![no_main]

use std::ffi::OsString;
use std::process::ExitCode;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Some((&options, file)) = bytes.split_first() else {
        return;
    };
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(|| tempfile::tempdir().expect("a scratch directory"));
    let input = dir.path().join("input.npy");
    std::fs::write(&input, file).expect("writing the input");
    let kernel = (1 + options % 4).to_string();
    let mut args: Vec<OsString> = ["maxpool", "pool", "--kernel", &kernel, "-o"]
        .iter()
        .map(OsString::from)
        .collect();
    args.push(dir.path().join("out").into());
    args.push(input.into());
    if options & 0x10 != 0 {
        args.push("--multiplier".into());
    }
    match (options >> 5) & 3 {
        1 => args.extend(["--layout".into(), "nchw".into()]),
        2 => args.extend(["--layout".into(), "nhwc".into()]),
        _ => {}
    }
    let status = maxpool_cli::main_with(args);
    assert!(
        status != ExitCode::from(101),
        "maxpool pool panicked on this file"
    );
});
