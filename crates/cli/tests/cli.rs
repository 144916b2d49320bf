//! The `maxpool` command, run as a user runs it: its outputs, its results against the library's, and what each
//! bad input gets.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use maxpool::ndarray::{ArrayD, IxDyn, ShapeBuilder};
use maxpool::technique::with_dtype;
use maxpool::{bf16, f16, pool, Backend, DType, Element, Padding, Params, Want};
use ndarray_npy::npy::header::Header;
use ndarray_npy::{ReadNpyError, ReadNpyExt, WriteNpyExt};

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

/// An element type as these tests read and write `.npy` files of it: with ndarray-npy, or for the 16-bit floats,
/// which it lacks, with the tests' own code (not the command's): their bit patterns.
trait Npy: Element {
    /// The file as this type; `None` when it holds another.
    fn read(bytes: &[u8]) -> Option<ArrayD<Self>>;
    /// The array as a `.npy` file, as ndarray-npy writes one: in C order, or Fortran order when that is the
    /// array's memory's.
    fn write(array: &ArrayD<Self>) -> Vec<u8>;
}

macro_rules! native_npy {
    ($($t:ty),*) => {$(
        impl Npy for $t {
            fn read(bytes: &[u8]) -> Option<ArrayD<Self>> {
                match ArrayD::<$t>::read_npy(bytes) {
                    Ok(a) => Some(a),
                    Err(ReadNpyError::WrongDescriptor(_)) => None,
                    Err(e) => panic!("{e}"),
                }
            }
            fn write(array: &ArrayD<Self>) -> Vec<u8> {
                let mut v = Vec::new();
                array.write_npy(&mut v).unwrap();
                v
            }
        }
    )*};
}
native_npy!(f32, f64, i8, u8, i16, u16, i32, i64);

/// `$t`, read from the descriptors `$little` and `$big`, written as `$write`: `f16` is numpy's float16; `bf16` is
/// what `np.save` writes for `ml_dtypes.bfloat16`, `'<V2'`, or its bits as `'<u2'`.
macro_rules! half_npy {
    ($($t:ty: [$($little:literal),*], [$($big:literal),*], $write:literal;)*) => {$(
        impl Npy for $t {
            fn read(bytes: &[u8]) -> Option<ArrayD<Self>> {
                let (descr, shape, fortran, data) = parse_npy(bytes);
                let big = if [$($big),*].contains(&descr.as_str()) {
                    true
                } else if [$($little),*].contains(&descr.as_str()) {
                    false
                } else {
                    return None;
                };
                let bits = data.chunks_exact(2).map(|b| {
                    let b = [b[0], b[1]];
                    <$t>::from_bits(if big { u16::from_be_bytes(b) } else { u16::from_le_bytes(b) })
                });
                Some(ArrayD::from_shape_vec(IxDyn(&shape).set_f(fortran), bits.collect()).unwrap())
            }
            fn write(array: &ArrayD<Self>) -> Vec<u8> {
                let fortran = !array.is_standard_layout() && array.t().is_standard_layout();
                let order = if fortran { array.t() } else { array.view() };
                let data: Vec<u8> = order.iter().flat_map(|x| x.to_bits().to_le_bytes()).collect();
                npy_bytes($write, array.shape(), fortran, &data)
            }
        }
    )*};
}
half_npy! {
    f16: ["<f2"], [">f2"], "<f2";
    bf16: ["<V2", "|V2", "<u2"], [">V2", ">u2"], "<V2";
}

/// A `.npy` file's descriptor (unquoted), shape, order and data.
fn parse_npy(bytes: &[u8]) -> (String, Vec<usize>, bool, &[u8]) {
    let mut data = bytes;
    let header = Header::from_reader(&mut data).unwrap();
    let descr = header.type_descriptor.to_string();
    (
        descr.trim_matches('\'').to_string(),
        header.shape,
        header.layout.is_fortran(),
        data,
    )
}

