//! Finite-difference derivatives: an approximation, and a fallback.
//!
//! Nocedal & Wright, *Numerical Optimization* (2nd ed., 2006), chapter 8
//! ("N&W (8.x)" below). Notation: `ε = f64::EPSILON ≈ 2.2·10⁻¹⁶` (N&W's `u` is
//! the unit roundoff `ε/2`; using `ε` changes the steps by a factor of
//! `2^{1/2}` or `2^{1/3}`, well inside the flat optimum), `eᵢ` the i-th unit
//! vector, `hᵢ` the step along it.
//!
//! Every result here is an **approximation** with two error terms, truncation
//! (the Taylor remainder, shrinking with `h`) and rounding (cancellation in
//! `f(x + h) − f(x)`, growing like `ε/h`). The steps balance the two:
//!
//! | scheme  | quotient                                   | step `hᵢ`                   | error                    | best attainable |
//! |---------|--------------------------------------------|-----------------------------|--------------------------|-----------------|
//! | forward | `(f(x + hᵢeᵢ) − f(x)) / hᵢ`       N&W (8.1) | `√ε · max(1, abs(xᵢ))`  (8.6)   | `O(h) + O(ε/h)`          | `~ √ε ≈ 1.5·10⁻⁸`  |
//! | central | `(f(x + hᵢeᵢ) − f(x − hᵢeᵢ)) / 2hᵢ` (8.7) | `ε^{1/3} · max(1, abs(xᵢ))` (8.9) | `O(h²) + O(ε/h)`         | `~ ε^{2/3} ≈ 4·10⁻¹¹` |
//!
//! The attainable figures are relative to the scale of the derivative when
//! `f`, its derivatives and `x` are of order one; a badly scaled problem does
//! worse. The factor `max(1, abs(xᵢ))` makes the step relative for large
//! `xᵢ` and absolute near zero. Each step is "cleaned", `h = (xᵢ + h) − xᵢ`,
//! so that the divisor is exactly the difference of the two points that were
//! evaluated (a classic trick that removes one rounding error).
//!
//! Costs, in evaluations of `f` (or `∇f`, or `r`), for `n` variables:
//!
//! | what                       | forward | central |
//! |----------------------------|---------|---------|
//! | gradient from `f`          | `n + 1` | `2n + 1` (the `+1` is `f(x)`, returned) |
//! | Hessian from `∇f`          | `n + 1` | `2n`    |
//! | Hessian-vector from `∇f`   | `2`     | `2`     |
//! | Jacobian from `r`          | `n + 1` | `2n`    |
//!
//! **Prefer exact derivatives.** Hand-written derivatives, the dual numbers of
//! [`dual`](super::dual) (exact, about `n/8` passes per gradient), or for a
//! network the backpropagation in `nn`. Use these functions when nothing else
//! is at hand, to check hand-written derivatives (see [`check`](super::check)),
//! or for a Hessian of a problem that only has a gradient.
//!
//! Functions write into caller buffers and keep their scratch vectors in an
//! [`FdWork`], so a loop allocates nothing after its first call. The adapters
//! [`FdGradient`], [`FdHessian`] and [`FdJacobian`] lift a problem one rung up
//! the ladder of [`problem`](crate::problem) traits.

use std::sync::{Mutex, PoisonError};

use nalgebra::DMatrix;

use crate::problem::{Gradient, HessVec, Hessian, Objective, Residuals};
use crate::solver::Error;

/// Which difference quotient to use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Scheme {
    /// `(φ(x + h) − φ(x)) / h`, N&W (8.1): error `O(h) + O(ε/h)`, about `√ε`
    /// relative at the step `√ε · max(1, |x|)`. One extra evaluation per
    /// variable.
    Forward,
    /// `(φ(x + h) − φ(x − h)) / 2h`, N&W (8.7): error `O(h²) + O(ε/h)`,
    /// about `ε^{2/3}` relative at the step `ε^{1/3} · max(1, |x|)`. Two
    /// evaluations per variable. The default: accuracy matters more than a
    /// factor of two in cost for a fallback.
    #[default]
    Central,
}

impl Scheme {
    /// The relative step: `√ε` for [`Forward`](Scheme::Forward), `ε^{1/3}` for
    /// [`Central`](Scheme::Central) (N&W (8.6), (8.9)).
    ///
    /// ```
    /// use hesse::diff::Scheme;
    /// assert!((Scheme::Forward.relative_step() - 1.49e-8).abs() < 1e-10);
    /// assert!((Scheme::Central.relative_step() - 6.06e-6).abs() < 1e-8);
    /// ```
    pub fn relative_step(self) -> f64 {
        match self {
            Scheme::Forward => f64::EPSILON.sqrt(),
            Scheme::Central => f64::EPSILON.cbrt(),
        }
    }

