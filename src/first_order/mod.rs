//! First-order methods: steepest descent with a line search, the
//! deterministic baseline.

mod gradient_descent;

pub use gradient_descent::GradientDescent;
