//! The Lanczos process: `k` steps to `A Q_k = Q_k T_k + β_k q_{k+1} e_kᵀ`.
//!
//! Lanczos (1950); Golub & Van Loan (2013) §10.1 (Algorithm 10.1.1), with the
//! full reorthogonalization of §10.3.1 ("twice is enough": classical
//! Gram-Schmidt applied twice, Parlett 1998 §6.9). For symmetric `A` and a
//! start vector `v`, the orthonormal Krylov basis `Q_k = [q_1 … q_k]` of
//! `span{v, Av, …, A^{k−1}v}` and the tridiagonal `T_k = Q_kᵀ A Q_k` come from
//!
//! ```text
//! q_1 = v/‖v‖, β_0 q_0 = 0
//! for j = 1 … k
//!     w = A q_j − β_{j−1} q_{j−1}
//!     α_j = q_jᵀ w,  w = w − α_j q_j
//!     (full reorthogonalization: w = w − Q_j (Q_jᵀ w), twice)
//!     β_j = ‖w‖,  q_{j+1} = w / β_j
//! ```
//!
//! `T_k`'s eigenvalues θ_i (Ritz values, ascending, from faer's tridiagonal
//! eigen solver) approximate the extreme eigenvalues of `A` first (Kaniel-Paige
//! theory, G&VL §10.1.5); `|λ − θ_i| ≤ β_k |e_kᵀ y_i|` for some eigenvalue `λ`
//! of `A` ([`Lanczos::ritz_residual`]). Saddle-free Newton forms `|H|` on the
//! subspace as `Q_k Y |Θ| Yᵀ Q_kᵀ`.
//!
//! Without reorthogonalization the basis loses orthogonality as Ritz values
//! converge and copies ("ghosts") of them appear (Paige 1971); the Ritz values
//! remain good estimates of the extremes, the basis does not.

use nalgebra::{DMatrix, DMatrixView};

use super::{LinalgError, LinearOperator, Scratch, check_finite_vec, check_len, dot, norm2, par};

/// Whether each new Lanczos vector is reorthogonalized against the whole basis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Reorthogonalization {
    /// Full (twice-applied Gram-Schmidt) reorthogonalization: `4 n j` extra
    /// flops at step `j`, an orthonormal basis to working precision.
    Full,
    /// The three-term recurrence only: `O(n)` per step; the basis drifts.
    Local,
    /// `Full` for `k ≤ 100` steps, `Local` above (where the `4 n k²` flops of
    /// reorthogonalization start to outweigh `k` cheap products). Default.
    #[default]
    Auto,
}

/// The result of [`Lanczos::run`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LanczosResult {
    /// Steps taken (`≤ k` and `≤ n`); the size of `T` and the number of basis vectors.
    pub steps: usize,
    /// Whether the Krylov space became invariant (`β_j ≈ 0` before `k` steps):
    /// the Ritz values are then exact eigenvalues of `A`.
    pub invariant: bool,
    /// Products with `A`.
    pub products: usize,
}

/// The Lanczos process: options and a workspace (basis `n × k`, `T`, its
/// eigen-decomposition), reused across runs of the same size.
///
/// ```
/// use hesse::linalg::{Diagonal, Lanczos};
/// let a = Diagonal::new(vec![1.0, 2.0, 3.0, 4.0, 10.0]);
/// let mut lanczos = Lanczos::new();
/// let res = lanczos.run(&a, &[1.0; 5], 5).unwrap();
/// assert_eq!(res.steps, 5);
/// let theta = lanczos.ritz_values();
/// assert!((theta[0] - 1.0).abs() < 1e-12 && (theta[4] - 10.0).abs() < 1e-12);
/// ```
#[derive(Clone, Debug)]
pub struct Lanczos {
    reorth: Reorthogonalization,
    /// n × k_max; the first `steps` columns are the basis.
    q: DMatrix<f64>,
    alpha: Vec<f64>,
    /// β_1 … β_k (β_k, the last, is the residual norm of the factorization).
    beta: Vec<f64>,
    w: Vec<f64>,
    /// Gram-Schmidt coefficients `Q_jᵀ w`.
    h: Vec<f64>,
    theta: Vec<f64>,
    /// steps × steps eigenvectors of T, column-major in the first steps² entries.
    y: Vec<f64>,
    steps: usize,
    scratch: Scratch,
}

