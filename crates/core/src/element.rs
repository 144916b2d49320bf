//! The element types a plane may hold.

use std::any::TypeId;
use std::fmt;
use std::str::FromStr;

pub use half::{bf16, f16};

mod sealed {
    pub trait Sealed {}
}

/// The element types maxpool pools: `f32`, `f64`, `i8`, `u8`, `i16`, `u16`, `i32`, `i64`, and the 16-bit floats
/// [`f16`](struct@f16) and [`bf16`] of the `half` crate. Sealed: the contract (and the C ABI) is written for exactly these.
pub trait Element:
    sealed::Sealed + Copy + PartialOrd + Default + Send + Sync + fmt::Debug + 'static
{
    /// The run-time tag of this type.
    const DTYPE: DType;
    /// Whether this is a NaN (never, for integers).
    fn is_nan(self) -> bool;
    /// [`beats`](crate::semantics::beats): does `self`, met later in a window's scan, take the window from
    /// `best`? Greater, or a NaN while `best` is not one.
    fn beats(self, best: Self) -> bool;
    /// For the 16-bit floats, the bit pattern of +∞ that their [`order_key`] takes; `None` for the others. The
    /// hand-written 16-bit kernels compare keys made with it.
    #[doc(hidden)]
    const KEY_INF: Option<u16> = None;
}

/// `xs` as a slice of `U`, when `T` is `U`: how a kernel written for one element type takes the generic
/// slices it is handed.
pub fn as_type<T: Element, U: Element>(xs: &[T]) -> Option<&[U]> {
    // SAFETY: T and U are the same type, so the cast changes nothing.
    (TypeId::of::<T>() == TypeId::of::<U>())
        .then(|| unsafe { std::slice::from_raw_parts(xs.as_ptr().cast(), xs.len()) })
}

/// [`as_type`] for a mutable slice.
pub fn as_type_mut<T: Element, U: Element>(xs: &mut [T]) -> Option<&mut [U]> {
    // SAFETY: as in `as_type`.
    (TypeId::of::<T>() == TypeId::of::<U>())
        .then(|| unsafe { std::slice::from_raw_parts_mut(xs.as_mut_ptr().cast(), xs.len()) })
}

/// The element types with a backward pass: `f32`, `f64`, [`f16`](struct@f16) and [`bf16`].
pub trait Float: Element {
    /// The type each element's gradient is summed in: the type itself for `f32` and `f64`; `f32` for `f16` and
    /// `bf16`, each sum then rounded once (to nearest, ties to even).
    type Sum: Summed;
    /// `self` as the sum type, exactly.
    fn widen(self) -> Self::Sum;
    /// A sum rounded to this type, to nearest, ties to even.
    fn narrow(sum: Self::Sum) -> Self;
}

/// The types gradients are summed in, `f32` and `f64`: their own [`Float::Sum`].
pub trait Summed: Float<Sum = Self> + std::ops::AddAssign {
    /// Zero, which the backward pass fills `grad_input` with before scattering.
    const ZERO: Self;
}

macro_rules! dtypes {
    ($($t:ty => $tag:ident, $float:expr;)*) => {
        /// The run-time tag of an [`Element`] type, for code that picks the type from data (files, C calls).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum DType {
            $(
                #[doc = concat!("`", stringify!($t), "`")]
                $tag,
            )*
        }

        impl DType {
            /// Every element type, in the order of the C ABI's values.
            pub const ALL: [DType; [$(DType::$tag),*].len()] = [$(DType::$tag),*];

            /// The Rust and C-ABI suffix name: `"f32"`, `"u8"`, `"bf16"`, …
            pub const fn name(self) -> &'static str {
                match self { $(DType::$tag => stringify!($t)),* }
            }

            /// Bytes per element.
            pub const fn size(self) -> usize {
                match self { $(DType::$tag => std::mem::size_of::<$t>()),* }
            }

            /// Whether the backward pass is defined for this type.
            pub const fn is_float(self) -> bool {
                match self { $(DType::$tag => $float),* }
            }
        }
    };
}

/// The element types with hardware compares: `<=` and `!=` are the contract's order and NaN test.
macro_rules! native_elements {
    ($($t:ty => $tag:ident;)*) => {$(
        impl sealed::Sealed for $t {}
        impl Element for $t {
            const DTYPE: DType = DType::$tag;
            #[inline(always)]
            #[allow(clippy::eq_op)]
            fn is_nan(self) -> bool {
                // For integers `self != self` is constant false and compiles away.
                self != self
            }
            #[inline(always)]
            fn beats(self, best: Self) -> bool {
                // `!(self <= best)` is "greater, or either is NaN" (one unordered compare); a NaN `best` keeps
                // the window. Two compares, not three, in the innermost loop of every backend. `&`, not `&&`: no
                // branches, so loops of it vectorise and scalar code does not mispredict.
                #[allow(clippy::neg_cmp_op_on_partial_ord)]
                let greater_or_unordered = !(self <= best);
                greater_or_unordered & !best.is_nan()
            }
        }
    )*};
}

