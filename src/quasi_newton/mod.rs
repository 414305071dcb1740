//! Quasi-Newton methods: BFGS and L-BFGS.
//!
//! Both build an approximation `H_k ≈ ∇²f(x_k)⁻¹` from the pairs
//! `s_k = x_{k+1} − x_k`, `y_k = ∇f_{k+1} − ∇f_k` and step along
//! `d_k = −H_k ∇f_k` (Nocedal & Wright 2006, ch. 6 and §7.2).
//!
//! - [`Bfgs`]: the dense inverse update, N&W (6.17); `O(n²)` memory.
//! - [`Lbfgs`]: the last `m` pairs only, applied through the compact
//!   representation of Byrd, Nocedal & Schnabel (1994) or the two-loop
//!   recursion, N&W Algorithm 7.4; `O(mn)` memory.
//!
//! Both keep `H_k` positive definite only while `s_kᵀy_k > 0`, which a Wolfe
//! line search guarantees and a backtracking (Armijo) search does not; the
//! [`CurvatureGuard`] says what happens to a pair that fails the test.
//!
//! The bounds-constrained variant L-BFGS-B is not here: this library is
//! unconstrained for now.

mod bfgs;
mod kernels;
mod lbfgs;

pub use bfgs::Bfgs;
pub use lbfgs::{Lbfgs, LbfgsForm};

use serde::{Deserialize, Serialize};

use crate::linesearch::initial::StepContext;
use crate::linesearch::{InitialStep, LineFunction, LineSearchError};
use crate::solver::Termination;

/// What to do with a pair `(s_k, y_k)` whose curvature is too small to keep
/// the quasi-Newton matrix positive definite: `s_kᵀy_k ≤ ε ‖s_k‖ ‖y_k‖`, with
/// `ε` set by `with_curvature_eps` (default `1e-10`).
///
/// Either way, the iteration's `state.note` says what was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum CurvatureGuard {
    /// Skip the update and keep `H_k` (N&W §6.1, p. 143; what scipy's
    /// L-BFGS-B, LBFGS++ and Optim.jl do). The default.
    #[default]
    Skip,
    /// Powell's damping (N&W Procedure 18.2): replace `y_k` by
    /// `r_k = θ y_k + (1 − θ) B_k s_k` with
    /// `θ = 0.8 sᵀBs / (sᵀBs − sᵀy)` whenever `sᵀy < 0.2 sᵀBs` (N&W (18.15)),
    /// so that `s_kᵀr_k = 0.2 s_kᵀB_k s_k > 0`; this applies to every pair
    /// with `sᵀy < 0.2 sᵀBs`, also those with `sᵀy > 0` that the curvature
    /// test alone would accept. A pair with `sᵀy ≥ 0.2 sᵀBs` is used as it
    /// is (`θ = 1`), after the curvature test. In the inverse form
    /// `B_k s_k = −α_k ∇f_k` exactly, since `s_k = −α_k H_k ∇f_k` (for
    /// L-BFGS, `B_k` is the inverse of its `H_k`), so no product with `B_k`
    /// is needed. Skips the pair if `sᵀBs` is not positive and finite.
    PowellDamping,
}

/// The rounding allowance of the default line search of [`Bfgs`] and
/// [`Lbfgs`], [`MoreThuente::with_f_eps`](crate::linesearch::MoreThuente::with_f_eps):
/// about 45 ulps of `f`. On the MGH protocol it turns 10 of the 14 solved
/// L-BFGS runs that ended in a line-search failure into gradient-tolerance
/// stops, and cuts the gradient evaluations of the runs scipy's L-BFGS-B
/// also solves by 9% (`tests/mgh_protocol.rs`).
pub(crate) const F_EPS: f64 = 1e-14;

/// Whether a failed search saw no trial below `φ(0)`: with finite trials
/// only ([`Watched::only_finite`]) along a descent direction, rounding is
/// the cause, and a restart along `−∇f_k` would meet the same floor.
pub(crate) fn no_decrease(e: &LineSearchError) -> bool {
    matches!(
        e,
        LineSearchError::RoundingErrors { best: None, .. }
            | LineSearchError::MaxEvaluations { best: None, .. }
    )
}

/// The default threshold `ε` of the curvature test
/// `s_kᵀy_k ≤ ε ‖s_k‖ ‖y_k‖`: the cosine of the angle between `s_k` and `y_k`
/// must exceed `1e-10`.
pub(crate) const CURVATURE_EPS: f64 = 1e-10;

