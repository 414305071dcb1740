//! Newton-type methods: second-order models solved by dense linear algebra.
//!
//! - [`Newton`]: dense Hessian, modified Cholesky (N&W Alg. 3.3) and an Armijo
//!   backtracking line search (N&W Alg. 3.2); or, with [`Damping::Regularized`],
//!   the Hessian regularized as `H + μI` with `μ` adapted from actual/predicted reduction.
//! - [`LevenbergMarquardt`]: nonlinear least squares, Moré (1978) as MINPACK's `lmder`,
//!   with [`fit_statistics`] for standard errors at the solution, robust losses
//!   ([`RobustLoss`], scipy's `loss`/`f_scale`) and bounds; [`FitProblem`] is
//!   a model expression fitted to data (`hesse fit`'s residuals).
//! - [`NewtonCg`]: truncated Newton on Hessian-vector products (N&W Alg. 7.1),
//!   line-search or Steihaug trust-region variant.
//! - [`Tron`]: trust-region Newton on a box `l ≤ x ≤ u` (Lin & Moré 1999), on
//!   Hessian-vector products: projected Cauchy search, then Steihaug-CG on
//!   the faces of the box with projected searches.
//! - [`SaddleFreeNewton`]: the step `−(|H| + δI)⁻¹ g` (Dauphin et al. 2014), from the
//!   dense eigen-decomposition or a Lanczos Krylov subspace.
//! - [`NewtonTrustRegion`]: dense Hessian in a trust region, the subproblem
//!   solved exactly by [`MoreSorensen`] (Moré & Sorensen 1983), hard case included.

mod dense;
pub mod levenberg_marquardt;
mod newton_cg;
pub mod robust_loss;
mod saddle_free;
mod tron;
mod trust_region;

pub use dense::{Damping, Newton};
pub use levenberg_marquardt::{
    ExtendedResiduals, Fit, FitProblem, FitStatistics, LevenbergMarquardt,
    MatrixFreeLevenbergMarquardt, Scaling, SparseLevenbergMarquardt, fit_statistics,
    fit_statistics_with_loss,
};
pub use newton_cg::{Globalization, NewtonCg};
pub use robust_loss::RobustLoss;
pub use saddle_free::{DenseEigen, KrylovSubspace, SaddleFreeNewton};
pub use tron::Tron;
pub use trust_region::{MoreSorensen, NewtonTrustRegion, StepKind, SubproblemInfo};

/// The trust-region reduction ratio `ρ = (f − f₊) / pred` of a trial step
/// with predicted reduction `pred`: `−∞` when the trial value or gradient is
/// not finite or `pred` is not positive (the step is rejected and the region
/// shrinks), and 1 when actual and predicted reductions agree to rounding
/// (`|ared − pred| ≤ 10 ε |f|`), so that steps near the solution, where both
/// are at the rounding level of `f`, are not rejected for noise.
pub(crate) fn reduction_ratio(f: f64, f_trial: f64, g_trial: &[f64], pred: f64) -> f64 {
    let ared = f - f_trial;
    let finite = f_trial.is_finite() && g_trial.iter().all(|v| v.is_finite());
    if !finite || pred.is_nan() || pred <= 0.0 {
        f64::NEG_INFINITY
    } else if (ared - pred).abs() <= 10.0 * f64::EPSILON * f.abs() {
        1.0
    } else {
        ared / pred
    }
}
