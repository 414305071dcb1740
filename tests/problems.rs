//! Test problems against their published numbers and their derivatives
//! against each other.
//!
//! - Every MGH problem: `f` at the paper's minimizer equals the paper's `f*`;
//!   where the paper gives `f*` but no minimizer, a Levenberg-Marquardt run
//!   written here (dense, Marquardt scaling, Nielsen's damping update) finds a
//!   stationary point whose `f` agrees with the paper's six digits, and, where
//!   GSL's test suite (`multifit_nlinear/test_*.c`) publishes a minimizer to
//!   more digits, `f` there matches GSL's `f*` to 1e-9.
//! - Derivatives at the start and at a perturbed point: `f = Σ r²`,
//!   `∇f = 2 Jᵀ r`, `∇²f v` equals the dense Hessian times `v`, the Hessian is
//!   symmetric, and `∇f` and `J` match central differences.
//! - Dual against analytic: MGH 1 and 21 against `Rosenbrock`/`ExtendedRosenbrock`.
//! - Quadratics: condition number from the symmetric eigendecomposition.
//! - Logistic regression: `f*` recomputed by Newton's method.

use hesse::problem::{Gradient, HessVec, Hessian, Objective, Residuals};
use hesse::problems::mgh::{self, Mgh, MghProblem};
use hesse::problems::{
    BREAST_CANCER_F_STAR, BREAST_CANCER_LAMBDA, BREAST_CANCER_W_STAR, ExtendedRosenbrock,
    LogisticRegression, ProblemError, Quadratic, Rosenbrock,
};
use nalgebra::{DMatrix, DVector};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Central differences of `f` at `x`, step `h·max(1, |xⱼ|)`.
fn central_diff_grad(f: &dyn Fn(&[f64]) -> f64, x: &[f64], h: f64) -> Vec<f64> {
    let mut xp = x.to_vec();
    (0..x.len())
        .map(|j| {
            let hj = h * x[j].abs().max(1.0);
            xp[j] = x[j] + hj;
            let fp = f(&xp);
            xp[j] = x[j] - hj;
            let fm = f(&xp);
            xp[j] = x[j];
            (fp - fm) / (2.0 * hj)
        })
        .collect()
}

fn residuals(p: &Mgh, x: &[f64]) -> Vec<f64> {
    let mut r = vec![0.0; p.m()];
    p.residuals(x, &mut r);
    r
}

fn jacobian(p: &Mgh, x: &[f64]) -> DMatrix<f64> {
    let mut j = DMatrix::zeros(p.m(), p.n());
    p.jacobian(x, &mut j);
    j
}

fn grad(p: &impl Gradient, x: &[f64]) -> (f64, Vec<f64>) {
    let mut g = vec![0.0; x.len()];
    let f = p.value_grad(x, &mut g);
    (f, g)
}

fn inf_norm(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |a, b| a.max(b.abs()))
}

/// Whether `f` agrees with `published`, a value printed with six significant
/// digits, to within one unit of the sixth digit. The paper's values are
/// truncated, not rounded (Bard 8.2148773e-3 is printed 8.21487e-3, Meyer
/// 87.945855 as 87.9458, Freudenstein and Roth 48.984254 as 48.9842), so a
/// half-unit test would reject correct values.
fn agrees_to_six_digits(f: f64, published: f64) -> bool {
    let unit = 1e-5 * 10f64.powf(published.abs().log10().floor());
    (f - published).abs() < unit
}

/// A stationary point of `Σ rᵢ²` from `x0`: Levenberg-Marquardt with
/// Marquardt's scaling `D = diag(JᵀJ)` (running maximum, as MINPACK) and
/// Nielsen's (1999) damping update. Returns the point, `f` and `‖∇f‖_∞`.
fn levenberg_marquardt(p: &Mgh, x0: &[f64], max_iter: usize) -> (Vec<f64>, f64, f64) {
    let n = p.n();
    let mut x = x0.to_vec();
    let mut r = DVector::from_vec(residuals(p, &x));
    let mut f = r.norm_squared();
    let mut jac = jacobian(p, &x);
    let mut d: DVector<f64> = DVector::from_element(n, 1e-300);
    let mut mu = -1.0;
    let mut nu = 2.0;
    for _ in 0..max_iter {
        let a = jac.tr_mul(&jac);
        let g = jac.tr_mul(&r);
        if g.amax() <= 1e-15 * f.max(1e-300).sqrt().max(1e-30) || f == 0.0 {
            break;
        }
        for j in 0..n {
            d[j] = d[j].max(a[(j, j)]);
        }
        if mu < 0.0 {
            mu = 1e-3;
        }
        let mut damped = a.clone();
        for j in 0..n {
            damped[(j, j)] += mu * d[j];
        }
        let Some(chol) = damped.cholesky() else {
            mu *= nu;
            nu *= 2.0;
            continue;
        };
        let delta = chol.solve(&(-&g));
        if delta.amax() <= 1e-16 * (1.0 + x.iter().fold(0.0f64, |a, b| a.max(b.abs()))) {
            break;
        }
        let x_new: Vec<f64> = x.iter().zip(delta.iter()).map(|(a, b)| a + b).collect();
        let r_new = DVector::from_vec(residuals(p, &x_new));
        let f_new = r_new.norm_squared();
        // |r + Jδ|² = f + 2 δᵀg + δᵀAδ
        let predicted = -(2.0 * delta.dot(&g) + delta.dot(&(&a * &delta)));
        let rho = (f - f_new) / predicted;
        if f_new.is_finite() && rho > 0.0 {
            x = x_new;
            r = r_new;
            f = f_new;
            jac = jacobian(p, &x);
            mu *= (1.0f64 / 3.0).max(1.0 - (2.0 * rho - 1.0).powi(3));
            nu = 2.0;
        } else {
            mu *= nu;
            nu *= 2.0;
        }
    }
    let (_, g) = grad(p, &x);
    (x, f, inf_norm(&g))
}

