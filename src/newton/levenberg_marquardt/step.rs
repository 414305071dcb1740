//! One trial of an iteration, as named steps in `lmder`'s order (Moré §4):
//!
//! 1. [`trial_step`](LevenbergMarquardt::trial_step): `λ` and the step
//!    `−p(λ)` for the current `Δ` (Moré §5), the trial point (projected onto
//!    the box, accelerated), its residuals, and the actual and predicted
//!    relative reductions with their ratio `ρ`;
//! 2. [`update_bound`](LevenbergMarquardt::update_bound): `Δ` and `λ` from
//!    `ρ`;
//! 3. [`acceptance`](LevenbergMarquardt::acceptance): `ρ ≥ 10⁻⁴`, or a
//!    rounding-noise Gauss-Newton step;
//! 4. [`minpack_tests`](LevenbergMarquardt::minpack_tests): MINPACK's `ftol`
//!    and `xtol` tests, made after every trial;
//! 5. [`after_accepted`](LevenbergMarquardt::after_accepted) (new `J`, `D`
//!    and the `gtol` test) or
//!    [`after_rejected`](LevenbergMarquardt::after_rejected) (stop, or try a
//!    smaller `Δ`).

use super::geodesic::geodesic_step;
use super::lmpar::lm_parameter;
use super::{LevenbergMarquardt, NOISE, RobustLoss, enorm, scaled_norm};
use crate::problem::{Counted, Residuals};
use crate::solver::{State, Termination, inf_norm};

/// What one trial step gives the tests.
#[derive(Debug, Clone, Copy)]
pub(super) struct Trial {
    /// `‖D p‖` of the LM step (of the velocity under geodesic acceleration;
    /// before the projection onto the box).
    pub pnorm: f64,
    /// `sqrt(F)` at the trial point: `‖r(x + s)‖`.
    pub rnorm: f64,
    /// Whether `F` at the trial point is finite.
    pub finite: bool,
    /// Whether the projection onto the box cut the step.
    pub clipped: bool,
    /// The `λ` the step was computed with.
    pub lambda: f64,
    /// Actual relative reduction `1 − (‖r₊‖/‖r‖)²` (−1 if `‖r₊‖ ≥ 10 ‖r‖` or
    /// not finite).
    pub actred: f64,
    /// Predicted relative reduction.
    pub prered: f64,
    /// The directional derivative of the model along the step, relative.
    pub dirder: f64,
    /// `ρ = actred / prered` (0 where that is not meaningful).
    pub ratio: f64,
}

/// Which MINPACK test passed: `info` 1 (`ftol`), 2 (`xtol`) or 3 (both).
pub(super) type Converged = Option<(Termination, u8)>;

