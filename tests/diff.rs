//! Derivatives a user does not write agree with the ones written by hand, on
//! every test problem.
//!
//! Three sources of derivatives are compared at generic points (seeded
//! perturbations of each problem's standard start, away from stationary
//! points where central differences see only their truncation error):
//!
//! - the problem's own derivatives: hand-written for Rosenbrock, quadratics
//!   and logistic regression; dual numbers through the private helper of
//!   `hesse::problems` for the Moré-Garbow-Hillstrom set;
//! - `hesse::diff`'s dual-number adapters over a function written once,
//!   generic over the number type: exact, so they must agree with the
//!   problem's own derivatives to rounding (stated below per check);
//! - `hesse::diff`'s central differences (through the derivative checker,
//!   whose relative-error measure is documented in `hesse::diff::check`):
//!   gradients and Jacobians to 1e-6, Hessians and Hessian-vector products
//!   (differences of the gradient) to 1e-5.

use approx::assert_relative_eq;
use hesse::diff::{
    DualObjective, DualResiduals, DualWork, FdWork, Real, ScalarFn, Scheme, VectorFn,
    check_gradient, check_hess_vec, check_hessian, check_jacobian, dual_gradient, dual_hess_vec,
    dual_hessian, fd_gradient,
};
use hesse::problem::{Gradient, HessVec, Hessian, Objective, Residuals};
use hesse::problems::mgh::{self, Mgh, MghProblem};
use hesse::problems::{ExtendedRosenbrock, LogisticRegression, Quadratic, Rosenbrock};
use nalgebra::DMatrix;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Bounds on the derivative checker's relative error for central
/// differences.
#[derive(Clone, Copy)]
struct Tolerances {
    /// Gradients and Jacobians (differences of f or r).
    first: f64,
    /// Hessians and Hv (differences of the gradient).
    second: f64,
}

impl Tolerances {
    /// What every problem meets but one (measured worst over the 35 MGH
    /// problems: 6.5e-8 for g, 6.3e-7 for J, 1.1e-7 for H, 1.4e-7 for Hv).
    const STATED: Tolerances = Tolerances {
        first: 1e-6,
        second: 1e-5,
    };
}
const FD_FIRST: f64 = Tolerances::STATED.first;
/// Dual numbers against the problem's own exact derivatives: bound on
/// `‖a − b‖∞ / max(‖a‖∞, 1)` (different evaluation orders, same maths).
const EXACT: f64 = 1e-11;

/// `x0 + 0.1 · max(1, |x0ᵢ|) · uᵢ`, `u` uniform in [−1, 1], seeded.
fn generic_point(x0: &[f64], seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    x0.iter()
        .map(|&v| v + 0.1 * v.abs().max(1.0) * rng.random_range(-1.0..1.0))
        .collect()
}

fn direction(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    (0..n).map(|_| rng.random_range(-1.0..1.0)).collect()
}

fn max_abs(a: &[f64]) -> f64 {
    a.iter().fold(0.0_f64, |m, v| m.max(v.abs()))
}

/// `‖a − b‖∞ / max(‖a‖∞, ‖b‖∞, 1)`.
fn exact_gap(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let d = a
        .iter()
        .zip(b)
        .fold(0.0_f64, |m, (x, y)| m.max((x - y).abs()));
    d / max_abs(a).max(max_abs(b)).max(1.0)
}

/// Compares a problem's own gradient, Hessian and Hv with dual numbers over
/// `generic` (the same function written generically) and with central
/// differences, at `x` along `v`.
fn agree_everywhere<P, F>(label: &str, p: &P, generic: &F, x: &[f64], v: &[f64], tol: Tolerances)
where
    P: Hessian + HessVec,
    F: ScalarFn,
{
    let n = p.dim();
    let mut work = DualWork::default();

    // Exact against exact.
    let mut g = vec![0.0; n];
    let f = p.value_grad(x, &mut g);
    let mut g_dual = vec![0.0; n];
    let f_dual = dual_gradient(generic, x, &mut g_dual, &mut work).unwrap();
    assert_relative_eq!(f, f_dual, max_relative = 1e-13, epsilon = 1e-300);
    let gap = exact_gap(&g, &g_dual);
    assert!(gap <= EXACT, "{label}: dual gradient off by {gap:e}");

    let mut h = DMatrix::zeros(n, n);
    p.hessian(x, &mut h);
    let mut h_dual = DMatrix::zeros(n, n);
    dual_hessian(generic, x, &mut h_dual, &mut work).unwrap();
    let gap = exact_gap(h.as_slice(), h_dual.as_slice());
    assert!(gap <= EXACT, "{label}: dual Hessian off by {gap:e}");

    let mut hv = vec![0.0; n];
    p.hess_vec(x, v, &mut hv);
    let (mut g2, mut hv_dual) = (vec![0.0; n], vec![0.0; n]);
    dual_hess_vec(generic, x, v, &mut g2, &mut hv_dual, &mut work).unwrap();
    let gap = exact_gap(&hv, &hv_dual);
    assert!(gap <= EXACT, "{label}: dual Hv off by {gap:e}");

    // The DualObjective adapter is the same thing behind the problem traits.
    let adapted = DualObjective::new(generic);
    let mut g3 = vec![0.0; n];
    adapted.value_grad(x, &mut g3);
    assert!(
        exact_gap(&g, &g3) <= EXACT,
        "{label}: DualObjective gradient"
    );

    // Central differences against exact.
    let c = check_gradient(p, x).unwrap();
    assert!(c.passed(tol.first), "{label}: {c}");
    let c = check_hessian(p, x).unwrap();
    assert!(c.passed(tol.second), "{label}: {c}");
    let c = check_hess_vec(p, x, v).unwrap();
    assert!(c.passed(tol.second), "{label}: {c}");
}

