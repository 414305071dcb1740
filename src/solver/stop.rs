//! Stopping criteria shared by every minimizer.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::{Error, check_nonneg};

/// When a run stops. Defaults follow Optim.jl: only the gradient test is on
/// (`‖g‖∞ ≤ 1e-8`), with at most 1000 iterations. The `f` and `x` tests are
/// off while both their tolerances are 0 (unlike Optim.jl, where a zero
/// tolerance still fires on an iteration that changes nothing): a run that
/// stalls away from a stationary point then ends in a line-search failure,
/// which does not count as convergence, rather than in a "converged" that
/// is not.
///
/// Tests, in the order they are checked after each iteration (`k ≥ 1`):
/// 1. gradient: `‖g_k‖∞ ≤ max(g_abs, g_rel ‖g_0‖∞)` (scipy's `gtol`, Optim's `g_abstol`);
/// 2. function change: `|f_{k−1} − f_k| ≤ max(f_abs, f_rel |f_k|)`;
/// 3. step: `‖x_k − x_{k−1}‖∞ ≤ max(x_abs, x_rel ‖x_k‖∞)`;
/// 4. no progress ([`Termination::NoProgress`]): `no_progress_iters`
///    iterations in a row (default 5) each of which left every coordinate
///    within rounding of where it was, `|x_{k,i} − x_{k−1,i}| ≤ 4 ε |x_{k,i}|`
///    (ε the machine epsilon; a zero step from the line search or trust
///    region is one), and did not lower `f` by more than rounding,
///    `f_k ≥ f_{k−1} − 4 ε |f_{k−1}|`. Such a run sits at the rounding floor of
///    `f`: the gradient there may exceed `g_abs`, and no further iteration
///    changes anything. A run that still lowers `f`, however slowly, or still
///    moves `x` by more than rounding, is not stopped;
/// 5. limits: iterations, evaluations (`f + g + h + hv` calls), wall time.
///
/// The evaluation and time limits, and the unboundedness threshold `f_lower`
/// ([`Termination::Unbounded`]), are also enforced inside an iteration, at
/// each call of the problem ([`Counted`](crate::problem::Counted)): once the
/// budget is spent or the time is up, the next call is refused, the iteration
/// is abandoned and the run ends at the last complete iterate, so a run makes
/// at most one call (one `value_grad`: two counts) past `max_evals`. A value
/// `f ≤ f_lower` (default `−1e20`) or `f = −∞` ends the run with
/// [`Termination::Unbounded`], as does an iteration whose line search failed
/// with its last five or more trial values each lower than the one before by
/// a growing amount, the last at least `1e6 max(1, |f_k|)` below `f_k` (a
/// search extrapolating along a direction on which `f` falls without bound).
///
/// The gradient test is also made at the start, so a start that is already
/// stationary ends after zero iterations.
///
/// [`Termination::NoProgress`]: crate::solver::Termination::NoProgress
/// [`Termination::Unbounded`]: crate::solver::Termination::Unbounded
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stop {
    /// Absolute gradient tolerance on the ∞-norm. Default `1e-8` (Optim.jl).
    #[serde(with = "crate::solver::float_serde")]
    pub g_abs: f64,
    /// Gradient tolerance relative to `‖g_0‖∞`. Default `0` (off).
    #[serde(with = "crate::solver::float_serde")]
    pub g_rel: f64,
    /// Absolute tolerance on `|f_{k−1} − f_k|`. Default `0`.
    #[serde(with = "crate::solver::float_serde")]
    pub f_abs: f64,
    /// Relative tolerance on `|f_{k−1} − f_k| / |f_k|`. Default `0`.
    #[serde(with = "crate::solver::float_serde")]
    pub f_rel: f64,
    /// Absolute tolerance on `‖x_k − x_{k−1}‖∞`. Default `0`.
    #[serde(with = "crate::solver::float_serde")]
    pub x_abs: f64,
    /// Relative tolerance on `‖x_k − x_{k−1}‖∞ / ‖x_k‖∞`. Default `0`.
    #[serde(with = "crate::solver::float_serde")]
    pub x_rel: f64,
    /// Iteration limit. Default `1000` (Optim.jl).
    pub max_iter: u64,
    /// Limit on the total of f, g, H and Hv evaluations. Default: none.
    pub max_evals: Option<u64>,
    /// Wall-time limit. Default: none.
    pub time_limit: Option<Duration>,
    /// The unboundedness threshold: a value `f ≤ f_lower` ends the run with
    /// [`Termination::Unbounded`](crate::solver::Termination::Unbounded).
    /// Default `−1e20`, Knitro's `objrange` ("the extreme limits of the
    /// objective function for purposes of determining unboundedness"):
    /// far below any objective scaled for computing, yet reached within a
    /// few dozen steps of a line search that extrapolates along an unbounded
    /// direction (scipy and Optim.jl have no such test and run to their
    /// limits or fail the line search). `f64::NEG_INFINITY` turns the
    /// threshold off (`f = −∞` still ends the run).
    #[serde(with = "super::float_serde", default = "default_f_lower")]
    pub f_lower: f64,
    /// Consecutive iterations without progress (see the list above) after
    /// which the run ends with
    /// [`Termination::NoProgress`](crate::solver::Termination::NoProgress).
    /// Default 5; 0 turns the test off.
    #[serde(default = "default_no_progress_iters")]
    pub no_progress_iters: u64,
}