/// A `.npy` file as numpy writes one (format 1.0, the header padded to a multiple of 64 bytes), of `data`
/// whatever it holds. (ndarray-npy spaces its headers otherwise, so files are compared by what they say.)
fn npy_bytes(descr: &str, shape: &[usize], fortran: bool, data: &[u8]) -> Vec<u8> {
    let shape = match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let order = if fortran { "True" } else { "False" };
    npy_with_header(descr, order, &shape, data)
}

fn npy_with_header(descr: &str, fortran: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    let mut dict =
        format!("{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}")
            .into_bytes();
    while !(10 + dict.len() + 1).is_multiple_of(64) {
        dict.push(b' ');
    }
    dict.push(b'\n');
    let len = (dict.len() as u16).to_le_bytes();
    [&b"\x93NUMPY\x01\x00"[..], &len, &dict, data].concat()
}

/// The bytes `maxpool pool` should have written: the library's own result, serialised by the same writer (for
/// `f16` and `bf16`, the tests' own).
fn library_outputs<T: Npy>(file: &Path, params: &Params, backend: Backend) -> Option<[Vec<u8>; 3]> {
    let input = T::read(&std::fs::read(file).unwrap())?;
    let out = pool(input.view(), params, backend, Want::ALL).unwrap();
    let bytes = |write: &dyn Fn(&mut Vec<u8>)| {
        let mut v = Vec::new();
        write(&mut v);
        v
    };
    Some([
        T::write(&out.values),
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

/// The window geometries the comparisons with the library run: the flags, and the parameters they say.
fn geometries() -> [(&'static [&'static str], Params); 4] {
    [
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
    ]
}

/// Pools `file`, with the `extra` flags, in every geometry with every backend that takes it, and checks that each
/// run wrote the library's results byte for byte, read as `dtype` or else as the type the file holds; how many
/// runs pooled.
fn matches_the_library(dir: &Path, file: &Path, extra: &[&str], dtype: Option<DType>) -> usize {
    let name = file.file_name().unwrap().to_str().unwrap();
    let mut pooled = 0;
    for (flags, params) in &geometries() {
        for backend in Backend::CONCRETE.iter().chain([&Backend::Auto]) {
            if backend.supports(params).is_err() {
                continue;
            }
            let prefix = dir.join(format!("{name}-{backend}"));
            let mut cmd = maxpool();
            cmd.arg("pool")
                .arg(file)
                .args(*flags)
                .args(extra)
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
            let want = match dtype {
                Some(d) => with_dtype!(d, library_outputs(file, params, *backend))
                    .unwrap_or_else(|| panic!("{name} does not hold {d}")),
                None => expected(file, params, *backend),
            };
            for (what, want) in ["values", "indices", "multiplier"].iter().zip(want) {
                let got = std::fs::read(format!("{}.{what}.npy", prefix.display())).unwrap();
                // The same descriptor, shape, order and data: the header's spacing is the writer's.
                assert!(
                    parse_npy(&got) == parse_npy(&want),
                    "{name} {extra:?} {flags:?} {backend}: {what} differ from the library's"
                );
            }
            pooled += 1;
        }
    }
    pooled
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
        "f16.npy",
    ];
    let dir = tempfile::tempdir().unwrap();
    let pooled: usize = fixtures
        .iter()
        .map(|name| matches_the_library(dir.path(), &fixture(name), &[], None))
        .sum();
    assert!(pooled >= 60, "only {pooled} runs pooled");
}

/// Two planes of 6 × 7 bit patterns of a 16-bit float whose NaNs `nan` are (two positive, two negative, quiet
/// and signalling, with payloads) and whose numbers are `from_f32`'s: the first plane's 2 × 2 windows are
/// -0 before +0, +0 before -0, a NaN before another, a negative NaN before a number, four equal values and
/// subnormals; the second is every kind of pattern, drawn at random.
fn half_planes(nan: [u16; 4], from_f32: fn(f32) -> u16) -> Vec<u16> {
    let n = from_f32;
    let (inf, neg_inf) = (n(f32::INFINITY), n(f32::NEG_INFINITY));
    #[rustfmt::skip]
    let first = [
        n(-0.0), n(0.0),   n(0.0), n(-0.0), n(1.0), nan[0], n(9.0),
        n(-1.0), n(-2.0),  n(-0.0), n(-3.0), nan[1], inf,   n(-9.0),
        neg_inf, neg_inf,  n(3.0), n(3.0),  0x0001, 0x0003, nan[3],
        nan[2], n(7.0),    n(3.0), n(3.0),  0x0002, 0x8003, n(2.5),
        n(0.5), n(-0.5),   n(65504.0), n(1e-3), n(-1e-3), n(0.25), n(-0.0),
        n(0.0), n(-0.0),   n(-1e4), n(2.0), n(2.0), n(-0.0), n(0.0),
    ];
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let second = (0..42).map(|_| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 24) as u16
    });
    first.into_iter().chain(second).collect()
}

