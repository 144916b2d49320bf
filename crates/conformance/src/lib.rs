//! The cross-backend conformance suite's machinery, and what `maxpool check` and `maxpool bench` share with the
//! tests and benches: a plain reference implementation, a runner that checks one backend on one case against it
//! (skips are explicit and counted), case generators driven by any source of random numbers, and the benchmark
//! workloads. It depends on nothing but the library; the test bodies (with proptest and the public vectors) are
//! in `tests/`, expanded once per backend.

pub mod generate;
pub mod reference;
pub mod runner;
pub mod sample;
pub mod workloads;

pub use generate::{case, drawn_case, elements, params, Choices, Seeded, Source, CASE_DRAWS};
pub use reference::{reference, Expected};
pub use runner::{check_case, Case, Outcome, Tally};
pub use sample::{decode_half, Sample};
