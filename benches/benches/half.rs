//! Half precision beside single (issue 21): W1–W3 in `f32`, `f16` and `bf16`, NCHW and channels-last (NHWC), at 1
//! and 2 threads, values with `i64` plane indices (PyTorch's `max_pool2d(return_indices=True)`), beside each
//! element size's traffic floor (the call's own reads and writes, without pooling: `f16` and `bf16` move the same
//! bytes, so one floor serves both). Compare ratios within a group: these machines are shared and noisy.

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion};
use maxpool::{
    bf16, f16, set_num_threads, Backend, IndexFormat, Layout, Plan, TensorMut, TensorOutputs,
    TensorRef,
};
use maxpool_benches::{traffic_floor, traffic_parts, Sampled, WORKLOADS};
use rayon::prelude::*;
use rayon::{ThreadPool, ThreadPoolBuilder};

/// One forward call of `T` on tensors of `layout`, its outputs alike, with `i64` plane indices.
fn call<T: Sampled>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    plan: &Plan,
    [layout, out]: [Layout; 2],
) {
    let x: Vec<T> = T::sampled(layout.len().unwrap()).collect();
    let mut values = vec![x[0]; out.len().unwrap()];
    let mut indices = vec![0i64; out.len().unwrap()];
    let id = BenchmarkId::new(format!("{name} {:?}", T::DTYPE), plan.kernel(&layout));
    group.bench_function(id, |b| {
        b.iter(|| {
            let o = TensorOutputs::new(TensorMut::new(&mut values, out))
                .with_indices(TensorMut::new(&mut indices, out), IndexFormat::Plane);
            plan.forward_tensor(TensorRef::new(black_box(&x), layout), o)
                .unwrap();
        })
    });
}

/// The traffic floor of elements `T` (by size: `u16` for both halves) with `i64` indices, on the calling thread
/// or a share on each of a pool's threads.
fn floor<T: Copy + PartialOrd + Default + Send + Sync>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    len: usize,
    out: usize,
    pool: Option<&ThreadPool>,
) {
    let x = vec![T::default(); len];
    let (mut values, mut indices) = (vec![T::default(); out], vec![0i64; out]);
    let id = BenchmarkId::new("traffic floor", format!("{}-byte", size_of::<T>()));
    let Some(pool) = pool else {
        group.bench_function(id, |b| {
            b.iter(|| traffic_floor(black_box(&x), &mut values, &mut indices))
        });
        return;
    };
    let mut parts = traffic_parts(&x, &mut values, &mut indices, pool.current_num_threads());
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

fn half(c: &mut Criterion) {
    for w in WORKLOADS.iter().filter(|w| w.id != "W4") {
        let [n, ch, h, width] = w.shape;
        let plan = Plan::new(Backend::Auto, &w.params, h, width).unwrap();
        let [oh, ow] = plan.out_shape();
        for threads in [1, 2] {
            let s = if threads == 1 { "" } else { "s" };
            let mut group =
                c.benchmark_group(format!("{} {}, half, {threads} thread{s}", w.id, w.what));
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
            for (name, layouts) in [
                (
                    "nchw",
                    [Layout::nchw(n, ch, h, width), Layout::nchw(n, ch, oh, ow)],
                ),
                (
                    "nhwc",
                    [Layout::nhwc(n, h, width, ch), Layout::nhwc(n, oh, ow, ch)],
                ),
            ] {
                call::<f32>(&mut group, name, &plan, layouts);
                call::<f16>(&mut group, name, &plan, layouts);
                call::<bf16>(&mut group, name, &plan, layouts);
            }
            let (len, out) = (n * ch * h * width, n * ch * oh * ow);
            floor::<f32>(&mut group, len, out, pool.as_ref());
            floor::<u16>(&mut group, len, out, pool.as_ref());
            group.finish();
        }
    }
    set_num_threads(0).unwrap();
}

criterion_group!(benches, half);
criterion_main!(benches);
