//! A network bound to its training and held-out data as a
//! [`MinibatchObjective`], so that the training loop
//! ([`Trainer`](crate::first_order::Trainer)) can train it.
//!
//! Minibatch losses and gradients come from
//! [`MlpProblem::value_grad_batch`]; the held-out metrics after each epoch
//! are the loss on the whole held-out set and, for softmax cross-entropy,
//! the classification accuracy ([`Mlp::accuracy`]). Batch-normalized layers
//! are evaluated with the statistics of the held-out set itself.

use super::{Dataset, Loss, Mlp, MlpProblem, NnError};
use crate::first_order::{Metrics, MinibatchObjective};
use crate::problem::Objective;

/// An [`Mlp`] with its training set and an optional held-out set.
///
/// Both sets are checked against the network when it is built
/// ([`MlpTraining::new`]), so the only errors the minibatch primitives could
/// return, an index past the data or a parameter vector of the wrong length,
/// are the ones the training loop rules out (it validates `params0` and
/// draws indices below [`n_examples`](MinibatchObjective::n_examples)).
/// Were one to happen anyway, the loss is NaN and the loop stops with
/// [`TrainStop::NonFinite`](crate::first_order::TrainStop::NonFinite):
/// nothing panics.
///
/// ```
/// use hesse::first_order::{Adam, Trainer};
/// use hesse::nn::{Activation, Dataset, Init, Loss, Mlp, MlpTraining};
///
/// let data = Dataset::two_spirals(50, 0.0, 1).unwrap();
/// let (train, val) = data.split(0.2, 0).unwrap();
/// let mlp = Mlp::new(&[2, 16, 2], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
/// let objective = MlpTraining::new(&mlp, &train, Some(&val)).unwrap();
/// let state = Trainer::new(Adam::new(0.01))
///     .with_batch_size(16)
///     .with_epochs(5)
///     .train(&objective, mlp.init(Init::Glorot, 0))
///     .unwrap();
/// assert_eq!(state.history.len(), 5);
/// assert!(state.history[0].held_out.unwrap().accuracy.is_some());
/// ```
pub struct MlpTraining<'a> {
    train: MlpProblem<'a>,
    held_out: Option<MlpProblem<'a>>,
}

impl std::fmt::Debug for MlpTraining<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MlpTraining")
            .field("n_params", &self.n_params())
            .field("n_examples", &self.n_examples())
            .field("held_out", &self.held_out.as_ref().map(|p| p.data().len()))
            .finish()
    }
}

impl<'a> MlpTraining<'a> {
    /// Binds `mlp` to `train` and `held_out`; fails when either set's input
    /// or target width does not match the network, or a set is empty.
    pub fn new(
        mlp: &'a Mlp,
        train: &'a Dataset,
        held_out: Option<&'a Dataset>,
    ) -> Result<Self, NnError> {
        let bind = |data: &'a Dataset| {
            if data.is_empty() {
                return Err(NnError::EmptyBatch);
            }
            mlp.problem(data)
        };
        Ok(MlpTraining {
            train: bind(train)?,
            held_out: held_out.map(bind).transpose()?,
        })
    }

    /// The training objective (the whole training set).
    pub fn train_problem(&self) -> &MlpProblem<'a> {
        &self.train
    }

    /// Loss and (for softmax cross-entropy) accuracy on the training set.
    pub fn train_metrics(&self, params: &[f64]) -> Metrics {
        metrics(&self.train, params)
    }
}

/// Loss and, for classifiers, accuracy of `problem` at `params` (NaN loss
/// and no accuracy if `params` has the wrong length).
fn metrics(problem: &MlpProblem<'_>, params: &[f64]) -> Metrics {
    let mlp = problem.mlp();
    let accuracy = match mlp.loss() {
        Loss::SoftmaxCrossEntropy => mlp.accuracy(params, problem.data(), None).ok(),
        _ => None,
    };
    Metrics {
        loss: problem.value(params),
        accuracy,
    }
}

