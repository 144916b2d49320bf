//! Hand-written AVX-512 and AVX2 kernels for the commonest tiling: 2×2 blocks of `f32` (VGG's and most CNNs' pooling).
//! The generic loops leave it to LLVM to split each row into the blocks' even and odd columns, which it does
//! with scalar shuffles; here one `vpermt2ps` per 16 blocks does it, the running winner stays in registers,
//! and values and flat indices are stored straight into the outputs.
//!
//! The rule is [`beats`](maxpool_core::semantics::beats), lane by lane ([`beats_f32x16`]). Candidates are merged in
//! scan order, top row then bottom, left then right, so the first maximum (and the first NaN) wins.

use std::arch::x86_64::*;
use std::ops::Range;

use maxpool_core::semantics::{beats_f32x16, beats_f32x8, flat_index};
use maxpool_core::simd::{low_lanes, store_bytes_avx2};
use maxpool_core::{as_type, as_type_mut, DType, Element, Geometry, IndexRun, Simd, Winners};

/// Whether [`two_by_two_f32`] pools every window of planes of `T` with `g` at `simd` and writes tap codes when
/// asked ([`Technique::writes_taps`](maxpool_core::Technique::writes_taps)): 2×2 tiles of `f32` that cover the
/// plane, no window cut by its edge, on AVX2. The AVX-512 kernel writes flat indices only.
pub(crate) fn writes_taps<T: Element>(simd: Simd, g: &Geometry) -> bool {
    simd == Simd::Avx2
        && simd.is_available()
        && T::DTYPE == DType::F32
        && g.params().kernel == [2, 2]
        && g.params().is_tiling()
        && g.interior_rows() == (0..g.out_height())
        && g.interior_cols() == (0..g.out_width())
}

/// The whole 2×2 blocks in output rows `rows` and columns `cols`, when `T` is `f32`, by the kernel for `simd`
/// (AVX-512 or AVX2); the first output of row `i` goes to `start(i)`. Returns false, doing nothing, for other
/// element types and levels and when the CPU lacks the level. The windows must be 2×2 tiles.
#[inline(always)]
pub(crate) fn two_by_two_f32<T: Element>(
    simd: Simd,
    g: &Geometry,
    plane: &[T],
    rows: Range<usize>,
    cols: Range<usize>,
    start: impl Fn(usize) -> usize,
    out: &mut Winners<'_, T>,
) -> bool {
    let wide = simd == Simd::Avx512;
    let Some(plane) = as_type::<T, f32>(plane)
        .filter(|_| matches!(simd, Simd::Avx2 | Simd::Avx512) && simd.is_available())
    else {
        return false;
    };
    if rows.is_empty() || cols.is_empty() {
        return true;
    }
    let width = g.width();
    let (r0, c0) = (
        g.row_windows().get(rows.start).start,
        g.col_windows().get(cols.start).start,
    );
    let first = flat_index(r0, c0, width);
    let n = cols.len();
    // When the blocks tile the whole plane, the kernel writes every element's count (1 for a block's winner, 0
    // for the other three) in one pass: no zeroing, no scattered counts.
    let tiles_plane = rows == (0..g.out_height())
        && 2 * rows.len() == g.height()
        && 2 * n == width
        && g.out_width() == n;
    let mut multiplier = tiles_plane.then(|| out.take_multiplier()).flatten();
    let mut pool = |at: usize, rows: usize, first: usize| {
        out.write_rows(start(at), rows, n, |band, values, indices| {
            let values = as_type_mut(values).expect("T is f32");
            let first = first + 2 * band.start * width;
            let counts = multiplier.as_deref_mut().map(|m| &mut m[first..]);
            let plane = &plane[first..];
            // SAFETY: the CPU has the level (checked above).
            unsafe {
                if wide {
                    let indices = indices.map(|ix| match ix {
                        IndexRun::Flat(ix) => ix,
                        IndexRun::Taps(_) => unreachable!("tap codes are written at AVX2 only"),
                    });
                    rows_2x2_f32(plane, width, n, first as i64, values, indices, counts)
                } else {
                    rows_2x2_f32_avx2(plane, width, n, first as i64, values, indices, counts)
                }
            }
        })
    };
    if n == g.out_width() {
        // Whole rows of blocks follow one another in the outputs: one run for all of them.
        pool(rows.start, rows.len(), first);
    } else {
        for (k, i) in rows.enumerate() {
            pool(i, 1, first + 2 * k * width);
        }
    }
    true
}

