//! Exact derivatives by forward-mode dual numbers.
//!
//! A function written once over any [`Real`](super::Real) ([`ScalarFn`],
//! [`VectorFn`]) is evaluated on dual numbers of num-dual, whose arithmetic
//! carries derivatives by the chain rule: no truncation, no step size, the
//! result exact up to the rounding of the operations themselves (~1e-15
//! relative). Griewank & Walther, *Evaluating Derivatives* (2nd ed., 2008),
//! ch. 3 (forward mode) and §3.3 / ch. 13 (higher order by nesting).
//!
//! | what                 | number type                        | passes of `f` for `n` variables |
//! |----------------------|------------------------------------|---------------------------------|
//! | gradient             | `DualSVec64<8>`: 8 tangents        | `⌈n/8⌉`                         |
//! | Hessian-vector `∇²f v` | `HyperDualSVec64<8, 1>`: 8 tangents `eⱼ` × 1 tangent `v` | `⌈n/8⌉` (also gives `∇f`) |
//! | dense Hessian        | `HyperDualSVec64<4, 4>`: a 4 × 4 block | `b(b+1)/2`, `b = ⌈n/4⌉`     |
//! | Jacobian (`m` outputs) | `DualSVec64<8>`                    | `⌈n/8⌉`                         |
//!
//! Each pass on a `k`-tangent number costs about `k + 1` times a plain
//! evaluation, so a gradient costs about `n + n/8` evaluations' worth of
//! arithmetic, a Hessian-vector product about twice a gradient (forward over
//! forward: the second tangent `v` rides along, N&W §8.2 "directional
//! derivatives"), a dense Hessian about `n²/2`. The tangent counts are fixed
//! (8 and 4×4) so that every dual number is `Copy` and lives on the stack:
//! evaluation does not allocate, and the per-point vectors of dual numbers are
//! kept in a [`DualWork`] (behind a mutex in the adapters).
//!
//! # Which derivatives to use
//! - **Dual numbers** (this module): exact, nothing to write but the function;
//!   cost grows with `n` (a gradient is `~n` evaluations). The right choice for
//!   small and medium `n` (up to a few hundred), for checking, and for the
//!   expression language of `hesse minimize`.
//! - **Finite differences** ([`finite`](super::finite)): approximate
//!   (`~1e-8` forward, `~1e-10` central at best), `n + 1` or `2n + 1`
//!   evaluations per gradient; for functions that are not written generically
//!   (external code, a black box).
//! - **Hand-written or reverse-mode derivatives** (backpropagation in `nn`):
//!   a gradient for a small multiple of one evaluation, whatever `n`; the
//!   only option for large `n` (networks). Check them with
//!   [`check`](super::check).
//!
//! Branches on values (`if x < 0`) follow the real part, so the derivative is
//! that of the branch taken; functions like `abs` are differentiated where
//! smooth. A function that returns NaN gives NaN derivatives.

use std::sync::{Mutex, MutexGuard, PoisonError};

use nalgebra::{Const, DMatrix, Matrix1, U1};
use num_dual::{Derivative, DualSVec64, HyperDualSVec64};

use super::finite::{check_len, check_shape};
use super::{ScalarFn, VectorFn};
use crate::problem::{Gradient, HessVec, Hessian, Objective, Residuals};
use crate::solver::Error;

/// Tangents per pass for gradients, Jacobians and Hessian-vector products.
pub const GRADIENT_CHUNK: usize = 8;
/// Block size `k` of the `k × k` Hessian blocks one pass computes.
pub const HESSIAN_BLOCK: usize = 4;

const K: usize = GRADIENT_CHUNK;
const B: usize = HESSIAN_BLOCK;

/// `f` with 8 tangents: the gradient with respect to 8 variables.
type GradDual = DualSVec64<K>;
/// `f` with 8 tangents `eⱼ` and one tangent `v`: the mixed part is `(∇²f v)ⱼ`.
type HessVecDual = HyperDualSVec64<K, 1>;
/// `f` with 4 tangents `eᵢ` and 4 tangents `eⱼ`: the mixed part is a 4 × 4
/// block of `∇²f`.
type HessDual = HyperDualSVec64<B, B>;

/// Vectors of dual numbers reused across evaluations.
///
/// Buffers grow to the size a call needs and keep it, so reusing one
/// `DualWork` allocates nothing after the first call of each kind.
#[derive(Clone, Debug, Default)]
pub struct DualWork {
    grad: Vec<GradDual>,
    hess_vec: Vec<HessVecDual>,
    hess: Vec<HessDual>,
    out: Vec<GradDual>,
}