    /// The step for a variable of value `xi`: `relative_step · max(1, |xi|)`.
    pub fn step(self, xi: f64) -> f64 {
        self.relative_step() * xi.abs().max(1.0)
    }
}

/// Scratch vectors for the finite-difference functions.
///
/// Buffers grow to the size a call needs and keep it, so reusing one
/// `FdWork` across calls allocates nothing after the first call.
#[derive(Clone, Debug, Default)]
pub struct FdWork {
    /// The perturbed point, `x ± h eᵢ` (length `n`).
    x: Vec<f64>,
    /// `∇f` or `r` at one point (length `n` or `m`).
    a: Vec<f64>,
    /// `∇f` or `r` at another point (length `n` or `m`).
    b: Vec<f64>,
}

impl FdWork {
    /// Scratch sized for `n` variables and `m` residuals (`m = 0` for a
    /// scalar objective), so that even the first call allocates nothing.
    pub fn new(n: usize, m: usize) -> Self {
        let len = n.max(m);
        FdWork {
            x: Vec::with_capacity(n),
            a: vec![0.0; len],
            b: vec![0.0; len],
        }
    }

    /// Copies `x` into the point buffer and sizes `a`, `b` to `len`.
    fn prepare(&mut self, x: &[f64], len: usize) {
        self.x.clear();
        self.x.extend_from_slice(x);
        self.a.resize(len, 0.0);
        self.b.resize(len, 0.0);
    }
}

/// `Err` naming both lengths when `got != expected`.
pub(crate) fn check_len(
    what: &'static str,
    got: usize,
    expected: usize,
    expected_from: &'static str,
) -> Result<(), Error> {
    if got == expected {
        Ok(())
    } else {
        Err(Error::DimensionMismatch {
            what,
            got,
            expected,
            expected_from,
        })
    }
}

/// `Err` naming both shapes when `mat` is not `rows × cols`.
pub(crate) fn check_shape(
    what: &'static str,
    mat: &DMatrix<f64>,
    rows: usize,
    cols: usize,
) -> Result<(), Error> {
    if mat.nrows() != rows {
        return Err(Error::InvalidProblem(format!(
            "{what} is {}×{}, expected {rows}×{cols}",
            mat.nrows(),
            mat.ncols()
        )));
    }
    if mat.ncols() != cols {
        return Err(Error::InvalidProblem(format!(
            "{what} is {}×{}, expected {rows}×{cols}",
            mat.nrows(),
            mat.ncols()
        )));
    }
    Ok(())
}

/// Forward-difference gradient, N&W (8.1) with the step (8.6):
/// `gᵢ = (f(x + hᵢeᵢ) − f(x)) / hᵢ`, `hᵢ = √ε · max(1, |xᵢ|)`.
///
/// Writes the approximation into `g` and returns `f(x)`. Costs `n + 1`
/// evaluations of `f`. Error `O(h) + O(ε/h)`: about `√ε ≈ 1.5·10⁻⁸`
/// relative for a well-scaled `f`; expect `10⁻⁶`–`10⁻⁸`.
///
/// # Errors
/// [`Error::DimensionMismatch`] when `x` or `g` does not have `f.dim()`
/// entries.
///
/// # Example
/// ```
/// use hesse::diff::{forward_gradient, FdWork};
/// use hesse::problem::FnObjective;
/// let f = FnObjective::new(2, |x: &[f64]| x[0].exp() + x[0] * x[1]);
/// let mut g = [0.0; 2];
/// let fx = forward_gradient(&f, &[0.0, 2.0], &mut g, &mut FdWork::default()).unwrap();
/// assert_eq!(fx, 1.0);
/// assert!((g[0] - 3.0).abs() < 1e-6 && (g[1] - 0.0).abs() < 1e-6);
/// ```
pub fn forward_gradient<P: Objective + ?Sized>(
    f: &P,
    x: &[f64],
    g: &mut [f64],
    work: &mut FdWork,
) -> Result<f64, Error> {
    fd_gradient(f, x, g, Scheme::Forward, work)
}

