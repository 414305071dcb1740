//! The Hager-Zhang line search: Wolfe or approximate Wolfe conditions by
//! bracketing, bisection and double secant steps.
//!
//! W. W. Hager and H. Zhang, "A new conjugate gradient method with guaranteed
//! descent and an efficient line search", *SIAM J. Optim.* 16(1), 2005,
//! pp. 170-192 ("HZ05"; the line search is its §4), and "Algorithm 851:
//! CG_DESCENT, a conjugate gradient method with guaranteed descent", *ACM
//! TOMS* 32(1), 2006, pp. 113-137 ("HZ06"; the switch to approximate Wolfe and
//! the average `C_k` are its §4). Comments "HZ05 (4.x)", "U3", "S1"... point to
//! the paper's equations and the steps of its procedures `update`, `secant²`
//! and `bracket`.
//!
//! # Notation
//!
//! `φ(α) = f(x_k + α d_k)`. A step `c` is accepted when it satisfies either
//! - (T1) the Wolfe conditions (HZ05 (2.2)-(2.3)), `φ(c) − φ(0) ≤ δ c φ'(0)` and
//!   `φ'(c) ≥ σ φ'(0)`; or
//! - (T2) the approximate Wolfe conditions (HZ05 (4.1)),
//!   `(2δ − 1) φ'(0) ≥ φ'(c) ≥ σ φ'(0)`, together with `φ(c) ≤ φ(0) + ε_k`
//!   (HZ05 (4.2)), where `ε_k = ε C_k`;
//!
//! T2 is used only after the switch of HZ06 §4: once `|f_{k+1} − f_k| ≤ ω C_k`,
//! it stays on for the rest of the run. `C_k` is a weighted average of
//! `|f(x_0)|, …, |f(x_k)|`: `Q_{k+1} = 1 + Δ Q_k`, `C_{k+1} = C_k + (|f_{k+1}| −
//! C_k)/Q_{k+1}`, `Q_0 = 1`, `C_0 = |f_0|` (HZ06 (25)-(26)). Hence the
//! search keeps state across the calls of one run and takes `&mut self`.
//!
//! The search (HZ05 §4, "Line search algorithm"): L0 `[a₀, b₀] = bracket(c)`;
//! L1 `[a, b] = secant²(a_j, b_j)`; L2 if `b − a > γ (b_j − a_j)`, bisect with
//! `update(a, b, (a + b)/2)`; L3 repeat. The conditions are tested at every
//! evaluated point.
//!
//! # Deviations
//!
//! - T1/T2 are tested after every evaluation, including the first trial and
//!   the points of `bracket` and `update` (HZ05 tests at the end of L1-L3;
//!   CG_DESCENT tests inside as we do).
//! - A non-finite `φ` or `φ'` at a trial is stepped back from by halving
//!   toward the last good point, and no later trial goes beyond it (as
//!   LineSearches.jl does in `bracket`; CG_DESCENT assumes finite values).
//! - Every search has an evaluation budget (`max_evals`, default 50 as
//!   LineSearches.jl's `linesearchmax`); CG_DESCENT bounds its loops
//!   separately (`nexpand`, `nsecant`, `nshrink`).
//! - `psi0`/`psi1`/`psi2`, the initial-step rules, live in
//!   [`HagerZhangInitial`](super::HagerZhangInitial), not here.

use serde::{Deserialize, Serialize};

use super::more_thuente::{Point, secant};

use super::{LineFunction, LineSearch, LineSearchError, LineSearchResult};
use crate::solver::Error;

