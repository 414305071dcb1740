//! Symmetric eigen-decomposition `A = V Λ Vᵀ`.
//!
//! Golub & Van Loan (2013) §8.3: Householder tridiagonalization, then the
//! implicit symmetric QR algorithm or divide and conquer on the tridiagonal,
//! as faer's `linalg::evd::self_adjoint_evd` does. Only the lower triangle of
//! `A` is read. Eigenvalues come in ascending order, `λ_0 ≤ … ≤ λ_{n−1}`, with
//! orthonormal eigenvectors as the columns of `V`.
//!
//! Saddle-free Newton (Dauphin et al. 2014) forms `|A| = V |Λ| Vᵀ` from it.

use faer::dyn_stack::StackReq;
use faer::linalg::evd;
use nalgebra::DMatrix;

use super::{LinalgError, Scratch, check_finite_lower, check_square, faer_mut, faer_ref, par};

/// The eigen-decomposition `A = V Λ Vᵀ` of a symmetric matrix.
///
/// ```
/// use hesse::linalg::SymmetricEigen;
/// use nalgebra::DMatrix;
/// let a = DMatrix::from_row_slice(2, 2, &[2.0, 1.0, 1.0, 2.0]);
/// let eig = SymmetricEigen::new(&a).unwrap();
/// assert!((eig.values()[0] - 1.0).abs() < 1e-15);
/// assert!((eig.values()[1] - 3.0).abs() < 1e-15);
/// let v = eig.vectors();
/// let rebuilt = v * DMatrix::from_diagonal(&eig.values().into()) * v.transpose();
/// assert!((rebuilt - a).norm() < 1e-14);
/// ```
#[derive(Clone, Debug)]
pub struct SymmetricEigen {
    values: Vec<f64>,
    /// n × n, eigenvectors as columns.
    vectors: DMatrix<f64>,
    scratch: Scratch,
    factored: bool,
}

impl Default for SymmetricEigen {
    fn default() -> Self {
        Self::with_dim(0)
    }
}

impl SymmetricEigen {
    /// Decomposes `a` (lower triangle read), allocating the workspace.
    pub fn new(a: &DMatrix<f64>) -> Result<Self, LinalgError> {
        let mut e = Self::with_dim(a.nrows());
        e.factor(a)?;
        Ok(e)
    }

    /// An empty workspace for `n × n` matrices.
    pub fn with_dim(n: usize) -> Self {
        let mut scratch = Scratch::new();
        scratch.stack(Self::factor_scratch(n));
        Self {
            values: vec![0.0; n],
            vectors: DMatrix::zeros(n, n),
            scratch,
            factored: false,
        }
    }

    /// The scratch faer needs at size `n` (sizing twin of [`factor`](Self::factor)).
    pub fn factor_scratch(n: usize) -> StackReq {
        if n == 0 {
            // faer 0.24's sizing underflows (`n - 1`) at n = 0; nothing is needed.
            return StackReq::EMPTY;
        }
        evd::self_adjoint_evd_scratch::<f64>(
            n,
            evd::ComputeEigenvectors::Yes,
            par(),
            Default::default(),
        )
    }

    /// The dimension `n`.
    pub fn dim(&self) -> usize {
        self.values.len()
    }

    /// Decomposes `a`. Errors: not square, non-finite entries, or (never seen
    /// in practice) no convergence of the QR iteration.
    pub fn factor(&mut self, a: &DMatrix<f64>) -> Result<(), LinalgError> {
        let n = check_square("a", a)?;
        check_finite_lower("a", a)?;
        if self.dim() != n {
            *self = Self::with_dim(n);
        }
        self.factored = false;
        let stack = self.scratch.stack(Self::factor_scratch(n));
        evd::self_adjoint_evd(
            faer_ref(a),
            faer::diag::DiagMut::from_slice_mut(&mut self.values),
            Some(faer_mut(&mut self.vectors)),
            par(),
            stack,
            Default::default(),
        )
        .map_err(|_| LinalgError::NoConvergence)?;
        self.factored = true;
        Ok(())
    }

    /// The eigenvalues, ascending.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// The eigenvectors, column `i` for `values()[i]`.
    pub fn vectors(&self) -> &DMatrix<f64> {
        &self.vectors
    }

    /// Whether the last decomposition succeeded.
    pub fn is_factored(&self) -> bool {
        self.factored
    }
}
