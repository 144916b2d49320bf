//! Parameters, backends and plans: `MaxpoolParams`, `MaxpoolBackend`, `MaxpoolPlan` and the calls that make,
//! inspect and free them.

use std::collections::HashMap;
use std::ffi::{c_char, CStr, CString};
use std::sync::{Mutex, OnceLock};

use maxpool::technique::Geometry;
use maxpool::{Backend, Padding, Params, Plan};

use super::status::{aligned, boundary, boundary_or, Failure, MaxpoolStatus, Status};
use super::tensors::{Arg, Kind, MaxpoolTensor};

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

pub(crate) fn backend_from(raw: BackendArg) -> Result<Backend, Failure> {
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

pub(crate) unsafe fn params_from(p: *const MaxpoolParams) -> Result<Params, Failure> {
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
pub(crate) unsafe fn plan_from<'a>(plan: *const MaxpoolPlan) -> Result<&'a Plan, Failure> {
    aligned("plan", "MaxpoolPlan", plan)?;
    // SAFETY: the caller passes NULL or a plan from maxpool_plan_new that has not been freed.
    unsafe { plan.as_ref() }
        .map(|p| &p.plan)
        .ok_or_else(|| Failure::null("plan"))
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

/// The name of the kernel a forward call of `plan` on `input` runs, when its outputs are in the input's memory
/// order and its indices (if any) are `int64_t` in `MAXPOOL_INDEX_PLANE`: "backend/instruction set/way", the way
/// being "nchw" (dense planes in place), "nhwc" (channels-last: whole runs of channels compared at once) or
/// "planes" (each plane gathered, then pooled); "simd/avx512/nhwc", say. A static string, never NULL: "none"
/// when the call would be refused whatever its outputs: `plan` or `input` NULL or misaligned, a dtype that is not
/// an element type, an input whose H and W are not the plan's, or strides whose largest offset overflows. Leaves
/// `maxpool_last_error` alone.
#[no_mangle]
pub unsafe extern "C" fn maxpool_plan_kernel(
    plan: *const MaxpoolPlan,
    input: *const MaxpoolTensor,
) -> *const c_char {
    const NONE: &CStr = c"none";
    boundary_or(NONE.as_ptr(), || {
        let Ok(plan) = (unsafe { plan_from(plan) }) else {
            return NONE.as_ptr();
        };
        let Ok(Some(input)) = (unsafe { Arg::read("input", input) }) else {
            return NONE.as_ptr();
        };
        let layout = input.layout;
        let [_, _, h, w] = layout.shape;
        if !matches!(input.kind, Kind::Element(_))
            || [h, w] != plan.in_shape()
            || layout.span().is_none()
        {
            return NONE.as_ptr();
        }
        interned(plan.kernel(&layout)).as_ptr()
    })
}

/// `name` as a NUL-terminated string that lives as long as the process: one for each of the few dozen kernel
/// names at most.
fn interned(name: &'static str) -> &'static CStr {
    static NAMES: OnceLock<Mutex<HashMap<&'static str, &'static CStr>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    names.entry(name).or_insert_with(|| {
        Box::leak(
            CString::new(name.replace('\0', " "))
                .unwrap_or_default()
                .into_boxed_c_str(),
        )
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
