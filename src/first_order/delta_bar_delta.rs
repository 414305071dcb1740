//! Delta-bar-delta: Jacobs (1988), "Increased rates of convergence through
//! learning rate adaptation", *Neural Networks* 1(4), eqs. (4)-(6); the seeds
//! cite it (GBC §8.5) as the early rule "if the partial derivative keeps its
//! sign, increase the learning rate; if it changes sign, decrease it".
//!
//! Each parameter `i` has its own rate `εᵢ` (all start at `ε₀`). With
//! `gᵢ(t)` the partial derivative at step `t` and `ḡᵢ` its exponential
//! average ("delta-bar"):
//!
//! - `Δεᵢ = κ` if `ḡᵢ(t−1) gᵢ(t) > 0`, `−φ εᵢ` if `ḡᵢ(t−1) gᵢ(t) < 0`,
//!   `0` otherwise (additive increase, multiplicative decrease, eq. 4);
//! - `θᵢ ← θᵢ − εᵢ(t+1) gᵢ(t)`, using the updated rate (eq. 5 with 4);
//! - `ḡᵢ(t) = (1 − ξ) gᵢ(t) + ξ ḡᵢ(t−1)`, `ḡᵢ(0) = 0` (eq. 6; Jacobs calls
//!   the weight `θ`, renamed `ξ` here because `θ` is the parameters).
//!
//! **Full batch only**: the sign test compares true gradients; minibatch noise
//! flips signs at random and drives every rate down (Jacobs' experiments are
//! batch, as the seeds note).
//!
//! Jacobs tunes `κ`, `φ`, `ξ` per problem and gives no defaults; ours,
//! `ε₀ = 0.01`, `κ = 0.001` (a tenth of `ε₀`), `φ = 0.1`, `ξ = 0.7`, are a
//! starting point, not a citation. PyTorch has no delta-bar-delta.

use serde::{Deserialize, Serialize};

use super::optimizer::{Optimizer, check_lens, check_lr, check_unit, ensure_len};
use crate::solver::Error;

/// Delta-bar-delta (Jacobs 1988): per-parameter rates, increased by `κ`
/// while the gradient keeps its sign, cut by the factor `1 − φ` when it flips.
///
/// ```
/// use hesse::first_order::{DeltaBarDelta, Optimizer};
/// let mut opt = DeltaBarDelta::new(0.1).with_kappa(0.05);
/// let mut theta = [0.0];
/// opt.step(&mut theta, &[1.0]); // ḡ(0) = 0: the rate stays 0.1
/// opt.step(&mut theta, &[1.0]); // same sign: rate 0.15
/// assert!((theta[0] + 0.25).abs() < 1e-15);
/// assert!((opt.rates()[0] - 0.15).abs() < 1e-15);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeltaBarDelta {
    /// Initial rate `ε₀` of every parameter. Default `0.01`.
    #[serde(with = "crate::solver::float_serde")]
    pub lr: f64,
    /// Additive increase `κ > 0`. Default `0.001`.
    #[serde(with = "crate::solver::float_serde")]
    pub kappa: f64,
    /// Multiplicative decrease `φ ∈ [0, 1)`. Default `0.1`.
    #[serde(with = "crate::solver::float_serde")]
    pub phi: f64,
    /// Averaging weight `ξ ∈ [0, 1)` of delta-bar (Jacobs' `θ`). Default `0.7`.
    #[serde(with = "crate::solver::float_serde")]
    pub xi: f64,
    /// Per-parameter rates `εᵢ`.
    #[serde(with = "crate::solver::float_serde::vec")]
    rates: Vec<f64>,
    /// Delta-bar `ḡ`.
    #[serde(with = "crate::solver::float_serde::vec")]
    g_bar: Vec<f64>,
}

impl Default for DeltaBarDelta {
    fn default() -> Self {
        DeltaBarDelta::new(0.01)
    }
}

impl DeltaBarDelta {
    /// Delta-bar-delta from rate `lr`, `κ = 0.001`, `φ = 0.1`, `ξ = 0.7`.
    pub fn new(lr: f64) -> Self {
        DeltaBarDelta {
            lr,
            kappa: 1e-3,
            phi: 0.1,
            xi: 0.7,
            rates: Vec::new(),
            g_bar: Vec::new(),
        }
    }

    /// Sets the additive increase `κ`.
    #[must_use]
    pub fn with_kappa(mut self, kappa: f64) -> Self {
        self.kappa = kappa;
        self
    }

    /// Sets the multiplicative decrease `φ`.
    #[must_use]
    pub fn with_phi(mut self, phi: f64) -> Self {
        self.phi = phi;
        self
    }

    /// Sets the averaging weight `ξ`.
    #[must_use]
    pub fn with_xi(mut self, xi: f64) -> Self {
        self.xi = xi;
        self
    }

    /// The per-parameter rates `εᵢ` (empty before the first step).
    pub fn rates(&self) -> &[f64] {
        &self.rates
    }
}

impl Optimizer for DeltaBarDelta {
    fn name(&self) -> &'static str {
        "delta-bar-delta"
    }

    fn validate(&self) -> Result<(), Error> {
        check_lr(self.lr)?;
        if !(self.kappa.is_finite() && self.kappa >= 0.0) {
            return Err(Error::invalid_option(
                "kappa",
                self.kappa,
                "must be finite and >= 0",
            ));
        }
        check_unit("phi", self.phi)?;
        check_unit("xi", self.xi)
    }

    /// The initial rate `ε₀`.
    fn learning_rate(&self) -> f64 {
        self.lr
    }

    /// Sets the initial rate `ε₀`; after the first step the rates adapt
    /// themselves and this has no effect until [`reset`](Optimizer::reset).
    fn set_learning_rate(&mut self, lr: f64) {
        self.lr = lr;
    }

    fn step(&mut self, params: &mut [f64], grad: &[f64]) {
        check_lens(params, grad);
        if self.rates.is_empty() {
            self.rates = vec![self.lr; params.len()];
        }
        ensure_len(&mut self.rates, params.len());
        ensure_len(&mut self.g_bar, params.len());
        for (((theta, eps), g_bar), g) in params
            .iter_mut()
            .zip(&mut self.rates)
            .zip(&mut self.g_bar)
            .zip(grad)
        {
            let sign = *g_bar * g;
            if sign > 0.0 {
                *eps += self.kappa;
            } else if sign < 0.0 {
                *eps -= self.phi * *eps;
            }
            *theta -= *eps * g;
            *g_bar = (1.0 - self.xi) * g + self.xi * *g_bar;
        }
    }

    fn reset(&mut self) {
        self.rates.clear();
        self.g_bar.clear();
    }
}
