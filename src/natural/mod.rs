//! Second-order training of networks: Fisher information and Hessian-free
//! optimization.
//!
//! - [`Fisher`]: products with the exact Fisher (= the generalized
//!   Gauss-Newton matrix for matching losses) and the empirical Fisher of an
//!   [`MlpProblem`](crate::nn::MlpProblem), matrix-free on whole batches, and
//!   their dense matrices for tiny networks ([`fisher`]).
//! - [`NaturalGradient`]: Amari 1998, damped matrix-free Fisher solves
//!   ([`natural_gradient`]).
//! - [`HessianFree`]: Martens, "Deep learning via Hessian-free optimization",
//!   ICML 2010 ([`hessian_free`]).
//! - [`Kfac`]: Martens & Grosse, "Optimizing neural networks with
//!   Kronecker-factored approximate curvature", ICML 2015 ([`kfac`]).
//! - [`statistics`]: the curvature statistics these methods take from a
//!   network (K-FAC's factors, Hessian-free's preconditioner, Gauss-Newton
//!   Gram matrices), computed from its per-layer hook
//!   ([`LayerPass`](crate::nn::LayerPass)).
//!
//! The three minibatch methods are steps on the one training driver
//! ([`crate::train::Driver`]); their damping follows one rule,
//! [`lm_damping`].

pub mod fisher;
pub mod hessian_free;
pub mod kfac;
pub mod natural_gradient;
pub mod statistics;

pub use fisher::{Fisher, FisherKind};
#[allow(deprecated)]
pub use hessian_free::HfStep;
pub use hessian_free::{HessianFree, HfRun, HfTrace, HfTraining};
#[allow(deprecated)]
pub use kfac::KfacStep;
pub use kfac::{GammaSearch, Kfac, KfacEstimator, KfacTrace, KfacTraining};
pub use natural_gradient::{NaturalGradient, NgSolve};

/// The Levenberg-Marquardt rule on the reduction ratio `ρ` (Moré 1978;
/// Martens 2010 §4.1; Martens & Grosse 2015 §6.5), the one damping rule of
/// Hessian-free, natural gradient and K-FAC: `λ ← grow · λ` if `ρ < ¼` (or
/// `ρ` is not a number: the model or the step failed), `λ ← shrink · λ` if
/// `ρ > ¾`, else unchanged. Hessian-free and natural gradient use
/// `(shrink, grow) = (2/3, 3/2)`, K-FAC `(ω₁, 1/ω₁)`.
///
/// ```
/// use hesse::natural::lm_damping;
/// assert_eq!(lm_damping(1.0, 0.9, 0.5, 2.0), 0.5);
/// assert_eq!(lm_damping(1.0, 0.1, 0.5, 2.0), 2.0);
/// assert_eq!(lm_damping(1.0, f64::NAN, 0.5, 2.0), 2.0);
/// assert_eq!(lm_damping(1.0, 0.5, 0.5, 2.0), 1.0);
/// ```
pub fn lm_damping(lambda: f64, rho: f64, shrink: f64, grow: f64) -> f64 {
    if rho.is_nan() || rho < 0.25 {
        lambda * grow
    } else if rho > 0.75 {
        lambda * shrink
    } else {
        lambda
    }
}
