//! The hand-written AVX-512 kernel for planes of 16-bit floats (NCHW), which the simd and block backends share.
//! Output rows are pooled in strips of 32 windows (31 at k3 s2), compared in 16-bit lanes: `f16` natively where
//! the CPU has AVX-512 FP16, else as [`order_key`](crate::order_key)s of the bit patterns. It is separable: each
//! input row's winners over the windows' columns are found once, then merged over each window's rows, so a row
//! that two windows share is swept once: where output rows share at most one input row (k3 s2, W1),
//! `pool_kept` keeps that row's winners for the next output row, as the `f32` kernel of 3×3 windows at stride 2
//! does; elsewhere (k3 s1), `pool_block` caches every row's while windows still cover it. Windows cut by the
//! left or right padding go through the same vectors, the taps outside the row masked off. Each winner's place
//! within its window rides in a 16-bit lane beside it: its offset from the window's first tap, widened to a
//! flat index at the end, or its tap code (the `window` format, one byte), so that both index forms are written
//! straight into the outputs. Windows two columns wide at column stride 2 whose rows no two output rows share
//! (k2 s2) have their own loop, `pool_pairs`, with nothing to cache: a window's two taps in a row are the two
//! halves of a 32-bit lane. At AVX2, windows two or three columns wide at column stride 2 (k2 s2, k3 s2) have a
//! loop of that kind, `pairs_avx2`, 8 windows a vector.

use std::ops::Range;

use crate::semantics::Window;
use crate::{DType, Element, Geometry, IndexFormat, IndexRun, Simd, Winners};

#[cfg(target_arch = "x86_64")]
use crate::simd::{beats16, keep16, keep_value16, keys16, lanes_inside, low_lanes, low_lanes64};
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// The +∞ pattern of `T` when [`rows_half`] pools its planes with `g` at `simd` (`T` a 16-bit float, AVX-512 on
/// the CPU, column stride 1 or 2, and every tap's offset from its strip's first window's first within a `u16`:
/// from its own window's first, and 31 windows on at most), and whether to
/// compare natively: `f16` where the CPU has AVX-512 FP16. `bf16`, and `f16` elsewhere, compare as order keys.
#[cfg(target_arch = "x86_64")]
fn takes_half<T: Element>(simd: Simd, g: &Geometry) -> Option<(u16, bool)> {
    let p = g.params();
    let (kh, kw) = (p.kernel[0], p.kernel[1]);
    let span =
        ((kh - 1) * p.dilation[0]) as u64 * g.width() as u64 + ((kw - 1) * p.dilation[1]) as u64;
    T::KEY_INF
        .filter(|_| {
            simd == Simd::Avx512
                && simd.is_available()
                && matches!(p.stride[1], 1 | 2)
                && span + 31 * p.stride[1] as u64 <= u64::from(u16::MAX)
        })
        .map(|inf| {
            let native = T::DTYPE == DType::F16 && crate::simd::avx512_fp16();
            (inf, native)
        })
}

/// Whether [`rows_half`] pools every window of planes of `T` with `g` at `simd`, and so writes tap codes when
/// asked ([`Technique::writes_taps`](crate::Technique::writes_taps)): whenever it takes them.
pub fn writes_taps<T: Element>(simd: Simd, g: &Geometry) -> bool {
    #[cfg(target_arch = "x86_64")]
    return takes_half::<T>(simd, g).is_some() || takes_pairs_avx2::<T>(simd, g).is_some();
    #[cfg(not(target_arch = "x86_64"))]
    return false;
}

/// Pools output rows `rows` of `plane` (the whole run of outputs, from its first) when `T` is a 16-bit float, the
/// level is AVX-512 (which the CPU has), the column stride 1 or 2, and the offsets within a window fit a `u16`
/// (the winners' are carried in 16-bit lanes beside their values), or the level is AVX2 and the windows are two
/// or three columns wide at column stride 2 (k2 s2, k3 s2); returns false, doing nothing, otherwise.
pub fn rows_half<T: Element>(
    simd: Simd,
    g: &Geometry,
    plane: &[T],
    rows: Range<usize>,
    out: &mut Winners<'_, T>,
) -> bool {
    #[cfg(target_arch = "x86_64")]
    if let Some(inf) = takes_pairs_avx2::<T>(simd, g) {
        rows_pairs_avx2(g, plane, rows, out, inf);
        return true;
    }
    rows_half_as(simd, g, plane, rows, out, None)
}

/// Whether the windows of `g` are two columns wide at column stride 2, without column dilation, in rows that no
/// two output rows share (k2 s2): a window's taps in a row are one 32-bit lane's halves, and each row is
/// wanted once.
#[cfg(target_arch = "x86_64")]
fn pairs(g: &Geometry) -> bool {
    let p = g.params();
    (p.kernel[1], p.stride[1], p.dilation[1]) == (2, 2, 1)
        && (p.kernel[0] - 1) * p.dilation[0] < p.stride[0]
}

/// Whether output rows of `g` share at most one input row, the last of one window's and the first of the
/// next's (k3 s2, W1; or none): [`pool_kept`] keeps that row's winners instead of caching rows.
#[cfg(target_arch = "x86_64")]
fn kept(g: &Geometry) -> bool {
    let p = g.params();
    (p.kernel[0] - 1) * p.dilation[0] <= p.stride[0]
}

/// The +∞ pattern of `T` when [`rows_pairs_avx2`] pools its planes with `g` at `simd`: `T` a 16-bit float, the
/// level AVX2 (which the CPU has), the windows two or three columns wide at column stride 2 without column
/// dilation (k2 s2, k3 s2), and every flat index and offset within a plane an `i32` (they ride in 32-bit
/// lanes).
#[cfg(target_arch = "x86_64")]
fn takes_pairs_avx2<T: Element>(simd: Simd, g: &Geometry) -> Option<u16> {
    T::KEY_INF.filter(|_| {
        simd == Simd::Avx2
            && simd.is_available()
            && (g.params().stride[1], g.params().dilation[1]) == (2, 1)
            && matches!(g.params().kernel[1], 2 | 3)
            && i32::try_from(g.plane_len()).is_ok()
    })
}

