//! The `maxpool` command, run as a user runs it: its outputs, its results against the library's, and what each
//! bad input gets.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use maxpool::ndarray::ArrayD;
use maxpool::technique::with_dtype;
use maxpool::{pool, Backend, DType, Element, Padding, Params, Want};
use ndarray_npy::{ReadNpyError, ReadNpyExt, ReadableElement, WritableElement, WriteNpyExt};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn maxpool() -> Command {
    Command::cargo_bin("maxpool").expect("the maxpool binary")
}

/// Runs the command, expecting failure with exit status 1 and one line on stderr that contains `message`.
fn refuses(args: &[&str], message: &str) {
    let out = maxpool().args(args).output().expect("running maxpool");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{args:?}: status {:?}, stderr {stderr}",
        out.status
    );
    assert_eq!(
        stderr.lines().count(),
        1,
        "{args:?}: not one line: {stderr}"
    );
    assert!(
        stderr.starts_with("maxpool: ") && stderr.contains(message),
        "{args:?}: {stderr}"
    );
    assert!(out.stdout.is_empty(), "{args:?}: wrote to stdout");
}

#[test]
fn demo_shows_the_notebooks_answers() {
    let out = maxpool().arg("demo").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for expected in [
        // The 4×4 matrix: every backend agrees.
        "auto chooses: ",
        "naive, block, lookup, simd:\nvalues:\n[[15, 7],\n [9, 8]]\nwinner indices:\n[[1, 7],\n [8, 15]]",
        // The ragged 5×5: padding never wins.
        "values:\n[[15, 7, 2],\n [9, 8, 4],\n [2, 4, 5]]",
        // The 6×6 sliding window: its winners and multiplier; block says it cannot and who can.
        "winner indices:\n[[12, 13, 15, 15],\n [12, 13, 15, 15],\n [12, 13, 27, 27],\n [30, 27, 27, 35]]",
        "[3, 3, 0, 4, 0, 0]",
        "block (block-reshape): the block backend cannot pool this geometry",
        "naive, lookup, simd:",
    ] {
        assert!(text.contains(expected), "demo output lacks {expected:?}:\n{text}");
    }
}

/// The bytes `maxpool pool` should have written: the library's own result, serialised by the same writer.
fn library_outputs<T: Element + ReadableElement + WritableElement>(
    file: &Path,
    params: &Params,
    backend: Backend,
) -> Option<[Vec<u8>; 3]> {
    let input = match ArrayD::<T>::read_npy(std::fs::File::open(file).unwrap()) {
        Ok(a) => a,
        Err(ReadNpyError::WrongDescriptor(_)) => return None,
        Err(e) => panic!("{}: {e}", file.display()),
    };
    let out = pool(input.view(), params, backend, Want::ALL).unwrap();
    let bytes = |write: &dyn Fn(&mut Vec<u8>)| {
        let mut v = Vec::new();
        write(&mut v);
        v
    };
    Some([
        bytes(&|v| out.values.write_npy(v).unwrap()),
        bytes(&|v| out.indices.as_ref().unwrap().write_npy(v).unwrap()),
        bytes(&|v| out.multiplier.as_ref().unwrap().write_npy(v).unwrap()),
    ])
}

fn expected(file: &Path, params: &Params, backend: Backend) -> [Vec<u8>; 3] {
    DType::ALL
        .iter()
        .find_map(|&d| with_dtype!(d, library_outputs(file, params, backend)))
        .expect("a supported element type")
}

