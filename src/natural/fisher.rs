//! Fisher information of an [`Mlp`](crate::nn::Mlp)'s predictive distribution,
//! as matrix-free products (and, for tiny networks, as a dense matrix).
//!
//! With network outputs (logits) `oᵢ = f(xᵢ; θ)`, Jacobians `Jᵢ = ∂oᵢ/∂θ` and a
//! loss `ℓ(o, t) = −log p(t | o)` that is the negative log-likelihood of an
//! exponential family in its natural parameter `o`, two matrices are called
//! "the Fisher" (Kunstner, Balles & Hennig, "Limitations of the empirical
//! Fisher approximation for natural gradient descent", NeurIPS 2019, §2):
//!
//! - the **Fisher** [`FisherKind::Exact`]:
//!   `F = (1/B) Σᵢ Jᵢᵀ E_{y∼p(·|oᵢ)}[∇ₒℓ(oᵢ, y) ∇ₒℓ(oᵢ, y)ᵀ] Jᵢ = (1/B) Σᵢ Jᵢᵀ H_F(oᵢ) Jᵢ`,
//!   where for an exponential family in its natural parameter the covariance
//!   of the score is the Hessian of the log-partition function, so
//!   `H_F = ∂²ℓ/∂o² = H_L` and `F` is the generalized Gauss-Newton matrix
//!   (Martens, "New insights and perspectives on the natural gradient method",
//!   JMLR 21, 2020, §9.2). `H_F` is `diag p − p pᵀ` for softmax,
//!   `diag(p ⊙ (1 − p))` for independent logistic outputs and `I` for squared
//!   error read as a unit-variance Gaussian;
//! - the **sampled Fisher** [`FisherKind::Sampled`]: the same expectation by
//!   seeded Monte Carlo, `(1/(B S)) Σᵢ Σₛ Jᵢᵀ eᵢₛ eᵢₛᵀ Jᵢ` with
//!   `eᵢₛ = ∇ₒℓ(oᵢ, yᵢₛ)` for targets `yᵢₛ ∼ p(·|oᵢ)` drawn from the model
//!   (what K-FAC estimates its factors from; Martens & Grosse 2015, §5). An
//!   unbiased estimate of the Fisher, positive semi-definite, of rank at most
//!   `B S`;
//! - the **empirical Fisher** [`FisherKind::Empirical`]:
//!   `F_emp = (1/B) Σᵢ gᵢ gᵢᵀ` with `gᵢ = Jᵢᵀ eᵢ` the per-example gradient at
//!   the *observed* target, `eᵢ = ∇ₒℓ(oᵢ, tᵢ)`.
//!
//! Both products run on the whole batch at once, with no per-example loop over
//! the network: `F_emp v = (1/B) Jᵀ u` with `uᵢ = eᵢ (eᵢᵀ (J v)ᵢ)`, i.e. one
//! Jacobian-vector product, a column-wise rank-one scaling of the `k × B`
//! output buffer, and one vector-Jacobian product. The exact Fisher is the
//! same with `uᵢ = H_F(oᵢ) (J v)ᵢ`.
//!
//! Both are the Fisher of the data term only: the network's L2 weight decay is
//! not part of the likelihood and is left out (add it as damping). Networks
//! with batch normalization couple the examples of a batch, so per-example
//! gradients are not defined; they are rejected.
//!
//! Why the empirical Fisher can mislead: it is the true Fisher only when the
//! model's predictive distribution matches the data's, and far from such a
//! point its preconditioned step can be arbitrarily badly scaled (Kunstner et
//! al. 2019, §3). On a regression whose residuals are small, `F_emp ≈ 0`
//! although the Fisher is `JᵀJ`: the "natural" step `F_emp⁻¹ g` is huge. See
//! `examples/empirical_fisher.rs`.

use nalgebra::DMatrix;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::linalg::{LinearOperator, axpy};
use crate::nn::{Loss, MlpProblem, NnError};

/// Which Fisher matrix a [`Fisher`] multiplies by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FisherKind {
    /// The Fisher of the model's predictive distribution, `(1/B) Σ Jᵢᵀ H_F Jᵢ`:
    /// equal to the generalized Gauss-Newton matrix for these losses.
    Exact,
    /// The empirical Fisher `(1/B) Σ gᵢ gᵢᵀ` of per-example gradients at the
    /// observed targets (Kunstner et al. 2019 on why it is not the Fisher).
    Empirical,
    /// The Fisher estimated from `samples ≥ 1` targets per example drawn from
    /// the model's predictive distribution with a seeded generator.
    Sampled {
        /// Targets drawn per example, `S`.
        samples: usize,
        /// Seed of the generator (ChaCha8).
        seed: u64,
    },
}

