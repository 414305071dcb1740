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
//! Pearlmutter 1994: [`MlpProblem::hess_vec_batch`]), one per estimate.
//! Decoupled weight decay `λ` as the authors' implementation
//! (`θ ← θ − η λ θ` beside eq. 12, as AdamW). The paper's delayed Hessian
//! update (its experiments compute `D_t` less often; pytorch-optimizer's
//! `update_period`):
//! `D_t` and `v_t` are updated every `T` steps only (at `t = 1, T + 1,
//! ...`), and `v`'s bias correction counts those updates, `1 − β₂ˢ` with
//! `s = ⌈t / T⌉` (pytorch-optimizer divides by `1 − β₂ᵗ`, which
//! under-corrects when `T > 1`).
//!
//! Defaults as the authors' implementation: `η = 0.15`, `β = (0.9, 0.999)`,
//! `ε = 10⁻⁴`, `k = 1`, `λ = 0`, `T = 1` (pytorch-optimizer 4.1's:
//! `η = 0.1`, `ε = 10⁻¹⁶`, the rest the same).
//!
//! Spatial averaging (§3.2): the authors' packaged optimizer
//! (`instruction/adahessian.py` of github.com/amirgholami/adahessian)
//! replaces, by default, the estimate of a two-dimensional (fully connected)
//! weight matrix by the mean of `|D_t|` over each row, one value per unit's
//! incoming weights ("usually, a spatial averaging needs to be used here to
//! get the best result"), and leaves biases alone; so does this file by
//! default ([`AdaHessian::with_row_average`]). On the digits autoencoder it
//! ends at 16.32 (median of 3 seeds, η = 0.15) against 16.98 at the best rate
//! without it (docs/bench/sophia-adahessian.md). pytorch-optimizer does not
//! average, and its Rademacher draw, `randint_like(p, 0, 1) · 2 − 1`, is
//! always −1, so its `D_t` is `H 1`, the Hessian's row sums, not a diagonal
//! estimate. Deviation: the Hessian on the driver's curvature sub-batch
//! (default: the whole minibatch, as the paper).
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
    /// Decoupled weight decay `λ` (0; absent from checkpoints written before
    /// it existed).
    #[serde(with = "crate::solver::float_serde", default)]
    weight_decay: f64,
    /// Steps between Hessian estimates `T` (1, likewise).
    #[serde(default = "every_step")]
    hessian_period: u64,
    /// Whether `D_t` is averaged over each row of each weight matrix (true;
    /// false in checkpoints written before it existed, which had none).
    #[serde(default)]
    row_average: bool,
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

