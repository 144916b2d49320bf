//! Running a plan: buffer checks, the loop over planes, and the ndarray front end, written once for every
//! backend.

use std::collections::HashMap;
use std::mem::MaybeUninit;
use std::ops::Range;
use std::sync::{Mutex, MutexGuard, OnceLock};

use ndarray::{Array, ArrayBase, ArrayView, ArrayViewMut, CowArray, Dimension, RawData};

use crate::arrays::{channels_last_axes, layout_of, uninit_like};
use crate::backward::backward;
use crate::channels_last;
use crate::coded::Coding;
use crate::element::{Element, Float};
use crate::error::{check_len, Error, Result};
use crate::geometry::Geometry;
use crate::params::Params;
use crate::simd::Simd;
use crate::strided::{
    backward_fresh, backward_tensor, check_forward, forward_planes, is_nchw_call, TensorOutputs,
};
use crate::technique::{try_reserve, Scratch, Technique, Winners, Work};
use crate::tensor::{
    IndexElement, IndexFormat, IndicesMut, IndicesRef, Layout, TensorMut, TensorRef,
};
use crate::threads::{num_threads, Team};

/// Output buffers for a batch of `planes` planes: `values` (planes × out_height × out_width), and, when given,
/// `indices` (the same count) and `multiplier` (planes × height × width). Leave an optional output out and it is
/// not computed.
pub struct Outputs<'a, T> {
    /// The maximum of each window.
    pub values: &'a mut [T],
    /// The flat index within its plane of each window's winner.
    pub indices: Option<&'a mut [i64]>,
    /// How many windows of its plane each input element won.
    pub multiplier: Option<&'a mut [u32]>,
}

impl<'a, T> Outputs<'a, T> {
    /// Values only.
    pub fn new(values: &'a mut [T]) -> Self {
        Outputs {
            values,
            indices: None,
            multiplier: None,
        }
    }
    /// Also the winner indices.
    pub fn with_indices(mut self, indices: &'a mut [i64]) -> Self {
        self.indices = Some(indices);
        self
    }
    /// Also the multiplier.
    pub fn with_multiplier(mut self, multiplier: &'a mut [u32]) -> Self {
        self.multiplier = Some(multiplier);
        self
    }
}

/// Which optional outputs an array call computes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Want {
    /// Compute winner indices.
    pub indices: bool,
    /// Compute the multiplier.
    pub multiplier: bool,
}

impl Want {
    /// Values only.
    pub const VALUES: Want = Want {
        indices: false,
        multiplier: false,
    };
    /// Values and indices, what `max_pool2d(..., return_indices=True)` gives.
    pub const INDICES: Want = Want {
        indices: true,
        multiplier: false,
    };
    /// Values, indices and multiplier.
    pub const ALL: Want = Want {
        indices: true,
        multiplier: true,
    };
}

/// What an array call returns. `values` and `indices` have the input's leading axes and the output plane size;
/// `multiplier` has the input's shape.
#[derive(Clone, Debug, PartialEq)]
pub struct Pooled<T, D: Dimension, I = i64> {
    /// The maximum of each window.
    pub values: Array<T, D>,
    /// The winners, when asked for: by default their flat index within their plane.
    pub indices: Option<Array<I, D>>,
    /// Windows won per input element, when asked for.
    pub multiplier: Option<Array<u32, D>>,
}

/// Arrays made by the caller for a call to write into: `values` and `indices` shaped like the call's output,
/// `multiplier` like its input, each with any non-negative strides whose elements are distinct. Leave an
/// optional one out and it is not computed.
#[derive(Debug)]
pub struct PooledMut<'a, T, D: Dimension, I = i64> {
    /// For the maximum of each window.
    pub values: ArrayViewMut<'a, T, D>,
    /// For the winners.
    pub indices: Option<ArrayViewMut<'a, I, D>>,
    /// For the windows won per input element.
    pub multiplier: Option<ArrayViewMut<'a, u32, D>>,
}

/// Something that pools: a validated geometry that can run on batches of planes. Implemented by [`Planned`] for
/// each technique, and by the run-time choice of backend in the `maxpool` crate.
pub trait Pool {
    /// The geometry this plan was built for.
    fn geometry(&self) -> &Geometry;

