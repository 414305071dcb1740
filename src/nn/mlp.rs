//! Multilayer perceptron: forward pass, backpropagation, the R-operator and
//! Gauss-Newton products, all on a whole batch at once.
//!
//! Notation (per layer `l = 1..L`, batch of `B` examples as the columns of
//! `n_l × B` column-major matrices): input `a_0 = x`;
//!
//! - `z_l = W_l a_{l−1}` (`W_l` is `n_l × n_{l−1}`),
//! - `y_l = z_l + b_l`, or with batch normalization `y_l = γ_l ẑ_l + β_l`
//!   ([`batchnorm`](super::batchnorm)),
//! - `h_l = φ_l(y_l)`, and the layer output `a_l = h_l`, or `a_l = h_l + a_{l−1}`
//!   with a skip connection (equal widths),
//! - the network output `o = a_L`, and the objective
//!   `f = (1/B) Σ_examples ℓ(o, t) + (λ/2) Σ_l ‖W_l‖²_F` (biases, `γ` and `β`
//!   are not decayed).
//!
//! Backpropagation (`d• = ∂f/∂•`): `da_L = (1/B) ∂ℓ/∂o`;
//! `dy_l = da_l ⊙ φ'(y_l)`; `db_l = dy_l 1`; `dW_l = dz_l a_{l−1}ᵀ + λ W_l`;
//! `da_{l−1} = W_lᵀ dz_l (+ da_l)`, where `dz_l = dy_l` without batch norm.
//!
//! R-operator, Pearlmutter (1994) §3-4 (`R{•} = ∂•(θ + εv)/∂ε` at `ε = 0`,
//! `v = (V_l, c_l)` the direction's per-layer blocks):
//!
//! - forward: `R z_l = V_l a_{l−1} + W_l R a_{l−1}`, `R y_l = R z_l + c_l`,
//!   `R h_l = φ'(y_l) ⊙ R y_l`, `R a_l = R h_l (+ R a_{l−1})`, `R a_0 = 0`; the
//!   Jacobian-vector product is `J v = R o`.
//! - backward: `R da_L = (1/B) H_L R o`;
//!   `R dy_l = R da_l ⊙ φ'(y_l) + da_l ⊙ φ''(y_l) ⊙ R y_l`;
//!   `R dW_l = R dz_l a_{l−1}ᵀ + dz_l R a_{l−1}ᵀ + λ V_l`; `R db_l = R dy_l 1`;
//!   `R da_{l−1} = V_lᵀ dz_l + W_lᵀ R dz_l (+ R da_l)`. Then `H v = R{∇f}`.
//!
//! Gauss-Newton, Schraudolph (2002) §3: `G v = Jᵀ H_L J v + λ V`: the forward
//! R pass gives `J v`, and the ordinary backward map of the *linearized*
//! network (no `φ''` term) applied to `u = (1/B) H_L J v` gives `Jᵀ u`.
//!
//! Matrix-product flops per layer of size `m × k` at batch `B` (units of
//! `2mkB`): gradient 3 (the first layer 2: no `W_1ᵀ dz_1`); Hessian-vector
//! product from scratch 8 (first layer 3); Gauss-Newton product from scratch 5
//! (first 3). A problem remembers the parameters and batch of its last
//! forward (and backward) pass, so a curvature product at the point where the
//! gradient was just computed (every CG step of Newton-CG or Hessian-free
//! optimization) skips them: Hessian-vector 6 (first 2), Gauss-Newton 4
//! (first 2).

// Per-unit loops index several parallel rows (γ, s, μ, scratch) at once, as
// the formulas do; iterator zips of four slices would hide the math.
#![allow(clippy::needless_range_loop)]

use std::sync::{Mutex, MutexGuard};

