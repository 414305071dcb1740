//! Sampled Gaussian blurs: `J_σ(θ) = E f(θ + σε) ≈ Σₖ wₖ f(θ + σ zₖ)` on a
//! fixed point set `{zₖ, wₖ}`.
//!
//! Every rule here is a weighted point set chosen once, before the run, and
//! reused for every evaluation (common random numbers): `J_σ` is then a
//! deterministic, smooth function of `θ` whose gradient is exactly
//! `Σₖ wₖ ∇f(θ + σ zₖ)` (and whose Hessian is `Σₖ wₖ ∇²f(θ + σ zₖ)`), so a
//! quasi-Newton method runs on it as on any smooth objective. The rules, their
//! cost per evaluation of `J_σ` in evaluations of `f`, and their error:
//!
//! | rule | points | error of `J_σ` |
//! |---|---|---|
//! | [`Smoothing::MonteCarlo`] | `S` | `O(S^{−1/2})` (RMS over seeds) |
//! | [`Smoothing::QuasiMonteCarlo`] | `S` | `O(S^{−1} (log S)ⁿ)`; RMS measured `≈ S^{−0.8}` (Rastrigin, `n = 4`, `σ = 0.2`) |
//! | [`Smoothing::GaussHermite`] | `qⁿ` | exact for polynomials of degree `≤ 2q − 1` in each variable |
//! | [`Smoothing::GaussHermiteSeparable`] | `n(q − 1) + 1` (odd `q`) | as the tensor rule, for separable `f` only |
//!
//! The two sampled rules are antithetic: the points come in pairs `±z`, so the
//! odd part of `f` around `θ` cancels exactly, `J_σ` of a linear function is
//! exact, and the gradient of `J_σ` at a centre of symmetry of `f` is exactly 0.

use std::cell::{Cell, OnceCell, RefCell};

use nalgebra::DMatrix;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{ContinuationError, gauss_hermite};
use crate::problem::{Evals, Gradient, HessVec, Hessian, Objective};

/// Default sample count of the sampled rules: see [`Smoothing::default`].
pub const DEFAULT_SAMPLES: usize = 256;

/// The most points a rule may have (`qⁿ` of the tensor Gauss-Hermite rule grows
/// fast): `2²⁰`.
pub const MAX_POINTS: usize = 1 << 20;

/// How a Gaussian blur `E f(θ + σε)`, `ε ~ N(0, I)`, is computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Smoothing {
    /// Plain Monte Carlo with common random numbers: `S/2` standard-normal
    /// directions drawn once from `ChaCha8Rng::seed_from_u64(seed)` (each
    /// coordinate `Φ⁻¹(u)` of a uniform `u`), with their antithetic
    /// partners. `S` evaluations of `f` per evaluation of `J_σ`; RMS error
    /// `O(S^{−1/2})`. `samples` must be even and ≥ 2.
    MonteCarlo {
        /// `S`, the number of points (pairs × 2).
        samples: usize,
        /// Seed of the directions.
        seed: u64,
    },
    /// Randomized quasi-Monte Carlo: the first `S/2` points of an
    /// Owen-scrambled Sobol sequence (Burley, "Practical hash-based Owen
    /// scrambling", JCGT 9(4) 2020, via the `sobol_burley` crate) mapped
    /// through `Φ⁻¹`, with their antithetic partners. Error `O(S^{−1}(log
    /// S)ⁿ)`; the RMS error over scramblings of a smooth integrand on the unit
    /// cube falls like `S^{−3/2}` (Owen, "Scrambled net variance for integrals
    /// of smooth functions", Ann. Stat. 25, 1997), but `Φ⁻¹` makes the
    /// integrand unbounded near the faces: measured on Rastrigin (`n = 4`,
    /// `σ = 0.2`, `tests/continuation.rs`) the RMS error falls like `S^{−0.8}`,
    /// 24 times below Monte Carlo's at `S = 1024`. Best with `S/2` a power of two. At
    /// most 256 variables and `2¹⁶` pairs (the crate's limits); `samples` must
    /// be even and ≥ 2.
    QuasiMonteCarlo {
        /// `S`, the number of points (pairs × 2).
        samples: usize,
        /// The scrambling seed.
        seed: u32,
    },
    /// The tensor-product Gauss-Hermite rule of order `q` ([`gauss_hermite`]
    /// in every coordinate): `qⁿ` points, exact for polynomials of degree
    /// `≤ 2q − 1` in each variable; for `cos(ωx)` the error is about
    /// `q! (ωσ)^{2q} / (2q)!`. For small `n` only.
    GaussHermite {
        /// `q`, nodes per coordinate.
        order: usize,
    },
    /// The per-coordinate Gauss-Hermite rule for a separable `f(x) = Σᵢ
    /// fᵢ(xᵢ)` (which the user declares by choosing it): since
    /// `E f(θ + σε) = f(θ) + Σᵢ (E fᵢ(θᵢ + σεᵢ) − fᵢ(θᵢ))`, the blur is
    /// `(1 − n) f(θ) + Σᵢ Σₖ wₖ f(θ + σ zₖ eᵢ)`: `n q + 1` points (`n (q − 1) + 1`
    /// for odd `q`, whose middle node is the centre), with the accuracy of
    /// the one-dimensional rule. Wrong for a non-separable `f`.
    GaussHermiteSeparable {
        /// `q`, nodes per coordinate.
        order: usize,
    },
}

