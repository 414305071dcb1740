//! AdaDelta: Zeiler (2012), "ADADELTA: an adaptive learning rate method",
//! alg. 1, which the seeds list among the adaptive methods:
//!
//! `E[g²] ← ρ E[g²] + (1 − ρ) g²`,
//! `Δθ = −(RMS[Δθ]_{t−1} / RMS[g]_t) g` with `RMS[y] = √(E[y²] + ε)`,
//! `E[Δθ²] ← ρ E[Δθ²] + (1 − ρ) Δθ²`, `θ ← θ + Δθ`,
//! both accumulators starting at 0, with Zeiler's `ρ = 0.95`, `ε = 10⁻⁶`
//! (his §4 settings).
//!
//! Zeiler's rule has no learning rate: the ratio of RMS values carries the
//! units of `θ`. [`AdaDelta::lr`] is a multiplier on `Δθ` as applied to `θ`
//! (PyTorch's `lr`), default 1, which is Zeiler's rule; `E[Δθ²]` accumulates
//! the unscaled `Δθ`, as PyTorch does.
//!
//! # Differences from PyTorch's `torch.optim.Adadelta`
//!
//! - PyTorch's `rho` defaults to 0.9; Zeiler's to 0.95. `eps` is the same
//!   `1e-6` in the same places.

use serde::{Deserialize, Serialize};

use super::optimizer::{Optimizer, check_delta, check_lens, check_lr, check_unit, ensure_len};
use crate::solver::Error;

/// AdaDelta, Zeiler (2012) alg. 1: `Δθ = −√(E[Δθ²] + ε) / √(E[g²] + ε) · g`.
///
/// ```
/// use hesse::first_order::{AdaDelta, Optimizer};
/// let mut opt = AdaDelta::default();
/// let mut theta = [0.0];
/// opt.step(&mut theta, &[1.0]);
/// // E[g²] = 0.05: Δθ = −√1e-6 / √(0.05 + 1e-6)
/// assert!((theta[0] + (1e-6f64).sqrt() / (0.05f64 + 1e-6).sqrt()).abs() < 1e-15);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdaDelta {
    /// Multiplier on the step as applied (PyTorch's `lr`). Default `1`
    /// (Zeiler's rule has none).
    #[serde(with = "crate::solver::float_serde")]
    pub lr: f64,
    /// Decay rate `ρ ∈ [0, 1)`. Default `0.95` (Zeiler 2012, §4).
    #[serde(with = "crate::solver::float_serde")]
    pub rho: f64,
    /// `ε` inside both RMS roots. Default `10⁻⁶` (Zeiler 2012, §4).
    #[serde(with = "crate::solver::float_serde")]
    pub eps: f64,
    /// `E[g²]`.
    #[serde(with = "crate::solver::float_serde::vec")]
    eg2: Vec<f64>,
    /// `E[Δθ²]`.
    #[serde(with = "crate::solver::float_serde::vec")]
    edx2: Vec<f64>,
}

impl Default for AdaDelta {
    fn default() -> Self {
        AdaDelta::new(0.95)
    }
}

impl AdaDelta {
    /// AdaDelta with decay `rho`, `ε = 10⁻⁶` and no extra multiplier.
    pub fn new(rho: f64) -> Self {
        AdaDelta {
            lr: 1.0,
            rho,
            eps: 1e-6,
            eg2: Vec::new(),
            edx2: Vec::new(),
        }
    }

    /// Sets `ε` (default `10⁻⁶`).
    #[must_use]
    pub fn with_eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// Sets the step multiplier (default 1).
    #[must_use]
    pub fn with_lr(mut self, lr: f64) -> Self {
        self.lr = lr;
        self
    }
}

impl Optimizer for AdaDelta {
    fn name(&self) -> &'static str {
        "adadelta"
    }

    fn validate(&self) -> Result<(), Error> {
        check_lr(self.lr)?;
        check_unit("rho", self.rho)?;
        check_delta(self.eps)
    }

    fn learning_rate(&self) -> f64 {
        self.lr
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.lr = lr;
    }

    fn step(&mut self, params: &mut [f64], grad: &[f64]) {
        check_lens(params, grad);
        ensure_len(&mut self.eg2, params.len());
        ensure_len(&mut self.edx2, params.len());
        for (((theta, eg2), edx2), g) in params
            .iter_mut()
            .zip(&mut self.eg2)
            .zip(&mut self.edx2)
            .zip(grad)
        {
            *eg2 = self.rho * *eg2 + (1.0 - self.rho) * g * g;
            // RMS[Δθ]/RMS[g] = √((E[Δθ²] + ε)/(E[g²] + ε)): one root, not two.
            let dx = -((*edx2 + self.eps) / (*eg2 + self.eps)).sqrt() * g;
            *edx2 = self.rho * *edx2 + (1.0 - self.rho) * dx * dx;
            *theta += self.lr * dx;
        }
    }

    fn reset(&mut self) {
        self.eg2.clear();
        self.edx2.clear();
    }
}