use faer::{Accum, MatMut, MatRef};
use nalgebra::{DMatrix, DMatrixView};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::batchnorm::{self, BatchNormStats};
use super::{Activation, Dataset, Loss, NnError};
use crate::linalg::{elementwise, par};
use crate::problem::{GaussNewtonVec, Gradient, HessVec, Objective};

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
    inputs: usize,
    layers: Vec<Layer>,
    loss: Loss,
    weight_decay: f64,
    bn_delta: f64,
    offsets: Vec<Offsets>,
    num_params: usize,
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
            at += layer.width * prev;
            let gamma = if layer.batch_norm {
                at += layer.width;
                Some(at - layer.width)
            } else {
                None
            };
            offsets.push(Offsets { w, b: at, gamma });
            at += layer.width;
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

    fn check_params(&self, params: &[f64]) -> Result<(), NnError> {
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
    fn decay_value(&self, params: &[f64]) -> f64 {
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
    fn add_decay(&self, v: &[f64], out: &mut [f64]) {
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

    /// Network outputs `o` (`n_L × N`, column-major) for inputs `x` (`n_0 × N`).
    ///
    /// Batch-normalized layers use `stats` (population averages,
    /// [`MlpProblem::batch_norm_stats`]); with `None` they normalize by the
    /// statistics of `x` itself. Allocates; for evaluation, not training.
    pub fn predict(
        &self,
        params: &[f64],
        x: &[f64],
        stats: Option<&BatchNormStats>,
    ) -> Result<Vec<f64>, NnError> {
        self.check_params(params)?;
        if x.is_empty() || !x.len().is_multiple_of(self.inputs) {
            return Err(NnError::Length {
                what: "inputs",
                got: x.len(),
                expected: self.inputs * (x.len() / self.inputs).max(1),
            });
        }
        let b = x.len() / self.inputs;
        let mut a = x.to_vec();
        for (l, layer) in self.layers.iter().enumerate() {
            let (wr, (m, k)) = self.weights_range(l);
            let mut y = vec![0.0; m * b];
            gemm(&mut y, m, b, mat(&params[wr], m, k), mat(&a, k, b), false);
            if let Some(g) = self.gamma_range(l) {
                let (gamma, beta) = (&params[g], self.bias(params, l));
                let (mut mean, mut s) = (vec![0.0; m], vec![0.0; m]);
                match stats.and_then(|st| Some((st.mean.get(l)?, st.var.get(l)?))) {
                    Some((mu, var)) if mu.len() == m && var.len() == m => {
                        mean.copy_from_slice(mu);
                        for (si, &v) in s.iter_mut().zip(var) {
                            *si = (v + self.bn_delta).sqrt();
                        }
                    }
                    _ => {
                        let z = y.clone();
                        batchnorm::normalize(m, b, &z, self.bn_delta, &mut mean, &mut s, &mut y);
                        for i in 0..m {
                            mean[i] = 0.0;
                            s[i] = 1.0;
                        }
                    }
                }
                for col in y.chunks_exact_mut(m) {
                    for i in 0..m {
                        col[i] = gamma[i] * (col[i] - mean[i]) / s[i] + beta[i];
                    }
                }
            } else {
                add_bias(&mut y, self.bias(params, l));
            }
            let z = y.clone();
            layer.activation.values(&z, &mut y);
            if layer.skip {
                for (v, &p) in y.iter_mut().zip(&a) {
                    *v += p;
                }
            }
            a = y;
        }
        Ok(a)
    }

    /// Fraction of examples whose largest output is at the position of the
    /// largest target (classification accuracy with one-hot targets).
    pub fn accuracy(
        &self,
        params: &[f64],
        data: &Dataset,
        stats: Option<&BatchNormStats>,
    ) -> Result<f64, NnError> {
        if data.is_empty() {
            return Err(NnError::EmptyBatch);
        }
        let o = self.predict(params, data.inputs(), stats)?;
        let k = self.outputs();
        let argmax = |c: &[f64]| {
            c.iter()
                .enumerate()
                .fold((0, f64::NEG_INFINITY), |best, (i, &v)| {
                    if v > best.1 { (i, v) } else { best }
                })
                .0
        };
        let hits = o
            .chunks_exact(k)
            .zip(data.targets().chunks_exact(k))
            .filter(|(oc, tc)| argmax(oc) == argmax(tc))
            .count();
        Ok(hits as f64 / data.len() as f64)
    }
}

// ---------------------------------------------------------------------------
// Dense kernels
// ---------------------------------------------------------------------------

fn mat(s: &[f64], m: usize, n: usize) -> MatRef<'_, f64> {
    MatRef::from_column_major_slice(&s[..m * n], m, n)
}

/// `dst (m × n) = lhs rhs`, or `+=` with `accumulate`.
fn gemm(
    dst: &mut [f64],
    m: usize,
    n: usize,
    lhs: MatRef<'_, f64>,
    rhs: MatRef<'_, f64>,
    accumulate: bool,
) {
    let dst = MatMut::from_column_major_slice_mut(&mut dst[..m * n], m, n);
    let accum = if accumulate {
        Accum::Add
    } else {
        Accum::Replace
    };
    let par = small_par(m * n * lhs.ncols());
    faer::linalg::matmul::matmul(dst, accum, lhs, rhs, 1.0, par);
    // faer returns with the upper halves of the vector registers dirty; the
    // scalar (legacy-SSE) loops after it would pay for that on every
    // instruction on Intel CPUs (issue 17). Workers: see `par_cols`.
    elementwise::zero_upper();
}

/// faer's parallelism for a product of `flops` multiply-adds: sequential
/// below 2²⁰, where thread synchronization costs more than the product.
fn small_par(flops: usize) -> faer::Par {
    if flops < 1 << 20 {
        faer::Par::Seq
    } else {
        par()
    }
}

/// Entries per task of a parallel elementwise pass (rounded to whole columns).
const TASK: usize = 1 << 15;

/// Runs `f(start, chunk)` over column-aligned chunks of `out` (`n` rows per
/// column; `start` is the chunk's first entry), on rayon's pool when faer's
/// parallelism is not sequential and the pass is large. Every pass is
/// elementwise or per column, so the bits do not depend on the thread count.
fn par_cols(n: usize, out: &mut [f64], f: impl Fn(usize, &mut [f64]) + Sync + Send) {
    let block = n * (TASK / n).max(1);
    if out.len() > block && !matches!(par(), faer::Par::Seq) {
        out.par_chunks_mut(block).enumerate().for_each(|(i, c)| {
            // The worker may come from a faer product (issue 17).
            elementwise::zero_upper();
            f(i * block, c)
        });
    } else {
        f(0, out);
    }
}

/// Adds `b` to every column.
fn add_bias(y: &mut [f64], b: &[f64]) {
    par_cols(b.len(), y, |_, chunk| {
        for col in chunk.chunks_exact_mut(b.len()) {
            for (v, &bi) in col.iter_mut().zip(b) {
                *v += bi;
            }
        }
    });
}

/// `out = Σ_columns x` (length `n`).
fn row_sum(n: usize, b: usize, x: &[f64], out: &mut [f64]) {
    out.fill(0.0);
    for col in x[..n * b].chunks_exact(n) {
        for (o, &v) in out.iter_mut().zip(col) {
            *o += v;
        }
    }
}

/// Resizes `v` to `len` (allocates only when it grows past its capacity).
fn fit(v: &mut Vec<f64>, len: usize) {
    if v.len() != len {
        v.resize(len, 0.0);
    }
}

// ---------------------------------------------------------------------------
// Workspace
// ---------------------------------------------------------------------------

/// Buffers of one layer, each `n_l × B` unless said otherwise.
#[derive(Default)]
struct LayerWork {
    /// Pre-activation `y`.
    y: Vec<f64>,
    /// `h = φ(y)`.
    h: Vec<f64>,
    /// `a = h + a_{l−1}` (skip layers only).
    a: Vec<f64>,
    /// `∂f/∂a`, `∂f/∂y`, `∂f/∂z` (the last for batch norm only).
    da: Vec<f64>,
    dy: Vec<f64>,
    dz: Vec<f64>,
    /// R-operator (or Gauss-Newton backward) counterparts.
    ry: Vec<f64>,
    rh: Vec<f64>,
    ra: Vec<f64>,
    rda: Vec<f64>,
    rdy: Vec<f64>,
    rdz: Vec<f64>,
    /// Batch norm: `ẑ`, `Rẑ`, `R dẑ` (`n × B`); per unit `μ`, `s`, `ρ`, and
    /// three scratch rows (`n`).
    zhat: Vec<f64>,
    rzhat: Vec<f64>,
    rdzhat: Vec<f64>,
    mean: Vec<f64>,
    s: Vec<f64>,
    rho: Vec<f64>,
    m1: Vec<f64>,
    m2: Vec<f64>,
    m3: Vec<f64>,
    m4: Vec<f64>,
}

impl LayerWork {
    fn out(&self, skip: bool) -> &[f64] {
        if skip { &self.a } else { &self.h }
    }
    fn rout(&self, skip: bool) -> &[f64] {
        if skip { &self.ra } else { &self.rh }
    }
}

/// Everything an evaluation needs, sized on first use and reused; plus the
/// key (parameters and batch) of the cached forward and backward passes.
#[derive(Default)]
struct Workspace {
    b: usize,
    /// Gathered minibatch inputs (`n_0 × B`) and targets (`n_L × B`).
    x: Vec<f64>,
    t: Vec<f64>,
    /// Loss nonlinearity of the output, `p(o)` (`n_L × B`).
    p: Vec<f64>,
    /// Each example's loss (`B`), summed in order so the value is the same
    /// for any thread count.
    col_loss: Vec<f64>,
    layers: Vec<LayerWork>,
    loss_sum: f64,
    key_params: Vec<f64>,
    key_batch: Vec<usize>,
    key_full: bool,
    forward_valid: bool,
    backward_valid: bool,
}

impl Workspace {
    /// Keeps the cached forward pass of the first `b` examples of the cached
    /// batch (its first `b` columns): without batch normalization every
    /// example's column is computed on its own, so this is the forward pass of
    /// that prefix. K-FAC's statistics batch is a prefix of its gradient
    /// batch, so they share one forward pass.
    fn restrict(&mut self, mlp: &Mlp, b: usize) {
        let (d, k) = (mlp.inputs, mlp.outputs());
        self.b = b;
        self.key_batch.truncate(b);
        self.x.truncate(d * b);
        self.t.truncate(k * b);
        self.p.truncate(k * b);
        self.col_loss.truncate(b);
        for (lw, layer) in self.layers.iter_mut().zip(&mlp.layers) {
            let nb = layer.width * b;
            for v in [&mut lw.y, &mut lw.h, &mut lw.da, &mut lw.dy, &mut lw.a] {
                v.truncate(nb);
            }
        }
        self.loss_sum = self.col_loss.iter().sum();
        self.backward_valid = false;
    }
}

/// Which buffers a backward pass uses: the gradient's (`da`, `dy`, `dz`) or
/// the tangent ones (`rda`, `rdy`, `rdz`), so that a Gauss-Newton or `Jᵀu`
/// product does not overwrite the cached gradient pass.
#[derive(Clone, Copy, PartialEq)]
enum Slot {
    Primal,
    Tangent,
}

/// An [`Mlp`] bound to a [`Dataset`]: the objective
/// `f(θ) = (1/N) Σ ℓ(o(xᵢ; θ), tᵢ) + (λ/2) Σ ‖W_l‖²` over all `N` examples,
/// with every product on the full batch through the [`problem`](crate::problem)
/// traits ([`Gradient`], [`HessVec`], [`GaussNewtonVec`]) and on any minibatch
/// through the `*_batch` methods.
///
/// # Minibatch API
/// `batch` is a slice of example indices (repeats allowed); the objective on
/// it is the mean over those examples (plus the decay term). The `*_batch`
/// methods return `Err` on a wrong vector length, an empty batch or an index
/// out of range. The trait methods (full batch) return NaN, and fill their
/// output with NaN, on a wrong `params` length instead.
///
/// ```
/// use hesse::nn::{Activation, Dataset, Init, Loss, Mlp};
/// let data = Dataset::two_spirals(50, 0.0, 1).unwrap();
/// let mlp = Mlp::new(&[2, 6, 2], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
/// let problem = mlp.problem(&data).unwrap();
/// let params = mlp.init(Init::Glorot, 3);
/// let mut grad = vec![0.0; mlp.num_params()];
/// let f = problem.value_grad_batch(&params, &[0, 5, 17], &mut grad).unwrap();
/// assert!(f > 0.0 && grad.iter().any(|g| *g != 0.0));
/// assert!(problem.value_grad_batch(&params, &[1000], &mut grad).is_err());
/// ```
///
/// Evaluations lock an internal workspace (a `Mutex`), so a problem can be
/// shared between threads but evaluates one call at a time.
pub struct MlpProblem<'a> {
    mlp: &'a Mlp,
    data: &'a Dataset,
    work: Mutex<Workspace>,
}