impl Default for Lanczos {
    fn default() -> Self {
        Self::new()
    }
}

impl Lanczos {
    /// A Lanczos workspace with [`Reorthogonalization::Auto`].
    pub fn new() -> Self {
        Self {
            reorth: Reorthogonalization::Auto,
            q: DMatrix::zeros(0, 0),
            alpha: Vec::new(),
            beta: Vec::new(),
            w: Vec::new(),
            h: Vec::new(),
            theta: Vec::new(),
            y: Vec::new(),
            steps: 0,
            scratch: Scratch::new(),
        }
    }

    /// Chooses the reorthogonalization. Default [`Reorthogonalization::Auto`].
    pub fn with_reorthogonalization(mut self, reorth: Reorthogonalization) -> Self {
        self.reorth = reorth;
        self
    }

    /// Runs `k` steps (at most `n`) of Lanczos on the symmetric `a` from `start`.
    ///
    /// Errors: `start` of the wrong length, not finite, or zero.
    pub fn run<A: LinearOperator + ?Sized>(
        &mut self,
        a: &A,
        start: &[f64],
        k: usize,
    ) -> Result<LanczosResult, LinalgError> {
        let n = a.dim();
        check_len("start", start, n, "operator")?;
        check_finite_vec("start", start)?;
        let k = k.min(n);
        let start_norm = norm2(start);
        self.steps = 0;
        if k == 0 {
            return Ok(LanczosResult {
                steps: 0,
                invariant: false,
                products: 0,
            });
        }
        if start_norm == 0.0 {
            return Err(LinalgError::invalid_option(
                "start",
                "0",
                "must be a nonzero vector",
            ));
        }
        let full = match self.reorth {
            Reorthogonalization::Full => true,
            Reorthogonalization::Local => false,
            Reorthogonalization::Auto => k <= 100,
        };
        if self.q.nrows() != n || self.q.ncols() < k {
            self.q = DMatrix::zeros(n, k);
        }
        self.alpha.resize(k, 0.0);
        self.beta.resize(k, 0.0);
        self.w.resize(n, 0.0);
        self.h.resize(k, 0.0);

        for (qi, si) in self.q.column_mut(0).iter_mut().zip(start) {
            *qi = si / start_norm;
        }
        let mut invariant = false;
        let mut products = 0;
        let mut a_norm_est = 0.0f64;
        for j in 0..k {
            // w = A q_j − β_{j−1} q_{j−1}
            let (done, rest) = self.q.as_mut_slice().split_at_mut((j + 1) * n);
            let qj = &done[j * n..];
            a.apply(qj, &mut self.w);
            products += 1;
            if j > 0 {
                axpy_neg(self.beta[j - 1], &done[(j - 1) * n..j * n], &mut self.w);
            }
            let alpha = dot(qj, &self.w);
            axpy_neg(alpha, qj, &mut self.w);
            let mut alpha_j = alpha;
            if full {
                for _ in 0..2 {
                    // h = Q_jᵀ w; w −= Q_j h; (columns 0..=j)
                    let basis = faer::MatRef::from_column_major_slice(done, n, j + 1);
                    let h = &mut self.h[..=j];
                    faer::linalg::matmul::matmul(
                        faer::MatMut::from_column_major_slice_mut(h, j + 1, 1),
                        faer::Accum::Replace,
                        basis.transpose(),
                        faer::MatRef::from_column_major_slice(&self.w, n, 1),
                        1.0,
                        par(),
                    );
                    faer::linalg::matmul::matmul(
                        faer::MatMut::from_column_major_slice_mut(&mut self.w, n, 1),
                        faer::Accum::Add,
                        basis,
                        faer::MatRef::from_column_major_slice(&self.h[..=j], j + 1, 1),
                        -1.0,
                        par(),
                    );
                    alpha_j += self.h[j];
                }
            }
            self.alpha[j] = alpha_j;
            let beta = norm2(&self.w);
            self.beta[j] = beta;
            self.steps = j + 1;
            if !(alpha_j.is_finite() && beta.is_finite()) {
                return Err(LinalgError::NonFinite {
                    what: "A q",
                    index: j.to_string(),
                    value: if alpha_j.is_finite() { beta } else { alpha_j },
                });
            }
            a_norm_est =
                a_norm_est.max(alpha_j.abs() + beta + if j > 0 { self.beta[j - 1] } else { 0.0 });
            if j + 1 == k {
                break;
            }
            // Invariant subspace: β_j negligible next to ‖T‖.
            if beta <= n as f64 * f64::EPSILON * a_norm_est {
                invariant = true;
                break;
            }
            let next = &mut rest[..n];
            for (qi, wi) in next.iter_mut().zip(&self.w) {
                *qi = wi / beta;
            }
        }
        self.eigen_of_t()?;
        Ok(LanczosResult {
            steps: self.steps,
            invariant,
            products,
        })
    }

