//! The forward pass: `maxpool_plan_forward_tensor`, and the per-dtype calls on dense NCHW buffers, which describe
//! their buffers as tensors and take the same generic path, [`forward`].

use maxpool::technique::with_dtype;
use maxpool::{bf16, f16, DType, Element, IndexFormat, Layout, Outputs, Plan, TensorOutputs};

use super::plans::{backend_from, params_from, plan_from, BackendArg, MaxpoolParams, MaxpoolPlan};
use super::status::{boundary, Failure, MaxpoolStatus, Status};
use super::tensors::{
    disjoint, element_kinds, extent, index_format_from, Arg, CType, Kind, MaxpoolIndexFormat,
    MaxpoolTensor,
};

/// The tensors of a forward call, as C gave them.
pub(crate) struct ForwardArgs {
    pub(crate) input: Arg,
    pub(crate) values: Arg,
    pub(crate) indices: Option<Arg>,
    pub(crate) format: IndexFormat,
    pub(crate) multiplier: Option<Arg>,
}

impl ForwardArgs {
    /// Whether the call is one on dense NCHW planes in the plan's shapes, with `int64_t` plane indices if any:
    /// the call on slices, which the plan's tensor call would also make once its checks pass, and which the
    /// per-dtype calls always are. Its checks are this and the boundary's; the rest go to the tensor call.
    fn is_plane_call(&self, plan: &Plan) -> bool {
        let in_shape = self.input.layout.shape;
        let [n, c, h, w] = in_shape;
        let [oh, ow] = plan.out_shape();
        let out_shape = [n, c, oh, ow];
        [h, w] == plan.in_shape()
            && self.values.layout.shape == out_shape
            && self.indices.as_ref().is_none_or(|i| {
                self.format == IndexFormat::Plane
                    && i.kind == Kind::Element(DType::I64)
                    && i.layout.shape == out_shape
                    && i.is_nchw()
            })
            && self
                .multiplier
                .as_ref()
                .is_none_or(|m| m.layout.shape == in_shape && m.is_nchw())
            && self.input.is_nchw()
            && self.values.is_nchw()
    }
}