impl<'a> MlpProblem<'a> {
    /// The network.
    pub fn mlp(&self) -> &'a Mlp {
        self.mlp
    }

    /// The data set.
    pub fn data(&self) -> &'a Dataset {
        self.data
    }

    fn lock(&self) -> MutexGuard<'_, Workspace> {
        self.work.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn check_len(what: &'static str, v: &[f64], expected: usize) -> Result<(), NnError> {
        if v.len() != expected {
            return Err(NnError::Length {
                what,
                got: v.len(),
                expected,
            });
        }
        Ok(())
    }

    /// Validates, sizes the workspace, gathers a minibatch and invalidates the
    /// cached passes unless `params` and `batch` are those of the last call.
    fn prepare(
        &self,
        ws: &mut Workspace,
        params: &[f64],
        batch: Option<&[usize]>,
    ) -> Result<(), NnError> {
        self.prepare_keyed(ws, params, batch, true)
    }

    /// [`prepare`](Self::prepare); on a miss with `keep_key = false` the
    /// parameters are not copied into the cache key (the key is left empty,
    /// so no later call hits this pass): for a one-off evaluation at a trial
    /// point, which saves a copy of the parameter vector (22 MB on the MNIST
    /// autoencoder) per call. The batch is compared before the parameters
    /// (the cheaper test first; a new minibatch at the same parameters, as
    /// after a trial evaluation, would otherwise compare all of them).
    fn prepare_keyed(
        &self,
        ws: &mut Workspace,
        params: &[f64],
        batch: Option<&[usize]>,
        keep_key: bool,
    ) -> Result<(), NnError> {
        let mlp = self.mlp;
        mlp.check_params(params)?;
        let n = self.data.len();
        let b = match batch {
            Some(idx) => {
                if idx.is_empty() {
                    return Err(NnError::EmptyBatch);
                }
                if let Some(&bad) = idx.iter().find(|&&i| i >= n) {
                    return Err(NnError::BatchIndex { index: bad, len: n });
                }
                idx.len()
            }
            None => n,
        };
        if let Some(idx) = batch
            && ws.forward_valid
            && !ws.key_full
            && b < ws.b
            && ws.key_batch[..b] == *idx
            && ws.key_params == params
            && !mlp.layers.iter().any(|l| l.batch_norm)
        {
            ws.restrict(mlp, b);
            return Ok(());
        }
        let same = ws.forward_valid
            && ws.b == b
            && match batch {
                Some(idx) => !ws.key_full && ws.key_batch == idx,
                None => ws.key_full,
            }
            && ws.key_params == params;
        if same {
            return Ok(());
        }
        ws.forward_valid = false;
        ws.backward_valid = false;
        ws.b = b;
        ws.key_params.clear();
        if keep_key {
            ws.key_params.extend_from_slice(params);
        }
        ws.key_batch.clear();
        ws.key_full = batch.is_none();
        let (d, k) = (mlp.inputs, mlp.outputs());
        fit(&mut ws.p, k * b);
        fit(&mut ws.col_loss, b);
        if let Some(idx) = batch {
            ws.key_batch.extend_from_slice(idx);
            fit(&mut ws.x, d * b);
            fit(&mut ws.t, k * b);
            let (xs, ts) = (self.data.inputs(), self.data.targets());
            for (j, &i) in idx.iter().enumerate() {
                ws.x[j * d..(j + 1) * d].copy_from_slice(&xs[i * d..(i + 1) * d]);
                ws.t[j * k..(j + 1) * k].copy_from_slice(&ts[i * k..(i + 1) * k]);
            }
        }
        ws.layers.resize_with(mlp.layers.len(), LayerWork::default);
        for (lw, layer) in ws.layers.iter_mut().zip(&mlp.layers) {
            let nb = layer.width * b;
            fit(&mut lw.y, nb);
            fit(&mut lw.h, nb);
            fit(&mut lw.da, nb);
            fit(&mut lw.dy, nb);
            if layer.skip {
                fit(&mut lw.a, nb);
            }
            if layer.batch_norm {
                fit(&mut lw.dz, nb);
                fit(&mut lw.zhat, nb);
                for v in [
                    &mut lw.mean,
                    &mut lw.s,
                    &mut lw.rho,
                    &mut lw.m1,
                    &mut lw.m2,
                    &mut lw.m3,
                    &mut lw.m4,
                ] {
                    fit(v, layer.width);
                }
            }
        }
        Ok(())
    }

    /// Sizes the tangent buffers (first curvature product only).
    fn prepare_tangent(&self, ws: &mut Workspace) {
        let b = ws.b;
        for (lw, layer) in ws.layers.iter_mut().zip(&self.mlp.layers) {
            let nb = layer.width * b;
            for v in [&mut lw.ry, &mut lw.rh, &mut lw.rda, &mut lw.rdy] {
                fit(v, nb);
            }
            if layer.skip {
                fit(&mut lw.ra, nb);
            }
            if layer.batch_norm {
                fit(&mut lw.rdz, nb);
                fit(&mut lw.rzhat, nb);
                fit(&mut lw.rdzhat, nb);
            }
        }
    }

    /// Forward pass and loss (`p`, `loss_sum`), unless cached.
    fn forward(&self, ws: &mut Workspace, params: &[f64]) {
        if ws.forward_valid {
            return;
        }
        let mlp = self.mlp;
        let Workspace {
            b,
            x,
            t,
            p,
            col_loss,
            layers,
            loss_sum,
            key_full,
            ..
        } = ws;
        let b = *b;
        let (input0, targets): (&[f64], &[f64]) = if *key_full {
            (self.data.inputs(), self.data.targets())
        } else {
            (x.as_slice(), t.as_slice())
        };
        for (l, layer) in mlp.layers.iter().enumerate() {
            let (lo, hi) = layers.split_at_mut(l);
            let cur = &mut hi[0];
            let prev_skip = l > 0 && mlp.layers[l - 1].skip;
            let input: &[f64] = match lo.last() {
                Some(pw) => pw.out(prev_skip),
                None => input0,
            };
            let (wr, (m, k)) = mlp.weights_range(l);
            gemm(
                &mut cur.y,
                m,
                b,
                mat(&params[wr], m, k),
                mat(input, k, b),
                false,
            );
            if let Some(g) = mlp.gamma_range(l) {
                batchnorm::normalize(
                    m,
                    b,
                    &cur.y,
                    mlp.bn_delta,
                    &mut cur.mean,
                    &mut cur.s,
                    &mut cur.zhat,
                );
                let (gamma, beta) = (&params[g], mlp.bias(params, l));
                for (yc, hc) in cur.y.chunks_exact_mut(m).zip(cur.zhat.chunks_exact(m)) {
                    for i in 0..m {
                        yc[i] = gamma[i] * hc[i] + beta[i];
                    }
                }
            } else {
                add_bias(&mut cur.y, mlp.bias(params, l));
            }
            let act = layer.activation;
            let y = &cur.y;
            par_cols(m, &mut cur.h, |s, hc| act.values(&y[s..s + hc.len()], hc));
            if layer.skip {
                let h = &cur.h;
                par_cols(m, &mut cur.a, |s, ac| {
                    for ((a, &h), &x) in ac.iter_mut().zip(&h[s..]).zip(&input[s..]) {
                        *a = h + x;
                    }
                });
            }
        }
        let k = mlp.outputs();
        let last = layers.last().expect("at least one layer");
        let o = last.out(mlp.layers.last().is_some_and(|l| l.skip));
        let loss = mlp.loss;
        let block = (TASK / k).max(1);
        if b > block && !matches!(par(), faer::Par::Seq) {
            p.par_chunks_mut(block * k)
                .zip(col_loss.par_chunks_mut(block))
                .enumerate()
                .for_each(|(i, (pc, lc))| {
                    elementwise::zero_upper();
                    let s = i * block * k;
                    loss.forward(k, &o[s..], &targets[s..], pc, lc);
                });
        } else {
            loss.forward(k, o, targets, p, col_loss);
        }
        *loss_sum = col_loss.iter().sum();
        ws.forward_valid = true;
    }

    /// `f` on the current batch from the cached forward pass.
    fn value_from(&self, ws: &Workspace, params: &[f64]) -> f64 {
        ws.loss_sum / ws.b as f64 + self.mlp.decay_value(params)
    }

    /// Backward pass from `da` (or `rda`) of the last layer, which the caller
    /// has set. Writes `∂/∂θ` into `grad` when given (without decay).
    fn backward(
        &self,
        ws: &mut Workspace,
        params: &[f64],
        slot: Slot,
        mut grad: Option<&mut [f64]>,
    ) {
        let mlp = self.mlp;
        let Workspace {
            b,
            x,
            layers,
            key_full,
            ..
        } = ws;
        let b = *b;
        let input0: &[f64] = if *key_full {
            self.data.inputs()
        } else {
            x.as_slice()
        };
        for l in (0..mlp.layers.len()).rev() {
            let layer = mlp.layers[l];
            let (lo, hi) = layers.split_at_mut(l);
            let cur = &mut hi[0];
            let (wr, (m, k)) = mlp.weights_range(l);
            let act = layer.activation;
            let (da, dy, dz) = match slot {
                Slot::Primal => (&cur.da, &mut cur.dy, &mut cur.dz),
                Slot::Tangent => (&cur.rda, &mut cur.rdy, &mut cur.rdz),
            };
            let (y, h) = (&cur.y, &cur.h);
            par_cols(m, dy, |s, dyc| {
                let e = s + dyc.len();
                act.d1s(&y[s..e], &h[s..e], dyc);
                for (d, &a) in dyc.iter_mut().zip(&da[s..e]) {
                    *d *= a;
                }
            });
            let dz: &[f64] = if let Some(g) = mlp.gamma_range(l) {
                let gamma = &params[g.clone()];
                // dγ = Σ dy ⊙ ẑ, dβ = Σ dy; dẑ = γ dy; dz = P(dẑ)/s.
                batchnorm::row_mean_prod(m, b, dy, &cur.zhat, &mut cur.m3);
                row_sum(m, b, dy, &mut cur.m1);
                if let Some(gr) = grad.as_deref_mut() {
                    for i in 0..m {
                        gr[g.start + i] = cur.m3[i] * b as f64;
                    }
                    gr[mlp.bias_range(l)].copy_from_slice(&cur.m1);
                }
                for (dzc, dyc) in dz.chunks_exact_mut(m).zip(dy.chunks_exact(m)) {
                    for i in 0..m {
                        dzc[i] = gamma[i] * dyc[i];
                    }
                }
                // In place: the projection reads its input's means first.
                let tmp = std::mem::take(&mut cur.rdzhat);
                let mut tmp = tmp;
                fit(&mut tmp, m * b);
                tmp.copy_from_slice(&dz[..m * b]);
                batchnorm::project(m, b, &cur.zhat, &cur.s, &tmp, dz, &mut cur.m1, &mut cur.m2);
                cur.rdzhat = tmp;
                dz
            } else {
                if let Some(gr) = grad.as_deref_mut() {
                    row_sum(m, b, dy, &mut gr[mlp.bias_range(l)]);
                }
                dy
            };
            let prev_skip = l > 0 && mlp.layers[l - 1].skip;
            if let Some(gr) = grad.as_deref_mut() {
                let input: &[f64] = match lo.last() {
                    Some(pw) => pw.out(prev_skip),
                    None => input0,
                };
                // dW = dz a_inᵀ (m × k)
                gemm(
                    &mut gr[wr.clone()],
                    m,
                    k,
                    mat(dz, m, b),
                    mat(input, k, b).transpose(),
                    false,
                );
            }
            if let Some(pw) = lo.last_mut() {
                let da_prev = match slot {
                    Slot::Primal => &mut pw.da,
                    Slot::Tangent => &mut pw.rda,
                };
                // da_{l−1} = W_lᵀ dz (+ da_l)
                gemm(
                    da_prev,
                    k,
                    b,
                    mat(&params[wr], m, k).transpose(),
                    mat(dz, m, b),
                    false,
                );
                if layer.skip {
                    let da = match slot {
                        Slot::Primal => &cur.da,
                        Slot::Tangent => &cur.rda,
                    };
                    for (p, &d) in da_prev.iter_mut().zip(da) {
                        *p += d;
                    }
                }
            }
        }
    }

    /// Gradient pass (cached): loss gradient into the last `da`, backward.
    fn gradient(&self, ws: &mut Workspace, params: &[f64], grad: Option<&mut [f64]>) {
        if ws.backward_valid && grad.is_none() {
            return;
        }
        let mlp = self.mlp;
        let k = mlp.outputs();
        let scale = 1.0 / ws.b as f64;
        {
            let Workspace {
                t,
                p,
                layers,
                key_full,
                ..
            } = &mut *ws;
            let targets: &[f64] = if *key_full {
                self.data.targets()
            } else {
                t.as_slice()
            };
            let last = layers.last_mut().expect("at least one layer");
            let loss = mlp.loss;
            par_cols(k, &mut last.da, |s, g| {
                loss.gradient(k, &p[s..], &targets[s..], scale, g)
            });
        }
        self.backward(ws, params, Slot::Primal, grad);
        ws.backward_valid = true;
    }

    /// Forward R pass: `R y`, `R h`, `R a` for direction `v`.
    fn r_forward(&self, ws: &mut Workspace, params: &[f64], v: &[f64]) {
        let mlp = self.mlp;
        let Workspace {
            b,
            x,
            layers,
            key_full,
            ..
        } = ws;
        let b = *b;
        let input0: &[f64] = if *key_full {
            self.data.inputs()
        } else {
            x.as_slice()
        };
        for (l, layer) in mlp.layers.iter().enumerate() {
            let (lo, hi) = layers.split_at_mut(l);
            let cur = &mut hi[0];
            let (wr, (m, k)) = mlp.weights_range(l);
            let prev_skip = l > 0 && mlp.layers[l - 1].skip;
            let (input, rinput): (&[f64], Option<&[f64]>) = match lo.last() {
                Some(pw) => (pw.out(prev_skip), Some(pw.rout(prev_skip))),
                None => (input0, None),
            };
            // R z = V a_in + W R a_in
            gemm(
                &mut cur.ry,
                m,
                b,
                mat(&v[wr.clone()], m, k),
                mat(input, k, b),
                false,
            );
            if let Some(ra) = rinput {
                gemm(
                    &mut cur.ry,
                    m,
                    b,
                    mat(&params[wr], m, k),
                    mat(ra, k, b),
                    true,
                );
            }
            if let Some(g) = mlp.gamma_range(l) {
                // Rẑ = P(Rz)/s; ρ = mean(ẑ ⊙ Rz) = Rs; R y = Rγ ẑ + γ Rẑ + Rβ.
                batchnorm::project(
                    m,
                    b,
                    &cur.zhat,
                    &cur.s,
                    &cur.ry,
                    &mut cur.rzhat,
                    &mut cur.m1,
                    &mut cur.rho,
                );
                let (gamma, rgamma, rbeta) = (&params[g.clone()], &v[g], &v[mlp.bias_range(l)]);
                for ((ryc, hc), rhc) in cur
                    .ry
                    .chunks_exact_mut(m)
                    .zip(cur.zhat.chunks_exact(m))
                    .zip(cur.rzhat.chunks_exact(m))
                {
                    for i in 0..m {
                        ryc[i] = rgamma[i] * hc[i] + gamma[i] * rhc[i] + rbeta[i];
                    }
                }
            } else {
                add_bias(&mut cur.ry, &v[mlp.bias_range(l)]);
            }
            let act = layer.activation;
            let (ry, y, h) = (&cur.ry, &cur.y, &cur.h);
            par_cols(m, &mut cur.rh, |s, rhc| {
                let e = s + rhc.len();
                act.d1s(&y[s..e], &h[s..e], rhc);
                for (rh, &ry) in rhc.iter_mut().zip(&ry[s..e]) {
                    *rh *= ry;
                }
            });
            if layer.skip {
                match rinput {
                    Some(ra_in) => {
                        let rh = &cur.rh;
                        par_cols(m, &mut cur.ra, |s, rac| {
                            for ((ra, &rh), &r) in rac.iter_mut().zip(&rh[s..]).zip(&ra_in[s..]) {
                                *ra = rh + r;
                            }
                        });
                    }
                    None => cur.ra.copy_from_slice(&cur.rh),
                }
            }
        }
    }

    /// Sets the last layer's `rda = (1/B) H_L R o`.
    fn loss_curvature(&self, ws: &mut Workspace) {
        let mlp = self.mlp;
        let k = mlp.outputs();
        let scale = 1.0 / ws.b as f64;
        let skip = mlp.layers.last().is_some_and(|l| l.skip);
        let Workspace {
            t,
            p,
            layers,
            key_full,
            ..
        } = ws;
        let targets: &[f64] = if *key_full {
            self.data.targets()
        } else {
            t.as_slice()
        };
        let last = layers.last_mut().expect("at least one layer");
        let ro = std::mem::take(if skip { &mut last.ra } else { &mut last.rh });
        let loss = mlp.loss;
        let pr: &[f64] = p;
        par_cols(k, &mut last.rda, |s, out| {
            loss.hess_vec(k, &pr[s..], &targets[s..], &ro[s..], scale, out)
        });
        *(if skip { &mut last.ra } else { &mut last.rh }) = ro;
    }

    /// Backward R pass: writes `R{∇f}` (without decay) into `hv`. Needs the
    /// forward, gradient and forward R passes, and the last `rda`.
    fn r_backward(&self, ws: &mut Workspace, params: &[f64], v: &[f64], hv: &mut [f64]) {
        let mlp = self.mlp;
        let Workspace {
            b,
            x,
            layers,
            key_full,
            ..
        } = ws;
        let b = *b;
        let bf = b as f64;
        let input0: &[f64] = if *key_full {
            self.data.inputs()
        } else {
            x.as_slice()
        };
        for l in (0..mlp.layers.len()).rev() {
            let layer = mlp.layers[l];
            let (lo, hi) = layers.split_at_mut(l);
            let cur = &mut hi[0];
            let (wr, (m, k)) = mlp.weights_range(l);
            let act = layer.activation;
            // R dy = R da ⊙ φ'(y) + da ⊙ φ''(y) ⊙ R y
            let (y, h, rda, da, ry) = (&cur.y, &cur.h, &cur.rda, &cur.da, &cur.ry);
            par_cols(m, &mut cur.rdy, |s, rdyc| {
                let e = s + rdyc.len();
                act.d1s(&y[s..e], &h[s..e], rdyc);
                for (i, rdy) in (s..).zip(rdyc.iter_mut()) {
                    let d1 = *rdy;
                    let mut r = rda[i] * d1;
                    if !act.is_piecewise_linear() {
                        r += da[i] * act.d2_from_d1(h[i], d1) * ry[i];
                    }
                    *rdy = r;
                }
            });
            let (dz, rdz): (&[f64], &[f64]) = if let Some(g) = mlp.gamma_range(l) {
                let (gamma, rgamma) = (&params[g.clone()], &v[g.clone()]);
                // R dγ = Σ (R dy ⊙ ẑ + dy ⊙ Rẑ), R dβ = Σ R dy.
                batchnorm::row_mean_prod(m, b, &cur.rdy, &cur.zhat, &mut cur.m1);
                batchnorm::row_mean_prod(m, b, &cur.dy, &cur.rzhat, &mut cur.m2);
                for i in 0..m {
                    hv[g.start + i] = bf * (cur.m1[i] + cur.m2[i]);
                }
                row_sum(m, b, &cur.rdy, &mut hv[mlp.bias_range(l)]);
                // R dẑ = Rγ dy + γ R dy
                for ((o, dyc), rdyc) in cur
                    .rdzhat
                    .chunks_exact_mut(m)
                    .zip(cur.dy.chunks_exact(m))
                    .zip(cur.rdy.chunks_exact(m))
                {
                    for i in 0..m {
                        o[i] = rgamma[i] * dyc[i] + gamma[i] * rdyc[i];
                    }
                }
                // mean(ẑ ⊙ dẑ) = γ mean(ẑ ⊙ dy), mean(Rẑ ⊙ dẑ) = γ mean(Rẑ ⊙ dy)
                batchnorm::row_mean_prod(m, b, &cur.zhat, &cur.dy, &mut cur.m3);
                for i in 0..m {
                    cur.m3[i] *= gamma[i];
                    cur.m2[i] *= gamma[i];
                }
                // rdz = P(R dẑ)/s, then the terms from R(1/s) and R(P).
                batchnorm::project(
                    m,
                    b,
                    &cur.zhat,
                    &cur.s,
                    &cur.rdzhat,
                    &mut cur.rdz,
                    &mut cur.m1,
                    &mut cur.m4,
                );
                for j in 0..b {
                    for i in 0..m {
                        let at = j * m + i;
                        cur.rdz[at] += -(cur.rho[i] / cur.s[i]) * cur.dz[at]
                            - (cur.rzhat[at] * cur.m3[i] + cur.zhat[at] * cur.m2[i]) / cur.s[i];
                    }
                }
                (&cur.dz, &cur.rdz)
            } else {
                row_sum(m, b, &cur.rdy, &mut hv[mlp.bias_range(l)]);
                (&cur.dy, &cur.rdy)
            };
            let prev_skip = l > 0 && mlp.layers[l - 1].skip;
            {
                let (input, rinput): (&[f64], Option<&[f64]>) = match lo.last() {
                    Some(pw) => (pw.out(prev_skip), Some(pw.rout(prev_skip))),
                    None => (input0, None),
                };
                // R dW = R dz a_inᵀ + dz R a_inᵀ
                gemm(
                    &mut hv[wr.clone()],
                    m,
                    k,
                    mat(rdz, m, b),
                    mat(input, k, b).transpose(),
                    false,
                );
                if let Some(ra) = rinput {
                    gemm(
                        &mut hv[wr.clone()],
                        m,
                        k,
                        mat(dz, m, b),
                        mat(ra, k, b).transpose(),
                        true,
                    );
                }
            }
            if let Some(pw) = lo.last_mut() {
                // R da_{l−1} = V_lᵀ dz + W_lᵀ R dz (+ R da_l)
                gemm(
                    &mut pw.rda,
                    k,
                    b,
                    mat(&v[wr.clone()], m, k).transpose(),
                    mat(dz, m, b),
                    false,
                );
                gemm(
                    &mut pw.rda,
                    k,
                    b,
                    mat(&params[wr], m, k).transpose(),
                    mat(rdz, m, b),
                    true,
                );
                if layer.skip {
                    for (p, &d) in pw.rda.iter_mut().zip(&cur.rda) {
                        *p += d;
                    }
                }
            }
        }
    }
}

