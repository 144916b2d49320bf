//! Hand-written AVX-512 and AVX2 kernels for 3×3 windows at stride 2 over `f32` (ResNet's stem pooling, W1), any
//! padding and ceil mode. The generic row passes store each input row's winners and split rows into even and odd
//! columns through memory; here an output row is pooled in strips of 16 windows (two halves of 8 on AVX2), each in
//! registers. Each input row's three taps are split out (`vpermt2ps`; `vshufps` and `vpermpd` on AVX2) and merged
//! into the row's winners once, the row shared by two windows (the last of one, the first of the next) is kept for
//! the next, and values and flat indices are stored straight into the outputs.
//!
//! The rule is [`beats`](maxpool_core::semantics::beats), lane by lane ([`beats_f32x16`], [`beats_f32x8`]). Taps
//! are merged in scan order within a row, and row winners in row order, so the first maximum of the first row
//! holding one wins, which is the row-major scan's winner.

use std::arch::x86_64::*;
use std::ops::Range;

use maxpool_core::semantics::{beats_f32x16, beats_f32x8, Window};
use maxpool_core::simd::{lanes_inside, low_lanes, store_bytes_avx2};
use maxpool_core::{
    as_type, as_type_mut, DType, Element, Geometry, IndexRun, Params, Simd, Winners,
};

/// Whether [`three_by_three_s2_f32`] pools these parameters: 3×3 windows, stride 2, no dilation.
fn handles(p: &Params) -> bool {
    (p.kernel, p.stride, p.dilation) == ([3, 3], [2, 2], [1, 1])
}

/// Whether [`three_by_three_s2_f32`] pools planes of `f32` with `g` at `simd`: AVX-512 or AVX2, which the CPU
/// has, windows [`handles`] takes, and a width that keeps in-window offsets within `i32`.
fn takes(simd: Simd, g: &Geometry) -> bool {
    matches!(simd, Simd::Avx512 | Simd::Avx2)
        && simd.is_available()
        && handles(g.params())
        && g.width() < 1 << 28
}

/// Whether [`three_by_three_s2_f32`] pools planes of `T` with `g` at `simd` and writes tap codes when asked
/// ([`Technique::writes_taps`](maxpool_core::Technique::writes_taps)): on AVX2. The AVX-512 kernel writes flat
/// indices only.
pub(crate) fn writes_taps<T: Element>(simd: Simd, g: &Geometry) -> bool {
    simd == Simd::Avx2 && T::DTYPE == DType::F32 && takes(simd, g)
}

/// Pools output rows `rows` of `plane` (the whole run of outputs, from its first), when `simd` is AVX-512 or AVX2
/// and the CPU has it, `T` is `f32`, the windows are ones [`handles`] takes and the width keeps in-window offsets
/// within `i32`. Returns false, doing nothing, otherwise.
pub(crate) fn three_by_three_s2_f32<T: Element>(
    simd: Simd,
    g: &Geometry,
    plane: &[T],
    rows: Range<usize>,
    out: &mut Winners<'_, T>,
) -> bool {
    let Some(plane) = as_type::<T, f32>(plane).filter(|_| takes(simd, g)) else {
        return false;
    };
    let width = g.width();
    let (ow, row_windows) = (g.out_width(), g.row_windows());
    let left = g.params().padding.left as isize;
    out.write_rows(0, rows.len(), ow, |band, values, mut indices| {
        let values = as_type_mut::<T, f32>(values).expect("T is f32");
        let band = rows.start + band.start..rows.start + band.end;
        for first in (0..ow).step_by(16 * BLOCK) {
            let n = (ow - first).div_ceil(16).min(BLOCK);
            let mut strips = [Strip::new(0, 0, width); BLOCK];
            for (s, strip) in strips.iter_mut().enumerate().take(n) {
                let j = first + 16 * s;
                *strip = Strip::new(2 * j as isize - left, (ow - j).min(16), width);
            }
            let (strips, values) = (&strips[..n], &mut values[first..]);
            let indices = indices.as_mut().map(|ix| ix.rest(first));
            // SAFETY: the CPU has the level (checked above).
            unsafe {
                if simd == Simd::Avx512 {
                    let indices = indices.map(|ix| match ix {
                        IndexRun::Flat(ix) => ix,
                        IndexRun::Taps(_) => unreachable!("tap codes are written at AVX2 only"),
                    });
                    pool_block(
                        strips,
                        plane,
                        row_windows.range(band.clone()),
                        values,
                        indices,
                        ow,
                    )
                } else {
                    // Each window with which of its taps its first row inside the input is.
                    let windows = band.clone().map(|o| {
                        let w = row_windows.get(o);
                        (w, row_windows.first_tap(o, &w))
                    });
                    pool_block_avx2(strips, plane, windows, values, indices, ow)
                }
            };
        }
    });
    true
}