    /// Pools `planes` contiguous row-major planes from `input` into `out`. On error nothing has been written,
    /// unless the error is [`Error::Internal`] (a bug, caught).
    fn forward<T: Element>(&self, input: &[T], planes: usize, out: Outputs<'_, T>) -> Result<()>;

    /// Pools tensors of any layout (NCHW, channels-last, strided views): `input` (N, C, H, W) into `out`,
    /// with indices in any [`IndexFormat`] and index type. On error nothing has been written, unless the error
    /// is [`Error::Internal`].
    fn forward_tensor<T: Element>(
        &self,
        input: TensorRef<'_, T>,
        out: TensorOutputs<'_, T>,
    ) -> Result<()>;

    /// Pools an array whose last two axes are (height, width), with any non-negative strides and any number of
    /// leading axes (2-D, (C, H, W), NCHW, channels-last views, …), in place: no copy is made (but of an array
    /// with negative strides, or leading axes that cannot be merged into one). The outputs are in the input's
    /// memory order. Indices are each winner's `row * width + col` within its plane, as `i64`.
    fn pool<T: Element, D: Dimension>(
        &self,
        input: ArrayView<'_, T, D>,
        want: Want,
    ) -> Result<Pooled<T, D>> {
        self.pool_with(input, want, IndexFormat::Plane)
    }

    /// [`pool`](Pool::pool), with the indices in `format`, as `I` (`i64`, `i32`, or `u8` for the window
    /// format). For the flat formats, N is the product of the axes before the last three and C the third-last
    /// axis (1 for a 2-D array).
    fn pool_with<T: Element, D: Dimension, I: IndexElement>(
        &self,
        input: ArrayView<'_, T, D>,
        want: Want,
        format: IndexFormat,
    ) -> Result<Pooled<T, D, I>> {
        let g = self.geometry();
        let (_, out_dim) = batch_shape(g, input.raw_dim(), "input")?;
        let (input, layout) = in_place(input, "a row-major copy of the input")?;
        let (shape, strides) = (input.shape(), input.strides());
        // Not filled: the forward pass writes every element of each output (the multiplier too, counts from
        // zero), as it must into the caller's arrays of `pool_into`.
        let mut values = uninit_like::<T, D>(out_dim.clone(), shape, strides, "the values")?;
        let mut indices = want
            .indices
            .then(|| uninit_like::<I, D>(out_dim.clone(), shape, strides, "the indices"))
            .transpose()?;
        let mut multiplier = want
            .multiplier
            .then(|| uninit_like::<u32, D>(input.raw_dim(), shape, strides, "the multiplier"))
            .transpose()?;
        // SAFETY: the layout is the view's own, so its elements are the view's, which may be read while it lives.
        let tensor = unsafe { TensorRef::from_raw(input.as_ptr(), layout) };
        let mut out = TensorOutputs::new(tensor_mut(&mut values));
        if let Some(indices) = indices.as_mut() {
            out = out.with_indices(tensor_mut(indices), format);
        }
        if let Some(multiplier) = multiplier.as_mut() {
            out = out.with_multiplier(tensor_mut(multiplier));
        }
        self.forward_tensor(tensor, out)?;
        // SAFETY: the call succeeded, so it wrote every element of each output.
        let (values, indices, multiplier) = unsafe {
            (
                values.assume_init(),
                indices.map(|a| a.assume_init()),
                multiplier.map(|a| a.assume_init()),
            )
        };
        Ok(Pooled {
            values,
            indices,
            multiplier,
        })
    }

    /// Pools a channels-last array, whose last three axes are (height, width, channels), with any number of
    /// axes before them, in place; the outputs are (…, out_height, out_width, channels) and, for the
    /// multiplier, the input's shape. Indices as [`pool_with`](Pool::pool_with), N the product of the axes
    /// before the last three.
    fn pool_nhwc<T: Element, D: Dimension, I: IndexElement>(
        &self,
        input: ArrayView<'_, T, D>,
        want: Want,
        format: IndexFormat,
    ) -> Result<Pooled<T, D, I>> {
        let (to_planes, back) = channels_last_axes::<D>(input.ndim(), "input")?;
        let pooled = self.pool_with::<T, D, I>(input.permuted_axes(to_planes), want, format)?;
        Ok(Pooled {
            values: pooled.values.permuted_axes(back.clone()),
            indices: pooled.indices.map(|a| a.permuted_axes(back.clone())),
            multiplier: pooled.multiplier.map(|a| a.permuted_axes(back)),
        })
    }

    /// [`pool_with`](Pool::pool_with) into arrays the caller made, written in place: `out.values` and
    /// `out.indices` (in `format`) shaped like the output, `out.multiplier` like `input`. On error nothing has
    /// been written.
    fn pool_into<T: Element, D: Dimension, I: IndexElement>(
        &self,
        input: ArrayView<'_, T, D>,
        out: PooledMut<'_, T, D, I>,
        format: IndexFormat,
    ) -> Result<()> {
        pool_into_arrays(self, input, out, format, false)
    }

    /// [`pool_nhwc`](Pool::pool_nhwc) into arrays the caller made, as [`pool_into`](Pool::pool_into): the
    /// outputs are (…, out_height, out_width, channels), the multiplier the input's shape.
    fn pool_nhwc_into<T: Element, D: Dimension, I: IndexElement>(
        &self,
        input: ArrayView<'_, T, D>,
        out: PooledMut<'_, T, D, I>,
        format: IndexFormat,
    ) -> Result<()> {
        pool_into_arrays(self, input, out, format, true)
    }

    /// The backward pass on tensors of any layout, with indices in any format and type. See
    /// [`backward_tensor`](crate::backward_tensor).
    fn backward_tensor<T: Float>(
        &self,
        grad_output: TensorRef<'_, T>,
        indices: IndicesRef<'_>,
        format: IndexFormat,
        grad_input: TensorMut<'_, T>,
    ) -> Result<()> {
        backward_tensor(self.geometry(), grad_output, indices, format, grad_input)
    }

    /// The backward pass on slices: zeroes `grad_input` (planes × height × width), then adds each
    /// `grad_output` element onto the input element its index names. See [`backward`].
    fn backward<T: Float>(
        &self,
        planes: usize,
        grad_output: &[T],
        indices: &[i64],
        grad_input: &mut [T],
    ) -> Result<()> {
        backward(self.geometry(), planes, grad_output, indices, grad_input)
    }

    /// The backward pass on arrays shaped like the forward call's `values` and `indices`; returns the gradient
    /// shaped like its input. [`backward_with`](Pool::backward_with) with `plane` indices.
    fn backward_array<T: Float, D: Dimension>(
        &self,
        grad_output: ArrayView<'_, T, D>,
        indices: ArrayView<'_, i64, D>,
    ) -> Result<Array<T, D>> {
        self.backward_with(grad_output, indices, IndexFormat::Plane)
    }

    /// The backward pass on arrays whose last two axes are the output plane, with any strides and any number of
    /// leading axes, read in place: `indices` in `format`, as `I`, shaped like `grad_output`. Returns the
    /// gradient shaped like the forward call's input, in `grad_output`'s memory order (channels-last in,
    /// channels-last out). N and C as in [`pool_with`](Pool::pool_with).
    fn backward_with<T: Float, D: Dimension, I: IndexElement>(
        &self,
        grad_output: ArrayView<'_, T, D>,
        indices: ArrayView<'_, I, D>,
        format: IndexFormat,
    ) -> Result<Array<T, D>> {
        let g = self.geometry();
        if grad_output.shape() != indices.shape() {
            return Err(Error::ArrayShape(format!(
                "grad_output has shape {:?} but indices has shape {:?}",
                grad_output.shape(),
                indices.shape()
            )));
        }
        let n = grad_output.ndim();
        let (o_h, o_w) = (g.out_height(), g.out_width());
        if n < 2 || grad_output.shape()[n - 2..] != [o_h, o_w] {
            return Err(Error::ArrayShape(format!(
                "grad_output has shape {:?}; its last two axes must be the output plane, {o_h} × {o_w}",
                grad_output.shape()
            )));
        }
        let (grad_output, grad_layout) = in_place(grad_output, "a row-major copy of grad_output")?;
        let (indices, index_layout) = in_place(indices, "a row-major copy of the indices")?;
        let mut dim = grad_output.raw_dim();
        dim.slice_mut()[n - 2..].copy_from_slice(&[g.height(), g.width()]);
        let (shape, strides) = (grad_output.shape(), grad_output.strides());
        // Not filled: the backward pass zeroes each plane itself, just before adding to it.
        let mut grad_input = uninit_like::<T, D>(dim, shape, strides, "grad_input")?;
        // SAFETY: each layout is its view's own, so its elements may be read while the view lives.
        let (grad_output, indices) = unsafe {
            (
                TensorRef::from_raw(grad_output.as_ptr(), grad_layout),
                TensorRef::from_raw(indices.as_ptr(), index_layout),
            )
        };
        let layout = layout_of(&grad_input.view()).expect("a new dense array has a layout");
        // SAFETY: the layout is the array's own, which nothing else borrows; `MaybeUninit<T>` is laid out as `T`,
        // and the backward pass writes every element (zero first) before it reads one.
        let out = unsafe { TensorMut::from_raw(grad_input.as_mut_ptr().cast::<T>(), layout) };
        backward_fresh(
            self.geometry(),
            grad_output,
            I::indices_ref(indices),
            format,
            out,
        )?;
        // SAFETY: the call succeeded, so it zeroed grad_input's every element before adding to it.
        Ok(unsafe { grad_input.assume_init() })
    }

    /// [`backward_with`](Pool::backward_with) on channels-last arrays, whose last three axes are (out_height,
    /// out_width, channels), as [`pool_nhwc`](Pool::pool_nhwc) makes them; the gradient is (…, height, width,
    /// channels).
    fn backward_nhwc<T: Float, D: Dimension, I: IndexElement>(
        &self,
        grad_output: ArrayView<'_, T, D>,
        indices: ArrayView<'_, I, D>,
        format: IndexFormat,
    ) -> Result<Array<T, D>> {
        let (to_planes, back) = channels_last_axes::<D>(grad_output.ndim(), "grad_output")?;
        if indices.ndim() != grad_output.ndim() {
            return Err(Error::ArrayShape(format!(
                "grad_output has shape {:?} but indices has shape {:?}",
                grad_output.shape(),
                indices.shape()
            )));
        }
        let grad_input = self.backward_with(
            grad_output.permuted_axes(to_planes.clone()),
            indices.permuted_axes(to_planes),
            format,
        )?;
        Ok(grad_input.permuted_axes(back))
    }
}

/// [`Pool::pool_into`] and [`Pool::pool_nhwc_into`]: the arrays' shapes checked in the caller's axis order,
/// then each seen as a tensor (the channels-last ones with their axes permuted, not their elements moved).
fn pool_into_arrays<P: Pool + ?Sized, T: Element, D: Dimension, I: IndexElement>(
    pool: &P,
    input: ArrayView<'_, T, D>,
    out: PooledMut<'_, T, D, I>,
    format: IndexFormat,
    channels_last: bool,
) -> Result<()> {
    /// `array` with its axes permuted to `axes`, if given.
    fn permuted<S: RawData, D: Dimension>(
        array: ArrayBase<S, D>,
        axes: &Option<D>,
    ) -> ArrayBase<S, D> {
        match axes {
            Some(axes) => array.permuted_axes(axes.clone()),
            None => array,
        }
    }
    let g = pool.geometry();
    let nd = input.ndim();
    let to_planes = if channels_last {
        Some(channels_last_axes::<D>(nd, "input")?.0)
    } else {
        None
    };
    let (_, out_dim) = batch_shape(g, permuted(input.view(), &to_planes).raw_dim(), "input")?;
    // The output's shape in the caller's order: the input's, with the plane's two axes pooled.
    let mut expected = input.shape().to_vec();
    let h = if channels_last { nd - 3 } else { nd - 2 };
    expected[h..h + 2].copy_from_slice(&[g.out_height(), g.out_width()]);
    debug_assert_eq!(expected.iter().product::<usize>(), out_dim.size());
    let check = |what: &str, shape: &[usize], want: &[usize]| {
        if shape == want {
            Ok(())
        } else {
            Err(Error::ArrayShape(format!(
                "{what} has shape {shape:?}; this call's {what} are {want:?}"
            )))
        }
    };
    check("values", out.values.shape(), &expected)?;
    if let Some(indices) = &out.indices {
        check("indices", indices.shape(), &expected)?;
    }
    if let Some(multiplier) = &out.multiplier {
        check("multiplier", multiplier.shape(), input.shape())?;
    }
    fn written<'a, E, D: Dimension>(
        mut view: ArrayViewMut<'a, E, D>,
        what: &str,
    ) -> Result<TensorMut<'a, E>> {
        let layout = layout_of(&view.view()).ok_or_else(|| {
            Error::ArrayShape(format!(
                "{what} has a negative stride, or leading axes that cannot be merged into one; it is written in \
                 place, so it needs a tensor layout"
            ))
        })?;
        // SAFETY: the layout is the view's own, so its elements are the view's, which it borrows exclusively for
        // 'a; with non-negative strides, its pointer is element (0, …, 0).
        Ok(unsafe { TensorMut::from_raw(view.as_mut_ptr(), layout) })
    }
    let (input, layout) = in_place(permuted(input, &to_planes), "a row-major copy of the input")?;
    let mut outputs = TensorOutputs::new(written(permuted(out.values, &to_planes), "values")?);
    if let Some(indices) = out.indices {
        outputs = outputs.with_indices(written(permuted(indices, &to_planes), "indices")?, format);
    }
    if let Some(multiplier) = out.multiplier {
        outputs = outputs.with_multiplier(written(permuted(multiplier, &to_planes), "multiplier")?);
    }
    // SAFETY: the layout is the view's own, so its elements may be read while it lives.
    let tensor = unsafe { TensorRef::from_raw(input.as_ptr(), layout) };
    pool.forward_tensor(tensor, outputs)
}

