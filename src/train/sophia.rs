//! Sophia: momentum divided by a clipped moving average of a diagonal
//! curvature estimate (Liu, Li, Hall, Liang & Ma, "Sophia: a scalable
//! stochastic second-order optimizer for language model pre-training", ICLR
//! 2024, arXiv 2305.14342; the final version's Algorithm 3).
//!
//! Notation as the paper: `g_t` the minibatch gradient, `ĥ_t` an estimate of
//! the Hessian's diagonal taken every `k` steps, `h_t` its moving average,
//! `γ` the scale of the pre-conditioner, `λ` the decoupled weight decay. One
//! step `t` (from 1):
//!
//! ```text
//! m_t = β₁ m_{t−1} + (1 − β₁) g_t                              Alg. 3, l. 5
//! if t mod k = 1:  h_t = β₂ h_{t−k} + (1 − β₂) ĥ_t             Alg. 3, l. 6-7
//! else:            h_t = h_{t−1}                               (h_{1−k} = 0)
//! θ_t ← θ_t − η λ θ_t                                          Alg. 3, l. 9
//! θ_{t+1} = θ_t − η clip(m_t / max(γ h_t, ε), 1)               Alg. 3, l. 10
//! ```
//!
//! `clip(z, 1)` clips each coordinate to `[−1, 1]`, so no coordinate moves by
//! more than `η` (plus the decay). Two estimators ([`SophiaEstimator`]):
//!
//! - **Hutchinson** (Sophia-H, Algorithm 1): `ĥ = u ⊙ (H u)`, `u ∼ N(0, I)`,
//!   `H u` the exact Hessian-vector product of the network on the curvature
//!   sub-batch ([`MlpProblem::hess_vec_batch`], Pearlmutter 1994);
//! - **Gauss-Newton-Bartlett** (Sophia-G, Algorithm 2): labels `ŷ_b` sampled
//!   from the model's predictive distribution, `ĝ` the gradient of the
//!   minibatch loss at those labels and `ĥ = B ĝ ⊙ ĝ`, whose expectation is
//!   the Gauss-Newton diagonal. With `e_b = ∇ₒℓ(o_b, ŷ_b)`, `ĝ = (1/B) Jᵀ e`,
//!   one backward pass ([`MlpProblem::jac_t_vec_batch`]). The labels: softmax
//!   outputs a category `ŷ ∼ Categorical(p)`; logistic outputs independent
//!   `ŷⱼ ∼ Bernoulli(pⱼ)`; squared error (`½‖o − t‖²`, whose likelihood is
//!   `N(o, I)`) `ŷ ∼ N(o, I)`, so `e = o − ŷ`.
//!
//! Defaults: `β₁ = 0.96`, `β₂ = 0.99`, `ε = 10⁻¹²`, `k = 10` (the paper's
//! experiment setup, §4.1); `γ = 0.01` with Hutchinson's estimate, which is
//! pytorch-optimizer's SophiaH (lr 0.06 with its clip `p = 0.01`: its
//! `lr · clip(m/h, p)` is this file's `η clip(m/(γ h), 1)` with `η = lr · p`,
//! `γ = p`, so also `η = 6·10⁻⁴`), and `γ = 0.05` with GNB's, the upper end
//! of the `ρ` the official Sophia-G code tunes over (its `ρ B h` with this
//! file's `ĥ = B ĝ ⊙ ĝ` is `γ h`).
//!
//! Deviations: `λ = 0` by default (the paper's 0.2 regularizes GPT-2; the
//! benchmarks here measure the training loss, and pytorch-optimizer's
//! default is 0 too). The curvature sub-batch, the examples of `ĥ`, is
//! the first quarter of the minibatch by default
//! ([`Sophia::with_curvature_fraction`]): the official GPT-2 script
//! (`train_sophiag.py`) estimates on a minibatch as large as the gradient's
//! (the next one), but on the digits autoencoder a quarter, half or an
//! eighth end within the seeds' spread of the whole minibatch (median final
//! loss 15.41 / 15.36 / 15.39 against 15.39, 3 seeds) at 1.00-1.06 of Adam's
//! CPU time per iteration against 1.07 (docs/bench/sophia-adahessian.md). The
//! GNB estimate
//! leaves out the curvature of the network's own weight-decay term (the
//! Hutchinson estimate includes it).
//!
//! This file is the whole method: a [`Method`] and one line in the
//! [`registry`](super::registry).

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{Method, Minibatch, NetworkObjective, StepRecord, nn_error};
use crate::natural::fisher::sampled_residuals;
use crate::nn::MlpProblem;
use crate::solver::{Error, check_positive};

