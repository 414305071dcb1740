//! Nonlinear conjugate gradients.
