//! Tensors: `MaxpoolTensor`, `MaxpoolDType`, `MaxpoolIndexFormat` and their constructors, and the checks every
//! tensor argument passes before the core sees it: its pointer and dtype as C gave them, then its data's
//! alignment, extent and NULL-ness, then overlap with the call's other tensors. The core checks the rest (shapes
//! against the plan and each other, outputs whose elements share memory, index types too narrow for the format).
//!
//! The per-dtype calls (`maxpool_forward_f32`, …) describe their buffers as dense NCHW tensors of (1, planes, H, W)
//! and go the same way.

use std::ffi::c_void;
use std::fmt;
use std::ptr::NonNull;

use maxpool::{DType, IndexFormat, IndicesMut, IndicesRef, Layout, TensorMut, TensorRef};

use super::status::{aligned, Failure, Status};

/// An element type, as `MaxpoolTensor::dtype` gives it: one of the `MAXPOOL_DTYPE_` values, which are never
/// renumbered. Read as an integer: any other value is `MAXPOOL_STATUS_INVALID_PARAMS`, never undefined behaviour.
/// C has no standard 16-bit float type: `MAXPOOL_DTYPE_F16` and `MAXPOOL_DTYPE_BF16` elements are `uint16_t`
/// holding the bit pattern, and the library reads and writes them as such (NaN payloads included).
pub type MaxpoolDType = u32;

/// `float`.
pub const MAXPOOL_DTYPE_F32: MaxpoolDType = 0;
/// `double`.
pub const MAXPOOL_DTYPE_F64: MaxpoolDType = 1;
/// `int8_t`.
pub const MAXPOOL_DTYPE_I8: MaxpoolDType = 2;
/// `uint8_t`; also indices in `MAXPOOL_INDEX_WINDOW`.
pub const MAXPOOL_DTYPE_U8: MaxpoolDType = 3;
/// `int16_t`.
pub const MAXPOOL_DTYPE_I16: MaxpoolDType = 4;
/// `uint16_t`.
pub const MAXPOOL_DTYPE_U16: MaxpoolDType = 5;
/// `int32_t`; also indices, when the format's largest index for the call fits.
pub const MAXPOOL_DTYPE_I32: MaxpoolDType = 6;
/// `int64_t`; also indices, in any format.
pub const MAXPOOL_DTYPE_I64: MaxpoolDType = 7;
/// IEEE 754 binary16 (`_Float16`, Arm's `__fp16`), as a `uint16_t` holding its bit pattern. Pooled with the float
/// semantics (NaN wins, the first of equals wins), winners returned with their exact bits; gradients are summed in
/// `float` and each sum rounded once to nearest, ties to even.
pub const MAXPOOL_DTYPE_F16: MaxpoolDType = 8;
/// bfloat16 (`__bf16`; the upper half of a `float`), as a `uint16_t` holding its bit pattern. As
/// `MAXPOOL_DTYPE_F16` otherwise.
pub const MAXPOOL_DTYPE_BF16: MaxpoolDType = 9;
/// `uint32_t`: the multiplier's type, and only the multiplier's.
pub const MAXPOOL_DTYPE_U32: MaxpoolDType = 10;

/// How indices encode the winner at (n, c, row, col) of the window at output (oh, ow): one of the
/// `MAXPOOL_INDEX_` values, which are never renumbered. Read as an integer: any other value is
/// `MAXPOOL_STATUS_INVALID_PARAMS`.
pub type MaxpoolIndexFormat = u32;

/// `row * W + col`, within each (n, c) plane: PyTorch (both layouts). What the per-dtype functions write.
pub const MAXPOOL_INDEX_PLANE: MaxpoolIndexFormat = 0;
/// `((n * C + c) * H + row) * W + col`, over the whole NCHW tensor: ONNX `MaxPool`'s `Indices`.
pub const MAXPOOL_INDEX_FLAT_NCHW: MaxpoolIndexFormat = 1;
/// `((n * H + row) * W + col) * C + c`, over the whole NHWC tensor: TensorFlow's `max_pool_with_argmax` with
/// `include_batch_in_index`.
pub const MAXPOOL_INDEX_FLAT_NHWC: MaxpoolIndexFormat = 2;
/// `(row * W + col) * C + c`, over one NHWC image: TensorFlow's `max_pool_with_argmax` by default.
pub const MAXPOOL_INDEX_FLAT_HWC: MaxpoolIndexFormat = 3;
/// `i * kernel_w + j`, the winning tap within its window, row-major over the kernel (dilation counts taps, not
/// pixels): oneDNN's workspace. The only format `MAXPOOL_DTYPE_U8` indices hold (kernels of at most 256 taps).
pub const MAXPOOL_INDEX_WINDOW: MaxpoolIndexFormat = 4;

