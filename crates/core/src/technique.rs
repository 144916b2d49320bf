//! The backend trait: what a pooling technique provides, and the sink it writes winners into.

use std::ops::Range;

use crate::coded::{CodeScratch, Coded, Coding};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::geometry::Geometry;
use crate::params::Params;
use crate::semantics::FlatIndex;
use crate::simd::Simd;

/// A pooling technique: a backend crate implements this and nothing else.
///
/// The engine ([`crate::Planned`]) validates the geometry and every buffer before calling into a technique, so a
/// technique's methods only see consistent sizes. A technique finds winners; the [`Winners`] sink records them
/// (values, indices, multiplier), so the encoding of outputs lives in one place.
pub trait Technique: Sized + Send + Sync + 'static {
    /// Short name, as users type it: `"naive"`, `"block"`, `"lookup"`.
    const NAME: &'static str;
    /// Descriptive name: `"naive-loop"`, …
    const LONG_NAME: &'static str;
    /// One line on the technique and the geometries it pools, for help texts.
    const SUMMARY: &'static str;

    /// `Ok` when the technique can pool every geometry with these parameters, else why not. Only the shape of
    /// the windows matters here, not the input size.
    fn supports(params: &Params) -> Result<(), &'static str>;

    /// Precomputes what the technique needs for `geometry`, once, for any number of calls. Called only for
    /// parameters that [`supports`](Technique::supports) accepts.
    fn plan(geometry: &Geometry) -> Result<Self>;

    /// Whether [`pool_rows`](Technique::pool_rows) hands every output row to [`Winners`] whole and in order,
    /// through [`Winners::put_run`] or [`Winners::write_rows`], never [`Winners::put`]. The multiplier of
    /// overlapping windows can then be counted from each row's winners as it comes, and written once, rather
    /// than zeroed and incremented window by window.
    const WHOLE_ROWS: bool = false;

    /// Whether inputs whose channels are contiguous (channels-last) are pooled by the engine's channels-last
    /// kernel, which compares whole runs of channels at once, rather than by this technique one gathered plane
    /// at a time. The fast techniques say yes; the naive one keeps pooling planes, so that the conformance suite
    /// compares the two ways.
    const CHANNELS_LAST: bool = false;

    /// Whether [`pool_rows`](Technique::pool_rows), on planes of `T` with `geometry`, hands every window of
    /// every row it is given to [`Winners::write_rows`]' kernel and never to [`Winners::put`] or
    /// [`Winners::put_run`], and that kernel writes [`IndexRun::Taps`] when given them: the `window` index
    /// format, one byte a window, written in place of the flat indices the engine would otherwise encode.
    /// Decided once per call, before any plane is pooled. None by default.
    fn writes_taps<T: Element>(&self, _geometry: &Geometry) -> bool {
        false
    }

    /// The instruction-set level the technique's kernels, and the channels-last kernel on its behalf, run at.
    fn simd(&self) -> Simd {
        Simd::Portable
    }

    /// The working storage [`pool_rows`](Technique::pool_rows) takes from [`Work`] on each thread of a call:
    /// sized from the geometry, so it is reserved before the call writes anything. None by default.
    fn work(&self, _geometry: &Geometry) -> WorkSize {
        WorkSize::default()
    }

    /// Finds the winner of every window in output rows `rows` of one row-major input plane of
    /// `geometry.plane_len()` elements, and puts each into `out` at its position relative to `rows.start`.
    /// `work` holds what [`work`](Technique::work) asked for.
    fn pool_rows<T: Element>(
        &self,
        geometry: &Geometry,
        plane: &[T],
        rows: Range<usize>,
        out: &mut Winners<'_, T>,
        work: &mut Work<T>,
    );
}

/// How much working storage a technique needs on each thread ([`Technique::work`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WorkSize {
    /// Values, and as many indices, that [`Work::buffers`] hands out at most.
    pub len: usize,
    /// The indices are `u64` ([`FlatIndex`] for planes of 2^32 elements or more), not `u32`.
    pub wide: bool,
    /// Slot numbers that [`Work::take`] hands out at most.
    pub slots: usize,
}

/// Working storage a technique asked for ([`Technique::work`]), reserved by the engine for each thread of a
/// call before anything is written, so that an allocation that fails is [`Error::OutOfMemory`], not an abort;
/// kept across the planes the thread pools. Handing it out never allocates.
pub struct Work<T> {
    values: Vec<T>,
    indices: IndexBuffers,
    slots: Vec<usize>,
}

