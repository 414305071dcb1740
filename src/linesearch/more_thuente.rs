//! The Moré-Thuente line search: a step satisfying the strong Wolfe conditions.
//!
//! Jorge J. Moré and David J. Thuente, "Line search algorithms with guaranteed
//! sufficient decrease", *ACM Transactions on Mathematical Software* 20(3),
//! 1994, pp. 286-307 ("MT" below; "MT §2" points into the paper). The same
//! algorithm is MINPACK-2's `dcsrch`/`dcstep`, which this file follows where
//! the paper leaves a detail open; it was written from the paper's description,
//! not translated.
//!
//! # Notation
//!
//! - `φ(α) = f(x + α d)`, `φ(0)`, `φ'(0) < 0`; `μ = c1` (dcsrch's `ftol`) and
//!   `η = c2` (`gtol`). The search ends at an `α` with (MT (1.1), (1.2))
//!   `φ(α) ≤ φ(0) + μ α φ'(0)` and `|φ'(α)| ≤ η |φ'(0)|`.
//! - `ψ(α) = φ(α) − φ(0) − μ α φ'(0)`, the auxiliary function of MT §2.
//! - The interval of uncertainty has endpoints `α_l` (the best step so far,
//!   the one with the least function value, dcsrch's `stx`) and `α_u` (`sty`);
//!   `α_t` is the trial step (`stp`). [`Point`] holds a step with its value and
//!   derivative.
//!
//! # The algorithm
//!
//! 1. Stage one works on `ψ`; once a trial has `ψ(α_t) ≤ 0` and `φ'(α_t) ≥ 0`
//!    the search switches for good to `φ` itself (MT §3, the "modified updating
//!    algorithm").
//! 2. Each trial updates the interval by the rules U1-U3 of MT §2 and chooses
//!    the next trial by the four cases of MT §4 (cubic, quadratic and secant
//!    steps; [`next_trial`]).
//! 3. Safeguards (MT §4 end): once bracketed, if two trials have not shrunk
//!    the interval by the factor 0.66 the next trial is the midpoint; before
//!    bracketing the trial lies in `[α_t + 1.1 (α_t − α_l), α_t + 4 (α_t − α_l)]`,
//!    clipped to `[α_min, α_max]`.
//!
//! # Deviations
//!
//! - A non-finite `φ(α_t)` or `φ'(α_t)` is not passed to the interpolation.
//!   The step is halved toward `α_l` (the best finite point), and no later
//!   trial goes beyond the smallest non-finite step seen. MT assume `φ` is
//!   finite everywhere.
//! - The search stops with a typed error instead of dcsrch's warnings:
//!   "rounding errors prevent progress" and "xtol test satisfied" are
//!   [`LineSearchError::RoundingErrors`], "stp = stpmax"/"stp = stpmin"
//!   [`LineSearchError::StepBound`]; each carries the best step seen.
//! - Stage two begins at `φ'(α_t) ≥ 0`, as in `dcsrch`; MT §3 write `> 0`.
//! - Optionally ([`MoreThuente::with_f_eps`], off by default) a trial that
//!   meets the curvature condition is accepted when `φ(α_t)` exceeds the
//!   sufficient-decrease line by no more than `ε |φ(0)|`, an allowance for
//!   the rounding error of `φ` in the spirit of Hager & Zhang's approximate
//!   Wolfe conditions.

use serde::{Deserialize, Serialize};

use super::{LineFunction, LineSearch, LineSearchError, LineSearchResult, step_back};
use crate::solver::Error;

/// The shrink factor that triggers a bisection (MT §4: "if the length of the
/// interval does not decrease by a factor of δ < 1 after two trials, a
/// bisection step is used"; dcsrch uses 0.66).
const SHRINK: f64 = 0.66;
/// Least extrapolation before bracketing: `α_t + 1.1 (α_t − α_l)` (dcsrch's `xtrapl`).
const EXTRAP_LO: f64 = 1.1;
/// Greatest extrapolation before bracketing: `α_t + 4 (α_t − α_l)` (MT §4's `δ_max = 4`,
/// dcsrch's `xtrapu`).
const EXTRAP_HI: f64 = 4.0;

