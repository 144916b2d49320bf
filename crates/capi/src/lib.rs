//! The C ABI of maxpool. This crate is the boundary only: it turns C arguments into the `maxpool` crate's types,
//! checks every pointer and size before anything is written, catches panics, and maps errors to statuses. The
//! semantics are the core crate's.
//!
//! Conventions, for every function:
//! - Outputs are written only when the status is `MAXPOOL_STATUS_OK`.
//! - A buffer that is needed may not be NULL; one of zero elements may be.
//! - Enum and bool arguments are read as integers, so an out-of-range value is a status, never undefined behaviour.
//! - No panic crosses the boundary: one becomes `MAXPOOL_STATUS_INTERNAL`.

#![allow(clippy::missing_safety_doc)] // The safety contract is the C documentation on each function.

use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

use maxpool::{Backend, Element, ErrorKind, Float, Geometry, Outputs, Padding, Params, Plan, Pool};

/// The result of every call that can fail. Values are never renumbered.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaxpoolStatus {
    /// Success: the outputs have been written.
    Ok = 0,
    /// A pointer that must not be NULL was NULL.
    NullPointer = 1,
    /// A kernel, stride or dilation of 0, or a window that covers only padding.
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
}

/// A backend, chosen at run time. Values are never renumbered.
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
    /// Any geometry; the fastest, and what `MAXPOOL_BACKEND_AUTO` picks.
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

