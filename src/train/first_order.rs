//! Every first-order [`Optimizer`] as a driver [`Method`]: a learning-rate
//! schedule over steps, gradient clipping and iterate averaging around one
//! minibatch gradient per step (GBC §8.3).

use serde::{Deserialize, Serialize};

use super::{Method, Minibatch, StepRecord};
use crate::first_order::{Averager, Averaging, Clip, MinibatchObjective, Optimizer, Schedule};
use crate::solver::Error;

/// A first-order optimizer on the driver: each step sets the scheduled rate
/// `ε_k = schedule(ε₀, k)`, takes the minibatch gradient at the optimizer's
/// point (`θ + αv` for Nesterov), clips it, and steps; an average of the
/// iterates, if kept, is where the driver evaluates held-out data.
/// Reports `("lr", ε_k)`.
///
/// ```
/// use hesse::first_order::{Momentum, MinibatchObjective};
/// use hesse::train::{Driver, FirstOrder};
/// // Mean of (θ − yᵢ)²/2 over y = 0, 1, ..., 9: the minimizer is 4.5.
/// struct Mean;
/// impl MinibatchObjective for Mean {
///     fn n_params(&self) -> usize { 1 }
///     fn n_examples(&self) -> usize { 10 }
///     fn value_grad_batch(&self, p: &[f64], batch: &[usize], g: &mut [f64]) -> f64 {
///         let m = batch.len() as f64;
///         g[0] = batch.iter().map(|&i| p[0] - i as f64).sum::<f64>() / m;
///         batch.iter().map(|&i| (p[0] - i as f64).powi(2) / 2.0).sum::<f64>() / m
///     }
/// }
/// let state = Driver::new()
///     .with_batch_size(10)
///     .with_max_epochs(100)
///     .train(&Mean, FirstOrder::new(Momentum::new(0.1, 0.5)), vec![0.0])
///     .unwrap();
/// assert!((state.x[0] - 4.5).abs() < 1e-6);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FirstOrder<O> {
    /// The optimizer with its state.
    pub optimizer: O,
    schedule: Schedule,
    clip: Option<Clip>,
    averaging: Option<Averaging>,
    /// The base rate `ε₀` (the optimizer's rate at the start).
    #[serde(with = "crate::solver::float_serde")]
    eps0: f64,
    /// Steps taken: the schedule's `k`.
    steps: u64,
    averager: Option<Averager>,
    #[serde(skip)]
    grad: Vec<f64>,
    #[serde(skip)]
    at: Vec<f64>,
}

impl<O: Optimizer> FirstOrder<O> {
    /// `optimizer` at a constant rate, no clipping, no averaging.
    pub fn new(optimizer: O) -> Self {
        FirstOrder {
            eps0: optimizer.learning_rate(),
            optimizer,
            schedule: Schedule::Constant,
            clip: None,
            averaging: None,
            steps: 0,
            averager: None,
            grad: Vec::new(),
            at: Vec::new(),
        }
    }

    /// The learning-rate schedule, over steps.
    #[must_use]
    pub fn with_schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// Clips each minibatch gradient.
    #[must_use]
    pub fn with_clip(mut self, clip: Clip) -> Self {
        self.clip = Some(clip);
        self
    }

    /// Keeps an average of the iterates (held-out data is evaluated there).
    #[must_use]
    pub fn with_averaging(mut self, averaging: Averaging) -> Self {
        self.averaging = Some(averaging);
        self
    }

    /// Steps taken.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The base rate `ε₀`.
    pub fn eps0(&self) -> f64 {
        self.eps0
    }

    /// The iterate average, if kept.
    pub fn averager(&self) -> Option<&Averager> {
        self.averager.as_ref()
    }

    /// The state of a run in progress (the epoch-based
    /// [`Trainer`](crate::first_order::Trainer)'s conversion).
    pub(crate) fn resumed(mut self, eps0: f64, steps: u64, averager: Option<Averager>) -> Self {
        self.eps0 = eps0;
        self.steps = steps;
        self.averager = averager;
        self
    }

    /// `(optimizer, ε₀, steps, averager)`.
    pub(crate) fn into_parts(self) -> (O, f64, u64, Option<Averager>) {
        (self.optimizer, self.eps0, self.steps, self.averager)
    }

    /// Checks the optimizer's, the schedule's, the clipping's and the
    /// averaging's options.
    pub fn validate(&self) -> Result<(), Error> {
        self.optimizer.validate()?;
        self.schedule.validate()?;
        if let Some(c) = &self.clip {
            c.validate()?;
        }
        if let Some(a) = self.averaging {
            Averager::new(a).validate()?;
        }
        Ok(())
    }
}

impl<P: MinibatchObjective + ?Sized, O: Optimizer> Method<P> for FirstOrder<O> {
    fn name(&self) -> &'static str {
        self.optimizer.name()
    }

    fn start(&mut self, _problem: &P, _x0: &[f64]) -> Result<(), Error> {
        self.validate()?;
        self.optimizer.reset();
        self.eps0 = self.optimizer.learning_rate();
        self.steps = 0;
        self.averager = self.averaging.map(Averager::new);
        Ok(())
    }

    fn step(
        &mut self,
        problem: &P,
        x: &mut [f64],
        batch: &Minibatch<'_>,
    ) -> Result<StepRecord, Error> {
        let n = x.len();
        self.grad.resize(n, 0.0);
        self.at.resize(n, 0.0);
        let lr = self.schedule.lr(self.eps0, self.steps);
        self.optimizer.set_learning_rate(lr);
        // The gradient at the optimizer's point (θ + αv for Nesterov).
        self.optimizer.gradient_point(x, &mut self.at);
        let loss = problem.value_grad_batch(&self.at, batch.examples, &mut self.grad);
        if !loss.is_finite() || self.grad.iter().any(|g| !g.is_finite()) {
            // No step: the driver stops on the non-finite loss.
            let loss = if loss.is_finite() { f64::NAN } else { loss };
            return Ok(StepRecord::new(loss).with("lr", lr));
        }
        if let Some(c) = &self.clip {
            c.apply(&mut self.grad);
        }
        self.optimizer.step(x, &self.grad);
        self.steps += 1;
        if let Some(a) = &mut self.averager {
            a.update(x);
        }
        Ok(StepRecord::new(loss).with("lr", lr))
    }

    fn eval_point(&self) -> Option<&[f64]> {
        self.averager
            .as_ref()
            .filter(|a| a.count() > 0)
            .map(|a| a.average())
    }
}