/// Pools output rows `rows` of `plane` ([`rows_half`]) as [`takes_pairs_avx2`] says, at AVX2: 8 windows at a
/// time ([`pairs_avx2`]) where all their taps lie inside the row, the windows the padding cuts one by one
/// ([`window_argmax`](crate::semantics::window_argmax)).
#[cfg(target_arch = "x86_64")]
fn rows_pairs_avx2<T: Element>(
    g: &Geometry,
    plane: &[T],
    rows: Range<usize>,
    out: &mut Winners<'_, T>,
    inf: u16,
) {
    let p = g.params();
    let (width, ow) = (g.width(), g.out_width());
    let (row_windows, col_windows) = (g.row_windows(), g.col_windows());
    let (top, left) = (p.padding.top as isize, p.padding.left as isize);
    // The windows with all taps inside the row: from the first starting inside, to the last ending inside.
    let kw = p.kernel[1];
    let first = (p.padding.left.div_ceil(2)).min(ow);
    let end = (width + p.padding.left)
        .checked_sub(kw)
        .map_or(first, |last| (last / 2 + 1).clamp(first, ow));
    // 8 windows or more for the vectors; the others, or all, one by one.
    let vectors = end - first >= 8;
    let shape = [1, 1, g.height(), width];
    let bits = plane.as_ptr().cast::<u16>();
    out.write_rows(0, rows.len(), ow, |band, values, mut indices| {
        let band = rows.start + band.start..rows.start + band.end;
        let taps = matches!(indices, Some(IndexRun::Taps(_)));
        let row_code = if taps { kw } else { p.dilation[0] * width };
        for (q, (o, w)) in band.clone().zip(row_windows.range(band)).enumerate() {
            let padded = o as isize * p.stride[0] as isize - top;
            // Codes count from the padded window's first row, `cut` rows above the first covered.
            let cut = (w.start as isize - padded) as usize / w.step;
            let at = q * ow;
            if vectors {
                let run = Pairs {
                    row: bits.wrapping_add(w.start * width),
                    window: w,
                    kw,
                    width,
                    c0: -left,
                    windows: first..end,
                    row_code,
                    cut: cut * kw,
                };
                let sink = sink(&mut indices, at);
                // SAFETY: the CPU has AVX2 (`takes_pairs_avx2`); the windows `first..end` have all taps inside
                // the row, whose rows `plane` holds; the row's outputs are `values[at..at + ow]` and the sink's.
                unsafe { pairs_avx2(run, inf, values[at..].as_mut_ptr().cast(), sink) };
            }
            let edges = (0..first).chain(if vectors { end } else { first }..ow);
            for j in edges {
                let (v, i) = crate::semantics::window_argmax(plane, width, w, col_windows.get(j));
                values[at + j] = v;
                match indices.as_mut() {
                    None => {}
                    Some(IndexRun::Flat(ix)) => ix[at + j] = i as i64,
                    Some(IndexRun::Taps(codes)) => {
                        let code = IndexFormat::Window.encode(g, shape, [0, 0, o, j], i);
                        codes[at + j] = code as u8;
                    }
                }
            }
        }
    });
}

/// [`rows_half`], comparing natively or as order keys as `native` says when given (natively only where the CPU
/// can): the tests reach the order keys for `f16` on a CPU with FP16.
fn rows_half_as<T: Element>(
    simd: Simd,
    g: &Geometry,
    plane: &[T],
    rows: Range<usize>,
    out: &mut Winners<'_, T>,
    native: Option<bool>,
) -> bool {
    #[cfg(not(target_arch = "x86_64"))]
    return false;
    #[cfg(target_arch = "x86_64")]
    let Some((inf, can)) = takes_half::<T>(simd, g) else {
        return false;
    };
    let native = can && native.unwrap_or(true);
    let p = g.params();
    let (ow, row_windows) = (g.out_width(), g.row_windows());
    let (top, row_stride) = (p.padding.top as isize, p.stride[0] as isize);
    let left = p.padding.left as isize;
    // SAFETY: `T` is a 16-bit float (`takes_half`): its bit patterns are `u16`s.
    let plane = unsafe { std::slice::from_raw_parts(plane.as_ptr().cast::<u16>(), plane.len()) };
    let pairs = pairs(g);
    let three = (p.kernel[1], p.dilation[1]) == (3, 1);
    let kept = kept(g);
    out.write_rows(0, rows.len(), ow, |band, values, mut indices| {
        let band = rows.start + band.start..rows.start + band.end;
        let mut indices = indices.as_mut().map(|ix| ix.rest(0));
        // Tap codes count taps (a · kw + b), flat indices elements (a · dilation · width + b · dilation).
        let taps = matches!(indices, Some(IndexRun::Taps(_)));
        let columns = Columns {
            kw: p.kernel[1],
            stride: p.stride[1],
            dilation: p.dilation[1],
            width: g.width(),
            code: if taps { 1 } else { p.dilation[1] },
        };
        let rows_of = Rows {
            kh: p.kernel[0],
            span: (p.kernel[0] - 1) * p.dilation[0] + 1,
            code: if taps {
                p.kernel[1]
            } else {
                p.dilation[0] * g.width()
            },
        };
        if pairs {
            let windows = band
                .clone()
                .zip(row_windows.range(band.clone()))
                .map(|(o, w)| (w, o as isize * row_stride - top));
            let out = Out {
                values: values.as_mut_ptr().cast(),
                indices: sink(&mut indices, 0),
                stride: ow,
            };
            // SAFETY: the CPU has AVX-512 (`takes_half`), and FP16 for `native`; `out` holds the band's outputs,
            // `ow` a row; `plane` holds the rows the windows cover; the windows are two columns wide at column
            // stride 2 (`pairs`).
            unsafe {
                if native {
                    pairs_native(plane, -left, columns, rows_of, windows, inf, out)
                } else {
                    pool_pairs::<false>(plane, -left, columns, rows_of, windows, inf, out)
                }
            };
            return;
        }
        let lanes = columns.strip_windows();
        for first in (0..ow).step_by(lanes * BLOCK) {
            let mut strips = [Strip::default(); BLOCK];
            let n = (ow - first).div_ceil(lanes).min(BLOCK);
            for (i, strip) in strips.iter_mut().enumerate().take(n) {
                let j = first + lanes * i;
                *strip = Strip::new(
                    (j * columns.stride) as isize - left,
                    lanes * i,
                    (ow - j).min(lanes),
                    columns,
                );
            }
            let out = Out {
                values: values[first..].as_mut_ptr().cast(),
                indices: sink(&mut indices, first),
                stride: ow,
            };
            // Each output row's windows, and where they start with the top padding included (tap codes count
            // from there).
            let windows = band
                .clone()
                .zip(row_windows.range(band.clone()))
                .map(|(o, w)| (w, o as isize * row_stride - top));
            let strips = &strips[..n];
            // SAFETY: the CPU has AVX-512 (`takes_half`), and FP16 for `native`; the strips' windows are the
            // band's outputs `first..first + 32 n` of each row, which `out` holds; `plane` holds the rows the
            // windows cover.
            unsafe {
                let job = (plane, strips, columns, rows_of, windows, inf, out);
                match (three, kept) {
                    (true, true) => pool_strips::<true, true>(native, job),
                    (true, false) => pool_strips::<true, false>(native, job),
                    (false, true) => pool_strips::<false, true>(native, job),
                    (false, false) => pool_strips::<false, false>(native, job),
                }
            };
        }
    });
    true
}

/// The most strips (of 32 windows) pooled together down the plane, their rows' winners cached.
const BLOCK: usize = 16;

/// The windows' columns: `kw` taps, `dilation` apart, windows `stride` (1 or 2) apart, in rows of `width`; a
/// tap's index (flat or tap code) is `code` past the one before it in the row.
#[derive(Clone, Copy)]
struct Columns {
    kw: usize,
    stride: usize,
    dilation: usize,
    width: usize,
    code: usize,
}

impl Columns {
    /// Whether [`row_winners`] takes all taps of a strip's windows from one load of 64 elements: three-wide
    /// windows at column stride 2 without dilation (k3 s2, W1), at most 31 of them a strip
    /// ([`Columns::strip_windows`]), their keys found once an element, the third tap's the first's one lane on.
    #[inline]
    fn one_load(&self) -> bool {
        (self.kw, self.stride, self.dilation) == (3, 2, 1)
    }