/// The winners of `rows` rows of `n` whole 2×2 blocks each, from `plane`, which starts at the first block's
/// top-left element and whose rows are `width` long: values to `values` and, when given, flat indices to
/// `indices`, both `rows · n` long, row after row. `index` is the flat index of `plane[0]`. `counts`, laid out
/// as `plane`, gets every block element's count: 1 for its block's winner, else 0.
///
/// # Panics
/// When a block lies beyond `plane` or `values` or `indices` has the wrong length: the caller's slicing
/// guarantees neither happens.
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,bmi2")]
pub fn rows_2x2_f32(
    plane: &[f32],
    width: usize,
    n: usize,
    index: i64,
    values: &mut [f32],
    mut indices: Option<&mut [i64]>,
    mut counts: Option<&mut [u32]>,
) {
    if n == 0 {
        return;
    }
    let ones = _mm512_set1_epi32(1);
    let even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    let odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    // Each block's offset from its row's first: twice its lane, plus one for the right column, plus `width`
    // for the bottom row.
    let lanes_lo = _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14);
    let lanes_hi = _mm512_setr_epi64(16, 18, 20, 22, 24, 26, 28, 30);
    let (one, down) = (_mm512_set1_epi64(1), _mm512_set1_epi64(width as i64));
    // All in this one function: a kernel called per row was not inlined, and the calls measured slower on W2
    // (see `BENCHMARKS.md`).
    for (r, values) in values.chunks_exact_mut(n).enumerate() {
        let (top, bottom, index, mut indices) =
            row_of_blocks(plane, width, n, index, r, indices.as_deref_mut());
        #[allow(clippy::manual_map)]
        let mut counts = match counts.as_deref_mut() {
            Some(c) => Some(c[2 * r * width..].split_at_mut(width)),
            None => None,
        };
        let mut j = 0;
        while j < n {
            // Up to 16 blocks, from 32 elements of each row; a short last group loads and stores under masks,
            // which never touch memory outside the slices.
            let k = (n - j).min(16);
            // Whole vectors without masks: masked stores are slow on AMD's CPUs.
            let full = k == 16;
            let blocks = low_lanes(k) as u16;
            let inputs = low_lanes(2 * k);
            let (inputs_lo, inputs_hi) = (inputs as u16, (inputs >> 16) as u16);
            // SAFETY: `top` and `bottom` are 2n long and the loads read lanes 0..2k from 2j, 2j + 2k <= 2n; the
            // masked-off lanes are not read. The second half's pointer lies past the rows' ends when 2k < 16, when
            // its mask is empty, so it is formed with wrapping arithmetic, which needs no bound.
            let [t0, t1, b0, b1] = unsafe {
                let (t, b) = (top.as_ptr().add(2 * j), bottom.as_ptr().add(2 * j));
                if full {
                    [
                        _mm512_loadu_ps(t),
                        _mm512_loadu_ps(t.add(16)),
                        _mm512_loadu_ps(b),
                        _mm512_loadu_ps(b.add(16)),
                    ]
                } else {
                    [
                        _mm512_maskz_loadu_ps(inputs_lo, t),
                        _mm512_maskz_loadu_ps(inputs_hi, t.wrapping_add(16)),
                        _mm512_maskz_loadu_ps(inputs_lo, b),
                        _mm512_maskz_loadu_ps(inputs_hi, b.wrapping_add(16)),
                    ]
                }
            };
            // Each row's winner, then the two rows': merging in pairs picks the same winner as merging the
            // four in scan order (the first maximum of the first row holding one), with a shorter chain of
            // dependences.
            let (top, right_in_top) = first_max(
                _mm512_permutex2var_ps(t0, even, t1),
                _mm512_permutex2var_ps(t0, odd, t1),
            );
            let (bottom, right_in_bottom) = first_max(
                _mm512_permutex2var_ps(b0, even, b1),
                _mm512_permutex2var_ps(b0, odd, b1),
            );
            let (best, below) = first_max(top, bottom);
            let right = (right_in_top & !below) | (right_in_bottom & below);
            assert!(j + k <= values.len());
            // SAFETY: lanes 0..k of `values` from j on are inside it (checked; j < n, so the pointer is too);
            // masked-off lanes are not written.
            unsafe {
                let to = values.as_mut_ptr().add(j);
                if full {
                    _mm512_storeu_ps(to, best)
                } else {
                    _mm512_mask_storeu_ps(to, blocks, best)
                }
            };
            if let Some(indices) = indices.as_deref_mut() {
                let base = _mm512_set1_epi64(index + 2 * j as i64);
                let [lo, hi] = [(lanes_lo, 0), (lanes_hi, 8)].map(|(lanes, shift)| {
                    let at = _mm512_add_epi64(base, lanes);
                    let at = _mm512_mask_add_epi64(at, (right >> shift) as u8, at, one);
                    _mm512_mask_add_epi64(at, (below >> shift) as u8, at, down)
                });
                assert!(j + k <= indices.len());
                // SAFETY: as for `values`. The second half's pointer lies past the end when k < 8, when its mask
                // is empty: wrapping arithmetic.
                unsafe {
                    let to = indices.as_mut_ptr().add(j);
                    if full {
                        _mm512_storeu_si512(to.cast(), lo);
                        _mm512_storeu_si512(to.add(8).cast(), hi);
                    } else {
                        _mm512_mask_storeu_epi64(to, blocks as u8, lo);
                        _mm512_mask_storeu_epi64(to.wrapping_add(8), (blocks >> 8) as u8, hi);
                    }
                }
            }
            if let Some((top, bottom)) = counts.as_mut() {
                // Each row's 32 counts: the block's bit for its left element at even positions, for its right
                // one at odd positions.
                let interleave = |left: u16, right: u16| {
                    _pdep_u32(left as u32, 0x5555_5555) | _pdep_u32(right as u32, 0xaaaa_aaaa)
                };
                let won_top = interleave(!below & !right, !below & right);
                let won_bottom = interleave(below & !right, below & right);
                for (row, won) in [(&mut **top, won_top), (&mut **bottom, won_bottom)] {
                    let (lo, hi) = (won as u16, (won >> 16) as u16);
                    let (lo, hi) = (
                        _mm512_maskz_mov_epi32(lo, ones),
                        _mm512_maskz_mov_epi32(hi, ones),
                    );
                    assert!(2 * (j + k) <= row.len());
                    // SAFETY: lanes 0..2k from 2j lie inside the row (checked); masked-off lanes are not
                    // written. The second half's pointer can lie past the row's end only when its mask is
                    // empty: wrapping arithmetic.
                    unsafe {
                        let to = row.as_mut_ptr().add(2 * j).cast::<i32>();
                        if full {
                            _mm512_storeu_si512(to.cast(), lo);
                            _mm512_storeu_si512(to.add(16).cast(), hi);
                        } else {
                            _mm512_mask_storeu_epi32(to, inputs_lo, lo);
                            _mm512_mask_storeu_epi32(to.wrapping_add(16), inputs_hi, hi);
                        }
                    }
                }
            }
            j += k;
        }
    }
}