/// A Fisher matrix of an [`MlpProblem`] at fixed parameters on a fixed batch,
/// as a [`LinearOperator`].
///
/// Construction runs one forward pass to store the output-layer quantities
/// (`p(oᵢ)` for [`FisherKind::Exact`], the residuals `eᵢ` for
/// [`FisherKind::Empirical`]); each product then costs one Jacobian-vector
/// and one vector-Jacobian product on the batch.
///
/// ```
/// use hesse::natural::{Fisher, FisherKind};
/// use hesse::nn::{Activation, Dataset, Init, Loss, Mlp};
/// let data = Dataset::two_spirals(20, 0.0, 1).unwrap();
/// let mlp = Mlp::new(&[2, 3, 2], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
/// let problem = mlp.problem(&data).unwrap();
/// let x = mlp.init(Init::Glorot, 0);
/// let f = Fisher::new(&problem, &x, None, FisherKind::Empirical).unwrap();
/// let dense = f.dense().unwrap();
/// assert!((dense.clone() - dense.transpose()).amax() < 1e-12);
/// ```
pub struct Fisher<'p, 'a> {
    problem: &'p MlpProblem<'a>,
    params: Vec<f64>,
    batch: Vec<usize>,
    kind: FisherKind,
    /// `k × B`: `p(oᵢ)` (exact) or `eᵢ = ∇ₒℓ(oᵢ, tᵢ)` (empirical); `k × B × S`
    /// (sample-major) `eᵢₛ` (sampled).
    out_stats: Vec<f64>,
}

impl<'p, 'a> Fisher<'p, 'a> {
    /// The Fisher of `problem` at `params` on the examples `batch` (`None`:
    /// the whole data set).
    ///
    /// Errors: wrong parameter length, an empty or out-of-range batch, a
    /// network with batch normalization ([`NnError::Architecture`]), or
    /// `samples = 0` ([`NnError::InvalidOption`]).
    pub fn new(
        problem: &'p MlpProblem<'a>,
        params: &[f64],
        batch: Option<&[usize]>,
        kind: FisherKind,
    ) -> Result<Self, NnError> {
        let mlp = problem.mlp();
        let data = problem.data();
        if mlp.layers().iter().any(|l| l.batch_norm) {
            return Err(NnError::Architecture(
                "the Fisher needs per-example gradients; batch normalization couples examples"
                    .into(),
            ));
        }
        if params.len() != mlp.num_params() {
            return Err(NnError::Length {
                what: "params",
                got: params.len(),
                expected: mlp.num_params(),
            });
        }
        let batch: Vec<usize> = match batch {
            Some(b) => {
                problem.on_batch(b)?;
                b.to_vec()
            }
            None => (0..data.len()).collect(),
        };
        if batch.is_empty() {
            return Err(NnError::EmptyBatch);
        }
        let k = mlp.outputs();
        let mut inputs = Vec::with_capacity(batch.len() * mlp.inputs());
        let mut targets = Vec::with_capacity(batch.len() * k);
        for &i in &batch {
            inputs.extend_from_slice(data.input(i));
            targets.extend_from_slice(data.target(i));
        }
        let o = mlp.predict(params, &inputs, None)?;
        let loss = mlp.loss();
        let mut p = vec![0.0; o.len()];
        let mut losses = vec![0.0; batch.len()];
        loss.forward(k, &o, &targets, &mut p, &mut losses);
        let out_stats = match kind {
            FisherKind::Exact => p,
            FisherKind::Empirical => {
                let mut e = vec![0.0; o.len()];
                loss.gradient(k, &p, &targets, 1.0, &mut e);
                e
            }
            FisherKind::Sampled { samples, seed } => {
                if samples == 0 {
                    return Err(NnError::InvalidOption {
                        name: "samples",
                        value: 0.0,
                        expected: "at least 1",
                    });
                }
                sampled_residuals(loss, k, &p, samples, seed)
            }
        };
        Ok(Self {
            problem,
            params: params.to_vec(),
            batch,
            kind,
            out_stats,
        })
    }

    /// Which Fisher this is.
    pub fn kind(&self) -> FisherKind {
        self.kind
    }

    /// The number of examples `B`.
    pub fn batch_len(&self) -> usize {
        self.batch.len()
    }

