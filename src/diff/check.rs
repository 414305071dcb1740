//! Derivative checking: compare hand-written derivatives with central
//! differences at a point, and name the worst entry.
//!
//! In the spirit of MINPACK's `chkder` (Moré, Garbow & Hillstrom, *User Guide
//! for MINPACK-1*, 1980, §4) and Ceres's `GradientChecker`: the user's
//! derivative (`analytic`) is compared entry by entry with a central
//! difference (`numeric`, [`finite`](super::finite), step `ε^{1/3}·max(1, |xⱼ|)`)
//! and the report says which entry disagrees most, by how much, and whether
//! that is within a tolerance.
//!
//! | check               | analytic                      | numeric                                     |
//! |---------------------|-------------------------------|---------------------------------------------|
//! | [`check_gradient`]  | `value_grad(x, g)`            | central differences of `value` (`2n` evals) |
//! | [`check_jacobian`]  | `jacobian(x, J)`              | central differences of `residuals` (`2n`)   |
//! | [`check_hessian`]   | `hessian(x, H)`               | central differences of `value_grad`, symmetrized (`2n`) |
//! | [`check_hess_vec`]  | `hess_vec(x, v, Hv)`          | central difference of `value_grad` along `v` (2) |
//!
//! The second-order checks differentiate the user's *gradient*: check the
//! gradient first.
//!
//! **The error measure.** For each entry
//! `eᵢ = |aᵢ − nᵢ| / max(|aᵢ|, |nᵢ|, floor)`, with
//! `floor = 10⁻³ · max over all entries of max(|aᵢ|, |nᵢ|)`
//! ([`FLOOR_FACTOR`]). Entries of ordinary size are compared relatively;
//! entries smaller than a thousandth of the largest are compared absolutely
//! against the floor, because central differences resolve every entry only to
//! an absolute error of about `ε^{2/3} ≈ 4·10⁻¹¹` times the derivative's
//! scale: relative to the floor that noise is `~4·10⁻⁸`, while relative to a
//! tiny or zero entry it could be anything. The measure is invariant under
//! scaling of `f`. A non-finite value on either side gives `eᵢ = ∞`.
//!
//! **Tolerance.** A correct derivative typically shows `max eᵢ` of
//! `10⁻¹⁰`–`10⁻⁷`; a wrong one `10⁻³`–`1`. [`DEFAULT_TOL`] `= 10⁻⁶` separates
//! them for well-scaled problems. Check at a generic point, not at a
//! minimizer or another special point: where the derivative vanishes, the
//! truncation error `O(h² f''')` of the difference is all there is to see.
//!
//! ```
//! use hesse::diff::check_gradient;
//! use hesse::problem::FnGradient;
//!
//! // A gradient with a bug in the second entry (should be 200 (x1 − x0²)).
//! let buggy = FnGradient::new(2, |x: &[f64], g: &mut [f64]| {
//!     g[0] = -2.0 * (1.0 - x[0]) - 400.0 * x[0] * (x[1] - x[0] * x[0]);
//!     g[1] = 200.0 * (x[1] - x[0]);
//!     (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2)
//! });
//! let report = check_gradient(&buggy, &[-1.2, 1.0]).unwrap();
//! assert!(!report.passed(1e-6));
//! assert_eq!(report.worst.row, 1);
//! println!("{report}");
//! ```

use std::fmt;

use nalgebra::DMatrix;

use super::finite::{FdWork, Scheme, check_len, fd_gradient, fd_hess_vec, fd_hessian, fd_jacobian};
use crate::problem::{Gradient, HessVec, Hessian, Residuals};
use crate::solver::Error;

/// Entries below `FLOOR_FACTOR` times the largest are compared absolutely
/// (see the [module docs](self)).
pub const FLOOR_FACTOR: f64 = 1e-3;

/// A tolerance on the relative error that separates correct derivatives
/// (`10⁻¹⁰`–`10⁻⁷` typically) from wrong ones on well-scaled problems.
pub const DEFAULT_TOL: f64 = 1e-6;

