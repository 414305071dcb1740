//! Least squares with a sparse Jacobian: [`SparseResiduals`] and its
//! [`SparsityPattern`].
//!
//! A problem with `m = 10⁵` residuals and `n = 10³` parameters, each residual
//! touching a few parameters (a spline fit, a chain of coupled equations,
//! bundle adjustment), has a Jacobian of `10⁸` entries of which a few `10⁵`
//! are nonzero. [`SparseResiduals`] gives the nonzero pattern once, in
//! compressed sparse column (CSC) form, and the values for that pattern at
//! each point, so that a solver's memory is linear in the nonzeros
//! ([`SparseLevenbergMarquardt`](crate::newton::SparseLevenbergMarquardt)).

use super::Counted;
use crate::solver::Error;

/// The nonzero pattern of an `m × n` Jacobian in compressed sparse column
/// form: column `j`'s nonzeros are rows `row_idx[col_ptr[j]..col_ptr[j + 1]]`,
/// strictly increasing, and the values a problem writes follow the same order
/// (value `k` is `J[row_idx[k], j]` for `col_ptr[j] ≤ k < col_ptr[j + 1]`).
///
/// A pattern is checked when it is made: [`new`](Self::new) and
/// [`from_triplets`](Self::from_triplets) return
/// [`Error::InvalidPattern`] naming the column and rows that are wrong.
///
/// ```
/// use hesse::problem::SparsityPattern;
/// // J = [a 0; b c; 0 d]
/// let p = SparsityPattern::new(3, 2, vec![0, 2, 4], vec![0, 1, 1, 2]).unwrap();
/// assert_eq!(p.nnz(), 4);
/// assert_eq!(p.position(1, 1), Some(2));
/// assert_eq!(p.position(0, 1), None);
/// // Rows out of order in column 0:
/// assert!(SparsityPattern::new(3, 2, vec![0, 2, 4], vec![1, 0, 1, 2]).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SparsityPattern {
    nrows: usize,
    ncols: usize,
    col_ptr: Vec<usize>,
    row_idx: Vec<usize>,
}

impl SparsityPattern {
    /// The pattern of an `nrows × ncols` matrix from CSC arrays: `col_ptr`
    /// has `ncols + 1` non-decreasing entries from 0 to `row_idx.len()`, and
    /// each column's row indices are below `nrows` and strictly increasing
    /// (sorted, no duplicates). Anything else is [`Error::InvalidPattern`].
    pub fn new(
        nrows: usize,
        ncols: usize,
        col_ptr: Vec<usize>,
        row_idx: Vec<usize>,
    ) -> Result<Self, Error> {
        let bad = |s: String| Err(Error::InvalidPattern(s));
        if ncols == usize::MAX {
            return bad(format!("ncols = {ncols}: ncols + 1 overflows"));
        }
        if col_ptr.len() != ncols + 1 {
            return bad(format!(
                "col_ptr has {} entries, expected ncols + 1 = {}",
                col_ptr.len(),
                ncols + 1
            ));
        }
        if col_ptr[0] != 0 {
            return bad(format!("col_ptr[0] = {}, expected 0", col_ptr[0]));
        }
        if col_ptr[ncols] != row_idx.len() {
            return bad(format!(
                "col_ptr[{ncols}] = {}, expected the number of row indices, {}",
                col_ptr[ncols],
                row_idx.len()
            ));
        }
        // Non-decreasing from 0 to nnz, so every column's range is in bounds.
        if let Some(j) = (0..ncols).find(|&j| col_ptr[j + 1] < col_ptr[j]) {
            return bad(format!(
                "col_ptr decreases at column {j}: col_ptr[{j}] = {}, col_ptr[{}] = {}",
                col_ptr[j],
                j + 1,
                col_ptr[j + 1]
            ));
        }
        for j in 0..ncols {
            let rows = &row_idx[col_ptr[j]..col_ptr[j + 1]];
            for (k, &i) in rows.iter().enumerate() {
                if i >= nrows {
                    return bad(format!(
                        "column {j}: row index {i} is out of range (nrows = {nrows})"
                    ));
                }
                if k > 0 && rows[k - 1] >= i {
                    let what = if rows[k - 1] == i {
                        "a duplicate"
                    } else {
                        "not increasing"
                    };
                    return bad(format!(
                        "column {j}: row indices {}, {i} are {what} (each column's rows \
                         must be sorted, without duplicates)",
                        rows[k - 1]
                    ));
                }
            }
        }
        Ok(SparsityPattern {
            nrows,
            ncols,
            col_ptr,
            row_idx,
        })
    }

