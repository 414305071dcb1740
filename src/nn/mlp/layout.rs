//! The architecture: layers, the loss, the weight decay, and where each
//! layer's parameters sit in the flat parameter vector.

use std::sync::Mutex;

use nalgebra::DMatrixView;
use serde::{Deserialize, Serialize};

use super::problem::MlpProblem;
use super::workspace::Workspace;
use crate::nn::batchnorm;
use crate::nn::{Activation, Dataset, Loss, NnError};

/// One fully connected layer: its width (number of units) and what it does
/// after the affine map.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Layer {
    /// Number of units `n_l`.
    pub width: usize,
    /// The elementwise nonlinearity `φ_l`.
    pub activation: Activation,
    /// Adds the layer's input to its output, `a_l = φ(y_l) + a_{l−1}` (a
    /// residual connection; needs equal widths).
    pub skip: bool,
    /// Normalizes `z_l = W_l a_{l−1}` by its batch mean and standard deviation
    /// and applies a learned scale `γ` and shift `β` in place of the bias
    /// (Ioffe & Szegedy 2015).
    pub batch_norm: bool,
}

impl Layer {
    /// A plain layer: affine map and `activation`.
    pub fn new(width: usize, activation: Activation) -> Self {
        Self {
            width,
            activation,
            skip: false,
            batch_norm: false,
        }
    }

    /// The same layer with a skip connection.
    pub fn with_skip(mut self) -> Self {
        self.skip = true;
        self
    }

    /// The same layer with batch normalization.
    pub fn with_batch_norm(mut self) -> Self {
        self.batch_norm = true;
        self
    }
}

/// Where a layer's parameters start in the flat vector.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Offsets {
    /// `W_l`, `n_l × n_{l−1}` column-major.
    w: usize,
    /// `b_l`, or `β_l` with batch normalization (`n_l`).
    b: usize,
    /// `γ_l` with batch normalization (`n_l`), just before `β_l`.
    gamma: Option<usize>,
}

/// A multilayer perceptron: the architecture, the loss and the weight decay.
///
/// Parameters are one flat vector of [`num_params`](Mlp::num_params) entries:
/// for each layer in order, `W_l` (`n_l × n_{l−1}`, column-major), then `b_l`
/// (or `γ_l`, then `β_l`, for a batch-normalized layer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mlp {
    pub(super) inputs: usize,
    pub(super) layers: Vec<Layer>,
    pub(super) loss: Loss,
    pub(super) weight_decay: f64,
    pub(super) bn_delta: f64,
    offsets: Vec<Offsets>,
    pub(super) num_params: usize,
}

impl Mlp {
    /// A network of widths `sizes = [n_0, n_1, …, n_L]`: hidden layers with
    /// `hidden` activation and a linear output layer, whose output (the
    /// logits) the loss takes (Schraudolph 2002's split).
    ///
    /// ```
    /// use hesse::nn::{Activation, Loss, Mlp};
    /// let mlp = Mlp::new(&[64, 32, 10], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
    /// assert_eq!(mlp.num_params(), 64 * 32 + 32 + 32 * 10 + 10);
    /// assert!(Mlp::new(&[3], Activation::Tanh, Loss::MeanSquaredError).is_err());
    /// ```
    pub fn new(sizes: &[usize], hidden: Activation, loss: Loss) -> Result<Self, NnError> {
        if sizes.len() < 2 {
            return Err(NnError::Architecture(format!(
                "need at least an input and an output width, got {sizes:?}"
            )));
        }
        let last = sizes.len() - 2;
        let layers = sizes[1..]
            .iter()
            .enumerate()
            .map(|(l, &w)| {
                let act = if l == last {
                    Activation::Identity
                } else {
                    hidden
                };
                Layer::new(w, act)
            })
            .collect();
        Self::from_layers(sizes[0], layers, loss)
    }