/// The one forward path, for input elements of type `T`: checks the other tensors' types, then every tensor's
/// memory and their overlaps, then pools: dense NCHW planes with plane indices as slices, anything else through
/// the plan's tensor call, which checks shapes and strides before it writes anything.
///
/// # Safety
/// The caller's promise for the C call: each tensor's data holds its layout's elements, readable (and, for an
/// output, writable) for the call, and nobody else writes them meanwhile.
pub(crate) unsafe fn forward<T: Element + CType>(
    plan: &Plan,
    mut args: ForwardArgs,
) -> Result<(), Failure> {
    args.values.expect(T::KIND, || {
        format!("values are of the input's dtype, {}", T::KIND)
    })?;
    if let Some(indices) = &args.indices {
        indices.expect_index()?;
    }
    if let Some(multiplier) = &args.multiplier {
        multiplier.expect(Kind::U32, || format!("the multiplier is {}", Kind::U32))?;
    }
    let input = args.input.region::<T>()?;
    let values = args.values.region::<T>()?;
    let indices = args.indices.as_mut().map(Arg::index_region).transpose()?;
    let multiplier = args
        .multiplier
        .as_mut()
        .map(|m| m.region::<u32>())
        .transpose()?;
    disjoint(&[Some(values), indices, multiplier], &[Some(input)])?;
    if args.is_plane_call(plan) {
        let [n, c, _, _] = args.input.layout.shape;
        // SAFETY: every tensor's memory was checked above (aligned, within PTRDIFF_MAX bytes, non-null or dangling
        // when empty, the outputs overlapping nothing else); each is dense, so it spans exactly its elements, in
        // the plan's shapes for n·c planes (which fits: the input's span does, with planes of at least one
        // element). The caller promises the memory holds them.
        let out = unsafe {
            Outputs {
                values: std::slice::from_raw_parts_mut(args.values.data::<T>(), values.elements()),
                indices: (args.indices.as_ref().zip(indices))
                    .map(|(a, r)| std::slice::from_raw_parts_mut(a.data::<i64>(), r.elements())),
                multiplier: (args.multiplier.as_ref().zip(multiplier))
                    .map(|(a, r)| std::slice::from_raw_parts_mut(a.data::<u32>(), r.elements())),
            }
        };
        let input = unsafe { std::slice::from_raw_parts(args.input.data::<T>(), input.elements()) };
        return Ok(plan.forward(input, n * c, out)?);
    }
    // SAFETY: every tensor's memory was checked above (aligned, within PTRDIFF_MAX bytes, non-null unless empty,
    // the outputs overlapping nothing else); the caller promises it holds the elements.
    let mut out = TensorOutputs::new(unsafe { args.values.tensor_mut::<T>() });
    if let Some(indices) = &args.indices {
        out = out.with_indices(unsafe { indices.indices_mut() }?, args.format);
    }
    if let Some(multiplier) = &args.multiplier {
        out = out.with_multiplier(unsafe { multiplier.tensor_mut::<u32>() });
    }
    Ok(plan.forward_tensor(unsafe { args.input.tensor_ref::<T>() }, out)?)
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
    let (in_hw, out_hw) = (plan.in_shape(), plan.out_shape());
    ForwardArgs {
        input: Arg::planes("input", input, planes, in_hw),
        values: Arg::planes("values", values, planes, out_hw),
        indices: (!indices.is_null()).then(|| Arg::planes("indices", indices, planes, out_hw)),
        format: IndexFormat::Plane,
        multiplier: (!multiplier.is_null())
            .then(|| Arg::planes("multiplier", multiplier, planes, in_hw)),
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
            Kind::U32 => Err(args.input.wrong_type(format!(
                "the input is of an element type: {} (MAXPOOL_DTYPE_U32 is the multiplier's)",
                element_kinds(|_| true)
            ))),
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

/// As `maxpool_forward_f32`, for IEEE binary16 (`MAXPOOL_DTYPE_F16`): each `uint16_t` of `input` and `values` holds
/// a half-precision float's bit pattern (C has no standard type for it; `_Float16` and `__fp16` have its layout).
/// Compared as floats, not as integers: a NaN wins, -0 and +0 are equal, and each winner is written with its
/// exact bits.
#[no_mangle]
pub unsafe extern "C" fn maxpool_forward_f16(
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
        forward_once::<f16>(
            backend,
            params,
            input.cast(),
            planes,
            height,
            width,
            values.cast(),
            indices,
            multiplier,
        )
    }
}

/// As `maxpool_forward_f16`, for bfloat16 (`MAXPOOL_DTYPE_BF16`; `__bf16` has its layout): each `uint16_t` holds a
/// bfloat16's bit pattern, the upper half of a `float`'s.
#[no_mangle]
pub unsafe extern "C" fn maxpool_forward_bf16(
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
        forward_once::<bf16>(
            backend,
            params,
            input.cast(),
            planes,
            height,
            width,
            values.cast(),
            indices,
            multiplier,
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

/// As `maxpool_plan_forward_f32`, for IEEE binary16 bit patterns in `uint16_t`, as `maxpool_forward_f16`.
#[no_mangle]
pub unsafe extern "C" fn maxpool_plan_forward_f16(
    plan: *const MaxpoolPlan,
    input: *const u16,
    planes: usize,
    values: *mut u16,
    indices: *mut i64,
    multiplier: *mut u32,
) -> MaxpoolStatus {
    unsafe {
        plan_forward::<f16>(
            plan,
            input.cast(),
            planes,
            values.cast(),
            indices,
            multiplier,
        )
    }
}

/// As `maxpool_plan_forward_f32`, for bfloat16 bit patterns in `uint16_t`, as `maxpool_forward_bf16`.
#[no_mangle]
pub unsafe extern "C" fn maxpool_plan_forward_bf16(
    plan: *const MaxpoolPlan,
    input: *const u16,
    planes: usize,
    values: *mut u16,
    indices: *mut i64,
    multiplier: *mut u32,
) -> MaxpoolStatus {
    unsafe {
        plan_forward::<bf16>(
            plan,
            input.cast(),
            planes,
            values.cast(),
            indices,
            multiplier,
        )
    }
}
