//! What the suite needs of an element type beyond the library's [`Element`]: exact comparison, JSON, and
//! generators that favour the values that break pooling code (NaN, ±inf, ±0, integer extremes, ties).

use maxpool::Element;
use proptest::prelude::*;
use serde_json::Value;

/// An element type the suite can generate, read from JSON and compare bit for bit.
pub trait Sample: Element {
    /// The bit pattern, so that NaN payloads and the sign of zero count.
    fn bits(self) -> u64;
    /// Reads a vector file's value; floats may be the strings "NaN", "Infinity", "-Infinity".
    fn from_json(v: &Value) -> Self;
    /// One element, often a special or repeated one.
    fn strategy() -> BoxedStrategy<Self>;
    /// 1 as this type, for building gradients.
    fn one() -> Self;
}

macro_rules! float_sample {
    ($t:ty, $bits:ty, $neg_nan:expr) => {
        impl Sample for $t {
            fn bits(self) -> u64 {
                self.to_bits() as u64
            }
            fn from_json(v: &Value) -> Self {
                match v {
                    Value::String(s) if s == "NaN" => <$t>::NAN,
                    Value::String(s) if s == "Infinity" => <$t>::INFINITY,
                    Value::String(s) if s == "-Infinity" => <$t>::NEG_INFINITY,
                    v => v.as_f64().unwrap_or_else(|| panic!("not a float: {v}")) as $t,
                }
            }
            fn strategy() -> BoxedStrategy<Self> {
                prop_oneof![
                    2 => Just(<$t>::NAN),
                    1 => Just(<$t>::from_bits($neg_nan)),
                    2 => Just(<$t>::INFINITY),
                    2 => Just(<$t>::NEG_INFINITY),
                    1 => Just(0.0),
                    1 => Just(-0.0),
                    1 => Just(<$t>::MAX),
                    1 => Just(<$t>::MIN),
                    6 => (-3i8..=3).prop_map(|x| x as $t),
                    6 => any::<$t>(),
                ]
                .boxed()
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
            fn from_json(v: &Value) -> Self {
                v.as_i64()
                    .and_then(|x| <$t>::try_from(x).ok())
                    .unwrap_or_else(|| panic!("not a {}: {v}", stringify!($t)))
            }
            fn strategy() -> BoxedStrategy<Self> {
                prop_oneof![
                    2 => Just(<$t>::MIN),
                    2 => Just(<$t>::MAX),
                    1 => Just(0 as $t),
                    8 => (0u8..4).prop_map(|x| (x as $t).wrapping_add(<$t>::MIN / 2)),
                    6 => any::<$t>(),
                ]
                .boxed()
            }
            fn one() -> Self {
                1
            }
        }
    )*};
}

int_sample!(i8, u8, i16, u16, i32, i64);