/// `f = Σ rᵢ²` of an MGH problem, written through its generic residuals.
struct SumOfSquares<'a>(&'a Mgh);

impl ScalarFn for SumOfSquares<'_> {
    fn dim(&self) -> usize {
        self.0.n()
    }
    fn eval<D: Real>(&self, x: &[D]) -> D {
        let mut r = vec![D::from(0.0); self.0.m()];
        VectorFn::eval(self.0, x, &mut r);
        r.iter().fold(D::from(0.0), |s, &ri| s + ri * ri)
    }
}

#[test]
fn every_mgh_problem_agrees_with_duals_and_differences() {
    let problems = mgh::all();
    assert_eq!(problems.len(), 35);
    for p in &problems {
        let label = format!("MGH {} {}", p.id(), p.name());
        let x = generic_point(&p.start(), p.id() as u64);
        let v = direction(p.n(), p.id() as u64);
        let tol = if p.problem() == MghProblem::BrownBadlyScaled {
            // x ≈ (1e6, 2e-6) and f ≈ 1e12: a central difference in x₂ with
            // h = ε^{1/3} ≈ 6e-6 carries rounding of f·ε/h ≈ 4e1, against
            // a gradient of scale 2e6 (measured 1.8e-4 for g, 9e-6 for H).
            Tolerances {
                first: 1e-3,
                second: 1e-4,
            }
        } else {
            Tolerances::STATED
        };
        agree_everywhere(&label, p, &SumOfSquares(p), &x, &v, tol);

        // Jacobians: the problem's, the public dual adapter's, differences.
        let (m, n) = (p.m(), p.n());
        let mut jac = DMatrix::zeros(m, n);
        p.jacobian(&x, &mut jac);
        let dual = DualResiduals::new(p);
        let mut jac_dual = DMatrix::zeros(m, n);
        dual.jacobian(&x, &mut jac_dual);
        let gap = exact_gap(jac.as_slice(), jac_dual.as_slice());
        assert!(gap <= EXACT, "{label}: dual Jacobian off by {gap:e}");
        let c = check_jacobian(p, &x).unwrap();
        assert!(c.passed(tol.first), "{label}: {c}");
    }
}

/// Rosenbrock's chained form, for any `n`, generic.
struct GenericRosenbrock(usize);

impl ScalarFn for GenericRosenbrock {
    fn dim(&self) -> usize {
        self.0
    }
    fn eval<D: Real>(&self, x: &[D]) -> D {
        x.windows(2).fold(D::from(0.0), |s, w| {
            let a = D::from(1.0) - w[0];
            let b = w[1] - w[0] * w[0];
            s + a * a + b * b * 100.0
        })
    }
}

/// Extended Rosenbrock: independent pairs.
struct GenericExtendedRosenbrock(usize);

impl ScalarFn for GenericExtendedRosenbrock {
    fn dim(&self) -> usize {
        self.0
    }
    fn eval<D: Real>(&self, x: &[D]) -> D {
        x.chunks(2).fold(D::from(0.0), |s, w| {
            let a = D::from(1.0) - w[0];
            let b = (w[1] - w[0] * w[0]) * 10.0;
            s + a * a + b * b
        })
    }
}

/// `½ (x − x*)ᵀ A (x − x*) + f*` from a quadratic's public parts.
struct GenericQuadratic<'a>(&'a Quadratic);

impl ScalarFn for GenericQuadratic<'_> {
    fn dim(&self) -> usize {
        self.0.dim()
    }
    fn eval<D: Real>(&self, x: &[D]) -> D {
        let a = self.0.matrix();
        let xs = self.0.minimizer();
        let d: Vec<D> = x.iter().zip(&xs).map(|(&xi, &si)| xi - si).collect();
        let mut s = D::from(0.0);
        for j in 0..d.len() {
            for i in 0..d.len() {
                s += d[i] * d[j] * a[(i, j)];
            }
        }
        s * 0.5 + self.0.f_star()
    }
}