/// # Evaluations on the full data set or a minibatch
impl MlpProblem<'_> {
    fn value_impl(&self, params: &[f64], batch: Option<&[usize]>) -> Result<f64, NnError> {
        let mut ws = self.lock();
        self.prepare(&mut ws, params, batch)?;
        self.forward(&mut ws, params);
        Ok(self.value_from(&ws, params))
    }

    fn value_grad_impl(
        &self,
        params: &[f64],
        batch: Option<&[usize]>,
        grad: &mut [f64],
    ) -> Result<f64, NnError> {
        Self::check_len("grad", grad, self.mlp.num_params)?;
        let mut ws = self.lock();
        self.prepare(&mut ws, params, batch)?;
        self.forward(&mut ws, params);
        self.gradient(&mut ws, params, Some(grad));
        self.mlp.add_decay(params, grad);
        Ok(self.value_from(&ws, params))
    }

    fn hess_vec_impl(
        &self,
        params: &[f64],
        batch: Option<&[usize]>,
        v: &[f64],
        hv: &mut [f64],
    ) -> Result<(), NnError> {
        let n = self.mlp.num_params;
        Self::check_len("v", v, n)?;
        Self::check_len("hv", hv, n)?;
        let mut ws = self.lock();
        self.prepare(&mut ws, params, batch)?;
        self.prepare_tangent(&mut ws);
        self.forward(&mut ws, params);
        self.gradient(&mut ws, params, None);
        self.r_forward(&mut ws, params, v);
        self.loss_curvature(&mut ws);
        self.r_backward(&mut ws, params, v, hv);
        self.mlp.add_decay(v, hv);
        Ok(())
    }

    fn gauss_newton_vec_impl(
        &self,
        params: &[f64],
        batch: Option<&[usize]>,
        v: &[f64],
        gv: &mut [f64],
    ) -> Result<(), NnError> {
        let n = self.mlp.num_params;
        Self::check_len("v", v, n)?;
        Self::check_len("gv", gv, n)?;
        let mut ws = self.lock();
        self.prepare(&mut ws, params, batch)?;
        self.prepare_tangent(&mut ws);
        self.forward(&mut ws, params);
        self.r_forward(&mut ws, params, v);
        self.loss_curvature(&mut ws);
        self.backward(&mut ws, params, Slot::Tangent, Some(gv));
        self.mlp.add_decay(v, gv);
        Ok(())
    }

    fn jac_vec_impl(
        &self,
        params: &[f64],
        batch: Option<&[usize]>,
        v: &[f64],
        jv: &mut [f64],
    ) -> Result<(), NnError> {
        Self::check_len("v", v, self.mlp.num_params)?;
        let mut ws = self.lock();
        self.prepare(&mut ws, params, batch)?;
        Self::check_len("jv", jv, self.mlp.outputs() * ws.b)?;
        self.prepare_tangent(&mut ws);
        self.forward(&mut ws, params);
        self.r_forward(&mut ws, params, v);
        let skip = self.mlp.layers.last().is_some_and(|l| l.skip);
        jv.copy_from_slice(ws.layers.last().expect("a layer").rout(skip));
        Ok(())
    }

    fn jac_t_vec_impl(
        &self,
        params: &[f64],
        batch: Option<&[usize]>,
        u: &[f64],
        out: &mut [f64],
    ) -> Result<(), NnError> {
        Self::check_len("out", out, self.mlp.num_params)?;
        let mut ws = self.lock();
        self.prepare(&mut ws, params, batch)?;
        Self::check_len("u", u, self.mlp.outputs() * ws.b)?;
        self.prepare_tangent(&mut ws);
        self.forward(&mut ws, params);
        ws.layers
            .last_mut()
            .expect("a layer")
            .rda
            .copy_from_slice(u);
        self.backward(&mut ws, params, Slot::Tangent, Some(out));
        Ok(())
    }

    fn stats_impl(
        &self,
        params: &[f64],
        batch: Option<&[usize]>,
    ) -> Result<BatchNormStats, NnError> {
        let mut ws = self.lock();
        self.prepare(&mut ws, params, batch)?;
        self.forward(&mut ws, params);
        let delta = self.mlp.bn_delta;
        let mut stats = BatchNormStats::default();
        for (lw, layer) in ws.layers.iter().zip(&self.mlp.layers) {
            if layer.batch_norm {
                stats.mean.push(lw.mean.clone());
                stats
                    .var
                    .push(lw.s.iter().map(|s| (s * s - delta).max(0.0)).collect());
            } else {
                stats.mean.push(Vec::new());
                stats.var.push(Vec::new());
            }
        }
        Ok(stats)
    }

    /// `f` on the examples `batch`.
    pub fn value_batch(&self, params: &[f64], batch: &[usize]) -> Result<f64, NnError> {
        self.value_impl(params, Some(batch))
    }

    /// [`value_batch`](Self::value_batch) at a point that no later call
    /// evaluates again (a trial step): the same value, bit for bit, but on a
    /// miss the parameters are not kept as the cache key, which saves copying
    /// them (and, in the next call, comparing against them).
    pub(crate) fn value_batch_once(&self, params: &[f64], batch: &[usize]) -> Result<f64, NnError> {
        let mut ws = self.lock();
        self.prepare_keyed(&mut ws, params, Some(batch), false)?;
        self.forward(&mut ws, params);
        Ok(self.value_from(&ws, params))
    }

    /// Writes `∇f` on the examples `batch` into `grad` and returns `f` there:
    /// one forward and one backward pass. The primitive of stochastic methods.
    pub fn value_grad_batch(
        &self,
        params: &[f64],
        batch: &[usize],
        grad: &mut [f64],
    ) -> Result<f64, NnError> {
        self.value_grad_impl(params, Some(batch), grad)
    }

    /// Writes the Hessian-vector product `∇²f v` on `batch` into `hv`
    /// (R-operator, Pearlmutter 1994; exact).
    pub fn hess_vec_batch(
        &self,
        params: &[f64],
        batch: &[usize],
        v: &[f64],
        hv: &mut [f64],
    ) -> Result<(), NnError> {
        self.hess_vec_impl(params, Some(batch), v, hv)
    }

    /// Writes the generalized Gauss-Newton product
    /// `G v = (1/B) Σ Jᵢᵀ H_L Jᵢ v + λ V` on `batch` into `gv` (Schraudolph 2002).
    pub fn gauss_newton_vec_batch(
        &self,
        params: &[f64],
        batch: &[usize],
        v: &[f64],
        gv: &mut [f64],
    ) -> Result<(), NnError> {
        self.gauss_newton_vec_impl(params, Some(batch), v, gv)
    }

    /// Writes `J v` into `jv`: the directional derivative of the network
    /// outputs, `n_L × B` column-major (one column per example of `batch`).
    pub fn jac_vec_batch(
        &self,
        params: &[f64],
        batch: &[usize],
        v: &[f64],
        jv: &mut [f64],
    ) -> Result<(), NnError> {
        self.jac_vec_impl(params, Some(batch), v, jv)
    }

    /// Writes `Jᵀ u` into `out` for `u` of shape `n_L × B` (column-major):
    /// backpropagation of `u` from the outputs of `batch`, without the `1/B`
    /// of the objective and without decay.
    pub fn jac_t_vec_batch(
        &self,
        params: &[f64],
        batch: &[usize],
        u: &[f64],
        out: &mut [f64],
    ) -> Result<(), NnError> {
        self.jac_t_vec_impl(params, Some(batch), u, out)
    }

    /// `J v` on the full data set (`n_L × N`).
    pub fn jac_vec(&self, params: &[f64], v: &[f64], jv: &mut [f64]) -> Result<(), NnError> {
        self.jac_vec_impl(params, None, v, jv)
    }

    /// `Jᵀ u` on the full data set (`u` is `n_L × N`).
    pub fn jac_t_vec(&self, params: &[f64], u: &[f64], out: &mut [f64]) -> Result<(), NnError> {
        self.jac_t_vec_impl(params, None, u, out)
    }

    /// Batch-norm statistics (mean and variance of each normalized unit) of
    /// the examples `batch`, or of the whole data set with `None`: the
    /// population statistics for [`Mlp::predict`] (Ioffe & Szegedy 2015,
    /// Algorithm 2), or one term of a running average
    /// ([`BatchNormStats::update`]).
    pub fn batch_norm_stats(
        &self,
        params: &[f64],
        batch: Option<&[usize]>,
    ) -> Result<BatchNormStats, NnError> {
        self.stats_impl(params, batch)
    }
}