/// The index buffers of [`Work`], one per [`FlatIndex`] type: [`FlatIndex::buffer`] picks one.
#[derive(Default)]
pub struct IndexBuffers {
    pub(crate) narrow: Vec<u32>,
    pub(crate) wide: Vec<u64>,
    pub(crate) long: Vec<i64>,
}

impl<T: Element> Work<T> {
    /// Reserves `size`.
    pub(crate) fn reserve(size: WorkSize) -> Result<Self> {
        let mut work = Work {
            values: Vec::new(),
            indices: IndexBuffers::default(),
            slots: Vec::new(),
        };
        let what = "a technique's working storage";
        try_reserve(&mut work.values, size.len, what)?;
        if size.wide {
            try_reserve(&mut work.indices.wide, size.len, what)?;
        } else {
            try_reserve(&mut work.indices.narrow, size.len, what)?;
        }
        try_reserve(&mut work.slots, size.slots, what)?;
        Ok(work)
    }

    /// `len` values and `len` indices, set to their defaults, and `slots` slot numbers set to `usize::MAX`; at
    /// most the [`WorkSize`] asked for.
    #[inline]
    pub fn take<I: FlatIndex>(
        &mut self,
        len: usize,
        slots: usize,
    ) -> (&mut [T], &mut [I], &mut [usize]) {
        let indices = I::buffer(&mut self.indices);
        debug_assert!(
            len <= self.values.capacity()
                && len <= indices.capacity()
                && slots <= self.slots.capacity(),
            "a technique took more working storage than it asked for"
        );
        self.values.clear();
        self.values.resize(len, T::default());
        indices.clear();
        indices.resize(len, I::default());
        self.slots.clear();
        self.slots.resize(slots, usize::MAX);
        (&mut self.values, indices, &mut self.slots)
    }

    /// `len` values and `len` indices: [`take`](Work::take) without slots.
    #[inline]
    pub fn buffers<I: FlatIndex>(&mut self, len: usize) -> (&mut [T], &mut [I]) {
        let (values, indices, _) = self.take(len, 0);
        (values, indices)
    }
}

/// Reserves room for exactly `len` elements in `v`, or says how much could not be had.
pub(crate) fn try_reserve<E>(v: &mut Vec<E>, len: usize, what: &'static str) -> Result<()> {
    v.try_reserve_exact(len).map_err(|_| Error::OutOfMemory {
        what,
        bytes: len.saturating_mul(size_of::<E>()),
    })
}

/// Where a technique puts the winners of a run of output rows of one plane: values, and on request indices and
/// the multiplier (the plane's bincount of indices).
pub struct Winners<'a, T> {
    values: &'a mut [T],
    indices: Option<&'a mut [i64]>,
    /// Tap codes wanted in place of `indices` ([`Technique::writes_taps`]), without the multiplier.
    taps: Option<&'a mut [u8]>,
    multiplier: Option<&'a mut [u32]>,
    /// The multiplier still holds the caller's contents: it is zeroed when the first window is counted, while
    /// the plane is in cache and on the thread that counts it, unless a technique takes it to write it whole
    /// ([`Winners::take_multiplier`]).
    unzeroed: bool,
    /// No element lies in two windows, so a winner's count is set to 1 rather than incremented: a store
    /// without the load, which makes the multiplier cheaper.
    disjoint: bool,
    /// Indices for [`Winners::write_rows`] to count from when the multiplier is wanted but the indices are not.
    scratch: &'a mut Vec<i64>,
    /// Counting from winner codes, each multiplier row written once ([`crate::coded`]): when the multiplier is
    /// wanted, the technique hands over whole rows in order ([`Technique::WHOLE_ROWS`]) and the geometry
    /// qualifies.
    coded: Option<Coded<'a>>,
}

/// Working storage of [`Winners`] a thread keeps across the planes it pools in one call, reserved before the
/// call writes anything.
#[derive(Default)]
pub(crate) struct Scratch {
    indices: Vec<i64>,
    codes: CodeScratch,
}

impl Scratch {
    /// Room for what a call on `geometry` needs: indices to count from when the multiplier is wanted without
    /// them ([`Winners::write_rows`]' bands), and the counting from codes when `coding`.
    pub(crate) fn reserve(
        geometry: &Geometry,
        multiplier_without_indices: bool,
        coding: Option<&Coding>,
    ) -> Result<Self> {
        let mut scratch = Scratch::default();
        if multiplier_without_indices {
            let len = BAND.max(geometry.out_width());
            try_reserve(
                &mut scratch.indices,
                len,
                "indices to count the multiplier from",
            )?;
        }
        if let Some(coding) = coding {
            scratch.codes.reserve(coding)?;
        }
        Ok(scratch)
    }
}

