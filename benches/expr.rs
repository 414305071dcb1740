//! Cost of evaluating compiled expressions: value, value_grad (reverse mode),
//! hess_vec (forward-over-reverse) and dense Hessian, on a 50-variable
//! expression of about 5,000 characters, against the hand-written extended
//! Rosenbrock as a baseline.
//!
//! Run: `cargo bench --bench expr`. The target the tape is built for: 20,000
//! quasi-Newton iterations in about a second on such an expression, i.e. a
//! `value_grad` in a few µs.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use hesse::expr::{Expr, ExprProblem};
use hesse::problem::{Gradient, HessVec, Hessian, Objective};
use hesse::problems::ExtendedRosenbrock;
use nalgebra::DMatrix;

const N: usize = 50;

/// Extended Rosenbrock (MGH 21) in `n` variables `x1..xn`, as text.
fn ext_rosenbrock(n: usize) -> String {
    (0..n / 2)
        .map(|i| {
            let (a, b) = (2 * i + 1, 2 * i + 2);
            format!("100*(x{b} - x{a}^2)^2 + (1 - x{a})^2")
        })
        .collect::<Vec<_>>()
        .join(" + ")
}

/// A sum of squares in the style of the MGH set, about 5,000 characters:
/// extended Rosenbrock (MGH 21), Broyden tridiagonal (MGH 30) and a smooth
/// trigonometric/exponential coupling of neighbours.
fn mgh_like(n: usize) -> String {
    let x = |i: usize| format!("x{}", i.clamp(1, n));
    let mut terms = vec![ext_rosenbrock(n)];
    for i in 1..=n {
        // Broyden tridiagonal: ((3 − 2 x_i) x_i − x_{i−1} − 2 x_{i+1} + 1)².
        let prev = if i > 1 {
            format!(" - {}", x(i - 1))
        } else {
            String::new()
        };
        let next = if i < n {
            format!(" - 2*{}", x(i + 1))
        } else {
            String::new()
        };
        terms.push(format!("((3 - 2*{xi})*{xi}{prev}{next} + 1)^2", xi = x(i)));
    }
    for i in 1..n {
        terms.push(format!(
            "0.1*(exp({a}/10) - cos({a}*{b}) + sin({b})/5)^2",
            a = x(i),
            b = x(i + 1)
        ));
    }
    terms.join(" + ")
}

fn setup(src: &str) -> (ExprProblem, Vec<f64>) {
    let e = Expr::parse(src).expect("the bench expression parses");
    let mut names: Vec<String> = (1..=N).map(|i| format!("x{i}")).collect();
    names.retain(|n| e.variables().contains(n));
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let p = ExprProblem::new(&e, &names).expect("every variable is bound");
    let x: Vec<f64> = (0..names.len())
        .map(|i| if i % 2 == 0 { -1.2 } else { 1.0 })
        .collect();
    (p, x)
}

fn bench(c: &mut Criterion) {
    let big = mgh_like(N);
    let rosen = ext_rosenbrock(N);
    let (p_big, x) = setup(&big);
    let (p_rosen, _) = setup(&rosen);
    eprintln!(
        "mgh_like: {} chars, {} variables, {} tape operations; ext_rosenbrock: {} chars, {} operations",
        big.len(),
        p_big.dim(),
        p_big.tape().len(),
        rosen.len(),
        p_rosen.tape().len()
    );
    let hand = ExtendedRosenbrock::new(N);
    let v: Vec<f64> = (0..N).map(|i| ((i as f64) * 0.37).sin()).collect();
    let mut g = vec![0.0; N];
    let mut hv = vec![0.0; N];
    let mut h = DMatrix::zeros(N, N);

    let mut group = c.benchmark_group("expr_mgh_like_50");
    group.bench_function("parse_compile", |b| {
        b.iter(|| setup(black_box(&big)).0.tape().len())
    });
    group.bench_function("value", |b| b.iter(|| p_big.value(black_box(&x))));
    group.bench_function("value_grad", |b| {
        b.iter(|| p_big.value_grad(black_box(&x), &mut g))
    });
    group.bench_function("hess_vec", |b| {
        b.iter(|| p_big.hess_vec(black_box(&x), &v, &mut hv))
    });
    group.bench_function("hessian", |b| {
        b.iter(|| p_big.hessian(black_box(&x), &mut h))
    });
    group.finish();

    let mut group = c.benchmark_group("ext_rosenbrock_50");
    group.bench_function("expr_value_grad", |b| {
        b.iter(|| p_rosen.value_grad(black_box(&x), &mut g))
    });
    group.bench_function("hand_value_grad", |b| {
        b.iter(|| hand.value_grad(black_box(&x), &mut g))
    });
    group.bench_function("expr_hess_vec", |b| {
        b.iter(|| p_rosen.hess_vec(black_box(&x), &v, &mut hv))
    });
    group.bench_function("hand_hess_vec", |b| {
        b.iter(|| hand.hess_vec(black_box(&x), &v, &mut hv))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
