//! How fuzz input bytes become a pooling call. The layout is fixed, so the seed corpus can be written by hand
//! (`fuzz/make_corpus.py`): 14 header bytes, then the elements' bytes.
//!
//! | byte | meaning |
//! |---|---|
//! | 0–1 | kernel h, w: 1 + b % 5 (raw mode: b) |
//! | 2–3 | stride h, w: 1 + b % 4 (raw: b) |
//! | 4–5 | dilation h, w: 1 + b % 3 (raw: b) |
//! | 6–9 | padding top, bottom, left, right: b % 5 (raw: b) |
//! | 10 | bit 0 ceil mode; bits 1–3 element type (f32 f64 i8 u8 i16 u16 i32 i64); bits 4–6 backend; bit 7 raw |
//! | 11 | planes: b % 4 |
//! | 12–13 | height, width: 1 + b % 24 (raw: b, so 0 too) |

use maxpool::{Backend, DType, Padding, Params};

pub struct Call<'a> {
    pub params: Params,
    pub dtype: DType,
    pub backend: u32,
    pub planes: usize,
    pub height: usize,
    pub width: usize,
    pub raw: bool,
    pub data: &'a [u8],
}

pub fn decode(bytes: &[u8]) -> Option<Call<'_>> {
    let (h, data) = bytes.split_at_checked(14)?;
    let raw = h[10] & 0x80 != 0;
    let pick = |b: u8, m: usize, base: usize| {
        if raw {
            b as usize
        } else {
            base + b as usize % m
        }
    };
    Some(Call {
        params: Params {
            kernel: [pick(h[0], 5, 1), pick(h[1], 5, 1)],
            stride: [pick(h[2], 4, 1), pick(h[3], 4, 1)],
            dilation: [pick(h[4], 3, 1), pick(h[5], 3, 1)],
            padding: Padding {
                top: pick(h[6], 5, 0),
                bottom: pick(h[7], 5, 0),
                left: pick(h[8], 5, 0),
                right: pick(h[9], 5, 0),
            },
            ceil_mode: h[10] & 1 != 0,
        },
        dtype: DType::ALL[(h[10] as usize >> 1) & 7],
        backend: (h[10] as u32 >> 4) & 7,
        planes: h[11] as usize % 4,
        height: pick(h[12], 24, 1),
        width: pick(h[13], 24, 1),
        raw,
        data,
    })
}

/// The backend a C value names, when it names one.
pub fn backend(value: u32) -> Option<Backend> {
    [
        Backend::Auto,
        Backend::Naive,
        Backend::Block,
        Backend::Lookup,
        Backend::Simd,
    ]
    .get(value as usize)
    .copied()
}

/// `n` elements from the data bytes, cycled (zeros when there are none), so NaN payloads, infinities and integer
/// extremes come straight from the fuzzer.
pub fn elements<T: Copy + Default, const N: usize>(
    data: &[u8],
    n: usize,
    from: fn([u8; N]) -> T,
) -> Vec<T> {
    if data.len() < N {
        return vec![T::default(); n];
    }
    (0..n)
        .map(|i| {
            let start = (i * N) % (data.len() - N + 1);
            from(data[start..start + N].try_into().unwrap())
        })
        .collect()
}
