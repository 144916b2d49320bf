//! The forward pass: `maxpool_plan_forward_tensor`, and the per-dtype calls on dense NCHW buffers, which describe
//! their buffers as tensors and take the same generic path, [`forward`].

use maxpool::technique::with_dtype;
use maxpool::{Element, IndexFormat, Layout, Plan, TensorOutputs};

use super::plans::{backend_from, params_from, plan_from, BackendArg, MaxpoolParams, MaxpoolPlan};
use super::status::{boundary, Failure, MaxpoolStatus, Status};
use super::tensors::{
    disjoint, extent, index_format_from, Arg, CType, Kind, MaxpoolIndexFormat, MaxpoolTensor,
};

/// The tensors of a forward call, as C gave them.
pub(crate) struct ForwardArgs {
    pub(crate) input: Arg,
    pub(crate) values: Arg,
    pub(crate) indices: Option<Arg>,
    pub(crate) format: IndexFormat,
    pub(crate) multiplier: Option<Arg>,
}

/// The one forward path, for input elements of type `T`: checks the other tensors' types, then every tensor's
/// memory and their overlaps, then hands the tensors to the plan, which checks their shapes and strides before
/// it writes anything.
///
/// # Safety
/// The caller's promise for the C call: each tensor's data holds its layout's elements, readable (and, for an
/// output, writable) for the call, and nobody else writes them meanwhile.
pub(crate) unsafe fn forward<T: Element + CType>(
    plan: &Plan,
    args: ForwardArgs,
) -> Result<(), Failure> {
    let ForwardArgs {
        mut input,
        mut values,
        mut indices,
        format,
        mut multiplier,
    } = args;
    values.expect(T::KIND, || {
        format!("values are of the input's dtype, {}", T::KIND)
    })?;
    if let Some(indices) = &indices {
        indices.expect_index()?;
    }
    if let Some(multiplier) = &multiplier {
        multiplier.expect(Kind::U32, || format!("the multiplier is {}", Kind::U32))?;
    }
    let input_region = input.region::<T>()?;
    let values_region = values.region::<T>()?;
    let indices_region = indices.as_mut().map(Arg::index_region).transpose()?;
    let multiplier_region = multiplier.as_mut().map(|m| m.region::<u32>()).transpose()?;
    disjoint(
        &[Some(values_region), indices_region, multiplier_region],
        &[Some(input_region)],
    )?;
    // SAFETY: every tensor's memory was checked above (aligned, within PTRDIFF_MAX bytes, non-null unless empty,
    // the outputs overlapping nothing else); the caller promises it holds the elements.
    let mut out = TensorOutputs::new(unsafe { values.tensor_mut::<T>() });
    if let Some(indices) = &indices {
        out = out.with_indices(unsafe { indices.indices_mut() }?, format);
    }
    if let Some(multiplier) = &multiplier {
        out = out.with_multiplier(unsafe { multiplier.tensor_mut::<u32>() });
    }
    Ok(plan.forward_tensor(unsafe { input.tensor_ref::<T>() }, out)?)
}

/// The buffers of a per-dtype call on `planes` planes of `plan`, as dense NCHW tensors of (1, planes, H, W).
fn nchw_args<T: CType>(
    plan: &Plan,
    input: *const T,
    planes: usize,
    values: *mut T,
    indices: *mut i64,
    multiplier: *mut u32,
) -> ForwardArgs {
    let ([h, w], [oh, ow]) = (plan.in_shape(), plan.out_shape());
    let (in_layout, out_layout) = (
        Layout::nchw(1, planes, h, w),
        Layout::nchw(1, planes, oh, ow),
    );
    ForwardArgs {
        input: Arg::dense("input", input, in_layout),
        values: Arg::dense("values", values, out_layout),
        indices: (!indices.is_null()).then(|| Arg::dense("indices", indices, out_layout)),
        format: IndexFormat::Plane,
        multiplier: (!multiplier.is_null())
            .then(|| Arg::dense("multiplier", multiplier, in_layout)),
    }
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
        extent::<T>("input", &Layout::nchw(1, planes, height, width))?;
        let plan = Plan::new(backend, &params, height, width)?;
        let args = nchw_args(&plan, input, planes, values, indices, multiplier);
        unsafe { forward::<T>(&plan, args) }
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
        let args = nchw_args(plan, input, planes, values, indices, multiplier);
        unsafe { forward::<T>(plan, args) }
    })
}

