//! Bad input: the errors a solver returns before it runs.

use thiserror::Error;

/// Input a solver cannot run on. Stopping for any other reason is a
/// [`Termination`](crate::solver::Termination), not an error.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum Error {
    /// A vector has the wrong length: "x0 has 3 entries, problem has 2".
    #[error("{what} has {got} entries, {expected_from} has {expected}")]
    DimensionMismatch {
        /// The vector that is wrong, e.g. `"x0"`.
        what: &'static str,
        /// The length it has.
        got: usize,
        /// The length it should have.
        expected: usize,
        /// What fixes the expected length, e.g. `"problem"`.
        expected_from: &'static str,
    },
    /// A start with a NaN or infinite entry.
    #[error("x0[{index}] = {value} is not finite")]
    NonFiniteStart {
        /// The first offending index.
        index: usize,
        /// Its value.
        value: f64,
    },
    /// A problem with no variables.
    #[error("the problem has no variables (n = 0)")]
    EmptyProblem,
    /// An option outside its domain: "gtol = -1: must be >= 0".
    #[error("invalid option {name} = {value}: {expected}")]
    InvalidOption {
        /// The option's name as its `with_*` builder spells it.
        name: &'static str,
        /// The value given, printed.
        value: String,
        /// What it must be.
        expected: &'static str,
    },
    /// A box with NaN, `lower > upper` or an infinite bound on the wrong side:
    /// `"bounds of x[1]: lower = 3, upper = 2: lower must be <= upper"`.
    #[error("bounds of x[{index}]: lower = {lower}, upper = {upper}: {expected}")]
    InvalidBounds {
        /// The variable.
        index: usize,
        /// Its lower bound.
        lower: f64,
        /// Its upper bound.
        upper: f64,
        /// What they must be.
        expected: &'static str,
    },
    /// A sparse Jacobian pattern that is not valid compressed sparse column
    /// form: `"column 3: row indices 7, 5 are not increasing"`.
    #[error("invalid sparsity pattern: {0}")]
    InvalidPattern(String),
    /// Anything else wrong with the problem (too few residuals, ...).
    #[error("{0}")]
    InvalidProblem(String),
}

impl Error {
    /// An [`Error::InvalidOption`] for `name = value`.
    pub fn invalid_option(
        name: &'static str,
        value: impl ToString,
        expected: &'static str,
    ) -> Self {
        Error::InvalidOption {
            name,
            value: value.to_string(),
            expected,
        }
    }
}

/// Checks that `x0` has `n` entries, all finite, and that `n > 0`.
pub fn check_start(x0: &[f64], n: usize) -> Result<(), Error> {
    if n == 0 {
        return Err(Error::EmptyProblem);
    }
    if x0.len() != n {
        return Err(Error::DimensionMismatch {
            what: "x0",
            got: x0.len(),
            expected: n,
            expected_from: "problem",
        });
    }
    if let Some((index, &value)) = x0.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(Error::NonFiniteStart { index, value });
    }
    Ok(())
}

/// `Ok(v)` when `v` is finite and `>= 0`, else an invalid-option error.
pub fn check_nonneg(name: &'static str, v: f64) -> Result<f64, Error> {
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(Error::invalid_option(name, v, "must be finite and >= 0"))
    }
}

/// `Ok(())` when `floats` `f64`s can be allocated: the check a solver makes
/// before it sizes a workspace from an option (L-BFGS's memory `m`, whose
/// `(m + 1)²` matrices reach terabytes at `m = 10⁶`), so that an option too
/// large for the machine is an invalid-option error naming it, not an
/// abort on a failed allocation. `floats = None` is a size past `usize`.
///
/// The probe reserves the block and frees it at once; no page is touched.
pub(crate) fn check_alloc(
    name: &'static str,
    value: usize,
    floats: Option<usize>,
) -> Result<(), Error> {
    match unallocatable_gb(floats) {
        None => Ok(()),
        Some(gb) => Err(Error::invalid_option(
            name,
            format!("{value} ({gb:.3e} GB of workspace)"),
            "the workspace it sizes cannot be allocated",
        )),
    }
}

/// `None` when `floats` `f64`s can be allocated, else their size in GB
/// (∞ for a size past `usize`): the probe of [`check_alloc`] and
/// [`check_dense`], which reserves the block and frees it at once.
fn unallocatable_gb(floats: Option<usize>) -> Option<f64> {
    let fits = floats.is_some_and(|k| Vec::<f64>::new().try_reserve_exact(k).is_ok());
    (!fits).then(|| floats.map_or(f64::INFINITY, |k| k as f64 * 8e-9))
}

/// `Ok(())` when a dense workspace of `floats` `f64`s can be allocated: the
/// check a method that forms `n × n` or `m × n` matrices makes before it
/// sizes them, so that a problem too large for the machine (Newton at
/// `n = 10⁶` wants 8 TB per Hessian) is an [`Error::InvalidProblem`] naming
/// the method and the matrices, not an abort on a failed allocation.
/// `floats = None` is a size past `usize`; `what` says what is formed
/// (`"a dense n × n Hessian at n = 1000000"`), `instead` what to use.
///
/// Like [`check_alloc`], the probe reserves the block and frees it at once.
pub(crate) fn check_dense(
    method: &str,
    what: &str,
    floats: Option<usize>,
    instead: &str,
) -> Result<(), Error> {
    match unallocatable_gb(floats) {
        None => Ok(()),
        Some(gb) => Err(Error::InvalidProblem(format!(
            "{method} needs {what} ({gb:.3e} GB of workspace), which cannot be allocated{instead}"
        ))),
    }
}

/// `Ok(v)` when `v` is finite and `> 0`, else an invalid-option error.
pub fn check_positive(name: &'static str, v: f64) -> Result<f64, Error> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(Error::invalid_option(name, v, "must be finite and > 0"))
    }
}