    /// The pattern of the `(row, col)` pairs `entries`, in any order: sorted
    /// by column, then row. A pair out of range or given twice is
    /// [`Error::InvalidPattern`]. The values a problem writes follow the
    /// sorted order; [`position`](Self::position) finds an entry's index.
    ///
    /// ```
    /// use hesse::problem::SparsityPattern;
    /// let p = SparsityPattern::from_triplets(3, 2, &[(2, 1), (0, 0), (1, 1), (1, 0)]).unwrap();
    /// assert_eq!(p, SparsityPattern::new(3, 2, vec![0, 2, 4], vec![0, 1, 1, 2]).unwrap());
    /// assert!(SparsityPattern::from_triplets(3, 2, &[(0, 0), (0, 0)]).is_err());
    /// ```
    pub fn from_triplets(
        nrows: usize,
        ncols: usize,
        entries: &[(usize, usize)],
    ) -> Result<Self, Error> {
        if let Some(&(i, j)) = entries.iter().find(|&&(i, j)| i >= nrows || j >= ncols) {
            return Err(Error::InvalidPattern(format!(
                "entry ({i}, {j}) is out of range for a {nrows} × {ncols} matrix"
            )));
        }
        // col_ptr has ncols + 1 entries: a count past memory is an error.
        let mut col_ptr = Vec::new();
        if ncols
            .checked_add(1)
            .is_none_or(|len| col_ptr.try_reserve_exact(len).is_err())
        {
            return Err(Error::InvalidPattern(format!(
                "ncols = {ncols}: col_ptr of ncols + 1 entries cannot be allocated"
            )));
        }
        col_ptr.resize(ncols + 1, 0);
        let mut sorted: Vec<(usize, usize)> = entries.iter().map(|&(i, j)| (j, i)).collect();
        sorted.sort_unstable();
        for &(j, _) in &sorted {
            col_ptr[j + 1] += 1;
        }
        for j in 0..ncols {
            col_ptr[j + 1] += col_ptr[j];
        }
        let row_idx = sorted.iter().map(|&(_, i)| i).collect();
        Self::new(nrows, ncols, col_ptr, row_idx)
    }

    /// The pattern with every entry of an `nrows × ncols` matrix (a dense
    /// Jacobian in CSC order, column by column).
    pub fn dense(nrows: usize, ncols: usize) -> Self {
        SparsityPattern {
            nrows,
            ncols,
            col_ptr: (0..=ncols).map(|j| j * nrows).collect(),
            row_idx: (0..ncols).flat_map(|_| 0..nrows).collect(),
        }
    }

    /// The number of rows `m`.
    pub fn nrows(&self) -> usize {
        self.nrows
    }

    /// The number of columns `n`.
    pub fn ncols(&self) -> usize {
        self.ncols
    }

    /// The number of stored entries.
    pub fn nnz(&self) -> usize {
        self.row_idx.len()
    }

    /// The column pointers (`ncols + 1` entries).
    pub fn col_ptr(&self) -> &[usize] {
        &self.col_ptr
    }

    /// The row indices (`nnz` entries), column by column.
    pub fn row_idx(&self) -> &[usize] {
        &self.row_idx
    }

    /// The index in the value array of entry `(row, col)`, if it is in the
    /// pattern (a binary search in the column).
    pub fn position(&self, row: usize, col: usize) -> Option<usize> {
        if col >= self.ncols {
            return None;
        }
        let (a, b) = (self.col_ptr[col], self.col_ptr[col + 1]);
        self.row_idx[a..b].binary_search(&row).ok().map(|k| a + k)
    }
}

