//! What a run returns.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Side, State, Stop, Termination, float_serde};
use crate::problem::Evals;

/// One iteration's record, kept when history is on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IterRecord {
    /// The iteration `k` (0 is the start).
    pub iteration: u64,
    /// `f(x_k)`.
    #[serde(with = "float_serde")]
    pub f: f64,
    /// `‖g_k‖∞`.
    #[serde(with = "float_serde")]
    pub grad_norm: f64,
    /// `‖x_k − x_{k−1}‖∞` (NaN at the start).
    #[serde(with = "float_serde")]
    pub step_norm: f64,
    /// The line search's step length (NaN where none applies).
    #[serde(with = "float_serde")]
    pub alpha: f64,
    /// Evaluations so far.
    pub evals: Evals,
    /// Seconds since the start.
    pub seconds: f64,
    /// What the iteration did that a reader should know (a skipped update, a
    /// restart).
    pub note: Option<String>,
}

impl IterRecord {
    /// The record of `state` as it is now.
    pub fn from_state(s: &State) -> Self {
        IterRecord {
            iteration: s.iteration,
            f: s.f,
            grad_norm: s.grad_norm,
            step_norm: s.step_norm,
            alpha: s.alpha,
            evals: s.evals,
            seconds: s.seconds,
            note: s.note.clone(),
        }
    }
}

/// The result of a run: the final iterate, why it stopped, and what it cost.
///
/// Its `Display` reads like Optim.jl's: status, the candidate, each
/// convergence measure against its tolerance, and the work counters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The method's name as the command line spells it.
    pub method: String,
    /// The final iterate (the best point when a line search failed).
    #[serde(with = "float_serde::vec")]
    pub x: Vec<f64>,
    /// `f(x)`.
    #[serde(with = "float_serde")]
    pub f: f64,
    /// `‖∇f(x)‖∞`; under bounds the projected gradient's
    /// `‖P(x − ∇f(x)) − x‖∞` (L-BFGS-B's `pgtol` measure).
    #[serde(with = "float_serde")]
    pub grad_norm: f64,
    /// Completed iterations.
    pub iterations: u64,
    /// Evaluation counts.
    pub evals: Evals,
    /// Why the run stopped.
    pub termination: Termination,
    /// `|f_{k−1} − f_k|` of the last iteration (NaN if none).
    #[serde(with = "float_serde")]
    pub f_change: f64,
    /// `‖x_k − x_{k−1}‖∞` of the last iteration (NaN if none).
    #[serde(with = "float_serde")]
    pub step_norm: f64,
    /// The criteria the run was held to.
    pub stop: Stop,
    /// Per-iteration records, if asked for.
    pub history: Option<Vec<IterRecord>>,
    /// Wall time.
    pub elapsed: Duration,
    /// For a run under bounds, the variables at a bound at `x`, by index
    /// with the side; `None` for a run without bounds.
    #[serde(default)]
    pub active: Option<Vec<(usize, Side)>>,
    /// Whether the start lay outside the bounds and was projected onto them.
    #[serde(default)]
    pub projected_start: bool,
}

impl Report {
    /// Whether the termination counts as convergence.
    pub fn converged(&self) -> bool {
        self.termination.converged()
    }

    /// The final iterate as a nalgebra vector.
    pub fn x_dvector(&self) -> nalgebra::DVector<f64> {
        nalgebra::DVector::from_column_slice(&self.x)
    }
}

fn le(v: f64, tol: f64) -> &'static str {
    if v <= tol { "≤" } else { "≰" }
}

impl fmt::Display for Report {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = if self.converged() {
            "success"
        } else {
            "failure"
        };
        writeln!(out, " * Status: {status} ({})", self.termination)?;
        writeln!(out)?;
        writeln!(out, " * Candidate solution")?;
        writeln!(out, "    Method:                {}", self.method)?;
        writeln!(out, "    Final objective value: {:e}", self.f)?;
        if self.x.len() <= 10 {
            writeln!(out, "    x:                     {:?}", self.x)?;
        }
        writeln!(out)?;
        let s = &self.stop;
        let xtol = s.x_abs.max(s.x_rel);
        let ftol = s.f_abs.max(s.f_rel);
        writeln!(out, " * Convergence measures")?;
        writeln!(
            out,
            "    |x - x'|            = {:.2e} {} {:.1e}",
            self.step_norm,
            le(self.step_norm, xtol),
            xtol
        )?;
        writeln!(
            out,
            "    |f(x) - f(x')|      = {:.2e} {} {:.1e}",
            self.f_change,
            le(self.f_change, ftol),
            ftol
        )?;
        writeln!(
            out,
            "    |g(x)|∞             = {:.2e} {} {:.1e}",
            self.grad_norm,
            le(self.grad_norm, s.g_abs),
            s.g_abs
        )?;
        writeln!(out)?;
        writeln!(out, " * Work counters")?;
        writeln!(out, "    Seconds run:   {:.4}", self.elapsed.as_secs_f64())?;
        writeln!(out, "    Iterations:    {}", self.iterations)?;
        writeln!(out, "    f(x) calls:    {}", self.evals.f)?;
        writeln!(out, "    ∇f(x) calls:   {}", self.evals.g)?;
        writeln!(out, "    ∇²f(x) calls:  {}", self.evals.h)?;
        write!(out, "    ∇²f(x)v calls: {}", self.evals.hv)
    }
}