// The C numbers are the core's.
const _: () = {
    assert!(MAXPOOL_INDEX_PLANE == IndexFormat::Plane.number());
    assert!(MAXPOOL_INDEX_FLAT_NCHW == IndexFormat::FlatNchw.number());
    assert!(MAXPOOL_INDEX_FLAT_NHWC == IndexFormat::FlatNhwc.number());
    assert!(MAXPOOL_INDEX_FLAT_HWC == IndexFormat::FlatHwc.number());
    assert!(MAXPOOL_INDEX_WINDOW == IndexFormat::Window.number());
    assert!(IndexFormat::ALL.len() == 5);
};

/// A 4-D tensor, logical (N, C, H, W), in memory the caller owns: NCHW, channels-last (NHWC), a strided view, or
/// a 2-D or 3-D array with N or C of 1 are all tensors. Make dense ones with `maxpool_tensor_nchw` and
/// `maxpool_tensor_nhwc`, or fill in the fields for any other strides.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct MaxpoolTensor {
    /// The element at logical (0, 0, 0, 0), aligned for `dtype`; NULL is allowed only when the tensor has no
    /// element.
    pub data: *mut c_void,
    /// The element type: a `MAXPOOL_DTYPE_` value.
    pub dtype: MaxpoolDType,
    /// N, C, H, W.
    pub shape: [usize; 4],
    /// The distance in elements (not bytes) between neighbours along N, C, H and W; any non-negative values,
    /// but an output's must not put two of its elements in one place.
    pub strides: [usize; 4],
}

/// A dense NCHW tensor of `n` × `c` × `h` × `w` elements at `data`: W fastest, then H, C, N. Strides that
/// overflow `size_t` saturate, and any call then refuses the tensor (`MAXPOOL_STATUS_INVALID_SHAPE`).
#[no_mangle]
pub extern "C" fn maxpool_tensor_nchw(
    data: *mut c_void,
    dtype: MaxpoolDType,
    n: usize,
    c: usize,
    h: usize,
    w: usize,
) -> MaxpoolTensor {
    tensor(data, dtype, Layout::nchw(n, c, h, w))
}

/// A dense channels-last (NHWC) tensor of `n` × `h` × `w` × `c` elements at `data`: C fastest, then W, H, N. The
/// shape is stored as (N, C, H, W), with channels-last strides. Strides that overflow `size_t` saturate, and
/// any call then refuses the tensor (`MAXPOOL_STATUS_INVALID_SHAPE`).
#[no_mangle]
pub extern "C" fn maxpool_tensor_nhwc(
    data: *mut c_void,
    dtype: MaxpoolDType,
    n: usize,
    h: usize,
    w: usize,
    c: usize,
) -> MaxpoolTensor {
    tensor(data, dtype, Layout::nhwc(n, h, w, c))
}

fn tensor(data: *mut c_void, dtype: MaxpoolDType, layout: Layout) -> MaxpoolTensor {
    MaxpoolTensor {
        data,
        dtype,
        shape: layout.shape,
        strides: layout.strides,
    }
}

/// An element type a tensor can hold: one of those the library pools, or the multiplier's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Element(DType),
    U32,
}

