//! Householder QR factorization `A P = Q R`, optionally with column pivoting.
//!
//! Golub & Van Loan (2013) §5.2 (Householder QR) and §5.4.2 (QR with column
//! pivoting, Businger & Golub 1965). Computed by faer's blocked algorithms
//! (`faer::linalg::qr::{no_pivoting, col_pivoting}`): `Q` is kept as a sequence
//! of block Householder reflectors in the strictly lower part of the buffer and
//! a small coefficient matrix, never formed unless asked for.
//!
//! Shapes for `A` of size `m × n`, `k = min(m, n)`: `Q` is `m × m` orthogonal
//! (thin: `m × k`), `R` is `k × n` upper trapezoidal, `P` an `n × n`
//! permutation (the identity without pivoting).
//!
//! Least squares `min ‖A x − b‖₂` (`m ≥ n`, full column rank) is solved as
//! `R z = (Qᵀ b)[..n]`, `x = P z`: backward stable, unlike the normal equations
//! whose condition number is `κ(A)²` (G&VL §5.3.7). Levenberg-Marquardt solves
//! `[J; √λ D]` this way, as MINPACK's `lmder` does.

use faer::Conj;
use faer::dyn_stack::StackReq;
use faer::linalg::householder;
use faer::linalg::qr::{col_pivoting, no_pivoting};
use nalgebra::DMatrix;

use super::{LinalgError, Scratch, check_finite_mat, check_len, faer_mut, faer_ref, par};

/// The QR factorization `A P = Q R` of an `m × n` matrix.
///
/// ```
/// use hesse::linalg::Qr;
/// use nalgebra::DMatrix;
/// // Fit y = c0 + c1 t through (0, 1), (1, 3), (2, 5): exact, c = (1, 2).
/// let a = DMatrix::from_row_slice(3, 2, &[1.0, 0.0, 1.0, 1.0, 1.0, 2.0]);
/// let mut qr = Qr::new(&a).unwrap();
/// let c = qr.solve_least_squares(&[1.0, 3.0, 5.0]).unwrap();
/// assert!((c[0] - 1.0).abs() < 1e-14 && (c[1] - 2.0).abs() < 1e-14);
/// // Q R = A
/// let rebuilt = qr.q_thin() * qr.r();
/// assert!((rebuilt - &a).norm() < 1e-14);
/// ```
#[derive(Clone, Debug)]
pub struct Qr {
    /// m × n: Householder vectors below the diagonal, `R` on and above it.
    qr: DMatrix<f64>,
    /// block_size × k Householder coefficients.
    h: faer::Mat<f64>,
    pivoted: bool,
    perm: Vec<usize>,
    perm_inv: Vec<usize>,
    scratch: Scratch,
    /// n entries, for un-permuting a solution.
    work: Vec<f64>,
    factored: bool,
}

impl Default for Qr {
    fn default() -> Self {
        Self::with_shape(0, 0)
    }
}

impl Qr {
    /// Householder QR of `a` without pivoting (`P = I`).
    pub fn new(a: &DMatrix<f64>) -> Result<Self, LinalgError> {
        let mut qr = Self::with_shape(a.nrows(), a.ncols());
        qr.factor(a)?;
        Ok(qr)
    }

    /// Householder QR of `a` with column pivoting: `|R_00| ≥ |R_11| ≥ …`,
    /// which reveals the numerical rank.
    pub fn new_pivoted(a: &DMatrix<f64>) -> Result<Self, LinalgError> {
        let mut qr = Self::with_shape(a.nrows(), a.ncols());
        qr.factor_pivoted(a)?;
        Ok(qr)
    }

    /// An unfactored workspace for `m × n` matrices.
    pub fn with_shape(m: usize, n: usize) -> Self {
        let bs = no_pivoting::factor::recommended_block_size::<f64>(m, n);
        let mut scratch = Scratch::new();
        scratch.stack(Self::factor_scratch(m, n));
        Self {
            qr: DMatrix::zeros(m, n),
            h: faer::Mat::zeros(bs, m.min(n)),
            pivoted: false,
            perm: (0..n).collect(),
            perm_inv: (0..n).collect(),
            scratch,
            work: Vec::with_capacity(n),
            factored: false,
        }
    }

