//! The simd backend: for each output row, sweep every window tap across the whole row of outputs at once. For a
//! tap (a, b) the candidates of consecutive outputs are input elements `stride` apart in one input row, so each
//! sweep is a straight loop of loads, compares and selects that the compiler turns into SIMD, compiled for the
//! best instruction set the CPU has ([`Simd::run`]). Taps are swept in scan order and a candidate replaces the
//! running winner only when it [`beats`](maxpool_core::semantics::beats) it, so ties and NaN follow the
//! contract exactly. Outputs whose windows are cut by the input's edge (padding) are scanned clipped, one by one.
//! Any stride, padding, dilation and ceil mode; threads come from the engine.
//!
//! When windows overlap in rows (k3 s1, k3 s2), the passes are separable: each input row's taps are swept once
//! and its row winners kept while windows reach the row, then merged row by row. Three-wide windows get row
//! passes that keep each window's winner in registers (at stride 2 the row is first split into
//! even and odd columns), over whole vectors of windows where the storage allows.

#[cfg(target_arch = "x86_64")]
mod x86;

use std::ops::Range;

use maxpool_core::semantics::{fits_u32, merge, window_argmax, FlatIndex, Window, Windows};
use maxpool_core::{
    Element, Geometry, Params, Result, Simd, Technique, Vectorised, Winners, Work, WorkSize,
};

/// Vectorised sweeps of window taps over output rows.
#[derive(Clone, Copy, Debug)]
pub struct VectorisedRows {
    simd: Simd,
    /// Planes of more than 2^32 elements need 64-bit indices while working.
    wide: bool,
    /// The output columns whose windows lie wholly inside the input.
    interior: (usize, usize),
}

impl Technique for VectorisedRows {
    const NAME: &'static str = "simd";
    const LONG_NAME: &'static str = "vectorised-rows";
    const SUMMARY: &'static str =
        "each window tap swept across a row of outputs with SIMD compares, chosen at run time; any geometry";
    const WHOLE_ROWS: bool = true;
    const CHANNELS_LAST: bool = true;

    fn supports(_: &Params) -> Result<(), &'static str> {
        Ok(())
    }

    fn simd(&self) -> Simd {
        self.simd
    }

    fn writes_taps<T: Element>(&self, g: &Geometry) -> bool {
        // The 16-bit row kernel takes every window of the planes it takes, and writes tap codes.
        if maxpool_core::rows16::writes_taps::<T>(self.simd, g) {
            return true;
        }
        #[cfg(target_arch = "x86_64")]
        return x86::writes_taps::<T>(self.simd, g);
        #[cfg(not(target_arch = "x86_64"))]
        return false;
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

    /// An output row and the cached row winners, when too long for the stack; a slot per kernel row.
    fn work(&self, g: &Geometry) -> WorkSize {
        let Storage { len, slots, .. } = self.storage(g);
        WorkSize {
            len: if len > STACK { len } else { 0 },
            wide: self.wide,
            slots,
        }
    }

    fn pool_rows<T: Element>(
        &self,
        g: &Geometry,
        plane: &[T],
        rows: Range<usize>,
        out: &mut Winners<'_, T>,
        work: &mut Work<T>,
    ) {
        if self.wide {
            self.dispatch::<T, u64>(g, plane, rows, out, work);
        } else {
            self.dispatch::<T, u32>(g, plane, rows, out, work);
        }
    }
}

/// Separable passes work on whole vectors of this many lanes (one AVX-512 vector of f32 and u32 indices), so that
/// no scalar remainder loop runs.
const LANES: usize = 16;

/// Working storage of at most this many elements (the output row, and the cached row winners) stays on the stack.
const STACK: usize = 512;

impl VectorisedRows {
    /// Cached row winners: one per kernel row when [`separable`] does less work than [`kernel`], else none.
    /// Rows must not be dilated. Separable passes cost an output row `stride · kw` new row sweeps and `kh` merges
    /// instead of `kh · kw` sweeps (k3 s1 yes, k2 s1 no); three-wide windows at column stride 2 (k3 s2) have
    /// their own row pass ([`row_taps_s2`]), cheap enough whenever rows overlap (for k2 s2 it measured slower
    /// than the direct sweeps).
    fn cached_rows(g: &Geometry) -> usize {
        let p = g.params();
        let [(kh, kw), (sh, dh)] = [(p.kernel[0], p.kernel[1]), (p.stride[0], p.dilation[0])];
        let separable_sweeps = sh.saturating_mul(kw).saturating_add(kh);
        let cheaper = separable_sweeps < kh.saturating_mul(kw) || (strided_three(p) && sh < kh);
        if dh == 1 && cheaper {
            kh
        } else {
            0
        }
    }

