//! What the suite needs of an element type beyond the library's [`Element`]: exact comparison, and generators
//! that favour the values that break pooling code (NaN, ±inf, ±0, integer extremes, ties).

use maxpool::Element;

use crate::generate::Source;

/// An element type the suite can generate and compare bit for bit.
pub trait Sample: Element {
    /// The bit pattern, so that NaN payloads and the sign of zero count.
    fn bits(self) -> u64;
    /// One element, often a special or repeated one.
    fn draw(src: &mut impl Source) -> Self;
    /// 1 as this type, for building gradients.
    fn one() -> Self;
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
