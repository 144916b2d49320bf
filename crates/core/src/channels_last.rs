//! The channels-last kernel: for an input whose channels are contiguous (NHWC, and any layout with a channel
//! stride of 1), each window tap is one run of C elements, so every channel's winner comes from the same
//! element-wise compare and select over the run, with no gathering of planes and no shuffles. Threads split
//! (n, output row) pairs, so a batch of one still uses every thread. The multiplier is counted after, from the
//! indices ([`count`]), with threads splitting (n, input row) pairs.
//!
//! Written once for every element and index type, in loops the compiler vectorises, compiled for the plan's
//! instruction set ([`Simd::run`]). The winners follow [`beats`](crate::semantics::beats), the indices
//! [`IndexFormat::encode`]: each tap's index is encoded once per window, and since every format is affine in
//! the channel, a run of channels selects the tap's index for channel 0 and adds the channel's step after.
//! Outputs whose channels are contiguous too (the usual case: outputs in the input's memory order) are worked
//! on in place; others through a row of scratch, then written through their layouts.

use std::ops::Range;

use crate::element::{DType, Element};
use crate::engine::Parties;
use crate::error::{Error, Result};
use crate::geometry::Geometry;
use crate::semantics::{beats, Window, Windows};
use crate::simd::{Simd, Vectorised};
use crate::strided::{IndexTarget, Targets, TensorOutputs};
use crate::technique::try_reserve;
use crate::tensor::{IndexElement, IndexFormat, Layout, TensorRef};
use crate::threads::Team;

/// The most taps a window may have inside the input for this kernel, whose per-window tables hold one entry
/// per tap; larger windows are pooled plane by plane.
const MAX_TAPS: usize = 1 << 16;

/// Whether the kernel can pool `layout` with `g`: its channels are contiguous, there are several of them, and
/// a window has at most [`MAX_TAPS`] taps inside the input.
pub(crate) fn pools(g: &Geometry, layout: &Layout) -> bool {
    layout.shape[1] > 1 && layout.strides[1] == 1 && window_taps(g) <= MAX_TAPS
}

/// At most how many taps of a window lie inside the input: no more than the kernel has, nor than the input
/// has rows and columns.
fn window_taps(g: &Geometry) -> usize {
    let [kh, kw] = g.params().kernel;
    kh.min(g.height()).saturating_mul(kw.min(g.width()))
}

/// Pools a checked call ([`crate::strided`]'s checks) of at least one plane that the kernel [`pools`], with
/// the kernels compiled for `simd`.
pub(crate) fn forward<T: Element>(
    g: &Geometry,
    simd: Simd,
    threads: usize,
    input: TensorRef<'_, T>,
    out: TensorOutputs<'_, T>,
) -> Result<()> {
    let format = out.index_format;
    let targets = Targets::of(out);
    match targets.indices {
        Some((IndexTarget::I64(p), l)) => {
            run::<T, i64>(g, simd, threads, input, &targets, Some((p, l)), format)
        }
        Some((IndexTarget::I32(p), l)) => {
            run::<T, i32>(g, simd, threads, input, &targets, Some((p, l)), format)
        }
        Some((IndexTarget::U8(p), l)) => {
            run::<T, u8>(g, simd, threads, input, &targets, Some((p, l)), format)
        }
        None if targets.multiplier.is_some() => {
            // The multiplier is counted from indices: without the caller's, from scratch ones of the smallest
            // format, the tap within the window.
            let largest = IndexFormat::Window
                .largest(g, input.layout().shape)
                .unwrap_or(u64::MAX);
            if largest <= u64::from(u8::MAX) {
                with_scratch::<T, u8>(g, simd, threads, input, &targets)
            } else if largest <= i32::MAX as u64 {
                with_scratch::<T, i32>(g, simd, threads, input, &targets)
            } else {
                with_scratch::<T, i64>(g, simd, threads, input, &targets)
            }
        }
        None => run::<T, u8>(g, simd, threads, input, &targets, None, format),
    }
}

/// [`run`] with scratch `window` indices of type `I` in place of the caller's, for the multiplier to be counted
/// from.
fn with_scratch<T: Element, I: Tally + Codes>(
    g: &Geometry,
    simd: Simd,
    threads: usize,
    input: TensorRef<'_, T>,
    targets: &Targets<T>,
) -> Result<()> {
    let [n, c, _, _] = input.layout().shape;
    let layout = Layout::nhwc(n, g.out_height(), g.out_width(), c);
    // As many as the values, which were checked.
    let len = n * g.out_height() * g.out_width() * c;
    let mut scratch = Vec::new();
    try_reserve(
        &mut scratch,
        len,
        "the indices the multiplier is counted from",
    )?;
    scratch.resize(len, I::default());
    let indices = Some((scratch.as_mut_ptr(), layout));
    run::<T, I>(
        g,
        simd,
        threads,
        input,
        targets,
        indices,
        IndexFormat::Window,
    )
}

/// A thread's working storage: a row of channels' winners and their indices or taps, for outputs that cannot
/// be worked on in place, and the current window's tables.
struct Scratch<T, I> {
    best: Vec<T>,
    index: Vec<I>,
    taps: Vec<u32>,
    /// The row winners of [`Separable`] pooling: `kh` rows of `out_w · c` values and their offsets.
    ring: (Vec<f32>, Vec<u32>),
    /// The same with the 16-bit kernel ([`HalfRing`]): `kh` rows of values then `kh` rows of offsets, and
    /// each lane's part of its code (`out_w · c`).
    ring16: (Vec<u16>, Vec<u32>),
}

/// Separable pooling of interior output rows, with AVX2 for `f32`: each input row's winners along its windows'
/// columns are found once ([`avx2::row_winners`]) and kept in a ring of `kh` rows while output rows need them,
/// and each output row merges its `kh` rows' ([`avx2::merge_rows`]). A window's first maximum in scan order is
/// the first maximum of the first row holding one, so this is the window's winner; it costs `kw − 1 + kh − 1`
/// merges a window instead of `kh · kw − 1`. For column stride 1 and no dilation, whole windows along the
/// columns, whole vectors of channels and indices whose per-channel step is 0 (`plane`, `window`), written
/// in place.
///
/// With the AVX-512 16-bit kernel ([`HalfRing`]) the rows are dense runs of `out_w · c` lanes whatever `c`, and
/// any index format whose codes fit.
#[derive(Clone, Copy, Debug)]
struct Separable {
    kh: usize,
    kw: usize,
    /// The code's step from one tap row, and from one tap column, to the next.
    code_a: u32,
    code_b: u32,
    /// Pooled by the 16-bit kernel, not the `f32` one.
    half: Option<HalfRing>,
}

/// [`Separable`] pooling of 16-bit floats with AVX-512 ([`avx512::row_winners16`], [`avx512::merge_rows16`]):
/// at column stride 1 in dense rows of pixels, window `ow`'s channel `ch` is lane `ow · c + ch` of the row and
/// its tap `b` is that lane plus `b · c`, so a row of windows is one run of `out_w · c` lanes, 32 a vector,
/// whatever `c`. Each lane carries its winning tap's code offset in 16 bits (`a · code_a + b · code_b`, which
/// must fit), and the lane's own part of its code, `ow · base_step + ch · step` (which must fit a `u32`), is
/// added as the codes are written.
#[derive(Clone, Copy, Debug)]
struct HalfRing {
    /// The format's +∞ pattern ([`Element::KEY_INF`]).
    inf: u16,
    /// `f16` compared natively (AVX-512 FP16).
    native: bool,
    /// The code's step from one window of a row to the next.
    base_step: u64,
}

/// The most rows a [`Separable`] ring holds (it keeps their tags on the stack).
const MAX_RING: usize = 8;

/// The most bytes a thread's [`Separable`] ring takes: beyond this the windows are pooled one by one, so that
/// a call's working storage stays small.
const MAX_RING_BYTES: usize = 1 << 20;

impl Separable {
    /// Whether, and how, a call pools its interior output rows separably (see [`Separable`]).
    fn choose(
        g: &Geometry,
        fast: Fast,
        layout: &Layout,
        (values, indices): (&Layout, Option<&Layout>),
        (format, step): (IndexFormat, u64),
    ) -> Option<Separable> {
        let p = g.params();
        let [kh, kw] = p.kernel;
        let [_, c, _, w] = layout.shape;
        let (out_w, interior) = (g.out_width(), g.interior_rows());
        let ring_bytes = kh
            .checked_mul(out_w)
            .and_then(|x| x.checked_mul(c))
            .and_then(|x| x.checked_mul(8));
        let ring = p.stride[1] == 1
            && p.dilation == [1, 1]
            && kh >= 2
            && kw >= 2
            && kh <= MAX_RING
            && values.strides[1] == 1
            && indices.is_none_or(|l| l.strides[1] == 1)
            && g.interior_cols() == (0..out_w)
            && !interior.is_empty()
            && ring_bytes.is_some_and(|b| b <= MAX_RING_BYTES);
        let half = match fast {
            Fast::Avx512Half { inf, native }
                if layout.strides[3] == c
                    && values.strides[3] == c
                    && indices.is_none_or(|l| l.strides[3] == c) =>
            {
                Some((inf, native))
            }
            _ => None,
        };
        let single =
            fast == Fast::Avx2F32 && kh * kw > WIDEN_AFTER && c.is_multiple_of(8) && step == 0;
        if !ring || (half.is_none() && !single) {
            return None;
        }
        // The codes' steps between taps, the same for every window of these formats.
        let (oh, shape) = (interior.start, layout.shape);
        let r = g.row_windows().get(oh).start;
        let code = |ow: usize, row: usize, col: usize| {
            format.encode(g, shape, [0, 0, oh, ow], row * w + col)
        };
        let (code_a, code_b) = (
            code(0, r + 1, 0) - code(0, r, 0),
            code(0, r, 1) - code(0, r, 0),
        );
        let largest = ((kh - 1) as u64)
            .checked_mul(code_a)
            .zip(((kw - 1) as u64).checked_mul(code_b))
            .and_then(|(x, y)| x.checked_add(y))?;
        let half = match half {
            Some((inf, native)) => {
                // Lane `ow · c + ch`'s part of its code, at most this, beside the tap offsets' 16 bits.
                let base_step = if out_w > 1 {
                    code(1, r, 1).wrapping_sub(code(0, r, 0))
                } else {
                    0
                };
                let lanes = ((out_w - 1) as u64)
                    .checked_mul(base_step)
                    .zip(((c - 1) as u64).checked_mul(step))
                    .and_then(|(x, y)| x.checked_add(y))
                    .and_then(|x| x.checked_add(largest));
                if largest > u64::from(u16::MAX) || lanes.is_none_or(|l| l > u64::from(u32::MAX)) {
                    return None;
                }
                Some(HalfRing {
                    inf,
                    native,
                    base_step,
                })
            }
            None => None,
        };
        (largest <= u64::from(u32::MAX)).then_some(Separable {
            kh,
            kw,
            code_a: code_a as u32,
            code_b: code_b as u32,
            half,
        })
    }
}

/// [`forward`] with indices of type `I` (ignored when there are none).
fn run<T: Element, I: Tally + Codes>(
    g: &Geometry,
    simd: Simd,
    threads: usize,
    input: TensorRef<'_, T>,
    targets: &Targets<T>,
    indices: Option<(*mut I, Layout)>,
    format: IndexFormat,
) -> Result<()> {
    let layout = *input.layout();
    let [n, c, _, _] = layout.shape;
    let out_h = g.out_height();
    let units = n * out_h;
    let team = Team::new(threads, units);
    // Every format is affine in the channel: the step from one channel's index to the next.
    let shape = layout.shape;
    let step = format.encode(g, shape, [0, 1, 0, 0], 0) - format.encode(g, shape, [0, 0, 0, 0], 0);
    let fast = Fast::choose::<T>(simd);
    let separable = Separable::choose(
        g,
        fast,
        &layout,
        (&targets.values.1, indices.as_ref().map(|(_, l)| l)),
        (format, step),
    );
    let reserve = || -> Result<_> {
        let what = "the channels-last kernel's row of winners";
        let mut s = Scratch {
            best: Vec::new(),
            index: Vec::new(),
            taps: Vec::new(),
            ring: (Vec::new(), Vec::new()),
            ring16: (Vec::new(), Vec::new()),
        };
        try_reserve(&mut s.best, c, what)?;
        try_reserve(&mut s.index, c, what)?;
        try_reserve(&mut s.taps, c, what)?;
        s.best.resize(c, T::default());
        s.index.resize(c, I::default());
        s.taps.resize(c, 0);
        let what = "the channels-last kernel's ring of row winners";
        match separable {
            Some(Separable {
                kh,
                half: Some(half),
                ..
            }) => {
                let lanes = g.out_width() * c;
                try_reserve(&mut s.ring16.0, 2 * kh * lanes, what)?;
                try_reserve(&mut s.ring16.1, lanes, what)?;
                s.ring16.0.resize(2 * kh * lanes, 0);
                // Lane `col · c + ch`'s part: fits a u32 (`Separable::choose`). Column by column, not a division
                // a lane.
                for col in 0..g.out_width() as u64 {
                    let part = |ch: usize| (col * half.base_step + ch as u64 * step) as u32;
                    s.ring16.1.extend((0..c).map(part));
                }
            }
            Some(sep) => {
                let len = sep.kh * g.out_width() * c;
                try_reserve(&mut s.ring.0, len, what)?;
                try_reserve(&mut s.ring.1, len, what)?;
                s.ring.0.resize(len, 0.0);
                s.ring.1.resize(len, 0);
            }
            None => {}
        }
        Ok(s)
    };
    let parties = Parties::reserve(&team, reserve)?;
    let indices = Shared(indices);
    let ran = team.run(units, &|units: Range<usize>, party: usize| {
        let mut guard = parties.lock(party);
        let indices = indices.get();
        simd.run(Units {
            g,
            input: &input,
            targets,
            indices,
            format,
            step,
            units,
            fast,
            separable,
            scratch: &mut guard,
        })
    });
    ran.map_err(Error::Internal)?;
    match (targets.multiplier, indices.get()) {
        (Some(multiplier), Some((ip, il))) => count(
            g,
            simd,
            threads,
            layout.shape,
            (ip.cast_const(), il),
            (format, step),
            multiplier,
        ),
        _ => Ok(()),
    }
}

