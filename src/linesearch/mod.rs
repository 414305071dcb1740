//! Line searches: given `x`, a direction `d` and `φ(α) = f(x + α d)`, choose a
//! step length `α > 0`.
//!
//! A line search is a value with cited defaults that acts on the 1-D function
//! `φ` and its derivative `φ'(α) = ∇f(x + α d)ᵀ d` through [`LineFunction`]
//! (the split of LineSearches.jl). Minimizers hand it a [`ProblemLine`], which
//! evaluates the problem and keeps the gradient of the last trial point, so an
//! accepted step whose gradient is already known costs nothing more.
//!
//! - [`Backtracking`]: Armijo sufficient decrease with safeguarded quadratic and
//!   cubic interpolation (Nocedal & Wright §3.5).
//! - [`MoreThuente`]: strong Wolfe conditions by the safeguarded interpolation
//!   of Moré & Thuente (1994), MINPACK-2's `dcsrch`.
//! - [`HagerZhang`]: Wolfe or approximate Wolfe conditions by the bracket and
//!   double-secant steps of Hager & Zhang (2005, 2006), CG_DESCENT's search.
//! - [`Exact`]: drives `φ'(α)` to zero, for tests of the theory (conjugate
//!   directions, rates of steepest descent).
//!
//! The first trial step comes from an initial-step strategy in [`initial`]
//! (the split of LineSearches.jl's `initialguess.jl`): [`UnitStep`],
//! [`ScaledPrevious`], [`QuadraticInterpolation`], [`HagerZhangInitial`].
//!
//! BFGS, L-BFGS and nonlinear CG make their step through one crate-private
//! helper, `step::search_step` (`src/linesearch/step.rs`): the direction's
//! descent check, the initial step, the search, the typed termination of a
//! failure, and one restart along `−∇f` (Optim.jl's `perform_linesearch!`).
//!
//! Every failure is a typed [`LineSearchError`], never a panic or an endless
//! loop: each search has an evaluation budget.

mod backtracking;
mod exact;
mod hager_zhang;
pub mod initial;
mod more_thuente;
pub(crate) mod step;

pub use backtracking::Backtracking;
pub use exact::Exact;
pub use hager_zhang::HagerZhang;
pub use initial::{
    HagerZhangInitial, InitialStep, QuadraticInterpolation, ScaledPrevious, UnitStep,
};
pub use more_thuente::MoreThuente;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::problem::Gradient;
use crate::solver::Error;

/// The 1-D restriction `φ(α) = f(x + α d)` a line search works on.
pub trait LineFunction {
    /// `φ(α)` alone (a value probe; may be cheaper than with the derivative).
    fn value(&mut self, alpha: f64) -> f64;

    /// `(φ(α), φ'(α))`.
    fn value_deriv(&mut self, alpha: f64) -> (f64, f64);
}

/// A step a line search accepted.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LineSearchResult {
    /// The step length `α`.
    #[serde(with = "crate::solver::float_serde")]
    pub alpha: f64,
    /// `φ(α)`.
    #[serde(with = "crate::solver::float_serde")]
    pub phi: f64,
    /// `φ'(α)` when the search evaluated it at `α`.
    pub dphi: Option<f64>,
    /// Evaluations of `φ` (with or without derivative) the search made.
    pub evals: u32,
}

/// Why a line search gave up. Each carries the best point seen, if any
/// decreased `φ` below `φ(0)`.
#[derive(Debug, Clone, Copy, PartialEq, Error, Serialize, Deserialize)]
#[non_exhaustive]
pub enum LineSearchError {
    /// `φ'(0) ≥ 0` (or not finite): `d` is not a descent direction.
    #[error("not a descent direction: phi'(0) = {dphi0}")]
    NotDescent {
        /// `φ'(0)`.
        #[serde(with = "crate::solver::float_serde")]
        dphi0: f64,
    },
    /// Every trial point gave a non-finite value, down to the smallest step.
    #[error("objective not finite along the direction, down to alpha = {alpha:e}")]
    NonFinite {
        /// The last step tried.
        #[serde(with = "crate::solver::float_serde")]
        alpha: f64,
    },
    /// The evaluation budget ran out before the conditions held.
    #[error("no acceptable step within {evals} evaluations")]
    MaxEvaluations {
        /// Evaluations made.
        evals: u32,
        /// The best decreasing step seen, as `(α, φ(α))`.
        best: Option<(f64, f64)>,
    },
    /// The bracketing interval shrank below rounding (dcsrch's "rounding
    /// errors prevent progress", "xtol test satisfied").
    #[error("interval of uncertainty below rounding at alpha = {alpha:e}")]
    RoundingErrors {
        /// The step where it stalled.
        #[serde(with = "crate::solver::float_serde")]
        alpha: f64,
        /// The best decreasing step seen, as `(α, φ(α))`.
        best: Option<(f64, f64)>,
    },
    /// The step reached its lower or upper bound without the conditions.
    #[error("step reached its bound alpha = {alpha:e}")]
    StepBound {
        /// The bound.
        #[serde(with = "crate::solver::float_serde")]
        alpha: f64,
        /// The best decreasing step seen, as `(α, φ(α))`.
        best: Option<(f64, f64)>,
    },
}

