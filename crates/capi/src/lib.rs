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
//! - Enum, dtype, index format and bool arguments are read as integers, so an out-of-range value is a status,
//!   never undefined behaviour.
//! - No panic crosses the boundary: one becomes `MAXPOOL_STATUS_INTERNAL`.
//! - A call that returns a status also leaves its detail for `maxpool_last_error`, per thread.
//!
//! One generic path serves every element type and layout: the tensor calls switch on the dtype once, into
//! [`forward::forward`] and [`backward::backward`], and the per-dtype calls on dense NCHW buffers describe them as
//! tensors and call the same functions. By concern:
//! - [`status`]: statuses, the per-thread last error, the boundary that catches errors and panics;
//! - [`plans`]: parameters, backends, plans and what they say (output shape, backend, kernel);
//! - [`tensors`]: `MaxpoolTensor`, dtypes, index formats, and the checks of each tensor's pointer and memory;
//! - [`forward`] and [`backward`]: the passes, on tensors and per dtype;
//! - [`library`]: the version and the thread count.
//!
//! `MaxpoolBackend` must list exactly `maxpool::Backend::ALL`, with the same numbers: `tests/header.rs` checks it.

#![allow(clippy::missing_safety_doc)] // The safety contract is the C documentation on each function.

// In the order the header lists their items: statuses first, the passes after what they take.
mod status;

mod plans;

mod tensors;

mod forward;

mod backward;

mod library;

// The fuzz crate compiles this file as a private module, where not every item is used.
#[allow(unused_imports)]
pub use self::{backward::*, forward::*, library::*, plans::*, status::*, tensors::*};