/// Moré-Thuente line search for the strong Wolfe conditions.
///
/// Finds `α` with `φ(α) ≤ φ(0) + c1 α φ'(0)` and `|φ'(α)| ≤ c2 |φ'(0)|`
/// (Nocedal & Wright (3.7)) by the safeguarded cubic/quadratic interpolation of
/// Moré & Thuente (1994). Every trial evaluates `φ` and `φ'` together.
///
/// Defaults:
/// - `c1 = 1e-4`, `c2 = 0.9`: Nocedal & Wright p. 34 (and p. 142 for
///   quasi-Newton); nonlinear conjugate gradients want `c2 = 0.1` (N&W p. 125).
/// - `xtol = 1e-10`: relative width of the interval below which the search
///   stops with [`LineSearchError::RoundingErrors`]. `dcsrch` leaves it to the
///   caller; scipy's `scalar_search_wolfe1` passes `1e-14`; any value a few
///   times machine epsilon or more works, a larger one stops a stalled search
///   sooner.
/// - `alpha_min = 1e-100`, `alpha_max = 1e100`: the step bounds (`stpmin`,
///   `stpmax`), as scipy's BFGS passes to its Wolfe search. LBFGS++ uses
///   `1e-20`, which is too large where `‖∇f‖` is: a first step
///   `1/‖d‖∞ = 1e-36` (Jennrich-Sampson from 10× its start) clipped up to
///   `1e-20` moves `x` by `1e16`.
/// - `max_evals = 20`: as LBFGS++'s `max_linesearch` (scipy's wrapper allows
///   100). The six test functions of MT §5 need at most 13.
///
/// ```
/// use hesse::linesearch::{FnLine, LineSearch, MoreThuente};
/// // φ(α) = −α / (α² + 2) (MT (5.1)): minimizer √2.
/// let mut phi = FnLine::new(|a: f64| (-a / (a * a + 2.0), (a * a - 2.0) / (a * a + 2.0).powi(2)));
/// let mut mt = MoreThuente::default().with_c1(1e-3).with_c2(0.1);
/// let step = mt.search(&mut phi, 0.0, -0.5, 0.1).unwrap();
/// assert_eq!(step.evals, 3); // MT Table 1: 3 evaluations from α₀ = 0.1
/// assert!((step.alpha - 1.4414).abs() < 1e-4);
/// assert!(step.dphi.unwrap().abs() <= 0.1 * 0.5);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MoreThuente {
    /// Sufficient-decrease constant `μ = c1 ∈ (0, 1)` (dcsrch's `ftol`).
    #[serde(with = "crate::solver::float_serde")]
    pub c1: f64,
    /// Curvature constant `η = c2 ∈ (0, 1)` (dcsrch's `gtol`). MT's tables use
    /// `c2 = c1`; with `c2 < c1` a step meeting both conditions need not exist
    /// and the search may end with an error.
    #[serde(with = "crate::solver::float_serde")]
    pub c2: f64,
    /// Relative interval width that ends the search (dcsrch's `xtol`).
    #[serde(with = "crate::solver::float_serde")]
    pub xtol: f64,
    /// Smallest step (dcsrch's `stpmin`).
    #[serde(with = "crate::solver::float_serde")]
    pub alpha_min: f64,
    /// Largest step (dcsrch's `stpmax`).
    #[serde(with = "crate::solver::float_serde")]
    pub alpha_max: f64,
    /// Evaluation budget (each evaluation is of `φ` and `φ'` together).
    pub max_evals: u32,
    /// Rounding allowance `ε ≥ 0` of the sufficient-decrease test (default
    /// `0`: MT's conditions exactly). The test becomes
    /// `φ(α) ≤ φ(0) + c1 α φ'(0) + ε |φ(0)|`; the curvature test is unchanged.
    /// Near a minimizer the decrease `c1 α φ'(0)` falls below the rounding
    /// error of `φ`, and a step that makes `φ'` vanish can evaluate a few
    /// ulps above `φ(0)`: the exact test rejects it and the search spends
    /// its budget on rounding noise. This is the idea of the approximate
    /// Wolfe conditions of Hager & Zhang, "A new conjugate gradient method
    /// with guaranteed descent and an efficient line search", *SIAM J.
    /// Optim.* 16 (2005), (4.1)-(4.2), whose `φ(α) ≤ φ(0) + ε_k` with
    /// `ε_k = 1e-6 |f|` allows far more; `1e-14` (about 45 ulps of `φ(0)`)
    /// keeps `f` accurate to its last digits.
    #[serde(default)]
    pub f_eps: f64,
}