    /// The windows a strip holds: 32, one a 16-bit lane, but 31 where [`Columns::one_load`] (the 31st window's
    /// third tap is the 63rd element from the first window's first).
    fn strip_windows(&self) -> usize {
        if self.one_load() {
            31
        } else {
            32
        }
    }
}

/// The windows' rows: `kh` of them, over `span` input rows; a row's taps' indices are `code` past those of the
/// row before.
#[derive(Clone, Copy)]
struct Rows {
    kh: usize,
    span: usize,
    code: usize,
}

/// Where a block's outputs go: its first output of the band's first row, for values and indices, and the
/// distance between rows.
struct Out {
    values: *mut u16,
    indices: Sink,
    stride: usize,
}

/// The indices wanted: none, flat indices, or tap codes (the `window` format).
#[derive(Clone, Copy)]
enum Sink {
    None,
    Flat(*mut i64),
    Taps(*mut u8),
}

/// The indices wanted in `indices`, from output `first` on.
fn sink(indices: &mut Option<IndexRun<'_>>, first: usize) -> Sink {
    match indices.as_mut() {
        None => Sink::None,
        Some(IndexRun::Flat(ix)) => Sink::Flat(ix[first..].as_mut_ptr()),
        Some(IndexRun::Taps(ix)) => Sink::Taps(ix[first..].as_mut_ptr()),
    }
}

/// `m` (1 to [`Columns::strip_windows`]) consecutive windows of an output row, `at` past the block's first, the
/// first starting at input column `c0` (negative in the left padding), and whether all their taps lie inside
/// the row.
#[derive(Clone, Copy, Default)]
struct Strip {
    c0: isize,
    at: usize,
    m: usize,
    whole: bool,
}

impl Strip {
    fn new(c0: isize, at: usize, m: usize, c: Columns) -> Strip {
        let last = c0 + ((m - 1) * c.stride + (c.kw - 1) * c.dilation) as isize;
        Strip {
            c0,
            at,
            m,
            whole: c0 >= 0 && last < c.width as isize,
        }
    }

    /// For each tap of the windows' columns, the elements to load from its column (2m - 1 at stride 2), and the
    /// windows whose tap lies inside the row.
    fn masks(&self, c: Columns) -> impl Iterator<Item = Masks> + '_ {
        let need = (self.m - 1) * c.stride + 1;
        (0..c.kw).map(move |b| {
            let start = self.c0 + (b * c.dilation) as isize;
            if self.whole {
                (low_lanes64(need), low_lanes(self.m))
            } else {
                let taps = lanes_inside(start, c.stride, self.m, c.width) as u32;
                (lanes_inside(start, 1, need, c.width), taps)
            }
        })
    }

    /// [`Strip::masks`] of each of `strips` in turn, `c.kw` a strip.
    fn all_masks(strips: &[Strip], c: Columns) -> Buffer<Masks, 16> {
        let mut masks = Buffer::<Masks, 16>::new((0, 0), c.kw * strips.len());
        for (to, from) in masks
            .iter_mut()
            .zip(strips.iter().flat_map(|strip| strip.masks(c)))
        {
            *to = from;
        }
        masks
    }
}

/// A tap's elements to load (one bit each, at most 64) and windows inside the row (one bit each).
type Masks = (u64, u32);

/// One output row's windows `windows` (8 or more) for [`pairs_avx2`]: its rows (`window`) from `row` on, rows
/// of `width`; window j's first of `kw` (2 or 3) taps at column `c0 + 2j`; a row's taps' indices `row_code` past
/// the row before's, and tap codes `cut` past the covered taps' (the taps the top padding cut).
#[cfg(target_arch = "x86_64")]
struct Pairs {
    row: *const u16,
    window: Window,
    kw: usize,
    width: usize,
    c0: isize,
    windows: Range<usize>,
    row_code: usize,
    cut: usize,
}

/// Pools `run`'s windows 8 at a time, in 32-bit lanes: each window's first two taps in a row are one lane's
/// halves, its third the high half of the lane loaded one element on, as sign-extended order keys
/// ([`order_keys_avx2`](crate::simd::order_keys_avx2)) compared with `vpcmpgtd`, a later tap winning only a
/// greater key, a later row only a greater one. The last 8 overlap the ones before when the count is no multiple
/// of 8 (their outputs are written twice, the same).
///
/// # Safety
/// The CPU has AVX2; all taps of every window of `run` lie inside its rows; `values` and `sink` hold the
/// output row from its first window.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn pairs_avx2(run: Pairs, inf: u16, values: *mut u16, sink: Sink) {
    let inf = _mm256_set1_epi16(inf as i16);
    let w = run.window;
    let low = _mm256_set1_epi32(0xffff);
    let (one, iota) = (
        _mm256_set1_epi32(1),
        [
            _mm256_set_epi64x(6, 4, 2, 0),
            _mm256_set_epi64x(14, 12, 10, 8),
        ],
    );
    let (first, end) = (run.windows.start, run.windows.end);
    let groups = (first..end - 8).step_by(8).chain([end - 8]);
    for j in groups {
        let col = run.c0 + 2 * j as isize;
        let zero = _mm256_setzero_si256();
        let (mut key, mut value, mut tap) = (zero, zero, zero);
        for a in 0..w.taps {
            let from = run
                .row
                .wrapping_add(a * w.step * run.width)
                .wrapping_offset(col);
            // SAFETY: the 8 windows' 16 taps in the row (the caller's promise).
            let x = unsafe { _mm256_loadu_si256(from.cast()) };
            let k = crate::simd::order_keys_avx2(x, inf);
            let (left, right) = (
                _mm256_srai_epi32::<16>(_mm256_slli_epi32::<16>(k)),
                _mm256_srai_epi32::<16>(k),
            );
            let beats = _mm256_cmpgt_epi32(right, left);
            let mut k = _mm256_max_epi32(left, right);
            let mut v =
                _mm256_blendv_epi8(_mm256_and_si256(x, low), _mm256_srli_epi32::<16>(x), beats);
            let mut t = _mm256_and_si256(beats, one);
            if run.kw == 3 {
                // SAFETY: as above: the high halves are the third taps, the last the 8th window's.
                let x = unsafe { _mm256_loadu_si256(from.wrapping_add(1).cast()) };
                let third = _mm256_srai_epi32::<16>(crate::simd::order_keys_avx2(x, inf));
                let beats = _mm256_cmpgt_epi32(third, k);
                k = _mm256_max_epi32(k, third);
                v = _mm256_blendv_epi8(v, _mm256_srli_epi32::<16>(x), beats);
                t = _mm256_blendv_epi8(t, _mm256_set1_epi32(2), beats);
            }
            let t = _mm256_add_epi32(t, _mm256_set1_epi32((a * run.row_code) as i32));
            if a == 0 {
                (key, value, tap) = (k, v, t);
                continue;
            }
            let beats = _mm256_cmpgt_epi32(k, key);
            key = _mm256_max_epi32(key, k);
            value = _mm256_blendv_epi8(value, v, beats);
            tap = _mm256_blendv_epi8(tap, t, beats);
        }
        // The values in the low halves of the lanes, the high halves zero: packed without saturating.
        let packed = _mm256_permute4x64_epi64::<0b1000>(_mm256_packus_epi32(value, value));
        // SAFETY: the windows' outputs (the caller's promise).
        unsafe {
            _mm_storeu_si128(
                values.wrapping_add(j).cast(),
                _mm256_castsi256_si128(packed),
            )
        };
        match sink {
            Sink::None => {}
            Sink::Flat(indices) => {
                let base = _mm256_set1_epi64x((w.start * run.width) as i64 + col as i64);
                let halves = [
                    _mm256_castsi256_si128(tap),
                    _mm256_extracti128_si256::<1>(tap),
                ];
                for (e, (t, iota)) in halves.into_iter().zip(iota).enumerate() {
                    let index =
                        _mm256_add_epi64(_mm256_add_epi64(base, iota), _mm256_cvtepu32_epi64(t));
                    // SAFETY: the windows' outputs (the caller's promise).
                    unsafe { _mm256_storeu_si256(indices.wrapping_add(j + 4 * e).cast(), index) };
                }
            }
            Sink::Taps(codes) => {
                let tap = _mm256_add_epi32(tap, _mm256_set1_epi32(run.cut as i32));
                // SAFETY: the windows' outputs (the caller's promise); AVX2.
                unsafe { crate::simd::store_bytes_avx2(tap, codes.wrapping_add(j), 8) };
            }
        }
    }
}

