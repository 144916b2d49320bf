//! The simd backend's row passes against the contract, output by output: every window's winner must be what
//! `window_argmax` (the semantics, stated once in core) says. Widths run through every remainder of the 16-lane
//! vectors, and the geometries through each path: separable with register passes (k3 s1, k3 s2), separable with
//! sweeps (column dilation, kw 2), and the direct kernel (k2 s1, row dilation). Values are few (many ties), and
//! floats get NaNs. The conformance suite runs this backend on every instruction-set level; this test runs the
//! best one the machine has, over many more row widths.

use maxpool_core::semantics::window_argmax;
use maxpool_core::{Element, ErrorKind, Outputs, Params, Planned, Pool};
use maxpool_simd::VectorisedRows;

/// `len` values from a small set, so that windows often tie; every `nan_every`-th one is NaN when asked.
fn data<T: Element>(
    len: usize,
    seed: u64,
    value: impl Fn(i8) -> T,
    nan: Option<(T, usize)>,
) -> Vec<T> {
    let mut state = seed | 1;
    (0..len)
        .map(|k| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            match nan {
                Some((nan, every)) if k % every == every - 1 => nan,
                _ => value((state % 7) as i8 - 3),
            }
        })
        .collect()
}

fn check<T: Element>(params: &Params, height: usize, width: usize, input: &[T]) {
    let plan = match Planned::<VectorisedRows>::new(params, height, width) {
        Ok(plan) => plan,
        // Dilated windows wider than the plane: no output, nothing to check.
        Err(e) if e.kind() == ErrorKind::InvalidShape => return,
        Err(e) => panic!("{params:?} on {height}×{width}: {e}"),
    };
    let g = plan.geometry();
    let planes = input.len() / g.plane_len();
    let mut values = vec![T::default(); planes * g.out_plane_len()];
    let mut indices = vec![0i64; values.len()];
    plan.forward(
        input,
        planes,
        Outputs::new(&mut values).with_indices(&mut indices),
    )
    .expect("buffers of the right size");
    for (p, plane) in input.chunks_exact(g.plane_len()).enumerate() {
        for (i, &rows) in g.row_windows().iter().enumerate() {
            for (j, &cols) in g.col_windows().iter().enumerate() {
                let (value, index) = window_argmax(plane, width, rows, cols);
                let at = p * g.out_plane_len() + i * g.out_width() + j;
                assert_eq!(
                    (
                        indices[at],
                        value.is_nan(),
                        value == values[at] || value.is_nan()
                    ),
                    (index as i64, values[at].is_nan(), true),
                    "{params:?} on {height}×{width}, plane {p}, output ({i}, {j})"
                );
            }
        }
    }
}

fn geometries() -> Vec<Params> {
    vec![
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
        Params::rect(3, 2).with_stride(1),
        Params::new(3).with_stride(1).with_dilation_hw(1, 2),
        Params::new(2).with_stride(1),
        Params::new(3).with_stride(1).with_dilation_hw(2, 1),
    ]
}

#[test]
fn every_row_width_matches_the_contract() {
    for params in geometries() {
        for width in 3..=72 {
            for height in [3, 4, 7] {
                let len = 2 * height * width;
                let seed = (width * 31 + height) as u64;
                check(
                    &params,
                    height,
                    width,
                    &data(len, seed, f32::from, Some((f32::NAN, 29))),
                );
                check(
                    &params,
                    height,
                    width,
                    &data(len, seed, f64::from, Some((f64::NAN, 17))),
                );
                check(&params, height, width, &data::<i8>(len, seed, |v| v, None));
                check(
                    &params,
                    height,
                    width,
                    &data::<u16>(len, seed, |v| (v + 3) as u16, None),
                );
            }
        }
    }
}
