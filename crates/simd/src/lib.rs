//! The simd backend: for each output row, sweep every window tap across the whole row of outputs at once. For a
//! tap (a, b) the candidates of consecutive outputs are input elements `stride` apart in one input row, so each
//! sweep is a straight loop of loads, compares and selects that the compiler turns into SIMD, compiled for the
//! best instruction set the CPU has ([`Simd::run`]). Taps are swept in scan order and a candidate replaces the
//! running winner only when it [`beats`](maxpool_core::semantics::beats) it, so ties and NaN follow the
//! contract exactly. Outputs whose windows are cut by the input's edge (padding) are scanned clipped, one by one.
//! Any stride, padding, dilation and ceil mode; threads come from the engine.

use std::ops::Range;

use maxpool_core::semantics::{fits_u32, merge, window_argmax, FlatIndex};
use maxpool_core::{Element, Geometry, Params, Result, Simd, Technique, Vectorised, Winners};

/// Vectorised sweeps of window taps over output rows.
#[derive(Clone, Copy, Debug)]
pub struct VectorisedRows {
    simd: Simd,
    /// Planes of more than 2^32 elements need 64-bit indices while working.
    wide: bool,
    /// The output columns whose windows lie wholly inside the input.
    interior: (usize, usize),
}

impl VectorisedRows {
    /// The instruction-set level this plan runs.
    pub fn simd(&self) -> Simd {
        self.simd
    }
}

impl Technique for VectorisedRows {
    const NAME: &'static str = "simd";
    const LONG_NAME: &'static str = "vectorised-rows";

    fn supports(_: &Params) -> Result<(), &'static str> {
        Ok(())
    }

    fn plan(g: &Geometry) -> Result<Self> {
        let simd = Simd::for_plan(Self::NAME)?;
        let interior = g.interior_cols();
        Ok(VectorisedRows {
            simd,
            wide: !fits_u32(g.plane_len()),
            interior: (interior.start, interior.end),
        })
    }

    fn pool_rows<T: Element>(
        &self,
        g: &Geometry,
        plane: &[T],
        rows: Range<usize>,
        out: &mut Winners<'_, T>,
    ) {
        if self.wide {
            self.dispatch::<T, u64>(g, plane, rows, out);
        } else {
            self.dispatch::<T, u32>(g, plane, rows, out);
        }
    }
}

/// Output rows at most this wide keep their working row on the stack.
const STACK_ROW: usize = 128;

impl VectorisedRows {
    fn dispatch<T: Element, I: FlatIndex>(
        &self,
        g: &Geometry,
        plane: &[T],
        rows: Range<usize>,
        out: &mut Winners<'_, T>,
    ) {
        let ow = g.out_width();
        let interior = self.interior.0..self.interior.1;
        if ow <= STACK_ROW {
            let (mut best, mut index) = ([T::default(); STACK_ROW], [I::default(); STACK_ROW]);
            let (best, index) = (&mut best[..ow], &mut index[..ow]);
            self.simd.run(Rows {
                g,
                plane,
                rows,
                interior,
                out,
                best,
                index,
            });
        } else {
            let (mut best, mut index) = (vec![T::default(); ow], vec![I::default(); ow]);
            self.simd.run(Rows {
                g,
                plane,
                rows,
                interior,
                out,
                best: &mut best,
                index: &mut index,
            });
        }
    }
}

/// One call's work: output rows `rows`, with `best` and `index` holding one output row while it is worked on.
struct Rows<'a, 'w, T, I> {
    g: &'a Geometry,
    plane: &'a [T],
    rows: Range<usize>,
    interior: Range<usize>,
    out: &'a mut Winners<'w, T>,
    best: &'a mut [T],
    index: &'a mut [I],
}

impl<T: Element, I: FlatIndex> Vectorised for Rows<'_, '_, T, I> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        let Rows {
            g,
            plane,
            rows,
            interior,
            out,
            best,
            index,
        } = self;
        kernel(g, plane, rows, interior, out, best, index)
    }
}

/// The winners of output rows `rows`: `best` and `index` hold one output row while it is worked on.
#[inline(always)]
fn kernel<T: Element, I: FlatIndex>(
    g: &Geometry,
    plane: &[T],
    rows: Range<usize>,
    interior: Range<usize>,
    out: &mut Winners<'_, T>,
    best: &mut [T],
    index: &mut [I],
) {
    let width = g.width();
    let p = g.params();
    let (kw, sw, dw, pad_left) = (p.kernel[1], p.stride[1], p.dilation[1], p.padding.left);
    let cols = g.col_windows();
    let ow = cols.len();
    let n = interior.len();
    for (k, &row_window) in g.row_windows()[rows].iter().enumerate() {
        if n > 0 {
            let (best, index) = (&mut best[interior.clone()], &mut index[interior.clone()]);
            let mut first = true;
            for r in row_window.positions() {
                let row = &plane[r * width..(r + 1) * width];
                for b in 0..kw {
                    // Interior windows start inside the input, so this tap's column is never negative.
                    let c0 = interior.start * sw + b * dw - pad_left;
                    let src = &row[c0..c0 + (n - 1) * sw + 1];
                    let i0 = r * width + c0;
                    if first {
                        sweep(src, sw, i0, best, index, |b, i, v, c| (*b, *i) = (v, c));
                        first = false;
                    } else {
                        sweep(src, sw, i0, best, index, merge);
                    }
                }
            }
        }
        for j in (0..interior.start).chain(interior.end..ow) {
            let (v, i) = window_argmax(plane, width, row_window, cols[j]);
            best[j] = v;
            index[j] = I::from_usize(i);
        }
        out.put_run(k * ow, best, index);
    }
}

/// Applies `f` to each output of the run and its candidate for one tap: `src[k * stride]`, at flat index
/// `i0 + k * stride`. Unit and double strides get loops the compiler vectorises well.
#[inline(always)]
fn sweep<T: Element, I: FlatIndex>(
    src: &[T],
    stride: usize,
    i0: usize,
    best: &mut [T],
    index: &mut [I],
    f: impl Fn(&mut T, &mut I, T, I),
) {
    let n = best.len();
    // The candidates' indices count up in the index type itself, which vectorises better than converting.
    let mut candidate = I::from_usize(i0);
    match stride {
        1 => {
            for ((b, i), &v) in best.iter_mut().zip(index.iter_mut()).zip(&src[..n]) {
                f(b, i, v, candidate);
                candidate = candidate.plus(1);
            }
        }
        2 => {
            let src = &src[..2 * n - 1];
            for k in 0..n {
                f(&mut best[k], &mut index[k], src[2 * k], candidate);
                candidate = candidate.plus(2);
            }
        }
        _ => {
            for ((b, i), &v) in best
                .iter_mut()
                .zip(index.iter_mut())
                .zip(src.iter().step_by(stride))
            {
                f(b, i, v, candidate);
                candidate = candidate.plus(stride);
            }
        }
    }
}