/// The unit tangent `e_k` of a `K`-tangent number.
fn unit<const N: usize>(k: usize) -> Derivative<f64, Const<N>, U1> {
    Derivative::derivative_generic(Const::<N>, U1, k)
}

/// Exact gradient of `f` at `x` by dual numbers, in `⌈n/8⌉` passes.
/// Writes `∇f(x)` into `g` and returns `f(x)`.
///
/// # Errors
/// [`Error::DimensionMismatch`] when `x` or `g` does not have `f.dim()`
/// entries.
///
/// # Example
/// ```
/// use hesse::diff::{dual_gradient, DualWork, Real, ScalarFn};
/// struct F;
/// impl ScalarFn for F {
///     fn dim(&self) -> usize { 2 }
///     fn eval<D: Real>(&self, x: &[D]) -> D { x[0].exp() * x[1].sin() }
/// }
/// let mut g = [0.0; 2];
/// let f = dual_gradient(&F, &[0.0, 0.0], &mut g, &mut DualWork::default()).unwrap();
/// assert_eq!((f, g), (0.0, [0.0, 1.0]));
/// ```
pub fn dual_gradient<F: ScalarFn>(
    f: &F,
    x: &[f64],
    g: &mut [f64],
    work: &mut DualWork,
) -> Result<f64, Error> {
    let n = f.dim();
    check_len("x", x.len(), n, "problem")?;
    check_len("g", g.len(), n, "problem")?;
    if n == 0 {
        return Ok(f.eval(x));
    }
    let xd = &mut work.grad;
    xd.clear();
    xd.extend(x.iter().map(|&v| GradDual::from_re(v)));
    let mut fx = f64::NAN;
    for start in (0..n).step_by(K) {
        let end = (start + K).min(n);
        for (k, xi) in xd[start..end].iter_mut().enumerate() {
            xi.eps = unit::<K>(k);
        }
        let y = f.eval(xd);
        fx = y.re;
        for (k, gi) in g[start..end].iter_mut().enumerate() {
            // No derivative part: f does not depend on this chunk.
            *gi = y.eps.0.map_or(0.0, |e| e[k]);
        }
        for xi in &mut xd[start..end] {
            xi.eps = Derivative::none();
        }
    }
    Ok(fx)
}

/// Exact Hessian-vector product `∇²f(x) v` by forward-over-forward dual
/// numbers, in `⌈n/8⌉` passes: each pass seeds 8 unit tangents `eⱼ` and the
/// tangent `v` on every variable; the mixed second-order part of the result
/// is `eⱼᵀ ∇²f v`. Writes `∇²f(x) v` into `hv` and `∇f(x)` into `g`, and
/// returns `f(x)`.
///
/// # Errors
/// [`Error::DimensionMismatch`] when `x`, `v`, `g` or `hv` does not have
/// `f.dim()` entries.
///
/// # Example
/// ```
/// use hesse::diff::{dual_hess_vec, DualWork, Real, ScalarFn};
/// struct F; // f = x0² x1
/// impl ScalarFn for F {
///     fn dim(&self) -> usize { 2 }
///     fn eval<D: Real>(&self, x: &[D]) -> D { x[0] * x[0] * x[1] }
/// }
/// // ∇²f = [[2 x1, 2 x0], [2 x0, 0]] = [[4, 2], [2, 0]] at (1, 2).
/// let (mut g, mut hv) = ([0.0; 2], [0.0; 2]);
/// dual_hess_vec(&F, &[1.0, 2.0], &[1.0, 1.0], &mut g, &mut hv, &mut DualWork::default())
///     .unwrap();
/// assert_eq!(hv, [6.0, 2.0]);
/// assert_eq!(g, [4.0, 1.0]);
/// ```
pub fn dual_hess_vec<F: ScalarFn>(
    f: &F,
    x: &[f64],
    v: &[f64],
    g: &mut [f64],
    hv: &mut [f64],
    work: &mut DualWork,
) -> Result<f64, Error> {
    let n = f.dim();
    check_len("x", x.len(), n, "problem")?;
    check_len("v", v.len(), n, "problem")?;
    check_len("g", g.len(), n, "problem")?;
    check_len("hv", hv.len(), n, "problem")?;
    if n == 0 {
        return Ok(f.eval(x));
    }
    let xd = &mut work.hess_vec;
    xd.clear();
    xd.extend(x.iter().zip(v).map(|(&xi, &vi)| {
        HessVecDual::new(
            xi,
            Derivative::none(),
            Derivative::some(Matrix1::new(vi)),
            Derivative::none(),
        )
    }));
    let mut fx = f64::NAN;
    for start in (0..n).step_by(K) {
        let end = (start + K).min(n);
        for (k, xi) in xd[start..end].iter_mut().enumerate() {
            xi.eps1 = unit::<K>(k);
        }
        let y = f.eval(xd);
        fx = y.re;
        for k in 0..end - start {
            g[start + k] = y.eps1.0.map_or(0.0, |e| e[k]);
            hv[start + k] = y.eps1eps2.0.map_or(0.0, |e| e[(k, 0)]);
        }
        for xi in &mut xd[start..end] {
            xi.eps1 = Derivative::none();
        }
    }
    Ok(fx)
}

