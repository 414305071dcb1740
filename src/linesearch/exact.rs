//! An (almost) exact line search: a zero of `φ'(α)` to a relative tolerance.
//!
//! Theory states many results for exact line searches, `α_k = argmin φ(α)`:
//! steepest descent on a quadratic contracts `f − f*` by `((κ−1)/(κ+1))²`
//! (Nocedal & Wright (3.29)), nonlinear CG with any of its β formulas is
//! linear CG on a quadratic and ends in `n` steps (N&W §5.2), BFGS reproduces
//! the CG iterates (Nazareth 1979). [`Exact`] makes those statements testable.
//!
//! # Method
//!
//! A safeguarded secant iteration on `φ'`: the search keeps `α_lo` with
//! `φ'(α_lo) < 0` (initially 0) and, once found, `α_hi` with `φ'(α_hi) > 0`.
//! The next trial is the zero of the secant through the last two trials; before
//! a bracket exists it may extrapolate (at most 100 times the step), after that
//! it must fall inside `(α_lo, α_hi)` or the search falls back to regula falsi
//! on the bracket, and to bisection when the last step did not halve the
//! bracket (geometric bisection when the bracket spans more than three
//! decades).
//! On a quadratic `φ'` is linear, so the first secant step, through `(0, φ'(0))`
//! and `(α₀, φ'(α₀))`, lands on the minimizer: two evaluations in all.
//!
//! # Deviations from "exact"
//!
//! The search stops at `|φ'(α)| ≤ tol |φ'(0)|`, or at the rounding floor:
//! when the bracket is a few ulps wide, or when a new trial returns bit for
//! bit the value and slope of an earlier one (then the point with the smaller
//! `|φ'|` is returned: exact to rounding). It finds a stationary point along `d` where `φ'` changes sign
//! from negative to positive, a local minimizer of `φ`, not necessarily the
//! global one. A non-finite `φ` is stepped back from by halving toward `α_lo`.

use serde::{Deserialize, Serialize};

use super::more_thuente::Point;
use super::{LineFunction, LineSearch, LineSearchError, LineSearchResult, step_back};
use crate::solver::Error;

/// The zero of the line through `(a, φ'(a))` and `(b, φ'(b))`, written from
/// the point with the smaller `|φ'|` so that a short step from a far point
/// does not lose its digits to cancellation.
fn secant(a: Point, b: Point) -> f64 {
    let (near, far) = if a.g.abs() <= b.g.abs() {
        (a, b)
    } else {
        (b, a)
    };
    near.alpha - near.g * (far.alpha - near.alpha) / (far.g - near.g)
}

/// Exact line search to `|φ'(α)| ≤ tol |φ'(0)|` by safeguarded secant steps.
///
/// Defaults: `tol = 1e-12` (well below any Wolfe `c2`, a little above the
/// rounding of `φ'` on well-conditioned problems), `max_evals = 100`,
/// `alpha_max = 1e20`.
///
/// ```
/// use hesse::linesearch::{Exact, FnLine, LineSearch};
/// // A quadratic: φ'(α) = 3 (α − 2) is linear, one secant step is exact.
/// let mut phi = FnLine::new(|a: f64| (1.5 * (a - 2.0).powi(2), 3.0 * (a - 2.0)));
/// let step = Exact::default().search(&mut phi, 6.0, -6.0, 0.5).unwrap();
/// assert_eq!(step.evals, 2);
/// assert!((step.alpha - 2.0).abs() < 1e-15);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exact {
    /// Relative tolerance on the derivative: stop at `|φ'(α)| ≤ tol |φ'(0)|`.
    #[serde(with = "crate::solver::float_serde")]
    pub tol: f64,
    /// Evaluation budget (each of `φ` and `φ'` together).
    pub max_evals: u32,
    /// Largest step.
    #[serde(with = "crate::solver::float_serde")]
    pub alpha_max: f64,
}

impl Default for Exact {
    fn default() -> Self {
        Exact {
            tol: 1e-12,
            max_evals: 100,
            alpha_max: 1e20,
        }
    }
}

impl Exact {
    /// Sets the relative derivative tolerance (default `1e-12`).
    #[must_use]
    pub fn with_tol(mut self, tol: f64) -> Self {
        self.tol = tol;
        self
    }

    /// Sets the evaluation budget (default 100).
    #[must_use]
    pub fn with_max_evals(mut self, max_evals: u32) -> Self {
        self.max_evals = max_evals;
        self
    }

    /// Sets the largest step (default `1e20`).
    #[must_use]
    pub fn with_alpha_max(mut self, alpha_max: f64) -> Self {
        self.alpha_max = alpha_max;
        self
    }
}