/// Which derivative a [`DerivativeCheck`] compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checked {
    /// `∇f`, against central differences of `f`.
    Gradient,
    /// The Jacobian of residuals, against central differences of `r`.
    Jacobian,
    /// The dense Hessian, against central differences of `∇f`.
    Hessian,
    /// `∇²f v`, against a central difference of `∇f` along `v`.
    HessVec,
}

impl Checked {
    fn symbol(self) -> &'static str {
        match self {
            Checked::Gradient => "g",
            Checked::Jacobian => "J",
            Checked::Hessian => "H",
            Checked::HessVec => "Hv",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Checked::Gradient => "gradient",
            Checked::Jacobian => "Jacobian",
            Checked::Hessian => "Hessian",
            Checked::HessVec => "Hessian-vector product",
        }
    }

    fn is_matrix(self) -> bool {
        matches!(self, Checked::Jacobian | Checked::Hessian)
    }
}

/// One compared entry.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Entry {
    /// Row: the component for a gradient or `Hv`, the residual for a
    /// Jacobian.
    pub row: usize,
    /// Column: the variable for a Jacobian or Hessian; 0 for vectors.
    pub col: usize,
    /// The user's value.
    pub analytic: f64,
    /// The central-difference value.
    pub numeric: f64,
    /// `|analytic − numeric| / max(|analytic|, |numeric|, floor)`; `∞` when
    /// either is not finite.
    pub rel_error: f64,
}

/// The result of a derivative check: every entry's relative error and the
/// worst one.
///
/// Vectors are `rows × 1`; matrices are stored column-major like
/// `nalgebra::DMatrix`.
#[derive(Clone, Debug, PartialEq)]
pub struct DerivativeCheck {
    /// What was compared.
    pub checked: Checked,
    /// Rows of the derivative (`n`, or `m` for a Jacobian).
    pub rows: usize,
    /// Columns (`1` for vectors).
    pub cols: usize,
    /// The user's derivative, column-major.
    pub analytic: Vec<f64>,
    /// The central-difference derivative, column-major.
    pub numeric: Vec<f64>,
    /// Each entry's relative error, column-major.
    pub rel_errors: Vec<f64>,
    /// The absolute floor of the error measure:
    /// `FLOOR_FACTOR · max(|analytic|, |numeric|)` over all entries.
    pub floor: f64,
    /// The entry with the largest relative error (the first, on ties).
    pub worst: Entry,
}

impl DerivativeCheck {
    fn new(
        checked: Checked,
        rows: usize,
        cols: usize,
        analytic: Vec<f64>,
        numeric: Vec<f64>,
    ) -> Self {
        let scale = analytic
            .iter()
            .chain(numeric.iter())
            .filter(|v| v.is_finite())
            .fold(0.0_f64, |m, v| m.max(v.abs()));
        let floor = FLOOR_FACTOR * scale;
        let rel_errors: Vec<f64> = analytic
            .iter()
            .zip(&numeric)
            .map(|(&a, &n)| rel_error(a, n, floor))
            .collect();
        let mut k_worst = 0;
        for (k, &e) in rel_errors.iter().enumerate() {
            if e > rel_errors[k_worst] {
                k_worst = k;
            }
        }
        let worst = Entry {
            row: k_worst % rows,
            col: k_worst / rows,
            analytic: analytic[k_worst],
            numeric: numeric[k_worst],
            rel_error: rel_errors[k_worst],
        };
        DerivativeCheck {
            checked,
            rows,
            cols,
            analytic,
            numeric,
            rel_errors,
            floor,
            worst,
        }
    }

    /// Whether every entry's relative error is at most `tol` (see
    /// [`DEFAULT_TOL`]). A NaN or infinite value anywhere fails.
    pub fn passed(&self, tol: f64) -> bool {
        self.worst.rel_error <= tol
    }

    /// The largest relative error, `worst.rel_error`.
    pub fn max_rel_error(&self) -> f64 {
        self.worst.rel_error
    }