/// Sophia's estimate `ĥ` of the Hessian diagonal (Liu et al. 2023, §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum SophiaEstimator {
    /// `u ⊙ (H u)`, `u ∼ N(0, I)` (Algorithm 1): Sophia-H.
    #[default]
    Hutchinson,
    /// Gauss-Newton-Bartlett: `B ĝ ⊙ ĝ` at labels sampled from the model
    /// (Algorithm 2): Sophia-G.
    Gnb,
}

impl SophiaEstimator {
    /// The default `γ` for this estimator (module docs): 0.01 (Hutchinson),
    /// 0.05 (GNB).
    pub fn default_gamma(self) -> f64 {
        match self {
            SophiaEstimator::Hutchinson => 0.01,
            SophiaEstimator::Gnb => 0.05,
        }
    }
}

/// Sophia (Liu et al. 2023) on the training driver; see the
/// [module docs](self).
///
/// ```
/// use hesse::nn::{Activation, Dataset, Init, Loss, Mlp};
/// use hesse::prelude::*;
/// use hesse::train::{Driver, Sophia, SophiaEstimator};
/// let data = Dataset::two_spirals(50, 0.0, 3).unwrap();
/// let mlp = Mlp::new(&[2, 8, 2], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
/// let problem = mlp.problem(&data).unwrap();
/// let x0 = mlp.init(Init::Glorot, 1);
/// for estimator in [SophiaEstimator::Hutchinson, SophiaEstimator::Gnb] {
///     let sophia = Sophia::new(estimator).with_learning_rate(0.01);
///     let state = Driver::new()
///         .with_batch_size(50)
///         .with_max_iter(30)
///         .train(&problem, sophia, x0.clone())
///         .unwrap();
///     assert!(problem.value(&state.x) < problem.value(&x0));
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sophia {
    /// The estimator of `ĥ` (Hutchinson).
    estimator: SophiaEstimator,
    /// Learning rate `η` (6·10⁻⁴).
    #[serde(with = "crate::solver::float_serde")]
    lr: f64,
    /// `β₁` of the gradient's moving average (0.96).
    #[serde(with = "crate::solver::float_serde")]
    beta1: f64,
    /// `β₂` of the curvature's moving average (0.99).
    #[serde(with = "crate::solver::float_serde")]
    beta2: f64,
    /// `γ`, the pre-conditioner's scale (0.01 Hutchinson, 0.05 GNB).
    #[serde(with = "crate::solver::float_serde")]
    gamma: f64,
    /// `ε` (10⁻¹²).
    #[serde(with = "crate::solver::float_serde")]
    eps: f64,
    /// Decoupled weight decay `λ` (0).
    #[serde(with = "crate::solver::float_serde")]
    weight_decay: f64,
    /// Steps between estimates `k` (10).
    k: u64,
    /// The curvature sub-batch as a fraction of the minibatch (1/4; 1, all
    /// of it, in checkpoints written before it existed).
    #[serde(with = "crate::solver::float_serde", default = "whole_minibatch")]
    curvature_fraction: f64,
    /// `m_t`.
    #[serde(with = "crate::solver::float_serde::vec")]
    m: Vec<f64>,
    /// `h_t`.
    #[serde(with = "crate::solver::float_serde::vec")]
    h: Vec<f64>,
    /// Steps taken, `t`.
    t: u64,
    #[serde(skip)]
    work: Work,
}

/// `g_t`, `u`, and `ĥ` (`H u` before the product with `u`).
#[derive(Debug, Clone, Default, PartialEq)]
struct Work {
    g: Vec<f64>,
    u: Vec<f64>,
    h_hat: Vec<f64>,
}

/// Fills `out` with independent standard normal samples by Marsaglia's
/// polar method (Marsaglia & Bray 1964), two per accepted pair: one
/// logarithm and one square root per two samples and no trigonometric
/// function (Box-Muller's logarithm, square root and cosine per sample were
/// about 4% of Sophia-H's time on the digits autoencoder, by `perf`).
fn standard_normal(rng: &mut ChaCha8Rng, out: &mut [f64]) {
    for pair in out.chunks_mut(2) {
        let (a, b, s) = loop {
            let a = 2.0 * rng.random::<f64>() - 1.0;
            let b = 2.0 * rng.random::<f64>() - 1.0;
            let s = a * a + b * b;
            if s > 0.0 && s < 1.0 {
                break (a, b, s);
            }
        };
        let f = (-2.0 * s.ln() / s).sqrt();
        pair[0] = a * f;
        if let Some(second) = pair.get_mut(1) {
            *second = b * f;
        }
    }
}