// ---------------------------------------------------------------------------
// Registry
// ---------------------------------------------------------------------------

#[test]
fn registry_lists_the_35_problems_in_order() {
    let all = mgh::all();
    assert_eq!(all.len(), 35);
    for (k, p) in all.iter().enumerate() {
        assert_eq!(p.id(), k + 1);
        assert_eq!(MghProblem::from_id(k + 1), Some(p.problem()));
        assert_eq!(Mgh::from_id(k + 1), Some(*p));
        assert_eq!(p.start().len(), p.n(), "{}", p.name());
        assert_eq!(p.dim(), p.n());
        assert_eq!((p.num_params(), p.num_residuals()), (p.n(), p.m()));
        assert!(p.m() >= p.n(), "{}: m < n", p.name());
        if let Some(x) = p.minimizer() {
            assert_eq!(x.len(), p.n(), "{}", p.name());
        }
    }
    assert_eq!(MghProblem::from_id(0), None);
    assert_eq!(MghProblem::from_id(36), None);
    let dims: Vec<(usize, usize)> = all.iter().map(|p| (p.n(), p.m())).collect();
    assert_eq!(
        dims,
        [
            (2, 2),
            (2, 2),
            (2, 2),
            (2, 3),
            (2, 3),
            (2, 10),
            (3, 3),
            (3, 15),
            (3, 15),
            (3, 16),
            (3, 99),
            (3, 10),
            (4, 4),
            (4, 6),
            (4, 11),
            (4, 20),
            (5, 33),
            (6, 13),
            (11, 65),
            (6, 31),
            (10, 10),
            (12, 12),
            (4, 5),
            (4, 8),
            (10, 12),
            (10, 10),
            (10, 10),
            (10, 10),
            (10, 10),
            (10, 10),
            (10, 10),
            (5, 10),
            (5, 10),
            (5, 10),
            (8, 8)
        ]
    );
}

#[test]
fn sizes_are_checked() {
    let err = Mgh::with_dims(MghProblem::Watson, 40, 31).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Watson needs 2 ≤ n ≤ 31 and m = 31; got n = 40, m = 31"
    );
    assert!(matches!(
        Mgh::with_n(MghProblem::ExtendedPowellSingular, 6),
        Err(ProblemError::Dimensions { .. })
    ));
    assert!(Mgh::with_dims(MghProblem::Wood, 4, 7).is_err());
    assert!(Mgh::with_dims(MghProblem::Gulf, 3, 101).is_err());
    let g = Mgh::with_dims(MghProblem::Gulf, 3, 10).unwrap();
    assert_eq!(g.f_star(), Some(0.0));
    let c = Mgh::with_n(MghProblem::Chebyquad, 10).unwrap();
    assert_eq!((c.m(), c.f_star()), (10, Some(6.50395e-3)));
    assert_eq!(
        Mgh::with_n(MghProblem::Chebyquad, 9).unwrap().f_star(),
        Some(0.0)
    );
    assert_eq!(
        Mgh::with_n(MghProblem::Chebyquad, 11).unwrap().f_star(),
        None
    );
    assert_eq!(Mgh::with_n(MghProblem::Watson, 7).unwrap().f_star(), None);
    assert_eq!(Mgh::with_n(MghProblem::LinearFullRank, 20).unwrap().m(), 20);
    let j = Mgh::with_dims(MghProblem::JennrichSampson, 2, 12).unwrap();
    assert_eq!(j.f_star(), None);
}

#[test]
fn scaled_starts_follow_the_protocol() {
    for p in mgh::all() {
        let x0 = p.start();
        assert_eq!(p.start_scaled(1.0), x0);
        let x10 = p.start_scaled(10.0);
        if x0.iter().all(|&v| v == 0.0) {
            assert!(x10.iter().all(|&v| v == 10.0), "{}", p.name());
        } else {
            for (a, b) in x10.iter().zip(&x0) {
                assert_eq!(*a, 10.0 * b);
            }
        }
    }
}

