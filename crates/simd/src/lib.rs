//! The simd backend: for each output row, sweep every window tap across the whole row of outputs at once. For a
//! tap (a, b) the candidates of consecutive outputs are input elements `stride` apart in one input row, so each
//! sweep is a straight loop of loads, compares and selects that the compiler turns into SIMD, compiled for the
//! best instruction set the CPU has ([`Simd::run`]). Taps are swept in scan order and a candidate replaces the
//! running winner only when it [`beats`](maxpool_core::semantics::beats) it, so ties and NaN follow the
//! contract exactly. Outputs whose windows are cut by the input's edge (padding) are scanned clipped, one by one.
//! Any stride, padding, dilation and ceil mode; threads come from the engine.
//!
//! When windows overlap enough in rows (k3 s1), the sweeps are separable: each input row's sweeps are done once
//! and their row winners kept while windows reach the row, then merged row by row.

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

/// Working storage of at most this many elements (the output row, and the cached row winners) stays on the stack.
const STACK: usize = 512;

impl VectorisedRows {
    /// Cached row winners, in rows of the interior's width: one per kernel row when the two passes of
    /// [`separable`] sweep less than [`kernel`] (an output row costs `stride · kw` new row sweeps and `kh` merges
    /// instead of `kh · kw` sweeps: k3 s1 yes, k3 s2 and k2 s1 no) and rows are not dilated; else none.
    fn cached_rows(g: &Geometry) -> usize {
        let p = g.params();
        let [(kh, kw), (sh, dh)] = [(p.kernel[0], p.kernel[1]), (p.stride[0], p.dilation[0])];
        let separable_sweeps = sh.saturating_mul(kw).saturating_add(kh);
        if dh == 1 && separable_sweeps < kh.saturating_mul(kw) {
            p.kernel[0]
        } else {
            0
        }
    }

    fn dispatch<T: Element, I: FlatIndex>(
        &self,
        g: &Geometry,
        plane: &[T],
        rows: Range<usize>,
        out: &mut Winners<'_, T>,
    ) {
        let ow = g.out_width();
        let interior = self.interior.0..self.interior.1;
        let len = Self::cached_rows(g)
            .saturating_mul(interior.len())
            .saturating_add(ow);
        let run = |values: &mut [T], indices: &mut [I]| {
            let (best, row_values) = values.split_at_mut(ow);
            let (index, row_indices) = indices.split_at_mut(ow);
            self.simd.run(Rows {
                g,
                plane,
                rows,
                interior,
                out,
                best,
                index,
                row_values,
                row_indices,
            })
        };
        // Stack arrays are zeroed on every call, so short rows get short ones.
        if len <= STACK / 4 {
            on_stack::<T, I, { STACK / 4 }>(len, run);
        } else if len <= STACK {
            on_stack::<T, I, STACK>(len, run);
        } else {
            run(&mut vec![T::default(); len], &mut vec![I::default(); len]);
        }
    }
}

/// Runs `run` on `len` elements of working storage in stack arrays of `N`.
#[inline(always)]
fn on_stack<T: Element, I: FlatIndex, const N: usize>(
    len: usize,
    run: impl FnOnce(&mut [T], &mut [I]),
) {
    let (mut values, mut indices) = ([T::default(); N], [I::default(); N]);
    run(&mut values[..len], &mut indices[..len]);
}

/// One call's work: output rows `rows`, with `best` and `index` holding one output row while it is worked on,
/// and `row_values` and `row_indices` the cached winners of input rows (empty when not separable).
struct Rows<'a, 'w, T, I> {
    g: &'a Geometry,
    plane: &'a [T],
    rows: Range<usize>,
    interior: Range<usize>,
    out: &'a mut Winners<'w, T>,
    best: &'a mut [T],
    index: &'a mut [I],
    row_values: &'a mut [T],
    row_indices: &'a mut [I],
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
            row_values,
            row_indices,
        } = self;
        if row_values.is_empty() {
            kernel(g, plane, rows, interior, out, best, index)
        } else {
            separable(
                g,
                plane,
                rows,
                interior,
                out,
                (best, index),
                (row_values, row_indices),
            )
        }
    }
}

/// The winners of output rows `rows`: `best` and `index` hold one output row while it is worked on. Its tap loop
/// is [`sweep_row`]'s, written out: calling `sweep_row` here measured 8–15% slower on W1 and W2 (the compiler
/// vectorises the two differently).
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

