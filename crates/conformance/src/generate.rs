//! Random cases over the whole parameter space, shared by the property tests and `maxpool check`.

use maxpool::Params;
use proptest::prelude::*;

use crate::runner::Case;
use crate::sample::Sample;

/// Parameters over the whole space: rectangular kernels, strides, asymmetric padding, dilation, ceil mode.
/// Half are tiling (stride = kernel, dilation 1), which the block backend supports. Padding mostly stays below
/// the window's extent so that most cases pool; one case in eight pads up to 3 regardless, to exercise refusals.
pub fn params() -> impl Strategy<Value = Params> {
    let pair = |lo: usize, hi: usize| (lo..=hi, lo..=hi).prop_map(|(a, b)| [a, b]);
    (
        pair(1, 5),
        pair(1, 4),
        pair(1, 3),
        any::<bool>(),
        any::<bool>(),
        0..8u8,
    )
        .prop_flat_map(|(kernel, stride, dilation, ceil_mode, tiling, wild)| {
            let (stride, dilation) = if tiling {
                (kernel, [1, 1])
            } else {
                (stride, dilation)
            };
            let max_pad = |axis: usize| {
                if wild == 0 {
                    3
                } else {
                    (dilation[axis] * (kernel[axis] - 1)).min(3)
                }
            };
            (
                0..=max_pad(0),
                0..=max_pad(0),
                0..=max_pad(1),
                0..=max_pad(1),
            )
                .prop_map(move |(top, bottom, left, right)| Params {
                    kernel,
                    stride,
                    padding: maxpool::Padding {
                        top,
                        bottom,
                        left,
                        right,
                    },
                    dilation,
                    ceil_mode,
                })
        })
}

/// Cases of element type `T`: shapes 1..20, one to three planes, elements drawn from the edge cases or, for one
/// case in eight, a constant plane.
pub fn cases<T: Sample>() -> impl Strategy<Value = Case<T>> {
    (params(), 1usize..=3, 1usize..=20, 1usize..=20, any::<u8>()).prop_flat_map(
        |(params, planes, height, width, mode)| {
            let n = planes * height * width;
            let input = if mode % 8 == 0 {
                T::strategy().prop_map(move |v| vec![v; n]).boxed()
            } else {
                proptest::collection::vec(T::strategy(), n).boxed()
            };
            input.prop_map(move |input| Case {
                params,
                planes,
                height,
                width,
                input,
            })
        },
    )
}
