//! Convex quadratics of a chosen condition number.
//!
//! `f(x) = ½ (x − x*)ᵀ A (x − x*) + f*` with `A` symmetric positive definite,
//! so `∇f(x) = A (x − x*)`, `∇²f = A`, and `x*` is the unique minimizer. Built
//! two ways, both with eigenvalues log-spaced from 1 to `κ`,
//! `λᵢ = κ^{i/(n−1)}`, `i = 0..n−1`, so that `cond(A) = κ` exactly in exact
//! arithmetic:
//!
//! - [`Quadratic::with_condition`]: `A = Q diag(λ) Qᵀ` with `Q` a random
//!   orthogonal matrix: the QR factor of an `n × n` standard Gaussian matrix
//!   from `ChaCha8Rng` seeded with `seed` (Box–Muller on its uniforms), its
//!   columns' signs fixed so that `R` has a positive diagonal (which makes `Q`
//!   Haar-distributed; Mezzadri 2007, "How to generate random matrices from
//!   the classical compact groups", Notices AMS 54(5)).
//! - [`Quadratic::diagonal`]: `A = diag(λ)`, the axis-aligned case.
//!
//! Both default to `x* = (1, …, 1)`, `f* = 0` and start at `x₀ = 0`; change
//! them with [`with_minimizer`](Quadratic::with_minimizer) and
//! [`with_f_star`](Quadratic::with_f_star). On such a quadratic, steepest
//! descent with exact line searches converges linearly with rate
//! `((κ − 1)/(κ + 1))²` and CG in at most `n` steps (Nocedal & Wright,
//! Thm. 3.3 and 5.1), which makes it the test of conditioning.

use nalgebra::{DMatrix, DVector};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::ProblemError;
use crate::problem::{Gradient, HessVec, Hessian, Objective};

/// `f(x) = ½ (x − x*)ᵀ A (x − x*) + f*`, `A` symmetric positive definite.
///
/// `∇f(x) = A (x − x*)`, `∇²f = A`. The constructors give `A` eigenvalues
/// log-spaced from 1 to `κ` (`λᵢ = κ^{i/(n−1)}`), so `cond(A) = κ`:
/// [`with_condition`](Self::with_condition) rotates them by a seeded random
/// orthogonal `Q` (`A = Q diag(λ) Qᵀ`, `Q` from the QR factorization of a
/// Gaussian matrix drawn from `ChaCha8Rng`, signs fixed so that `Q` is
/// Haar-distributed, Mezzadri 2007), [`diagonal`](Self::diagonal) leaves them
/// on the axes. Defaults: `x* = (1, …, 1)`, `f* = 0`, start `x₀ = 0`.
///
/// ```
/// use hesse::problem::{Gradient, Objective};
/// use hesse::problems::Quadratic;
///
/// let q = Quadratic::with_condition(20, 1e4, 7).unwrap();
/// assert!((q.condition_number() - 1e4).abs() < 1e-6);
/// let mut g = vec![0.0; 20];
/// assert_eq!(q.value_grad(&q.minimizer(), &mut g), q.f_star());
/// assert!(g.iter().all(|&gi| gi == 0.0));
/// assert!(q.value(&q.start()) > q.f_star());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Quadratic {
    a: DMatrix<f64>,
    eigenvalues: Vec<f64>,
    x_star: Vec<f64>,
    f_star: f64,
}

/// `λᵢ = κ^{i/(n−1)}`, `i = 0..n−1` (just `[1]` for `n = 1`).
fn log_spaced(n: usize, kappa: f64) -> Vec<f64> {
    if n == 1 {
        return vec![1.0];
    }
    (0..n)
        .map(|i| kappa.powf(i as f64 / (n - 1) as f64))
        .collect()
}

fn check(n: usize, kappa: f64) -> Result<(), ProblemError> {
    if n == 0 {
        return Err(ProblemError::InvalidParameter {
            name: "n",
            value: n.to_string(),
            expected: "must be ≥ 1",
        });
    }
    if !(kappa.is_finite() && kappa >= 1.0) || (n == 1 && kappa != 1.0) {
        return Err(ProblemError::InvalidParameter {
            name: "kappa",
            value: kappa.to_string(),
            expected: "must be finite and ≥ 1 (and 1 when n = 1)",
        });
    }
    Ok(())
}

