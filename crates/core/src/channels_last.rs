//! The channels-last kernel: for an input whose channels are contiguous (NHWC, and any layout with a channel
//! stride of 1), each window tap is one run of C elements, so every channel's winner comes from the same
//! element-wise compare and select over the run, with no gathering of planes and no shuffles. Threads split
//! (n, output row) pairs, so a batch of one still uses every thread; with the multiplier they split images,
//! whose counts windows of neighbouring rows share.
//!
//! Written once for every element and index type, in loops the compiler vectorises, compiled for the plan's
//! instruction set ([`Simd::run`]). The winners follow [`beats`](crate::semantics::beats), the indices
//! [`IndexFormat::encode`]: each tap's index is encoded once per window, and since every format is affine in
//! the channel, a run of channels selects the tap's index for channel 0 and adds the channel's step after.
//! Outputs whose channels are contiguous too (the usual case: outputs in the input's memory order) are worked
//! on in place; others through a row of scratch, then written through their layouts.

use std::ops::Range;

use crate::element::Element;
use crate::engine::Parties;
use crate::error::{Error, Result};
use crate::geometry::Geometry;
use crate::semantics::beats;
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
    let indices = targets.indices;
    match indices {
        None => run::<T, u8>(g, simd, threads, input, &targets, None, format),
        Some((IndexTarget::I64(p), l)) => {
            run::<T, i64>(g, simd, threads, input, &targets, Some((p, l)), format)
        }
        Some((IndexTarget::I32(p), l)) => {
            run::<T, i32>(g, simd, threads, input, &targets, Some((p, l)), format)
        }
        Some((IndexTarget::U8(p), l)) => {
            run::<T, u8>(g, simd, threads, input, &targets, Some((p, l)), format)
        }
    }
}

/// A thread's working storage: a row of channels' winners and their indices or taps, for outputs that cannot
/// be worked on in place, and the current window's tables.
struct Scratch<T, I> {
    best: Vec<T>,
    index: Vec<I>,
    taps: Vec<u32>,
    /// Each of the window's taps' index, encoded for channel 0.
    codes: Vec<u64>,
    /// Each of the window's taps' offset in the multiplier, for channel 0.
    counts: Vec<usize>,
}

/// [`forward`] with indices of type `I` (ignored when there are none).
fn run<T: Element, I: IndexElement>(
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
    let counting = targets.multiplier.is_some();
    // With the multiplier, whole images: windows of neighbouring rows can share a winner, whose count must not
    // race.
    let units = if counting { n } else { n * out_h };
    let team = Team::new(threads, units);
    let taps = window_taps(g);
    let reserve = || -> Result<_> {
        let what = "the channels-last kernel's row of winners";
        let mut s = Scratch {
            best: Vec::new(),
            index: Vec::new(),
            taps: Vec::new(),
            codes: Vec::new(),
            counts: Vec::new(),
        };
        try_reserve(&mut s.best, c, what)?;
        try_reserve(&mut s.index, c, what)?;
        try_reserve(&mut s.taps, c, what)?;
        try_reserve(&mut s.codes, taps, what)?;
        try_reserve(&mut s.counts, taps, what)?;
        s.best.resize(c, T::default());
        s.index.resize(c, I::default());
        s.taps.resize(c, 0);
        Ok(s)
    };
    let parties = Parties::reserve(&team, reserve)?;
    // Every format is affine in the channel: the step from one channel's index to the next.
    let shape = layout.shape;
    let step = format.encode(g, shape, [0, 1, 0, 0], 0) - format.encode(g, shape, [0, 0, 0, 0], 0);
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
            counting,
            scratch: &mut guard,
        })
    });
    ran.map_err(Error::Internal)
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
    counting: bool,
    scratch: &'a mut Scratch<T, I>,
}

