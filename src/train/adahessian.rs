//! AdaHessian: Adam with the Hessian diagonal in place of the squared
//! gradient (Yao, Gholami, Shen, Mustafa, Keutzer & Mahoney, "ADAHESSIAN: an
//! adaptive second order optimizer for machine learning", AAAI 2021,
//! arXiv 2006.00719).
//!
//! Notation as the paper (§3, Algorithm 1): `g_t` the minibatch gradient,
//! `D_t` the Hutchinson estimate of `diag(H)` (Bekas, Kokiopoulou & Saad
//! 2007), `k` the Hessian power. One step `t`:
//!
//! ```text
//! g_t = ∇f on the minibatch
//! D_t = z ⊙ (H z),  z Rademacher (±1), H on the curvature sub-batch   eq. (7)
//! m_t = β₁ m_{t−1} + (1 − β₁) g_t                                      eq. (11a)
//! v_t = β₂ v_{t−1} + (1 − β₂) D_t ⊙ D_t                                eq. (11b)
//! θ_t = θ_{t−1} − η (m_t / (1 − β₁ᵗ)) / ((√(v_t / (1 − β₂ᵗ)))ᵏ + ε)    eq. (12)
//! ```
//!
//! `H z` is the exact Hessian-vector product of the network (R-operator,
//! Pearlmutter 1994: [`MlpProblem::hess_vec_batch`]), one per step.
//! Defaults as the authors' implementation: `η = 0.15`, `β = (0.9, 0.999)`,
//! `ε = 10⁻⁴`, `k = 1`. Deviations: no spatial averaging of `D_t` (§3.2; it
//! is for convolution kernels, and these networks are fully connected); the
//! Hessian on the driver's curvature sub-batch (default: the whole
//! minibatch, as the paper).
//!
//! This file is the whole method: a [`Method`] and one line in the
//! [`registry`](super::registry).

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{Method, Minibatch, NetworkObjective, StepRecord, nn_error};
use crate::nn::MlpProblem;
use crate::solver::{Error, check_positive};

/// AdaHessian (Yao et al. 2021) on the training driver; see the
/// [module docs](self).
///
/// ```
/// use hesse::nn::{Activation, Dataset, Init, Loss, Mlp};
/// use hesse::prelude::*;
/// use hesse::train::{AdaHessian, Driver};
/// let data = Dataset::two_spirals(50, 0.0, 3).unwrap();
/// let mlp = Mlp::new(&[2, 8, 2], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
/// let problem = mlp.problem(&data).unwrap();
/// let x0 = mlp.init(Init::Glorot, 1);
/// let state = Driver::new()
///     .with_batch_size(50)
///     .with_max_iter(30)
///     .train(&problem, AdaHessian::default(), x0.clone())
///     .unwrap();
/// assert!(problem.value(&state.x) < problem.value(&x0));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdaHessian {
    /// Learning rate `η` (0.15).
    #[serde(with = "crate::solver::float_serde")]
    lr: f64,
    /// `β₁` of the gradient's moving average (0.9).
    #[serde(with = "crate::solver::float_serde")]
    beta1: f64,
    /// `β₂` of the Hessian diagonal's (0.999).
    #[serde(with = "crate::solver::float_serde")]
    beta2: f64,
    /// `ε` (10⁻⁴).
    #[serde(with = "crate::solver::float_serde")]
    eps: f64,
    /// The Hessian power `k ∈ (0, 1]` (1).
    #[serde(with = "crate::solver::float_serde")]
    hessian_power: f64,
    /// `m_t`.
    #[serde(with = "crate::solver::float_serde::vec")]
    m: Vec<f64>,
    /// `v_t`.
    #[serde(with = "crate::solver::float_serde::vec")]
    v: Vec<f64>,
    /// Steps taken, `t`.
    t: u64,
    #[serde(skip)]
    work: Work,
}

/// `g_t`, `z`, `H z`.
#[derive(Debug, Clone, Default, PartialEq)]
struct Work {
    g: Vec<f64>,
    z: Vec<f64>,
    hz: Vec<f64>,
}