impl Default for Smoothing {
    /// Quasi-Monte Carlo with [`DEFAULT_SAMPLES`] = 256 points (128
    /// antithetic scrambled-Sobol pairs), seed 0.
    ///
    /// Measured on Rastrigin (`examples/continuation_table.rs`, 100 starts,
    /// 8 halving stages from a third of the half width, a point set per
    /// stage): 256 Sobol points find the global minimum from 100/100 starts
    /// at n = 2, 10 and 30 for each of 5 scrambling seeds; 128 points do for
    /// 4 of 5 seeds at n = 10 but 1 of 5 at n = 30; 64 points rarely; and
    /// pseudo-random points (Monte Carlo) rarely at any of these sizes, 512
    /// included. Each coordinate of a Sobol net is stratified, which suits the
    /// coordinate-wise oscillations of the standard test functions.
    fn default() -> Self {
        Smoothing::QuasiMonteCarlo {
            samples: DEFAULT_SAMPLES,
            seed: 0,
        }
    }
}

impl Smoothing {
    /// The rule of stage `i`: the same kind and size with the seed advanced
    /// by `i`, so each stage has its own points (Gauss-Hermite rules have no
    /// seed and are unchanged).
    pub fn for_stage(&self, i: usize) -> Smoothing {
        match *self {
            Smoothing::MonteCarlo { samples, seed } => Smoothing::MonteCarlo {
                samples,
                seed: seed.wrapping_add(i as u64),
            },
            Smoothing::QuasiMonteCarlo { samples, seed } => Smoothing::QuasiMonteCarlo {
                samples,
                seed: seed.wrapping_add(i as u32),
            },
            ref gh => gh.clone(),
        }
    }
}

/// A weighted point set `{zₖ, wₖ}` in `ℝⁿ` for `E g(ε) ≈ Σₖ wₖ g(zₖ)`,
/// `ε ~ N(0, I)`, built once from a [`Smoothing`].
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    n: usize,
    /// Point `k` at `points[k n .. (k + 1) n]`.
    points: Vec<f64>,
    weights: Vec<f64>,
}

/// `Φ⁻¹(u)`, the standard normal quantile (statrs' `erfc_inv`).
fn normal_quantile(u: f64) -> f64 {
    -std::f64::consts::SQRT_2 * statrs::function::erf::erfc_inv(2.0 * u)
}

