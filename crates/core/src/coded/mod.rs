//! The multiplier of overlapping windows counted row by row from winner codes, each of its rows written once.
//!
//! Counting window by window (zero the plane, then add one at each winner) writes the multiplier twice and
//! increments it at scattered addresses, where consecutive windows that share a winner wait on each other's
//! stores. Instead, each window's winner is recorded as one byte, its [`tap_code`] (which tap of the window won),
//! in a small ring of output rows. Once no later window reaches an input row, that row's counts are worked out
//! whole, 64 columns at a time in bytes: for every window row covering it and every tap column `b`, one compare
//! of the code row, shifted by the windows between, against the code that tap has. The row is then widened to
//! `u32` and written once. Rows and columns no window reaches get 0 like any other.
//!
//! With column stride `s` (1 or 2), the input columns fall into `s` phases (column mod `s`): tap `b` of window
//! `j` lands on column `j·s − pl + b`, so column `m·s + φ` is reached by tap `b` of window `m + (φ + pl − b) / s`
//! exactly when `b ≡ φ + pl (mod s)`. Each phase is counted from the same compact code row (a byte per window),
//! shifted, and the phases are interleaved as the counts are widened, from registers.
//!
//! This work grows with the input and the window's width, counting window by window with the windows, so it pays
//! where windows are dense: at least half a window per input element (strides whose product is at most 2).
//! Measured with one thread against a plane zeroed and counted window by window, the multiplier's extra time
//! fell at k3 s1 (W3, a window per element) but grew at k3 s2 p1 (W1, a quarter), so there windows are still
//! counted one by one (the figures are in `BENCHMARKS.md`).
//!
//! A technique opts in with [`Technique::WHOLE_ROWS`](crate::Technique::WHOLE_ROWS): it must hand
//! [`Winners`](crate::Winners) whole output rows, in order.

use std::ops::Range;

mod bytes;

#[cfg(target_arch = "x86_64")]
use bytes::{Avx2, Avx512};
use bytes::{Bytes, Portable};

use crate::error::Result;
use crate::geometry::Geometry;
use crate::semantics::{tap_code, FlatIndex, NO_CODE};
use crate::simd::Simd;
use crate::technique::try_reserve;

/// Counts are worked out this many columns of a phase at a time: one AVX-512 vector of bytes.
const CHUNK: usize = 64;

/// Counted rows are staged, widened to `u32`, in this many bytes (at least one row), then copied to the
/// multiplier together. A copy this long is glibc's `rep movsb`, whose stores take whole cache lines without
/// reading them first, as `memset` does; vector stores straight into the multiplier read each line before
/// writing it.
const STAGE_BYTES: usize = 16 << 10;

/// How a geometry's multiplier is counted from codes: the geometry's numbers and the ring's layout, worked out
/// once per plan. `None` from [`Coding::new`] when the geometry does not qualify.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Coding {
    width: usize,
    height: usize,
    out_h: usize,
    out_w: usize,
    kernel: [usize; 2],
    stride: [usize; 2],
    /// Top and left padding.
    pad: [usize; 2],
    /// Input rows counted together, once they are complete: as many as [`STAGE_BYTES`] hold, at least one.
    batch: usize,
    /// Rows in the ring, a power of two: the output rows that input rows not yet counted need, and the next.
    slots: usize,
    /// Bytes of a ring row: `lead` of [`NO_CODE`], then the windows' codes and [`NO_CODE`] up to `span + tail`.
    row_bytes: usize,
    /// Windows before a row's first that a column's count may look at: a tap lands up to `(kw − 1) div sw`
    /// windows to the right of its own.
    lead: usize,
    /// Columns of a phase, a whole number of [`CHUNK`]s: at least `⌈width / sw⌉`.
    span: usize,
    /// Windows after `span` that a column's count may look at: up to `⌈pl / sw⌉`.
    tail: usize,
    /// The instruction-set level counted with: the active one, which the CPU has.
    simd: Simd,
}