/// [`rows_2x2_f32`] for AVX2, 8 blocks at a time: `vshufps` pairs and a lane permute split the columns, and
/// masked loads and stores cover the short last group.
#[target_feature(enable = "avx2,fma,bmi1,bmi2,lzcnt,popcnt")]
pub fn rows_2x2_f32_avx2(
    plane: &[f32],
    width: usize,
    n: usize,
    index: i64,
    values: &mut [f32],
    indices: Option<IndexRun<'_>>,
    mut counts: Option<&mut [u32]>,
) {
    if n == 0 {
        return;
    }
    let (mut indices, mut taps) = match indices {
        Some(IndexRun::Flat(ix)) => (Some(ix), None),
        Some(IndexRun::Taps(t)) => (None, Some(t)),
        None => (None, None),
    };
    let iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    // Lanes 0..count of 8, as a mask vector for maskload and maskstore.
    let first = |count: usize| _mm256_cmpgt_epi32(_mm256_set1_epi32(count.min(8) as i32), iota);
    let lanes_lo = _mm256_setr_epi64x(0, 2, 4, 6);
    let lanes_hi = _mm256_setr_epi64x(8, 10, 12, 14);
    let down = _mm256_set1_epi64x(width as i64);
    let (ones, twos) = (_mm256_set1_epi32(1), _mm256_set1_epi32(2));
    for (r, values) in values.chunks_exact_mut(n).enumerate() {
        let (top, bottom, index, mut indices) =
            row_of_blocks(plane, width, n, index, r, indices.as_deref_mut());
        #[allow(clippy::manual_map)]
        let mut counts = match counts.as_deref_mut() {
            Some(c) => Some(c[2 * r * width..].split_at_mut(width)),
            None => None,
        };
        #[allow(clippy::manual_map)]
        let mut taps = match taps.as_deref_mut() {
            Some(t) => Some(&mut t[r * n..(r + 1) * n]),
            None => None,
        };
        let mut j = 0;
        while j < n {
            // A short last group of a row of at least 8 blocks is taken as the row's last 8 instead, which
            // overlap the group before: their outputs are written twice, alike.
            if n - j < 8 && n >= 8 {
                j = n - 8;
            }
            let k = (n - j).min(8);
            // Whole vectors are loaded and stored without masks: masked stores are slow on AMD's CPUs
            // (microcoded on Zen 2 and 3).
            let full = k == 8;
            let (inputs_lo, inputs_hi) = (first(2 * k), first((2 * k).saturating_sub(8)));
            // SAFETY: `top` and `bottom` are 2n long and the loads read lanes 0..2k from 2j, 2j + 2k <= 2n; the
            // masked-off lanes are not read. The second half's pointer lies past the rows' ends when 2k < 8, when
            // its mask is empty, so it is formed with wrapping arithmetic, which needs no bound.
            let [t0, t1, b0, b1] = unsafe {
                let (t, b) = (top.as_ptr().add(2 * j), bottom.as_ptr().add(2 * j));
                if full {
                    [
                        _mm256_loadu_ps(t),
                        _mm256_loadu_ps(t.add(8)),
                        _mm256_loadu_ps(b),
                        _mm256_loadu_ps(b.add(8)),
                    ]
                } else {
                    [
                        _mm256_maskload_ps(t, inputs_lo),
                        _mm256_maskload_ps(t.wrapping_add(8), inputs_hi),
                        _mm256_maskload_ps(b, inputs_lo),
                        _mm256_maskload_ps(b.wrapping_add(8), inputs_hi),
                    ]
                }
            };
            // Even and odd columns: vshufps takes them pairwise within 128-bit lanes; the permute puts the
            // lanes in order.
            let split = |a: __m256, b: __m256| {
                let order = |v: __m256| {
                    _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(v)))
                };
                (
                    order(_mm256_shuffle_ps::<0b10_00_10_00>(a, b)),
                    order(_mm256_shuffle_ps::<0b11_01_11_01>(a, b)),
                )
            };
            let max = |a: __m256, b: __m256| {
                let take = beats_f32x8(b, a);
                (_mm256_blendv_ps(a, b, take), take)
            };
            let (te, to) = split(t0, t1);
            let (be, bo) = split(b0, b1);
            let (top, right_in_top) = max(te, to);
            let (bottom, right_in_bottom) = max(be, bo);
            let (best, below) = max(top, bottom);
            let right = _mm256_blendv_ps(right_in_top, right_in_bottom, below);
            let blocks = first(k);
            assert!(j + k <= values.len());
            // SAFETY: lanes 0..k of `values` from j on are inside it (checked; j < n, so the pointer is too);
            // masked-off lanes are not written.
            unsafe {
                let to = values.as_mut_ptr().add(j);
                if full {
                    _mm256_storeu_ps(to, best)
                } else {
                    _mm256_maskstore_ps(to, blocks, best)
                }
            };
            if let Some(taps) = taps.as_deref_mut() {
                // Tap `2·below + right` of the block's four, from the all-ones lanes.
                let code = _mm256_or_si256(
                    _mm256_and_si256(_mm256_castps_si256(right), ones),
                    _mm256_and_si256(_mm256_castps_si256(below), twos),
                );
                assert!(j + k <= taps.len());
                // SAFETY: lanes 0..k from j lie inside `taps` (checked).
                unsafe { store_bytes_avx2(code, taps.as_mut_ptr().add(j), k) };
            }
            if let Some(indices) = indices.as_deref_mut() {
                let base = _mm256_set1_epi64x(index + 2 * j as i64);
                let widen = |m: __m256, half: i32| {
                    let m = _mm256_castps_si256(m);
                    let m = if half == 0 {
                        _mm256_castsi256_si128(m)
                    } else {
                        _mm256_extracti128_si256::<1>(m)
                    };
                    _mm256_cvtepi32_epi64(m)
                };
                let at = |lanes: __m256i, half: i32| {
                    // All-ones lanes are -1: subtracting adds the right column's 1.
                    let at = _mm256_sub_epi64(_mm256_add_epi64(base, lanes), widen(right, half));
                    _mm256_add_epi64(at, _mm256_and_si256(widen(below, half), down))
                };
                let (lo, hi) = (at(lanes_lo, 0), at(lanes_hi, 1));
                let (mask_lo, mask_hi) = (
                    _mm256_cvtepi32_epi64(_mm256_castsi256_si128(blocks)),
                    _mm256_cvtepi32_epi64(_mm256_extracti128_si256::<1>(blocks)),
                );
                assert!(j + k <= indices.len());
                // SAFETY: as for `values`. The second half's pointer lies past the end when k < 4, when its mask
                // is empty: wrapping arithmetic.
                unsafe {
                    let to = indices.as_mut_ptr().add(j);
                    if full {
                        _mm256_storeu_si256(to.cast(), lo);
                        _mm256_storeu_si256(to.add(4).cast(), hi);
                    } else {
                        _mm256_maskstore_epi64(to, mask_lo, lo);
                        _mm256_maskstore_epi64(to.wrapping_add(4), mask_hi, hi);
                    }
                }
            }
            if let Some((top, bottom)) = counts.as_mut() {
                // Each block's four counts, 1 for its winner and 0 for the others, from the all-ones lanes of
                // `right` and `below`; then each row's 16, left and right elements interleaved.
                let (right, below) = (_mm256_castps_si256(right), _mm256_castps_si256(below));
                let won_top = (
                    _mm256_andnot_si256(_mm256_or_si256(right, below), ones),
                    _mm256_and_si256(_mm256_andnot_si256(below, right), ones),
                );
                let won_bottom = (
                    _mm256_and_si256(_mm256_andnot_si256(right, below), ones),
                    _mm256_and_si256(_mm256_and_si256(right, below), ones),
                );
                for (row, (left, right)) in [(&mut **top, won_top), (&mut **bottom, won_bottom)] {
                    // unpack interleaves within 128-bit lanes: blocks 0-1 and 4-5, then 2-3 and 6-7.
                    let (a, b) = (
                        _mm256_unpacklo_epi32(left, right),
                        _mm256_unpackhi_epi32(left, right),
                    );
                    let (lo, hi) = (
                        _mm256_permute2x128_si256::<0x20>(a, b),
                        _mm256_permute2x128_si256::<0x31>(a, b),
                    );
                    assert!(2 * (j + k) <= row.len());
                    // SAFETY: lanes 0..2k from 2j lie inside the row (checked); masked-off lanes are not
                    // written. The second half's pointer can lie past the row's end only when its mask is
                    // empty: wrapping arithmetic.
                    unsafe {
                        let to = row.as_mut_ptr().add(2 * j).cast::<i32>();
                        if full {
                            _mm256_storeu_si256(to.cast(), lo);
                            _mm256_storeu_si256(to.add(8).cast(), hi);
                        } else {
                            _mm256_maskstore_epi32(to, inputs_lo, lo);
                            _mm256_maskstore_epi32(to.wrapping_add(8), inputs_hi, hi);
                        }
                    }
                }
            }
            j += k;
        }
    }
}

