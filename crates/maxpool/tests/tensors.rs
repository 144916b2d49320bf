//! Tensors of any layout through the Rust API: channels-last arrays pooled in place with channels-last
//! outputs, outputs in the input's memory order, the backward pass in every index format and type, and what
//! bad tensors get. (Every backend's winners in every layout and format are the conformance suite's.)

use maxpool::ndarray::{Array, Array4, Axis, Ix4, ShapeBuilder};
use maxpool::{
    Backend, DType, ErrorKind, IndexElement, IndexFormat, IndicesRef, Layout, Padding, Params,
    Plan, TensorMut, TensorOutputs, TensorRef, Want,
};

/// Element `i` of a test tensor: many ties, a few NaNs.
fn element(i: usize) -> f64 {
    if i % 29 == 7 {
        f64::NAN
    } else {
        ((i * 7919) % 23) as f64 - 11.0
    }
}

fn padded_dilated() -> Params {
    Params::rect(3, 2)
        .with_stride_hw(2, 1)
        .with_dilation_hw(1, 2)
        .with_padding_sides(Padding {
            top: 1,
            bottom: 1,
            left: 1,
            right: 0,
        })
}

#[test]
fn nhwc_arrays_pool_in_place_and_come_back_channels_last() {
    let (n, h, w, c) = (2, 7, 6, 5);
    let nhwc = Array4::from_shape_fn((n, h, w, c), |(a, b, d, e)| {
        element(((a * h + b) * w + d) * c + e)
    });
    let plan = Plan::new(Backend::Auto, &padded_dilated(), h, w).unwrap();
    let got = plan
        .pool_nhwc::<f64, Ix4, i64>(nhwc.view(), Want::ALL, IndexFormat::Plane)
        .unwrap();
    // The same data as a row-major NCHW copy, pooled the old way.
    let nchw = nhwc
        .view()
        .permuted_axes([0, 3, 1, 2])
        .as_standard_layout()
        .into_owned();
    let want = plan.pool(nchw.view(), Want::ALL).unwrap();
    let back = |a: &Array<f64, Ix4>| a.view().permuted_axes([0, 2, 3, 1]).to_owned();
    let [oh, ow] = plan.out_shape();
    assert_eq!(got.values.shape(), [n, oh, ow, c]);
    assert!(
        got.values.is_standard_layout(),
        "channels-last in, channels-last out"
    );
    let bits = |a: &Array<f64, Ix4>| a.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&got.values), bits(&back(&want.values)));
    let indices = want
        .indices
        .unwrap()
        .view()
        .permuted_axes([0, 2, 3, 1])
        .to_owned();
    assert_eq!(got.indices.unwrap(), indices);
    let multiplier = want
        .multiplier
        .unwrap()
        .view()
        .permuted_axes([0, 2, 3, 1])
        .to_owned();
    assert_eq!(got.multiplier.unwrap(), multiplier);
}

#[test]
fn outputs_follow_the_input_memory_order() {
    let (n, c, h, w) = (2, 3, 8, 8);
    let mut f_order = Array4::<f32>::zeros((n, c, h, w).f());
    for (i, x) in f_order.iter_mut().enumerate() {
        *x = ((i * 31) % 17) as f32;
    }
    let plan = Plan::new(Backend::Simd, &Params::new(2), h, w).unwrap();
    let got = plan.pool(f_order.view(), Want::ALL).unwrap();
    assert!(
        got.values.t().is_standard_layout(),
        "Fortran order in, Fortran order out"
    );
    assert!(got.multiplier.as_ref().unwrap().t().is_standard_layout());
    let copy = f_order.as_standard_layout().into_owned();
    assert_eq!(got, plan.pool(copy.view(), Want::ALL).unwrap());
    // Five axes, the leading two merged into N; a sliced view of them too.
    let five = Array::from_shape_fn((2, 2, 3, 8, 8), |(a, b, d, e, f)| {
        ((a + 3 * b + 5 * d + 7 * e + 11 * f) % 13) as i16
    });
    let sliced = five.slice_axis(Axis(1), (0..2).into());
    let got = plan
        .pool_with::<i16, _, i32>(sliced, Want::INDICES, IndexFormat::FlatNchw)
        .unwrap();
    let flat = got.indices.unwrap();
    assert_eq!(flat.shape(), [2, 2, 3, 4, 4]);
    // flat_nchw counts planes over the merged N = 4 and C = 3.
    let plane = |a: usize, b: usize, d: usize| ((a * 2 + b) * 3 + d) as i32 * 64;
    for ((a, b, d, _, _), &ix) in flat.indexed_iter() {
        assert!((plane(a, b, d)..plane(a, b, d) + 64).contains(&ix));
    }
}

