//! The hand-written AVX-512 kernel for planes of 16-bit floats (NCHW), which the simd and block backends share:
//! each output row's whole windows, 32 at a time, with taps at column stride 1 or 2, compared as
//! [`order_key`](crate::order_key)s in 16-bit lanes.

use std::ops::Range;

use crate::semantics::{window_argmax, Window};
use crate::{Element, Geometry, IndexRun, Simd, Winners};

#[cfg(target_arch = "x86_64")]
use crate::simd::{low_lanes, order_keys_avx512, tap_offsets_avx512};
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// The +∞ pattern of `T` when [`rows_half`] pools its planes with `g` at `simd`: `T` a 16-bit float, AVX-512 on
/// the CPU, column stride 1 or 2, windows at most 256 taps a side, and every window's offsets from its first tap,
/// with 31 more windows' along the row, within a `u32`.
#[cfg(target_arch = "x86_64")]
fn takes_half<T: Element>(simd: Simd, g: &Geometry) -> Option<u16> {
    let p = g.params();
    let (kh, kw) = (p.kernel[0], p.kernel[1]);
    let span = ((kh - 1) * p.dilation[0]) as u64 * g.width() as u64
        + ((kw - 1) * p.dilation[1]) as u64
        + 31 * p.stride[1] as u64;
    T::KEY_INF.filter(|_| {
        simd == Simd::Avx512
            && simd.is_available()
            && matches!(p.stride[1], 1 | 2)
            && kh <= 256
            && kw <= 256
            && span <= u64::from(u32::MAX)
    })
}

/// Pools output rows `rows` of `plane` (the whole run of outputs, from its first) when `T` is a 16-bit float, the
/// level is AVX-512 (which the CPU has), the column stride 1 or 2, the kernel at most 256 taps a side and the
/// offsets within a window and 31 more along the row fit a `u32`; returns false, doing nothing, otherwise. Each
/// output row's whole windows go 32 at a time through the kernel; those padding cuts are scanned one by one.
pub fn rows_half<T: Element>(
    simd: Simd,
    g: &Geometry,
    plane: &[T],
    rows: Range<usize>,
    out: &mut Winners<'_, T>,
) -> bool {
    #[cfg(not(target_arch = "x86_64"))]
    return false;
    #[cfg(target_arch = "x86_64")]
    let Some(inf) = takes_half::<T>(simd, g) else {
        return false;
    };
    let p = g.params();
    let (width, ow) = (g.width(), g.out_width());
    let (row_windows, cols, interior) = (g.row_windows(), g.col_windows(), g.interior_cols());
    let columns = (p.kernel[1], p.stride[1], p.dilation[1], p.padding.left);
    out.write_rows(0, rows.len(), ow, |band, values, mut indices| {
        for (k, o) in (rows.start + band.start..rows.start + band.end).enumerate() {
            let rw = row_windows.get(o);
            let values = &mut values[k * ow..(k + 1) * ow];
            let mut indices = indices.as_mut().map(|ix| match ix.rest(k * ow) {
                IndexRun::Flat(ix) => ix,
                IndexRun::Taps(_) => unreachable!("tap codes are only written for f32"),
            });
            for j in (0..interior.start).chain(interior.end..ow) {
                let (v, i) = window_argmax(plane, width, rw, cols.get(j));
                values[j] = v;
                if let Some(ix) = indices.as_deref_mut() {
                    ix[j] = i as i64;
                }
            }
            if interior.is_empty() {
                continue;
            }
            // SAFETY: the CPU has AVX-512 (`takes_half`), `T` is a 16-bit float (bit patterns as u16), the
            // interior windows' taps are inside the plane, and the outputs hold the row.
            unsafe {
                row_half(
                    plane.as_ptr().cast(),
                    width,
                    rw,
                    interior.clone(),
                    columns,
                    inf,
                    values.as_mut_ptr().cast(),
                    indices.map(|ix| ix.as_mut_ptr()),
                )
            };
        }
    });
    true
}

