//! Linear operators: anything that computes `A v` into a caller's buffer.
//!
//! Krylov methods (CG, Steihaug-CG, Lanczos) touch a matrix only through
//! products `v ↦ A v`, so they run on a dense matrix, a closure, a diagonal,
//! or the Hessian of a problem at a point without ever forming it (Hessian-free
//! / truncated Newton, N&W §7.1; Martens 2010).

use nalgebra::DMatrix;

use crate::problem::HessVec;

/// A square linear operator `A: ℝⁿ → ℝⁿ`.
///
/// `apply(v, out)` writes `A v` into `out`; both slices have [`dim`](Self::dim)
/// entries (callers check, implementors may assume it).
///
/// [`is_symmetric`](Self::is_symmetric) is the operator's *declaration* that
/// `Aᵀ = A`. CG, Steihaug-CG and Lanczos assume symmetry and do not test it: a
/// finite-difference Hessian is symmetric only up to rounding, and testing
/// would cost `n` products. Callers such as Newton-CG may use it as a guard.
///
/// ```
/// use hesse::linalg::{FnOperator, LinearOperator};
/// // The 1-D Laplacian tridiag(-1, 2, -1), never formed.
/// let lap = FnOperator::symmetric(3, |v: &[f64], out: &mut [f64]| {
///     for i in 0..3 {
///         let left = if i > 0 { v[i - 1] } else { 0.0 };
///         let right = if i + 1 < 3 { v[i + 1] } else { 0.0 };
///         out[i] = 2.0 * v[i] - left - right;
///     }
/// });
/// let mut out = [0.0; 3];
/// lap.apply(&[1.0, 1.0, 1.0], &mut out);
/// assert_eq!(out, [1.0, 0.0, 1.0]);
/// assert!(lap.is_symmetric());
/// ```
pub trait LinearOperator {
    /// The dimension `n` of the (square) operator.
    fn dim(&self) -> usize;

    /// Writes `A v` into `out`.
    fn apply(&self, v: &[f64], out: &mut [f64]);

    /// Whether the operator declares itself symmetric (`Aᵀ = A`). Default `false`.
    fn is_symmetric(&self) -> bool {
        false
    }
}

impl<T: LinearOperator + ?Sized> LinearOperator for &T {
    fn dim(&self) -> usize {
        (**self).dim()
    }
    fn apply(&self, v: &[f64], out: &mut [f64]) {
        (**self).apply(v, out)
    }
    fn is_symmetric(&self) -> bool {
        (**self).is_symmetric()
    }
}

/// A dense square matrix as an operator; `apply` is faer's matrix-vector
/// product on a zero-copy view (`2n²` flops, memory-bound).
///
/// `dim` is the number of rows; a non-square matrix is not a valid operator
/// and the solvers reject it through the lengths of their vectors.
/// `is_symmetric` compares the strict lower and upper triangles exactly
/// (`O(n²)`, stops at the first difference).
///
/// ```
/// use hesse::linalg::LinearOperator;
/// let a = nalgebra::DMatrix::from_row_slice(2, 2, &[1.0, 2.0, 3.0, 4.0]);
/// let mut out = [0.0; 2];
/// a.apply(&[1.0, 1.0], &mut out);
/// assert_eq!(out, [3.0, 7.0]);
/// assert!(!a.is_symmetric());
/// ```
impl LinearOperator for DMatrix<f64> {
    fn dim(&self) -> usize {
        self.nrows()
    }

    fn apply(&self, v: &[f64], out: &mut [f64]) {
        let a = super::faer_ref(self);
        let v = faer::ColRef::from_slice(v);
        let out = faer::ColMut::from_slice_mut(out);
        faer::linalg::matmul::matmul(
            out.as_mat_mut(),
            faer::Accum::Replace,
            a,
            v.as_mat(),
            1.0,
            super::par(),
        );
    }

    fn is_symmetric(&self) -> bool {
        let n = self.nrows();
        if self.ncols() != n {
            return false;
        }
        (0..n).all(|j| (j + 1..n).all(|i| self[(i, j)] == self[(j, i)]))
    }
}

/// An operator from a closure `f(v, out)` that writes `A v` into `out`.
///
/// [`FnOperator::new`] makes no symmetry claim; [`FnOperator::symmetric`]
/// declares `Aᵀ = A` (see [`LinearOperator::is_symmetric`]).
#[derive(Clone)]
pub struct FnOperator<F> {
    n: usize,
    f: F,
    symmetric: bool,
}

impl<F: Fn(&[f64], &mut [f64])> FnOperator<F> {
    /// An `n × n` operator, not declared symmetric.
    pub fn new(n: usize, f: F) -> Self {
        Self {
            n,
            f,
            symmetric: false,
        }
    }

    /// An `n × n` operator declared symmetric.
    pub fn symmetric(n: usize, f: F) -> Self {
        Self {
            n,
            f,
            symmetric: true,
        }
    }
}

impl<F: Fn(&[f64], &mut [f64])> LinearOperator for FnOperator<F> {
    fn dim(&self) -> usize {
        self.n
    }
    fn apply(&self, v: &[f64], out: &mut [f64]) {
        (self.f)(v, out)
    }
    fn is_symmetric(&self) -> bool {
        self.symmetric
    }
}

impl<F> std::fmt::Debug for FnOperator<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FnOperator")
            .field("n", &self.n)
            .field("symmetric", &self.symmetric)
            .finish_non_exhaustive()
    }
}

