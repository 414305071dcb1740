//! Gradient descent with each line search: the linear rate of steepest descent
//! with exact line searches on quadratics (N&W Theorem 3.3, (3.29)), and what
//! each search costs on Rosenbrock's function.

use hesse::linesearch::{
    Backtracking, Exact, HagerZhang, HagerZhangInitial, InitialStep, LineSearch, MoreThuente,
};
use hesse::prelude::*;
use hesse::problems::Rosenbrock;

/// `f(x) = ½ Σ λᵢ xᵢ²`, `f* = 0` at `x* = 0`.
fn quadratic(lambda: Vec<f64>) -> impl Gradient {
    let n = lambda.len();
    FnGradient::new(n, move |x: &[f64], g: &mut [f64]| {
        let mut f = 0.0;
        for i in 0..n {
            g[i] = lambda[i] * x[i];
            f += 0.5 * lambda[i] * x[i] * x[i];
        }
        f
    })
}

/// The values `f_k` of a run of steepest descent with [`Exact`].
fn exact_descent_values(p: &impl Gradient, x0: &[f64], iterations: u64) -> Vec<f64> {
    let report = GradientDescent::with_line_search(Exact::default())
        .with_gtol(0.0)
        .with_max_iter(iterations)
        .with_history(true)
        .minimize(p, x0)
        .unwrap();
    report.history.unwrap().iter().map(|r| r.f).collect()
}

#[test]
fn exact_steepest_descent_contracts_at_the_kantorovich_rate() {
    for kappa in [10.0, 100.0, 1000.0] {
        // n = 10, eigenvalues spread geometrically over [1, κ]; a generic start.
        let n = 10;
        let lambda: Vec<f64> = (0..n)
            .map(|i| f64::powf(kappa, i as f64 / (n - 1) as f64))
            .collect();
        let x0: Vec<f64> = (0..n).map(|i| 1.0 + (i as f64 * 1.7).sin()).collect();
        let p = quadratic(lambda);
        let f = exact_descent_values(&p, &x0, 300);
        let bound = ((kappa - 1.0) / (kappa + 1.0)).powi(2);
        let mut checked = 0;
        for w in f.windows(2) {
            // Stop checking where f* = 0 is reached to rounding.
            if w[0] < 1e-20 * f[0] {
                break;
            }
            let ratio = w[1] / w[0];
            assert!(
                ratio <= bound * (1.0 + 1e-9),
                "κ = {kappa}: ratio {ratio} > bound {bound}"
            );
            checked += 1;
        }
        assert!(
            checked >= 10,
            "κ = {kappa}: only {checked} iterations checked"
        );
    }
}

#[test]
fn exact_steepest_descent_meets_the_rate_on_akaikes_worst_start() {
    // A = diag(1, κ), x0 = (1/λ_min, 1/λ_max): the iterates zigzag between two
    // directions and every step contracts f − f* by exactly ((κ−1)/(κ+1))²
    // (Akaike 1959; N&W p. 43).
    for kappa in [10.0, 100.0, 1000.0] {
        let p = quadratic(vec![1.0, kappa]);
        let f = exact_descent_values(&p, &[1.0, 1.0 / kappa], 40);
        let bound = ((kappa - 1.0) / (kappa + 1.0)).powi(2);
        assert_eq!(f.len(), 41);
        for (k, w) in f.windows(2).enumerate() {
            let ratio = w[1] / w[0];
            assert!(
                (ratio - bound).abs() <= 1e-8 * bound,
                "κ = {kappa}, k = {k}: ratio {ratio} vs {bound}"
            );
        }
    }
}

#[test]
fn exact_line_search_costs_two_evaluations_per_step_on_a_quadratic() {
    let p = quadratic(vec![1.0, 3.0, 10.0]);
    let r = GradientDescent::with_line_search(Exact::default())
        .with_gtol(0.0)
        .with_max_iter(20)
        .minimize(&p, &[1.0, 1.0, 1.0])
        .unwrap();
    assert_eq!(r.iterations, 20);
    // One value+gradient at the start, then two per exact search (the second
    // one's gradient is the next iterate's, so the step costs nothing more).
    assert_eq!(r.evals.f, 1 + 2 * 20);
    assert_eq!(r.evals.g, 1 + 2 * 20);
}

/// Runs GD on 2-D Rosenbrock from (−1.2, 1) to ‖g‖∞ ≤ 1e-6 and checks the
/// counts against upper bounds set a little above what was measured.
fn rosenbrock<L, I>(ls: L, init: I, max: (u64, u64, u64)) -> (u64, u64, u64)
where
    L: LineSearch + Clone,
    I: InitialStep + Clone,
{
    let r = GradientDescent::with_line_search(ls)
        .with_initial_step(init)
        .with_gtol(1e-6)
        .with_max_iter(200_000)
        .minimize(&Rosenbrock::new(2), &[-1.2, 1.0])
        .unwrap();
    assert_eq!(r.termination, Termination::GradientTolerance, "{r:?}");
    assert!(r.grad_norm <= 1e-6);
    assert!((r.x[0] - 1.0).abs() < 1e-5 && (r.x[1] - 1.0).abs() < 1e-5);
    let got = (r.iterations, r.evals.f, r.evals.g);
    assert!(
        got.0 <= max.0 && got.1 <= max.1 && got.2 <= max.2,
        "(iterations, f evals, g evals) = {got:?} above {max:?}"
    );
    got
}

// Measured (iterations, f evals, g evals) in each comment; bounds ~2% above.
// `cargo run --example linesearch_costs` prints the full table.

#[test]
fn rosenbrock_backtracking() {
    // (10852, 10898, 10898)
    let d = hesse::linesearch::ScaledPrevious::default();
    rosenbrock(Backtracking::default(), d, (11_100, 11_150, 11_150));
}

#[test]
fn rosenbrock_more_thuente() {
    // (9274, 9507, 9507)
    let d = hesse::linesearch::ScaledPrevious::default();
    rosenbrock(MoreThuente::default(), d, (9_500, 9_700, 9_700));
}

#[test]
fn rosenbrock_hager_zhang() {
    // (8238, 8455, 8455)
    let d = hesse::linesearch::ScaledPrevious::default();
    rosenbrock(HagerZhang::default(), d, (8_450, 8_650, 8_650));
}

#[test]
fn rosenbrock_exact() {
    // (14798, 120511, 120511): exact searches zigzag down the valley, and
    // reaching |φ
    let d = hesse::linesearch::ScaledPrevious::default();
    rosenbrock(Exact::default(), d, (15_100, 123_000, 123_000));
}

#[test]
fn rosenbrock_with_hager_zhang_initial_steps() {
    // (1355, 3331, 1977) and (3407, 6827, 3421): HZ's I1 costs one value per
    // iteration and pays for itself many times over here.
    rosenbrock(
        MoreThuente::default(),
        HagerZhangInitial::default(),
        (1_400, 3_400, 2_020),
    );
    rosenbrock(
        HagerZhang::default(),
        HagerZhangInitial::default(),
        (3_480, 6_970, 3_500),
    );
}

#[test]
fn invalid_line_search_options_are_errors() {
    let err = GradientDescent::with_line_search(MoreThuente::default().with_c1(2.0))
        .minimize(&Rosenbrock::new(2), &[-1.2, 1.0])
        .unwrap_err();
    assert!(err.to_string().contains("c1"), "{err}");
}