/// Objective values at the standard start, computed by hand from the paper's
/// formulas (Rosenbrock 24.2, Wood 19192, Powell singular 215, Helical valley
/// 2500, Beale 38.453125 = 1.5² + 2.25² + 2.625²... at (1, 1) the residuals are
/// the yᵢ themselves).
#[test]
fn values_at_the_start_by_hand() {
    let at_start = |id: usize| {
        let p = Mgh::from_id(id).unwrap();
        p.value(&p.start())
    };
    assert!((at_start(1) - 24.2).abs() < 1e-12);
    assert_eq!(
        at_start(5),
        1.5f64.powi(2) + 2.25f64.powi(2) + 2.625f64.powi(2)
    );
    assert!((at_start(7) - 2500.0).abs() < 1e-9);
    assert!((at_start(13) - 215.0).abs() < 1e-12);
    assert_eq!(at_start(14), 19192.0);
    // Linear full rank at x = 1: fᵢ = 1 − 2n/m − 1 = −1 (i ≤ n), −2n/m − 1 = −2.
    assert!((at_start(32) - (5.0 + 5.0 * 4.0)).abs() < 1e-12);
    // Brown badly scaled at (1, 1): (1 − 10⁶)² + (1 − 2·10⁻⁶)² + 1.
    assert_eq!(
        at_start(4),
        (1.0f64 - 1e6).powi(2) + (1.0f64 - 2e-6).powi(2) + 1.0
    );
}

// ---------------------------------------------------------------------------
// Published minima
// ---------------------------------------------------------------------------

/// `f(x*) = f*` at every minimizer the paper gives. Tolerance: exact zero
/// residuals where `x*` has short binary expansions; 1e-20 for Powell badly
/// scaled (its x* is computed) and rank-1 problems (x* has rounding); 1e-12
/// relative for the linear problems' nonzero f*.
#[test]
fn f_at_the_papers_minimizers_is_f_star() {
    let mut checked = 0;
    for p in mgh::all() {
        let Some(x_star) = p.minimizer() else {
            continue;
        };
        let f_star = p.f_star().expect("a minimizer comes with f*");
        let f = p.value(&x_star);
        let tol = match p.id() {
            3 | 11 | 12 | 18 => 1e-20,
            32..=34 => 1e-12 * f_star,
            _ => 0.0,
        };
        assert!(
            (f - f_star).abs() <= tol,
            "{} (id {}): f(x*) = {f:e}, f* = {f_star:e}",
            p.name(),
            p.id()
        );
        checked += 1;
    }
    assert_eq!(checked, 18);
}

/// The linear problems' f* formulas at other sizes, at their minimizers, and
/// Powell badly scaled's computed minimizer against the paper's digits.
#[test]
fn linear_problems_and_powell_minimizer() {
    for (n, m) in [(3, 3), (5, 50), (10, 20)] {
        for id in 32..=34 {
            let p = Mgh::with_dims(MghProblem::from_id(id).unwrap(), n, m).unwrap();
            let f = p.value(&p.minimizer().unwrap());
            let f_star = p.f_star().unwrap();
            assert!((f - f_star).abs() <= 1e-12 * f_star, "id {id} n {n} m {m}");
            let (_, g) = grad(&p, &p.minimizer().unwrap());
            assert!(inf_norm(&g) < 1e-10, "id {id}: gradient {g:?}");
        }
    }
    let x = Mgh::from_id(3).unwrap().minimizer().unwrap();
    assert!(
        (x[0] - 1.098e-5).abs() < 1e-8 && (x[1] - 9.106).abs() < 1e-3,
        "{x:?}"
    );
}

