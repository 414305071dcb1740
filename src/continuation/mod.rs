//! Gaussian-blur continuation around any minimizer.
//!
//! Goodfellow, Bengio & Courville, *Deep Learning* (2016) §8.7.6,
//! "Continuation methods"; Mobahi & Fisher III, "On the link between Gaussian
//! homotopy continuation and convex envelopes", EMMCVPR 2015. A series of
//! objectives `J⁽⁰⁾, J⁽¹⁾, …, J⁽ᵏ⁾ = J`, each the original blurred by a
//! Gaussian,
//!
//! `J⁽ⁱ⁾(θ) = E_{θ′ ~ N(θ, σᵢ² I)} J(θ′) = E_{ε ~ N(0, I)} J(θ + σᵢ ε)`,
//!
//! with `σᵢ` decreasing to 0, is minimized in turn, each from the previous
//! stage's minimizer (a warm start). A wide blur washes out the small-scale
//! local minima and keeps the large-scale trend, so the early stages find the
//! right basin and the last one, the original `J`, polishes the answer.
//!
//! Why a module of its own (not `solver/`): continuation is not a minimizer
//! with iterations of its own but a wrapper that runs any minimizer
//! ([`StageMinimizer`]: L-BFGS by default, BFGS, nonlinear CG, gradient
//! descent, or a closure) on a sequence of problems; it owns the blurred
//! objectives and their quadrature rules, which no other module needs.
//!
//! The pieces:
//! - [`Schedule`]: the widths `σ₀ > … > 0`, geometric or listed;
//! - [`Smoothing`] and [`Rule`]: how a blur is computed from evaluations of
//!   `J`: Monte Carlo with common random numbers, scrambled-Sobol quasi-Monte
//!   Carlo, tensor or per-coordinate Gauss-Hermite ([`gauss_hermite`]);
//!   [`Smoothed`] is the blurred objective;
//! - [`Blur`]: a problem's own closed-form blur ([`ExactBlur`] wraps it);
//! - [`Continuation`]: the stages; its [`ContinuationReport`] holds the final
//!   result and one [`StageRecord`] per stage.
//!
//! ```
//! use hesse::continuation::{Continuation, Schedule};
//! use hesse::problems::Rastrigin;
//!
//! // Rastrigin in 10 variables from a corner of its box: L-BFGS alone stops in
//! // a local minimum; on the exact blur it finds the global one.
//! let f = Rastrigin::new(10);
//! let x0 = vec![4.3; 10];
//! let plain = hesse::prelude::Lbfgs::default().minimize(&f, &x0).unwrap();
//! assert!(plain.f > 1.0);
//! let report = Continuation::new(Schedule::geometric(5.12 / 3.0, 8))
//!     .minimize_exact(&f, &x0)
//!     .unwrap();
//! assert!(report.result.f < 1e-10);
//! assert_eq!(report.stages.len(), 9);
//! assert_eq!(report.stages[8].sigma, 0.0);
//! ```

mod exact;
mod gauss_hermite;
mod schedule;
mod smoothing;

use std::time::Instant;

use serde::{Deserialize, Serialize};

pub use exact::{Blur, ExactBlur};
pub use gauss_hermite::gauss_hermite;
pub use schedule::{DEFAULT_RATIO, Schedule};
pub use smoothing::{DEFAULT_SAMPLES, MAX_POINTS, Rule, Smoothed, Smoothing};

use crate::cg::NonlinearCg;
use crate::first_order::GradientDescent;
use crate::linesearch::{InitialStep, LineSearch};
use crate::problem::{Evals, Gradient, Objective};
use crate::quasi_newton::{Bfgs, Lbfgs};
use crate::solver::{Error, Report, Termination, check_start, float_serde};

