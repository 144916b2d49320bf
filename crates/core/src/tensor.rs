//! Tensors: a logical (N, C, H, W) shape with a stride in elements for each axis, so that NCHW, channels-last
//! (NHWC), strided sub-views and 2-D or 3-D inputs are one thing; the index formats a winner can be written in,
//! and the index element types. The encoding of a winner in each format, and its decoding in the backward pass,
//! are stated here once.

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use crate::element::DType;
use crate::error::{Error, Result};
use crate::geometry::Geometry;
use crate::technique::try_reserve;

/// Defines [`IndexFormat`] and its list from one table, so that no list of formats can miss one.
macro_rules! index_formats {
    ($($(#[$doc:meta])* $variant:ident = $value:literal, $name:literal;)*) => {
        /// How the winner of a window is written: the value stored for the winner at (n, c, row, col) of window
        /// (oh, ow). The discriminant is the format's number in the C ABI (`MaxpoolIndexFormat`), never
        /// renumbered.
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
        #[repr(u32)]
        pub enum IndexFormat {
            $($(#[$doc])* $variant = $value,)*
        }

        impl IndexFormat {
            /// Every format, in the order of their numbers.
            pub const ALL: [IndexFormat; [$($value),*].len()] = [$(IndexFormat::$variant),*];

            /// The name users type: `"plane"`, `"flat_nchw"`, `"flat_nhwc"`, `"flat_hwc"`, `"window"`.
            pub const fn name(self) -> &'static str {
                match self { $(IndexFormat::$variant => $name),* }
            }
        }
    };
}

index_formats! {
    /// `row * W + col`, within each (n, c) plane: PyTorch (both layouts), OpenVINO `axis=2`. The default.
    #[default]
    Plane = 0, "plane";
    /// `((n * C + c) * H + row) * W + col`, over the whole NCHW tensor: ONNX `MaxPool`'s `Indices`.
    FlatNchw = 1, "flat_nchw";
    /// `((n * H + row) * W + col) * C + c`, over the whole NHWC tensor: TensorFlow's `max_pool_with_argmax`
    /// with `include_batch_in_index=True`.
    FlatNhwc = 2, "flat_nhwc";
    /// `(row * W + col) * C + c`, over one NHWC image: TensorFlow's `max_pool_with_argmax` by default.
    FlatHwc = 3, "flat_hwc";
    /// `i * kernel_w + j`, the winning tap within its window, row-major over the kernel (dilation counts taps,
    /// not pixels): oneDNN's workspace. Fits a byte when the kernel has at most 256 taps.
    Window = 4, "window";
}

// `ALL` is in the order of the formats' numbers, so a number is an index into it.
const _: () = {
    let mut i = 0;
    while i < IndexFormat::ALL.len() {
        assert!(IndexFormat::ALL[i] as usize == i);
        i += 1;
    }
};

impl IndexFormat {
    /// The format with this number (as the C ABI passes it), if there is one.
    pub const fn from_number(number: u32) -> Option<IndexFormat> {
        if (number as usize) < IndexFormat::ALL.len() {
            Some(IndexFormat::ALL[number as usize])
        } else {
            None
        }
    }

    /// The format's number in the C ABI.
    pub const fn number(self) -> u32 {
        self as u32
    }

    /// The names, for messages: `"plane, flat_nchw, …"`.
    pub fn names() -> String {
        let names: Vec<&str> = IndexFormat::ALL.iter().map(|f| f.name()).collect();
        names.join(", ")
    }

    /// The largest index this format can write for a call on tensors of `shape` (N, C, H, W) with `geometry`;
    /// `None` when it does not fit a `u64` (so no index type holds it). 0 for an empty tensor.
    pub fn largest(self, geometry: &Geometry, shape: [usize; 4]) -> Option<u64> {
        let [kh, kw] = geometry.params().kernel;
        let count = match self {
            IndexFormat::Plane => geometry.plane_len() as u128,
            IndexFormat::FlatNchw | IndexFormat::FlatNhwc => shape
                .iter()
                .try_fold(1u128, |acc, &d| acc.checked_mul(d as u128))?,
            IndexFormat::FlatHwc => (geometry.plane_len() as u128).checked_mul(shape[1] as u128)?,
            IndexFormat::Window => (kh as u128).checked_mul(kw as u128)?,
        };
        let empty = shape.contains(&0);
        u64::try_from(if empty { 0 } else { count.saturating_sub(1) }).ok()
    }

    /// The value written for the winner at plane index `p` (`row * W + col`) of the (n, c) plane, for the window
    /// at output (oh, ow), in a tensor of `shape` (N, C, H, W). The arithmetic cannot overflow once
    /// [`largest`](IndexFormat::largest) fits.
    #[inline]
    pub fn encode(
        self,
        geometry: &Geometry,
        shape: [usize; 4],
        [n, c, oh, ow]: [usize; 4],
        p: usize,
    ) -> u64 {
        let (channels, plane_len) = (shape[1] as u64, geometry.plane_len() as u64);
        let p = p as u64;
        match self {
            IndexFormat::Plane => p,
            IndexFormat::FlatNchw => (n as u64 * channels + c as u64) * plane_len + p,
            IndexFormat::FlatNhwc => (n as u64 * plane_len + p) * channels + c as u64,
            IndexFormat::FlatHwc => p * channels + c as u64,
            IndexFormat::Window => {
                let params = geometry.params();
                let width = geometry.width();
                let (row, col) = split(p as usize, width);
                // The window's first tap, in padded coordinates, is (oh·sh, ow·sw); the winner is a whole
                // number of dilations past it.
                let i = over(
                    row + params.padding.top - oh * params.stride[0],
                    params.dilation[0],
                );
                let j = over(
                    col + params.padding.left - ow * params.stride[1],
                    params.dilation[1],
                );
                (i * params.kernel[1] + j) as u64
            }
        }
    }

    /// The plane index (`row * W + col`) that `index` names for the window at output (oh, ow) of the (n, c)
    /// plane: the inverse of [`encode`](IndexFormat::encode), for the backward pass. An index that names no
    /// element of that plane (out of range, another plane or channel, a tap in padding) is an error saying why.
    pub fn decode(
        self,
        geometry: &Geometry,
        shape: [usize; 4],
        at: [usize; 4],
        index: i64,
    ) -> Result<usize> {
        let [n, c, oh, ow] = at;
        let plane_len = geometry.plane_len() as u128;
        let channels = shape[1] as u128;
        let bad = |reason: String| Error::BadIndex {
            format: self,
            at,
            index,
            reason,
        };
        let v = u128::try_from(index).map_err(|_| bad("is negative".into()))?;
        let in_plane = |p: u128, what: &str| -> Result<usize> {
            if p < plane_len {
                Ok(p as usize)
            } else {
                Err(bad(format!(
                    "is outside {what} ({plane_len} elements a plane)"
                )))
            }
        };
        match self {
            IndexFormat::Plane => in_plane(v, "its plane"),
            IndexFormat::FlatNchw => {
                let base = (n as u128 * channels + c as u128) * plane_len;
                match v.checked_sub(base) {
                    Some(p) => in_plane(p, "its (n, c) plane"),
                    None => Err(bad(format!(
                        "is before its (n, c) plane, which starts at {base}"
                    ))),
                }
            }
            IndexFormat::FlatNhwc | IndexFormat::FlatHwc => {
                if v % channels != c as u128 {
                    return Err(bad(format!(
                        "names channel {} of {channels}, not its own, {c}",
                        v % channels
                    )));
                }
                let q = v / channels;
                if self == IndexFormat::FlatHwc {
                    return in_plane(q, "its image");
                }
                let base = n as u128 * plane_len;
                match q.checked_sub(base) {
                    Some(p) => in_plane(p, "its image"),
                    None => Err(bad(format!(
                        "names image {} of the batch, not its own, {n}",
                        q / plane_len
                    ))),
                }
            }
            IndexFormat::Window => {
                let params = geometry.params();
                let [kh, kw] = params.kernel;
                let taps = kh as u128 * kw as u128;
                if v >= taps {
                    return Err(bad(format!("is not a tap of a {kh} × {kw} window")));
                }
                let (i, j) = ((v / kw as u128) as usize, (v % kw as u128) as usize);
                // In padded coordinates; the input starts at (top, left).
                let row =
                    oh as u128 * params.stride[0] as u128 + i as u128 * params.dilation[0] as u128;
                let col =
                    ow as u128 * params.stride[1] as u128 + j as u128 * params.dilation[1] as u128;
                let (top, left) = (params.padding.top as u128, params.padding.left as u128);
                let inside =
                    |x: u128, before: u128, size: usize| x >= before && x - before < size as u128;
                if !inside(row, top, geometry.height()) || !inside(col, left, geometry.width()) {
                    return Err(bad(format!(
                        "names tap ({i}, {j}), which lies in the padding"
                    )));
                }
                Ok((row - top) as usize * geometry.width() + (col - left) as usize)
            }
        }
    }
}

/// Writes rows of plane indices in one format, worked out once per call: the loop per output row is a
/// multiply-add for the formats that are affine in the plane index, and a table lookup for `window`, so that
/// encoding costs little beside pooling (the per-element [`IndexFormat::encode`] divides).
#[derive(Debug)]
pub(crate) struct RowEncoder<'g> {
    format: IndexFormat,
    geometry: &'g Geometry,
    shape: [usize; 4],
    /// How `window` codes are worked out (unused by the other formats).
    window: WindowCodes,
}

/// How a [`RowEncoder`] works out `window` codes from the offset `d = p − origin` of a winner from its window's
/// first tap (in plane-index units, the first tap possibly in the padding), chosen once per call.
#[derive(Debug)]
enum WindowCodes {
    /// Element by element, by [`IndexFormat::encode`]: the taps' offsets are not all distinct, or the table
    /// would be too long.
    PerElement,
    /// Undilated windows of `KH` ≤ 4 rows whose offsets fit an `i32`: the tap's row by compares
    /// ([`window_codes`]), which vectorise.
    Compares { rows: usize },
    /// The tap code of each offset.
    Table(Vec<u32>),
}

impl<'g> RowEncoder<'g> {
    /// The longest table of tap codes made: a quarter of a MiB.
    const MAX_TAPS_TABLE: usize = 1 << 16;

    /// An encoder for calls of `geometry` on tensors of `shape` (N, C, H, W) writing `format`.
    pub(crate) fn new(
        format: IndexFormat,
        geometry: &'g Geometry,
        shape: [usize; 4],
    ) -> Result<Self> {
        let mut window = WindowCodes::PerElement;
        if format == IndexFormat::Window {
            let params = geometry.params();
            let ([kh, kw], [dh, dw]) = (params.kernel, params.dilation);
            // Tap (i, j) lies `i·dh·W + j·dw` past the first; these are distinct, and decode, when a row of taps
            // spans less than `dh` rows of the plane.
            let row_step = dh.checked_mul(geometry.width());
            let distinct =
                row_step.is_some_and(|s| (kw - 1).checked_mul(dw).is_some_and(|x| x < s));
            let len = row_step
                .and_then(|s| (kh - 1).checked_mul(s))
                .and_then(|x| x.checked_add((kw - 1) * dw + 1));
            let fits_i32 = geometry
                .width()
                .checked_mul(4)
                .is_some_and(|x| x <= i32::MAX as usize);
            if distinct && [dh, dw] == [1, 1] && kh <= 4 && fits_i32 {
                window = WindowCodes::Compares { rows: kh };
            } else if let (true, Some(len)) = (distinct, len.filter(|&l| l <= Self::MAX_TAPS_TABLE))
            {
                let mut taps = Vec::new();
                try_reserve(&mut taps, len, "the table of window taps")?;
                taps.resize(len, 0);
                let s = row_step.unwrap_or(0);
                for i in 0..kh {
                    for j in 0..kw {
                        taps[i * s + j * dw] = (i * kw + j) as u32;
                    }
                }
                window = WindowCodes::Table(taps);
            }
        }
        Ok(RowEncoder {
            format,
            geometry,
            shape,
            window,
        })
    }

    /// Writes into `out` the indices of outputs (oh, first..) of the (n, c) plane, whose plane indices are
    /// `plane` (as long as `out`). The format's largest index fits `I` (checked with the call).
    #[inline(always)]
    pub(crate) fn row<I: IndexElement>(
        &self,
        [n, c, oh, first]: [usize; 4],
        plane: &[i64],
        out: &mut [I],
    ) {
        let g = self.geometry;
        let [_, channels, _, _] = self.shape;
        let plane_len = g.plane_len() as u64;
        let (scale, offset) = match self.format {
            IndexFormat::Plane => (1, 0),
            IndexFormat::FlatNchw => (1, (n as u64 * channels as u64 + c as u64) * plane_len),
            IndexFormat::FlatNhwc => (
                channels as u64,
                n as u64 * plane_len * channels as u64 + c as u64,
            ),
            IndexFormat::FlatHwc => (channels as u64, c as u64),
            IndexFormat::Window => {
                // The first tap of window (oh, ow), in plane-index units: `origin + ow·sw`.
                let params = g.params();
                let w = g.width() as i64;
                let sw = params.stride[1] as i64;
                let origin = (oh as i64 * params.stride[0] as i64 - params.padding.top as i64) * w
                    - params.padding.left as i64
                    + first as i64 * sw;
                let kw = params.kernel[1] as i64;
                match &self.window {
                    WindowCodes::PerElement => {
                        for (ow, (o, &p)) in (first..).zip(out.iter_mut().zip(plane)) {
                            *o = I::from_u64(self.format.encode(
                                g,
                                self.shape,
                                [n, c, oh, ow],
                                p as usize,
                            ));
                        }
                    }
                    WindowCodes::Compares { rows: 1 } => {
                        window_codes::<I, 1>(plane, out, origin, sw, w, kw)
                    }
                    WindowCodes::Compares { rows: 2 } => {
                        window_codes::<I, 2>(plane, out, origin, sw, w, kw)
                    }
                    WindowCodes::Compares { rows: 3 } => {
                        window_codes::<I, 3>(plane, out, origin, sw, w, kw)
                    }
                    WindowCodes::Compares { .. } => {
                        window_codes::<I, 4>(plane, out, origin, sw, w, kw)
                    }
                    WindowCodes::Table(taps) => {
                        for (ow, (o, &p)) in out.iter_mut().zip(plane).enumerate() {
                            let d = p - origin - ow as i64 * sw;
                            *o = I::from_u64(u64::from(taps[d as usize]));
                        }
                    }
                }
                return;
            }
        };
        for (o, &p) in out.iter_mut().zip(plane) {
            *o = I::from_u64(p as u64 * scale + offset);
        }
    }
}

/// Window codes of a row of winners for undilated windows of `KH` rows, `kw` taps wide, in a plane `w` wide
/// (`kw ≤ w`, so that each offset from a window's first tap names one tap, and `KH · w` fits an `i32`): the
/// winner at plane index `p` of window `ow` lies `d = p − origin − ow·sw` past the window's first tap, in row `i`
/// = the number of whole rows in `d`, column `d − i·w`; its code is `i·kw + d − i·w`. In `i32`, with compares
/// and no multiplication, so that the loop vectorises 8 lanes wide with AVX2.
#[inline(always)]
fn window_codes<I: IndexElement, const KH: usize>(
    plane: &[i64],
    out: &mut [I],
    origin: i64,
    sw: i64,
    w: i64,
    kw: i64,
) {
    let (w, step) = (w as i32, (kw - w) as i32);
    let mut start = origin;
    for (o, &p) in out.iter_mut().zip(plane) {
        // Within the window, so less than KH·w.
        let d = (p - start) as i32;
        start += sw;
        let mut code = d;
        for k in 1..KH as i32 {
            code += if d >= k * w { step } else { 0 };
        }
        *o = I::from_u64(code as u64);
    }
}

/// `(p / w, p % w)` (`w` > 0) by a multiplication with `1 / w`, corrected to the exact quotient, so that a
/// loop over many `p` with the same `w` divides once, not every time (integer division by a number known only
/// at run time is slow).
#[inline(always)]
fn split(p: usize, w: usize) -> (usize, usize) {
    // Below 2^52 the estimate is within one of the quotient, and the products below cannot overflow.
    if p >= 1 << 52 {
        return (p / w, p % w);
    }
    let mut q = (p as f64 * (1.0 / w as f64)) as usize;
    while q * w > p {
        q -= 1;
    }
    while (q + 1) * w <= p {
        q += 1;
    }
    (q, p - q * w)
}

/// `x / d`, without the division in the usual case of `d` = 1 (no dilation).
#[inline(always)]
fn over(x: usize, d: usize) -> usize {
    if d == 1 {
        x
    } else {
        x / d
    }
}

impl fmt::Display for IndexFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not an index format's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an index format; expected one of {names}", names = IndexFormat::names())]
pub struct UnknownIndexFormat(pub String);

impl FromStr for IndexFormat {
    type Err = UnknownIndexFormat;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        IndexFormat::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| UnknownIndexFormat(s.to_owned()))
    }
}