/// The curvature fraction of checkpoints written before it existed.
fn whole_minibatch() -> f64 {
    1.0
}

impl Default for Sophia {
    fn default() -> Self {
        Sophia::new(SophiaEstimator::default())
    }
}

impl Sophia {
    /// Sophia with `estimator` and the paper's defaults (its `γ`).
    pub fn new(estimator: SophiaEstimator) -> Self {
        Sophia {
            estimator,
            lr: 6e-4,
            beta1: 0.96,
            beta2: 0.99,
            gamma: estimator.default_gamma(),
            eps: 1e-12,
            weight_decay: 0.0,
            k: 10,
            curvature_fraction: 0.25,
            m: Vec::new(),
            h: Vec::new(),
            t: 0,
            work: Work::default(),
        }
    }

    /// The learning rate `η > 0`, the largest move of a coordinate (default
    /// 6·10⁻⁴).
    #[must_use]
    pub fn with_learning_rate(mut self, lr: f64) -> Self {
        self.lr = lr;
        self
    }

    /// `β₁, β₂ ∈ [0, 1)` (default 0.96, 0.99).
    #[must_use]
    pub fn with_betas(mut self, beta1: f64, beta2: f64) -> Self {
        self.beta1 = beta1;
        self.beta2 = beta2;
        self
    }

    /// `γ > 0` (default 0.01 for Hutchinson, 0.05 for GNB).
    #[must_use]
    pub fn with_gamma(mut self, gamma: f64) -> Self {
        self.gamma = gamma;
        self
    }

    /// `ε > 0` (default 10⁻¹²).
    #[must_use]
    pub fn with_eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// Decoupled weight decay `λ ≥ 0` (default 0; the paper's GPT-2 runs
    /// use 0.2).
    #[must_use]
    pub fn with_weight_decay(mut self, lambda: f64) -> Self {
        self.weight_decay = lambda;
        self
    }

    /// Steps between curvature estimates `k ≥ 1` (default 10).
    #[must_use]
    pub fn with_hessian_period(mut self, k: u64) -> Self {
        self.k = k;
        self
    }

    /// The curvature sub-batch, the examples of `ĥ`'s estimate, as a
    /// fraction `∈ (0, 1]` of the minibatch (default 1/4; module docs): its
    /// first `⌈f B⌉` examples. The driver's
    /// [`with_curvature_batch`](super::Driver::with_curvature_batch), when
    /// set, takes precedence.
    #[must_use]
    pub fn with_curvature_fraction(mut self, fraction: f64) -> Self {
        self.curvature_fraction = fraction;
        self
    }

    /// The estimator.
    pub fn estimator(&self) -> SophiaEstimator {
        self.estimator
    }

    fn validate(&self) -> Result<(), Error> {
        check_positive("learning_rate", self.lr)?;
        check_positive("gamma", self.gamma)?;
        check_positive("eps", self.eps)?;
        for (name, b) in [("beta1", self.beta1), ("beta2", self.beta2)] {
            if !(0.0..1.0).contains(&b) {
                return Err(Error::invalid_option(name, b, "must be in [0, 1)"));
            }
        }
        if !(self.weight_decay >= 0.0 && self.weight_decay.is_finite()) {
            return Err(Error::invalid_option(
                "weight_decay",
                self.weight_decay,
                "must be finite and >= 0",
            ));
        }
        if self.k == 0 {
            return Err(Error::invalid_option("hessian_period", 0, "must be >= 1"));
        }
        if !(self.curvature_fraction > 0.0 && self.curvature_fraction <= 1.0) {
            return Err(Error::invalid_option(
                "curvature_fraction",
                self.curvature_fraction,
                "must be in (0, 1]",
            ));
        }
        Ok(())
    }

