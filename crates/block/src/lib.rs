//! The block-reshape backend: when windows tile the input (stride equal to kernel, no dilation), each plane is
//! viewed without copying as `(out_h, kh, out_w, kw)` blocks, the notebook's `reshape` + `swapaxes`, and each
//! block's argmax is its winner. Windows cut by the input's edges or padding (the ragged edge) are scanned
//! clipped, so padding never wins. Overlapping or dilated windows are not blocks: [`Technique::supports`] says
//! so.

use std::ops::Range;

use maxpool_core::semantics::{argmax, flat_index, window_argmax};
use maxpool_core::{Element, Geometry, Params, Result, Technique, Winners};
use ndarray::{ArrayView4, ShapeBuilder};

/// Argmax per block of a reshaped plane.
#[derive(Clone, Copy, Debug, Default)]
pub struct BlockReshape;

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
        Ok(BlockReshape)
    }

    fn pool_rows<T: Element>(
        &self,
        g: &Geometry,
        plane: &[T],
        rows: Range<usize>,
        out: &mut Winners<'_, T>,
    ) {
        let (width, out_width) = (g.width(), g.out_width());
        let (row_windows, col_windows) = (g.row_windows(), g.col_windows());
        let full_rows = g.interior_rows();
        let full_rows = full_rows.start.max(rows.start)..full_rows.end.min(rows.end);
        let full_cols = g.interior_cols();
        let position = |i: usize, j: usize| (i - rows.start) * out_width + j;

        // The whole blocks: one strided view, no copy.
        if !full_rows.is_empty() && !full_cols.is_empty() {
            let [kh, kw] = g.params().kernel;
            let (r0, c0) = (
                row_windows[full_rows.start].start,
                col_windows[full_cols.start].start,
            );
            let shape =
                (full_rows.len(), kh, full_cols.len(), kw).strides((kh * width, width, kw, 1));
            let blocks = ArrayView4::from_shape(shape, &plane[flat_index(r0, c0, width)..])
                .expect("whole blocks lie inside the plane");
            for (bi, block_row) in blocks.permuted_axes([0, 2, 1, 3]).outer_iter().enumerate() {
                for (bj, block) in block_row.outer_iter().enumerate() {
                    let taps = block.indexed_iter().map(|((r, c), &v)| {
                        (v, flat_index(r0 + bi * kh + r, c0 + bj * kw + c, width))
                    });
                    let (value, index) = argmax(taps).expect("blocks are not empty");
                    out.put(
                        position(full_rows.start + bi, full_cols.start + bj),
                        value,
                        index,
                    );
                }
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
