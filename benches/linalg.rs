//! Benches for `hesse::linalg`.
//!
//! - `cholesky/faer/{n}`: faer's in-place LLᵀ plus one solve on a fresh copy
//!   (the copy is made outside the timed region), n = 500, 1000, 2000;
//!   throughput is reported in elements/s with n³/3 elements, i.e. GFLOP/s.
//! - `cholesky/hesse/{n}`: our `Cholesky::factor` (which copies the lower
//!   triangle into its workspace) plus `solve_mut`: the ratio to the line above
//!   is the wrapper's overhead (the Newton issue requires a Newton step to cost
//!   ≤ 1.2× the Cholesky it contains at n = 2000).
//! - `modified_cholesky/indefinite/{n}`: N&W Alg. 3.3 on a matrix with
//!   λ_min = −1; the number of factorizations it needs is printed once.
//! - `cg_iteration/{tridiagonal,diagonal}/1000000`: 50 CG steps (rtol = 0)
//!   at n = 10⁶; throughput in CG steps/s.
//!
//! Run: `cargo bench --bench linalg` (faer's global parallelism: all cores).

use std::hint::black_box;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::cholesky::llt;
use hesse::linalg::{Cholesky, ConjugateGradient, Diagonal, FnOperator, ModifiedCholesky};
use nalgebra::DMatrix;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A well-conditioned SPD matrix: `BᵀB/n + I` would cost an n³ product to
/// build; a diagonally dominant random symmetric matrix is as good for timing.
fn spd(n: usize, seed: u64) -> DMatrix<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut a = DMatrix::from_fn(n, n, |_, _| rng.random_range(-1.0..1.0));
    a = (&a + a.transpose()) * 0.5;
    for i in 0..n {
        a[(i, i)] += n as f64;
    }
    a
}

fn bench_cholesky(c: &mut Criterion) {
    let mut group = c.benchmark_group("cholesky");
    group.sample_size(10);
    for &n in &[500usize, 1000, 2000] {
        let a = spd(n, n as u64);
        let b: Vec<f64> = (0..n).map(|i| (i % 7) as f64 - 3.0).collect();
        group.throughput(Throughput::Elements((n * n * n / 3) as u64));

        let par = faer::get_global_parallelism();
        let mut mem = MemBuffer::new(llt::factor::cholesky_in_place_scratch::<f64>(
            n,
            par,
            Default::default(),
        ));
        group.bench_with_input(BenchmarkId::new("faer", n), &n, |bench, &n| {
            bench.iter_batched(
                || (a.clone(), b.clone()),
                |(mut m, mut x)| {
                    let view = faer::MatMut::from_column_major_slice_mut(m.as_mut_slice(), n, n);
                    llt::factor::cholesky_in_place(
                        view,
                        Default::default(),
                        par,
                        MemStack::new(&mut mem),
                        Default::default(),
                    )
                    .unwrap();
                    let l = faer::MatRef::from_column_major_slice(m.as_slice(), n, n);
                    llt::solve::solve_in_place(
                        l,
                        faer::MatMut::from_column_major_slice_mut(&mut x, n, 1),
                        par,
                        MemStack::new(&mut []),
                    );
                    black_box(x)
                },
                BatchSize::LargeInput,
            )
        });

        let mut chol = Cholesky::with_dim(n);
        group.bench_with_input(BenchmarkId::new("hesse", n), &n, |bench, _| {
            bench.iter_batched(
                || b.clone(),
                |mut x| {
                    chol.factor(&a).unwrap();
                    chol.solve_mut(&mut x).unwrap();
                    black_box(x)
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

fn bench_modified_cholesky(c: &mut Criterion) {
    let mut group = c.benchmark_group("modified_cholesky");
    group.sample_size(10);
    for &n in &[500usize, 1000] {
        // Shift a random symmetric matrix so that λ_min = −1 (estimated by Gershgorin
        // on the unshifted part would be loose: use the dense eigenvalues once).
        let mut a = spd(n, 7 + n as u64);
        for i in 0..n {
            a[(i, i)] -= n as f64;
        }
        let lambda_min = hesse::linalg::SymmetricEigen::new(&a).unwrap().values()[0];
        for i in 0..n {
            a[(i, i)] -= lambda_min + 1.0;
        }
        let mut mc = ModifiedCholesky::with_dim(n);
        let info = mc.factor(&a).unwrap();
        println!(
            "modified_cholesky n = {n}: λ_min = −1, τ = {:.4}, {} factorizations",
            info.tau, info.factorizations
        );
        group.throughput(Throughput::Elements((n * n * n / 3) as u64));
        group.bench_with_input(BenchmarkId::new("indefinite", n), &n, |bench, _| {
            bench.iter(|| black_box(mc.factor(&a).unwrap()))
        });
    }
    group.finish();
}

fn bench_cg(c: &mut Criterion) {
    let mut group = c.benchmark_group("cg_iteration");
    group.sample_size(10);
    let n = 1_000_000;
    let steps = 50;
    let b: Vec<f64> = (0..n).map(|i| ((i % 13) as f64 - 6.0) / 6.0).collect();
    let mut cg = ConjugateGradient::new()
        .with_rtol(0.0)
        .unwrap()
        .with_max_iter(steps);
    group.throughput(Throughput::Elements(steps as u64));

    // tridiag(−1, 2.5, −1): SPD, κ ≈ 9, no convergence to rtol = 0 in 50 steps.
    let tri = FnOperator::symmetric(n, |v: &[f64], out: &mut [f64]| {
        let n = v.len();
        out[0] = 2.5 * v[0] - v[1];
        for i in 1..n - 1 {
            out[i] = 2.5 * v[i] - v[i - 1] - v[i + 1];
        }
        out[n - 1] = 2.5 * v[n - 1] - v[n - 2];
    });
    let mut x = vec![0.0; n];
    group.bench_function(BenchmarkId::new("tridiagonal", n), |bench| {
        bench.iter(|| {
            x.fill(0.0);
            black_box(cg.solve(&tri, &b, &mut x, None).unwrap())
        })
    });

    let diag = Diagonal::new((0..n).map(|i| 1.0 + (i % 100) as f64).collect::<Vec<_>>());
    group.bench_function(BenchmarkId::new("diagonal", n), |bench| {
        bench.iter(|| {
            x.fill(0.0);
            black_box(cg.solve(&diag, &b, &mut x, None).unwrap())
        })
    });
    group.finish();
}

criterion_group!(benches, bench_cholesky, bench_modified_cholesky, bench_cg);
criterion_main!(benches);
