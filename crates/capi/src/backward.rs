//! The backward pass: `maxpool_plan_backward_tensor`, and the per-dtype calls on dense NCHW buffers, which
//! describe their buffers as tensors and take the same generic path, [`backward`].

use maxpool::technique::{backward as scatter, with_float_dtype, Geometry};
use maxpool::{bf16, f16, DType, Float, IndexFormat, Plan};

use super::plans::{params_from, plan_from, MaxpoolParams, MaxpoolPlan};
use super::status::{boundary, Failure, MaxpoolStatus, Status};
use super::tensors::{
    disjoint, element_kinds, index_format_from, Arg, CType, Kind, MaxpoolIndexFormat, MaxpoolTensor,
};

/// The tensors of a backward call, as C gave them.
pub(crate) struct BackwardArgs {
    pub(crate) grad_output: Arg,
    pub(crate) indices: Arg,
    pub(crate) format: IndexFormat,
    pub(crate) grad_input: Arg,
}

impl BackwardArgs {
    /// Whether the call is one on dense NCHW planes with `int64_t` plane indices, in the geometry's shapes: the
    /// slices' backward pass, whose speed and messages the per-dtype calls have always had.
    fn is_plane_call(&self, g: &Geometry) -> bool {
        let [n, c, h, w] = self.grad_input.layout.shape;
        let out_shape = [n, c, g.out_height(), g.out_width()];
        self.format == IndexFormat::Plane
            && self.indices.kind == Kind::Element(DType::I64)
            && [h, w] == [g.height(), g.width()]
            && self.grad_output.layout.shape == out_shape
            && self.indices.layout.shape == out_shape
            && [&self.grad_output, &self.indices, &self.grad_input]
                .iter()
                .all(|a| a.is_nchw())
    }
}

/// The one backward path, for gradients of type `T`: checks the other tensors' types, then every tensor's
/// memory and their overlaps, then scatters: on dense NCHW planes with plane indices as slices, otherwise
/// through `plan`'s tensor call, which checks shapes, strides and indices before it writes anything. Without a
/// plan (the one-shot calls, whose buffers are always dense planes) only the first is possible.
///
/// # Safety
/// The caller's promise for the C call: each tensor's data holds its layout's elements, readable (and, for
/// `grad_input`, writable) for the call, and nobody else writes them meanwhile.
pub(crate) unsafe fn backward<T: Float + CType>(
    g: &Geometry,
    plan: Option<&Plan>,
    mut args: BackwardArgs,
) -> Result<(), Failure> {
    args.grad_input.expect(T::KIND, || {
        format!("grad_input is of grad_output's dtype, {}", T::KIND)
    })?;
    args.indices.expect_index()?;
    let go = args.grad_output.region::<T>()?;
    let ix = args.indices.index_region()?;
    let gi = args.grad_input.region::<T>()?;
    disjoint(&[Some(gi)], &[Some(go), Some(ix)])?;
    if args.is_plane_call(g) {
        let [n, c, _, _] = args.grad_input.layout.shape;
        // Fits: grad_input's span, n·c planes of at least one element, was checked.
        let planes = n * c;
        let (in_len, out_len) = (planes * g.plane_len(), planes * g.out_plane_len());
        // SAFETY: checked above: dense tensors of exactly these lengths, aligned, non-null (dangling when empty),
        // grad_input overlapping neither of the others.
        let (grad_output, indices, grad_input) = unsafe {
            (
                std::slice::from_raw_parts(args.grad_output.data::<T>(), out_len),
                std::slice::from_raw_parts(args.indices.data::<i64>(), out_len),
                std::slice::from_raw_parts_mut(args.grad_input.data::<T>(), in_len),
            )
        };
        return Ok(scatter(g, planes, grad_output, indices, grad_input)?);
    }
    let Some(plan) = plan else {
        return Err(Failure::new(
            Status::Internal,
            "internal error in maxpool (a bug: please report it): a one-shot backward call on tensors",
        ));
    };
    // SAFETY: as above.
    let (grad_output, indices, grad_input) = unsafe {
        (
            args.grad_output.tensor_ref::<T>(),
            args.indices.indices_ref()?,
            args.grad_input.tensor_mut::<T>(),
        )
    };
    Ok(plan.backward_tensor(grad_output, indices, args.format, grad_input)?)
}

/// The buffers of a per-dtype call on `planes` planes of `g`, as dense NCHW tensors of (1, planes, H, W).
fn nchw_args<T: CType>(
    g: &Geometry,
    planes: usize,
    grad_output: *const T,
    indices: *const i64,
    grad_input: *mut T,
) -> BackwardArgs {
    let out_hw = [g.out_height(), g.out_width()];
    BackwardArgs {
        grad_output: Arg::planes("grad_output", grad_output, planes, out_hw),
        indices: Arg::planes("indices", indices, planes, out_hw),
        format: IndexFormat::Plane,
        grad_input: Arg::planes("grad_input", grad_input, planes, [g.height(), g.width()]),
    }
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
        let args = nchw_args(&g, planes, grad_output, indices, grad_input);
        unsafe { backward::<T>(&g, None, args) }
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
        let args = nchw_args(plan.geometry(), planes, grad_output, indices, grad_input);
        unsafe { backward::<T>(plan.geometry(), Some(plan), args) }
    })
}