/// The indices' place, shared by the threads, which write disjoint parts of it.
#[derive(Clone, Copy)]
struct Shared<I>(Option<(*mut I, Layout)>);

// SAFETY: the threads of a call write only their own units' elements, which are distinct (checked).
unsafe impl<I: Send> Send for Shared<I> {}
unsafe impl<I: Send> Sync for Shared<I> {}

impl<I> Shared<I> {
    /// The pointer and layout (a method, so that closures capture the whole `Shared`, not its field).
    fn get(self) -> Option<(*mut I, Layout)> {
        self.0
    }
}

/// One thread's share of a call, compiled for an instruction set ([`Simd::run`]).
struct Units<'a, T, I> {
    g: &'a Geometry,
    input: &'a TensorRef<'a, T>,
    targets: &'a Targets<T>,
    indices: Option<(*mut I, Layout)>,
    format: IndexFormat,
    step: u64,
    units: Range<usize>,
    fast: Fast,
    separable: Option<Separable>,
    scratch: &'a mut Scratch<T, I>,
}

impl<T: Element, I: IndexElement + Codes> Vectorised for Units<'_, T, I> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        let Units {
            g,
            input,
            targets,
            indices,
            format,
            step,
            units,
            fast,
            separable,
            scratch,
        } = self;
        let layout = *input.layout();
        let [_, c, h, w] = layout.shape;
        let out_h = g.out_height();
        let (vp, vl) = targets.values;
        let values_in_place = vl.strides[1] == 1;
        let indices_in_place = indices.is_some_and(|(_, l)| l.strides[1] == 1);
        let Scratch {
            best: best_scratch,
            index: index_scratch,
            taps: tap_scratch,
            ring,
            ring16,
        } = scratch;
        // The indices of a call without them: nothing, one per channel.
        let mut no_indices = vec![(); c];
        // Which input row (image · height + row) each slot of the separable ring holds.
        let mut held = [usize::MAX; MAX_RING];
        for unit in units {
            let (pn, oh) = (unit / out_h, unit % out_h);
            // SAFETY (every block below): the call was checked, so each offset is one of its tensor's elements,
            // a run of channels whose stride is 1 is C distinct elements in a row, the outputs' elements are
            // distinct and overlap nothing, and this unit's row is this thread's alone.
            let rw = g.row_windows().get(oh);
            #[cfg(target_arch = "x86_64")]
            if let Some(sep) = separable.filter(|_| g.interior_rows().contains(&oh)) {
                let (out_w, slot_len) = (g.out_width(), g.out_width() * c);
                // The 16-bit ring: `kh` slots of values, then `kh` of offsets (empty for `f32`).
                let half_ring = if sep.half.is_some() {
                    sep.kh * slot_len
                } else {
                    0
                };
                let (values16, offsets16) = ring16.0.split_at_mut(half_ring);
                let mut rows = [0; MAX_RING];
                for (a, at) in rows.iter_mut().enumerate().take(sep.kh) {
                    let r = rw.start + a;
                    let slot = r % sep.kh;
                    *at = slot * slot_len;
                    if held[slot] != pn * h + r {
                        let row = unsafe { input.as_ptr().add(layout.offset([pn, 0, r, 0])) };
                        // SAFETY: `Separable::choose` made sure of the kernel's CPU, whole windows along the
                        // row, whole vectors of channels for `f32` and dense rows of pixels for the 16-bit
                        // floats (bit patterns as `u16`), and a ring of `kh` slots of `out_w · c`.
                        unsafe {
                            match sep.half {
                                Some(HalfRing { inf, native, .. }) => avx512::row_winners16(
                                    native,
                                    row.cast(),
                                    (slot_len, c, sep.kw),
                                    (inf, sep.code_b as u16),
                                    values16.as_mut_ptr().add(*at),
                                    offsets16.as_mut_ptr().add(*at),
                                ),
                                None => avx2::row_winners(
                                    row.cast(),
                                    layout.strides[3],
                                    out_w,
                                    sep.kw,
                                    sep.code_b,
                                    c,
                                    ring.0.as_mut_ptr().add(*at),
                                    ring.1.as_mut_ptr().add(*at),
                                ),
                            }
                        };
                        held[slot] = pn * h + r;
                    }
                }
                let code = |ow: usize| {
                    let col = g.col_windows().get(ow).start;
                    format.encode(g, layout.shape, [pn, 0, oh, ow], rw.start * w + col)
                };
                let base = code(0);
                if let Some(HalfRing { inf, native, .. }) = sep.half {
                    let best = unsafe { vp.add(vl.offset([pn, 0, oh, 0])).cast::<u16>() };
                    let (rows, ring) = (&rows[..sep.kh], (values16.as_ptr(), offsets16.as_ptr()));
                    let lanes = (slot_len, sep.code_a as u16, inf);
                    let codes = (base, ring16.1.as_ptr());
                    // SAFETY: as above; the outputs are dense rows in place (`Separable::choose`), and every
                    // code fits `I` (checked with the call).
                    unsafe {
                        match indices {
                            None => avx512::merge_rows16::<()>(
                                native,
                                ring,
                                rows,
                                lanes,
                                codes,
                                best,
                                std::ptr::null_mut(),
                            ),
                            Some((ip, il)) => avx512::merge_rows16::<I>(
                                native,
                                ring,
                                rows,
                                lanes,
                                codes,
                                best,
                                ip.add(il.offset([pn, 0, oh, 0])),
                            ),
                        }
                    }
                    continue;
                }
                let base_step = if out_w > 1 {
                    code(1).wrapping_sub(base)
                } else {
                    0
                };
                let best = (
                    unsafe { vp.add(vl.offset([pn, 0, oh, 0])).cast::<f32>() },
                    vl.strides[3],
                );
                let (rows, geometry) = (&rows[..sep.kh], (out_w, c, sep.code_a));
                let (values, offsets) = (ring.0.as_ptr(), ring.1.as_ptr());
                // SAFETY: as above; the outputs are in place (`Separable::choose`), and every code fits `I`
                // (checked with the call).
                unsafe {
                    match indices {
                        None => avx2::merge_rows::<()>(
                            values,
                            offsets,
                            rows,
                            geometry,
                            (base, base_step),
                            best,
                            (std::ptr::null_mut(), 0),
                        ),
                        Some((ip, il)) => avx2::merge_rows::<I>(
                            values,
                            offsets,
                            rows,
                            geometry,
                            (base, base_step),
                            best,
                            (ip.add(il.offset([pn, 0, oh, 0])), il.strides[3]),
                        ),
                    }
                }
                continue;
            }
            // Each tap's run of channels, and its index for channel 0, are affine in the tap's place (a, b)
            // in the window: from the first tap, a rows and b columns on.
            let setup = |ow: usize| {
                let cw = g.col_windows().get(ow);
                let encode = |a: usize, b: usize| {
                    let (row, col) = (rw.start + a * rw.step, cw.start + b * cw.step);
                    format.encode(g, layout.shape, [pn, 0, oh, ow], row * w + col)
                };
                let code = encode(0, 0);
                Setup {
                    cw,
                    first: layout.offset([pn, 0, rw.start, cw.start]),
                    code,
                    code_a: if rw.taps > 1 { encode(1, 0) - code } else { 0 },
                    code_b: if cw.taps > 1 { encode(0, 1) - code } else { 0 },
                }
            };
            // Windows wholly inside the input's columns are alike but for where they start: each one's
            // setup is the first's moved on, rather than worked out afresh.
            let interior = g.interior_cols();
            let moved = (interior.len() >= 2).then(|| {
                let (base, next) = (setup(interior.start), setup(interior.start + 1));
                let step = (next.first - base.first, next.code.wrapping_sub(base.code));
                (base, next.cw.start - base.cw.start, step)
            });
            // The row's interior windows in one call of the AVX2 kernel, when it writes them all in place.
            #[cfg(target_arch = "x86_64")]
            let batched = match moved {
                Some((base, _, (first_step, code_step)))
                    if fast == Fast::Avx2F32
                        && values_in_place
                        && c % 8 == 0
                        && (indices.is_none() || indices_in_place) =>
                {
                    let (rows, cols) = (rw.taps, base.cw.taps);
                    let (da, db) = (
                        rw.step * layout.strides[2],
                        base.cw.step * layout.strides[3],
                    );
                    let (n, ow0) = (interior.len(), interior.start);
                    let run = |k: usize, a: usize, b: usize| unsafe {
                        input
                            .as_ptr()
                            .add(base.first + k * first_step + a * da + b * db)
                            .cast::<f32>()
                    };
                    let best =
                        |k: usize| unsafe { vp.add(vl.offset([pn, 0, oh, ow0 + k])).cast::<f32>() };
                    // SAFETY: `Fast::Avx2F32` is only made for `f32` on a CPU with AVX2; every window's taps
                    // are runs of `c` channels, `c` is a multiple of 8, and its outputs are runs of `c` in
                    // place.
                    match indices {
                        None => unsafe {
                            avx2::windows(
                                n,
                                run,
                                rows,
                                cols,
                                |_, _, _| (),
                                c,
                                best,
                                |_| std::ptr::null_mut(),
                            )
                        },
                        Some((ip, il))
                            if I::DTYPE == DType::I64
                                && rows * cols > WIDEN_AFTER
                                && ((rows - 1) as u64)
                                    .checked_mul(base.code_a)
                                    .zip(((cols - 1) as u64).checked_mul(base.code_b))
                                    .and_then(|(x, y)| x.checked_add(y))
                                    .is_some_and(|m| m <= u64::from(u32::MAX)) =>
                        {
                            let (code_a, code_b) = (base.code_a, base.code_b);
                            let first = |k: usize| base.code.wrapping_add(k as u64 * code_step);
                            let offset =
                                |a: usize, b: usize| (a as u64 * code_a + b as u64 * code_b) as u32;
                            // `I` is `i64`.
                            let index = |k: usize| unsafe {
                                ip.add(il.offset([pn, 0, oh, ow0 + k])).cast::<i64>()
                            };
                            unsafe {
                                avx2::windows_wide(
                                    n,
                                    run,
                                    rows,
                                    cols,
                                    (first, offset, step),
                                    c,
                                    best,
                                    index,
                                    &mut tap_scratch[..],
                                )
                            };
                        }
                        Some((ip, il)) => {
                            let (code_a, code_b) = (base.code_a, base.code_b);
                            let code = |k: usize, a: usize, b: usize| {
                                I::from_u64(
                                    base.code.wrapping_add(k as u64 * code_step)
                                        + a as u64 * code_a
                                        + b as u64 * code_b,
                                )
                            };
                            let index =
                                |k: usize| unsafe { ip.add(il.offset([pn, 0, oh, ow0 + k])) };
                            unsafe { avx2::windows(n, run, rows, cols, code, c, best, index) };
                            if step != 0 {
                                for k in 0..n {
                                    let index =
                                        unsafe { std::slice::from_raw_parts_mut(index(k), c) };
                                    add_steps(index, c, (0, step));
                                }
                            }
                        }
                    }
                    true
                }
                _ => false,
            };
            #[cfg(not(target_arch = "x86_64"))]
            let batched = false;
            // Windows of few channels side by side in the 16-bit kernel's vectors of 32: at column stride 1 in a
            // dense row, consecutive interior windows' taps are consecutive runs of `c`, and so are their
            // outputs in place, so `per` windows pool as one of `per · c` channels whose codes are window 0's,
            // each later window's moved on after.
            let (per, code_step) = match moved {
                Some((_, _, (first_step, code_step)))
                    if matches!(fast, Fast::Avx512Half { .. })
                        && (2..32).contains(&c)
                        && first_step == c
                        && layout.strides[3] == c
                        && values_in_place
                        && vl.strides[3] == c
                        && indices.is_none_or(|(_, l)| l.strides[1] == 1 && l.strides[3] == c) =>
                {
                    (32 / c, code_step)
                }
                _ => (1, 0),
            };
            if per > 1 && no_indices.len() < per * c {
                no_indices.resize(per * c, ());
            }
            // The row's interior windows in one call of the AVX-512 16-bit kernel, when it writes them all in
            // place and one at a time.
            #[cfg(target_arch = "x86_64")]
            let batched = batched
                || match (moved, fast) {
                    (
                        Some((base, _, (first_step, code_step))),
                        Fast::Avx512Half { inf, native },
                    ) if per == 1
                        && values_in_place
                        && (indices.is_none() || indices_in_place)
                        && half_codes((rw.taps, base.cw.taps), [base.code_a, base.code_b]) =>
                    {
                        let taps = (rw.taps, base.cw.taps);
                        let (da, db) = (
                            rw.step * layout.strides[2],
                            base.cw.step * layout.strides[3],
                        );
                        let (n, ow0) = (interior.len(), interior.start);
                        let run = |k: usize, a: usize, b: usize| unsafe {
                            input
                                .as_ptr()
                                .add(base.first + k * first_step + a * da + b * db)
                                .cast::<u16>()
                        };
                        let best = |k: usize| unsafe {
                            vp.add(vl.offset([pn, 0, oh, ow0 + k])).cast::<u16>()
                        };
                        let codes = |k: usize| {
                            let code = base.code.wrapping_add(k as u64 * code_step);
                            [code, base.code_a, base.code_b]
                        };
                        // SAFETY: `Fast::Avx512Half` is only made for the 16-bit floats (bit patterns as
                        // `u16`) on a CPU with AVX-512 (and FP16 when `native`); every window's taps are runs
                        // of `c` channels and its outputs runs of `c` in place; its codes' offsets fit (checked)
                        // and its codes `I` (checked with the call).
                        match indices {
                            None => unsafe {
                                avx512::windows16::<()>(
                                    native,
                                    (n, taps, c),
                                    run,
                                    inf,
                                    codes,
                                    best,
                                    |_| std::ptr::null_mut(),
                                )
                            },
                            Some((ip, il)) => {
                                let index =
                                    |k: usize| unsafe { ip.add(il.offset([pn, 0, oh, ow0 + k])) };
                                unsafe {
                                    avx512::windows16::<I>(
                                        native,
                                        (n, taps, c),
                                        run,
                                        inf,
                                        codes,
                                        best,
                                        index,
                                    )
                                };
                                if step != 0 {
                                    for k in 0..n {
                                        let index =
                                            unsafe { std::slice::from_raw_parts_mut(index(k), c) };
                                        add_steps(index, c, (0, step));
                                    }
                                }
                            }
                        }
                        true
                    }
                    _ => false,
                };
            let mut next = 0;
            while next < g.out_width() {
                let ow = next;
                let group = if per > 1 && interior.contains(&ow) && ow + per <= interior.end {
                    per
                } else {
                    1
                };
                next += group;
                if batched && interior.contains(&ow) {
                    continue;
                }
                let Setup {
                    cw,
                    first,
                    code,
                    code_a,
                    code_b,
                } = match moved {
                    Some((base, col_step, (first_step, code_step))) if interior.contains(&ow) => {
                        let k = ow - interior.start;
                        Setup {
                            cw: Window {
                                start: base.cw.start + k * col_step,
                                ..base.cw
                            },
                            first: base.first + k * first_step,
                            code: base.code.wrapping_add(k as u64 * code_step),
                            ..base
                        }
                    }
                    _ => setup(ow),
                };
                let at = [pn, 0, oh, ow];
                let (da, db) = (rw.step * layout.strides[2], cw.step * layout.strides[3]);
                let run =
                    |a: usize, b: usize| unsafe { input.as_ptr().add(first + a * da + b * db) };
                let best = if values_in_place {
                    unsafe { std::slice::from_raw_parts_mut(vp.add(vl.offset(at)), group * c) }
                } else {
                    &mut best_scratch[..]
                };
                let (rows, cols) = (rw.taps, cw.taps);
                match indices {
                    None => {
                        let (codes, none) = (([0; 3], |_, _| ()), &mut no_indices[..group * c]);
                        window(fast, run, rows, cols, codes, best, none);
                    }
                    Some((ip, il)) => {
                        let index = if indices_in_place {
                            let len = group * c;
                            unsafe { std::slice::from_raw_parts_mut(ip.add(il.offset(at)), len) }
                        } else {
                            &mut index_scratch[..]
                        };
                        let tap_code = |a: usize, b: usize| {
                            I::from_u64(code + a as u64 * code_a + b as u64 * code_b)
                        };
                        let codes = ([code, code_a, code_b], tap_code);
                        window(fast, run, rows, cols, codes, best, index);
                        if step != 0 || group > 1 {
                            add_steps(index, c, (code_step, step));
                        }
                        if !indices_in_place {
                            for (pc, &i) in index.iter().enumerate() {
                                unsafe { *ip.add(il.offset([pn, pc, oh, ow])) = i };
                            }
                        }
                    }
                }
                if !values_in_place {
                    for (pc, &v) in best.iter().enumerate() {
                        unsafe { *vp.add(vl.offset([pn, pc, oh, ow])) = v };
                    }
                }
            }
        }
    }
}

