//! The slice of the suite that Miri runs (`.ci/run`, at the AVX2 and portable levels): every backend on small
//! shapes chosen to reach every tail and mask of the hand-written kernels, each buffer in an allocation of its own
//! and of exactly its length, so that Miri sees any pointer formed or access made past its end; the results are
//! checked against the reference too. Natively it takes a few milliseconds and runs with the other tests.
//!
//! Under Miri, `is_x86_feature_detected!` reports only the features enabled at compile time, so the level is the
//! build's: portable without target features, AVX2 with `RUSTFLAGS="-C
//! target-feature=+avx2,+fma,+bmi1,+bmi2,+lzcnt,+popcnt"` (the features `Simd::Avx2` checks for). The test insists
//! that the level running is the one the build asked for. Miri cannot run the AVX-512 kernels (it has no
//! `vpermi2var`), so they are checked natively only. (`MAXPOOL_SIMD` is no way to choose a level under Miri:
//! `cargo miri` runs a test with the environment it was built with.)
//!
//! Miri runs it about a thousand times slower than native code: the shapes are a sample, sized so that a run takes
//! a minute or two.

use maxpool::technique::{Planned, Simd, Technique, VectorisedRows};
use maxpool::{
    Backend, ErrorKind, Float, IndexFormat, Layout, Outputs, Padding, Params, Plan, PooledMut,
    TensorMut, TensorOutputs, TensorRef, Want, SIMD_ENV,
};
use maxpool_conformance::{elements, reference, Expected, Sample, Seeded, Source};

/// The level the plans run, checked: under Miri, the one the build's target features give; natively, when
/// `MAXPOOL_SIMD` is set, its level (a lower one, for want of the CPU's features, fails the test). The simd
/// backend's plan says which level it runs; the other backends take theirs from the same place ([`Simd::active`]).
fn level() -> Simd {
    let active = Simd::active().expect("MAXPOOL_SIMD names a level");
    if cfg!(miri) {
        let avx2 = cfg!(all(
            target_feature = "avx2",
            target_feature = "fma",
            target_feature = "bmi1",
            target_feature = "bmi2",
            target_feature = "lzcnt",
            target_feature = "popcnt"
        ));
        assert!(
            avx2 || !cfg!(target_feature = "avx2"),
            "the AVX2 level needs -C target-feature=+avx2,+fma,+bmi1,+bmi2,+lzcnt,+popcnt"
        );
        let avx512 = cfg!(all(
            target_feature = "avx512f",
            target_feature = "avx512bw",
            target_feature = "avx512dq",
            target_feature = "avx512vl"
        ));
        let built = match (avx2, avx512) {
            (true, true) => Simd::Avx512,
            (true, false) => Simd::Avx2,
            _ => Simd::Portable,
        };
        assert_eq!(active, built, "the level running is not the one built for");
    } else if let Ok(asked) = std::env::var(SIMD_ENV) {
        assert!(
            active.name().eq_ignore_ascii_case(asked.trim()),
            "{SIMD_ENV}={asked} but the level running is {active}"
        );
    }
    let simd = Planned::<VectorisedRows>::new(&Params::new(3).with_stride(2), 5, 5).unwrap();
    assert_eq!(simd.technique().simd(), active);
    active
}

/// One geometry on one plane size; the elements are drawn from `seed`.
#[derive(Clone, Copy, Debug)]
struct Shape {
    params: Params,
    planes: usize,
    height: usize,
    width: usize,
    seed: u64,
}

/// Padding on the sides chosen by `which`: none, all round, left and top, right and bottom.
fn padding(which: usize) -> Padding {
    let [top, bottom, left, right] =
        [[0, 0, 0, 0], [1, 1, 1, 1], [1, 0, 1, 0], [0, 1, 0, 1]][which % 4];
    Padding {
        top,
        bottom,
        left,
        right,
    }
}

