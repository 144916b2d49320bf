//! The C ABI of maxpool. This crate is the boundary only: it turns C arguments into the `maxpool` crate's types,
//! checks every pointer and size before anything is written, catches panics, and maps errors to statuses. The
//! semantics are the core crate's.
//!
//! Conventions, for every function:
//! - Outputs are written only when the status is `MAXPOOL_STATUS_OK`.
//! - A buffer that is needed may not be NULL; one of zero elements may be.
//! - Every pointer must be aligned for its type, whatever the buffer's size: slices and references are made from
//!   them, and one from a misaligned pointer is undefined behaviour. A misaligned one is
//!   `MAXPOOL_STATUS_MISALIGNED`, checked where NULL is, before anything is read or written.
//! - Enum and bool arguments are read as integers, so an out-of-range value is a status, never undefined behaviour.
//! - No panic crosses the boundary: one becomes `MAXPOOL_STATUS_INTERNAL`.
//! - A call that returns a status also leaves its detail for `maxpool_last_error`, per thread.
//!
//! `MaxpoolBackend` must list exactly `maxpool::Backend::ALL`, with the same numbers: `tests/header.rs` checks it.

#![allow(clippy::missing_safety_doc)] // The safety contract is the C documentation on each function.

use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

use maxpool::technique::{backward as scatter, Geometry};
use maxpool::{Axis, Backend, Element, ErrorKind, Float, Outputs, Padding, Params, Plan};

/// The result of every call that can fail. Values are never renumbered.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaxpoolStatus {
    /// Success: the outputs have been written.
    Ok = 0,
    /// A pointer that must not be NULL was NULL.
    NullPointer = 1,
    /// A kernel, stride or dilation of 0, a window that covers only padding, or a thread count above
    /// `MAXPOOL_MAX_THREADS`.
    InvalidParams = 2,
    /// Zero height or width, an empty output, sizes whose byte counts overflow, or buffers that overlap.
    InvalidShape = 3,
    /// The backend cannot pool this geometry (block with overlapping or dilated windows).
    Unsupported = 4,
    /// A backend value or name that is not a backend.
    UnknownBackend = 5,
    /// An index given to the backward pass lies outside its plane.
    IndexOutOfRange = 6,
    /// The library could not allocate memory it needs.
    OutOfMemory = 7,
    /// A bug in maxpool: an internal error or a caught panic. Please report it.
    Internal = 8,
    /// A pointer that is not aligned for its type (a `float *` whose address is not a multiple of 4, say), also
    /// for a buffer of zero elements.
    Misaligned = 9,
}

impl MaxpoolStatus {
    /// Every status, in order of value: the one list `maxpool_status_message` reads.
    const ALL: [Status; 10] = [
        Status::Ok,
        Status::NullPointer,
        Status::InvalidParams,
        Status::InvalidShape,
        Status::Unsupported,
        Status::UnknownBackend,
        Status::IndexOutOfRange,
        Status::OutOfMemory,
        Status::Internal,
        Status::Misaligned,
    ];

    /// What `maxpool_status_message` says of this status.
    fn message(self) -> &'static CStr {
        match self {
            Status::Ok => c"success",
            Status::NullPointer => c"a required pointer is NULL",
            Status::InvalidParams => {
                c"invalid parameters: a kernel, stride or dilation of 0, a window that covers only padding, or \
                  too many threads"
            }
            Status::InvalidShape => {
                c"invalid shape: zero height or width, an empty output, sizes that overflow, or overlapping buffers"
            }
            Status::Unsupported => {
                c"the backend cannot pool this geometry (block needs stride equal to kernel and dilation 1)"
            }
            Status::UnknownBackend => c"unknown backend",
            Status::IndexOutOfRange => c"an index given to the backward pass lies outside its plane",
            Status::OutOfMemory => c"out of memory",
            Status::Internal => c"internal error in maxpool (a bug: please report it)",
            Status::Misaligned => c"a pointer is not aligned for its type",
        }
    }
}

// `ALL[n]` is the status of value n: `maxpool_status_message` relies on it.
const _: () = {
    let mut i = 0;
    while i < MaxpoolStatus::ALL.len() {
        assert!(MaxpoolStatus::ALL[i] as usize == i);
        i += 1;
    }
};

/// A backend, chosen at run time. Values are never renumbered; `maxpool_backend_name` and
/// `maxpool_backend_from_name` convert to and from names.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaxpoolBackend {
    /// A backend that can pool the geometry, chosen by measured speed; the environment variable
    /// `MAXPOOL_BACKEND` (read once per process) overrides the choice.
    Auto = 0,
    /// Direct loops over outputs and window taps ("naive", "naive-loop"). Any geometry.
    Naive = 1,
    /// Argmax per block of a reshaped plane ("block", "block-reshape"). Non-overlapping windows only: stride equal
    /// to kernel, dilation 1.
    Block = 2,
    /// Gather through a precomputed table of window offsets ("lookup", "sliding-window-lookup"). Any geometry.
    Lookup = 3,
    /// Vectorised sweeps of window taps over output rows, SIMD chosen at run time ("simd", "vectorised-rows").
    /// Any geometry.
    Simd = 4,
}

/// A `MaxpoolBackend` as C passes it: read as an integer and checked.
pub type BackendArg = u32;
/// A `MaxpoolStatus` as C passes it: read as an integer and checked.
pub type StatusArg = u32;
/// A C `bool` read as a byte: any nonzero value is true.
pub type CBool = u8;