impl Coding {
    /// The counting plan for `g`, when its windows overlap and are dense (strides whose product is at most 2; see
    /// the module's notes), are not dilated and have at most 255 taps (a code per tap and [`NO_CODE`] fit a
    /// byte), and a tap's offset from its window's first element fits 31 bits.
    pub(crate) fn new(g: &Geometry) -> Option<Coding> {
        let p = g.params();
        let (kernel, stride) = (p.kernel, p.stride);
        let (width, height) = (g.width(), g.height());
        let taps = kernel[0].checked_mul(kernel[1])?;
        let qualifies = !p.windows_disjoint()
            && p.dilation == [1, 1]
            && taps < usize::from(NO_CODE)
            && stride[0] * stride[1] <= 2
            // A winner's code is read back from its offset `a · width + b` with `b < kw` (see `code_row`).
            && kernel[1] <= width
            && kernel[0].checked_mul(width).is_some_and(|n| n < 1 << 31);
        if !qualifies {
            return None;
        }
        // Every window holds an input element, so the padding is under the kernel.
        let pad = [p.padding.top, p.padding.left];
        let lead = (kernel[1] - 1) / stride[1];
        let span = width.div_ceil(stride[1]).next_multiple_of(CHUNK);
        let tail = pad[1].div_ceil(stride[1]);
        let row_bytes = lead + span + tail;
        let batch = (STAGE_BYTES / size_of::<u32>() / width).max(1);
        // Input rows wait to be counted until a batch of them is complete, so the ring keeps the output rows from
        // the one covering the first row not counted (up to ⌈kh / sh⌉ before those that complete rows) to the
        // last coded, and room for the next.
        let live = batch.div_ceil(stride[0]) + kernel[0].div_ceil(stride[0]) + 2;
        let slots = live.next_power_of_two();
        Some(Coding {
            width,
            height,
            out_h: g.out_height(),
            out_w: g.out_width(),
            kernel,
            stride,
            pad,
            batch,
            slots,
            row_bytes,
            lead,
            span,
            tail,
            simd: Simd::active()
                .ok()
                .filter(|s| s.is_available())
                .unwrap_or(Simd::Portable),
        })
    }

    /// Columns a row's last chunk reaches past the width, which the stage has room for after its last row.
    fn overhang(&self) -> usize {
        self.span * self.stride[1] - self.width
    }

    /// The byte of output row `i`'s first window in the ring.
    #[inline(always)]
    fn row_start(&self, i: usize) -> usize {
        (i & (self.slots - 1)) * self.row_bytes + self.lead
    }

    /// How many input rows are complete once `coded` output rows are: those above the next window's first row,
    /// or all after the last window.
    fn complete(&self, coded: usize) -> usize {
        if coded >= self.out_h {
            self.height
        } else {
            (coded * self.stride[0])
                .saturating_sub(self.pad[0])
                .min(self.height)
        }
    }
}

/// Working storage of counting from codes, kept by the engine across the planes one thread pools in a call.
#[derive(Default)]
pub(crate) struct CodeScratch {
    ring: Vec<u8>,
    stage: Vec<u32>,
}

/// One plane's counting from codes: the plan, and how far coding and counting have got.
pub(crate) struct Coded<'a> {
    plan: Coding,
    ring: &'a mut [u8],
    /// Counted input rows not yet copied to the multiplier, from row `copied` on; then room for a row's last
    /// chunk of columns.
    stage: &'a mut [u32],
    /// Output rows coded.
    coded: usize,
    /// Input rows counted.
    counted: usize,
    /// Input rows copied to the multiplier.
    copied: usize,
}

impl CodeScratch {
    /// Reserves what counting from codes by `plan` needs, before a call writes anything.
    pub(crate) fn reserve(&mut self, plan: &Coding) -> Result<()> {
        let what = "counting the multiplier from codes";
        try_reserve(&mut self.ring, plan.ring_len(), what)?;
        try_reserve(&mut self.stage, plan.stage_len(), what)
    }
}

impl Coding {
    fn ring_len(&self) -> usize {
        self.slots * self.row_bytes
    }
    /// Counted input rows, then room for a row's last chunk of columns.
    fn stage_len(&self) -> usize {
        self.batch * self.width + self.overhang()
    }
}