    /// A network of `inputs` inputs and the given layers, the last being the
    /// output layer.
    pub fn from_layers(inputs: usize, layers: Vec<Layer>, loss: Loss) -> Result<Self, NnError> {
        if layers.is_empty() {
            return Err(NnError::Architecture("no layers".into()));
        }
        if inputs == 0 || layers.iter().any(|l| l.width == 0) {
            return Err(NnError::Architecture("a width is zero".into()));
        }
        let mut offsets = Vec::with_capacity(layers.len());
        let mut at = 0;
        let mut prev = inputs;
        for (l, layer) in layers.iter().enumerate() {
            if layer.skip && layer.width != prev {
                return Err(NnError::Architecture(format!(
                    "layer {l} has a skip connection but maps {prev} units to {}",
                    layer.width
                )));
            }
            let w = at;
            // Checked: widths from a command line can make the count wrap.
            let too_many = || {
                NnError::Architecture(format!(
                    "layer {l} ({prev} → {} units) takes the parameter count past {}",
                    layer.width,
                    usize::MAX
                ))
            };
            at = layer
                .width
                .checked_mul(prev)
                .and_then(|k| k.checked_add(at))
                .ok_or_else(too_many)?;
            let gamma = if layer.batch_norm {
                at = at.checked_add(layer.width).ok_or_else(too_many)?;
                Some(at - layer.width)
            } else {
                None
            };
            offsets.push(Offsets { w, b: at, gamma });
            at = at.checked_add(layer.width).ok_or_else(too_many)?;
            prev = layer.width;
        }
        Ok(Self {
            inputs,
            layers,
            loss,
            weight_decay: 0.0,
            bn_delta: batchnorm::DEFAULT_DELTA,
            offsets,
            num_params: at,
        })
    }

    /// Adds `(λ/2) Σ ‖W_l‖²` to the objective (weights only). Default 0.
    pub fn with_weight_decay(mut self, lambda: f64) -> Result<Self, NnError> {
        if !(lambda >= 0.0 && lambda.is_finite()) {
            return Err(NnError::InvalidOption {
                name: "weight_decay",
                value: lambda,
                expected: "a finite number >= 0",
            });
        }
        self.weight_decay = lambda;
        Ok(self)
    }

    /// Sets batch normalization's `δ` (default
    /// [`DEFAULT_DELTA`](batchnorm::DEFAULT_DELTA) = 1e-5).
    pub fn with_batch_norm_delta(mut self, delta: f64) -> Result<Self, NnError> {
        if !(delta > 0.0 && delta.is_finite()) {
            return Err(NnError::InvalidOption {
                name: "batch_norm_delta",
                value: delta,
                expected: "a finite number > 0",
            });
        }
        self.bn_delta = delta;
        Ok(self)
    }

    /// Number of parameters.
    pub fn num_params(&self) -> usize {
        self.num_params
    }

    /// Input width `n_0`.
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// Output width `n_L`.
    pub fn outputs(&self) -> usize {
        self.layers.last().map_or(0, |l| l.width)
    }

    /// The layers.
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// The loss.
    pub fn loss(&self) -> Loss {
        self.loss
    }

    /// The weight decay `λ`.
    pub fn weight_decay(&self) -> f64 {
        self.weight_decay
    }

    /// Batch normalization's `δ`.
    pub fn batch_norm_delta(&self) -> f64 {
        self.bn_delta
    }

    /// Checks a layer index of the public accessors, panicking with both
    /// numbers (as slice indexing would, but saying what was indexed).
    #[track_caller]
    fn check_layer(&self, l: usize) {
        assert!(
            l < self.layers.len(),
            "layer index {l} out of range: the network has {} layers (0..{})",
            self.layers.len(),
            self.layers.len()
        );
    }

    /// Checks that `params` is a full parameter vector of this network.
    #[track_caller]
    fn assert_params(&self, params: &[f64]) {
        assert!(
            params.len() == self.num_params(),
            "params has {} entries, the network has {} parameters",
            params.len(),
            self.num_params()
        );
    }

    /// Input width of layer `l` (0-based).
    fn fan_in(&self, l: usize) -> usize {
        if l == 0 {
            self.inputs
        } else {
            self.layers[l - 1].width
        }
    }

    /// Range of layer `l`'s weights `W_l` in the flat vector, and its shape
    /// `(n_l, n_{l−1})`.
    ///
    /// # Panics
    /// If `l` is not a layer index (`l ≥` the number of layers); the message
    /// gives both numbers. The same holds for every accessor taking a layer.
    #[track_caller]
    pub fn weights_range(&self, l: usize) -> (std::ops::Range<usize>, (usize, usize)) {
        self.check_layer(l);
        let (m, k) = (self.layers[l].width, self.fan_in(l));
        let w = self.offsets[l].w;
        (w..w + m * k, (m, k))
    }