/// `view` with its layout, read in place; a row-major copy (its allocation failing is [`Error::OutOfMemory`]
/// for `what`) when the view has no layout (a negative stride, or leading axes that cannot be merged).
fn in_place<'a, E: Clone, D: Dimension>(
    view: ArrayView<'a, E, D>,
    what: &'static str,
) -> Result<(CowArray<'a, E, D>, Layout)> {
    match layout_of(&view) {
        Some(layout) => Ok((CowArray::from(view), layout)),
        None => {
            let copy = standard_layout(view, what)?;
            let layout = layout_of(&copy.view()).expect("a row-major array has a layout");
            Ok((copy, layout))
        }
    }
}

/// The tensor of an array made by [`uninit_like`]: dense, in some order, so it has a layout. Its elements are
/// to be written before they are read.
fn tensor_mut<'a, E, D: Dimension>(array: &'a mut Array<MaybeUninit<E>, D>) -> TensorMut<'a, E> {
    let layout = layout_of(&array.view()).expect("an array made dense in some order has a layout");
    // SAFETY: the layout is the array's own, which the returned tensor borrows mutably for its life;
    // `MaybeUninit<E>` is laid out as `E`. (With non-negative strides, element (0, …, 0) is the first in memory.)
    unsafe { TensorMut::from_raw(array.as_mut_ptr().cast::<E>(), layout) }
}

