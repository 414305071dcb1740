//! RMSProp (Hinton 2012, lecture 6e), alone and with Nesterov momentum, as
//! Goodfellow, Bengio & Courville (2016), *Deep Learning*, alg. 8.5 and 8.6
//! write them:
//!
//! - alg. 8.5: `r ← ρ r + (1 − ρ) g ⊙ g`, `Δθ = −ε / √(δ + r) ⊙ g`,
//!   `θ ← θ + Δθ`, `δ = 10⁻⁶` (inside the root, as the book has it);
//! - alg. 8.6: `θ̃ = θ + αv`, `g = ∇J(θ̃)`, `r ← ρ r + (1 − ρ) g ⊙ g`,
//!   `v ← αv − ε / √r ⊙ g`, `θ ← θ + v`.
//!
//! # Resolved ambiguities
//!
//! - The book gives no default for `ρ`; Hinton's lecture uses 0.9, which we
//!   take (PyTorch's `alpha` defaults to 0.99).
//! - Alg. 8.6 divides by `√r` with no `δ`: a coordinate whose gradient is
//!   exactly 0 at the first step divides 0 by 0. We put alg. 8.5's `δ` inside
//!   the root, `√(δ + r)`, which changes nothing else.
//!
//! # Differences from PyTorch's `torch.optim.RMSprop`
//!
//! - PyTorch adds `eps` (default `1e-8`) outside the root, `√r + eps`; the
//!   book adds `δ` (default `1e-6`) inside, `√(δ + r)`.
//! - PyTorch's `momentum` is classical (heavy-ball) momentum on the scaled
//!   gradient, evaluated at `θ`; there is no Nesterov variant and no
//!   interim point. Its `centered` option has no counterpart here.

use serde::{Deserialize, Serialize};

use super::optimizer::{Optimizer, check_delta, check_lens, check_lr, check_unit, ensure_len};
use super::sgd::interim_point;
use crate::solver::Error;

/// RMSProp, GBC alg. 8.5: `r ← ρr + (1−ρ) g⊙g`, `θ ← θ − ε g / √(δ + r)`.
///
/// ```
/// use hesse::first_order::{Optimizer, RmsProp};
/// let mut opt = RmsProp::new(0.01, 0.9);
/// let mut theta = [0.0];
/// opt.step(&mut theta, &[1.0]); // r = 0.1: Δθ = −0.01 / √(1e-6 + 0.1)
/// assert!((theta[0] + 0.01 / (0.1f64 + 1e-6).sqrt()).abs() < 1e-15);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RmsProp {
    /// Global learning rate `ε`. Default `0.001`.
    #[serde(with = "crate::solver::float_serde")]
    pub lr: f64,
    /// Decay rate `ρ ∈ [0, 1)`. Default `0.9` (Hinton 2012).
    #[serde(with = "crate::solver::float_serde")]
    pub rho: f64,
    /// `δ`, inside the root. Default `10⁻⁶` (GBC alg. 8.5).
    #[serde(with = "crate::solver::float_serde")]
    pub delta: f64,
    /// Running average of squared gradients `r`.
    #[serde(with = "crate::solver::float_serde::vec")]
    r: Vec<f64>,
}

impl Default for RmsProp {
    fn default() -> Self {
        RmsProp::new(0.001, 0.9)
    }
}

impl RmsProp {
    /// RMSProp with learning rate `lr`, decay `rho`, and `δ = 10⁻⁶`.
    pub fn new(lr: f64, rho: f64) -> Self {
        RmsProp {
            lr,
            rho,
            delta: 1e-6,
            r: Vec::new(),
        }
    }

    /// Sets `δ` (default `10⁻⁶`).
    #[must_use]
    pub fn with_delta(mut self, delta: f64) -> Self {
        self.delta = delta;
        self
    }
}