/// The Hager-Zhang line search (CG_DESCENT's, HZ05 §4 with HZ06 §4's switch).
///
/// Defaults (HZ05 §5; CG_DESCENT's defaults as HZ06 lists them): `δ = 0.1`, `σ = 0.9`, `ε = 1e-6`,
/// `θ = 0.5` (bisection in U3), `γ = 0.66` (required shrink per secant²
/// round), `ρ = 5` (expansion factor in `bracket`), `ω = 1e-3` (switch to
/// approximate Wolfe), `Δ = 0.7` (weight in `C_k`), and `max_evals = 50`.
///
/// ```
/// use hesse::linesearch::{FnLine, HagerZhang, LineSearch};
/// let mut phi = FnLine::new(|a: f64| ((a - 1.0).powi(2), 2.0 * (a - 1.0)));
/// let mut hz = HagerZhang::default();
/// let step = hz.search(&mut phi, 1.0, -2.0, 0.1).unwrap();
/// // Wolfe: sufficient decrease and φ'(α) ≥ σ φ'(0).
/// assert!(step.phi <= 1.0 + 0.1 * step.alpha * -2.0);
/// assert!(step.dphi.unwrap() >= 0.9 * -2.0);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HagerZhang {
    /// `δ ∈ (0, 0.5)`: sufficient decrease in T1, and the slope bound `(2δ − 1)φ'(0)` in T2.
    #[serde(with = "crate::solver::float_serde")]
    pub delta: f64,
    /// `σ ∈ [δ, 1)`: the curvature condition `φ'(α) ≥ σ φ'(0)`.
    #[serde(with = "crate::solver::float_serde")]
    pub sigma: f64,
    /// `ε ≥ 0`: the allowed rise `ε_k = ε C_k` of `φ` under approximate Wolfe.
    #[serde(with = "crate::solver::float_serde")]
    pub epsilon: f64,
    /// `θ ∈ (0, 1)`: where U3 cuts its interval (0.5 = bisection).
    #[serde(with = "crate::solver::float_serde")]
    pub theta: f64,
    /// `γ ∈ (0, 1)`: a secant² round that shrinks the interval by less is followed by a bisection.
    #[serde(with = "crate::solver::float_serde")]
    pub gamma: f64,
    /// `ρ > 1`: the expansion factor of `bracket`.
    #[serde(with = "crate::solver::float_serde")]
    pub rho: f64,
    /// `ω`: switch to approximate Wolfe once `|f_{k+1} − f_k| ≤ ω C_k`.
    #[serde(with = "crate::solver::float_serde")]
    pub omega: f64,
    /// `Δ ∈ [0, 1]`: the weight of the past in `C_k`.
    #[serde(with = "crate::solver::float_serde")]
    pub big_delta: f64,
    /// Whether approximate Wolfe may be used at all (the switch still applies).
    pub approximate_wolfe: bool,
    /// Evaluation budget per search.
    pub max_evals: u32,
    /// `C_k`, the average of `|f|` (NaN before the first search of a run).
    #[serde(with = "crate::solver::float_serde")]
    c_k: f64,
    /// `Q_k`, the normalizer of `C_k`.
    #[serde(with = "crate::solver::float_serde")]
    q_k: f64,
    /// Whether the switch to approximate Wolfe has happened.
    use_approximate: bool,
}

impl Default for HagerZhang {
    fn default() -> Self {
        HagerZhang {
            delta: 0.1,
            sigma: 0.9,
            epsilon: 1e-6,
            theta: 0.5,
            gamma: 0.66,
            rho: 5.0,
            omega: 1e-3,
            big_delta: 0.7,
            approximate_wolfe: true,
            max_evals: 50,
            c_k: f64::NAN,
            q_k: 0.0,
            use_approximate: false,
        }
    }
}

impl HagerZhang {
    /// Sets `δ` (default 0.1).
    #[must_use]
    pub fn with_delta(mut self, delta: f64) -> Self {
        self.delta = delta;
        self
    }

    /// Sets `σ` (default 0.9; HZ05 §5 uses 0.9 for CG_DESCENT).
    #[must_use]
    pub fn with_sigma(mut self, sigma: f64) -> Self {
        self.sigma = sigma;
        self
    }

    /// Sets `ε` (default `1e-6`).
    #[must_use]
    pub fn with_epsilon(mut self, epsilon: f64) -> Self {
        self.epsilon = epsilon;
        self
    }

    /// Sets `θ` (default 0.5).
    #[must_use]
    pub fn with_theta(mut self, theta: f64) -> Self {
        self.theta = theta;
        self
    }

    /// Sets `γ` (default 0.66).
    #[must_use]
    pub fn with_gamma(mut self, gamma: f64) -> Self {
        self.gamma = gamma;
        self
    }

    /// Sets `ρ` (default 5).
    #[must_use]
    pub fn with_rho(mut self, rho: f64) -> Self {
        self.rho = rho;
        self
    }

    /// Sets `ω` (default `1e-3`).
    #[must_use]
    pub fn with_omega(mut self, omega: f64) -> Self {
        self.omega = omega;
        self
    }