/// `view` itself when it is in row-major order, else a row-major copy, whose allocation failing is
/// [`Error::OutOfMemory`] for `what`.
fn standard_layout<'a, E: Clone, D: Dimension>(
    view: ArrayView<'a, E, D>,
    what: &'static str,
) -> Result<CowArray<'a, E, D>> {
    if view.is_standard_layout() {
        return Ok(CowArray::from(view));
    }
    let mut elements = Vec::new();
    try_reserve(&mut elements, view.len(), what)?;
    elements.extend(view.iter().cloned());
    let copy =
        Array::from_shape_vec(view.raw_dim(), elements).expect("as many elements as the view");
    Ok(CowArray::from(copy))
}

/// The number of planes in an array whose last two axes must be the geometry's input plane, and the shape of its
/// pooled output.
fn batch_shape<D: Dimension>(g: &Geometry, dim: D, what: &str) -> Result<(usize, D)> {
    let n = dim.ndim();
    if n < 2 {
        return Err(Error::ArrayShape(format!(
            "the {what} has {n} axes; it needs at least 2, (height, width)"
        )));
    }
    let shape = dim.slice();
    if shape[n - 2..] != [g.height(), g.width()] {
        return Err(Error::ArrayShape(format!(
            "the {what} has shape {shape:?} but the plan was made for planes of {} × {}",
            g.height(),
            g.width()
        )));
    }
    let planes = shape[..n - 2]
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or(Error::Overflow("number of planes"))?;
    let mut out = dim.clone();
    out.slice_mut()[n - 2..].copy_from_slice(&[g.out_height(), g.out_width()]);
    Ok((planes, out))
}