    /// Range of layer `l`'s bias `b_l` (or `β_l` with batch normalization).
    ///
    /// # Panics
    /// If `l` is not a layer index.
    #[track_caller]
    pub fn bias_range(&self, l: usize) -> std::ops::Range<usize> {
        self.check_layer(l);
        let b = self.offsets[l].b;
        b..b + self.layers[l].width
    }

    /// Range of layer `l`'s batch-norm scale `γ_l`, if it has one.
    ///
    /// # Panics
    /// If `l` is not a layer index.
    #[track_caller]
    pub fn gamma_range(&self, l: usize) -> Option<std::ops::Range<usize>> {
        self.check_layer(l);
        self.offsets[l].gamma.map(|g| g..g + self.layers[l].width)
    }

    /// Layer `l`'s weight matrix `W_l` (`n_l × n_{l−1}`) as a view into `params`.
    ///
    /// ```
    /// use hesse::nn::{Activation, Loss, Mlp};
    /// let mlp = Mlp::new(&[2, 3, 1], Activation::Tanh, Loss::MeanSquaredError).unwrap();
    /// let params: Vec<f64> = (0..mlp.num_params()).map(|i| i as f64).collect();
    /// let w = mlp.weights(&params, 0);
    /// assert_eq!(w.shape(), (3, 2));
    /// assert_eq!(w[(1, 0)], 1.0); // column-major
    /// assert_eq!(mlp.bias(&params, 0), &[6.0, 7.0, 8.0]);
    /// ```
    ///
    /// # Panics
    /// If `l` is not a layer index, or `params` is not of length
    /// [`num_params`](Mlp::num_params) (never a silently truncated view).
    #[track_caller]
    pub fn weights<'p>(&self, params: &'p [f64], l: usize) -> DMatrixView<'p, f64> {
        self.assert_params(params);
        let (range, (m, k)) = self.weights_range(l);
        DMatrixView::from_slice(&params[range], m, k)
    }

    /// Layer `l`'s bias `b_l` (or `β_l` with batch normalization).
    ///
    /// # Panics
    /// If `l` is not a layer index, or `params` is not of length
    /// [`num_params`](Mlp::num_params).
    #[track_caller]
    pub fn bias<'p>(&self, params: &'p [f64], l: usize) -> &'p [f64] {
        self.assert_params(params);
        &params[self.bias_range(l)]
    }

    /// Binds the network to a data set (full batch), checking shapes.
    pub fn problem<'a>(&'a self, data: &'a Dataset) -> Result<MlpProblem<'a>, NnError> {
        if data.dim() != self.inputs {
            return Err(NnError::Shape {
                what: "input width",
                got: data.dim(),
                expected: self.inputs,
            });
        }
        if data.target_dim() != self.outputs() {
            return Err(NnError::Shape {
                what: "target width",
                got: data.target_dim(),
                expected: self.outputs(),
            });
        }
        if data.is_empty() {
            return Err(NnError::EmptyBatch);
        }
        Ok(MlpProblem {
            mlp: self,
            data,
            work: Mutex::new(Workspace::default()),
        })
    }

    pub(super) fn check_params(&self, params: &[f64]) -> Result<(), NnError> {
        if params.len() != self.num_params {
            return Err(NnError::Length {
                what: "params",
                got: params.len(),
                expected: self.num_params,
            });
        }
        Ok(())
    }

    /// `(λ/2) Σ ‖W_l‖²`.
    pub(super) fn decay_value(&self, params: &[f64]) -> f64 {
        if self.weight_decay == 0.0 {
            return 0.0;
        }
        let sum: f64 = (0..self.layers.len())
            .map(|l| {
                params[self.weights_range(l).0]
                    .iter()
                    .map(|w| w * w)
                    .sum::<f64>()
            })
            .sum();
        0.5 * self.weight_decay * sum
    }

    /// `out[W_l] += λ v[W_l]` for every layer.
    pub(super) fn add_decay(&self, v: &[f64], out: &mut [f64]) {
        if self.weight_decay == 0.0 {
            return;
        }
        for l in 0..self.layers.len() {
            let (r, _) = self.weights_range(l);
            for (o, &x) in out[r.clone()].iter_mut().zip(&v[r]) {
                *o += self.weight_decay * x;
            }
        }
    }
}
