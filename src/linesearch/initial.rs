//! Initial-step strategies: the first trial step `α₀` handed to a line search.
//!
//! A line search is only as cheap as its first trial is good. Following
//! LineSearches.jl (`initialguess.jl`), the choice of `α₀` is a value of its
//! own, separate from the search, implementing [`InitialStep`]:
//!
//! - [`UnitStep`]: `α₀ = 1`, right for Newton and quasi-Newton directions,
//!   whose natural step is one (Nocedal & Wright p. 59).
//! - [`ScaledPrevious`]: `α₀ = α_{k−1} φ'_{k−1}(0) / φ'_k(0)` (N&W (3.60)),
//!   the same first-order change as last time; for steepest descent and CG.
//! - [`QuadraticInterpolation`]: `α₀ = min(1, 1.01 · 2 (f_k − f_{k−1}) / φ'_k(0))`,
//!   the minimizer of the quadratic through `f_{k−1}`, `f_k`, `φ'_k(0)`
//!   (N&W p. 59 and (3.60)'s alternative).
//! - [`HagerZhangInitial`]: Hager & Zhang's I0/I1/I2 (HZ06 §4, "Initial
//!   step"): a scale-aware first step, then a quadratic fit from one extra value
//!   (QuadStep) or `ψ₂ α_{k−1}`.
//!
//! A minimizer asks [`alpha0`](InitialStep::alpha0) before each search and
//! reports the accepted step with [`accept`](InitialStep::accept).
//!
//! Notation: `x_k` the iterate, `d_k` the direction, `φ_k(α) = f(x_k + α d_k)`,
//! `φ'_k(0) = ∇f(x_k)ᵀ d_k < 0`, `f_k = φ_k(0)`.
//!
//! Where no history exists yet (the first iteration), [`ScaledPrevious`] and
//! [`QuadraticInterpolation`] take `α₀ = min(1, 1/‖d_0‖∞)`: a first step of at
//! most unit length in the ∞-norm (the rule `GradientDescent` always had).

use serde::{Deserialize, Serialize};

use super::LineFunction;

/// What an initial-step strategy may know about iteration `k`.
#[derive(Debug, Clone, Copy)]
pub struct StepContext<'a> {
    /// The iterate `x_k`.
    pub x: &'a [f64],
    /// `f_k = f(x_k)`.
    pub f: f64,
    /// `φ'_k(0) = ∇f(x_k)ᵀ d_k`, negative for a descent direction.
    pub dphi0: f64,
    /// `‖d_k‖∞`.
    pub d_norm: f64,
}