/// Below this many window taps in a call, threads cost more than they save.
const PARALLEL_MIN_TAPS: usize = 1 << 16;

/// How many threads a call may use: the thread-count setting, or 1 for small calls.
fn threads_for(g: &Geometry, planes: usize) -> usize {
    let [kh, kw] = g.params().kernel;
    let taps = planes
        .saturating_mul(g.out_plane_len())
        .saturating_mul(kh.saturating_mul(kw));
    if taps < PARALLEL_MIN_TAPS {
        1
    } else {
        num_threads()
    }
}

/// How many units of work a call aims to give each thread when it splits planes into runs of rows, so that
/// threads that start late or run slowly are evened out.
const UNITS_PER_THREAD: usize = 8;

/// An output buffer whose disjoint parts the threads of one call write, each part through one `&mut` at a time.
struct Disjoint<E> {
    ptr: *mut E,
    len: usize,
}

// SAFETY: threads reach the buffer only through `slice`, whose callers promise disjoint parts.
unsafe impl<E: Send> Send for Disjoint<E> {}
unsafe impl<E: Send> Sync for Disjoint<E> {}

impl<E> Disjoint<E> {
    fn new(buffer: &mut [E]) -> Self {
        Disjoint {
            ptr: buffer.as_mut_ptr(),
            len: buffer.len(),
        }
    }