mod sealed {
    pub trait Sealed {}
}

/// The element types indices are written in: `i64` (every format), `i32` (when the format's largest index for
/// the call fits) and `u8` (the `window` format, kernels of at most 256 taps).
pub trait IndexElement:
    sealed::Sealed + Copy + Default + PartialEq + Send + Sync + fmt::Debug + 'static
{
    /// The run-time tag of this type.
    const DTYPE: DType;
    /// The largest index it holds.
    const MAX: u64;
    /// `v`, which the caller guarantees is at most [`MAX`](IndexElement::MAX).
    fn from_u64(v: u64) -> Self;
    /// As an `i64`, exactly.
    fn to_i64(self) -> i64;
    /// The tensor, as indices of a type known at run time.
    fn indices_mut(t: TensorMut<'_, Self>) -> IndicesMut<'_>;
    /// The tensor, as indices of a type known at run time, to read.
    fn indices_ref(t: TensorRef<'_, Self>) -> IndicesRef<'_>;
}

macro_rules! index_elements {
    ($($t:ty => $tag:ident),*) => {$(
        impl sealed::Sealed for $t {}
        impl IndexElement for $t {
            const DTYPE: DType = DType::$tag;
            const MAX: u64 = <$t>::MAX as u64;
            #[inline(always)]
            fn from_u64(v: u64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn to_i64(self) -> i64 {
                self as i64
            }
            fn indices_mut(t: TensorMut<'_, Self>) -> IndicesMut<'_> {
                IndicesMut::$tag(t)
            }
            fn indices_ref(t: TensorRef<'_, Self>) -> IndicesRef<'_> {
                IndicesRef::$tag(t)
            }
        }
    )*};
}
index_elements!(i64 => I64, i32 => I32, u8 => U8);
/// Evaluates `$body` with `$I` naming the [`IndexElement`] type a run-time [`DType`] names, as `Some(body)`;
/// `None` for a type indices are never written in. `with_index_dtype!(dtype, I => f::<T, I>(a))`.
#[macro_export]
macro_rules! with_index_dtype {
    ($dtype:expr, $I:ident => $body:expr) => {
        match $dtype {
            $crate::DType::I64 => {
                type $I = i64;
                Some($body)
            }
            $crate::DType::I32 => {
                type $I = i32;
                Some($body)
            }
            $crate::DType::U8 => {
                type $I = u8;
                Some($body)
            }
            _ => None,
        }
    };
}

/// Checks that indices of type `dtype` can hold every index `format` writes for a call on `shape`: `i64` any
/// format, `i32` when the largest fits, `u8` the `window` format only, when the largest fits.
pub fn check_index_type(
    dtype: DType,
    format: IndexFormat,
    geometry: &Geometry,
    shape: [usize; 4],
) -> Result<()> {
    let max = match dtype {
        DType::I64 => i64::MAX as u64,
        DType::I32 => i32::MAX as u64,
        DType::U8 if format == IndexFormat::Window => u8::MAX as u64,
        DType::U8 => {
            return Err(Error::IndexType(format!(
                "u8 indices hold only the window format's tap numbers, not {format} indices; use i32 or i64"
            )))
        }
        other => {
            return Err(Error::IndexType(format!(
                "indices are i64, i32 or u8 (window format), not {}",
                other.name()
            )))
        }
    };
    match format.largest(geometry, shape) {
        Some(largest) if largest <= max => Ok(()),
        largest => Err(Error::IndexType(format!(
            "{} indices cannot hold this call's largest {format} index, {}; use {}",
            dtype.name(),
            largest.map_or_else(|| "more than 2^64".to_owned(), |l| l.to_string()),
            if dtype == DType::U8 {
                "i32 or i64"
            } else {
                "i64"
            }
        ))),
    }
}

/// Where a tensor's elements are: a logical (N, C, H, W) shape and a stride in elements for each axis. Any
/// non-negative strides, so NCHW, channels-last and strided views are all layouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Layout {
    /// N, C, H, W.
    pub shape: [usize; 4],
    /// The distance in elements between neighbours along N, C, H and W.
    pub strides: [usize; 4],
}

impl Layout {
    /// Dense NCHW: W fastest, then H, C, N. Strides that overflow saturate, and the tensor is then refused.
    pub const fn nchw(n: usize, c: usize, h: usize, w: usize) -> Layout {
        let hw = h.saturating_mul(w);
        Layout {
            shape: [n, c, h, w],
            strides: [c.saturating_mul(hw), hw, w, 1],
        }
    }

    /// Dense channels-last, NHWC: C fastest, then W, H, N. The shape is still stored as (N, C, H, W).
    pub const fn nhwc(n: usize, h: usize, w: usize, c: usize) -> Layout {
        let wc = w.saturating_mul(c);
        Layout {
            shape: [n, c, h, w],
            strides: [h.saturating_mul(wc), 1, wc, c],
        }
    }

    /// The number of elements.
    pub fn len(&self) -> Option<usize> {
        self.shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
    }

    /// Whether the tensor holds no element.
    pub fn is_empty(&self) -> bool {
        self.shape.contains(&0)
    }

    /// One more than the largest offset of an element: how many elements from the first the tensor reaches
    /// over. 0 when it is empty; `None` when that does not fit a `usize`.
    pub fn span(&self) -> Option<usize> {
        if self.is_empty() {
            return Some(0);
        }
        self.shape
            .iter()
            .zip(self.strides)
            .try_fold(1usize, |acc, (&d, s)| {
                acc.checked_add((d - 1).checked_mul(s)?)
            })
    }

    /// The offset of element (n, c, h, w), which must be in the shape, in a tensor whose span fits.
    #[inline(always)]
    pub fn offset(&self, [n, c, h, w]: [usize; 4]) -> usize {
        n * self.strides[0] + c * self.strides[1] + h * self.strides[2] + w * self.strides[3]
    }

    /// The offset of plane (n, c).
    #[inline(always)]
    pub fn plane_offset(&self, n: usize, c: usize) -> usize {
        n * self.strides[0] + c * self.strides[1]
    }

    /// Whether each (n, c) plane is one row-major run of H × W elements.
    pub fn planes_dense(&self) -> bool {
        let [_, _, h, w] = self.shape;
        (w <= 1 || self.strides[3] == 1) && (h <= 1 || self.strides[2] == w)
    }

    /// Whether the tensor is dense NCHW: the planes one after another, with nothing between.
    pub fn is_nchw(&self) -> bool {
        self.is_empty()
            || self.same_elements(&Layout::nchw(
                self.shape[0],
                self.shape[1],
                self.shape[2],
                self.shape[3],
            ))
    }

    /// Whether the tensor is dense channels-last (NHWC).
    pub fn is_nhwc(&self) -> bool {
        let [n, c, h, w] = self.shape;
        self.is_empty() || self.same_elements(&Layout::nhwc(n, h, w, c))
    }

    /// Whether the two layouts, of one shape, put every element at the same offset: strides of axes of size 1
    /// do not matter.
    fn same_elements(&self, other: &Layout) -> bool {
        self.shape == other.shape
            && (0..4).all(|a| self.shape[a] <= 1 || self.strides[a] == other.strides[a])
    }

    /// A dense layout of `shape` with the axes in this layout's memory order: how outputs follow their input,
    /// channels-last in, channels-last out (`dense_order`).
    pub fn dense_like(&self, shape: [usize; 4]) -> Layout {
        let mut strides = [0; 4];
        strides.copy_from_slice(&dense_order(&self.shape, &self.strides, &shape));
        Layout { shape, strides }
    }

    /// Whether no two elements share an offset, as far as can be told cheaply: ordered by stride, each axis's
    /// stride reaches past everything the faster axes span. Layouts that interleave axes without overlapping
    /// are refused too (no framework makes them).
    pub fn elements_distinct(&self) -> bool {
        if self.is_empty() {
            return true;
        }
        let mut axes: Vec<usize> = (0..4).filter(|&a| self.shape[a] > 1).collect();
        axes.sort_by_key(|&a| self.strides[a]);
        let mut reach = 1usize; // one more than the largest offset of the faster axes
        for a in axes {
            if self.strides[a] < reach {
                return false;
            }
            let Some(r) = (self.shape[a] - 1)
                .checked_mul(self.strides[a])
                .and_then(|x| x.checked_add(reach))
            else {
                return false;
            };
            reach = r;
        }
        true
    }
}

/// Dense strides for `shape`, with the axes in the memory order of a tensor of `like_shape` and `like_strides`:
/// the largest stride outermost; ties, and axes of one element (which have no order of their own), in axis
/// order. Strides that overflow saturate.
pub fn dense_order(like_shape: &[usize], like_strides: &[usize], shape: &[usize]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..shape.len()).collect();
    let key = |a: usize| (like_shape[a] > 1).then_some(like_strides[a]);
    // A stable sort of the axes that have an order, outermost first, each keeping its slot among the others.
    let mut ordered: Vec<usize> = order
        .iter()
        .copied()
        .filter(|&a| key(a).is_some())
        .collect();
    ordered.sort_by_key(|&a| std::cmp::Reverse(key(a)));
    let mut next = ordered.into_iter();
    for a in order.iter_mut() {
        if key(*a).is_some() {
            *a = next.next().expect("as many ordered axes as slots");
        }
    }
    let mut strides = vec![0; shape.len()];
    let mut stride = 1usize;
    for &a in order.iter().rev() {
        strides[a] = stride;
        stride = stride.saturating_mul(shape[a]);
    }
    strides
}

/// A tensor to read: where its element (0, 0, 0, 0) is, its [`Layout`], and how many elements from there may
/// be read. Built from a slice (safe: the engine checks that the layout stays inside it) or from a raw pointer.
#[derive(Clone, Copy, Debug)]
pub struct TensorRef<'a, T> {
    ptr: *const T,
    len: usize,
    layout: Layout,
    _borrow: PhantomData<&'a [T]>,
}

// SAFETY: a `TensorRef` is a shared borrow of `T`s.
unsafe impl<T: Sync> Send for TensorRef<'_, T> {}
unsafe impl<T: Sync> Sync for TensorRef<'_, T> {}

impl<'a, T> TensorRef<'a, T> {
    /// The elements of `data` at `layout`'s offsets. A layout that reaches past `data` is refused by the call
    /// that uses it.
    pub fn new(data: &'a [T], layout: Layout) -> Self {
        TensorRef {
            ptr: data.as_ptr(),
            len: data.len(),
            layout,
            _borrow: PhantomData,
        }
    }

    /// The elements at `layout`'s offsets from `ptr`.
    ///
    /// # Safety
    /// When the layout's span fits a `usize`, each of its elements must be valid for reads of a `T` for `'a`,
    /// and not written by anyone during that time.
    pub unsafe fn from_raw(ptr: *const T, layout: Layout) -> Self {
        TensorRef {
            ptr,
            len: layout.span().unwrap_or(usize::MAX),
            layout,
            _borrow: PhantomData,
        }
    }

    /// The layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Where element (0, 0, 0, 0) is.
    pub fn as_ptr(&self) -> *const T {
        self.ptr
    }

    /// How many elements from the first may be read.
    pub fn capacity(&self) -> usize {
        self.len
    }
}

/// A tensor to write: as [`TensorRef`], mutably borrowed.
#[derive(Debug)]
pub struct TensorMut<'a, T> {
    ptr: *mut T,
    len: usize,
    layout: Layout,
    _borrow: PhantomData<&'a mut [T]>,
}

// SAFETY: a `TensorMut` is an exclusive borrow of `T`s.
unsafe impl<T: Send> Send for TensorMut<'_, T> {}
unsafe impl<T: Sync> Sync for TensorMut<'_, T> {}

impl<'a, T: 'static> TensorRef<'a, T> {
    /// This tensor as a tensor of `U`, when `U` is `T`.
    pub(crate) fn same_as<U: 'static>(self) -> Option<TensorRef<'a, U>> {
        (std::any::TypeId::of::<T>() == std::any::TypeId::of::<U>()).then(|| TensorRef {
            ptr: self.ptr.cast(),
            len: self.len,
            layout: self.layout,
            _borrow: PhantomData,
        })
    }
}

