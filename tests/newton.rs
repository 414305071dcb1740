//! The dense Newton family: line-search Newton (modified Cholesky) and the
//! Moré-Sorensen trust region: quadratic convergence, one-step quadratics,
//! indefinite starts, the hard case, MGH solved counts, bad input.

use hesse::linalg::{SymmetricEigen, dot};
use hesse::newton::{Damping, MoreSorensen, Newton, NewtonTrustRegion, StepKind};
use hesse::problem::{FnGradient, Hessian};
use hesse::problems::Rosenbrock;
use hesse::problems::mgh::{self, Mgh};
use hesse::solver::{Checkpoint, Error, Run, Termination};
use nalgebra::DMatrix;

fn solved(p: &Mgh, f: f64) -> bool {
    let f_star = p.f_star().unwrap();
    f - f_star <= (1e-6 * f_star.abs()).max(1e-10)
}

fn lambda_min(p: &Mgh, x: &[f64]) -> f64 {
    let mut h = DMatrix::zeros(x.len(), x.len());
    p.hessian(x, &mut h);
    SymmetricEigen::new(&h).unwrap().values()[0]
}

/// `e_k = ‖x_k − x*‖` over a run on Rosenbrock from (−1.2, 1), x* = (1, 1).
macro_rules! rosenbrock_errors {
    ($solver:expr) => {{
        let problem = Rosenbrock::new(2);
        let mut run = Run::new($solver.with_gtol(1e-14), &problem, &[-1.2, 1.0]).unwrap();
        let mut errors = vec![2.2];
        while run.step().is_none() {
            let x = &run.state().x;
            errors.push(((x[0] - 1.0).powi(2) + (x[1] - 1.0).powi(2)).sqrt());
        }
        assert!(run.report().converged(), "{:?}", run.report().termination);
        errors
    }};
}

/// Errors square near the solution: `e_{k+1} / e_k²` stays bounded while
/// `e_k → 0` (N&W Thm 3.5 and 4.9), and the last step doubles the digits.
fn assert_quadratic(errors: &[f64]) {
    let tail: Vec<f64> = errors
        .iter()
        .copied()
        .filter(|&e| e < 1e-2 && e > 1e-15)
        .collect();
    assert!(tail.len() >= 3, "{errors:?}");
    for w in tail.windows(2) {
        assert!(w[1] / (w[0] * w[0]) < 1e3, "{errors:?}");
    }
    let last = tail.len() - 1;
    assert!(
        tail[last].log10() < 1.8 * tail[last - 1].log10(),
        "{errors:?}"
    );
}

#[test]
fn newton_family_converges_quadratically_on_rosenbrock() {
    assert_quadratic(&rosenbrock_errors!(Newton::default()));
    assert_quadratic(&rosenbrock_errors!(
        Newton::default().with_damping(Damping::Regularized)
    ));
    assert_quadratic(&rosenbrock_errors!(NewtonTrustRegion::default()));
}

#[test]
fn one_step_solves_a_convex_quadratic() {
    // f = ½ xᵀAx − bᵀx, A = [[4, 1, 0], [1, 3, 1], [0, 1, 2]], b = (1, 2, 3).
    let a = DMatrix::from_row_slice(3, 3, &[4.0, 1.0, 0.0, 1.0, 3.0, 1.0, 0.0, 1.0, 2.0]);
    let b = [1.0, 2.0, 3.0];
    let (a1, a2) = (a.clone(), a.clone());
    let p = FnGradient::new(3, move |x: &[f64], g: &mut [f64]| {
        let ax = &a1 * nalgebra::DVector::from_column_slice(x);
        for i in 0..3 {
            g[i] = ax[i] - b[i];
        }
        0.5 * dot(x, ax.as_slice()) - dot(&b, x)
    })
    .with_hessian(move |_: &[f64], h: &mut DMatrix<f64>| h.copy_from(&a2));
    let x_star = a
        .clone()
        .lu()
        .solve(&nalgebra::DVector::from_column_slice(&b))
        .unwrap();
    let x0 = [10.0, -10.0, 5.0];
    let newton = Newton::default()
        .with_gtol(1e-12)
        .minimize(&p, &x0)
        .unwrap();
    // A radius larger than the Newton step: the first step is interior.
    let tr = NewtonTrustRegion::default()
        .with_initial_radius(100.0)
        .with_gtol(1e-12)
        .minimize(&p, &x0)
        .unwrap();
    let regularized = Newton::default()
        .with_damping(Damping::Regularized)
        .with_gtol(1e-12)
        .minimize(&p, &x0)
        .unwrap();
    for r in [newton, tr, regularized] {
        assert!(r.converged(), "{}: {:?}", r.method, r.termination);
        assert_eq!(r.iterations, 1, "{}", r.method);
        assert_eq!(r.evals.h, 1, "{}", r.method);
        for i in 0..3 {
            assert!(
                (r.x[i] - x_star[i]).abs() < 1e-13,
                "{}: {:?}",
                r.method,
                r.x
            );
        }
    }
}

