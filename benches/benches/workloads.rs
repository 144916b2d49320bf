//! Every backend on every workload, with a memcpy of the same bytes (input + values + indices) in the same group
//! as the floor. Compare ratios within a group: these machines are shared and noisy.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use maxpool::{Backend, Element, Outputs, Plan, Pool};
use maxpool_benches::{input, traffic_bytes, Workload, WORKLOADS};

fn run<T: Element + TryFrom<i16>>(c: &mut Criterion, w: &Workload) {
    let planes = w.planes();
    let [_, _, h, width] = w.shape;
    let x: Vec<T> = input(planes * h * width).collect();
    let mut group = c.benchmark_group(format!("{} {}", w.id, w.what));
    group.sample_size(if x.len() > 1 << 20 { 10 } else { 100 });
    let mut bytes = 0;
    for backend in Backend::CONCRETE {
        let Ok(plan) = Plan::new(backend, &w.params, h, width) else {
            continue;
        };
        let out = planes * plan.geometry().out_plane_len();
        let (mut values, mut indices) = (vec![T::default(); out], vec![0i64; out]);
        bytes = traffic_bytes(size_of::<T>(), x.len(), out);
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_function(BenchmarkId::new(backend.name(), "values+indices"), |b| {
            b.iter(|| {
                plan.forward(
                    black_box(&x),
                    planes,
                    Outputs::new(&mut values).with_indices(&mut indices),
                )
                .unwrap();
            })
        });
    }
    let src = vec![0u8; bytes];
    let mut dst = vec![1u8; bytes];
    group.bench_function(BenchmarkId::new("memcpy", "same bytes"), |b| {
        b.iter(|| dst.copy_from_slice(black_box(&src)))
    });
    group.finish();
}

fn workloads(c: &mut Criterion) {
    for w in &WORKLOADS {
        match w.dtype {
            maxpool::DType::I64 => run::<i64>(c, w),
            _ => run::<f32>(c, w),
        }
    }
}

criterion_group!(benches, workloads);
criterion_main!(benches);