/// The diagonal operator `diag(d)`: `out_i = d_i v_i`. Symmetric.
///
/// Its most common use is as a Jacobi preconditioner `M⁻¹ = diag(1/a_ii)`
/// for [`ConjugateGradient`](super::ConjugateGradient); build it with
/// [`Diagonal::inverse_of`].
///
/// ```
/// use hesse::linalg::{Diagonal, LinearOperator};
/// let d = Diagonal::new(vec![1.0, 2.0]);
/// let mut out = [0.0; 2];
/// d.apply(&[3.0, 3.0], &mut out);
/// assert_eq!(out, [3.0, 6.0]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Diagonal<S = Vec<f64>> {
    d: S,
}

impl<S: AsRef<[f64]>> Diagonal<S> {
    /// `diag(d)`; `d` may be a `Vec<f64>` or a borrowed `&[f64]`.
    pub fn new(d: S) -> Self {
        Self { d }
    }

    /// The diagonal entries.
    pub fn diagonal(&self) -> &[f64] {
        self.d.as_ref()
    }
}

impl Diagonal<Vec<f64>> {
    /// `diag(1/d_i)`, with `1` where `d_i` is zero or not finite (a Jacobi
    /// preconditioner must stay defined; such entries are left unscaled).
    ///
    /// ```
    /// use hesse::linalg::Diagonal;
    /// assert_eq!(Diagonal::inverse_of(&[2.0, 0.0]).diagonal(), &[0.5, 1.0]);
    /// ```
    pub fn inverse_of(d: &[f64]) -> Self {
        let inv = d
            .iter()
            .map(|&x| {
                let r = 1.0 / x;
                if r.is_finite() && x != 0.0 { r } else { 1.0 }
            })
            .collect();
        Self { d: inv }
    }
}

impl<S: AsRef<[f64]>> LinearOperator for Diagonal<S> {
    fn dim(&self) -> usize {
        self.d.as_ref().len()
    }
    fn apply(&self, v: &[f64], out: &mut [f64]) {
        for ((o, d), x) in out.iter_mut().zip(self.d.as_ref()).zip(v) {
            *o = d * x;
        }
    }
    fn is_symmetric(&self) -> bool {
        true
    }
}

/// The Hessian `∇²f(x)` of a [`HessVec`] problem at a fixed point `x`, as an
/// operator: `apply(v, out)` calls `problem.hess_vec(x, v, out)`.
///
/// Wrap a [`Counted`](crate::problem::Counted) problem to have each product
/// counted as one Hessian-vector evaluation. Declared symmetric.
///
/// ```
/// use hesse::linalg::{HessianOperator, LinearOperator};
/// use hesse::problem::FnGradient;
/// // f(x) = x0² x1: ∇²f = [[2 x1, 2 x0], [2 x0, 0]].
/// let p = FnGradient::new(2, |x: &[f64], g: &mut [f64]| {
///     g[0] = 2.0 * x[0] * x[1];
///     g[1] = x[0] * x[0];
///     x[0] * x[0] * x[1]
/// })
/// .with_hess_vec(|x: &[f64], v: &[f64], hv: &mut [f64]| {
///     hv[0] = 2.0 * x[1] * v[0] + 2.0 * x[0] * v[1];
///     hv[1] = 2.0 * x[0] * v[0];
/// });
/// let x = [1.0, 3.0];
/// let h = HessianOperator::new(&p, &x);
/// let mut out = [0.0; 2];
/// h.apply(&[1.0, 0.0], &mut out);
/// assert_eq!(out, [6.0, 2.0]);
/// ```
pub struct HessianOperator<'a, P: ?Sized> {
    problem: &'a P,
    x: &'a [f64],
}

impl<'a, P: HessVec + ?Sized> HessianOperator<'a, P> {
    /// The Hessian of `problem` at `x` (which must have `problem.dim()` entries).
    pub fn new(problem: &'a P, x: &'a [f64]) -> Self {
        Self { problem, x }
    }

    /// The point the Hessian is taken at.
    pub fn x(&self) -> &[f64] {
        self.x
    }
}

impl<P: HessVec + ?Sized> LinearOperator for HessianOperator<'_, P> {
    fn dim(&self) -> usize {
        self.x.len()
    }
    fn apply(&self, v: &[f64], out: &mut [f64]) {
        self.problem.hess_vec(self.x, v, out)
    }
    fn is_symmetric(&self) -> bool {
        true
    }
}

impl<P: ?Sized> Clone for HessianOperator<'_, P> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<P: ?Sized> Copy for HessianOperator<'_, P> {}

impl<P: ?Sized> std::fmt::Debug for HessianOperator<'_, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HessianOperator")
            .field("n", &self.x.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_apply_matches_nalgebra() {
        let a = DMatrix::from_fn(5, 5, |i, j| (i * 7 + j * 3) as f64 % 5.0 - 2.0);
        let v: Vec<f64> = (0..5).map(|i| i as f64 - 1.5).collect();
        let mut out = vec![0.0; 5];
        a.apply(&v, &mut out);
        let want = &a * nalgebra::DVector::from_column_slice(&v);
        for i in 0..5 {
            assert!((out[i] - want[i]).abs() < 1e-14);
        }
    }

    #[test]
    fn dense_apply_on_empty() {
        let a = DMatrix::<f64>::zeros(0, 0);
        let mut out: [f64; 0] = [];
        a.apply(&[], &mut out);
        assert_eq!(a.dim(), 0);
        assert!(a.is_symmetric());
    }
}