/// The shapes. First the hand-written kernels' geometries, at widths from 1 to 40: 2×2 tiles (block), where the
/// widths give every count of blocks in the last group of 8 (AVX2), with and without ragged edges, on one and two
/// planes, and tiling whole planes (the kernel then writes the multiplier itself); and 3×3 windows at stride 2
/// (simd), where they give every count of windows in the last strip of 16 (two halves of 8 on AVX2), with padding
/// on either side. Their other choices go by the width. Then a sample of kernels 1–4, strides 1–3, dilation 1–2,
/// padding and ceil mode. Heights are 1 to 5.
fn shapes() -> Vec<Shape> {
    let mut src = Seeded::new(18);
    let mut out = vec![];
    let mut push = |params, planes, height, width, src: &mut Seeded| {
        out.push(Shape {
            params,
            planes,
            height,
            width,
            seed: src.next_u64(),
        })
    };
    for width in (1..=20).chain([23, 29, 33, 37, 40]) {
        let i = width - 1;
        let pad = if i % 3 == 2 {
            padding(i / 3)
        } else {
            padding(0)
        };
        let params = Params::new(2)
            .with_padding_sides(pad)
            .with_ceil_mode(i % 4 == 3);
        let (planes, height) = ([1, 2, 1, 1, 1][i % 5], [2, 4, 1, 3, 5][i % 5]);
        push(params, planes, height, width, &mut src);
    }
    for width in (1..=24).chain([26, 27, 30, 32, 35, 40]) {
        let i = width - 1;
        let pad = padding(i);
        let params = Params::new(3)
            .with_stride(2)
            .with_padding_sides(pad)
            .with_ceil_mode(i % 3 == 1);
        // Heights 1 and 2 take padding to hold a window.
        let height = if pad.top + pad.bottom > 0 && i % 5 == 1 {
            3 - pad.top - pad.bottom
        } else {
            [3, 4, 3, 5][i % 4]
        };
        push(params, 1, height, width, &mut src);
    }
    for _ in 0..SAMPLE {
        let kernel = [src.range(1, 4), src.range(1, 4)];
        let stride = [src.range(1, 3), src.range(1, 3)];
        let dilation = [src.range(1, 2), src.range(1, 2)];
        let mut pad = |axis: usize| src.range(0, (dilation[axis] * (kernel[axis] - 1)).min(2));
        let padding = Padding {
            top: pad(0),
            bottom: pad(0),
            left: pad(1),
            right: pad(1),
        };
        let params = Params {
            kernel,
            stride,
            padding,
            dilation,
            ceil_mode: src.coin(),
        };
        let (height, width) = (src.range(1, 5), src.range(1, 40));
        push(params, 1, height, width, &mut src);
    }
    out
}

/// How many shapes of the general sample [`shapes`] ends with.
const SAMPLE: usize = 16;

/// A type backward runs on, converted to and from `f64` to sum the expected gradients.
trait Grad: Sample + Float {
    fn from_f64(x: f64) -> Self;
    fn to_f64(self) -> f64;
}

impl Grad for f32 {
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    fn to_f64(self) -> f64 {
        self.into()
    }
}

impl Grad for maxpool::f16 {
    fn from_f64(x: f64) -> Self {
        maxpool::f16::from_f64(x)
    }
    fn to_f64(self) -> f64 {
        maxpool::f16::to_f64(self)
    }
}

impl Grad for f64 {
    fn from_f64(x: f64) -> Self {
        x
    }
    fn to_f64(self) -> f64 {
        self
    }
}

/// Runs `shape` on every backend with elements of `T`, each output buffer in an allocation of its own and of
/// exactly its length: forward with every output, forward with the multiplier but not the indices, and backward,
/// all checked against the reference. Backward is the engine's, the same whatever the backend, so it runs with one
/// plan per shape, the backends taking turns (`turn`). Returns the backends that ran it (block pools tiles only).
fn check<T: Grad>(shape: &Shape, turn: usize) -> Vec<Backend> {
    let Shape {
        params,
        planes,
        height: h,
        width: w,
        seed,
    } = *shape;
    let input: Vec<T> = elements(&mut Seeded::new(seed), planes * h * w);
    let expected = reference(&params, planes, h, w, &input);
    let plans: Vec<Plan> = Backend::CONCRETE
        .into_iter()
        .filter_map(|backend| match Plan::new(backend, &params, h, w) {
            Ok(plan) => Some(plan),
            Err(e) if e.kind() == ErrorKind::Unsupported && backend == Backend::Block => None,
            Err(e) => {
                assert_eq!(
                    Err(e.kind()),
                    expected.as_ref().map(|_| ()).map_err(|&k| k),
                    "{backend} {shape:?}"
                );
                None
            }
        })
        .collect();
    let Ok(e) = expected else {
        assert!(
            plans.is_empty(),
            "{shape:?}: planned, but the reference refuses it"
        );
        return vec![];
    };
    for (k, plan) in plans.iter().enumerate() {
        forward(plan, shape, &input, &e);
        if k == turn % plans.len() {
            backward(plan, shape, &e);
        }
    }
    plans.iter().map(Plan::backend).collect()
}

