//! Derivatives a user does not have to write: dual numbers, finite
//! differences, a derivative checker.
//!
//! - [`dual`]: **exact** derivatives by forward-mode dual numbers. Write the
//!   function once, generic over the number type ([`Real`]): [`ScalarFn`] for
//!   an objective, [`VectorFn`] for residuals. [`DualObjective`] makes a
//!   `ScalarFn` an [`Objective`](crate::problem::Objective),
//!   [`Gradient`](crate::problem::Gradient), [`Hessian`](crate::problem::Hessian)
//!   and [`HessVec`](crate::problem::HessVec); [`DualResiduals`] makes a
//!   `VectorFn` [`Residuals`](crate::problem::Residuals) with its Jacobian.
//!   `f64` and every dual number of num-dual over `f64` are [`Real`].
//! - [`finite`]: **approximate** derivatives by finite differences
//!   (Nocedal & Wright ch. 8), a fallback for functions that cannot be written
//!   generically: [`FdGradient`] (`Objective` → `Gradient`), [`FdHessian`]
//!   (`Gradient` → `Hessian` + `HessVec`), [`FdJacobian`] (a residual closure →
//!   `Residuals`), and the workspace functions [`forward_gradient`],
//!   [`central_gradient`], [`fd_hessian`], [`fd_hess_vec`], [`fd_jacobian`].
//! - [`check`]: find bugs in hand-written derivatives: [`check_gradient`],
//!   [`check_jacobian`], [`check_hessian`], [`check_hess_vec`] compare them with
//!   central differences and name the worst entry.
//!
//! # Which to prefer
//!
//! | derivatives              | accuracy               | cost of a gradient, `n` variables | use for |
//! |--------------------------|------------------------|-----------------------------------|---------|
//! | hand-written / reverse mode (backprop) | exact    | a small multiple of one `f`, any `n` | large `n`, networks |
//! | dual numbers ([`dual`])  | exact (rounding only)  | `⌈n/8⌉` passes, `~n` `f`'s worth of work | small and medium `n`, checking, expressions |
//! | finite differences ([`finite`]) | `~1e-8` forward, `~1e-10` central | `n + 1` or `2n + 1` evaluations of `f` | black boxes, when nothing else works |
//!
//! Exact curvature matters for second-order methods: a Newton step on a
//! finite-difference Hessian inherits its `1e-8`–`1e-10` error, and
//! Hessian-vector products by differences of the gradient lose half the
//! digits of the gradient.
//!
//! ```
//! use hesse::diff::{check_gradient, DualObjective, Real, ScalarFn};
//! use hesse::problem::Gradient;
//!
//! /// f(x) = Σ exp(xᵢ) − ln(1 + x₀²), written once for every number type.
//! struct F;
//! impl ScalarFn for F {
//!     fn dim(&self) -> usize { 3 }
//!     fn eval<D: Real>(&self, x: &[D]) -> D {
//!         let s: D = x.iter().map(|&v| v.exp()).sum();
//!         s - (x[0] * x[0] + 1.0).ln()
//!     }
//! }
//! let p = DualObjective::new(F);
//! let mut g = [0.0; 3];
//! p.value_grad(&[0.0, 1.0, 2.0], &mut g);
//! assert_eq!(g, [1.0, 1f64.exp(), 2f64.exp()]);
//! assert!(check_gradient(&p, &[0.3, 1.0, 2.0]).unwrap().passed(1e-8));
//! ```

pub mod check;
pub mod dual;
pub mod finite;

pub use check::{
    Checked, DEFAULT_TOL, DerivativeCheck, Entry, FLOOR_FACTOR, check_gradient, check_hess_vec,
    check_hessian, check_jacobian,
};
pub use dual::{
    DualObjective, DualResiduals, DualWork, dual_gradient, dual_hess_vec, dual_hessian,
    dual_jacobian,
};
pub use finite::{
    FdGradient, FdHessian, FdJacobian, FdWork, Scheme, central_gradient, fd_gradient, fd_hess_vec,
    fd_hessian, fd_jacobian, forward_gradient,
};
pub use num_dual::DualNum;

/// A number type generic functions are written over: `f64` itself and every
/// num-dual dual number over `f64` (`Dual64`, `Dual2_64`, `HyperDual64`, ...).
pub trait Real: DualNum<Primitive = f64> + Copy {}
impl<T: DualNum<Primitive = f64> + Copy> Real for T {}

/// A scalar function `f: ℝⁿ → ℝ` written once for any [`Real`], so dual
/// numbers give its derivatives exactly.
///
/// ```
/// use hesse::diff::{Real, ScalarFn};
/// struct Rosen;
/// impl ScalarFn for Rosen {
///     fn dim(&self) -> usize { 2 }
///     fn eval<D: Real>(&self, x: &[D]) -> D {
///         let a = D::from(1.0) - x[0];
///         let b = x[1] - x[0] * x[0];
///         a * a + b * b * 100.0
///     }
/// }
/// assert_eq!(Rosen.eval(&[1.0, 1.0]), 0.0);
/// ```
pub trait ScalarFn {
    /// The number of variables `n`.
    fn dim(&self) -> usize;
    /// `f(x)`.
    fn eval<D: Real>(&self, x: &[D]) -> D;
}

impl<F: ScalarFn + ?Sized> ScalarFn for &F {
    fn dim(&self) -> usize {
        (**self).dim()
    }
    fn eval<D: Real>(&self, x: &[D]) -> D {
        (**self).eval(x)
    }
}

/// A vector function `r: ℝⁿ → ℝᵐ` (residuals) written once for any [`Real`].
pub trait VectorFn {
    /// The number of inputs `n`.
    fn num_inputs(&self) -> usize;
    /// The number of outputs `m`.
    fn num_outputs(&self) -> usize;
    /// Writes `r(x)` into `out` (length `m`).
    fn eval<D: Real>(&self, x: &[D], out: &mut [D]);
}

impl<V: VectorFn + ?Sized> VectorFn for &V {
    fn num_inputs(&self) -> usize {
        (**self).num_inputs()
    }
    fn num_outputs(&self) -> usize {
        (**self).num_outputs()
    }
    fn eval<D: Real>(&self, x: &[D], out: &mut [D]) {
        (**self).eval(x, out)
    }
}
