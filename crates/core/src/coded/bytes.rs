//! Vectors of byte counters for counting from codes, one type per instruction-set level: the compiler kept its
//! own vectorised counters on the stack (a load, a compare and a store for every tap), so the operations are
//! written out for AVX-512 and AVX2, with plain loops for every other target.

/// `LANES` byte counters, and the operations [`CountRows`](super::CountRows) needs on them.
pub(super) trait Bytes: Copy {
    /// Counters in a vector.
    const LANES: usize;

    /// All zero.
    ///
    /// # Safety
    /// The CPU must have the type's instruction-set level.
    unsafe fn zero() -> Self;

    /// Adds 1 to each counter whose byte of `codes` (at least `LANES` long) is `code`.
    ///
    /// # Safety
    /// As for [`Bytes::zero`].
    unsafe fn count(self, codes: &[u8], code: u8) -> Self;

    /// The counters, widened, into `out[..LANES]`.
    ///
    /// # Safety
    /// As for [`Bytes::zero`].
    unsafe fn widen(self, out: &mut [u32]);

    /// Two phases' counters, widened and interleaved (`even[0], odd[0], even[1], …`), into `out[..2·LANES]`.
    ///
    /// # Safety
    /// As for [`Bytes::zero`].
    unsafe fn widen_pairs(even: Self, odd: Self, out: &mut [u32]);
}

/// Plain loops, for every level and target: 16 counters.
#[derive(Clone, Copy)]
pub(super) struct Portable([u8; 16]);

impl Bytes for Portable {
    const LANES: usize = 16;

    #[inline(always)]
    unsafe fn zero() -> Self {
        Portable([0; 16])
    }

    #[inline(always)]
    unsafe fn count(mut self, codes: &[u8], code: u8) -> Self {
        for (n, &c) in self.0.iter_mut().zip(&codes[..Self::LANES]) {
            *n += u8::from(c == code);
        }
        self
    }

    #[inline(always)]
    unsafe fn widen(self, out: &mut [u32]) {
        for (o, &n) in out[..Self::LANES].iter_mut().zip(&self.0) {
            *o = u32::from(n);
        }
    }

    #[inline(always)]
    unsafe fn widen_pairs(even: Self, odd: Self, out: &mut [u32]) {
        for (pair, (&e, &o)) in out[..2 * Self::LANES]
            .chunks_exact_mut(2)
            .zip(even.0.iter().zip(&odd.0))
        {
            (pair[0], pair[1]) = (u32::from(e), u32::from(o));
        }
    }
}