    /// The scratch faer needs to factor an `m × n` matrix and to apply `Q`
    /// or `Qᵀ` to one vector (sizing twin of [`factor`](Self::factor)).
    pub fn factor_scratch(m: usize, n: usize) -> StackReq {
        let bs = no_pivoting::factor::recommended_block_size::<f64>(m, n);
        StackReq::any_of(&[
            no_pivoting::factor::qr_in_place_scratch::<f64>(m, n, bs, par(), Default::default()),
            col_pivoting::factor::qr_in_place_scratch::<usize, f64>(
                m,
                n,
                bs,
                par(),
                Default::default(),
            ),
            householder::apply_block_householder_sequence_transpose_on_the_left_in_place_scratch::<
                f64,
            >(m, bs, 1),
            householder::apply_block_householder_sequence_on_the_left_in_place_scratch::<f64>(
                m, bs, 1,
            ),
        ])
    }

    /// `(m, n)`, the shape of `A`.
    pub fn shape(&self) -> (usize, usize) {
        self.qr.shape()
    }

    fn prepare(&mut self, a: &DMatrix<f64>) -> Result<(), LinalgError> {
        check_finite_mat("a", a)?;
        if self.qr.shape() != a.shape() {
            *self = Self::with_shape(a.nrows(), a.ncols());
        }
        self.qr.copy_from(a);
        Ok(())
    }

    /// Factors `a = Q R` (no pivoting). Errors only on non-finite entries.
    pub fn factor(&mut self, a: &DMatrix<f64>) -> Result<(), LinalgError> {
        self.prepare(a)?;
        let (m, n) = a.shape();
        let stack = self.scratch.stack(Self::factor_scratch(m, n));
        no_pivoting::factor::qr_in_place(
            faer_mut(&mut self.qr),
            self.h.as_mut(),
            par(),
            stack,
            Default::default(),
        );
        for (j, (p, q)) in self
            .perm
            .iter_mut()
            .zip(self.perm_inv.iter_mut())
            .enumerate()
        {
            *p = j;
            *q = j;
        }
        self.pivoted = false;
        self.factored = true;
        Ok(())
    }

    /// Factors `a P = Q R` with column pivoting. Errors only on non-finite entries.
    pub fn factor_pivoted(&mut self, a: &DMatrix<f64>) -> Result<(), LinalgError> {
        self.prepare(a)?;
        let (m, n) = a.shape();
        let stack = self.scratch.stack(Self::factor_scratch(m, n));
        col_pivoting::factor::qr_in_place(
            faer_mut(&mut self.qr),
            self.h.as_mut(),
            &mut self.perm,
            &mut self.perm_inv,
            par(),
            stack,
            Default::default(),
        );
        self.pivoted = true;
        self.factored = true;
        Ok(())
    }

    fn k(&self) -> usize {
        let (m, n) = self.qr.shape();
        m.min(n)
    }

    /// `R`, `k × n` upper trapezoidal (allocates).
    pub fn r(&self) -> DMatrix<f64> {
        let k = self.k();
        let mut r = self.qr.rows(0, k).into_owned();
        r.fill_lower_triangle(0.0, 1);
        r
    }

    /// The buffer: `R` on and above the diagonal, Householder vectors below
    /// (allocation-less version of [`r`](Self::r)).
    pub fn qr_dirty(&self) -> &DMatrix<f64> {
        &self.qr
    }

    /// The column permutation: column `j` of `A P` is column `perm()[j]` of `A`
    /// (`0, 1, …` without pivoting).
    pub fn perm(&self) -> &[usize] {
        &self.perm
    }

    /// Whether the last factorization used column pivoting.
    pub fn is_pivoted(&self) -> bool {
        self.pivoted
    }

    /// `b ← Qᵀ b` in place (`b` has `m` entries).
    pub fn apply_qt_mut(&mut self, b: &mut [f64]) -> Result<(), LinalgError> {
        self.apply(b, true)
    }

    /// `b ← Q b` in place (`b` has `m` entries).
    pub fn apply_q_mut(&mut self, b: &mut [f64]) -> Result<(), LinalgError> {
        self.apply(b, false)
    }