/// `plan`'s forward passes on `input`, checked against `e`. The outputs hold junk first, all to be overwritten.
fn forward<T: Grad>(plan: &Plan, shape: &Shape, input: &[T], e: &Expected<T>) {
    let backend = plan.backend();
    let (out_len, in_len) = (e.values.len(), input.len());
    let same = |a: &[T], b: &[T]| a.iter().map(|x| x.bits()).eq(b.iter().map(|x| x.bits()));

    let mut values = vec![T::one(); out_len];
    let mut indices = vec![-1i64; out_len];
    let mut multiplier = vec![7u32; in_len];
    let out = Outputs::new(&mut values)
        .with_indices(&mut indices)
        .with_multiplier(&mut multiplier);
    plan.forward(input, shape.planes, out).unwrap();
    assert!(
        same(&values, &e.values),
        "{backend} {shape:?}: values {values:?}, expected {:?}",
        e.values
    );
    assert_eq!(indices, e.indices, "{backend} {shape:?}: indices");
    assert_eq!(multiplier, e.multiplier, "{backend} {shape:?}: multiplier");

    // The multiplier without the indices: counted from indices the engine keeps itself.
    let mut values = vec![T::one(); out_len];
    let mut multiplier = vec![3u32; in_len];
    let out = Outputs::new(&mut values).with_multiplier(&mut multiplier);
    plan.forward(input, shape.planes, out).unwrap();
    assert!(
        same(&values, &e.values),
        "{backend} {shape:?}: values without indices"
    );
    assert_eq!(
        multiplier, e.multiplier,
        "{backend} {shape:?}: multiplier without indices"
    );
}

/// `plan`'s backward pass of small exact gradients through the reference's indices: each is added onto its
/// window's winner.
fn backward<T: Grad>(plan: &Plan, shape: &Shape, e: &Expected<T>) {
    let (planes, in_len) = (shape.planes, e.multiplier.len());
    let grad_output: Vec<T> = (0..e.values.len())
        .map(|o| T::from_f64((o % 7) as f64 + 0.5))
        .collect();
    let mut grad_input = vec![T::one(); in_len];
    plan.backward(planes, &grad_output, &e.indices, &mut grad_input)
        .unwrap();
    let (per_out, per_in) = (e.out_height * e.out_width, in_len / planes);
    let mut want = vec![0.0f64; in_len];
    for (o, (&g, &ix)) in grad_output.iter().zip(&e.indices).enumerate() {
        want[o / per_out * per_in + ix as usize] += g.to_f64();
    }
    let want: Vec<T> = want.into_iter().map(T::from_f64).collect();
    let same = grad_input
        .iter()
        .map(|x| x.bits())
        .eq(want.iter().map(|x| x.bits()));
    assert!(
        same,
        "{} {shape:?}: grad_input {grad_input:?}, expected {want:?}",
        plan.backend()
    );
}

/// Every shape on every backend, in `f32` (the hand-written kernels' type) and, for half the general sample, also
/// in `f64` (and for a quarter, `f16`, which also runs on the column-stride-2 shapes of 15 columns or more).
#[test]
fn miri_every_backend_on_every_tail() {
    let level = level();
    let shapes = shapes();
    let mut ran = vec![0; Backend::CONCRETE.len()];
    for (i, shape) in shapes.iter().enumerate() {
        for backend in check::<f32>(shape, i) {
            ran[Backend::CONCRETE
                .iter()
                .position(|&b| b == backend)
                .unwrap()] += 1;
        }
        if i >= shapes.len() - SAMPLE && i % 2 == 0 {
            check::<f64>(shape, i);
        }
        // f16's generic kernels, and its backward summed in f32, on a quarter of the sample; and the AVX2
        // 16-bit loop for windows at column stride 2 (k2 s2, k3 s2) on the rows long enough for its vectors.
        let pairs = shape.params.stride[1] == 2 && shape.width >= 15;
        if (i >= shapes.len() - SAMPLE && i % 4 == 1) || (i < shapes.len() - SAMPLE && pairs) {
            check::<maxpool::f16>(shape, i);
        }
    }
    for (backend, ran) in Backend::CONCRETE.into_iter().zip(ran) {
        eprintln!("{backend} at {level}: {ran} of {} shapes", shapes.len());
        // Block pools the 2×2 tiles (but those too small for one) and the sample's tilings.
        let least = if backend == Backend::Block {
            18
        } else {
            shapes.len() * 3 / 4
        };
        assert!(ran >= least, "{backend}: only {ran} shapes ran");
    }
}

