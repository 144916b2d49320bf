//! The channels-last kernel: for an input whose channels are contiguous (NHWC, and any layout with a channel
//! stride of 1), each window tap is one run of C elements, so every channel's winner comes from the same
//! element-wise compare and select over the run, with no gathering of planes and no shuffles. Threads split
//! (n, output row) pairs, so a batch of one still uses every thread; with the multiplier they split images,
//! whose counts windows of neighbouring rows share.
//!
//! Written once for every element type, in loops the compiler vectorises; the winners follow
//! [`beats`](crate::semantics::beats), the indices [`IndexFormat::encode`].

use std::ops::Range;

use crate::element::Element;
use crate::engine::Parties;
use crate::error::{Error, Result};
use crate::geometry::Geometry;
use crate::semantics::beats;
use crate::simd::Simd;
use crate::strided::{Targets, TensorOutputs};
use crate::technique::try_reserve;
use crate::tensor::{Layout, TensorRef};
use crate::threads::Team;

/// Whether the kernel can pool `layout` with `g`: its channels are contiguous, there are several of them, and
/// a window's taps can be numbered in a `u32`.
pub(crate) fn pools(g: &Geometry, layout: &Layout) -> bool {
    let [kh, kw] = g.params().kernel;
    layout.shape[1] > 1
        && layout.strides[1] == 1
        && kh
            .checked_mul(kw)
            .is_some_and(|taps| u32::try_from(taps).is_ok())
}

/// Pools a checked call ([`crate::strided`]'s checks) of at least one plane that the kernel [`pools`].
pub(crate) fn forward<T: Element>(
    g: &Geometry,
    _simd: Simd,
    threads: usize,
    input: TensorRef<'_, T>,
    out: TensorOutputs<'_, T>,
) -> Result<()> {
    let layout = *input.layout();
    let [n, c, h, w] = layout.shape;
    let (out_h, out_w) = (g.out_height(), g.out_width());
    let format = out.index_format;
    let targets = Targets::of(out);
    let counting = targets.multiplier.is_some();
    // With the multiplier, whole images: windows of neighbouring rows can share a winner, whose count must not
    // race.
    let units = if counting { n } else { n * out_h };
    let team = Team::new(threads, units);
    let reserve = || -> Result<_> {
        let what = "the channels-last kernel's row of winners";
        let (mut best, mut taps) = (Vec::new(), Vec::new());
        try_reserve(&mut best, c, what)?;
        try_reserve(&mut taps, c, what)?;
        best.resize(c, T::default());
        taps.resize(c, 0u32);
        Ok((best, taps))
    };
    let parties = Parties::reserve(&team, reserve)?;
    let targets = &targets;
    let shape = layout.shape;
    let ran = team.run(units, &|units: Range<usize>, party: usize| {
        let mut guard = parties.lock(party);
        let (best, taps) = &mut *guard;
        for unit in units {
            let (pn, rows) = if counting {
                (unit, 0..out_h)
            } else {
                (unit / out_h, unit % out_h..unit % out_h + 1)
            };
            // SAFETY (every block below): the call was checked, so each offset is one of its tensor's elements,
            // the outputs' elements are distinct and overlap nothing, and this unit's rows (or image) are this
            // thread's alone.
            if let Some((p, l)) = targets.multiplier {
                for pc in 0..c {
                    for row in 0..h {
                        for col in 0..w {
                            unsafe { *p.add(l.offset([pn, pc, row, col])) = 0 };
                        }
                    }
                }
            }
            for oh in rows {
                let rw = g.row_windows().get(oh);
                for ow in 0..out_w {
                    let cw = g.col_windows().get(ow);
                    let mut tap = 0u32;
                    for row in rw.positions() {
                        for col in cw.positions() {
                            let run = unsafe {
                                std::slice::from_raw_parts(
                                    input.as_ptr().add(layout.offset([pn, 0, row, col])),
                                    c,
                                )
                            };
                            if tap == 0 {
                                best.copy_from_slice(run);
                                taps.fill(0);
                            } else {
                                merge_run(best, taps, run, tap);
                            }
                            tap += 1;
                        }
                    }
                    let (vp, vl) = targets.values;
                    for (pc, &v) in best.iter().enumerate() {
                        unsafe { *vp.add(vl.offset([pn, pc, oh, ow])) = v };
                    }
                    if targets.indices.is_none() && !counting {
                        continue;
                    }
                    for (pc, &t) in taps.iter().enumerate() {
                        let (a, b) = (t as usize / cw.taps, t as usize % cw.taps);
                        let (row, col) = (rw.start + a * rw.step, cw.start + b * cw.step);
                        if let Some((target, l)) = targets.indices {
                            let v = format.encode(g, shape, [pn, pc, oh, ow], row * w + col);
                            unsafe { target.write(l.offset([pn, pc, oh, ow]), v) };
                        }
                        if let Some((p, l)) = targets.multiplier {
                            unsafe { *p.add(l.offset([pn, pc, row, col])) += 1 };
                        }
                    }
                }
            }
        }
    });
    ran.map_err(Error::Internal)
}

/// One tap's run of channels against the best so far: where it wins ([`beats`]), its value and tap number
/// replace them. Branch-free, so that it vectorises.
#[inline(always)]
fn merge_run<T: Element>(best: &mut [T], taps: &mut [u32], run: &[T], tap: u32) {
    for ((b, t), &x) in best.iter_mut().zip(taps.iter_mut()).zip(run) {
        let take = beats(x, *b);
        *b = if take { x } else { *b };
        *t = if take { tap } else { *t };
    }
}