/// Moves on the codes a kernel selected as channel 0's of each window: window `k`'s run of `c` (the `k`th of
/// `index`) by `k · window_step`, and its channel `pc` by `pc · step` more (every format is affine in both).
#[inline(always)]
fn add_steps<I: IndexElement>(index: &mut [I], c: usize, (window_step, step): (u64, u64)) {
    for (k, index) in index.chunks_exact_mut(c).enumerate() {
        let moved = (k as u64).wrapping_mul(window_step);
        for (pc, i) in index.iter_mut().enumerate() {
            let by = moved.wrapping_add(pc as u64 * step);
            *i = I::from_u64((i.to_i64() as u64).wrapping_add(by));
        }
    }
}

/// Counts the multiplier of a call whose winners' `indices` are written, in `format`, each channel's index
/// `step` past the one before: each input element, a run of channels at a time, counts the windows it lies in
/// whose index is its own. Every format's index is a part given by the element's row and the window's, plus
/// one given by its column and the window's (and the image's and channel's, added after), so those parts are
/// worked out once per row and column. Threads split (n, input row) pairs, and every count is written once,
/// with no fill before. `plane` indices of elements that lie in many windows are counted by increments instead
/// ([`scatter`]).
fn count<I: Tally>(
    g: &Geometry,
    simd: Simd,
    threads: usize,
    shape: [usize; 4],
    indices: (*const I, Layout),
    (format, step): (IndexFormat, u64),
    multiplier: (*mut u32, Layout),
) -> Result<()> {
    let [n, c, h, w] = shape;
    let ml = multiplier.1;
    if format == IndexFormat::Plane
        && ml.strides[2] == w * ml.strides[3]
        && n >= threads
        && g.most_windows_per_element() > SCATTER_BEYOND
    {
        return scatter(threads, shape, indices, multiplier);
    }
    let (row_windows, col_windows) = (g.row_windows(), g.col_windows());
    // Every window has a tap inside the input (checked when the geometry was made).
    let (row0, col0) = (row_windows.get(0).start, col_windows.get(0).start);
    let encode = |pn: usize, oh: usize, ow: usize, row: usize, col: usize| {
        format.encode(g, shape, [pn, 0, oh, ow], row * w + col)
    };
    let origin = encode(0, 0, 0, row0, col0);
    let rows = Lines::of(row_windows, h, |oh, row| encode(0, oh, 0, row, col0))?;
    let cols = Lines::of(col_windows, w, |ow, col| {
        encode(0, 0, ow, row0, col).wrapping_sub(origin)
    })?;
    let image = encode(1, 0, 0, row0, col0).wrapping_sub(origin);
    let units = n * h;
    let team = Team::new(threads, units);
    let parties = Parties::reserve(&team, || {
        let mut counts = Vec::new();
        try_reserve(&mut counts, c, "the channels-last kernel's row of counts")?;
        counts.resize(c, 0u32);
        Ok(counts)
    })?;
    let shared = Shared(Some(multiplier));
    let indices = Shared(Some((indices.0.cast_mut(), indices.1)));
    let ran = team.run(units, &|units: Range<usize>, party: usize| {
        let mut counts = parties.lock(party);
        simd.run(Counts {
            rows: &rows,
            cols: &cols,
            indices: indices.get().map(|(p, l)| (p.cast_const(), l)),
            multiplier: shared.get(),
            image,
            step,
            units,
            shape,
            counts: &mut counts,
        })
    });
    ran.map_err(Error::Internal)
}

/// How many windows an element may lie in beyond which [`count`] increments rather than compares: comparing
/// costs a compare per window an element lies in, incrementing one scalar increment per window and channel.
/// Measured on W1–W3 (4, 1 and 9 windows), incrementing gained only on W3.
const SCATTER_BEYOND: u128 = 4;

/// [`count`] by increments, for `plane` indices and a multiplier whose rows follow each other at the step of
/// its columns, so that an index is the offset of its element in the plane: each image is zeroed, then every
/// window's winner gains one, in output order. One increment per window and channel costs less than comparing
/// every tap's index, but increments race, so threads take whole images: it serves calls with at least as many
/// images as threads.
fn scatter<I: IndexElement>(
    threads: usize,
    [n, c, h, w]: [usize; 4],
    (ip, il): (*const I, Layout),
    multiplier: (*mut u32, Layout),
) -> Result<()> {
    let [_, _, out_h, out_w] = il.shape;
    let plane = h * w;
    let team = Team::new(threads, n);
    let (indices, multiplier) = (Shared(Some((ip.cast_mut(), il))), Shared(Some(multiplier)));
    let ran = team.run(n, &|images: Range<usize>, _| {
        let (Some((ip, il)), Some((mp, ml))) = (indices.get(), multiplier.get()) else {
            return;
        };
        let [sn, sc, sh, sw] = ml.strides;
        // SAFETY (every block below): the call was checked, so each offset is one of its tensor's elements (an
        // index below `plane` names one of the plane's, whose rows are `w` columns apart), and image `pn` of the
        // multiplier is this thread's alone.
        let zero = |pn: usize| {
            for row in 0..h {
                if sc == 1 && sw == c {
                    let at = unsafe { mp.add(pn * sn + row * sh) };
                    unsafe { std::slice::from_raw_parts_mut(at, w * c) }.fill(0);
                } else {
                    for col in 0..w {
                        let at = pn * sn + row * sh + col * sw;
                        (0..c).for_each(|pc| unsafe { *mp.add(at + pc * sc) = 0 });
                    }
                }
            }
        };
        for pn in images {
            zero(pn);
            for oh in 0..out_h {
                for ow in 0..out_w {
                    let from = il.offset([pn, 0, oh, ow]);
                    for pc in 0..c {
                        let p = unsafe { *ip.add(from + pc * il.strides[1]) }.to_i64() as u64;
                        // Always so: the indices are this call's own.
                        if p < plane as u64 {
                            unsafe { *mp.add(pn * sn + pc * sc + p as usize * sw) += 1 };
                        }
                    }
                }
            }
        }
    });
    ran.map_err(Error::Internal)
}

/// A window that an input row (or column) lies in, and the part of the winner's index that the two give.
type Part = (usize, u64);

/// For each input row (or column), the windows it lies in, each with the part of the winner's index that the
/// row and window give: positions `starts[k]..starts[k + 1]` of `entries` are row `k`'s.
struct Lines {
    starts: Vec<usize>,
    entries: Vec<Part>,
}

impl Lines {
    /// The lines of an axis of `len` positions whose windows are `windows`, each entry's part `part(o, pos)`.
    fn of(windows: &Windows, len: usize, part: impl Fn(usize, usize) -> u64) -> Result<Lines> {
        let what = "the channels-last kernel's table of windows";
        let mut starts = Vec::new();
        try_reserve(&mut starts, len + 1, what)?;
        starts.resize(len + 1, 0);
        let taps = |o: usize| {
            let win = windows.get(o);
            (0..win.taps).map(move |a| win.start + a * win.step)
        };
        for o in 0..windows.len() {
            taps(o).for_each(|pos| starts[pos + 1] += 1);
        }
        for k in 0..len {
            starts[k + 1] += starts[k];
        }
        let mut entries = Vec::new();
        try_reserve(&mut entries, starts[len], what)?;
        entries.resize(starts[len], (0, 0));
        let mut next = starts.clone();
        for o in 0..windows.len() {
            for pos in taps(o) {
                entries[next[pos]] = (o, part(o, pos));
                next[pos] += 1;
            }
        }
        Ok(Lines { starts, entries })
    }

    /// Line `k`'s windows and parts.
    #[inline(always)]
    fn get(&self, k: usize) -> &[Part] {
        &self.entries[self.starts[k]..self.starts[k + 1]]
    }
}

/// One thread's share of [`count`], compiled for an instruction set ([`Simd::run`]).
struct Counts<'a, I> {
    rows: &'a Lines,
    cols: &'a Lines,
    indices: Option<(*const I, Layout)>,
    multiplier: Option<(*mut u32, Layout)>,
    image: u64,
    step: u64,
    units: Range<usize>,
    shape: [usize; 4],
    counts: &'a mut [u32],
}