/// Central-difference gradient, N&W (8.7) with the step (8.9):
/// `gᵢ = (f(x + hᵢeᵢ) − f(x − hᵢeᵢ)) / 2hᵢ`, `hᵢ = ε^{1/3} · max(1, |xᵢ|)`.
///
/// Writes the approximation into `g` and returns `f(x)`. Costs `2n + 1`
/// evaluations of `f`. Error `O(h²) + O(ε/h)`: about `ε^{2/3} ≈ 4·10⁻¹¹`
/// relative for a well-scaled `f`; expect `10⁻⁷`–`10⁻¹⁰`.
///
/// # Errors
/// [`Error::DimensionMismatch`] when `x` or `g` does not have `f.dim()`
/// entries.
///
/// # Example
/// ```
/// use hesse::diff::{central_gradient, FdWork};
/// use hesse::problems::Rosenbrock;
/// let mut g = [0.0; 2];
/// let f = central_gradient(&Rosenbrock::new(2), &[-1.2, 1.0], &mut g, &mut FdWork::default())
///     .unwrap();
/// assert!((f - 24.2).abs() < 1e-12);
/// // Exact: (−215.6, −88).
/// assert!((g[0] + 215.6).abs() < 1e-7 * 215.6 && (g[1] + 88.0).abs() < 1e-7 * 88.0);
/// ```
pub fn central_gradient<P: Objective + ?Sized>(
    f: &P,
    x: &[f64],
    g: &mut [f64],
    work: &mut FdWork,
) -> Result<f64, Error> {
    fd_gradient(f, x, g, Scheme::Central, work)
}

/// Finite-difference gradient by either [`Scheme`]; see [`forward_gradient`]
/// and [`central_gradient`]. Returns `f(x)`.
///
/// # Errors
/// [`Error::DimensionMismatch`] when `x` or `g` does not have `f.dim()`
/// entries.
pub fn fd_gradient<P: Objective + ?Sized>(
    f: &P,
    x: &[f64],
    g: &mut [f64],
    scheme: Scheme,
    work: &mut FdWork,
) -> Result<f64, Error> {
    let n = f.dim();
    check_len("x", x.len(), n, "problem")?;
    check_len("g", g.len(), n, "problem")?;
    work.prepare(x, 0);
    let xh = &mut work.x;
    let fx = f.value(x);
    for i in 0..n {
        let xi = x[i];
        let h = scheme.step(xi);
        g[i] = match scheme {
            Scheme::Forward => {
                xh[i] = xi + h;
                let f_plus = f.value(xh);
                // The step actually taken: x_i + h is rounded.
                (f_plus - fx) / (xh[i] - xi)
            }
            Scheme::Central => {
                let (x_plus, x_minus) = (xi + h, xi - h);
                xh[i] = x_plus;
                let f_plus = f.value(xh);
                xh[i] = x_minus;
                let f_minus = f.value(xh);
                (f_plus - f_minus) / (x_plus - x_minus)
            }
        };
        xh[i] = xi;
    }
    Ok(fx)
}