/// MGH problems whose Hessian is indefinite at the start and that the trust
/// region solves (measured with `examples/mgh_newton.rs`), as (id, scale).
const INDEFINITE_STARTS: [(usize, f64); 16] = [
    (3, 1.0),
    (5, 1.0),
    (7, 1.0),
    (10, 1.0),
    (11, 1.0),
    (12, 1.0),
    (15, 1.0),
    (17, 1.0),
    (19, 1.0),
    (35, 1.0),
    (4, 10.0),
    (5, 10.0),
    (9, 10.0),
    (12, 10.0),
    (15, 10.0),
    (18, 10.0),
];

#[test]
fn trust_region_solves_mgh_problems_with_indefinite_start_hessians() {
    let tr = NewtonTrustRegion::default();
    let newton = Newton::default();
    let mut newton_solved = 0;
    for (id, scale) in INDEFINITE_STARTS {
        let p = Mgh::from_id(id).unwrap();
        let x0 = p.start_scaled(scale);
        assert!(lambda_min(&p, &x0) < 0.0, "{} at {scale}x", p.name());
        let r = tr.minimize(&p, &x0).unwrap();
        assert!(
            solved(&p, r.f),
            "{} at {scale}x: f = {}, {:?}",
            p.name(),
            r.f,
            r.termination
        );
        let rn = newton.minimize(&p, &x0).unwrap();
        newton_solved += solved(&p, rn.f) as usize;
    }
    // The line-search Newton (modified Cholesky) solves only some of them:
    // Beale, Gaussian, Box, Kowalik-Osborne at 10x and Meyer, Osborne 2 at 1x fail.
    assert!(newton_solved <= 10, "{newton_solved}");
}

/// `f = x₀⁴/4 − x₀²/2 + x₁²/2 + x₁`: minima at `(±1, −1)` (f = −3/4), a saddle
/// at `(0, −1)`. On the line `x₀ = 0` the gradient has no `x₀` component and
/// the Hessian `diag(3x₀² − 1, 1)` has `λ₁ = −1` along `e₀`: `g ⟂ v₁`.
fn hard_case_problem() -> impl Hessian {
    FnGradient::new(2, |x: &[f64], g: &mut [f64]| {
        g[0] = x[0].powi(3) - x[0];
        g[1] = x[1] + 1.0;
        0.25 * x[0].powi(4) - 0.5 * x[0] * x[0] + 0.5 * x[1] * x[1] + x[1]
    })
    .with_hessian(|x: &[f64], h: &mut DMatrix<f64>| {
        h.copy_from_slice(&[3.0 * x[0] * x[0] - 1.0, 0.0, 0.0, 1.0]);
    })
}

#[test]
fn hard_case_leaves_the_saddle_line() {
    let p = hard_case_problem();
    let x0 = [0.0, 0.5];
    let solver = NewtonTrustRegion::default().with_gtol(1e-10);
    let mut run = Run::new(solver, &p, &x0).unwrap();
    while run.step().is_none() {}
    let r = run.report();
    assert!(r.converged(), "{:?}", r.termination);
    assert!((r.x[0].abs() - 1.0).abs() < 1e-9, "{:?}", r.x);
    assert!((r.f + 0.75).abs() < 1e-14, "{}", r.f);
    assert!(run.solver().hard_cases() >= 1);
    // Newton with a modified Hessian solves (H + τI)p = −g, whose x₀
    // component is 0: it converges to the saddle.
    let rn = Newton::default().minimize(&p, &x0).unwrap();
    assert_eq!(rn.x[0], 0.0);
    assert!((rn.f + 0.5).abs() < 1e-14, "{}", rn.f);
}

