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
/// 4. limits: iterations, evaluations (`f + g + h + hv` calls), wall time.
///
/// The gradient test is also made at the start, so a start that is already
/// stationary ends after zero iterations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stop {
    /// Absolute gradient tolerance on the ∞-norm. Default `1e-8` (Optim.jl).
    pub g_abs: f64,
    /// Gradient tolerance relative to `‖g_0‖∞`. Default `0` (off).
    pub g_rel: f64,
    /// Absolute tolerance on `|f_{k−1} − f_k|`. Default `0`.
    pub f_abs: f64,
    /// Relative tolerance on `|f_{k−1} − f_k| / |f_k|`. Default `0`.
    pub f_rel: f64,
    /// Absolute tolerance on `‖x_k − x_{k−1}‖∞`. Default `0`.
    pub x_abs: f64,
    /// Relative tolerance on `‖x_k − x_{k−1}‖∞ / ‖x_k‖∞`. Default `0`.
    pub x_rel: f64,
    /// Iteration limit. Default `1000` (Optim.jl).
    pub max_iter: u64,
    /// Limit on the total of f, g, H and Hv evaluations. Default: none.
    pub max_evals: Option<u64>,
    /// Wall-time limit. Default: none.
    pub time_limit: Option<Duration>,
}

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
            /// Absolute gradient tolerance `‖g‖∞ ≤ gtol` (default `1e-8`).
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
