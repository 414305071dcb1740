//! Newton's method and its relatives: second-order steps from the Hessian.
//!
//! - [`Newton`]: dense Hessian, modified Cholesky (N&W Alg. 3.3) and an Armijo
//!   backtracking line search (N&W Alg. 3.2).

mod dense;

pub use dense::Newton;
