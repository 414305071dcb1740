//! Modified Cholesky: `A + τ I = L Lᵀ` with the smallest `τ` of a doubling sequence.
//!
//! Nocedal & Wright (2006), Algorithm 3.3 ("Cholesky with Added Multiple of the
//! Identity"):
//!
//! ```text
//! β = 10⁻³ ‖A‖_F                       (see below)
//! if min_i a_ii > 0 then τ₀ = 0 else τ₀ = −min_i a_ii + β
//! for k = 0, 1, 2, …
//!     attempt L Lᵀ = A + τ_k I; stop on success
//!     τ_{k+1} = max(2 τ_k, β)
//! ```
//!
//! Deviation: N&W take the heuristic constant `β = 10⁻³` in absolute terms; we
//! scale it by the Frobenius norm of `A` (the lower triangle read as the
//! symmetric whole), `β = 10⁻³ ‖A‖_F`, so that the result does not depend on the
//! units of `f` (with `β = 10⁻³ ‖A‖_F` and `‖A‖_F ≥ |λ_min|`, at most
//! `⌈log₂(10³)⌉ + 1 = 11` doublings reach a shift that must succeed). If
//! `A = 0`, `β = 10⁻³`.
//!
//! Every attempt is a full `n³/3` factorization; [`ModifiedCholeskyInfo`]
//! reports how many were needed, as faer's `LltInfo` reports its regularized
//! pivots, so damped-Newton runs can report their extra cost.

use nalgebra::DMatrix;

use super::cholesky::copy_lower;
use super::{Cholesky, LinalgError, check_finite_lower, check_len, check_square};

/// How a [`ModifiedCholesky`] factorization went.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ModifiedCholeskyInfo {
    /// The shift `τ` with `A + τ I = L Lᵀ` (0 when `A` itself was factored).
    pub tau: f64,
    /// Cholesky factorizations attempted, the successful one included
    /// (1 when `A` was positive definite with a positive diagonal).
    pub factorizations: usize,
}

/// `A + τ I = L Lᵀ` with `τ ≥ 0` found by N&W Algorithm 3.3 (doubling).
///
/// The result is a positive definite approximation of `A`: for a Newton step
/// `(A + τ I) p = −g` is a descent direction whatever the inertia of `A`.
/// `τ ≥ −λ_min(A)` whenever `A` is indefinite.
///
/// ```
/// use hesse::linalg::ModifiedCholesky;
/// use nalgebra::DMatrix;
/// // Eigenvalues 3 and −1.
/// let a = DMatrix::from_row_slice(2, 2, &[1.0, 2.0, 2.0, 1.0]);
/// let mc = ModifiedCholesky::new(&a).unwrap();
/// let info = mc.info();
/// assert!(info.tau > 1.0 && info.factorizations >= 2);
/// // Solves (A + τI) x = b.
/// let x = mc.solve(&[1.0, 1.0]).unwrap();
/// assert!(((1.0 + info.tau) * x[0] + 2.0 * x[1] - 1.0).abs() < 1e-12);
/// ```
#[derive(Clone, Debug)]
pub struct ModifiedCholesky {
    chol: Cholesky,
    /// The diagonal of `A`, kept to rebuild `A + τ I` after a failed attempt.
    diag: Vec<f64>,
    beta_scale: f64,
    max_factorizations: usize,
    info: ModifiedCholeskyInfo,
}

impl Default for ModifiedCholesky {
    fn default() -> Self {
        Self::with_dim(0)
    }
}

impl ModifiedCholesky {
    /// Factors `a` (lower triangle read), allocating the workspace.
    pub fn new(a: &DMatrix<f64>) -> Result<Self, LinalgError> {
        let mut mc = Self::with_dim(a.nrows());
        mc.factor(a)?;
        Ok(mc)
    }

    /// An unfactored workspace for `n × n` matrices.
    pub fn with_dim(n: usize) -> Self {
        Self {
            chol: Cholesky::with_dim(n),
            diag: vec![0.0; n],
            beta_scale: 1e-3,
            max_factorizations: 64,
            info: ModifiedCholeskyInfo {
                tau: f64::NAN,
                factorizations: 0,
            },
        }
    }

    /// The factor `c` in `β = c ‖A‖_F`. Default `10⁻³` (N&W §3.4, p. 51).
    pub fn with_beta(mut self, c: f64) -> Result<Self, LinalgError> {
        if !(c.is_finite() && c > 0.0) {
            return Err(LinalgError::invalid_option(
                "beta",
                c,
                "must be finite and > 0",
            ));
        }
        self.beta_scale = c;
        Ok(self)
    }

    /// The dimension `n`.
    pub fn dim(&self) -> usize {
        self.chol.dim()
    }

