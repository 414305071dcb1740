//! Steepest descent with a line search.
//!
//! Nocedal & Wright (2006) §3.1: `d_k = −∇f(x_k)`, `x_{k+1} = x_k + α_k d_k`
//! with `α_k` from any [`LineSearch`]. The first trial step is
//! `α₀ = min(1, 1/‖g₀‖∞)`; after that, N&W (3.60): `α₀ = α_{k−1} φ'_{k−1}(0) / φ'_k(0)`,
//! which assumes the first-order change is the same as last time.
//!
//! On a quadratic with condition number κ and an exact line search, the
//! error in `f` falls by at most `((κ−1)/(κ+1))²` per iteration (N&W (3.29)).

use serde::{Deserialize, Serialize};

use crate::linesearch::{Backtracking, LineSearch, ProblemLine, dot};
use crate::problem::{Counted, Gradient, Objective};
use crate::solver::{
    Error, Minimizer, Report, RunOptions, State, Termination, inf_norm, run_options,
};

/// Steepest descent `x_{k+1} = x_k − α_k ∇f(x_k)`.
///
/// ```
/// use hesse::prelude::*;
/// let p = FnGradient::new(2, |x: &[f64], g: &mut [f64]| {
///     g[0] = 2.0 * x[0];
///     g[1] = 20.0 * x[1];
///     x[0] * x[0] + 10.0 * x[1] * x[1]
/// });
/// let report = GradientDescent::default().with_gtol(1e-10).minimize(&p, &[1.0, 1.0]).unwrap();
/// assert!(report.converged());
/// assert!(report.x.iter().all(|v| v.abs() < 1e-10));
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GradientDescent<L = Backtracking> {
    options: RunOptions,
    line_search: L,
    /// `α_{k−1}` and `φ'_{k−1}(0)`, for the next initial step (N&W (3.60)).
    alpha_prev: f64,
    dphi0_prev: f64,
    #[serde(skip)]
    work: Work,
}

#[derive(Debug, Clone, Default)]
struct Work {
    d: Vec<f64>,
    x_trial: Vec<f64>,
    g_trial: Vec<f64>,
}

impl Default for GradientDescent<Backtracking> {
    fn default() -> Self {
        Self::with_line_search(Backtracking::default())
    }
}

impl<L> GradientDescent<L> {
    /// Steepest descent with the given line search.
    pub fn with_line_search(line_search: L) -> Self {
        GradientDescent {
            options: RunOptions::default(),
            line_search,
            alpha_prev: f64::NAN,
            dphi0_prev: f64::NAN,
            work: Work::default(),
        }
    }

    /// Runs to the end from `x0`.
    pub fn minimize<P: Gradient + ?Sized>(&self, problem: &P, x0: &[f64]) -> Result<Report, Error>
    where
        L: LineSearch + Clone,
    {
        crate::solver::minimize(self.clone(), problem, x0)
    }
}

run_options!([L] GradientDescent<L>);

impl<P: Gradient, L: LineSearch> Minimizer<P> for GradientDescent<L> {
    fn name(&self) -> &'static str {
        "gd"
    }

    fn options(&self) -> &RunOptions {
        &self.options
    }

    fn dim(&self, problem: &Counted<P>) -> usize {
        problem.dim()
    }

    fn init(&mut self, problem: &Counted<P>, state: &mut State) -> Result<(), Error> {
        let n = state.x.len();
        self.work = Work {
            d: vec![0.0; n],
            x_trial: vec![0.0; n],
            g_trial: vec![0.0; n],
        };
        self.alpha_prev = f64::NAN;
        self.dphi0_prev = f64::NAN;
        state.f = problem.value_grad(&state.x, &mut state.g);
        Ok(())
    }

    fn next_iter(&mut self, problem: &Counted<P>, state: &mut State) -> Option<Termination> {
        let n = state.x.len();
        if self.work.d.len() != n {
            // Resumed from a checkpoint: the scratch buffers were not serialized.
            self.work = Work {
                d: vec![0.0; n],
                x_trial: vec![0.0; n],
                g_trial: vec![0.0; n],
            };
        }
        let Work {
            d,
            x_trial,
            g_trial,
        } = &mut self.work;
        for (di, gi) in d.iter_mut().zip(&state.g) {
            *di = -gi;
        }
        let dphi0 = dot(&state.g, d);
        let alpha0 = if self.alpha_prev.is_finite() {
            self.alpha_prev * self.dphi0_prev / dphi0
        } else {
            (1.0 / state.grad_norm).min(1.0)
        };
        let mut line = ProblemLine::new(problem, &state.x, d, x_trial, g_trial);
        let step = match self.line_search.search(&mut line, state.f, dphi0, alpha0) {
            Ok(step) => step,
            Err(e) => {
                state.note = Some(e.to_string());
                return Some(Termination::LineSearchFailed);
            }
        };
        let f = line.finish(step.alpha);
        if !f.is_finite() {
            return Some(Termination::NonFiniteValue);
        }
        self.alpha_prev = step.alpha;
        self.dphi0_prev = dphi0;
        state.step_norm = step.alpha * inf_norm(d);
        state.alpha = step.alpha;
        state.f = f;
        std::mem::swap(&mut state.x, x_trial);
        std::mem::swap(&mut state.g, g_trial);
        None
    }
}
