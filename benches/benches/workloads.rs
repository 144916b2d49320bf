//! Every backend on every workload, through a plan, with a memcpy of the same bytes (input + values + indices) in
//! the same group as the floor, and the traffic floor (the call's own reads and writes, without pooling, on as
//! many threads); W1–W3 at 1 and at 2 threads, `auto` also with the multiplier beside a fill of it on as many
//! threads; and each notebook technique on one 256×256 plane, the notebook's numpy versions' workload. Compare
//! ratios within a group: these machines are shared and noisy.

use std::hint::black_box;
use std::time::Duration;

use criterion::{
    criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion, Throughput,
};
use maxpool::{set_num_threads, Backend, DType, Element, Outputs, Params, Plan};
use maxpool_benches::{input, traffic_bytes, traffic_floor, traffic_parts, Workload, WORKLOADS};
use rayon::prelude::*;
use rayon::{ThreadPool, ThreadPoolBuilder};

/// One plan's forward call on `planes` planes, with or without the multiplier.
fn bench_plan<T: Element>(
    group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
    id: BenchmarkId,
    plan: &Plan,
    x: &[T],
    planes: usize,
    multiplier: bool,
) {
    let out = planes * plan.geometry().out_plane_len();
    let (mut values, mut indices) = (vec![T::default(); out], vec![0i64; out]);
    let mut counts = vec![0u32; if multiplier { x.len() } else { 0 }];
    group.bench_function(id, |b| {
        b.iter(|| {
            let outputs = Outputs::new(&mut values).with_indices(&mut indices);
            let outputs = if multiplier {
                outputs.with_multiplier(&mut counts)
            } else {
                outputs
            };
            plan.forward(black_box(x), planes, outputs).unwrap();
        })
    });
}

/// [`traffic_floor`]: the forward call's own reads and writes, with no pooling, into buffers like the plans', on
/// the calling thread or, given a pool, on each of its threads for a share of the outputs.
fn floor<T: Element>(
    group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
    x: &[T],
    out: usize,
    pool: Option<&ThreadPool>,
) {
    let (mut values, mut indices) = (vec![T::default(); out], vec![0i64; out]);
    let id = BenchmarkId::new("traffic floor", "same reads and writes");
    let Some(pool) = pool else {
        group.bench_function(id, |b| {
            b.iter(|| traffic_floor(black_box(x), &mut values, &mut indices))
        });
        return;
    };
    let mut parts = traffic_parts(x, &mut values, &mut indices, pool.current_num_threads());
    group.bench_function(id, |b| {
        b.iter(|| {
            pool.install(|| {
                parts
                    .par_iter_mut()
                    .for_each(|(x, v, i)| traffic_floor(black_box(*x), v, i))
            })
        })
    });
}

/// Writing a multiplier of `len` counts once, for what asking for it may cost: on the calling thread or, given a
/// pool, a share on each of its threads.
fn fill(
    group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
    len: usize,
    pool: Option<&ThreadPool>,
) {
    let mut counts = vec![1u32; len];
    let id = BenchmarkId::new("fill multiplier", "once");
    let Some(pool) = pool else {
        group.bench_function(id, |b| b.iter(|| black_box(&mut counts).fill(0)));
        return;
    };
    let share = len.div_ceil(pool.current_num_threads()).max(1);
    group.bench_function(id, |b| {
        b.iter(|| {
            pool.install(|| {
                black_box(&mut counts)
                    .par_chunks_mut(share)
                    .for_each(|c| c.fill(0))
            })
        })
    });
}

fn memcpy(group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>, bytes: usize) {
    let src = vec![0u8; bytes];
    let mut dst = vec![1u8; bytes];
    group.bench_function(BenchmarkId::new("memcpy", "same bytes"), |b| {
        b.iter(|| dst.copy_from_slice(black_box(&src)))
    });
}

fn run<T: Element + TryFrom<i16>>(c: &mut Criterion, w: &Workload, threads: usize) {
    let planes = w.planes();
    let [_, _, h, width] = w.shape;
    let x: Vec<T> = input(planes * h * width).collect();
    let tiny = x.len() < 1 << 10;
    let mut group = c.benchmark_group(format!(
        "{} {}, {threads} thread{}",
        w.id,
        w.what,
        if threads == 1 { "" } else { "s" }
    ));
    if !tiny {
        group
            .sample_size(20)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2));
    }
    set_num_threads(threads).unwrap();
    let auto = Plan::new(Backend::Auto, &w.params, h, width).unwrap();
    let out = planes * auto.geometry().out_plane_len();
    let bytes = traffic_bytes(size_of::<T>(), x.len(), out);
    group.throughput(Throughput::Bytes(bytes as u64));
    for backend in Backend::CONCRETE {
        if let Ok(plan) = Plan::new(backend, &w.params, h, width) {
            bench_plan(
                &mut group,
                BenchmarkId::new(backend.name(), "values+indices"),
                &plan,
                &x,
                planes,
                false,
            );
        }
    }
    let auto_id = format!("auto={}", auto.backend());
    bench_plan(
        &mut group,
        BenchmarkId::new(auto_id.clone(), "values+indices"),
        &auto,
        &x,
        planes,
        false,
    );
    if !tiny {
        // The floors on as many threads as the call, from a pool of their own built outside the timed loops.
        let pool = (threads > 1).then(|| {
            ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("a thread pool for the floors")
        });
        bench_plan(
            &mut group,
            BenchmarkId::new(auto_id, "values+indices+multiplier"),
            &auto,
            &x,
            planes,
            true,
        );
        fill(&mut group, x.len(), pool.as_ref());
        floor(&mut group, &x, out, pool.as_ref());
    }
    memcpy(&mut group, bytes);
    group.finish();
    set_num_threads(0).unwrap();
}

/// The notebook's numpy techniques' workload: one 256×256 f32 plane; block-reshape with k2 s2, and the
/// sliding-window lookup with k3 s1 and the multiplier.
fn notebook_plane(c: &mut Criterion) {
    let x: Vec<f32> = input(256 * 256).collect();
    let mut group = c.benchmark_group("notebook plane 256×256 f32, 1 thread");
    group
        .sample_size(50)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    set_num_threads(1).unwrap();
    let block = Plan::new(Backend::Block, &Params::new(2), 256, 256).unwrap();
    bench_plan(
        &mut group,
        BenchmarkId::new("block", "k2 s2 values+indices"),
        &block,
        &x,
        1,
        false,
    );
    let lookup = Plan::new(Backend::Lookup, &Params::new(3).with_stride(1), 256, 256).unwrap();
    bench_plan(
        &mut group,
        BenchmarkId::new("lookup", "k3 s1 values+indices+multiplier"),
        &lookup,
        &x,
        1,
        true,
    );
    group.finish();
    set_num_threads(0).unwrap();
}

fn workloads(c: &mut Criterion) {
    for w in &WORKLOADS {
        let thread_counts: &[usize] = if w.dtype == DType::I64 { &[1] } else { &[1, 2] };
        for &threads in thread_counts {
            match w.dtype {
                DType::I64 => run::<i64>(c, w, threads),
                _ => run::<f32>(c, w, threads),
            }
        }
    }
    notebook_plane(c);
}

criterion_group!(benches, workloads);
criterion_main!(benches);