/// A continuation that cannot run: a bad schedule or rule, or bad input to
/// the inner minimizer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ContinuationError {
    /// No stages: `k = 0` or an empty list.
    #[error("the continuation schedule has no stages: give k ≥ 1 stages or at least one σ")]
    NoStages,
    /// A width negative or not finite (or `σ₀ ≤ 0`).
    #[error("σ[{index}] = {value}: every σ must be finite and ≥ 0, and σ₀ > 0")]
    BadSigma {
        /// Its position in the schedule.
        index: usize,
        /// The value given.
        value: f64,
    },
    /// A listed width larger than the one before it.
    #[error("σ[{index}] = {value} is larger than the σ before it: the widths must not increase")]
    Increasing {
        /// Its position in the list.
        index: usize,
        /// The value given.
        value: f64,
    },
    /// A geometric ratio outside `(0, 1)`.
    #[error("ratio = {0}: must be in (0, 1)")]
    BadRatio(f64),
    /// A geometric schedule whose last width `σ₀ r^(k−1)` is below the
    /// smallest normal double (or too many stages to list).
    #[error(
        "k = {stages} stages: σ₀ r^(k−1) would fall below 1e-308; from σ₀ = {sigma0} with r = {ratio} at most {max} stages"
    )]
    TooManyStages {
        /// The stages asked for.
        stages: usize,
        /// `σ₀`.
        sigma0: f64,
        /// `r`.
        ratio: f64,
        /// The most stages whose widths stay normal doubles.
        max: usize,
    },
    /// A sample count zero or odd (the sampled rules use antithetic pairs).
    #[error("samples = {0}: must be even and ≥ 2 (the points come in antithetic pairs ±z)")]
    BadSamples(usize),
    /// A Gauss-Hermite order of 0.
    #[error("Gauss-Hermite order q = {0}: must be ≥ 1")]
    BadOrder(usize),
    /// A rule with more points than [`MAX_POINTS`].
    #[error(
        "the rule would need too many points ({order} per coordinate in {n} variables); use GaussHermiteSeparable, QuasiMonteCarlo or MonteCarlo"
    )]
    TooManyPoints {
        /// Points per coordinate (or in all, for the sampled rules).
        order: usize,
        /// Variables.
        n: usize,
    },
    /// Quasi-Monte Carlo beyond the Sobol generator's 256 dimensions or
    /// `2¹⁶` points.
    #[error(
        "quasi-Monte Carlo supports n ≤ 256 variables and ≤ 2^17 samples; got n = {n}, samples = {samples}"
    )]
    SobolLimits {
        /// Variables.
        n: usize,
        /// Samples asked for.
        samples: usize,
    },
    /// The Gauss-Hermite eigenproblem failed (never seen).
    #[error("Gauss-Hermite nodes: {0}")]
    Quadrature(String),
    /// Bad input to the inner minimizer (wrong dimension, non-finite start,
    /// invalid option).
    #[error(transparent)]
    Solver(#[from] Error),
}

/// A minimizer that a [`Continuation`] runs at each stage, on a [`Gradient`]
/// problem.
///
/// Implemented by [`Lbfgs`], [`Bfgs`], [`NonlinearCg`] and
/// [`GradientDescent`] with any line search, and by closures through
/// [`FnStage`].
pub trait StageMinimizer {
    /// Minimizes `problem` from `x0`.
    fn minimize_stage<P: Gradient>(&self, problem: &P, x0: &[f64]) -> Result<Report, Error>;
}

macro_rules! stage_minimizer {
    ($($t:ident),*) => {$(
        impl<L: LineSearch + Clone, I: InitialStep + Clone> StageMinimizer for $t<L, I> {
            fn minimize_stage<P: Gradient>(&self, problem: &P, x0: &[f64]) -> Result<Report, Error> {
                self.minimize(problem, x0)
            }
        }
    )*};
}
stage_minimizer!(Lbfgs, Bfgs, NonlinearCg, GradientDescent);

/// A closure `(problem, x0) -> Result<Report, Error>` as a [`StageMinimizer`].
///
/// ```
/// use hesse::continuation::{Continuation, FnStage, Schedule};
/// use hesse::prelude::*;
/// use hesse::problems::Rastrigin;
/// let bfgs = FnStage(|p: &dyn Gradient, x0: &[f64]| Bfgs::default().minimize(p, x0));
/// let r = Continuation::new(Schedule::geometric(1.7, 6))
///     .with_inner(bfgs)
///     .minimize_exact(&Rastrigin::new(2), &[3.2, -2.1])
///     .unwrap();
/// assert!(r.result.f < 1e-10);
/// ```
pub struct FnStage<F>(pub F);

impl<F> StageMinimizer for FnStage<F>
where
    F: Fn(&dyn Gradient, &[f64]) -> Result<Report, Error>,
{
    fn minimize_stage<P: Gradient>(&self, problem: &P, x0: &[f64]) -> Result<Report, Error> {
        (self.0)(problem, x0)
    }
}

/// One stage of a continuation: what it minimized, from where to where, at
/// what cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageRecord {
    /// The blur width `σᵢ` (0 for the original objective).
    #[serde(with = "float_serde")]
    pub sigma: f64,
    /// The stage's start (the previous stage's end).
    #[serde(with = "float_serde::vec")]
    pub start: Vec<f64>,
    /// The stage's end.
    #[serde(with = "float_serde::vec")]
    pub end: Vec<f64>,
    /// `J_σ(end)`, the blurred objective the stage minimized.
    #[serde(with = "float_serde")]
    pub f_blurred: f64,
    /// `J(end)`, the original objective.
    #[serde(with = "float_serde")]
    pub f: f64,
    /// The inner minimizer's iterations.
    pub iterations: u64,
    /// Why the inner minimizer stopped.
    pub termination: Termination,
    /// Calls of `J_σ` by the inner minimizer.
    pub stage_evals: Evals,
    /// Evaluations of the original `J` (the rule's points per call of `J_σ`,
    /// plus one for `J(end)` on blurred stages).
    pub evals: Evals,
    /// Wall time of the stage.
    #[serde(with = "crate::solver::float_serde")]
    pub seconds: f64,
}

