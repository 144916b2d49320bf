//! Test support for the cross-backend conformance suite: a plain reference implementation, a runner that checks
//! one backend on one case against it (skips are explicit and counted), element generators, and the loader of
//! the public vectors. The test bodies are in `tests/`, expanded once per backend.

pub mod generate;
pub mod reference;
pub mod runner;
pub mod sample;
pub mod vectors;

pub use generate::{cases, params};
pub use reference::{reference, Expected};
pub use runner::{check_case, Case, Outcome, Tally};
pub use sample::Sample;