/// The tensor calls' own raw-pointer code, on every backend: a channels-last input with gaps between its
/// elements, outputs strided, one-byte window indices and the multiplier, then the backward pass from those
/// indices; each tensor in an allocation of exactly its span. The winners are the reference's.
#[test]
fn miri_tensor_calls_with_gaps() {
    let params = Params::new(3).with_stride(2).with_padding(1);
    let (n, c, h, w) = (2, 3, 5, 6);
    // Channels fastest, `apart` elements apart (1: the channels-last kernel's runs; 2: planes gathered); pixels,
    // rows and images step over their contents plus one.
    for apart in [1, 2] {
        tensor_calls_with_gaps(&params, [n, c, h, w], apart);
    }
    // Enough channels for the hand-written channels-last kernels' whole vectors (AVX2: one pair of 8 and one 8)
    // and the portable loops' rest; and a multiple of 8 with two interior windows a row, which the AVX2 kernel
    // pools a row at a time.
    tensor_calls_with_gaps(&params, [1, 27, 3, 4], 1);
    tensor_calls_with_gaps(&params, [1, 16, 3, 6], 1);
    // Stride 1 without padding, which the AVX2 kernel pools separably, through its ring of row winners.
    tensor_calls_with_gaps(&Params::new(3).with_stride(1), [2, 16, 5, 6], 1);
}