#[test]
fn rosenbrocks_agree_with_duals_and_differences() {
    for n in [2, 3, 10] {
        let p = Rosenbrock::new(n);
        let x = generic_point(&p.start(), n as u64);
        let v = direction(n, n as u64);
        agree_everywhere(
            &format!("Rosenbrock n={n}"),
            &p,
            &GenericRosenbrock(n),
            &x,
            &v,
            Tolerances::STATED,
        );
    }
    for n in [2, 10, 40] {
        let p = ExtendedRosenbrock::new(n);
        let x = generic_point(&p.start(), n as u64);
        let v = direction(n, n as u64);
        let label = format!("extended Rosenbrock n={n}");
        agree_everywhere(
            &label,
            &p,
            &GenericExtendedRosenbrock(n),
            &x,
            &v,
            Tolerances::STATED,
        );
        // Its residual form too.
        let c = check_jacobian(&p, &x).unwrap();
        assert!(c.passed(FD_FIRST), "{label}: {c}");
    }
}

#[test]
fn quadratics_agree_with_duals_and_differences() {
    for (n, kappa, seed) in [(5, 10.0, 1), (12, 1e4, 2)] {
        let q = Quadratic::with_condition(n, kappa, seed).unwrap();
        let x = generic_point(&q.start(), seed);
        let v = direction(n, seed);
        let label = format!("quadratic n={n} κ={kappa:e}");
        agree_everywhere(
            &label,
            &q,
            &GenericQuadratic(&q),
            &x,
            &v,
            Tolerances::STATED,
        );
    }
    let d = Quadratic::diagonal(6, 1e3).unwrap();
    let x = generic_point(&d.start(), 7);
    agree_everywhere(
        "diagonal quadratic",
        &d,
        &GenericQuadratic(&d),
        &x,
        &direction(6, 7),
        Tolerances::STATED,
    );
}

#[test]
fn logistic_regression_agrees_with_duals_and_differences() {
    // The problem is itself a ScalarFn (generic); its value_grad, Hessian and
    // Hv are written by hand.
    let p = LogisticRegression::breast_cancer();
    let n = Objective::dim(&p);
    let x = generic_point(&vec![0.0; n], 3);
    let v = direction(n, 3);
    agree_everywhere(
        "logistic regression (breast cancer)",
        &p,
        &p,
        &x,
        &v,
        Tolerances::STATED,
    );
}

/// Forward differences have error O(√ε) and central O(ε^{2/3}) (N&W §8.1):
/// on Rosenbrock at a generic point the measured errors fall in those bands,
/// and central beats forward by orders of magnitude.
#[test]
fn forward_and_central_errors_have_their_documented_orders() {
    let p = Rosenbrock::new(2);
    let x = [-1.2, 1.0];
    let mut exact = [0.0; 2];
    p.value_grad(&x, &mut exact);
    let mut work = FdWork::default();
    let mut gf = [0.0; 2];
    let mut gc = [0.0; 2];
    fd_gradient(&p, &x, &mut gf, Scheme::Forward, &mut work).unwrap();
    fd_gradient(&p, &x, &mut gc, Scheme::Central, &mut work).unwrap();
    let rel = |g: &[f64]| exact_gap(g, &exact) * max_abs(&exact).max(1.0) / max_abs(&exact);
    let (ef, ec) = (rel(&gf), rel(&gc));
    assert!(ef > 1e-10 && ef < 1e-6, "forward error {ef:e}");
    assert!(ec < 1e-9, "central error {ec:e}");
    assert!(ec < 1e-2 * ef, "central {ec:e} vs forward {ef:e}");
}

/// A wrong derivative is caught, and the checker names the entry: flipping
/// one Jacobian entry of an MGH problem is found at that entry.
#[test]
fn checker_finds_a_planted_bug_in_every_mgh_jacobian() {
    struct Planted<'a> {
        inner: &'a Mgh,
        row: usize,
        col: usize,
    }
    impl Residuals for Planted<'_> {
        fn num_params(&self) -> usize {
            self.inner.num_params()
        }
        fn num_residuals(&self) -> usize {
            self.inner.num_residuals()
        }
        fn residuals(&self, x: &[f64], r: &mut [f64]) {
            self.inner.residuals(x, r)
        }
        fn jacobian(&self, x: &[f64], j: &mut DMatrix<f64>) {
            self.inner.jacobian(x, j);
            j[(self.row, self.col)] = 2.0 * j[(self.row, self.col)] + 1.0;
        }
    }
    for p in &mgh::all() {
        let x = generic_point(&p.start(), 11 + p.id() as u64);
        let mut jac = DMatrix::zeros(p.m(), p.n());
        p.jacobian(&x, &mut jac);
        // The largest entry, so the bug is far above the floor of the measure.
        let (mut row, mut col) = (0, 0);
        for j in 0..p.n() {
            for i in 0..p.m() {
                if jac[(i, j)].abs() > jac[(row, col)].abs() {
                    (row, col) = (i, j);
                }
            }
        }
        let c = check_jacobian(&Planted { inner: p, row, col }, &x).unwrap();
        assert!(!c.passed(1e-3), "MGH {}: bug not found: {c}", p.name());
        assert_eq!((c.worst.row, c.worst.col), (row, col), "MGH {}", p.name());
    }
}
