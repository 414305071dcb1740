//! First-order methods: steepest descent with a line search (the
//! deterministic baseline) and the update rules of Goodfellow, Bengio &
//! Courville (2016), *Deep Learning*, ch. 8, behind one [`Optimizer`] trait.

mod adadelta;
mod adagrad;
mod adam;
mod average;
mod by_name;
mod clip;
mod coordinate_descent;
mod delta_bar_delta;
mod full_batch;
mod gradient_descent;
mod optimizer;
mod rmsprop;
mod schedule;
mod sgd;
mod train;

pub use adadelta::AdaDelta;
pub use adagrad::AdaGrad;
pub use adam::Adam;
pub use average::{Averager, Averaging};
pub use by_name::{AnyOptimizer, Hyper};
pub use clip::Clip;
pub use coordinate_descent::CoordinateDescent;
pub use delta_bar_delta::DeltaBarDelta;
pub use full_batch::FullBatch;
pub use gradient_descent::GradientDescent;
pub use optimizer::Optimizer;
pub use rmsprop::{RmsProp, RmsPropNesterov};
pub use schedule::Schedule;
pub use sgd::{Momentum, Nesterov, Sgd};
pub use train::{Best, EpochRecord, Metrics, MinibatchObjective, TrainState, TrainStop, Trainer};