/// A rule for the first trial step of each line search.
pub trait InitialStep {
    /// `α₀` for the search at iteration `k`. May evaluate `φ_k` (Hager-Zhang's
    /// QuadStep does, once); those evaluations are counted like any other.
    /// Returns a positive finite step.
    fn alpha0(&mut self, ctx: &StepContext<'_>, phi: &mut dyn LineFunction) -> f64;

    /// Records the step `α_k` the search accepted at iteration `k`.
    fn accept(&mut self, alpha: f64, ctx: &StepContext<'_>);

    /// Forgets the history (a new run).
    fn reset(&mut self);
}

/// `min(1, 1/‖d‖∞)`, or 1 when that is not a positive finite number.
fn first_step(ctx: &StepContext<'_>) -> f64 {
    positive_or((1.0 / ctx.d_norm).min(1.0), 1.0)
}

fn positive_or(alpha: f64, fallback: f64) -> f64 {
    if alpha.is_finite() && alpha > 0.0 {
        alpha
    } else {
        fallback
    }
}

/// `α₀ = 1` always (N&W p. 59: "for Newton and quasi-Newton methods, the step
/// α₀ = 1 should always be used as the initial trial step length").
///
/// ```
/// use hesse::linesearch::{FnLine, InitialStep, UnitStep, initial::StepContext};
/// let mut phi = FnLine::new(|a: f64| (a * a, 2.0 * a));
/// let ctx = StepContext { x: &[3.0], f: 9.0, dphi0: -6.0, d_norm: 3.0 };
/// assert_eq!(UnitStep.alpha0(&ctx, &mut phi), 1.0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct UnitStep;

impl InitialStep for UnitStep {
    fn alpha0(&mut self, _ctx: &StepContext<'_>, _phi: &mut dyn LineFunction) -> f64 {
        1.0
    }
    fn accept(&mut self, _alpha: f64, _ctx: &StepContext<'_>) {}
    fn reset(&mut self) {}
}

/// `α₀ = α_{k−1} φ'_{k−1}(0) / φ'_k(0)` (N&W (3.60)): assume the first-order
/// change `α φ'(0)` is the same as at the last iteration. First iteration:
/// `min(1, 1/‖d_0‖∞)`.
///
/// ```
/// use hesse::linesearch::{FnLine, InitialStep, ScaledPrevious, initial::StepContext};
/// let mut phi = FnLine::new(|a: f64| (a * a, 2.0 * a));
/// let mut init = ScaledPrevious::default();
/// let ctx0 = StepContext { x: &[4.0], f: 16.0, dphi0: -64.0, d_norm: 8.0 };
/// assert_eq!(init.alpha0(&ctx0, &mut phi), 0.125); // 1/‖d‖∞
/// init.accept(0.5, &ctx0);
/// let ctx1 = StepContext { x: &[1.0], f: 1.0, dphi0: -16.0, d_norm: 4.0 };
/// assert_eq!(init.alpha0(&ctx1, &mut phi), 2.0); // 0.5 · 64 / 16
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScaledPrevious {
    /// `α_{k−1}` (NaN before the first step).
    #[serde(with = "crate::solver::float_serde")]
    alpha_prev: f64,
    /// `φ'_{k−1}(0)`.
    #[serde(with = "crate::solver::float_serde")]
    dphi0_prev: f64,
}

impl Default for ScaledPrevious {
    fn default() -> Self {
        ScaledPrevious {
            alpha_prev: f64::NAN,
            dphi0_prev: f64::NAN,
        }
    }
}

impl InitialStep for ScaledPrevious {
    fn alpha0(&mut self, ctx: &StepContext<'_>, _phi: &mut dyn LineFunction) -> f64 {
        if self.alpha_prev.is_finite() {
            positive_or(
                self.alpha_prev * self.dphi0_prev / ctx.dphi0,
                first_step(ctx),
            )
        } else {
            first_step(ctx)
        }
    }
    fn accept(&mut self, alpha: f64, ctx: &StepContext<'_>) {
        self.alpha_prev = alpha;
        self.dphi0_prev = ctx.dphi0;
    }
    fn reset(&mut self) {
        *self = Self::default();
    }
}

/// `α₀ = min(α_max, 1.01 · 2 (f_k − f_{k−1}) / φ'_k(0))` (N&W p. 59): the
/// minimizer of the quadratic through `f_{k−1}`, `f_k` and `φ'_k(0)`, assuming
/// the function will fall by as much as last time. The factor 1.01 and the cap
/// `α_max = 1` (N&W: "min(1, 1.01 α₀)") let Newton-like directions reach the
/// unit step; set `alpha_max` to infinity for steepest descent. First
/// iteration: `min(1, 1/‖d_0‖∞)`.
///
/// ```
/// use hesse::linesearch::{FnLine, InitialStep, QuadraticInterpolation, initial::StepContext};
/// let mut phi = FnLine::new(|a: f64| (a * a, 2.0 * a));
/// let mut init = QuadraticInterpolation::default();
/// let ctx0 = StepContext { x: &[4.0], f: 16.0, dphi0: -64.0, d_norm: 8.0 };
/// init.alpha0(&ctx0, &mut phi);
/// init.accept(0.5, &ctx0);
/// let ctx1 = StepContext { x: &[1.0], f: 14.0, dphi0: -16.0, d_norm: 4.0 };
/// // 1.01 · 2 (14 − 16) / (−16) = 0.2525
/// assert!((init.alpha0(&ctx1, &mut phi) - 0.2525).abs() < 1e-15);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct QuadraticInterpolation {
    /// The cap on `α₀` (default 1, N&W p. 59).
    #[serde(with = "crate::solver::float_serde")]
    pub alpha_max: f64,
    /// `f_{k−1}` (NaN before the first step).
    #[serde(with = "crate::solver::float_serde")]
    f_prev: f64,
}

impl Default for QuadraticInterpolation {
    fn default() -> Self {
        QuadraticInterpolation {
            alpha_max: 1.0,
            f_prev: f64::NAN,
        }
    }
}

impl QuadraticInterpolation {
    /// Sets the cap on `α₀` (default 1).
    #[must_use]
    pub fn with_alpha_max(mut self, alpha_max: f64) -> Self {
        self.alpha_max = alpha_max;
        self
    }
}

impl InitialStep for QuadraticInterpolation {
    fn alpha0(&mut self, ctx: &StepContext<'_>, _phi: &mut dyn LineFunction) -> f64 {
        if !self.f_prev.is_finite() {
            return first_step(ctx).min(self.alpha_max.max(f64::MIN_POSITIVE));
        }
        let alpha = 1.01 * 2.0 * (ctx.f - self.f_prev) / ctx.dphi0;
        positive_or(alpha.min(self.alpha_max), first_step(ctx))
    }
    fn accept(&mut self, _alpha: f64, ctx: &StepContext<'_>) {
        self.f_prev = ctx.f;
    }
    fn reset(&mut self) {
        self.f_prev = f64::NAN;
    }
}

/// Hager & Zhang's initial step (HZ06 §4, "Initial step"; CG_DESCENT's
/// `psi0`, `psi1`, `psi2`, `QuadStep`).
///
/// - I0 (first iteration): `α₀ = ψ₀ ‖x_0‖∞ / ‖d_0‖∞` if `x_0 ≠ 0`, else
///   `ψ₀ |f_0| / |φ'_0(0)|` if `f_0 ≠ 0` (HZ write `‖g_0‖²`, equal for
///   `d = −g`), else 1.
/// - I1 (with `quad_step`): evaluate `φ(ψ₁ α_{k−1})`; if it is at most `φ(0)`
///   and the quadratic through `φ(0)`, `φ'(0)` and that value is strictly
///   convex, `α₀` is its minimizer. This costs one value evaluation.
/// - I2 (otherwise): `α₀ = ψ₂ α_{k−1}`.
///
/// Defaults `ψ₀ = 0.01`, `ψ₁ = 0.1`, `ψ₂ = 2`, `quad_step = true` (HZ06 §4).
///
/// ```
/// use hesse::linesearch::{FnLine, HagerZhangInitial, InitialStep, initial::StepContext};
/// // φ(α) = (α − 3)², so the quadratic fit of I1 is exact.
/// let mut phi = FnLine::new(|a: f64| ((a - 3.0).powi(2), 2.0 * (a - 3.0)));
/// let mut init = HagerZhangInitial::default();
/// let ctx = StepContext { x: &[2.0], f: 9.0, dphi0: -6.0, d_norm: 6.0 };
/// assert!((init.alpha0(&ctx, &mut phi) - 0.01 * 2.0 / 6.0).abs() < 1e-15); // I0
/// init.accept(1.0, &ctx);
/// assert!((init.alpha0(&ctx, &mut phi) - 3.0).abs() < 1e-12); // I1
/// assert_eq!(phi.evals, 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HagerZhangInitial {
    /// `ψ₀`: the first step as a fraction of `‖x_0‖∞ / ‖d_0‖∞`.
    #[serde(with = "crate::solver::float_serde")]
    pub psi0: f64,
    /// `ψ₁`: where I1 probes, as a fraction of `α_{k−1}`.
    #[serde(with = "crate::solver::float_serde")]
    pub psi1: f64,
    /// `ψ₂`: the expansion of I2.
    #[serde(with = "crate::solver::float_serde")]
    pub psi2: f64,
    /// Whether to try the quadratic step I1.
    pub quad_step: bool,
    /// `α_{k−1}` (NaN before the first step).
    #[serde(with = "crate::solver::float_serde")]
    alpha_prev: f64,
}

impl Default for HagerZhangInitial {
    fn default() -> Self {
        HagerZhangInitial {
            psi0: 0.01,
            psi1: 0.1,
            psi2: 2.0,
            quad_step: true,
            alpha_prev: f64::NAN,
        }
    }
}

impl HagerZhangInitial {
    /// Enables (default) or disables the quadratic step I1.
    #[must_use]
    pub fn with_quad_step(mut self, on: bool) -> Self {
        self.quad_step = on;
        self
    }

