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
//! `[J; √λ D]` this way, as MINPACK's `lmder` does: it factors `J P = Q R`
//! once per Jacobian ([`Qr::factor_pivoted_view`]), reads the column norms
//! `‖A e_j‖₂` ([`Qr::col_norms`], MINPACK's `acnorm`) and solves with `R` and
//! `Rᵀ` ([`Qr::solve_r_mut`], [`Qr::solve_rt_mut`], [`Qr::permute_mut`]).
//!
//! A zero matrix (every column norm 0, or no columns) factors as `Q = I`,
//! `R = 0`, `P = I`: faer's pivoted algorithm scales by the largest column
//! norm, which must not be 0.
//!
//! Tall matrices (`m ≥ 2n`, `n ≥ 64`) are factored with pivoting in two
//! stages: the blocked, unpivoted `A = Q₁ R₁` (matrix-matrix products), then
//! the pivoted `R₁ P = Q₂ R₂` of the small `n × n` factor, so that `A P =
//! (Q₁ diag(Q₂, I)) R₂`. Pivoted QR cannot be blocked the same way (each
//! pivot choice needs the column norms updated by the previous reflector),
//! and `R₁ᵀ R₁ = AᵀA`, so the pivoting sees the same column norms and
//! projections as on `A` (the same choices up to rounding in near ties).
//! At `1e4 × 1e3` (faer 0.24, Intel Xeon, 2 threads, a loaded machine) one
//! pivoted factorization took 3.5-3.7 s in one stage, where the unpivoted
//! first stage takes 0.8-0.9 s; dense Levenberg-Marquardt on such a
//! Jacobian went from 25-57 s to 11 s (`docs/bench/sparse_lsq.md`).

