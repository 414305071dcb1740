//! The one minibatch driver every training method runs through.
//!
//! A [`Driver`] owns everything a training run needs that is not the
//! method: the seeded sampling of minibatches ([`Sampler`]), the curvature
//! sub-batch, the held-out evaluation, the best held-out iterate and
//! patience (Goodfellow, Bengio & Courville 2016, alg. 7.1), iteration,
//! epoch and time limits, a progress bar, the history (CSV) and
//! checkpoints that resume bit for bit ([`TrainingState`], serde). A method
//! supplies one step ([`Method::step`]) on the minibatch the driver hands
//! it, and reports its own quantities (`λ`, `ρ`, `γ`, CG steps, a rejected
//! step) as named values in a [`StepRecord`]; the driver records them
//! without knowing what they mean (argmin's `kv!`).
//!
//! Methods on the driver:
//! - every first-order [`Optimizer`](crate::first_order::Optimizer) through
//!   [`FirstOrder`] (a learning-rate schedule, clipping and averaging);
//! - full-batch minimizers (L-BFGS) through [`FullBatchMinimizer`], one
//!   iteration on the whole training set per step;
//! - [`HessianFree`](crate::natural::HessianFree) (Martens 2010),
//!   [`NaturalGradient`](crate::natural::NaturalGradient) and
//!   [`Kfac`](crate::natural::Kfac) (Martens & Grosse 2015) on networks;
//! - [`AdaHessian`] (Yao et al. 2021), a diagonal-Hessian method in one file:
//!   what a new method costs;
//! - [`Sophia`] (Liu et al. 2023) with a Hutchinson (Sophia-H) or
//!   Gauss-Newton-Bartlett (Sophia-G) diagonal;
//! - [`Shampoo`] (Gupta, Koren & Singer 2018, with Distributed Shampoo's
//!   grafting) and [`Soap`] (Vyas et al. 2024, Adam in Shampoo's
//!   eigenbasis), per-layer Kronecker-factored methods.
//!
//! [`registry`] maps the command-line names to methods, one line each.
//!
//! ```
//! use hesse::first_order::Adam;
//! use hesse::nn::{Activation, Dataset, Init, Loss, Mlp, MlpTraining};
//! use hesse::train::{Driver, FirstOrder};
//!
//! let data = Dataset::two_spirals(50, 0.0, 1).unwrap();
//! let (train, val) = data.split(0.2, 0).unwrap();
//! let mlp = Mlp::new(&[2, 16, 2], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
//! let objective = MlpTraining::new(&mlp, &train, Some(&val)).unwrap();
//! let driver = Driver::new().with_batch_size(16).with_max_epochs(5).with_seed(3);
//! let state = driver
//!     .train(&objective, FirstOrder::new(Adam::new(0.01)), mlp.init(Init::Glorot, 0))
//!     .unwrap();
//! assert_eq!(state.epoch, 5);
//! assert_eq!(state.history.len(), 5); // one held-out evaluation per epoch
//! assert!(state.best.is_some());
//! ```

pub mod adahessian;
mod driver;
mod first_order;
mod full_batch;
pub mod registry;
pub mod sampler;
pub mod shampoo;
pub mod soap;
pub mod sophia;

pub use adahessian::AdaHessian;
pub use driver::{Best, Driver, EvalEvery, Progress, Record, StopReason, TrainingState};
pub use first_order::FirstOrder;
pub use full_batch::FullBatchMinimizer;
pub use sampler::Sampler;
pub use shampoo::{Grafting, Shampoo};
pub use soap::Soap;
pub use sophia::{Sophia, SophiaEstimator};

use serde::{Deserialize, Serialize};

use crate::first_order::MinibatchObjective;
use crate::nn::MlpProblem;
use crate::solver::Error;

/// The examples of one iteration, as the driver hands them to a method.
#[derive(Debug, Clone, Copy)]
pub struct Minibatch<'b> {
    /// The iteration this step makes, from 1.
    pub iteration: u64,
    /// The gradient minibatch (indices into the training examples).
    pub examples: &'b [usize],
    /// The curvature sub-batch: the first examples of `examples`.
    pub curvature: &'b [usize],
    /// A seed for the step's own randomness (sampled targets, Rademacher
    /// vectors), a function of the run's seed and `iteration` only, so that
    /// a resumed run draws the same numbers.
    pub seed: u64,
}