fn default_f_lower() -> f64 {
    DEFAULT_F_LOWER
}

fn default_no_progress_iters() -> u64 {
    DEFAULT_NO_PROGRESS_ITERS
}

/// The default of [`Stop::f_lower`].
pub(crate) const DEFAULT_F_LOWER: f64 = -1e20;

/// The default of [`Stop::no_progress_iters`].
pub(crate) const DEFAULT_NO_PROGRESS_ITERS: u64 = 5;

impl Default for Stop {
    fn default() -> Self {
        Stop {
            g_abs: 1e-8,
            g_rel: 0.0,
            f_abs: 0.0,
            f_rel: 0.0,
            x_abs: 0.0,
            x_rel: 0.0,
            max_iter: 1000,
            max_evals: None,
            time_limit: None,
            f_lower: DEFAULT_F_LOWER,
            no_progress_iters: DEFAULT_NO_PROGRESS_ITERS,
        }
    }
}

impl Stop {
    /// Checks every tolerance is finite and non-negative.
    pub fn validate(&self) -> Result<(), Error> {
        check_nonneg("gtol", self.g_abs)?;
        check_nonneg("gtol_rel", self.g_rel)?;
        check_nonneg("ftol_abs", self.f_abs)?;
        check_nonneg("ftol", self.f_rel)?;
        check_nonneg("xtol_abs", self.x_abs)?;
        check_nonneg("xtol", self.x_rel)?;
        if self.f_lower.is_nan() || self.f_lower == f64::INFINITY {
            return Err(Error::invalid_option(
                "f_lower",
                self.f_lower,
                "must be a number below +inf (-inf turns the threshold off)",
            ));
        }
        Ok(())
    }

    /// The gradient threshold given the start's gradient norm.
    pub fn g_threshold(&self, grad_norm0: f64) -> f64 {
        self.g_abs.max(self.g_rel * grad_norm0)
    }
}

/// Options every minimizer has: the stopping criteria and whether to keep a
/// per-iteration history.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunOptions {
    /// Stopping criteria.
    pub stop: Stop,
    /// Keep one [`IterRecord`](crate::solver::IterRecord) per iteration in the report.
    pub history: bool,
}

