//! Small neural networks as objectives, with exact curvature products.
//!
//! An [`Mlp`] is an architecture: fully connected [`Layer`]s of any widths,
//! each with an [`Activation`], optional batch normalization
//! ([`batchnorm`]) and optional skip connection, a [`Loss`] and L2 weight
//! decay. Its parameters are one flat `Vec<f64>` (per-layer views:
//! [`Mlp::weights`], [`Mlp::bias`]). Bound to a [`Dataset`] with
//! [`Mlp::problem`], it becomes an [`MlpProblem`]: an objective that every
//! solver can minimize through the [`problem`](crate::problem) traits, with
//!
//! - the gradient by backpropagation,
//! - Hessian-vector products by the R-operator (Pearlmutter, "Fast exact
//!   multiplication by the Hessian", *Neural Computation* 6, 1994),
//! - generalized Gauss-Newton products `G v = Jᵀ H_L J v` (Schraudolph, "Fast
//!   curvature matrix-vector products for second-order gradient descent",
//!   *Neural Computation* 14, 2002), split at the logits so `H_L ⪰ 0`,
//!   which for these matching losses (softmax and logistic cross-entropy,
//!   squared error) is also the Fisher information of the model's predictive
//!   distribution (Martens, "New insights and perspectives on the natural
//!   gradient method", JMLR 21, 2020, §9.2; squared error as a unit-variance
//!   Gaussian): the natural-gradient product, less the decay term `λ V`,
//! - Jacobian-vector `J v` and vector-Jacobian `Jᵀ u` products,
//!
//! on the full data set or on any minibatch (a slice of example indices), each
//! computed on the whole batch at once as matrix products (faer), with no
//! per-example loops and no allocation after the first evaluation.
//!
//! Curvature methods take their per-layer statistics through one hook,
//! [`MlpProblem::layer_pass`] ([`LayerPass`]: each layer's inputs and
//! back-propagated signals on a batch, from the cached forward pass); the
//! statistics themselves live with the methods, in
//! [`natural::statistics`](crate::natural::statistics).
//!
//! ```
//! use hesse::nn::{Activation, Dataset, Init, Loss, Mlp};
//! use hesse::prelude::*;
//!
//! let data = Dataset::two_spirals(100, 0.0, 7).unwrap();
//! let mlp = Mlp::new(&[2, 8, 2], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
//! let x0 = mlp.init(Init::Glorot, 1);
//! let problem = mlp.problem(&data).unwrap();
//! let report = Lbfgs::default().with_max_iter(50).minimize(&problem, &x0).unwrap();
//! assert!(report.f < problem.value(&x0));
//! ```

mod activation;
pub mod batchnorm;
mod data;
mod idx;
mod init;
mod loss;
pub(crate) mod mlp;
mod pretrain;
mod train;

pub use activation::Activation;
pub use batchnorm::BatchNormStats;
pub use data::{Batches, Dataset};
pub use idx::{Idx, read_idx};
pub use init::{BiasInit, Init};
pub use loss::Loss;
pub use mlp::{Layer, LayerPass, Mlp, MlpBatch, MlpProblem};
pub use pretrain::{Frozen, PretrainError, Pretrained, greedy_supervised};
pub use train::MlpTraining;

use std::path::PathBuf;

use thiserror::Error;

/// What went wrong building a network, binding it to data or reading data.
#[derive(Debug, Error)]
pub enum NnError {
    /// A vector has the wrong number of entries.
    #[error("{what} has {got} entries, expected {expected}")]
    Length {
        /// Which argument.
        what: &'static str,
        /// Its length.
        got: usize,
        /// The length the network or data set needs.
        expected: usize,
    },
    /// A data set does not fit the network.
    #[error("{what}: the data set has {got}, the network expects {expected}")]
    Shape {
        /// Which dimension.
        what: &'static str,
        /// The data set's.
        got: usize,
        /// The network's.
        expected: usize,
    },
    /// A minibatch index past the end of the data set.
    #[error("batch index {index} is out of range for a data set of {len} examples")]
    BatchIndex {
        /// The offending index.
        index: usize,
        /// Number of examples.
        len: usize,
    },
    /// An empty minibatch or data set.
    #[error("the batch is empty")]
    EmptyBatch,
    /// An architecture that cannot be built.
    #[error("invalid architecture: {0}")]
    Architecture(String),
    /// An option out of its range.
    #[error("invalid option {name} = {value}: {expected}")]
    InvalidOption {
        /// The option.
        name: &'static str,
        /// The value given.
        value: f64,
        /// What it must be.
        expected: &'static str,
    },
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file was read but its content is not what its format says.
    #[error("{path}: {reason}")]
    Malformed {
        /// The file (or the name of embedded data).
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}