#[cfg(target_arch = "x86_64")]
pub(super) use x86::{Avx2, Avx512};

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::Bytes;

    /// 64 counters in an AVX-512 vector (AVX-512F and BW).
    #[derive(Clone, Copy)]
    pub(in crate::coded) struct Avx512(__m512i);

    impl Bytes for Avx512 {
        const LANES: usize = 64;

        #[inline(always)]
        unsafe fn zero() -> Self {
            // SAFETY: the caller's CPU has AVX-512F.
            Avx512(unsafe { _mm512_setzero_si512() })
        }

        #[inline(always)]
        unsafe fn count(self, codes: &[u8], code: u8) -> Self {
            let codes = &codes[..Self::LANES];
            // SAFETY: the caller's CPU has AVX-512F and BW; the 64 bytes lie inside `codes`.
            unsafe {
                let hits = _mm512_cmpeq_epi8_mask(
                    _mm512_loadu_si512(codes.as_ptr().cast()),
                    _mm512_set1_epi8(code as i8),
                );
                Avx512(_mm512_mask_sub_epi8(
                    self.0,
                    hits,
                    self.0,
                    _mm512_set1_epi8(-1),
                ))
            }
        }

        #[inline(always)]
        unsafe fn widen(self, out: &mut [u32]) {
            let out = &mut out[..Self::LANES];
            // SAFETY: the caller's CPU has AVX-512F; each store of 16 lies inside `out`.
            unsafe {
                let to = out.as_mut_ptr().cast::<__m512i>();
                let v = self.0;
                _mm512_storeu_si512(to, _mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32::<0>(v)));
                _mm512_storeu_si512(
                    to.add(1),
                    _mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32::<1>(v)),
                );
                _mm512_storeu_si512(
                    to.add(2),
                    _mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32::<2>(v)),
                );
                _mm512_storeu_si512(
                    to.add(3),
                    _mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32::<3>(v)),
                );
            }
        }

        #[inline(always)]
        unsafe fn widen_pairs(even: Self, odd: Self, out: &mut [u32]) {
            let out = &mut out[..2 * Self::LANES];
            // SAFETY: the caller's CPU has AVX-512F and BW; each store of 16 lies inside `out`.
            unsafe {
                // Interleaved within each 128-bit lane L: `low` holds columns 32L..32L+16, `high` the next 16.
                let low = _mm512_unpacklo_epi8(even.0, odd.0);
                let high = _mm512_unpackhi_epi8(even.0, odd.0);
                let to = out.as_mut_ptr().cast::<__m512i>();
                let wide = |v: __m128i| _mm512_cvtepu8_epi32(v);
                _mm512_storeu_si512(to, wide(_mm512_extracti32x4_epi32::<0>(low)));
                _mm512_storeu_si512(to.add(1), wide(_mm512_extracti32x4_epi32::<0>(high)));
                _mm512_storeu_si512(to.add(2), wide(_mm512_extracti32x4_epi32::<1>(low)));
                _mm512_storeu_si512(to.add(3), wide(_mm512_extracti32x4_epi32::<1>(high)));
                _mm512_storeu_si512(to.add(4), wide(_mm512_extracti32x4_epi32::<2>(low)));
                _mm512_storeu_si512(to.add(5), wide(_mm512_extracti32x4_epi32::<2>(high)));
                _mm512_storeu_si512(to.add(6), wide(_mm512_extracti32x4_epi32::<3>(low)));
                _mm512_storeu_si512(to.add(7), wide(_mm512_extracti32x4_epi32::<3>(high)));
            }
        }
    }

    /// 32 counters in an AVX2 vector.
    #[derive(Clone, Copy)]
    pub(in crate::coded) struct Avx2(__m256i);

    impl Bytes for Avx2 {
        const LANES: usize = 32;

        #[inline(always)]
        unsafe fn zero() -> Self {
            // SAFETY: the caller's CPU has AVX.
            Avx2(unsafe { _mm256_setzero_si256() })
        }

        #[inline(always)]
        unsafe fn count(self, codes: &[u8], code: u8) -> Self {
            let codes = &codes[..Self::LANES];
            // SAFETY: the caller's CPU has AVX2; the 32 bytes lie inside `codes`. A match is all ones, -1.
            unsafe {
                let hits = _mm256_cmpeq_epi8(
                    _mm256_loadu_si256(codes.as_ptr().cast()),
                    _mm256_set1_epi8(code as i8),
                );
                Avx2(_mm256_sub_epi8(self.0, hits))
            }
        }

        #[inline(always)]
        unsafe fn widen(self, out: &mut [u32]) {
            let out = &mut out[..Self::LANES];
            // SAFETY: the caller's CPU has AVX2; each store of 8 lies inside `out`.
            unsafe {
                let to = out.as_mut_ptr().cast::<__m256i>();
                let (low, high) = (
                    _mm256_castsi256_si128(self.0),
                    _mm256_extracti128_si256::<1>(self.0),
                );
                _mm256_storeu_si256(to, _mm256_cvtepu8_epi32(low));
                _mm256_storeu_si256(to.add(1), _mm256_cvtepu8_epi32(_mm_srli_si128::<8>(low)));
                _mm256_storeu_si256(to.add(2), _mm256_cvtepu8_epi32(high));
                _mm256_storeu_si256(to.add(3), _mm256_cvtepu8_epi32(_mm_srli_si128::<8>(high)));
            }
        }

        #[inline(always)]
        unsafe fn widen_pairs(even: Self, odd: Self, out: &mut [u32]) {
            let out = &mut out[..2 * Self::LANES];
            // SAFETY: the caller's CPU has AVX2; each store of 8 lies inside `out`.
            unsafe {
                // Interleaved within each 128-bit lane L: `low` holds columns 32L..32L+16, `high` the next 16.
                let low = _mm256_unpacklo_epi8(even.0, odd.0);
                let high = _mm256_unpackhi_epi8(even.0, odd.0);
                let to = out.as_mut_ptr().cast::<__m256i>();
                let quarters = [
                    _mm256_castsi256_si128(low),
                    _mm256_castsi256_si128(high),
                    _mm256_extracti128_si256::<1>(low),
                    _mm256_extracti128_si256::<1>(high),
                ];
                for (q, v) in quarters.into_iter().enumerate() {
                    _mm256_storeu_si256(to.add(2 * q), _mm256_cvtepu8_epi32(v));
                    _mm256_storeu_si256(
                        to.add(2 * q + 1),
                        _mm256_cvtepu8_epi32(_mm_srli_si128::<8>(v)),
                    );
                }
            }
        }
    }
}
