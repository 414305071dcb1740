//! First-order methods: steepest descent with a line search (the
//! deterministic baseline) and the update rules of Goodfellow, Bengio &
//! Courville (2016), *Deep Learning*, ch. 8, behind one [`Optimizer`] trait.

mod adadelta;
mod adagrad;
mod adam;
mod delta_bar_delta;
mod gradient_descent;
mod optimizer;
mod rmsprop;
mod sgd;

pub use adadelta::AdaDelta;
pub use adagrad::AdaGrad;
pub use adam::Adam;
pub use delta_bar_delta::DeltaBarDelta;
pub use gradient_descent::GradientDescent;
pub use optimizer::Optimizer;
pub use rmsprop::{RmsProp, RmsPropNesterov};
pub use sgd::{Momentum, Nesterov, Sgd};