/// Forward in every format and index type, channels-last, then backward from those indices: the gradient
/// the plane-index backward gives.
#[test]
fn backward_takes_every_format_and_type() {
    let (n, c, h, w) = (2, 3, 7, 6);
    let plan = Plan::new(Backend::Naive, &padded_dilated(), h, w).unwrap();
    let [oh, ow] = plan.out_shape();
    let layout = Layout::nhwc(n, h, w, c);
    let out = layout.dense_like([n, c, oh, ow]);
    let input: Vec<f64> = (0..n * c * h * w).map(element).collect();
    let grad: Vec<f64> = (0..n * c * oh * ow).map(|i| (i % 5) as f64 + 0.5).collect();
    // The reference: dense NCHW, plane indices, the slice calls.
    let nchw: Vec<f64> = {
        let mut v = vec![0.0; input.len()];
        for i in 0..n {
            for j in 0..c {
                for r in 0..h {
                    for s in 0..w {
                        v[((i * c + j) * h + r) * w + s] = input[layout.offset([i, j, r, s])];
                    }
                }
            }
        }
        v
    };
    let mut values = vec![0.0; n * c * oh * ow];
    let mut plane_indices = vec![0i64; values.len()];
    plan.forward(
        &nchw,
        n * c,
        maxpool::Outputs::new(&mut values).with_indices(&mut plane_indices),
    )
    .unwrap();
    let grad_nchw: Vec<f64> = {
        let mut v = vec![0.0; grad.len()];
        for i in 0..n {
            for j in 0..c {
                for r in 0..oh {
                    for s in 0..ow {
                        v[((i * c + j) * oh + r) * ow + s] = grad[out.offset([i, j, r, s])];
                    }
                }
            }
        }
        v
    };
    let mut want = vec![0.0; nchw.len()];
    plan.backward(n * c, &grad_nchw, &plane_indices, &mut want)
        .unwrap();

    fn run<I: IndexElement>(
        plan: &Plan,
        format: IndexFormat,
        (input, layout, out): (&[f64], Layout, Layout),
        grad: &[f64],
    ) -> Option<Vec<f64>> {
        let mut values = vec![0.0; out.span().unwrap()];
        let mut indices = vec![I::default(); out.span().unwrap()];
        plan.forward_tensor(
            TensorRef::new(input, layout),
            TensorOutputs::new(TensorMut::new(&mut values, out))
                .with_indices(TensorMut::new(&mut indices, out), format),
        )
        .ok()?;
        let mut grad_input = vec![f64::NAN; layout.span().unwrap()];
        plan.backward_tensor(
            TensorRef::new(grad, out),
            IndicesRef::from(TensorRef::new(&indices, out)),
            format,
            TensorMut::new(&mut grad_input, layout),
        )
        .unwrap();
        Some(grad_input)
    }
    let mut ran = 0;
    for format in IndexFormat::ALL {
        let tensors = (&input[..], layout, out);
        for got in [
            run::<i64>(&plan, format, tensors, &grad),
            run::<i32>(&plan, format, tensors, &grad),
            run::<u8>(&plan, format, tensors, &grad),
        ]
        .into_iter()
        .flatten()
        {
            ran += 1;
            for i in 0..n {
                for j in 0..c {
                    for r in 0..h {
                        for s in 0..w {
                            assert_eq!(
                                got[layout.offset([i, j, r, s])],
                                want[((i * c + j) * h + r) * w + s],
                                "{format}"
                            );
                        }
                    }
                }
            }
        }
    }
    // i64 and i32 in every format, u8 in the window format.
    assert_eq!(ran, 2 * IndexFormat::ALL.len() + 1);
}