/// The quasi-Newton initial step: `α₀ = min(1, 1/‖d₀‖∞)` on the first
/// iteration, `α₀ = 1` after it (N&W p. 59: "for Newton and quasi-Newton
/// methods, the step α₀ = 1 should always be used").
///
/// The first direction is `−g₀` (`H₀ = I`), whose length says nothing about the
/// distance to the minimizer, so its trial is cut to unit ∞-norm, as scipy's
/// BFGS and Optim.jl's `InitialStatic(scaled = true)` do on their first
/// iteration. It was the default of [`Bfgs`] and [`Lbfgs`] before
/// [`UnitLengthFirstStep`]; it still makes fewer evaluations at large `n`.
///
/// ```
/// use hesse::linesearch::{FnLine, InitialStep, initial::StepContext};
/// use hesse::quasi_newton::ScaledFirstUnitStep;
/// let mut phi = FnLine::new(|a: f64| (a * a, 2.0 * a));
/// let ctx = StepContext { x: &[3.0], f: 9.0, dphi0: -64.0, d_norm: 8.0 };
/// let mut init = ScaledFirstUnitStep::default();
/// assert_eq!(init.alpha0(&ctx, &mut phi), 0.125);
/// init.accept(0.125, &ctx);
/// assert_eq!(init.alpha0(&ctx, &mut phi), 1.0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScaledFirstUnitStep {
    started: bool,
}

impl InitialStep for ScaledFirstUnitStep {
    fn alpha0(&mut self, ctx: &StepContext<'_>, _phi: &mut dyn LineFunction) -> f64 {
        let a = (1.0 / ctx.d_norm).min(1.0);
        if self.started || !(a.is_finite() && a > 0.0) {
            1.0
        } else {
            a
        }
    }
    fn accept(&mut self, _alpha: f64, _ctx: &StepContext<'_>) {
        self.started = true;
    }
    fn reset(&mut self) {
        self.started = false;
    }
}

/// L-BFGS-B's initial step: `α₀ = min(1/‖d₀‖₂, 1e10)` on the first
/// iteration, `α₀ = 1` after it (Byrd, Lu, Nocedal & Zhu, "A limited memory
/// algorithm for bound constrained optimization", *SIAM J. Sci. Comput.* 16
/// (1995), §6; `lnsrlb` in Zhu, Byrd, Lu & Nocedal's Fortran code, whose
/// `stpmax` is `1e10` without bounds). The default of [`Bfgs`] and [`Lbfgs`].
///
/// Unlike [`ScaledFirstUnitStep`] the first trial is not capped at 1 and
/// scales with the Euclidean norm: it moves `x` by exactly one unit of
/// length, whatever `n`. On the MGH protocol this reaches more minimizers
/// than the capped ∞-norm rule (Broyden banded from its start, Bard and
/// the trigonometric function from 100×) with fewer evaluations
/// (`tests/mgh_protocol.rs`). The price is at large `n`, where `‖g₀‖₂`
/// exceeds `‖g₀‖∞` by up to `√n`: on extended Rosenbrock (m = 10,
/// gtol `1e-6`) L-BFGS makes 45, 49, 47 and 51 `value_grad` calls at
/// n = 1e3, 1e4, 1e5, 1e6 with it, 45 at each with [`ScaledFirstUnitStep`]
/// (`Lbfgs::default().with_initial_step(ScaledFirstUnitStep::default())`):
/// the first search extrapolates up from a step √n too short and stops
/// at the first Wolfe point, short of the line minimum.
///
/// The first direction is `−g₀` (`H₀ = I`; likewise after L-BFGS clears its
/// history), so `‖d₀‖₂ = √(−φ'(0))` is read from the context.
///
/// ```
/// use hesse::linesearch::{FnLine, InitialStep, initial::StepContext};
/// use hesse::quasi_newton::UnitLengthFirstStep;
/// let mut phi = FnLine::new(|a: f64| (a * a, 2.0 * a));
/// // d₀ = −g₀ = (−3, −4): ‖d₀‖₂ = 5, φ'(0) = −25.
/// let ctx = StepContext { x: &[3.0, 4.0], f: 25.0, dphi0: -25.0, d_norm: 4.0 };
/// let mut init = UnitLengthFirstStep::default();
/// assert_eq!(init.alpha0(&ctx, &mut phi), 0.2);
/// init.accept(0.2, &ctx);
/// assert_eq!(init.alpha0(&ctx, &mut phi), 1.0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitLengthFirstStep {
    started: bool,
}

/// L-BFGS-B's largest step without bounds (`lnsrlb`'s `big`).
const FIRST_STEP_MAX: f64 = 1e10;

impl InitialStep for UnitLengthFirstStep {
    fn alpha0(&mut self, ctx: &StepContext<'_>, _phi: &mut dyn LineFunction) -> f64 {
        let a = (1.0 / (-ctx.dphi0).sqrt()).min(FIRST_STEP_MAX);
        if self.started || !(a.is_finite() && a > 0.0) {
            1.0
        } else {
            a
        }
    }
    fn accept(&mut self, _alpha: f64, _ctx: &StepContext<'_>) {
        self.started = true;
    }
    fn reset(&mut self) {
        self.started = false;
    }
}