/// Row `r` of `n` blocks: its top and bottom input rows (block j covers top[2j], top[2j + 1], bottom[2j],
/// bottom[2j + 1], in that scan order), the flat index of its first element, and its outputs' indices.
#[inline(always)]
fn row_of_blocks<'a>(
    plane: &'a [f32],
    width: usize,
    n: usize,
    index: i64,
    r: usize,
    indices: Option<&'a mut [i64]>,
) -> (&'a [f32], &'a [f32], i64, Option<&'a mut [i64]>) {
    #[allow(clippy::manual_map)]
    let indices = match indices {
        // `match`, not `Option::map`: its closure was not inlined into the kernels, and each call out of their
        // target features cost a `vzeroupper`.
        Some(ix) => Some(&mut ix[r * n..(r + 1) * n]),
        None => None,
    };
    (
        &plane[2 * r * width..][..2 * n],
        &plane[(2 * r + 1) * width..][..2 * n],
        index + (2 * r * width) as i64,
        indices,
    )
}

/// The winners of two candidates per lane, `a` before `b` in scan order, and the lanes `b` won.
#[target_feature(enable = "avx512f")]
fn first_max(a: __m512, b: __m512) -> (__m512, u16) {
    let take = beats_f32x16(b, a);
    (_mm512_mask_mov_ps(a, take, b), take)
}
