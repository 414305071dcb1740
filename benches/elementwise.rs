//! Per-element cost of the vectorized elementwise kernels
//! (`hesse::linalg::elementwise`) against scalar glibc, and of both right
//! after a faer matrix product (issue 17).
//!
//! Groups:
//! - `elementwise/<fn>/{libm, portable, avx2, avx512}`: 4096 elements;
//!   `libm` is a loop of the standard library's `f64` methods (the logistic
//!   and softplus by the overflow-free formulas over them), the others the
//!   kernel on the path named (skipped where the CPU lacks it);
//! - `after_matmul/<fn>/{libm, kernel}`: the same pass timed right after a
//!   96×96×96 faer product (untimed, in each iteration), which leaves the
//!   upper halves of the vector registers dirty. On Intel CPUs with the
//!   AVX-SSE transition penalty the `libm` rows jump by an order of
//!   magnitude (issue 17: `exp` 4.3 → 141 ns); the `kernel` rows must not.
//!
//! Throughput is in elements per second: the per-element cost is its
//! inverse. Run: `cargo bench --bench elementwise`.
//!
//! Measured on AMD EPYC (Zen 4, no transition penalty), 2026-12-06, with the
//! machine shared with four other builds (load average 9-10 on 2 cores, so
//! absolute figures are inflated; compare within a row group); criterion
//! medians, ns per element (`after` = right after a faer product):
//!
//! | | libm | portable | AVX2 | AVX-512 | libm after | kernel after |
//! |---|---|---|---|---|---|---|
//! | exp | 17.4 | 130 | 5.34 | 2.85 | 33.9 | 6.3 |
//! | ln | 12.2 | 56 | 7.49 | 3.90 | 47.7 | 6.9 |
//! | ln_1p | 19.5 | 60 | 5.91 | 4.19 | 72.0 | 7.7 |
//! | tanh | 35.8 | 169 | 12.0 | 5.76 | 127 | 8.5 |
//! | logistic | 23.7 | 133 | 8.29 | 4.55 | 34.0 | 6.4 |
//! | softplus | 35.8 | 198 | 21.5 | 12.3 (10.5) | 69.3 (88.6) | 9.5 |
//!
//! (The softplus row's figures in parentheses are from a second run.)
//! The kernels (AVX-512, the path chosen on this CPU) run 3-6x the scalar
//! glibc rate. Even on this AMD CPU, scalar glibc is 1.4-3.6x slower right
//! after a faer product (the kernel 1.5-2x, partly cache: the product's
//! operands evict the pass's); the Intel cliff of issue 17 is 33x.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use faer::{Accum, Mat, Par};
use hesse::linalg::elementwise::{self, Function, Path};

const N: usize = 4096;

/// Inputs spread over the range where `f` varies.
fn inputs(f: Function) -> Vec<f64> {
    let (lo, hi) = match f {
        Function::Exp => (-20.0, 20.0),
        Function::Ln => (1e-3, 1e3),
        Function::Ln1p => (-0.9, 10.0),
        Function::Tanh | Function::Logistic | Function::Softplus => (-8.0, 8.0),
    };
    (0..N)
        .map(|i| lo + (hi - lo) * ((i as f64 * 0.618_033_988_749_895) % 1.0))
        .collect()
}

/// The scalar glibc loop.
fn libm(f: Function, x: &[f64], out: &mut [f64]) {
    let g: fn(f64) -> f64 = match f {
        Function::Exp => f64::exp,
        Function::Ln => f64::ln,
        Function::Ln1p => f64::ln_1p,
        Function::Tanh => f64::tanh,
        Function::Logistic => |y| {
            if y >= 0.0 {
                1.0 / (1.0 + (-y).exp())
            } else {
                let e = y.exp();
                e / (1.0 + e)
            }
        },
        Function::Softplus => |y| y.max(0.0) + (-y.abs()).exp().ln_1p(),
    };
    for (o, &xi) in out.iter_mut().zip(x) {
        *o = g(xi);
    }
}

fn kernels(c: &mut Criterion) {
    let mut group = c.benchmark_group("elementwise");
    group.throughput(Throughput::Elements(N as u64));
    group.measurement_time(Duration::from_secs(2));
    group.warm_up_time(Duration::from_millis(500));
    for f in Function::ALL {
        let x = inputs(f);
        let mut out = vec![0.0; N];
        group.bench_function(BenchmarkId::new(f.name(), "libm"), |b| {
            b.iter(|| libm(f, black_box(&x), &mut out))
        });
        for (path, name) in [
            (Path::Portable, "portable"),
            (Path::Avx2, "avx2"),
            (Path::Avx512, "avx512"),
        ] {
            if !path.available() {
                continue;
            }
            group.bench_function(BenchmarkId::new(f.name(), name), |b| {
                b.iter(|| elementwise::apply_on(path, f, black_box(&x), &mut out).unwrap())
            });
        }
    }
    group.finish();
}

fn after_matmul(c: &mut Criterion) {
    let a = Mat::<f64>::from_fn(96, 96, |i, j| ((i * 7 + j * 3) % 11) as f64 * 0.1);
    let mut prod = Mat::<f64>::zeros(96, 96);
    let mut group = c.benchmark_group("after_matmul");
    group.throughput(Throughput::Elements(N as u64));
    group.measurement_time(Duration::from_secs(2));
    group.warm_up_time(Duration::from_millis(500));
    for f in Function::ALL {
        let x = inputs(f);
        let mut out = vec![0.0; N];
        for name in ["libm", "kernel"] {
            group.bench_function(BenchmarkId::new(f.name(), name), |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        faer::linalg::matmul::matmul(
                            prod.as_mut(),
                            Accum::Replace,
                            a.as_ref(),
                            a.as_ref(),
                            1.0,
                            Par::Seq,
                        );
                        black_box(&prod);
                        let t = Instant::now();
                        if name == "libm" {
                            libm(f, black_box(&x), &mut out);
                        } else {
                            elementwise::apply(f, black_box(&x), &mut out);
                        }
                        total += t.elapsed();
                    }
                    total
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, kernels, after_matmul);
criterion_main!(benches);