    /// Sets `Δ` (default 0.7).
    #[must_use]
    pub fn with_big_delta(mut self, big_delta: f64) -> Self {
        self.big_delta = big_delta;
        self
    }

    /// Allows (default) or forbids the approximate Wolfe conditions.
    #[must_use]
    pub fn with_approximate_wolfe(mut self, on: bool) -> Self {
        self.approximate_wolfe = on;
        self
    }

    /// Sets the evaluation budget (default 50).
    #[must_use]
    pub fn with_max_evals(mut self, max_evals: u32) -> Self {
        self.max_evals = max_evals;
        self
    }

    /// `C_k`, the running average of `|f|` that scales `ε_k` (NaN before the first search).
    pub fn c_k(&self) -> f64 {
        self.c_k
    }

    /// Whether this run has switched to the approximate Wolfe conditions.
    pub fn uses_approximate_wolfe(&self) -> bool {
        self.use_approximate
    }
}

/// How a search ends from deep inside: an accepted point or a failure.
enum Exit {
    Accept(Point, u32),
    Fail(LineSearchError),
}

/// One search: `φ`, the constants, and the counters.
struct Search<'a> {
    phi: &'a mut dyn LineFunction,
    hz: &'a HagerZhang,
    phi0: f64,
    dphi0: f64,
    /// `φ(0) + ε_k`.
    f_bound: f64,
    approximate: bool,
    evals: u32,
    alpha_bad: f64,
    best: Option<(f64, f64)>,
}