impl MlpProblem<'_> {
    /// Writes `Σᵢ gᵢ ⊙ gᵢ` into `out`: the sum over the examples `i` of
    /// `batch` of their squared per-example gradients (of the loss, without
    /// decay), with no per-example loop. For a dense layer the per-example
    /// gradient is `gᵢ = δᵢ aᵢᵀ`, so `Σᵢ gᵢ ⊙ gᵢ = (δ ⊙ δ)(a ⊙ a)ᵀ`, one matrix
    /// product (Dangel, Kunstner & Hennig, "BackPACK: packing more into
    /// backprop", ICLR 2020, §2). The diagonal of Martens's (2010, §4.7)
    /// Hessian-free preconditioner.
    ///
    /// Errors: wrong lengths, an empty or out-of-range batch, or a network
    /// with batch normalization (its examples are coupled).
    pub fn grad_sq_sum_batch(
        &self,
        params: &[f64],
        batch: &[usize],
        out: &mut [f64],
    ) -> Result<(), NnError> {
        let mlp = self.mlp;
        Self::check_len("out", out, mlp.num_params)?;
        if mlp.layers.iter().any(|l| l.batch_norm) {
            return Err(NnError::Architecture(
                "per-example gradients need a network without batch normalization".into(),
            ));
        }
        let mut ws = self.lock();
        self.prepare(&mut ws, params, Some(batch))?;
        self.forward(&mut ws, params);
        self.gradient(&mut ws, params, None);
        let b = ws.b;
        // dy carries the objective's 1/B; per-example gradients do not.
        let bf = b as f64;
        let input0: &[f64] = if ws.key_full {
            self.data.inputs()
        } else {
            ws.x.as_slice()
        };
        let mut d2 = Vec::new();
        let mut a2 = Vec::new();
        for l in 0..mlp.layers.len() {
            let (wr, (m, k)) = mlp.weights_range(l);
            let input: &[f64] = if l == 0 {
                input0
            } else {
                ws.layers[l - 1].out(mlp.layers[l - 1].skip)
            };
            d2.clear();
            d2.extend(ws.layers[l].dy[..m * b].iter().map(|d| (bf * d) * (bf * d)));
            a2.clear();
            a2.extend(input[..k * b].iter().map(|a| a * a));
            gemm(
                &mut out[wr],
                m,
                k,
                mat(&d2, m, b),
                mat(&a2, k, b).transpose(),
                false,
            );
            row_sum(m, b, &d2, &mut out[mlp.bias_range(l)]);
        }
        Ok(())
    }
}