impl<'a, T: 'static> TensorMut<'a, T> {
    /// This tensor as a tensor of `U`, when `U` is `T`; else itself back.
    pub(crate) fn same_as<U: 'static>(self) -> std::result::Result<TensorMut<'a, U>, Self> {
        if std::any::TypeId::of::<T>() != std::any::TypeId::of::<U>() {
            return Err(self);
        }
        Ok(TensorMut {
            ptr: self.ptr.cast(),
            len: self.len,
            layout: self.layout,
            _borrow: PhantomData,
        })
    }
}

impl<'a, T> TensorMut<'a, T> {
    /// The elements of `data` at `layout`'s offsets. A layout that reaches past `data`, or that puts two
    /// elements at one offset, is refused by the call that uses it.
    pub fn new(data: &'a mut [T], layout: Layout) -> Self {
        TensorMut {
            ptr: data.as_mut_ptr(),
            len: data.len(),
            layout,
            _borrow: PhantomData,
        }
    }

    /// The elements at `layout`'s offsets from `ptr`.
    ///
    /// # Safety
    /// When the layout's span fits a `usize`, each of its elements must be valid for reads and writes of a `T`
    /// for `'a`, and not read or written by anyone else during that time.
    pub unsafe fn from_raw(ptr: *mut T, layout: Layout) -> Self {
        TensorMut {
            ptr,
            len: layout.span().unwrap_or(usize::MAX),
            layout,
            _borrow: PhantomData,
        }
    }