impl<'a> Coded<'a> {
    pub(crate) fn new(plan: Coding, scratch: &'a mut CodeScratch) -> Self {
        let CodeScratch { ring, stage } = scratch;
        // Reserved by `CodeScratch::reserve`: no allocation here.
        debug_assert!(ring.capacity() >= plan.ring_len() && stage.capacity() >= plan.stage_len());
        // The margins before and after each row's windows hold NO_CODE from here on; only codes are written.
        let ring_len = plan.ring_len();
        ring.resize(ring_len, NO_CODE);
        let stage_len = plan.batch * plan.width;
        let overhang = plan.overhang();
        stage.resize(stage_len + overhang, 0);
        Coded {
            plan,
            ring: &mut ring[..ring_len],
            stage: &mut stage[..stage_len + overhang],
            coded: 0,
            counted: 0,
            copied: 0,
        }
    }

    /// Whether outputs from `position` on, in rows of `row_len`, start the next output row to code: techniques
    /// with [`Technique::WHOLE_ROWS`](crate::Technique::WHOLE_ROWS) hand over whole rows, in order.
    pub(crate) fn is_next_row(&self, position: usize, row_len: usize) -> bool {
        position == self.coded * row_len && row_len == self.plan.out_w
    }

    /// Codes the next output row from its winners' flat indices, and counts the input rows it completes once a
    /// batch of them is. Inlined, so that coding is compiled for the caller's instruction-set level.
    #[inline(always)]
    pub(crate) fn code_row<I: FlatIndex>(&mut self, indices: &[I], multiplier: &mut [u32]) {
        let (plan, i) = (self.plan, self.coded);
        let start = plan.row_start(i);
        let row = &mut self.ring[start..start + plan.out_w];
        match plan.kernel[0] {
            2 => code_row::<I, 2>(&plan, i, indices, row),
            3 => code_row::<I, 3>(&plan, i, indices, row),
            _ => code_row::<I, 0>(&plan, i, indices, row),
        }
        self.coded += 1;
        self.count(multiplier);
    }

    /// Counts the complete input rows when there is a batch of them or every output row is coded.
    #[inline(always)]
    fn count(&mut self, multiplier: &mut [u32]) {
        let complete = self.plan.complete(self.coded);
        if complete - self.counted >= self.plan.batch || self.coded == self.plan.out_h {
            let simd = self.plan.simd;
            on_level(
                simd,
                Count {
                    coded: self,
                    multiplier,
                },
            );
        }
    }

    /// Counts the input rows left; every output row must have been coded.
    pub(crate) fn finish(&mut self, multiplier: &mut [u32]) {
        debug_assert_eq!(self.coded, self.plan.out_h, "output rows not coded");
        self.coded = self.plan.out_h;
        self.count(multiplier);
    }
}

/// Work compiled once per instruction-set level, with that level's byte vectors.
trait Leveled {
    /// Does the work with byte vectors `V`, whose level the CPU has.
    fn run<V: Bytes>(self);
}