#[test]
fn pool_matches_the_library_for_every_type_order_and_rank() {
    let fixtures = [
        "f32_planes.npy",
        "f64_nchw_fortran.npy",
        "i8_hw.npy",
        "u8_hw_fortran.npy",
        "i16_nchw.npy",
        "u16_planes_fortran.npy",
        "i32_big_endian.npy",
        "i64_notebook.npy",
    ];
    let geometries: [(&[&str], Params); 4] = [
        (&["--kernel", "2"], Params::new(2)),
        (
            &["--kernel", "3", "--stride", "2", "--padding", "1", "--ceil"],
            Params::new(3)
                .with_stride(2)
                .with_padding(1)
                .with_ceil_mode(true),
        ),
        (
            &[
                "--kernel",
                "2,3",
                "--stride",
                "1,2",
                "--padding",
                "0,1,1,0",
                "--dilation",
                "2,1",
            ],
            Params::rect(2, 3)
                .with_stride_hw(1, 2)
                .with_padding_sides(Padding {
                    top: 0,
                    bottom: 1,
                    left: 1,
                    right: 0,
                })
                .with_dilation_hw(2, 1),
        ),
        (
            &["--kernel", "2,1", "--ceil"],
            Params::rect(2, 1).with_ceil_mode(true),
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut pooled = 0;
    for name in fixtures {
        for (flags, params) in &geometries {
            for backend in Backend::CONCRETE.iter().chain([&Backend::Auto]) {
                if backend.supports(params).is_err() {
                    continue;
                }
                let prefix = dir.path().join(format!("{name}-{backend}"));
                let mut cmd = maxpool();
                cmd.arg("pool")
                    .arg(fixture(name))
                    .args(*flags)
                    .args(["--backend", backend.name()]);
                let out = cmd
                    .arg("--output")
                    .arg(&prefix)
                    .arg("--multiplier")
                    .output()
                    .unwrap();
                let stderr = String::from_utf8_lossy(&out.stderr);
                if !out.status.success() {
                    // A geometry too large for a small fixture is refused by the library too.
                    assert!(stderr.contains("no output"), "{name} {flags:?}: {stderr}");
                    continue;
                }
                let want = expected(&fixture(name), params, *backend);
                for (what, want) in ["values", "indices", "multiplier"].iter().zip(want) {
                    let got = std::fs::read(format!("{}.{what}.npy", prefix.display())).unwrap();
                    assert!(
                        got == want,
                        "{name} {flags:?} {backend}: {what} differ from the library's"
                    );
                }
                pooled += 1;
            }
        }
    }
    assert!(pooled >= 60, "only {pooled} runs pooled");
}

#[test]
fn pool_keeps_leading_dimensions_and_writes_only_what_is_asked() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("out");
    let out = maxpool()
        .args([
            "pool",
            fixture("i16_nchw.npy").to_str().unwrap(),
            "--kernel",
            "2",
            "--output",
        ])
        .arg(&prefix)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |what: &str| std::fs::File::open(format!("{}.{what}.npy", prefix.display()));
    let values = ArrayD::<i16>::read_npy(read("values").unwrap()).unwrap();
    let indices = ArrayD::<i64>::read_npy(read("indices").unwrap()).unwrap();
    assert_eq!(values.shape(), &[2, 2, 2, 2]);
    assert_eq!(indices.shape(), &[2, 2, 2, 2]);
    assert!(indices.iter().all(|&i| (0..16).contains(&i)));
    assert!(
        read("multiplier").is_err(),
        "the multiplier was not asked for"
    );

    // The notebook's matrix gives the notebook's answer.
    let out = maxpool()
        .args([
            "pool",
            fixture("i64_notebook.npy").to_str().unwrap(),
            "--kernel",
            "2",
            "-o",
        ])
        .arg(&prefix)
        .output()
        .unwrap();
    assert!(out.status.success());
    let values = ArrayD::<i64>::read_npy(read("values").unwrap()).unwrap();
    let indices = ArrayD::<i64>::read_npy(read("indices").unwrap()).unwrap();
    assert_eq!(values.into_raw_vec_and_offset().0, [15, 7, 9, 8]);
    assert_eq!(indices.into_raw_vec_and_offset().0, [1, 7, 8, 15]);
}

#[test]
fn bad_inputs_get_one_line_and_status_1() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out = out.to_str().unwrap();
    let f = |name: &str| fixture(name).to_str().unwrap().to_string();
    let pool = |input: &str, extra: &[&str], message: &str| {
        let mut args = vec!["pool", input, "--output", out];
        args.extend(extra);
        refuses(&args, message);
    };
    pool(
        "no-such-file.npy",
        &["--kernel", "2"],
        "cannot read no-such-file.npy",
    );
    pool(&f("not_npy.npy"), &["--kernel", "2"], "is not a .npy file");
    pool(
        &f("f16.npy"),
        &["--kernel", "2"],
        "unsupported element type '<f2'; supported: f32, f64, i8, u8, i16",
    );
    pool(
        &f("bool.npy"),
        &["--kernel", "2"],
        "unsupported element type '|b1'",
    );
    pool(
        &f("vector_1d.npy"),
        &["--kernel", "2"],
        "has 1 dimension (shape 8); pool needs 2 (H, W)",
    );
    pool(&f("five_d.npy"), &["--kernel", "2"], "has 5 dimensions");
    pool(&f("i8_hw.npy"), &["--kernel", "0"], "kernel height is 0");
    pool(
        &f("i8_hw.npy"),
        &["--kernel", "2", "--stride", "1,0"],
        "stride width is 0",
    );
    pool(
        &f("i8_hw.npy"),
        &["--kernel", "2", "--padding", "2"],
        "covers only padding",
    );
    pool(
        &f("i8_hw.npy"),
        &["--kernel", "7"],
        "the window's height, 7, is larger than the input's",
    );
    pool(
        &f("i8_hw.npy"),
        &["--kernel", "3", "--stride", "1", "--backend", "block"],
        "block backend cannot pool this geometry: it needs non-overlapping windows (stride equal to kernel, \
         dilation 1); naive, lookup and simd can",
    );
    pool(&f("i8_hw.npy"), &["--stride", "2"], "--kernel is required");
    refuses(
        &[
            "pool",
            &f("i8_hw.npy"),
            "--kernel",
            "2",
            "--output",
            "/no/such/dir/out",
        ],
        "the output directory /no/such/dir does not exist",
    );
}