/// Hessian by differences of the gradient, column by column, symmetrized:
/// `Aⱼ = (∇f(x + hⱼeⱼ) − ∇f(x)) / hⱼ` (forward) or
/// `Aⱼ = (∇f(x + hⱼeⱼ) − ∇f(x − hⱼeⱼ)) / 2hⱼ` (central), then
/// `H = (A + Aᵀ)/2` (N&W §8.1, "Approximating the Hessian", (8.18)–(8.19)).
///
/// Steps and errors as for the gradient ([`Scheme`]), applied to `∇f`:
/// relative error about `√ε` (forward) or `ε^{2/3}` (central) of the
/// Hessian's scale. Costs `n + 1` (forward) or `2n` (central) gradient
/// evaluations. The symmetrization halves the noise of off-diagonal entries
/// and makes the result usable by a Cholesky factorization.
///
/// # Errors
/// [`Error::DimensionMismatch`] when `x` does not have `p.dim()` entries,
/// [`Error::InvalidProblem`] when `h` is not `n × n`.
///
/// # Example
/// ```
/// use hesse::diff::{fd_hessian, FdWork, Scheme};
/// use hesse::problems::Rosenbrock;
/// use nalgebra::DMatrix;
/// let mut h = DMatrix::zeros(2, 2);
/// fd_hessian(&Rosenbrock::new(2), &[1.0, 1.0], &mut h, Scheme::Central, &mut FdWork::default())
///     .unwrap();
/// // Exact: [[802, −400], [−400, 200]].
/// assert!((h[(0, 0)] - 802.0).abs() < 1e-5 && (h[(1, 0)] + 400.0).abs() < 1e-5);
/// assert_eq!(h[(0, 1)], h[(1, 0)]);
/// ```
pub fn fd_hessian<P: Gradient + ?Sized>(
    p: &P,
    x: &[f64],
    h: &mut DMatrix<f64>,
    scheme: Scheme,
    work: &mut FdWork,
) -> Result<(), Error> {
    let n = p.dim();
    check_len("x", x.len(), n, "problem")?;
    check_shape("the Hessian", h, n, n)?;
    work.prepare(x, n);
    let FdWork { x: xh, a, b } = work;
    if scheme == Scheme::Forward {
        p.value_grad(x, a);
    }
    for j in 0..n {
        let xj = x[j];
        let step = scheme.step(xj);
        let col = &mut h.as_mut_slice()[j * n..(j + 1) * n]; // column j (column-major)
        match scheme {
            Scheme::Forward => {
                xh[j] = xj + step;
                p.value_grad(xh, b);
                let dx = xh[j] - xj;
                for ((c, bi), ai) in col.iter_mut().zip(b.iter()).zip(a.iter()) {
                    *c = (bi - ai) / dx;
                }
            }
            Scheme::Central => {
                let (x_plus, x_minus) = (xj + step, xj - step);
                xh[j] = x_plus;
                p.value_grad(xh, a);
                xh[j] = x_minus;
                p.value_grad(xh, b);
                let dx = x_plus - x_minus;
                for ((c, ai), bi) in col.iter_mut().zip(a.iter()).zip(b.iter()) {
                    *c = (ai - bi) / dx;
                }
            }
        }
        xh[j] = xj;
    }
    symmetrize(h);
    Ok(())
}

/// `H ← (H + Hᵀ)/2`.
pub(crate) fn symmetrize(h: &mut DMatrix<f64>) {
    let n = h.nrows();
    for j in 0..n {
        for i in j + 1..n {
            let s = 0.5 * (h[(i, j)] + h[(j, i)]);
            h[(i, j)] = s;
            h[(j, i)] = s;
        }
    }
}

/// The step for a Hessian-vector difference along `v` at `x`:
/// `t · max(1, ‖x‖) / ‖v‖`, `t` the scheme's relative step; `0` when `v = 0`.
pub(crate) fn hess_vec_step(scheme: Scheme, x: &[f64], v: &[f64]) -> f64 {
    let norm = |u: &[f64]| u.iter().map(|a| a * a).sum::<f64>().sqrt();
    let v_norm = norm(v);
    if v_norm == 0.0 {
        return 0.0;
    }
    scheme.relative_step() * norm(x).max(1.0) / v_norm
}