fn check_samples(samples: usize) -> Result<usize, ContinuationError> {
    if samples < 2 || !samples.is_multiple_of(2) {
        return Err(ContinuationError::BadSamples(samples));
    }
    Ok(samples / 2)
}

impl Rule {
    /// The point set of `smoothing` in `n` variables.
    ///
    /// Errors: zero or odd sample counts, order 0, more than [`MAX_POINTS`]
    /// points, more than 256 variables or `2¹⁶` pairs for quasi-Monte Carlo.
    pub fn new(smoothing: &Smoothing, n: usize) -> Result<Self, ContinuationError> {
        let mut points = Vec::new();
        let mut weights = Vec::new();
        match *smoothing {
            Smoothing::MonteCarlo { samples, seed } => {
                let pairs = check_samples(samples)?;
                check_points(samples, n)?;
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                for _ in 0..pairs {
                    let start = points.len();
                    for _ in 0..n {
                        // u in (0, 1): the midpoint of a 2⁻⁵³ cell, never 0.
                        let u =
                            (rng.random::<u64>() >> 11) as f64 * 2f64.powi(-53) + 2f64.powi(-54);
                        points.push(normal_quantile(u));
                    }
                    push_antithetic(&mut points, start, n);
                }
                weights.resize(samples, 1.0 / samples as f64);
            }
            Smoothing::QuasiMonteCarlo { samples, seed } => {
                let pairs = check_samples(samples)?;
                check_points(samples, n)?;
                if n > sobol_burley::NUM_DIMENSIONS as usize || pairs > 1 << 16 {
                    return Err(ContinuationError::SobolLimits { n, samples });
                }
                for k in 0..pairs {
                    let start = points.len();
                    for d in 0..n {
                        // f32 output in [0, 1) on a 2⁻²⁴ grid: shift to the cell's midpoint.
                        let u = f64::from(sobol_burley::sample(k as u32, d as u32, seed))
                            + 2f64.powi(-25);
                        points.push(normal_quantile(u));
                    }
                    push_antithetic(&mut points, start, n);
                }
                weights.resize(samples, 1.0 / samples as f64);
            }
            Smoothing::GaussHermite { order } => {
                let (z, w) = gauss_hermite(order)?;
                let count = order
                    .checked_pow(n as u32)
                    .filter(|&c| c <= MAX_POINTS)
                    .ok_or(ContinuationError::TooManyPoints { order, n })?;
                check_points(count, n)?;
                // Mixed-radix counter over the q nodes of each coordinate.
                let mut digits = vec![0usize; n];
                for _ in 0..count {
                    points.extend(digits.iter().map(|&d| z[d]));
                    weights.push(digits.iter().map(|&d| w[d]).product());
                    for d in digits.iter_mut() {
                        *d += 1;
                        if *d < order {
                            break;
                        }
                        *d = 0;
                    }
                }
            }
            Smoothing::GaussHermiteSeparable { order } => {
                let (z, w) = gauss_hermite(order)?;
                check_points(n * order + 1, n)?;
                // The centre, with weight 1 − n (plus n w_mid for odd q, whose
                // middle node z = 0 is the centre again).
                points.resize(n, 0.0);
                weights.push(1.0 - n as f64);
                for i in 0..n {
                    for (&zk, &wk) in z.iter().zip(&w) {
                        if zk == 0.0 {
                            weights[0] += wk;
                            continue;
                        }
                        let start = points.len();
                        points.resize(start + n, 0.0);
                        points[start + i] = zk;
                        weights.push(wk);
                    }
                }
            }
        }
        Ok(Rule { n, points, weights })
    }

    /// The number of variables `n`.
    pub fn dim(&self) -> usize {
        self.n
    }

    /// The number of points: evaluations of `f` per evaluation of `J_σ`.
    pub fn len(&self) -> usize {
        self.weights.len()
    }

    /// Whether the rule has no points (never, once built).
    pub fn is_empty(&self) -> bool {
        self.weights.is_empty()
    }

