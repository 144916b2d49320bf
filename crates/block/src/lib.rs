//! The block-reshape backend: when windows tile the input (stride equal to kernel, no dilation), each plane is
//! viewed without copying as `(out_h, kh, out_w, kw)` blocks, the notebook's `reshape` + `swapaxes`, and each
//! block's argmax is its winner. Windows cut by the input's edges or padding (the ragged edge) are scanned
//! clipped, so padding never wins. Overlapping or dilated windows are not blocks: [`Technique::supports`] says
//! so.

#[cfg(target_arch = "x86_64")]
mod x86;

use std::marker::PhantomData;
use std::ops::Range;

use maxpool_core::semantics::{fits_u32, flat_index, merge, window_argmax, FlatIndex};
use maxpool_core::{
    Element, Geometry, Params, Result, Simd, Technique, Vectorised, Winners, Work, WorkSize,
};
use ndarray::{ArrayView4, ShapeBuilder};

/// Argmax per block of a reshaped plane.
#[derive(Clone, Copy, Debug)]
pub struct BlockReshape {
    simd: Simd,
}

impl Technique for BlockReshape {
    const NAME: &'static str = "block";
    const LONG_NAME: &'static str = "block-reshape";
    const SUMMARY: &'static str =
        "argmax per block of the plane viewed as (out_h, kh, out_w, kw); non-overlapping windows only";
    const CHANNELS_LAST: bool = true;

    fn supports(params: &Params) -> Result<(), &'static str> {
        if params.is_tiling() {
            Ok(())
        } else {
            Err("it needs non-overlapping windows (stride equal to kernel, dilation 1)")
        }
    }

    fn plan(_: &Geometry) -> Result<Self> {
        Ok(BlockReshape {
            simd: Simd::for_plan(Self::NAME)?,
        })
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

    /// A row of whole blocks' winners being found.
    fn work(&self, g: &Geometry) -> WorkSize {
        WorkSize {
            len: g.interior_cols().len(),
            wide: !fits_u32(g.plane_len()),
            slots: 0,
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
        let simd = self.simd;
        // 16-bit floats: the AVX-512 row kernel the simd backend uses, where it takes the geometry.
        if maxpool_core::rows16::rows_half(simd, g, plane, rows.clone(), out) {
            return;
        }
        if fits_u32(g.plane_len()) {
            simd.run(Blocks::<T, u32> {
                simd,
                g,
                plane,
                rows,
                out,
                work,
                index: PhantomData,
            });
        } else {
            simd.run(Blocks::<T, u64> {
                simd,
                g,
                plane,
                rows,
                out,
                work,
                index: PhantomData,
            });
        }
    }
}

/// One call's work.
struct Blocks<'a, 'w, T, I> {
    simd: Simd,
    g: &'a Geometry,
    plane: &'a [T],
    rows: Range<usize>,
    out: &'a mut Winners<'w, T>,
    work: &'a mut Work<T>,
    index: PhantomData<I>,
}

impl<T: Element, I: FlatIndex> Vectorised for Blocks<'_, '_, T, I> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        let Blocks {
            simd,
            g,
            plane,
            rows,
            out,
            work,
            ..
        } = self;
        let kw = g.params().kernel[1];
        let (width, out_width) = (g.width(), g.out_width());
        let (row_windows, col_windows) = (g.row_windows(), g.col_windows());
        let full_rows = g.interior_rows();
        let full_rows = full_rows.start.max(rows.start)..full_rows.end.min(rows.end);
        let full_cols = g.interior_cols();
        let position = |i: usize, j: usize| (i - rows.start) * out_width + j;

        // The whole blocks. 2×2 tiles of f32 on AVX2 and AVX-512 have hand-written kernels. Otherwise: one strided view
        // of the plane as (block rows, kh, block columns, kw), no copy. Each block's argmax is taken for a whole
        // row of blocks at once: the (a, b) elements of every block in the row form one lane of the view, merged
        // into the running winners in scan order.
        let by_hand = g.params().kernel == [2, 2]
            && two_by_two(
                simd,
                g,
                plane,
                full_rows.clone(),
                full_cols.clone(),
                |i| position(i, full_cols.start),
                out,
            );
        if !by_hand && !full_rows.is_empty() && !full_cols.is_empty() {
            let kh = g.params().kernel[0];
            let (r0, c0) = (
                row_windows.get(full_rows.start).start,
                col_windows.get(full_cols.start).start,
            );
            let n = full_cols.len();
            let shape = (full_rows.len(), kh, n, kw).strides((kh * width, width, kw, 1));
            let blocks = ArrayView4::from_shape(shape, &plane[flat_index(r0, c0, width)..])
                .expect("whole blocks lie inside the plane");
            let (best, index) = work.buffers::<I>(n);
            for (bi, block_row) in blocks.outer_iter().enumerate() {
                for (a, blocks_a) in block_row.outer_iter().enumerate() {
                    // Row a of every block in the row: (block, b) is one contiguous run of the plane.
                    let run = blocks_a.as_slice().expect("a row of blocks is contiguous");
                    let i0 = I::from_usize(flat_index(r0 + bi * kh + a, c0, width));
                    // The common block widths get constant-size blocks, which unroll and vectorise.
                    match kw {
                        2 => row_of_blocks::<T, I, 2>(run, 2, i0, a == 0, best, index),
                        3 => row_of_blocks::<T, I, 3>(run, 3, i0, a == 0, best, index),
                        _ => row_of_blocks::<T, I, 0>(run, kw, i0, a == 0, best, index),
                    }
                }
                out.put_run(position(full_rows.start + bi, full_cols.start), best, index);
            }
        }

        // The ragged edge: windows clipped by the input's border. Rows of whole blocks have ragged windows only
        // at their two ends, so only those are visited (a test on every row measured slower on W2; see
        // `BENCHMARKS.md`).
        let mut ragged = |i: usize, j: usize| {
            let (value, index) =
                window_argmax(plane, width, row_windows.get(i), col_windows.get(j));
            out.put(position(i, j), value, index);
        };
        let whole = !full_rows.is_empty() && !full_cols.is_empty();
        let (above, below) = if whole {
            (rows.start..full_rows.start, full_rows.end..rows.end)
        } else {
            (rows.clone(), 0..0)
        };
        for i in above.chain(below) {
            (0..out_width).for_each(|j| ragged(i, j));
        }
        if whole && full_cols.len() < out_width {
            for i in full_rows {
                (0..full_cols.start)
                    .chain(full_cols.end..out_width)
                    .for_each(|j| ragged(i, j));
            }
        }
    }
}

