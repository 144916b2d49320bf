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

/// Runs the command, expecting success; returns its standard output, and shows its standard error on failure.
fn succeeds(cmd: &mut Command) -> String {
    let out = cmd.output().expect("running maxpool");
    assert!(
        out.status.success(),
        "{cmd:?}: status {:?}, stderr {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
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
    // Files that say less, or more, than their header.
    let npy = |name: &str, array: ArrayD<f32>| {
        let path = dir.path().join(name);
        array
            .write_npy(std::fs::File::create(&path).unwrap())
            .unwrap();
        path.to_str().unwrap().to_string()
    };
    let whole = npy("whole.npy", ArrayD::zeros(vec![2, 4, 4]));
    let bytes = std::fs::read(&whole).unwrap();
    let truncated = dir.path().join("truncated.npy");
    std::fs::write(&truncated, &bytes[..bytes.len() - 10]).unwrap();
    pool(
        truncated.to_str().unwrap(),
        &["--kernel", "2"],
        "is truncated: the header says 128 bytes of data (shape 2×4×4 of <f4); the file holds 118",
    );
    let longer = dir.path().join("longer.npy");
    std::fs::write(&longer, [&bytes[..], b"xyz"].concat()).unwrap();
    pool(
        longer.to_str().unwrap(),
        &["--kernel", "2"],
        "has 3 bytes after its data: the header says 128 bytes of data (shape 2×4×4 of <f4); the file holds 131",
    );
    // A huge shape in a small file is refused before anything is allocated for it.
    let huge = hostile_npy(
        dir.path(),
        "huge.npy",
        "<f4",
        "(1073741824, 1073741824)",
        64,
    );
    pool(
        &huge,
        &["--kernel", "2"],
        "is truncated: the header says 4611686018427387904 bytes of data (shape 1073741824×1073741824 of <f4); \
         the file holds 64",
    );
    // Issue 18's: a 64-byte file whose header says (4096, 4096, 4096) aborted allocating 256 GiB.
    let cube = hostile_npy(dir.path(), "cube.npy", "<f4", "(4096, 4096, 4096)", 0);
    pool(
        &cube,
        &["--kernel", "2"],
        "is truncated: the header says 274877906944 bytes of data (shape 4096×4096×4096 of <f4); the file holds 0",
    );
    // The npy fuzzer's: a descriptor of no known size ('<d2') got past the check, and reading it as f32
    // allocated the header's 96 GiB; such a file is refused before any reading.
    for descr in ["<d2", "<c8", "|O", "<f0"] {
        let odd = hostile_npy(dir.path(), "odd.npy", descr, "(24, 1073741824)", 0);
        pool(
            &odd,
            &["--kernel", "2"],
            &format!("unsupported element type {descr}; supported: f32, f64"),
        );
    }
    // And one whose empty axis hides a shape that no array can have: ndarray-npy panicked building it.
    let unaddressable = hostile_npy(
        dir.path(),
        "unaddressable.npy",
        "<f4",
        "(0, 21073741824, 1073741824)",
        0,
    );
    pool(
        &unaddressable,
        &["--kernel", "2"],
        "its header's shape 0×21073741824×1073741824 has more bytes than this machine can address",
    );
    let scalar = npy("scalar.npy", ArrayD::zeros(vec![]));
    pool(&scalar, &["--kernel", "2"], "has 0 dimensions (shape ())");
    // Channels-last shapes are not pooled over the wrong axes.
    let nhwc = npy("nhwc.npy", ArrayD::zeros(vec![2, 16, 16, 3]));
    pool(
        &nhwc,
        &["--kernel", "2"],
        "has shape 2×16×16×3, whose last axis (3) is much smaller than the two before it, as in a channels-last \
         (…, H, W, C) array: pass --layout nhwc to pool H and W, or --layout nchw",
    );
    pool(
        &f("i8_hw.npy"),
        &["--kernel", "2", "--layout", "nhwc"],
        "--layout nhwc needs 3 (H, W, C) or 4 (N, H, W, C) dimensions",
    );
    // An output directory that cannot be written (a file system that refuses new files).
    refuses(
        &[
            "pool",
            &f("i8_hw.npy"),
            "--kernel",
            "2",
            "--output",
            "/proc/out",
        ],
        "cannot write in the output directory /proc: ",
    );
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
        &["pool", "x.npy", "--output", "o"],
        &["bench", "--stride", "2"],
        &["bench", "--shape", "1,2,3"],
        &["bench", "--dtype", "f16"],
        &["frobnicate"],
    ] {
        let out = maxpool().args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        // Lists are made from the library's own.
        if args.contains(&"f16") {
            let names: Vec<&str> = DType::ALL.iter().map(|d| d.name()).collect();
            let list = format!("[possible values: {}]", names.join(", "));
            assert!(stderr.contains(&list), "{stderr}");
        }
        if args.contains(&"fast") {
            let names: Vec<&str> = Backend::ALL.iter().map(|b| b.name()).collect();
            let list = format!("[possible values: {}]", names.join(", "));
            assert!(stderr.contains(&list), "{stderr}");
        }
        if args == ["pool", "x.npy", "--output", "o"] || args == ["bench", "--stride", "2"] {
            assert!(
                stderr.contains("the following required arguments were not provided:\n  --kernel"),
                "{args:?}: {stderr}"
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
    for backend in Backend::CONCRETE.iter().map(|b| b.name()).chain(["memcpy"]) {
        let row = text
            .lines()
            .find(|l| l.starts_with(backend))
            .unwrap_or_else(|| panic!("no {backend} row: {text}"));
        assert!(row.contains("GB/s") && row.ends_with('x'), "{row}");
    }
    assert!(text.contains("auto chooses "), "{text}");
}

/// `--help` lists every backend with what it does, and marks `--kernel` as required for `pool`.
#[test]
fn help_lists_every_backend_and_the_required_kernel() {
    for sub in ["pool", "bench"] {
        let out = maxpool().args([sub, "--help"]).output().unwrap();
        assert!(out.status.success());
        let help = String::from_utf8(out.stdout).unwrap();
        if sub == "pool" {
            for b in Backend::ALL {
                assert!(
                    help.contains(&format!("- {}:", b.name())) && help.contains(b.summary()),
                    "pool --help does not describe {b}:\n{help}"
                );
            }
            assert!(
                help.contains("--kernel <K|H,W> <INPUT>"),
                "--kernel is not marked required:\n{help}"
            );
        } else {
            assert!(
                help.contains("Usage: maxpool bench [OPTIONS]\n"),
                "bench's --kernel should be optional:\n{help}"
            );
        }
    }
    // Long names are accepted, in any case.
    let dir = tempfile::tempdir().unwrap();
    for name in Backend::ALL.iter().map(|b| b.long_name().to_uppercase()) {
        succeeds(
            maxpool()
                .args([
                    "pool",
                    fixture("i8_hw.npy").to_str().unwrap(),
                    "--kernel",
                    "2",
                ])
                .args(["--backend", &name, "--output"])
                .arg(dir.path().join("o")),
        );
    }
}

/// `-o` takes a prefix (a trailing `.npy` dropped) or a directory (existing, or written with a trailing `/`), and
/// the files are made as `np.save` makes them: readable as the umask allows.
#[cfg(unix)]
#[test]
fn outputs_are_named_sensibly_and_follow_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("existing")).unwrap();
    std::fs::create_dir(dir.path().join("slashed")).unwrap();
    let input = fixture("i8_hw.npy");
    for (umask, output, want_files, mode) in [
        (
            "022",
            "result.npy",
            &["result.values.npy", "result.indices.npy"][..],
            0o644,
        ),
        (
            "077",
            "plain",
            &["plain.values.npy", "plain.indices.npy"],
            0o600,
        ),
        (
            "002",
            "existing",
            &["existing/values.npy", "existing/indices.npy"],
            0o664,
        ),
        (
            "022",
            "slashed/",
            &["slashed/values.npy", "slashed/indices.npy"],
            0o644,
        ),
    ] {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
            .arg(assert_cmd::cargo::cargo_bin("maxpool"))
            .args(["pool", input.to_str().unwrap(), "--kernel", "2", "--output"])
            .arg(dir.path().join(output))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{output}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for file in want_files {
            let meta = std::fs::metadata(dir.path().join(file))
                .unwrap_or_else(|e| panic!("-o {output}: no {file}: {e}"));
            assert_eq!(
                meta.permissions().mode() & 0o777,
                mode,
                "-o {output} under umask {umask}: {file}"
            );
        }
    }
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "existing",
            "plain.indices.npy",
            "plain.values.npy",
            "result.indices.npy",
            "result.values.npy",
            "slashed"
        ],
        "no other files, hidden or doubled"
    );
    // A directory named with a trailing slash must exist.
    refuses(
        &[
            "pool",
            input.to_str().unwrap(),
            "--kernel",
            "2",
            "--output",
            "/no/such/dir/",
        ],
        "the output directory /no/such/dir/ does not exist",
    );
}