    /// The eigen-decomposition of the `steps × steps` tridiagonal `T`.
    fn eigen_of_t(&mut self) -> Result<(), LinalgError> {
        use faer::linalg::evd;
        let s = self.steps;
        self.theta.resize(s, 0.0);
        self.y.resize(s * s, 0.0);
        let req = crate::linalg::SymmetricEigen::factor_scratch(s);
        let stack = self.scratch.stack(req);
        // faer reads `s` subdiagonal entries and ignores the last.
        evd::tridiagonal_self_adjoint_evd(
            faer::diag::DiagRef::from_slice(&self.alpha[..s]),
            faer::diag::DiagRef::from_slice(&self.beta[..s]),
            faer::diag::DiagMut::from_slice_mut(&mut self.theta),
            Some(faer::MatMut::from_column_major_slice_mut(&mut self.y, s, s)),
            par(),
            stack,
            Default::default(),
        )
        .map_err(|_| LinalgError::NoConvergence)
    }

    /// Steps taken by the last run (the size of `T`).
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// The diagonal `α_1 … α_s` of `T`.
    pub fn alpha(&self) -> &[f64] {
        &self.alpha[..self.steps]
    }

    /// The off-diagonal `β_1 … β_{s−1}` of `T`.
    pub fn beta(&self) -> &[f64] {
        &self.beta[..self.steps.saturating_sub(1)]
    }

    /// `β_s = ‖A q_s − α_s q_s − β_{s−1} q_{s−1}‖`, the norm of the residual
    /// `A Q − Q T` (0 up to rounding when the space is invariant).
    pub fn residual_beta(&self) -> f64 {
        if self.steps == 0 {
            0.0
        } else {
            self.beta[self.steps - 1]
        }
    }

    /// `T` as a dense `s × s` matrix (allocates).
    pub fn t(&self) -> DMatrix<f64> {
        let s = self.steps;
        DMatrix::from_fn(s, s, |i, j| {
            if i == j {
                self.alpha[i]
            } else if i == j + 1 || j == i + 1 {
                self.beta[i.min(j)]
            } else {
                0.0
            }
        })
    }