/// What a [`Continuation`] returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContinuationReport {
    /// The final result: iterate, `f`, gradient norm and termination of the
    /// last stage (the original objective); iterations, evaluations (of the
    /// original `J`) and time summed over all stages; `method` is
    /// `"continuation+<inner>"`.
    pub result: Report,
    /// One record per stage, in order; the last has `σ = 0`.
    pub stages: Vec<StageRecord>,
}

impl ContinuationReport {
    /// Whether the last stage converged.
    pub fn converged(&self) -> bool {
        self.result.converged()
    }
}

/// Evaluations of the original objective made by a stage's objective.
trait JEvals {
    fn j_evals(&self) -> Evals;
}

impl<P: Objective + ?Sized> JEvals for Smoothed<'_, P> {
    fn j_evals(&self) -> Evals {
        Smoothed::j_evals(self)
    }
}

impl<P: Blur + ?Sized> JEvals for ExactBlur<'_, P> {
    fn j_evals(&self) -> Evals {
        ExactBlur::j_evals(self)
    }
}

/// Gaussian-blur continuation: minimizes `J_σ` for each `σ` of a
/// [`Schedule`], warm-starting each stage at the previous stage's end; the
/// last stage minimizes the original objective.
///
/// Defaults: the inner minimizer [`Lbfgs::default`] (N&W §7.2, gtol `1e-8`,
/// 1000 iterations per stage); the blur [`Smoothing::default`] (quasi-Monte
/// Carlo, 256 antithetic scrambled-Sobol points) for [`minimize`](Continuation::minimize),
/// the problem's closed form for [`minimize_exact`](Continuation::minimize_exact).
/// There is no default schedule: `σ₀` must match the scale of the problem's
/// local minima (Goodfellow et al. §8.7.6 leave it to the user; a third of the
/// search box's half width and 8 halvings work on the standard test functions,
/// see `examples/continuation_table.rs`).
///
/// # Requirements on the optimization problem
/// [`Gradient`]; for [`minimize_exact`](Continuation::minimize_exact) also
/// [`Blur`]. A sampled blur costs [`Rule::len`] evaluations of `f` and `∇f`
/// per evaluation of `J_σ`.
///
/// # Reference
/// Goodfellow, Bengio & Courville (2016) §8.7.6; Mobahi & Fisher (2015);
/// Wu, "The effective energy transformation scheme as a special continuation
/// approach to global optimization", *J. Global Optim.* 8 (1996).
#[derive(Debug, Clone)]
pub struct Continuation<M = Lbfgs> {
    inner: M,
    schedule: Schedule,
    smoothing: Smoothing,
}

impl Continuation {
    /// Continuation over `schedule` with L-BFGS and the default blur.
    pub fn new(schedule: Schedule) -> Self {
        Continuation {
            inner: Lbfgs::default(),
            schedule,
            smoothing: Smoothing::default(),
        }
    }
}

impl<M> Continuation<M> {
    /// Runs `inner` at every stage.
    pub fn with_inner<N>(self, inner: N) -> Continuation<N> {
        Continuation {
            inner,
            schedule: self.schedule,
            smoothing: self.smoothing,
        }
    }

    /// Computes the blur with `smoothing` (in [`minimize`](Continuation::minimize)
    /// and [`minimize_with`](Continuation::minimize_with)).
    pub fn with_smoothing(mut self, smoothing: Smoothing) -> Self {
        self.smoothing = smoothing;
        self
    }

    /// Replaces the schedule.
    pub fn with_schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// The inner minimizer.
    pub fn inner(&self) -> &M {
        &self.inner
    }

    /// The schedule.
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// The blur rule.
    pub fn smoothing(&self) -> &Smoothing {
        &self.smoothing
    }

    /// Runs the stages on the sampled blur of `problem` ([`Smoothing`]).
    ///
    /// Stage `i` draws its own points ([`Smoothing::for_stage`], the seed
    /// advanced by `i`), fixed for the whole stage: every evaluation within a
    /// stage uses the same points (common random numbers), so `J⁽ⁱ⁾` is
    /// deterministic and smooth, and a point set whose error happens to
    /// create a spurious minimum spoils one stage, not all of them. Measured
    /// on 2-d Rastrigin (scrambled Sobol, 128 points, 50 starts): one set
    /// for all stages 21/50 successes, a set per stage 50/50.
    ///
    /// Errors: a bad schedule or rule, or bad input (wrong dimension,
    /// non-finite start) for the inner minimizer.
    pub fn minimize<P: Gradient + ?Sized>(
        &self,
        problem: &P,
        x0: &[f64],
    ) -> Result<ContinuationReport, ContinuationError>
    where
        M: StageMinimizer,
    {
        self.minimize_with(problem, x0, |blurred, start| {
            self.inner
                .minimize_stage(blurred, start)
                .map_err(Into::into)
        })
    }