/// The low halves of 16-bit lane pairs, where [`pool_pairs`] keeps its windows.
const LOW: u32 = 0x5555_5555;

/// A strip's winners: what [`keys16`] compares, bit patterns, and indices within their windows: offsets from
/// their first taps, or tap codes ([`Columns::code`], [`Rows::code`]).
#[cfg(target_arch = "x86_64")]
type Best = [__m512i; 3];

/// What [`pool_block`] and [`pool_kept`] take: the plane, the strips, the columns and rows, the windows, the +∞
/// pattern and the outputs.
#[cfg(target_arch = "x86_64")]
type Job<'a, W> = (&'a [u16], &'a [Strip], Columns, Rows, W, u16, Out);

/// Pools `job` with [`pool_kept`] when `KEPT`, else [`pool_block`], natively when `native` (`THREE` as they
/// take it).
///
/// # Safety
/// As for the one called, with AVX-512 FP16 when `native`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
unsafe fn pool_strips<const THREE: bool, const KEPT: bool>(
    native: bool,
    job: Job<'_, impl Iterator<Item = (Window, isize)>>,
) {
    // SAFETY: the caller's promise.
    unsafe {
        match (native, KEPT) {
            (true, _) => strips_native::<THREE, KEPT>(job),
            (false, true) => pool_kept::<false, THREE>(job),
            (false, false) => pool_block::<false, THREE>(job),
        }
    }
}

/// [`pool_strips`] comparing `f16`s natively: compiled with AVX-512 FP16.
///
/// # Safety
/// As for [`pool_strips`], and the CPU has AVX-512 FP16.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx512fp16")]
unsafe fn strips_native<const THREE: bool, const KEPT: bool>(
    job: Job<'_, impl Iterator<Item = (Window, isize)>>,
) {
    // SAFETY: the caller's promise.
    unsafe {
        if KEPT {
            pool_kept::<true, THREE>(job)
        } else {
            pool_block::<true, THREE>(job)
        }
    }
}

/// Pools the windows of `strips` (consecutive, at most [`BLOCK`]) in each output row of `windows` (the rows
/// each covers) into `out`, row by row. The elements compare as [`keys16`] say: natively when `NATIVE` (`f16`
/// with AVX-512 FP16), else as order keys. Each input row's winners over the strips' windows ([`row_winners`])
/// are found once and cached while windows still cover the row; each window's are merged in row order, so the
/// first maximum of the first row holding one wins, which is the row-major scan's winner. `THREE`: as for
/// [`row_winners`].
///
/// # Safety
/// The CPU has AVX-512 F, BW, DQ and VL, and FP16 when `NATIVE`; `plane` holds every row `windows` covers;
/// `out` holds `32 · strips.len()` outputs (the last strip's `m` at least) from each row's first, for each row
/// of `windows`; [`takes_half`]'s bounds hold; the windows are three columns wide without dilation when
/// `THREE`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
#[inline]
unsafe fn pool_block<const NATIVE: bool, const THREE: bool>(
    (plane, strips, c, r, windows, inf, out): Job<'_, impl Iterator<Item = (Window, isize)>>,
) {
    let n = strips.len();
    let inf = _mm512_set1_epi16(inf as i16);
    // A row's slot in the cache: rows of one window never share one. Windows spanning more rows than this keep
    // only the rows at the same place within the window.
    const SLOTS: usize = 64;
    let slots = if r.span <= SLOTS { r.span } else { r.kh };
    let mut cached = Buffer::<usize, 16>::new(usize::MAX, slots);
    let mut cache = Buffer::<Best, 8>::new([_mm512_setzero_si512(); 3], slots * n);
    // Each of a window's rows' slots, by row within the window (found once a window: no division per row).
    let mut at = Buffer::<usize, 16>::new(0, r.kh);
    let lanes = lane_offsets(c.stride);
    let width = c.width;
    let masks = Strip::all_masks(strips, c);
    // Each buffer's slice once, not at every use.
    let (cached, cache, at, masks) = (&mut *cached, &mut *cache, &mut *at, &*masks);
    let row_code = _mm512_set1_epi16(r.code as i16);
    for (q, (w, padded)) in windows.enumerate() {
        let mut s = if r.span <= SLOTS { w.start % r.span } else { 0 };
        for (a, at) in at.iter_mut().enumerate().take(w.taps) {
            if r.span > SLOTS {
                s = a;
            } else if a > 0 {
                // Rows `step` apart, `step` at most the span (one wrap at most).
                s += w.step;
                if s >= r.span {
                    s -= r.span;
                }
            }
            *at = s;
            let row = w.start + a * w.step;
            if cached[s] != row {
                let from = &plane[row * width..(row + 1) * width];
                // The row four on: with rows this short, the prefetchers fetch too late (measured on W1).
                prefetch(
                    plane.as_ptr().wrapping_add((row + 4) * width).cast(),
                    2 * width,
                );
                let strips = strips.iter().zip(masks.chunks_exact(c.kw));
                for ((strip, masks), best) in strips.zip(&mut cache[s * n..(s + 1) * n]) {
                    // SAFETY: FP16 when `NATIVE` (the caller's promise).
                    *best = unsafe { row_winners::<NATIVE, THREE>(from, strip, masks, c, inf) };
                }
                cached[s] = row;
            }
        }
        for (i, strip) in strips.iter().enumerate() {
            let mut best = cache[at[0] * n + i];
            let mut down = _mm512_setzero_si512();
            for &at in &at[1..w.taps] {
                down = _mm512_add_epi16(down, row_code);
                // SAFETY: FP16 when `NATIVE` (the caller's promise).
                best = unsafe { merge_row::<NATIVE>(best, cache[at * n + i], down, !0) };
            }
            // SAFETY: the row's outputs (the caller's promise).
            unsafe { store_strip(&out, q, strip, best, (w, padded), r, width, lanes) };
        }
    }
}