/// The Hessian period of checkpoints written before it existed.
fn every_step() -> u64 {
    1
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
            weight_decay: 0.0,
            hessian_period: 1,
            row_average: true,
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

    /// Decoupled weight decay `λ ≥ 0` (default 0).
    #[must_use]
    pub fn with_weight_decay(mut self, lambda: f64) -> Self {
        self.weight_decay = lambda;
        self
    }

    /// Steps between Hessian estimates `T ≥ 1` (default 1: every step; the
    /// paper's delayed Hessian update).
    #[must_use]
    pub fn with_hessian_period(mut self, period: u64) -> Self {
        self.hessian_period = period;
        self
    }

    /// Whether the estimate `D_t` of each weight matrix is averaged over
    /// each row, the mean of `|D_t|` over a unit's incoming weights (default
    /// true; module docs). Off: the plain per-coordinate estimate.
    #[must_use]
    pub fn with_row_average(mut self, on: bool) -> Self {
        self.row_average = on;
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
        if !(self.weight_decay >= 0.0 && self.weight_decay.is_finite()) {
            return Err(Error::invalid_option(
                "weight_decay",
                self.weight_decay,
                "must be finite and >= 0",
            ));
        }
        if self.hessian_period == 0 {
            return Err(Error::invalid_option("hessian_period", 0, "must be >= 1"));
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
        if self.row_average {
            row_average(problem.mlp(), hz);
        }
        Ok(())
    }
}

/// Replaces each row of each weight matrix of `d` (one unit's incoming
/// weights) by the mean of its absolute values, the authors' spatial
/// averaging of a fully connected layer (module docs); biases are left.
fn row_average(mlp: &crate::nn::Mlp, d: &mut [f64]) {
    for l in 0..mlp.layers().len() {
        let (wr, (m, k)) = mlp.weights_range(l);
        let w = &mut d[wr];
        // Column-major m × k: row i is w[i], w[m + i], ...
        let mut mean = vec![0.0; m];
        for col in w.chunks_exact(m) {
            for (s, x) in mean.iter_mut().zip(col) {
                *s += x.abs();
            }
        }
        for s in &mut mean {
            *s /= k as f64;
        }
        for col in w.chunks_exact_mut(m) {
            col.copy_from_slice(&mean);
        }
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

    /// Reports `lr` and, on the steps that estimate, `mean_diag`, the mean
    /// of the estimate `D_t`.
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
        self.t += 1;
        // Estimates at t = 1, T + 1, 2T + 1, ...: s of them so far.
        let estimate = (self.t - 1).is_multiple_of(self.hessian_period);
        if estimate {
            self.hutchinson(problem, x, mb.curvature, mb.seed)?;
        }
        let s = (self.t - 1) / self.hessian_period + 1;
        let (b1, b2, k) = (self.beta1, self.beta2, self.hessian_power);
        let (c1, c2) = (1.0 - b1.powi(self.t as i32), 1.0 - b2.powi(s as i32));
        let decay = self.lr * self.weight_decay;
        let Work { g, hz: d, .. } = &self.work;
        // Branch-free loops over slices, so that the compiler vectorizes
        // them; each coordinate's arithmetic is eq. 11-12's, operation for
        // operation.
        if estimate {
            for (v, di) in self.v.iter_mut().zip(d) {
                *v = b2 * *v + (1.0 - b2) * di * di;
            }
        }
        if decay != 0.0 {
            for xi in x.iter_mut() {
                *xi -= decay * *xi;
            }
        }
        let (lr, eps) = (self.lr, self.eps);
        let coords = x.iter_mut().zip(&mut self.m).zip(g).zip(&self.v);
        if k == 1.0 {
            for (((xi, m), gi), v) in coords {
                *m = b1 * *m + (1.0 - b1) * gi;
                *xi -= lr * (*m / c1) / ((v / c2).sqrt() + eps);
            }
        } else {
            for (((xi, m), gi), v) in coords {
                *m = b1 * *m + (1.0 - b1) * gi;
                *xi -= lr * (*m / c1) / ((v / c2).sqrt().powf(k) + eps);
            }
        }
        let mut record = StepRecord::new(f).with("lr", self.lr);
        if estimate {
            record = record.with("mean_diag", d.iter().sum::<f64>() / n as f64);
        }
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Activation, Dataset, Init, Loss, Mlp};
    use crate::problem::Objective;
    use crate::train::Driver;

    #[test]
    fn a_checkpoint_without_decay_and_period_loads_with_their_defaults() {
        let mut json = serde_json::to_value(AdaHessian::default()).unwrap();
        let fields = json.as_object_mut().unwrap();
        assert!(fields.remove("weight_decay").is_some());
        assert!(fields.remove("hessian_period").is_some());
        let old: AdaHessian = serde_json::from_value(json).unwrap();
        assert_eq!(old, AdaHessian::default());
    }

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
        // On a tiny network, the mean of z ⊙ Hz over n Rademacher z is
        // diag(H) up to an error ∝ 1/√n: each 4× the samples halves it.
        use crate::train::sophia::tests::{explicit_diagonal, rms_error};
        let data = Dataset::two_spirals(20, 0.0, 1).unwrap();
        let mlp = Mlp::new(&[2, 3, 2], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
        let problem = mlp.problem(&data).unwrap();
        let x = mlp.init(Init::Glorot, 2);
        let n = x.len();
        let batch: Vec<usize> = (0..data.len()).collect();
        let exact = explicit_diagonal(n, &mut |v, out| {
            problem.hess_vec_batch(&x, &batch, v, out).unwrap()
        });
        let mut a = AdaHessian {
            row_average: false,
            work: Work {
                g: vec![0.0; n],
                z: vec![0.0; n],
                hz: vec![0.0; n],
            },
            ..AdaHessian::default()
        };
        let mut est = |seed| {
            a.hutchinson(&problem, &x, &batch, seed).unwrap();
            a.work.hz.clone()
        };
        let e: Vec<f64> = [100, 400, 1600]
            .iter()
            .map(|&k| rms_error(&mut est, &exact, k))
            .collect();
        for w in e.windows(2) {
            assert!((0.35..0.7).contains(&(w[1] / w[0])), "errors {e:?}");
        }
        assert!(e[2] < 0.1, "errors {e:?}");
    }

    #[test]
    fn delayed_hessian_and_weight_decay() {
        // T = 3: the estimate at t = 1, 4, 7 only; λ shrinks x.
        let data = Dataset::two_spirals(20, 0.0, 1).unwrap();
        let mlp = Mlp::new(&[2, 4, 2], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
        let problem = mlp.problem(&data).unwrap();
        let batch: Vec<usize> = (0..data.len()).collect();
        let x0 = mlp.init(Init::Glorot, 1);
        let run = |a: AdaHessian| {
            let mut a = a;
            let mut x = x0.clone();
            Method::<MlpProblem<'_>>::start(&mut a, &problem, &x).unwrap();
            let mut estimated = Vec::new();
            for it in 1..=7 {
                let mb = Minibatch {
                    iteration: it,
                    examples: &batch,
                    curvature: &batch,
                    seed: it,
                };
                let r = Method::<MlpProblem<'_>>::step(&mut a, &problem, &mut x, &mb).unwrap();
                if r.get("mean_diag").is_some() {
                    estimated.push(it);
                }
            }
            (x, estimated)
        };
        let (_, every) = run(AdaHessian::default());
        assert_eq!(every, (1..=7).collect::<Vec<_>>());
        let (_, delayed) = run(AdaHessian::default().with_hessian_period(3));
        assert_eq!(delayed, vec![1, 4, 7]);
        // λ's whole effect on the first step is x ← (1 − ηλ) x.
        let one = |a: AdaHessian| {
            let mut a = a;
            let mut x = x0.clone();
            Method::<MlpProblem<'_>>::start(&mut a, &problem, &x).unwrap();
            let mb = Minibatch {
                iteration: 1,
                examples: &batch,
                curvature: &batch,
                seed: 1,
            };
            Method::<MlpProblem<'_>>::step(&mut a, &problem, &mut x, &mb).unwrap();
            x
        };
        let plain = one(AdaHessian::default());
        let decayed = one(AdaHessian::default().with_weight_decay(0.5));
        for ((d, p), x) in decayed.iter().zip(&plain).zip(&x0) {
            assert!((d - (p - 0.15 * 0.5 * x)).abs() < 1e-14);
        }
        assert!(
            AdaHessian::default()
                .with_hessian_period(0)
                .validate()
                .is_err()
        );
        assert!(
            AdaHessian::default()
                .with_weight_decay(-1.0)
                .validate()
                .is_err()
        );
    }

    #[test]
    fn row_average_and_old_checkpoints() {
        // Each weight row becomes the mean of its |D|; biases stay.
        let mlp = Mlp::new(&[3, 2, 1], Activation::Tanh, Loss::MeanSquaredError).unwrap();
        let mut d: Vec<f64> = (0..mlp.num_params()).map(|i| i as f64 - 4.0).collect();
        let before = d.clone();
        row_average(&mlp, &mut d);
        for l in 0..2 {
            let (wr, (m, k)) = mlp.weights_range(l);
            for i in 0..m {
                let mean = (0..k)
                    .map(|j| before[wr.start + j * m + i].abs())
                    .sum::<f64>()
                    / k as f64;
                for j in 0..k {
                    assert_eq!(d[wr.start + j * m + i], mean);
                }
            }
            let b = mlp.bias_range(l);
            assert_eq!(d[b.clone()], before[b]);
        }
        // Checkpoints written before the option had no averaging.
        let mut json = serde_json::to_value(AdaHessian::default()).unwrap();
        assert!(
            json.as_object_mut()
                .unwrap()
                .remove("row_average")
                .is_some()
        );
        let old: AdaHessian = serde_json::from_value(json).unwrap();
        assert_eq!(old, AdaHessian::default().with_row_average(false));
    }
}