impl Search<'_> {
    /// Evaluates at `alpha`, stepping back toward `good` (a finite point) on
    /// non-finite values, and ends the search if T1 or T2 holds.
    fn eval(&mut self, alpha: f64, good: f64) -> Result<Point, Exit> {
        let mut alpha = alpha;
        if alpha >= self.alpha_bad {
            alpha = good + 0.5 * (self.alpha_bad - good);
        }
        let mut non_finite_run = 0;
        loop {
            if !alpha.is_finite() || alpha <= 0.0 {
                return Err(Exit::Fail(LineSearchError::RoundingErrors {
                    alpha,
                    best: self.best,
                }));
            }
            if self.evals >= self.hz.max_evals {
                return Err(Exit::Fail(LineSearchError::MaxEvaluations {
                    evals: self.evals,
                    best: self.best,
                }));
            }
            self.evals += 1;
            let (f, g) = self.phi.value_deriv(alpha);
            if f.is_finite() && g.is_finite() {
                let p = Point { alpha, f, g };
                if f < self.phi0 && self.best.is_none_or(|(_, b)| f < b) {
                    self.best = Some((alpha, f));
                }
                if self.accepts(p) {
                    return Err(Exit::Accept(p, self.evals));
                }
                return Ok(p);
            }
            self.alpha_bad = self.alpha_bad.min(alpha);
            non_finite_run += 1;
            let back = good + super::step_back(non_finite_run) * (alpha - good);
            if back == alpha || back == good {
                return Err(Exit::Fail(match self.best {
                    None => LineSearchError::NonFinite { alpha },
                    best => LineSearchError::RoundingErrors { alpha, best },
                }));
            }
            alpha = back;
        }
    }

    /// T1 (Wolfe) or, after the switch, T2 (approximate Wolfe).
    fn accepts(&self, c: Point) -> bool {
        let (d, s) = (self.hz.delta, self.hz.sigma);
        let curvature = c.g >= s * self.dphi0;
        let wolfe = c.f - self.phi0 <= d * c.alpha * self.dphi0 && curvature;
        let approximate = self.approximate
            && (2.0 * d - 1.0) * self.dphi0 >= c.g
            && curvature
            && c.f <= self.f_bound;
        wolfe || approximate
    }

    /// Fails when an interval has shrunk to rounding.
    fn check_width(&self, a: Point, b: Point) -> Result<(), Exit> {
        if b.alpha - a.alpha <= 2.0 * f64::EPSILON * b.alpha {
            Err(Exit::Fail(LineSearchError::RoundingErrors {
                alpha: b.alpha,
                best: self.best,
            }))
        } else {
            Ok(())
        }
    }

    /// `update(a, b, c)`, HZ05 §4 U0-U3.
    fn update(&mut self, a: Point, b: Point, c: Point) -> Result<(Point, Point), Exit> {
        if !(c.alpha > a.alpha && c.alpha < b.alpha) {
            return Ok((a, b)); // U0
        }
        if c.g >= 0.0 {
            return Ok((a, c)); // U1
        }
        if c.f <= self.f_bound {
            return Ok((c, b)); // U2
        }
        self.shrink(a, c) // U3
    }

    /// U3a-c: `[â, b̂]` has `φ'(â) < 0`, `φ(â) ≤ φ(0) + ε_k` and
    /// `φ(b̂) > φ(0) + ε_k`; cut it at `(1 − θ) â + θ b̂` until the cut has
    /// `φ' ≥ 0`.
    fn shrink(&mut self, mut a: Point, mut b: Point) -> Result<(Point, Point), Exit> {
        loop {
            self.check_width(a, b)?;
            let theta = self.hz.theta;
            let d = self.eval((1.0 - theta) * a.alpha + theta * b.alpha, a.alpha)?;
            if d.g >= 0.0 {
                return Ok((a, d)); // U3a
            }
            if d.f <= self.f_bound {
                a = d; // U3b
            } else {
                b = d; // U3c
            }
        }
    }

    /// Evaluates the secant step of `(a, b)` if it lies inside `(lo, hi)`.
    fn secant_point(
        &mut self,
        a: Point,
        b: Point,
        lo: Point,
        hi: Point,
    ) -> Result<Option<Point>, Exit> {
        let c = secant(a, b);
        if c.is_finite() && c > lo.alpha && c < hi.alpha {
            Ok(Some(self.eval(c, lo.alpha)?))
        } else {
            Ok(None)
        }
    }

    /// `secant²(a, b)`, HZ05 §4 S1-S4.
    fn secant2(&mut self, a: Point, b: Point) -> Result<(Point, Point), Exit> {
        // S1
        let Some(c) = self.secant_point(a, b, a, b)? else {
            return Ok((a, b));
        };
        let (lo, hi) = self.update(a, b, c)?;
        // S2, S3: a second secant step from the side that moved.
        let c_bar = if c.alpha == hi.alpha {
            self.secant_point(b, hi, lo, hi)?
        } else if c.alpha == lo.alpha {
            self.secant_point(a, lo, lo, hi)?
        } else {
            None
        };
        // S4
        match c_bar {
            Some(c_bar) => self.update(lo, hi, c_bar),
            None => Ok((lo, hi)),
        }
    }

    /// `bracket(c)`, HZ05 §4 B0-B3: expand by `ρ` until `φ' ≥ 0` or `φ` rises
    /// above `φ(0) + ε_k`.
    fn bracket(&mut self, mut c: Point) -> Result<(Point, Point), Exit> {
        let zero = Point {
            alpha: 0.0,
            f: self.phi0,
            g: self.dphi0,
        };
        // The last c_i with φ(c_i) ≤ φ(0) + ε_k (B1).
        let mut last_ok = zero;
        loop {
            if c.g >= 0.0 {
                return Ok((last_ok, c)); // B1
            }
            if c.f > self.f_bound {
                return self.shrink(zero, c); // B2
            }
            last_ok = c; // B3
            c = self.eval(self.hz.rho * c.alpha, c.alpha)?;
            if c.alpha <= last_ok.alpha {
                return Err(Exit::Fail(LineSearchError::RoundingErrors {
                    alpha: c.alpha,
                    best: self.best,
                }));
            }
        }
    }

    fn run(&mut self, alpha0: f64) -> Result<std::convert::Infallible, Exit> {
        let c = self.eval(alpha0, 0.0)?;
        let (mut a, mut b) = self.bracket(c)?; // L0
        loop {
            self.check_width(a, b)?;
            let (mut a1, mut b1) = self.secant2(a, b)?; // L1
            if b1.alpha - a1.alpha > self.hz.gamma * (b.alpha - a.alpha) {
                // L2
                self.check_width(a1, b1)?;
                let c = self.eval(0.5 * (a1.alpha + b1.alpha), a1.alpha)?;
                (a1, b1) = self.update(a1, b1, c)?;
            }
            (a, b) = (a1, b1); // L3
        }
    }
}

