//! Test problems with known minima.
//!
//! - [`Rosenbrock`], [`ExtendedRosenbrock`]: the banana valley, any `n`.

mod rosenbrock;

pub use rosenbrock::{ExtendedRosenbrock, Rosenbrock};
