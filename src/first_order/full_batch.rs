//! Any [`Optimizer`] as a deterministic minimizer: the full gradient at every
//! step, a fixed rule for the step length (the optimizer's, scaled by a
//! [`Schedule`]), no line search.
//!
//! Iteration `k` (GBC ch. 8 with `m` = all data):
//! 1. `ε_k = schedule(ε₀, k)`, handed to the optimizer;
//! 2. `g` at the optimizer's [`gradient_point`](Optimizer::gradient_point)
//!    (`θ`, or `θ + αv` for Nesterov-type rules), clipped if asked;
//! 3. `θ ← θ + Δθ(g)`, then `f(θ)`, `∇f(θ)` for the stopping tests.
//!
//! So a rule evaluated at `θ` costs one `value_grad` per iteration and a
//! look-ahead rule two (the stopping test needs `∇f(θ)`, the rule `∇f(θ + αv)`).
//! With `gtol = 0` the run makes exactly `max_iter` steps of the rule, which is
//! what makes its iterates checkable by hand. `state.alpha` reports `ε_k`.
//!
//! These are baselines: they converge at the rate the theory gives for a
//! fixed step (`O(κ log 1/tol)` iterations for gradient descent,
//! `O(√κ log 1/tol)` for tuned momentum) and need their rate tuned per
//! problem, which is why `hesse compare` does not run them by default.

use serde::{Deserialize, Serialize};

use super::average::{Averager, Averaging};
use super::clip::Clip;
use super::optimizer::Optimizer;
use super::schedule::Schedule;
use crate::problem::{Counted, Gradient, Objective};
use crate::solver::{
    Error, Minimizer, Report, Run, RunOptions, State, Termination, inf_norm, run_options,
};

/// A first-order [`Optimizer`] run full-batch by the solver driver.
///
/// ```
/// use hesse::prelude::*;
/// use hesse::first_order::FullBatch;
/// // Heavy ball on f = x² + 10 y², L = 20, μ = 2, with Polyak's constants.
/// let p = FnGradient::new(2, |x: &[f64], g: &mut [f64]| {
///     g[0] = 2.0 * x[0];
///     g[1] = 20.0 * x[1];
///     x[0] * x[0] + 10.0 * x[1] * x[1]
/// });
/// let (l, mu) = (20f64, 2f64);
/// let lr = 4.0 / (l.sqrt() + mu.sqrt()).powi(2);
/// let alpha = ((l.sqrt() - mu.sqrt()) / (l.sqrt() + mu.sqrt())).powi(2);
/// let report = FullBatch::new(Momentum::new(lr, alpha))
///     .with_gtol(1e-10)
///     .minimize(&p, &[1.0, 1.0])
///     .unwrap();
/// assert!(report.converged());
/// assert!(report.iterations < 100);
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FullBatch<O> {
    options: RunOptions,
    optimizer: O,
    schedule: Schedule,
    clip: Option<Clip>,
    averager: Option<Averager>,
    /// The base rate `ε₀`, read from the optimizer at the start.
    #[serde(with = "crate::solver::float_serde")]
    eps0: f64,
    /// Steps taken, `k`.
    k: u64,
    #[serde(skip)]
    work: Work,
}

#[derive(Debug, Clone, Default)]
struct Work {
    at: Vec<f64>,
    g_step: Vec<f64>,
    x_next: Vec<f64>,
    g_next: Vec<f64>,
}

impl Work {
    fn new(n: usize) -> Self {
        Work {
            at: vec![0.0; n],
            g_step: vec![0.0; n],
            x_next: vec![0.0; n],
            g_next: vec![0.0; n],
        }
    }
}

impl<O: Optimizer> FullBatch<O> {
    /// Runs `optimizer` with a constant rate, no clipping, no averaging.
    pub fn new(optimizer: O) -> Self {
        FullBatch {
            options: RunOptions::default(),
            optimizer,
            schedule: Schedule::Constant,
            clip: None,
            averager: None,
            eps0: f64::NAN,
            k: 0,
            work: Work::default(),
        }
    }

