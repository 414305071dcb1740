//! Test problems with known minima.
//!
//! - [`Rosenbrock`], [`ExtendedRosenbrock`]: the banana valley, any `n`.

pub mod nist;
mod rosenbrock;

pub use rosenbrock::{ExtendedRosenbrock, Rosenbrock};