/// `--layout nhwc` pools (N, H, W, C) files over H and W, and writes channels-last outputs: the library's NCHW
/// results, transposed. `--layout nchw` pools the last two axes as given.
#[test]
fn channels_last_files_pool_over_h_and_w() {
    use maxpool::ndarray::{Array4, Axis};
    let dir = tempfile::tempdir().unwrap();
    let nhwc = Array4::<f32>::from_shape_fn((2, 9, 8, 3), |(n, h, w, c)| {
        (((n * 7 + h * 5 + w * 3 + c * 11) * 37) % 29) as f32 - 14.0
    });
    let file = dir.path().join("nhwc.npy");
    nhwc.write_npy(std::fs::File::create(&file).unwrap())
        .unwrap();
    let stdout = succeeds(
        maxpool()
            .args([
                "pool",
                file.to_str().unwrap(),
                "--kernel",
                "3",
                "--stride",
                "2",
                "--padding",
                "1",
            ])
            .args(["--layout", "nhwc", "--multiplier", "--output"])
            .arg(dir.path().join("cl")),
    );
    assert!(
        stdout.contains("f32 2×9×8×3 (channels-last) -> 2×5×4×3"),
        "{stdout}"
    );
    let params = Params::new(3).with_stride(2).with_padding(1);
    let nchw = nhwc.view().permuted_axes([0, 3, 1, 2]);
    let want = pool(nchw, &params, Backend::Auto, Want::ALL).unwrap();
    let read = |what: &str| std::fs::File::open(dir.path().join(format!("cl.{what}.npy"))).unwrap();
    let values = ArrayD::<f32>::read_npy(read("values")).unwrap();
    let indices = ArrayD::<i64>::read_npy(read("indices")).unwrap();
    let multiplier = ArrayD::<u32>::read_npy(read("multiplier")).unwrap();
    assert_eq!(values, want.values.permuted_axes([0, 2, 3, 1]).into_dyn());
    assert_eq!(
        indices,
        want.indices.unwrap().permuted_axes([0, 2, 3, 1]).into_dyn()
    );
    assert_eq!(
        multiplier,
        want.multiplier
            .unwrap()
            .permuted_axes([0, 2, 3, 1])
            .into_dyn()
    );
    // Every channel's winners are its own: an index row * W + col points at the value, in the same channel.
    for ((n, oh, ow, c), &v) in values
        .view()
        .into_dimensionality::<maxpool::ndarray::Ix4>()
        .unwrap()
        .indexed_iter()
    {
        let i: i64 = indices[[n, oh, ow, c]];
        assert_eq!(nhwc[[n, i as usize / 8, i as usize % 8, c]], v);
    }
    assert_eq!(multiplier.sum_axis(Axis(1)).sum(), 2 * 5 * 4 * 3);

    // The same winners in TensorFlow's format, as i32, and as oneDNN's one-byte tap numbers.
    let encoded = |name: &str, format: &str, dtype: &str| {
        succeeds(
            maxpool()
                .args([
                    "pool",
                    file.to_str().unwrap(),
                    "--kernel",
                    "3",
                    "--stride",
                    "2",
                ])
                .args([
                    "--padding",
                    "1",
                    "--layout",
                    "nhwc",
                    "--index-format",
                    format,
                ])
                .args(["--index-dtype", dtype, "--output"])
                .arg(dir.path().join(name)),
        );
        std::fs::File::open(dir.path().join(format!("{name}.indices.npy"))).unwrap()
    };
    let flat = ArrayD::<i32>::read_npy(encoded("tf", "flat_nhwc", "i32")).unwrap();
    let taps = ArrayD::<u8>::read_npy(encoded("onednn", "window", "u8")).unwrap();
    for ((n, oh, ow, c), &i) in indices
        .view()
        .into_dimensionality::<maxpool::ndarray::Ix4>()
        .unwrap()
        .indexed_iter()
    {
        let (row, col) = (i as usize / 8, i as usize % 8);
        assert_eq!(
            flat[[n, oh, ow, c]] as usize,
            ((n * 9 + row) * 8 + col) * 3 + c
        );
        // Window (oh, ow) starts at (2·oh − 1, 2·ow − 1).
        let (ti, tj) = (row + 1 - 2 * oh, col + 1 - 2 * ow);
        assert_eq!(taps[[n, oh, ow, c]] as usize, ti * 3 + tj);
    }
    refuses(
        &[
            "pool",
            file.to_str().unwrap(),
            "--kernel",
            "3",
            "--layout",
            "nhwc",
            "--index-dtype",
            "u8",
            "--output",
            "x",
        ],
        "u8 indices hold only the window format's tap numbers, not plane indices; use i32 or i64",
    );

    // nchw: the last two axes, 8 × 3, as given.
    succeeds(
        maxpool()
            .args([
                "pool",
                file.to_str().unwrap(),
                "--kernel",
                "2",
                "--layout",
                "nchw",
                "--output",
            ])
            .arg(dir.path().join("as_is")),
    );
    let values =
        ArrayD::<f32>::read_npy(std::fs::File::open(dir.path().join("as_is.values.npy")).unwrap())
            .unwrap();
    assert_eq!(values.shape(), &[2, 9, 4, 1]);
}