impl<'a, T: Element> Winners<'a, T> {
    /// A sink for one run of output rows. `values` and `indices` cover the run; `multiplier` covers the whole
    /// input plane, whatever it holds. `disjoint`: the geometry's windows share no element
    /// ([`Params::windows_disjoint`](crate::Params::windows_disjoint)).
    /// `coding`: how to count the multiplier from codes, when the technique and geometry allow it.
    pub(crate) fn new(
        values: &'a mut [T],
        indices: Option<&'a mut [i64]>,
        multiplier: Option<&'a mut [u32]>,
        disjoint: bool,
        coding: Option<&Coding>,
        scratch: &'a mut Scratch,
    ) -> Self {
        let Scratch {
            indices: index_scratch,
            codes,
        } = scratch;
        let coded = coding
            .filter(|_| multiplier.is_some())
            .map(|plan| Coded::new(*plan, codes));
        Winners {
            values,
            indices,
            taps: None,
            unzeroed: multiplier.is_some() && coded.is_none(),
            multiplier,
            disjoint,
            scratch: index_scratch,
            coded,
        }
    }

    /// A sink for one run of output rows that records each winner's tap code ([`IndexRun::Taps`]) in `taps`,
    /// with the values, and no multiplier: for techniques that write them ([`Technique::writes_taps`]).
    pub(crate) fn with_taps(
        values: &'a mut [T],
        taps: &'a mut [u8],
        scratch: &'a mut Scratch,
    ) -> Self {
        let mut winners = Winners::new(values, None, None, false, None, scratch);
        winners.taps = Some(taps);
        winners
    }

    /// Ends the run: the input rows left are counted from codes, or a multiplier nothing has counted into or
    /// taken is zeroed.
    pub(crate) fn finish(mut self) {
        if let (Some(coded), Some(multiplier)) = (&mut self.coded, self.multiplier.as_deref_mut()) {
            coded.finish(multiplier);
        } else {
            self.counts();
        }
    }

    /// The multiplier, zeroed before its first count.
    #[inline(always)]
    fn counts(&mut self) -> Option<&mut [u32]> {
        if self.unzeroed {
            if let Some(m) = self.multiplier.as_deref_mut() {
                m.fill(0);
            }
            self.unzeroed = false;
        }
        self.multiplier.as_deref_mut()
    }

    /// Takes the plane's multiplier, not zeroed, for a technique that sets every one of its elements itself
    /// (how many windows each element wins, 0 where none) and so writes it once instead of zeroing and then
    /// counting. From then on nothing is counted here. `None` when the multiplier is not wanted, or when
    /// counting has begun.
    pub fn take_multiplier(&mut self) -> Option<&'a mut [u32]> {
        if self.unzeroed {
            self.unzeroed = false;
            self.multiplier.take()
        } else {
            None
        }
    }

    /// Records that output `position` (counted from the start of the run) is won by the input element at
    /// `index` (its [`flat_index`](crate::semantics::flat_index)) with `value`.
    #[inline(always)]
    pub fn put(&mut self, position: usize, value: T, index: usize) {
        debug_assert!(
            self.coded.is_none(),
            "a technique with WHOLE_ROWS put one window"
        );
        self.no_taps();
        self.values[position] = value;
        if let Some(indices) = self.indices.as_deref_mut() {
            indices[position] = index as i64;
        }
        let disjoint = self.disjoint;
        if let Some(multiplier) = self.counts() {
            count(multiplier, index, disjoint);
        }
    }

    /// Records the winners of `values.len()` consecutive outputs from `position` on: their values, and the flat
    /// indices in `indices` (as long as `values`). The vectorising backends find a row of winners at a time.
    #[inline(always)]
    pub fn put_run<I: FlatIndex>(&mut self, position: usize, values: &[T], indices: &[I]) {
        self.no_taps();
        let n = values.len();
        self.values[position..position + n].copy_from_slice(values);
        if let Some(out) = self.indices.as_deref_mut() {
            for (o, &i) in out[position..position + n].iter_mut().zip(indices) {
                *o = i.to_i64();
            }
        }
        if let (Some(coded), Some(multiplier)) = (&mut self.coded, self.multiplier.as_deref_mut()) {
            debug_assert!(
                coded.is_next_row(position, n),
                "a technique with WHOLE_ROWS put part of a row, or a row out of order"
            );
            coded.code_row(&indices[..n], multiplier);
            return;
        }
        let disjoint = self.disjoint;
        if let Some(multiplier) = self.counts() {
            count_all(multiplier, disjoint, indices[..n].iter().map(|i| i.get()));
        }
    }
}