    /// The layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Where element (0, 0, 0, 0) is.
    pub fn as_mut_ptr(&mut self) -> *mut T {
        self.ptr
    }

    /// How many elements from the first may be written.
    pub fn capacity(&self) -> usize {
        self.len
    }

    /// The tensor, to read.
    pub fn as_ref(&self) -> TensorRef<'_, T> {
        TensorRef {
            ptr: self.ptr,
            len: self.len,
            layout: self.layout,
            _borrow: PhantomData,
        }
    }

    pub(crate) fn raw(&self) -> (*mut T, Layout) {
        (self.ptr, self.layout)
    }
}

/// Index tensors of any [`IndexElement`] type, for calls that take the type at run time.
#[derive(Debug)]
pub enum IndicesMut<'a> {
    /// `i64` indices.
    I64(TensorMut<'a, i64>),
    /// `i32` indices.
    I32(TensorMut<'a, i32>),
    /// `u8` indices (the `window` format).
    U8(TensorMut<'a, u8>),
}

/// Index tensors of any [`IndexElement`] type, to read (the backward pass).
#[derive(Clone, Copy, Debug)]
pub enum IndicesRef<'a> {
    /// `i64` indices.
    I64(TensorRef<'a, i64>),
    /// `i32` indices.
    I32(TensorRef<'a, i32>),
    /// `u8` indices (the `window` format).
    U8(TensorRef<'a, u8>),
}

impl<'a, I: IndexElement> From<TensorMut<'a, I>> for IndicesMut<'a> {
    fn from(t: TensorMut<'a, I>) -> Self {
        I::indices_mut(t)
    }
}

impl<'a, I: IndexElement> From<TensorRef<'a, I>> for IndicesRef<'a> {
    fn from(t: TensorRef<'a, I>) -> Self {
        I::indices_ref(t)
    }
}

impl IndicesMut<'_> {
    /// The indices, to read.
    pub fn as_ref(&self) -> IndicesRef<'_> {
        match self {
            IndicesMut::I64(t) => IndicesRef::I64(t.as_ref()),
            IndicesMut::I32(t) => IndicesRef::I32(t.as_ref()),
            IndicesMut::U8(t) => IndicesRef::U8(t.as_ref()),
        }
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.as_ref().dtype()
    }

    /// The layout.
    pub fn layout(&self) -> &Layout {
        match self {
            IndicesMut::I64(t) => t.layout(),
            IndicesMut::I32(t) => t.layout(),
            IndicesMut::U8(t) => t.layout(),
        }
    }
}