impl MinibatchObjective for MlpTraining<'_> {
    fn n_params(&self) -> usize {
        self.train.mlp().num_params()
    }

    fn n_examples(&self) -> usize {
        self.train.data().len()
    }

    fn value_grad_batch(&self, params: &[f64], batch: &[usize], grad: &mut [f64]) -> f64 {
        // Unreachable from the training loop (see the type's docs); NaN stops it.
        self.train
            .value_grad_batch(params, batch, grad)
            .unwrap_or_else(|_| {
                grad.fill(f64::NAN);
                f64::NAN
            })
    }

    fn held_out(&self, params: &[f64]) -> Option<Metrics> {
        self.held_out.as_ref().map(|p| metrics(p, params))
    }
}

impl crate::train::NetworkObjective for MlpTraining<'_> {
    fn network(&self) -> &MlpProblem<'_> {
        &self.train
    }
}

/// The network on its training data, without held-out data: what the
/// driver ([`crate::train::Driver`]) trains when no early stopping is wanted.
impl MinibatchObjective for MlpProblem<'_> {
    fn n_params(&self) -> usize {
        self.mlp().num_params()
    }

    fn n_examples(&self) -> usize {
        self.data().len()
    }

    fn value_grad_batch(&self, params: &[f64], batch: &[usize], grad: &mut [f64]) -> f64 {
        // A bad index or length (which the driver rules out) is a NaN loss.
        MlpProblem::value_grad_batch(self, params, batch, grad).unwrap_or_else(|_| {
            grad.fill(f64::NAN);
            f64::NAN
        })
    }
}

impl crate::train::NetworkObjective for MlpProblem<'_> {
    fn network(&self) -> &MlpProblem<'_> {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Activation, Init};

    #[test]
    fn shapes_are_checked_up_front() {
        let data = Dataset::two_spirals(10, 0.0, 0).unwrap();
        let wide = Mlp::new(&[3, 4, 2], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
        assert!(MlpTraining::new(&wide, &data, None).is_err());
        let mlp = Mlp::new(&[2, 4, 2], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
        let teacher = Dataset::teacher(5, &[2, 3, 1], 0.0, 0).unwrap();
        assert!(MlpTraining::new(&mlp, &data, Some(&teacher)).is_err());
        let empty = data.subset(&[]);
        assert!(empty.is_err() || MlpTraining::new(&mlp, &empty.unwrap(), None).is_err());
    }

    #[test]
    fn minibatch_matches_the_problem_and_bad_calls_give_nan() {
        let data = Dataset::two_spirals(10, 0.0, 0).unwrap();
        let mlp = Mlp::new(&[2, 4, 2], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
        let t = MlpTraining::new(&mlp, &data, Some(&data)).unwrap();
        let p = mlp.init(Init::Glorot, 3);
        let mut g = vec![0.0; t.n_params()];
        let f = t.value_grad_batch(&p, &[0, 3, 7], &mut g);
        let mut g2 = vec![0.0; t.n_params()];
        let f2 = t
            .train_problem()
            .value_grad_batch(&p, &[0, 3, 7], &mut g2)
            .unwrap();
        assert_eq!((f, &g), (f2, &g2));
        assert!(t.value_grad_batch(&p, &[1000], &mut g).is_nan());
        assert!(g.iter().all(|v| v.is_nan()));
        let m = t.held_out(&p).unwrap();
        assert_eq!(m, t.train_metrics(&p));
        assert!(m.accuracy.is_some_and(|a| (0.0..=1.0).contains(&a)));

        let reg = Mlp::new(&[2, 4, 2], Activation::Tanh, Loss::MeanSquaredError).unwrap();
        let t = MlpTraining::new(&reg, &data, None).unwrap();
        assert!(t.held_out(&p).is_none() && t.train_metrics(&p).accuracy.is_none());
    }
}