fn tensor_calls_with_gaps(params: &Params, [n, c, h, w]: [usize; 4], apart: usize) {
    let strided = |shape: [usize; 4]| {
        let [_, c, h, w] = shape;
        let sw = apart * c + 1;
        let sh = sw * w + 1;
        Layout {
            shape,
            strides: [sh * h + 1, apart, sh, sw],
        }
    };
    let params = *params;
    let layout = strided([n, c, h, w]);
    let input: Vec<f32> = elements(&mut Seeded::new(7), n * c * h * w);
    let e = reference(&params, n * c, h, w, &input).unwrap();
    let out = strided([n, c, e.out_height, e.out_width]);
    let mut placed = vec![f32::NAN; layout.span().unwrap()];
    let at = |l: &Layout, k: usize| {
        let [_, c, h, w] = l.shape;
        l.offset([k / (c * h * w), k / (h * w) % c, k / w % h, k % w])
    };
    for (k, &x) in input.iter().enumerate() {
        placed[at(&layout, k)] = x;
    }
    for backend in Backend::CONCRETE {
        let Ok(plan) = Plan::new(backend, &params, h, w) else {
            continue;
        };
        let mut values = vec![0.0f32; out.span().unwrap()];
        let mut indices = vec![0u8; out.span().unwrap()];
        let mut multiplier = vec![0u32; layout.span().unwrap()];
        plan.forward_tensor(
            TensorRef::new(&placed, layout),
            TensorOutputs::new(TensorMut::new(&mut values, out))
                .with_indices(TensorMut::new(&mut indices, out), IndexFormat::Window)
                .with_multiplier(TensorMut::new(&mut multiplier, layout)),
        )
        .unwrap();
        for (k, &ix) in e.indices.iter().enumerate() {
            let (p, o) = (
                k / (e.out_height * e.out_width),
                k % (e.out_height * e.out_width),
            );
            let decoded = IndexFormat::Window
                .decode(
                    plan.geometry(),
                    layout.shape,
                    [p / c, p % c, o / e.out_width, o % e.out_width],
                    indices[at(&out, k)] as i64,
                )
                .unwrap();
            assert_eq!(decoded as i64, ix, "{backend}: winner {k}");
            assert_eq!(values[at(&out, k)].to_bits(), e.values[k].to_bits());
        }
        for (k, &m) in e.multiplier.iter().enumerate() {
            assert_eq!(multiplier[at(&layout, k)], m, "{backend}: multiplier {k}");
        }
        // Without the multiplier (which kernels take other ways): the same values and indices.
        let (mut values_only, mut indices_only) = (
            vec![0.0f32; out.span().unwrap()],
            vec![0u8; out.span().unwrap()],
        );
        plan.forward_tensor(
            TensorRef::new(&placed, layout),
            TensorOutputs::new(TensorMut::new(&mut values_only, out))
                .with_indices(TensorMut::new(&mut indices_only, out), IndexFormat::Window),
        )
        .unwrap();
        for k in 0..e.indices.len() {
            let o = at(&out, k);
            assert_eq!(indices_only[o], indices[o], "{backend}: winner {k}");
            assert_eq!(values_only[o].to_bits(), values[o].to_bits());
        }
        // And with i64 plane indices, which the AVX2 kernel selects as 32-bit offsets.
        let mut plane_indices = vec![0i64; out.span().unwrap()];
        plan.forward_tensor(
            TensorRef::new(&placed, layout),
            TensorOutputs::new(TensorMut::new(&mut values_only, out))
                .with_indices(TensorMut::new(&mut plane_indices, out), IndexFormat::Plane),
        )
        .unwrap();
        for (k, &ix) in e.indices.iter().enumerate() {
            assert_eq!(
                plane_indices[at(&out, k)],
                ix,
                "{backend}: plane winner {k}"
            );
        }
        // And the multiplier alone, which the channels-last kernel counts from scratch indices of its own.
        let mut counts_only = vec![7u32; layout.span().unwrap()];
        plan.forward_tensor(
            TensorRef::new(&placed, layout),
            TensorOutputs::new(TensorMut::new(&mut values_only, out))
                .with_multiplier(TensorMut::new(&mut counts_only, layout)),
        )
        .unwrap();
        for (k, &m) in e.multiplier.iter().enumerate() {
            assert_eq!(
                counts_only[at(&layout, k)],
                m,
                "{backend}: multiplier alone {k}"
            );
        }
        let grad = vec![1.0f32; out.span().unwrap()];
        let mut grad_input = vec![5.0f32; layout.span().unwrap()];
        plan.backward_tensor(
            TensorRef::new(&grad, out),
            TensorRef::new(&indices, out).into(),
            IndexFormat::Window,
            TensorMut::new(&mut grad_input, layout),
        )
        .unwrap();
        for (k, &m) in e.multiplier.iter().enumerate() {
            assert_eq!(
                grad_input[at(&layout, k)],
                m as f32,
                "{backend}: gradient {k}"
            );
        }
    }
}

/// Dense NCHW with one-byte window indices, which the AVX2 3×3/2 and 2×2 kernels write themselves into the
/// caller's planes: strips and rows of blocks with short last groups, and rows of fewer than 8 blocks; each
/// tensor in an allocation of exactly its length. The winners are the reference's.
#[test]
fn miri_tensor_window_codes_in_place() {
    let cases = [
        (Params::new(3).with_stride(2).with_padding(1), [1, 2, 5, 35]),
        (Params::new(2), [1, 2, 4, 20]),
        (Params::new(2), [2, 1, 2, 6]),
    ];
    for (params, [n, c, h, w]) in cases {
        let input: Vec<f32> = elements(&mut Seeded::new(11), n * c * h * w);
        let e = reference(&params, n * c, h, w, &input).unwrap();
        let (oh, ow) = (e.out_height, e.out_width);
        let (layout, out) = (Layout::nchw(n, c, h, w), Layout::nchw(n, c, oh, ow));
        for backend in Backend::CONCRETE {
            let Ok(plan) = Plan::new(backend, &params, h, w) else {
                continue;
            };
            let mut values = vec![0.0f32; n * c * oh * ow];
            let mut indices = vec![0u8; n * c * oh * ow];
            plan.forward_tensor(
                TensorRef::new(&input, layout),
                TensorOutputs::new(TensorMut::new(&mut values, out))
                    .with_indices(TensorMut::new(&mut indices, out), IndexFormat::Window),
            )
            .unwrap();
            for (k, &ix) in e.indices.iter().enumerate() {
                let (p, o) = (k / (oh * ow), k % (oh * ow));
                let decoded = IndexFormat::Window
                    .decode(
                        plan.geometry(),
                        layout.shape,
                        [p / c, p % c, o / ow, o % ow],
                        indices[k] as i64,
                    )
                    .unwrap();
                assert_eq!(decoded as i64, ix, "{backend}: winner {k} of {params:?}");
                assert_eq!(values[k].to_bits(), e.values[k].to_bits());
            }
        }
    }
}