impl Optimizer for RmsProp {
    fn name(&self) -> &'static str {
        "rmsprop"
    }

    fn validate(&self) -> Result<(), Error> {
        check_lr(self.lr)?;
        check_unit("rho", self.rho)?;
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
            *r = self.rho * *r + (1.0 - self.rho) * g * g;
            *theta -= self.lr / (self.delta + *r).sqrt() * g;
        }
    }

    fn reset(&mut self) {
        self.r.clear();
    }
}

/// RMSProp with Nesterov momentum, GBC alg. 8.6: `g = ∇J(θ + αv)`,
/// `r ← ρr + (1−ρ) g⊙g`, `v ← αv − ε g / √(δ + r)`, `θ ← θ + v`.
///
/// ```
/// use hesse::first_order::{Optimizer, RmsPropNesterov};
/// let mut opt = RmsPropNesterov::new(0.01, 0.9, 0.5);
/// let mut theta = [0.0];
/// opt.step(&mut theta, &[1.0]);
/// let v1 = -0.01 / (0.1f64 + 1e-6).sqrt();
/// assert!((theta[0] - v1).abs() < 1e-15);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RmsPropNesterov {
    /// Global learning rate `ε`. Default `0.001`.
    #[serde(with = "crate::solver::float_serde")]
    pub lr: f64,
    /// Decay rate `ρ ∈ [0, 1)`. Default `0.9`.
    #[serde(with = "crate::solver::float_serde")]
    pub rho: f64,
    /// Momentum coefficient `α ∈ [0, 1)`. Default `0.9`.
    #[serde(with = "crate::solver::float_serde")]
    pub alpha: f64,
    /// `δ`, inside the root (not in the book's alg. 8.6; see the module
    /// docs). Default `10⁻⁶`.
    #[serde(with = "crate::solver::float_serde")]
    pub delta: f64,
    /// Running average of squared gradients `r`.
    #[serde(with = "crate::solver::float_serde::vec")]
    r: Vec<f64>,
    /// Velocity `v`.
    #[serde(with = "crate::solver::float_serde::vec")]
    v: Vec<f64>,
}

impl Default for RmsPropNesterov {
    fn default() -> Self {
        RmsPropNesterov::new(0.001, 0.9, 0.9)
    }
}

impl RmsPropNesterov {
    /// RMSProp with Nesterov momentum: learning rate `lr`, decay `rho`,
    /// momentum `alpha`, `δ = 10⁻⁶`.
    pub fn new(lr: f64, rho: f64, alpha: f64) -> Self {
        RmsPropNesterov {
            lr,
            rho,
            alpha,
            delta: 1e-6,
            r: Vec::new(),
            v: Vec::new(),
        }
    }

    /// Sets `δ` (default `10⁻⁶`).
    #[must_use]
    pub fn with_delta(mut self, delta: f64) -> Self {
        self.delta = delta;
        self
    }
}

impl Optimizer for RmsPropNesterov {
    fn name(&self) -> &'static str {
        "rmsprop-nesterov"
    }

    fn validate(&self) -> Result<(), Error> {
        check_lr(self.lr)?;
        check_unit("rho", self.rho)?;
        check_unit("momentum", self.alpha)?;
        check_delta(self.delta)
    }

    fn learning_rate(&self) -> f64 {
        self.lr
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.lr = lr;
    }

    fn gradient_point(&self, params: &[f64], at: &mut [f64]) {
        interim_point(params, &self.v, self.alpha, at);
    }

    fn looks_ahead(&self) -> bool {
        true
    }

    fn step(&mut self, params: &mut [f64], grad: &[f64]) {
        check_lens(params, grad);
        ensure_len(&mut self.r, params.len());
        ensure_len(&mut self.v, params.len());
        for (((theta, r), v), g) in params
            .iter_mut()
            .zip(&mut self.r)
            .zip(&mut self.v)
            .zip(grad)
        {
            *r = self.rho * *r + (1.0 - self.rho) * g * g;
            *v = self.alpha * *v - self.lr / (self.delta + *r).sqrt() * g;
            *theta += *v;
        }
    }

    fn reset(&mut self) {
        self.r.clear();
        self.v.clear();
    }
}
