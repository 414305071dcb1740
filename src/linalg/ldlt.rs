//! Symmetric indefinite factorization `P A Pᵀ = L D Lᵀ` with Bunch-Kaufman pivoting.
//!
//! Bunch & Kaufman (1977); Golub & Van Loan (2013) §4.4.4. `L` is unit lower
//! triangular, `D` block diagonal with `1×1` and `2×2` blocks, `P` a
//! permutation. Computed by faer's `linalg::cholesky::bunch_kaufman` (partial
//! pivoting, faer's default). Only the lower triangle of `A` is read.
//!
//! By Sylvester's law of inertia, `A` and `D` have the same numbers of
//! positive, negative and zero eigenvalues; each `2×2` block of `D` has a
//! negative determinant (one eigenvalue of each sign), so the [`Inertia`] is read
//! off `D` in `O(n)`.

use faer::dyn_stack::StackReq;
use faer::linalg::cholesky::lblt as bunch_kaufman;
use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};

use super::cholesky::copy_lower;
use super::{
    LinalgError, Scratch, check_finite_lower, check_len, check_square, faer_mut, faer_ref, par,
};

/// Counts of positive, negative and zero eigenvalues of a symmetric matrix.
///
/// An eigenvalue of `D` counts as zero when `|λ| ≤ n ε max|D|`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inertia {
    /// Eigenvalues `> 0`.
    pub positive: usize,
    /// Eigenvalues `< 0`.
    pub negative: usize,
    /// Eigenvalues `= 0` (to the tolerance above).
    pub zero: usize,
}

impl Inertia {
    /// Whether the matrix is positive definite.
    pub fn is_positive_definite(&self) -> bool {
        self.negative == 0 && self.zero == 0
    }
}

/// The Bunch-Kaufman factorization `P A Pᵀ = L D Lᵀ` of a symmetric, possibly
/// indefinite matrix.
///
/// ```
/// use hesse::linalg::{Inertia, Ldlt};
/// use nalgebra::DMatrix;
/// // Eigenvalues 3, −1 and 0.5... and a zero diagonal to force a 2×2 pivot.
/// let a = DMatrix::from_row_slice(3, 3, &[0.0, 2.0, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.5]);
/// let mut ldlt = Ldlt::new(&a).unwrap();
/// assert_eq!(ldlt.inertia(), Inertia { positive: 2, negative: 1, zero: 0 });
/// let mut x = [2.0, 4.0, 1.0];
/// ldlt.solve_mut(&mut x).unwrap();
/// assert!((x[0] - 2.0).abs() < 1e-15 && (x[1] - 1.0).abs() < 1e-15 && (x[2] - 2.0).abs() < 1e-15);
/// ```
#[derive(Clone, Debug)]
pub struct Ldlt {
    /// n × n: `L` (unit, strictly lower part) and the diagonal of `D`.
    ld: DMatrix<f64>,
    /// The subdiagonal of `D` (nonzero at the first row of each 2×2 block).
    subdiag: Vec<f64>,
    perm: Vec<usize>,
    perm_inv: Vec<usize>,
    scratch: Scratch,
    factored: bool,
}

impl Default for Ldlt {
    fn default() -> Self {
        Self::with_dim(0)
    }
}

impl Ldlt {
    /// Factors `a` (lower triangle read), allocating the workspace.
    pub fn new(a: &DMatrix<f64>) -> Result<Self, LinalgError> {
        let mut f = Self::with_dim(a.nrows());
        f.factor(a)?;
        Ok(f)
    }

    /// An unfactored workspace for `n × n` matrices.
    pub fn with_dim(n: usize) -> Self {
        let mut scratch = Scratch::new();
        scratch.stack(Self::factor_scratch(n));
        Self {
            ld: DMatrix::zeros(n, n),
            subdiag: vec![0.0; n],
            perm: vec![0; n],
            perm_inv: vec![0; n],
            scratch,
            factored: false,
        }
    }

    /// The scratch faer needs to factor and solve at size `n` (sizing twin).
    pub fn factor_scratch(n: usize) -> StackReq {
        StackReq::any_of(&[
            bunch_kaufman::factor::cholesky_in_place_scratch::<usize, f64>(
                n,
                par(),
                Default::default(),
            ),
            bunch_kaufman::solve::solve_in_place_scratch::<usize, f64>(n, 1, par()),
        ])
    }

    /// The dimension `n`.
    pub fn dim(&self) -> usize {
        self.ld.nrows()
    }

