//! 2-D max pooling that returns, for every window, the maximum, the index of the input element that won it,
//! and per input element the *multiplier*, how many windows it won; plus the backward pass. Three techniques
//! are interchangeable backends, chosen at run time with [`Backend`]; all of them give bit-identical results.
//!
//! ```
//! use maxpool::{ndarray::array, pool, Backend, Params, Want};
//!
//! let a = array![[12, 15, 5, 0], [3, 11, 3, 7], [9, 3, 5, 2], [4, 7, 6, 8]];
//! let out = pool(a.view(), &Params::new(2), Backend::Auto, Want::ALL)?;
//! assert_eq!(out.values, array![[15, 7], [9, 8]]);
//! assert_eq!(out.indices.unwrap(), array![[1, 7], [8, 15]]);
//! # Ok::<(), maxpool::Error>(())
//! ```

mod backend;

pub use backend::{Backend, Plan, BACKEND_ENV};
pub use maxpool_block::BlockReshape;
pub use maxpool_core::with_dtype;
pub use maxpool_core::{
    backward, num_threads, semantics, set_num_threads, Axis, DType, Element, Error, ErrorKind,
    Float, Geometry, Outputs, Padding, Params, Pool, Pooled, Result, Simd, UnknownDType, Want,
    NUM_THREADS_ENV, SIMD_ENV,
};
pub use maxpool_lookup::SlidingWindowLookup;
pub use maxpool_naive::NaiveLoop;
pub use maxpool_simd::VectorisedRows;
pub use ndarray;

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