    /// The entries whose relative error exceeds `tol`, in column-major order.
    ///
    /// ```
    /// use hesse::diff::check_jacobian;
    /// use hesse::problem::FnResiduals;
    /// // r = (x0 x1, x1²) with a wrong ∂r1/∂x1.
    /// let p = FnResiduals::new(
    ///     2,
    ///     2,
    ///     |x: &[f64], r: &mut [f64]| {
    ///         r[0] = x[0] * x[1];
    ///         r[1] = x[1] * x[1];
    ///     },
    ///     |x: &[f64], j: &mut nalgebra::DMatrix<f64>| {
    ///         j[(0, 0)] = x[1];
    ///         j[(0, 1)] = x[0];
    ///         j[(1, 0)] = 0.0;
    ///         j[(1, 1)] = x[1];
    ///     },
    /// );
    /// let report = check_jacobian(&p, &[0.7, 1.3]).unwrap();
    /// let bad: Vec<_> = report.failures(1e-6).map(|e| (e.row, e.col)).collect();
    /// assert_eq!(bad, [(1, 1)]);
    /// ```
    pub fn failures(&self, tol: f64) -> impl Iterator<Item = Entry> + '_ {
        self.rel_errors
            .iter()
            .enumerate()
            .filter(move |(_, e)| **e > tol || e.is_nan())
            .map(|(k, &e)| Entry {
                row: k % self.rows,
                col: k / self.rows,
                analytic: self.analytic[k],
                numeric: self.numeric[k],
                rel_error: e,
            })
    }

    fn entry_name(&self, e: &Entry) -> String {
        if self.checked.is_matrix() {
            format!("{}[{}, {}]", self.checked.symbol(), e.row, e.col)
        } else {
            format!("{}[{}]", self.checked.symbol(), e.row)
        }
    }
}

/// `|a − n| / max(|a|, |n|, floor)`; 0 when equal, `∞` when either is not
/// finite.
fn rel_error(a: f64, n: f64, floor: f64) -> f64 {
    if !a.is_finite() || !n.is_finite() {
        return f64::INFINITY;
    }
    let diff = (a - n).abs();
    if diff == 0.0 {
        return 0.0;
    }
    diff / a.abs().max(n.abs()).max(floor)
}

impl fmt::Display for DerivativeCheck {
    /// ```text
    /// gradient check (2 entries, central differences): worst g[1]
    ///   analytic  -4.400000000000e2
    ///   numeric   -8.800000000000e1
    ///   relative error 8.0e-1 (floor 2.2e-1), 1 entry above 1e-6
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = &self.worst;
        writeln!(
            f,
            "{} check ({} entries, central differences): worst {}",
            self.checked.name(),
            self.rel_errors.len(),
            self.entry_name(w)
        )?;
        writeln!(f, "  analytic  {:>20.12e}", w.analytic)?;
        writeln!(f, "  numeric   {:>20.12e}", w.numeric)?;
        let above = self.failures(DEFAULT_TOL).count();
        write!(
            f,
            "  relative error {:.1e} (floor {:.1e}), {} {} above {:e}",
            w.rel_error,
            self.floor,
            above,
            if above == 1 { "entry" } else { "entries" },
            DEFAULT_TOL
        )
    }
}

/// `Err` unless `x` has `n > 0` finite entries.
fn check_point(x: &[f64], n: usize) -> Result<(), Error> {
    if n == 0 {
        return Err(Error::EmptyProblem);
    }
    check_len("x", x.len(), n, "problem")?;
    if let Some((i, v)) = x.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(Error::InvalidProblem(format!(
            "x[{i}] = {v} is not finite: derivatives are checked at a finite point"
        )));
    }
    Ok(())
}