impl IndicesRef<'_> {
    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            IndicesRef::I64(_) => DType::I64,
            IndicesRef::I32(_) => DType::I32,
            IndicesRef::U8(_) => DType::U8,
        }
    }

    /// The layout.
    pub fn layout(&self) -> &Layout {
        match self {
            IndicesRef::I64(t) => t.layout(),
            IndicesRef::I32(t) => t.layout(),
            IndicesRef::U8(t) => t.layout(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{Padding, Params};

    /// The division by multiplication is exact: around multiples of every divisor, near the limit of the
    /// fast path and beyond it.
    #[test]
    fn split_divides_exactly() {
        let divisors = [
            1,
            2,
            3,
            7,
            56,
            112,
            255,
            256,
            1000,
            65_537,
            (1 << 26) + 1,
            (1 << 40) - 1,
        ];
        for w in divisors {
            for q in [
                0usize,
                1,
                2,
                3,
                1000,
                (1 << 20) + 7,
                ((1usize << 52) - 1) / w,
            ] {
                for r in [0, 1, w / 2, w - 1] {
                    let Some(p) = q.checked_mul(w).and_then(|x| x.checked_add(r)) else {
                        continue;
                    };
                    assert_eq!(split(p, w), (p / w, p % w), "{p} / {w}");
                }
            }
            for p in [(1usize << 52) - 1, 1 << 52, (1 << 52) + 1, usize::MAX] {
                assert_eq!(split(p, w), (p / w, p % w), "{p} / {w}");
            }
        }
    }

    #[test]
    fn layouts_know_their_order_and_span() {
        let nchw = Layout::nchw(2, 3, 4, 5);
        assert_eq!(nchw.strides, [60, 20, 5, 1]);
        assert!(nchw.is_nchw() && !nchw.is_nhwc() && nchw.planes_dense());
        assert_eq!(nchw.span(), Some(120));
        let nhwc = Layout::nhwc(2, 4, 5, 3);
        assert_eq!(nhwc.shape, [2, 3, 4, 5]);
        assert_eq!(nhwc.strides, [60, 1, 15, 3]);
        assert!(nhwc.is_nhwc() && !nhwc.is_nchw() && !nhwc.planes_dense());
        assert_eq!(nhwc.span(), Some(120));
        // Outputs follow the input's order.
        assert_eq!(nhwc.dense_like([2, 3, 2, 2]), Layout::nhwc(2, 2, 2, 3));
        assert_eq!(nchw.dense_like([2, 3, 2, 2]), Layout::nchw(2, 3, 2, 2));
        // One channel: NCHW and NHWC are the same elements.
        assert!(Layout::nhwc(2, 4, 5, 1).is_nchw());
        // Overflowing strides saturate, and the span says so.
        assert_eq!(Layout::nchw(2, usize::MAX, 2, 2).span(), None);
        assert_eq!(Layout::nchw(0, usize::MAX, 2, 2).span(), Some(0));
    }

    #[test]
    fn overlapping_layouts_are_found() {
        assert!(Layout::nchw(2, 3, 4, 5).elements_distinct());
        assert!(Layout::nhwc(2, 4, 5, 3).elements_distinct());
        // A strided view with gaps.
        let view = Layout {
            shape: [1, 2, 3, 3],
            strides: [100, 50, 10, 2],
        };
        assert!(view.elements_distinct());
        // Rows that overlap: stride 2 along H for rows 3 wide.
        let rows = Layout {
            shape: [1, 1, 3, 3],
            strides: [9, 9, 2, 1],
        };
        assert!(!rows.elements_distinct());
        // A broadcast axis (stride 0).
        let broadcast = Layout {
            shape: [1, 2, 3, 3],
            strides: [0, 0, 3, 1],
        };
        assert!(!broadcast.elements_distinct());
    }

    /// Every format decodes what it encodes, for every window and winner of a padded, dilated geometry, and
    /// refuses neighbours that are not its own.
    #[test]
    fn formats_decode_what_they_encode() {
        let params = Params::rect(2, 3)
            .with_stride_hw(2, 1)
            .with_dilation_hw(2, 1)
            .with_padding_sides(Padding {
                top: 1,
                bottom: 1,
                left: 2,
                right: 0,
            });
        let g = Geometry::new(&params, 5, 6).unwrap();
        let shape = [2, 3, 5, 6];
        for format in IndexFormat::ALL {
            let largest = format.largest(&g, shape).unwrap();
            for n in 0..2 {
                for c in 0..3 {
                    for oh in 0..g.out_height() {
                        for ow in 0..g.out_width() {
                            let rw = g.row_windows().get(oh);
                            let cw = g.col_windows().get(ow);
                            for row in rw.positions() {
                                for col in cw.positions() {
                                    let p = row * 6 + col;
                                    let at = [n, c, oh, ow];
                                    let v = format.encode(&g, shape, at, p);
                                    assert!(v <= largest, "{format} {v} > {largest}");
                                    assert_eq!(format.decode(&g, shape, at, v as i64), Ok(p));
                                }
                            }
                            // Another plane's index is not this one's (plane format aside: its indices are
                            // the same in every plane).
                            let other = [n ^ 1, (c + 1) % 3, oh, ow];
                            let v = format.encode(&g, shape, other, rw.start * 6 + cw.start);
                            let decoded = format.decode(&g, shape, [n, c, oh, ow], v as i64);
                            if matches!(format, IndexFormat::Plane | IndexFormat::Window) {
                                assert!(decoded.is_ok());
                            } else {
                                assert!(decoded.is_err(), "{format}: {v} decoded in another plane");
                            }
                        }
                    }
                }
            }
            assert!(format.decode(&g, shape, [0, 0, 0, 0], -1).is_err());
            assert!(format
                .decode(&g, shape, [0, 0, 0, 0], largest as i64 + 1)
                .is_err());
        }
        // The window format's tap (0, 0) of window (0, 0) lies in the padding (row −1).
        let e = IndexFormat::Window
            .decode(&g, shape, [0, 0, 0, 0], 0)
            .unwrap_err();
        assert!(e.to_string().contains("lies in the padding"), "{e}");
    }

    /// A row encoder writes what `encode` does, element for element: every format, every winner a window can
    /// have, from any first window of a row; for `window`, with the table of taps and without it (a kernel
    /// wider than the plane, a dilation, and a table too long).
    #[test]
    fn row_encoder_agrees_with_encode() {
        let cases = [
            (Params::new(3).with_stride(2).with_padding(1), 7, 9),
            (
                Params::rect(2, 3)
                    .with_stride_hw(2, 1)
                    .with_dilation_hw(2, 1)
                    .with_padding_sides(Padding {
                        top: 1,
                        bottom: 1,
                        left: 2,
                        right: 0,
                    }),
                5,
                6,
            ),
            (
                Params::rect(3, 2).with_dilation_hw(1, 3).with_stride(2),
                8,
                7,
            ),
            (Params::new(2), 6, 8),
            (
                Params::rect(4, 3)
                    .with_stride_hw(1, 2)
                    .with_padding_sides(Padding {
                        top: 2,
                        bottom: 1,
                        left: 1,
                        right: 1,
                    }),
                9,
                7,
            ),
            (
                Params::rect(1, 3).with_padding_sides(Padding {
                    top: 0,
                    bottom: 0,
                    left: 1,
                    right: 1,
                }),
                2,
                5,
            ),
            // A window wider than the plane: its taps' offsets are not distinct, so no table.
            (
                Params::rect(1, 5).with_padding_sides(Padding {
                    top: 0,
                    bottom: 0,
                    left: 2,
                    right: 2,
                }),
                3,
                2,
            ),
            // A table longer than the limit.
            (Params::rect(3, 2).with_dilation_hw(300, 1), 700, 300),
        ];
        for (params, h, w) in cases {
            let g = Geometry::new(&params, h, w).unwrap();
            let shape = [2, 3, h, w];
            for format in IndexFormat::ALL {
                let encoder = RowEncoder::new(format, &g, shape).unwrap();
                for (n, c) in [(0, 0), (1, 2)] {
                    for oh in 0..g.out_height() {
                        let rw = g.row_windows().get(oh);
                        // Each window's every tap in the plane, one after another, as rows of winners.
                        for row in rw.positions() {
                            for tap in 0..params.kernel[1] {
                                let winners: Vec<i64> = (0..g.out_width())
                                    .map(|ow| {
                                        let cw = g.col_windows().get(ow);
                                        let cols: Vec<usize> = cw.positions().collect();
                                        (row * w + cols[tap % cols.len()]) as i64
                                    })
                                    .collect();
                                for first in [0, g.out_width() / 2] {
                                    let mut out = vec![0i64; g.out_width() - first];
                                    encoder.row([n, c, oh, first], &winners[first..], &mut out);
                                    for (k, &v) in out.iter().enumerate() {
                                        let ow = first + k;
                                        let want = format.encode(
                                            &g,
                                            shape,
                                            [n, c, oh, ow],
                                            winners[ow] as usize,
                                        );
                                        assert_eq!(
                                            v as u64, want,
                                            "{format} {params:?} at ({oh}, {ow})"
                                        );
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn index_types_must_hold_the_largest_index() {
        let g = Geometry::new(&Params::new(3), 1 << 16, 1 << 16).unwrap();
        let shape = [1, 1, 1 << 16, 1 << 16];
        assert!(check_index_type(DType::I64, IndexFormat::Plane, &g, shape).is_ok());
        let e = check_index_type(DType::I32, IndexFormat::Plane, &g, shape).unwrap_err();
        assert!(e.to_string().contains("4294967295"), "{e}");
        assert!(check_index_type(DType::I32, IndexFormat::Window, &g, shape).is_ok());
        assert!(check_index_type(DType::U8, IndexFormat::Window, &g, shape).is_ok());
        assert!(check_index_type(DType::U8, IndexFormat::Plane, &g, [1, 1, 2, 2]).is_err());
        let big = Geometry::new(&Params::rect(16, 17), 20, 20).unwrap();
        assert!(check_index_type(DType::U8, IndexFormat::Window, &big, [1, 1, 20, 20]).is_err());
        assert!(check_index_type(DType::F32, IndexFormat::Window, &big, [1, 1, 20, 20]).is_err());
        // An empty tensor writes no index.
        assert!(check_index_type(
            DType::I32,
            IndexFormat::FlatNchw,
            &g,
            [0, 1, 1 << 16, 1 << 16]
        )
        .is_ok());
    }

    #[test]
    fn formats_have_names_and_numbers() {
        for (i, f) in IndexFormat::ALL.into_iter().enumerate() {
            assert_eq!(IndexFormat::from_number(i as u32), Some(f));
            assert_eq!(f.name().parse::<IndexFormat>(), Ok(f));
        }
        assert_eq!(IndexFormat::from_number(5), None);
        let e = "nchw".parse::<IndexFormat>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "\"nchw\" is not an index format; expected one of plane, flat_nchw, flat_nhwc, flat_hwc, window"
        );
    }
}