use faer::Conj;
use faer::dyn_stack::StackReq;
use faer::linalg::householder;
use faer::linalg::qr::{col_pivoting, no_pivoting};
use nalgebra::{DMatrix, DMatrixView};

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
    /// `‖A e_j‖₂`, n entries, in the original column order.
    col_norms: Vec<f64>,
    /// `A = 0` (or `n = 0`): `Q = I`, `R = 0`, `P = I`, faer not called.
    zero: bool,
    /// The last factorization was pivoted in two stages ([module
    /// docs](self)): `qr` holds `Q₁`'s vectors below the diagonal and `R₂` on
    /// and above it; `stage2` and `h2` hold `Q₂`.
    two_stage: bool,
    /// n × n (tall shapes only): `Q₂`'s vectors below the diagonal.
    stage2: DMatrix<f64>,
    /// Householder coefficients of `Q₂`.
    h2: faer::Mat<f64>,
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
        let n2 = if Self::is_tall(m, n) { n } else { 0 };
        Self {
            qr: DMatrix::zeros(m, n),
            h: faer::Mat::zeros(bs, m.min(n)),
            pivoted: false,
            perm: (0..n).collect(),
            perm_inv: (0..n).collect(),
            col_norms: vec![0.0; n],
            zero: false,
            two_stage: false,
            stage2: DMatrix::zeros(n2, n2),
            h2: faer::Mat::zeros(
                no_pivoting::factor::recommended_block_size::<f64>(n2, n2),
                n2,
            ),
            scratch,
            work: Vec::with_capacity(n),
            factored: false,
        }
    }

    /// The scratch faer needs to factor an `m × n` matrix and to apply `Q`
    /// or `Qᵀ` to one vector (sizing twin of [`factor`](Self::factor)).
    pub fn factor_scratch(m: usize, n: usize) -> StackReq {
        let bs = no_pivoting::factor::recommended_block_size::<f64>(m, n);
        let bs2 = no_pivoting::factor::recommended_block_size::<f64>(n, n);
        StackReq::any_of(&[
            col_pivoting::factor::qr_in_place_scratch::<usize, f64>(
                n,
                n,
                bs2,
                par(),
                Default::default(),
            ),
            householder::apply_block_householder_sequence_transpose_on_the_left_in_place_scratch::<
                f64,
            >(n, bs2, 1),
            householder::apply_block_householder_sequence_on_the_left_in_place_scratch::<f64>(
                n, bs2, 1,
            ),
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

    /// Shapes whose pivoted factorization runs in two stages (module docs).
    fn is_tall(m: usize, n: usize) -> bool {
        n >= 64 && m >= 2 * n
    }

    /// `(m, n)`, the shape of `A`.
    pub fn shape(&self) -> (usize, usize) {
        self.qr.shape()
    }

    /// Copies `a` (finite: the callers check) into the buffer, resized if
    /// its shape changed, and computes its column norms; `true` when `a` is
    /// zero (then `R = 0`, `P = I` already).
    fn prepare(&mut self, a: DMatrixView<'_, f64>) -> bool {
        let m = a.nrows();
        if self.qr.shape() != a.shape() {
            *self = Self::with_shape(a.nrows(), a.ncols());
        }
        self.qr.copy_from(&a);
        for (j, c) in self.col_norms.iter_mut().enumerate() {
            *c = column_norm(&self.qr.as_slice()[j * m..(j + 1) * m]);
        }
        self.zero = self.col_norms.iter().all(|&c| c == 0.0);
        if self.zero {
            // −0 entries stay −0 in R otherwise; R = 0 exactly.
            self.qr.fill(0.0);
            self.reset_perm();
        }
        self.zero
    }

    fn reset_perm(&mut self) {
        for (j, (p, q)) in self
            .perm
            .iter_mut()
            .zip(self.perm_inv.iter_mut())
            .enumerate()
        {
            *p = j;
            *q = j;
        }
    }

    /// Factors `a = Q R` (no pivoting). Errors only on non-finite entries.
    pub fn factor(&mut self, a: &DMatrix<f64>) -> Result<(), LinalgError> {
        check_finite_mat("a", a)?;
        let zero = self.prepare(a.as_view());
        self.pivoted = false;
        self.two_stage = false;
        self.factored = true;
        if zero {
            return Ok(());
        }
        let (m, n) = a.shape();
        let stack = self.scratch.stack(Self::factor_scratch(m, n));
        no_pivoting::factor::qr_in_place(
            faer_mut(&mut self.qr),
            self.h.as_mut(),
            par(),
            stack,
            Default::default(),
        );
        self.reset_perm();
        Ok(())
    }

    /// Factors `a P = Q R` with column pivoting. Errors only on non-finite entries.
    pub fn factor_pivoted(&mut self, a: &DMatrix<f64>) -> Result<(), LinalgError> {
        self.factor_pivoted_view(a.as_view())
    }

    /// [`factor_pivoted`](Self::factor_pivoted) of a view, e.g. of an
    /// `m × n` column-major slice, `DMatrixView::from_slice(a, m, n)`, with
    /// no copy but the one into the factorization's own buffer.
    ///
    /// ```
    /// use hesse::linalg::Qr;
    /// use nalgebra::DMatrixView;
    /// // Columns (3, 4) and (0, 1), column-major.
    /// let a = [3.0, 4.0, 0.0, 1.0];
    /// let mut qr = Qr::with_shape(2, 2);
    /// qr.factor_pivoted_view(DMatrixView::from_slice(&a, 2, 2)).unwrap();
    /// assert_eq!(qr.col_norms(), &[5.0, 1.0]);
    /// assert_eq!(qr.perm(), &[0, 1]); // the larger column first
    /// assert!((qr.qr_dirty()[(0, 0)].abs() - 5.0).abs() < 1e-15);
    /// ```
    pub fn factor_pivoted_view(&mut self, a: DMatrixView<'_, f64>) -> Result<(), LinalgError> {
        let m = a.nrows();
        if let Some((k, v)) = a.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(LinalgError::NonFinite {
                what: "a",
                index: format!("({}, {})", k % m, k / m),
                value: *v,
            });
        }
        let zero = self.prepare(a);
        self.pivoted = true;
        self.two_stage = false;
        self.factored = true;
        if zero {
            return Ok(());
        }
        let (m, n) = a.shape();
        let stack = self.scratch.stack(Self::factor_scratch(m, n));
        if Self::is_tall(m, n) {
            // A = Q₁ R₁ (blocked), then R₁ P = Q₂ R₂; R₂ replaces R₁.
            no_pivoting::factor::qr_in_place(
                faer_mut(&mut self.qr),
                self.h.as_mut(),
                par(),
                &mut *stack,
                Default::default(),
            );
            for j in 0..n {
                let col = &self.qr.as_slice()[j * m..j * m + n];
                let dst = &mut self.stage2.as_mut_slice()[j * n..(j + 1) * n];
                dst[..=j].copy_from_slice(&col[..=j]);
                dst[j + 1..].fill(0.0);
            }
            col_pivoting::factor::qr_in_place(
                faer_mut(&mut self.stage2),
                self.h2.as_mut(),
                &mut self.perm,
                &mut self.perm_inv,
                par(),
                stack,
                Default::default(),
            );
            for j in 0..n {
                let src = &self.stage2.as_slice()[j * n..j * n + j + 1];
                self.qr.as_mut_slice()[j * m..j * m + j + 1].copy_from_slice(src);
            }
            self.two_stage = true;
            return Ok(());
        }
        col_pivoting::factor::qr_in_place(
            faer_mut(&mut self.qr),
            self.h.as_mut(),
            &mut self.perm,
            &mut self.perm_inv,
            par(),
            stack,
            Default::default(),
        );
        Ok(())
    }

    /// `‖A e_j‖₂` for every column `j` of the last factored `A`, in `A`'s
    /// own column order (MINPACK `qrfac`'s `acnorm`), computed without
    /// overflow or destructive underflow.
    pub fn col_norms(&self) -> &[f64] {
        &self.col_norms
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
        if k == 0 || self.zero {
            return Ok(());
        }
        let stack = self.scratch.stack(Self::factor_scratch(m, n));
        let stages = [
            (faer_ref(&self.qr).get(.., ..k), self.h.as_ref(), m),
            (faer_ref(&self.stage2), self.h2.as_ref(), n),
        ];
        // Qᵀ = diag(Q₂ᵀ, I) Q₁ᵀ and Q = Q₁ diag(Q₂, I) in two stages.
        let used = if self.two_stage { 2 } else { 1 };
        let mut apply_stage = |(basis, h, rows): (
            faer::MatRef<'_, f64>,
            faer::MatRef<'_, f64>,
            usize,
        )| {
            let rhs = faer::MatMut::from_column_major_slice_mut(&mut b[..rows], rows, 1);
            if transpose {
                householder::apply_block_householder_sequence_transpose_on_the_left_in_place_with_conj(
                    basis,
                    h,
                    Conj::Yes,
                    rhs,
                    par(),
                    &mut *stack,
                );
            } else {
                householder::apply_block_householder_sequence_on_the_left_in_place_with_conj(
                    basis,
                    h,
                    Conj::No,
                    rhs,
                    par(),
                    &mut *stack,
                );
            }
        };
        if transpose {
            stages.into_iter().take(used).for_each(&mut apply_stage);
        } else {
            stages
                .into_iter()
                .take(used)
                .rev()
                .for_each(&mut apply_stage);
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

    /// Back substitution `R z = c` in place for the leading `n × n` block of
    /// `R` (`c` has `n` entries, `m ≥ n`), as MINPACK's `lmpar` computes the
    /// Gauss-Newton step: with `s` the first exactly zero pivot `R_ss = 0`,
    /// `z[s..] = 0` and the leading `s × s` block is solved (a least-squares
    /// solution, not the minimum-norm one, when `A` is rank deficient).
    /// Returns `s` (`n` for a nonsingular `R`). Column-oriented, no
    /// allocation. `x = P z` is [`permute_mut`](Self::permute_mut).
    ///
    /// # Panics
    /// If `c` has fewer than `n` entries or `m < n`.
    pub fn solve_r_mut(&self, c: &mut [f64]) -> usize {
        let (m, n) = self.qr.shape();
        assert!(
            m >= n && c.len() >= n,
            "R z = c: R is {m} x {n}, c has {}",
            c.len()
        );
        let r = self.qr.as_slice();
        let nsing = (0..n).find(|&j| r[j + j * m] == 0.0).unwrap_or(n);
        c[nsing..n].iter_mut().for_each(|v| *v = 0.0);
        for j in (0..nsing).rev() {
            c[j] /= r[j + j * m];
            let zj = c[j];
            for (ci, rij) in c[..j].iter_mut().zip(&r[j * m..j * m + j]) {
                *ci -= rij * zj;
            }
        }
        nsing
    }

    /// Forward substitution `Rᵀ z = c` in place (`c` has `n` entries,
    /// `m ≥ n`), for a nonsingular leading block of `R` (a zero pivot gives
    /// infinities, which the caller tests for).
    ///
    /// # Panics
    /// If `c` has fewer than `n` entries or `m < n`.
    pub fn solve_rt_mut(&self, c: &mut [f64]) {
        let (m, n) = self.qr.shape();
        assert!(
            m >= n && c.len() >= n,
            "Rᵀ z = c: R is {m} x {n}, c has {}",
            c.len()
        );
        let r = self.qr.as_slice();
        for j in 0..n {
            let s: f64 = r[j * m..j * m + j]
                .iter()
                .zip(&c[..j])
                .map(|(rij, ci)| rij * ci)
                .sum();
            c[j] = (c[j] - s) / r[j + j * m];
        }
    }

    /// `x = P z`: `x[perm[j]] = z[j]` (both with `n` entries).
    ///
    /// # Panics
    /// If `z` or `x` has fewer than `n` entries.
    pub fn permute_mut(&self, z: &[f64], x: &mut [f64]) {
        for (j, &p) in self.perm.iter().enumerate() {
            x[p] = z[j];
        }
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

/// `‖v‖₂` without overflow or destructive underflow (MINPACK's `enorm`
/// intent): the plain sum of squares when it neither overflowed nor lost
/// digits to underflow, else the sum scaled by the largest magnitude. NaN if
/// an entry is NaN. Levenberg-Marquardt's scaling `D` is built from these.
fn column_norm(v: &[f64]) -> f64 {
    let plain: f64 = v.iter().map(|x| x * x).sum();
    if plain.is_finite() && plain > 1e-280 {
        return plain.sqrt();
    }
    let big = crate::solver::inf_norm(v);
    if big == 0.0 || !big.is_finite() {
        return big;
    }
    let s: f64 = v.iter().map(|x| (x / big) * (x / big)).sum();
    big * s.sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A seeded, reproducible pseudo-random `m × n` matrix in `[−1, 1)`.
    fn matrix(m: usize, n: usize, seed: u64) -> DMatrix<f64> {
        let mut s = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        DMatrix::from_fn(m, n, |_, _| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
    }

    #[test]
    fn pivoted_qr_satisfies_qt_a_p_equals_r() {
        for &(m, n) in &[(1, 1), (2, 2), (5, 3), (7, 7), (40, 6), (250, 9)] {
            let a = matrix(m, n, (m * 31 + n) as u64);
            let mut qr = Qr::with_shape(m, n);
            qr.factor_pivoted_view(DMatrixView::from_slice(a.as_slice(), m, n))
                .unwrap();
            for j in 0..n {
                let mut col = a.column(qr.perm()[j]).iter().copied().collect::<Vec<_>>();
                qr.apply_qt_mut(&mut col).unwrap();
                for (i, &v) in col.iter().enumerate() {
                    let expected = if i <= j { qr.qr_dirty()[(i, j)] } else { 0.0 };
                    assert!(
                        (v - expected).abs() < 1e-13,
                        "({m},{n}) entry ({i},{j}): {v} vs {expected}"
                    );
                }
            }
            // Pivoting puts the largest column first: |R_00| is the largest
            // column norm.
            let big = qr.col_norms().iter().cloned().fold(0.0, f64::max);
            assert!((qr.qr_dirty()[(0, 0)].abs() - big).abs() < 1e-12 * big);
            for j in 0..n {
                assert!((qr.col_norms()[j] - a.column(j).norm()).abs() < 1e-14);
            }
        }
    }

    #[test]
    fn pivoted_qr_handles_zero_and_repeated_columns() {
        let (m, n) = (4, 3);
        // Columns: (1,2,3,4), 0, (1,2,3,4) again.
        let a = DMatrix::from_fn(m, n, |i, j| if j == 1 { 0.0 } else { (i + 1) as f64 });
        let mut qr = Qr::new_pivoted(&a).unwrap();
        assert!(qr.qr_dirty().iter().all(|v| v.is_finite()));
        let r = qr.qr_dirty();
        assert!(r[(1, 1)].abs() < 1e-14 && r[(2, 2)].abs() < 1e-14);
        // A zero matrix: Q = I, R = 0, P = I.
        qr.factor_pivoted(&DMatrix::zeros(m, n)).unwrap();
        assert!(qr.qr_dirty().iter().all(|&v| v == 0.0));
        assert_eq!(qr.perm(), &[0, 1, 2]);
        let mut b = vec![1.0, 2.0, 3.0, 4.0];
        qr.apply_qt_mut(&mut b).unwrap();
        assert_eq!(b, [1.0, 2.0, 3.0, 4.0]);
        assert_eq!(qr.q_thin(), DMatrix::identity(m, n));
    }

    /// The two-stage pivoted factorization of tall matrices (module docs):
    /// `Qᵀ A P = R` with `Q` orthogonal, the pivoting property `|R_kk| ≥
    /// ‖R[k..=j, j]‖` for every `j > k` (what one-stage column pivoting
    /// guarantees), least squares against the unpivoted factorization, and a
    /// rank-deficient tall matrix (repeated and zero columns) revealed.
    #[test]
    fn two_stage_pivoted_qr_of_tall_matrices() {
        for &(m, n) in &[(128, 64), (300, 70), (1000, 130)] {
            assert!(Qr::is_tall(m, n));
            let a = matrix(m, n, (m + 7 * n) as u64);
            let mut qr = Qr::new_pivoted(&a).unwrap();
            assert!(qr.two_stage);
            let r = qr.r();
            for j in 0..n {
                let mut col: Vec<f64> = a.column(qr.perm()[j]).iter().copied().collect();
                qr.apply_qt_mut(&mut col).unwrap();
                for (i, &v) in col.iter().enumerate() {
                    let expected = if i <= j { r[(i, j)] } else { 0.0 };
                    assert!(
                        (v - expected).abs() < 1e-12,
                        "({m},{n}) ({i},{j}): {v} vs {expected}"
                    );
                }
            }
            for k in 0..n {
                for j in k + 1..n {
                    let tail = (k..=j).map(|i| r[(i, j)].powi(2)).sum::<f64>().sqrt();
                    assert!(
                        r[(k, k)].abs() >= tail * (1.0 - 1e-12),
                        "({m},{n}) k {k} j {j}"
                    );
                }
            }
            let q = qr.q_thin();
            assert!((q.transpose() * &q - DMatrix::identity(n, n)).norm() < 1e-12);
            let big = qr.col_norms().iter().cloned().fold(0.0, f64::max);
            assert!((r[(0, 0)].abs() - big).abs() < 1e-12 * big);
            let b: Vec<f64> = matrix(m, 1, 11).iter().copied().collect();
            let x = qr.solve_least_squares(&b).unwrap();
            let y = Qr::new(&a).unwrap().solve_least_squares(&b).unwrap();
            for k in 0..n {
                assert!((x[k] - y[k]).abs() < 1e-11 * (1.0 + y[k].abs()), "{k}");
            }
        }
        // Rank 59 of 70: column 3 is zero and columns 60..70 repeat 0..10.
        let (m, n) = (300, 70);
        let mut a = matrix(m, n, 5);
        a.column_mut(3).fill(0.0);
        for j in 60..n {
            let c = a.column(j - 60).into_owned();
            a.set_column(j, &c);
        }
        let qr = Qr::new_pivoted(&a).unwrap();
        let r = qr.r();
        let tol = 1e-12 * r[(0, 0)].abs();
        let rank = (0..n).take_while(|&j| r[(j, j)].abs() > tol).count();
        assert_eq!(rank, 59);
        assert!((rank..n).all(|j| r[(j, j)].abs() < tol));
    }

    /// `P R⁻¹ (Qᵀb)[..n]` is the least-squares solution, and `Rᵀ` solves
    /// back to the right-hand side.
    #[test]
    fn triangular_solves_match_least_squares() {
        let (m, n) = (9, 4);
        let a = matrix(m, n, 3);
        let b: Vec<f64> = matrix(m, 1, 4).iter().copied().collect();
        let mut qr = Qr::new_pivoted(&a).unwrap();
        let expected = qr.solve_least_squares(&b).unwrap();
        let mut qtb = b.clone();
        qr.apply_qt_mut(&mut qtb).unwrap();
        let mut z = qtb[..n].to_vec();
        assert_eq!(qr.solve_r_mut(&mut z), n);
        let mut x = vec![0.0; n];
        qr.permute_mut(&z, &mut x);
        for k in 0..n {
            assert!((x[k] - expected[k]).abs() < 1e-12, "{k}");
        }
        // Rᵀ y = c, checked by multiplying back.
        let c = [1.0, -2.0, 0.5, 3.0];
        let mut y = c.to_vec();
        qr.solve_rt_mut(&mut y);
        let r = qr.r();
        for j in 0..n {
            let v: f64 = (0..=j).map(|i| r[(i, j)] * y[i]).sum();
            assert!((v - c[j]).abs() < 1e-12, "{j}");
        }
    }

    /// A zero pivot ends the back substitution: the trailing entries are 0.
    #[test]
    fn solve_r_stops_at_a_zero_pivot() {
        let a = DMatrix::from_column_slice(3, 2, &[1.0, 1.0, 1.0, 0.0, 0.0, 0.0]);
        let qr = Qr::new_pivoted(&a).unwrap();
        let mut z = vec![2.0, 5.0];
        assert_eq!(qr.solve_r_mut(&mut z), 1);
        assert_eq!(z[1], 0.0);
        assert!((z[0] * qr.qr_dirty()[(0, 0)] - 2.0).abs() < 1e-15);
    }

    #[test]
    fn column_norm_neither_overflows_nor_underflows() {
        assert!((column_norm(&[3e200, 4e200]) / 5e200 - 1.0).abs() < 1e-15);
        assert_eq!(column_norm(&[3.0, 4.0]), 5.0);
        assert!((column_norm(&[3e-200, 4e-200]) - 5e-200).abs() < 1e-214);
        assert!(column_norm(&[1.0, f64::NAN]).is_nan());
        assert_eq!(column_norm(&[]), 0.0);
    }
}
