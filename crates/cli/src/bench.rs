//! `maxpool bench`: every backend on one workload, through a plan, beside a memcpy of the same bytes measured in
//! the same run. Medians and ratios, since these machines are shared and noisy.

use std::hint::black_box;
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use maxpool::{
    num_threads, set_num_threads, technique::with_dtype, Backend, Outputs, Params, Plan,
};
use maxpool_conformance::workloads::{traffic_bytes, Sampled, WORKLOADS};

use crate::args::{describe, dims, shape, DTypeName, WindowArgs};
use crate::{fail, say, Failure, Outcome};

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// The batch, N,C,H,W [default: the ResNet stem workload, 8,64,112,112 with kernel 3, stride 2, padding 1].
    #[arg(long, value_name = "N,C,H,W", value_parser = shape)]
    pub shape: Option<[usize; 4]>,
    #[command(flatten)]
    pub window: WindowArgs,
    /// The element type.
    #[arg(long, default_value = "f32", ignore_case = true)]
    pub dtype: DTypeName,
    /// Threads a pooling call may use [default: MAXPOOL_NUM_THREADS, else every core].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Timed calls per backend; the median is reported.
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u32).range(1..))]
    pub runs: u32,
    /// Also ask for the multiplier, and time writing it once (a fill) for comparison.
    #[arg(long)]
    pub multiplier: bool,
}