    /// The Krylov basis `Q`, `n × s` with orthonormal columns.
    pub fn basis(&self) -> DMatrixView<'_, f64> {
        self.q.columns(0, self.steps)
    }

    /// The Ritz values θ_i (eigenvalues of `T`), ascending.
    pub fn ritz_values(&self) -> &[f64] {
        &self.theta[..self.steps]
    }

    /// The eigenvectors `Y` of `T` (`s × s`, column `i` for θ_i); the Ritz
    /// vectors are `Q Y`.
    pub fn ritz_vectors_of_t(&self) -> DMatrixView<'_, f64> {
        let s = self.steps;
        DMatrixView::from_slice(&self.y[..s * s], s, s)
    }

    /// Writes `Q w` into `out` (`n` entries): the vector of the Krylov
    /// subspace with coordinates `w` (`steps` entries) in the basis, in one
    /// pass over `Q` and without allocating (saddle-free Newton's step).
    ///
    /// Errors: `w` or `out` of the wrong length.
    ///
    /// ```
    /// use hesse::linalg::{Diagonal, Lanczos};
    /// let a = Diagonal::new(vec![1.0, 2.0, 3.0]);
    /// let mut lanczos = Lanczos::new();
    /// lanczos.run(&a, &[1.0, 0.0, 1.0], 2).unwrap();
    /// let mut out = [0.0; 3];
    /// lanczos.basis_times(&[2f64.sqrt(), 0.0], &mut out).unwrap();
    /// assert!((out[0] - 1.0).abs() < 1e-15 && out[1] == 0.0 && (out[2] - 1.0).abs() < 1e-15);
    /// ```
    pub fn basis_times(&self, w: &[f64], out: &mut [f64]) -> Result<(), LinalgError> {
        let s = self.steps;
        let n = self.q.nrows();
        check_len("w", w, s, "the number of Lanczos steps")?;
        check_len("out", out, n, "operator")?;
        faer::linalg::matmul::matmul(
            faer::MatMut::from_column_major_slice_mut(out, n, 1),
            faer::Accum::Replace,
            faer::MatRef::from_column_major_slice(&self.q.as_slice()[..n * s], n, s),
            faer::MatRef::from_column_major_slice(w, s, 1),
            1.0,
            par(),
        );
        Ok(())
    }

    /// Writes the Ritz vector `x_i = Q y_i` (`n` entries) into `out`.
    ///
    /// Errors: `i ≥ steps`, or `out` of the wrong length.
    pub fn ritz_vector(&self, i: usize, out: &mut [f64]) -> Result<(), LinalgError> {
        let s = self.steps;
        if i >= s {
            return Err(LinalgError::invalid_option(
                "i",
                i,
                "must be < the number of Lanczos steps",
            ));
        }
        let n = self.q.nrows();
        check_len("out", out, n, "operator")?;
        faer::linalg::matmul::matmul(
            faer::MatMut::from_column_major_slice_mut(out, n, 1),
            faer::Accum::Replace,
            faer::MatRef::from_column_major_slice(&self.q.as_slice()[..n * s], n, s),
            faer::MatRef::from_column_major_slice(&self.y[i * s..(i + 1) * s], s, 1),
            1.0,
            par(),
        );
        Ok(())
    }

    /// The bound `β_s |e_sᵀ y_i|` on `|λ − θ_i|` for some eigenvalue `λ` of `A`
    /// (exact when the basis is orthonormal; G&VL Theorem 10.1.2).
    pub fn ritz_residual(&self, i: usize) -> f64 {
        let s = self.steps;
        if i >= s {
            return f64::NAN;
        }
        self.residual_beta() * self.y[i * s + s - 1].abs()
    }

    /// The smallest Ritz value (an upper bound on `λ_min(A)`), `None` before a run.
    pub fn min_ritz(&self) -> Option<f64> {
        self.ritz_values().first().copied()
    }

    /// The largest Ritz value (a lower bound on `λ_max(A)`), `None` before a run.
    pub fn max_ritz(&self) -> Option<f64> {
        self.ritz_values().last().copied()
    }
}

/// `y ← y − a x`.
fn axpy_neg(a: f64, x: &[f64], y: &mut [f64]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi -= a * xi;
    }
}
