//! Linear algebra: operators, dense factorizations (faer), Krylov solvers.
//!
//! Three layers, each usable on its own:
//!
//! - **Operators** ([`LinearOperator`]): anything that computes `A v`: a dense
//!   [`DMatrix<f64>`](nalgebra::DMatrix) (through faer's matrix-vector product),
//!   a closure ([`FnOperator`]), a [`Diagonal`], or the Hessian of a
//!   [`HessVec`](crate::problem::HessVec) problem at a fixed point
//!   ([`HessianOperator`]).
//! - **Krylov solvers** on operators, each a workspace sized on first use and
//!   reused: preconditioned conjugate gradients ([`ConjugateGradient`], with
//!   negative-curvature detection for Newton-CG), Steihaug-Toint truncated CG
//!   for the trust-region subproblem ([`SteihaugCg`]) and [`Lanczos`] (a
//!   tridiagonal `T = QᵀAQ`, its Ritz values and the Krylov basis `Q`).
//! - **Dense factorizations** through faer on zero-copy views of nalgebra
//!   matrices: [`Cholesky`] (`A = LLᵀ`), [`ModifiedCholesky`] (`A + τI = LLᵀ`
//!   with growing `τ`, N&W Alg. 3.3), [`Ldlt`] (Bunch-Kaufman `PAPᵀ = LDLᵀ`, with
//!   the [`Inertia`]), [`Qr`] (Householder, optionally column-pivoted) and
//!   [`SymmetricEigen`] (`A = VΛVᵀ`).
//!
//! Conventions:
//! - symmetric factorizations read **only the lower triangle** of their input
//!   (as LAPACK and faer do), so a Hessian needs only its lower half filled;
//! - dense kernels run with faer's global parallelism
//!   ([`faer::get_global_parallelism`], all cores by default); call
//!   [`faer::set_global_parallelism`] to fix the thread count;
//! - each factorization is a struct that owns its factors and its scratch
//!   memory (faer's [`StackReq`] /
//!   [`MemStack`]); calling `factor` again on a
//!   matrix of the same size allocates nothing;
//! - bad input (wrong shape, NaN) is a [`LinalgError`], never a panic.
//!
//! ```
//! use hesse::linalg::{Cholesky, ConjugateGradient};
//! use nalgebra::DMatrix;
//!
//! let a = DMatrix::from_row_slice(2, 2, &[4.0, 1.0, 1.0, 3.0]);
//! let b = [1.0, 2.0];
//!
//! let mut x = b;
//! Cholesky::new(&a).unwrap().solve_mut(&mut x).unwrap();
//!
//! let mut y = [0.0; 2];
//! let res = ConjugateGradient::new().with_rtol(1e-12).unwrap().solve(&a, &b, &mut y, None).unwrap();
//! assert!(res.converged());
//! assert!((x[0] - y[0]).abs() < 1e-12 && (x[1] - y[1]).abs() < 1e-12);
//! ```

mod cg;
mod cholesky;
mod eigen;
pub mod elementwise;
mod error;
mod lanczos;
mod ldlt;
mod modified_cholesky;
mod operator;
mod qr;
mod steihaug;

pub use cg::{CgOutcome, CgResult, ConjugateGradient};
pub use cholesky::Cholesky;
pub(crate) use cholesky::copy_lower;
pub use eigen::SymmetricEigen;
pub use error::LinalgError;
pub use lanczos::{Lanczos, LanczosResult, Reorthogonalization};
pub use ldlt::{Inertia, Ldlt};
pub use modified_cholesky::{ModifiedCholesky, ModifiedCholeskyInfo};
pub use operator::{Diagonal, FnOperator, HessianOperator, LinearOperator};
pub use qr::Qr;
pub use steihaug::{SteihaugCg, SteihaugOutcome, SteihaugResult, forcing_term};

use faer::dyn_stack::{MemBuffer, MemStack, StackReq};
use nalgebra::DMatrix;

// ---------------------------------------------------------------------------
// Vector kernels (level 1). Written as plain loops: the compiler vectorizes
// them and they are memory-bound at the sizes where they matter.
// ---------------------------------------------------------------------------