    /// Elements `at..at + len`.
    ///
    /// # Safety
    /// No other live slice from this buffer may overlap them, and the buffer must outlive the slice.
    #[allow(clippy::mut_from_ref)]
    unsafe fn slice(&self, at: usize, len: usize) -> &mut [E] {
        debug_assert!(at <= self.len && len <= self.len - at);
        // SAFETY: within the buffer (the engine checked every length), and disjoint by the caller's promise.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(at), len) }
    }
}

/// `Ok` when the multiplier's `u32` counts can hold the most windows one element lies in, decided from the
/// geometry alone; else [`Error::Unsupported`], before anything is written.
fn check_counts_fit<K: Technique>(g: &Geometry) -> Result<()> {
    let most = g.most_windows_per_element();
    if most <= u128::from(u32::MAX) {
        return Ok(());
    }
    Err(Error::Unsupported {
        backend: K::NAME,
        reason: format!(
            "with the multiplier: an input element can lie in up to {most} windows, more than its u32 count \
             holds ({}); pool without the multiplier, or with a smaller kernel or padding",
            u32::MAX
        ),
    })
}

/// Every party's working storage for a call, reserved before anything is written, so that a failed allocation
/// is an error: the caller's, on the stack (a call on one thread allocates nothing more than it asks for), and
/// each helper's.
pub(crate) struct Parties<S> {
    caller: Mutex<S>,
    helpers: Vec<Mutex<S>>,
}

impl<S> Parties<S> {
    /// Reserves the storage of each of `team`'s parties with `reserve`.
    pub(crate) fn reserve(team: &Team, reserve: impl Fn() -> Result<S>) -> Result<Self> {
        let caller = Mutex::new(reserve()?);
        let mut helpers = Vec::new();
        try_reserve(
            &mut helpers,
            team.parties() - 1,
            "the threads' working storage",
        )?;
        for _ in 1..team.parties() {
            helpers.push(Mutex::new(reserve()?));
        }
        Ok(Parties { caller, helpers })
    }

    /// Party `party`'s storage: its own, so never contended (a poisoned lock is taken as it is).
    pub(crate) fn lock(&self, party: usize) -> MutexGuard<'_, S> {
        let mine = if party == 0 {
            &self.caller
        } else {
            &self.helpers[party - 1]
        };
        mine.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// `Ok` when the technique `K` can pool geometries with these parameters; otherwise the error that says why:
/// invalid parameters first, then [`Error::Unsupported`].
pub fn supports<K: Technique>(params: &Params) -> Result<()> {
    Geometry::check_params(params)?;
    K::supports(params).map_err(|reason| Error::Unsupported {
        backend: K::NAME,
        reason: reason.to_owned(),
    })
}

/// A technique planned for one geometry: immutable, `Send + Sync`, run any number of times on any number of
/// planes, from any number of threads.
#[derive(Debug)]
pub struct Planned<K> {
    geometry: Geometry,
    technique: K,
    /// How the multiplier is counted from codes, when the technique writes whole rows and the geometry allows.
    coding: Option<Coding>,
}

impl<K: Technique> Planned<K> {
    /// Validates the geometry, checks that the technique supports it, and precomputes the technique's state.
    pub fn new(params: &Params, height: usize, width: usize) -> Result<Self> {
        Self::from_geometry(Geometry::new(params, height, width)?)
    }