#[test]
fn indices_that_name_no_element_of_their_window_plane_are_refused() {
    let plan = Plan::new(Backend::Naive, &padded_dilated(), 7, 6).unwrap();
    let [oh, ow] = plan.out_shape();
    let out = Layout::nchw(2, 3, oh, ow);
    let layout = Layout::nchw(2, 3, 7, 6);
    let grad = vec![1.0f32; 2 * 3 * oh * ow];
    let cases: [(IndexFormat, i64, &str); 5] = [
        (
            IndexFormat::Plane,
            42,
            "is outside its plane (42 elements a plane)",
        ),
        (IndexFormat::FlatNchw, 43, "is outside its (n, c) plane"),
        (
            IndexFormat::FlatNhwc,
            1,
            "names channel 1 of 3, not its own, 0",
        ),
        (IndexFormat::Window, 6, "is not a tap of a 3 × 2 window"),
        // Window (0, 0)'s tap (0, 0) is in the top padding.
        (
            IndexFormat::Window,
            0,
            "names tap (0, 0), which lies in the padding",
        ),
    ];
    for (format, bad, message) in cases {
        // Every index valid (the window's first tap inside the input, in each format) but the first.
        let mut indices = vec![0i64; grad.len()];
        let g = plan.geometry();
        for (o, ix) in indices.iter_mut().enumerate() {
            let (pn, pc, r, s) = (o / (3 * oh * ow), o / (oh * ow) % 3, o / ow % oh, o % ow);
            let (row, col) = (g.row_windows().get(r).start, g.col_windows().get(s).start);
            *ix = format.encode(g, layout.shape, [pn, pc, r, s], row * 6 + col) as i64;
        }
        indices[0] = bad;
        let mut grad_input = vec![9.0f32; 2 * 3 * 7 * 6];
        let e = plan
            .backward_tensor(
                TensorRef::new(&grad, out),
                TensorRef::new(&indices, out).into(),
                format,
                TensorMut::new(&mut grad_input, layout),
            )
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::IndexOutOfRange);
        assert!(e.to_string().contains(message), "{format}: {e}");
        assert!(
            e.to_string()
                .contains("at output (n, c, oh, ow) = (0, 0, 0, 0)"),
            "{e}"
        );
        assert!(
            grad_input.iter().all(|&x| x == 9.0),
            "{format}: written on refusal"
        );
    }
}

