//! Greedy supervised pretraining (Goodfellow, Bengio & Courville §8.7.4;
//! Bengio et al. 2007): train a network with one hidden layer; then add the
//! next hidden layer below a fresh output layer and train the new parts with
//! the layers beneath held fixed; and so on; finally fine-tune all layers
//! jointly.
//!
//! "Held fixed" is done by [`Frozen`], a [`MinibatchObjective`] whose
//! gradient is zero outside the trainable parameter ranges: any optimizer of
//! [`first_order`](crate::first_order) then leaves those parameters where
//! they are (a zero gradient moves none of them, whatever state they keep).

use std::ops::Range;

use super::{Activation, Dataset, Init, Loss, Mlp, MlpTraining, NnError};
use crate::first_order::{Metrics, MinibatchObjective, Optimizer, TrainState, Trainer};
use crate::solver::Error;

/// A [`MinibatchObjective`] with only some parameters trainable: the
/// gradient entries outside `trainable` are set to zero.
#[derive(Debug)]
pub struct Frozen<'o, P: ?Sized> {
    inner: &'o P,
    trainable: Vec<Range<usize>>,
}

impl<'o, P: MinibatchObjective + ?Sized> Frozen<'o, P> {
    /// `inner` with only the parameters in `trainable` free to move.
    pub fn new(inner: &'o P, mut trainable: Vec<Range<usize>>) -> Self {
        trainable.sort_by_key(|r| r.start);
        Frozen { inner, trainable }
    }
}

impl<P: MinibatchObjective + ?Sized> MinibatchObjective for Frozen<'_, P> {
    fn n_params(&self) -> usize {
        self.inner.n_params()
    }

    fn n_examples(&self) -> usize {
        self.inner.n_examples()
    }

    fn value_grad_batch(&self, params: &[f64], batch: &[usize], grad: &mut [f64]) -> f64 {
        let f = self.inner.value_grad_batch(params, batch, grad);
        // Zero the gaps between the (sorted) trainable ranges.
        let n = grad.len();
        let mut k = 0;
        for r in &self.trainable {
            let start = r.start.min(n);
            if start > k {
                grad[k..start].fill(0.0);
            }
            k = k.max(r.end.min(n));
        }
        grad[k..].fill(0.0);
        f
    }

    fn held_out(&self, params: &[f64]) -> Option<Metrics> {
        self.inner.held_out(params)
    }
}

