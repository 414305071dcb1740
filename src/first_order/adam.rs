//! Adam: Kingma & Ba (2015), as Goodfellow, Bengio & Courville (2016),
//! *Deep Learning*, alg. 8.7 writes it:
//!
//! `t ← t + 1`, `s ← ρ₁ s + (1 − ρ₁) g`, `r ← ρ₂ r + (1 − ρ₂) g ⊙ g`,
//! `ŝ = s / (1 − ρ₁ᵗ)`, `r̂ = r / (1 − ρ₂ᵗ)`, `Δθ = −ε ŝ / (√r̂ + δ)`,
//! `θ ← θ + Δθ`, with the book's defaults `ε = 0.001`, `ρ₁ = 0.9`,
//! `ρ₂ = 0.999`, `δ = 10⁻⁸`.
//!
//! One OCR of the seeds prints `√(r̂ + δ)`; the book (and Kingma & Ba,
//! alg. 1) has `√r̂ + δ`, which we follow.
//!
//! # Differences from PyTorch's `torch.optim.Adam`
//!
//! The same formula and defaults (`lr`, `betas = (ρ₁, ρ₂)`, `eps = δ`).
//! PyTorch evaluates it as `θ − (lr / (1 − ρ₁ᵗ)) · s / (√r / √(1 − ρ₂ᵗ) + eps)`,
//! which rounds differently in the last bits. No `amsgrad`, no `weight_decay`.

use serde::{Deserialize, Serialize};

use super::optimizer::{Optimizer, check_delta, check_lens, check_lr, check_unit, ensure_len};
use crate::solver::Error;

/// Adam, GBC alg. 8.7, with bias-corrected moments.
///
/// ```
/// use hesse::first_order::{Adam, Optimizer};
/// // The first step is ε·sign(g) up to δ: ŝ = g, r̂ = g².
/// let mut opt = Adam::default();
/// let mut theta = [1.0, 1.0];
/// opt.step(&mut theta, &[3.0, -0.5]);
/// assert!((theta[0] - 0.999).abs() < 1e-10 && (theta[1] - 1.001).abs() < 1e-10);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Adam {
    /// Step size `ε`. Default `0.001` (GBC alg. 8.7).
    #[serde(with = "crate::solver::float_serde")]
    pub lr: f64,
    /// Decay rate `ρ₁` of the first moment. Default `0.9`.
    #[serde(with = "crate::solver::float_serde")]
    pub rho1: f64,
    /// Decay rate `ρ₂` of the second moment. Default `0.999`.
    #[serde(with = "crate::solver::float_serde")]
    pub rho2: f64,
    /// `δ`, added to `√r̂`. Default `10⁻⁸`.
    #[serde(with = "crate::solver::float_serde")]
    pub delta: f64,
    /// Time step `t` (steps taken).
    t: u64,
    /// Biased first moment `s`.
    #[serde(with = "crate::solver::float_serde::vec")]
    s: Vec<f64>,
    /// Biased second moment `r`.
    #[serde(with = "crate::solver::float_serde::vec")]
    r: Vec<f64>,
}

impl Default for Adam {
    fn default() -> Self {
        Adam::new(0.001)
    }
}

impl Adam {
    /// Adam with step size `lr` and the book's other defaults.
    pub fn new(lr: f64) -> Self {
        Adam {
            lr,
            rho1: 0.9,
            rho2: 0.999,
            delta: 1e-8,
            t: 0,
            s: Vec::new(),
            r: Vec::new(),
        }
    }

    /// Sets the moment decay rates `ρ₁`, `ρ₂` (PyTorch's `betas`).
    #[must_use]
    pub fn with_rhos(mut self, rho1: f64, rho2: f64) -> Self {
        self.rho1 = rho1;
        self.rho2 = rho2;
        self
    }

    /// Sets `δ` (default `10⁻⁸`).
    #[must_use]
    pub fn with_delta(mut self, delta: f64) -> Self {
        self.delta = delta;
        self
    }

    /// Steps taken, `t`.
    pub fn time_step(&self) -> u64 {
        self.t
    }
}

impl Optimizer for Adam {
    fn name(&self) -> &'static str {
        "adam"
    }

    fn validate(&self) -> Result<(), Error> {
        check_lr(self.lr)?;
        check_unit("beta1", self.rho1)?;
        check_unit("beta2", self.rho2)?;
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
        ensure_len(&mut self.s, params.len());
        ensure_len(&mut self.r, params.len());
        self.t += 1;
        let t = i32::try_from(self.t).unwrap_or(i32::MAX);
        // ŝ = s/(1 − ρ₁ᵗ), r̂ = r/(1 − ρ₂ᵗ) as multiplications by the
        // reciprocals: one division per coordinate instead of three (the
        // bench `first_order`: median 892 -> 440 us per step at n = 10⁵,
        // 20x -> 8x the SGD step measured in the same run).
        let inv_bias1 = 1.0 / (1.0 - self.rho1.powi(t));
        let inv_bias2 = 1.0 / (1.0 - self.rho2.powi(t));
        for (((theta, s), r), g) in params
            .iter_mut()
            .zip(&mut self.s)
            .zip(&mut self.r)
            .zip(grad)
        {
            *s = self.rho1 * *s + (1.0 - self.rho1) * g;
            *r = self.rho2 * *r + (1.0 - self.rho2) * g * g;
            let s_hat = *s * inv_bias1;
            let r_hat = *r * inv_bias2;
            *theta -= self.lr * s_hat / (r_hat.sqrt() + self.delta);
        }
    }

    fn reset(&mut self) {
        self.t = 0;
        self.s.clear();
        self.r.clear();
    }
}