/// Adds the builder methods of [`RunOptions`] to a solver type with a field
/// `options: RunOptions`.
///
/// `run_options!(Bfgs);` or, for a generic type, `run_options!([L] Bfgs<L>);`.
macro_rules! run_options {
    // The generic arm comes first: `[L, I]` would be a fatal parse error for
    // a `ty` fragment (it starts like an array type).
    ([$($g:tt)*] $t:ty) => {
        impl<$($g)*> $t {
            /// Absolute gradient tolerance `‖g‖∞ ≤ gtol` (default `1e-8`; a
            /// solver's `Default` may differ: `LevenbergMarquardt` has `0`,
            /// MINPACK's own tests ending its runs).
            #[must_use]
            pub fn with_gtol(mut self, gtol: f64) -> Self {
                self.options.stop.g_abs = gtol;
                self
            }
            /// Gradient tolerance relative to the start's `‖g₀‖∞` (default off).
            #[must_use]
            pub fn with_gtol_rel(mut self, gtol_rel: f64) -> Self {
                self.options.stop.g_rel = gtol_rel;
                self
            }
            /// Relative tolerance on the change in `f` (default off).
            #[must_use]
            pub fn with_ftol(mut self, ftol: f64) -> Self {
                self.options.stop.f_rel = ftol;
                self
            }
            /// Absolute tolerance on the change in `f` (default off).
            #[must_use]
            pub fn with_ftol_abs(mut self, ftol_abs: f64) -> Self {
                self.options.stop.f_abs = ftol_abs;
                self
            }
            /// Relative tolerance on the step `‖Δx‖∞ / ‖x‖∞` (default off).
            #[must_use]
            pub fn with_xtol(mut self, xtol: f64) -> Self {
                self.options.stop.x_rel = xtol;
                self
            }
            /// Absolute tolerance on the step `‖Δx‖∞` (default off).
            #[must_use]
            pub fn with_xtol_abs(mut self, xtol_abs: f64) -> Self {
                self.options.stop.x_abs = xtol_abs;
                self
            }
            /// Iteration limit (default 1000).
            #[must_use]
            pub fn with_max_iter(mut self, max_iter: u64) -> Self {
                self.options.stop.max_iter = max_iter;
                self
            }
            /// Limit on the total number of evaluations (default none).
            #[must_use]
            pub fn with_max_evals(mut self, max_evals: u64) -> Self {
                self.options.stop.max_evals = Some(max_evals);
                self
            }
            /// Wall-time limit (default none).
            #[must_use]
            pub fn with_time_limit(mut self, limit: std::time::Duration) -> Self {
                self.options.stop.time_limit = Some(limit);
                self
            }
            /// The unboundedness threshold: `f ≤ f_lower` ends the run with
            /// [`Termination::Unbounded`](crate::solver::Termination::Unbounded)
            /// (default `−1e20`; `f64::NEG_INFINITY` for off).
            #[must_use]
            pub fn with_f_lower(mut self, f_lower: f64) -> Self {
                self.options.stop.f_lower = f_lower;
                self
            }
            /// Ends the run with
            /// [`Termination::NoProgress`](crate::solver::Termination::NoProgress)
            /// after `iters` consecutive iterations that neither lower `f`
            /// nor move `x` beyond rounding (default 5; 0 for off; the rule
            /// is in [`Stop`](crate::solver::Stop)'s docs).
            #[must_use]
            pub fn with_no_progress_iters(mut self, iters: u64) -> Self {
                self.options.stop.no_progress_iters = iters;
                self
            }
            /// Replaces all stopping criteria.
            #[must_use]
            pub fn with_stop(mut self, stop: $crate::solver::Stop) -> Self {
                self.options.stop = stop;
                self
            }
            /// Keeps a per-iteration history in the report (default off).
            #[must_use]
            pub fn with_history(mut self, history: bool) -> Self {
                self.options.history = history;
                self
            }
        }
    };
    ($t:ty) => {
        $crate::solver::run_options!([] $t);
    };
}
pub(crate) use run_options;
