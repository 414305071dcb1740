//! Nonlinear conjugate gradients: Fletcher-Reeves, Polak-Ribière (and its
//! truncation PR+), Hestenes-Stiefel, Dai-Yuan and Hager-Zhang, with restarts.
//!
//! See [`NonlinearCg`] and, for the formulas, the `nonlinear_cg` file header.

mod nonlinear_cg;

pub use nonlinear_cg::{Beta, CgInitialStep, CgLineSearch, NonlinearCg};