/// Big-endian files are read, and the outputs, native-endian, say so.
#[test]
fn big_endian_inputs_say_their_outputs_are_native() {
    let dir = tempfile::tempdir().unwrap();
    let stdout = succeeds(
        maxpool()
            .args([
                "pool",
                fixture("i32_big_endian.npy").to_str().unwrap(),
                "--kernel",
                "2",
                "-o",
            ])
            .arg(dir.path().join("be")),
    );
    assert!(
        stdout.contains("(big-endian; outputs are little-endian)"),
        "{stdout}"
    );
}

/// A float32 `.npy` file of `data` zero bytes whose header says `shape` (a Python tuple), whatever the data
/// holds; its path.
fn hostile_npy(dir: &Path, name: &str, descr: &str, shape: &str, data: usize) -> String {
    let mut dict =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}").into_bytes();
    while !(10 + dict.len() + 1).is_multiple_of(64) {
        dict.push(b' ');
    }
    dict.push(b'\n');
    let path = dir.join(name);
    let len = (dict.len() as u16).to_le_bytes();
    std::fs::write(
        &path,
        [&b"\x93NUMPY\x01\x00"[..], &len, &dict, &vec![0u8; data]].concat(),
    )
    .unwrap();
    path.to_str().unwrap().to_string()
}

