//! The sliding-window-lookup backend: once per geometry, a table of the input offsets every window covers (the
//! notebook's `lookup`, an `arange` plane cut into windows, with padding left out); then each call gathers the
//! window's elements through the table, takes the argmax, and the winning offset is the winner's index (and,
//! counted, the multiplier). Any stride, padding and dilation. The table is the notebook's `lookups` cache,
//! built once in a plan.
//!
//! The table is laid out tap-major within each output row: for output row `i` and tap `t` (in scan order), the
//! offsets of tap `t` of every window of the row, left to right. A call then gathers one tap for a whole row of
//! windows at a time, a loop the compiler vectorises (with gather instructions where the CPU has them). A window
//! clipped by padding has fewer taps; its missing ones repeat its first tap, which can never take the window
//! from a winner (a repeat is never strictly greater than the running winner, which starts as that very tap).

use std::ops::Range;

use maxpool_core::semantics::{fits_u32, flat_index, merge, FlatIndex};
use maxpool_core::{
    Element, Error, Geometry, Params, Result, Simd, Technique, Vectorised, Winners, Work, WorkSize,
};

/// The precomputed offsets of every window's taps.
#[derive(Clone, Debug)]
pub struct SlidingWindowLookup {
    table: Table,
    /// Taps per window: kernel height × kernel width.
    taps: usize,
    /// The plane size of the geometry the table was built for: every offset in it is below this.
    plane_len: usize,
    simd: Simd,
}

/// Offsets are stored as u32 when a plane has fewer than 2^32 elements, halving the table.
#[derive(Clone, Debug)]
enum Table {
    Narrow(Vec<u32>),
    Wide(Vec<u64>),
}

impl SlidingWindowLookup {
    /// Entries in the table: output rows × taps × output columns.
    pub fn table_len(&self) -> usize {
        match &self.table {
            Table::Narrow(t) => t.len(),
            Table::Wide(t) => t.len(),
        }
    }

    fn build<O: FlatIndex>(g: &Geometry, taps: usize) -> Result<Vec<O>> {
        let len = g
            .out_plane_len()
            .checked_mul(taps)
            .ok_or(Error::Overflow("lookup table size"))?;
        let mut table = Vec::new();
        table
            .try_reserve_exact(len)
            .map_err(|_| Error::OutOfMemory {
                what: "the sliding-window lookup table",
                bytes: len.saturating_mul(size_of::<O>()),
            })?;
        let [kh, kw] = g.params().kernel;
        for row in g.row_windows().iter() {
            for a in 0..kh {
                for b in 0..kw {
                    for col in g.col_windows().iter() {
                        // Tap (a, b) of this window, or its first tap when padding cuts (a, b) off.
                        let (r, c) = if a < row.taps && b < col.taps {
                            (row.start + a * row.step, col.start + b * col.step)
                        } else {
                            (row.start, col.start)
                        };
                        table.push(O::from_usize(flat_index(r, c, g.width())));
                    }
                }
            }
        }
        Ok(table)
    }
}

/// One call's work on one table type.
struct Gather<'a, 'w, T, O> {
    table: &'a [O],
    taps: usize,
    plane_len: usize,
    g: &'a Geometry,
    plane: &'a [T],
    rows: Range<usize>,
    out: &'a mut Winners<'w, T>,
    work: &'a mut Work<T>,
}

impl<T: Element, O: FlatIndex> Vectorised for Gather<'_, '_, T, O> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        let Gather {
            table,
            taps,
            plane_len,
            g,
            plane,
            rows,
            out,
            work,
        } = self;
        let ow = g.out_width();
        // Every offset in the table is below the plane size of the geometry it was built for, and the plane is
        // cut to that length (a panic if it is shorter): `pool_rows` is safe to call with any geometry and plane.
        let plane = &plane[..plane_len];
        let (best, index) = work.buffers::<O>(ow);
        for (k, i) in rows.enumerate() {
            let row = &table[i * taps * ow..(i + 1) * taps * ow];
            for (t, offsets) in row.chunks_exact(ow).enumerate() {
                for ((b, x), &o) in best.iter_mut().zip(index.iter_mut()).zip(offsets) {
                    debug_assert!(o.get() < plane.len());
                    // SAFETY: o < plane_len = plane.len(), as above.
                    let v = unsafe { *plane.get_unchecked(o.get()) };
                    if t == 0 {
                        (*b, *x) = (v, o);
                    } else {
                        merge(b, x, v, o);
                    }
                }
            }
            out.put_run(k * ow, best, index);
        }
    }
}

impl Technique for SlidingWindowLookup {
    const NAME: &'static str = "lookup";
    const LONG_NAME: &'static str = "sliding-window-lookup";
    const SUMMARY: &'static str =
        "gathers through a table of every window's input offsets, built once per plan; any geometry";
    const WHOLE_ROWS: bool = true;
    const CHANNELS_LAST: bool = true;

    fn supports(_: &Params) -> Result<(), &'static str> {
        Ok(())
    }

    fn plan(g: &Geometry) -> Result<Self> {
        let [kh, kw] = g.params().kernel;
        let taps = kh
            .checked_mul(kw)
            .ok_or(Error::Overflow("taps per window"))?;
        let table = if fits_u32(g.plane_len()) {
            Table::Narrow(Self::build(g, taps)?)
        } else {
            Table::Wide(Self::build(g, taps)?)
        };
        let simd = Simd::for_plan(Self::NAME)?;
        Ok(SlidingWindowLookup {
            table,
            taps,
            plane_len: g.plane_len(),
            simd,
        })
    }

    fn simd(&self) -> Simd {
        self.simd
    }

    /// A row of winners being found.
    fn work(&self, g: &Geometry) -> WorkSize {
        WorkSize {
            len: g.out_width(),
            wide: matches!(self.table, Table::Wide(_)),
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
        let taps = self.taps;
        match &self.table {
            Table::Narrow(table) => self.simd.run(Gather {
                table,
                plane_len: self.plane_len,
                taps,
                g,
                plane,
                rows,
                out,
                work,
            }),
            Table::Wide(table) => self.simd.run(Gather {
                table,
                plane_len: self.plane_len,
                taps,
                g,
                plane,
                rows,
                out,
                work,
            }),
        }
    }
}
