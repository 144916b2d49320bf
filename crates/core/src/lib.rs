//! The contract of maxpool, 2-D max pooling with winner indices and multiplier: parameters, geometry, element
//! types, the backend trait ([`Technique`]), the engine that runs it ([`Planned`], [`Pool`]), errors and the
//! backward pass. The semantics are stated once, in [`semantics`]; backends import them.
//!
//! Most users want the `maxpool` crate, which re-exports this one and adds the run-time choice of backend.

mod arrays;
mod backward;
mod channels_last;
mod coded;
mod element;
mod engine;
mod error;
mod geometry;
mod params;
pub mod rows16;
pub mod semantics;
pub mod simd;
mod strided;
mod technique;
mod tensor;
mod threads;

pub use arrays::array_layout;
pub use backward::backward;
pub use element::{
    as_type, as_type_mut, bf16, f16, order_key, DType, Element, Float, Summed, UnknownDType,
};
pub use engine::{supports, Outputs, Planned, Pool, Pooled, PooledMut, Want};
pub use error::{caught, Axis, Error, ErrorKind, Result};
pub use geometry::Geometry;
pub use params::{Padding, Params};
pub use simd::{Simd, Vectorised, SIMD_ENV};
pub use strided::{backward_tensor, TensorOutputs};
pub use technique::{IndexBuffers, IndexRun, Technique, Winners, Work, WorkSize, BAND};
pub use tensor::{
    check_index_type, IndexElement, IndexFormat, IndicesMut, IndicesRef, Layout, TensorMut,
    TensorRef, UnknownIndexFormat,
};
pub use threads::{num_threads, set_num_threads, MAX_THREADS, NUM_THREADS_ENV};
