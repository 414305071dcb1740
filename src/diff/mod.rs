//! Derivatives a user does not have to write: finite differences, dual
//! numbers, a derivative checker.
//!
//! Exact derivatives come from writing a function once, generic over the
//! number type ([`Real`]): [`ScalarFn`] for an objective, [`VectorFn`] for
//! residuals. `f64` and every dual number of num-dual over `f64` are [`Real`].

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

/// A vector function `r: ℝⁿ → ℝᵐ` (residuals) written once for any [`Real`].
pub trait VectorFn {
    /// The number of inputs `n`.
    fn num_inputs(&self) -> usize;
    /// The number of outputs `m`.
    fn num_outputs(&self) -> usize;
    /// Writes `r(x)` into `out` (length `m`).
    fn eval<D: Real>(&self, x: &[D], out: &mut [D]);
}