/// [`pool_block`] where output rows share at most one input row, the last of one window's and the first of the
/// next's ([`kept`]: k3 s2, W1): each strip's windows are merged straight from their rows' winners, and only
/// the last row's winners are kept, for the next output row, as the `f32` kernel of 3×3 windows at stride 2
/// does. No cache of rows to look up or fill.
///
/// # Safety
/// As for [`pool_block`], and output rows share input rows as [`kept`] says.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
#[inline]
unsafe fn pool_kept<const NATIVE: bool, const THREE: bool>(
    (plane, strips, c, r, windows, inf, out): Job<'_, impl Iterator<Item = (Window, isize)>>,
) {
    let inf = _mm512_set1_epi16(inf as i16);
    let (lanes, width) = (lane_offsets(c.stride), c.width);
    let masks = Strip::all_masks(strips, c);
    let masks = &*masks;
    let mut kept = [[_mm512_setzero_si512(); 3]; BLOCK];
    let mut kept_row = usize::MAX;
    let row_code = _mm512_set1_epi16(r.code as i16);
    for (q, (w, padded)) in windows.enumerate() {
        let row = |a: usize| {
            let row = w.start + a * w.step;
            &plane[row * width..(row + 1) * width]
        };
        // The rows four on: with rows this short, the prefetchers fetch too late (measured on W1).
        let next = (w.start + 4) * width;
        prefetch(
            plane.as_ptr().wrapping_add(next).cast(),
            2 * w.taps * w.step * width,
        );
        let last = w.taps - 1;
        let strips = strips.iter().zip(masks.chunks_exact(c.kw)).zip(&mut kept);
        for ((strip, masks), kept) in strips {
            // One loop, one call of `row_winners` (for the kept row too): so LLVM inlines it and keeps the
            // running winners in registers (measured on W1: a separate first row put them on the stack).
            let (mut best, mut down) = ([_mm512_setzero_si512(); 3], _mm512_setzero_si512());
            for a in 0..w.taps {
                let next = if a == 0 && w.start == kept_row {
                    *kept
                } else {
                    // SAFETY: FP16 when `NATIVE` (the caller's promise).
                    unsafe { row_winners::<NATIVE, THREE>(row(a), strip, masks, c, inf) }
                };
                if a == last {
                    *kept = next;
                }
                best = if a == 0 {
                    next
                } else {
                    // SAFETY: FP16 when `NATIVE` (the caller's promise).
                    unsafe { merge_row::<NATIVE>(best, next, down, !0) }
                };
                down = _mm512_add_epi16(down, row_code);
            }
            // SAFETY: the row's outputs (the caller's promise).
            unsafe { store_strip(&out, q, strip, best, (w, padded), r, width, lanes) };
        }
        kept_row = w.start + last * w.step;
    }
}

/// The winners of a window's rows so far, `best`, merged with the next row's, `next`, in the lanes of `lanes`: a
/// later row wins only a greater key ([`beats16`]), so the first maximum of the first row holding one stays. The
/// next row's indices within the window are `down` past its own (which fit a `u16` with them, `takes_half`).
///
/// # Safety
/// The CPU has AVX-512 F and BW, and FP16 when `NATIVE`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
#[inline]
unsafe fn merge_row<const NATIVE: bool>(best: Best, next: Best, down: __m512i, lanes: u32) -> Best {
    let ([k, v, t], [key, x, b]) = (best, next);
    // SAFETY: FP16 when `NATIVE` (the caller's promise).
    let beats = unsafe { beats16::<NATIVE>(key, k) } & lanes;
    let k = keep16::<NATIVE>(k, beats, key);
    [
        k,
        keep_value16::<NATIVE>(v, beats, x, k),
        _mm512_mask_add_epi16(t, beats, b, down),
    ]
}

/// Each lane's window's first tap's offset from the strip's first, for windows `stride` apart, in 16-bit lanes
/// (they fit with the offsets within the windows, `takes_half`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
#[inline]
fn lane_offsets(stride: usize) -> __m512i {
    let iota = _mm512_set_epi16(
        31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9,
        8, 7, 6, 5, 4, 3, 2, 1, 0,
    );
    _mm512_mullo_epi16(iota, _mm512_set1_epi16(stride as i16))
}

/// Stores the winners of `strip`'s windows in output row `q` of `out` (from output `at`, the strip's in the row):
/// their bit patterns and their indices within their windows ([`Best`]) as flat indices or tap codes. The
/// windows' rows are `w`, the first covered, which lies `padded` with the top padding included (tap codes count
/// from there); rows' taps' indices are `r.code` apart, rows `width` long; `lanes` are [`lane_offsets`] (added
/// in 16 bits).
///
/// # Safety
/// The CPU has AVX-512 F, BW, DQ and VL; `out` holds row `q`'s outputs `at..at + strip.m`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
#[inline]
#[allow(clippy::too_many_arguments)]
unsafe fn store_strip(
    out: &Out,
    q: usize,
    strip: &Strip,
    [_, v, t]: Best,
    (w, padded): (Window, isize),
    r: Rows,
    width: usize,
    lanes: __m512i,
) {
    let (at, live) = (q * out.stride + strip.at, low_lanes(strip.m));
    // SAFETY: the row's outputs `at..at + m` (the caller's promise).
    unsafe { store_words(out.values.wrapping_add(at), v, live) };
    let indices = match out.indices {
        Sink::None => return,
        Sink::Flat(indices) => indices,
        Sink::Taps(codes) => {
            // Codes count from the padded window's first row, `cut` rows above the first covered.
            let cut = (w.start as isize - padded) as usize / w.step;
            let t = _mm512_add_epi16(t, _mm512_set1_epi16((cut * r.code) as i16));
            // SAFETY: the row's outputs, the lanes of `live`.
            unsafe { store_bytes(codes.wrapping_add(at), _mm512_cvtepi16_epi8(t), live) };
            return;
        }
    };
    // The flat index of the first window's first tap, which may lie in the left padding, and each winner's
    // offset from there: its window's from the first window's, and its own within its window.
    let base = _mm512_set1_epi64((w.start * width) as i64 + strip.c0 as i64);
    let t = _mm512_add_epi16(t, lanes);
    let quarters = [
        _mm512_castsi512_si128(t),
        _mm512_extracti32x4_epi32::<1>(t),
        _mm512_extracti32x4_epi32::<2>(t),
        _mm512_extracti32x4_epi32::<3>(t),
    ];
    for (e, offsets) in quarters.into_iter().enumerate() {
        let index = _mm512_add_epi64(base, _mm512_cvtepu16_epi64(offsets));
        let to = indices.wrapping_add(at + 8 * e);
        // SAFETY: the row's outputs, the lanes of `live`.
        unsafe { store_quads(to, index, (live >> (8 * e)) as u8) };
    }
}

/// Asks for the `bytes` from `from` on to be brought into the caches, a line at a time: hints, which read no
/// memory and cannot fault.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse")]
#[inline]
fn prefetch(from: *const i8, bytes: usize) {
    for l in (0..bytes).step_by(64) {
        _mm_prefetch::<_MM_HINT_T0>(from.wrapping_add(l));
    }
}