impl LineSearch for HagerZhang {
    fn validate(&self) -> Result<(), Error> {
        if !(self.delta > 0.0 && self.delta < 0.5) {
            return Err(Error::invalid_option(
                "delta",
                self.delta,
                "must be in (0, 0.5)",
            ));
        }
        if !(self.sigma >= self.delta && self.sigma < 1.0) {
            return Err(Error::invalid_option(
                "sigma",
                self.sigma,
                "must be in [delta, 1)",
            ));
        }
        if self.epsilon.is_nan() || self.epsilon < 0.0 {
            return Err(Error::invalid_option(
                "epsilon",
                self.epsilon,
                "must be >= 0",
            ));
        }
        if !(self.theta > 0.0 && self.theta < 1.0) {
            return Err(Error::invalid_option(
                "theta",
                self.theta,
                "must be in (0, 1)",
            ));
        }
        if !(self.gamma > 0.0 && self.gamma < 1.0) {
            return Err(Error::invalid_option(
                "gamma",
                self.gamma,
                "must be in (0, 1)",
            ));
        }
        if self.rho.is_nan() || self.rho <= 1.0 {
            return Err(Error::invalid_option("rho", self.rho, "must be > 1"));
        }
        if self.omega.is_nan() || self.omega < 0.0 {
            return Err(Error::invalid_option("omega", self.omega, "must be >= 0"));
        }
        if !(0.0..=1.0).contains(&self.big_delta) {
            return Err(Error::invalid_option(
                "big_delta",
                self.big_delta,
                "must be in [0, 1]",
            ));
        }
        if self.max_evals == 0 {
            return Err(Error::invalid_option("max_evals", 0, "must be >= 1"));
        }
        Ok(())
    }

    fn reset(&mut self) {
        self.c_k = f64::NAN;
        self.q_k = 0.0;
        self.use_approximate = false;
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
        if !self.c_k.is_finite() {
            // HZ06 (26) with Q_{-1} = 0: Q_0 = 1, C_0 = |f_0|.
            self.q_k = 1.0;
            self.c_k = phi0.abs();
        }
        let alpha0 = if alpha0.is_finite() && alpha0 > 0.0 {
            alpha0
        } else {
            1.0
        };
        let mut s = Search {
            phi,
            hz: self,
            phi0,
            dphi0,
            f_bound: phi0 + self.epsilon * self.c_k,
            approximate: self.approximate_wolfe && self.use_approximate,
            evals: 0,
            alpha_bad: f64::INFINITY,
            best: None,
        };
        let exit = match s.run(alpha0) {
            Err(exit) => exit,
            Ok(never) => match never {},
        };
        match exit {
            Exit::Fail(e) => Err(e),
            Exit::Accept(p, evals) => {
                // HZ06 §4: switch for good once f barely changes, then update C_k.
                if (p.f - phi0).abs() <= self.omega * self.c_k {
                    self.use_approximate = true;
                }
                self.q_k = 1.0 + self.big_delta * self.q_k;
                self.c_k += (p.f.abs() - self.c_k) / self.q_k;
                Ok(LineSearchResult {
                    alpha: p.alpha,
                    phi: p.f,
                    dphi: Some(p.g),
                    evals,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linesearch::FnLine;

    #[test]
    fn secant_step_is_exact_on_a_quadratic() {
        // φ(α) = (α − 1)²: the first trial 3 has φ' > 0, bracket = [0, 3],
        // and the secant of φ' (linear) lands on 1.
        let mut phi = FnLine::new(|a: f64| ((a - 1.0).powi(2), 2.0 * (a - 1.0)));
        let r = HagerZhang::default()
            .search(&mut phi, 1.0, -2.0, 3.0)
            .unwrap();
        assert_eq!(r.evals, 2);
        assert!((r.alpha - 1.0).abs() < 1e-15);
    }

    #[test]
    fn bracket_expands_by_rho() {
        // Trials 1e-3, 5e-3, ... until φ' ≥ 0 past the minimizer 1.
        let mut trials = Vec::new();
        let mut phi = FnLine::new(|a: f64| {
            trials.push(a);
            ((a - 1.0).powi(2), 2.0 * (a - 1.0))
        });
        HagerZhang::default()
            .search(&mut phi, 1.0, -2.0, 1e-3)
            .unwrap();
        assert_eq!(&trials[..4], &[1e-3, 5e-3, 2.5e-2, 0.125]);
    }
}