    /// Sets `ψ₀`, `ψ₁`, `ψ₂` (defaults 0.01, 0.1, 2).
    #[must_use]
    pub fn with_psi(mut self, psi0: f64, psi1: f64, psi2: f64) -> Self {
        self.psi0 = psi0;
        self.psi1 = psi1;
        self.psi2 = psi2;
        self
    }
}

impl InitialStep for HagerZhangInitial {
    fn alpha0(&mut self, ctx: &StepContext<'_>, phi: &mut dyn LineFunction) -> f64 {
        if !self.alpha_prev.is_finite() {
            // I0
            let x_norm = crate::solver::inf_norm(ctx.x);
            let alpha = if x_norm > 0.0 {
                self.psi0 * x_norm / ctx.d_norm
            } else if ctx.f != 0.0 {
                self.psi0 * ctx.f.abs() / ctx.dphi0.abs()
            } else {
                1.0
            };
            return positive_or(alpha, 1.0);
        }
        let fallback = positive_or(self.psi2 * self.alpha_prev, 1.0); // I2
        if self.quad_step {
            // I1: QuadStep.
            let t = self.psi1 * self.alpha_prev;
            if t > 0.0 && t.is_finite() {
                let phi_t = phi.value(t);
                if phi_t <= ctx.f {
                    // q(α) = f + φ'(0) α + c α², through (t, φ(t)).
                    let c = (phi_t - ctx.f - ctx.dphi0 * t) / (t * t);
                    if c > 0.0 {
                        return positive_or(-ctx.dphi0 / (2.0 * c), fallback);
                    }
                }
            }
        }
        fallback
    }
    fn accept(&mut self, alpha: f64, _ctx: &StepContext<'_>) {
        self.alpha_prev = alpha;
    }
    fn reset(&mut self) {
        self.alpha_prev = f64::NAN;
    }
}