/// A [`LineFunction`] that remembers whether it met non-finite values, so a
/// failed search can be told apart from one that only saw NaN or ±∞.
pub(crate) struct Watched<'a> {
    inner: &'a mut dyn LineFunction,
    finite: bool,
    non_finite: bool,
}

impl<'a> Watched<'a> {
    pub(crate) fn new(inner: &'a mut dyn LineFunction) -> Self {
        Watched {
            inner,
            finite: false,
            non_finite: false,
        }
    }

    fn note(&mut self, v: f64) {
        if v.is_finite() {
            self.finite = true;
        } else {
            self.non_finite = true;
        }
    }

    /// Whether the search met finite values only (and at least one): then
    /// a failure with no decrease is rounding's doing ([`no_decrease`]).
    pub(crate) fn only_finite(&self) -> bool {
        self.finite && !self.non_finite
    }

    /// The termination for a failed search: [`Termination::NonFiniteValue`] if
    /// every trial was non-finite, the search's own failure otherwise.
    pub(crate) fn termination(&self, e: &LineSearchError) -> Termination {
        match e {
            LineSearchError::NotDescent { .. } => Termination::NotDescentDirection,
            LineSearchError::NonFinite { .. } => Termination::NonFiniteValue,
            _ if self.non_finite && !self.finite => Termination::NonFiniteValue,
            _ => Termination::LineSearchFailed,
        }
    }
}

impl LineFunction for Watched<'_> {
    fn value(&mut self, alpha: f64) -> f64 {
        let v = self.inner.value(alpha);
        self.note(v);
        v
    }
    fn value_deriv(&mut self, alpha: f64) -> (f64, f64) {
        let (v, d) = self.inner.value_deriv(alpha);
        self.note(v + d);
        (v, d)
    }
}

/// The outcome of the curvature test for one pair.
pub(crate) enum Curvature {
    /// Use the pair as it is.
    Accept,
    /// Use `y_k` damped to `θ y_k + (1 − θ) B_k s_k`.
    Damp {
        /// `θ ∈ (0, 1)`.
        theta: f64,
    },
    /// Skip the update.
    Skip,
}

/// Decides what to do with a pair from `sᵀy`, `‖s‖‖y‖` and
/// `sᵀB s = −α sᵀg_k`.
pub(crate) fn curvature_test(
    guard: CurvatureGuard,
    eps: f64,
    sy: f64,
    s_norm_y_norm: f64,
    s_b_s: f64,
) -> Curvature {
    if guard == CurvatureGuard::PowellDamping {
        // N&W Procedure 18.2, (18.15): damp whenever sᵀy < 0.2 sᵀBs, also a
        // pair the curvature test below would accept; θ ∈ (0, 1) there.
        if s_b_s > 0.0 && s_b_s.is_finite() && sy.is_finite() && sy < 0.2 * s_b_s {
            let theta = 0.8 * s_b_s / (s_b_s - sy);
            if theta.is_finite() && theta > 0.0 && theta < 1.0 {
                return Curvature::Damp { theta };
            }
        }
    }
    if sy > eps * s_norm_y_norm && sy.is_finite() {
        return Curvature::Accept;
    }
    Curvature::Skip
}

#[cfg(test)]
mod tests {
    use super::*;

    /// N&W Procedure 18.2 damps whenever `sᵀy < 0.2 sᵀBs`, also when `sᵀy`
    /// passes the curvature test (before issue 18 only skipped pairs were
    /// damped), and the damped pair has `sᵀr = 0.2 sᵀBs`.
    #[test]
    fn powell_damping_fires_below_a_fifth_of_s_b_s() {
        let (sy, s_b_s) = (0.1, 1.0);
        match curvature_test(CurvatureGuard::PowellDamping, 1e-10, sy, 1.0, s_b_s) {
            Curvature::Damp { theta } => {
                assert!((theta - 0.8 / 0.9).abs() < 1e-15);
                let sr = theta * sy + (1.0 - theta) * s_b_s;
                assert!((sr - 0.2 * s_b_s).abs() < 1e-15);
            }
            _ => panic!("a pair with sᵀy = 0.1 sᵀBs must be damped"),
        }
        // At or above 0.2 sᵀBs: as it is. Skip never damps.
        assert!(matches!(
            curvature_test(CurvatureGuard::PowellDamping, 1e-10, 0.2, 1.0, 1.0),
            Curvature::Accept
        ));
        assert!(matches!(
            curvature_test(CurvatureGuard::Skip, 1e-10, 0.1, 1.0, 1.0),
            Curvature::Accept
        ));
        assert!(matches!(
            curvature_test(CurvatureGuard::Skip, 1e-10, -0.1, 1.0, 1.0),
            Curvature::Skip
        ));
        // sᵀBs not positive: nothing to damp toward.
        assert!(matches!(
            curvature_test(CurvatureGuard::PowellDamping, 1e-10, -0.1, 1.0, 0.0),
            Curvature::Skip
        ));
    }
}