/// Pooling parameters. Sizes are in elements; `[h, w]` pairs are given as separate fields.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct MaxpoolParams {
    /// Window height, at least 1.
    pub kernel_h: u32,
    /// Window width, at least 1.
    pub kernel_w: u32,
    /// Vertical step between windows, at least 1.
    pub stride_h: u32,
    /// Horizontal step between windows, at least 1.
    pub stride_w: u32,
    /// Implicit padding rows above the input; padding never wins.
    pub pad_top: u32,
    /// Implicit padding rows below the input.
    pub pad_bottom: u32,
    /// Implicit padding columns left of the input.
    pub pad_left: u32,
    /// Implicit padding columns right of the input.
    pub pad_right: u32,
    /// Vertical step between window taps, at least 1.
    pub dilation_h: u32,
    /// Horizontal step between window taps, at least 1.
    pub dilation_w: u32,
    /// Round the output size up (PyTorch's `ceil_mode`); the last window must still start inside the input or
    /// the leading padding.
    pub ceil_mode: CBool,
}

/// A validated geometry and one backend's precomputed state. Opaque; create with `maxpool_plan_new`, free with
/// `maxpool_plan_free`. Immutable: one plan may be used from many threads at once.
pub struct MaxpoolPlan {
    plan: Plan,
}

type Status = MaxpoolStatus;

impl From<&maxpool::Error> for MaxpoolStatus {
    fn from(e: &maxpool::Error) -> Self {
        match e.kind() {
            ErrorKind::InvalidParams => Status::InvalidParams,
            ErrorKind::InvalidShape => Status::InvalidShape,
            ErrorKind::Unsupported => Status::Unsupported,
            ErrorKind::UnknownBackend => Status::UnknownBackend,
            ErrorKind::IndexOutOfRange => Status::IndexOutOfRange,
            ErrorKind::OutOfMemory => Status::OutOfMemory,
            _ => Status::Internal,
        }
    }
}

/// A refusal: the status C gets, and the message `maxpool_last_error` gives for it.
struct Failure {
    status: Status,
    message: String,
}

impl Failure {
    fn new(status: Status, message: impl Into<String>) -> Self {
        Failure {
            status,
            message: message.into(),
        }
    }

    fn null(argument: &str) -> Self {
        Failure::new(Status::NullPointer, format!("{argument} is NULL"))
    }
}

impl From<maxpool::Error> for Failure {
    fn from(e: maxpool::Error) -> Self {
        let message = match &e {
            // C names the fields `kernel_h`, …; a designated initialiser that leaves one out sets it to 0.
            maxpool::Error::ZeroParam { what, axis } => format!(
                "{what}_{} is 0; it must be at least 1 (a field that an initialiser leaves out is 0: start from \
                 maxpool_params() or maxpool_params_padded() and change what differs)",
                match axis {
                    Axis::Height => "h",
                    Axis::Width => "w",
                }
            ),
            // C knows the limit by the header's name for it.
            e @ maxpool::Error::TooManyThreads { .. } => {
                e.to_string().replace("(MAX_THREADS)", "(MAXPOOL_MAX_THREADS)")
            }
            e => e.to_string(),
        };
        Failure::new(Status::from(&e), message)
    }
}

thread_local! {
    /// The message of this thread's last call that returned a status: `None` after a success.
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

/// Records the message of a call that just returned, for `maxpool_last_error`.
fn record(message: Option<String>) {
    // During the thread's exit the slot may be gone; then there is no later call to read it either.
    let _ = LAST_ERROR.try_with(|slot| {
        let Ok(mut slot) = slot.try_borrow_mut() else {
            return;
        };
        match message {
            None if slot.is_none() => {}
            None => *slot = None,
            // An interior NUL would cut the message short; there is none, but C must get a string either way.
            Some(m) => *slot = Some(CString::new(m.replace('\0', " ")).unwrap_or_default()),
        }
    });
}

/// What a caught panic says, for the message.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic")
}

/// Runs `f`, turning its error or a panic into a status, and records the message for `maxpool_last_error`.
fn boundary(f: impl FnOnce() -> Result<(), Failure>) -> Status {
    let (status, message) = match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => (Status::Ok, None),
        Ok(Err(failure)) => (failure.status, Some(failure.message)),
        Err(payload) => {
            let message = format!(
                "internal error in maxpool (a bug: please report it): {}",
                panic_message(&*payload)
            );
            // Dropping a payload runs its destructor, which could itself panic.
            let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
            (Status::Internal, Some(message))
        }
    };
    let _ = catch_unwind(AssertUnwindSafe(|| record(message)));
    status
}

/// As [`boundary`], for functions that return a value instead of a status; they leave the last error alone.
fn boundary_or<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

fn backend_from(raw: BackendArg) -> Result<Backend, Failure> {
    Backend::from_number(raw).ok_or_else(|| {
        let known: Vec<String> = Backend::ALL
            .iter()
            .map(|b| format!("{} ({})", b.number(), b.name()))
            .collect();
        Failure::new(
            Status::UnknownBackend,
            format!(
                "backend {raw} is not a MaxpoolBackend; expected one of {}",
                known.join(", ")
            ),
        )
    })
}

