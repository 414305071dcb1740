//! The damped normal equations `(JᵀJ + λ DᵀD) p = −Jᵀ r` of a sparse `J`,
//! solved by faer's sparse Cholesky factorization.
//!
//! `H = JᵀJ` is sparse when every row of `J` has few nonzeros: `H_jk ≠ 0`
//! only if some residual touches both `x_j` and `x_k`, so a row with `q`
//! nonzeros adds at most `q²` entries (a banded `J` of bandwidth `b` gives
//! a banded `H` of bandwidth `b`; a dense row makes `H` dense). Only the
//! lower triangle is stored, with every diagonal entry present (so that
//! `λ d_j²` has a place).
//!
//! Once per run: `J`'s row-wise view (which entries each residual has), the
//! pattern of `H` and its symbolic Cholesky factorization (faer's, with the
//! approximate-minimum-degree ordering). Once per Jacobian: `H`'s values, by
//! Gustavson's row-by-row product with a dense accumulator of length `n`
//! (`Σᵢ qᵢ²` flops, `qᵢ` the nonzeros of row `i`). Once per trial `λ`: the
//! numeric factorization of `H + λ DᵀD` and two triangular solves. Memory is
//! linear in the nonzeros of `J` and of the Cholesky factor, and every buffer
//! is sized here, once.

use faer::dyn_stack::{MemBuffer, MemStack, StackReq};
use faer::linalg::cholesky::llt::factor::LltRegularization;
use faer::sparse::linalg::cholesky::{
    CholeskySymbolicParams, LltRef, SymbolicCholesky, SymmetricOrdering,
    factorize_symbolic_cholesky,
};
use faer::sparse::{SparseColMatRef, SymbolicSparseColMatRef};
use faer::{Conj, MatMut, Par, Side};

use crate::problem::SparsityPattern;

/// `J`'s pattern seen both ways, `H = JᵀJ`'s pattern and values, and the
/// Cholesky factor of `H + λ DᵀD` (scratch sized once per run).
pub(super) struct NormalEquations {
    n: usize,
    /// `J`'s pattern (CSC).
    pattern: SparsityPattern,
    /// Row `i` of `J` holds entries `row_ptr[i]..row_ptr[i + 1]` of
    /// `row_col` (their columns, increasing) and `row_pos` (their indices
    /// in `J`'s CSC values).
    row_ptr: Vec<usize>,
    row_col: Vec<usize>,
    row_pos: Vec<usize>,
    /// The lower triangle of `H` (CSC, diagonal first in each column).
    h_col_ptr: Vec<usize>,
    h_row_idx: Vec<usize>,
    /// `H`'s values.
    h: Vec<f64>,
    /// `H + λ DᵀD`'s values.
    a: Vec<f64>,
    symbolic: SymbolicCholesky<usize>,
    /// The Cholesky factor's values.
    l: Vec<f64>,
    /// Scratch for the numeric factorization and the solve.
    mem: MemBuffer,
    /// Gustavson's dense accumulator (`n`, zero between columns).
    acc: Vec<f64>,
}

/// The parallelism of the sparse factorization: sequential, so that runs are
/// deterministic whatever the thread count (the banded problems this serves
/// factor in microseconds per column).
const PAR: Par = Par::Seq;

impl std::fmt::Debug for NormalEquations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NormalEquations")
            .field("n", &self.n)
            .field("nnz_j", &self.pattern.nnz())
            .field("nnz_h", &self.h.len())
            .field("nnz_l", &self.l.len())
            .finish()
    }
}