/// The most strips (of 16 windows) pooled together, row by row, whose state is kept on the stack: wider output
/// rows are pooled in blocks of columns.
const BLOCK: usize = 16;

/// Pools the windows of `strips` (consecutive, at most [`BLOCK`]) in each output row of `row_windows`, row by row:
/// output row `q`'s winners go to `values[q · stride..]` and `indices`, likewise. Each strip's last row of winners
/// is kept for the next output row, which starts there when windows overlap. Row by row, the input is read and
/// the outputs written in order, as the prefetchers expect: carrying each strip down the plane instead measured
/// slower on W1 (see `BENCHMARKS.md`).
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
fn pool_block(
    strips: &[Strip],
    plane: &[f32],
    row_windows: impl Iterator<Item = Window>,
    values: &mut [f32],
    mut indices: Option<&mut [i64]>,
    stride: usize,
) {
    let mut kept = [(_mm512_setzero_ps(), _mm512_setzero_si512()); BLOCK];
    let mut kept_row = None;
    for (q, w) in row_windows.enumerate() {
        for (s, (strip, kept)) in strips.iter().zip(&mut kept).enumerate() {
            let out = (&mut *values, indices.as_deref_mut(), q * stride + 16 * s);
            strip.window(plane, &w, kept_row, kept, out);
        }
        kept_row = Some(w.start + w.taps - 1);
    }
}

/// [`pool_block`] on AVX2, each strip as two halves of 8 windows.
#[target_feature(enable = "avx2,fma,bmi1,bmi2,lzcnt,popcnt")]
fn pool_block_avx2(
    strips: &[Strip],
    plane: &[f32],
    row_windows: impl Iterator<Item = (Window, usize)>,
    values: &mut [f32],
    mut indices: Option<IndexRun<'_>>,
    stride: usize,
) {
    let mut halves = [[Half::NONE; 2]; BLOCK];
    for (strip, halves) in strips.iter().zip(&mut halves) {
        *halves = [strip.half(0), strip.half(1)];
    }
    let zero = (_mm256_setzero_ps(), _mm256_setzero_si256());
    let mut kept = [[zero; 2]; BLOCK];
    let mut kept_row = None;
    for (q, (w, first_tap)) in row_windows.enumerate() {
        for (s, strip) in strips.iter().enumerate() {
            let at = q * stride + 16 * s;
            // Each half is its own copy of the code (`H`), in registers: both at once spilled.
            let ([h0, h1], [k0, k1]) = (&halves[s], &mut kept[s]);
            let window = (&w, first_tap);
            let out = (&mut *values, indices.as_mut().map(|ix| ix.rest(0)), at);
            strip.half_window::<0>(plane, window, h0, kept_row, k0, out);
            let out = (&mut *values, indices.as_mut().map(|ix| ix.rest(0)), at);
            strip.half_window::<1>(plane, window, h1, kept_row, k1, out);
        }
        kept_row = Some(w.start + w.taps - 1);
    }
}

/// A column strip: `k` (at most 16) consecutive windows of an output row, the first starting at input column
/// `c0` (negative in the left padding), and which of their taps lie inside the input.
#[derive(Clone, Copy)]
struct Strip {
    c0: isize,
    k: usize,
    width: usize,
    /// Which of the 32 lanes from `c0` (taps 0 and 1, interleaved) and of the 32 from `c0 + 2` (tap 2 at even
    /// lanes) to load: the lanes inside the row that the windows use. Each kernel cuts them into its vectors.
    loads: [u32; 2],
    /// Per tap, the windows whose tap lies inside the input.
    inside: [u16; 3],
    /// Whether every tap of every window is inside.
    whole: bool,
}

impl Strip {
    fn new(c0: isize, k: usize, width: usize) -> Strip {
        // Lanes i in [lo, hi) with 0 <= start + step·i < width, within the first n.
        let lanes =
            |start: isize, step: usize, n: usize| lanes_inside(start, step, n, width) as u32;
        let (a, b) = (
            lanes(c0, 1, 2 * k),
            lanes(c0 + 2, 1, (2 * k).saturating_sub(1)),
        );
        let inside = [0, 1, 2].map(|t| lanes(c0 + t, 2, k) as u16);
        Strip {
            c0,
            k,
            width,
            loads: [a, b],
            inside,
            whole: inside.iter().all(|&m| m == low_lanes(k) as u16),
        }
    }