/// Hessian-vector product by differences of the gradient along `v`
/// (N&W (7.10) and §8.1):
/// `∇²f(x) v ≈ (∇f(x + hv) − ∇f(x)) / h` (forward) or
/// `(∇f(x + hv) − ∇f(x − hv)) / 2h` (central).
///
/// **Step.** `h = t · max(1, ‖x‖₂) / ‖v‖₂` with `t = √ε` (forward) or
/// `ε^{1/3}` (central). Write `v = ‖v‖ u` with `‖u‖ = 1`: the quotient is
/// `‖v‖` times the derivative of `s ↦ ∇f(x + s u)` at `s = 0`, a
/// one-dimensional difference with step `s = h‖v‖ = t · max(1, ‖x‖)`, the
/// step N&W (8.6)/(8.9) prescribe for a variable of magnitude `‖x‖`. Dividing
/// by `‖v‖` makes the result exactly linear in the scale of `v`
/// (`∇²f (cv) = c ∇²f v`), and `max(1, ‖x‖)` keeps the perturbation relative
/// to the size of `x`. Error, relative to `‖v‖` times the Hessian's scale:
/// `O(s) + O(ε/s) ≈ √ε` (forward), `O(s²) + O(ε/s) ≈ ε^{2/3}` (central).
///
/// Costs 2 gradient evaluations for either scheme (forward spends one on
/// `∇f(x)`, which a caller holding it could skip). `v = 0` gives `hv = 0`
/// without evaluating.
///
/// # Errors
/// [`Error::DimensionMismatch`] when `x`, `v` or `hv` does not have
/// `p.dim()` entries.
///
/// # Example
/// ```
/// use hesse::diff::{fd_hess_vec, FdWork, Scheme};
/// use hesse::problems::Rosenbrock;
/// let mut hv = [0.0; 2];
/// let mut work = FdWork::default();
/// fd_hess_vec(&Rosenbrock::new(2), &[1.0, 1.0], &[1.0, 0.0], &mut hv, Scheme::Central, &mut work)
///     .unwrap();
/// // First column of [[802, −400], [−400, 200]].
/// assert!((hv[0] - 802.0).abs() < 1e-6 && (hv[1] + 400.0).abs() < 1e-6);
/// ```
pub fn fd_hess_vec<P: Gradient + ?Sized>(
    p: &P,
    x: &[f64],
    v: &[f64],
    hv: &mut [f64],
    scheme: Scheme,
    work: &mut FdWork,
) -> Result<(), Error> {
    let n = p.dim();
    check_len("x", x.len(), n, "problem")?;
    check_len("v", v.len(), n, "problem")?;
    check_len("hv", hv.len(), n, "problem")?;
    let h = hess_vec_step(scheme, x, v);
    if h == 0.0 {
        hv.iter_mut().for_each(|e| *e = 0.0);
        return Ok(());
    }
    work.prepare(x, n);
    let FdWork { x: xh, a, b } = work;
    for ((xi, &x0), &vi) in xh.iter_mut().zip(x).zip(v) {
        *xi = x0 + h * vi;
    }
    p.value_grad(xh, a);
    match scheme {
        Scheme::Forward => {
            p.value_grad(x, b);
            for ((o, ai), bi) in hv.iter_mut().zip(a.iter()).zip(b.iter()) {
                *o = (ai - bi) / h;
            }
        }
        Scheme::Central => {
            for ((xi, &x0), &vi) in xh.iter_mut().zip(x).zip(v) {
                *xi = x0 - h * vi;
            }
            p.value_grad(xh, b);
            for ((o, ai), bi) in hv.iter_mut().zip(a.iter()).zip(b.iter()) {
                *o = (ai - bi) / (2.0 * h);
            }
        }
    }
    Ok(())
}

/// Jacobian of residuals `r: ℝⁿ → ℝᵐ` by differences, column by column:
/// `J_{:,j} = (r(x + hⱼeⱼ) − r(x)) / hⱼ` (forward, as MINPACK's `fdjac2`) or
/// `(r(x + hⱼeⱼ) − r(x − hⱼeⱼ)) / 2hⱼ` (central), steps as in [`Scheme`].
///
/// `m` is `jac.nrows()`; `r(x, out)` writes `m` residuals. Costs `n + 1`
/// (forward) or `2n` (central) residual evaluations; errors as for the
/// gradient, entry by entry. To use a [`Residuals`] problem, pass
/// `|x, out| problem.residuals(x, out)`.
///
/// # Errors
/// [`Error::InvalidProblem`] when `jac` does not have `x.len()` columns
/// ("the Jacobian is 3×2, expected 3×4").
///
/// # Example
/// ```
/// use hesse::diff::{fd_jacobian, FdWork, Scheme};
/// use nalgebra::DMatrix;
/// // r(x) = (x0 x1, sin x1)
/// let r = |x: &[f64], out: &mut [f64]| {
///     out[0] = x[0] * x[1];
///     out[1] = x[1].sin();
/// };
/// let mut jac = DMatrix::zeros(2, 2);
/// fd_jacobian(r, &[2.0, 0.0], &mut jac, Scheme::Central, &mut FdWork::default()).unwrap();
/// assert!((jac[(0, 0)] - 0.0).abs() < 1e-9 && (jac[(0, 1)] - 2.0).abs() < 1e-9);
/// assert!((jac[(1, 1)] - 1.0).abs() < 1e-9);
/// ```
pub fn fd_jacobian<R: FnMut(&[f64], &mut [f64])>(
    mut r: R,
    x: &[f64],
    jac: &mut DMatrix<f64>,
    scheme: Scheme,
    work: &mut FdWork,
) -> Result<(), Error> {
    let (m, n) = (jac.nrows(), x.len());
    check_shape("the Jacobian", jac, m, n)?;
    work.prepare(x, m);
    let FdWork { x: xh, a, b } = work;
    if scheme == Scheme::Forward {
        r(x, a);
    }
    for j in 0..n {
        let xj = x[j];
        let step = scheme.step(xj);
        let col = &mut jac.as_mut_slice()[j * m..(j + 1) * m]; // column j (column-major)
        match scheme {
            Scheme::Forward => {
                xh[j] = xj + step;
                r(xh, b);
                let dx = xh[j] - xj;
                for ((c, bi), ai) in col.iter_mut().zip(b.iter()).zip(a.iter()) {
                    *c = (bi - ai) / dx;
                }
            }
            Scheme::Central => {
                let (x_plus, x_minus) = (xj + step, xj - step);
                xh[j] = x_plus;
                r(xh, a);
                xh[j] = x_minus;
                r(xh, b);
                let dx = x_plus - x_minus;
                for ((c, ai), bi) in col.iter_mut().zip(a.iter()).zip(b.iter()) {
                    *c = (ai - bi) / dx;
                }
            }
        }
        xh[j] = xj;
    }
    Ok(())
}