    /// As [`Planned::new`], for a geometry already built.
    pub fn from_geometry(geometry: Geometry) -> Result<Self> {
        supports::<K>(geometry.params())?;
        let technique = K::plan(&geometry)?;
        let coding = if K::WHOLE_ROWS {
            Coding::new(&geometry)
        } else {
            None
        };
        Ok(Planned {
            geometry,
            technique,
            coding,
        })
    }

    /// The technique's precomputed state.
    pub fn technique(&self) -> &K {
        &self.technique
    }

    /// Which way a forward call on tensors goes: `nchw_call`, every tensor dense NCHW with plane `i64` indices
    /// ([`is_nchw_call`]), goes as a call on slices; an input whose channels are contiguous, to the
    /// channels-last kernel when the technique takes it; anything else, as gathered planes.
    fn route(&self, input: &Layout, nchw_call: bool) -> Route {
        if nchw_call {
            Route::Nchw
        } else if K::CHANNELS_LAST && channels_last::pools(&self.geometry, input) {
            Route::ChannelsLast
        } else {
            Route::Planes
        }
    }

    /// The kernel a forward call on `input` runs when its outputs are in the input's memory order and its
    /// indices (if any) are `i64` in the plane format: `"{technique}/{instruction set}/{way}"`, the way being
    /// `nchw` (dense planes in place), `nhwc` (the channels-last kernel) or `planes` (each plane gathered, then
    /// pooled). For example `"simd/avx512/nhwc"`.
    pub fn kernel(&self, input: &Layout) -> &'static str {
        let nchw = input.is_nchw();
        kernel_name(K::NAME, self.technique.simd(), self.route(input, nchw))
    }
}

/// The ways a forward call on tensors can go ([`Planned::route`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Route {
    Nchw,
    ChannelsLast,
    Planes,
}

impl Route {
    const fn name(self) -> &'static str {
        match self {
            Route::Nchw => "nchw",
            Route::ChannelsLast => "nhwc",
            Route::Planes => "planes",
        }
    }
}