/// A standard Gaussian by Box–Muller from two uniforms of `rng`.
fn gaussian(rng: &mut ChaCha8Rng) -> f64 {
    // 1 − u lies in (0, 1], so the logarithm is finite.
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

impl Quadratic {
    /// `A = Q diag(λ) Qᵀ` in `n` variables with condition number `kappa`
    /// (eigenvalues log-spaced from 1 to `kappa`) and `Q` a random orthogonal
    /// matrix drawn from `ChaCha8Rng::seed_from_u64(seed)`. Same seed, same
    /// matrix, on every platform.
    pub fn with_condition(n: usize, kappa: f64, seed: u64) -> Result<Self, ProblemError> {
        check(n, kappa)?;
        let eigenvalues = log_spaced(n, kappa);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        // Drawn in column-major order, so the matrix depends only on (n, seed).
        let draws: Vec<f64> = (0..n * n).map(|_| gaussian(&mut rng)).collect();
        let z = DMatrix::from_vec(n, n, draws);
        let qr = z.qr();
        let r = qr.r();
        let mut q = qr.q();
        for (j, mut col) in q.column_iter_mut().enumerate() {
            if r[(j, j)] < 0.0 {
                col.neg_mut();
            }
        }
        // A = Q Λ Qᵀ, symmetrized so that rounding leaves it exactly symmetric.
        let scaled = &q * DMatrix::from_diagonal(&DVector::from_column_slice(&eigenvalues));
        let a = &scaled * q.transpose();
        let a = (&a + a.transpose()) * 0.5;
        Ok(Quadratic {
            a,
            eigenvalues,
            x_star: vec![1.0; n],
            f_star: 0.0,
        })
    }

    /// `A = diag(λ)` in `n` variables, eigenvalues log-spaced from 1 to
    /// `kappa` along the axes.
    ///
    /// ```
    /// use hesse::problems::Quadratic;
    /// let q = Quadratic::diagonal(3, 100.0).unwrap();
    /// assert_eq!(q.eigenvalues(), [1.0, 10.0, 100.0]);
    /// ```
    pub fn diagonal(n: usize, kappa: f64) -> Result<Self, ProblemError> {
        check(n, kappa)?;
        let eigenvalues = log_spaced(n, kappa);
        let a = DMatrix::from_diagonal(&DVector::from_column_slice(&eigenvalues));
        Ok(Quadratic {
            a,
            eigenvalues,
            x_star: vec![1.0; n],
            f_star: 0.0,
        })
    }

    /// Moves the minimizer to `x_star` (length `n`).
    pub fn with_minimizer(mut self, x_star: Vec<f64>) -> Result<Self, ProblemError> {
        if x_star.len() != self.x_star.len() {
            return Err(ProblemError::InvalidParameter {
                name: "x_star",
                value: format!("a vector of {} entries", x_star.len()),
                expected: "must have n entries",
            });
        }
        self.x_star = x_star;
        Ok(self)
    }

    /// Sets the minimum value `f*`.
    pub fn with_f_star(mut self, f_star: f64) -> Self {
        self.f_star = f_star;
        self
    }

    /// The matrix `A`.
    pub fn matrix(&self) -> &DMatrix<f64> {
        &self.a
    }

    /// The eigenvalues of `A` by construction, ascending.
    pub fn eigenvalues(&self) -> &[f64] {
        &self.eigenvalues
    }

    /// `λ_max / λ_min` by construction.
    pub fn condition_number(&self) -> f64 {
        self.eigenvalues[self.eigenvalues.len() - 1] / self.eigenvalues[0]
    }

    /// The start `x₀ = 0`.
    pub fn start(&self) -> Vec<f64> {
        vec![0.0; self.x_star.len()]
    }

    /// The minimizer `x*`.
    pub fn minimizer(&self) -> Vec<f64> {
        self.x_star.clone()
    }

    /// The minimum value `f*`.
    pub fn f_star(&self) -> f64 {
        self.f_star
    }

    /// Writes `A (x − x*)` into `out` and returns `(x − x*)ᵀ A (x − x*)`.
    fn a_times_shift(&self, x: &[f64], out: &mut [f64]) -> f64 {
        out.iter_mut().for_each(|o| *o = 0.0);
        // Column by column: A is column-major.
        for (j, (xj, sj)) in x.iter().zip(&self.x_star).enumerate() {
            let dj = xj - sj;
            for (o, aij) in out.iter_mut().zip(self.a.column(j).iter()) {
                *o += aij * dj;
            }
        }
        out.iter()
            .zip(x.iter().zip(&self.x_star))
            .map(|(o, (xi, si))| o * (xi - si))
            .sum()
    }
}

impl Objective for Quadratic {
    fn dim(&self) -> usize {
        self.x_star.len()
    }
    fn value(&self, x: &[f64]) -> f64 {
        let mut ad = vec![0.0; self.x_star.len()];
        0.5 * self.a_times_shift(x, &mut ad) + self.f_star
    }
}

impl Gradient for Quadratic {
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        0.5 * self.a_times_shift(x, g) + self.f_star
    }
}

impl Hessian for Quadratic {
    fn hessian(&self, _x: &[f64], h: &mut DMatrix<f64>) {
        h.copy_from(&self.a);
    }
}

impl HessVec for Quadratic {
    fn hess_vec(&self, _x: &[f64], v: &[f64], hv: &mut [f64]) {
        hv.iter_mut().for_each(|o| *o = 0.0);
        for (j, &vj) in v.iter().enumerate() {
            for (o, aij) in hv.iter_mut().zip(self.a.column(j).iter()) {
                *o += aij * vj;
            }
        }
    }
}
