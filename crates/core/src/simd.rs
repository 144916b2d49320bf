//! Which instruction set the backends' loops are compiled for, chosen once per process from the CPU's features.
//! [`Simd::run`] compiles the same generic code once per level (`#[target_feature]`), so every level computes
//! the same thing and the conformance suite can run on each: `MAXPOOL_SIMD` caps the level, for tests and for
//! comparison.

use std::fmt;
use std::sync::OnceLock;

/// The environment variable that caps the instruction set: `portable`, `avx2` or `avx512`. Read once per process.
pub const SIMD_ENV: &str = "MAXPOOL_SIMD";

/// An instruction-set level the kernels are compiled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Simd {
    /// The target's baseline: SSE2 on x86-64, NEON on aarch64, plain code elsewhere.
    Portable,
    /// AVX2 (x86-64).
    Avx2,
    /// AVX-512 F/BW/DQ/VL (x86-64).
    Avx512,
}

impl Simd {
    /// Every level, lowest first.
    pub const ALL: [Simd; 3] = [Simd::Portable, Simd::Avx2, Simd::Avx512];

    /// The name `MAXPOOL_SIMD` takes.
    pub const fn name(self) -> &'static str {
        match self {
            Simd::Portable => "portable",
            Simd::Avx2 => "avx2",
            Simd::Avx512 => "avx512",
        }
    }

    /// Whether this CPU can run this level.
    pub fn is_available(self) -> bool {
        match self {
            Simd::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Simd::Avx2 => {
                // Every feature the level's functions are compiled with (`avx2` and `avx512` below).
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                    && std::arch::is_x86_feature_detected!("bmi1")
                    && std::arch::is_x86_feature_detected!("bmi2")
                    && std::arch::is_x86_feature_detected!("lzcnt")
                    && std::arch::is_x86_feature_detected!("popcnt")
            }
            #[cfg(target_arch = "x86_64")]
            Simd::Avx512 => {
                Simd::Avx2.is_available()
                    && std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512bw")
                    && std::arch::is_x86_feature_detected!("avx512dq")
                    && std::arch::is_x86_feature_detected!("avx512vl")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// [`Simd::active`] for a plan of `backend`: an invalid `MAXPOOL_SIMD` is the plan's error.
    pub fn for_plan(backend: &'static str) -> crate::Result<Simd> {
        Simd::active().map_err(|reason| crate::Error::Unsupported {
            backend,
            reason: reason.to_owned(),
        })
    }

    /// The levels this CPU can run, lowest first.
    pub fn available() -> Vec<Simd> {
        Simd::ALL.into_iter().filter(|s| s.is_available()).collect()
    }

    /// The level in use: the best this CPU has, at most what `MAXPOOL_SIMD` asks for; an error message when
    /// `MAXPOOL_SIMD` names no level.
    pub fn active() -> Result<Simd, &'static str> {
        static ACTIVE: OnceLock<Result<Simd, &'static str>> = OnceLock::new();
        *ACTIVE.get_or_init(|| {
            let best = Simd::ALL
                .into_iter()
                .rev()
                .find(|s| s.is_available())
                .unwrap_or(Simd::Portable);
            match std::env::var(SIMD_ENV) {
                Err(_) => Ok(best),
                Ok(v) => match Simd::ALL
                    .into_iter()
                    .find(|s| s.name().eq_ignore_ascii_case(v.trim()))
                {
                    Some(cap) => Ok(cap.min(best)),
                    None => Err("MAXPOOL_SIMD must be portable, avx2 or avx512"),
                },
            }
        })
    }
}

impl Simd {
    /// Runs `kernel` compiled for this level: [`Vectorised::run`], which must be `#[inline(always)]`, is inlined
    /// into a function built with the level's target features, so the loops in it vectorise for them. A level
    /// this CPU lacks runs it as portable code.
    #[inline(always)]
    pub fn run<K: Vectorised>(self, kernel: K) -> K::Output {
        match self {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the CPU has the features (checked; the check is a cached load).
            Simd::Avx512 if self.is_available() => unsafe { avx512(kernel) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above.
            Simd::Avx2 if self.is_available() => unsafe { avx2(kernel) },
            _ => kernel.run(),
        }
    }
}

/// A computation to compile once per instruction-set level: a struct holding its arguments, whose `run` is
/// `#[inline(always)]` so that its code lands inside [`Simd::run`]'s per-level functions. (A closure would not
/// reliably be inlined there, and its loops would stay scalar.)
pub trait Vectorised {
    /// What it returns.
    type Output;
    /// Does the work. Implement it `#[inline(always)]`.
    fn run(self) -> Self::Output;
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,bmi1,bmi2,lzcnt,popcnt")]
unsafe fn avx512<K: Vectorised>(kernel: K) -> K::Output {
    kernel.run()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,bmi1,bmi2,lzcnt,popcnt")]
unsafe fn avx2<K: Vectorised>(kernel: K) -> K::Output {
    kernel.run()
}

/// A lane mask with the `k` lowest of 32 lanes set, `k <= 32`: the live lanes of a short vector in masked loads
/// and stores.
#[inline(always)]
pub const fn low_lanes(k: usize) -> u32 {
    low_lanes64(k) as u32
}

/// [`low_lanes`] of 64 lanes, `k <= 64`.
#[inline(always)]
pub const fn low_lanes64(k: usize) -> u64 {
    if k >= 64 {
        !0
    } else {
        (1u64 << k) - 1
    }
}

/// The lanes `i` of `0..n` (`n <= 64`) whose positions `start + step · i` lie inside a row of `width`, as a
/// mask: which of a vector's loads or windows a row's edges (and the padding beyond) leave in.
pub fn lanes_inside(start: isize, step: usize, n: usize, width: usize) -> u64 {
    let up_to = |x: isize| (x.max(0) as usize).div_ceil(step).min(n);
    let (lo, hi) = (up_to(-start), up_to(width as isize - start));
    low_lanes64(hi) & !low_lanes64(lo.min(hi))
}

impl fmt::Display for Simd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Stores the low byte of each of the first `k` (at most 8) 32-bit lanes of `lanes`, each below 256, at `to`: one
/// tap code a window ([`IndexRun::Taps`](crate::IndexRun::Taps)) from lanes that hold them as `i32`.
///
/// # Safety
/// The CPU has AVX2, and `to..to + k` is writable.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
pub unsafe fn store_bytes_avx2(lanes: std::arch::x86_64::__m256i, to: *mut u8, k: usize) {
    use std::arch::x86_64::*;
    let words = _mm_packus_epi32(
        _mm256_castsi256_si128(lanes),
        _mm256_extracti128_si256::<1>(lanes),
    );
    let bytes = _mm_packus_epi16(words, words);
    // SAFETY: the caller's.
    unsafe {
        if k >= 8 {
            _mm_storel_epi64(to.cast(), bytes)
        } else {
            let bytes = (_mm_cvtsi128_si64(bytes) as u64).to_le_bytes();
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), to, k)
        }
    }
}

/// [`order_key`](crate::order_key) of 32 bit patterns of a 16-bit float format whose +∞ is `inf` (in every lane):
/// the magnitude, negated where the sign bit is set (-0 becomes 0, like +0), and the pattern after +∞ for every
/// NaN (above every number, as `order_key`'s `i16::MAX` is). Its
/// `vpcmpgtw` is [`beats`](crate::semantics::beats), lane by lane. Three instructions: the negative numbers'
/// negated magnitude is `0x8000 - x`, and every other pattern's key its unsigned minimum with the one after +∞
/// (negative NaNs are the largest as unsigned, positive ones above +∞).
///
/// # Safety
/// The CPU has AVX-512 F and BW (a safe call from code compiled with them).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
#[inline]
pub fn order_keys_avx512(
    x: std::arch::x86_64::__m512i,
    inf: std::arch::x86_64::__m512i,
) -> std::arch::x86_64::__m512i {
    use std::arch::x86_64::*;
    // The negative numbers, -0 to -∞, are the patterns below the one after -∞, as `i16`s; negative NaNs are not.
    let after_minus_inf = _mm512_add_epi16(inf, _mm512_set1_epi16(i16::MIN + 1));
    let negative = _mm512_cmplt_epi16_mask(x, after_minus_inf);
    let others = _mm512_min_epu16(x, _mm512_add_epi16(inf, _mm512_set1_epi16(1)));
    _mm512_mask_sub_epi16(others, negative, _mm512_set1_epi16(i16::MIN), x)
}

/// Whether the CPU has AVX-512 FP16, with which the AVX-512 16-bit kernels compare `f16` natively.
pub fn avx512_fp16() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::arch::is_x86_feature_detected!("avx512fp16");
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// What the AVX-512 16-bit kernels compare for 32 bit patterns `x` of a format whose +∞ is `inf`: when `NATIVE`
/// (`f16` on a CPU with AVX-512 FP16) the patterns themselves, else their [`order_keys_avx512`].
///
/// # Safety
/// The CPU has AVX-512 F and BW (a safe call from code compiled with them).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
#[inline]
pub fn keys16<const NATIVE: bool>(
    x: std::arch::x86_64::__m512i,
    inf: std::arch::x86_64::__m512i,
) -> std::arch::x86_64::__m512i {
    if NATIVE {
        x
    } else {
        order_keys_avx512(x, inf)
    }
}

/// The lanes where `new` beats `best` ([`beats`](crate::semantics::beats)), both from [`keys16`]: natively
/// [`beats_f16x32`](crate::semantics::beats_f16x32), else a `>` of order keys.
///
/// # Safety
/// The CPU has AVX-512 F and BW, and FP16 when `NATIVE`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
#[inline]
pub unsafe fn beats16<const NATIVE: bool>(
    new: std::arch::x86_64::__m512i,
    best: std::arch::x86_64::__m512i,
) -> std::arch::x86_64::__mmask32 {
    use std::arch::x86_64::*;
    if NATIVE {
        // SAFETY: the CPU has FP16 (the caller's promise).
        unsafe { crate::semantics::beats_f16x32(new, best) }
    } else {
        _mm512_cmpgt_epi16_mask(new, best)
    }
}

/// The running comparand once `new` was compared with `best` ([`beats16`]), `beats` the lanes where it won: `new`
/// there, `best` elsewhere. For order keys, that is their maximum (one instruction off the mask's path).
///
/// # Safety
/// The CPU has AVX-512 F and BW (a safe call from code compiled with them).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
#[inline]
pub fn keep16<const NATIVE: bool>(
    best: std::arch::x86_64::__m512i,
    beats: std::arch::x86_64::__mmask32,
    new: std::arch::x86_64::__m512i,
) -> std::arch::x86_64::__m512i {
    use std::arch::x86_64::*;
    if NATIVE {
        _mm512_mask_mov_epi16(best, beats, new)
    } else {
        _mm512_max_epi16(best, new)
    }
}

/// The running value beside [`keep16`]'s running key `key`, once `new` was compared with `best` ([`beats16`]),
/// `beats` the lanes where it won: natively the key itself (the keys are the values: one blend, not two, which
/// LLVM does not see for itself), else `new` there and `best` elsewhere.
///
/// # Safety
/// The CPU has AVX-512 F and BW (a safe call from code compiled with them).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
#[inline]
pub fn keep_value16<const NATIVE: bool>(
    best: std::arch::x86_64::__m512i,
    beats: std::arch::x86_64::__mmask32,
    new: std::arch::x86_64::__m512i,
    key: std::arch::x86_64::__m512i,
) -> std::arch::x86_64::__m512i {
    if NATIVE {
        key
    } else {
        std::arch::x86_64::_mm512_mask_mov_epi16(best, beats, new)
    }
}

/// [`order_keys_avx512`] for 16 bit patterns with AVX2: the magnitude given the pattern's sign (`vpsignw`: -0
/// becomes 0, like +0), and `i16::MAX` for every NaN.
///
/// # Safety
/// The CPU has AVX2 (a safe call from code compiled with it).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
pub fn order_keys_avx2(
    x: std::arch::x86_64::__m256i,
    inf: std::arch::x86_64::__m256i,
) -> std::arch::x86_64::__m256i {
    use std::arch::x86_64::*;
    let magnitude = _mm256_and_si256(x, _mm256_set1_epi16(0x7fff));
    let signed = _mm256_sign_epi16(magnitude, x);
    let nan = _mm256_cmpgt_epi16(magnitude, inf);
    _mm256_blendv_epi8(signed, _mm256_set1_epi16(0x7fff), nan)
}

/// The 16-bit kernels' tap coordinates `a · 256 + b` (16 lanes of `u16`) as 32-bit offsets
/// `a · step_a + b · step_b`, which the caller knows fit a `u32`.
///
/// # Safety
/// The CPU has AVX-512 F and BW (a safe call from code compiled with them).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
#[inline]
pub fn tap_offsets_avx512(
    taps: std::arch::x86_64::__m256i,
    step_a: std::arch::x86_64::__m512i,
    step_b: std::arch::x86_64::__m512i,
) -> std::arch::x86_64::__m512i {
    use std::arch::x86_64::*;
    let t = _mm512_cvtepu16_epi32(taps);
    let (a, b) = (
        _mm512_srli_epi32::<8>(t),
        _mm512_and_si512(t, _mm512_set1_epi32(0xff)),
    );
    _mm512_add_epi32(_mm512_mullo_epi32(a, step_a), _mm512_mullo_epi32(b, step_b))
}

/// [`tap_offsets_avx512`] for 8 lanes with AVX2.
///
/// # Safety
/// The CPU has AVX2 (a safe call from code compiled with it).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
pub fn tap_offsets_avx2(
    taps: std::arch::x86_64::__m128i,
    step_a: std::arch::x86_64::__m256i,
    step_b: std::arch::x86_64::__m256i,
) -> std::arch::x86_64::__m256i {
    use std::arch::x86_64::*;
    let t = _mm256_cvtepu16_epi32(taps);
    let (a, b) = (
        _mm256_srli_epi32::<8>(t),
        _mm256_and_si256(t, _mm256_set1_epi32(0xff)),
    );
    _mm256_add_epi32(_mm256_mullo_epi32(a, step_a), _mm256_mullo_epi32(b, step_b))
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;
    use std::arch::x86_64::*;

    /// [`order_keys_avx512`] is [`order_key`](crate::order_key) for every pattern of both 16-bit formats, but for
    /// NaNs, which all take the pattern after +∞ (above every number's key, as `order_key`'s `i16::MAX` is).
    #[test]
    fn avx512_keys_are_the_order_keys() {
        if !Simd::Avx512.is_available() {
            return;
        }
        /// The keys of all 65536 patterns, for +∞ `inf`.
        #[target_feature(enable = "avx512f,avx512bw")]
        fn keys(inf: u16) -> Vec<i16> {
            let mut keys = vec![0i16; 1 << 16];
            for (chunk, first) in keys.chunks_exact_mut(32).zip((0..1u32 << 16).step_by(32)) {
                let bits: [u16; 32] = std::array::from_fn(|l| (first + l as u32) as u16);
                // SAFETY: 32 `u16`s each, read and written.
                unsafe {
                    let x = _mm512_loadu_si512(bits.as_ptr().cast());
                    let k = order_keys_avx512(x, _mm512_set1_epi16(inf as i16));
                    _mm512_storeu_si512(chunk.as_mut_ptr().cast(), k);
                }
            }
            keys
        }
        for (inf, order_key) in [
            (0x7c00u16, crate::order_key::<0x7c00> as fn(u16) -> i16),
            (0x7f80, crate::order_key::<0x7f80>),
        ] {
            // SAFETY: the CPU has AVX-512 (checked above).
            let keys = unsafe { keys(inf) };
            for (bits, key) in (0..=u16::MAX).zip(keys) {
                let nan = bits & 0x7fff > inf;
                let want = if nan { inf as i16 + 1 } else { order_key(bits) };
                assert_eq!(key, want, "pattern {bits:#06x}, +inf {inf:#06x}");
            }
        }
    }
}