    /// Runs the stages on the problem's own closed-form blur ([`Blur`]).
    pub fn minimize_exact<P: Blur + ?Sized>(
        &self,
        problem: &P,
        x0: &[f64],
    ) -> Result<ContinuationReport, ContinuationError>
    where
        M: StageMinimizer,
    {
        let sigmas = self.schedule.sigmas()?;
        check_start(x0, problem.dim())?;
        run_stages(
            &sigmas,
            x0,
            |x| problem.value(x),
            |sigma| Ok(ExactBlur::new(problem, sigma)),
            |blurred, start| {
                self.inner
                    .minimize_stage(blurred, start)
                    .map_err(Into::into)
            },
        )
    }

    /// Runs the stages on the sampled blur of `problem`, minimizing each with
    /// `stage` instead of the inner minimizer: for a minimizer that wants more
    /// than a gradient ([`Smoothed`] is a [`Hessian`](crate::problem::Hessian)
    /// and [`HessVec`](crate::problem::HessVec) when `problem` is) or an error
    /// type of its own.
    pub fn minimize_with<P, E>(
        &self,
        problem: &P,
        x0: &[f64],
        stage: impl FnMut(&Smoothed<'_, P>, &[f64]) -> Result<Report, E>,
    ) -> Result<ContinuationReport, E>
    where
        P: Objective + ?Sized,
        E: From<ContinuationError>,
    {
        let sigmas = self.schedule.sigmas()?;
        let n = problem.dim();
        check_start(x0, n).map_err(ContinuationError::from)?;
        // Each stage's rule is built when its stage first evaluates the blur
        // (a rule may hold 2¹⁷ points in 256 variables, 268 MB: all of them
        // at once would grow with the stage count, and a stage skipped
        // unevaluated needs none). The first is built here, so that a rule
        // that cannot be built is an error before any stage runs; the
        // stages' rules differ only in their seed.
        Rule::new(&self.smoothing.for_stage(0), n)?;
        let mut next = 0;
        run_stages(
            &sigmas,
            x0,
            |x| problem.value(x),
            |sigma| {
                next += 1;
                Smoothed::deferred(problem, sigma, self.smoothing.for_stage(next - 1))
                    .map_err(E::from)
            },
            stage,
        )
    }
}

/// The stage loop shared by every entry point.
fn run_stages<B, E>(
    sigmas: &[f64],
    x0: &[f64],
    original: impl Fn(&[f64]) -> f64,
    mut blur: impl FnMut(f64) -> Result<B, E>,
    mut stage: impl FnMut(&B, &[f64]) -> Result<Report, E>,
) -> Result<ContinuationReport, E>
where
    B: JEvals,
{
    let started = Instant::now();
    let mut x = x0.to_vec();
    let mut stages = Vec::with_capacity(sigmas.len());
    let mut last = None;
    let mut total = Evals::default();
    let mut iterations = 0;
    for &sigma in sigmas {
        let stage_started = Instant::now();
        let blurred = blur(sigma)?;
        let report = stage(&blurred, &x)?;
        let mut evals = blurred.j_evals();
        // The original objective at the stage's end: the report's f on the
        // last stage, one more evaluation on a blurred one.
        let f = if sigma == 0.0 {
            report.f
        } else {
            evals.f += 1;
            original(&report.x)
        };
        total = add_evals(total, evals);
        iterations += report.iterations;
        stages.push(StageRecord {
            sigma,
            start: std::mem::replace(&mut x, report.x.clone()),
            end: report.x.clone(),
            f_blurred: report.f,
            f,
            iterations: report.iterations,
            termination: report.termination,
            stage_evals: report.evals,
            evals,
            seconds: stage_started.elapsed().as_secs_f64(),
        });
        last = Some(report);
    }
    // The schedule always ends with σ = 0, so there is a last report.
    let mut result = last.expect("a schedule has at least one stage");
    result.method = format!("continuation+{}", result.method);
    result.iterations = iterations;
    result.evals = total;
    result.elapsed = started.elapsed();
    Ok(ContinuationReport { result, stages })
}

/// `a + b`, entry by entry.
fn add_evals(a: Evals, b: Evals) -> Evals {
    Evals {
        f: a.f + b.f,
        g: a.g + b.g,
        h: a.h + b.h,
        hv: a.hv + b.hv,
    }
}