/// The winners of one output row's whole windows `interior` (whose rows are `rw`; columns `(kernel, stride,
/// dilation, padding before)`, the stride 1 or 2) into `values` and `indices`, 32 windows a vector. For each
/// tap, the 32 windows' candidates are one load at stride 1, or two and their even elements
/// (`vpermt2w`) at stride 2; they become order keys ([`order_keys_avx512`]), compared into masks, and the
/// winners' own bit patterns and tap coordinates are carried beside, so values come out unchanged and flat
/// indices are made once per vector.
///
/// # Safety
/// The CPU has AVX-512 F, BW and VL; every tap of the interior windows is inside `plane` (of `width` columns);
/// `values` and `indices` (when given) hold the row; [`takes_half`]'s bounds hold.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
#[allow(clippy::too_many_arguments)]
unsafe fn row_half(
    plane: *const u16,
    width: usize,
    rw: Window,
    interior: Range<usize>,
    (kw, s, dw, left): (usize, usize, usize, usize),
    inf: u16,
    values: *mut u16,
    indices: Option<*mut i64>,
) {
    let inf = _mm512_set1_epi16(inf as i16);
    // Lane l takes element 2l of the two vectors loaded at stride 2.
    let even = _mm512_set_epi16(
        62, 60, 58, 56, 54, 52, 50, 48, 46, 44, 42, 40, 38, 36, 34, 32, 30, 28, 26, 24, 22, 20, 18,
        16, 14, 12, 10, 8, 6, 4, 2, 0,
    );
    let row_step = rw.step * width;
    let (step_a, step_b) = (
        _mm512_set1_epi32(row_step as i32),
        _mm512_set1_epi32(dw as i32),
    );
    let iota = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    let lanes = [
        _mm512_mullo_epi32(iota, _mm512_set1_epi32(s as i32)),
        _mm512_mullo_epi32(
            _mm512_add_epi32(iota, _mm512_set1_epi32(16)),
            _mm512_set1_epi32(s as i32),
        ),
    ];
    for first in interior.clone().step_by(32) {
        let m = (interior.end - first).min(32);
        let live = low_lanes(m);
        // The flat index of the first window's first tap; interior windows start inside the input.
        let base = rw.start * width + first * s - left;
        let load = |a: usize, b: usize| {
            let p = plane.wrapping_add(base + a * row_step + b * dw);
            // SAFETY: only the lanes of the masks, each a tap of one of the `m` windows.
            unsafe {
                if s == 1 {
                    _mm512_maskz_loadu_epi16(live, p.cast())
                } else {
                    let need = 2 * m - 1;
                    let lo = _mm512_maskz_loadu_epi16(low_lanes(need.min(32)), p.cast());
                    let hi = _mm512_maskz_loadu_epi16(
                        low_lanes(need.saturating_sub(32)),
                        p.wrapping_add(32).cast(),
                    );
                    _mm512_permutex2var_epi16(lo, even, hi)
                }
            }
        };
        let x = load(0, 0);
        let (mut k, mut v, mut t) = (order_keys_avx512(x, inf), x, _mm512_setzero_si512());
        for a in 0..rw.taps {
            for b in (a == 0) as usize..kw {
                let x = load(a, b);
                let n = order_keys_avx512(x, inf);
                let beats = _mm512_cmpgt_epi16_mask(n, k);
                // The greater key is the new one where it beats, so the running key is their maximum.
                k = _mm512_max_epi16(k, n);
                v = _mm512_mask_mov_epi16(v, beats, x);
                t = _mm512_mask_mov_epi16(t, beats, _mm512_set1_epi16((a << 8 | b) as i16));
            }
        }
        // SAFETY: the row's outputs `first..first + m`.
        unsafe { _mm512_mask_storeu_epi16(values.wrapping_add(first).cast(), live, v) };
        let Some(indices) = indices else {
            continue;
        };
        let base = _mm512_set1_epi64(base as i64);
        for (h, half) in [_mm512_castsi512_si256(t), _mm512_extracti64x4_epi64::<1>(t)]
            .into_iter()
            .enumerate()
        {
            // Each lane's offset from the first window's first tap: a · row step + b · dilation + lane · stride.
            let offsets = _mm512_add_epi32(tap_offsets_avx512(half, step_a, step_b), lanes[h]);
            let live = (live >> (16 * h)) as u16;
            for (q, part) in [
                _mm512_castsi512_si256(offsets),
                _mm512_extracti64x4_epi64::<1>(offsets),
            ]
            .into_iter()
            .enumerate()
            {
                let at = indices.wrapping_add(first + 16 * h + 8 * q);
                let index = _mm512_add_epi64(base, _mm512_cvtepu32_epi64(part));
                // SAFETY: the row's outputs, the lanes of `live`.
                unsafe { _mm512_mask_storeu_epi64(at, (live >> (8 * q)) as u8, index) };
            }
        }
    }
}