/// # K-FAC statistics and small Gauss-Newton Gram matrices
impl MlpProblem<'_> {
    /// The Kronecker factors of K-FAC (Martens & Grosse, "Optimizing neural
    /// networks with Kronecker-factored approximate curvature", ICML 2015, §3)
    /// of every layer on the examples `batch`, as `(A_l, G_l)`:
    ///
    /// - `A_l = (1/B) Σᵢ āᵢ āᵢᵀ`, `(n_{l−1} + 1)²`, with `āᵢ = (a_{l−1,i}; 1)`
    ///   the layer's input with a homogeneous coordinate for the bias, so that
    ///   the layer's flat parameters `(vec W_l, b_l)` are `vec [W_l b_l]` and
    ///   its Fisher block is approximated by `A_l ⊗ G_l`;
    /// - `G_l = (1/B) Σᵢ Σₛ g_{l,i,s} g_{l,i,s}ᵀ`, `n_l²`, with
    ///   `g_{l,i,s} = ∂(e_{i,s}ᵀ o_i)/∂y_l` the output-space vectors `e_s`
    ///   back-propagated to layer `l`'s pre-activations.
    ///
    /// `out_vectors` receives `p(o)` (`n_L × B`, column-major, the loss's
    /// output nonlinearity, [`Loss`]) and returns the `e_s` (each `n_L × B`):
    /// one sampled residual `∇ₒℓ(oᵢ, yᵢ)`, `yᵢ ∼ p(·|oᵢ)`, for K-FAC's
    /// Monte-Carlo Fisher (§5; scale by `1/√S` for `S` samples), or the
    /// columns of a square root of the output Fisher `H_F(oᵢ)` for its
    /// expectation. Each vector costs one backward pass over the batch; the
    /// factors are matrix products (faer), with no per-example loop. The
    /// forward pass is reused when `params` and `batch` are those of the last
    /// evaluation.
    ///
    /// Errors: wrong lengths (also of a returned vector), an empty or
    /// out-of-range batch, or a network with batch normalization (its
    /// examples are coupled, so the factorization does not apply).
    #[allow(clippy::type_complexity)]
    pub fn kfac_factors_batch(
        &self,
        params: &[f64],
        batch: &[usize],
        out_vectors: &mut dyn FnMut(&[f64]) -> Vec<Vec<f64>>,
    ) -> Result<Vec<(DMatrix<f64>, DMatrix<f64>)>, NnError> {
        self.kfac_factors_value_batch(params, batch, out_vectors, None)
    }

    /// [`kfac_factors_batch`](Self::kfac_factors_batch), and `f` on `batch`
    /// into `value` if given (from the same forward pass, bit for bit
    /// [`value_batch`](Self::value_batch)'s, without a second look-up of the
    /// cache, which compares the whole parameter vector): K-FAC's step check
    /// needs `h(θ)` on the statistics batch.
    #[allow(clippy::type_complexity)]
    pub(crate) fn kfac_factors_value_batch(
        &self,
        params: &[f64],
        batch: &[usize],
        out_vectors: &mut dyn FnMut(&[f64]) -> Vec<Vec<f64>>,
        value: Option<&mut f64>,
    ) -> Result<Vec<(DMatrix<f64>, DMatrix<f64>)>, NnError> {
        let mlp = self.mlp;
        if mlp.layers.iter().any(|l| l.batch_norm) {
            return Err(NnError::Architecture(
                "K-FAC factors need a network without batch normalization".into(),
            ));
        }
        let mut ws = self.lock();
        self.prepare(&mut ws, params, Some(batch))?;
        self.prepare_tangent(&mut ws);
        self.forward(&mut ws, params);
        if let Some(v) = value {
            *v = self.value_from(&ws, params);
        }
        let b = ws.b;
        let kout = mlp.outputs();
        let es = out_vectors(&ws.p);
        for e in &es {
            Self::check_len("output vector", e, kout * b)?;
        }
        let inv_b = 1.0 / b as f64;
        let mut factors = Vec::with_capacity(mlp.layers.len());
        for l in 0..mlp.layers.len() {
            let (_, (m, k)) = mlp.weights_range(l);
            let input: &[f64] = if l == 0 {
                ws.x.as_slice()
            } else {
                ws.layers[l - 1].out(mlp.layers[l - 1].skip)
            };
            let mut a = DMatrix::<f64>::zeros(k + 1, k + 1);
            {
                let dst = MatMut::from_column_major_slice_mut(a.as_mut_slice(), k + 1, k + 1);
                let x = mat(input, k, b);
                faer::linalg::matmul::matmul(
                    dst.submatrix_mut(0, 0, k, k),
                    Accum::Replace,
                    x,
                    x.transpose(),
                    inv_b,
                    small_par(k * k * b),
                );
                elementwise::zero_upper();
            }
            let mut mean = vec![0.0; k];
            row_sum(k, b, input, &mut mean);
            for j in 0..k {
                a[(j, k)] = mean[j] * inv_b;
                a[(k, j)] = mean[j] * inv_b;
            }
            a[(k, k)] = 1.0;
            factors.push((a, DMatrix::<f64>::zeros(m, m)));
        }
        for e in &es {
            ws.layers
                .last_mut()
                .expect("a layer")
                .rda
                .copy_from_slice(e);
            self.backward(&mut ws, params, Slot::Tangent, None);
            for (l, (_, g)) in factors.iter_mut().enumerate() {
                let m = mlp.layers[l].width;
                let d = mat(&ws.layers[l].rdy, m, b);
                let dst = MatMut::from_column_major_slice_mut(g.as_mut_slice(), m, m);
                faer::linalg::matmul::matmul(
                    dst,
                    Accum::Add,
                    d,
                    d.transpose(),
                    inv_b,
                    small_par(m * m * b),
                );
                elementwise::zero_upper();
            }
        }
        Ok(factors)
    }

    /// The Gram matrix `Mᵢⱼ = vᵢᵀ G vⱼ` of the generalized Gauss-Newton matrix
    /// `G = (1/B) Σ Jᵀ H_L J + λ I_W` (with the weight decay, as
    /// [`gauss_newton_vec_batch`](Self::gauss_newton_vec_batch)) on `batch`,
    /// for a few directions: one forward R pass per direction and products in
    /// output space, cheaper than `G vⱼ` (K-FAC's re-scaling and momentum,
    /// Martens & Grosse 2015 §6.4 and §7, need only these).
    ///
    /// Errors: wrong lengths, an empty or out-of-range batch.
    pub fn gauss_newton_gram_batch(
        &self,
        params: &[f64],
        batch: &[usize],
        vs: &[&[f64]],
    ) -> Result<DMatrix<f64>, NnError> {
        let mlp = self.mlp;
        for v in vs {
            Self::check_len("v", v, mlp.num_params)?;
        }
        let mut ws = self.lock();
        self.prepare(&mut ws, params, Some(batch))?;
        self.prepare_tangent(&mut ws);
        self.forward(&mut ws, params);
        let b = ws.b;
        let kout = mlp.outputs();
        let skip = mlp.layers.last().is_some_and(|l| l.skip);
        let mut jv = Vec::with_capacity(vs.len());
        for v in vs {
            self.r_forward(&mut ws, params, v);
            jv.push(ws.layers.last().expect("a layer").rout(skip)[..kout * b].to_vec());
        }
        let mut hjv = vec![0.0; kout * b];
        let n = vs.len();
        let mut gram = DMatrix::<f64>::zeros(n, n);
        for j in 0..n {
            mlp.loss
                .hess_vec(kout, &ws.p, &ws.t, &jv[j], 1.0 / b as f64, &mut hjv);
            for i in 0..=j {
                let mut s: f64 = jv[i].iter().zip(&hjv).map(|(x, y)| x * y).sum();
                if mlp.weight_decay != 0.0 {
                    for l in 0..mlp.layers.len() {
                        let (r, _) = mlp.weights_range(l);
                        let d: f64 = vs[i][r.clone()]
                            .iter()
                            .zip(&vs[j][r])
                            .map(|(x, y)| x * y)
                            .sum();
                        s += mlp.weight_decay * d;
                    }
                }
                gram[(i, j)] = s;
                gram[(j, i)] = s;
            }
        }
        Ok(gram)
    }
}

