//! Backtracking line search with safeguarded polynomial interpolation.
//!
//! Nocedal & Wright, *Numerical Optimization* (2nd ed., 2006), §3.5, pp. 56-59:
//! try `α₀`; while the Armijo condition
//! `φ(α) ≤ φ(0) + c₁ α φ'(0)` (N&W (3.4)) fails, replace `α` by the minimizer
//! of the quadratic through `φ(0), φ'(0), φ(α)` (N&W (3.57)) on the first
//! backtrack and of the cubic through `φ(0), φ'(0)` and the last two trials
//! (N&W (3.58)) after that, safeguarded to `[ρ_lo α, ρ_hi α]` (N&W p. 58:
//! "ensure that α_i is not too close to, or too much smaller than, α_{i−1}").
//!
//! Deviation: a non-finite `φ(α)` is treated as a failed Armijo test and the
//! step is halved, so a search that starts in an overflow region walks back
//! into the domain.

use serde::{Deserialize, Serialize};

use super::{LineFunction, LineSearch, LineSearchError, LineSearchResult};
use crate::solver::Error;

/// Armijo backtracking with quadratic/cubic interpolation (N&W §3.5).
///
/// Defaults: `c1 = 1e-4` (N&W p. 33), safeguards `ρ_lo = 0.1`, `ρ_hi = 0.5`
/// (LineSearches.jl's `BackTracking`), at most 50 evaluations, and fused
/// evaluations (value and gradient at every trial, so the accepted step's
/// gradient comes free: the right choice when the first trial is usually
/// accepted, as for Newton and quasi-Newton directions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Backtracking {
    /// Sufficient-decrease constant `c₁ ∈ (0, 1)`.
    #[serde(with = "crate::solver::float_serde")]
    pub c1: f64,
    /// Smallest fraction of the previous step a backtrack may take.
    #[serde(with = "crate::solver::float_serde")]
    pub rho_lo: f64,
    /// Largest fraction of the previous step a backtrack may take.
    #[serde(with = "crate::solver::float_serde")]
    pub rho_hi: f64,
    /// Evaluation budget.
    pub max_evals: u32,
    /// Evaluate the derivative with every trial value.
    pub fused: bool,
}

impl Default for Backtracking {
    fn default() -> Self {
        Backtracking {
            c1: 1e-4,
            rho_lo: 0.1,
            rho_hi: 0.5,
            max_evals: 50,
            fused: true,
        }
    }
}

impl Backtracking {
    /// Sets `c₁`.
    #[must_use]
    pub fn with_c1(mut self, c1: f64) -> Self {
        self.c1 = c1;
        self
    }

    /// Sets whether each trial also evaluates the derivative.
    #[must_use]
    pub fn with_fused(mut self, fused: bool) -> Self {
        self.fused = fused;
        self
    }

    /// Sets the evaluation budget.
    #[must_use]
    pub fn with_max_evals(mut self, max_evals: u32) -> Self {
        self.max_evals = max_evals;
        self
    }

    fn eval(&self, phi: &mut dyn LineFunction, alpha: f64) -> (f64, Option<f64>) {
        if self.fused {
            let (v, d) = phi.value_deriv(alpha);
            (v, Some(d))
        } else {
            (phi.value(alpha), None)
        }
    }
}

impl LineSearch for Backtracking {
    /// `c₁ ∈ (0, 1)`, `0 < ρ_lo ≤ ρ_hi < 1`, at least one evaluation.
    fn validate(&self) -> Result<(), Error> {
        if !(self.c1 > 0.0 && self.c1 < 1.0) {
            return Err(Error::invalid_option("c1", self.c1, "must be in (0, 1)"));
        }
        if !(self.rho_lo > 0.0 && self.rho_lo < 1.0) {
            return Err(Error::invalid_option(
                "rho_lo",
                self.rho_lo,
                "must be in (0, 1)",
            ));
        }
        if !(self.rho_hi >= self.rho_lo && self.rho_hi < 1.0) {
            return Err(Error::invalid_option(
                "rho_hi",
                self.rho_hi,
                "must be in [rho_lo, 1)",
            ));
        }
        if self.max_evals == 0 {
            return Err(Error::invalid_option("max_evals", 0, "must be >= 1"));
        }
        Ok(())
    }

