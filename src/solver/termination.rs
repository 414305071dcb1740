//! Why a solver stopped.

use serde::{Deserialize, Serialize};

/// Why a run ended. [`converged`](Termination::converged) says whether the
/// reason counts as success; like MINPACK's `info`, success means a test on
/// the gradient, on `f` or on `x` passed, which does not prove a minimizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Termination {
    /// `‖g‖∞ ≤ max(g_abs, g_rel ‖g₀‖∞)`.
    GradientTolerance,
    /// `|f_{k-1} − f_k| ≤ max(f_abs, f_rel |f_k|)`.
    FunctionTolerance,
    /// `‖x_k − x_{k−1}‖∞ ≤ max(x_abs, x_rel ‖x_k‖∞)`.
    StepTolerance,
    /// The iteration limit was reached.
    MaxIterations,
    /// The evaluation limit was reached.
    MaxEvaluations,
    /// The wall-time limit was reached.
    TimeLimit,
    /// The line search could not satisfy its conditions; the last iterate is
    /// the best point found ("precision loss" in scipy's words when it happens
    /// near a minimizer).
    LineSearchFailed,
    /// The search direction was not a descent direction even after a reset.
    NotDescentDirection,
    /// The objective returned NaN or ±∞ where it had to be finite (at the
    /// start, or at every point a step could reach).
    NonFiniteValue,
    /// The trust region shrank below what changes `x`.
    TrustRegionTooSmall,
    /// A linear system or factorization could not be solved.
    LinearAlgebraFailure,
    /// An observer asked to stop.
    UserStop,
    /// The run stopped moving at the rounding level of `f`: no decrease in `f`
    /// and a negligible step over several iterations, or a zero step from the
    /// line search or trust region. Not convergence: the gradient tolerance
    /// may be unreachable in floating point at this point. The rule and its
    /// default (5 iterations) are [`Stop::no_progress_iters`](crate::solver::Stop::no_progress_iters)'s.
    NoProgress,
    /// `f` appears unbounded below: it fell to the unboundedness threshold
    /// [`Stop::f_lower`](crate::solver::Stop::f_lower) (default `−1e20`),
    /// reached −∞, or the line search failed after extrapolating with ever
    /// larger decreases in `f`. The last iterate is the last complete one.
    Unbounded,
}

impl Termination {
    /// Whether this reason counts as convergence.
    pub fn converged(self) -> bool {
        matches!(
            self,
            Termination::GradientTolerance
                | Termination::FunctionTolerance
                | Termination::StepTolerance
        )
    }

    /// The snake_case name used in JSON and CSV output.
    pub fn as_str(self) -> &'static str {
        match self {
            Termination::GradientTolerance => "gradient_tolerance",
            Termination::FunctionTolerance => "function_tolerance",
            Termination::StepTolerance => "step_tolerance",
            Termination::MaxIterations => "max_iterations",
            Termination::MaxEvaluations => "max_evaluations",
            Termination::TimeLimit => "time_limit",
            Termination::LineSearchFailed => "line_search_failed",
            Termination::NotDescentDirection => "not_descent_direction",
            Termination::NonFiniteValue => "non_finite_value",
            Termination::TrustRegionTooSmall => "trust_region_too_small",
            Termination::LinearAlgebraFailure => "linear_algebra_failure",
            Termination::UserStop => "user_stop",
            Termination::NoProgress => "no_progress",
            Termination::Unbounded => "unbounded",
        }
    }

    /// A sentence for people.
    pub fn message(self) -> &'static str {
        match self {
            Termination::GradientTolerance => "gradient norm below tolerance",
            Termination::FunctionTolerance => "change in f below tolerance",
            Termination::StepTolerance => "change in x below tolerance",
            Termination::MaxIterations => "maximum number of iterations reached",
            Termination::MaxEvaluations => "maximum number of evaluations reached",
            Termination::TimeLimit => "time limit reached",
            Termination::LineSearchFailed => {
                "line search failed: desired error not necessarily achieved due to precision loss"
            }
            Termination::NotDescentDirection => "search direction is not a descent direction",
            Termination::NonFiniteValue => "objective returned a non-finite value",
            Termination::TrustRegionTooSmall => "trust region radius too small",
            Termination::LinearAlgebraFailure => "linear algebra failure",
            Termination::UserStop => "stopped by observer",
            Termination::NoProgress => {
                "progress stopped at the rounding level of f; the gradient tolerance may be unreachable"
            }
            Termination::Unbounded => "the objective appears unbounded below",
        }
    }
}

impl std::fmt::Display for Termination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}
