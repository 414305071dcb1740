//! Cost of one update `θ ← θ + Δθ(g)` of each first-order optimizer, per
//! parameter, at n = 10⁵ (state and parameters in cache-sized chunks of the
//! L2/L3, so this is the arithmetic plus streaming the state vectors), and
//! the ratio to plain SGD measured in the same run.
//!
//! Run: `cargo bench --bench first_order`.
//!
//! What to expect: SGD reads θ, g and writes θ (3 streams); momentum adds v
//! (5 streams); Adam reads and writes s, r and θ and takes a square root and
//! a division per coordinate. Ratios to SGD say how much the rule costs over
//! the memory traffic every rule pays.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hesse::first_order::{
    AdaDelta, AdaGrad, Adam, DeltaBarDelta, Momentum, Nesterov, Optimizer, RmsProp,
    RmsPropNesterov, Sgd,
};

const N: usize = 100_000;

fn bench_one<O: Optimizer>(
    c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    mut opt: O,
) {
    // A gradient with both signs and a spread of sizes; tiny steps keep θ finite.
    let grad: Vec<f64> = (0..N)
        .map(|i| ((i * 7919) % 1000) as f64 / 500.0 - 1.0)
        .collect();
    let mut theta = vec![0.5; N];
    opt.step(&mut theta, &grad); // size the state outside the timing
    let name = opt.name();
    c.bench_function(name, |b| {
        b.iter(|| {
            opt.step(black_box(&mut theta), black_box(&grad));
        })
    });
}

fn optimizers(c: &mut Criterion) {
    let mut g = c.benchmark_group("optimizer_step_n1e5");
    g.throughput(Throughput::Elements(N as u64));
    g.measurement_time(Duration::from_secs(2));
    g.warm_up_time(Duration::from_millis(500));
    bench_one(&mut g, Sgd::new(1e-9));
    bench_one(&mut g, Momentum::new(1e-9, 0.9));
    bench_one(&mut g, Nesterov::new(1e-9, 0.9));
    bench_one(&mut g, AdaGrad::new(1e-9));
    bench_one(&mut g, RmsProp::new(1e-9, 0.9));
    bench_one(&mut g, RmsPropNesterov::new(1e-9, 0.9, 0.9));
    bench_one(&mut g, Adam::new(1e-9));
    bench_one(&mut g, AdaDelta::default().with_lr(1e-9));
    bench_one(&mut g, DeltaBarDelta::new(1e-9).with_kappa(0.0));
    g.finish();
}

criterion_group!(benches, optimizers);
criterion_main!(benches);
