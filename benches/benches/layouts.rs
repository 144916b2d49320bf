//! W1–W3 (f32) through the tensor call in both layouts, NCHW and channels-last (NHWC), at 1 and 2 threads: values
//! with `i64` plane indices (PyTorch's) and with `u8` window indices (oneDNN's workspace), and with the
//! multiplier as well, beside a fill of it; the backward pass with each index type; and the traffic floor of each index type (the call's own reads and
//! writes, without pooling). The same bytes move in both layouts, so the floors serve both. Compare ratios within
//! a group: these machines are shared and noisy.

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion};
use maxpool::{
    set_num_threads, Backend, IndexElement, IndexFormat, Layout, Plan, TensorMut, TensorOutputs,
    TensorRef,
};
use maxpool_benches::{input, traffic_floor, traffic_parts, WORKLOADS};
use rayon::prelude::*;
use rayon::{ThreadPool, ThreadPoolBuilder};

/// One forward call on tensors of `layout`, its outputs alike, indices `I` in `format`, with or without the
/// multiplier.
#[allow(clippy::too_many_arguments)]
fn call<I: IndexElement>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    id: String,
    plan: &Plan,
    x: &[f32],
    layout: Layout,
    out: Layout,
    format: IndexFormat,
    multiplier: bool,
) {
    let (mut values, mut indices) = (
        vec![0f32; out.len().unwrap()],
        vec![I::default(); out.len().unwrap()],
    );
    let mut counts = vec![0u32; if multiplier { x.len() } else { 0 }];
    let kernel = plan.kernel(&layout);
    group.bench_function(BenchmarkId::new(id, kernel), |b| {
        b.iter(|| {
            let mut o = TensorOutputs::new(TensorMut::new(&mut values, out))
                .with_indices(TensorMut::new(&mut indices, out), format);
            if multiplier {
                o = o.with_multiplier(TensorMut::new(&mut counts, layout));
            }
            plan.forward_tensor(TensorRef::new(black_box(x), layout), o)
                .unwrap();
        })
    });
}

/// One backward call on tensors of `layout` (`grad_input`) and `out` (gradients and indices), the indices those
/// of a forward call, as `I` in `format`.
fn backward<I: IndexElement>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    id: String,
    plan: &Plan,
    x: &[f32],
    layout: Layout,
    out: Layout,
    format: IndexFormat,
) {
    let mut values = vec![0f32; out.len().unwrap()];
    let mut indices = vec![I::default(); out.len().unwrap()];
    plan.forward_tensor(
        TensorRef::new(x, layout),
        TensorOutputs::new(TensorMut::new(&mut values, out))
            .with_indices(TensorMut::new(&mut indices, out), format),
    )
    .unwrap();
    let grad: Vec<f32> = input(values.len()).collect();
    let mut grad_input = vec![0f32; x.len()];
    group.bench_function(BenchmarkId::new(id, "backward"), |b| {
        b.iter(|| {
            plan.backward_tensor(
                TensorRef::new(black_box(&grad), out),
                TensorRef::new(&indices, out).into(),
                format,
                TensorMut::new(&mut grad_input, layout),
            )
            .unwrap();
        })
    });
}

/// The traffic floor with indices of type `I`, on the calling thread or a share on each of a pool's threads.
fn floor<I: IndexElement>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    x: &[f32],
    out: usize,
    pool: Option<&ThreadPool>,
) {
    let (mut values, mut indices) = (vec![0f32; out], vec![I::default(); out]);
    let id = BenchmarkId::new("traffic floor", format!("{:?} indices", I::DTYPE));
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

/// Writing a multiplier of `len` counts once, on the calling thread or a share on each of a pool's threads.
fn fill(group: &mut BenchmarkGroup<'_, WallTime>, len: usize, pool: Option<&ThreadPool>) {
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

fn layouts(c: &mut Criterion) {
    for w in WORKLOADS.iter().filter(|w| w.id != "W4") {
        let [n, ch, h, width] = w.shape;
        let x: Vec<f32> = input(n * ch * h * width).collect();
        let plan = Plan::new(Backend::Auto, &w.params, h, width).unwrap();
        let [oh, ow] = plan.out_shape();
        for threads in [1, 2] {
            let mut group = c.benchmark_group(format!(
                "{} {}, layouts, {threads} thread{}",
                w.id,
                w.what,
                if threads == 1 { "" } else { "s" }
            ));
            group
                .sample_size(20)
                .warm_up_time(Duration::from_millis(500))
                .measurement_time(Duration::from_secs(2));
            set_num_threads(threads).unwrap();
            let pool = (threads > 1).then(|| {
                ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .expect("a thread pool for the floors")
            });
            for (name, layout, out) in [
                (
                    "nchw",
                    Layout::nchw(n, ch, h, width),
                    Layout::nchw(n, ch, oh, ow),
                ),
                (
                    "nhwc",
                    Layout::nhwc(n, h, width, ch),
                    Layout::nhwc(n, oh, ow, ch),
                ),
            ] {
                let plane = IndexFormat::Plane;
                call::<i64>(
                    &mut group,
                    format!("{name} i64 plane"),
                    &plan,
                    &x,
                    layout,
                    out,
                    plane,
                    false,
                );
                let window = IndexFormat::Window;
                call::<u8>(
                    &mut group,
                    format!("{name} u8 window"),
                    &plan,
                    &x,
                    layout,
                    out,
                    window,
                    false,
                );
                call::<i64>(
                    &mut group,
                    format!("{name} i64 plane + multiplier"),
                    &plan,
                    &x,
                    layout,
                    out,
                    plane,
                    true,
                );
                backward::<i64>(
                    &mut group,
                    format!("{name} i64 plane"),
                    &plan,
                    &x,
                    layout,
                    out,
                    plane,
                );
                backward::<u8>(
                    &mut group,
                    format!("{name} u8 window"),
                    &plan,
                    &x,
                    layout,
                    out,
                    window,
                );
            }
            fill(&mut group, x.len(), pool.as_ref());
            let out = n * ch * oh * ow;
            floor::<i64>(&mut group, &x, out, pool.as_ref());
            floor::<u8>(&mut group, &x, out, pool.as_ref());
            group.finish();
        }
    }
    set_num_threads(0).unwrap();
}

criterion_group!(benches, layouts);
criterion_main!(benches);