    fn search(
        &mut self,
        phi: &mut dyn LineFunction,
        phi0: f64,
        dphi0: f64,
        alpha0: f64,
    ) -> Result<LineSearchResult, LineSearchError> {
        if dphi0.is_nan() || dphi0 >= 0.0 {
            return Err(LineSearchError::NotDescent { dphi0 });
        }
        let mut alpha = if alpha0.is_finite() && alpha0 > 0.0 {
            alpha0
        } else {
            1.0
        };
        // The previous trial, for the cubic model.
        let mut prev: Option<(f64, f64)> = None;
        let mut best: Option<(f64, f64)> = None;
        for evals in 1..=self.max_evals {
            let (phi_a, dphi_a) = self.eval(phi, alpha);
            if phi_a.is_finite() && phi_a <= phi0 + self.c1 * alpha * dphi0 {
                return Ok(LineSearchResult {
                    alpha,
                    phi: phi_a,
                    dphi: dphi_a,
                    evals,
                });
            }
            if phi_a < phi0 && best.is_none_or(|(_, b)| phi_a < b) {
                best = Some((alpha, phi_a));
            }
            let next = if !phi_a.is_finite() {
                0.5 * alpha
            } else {
                let trial = match prev {
                    None => quadratic_min(phi0, dphi0, alpha, phi_a),
                    Some((alpha_p, phi_p)) => cubic_min(phi0, dphi0, alpha, phi_a, alpha_p, phi_p),
                };
                let lo = self.rho_lo * alpha;
                let hi = self.rho_hi * alpha;
                if trial.is_finite() {
                    trial.clamp(lo, hi)
                } else {
                    hi
                }
            };
            if phi_a.is_finite() {
                prev = Some((alpha, phi_a));
            }
            if next <= f64::MIN_POSITIVE || next == alpha {
                return Err(match best {
                    None if !phi_a.is_finite() => LineSearchError::NonFinite { alpha },
                    _ => LineSearchError::StepBound { alpha, best },
                });
            }
            alpha = next;
        }
        Err(LineSearchError::MaxEvaluations {
            evals: self.max_evals,
            best,
        })
    }
}

/// Minimizer of the quadratic with `q(0) = φ₀`, `q'(0) = φ'₀`, `q(α) = φ_α`
/// (N&W (3.57)).
fn quadratic_min(phi0: f64, dphi0: f64, alpha: f64, phi_a: f64) -> f64 {
    let denom = 2.0 * (phi_a - phi0 - dphi0 * alpha);
    -dphi0 * alpha * alpha / denom
}

/// Minimizer of the cubic through `φ₀`, `φ'₀` at 0 and the trials `(α₁, φ₁)`,
/// `(α₀, φ_α₀)` (N&W (3.58)); NaN when the cubic has no minimizer.
fn cubic_min(phi0: f64, dphi0: f64, a1: f64, phi1: f64, a0: f64, phi_a0: f64) -> f64 {
    let r1 = phi1 - phi0 - dphi0 * a1;
    let r0 = phi_a0 - phi0 - dphi0 * a0;
    let denom = a0 * a0 * a1 * a1 * (a1 - a0);
    let a = (a0 * a0 * r1 - a1 * a1 * r0) / denom;
    let b = (-a0 * a0 * a0 * r1 + a1 * a1 * a1 * r0) / denom;
    if a == 0.0 {
        return -dphi0 / (2.0 * b);
    }
    let disc = b * b - 3.0 * a * dphi0;
    if disc < 0.0 {
        return f64::NAN;
    }
    (-b + disc.sqrt()) / (3.0 * a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linesearch::FnLine;

    #[test]
    fn cubic_interpolant_recovers_a_cubic() {
        // φ(α) = 1 − α + α³ has φ'(α) = −1 + 3α², minimizer 1/√3.
        let f = |a: f64| 1.0 - a + a * a * a;
        let m = cubic_min(1.0, -1.0, 2.0, f(2.0), 3.0, f(3.0));
        assert!((m - 1.0 / 3f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn accepted_step_satisfies_armijo() {
        let mut phi = FnLine::new(|a: f64| {
            (
                (a - 0.01).powi(4) + a.sin(),
                4.0 * (a - 0.01).powi(3) + a.cos(),
            )
        });
        let (p0, d0) = (1e-8 + 0.0, 4.0 * (-0.01f64).powi(3) + 1.0);
        // d0 > 0: not a descent direction.
        assert!(matches!(
            Backtracking::default().search(&mut phi, p0, d0, 1.0),
            Err(LineSearchError::NotDescent { .. })
        ));
        let mut phi =
            FnLine::new(|a: f64| (100.0 * (a - 0.3).powi(2) - 0.5 * a, 200.0 * (a - 0.3) - 0.5));
        let (p0, d0) = (9.0, -60.5);
        let r = Backtracking::default()
            .search(&mut phi, p0, d0, 100.0)
            .unwrap();
        assert!(r.phi <= p0 + 1e-4 * r.alpha * d0);
    }

    #[test]
    fn walks_back_from_overflow() {
        // φ is finite only for α < 1.
        let mut phi = FnLine::new(|a: f64| {
            if a < 1.0 {
                ((1.0 - a).ln() + a * 0.0, -1.0 / (1.0 - a))
            } else {
                (f64::NAN, f64::NAN)
            }
        });
        let r = Backtracking::default()
            .search(&mut phi, 0.0, -1.0, 1e6)
            .unwrap();
        assert!(r.alpha < 1.0 && r.phi.is_finite());
    }
}