/// `f16` files, as numpy writes float16 (`'<f2'`, `'>f2'`, Fortran order), and `bf16` ones, as `np.save`
/// writes an `ml_dtypes.bfloat16` array (`'<V2'`, and `'>V2'`) or its bits (`'<u2'`): the outputs are the
/// library's bit for bit, NaN payloads and the sign of zero kept, in the same type.
#[test]
fn f16_and_bf16_files_pool_as_the_library_does() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, descr: &str, shape: &[usize], fortran: bool, bits: &[u16]| {
        let big = descr.starts_with('>');
        let data: Vec<u8> = bits
            .iter()
            .flat_map(|b| {
                if big {
                    b.to_be_bytes()
                } else {
                    b.to_le_bytes()
                }
            })
            .collect();
        let path = dir.path().join(name);
        std::fs::write(&path, npy_bytes(descr, shape, fortran, &data)).unwrap();
        path
    };
    let f16_bits = half_planes([0x7e01, 0x7c01, 0xfd23, 0xfe55], |x| {
        f16::from_f32(x).to_bits()
    });
    let bf16_bits = half_planes([0x7fc1, 0x7f81, 0xffa3, 0xffd5], |x| {
        bf16::from_f32(x).to_bits()
    });
    // The first plane, in Fortran order: column by column.
    let fortran = |bits: &[u16]| -> Vec<u16> {
        (0..7)
            .flat_map(|j| (0..6).map(move |i| i * 7 + j))
            .map(|k| bits[k])
            .collect()
    };
    let shape = [2, 6, 7];
    let f16_files = [
        write("f16.npy", "<f2", &shape, false, &f16_bits),
        write("f16_be.npy", ">f2", &shape, false, &f16_bits),
        write("f16_fortran.npy", "<f2", &[6, 7], true, &fortran(&f16_bits)),
    ];
    let bf16_files = [
        write("bf16.npy", "<V2", &shape, false, &bf16_bits),
        write("bf16_be.npy", ">V2", &shape, false, &bf16_bits),
        write("bf16_bits.npy", "<u2", &shape, false, &bf16_bits),
    ];
    let mut pooled = 0;
    for file in &f16_files {
        pooled += matches_the_library(dir.path(), file, &[], None);
    }
    for file in &bf16_files {
        pooled += matches_the_library(dir.path(), file, &["--dtype", "bf16"], Some(DType::BF16));
    }
    assert!(pooled >= 80, "only {pooled} runs pooled");

    // Outputs larger than the writer's buffer, and an empty one of a huge plane.
    let bits: Vec<u16> = (0..3 * 256 * 256u32)
        .map(|i| (i.wrapping_mul(0x9e37_79b9) >> 16) as u16)
        .collect();
    let big = write("big.npy", "<f2", &[3, 256, 256], false, &bits);
    let prefix = dir.path().join("big-out");
    succeeds(
        maxpool()
            .arg("pool")
            .arg(&big)
            .args(["--kernel", "1", "--multiplier", "-o"])
            .arg(&prefix),
    );
    let want = library_outputs::<f16>(&big, &Params::new(1), Backend::Auto).unwrap();
    for (what, want) in ["values", "indices", "multiplier"].iter().zip(want) {
        let got = std::fs::read(format!("{}.{what}.npy", prefix.display())).unwrap();
        assert!(parse_npy(&got) == parse_npy(&want), "big.npy: {what}");
    }
    let empty = hostile_npy(
        dir.path(),
        "empty.npy",
        "<V2",
        "(0, 1073741824, 1073741824)",
        0,
    );
    let prefix = dir.path().join("empty-out");
    succeeds(
        maxpool()
            .args(["pool", &empty, "--kernel", "2", "--dtype", "bf16", "-o"])
            .arg(&prefix),
    );
    let values = std::fs::read(format!("{}.values.npy", prefix.display())).unwrap();
    let (descr, shape, _, data) = parse_npy(&values);
    assert_eq!(
        (descr.as_str(), &shape[..], data.len()),
        ("<V2", &[0, 1 << 29, 1 << 29][..], 0)
    );

    // What the tie rule and NaNs make of the first plane's windows, as numpy reads the outputs back.
    for (file, dtype, descr, nan) in [
        (&f16_files[1], "f16", "<f2", [0x7e01, 0xfd23]),
        (&bf16_files[1], "bf16", "<V2", [0x7fc1, 0xffa3]),
    ] {
        let prefix = dir.path().join(format!("{dtype}-windows"));
        let stdout = succeeds(
            maxpool()
                .arg("pool")
                .arg(file)
                .args(["--kernel", "2", "--dtype", dtype, "-o"])
                .arg(&prefix),
        );
        assert!(
            stdout.contains(&format!(
                "{dtype} 2×6×7 (big-endian; outputs are little-endian"
            )),
            "{stdout}"
        );
        let values = std::fs::read(format!("{}.values.npy", prefix.display())).unwrap();
        let (got_descr, got_shape, _, data) = parse_npy(&values);
        assert_eq!(
            (got_descr.as_str(), &got_shape[..]),
            (descr, &[2, 3, 3][..])
        );
        let bits: Vec<u16> = data
            .chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .collect();
        assert_eq!(
            bits[..6],
            [0x8000, 0x0000, nan[0], nan[1], bits[4], 0x0003],
            "{dtype}: -0 first, +0 first, the first NaN, a NaN over a number, …, the largest subnormal"
        );
        let indices = std::fs::read(format!("{}.indices.npy", prefix.display())).unwrap();
        let indices = ArrayD::<i64>::read_npy(&indices[..]).unwrap();
        assert_eq!(
            indices.as_slice().unwrap()[..6],
            [0, 2, 5, 21, 16, 19],
            "{dtype}: the first of equals wins"
        );
    }
}

