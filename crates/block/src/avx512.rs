//! A hand-written AVX-512 kernel for the commonest tiling: 2×2 blocks of `f32` (VGG's and most CNNs' pooling).
//! The generic loops leave it to LLVM to split each row into the blocks' even and odd columns, which it does
//! with scalar shuffles; here one `vpermt2ps` per 16 blocks does it, the running winner stays in registers,
//! and values and flat indices are stored straight into the outputs.
//!
//! The rule is [`beats`](maxpool_core::semantics::beats), lane by lane ([`beats_f32x16`]). Candidates are merged in
//! scan order, top row then bottom, left then right, so the first maximum (and the first NaN) wins.

use std::arch::x86_64::*;
use std::ops::Range;

use maxpool_core::semantics::{beats_f32x16, flat_index};
use maxpool_core::simd::low_lanes;
use maxpool_core::{as_type, as_type_mut, Element, Geometry, Simd, Winners};

/// The whole 2×2 blocks in output rows `rows` and columns `cols`, when `T` is `f32`, by the AVX-512 kernel; the
/// first output of row `i` goes to `start(i)`. Returns false, doing nothing, for other element types and when
/// the CPU lacks AVX-512. The windows must be 2×2 tiles.
#[inline(always)]
pub(crate) fn two_by_two_f32<T: Element>(
    g: &Geometry,
    plane: &[T],
    rows: Range<usize>,
    cols: Range<usize>,
    start: impl Fn(usize) -> usize,
    out: &mut Winners<'_, T>,
) -> bool {
    let Some(plane) = as_type::<T, f32>(plane).filter(|_| Simd::Avx512.is_available()) else {
        return false;
    };
    if rows.is_empty() || cols.is_empty() {
        return true;
    }
    let width = g.width();
    let (r0, c0) = (
        g.row_windows()[rows.start].start,
        g.col_windows()[cols.start].start,
    );
    let first = flat_index(r0, c0, width);
    let n = cols.len();
    let mut pool = |at: usize, rows: usize, first: usize| {
        out.write_run(start(at), rows * n, |values, indices| {
            let values = as_type_mut(values).expect("T is f32");
            // SAFETY: the CPU has AVX-512 (checked above).
            unsafe { rows_2x2_f32(&plane[first..], width, n, first as i64, values, indices) }
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
/// `indices`, both `rows · n` long, row after row. `index` is the flat index of `plane[0]`.
///
/// # Panics
/// When a block lies beyond `plane` or `values` or `indices` has the wrong length: the caller's slicing
/// guarantees neither happens.
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
pub fn rows_2x2_f32(
    plane: &[f32],
    width: usize,
    n: usize,
    index: i64,
    values: &mut [f32],
    mut indices: Option<&mut [i64]>,
) {
    if n == 0 {
        return;
    }
    for (r, values) in values.chunks_exact_mut(n).enumerate() {
        let top = &plane[2 * r * width..];
        // `match`, not `Option::map`: its closure was not inlined, and each call out of this function's target
        // features cost a `vzeroupper`.
        #[allow(clippy::manual_map)]
        let indices = match indices.as_deref_mut() {
            Some(ix) => Some(&mut ix[r * n..(r + 1) * n]),
            None => None,
        };
        let index = index + (2 * r * width) as i64;
        row_2x2_f32(top, &top[width..], index, width as i64, values, indices);
    }
}

/// The winners of a row of `values.len()` whole 2×2 blocks: block `j` covers `top[2j]`, `top[2j + 1]`,
/// `bottom[2j]`, `bottom[2j + 1]`, in that scan order. Its value goes to `values[j]` and, when `indices` is
/// given (as long as `values`), its flat index to `indices[j]`: `index` is the flat index of `top[0]`, and
/// `bottom` lies `width` elements after `top` in the plane.
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
#[inline]
fn row_2x2_f32(
    top: &[f32],
    bottom: &[f32],
    index: i64,
    width: i64,
    values: &mut [f32],
    mut indices: Option<&mut [i64]>,
) {
    let n = values.len();
    assert!(top.len() >= 2 * n && bottom.len() >= 2 * n);
    if let Some(indices) = &indices {
        assert_eq!(indices.len(), n);
    }
    let even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    let odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    // Each block's offset from `index`: twice its lane, plus one for the right column, plus `width` for the
    // bottom row.
    let lanes_lo = _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14);
    let lanes_hi = _mm512_setr_epi64(16, 18, 20, 22, 24, 26, 28, 30);
    let (one, down) = (_mm512_set1_epi64(1), _mm512_set1_epi64(width));
    let mut j = 0;
    while j < n {
        // Up to 16 blocks, from 32 elements of each row; a short last group loads and stores under masks,
        // which never touch memory outside the slices.
        let k = (n - j).min(16);
        let blocks = low_lanes(k) as u16;
        let inputs = low_lanes(2 * k);
        let (inputs_lo, inputs_hi) = (inputs as u16, (inputs >> 16) as u16);
        // SAFETY: lanes 0..2k of the loads are inside `top` and `bottom` (checked above: 2j + 2k <= 2n); the
        // masked-off lanes are not read.
        let [t0, t1, b0, b1] = unsafe {
            let (t, b) = (top.as_ptr().add(2 * j), bottom.as_ptr().add(2 * j));
            [
                _mm512_maskz_loadu_ps(inputs_lo, t),
                _mm512_maskz_loadu_ps(inputs_hi, t.add(16)),
                _mm512_maskz_loadu_ps(inputs_lo, b),
                _mm512_maskz_loadu_ps(inputs_hi, b.add(16)),
            ]
        };
        // Each row's winner, then the two rows': merging in pairs picks the same winner as merging the four in
        // scan order (the first maximum of the first row holding one), with a shorter chain of dependences.
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
        // SAFETY: lanes 0..k of `values` from j on are inside it (j + k <= n); masked-off lanes are not written.
        unsafe { _mm512_mask_storeu_ps(values.as_mut_ptr().add(j), blocks, best) };
        if let Some(indices) = indices.as_deref_mut() {
            let base = _mm512_set1_epi64(index + 2 * j as i64);
            let [lo, hi] = [(lanes_lo, 0), (lanes_hi, 8)].map(|(lanes, shift)| {
                let at = _mm512_add_epi64(base, lanes);
                let at = _mm512_mask_add_epi64(at, (right >> shift) as u8, at, one);
                _mm512_mask_add_epi64(at, (below >> shift) as u8, at, down)
            });
            // SAFETY: as for `values`; `indices` is as long as `values`.
            unsafe {
                let to = indices.as_mut_ptr().add(j);
                _mm512_mask_storeu_epi64(to, blocks as u8, lo);
                _mm512_mask_storeu_epi64(to.add(8), (blocks >> 8) as u8, hi);
            }
        }
        j += k;
    }
}

/// The winners of two candidates per lane, `a` before `b` in scan order, and the lanes `b` won.
#[target_feature(enable = "avx512f")]
fn first_max(a: __m512, b: __m512) -> (__m512, u16) {
    let take = beats_f32x16(b, a);
    (_mm512_mask_mov_ps(a, take, b), take)
}