/// A least-squares problem `min Σ rᵢ(x)²` whose Jacobian is sparse: the
/// residuals `r: ℝⁿ → ℝᵐ`, the nonzero pattern of `J = ∂r/∂x` (once per
/// run) and `J`'s values on that pattern.
///
/// The sparse counterpart of [`Residuals`](super::Residuals) (the objective
/// is again `f = Σ rᵢ²`, with no factor ½): a solver never forms an `m × n`
/// matrix, only vectors of length `m`, `n` and the pattern's `nnz` values.
/// Entries of the pattern that happen to be zero at some `x` are fine;
/// entries outside it must be zero everywhere.
///
/// The method names are those of [`Residuals`](super::Residuals), so a type
/// may implement both (the dense solver as a check on the sparse one); call
/// them as `SparseResiduals::residuals(&p, ..)` where both traits are in scope.
///
/// # Example
///
/// ```
/// use hesse::problem::{SparseResiduals, SparsityPattern};
/// use hesse::solver::Error;
///
/// /// rᵢ = xᵢ² − xᵢ₊₁ (i < n − 1), r_{n−1} = x_{n−1} − 2: a chain, two
/// /// nonzeros in each row.
/// struct Chain(usize);
///
/// impl SparseResiduals for Chain {
///     fn num_params(&self) -> usize { self.0 }
///     fn num_residuals(&self) -> usize { self.0 }
///     fn residuals(&self, x: &[f64], r: &mut [f64]) {
///         let n = self.0;
///         for i in 0..n - 1 { r[i] = x[i] * x[i] - x[i + 1]; }
///         r[n - 1] = x[n - 1] - 2.0;
///     }
///     fn jacobian_pattern(&self) -> Result<SparsityPattern, Error> {
///         let n = self.0;
///         let mut entries: Vec<(usize, usize)> = (0..n - 1).map(|i| (i, i)).collect();
///         entries.extend((0..n - 1).map(|i| (i, i + 1)));
///         entries.push((n - 1, n - 1));
///         SparsityPattern::from_triplets(n, n, &entries)
///     }
///     fn jacobian_values(&self, x: &[f64], values: &mut [f64]) {
///         // CSC order: column j holds (j − 1, j) = −1 (j > 0), then (j, j).
///         let n = self.0;
///         let mut k = 0;
///         for j in 0..n {
///             if j > 0 { values[k] = -1.0; k += 1; }
///             values[k] = if j < n - 1 { 2.0 * x[j] } else { 1.0 };
///             k += 1;
///         }
///     }
/// }
///
/// let chain = Chain(4);
/// let p = chain.jacobian_pattern().unwrap();
/// assert_eq!(p.nnz(), 7);
/// let mut v = vec![0.0; 7];
/// chain.jacobian_values(&[1.0, 2.0, 3.0, 4.0], &mut v);
/// assert_eq!(v[p.position(1, 1).unwrap()], 4.0); // ∂r₁/∂x₁ = 2 x₁
/// assert_eq!(v[p.position(0, 1).unwrap()], -1.0);
/// ```
pub trait SparseResiduals {
    /// The number of parameters `n`.
    fn num_params(&self) -> usize;

    /// The number of residuals `m`.
    fn num_residuals(&self) -> usize;

    /// Writes `r(x)` into `r` (length `m`).
    fn residuals(&self, x: &[f64], r: &mut [f64]);

    /// The nonzero pattern of the `m × n` Jacobian, asked once per run (and
    /// on resuming a checkpoint). An `Err` (a pattern that did not check)
    /// is returned by the solver's `minimize`.
    fn jacobian_pattern(&self) -> Result<SparsityPattern, Error>;

    /// Writes `J(x)`'s values on the pattern into `values` (length `nnz`,
    /// in the pattern's column-major order).
    fn jacobian_values(&self, x: &[f64], values: &mut [f64]);
}

impl<P: SparseResiduals + ?Sized> SparseResiduals for &P {
    fn num_params(&self) -> usize {
        (**self).num_params()
    }
    fn num_residuals(&self) -> usize {
        (**self).num_residuals()
    }
    fn residuals(&self, x: &[f64], r: &mut [f64]) {
        (**self).residuals(x, r)
    }
    fn jacobian_pattern(&self) -> Result<SparsityPattern, Error> {
        (**self).jacobian_pattern()
    }
    fn jacobian_values(&self, x: &[f64], values: &mut [f64]) {
        (**self).jacobian_values(x, values)
    }
}

/// A residual vector counts as an `f` evaluation and the Jacobian's values
/// as a `g` evaluation, as for [`Residuals`](super::Residuals); the pattern
/// is not an evaluation.
impl<P: SparseResiduals> SparseResiduals for Counted<P> {
    fn num_params(&self) -> usize {
        self.inner.num_params()
    }
    fn num_residuals(&self) -> usize {
        self.inner.num_residuals()
    }
    fn residuals(&self, x: &[f64], r: &mut [f64]) {
        if !self.admit() {
            r.fill(f64::NAN);
            return;
        }
        Self::bump(&self.f);
        self.inner.residuals(x, r)
    }
    fn jacobian_pattern(&self) -> Result<SparsityPattern, Error> {
        self.inner.jacobian_pattern()
    }
    fn jacobian_values(&self, x: &[f64], values: &mut [f64]) {
        if !self.admit() {
            values.fill(f64::NAN);
            return;
        }
        Self::bump(&self.g);
        self.inner.jacobian_values(x, values)
    }
}

/// A least-squares problem given by its residuals and products with its
/// Jacobian, `J(x) v` and `J(x)ᵀ u`, never the Jacobian itself (the
/// Jacobian-free mode of [`MatrixFreeLevenbergMarquardt`](crate::newton::MatrixFreeLevenbergMarquardt)).
/// The objective is `f = Σ rᵢ²`, as for [`SparseResiduals`].
///
/// Each product counts as a Hessian-vector product (`hv`) in a report.
pub trait JacobianProducts {
    /// The number of parameters `n`.
    fn num_params(&self) -> usize;

