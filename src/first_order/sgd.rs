//! Stochastic gradient descent, with classical and with Nesterov momentum.
//!
//! Goodfellow, Bengio & Courville (2016), *Deep Learning*, §8.3.1-8.3.3:
//! - SGD, alg. 8.1: `θ ← θ − ε g`;
//! - momentum (Polyak 1964), alg. 8.2: `v ← αv − ε g`, `θ ← θ + v`;
//! - Nesterov momentum (Sutskever et al. 2013), alg. 8.3: the same with `g`
//!   evaluated at the interim point `θ̃ = θ + αv`.
//!
//! The velocity starts at `v = 0`. The book gives no default for `ε`; for
//! `α` it names 0.5, 0.9 and 0.99 as common values: we take 0.9.
//!
//! # Differences from PyTorch's `torch.optim.SGD`
//!
//! - PyTorch keeps a buffer `b ← μ b + g` and steps `θ ← θ − lr·b`. With a
//!   constant learning rate `v = −lr·b` and the iterates are the same; under
//!   a schedule they differ: the book's `v` keeps the old `ε` in its history,
//!   PyTorch rescales the whole history by the new `lr`.
//! - PyTorch's `nesterov=True` stores the look-ahead point `θ + αv` as the
//!   parameters (Sutskever's reparametrization) and evaluates the gradient
//!   there; here `θ` is the book's and the gradient is asked for at
//!   [`gradient_point`](Optimizer::gradient_point).
//! - No `dampening` or `weight_decay` (add `λθ` to the objective instead).

use serde::{Deserialize, Serialize};

use super::optimizer::{Optimizer, check_lens, check_lr, check_unit, ensure_len};
use crate::solver::Error;

/// SGD, GBC alg. 8.1: `θ ← θ − ε g`.
///
/// ```
/// use hesse::first_order::{Optimizer, Sgd};
/// let mut sgd = Sgd::new(0.1);
/// let mut theta = [1.0, -2.0];
/// sgd.step(&mut theta, &[10.0, -10.0]);
/// assert_eq!(theta, [0.0, -1.0]);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sgd {
    /// Learning rate `ε`. Default `0.01` (the book gives none; PyTorch's
    /// tutorials' value).
    #[serde(with = "crate::solver::float_serde")]
    pub lr: f64,
}

impl Default for Sgd {
    fn default() -> Self {
        Sgd { lr: 0.01 }
    }
}

impl Sgd {
    /// SGD with learning rate `lr`.
    pub fn new(lr: f64) -> Self {
        Sgd { lr }
    }
}

impl Optimizer for Sgd {
    fn name(&self) -> &'static str {
        "sgd"
    }

    fn validate(&self) -> Result<(), Error> {
        check_lr(self.lr)
    }

    fn learning_rate(&self) -> f64 {
        self.lr
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.lr = lr;
    }

    fn step(&mut self, params: &mut [f64], grad: &[f64]) {
        check_lens(params, grad);
        for (theta, g) in params.iter_mut().zip(grad) {
            *theta -= self.lr * g;
        }
    }

    fn reset(&mut self) {}
}

/// SGD with momentum, GBC alg. 8.2: `v ← αv − ε g`, `θ ← θ + v`, `v₀ = 0`.
///
/// ```
/// use hesse::first_order::{Momentum, Optimizer};
/// let mut opt = Momentum::new(0.5, 0.5);
/// let mut theta = [0.0];
/// opt.step(&mut theta, &[1.0]); // v = −0.5
/// opt.step(&mut theta, &[1.0]); // v = −0.25 − 0.5
/// assert_eq!(theta, [-1.25]);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Momentum {
    /// Learning rate `ε`. Default `0.01`.
    #[serde(with = "crate::solver::float_serde")]
    pub lr: f64,
    /// Momentum coefficient `α ∈ [0, 1)`. Default `0.9` (GBC §8.3.2).
    #[serde(with = "crate::solver::float_serde")]
    pub alpha: f64,
    /// Velocity `v`.
    #[serde(with = "crate::solver::float_serde::vec")]
    v: Vec<f64>,
}