impl Default for AdaHessian {
    fn default() -> Self {
        AdaHessian {
            lr: 0.15,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-4,
            hessian_power: 1.0,
            m: Vec::new(),
            v: Vec::new(),
            t: 0,
            work: Work::default(),
        }
    }
}

impl AdaHessian {
    /// The learning rate `η > 0` (default 0.15).
    #[must_use]
    pub fn with_learning_rate(mut self, lr: f64) -> Self {
        self.lr = lr;
        self
    }

    /// `β₁, β₂ ∈ [0, 1)` (default 0.9, 0.999).
    #[must_use]
    pub fn with_betas(mut self, beta1: f64, beta2: f64) -> Self {
        self.beta1 = beta1;
        self.beta2 = beta2;
        self
    }

    /// `ε > 0` (default 10⁻⁴).
    #[must_use]
    pub fn with_eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// The Hessian power `k ∈ (0, 1]` (default 1).
    #[must_use]
    pub fn with_hessian_power(mut self, k: f64) -> Self {
        self.hessian_power = k;
        self
    }

    fn validate(&self) -> Result<(), Error> {
        check_positive("learning_rate", self.lr)?;
        check_positive("eps", self.eps)?;
        for (name, b) in [("beta1", self.beta1), ("beta2", self.beta2)] {
            if !(0.0..1.0).contains(&b) {
                return Err(Error::invalid_option(name, b, "must be in [0, 1)"));
            }
        }
        if !(self.hessian_power > 0.0 && self.hessian_power <= 1.0) {
            return Err(Error::invalid_option(
                "hessian_power",
                self.hessian_power,
                "must be in (0, 1]",
            ));
        }
        Ok(())
    }

    /// Writes the Hutchinson estimate `z ⊙ (H z)` of `diag(H)` on `batch`
    /// into `d`, `z` Rademacher from `seed` (eq. 7).
    fn hutchinson(
        &mut self,
        problem: &MlpProblem<'_>,
        x: &[f64],
        batch: &[usize],
        seed: u64,
    ) -> Result<(), Error> {
        let Work { z, hz, .. } = &mut self.work;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for zi in z.iter_mut() {
            *zi = if rng.random::<bool>() { 1.0 } else { -1.0 };
        }
        problem.hess_vec_batch(x, batch, z, hz).map_err(nn_error)?;
        for (h, zi) in hz.iter_mut().zip(z.iter()) {
            *h *= zi;
        }
        Ok(())
    }
}