impl<I: Tally> Vectorised for Counts<'_, I> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        let Counts {
            rows,
            cols,
            indices,
            multiplier,
            image,
            step,
            units,
            shape,
            counts: scratch,
        } = self;
        let (Some((ip, il)), Some((mp, ml))) = (indices, multiplier) else {
            return;
        };
        let [_, c, h, w] = shape;
        for unit in units {
            let (pn, row) = (unit / h, unit % h);
            let base = image.wrapping_mul(pn as u64);
            for col in 0..w {
                let at = [pn, 0, row, col];
                // SAFETY (every block below): the call was checked, so each offset is one of its tensor's
                // elements, a run of channels whose stride is 1 is C distinct elements in a row, the multiplier's
                // elements are distinct and overlap nothing, and this unit's row is this thread's alone.
                let counts = if ml.strides[1] == 1 {
                    unsafe { std::slice::from_raw_parts_mut(mp.add(ml.offset(at)), c) }
                } else {
                    &mut scratch[..]
                };
                let pairs = (rows.get(row), cols.get(col));
                let mut s = 0;
                if il.strides[1] == 1 && step == 0 {
                    // Blocks of channels whose counts stay in registers, as wide as the indices (so never
                    // narrowed between windows), while every window's run goes by.
                    while c - s >= TALLY {
                        let mut tally = [I::Lane::default(); TALLY];
                        each_pair(pairs, base, |oh, ow, own| {
                            if own <= I::MAX {
                                let own = I::from_u64(own);
                                let at = il.offset([pn, s, oh, ow]);
                                let run = unsafe { &*ip.add(at).cast::<[I; TALLY]>() };
                                for (t, &i) in tally.iter_mut().zip(run) {
                                    *t = I::add(*t, i == own);
                                }
                            }
                        });
                        for (m, t) in counts[s..s + TALLY].iter_mut().zip(tally) {
                            *m = I::total(t);
                        }
                        s += TALLY;
                    }
                }
                // The rest, and indices whose channels are apart or whose index steps from one to the next.
                let (rest, sc) = (&mut counts[s..], il.strides[1]);
                rest.fill(0);
                each_pair(pairs, base, |oh, ow, own| {
                    let from = il.offset([pn, s, oh, ow]);
                    for (pc, m) in rest.iter_mut().enumerate() {
                        let i = unsafe { *ip.add(from + pc * sc) };
                        *m += u32::from(i.to_i64() as u64 == own + (s + pc) as u64 * step);
                    }
                });
                if ml.strides[1] != 1 {
                    for (pc, &m) in counts.iter().enumerate() {
                        unsafe { *mp.add(ml.offset([pn, pc, row, col])) = m };
                    }
                }
            }
        }
    }
}

/// How many channels [`count`] tallies at a time in registers.
const TALLY: usize = 16;

/// Calls `f(oh, ow, own)` for every window (oh, ow) that an input element lies in, given its row's and
/// column's windows and parts of the index ([`Lines::get`]), with `own` the element's index in that window,
/// for channel 0 of an image whose part is `base`.
#[inline(always)]
fn each_pair((rows, cols): (&[Part], &[Part]), base: u64, mut f: impl FnMut(usize, usize, u64)) {
    for &(oh, r) in rows {
        for &(ow, k) in cols {
            f(oh, ow, base.wrapping_add(r).wrapping_add(k));
        }
    }
}

/// Counting in lanes as wide as the index type, so that a compare's result is added without narrowing.
trait Tally: IndexElement {
    /// A count, in a lane as wide as `Self` (at least 16 bits).
    type Lane: Copy + Default;
    /// `lane`, plus one if `hit`.
    fn add(lane: Self::Lane, hit: bool) -> Self::Lane;
    /// The count (which fits a `u32`: the call's counts were checked to).
    fn total(lane: Self::Lane) -> u32;
}

macro_rules! tallies {
    ($($t:ty => $lane:ty),*) => {$(
        impl Tally for $t {
            type Lane = $lane;
            #[inline(always)]
            fn add(lane: $lane, hit: bool) -> $lane {
                lane.wrapping_add(<$lane>::from(hit))
            }
            #[inline(always)]
            fn total(lane: $lane) -> u32 {
                lane as u32
            }
        }
    )*};
}

// `u8` indices are taps of windows of at most 256, and an element lies in at most one window per tap: its
// count fits 16 bits.
tallies!(i64 => u64, i32 => u32, u8 => u16);

/// Where a window's taps are and what their indices are: its columns, the offset of its first tap's run of
/// channels, and that tap's index for channel 0 with the steps to the next row and column of taps.
#[derive(Clone, Copy)]
struct Setup {
    cw: Window,
    first: usize,
    code: u64,
    code_a: u64,
    code_b: u64,
}

/// Calls `f(a, b)` for every tap of a `rows × cols` window but the first, in scan order.
#[inline(always)]
fn for_taps(rows: usize, cols: usize, mut f: impl FnMut(usize, usize)) {
    (1..cols).for_each(|b| f(0, b));
    for a in 1..rows {
        (0..cols).for_each(|b| f(a, b));
    }
}

/// Whether [`window`] has a hand-written kernel for the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fast {
    /// No: the portable loops, compiled for the plan's instruction set.
    No,
    /// `f32` on a CPU with AVX-512.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    Avx512F32,
    /// `f32` on a CPU with AVX2 (whole vectors of 8 channels; the rest by the portable loops).
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    Avx2F32,
    /// A 16-bit float whose +∞ is `inf` on a CPU with AVX2 or AVX-512 (whole vectors of 16 channels, compared as
    /// [`order_key`](crate::order_key)s; the rest by the portable loops).
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    Avx2Half { inf: u16 },
    /// [`Fast::Avx2Half`] on a CPU with AVX-512 (every channel, 32 a vector); `native`: `f16` on a CPU with
    /// AVX-512 FP16, compared as floats.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    Avx512Half { inf: u16, native: bool },
}

impl Fast {
    /// The kernel for `T` at `simd`.
    fn choose<T: Element>(simd: Simd) -> Fast {
        if cfg!(target_arch = "x86_64")
            && T::DTYPE == DType::F32
            && simd == Simd::Avx512
            && simd.is_available()
        {
            Fast::Avx512F32
        } else if cfg!(target_arch = "x86_64")
            && T::DTYPE == DType::F32
            && simd == Simd::Avx2
            && simd.is_available()
        {
            Fast::Avx2F32
        } else {
            let half = T::KEY_INF.filter(|_| cfg!(target_arch = "x86_64") && simd.is_available());
            match (half, simd) {
                (Some(inf), Simd::Avx512) => Fast::Avx512Half {
                    inf,
                    native: T::DTYPE == DType::F16 && crate::simd::avx512_fp16(),
                },
                (Some(inf), Simd::Avx2) => Fast::Avx2Half { inf },
                _ => Fast::No,
            }
        }
    }
}

/// What [`window`] can select per channel beside the values: on x86-64, what its hand-written kernels can.
#[cfg(target_arch = "x86_64")]
trait Codes: avx512::Codes16 + avx2::Codes8 {}
#[cfg(target_arch = "x86_64")]
impl<T: avx512::Codes16 + avx2::Codes8> Codes for T {}

#[cfg(not(target_arch = "x86_64"))]
trait Codes {}
#[cfg(not(target_arch = "x86_64"))]
impl<T> Codes for T {}

/// Windows of more taps than this select `i64` codes as 32-bit offsets, widened once per window
/// (`avx2::windows_wide`); with fewer, the widening measured costlier than the selects it saves (2×2 windows,
/// W2).
const WIDEN_AFTER: usize = 4;

/// How many channels [`window`] keeps in registers while the taps go by: two AVX-512 vectors of `f32`.
const BLOCK: usize = 32;

/// The winners of one window's first channels (those of whole vectors of 16 with AVX2, all with AVX-512), when
/// `fast` is [`Fast::Avx2Half`] or [`Fast::Avx512Half`] and the window's tap codes, `code + a · code_a +
/// b · code_b` for tap (a, b), can be made from 8-bit tap coordinates and 32-bit offsets. Returns how many
/// channels it did (none otherwise): [`window`] pools the rest with its other loops.
#[inline(always)]
fn half_channels<T: Element, J: Copy + Codes>(
    fast: Fast,
    run: &impl Fn(usize, usize) -> *const T,
    (rows, cols): (usize, usize),
    [code, code_a, code_b]: [u64; 3],
    best: &mut [T],
    index: &mut [J],
) -> usize {
    #[cfg(target_arch = "x86_64")]
    if let Fast::Avx2Half { inf } | Fast::Avx512Half { inf, .. } = fast {
        if half_codes((rows, cols), [code_a, code_b]) {
            debug_assert_eq!(best.len(), index.len());
            // SAFETY: `Fast::Avx2Half` and `Avx512Half` are only made for the 16-bit floats (bit patterns as
            // `u16`) on a CPU with their level; `run` points at runs of all the channels, `best` and `index`
            // hold one each, every offset fits a `u32` (checked) and every code the index type (checked with
            // the call).
            let (c, best, index) = (best.len(), best.as_mut_ptr().cast(), index.as_mut_ptr());
            let (run, codes) = (|a, b| run(a, b).cast::<u16>(), [code, code_a, code_b]);
            return unsafe {
                if let Fast::Avx512Half { native: true, .. } = fast {
                    avx512::window_f16(run, (rows, cols), inf, codes, c, best, index)
                } else if let Fast::Avx512Half { .. } = fast {
                    avx512::window_half::<_, false>(run, (rows, cols), inf, codes, c, best, index)
                } else {
                    avx2::window_half(run, (rows, cols), inf, codes, c, best, index)
                }
            };
        }
    }
    let _ = (fast, run, rows, cols, code, code_a, code_b, best, index);
    0
}

/// How the 16-bit per-window kernels carry a winning tap (a, b) in a 16-bit lane: as its code offset
/// `a · code_a + b · code_b` where every tap's fits 16 bits (`packed`: widened once at the end), else as its
/// coordinates `a << 8 | b` (multiplied out at the end: two `vpmulld`s a half-vector, which measured a tenth of
/// W2 channels-last).
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct TapLanes {
    packed: bool,
    code_a: u64,
    code_b: u64,
}

#[cfg(target_arch = "x86_64")]
impl TapLanes {
    /// For windows of `rows × cols` taps whose codes step by `code_a` a row and `code_b` a column, which
    /// [`half_codes`] takes.
    fn new((rows, cols): (usize, usize), [code_a, code_b]: [u64; 2]) -> TapLanes {
        let last = (rows as u64 - 1) * code_a + (cols as u64 - 1) * code_b;
        TapLanes {
            packed: last <= u64::from(u16::MAX),
            code_a,
            code_b,
        }
    }

    /// Tap (a, b)'s lane, as a bit pattern.
    fn lane(self, a: usize, b: usize) -> i16 {
        if self.packed {
            (a as u64 * self.code_a + b as u64 * self.code_b) as u16 as i16
        } else {
            (a << 8 | b) as i16
        }
    }
}

/// Whether the 16-bit kernels can make a window's tap codes ([`half_channels`]): 8-bit tap coordinates, and
/// 32-bit offsets `a · code_a + b · code_b`.
fn half_codes((rows, cols): (usize, usize), [code_a, code_b]: [u64; 2]) -> bool {
    let fits = |taps: usize, step: u64| {
        (taps - 1) as u64 <= u64::from(u8::MAX) && step <= u64::from(u32::MAX)
    };
    let offsets = ((rows - 1) as u64 * code_a).checked_add((cols - 1) as u64 * code_b);
    fits(rows, code_a) && fits(cols, code_b) && offsets.is_some_and(|o| o <= u64::from(u32::MAX))
}

/// The winners of one window of `rows × cols` taps for every channel: `run(a, b)` points at tap (a, b)'s run of
/// channels. `best` and `index` (as long as the run) get each channel's winning value ([`beats`]) and the
/// winning tap's `code(a, b)`, which is `affine = [code, code_a, code_b]` as `code + a · code_a + b · code_b`
/// (what the 16-bit kernels make codes from, [`half_channels`]). Blocks of [`BLOCK`] channels at a time are held
/// in registers while every tap is merged in, branch-free, so that the loops vectorise and nothing goes back to
/// memory between taps.
#[inline(always)]
fn window<T: Element, J: Copy + Default + Codes>(
    fast: Fast,
    run: impl Fn(usize, usize) -> *const T,
    rows: usize,
    cols: usize,
    (affine, code): ([u64; 3], impl Fn(usize, usize) -> J),
    best: &mut [T],
    index: &mut [J],
) {
    let c = best.len();
    #[cfg(target_arch = "x86_64")]
    if let Fast::Avx512F32 = fast {
        // SAFETY: `Fast::Avx512F32` is only made for `f32` on a CPU with AVX-512; `run` points at runs of `c`
        // channels, and `best` and `index` hold `c` each.
        unsafe {
            let run = |a, b| run(a, b).cast::<f32>();
            avx512::window(
                run,
                rows,
                cols,
                code,
                c,
                best.as_mut_ptr().cast(),
                index.as_mut_ptr(),
            );
        }
        return;
    }
    let mut s = half_channels(fast, &run, (rows, cols), affine, best, index);
    #[cfg(target_arch = "x86_64")]
    if let Fast::Avx2F32 = fast {
        // SAFETY: `Fast::Avx2F32` is only made for `f32` on a CPU with AVX2; `run` points at runs of `c`
        // channels, and `best` and `index` hold `c` each.
        s = unsafe {
            let run = |a, b| run(a, b).cast::<f32>();
            avx2::window(
                run,
                rows,
                cols,
                &code,
                c,
                best.as_mut_ptr().cast(),
                index.as_mut_ptr(),
            )
        };
    }
    let _ = fast;
    // Whole blocks, then at most one of each shorter width, each of a length known when compiling (so held in
    // registers), then the last few channels.
    macro_rules! blocks {
        ($l:expr, $while:ident) => {
            $while c - s >= $l {
                let (b, i) = (&mut best[s..s + $l], &mut index[s..s + $l]);
                block::<T, J, $l>(&run, rows, cols, &code, s, b, i);
                s += $l;
            }
        };
    }
    blocks!(BLOCK, while);
    blocks!(16, if);
    blocks!(8, if);
    if s < c {
        let (b, i) = (&mut best[s..], &mut index[s..]);
        block::<T, J, 8>(&run, rows, cols, &code, s, b, i);
    }
}