fn lock(work: &Mutex<FdWork>) -> std::sync::MutexGuard<'_, FdWork> {
    work.lock().unwrap_or_else(PoisonError::into_inner)
}

// ---------------------------------------------------------------------------
// Adapters
// ---------------------------------------------------------------------------

/// An [`Objective`] made a [`Gradient`] by finite differences of `f`
/// (central by default; see [`Scheme`]). **An approximation**: prefer an
/// analytic gradient or [`DualObjective`](super::DualObjective).
///
/// `value_grad` costs `2n + 1` evaluations of `f` (central) or `n + 1`
/// (forward). A solver wrapping this adapter in
/// [`Counted`](crate::problem::Counted) counts one `f` and one `g` evaluation
/// per call; to count the real evaluations of `f`, wrap the inner problem:
/// `FdGradient::new(Counted::new(f))`.
///
/// `x` and `g` must have `dim()` entries; otherwise `g` is filled with NaN and
/// NaN is returned (solvers stop on a non-finite value; nothing panics).
///
/// ```
/// use hesse::diff::FdGradient;
/// use hesse::problem::{FnObjective, Gradient};
/// let f = FdGradient::new(FnObjective::new(2, |x: &[f64]| x[0] * x[0] + 3.0 * x[1]));
/// let mut g = [0.0; 2];
/// assert_eq!(f.value_grad(&[1.0, 1.0], &mut g), 4.0);
/// assert!((g[0] - 2.0).abs() < 1e-9 && (g[1] - 3.0).abs() < 1e-9);
/// ```
#[derive(Debug)]
pub struct FdGradient<P> {
    inner: P,
    scheme: Scheme,
    work: Mutex<FdWork>,
}

impl<P: Objective> FdGradient<P> {
    /// Central-difference gradients of `inner`.
    pub fn new(inner: P) -> Self {
        let n = inner.dim();
        FdGradient {
            inner,
            scheme: Scheme::Central,
            work: Mutex::new(FdWork::new(n, 0)),
        }
    }
}

impl<P> FdGradient<P> {
    /// Uses `scheme` (default [`Scheme::Central`]).
    pub fn with_scheme(mut self, scheme: Scheme) -> Self {
        self.scheme = scheme;
        self
    }

    /// The scheme in use.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The wrapped objective.
    pub fn inner(&self) -> &P {
        &self.inner
    }
}

impl<P: Objective> Objective for FdGradient<P> {
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn value(&self, x: &[f64]) -> f64 {
        self.inner.value(x)
    }
}

impl<P: Objective> Gradient for FdGradient<P> {
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        let mut work = lock(&self.work);
        fd_gradient(&self.inner, x, g, self.scheme, &mut work).unwrap_or_else(|_| {
            g.iter_mut().for_each(|e| *e = f64::NAN);
            f64::NAN
        })
    }
}

/// A [`Gradient`] made a [`Hessian`] and a [`HessVec`] by finite differences
/// of its gradient ([`fd_hessian`], [`fd_hess_vec`]; central by default).
/// Value and gradient pass through unchanged. **An approximation**: prefer
/// exact curvature ([`DualObjective`](super::DualObjective), an analytic
/// Hessian, or R-op products for networks).
///
/// A Hessian costs `2n` gradients (central) or `n + 1` (forward); a
/// Hessian-vector product 2 gradients. Inputs of the wrong length give NaN
/// outputs, never a panic.
///
/// ```
/// use hesse::diff::FdHessian;
/// use hesse::problem::HessVec;
/// use hesse::problems::Rosenbrock;
/// let p = FdHessian::new(Rosenbrock::new(2));
/// let mut hv = [0.0; 2];
/// p.hess_vec(&[1.0, 1.0], &[0.0, 1.0], &mut hv);
/// assert!((hv[0] + 400.0).abs() < 1e-6 && (hv[1] - 200.0).abs() < 1e-6);
/// ```
#[derive(Debug)]
pub struct FdHessian<P> {
    inner: P,
    scheme: Scheme,
    work: Mutex<FdWork>,
}