/// Stores the 32 words of `v` at `to`, the lanes of `live`: a whole vector when all of them are (masked stores
/// are slow on AMD's CPUs).
///
/// # Safety
/// The CPU has AVX-512 F and BW; the words at `to` of the lanes of `live` are writable.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
#[inline]
pub(crate) unsafe fn store_words(to: *mut u16, v: __m512i, live: u32) {
    // SAFETY: the caller's promise.
    unsafe {
        if live == u32::MAX {
            _mm512_storeu_si512(to.cast(), v)
        } else {
            _mm512_mask_storeu_epi16(to.cast(), live, v)
        }
    }
}

/// [`store_words`] for the 8 `i64`s of `v`.
///
/// # Safety
/// The CPU has AVX-512 F; the `i64`s at `to` of the lanes of `live` are writable.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn store_quads(to: *mut i64, v: __m512i, live: u8) {
    // SAFETY: the caller's promise.
    unsafe {
        if live == u8::MAX {
            _mm512_storeu_si512(to.cast(), v)
        } else {
            _mm512_mask_storeu_epi64(to, live, v)
        }
    }
}

/// [`store_words`] for the 32 bytes of `v`.
///
/// # Safety
/// The CPU has AVX-512 BW and VL; the bytes at `to` of the lanes of `live` are writable.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
#[inline]
unsafe fn store_bytes(to: *mut u8, v: __m256i, live: u32) {
    // SAFETY: the caller's promise.
    unsafe {
        if live == u32::MAX {
            _mm256_storeu_si256(to.cast(), v)
        } else {
            _mm256_mask_storeu_epi8(to.cast(), live, v)
        }
    }
}

/// [`pool_pairs`] comparing `f16`s natively.
///
/// # Safety
/// As for [`pool_pairs`], and the CPU has AVX-512 FP16.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx512fp16")]
unsafe fn pairs_native(
    plane: &[u16],
    c0: isize,
    c: Columns,
    r: Rows,
    windows: impl Iterator<Item = (Window, isize)>,
    inf: u16,
    out: Out,
) {
    // SAFETY: the caller's promise.
    unsafe { pool_pairs::<true>(plane, c0, c, r, windows, inf, out) }
}

/// Pools windows two columns wide at column stride 2 ([`pairs`]: k2 s2), the first starting at column `c0`
/// (negative in the left padding), in each output row of `windows` (the rows each covers, and where it starts
/// with the top padding included) into `out`, 32 windows at a time. No output rows share an input row, so
/// nothing is cached: each row's 64 elements are loaded once, and a window's two taps in it are the two halves
/// of one 32-bit lane, compared after a shift (no word permutes until the values are packed for their store).
/// A window's winner, its key and its index within the window stay in the low half of its lane. The left tap
/// wins a tie, and a later row's winner only a greater one, so the row-major scan's first maximum wins.
///
/// # Safety
/// As for [`pool_block`]: the CPU has AVX-512 F, BW, DQ and VL, and FP16 when `NATIVE`; `plane` holds every
/// row `windows` covers, of `c.width`; `out` holds an output row (`out.stride`) for each row of `windows`;
/// [`takes_half`]'s bounds hold, and `c` is two columns at stride 2 without dilation.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
#[inline]
unsafe fn pool_pairs<const NATIVE: bool>(
    plane: &[u16],
    c0: isize,
    c: Columns,
    r: Rows,
    windows: impl Iterator<Item = (Window, isize)>,
    inf: u16,
    out: Out,
) {
    // Window i's bit (i < 16) moved to bit 2i: its lane's low half.
    let spread = |x: u32| {
        let x = (x | x << 8) & 0x00ff_00ff;
        let x = (x | x << 4) & 0x0f0f_0f0f;
        let x = (x | x << 2) & 0x3333_3333;
        (x | x << 1) & LOW
    };
    let (inf, ow, width) = (_mm512_set1_epi16(inf as i16), out.stride, c.width);
    let low = _mm512_set_epi16(
        62, 60, 58, 56, 54, 52, 50, 48, 46, 44, 42, 40, 38, 36, 34, 32, 30, 28, 26, 24, 22, 20, 18,
        16, 14, 12, 10, 8, 6, 4, 2, 0,
    );
    // Each window's first tap's offset from the 32 windows' first, 8 windows at a time.
    let iota = _mm512_set_epi64(14, 12, 10, 8, 6, 4, 2, 0);
    let lanes = [0, 16, 32, 48].map(|l| _mm512_add_epi64(iota, _mm512_set1_epi64(l)));
    let row_code = _mm512_set1_epi16(r.code as i16);
    for (q, (w, padded)) in windows.enumerate() {
        for j in (0..ow).step_by(32) {
            let m = (ow - j).min(32);
            let start = c0 + 2 * j as isize;
            // The elements to load, and the windows whose left and right taps lie inside the row, each at its
            // lane's low half, for the two halves of the 32 windows.
            let (elements, inside) = if start >= 0 && start + 2 * m as isize <= width as isize {
                (low_lanes64(2 * m), [(LOW, LOW); 2])
            } else {
                let (left, right) = (
                    lanes_inside(start, 2, m, width) as u32,
                    lanes_inside(start + 1, 2, m, width) as u32,
                );
                let half = |h: u32| (spread((left >> h) & 0xffff), spread((right >> h) & 0xffff));
                (lanes_inside(start, 1, 2 * m, width), [half(0), half(16)])
            };
            let row = |row: usize| {
                plane
                    .as_ptr()
                    .wrapping_offset((row * width) as isize + start)
            };
            // SAFETY: FP16 when `NATIVE` (the caller's promise); `elements` are the row's.
            let mut best =
                unsafe { pair_winners::<NATIVE>(row(w.start), elements, inside, inf, c.code) };
            let mut down = _mm512_setzero_si512();
            for a in 1..w.taps {
                // SAFETY: as above.
                let next = unsafe {
                    pair_winners::<NATIVE>(row(w.start + a * w.step), elements, inside, inf, c.code)
                };
                down = _mm512_add_epi16(down, row_code);
                for (best, next) in best.iter_mut().zip(next) {
                    // SAFETY: FP16 when `NATIVE` (the caller's promise).
                    *best = unsafe { merge_row::<NATIVE>(*best, next, down, LOW) };
                }
            }
            let at = q * ow + j;
            let live = low_lanes(m);
            let values = _mm512_permutex2var_epi16(best[0][1], low, best[1][1]);
            // SAFETY: the row's outputs `at..at + m` (the caller's promise).
            unsafe { store_words(out.values.wrapping_add(at), values, live) };
            // Each window's index within it, in the low half of its lane (the high half is zero).
            let t = [best[0][2], best[1][2]];
            match out.indices {
                Sink::None => {}
                Sink::Flat(indices) => {
                    // The flat index of the first window's first tap, which may lie in the left padding.
                    let base = _mm512_set1_epi64((w.start * width) as i64 + start as i64);
                    for (e, lanes) in lanes.into_iter().enumerate() {
                        let t = t[e / 2];
                        let offsets = if e % 2 == 0 {
                            _mm512_castsi512_si256(t)
                        } else {
                            _mm512_extracti64x4_epi64::<1>(t)
                        };
                        let index = _mm512_add_epi64(
                            _mm512_add_epi64(base, lanes),
                            _mm512_cvtepu32_epi64(offsets),
                        );
                        let to = indices.wrapping_add(at + 8 * e);
                        // SAFETY: the row's outputs, the lanes of `live`.
                        unsafe { store_quads(to, index, (live >> (8 * e)) as u8) };
                    }
                }
                Sink::Taps(codes) => {
                    // Codes count from the padded window's first row, `cut` rows above the first covered.
                    let cut = _mm512_set1_epi32(
                        (((w.start as isize - padded) as usize / w.step) * r.code) as i32,
                    );
                    let (lo, hi) = (
                        _mm512_cvtepi32_epi8(_mm512_add_epi32(t[0], cut)),
                        _mm512_cvtepi32_epi8(_mm512_add_epi32(t[1], cut)),
                    );
                    // SAFETY: the row's outputs, the lanes of `live`.
                    unsafe { store_bytes(codes.wrapping_add(at), _mm256_set_m128i(hi, lo), live) };
                }
            }
        }
    }
}

