//! Newton-type methods: second-order models solved by dense linear algebra.
//!
//! - [`Newton`]: dense Hessian, modified Cholesky (N&W Alg. 3.3) and an Armijo
//!   backtracking line search (N&W Alg. 3.2); or, with [`Damping::Regularized`],
//!   the Hessian regularized as `H + μI` with `μ` adapted from actual/predicted reduction.
//! - [`LevenbergMarquardt`]: nonlinear least squares, Moré (1978) as MINPACK's `lmder`,
//!   with [`fit_statistics`] for standard errors at the solution.
//! - [`NewtonCg`]: truncated Newton on Hessian-vector products (N&W Alg. 7.1),
//!   line-search or Steihaug trust-region variant.
//! - [`SaddleFreeNewton`]: the step `−(|H| + δI)⁻¹ g` (Dauphin et al. 2014), from the
//!   dense eigen-decomposition or a Lanczos Krylov subspace.
//! - [`NewtonTrustRegion`]: dense Hessian in a trust region, the subproblem
//!   solved exactly by [`MoreSorensen`] (Moré & Sorensen 1983), hard case included.

mod dense;
pub mod levenberg_marquardt;
mod newton_cg;
mod saddle_free;
mod trust_region;

pub use dense::{Damping, Newton};
pub use levenberg_marquardt::{Fit, FitStatistics, LevenbergMarquardt, Scaling, fit_statistics};
pub use newton_cg::{Globalization, NewtonCg};
pub use saddle_free::{DenseEigen, KrylovSubspace, SaddleFreeNewton};
pub use trust_region::{MoreSorensen, NewtonTrustRegion, StepKind, SubproblemInfo};