/// The backward pass on tensors of any strides: zeroes `grad_input` (N, C, H, W; H and W the plan's), then adds
/// each `grad_output` element (N, C, out_height, out_width) onto the element of `grad_input` its index names, in
/// output order (deterministic). `grad_output` and `grad_input` are of one float dtype: `MAXPOOL_DTYPE_F32`,
/// `MAXPOOL_DTYPE_F64`, `MAXPOOL_DTYPE_F16` or `MAXPOOL_DTYPE_BF16` (whose gradients are summed in `float` and
/// each sum rounded once, to nearest, ties to even). `indices` (the shape of `grad_output`) are in
/// `index_format`, as a forward call wrote them, in any index type it writes. Every index is checked first: one
/// that names no element of its window's plane gives `MAXPOOL_STATUS_INDEX_OUT_OF_RANGE`. Otherwise refused as
/// `maxpool_plan_forward_tensor` refuses, with nothing written; `indices` may not be NULL.
#[no_mangle]
pub unsafe extern "C" fn maxpool_plan_backward_tensor(
    plan: *const MaxpoolPlan,
    grad_output: *const MaxpoolTensor,
    indices: *const MaxpoolTensor,
    index_format: MaxpoolIndexFormat,
    grad_input: *const MaxpoolTensor,
) -> MaxpoolStatus {
    boundary(|| {
        let plan = unsafe { plan_from(plan) }?;
        let args = BackwardArgs {
            grad_output: unsafe { Arg::required("grad_output", grad_output) }?,
            indices: unsafe { Arg::required("indices", indices) }?,
            format: index_format_from(index_format)?,
            grad_input: unsafe { Arg::required("grad_input", grad_input) }?,
        };
        let g = plan.geometry();
        // The one switch on the element type.
        let dtype = match args.grad_output.kind {
            Kind::Element(dtype) if dtype.is_float() => dtype,
            _ => {
                return Err(args.grad_output.wrong_type(format!(
                    "the backward pass is for {}",
                    element_kinds(DType::is_float)
                )))
            }
        };
        // `is_float` and `with_float_dtype!` agree; if they ever do not, that is a status, not a panic.
        let scattered =
            with_float_dtype!(dtype, T => unsafe { backward::<T>(g, Some(plan), args) });
        scattered.unwrap_or_else(|| {
            Err(Failure::new(
                Status::Internal,
                format!(
                    "internal error in maxpool (a bug: please report it): {dtype} is a float but has no \
                     backward pass"
                ),
            ))
        })
    })
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

/// As `maxpool_backward_f32`, for IEEE binary16 gradients (`MAXPOOL_DTYPE_F16`) as `uint16_t` bit patterns: each
/// input element's gradients are summed in `float`, in output order, and the sum rounded once to nearest, ties to
/// even.
#[no_mangle]
pub unsafe extern "C" fn maxpool_backward_f16(
    params: *const MaxpoolParams,
    planes: usize,
    height: usize,
    width: usize,
    grad_output: *const u16,
    indices: *const i64,
    grad_input: *mut u16,
) -> MaxpoolStatus {
    unsafe {
        backward_once::<f16>(
            params,
            planes,
            height,
            width,
            grad_output.cast(),
            indices,
            grad_input.cast(),
        )
    }
}

/// As `maxpool_backward_f16`, for bfloat16 gradients (`MAXPOOL_DTYPE_BF16`) as `uint16_t` bit patterns.
#[no_mangle]
pub unsafe extern "C" fn maxpool_backward_bf16(
    params: *const MaxpoolParams,
    planes: usize,
    height: usize,
    width: usize,
    grad_output: *const u16,
    indices: *const i64,
    grad_input: *mut u16,
) -> MaxpoolStatus {
    unsafe {
        backward_once::<bf16>(
            params,
            planes,
            height,
            width,
            grad_output.cast(),
            indices,
            grad_input.cast(),
        )
    }
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

/// As `maxpool_plan_backward_f32`, for IEEE binary16 bit patterns in `uint16_t`, as `maxpool_backward_f16`.
#[no_mangle]
pub unsafe extern "C" fn maxpool_plan_backward_f16(
    plan: *const MaxpoolPlan,
    planes: usize,
    grad_output: *const u16,
    indices: *const i64,
    grad_input: *mut u16,
) -> MaxpoolStatus {
    unsafe { plan_backward::<f16>(plan, planes, grad_output.cast(), indices, grad_input.cast()) }
}

/// As `maxpool_plan_backward_f32`, for bfloat16 bit patterns in `uint16_t`, as `maxpool_backward_bf16`.
#[no_mangle]
pub unsafe extern "C" fn maxpool_plan_backward_bf16(
    plan: *const MaxpoolPlan,
    planes: usize,
    grad_output: *const u16,
    indices: *const i64,
    grad_input: *mut u16,
) -> MaxpoolStatus {
    unsafe { plan_backward::<bf16>(plan, planes, grad_output.cast(), indices, grad_input.cast()) }
}