fn fill_nan(out: &mut [f64]) {
    out.fill(f64::NAN);
}

impl Objective for MlpProblem<'_> {
    fn dim(&self) -> usize {
        self.mlp.num_params
    }

    fn value(&self, x: &[f64]) -> f64 {
        self.value_impl(x, None).unwrap_or(f64::NAN)
    }
}

impl Gradient for MlpProblem<'_> {
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        self.value_grad_impl(x, None, g).unwrap_or_else(|_| {
            fill_nan(g);
            f64::NAN
        })
    }
}

impl HessVec for MlpProblem<'_> {
    fn hess_vec(&self, x: &[f64], v: &[f64], hv: &mut [f64]) {
        if self.hess_vec_impl(x, None, v, hv).is_err() {
            fill_nan(hv);
        }
    }
}

impl GaussNewtonVec for MlpProblem<'_> {
    fn gauss_newton_vec(&self, x: &[f64], v: &[f64], gv: &mut [f64]) {
        if self.gauss_newton_vec_impl(x, None, v, gv).is_err() {
            fill_nan(gv);
        }
    }
}

/// An [`MlpProblem`] restricted to a fixed minibatch, as a problem of its own:
/// the objective on those examples through the [`problem`](crate::problem)
/// traits, so a deterministic solver (or the curvature minibatch of
/// Hessian-free optimization, Martens 2010 §4.3) can work on it. Made by
/// [`MlpProblem::on_batch`], which checks the indices once.
pub struct MlpBatch<'p, 'a> {
    problem: &'p MlpProblem<'a>,
    batch: &'p [usize],
}

