//! Newton-type methods: second-order models solved by dense linear algebra.
//!
//! - [`LevenbergMarquardt`]: nonlinear least squares, Moré (1978) as MINPACK's `lmder`,
//!   with [`fit_statistics`] for standard errors at the solution.

pub mod levenberg_marquardt;

pub use levenberg_marquardt::{Fit, FitStatistics, LevenbergMarquardt, fit_statistics};
