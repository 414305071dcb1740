//! Test problems with known minima.
//!
//! - [`Rosenbrock`], [`ExtendedRosenbrock`]: the banana valley, any `n`.
//! - [`mgh`]: the 35 problems of Moré, Garbow & Hillstrom (1981), each written
//!   once as residuals over [`Real`](crate::diff::Real) and exposed both as
//!   [`Residuals`](crate::problem::Residuals) and as the scalar objective
//!   `f = Σ rᵢ²` with exact gradient, Hessian and Hessian-vector products
//!   (dual numbers); [`mgh::all`] is the registry.
//! - [`bounded`]: MGH problems in boxes that cut off their minimizers, for
//!   [`LbfgsB`](crate::quasi_newton::LbfgsB) and other bounded methods.
//! - [`Quadratic`]: `½ (x − x*)ᵀ A (x − x*) + f*` with a chosen condition number,
//!   dense (seeded random rotation) or diagonal.
//! - [`LogisticRegression`]: L2-regularized logistic regression, on any data or
//!   on the embedded Wisconsin breast-cancer set
//!   ([`LogisticRegression::breast_cancer`]) with a stored `f*`.
//! - [`Rastrigin`], [`Ackley`], [`Griewank`], [`Levy`]: multimodal functions
//!   with their usual domains and global minima ([`Multimodal`]).
//! - [`BandedFit`]: a large sparse nonlinear fit (five nonzeros per Jacobian
//!   row) with a known solution, for the sparse least-squares solver.
//! - [`nist`]: the NIST StRD nonlinear regression problems, parsed from their
//!   data files, with certified parameters and the log relative error.
//!
//! Conventions shared by all of them: `start()` is the standard starting point,
//! `minimizer()` a known minimizer and `f_star()` the minimum value. Where a
//! value is not known for every size (MGH problems at a non-standard `n`),
//! these return `Option`.

mod banded;
pub mod bounded;
mod dual;
mod logistic;
pub mod mgh;
mod multimodal;
pub mod nist;
mod quadratic;
mod rosenbrock;

pub use banded::BandedFit;
pub use logistic::{
    BREAST_CANCER_F_STAR, BREAST_CANCER_LAMBDA, BREAST_CANCER_W_STAR, LogisticRegression,
};
pub use mgh::{Mgh, MghProblem};
pub use multimodal::{Ackley, Griewank, Levy, Multimodal, Rastrigin};
pub use quadratic::Quadratic;
pub use rosenbrock::{ExtendedRosenbrock, Rosenbrock};

use thiserror::Error;

/// A test problem asked for with sizes or parameters it is not defined for.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum ProblemError {
    /// Sizes outside the problem's definition: "Watson needs 2 ≤ n ≤ 31 and
    /// m = 31; got n = 40, m = 31".
    #[error("{problem} needs {expected}; got n = {n}, m = {m}")]
    Dimensions {
        /// The problem's name.
        problem: &'static str,
        /// The number of variables asked for.
        n: usize,
        /// The number of residuals asked for.
        m: usize,
        /// The rule the sizes must satisfy.
        expected: &'static str,
    },
    /// A parameter outside its domain: "kappa = 0.5: must be finite and ≥ 1".
    #[error("invalid {name} = {value}: {expected}")]
    InvalidParameter {
        /// The parameter's name.
        name: &'static str,
        /// The value given, printed.
        value: String,
        /// What it must be.
        expected: &'static str,
    },
}