impl NormalEquations {
    /// The row view of `pattern`, the pattern of `JᵀJ` and its symbolic
    /// factorization. `Err` only if faer cannot allocate.
    pub(super) fn new(pattern: SparsityPattern) -> Result<Self, String> {
        let (m, n) = (pattern.nrows(), pattern.ncols());
        let (cp, ri) = (pattern.col_ptr(), pattern.row_idx());
        // Row view by a counting sort over the columns in order, so that each
        // row's columns come out increasing.
        let mut row_ptr = vec![0usize; m + 1];
        for &i in ri {
            row_ptr[i + 1] += 1;
        }
        for i in 0..m {
            row_ptr[i + 1] += row_ptr[i];
        }
        // An upper bound on H's stored entries, in O(nnz): column k has its
        // diagonal and at most min(n − 1 − k, Σ_{i ∋ k} (q_i − 1)) entries
        // below it. A dense row of J makes H dense (n²/2 entries): refuse a
        // bound whose buffers (row indices, H, H + λDᵀD and at least as
        // many in the factor) cannot be allocated, before the O(Σ q_i²)
        // pattern pass would run for hours and abort.
        let bound = (0..n).fold(n, |acc, k| {
            let shared = ri[cp[k]..cp[k + 1]].iter().fold(0usize, |s, &i| {
                s.saturating_add(row_ptr[i + 1] - row_ptr[i] - 1)
            });
            acc.saturating_add(shared.min(n - 1 - k))
        });
        crate::solver::check_dense(
            "sparse Levenberg-Marquardt",
            &format!("JᵀJ with up to {bound} stored entries at n = {n}"),
            bound.checked_mul(4),
            ": a dense row of J makes JᵀJ dense; use MatrixFreeLevenbergMarquardt",
        )
        .map_err(|e| e.to_string())?;
        let mut next = row_ptr.clone();
        let mut row_col = vec![0usize; ri.len()];
        let mut row_pos = vec![0usize; ri.len()];
        for j in 0..n {
            for pos in cp[j]..cp[j + 1] {
                let i = ri[pos];
                row_col[next[i]] = j;
                row_pos[next[i]] = pos;
                next[i] += 1;
            }
        }
        // Lower triangle of JᵀJ: column k has row k and every j > k sharing
        // a residual with k.
        let mut h_col_ptr = Vec::with_capacity(n + 1);
        let mut h_row_idx = Vec::new();
        let mut seen = vec![usize::MAX; n];
        h_col_ptr.push(0);
        for k in 0..n {
            let start = h_row_idx.len();
            h_row_idx.push(k);
            seen[k] = k;
            for &i in &ri[cp[k]..cp[k + 1]] {
                for &j in &row_col[row_ptr[i]..row_ptr[i + 1]] {
                    if j > k && seen[j] != k {
                        seen[j] = k;
                        h_row_idx.push(j);
                    }
                }
            }
            h_row_idx[start + 1..].sort_unstable();
            h_col_ptr.push(h_row_idx.len());
        }
        let h_sym = SymbolicSparseColMatRef::new_checked(n, n, &h_col_ptr, None, &h_row_idx);
        let symbolic = factorize_symbolic_cholesky(
            h_sym,
            Side::Lower,
            SymmetricOrdering::Amd,
            CholeskySymbolicParams::default(),
        )
        .map_err(|e| format!("symbolic Cholesky factorization of JᵀJ: {e:?}"))?;
        let req = StackReq::any_of(&[
            symbolic.factorize_numeric_llt_scratch::<f64>(PAR, Default::default()),
            symbolic.solve_in_place_scratch::<f64>(1, PAR),
        ]);
        let mem = MemBuffer::try_new(req)
            .map_err(|_| "out of memory for the sparse Cholesky scratch".to_string())?;
        let nnz_h = h_row_idx.len();
        let l = vec![0.0; symbolic.len_val()];
        Ok(NormalEquations {
            n,
            pattern,
            row_ptr,
            row_col,
            row_pos,
            h_col_ptr,
            h_row_idx,
            h: vec![0.0; nnz_h],
            a: vec![0.0; nnz_h],
            symbolic,
            l,
            mem,
            acc: vec![0.0; n],
        })
    }

    /// `J`'s pattern.
    pub(super) fn pattern(&self) -> &SparsityPattern {
        &self.pattern
    }

    /// Forms `H = JᵀJ` from `J`'s values `jac` (Gustavson, column by
    /// column: `acc[j] += J_ik J_ij` over the rows `i` of column `k`).
    pub(super) fn assemble(&mut self, jac: &[f64]) {
        let (cp, ri) = (self.pattern.col_ptr(), self.pattern.row_idx());
        for k in 0..self.n {
            for pos in cp[k]..cp[k + 1] {
                let (i, v_ik) = (ri[pos], jac[pos]);
                for e in self.row_ptr[i]..self.row_ptr[i + 1] {
                    let j = self.row_col[e];
                    if j >= k {
                        self.acc[j] += v_ik * jac[self.row_pos[e]];
                    }
                }
            }
            for q in self.h_col_ptr[k]..self.h_col_ptr[k + 1] {
                let j = self.h_row_idx[q];
                self.h[q] = self.acc[j];
                self.acc[j] = 0.0;
            }
        }
    }

    /// `H_jj = ‖J e_j‖²`.
    pub(super) fn diagonal(&self, j: usize) -> f64 {
        self.h[self.h_col_ptr[j]]
    }