    /// Point `k`.
    pub fn point(&self, k: usize) -> &[f64] {
        &self.points[k * self.n..(k + 1) * self.n]
    }

    /// The weights, one per point.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// `Σₖ wₖ g(zₖ)`, the rule applied to `g`.
    pub fn integrate(&self, mut g: impl FnMut(&[f64]) -> f64) -> f64 {
        (0..self.len())
            .map(|k| self.weights[k] * g(self.point(k)))
            .sum()
    }

    /// The blur of `problem` at width `sigma` on this rule.
    ///
    /// Errors: `sigma` negative or not finite, or `problem.dim()` not the
    /// rule's `n`.
    pub fn blur<'a, P: Objective + ?Sized>(
        &'a self,
        problem: &'a P,
        sigma: f64,
    ) -> Result<Smoothed<'a, P>, ContinuationError> {
        Smoothed::new(problem, sigma, self)
    }
}

fn check_points(count: usize, n: usize) -> Result<(), ContinuationError> {
    if count.saturating_mul(n.max(1)) > 16 * MAX_POINTS {
        return Err(ContinuationError::TooManyPoints { order: count, n });
    }
    Ok(())
}

/// Appends `−z` for the point `z` at `points[start..start + n]`.
fn push_antithetic(points: &mut Vec<f64>, start: usize, n: usize) {
    for i in 0..n {
        let v = points[start + i];
        points.push(-v);
    }
}

/// `J_σ(θ) = Σₖ wₖ f(θ + σ zₖ)`: a sampled Gaussian blur of `f`, a
/// [`Gradient`] (and [`Hessian`], [`HessVec`] when `f` is) that any minimizer
/// runs on. At `σ = 0` it is `f` itself at the cost of one evaluation.
///
/// It counts the evaluations of `f` it makes ([`j_evals`](Smoothed::j_evals)):
/// one call of `J_σ` costs [`Rule::len`] of them.
///
/// ```
/// use hesse::continuation::{Rule, Smoothing};
/// use hesse::problem::{FnObjective, Objective};
/// // The blur of x² is x² + σ²; the 2-point Gauss-Hermite rule is exact for it.
/// let f = FnObjective::new(1, |x: &[f64]| x[0] * x[0]);
/// let rule = Rule::new(&Smoothing::GaussHermite { order: 2 }, 1).unwrap();
/// let j = rule.blur(&f, 0.5).unwrap();
/// assert!((j.value(&[3.0]) - 9.25).abs() < 1e-13);
/// assert_eq!(j.j_evals().f, 2);
/// ```
pub struct Smoothed<'a, P: ?Sized> {
    problem: &'a P,
    sigma: f64,
    n: usize,
    /// Borrowed from the caller ([`Smoothed::new`]), or built on the first
    /// evaluation by a continuation's stage (a stage skipped unevaluated,
    /// past a deadline, builds none).
    rule: RuleRef<'a>,
    /// `θ + σ zₖ` and `∇f` there.
    work: RefCell<(Vec<f64>, Vec<f64>)>,
    /// `∇²f(θ + σ zₖ)`, sized on first use.
    hessian: RefCell<DMatrix<f64>>,
    f: Cell<u64>,
    g: Cell<u64>,
    h: Cell<u64>,
    hv: Cell<u64>,
}

/// Where a [`Smoothed`] takes its rule from.
enum RuleRef<'a> {
    Borrowed(&'a Rule),
    /// `Rule::new(smoothing, n)`, built on first use; the caller has built
    /// a rule of the same kind and size (they differ only in the seed), so
    /// building cannot fail.
    Deferred {
        smoothing: Smoothing,
        rule: OnceCell<Rule>,
    },
}

fn bump(c: &Cell<u64>, by: usize) {
    c.set(c.get() + by as u64);
}