impl LineSearch for Exact {
    fn validate(&self) -> Result<(), Error> {
        if !(self.tol >= 0.0 && self.tol < 1.0) {
            return Err(Error::invalid_option("tol", self.tol, "must be in [0, 1)"));
        }
        if self.alpha_max.is_nan() || self.alpha_max <= 0.0 {
            return Err(Error::invalid_option(
                "alpha_max",
                self.alpha_max,
                "must be > 0",
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
        if !(dphi0.is_finite() && dphi0 < 0.0) {
            return Err(LineSearchError::NotDescent { dphi0 });
        }
        let target = self.tol * -dphi0;
        let mut alpha = if alpha0.is_finite() && alpha0 > 0.0 {
            alpha0.min(self.alpha_max)
        } else {
            1.0f64.min(self.alpha_max)
        };
        let mut lo = Point {
            alpha: 0.0,
            f: phi0,
            g: dphi0,
        };
        let mut hi: Option<Point> = None;
        let mut prev = lo;
        let mut alpha_bad = f64::INFINITY;
        // Non-finite trials in a row, for the step-back factor.
        let mut non_finite_run = 0;
        let mut best: Option<(f64, f64)> = None;
        // The bracket width one step ago, for the bisection safeguard.
        let mut width = f64::INFINITY;
        let accept = |p: Point, evals: u32| LineSearchResult {
            alpha: p.alpha,
            phi: p.f,
            dphi: Some(p.g),
            evals,
        };

        for evals in 1..=self.max_evals {
            let (f, g) = phi.value_deriv(alpha);
            if !f.is_finite() || !g.is_finite() {
                alpha_bad = alpha_bad.min(alpha);
                non_finite_run += 1;
                let back = lo.alpha + step_back(non_finite_run) * (alpha - lo.alpha);
                if back == alpha || back == lo.alpha {
                    return Err(match best {
                        None => LineSearchError::NonFinite { alpha },
                        Some(_) => LineSearchError::RoundingErrors { alpha, best },
                    });
                }
                alpha = back;
                continue;
            }
            non_finite_run = 0;
            if f < phi0 && best.is_none_or(|(_, b)| f < b) {
                best = Some((alpha, f));
            }
            let t = Point { alpha, f, g };
            if g.abs() <= target {
                return Ok(accept(t, evals));
            }
            // The same value and slope at a different step: φ is flat at the
            // rounding level here, and no trial can do better (exact to rounding).
            // Only in a bracket already narrow relative to α: far apart, equal
            // slopes are a coincidence, not rounding.
            let narrow = hi.is_some_and(|h| h.alpha - lo.alpha <= 1e-8 * h.alpha);
            let same = |p: Point| p.alpha > 0.0 && p.f == t.f && p.g == t.g;
            if narrow && (same(lo) || hi.is_some_and(same)) {
                let p = match hi {
                    Some(h) if h.g.abs() < lo.g.abs() => h,
                    _ => lo,
                };
                return Ok(accept(if p.g.abs() <= t.g.abs() { p } else { t }, evals));
            }
            if g < 0.0 {
                lo = t;
            } else {
                hi = Some(t);
            }
            let s = secant(prev, t);
            prev = t;
            let mut next = match hi {
                None => {
                    // Extrapolate by the secant, at most 100-fold; else quadruple.
                    if s.is_finite() && s > lo.alpha {
                        s.min(100.0 * lo.alpha)
                    } else {
                        4.0 * lo.alpha
                    }
                }
                Some(h) => {
                    let w = h.alpha - lo.alpha;
                    if w <= 4.0 * f64::EPSILON * h.alpha {
                        // Exact to rounding.
                        let p = if lo.g.abs() <= h.g.abs() { lo } else { h };
                        return if p.alpha > 0.0 {
                            Ok(accept(p, evals))
                        } else {
                            Err(LineSearchError::RoundingErrors { alpha, best })
                        };
                    }
                    let inside = |a: f64| a > lo.alpha && a < h.alpha;
                    let mut n = if inside(s) { s } else { secant(lo, h) };
                    // Bisect when the last step did not halve the bracket
                    // (regula falsi's one-sided stall).
                    if !inside(n) || w > 0.5 * width {
                        // Bisect; geometrically when the bracket spans decades.
                        n = if lo.alpha > 0.0 && h.alpha > 1e3 * lo.alpha {
                            (lo.alpha * h.alpha).sqrt()
                        } else {
                            lo.alpha + 0.5 * w
                        };
                    }
                    width = w;
                    n
                }
            };
            if next >= self.alpha_max && alpha >= self.alpha_max {
                return Err(LineSearchError::StepBound { alpha, best });
            }
            next = next.min(self.alpha_max);
            if next >= alpha_bad {
                next = lo.alpha + 0.5 * (alpha_bad - lo.alpha);
            }
            if next == alpha || !next.is_finite() {
                return Err(LineSearchError::RoundingErrors { alpha, best });
            }
            alpha = next;
        }
        Err(LineSearchError::MaxEvaluations {
            evals: self.max_evals,
            best,
        })
    }
}
