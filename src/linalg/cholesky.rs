//! Cholesky factorization `A = L Lᵀ` of a symmetric positive definite matrix.
//!
//! Golub & Van Loan (2013) §4.2; computed by faer's blocked left-looking
//! algorithm (`faer::linalg::cholesky::llt`) on a zero-copy view of the
//! nalgebra storage. Only the lower triangle of `A` is read; `L` overwrites it
//! and faer uses the strict upper triangle of the buffer as scratch.
//!
//! Solving `A x = b` is two triangular solves, `L y = b` then `Lᵀ x = y`
//! (`n²` flops each); `A⁻¹` is never formed.

use faer::dyn_stack::StackReq;
use faer::linalg::cholesky::llt;
use nalgebra::DMatrix;

use super::{
    LinalgError, Scratch, check_finite_lower, check_len, check_square, faer_mut, faer_ref, par,
};

/// The Cholesky factorization `A = L Lᵀ`.
///
/// A workspace as well as a result: [`factor`](Self::factor) on a matrix of the
/// same size reuses the buffers and allocates nothing. For the largest
/// matrices, fill [`matrix_mut`](Self::matrix_mut) directly (e.g. with a
/// Hessian) and call [`factor_in_place`](Self::factor_in_place), which saves
/// the copy.
///
/// ```
/// use hesse::linalg::Cholesky;
/// use nalgebra::DMatrix;
/// let a = DMatrix::from_row_slice(2, 2, &[4.0, 2.0, 2.0, 5.0]);
/// let chol = Cholesky::new(&a).unwrap();
/// assert_eq!(chol.l(), DMatrix::from_row_slice(2, 2, &[2.0, 0.0, 1.0, 2.0]));
/// let x = chol.solve(&[6.0, 7.0]).unwrap(); // A x = b
/// assert!((x[0] - 1.0).abs() < 1e-15 && (x[1] - 1.0).abs() < 1e-15);
///
/// let indefinite = DMatrix::from_row_slice(2, 2, &[1.0, 2.0, 2.0, 1.0]);
/// let err = Cholesky::new(&indefinite).unwrap_err();
/// assert_eq!(err.to_string(), "matrix is not positive definite: pivot 1 is not positive");
/// ```
#[derive(Clone, Debug)]
pub struct Cholesky {
    /// n × n, column-major; `L` in the lower triangle once factored.
    l: DMatrix<f64>,
    scratch: Scratch,
    factored: bool,
}

impl Default for Cholesky {
    fn default() -> Self {
        Self::with_dim(0)
    }
}

impl Cholesky {
    /// Factors `a` (lower triangle read), allocating the workspace.
    pub fn new(a: &DMatrix<f64>) -> Result<Self, LinalgError> {
        let mut chol = Self::with_dim(a.nrows());
        chol.factor(a)?;
        Ok(chol)
    }

    /// An unfactored workspace for `n × n` matrices.
    pub fn with_dim(n: usize) -> Self {
        let mut scratch = Scratch::new();
        scratch.stack(Self::factor_scratch(n));
        Self {
            l: DMatrix::zeros(n, n),
            scratch,
            factored: false,
        }
    }

    /// The scratch memory faer needs to factor an `n × n` matrix (the sizing
    /// twin of [`factor`](Self::factor); the workspace holds it already).
    pub fn factor_scratch(n: usize) -> StackReq {
        llt::factor::cholesky_in_place_scratch::<f64>(n, par(), Default::default())
    }

    /// The dimension `n`.
    pub fn dim(&self) -> usize {
        self.l.nrows()
    }

    /// Factors `a = L Lᵀ`, reading its lower triangle.
    ///
    /// Errors: `a` not square ([`LinalgError::ShapeMismatch`]); a non-finite
    /// entry in the lower triangle ([`LinalgError::NonFinite`]); a pivot `≤ 0`
    /// ([`LinalgError::NotPositiveDefinite`] with its index).
    pub fn factor(&mut self, a: &DMatrix<f64>) -> Result<(), LinalgError> {
        let n = check_square("a", a)?;
        check_finite_lower("a", a)?;
        self.resize(n);
        copy_lower(a, &mut self.l);
        self.factor_unchecked()
    }

    /// The internal `n × n` buffer, to be filled with `A` (its lower triangle
    /// at least) before [`factor_in_place`](Self::factor_in_place).
    pub fn matrix_mut(&mut self) -> &mut DMatrix<f64> {
        self.factored = false;
        &mut self.l
    }

    /// Factors the matrix written into [`matrix_mut`](Self::matrix_mut), in place.
    pub fn factor_in_place(&mut self) -> Result<(), LinalgError> {
        check_finite_lower("a", &self.l)?;
        self.factor_unchecked()
    }

    /// Resizes the buffers for `n × n` (no-op when already that size).
    pub(crate) fn resize(&mut self, n: usize) {
        if self.l.nrows() != n {
            self.l = DMatrix::zeros(n, n);
        }
        self.factored = false;
    }