    /// How the working storage of one call is laid out.
    fn storage(&self, g: &Geometry) -> Storage {
        let ow = g.out_width();
        let interior = self.interior.0..self.interior.1;
        let slots = if interior.is_empty() {
            0
        } else {
            Self::cached_rows(g)
        };
        // Separable passes work on whole vectors of interior windows: `padded` lanes, the last ones unused.
        let padded = interior.len().next_multiple_of(LANES);
        let (row_len, cached) = if slots == 0 {
            (ow, 0)
        } else {
            // Saturating: a size past the address space is refused when reserved.
            (
                ow.max(interior.start + padded),
                slots.saturating_mul(padded),
            )
        };
        let split = if slots > 0 && strided_three(g.params()) {
            2 * padded + 1
        } else {
            0
        };
        Storage {
            len: row_len.saturating_add(cached).saturating_add(split),
            row_len,
            cached,
            slots,
        }
    }

    fn dispatch<T: Element, I: FlatIndex>(
        &self,
        g: &Geometry,
        plane: &[T],
        rows: Range<usize>,
        out: &mut Winners<'_, T>,
        work: &mut Work<T>,
    ) {
        // 3×3 windows at stride 2 over f32 (W1) have hand-written AVX-512 and AVX2 kernels.
        #[cfg(target_arch = "x86_64")]
        if x86::three_by_three_s2_f32(self.simd, g, plane, rows.clone(), out) {
            return;
        }
        // 16-bit floats at column stride 1 or 2 have a hand-written AVX-512 kernel.
        if maxpool_core::rows16::rows_half(self.simd, g, plane, rows.clone(), out) {
            return;
        }
        let interior = self.interior.0..self.interior.1;
        let Storage {
            len,
            row_len,
            cached,
            slots,
        } = self.storage(g);
        let index_len = row_len + cached;
        let run = |values: &mut [T], indices: &mut [I], slots: &mut [usize]| {
            let (best, rest) = values.split_at_mut(row_len);
            let (row_values, split) = rest.split_at_mut(cached);
            let (index, row_indices) = indices[..index_len].split_at_mut(row_len);
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
                split,
                cached: slots,
                row_taps: self.simd != Simd::Portable,
            })
        };
        // Stack arrays are zeroed on every call, so short rows get short ones. Longer ones were reserved
        // (`work`).
        if len <= STACK / 4 {
            on_stack::<T, I, { STACK / 4 }>(len, |v, i| run(v, i, work.take::<I>(0, slots).2));
        } else if len <= STACK {
            on_stack::<T, I, STACK>(len, |v, i| run(v, i, work.take::<I>(0, slots).2));
        } else {
            let (values, indices, slots) = work.take::<I>(len, slots);
            run(values, indices, slots);
        }
    }
}

/// The working storage of [`VectorisedRows`] for a geometry: `len` values and indices, of which an output row
/// of `row_len`, then `cached` row winners in `slots` slots, then room for a split row.
struct Storage {
    len: usize,
    row_len: usize,
    cached: usize,
    slots: usize,
}

/// Three-wide windows at column stride 2 without column dilation (k3 s2), which [`row_taps_s2`] sweeps.
fn strided_three(p: &Params) -> bool {
    (p.kernel[1], p.stride[1], p.dilation[1]) == (3, 2, 1)
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
    /// Room for a row split into even and odd columns (k3 s2 only).
    split: &'a mut [T],
    /// Which input row each slot of cached row winners holds, `usize::MAX` for none.
    cached: &'a mut [usize],
    /// Whether [`row_taps`] may be used: without AVX2 it measured slower on W3 than the sweeps (see
    /// `BENCHMARKS.md`).
    row_taps: bool,
}

impl<T: Element, I: FlatIndex> Vectorised for Rows<'_, '_, T, I> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        if self.row_values.is_empty() {
            let Rows {
                g,
                plane,
                rows,
                interior,
                out,
                best,
                index,
                ..
            } = self;
            kernel(g, plane, rows, interior, out, best, index)
        } else {
            separable(self)
        }
    }
}

/// The winners of output rows `rows`: `best` and `index` hold one output row while it is worked on. Its tap loop
/// is [`sweep_row`]'s, written out: calling `sweep_row` here measured slower on W1 and W2 (the compiler
/// vectorises the two differently; see `BENCHMARKS.md`).
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
    for (k, row_window) in g.row_windows().range(rows).enumerate() {
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
        edge_windows(
            plane,
            width,
            row_window,
            cols,
            interior.clone(),
            best,
            index,
        );
        out.put_run(k * ow, best, index);
    }
}