/// The winners within one input row of [`pool_pairs`]' 32 windows, in two halves of 16 (one per vector of 32
/// elements loaded from `row`, the elements of `elements`): the key, the value and the index within the window
/// (0, or `code` for the right tap) in the low half of each window's 32-bit lane. `inside` says, for each half,
/// which windows' left and right taps lie inside the row (bits at the lanes' low halves).
///
/// # Safety
/// The CPU has AVX-512 FP16 when `NATIVE`; the elements of `elements` from `row` on are the row's, readable.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
#[inline]
unsafe fn pair_winners<const NATIVE: bool>(
    row: *const u16,
    elements: u64,
    inside: [(u32, u32); 2],
    inf: __m512i,
    code: usize,
) -> [Best; 2] {
    let mut best = [[_mm512_setzero_si512(); 3]; 2];
    for (h, (best, (left, right))) in best.iter_mut().zip(inside).enumerate() {
        // SAFETY: the mask keeps only elements of the row (the caller's promise); the others are not read, and
        // the pointers to them are formed with wrapping arithmetic.
        let x = unsafe {
            _mm512_maskz_loadu_epi16(
                (elements >> (32 * h)) as u32,
                row.wrapping_add(32 * h).cast(),
            )
        };
        let key = keys16::<NATIVE>(x, inf);
        let (right_key, right_x) = (_mm512_srli_epi32::<16>(key), _mm512_srli_epi32::<16>(x));
        // SAFETY: FP16 when `NATIVE` (the caller's promise).
        let beats = unsafe { beats16::<NATIVE>(right_key, key) };
        // The right tap wins where it beats the left or the left is outside, if it is inside.
        let beats = (beats | (LOW & !left)) & right;
        *best = [
            _mm512_mask_mov_epi16(key, beats, right_key),
            _mm512_mask_mov_epi16(x, beats, right_x),
            _mm512_maskz_mov_epi16(beats, _mm512_set1_epi16(code as i16)),
        ];
    }
    best
}

/// The winners of `strip`'s windows within one input `row`: for each, the first greatest of its taps in the row
/// (what [`keys16`] compares), its bit pattern, and its index within the window (b · `c.code`). Taps outside the
/// row never win: their order keys are below every number's (the running key is then their maximum, as
/// [`keep16`] takes it), and natively, where no `f16` is below every number (-∞ ties), a mask of the windows
/// seen inside so far lets the first inside tap in. Every window has a tap inside the row (a window without
/// input elements is refused before pooling). `THREE`: the windows are three columns wide without dilation
/// (`c.kw` is 3), and the taps are merged unrolled, at stride 2 from four loads.
///
/// # Safety
/// The CPU has AVX-512 FP16 when `NATIVE`; `row` is `c.width` long and `masks` are the strip's
/// [`Strip::masks`] for `c`, so that the loads touch only the row's elements; `c.kw` is 3 and `c.dilation` 1
/// when `THREE`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
#[inline]
unsafe fn row_winners<const NATIVE: bool, const THREE: bool>(
    row: &[u16],
    strip: &Strip,
    masks: &[Masks],
    c: Columns,
    inf: __m512i,
) -> Best {
    // Lane l takes element 2l of the two vectors loaded at stride 2.
    let even = _mm512_set_epi16(
        62, 60, 58, 56, 54, 52, 50, 48, 46, 44, 42, 40, 38, 36, 34, 32, 30, 28, 26, 24, 22, 20, 18,
        16, 14, 12, 10, 8, 6, 4, 2, 0,
    );
    let p = row.as_ptr().wrapping_offset(strip.c0);
    // Three taps at stride 2, at most 31 windows (`Columns::strip_windows`): all taps lie in the 64 elements from
    // the first window's first, loaded once, their keys found once. Taps 0 and 1 are the keys of the even and
    // odd elements, tap 2 tap 0's one lane on. Not natively, the values are not carried beside the keys: the
    // row's winners are picked out of the loaded elements at the end, by their taps.
    // `c.one_load()`, `THREE` being three wide without dilation (written so, LLVM folds it: through the method
    // it did not, and bf16's W1 ran 45% slower).
    let pairs = THREE && c.stride == 2;
    let (loaded, three) = if pairs {
        let odd = _mm512_add_epi16(even, _mm512_set1_epi16(1));
        let next = _mm512_set_epi16(
            31, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11,
            10, 9, 8, 7, 6, 5, 4, 3, 2, 1,
        );
        let a = masks[0].0 | masks[1].0 << 1 | masks[2].0 << 2;
        // SAFETY: the masks keep only elements inside the row; the others are not read, and the pointers to them
        // are formed with wrapping arithmetic.
        let [a0, a1] = unsafe {
            [
                _mm512_maskz_loadu_epi16(a as u32, p.cast()),
                _mm512_maskz_loadu_epi16((a >> 32) as u32, p.wrapping_add(32).cast()),
            ]
        };
        let (k0, k1) = (keys16::<NATIVE>(a0, inf), keys16::<NATIVE>(a1, inf));
        let first = _mm512_permutex2var_epi16(k0, even, k1);
        let taps = [
            first,
            _mm512_permutex2var_epi16(k0, odd, k1),
            _mm512_permutexvar_epi16(next, first),
        ];
        ([a0, a1], taps)
    } else {
        ([_mm512_setzero_si512(); 2], [_mm512_setzero_si512(); 3])
    };
    let outside = _mm512_set1_epi16(i16::MIN);
    let (mut k, mut v, mut t) = (outside, outside, _mm512_setzero_si512());
    // The windows with a tap inside the row so far.
    let mut seen = 0;
    // Three taps unrolled (a loop of `kw` measured slower on W1 and W3).
    for b in 0..if THREE { 3 } else { masks.len() } {
        let (elements, taps) = masks[b];
        let x = if pairs {
            three[b]
        } else {
            let p = p.wrapping_add(b * c.dilation);
            // SAFETY: as above.
            unsafe {
                let lo = _mm512_maskz_loadu_epi16(elements as u32, p.cast());
                if c.stride == 1 {
                    lo
                } else {
                    let hi = _mm512_maskz_loadu_epi16(
                        (elements >> 32) as u32,
                        p.wrapping_add(32).cast(),
                    );
                    _mm512_permutex2var_epi16(lo, even, hi)
                }
            }
        };
        // The split taps are keys already.
        let key = if pairs { x } else { keys16::<NATIVE>(x, inf) };
        let key = if NATIVE || strip.whole {
            key
        } else {
            _mm512_mask_mov_epi16(outside, taps, key)
        };
        if b == 0 {
            // Every key of a tap inside the row beats the outside ones'; natively, `seen` tells them apart.
            (k, v, seen) = (key, x, taps);
            continue;
        }
        // SAFETY: FP16 when `NATIVE` (the caller's promise).
        let mut beats = unsafe { beats16::<NATIVE>(key, k) };
        if NATIVE && !strip.whole {
            // The windows whose first tap inside the row this is take it; mask operations, off the compare's
            // path (through general registers they measured slower on W1).
            beats = _kand_mask32(_kor_mask32(beats, taps & !seen), taps);
            seen |= taps;
        }
        k = keep16::<NATIVE>(k, beats, key);
        if NATIVE || !pairs {
            v = keep_value16::<NATIVE>(v, beats, x, k);
        }
        t = _mm512_mask_mov_epi16(t, beats, _mm512_set1_epi16((b * c.code) as i16));
    }
    if pairs && !NATIVE {
        // Window l's winner is element 2l + its tap (`c.code` is 1 without dilation) of the loaded ones.
        let [a0, a1] = loaded;
        v = _mm512_permutex2var_epi16(a0, _mm512_add_epi16(even, t), a1);
    }
    [k, v, t]
}