/// Checks `value_grad` against central differences of `value` at `x`
/// (`2n + 1` evaluations of `f`, one of `∇f`). Also the place to find out
/// whether `value` and `value_grad` agree: a gradient of the wrong function
/// shows up here as a mismatch.
///
/// # Errors
/// [`Error::EmptyProblem`] for `n = 0`, [`Error::DimensionMismatch`] when `x`
/// does not have `n` entries, [`Error::InvalidProblem`] when `x` has a
/// non-finite entry.
///
/// # Example
/// ```
/// use hesse::diff::{check_gradient, DEFAULT_TOL};
/// use hesse::problems::Rosenbrock;
/// let report = check_gradient(&Rosenbrock::new(4), &[0.1, -0.3, 0.7, 1.9]).unwrap();
/// assert!(report.passed(DEFAULT_TOL), "{report}");
/// assert!(report.max_rel_error() < 1e-8);
/// ```
pub fn check_gradient<P: Gradient + ?Sized>(p: &P, x: &[f64]) -> Result<DerivativeCheck, Error> {
    let n = p.dim();
    check_point(x, n)?;
    let mut analytic = vec![0.0; n];
    p.value_grad(x, &mut analytic);
    let mut numeric = vec![0.0; n];
    fd_gradient(p, x, &mut numeric, Scheme::Central, &mut FdWork::new(n, 0))?;
    Ok(DerivativeCheck::new(
        Checked::Gradient,
        n,
        1,
        analytic,
        numeric,
    ))
}

/// Checks `jacobian` against central differences of `residuals` at `x`
/// (`2n` residual evaluations, one Jacobian).
///
/// # Errors
/// [`Error::EmptyProblem`] for `n = 0`, [`Error::InvalidProblem`] for `m = 0`
/// or a non-finite entry of `x`, [`Error::DimensionMismatch`] when `x` does
/// not have `n` entries.
///
/// # Example
/// ```
/// use hesse::diff::check_jacobian;
/// use hesse::problems::ExtendedRosenbrock;
/// let report = check_jacobian(&ExtendedRosenbrock::new(4), &[0.5, -1.0, 2.0, 0.3]).unwrap();
/// assert!(report.passed(1e-8), "{report}");
/// ```
pub fn check_jacobian<R: Residuals + ?Sized>(r: &R, x: &[f64]) -> Result<DerivativeCheck, Error> {
    let (n, m) = (r.num_params(), r.num_residuals());
    check_point(x, n)?;
    if m == 0 {
        return Err(Error::InvalidProblem(
            "the problem has no residuals (m = 0)".into(),
        ));
    }
    crate::solver::check_dense(
        "check_jacobian",
        &format!("two dense m × n matrices at m = {m}, n = {n}"),
        m.checked_mul(n).and_then(|k| k.checked_mul(2)),
        "",
    )?;
    let mut analytic = DMatrix::zeros(m, n);
    r.jacobian(x, &mut analytic);
    if analytic.shape() != (m, n) {
        return Err(Error::InvalidProblem(crate::problem::shape_message(
            "the Jacobian",
            analytic.shape(),
            (m, n),
        )));
    }
    let mut numeric = DMatrix::zeros(m, n);
    fd_jacobian(
        |x: &[f64], out: &mut [f64]| r.residuals(x, out),
        x,
        &mut numeric,
        Scheme::Central,
        &mut FdWork::new(n, m),
    )?;
    Ok(DerivativeCheck::new(
        Checked::Jacobian,
        m,
        n,
        analytic.as_slice().to_vec(),
        numeric.as_slice().to_vec(),
    ))
}

