//! A hand-written AVX-512 kernel for 3×3 windows at stride 2 over `f32` (ResNet's stem pooling, W1), any padding
//! and ceil mode. The generic row passes store each input row's winners and split rows into even and odd
//! columns through memory; here a column strip of 16 windows is carried down the plane in registers. Each input
//! row's three taps are split out with `vpermt2ps` and merged into the row's winners once, the row shared by two
//! windows (the last of one, the first of the next) is kept for the next, and values and flat indices are stored
//! straight into the outputs.
//!
//! The rule is [`beats`](maxpool_core::semantics::beats), lane by lane ([`beats_f32x16`]). Taps are merged in scan
//! order within a row, and row winners in row order, so the first maximum of the first row holding one wins, which is
//! the row-major scan's winner.

use std::arch::x86_64::*;
use std::ops::Range;

use maxpool_core::semantics::{beats_f32x16, Window};
use maxpool_core::simd::low_lanes;
use maxpool_core::{as_type, as_type_mut, Element, Geometry, Params, Simd, Winners};

/// Whether [`three_by_three_s2_f32`] pools these parameters: 3×3 windows, stride 2, no dilation.
fn handles(p: &Params) -> bool {
    (p.kernel, p.stride, p.dilation) == ([3, 3], [2, 2], [1, 1])
}

/// Pools output rows `rows` of `plane` (the whole run of outputs, from its first), when `simd` is AVX-512 and
/// the CPU has it, `T` is `f32`, the windows are ones [`handles`] takes and the width keeps in-window offsets
/// within `i32`. Returns false, doing nothing, otherwise.
pub(crate) fn three_by_three_s2_f32<T: Element>(
    simd: Simd,
    g: &Geometry,
    plane: &[T],
    rows: Range<usize>,
    out: &mut Winners<'_, T>,
) -> bool {
    let Some(plane) = as_type::<T, f32>(plane) else {
        return false;
    };
    let width = g.width();
    if simd != Simd::Avx512 || !simd.is_available() || !handles(g.params()) || width >= 1 << 28 {
        return false;
    }
    let (ow, row_windows) = (g.out_width(), &g.row_windows()[rows.clone()]);
    let left = g.params().padding.left as isize;
    out.write_rows(0, rows.len(), ow, |band, values, mut indices| {
        let values = as_type_mut::<T, f32>(values).expect("T is f32");
        let row_windows = &row_windows[band];
        for j in (0..ow).step_by(16) {
            let strip = Strip::new(2 * j as isize - left, (ow - j).min(16), width);
            // SAFETY: the CPU has AVX-512 (checked above).
            unsafe {
                strip.pool(
                    plane,
                    row_windows,
                    &mut values[j..],
                    indices.as_deref_mut().map(|ix| &mut ix[j..]),
                    ow,
                )
            };
        }
    });
    true
}

/// A column strip: `k` (at most 16) consecutive windows of an output row, the first starting at input column
/// `c0` (negative in the left padding), and which of their taps lie inside the input.
struct Strip {
    c0: isize,
    k: usize,
    width: usize,
    /// Which of the two vectors from `c0` (taps 0 and 1, interleaved) and of the two from `c0 + 2` (tap 2 at
    /// even lanes) to load: the lanes inside the row that the windows use.
    loads: [u16; 4],
    /// Per tap, the windows whose tap lies inside the input.
    inside: [u16; 3],
    /// Whether every tap of every window is inside.
    whole: bool,
}

impl Strip {
    fn new(c0: isize, k: usize, width: usize) -> Strip {
        let width = width as isize;
        // Lanes i in [lo, hi) with 0 <= start + step·i < width, within the first n.
        let lanes = |start: isize, step: usize, n: usize| {
            let up_to = |x: isize| (x.max(0) as usize).div_ceil(step).min(n);
            let (lo, hi) = (up_to(-start), up_to(width - start));
            low_lanes(hi) & !low_lanes(lo.min(hi))
        };
        let (a, b) = (lanes(c0, 1, 2 * k), lanes(c0 + 2, 1, 2 * k - 1));
        let inside = [0, 1, 2].map(|t| lanes(c0 + t, 2, k) as u16);
        Strip {
            c0,
            k,
            width: width as usize,
            loads: [a as u16, (a >> 16) as u16, b as u16, (b >> 16) as u16],
            inside,
            whole: inside.iter().all(|&m| m == low_lanes(k) as u16),
        }
    }