    /// Writes the estimate `ĥ` on `batch` at `x` into `work.h_hat`, its
    /// randomness from `seed`.
    fn estimate(
        &mut self,
        problem: &MlpProblem<'_>,
        x: &[f64],
        batch: &[usize],
        seed: u64,
    ) -> Result<(), Error> {
        let Work { u, h_hat, .. } = &mut self.work;
        match self.estimator {
            SophiaEstimator::Hutchinson => {
                // u ∼ N(0, I), ĥ = u ⊙ (H u) (Algorithm 1).
                standard_normal(&mut ChaCha8Rng::seed_from_u64(seed), u);
                problem
                    .hess_vec_batch(x, batch, u, h_hat)
                    .map_err(nn_error)?;
                for (h, ui) in h_hat.iter_mut().zip(u.iter()) {
                    *h *= ui;
                }
            }
            SophiaEstimator::Gnb => {
                // e = ∇ₒℓ(o, ŷ), ŷ sampled from the model (Algorithm 2);
                // ĝ = (1/B) Jᵀ e and ĥ = B ĝ ⊙ ĝ = (1/B) (Jᵀ e) ⊙ (Jᵀ e).
                let mlp = problem.mlp();
                let e = {
                    let pass = problem.layer_pass(x, batch).map_err(nn_error)?;
                    sampled_residuals(mlp.loss(), mlp.outputs(), pass.p(), 1, seed)
                };
                problem
                    .jac_t_vec_batch(x, batch, &e, h_hat)
                    .map_err(nn_error)?;
                let inv_b = 1.0 / batch.len() as f64;
                for h in h_hat.iter_mut() {
                    *h = *h * *h * inv_b;
                }
            }
        }
        Ok(())
    }
}