/// Merges row `a` of each block of a row of blocks (`run`: the blocks' rows side by side, `KW` wide, or `kw`
/// wide when `KW` is 0) into the running winners, elements in scan order; `i0` is the flat index of the run's
/// first element and `first` says that this is the blocks' first row. A constant `KW` unrolls and vectorises.
#[inline(always)]
fn row_of_blocks<T: Element, I: FlatIndex, const KW: usize>(
    run: &[T],
    kw: usize,
    i0: I,
    first: bool,
    best: &mut [T],
    index: &mut [I],
) {
    let kw = if KW == 0 { kw } else { KW };
    for (j, ((best, index), block)) in best
        .iter_mut()
        .zip(index.iter_mut())
        .zip(run.chunks_exact(kw))
        .enumerate()
    {
        let base = i0.plus(j * kw);
        for (b, &v) in block.iter().enumerate() {
            if first && b == 0 {
                (*best, *index) = (v, base);
            } else {
                merge(best, index, v, base.plus(b));
            }
        }
    }
}

/// The whole 2×2 blocks in output rows `rows` and columns `cols` by the hand-written kernel for `simd`, where
/// there is one (f32 on x86-64 with AVX2 or AVX-512); the first output of row `i` goes to `start(i)`. Returns
/// whether it did them.
#[inline(always)]
#[cfg_attr(not(target_arch = "x86_64"), allow(unused_variables))]
fn two_by_two<T: Element>(
    simd: Simd,
    g: &Geometry,
    plane: &[T],
    rows: Range<usize>,
    cols: Range<usize>,
    start: impl Fn(usize) -> usize,
    out: &mut Winners<'_, T>,
) -> bool {
    #[cfg(target_arch = "x86_64")]
    return x86::two_by_two_f32(simd, g, plane, rows, cols, start, out);
    #[cfg(not(target_arch = "x86_64"))]
    false
}
