//! Coordinate descent: cycle through the variables, minimizing along each.
//!
//! Goodfellow, Bengio & Courville (2016), *Deep Learning*, §8.7.2 (the
//! seeds): "if we minimize f(x) with respect to a single variable xᵢ, then
//! minimize it with respect to another variable xⱼ and so on, repeatedly
//! cycling through all variables, we are guaranteed to arrive at a (local)
//! minimum". It works when the variables are nearly separable; the seeds'
//! warning example `f(x) = (x₁ − x₂)² + α(x₁² + x₂²)` with small `α` couples
//! them strongly: each exact coordinate step only moves `x₁` to
//! `x₂/(1 + α)` and back, so a cycle shrinks the error by `1/(1 + α)²`
//! although Newton's method solves it in one step.
//!
//! One iteration is one cycle `i = 1..n`. Each coordinate is minimized by a
//! line search along `−(∂f/∂xᵢ) eᵢ` (default [`Exact`], a safeguarded secant on
//! the partial derivative: two evaluations on a quadratic). A coordinate whose
//! partial derivative is exactly 0 is skipped.
//!
//! # Deviation
//!
//! The problem traits give the whole gradient, so each 1-D evaluation costs
//! a full `value_grad` (counted as such); objectives with cheap partial
//! derivatives would want a trait of their own, which does not exist yet.

use serde::{Deserialize, Serialize};

use crate::linesearch::{Exact, LineSearch, ProblemLine};
use crate::problem::{Counted, Gradient, Objective};
use crate::solver::{Error, Minimizer, Report, RunOptions, State, Termination, run_options};

/// Cyclic coordinate descent with a line search per coordinate.
///
/// ```
/// use hesse::prelude::*;
/// use hesse::first_order::CoordinateDescent;
/// // Separable: one cycle of exact coordinate minimizations solves it.
/// let p = FnGradient::new(2, |x: &[f64], g: &mut [f64]| {
///     g[0] = 2.0 * (x[0] - 1.0);
///     g[1] = 20.0 * (x[1] + 2.0);
///     (x[0] - 1.0).powi(2) + 10.0 * (x[1] + 2.0).powi(2)
/// });
/// let r = CoordinateDescent::default().with_gtol(1e-9).minimize(&p, &[0.0, 0.0]).unwrap();
/// assert!(r.converged());
/// assert_eq!(r.iterations, 1);
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CoordinateDescent<L = Exact> {
    options: RunOptions,
    line_search: L,
    #[serde(skip)]
    work: Work,
}

#[derive(Debug, Clone, Default)]
struct Work {
    d: Vec<f64>,
    x_trial: Vec<f64>,
    g_trial: Vec<f64>,
}

impl Work {
    fn new(n: usize) -> Self {
        Work {
            d: vec![0.0; n],
            x_trial: vec![0.0; n],
            g_trial: vec![0.0; n],
        }
    }
}

impl Default for CoordinateDescent<Exact> {
    fn default() -> Self {
        CoordinateDescent::with_line_search(Exact::default())
    }
}

impl<L> CoordinateDescent<L> {
    /// Coordinate descent minimizing along each coordinate with `line_search`.
    pub fn with_line_search(line_search: L) -> Self {
        CoordinateDescent {
            options: RunOptions::default(),
            line_search,
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

run_options!([L] CoordinateDescent<L>);

impl<P: Gradient, L: LineSearch> Minimizer<P> for CoordinateDescent<L> {
    fn name(&self) -> &'static str {
        "coordinate-descent"
    }

    fn options(&self) -> &RunOptions {
        &self.options
    }

    fn dim(&self, problem: &Counted<P>) -> usize {
        problem.dim()
    }

    fn init(&mut self, problem: &Counted<P>, state: &mut State) -> Result<(), Error> {
        self.line_search.validate()?;
        self.line_search.reset();
        self.work = Work::new(state.x.len());
        state.f = problem.value_grad(&state.x, &mut state.g);
        Ok(())
    }

    fn next_iter(&mut self, problem: &Counted<P>, state: &mut State) -> Option<Termination> {
        let n = state.x.len();
        if self.work.d.len() != n {
            // Resumed from a checkpoint: the scratch buffers were not serialized.
            self.work = Work::new(n);
        }
        let mut step_norm = 0.0f64;
        for i in 0..n {
            let gi = state.g[i];
            if gi == 0.0 {
                continue;
            }
            let Work {
                d,
                x_trial,
                g_trial,
            } = &mut self.work;
            d.iter_mut().for_each(|v| *v = 0.0);
            d[i] = -gi;
            let dphi0 = -gi * gi;
            let mut line = ProblemLine::new(problem, &state.x, d, x_trial, g_trial);
            let step = match self.line_search.search(&mut line, state.f, dphi0, 1.0) {
                Ok(step) => step,
                Err(e) => {
                    state.note = Some(format!("coordinate {i}: {e}"));
                    return Some(Termination::LineSearchFailed);
                }
            };
            let f = line.finish(step.alpha);
            if !f.is_finite() {
                return Some(Termination::NonFiniteValue);
            }
            step_norm = step_norm.max((step.alpha * gi).abs());
            state.f = f;
            std::mem::swap(&mut state.x, x_trial);
            std::mem::swap(&mut state.g, g_trial);
        }
        state.step_norm = step_norm;
        state.alpha = f64::NAN;
        None
    }
}