unsafe fn params_from(p: *const MaxpoolParams) -> Result<Params, Failure> {
    aligned("params", "MaxpoolParams", p)?;
    // SAFETY: the caller passes NULL or a pointer to a MaxpoolParams, checked aligned; every bit pattern of its
    // fields is valid.
    let p = unsafe { p.as_ref() }.ok_or_else(|| Failure::null("params"))?;
    let n = |v: u32| v as usize;
    Ok(Params {
        kernel: [n(p.kernel_h), n(p.kernel_w)],
        stride: [n(p.stride_h), n(p.stride_w)],
        padding: Padding {
            top: n(p.pad_top),
            bottom: n(p.pad_bottom),
            left: n(p.pad_left),
            right: n(p.pad_right),
        },
        dilation: [n(p.dilation_h), n(p.dilation_w)],
        ceil_mode: p.ceil_mode != 0,
    })
}

/// Checks a pointer to a plan: NULL and a misaligned pointer are refused.
unsafe fn plan_from<'a>(plan: *const MaxpoolPlan) -> Result<&'a Plan, Failure> {
    aligned("plan", "MaxpoolPlan", plan)?;
    // SAFETY: the caller passes NULL or a plan from maxpool_plan_new that has not been freed.
    unsafe { plan.as_ref() }
        .map(|p| &p.plan)
        .ok_or_else(|| Failure::null("plan"))
}

/// `count` elements of `T` in the buffer `argument`, or INVALID_SHAPE when that many bytes cannot exist.
#[inline]
fn byte_len<T>(argument: &'static str, count: Option<usize>) -> Result<usize, Failure> {
    match count.and_then(|n| n.checked_mul(size_of::<T>())) {
        Some(bytes) if bytes <= isize::MAX as usize => Ok(bytes),
        _ => Err(too_large::<T>(argument, count)),
    }
}

// The messages of refusals are made out of line: the checks stay small enough to inline into every call, whose
// cost for tiny planes is mostly these checks.
#[cold]
#[inline(never)]
fn too_large<T>(argument: &str, count: Option<usize>) -> Failure {
    let message = match count {
        None => format!("the element count of {argument} (planes × plane size) overflows size_t"),
        Some(count) => format!(
            "{argument} would hold {count} elements of {} bytes, more than PTRDIFF_MAX bytes",
            size_of::<T>()
        ),
    };
    Failure::new(Status::InvalidShape, message)
}

#[cold]
#[inline(never)]
fn misaligned(name: &str, c_type: &str, address: usize, align: usize) -> Failure {
    Failure::new(
        Status::Misaligned,
        format!(
            "{name} is not aligned for {c_type}: address {address:#x} is not a multiple of {align}"
        ),
    )
}

/// A type C passes pointers to, by its C name for messages.
trait CType {
    const NAME: &'static str;
}