impl Default for MoreThuente {
    fn default() -> Self {
        MoreThuente {
            c1: 1e-4,
            c2: 0.9,
            xtol: 1e-10,
            alpha_min: 1e-100,
            alpha_max: 1e100,
            max_evals: 20,
            f_eps: 0.0,
        }
    }
}

impl MoreThuente {
    /// Sets the sufficient-decrease constant `c1` (default `1e-4`).
    #[must_use]
    pub fn with_c1(mut self, c1: f64) -> Self {
        self.c1 = c1;
        self
    }

    /// Sets the curvature constant `c2` (default `0.9`; `0.1` for CG).
    #[must_use]
    pub fn with_c2(mut self, c2: f64) -> Self {
        self.c2 = c2;
        self
    }

    /// Sets the relative interval tolerance `xtol` (default `1e-10`).
    #[must_use]
    pub fn with_xtol(mut self, xtol: f64) -> Self {
        self.xtol = xtol;
        self
    }

    /// Sets the smallest step (default `1e-100`).
    #[must_use]
    pub fn with_alpha_min(mut self, alpha_min: f64) -> Self {
        self.alpha_min = alpha_min;
        self
    }

    /// Sets the largest step (default `1e100`).
    #[must_use]
    pub fn with_alpha_max(mut self, alpha_max: f64) -> Self {
        self.alpha_max = alpha_max;
        self
    }

    /// Sets the rounding allowance `ε` of the sufficient-decrease test
    /// (default `0`, off; see [`MoreThuente::f_eps`]).
    #[must_use]
    pub fn with_f_eps(mut self, f_eps: f64) -> Self {
        self.f_eps = f_eps;
        self
    }

    /// Sets the evaluation budget (default 20).
    #[must_use]
    pub fn with_max_evals(mut self, max_evals: u32) -> Self {
        self.max_evals = max_evals;
        self
    }
}

/// A step with its value and derivative (of `φ` or `ψ`, as the stage says).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Point {
    pub(crate) alpha: f64,
    pub(crate) f: f64,
    pub(crate) g: f64,
}