/// A line search. `search` is given `φ(0)`, `φ'(0) < 0` and the initial trial
/// step `α₀` (from an initial-step strategy) and returns an accepted step.
///
/// A search may keep state across calls within one run ([`HagerZhang`] keeps
/// the running average `C_k` of `|f|`); minimizers call
/// [`reset`](LineSearch::reset) when a run starts and
/// [`validate`](LineSearch::validate) to reject bad options as an [`enum@Error`].
pub trait LineSearch {
    /// Checks the options; a minimizer calls it in `init` and returns the
    /// error to its caller. The default accepts everything.
    fn validate(&self) -> Result<(), Error> {
        Ok(())
    }

    /// Forgets what earlier searches of a run taught it (default: nothing to forget).
    fn reset(&mut self) {}

    /// Searches along `phi` from `alpha0`.
    fn search(
        &mut self,
        phi: &mut dyn LineFunction,
        phi0: f64,
        dphi0: f64,
        alpha0: f64,
    ) -> Result<LineSearchResult, LineSearchError>;
}

/// `φ(α) = f(x + α d)` on a problem, writing trial points and gradients into
/// buffers the minimizer owns (no allocation).
///
/// After the search, [`finish`](ProblemLine::finish) leaves `x + α d` and its
/// gradient in the buffers, evaluating only if the search did not already.
pub struct ProblemLine<'a, P: ?Sized> {
    problem: &'a P,
    x: &'a [f64],
    d: &'a [f64],
    x_trial: &'a mut [f64],
    g_trial: &'a mut [f64],
    /// The step whose point is in `x_trial` (NaN if none).
    x_alpha: f64,
    /// The step whose gradient is in `g_trial` (NaN if none), and its value.
    g_alpha: f64,
    g_phi: f64,
}

impl<'a, P: Gradient + ?Sized> ProblemLine<'a, P> {
    /// The line through `x` along `d`; `x_trial` and `g_trial` are work
    /// buffers of the same length.
    ///
    /// # Panics
    /// If the four slices do not all have the same length (checked in release
    /// builds too: a shorter buffer would silently truncate every trial point
    /// and hand the problem a wrong-size vector).
    #[track_caller]
    pub fn new(
        problem: &'a P,
        x: &'a [f64],
        d: &'a [f64],
        x_trial: &'a mut [f64],
        g_trial: &'a mut [f64],
    ) -> Self {
        assert!(
            x.len() == d.len() && x.len() == x_trial.len() && x.len() == g_trial.len(),
            "ProblemLine::new: x, d, x_trial and g_trial must have one length; got {}, {}, {}, {}",
            x.len(),
            d.len(),
            x_trial.len(),
            g_trial.len()
        );
        ProblemLine {
            problem,
            x,
            d,
            x_trial,
            g_trial,
            x_alpha: f64::NAN,
            g_alpha: f64::NAN,
            g_phi: f64::NAN,
        }
    }

    fn move_to(&mut self, alpha: f64) {
        if self.x_alpha.to_bits() != alpha.to_bits() {
            for ((xt, &x), &d) in self.x_trial.iter_mut().zip(self.x).zip(self.d) {
                *xt = x + alpha * d;
            }
            self.x_alpha = alpha;
        }
    }