    /// The strip's windows over the rows `w` covers: merges the rows' winners in order, taking the winners of
    /// `kept_row` from `kept`, and keeping the last row's there; stores the winners at `at` in `values` and
    /// `indices`.
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
    #[inline]
    fn window(
        &self,
        plane: &[f32],
        w: &Window,
        kept_row: Option<usize>,
        kept: &mut (__m512, __m512i),
        (values, indices, at): (&mut [f32], Option<&mut [i64]>, usize),
    ) {
        let (k, width) = (self.k, self.width);
        let lanes = low_lanes(k) as u16;
        let row_step = _mm512_set1_epi32(width as i32);
        // The window's rows merged in order; `offset`: the winner's offset from (w.start, c0 + 2·lane).
        let (mut best, mut offset) = (_mm512_setzero_ps(), _mm512_setzero_si512());
        let mut down = _mm512_setzero_si512();
        for a in 0..w.taps {
            let r = w.start + a;
            let (v, o) = if kept_row == Some(r) {
                *kept
            } else {
                self.row_winners(&plane[r * width..(r + 1) * width])
            };
            if a + 1 == w.taps {
                *kept = (v, o);
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
        assert!(at + k <= values.len());
        // SAFETY: lanes 0..k from `at` lie inside `values` (checked; k >= 1, so `at` does too); masked-off lanes
        // are not written.
        // Whole vectors without masks: masked stores are slow on AMD's CPUs.
        let full = k == 16;
        unsafe {
            let to = values.as_mut_ptr().add(at);
            if full {
                _mm512_storeu_ps(to, best)
            } else {
                _mm512_mask_storeu_ps(to, lanes, best)
            }
        };
        if let Some(indices) = indices {
            assert!(at + k <= indices.len());
            let lane_offsets =
                _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
            let base = _mm512_set1_epi64((w.start * width) as i64 + self.c0 as i64);
            let offset = _mm512_add_epi32(offset, lane_offsets);
            let lo = _mm512_add_epi64(base, _mm512_cvtepi32_epi64(_mm512_castsi512_si256(offset)));
            let hi = _mm512_add_epi64(
                base,
                _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64::<1>(offset)),
            );
            // SAFETY: as for `values`. The second half's pointer lies past the end when k < 8, when its mask is
            // empty: wrapping arithmetic.
            unsafe {
                let to = indices.as_mut_ptr().add(at);
                if full {
                    _mm512_storeu_si512(to.cast(), lo);
                    _mm512_storeu_si512(to.add(8).cast(), hi);
                } else {
                    _mm512_mask_storeu_epi64(to, lanes as u8, lo);
                    _mm512_mask_storeu_epi64(to.wrapping_add(8), (lanes >> 8) as u8, hi);
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
        let [a, b] = self.loads;
        let [a_lo, a_hi, b_lo, b_hi] = [a as u16, (a >> 16) as u16, b as u16, (b >> 16) as u16];
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

/// One half (8 windows) of a strip's masks as AVX2 vectors, for `vmaskmovps` and blends: all ones in the lanes
/// that are set.
#[derive(Clone, Copy)]
struct Half {
    /// Whether all four loads lie inside the row, so that plain loads can take them.
    plain: bool,
    /// Whether the half holds 8 windows, so that plain stores can write them (masked stores are microcoded on
    /// AMD's CPUs).
    full: bool,
    loads: [__m256i; 4],
    inside: [__m256; 3],
    windows: __m256i,
}

impl Half {
    /// No lanes: a placeholder.
    // SAFETY: all-zero bytes are valid vectors (and `false`).
    const NONE: Half = unsafe { std::mem::zeroed() };
}

impl Strip {
    /// The masks of half `h` of the strip (windows `8h..8h + 8`) as AVX2 vectors.
    #[target_feature(enable = "avx2,fma,bmi1,bmi2,lzcnt,popcnt")]
    #[inline]
    fn half(&self, h: u32) -> Half {
        let select = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
        let bits = |b: u32| {
            _mm256_cmpeq_epi32(
                _mm256_and_si256(_mm256_set1_epi32(b as i32), select),
                select,
            )
        };
        let [a, b] = self.loads;
        let c0 = self.c0 + 16 * h as isize;
        // The row passes keep windows in `vshufps`' order (`ORDER`): lane l holds window ORDER[l].
        let shuffled = _mm256_setr_epi32(1, 2, 16, 32, 4, 8, 64, 128);
        let [t0, t1, t2] = self.inside.map(|m| {
            let b = _mm256_set1_epi32((u32::from(m) >> (8 * h)) as i32);
            _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_and_si256(b, shuffled), shuffled))
        });
        Half {
            plain: c0 >= 0 && c0 + 18 <= self.width as isize,
            full: self.k >= 8 * (h as usize + 1),
            loads: [
                bits(a >> (16 * h)),
                bits(a >> (16 * h + 8)),
                bits(b >> (16 * h)),
                bits(b >> (16 * h + 8)),
            ],
            inside: [t0, t1, t2],
            windows: bits(low_lanes(self.k) >> (8 * h)),
        }
    }

    /// Half `H` (windows `8H..8H + 8`) of [`Strip::window`] on AVX2: merges window `w`'s rows, taking
    /// the kept row's winners in `kept` when it is `kept_row` and keeping its last row's there, and stores the
    /// winners at `at + 8H` in `values` and `indices`. `first_tap`: which of the window's rows `w.start` is
    /// ([`Windows::first_tap`](maxpool_core::semantics::Windows::first_tap)), for tap codes.
    #[target_feature(enable = "avx2,fma,bmi1,bmi2,lzcnt,popcnt")]
    #[inline]
    fn half_window<const H: usize>(
        &self,
        plane: &[f32],
        (w, first_tap): (&Window, usize),
        half: &Half,
        kept_row: Option<usize>,
        kept: &mut (__m256, __m256i),
        (values, indices, at): (&mut [f32], Option<IndexRun<'_>>, usize),
    ) {
        let width = self.width;
        // `offset` counts a row down as `width` elements for flat indices, and as the kernel's 3 taps for codes.
        let taps = matches!(indices, Some(IndexRun::Taps(_)));
        let step = if taps { 3 } else { width };
        let row_step = _mm256_set1_epi32(step as i32);
        assert!(at + self.k <= values.len());
        assert!(indices.as_ref().is_none_or(|ix| at + self.k <= ix.len()));
        let (mut best, mut offset) = (_mm256_setzero_ps(), _mm256_setzero_si256());
        let mut down = _mm256_set1_epi32(if taps { 3 * first_tap as i32 } else { 0 });
        for a in 0..w.taps {
            let r = w.start + a;
            let (v, o) = if kept_row == Some(r) {
                *kept
            } else {
                self.row_winners_avx2(&plane[r * width..(r + 1) * width], half, 16 * H)
            };
            if a + 1 == w.taps {
                *kept = (v, o);
            }
            let o = _mm256_add_epi32(o, down);
            if a == 0 {
                (best, offset) = (v, o);
            } else {
                let take = beats_f32x8(v, best);
                best = _mm256_blendv_ps(best, v, take);
                offset = _mm256_castps_si256(_mm256_blendv_ps(
                    _mm256_castsi256_ps(offset),
                    _mm256_castsi256_ps(o),
                    take,
                ));
            }
            down = _mm256_add_epi32(down, row_step);
        }
        // The windows in order (see `row_winners_avx2`).
        let order = |v: __m256| {
            _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(v)))
        };
        let best = order(best);
        let offset = _mm256_castps_si256(order(_mm256_castsi256_ps(offset)));
        let at = at + 8 * H;
        // SAFETY: the strip's windows 0..k from the first `at` lie inside `values` and `indices` (checked), and
        // this half's mask keeps only those of them it holds (windows 8H..k); masked-off lanes are not written. The
        // pointers are formed with wrapping arithmetic: where they lie past the end (the second half of a strip of
        // fewer than 8 windows; the upper four indices of a half holding fewer than 4), their masks are empty.
        // A full half's 8 windows are all inside `values`, so a plain store writes only them.
        unsafe {
            let to = values.as_mut_ptr().wrapping_add(at);
            if half.full {
                _mm256_storeu_ps(to, best)
            } else {
                _mm256_maskstore_ps(to, half.windows, best)
            }
        };
        if let Some(IndexRun::Taps(taps)) = indices {
            let k = self.k.saturating_sub(8 * H).min(8);
            // SAFETY: the strip's windows 0..k from `at` lie inside `taps` (checked), this half's k of them too.
            unsafe { store_bytes_avx2(offset, taps.as_mut_ptr().wrapping_add(at), k) };
        } else if let Some(IndexRun::Flat(indices)) = indices {
            let base = _mm256_set1_epi64x((w.start * width) as i64 + self.c0 as i64);
            let columns = _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14);
            let offset = _mm256_add_epi32(
                offset,
                _mm256_add_epi32(columns, _mm256_set1_epi32(16 * H as i32)),
            );
            let (lo, hi) = (
                _mm256_add_epi64(base, _mm256_cvtepi32_epi64(_mm256_castsi256_si128(offset))),
                _mm256_add_epi64(
                    base,
                    _mm256_cvtepi32_epi64(_mm256_extracti128_si256::<1>(offset)),
                ),
            );
            let (mask_lo, mask_hi) = (
                _mm256_cvtepi32_epi64(_mm256_castsi256_si128(half.windows)),
                _mm256_cvtepi32_epi64(_mm256_extracti128_si256::<1>(half.windows)),
            );
            // SAFETY: as for `values`.
            unsafe {
                let to = indices.as_mut_ptr().wrapping_add(at);
                if half.full {
                    _mm256_storeu_si256(to.cast(), lo);
                    _mm256_storeu_si256(to.wrapping_add(4).cast(), hi);
                } else {
                    _mm256_maskstore_epi64(to, mask_lo, lo);
                    _mm256_maskstore_epi64(to.wrapping_add(4), mask_hi, hi);
                }
            }
        }
    }

    /// [`Strip::row_winners`] on AVX2, for one half of the strip: its windows start at column `c0 + from`.
    #[target_feature(enable = "avx2,fma,bmi1,bmi2,lzcnt,popcnt")]
    #[inline]
    fn row_winners_avx2(&self, row: &[f32], half: &Half, from: usize) -> (__m256, __m256i) {
        assert_eq!(row.len(), self.width);
        let [a_lo, a_hi, b_lo, b_hi] = half.loads;
        // SAFETY: plain loads only when the 18 elements from `p` lie inside the row (`Half::plain`); otherwise the
        // loads' masks keep only lanes inside the row (`Strip::new`), the others are not read, and the pointers
        // to them are formed with wrapping arithmetic.
        let [a0, a1, b0, b1] = unsafe {
            let p = row.as_ptr().wrapping_offset(self.c0).wrapping_add(from);
            if half.plain {
                [p, p.add(8), p.add(2), p.add(10)].map(|p| _mm256_loadu_ps(p))
            } else {
                [
                    _mm256_maskload_ps(p, a_lo),
                    _mm256_maskload_ps(p.wrapping_add(8), a_hi),
                    _mm256_maskload_ps(p.wrapping_add(2), b_lo),
                    _mm256_maskload_ps(p.wrapping_add(10), b_hi),
                ]
            }
        };
        // Even and odd columns: vshufps takes them pairwise within 128-bit lanes, which leaves the windows in
        // the order [0, 1, 4, 5, 2, 3, 6, 7]. They stay so until the window's rows are merged
        // ([`Strip::half_window`] puts them in order once), as the masks in `half` expect.
        let taps = [
            _mm256_shuffle_ps::<0b10_00_10_00>(a0, a1),
            _mm256_shuffle_ps::<0b11_01_11_01>(a0, a1),
            _mm256_shuffle_ps::<0b10_00_10_00>(b0, b1),
        ];
        let mut best = taps[0];
        let mut offset = _mm256_setzero_si256();
        let all = _mm256_castsi256_ps(_mm256_set1_epi32(-1));
        let mut seen = half.inside[0];
        for (t, &candidate) in taps.iter().enumerate().skip(1) {
            let mut take = beats_f32x8(candidate, best);
            if !self.whole {
                // A tap outside the input never wins; the first inside one is taken whatever it holds.
                take = _mm256_and_ps(_mm256_or_ps(take, _mm256_xor_ps(seen, all)), half.inside[t]);
                seen = _mm256_or_ps(seen, half.inside[t]);
            }
            best = _mm256_blendv_ps(best, candidate, take);
            offset = _mm256_castps_si256(_mm256_blendv_ps(
                _mm256_castsi256_ps(offset),
                _mm256_castsi256_ps(_mm256_set1_epi32(t as i32)),
                take,
            ));
        }
        (best, offset)
    }
}