/// `"{technique}/{simd}/{route}"`, made once per combination and kept for the life of the process (there are a
/// few dozen at most), so that callers, the C ABI's among them, get a `'static` string.
fn kernel_name(technique: &'static str, simd: Simd, route: Route) -> &'static str {
    type Names = HashMap<(&'static str, Simd, Route), &'static str>;
    static NAMES: OnceLock<Mutex<Names>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    names.entry((technique, simd, route)).or_insert_with(|| {
        Box::leak(format!("{technique}/{simd}/{}", route.name()).into_boxed_str())
    })
}

impl<K: Technique> Pool for Planned<K> {
    fn geometry(&self) -> &Geometry {
        &self.geometry
    }

    fn forward_tensor<T: Element>(
        &self,
        input: TensorRef<'_, T>,
        out: TensorOutputs<'_, T>,
    ) -> Result<()> {
        let g = &self.geometry;
        check_forward(g, || check_counts_fit::<K>(g), &input, &out)?;
        let [n, c, _, _] = input.layout().shape;
        // Fits: the input's span was checked.
        let planes = n * c;
        if planes == 0 {
            return Ok(());
        }
        match self.route(input.layout(), is_nchw_call(&input, &out)) {
            Route::Nchw => {}
            Route::ChannelsLast => {
                let threads = threads_for(g, planes);
                return channels_last::forward(g, self.technique.simd(), threads, input, out);
            }
            Route::Planes => {
                let threads = threads_for(g, planes);
                return forward_planes(
                    g,
                    &self.technique,
                    self.coding.as_ref(),
                    threads,
                    input,
                    out,
                );
            }
        }
        // Dense NCHW with plane indices: the slices' call, whose threads split planes into rows.
        let (plane_len, out_len) = (g.plane_len(), g.out_plane_len());
        let TensorOutputs {
            mut values,
            indices,
            multiplier,
            ..
        } = out;
        // SAFETY: the call was checked: each tensor is dense and reaches exactly this far, and the outputs
        // overlap nothing.
        unsafe {
            let slice = |p: *mut T, len| std::slice::from_raw_parts_mut(p, len);
            let input = std::slice::from_raw_parts(input.as_ptr(), planes * plane_len);
            let values = slice(values.as_mut_ptr(), planes * out_len);
            let indices = match indices {
                Some(IndicesMut::I64(mut t)) => Some(std::slice::from_raw_parts_mut(
                    t.as_mut_ptr(),
                    planes * out_len,
                )),
                _ => None,
            };
            let multiplier = multiplier
                .map(|mut m| std::slice::from_raw_parts_mut(m.as_mut_ptr(), planes * plane_len));
            self.forward(
                input,
                planes,
                Outputs {
                    values,
                    indices,
                    multiplier,
                },
            )
        }
    }

    fn forward<T: Element>(&self, input: &[T], planes: usize, out: Outputs<'_, T>) -> Result<()> {
        let g = &self.geometry;
        let (plane_len, out_len) = (g.plane_len(), g.out_plane_len());
        // A geometry's refusal comes before the buffers' lengths.
        if out.multiplier.is_some() {
            check_counts_fit::<K>(g)?;
        }
        check_len("input", input.len(), planes, plane_len)?;
        check_len("values", out.values.len(), planes, out_len)?;
        if let Some(indices) = &out.indices {
            check_len("indices", indices.len(), planes, out_len)?;
        }
        if let Some(multiplier) = &out.multiplier {
            check_len("multiplier", multiplier.len(), planes, plane_len)?;
        }
        let Outputs {
            values,
            indices,
            multiplier,
        } = out;
        if planes == 0 {
            return Ok(());
        }
        let threads = threads_for(g, planes);
        let out_h = g.out_height();
        // Units of work: whole planes, or, when there are too few planes to share out finely, runs of output rows.
        // With the multiplier a plane stays whole: windows in different rows can share a winner, whose count must
        // not race.
        let splits = if multiplier.is_some() || threads <= 1 || planes >= UNITS_PER_THREAD * threads
        {
            1
        } else {
            (UNITS_PER_THREAD * threads).div_ceil(planes).min(out_h)
        };
        // Whole planes need no division per call (a few nanoseconds of W4's 45).
        let (splits, rows_per_unit) = if splits == 1 {
            (1, out_h)
        } else {
            let rows_per_unit = out_h.div_ceil(splits);
            (out_h.div_ceil(rows_per_unit), rows_per_unit)
        };
        let disjoint = g.params().windows_disjoint();
        let units = planes * splits;
        let team = Team::new(threads, units);
        // Every party's working storage, reserved before anything is written: a failed allocation is an error.
        let coding = self.coding.as_ref().filter(|_| multiplier.is_some());
        let multiplier_without_indices = multiplier.is_some() && indices.is_none();
        let work = self.technique.work(g);
        let parties = Parties::reserve(&team, || {
            let scratch = Scratch::reserve(g, multiplier_without_indices, coding)?;
            Ok((scratch, Work::<T>::reserve(work)?))
        })?;
        let values = Disjoint::new(values);
        let indices = indices.map(Disjoint::new);
        let multiplier = multiplier.map(Disjoint::new);
        let ran = team.run(units, &|units: Range<usize>, party: usize| {
            let mut guard = parties.lock(party);
            let (scratch, work) = &mut *guard;
            let mut unit = units.start;
            while unit < units.end {
                // The units of one plane in the range, as one run of rows.
                let (p, end, rows) = if splits == 1 {
                    (unit, unit + 1, 0..out_h)
                } else {
                    let p = unit / splits;
                    let end = units.end.min((p + 1) * splits);
                    let rows = (unit - p * splits) * rows_per_unit
                        ..((end - p * splits) * rows_per_unit).min(out_h);
                    (p, end, rows)
                };
                let at = p * out_len + rows.start * g.out_width();
                let len = rows.len() * g.out_width();
                // SAFETY: every unit is run once, so the runs of rows and the planes taken here are disjoint
                // between calls of this closure; the multiplier is taken only with whole planes.
                let (values, indices, multiplier) = unsafe {
                    (
                        values.slice(at, len),
                        indices.as_ref().map(|ix| ix.slice(at, len)),
                        multiplier
                            .as_ref()
                            .map(|m| m.slice(p * plane_len, plane_len)),
                    )
                };
                let mut winners = Winners::new(
                    values,
                    indices,
                    multiplier,
                    disjoint,
                    self.coding.as_ref(),
                    scratch,
                );
                let plane = &input[p * plane_len..(p + 1) * plane_len];
                self.technique.pool_rows(g, plane, rows, &mut winners, work);
                winners.finish();
                unit = end;
            }
        });
        ran.map_err(Error::Internal)
    }
}
