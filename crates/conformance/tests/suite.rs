//! The conformance suite, expanded once per backend: the notebook's cases, the public vectors, and property
//! tests against the reference. Unsupported geometries are skipped explicitly and counted (see `Tally`).

use maxpool::ndarray::{array, Array2};
use maxpool::technique::with_dtype;
use maxpool::{pool, Backend, Outputs, Padding, Params, Plan, Want};
use maxpool_conformance::{
    case, check_case, drawn_case, params, Case, Choices, Outcome, Sample, Seeded, Source, Tally,
    CASE_DRAWS,
};
use proptest::prelude::{any, Strategy};
use proptest::test_runner::{Config, TestCaseError, TestRunner};

mod vectors;

use vectors::{check_vector, load, FromJson};

/// What the generators make of `draws` numbers that proptest chooses, and shrinks towards 0 (each choice's
/// simplest option) when a case fails.
fn drawn<V: std::fmt::Debug>(
    draws: usize,
    make: impl Fn(&mut Choices<'_>) -> V,
) -> impl Strategy<Value = V> {
    proptest::collection::vec(any::<u64>(), draws)
        .prop_map(move |words| make(&mut Choices::new(&words)))
}

/// The notebook's cases, each with the answer the notebook printed.
fn notebook(backend: Backend) {
    let tally = Tally::new("notebook");
    let run = |params: Params,
               a: Array2<i64>,
               values: Array2<i64>,
               indices: Array2<i64>,
               multiplier: Option<Array2<u32>>| {
        let case = Case {
            params,
            planes: 1,
            height: a.nrows(),
            width: a.ncols(),
            input: a.iter().copied().collect(),
        };
        let outcome = check_case(backend, &case).unwrap_or_else(|e| panic!("{backend}: {e}"));
        tally.record(outcome);
        if outcome == Outcome::Skipped {
            return;
        }
        let got = pool(a.view(), &params, backend, Want::ALL).unwrap();
        assert_eq!(got.values, values, "{backend}: values");
        assert_eq!(got.indices.unwrap(), indices, "{backend}: indices");
        if let Some(m) = multiplier {
            assert_eq!(got.multiplier.unwrap(), m, "{backend}: multiplier");
        }
    };

    // Cell 15 and the numba cell: the 4×4 matrix, k = 2.
    let a = array![[12, 15, 5, 0], [3, 11, 3, 7], [9, 3, 5, 2], [4, 7, 6, 8]];
    run(
        Params::new(2),
        a,
        array![[15, 7], [9, 8]],
        array![[1, 7], [8, 15]],
        None,
    );

    // Cell 20: the 5×5 ragged edge. The notebook zero-padded to 6×6; that is ceil mode with padding that
    // never wins.
    let a = array![
        [12, 15, 5, 0, 1],
        [3, 11, 3, 7, 2],
        [9, 3, 5, 2, 3],
        [4, 7, 6, 8, 4],
        [1, 2, 3, 4, 5]
    ];
    let ragged = Params::new(2).with_ceil_mode(true);
    run(
        ragged,
        a.clone(),
        array![[15, 7, 2], [9, 8, 4], [2, 4, 5]],
        array![[1, 8, 9], [10, 18, 19], [21, 23, 24]],
        None,
    );
    // Negated, zero padding would win every edge window; here it must not.
    run(
        ragged,
        -a,
        array![[-3, 0, -1], [-3, -2, -3], [-1, -3, -5]],
        array![[5, 3, 4], [11, 13, 14], [20, 22, 24]],
        None,
    );

    // Cell 21: 6×6, k = 3.
    let a = array![
        [12, 15, 5, 0, 1, 2],
        [3, 11, 3, 7, 2, 4],
        [9, 3, 5, 2, 3, 1],
        [4, 7, 6, 8, 4, 6],
        [1, 2, 3, 4, 5, 2],
        [2, 3, 5, 1, 0, 3]
    ];
    run(
        Params::new(3),
        a,
        array![[15, 7], [7, 8]],
        array![[1, 9], [19, 21]],
        None,
    );

    // Cells 2–9: the shuffled arange(36), k = 2 blocks, winners at (0,0), (0,3), (1,5), (3,0), (2,2), ….
    let a = array![
        [35, 13, 26, 30, 16, 31],
        [21, 12, 8, 17, 9, 34],
        [0, 4, 29, 15, 19, 5],
        [11, 1, 24, 2, 33, 3],
        [32, 23, 27, 10, 22, 18],
        [25, 6, 20, 7, 14, 28]
    ];
    run(
        Params::new(2),
        a,
        array![[35, 30, 34], [11, 29, 33], [32, 27, 28]],
        array![[0, 3, 11], [18, 14, 22], [24, 26, 35]],
        None,
    );

    // Cells 31–35: the sliding window, k = 3, stride 1, with the winner indices and the multiplier.
    let a = array![
        [-15, 3, -5, -4, -12, 0],
        [13, 3, -5, -1, -12, 7],
        [14, 14, -13, 8, -16, 8],
        [-9, -13, -7, -3, -16, 5],
        [-16, 0, -6, 10, 0, -4],
        [14, 6, -12, -5, -8, 15]
    ];
    let winners = array![
        [12, 13, 15, 15],
        [12, 13, 15, 15],
        [12, 13, 27, 27],
        [30, 27, 27, 35]
    ];
    let values = winners.mapv(|i: i64| a[[i as usize / 6, i as usize % 6]]);
    let multiplier = array![
        [0, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0],
        [3, 3, 0, 4, 0, 0],
        [0, 0, 0, 0, 0, 0],
        [0, 0, 0, 4, 0, 0],
        [1, 0, 0, 0, 0, 1]
    ];
    run(
        Params::new(3).with_stride(1),
        a,
        values,
        winners,
        Some(multiplier),
    );
    tally.finish(backend);
}

/// Every public vector.
fn vectors(backend: Backend) {
    let tally = Tally::new("vectors");
    let vectors = load();
    assert!(
        vectors.len() >= 400,
        "the vector file is incomplete: {} vectors",
        vectors.len()
    );
    let failures: Vec<String> = vectors
        .iter()
        .filter_map(|v| match check_vector(backend, v) {
            Ok(outcome) => {
                tally.record(outcome);
                None
            }
            Err(e) => Some(e),
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{backend}: {} of {} vectors failed:\n{}",
        failures.len(),
        vectors.len(),
        failures.join("\n")
    );
    tally.finish(backend);
}

fn properties<T: Sample>(backend: Backend) {
    let tally = Tally::new(format!("properties {}", T::DTYPE));
    let mut runner = TestRunner::new(Config {
        cases: 300,
        failure_persistence: None,
        // Shrinking a failure's thousands of choices one by one could run for hours; this many steps simplify
        // its sizes and parameters, which come first.
        max_shrink_iters: 4096,
        ..Config::default()
    });
    let result = runner.run(&drawn(CASE_DRAWS, |c| case::<T>(c)), |case| {
        let outcome = check_case(backend, &case).map_err(TestCaseError::fail)?;
        tally.record(outcome);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{backend}, {}: {e}", T::DTYPE);
    }
    tally.finish(backend);
}

/// Every row width from 1 to 72, so every remainder of the vectorised backends' 16-lane groups, on the geometries
/// with a code path of their own: simd's row passes (k3 s1, k3 s2, with padding and ceil mode), its sweeps
/// (column dilation, kw 2) and direct kernel (k2 s1, row dilation), and block's 2×2 and 3×3 tiles, whole and
/// ragged. Elements come from the suite's generators (NaNs, infinities, ties), drawn deterministically.
fn row_widths<T: Sample>(backend: Backend) {
    let tally = Tally::new(format!("row widths {}", T::DTYPE));
    let geometries = [
        Params::new(3).with_stride(1),
        Params::new(3).with_stride(2),
        Params::new(3).with_stride(2).with_padding(1),
        Params::new(3)
            .with_stride(1)
            .with_padding(1)
            .with_ceil_mode(true),
        Params::new(3)
            .with_stride(2)
            .with_padding(1)
            .with_ceil_mode(true),
        Params::new(3)
            .with_stride(2)
            .with_padding_sides(Padding {
                top: 2,
                bottom: 0,
                left: 2,
                right: 1,
            })
            .with_ceil_mode(true),
        Params::rect(3, 2).with_stride(1),
        Params::new(3).with_stride(1).with_dilation_hw(1, 2),
        Params::new(2).with_stride(1),
        Params::new(3).with_stride(1).with_dilation_hw(2, 1),
        Params::new(2),
        Params::new(2).with_ceil_mode(true),
        Params::new(2).with_padding(1),
        Params::new(2)
            .with_padding_sides(Padding {
                top: 0,
                bottom: 1,
                left: 1,
                right: 0,
            })
            .with_ceil_mode(true),
        Params::new(3).with_ceil_mode(true),
    ];
    let mut src = Seeded::new(0x5EED);
    for params in geometries {
        for width in 1..=72 {
            for height in [2, 3, 7] {
                check_drawn::<T>(backend, &tally, &mut src, params, height, width);
            }
        }
    }
    tally.finish(backend);
}

/// Planes whose output exceeds the bands in which kernels that write in place get their outputs when the
/// multiplier is wanted without the indices (`maxpool_core::BAND`, 4096), on the geometries with hand-written
/// kernels; 96×100 at k3 s2 leaves the last row and column in no window, whose counts must still be zeroed, and
/// 7×1111 has output rows wider than the 256 windows the 3×3/2 kernels pool together in one block of columns (512
/// for the 16-bit kernel). Windows over 81 rows (row dilation 40) span more rows than the 16-bit kernel caches
/// row winners for by row.
fn bands<T: Sample>(backend: Backend) {
    let tally = Tally::new(format!("bands {}", T::DTYPE));
    let mut src = Seeded::new(0x5EED);
    let geometries = [
        Params::new(2),
        Params::new(2).with_ceil_mode(true),
        Params::new(3).with_stride(2),
        Params::new(3).with_stride(2).with_padding(1),
        Params::new(3)
            .with_stride(2)
            .with_padding(1)
            .with_ceil_mode(true),
        Params::new(3).with_stride(1).with_dilation_hw(40, 1),
    ];
    for params in geometries {
        for (height, width) in [(150, 200), (97, 301), (96, 100), (7, 1111)] {
            check_drawn::<T>(backend, &tally, &mut src, params, height, width);
        }
    }
    tally.finish(backend);
}

/// The multiplier of overlapping windows counted from winner codes (`maxpool_core`'s `coded`, for strides whose
/// product is at most 2): each shape of its counting loop (column stride 1, and 2 with even and odd left padding;
/// 3 wide, 2 wide and any, here 5 and 4; 2, 3 and 5 tall; row stride 2), phases whose columns end just before, at
/// and after a vector of 64 (widths 63 to 65, 127 to 129, 190 and 256), planes tall enough that the ring of code
/// rows wraps around, narrow planes whose batch of rows counted together (16 KiB of counts) spans hundreds of
/// output rows (400 × 20), and rows wider than a batch holds (4100).
fn coded<T: Sample>(backend: Backend) {
    if backend.supports(&Params::new(3).with_stride(1)).is_err() {
        return; // block: windows that overlap are not its to pool
    }
    let tally = Tally::new(format!("coded {}", T::DTYPE));
    let mut src = Seeded::new(0x5EED);
    let sides = |top, bottom, left, right| Padding {
        top,
        bottom,
        left,
        right,
    };
    let shapes = [
        (
            Params::new(3).with_stride(1),
            [(9, 63), (9, 64), (9, 65), (70, 190), (3, 4100)],
        ),
        (
            Params::new(3).with_stride_hw(1, 2).with_padding(1),
            [(9, 127), (9, 128), (9, 129), (300, 130), (5, 4100)],
        ),
        (
            Params::new(3)
                .with_stride_hw(1, 2)
                .with_padding_sides(sides(0, 2, 2, 0)),
            [(8, 127), (9, 128), (11, 129), (130, 256), (4, 4100)],
        ),
        (
            Params::new(3)
                .with_stride_hw(2, 1)
                .with_padding(1)
                .with_ceil_mode(true),
            [(9, 63), (10, 64), (9, 65), (131, 190), (6, 4100)],
        ),
        (
            Params::new(2).with_stride(1),
            [(9, 63), (9, 64), (2, 65), (67, 190), (2, 4100)],
        ),
        (
            Params::new(5)
                .with_stride(1)
                .with_padding(2)
                .with_ceil_mode(true),
            [(9, 63), (9, 64), (11, 65), (100, 256), (6, 4100)],
        ),
        (
            Params::rect(4, 5)
                .with_stride_hw(1, 2)
                .with_padding_sides(sides(1, 0, 1, 2)),
            [(9, 127), (9, 128), (9, 129), (90, 300), (4, 4100)],
        ),
        (
            Params::rect(2, 4).with_stride_hw(1, 2),
            [(9, 127), (9, 128), (9, 130), (90, 300), (2, 4100)],
        ),
    ];
    for (params, sizes) in shapes {
        for (height, width) in sizes.into_iter().chain([(400, 20)]) {
            check_drawn::<T>(backend, &tally, &mut src, params, height, width);
        }
    }
    tally.finish(backend);
}

/// Checks two planes of `height × width` elements drawn from the suite's generators, deterministically.
fn check_drawn<T: Sample>(
    backend: Backend,
    tally: &Tally,
    src: &mut Seeded,
    params: Params,
    height: usize,
    width: usize,
) {
    let case = drawn_case::<T>(src, params, 2, height, width);
    match check_case(backend, &case) {
        Ok(outcome) => tally.record(outcome),
        Err(e) => panic!(
            "{backend}, {}, {params:?} on {height}×{width}: {e}",
            T::DTYPE
        ),
    }
}

/// `PARALLEL_MIN_TAPS` in `crates/core/src/engine.rs`: calls with fewer window taps run on the calling thread alone.
const ENGINE_PARALLEL_MIN_TAPS: usize = 1 << 16;

/// One plan shared by several threads gives each what a single thread gets. The calls are large enough to be
/// split over helper threads, and the thread count is above the number of callers, so that calls take helpers
/// while the others pool: over planes with the multiplier, over runs of rows without it. CI runs this under
/// ThreadSanitizer.
fn shared_plan(backend: Backend) {
    const PLANES: usize = 8;
    const SIDE: usize = 96;
    let params = Params::new(3)
        .with_stride(3)
        .with_padding(1)
        .with_ceil_mode(true);
    let plan = Plan::new(backend, &params, SIDE, SIDE).unwrap();
    let out_len = PLANES * plan.geometry().out_plane_len();
    assert!(
        out_len * 9 >= ENGINE_PARALLEL_MIN_TAPS,
        "{} window taps a call, too few to be split over threads",
        out_len * 9
    );
    let inputs: Vec<Vec<f32>> = (0..4)
        .map(|t| {
            (0..PLANES * SIDE * SIDE)
                .map(|i| ((i * 7919 + t * 104729) % 1000) as f32 - 500.0)
                .collect()
        })
        .collect();
    let run = |input: &[f32], with_multiplier: bool| {
        let (mut v, mut ix) = (vec![0.0; out_len], vec![0; out_len]);
        let mut m = vec![0; if with_multiplier { input.len() } else { 0 }];
        let out = Outputs::new(&mut v).with_indices(&mut ix);
        let out = if with_multiplier {
            out.with_multiplier(&mut m)
        } else {
            out
        };
        plan.forward(input, PLANES, out).unwrap();
        (v, ix, m)
    };
    // Other tests change the thread count too; results must not depend on it.
    maxpool::set_num_threads(1).unwrap();
    let alone: Vec<_> = inputs.iter().map(|i| run(i, true)).collect();
    maxpool::set_num_threads(8).unwrap();
    std::thread::scope(|s| {
        let handles: Vec<_> = inputs
            .iter()
            .map(|i| s.spawn(move || (0..10).map(|r| run(i, r % 2 == 0)).collect::<Vec<_>>()))
            .collect();
        for (h, want) in handles.into_iter().zip(&alone) {
            for (r, got) in h.join().unwrap().into_iter().enumerate() {
                assert_eq!((&got.0, &got.1), (&want.0, &want.1), "run {r}");
                if r % 2 == 0 {
                    assert_eq!(got.2, want.2, "run {r}");
                }
            }
        }
    });
    maxpool::set_num_threads(0).unwrap();
}

macro_rules! conformance_suite {
    ($($module:ident => $backend:expr),* $(,)?) => {$(
        mod $module {
            use super::*;
            const BACKEND: Backend = $backend;

            #[test]
            fn notebook_cases() {
                notebook(BACKEND);
            }

            #[test]
            fn public_vectors() {
                vectors(BACKEND);
            }

            #[test]
            fn plan_shared_across_threads() {
                if BACKEND.supports(&Params::new(3)).is_ok() {
                    shared_plan(BACKEND);
                }
            }

            #[test]
            fn large_cases_at_any_thread_count() {
                large_cases(BACKEND);
            }

            #[test]
            fn channel_runs_f32() { channel_runs::<f32>(BACKEND); }
            #[test]
            fn channel_runs_f16() { channel_runs::<maxpool::f16>(BACKEND); }
            #[test]
            fn channel_runs_bf16() { channel_runs::<maxpool::bf16>(BACKEND); }

            #[test]
            fn bands_f32() { bands::<f32>(BACKEND); }
            #[test]
            fn bands_f16() { bands::<maxpool::f16>(BACKEND); }

            #[test]
            fn coded_f32() { coded::<f32>(BACKEND); }
            #[test]
            fn coded_i16() { coded::<i16>(BACKEND); }
            #[test]
            fn coded_bf16() { coded::<maxpool::bf16>(BACKEND); }

            #[test]
            fn row_widths_f32() { row_widths::<f32>(BACKEND); }
            #[test]
            fn row_widths_f64() { row_widths::<f64>(BACKEND); }
            #[test]
            fn row_widths_i8() { row_widths::<i8>(BACKEND); }
            #[test]
            fn row_widths_u16() { row_widths::<u16>(BACKEND); }
            #[test]
            fn row_widths_f16() { row_widths::<maxpool::f16>(BACKEND); }
            #[test]
            fn row_widths_bf16() { row_widths::<maxpool::bf16>(BACKEND); }

            #[test]
            fn properties_f32() { properties::<f32>(BACKEND); }
            #[test]
            fn properties_f64() { properties::<f64>(BACKEND); }
            #[test]
            fn properties_i8() { properties::<i8>(BACKEND); }
            #[test]
            fn properties_u8() { properties::<u8>(BACKEND); }
            #[test]
            fn properties_i16() { properties::<i16>(BACKEND); }
            #[test]
            fn properties_u16() { properties::<u16>(BACKEND); }
            #[test]
            fn properties_i32() { properties::<i32>(BACKEND); }
            #[test]
            fn properties_i64() { properties::<i64>(BACKEND); }
            #[test]
            fn properties_f16() { properties::<maxpool::f16>(BACKEND); }
            #[test]
            fn properties_bf16() { properties::<maxpool::bf16>(BACKEND); }
        }
    )*};
}

conformance_suite! {
    naive => Backend::Naive,
    block => Backend::Block,
    lookup => Backend::Lookup,
    simd => Backend::Simd,
    auto => Backend::Auto,
}

/// Planes big enough that calls run on several threads, split over planes and over rows, at thread counts from
/// 1 to 4, checked against the reference. Other tests run meanwhile, so the global thread count also changes
/// under running calls, which must not change any result.
fn large_cases(backend: Backend) {
    let tally = Tally::new("large cases");
    let mut runner = TestRunner::new(Config {
        cases: 16,
        failure_persistence: None,
        ..Config::default()
    });
    // Cases this large are drawn from a seed: shrinking their hundreds of thousands of choices would not help.
    let strategy = any::<u64>().prop_map(|seed| {
        let src = &mut Seeded::new(seed);
        let params = params(src);
        let (planes, height, width) = (src.range(1, 3), src.range(60, 160), src.range(60, 160));
        let threads = src.range(1, 4);
        (
            drawn_case::<f32>(src, params, planes, height, width),
            threads,
        )
    });
    let result = runner.run(&strategy, |(case, threads)| {
        maxpool::set_num_threads(threads).unwrap();
        let outcome = check_case(backend, &case).map_err(TestCaseError::fail);
        maxpool::set_num_threads(0).unwrap();
        tally.record(outcome?);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{backend}: {e}");
    }
    tally.finish(backend);
}

/// Cases with many planes, so that the channels-last layout has runs of channels as long as the hand-written
/// kernels' vectors: multiples of 8 (which the AVX2 kernel pools a row of windows at a time, i64 codes widened
/// from 32-bit offsets; 16 for the 16-bit floats), and lengths with a rest for the portable loops. The other cases
/// have at most 3.
fn channel_runs<T: Sample>(backend: Backend) {
    let tally = Tally::new(format!("channel runs {}", T::DTYPE));
    let mut runner = TestRunner::new(Config {
        cases: 24,
        failure_persistence: None,
        ..Config::default()
    });
    // Planes split into two images of C channels when even: C = 8, 16, 24, 32, 17, 80 (two vectors of 32 and a
    // rest), and 27 in one image.
    const PLANES: [usize; 7] = [16, 32, 48, 64, 34, 160, 27];
    let strategy = any::<u64>().prop_map(|seed| {
        let src = &mut Seeded::new(seed);
        let params = params(src);
        let planes = PLANES[src.below(PLANES.len() as u64) as usize];
        let (height, width) = (src.range(1, 12), src.range(1, 12));
        drawn_case::<T>(src, params, planes, height, width)
    });
    let result = runner.run(&strategy, |case| {
        tally.record(check_case(backend, &case).map_err(TestCaseError::fail)?);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{backend}: {e}");
    }
    // Geometries the channels-last kernel pools separably at AVX2 (column stride 1, no dilation, no column
    // padding, whole vectors of channels), which random parameters reach seldom: rows padded or strided, and
    // kernels taller and wider than they are long.
    let rows_padded = Padding {
        top: 1,
        bottom: 1,
        left: 0,
        right: 0,
    };
    let separable = [
        (Params::new(3).with_stride(1), 32, 7, 9),
        (
            Params::rect(2, 3)
                .with_stride(1)
                .with_padding_sides(rows_padded),
            16,
            6,
            10,
        ),
        (Params::new(3).with_stride_hw(2, 1), 48, 9, 8),
        (Params::rect(4, 2).with_stride(1), 16, 8, 5),
        (Params::new(3).with_stride(1).with_ceil_mode(true), 64, 5, 3),
        // Windows sharing a tap column along the row (the ResNet stem's), which the AVX-512 16-bit kernel
        // carries from a window to the next: channels in two vectors and a rest.
        (Params::new(3).with_stride(2).with_padding(1), 160, 7, 11),
    ];
    for (k, (params, planes, height, width)) in separable.into_iter().enumerate() {
        for seed in 0..4 {
            let src = &mut Seeded::new(1000 * k as u64 + seed);
            let case = drawn_case::<T>(src, params, planes, height, width);
            let checked = check_case(backend, &case)
                .unwrap_or_else(|e| panic!("{backend}: {params:?} {planes}×{height}×{width}: {e}"));
            tally.record(checked);
        }
    }
    tally.finish(backend);
}

/// Every backend computes the same on every instruction-set level this CPU has: the whole suite runs again in a
/// child process for each level but the best (this run's), capped with `MAXPOOL_SIMD` (block, lookup and simd compile their loops per level).
#[test]
fn simd_suite_on_every_instruction_set() {
    if std::env::var_os(maxpool::SIMD_ENV).is_some() {
        return; // a child run
    }
    let exe = std::env::current_exe().unwrap();
    // The best level is this run's own (no cap): its tests are the ones beside this one.
    let active = maxpool::technique::Simd::active().ok();
    for level in maxpool::technique::Simd::available() {
        if Some(level) == active {
            println!("MAXPOOL_SIMD={level}: this run's own level");
            continue;
        }
        let out = std::process::Command::new(&exe)
            .args([
                "--skip",
                "simd_suite_on_every_instruction_set",
                "--test-threads",
                "2",
            ])
            .env(maxpool::SIMD_ENV, level.name())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("test result: ok"),
            "the suite fails with MAXPOOL_SIMD={level}:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let passed = stdout.lines().filter(|l| l.ends_with("... ok")).count();
        assert!(
            passed >= 10,
            "MAXPOOL_SIMD={level}: only {passed} tests ran:\n{stdout}"
        );
        println!("MAXPOOL_SIMD={level}: {passed} tests passed");
    }
}

/// The vector file covers every element type, so `with_dtype!` is exercised for all of them.
#[test]
fn vectors_cover_every_dtype() {
    let vectors = load();
    for d in maxpool::DType::ALL {
        assert!(vectors.iter().any(|v| v.dtype == d), "no vector of {d}");
    }
    fn planes<T: FromJson>(v: &vectors::Vector) -> usize {
        v.case::<T>().planes
    }
    assert!(
        vectors
            .iter()
            .map(|v| with_dtype!(v.dtype, planes(v)))
            .any(|p| p > 1),
        "no multi-plane vector"
    );
}

/// The nearest 16-bit float to `x` (ties to the even pattern, overflow to ±∞ past the largest number's half
/// unit), found among every finite pattern and +∞ decoded by hand: the reference for the backward pass's single
/// rounding, apart from the library's conversions.
fn round_half(x: f32, table: &[(f64, u16)]) -> u16 {
    let (sign, m) = (
        if x.is_sign_negative() { 0x8000 } else { 0 },
        f64::from(x.abs()),
    );
    let above = table.partition_point(|&(v, _)| v < m);
    let pick = match (above.checked_sub(1).map(|i| table[i]), table.get(above)) {
        (_, Some(&(v, bits))) if v == m => bits,
        (Some((lo, lo_bits)), Some(&(hi, hi_bits))) => {
            let (dl, dh) = (m - lo, hi - m);
            if dl < dh || (dl == dh && lo_bits & 1 == 0) {
                lo_bits
            } else {
                hi_bits
            }
        }
        (None, Some(&(_, bits))) => bits,
        (Some((_, bits)), None) => bits,
        (None, None) => unreachable!("the table is not empty"),
    };
    sign | pick
}

/// The non-negative finite patterns of a 16-bit float and +∞, by value, for [`round_half`].
fn half_table(exponent_bits: u32) -> Vec<(f64, u16)> {
    let inf = ((1u16 << exponent_bits) - 1) << (15 - exponent_bits);
    let mut table: Vec<(f64, u16)> = (0..=inf)
        .map(|bits| (maxpool_conformance::decode_half(bits, exponent_bits), bits))
        .collect();
    // Rounding treats +∞ as the next number after the largest, one unit above it.
    let n = table.len();
    table[n - 1].0 = 2.0 * table[n - 2].0 - table[n - 3].0;
    table
}

/// The backward pass in f16 and bf16: each element's gradients summed in f32, in output order, and rounded once
/// to nearest even; through the slice call, Fortran-order arrays and channels-last arrays, for every backend.
/// Gradients are drawn over the whole finite range, so per-add rounding would differ; and one element that wins
/// three windows gets 2048, 1 and 1, which sum to 2050 in f16 only when rounded once.
macro_rules! half_backward {
    ($($name:ident: $t:ty, $exponent_bits:expr;)*) => {$(
        #[test]
        fn $name() {
            use maxpool::ndarray::{Array3, ShapeBuilder};
            use maxpool::{IndexFormat, Float};
            let table = half_table($exponent_bits);
            let widen = |g: $t| maxpool_conformance::decode_half(g.to_bits(), $exponent_bits) as f32;
            let mut src = Seeded::new(21);
            for backend in [Backend::Naive, Backend::Block, Backend::Lookup, Backend::Simd] {
                for params in [Params::new(3).with_stride(1).with_padding(1), Params::new(2), Params::new(3).with_stride(2)] {
                    if backend.supports(&params).is_err() {
                        continue;
                    }
                    let (planes, h, w) = (3, 9, 10);
                    let plan = Plan::new(backend, &params, h, w).unwrap();
                    let [oh, ow] = plan.out_shape();
                    let input: Vec<$t> = (0..planes * h * w).map(|_| <$t>::draw(&mut src)).collect();
                    let mut values = vec![<$t>::default(); planes * oh * ow];
                    let mut indices = vec![0i64; planes * oh * ow];
                    plan.forward(&input, planes, Outputs::new(&mut values).with_indices(&mut indices)).unwrap();
                    // Finite gradients over the whole range, and a plane whose gradients all land on few elements.
                    let mut grad: Vec<$t> = (0..planes * oh * ow)
                        .map(|_| loop {
                            let g = <$t>::from_bits(src.next_u64() as u16);
                            if widen(g).is_finite() {
                                break g;
                            }
                        })
                        .collect();
                    let mut want = vec![0u16; planes * h * w];
                    for p in 0..planes {
                        let mut sums = vec![0f32; h * w];
                        for o in 0..oh * ow {
                            sums[indices[p * oh * ow + o] as usize] += widen(grad[p * oh * ow + o]);
                        }
                        for (i, &s) in sums.iter().enumerate() {
                            want[p * h * w + i] = round_half(s, &table);
                        }
                    }
                    let mut got = vec![<$t>::default(); planes * h * w];
                    plan.backward(planes, &grad, &indices, &mut got).unwrap();
                    let got_bits: Vec<u16> = got.iter().map(|g| g.to_bits()).collect();
                    assert_eq!(got_bits, want, "{backend} {params:?}: slice backward");

                    // The same through arrays read in place: Fortran order, and channels-last.
                    let go = Array3::from_shape_vec((planes, oh, ow), grad.clone()).unwrap();
                    let ix = Array3::from_shape_vec((planes, oh, ow), indices.clone()).unwrap();
                    let mut go_f = Array3::from_elem((planes, oh, ow).f(), <$t>::default());
                    go_f.assign(&go);
                    let mut ix_f = Array3::from_elem((planes, oh, ow).f(), 0i64);
                    ix_f.assign(&ix);
                    let got = plan.backward_with(go_f.view(), ix_f.view(), IndexFormat::Plane).unwrap();
                    let got_bits: Vec<u16> = got.iter().map(|g| g.to_bits()).collect();
                    assert_eq!(got_bits, want, "{backend} {params:?}: Fortran-order backward");
                    let (go_hwc, ix_hwc) = (
                        go.view().permuted_axes([1, 2, 0]).as_standard_layout().to_owned(),
                        ix.view().permuted_axes([1, 2, 0]).as_standard_layout().to_owned(),
                    );
                    let got = plan
                        .backward_nhwc(go_hwc.view(), ix_hwc.view(), IndexFormat::Plane)
                        .unwrap()
                        .permuted_axes([2, 0, 1]);
                    let got_bits: Vec<u16> = got.iter().map(|g| g.to_bits()).collect();
                    assert_eq!(got_bits, want, "{backend} {params:?}: channels-last backward");
                    grad.clear();
                }
            }
            // Rounded once, not after each add: 2048 + 1 + 1 is 2050 (even) in f16, where per-add rounding
            // (2048 + 1 is a tie, to even 2048) gives 2048; in bf16, 256 + 1 + 1 is 258, per-add 256.
            let big = if $exponent_bits == 5 { 2048.0 } else { 256.0 };
            let plan = Plan::new(Backend::Naive, &Params::new(3).with_stride(1), 3, 5).unwrap();
            let input: Vec<$t> = [0., 0., 9., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0.]
                .iter().map(|&x| <$t>::from_f32(x)).collect();
            let mut values = vec![<$t>::default(); 3];
            let mut indices = vec![0i64; 3];
            plan.forward(&input, 1, Outputs::new(&mut values).with_indices(&mut indices)).unwrap();
            assert_eq!(indices, [2, 2, 2]);
            let grad: Vec<$t> = [big, 1.0, 1.0].iter().map(|&x| <$t>::from_f32(x)).collect();
            let mut got = vec![<$t>::default(); 15];
            plan.backward(1, &grad, &indices, &mut got).unwrap();
            assert_eq!(got[2].to_f32(), big + 2.0);
            assert_eq!(<$t as Float>::narrow(<$t as Float>::widen(got[2])), got[2]);
        }
    )*};
}

half_backward! {
    backward_f16_sums_in_f32_and_rounds_once: maxpool::f16, 5;
    backward_bf16_sums_in_f32_and_rounds_once: maxpool::bf16, 8;
}