/// Checks the dense `hessian` against central differences of the user's
/// gradient at `x`, symmetrized (`2n` gradient evaluations, one Hessian). An
/// asymmetric user Hessian shows up as a mismatch.
///
/// # Errors
/// As [`check_gradient`].
///
/// # Example
/// ```
/// use hesse::diff::check_hessian;
/// use hesse::problems::Rosenbrock;
/// let report = check_hessian(&Rosenbrock::new(3), &[0.2, 0.9, -0.4]).unwrap();
/// assert!(report.passed(1e-6), "{report}");
/// ```
pub fn check_hessian<P: Hessian + ?Sized>(p: &P, x: &[f64]) -> Result<DerivativeCheck, Error> {
    let n = p.dim();
    check_point(x, n)?;
    crate::solver::check_dense(
        "check_hessian",
        &format!("two dense n × n matrices at n = {n}"),
        n.checked_mul(n).and_then(|k| k.checked_mul(2)),
        ": use check_hess_vec",
    )?;
    let mut analytic = DMatrix::zeros(n, n);
    p.hessian(x, &mut analytic);
    if analytic.shape() != (n, n) {
        return Err(Error::InvalidProblem(crate::problem::shape_message(
            "the Hessian",
            analytic.shape(),
            (n, n),
        )));
    }
    let mut numeric = DMatrix::zeros(n, n);
    fd_hessian(p, x, &mut numeric, Scheme::Central, &mut FdWork::new(n, 0))?;
    Ok(DerivativeCheck::new(
        Checked::Hessian,
        n,
        n,
        analytic.as_slice().to_vec(),
        numeric.as_slice().to_vec(),
    ))
}

/// Checks `hess_vec(x, v)` against the central difference of the user's
/// gradient along `v` (2 gradient evaluations, one product; step in
/// [`fd_hess_vec`]).
///
/// # Errors
/// As [`check_gradient`], and [`Error::DimensionMismatch`] when `v` does not
/// have `n` entries, [`Error::InvalidProblem`] when `v` is zero or not finite
/// (nothing to check along it).
///
/// # Example
/// ```
/// use hesse::diff::check_hess_vec;
/// use hesse::problems::ExtendedRosenbrock;
/// let p = ExtendedRosenbrock::new(4);
/// let report = check_hess_vec(&p, &[0.5, -1.0, 2.0, 0.3], &[1.0, 2.0, -1.0, 0.5]).unwrap();
/// assert!(report.passed(1e-6), "{report}");
/// ```
pub fn check_hess_vec<P: HessVec + ?Sized>(
    p: &P,
    x: &[f64],
    v: &[f64],
) -> Result<DerivativeCheck, Error> {
    let n = p.dim();
    check_point(x, n)?;
    check_len("v", v.len(), n, "problem")?;
    if v.iter().all(|&e| e == 0.0) || v.iter().any(|e| !e.is_finite()) {
        return Err(Error::InvalidProblem(
            "v must be finite and nonzero to check a Hessian-vector product".into(),
        ));
    }
    let mut analytic = vec![0.0; n];
    p.hess_vec(x, v, &mut analytic);
    let mut numeric = vec![0.0; n];
    fd_hess_vec(
        p,
        x,
        v,
        &mut numeric,
        Scheme::Central,
        &mut FdWork::new(n, 0),
    )?;
    Ok(DerivativeCheck::new(
        Checked::HessVec,
        n,
        1,
        analytic,
        numeric,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_error_has_a_floor_and_flags_non_finite() {
        assert_eq!(rel_error(1.0, 1.0, 0.0), 0.0);
        assert_eq!(rel_error(2.0, 1.0, 0.0), 0.5);
        assert_eq!(rel_error(0.0, 1e-12, 1e-3), 1e-9);
        assert_eq!(rel_error(f64::NAN, 1.0, 1.0), f64::INFINITY);
        assert_eq!(rel_error(1.0, f64::INFINITY, 1.0), f64::INFINITY);
    }

    #[test]
    fn worst_entry_is_located_in_a_matrix() {
        // 2 × 3, column-major; entry (1, 2) is off.
        let a = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let mut n = a.clone();
        n[5] = 6.6;
        let c = DerivativeCheck::new(Checked::Jacobian, 2, 3, a, n);
        assert_eq!((c.worst.row, c.worst.col), (1, 2));
        assert!((c.worst.rel_error - 0.6 / 6.6).abs() < 1e-15);
        assert!(c.to_string().contains("worst J[1, 2]"), "{c}");
    }

    #[test]
    fn nan_fails_the_check() {
        let c = DerivativeCheck::new(Checked::Gradient, 2, 1, vec![f64::NAN, 1.0], vec![1.0, 1.0]);
        assert!(!c.passed(1.0));
        assert_eq!(c.worst.row, 0);
    }
}
