//! Multilayer perceptron: forward pass, backpropagation, the R-operator and
//! Gauss-Newton products, all on a whole batch at once.
//!
//! Notation (per layer `l = 1..L`, batch of `B` examples as the columns of
//! `n_l × B` column-major matrices): input `a_0 = x`;
//!
//! - `z_l = W_l a_{l−1}` (`W_l` is `n_l × n_{l−1}`),
//! - `y_l = z_l + b_l`, or with batch normalization `y_l = γ_l ẑ_l + β_l`
//!   ([`batchnorm`](super::batchnorm)),
//! - `h_l = φ_l(y_l)`, and the layer output `a_l = h_l`, or `a_l = h_l + a_{l−1}`
//!   with a skip connection (equal widths),
//! - the network output `o = a_L`, and the objective
//!   `f = (1/B) Σ_examples ℓ(o, t) + (λ/2) Σ_l ‖W_l‖²_F` (biases, `γ` and `β`
//!   are not decayed).
//!
//! Backpropagation (`d• = ∂f/∂•`): `da_L = (1/B) ∂ℓ/∂o`;
//! `dy_l = da_l ⊙ φ'(y_l)`; `db_l = dy_l 1`; `dW_l = dz_l a_{l−1}ᵀ + λ W_l`;
//! `da_{l−1} = W_lᵀ dz_l (+ da_l)`, where `dz_l = dy_l` without batch norm.
//!
//! R-operator, Pearlmutter (1994) §3-4 (`R{•} = ∂•(θ + εv)/∂ε` at `ε = 0`,
//! `v = (V_l, c_l)` the direction's per-layer blocks):
//!
//! - forward: `R z_l = V_l a_{l−1} + W_l R a_{l−1}`, `R y_l = R z_l + c_l`,
//!   `R h_l = φ'(y_l) ⊙ R y_l`, `R a_l = R h_l (+ R a_{l−1})`, `R a_0 = 0`; the
//!   Jacobian-vector product is `J v = R o`.
//! - backward: `R da_L = (1/B) H_L R o`;
//!   `R dy_l = R da_l ⊙ φ'(y_l) + da_l ⊙ φ''(y_l) ⊙ R y_l`;
//!   `R dW_l = R dz_l a_{l−1}ᵀ + dz_l R a_{l−1}ᵀ + λ V_l`; `R db_l = R dy_l 1`;
//!   `R da_{l−1} = V_lᵀ dz_l + W_lᵀ R dz_l (+ R da_l)`. Then `H v = R{∇f}`.
//!
//! Gauss-Newton, Schraudolph (2002) §3: `G v = Jᵀ H_L J v + λ V`: the forward
//! R pass gives `J v`, and the ordinary backward map of the *linearized*
//! network (no `φ''` term) applied to `u = (1/B) H_L J v` gives `Jᵀ u`.
//!
//! Matrix-product flops per layer of size `m × k` at batch `B` (units of
//! `2mkB`): gradient 3 (the first layer 2: no `W_1ᵀ dz_1`); Hessian-vector
//! product from scratch 8 (first layer 3); Gauss-Newton product from scratch 5
//! (first 3). A problem remembers the parameters and batch of its last
//! forward (and backward) pass, so a curvature product at the point where the
//! gradient was just computed (every CG step of Newton-CG or Hessian-free
//! optimization) skips them: Hessian-vector 6 (first 2), Gauss-Newton 4
//! (first 2).
//!
//! Files by concern: `layout` (the architecture and where each layer's
//! parameters sit in the flat vector), `predict` (inference with population
//! batch-norm statistics), `problem` (an [`Mlp`] bound to data: the
//! evaluations and the [`problem`](crate::problem) traits), `workspace` (the
//! buffers and the cache key), `passes` (forward and backward), `r_op` (the
//! R-operator passes and the loss curvature), `kernels` (dense products and
//! column-parallel elementwise loops) and `layer_pass` (the per-layer hook
//! [`LayerPass`], from which curvature statistics are computed outside the
//! model, in [`natural::statistics`](crate::natural::statistics)).

// Per-unit loops index several parallel rows (γ, s, μ, scratch) at once, as
// the formulas do; iterator zips of four slices would hide the math.
#![allow(clippy::needless_range_loop)]

pub(crate) mod kernels;
mod layer_pass;
mod layout;
mod passes;
mod predict;
mod problem;
mod r_op;
mod workspace;

pub use layer_pass::LayerPass;
pub use layout::{Layer, Mlp};
pub use problem::{MlpBatch, MlpProblem};