    /// Factors `H + λ DᵀD` (`d` the diagonal of `D`). `false` if it is not
    /// numerically positive definite (`λ` too small for `H`'s rank).
    pub(super) fn factor(&mut self, lambda: f64, d: &[f64]) -> bool {
        self.a.copy_from_slice(&self.h);
        for j in 0..self.n {
            self.a[self.h_col_ptr[j]] += lambda * d[j] * d[j];
        }
        let sym = SymbolicSparseColMatRef::new_checked(
            self.n,
            self.n,
            &self.h_col_ptr,
            None,
            &self.h_row_idx,
        );
        let a = SparseColMatRef::new(sym, &self.a);
        self.symbolic
            .factorize_numeric_llt(
                &mut self.l,
                a,
                Side::Lower,
                LltRegularization::default(),
                PAR,
                MemStack::new(&mut self.mem),
                Default::default(),
            )
            .is_ok()
    }

    /// Overwrites `rhs` with `(H + λ DᵀD)⁻¹ rhs`, from the last successful
    /// [`factor`](Self::factor).
    pub(super) fn solve(&mut self, rhs: &mut [f64]) {
        let n = self.n;
        LltRef::new(&self.symbolic, &self.l).solve_in_place_with_conj(
            Conj::No,
            MatMut::from_column_major_slice_mut(rhs, n, 1),
            PAR,
            MemStack::new(&mut self.mem),
        );
    }

    /// `y = J v` (`y` has `m` entries).
    pub(super) fn jac_mul(&self, jac: &[f64], v: &[f64], y: &mut [f64]) {
        let (cp, ri) = (self.pattern.col_ptr(), self.pattern.row_idx());
        y.iter_mut().for_each(|y| *y = 0.0);
        for (j, &vj) in v.iter().enumerate() {
            for pos in cp[j]..cp[j + 1] {
                y[ri[pos]] += jac[pos] * vj;
            }
        }
    }

    /// `y = Jᵀ u` (`y` has `n` entries).
    pub(super) fn jac_t_mul(&self, jac: &[f64], u: &[f64], y: &mut [f64]) {
        let (cp, ri) = (self.pattern.col_ptr(), self.pattern.row_idx());
        for (j, yj) in y.iter_mut().enumerate() {
            *yj = (cp[j]..cp[j + 1]).map(|pos| jac[pos] * u[ri[pos]]).sum();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(JᵀJ + λ DᵀD) p = b` against the dense normal equations on a random
    /// sparse `J` with an empty column and an empty row.
    #[test]
    fn damped_solve_matches_dense_normal_equations() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let (m, n) = (12, 6);
        let mut entries = Vec::new();
        for i in 0..m - 1 {
            for j in 0..n - 1 {
                if rng.random::<f64>() < 0.4 {
                    entries.push((i, j));
                }
            }
        }
        let pattern = SparsityPattern::from_triplets(m, n, &entries).unwrap();
        let jac: Vec<f64> = (0..pattern.nnz())
            .map(|_| rng.random::<f64>() - 0.5)
            .collect();
        let mut dense = nalgebra::DMatrix::<f64>::zeros(m, n);
        for j in 0..n {
            for pos in pattern.col_ptr()[j]..pattern.col_ptr()[j + 1] {
                dense[(pattern.row_idx()[pos], j)] = jac[pos];
            }
        }
        let mut ne = NormalEquations::new(pattern).unwrap();
        ne.assemble(&jac);
        let d: Vec<f64> = (0..n).map(|j| 0.5 + j as f64).collect();
        let lambda = 0.3;
        assert!(ne.factor(lambda, &d));
        let b: Vec<f64> = (0..n).map(|j| (j as f64).sin()).collect();
        let mut p = b.clone();
        ne.solve(&mut p);
        let mut a = dense.transpose() * &dense;
        for j in 0..n {
            a[(j, j)] += lambda * d[j] * d[j];
        }
        let expect = a.lu().solve(&nalgebra::DVector::from_vec(b)).unwrap();
        for j in 0..n {
            assert!(
                (p[j] - expect[j]).abs() < 1e-12,
                "{j}: {} vs {}",
                p[j],
                expect[j]
            );
        }
        for j in 0..n {
            let c = dense.column(j).norm_squared();
            assert!((ne.diagonal(j) - c).abs() < 1e-14);
        }
        // Two solves from one factorization; a singular H with λ = 0 fails.
        let mut y = vec![0.0; m];
        ne.jac_mul(&jac, &p, &mut y);
        let mut z = vec![0.0; n];
        ne.jac_t_mul(&jac, &y, &mut z);
        let want = dense.transpose() * (&dense * nalgebra::DVector::from_column_slice(&p));
        for j in 0..n {
            assert!((z[j] - want[j]).abs() < 1e-12);
        }
        assert!(!ne.factor(0.0, &d));
    }
}