/// As [`kernel`], in two passes when windows overlap in rows: for each input row, the winner of each
/// window's taps in that row, found once and kept in `row_values` and `row_indices` while windows still reach
/// the row; then for each output row, its rows' winners merged in scan order. The first maximum of the first row
/// holding one wins, as in a row-major scan, so the result is the same; each input row is swept once instead of
/// once per window row. Rows of interior windows are worked on in whole vectors, `padded` lanes: `best` and
/// `index` have room for them, and lanes past the interior hold leftovers that are never output.
#[inline(always)]
fn separable<T: Element, I: FlatIndex>(work: Rows<'_, '_, T, I>) {
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
        split,
        cached,
        row_taps,
    } = work;
    let width = g.width();
    let p = g.params();
    let (kw, sw, dw, pad_left) = (p.kernel[1], p.stride[1], p.dilation[1], p.padding.left);
    let cols = g.col_windows();
    let ow = cols.len();
    let n = interior.len();
    let padded = n.next_multiple_of(LANES);
    // Interior windows start inside the input, so their first column is never negative.
    let (taps, start) = ((kw, sw, dw), interior.start * sw - pad_left);
    // Consecutive rows (the row dilation is 1) land in distinct slots.
    let slots = row_values.len() / padded;
    debug_assert_eq!(cached.len(), slots);
    let lanes = interior.start..interior.start + padded;
    for (k, row_window) in g.row_windows().range(rows).enumerate() {
        for r in row_window.positions() {
            let slot = r % slots;
            if cached[slot] != r {
                let row = &plane[r * width..(r + 1) * width];
                let (values, indices) = (
                    &mut row_values[slot * padded..(slot + 1) * padded],
                    &mut row_indices[slot * padded..(slot + 1) * padded],
                );
                if split.is_empty() {
                    sweep_row(
                        row,
                        r * width,
                        taps,
                        start,
                        row_taps,
                        &mut values[..n],
                        &mut indices[..n],
                    );
                } else {
                    let src = &row[start..start + 2 * n + 1];
                    row_taps_s2(src, r * width + start, split, values, indices);
                }
                cached[slot] = r;
            }
        }
        let (values, indices) = (&*row_values, &*row_indices);
        let cached_row = |r: usize| {
            let slot = r % slots;
            (
                &values[slot * padded..(slot + 1) * padded],
                &indices[slot * padded..(slot + 1) * padded],
            )
        };
        let (lanes_best, lanes_index) = (&mut best[lanes.clone()], &mut index[lanes.clone()]);
        if row_window.taps == 3 {
            // Three rows, or two (windows cut by padding): merged in registers, one pass.
            let r = row_window.start;
            let rows = [cached_row(r), cached_row(r + 1), cached_row(r + 2)];
            merge_rows(rows, &mut lanes_best[..padded], &mut lanes_index[..padded]);
        } else if row_window.taps == 2 {
            let r = row_window.start;
            let rows = [cached_row(r), cached_row(r + 1)];
            merge_rows(rows, &mut lanes_best[..padded], &mut lanes_index[..padded]);
        } else {
            for (a, r) in row_window.positions().enumerate() {
                let (values, indices) = cached_row(r);
                if a == 0 {
                    lanes_best.copy_from_slice(values);
                    lanes_index.copy_from_slice(indices);
                    continue;
                }
                for (((b, i), &v), &c) in lanes_best
                    .iter_mut()
                    .zip(lanes_index.iter_mut())
                    .zip(values)
                    .zip(indices)
                {
                    merge(b, i, v, c);
                }
            }
        }
        // The edge windows, after the lanes: they overwrite the leftovers past the interior.
        edge_windows(
            plane,
            width,
            row_window,
            cols,
            interior.clone(),
            best,
            index,
        );
        out.put_run(k * ow, &best[..ow], &index[..ow]);
    }
}

/// The winners of one output row's windows outside `interior` (the columns `cols` whose windows padding cuts),
/// scanned one by one, into `best` and `index`.
#[inline(always)]
fn edge_windows<T: Element, I: FlatIndex>(
    plane: &[T],
    width: usize,
    row_window: Window,
    cols: &Windows,
    interior: Range<usize>,
    best: &mut [T],
    index: &mut [I],
) {
    for j in (0..interior.start).chain(interior.end..cols.len()) {
        let (v, i) = window_argmax(plane, width, row_window, cols.get(j));
        best[j] = v;
        index[j] = I::from_usize(i);
    }
}