impl From<maxpool::Error> for MaxpoolStatus {
    fn from(e: maxpool::Error) -> Self {
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

/// Runs `f`, turning its error or a panic into a status.
fn boundary(f: impl FnOnce() -> Result<(), Status>) -> Status {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => Status::Ok,
        Ok(Err(status)) => status,
        Err(_) => Status::Internal,
    }
}

/// As [`boundary`], for functions that return a value instead of a status.
fn boundary_or<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

fn backend_from(raw: BackendArg) -> Result<Backend, Status> {
    Ok(match raw {
        0 => Backend::Auto,
        1 => Backend::Naive,
        2 => Backend::Block,
        3 => Backend::Lookup,
        4 => Backend::Simd,
        _ => return Err(Status::UnknownBackend),
    })
}

fn backend_to(b: Backend) -> MaxpoolBackend {
    match b {
        Backend::Auto => MaxpoolBackend::Auto,
        Backend::Naive => MaxpoolBackend::Naive,
        Backend::Block => MaxpoolBackend::Block,
        Backend::Lookup => MaxpoolBackend::Lookup,
        Backend::Simd => MaxpoolBackend::Simd,
    }
}

unsafe fn params_from(p: *const MaxpoolParams) -> Result<Params, Status> {
    // SAFETY: the caller passes NULL or a pointer to a MaxpoolParams; every bit pattern of its fields is valid.
    let p = unsafe { p.as_ref() }.ok_or(Status::NullPointer)?;
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

/// `count` elements of `T`, or INVALID_SHAPE when that many bytes cannot exist.
fn byte_len<T>(count: Option<usize>) -> Result<usize, Status> {
    count
        .and_then(|n| n.checked_mul(size_of::<T>()))
        .filter(|&bytes| bytes <= isize::MAX as usize)
        .ok_or(Status::InvalidShape)
}

/// A buffer the call reads or writes: its address range, checked for overlap with the others.
#[derive(Clone, Copy)]
struct Span {
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

/// Checks a needed buffer of `count` elements: NULL is refused unless it is empty.
fn span<T>(ptr: *const T, count: Option<usize>) -> Result<Span, Status> {
    let bytes = byte_len::<T>(count)?;
    if ptr.is_null() && bytes > 0 {
        return Err(Status::NullPointer);
    }
    Ok(Span {
        start: ptr as usize,
        bytes,
    })
}

/// Checks that no output overlaps another buffer of the call.
fn disjoint(outputs: &[Span], inputs: &[Span]) -> Result<(), Status> {
    for (i, &o) in outputs.iter().enumerate() {
        if outputs[i + 1..]
            .iter()
            .chain(inputs)
            .any(|&s| o.overlaps(s))
        {
            return Err(Status::InvalidShape);
        }
    }
    Ok(())
}

unsafe fn slice<'a, T>(ptr: *const T, s: Span) -> &'a [T] {
    if s.bytes == 0 {
        return &[];
    }
    // SAFETY: checked non-null and within isize::MAX bytes; the caller promises the buffer is that large.
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
#[allow(clippy::too_many_arguments)]
unsafe fn forward<T: Element>(
    plan: &Plan,
    input: *const T,
    planes: usize,
    values: *mut T,
    indices: *mut i64,
    multiplier: *mut u32,
) -> Result<(), Status> {
    let g = plan.geometry();
    let in_len = planes.checked_mul(g.plane_len());
    let out_len = planes.checked_mul(g.out_plane_len());
    let input_span = span(input, in_len)?;
    let values_span = span(values, out_len)?;
    let indices_span = (!indices.is_null())
        .then(|| span(indices, out_len))
        .transpose()?;
    let multiplier_span = (!multiplier.is_null())
        .then(|| span(multiplier, in_len))
        .transpose()?;
    let outputs: Vec<Span> = [Some(values_span), indices_span, multiplier_span]
        .into_iter()
        .flatten()
        .collect();
    disjoint(&outputs, &[input_span])?;
    // SAFETY: every pointer was checked above: non-null where needed, sizes in range, outputs disjoint.
    let out = Outputs {
        values: unsafe { slice_mut(values, values_span) },
        indices: indices_span.map(|s| unsafe { slice_mut(indices, s) }),
        multiplier: multiplier_span.map(|s| unsafe { slice_mut(multiplier, s) }),
    };
    plan.forward(unsafe { slice(input, input_span) }, planes, out)
        .map_err(Status::from)
}

#[allow(clippy::too_many_arguments)]
unsafe fn forward_once<T: Element>(
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
            planes
                .checked_mul(height)
                .and_then(|n| n.checked_mul(width)),
        )?;
        let plan = Plan::new(backend, &params, height, width)?;
        unsafe { forward(&plan, input, planes, values, indices, multiplier) }
    })
}

unsafe fn plan_forward<T: Element>(
    plan: *const MaxpoolPlan,
    input: *const T,
    planes: usize,
    values: *mut T,
    indices: *mut i64,
    multiplier: *mut u32,
) -> Status {
    boundary(|| {
        // SAFETY: the caller passes NULL or a plan from maxpool_plan_new that has not been freed.
        let plan = unsafe { plan.as_ref() }.ok_or(Status::NullPointer)?;
        unsafe { forward(&plan.plan, input, planes, values, indices, multiplier) }
    })
}

unsafe fn backward<T: Float>(
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
        let (in_len, out_len) = (
            planes.checked_mul(g.plane_len()),
            planes.checked_mul(g.out_plane_len()),
        );
        let (go, ix, gi) = (
            span(grad_output, out_len)?,
            span(indices, out_len)?,
            span(grad_input, in_len)?,
        );
        disjoint(&[gi], &[go, ix])?;
        // SAFETY: checked above.
        let (grad_output, indices, grad_input) = unsafe {
            (
                slice(grad_output, go),
                slice(indices, ix),
                slice_mut(grad_input, gi),
            )
        };
        maxpool::backward(&g, planes, grad_output, indices, grad_input).map_err(Status::from)
    })
}

/// Square `kernel` × `kernel` windows with the given stride on both axes, no padding, dilation 1, floor mode.
#[no_mangle]
pub extern "C" fn maxpool_params(kernel: u32, stride: u32) -> MaxpoolParams {
    MaxpoolParams {
        kernel_h: kernel,
        kernel_w: kernel,
        stride_h: stride,
        stride_w: stride,
        pad_top: 0,
        pad_bottom: 0,
        pad_left: 0,
        pad_right: 0,
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
        if out_height.is_null() || out_width.is_null() {
            return Err(Status::NullPointer);
        }
        let g = Geometry::new(&params, height, width)?;
        // SAFETY: checked non-null; the caller passes pointers to writable size_t.
        unsafe {
            *out_height = g.out_height();
            *out_width = g.out_width();
        }
        Ok(())
    })
}

