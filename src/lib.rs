//! # hesse
//!
//! Smooth numerical optimization centred on second-order methods.
//!
//! A problem implements the traits of [`problem`]: [`Objective`](problem::Objective)
//! (`f`), [`Gradient`](problem::Gradient) (`f` and `∇f` in one call),
//! [`Hessian`](problem::Hessian), [`HessVec`](problem::HessVec) or
//! [`Residuals`](problem::Residuals). A minimizer is a value with cited
//! defaults and `with_*` options; `minimize(&problem, x0)` runs it to the end and
//! returns a [`Report`](solver::Report) with the iterate, the reason it stopped
//! ([`Termination`](solver::Termination)) and exact evaluation counts.
//!
//! ```
//! use hesse::prelude::*;
//! use hesse::problems::Rosenbrock;
//!
//! let report = GradientDescent::default()
//!     .with_gtol(1e-6)
//!     .with_max_iter(100_000)
//!     .minimize(&Rosenbrock::new(2), &[-1.2, 1.0])
//!     .unwrap();
//! assert!(report.converged());
//! assert!((report.x[0] - 1.0).abs() < 1e-5);
//! ```
//!
//! Modules:
//! - [`problem`]: the traits users implement, closure adapters, evaluation counting;
//! - [`solver`]: the shared driver: stopping criteria, state, reports, checkpoints;
//! - [`linesearch`]: backtracking, Moré-Thuente, Hager-Zhang, initial steps;
//! - [`linalg`]: operators, dense factorizations (faer), CG, Steihaug-CG, Lanczos;
//! - [`quasi_newton`]: BFGS and L-BFGS;
//! - [`cg`]: nonlinear conjugate gradients (FR, PR, PR+, HS, DY, HZ);
//! - [`continuation`]: Gaussian-blur continuation around any minimizer;
//! - [`first_order`]: gradient descent; SGD, momentum, Nesterov, AdaGrad,
//!   RMSProp, Adam, AdaDelta, delta-bar-delta behind one `Optimizer` trait;
//! - [`newton`]: Newton with a modified-Cholesky Hessian, Levenberg-Marquardt
//!   (dense, and on a sparse Jacobian by sparse Cholesky);
//! - [`train`]: the one minibatch training driver (sampling, curvature
//!   sub-batches, held-out evaluation, early stopping, checkpoints) every
//!   training method runs through;
//! - [`nn`]: small neural networks as objectives, with exact curvature products;
//! - [`problems`]: test problems with known minima;
//! - [`report`]: run records, CSV, performance and data profiles, SVG plots.

#![warn(missing_docs)]

pub mod cg;
pub mod continuation;
pub mod diff;
pub mod expr;
pub mod first_order;
pub mod interop;
pub mod linalg;
pub mod linesearch;
pub mod natural;
pub mod newton;
pub mod nn;
pub mod problem;
pub mod problems;
pub mod quasi_newton;
pub mod report;
pub mod solver;
pub mod train;

/// The names most programs need.
pub mod prelude {
    pub use crate::cg::{Beta, NonlinearCg};
    pub use crate::first_order::GradientDescent;
    pub use crate::first_order::{
        AdaDelta, AdaGrad, Adam, FullBatch, Momentum, Nesterov, Optimizer, RmsProp,
        RmsPropNesterov, Schedule, Sgd,
    };
    pub use crate::linesearch::{Backtracking, HagerZhang, LineSearch, MoreThuente};
    pub use crate::natural::{HessianFree, NaturalGradient};
    pub use crate::newton::{LevenbergMarquardt, Newton, SparseLevenbergMarquardt};
    pub use crate::newton::{NewtonCg, SaddleFreeNewton};
    pub use crate::newton::{NewtonTrustRegion, Tron};
    pub use crate::nn::{Activation, Dataset, Init, Loss, Mlp};
    pub use crate::problem::GaussNewtonVec;
    pub use crate::problem::{
        FnGradient, FnObjective, FnResiduals, Gradient, HessVec, Hessian, LeastSquares, Objective,
        Residuals, SparseResiduals, SparsityPattern,
    };
    pub use crate::quasi_newton::{Bfgs, Lbfgs, LbfgsB};
    pub use crate::solver::{Bounds, Error, Report, Side, State, Stop, Termination};
    pub use crate::train::{Driver, FirstOrder};
}