    pub(crate) fn buffer_mut(&mut self) -> &mut DMatrix<f64> {
        &mut self.l
    }

    /// faer's in-place factorization of the lower triangle of the buffer.
    pub(crate) fn factor_unchecked(&mut self) -> Result<(), LinalgError> {
        let n = self.l.nrows();
        let stack = self.scratch.stack(Self::factor_scratch(n));
        let res = llt::factor::cholesky_in_place(
            faer_mut(&mut self.l),
            Default::default(),
            par(),
            stack,
            Default::default(),
        );
        match res {
            Ok(_) => {
                self.factored = true;
                Ok(())
            }
            Err(llt::factor::LltError::NonPositivePivot { index }) => {
                self.factored = false;
                Err(LinalgError::NotPositiveDefinite { index })
            }
        }
    }

    /// Whether the last factorization succeeded.
    pub fn is_factored(&self) -> bool {
        self.factored
    }

    /// `L` with its strict upper triangle zeroed (allocates).
    pub fn l(&self) -> DMatrix<f64> {
        let mut l = self.l.clone();
        l.fill_upper_triangle(0.0, 1);
        l
    }

    /// The buffer holding `L` in its lower triangle; the strict upper triangle
    /// holds scratch values (allocation-less version of [`l`](Self::l)).
    pub fn l_dirty(&self) -> &DMatrix<f64> {
        &self.l
    }

    /// Solves `A x = b` in place: `b` becomes `x`.
    ///
    /// Errors: wrong length, or no successful factorization.
    pub fn solve_mut(&self, b: &mut [f64]) -> Result<(), LinalgError> {
        if !self.factored {
            return Err(LinalgError::NotFactored);
        }
        check_len("b", b, self.dim(), "factorization")?;
        let rhs = faer::MatMut::from_column_major_slice_mut(b, self.dim(), 1);
        llt::solve::solve_in_place(
            faer_ref(&self.l),
            rhs,
            par(),
            faer::dyn_stack::MemStack::new(&mut []),
        );
        Ok(())
    }

    /// Solves `A x = b` and returns `x` (allocates).
    #[must_use = "Did you mean to use solve_mut()?"]
    pub fn solve(&self, b: &[f64]) -> Result<Vec<f64>, LinalgError> {
        let mut x = b.to_vec();
        self.solve_mut(&mut x)?;
        Ok(x)
    }

    /// Solves `A X = B` in place for a matrix of right-hand sides.
    pub fn solve_matrix_mut(&self, b: &mut DMatrix<f64>) -> Result<(), LinalgError> {
        if !self.factored {
            return Err(LinalgError::NotFactored);
        }
        if b.nrows() != self.dim() {
            return Err(LinalgError::ShapeMismatch {
                what: "b",
                rows: b.nrows(),
                cols: b.ncols(),
                expected_rows: self.dim(),
                expected_cols: b.ncols(),
            });
        }
        llt::solve::solve_in_place(
            faer_ref(&self.l),
            faer_mut(b),
            par(),
            faer::dyn_stack::MemStack::new(&mut []),
        );
        Ok(())
    }

    /// `log det A = 2 Σ log L_ii` (`NaN` before a successful factorization).
    pub fn log_det(&self) -> f64 {
        if !self.factored {
            return f64::NAN;
        }
        2.0 * (0..self.dim()).map(|i| self.l[(i, i)].ln()).sum::<f64>()
    }
}

/// Copies the lower triangle (diagonal included) of `a` into `dst`.
pub(crate) fn copy_lower(a: &DMatrix<f64>, dst: &mut DMatrix<f64>) {
    let n = a.nrows();
    for j in 0..n {
        let src = &a.as_slice()[j * n + j..(j + 1) * n];
        dst.as_mut_slice()[j * n + j..(j + 1) * n].copy_from_slice(src);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_matrix_factors() {
        let chol = Cholesky::new(&DMatrix::zeros(0, 0)).unwrap();
        assert_eq!(chol.solve(&[]).unwrap(), Vec::<f64>::new());
        assert_eq!(chol.log_det(), 0.0);
    }

    #[test]
    fn bad_input_is_an_error() {
        let a = DMatrix::from_row_slice(2, 3, &[1.0; 6]);
        assert_eq!(
            Cholesky::new(&a).unwrap_err().to_string(),
            "a is 2×3, expected 3×3"
        );
        let mut a = DMatrix::identity(2, 2);
        a[(1, 0)] = f64::NAN;
        assert_eq!(
            Cholesky::new(&a).unwrap_err().to_string(),
            "a[(1, 0)] = NaN is not finite"
        );
        let chol = Cholesky::new(&DMatrix::identity(2, 2)).unwrap();
        assert!(matches!(
            chol.solve(&[1.0]),
            Err(LinalgError::LengthMismatch {
                got: 1,
                expected: 2,
                ..
            })
        ));
        assert_eq!(
            Cholesky::with_dim(2).solve(&[1.0, 1.0]),
            Err(LinalgError::NotFactored)
        );
    }
}
