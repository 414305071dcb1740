//! Newton's method on the 35 Moré-Garbow-Hillstrom problems (sum-of-squares
//! form, exact Hessians by dual numbers) from the 1×, 10× and 100× starts:
//! [`NewtonTrustRegion`] (Moré-Sorensen subproblem), the line-search
//! [`Newton`] (modified Cholesky) and `Newton` with a regularized Hessian
//! ([`Damping::Regularized`]), per-problem rows and totals.
//!
//! Solved means `f − f* ≤ max(1e-6·|f*|, 1e-10)` with [`Mgh::f_star`]. The
//! reference: scipy's `trust-exact` with a tight tolerance reaches f* on 30,
//! 27 and 24 of a 32-problem harness.
//!
//! Each row also gives `λ_min` of the Hessian at the start (negative: plain
//! Newton's step is not a descent direction there) and the Cholesky
//! factorizations the modified Cholesky needs for it (1 = positive definite).
//!
//! Measured (35 problems, 1×/10×/100×): `NewtonTrustRegion` 32/29/27,
//! line-search `Newton` 30/25/23, `Damping::Regularized` 30/29/21.
//!
//! Run: `cargo run --release --example mgh_newton [MAX_ITER]` (default 1000).

use hesse::linalg::{ModifiedCholesky, SymmetricEigen};
use hesse::newton::{Damping, Newton, NewtonTrustRegion};
use hesse::problem::Hessian;
use hesse::problems::mgh::{self, Mgh};
use hesse::solver::Report;
use nalgebra::DMatrix;

fn solved(p: &Mgh, f: f64) -> bool {
    let f_star = p.f_star().expect("every standard-size problem has f*");
    f - f_star <= (1e-6 * f_star.abs()).max(1e-10)
}

/// λ_min of ∇²f(x0) and the modified-Cholesky factorizations it takes.
fn start_curvature(p: &Mgh, x0: &[f64]) -> (f64, usize) {
    let n = x0.len();
    let mut h = DMatrix::zeros(n, n);
    p.hessian(x0, &mut h);
    let lmin = SymmetricEigen::new(&h).map_or(f64::NAN, |e| e.values()[0]);
    let k = ModifiedCholesky::new(&h).map_or(0, |m| m.info().factorizations);
    (lmin, k)
}

fn table(title: &str, run: &dyn Fn(&Mgh, &[f64]) -> Report) {
    let scales = [1.0, 10.0, 100.0];
    let mut totals = [(0usize, 0u64, 0u64); 3];
    println!("\n{title}");
    println!(
        "{:>2} {:<26} {:>3} | {:<44} | {:<44} | {:<44}",
        "id", "problem", "n", "1x: ok it f H f_final stop lmin(H0) MC", "10x", "100x"
    );
    for p in mgh::all() {
        let name: String = p.name().chars().take(26).collect();
        let mut row = format!("{:>2} {:<26} {:>3}", p.id(), name, p.n());
        for (k, &s) in scales.iter().enumerate() {
            let x0 = p.start_scaled(s);
            let r = run(&p, &x0);
            let ok = solved(&p, r.f);
            if ok {
                totals[k].0 += 1;
            }
            totals[k].1 += r.evals.f;
            totals[k].2 += r.evals.h;
            let (lmin, mc) = start_curvature(&p, &x0);
            row += &format!(
                " | {} {:>4} {:>4} {:>4} {:>9.3e} {:<5.5} {:>9.2e} {:>2}",
                if ok { "yes" } else { " no" },
                r.iterations,
                r.evals.f,
                r.evals.h,
                r.f,
                r.termination.as_str(),
                lmin,
                mc
            );
        }
        println!("{row}");
    }
    let n = mgh::all().len();
    for (k, s) in scales.iter().enumerate() {
        println!(
            "{s:>5}x: solved {:>2} of {n}, {:>6} f and {:>5} Hessian evaluations",
            totals[k].0, totals[k].1, totals[k].2
        );
    }
}

fn main() {
    let max_iter: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let tr = NewtonTrustRegion::default().with_max_iter(max_iter);
    table(
        &format!("NewtonTrustRegion::default(), max_iter {max_iter}"),
        &|p, x0| tr.minimize(p, x0).unwrap(),
    );
    let newton = Newton::default().with_max_iter(max_iter);
    table(
        &format!("Newton::default() (modified Cholesky + backtracking), max_iter {max_iter}"),
        &|p, x0| newton.minimize(p, x0).unwrap(),
    );
    let regularized = newton.with_damping(Damping::Regularized);
    table(
        &format!("Newton::default().with_damping(Damping::Regularized), max_iter {max_iter}"),
        &|p, x0| regularized.minimize(p, x0).unwrap(),
    );
}