/// Issue 18, defect 2: a 128-byte `.npy` that says shape (0, 2^30, 2^30) holds no planes, so it is answered at
/// once, in a few MB, with empty outputs of the right shape: under a 256 MiB address-space cap, where the
/// window tables it used to ask for took 24 GiB.
#[test]
fn zero_planes_of_a_huge_plane_take_no_memory() {
    let dir = tempfile::tempdir().unwrap();
    let input = hostile_npy(
        dir.path(),
        "empty.npy",
        "<f4",
        "(0, 1073741824, 1073741824)",
        0,
    );
    assert_eq!(std::fs::metadata(&input).unwrap().len(), 128);
    let out = dir.path().join("out.npy");
    let exe = assert_cmd::cargo::cargo_bin("maxpool");
    let started = std::time::Instant::now();
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 262144 && exec \"$@\"")
        .arg("sh")
        .arg(&exe)
        .args(["pool", &input, "--kernel", "2", "--multiplier", "-o"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success(), "{status}");
    assert!(
        started.elapsed().as_secs() < 10,
        "took {:?}",
        started.elapsed()
    );
    let read = |suffix: &str| {
        let path = dir.path().join(format!("out.{suffix}.npy"));
        ArrayD::<f32>::read_npy(std::fs::File::open(path).unwrap()).map(|a| a.shape().to_vec())
    };
    assert_eq!(read("values").unwrap(), [0, 1 << 29, 1 << 29]);
}
