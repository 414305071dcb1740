//! The [`Optimizer`] trait: one update rule `θ ← θ + Δθ(g)` of Goodfellow,
//! Bengio & Courville, *Deep Learning* (2016), ch. 8 (the seeds), given the
//! gradient `g` at the point the rule asks for.
//!
//! # Notation
//!
//! The textbook's names: `θ` the parameters (`params`), `g` the gradient
//! estimate, `ε` the learning rate (PyTorch's `lr`), `α` the momentum
//! coefficient, `ρ` a decay rate, `δ` the small stabilizing constant
//! (PyTorch's `eps`), `v` the velocity, `r` the accumulated squared gradient,
//! `s` Adam's first moment. Comments "GBC alg. 8.x" point into the book.
//!
//! # Where the gradient is evaluated
//!
//! Most rules use `g = ∇J(θ)`. Nesterov momentum (GBC alg. 8.3) and RMSProp
//! with Nesterov momentum (alg. 8.6) use the gradient at the interim point
//! `θ̃ = θ + αv`; a driver asks [`Optimizer::gradient_point`] where to evaluate
//! and passes that gradient to [`Optimizer::step`]. The parameters themselves
//! stay the textbook's `θ`, not PyTorch's reparametrized `θ + αv`.
//!
//! # State
//!
//! Every optimizer derives serde's `Serialize`/`Deserialize` with its options
//! and its state (`v`, `r`, `s`, `t`, ...), so a run checkpointed between two
//! steps resumes bit-identically. State vectors start empty and are sized to
//! `params.len()` (zeros, as the book initializes them) at the first step.

use crate::solver::Error;

/// A first-order update rule, stepped by the caller: compute the gradient at
/// [`gradient_point`](Optimizer::gradient_point), then call
/// [`step`](Optimizer::step).
///
/// ```
/// use hesse::first_order::{Momentum, Optimizer};
/// // f(θ) = θ²/2, ∇f = θ; two steps of v ← αv − εg, θ ← θ + v.
/// let mut opt = Momentum::new(0.1, 0.9);
/// let mut theta = [1.0];
/// let mut at = [0.0];
/// for _ in 0..2 {
///     opt.gradient_point(&theta, &mut at);
///     let g = [at[0]];
///     opt.step(&mut theta, &g);
/// }
/// // v₁ = −0.1, θ₁ = 0.9; v₂ = 0.9·(−0.1) − 0.1·0.9 = −0.18, θ₂ = 0.72.
/// assert!((theta[0] - 0.72).abs() < 1e-15);
/// ```
pub trait Optimizer {
    /// The rule's name as the command line spells it (`"adam"`).
    fn name(&self) -> &'static str;

    /// Checks the options: `ε > 0`, `α, ρ ∈ [0, 1)`, `δ > 0`, ... Drivers
    /// call it before the first step and return the error.
    fn validate(&self) -> Result<(), Error>;

    /// The current learning rate `ε` (a schedule sets it before each step).
    fn learning_rate(&self) -> f64;

    /// Sets the learning rate `ε` used by the following steps.
    fn set_learning_rate(&mut self, lr: f64);

    /// Writes into `at` the point where the next gradient is to be evaluated:
    /// `θ` itself (the default), or Nesterov's interim point `θ + αv`.
    fn gradient_point(&self, params: &[f64], at: &mut [f64]) {
        at.copy_from_slice(params);
    }

    /// Whether [`gradient_point`](Optimizer::gradient_point) can differ from
    /// `θ` (then a full-batch driver pays one more gradient for `∇J(θ)`).
    fn looks_ahead(&self) -> bool {
        false
    }

    /// One update `θ ← θ + Δθ` from the gradient `grad` evaluated at
    /// [`gradient_point`](Optimizer::gradient_point).
    ///
    /// # Panics
    /// If `grad.len() != params.len()`, or if `params` changes length between
    /// steps without a [`reset`](Optimizer::reset) (programming errors).
    fn step(&mut self, params: &mut [f64], grad: &[f64]);

    /// Forgets the state (velocity, accumulators, step count), keeping the
    /// options: the next step is a first step.
    fn reset(&mut self);
}

/// Sizes a state vector to `n` zeros at the first step.
pub(crate) fn ensure_len(v: &mut Vec<f64>, n: usize) {
    if v.is_empty() {
        v.resize(n, 0.0);
    }
    assert_eq!(
        v.len(),
        n,
        "optimizer state has {} entries, params has {n}: call reset() before changing the size",
        v.len()
    );
}

/// Checks `grad` and `params` have one length.
pub(crate) fn check_lens(params: &[f64], grad: &[f64]) {
    assert_eq!(
        params.len(),
        grad.len(),
        "params has {} entries, grad has {}",
        params.len(),
        grad.len()
    );
}

/// `ε` finite and `> 0`.
pub(crate) fn check_lr(lr: f64) -> Result<(), Error> {
    if lr.is_finite() && lr > 0.0 {
        Ok(())
    } else {
        Err(Error::invalid_option(
            "lr",
            lr,
            "the learning rate must be finite and > 0",
        ))
    }
}

/// A decay rate or momentum coefficient in `[0, 1)`.
pub(crate) fn check_unit(name: &'static str, v: f64) -> Result<(), Error> {
    if (0.0..1.0).contains(&v) {
        Ok(())
    } else {
        Err(Error::invalid_option(name, v, "must be in [0, 1)"))
    }
}

/// `δ` finite and `> 0`.
pub(crate) fn check_delta(v: f64) -> Result<(), Error> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(Error::invalid_option(
            "eps",
            v,
            "the stabilizing constant delta must be finite and > 0",
        ))
    }
}