    /// Leaves `x + α d` in `x_trial` and `∇f` there in `g_trial`, and returns
    /// `f(x + α d)`; evaluates only if the search did not end on `α`.
    pub fn finish(&mut self, alpha: f64) -> f64 {
        self.move_to(alpha);
        if self.g_alpha.to_bits() != alpha.to_bits() {
            self.g_phi = self.problem.value_grad(self.x_trial, self.g_trial);
            self.g_alpha = alpha;
        }
        self.g_phi
    }
}

impl<P: Gradient + ?Sized> LineFunction for ProblemLine<'_, P> {
    fn value(&mut self, alpha: f64) -> f64 {
        self.move_to(alpha);
        self.problem.value(self.x_trial)
    }

    fn value_deriv(&mut self, alpha: f64) -> (f64, f64) {
        self.move_to(alpha);
        let phi = self.problem.value_grad(self.x_trial, self.g_trial);
        self.g_alpha = alpha;
        self.g_phi = phi;
        (phi, dot(self.g_trial, self.d))
    }
}

/// The fraction of the way back toward the last finite point that the `n`-th
/// non-finite trial in a row moves: ½ at first, ⅒ from the third on, so that
/// a first trial many decades too long returns to the domain in a few steps.
pub(crate) fn step_back(n: u32) -> f64 {
    if n <= 2 { 0.5 } else { 0.1 }
}

/// `aᵀb`, with eight independent accumulators so that it vectorizes (a
/// single running sum is bound by the latency of one addition per element:
/// at n = 1e6 the single sum took ≈ 1.3 ms, this ≈ 0.25 ms at streaming
/// speed). The order of additions is fixed, so results are deterministic,
/// but differ from a left-to-right sum in the last bits.
#[inline]
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    let len = a.len().min(b.len());
    let (a, b) = (&a[..len], &b[..len]);
    let mut acc = [0.0f64; 8];
    let (ac, ar) = a.split_at(len / 8 * 8);
    let (bc, br) = b.split_at(ac.len());
    for (x, y) in ac.chunks_exact(8).zip(bc.chunks_exact(8)) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    let mut tail = 0.0;
    for (x, y) in ar.iter().zip(br) {
        tail += x * y;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// A 1-D function from closures, for tests and for users with their own
/// scalar problems.
///
/// ```
/// use hesse::linesearch::{Backtracking, FnLine, LineSearch};
/// // φ(α) = (α − 2)², φ'(0) = −4: the quadratic interpolant hits α = 2 exactly.
/// let mut phi = FnLine::new(|a: f64| ((a - 2.0).powi(2), 2.0 * (a - 2.0)));
/// let step = Backtracking::default().search(&mut phi, 4.0, -4.0, 10.0).unwrap();
/// assert!((step.alpha - 2.0).abs() < 1e-12);
/// ```
pub struct FnLine<F> {
    f: F,
    /// Evaluations made so far.
    pub evals: u32,
}

impl<F: FnMut(f64) -> (f64, f64)> FnLine<F> {
    /// From `f(α) -> (φ(α), φ'(α))`.
    pub fn new(f: F) -> Self {
        FnLine { f, evals: 0 }
    }
}

impl<F: FnMut(f64) -> (f64, f64)> LineFunction for FnLine<F> {
    fn value(&mut self, alpha: f64) -> f64 {
        self.evals += 1;
        (self.f)(alpha).0
    }
    fn value_deriv(&mut self, alpha: f64) -> (f64, f64) {
        self.evals += 1;
        (self.f)(alpha)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn dot_and_inf_norm_match_naive() {
        for n in [0, 1, 7, 8, 37] {
            let a: Vec<f64> = (0..n).map(|i| (i as f64).sin()).collect();
            let b: Vec<f64> = (0..n).map(|i| (i as f64 * 0.3).cos()).collect();
            let naive: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!((super::dot(&a, &b) - naive).abs() < 1e-13);
            let max = a.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            assert_eq!(crate::solver::inf_norm(&a), max);
            let mut with_nan = a.clone();
            if n > 0 {
                with_nan[n - 1] = f64::NAN;
                assert!(crate::solver::inf_norm(&with_nan).is_nan());
                with_nan[n - 1] = f64::NEG_INFINITY;
                assert_eq!(crate::solver::inf_norm(&with_nan), f64::INFINITY);
            }
        }
    }
}