/// bfloat16's `.npy` is `'<V2'`, which any 2-byte opaque type shares: it is read only when `--dtype bf16` says so,
/// and the messages say how to pass it.
#[test]
fn bf16_is_read_only_when_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out = out.to_str().unwrap();
    let file = |name: &str, descr: &str, bytes: usize| {
        let path = dir.path().join(name);
        std::fs::write(&path, npy_bytes(descr, &[4, 4], false, &vec![0; bytes])).unwrap();
        path.to_str().unwrap().to_string()
    };
    let pool = |input: &str, extra: &[&str], message: &str| {
        let mut args = vec!["pool", input, "--kernel", "2", "--output", out];
        args.extend(extra);
        refuses(&args, message);
    };
    let opaque = "is 2 opaque bytes each, as np.save writes an ml_dtypes.bfloat16 array, which .npy cannot tell \
                  from other 2-byte types: if it holds bfloat16, pass --dtype bf16";
    pool(
        &file("v2.npy", "<V2", 32),
        &[],
        &format!("element type '<V2' {opaque}"),
    );
    pool(
        &file("v2n.npy", "|V2", 32),
        &[],
        &format!("element type '|V2' {opaque}"),
    );
    pool(
        &file("v2b.npy", ">V2", 32),
        &[],
        &format!("element type '>V2' {opaque}"),
    );
    let not_bf16 =
        "not bf16: --dtype bf16 reads 2-byte elements as bfloat16, '<V2' as np.save writes an \
                    ml_dtypes.bfloat16 array, or '<u2', its bits as x.view(np.uint16)";
    let f4 = file("f4.npy", "<f4", 64);
    pool(
        &f4,
        &["--dtype", "bf16"],
        &format!("f4.npy holds '<f4', {not_bf16}"),
    );
    let f2 = file("f2.npy", "<f2", 32);
    pool(
        &f2,
        &["--dtype", "bf16"],
        &format!("f2.npy holds '<f2', {not_bf16}"),
    );
    pool(
        &file("v2.npy", "<V2", 32),
        &["--dtype", "f16"],
        "v2.npy holds '<V2', not f16 (--dtype f16); pool converts no types",
    );
    pool(
        &f4,
        &["--dtype", "i32"],
        "f4.npy holds '<f4', not i32 (--dtype i32); pool converts no types",
    );
    pool(
        &file("v2.npy", "<V2", 30),
        &["--dtype", "bf16"],
        "is truncated: the header says 32 bytes of data (shape 4×4 of <V2); the file holds 30",
    );
    pool(
        &file("v4.npy", "|V4", 64),
        &["--dtype", "bf16"],
        "v4.npy holds '|V4', not bf16",
    );
    pool(
        &file("v4.npy", "|V4", 64),
        &[],
        &format!(
            "v4.npy: unsupported element type '|V4'; supported: {}",
            supported()
        ),
    );
    // Asked for, they pool; bits saved as uint16 are u16 unless asked for as bf16.
    for (descr, dtype, says) in [
        (
            "<V2",
            "bf16",
            "bf16 4×4 (values as '<V2', as np.save writes bfloat16)",
        ),
        (
            "<u2",
            "bf16",
            "bf16 4×4 (values as '<V2', as np.save writes bfloat16)",
        ),
        ("<u2", "u16", "u16 4×4 ->"),
        ("<f2", "F16", "f16 4×4 ->"),
    ] {
        let input = file("ok.npy", descr, 32);
        let stdout = succeeds(
            maxpool().args(["pool", &input, "--kernel", "2", "--dtype", dtype, "-o", out]),
        );
        assert!(stdout.contains(says), "{descr} as {dtype}: {stdout}");
    }
    let stdout = succeeds(maxpool().args([
        "pool",
        &file("ok.npy", "<u2", 32),
        "--kernel",
        "2",
        "-o",
        out,
    ]));
    assert!(stdout.contains("u16 4×4 ->"), "{stdout}");
}