impl<T> Winners<'_, T> {
    /// Refuses a winner put by position when tap codes are wanted: only [`Winners::write_rows`]' kernels write
    /// them, and a technique says so ([`Technique::writes_taps`]) only when its kernels take every window. A
    /// broken promise is a bug, which the call reports as [`Error::Internal`] (its threads catch panics).
    #[inline(always)]
    fn no_taps(&self) {
        assert!(
            self.taps.is_none(),
            "a technique that writes tap codes put a window by position"
        );
    }
}

/// Where [`Winners::write_rows`]' kernel writes the indices of the outputs it is handed, one per output.
pub enum IndexRun<'a> {
    /// Each winner's [`flat_index`](crate::semantics::flat_index).
    Flat(&'a mut [i64]),
    /// Each winner's [`tap_code`](crate::semantics::tap_code), its tap within its window counted from the
    /// window's first row and column with padding included: the `window` index format. Given only to
    /// techniques that say they write them ([`Technique::writes_taps`]).
    Taps(&'a mut [u8]),
}

impl IndexRun<'_> {
    /// The outputs from `from` on.
    #[inline(always)]
    pub fn rest(&mut self, from: usize) -> IndexRun<'_> {
        match self {
            IndexRun::Flat(ix) => IndexRun::Flat(&mut ix[from..]),
            IndexRun::Taps(ix) => IndexRun::Taps(&mut ix[from..]),
        }
    }

    /// How many outputs.
    #[inline(always)]
    pub fn len(&self) -> usize {
        match self {
            IndexRun::Flat(ix) => ix.len(),
            IndexRun::Taps(ix) => ix.len(),
        }
    }

    /// Never true for a run a kernel is handed with outputs.
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T: Element> Winners<'_, T> {
    /// For kernels that write outputs in place: the outputs of `rows` consecutive runs of `row_len` (output
    /// rows, or the same part of each), from `position` on, are handed to `write` in bands of rows. `write(band,
    /// values, indices)` gets the band's rows (counted from the first) and their values and, when indices or the
    /// multiplier are wanted, their indices; it must set every one of them to its window's winner, the value
    /// and the [`flat_index`](crate::semantics::flat_index), or the tap code when given [`IndexRun::Taps`]. The
    /// multiplier is then counted from those indices.
    /// This saves [`Winners::put_run`]'s copy of each row. A band is all the rows, unless the multiplier is
    /// wanted without the indices: the indices to count from then need room, for at most [`BAND`] outputs.
    /// When the multiplier is counted from codes ([`Technique::WHOLE_ROWS`]), the runs must be whole output rows,
    /// from the next one on.
    #[inline(always)]
    pub fn write_rows(
        &mut self,
        position: usize,
        rows: usize,
        row_len: usize,
        mut write: impl FnMut(Range<usize>, &mut [T], Option<IndexRun<'_>>),
    ) {
        let band = if self.indices.is_none() && self.multiplier.is_some() {
            (BAND / row_len.max(1)).max(1)
        } else {
            rows.max(1)
        };
        self.counts();
        let Winners {
            values,
            indices,
            taps,
            multiplier,
            disjoint,
            scratch,
            coded,
            ..
        } = self;
        for first in (0..rows).step_by(band) {
            let band = first..(first + band).min(rows);
            let run = position + first * row_len..position + band.end * row_len;
            let values = &mut values[run.clone()];
            if let Some(taps) = taps.as_deref_mut() {
                // No multiplier with tap codes (`Winners::with_taps`).
                write(band, values, Some(IndexRun::Taps(&mut taps[run])));
                continue;
            }
            let indices = match (indices.as_deref_mut(), &multiplier) {
                (Some(indices), _) => &mut indices[run.clone()],
                (None, Some(_)) => {
                    // Reserved for BAND or a row, whichever is longer (`Scratch::reserve`).
                    debug_assert!(run.len() <= scratch.capacity());
                    scratch.resize(run.len(), 0);
                    &mut scratch[..]
                }
                (None, None) => {
                    write(band, values, None);
                    continue;
                }
            };
            write(band, values, Some(IndexRun::Flat(&mut *indices)));
            match (coded.as_mut(), multiplier.as_deref_mut()) {
                (Some(coded), Some(multiplier)) => {
                    debug_assert!(
                        coded.is_next_row(run.start, row_len),
                        "a technique with WHOLE_ROWS wrote part of a row, or rows out of order"
                    );
                    for row in indices.chunks_exact(row_len) {
                        coded.code_row(row, multiplier);
                    }
                }
                (None, Some(multiplier)) => {
                    count_all(multiplier, *disjoint, indices.iter().map(|&i| i as usize))
                }
                _ => {}
            }
        }
    }
}