    /// Factors `a + τ I`, reading the lower triangle of `a`; each attempt
    /// copies that triangle (`n²/2` entries) into the workspace, so `a` is
    /// left intact for the next.
    ///
    /// Errors as [`Cholesky::factor`], except that an indefinite `a` is not
    /// one: it is shifted.
    pub fn factor(&mut self, a: &DMatrix<f64>) -> Result<ModifiedCholeskyInfo, LinalgError> {
        let n = check_square("a", a)?;
        check_finite_lower("a", a)?;
        self.chol.resize(n);
        self.diag.resize(n, 0.0);
        self.run(a)
    }

    fn run(&mut self, a: &DMatrix<f64>) -> Result<ModifiedCholeskyInfo, LinalgError> {
        let n = self.chol.dim();
        let mut min_diag = f64::INFINITY;
        for j in 0..n {
            let d = a[(j, j)];
            self.diag[j] = d;
            min_diag = min_diag.min(d);
        }
        // β = c ‖A‖_F, computed only when a shift is needed: a positive
        // definite A (the common case near a minimizer) is factored without
        // the extra pass over its lower triangle.
        let c = self.beta_scale;
        let beta_of = |a: &DMatrix<f64>| {
            let mut fro2 = 0.0;
            for j in 0..n {
                fro2 += a[(j, j)] * a[(j, j)];
                fro2 += 2.0 * a.view((j + 1, j), (n - j - 1, 1)).norm_squared();
            }
            let fro = fro2.sqrt();
            if fro > 0.0 && fro.is_finite() {
                c * fro
            } else {
                c
            }
        };
        let mut beta = f64::NAN;
        let mut tau = if min_diag > 0.0 || n == 0 {
            0.0
        } else {
            beta = beta_of(a);
            -min_diag + beta
        };

        let mut attempts = 0;
        loop {
            // Build A + τI in the lower triangle of the buffer (faer's
            // factorization overwrites it, and uses the upper triangle as scratch).
            let buf = self.chol.buffer_mut();
            copy_lower(a, buf);
            for j in 0..n {
                buf[(j, j)] = self.diag[j] + tau;
            }
            attempts += 1;
            match self.chol.factor_unchecked() {
                Ok(()) => {
                    self.info = ModifiedCholeskyInfo {
                        tau,
                        factorizations: attempts,
                    };
                    return Ok(self.info);
                }
                Err(LinalgError::NotPositiveDefinite { .. })
                    if attempts < self.max_factorizations =>
                {
                    if beta.is_nan() {
                        beta = beta_of(a);
                    }
                    tau = (2.0 * tau).max(beta);
                }
                Err(LinalgError::NotPositiveDefinite { .. }) => {
                    self.info = ModifiedCholeskyInfo {
                        tau,
                        factorizations: attempts,
                    };
                    return Err(LinalgError::ShiftLimit { attempts, tau });
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The shift and the number of factorizations of the last call.
    pub fn info(&self) -> ModifiedCholeskyInfo {
        self.info
    }

    /// The Cholesky factorization of `A + τ I`.
    pub fn cholesky(&self) -> &Cholesky {
        &self.chol
    }

    /// Solves `(A + τ I) x = b` in place.
    pub fn solve_mut(&self, b: &mut [f64]) -> Result<(), LinalgError> {
        check_len("b", b, self.dim(), "factorization")?;
        self.chol.solve_mut(b)
    }

    /// Solves `(A + τ I) x = b` and returns `x` (allocates).
    #[must_use = "Did you mean to use solve_mut()?"]
    pub fn solve(&self, b: &[f64]) -> Result<Vec<f64>, LinalgError> {
        self.chol.solve(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positive_definite_takes_one_factorization() {
        let a = DMatrix::from_row_slice(2, 2, &[2.0, 1.0, 1.0, 2.0]);
        let info = ModifiedCholesky::new(&a).unwrap().info();
        assert_eq!(
            info,
            ModifiedCholeskyInfo {
                tau: 0.0,
                factorizations: 1
            }
        );
    }

    #[test]
    fn positive_diagonal_but_indefinite_starts_at_zero() {
        // min a_ii > 0 so τ₀ = 0 fails, then τ₁ = β.
        let a = DMatrix::from_row_slice(2, 2, &[1.0, 2.0, 2.0, 1.0]);
        let info = ModifiedCholesky::new(&a).unwrap().info();
        assert!(info.factorizations >= 3);
        assert!(info.tau >= 1.0);
    }

    #[test]
    fn zero_matrix_gets_beta() {
        let info = ModifiedCholesky::new(&DMatrix::zeros(3, 3)).unwrap().info();
        assert_eq!(info.factorizations, 1);
        assert_eq!(info.tau, 1e-3);
    }
}