impl Default for Momentum {
    fn default() -> Self {
        Momentum::new(0.01, 0.9)
    }
}

impl Momentum {
    /// Momentum with learning rate `lr` and coefficient `alpha`.
    pub fn new(lr: f64, alpha: f64) -> Self {
        Momentum {
            lr,
            alpha,
            v: Vec::new(),
        }
    }

    /// The velocity `v` (empty before the first step).
    pub fn velocity(&self) -> &[f64] {
        &self.v
    }
}

impl Optimizer for Momentum {
    fn name(&self) -> &'static str {
        "momentum"
    }

    fn validate(&self) -> Result<(), Error> {
        check_lr(self.lr)?;
        check_unit("momentum", self.alpha)
    }

    fn learning_rate(&self) -> f64 {
        self.lr
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.lr = lr;
    }

    fn step(&mut self, params: &mut [f64], grad: &[f64]) {
        check_lens(params, grad);
        ensure_len(&mut self.v, params.len());
        for ((theta, v), g) in params.iter_mut().zip(&mut self.v).zip(grad) {
            *v = self.alpha * *v - self.lr * g;
            *theta += *v;
        }
    }

    fn reset(&mut self) {
        self.v.clear();
    }
}

/// Nesterov momentum, GBC alg. 8.3: `g = ∇J(θ + αv)`, `v ← αv − ε g`,
/// `θ ← θ + v`, `v₀ = 0`.
///
/// ```
/// use hesse::first_order::{Nesterov, Optimizer};
/// // f(θ) = θ²/2: the gradient at the interim point is the point itself.
/// let mut opt = Nesterov::new(0.5, 0.5);
/// let (mut theta, mut at) = ([1.0], [0.0]);
/// for _ in 0..2 {
///     opt.gradient_point(&theta, &mut at);
///     let g = at;
///     opt.step(&mut theta, &g);
/// }
/// // v₁ = −0.5, θ₁ = 0.5; θ̃ = 0.25, v₂ = −0.25 − 0.125, θ₂ = 0.125.
/// assert_eq!(theta, [0.125]);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Nesterov {
    /// Learning rate `ε`. Default `0.01`.
    #[serde(with = "crate::solver::float_serde")]
    pub lr: f64,
    /// Momentum coefficient `α ∈ [0, 1)`. Default `0.9`.
    #[serde(with = "crate::solver::float_serde")]
    pub alpha: f64,
    /// Velocity `v`.
    #[serde(with = "crate::solver::float_serde::vec")]
    v: Vec<f64>,
}

impl Default for Nesterov {
    fn default() -> Self {
        Nesterov::new(0.01, 0.9)
    }
}

impl Nesterov {
    /// Nesterov momentum with learning rate `lr` and coefficient `alpha`.
    pub fn new(lr: f64, alpha: f64) -> Self {
        Nesterov {
            lr,
            alpha,
            v: Vec::new(),
        }
    }

    /// The velocity `v` (empty before the first step).
    pub fn velocity(&self) -> &[f64] {
        &self.v
    }
}

impl Optimizer for Nesterov {
    fn name(&self) -> &'static str {
        "nesterov"
    }

    fn validate(&self) -> Result<(), Error> {
        check_lr(self.lr)?;
        check_unit("momentum", self.alpha)
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
        ensure_len(&mut self.v, params.len());
        for ((theta, v), g) in params.iter_mut().zip(&mut self.v).zip(grad) {
            *v = self.alpha * *v - self.lr * g;
            *theta += *v;
        }
    }

    fn reset(&mut self) {
        self.v.clear();
    }
}

/// `θ̃ = θ + αv` (GBC alg. 8.3, 8.6); `θ` while `v` is still empty.
pub(crate) fn interim_point(params: &[f64], v: &[f64], alpha: f64, at: &mut [f64]) {
    if v.is_empty() {
        at.copy_from_slice(params);
    } else {
        for ((a, theta), v) in at.iter_mut().zip(params).zip(v) {
            *a = theta + alpha * v;
        }
    }
}