#[test]
fn hard_case_subproblem_matches_the_exact_solution() {
    // H = diag(−1, 2, 3), g = (0, 1, 1) ⟂ e₀; Δ = 1. λ* = 1, p(1) = −(0, ⅓, ¼),
    // p* = p(1) ± √(1 − ‖p(1)‖²) e₀, m* = gᵀp* + ½ p*ᵀHp*.
    let h = DMatrix::from_diagonal(&nalgebra::DVector::from_vec(vec![-1.0, 2.0, 3.0]));
    let g = [0.0, 1.0, 1.0];
    let mut p = [0.0; 3];
    let info = MoreSorensen::default().solve(&h, &g, 1.0, &mut p).unwrap();
    assert_eq!(info.kind, StepKind::HardCase);
    let pn2: f64 = p.iter().map(|v| v * v).sum();
    assert!((pn2 - 1.0).abs() < 1e-12, "{p:?}");
    let model =
        |p: &[f64]| dot(&g, p) + 0.5 * (-p[0] * p[0] + 2.0 * p[1] * p[1] + 3.0 * p[2] * p[2]);
    let q = [1.0f64 / 3.0, 0.25];
    let t = (1.0 - q[0] * q[0] - q[1] * q[1]).sqrt();
    let m_star = model(&[t, -q[0], -q[1]]);
    let m = model(&p);
    // MS (3.13) with σ = 0.2: m(p) ≤ (1 − σ)² m*; in fact much closer.
    assert!(
        m <= 0.64 * m_star && m >= m_star - 1e-12,
        "m {m}, m* {m_star}"
    );
    // λ ≥ −λ₁ = 1 (H + λI was factored), one factorization sufficed.
    assert!(info.lambda >= 1.0 && info.factorizations == 1, "{info:?}");
}

/// Solved counts and Hessian evaluations at the 1×, 10×, 100× starts.
fn mgh_counts(run: impl Fn(&Mgh, &[f64]) -> hesse::solver::Report) -> [(usize, u64); 3] {
    let mut got = [(0usize, 0u64); 3];
    for p in mgh::all() {
        for (k, s) in [1.0, 10.0, 100.0].into_iter().enumerate() {
            let r = run(&p, &p.start_scaled(s));
            got[k].0 += solved(&p, r.f) as usize;
            got[k].1 += r.evals.h;
        }
    }
    got
}

/// Counts measured at the commit that added them; Hessian totals may grow 20%.
fn check_counts(got: [(usize, u64); 3], want: [(usize, u64); 3]) {
    for k in 0..3 {
        assert!(got[k].0 >= want[k].0, "{got:?} vs {want:?}");
        assert!(got[k].1 <= want[k].1 * 6 / 5, "{got:?} vs {want:?}");
    }
}

#[test]
fn mgh_solved_counts_newton_trust_region() {
    // `cargo run --release --example mgh_newton` prints the table. Reference:
    // scipy's trust-exact reaches f* on 30, 27, 24 (of a 32-problem harness).
    let tr = NewtonTrustRegion::default();
    let got = mgh_counts(|p, x0| tr.minimize(p, x0).unwrap());
    check_counts(got, [(32, 1869), (29, 3495), (27, 3808)]);
}

#[test]
fn mgh_solved_counts_damped_newton() {
    let newton = Newton::default();
    check_counts(
        mgh_counts(|p, x0| newton.minimize(p, x0).unwrap()),
        [(30, 2734), (25, 6930), (23, 9889)],
    );
    let regularized = Newton::default().with_damping(Damping::Regularized);
    check_counts(
        mgh_counts(|p, x0| regularized.minimize(p, x0).unwrap()),
        [(30, 3734), (29, 4199), (21, 8053)],
    );
}