/// Every dtype C can name: its value, kind, macro and C type. The element types come first, in the order of
/// `DType::ALL`, each with its position as its value; the multiplier's last.
const DTYPES: [(MaxpoolDType, Kind, &str, &str); DType::ALL.len() + 1] = [
    (
        MAXPOOL_DTYPE_F32,
        Kind::Element(DType::F32),
        "MAXPOOL_DTYPE_F32",
        "float",
    ),
    (
        MAXPOOL_DTYPE_F64,
        Kind::Element(DType::F64),
        "MAXPOOL_DTYPE_F64",
        "double",
    ),
    (
        MAXPOOL_DTYPE_I8,
        Kind::Element(DType::I8),
        "MAXPOOL_DTYPE_I8",
        "int8_t",
    ),
    (
        MAXPOOL_DTYPE_U8,
        Kind::Element(DType::U8),
        "MAXPOOL_DTYPE_U8",
        "uint8_t",
    ),
    (
        MAXPOOL_DTYPE_I16,
        Kind::Element(DType::I16),
        "MAXPOOL_DTYPE_I16",
        "int16_t",
    ),
    (
        MAXPOOL_DTYPE_U16,
        Kind::Element(DType::U16),
        "MAXPOOL_DTYPE_U16",
        "uint16_t",
    ),
    (
        MAXPOOL_DTYPE_I32,
        Kind::Element(DType::I32),
        "MAXPOOL_DTYPE_I32",
        "int32_t",
    ),
    (
        MAXPOOL_DTYPE_I64,
        Kind::Element(DType::I64),
        "MAXPOOL_DTYPE_I64",
        "int64_t",
    ),
    (
        MAXPOOL_DTYPE_F16,
        Kind::Element(DType::F16),
        "MAXPOOL_DTYPE_F16",
        "uint16_t holding IEEE binary16 bits",
    ),
    (
        MAXPOOL_DTYPE_BF16,
        Kind::Element(DType::BF16),
        "MAXPOOL_DTYPE_BF16",
        "uint16_t holding bfloat16 bits",
    ),
    (
        MAXPOOL_DTYPE_U32,
        Kind::U32,
        "MAXPOOL_DTYPE_U32",
        "uint32_t",
    ),
];

// Every element type the library pools has a C value, its position in `DType::ALL`, and the values are distinct.
const _: () = {
    let mut i = 0;
    while i < DType::ALL.len() {
        assert!(DTYPES[i].0 == i as MaxpoolDType);
        assert!(match DTYPES[i].1 {
            Kind::Element(d) => d as u32 == DType::ALL[i] as u32,
            Kind::U32 => false,
        });
        i += 1;
    }
    let last = DTYPES[DType::ALL.len()];
    assert!(matches!(last.1, Kind::U32) && last.0 == MAXPOOL_DTYPE_U32);
    assert!(MAXPOOL_DTYPE_U32 as usize >= DType::ALL.len());
};

impl Kind {
    fn entry(self) -> (MaxpoolDType, Kind, &'static str, &'static str) {
        DTYPES
            .into_iter()
            .find(|&(_, k, _, _)| k == self)
            .expect("every kind is listed")
    }

    /// The kind a C value names, if it names one.
    fn from_number(raw: MaxpoolDType) -> Option<Kind> {
        DTYPES
            .into_iter()
            .find(|&(n, _, _, _)| n == raw)
            .map(|(_, k, _, _)| k)
    }
}

impl fmt::Display for Kind {
    /// `MAXPOOL_DTYPE_F32 (float)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (_, _, name, c_type) = self.entry();
        write!(f, "{name} ({c_type})")
    }
}

/// A type C passes pointers to: its C name, for messages, and its dtype.
pub(crate) trait CType: Copy {
    const NAME: &'static str;
    const KIND: Kind;
}

macro_rules! c_types {
    ($($t:ty => $name:literal, $kind:expr;)*) => {$(
        impl CType for $t {
            const NAME: &'static str = $name;
            const KIND: Kind = $kind;
        }
    )*};
}
c_types! {
    f32 => "float", Kind::Element(DType::F32);
    f64 => "double", Kind::Element(DType::F64);
    i8 => "int8_t", Kind::Element(DType::I8);
    u8 => "uint8_t", Kind::Element(DType::U8);
    i16 => "int16_t", Kind::Element(DType::I16);
    u16 => "uint16_t", Kind::Element(DType::U16);
    i32 => "int32_t", Kind::Element(DType::I32);
    i64 => "int64_t", Kind::Element(DType::I64);
    // C passes 16-bit floats as their bit patterns; `f16` and `bf16` are `repr(transparent)` over `u16`.
    maxpool::f16 => "uint16_t", Kind::Element(DType::F16);
    maxpool::bf16 => "uint16_t", Kind::Element(DType::BF16);
    u32 => "uint32_t", Kind::U32;
}