/// Exact dense Hessian by hyper-dual numbers, one 4 × 4 block
/// `∂²f/∂x_I ∂x_J` per pass over the blocks with `I ≤ J` (`b(b+1)/2` passes,
/// `b = ⌈n/4⌉`), mirrored into the lower triangle, so `h` is exactly
/// symmetric.
///
/// # Errors
/// [`Error::DimensionMismatch`] when `x` does not have `f.dim()` entries,
/// [`Error::InvalidProblem`] when `h` is not `n × n`.
///
/// # Example
/// ```
/// use hesse::diff::{dual_hessian, DualWork, Real, ScalarFn};
/// use nalgebra::DMatrix;
/// struct F; // f = x0² x1 + ln x2
/// impl ScalarFn for F {
///     fn dim(&self) -> usize { 3 }
///     fn eval<D: Real>(&self, x: &[D]) -> D { x[0] * x[0] * x[1] + x[2].ln() }
/// }
/// let mut h = DMatrix::zeros(3, 3);
/// dual_hessian(&F, &[1.0, 2.0, 0.5], &mut h, &mut DualWork::default()).unwrap();
/// assert_eq!(h, DMatrix::from_row_slice(3, 3, &[4.0, 2.0, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0, -4.0]));
/// ```
pub fn dual_hessian<F: ScalarFn>(
    f: &F,
    x: &[f64],
    h: &mut DMatrix<f64>,
    work: &mut DualWork,
) -> Result<(), Error> {
    let n = f.dim();
    check_len("x", x.len(), n, "problem")?;
    check_shape("the Hessian", h, n, n)?;
    let xd = &mut work.hess;
    xd.clear();
    xd.extend(x.iter().map(|&v| HessDual::from_re(v)));
    let blocks = n.div_ceil(B);
    for bi in 0..blocks {
        let rows = bi * B..((bi + 1) * B).min(n);
        for (k, xi) in xd[rows.clone()].iter_mut().enumerate() {
            xi.eps1 = unit::<B>(k);
        }
        for bj in bi..blocks {
            let cols = bj * B..((bj + 1) * B).min(n);
            for (k, xj) in xd[cols.clone()].iter_mut().enumerate() {
                xj.eps2 = Derivative::derivative_generic(U1, Const::<B>, k);
            }
            let y = f.eval(xd);
            for (a, i) in rows.clone().enumerate() {
                for (b, j) in cols.clone().enumerate() {
                    let hij = y.eps1eps2.0.map_or(0.0, |m| m[(a, b)]);
                    h[(i, j)] = hij;
                    h[(j, i)] = hij;
                }
            }
            for xj in &mut xd[cols] {
                xj.eps2 = Derivative::none();
            }
        }
        for xi in &mut xd[rows] {
            xi.eps1 = Derivative::none();
        }
    }
    Ok(())
}