/// `len` elements, on the stack when at most `N`, so that the many small calls (a plane of W2 is 28 output rows)
/// do not allocate.
enum Buffer<T, const N: usize> {
    Stack([T; N], usize),
    Heap(Vec<T>),
}

impl<T: Copy, const N: usize> Buffer<T, N> {
    /// `len` copies of `fill`.
    fn new(fill: T, len: usize) -> Self {
        if len <= N {
            Buffer::Stack([fill; N], len)
        } else {
            Buffer::Heap(vec![fill; len])
        }
    }
}

impl<T, const N: usize> std::ops::Deref for Buffer<T, N> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        match self {
            Buffer::Stack(a, len) => &a[..*len],
            Buffer::Heap(v) => v,
        }
    }
}

impl<T, const N: usize> std::ops::DerefMut for Buffer<T, N> {
    fn deref_mut(&mut self) -> &mut [T] {
        match self {
            Buffer::Stack(a, len) => &mut a[..*len],
            Buffer::Heap(v) => v,
        }
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;
    use crate::semantics::window_argmax;
    use crate::technique::Scratch;
    use crate::{f16, Padding, Params};

    /// `f16` through the order keys (what AVX-512 CPUs without FP16 run) and natively (where this CPU has FP16)
    /// give the scalar scan's winners, bit for bit, on planes of NaNs of both signs and payloads, zeros of both
    /// signs, infinities, subnormals and ties, at the geometries the kernel takes: strides 1 and 2, padding on
    /// every side (windows cut on the left and right), row dilation, and rows of more than 32 windows (31 for
    /// k3 s2, whose rows `pool_kept` or, five rows high, `pool_block` pool); two-column windows at column stride 2
    /// whose rows no two windows share (k2 s2) in the same, through `pool_pairs`.
    #[test]
    fn f16_keys_and_native_match_the_scan() {
        if !Simd::Avx512.is_available() {
            return;
        }
        let specials: [u16; 12] = [
            0x7e00, 0xfe01, 0x7c01, 0x0000, 0x8000, 0x7c00, 0xfc00, 0x0001, 0x8001, 0x3c00, 0xbc00,
            0x3c00,
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || xorshift(&mut state);
        let sides = Padding {
            top: 1,
            bottom: 2,
            left: 2,
            right: 1,
        };
        let geometries = [
            Params::new(3).with_stride(2).with_padding(1),
            Params::new(3).with_stride(1),
            Params::new(2),
            Params::new(2).with_padding(1).with_ceil_mode(true),
            Params::rect(3, 2)
                .with_stride_hw(4, 2)
                .with_dilation_hw(2, 1)
                .with_padding(1),
            Params::new(3)
                .with_stride(2)
                .with_padding_sides(sides)
                .with_ceil_mode(true),
            Params::rect(2, 3).with_stride(1).with_dilation_hw(2, 1),
            Params::new(3)
                .with_stride(1)
                .with_dilation_hw(1, 2)
                .with_padding(1),
            Params::rect(5, 3).with_stride(2).with_padding(1),
        ];
        for params in geometries {
            for (height, width) in [(9, 70), (6, 33), (5, 131)] {
                let g = Geometry::new(&params, height, width).unwrap();
                let plane: Vec<f16> = (0..height * width)
                    .map(|_| {
                        let r = next();
                        let bits = if r % 4 == 0 {
                            specials[(r >> 8) as usize % specials.len()]
                        } else {
                            (r >> 16) as u16 % 8 + 0x3c00
                        };
                        f16::from_bits(bits)
                    })
                    .collect();
                for native in [false, true] {
                    let what = format!("{params:?} on {height}x{width}, native {native}");
                    assert!(
                        pooled_as_the_scan(&g, &plane, Some(native), &what),
                        "{what}: not taken"
                    );
                }
            }
        }
    }

    /// Winners' offsets from their strips' first windows' first taps ride in 16-bit lanes: the kernel takes k3 s2
    /// planes up to the width where the last of 31 windows' bottom right tap is 65534 past the first window's
    /// first, and gives the scan's winners there, and leaves the next width to the generic loops.
    #[test]
    fn offsets_fit_16_bits_up_to_the_widest_plane_taken() {
        if !Simd::Avx512.is_available() {
            return;
        }
        let params = Params::new(3).with_stride(2);
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for (width, taken) in [(32735, true), (32736, false)] {
            let g = Geometry::new(&params, 3, width).unwrap();
            let plane: Vec<f16> = (0..3 * width)
                .map(|_| f16::from_bits((xorshift(&mut state) >> 40) as u16 % 0x7c00))
                .collect();
            let done = pooled_as_the_scan(&g, &plane, None, &format!("width {width}"));
            assert_eq!(done, taken, "width {width}");
        }
    }

    /// Pools `plane` with `g` through [`rows_half_as`] (natively as `native` says) and checks each window's
    /// winner against the scalar scan's, bit for bit; false, checking nothing, if the kernel does not take it.
    fn pooled_as_the_scan(g: &Geometry, plane: &[f16], native: Option<bool>, what: &str) -> bool {
        let (oh, ow, width) = (g.out_height(), g.out_width(), g.width());
        let mut values = vec![f16::from_bits(0x1234); oh * ow];
        let mut indices = vec![-1i64; oh * ow];
        let mut scratch = Scratch::default();
        let mut out = Winners::new(
            &mut values,
            Some(&mut indices),
            None,
            false,
            None,
            &mut scratch,
        );
        let done = rows_half_as(Simd::Avx512, g, plane, 0..oh, &mut out, native);
        out.finish();
        if !done {
            return false;
        }
        for o in 0..oh {
            for j in 0..ow {
                let (v, i) =
                    window_argmax(plane, width, g.row_windows().get(o), g.col_windows().get(j));
                let k = o * ow + j;
                assert_eq!(
                    (values[k].to_bits(), indices[k]),
                    (v.to_bits(), i as i64),
                    "{what}, window ({o}, {j})"
                );
            }
        }
        true
    }

    /// The next of a xorshift sequence from `state`.
    fn xorshift(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }
}
