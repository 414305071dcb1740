//! AdaGrad: Duchi, Hazan & Singer (2011), as Goodfellow, Bengio & Courville
//! (2016), *Deep Learning*, alg. 8.4 writes it:
//!
//! `r ← r + g ⊙ g`, `Δθ = −ε / (δ + √r) ⊙ g`, `θ ← θ + Δθ`, `r₀ = 0`,
//! with `δ = 10⁻⁷` (the book's suggestion).
//!
//! The effective per-coordinate step `ε / (δ + √r)` only shrinks: the seeds
//! warn that the accumulation from the start of training "can result in a
//! premature and excessive decrease in the effective learning rate" (§8.5.1).
//!
//! # Differences from PyTorch's `torch.optim.Adagrad`
//!
//! - PyTorch's `eps` default is `1e-10`, the book's `δ` is `1e-7` (same
//!   place: added to `√r`, outside the root).
//! - PyTorch's `lr_decay` (ε / (1 + (t−1)·decay)) is a schedule here
//!   ([`Schedule::InverseTime`](super::Schedule::InverseTime)), and its
//!   `initial_accumulator_value` is always 0.

use serde::{Deserialize, Serialize};

use super::optimizer::{Optimizer, check_delta, check_lens, check_lr, ensure_len};
use crate::solver::Error;

/// AdaGrad, GBC alg. 8.4: `r ← r + g⊙g`, `θ ← θ − ε g / (δ + √r)`.
///
/// ```
/// use hesse::first_order::{AdaGrad, Optimizer};
/// let mut opt = AdaGrad::new(0.1);
/// let mut theta = [0.0];
/// opt.step(&mut theta, &[2.0]); // r = 4: Δθ = −0.1·2/(1e-7 + 2)
/// assert!((theta[0] + 0.1).abs() < 1e-7);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdaGrad {
    /// Global learning rate `ε`. Default `0.01` (the book gives none; PyTorch's).
    #[serde(with = "crate::solver::float_serde")]
    pub lr: f64,
    /// `δ`, added to `√r`. Default `10⁻⁷` (GBC alg. 8.4).
    #[serde(with = "crate::solver::float_serde")]
    pub delta: f64,
    /// Accumulated squared gradient `r`.
    #[serde(with = "crate::solver::float_serde::vec")]
    r: Vec<f64>,
}

impl Default for AdaGrad {
    fn default() -> Self {
        AdaGrad::new(0.01)
    }
}

impl AdaGrad {
    /// AdaGrad with learning rate `lr` and the book's `δ = 10⁻⁷`.
    pub fn new(lr: f64) -> Self {
        AdaGrad {
            lr,
            delta: 1e-7,
            r: Vec::new(),
        }
    }

    /// Sets `δ` (default `10⁻⁷`).
    #[must_use]
    pub fn with_delta(mut self, delta: f64) -> Self {
        self.delta = delta;
        self
    }

    /// The accumulator `r = Σ g ⊙ g` (empty before the first step).
    pub fn accumulator(&self) -> &[f64] {
        &self.r
    }

    /// The effective learning rate of each coordinate, `ε / (δ + √rᵢ)`, that
    /// the last step used (empty before the first step).
    pub fn effective_lr(&self) -> Vec<f64> {
        self.r
            .iter()
            .map(|r| self.lr / (self.delta + r.sqrt()))
            .collect()
    }
}

impl Optimizer for AdaGrad {
    fn name(&self) -> &'static str {
        "adagrad"
    }

    fn validate(&self) -> Result<(), Error> {
        check_lr(self.lr)?;
        check_delta(self.delta)
    }

    fn learning_rate(&self) -> f64 {
        self.lr
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.lr = lr;
    }

    fn step(&mut self, params: &mut [f64], grad: &[f64]) {
        check_lens(params, grad);
        ensure_len(&mut self.r, params.len());
        for ((theta, r), g) in params.iter_mut().zip(&mut self.r).zip(grad) {
            *r += g * g;
            *theta -= self.lr / (self.delta + r.sqrt()) * g;
        }
    }

    fn reset(&mut self) {
        self.r.clear();
    }
}