impl<P: NetworkObjective + ?Sized> Method<P> for AdaHessian {
    fn name(&self) -> &'static str {
        "adahessian"
    }

    fn start(&mut self, objective: &P, x0: &[f64]) -> Result<(), Error> {
        self.validate()?;
        let n = objective.network().mlp().num_params();
        crate::solver::check_start(x0, n)?;
        self.m = vec![0.0; n];
        self.v = vec![0.0; n];
        self.t = 0;
        Ok(())
    }

    /// Reports `lr` and `mean_diag`, the mean of the estimate `D_t`.
    fn step(
        &mut self,
        objective: &P,
        x: &mut [f64],
        mb: &Minibatch<'_>,
    ) -> Result<StepRecord, Error> {
        let problem = objective.network();
        let n = x.len();
        for w in [&mut self.work.g, &mut self.work.z, &mut self.work.hz] {
            w.resize(n, 0.0);
        }
        let f = problem
            .value_grad_batch(x, mb.examples, &mut self.work.g)
            .map_err(nn_error)?;
        if !f.is_finite() {
            return Ok(StepRecord::new(f));
        }
        self.hutchinson(problem, x, mb.curvature, mb.seed)?;
        self.t += 1;
        let t = self.t as i32;
        let (b1, b2, k) = (self.beta1, self.beta2, self.hessian_power);
        let (c1, c2) = (1.0 - b1.powi(t), 1.0 - b2.powi(t));
        let Work { g, hz: d, .. } = &self.work;
        for i in 0..n {
            self.m[i] = b1 * self.m[i] + (1.0 - b1) * g[i];
            self.v[i] = b2 * self.v[i] + (1.0 - b2) * d[i] * d[i];
            let denom = if k == 1.0 {
                (self.v[i] / c2).sqrt()
            } else {
                (self.v[i] / c2).sqrt().powf(k)
            };
            x[i] -= self.lr * (self.m[i] / c1) / (denom + self.eps);
        }
        let mean_diag = d.iter().sum::<f64>() / n as f64;
        Ok(StepRecord::new(f)
            .with("lr", self.lr)
            .with("mean_diag", mean_diag))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Activation, Dataset, Init, Loss, Mlp};
    use crate::problem::Objective;
    use crate::train::Driver;

    #[test]
    fn lowers_the_loss_on_digits_and_resumes_bit_for_bit() {
        let data = Dataset::digits().unwrap();
        let mlp = Mlp::new(&[64, 16, 10], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
        let problem = mlp.problem(&data).unwrap();
        let x0 = mlp.init(Init::Glorot, 0);
        let driver = |k| {
            Driver::new()
                .with_batch_size(128)
                .with_seed(5)
                .with_max_iter(k)
                .with_progress(false)
        };
        let straight = driver(60)
            .train(&problem, AdaHessian::default(), x0.clone())
            .unwrap();
        let (f0, f1) = (problem.value(&x0), problem.value(&straight.x));
        assert!(f1 < 0.5 * f0, "AdaHessian: {f0} -> {f1}");
        // 30 steps, a JSON round trip, 30 more: the same bits.
        let half = driver(30)
            .train(&problem, AdaHessian::default(), x0.clone())
            .unwrap();
        let json = serde_json::to_string(&half).unwrap();
        let mut resumed: crate::train::TrainingState<AdaHessian> =
            serde_json::from_str(&json).unwrap();
        driver(60)
            .run(&problem, &mut resumed, &mut |_| true)
            .unwrap();
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&resumed.x), bits(&straight.x));
        assert!(
            AdaHessian::default()
                .with_hessian_power(0.0)
                .validate()
                .is_err()
        );
        assert!(
            AdaHessian::default()
                .with_betas(1.0, 0.5)
                .validate()
                .is_err()
        );
    }

    #[test]
    fn hutchinson_estimates_the_hessian_diagonal() {
        // On a tiny network, the mean of z ⊙ Hz over many z approaches diag(H).
        let data = Dataset::two_spirals(20, 0.0, 1).unwrap();
        let mlp = Mlp::new(&[2, 3, 2], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
        let problem = mlp.problem(&data).unwrap();
        let x = mlp.init(Init::Glorot, 2);
        let n = x.len();
        let batch: Vec<usize> = (0..data.len()).collect();
        let mut exact = vec![0.0; n];
        let (mut e, mut col) = (vec![0.0; n], vec![0.0; n]);
        for j in 0..n {
            e[j] = 1.0;
            problem.hess_vec_batch(&x, &batch, &e, &mut col).unwrap();
            e[j] = 0.0;
            exact[j] = col[j];
        }
        let mut a = AdaHessian {
            work: Work {
                g: vec![0.0; n],
                z: vec![0.0; n],
                hz: vec![0.0; n],
            },
            ..AdaHessian::default()
        };
        let samples = 4000;
        let mut mean = vec![0.0; n];
        for s in 0..samples {
            a.hutchinson(&problem, &x, &batch, s).unwrap();
            for (m, d) in mean.iter_mut().zip(&a.work.hz) {
                *m += d / samples as f64;
            }
        }
        let scale = exact.iter().map(|v| v.abs()).fold(0.0, f64::max);
        for (m, h) in mean.iter().zip(&exact) {
            assert!(
                (m - h).abs() < 0.1 * scale,
                "{m} against {h} (scale {scale})"
            );
        }
    }
}