/// The element types the messages list: every one, generated from the library's list.
fn supported() -> String {
    DType::ALL
        .iter()
        .map(|d| match d {
            DType::BF16 => "bf16 (with --dtype bf16)".to_string(),
            d => d.name().to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
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
    let u4 = dir.path().join("u4.npy");
    ArrayD::<u32>::zeros(vec![4, 4])
        .write_npy(std::fs::File::create(&u4).unwrap())
        .unwrap();
    pool(
        u4.to_str().unwrap(),
        &["--kernel", "2"],
        &format!("unsupported element type '<u4'; supported: {}", supported()),
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
        &["bench", "--dtype", "f8"],
        &[
            "pool", "x.npy", "--kernel", "2", "--dtype", "f8", "--output", "o",
        ],
        &["frobnicate"],
    ] {
        let out = maxpool().args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        // Lists are made from the library's own.
        if args.contains(&"f8") {
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
    // An integer type, and a 16-bit float, whose workload is made here rather than by the conformance suite.
    for dtype in ["u8", "bf16"] {
        let out = maxpool()
            .args([
                "bench",
                "--shape",
                "1,2,16,16",
                "--kernel",
                "2",
                "--runs",
                "3",
            ])
            .args(["--threads", "1", "--dtype", dtype])
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(out.status.success(), "{text}");
        assert!(
            text.starts_with(&format!("1×2×16×16 {dtype}, kernel 2×2, stride 2×2")),
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
            // Every element type, and how to pass bfloat16.
            let names: Vec<&str> = DType::ALL.iter().map(|d| d.name()).collect();
            let list = format!("[possible values: {}]", names.join(", "));
            assert!(
                help.contains(&list) && help.contains("--dtype bf16 reads those"),
                "pool --help does not list the element types or say how to pass bf16:\n{help}"
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
    let path = dir.join(name);
    std::fs::write(
        &path,
        npy_with_header(descr, "False", shape, &vec![0u8; data]),
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