    /// Scales the optimizer's rate by `schedule` (default constant).
    #[must_use]
    pub fn with_schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// Clips each gradient before the step (default none).
    #[must_use]
    pub fn with_clip(mut self, clip: Clip) -> Self {
        self.clip = Some(clip);
        self
    }

    /// Keeps an average of the iterates; [`minimize`](Self::minimize) then
    /// reports `x`, `f` and the gradient norm at the average (one more
    /// evaluation), while the stopping tests are made on the iterates.
    #[must_use]
    pub fn with_averaging(mut self, averaging: Averaging) -> Self {
        self.averager = Some(Averager::new(averaging));
        self
    }

    /// The optimizer, with its state.
    pub fn optimizer(&self) -> &O {
        &self.optimizer
    }

    /// The iterate average, if kept.
    pub fn averager(&self) -> Option<&Averager> {
        self.averager.as_ref()
    }

    /// Runs to the end from `x0`.
    pub fn minimize<P: Gradient + ?Sized>(&self, problem: &P, x0: &[f64]) -> Result<Report, Error>
    where
        O: Clone,
    {
        let mut run = Run::new(self.clone(), problem, x0)?;
        while run.step().is_none() {}
        let mut report = run.report();
        if let Some(avg) = run.solver().averager()
            && avg.count() > 0
        {
            let x = avg.average().to_vec();
            let mut g = vec![0.0; x.len()];
            report.f = problem.value_grad(&x, &mut g);
            report.evals.f += 1;
            report.evals.g += 1;
            report.grad_norm = inf_norm(&g);
            report.x = x;
        }
        Ok(report)
    }
}

run_options!([O] FullBatch<O>);

impl<P: Gradient, O: Optimizer> Minimizer<P> for FullBatch<O> {
    fn name(&self) -> &'static str {
        self.optimizer.name()
    }

    fn options(&self) -> &RunOptions {
        &self.options
    }

    fn dim(&self, problem: &Counted<P>) -> usize {
        problem.dim()
    }

    fn init(&mut self, problem: &Counted<P>, state: &mut State) -> Result<(), Error> {
        self.optimizer.validate()?;
        self.schedule.validate()?;
        if let Some(c) = &self.clip {
            c.validate()?;
        }
        if let Some(a) = &mut self.averager {
            a.validate()?;
            a.reset();
        }
        self.optimizer.reset();
        self.eps0 = self.optimizer.learning_rate();
        self.k = 0;
        self.work = Work::new(state.x.len());
        state.f = problem.value_grad(&state.x, &mut state.g);
        Ok(())
    }

    fn next_iter(&mut self, problem: &Counted<P>, state: &mut State) -> Option<Termination> {
        let n = state.x.len();
        if self.work.at.len() != n {
            // Resumed from a checkpoint: the scratch buffers were not serialized.
            self.work = Work::new(n);
        }
        let lr = self.schedule.lr(self.eps0, self.k);
        self.optimizer.set_learning_rate(lr);
        let Work {
            at,
            g_step,
            x_next,
            g_next,
        } = &mut self.work;
        if self.optimizer.looks_ahead() {
            self.optimizer.gradient_point(&state.x, at);
            let f_at = problem.value_grad(at, g_step);
            if !f_at.is_finite() || g_step.iter().any(|g| !g.is_finite()) {
                return Some(Termination::NonFiniteValue);
            }
        } else {
            g_step.copy_from_slice(&state.g);
        }
        if let Some(c) = &self.clip {
            c.apply(g_step);
        }
        x_next.copy_from_slice(&state.x);
        self.optimizer.step(x_next, g_step);
        let f = problem.value_grad(x_next, g_next);
        if !f.is_finite() {
            return Some(Termination::NonFiniteValue);
        }
        self.k += 1;
        state.step_norm = x_next
            .iter()
            .zip(&state.x)
            .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
        state.alpha = lr;
        state.f = f;
        std::mem::swap(&mut state.x, x_next);
        std::mem::swap(&mut state.g, g_next);
        if let Some(a) = &mut self.averager {
            a.update(&state.x);
        }
        None
    }
}
