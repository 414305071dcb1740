//! Steepest descent with a line search.
//!
//! Nocedal & Wright (2006) §3.1: `d_k = −∇f(x_k)`, `x_{k+1} = x_k + α_k d_k`
//! with `α_k` from any [`LineSearch`] and the first trial `α₀` from any
//! [`InitialStep`]. The default, [`QuadraticInterpolation`] without a cap
//! (N&W p. 59, who advise no cap for steepest descent), starts with
//! `α₀ = min(1, 1/‖g₀‖∞)` and then uses `α₀ = 1.01 · 2 (f_k − f_{k−1}) / φ'_k(0)`,
//! the minimizer of the quadratic through `f_{k−1}`, `f_k` and `φ'_k(0)`.
//! Where `f` is linear along the path it doubles the step each iteration, so
//! a run on an objective unbounded below reaches [`Stop::f_lower`] in tens of
//! iterations, where N&W (3.60)'s [`ScaledPrevious`]
//! (`α₀ = α_{k−1} φ'_{k−1}(0) / φ'_k(0)`, the default before issue 18) kept the
//! step and never ended. The price is small and not one-sided: on the 35
//! MGH problems from 1×, 10×, 100× (gtol 1e-6, 20,000 iterations) it solves
//! 60 of 105 runs against 58, with 2,089,240 f+g evaluations against
//! 2,102,602; in `hesse compare --suite mgh` (standard starts) both solve
//! 18 of 35, with 370,793 evaluations of f against 354,866.
//!
//! [`Stop::f_lower`]: crate::solver::Stop::f_lower
//!
//! On a quadratic with condition number κ and an exact line search, the
//! error in `f` falls by at most `((κ−1)/(κ+1))²` per iteration (N&W (3.29)).

use serde::{Deserialize, Serialize};

#[cfg(doc)]
use crate::linesearch::ScaledPrevious;
use crate::linesearch::initial::StepContext;
use crate::linesearch::{
    Backtracking, InitialStep, LineSearch, ProblemLine, QuadraticInterpolation, dot,
};
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
///
/// Any line search and initial-step strategy:
///
/// ```
/// use hesse::prelude::*;
/// use hesse::linesearch::HagerZhangInitial;
/// use hesse::problems::Rosenbrock;
/// let report = GradientDescent::with_line_search(MoreThuente::default())
///     .with_initial_step(HagerZhangInitial::default())
///     .with_gtol(1e-6)
///     .with_max_iter(100_000)
///     .minimize(&Rosenbrock::new(2), &[-1.2, 1.0])
///     .unwrap();
/// assert!(report.converged());
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GradientDescent<L = Backtracking, I = QuadraticInterpolation> {
    options: RunOptions,
    line_search: L,
    /// The initial-step strategy, with its history (`α_{k−1}`, ...).
    initial_step: I,
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
    /// Steepest descent with the given line search and the default initial
    /// step ([`QuadraticInterpolation`] with no cap on `α₀`).
    pub fn with_line_search(line_search: L) -> Self {
        GradientDescent {
            options: RunOptions::default(),
            line_search,
            initial_step: QuadraticInterpolation::default().with_alpha_max(f64::INFINITY),
            work: Work::default(),
        }
    }
}

impl<L, I> GradientDescent<L, I> {
    /// Uses `initial_step` for the first trial of each line search.
    pub fn with_initial_step<J: InitialStep>(self, initial_step: J) -> GradientDescent<L, J> {
        GradientDescent {
            options: self.options,
            line_search: self.line_search,
            initial_step,
            work: self.work,
        }
    }

    /// Runs to the end from `x0`.
    pub fn minimize<P: Gradient + ?Sized>(&self, problem: &P, x0: &[f64]) -> Result<Report, Error>
    where
        L: LineSearch + Clone,
        I: InitialStep + Clone,
    {
        crate::solver::minimize(self.clone(), problem, x0)
    }
}

run_options!([L, I] GradientDescent<L, I>);

impl<P: Gradient, L: LineSearch, I: InitialStep> Minimizer<P> for GradientDescent<L, I> {
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
        self.line_search.validate()?;
        self.line_search.reset();
        self.initial_step.reset();
        let n = state.x.len();
        self.work = Work {
            d: vec![0.0; n],
            x_trial: vec![0.0; n],
            g_trial: vec![0.0; n],
        };
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
        let ctx = StepContext {
            x: &state.x,
            f: state.f,
            dphi0,
            d_norm: inf_norm(d),
        };
        let mut line = ProblemLine::new(problem, &state.x, d, x_trial, g_trial);
        let alpha0 = self.initial_step.alpha0(&ctx, &mut line);
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
        self.initial_step.accept(step.alpha, &ctx);
        state.step_norm = step.alpha * inf_norm(d);
        state.alpha = step.alpha;
        state.f = f;
        std::mem::swap(&mut state.x, x_trial);
        std::mem::swap(&mut state.g, g_trial);
        None
    }
}