impl<P: Gradient> FdHessian<P> {
    /// Central-difference curvature of `inner`.
    pub fn new(inner: P) -> Self {
        let n = inner.dim();
        FdHessian {
            inner,
            scheme: Scheme::Central,
            work: Mutex::new(FdWork::new(n, 0)),
        }
    }
}

impl<P> FdHessian<P> {
    /// Uses `scheme` (default [`Scheme::Central`]).
    pub fn with_scheme(mut self, scheme: Scheme) -> Self {
        self.scheme = scheme;
        self
    }

    /// The scheme in use.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The wrapped problem.
    pub fn inner(&self) -> &P {
        &self.inner
    }
}

impl<P: Objective> Objective for FdHessian<P> {
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn value(&self, x: &[f64]) -> f64 {
        self.inner.value(x)
    }
}

impl<P: Gradient> Gradient for FdHessian<P> {
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        self.inner.value_grad(x, g)
    }
}

impl<P: Gradient> Hessian for FdHessian<P> {
    fn hessian(&self, x: &[f64], h: &mut DMatrix<f64>) {
        let mut work = lock(&self.work);
        if fd_hessian(&self.inner, x, h, self.scheme, &mut work).is_err() {
            h.fill(f64::NAN);
        }
    }
}

impl<P: Gradient> HessVec for FdHessian<P> {
    fn hess_vec(&self, x: &[f64], v: &[f64], hv: &mut [f64]) {
        let mut work = lock(&self.work);
        if fd_hess_vec(&self.inner, x, v, hv, self.scheme, &mut work).is_err() {
            hv.iter_mut().for_each(|e| *e = f64::NAN);
        }
    }
}

/// [`Residuals`] from a residual closure `r(x, out)` alone, with the Jacobian
/// by finite differences ([`fd_jacobian`]; central by default, forward as
/// MINPACK's `lmdif` with [`with_scheme`](FdJacobian::with_scheme)).
/// **An approximation**: prefer an analytic Jacobian or
/// [`DualResiduals`](super::DualResiduals).
///
/// A Jacobian costs `2n` residual evaluations (central) or `n + 1` (forward).
/// A Jacobian of the wrong shape, or `x` of the wrong length, gives NaN
/// entries, never a panic.
///
/// ```
/// use hesse::diff::FdJacobian;
/// use hesse::problem::Residuals;
/// use nalgebra::DMatrix;
/// // Rosenbrock as least squares: r = (1 − x0, 10 (x1 − x0²)).
/// let p = FdJacobian::new(2, 2, |x: &[f64], r: &mut [f64]| {
///     r[0] = 1.0 - x[0];
///     r[1] = 10.0 * (x[1] - x[0] * x[0]);
/// });
/// let mut jac = DMatrix::zeros(2, 2);
/// p.jacobian(&[1.0, 1.0], &mut jac);
/// assert!((jac[(1, 0)] + 20.0).abs() < 1e-8 && (jac[(1, 1)] - 10.0).abs() < 1e-8);
/// ```
#[derive(Debug)]
pub struct FdJacobian<R> {
    n: usize,
    m: usize,
    r: R,
    scheme: Scheme,
    work: Mutex<FdWork>,
}

impl<R: Fn(&[f64], &mut [f64])> FdJacobian<R> {
    /// `m` residuals in `n` parameters from `r(x, out)`.
    pub fn new(n: usize, m: usize, r: R) -> Self {
        FdJacobian {
            n,
            m,
            r,
            scheme: Scheme::Central,
            work: Mutex::new(FdWork::new(n, m)),
        }
    }
}

impl<R> FdJacobian<R> {
    /// Uses `scheme` (default [`Scheme::Central`]).
    pub fn with_scheme(mut self, scheme: Scheme) -> Self {
        self.scheme = scheme;
        self
    }

    /// The scheme in use.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }
}