    /// Factors `P a Pᵀ = L D Lᵀ`. Never fails on a finite square matrix
    /// (singular ones included: the zero pivots show in the inertia).
    pub fn factor(&mut self, a: &DMatrix<f64>) -> Result<(), LinalgError> {
        let n = check_square("a", a)?;
        check_finite_lower("a", a)?;
        if self.dim() != n {
            *self = Self::with_dim(n);
        }
        copy_lower(a, &mut self.ld);
        let stack = self.scratch.stack(Self::factor_scratch(n));
        let sub = faer::diag::DiagMut::from_slice_mut(&mut self.subdiag);
        bunch_kaufman::factor::cholesky_in_place(
            faer_mut(&mut self.ld),
            sub,
            &mut self.perm,
            &mut self.perm_inv,
            par(),
            stack,
            Default::default(),
        );
        self.factored = true;
        Ok(())
    }

    /// The eigenvalues of `D`'s blocks, in block order (`2×2` blocks give two).
    fn for_each_block_eigenvalue(&self, mut f: impl FnMut(usize, f64)) {
        let n = self.dim();
        let mut i = 0;
        while i < n {
            let d0 = self.ld[(i, i)];
            if i + 1 < n && self.subdiag[i] != 0.0 {
                let d1 = self.ld[(i + 1, i + 1)];
                let s = self.subdiag[i];
                // Eigenvalues of [[d0, s], [s, d1]]: mean ± hypot(half-difference, s).
                let mean = 0.5 * (d0 + d1);
                let rad = (0.5 * (d0 - d1)).hypot(s);
                f(i, mean - rad);
                f(i + 1, mean + rad);
                i += 2;
            } else {
                f(i, d0);
                i += 1;
            }
        }
    }

    /// The inertia of `A` (that of `D`); all zero before a factorization.
    pub fn inertia(&self) -> Inertia {
        let mut inertia = Inertia::default();
        if !self.factored {
            return inertia;
        }
        let mut max = 0.0f64;
        self.for_each_block_eigenvalue(|_, l| max = max.max(l.abs()));
        let tol = self.dim() as f64 * f64::EPSILON * max;
        self.for_each_block_eigenvalue(|_, l| {
            if l > tol {
                inertia.positive += 1;
            } else if l < -tol {
                inertia.negative += 1;
            } else {
                inertia.zero += 1;
            }
        });
        inertia
    }

    /// The diagonal of `D` (block diagonals included).
    pub fn d_diagonal(&self) -> Vec<f64> {
        (0..self.dim()).map(|i| self.ld[(i, i)]).collect()
    }

    /// The subdiagonal of `D`: nonzero at `i` when rows `i, i+1` form a `2×2` block.
    pub fn d_subdiagonal(&self) -> &[f64] {
        &self.subdiag
    }

    /// The permutation: row `i` of `P A Pᵀ` is row `perm()[i]` of `A`.
    pub fn perm(&self) -> &[usize] {
        &self.perm
    }

    /// `L`, unit lower triangular (allocates).
    pub fn l(&self) -> DMatrix<f64> {
        let mut l = self.ld.clone();
        l.fill_upper_triangle(0.0, 1);
        l.fill_diagonal(1.0);
        l
    }

    /// Solves `A x = b` in place.
    ///
    /// Errors: wrong length; no factorization; a singular `D`
    /// ([`LinalgError::Singular`] at the first zero eigenvalue of `D`).
    pub fn solve_mut(&mut self, b: &mut [f64]) -> Result<(), LinalgError> {
        if !self.factored {
            return Err(LinalgError::NotFactored);
        }
        let n = self.dim();
        check_len("b", b, n, "factorization")?;
        let mut max = 0.0f64;
        self.for_each_block_eigenvalue(|_, l| max = max.max(l.abs()));
        let tol = n as f64 * f64::EPSILON * max;
        let mut singular = None;
        self.for_each_block_eigenvalue(|i, l| {
            if l.abs() <= tol && singular.is_none() {
                singular = Some(i);
            }
        });
        if let Some(index) = singular {
            return Err(LinalgError::Singular { index });
        }
        // SAFETY-free: the permutation came from faer and is valid.
        let perm = faer::perm::PermRef::new_checked(&self.perm, &self.perm_inv, n);
        let stack = self.scratch.stack(Self::factor_scratch(n));
        let ld = faer_ref(&self.ld);
        bunch_kaufman::solve::solve_in_place(
            ld,
            ld.diagonal(),
            faer::diag::DiagRef::from_slice(&self.subdiag),
            perm,
            faer::MatMut::from_column_major_slice_mut(b, n, 1),
            par(),
            stack,
        );
        Ok(())
    }
}