/// Exact Jacobian `Jᵢⱼ = ∂rᵢ/∂xⱼ` of a [`VectorFn`] by dual numbers, in
/// `⌈n/8⌉` passes. Writes `J(x)` into `jac` (`m × n`) and `r(x)` into `r`.
///
/// # Errors
/// [`Error::DimensionMismatch`] when `x` or `r` has the wrong length,
/// [`Error::InvalidProblem`] when `jac` is not `m × n`.
///
/// # Example
/// ```
/// use hesse::diff::{dual_jacobian, DualWork, Real, VectorFn};
/// use nalgebra::DMatrix;
/// struct R; // r = (x0 x1, x1²)
/// impl VectorFn for R {
///     fn num_inputs(&self) -> usize { 2 }
///     fn num_outputs(&self) -> usize { 2 }
///     fn eval<D: Real>(&self, x: &[D], out: &mut [D]) {
///         out[0] = x[0] * x[1];
///         out[1] = x[1] * x[1];
///     }
/// }
/// let (mut r, mut jac) = ([0.0; 2], DMatrix::zeros(2, 2));
/// dual_jacobian(&R, &[3.0, 2.0], &mut r, &mut jac, &mut DualWork::default()).unwrap();
/// assert_eq!(r, [6.0, 4.0]);
/// assert_eq!(jac, DMatrix::from_row_slice(2, 2, &[2.0, 3.0, 0.0, 4.0]));
/// ```
pub fn dual_jacobian<V: VectorFn>(
    vf: &V,
    x: &[f64],
    r: &mut [f64],
    jac: &mut DMatrix<f64>,
    work: &mut DualWork,
) -> Result<(), Error> {
    let (n, m) = (vf.num_inputs(), vf.num_outputs());
    check_len("x", x.len(), n, "problem")?;
    check_len("r", r.len(), m, "problem")?;
    check_shape("the Jacobian", jac, m, n)?;
    if n == 0 {
        vf.eval(x, r);
        return Ok(());
    }
    let DualWork { grad: xd, out, .. } = work;
    xd.clear();
    xd.extend(x.iter().map(|&v| GradDual::from_re(v)));
    out.clear();
    out.resize(m, GradDual::from_re(0.0));
    for start in (0..n).step_by(K) {
        let end = (start + K).min(n);
        for (k, xi) in xd[start..end].iter_mut().enumerate() {
            xi.eps = unit::<K>(k);
        }
        vf.eval(xd, out);
        for (i, (oi, ri)) in out.iter().zip(r.iter_mut()).enumerate() {
            *ri = oi.re;
            for k in 0..end - start {
                jac[(i, start + k)] = oi.eps.0.map_or(0.0, |e| e[k]);
            }
        }
        for xi in &mut xd[start..end] {
            xi.eps = Derivative::none();
        }
    }
    Ok(())
}

fn lock<T>(work: &Mutex<T>) -> MutexGuard<'_, T> {
    work.lock().unwrap_or_else(PoisonError::into_inner)
}

// ---------------------------------------------------------------------------
// Adapters
// ---------------------------------------------------------------------------

/// A [`ScalarFn`] as a problem with exact derivatives: [`Objective`],
/// [`Gradient`], [`Hessian`] and [`HessVec`], all by dual numbers.
///
/// Costs (in passes of `f`, see the [module docs](self)): value 1 (plain
/// `f64`), value and gradient `⌈n/8⌉`, Hessian-vector product `⌈n/8⌉`, dense
/// Hessian `b(b+1)/2` with `b = ⌈n/4⌉`. No allocation after the first call
/// of each kind: the dual-number vectors live in a [`DualWork`] behind a
/// mutex.
///
/// `x`, `g`, `v`, `hv` must have `dim()` entries and the Hessian must be
/// `n × n`; otherwise the outputs are filled with NaN and NaN is returned
/// (solvers stop on non-finite values; nothing panics).
///
/// # Example
/// ```
/// use hesse::diff::{DualObjective, Real, ScalarFn};
/// use hesse::problem::{Gradient, HessVec, Hessian};
/// use nalgebra::DMatrix;
///
/// struct Rosen;
/// impl ScalarFn for Rosen {
///     fn dim(&self) -> usize { 2 }
///     fn eval<D: Real>(&self, x: &[D]) -> D {
///         let a = D::from(1.0) - x[0];
///         let b = x[1] - x[0] * x[0];
///         a * a + b * b * 100.0
///     }
/// }
/// let p = DualObjective::new(Rosen);
/// let mut g = [0.0; 2];
/// assert!((p.value_grad(&[-1.2, 1.0], &mut g) - 24.2).abs() < 1e-12);
/// assert!((g[0] + 215.6).abs() < 1e-12 && (g[1] + 88.0).abs() < 1e-12);
/// let mut h = DMatrix::zeros(2, 2);
/// p.hessian(&[1.0, 1.0], &mut h);
/// assert_eq!(h, DMatrix::from_row_slice(2, 2, &[802.0, -400.0, -400.0, 200.0]));
/// let mut hv = [0.0; 2];
/// p.hess_vec(&[1.0, 1.0], &[1.0, 1.0], &mut hv);
/// assert_eq!(hv, [402.0, -200.0]);
/// ```
#[derive(Debug)]
pub struct DualObjective<F> {
    f: F,
    /// Dual-number vectors and a gradient buffer for `hess_vec`.
    work: Mutex<(DualWork, Vec<f64>)>,
}

impl<F: ScalarFn> DualObjective<F> {
    /// Wraps `f`.
    pub fn new(f: F) -> Self {
        let n = f.dim();
        DualObjective {
            f,
            work: Mutex::new((DualWork::default(), vec![0.0; n])),
        }
    }

    /// The wrapped function.
    pub fn inner(&self) -> &F {
        &self.f
    }
}