impl LineSearch for MoreThuente {
    fn validate(&self) -> Result<(), Error> {
        if !(self.c1 > 0.0 && self.c1 < 1.0) {
            return Err(Error::invalid_option("c1", self.c1, "must be in (0, 1)"));
        }
        if !(self.c2 > 0.0 && self.c2 < 1.0) {
            return Err(Error::invalid_option("c2", self.c2, "must be in (0, 1)"));
        }
        if self.c2 < self.c1 {
            // N&W Lemma 3.1: Wolfe points exist for 0 < c1 < c2 < 1 (MT's
            // tables also run c1 = c2); with c2 < c1 there may be none.
            return Err(Error::invalid_option(
                "c2",
                self.c2,
                "must be >= c1 (0 < c1 <= c2 < 1)",
            ));
        }
        if self.xtol.is_nan() || self.xtol < 0.0 {
            return Err(Error::invalid_option("xtol", self.xtol, "must be >= 0"));
        }
        if !(self.alpha_min >= 0.0 && self.alpha_max > self.alpha_min) {
            return Err(Error::invalid_option(
                "alpha_max",
                self.alpha_max,
                "must exceed alpha_min >= 0",
            ));
        }
        if !(self.f_eps >= 0.0 && self.f_eps.is_finite()) {
            return Err(Error::invalid_option(
                "f_eps",
                self.f_eps,
                "must be finite and >= 0",
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
        let (alpha_min, alpha_max) = (self.alpha_min, self.alpha_max);
        let mut alpha = if alpha0.is_finite() && alpha0 > 0.0 {
            alpha0
        } else {
            1.0
        };
        alpha = alpha.clamp(alpha_min, alpha_max);

        // The slope of the sufficient-decrease line: ψ(α) = φ(α) − φ(0) − α·gtest.
        let gtest = self.c1 * dphi0;
        let gtol = self.c2 * -dphi0;
        // The rounding allowance of the sufficient-decrease test (`f_eps`).
        let f_slack = self.f_eps * phi0.abs();
        let mut stage_one = true;
        let mut bracketed = false;
        // α_l (best) and α_u, both at α = 0 to begin with (MT §2).
        let mut l = Point {
            alpha: 0.0,
            f: phi0,
            g: dphi0,
        };
        let mut u = l;
        // Interval widths for the bisection safeguard (dcsrch's width, width1).
        let mut width = alpha_max - alpha_min;
        let mut width_prev = 2.0 * width;
        // The interval a trial must lie in: before bracketing, the extrapolation range.
        let mut lo = 0.0;
        let mut hi = alpha + EXTRAP_HI * alpha;
        // The smallest step at which φ was not finite.
        let mut alpha_bad = f64::INFINITY;
        // Non-finite trials in a row, for the step-back factor.
        let mut non_finite_run = 0;
        let mut best: Option<(f64, f64)> = None;

        for evals in 1..=self.max_evals {
            let (f, g) = phi.value_deriv(alpha);
            if !f.is_finite() || !g.is_finite() {
                // Deviation: step back toward the best point, never interpolate a NaN.
                alpha_bad = alpha_bad.min(alpha);
                non_finite_run += 1;
                let back = l.alpha + step_back(non_finite_run) * (alpha - l.alpha);
                if back == alpha || back == l.alpha || back < alpha_min {
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
            let ftest = phi0 + alpha * gtest;
            // MT §3: switch from ψ to φ once ψ(α) ≤ 0 and φ'(α) ≥ 0.
            if stage_one && f <= ftest && g >= 0.0 {
                stage_one = false;
            }
            // Strong Wolfe: MT (1.1) and (1.2), (1.1) up to rounding.
            if f <= ftest + f_slack && g.abs() <= gtol {
                return Ok(LineSearchResult {
                    alpha,
                    phi: f,
                    dphi: Some(g),
                    evals,
                });
            }
            if bracketed && (alpha <= lo || alpha >= hi) {
                return Err(LineSearchError::RoundingErrors { alpha, best });
            }
            if bracketed && hi - lo <= self.xtol * hi {
                return Err(LineSearchError::RoundingErrors { alpha, best });
            }
            if alpha == alpha_max && f <= ftest && g <= gtest {
                return Err(LineSearchError::StepBound { alpha, best });
            }
            if alpha == alpha_min && (f > ftest || g >= gtest) {
                return Err(LineSearchError::StepBound { alpha, best });
            }

            let t = Point { alpha, f, g };
            let mut next = if stage_one && f <= l.f && f > ftest {
                // MT §3: work on ψ while the trial decreases φ but not ψ
                // enough, so that the interpolation sees the ψ-shape.
                let to_psi = |p: Point| Point {
                    alpha: p.alpha,
                    f: p.f - p.alpha * gtest,
                    g: p.g - gtest,
                };
                let to_phi = |p: Point| Point {
                    alpha: p.alpha,
                    f: p.f + p.alpha * gtest,
                    g: p.g + gtest,
                };
                let (mut lm, mut um) = (to_psi(l), to_psi(u));
                let next = next_trial(&mut lm, &mut um, to_psi(t), &mut bracketed, lo, hi);
                l = to_phi(lm);
                u = to_phi(um);
                next
            } else {
                next_trial(&mut l, &mut u, t, &mut bracketed, lo, hi)
            };

            if bracketed {
                // Bisect if two trials did not shrink the interval enough.
                if (u.alpha - l.alpha).abs() >= SHRINK * width_prev {
                    next = l.alpha + 0.5 * (u.alpha - l.alpha);
                }
                width_prev = width;
                width = (u.alpha - l.alpha).abs();
                lo = l.alpha.min(u.alpha);
                hi = l.alpha.max(u.alpha);
            } else {
                lo = next + EXTRAP_LO * (next - l.alpha);
                hi = next + EXTRAP_HI * (next - l.alpha);
            }
            next = next.clamp(alpha_min, alpha_max);
            // Never go back beyond a step where φ was not finite.
            if next >= alpha_bad {
                next = l.alpha + 0.5 * (alpha_bad - l.alpha);
            }
            // With no progress possible, evaluate the best point once more
            // (dcsrch does the same); the tests above then stop the search.
            if bracketed && (next <= lo || next >= hi || hi - lo <= self.xtol * hi) {
                next = l.alpha;
            }
            if !next.is_finite() {
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

/// The trial step selection of MT §4 (dcstep): from the interval endpoints `l`
/// (best) and `u` and the trial `t`, returns the next trial and updates the
/// interval by MT §2's rules U1-U3.
///
/// `lo`, `hi` bound the extrapolation while no minimizer is bracketed.
pub(crate) fn next_trial(
    l: &mut Point,
    u: &mut Point,
    t: Point,
    bracketed: &mut bool,
    lo: f64,
    hi: f64,
) -> f64 {
    // Whether φ'(α_t) and φ'(α_l) have opposite signs.
    let opposite = t.g * l.g.signum() < 0.0;
    let next = if t.f > l.f {
        // Case 1: a higher value. The minimizer is bracketed; take the cubic
        // step if it is closer to α_l than the quadratic one, else their mean.
        let c = cubic_min(*l, t);
        let q = quadratic_min(*l, t);
        *bracketed = true;
        if (c - l.alpha).abs() < (q - l.alpha).abs() {
            c
        } else {
            c + 0.5 * (q - c)
        }
    } else if opposite {
        // Case 2: lower value, derivatives of opposite sign: bracketed; take
        // the step farther from α_t of the cubic and the secant steps.
        let c = cubic_min(*l, t);
        let s = secant(*l, t);
        *bracketed = true;
        if (c - t.alpha).abs() > (s - t.alpha).abs() {
            c
        } else {
            s
        }
    } else if t.g.abs() <= l.g.abs() {
        // Case 3: lower value, same sign, the derivative decreases in
        // magnitude. Use the cubic only if it tends to infinity in the
        // direction of the step and its minimizer lies beyond α_t.
        let c = cubic_min_beyond(*l, t).unwrap_or(if t.alpha > l.alpha { hi } else { lo });
        let s = secant(*l, t);
        if *bracketed {
            // The step closer to α_t, but at most 0.66 of the way to α_u.
            let step = if (c - t.alpha).abs() < (s - t.alpha).abs() {
                c
            } else {
                s
            };
            let limit = t.alpha + SHRINK * (u.alpha - t.alpha);
            if t.alpha > l.alpha {
                step.min(limit)
            } else {
                step.max(limit)
            }
        } else {
            // The step farther from α_t, within the extrapolation range.
            let step = if (c - t.alpha).abs() > (s - t.alpha).abs() {
                c
            } else {
                s
            };
            step.clamp(lo.min(hi), hi.max(lo))
        }
    } else {
        // Case 4: lower value, same sign, the derivative does not decrease:
        // the cubic through α_t and α_u if bracketed, else a bound.
        if *bracketed {
            cubic_min(t, *u)
        } else if t.alpha > l.alpha {
            hi
        } else {
            lo
        }
    };
    // MT §2, U1-U3.
    if t.f > l.f {
        *u = t; // U1
    } else {
        if opposite {
            *u = *l; // U3
        }
        *l = t; // U2, U3
    }
    next
}

/// The minimizer of the cubic interpolating `f` and `g` at `a` and `b`
/// (Nocedal & Wright (3.59)), scaled against overflow. Where the cubic has no
/// minimizer the radicand is clamped at zero, which gives its inflection point.
fn cubic_min(a: Point, b: Point) -> f64 {
    cubic_parts(a, b).0
}

/// `(minimizer, radicand > 0)` of the cubic of [`cubic_min`].
fn cubic_parts(a: Point, b: Point) -> (f64, bool) {
    // N&W (3.59) with α_{i−1} = a, α_i = b:
    // d1 = φ'(a) + φ'(b) − 3 (φ(a) − φ(b)) / (a − b),
    // d2 = sign(b − a) √(d1² − φ'(a) φ'(b)),
    // α = b − (b − a) (φ'(b) + d2 − d1) / (φ'(b) − φ'(a) + 2 d2).
    let d1 = a.g + b.g - 3.0 * (a.f - b.f) / (a.alpha - b.alpha);
    let s = d1.abs().max(a.g.abs()).max(b.g.abs());
    let rad = (d1 / s) * (d1 / s) - (a.g / s) * (b.g / s);
    let d2 = (b.alpha - a.alpha).signum() * s * rad.max(0.0).sqrt();
    let alpha = b.alpha - (b.alpha - a.alpha) * (b.g + d2 - d1) / (b.g - a.g + 2.0 * d2);
    (alpha, rad > 0.0)
}

/// MT §4 case 3: the cubic's minimizer if the cubic has one and it lies
/// beyond `t` as seen from `l`.
fn cubic_min_beyond(l: Point, t: Point) -> Option<f64> {
    let (c, has_min) = cubic_parts(l, t);
    (has_min && c.is_finite() && (c - t.alpha) * (t.alpha - l.alpha) > 0.0).then_some(c)
}

/// The minimizer of the quadratic interpolating `φ(a)`, `φ'(a)` and `φ(b)`.
fn quadratic_min(a: Point, b: Point) -> f64 {
    let h = b.alpha - a.alpha;
    a.alpha - a.g * h * h / (2.0 * (b.f - a.f - a.g * h))
}

/// The zero of the line through `(a, φ'(a))` and `(b, φ'(b))`.
pub(crate) fn secant(a: Point, b: Point) -> f64 {
    b.alpha - b.g * (b.alpha - a.alpha) / (b.g - a.g)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(alpha: f64, f: f64, g: f64) -> Point {
        Point { alpha, f, g }
    }

    #[test]
    fn cubic_interpolant_recovers_a_cubic() {
        // φ(α) = α³ − 3α has its local minimizer at 1.
        let f = |a: f64| p(a, a * a * a - 3.0 * a, 3.0 * a * a - 3.0);
        assert!((cubic_min(f(0.0), f(3.0)) - 1.0).abs() < 1e-12);
        assert!((cubic_min(f(3.0), f(0.5)) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn quadratic_and_secant_recover_a_quadratic() {
        let f = |a: f64| p(a, (a - 2.0).powi(2), 2.0 * (a - 2.0));
        assert!((quadratic_min(f(0.0), f(5.0)) - 2.0).abs() < 1e-12);
        assert!((secant(f(0.5), f(7.0)) - 2.0).abs() < 1e-12);
    }

    /// At rounding level: `φ` is flat but for a few ulps above `φ(0)`, and
    /// `φ'` vanishes at the first trial. The exact conditions reject it and
    /// the search fails; `f_eps = 1e-14` accepts it at once.
    #[test]
    fn rounding_allowance_accepts_a_step_a_few_ulps_up() {
        use crate::linesearch::FnLine;
        let phi = |a: f64| {
            let f = if a == 0.0 { 1.0 } else { 1.0 + 1e-15 };
            (f, -1e-20 * (1.0 - a))
        };
        let exact = MoreThuente::default().search(&mut FnLine::new(phi), 1.0, -1e-20, 1.0);
        assert!(exact.is_err(), "{exact:?}");
        let approx = MoreThuente::default()
            .with_f_eps(1e-14)
            .search(&mut FnLine::new(phi), 1.0, -1e-20, 1.0)
            .unwrap();
        assert_eq!((approx.alpha, approx.evals), (1.0, 1));
        // 1e-15 is beyond an allowance of 1e-16.
        let tight = MoreThuente::default().with_f_eps(1e-16);
        assert!(
            tight
                .clone()
                .search(&mut FnLine::new(phi), 1.0, -1e-20, 1.0)
                .is_err()
        );
        assert!(MoreThuente::default().with_f_eps(-1.0).validate().is_err());
        assert!(
            MoreThuente::default()
                .with_f_eps(f64::NAN)
                .validate()
                .is_err()
        );
    }

    #[test]
    fn case_one_brackets_and_keeps_the_best_point() {
        let mut l = p(0.0, 0.0, -1.0);
        let mut u = l;
        let mut bracketed = false;
        let t = p(1.0, 1.0, 2.0);
        let next = next_trial(&mut l, &mut u, t, &mut bracketed, 0.0, 5.0);
        assert!(bracketed);
        assert_eq!(l, p(0.0, 0.0, -1.0));
        assert_eq!(u, t);
        assert!(next > 0.0 && next < 1.0);
    }
}