impl<'a, P: Objective + ?Sized> Smoothed<'a, P> {
    /// The blur of `problem` at width `sigma` on `rule`.
    pub fn new(problem: &'a P, sigma: f64, rule: &'a Rule) -> Result<Self, ContinuationError> {
        if rule.n != problem.dim() {
            return Err(crate::solver::Error::DimensionMismatch {
                what: "the blur's rule",
                got: rule.n,
                expected: problem.dim(),
                expected_from: "problem",
            }
            .into());
        }
        Self::with_rule(problem, sigma, RuleRef::Borrowed(rule))
    }

    /// The blur of `problem` at width `sigma` on `Rule::new(smoothing, n)`,
    /// built on the first evaluation. The caller has built a rule of the
    /// same kind and size (so this one cannot fail).
    pub(crate) fn deferred(
        problem: &'a P,
        sigma: f64,
        smoothing: Smoothing,
    ) -> Result<Self, ContinuationError> {
        let rule = RuleRef::Deferred {
            smoothing,
            rule: OnceCell::new(),
        };
        Self::with_rule(problem, sigma, rule)
    }

    fn with_rule(problem: &'a P, sigma: f64, rule: RuleRef<'a>) -> Result<Self, ContinuationError> {
        if !(sigma.is_finite() && sigma >= 0.0) {
            return Err(ContinuationError::BadSigma {
                index: 0,
                value: sigma,
            });
        }
        let n = problem.dim();
        Ok(Smoothed {
            problem,
            sigma,
            n,
            rule,
            work: RefCell::new((vec![0.0; n], vec![0.0; n])),
            hessian: RefCell::new(DMatrix::zeros(0, 0)),
            f: Cell::new(0),
            g: Cell::new(0),
            h: Cell::new(0),
            hv: Cell::new(0),
        })
    }

    /// The blur width `σ`.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }

    fn rule(&self) -> &Rule {
        match &self.rule {
            RuleRef::Borrowed(rule) => rule,
            RuleRef::Deferred { smoothing, rule } => rule.get_or_init(|| {
                Rule::new(smoothing, self.n)
                    .expect("a rule of this kind and size was built before the stages")
            }),
        }
    }

    /// The evaluations of `f` made so far.
    pub fn j_evals(&self) -> Evals {
        Evals {
            f: self.f.get(),
            g: self.g.get(),
            h: self.h.get(),
            hv: self.hv.get(),
        }
    }

    /// Writes `θ + σ zₖ` into `y`.
    fn shifted(&self, theta: &[f64], k: usize, y: &mut [f64]) {
        for ((yi, ti), zi) in y.iter_mut().zip(theta).zip(self.rule().point(k)) {
            *yi = ti + self.sigma * zi;
        }
    }
}

impl<P: Objective + ?Sized> Objective for Smoothed<'_, P> {
    fn dim(&self) -> usize {
        self.n
    }
    fn value(&self, x: &[f64]) -> f64 {
        if self.sigma == 0.0 {
            bump(&self.f, 1);
            return self.problem.value(x);
        }
        let mut work = self.work.borrow_mut();
        let y = &mut work.0;
        let mut f = 0.0;
        for (k, w) in self.rule().weights.iter().enumerate() {
            self.shifted(x, k, y);
            f += w * self.problem.value(y);
        }
        bump(&self.f, self.rule().len());
        f
    }
}

impl<P: Gradient + ?Sized> Gradient for Smoothed<'_, P> {
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        if self.sigma == 0.0 {
            bump(&self.f, 1);
            bump(&self.g, 1);
            return self.problem.value_grad(x, g);
        }
        let mut work = self.work.borrow_mut();
        let (y, gk) = &mut *work;
        g.iter_mut().for_each(|gi| *gi = 0.0);
        let mut f = 0.0;
        for (k, w) in self.rule().weights.iter().enumerate() {
            self.shifted(x, k, y);
            f += w * self.problem.value_grad(y, gk);
            for (gi, gki) in g.iter_mut().zip(gk.iter()) {
                *gi += w * gki;
            }
        }
        bump(&self.f, self.rule().len());
        bump(&self.g, self.rule().len());
        f
    }
}