/// A run checkpointed after 5 iterations, serialized to JSON and resumed,
/// ends on the same bits as an uninterrupted run (the radius `Δ_k` and the
/// regularization `μ_k` are part of the checkpoint).
#[test]
fn checkpoint_resumes_bit_identically() {
    let p = Mgh::from_id(7).unwrap(); // helical valley: indefinite start
    let x0 = p.start_scaled(10.0);
    let tr = NewtonTrustRegion::default();
    let straight = tr.minimize(&p, &x0).unwrap();
    let mut run = Run::new(tr.clone(), &p, &x0).unwrap();
    for _ in 0..5 {
        run.step();
    }
    let json = serde_json::to_string(&run.checkpoint()).unwrap();
    let back: Checkpoint<NewtonTrustRegion> = serde_json::from_str(&json).unwrap();
    let resumed = Run::resume(back, &p).unwrap().finish();
    assert_eq!(resumed.evals, straight.evals);
    assert_eq!(resumed.x, straight.x);

    let reg = Newton::default().with_damping(Damping::Regularized);
    let straight = reg.minimize(&p, &x0).unwrap();
    let mut run = Run::new(reg.clone(), &p, &x0).unwrap();
    for _ in 0..5 {
        run.step();
    }
    let json = serde_json::to_string(&run.checkpoint()).unwrap();
    let back: Checkpoint<Newton> = serde_json::from_str(&json).unwrap();
    let resumed = Run::resume(back, &p).unwrap().finish();
    assert_eq!(resumed.evals, straight.evals);
    assert_eq!(resumed.x, straight.x);
}

#[test]
fn bad_input_is_a_typed_error_or_termination() {
    let p = Rosenbrock::new(2);
    let tr = NewtonTrustRegion::default();
    assert!(matches!(
        tr.minimize(&p, &[1.0]),
        Err(Error::DimensionMismatch {
            got: 1,
            expected: 2,
            ..
        })
    ));
    assert!(matches!(
        tr.minimize(&p, &[f64::NAN, 1.0]),
        Err(Error::NonFiniteStart { index: 0, .. })
    ));
    for bad in [
        NewtonTrustRegion::default().with_initial_radius(0.0),
        NewtonTrustRegion::default().with_initial_radius(f64::NAN),
        NewtonTrustRegion::default().with_max_radius(0.5),
        NewtonTrustRegion::default().with_eta(0.5),
    ] {
        assert!(
            matches!(
                bad.minimize(&p, &[0.0, 0.0]),
                Err(Error::InvalidOption { .. })
            ),
            "{bad:?}"
        );
    }
    // A NaN Hessian ends the run at the last good iterate.
    let nan_hessian = FnGradient::new(1, |x: &[f64], g: &mut [f64]| {
        g[0] = 2.0 * x[0];
        x[0] * x[0]
    })
    .with_hessian(|_: &[f64], h: &mut DMatrix<f64>| h[(0, 0)] = f64::NAN);
    for r in [
        tr.minimize(&nan_hessian, &[3.0]).unwrap(),
        Newton::default().minimize(&nan_hessian, &[3.0]).unwrap(),
    ] {
        assert!(!r.converged());
        assert!(
            matches!(
                r.termination,
                Termination::NonFiniteValue | Termination::LinearAlgebraFailure
            ),
            "{:?}",
            r.termination
        );
        assert_eq!(r.x, vec![3.0]);
    }
    // f = x − ln x is NaN for x ≤ 0; the Newton step from x = 3 is −6. The
    // trust region rejects the NaN trial, shrinks, and still finds x = 1.
    let log_barrier = FnGradient::new(1, |x: &[f64], g: &mut [f64]| {
        g[0] = 1.0 - 1.0 / x[0];
        x[0] - x[0].ln()
    })
    .with_hessian(|x: &[f64], h: &mut DMatrix<f64>| h[(0, 0)] = 1.0 / (x[0] * x[0]));
    let r = NewtonTrustRegion::default()
        .with_initial_radius(10.0)
        .minimize(&log_barrier, &[3.0])
        .unwrap();
    assert!(r.converged(), "{:?}", r.termination);
    assert!((r.x[0] - 1.0).abs() < 1e-8);
}
