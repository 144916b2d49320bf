//! The element types a plane may hold.

use std::any::TypeId;
use std::fmt;
use std::str::FromStr;

mod sealed {
    pub trait Sealed {}
}

/// The element types maxpool pools: `f32`, `f64`, `i8`, `u8`, `i16`, `u16`, `i32`, `i64`. Sealed: the contract
/// (and the C ABI) is written for exactly these.
pub trait Element:
    sealed::Sealed + Copy + PartialOrd + Default + Send + Sync + fmt::Debug + 'static
{
    /// The run-time tag of this type.
    const DTYPE: DType;
    /// Whether this is a NaN (never, for integers).
    fn is_nan(self) -> bool;
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

/// The element types with a backward pass: `f32` and `f64`.
pub trait Float: Element + std::ops::AddAssign {
    /// Zero, which the backward pass fills `grad_input` with before scattering.
    const ZERO: Self;
}

macro_rules! elements {
    ($($t:ty => $tag:ident, $float:expr;)*) => {
        $(
            impl sealed::Sealed for $t {}
            impl Element for $t {
                const DTYPE: DType = DType::$tag;
                #[inline(always)]
                #[allow(clippy::eq_op)]
                fn is_nan(self) -> bool {
                    // For integers `self != self` is constant false and compiles away.
                    self != self
                }
            }
        )*

        /// The run-time tag of an [`Element`] type, for code that picks the type from data (files, C calls).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum DType {
            $(
                #[doc = concat!("`", stringify!($t), "`")]
                $tag,
            )*
        }

        impl DType {
            /// Every element type, in the order of the C ABI's functions.
            pub const ALL: [DType; 8] = [$(DType::$tag),*];

            /// The Rust and C-ABI suffix name: `"f32"`, `"u8"`, …
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
            _ => None,
        }
    };
}

elements! {
    f32 => F32, true;
    f64 => F64, true;
    i8 => I8, false;
    u8 => U8, false;
    i16 => I16, false;
    u16 => U16, false;
    i32 => I32, false;
    i64 => I64, false;
}

impl Float for f32 {
    const ZERO: Self = 0.0;
}
impl Float for f64 {
    const ZERO: Self = 0.0;
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not one of the eight element types.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown element type {0:?}; supported: f32, f64, i8, u8, i16, u16, i32, i64")]
pub struct UnknownDType(pub String);

impl FromStr for DType {
    type Err = UnknownDType;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DType::ALL
            .into_iter()
            .find(|d| d.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownDType(s.to_owned()))
    }
}
