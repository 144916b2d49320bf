//! `maxpool check`: random cases from the conformance suite's generators, every backend against its reference.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Args;
use maxpool::technique::with_dtype;
use maxpool::{Backend, DType};
use maxpool_conformance::{case, check_case, Outcome as CaseOutcome, Sample, Seeded};

use crate::args::describe;
use crate::{say, Outcome};

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// How many random cases, spread over every element type (those bench --dtype lists).
    #[arg(long, default_value_t = 2000)]
    pub cases: usize,
    /// The random seed, to repeat a run [default: from the clock, and printed].
    #[arg(long)]
    pub seed: Option<u64>,
}

#[derive(Default)]
struct Counts {
    passed: usize,
    failed: usize,
    /// Per backend of `Backend::ALL` (`auto` included): cases it ran, refused as the contract says, and skipped
    /// as unsupported.
    ran: [usize; Backend::ALL.len()],
    refused: [usize; Backend::ALL.len()],
    skipped: [usize; Backend::ALL.len()],
}

pub fn run(args: &CheckArgs) -> Outcome {
    let seed = args.seed.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    say!(
        "checking {} random cases against the reference, seed {seed}",
        args.cases
    );
    let mut src = Seeded::new(seed);
    let mut counts = Counts::default();
    for n in 0..args.cases {
        let dtype = DType::ALL[n % DType::ALL.len()];
        with_dtype!(dtype, check_one(&mut src, n, &mut counts));
    }
    for (i, backend) in Backend::ALL.iter().enumerate() {
        say!(
            "{:>7}: ran {}, refused {} (invalid geometries, as the reference), skipped {} (unsupported)",
            backend.name(),
            counts.ran[i],
            counts.refused[i],
            counts.skipped[i]
        );
    }
    say!("{} passed, {} failed", counts.passed, counts.failed);
    Ok(counts.failed == 0)
}

fn check_one<T: Sample>(src: &mut Seeded, n: usize, counts: &mut Counts) {
    let case = case::<T>(src);
    let mut failures = Vec::new();
    for (i, backend) in Backend::ALL.iter().enumerate() {
        // A panic is a failure of the case like any other (the panic hook has reported it).
        let checked = catch_unwind(AssertUnwindSafe(|| check_case(*backend, &case)))
            .unwrap_or_else(|_| Err("panicked".to_string()));
        match checked {
            Ok(CaseOutcome::Ran) => counts.ran[i] += 1,
            Ok(CaseOutcome::Refused) => counts.refused[i] += 1,
            Ok(CaseOutcome::Skipped) => counts.skipped[i] += 1,
            Err(e) => failures.push(format!("{backend}: {e}")),
        }
    }
    if failures.is_empty() {
        counts.passed += 1;
    } else {
        counts.failed += 1;
        say!(
            "FAILED case {n}: {} planes of {}×{} {}, {}\n  {}",
            case.planes,
            case.height,
            case.width,
            T::DTYPE,
            describe(&case.params),
            failures.join("\n  ")
        );
    }
}