impl LevenbergMarquardt {
    /// Step 1: `λ` and `p` for the current `Δ` (Moré §5), the trial point
    /// `x + s`, `s = −p` (Kanzow et al.'s projection `P(x + s)` under
    /// bounds, Transtrum & Sethna's acceleration if on), `r(x + s)`, and the
    /// reductions. `Err` ends the run (a non-finite LM step).
    pub(super) fn trial_step<P: Residuals>(
        &mut self,
        problem: &Counted<P>,
        state: &mut State,
    ) -> Result<Trial, Termination> {
        let n = state.x.len();
        let it = &mut self.iter;
        let w = &mut self.work;
        lm_parameter(
            &w.qr,
            &it.diag,
            &w.qtf,
            it.delta,
            &mut it.lambda,
            &mut w.p,
            &mut w.lmpar,
        );
        if !w.p.iter().all(|v| v.is_finite()) || !it.lambda.is_finite() {
            state.note = Some("the LM step is not finite (λ overflow)".into());
            return Err(Termination::LinearAlgebraFailure);
        }
        for j in 0..n {
            w.step[j] = -w.p[j];
            w.x_trial[j] = state.x[j] + w.step[j];
            w.dstep[j] = it.diag[j] * w.step[j];
        }
        let pnorm = enorm(&w.dstep);
        // Kanzow et al. (2004): x₊ = P(x + p); the step is what is left.
        let clipped = match &self.bounds {
            Some(b) if b.project(&mut w.x_trial) => {
                for j in 0..n {
                    w.step[j] = w.x_trial[j] - state.x[j];
                }
                true
            }
            _ => false,
        };
        if it.first {
            it.delta = it.delta.min(pnorm);
        }
        let accelerated = match self.geodesic {
            Some(alpha) if pnorm > 0.0 => geodesic_step(problem, &state.x, it, w, alpha, pnorm),
            _ => false,
        };
        problem.residuals(&w.x_trial, &mut w.r_trial);
        let rnorm = if self.loss == RobustLoss::Linear {
            enorm(&w.r_trial)
        } else {
            self.loss.objective(&w.r_trial, self.f_scale).sqrt()
        };
        let finite = rnorm.is_finite();
        // Moré §4: actual and predicted relative reductions of ‖r‖².
        let actred = if finite && 0.1 * rnorm < it.rnorm {
            1.0 - (rnorm / it.rnorm).powi(2)
        } else {
            -1.0
        };
        // R Pᵀ s, for the predicted reduction.
        let (r, perm) = (w.qr.qr_dirty(), w.qr.perm());
        for i in 0..n {
            w.rp[i] = 0.0;
        }
        for j in 0..n {
            let s_j = w.step[perm[j]];
            for i in 0..=j {
                w.rp[i] += r[(i, j)] * s_j;
            }
        }
        if accelerated {
            // The step taken (for the report); `rp` above is the velocity's.
            for j in 0..n {
                w.step[j] = w.x_trial[j] - state.x[j];
            }
        }
        let (prered, dirder) = if clipped {
            // The model's reduction along the step taken:
            // ‖r‖² − ‖r + J s‖² = −(2 (Qᵀr)ᵀ R Pᵀ s + ‖R Pᵀ s‖²).
            let t1 = enorm(&w.rp) / it.rnorm;
            let a: f64 = (0..n)
                .map(|i| (w.qtf[i] / it.rnorm) * (w.rp[i] / it.rnorm))
                .sum();
            (-(2.0 * a + t1 * t1), a)
        } else {
            let t1 = enorm(&w.rp) / it.rnorm;
            let t2 = it.lambda.sqrt() * pnorm / it.rnorm;
            (t1 * t1 + 2.0 * t2 * t2, -(t1 * t1 + t2 * t2))
        };
        let ratio = if clipped && (prered <= 0.0 || prered.is_nan()) {
            // A projected step the model says does not reduce F.
            0.0
        } else if self.loss != RobustLoss::Linear && !(actred / prered).is_finite() {
            // F rounded to 0 (or overflowed): a failed trial, so that Δ
            // shrinks to the xtol test instead of repeating the step.
            0.0
        } else if prered != 0.0 {
            actred / prered
        } else {
            0.0
        };
        Ok(Trial {
            pnorm,
            rnorm,
            finite,
            clipped,
            lambda: it.lambda,
            actred,
            prered,
            dirder,
            ratio,
        })
    }

    /// Step 2, Moré §4: shrink `Δ` when `ρ ≤ 1/4` (by the factor `μ ∈ [0.1,
    /// 0.5]` that minimizes the quadratic through the reduction along the
    /// step), set `Δ = 2 ‖D p‖` when `ρ ≥ 3/4` or `λ = 0`; `λ` moves
    /// inversely.
    pub(super) fn update_bound(&mut self, t: &Trial) {
        let it = &mut self.iter;
        if t.ratio <= 0.25 {
            let mut mu = if t.actred >= 0.0 {
                0.5
            } else {
                0.5 * t.dirder / (t.dirder + 0.5 * t.actred)
            };
            if !t.finite || 0.1 * t.rnorm >= it.rnorm || mu.is_nan() || mu < 0.1 {
                mu = 0.1;
            }
            it.delta = mu * it.delta.min(t.pnorm / 0.1);
            it.lambda /= mu;
        } else if it.lambda == 0.0 || t.ratio >= 0.75 {
            it.delta = t.pnorm / 0.5;
            it.lambda *= 0.5;
        }
    }

    /// Step 3: whether the trial point is taken (`ρ ≥ 10⁻⁴`, or a
    /// rounding-noise Gauss-Newton step), and whether it is a contracting
    /// Gauss-Newton step whose `ftol` test waits (`with_deferred_ftol`).
    ///
    /// Near a minimizer whose residuals cancel (`y − f(x)` with `|r| ≪ |y|`),
    /// `‖r‖²` carries rounding noise far above `ε` and `ρ` is noise, while
    /// the Gauss-Newton step (from exact `J` and `r`) is still accurate. Such
    /// a step is taken when both reductions are below [`NOISE`] and it is at
    /// most `noise_contraction` times the last accepted one (so these steps
    /// converge).
    pub(super) fn acceptance(&self, t: &Trial) -> (bool, bool) {
        let it = &self.iter;
        let contracts = t.lambda == 0.0 && t.pnorm <= self.noise_contraction * it.last_pnorm;
        let noise_step =
            t.finite && !t.clipped && t.prered <= NOISE && t.actred >= -NOISE && contracts;
        let accepted = t.ratio >= 1e-4 || noise_step;
        (accepted, self.defer_ftol && accepted && contracts)
    }