    /// Writes `F v` into `out`.
    ///
    /// Errors: `v` or `out` of the wrong length.
    pub fn try_apply(&self, v: &[f64], out: &mut [f64]) -> Result<(), NnError> {
        let mlp = self.problem.mlp();
        let n = mlp.num_params();
        for (what, len) in [("v", v.len()), ("out", out.len())] {
            if len != n {
                return Err(NnError::Length {
                    what,
                    got: len,
                    expected: n,
                });
            }
        }
        let k = mlp.outputs();
        let mut u = vec![0.0; k * self.batch.len()];
        self.problem
            .jac_vec_batch(&self.params, &self.batch, v, &mut u)?;
        match self.kind {
            FisherKind::Exact => {
                for (uc, pc) in u.chunks_exact_mut(k).zip(self.out_stats.chunks_exact(k)) {
                    fisher_block_vec(mlp.loss(), pc, uc);
                }
            }
            FisherKind::Sampled { samples, .. } => {
                // uᵢ ← (1/S) Σₛ eᵢₛ (eᵢₛᵀ (J v)ᵢ).
                let cols = self.batch.len();
                let inv_s = 1.0 / samples as f64;
                let mut w = vec![0.0; k];
                for (i, uc) in u.chunks_exact_mut(k).enumerate() {
                    w.fill(0.0);
                    for s in 0..samples {
                        let ec = &self.out_stats[(s * cols + i) * k..(s * cols + i + 1) * k];
                        let d: f64 = uc.iter().zip(ec).map(|(a, b)| a * b).sum();
                        axpy(d * inv_s, ec, &mut w);
                    }
                    uc.copy_from_slice(&w);
                }
            }
            FisherKind::Empirical => {
                // uᵢ ← eᵢ (eᵢᵀ (J v)ᵢ): the per-example rank-one gᵢ gᵢᵀ at the logits.
                for (uc, ec) in u.chunks_exact_mut(k).zip(self.out_stats.chunks_exact(k)) {
                    let s: f64 = uc.iter().zip(ec).map(|(a, b)| a * b).sum();
                    for (ui, &ei) in uc.iter_mut().zip(ec) {
                        *ui = s * ei;
                    }
                }
            }
        }
        self.problem
            .jac_t_vec_batch(&self.params, &self.batch, &u, out)?;
        let scale = 1.0 / self.batch.len() as f64;
        for o in out.iter_mut() {
            *o *= scale;
        }
        Ok(())
    }

    /// The dense `n × n` matrix, column by column from `n` products (for tiny
    /// networks and tests), symmetrized against rounding.
    pub fn dense(&self) -> Result<DMatrix<f64>, NnError> {
        let n = self.problem.mlp().num_params();
        let mut m = DMatrix::zeros(n, n);
        let mut e = vec![0.0; n];
        let mut col = vec![0.0; n];
        for j in 0..n {
            e[j] = 1.0;
            self.try_apply(&e, &mut col)?;
            e[j] = 0.0;
            m.column_mut(j).copy_from_slice(&col);
        }
        let sym = (&m + m.transpose()) * 0.5;
        Ok(sym)
    }
}

/// `e = ∇ₒℓ(o, y)` for `S` targets per example drawn from `p(·|o)`, laid out
/// `k × B` per sample: softmax `p − onehot(y)`, `y ∼ Categorical(p)`;
/// logistic `p − y`, `yⱼ ∼ Bernoulli(pⱼ)`; squared error `o − y = −z`,
/// `z ∼ N(0, I)` (Box-Muller).
pub(crate) fn sampled_residuals(
    loss: Loss,
    k: usize,
    p: &[f64],
    samples: usize,
    seed: u64,
) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut e = Vec::with_capacity(p.len() * samples);
    for _ in 0..samples {
        for pc in p.chunks_exact(k) {
            match loss {
                Loss::SoftmaxCrossEntropy => {
                    let u: f64 = rng.random();
                    let mut acc = 0.0;
                    let mut y = k - 1;
                    for (j, &pj) in pc.iter().enumerate() {
                        acc += pj;
                        if u < acc {
                            y = j;
                            break;
                        }
                    }
                    e.extend(pc.iter().enumerate().map(|(j, &pj)| pj - f64::from(j == y)));
                }
                Loss::LogisticCrossEntropy => {
                    for &pj in pc {
                        let y = f64::from(rng.random::<f64>() < pj);
                        e.push(pj - y);
                    }
                }
                Loss::MeanSquaredError => {
                    for _ in 0..k {
                        let u1: f64 = 1.0 - rng.random::<f64>();
                        let u2: f64 = rng.random();
                        let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                        e.push(-z);
                    }
                }
            }
        }
    }
    e
}

/// `u ← H_F(o) u` for one example, from `p = p(o)`: the covariance of the
/// score `∇ₒ log p(y | o)` under `y ∼ p(· | o)`.
fn fisher_block_vec(loss: Loss, p: &[f64], u: &mut [f64]) {
    match loss {
        Loss::MeanSquaredError => {}
        Loss::SoftmaxCrossEntropy => {
            let pu: f64 = p.iter().zip(u.iter()).map(|(a, b)| a * b).sum();
            for (ui, &pi) in u.iter_mut().zip(p) {
                *ui = pi * (*ui - pu);
            }
        }
        Loss::LogisticCrossEntropy => {
            for (ui, &pi) in u.iter_mut().zip(p) {
                *ui *= pi * (1.0 - pi);
            }
        }
    }
}

impl LinearOperator for Fisher<'_, '_> {
    fn dim(&self) -> usize {
        self.problem.mlp().num_params()
    }

    /// `F v`; fills `out` with NaN on a length mismatch (use
    /// [`Fisher::try_apply`] for the error).
    fn apply(&self, v: &[f64], out: &mut [f64]) {
        if self.try_apply(v, out).is_err() {
            out.fill(f64::NAN);
        }
    }

    fn is_symmetric(&self) -> bool {
        true
    }
}