/// As [`kernel`], in two passes when windows overlap in rows: for each input row, the winner of each
/// window's taps in that row, found once and kept in `cached` while windows still reach the row; then for each
/// output row, its rows' winners merged in scan order. The first maximum of the first row holding one wins, as
/// in a row-major scan, so the result is the same; each input row is swept once instead of once per window row.
#[inline(always)]
fn separable<T: Element, I: FlatIndex>(
    g: &Geometry,
    plane: &[T],
    rows: Range<usize>,
    interior: Range<usize>,
    out: &mut Winners<'_, T>,
    (best, index): (&mut [T], &mut [I]),
    (row_values, row_indices): (&mut [T], &mut [I]),
) {
    let width = g.width();
    let p = g.params();
    let (kw, sw, dw, pad_left) = (p.kernel[1], p.stride[1], p.dilation[1], p.padding.left);
    let cols = g.col_windows();
    let ow = cols.len();
    let n = interior.len();
    // Interior windows start inside the input, so their first column is never negative.
    let (taps, start) = ((kw, sw, dw), interior.start * sw - pad_left);
    // Consecutive rows (the row dilation is 1) land in distinct slots.
    let slots = row_values.len() / n;
    let mut cached = vec![usize::MAX; slots];
    for (k, &row_window) in g.row_windows()[rows].iter().enumerate() {
        let (interior_best, interior_index) =
            (&mut best[interior.clone()], &mut index[interior.clone()]);
        for r in row_window.positions() {
            let slot = r % slots;
            if cached[slot] != r {
                let row = &plane[r * width..(r + 1) * width];
                let (values, indices) = (
                    &mut row_values[slot * n..(slot + 1) * n],
                    &mut row_indices[slot * n..(slot + 1) * n],
                );
                sweep_row(row, r * width, true, taps, start, values, indices);
                cached[slot] = r;
            }
        }
        let (values, indices) = (&*row_values, &*row_indices);
        let cached_row = |r: usize| {
            let slot = r % slots;
            (
                &values[slot * n..(slot + 1) * n],
                &indices[slot * n..(slot + 1) * n],
            )
        };
        if row_window.taps == 3 {
            // The common three rows: merged in registers, one pass.
            let [(v0, i0), (v1, i1), (v2, i2)] =
                [0, 1, 2].map(|a| cached_row(row_window.start + a));
            for j in 0..n {
                let (mut v, mut i) = (v0[j], i0[j]);
                merge(&mut v, &mut i, v1[j], i1[j]);
                merge(&mut v, &mut i, v2[j], i2[j]);
                interior_best[j] = v;
                interior_index[j] = i;
            }
        } else {
            for (a, r) in row_window.positions().enumerate() {
                let (values, indices) = cached_row(r);
                if a == 0 {
                    interior_best.copy_from_slice(values);
                    interior_index.copy_from_slice(indices);
                    continue;
                }
                for (((b, i), &v), &c) in interior_best
                    .iter_mut()
                    .zip(interior_index.iter_mut())
                    .zip(values)
                    .zip(indices)
                {
                    merge(b, i, v, c);
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

/// Input row `row`'s taps of every interior window, `kw` sweeps along the row, merged into `best` and `index`
/// (assigned by the first tap when `first`). `start` is the first interior window's first column, and `row_index`
/// the flat index of the row's first element.
#[inline(always)]
fn sweep_row<T: Element, I: FlatIndex>(
    row: &[T],
    row_index: usize,
    first: bool,
    (kw, sw, dw): (usize, usize, usize),
    start: usize,
    best: &mut [T],
    index: &mut [I],
) {
    // Three-wide windows at stride 1 or 2, the common ones, merge the row's taps in registers, one pass.
    match (kw, sw, first) {
        (3, 1, true) => {
            return row_taps::<T, I, 3, 1, true>(row, row_index, dw, start, best, index)
        }
        (3, 1, false) => {
            return row_taps::<T, I, 3, 1, false>(row, row_index, dw, start, best, index)
        }
        _ => {}
    }
    let n = best.len();
    for b in 0..kw {
        let c0 = start + b * dw;
        let src = &row[c0..c0 + (n - 1) * sw + 1];
        if first && b == 0 {
            sweep(src, sw, row_index + c0, best, index, |b, i, v, c| {
                (*b, *i) = (v, c)
            });
        } else {
            sweep(src, sw, row_index + c0, best, index, merge);
        }
    }
}

/// [`sweep_row`] for `KW` taps at stride `S`: one pass along the row, each output's running winner kept in
/// registers while its `KW` taps are merged, then stored once (assigned from the first tap when `FIRST`).
#[inline(always)]
fn row_taps<T: Element, I: FlatIndex, const KW: usize, const S: usize, const FIRST: bool>(
    row: &[T],
    row_index: usize,
    dw: usize,
    start: usize,
    best: &mut [T],
    index: &mut [I],
) {
    let n = best.len();
    let index = &mut index[..n];
    let src = &row[start..start + (n - 1) * S + (KW - 1) * dw + 1];
    let mut candidate = I::from_usize(row_index + start);
    for k in 0..n {
        let at = k * S;
        let (mut v, mut i) = if FIRST {
            (src[at], candidate)
        } else {
            (best[k], index[k])
        };
        for b in usize::from(FIRST)..KW {
            merge(&mut v, &mut i, src[at + b * dw], candidate.plus(b * dw));
        }
        best[k] = v;
        index[k] = i;
        candidate = candidate.plus(S);
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