impl<P: Hessian + ?Sized> Hessian for Smoothed<'_, P> {
    fn hessian(&self, x: &[f64], h: &mut DMatrix<f64>) {
        if self.sigma == 0.0 {
            bump(&self.h, 1);
            return self.problem.hessian(x, h);
        }
        let n = self.rule().n;
        let mut work = self.work.borrow_mut();
        let mut hk = self.hessian.borrow_mut();
        if hk.nrows() != n {
            *hk = DMatrix::zeros(n, n);
        }
        h.fill(0.0);
        for (k, w) in self.rule().weights.iter().enumerate() {
            self.shifted(x, k, &mut work.0);
            self.problem.hessian(&work.0, &mut hk);
            if hk.shape() != (n, n) {
                // A Hessian of another shape: hand it on for the driver's
                // contract check (`Counted::broken_contract`) to name.
                *h = DMatrix::zeros(hk.nrows(), hk.ncols());
                *hk = DMatrix::zeros(n, n);
                return;
            }
            *h += &*hk * *w;
        }
        bump(&self.h, self.rule().len());
    }
}

impl<P: HessVec + ?Sized> HessVec for Smoothed<'_, P> {
    fn hess_vec(&self, x: &[f64], v: &[f64], hv: &mut [f64]) {
        if self.sigma == 0.0 {
            bump(&self.hv, 1);
            return self.problem.hess_vec(x, v, hv);
        }
        let mut work = self.work.borrow_mut();
        let (y, hvk) = &mut *work;
        hv.iter_mut().for_each(|o| *o = 0.0);
        for (k, w) in self.rule().weights.iter().enumerate() {
            self.shifted(x, k, y);
            self.problem.hess_vec(y, v, hvk);
            for (o, a) in hv.iter_mut().zip(hvk.iter()) {
                *o += w * a;
            }
        }
        bump(&self.hv, self.rule().len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_integrate_low_moments() {
        let n = 3;
        for s in [
            Smoothing::MonteCarlo {
                samples: 4096,
                seed: 7,
            },
            Smoothing::QuasiMonteCarlo {
                samples: 1024,
                seed: 1,
            },
            Smoothing::GaussHermite { order: 3 },
        ] {
            let rule = Rule::new(&s, n).unwrap();
            let total: f64 = rule.weights().iter().sum();
            assert!((total - 1.0).abs() < 1e-12, "{s:?}");
            // Odd moments vanish exactly (antithetic or symmetric rules).
            assert!(
                rule.integrate(|z| z[0] * z[1] * z[1]).abs() < 1e-12,
                "{s:?}"
            );
            let m2 = rule.integrate(|z| z[1] * z[1]);
            assert!((m2 - 1.0).abs() < 0.1, "{s:?}: {m2}");
        }
        let sep = Rule::new(&Smoothing::GaussHermiteSeparable { order: 5 }, n).unwrap();
        assert_eq!(sep.len(), n * 4 + 1);
        assert!((sep.integrate(|z| z.iter().map(|v| v.powi(4)).sum()) - 9.0).abs() < 1e-12);
    }

    #[test]
    fn bad_rules_are_typed() {
        for samples in [0, 1, 7] {
            let mc = Smoothing::MonteCarlo { samples, seed: 0 };
            assert_eq!(
                Rule::new(&mc, 2),
                Err(ContinuationError::BadSamples(samples))
            );
        }
        let gh = Smoothing::GaussHermite { order: 5 };
        assert!(matches!(
            Rule::new(&gh, 30),
            Err(ContinuationError::TooManyPoints { .. })
        ));
        let qmc = Smoothing::QuasiMonteCarlo {
            samples: 8,
            seed: 0,
        };
        assert!(matches!(
            Rule::new(&qmc, 300),
            Err(ContinuationError::SobolLimits { .. })
        ));
    }
}