impl<'a> MlpProblem<'a> {
    /// The objective on the examples `batch` as a problem.
    ///
    /// ```
    /// use hesse::nn::{Activation, Dataset, Init, Loss, Mlp};
    /// use hesse::prelude::*;
    /// let data = Dataset::two_spirals(20, 0.0, 1).unwrap();
    /// let mlp = Mlp::new(&[2, 4, 2], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
    /// let problem = mlp.problem(&data).unwrap();
    /// let batch = [0, 3, 5];
    /// let sub = problem.on_batch(&batch).unwrap();
    /// let x = mlp.init(Init::Glorot, 0);
    /// assert_eq!(sub.value(&x), problem.value_batch(&x, &batch).unwrap());
    /// assert!(problem.on_batch(&[99]).is_err());
    /// ```
    pub fn on_batch<'p>(&'p self, batch: &'p [usize]) -> Result<MlpBatch<'p, 'a>, NnError> {
        let n = self.data.len();
        if batch.is_empty() {
            return Err(NnError::EmptyBatch);
        }
        if let Some(&bad) = batch.iter().find(|&&i| i >= n) {
            return Err(NnError::BatchIndex { index: bad, len: n });
        }
        Ok(MlpBatch {
            problem: self,
            batch,
        })
    }
}

impl Objective for MlpBatch<'_, '_> {
    fn dim(&self) -> usize {
        self.problem.mlp.num_params
    }

    fn value(&self, x: &[f64]) -> f64 {
        self.problem
            .value_impl(x, Some(self.batch))
            .unwrap_or(f64::NAN)
    }
}

impl Gradient for MlpBatch<'_, '_> {
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        self.problem
            .value_grad_impl(x, Some(self.batch), g)
            .unwrap_or_else(|_| {
                fill_nan(g);
                f64::NAN
            })
    }
}

impl HessVec for MlpBatch<'_, '_> {
    fn hess_vec(&self, x: &[f64], v: &[f64], hv: &mut [f64]) {
        if self
            .problem
            .hess_vec_impl(x, Some(self.batch), v, hv)
            .is_err()
        {
            fill_nan(hv);
        }
    }
}

impl GaussNewtonVec for MlpBatch<'_, '_> {
    fn gauss_newton_vec(&self, x: &[f64], v: &[f64], gv: &mut [f64]) {
        if self
            .problem
            .gauss_newton_vec_impl(x, Some(self.batch), v, gv)
            .is_err()
        {
            fill_nan(gv);
        }
    }
}