/// The 16-bit floats, compared as integers: [`order_key`] of their bit patterns, whose `>` is [`beats`]
/// (crate::semantics::beats). `$inf` is the pattern of +∞.
macro_rules! half_elements {
    ($($t:ty => $tag:ident, $inf:expr;)*) => {$(
        impl sealed::Sealed for $t {}
        impl Element for $t {
            const DTYPE: DType = DType::$tag;
            const KEY_INF: Option<u16> = Some($inf);
            #[inline(always)]
            fn is_nan(self) -> bool {
                self.to_bits() & 0x7fff > $inf
            }
            #[inline(always)]
            fn beats(self, best: Self) -> bool {
                order_key::<{ $inf }>(self.to_bits()) > order_key::<{ $inf }>(best.to_bits())
            }
        }
        impl Float for $t {
            type Sum = f32;
            #[inline(always)]
            fn widen(self) -> f32 {
                self.to_f32()
            }
            #[inline(always)]
            fn narrow(sum: f32) -> Self {
                <$t>::from_f32(sum)
            }
        }
    )*};
}

/// The order of a 16-bit float's bit pattern `bits` as an `i16`, for a format whose +∞ is `INF`: numbers in their
/// order with -0 and +0 equal, then every NaN above them all, equal to each other. So a strict `>` of keys is the
/// contract's [`beats`](crate::semantics::beats): NaN beats every number, and the first of equals (NaNs
/// included) keeps the window. Branch-free integer code, which vectorises in 16-bit lanes.
#[inline(always)]
pub fn order_key<const INF: u16>(bits: u16) -> i16 {
    let magnitude = (bits & 0x7fff) as i16;
    // All ones for a negative sign, else zero: (m ^ s) - s is -m for the negative ones (-0 to 0).
    let sign = (bits as i16) >> 15;
    let signed = (magnitude ^ sign).wrapping_sub(sign);
    if magnitude > INF as i16 {
        i16::MAX
    } else {
        signed
    }
}

/// Calls a generic function with the element type a run-time [`DType`] names: `with_dtype!(dtype, f(a, b))` is
/// `f::<f32>(a, b)` for `DType::F32`, and so on for each type.
#[macro_export]
macro_rules! with_dtype {
    ($dtype:expr, $f:ident($($arg:expr),* $(,)?)) => {
        match $dtype {
            $crate::DType::F32 => $f::<f32>($($arg),*),
            $crate::DType::F64 => $f::<f64>($($arg),*),
            $crate::DType::I8 => $f::<i8>($($arg),*),
            $crate::DType::U8 => $f::<u8>($($arg),*),
            $crate::DType::I16 => $f::<i16>($($arg),*),
            $crate::DType::U16 => $f::<u16>($($arg),*),
            $crate::DType::I32 => $f::<i32>($($arg),*),
            $crate::DType::I64 => $f::<i64>($($arg),*),
            $crate::DType::F16 => $f::<$crate::f16>($($arg),*),
            $crate::DType::BF16 => $f::<$crate::bf16>($($arg),*),
        }
    };
}

/// Evaluates `$body` with `$T` naming the float type a run-time [`DType`] names, as `Some(body)`; `None` for a
/// type without a backward pass. `with_float_dtype!(dtype, T => f::<T>(a))`.
#[macro_export]
macro_rules! with_float_dtype {
    ($dtype:expr, $T:ident => $body:expr) => {
        match $dtype {
            $crate::DType::F32 => {
                type $T = f32;
                Some($body)
            }
            $crate::DType::F64 => {
                type $T = f64;
                Some($body)
            }
            $crate::DType::F16 => {
                type $T = $crate::f16;
                Some($body)
            }
            $crate::DType::BF16 => {
                type $T = $crate::bf16;
                Some($body)
            }
            _ => None,
        }
    };
}

dtypes! {
    f32 => F32, true;
    f64 => F64, true;
    i8 => I8, false;
    u8 => U8, false;
    i16 => I16, false;
    u16 => U16, false;
    i32 => I32, false;
    i64 => I64, false;
    f16 => F16, true;
    bf16 => BF16, true;
}

native_elements! {
    f32 => F32;
    f64 => F64;
    i8 => I8;
    u8 => U8;
    i16 => I16;
    u16 => U16;
    i32 => I32;
    i64 => I64;
}

half_elements! {
    f16 => F16, 0x7c00;
    bf16 => BF16, 0x7f80;
}

macro_rules! summed {
    ($($t:ty),*) => {$(
        impl Float for $t {
            type Sum = $t;
            #[inline(always)]
            fn widen(self) -> $t {
                self
            }
            #[inline(always)]
            fn narrow(sum: $t) -> $t {
                sum
            }
        }
        impl Summed for $t {
            const ZERO: Self = 0.0;
        }
    )*};
}
summed!(f32, f64);

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not one of the element types.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown element type {0:?}; supported: {names}", names = supported_names())]
pub struct UnknownDType(pub String);

/// The element types' names, comma-separated.
fn supported_names() -> String {
    DType::ALL.map(DType::name).join(", ")
}

impl FromStr for DType {
    type Err = UnknownDType;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DType::ALL
            .into_iter()
            .find(|d| d.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownDType(s.to_owned()))
    }
}