impl<T: Element, I: IndexElement> Vectorised for Units<'_, T, I> {
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
            counting,
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
            codes,
            counts,
        } = scratch;
        for unit in units {
            let (pn, rows) = if counting {
                (unit, 0..out_h)
            } else {
                (unit / out_h, unit % out_h..unit % out_h + 1)
            };
            // SAFETY (every block below): the call was checked, so each offset is one of its tensor's elements,
            // a run of channels whose stride is 1 is C distinct elements in a row, the outputs' elements are
            // distinct and overlap nothing, and this unit's rows (or image) are this thread's alone.
            if let Some((p, l)) = targets.multiplier {
                for row in 0..h {
                    for col in 0..w {
                        let at = unsafe { p.add(l.offset([pn, 0, row, col])) };
                        if l.strides[1] == 1 {
                            unsafe { std::slice::from_raw_parts_mut(at, c) }.fill(0);
                        } else {
                            (0..c).for_each(|pc| unsafe { *at.add(pc * l.strides[1]) = 0 });
                        }
                    }
                }
            }
            for oh in rows {
                let rw = g.row_windows().get(oh);
                for ow in 0..g.out_width() {
                    let cw = g.col_windows().get(ow);
                    // Each tap's run of channels, and its index for channel 0, are affine in the tap's place
                    // (a, b) in the window: from the first tap, a rows and b columns on.
                    let at = [pn, 0, oh, ow];
                    let first = layout.offset([pn, 0, rw.start, cw.start]);
                    let (da, db) = (rw.step * layout.strides[2], cw.step * layout.strides[3]);
                    let encode = |a: usize, b: usize| {
                        let (row, col) = (rw.start + a * rw.step, cw.start + b * cw.step);
                        format.encode(g, layout.shape, at, row * w + col)
                    };
                    let code = encode(0, 0);
                    let code_a = if rw.taps > 1 { encode(1, 0) - code } else { 0 };
                    let code_b = if cw.taps > 1 { encode(0, 1) - code } else { 0 };
                    let run = |a: usize, b: usize| unsafe {
                        std::slice::from_raw_parts(input.as_ptr().add(first + a * da + b * db), c)
                    };
                    let best = if values_in_place {
                        unsafe { std::slice::from_raw_parts_mut(vp.add(vl.offset(at)), c) }
                    } else {
                        &mut best_scratch[..]
                    };
                    best.copy_from_slice(run(0, 0));
                    match (indices, targets.multiplier) {
                        (None, None) => {
                            for_taps(rw.taps, cw.taps, |a, b| merge_values(best, run(a, b)));
                        }
                        (Some((ip, il)), None) => {
                            let index = if indices_in_place {
                                unsafe { std::slice::from_raw_parts_mut(ip.add(il.offset(at)), c) }
                            } else {
                                &mut index_scratch[..]
                            };
                            index.fill(I::from_u64(code));
                            for_taps(rw.taps, cw.taps, |a, b| {
                                let tap_code = code + a as u64 * code_a + b as u64 * code_b;
                                merge(best, index, run(a, b), I::from_u64(tap_code));
                            });
                            if step != 0 {
                                for (pc, i) in index.iter_mut().enumerate() {
                                    *i = I::from_u64(i.to_i64() as u64 + pc as u64 * step);
                                }
                            }
                            if !indices_in_place {
                                for (pc, &i) in index.iter().enumerate() {
                                    unsafe { *ip.add(il.offset([pn, pc, oh, ow])) = i };
                                }
                            }
                        }
                        (_, Some((mp, ml))) => {
                            // Taps won are counted through tables of each tap's index and place in the
                            // multiplier.
                            codes.clear();
                            counts.clear();
                            let m_first = ml.offset([pn, 0, rw.start, cw.start]);
                            let (ma, mb) = (rw.step * ml.strides[2], cw.step * ml.strides[3]);
                            for a in 0..rw.taps {
                                for b in 0..cw.taps {
                                    codes.push(code + a as u64 * code_a + b as u64 * code_b);
                                    counts.push(m_first + a * ma + b * mb);
                                }
                            }
                            let taps_won = &mut tap_scratch[..];
                            taps_won.fill(0);
                            for_taps(rw.taps, cw.taps, |a, b| {
                                merge(best, taps_won, run(a, b), (a * cw.taps + b) as u32);
                            });
                            for (pc, &t) in taps_won.iter().enumerate() {
                                unsafe { *mp.add(counts[t as usize] + pc * ml.strides[1]) += 1 };
                            }
                            if let Some((ip, il)) = indices {
                                for (pc, &t) in taps_won.iter().enumerate() {
                                    let i = I::from_u64(codes[t as usize] + pc as u64 * step);
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
}

/// Calls `f(a, b)` for every tap of a `rows × cols` window but the first, in scan order.
#[inline(always)]
fn for_taps(rows: usize, cols: usize, mut f: impl FnMut(usize, usize)) {
    (1..cols).for_each(|b| f(0, b));
    for a in 1..rows {
        (0..cols).for_each(|b| f(a, b));
    }
}

/// One tap's run of channels against the best so far: where it wins ([`beats`]), its value replaces it.
/// Branch-free, so that it vectorises.
#[inline(always)]
fn merge_values<T: Element>(best: &mut [T], run: &[T]) {
    for (b, &x) in best.iter_mut().zip(run) {
        *b = if beats(x, *b) { x } else { *b };
    }
}

/// [`merge_values`], with `index` taking `code` where the tap wins.
#[inline(always)]
fn merge<T: Element, I: Copy>(best: &mut [T], index: &mut [I], run: &[T], code: I) {
    for ((b, i), &x) in best.iter_mut().zip(index.iter_mut()).zip(run) {
        let take = beats(x, *b);
        *b = if take { x } else { *b };
        *i = if take { code } else { *i };
    }
}