/// What a method's step reports: the minibatch loss at the point the
/// gradient was taken, and the method's own quantities by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepRecord {
    /// The minibatch loss at the start of the step (a non-finite value stops
    /// the run).
    pub loss: f64,
    /// Named quantities: `("lambda", λ)`, `("rho", ρ)`, `("cg_iterations",
    /// 12.0)`, `("rejected", 1.0)`, `("lr", ε)`...
    pub values: Vec<(&'static str, f64)>,
}

impl StepRecord {
    /// A record with the loss and no values.
    pub fn new(loss: f64) -> Self {
        StepRecord {
            loss,
            values: Vec::new(),
        }
    }

    /// Adds a named value.
    #[must_use]
    pub fn with(mut self, name: &'static str, value: f64) -> Self {
        self.values.push((name, value));
        self
    }

    /// The value named `name`, if the step reported it.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, v)| v)
    }

    /// Whether the step reported `("rejected", v)` with `v ≠ 0`.
    pub fn rejected(&self) -> bool {
        self.get("rejected").is_some_and(|v| v != 0.0)
    }
}

/// One training method: a step on the minibatch the [`Driver`] draws.
///
/// The method's state (velocities, damping, curvature factors) lives in the
/// value itself, so a [`TrainingState`] that holds it checkpoints it (the
/// method must then be `Serialize`/`Deserialize`, its floats through
/// `float_serde`, to resume bit for bit).
pub trait Method<P: ?Sized> {
    /// The name the command line and the history use (`"adam"`, `"kfac"`).
    fn name(&self) -> &'static str;

    /// Checks the options against the problem and forgets any previous run:
    /// the next step is a first step from `x0`.
    fn start(&mut self, problem: &P, x0: &[f64]) -> Result<(), Error>;

    /// The size of the curvature sub-batch for a minibatch of `batch`
    /// examples when the driver is not given one (default: the whole batch).
    fn curvature_batch(&self, batch: usize) -> usize {
        batch
    }

    /// One iteration at `x` (updated in place) on `batch`.
    ///
    /// An `Err` ends the run with that error (a failed factorization, an
    /// invalid problem); a non-finite loss ends it with
    /// [`StopReason::NonFinite`].
    fn step(
        &mut self,
        problem: &P,
        x: &mut [f64],
        batch: &Minibatch<'_>,
    ) -> Result<StepRecord, Error>;

    /// The point at which held-out data is evaluated and the best iterate
    /// taken, when it is not `x` (an iterate average). Default `None`.
    fn eval_point(&self) -> Option<&[f64]> {
        None
    }

    /// Whether the method has ended on its own (a full-batch minimizer that
    /// converged or whose line search failed): the driver then stops with
    /// [`StopReason::Finished`]. Default `false`.
    fn finished(&self) -> bool {
        false
    }
}

impl<P: ?Sized, M: Method<P> + ?Sized> Method<P> for Box<M> {
    fn name(&self) -> &'static str {
        (**self).name()
    }
    fn start(&mut self, problem: &P, x0: &[f64]) -> Result<(), Error> {
        (**self).start(problem, x0)
    }
    fn curvature_batch(&self, batch: usize) -> usize {
        (**self).curvature_batch(batch)
    }
    fn step(
        &mut self,
        problem: &P,
        x: &mut [f64],
        batch: &Minibatch<'_>,
    ) -> Result<StepRecord, Error> {
        (**self).step(problem, x, batch)
    }
    fn eval_point(&self) -> Option<&[f64]> {
        (**self).eval_point()
    }
    fn finished(&self) -> bool {
        (**self).finished()
    }
}

/// A [`MinibatchObjective`] that is a network: what the curvature methods
/// (Hessian-free, natural gradient, K-FAC, AdaHessian) need, the
/// [`MlpProblem`] of the training data. Implemented by [`MlpProblem`] (no
/// held-out data) and [`MlpTraining`](crate::nn::MlpTraining).
pub trait NetworkObjective: MinibatchObjective {
    /// The network bound to the training data.
    fn network(&self) -> &MlpProblem<'_>;
}

/// A named value of the history (serializable: the names are owned).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Named {
    /// The name the method reported.
    pub name: String,
    /// The value.
    #[serde(with = "crate::solver::float_serde")]
    pub value: f64,
}

/// The wrapper callbacks' error for a minibatch primitive of a network.
pub(crate) fn nn_error(e: crate::nn::NnError) -> Error {
    Error::InvalidProblem(e.to_string())
}