pub fn run(args: &BenchArgs) -> Outcome {
    let default = &WORKLOADS[0];
    let shape = args.shape.unwrap_or(default.shape);
    let params = args.window.params(Some(default.params)).map_err(Failure)?;
    if let Some(threads) = args.threads {
        set_num_threads(threads).map_err(|e| fail!("--threads {threads}: {e}"))?;
    }
    with_dtype!(args.dtype.0, bench(args, shape, &params))
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn bench<T: Sampled>(args: &BenchArgs, shape: [usize; 4], params: &Params) -> Outcome {
    let [n, c, h, w] = shape;
    let planes = n
        .checked_mul(c)
        .ok_or_else(|| fail!("--shape {}: too many planes", dims(&shape)))?;
    // One plan per backend first: a geometry no backend can pool is reported before any time is spent.
    let plans: Vec<(Backend, Result<Plan, maxpool::Error>)> = Backend::CONCRETE
        .iter()
        .map(|&b| (b, Plan::new(b, params, h, w)))
        .collect();
    let Some(geometry) = plans
        .iter()
        .find_map(|(_, p)| p.as_ref().ok().map(|p| p.geometry().clone()))
    else {
        let why = plans
            .into_iter()
            .find_map(|(_, p)| p.err())
            .map(|e| e.to_string())
            .unwrap_or_default();
        return Err(fail!(
            "cannot pool {} with {}: {why}",
            dims(&shape),
            describe(params)
        ));
    };
    let in_len = planes
        .checked_mul(geometry.plane_len())
        .ok_or_else(|| fail!("--shape {}: too many elements", dims(&shape)))?;
    let out_len = planes * geometry.out_plane_len();
    let bytes = traffic_bytes(size_of::<T>(), in_len, out_len);
    let mut x: Vec<T> = buffer(in_len, None)?;
    x.extend(T::sampled(in_len));
    let (mut values, mut indices) = (
        buffer(out_len, Some(T::default()))?,
        buffer(out_len, Some(0i64))?,
    );
    let mut counts = buffer(if args.multiplier { in_len } else { 0 }, Some(0u32))?;

    say!(
        "{} {}, {}; values + indices{}; {} thread{}; median of {} runs",
        dims(&shape),
        T::DTYPE,
        describe(params),
        if args.multiplier { " + multiplier" } else { "" },
        num_threads(),
        if num_threads() == 1 { "" } else { "s" },
        args.runs
    );
    let runnable =
        plans.iter().filter(|(_, p)| p.is_ok()).count() as u64 + 1 + u64::from(args.multiplier);
    let progress = ProgressBar::new(runnable * u64::from(args.runs + 1));
    progress.set_style(
        ProgressStyle::with_template("{spinner} {msg:>8} [{bar:30}] {pos}/{len}")
            .map_err(|e| fail!("progress bar: {e}"))?
            .progress_chars("=> "),
    );
    let time = |name: &str, f: &mut dyn FnMut() -> Result<(), maxpool::Error>| {
        progress.set_message(name.to_string());
        let mut samples = Vec::with_capacity(args.runs as usize);
        for run in 0..=args.runs {
            let start = Instant::now();
            f()?;
            // The first call warms caches and pages; it is not counted.
            if run > 0 {
                samples.push(start.elapsed());
            }
            progress.inc(1);
        }
        Ok::<_, maxpool::Error>(median(samples))
    };

    let (src, mut dst) = (buffer(bytes, Some(0u8))?, buffer(bytes, Some(1u8))?);
    let floor = time("memcpy", &mut || {
        dst.copy_from_slice(black_box(&src));
        Ok(())
    })
    .map_err(|e| fail!("{e}"))?;
    let mut rows = Vec::new();
    for (backend, plan) in &plans {
        let row = match plan {
            Ok(plan) => {
                let t = time(backend.name(), &mut || {
                    let outputs = Outputs::new(&mut values).with_indices(&mut indices);
                    let outputs = if args.multiplier {
                        outputs.with_multiplier(&mut counts)
                    } else {
                        outputs
                    };
                    plan.forward(black_box(&x), planes, outputs)
                })
                .map_err(|e| fail!("{backend}: {e}"))?;
                let throughput = bytes as f64 / t.as_secs_f64() / 1e9;
                let ratio = t.as_secs_f64() / floor.as_secs_f64();
                format!(
                    "{:>12}  {:>9.2} GB/s  {:>9.1}x",
                    format_duration(t),
                    throughput,
                    ratio
                )
            }
            Err(e) => format!("cannot: {e}"),
        };
        rows.push((backend.name(), row));
    }
    let fill = if args.multiplier {
        let t = time("fill", &mut || {
            black_box(&mut counts).fill(0);
            Ok(())
        })
        .map_err(|e| fail!("{e}"))?;
        Some(t)
    } else {
        None
    };
    progress.finish_and_clear();

    say!(
        "{:<8}  {:>12}  {:>14}  {:>10}",
        "backend",
        "median",
        "throughput",
        "vs memcpy"
    );
    for (name, row) in rows {
        say!("{name:<8}  {row}");
    }
    let floor_throughput = bytes as f64 / floor.as_secs_f64() / 1e9;
    say!(
        "{:<8}  {:>12}  {:>9.2} GB/s  {:>9.1}x",
        "memcpy",
        format_duration(floor),
        floor_throughput,
        1.0
    );
    if let Some(fill) = fill {
        say!(
            "writing the multiplier once (a fill of {} bytes): {}",
            in_len * size_of::<u32>(),
            format_duration(fill)
        );
    }
    match Backend::Auto.resolve_sized(params, h, w) {
        Ok(b) => {
            say!("auto chooses {b}; memcpy moves the same {bytes} bytes (input + values + indices)")
        }
        Err(e) => say!("auto: {e}"),
    }
    Ok(true)
}

/// A buffer of `len` elements (`fill`ed, or empty with that capacity), or a message when memory is short.
fn buffer<E: Clone>(len: usize, fill: Option<E>) -> Result<Vec<E>, Failure> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| {
        fail!(
            "not enough memory for {len} elements of {} bytes",
            size_of::<E>()
        )
    })?;
    if let Some(fill) = fill {
        v.resize(len, fill);
    }
    Ok(v)
}

fn format_duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    match s {
        s if s >= 1.0 => format!("{s:.3} s"),
        s if s >= 1e-3 => format!("{:.3} ms", s * 1e3),
        s if s >= 1e-6 => format!("{:.3} µs", s * 1e6),
        s => format!("{:.0} ns", s * 1e9),
    }
}