    /// The number of residuals `m`.
    fn num_residuals(&self) -> usize;

    /// Writes `r(x)` into `r` (length `m`).
    fn residuals(&self, x: &[f64], r: &mut [f64]);

    /// Writes `J(x) v` into `jv` (`v` has `n` entries, `jv` `m`).
    fn jac_vec(&self, x: &[f64], v: &[f64], jv: &mut [f64]);

    /// Writes `J(x)ᵀ u` into `jtu` (`u` has `m` entries, `jtu` `n`).
    fn jac_t_vec(&self, x: &[f64], u: &[f64], jtu: &mut [f64]);
}

impl<P: JacobianProducts + ?Sized> JacobianProducts for &P {
    fn num_params(&self) -> usize {
        (**self).num_params()
    }
    fn num_residuals(&self) -> usize {
        (**self).num_residuals()
    }
    fn residuals(&self, x: &[f64], r: &mut [f64]) {
        (**self).residuals(x, r)
    }
    fn jac_vec(&self, x: &[f64], v: &[f64], jv: &mut [f64]) {
        (**self).jac_vec(x, v, jv)
    }
    fn jac_t_vec(&self, x: &[f64], u: &[f64], jtu: &mut [f64]) {
        (**self).jac_t_vec(x, u, jtu)
    }
}

/// Residuals count as `f` evaluations, each product as an `hv` evaluation.
impl<P: JacobianProducts> JacobianProducts for Counted<P> {
    fn num_params(&self) -> usize {
        self.inner.num_params()
    }
    fn num_residuals(&self) -> usize {
        self.inner.num_residuals()
    }
    fn residuals(&self, x: &[f64], r: &mut [f64]) {
        if !self.admit() {
            r.fill(f64::NAN);
            return;
        }
        Self::bump(&self.f);
        self.inner.residuals(x, r)
    }
    fn jac_vec(&self, x: &[f64], v: &[f64], jv: &mut [f64]) {
        if !self.admit() {
            jv.fill(f64::NAN);
            return;
        }
        Self::bump(&self.hv);
        self.inner.jac_vec(x, v, jv)
    }
    fn jac_t_vec(&self, x: &[f64], u: &[f64], jtu: &mut [f64]) {
        if !self.admit() {
            jtu.fill(f64::NAN);
            return;
        }
        Self::bump(&self.hv);
        self.inner.jac_t_vec(x, u, jtu)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_that_are_not_csc_are_errors_naming_the_fault() {
        let msg = |r: Result<SparsityPattern, Error>| r.unwrap_err().to_string();
        assert!(msg(SparsityPattern::new(3, 2, vec![0, 2], vec![0, 1])).contains("col_ptr has 2"));
        assert!(msg(SparsityPattern::new(3, 2, vec![1, 2, 2], vec![0, 1])).contains("col_ptr[0]"));
        assert!(msg(SparsityPattern::new(3, 2, vec![0, 2, 3], vec![0, 1])).contains("col_ptr[2]"));
        assert!(msg(SparsityPattern::new(3, 2, vec![0, 2, 1], vec![0])).contains("decreases"));
        assert!(msg(SparsityPattern::new(3, 2, vec![0, 5, 2], vec![0, 1])).contains("decreases"));
        assert!(
            msg(SparsityPattern::new(3, 2, vec![0, 1, 2], vec![0, 3])).contains("out of range")
        );
        assert!(msg(SparsityPattern::new(3, 1, vec![0, 2], vec![1, 1])).contains("duplicate"));
        assert!(msg(SparsityPattern::new(3, 1, vec![0, 2], vec![2, 1])).contains("not increasing"));
        assert!(msg(SparsityPattern::from_triplets(2, 2, &[(0, 2)])).contains("out of range"));
        assert!(msg(SparsityPattern::from_triplets(2, 2, &[(1, 1), (1, 1)])).contains("duplicate"));
    }

    #[test]
    fn dense_pattern_is_every_entry_column_by_column() {
        let d = SparsityPattern::dense(3, 2);
        let all: Vec<(usize, usize)> = (0..3).flat_map(|i| (0..2).map(move |j| (i, j))).collect();
        assert_eq!(d, SparsityPattern::from_triplets(3, 2, &all).unwrap());
        assert_eq!(d.position(2, 1), Some(5));
        assert_eq!(
            SparsityPattern::new(0, 0, vec![0], vec![]).unwrap().nnz(),
            0
        );
    }
}