/// Arrays pooled and their backward run in place: a channels-last image (values into arrays the caller made,
/// then the backward of ones, whose gradient starts uninitialised and must be written before it is read) and
/// a Fortran-order batch of planes.
#[test]
fn miri_arrays_in_place() {
    use maxpool::ndarray::{Array3, ShapeBuilder};
    let params = Params::new(3).with_stride(2).with_padding(1);
    let plan = Plan::new(Backend::Auto, &params, 5, 6).unwrap();
    let input = Array3::from_shape_fn((5, 6, 8), |(r, c, ch)| {
        ((r * 7 + c * 3 + ch * 5) % 11) as f32
    });
    let pooled = plan
        .pool_nhwc::<f32, _, u8>(input.view(), Want::ALL, IndexFormat::Window)
        .unwrap();
    let mut values = Array3::from_elem((3, 3, 8), 0.0f32);
    plan.pool_nhwc_into::<f32, _, u8>(
        input.view(),
        PooledMut {
            values: values.view_mut(),
            indices: None,
            multiplier: None,
        },
        IndexFormat::Window,
    )
    .unwrap();
    assert_eq!(values, pooled.values);
    let ones = pooled.values.mapv(|_| 1.0f32);
    let indices = pooled.indices.unwrap();
    let grad = plan
        .backward_nhwc(ones.view(), indices.view(), IndexFormat::Window)
        .unwrap();
    assert_eq!(grad, pooled.multiplier.unwrap().mapv(|m| m as f32));

    let mut planes = Array3::from_elem((2, 5, 6).f(), 0.0f64);
    planes.assign(
        &input
            .slice(maxpool::ndarray::s![.., .., ..2])
            .permuted_axes([2, 0, 1])
            .mapv(f64::from),
    );
    let pooled = plan.pool(planes.view(), Want::ALL).unwrap();
    let ones = pooled.values.mapv(|_| 1.0f64);
    let grad = plan
        .backward_with(
            ones.view(),
            pooled.indices.unwrap().view(),
            IndexFormat::Plane,
        )
        .unwrap();
    assert_eq!(grad, pooled.multiplier.unwrap().mapv(f64::from));

    // bf16, channels-last: pooled in place, and its backward summed in a widened copy, then rounded into a new
    // array.
    let input = input.mapv(maxpool::bf16::from_f32);
    let pooled = plan
        .pool_nhwc::<maxpool::bf16, _, i32>(input.view(), Want::ALL, IndexFormat::FlatHwc)
        .unwrap();
    let ones = pooled.values.mapv(|_| maxpool::bf16::ONE);
    let grad = plan
        .backward_nhwc(
            ones.view(),
            pooled.indices.unwrap().view(),
            IndexFormat::FlatHwc,
        )
        .unwrap();
    assert_eq!(
        grad,
        pooled
            .multiplier
            .unwrap()
            .mapv(|m| maxpool::bf16::from_f32(m as f32))
    );

    // f16, channels-last, 20 channels: a vector of 16 for the hand-written 16-bit kernel and a rest of 4 for the
    // portable loops. Every value is exact in f16, so the winners are f32's.
    let wide = Array3::from_shape_fn((5, 6, 20), |(r, c, ch)| {
        ((r * 7 + c * 3 + ch * 5) % 13) as f32 - 6.0
    });
    let halves = plan
        .pool_nhwc::<maxpool::f16, _, i64>(
            wide.mapv(maxpool::f16::from_f32).view(),
            Want::ALL,
            IndexFormat::Plane,
        )
        .unwrap();
    let singles = plan
        .pool_nhwc::<f32, _, i64>(wide.view(), Want::ALL, IndexFormat::Plane)
        .unwrap();
    assert_eq!(halves.values.mapv(maxpool::f16::to_f32), singles.values);
    assert_eq!(halves.indices, singles.indices);
    assert_eq!(halves.multiplier, singles.multiplier);
}