    fn apply(&mut self, b: &mut [f64], transpose: bool) -> Result<(), LinalgError> {
        if !self.factored {
            return Err(LinalgError::NotFactored);
        }
        let (m, n) = self.qr.shape();
        check_len("b", b, m, "rows of A")?;
        let k = self.k();
        if k == 0 {
            return Ok(());
        }
        let stack = self.scratch.stack(Self::factor_scratch(m, n));
        let basis = faer_ref(&self.qr).get(.., ..k);
        let rhs = faer::MatMut::from_column_major_slice_mut(b, m, 1);
        if transpose {
            householder::apply_block_householder_sequence_transpose_on_the_left_in_place_with_conj(
                basis,
                self.h.as_ref(),
                Conj::Yes,
                rhs,
                par(),
                stack,
            );
        } else {
            householder::apply_block_householder_sequence_on_the_left_in_place_with_conj(
                basis,
                self.h.as_ref(),
                Conj::No,
                rhs,
                par(),
                stack,
            );
        }
        Ok(())
    }

    /// The thin `Q`, `m × k` with orthonormal columns (allocates).
    pub fn q_thin(&mut self) -> DMatrix<f64> {
        let (m, _) = self.qr.shape();
        let k = self.k();
        let mut q = DMatrix::identity(m, k);
        if self.factored {
            for j in 0..k {
                let col = q.column_mut(j);
                let s = col.data.into_slice_mut();
                // Cannot fail: factored, and the column has m entries.
                let _ = self.apply_q_mut(s);
            }
        }
        q
    }

    /// Solves `min ‖A x − b‖₂` for `m ≥ n` in place: on return the first `n`
    /// entries of `b` hold `x` and the last `m − n` hold the residual's
    /// components `(Qᵀ(b − A x))[n..]`, so `‖A x − b‖₂` is their norm.
    ///
    /// Errors: `m < n` ([`LinalgError::ShapeMismatch`]); wrong length; a
    /// (numerically) rank-deficient `A`, `|R_jj| ≤ max(m, n) ε max_i |R_ii|`
    /// ([`LinalgError::Singular`] at the first such `j` of `R`, a column of
    /// `A P`).
    pub fn solve_least_squares_mut(&mut self, b: &mut [f64]) -> Result<(), LinalgError> {
        let (m, n) = self.qr.shape();
        if m < n {
            return Err(LinalgError::ShapeMismatch {
                what: "a",
                rows: m,
                cols: n,
                expected_rows: n,
                expected_cols: n,
            });
        }
        self.apply_qt_mut(b)?;
        let rmax = (0..n).map(|i| self.qr[(i, i)].abs()).fold(0.0, f64::max);
        let tol = m.max(n) as f64 * f64::EPSILON * rmax;
        if let Some(j) = (0..n).find(|&j| self.qr[(j, j)].abs() <= tol) {
            return Err(LinalgError::Singular { index: j });
        }
        // Back substitution R z = (Qᵀ b)[..n], column-oriented.
        for j in (0..n).rev() {
            let zj = b[j] / self.qr[(j, j)];
            b[j] = zj;
            let col = &self.qr.as_slice()[j * m..j * m + j];
            for (bi, rij) in b[..j].iter_mut().zip(col) {
                *bi -= rij * zj;
            }
        }
        if self.pivoted {
            // x[perm[j]] = z[j], through a buffer kept in the workspace.
            self.work.clear();
            self.work.extend_from_slice(&b[..n]);
            for (j, &p) in self.perm.iter().enumerate() {
                b[p] = self.work[j];
            }
        }
        Ok(())
    }

    /// Solves `min ‖A x − b‖₂` and returns `x` (`n` entries; allocates).
    #[must_use = "Did you mean to use solve_least_squares_mut()?"]
    pub fn solve_least_squares(&mut self, b: &[f64]) -> Result<Vec<f64>, LinalgError> {
        let n = self.qr.ncols();
        let mut x = b.to_vec();
        self.solve_least_squares_mut(&mut x)?;
        x.truncate(n);
        Ok(x)
    }
}
