//! Shared by `tests/quasi_newton.rs` and `tests/cg.rs`: strictly convex
//! quadratics, an exact line search for them, and crafted failing problems.
#![allow(dead_code)]

use hesse::linesearch::{LineFunction, LineSearch, LineSearchError, LineSearchResult};
use hesse::problem::{Gradient, Objective};
use hesse::solver::{Minimizer, Run};
use nalgebra::{DMatrix, DVector};
use rand::{RngExt, SeedableRng};

/// `f(x) = ½ xᵀA x − bᵀx` with `A = Q diag(λ) Qᵀ` symmetric positive definite.
pub struct Quadratic {
    pub a: DMatrix<f64>,
    pub b: DVector<f64>,
}

impl Quadratic {
    /// Eigenvalues log-spaced in `[1, cond]`; `Q = I` if `!rotated`, else the
    /// Q factor of a seeded random matrix. `b` seeded random.
    pub fn new(n: usize, cond: f64, rotated: bool, seed: u64) -> Self {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let lambda = DVector::from_fn(n, |i, _| cond.powf(i as f64 / (n.max(2) - 1) as f64));
        let q = if rotated {
            DMatrix::from_fn(n, n, |_, _| rng.random_range(-1.0..1.0))
                .qr()
                .q()
        } else {
            DMatrix::identity(n, n)
        };
        let a = &q * DMatrix::from_diagonal(&lambda) * q.transpose();
        let a = (&a + a.transpose()) * 0.5;
        let b = DVector::from_fn(n, |_, _| rng.random_range(-1.0..1.0));
        Quadratic { a, b }
    }

    pub fn minimizer(&self) -> DVector<f64> {
        self.a.clone().cholesky().unwrap().solve(&self.b)
    }
}

impl Objective for Quadratic {
    fn dim(&self) -> usize {
        self.b.len()
    }
    fn value(&self, x: &[f64]) -> f64 {
        let x = DVector::from_column_slice(x);
        0.5 * x.dot(&(&self.a * &x)) - self.b.dot(&x)
    }
}

impl Gradient for Quadratic {
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        let xv = DVector::from_column_slice(x);
        let ax = &self.a * &xv;
        for i in 0..x.len() {
            g[i] = ax[i] - self.b[i];
        }
        0.5 * xv.dot(&ax) - self.b.dot(&xv)
    }
}

/// The exact line search on a quadratic: `φ'` is affine, so one derivative at
/// a trial step `α₁` gives the minimizer `α = −φ'(0) α₁ / (φ'(α₁) − φ'(0))`.
/// The accepted point is evaluated with its gradient (two evaluations).
#[derive(Debug, Clone, Default)]
pub struct ExactQuadratic;

impl LineSearch for ExactQuadratic {
    fn search(
        &mut self,
        phi: &mut dyn LineFunction,
        _phi0: f64,
        dphi0: f64,
        alpha0: f64,
    ) -> Result<LineSearchResult, LineSearchError> {
        if dphi0 >= 0.0 || dphi0.is_nan() {
            return Err(LineSearchError::NotDescent { dphi0 });
        }
        let a1 = if alpha0.is_finite() && alpha0 > 0.0 {
            alpha0
        } else {
            1.0
        };
        let (_, d1) = phi.value_deriv(a1);
        let alpha = -dphi0 * a1 / (d1 - dphi0);
        if !(alpha.is_finite() && alpha > 0.0) {
            return Err(LineSearchError::NonFinite { alpha });
        }
        let (p, d) = phi.value_deriv(alpha);
        Ok(LineSearchResult {
            alpha,
            phi: p,
            dphi: Some(d),
            evals: 2,
        })
    }
}

/// The iterates `x_0, x_1, …` of a run to its end.
pub fn iterates<'p, M, P>(solver: M, problem: &'p P, x0: &[f64]) -> Vec<Vec<f64>>
where
    M: Minimizer<&'p P>,
    P: ?Sized,
{
    let mut run = Run::new(solver, problem, x0).unwrap();
    let mut xs = vec![run.state().x.clone()];
    loop {
        let before = run.state().iteration;
        let done = run.step();
        if run.state().iteration > before {
            xs.push(run.state().x.clone());
        }
        if done.is_some() {
            return xs;
        }
    }
}

/// `max_i |a_i − b_i| / (1 + max_i |b_i|)`.
pub fn rel_diff(a: &[f64], b: &[f64]) -> f64 {
    let scale = 1.0 + b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    a.iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
        / scale
}

/// `f(x) = Σ xᵢ²` that returns NaN from its `nan_after`-th evaluation on.
pub struct NanAfter {
    pub n: usize,
    pub nan_after: u64,
    pub calls: std::cell::Cell<u64>,
}

impl Objective for NanAfter {
    fn dim(&self) -> usize {
        self.n
    }
    fn value(&self, x: &[f64]) -> f64 {
        let mut g = vec![0.0; self.n];
        self.value_grad(x, &mut g)
    }
}

impl Gradient for NanAfter {
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        self.calls.set(self.calls.get() + 1);
        let bad = self.calls.get() > self.nan_after;
        let mut f = 0.0;
        for i in 0..x.len() {
            // Not a quadratic, so that no method finishes in one step.
            g[i] = 4.0 * x[i].powi(3) + 2.0 * x[i];
            f += x[i].powi(4) + x[i] * x[i];
        }
        if bad { f64::NAN } else { f }
    }
}

/// `f(x) = Σ xᵢ²` with the gradient's sign flipped: `−g` points uphill, so no
/// line search can decrease `f`.
pub struct WrongGradient;

impl Objective for WrongGradient {
    fn dim(&self) -> usize {
        2
    }
    fn value(&self, x: &[f64]) -> f64 {
        x[0] * x[0] + x[1] * x[1]
    }
}

impl Gradient for WrongGradient {
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        g[0] = -2.0 * x[0];
        g[1] = -2.0 * x[1];
        self.value(x)
    }
}

/// `f(x) = 1e-200 (x₀ + x₁)`: the gradient is non-zero but `gᵀg` underflows to
/// 0, so even `−g` is not numerically a descent direction.
pub struct Underflow;

impl Objective for Underflow {
    fn dim(&self) -> usize {
        2
    }
    fn value(&self, x: &[f64]) -> f64 {
        1e-200 * (x[0] + x[1])
    }
}

impl Gradient for Underflow {
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        g[0] = 1e-200;
        g[1] = 1e-200;
        self.value(x)
    }
}

/// A line search that fails (without evaluating) on its `at`-th call of a
/// run and otherwise defers to `inner`: to check what a solver does after one
/// failed search.
#[derive(Debug, Clone)]
pub struct FailOnce<L> {
    pub inner: L,
    pub at: u32,
    calls: u32,
}

impl<L> FailOnce<L> {
    pub fn new(inner: L, at: u32) -> Self {
        FailOnce {
            inner,
            at,
            calls: 0,
        }
    }
}

impl<L: LineSearch> LineSearch for FailOnce<L> {
    fn reset(&mut self) {
        self.calls = 0;
        self.inner.reset();
    }
    fn search(
        &mut self,
        phi: &mut dyn LineFunction,
        phi0: f64,
        dphi0: f64,
        alpha0: f64,
    ) -> Result<LineSearchResult, LineSearchError> {
        self.calls += 1;
        if self.calls == self.at {
            return Err(LineSearchError::MaxEvaluations {
                evals: 0,
                best: None,
            });
        }
        self.inner.search(phi, phi0, dphi0, alpha0)
    }
}
