//! Interoperability with other optimization libraries.
//!
//! - `argmin` (cargo feature `argmin`, off by default): argmin problems solved
//!   by hesse, hesse problems solved by argmin's solvers.

#[cfg(feature = "argmin")]
pub mod argmin;