    /// Moves to the trial point: `x`, `r`, `‖D x‖`, `‖r‖` and the last step.
    pub(super) fn take_step(&mut self, state: &mut State, t: &Trial) {
        let (it, w) = (&mut self.iter, &mut self.work);
        std::mem::swap(&mut state.x, &mut w.x_trial);
        std::mem::swap(&mut it.r, &mut w.r_trial);
        it.xnorm = scaled_norm(&it.diag, &state.x);
        it.rnorm = t.rnorm;
        it.first = false;
        it.last_pnorm = t.pnorm;
    }

    /// Step 4, `lmder`'s `ftol` and `xtol` tests, made after every trial
    /// (with `Δ` and `‖D x‖` updated): `info` 1, 2 or 3.
    pub(super) fn minpack_tests(&self, t: &Trial, contracting: bool) -> Converged {
        let ftol = self.minpack_ftol.max(f64::EPSILON);
        let xtol = self.minpack_xtol.max(f64::EPSILON);
        let f_test =
            t.actred.abs() <= ftol && t.prered <= ftol && 0.5 * t.ratio <= 1.0 && !contracting;
        let x_test = self.iter.delta <= xtol * self.iter.xnorm;
        match (f_test, x_test) {
            (true, true) => Some((Termination::FunctionTolerance, 3)),
            (true, false) => Some((Termination::FunctionTolerance, 1)),
            (false, true) => Some((Termination::StepTolerance, 2)),
            (false, false) => None,
        }
    }

    /// The state's note for a passed test: `info = 3`, or a tolerance below
    /// `ε` (`info` 6 or 7).
    fn minpack_note(&self, info: u8) -> Option<String> {
        let tight = match info {
            1 => self.minpack_ftol < f64::EPSILON,
            2 => self.minpack_xtol < f64::EPSILON,
            _ => self.minpack_ftol < f64::EPSILON && self.minpack_xtol < f64::EPSILON,
        };
        (info == 3 || tight).then(|| {
            if tight {
                format!(
                    "MINPACK info = {}: tolerance below ε, no further improvement possible",
                    info + 5
                )
            } else {
                "MINPACK info = 3: ftol and xtol tests both passed".to_string()
            }
        })
    }

    /// Step 5 after an accepted trial: `f`, `J` and `g` at the new point,
    /// `D` (Moré §6), and the test that passed (or MINPACK's `gtol` test)
    /// left pending, so that the accepted step counts as an iteration.
    pub(super) fn after_accepted<P: Residuals>(
        &mut self,
        problem: &Counted<P>,
        state: &mut State,
        converged: Converged,
    ) {
        state.f = self.loss.objective(&self.iter.r, self.f_scale);
        state.step_norm = inf_norm(&self.work.step);
        state.alpha = f64::NAN;
        let Some(gnorm) = self.jacobian_at(problem, state) else {
            return;
        };
        self.update_scaling();
        if let Some((t, info)) = converged {
            self.iter.pending = Some(t);
            self.iter.pending_note = self.minpack_note(info);
        } else if gnorm <= self.minpack_gtol.max(f64::EPSILON) {
            self.iter.pending = Some(Termination::GradientTolerance);
            self.iter.pending_note = (self.minpack_gtol < f64::EPSILON).then(|| {
                "MINPACK info = 8: gtol below ε, r is orthogonal to J's columns".to_string()
            });
        }
    }

    /// Step 5 after a rejected trial: the run ends if a test passed (as
    /// [`Termination::NonFiniteValue`] when `Δ` shrank to `xtol` only
    /// because every trial since the last accepted point was not finite), a
    /// limit was reached, or `Δ` vanished; else `None`, another trial.
    pub(super) fn after_rejected<P: Residuals>(
        &self,
        problem: &Counted<P>,
        state: &mut State,
        converged: Converged,
        all_trials_non_finite: bool,
    ) -> Option<Termination> {
        if let Some((t, info)) = converged {
            if t == Termination::StepTolerance && all_trials_non_finite {
                state.note = Some(
                    "every trial step since the last accepted point gave non-finite residuals"
                        .into(),
                );
                return Some(Termination::NonFiniteValue);
            }
            state.note = self.minpack_note(info);
            return Some(t);
        }
        if let Some(t) = problem.halted() {
            // A limit reached inside the retries (see `Counted`).
            return Some(t);
        }
        if self.iter.delta.is_nan() || self.iter.delta <= 0.0 {
            // Δ underflowed with ‖D x‖ = 0 and xtol·0 = 0 not reached.
            return Some(Termination::TrustRegionTooSmall);
        }
        None
    }
}