/// The most outputs [`Winners::write_rows`] hands its kernel at a time when it keeps the indices itself.
pub const BAND: usize = 4096;

/// Counts the windows won by each of `indices`, with the loop unswitched on `disjoint` by hand (see [`count`]).
#[inline(always)]
fn count_all(multiplier: &mut [u32], disjoint: bool, indices: impl Iterator<Item = usize>) {
    if disjoint {
        indices.for_each(|i| count(multiplier, i, true));
    } else {
        indices.for_each(|i| count(multiplier, i, false));
    }
}

/// Counts one more window won by element `index`: sets the count to 1 when windows are `disjoint` (it was 0),
/// else increments it.
#[inline(always)]
fn count(multiplier: &mut [u32], index: usize, disjoint: bool) {
    if disjoint {
        multiplier[index] = 1;
    } else {
        multiplier[index] += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::semantics::window_argmax;
    use crate::Padding;

    /// The winners of a plane, row after row, by the semantics' own scan.
    fn winners(g: &Geometry, plane: &[f32]) -> (Vec<f32>, Vec<i64>) {
        let mut out = (vec![], vec![]);
        for r in g.row_windows().iter() {
            for c in g.col_windows().iter() {
                let (v, i) = window_argmax(plane, g.width(), r, c);
                out.0.push(v);
                out.1.push(i as i64);
            }
        }
        out
    }

    /// Both ways a technique hands over whole rows, put_run and write_rows (in bands, with and without the
    /// indices wanted), count the multiplier from codes as the bincount of the indices, on every element,
    /// whatever the buffer held. No technique writes in place on a geometry counted from codes yet, so the suite
    /// cannot reach write_rows' path.
    #[test]
    fn whole_rows_count_the_bincount() {
        let geometries = [
            (Params::new(3).with_stride(1), 37, 70),
            // 599 output rows of 8: two bands of write_rows when the indices are not wanted.
            (Params::new(2).with_stride(1).with_ceil_mode(true), 600, 9),
            (
                Params::rect(3, 4)
                    .with_stride_hw(1, 2)
                    .with_padding_sides(Padding {
                        top: 2,
                        bottom: 1,
                        left: 1,
                        right: 2,
                    }),
                41,
                129,
            ),
        ];
        for (params, height, width) in geometries {
            let g = Geometry::new(&params, height, width).unwrap();
            let coding = Coding::new(&g).expect("counted from codes");
            let plane: Vec<f32> = (0..g.plane_len())
                .map(|i| ((i * 7919) % 61) as f32)
                .collect();
            let (values, indices) = winners(&g, &plane);
            let mut expected = vec![0u32; g.plane_len()];
            for &i in &indices {
                expected[i as usize] += 1;
            }
            let (n, ow) = (g.out_plane_len(), g.out_width());
            for way in 0..3 {
                let (mut v, mut ix, mut m) =
                    (vec![0.0; n], vec![0i64; n], vec![9u32; g.plane_len()]);
                let want_indices = way != 2;
                let mut scratch = Scratch::reserve(&g, !want_indices, Some(&coding)).unwrap();
                let mut out = Winners::new(
                    &mut v,
                    want_indices.then_some(&mut ix[..]),
                    Some(&mut m),
                    false,
                    Some(&coding),
                    &mut scratch,
                );
                if way == 0 {
                    let narrow: Vec<u32> = indices.iter().map(|&i| i as u32).collect();
                    for k in 0..g.out_height() {
                        let row = k * ow..(k + 1) * ow;
                        out.put_run(row.start, &values[row.clone()], &narrow[row]);
                    }
                } else {
                    out.write_rows(0, g.out_height(), ow, |band, vals, ixs| {
                        let run = band.start * ow..band.end * ow;
                        vals.copy_from_slice(&values[run.clone()]);
                        let Some(IndexRun::Flat(ixs)) = ixs else {
                            panic!("flat indices to count from")
                        };
                        ixs.copy_from_slice(&indices[run]);
                    });
                }
                out.finish();
                assert_eq!(v, values, "{params:?}, way {way}");
                assert_eq!(m, expected, "{params:?}, way {way}");
            }
        }
    }
}
