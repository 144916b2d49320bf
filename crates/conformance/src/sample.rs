//! What the suite needs of an element type beyond the library's [`Element`]: exact comparison, and generators
//! that favour the values that break pooling code (NaN, ±inf, ±0, integer extremes, ties).

use maxpool::{bf16, f16, Element};

use crate::generate::Source;

/// An element type the suite can generate and compare bit for bit.
pub trait Sample: Element {
    /// The bit pattern, so that NaN payloads and the sign of zero count.
    fn bits(self) -> u64;
    /// One element, often a special or repeated one.
    fn draw(src: &mut impl Source) -> Self;
    /// 1 as this type, for building gradients.
    fn one() -> Self;
    /// The reference's rule, apart from the library's: does `candidate`, met later in a window's scan, take the
    /// window from `best`? Greater, or a NaN while `best` is not one.
    fn reference_beats(candidate: Self, best: Self) -> bool {
        !best.is_nan() && (candidate.is_nan() || candidate > best)
    }
}

macro_rules! float_sample {
    ($t:ty, $bits:ty, $neg_nan:expr) => {
        impl Sample for $t {
            fn bits(self) -> u64 {
                self.to_bits() as u64
            }
            fn draw(src: &mut impl Source) -> Self {
                // Small integers first (the simplest choice), then the special values, then any bit pattern.
                match src.weighted(&[6, 2, 1, 2, 2, 1, 1, 1, 1, 6]) {
                    0 => (src.below(7) as i8 - 3) as $t,
                    1 => <$t>::NAN,
                    2 => <$t>::from_bits($neg_nan),
                    3 => <$t>::INFINITY,
                    4 => <$t>::NEG_INFINITY,
                    5 => 0.0,
                    6 => -0.0,
                    7 => <$t>::MAX,
                    8 => <$t>::MIN,
                    _ => <$t>::from_bits(src.next_u64() as $bits),
                }
            }
            fn one() -> Self {
                1.0
            }
        }
    };
}

float_sample!(f32, u32, 0xffc0_0001);
float_sample!(f64, u64, 0xfff8_0000_0000_0001);

macro_rules! int_sample {
    ($($t:ty),*) => {$(
        impl Sample for $t {
            fn bits(self) -> u64 {
                self as u64
            }
            fn draw(src: &mut impl Source) -> Self {
                // Ties near the middle of the range first, then the extremes, then any value.
                match src.weighted(&[8, 2, 2, 1, 6]) {
                    0 => (src.below(4) as $t).wrapping_add(<$t>::MIN / 2),
                    1 => <$t>::MIN,
                    2 => <$t>::MAX,
                    3 => 0 as $t,
                    _ => src.next_u64() as $t,
                }
            }
            fn one() -> Self {
                1
            }
        }
    )*};
}

int_sample!(i8, u8, i16, u16, i32, i64);

/// A 16-bit float's value from its bit pattern, decoded by hand (sign, `exponent_bits` of exponent, the rest
/// mantissa; IEEE 754 layout): exact in `f64`, NaN for every NaN pattern.
pub fn decode_half(bits: u16, exponent_bits: u32) -> f64 {
    let mantissa_bits = 15 - exponent_bits;
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exponent = ((bits >> mantissa_bits) & ((1 << exponent_bits) - 1)) as i32;
    let mantissa = (bits & ((1 << mantissa_bits) - 1)) as f64;
    let bias = (1 << (exponent_bits - 1)) - 1;
    let all_ones = (1 << exponent_bits) - 1;
    // 2^(e - mantissa_bits), built from its bits: exact everywhere (Miri makes `powi` imprecise on purpose).
    let scale = |e: i32| f64::from_bits(((e - mantissa_bits as i32 + 1023) as u64) << 52);
    sign * if exponent == all_ones {
        if mantissa == 0.0 {
            f64::INFINITY
        } else {
            f64::NAN
        }
    } else if exponent == 0 {
        mantissa * scale(1 - bias)
    } else {
        (mantissa + (1u32 << mantissa_bits) as f64) * scale(exponent - bias)
    }
}

macro_rules! half_sample {
    ($t:ty, $exponent_bits:expr) => {
        impl Sample for $t {
            fn bits(self) -> u64 {
                self.to_bits() as u64
            }
            fn draw(src: &mut impl Source) -> Self {
                // Small integers first, then the special values (NaNs with payloads and either sign, a signalling
                // one), then any bit pattern. Built from bit patterns and small integers, not from the library.
                let inf: u16 = ((1u16 << $exponent_bits) - 1) << (15 - $exponent_bits);
                let bits = match src.weighted(&[6, 2, 2, 1, 2, 2, 1, 1, 1, 1, 6]) {
                    0 => return <$t>::from_f32((src.below(7) as i8 - 3) as f32),
                    1 => inf | (1 << (14 - $exponent_bits)), // quiet NaN
                    2 => 0x8000 | inf | 1 | (1 << (14 - $exponent_bits)), // negative NaN with a payload
                    3 => inf | 1,                                         // signalling NaN
                    4 => inf,
                    5 => 0x8000 | inf,
                    6 => 0,
                    7 => 0x8000,
                    8 => inf - 1,            // the largest number
                    9 => 0x8000 | (inf - 1), // the most negative one
                    _ => src.next_u64() as u16,
                };
                <$t>::from_bits(bits)
            }
            fn one() -> Self {
                <$t>::from_f32(1.0)
            }
            fn reference_beats(candidate: Self, best: Self) -> bool {
                let (c, b) = (
                    decode_half(candidate.to_bits(), $exponent_bits),
                    decode_half(best.to_bits(), $exponent_bits),
                );
                !b.is_nan() && (c.is_nan() || c > b)
            }
        }
    };
}

half_sample!(f16, 5);
half_sample!(bf16, 8);
