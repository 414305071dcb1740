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
//! - [`LbfgsB`]: L-BFGS on a box `l ≤ x ≤ u` (Byrd, Lu, Nocedal & Zhu 1995,
//!   with Morales & Nocedal's 2011 subspace step).
//!
//! [`Bfgs`] and [`Lbfgs`] share two steps, each written once: the line
//! search with its restart along `−∇f_k` (`linesearch::step`, which
//! nonlinear CG uses too) and the acceptance of a pair (`pair.rs`: the
//! curvature test, the skip or Powell's damping).

mod bfgs;
mod kernels;
mod lbfgs;
mod lbfgsb;
mod pair;

pub use bfgs::Bfgs;
pub use lbfgs::{Lbfgs, LbfgsForm};
pub use lbfgsb::LbfgsB;
pub use pair::CurvatureGuard;

use serde::{Deserialize, Serialize};

use crate::linesearch::initial::StepContext;
use crate::linesearch::{InitialStep, LineFunction};

/// The rounding allowance of the default line search of [`Bfgs`] and
/// [`Lbfgs`], [`MoreThuente::with_f_eps`](crate::linesearch::MoreThuente::with_f_eps):
/// about 45 ulps of `f`. On the MGH protocol it turns 10 of the 14 solved
/// L-BFGS runs that ended in a line-search failure into gradient-tolerance
/// stops, and cuts the gradient evaluations of the runs scipy's L-BFGS-B
/// also solves by 9% (`tests/mgh_protocol.rs`).
pub(crate) const F_EPS: f64 = 1e-14;

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