/// Problems whose f* the paper states without x*: Levenberg-Marquardt from the
/// standard start reaches a stationary point whose f agrees with the paper's
/// six digits (or is below 1e-20 where f* = 0).
#[test]
fn f_star_without_minimizer_by_levenberg_marquardt() {
    let mut cases: Vec<Mgh> = [6, 8, 9, 10, 15, 16, 17, 19, 20, 23, 24, 28, 29, 30, 31, 35]
        .iter()
        .map(|&id| Mgh::from_id(id).unwrap())
        .collect();
    for (problem, n) in [
        (MghProblem::Watson, 9),
        (MghProblem::Watson, 12),
        (MghProblem::PenaltyI, 10),
        (MghProblem::PenaltyII, 10),
        (MghProblem::Chebyquad, 10),
    ] {
        cases.push(Mgh::with_n(problem, n).unwrap());
    }
    for n in [1, 2, 3, 4, 5, 6, 7, 9] {
        cases.push(Mgh::with_n(MghProblem::Chebyquad, n).unwrap());
    }
    let mut failures = Vec::new();
    for p in &cases {
        let f_star = p.f_star().unwrap();
        let (x, f, g_inf) = levenberg_marquardt(p, &p.start(), 2000);
        let ok = if f_star == 0.0 {
            f <= 1e-20
        } else {
            agrees_to_six_digits(f, f_star)
        };
        if !ok {
            failures.push(format!(
                "{} (id {}, n {}): f = {f:.6e}, paper f* = {f_star:e}, |g| = {g_inf:e}, x = {x:?}",
                p.name(),
                p.id(),
                p.n()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Trigonometric (n = 10): from the standard start Levenberg-Marquardt stops
/// at the local minimum f = 2.79506e-5 that later studies report; the paper's
/// f* = 0 is confirmed from a point (4 digits) found by a multistart search
/// with starts uniform in [−0.1, 0.5]¹⁰.
#[test]
fn trigonometric_zero_residual() {
    let p = Mgh::from_id(26).unwrap();
    let (_, f, g) = levenberg_marquardt(&p, &p.start(), 2000);
    assert!(agrees_to_six_digits(f, 2.79506e-5) && g < 1e-9, "f = {f:e}");
    let near_zero = [
        0.0465, 0.0477, 0.0490, 0.0505, 0.0522, 0.0543, 0.2271, 0.0597, 0.0637, 0.1295,
    ];
    let (_, f, _) = levenberg_marquardt(&p, &near_zero, 200);
    assert!(f <= 1e-20, "f = {f:e}");
}

/// GSL's test suite publishes these minimizers and f* to more digits; our
/// residuals give the same f there (to 1e-9 relative: GSL's x* has 16 digits).
// GSL's values are kept with the digits it prints.
#[allow(clippy::excessive_precision)]
#[test]
fn gsl_minimizers_give_gsl_f_star() {
    let cases: [(usize, &[f64], f64); 6] = [
        (
            6,
            &[2.578252139935855e-01, 2.578252133471426e-01],
            1.243621823556148e+02,
        ),
        (
            8,
            &[8.241055975623580e-02, 1.133036092245175, 2.343695178435405],
            8.214877306578963e-03,
        ),
        (
            9,
            &[0.398956137838762825, 1.00001908448786647, 0.0],
            1.12793276961871985e-08,
        ),
        (
            10,
            &[
                5.609636471049458e-03,
                6.181346346283188e+03,
                3.452236346240292e+02,
            ],
            8.794585517053883e+01,
        ),
        (
            15,
            &[
                1.928069345723978e-01,
                1.912823290344599e-01,
                1.230565070690708e-01,
                1.360623308065148e-01,
            ],
            3.075056038492370e-04,
        ),
        (
            20,
            &[
                -1.572508640629858e-02,
                1.012434869366059e+00,
                -2.329916259263380e-01,
                1.260430087686035e+00,
                -1.513728922580576e+00,
                9.929964323646112e-01,
            ],
            2.287670053552372e-03,
        ),
    ];
    for (id, x, gsl_f) in cases {
        let p = Mgh::from_id(id).unwrap();
        let f = p.value(x);
        assert!(
            (f - gsl_f).abs() <= 1e-9 * gsl_f,
            "id {id}: f = {f:e}, GSL {gsl_f:e}"
        );
        assert!(
            agrees_to_six_digits(f, p.f_star().unwrap()),
            "id {id}: f = {f:e}"
        );
    }
    // GSL f* without x*: Osborne 1, Penalty I (n = 10), Penalty II (n = 4),
    // checked at our own Levenberg-Marquardt minimizers.
    for (p, gsl_f) in [
        (Mgh::from_id(17).unwrap(), 5.464894697482687e-05),
        (
            Mgh::with_n(MghProblem::PenaltyI, 10).unwrap(),
            7.08765146709037993e-05,
        ),
        (
            Mgh::with_n(MghProblem::PenaltyII, 4).unwrap(),
            9.37629300735544219e-06,
        ),
    ] {
        let (_, f, _) = levenberg_marquardt(&p, &p.start(), 2000);
        assert!(
            (f - gsl_f).abs() <= 1e-9 * gsl_f,
            "{}: f = {f:e}, GSL {gsl_f:e}",
            p.name()
        );
    }
}

/// The other minima the paper lists are approached where it says.
#[test]
fn other_published_minima() {
    // Brown almost-linear: f = 1 at (0, …, 0, n + 1).
    let p = Mgh::from_id(27).unwrap();
    let mut x = vec![0.0; 10];
    x[9] = 11.0;
    assert_eq!(p.value(&x), 1.0);
    assert_eq!(p.local_minima(), [1.0]);
    // Freudenstein and Roth: 48.9842 near (11.41, −0.8968), reached from there.
    let p = Mgh::from_id(2).unwrap();
    let (_, f, _) = levenberg_marquardt(&p, &[11.41, -0.8968], 200);
    assert!(agrees_to_six_digits(f, 48.9842), "f = {f}");
    // Biggs EXP6 (m = 13): the local minimum 5.65565e-3 is listed.
    assert_eq!(Mgh::from_id(18).unwrap().local_minima(), [5.65565e-3]);
}

// ---------------------------------------------------------------------------
// Derivatives
// ---------------------------------------------------------------------------

/// Points to check derivatives at: the start, and the start moved by a fixed
/// pseudo-random 10% (off any symmetry of the start).
fn check_points(p: &Mgh) -> Vec<Vec<f64>> {
    let x0 = p.start();
    let moved = x0
        .iter()
        .enumerate()
        .map(|(j, &v)| v + 0.1 * (v.abs().max(0.1)) * ((j as f64 * 1.7 + 0.3).sin()))
        .collect();
    vec![x0, moved]
}

#[test]
fn sum_of_squares_gradient_and_hessian_agree() {
    for p in mgh::all() {
        let n = p.n();
        for x in check_points(&p) {
            let r = residuals(&p, &x);
            let jac = jacobian(&p, &x);
            let (f, g) = grad(&p, &x);
            let scale = f.abs().max(1.0);
            // f = Σ r², also through the value-only call.
            let sum_sq: f64 = r.iter().map(|v| v * v).sum();
            assert!((f - sum_sq).abs() <= 1e-13 * scale, "{}: f", p.name());
            assert!(
                (p.value(&x) - f).abs() <= 1e-13 * scale,
                "{}: value",
                p.name()
            );
            // ∇f = 2 Jᵀ r
            let jtr = jac.tr_mul(&DVector::from_column_slice(&r)) * 2.0;
            let gscale = inf_norm(&g).max(1.0);
            for j in 0..n {
                assert!(
                    (g[j] - jtr[j]).abs() <= 1e-12 * gscale,
                    "{}: g[{j}] = {} vs 2Jᵀr = {}",
                    p.name(),
                    g[j],
                    jtr[j]
                );
            }
            // H symmetric; Hv = H v; H ⪰ 2 JᵀJ's trace part is not a law, so
            // only the Gauss-Newton identity at zero residual is checked below.
            let mut h = DMatrix::zeros(n, n);
            p.hessian(&x, &mut h);
            let hscale = h.amax().max(1.0);
            assert!(
                (&h - h.transpose()).amax() <= 1e-14 * hscale,
                "{}",
                p.name()
            );
            let v: Vec<f64> = (0..n).map(|j| (j as f64 * 0.9 + 0.2).cos()).collect();
            let mut hv = vec![0.0; n];
            p.hess_vec(&x, &v, &mut hv);
            let dense = &h * DVector::from_column_slice(&v);
            for j in 0..n {
                assert!(
                    (hv[j] - dense[j]).abs() <= 1e-12 * hscale * n as f64,
                    "{}: Hv[{j}] = {} vs {}",
                    p.name(),
                    hv[j],
                    dense[j]
                );
            }
        }
    }
}

/// Gradient and Jacobian against central differences at the start. Step
/// `1e-6·max(1, |xⱼ|)`; the truncation error is O(h²)·|f'''|, so the
/// tolerance is relative to the largest gradient entry: 1e-5 (a few
/// problems have third derivatives of 1e5 relative to the gradient at the start,
/// e.g. Brown badly scaled, and get 1e-3).
#[test]
fn gradients_and_jacobians_match_central_differences() {
    for p in mgh::all() {
        let x = p.start();
        let (_, g) = grad(&p, &x);
        let fd = central_diff_grad(&|x| p.value(x), &x, 1e-6);
        let tol = match p.id() {
            3 | 4 | 10 => 1e-3,
            _ => 1e-5,
        };
        let scale = inf_norm(&g).max(1e-8);
        for j in 0..p.n() {
            assert!(
                (g[j] - fd[j]).abs() <= tol * scale,
                "{} (id {}): g[{j}] = {:e}, central difference {:e}",
                p.name(),
                p.id(),
                g[j],
                fd[j]
            );
        }
        let jac = jacobian(&p, &x);
        for i in 0..p.m() {
            let ri = |x: &[f64]| residuals(&p, x)[i];
            let row = central_diff_grad(&ri, &x, 1e-6);
            let rscale = row
                .iter()
                .chain(jac.row(i).iter())
                .fold(1e-8f64, |a, b| a.max(b.abs()));
            for j in 0..p.n() {
                assert!(
                    (jac[(i, j)] - row[j]).abs() <= tol * rscale,
                    "{} (id {}): J[{i},{j}] = {:e}, central difference {:e}",
                    p.name(),
                    p.id(),
                    jac[(i, j)],
                    row[j]
                );
            }
        }
    }
}

/// The dense Hessian against central differences of the exact gradient at the
/// start, column by column; tolerance 1e-5 relative to the largest entry
/// (1e-3 for the badly scaled problems, as for the gradient).
#[test]
fn hessians_match_differences_of_the_gradient() {
    for p in mgh::all() {
        let n = p.n();
        let x = p.start();
        let mut h = DMatrix::zeros(n, n);
        p.hessian(&x, &mut h);
        let scale = h.amax().max(1e-8);
        let tol = match p.id() {
            3 | 4 | 10 => 1e-3,
            _ => 1e-5,
        };
        for j in 0..n {
            let gj = |x: &[f64]| grad(&p, x).1[j];
            let row = central_diff_grad(&gj, &x, 1e-6);
            for k in 0..n {
                assert!(
                    (h[(j, k)] - row[k]).abs() <= tol * scale,
                    "{} (id {}): H[{j},{k}] = {:e}, difference of g {:e}",
                    p.name(),
                    p.id(),
                    h[(j, k)],
                    row[k]
                );
            }
        }
    }
}

/// At a zero-residual minimizer the Hessian of Σ r² is 2 JᵀJ (the second-order
/// term vanishes): a check of the Hessian against the Jacobian.
#[test]
fn hessian_is_gauss_newton_at_zero_residual() {
    for p in mgh::all() {
        let (Some(x), Some(0.0)) = (p.minimizer(), p.f_star()) else {
            continue;
        };
        let n = p.n();
        let mut h = DMatrix::zeros(n, n);
        p.hessian(&x, &mut h);
        let jac = jacobian(&p, &x);
        let gn = jac.tr_mul(&jac) * 2.0;
        let scale = gn.amax().max(1.0);
        assert!(
            (&h - &gn).amax() <= 1e-9 * scale,
            "{}: |H − 2JᵀJ| = {:e}",
            p.name(),
            (&h - &gn).amax()
        );
    }
}

#[test]
fn dual_numbers_match_analytic_rosenbrock() {
    let mgh1 = Mgh::from_id(1).unwrap();
    let rosen = Rosenbrock::new(2);
    let mgh21 = Mgh::with_n(MghProblem::ExtendedRosenbrock, 8).unwrap();
    let ext = ExtendedRosenbrock::new(8);
    assert_eq!(mgh1.start(), rosen.start());
    assert_eq!(mgh1.start_scaled(100.0), rosen.start_scaled(100.0));
    assert_eq!(mgh1.f_star(), Some(rosen.f_star()));
    assert_eq!(mgh21.f_star(), Some(ext.f_star()));
    assert_eq!(mgh21.start(), ext.start());
    assert_eq!(mgh21.minimizer().unwrap(), ext.minimizer());
    let v = [0.7, -1.1, 0.4, 2.0, -0.3, 0.9, 1.5, -0.8];
    let xs2 = [[-1.2, 1.0], [0.3, -0.7], [2.0, 3.5]];
    for x in xs2 {
        let (f_dual, g_dual) = grad(&mgh1, &x);
        let (f_an, g_an) = grad(&rosen, &x);
        assert!((f_dual - f_an).abs() <= 1e-13 * f_an.max(1.0));
        for j in 0..2 {
            assert!((g_dual[j] - g_an[j]).abs() <= 1e-12 * inf_norm(&g_an).max(1.0));
        }
        let (mut hd, mut ha) = (DMatrix::zeros(2, 2), DMatrix::zeros(2, 2));
        mgh1.hessian(&x, &mut hd);
        rosen.hessian(&x, &mut ha);
        assert!((&hd - &ha).amax() <= 1e-12 * ha.amax());
    }
    let x8: Vec<f64> = (0..8).map(|j| 0.4 * j as f64 - 1.3).collect();
    let (f_dual, g_dual) = grad(&mgh21, &x8);
    let (f_an, g_an) = grad(&ext, &x8);
    assert!((f_dual - f_an).abs() <= 1e-13 * f_an);
    for j in 0..8 {
        assert!((g_dual[j] - g_an[j]).abs() <= 1e-12 * inf_norm(&g_an));
    }
    let (mut hvd, mut hva) = (vec![0.0; 8], vec![0.0; 8]);
    mgh21.hess_vec(&x8, &v, &mut hvd);
    ext.hess_vec(&x8, &v, &mut hva);
    for j in 0..8 {
        assert!((hvd[j] - hva[j]).abs() <= 1e-12 * inf_norm(&hva));
    }
    let (mut jd, mut ja) = (DMatrix::zeros(8, 8), DMatrix::zeros(8, 8));
    mgh21.jacobian(&x8, &mut jd);
    ext.jacobian(&x8, &mut ja);
    assert!((&jd - &ja).amax() <= 1e-13 * ja.amax());
    let mut ra = vec![0.0; 8];
    ext.residuals(&x8, &mut ra);
    assert_eq!(residuals(&mgh21, &x8), ra);
}

// ---------------------------------------------------------------------------
// Quadratics
// ---------------------------------------------------------------------------

fn extreme_eigenvalues(a: &DMatrix<f64>) -> (f64, f64) {
    let eig = a.clone().symmetric_eigen();
    let lo = eig
        .eigenvalues
        .iter()
        .cloned()
        .fold(f64::INFINITY, f64::min);
    let hi = eig
        .eigenvalues
        .iter()
        .cloned()
        .fold(f64::NEG_INFINITY, f64::max);
    (lo, hi)
}

#[test]
fn quadratics_have_the_requested_condition_number() {
    for &(n, kappa) in &[(2, 10.0), (10, 1e3), (50, 1e6), (100, 1e2), (1, 1.0)] {
        for q in [
            Quadratic::with_condition(n, kappa, 42).unwrap(),
            Quadratic::diagonal(n, kappa).unwrap(),
        ] {
            let (lo, hi) = extreme_eigenvalues(q.matrix());
            // Eigenvalues of the rounded Q Λ Qᵀ are within ~n·ε·κ of Λ's.
            assert!(
                (lo - 1.0).abs() < 1e-10 * kappa,
                "n {n} κ {kappa}: λ_min = {lo}"
            );
            assert!(
                (hi / lo - kappa).abs() <= 1e-9 * kappa,
                "n {n} κ {kappa}: {}",
                hi / lo
            );
            assert_eq!(q.condition_number(), kappa.max(1.0));
            // Gradient zero at the minimizer, f = f* there, f > f* at the start.
            let (f, g) = grad(&q, &q.minimizer());
            assert_eq!(f, q.f_star());
            assert!(g.iter().all(|&v| v == 0.0));
            assert!(q.value(&q.start()) > q.f_star());
        }
    }
}

#[test]
fn quadratic_rotation_is_orthogonal_and_seeded() {
    let a = Quadratic::with_condition(30, 1e4, 7).unwrap();
    let b = Quadratic::with_condition(30, 1e4, 7).unwrap();
    let c = Quadratic::with_condition(30, 1e4, 8).unwrap();
    assert_eq!(a, b, "same seed, same matrix");
    assert!(
        (a.matrix() - c.matrix()).amax() > 1e-3,
        "different seeds differ"
    );
    // Not diagonal: the rotation mixes the axes.
    let off_diag = a.matrix().iter().enumerate().filter(|(k, _)| k % 31 != 0);
    assert!(off_diag.fold(0.0f64, |m, (_, v)| m.max(v.abs())) > 1.0);
    // Trace = Σ λ (an orthogonal similarity keeps it).
    let trace: f64 = a.matrix().trace();
    let sum: f64 = a.eigenvalues().iter().sum();
    assert!((trace - sum).abs() <= 1e-10 * sum);
}

#[test]
fn quadratic_derivatives() {
    let q = Quadratic::with_condition(12, 500.0, 3)
        .unwrap()
        .with_minimizer((0..12).map(|j| j as f64 * 0.5 - 2.0).collect())
        .unwrap()
        .with_f_star(-3.0);
    let x: Vec<f64> = (0..12).map(|j| (j as f64).sin()).collect();
    let (f, g) = grad(&q, &x);
    assert!((f - q.value(&x)).abs() < 1e-12 * f.abs());
    let fd = central_diff_grad(&|x| q.value(x), &x, 1e-5);
    for j in 0..12 {
        assert!((g[j] - fd[j]).abs() <= 1e-7 * inf_norm(&g));
    }
    let mut h = DMatrix::zeros(12, 12);
    q.hessian(&x, &mut h);
    assert_eq!(&h, q.matrix());
    let v: Vec<f64> = (0..12).map(|j| (j as f64 * 0.4).cos()).collect();
    let mut hv = vec![0.0; 12];
    q.hess_vec(&x, &v, &mut hv);
    let dense = &h * DVector::from_column_slice(&v);
    for j in 0..12 {
        assert!((hv[j] - dense[j]).abs() <= 1e-12 * dense.amax());
    }
    // f(x) − f* = ½ (x − x*)ᵀ g for a quadratic.
    let xs = q.minimizer();
    let half_dg: f64 = 0.5
        * x.iter()
            .zip(&xs)
            .zip(&g)
            .map(|((a, b), c)| (a - b) * c)
            .sum::<f64>();
    assert!((f - q.f_star() - half_dg).abs() <= 1e-12 * f.abs());
    assert!(Quadratic::with_condition(0, 10.0, 1).is_err());
    assert!(Quadratic::diagonal(4, 0.5).is_err());
    assert!(Quadratic::diagonal(4, f64::NAN).is_err());
}

// ---------------------------------------------------------------------------
// Logistic regression
// ---------------------------------------------------------------------------

/// Newton's method with a Cholesky solve of the exact Hessian, from w = 0,
/// until the gradient's ∞-norm stops decreasing. Returns w*, f(w*) and the
/// last gradient norm. (How BREAST_CANCER_F_STAR was computed.)
fn newton(p: &LogisticRegression) -> (Vec<f64>, f64, f64) {
    let n = p.dim();
    let mut w = p.start();
    let mut h = DMatrix::zeros(n, n);
    let (mut f, mut g) = grad(p, &w);
    let mut best = inf_norm(&g);
    for _ in 0..50 {
        p.hessian(&w, &mut h);
        let step = h
            .clone()
            .cholesky()
            .expect("the Hessian is positive definite (λ > 0)")
            .solve(&(-DVector::from_column_slice(&g)));
        let w_new: Vec<f64> = w.iter().zip(step.iter()).map(|(a, b)| a + b).collect();
        let (f_new, g_new) = grad(p, &w_new);
        let norm = inf_norm(&g_new);
        if norm >= best {
            break;
        }
        (w, f, g, best) = (w_new, f_new, g_new, norm);
    }
    (w, f, best)
}

#[test]
fn logistic_f_star_by_newton() {
    let p = LogisticRegression::breast_cancer();
    assert_eq!(p.lambda(), BREAST_CANCER_LAMBDA);
    let (w, f, g_norm) = newton(&p);
    println!("f* = {f:?}\nw* = {w:?}\n|g| = {g_norm:e}");
    assert!(g_norm < 1e-14, "Newton stalled at |g| = {g_norm:e}");
    assert!(
        (f - BREAST_CANCER_F_STAR).abs() <= 1e-14 * f,
        "recomputed f* = {f:?}, stored {BREAST_CANCER_F_STAR:?}"
    );
    for j in 0..31 {
        assert!(
            (w[j] - BREAST_CANCER_W_STAR[j]).abs() <= 1e-10 * (1.0 + w[j].abs()),
            "w*[{j}]: recomputed {:?}, stored {:?}",
            w[j],
            BREAST_CANCER_W_STAR[j]
        );
    }
}

#[test]
fn logistic_minimizer_has_zero_gradient() {
    let p = LogisticRegression::breast_cancer();
    let w_star = p.minimizer().unwrap();
    let (f, g) = grad(&p, &w_star);
    assert!(inf_norm(&g) < 1e-13, "|g(w*)| = {:e}", inf_norm(&g));
    assert!((f - p.f_star().unwrap()).abs() <= 1e-14 * f);
    // Strong convexity: f grows along every direction from w*.
    for j in 0..31 {
        let mut w = w_star.clone();
        w[j] += 1e-3;
        assert!(p.value(&w) > f);
    }
    // Other λ: unknown minimum.
    let q = p.clone().with_lambda(1e-3).unwrap();
    assert_eq!(q.f_star(), None);
    assert!(p.with_lambda(-1.0).is_err());
}

#[test]
fn logistic_gradient_matches_central_differences() {
    let p = LogisticRegression::breast_cancer();
    for w in [p.start(), (0..31).map(|j| 0.2 * (j as f64).cos()).collect()] {
        let (_, g) = grad(&p, &w);
        let fd = central_diff_grad(&|w| p.value(w), &w, 1e-6);
        for j in 0..31 {
            assert!(
                (g[j] - fd[j]).abs() <= 1e-8 * inf_norm(&g).max(1e-3),
                "g[{j}] = {:e}, central difference {:e}",
                g[j],
                fd[j]
            );
        }
    }
}

#[test]
fn logistic_rejects_bad_input() {
    let a = DMatrix::from_row_slice(2, 2, &[1.0, 0.5, 1.0, -0.5]);
    assert!(LogisticRegression::new(a.clone(), vec![1.0, 0.0], 0.1).is_err());
    assert!(LogisticRegression::new(a.clone(), vec![1.0], 0.1).is_err());
    assert!(LogisticRegression::new(a.clone(), vec![1.0, -1.0], -0.1).is_err());
    let p = LogisticRegression::new(a, vec![1.0, -1.0], 0.1).unwrap();
    assert_eq!(p.f_star(), None);
    assert!((p.value(&[0.0, 0.0]) - 2f64.ln()).abs() < 1e-15);
}

/// The refined f* of the MGH problems at their standard sizes are attained:
/// Levenberg-Marquardt from the 1× or 10× start, then Newton, reaches each
/// to 1e-12 relative, and each agrees with the paper's six printed digits.
#[test]
fn refined_mgh_minima_are_attained_and_match_the_paper() {
    use hesse::prelude::*;
    use hesse::problems::mgh::{Mgh, MghProblem as P};
    let paper = [
        (P::JennrichSampson, 124.362),
        (P::Bard, 8.21487e-3),
        (P::Gaussian, 1.12793e-8),
        (P::Meyer, 87.9458),
        (P::KowalikOsborne, 3.07505e-4),
        (P::BrownDennis, 85822.2),
        (P::Osborne1, 5.46489e-5),
        (P::Osborne2, 4.01377e-2),
        (P::Watson, 2.28767e-3),
        (P::PenaltyI, 2.24997e-5),
        (P::PenaltyII, 9.37629e-6),
        (P::Chebyquad, 3.51687e-3),
    ];
    for (problem, printed) in paper {
        let p = Mgh::new(problem);
        let f_star = p.f_star().unwrap();
        // Six significant digits, truncated.
        assert!(
            f_star >= printed && f_star - printed < 1e-5 * printed,
            "{}: {f_star} vs {printed}",
            p.name()
        );
        let best = [1.0, 10.0]
            .iter()
            .filter_map(|&s| {
                let r = LevenbergMarquardt::default()
                    .minimize(&p, &p.start_scaled(s))
                    .ok()?;
                let r = Newton::default()
                    .with_gtol(1e-13)
                    .with_max_iter(100)
                    .minimize(&p, &r.x)
                    .ok()?;
                Some(r.f)
            })
            .fold(f64::INFINITY, |m, f| {
                if (f - f_star).abs() < (m - f_star).abs() {
                    f
                } else {
                    m
                }
            });
        assert!(
            (best - f_star).abs() <= 1e-12 * f_star,
            "{}: reached {best:e}, stored {f_star:e}",
            p.name()
        );
    }
}