/// Why greedy pretraining could not run.
#[derive(Debug, thiserror::Error)]
pub enum PretrainError {
    /// The sizes give no hidden layer to add greedily.
    #[error("greedy pretraining needs at least one hidden layer: sizes {0:?}")]
    NoHiddenLayer(Vec<usize>),
    /// A network could not be built or bound to the data.
    #[error(transparent)]
    Network(#[from] NnError),
    /// The training loop refused its options or start.
    #[error(transparent)]
    Training(#[from] Error),
}

/// The result of [`greedy_supervised`]: the final network, its parameters
/// after fine-tuning, and every stage's training state (one per hidden layer,
/// then the fine-tuning).
#[derive(Debug)]
pub struct Pretrained<O> {
    /// The full network.
    pub mlp: Mlp,
    /// Its parameters after fine-tuning (the best held-out epoch's when there
    /// is held-out data).
    pub params: Vec<f64>,
    /// Per stage: the training state (history, best epoch, ...).
    pub stages: Vec<TrainState<O>>,
}

impl<O> Pretrained<O> {
    /// Epochs run over all stages.
    pub fn epochs(&self) -> u64 {
        self.stages.iter().map(|s| s.epoch).sum()
    }
}

/// Greedy supervised pretraining of the network `sizes` (inputs, hidden
/// widths, outputs) with `hidden` units and `loss`: stage `j` trains the
/// network with the first `j` hidden layers, its `j`-th hidden layer and
/// output layer fresh (`init`, seed `seed + j`) and the layers below copied
/// from stage `j − 1` and frozen, with `stage` (its epochs per stage); then
/// `fine_tune` trains all layers of the full network from there.
///
/// Compare with training from scratch for `hidden layers × stage epochs +
/// fine-tune epochs` to hold the epochs equal, as
/// `cargo run --release --example greedy_pretraining` does on digits.
#[allow(clippy::too_many_arguments)]
pub fn greedy_supervised<O: Optimizer + Clone>(
    sizes: &[usize],
    hidden: Activation,
    loss: Loss,
    init: Init,
    seed: u64,
    train: &Dataset,
    held_out: Option<&Dataset>,
    stage: &Trainer<O>,
    fine_tune: &Trainer<O>,
) -> Result<Pretrained<O>, PretrainError> {
    if sizes.len() < 3 {
        return Err(PretrainError::NoHiddenLayer(sizes.to_vec()));
    }
    let inputs = sizes[0];
    let outputs = sizes[sizes.len() - 1];
    let widths = &sizes[1..sizes.len() - 1];
    let mut stages = Vec::new();
    let mut previous: Option<(Mlp, Vec<f64>)> = None;
    for j in 1..=widths.len() {
        let mut shape = vec![inputs];
        shape.extend_from_slice(&widths[..j]);
        shape.push(outputs);
        let mlp = Mlp::new(&shape, hidden, loss)?;
        let mut params = mlp.init(init, seed + j as u64);
        // Layers 0..j-1 (the hidden layers below the new one) come from the
        // previous stage, where they have the same shapes.
        if let Some((prev, prev_params)) = &previous {
            for l in 0..j - 1 {
                let (w, _) = mlp.weights_range(l);
                let (pw, _) = prev.weights_range(l);
                params[w].copy_from_slice(&prev_params[pw]);
                let b = mlp.bias_range(l);
                let pb = prev.bias_range(l);
                params[b].copy_from_slice(&prev_params[pb]);
            }
        }
        let objective = MlpTraining::new(&mlp, train, held_out)?;
        // The new hidden layer (j − 1) and the output layer (j) train.
        let trainable: Vec<Range<usize>> = (j - 1..=j)
            .flat_map(|l| [mlp.weights_range(l).0, mlp.bias_range(l)])
            .collect();
        let state = stage.train(&Frozen::new(&objective, trainable), params)?;
        let trained = state.best_params().to_vec();
        stages.push(state);
        previous = Some((mlp, trained));
    }
    let (mlp, params) = previous.expect("at least one hidden layer");
    let objective = MlpTraining::new(&mlp, train, held_out)?;
    let state = fine_tune.train(&objective, params)?;
    let params = state.best_params().to_vec();
    stages.push(state);
    Ok(Pretrained {
        mlp,
        params,
        stages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::first_order::Adam;

    #[test]
    fn frozen_layers_do_not_move_and_new_ones_do() {
        let data = Dataset::two_spirals(40, 0.0, 0).unwrap();
        let stage = Trainer::new(Adam::new(0.01))
            .with_batch_size(16)
            .with_epochs(3)
            .with_progress(false);
        let p = greedy_supervised(
            &[2, 8, 8, 2],
            Activation::Tanh,
            Loss::SoftmaxCrossEntropy,
            Init::Glorot,
            0,
            &data,
            None,
            &stage,
            &stage,
        )
        .unwrap();
        // Two greedy stages and the fine-tuning.
        assert_eq!(p.stages.len(), 3);
        assert_eq!(p.epochs(), 9);
        // In stage 2 the first layer (copied from stage 1) stayed frozen: its
        // parameters at the start of fine-tuning equal stage 1's result.
        let first = Mlp::new(&[2, 8, 2], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
        let (w1, _) = first.weights_range(0);
        let (w2, _) = p.mlp.weights_range(0);
        let stage1 = &p.stages[0].params[w1];
        let stage2 = &p.stages[1].params[w2.clone()];
        assert_eq!(stage1, stage2);
        // Fine-tuning moves it.
        assert_ne!(&p.params[w2], stage2);
    }

    #[test]
    fn no_hidden_layer_is_an_error() {
        let data = Dataset::two_spirals(10, 0.0, 0).unwrap();
        let t = Trainer::new(Adam::new(0.01)).with_batch_size(4);
        let e = greedy_supervised(
            &[2, 2],
            Activation::Tanh,
            Loss::SoftmaxCrossEntropy,
            Init::Glorot,
            0,
            &data,
            None,
            &t,
            &t,
        );
        assert!(matches!(e, Err(PretrainError::NoHiddenLayer(_))));
    }
}
