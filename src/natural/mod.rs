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

pub mod fisher;
pub mod hessian_free;
pub mod kfac;
pub mod natural_gradient;
pub mod statistics;

pub use fisher::{Fisher, FisherKind};
pub use hessian_free::{HessianFree, HfRun, HfStep, HfTrace, HfTraining};
pub use kfac::{GammaSearch, Kfac, KfacEstimator, KfacStep, KfacTrace, KfacTraining};
pub use natural_gradient::{NaturalGradient, NgSolve};
