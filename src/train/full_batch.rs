//! A full-batch minimizer (L-BFGS, BFGS, nonlinear CG, ...) on the training
//! driver: one iteration of the minimizer on the whole training set per
//! step, so that a full-batch method is compared with the minibatch ones
//! under the same held-out evaluation, best iterate, patience, limits,
//! history and checkpoints.

use serde::{Deserialize, Serialize};

use super::{Method, Minibatch, NetworkObjective, StepRecord};
use crate::nn::MlpProblem;
use crate::solver::{Checkpoint, Error, Minimizer, Run, Termination};

/// A full-batch [`Minimizer`] as a driver [`Method`]: each step is one
/// iteration of the minimizer's own [`Run`] (its line search, its stopping
/// tests) on the network's whole training set; the driver's minibatch is not
/// used. Give the driver a batch of every example (then one step is one
/// epoch). The run stops the driver ([`StopReason::Finished`]) when the
/// minimizer ends on its own (converged, its line search failed, or one of
/// its own limits was reached: [`termination`](Self::termination) says
/// which), so set the minimizer's iteration limit above the driver's (the
/// registry's `lbfgs` has none).
///
/// Reports the full-batch loss at the start of the step (the driver's
/// convention: the loss where the gradient was taken), `("lr", α)` the line
/// search's step and `("evaluations", n)`, the passes over the training set
/// so far (`max(f, g)` evaluations: a value-and-gradient pass counts once).
///
/// [`StopReason::Finished`]: super::StopReason::Finished
///
/// ```
/// use hesse::nn::{Activation, Dataset, Init, Loss, Mlp};
/// use hesse::prelude::*;
/// use hesse::quasi_newton::Lbfgs;
/// use hesse::train::{Driver, FullBatchMinimizer};
/// let data = Dataset::digits().unwrap();
/// let mlp = Mlp::new(&[64, 12, 10], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
/// let problem = mlp.problem(&data).unwrap();
/// let x0 = mlp.init(Init::Glorot, 1);
/// let state = Driver::new()
///     .with_batch_size(data.len())
///     .with_max_iter(20)
///     .train(&problem, FullBatchMinimizer::new(Lbfgs::default()), x0.clone())
///     .unwrap();
/// assert_eq!(state.iteration, 20);
/// assert!(problem.value(&state.x) < 0.5 * problem.value(&x0));
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FullBatchMinimizer<M> {
    /// The minimizer as configured (each run starts from a copy).
    solver: M,
    /// The run in progress: the minimizer's state and the shared state.
    run: Option<Checkpoint<M>>,
}

impl<M> FullBatchMinimizer<M> {
    /// `solver` on the driver.
    pub fn new(solver: M) -> Self {
        FullBatchMinimizer { solver, run: None }
    }

    /// Why the minimizer ended its run, once it has.
    pub fn termination(&self) -> Option<Termination> {
        self.run.as_ref().and_then(|r| r.finished)
    }
}

impl<P, M> Method<P> for FullBatchMinimizer<M>
where
    P: NetworkObjective + ?Sized,
    M: for<'a, 'b> Minimizer<&'a MlpProblem<'b>> + Clone,
{
    fn name(&self) -> &'static str {
        Minimizer::<&MlpProblem<'_>>::name(&self.solver)
    }

    /// Starts the minimizer's run at `x0`: one evaluation of the whole
    /// training set.
    fn start(&mut self, problem: &P, x0: &[f64]) -> Result<(), Error> {
        let run = Run::new(self.solver.clone(), problem.network(), x0)?;
        self.run = Some(run.into_checkpoint());
        Ok(())
    }

    fn step(
        &mut self,
        problem: &P,
        x: &mut [f64],
        _batch: &Minibatch<'_>,
    ) -> Result<StepRecord, Error> {
        let checkpoint = self
            .run
            .take()
            .ok_or_else(|| Error::InvalidProblem("the method was not started".into()))?;
        let loss = checkpoint.state.f;
        let mut run = Run::resume(checkpoint, problem.network())?;
        run.step();
        let state = run.state();
        x.copy_from_slice(&state.x);
        let record = StepRecord::new(loss)
            .with("lr", state.alpha)
            .with("evaluations", state.evals.f.max(state.evals.g) as f64);
        self.run = Some(run.into_checkpoint());
        Ok(record)
    }

    fn finished(&self) -> bool {
        self.termination().is_some()
    }
}