/// [`window`] for the block of channels `s..s + best.len()`, at most `L`.
#[inline(always)]
fn block<T: Element, J: Copy + Default, const L: usize>(
    run: &impl Fn(usize, usize) -> *const T,
    rows: usize,
    cols: usize,
    code: &impl Fn(usize, usize) -> J,
    s: usize,
    best: &mut [T],
    index: &mut [J],
) {
    let len = best.len();
    let (mut b, mut i) = ([T::default(); L], [J::default(); L]);
    // SAFETY: `run` points at a tap's run of all the channels, of which `s..s + len` is part.
    let tap = |a: usize, t: usize| unsafe { std::slice::from_raw_parts(run(a, t).add(s), len) };
    b[..len].copy_from_slice(tap(0, 0));
    i[..len].fill(code(0, 0));
    for_taps(rows, cols, |a, t| {
        let (x, k) = (tap(a, t), code(a, t));
        for l in 0..len {
            let take = beats(x[l], b[l]);
            b[l] = if take { x[l] } else { b[l] };
            i[l] = if take { k } else { i[l] };
        }
    });
    best.copy_from_slice(&b[..len]);
    index.copy_from_slice(&i[..len]);
}

/// The `f32` windows with AVX-512 by hand: the compiler keeps [`block`]'s running winners in memory with masked
/// stores that every next tap's loads wait on; here they stay in registers, two vectors of 16 channels at a
/// time.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    use super::{for_taps, TapLanes};
    use crate::rows16::store_words;
    use crate::semantics::beats_f32x16;
    use crate::simd::{beats16, keep16, keep_value16, keys16, low_lanes, tap_offsets_avx512};

    /// A tap's code in 16 lanes, one per channel: what [`window`] selects beside the values.
    pub(super) trait Codes16: Copy {
        type V: Copy;
        /// Every lane `k`.
        unsafe fn splat(k: Self) -> Self::V;
        /// `new` in the lanes of `m`, `old` elsewhere.
        unsafe fn select(m: __mmask16, new: Self::V, old: Self::V) -> Self::V;
        /// Stores the lanes of `live` at `p`.
        unsafe fn store(p: *mut Self, v: Self::V, live: __mmask16);
        /// `base + offsets`, lane by lane, as codes: the offsets are `u32`, and each sum fits the type.
        unsafe fn at(base: u64, offsets: __m512i) -> Self::V;
        /// Stores `base + offsets` at `p`, the lanes of `live`: 32 offsets of 16 bits, each sum fitting the type.
        #[inline(always)]
        unsafe fn store_at16(p: *mut Self, base: u64, offsets: __m512i, live: __mmask32) {
            // SAFETY: the caller's promise.
            unsafe { store_halves(p, base, offsets, live, |h, _, _| _mm512_cvtepu16_epi32(h)) }
        }
    }

    /// Stores 32 lanes of codes at `p`, the lanes of `live`, 16 at a time: `base` plus `offsets(half, at,
    /// live)`, the 32-bit offsets of the 16-bit lanes `at..at + 16` of `lanes` (`half`, whose live ones are
    /// `live`).
    ///
    /// # Safety
    /// The CPU has AVX-512 F, BW, DQ and VL; `p` is writable where `live`; every code fits `J`.
    #[inline(always)]
    unsafe fn store_halves<J: Codes16>(
        p: *mut J,
        base: u64,
        lanes: __m512i,
        live: __mmask32,
        offsets: impl Fn(__m256i, usize, __mmask16) -> __m512i,
    ) {
        // SAFETY: the caller's promise.
        unsafe {
            let (lo, hi) = (live as u16, (live >> 16) as u16);
            let low = offsets(_mm512_castsi512_si256(lanes), 0, lo);
            J::store(p, J::at(base, low), lo);
            if hi != 0 {
                let high = offsets(_mm512_extracti64x4_epi64::<1>(lanes), 16, hi);
                J::store(p.wrapping_add(16), J::at(base, high), hi);
            }
        }
    }

    impl Codes16 for () {
        type V = ();
        unsafe fn splat(_: ()) {}
        unsafe fn select(_: __mmask16, _: (), _: ()) {}
        unsafe fn store(_: *mut (), _: (), _: __mmask16) {}
        unsafe fn at(_: u64, _: __m512i) {}
    }

    macro_rules! codes32 {
        ($($t:ty),*) => {$(
            impl Codes16 for $t {
                type V = __m512i;
                #[inline(always)]
                unsafe fn splat(k: $t) -> __m512i {
 unsafe { _mm512_set1_epi32(k as i32) }
 }
                #[inline(always)]
                unsafe fn select(m: __mmask16, new: __m512i, old: __m512i) -> __m512i {
 unsafe { _mm512_mask_blend_epi32(m, old, new) }
 }
                #[inline(always)]
                unsafe fn store(p: *mut $t, v: __m512i, live: __mmask16) {
 unsafe {
                        if live == u16::MAX {
                            _mm512_storeu_si512(p.cast(), v)
                        } else {
                            _mm512_mask_storeu_epi32(p.cast(), live, v)
                        }
                    }
 }
                #[inline(always)]
                unsafe fn at(base: u64, offsets: __m512i) -> __m512i {
                    unsafe { _mm512_add_epi32(_mm512_set1_epi32(base as i32), offsets) }
                }
            }
        )*};
    }
    codes32!(u32, i32);

    impl Codes16 for i64 {
        type V = (__m512i, __m512i);
        #[inline(always)]
        unsafe fn splat(k: i64) -> Self::V {
            unsafe { (_mm512_set1_epi64(k), _mm512_set1_epi64(k)) }
        }
        #[inline(always)]
        unsafe fn select(m: __mmask16, new: Self::V, old: Self::V) -> Self::V {
            unsafe {
                (
                    _mm512_mask_blend_epi64(m as u8, old.0, new.0),
                    _mm512_mask_blend_epi64((m >> 8) as u8, old.1, new.1),
                )
            }
        }
        #[inline(always)]
        unsafe fn store(p: *mut i64, v: Self::V, live: __mmask16) {
            unsafe {
                if live == u16::MAX {
                    _mm512_storeu_si512(p.cast(), v.0);
                    _mm512_storeu_si512(p.wrapping_add(8).cast(), v.1);
                } else {
                    _mm512_mask_storeu_epi64(p, live as u8, v.0);
                    _mm512_mask_storeu_epi64(p.wrapping_add(8), (live >> 8) as u8, v.1);
                }
            }
        }
        #[inline(always)]
        unsafe fn at(base: u64, offsets: __m512i) -> Self::V {
            unsafe {
                let base = _mm512_set1_epi64(base as i64);
                (
                    _mm512_add_epi64(base, _mm512_cvtepu32_epi64(_mm512_castsi512_si256(offsets))),
                    _mm512_add_epi64(
                        base,
                        _mm512_cvtepu32_epi64(_mm512_extracti64x4_epi64::<1>(offsets)),
                    ),
                )
            }
        }
    }

    impl Codes16 for u8 {
        type V = __m128i;
        #[inline(always)]
        unsafe fn splat(k: u8) -> __m128i {
            unsafe { _mm_set1_epi8(k as i8) }
        }
        #[inline(always)]
        unsafe fn select(m: __mmask16, new: __m128i, old: __m128i) -> __m128i {
            unsafe { _mm_mask_blend_epi8(m, old, new) }
        }
        #[inline(always)]
        unsafe fn store(p: *mut u8, v: __m128i, live: __mmask16) {
            unsafe {
                if live == u16::MAX {
                    _mm_storeu_si128(p.cast(), v)
                } else {
                    _mm_mask_storeu_epi8(p.cast(), live, v)
                }
            }
        }
        #[inline(always)]
        unsafe fn at(base: u64, offsets: __m512i) -> __m128i {
            unsafe {
                _mm512_cvtepi32_epi8(_mm512_add_epi32(_mm512_set1_epi32(base as i32), offsets))
            }
        }
        /// In 16-bit lanes, each sum fitting a byte: narrowed once, not widened to 32 bits first.
        #[inline(always)]
        unsafe fn store_at16(p: *mut u8, base: u64, offsets: __m512i, live: __mmask32) {
            unsafe {
                let codes = _mm512_add_epi16(_mm512_set1_epi16(base as i16), offsets);
                if live == u32::MAX {
                    _mm256_storeu_si256(p.cast(), _mm512_cvtepi16_epi8(codes))
                } else {
                    _mm512_mask_cvtepi16_storeu_epi8(p.cast(), live, codes)
                }
            }
        }
    }

    /// A window's running winners in 32 channels: their keys ([`keys16`]), values and taps (as [`TapLanes`]'
    /// lanes).
    #[derive(Clone, Copy)]
    struct Winner16 {
        key: __m512i,
        value: __m512i,
        tap: __m512i,
    }

    impl Winner16 {
        /// The first tap's elements `x` and their keys.
        #[target_feature(enable = "avx512f")]
        #[inline]
        fn first((value, key): (__m512i, __m512i)) -> Winner16 {
            let tap = _mm512_setzero_si512();
            Winner16 { key, value, tap }
        }

        /// Tap `tap`'s elements `x` and their keys `n` where they beat the running winners ([`beats16`]).
        ///
        /// # Safety
        /// The CPU has AVX-512 F and BW, and FP16 when `NATIVE`.
        #[target_feature(enable = "avx512f,avx512bw")]
        #[inline]
        unsafe fn take<const NATIVE: bool>(&mut self, (x, n): (__m512i, __m512i), tap: __m512i) {
            // SAFETY: the caller's promise.
            let m = unsafe { beats16::<NATIVE>(n, self.key) };
            self.key = keep16::<NATIVE>(self.key, m, n);
            self.value = keep_value16::<NATIVE>(self.value, m, x, self.key);
            self.tap = _mm512_mask_mov_epi16(self.tap, m, tap);
        }
    }

    /// Stores a window's winners `w` in channels `s..s + 32` where `live`: their values at `best`, and their
    /// taps' codes at `index`, `code` being the first tap's.
    ///
    /// # Safety
    /// The CPU has AVX-512 F, BW, DQ and VL; `best` and `index` point at the window's channels, writable where
    /// `live`; the codes fit `J`.
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
    #[inline]
    unsafe fn store_window<J: Codes16>(
        lanes: TapLanes,
        (code, best, index): (u64, *mut u16, *mut J),
        Winner16 { value, tap, .. }: Winner16,
        s: usize,
        live: __mmask32,
    ) {
        // SAFETY: the caller's promise.
        unsafe {
            _mm512_mask_storeu_epi16(best.wrapping_add(s).cast(), live, value);
            if lanes.packed {
                // The lanes are the codes' 16-bit offsets.
                J::store_at16(index.wrapping_add(s), code, tap, live);
                return;
            }
            // Else each lane's tap, as its 32-bit offset a · code_a + b · code_b (which fits a u32).
            let step = |code: u64| _mm512_set1_epi32(code as i32);
            store_halves(index.wrapping_add(s), code, tap, live, |t, _, _| {
                tap_offsets_avx512(t, step(lanes.code_a), step(lanes.code_b))
            });
        }
    }

    /// [`super::avx2::window_half`] with AVX-512: 32 channels a vector, compared into masks as [`keys16`] says
    /// (natively when `NATIVE`, for `f16`), and the last channels by masked loads and stores, so it does every
    /// channel.
    ///
    /// # Safety
    /// The CPU has AVX-512 F, BW and VL, and FP16 when `NATIVE`; otherwise as [`super::avx2::window_half`]'s.
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
    #[inline]
    pub(super) unsafe fn window_half<J: Codes16, const NATIVE: bool>(
        run: impl Fn(usize, usize) -> *const u16,
        (rows, cols): (usize, usize),
        inf: u16,
        [code, code_a, code_b]: [u64; 3],
        c: usize,
        best: *mut u16,
        index: *mut J,
    ) -> usize {
        let inf = _mm512_set1_epi16(inf as i16);
        // SAFETY (loads and stores): as the caller promised; only the lanes of `live`, inside the `c` channels.
        let load = |a: usize, b: usize, s: usize, live: __mmask32| unsafe {
            let x = _mm512_maskz_loadu_epi16(live, run(a, b).wrapping_add(s).cast());
            (x, keys16::<NATIVE>(x, inf))
        };
        let lanes = TapLanes::new((rows, cols), [code_a, code_b]);
        let at = |a: usize, b: usize| _mm512_set1_epi16(lanes.lane(a, b));
        // SAFETY: as above.
        let finish = |w: Winner16, s: usize, live: __mmask32| unsafe {
            store_window(lanes, (code, best, index), w, s, live)
        };
        let live = |s: usize| low_lanes((c - s).min(32));
        let mut s = 0;
        // Two vectors at a time while they last, for two independent chains of compares; then one, the last
        // masked.
        while c - s >= 64 {
            let mut w0 = Winner16::first(load(0, 0, s, u32::MAX));
            let mut w1 = Winner16::first(load(0, 0, s + 32, u32::MAX));
            for_taps(rows, cols, |a, b| {
                let (x0, x1) = (load(a, b, s, u32::MAX), load(a, b, s + 32, u32::MAX));
                // SAFETY: FP16 when `NATIVE` (the caller's promise).
                unsafe {
                    w0.take::<NATIVE>(x0, at(a, b));
                    w1.take::<NATIVE>(x1, at(a, b));
                }
            });
            finish(w0, s, u32::MAX);
            finish(w1, s + 32, u32::MAX);
            s += 64;
        }
        while s < c {
            let live = live(s);
            let mut w = Winner16::first(load(0, 0, s, live));
            // SAFETY: FP16 when `NATIVE` (the caller's promise).
            for_taps(rows, cols, |a, b| unsafe {
                w.take::<NATIVE>(load(a, b, s, live), at(a, b))
            });
            finish(w, s, live);
            s += 32;
        }
        c
    }

    /// [`window_half`] for `n` windows alike but for where they are: window `k`'s taps at `run(k, a, b)`, its
    /// codes `codes(k)`, its outputs at `best(k)` and `index(k)`. One call for a row of windows, so that the
    /// loop over them is compiled with AVX-512 too and nothing is called per window.
    ///
    /// # Safety
    /// As [`window_half`]'s for every window, with FP16 when `native`.
    pub(super) unsafe fn windows16<J: Codes16>(
        native: bool,
        shape: (usize, (usize, usize), usize),
        run: impl Fn(usize, usize, usize) -> *const u16,
        inf: u16,
        codes: impl Fn(usize) -> [u64; 3],
        best: impl Fn(usize) -> *mut u16,
        index: impl Fn(usize) -> *mut J,
    ) {
        // SAFETY: the caller's promise.
        unsafe {
            if native {
                windows_f16(shape, run, inf, codes, best, index)
            } else {
                windows_half::<J, false>(shape, run, inf, codes, best, index)
            }
        }
    }

    /// [`windows16`] comparing `f16`s natively.
    ///
    /// # Safety
    /// As [`windows16`]'s with `native`.
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx512fp16")]
    unsafe fn windows_f16<J: Codes16>(
        shape: (usize, (usize, usize), usize),
        run: impl Fn(usize, usize, usize) -> *const u16,
        inf: u16,
        codes: impl Fn(usize) -> [u64; 3],
        best: impl Fn(usize) -> *mut u16,
        index: impl Fn(usize) -> *mut J,
    ) {
        // SAFETY: the caller's promise.
        unsafe { windows_half::<J, true>(shape, run, inf, codes, best, index) }
    }

    /// [`windows16`], natively when `NATIVE`.
    ///
    /// # Safety
    /// As [`windows16`]'s, with FP16 when `NATIVE`.
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
    #[inline]
    unsafe fn windows_half<J: Codes16, const NATIVE: bool>(
        (n, taps, c): (usize, (usize, usize), usize),
        run: impl Fn(usize, usize, usize) -> *const u16,
        inf: u16,
        codes: impl Fn(usize) -> [u64; 3],
        best: impl Fn(usize) -> *mut u16,
        index: impl Fn(usize) -> *mut J,
    ) {
        // Three tap rows, and each window's first tap column the one before's last (kernel width 3 at column
        // stride 2, the ResNet stem's): those columns' elements and keys are carried from a window to the next.
        if taps == (3, 3) && n >= 2 && run(1, 0, 0) == run(0, 0, 2) {
            let mut s = 0;
            while c - s >= 64 {
                // SAFETY: the caller's promise.
                unsafe {
                    carried::<J, NATIVE, 2>(n, &run, inf, (&codes, &best, &index), s, [!0; 2])
                };
                s += 64;
            }
            while s < c {
                let live = low_lanes((c - s).min(32));
                // SAFETY: the caller's promise.
                unsafe {
                    carried::<J, NATIVE, 1>(n, &run, inf, (&codes, &best, &index), s, [live])
                };
                s += 32;
            }
            return;
        }
        for k in 0..n {
            // SAFETY: the caller's promise.
            unsafe {
                window_half::<J, NATIVE>(
                    |a, b| run(k, a, b),
                    taps,
                    inf,
                    codes(k),
                    c,
                    best(k),
                    index(k),
                )
            };
        }
    }

    /// [`windows_half`] for windows of three tap rows each of whose first tap column is the one before's last:
    /// channels `s..s + 32 · V` (vector `i`'s lanes `live[i]`) of every window in turn, the shared column's
    /// elements and keys (one a row and vector) carried from a window to the next instead of loaded and keyed
    /// again: 6 loads a window and vector at kernel width 3, not 9.
    ///
    /// # Safety
    /// As [`windows16`]'s, with FP16 when `NATIVE`; `run(k + 1, a, 0)` is `run(k, a, 2)`; each lane `l` of `live[i]`
    /// is a channel of the windows, `s + 32 · i + l < c`.
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
    #[inline]
    unsafe fn carried<J: Codes16, const NATIVE: bool, const V: usize>(
        n: usize,
        run: &impl Fn(usize, usize, usize) -> *const u16,
        inf: u16,
        (codes, best, index): (
            &impl Fn(usize) -> [u64; 3],
            &impl Fn(usize) -> *mut u16,
            &impl Fn(usize) -> *mut J,
        ),
        s: usize,
        live: [__mmask32; V],
    ) {
        let inf = _mm512_set1_epi16(inf as i16);
        // SAFETY (loads): as the caller promised; only the lanes of `live[i]`, each a channel of the tap's run.
        let load = |k: usize, a: usize, b: usize, i: usize| unsafe {
            let x = load16(run(k, a, b).wrapping_add(s + 32 * i), live[i]);
            (x, keys16::<NATIVE>(x, inf))
        };
        let [_, code_a, code_b] = codes(0);
        let lanes = TapLanes::new((3, 3), [code_a, code_b]);
        // Each row's first tap column, elements and keys.
        let mut first: [[(__m512i, __m512i); V]; 3] =
            std::array::from_fn(|a| std::array::from_fn(|i| load(0, a, 0, i)));
        for k in 0..n {
            let mut w: [Winner16; V] = std::array::from_fn(|i| Winner16::first(first[0][i]));
            for (a, row) in first.iter_mut().enumerate() {
                for b in 0..3 {
                    if a == 0 && b == 0 {
                        continue;
                    }
                    let tap = _mm512_set1_epi16(lanes.lane(a, b));
                    for (i, (carried, w)) in row.iter_mut().zip(&mut w).enumerate() {
                        let x = if b == 0 { *carried } else { load(k, a, b, i) };
                        if b == 2 {
                            *carried = x;
                        }
                        // SAFETY: FP16 when `NATIVE` (the caller's promise).
                        unsafe { w.take::<NATIVE>(x, tap) };
                    }
                }
            }
            let (code, best, index) = (codes(k)[0], best(k), index(k));
            for (i, w) in w.into_iter().enumerate() {
                // SAFETY: the window's outputs, the lanes of `live` (the caller's promise).
                unsafe { store_window(lanes, (code, best, index), w, s + 32 * i, live[i]) };
            }
        }
    }

    /// [`window_half`] comparing `f16`s natively.
    ///
    /// # Safety
    /// As for [`window_half`] with `NATIVE`.
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx512fp16")]
    #[inline]
    pub(super) unsafe fn window_f16<J: Codes16>(
        run: impl Fn(usize, usize) -> *const u16,
        taps: (usize, usize),
        inf: u16,
        codes: [u64; 3],
        c: usize,
        best: *mut u16,
        index: *mut J,
    ) -> usize {
        // SAFETY: the caller's promise.
        unsafe { window_half::<J, true>(run, taps, inf, codes, c, best, index) }
    }

    /// One input row's winners along its windows' columns for [`HalfRing`] pooling (the 16-bit
    /// [`super::avx2::row_winners`]): for each of `lanes` lanes (window `ow`'s channel `ch` is lane `ow · c + ch`),
    /// the first of its `kw` taps' patterns that no later one beats ([`keys16`]), to `values`, and that tap's
    /// `b · code_b` to `offsets`. Lane `l`'s tap `b` is `row[l + b · c]`.
    ///
    /// # Safety
    /// The CPU has AVX-512 F, BW, DQ and VL, and FP16 when `native`; `row` points at `lanes + (kw − 1) · c`
    /// readable `u16`s, `values` and `offsets` at `lanes` writable ones each; `(kw − 1) · code_b` fits a `u16`.
    pub(super) unsafe fn row_winners16(
        native: bool,
        row: *const u16,
        shape: (usize, usize, usize),
        codes: (u16, u16),
        values: *mut u16,
        offsets: *mut u16,
    ) {
        // SAFETY: the caller's promise.
        unsafe {
            if native {
                row_winners_f16(row, shape, codes, values, offsets)
            } else {
                row_winners_half::<false>(row, shape, codes, values, offsets)
            }
        }
    }

    /// [`row_winners16`] comparing `f16`s natively.
    ///
    /// # Safety
    /// As for [`row_winners16`] with `native`.
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx512fp16")]
    unsafe fn row_winners_f16(
        row: *const u16,
        shape: (usize, usize, usize),
        codes: (u16, u16),
        values: *mut u16,
        offsets: *mut u16,
    ) {
        // SAFETY: the caller's promise.
        unsafe { row_winners_half::<true>(row, shape, codes, values, offsets) }
    }

    /// [`row_winners16`], natively when `NATIVE`.
    ///
    /// # Safety
    /// As for [`row_winners16`], with FP16 when `NATIVE`.
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
    #[inline]
    unsafe fn row_winners_half<const NATIVE: bool>(
        row: *const u16,
        (lanes, c, kw): (usize, usize, usize),
        (inf, code_b): (u16, u16),
        values: *mut u16,
        offsets: *mut u16,
    ) {
        let inf = _mm512_set1_epi16(inf as i16);
        let mut l = 0;
        while l < lanes {
            let live = low_lanes((lanes - l).min(32));
            // SAFETY (loads and stores): as the caller promised; only the lanes of `live`, inside the `lanes`.
            let load = |at: usize| unsafe { load16(row.add(at), live) };
            let x = load(l);
            let (mut v, mut k, mut o) = (x, keys16::<NATIVE>(x, inf), _mm512_setzero_si512());
            for b in 1..kw {
                let x = load(l + b * c);
                let n = keys16::<NATIVE>(x, inf);
                // SAFETY: FP16 when `NATIVE` (the caller's promise).
                let m = unsafe { beats16::<NATIVE>(n, k) };
                k = keep16::<NATIVE>(k, m, n);
                v = keep_value16::<NATIVE>(v, m, x, k);
                o = _mm512_mask_mov_epi16(o, m, _mm512_set1_epi16((b as u16 * code_b) as i16));
            }
            // SAFETY: as above.
            unsafe {
                store_words(values.add(l), v, live);
                store_words(offsets.add(l), o, live);
            }
            l += 32;
        }
    }

    /// The windows of one output row from the [`row_winners16`] of their `rows.len()` input rows: row `a`'s
    /// at `values` and `offsets` plus `rows[a]`, merged in order, its offsets plus `a · code_a`. Lane `l`'s
    /// winner goes to `best[l]` and its code, `base + parts[l]` plus the winning offset, to `index[l]`.
    ///
    /// # Safety
    /// The CPU has AVX-512 F, BW, DQ and VL, and FP16 when `native`; each of `rows` starts `lanes` readable
    /// elements of `values` and `offsets`, `parts` has `lanes`, and `best` and `index` point at `lanes`
    /// writable elements (`index` may be null with codes of `()`); every offset plus `a · code_a` fits a
    /// `u16`, with its part a `u32`, and every code fits `J`.
    pub(super) unsafe fn merge_rows16<J: Codes16>(
        native: bool,
        ring: (*const u16, *const u16),
        rows: &[usize],
        lanes: (usize, u16, u16),
        codes: (u64, *const u32),
        best: *mut u16,
        index: *mut J,
    ) {
        // SAFETY: the caller's promise.
        unsafe {
            if native {
                merge_rows_f16(ring, rows, lanes, codes, best, index)
            } else {
                merge_rows_half::<J, false>(ring, rows, lanes, codes, best, index)
            }
        }
    }

    /// [`merge_rows16`] comparing `f16`s natively.
    ///
    /// # Safety
    /// As for [`merge_rows16`] with `native`.
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx512fp16")]
    unsafe fn merge_rows_f16<J: Codes16>(
        ring: (*const u16, *const u16),
        rows: &[usize],
        lanes: (usize, u16, u16),
        codes: (u64, *const u32),
        best: *mut u16,
        index: *mut J,
    ) {
        // SAFETY: the caller's promise.
        unsafe { merge_rows_half::<J, true>(ring, rows, lanes, codes, best, index) }
    }

    /// [`merge_rows16`], natively when `NATIVE`.
    ///
    /// # Safety
    /// As for [`merge_rows16`], with FP16 when `NATIVE`.
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
    #[inline]
    unsafe fn merge_rows_half<J: Codes16, const NATIVE: bool>(
        (values, offsets): (*const u16, *const u16),
        rows: &[usize],
        (lanes, code_a, inf): (usize, u16, u16),
        (base, parts): (u64, *const u32),
        best: *mut u16,
        index: *mut J,
    ) {
        let inf = _mm512_set1_epi16(inf as i16);
        let mut l = 0;
        while l < lanes {
            let live = low_lanes((lanes - l).min(32));
            // SAFETY (loads and stores): as the caller promised; only the lanes of `live`, inside the `lanes`.
            let load = |p: *const u16, row: usize| unsafe { load16(p.add(row + l), live) };
            let mut v = load(values, rows[0]);
            let (mut k, mut o) = (keys16::<NATIVE>(v, inf), load(offsets, rows[0]));
            for (a, &row) in rows.iter().enumerate().skip(1) {
                let x = load(values, row);
                let n = keys16::<NATIVE>(x, inf);
                // SAFETY: FP16 when `NATIVE` (the caller's promise).
                let m = unsafe { beats16::<NATIVE>(n, k) };
                k = keep16::<NATIVE>(k, m, n);
                v = keep_value16::<NATIVE>(v, m, x, k);
                let step = _mm512_set1_epi16((a as u16).wrapping_mul(code_a) as i16);
                o = _mm512_mask_add_epi16(o, m, load(offsets, row), step);
            }
            // SAFETY: as above.
            unsafe { store_words(best.add(l), v, live) };
            if size_of::<J>() != 0 {
                // Each half's 16 offsets widened, plus their lanes' parts, as codes.
                let offsets = |o: __m256i, h: usize, live: __mmask16| {
                    // SAFETY: as above.
                    let part = unsafe {
                        if live == u16::MAX {
                            _mm512_loadu_si512(parts.add(l + h).cast())
                        } else {
                            _mm512_maskz_loadu_epi32(live, parts.add(l + h).cast())
                        }
                    };
                    _mm512_add_epi32(_mm512_cvtepu16_epi32(o), part)
                };
                // SAFETY: as above; every code fits `J` (the caller's promise).
                unsafe { store_halves(index.wrapping_add(l), base, o, live, offsets) };
            }
            l += 32;
        }
    }

    /// 32 patterns from `p`, the lanes of `live` (a whole load when all are).
    ///
    /// # Safety
    /// The CPU has AVX-512 F and BW; the lanes of `live` at `p` are readable.
    #[target_feature(enable = "avx512f,avx512bw")]
    #[inline]
    unsafe fn load16(p: *const u16, live: __mmask32) -> __m512i {
        // SAFETY: the caller's promise.
        unsafe {
            if live == u32::MAX {
                _mm512_loadu_si512(p.cast())
            } else {
                _mm512_maskz_loadu_epi16(live, p.cast())
            }
        }
    }

    /// [`super::window`] for `f32`: `best` and `index` (`c` each) get every channel's winner and its tap's code.
    ///
    /// # Safety
    /// The CPU has AVX-512 F, BW and VL; `run(a, b)` points at `c` readable `f32`s for every tap, and `best` and
    /// `index` at `c` writable elements each.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma,bmi1,bmi2,lzcnt,popcnt")]
    #[inline]
    pub(super) unsafe fn window<J: Codes16>(
        run: impl Fn(usize, usize) -> *const f32,
        rows: usize,
        cols: usize,
        code: impl Fn(usize, usize) -> J,
        c: usize,
        best: *mut f32,
        index: *mut J,
    ) {
        // SAFETY: as the caller promised; masked-off lanes are neither read nor written.
        unsafe {
            let live = |s: usize| -> __mmask16 {
                let n = c.saturating_sub(s).min(16);
                ((1u32 << n) - 1) as __mmask16
            };
            let mut s = 0;
            while s < c {
                let (l0, l1) = (live(s), live(s + 16));
                // Whole vectors without masks: masked stores are slow on some CPUs (AMD's Zen 4).
                let load = |p: *const f32, m: __mmask16, at| {
                    if m == u16::MAX {
                        _mm512_loadu_ps(p.wrapping_add(at))
                    } else {
                        _mm512_maskz_loadu_ps(m, p.wrapping_add(at))
                    }
                };
                let first = run(0, 0);
                let (mut b0, mut b1) = (load(first, l0, s), load(first, l1, s + 16));
                let k = J::splat(code(0, 0));
                let (mut i0, mut i1) = (k, k);
                let taps = rows * cols;
                if l1 == 0 && taps >= 4 {
                    // 16 channels or fewer left: one vector, whose chain of dependent compares would be the
                    // whole window long. Two chains instead, over the first and the second half of the taps
                    // in scan order, merged at the end: the second half's winner takes a channel only where it
                    // beats the first's, as a later tap would.
                    let half = taps / 2;
                    let next = |(a, t): (usize, usize)| {
                        if t + 1 == cols {
                            (a + 1, 0)
                        } else {
                            (a, t + 1)
                        }
                    };
                    let (mut pa, mut pb) = ((0, 0), (half / cols, half % cols));
                    let mut bb = load(run(pb.0, pb.1), l0, s);
                    let mut ib = J::splat(code(pb.0, pb.1));
                    let merge = |p: (usize, usize), b: &mut __m512, i: &mut J::V| {
                        let x = load(run(p.0, p.1), l0, s);
                        let m = beats_f32x16(x, *b);
                        *b = _mm512_mask_blend_ps(m, *b, x);
                        *i = J::select(m, J::splat(code(p.0, p.1)), *i);
                    };
                    for _ in 1..half {
                        (pa, pb) = (next(pa), next(pb));
                        merge(pa, &mut b0, &mut i0);
                        merge(pb, &mut bb, &mut ib);
                    }
                    if taps - half > half {
                        pb = next(pb);
                        merge(pb, &mut bb, &mut ib);
                    }
                    let m = beats_f32x16(bb, b0);
                    b0 = _mm512_mask_blend_ps(m, b0, bb);
                    i0 = J::select(m, ib, i0);
                } else if l1 == 0 {
                    for_taps(rows, cols, |a, t| {
                        let x0 = load(run(a, t), l0, s);
                        let m0 = beats_f32x16(x0, b0);
                        b0 = _mm512_mask_blend_ps(m0, b0, x0);
                        i0 = J::select(m0, J::splat(code(a, t)), i0);
                    });
                } else {
                    for_taps(rows, cols, |a, t| {
                        let p = run(a, t);
                        let (x0, x1) = (load(p, l0, s), load(p, l1, s + 16));
                        let k = J::splat(code(a, t));
                        let (m0, m1) = (beats_f32x16(x0, b0), beats_f32x16(x1, b1));
                        b0 = _mm512_mask_blend_ps(m0, b0, x0);
                        b1 = _mm512_mask_blend_ps(m1, b1, x1);
                        i0 = J::select(m0, k, i0);
                        i1 = J::select(m1, k, i1);
                    });
                }
                let store = |p: *mut f32, m: __mmask16, v| {
                    if m == u16::MAX {
                        _mm512_storeu_ps(p, v)
                    } else {
                        _mm512_mask_storeu_ps(p, m, v)
                    }
                };
                store(best.wrapping_add(s), l0, b0);
                store(best.wrapping_add(s + 16), l1, b1);
                J::store(index.wrapping_add(s), i0, l0);
                J::store(index.wrapping_add(s + 16), i1, l1);
                s += 32;
            }
        }
    }
}