/// Pools `planes` row-major `height` × `width` planes of `float` from `input`. Writes `values`
/// (planes × out_height × out_width), and when not NULL `indices` (the same count; `row * width + col` of each
/// winner within its plane) and `multiplier` (planes × height × width; windows won per input element).
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
        backward(
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
        backward(
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
        if plan.is_null() {
            return Err(Status::NullPointer);
        }
        let made = Plan::new(backend_from(backend)?, &params, height, width)?;
        let layout = std::alloc::Layout::new::<MaxpoolPlan>();
        // SAFETY: MaxpoolPlan is not zero-sized. Allocating by hand turns an allocation failure into a status.
        let raw = unsafe { std::alloc::alloc(layout) }.cast::<MaxpoolPlan>();
        if raw.is_null() {
            return Err(Status::OutOfMemory);
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

/// The concrete backend `plan` runs, never `MAXPOOL_BACKEND_AUTO` (which a NULL plan gives).
#[no_mangle]
pub unsafe extern "C" fn maxpool_plan_backend(plan: *const MaxpoolPlan) -> MaxpoolBackend {
    boundary_or(MaxpoolBackend::Auto, || {
        // SAFETY: the caller passes NULL or a live plan.
        unsafe { plan.as_ref() }.map_or(MaxpoolBackend::Auto, |p| backend_to(p.plan.backend()))
    })
}

/// Frees a plan from `maxpool_plan_new`. NULL is fine. The plan must not be in use by another thread.
#[no_mangle]
pub unsafe extern "C" fn maxpool_plan_free(plan: *mut MaxpoolPlan) {
    boundary_or((), || {
        if !plan.is_null() {
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
    backend: *mut MaxpoolBackend,
) -> MaxpoolStatus {
    boundary(|| {
        if name.is_null() || backend.is_null() {
            return Err(Status::NullPointer);
        }
        // SAFETY: the caller passes a NUL-terminated string.
        let name = unsafe { CStr::from_ptr(name) }
            .to_str()
            .map_err(|_| Status::UnknownBackend)?;
        let parsed = name.parse::<Backend>()?;
        // SAFETY: checked non-null.
        unsafe { *backend = backend_to(parsed) };
        Ok(())
    })
}

/// The short name of a backend ("auto", "naive", "block", "lookup", "simd"): a static string, "unknown" for a value that
/// is not a backend.
#[no_mangle]
pub extern "C" fn maxpool_backend_name(backend: BackendArg) -> *const c_char {
    let name: &'static CStr = match backend_from(backend) {
        Ok(Backend::Auto) => c"auto",
        Ok(Backend::Naive) => c"naive",
        Ok(Backend::Block) => c"block",
        Ok(Backend::Lookup) => c"lookup",
        Ok(Backend::Simd) => c"simd",
        Err(_) => c"unknown",
    };
    name.as_ptr()
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
#[no_mangle]
pub extern "C" fn maxpool_status_message(status: StatusArg) -> *const c_char {
    let message: &'static CStr = match status {
        0 => c"success",
        1 => c"a required pointer is NULL",
        2 => c"invalid parameters: a kernel, stride or dilation of 0, or a window that covers only padding",
        3 => c"invalid shape: zero height or width, an empty output, sizes that overflow, or overlapping buffers",
        4 => c"the backend cannot pool this geometry (block needs stride equal to kernel and dilation 1)",
        5 => c"unknown backend",
        6 => c"an index given to the backward pass lies outside its plane",
        7 => c"out of memory",
        8 => c"internal error in maxpool (a bug: please report it)",
        _ => c"unknown status",
    };
    message.as_ptr()
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

/// Sets how many threads pooling calls may use; 0 restores the default (the `MAXPOOL_NUM_THREADS` environment
/// variable, else all cores). Takes effect for calls that start afterwards.
#[no_mangle]
pub extern "C" fn maxpool_set_num_threads(threads: usize) -> MaxpoolStatus {
    boundary(|| Ok(maxpool::set_num_threads(threads)?))
}
