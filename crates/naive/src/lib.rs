//! The naive-loop backend: for every output position, scan the window's taps directly. This is the notebook's
//! numba loop, made general: any stride, padding, dilation and ceil mode.

use std::ops::Range;

use maxpool_core::semantics::window_argmax;
use maxpool_core::{Element, Geometry, Params, Result, Technique, Winners, Work};

/// Direct loops over output positions and window taps. Needs no precomputed state beyond the geometry.
#[derive(Clone, Copy, Debug, Default)]
pub struct NaiveLoop;

impl Technique for NaiveLoop {
    const NAME: &'static str = "naive";
    const LONG_NAME: &'static str = "naive-loop";
    const SUMMARY: &'static str = "direct loops over outputs and window taps; any geometry";

    fn supports(_: &Params) -> Result<(), &'static str> {
        Ok(())
    }

    fn plan(_: &Geometry) -> Result<Self> {
        Ok(NaiveLoop)
    }

    fn pool_rows<T: Element>(
        &self,
        g: &Geometry,
        plane: &[T],
        rows: Range<usize>,
        out: &mut Winners<'_, T>,
        _: &mut Work<T>,
    ) {
        let width = g.width();
        let cols = g.col_windows();
        let mut position = 0;
        for row in g.row_windows().range(rows) {
            for col in cols.iter() {
                let (value, index) = window_argmax(plane, width, row, col);
                out.put(position, value, index);
                position += 1;
            }
        }
    }
}