/// The `f32` windows with AVX2 by hand, as [`avx512`] does with AVX-512: two vectors of 8 channels at a time in
/// registers, the codes selected beside them. Only whole vectors: the last `c mod 8` channels are left to the
/// portable loops.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::{for_taps, TapLanes};
    use crate::semantics::beats_f32x8;
    use crate::simd::{order_keys_avx2 as keys, tap_offsets_avx2};

    /// A tap's code in 8 lanes, one per channel: what [`window`] selects beside the values.
    pub(super) trait Codes8: Copy {
        type V: Copy;
        /// Every lane `k`.
        unsafe fn splat(k: Self) -> Self::V;
        /// `new` in the lanes where `m` is all ones, `old` elsewhere.
        unsafe fn select(m: __m256, new: Self::V, old: Self::V) -> Self::V;
        /// Stores the 8 lanes at `p`.
        unsafe fn store(p: *mut Self, v: Self::V);
        /// `base + offsets`, lane by lane, as codes: the offsets are `u32`, and each sum fits the type.
        unsafe fn at(base: u64, offsets: __m256i) -> Self::V;
    }

    impl Codes8 for () {
        type V = ();
        unsafe fn splat(_: ()) {}
        unsafe fn select(_: __m256, _: (), _: ()) {}
        unsafe fn store(_: *mut (), _: ()) {}
        unsafe fn at(_: u64, _: __m256i) {}
    }

    /// Selects 32-bit lanes.
    #[inline(always)]
    unsafe fn blend32(m: __m256, new: __m256i, old: __m256i) -> __m256i {
        unsafe {
            _mm256_castps_si256(_mm256_blendv_ps(
                _mm256_castsi256_ps(old),
                _mm256_castsi256_ps(new),
                m,
            ))
        }
    }

    macro_rules! codes32 {
        ($($t:ty),*) => {$(
            impl Codes8 for $t {
                type V = __m256i;
                #[inline(always)]
                unsafe fn splat(k: $t) -> __m256i {
                    unsafe { _mm256_set1_epi32(k as i32) }
                }
                #[inline(always)]
                unsafe fn select(m: __m256, new: __m256i, old: __m256i) -> __m256i {
                    unsafe { blend32(m, new, old) }
                }
                #[inline(always)]
                unsafe fn store(p: *mut $t, v: __m256i) {
                    unsafe { _mm256_storeu_si256(p.cast(), v) }
                }
                #[inline(always)]
                unsafe fn at(base: u64, offsets: __m256i) -> __m256i {
                    unsafe { _mm256_add_epi32(_mm256_set1_epi32(base as i32), offsets) }
                }
            }
        )*};
    }
    codes32!(u32, i32);

    impl Codes8 for i64 {
        type V = (__m256i, __m256i);
        #[inline(always)]
        unsafe fn splat(k: i64) -> Self::V {
            unsafe { (_mm256_set1_epi64x(k), _mm256_set1_epi64x(k)) }
        }
        #[inline(always)]
        unsafe fn select(m: __m256, new: Self::V, old: Self::V) -> Self::V {
            unsafe {
                // Each 32-bit lane's mask widened to the 64-bit lane of the same channel.
                let m = _mm256_castps_si256(m);
                let lo = _mm256_cvtepi32_epi64(_mm256_castsi256_si128(m));
                let hi = _mm256_cvtepi32_epi64(_mm256_extracti128_si256::<1>(m));
                (
                    _mm256_blendv_epi8(old.0, new.0, lo),
                    _mm256_blendv_epi8(old.1, new.1, hi),
                )
            }
        }
        #[inline(always)]
        unsafe fn store(p: *mut i64, v: Self::V) {
            unsafe {
                _mm256_storeu_si256(p.cast(), v.0);
                _mm256_storeu_si256(p.wrapping_add(4).cast(), v.1);
            }
        }
        #[inline(always)]
        unsafe fn at(base: u64, offsets: __m256i) -> Self::V {
            unsafe {
                let base = _mm256_set1_epi64x(base as i64);
                (
                    _mm256_add_epi64(base, _mm256_cvtepu32_epi64(_mm256_castsi256_si128(offsets))),
                    _mm256_add_epi64(
                        base,
                        _mm256_cvtepu32_epi64(_mm256_extracti128_si256::<1>(offsets)),
                    ),
                )
            }
        }
    }

    /// Bytes are selected as 32-bit lanes (a compare's mask is in those) and narrowed when stored.
    impl Codes8 for u8 {
        type V = __m256i;
        #[inline(always)]
        unsafe fn splat(k: u8) -> __m256i {
            unsafe { _mm256_set1_epi32(i32::from(k)) }
        }
        #[inline(always)]
        unsafe fn select(m: __m256, new: __m256i, old: __m256i) -> __m256i {
            unsafe { blend32(m, new, old) }
        }
        #[inline(always)]
        unsafe fn at(base: u64, offsets: __m256i) -> __m256i {
            unsafe { _mm256_add_epi32(_mm256_set1_epi32(base as i32), offsets) }
        }
        #[inline(always)]
        unsafe fn store(p: *mut u8, v: __m256i) {
            unsafe { crate::simd::store_bytes_avx2(v, p, 8) }
        }
    }

    /// [`super::window`] for `f32` over the first `c − c mod 8` channels: `best` and `index` get every such
    /// channel's winner and its tap's code. Returns how many channels it did.
    ///
    /// # Safety
    /// The CPU has AVX2 and FMA; `run(a, b)` points at `c` readable `f32`s for every tap, and `best` and `index`
    /// at `c` writable elements each.
    #[target_feature(enable = "avx2,fma,bmi1,bmi2,lzcnt,popcnt")]
    #[inline]
    pub(super) unsafe fn window<J: Codes8>(
        run: impl Fn(usize, usize) -> *const f32,
        rows: usize,
        cols: usize,
        code: impl Fn(usize, usize) -> J,
        c: usize,
        best: *mut f32,
        index: *mut J,
    ) -> usize {
        // SAFETY: as the caller promised; only whole vectors inside the `c` channels are read and written.
        unsafe { body!(run, rows, cols, code, c, best, index) }
    }

    /// [`window`] for `n` windows alike but for where they are: window `k`'s taps at `run(k, a, b)`, their
    /// codes `code(k, a, b)`, its outputs at `best(k)` and `index(k)`. One call for a row of windows, so that
    /// the loop over them is compiled with AVX2 too and nothing is called per window.
    ///
    /// # Safety
    /// As [`window`]'s, for every window; `c` is a multiple of 8.
    #[target_feature(enable = "avx2,fma,bmi1,bmi2,lzcnt,popcnt")]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn windows<J: Codes8>(
        n: usize,
        run: impl Fn(usize, usize, usize) -> *const f32,
        rows: usize,
        cols: usize,
        code: impl Fn(usize, usize, usize) -> J,
        c: usize,
        best: impl Fn(usize) -> *mut f32,
        index: impl Fn(usize) -> *mut J,
    ) {
        debug_assert_eq!(c % 8, 0);
        for k in 0..n {
            // SAFETY: as the caller promised; only whole vectors inside the `c` channels are read and written.
            unsafe {
                body!(
                    |a, b| run(k, a, b),
                    rows,
                    cols,
                    |a, b| code(k, a, b),
                    c,
                    best(k),
                    index(k)
                )
            };
        }
    }

    /// [`super::window`] for a 16-bit float (bit patterns, `u16`) whose +∞ is `inf`, over the first
    /// `c − c mod 16` channels: `best` and `index` get every such channel's winner and its tap's code,
    /// `code + a · code_a + b · code_b` for tap (a, b). Each tap's patterns become [`order_key`]s in registers
    /// ([`keys`]), compared in 16 lanes; the winners' patterns themselves are carried beside their keys, so they
    /// come out unchanged, and so are their taps' coordinates, `a · 256 + b`, made into codes once per window.
    /// Returns how many channels it did.
    ///
    /// [`order_key`]: crate::order_key
    ///
    /// # Safety
    /// The CPU has AVX2 and FMA; `run(a, b)` points at `c` readable `u16`s for every tap, and `best` and `index`
    /// at `c` writable elements each; `rows` and `cols` are at most 256, and `(rows − 1) · code_a +
    /// (cols − 1) · code_b` fits a `u32`.
    #[target_feature(enable = "avx2,fma,bmi1,bmi2,lzcnt,popcnt")]
    #[inline]
    pub(super) unsafe fn window_half<J: Codes8>(
        run: impl Fn(usize, usize) -> *const u16,
        (rows, cols): (usize, usize),
        inf: u16,
        [code, code_a, code_b]: [u64; 3],
        c: usize,
        best: *mut u16,
        index: *mut J,
    ) -> usize {
        let inf = _mm256_set1_epi16(inf as i16);
        // SAFETY (loads and stores): as the caller promised; only whole vectors inside the `c` channels.
        let load = |a: usize, b: usize, s: usize| unsafe {
            _mm256_loadu_si256(run(a, b).wrapping_add(s).cast())
        };
        let lanes = TapLanes::new((rows, cols), [code_a, code_b]);
        let at = |a: usize, b: usize| _mm256_set1_epi16(lanes.lane(a, b));
        let (step_a, step_b) = (
            _mm256_set1_epi32(code_a as i32),
            _mm256_set1_epi32(code_b as i32),
        );
        let finish = |tap: __m256i, s: usize| {
            // Each lane's tap, as its 32-bit offset a · code_a + b · code_b (which fits a u32).
            let offsets = |t: __m128i| {
                if lanes.packed {
                    _mm256_cvtepu16_epi32(t)
                } else {
                    tap_offsets_avx2(t, step_a, step_b)
                }
            };
            // SAFETY: as above.
            unsafe {
                J::store(
                    index.wrapping_add(s),
                    J::at(code, offsets(_mm256_castsi256_si128(tap))),
                );
                J::store(
                    index.wrapping_add(s + 8),
                    J::at(code, offsets(_mm256_extracti128_si256::<1>(tap))),
                );
            }
        };
        let mut s = 0;
        // Two vectors at a time while they last, for two independent chains of compares; then one.
        while c - s >= 32 {
            let (x0, x1) = (load(0, 0, s), load(0, 0, s + 16));
            let (mut k0, mut k1) = (keys(x0, inf), keys(x1, inf));
            let (mut v0, mut v1) = (x0, x1);
            let (mut t0, mut t1) = (_mm256_setzero_si256(), _mm256_setzero_si256());
            for_taps(rows, cols, |a, b| {
                let (x0, x1) = (load(a, b, s), load(a, b, s + 16));
                let (n0, n1) = (keys(x0, inf), keys(x1, inf));
                let (m0, m1) = (_mm256_cmpgt_epi16(n0, k0), _mm256_cmpgt_epi16(n1, k1));
                let tap = at(a, b);
                // The greater key is the new one where it beats, so the running key is their maximum.
                (k0, k1) = (_mm256_max_epi16(k0, n0), _mm256_max_epi16(k1, n1));
                v0 = _mm256_blendv_epi8(v0, x0, m0);
                v1 = _mm256_blendv_epi8(v1, x1, m1);
                t0 = _mm256_blendv_epi8(t0, tap, m0);
                t1 = _mm256_blendv_epi8(t1, tap, m1);
            });
            // SAFETY: as above.
            unsafe {
                _mm256_storeu_si256(best.wrapping_add(s).cast(), v0);
                _mm256_storeu_si256(best.wrapping_add(s + 16).cast(), v1);
            }
            finish(t0, s);
            finish(t1, s + 16);
            s += 32;
        }
        if c - s >= 16 {
            let x = load(0, 0, s);
            let (mut k, mut v, mut t) = (keys(x, inf), x, _mm256_setzero_si256());
            for_taps(rows, cols, |a, b| {
                let x = load(a, b, s);
                let n = keys(x, inf);
                let m = _mm256_cmpgt_epi16(n, k);
                k = _mm256_max_epi16(k, n);
                v = _mm256_blendv_epi8(v, x, m);
                t = _mm256_blendv_epi8(t, at(a, b), m);
            });
            // SAFETY: as above.
            unsafe { _mm256_storeu_si256(best.wrapping_add(s).cast(), v) };
            finish(t, s);
            s += 16;
        }
        s
    }

    /// [`windows`] with `i64` codes, `base(k) + offset(a, b)` for window `k`'s tap (a, b), plus `step` a channel:
    /// the offsets, which must fit a `u32`, are selected as 32-bit lanes (half the work of 64-bit ones) into
    /// `offsets` (`c` long), then widened once per window as the indices are written.
    ///
    /// # Safety
    /// As [`windows`]'s.
    #[target_feature(enable = "avx2,fma,bmi1,bmi2,lzcnt,popcnt")]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn windows_wide(
        n: usize,
        run: impl Fn(usize, usize, usize) -> *const f32,
        rows: usize,
        cols: usize,
        (base, offset, step): (impl Fn(usize) -> u64, impl Fn(usize, usize) -> u32, u64),
        c: usize,
        best: impl Fn(usize) -> *mut f32,
        index: impl Fn(usize) -> *mut i64,
        offsets: &mut [u32],
    ) {
        type J = u32;
        debug_assert!(c.is_multiple_of(8) && offsets.len() >= c);
        for k in 0..n {
            // SAFETY: as the caller promised; only whole vectors inside the `c` channels are read and written,
            // and `offsets` holds `c`.
            let out = unsafe {
                body!(
                    |a, b| run(k, a, b),
                    rows,
                    cols,
                    &offset,
                    c,
                    best(k),
                    offsets.as_mut_ptr()
                );
                std::slice::from_raw_parts_mut(index(k), c)
            };
            let base = base(k);
            for (pc, (o, &d)) in out.iter_mut().zip(&offsets[..c]).enumerate() {
                *o = (base + u64::from(d) + pc as u64 * step) as i64;
            }
        }
    }

    /// One input row's winners along its windows' columns, for separable pooling at column stride 1
    /// ([`Separable`]): for each of `out_w` windows and each of the first `c` channels (a multiple of 8), the
    /// first of its `kw` taps' values that no later one beats, to `values`, and that tap's `b · code_b` to
    /// `offsets` (each `out_w · c` long, window after window). Window `ow`'s tap `b` is the pixel at `row`
    /// plus `(ow + b) · pixel`.
    ///
    /// # Safety
    /// The CPU has AVX2; `row` points at `out_w + kw − 1` pixels of `c` readable channels, `pixel` apart, and
    /// `values` and `offsets` at `out_w · c` writable elements.
    #[target_feature(enable = "avx2,fma,bmi1,bmi2,lzcnt,popcnt")]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn row_winners(
        row: *const f32,
        pixel: usize,
        out_w: usize,
        kw: usize,
        code_b: u32,
        c: usize,
        values: *mut f32,
        offsets: *mut u32,
    ) {
        debug_assert!(c.is_multiple_of(8));
        // SAFETY: as the caller promised; only whole vectors inside the `c` channels are read and written.
        unsafe {
            for ow in 0..out_w {
                let p = row.add(ow * pixel);
                let (v, o) = (values.add(ow * c), offsets.add(ow * c));
                let mut s = 0;
                while s < c {
                    let mut best = _mm256_loadu_ps(p.add(s));
                    let mut offset = _mm256_setzero_si256();
                    for b in 1..kw {
                        let x = _mm256_loadu_ps(p.add(b * pixel + s));
                        let m = beats_f32x8(x, best);
                        best = _mm256_blendv_ps(best, x, m);
                        offset = blend32(m, _mm256_set1_epi32((b as u32 * code_b) as i32), offset);
                    }
                    _mm256_storeu_ps(v.add(s), best);
                    _mm256_storeu_si256(o.add(s).cast(), offset);
                    s += 8;
                }
            }
        }
    }

    /// The windows of one output row from the row winners of their `rows.len()` input rows ([`row_winners`]):
    /// row `a`'s at `values[rows[a]..]` and `offsets[rows[a]..]`, merged in order, its offsets plus
    /// `a · code_a`. Window `ow`'s winners go to `best` plus `ow · best_step` and its codes, `base + ow ·
    /// base_step` plus the winning offset, to `index` plus `ow · index_step`.
    ///
    /// # Safety
    /// The CPU has AVX2; each of `rows` starts `out_w · c` readable elements of `values` and `offsets`, `c` is a
    /// multiple of 8, and `best` and `index` point at `c` writable elements for each window (`index` may be
    /// null with codes of `()`); every code fits `J`.
    #[target_feature(enable = "avx2,fma,bmi1,bmi2,lzcnt,popcnt")]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn merge_rows<J: Codes8>(
        values: *const f32,
        offsets: *const u32,
        rows: &[usize],
        (out_w, c, code_a): (usize, usize, u32),
        (base, base_step): (u64, u64),
        (best, best_step): (*mut f32, usize),
        (index, index_step): (*mut J, usize),
    ) {
        // SAFETY: as the caller promised; only whole vectors inside the `c` channels are read and written.
        unsafe {
            for ow in 0..out_w {
                let at = ow * c;
                let (to, codes) = (
                    best.add(ow * best_step),
                    index.wrapping_add(ow * index_step),
                );
                let base = base.wrapping_add(ow as u64 * base_step);
                let mut s = 0;
                while s < c {
                    let first = rows[0] + at + s;
                    let mut v = _mm256_loadu_ps(values.add(first));
                    let mut o = _mm256_loadu_si256(offsets.add(first).cast());
                    for (a, &row) in rows.iter().enumerate().skip(1) {
                        let x = _mm256_loadu_ps(values.add(row + at + s));
                        let xo = _mm256_loadu_si256(offsets.add(row + at + s).cast());
                        let xo =
                            _mm256_add_epi32(xo, _mm256_set1_epi32((a as u32 * code_a) as i32));
                        let m = beats_f32x8(x, v);
                        v = _mm256_blendv_ps(v, x, m);
                        o = blend32(m, xo, o);
                    }
                    _mm256_storeu_ps(to.add(s), v);
                    J::store(codes.wrapping_add(s), J::at(base, o));
                    s += 8;
                }
            }
        }
    }

    /// [`window`]'s work, written out in the functions compiled with AVX2 that use it: a macro rather than a
    /// function, so that its closures are compiled with AVX2 too (an inlined function's closures are not, and
    /// its intrinsics are then calls). Evaluates to the channels done. `$index` may be null with codes of `()`:
    /// it is only offset (wrapping) and never written. `J` is the caller's type of codes.
    macro_rules! body {
        ($run:expr, $rows:expr, $cols:expr, $code:expr, $c:expr, $best:expr, $index:expr) => {{
            let (run, rows, cols, code, c, best, index) =
                ($run, $rows, $cols, $code, $c, $best, $index);
            let mut s = 0;
            while c - s >= 16 {
                let first = run(0, 0);
                let (mut b0, mut b1) = (
                    _mm256_loadu_ps(first.add(s)),
                    _mm256_loadu_ps(first.add(s + 8)),
                );
                let k = J::splat(code(0, 0));
                let (mut i0, mut i1) = (k, k);
                for_taps(rows, cols, |a, t| {
                    let p = run(a, t);
                    let (x0, x1) = (_mm256_loadu_ps(p.add(s)), _mm256_loadu_ps(p.add(s + 8)));
                    let k = J::splat(code(a, t));
                    let (m0, m1) = (beats_f32x8(x0, b0), beats_f32x8(x1, b1));
                    b0 = _mm256_blendv_ps(b0, x0, m0);
                    b1 = _mm256_blendv_ps(b1, x1, m1);
                    i0 = J::select(m0, k, i0);
                    i1 = J::select(m1, k, i1);
                });
                _mm256_storeu_ps(best.add(s), b0);
                _mm256_storeu_ps(best.add(s + 8), b1);
                J::store(index.wrapping_add(s), i0);
                J::store(index.wrapping_add(s + 8), i1);
                s += 16;
            }
            if c - s >= 8 {
                let first = run(0, 0);
                let mut b0 = _mm256_loadu_ps(first.add(s));
                let mut i0 = J::splat(code(0, 0));
                for_taps(rows, cols, |a, t| {
                    let x0 = _mm256_loadu_ps(run(a, t).add(s));
                    let m0 = beats_f32x8(x0, b0);
                    b0 = _mm256_blendv_ps(b0, x0, m0);
                    i0 = J::select(m0, J::splat(code(a, t)), i0);
                });
                _mm256_storeu_ps(best.add(s), b0);
                J::store(index.wrapping_add(s), i0);
                s += 8;
            }
            s
        }};
    }
    use body;
}