/// The element types that `keep` accepts, as the messages name them: "MAXPOOL_DTYPE_F32 (float), …,
/// MAXPOOL_DTYPE_I64 (int64_t) or …", in the order of their values.
pub(crate) fn element_kinds(keep: impl Fn(DType) -> bool) -> String {
    let names: Vec<String> = DType::ALL
        .into_iter()
        .filter(|&d| keep(d))
        .map(|d| Kind::Element(d).to_string())
        .collect();
    match names.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// The dtype value of the tensor `name`, or the refusal it gets.
fn kind_from(name: &str, raw: MaxpoolDType) -> Result<Kind, Failure> {
    if let Some(kind) = Kind::from_number(raw) {
        return Ok(kind);
    }
    let known: Vec<String> = DTYPES
        .iter()
        .map(|&(n, _, macro_name, _)| format!("{n} ({macro_name})"))
        .collect();
    Err(Failure::new(
        Status::InvalidParams,
        format!(
            "{name} has dtype {raw}, which is not a MaxpoolDType; expected one of {}",
            known.join(", ")
        ),
    ))
}

/// The index format a C value names, or the refusal it gets.
pub(crate) fn index_format_from(raw: MaxpoolIndexFormat) -> Result<IndexFormat, Failure> {
    IndexFormat::from_number(raw).ok_or_else(|| {
        let known: Vec<String> = IndexFormat::ALL
            .iter()
            .map(|f| {
                format!(
                    "{} (MAXPOOL_INDEX_{})",
                    f.number(),
                    f.name().to_ascii_uppercase()
                )
            })
            .collect();
        Failure::new(
            Status::InvalidParams,
            format!(
                "index_format {raw} is not a MaxpoolIndexFormat; expected one of {}",
                known.join(", ")
            ),
        )
    })
}

/// Where a checked tensor lies in memory, for the overlap checks: its name, first byte, and how many bytes from
/// there it spans (0 for an empty tensor, which overlaps nothing).
#[derive(Clone, Copy)]
pub(crate) struct Region {
    name: &'static str,
    start: usize,
    bytes: usize,
    elements: usize,
}

impl Region {
    /// How many elements from the first the tensor spans.
    pub(crate) fn elements(self) -> usize {
        self.elements
    }

    fn overlaps(self, other: Region) -> bool {
        // In u128, where no sum of a usize address and a size overflows.
        let (a, b) = (self.start as u128, other.start as u128);
        self.bytes > 0
            && other.bytes > 0
            && a < b + other.bytes as u128
            && b < a + self.bytes as u128
    }
}

/// A tensor argument of a call: its name for messages, where its data is, its element type and its layout.
pub(crate) struct Arg {
    pub(crate) name: &'static str,
    data: *mut c_void,
    pub(crate) kind: Kind,
    pub(crate) layout: Layout,
    /// Known to be dense NCHW without looking: the per-dtype calls' buffers.
    nchw: bool,
}

impl Arg {
    /// A buffer of a per-dtype call, `planes` dense (1, planes, h, w) planes, described as a tensor.
    pub(crate) fn planes<T: CType>(
        name: &'static str,
        data: *const T,
        planes: usize,
        [h, w]: [usize; 2],
    ) -> Arg {
        Arg {
            name,
            data: data.cast_mut().cast(),
            kind: T::KIND,
            layout: Layout::nchw(1, planes, h, w),
            nchw: true,
        }
    }

    /// Whether the tensor is dense NCHW (as `Layout::is_nchw` says).
    pub(crate) fn is_nchw(&self) -> bool {
        self.nchw || self.layout.is_nchw()
    }

    /// A `MaxpoolTensor *` argument: `None` for NULL; a misaligned pointer and a dtype value that is not one are
    /// refused.
    ///
    /// # Safety
    /// `ptr` is NULL or points to a `MaxpoolTensor` (when aligned).
    pub(crate) unsafe fn read(
        name: &'static str,
        ptr: *const MaxpoolTensor,
    ) -> Result<Option<Arg>, Failure> {
        aligned(name, "MaxpoolTensor", ptr)?;
        if ptr.is_null() {
            return Ok(None);
        }
        // SAFETY: non-null and aligned; by the caller's promise a MaxpoolTensor, whose fields are valid for any
        // bits.
        let t = unsafe { ptr.read() };
        Ok(Some(Arg {
            name,
            data: t.data,
            kind: kind_from(name, t.dtype)?,
            layout: Layout {
                shape: t.shape,
                strides: t.strides,
            },
            nchw: false,
        }))
    }

    /// As [`read`](Arg::read), for an argument that may not be NULL.
    ///
    /// # Safety
    /// As for [`read`](Arg::read).
    pub(crate) unsafe fn required(
        name: &'static str,
        ptr: *const MaxpoolTensor,
    ) -> Result<Arg, Failure> {
        unsafe { Arg::read(name, ptr) }?.ok_or_else(|| Failure::null(name))
    }

    /// Refuses the tensor unless its dtype is `want`; `why` says what it should be.
    pub(crate) fn expect(&self, want: Kind, why: impl FnOnce() -> String) -> Result<(), Failure> {
        if self.kind == want {
            Ok(())
        } else {
            Err(self.wrong_type(why()))
        }
    }

    /// Refuses indices of a type no index is written in.
    pub(crate) fn expect_index(&self) -> Result<(), Failure> {
        match self.kind {
            Kind::Element(DType::I64 | DType::I32 | DType::U8) => Ok(()),
            _ => Err(self.not_index()),
        }
    }

    #[cold]
    #[inline(never)]
    fn not_index(&self) -> Failure {
        self.wrong_type(format!(
            "indices are {}, {} or, in MAXPOOL_INDEX_WINDOW only, {}",
            Kind::Element(DType::I64),
            Kind::Element(DType::I32),
            Kind::Element(DType::U8)
        ))
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn wrong_type(&self, why: String) -> Failure {
        Failure::new(
            Status::Unsupported,
            format!("{} has dtype {}; {why}", self.name, self.kind),
        )
    }

    /// Checks the tensor's data, of element type `E` (its kind): aligned, also when empty; reaching no further
    /// than `PTRDIFF_MAX` bytes; not NULL unless empty. An empty tensor's data is replaced by a dangling pointer,
    /// so that no slice is ever made from NULL.
    pub(crate) fn region<E: CType>(&mut self) -> Result<Region, Failure> {
        debug_assert_eq!(self.kind, E::KIND);
        let ptr = self.data.cast_const().cast::<E>();
        aligned(self.name, E::NAME, ptr)?;
        let span = extent::<E>(self.name, &self.layout)?;
        if span == 0 {
            self.data = NonNull::<E>::dangling().as_ptr().cast();
            return Ok(Region {
                name: self.name,
                start: 0,
                bytes: 0,
                elements: 0,
            });
        }
        if ptr.is_null() {
            return Err(null_buffer(self.name, span));
        }
        Ok(Region {
            name: self.name,
            start: ptr as usize,
            bytes: span * size_of::<E>(),
            elements: span,
        })
    }

    /// [`region`](Arg::region) for indices, of whichever index type they are.
    pub(crate) fn index_region(&mut self) -> Result<Region, Failure> {
        match self.kind {
            Kind::Element(DType::I64) => self.region::<i64>(),
            Kind::Element(DType::I32) => self.region::<i32>(),
            Kind::Element(DType::U8) => self.region::<u8>(),
            _ => Err(self.not_index()),
        }
    }

    /// The tensor, to read.
    ///
    /// # Safety
    /// [`region`](Arg::region) accepted it as `E`, and the caller's promise for the C call holds: its elements
    /// may be read, and nobody writes them during the call.
    pub(crate) unsafe fn tensor_ref<'a, E>(&self) -> TensorRef<'a, E> {
        // SAFETY: by the caller's promise.
        unsafe { TensorRef::from_raw(self.data.cast_const().cast(), self.layout) }
    }

    /// The tensor, to write.
    ///
    /// # Safety
    /// As [`tensor_ref`](Arg::tensor_ref), for reads and writes, and no other tensor of the call overlaps it
    /// ([`disjoint`]).
    pub(crate) unsafe fn tensor_mut<'a, E>(&self) -> TensorMut<'a, E> {
        // SAFETY: by the caller's promise.
        unsafe { TensorMut::from_raw(self.data.cast(), self.layout) }
    }

    /// Indices to write, of their type.
    ///
    /// # Safety
    /// As [`tensor_mut`](Arg::tensor_mut), with [`index_region`](Arg::index_region).
    pub(crate) unsafe fn indices_mut<'a>(&self) -> Result<IndicesMut<'a>, Failure> {
        // SAFETY: by the caller's promise.
        unsafe {
            Ok(match self.kind {
                Kind::Element(DType::I64) => IndicesMut::I64(self.tensor_mut()),
                Kind::Element(DType::I32) => IndicesMut::I32(self.tensor_mut()),
                Kind::Element(DType::U8) => IndicesMut::U8(self.tensor_mut()),
                _ => return Err(self.not_index()),
            })
        }
    }

    /// Indices to read, of their type.
    ///
    /// # Safety
    /// As [`tensor_ref`](Arg::tensor_ref), with [`index_region`](Arg::index_region).
    pub(crate) unsafe fn indices_ref<'a>(&self) -> Result<IndicesRef<'a>, Failure> {
        // SAFETY: by the caller's promise.
        unsafe {
            Ok(match self.kind {
                Kind::Element(DType::I64) => IndicesRef::I64(self.tensor_ref()),
                Kind::Element(DType::I32) => IndicesRef::I32(self.tensor_ref()),
                Kind::Element(DType::U8) => IndicesRef::U8(self.tensor_ref()),
                _ => return Err(self.not_index()),
            })
        }
    }

    /// The data pointer, as `E`s: a dangling one, never NULL, for an empty tensor checked by
    /// [`region`](Arg::region).
    pub(crate) fn data<E>(&self) -> *mut E {
        self.data.cast()
    }
}

/// `Layout::span`, inlined: every call, however small, pays for it on each of its tensors.
#[inline]
fn span(layout: &Layout) -> Option<usize> {
    let ([n, c, h, w], [sn, sc, sh, sw]) = (layout.shape, layout.strides);
    let reach = |d: usize, s: usize| d.wrapping_sub(1).checked_mul(s);
    let span = if n == 0 || c == 0 || h == 0 || w == 0 {
        Some(0)
    } else {
        (|| {
            reach(n, sn)?
                .checked_add(reach(c, sc)?)?
                .checked_add(reach(h, sh)?)?
                .checked_add(reach(w, sw)?)?
                .checked_add(1)
        })()
    };
    debug_assert_eq!(span, layout.span());
    span
}

/// How many elements from its first the tensor `name` reaches over (its span), or the refusal it gets when that
/// many `E`s cannot exist: a largest offset that overflows `size_t`, or more than `PTRDIFF_MAX` bytes.
pub(crate) fn extent<E>(name: &str, layout: &Layout) -> Result<usize, Failure> {
    match span(layout) {
        Some(span) if span <= isize::MAX as usize / size_of::<E>() => Ok(span),
        span => Err(too_large::<E>(name, span)),
    }
}

// The messages of refusals are made out of line: the checks stay small enough to inline into every call, whose
// cost for tiny planes is mostly these checks.
#[cold]
#[inline(never)]
fn too_large<E>(name: &str, span: Option<usize>) -> Failure {
    let message = match span {
        None => {
            format!("the largest offset of {name} (its shape times its strides) overflows size_t")
        }
        Some(span) => format!(
            "{name} would span {span} elements of {} bytes, more than PTRDIFF_MAX bytes",
            size_of::<E>()
        ),
    };
    Failure::new(Status::InvalidShape, message)
}

#[cold]
#[inline(never)]
fn null_buffer(name: &str, elements: usize) -> Failure {
    Failure::new(
        Status::NullPointer,
        format!("{name} is NULL but must hold {elements} elements"),
    )
}

#[cold]
#[inline(never)]
fn overlapping(a: &str, b: &str) -> Failure {
    Failure::new(
        Status::InvalidShape,
        format!("{a} overlaps {b}; an output buffer may not share memory with another buffer of the call"),
    )
}

/// Checks that no output overlaps another tensor of the call (absent ones are `None`): what makes the tensors'
/// `from_raw` sound. (Whether an output's own elements share memory is the core's check, on its strides.)
#[inline]
pub(crate) fn disjoint(
    outputs: &[Option<Region>],
    inputs: &[Option<Region>],
) -> Result<(), Failure> {
    for (i, o) in outputs.iter().enumerate() {
        let Some(o) = *o else { continue };
        let others = outputs[i + 1..].iter().chain(inputs).flatten();
        for &other in others {
            if o.overlaps(other) {
                return Err(overlapping(o.name, other.name));
            }
        }
    }
    Ok(())
}