    /// The strip's windows in each output row of `row_windows`: output row `q`'s winners go to
    /// `values[q · stride..][..k]` and `indices`, likewise.
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
    fn pool(
        &self,
        plane: &[f32],
        row_windows: &[Window],
        values: &mut [f32],
        mut indices: Option<&mut [i64]>,
        stride: usize,
    ) {
        let (k, width) = (self.k, self.width);
        let lanes = low_lanes(k) as u16;
        let lane_offsets =
            _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        let row_step = _mm512_set1_epi32(width as i32);
        // The last row's winners, kept for the next window, which starts there when windows overlap.
        let mut kept: Option<(usize, __m512, __m512i)> = None;
        for (q, w) in row_windows.iter().enumerate() {
            // The window's rows merged in order; `offset`: the winner's offset from (w.start, c0 + 2·lane).
            let (mut best, mut offset) = (_mm512_setzero_ps(), _mm512_setzero_si512());
            let mut down = _mm512_setzero_si512();
            for a in 0..w.taps {
                let r = w.start + a;
                let (v, o) = match kept {
                    Some((kr, v, o)) if kr == r => (v, o),
                    _ => self.row_winners(&plane[r * width..(r + 1) * width]),
                };
                if a + 1 == w.taps {
                    kept = Some((r, v, o));
                }
                let o = _mm512_add_epi32(o, down);
                if a == 0 {
                    (best, offset) = (v, o);
                } else {
                    let take = beats_f32x16(v, best);
                    best = _mm512_mask_mov_ps(best, take, v);
                    offset = _mm512_mask_mov_epi32(offset, take, o);
                }
                down = _mm512_add_epi32(down, row_step);
            }
            let at = q * stride;
            assert!(at + k <= values.len());
            // SAFETY: lanes 0..k from `at` lie inside `values` (checked); masked-off lanes are not written.
            unsafe { _mm512_mask_storeu_ps(values.as_mut_ptr().add(at), lanes, best) };
            if let Some(indices) = indices.as_deref_mut() {
                assert!(at + k <= indices.len());
                let base = _mm512_set1_epi64((w.start * width) as i64 + self.c0 as i64);
                let offset = _mm512_add_epi32(offset, lane_offsets);
                let lo =
                    _mm512_add_epi64(base, _mm512_cvtepi32_epi64(_mm512_castsi512_si256(offset)));
                let hi = _mm512_add_epi64(
                    base,
                    _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64::<1>(offset)),
                );
                // SAFETY: as for `values`.
                unsafe {
                    let to = indices.as_mut_ptr().add(at);
                    _mm512_mask_storeu_epi64(to, lanes as u8, lo);
                    _mm512_mask_storeu_epi64(to.add(8), (lanes >> 8) as u8, hi);
                }
            }
        }
    }

    /// The winners of the strip's windows within one input row, and each winner's column offset from its
    /// window's start (0, 1 or 2). Taps outside the row never win.
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
    #[inline]
    fn row_winners(&self, row: &[f32]) -> (__m512, __m512i) {
        let even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        let odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
        assert_eq!(row.len(), self.width);
        let [a_lo, a_hi, b_lo, b_hi] = self.loads;
        // SAFETY: the loads' masks keep only lanes inside the row (`Strip::new`); the others are not read, and
        // the pointers to them are formed with wrapping arithmetic.
        let [a0, a1, b0, b1] = unsafe {
            let p = row.as_ptr().wrapping_offset(self.c0);
            [
                _mm512_maskz_loadu_ps(a_lo, p),
                _mm512_maskz_loadu_ps(a_hi, p.wrapping_add(16)),
                _mm512_maskz_loadu_ps(b_lo, p.wrapping_add(2)),
                _mm512_maskz_loadu_ps(b_hi, p.wrapping_add(18)),
            ]
        };
        let taps = [
            _mm512_permutex2var_ps(a0, even, a1),
            _mm512_permutex2var_ps(a0, odd, a1),
            _mm512_permutex2var_ps(b0, even, b1),
        ];
        let mut best = taps[0];
        let mut offset = _mm512_setzero_si512();
        if self.whole {
            for (t, &candidate) in taps.iter().enumerate().skip(1) {
                let take = beats_f32x16(candidate, best);
                best = _mm512_mask_mov_ps(best, take, candidate);
                offset = _mm512_mask_mov_epi32(offset, take, _mm512_set1_epi32(t as i32));
            }
        } else {
            // A tap outside the input never wins; the first inside one is taken whatever it holds.
            let mut seen = self.inside[0];
            for (t, &candidate) in taps.iter().enumerate().skip(1) {
                let take = (beats_f32x16(candidate, best) | !seen) & self.inside[t];
                best = _mm512_mask_mov_ps(best, take, candidate);
                offset = _mm512_mask_mov_epi32(offset, take, _mm512_set1_epi32(t as i32));
                seen |= self.inside[t];
            }
        }
        (best, offset)
    }
}