/// Pools `input` (N, C, H, W; H and W the plan's) into `values` (N, C, out_height, out_width) and, when not NULL,
/// `indices` (the same shape, in `index_format`, as `MAXPOOL_DTYPE_I64`, `MAXPOOL_DTYPE_I32` when the format's
/// largest index for the call fits, or `MAXPOOL_DTYPE_U8` for `MAXPOOL_INDEX_WINDOW`) and `multiplier` (N, C, H,
/// W, `MAXPOOL_DTYPE_U32`; windows won per input element, overwritten). Every tensor may have any strides:
/// NCHW, channels-last and strided views are pooled in place. `values` is of the input's dtype. `index_format`
/// must be a `MAXPOOL_INDEX_` value even when `indices` is NULL.
///
/// Refused, with nothing written and `maxpool_last_error()` naming the argument: NULL `plan`, `input` or
/// `values` (`NULL_POINTER`), or NULL data in a tensor that has elements; a tensor pointer or data not aligned
/// for its type (`MISALIGNED`); a dtype or `index_format` value that is not one (`INVALID_PARAMS`); types that
/// do not go together, or indices that cannot hold the format's largest index for the call (`UNSUPPORTED`); an
/// input whose H and W are not the plan's, outputs whose shapes do not follow from it, strides whose largest
/// offset overflows or reaches past `PTRDIFF_MAX` bytes, outputs whose strides put two elements in one place,
/// and outputs that overlap each other or the input (`INVALID_SHAPE`).
#[no_mangle]
pub unsafe extern "C" fn maxpool_plan_forward_tensor(
    plan: *const MaxpoolPlan,
    input: *const MaxpoolTensor,
    values: *const MaxpoolTensor,
    indices: *const MaxpoolTensor,
    index_format: MaxpoolIndexFormat,
    multiplier: *const MaxpoolTensor,
) -> MaxpoolStatus {
    boundary(|| {
        let plan = unsafe { plan_from(plan) }?;
        let args = ForwardArgs {
            input: unsafe { Arg::required("input", input) }?,
            values: unsafe { Arg::required("values", values) }?,
            indices: unsafe { Arg::read("indices", indices) }?,
            format: index_format_from(index_format)?,
            multiplier: unsafe { Arg::read("multiplier", multiplier) }?,
        };
        // The one switch on the element type.
        match args.input.kind {
            Kind::Element(dtype) => unsafe { with_dtype!(dtype, forward(plan, args)) },
            Kind::U32 => Err(args.input.wrong_type(
                "the input is of an element type: f32, f64, i8, u8, i16, u16, i32 or i64 (MAXPOOL_DTYPE_U32 is \
                 the multiplier's)"
                    .into(),
            )),
        }
    })
}

/// Pools `planes` row-major `height` × `width` planes of `float` from `input`. Writes `values`
/// (planes × out_height × out_width), and when not NULL `indices` (the same count; `row * width + col` of each
/// winner within its plane) and `multiplier` (planes × height × width; windows won per input element). The
/// multiplier is overwritten, not added to: its previous contents do not matter. Every pointer must be aligned
/// for its type, even for zero elements: one that is not gives `MAXPOOL_STATUS_MISALIGNED`, naming it. The
/// same as `maxpool_plan_forward_tensor` on dense NCHW tensors of (1, planes, height, width).
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