/// `xᵀy` over the first `min(x.len(), y.len())` entries: with slices of
/// different lengths the shorter one wins, whichever it is.
///
/// ```
/// assert_eq!(hesse::linalg::dot(&[1.0, 2.0], &[3.0, 4.0]), 11.0);
/// assert_eq!(hesse::linalg::dot(&[1.0, 2.0, 5.0], &[3.0, 4.0]), 11.0);
/// ```
#[inline]
pub fn dot(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len().min(y.len());
    let (x, y) = (&x[..n], &y[..n]);
    // Four accumulators break the dependency chain so the loop vectorizes.
    let mut acc = [0.0f64; 4];
    let (xc, xr) = x.split_at(x.len() - x.len() % 4);
    let (yc, yr) = y.split_at(y.len().min(xc.len()));
    for (a, b) in xc.chunks_exact(4).zip(yc.chunks_exact(4)) {
        acc[0] += a[0] * b[0];
        acc[1] += a[1] * b[1];
        acc[2] += a[2] * b[2];
        acc[3] += a[3] * b[3];
    }
    let tail: f64 = xr.iter().zip(yr).map(|(a, b)| a * b).sum();
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// The Euclidean norm `‖x‖₂`.
///
/// ```
/// assert_eq!(hesse::linalg::norm2(&[3.0, 4.0]), 5.0);
/// ```
#[inline]
pub fn norm2(x: &[f64]) -> f64 {
    dot(x, x).sqrt()
}

/// `y = a x + y`.
///
/// ```
/// let mut y = [1.0, 1.0];
/// hesse::linalg::axpy(2.0, &[1.0, 2.0], &mut y);
/// assert_eq!(y, [3.0, 5.0]);
/// ```
#[inline]
pub fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

// ---------------------------------------------------------------------------
// Input checks shared by the factorizations and solvers.
// ---------------------------------------------------------------------------

pub(crate) fn check_len(
    what: &'static str,
    v: &[f64],
    expected: usize,
    expected_from: &'static str,
) -> Result<(), LinalgError> {
    if v.len() != expected {
        return Err(LinalgError::LengthMismatch {
            what,
            got: v.len(),
            expected,
            expected_from,
        });
    }
    Ok(())
}

pub(crate) fn check_finite_vec(what: &'static str, v: &[f64]) -> Result<(), LinalgError> {
    match v.iter().position(|x| !x.is_finite()) {
        None => Ok(()),
        Some(i) => Err(LinalgError::NonFinite {
            what,
            index: i.to_string(),
            value: v[i],
        }),
    }
}

pub(crate) fn check_square(what: &'static str, a: &DMatrix<f64>) -> Result<usize, LinalgError> {
    let (m, n) = a.shape();
    if m != n {
        let k = m.max(n);
        return Err(LinalgError::ShapeMismatch {
            what,
            rows: m,
            cols: n,
            expected_rows: k,
            expected_cols: k,
        });
    }
    Ok(n)
}

/// Checks the lower triangle (diagonal included) of a square matrix, one
/// contiguous column segment at a time (this runs before every factorization).
pub(crate) fn check_finite_lower(what: &'static str, a: &DMatrix<f64>) -> Result<(), LinalgError> {
    let n = a.ncols();
    let data = a.as_slice();
    for j in 0..n {
        let col = &data[j * n + j..(j + 1) * n];
        // Sum of 0·x is 0 for finite x and NaN otherwise: a branch-free scan.
        if col.iter().map(|x| x * 0.0).sum::<f64>() != 0.0 {
            let k = col.iter().position(|x| !x.is_finite()).unwrap_or(0);
            return Err(LinalgError::NonFinite {
                what,
                index: format!("({}, {j})", j + k),
                value: col[k],
            });
        }
    }
    Ok(())
}

pub(crate) fn check_finite_mat(what: &'static str, a: &DMatrix<f64>) -> Result<(), LinalgError> {
    let m = a.nrows();
    match a.as_slice().iter().position(|x| !x.is_finite()) {
        None => Ok(()),
        Some(k) => Err(LinalgError::NonFinite {
            what,
            index: format!("({}, {})", k % m, k / m),
            value: a.as_slice()[k],
        }),
    }
}

// ---------------------------------------------------------------------------
// Zero-copy faer views of nalgebra storage (both column-major, contiguous).
// ---------------------------------------------------------------------------

pub(crate) fn faer_ref(a: &DMatrix<f64>) -> faer::MatRef<'_, f64> {
    faer::MatRef::from_column_major_slice(a.as_slice(), a.nrows(), a.ncols())
}

pub(crate) fn faer_mut(a: &mut DMatrix<f64>) -> faer::MatMut<'_, f64> {
    let (m, n) = a.shape();
    faer::MatMut::from_column_major_slice_mut(a.as_mut_slice(), m, n)
}

pub(crate) fn par() -> faer::Par {
    faer::get_global_parallelism()
}

/// Scratch memory for faer routines: grown to the largest request seen and
/// then reused, so repeated factorizations of one size allocate nothing.
pub(crate) struct Scratch {
    req: StackReq,
    buf: MemBuffer,
}

impl Scratch {
    pub(crate) fn new() -> Self {
        Self {
            req: StackReq::EMPTY,
            buf: MemBuffer::new(StackReq::EMPTY),
        }
    }

    /// A stack of at least `req`, reallocating only when it grows.
    pub(crate) fn stack(&mut self, req: StackReq) -> &mut MemStack {
        let joined = self.req.or(req);
        if joined != self.req {
            self.req = joined;
            self.buf = MemBuffer::new(joined);
        }
        MemStack::new(&mut self.buf)
    }
}

impl Clone for Scratch {
    fn clone(&self) -> Self {
        Self {
            req: self.req,
            buf: MemBuffer::new(self.req),
        }
    }
}

impl std::fmt::Debug for Scratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Scratch({} bytes)", self.req.size_bytes())
    }
}

impl Default for Scratch {
    fn default() -> Self {
        Self::new()
    }
}