impl<R: Fn(&[f64], &mut [f64])> Residuals for FdJacobian<R> {
    fn num_params(&self) -> usize {
        self.n
    }
    fn num_residuals(&self) -> usize {
        self.m
    }
    fn residuals(&self, x: &[f64], r: &mut [f64]) {
        (self.r)(x, r)
    }
    fn jacobian(&self, x: &[f64], jac: &mut DMatrix<f64>) {
        let ok = x.len() == self.n && jac.nrows() == self.m && jac.ncols() == self.n;
        let mut work = lock(&self.work);
        if !ok || fd_jacobian(&self.r, x, jac, self.scheme, &mut work).is_err() {
            jac.fill(f64::NAN);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::FnObjective;
    use crate::problems::Rosenbrock;

    #[test]
    fn steps_follow_nocedal_wright() {
        let eps = f64::EPSILON;
        assert_eq!(Scheme::Forward.step(0.0), eps.sqrt());
        assert_eq!(Scheme::Forward.step(-1e4), eps.sqrt() * 1e4);
        assert_eq!(Scheme::Central.step(0.5), eps.cbrt());
        assert_eq!(Scheme::Central.step(3.0), 3.0 * eps.cbrt());
    }

    #[test]
    fn quadratic_gradient_is_exact_up_to_rounding() {
        // Central differences are exact on quadratics (no truncation error).
        let f = FnObjective::new(3, |x: &[f64]| {
            x[0] * x[0] + 2.0 * x[1] * x[1] + x[0] * x[2] - x[2]
        });
        let x = [1.0, -2.0, 0.5];
        let mut g = [0.0; 3];
        central_gradient(&f, &x, &mut g, &mut FdWork::default()).unwrap();
        let exact = [2.0 + 0.5, -8.0, 1.0 - 1.0];
        for i in 0..3 {
            assert!((g[i] - exact[i]).abs() < 1e-9, "g[{i}] = {}", g[i]);
        }
    }

    #[test]
    fn wrong_lengths_are_errors() {
        let r = Rosenbrock::new(3);
        let mut g = [0.0; 2];
        let err = central_gradient(&r, &[0.0; 3], &mut g, &mut FdWork::default()).unwrap_err();
        assert_eq!(err.to_string(), "g has 2 entries, problem has 3");
        let mut h = DMatrix::zeros(3, 2);
        let err = fd_hessian(
            &r,
            &[0.0; 3],
            &mut h,
            Scheme::Central,
            &mut FdWork::default(),
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "the Hessian is 3×2, expected 3×3");
        let mut hv = [0.0; 3];
        let err = fd_hess_vec(
            &r,
            &[0.0; 3],
            &[1.0],
            &mut hv,
            Scheme::Forward,
            &mut FdWork::default(),
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "v has 1 entries, problem has 3");
    }

    #[test]
    fn adapters_give_nan_not_panic_on_bad_lengths() {
        let p = FdGradient::new(Rosenbrock::new(3));
        let mut g = [0.0; 2];
        assert!(p.value_grad(&[0.0; 3], &mut g).is_nan());
        assert!(g.iter().all(|v| v.is_nan()));
        let p = FdHessian::new(Rosenbrock::new(3));
        let mut hv = [0.0; 3];
        p.hess_vec(&[0.0; 3], &[1.0; 2], &mut hv);
        assert!(hv.iter().all(|v| v.is_nan()));
    }

    #[test]
    fn hess_vec_of_zero_is_zero_without_evaluating() {
        let p = crate::problem::Counted::new(Rosenbrock::new(2));
        let mut hv = [1.0; 2];
        fd_hess_vec(
            &p,
            &[0.3, 0.4],
            &[0.0, 0.0],
            &mut hv,
            Scheme::Central,
            &mut FdWork::default(),
        )
        .unwrap();
        assert_eq!(hv, [0.0, 0.0]);
        assert_eq!(p.evals().g, 0);
    }

    #[test]
    fn evaluation_counts_match_the_docs() {
        let n = 4;
        let p = crate::problem::Counted::new(Rosenbrock::new(n));
        let x = [0.1, 0.2, 0.3, 0.4];
        let mut g = [0.0; 4];
        let mut w = FdWork::new(n, 0);
        forward_gradient(&p, &x, &mut g, &mut w).unwrap();
        assert_eq!(p.evals().f, n as u64 + 1);
        central_gradient(&p, &x, &mut g, &mut w).unwrap();
        assert_eq!(p.evals().f, (n + 1 + 2 * n + 1) as u64);
        let mut h = DMatrix::zeros(n, n);
        fd_hessian(&p, &x, &mut h, Scheme::Forward, &mut w).unwrap();
        assert_eq!(p.evals().g, n as u64 + 1);
        fd_hessian(&p, &x, &mut h, Scheme::Central, &mut w).unwrap();
        assert_eq!(p.evals().g, (n + 1 + 2 * n) as u64);
    }
}
