//! The block-reshape backend: when windows tile the input (stride equal to kernel, no dilation), each plane is
//! viewed without copying as `(out_h, kh, out_w, kw)` blocks, the notebook's `reshape` + `swapaxes`, and each
//! block's argmax is its winner. Windows cut by the input's edges or padding (the ragged edge) are scanned
//! clipped, so padding never wins. Overlapping or dilated windows are not blocks: [`Technique::supports`] says
//! so.

use std::marker::PhantomData;
use std::ops::Range;

use maxpool_core::semantics::{fits_u32, flat_index, merge, window_argmax, FlatIndex};
use maxpool_core::{Element, Geometry, Params, Result, Simd, Technique, Vectorised, Winners};
use ndarray::{ArrayView4, ShapeBuilder};

/// Argmax per block of a reshaped plane.
#[derive(Clone, Copy, Debug)]
pub struct BlockReshape {
    simd: Simd,
}

impl Technique for BlockReshape {
    const NAME: &'static str = "block";
    const LONG_NAME: &'static str = "block-reshape";

    fn supports(params: &Params) -> Result<(), &'static str> {
        if params.is_tiling() {
            Ok(())
        } else {
            Err("it needs non-overlapping windows (stride equal to kernel, dilation 1); naive, lookup and simd pool any geometry")
        }
    }

    fn plan(_: &Geometry) -> Result<Self> {
        Ok(BlockReshape {
            simd: Simd::for_plan(Self::NAME)?,
        })
    }

    fn pool_rows<T: Element>(
        &self,
        g: &Geometry,
        plane: &[T],
        rows: Range<usize>,
        out: &mut Winners<'_, T>,
    ) {
        let simd = self.simd;
        if fits_u32(g.plane_len()) {
            simd.run(Blocks::<T, u32> {
                g,
                plane,
                rows,
                out,
                index: PhantomData,
            });
        } else {
            simd.run(Blocks::<T, u64> {
                g,
                plane,
                rows,
                out,
                index: PhantomData,
            });
        }
    }
}

/// One call's work.
struct Blocks<'a, 'w, T, I> {
    g: &'a Geometry,
    plane: &'a [T],
    rows: Range<usize>,
    out: &'a mut Winners<'w, T>,
    index: PhantomData<I>,
}

impl<T: Element, I: FlatIndex> Vectorised for Blocks<'_, '_, T, I> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        let Blocks {
            g,
            plane,
            rows,
            out,
            ..
        } = self;
        let kw = g.params().kernel[1];
        let (width, out_width) = (g.width(), g.out_width());
        let (row_windows, col_windows) = (g.row_windows(), g.col_windows());
        let full_rows = g.interior_rows();
        let full_rows = full_rows.start.max(rows.start)..full_rows.end.min(rows.end);
        let full_cols = g.interior_cols();
        let position = |i: usize, j: usize| (i - rows.start) * out_width + j;

        // The whole blocks: one strided view of the plane as (block rows, kh, block columns, kw), no copy. Each
        // block's argmax is taken for a whole row of blocks at once: the (a, b) elements of every block in the
        // row form one lane of the view, merged into the running winners in scan order.
        if !full_rows.is_empty() && !full_cols.is_empty() {
            let kh = g.params().kernel[0];
            let (r0, c0) = (
                row_windows[full_rows.start].start,
                col_windows[full_cols.start].start,
            );
            let n = full_cols.len();
            let shape = (full_rows.len(), kh, n, kw).strides((kh * width, width, kw, 1));
            let blocks = ArrayView4::from_shape(shape, &plane[flat_index(r0, c0, width)..])
                .expect("whole blocks lie inside the plane");
            let (mut best, mut index) = (vec![T::default(); n], vec![I::default(); n]);
            for (bi, block_row) in blocks.outer_iter().enumerate() {
                for (a, blocks_a) in block_row.outer_iter().enumerate() {
                    // Row a of every block in the row: (block, b) is one contiguous run of the plane.
                    let run = blocks_a.as_slice().expect("a row of blocks is contiguous");
                    for b in 0..kw {
                        let i0 = I::from_usize(flat_index(r0 + bi * kh + a, c0 + b, width));
                        let first = a == 0 && b == 0;
                        // The common block widths get a constant stride, which vectorises.
                        match kw {
                            2 => lane::<T, I, 2>(run, b, i0, first, &mut best, &mut index),
                            3 => lane::<T, I, 3>(run, b, i0, first, &mut best, &mut index),
                            _ => lane::<T, I, 0>(run, b, i0, first, &mut best, &mut index),
                        }
                    }
                }
                out.put_run(
                    position(full_rows.start + bi, full_cols.start),
                    &best,
                    &index,
                );
            }
        }

        // The ragged edge: windows clipped by the input's border.
        for i in rows.clone() {
            let whole_row = full_rows.contains(&i);
            for (j, &col) in col_windows.iter().enumerate() {
                if whole_row && full_cols.contains(&j) {
                    continue;
                }
                let (value, index) = window_argmax(plane, width, row_windows[i], col);
                out.put(position(i, j), value, index);
            }
        }
    }
}

/// Merges element `b` of each block of a row of blocks (`run`, blocks `KW` wide, or `run.len() / best.len()`
/// wide when `KW` is 0) into the running winners; `i0` is the flat index of the first block's element.
#[inline(always)]
fn lane<T: Element, I: FlatIndex, const KW: usize>(
    run: &[T],
    b: usize,
    i0: I,
    first: bool,
    best: &mut [T],
    index: &mut [I],
) {
    let kw = if KW == 0 { run.len() / best.len() } else { KW };
    let mut candidate = i0;
    for (j, (best, index)) in best.iter_mut().zip(index.iter_mut()).enumerate() {
        let v = run[j * kw + b];
        if first {
            (*best, *index) = (v, candidate);
        } else {
            merge(best, index, v, candidate);
        }
        candidate = candidate.plus(kw);
    }
}
