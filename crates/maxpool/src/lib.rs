//! 2-D max pooling that returns, for every window, the maximum and the index of the input element that won it,
//! and per input element the *multiplier*, how many windows it won; plus the backward pass.
//!
//! Four backends, chosen at run time with [`Backend`], give bit-identical results: the exploration notebook's
//! three techniques (`naive`, `block`, `lookup`) and a vectorised one (`simd`); [`Backend::Auto`] picks one
//! that can pool the geometry, by measured speed. Semantics follow PyTorch's `max_pool2d`: output size (ceil
//! mode included), padding that never wins, the first maximum winning ties, NaN beating every number, and
//! indices `row * width + col` within each plane of the unpadded input.
//!
//! One call on an array:
//!
//! ```
//! use maxpool::{ndarray::array, pool, Backend, Params, Want};
//!
//! let a = array![[12, 15, 5, 0], [3, 11, 3, 7], [9, 3, 5, 2], [4, 7, 6, 8]];
//! let out = pool(a.view(), &Params::new(2), Backend::Auto, Want::ALL)?;
//! assert_eq!(out.values, array![[15, 7], [9, 8]]);
//! assert_eq!(out.indices.unwrap(), array![[1, 7], [8, 15]]);
//! assert_eq!(out.multiplier.unwrap().sum(), 4);
//! # Ok::<(), maxpool::Error>(())
//! ```
//!
//! A [`Plan`] is validated and precomputed once, then run any number of times, from any thread, on slices
//! (no allocation) or arrays; the backward pass scatters gradients onto the winners:
//!
//! ```
//! use maxpool::{Backend, Outputs, Params, Plan};
//!
//! // 3×3 windows, stride 2, padding 1, on 8×8 planes.
//! let plan = Plan::new(Backend::Auto, &Params::new(3).with_stride(2).with_padding(1), 8, 8)?;
//! assert_eq!(plan.out_shape(), [4, 4]);
//!
//! let planes = 2;
//! let input: Vec<f32> = (0..planes * 64).map(|i| ((i * 37) % 101) as f32).collect();
//! let (mut values, mut indices) = (vec![0.0; planes * 16], vec![0i64; planes * 16]);
//! plan.forward(&input, planes, Outputs::new(&mut values).with_indices(&mut indices))?;
//! // Each index is the winner's position within its own plane.
//! assert_eq!(values[16], input[64 + indices[16] as usize]);
//!
//! let grad_output = vec![1.0f32; planes * 16];
//! let mut grad_input = vec![0.0f32; planes * 64];
//! plan.backward(planes, &grad_output, &indices, &mut grad_input)?;
//! assert_eq!(grad_input.iter().sum::<f32>(), 32.0);
//! # Ok::<(), maxpool::Error>(())
//! ```
//!
//! Errors are values ([`Error`], with an [`ErrorKind`]); no call panics on bad input, and a call that fails
//! has written nothing. Calls use up to [`set_num_threads`] threads, at most [`MAX_THREADS`].
//!
//! Writing a backend, or looking inside one: see [`technique`].

mod backend;

pub use backend::{Backend, Plan, BACKEND_ENV};
pub use maxpool_core::{
    array_layout, bf16, f16, num_threads, set_num_threads, Axis, DType, Element, Error, ErrorKind,
    Float, IndexElement, IndexFormat, IndicesMut, IndicesRef, Layout, Outputs, Padding, Params,
    Pool, Pooled, PooledMut, Result, TensorMut, TensorOutputs, TensorRef, UnknownDType,
    UnknownIndexFormat, Want, MAX_THREADS, NUM_THREADS_ENV, SIMD_ENV,
};
pub use ndarray;

pub mod technique {
    //! For backend authors, and for looking inside the backends: the [`Technique`] trait every backend
    //! implements, the engine that runs one ([`Planned`]), what they share (the [`Geometry`], the
    //! [`semantics`], the SIMD levels), and the four implementations. Users of the library need none of it:
    //! [`Plan`](crate::Plan) and [`pool`](crate::pool) run any backend.
    pub use maxpool_block::BlockReshape;
    pub use maxpool_core::{
        as_type, as_type_mut, backward, order_key, semantics, supports, Geometry, Planned, Simd,
        Summed, Technique, Vectorised, Winners, BAND,
    };
    pub use maxpool_core::{with_dtype, with_float_dtype, with_index_dtype};
    pub use maxpool_lookup::SlidingWindowLookup;
    pub use maxpool_naive::NaiveLoop;
    pub use maxpool_simd::VectorisedRows;
}

use ndarray::{ArrayView, Dimension};

/// Pools an array whose last two axes are (height, width): plans for its plane size with `backend` and runs the
/// plan once. To pool many arrays of one size, make a [`Plan`] and reuse it.
pub fn pool<T: Element, D: Dimension>(
    input: ArrayView<'_, T, D>,
    params: &Params,
    backend: Backend,
    want: Want,
) -> Result<Pooled<T, D>> {
    let n = input.ndim();
    if n < 2 {
        return Err(Error::ArrayShape(format!(
            "the input has {n} axes; it needs at least 2, (height, width)"
        )));
    }
    let plan = Plan::new(backend, params, input.shape()[n - 2], input.shape()[n - 1])?;
    plan.pool(input, want)
}

#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeExamples;