#[test]
fn malformed_arguments_are_usage_errors() {
    for args in [
        &["pool", "x.npy", "--kernel", "two", "--output", "o"][..],
        &[
            "pool",
            "x.npy",
            "--kernel",
            "2",
            "--padding",
            "1,2,3",
            "--output",
            "o",
        ],
        &[
            "pool",
            "x.npy",
            "--kernel",
            "2",
            "--backend",
            "fast",
            "--output",
            "o",
        ],
        &["pool", "x.npy", "--kernel", "2"],
        &["bench", "--shape", "1,2,3"],
        &["bench", "--dtype", "f16"],
        &["frobnicate"],
    ] {
        let out = maxpool().args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        if args.contains(&"f16") {
            assert!(
                stderr.contains("supported: f32, f64, i8, u8, i16, u16, i32, i64"),
                "{stderr}"
            );
        }
    }
}

#[test]
fn a_failed_run_leaves_existing_outputs_alone_and_no_temporary_files() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("out");
    let values = dir.path().join("out.values.npy");
    std::fs::write(&values, b"precious").unwrap();
    // Pooling fails: nothing is written.
    let out = maxpool()
        .args([
            "pool",
            fixture("i8_hw.npy").to_str().unwrap(),
            "--kernel",
            "3",
            "--stride",
            "1",
        ])
        .args(["--backend", "block", "--output"])
        .arg(&prefix)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    // Writing cannot finish (the indices' destination is a directory): nothing is replaced, nothing is left.
    std::fs::create_dir(dir.path().join("out.indices.npy")).unwrap();
    let out = maxpool()
        .args([
            "pool",
            fixture("i8_hw.npy").to_str().unwrap(),
            "--kernel",
            "2",
            "--output",
        ])
        .arg(&prefix)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["out.indices.npy", "out.values.npy"],
        "temporary files left behind"
    );
    assert_eq!(
        std::fs::read(&values).unwrap(),
        b"precious",
        "an existing output was overwritten"
    );
}

#[test]
fn check_passes() {
    let out = maxpool()
        .args(["check", "--cases", "400", "--seed", "11"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{text}");
    assert!(
        text.starts_with("checking 400 random cases against the reference, seed 11\n"),
        "{text}"
    );
    assert!(text.ends_with("\n400 passed, 0 failed\n"), "{text}");
    // Block is checked too, and says what it skipped.
    assert!(text.contains("  block: ran "), "{text}");
}

#[test]
fn bench_reports_every_backend_beside_memcpy() {
    let out = maxpool()
        .args([
            "bench",
            "--shape",
            "1,2,16,16",
            "--kernel",
            "2",
            "--runs",
            "3",
            "--threads",
            "1",
            "--dtype",
            "u8",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{text}");
    assert!(
        text.starts_with("1×2×16×16 u8, kernel 2×2, stride 2×2"),
        "{text}"
    );
    assert!(text.contains("1 thread;"), "{text}");
    for backend in ["naive", "block", "lookup", "memcpy"] {
        let row = text
            .lines()
            .find(|l| l.starts_with(backend))
            .unwrap_or_else(|| panic!("no {backend} row: {text}"));
        assert!(row.contains("GB/s") && row.ends_with('x'), "{row}");
    }
    assert!(text.contains("auto chooses "), "{text}");
}
