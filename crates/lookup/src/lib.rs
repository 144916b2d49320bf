//! The sliding-window-lookup backend: once per geometry, a table of the input offsets every window covers (the
//! notebook's `lookup`, an `arange` plane cut into windows, with padding left out); then each call gathers the
//! window's elements through the table, takes the argmax, and the winning offset is the winner's index. Any
//! stride, padding and dilation. The table is the notebook's `lookups` cache, built once in a plan.

use std::ops::Range;

use maxpool_core::semantics::{argmax, flat_index};
use maxpool_core::{Element, Error, Geometry, Params, Result, Technique, Winners};

/// The precomputed offsets of every window's taps, windows in row-major output order, taps in scan order.
#[derive(Clone, Debug)]
pub struct SlidingWindowLookup {
    table: Table,
    /// Where each output row's windows begin in the table; one extra entry for the end.
    row_starts: Vec<usize>,
}

/// Offsets are stored as u32 when a plane has at most 2^32 elements, halving the table.
#[derive(Clone, Debug)]
enum Table {
    Narrow(Vec<u32>),
    Wide(Vec<u64>),
}

trait Offset: Copy + TryFrom<usize> {
    fn get(self) -> usize;
}
impl Offset for u32 {
    #[inline(always)]
    fn get(self) -> usize {
        self as usize
    }
}
impl Offset for u64 {
    #[inline(always)]
    fn get(self) -> usize {
        self as usize
    }
}

impl SlidingWindowLookup {
    /// Entries in the table: the total number of taps over all windows.
    pub fn table_len(&self) -> usize {
        self.row_starts.last().copied().unwrap_or(0)
    }

    fn build<O: Offset>(g: &Geometry, len: usize) -> Result<Vec<O>> {
        let mut table = Vec::new();
        table
            .try_reserve_exact(len)
            .map_err(|_| Error::OutOfMemory {
                what: "the sliding-window lookup table",
                bytes: len.saturating_mul(size_of::<O>()),
            })?;
        for row in g.row_windows() {
            for col in g.col_windows() {
                for r in row.positions() {
                    for c in col.positions() {
                        let offset = flat_index(r, c, g.width());
                        table.push(
                            O::try_from(offset)
                                .unwrap_or_else(|_| unreachable!("offsets fit the table type")),
                        );
                    }
                }
            }
        }
        Ok(table)
    }

    fn gather<T: Element, O: Offset>(
        &self,
        table: &[O],
        g: &Geometry,
        plane: &[T],
        rows: Range<usize>,
        out: &mut Winners<'_, T>,
    ) {
        let mut cursor = self.row_starts[rows.start];
        let mut position = 0;
        for row in &g.row_windows()[rows] {
            for col in g.col_windows() {
                let taps = &table[cursor..cursor + row.taps * col.taps];
                cursor += taps.len();
                let (value, index) = argmax(taps.iter().map(|&t| (plane[t.get()], t.get())))
                    .expect("a window covers at least one input element");
                out.put(position, value, index);
                position += 1;
            }
        }
    }
}

impl Technique for SlidingWindowLookup {
    const NAME: &'static str = "lookup";
    const LONG_NAME: &'static str = "sliding-window-lookup";

    fn supports(_: &Params) -> Result<(), &'static str> {
        Ok(())
    }

    fn plan(g: &Geometry) -> Result<Self> {
        let taps_per_row: usize = g.col_windows().iter().map(|c| c.taps).sum();
        let mut row_starts = Vec::new();
        row_starts
            .try_reserve_exact(g.out_height() + 1)
            .map_err(|_| Error::OutOfMemory {
                what: "the sliding-window lookup table",
                bytes: (g.out_height() + 1).saturating_mul(size_of::<usize>()),
            })?;
        let mut total = 0usize;
        row_starts.push(0);
        for row in g.row_windows() {
            total = row
                .taps
                .checked_mul(taps_per_row)
                .and_then(|n| n.checked_add(total))
                .ok_or(Error::Overflow("lookup table size"))?;
            row_starts.push(total);
        }
        let table = if u32::try_from(g.plane_len()).is_ok() {
            Table::Narrow(Self::build(g, total)?)
        } else {
            Table::Wide(Self::build(g, total)?)
        };
        Ok(SlidingWindowLookup { table, row_starts })
    }

    fn pool_rows<T: Element>(
        &self,
        g: &Geometry,
        plane: &[T],
        rows: Range<usize>,
        out: &mut Winners<'_, T>,
    ) {
        match &self.table {
            Table::Narrow(t) => self.gather(t, g, plane, rows, out),
            Table::Wide(t) => self.gather(t, g, plane, rows, out),
        }
    }
}