impl<P: NetworkObjective + ?Sized> Method<P> for Sophia {
    fn name(&self) -> &'static str {
        "sophia"
    }

    fn curvature_batch(&self, batch: usize) -> usize {
        ((self.curvature_fraction * batch as f64).ceil() as usize).clamp(1, batch)
    }

    fn start(&mut self, objective: &P, x0: &[f64]) -> Result<(), Error> {
        self.validate()?;
        let n = objective.network().mlp().num_params();
        crate::solver::check_start(x0, n)?;
        self.m = vec![0.0; n];
        self.h = vec![0.0; n];
        self.t = 0;
        Ok(())
    }

    /// Reports `lr`, `clipped` (the fraction of coordinates whose update the
    /// clip bounds) and, on the steps that estimate, `mean_h_hat`, the mean
    /// of `ĥ_t`.
    fn step(
        &mut self,
        objective: &P,
        x: &mut [f64],
        mb: &Minibatch<'_>,
    ) -> Result<StepRecord, Error> {
        let problem = objective.network();
        let n = x.len();
        for w in [&mut self.work.g, &mut self.work.u, &mut self.work.h_hat] {
            w.resize(n, 0.0);
        }
        let f = problem
            .value_grad_batch(x, mb.examples, &mut self.work.g)
            .map_err(nn_error)?;
        if !f.is_finite() {
            return Ok(StepRecord::new(f));
        }
        self.t += 1;
        // t mod k = 1, counting from t = 1 (every step when k = 1).
        let estimate = (self.t - 1).is_multiple_of(self.k);
        if estimate {
            self.estimate(problem, x, mb.curvature, mb.seed)?;
        }
        let (b1, b2) = (self.beta1, self.beta2);
        let (lr, gamma, eps, decay) = (self.lr, self.gamma, self.eps, self.lr * self.weight_decay);
        let Work { g, h_hat, .. } = &self.work;
        // Branch-free loops over slices (no bounds checks, one pass each),
        // so that the compiler vectorizes them; the arithmetic of every
        // coordinate is Algorithm 3's, operation for operation.
        if estimate {
            for (h, hh) in self.h.iter_mut().zip(h_hat) {
                *h = b2 * *h + (1.0 - b2) * hh;
            }
        }
        if decay != 0.0 {
            for xi in x.iter_mut() {
                *xi -= decay * *xi;
            }
        }
        let mut clipped = 0usize;
        for (((xi, m), gi), h) in x.iter_mut().zip(&mut self.m).zip(g).zip(&self.h) {
            *m = b1 * *m + (1.0 - b1) * gi;
            let ratio = *m / (gamma * h).max(eps);
            clipped += usize::from(ratio.abs() >= 1.0);
            *xi -= lr * ratio.clamp(-1.0, 1.0);
        }
        let mut record = StepRecord::new(f)
            .with("lr", lr)
            .with("clipped", clipped as f64 / n as f64);
        if estimate {
            record = record.with("mean_h_hat", h_hat.iter().sum::<f64>() / n as f64);
        }
        Ok(record)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::nn::{Activation, Dataset, Init, Loss, Mlp};
    use crate::problem::Objective;
    use crate::train::Driver;

    /// The relative error `‖mean − exact‖ / ‖exact‖` of the mean of `n`
    /// estimates (seeds `first..first + n`) against `exact`.
    fn mean_error(
        estimate: &mut dyn FnMut(u64) -> Vec<f64>,
        exact: &[f64],
        first: u64,
        n: u64,
    ) -> f64 {
        let mut mean = vec![0.0; exact.len()];
        for s in first..first + n {
            for (m, d) in mean.iter_mut().zip(estimate(s)) {
                *m += d / n as f64;
            }
        }
        let err: f64 = mean.iter().zip(exact).map(|(m, h)| (m - h).powi(2)).sum();
        let norm: f64 = exact.iter().map(|h| h * h).sum();
        (err / norm).sqrt()
    }

    /// The root-mean-square over 8 repetitions of [`mean_error`] with `n`
    /// samples: what `1/√n` describes.
    pub(crate) fn rms_error(
        estimate: &mut dyn FnMut(u64) -> Vec<f64>,
        exact: &[f64],
        n: u64,
    ) -> f64 {
        let reps = 8;
        let sq: f64 = (0..reps)
            .map(|r| mean_error(estimate, exact, 1_000_000 * (r + 1) + n, n).powi(2))
            .sum();
        (sq / reps as f64).sqrt()
    }

    /// `diag(A)` from `A eⱼ` for every unit vector.
    pub(crate) fn explicit_diagonal(
        n: usize,
        apply: &mut dyn FnMut(&[f64], &mut [f64]),
    ) -> Vec<f64> {
        let (mut e, mut col) = (vec![0.0; n], vec![0.0; n]);
        (0..n)
            .map(|j| {
                e[j] = 1.0;
                apply(&e, &mut col);
                e[j] = 0.0;
                col[j]
            })
            .collect()
    }

    fn tiny(loss: Loss) -> (Mlp, Dataset) {
        let data = Dataset::two_spirals(20, 0.0, 1).unwrap();
        let mlp = Mlp::new(&[2, 3, 2], Activation::Tanh, loss).unwrap();
        (mlp, data)
    }

    #[test]
    fn hutchinson_and_gnb_converge_to_the_hessian_and_gauss_newton_diagonals() {
        for loss in [
            Loss::SoftmaxCrossEntropy,
            Loss::LogisticCrossEntropy,
            Loss::MeanSquaredError,
        ] {
            let (mlp, data) = tiny(loss);
            let problem = mlp.problem(&data).unwrap();
            let x = mlp.init(Init::Glorot, 2);
            let n = x.len();
            let batch: Vec<usize> = (0..data.len()).collect();
            let hessian = explicit_diagonal(n, &mut |v, out| {
                problem.hess_vec_batch(&x, &batch, v, out).unwrap()
            });
            let gauss_newton = explicit_diagonal(n, &mut |v, out| {
                problem.gauss_newton_vec_batch(&x, &batch, v, out).unwrap()
            });
            for (estimator, exact) in [
                (SophiaEstimator::Hutchinson, &hessian),
                (SophiaEstimator::Gnb, &gauss_newton),
            ] {
                let mut s = Sophia::new(estimator);
                s.work = Work {
                    g: vec![0.0; n],
                    u: vec![0.0; n],
                    h_hat: vec![0.0; n],
                };
                let mut est = |seed| {
                    s.estimate(&problem, &x, &batch, seed).unwrap();
                    s.work.h_hat.clone()
                };
                let e: Vec<f64> = [100, 400, 1600]
                    .iter()
                    .map(|&k| rms_error(&mut est, exact, k))
                    .collect();
                // Unbiased with variance ∝ 1/n: each 4× the samples halves
                // the error.
                for w in e.windows(2) {
                    let r = w[1] / w[0];
                    assert!(
                        (0.35..0.7).contains(&r),
                        "{loss:?} {estimator:?}: errors {e:?}"
                    );
                }
                assert!(e[2] < 0.2, "{loss:?} {estimator:?}: errors {e:?}");
            }
        }
    }

    #[test]
    fn no_coordinate_moves_more_than_the_learning_rate() {
        let data = Dataset::digits().unwrap();
        let mlp = Mlp::new(&[64, 8, 10], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
        let problem = mlp.problem(&data).unwrap();
        let batch: Vec<usize> = (0..64).collect();
        for (case, (estimator, lr, gamma, decay)) in [
            (SophiaEstimator::Hutchinson, 0.5, 0.01, 0.0),
            (SophiaEstimator::Hutchinson, 1e-3, 1e-6, 0.1),
            (SophiaEstimator::Gnb, 0.3, 0.05, 0.2),
            (SophiaEstimator::Gnb, 2.0, 10.0, 0.0),
        ]
        .into_iter()
        .enumerate()
        {
            let mut s = Sophia::new(estimator)
                .with_learning_rate(lr)
                .with_gamma(gamma)
                .with_weight_decay(decay)
                .with_hessian_period(3);
            let mut x = mlp.init(Init::Glorot, case as u64);
            Method::<MlpProblem<'_>>::start(&mut s, &problem, &x).unwrap();
            for it in 1..=40 {
                let before = x.clone();
                let mb = Minibatch {
                    iteration: it,
                    examples: &batch,
                    curvature: &batch[..32],
                    seed: it * 7 + case as u64,
                };
                Method::<MlpProblem<'_>>::step(&mut s, &problem, &mut x, &mb).unwrap();
                for (a, b) in x.iter().zip(&before) {
                    // x = (1 − ηλ) x₀ − η clip(·, 1).
                    let mv = a - (1.0 - lr * decay) * b;
                    assert!(mv.abs() <= lr * (1.0 + 1e-12), "{case}: {mv} > {lr}");
                }
            }
        }
    }

    #[test]
    fn lowers_the_digits_loss_and_rejects_bad_options() {
        let data = Dataset::digits().unwrap();
        let mlp = Mlp::new(&[64, 16, 10], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
        let problem = mlp.problem(&data).unwrap();
        let x0 = mlp.init(Init::Glorot, 0);
        for estimator in [SophiaEstimator::Hutchinson, SophiaEstimator::Gnb] {
            let state = Driver::new()
                .with_batch_size(128)
                .with_seed(5)
                .with_max_iter(60)
                .with_progress(false)
                .train(
                    &problem,
                    Sophia::new(estimator).with_learning_rate(0.01),
                    x0.clone(),
                )
                .unwrap();
            let (f0, f1) = (problem.value(&x0), problem.value(&state.x));
            assert!(f1 < 0.5 * f0, "{estimator:?}: {f0} -> {f1}");
        }
        let bad = [
            Sophia::default().with_learning_rate(0.0),
            Sophia::default().with_betas(0.9, 1.0),
            Sophia::default().with_gamma(-1.0),
            Sophia::default().with_weight_decay(-0.1),
            Sophia::default().with_hessian_period(0),
            Sophia::default().with_curvature_fraction(0.0),
            Sophia::default().with_curvature_fraction(1.5),
        ];
        for s in bad {
            assert!(s.validate().is_err(), "{s:?}");
        }
    }

    #[test]
    fn curvature_fraction_sizes_the_sub_batch_and_old_checkpoints_load() {
        use crate::nn::MlpProblem;
        let sub = |s: &Sophia, b| Method::<MlpProblem<'_>>::curvature_batch(s, b);
        assert_eq!(sub(&Sophia::default(), 256), 64);
        assert_eq!(
            sub(&Sophia::default().with_curvature_fraction(1.0), 256),
            256
        );
        let quarter = Sophia::default();
        assert_eq!(sub(&quarter, 256), 64);
        assert_eq!(sub(&quarter, 10), 3);
        assert_eq!(sub(&quarter, 1), 1);
        // A checkpoint written before the field existed: the whole batch.
        let mut json = serde_json::to_value(&quarter).unwrap();
        assert!(
            json.as_object_mut()
                .unwrap()
                .remove("curvature_fraction")
                .is_some()
        );
        let old: Sophia = serde_json::from_value(json).unwrap();
        assert_eq!(old, Sophia::default().with_curvature_fraction(1.0));
    }

    #[test]
    fn polar_samples_are_standard_normal() {
        // 10⁵ + 1 samples (an odd count: the last pair keeps one): mean 0,
        // variance 1, fourth moment 3, within a few standard errors.
        let mut u = vec![0.0; 100_001];
        standard_normal(&mut ChaCha8Rng::seed_from_u64(9), &mut u);
        let n = u.len() as f64;
        let moment = |p: i32| u.iter().map(|x| x.powi(p)).sum::<f64>() / n;
        assert!(moment(1).abs() < 0.015, "mean {}", moment(1));
        assert!((moment(2) - 1.0).abs() < 0.02, "variance {}", moment(2));
        assert!((moment(4) - 3.0).abs() < 0.1, "fourth moment {}", moment(4));
        assert!(u.iter().all(|x| x.is_finite()) && u[100_000] != 0.0);
    }
}