macro_rules! c_types {
    ($($t:ty => $name:literal),*) => {$(impl CType for $t { const NAME: &'static str = $name; })*};
}
c_types!(f32 => "float", f64 => "double", i8 => "int8_t", u8 => "uint8_t", i16 => "int16_t", u16 => "uint16_t",
    i32 => "int32_t", u32 => "uint32_t", i64 => "int64_t");

/// Checks that `ptr` (NULL or not, whatever the size of what it points to) is aligned for `T`, C's `c_type`: a
/// slice or reference made from one that is not is undefined behaviour. Every pointer the library reads or writes
/// through passes here first.
#[inline]
fn aligned<T>(name: &'static str, c_type: &'static str, ptr: *const T) -> Result<(), Failure> {
    if ptr.is_aligned() {
        Ok(())
    } else {
        Err(misaligned(name, c_type, ptr as usize, align_of::<T>()))
    }
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

/// A buffer the call reads or writes: its name and address range, checked for overlap with the others.
#[derive(Clone, Copy)]
struct Span {
    name: &'static str,
    start: usize,
    bytes: usize,
}

impl Span {
    fn overlaps(self, other: Span) -> bool {
        self.bytes > 0
            && other.bytes > 0
            && self.start < other.start + other.bytes
            && other.start < self.start + self.bytes
    }
}

/// Checks a needed buffer of `count` elements: a misaligned pointer is refused, also for an empty buffer; NULL is
/// refused unless it is empty.
#[inline]
fn span<T: CType>(
    name: &'static str,
    ptr: *const T,
    count: Option<usize>,
) -> Result<Span, Failure> {
    aligned(name, T::NAME, ptr)?;
    let bytes = byte_len::<T>(name, count)?;
    if ptr.is_null() && bytes > 0 {
        return Err(null_buffer(name, bytes / size_of::<T>()));
    }
    Ok(Span {
        name,
        start: ptr as usize,
        bytes,
    })
}

/// Checks an optional buffer: NULL means not wanted.
#[inline]
fn optional_span<T: CType>(
    name: &'static str,
    ptr: *const T,
    count: Option<usize>,
) -> Result<Option<Span>, Failure> {
    (!ptr.is_null()).then(|| span(name, ptr, count)).transpose()
}

/// Checks that no output overlaps another buffer of the call (absent optional outputs are `None`).
#[inline]
fn disjoint(outputs: &[Option<Span>], inputs: &[Span]) -> Result<(), Failure> {
    for (i, o) in outputs.iter().enumerate() {
        let Some(o) = *o else { continue };
        let others = outputs[i + 1..].iter().flatten().chain(inputs);
        for &other in others {
            if o.overlaps(other) {
                return Err(overlapping(o.name, other.name));
            }
        }
    }
    Ok(())
}

unsafe fn slice<'a, T>(ptr: *const T, s: Span) -> &'a [T] {
    if s.bytes == 0 {
        return &[];
    }
    // SAFETY: checked aligned, non-null and within isize::MAX bytes; the caller promises the buffer is that large.
    unsafe { std::slice::from_raw_parts(ptr, s.bytes / size_of::<T>()) }
}

unsafe fn slice_mut<'a, T>(ptr: *mut T, s: Span) -> &'a mut [T] {
    if s.bytes == 0 {
        return &mut [];
    }
    // SAFETY: as `slice`, and checked not to overlap any other buffer of the call.
    unsafe { std::slice::from_raw_parts_mut(ptr, s.bytes / size_of::<T>()) }
}

/// Checks the buffers of a forward call on `plan`, then pools.
unsafe fn forward<T: Element + CType>(
    plan: &Plan,
    input: *const T,
    planes: usize,
    values: *mut T,
    indices: *mut i64,
    multiplier: *mut u32,
) -> Result<(), Failure> {
    let g = plan.geometry();
    let in_len = planes.checked_mul(g.plane_len());
    let out_len = planes.checked_mul(g.out_plane_len());
    let input_span = span("input", input, in_len)?;
    let values_span = span("values", values, out_len)?;
    let indices_span = optional_span("indices", indices, out_len)?;
    let multiplier_span = optional_span("multiplier", multiplier, in_len)?;
    disjoint(
        &[Some(values_span), indices_span, multiplier_span],
        &[input_span],
    )?;
    // SAFETY: every pointer was checked above: aligned, non-null where needed, sizes in range, outputs disjoint.
    let out = Outputs {
        values: unsafe { slice_mut(values, values_span) },
        indices: indices_span.map(|s| unsafe { slice_mut(indices, s) }),
        multiplier: multiplier_span.map(|s| unsafe { slice_mut(multiplier, s) }),
    };
    Ok(plan.forward(unsafe { slice(input, input_span) }, planes, out)?)
}

#[allow(clippy::too_many_arguments)]
unsafe fn forward_once<T: Element + CType>(
    backend: BackendArg,
    params: *const MaxpoolParams,
    input: *const T,
    planes: usize,
    height: usize,
    width: usize,
    values: *mut T,
    indices: *mut i64,
    multiplier: *mut u32,
) -> Status {
    boundary(|| {
        let params = unsafe { params_from(params) }?;
        let backend = backend_from(backend)?;
        // Sizes whose byte counts overflow are refused before planning, which allocates.
        byte_len::<T>(
            "input",
            planes
                .checked_mul(height)
                .and_then(|n| n.checked_mul(width)),
        )?;
        let plan = Plan::new(backend, &params, height, width)?;
        unsafe { forward(&plan, input, planes, values, indices, multiplier) }
    })
}

unsafe fn plan_forward<T: Element + CType>(
    plan: *const MaxpoolPlan,
    input: *const T,
    planes: usize,
    values: *mut T,
    indices: *mut i64,
    multiplier: *mut u32,
) -> Status {
    boundary(|| {
        let plan = unsafe { plan_from(plan) }?;
        unsafe { forward(plan, input, planes, values, indices, multiplier) }
    })
}

/// Checks the buffers of a backward call for `geometry`, then scatters.
unsafe fn backward<T: Float + CType>(
    geometry: &Geometry,
    planes: usize,
    grad_output: *const T,
    indices: *const i64,
    grad_input: *mut T,
) -> Result<(), Failure> {
    let (in_len, out_len) = (
        planes.checked_mul(geometry.plane_len()),
        planes.checked_mul(geometry.out_plane_len()),
    );
    let (go, ix, gi) = (
        span("grad_output", grad_output, out_len)?,
        span("indices", indices, out_len)?,
        span("grad_input", grad_input, in_len)?,
    );
    disjoint(&[Some(gi)], &[go, ix])?;
    // SAFETY: checked above.
    let (grad_output, indices, grad_input) = unsafe {
        (
            slice(grad_output, go),
            slice(indices, ix),
            slice_mut(grad_input, gi),
        )
    };
    Ok(scatter(geometry, planes, grad_output, indices, grad_input)?)
}

unsafe fn backward_once<T: Float + CType>(
    params: *const MaxpoolParams,
    planes: usize,
    height: usize,
    width: usize,
    grad_output: *const T,
    indices: *const i64,
    grad_input: *mut T,
) -> Status {
    boundary(|| {
        let params = unsafe { params_from(params) }?;
        let g = Geometry::new(&params, height, width)?;
        unsafe { backward(&g, planes, grad_output, indices, grad_input) }
    })
}

unsafe fn plan_backward<T: Float + CType>(
    plan: *const MaxpoolPlan,
    planes: usize,
    grad_output: *const T,
    indices: *const i64,
    grad_input: *mut T,
) -> Status {
    boundary(|| {
        let plan = unsafe { plan_from(plan) }?;
        unsafe { backward(plan.geometry(), planes, grad_output, indices, grad_input) }
    })
}

/// Square `kernel` × `kernel` windows with the given stride on both axes, no padding, dilation 1, floor mode.
#[no_mangle]
pub extern "C" fn maxpool_params(kernel: u32, stride: u32) -> MaxpoolParams {
    maxpool_params_padded(kernel, stride, 0)
}

/// As `maxpool_params`, with `padding` rows or columns of implicit padding on every side (PyTorch's
/// `max_pool2d(kernel, stride, padding)`). Start from this and change fields for anything else: a field that a
/// designated initialiser leaves out is 0, which `dilation_h` and `dilation_w` must not be.
#[no_mangle]
pub extern "C" fn maxpool_params_padded(kernel: u32, stride: u32, padding: u32) -> MaxpoolParams {
    MaxpoolParams {
        kernel_h: kernel,
        kernel_w: kernel,
        stride_h: stride,
        stride_w: stride,
        pad_top: padding,
        pad_bottom: padding,
        pad_left: padding,
        pad_right: padding,
        dilation_h: 1,
        dilation_w: 1,
        ceil_mode: 0,
    }
}

/// Computes the output plane size for input planes of `height` × `width`, validating the geometry as a forward
/// call would. Writes `*out_height` and `*out_width` only on success.
#[no_mangle]
pub unsafe extern "C" fn maxpool_output_shape(
    params: *const MaxpoolParams,
    height: usize,
    width: usize,
    out_height: *mut usize,
    out_width: *mut usize,
) -> MaxpoolStatus {
    boundary(|| {
        let params = unsafe { params_from(params) }?;
        check_out_pointers(out_height, out_width)?;
        let g = Geometry::new(&params, height, width)?;
        unsafe { write_shape(out_height, out_width, [g.out_height(), g.out_width()]) };
        Ok(())
    })
}

/// The output plane size of `plan`: what `maxpool_output_shape` gives for its parameters and plane size. Writes
/// `*out_height` and `*out_width` only on success.
#[no_mangle]
pub unsafe extern "C" fn maxpool_plan_output_shape(
    plan: *const MaxpoolPlan,
    out_height: *mut usize,
    out_width: *mut usize,
) -> MaxpoolStatus {
    boundary(|| {
        let plan = unsafe { plan_from(plan) }?;
        check_out_pointers(out_height, out_width)?;
        unsafe { write_shape(out_height, out_width, plan.out_shape()) };
        Ok(())
    })
}

/// Both of a shape's output pointers are checked before either is written.
fn check_out_pointers(out_height: *mut usize, out_width: *mut usize) -> Result<(), Failure> {
    for (name, ptr) in [("out_height", out_height), ("out_width", out_width)] {
        aligned(name, "size_t", ptr)?;
        if ptr.is_null() {
            return Err(Failure::null(name));
        }
    }
    Ok(())
}

/// Writes an output shape through pointers that [`check_out_pointers`] accepted.
unsafe fn write_shape(out_height: *mut usize, out_width: *mut usize, [h, w]: [usize; 2]) {
    // SAFETY: checked aligned and non-null by check_out_pointers; the caller passes pointers to writable size_t.
    unsafe {
        out_height.write(h);
        out_width.write(w);
    }
}

/// Pools `planes` row-major `height` × `width` planes of `float` from `input`. Writes `values`
/// (planes × out_height × out_width), and when not NULL `indices` (the same count; `row * width + col` of each
/// winner within its plane) and `multiplier` (planes × height × width; windows won per input element). The
/// multiplier is overwritten, not added to: its previous contents do not matter. Every pointer must be aligned
/// for its type, even for zero elements: one that is not gives `MAXPOOL_STATUS_MISALIGNED`, naming it.
#[no_mangle]
pub unsafe extern "C" fn maxpool_forward_f32(
    backend: BackendArg,
    params: *const MaxpoolParams,
    input: *const f32,
    planes: usize,
    height: usize,
    width: usize,
    values: *mut f32,
    indices: *mut i64,
    multiplier: *mut u32,
) -> MaxpoolStatus {
    unsafe {
        forward_once(
            backend, params, input, planes, height, width, values, indices, multiplier,
        )
    }
}

/// As `maxpool_forward_f32`, for `double`.
#[no_mangle]
pub unsafe extern "C" fn maxpool_forward_f64(
    backend: BackendArg,
    params: *const MaxpoolParams,
    input: *const f64,
    planes: usize,
    height: usize,
    width: usize,
    values: *mut f64,
    indices: *mut i64,
    multiplier: *mut u32,
) -> MaxpoolStatus {
    unsafe {
        forward_once(
            backend, params, input, planes, height, width, values, indices, multiplier,
        )
    }
}

/// As `maxpool_forward_f32`, for `int8_t`.
#[no_mangle]
pub unsafe extern "C" fn maxpool_forward_i8(
    backend: BackendArg,
    params: *const MaxpoolParams,
    input: *const i8,
    planes: usize,
    height: usize,
    width: usize,
    values: *mut i8,
    indices: *mut i64,
    multiplier: *mut u32,
) -> MaxpoolStatus {
    unsafe {
        forward_once(
            backend, params, input, planes, height, width, values, indices, multiplier,
        )
    }
}

/// As `maxpool_forward_f32`, for `uint8_t`.
#[no_mangle]
pub unsafe extern "C" fn maxpool_forward_u8(
    backend: BackendArg,
    params: *const MaxpoolParams,
    input: *const u8,
    planes: usize,
    height: usize,
    width: usize,
    values: *mut u8,
    indices: *mut i64,
    multiplier: *mut u32,
) -> MaxpoolStatus {
    unsafe {
        forward_once(
            backend, params, input, planes, height, width, values, indices, multiplier,
        )
    }
}

/// As `maxpool_forward_f32`, for `int16_t`.
#[no_mangle]
pub unsafe extern "C" fn maxpool_forward_i16(
    backend: BackendArg,
    params: *const MaxpoolParams,
    input: *const i16,
    planes: usize,
    height: usize,
    width: usize,
    values: *mut i16,
    indices: *mut i64,
    multiplier: *mut u32,
) -> MaxpoolStatus {
    unsafe {
        forward_once(
            backend, params, input, planes, height, width, values, indices, multiplier,
        )
    }
}

/// As `maxpool_forward_f32`, for `uint16_t`.
#[no_mangle]
pub unsafe extern "C" fn maxpool_forward_u16(
    backend: BackendArg,
    params: *const MaxpoolParams,
    input: *const u16,
    planes: usize,
    height: usize,
    width: usize,
    values: *mut u16,
    indices: *mut i64,
    multiplier: *mut u32,
) -> MaxpoolStatus {
    unsafe {
        forward_once(
            backend, params, input, planes, height, width, values, indices, multiplier,
        )
    }
}

/// As `maxpool_forward_f32`, for `int32_t`.
#[no_mangle]
pub unsafe extern "C" fn maxpool_forward_i32(
    backend: BackendArg,
    params: *const MaxpoolParams,
    input: *const i32,
    planes: usize,
    height: usize,
    width: usize,
    values: *mut i32,
    indices: *mut i64,
    multiplier: *mut u32,
) -> MaxpoolStatus {
    unsafe {
        forward_once(
            backend, params, input, planes, height, width, values, indices, multiplier,
        )
    }
}

/// As `maxpool_forward_f32`, for `int64_t`.
#[no_mangle]
pub unsafe extern "C" fn maxpool_forward_i64(
    backend: BackendArg,
    params: *const MaxpoolParams,
    input: *const i64,
    planes: usize,
    height: usize,
    width: usize,
    values: *mut i64,
    indices: *mut i64,
    multiplier: *mut u32,
) -> MaxpoolStatus {
    unsafe {
        forward_once(
            backend, params, input, planes, height, width, values, indices, multiplier,
        )
    }
}

/// The backward pass for `float`: zeroes `grad_input` (planes × height × width), then adds each `grad_output`
/// element (planes × out_height × out_width) onto the input element its index names, in output order. Every
/// index is checked first: one outside its plane gives `MAXPOOL_STATUS_INDEX_OUT_OF_RANGE` and nothing is written.
/// Every pointer must be aligned for its type, even for zero elements (`MAXPOOL_STATUS_MISALIGNED`).
#[no_mangle]
pub unsafe extern "C" fn maxpool_backward_f32(
    params: *const MaxpoolParams,
    planes: usize,
    height: usize,
    width: usize,
    grad_output: *const f32,
    indices: *const i64,
    grad_input: *mut f32,
) -> MaxpoolStatus {
    unsafe {
        backward_once(
            params,
            planes,
            height,
            width,
            grad_output,
            indices,
            grad_input,
        )
    }
}

/// As `maxpool_backward_f32`, for `double`.
#[no_mangle]
pub unsafe extern "C" fn maxpool_backward_f64(
    params: *const MaxpoolParams,
    planes: usize,
    height: usize,
    width: usize,
    grad_output: *const f64,
    indices: *const i64,
    grad_input: *mut f64,
) -> MaxpoolStatus {
    unsafe {
        backward_once(
            params,
            planes,
            height,
            width,
            grad_output,
            indices,
            grad_input,
        )
    }
}

/// Validates `params` for planes of `height` × `width`, resolves `backend` and precomputes its state. On success
/// `*plan` receives a plan the caller owns and frees with `maxpool_plan_free`; on failure `*plan` is untouched.
#[no_mangle]
pub unsafe extern "C" fn maxpool_plan_new(
    backend: BackendArg,
    params: *const MaxpoolParams,
    height: usize,
    width: usize,
    plan: *mut *mut MaxpoolPlan,
) -> MaxpoolStatus {
    boundary(|| {
        let params = unsafe { params_from(params) }?;
        aligned("plan", "MaxpoolPlan *", plan)?;
        if plan.is_null() {
            return Err(Failure::null("plan"));
        }
        let made = Plan::new(backend_from(backend)?, &params, height, width)?;
        let layout = std::alloc::Layout::new::<MaxpoolPlan>();
        // SAFETY: MaxpoolPlan is not zero-sized. Allocating by hand turns an allocation failure into a status.
        let raw = unsafe { std::alloc::alloc(layout) }.cast::<MaxpoolPlan>();
        if raw.is_null() {
            return Err(Failure::new(
                Status::OutOfMemory,
                format!(
                    "out of memory: could not allocate {} bytes for the plan",
                    layout.size()
                ),
            ));
        }
        // SAFETY: `raw` is fresh memory with MaxpoolPlan's layout, as `Box` would allocate; `plan` was checked.
        unsafe {
            raw.write(MaxpoolPlan { plan: made });
            *plan = raw;
        }
        Ok(())
    })
}

/// As `maxpool_forward_f32`, with the backend, parameters and plane size of `plan`.
#[no_mangle]
pub unsafe extern "C" fn maxpool_plan_forward_f32(
    plan: *const MaxpoolPlan,
    input: *const f32,
    planes: usize,
    values: *mut f32,
    indices: *mut i64,
    multiplier: *mut u32,
) -> MaxpoolStatus {
    unsafe { plan_forward(plan, input, planes, values, indices, multiplier) }
}

/// As `maxpool_plan_forward_f32`, for `double`.
#[no_mangle]
pub unsafe extern "C" fn maxpool_plan_forward_f64(
    plan: *const MaxpoolPlan,
    input: *const f64,
    planes: usize,
    values: *mut f64,
    indices: *mut i64,
    multiplier: *mut u32,
) -> MaxpoolStatus {
    unsafe { plan_forward(plan, input, planes, values, indices, multiplier) }
}

/// As `maxpool_plan_forward_f32`, for `int8_t`.
#[no_mangle]
pub unsafe extern "C" fn maxpool_plan_forward_i8(
    plan: *const MaxpoolPlan,
    input: *const i8,
    planes: usize,
    values: *mut i8,
    indices: *mut i64,
    multiplier: *mut u32,
) -> MaxpoolStatus {
    unsafe { plan_forward(plan, input, planes, values, indices, multiplier) }
}

/// As `maxpool_plan_forward_f32`, for `uint8_t`.
#[no_mangle]
pub unsafe extern "C" fn maxpool_plan_forward_u8(
    plan: *const MaxpoolPlan,
    input: *const u8,
    planes: usize,
    values: *mut u8,
    indices: *mut i64,
    multiplier: *mut u32,
) -> MaxpoolStatus {
    unsafe { plan_forward(plan, input, planes, values, indices, multiplier) }
}

/// As `maxpool_plan_forward_f32`, for `int16_t`.
#[no_mangle]
pub unsafe extern "C" fn maxpool_plan_forward_i16(
    plan: *const MaxpoolPlan,
    input: *const i16,
    planes: usize,
    values: *mut i16,
    indices: *mut i64,
    multiplier: *mut u32,
) -> MaxpoolStatus {
    unsafe { plan_forward(plan, input, planes, values, indices, multiplier) }
}

/// As `maxpool_plan_forward_f32`, for `uint16_t`.
#[no_mangle]
pub unsafe extern "C" fn maxpool_plan_forward_u16(
    plan: *const MaxpoolPlan,
    input: *const u16,
    planes: usize,
    values: *mut u16,
    indices: *mut i64,
    multiplier: *mut u32,
) -> MaxpoolStatus {
    unsafe { plan_forward(plan, input, planes, values, indices, multiplier) }
}

/// As `maxpool_plan_forward_f32`, for `int32_t`.
#[no_mangle]
pub unsafe extern "C" fn maxpool_plan_forward_i32(
    plan: *const MaxpoolPlan,
    input: *const i32,
    planes: usize,
    values: *mut i32,
    indices: *mut i64,
    multiplier: *mut u32,
) -> MaxpoolStatus {
    unsafe { plan_forward(plan, input, planes, values, indices, multiplier) }
}

/// As `maxpool_plan_forward_f32`, for `int64_t`.
#[no_mangle]
pub unsafe extern "C" fn maxpool_plan_forward_i64(
    plan: *const MaxpoolPlan,
    input: *const i64,
    planes: usize,
    values: *mut i64,
    indices: *mut i64,
    multiplier: *mut u32,
) -> MaxpoolStatus {
    unsafe { plan_forward(plan, input, planes, values, indices, multiplier) }
}

/// As `maxpool_backward_f32`, with the parameters and plane size of `plan`: zeroes `grad_input` (planes ×
/// height × width), then adds each `grad_output` element (planes × out_height × out_width) onto the input element
/// its index names, in output order. Every index is checked first.
#[no_mangle]
pub unsafe extern "C" fn maxpool_plan_backward_f32(
    plan: *const MaxpoolPlan,
    planes: usize,
    grad_output: *const f32,
    indices: *const i64,
    grad_input: *mut f32,
) -> MaxpoolStatus {
    unsafe { plan_backward(plan, planes, grad_output, indices, grad_input) }
}

/// As `maxpool_plan_backward_f32`, for `double`.
#[no_mangle]
pub unsafe extern "C" fn maxpool_plan_backward_f64(
    plan: *const MaxpoolPlan,
    planes: usize,
    grad_output: *const f64,
    indices: *const i64,
    grad_input: *mut f64,
) -> MaxpoolStatus {
    unsafe { plan_backward(plan, planes, grad_output, indices, grad_input) }
}

/// The concrete backend `plan` runs, never `MAXPOOL_BACKEND_AUTO` (which a NULL plan gives, as does a pointer not
/// aligned for a plan, which cannot be one).
#[no_mangle]
pub unsafe extern "C" fn maxpool_plan_backend(plan: *const MaxpoolPlan) -> BackendArg {
    boundary_or(Backend::Auto.number(), || {
        // The checks of every call with a plan; this one has no status to give for what they refuse.
        unsafe { plan_from(plan) }
            .map_or(Backend::Auto, |p| p.backend())
            .number()
    })
}

/// Frees a plan from `maxpool_plan_new`. NULL is fine, and so is a pointer not aligned for a plan, which cannot be
/// one: both are left alone. The plan must not be in use by another thread.
#[no_mangle]
pub unsafe extern "C" fn maxpool_plan_free(plan: *mut MaxpoolPlan) {
    boundary_or((), || {
        if !plan.is_null() && plan.is_aligned() {
            // SAFETY: allocated in maxpool_plan_new with the global allocator and MaxpoolPlan's layout.
            drop(unsafe { Box::from_raw(plan) });
        }
    })
}

/// Parses a backend name, ignoring ASCII case: "auto", "naive", "block", "lookup", "simd", or the long names
/// "naive-loop", "block-reshape", "sliding-window-lookup", "vectorised-rows". Writes `*backend` only on success.
#[no_mangle]
pub unsafe extern "C" fn maxpool_backend_from_name(
    name: *const c_char,
    backend: *mut BackendArg,
) -> MaxpoolStatus {
    boundary(|| {
        if name.is_null() {
            return Err(Failure::null("name"));
        }
        aligned("backend", "MaxpoolBackend", backend)?;
        if backend.is_null() {
            return Err(Failure::null("backend"));
        }
        // SAFETY: the caller passes a NUL-terminated string.
        let name = unsafe { CStr::from_ptr(name) };
        let parsed = name
            .to_str()
            .map_err(|_| maxpool::Error::UnknownBackend {
                given: format!("{name:?} (not UTF-8)"),
                known: Backend::names(),
            })?
            .parse::<Backend>()?;
        // SAFETY: checked aligned and non-null; the caller passes a pointer to a writable MaxpoolBackend.
        unsafe { backend.write(parsed.number()) };
        Ok(())
    })
}

/// The short name of a backend ("auto", "naive", "block", "lookup", "simd"): a static string, "unknown" for a
/// value that is not a backend.
#[no_mangle]
pub extern "C" fn maxpool_backend_name(backend: BackendArg) -> *const c_char {
    static NAMES: OnceLock<Vec<CString>> = OnceLock::new();
    boundary_or(c"unknown".as_ptr(), || {
        let names = NAMES.get_or_init(|| {
            Backend::ALL
                .iter()
                .map(|b| CString::new(b.name()).unwrap_or_default())
                .collect()
        });
        Backend::from_number(backend)
            .and_then(|b| names.get(b.number() as usize))
            .map_or(c"unknown".as_ptr(), |n| n.as_ptr())
    })
}

/// `MAXPOOL_STATUS_OK` when `backend` can pool geometries with these parameters; otherwise the status a plan
/// would get: `MAXPOOL_STATUS_UNSUPPORTED`, `MAXPOOL_STATUS_INVALID_PARAMS`, `MAXPOOL_STATUS_UNKNOWN_BACKEND`, ….
#[no_mangle]
pub unsafe extern "C" fn maxpool_backend_supports(
    backend: BackendArg,
    params: *const MaxpoolParams,
) -> MaxpoolStatus {
    boundary(|| {
        let params = unsafe { params_from(params) }?;
        Ok(backend_from(backend)?.supports(&params)?)
    })
}

/// A static, human-readable description of a status; never NULL, also for a value that is not a status.
/// `maxpool_last_error` gives the detail of the thread's last failed call.
#[no_mangle]
pub extern "C" fn maxpool_status_message(status: StatusArg) -> *const c_char {
    usize::try_from(status)
        .ok()
        .and_then(|n| Status::ALL.get(n))
        .map_or(c"unknown status", |s| s.message())
        .as_ptr()
}

/// The library's version, "MAJOR.MINOR.PATCH": a static string.
#[no_mangle]
pub extern "C" fn maxpool_version() -> *const c_char {
    const VERSION: &CStr =
        match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
            Ok(v) => v,
            Err(_) => panic!("the version has no NUL"),
        };
    VERSION.as_ptr()
}

/// The most threads a pooling call may use: `maxpool_set_num_threads` refuses more, and a larger
/// `MAXPOOL_NUM_THREADS` is ignored.
// cbindgen writes only literals into the header, so this is one, held equal to the library's by the compiler.
pub const MAXPOOL_MAX_THREADS: usize = 1024;
const _: () = assert!(MAXPOOL_MAX_THREADS == maxpool::MAX_THREADS);

/// Sets how many threads pooling calls may use, at most `MAXPOOL_MAX_THREADS`; 0 restores the default: the
/// `MAXPOOL_NUM_THREADS` environment variable when it is a whole number from 1 to `MAXPOOL_MAX_THREADS` (any other
/// value is ignored), else all cores (at most `MAXPOOL_MAX_THREADS`). Takes effect for calls that start
/// afterwards. A count above `MAXPOOL_MAX_THREADS` gives `MAXPOOL_STATUS_INVALID_PARAMS` and leaves the setting as
/// it was.
#[no_mangle]
pub extern "C" fn maxpool_set_num_threads(threads: usize) -> MaxpoolStatus {
    boundary(|| Ok(maxpool::set_num_threads(threads)?))
}

/// What went wrong in this thread's last call that returned a status, in words: the detail behind the status,
/// naming the argument at fault ("kernel_w is 0; it must be at least 1", "MAXPOOL_BACKEND=nope is not a backend;
/// …"). "" when that call succeeded or there has been none. Never NULL. The string belongs to the library and
/// stays valid until this thread's next call of a function that returns a `MaxpoolStatus`; copy it to keep it.
/// Calls on other threads do not change it.
#[no_mangle]
pub extern "C" fn maxpool_last_error() -> *const c_char {
    boundary_or(c"".as_ptr(), || {
        LAST_ERROR
            .try_with(|slot| match &*slot.borrow() {
                // The CString's buffer does not move until the slot is next written, by a later call.
                Some(message) => message.as_ptr(),
                None => c"".as_ptr(),
            })
            .unwrap_or(c"".as_ptr())
    })
}