/// Runs `job` compiled for `simd`, which the CPU must have ([`Coding::new`] checks).
///
/// Not [`Simd::run`]: its fallback arm would also compile every level's byte vectors into the other levels'
/// functions and as portable code, three times the counting loops; with it, CI's fuzz build compiled for over
/// 20 minutes. Here each level's vectors are compiled once, for their own level.
#[inline(always)]
fn on_level<J: Leveled>(simd: Simd, job: J) {
    match simd {
        // SAFETY: the CPU has the level (the caller's promise).
        #[cfg(target_arch = "x86_64")]
        Simd::Avx512 => unsafe { avx512(job) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Simd::Avx2 => unsafe { avx2(job) },
        _ => job.run::<Portable>(),
    }
}

/// [`Leveled::run`] compiled for AVX-512.
///
/// # Safety
/// The CPU must have [`Simd::Avx512`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,bmi1,bmi2,lzcnt,popcnt")]
unsafe fn avx512<J: Leveled>(job: J) {
    job.run::<Avx512>()
}

/// [`Leveled::run`] compiled for AVX2.
///
/// # Safety
/// The CPU must have [`Simd::Avx2`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,bmi1,bmi2,lzcnt,popcnt")]
unsafe fn avx2<J: Leveled>(job: J) {
    job.run::<Avx2>()
}

/// Counts the complete input rows not yet counted, a batch at a time, and copies each full batch to
/// `multiplier`.
struct Count<'c, 'a> {
    coded: &'c mut Coded<'a>,
    multiplier: &'c mut [u32],
}

impl Leveled for Count<'_, '_> {
    #[inline(always)]
    fn run<V: Bytes>(self) {
        let Count { coded, multiplier } = self;
        let plan = coded.plan;
        let (complete, w) = (plan.complete(coded.coded), plan.width);
        let overhang = plan.overhang();
        while coded.counted < complete {
            let staged = coded.counted - coded.copied;
            let end = complete.min(coded.copied + plan.batch);
            CountRows {
                plan,
                ring: &*coded.ring,
                coded: coded.coded,
                out: &mut coded.stage[staged * w..(end - coded.copied) * w + overhang],
                rows: coded.counted..end,
            }
            .shapes::<V>();
            coded.counted = end;
            if end == coded.copied + plan.batch || end == plan.height {
                multiplier[coded.copied * w..end * w]
                    .copy_from_slice(&coded.stage[..(end - coded.copied) * w]);
                coded.copied = end;
            }
        }
    }
}

/// Codes output row `i` from its winners' flat indices into `row`, with `KH` the kernel height when it is small
/// (the window row found by compares, which vectorise), or 0 (found by a division).
#[inline(always)]
fn code_row<I: FlatIndex, const KH: usize>(plan: &Coding, i: usize, indices: &[I], row: &mut [u8]) {
    let ([kh, kw], sw, w) = (plan.kernel, plan.stride[1], plan.width);
    // A winner at tap (a, b) of window (i, j) has flat index (i·sh − pt + a)·width + j·sw − pl + b, so its
    // offset from `first + j·sw` is a·width + b, with b < kw <= width and a·width + b < kh·width < 2^31: in
    // wrapping u32 arithmetic, the low bits of any index type give it exactly.
    let first = (i * plan.stride[0] * w).wrapping_sub(plan.pad[0] * w + plan.pad[1]) as u32;
    let (w32, kw32, sw32) = (w as u32, kw as u32, sw as u32);
    let mut window = first;
    for (c, &index) in row.iter_mut().zip(&indices[..plan.out_w]) {
        let offset = (index.get() as u32).wrapping_sub(window);
        let code = if KH == 0 {
            let a = offset / w32;
            tap_code(a, offset - a * w32, kw32)
        } else {
            // tap_code(a, b, kw) = a·kw + b = offset − a·(width − kw), a being how many rows of `width` the
            // offset passes: compares and subtractions, which vectorise (multiplies are slow).
            (1..KH as u32).fold(offset, |code, a| {
                code - if offset >= a * w32 { w32 - kw32 } else { 0 }
            }) as u8
        };
        debug_assert_eq!(
            code,
            tap_code(offset / w32, offset % w32, kw32),
            "row {i}: offset {offset} in a window of {kh}×{kw}"
        );
        *c = code;
        window = window.wrapping_add(sw32);
    }
}

/// Counts input rows `rows` from the coded output rows in the ring into `out`, one row after another, and room
/// for the last one's columns past the width.
struct CountRows<'a> {
    plan: Coding,
    ring: &'a [u8],
    /// Output rows coded: the ring holds the last `slots` of them.
    coded: usize,
    out: &'a mut [u32],
    rows: Range<usize>,
}