/// Merges `R` rows of row winners (values, indices), in order, into `best` and `index`, each output's winner
/// kept in registers. Every slice is cut to exactly `best.len()`, so the loop needs no bounds checks (which
/// would cost it a scalar tail).
#[inline(always)]
fn merge_rows<T: Element, I: FlatIndex, const R: usize>(
    rows: [(&[T], &[I]); R],
    best: &mut [T],
    index: &mut [I],
) {
    let n = best.len();
    let index = &mut index[..n];
    // Cut here, not in a closure: the lengths must be visible where the loop is compiled.
    let last = rows[R - 1];
    let (v0, i0) = (&rows[0].0[..n], &rows[0].1[..n]);
    let (v1, i1) = (&rows[1].0[..n], &rows[1].1[..n]);
    let (v2, i2) = (&last.0[..n], &last.1[..n]);
    for j in 0..n {
        let (mut v, mut i) = (v0[j], i0[j]);
        merge(&mut v, &mut i, v1[j], i1[j]);
        if R == 3 {
            merge(&mut v, &mut i, v2[j], i2[j]);
        }
        best[j] = v;
        index[j] = i;
    }
}

/// The row pass of three-wide windows at stride 2 (k3 s2): `src` (the row from the first window's first
/// column, `2n + 1` elements for `n` windows) is split into its even and odd columns in one loop that uses every
/// element it loads (so it vectorises without a scalar tail), then each window's taps, (even `k`, odd `k`, even
/// `k + 1`), are merged in registers at unit stride, for all of `values.len()` lanes (a whole number of
/// vectors; those past `n` are leftovers). `first` is the flat index of `src[0]`; `split` has room for
/// `2 · values.len() + 1` elements.
#[inline(always)]
fn row_taps_s2<T: Element, I: FlatIndex>(
    src: &[T],
    first: usize,
    split: &mut [T],
    values: &mut [T],
    indices: &mut [I],
) {
    let (n, lanes) = (src.len() / 2, values.len());
    let (even, odd) = split.split_at_mut(lanes + 1);
    for ((pair, e), o) in src.chunks_exact(2).zip(&mut *even).zip(&mut *odd) {
        (*e, *o) = (pair[0], pair[1]);
    }
    even[n] = src[2 * n];
    let (even, odd, indices) = (&even[..lanes + 1], &odd[..lanes], &mut indices[..lanes]);
    let first = I::from_usize(first);
    for k in 0..lanes {
        let candidate = first.plus(2 * k);
        let (mut v, mut i) = (even[k], candidate);
        merge(&mut v, &mut i, odd[k], candidate.plus(1));
        merge(&mut v, &mut i, even[k + 1], candidate.plus(2));
        values[k] = v;
        indices[k] = i;
    }
}

/// The winner of input row `row`'s taps in every interior window, into `best` and `index`: one register pass for
/// k3 s1 ([`row_taps`], when `row_taps_allowed`), else `kw` sweeps along the row. `start` is the first interior
/// window's first column, and `row_index` the flat index of the row's first element.
#[inline(always)]
fn sweep_row<T: Element, I: FlatIndex>(
    row: &[T],
    row_index: usize,
    (kw, sw, dw): (usize, usize, usize),
    start: usize,
    row_taps_allowed: bool,
    best: &mut [T],
    index: &mut [I],
) {
    let n = best.len();
    if row_taps_allowed && (kw, sw, dw) == (3, 1, 1) {
        return row_taps(&row[start..start + n + 2], row_index + start, best, index);
    }
    for b in 0..kw {
        let c0 = start + b * dw;
        let src = &row[c0..c0 + (n - 1) * sw + 1];
        if b == 0 {
            sweep(src, sw, row_index + c0, best, index, |b, i, v, c| {
                (*b, *i) = (v, c)
            });
        } else {
            sweep(src, sw, row_index + c0, best, index, merge);
        }
    }
}

/// [`sweep_row`] for three-wide windows at stride 1 without dilation: one pass along the row, each output's
/// running winner kept in registers while its taps are merged, then stored once. `src` holds the row from the
/// first window's first column (`values.len() + 2` elements), `first` its flat index. The three taps are read as
/// three slices cut to the same length, so the loop vectorises without bounds checks.
#[inline(always)]
fn row_taps<T: Element, I: FlatIndex>(
    src: &[T],
    first: usize,
    values: &mut [T],
    indices: &mut [I],
) {
    let n = values.len();
    let indices = &mut indices[..n];
    let (t0, t1, t2) = (&src[..n], &src[1..n + 1], &src[2..n + 2]);
    let first = I::from_usize(first);
    for k in 0..n {
        let candidate = first.plus(k);
        let (mut v, mut i) = (t0[k], candidate);
        merge(&mut v, &mut i, t1[k], candidate.plus(1));
        merge(&mut v, &mut i, t2[k], candidate.plus(2));
        values[k] = v;
        indices[k] = i;
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