#[test]
fn bad_tensors_are_refused_naming_the_argument_with_nothing_written() {
    let plan = Plan::new(Backend::Simd, &Params::new(2), 4, 4).unwrap();
    let input = vec![1.0f32; 2 * 3 * 16];
    let layout = Layout::nhwc(2, 4, 4, 3);
    let out = Layout::nhwc(2, 2, 2, 3);
    let refuse = |values_layout: Layout,
                  values_len: usize,
                  index_dtype: DType,
                  format: IndexFormat,
                  multiplier_layout: Layout| {
        let mut values = vec![-1.0f32; values_len];
        let mut i64s = vec![-1i64; 64];
        let mut i32s = vec![-1i32; 64];
        let mut u8s = vec![0xEEu8; 64];
        let mut multiplier = vec![7u32; 256];
        let mut outputs = TensorOutputs::new(TensorMut::new(&mut values, values_layout))
            .with_multiplier(TensorMut::new(&mut multiplier, multiplier_layout));
        outputs = match index_dtype {
            DType::I64 => outputs.with_indices(TensorMut::new(&mut i64s, out), format),
            DType::I32 => outputs.with_indices(TensorMut::new(&mut i32s, out), format),
            _ => outputs.with_indices(TensorMut::new(&mut u8s, out), format),
        };
        let e = plan
            .forward_tensor(TensorRef::new(&input, layout), outputs)
            .unwrap_err();
        assert!(values.iter().all(|&v| v == -1.0) && i64s.iter().all(|&v| v == -1));
        assert!(i32s.iter().all(|&v| v == -1) && u8s.iter().all(|&v| v == 0xEE));
        assert!(multiplier.iter().all(|&v| v == 7));
        e
    };
    let m = layout;
    let e = refuse(
        Layout::nhwc(2, 3, 2, 3),
        64,
        DType::I64,
        IndexFormat::Plane,
        m,
    );
    assert_eq!(e.kind(), ErrorKind::InvalidShape);
    assert!(e.to_string().contains("values has shape (N, C, H, W) = (2, 3, 3, 2) but the call needs (N, C, H, W) = (2, 3, 2, 2)"), "{e}");
    let e = refuse(out, 20, DType::I64, IndexFormat::Plane, m);
    assert_eq!(
        e.to_string(),
        "the values buffer holds 20 elements but 24 are needed"
    );
    let mut overlapping = out;
    overlapping.strides[1] = 0;
    let e = refuse(overlapping, 64, DType::I64, IndexFormat::Plane, m);
    assert!(
        e.to_string()
            .contains("the strides of values, [12, 0, 6, 3], put two of its elements in one place"),
        "{e}"
    );
    let e = refuse(out, 64, DType::U8, IndexFormat::Plane, m);
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert!(
        e.to_string()
            .contains("u8 indices hold only the window format's tap numbers"),
        "{e}"
    );
    let e = refuse(
        out,
        64,
        DType::I64,
        IndexFormat::Plane,
        Layout::nhwc(2, 4, 5, 3),
    );
    assert!(e.to_string().starts_with("multiplier has shape"), "{e}");
    // An i32 that cannot hold the flat index of a large batch: refused from the shape alone.
    let big = Layout::nchw(1 << 20, 1 << 8, 4, 4);
    let none: [f32; 0] = [];
    let mut v: [f32; 0] = [];
    let mut ix: [i32; 0] = [];
    let e = plan
        .forward_tensor(
            TensorRef::new(&none, big),
            TensorOutputs::new(TensorMut::new(&mut v, Layout::nchw(1 << 20, 1 << 8, 2, 2)))
                .with_indices(
                    TensorMut::new(&mut ix, Layout::nchw(1 << 20, 1 << 8, 2, 2)),
                    IndexFormat::FlatNchw,
                ),
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert!(
        e.to_string().contains(
            "i32 indices cannot hold this call's largest flat_nchw index, 4294967295; use i64"
        ),
        "{e}"
    );
}

/// The channels-last kernel works on runs of channels in blocks (whole vectors, a shorter last one, masked
/// tails), for `f32` by hand with AVX-512: every channel count around those widths, every index format and
/// type, with and without the multiplier, agrees with the naive backend, which pools each plane on its own.
#[test]
fn channels_last_kernel_agrees_with_planes_at_every_channel_count() {
    let (n, h, w) = (2, 9, 8);
    let params = [
        Params::new(3).with_stride(2).with_padding(1),
        Params::new(2),
        padded_dilated(),
    ];
    for params in params {
        let naive = Plan::new(Backend::Naive, &params, h, w).unwrap();
        let [oh, ow] = naive.out_shape();
        for c in [2, 3, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 47, 48, 64, 70] {
            let input = Layout::nhwc(n, h, w, c);
            // Few values, so that windows tie often, and a few NaNs.
            let tied = |i: usize| match i % 37 {
                5 => f32::NAN,
                _ => ((i.wrapping_mul(2654435761) >> 9) % 4) as f32,
            };
            let x: Vec<f32> = (0..n * h * w * c).map(tied).collect();
            let (out, m) = (Layout::nhwc(n, oh, ow, c), input);
            for backend in [Backend::Simd, Backend::Lookup, Backend::Block] {
                let Ok(plan) = Plan::new(backend, &params, h, w) else {
                    continue;
                };
                for format in IndexFormat::ALL {
                    for multiplier in [false, true] {
                        let call = |plan: &Plan| {
                            let mut v = vec![0f32; out.span().unwrap()];
                            let mut i = vec![0i64; out.span().unwrap()];
                            let mut counts = vec![5u32; m.span().unwrap()];
                            let mut o = TensorOutputs::new(TensorMut::new(&mut v, out))
                                .with_indices(TensorMut::new(&mut i, out), format);
                            if multiplier {
                                o = o.with_multiplier(TensorMut::new(&mut counts, m));
                            }
                            plan.forward_tensor(TensorRef::new(&x, input), o).unwrap();
                            (v.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), i, counts)
                        };
                        assert_eq!(
                            call(&plan),
                            call(&naive),
                            "{backend}, {params:?}, C = {c}, {format}, multiplier {multiplier}"
                        );
                    }
                }
                // And values alone.
                let mut v = vec![0f32; out.span().unwrap()];
                let mut expected = v.clone();
                plan.forward_tensor(
                    TensorRef::new(&x, input),
                    TensorOutputs::new(TensorMut::new(&mut v, out)),
                )
                .unwrap();
                naive
                    .forward_tensor(
                        TensorRef::new(&x, input),
                        TensorOutputs::new(TensorMut::new(&mut expected, out)),
                    )
                    .unwrap();
                let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                assert_eq!(
                    bits(&v),
                    bits(&expected),
                    "{backend}, {params:?}, C = {c}, values alone"
                );
            }
        }
    }
}
