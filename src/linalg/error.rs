//! What can go wrong in a factorization or a Krylov solve.

use thiserror::Error;

/// A linear-algebra call that could not run or could not finish.
///
/// Shapes are printed as `rows×cols`; every variant says what was wrong and
/// what was expected. Krylov solvers report negative curvature or an exhausted
/// iteration budget as an *outcome*, not as an error.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum LinalgError {
    /// A matrix has the wrong shape: "matrix a is 3×4, expected 3×3".
    #[error("{what} is {rows}×{cols}, expected {expected_rows}×{expected_cols}")]
    ShapeMismatch {
        /// The matrix that is wrong, e.g. `"a"`.
        what: &'static str,
        /// Its number of rows.
        rows: usize,
        /// Its number of columns.
        cols: usize,
        /// The number of rows it should have.
        expected_rows: usize,
        /// The number of columns it should have.
        expected_cols: usize,
    },
    /// A vector has the wrong length: "b has 3 entries, operator has dimension 2".
    #[error("{what} has {got} entries, {expected_from} has dimension {expected}")]
    LengthMismatch {
        /// The vector that is wrong, e.g. `"b"`.
        what: &'static str,
        /// The length it has.
        got: usize,
        /// The length it should have.
        expected: usize,
        /// What fixes the expected length, e.g. `"operator"`.
        expected_from: &'static str,
    },
    /// An input entry is NaN or infinite: "a[(2, 1)] = NaN is not finite".
    #[error("{what}[{index}] = {value} is not finite")]
    NonFinite {
        /// The input, e.g. `"a"` or `"b"`.
        what: &'static str,
        /// The position, `"(i, j)"` for a matrix or `"i"` for a vector.
        index: String,
        /// The value found there.
        value: f64,
    },
    /// Cholesky met a pivot `≤ 0`: the matrix is not (numerically) positive
    /// definite. `index` is the 0-based column of the failing pivot (faer's
    /// `LltError::NonPositivePivot`).
    #[error("matrix is not positive definite: pivot {index} is not positive")]
    NotPositiveDefinite {
        /// The column at which the factorization stopped.
        index: usize,
    },
    /// A solve with a singular factor: pivot `index` is zero.
    #[error("matrix is singular: pivot {index} is zero")]
    Singular {
        /// The first zero pivot (of `D` in `LDLᵀ`, of `R` in `QR`).
        index: usize,
    },
    /// An option outside its domain: "rtol = -1: must be finite and >= 0".
    #[error("invalid option {name} = {value}: {expected}")]
    InvalidOption {
        /// The option's name as its `with_*` builder spells it.
        name: &'static str,
        /// The value given, printed.
        value: String,
        /// What it must be.
        expected: &'static str,
    },
    /// A solve or query on a factorization that has not succeeded yet (never
    /// factored, or its last `factor` call returned an error).
    #[error("no successful factorization to use: call factor first (and check its result)")]
    NotFactored,
    /// An iterative eigen solver did not converge (faer's `EvdError::NoConvergence`).
    #[error("the symmetric eigen-decomposition did not converge")]
    NoConvergence,
    /// The modified Cholesky factorization did not succeed within its budget of
    /// shifts (only possible for inputs with enormous dynamic range).
    #[error("modified Cholesky failed after {attempts} factorizations (last tau = {tau:e})")]
    ShiftLimit {
        /// Factorizations attempted.
        attempts: usize,
        /// The last shift tried.
        tau: f64,
    },
}

impl LinalgError {
    pub(crate) fn invalid_option(
        name: &'static str,
        value: impl ToString,
        expected: &'static str,
    ) -> Self {
        LinalgError::InvalidOption {
            name,
            value: value.to_string(),
            expected,
        }
    }
}

impl From<LinalgError> for crate::solver::Error {
    fn from(e: LinalgError) -> Self {
        crate::solver::Error::InvalidProblem(e.to_string())
    }
}