impl CountRows<'_> {
    /// [`CountRows::count`] for the common window shapes, and for any. The CPU must have `V`'s level.
    #[inline(always)]
    fn shapes<V: Bytes>(self) {
        let p = &self.plan;
        match (p.kernel[1], p.stride[1], p.pad[1] % 2) {
            (3, 1, _) => self.count::<V, 3, 1, 0>(),
            (2, 1, _) => self.count::<V, 2, 1, 0>(),
            (_, 1, _) => self.count::<V, 0, 1, 0>(),
            (3, _, 0) => self.count::<V, 3, 2, 0>(),
            (3, _, _) => self.count::<V, 3, 2, 1>(),
            (_, _, 0) => self.count::<V, 0, 2, 0>(),
            _ => self.count::<V, 0, 2, 1>(),
        }
    }

    /// With the column stride `SW` (1 or 2) and the left padding mod it, `PL`, so that each phase's counters
    /// stay in a register, and the kernel width `KW` when it is a common one (0 for any), so that the tap loop
    /// unrolls.
    #[inline(always)]
    fn count<V: Bytes, const KW: usize, const SW: usize, const PL: usize>(self) {
        let CountRows {
            plan,
            ring,
            coded,
            out,
            rows,
        } = self;
        let ([kh, _], sh, [pt, pl], w) = (plan.kernel, plan.stride[0], plan.pad, plan.width);
        let kw = if KW > 0 { KW } else { plan.kernel[1] };
        let (sw, pl_mod) = (SW, PL);
        debug_assert_eq!((sw, pl_mod), (plan.stride[1], pl % sw));
        // Tap b counts towards phase (b − pl) mod sw, from the window `shift(b)` to the right of the column's
        // position in its phase (negative: to the left): (φ + pl − b) / sw, with φ + pl ≡ b.
        let phase = |b: usize| (b + sw - pl_mod) % sw;
        let shift = |b: usize| (phase(b) + pl) as isize / sw as isize - (b / sw) as isize;
        let (lanes, chunk_cols) = (V::LANES, V::LANES * sw);
        for (k, r) in rows.enumerate() {
            // Row r and, past it, room for its last chunk's columns past the width.
            let out = &mut out[k * w..];
            // The output rows whose windows cover input row r: i·sh − pt <= r <= i·sh − pt + kh − 1.
            let first = (r + pt + 1).saturating_sub(kh).div_ceil(sh);
            let last = ((r + pt) / sh).min(plan.out_h - 1);
            debug_assert!(
                first > last || (last < coded && first + plan.slots >= coded),
                "row {r} needs output rows {first}..={last}, the ring holds {}..{coded}",
                coded.saturating_sub(plan.slots)
            );
            for t in 0..plan.span / lanes {
                // SAFETY (every `unsafe` here): the caller checked that the CPU has V's level.
                let mut acc = [unsafe { V::zero() }; 2];
                for i in first..=last {
                    let a = (r + pt - i * sh) as u32;
                    // Output row i's codes and margins: every tap's chunk lies inside (checked once here).
                    let start = plan.row_start(i);
                    let codes = &ring[start - plan.lead..start + plan.span + plan.tail];
                    let at = plan.lead + t * lanes;
                    for b in 0..kw {
                        let from = at.wrapping_add_signed(shift(b));
                        debug_assert!(from + lanes <= codes.len());
                        // SAFETY: lead + shift(b) >= 0, as shift(b) >= −(kw − 1) div sw = −lead, and
                        // t·lanes + lanes + shift(b) <= span + tail, as shift(b) <=
                        // (sw − 1 + pl) div sw = ⌈pl / sw⌉; so the chunk lies inside `codes`.
                        let chunk = unsafe { codes.get_unchecked(from..from + lanes) };
                        let code = tap_code(a, b as u32, kw as u32);
                        let p = phase(b);
                        acc[p] = unsafe { acc[p].count(chunk, code) };
                    }
                }
                // Column t·lanes·sw + l·sw + φ gets phase φ's counter l. Columns past the width land on the next
                // row, which is counted later, or in the room after the last.
                let cols = &mut out[t * chunk_cols..(t + 1) * chunk_cols];
                if SW == 1 {
                    unsafe { acc[0].widen(cols) }
                } else {
                    unsafe { V::widen_pairs(acc[0], acc[1], cols) }
                }
            }
        }
    }
}