impl<F: ScalarFn> Objective for DualObjective<F> {
    fn dim(&self) -> usize {
        self.f.dim()
    }
    fn value(&self, x: &[f64]) -> f64 {
        if x.len() != self.f.dim() {
            return f64::NAN;
        }
        self.f.eval(x)
    }
}

impl<F: ScalarFn> Gradient for DualObjective<F> {
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        let mut guard = lock(&self.work);
        dual_gradient(&self.f, x, g, &mut guard.0).unwrap_or_else(|_| {
            g.iter_mut().for_each(|e| *e = f64::NAN);
            f64::NAN
        })
    }
}

impl<F: ScalarFn> Hessian for DualObjective<F> {
    fn hessian(&self, x: &[f64], h: &mut DMatrix<f64>) {
        let mut guard = lock(&self.work);
        if dual_hessian(&self.f, x, h, &mut guard.0).is_err() {
            h.fill(f64::NAN);
        }
    }
}

impl<F: ScalarFn> HessVec for DualObjective<F> {
    fn hess_vec(&self, x: &[f64], v: &[f64], hv: &mut [f64]) {
        let mut guard = lock(&self.work);
        let (work, g) = &mut *guard;
        // The pass computes ∇f as well; it goes to a reused buffer.
        g.resize(self.f.dim(), 0.0);
        if dual_hess_vec(&self.f, x, v, g, hv, work).is_err() {
            hv.iter_mut().for_each(|e| *e = f64::NAN);
        }
    }
}

/// A [`VectorFn`] as [`Residuals`] with the exact Jacobian by dual numbers
/// (`⌈n/8⌉` passes). Wrap it in [`LeastSquares`](crate::problem::LeastSquares)
/// for the objective `Σ rᵢ²` and its gradient `2 Jᵀ r`.
///
/// Arguments of the wrong size give NaN outputs, never a panic.
///
/// # Example
/// ```
/// use hesse::diff::{DualResiduals, Real, VectorFn};
/// use hesse::problem::{Gradient, LeastSquares, Residuals};
/// use nalgebra::DMatrix;
///
/// /// y = a·exp(b t) at t = 0, 1, 2 with data (1, 2, 4).
/// struct Exp;
/// impl VectorFn for Exp {
///     fn num_inputs(&self) -> usize { 2 }
///     fn num_outputs(&self) -> usize { 3 }
///     fn eval<D: Real>(&self, p: &[D], r: &mut [D]) {
///         for (i, y) in [1.0, 2.0, 4.0].into_iter().enumerate() {
///             r[i] = p[0] * (p[1] * i as f64).exp() - y;
///         }
///     }
/// }
/// let res = DualResiduals::new(Exp);
/// let mut jac = DMatrix::zeros(3, 2);
/// res.jacobian(&[1.0, 0.0], &mut jac);
/// assert_eq!(jac, DMatrix::from_row_slice(3, 2, &[1.0, 0.0, 1.0, 1.0, 1.0, 2.0]));
/// let ls = LeastSquares::new(res);
/// let mut g = [0.0; 2];
/// assert_eq!(ls.value_grad(&[1.0, 0.0], &mut g), 10.0); // r = (0, −1, −3)
/// assert_eq!(g, [-8.0, -14.0]);
/// ```
#[derive(Debug)]
pub struct DualResiduals<V> {
    vf: V,
    work: Mutex<(DualWork, Vec<f64>)>,
}

impl<V: VectorFn> DualResiduals<V> {
    /// Wraps `vf`.
    pub fn new(vf: V) -> Self {
        let m = vf.num_outputs();
        DualResiduals {
            vf,
            work: Mutex::new((DualWork::default(), vec![0.0; m])),
        }
    }

    /// The wrapped function.
    pub fn inner(&self) -> &V {
        &self.vf
    }
}

impl<V: VectorFn> Residuals for DualResiduals<V> {
    fn num_params(&self) -> usize {
        self.vf.num_inputs()
    }
    fn num_residuals(&self) -> usize {
        self.vf.num_outputs()
    }
    fn residuals(&self, x: &[f64], r: &mut [f64]) {
        if x.len() != self.vf.num_inputs() || r.len() != self.vf.num_outputs() {
            r.iter_mut().for_each(|e| *e = f64::NAN);
            return;
        }
        self.vf.eval(x, r)
    }
    fn jacobian(&self, x: &[f64], jac: &mut DMatrix<f64>) {
        let mut guard = lock(&self.work);
        let (work, r) = &mut *guard;
        r.resize(self.vf.num_outputs(), 0.0);
        if dual_jacobian(&self.vf, x, r, jac, work).is_err() {
            jac.fill(f64::NAN);
        }
    }
}
