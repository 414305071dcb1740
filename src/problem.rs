//! What a user implements: the objective and whatever derivatives they have.
//!
//! The traits form a ladder. [`Objective`] is `f(x)` alone; [`Gradient`] adds
//! `∇f(x)` through one fused call, [`Gradient::value_grad`], the primitive every
//! gradient method uses (one forward and one backward pass for a network);
//! [`Hessian`] adds the dense `∇²f(x)`, [`HessVec`] the product `∇²f(x) v`.
//! [`Residuals`] is the least-squares form `r(x) ∈ ℝᵐ` with its Jacobian, and
//! [`LeastSquares`] turns it into an objective `f(x) = Σ rᵢ(x)²`.
//! [`SparseResiduals`] is the same with a sparse Jacobian: its
//! [`SparsityPattern`] once, then the values on it.
//!
//! Every method takes `&[f64]` and writes into `&mut [f64]`, so an evaluation
//! allocates nothing. A problem that cannot evaluate at a point (outside a
//! domain, overflow) returns a non-finite value; solvers treat that as a typed
//! outcome, never a panic.
//!
//! Closures become problems with [`FnObjective`], [`FnGradient`] and their
//! `with_*` builders:
//!
//! ```
//! use hesse::problem::{FnGradient, Gradient, Objective};
//!
//! let rosenbrock = FnGradient::new(2, |x: &[f64], g: &mut [f64]| {
//!     g[0] = -2.0 * (1.0 - x[0]) - 400.0 * x[0] * (x[1] - x[0] * x[0]);
//!     g[1] = 200.0 * (x[1] - x[0] * x[0]);
//!     (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2)
//! });
//! let mut g = [0.0; 2];
//! assert_eq!(rosenbrock.value_grad(&[1.0, 1.0], &mut g), 0.0);
//! assert_eq!(g, [0.0, 0.0]);
//! assert_eq!(rosenbrock.value(&[0.0, 0.0]), 1.0);
//! ```
//!
//! [`Counted`] wraps any problem and counts its evaluations; solvers wrap the
//! problem they are given in it, so the counts in a report are exact.

mod sparse;

use std::cell::Cell;

use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};

pub use sparse::{JacobianProducts, SparseResiduals, SparsityPattern};

/// A scalar objective `f: ℝⁿ → ℝ`.
pub trait Objective {
    /// The number of variables `n`.
    fn dim(&self) -> usize;

    /// `f(x)`. `x` has [`dim`](Objective::dim) entries. Return a non-finite value
    /// where `f` is undefined; solvers step back from it.
    fn value(&self, x: &[f64]) -> f64;
}

/// An objective with its gradient.
pub trait Gradient: Objective {
    /// Writes `∇f(x)` into `g` and returns `f(x)`.
    ///
    /// This fused call is the primitive: implement it so that the value and the
    /// gradient share their work.
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64;
}

/// An objective with its dense Hessian.
pub trait Hessian: Gradient {
    /// Writes `∇²f(x)` into `h`, an `n × n` matrix already of that size.
    fn hessian(&self, x: &[f64], h: &mut DMatrix<f64>);
}

/// An objective with Hessian-vector products.
pub trait HessVec: Gradient {
    /// Writes `∇²f(x) v` into `hv`.
    fn hess_vec(&self, x: &[f64], v: &[f64], hv: &mut [f64]);
}

/// An objective with generalized Gauss-Newton-vector products.
///
/// For `f(x) = Σᵢ L(o_i(x))` with network outputs `o_i` and a convex loss `L`
/// of them, the generalized Gauss-Newton matrix is `G = Σᵢ J_iᵀ H_L J_i`, with
/// `J_i = ∂o_i/∂x` and `H_L = ∂²L/∂o²` (Schraudolph, "Fast curvature
/// matrix-vector products for second-order gradient descent", *Neural
/// Computation* 14, 2002, §3). It drops the Hessian's second-order terms of
/// the network, so with `H_L ⪰ 0` it is positive semi-definite everywhere
/// (what Hessian-free optimization, Martens 2010, runs CG on). For least
/// squares `f = ½‖r‖²` it is the Gauss-Newton matrix `JᵀJ`.
pub trait GaussNewtonVec: Gradient {
    /// Writes `G(x) v` into `gv`.
    fn gauss_newton_vec(&self, x: &[f64], v: &[f64], gv: &mut [f64]);
}

/// A least-squares problem: residuals `r: ℝⁿ → ℝᵐ` and their Jacobian.
///
/// The objective it stands for is `f(x) = Σᵢ rᵢ(x)²` (no factor ½, so that `f`
/// is the residual sum of squares that NIST StRD and Moré-Garbow-Hillstrom
/// publish); [`LeastSquares`] adapts it to the scalar traits.
pub trait Residuals {
    /// The number of parameters `n`.
    fn num_params(&self) -> usize;

    /// The number of residuals `m`.
    fn num_residuals(&self) -> usize;

    /// Writes `r(x)` into `r` (length `m`).
    fn residuals(&self, x: &[f64], r: &mut [f64]);

    /// Writes the Jacobian `J(x)ᵢⱼ = ∂rᵢ/∂xⱼ` into `jac`, an `m × n` matrix
    /// already of that size.
    fn jacobian(&self, x: &[f64], jac: &mut DMatrix<f64>);
}

impl<P: Objective + ?Sized> Objective for &P {
    fn dim(&self) -> usize {
        (**self).dim()
    }
    fn value(&self, x: &[f64]) -> f64 {
        (**self).value(x)
    }
}

impl<P: Gradient + ?Sized> Gradient for &P {
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        (**self).value_grad(x, g)
    }
}

impl<P: Hessian + ?Sized> Hessian for &P {
    fn hessian(&self, x: &[f64], h: &mut DMatrix<f64>) {
        (**self).hessian(x, h)
    }
}

impl<P: HessVec + ?Sized> HessVec for &P {
    fn hess_vec(&self, x: &[f64], v: &[f64], hv: &mut [f64]) {
        (**self).hess_vec(x, v, hv)
    }
}

impl<P: GaussNewtonVec + ?Sized> GaussNewtonVec for &P {
    fn gauss_newton_vec(&self, x: &[f64], v: &[f64], gv: &mut [f64]) {
        (**self).gauss_newton_vec(x, v, gv)
    }
}

impl<P: Residuals + ?Sized> Residuals for &P {
    fn num_params(&self) -> usize {
        (**self).num_params()
    }
    fn num_residuals(&self) -> usize {
        (**self).num_residuals()
    }
    fn residuals(&self, x: &[f64], r: &mut [f64]) {
        (**self).residuals(x, r)
    }
    fn jacobian(&self, x: &[f64], jac: &mut DMatrix<f64>) {
        (**self).jacobian(x, jac)
    }
}

// ---------------------------------------------------------------------------
// Closure adapters
// ---------------------------------------------------------------------------

/// An [`Objective`] from a closure `f(x)`.
///
/// ```
/// use hesse::problem::{FnObjective, Objective};
/// let sphere = FnObjective::new(3, |x: &[f64]| x.iter().map(|v| v * v).sum());
/// assert_eq!(sphere.value(&[1.0, 2.0, 3.0]), 14.0);
/// ```
#[derive(Clone)]
pub struct FnObjective<F> {
    n: usize,
    f: F,
}

impl<F: Fn(&[f64]) -> f64> FnObjective<F> {
    /// An objective of `n` variables.
    pub fn new(n: usize, f: F) -> Self {
        Self { n, f }
    }
}

impl<F: Fn(&[f64]) -> f64> Objective for FnObjective<F> {
    fn dim(&self) -> usize {
        self.n
    }
    fn value(&self, x: &[f64]) -> f64 {
        (self.f)(x)
    }
}

/// A [`Gradient`] from a closure `fg(x, g) -> f` that writes the gradient and
/// returns the value. `value` calls the same closure with a scratch gradient
/// unless a value-only closure is given with [`FnGradient::with_value`].
///
/// Add second derivatives with [`with_hessian`](FnGradient::with_hessian) or
/// [`with_hess_vec`](FnGradient::with_hess_vec).
pub struct FnGradient<FG, F = fn(&[f64]) -> f64, H = (), HV = ()> {
    n: usize,
    fg: FG,
    f: Option<F>,
    h: H,
    hv: HV,
    scratch: std::sync::Mutex<Vec<f64>>,
}

impl<FG: Fn(&[f64], &mut [f64]) -> f64> FnGradient<FG> {
    /// A problem of `n` variables from a fused value-and-gradient closure.
    pub fn new(n: usize, fg: FG) -> Self {
        Self {
            n,
            fg,
            f: None,
            h: (),
            hv: (),
            scratch: std::sync::Mutex::new(Vec::new()),
        }
    }
}

impl<FG, F, H, HV> FnGradient<FG, F, H, HV> {
    /// Uses `f` for value-only evaluations (line-search probes).
    pub fn with_value<F2: Fn(&[f64]) -> f64>(self, f: F2) -> FnGradient<FG, F2, H, HV> {
        FnGradient {
            n: self.n,
            fg: self.fg,
            f: Some(f),
            h: self.h,
            hv: self.hv,
            scratch: self.scratch,
        }
    }

    /// Adds a dense Hessian `h(x, H)`, making the problem a [`Hessian`].
    pub fn with_hessian<H2: Fn(&[f64], &mut DMatrix<f64>)>(
        self,
        h: H2,
    ) -> FnGradient<FG, F, H2, HV> {
        FnGradient {
            n: self.n,
            fg: self.fg,
            f: self.f,
            h,
            hv: self.hv,
            scratch: self.scratch,
        }
    }

    /// Adds a Hessian-vector product `hv(x, v, Hv)`, making the problem a
    /// [`HessVec`].
    pub fn with_hess_vec<HV2: Fn(&[f64], &[f64], &mut [f64])>(
        self,
        hv: HV2,
    ) -> FnGradient<FG, F, H, HV2> {
        FnGradient {
            n: self.n,
            fg: self.fg,
            f: self.f,
            h: self.h,
            hv,
            scratch: self.scratch,
        }
    }
}

impl<FG, F, H, HV> Objective for FnGradient<FG, F, H, HV>
where
    FG: Fn(&[f64], &mut [f64]) -> f64,
    F: Fn(&[f64]) -> f64,
{
    fn dim(&self) -> usize {
        self.n
    }
    fn value(&self, x: &[f64]) -> f64 {
        if let Some(f) = &self.f {
            return f(x);
        }
        let mut scratch = self
            .scratch
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        scratch.resize(self.n, 0.0);
        (self.fg)(x, &mut scratch)
    }
}

impl<FG, F, H, HV> Gradient for FnGradient<FG, F, H, HV>
where
    FG: Fn(&[f64], &mut [f64]) -> f64,
    F: Fn(&[f64]) -> f64,
{
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        (self.fg)(x, g)
    }
}

impl<FG, F, H, HV> Hessian for FnGradient<FG, F, H, HV>
where
    FG: Fn(&[f64], &mut [f64]) -> f64,
    F: Fn(&[f64]) -> f64,
    H: Fn(&[f64], &mut DMatrix<f64>),
{
    fn hessian(&self, x: &[f64], h: &mut DMatrix<f64>) {
        (self.h)(x, h)
    }
}

impl<FG, F, H, HV> HessVec for FnGradient<FG, F, H, HV>
where
    FG: Fn(&[f64], &mut [f64]) -> f64,
    F: Fn(&[f64]) -> f64,
    HV: Fn(&[f64], &[f64], &mut [f64]),
{
    fn hess_vec(&self, x: &[f64], v: &[f64], hv: &mut [f64]) {
        (self.hv)(x, v, hv)
    }
}

/// [`Residuals`] from closures: `r(x, r)` and `jac(x, J)`.
///
/// ```
/// use hesse::problem::{FnResiduals, LeastSquares, Objective};
/// // r(x) = (x0 - 1, 10 (x1 - x0²)): Rosenbrock as least squares.
/// let rosen = FnResiduals::new(
///     2,
///     2,
///     |x: &[f64], r: &mut [f64]| {
///         r[0] = 1.0 - x[0];
///         r[1] = 10.0 * (x[1] - x[0] * x[0]);
///     },
///     |x: &[f64], j: &mut nalgebra::DMatrix<f64>| {
///         j[(0, 0)] = -1.0;
///         j[(0, 1)] = 0.0;
///         j[(1, 0)] = -20.0 * x[0];
///         j[(1, 1)] = 10.0;
///     },
/// );
/// assert_eq!(LeastSquares::new(&rosen).value(&[0.0, 0.0]), 1.0);
/// ```
#[derive(Clone)]
pub struct FnResiduals<R, J> {
    n: usize,
    m: usize,
    r: R,
    jac: J,
}

impl<R, J> FnResiduals<R, J>
where
    R: Fn(&[f64], &mut [f64]),
    J: Fn(&[f64], &mut DMatrix<f64>),
{
    /// `m` residuals in `n` parameters.
    pub fn new(n: usize, m: usize, r: R, jac: J) -> Self {
        Self { n, m, r, jac }
    }
}

impl<R, J> Residuals for FnResiduals<R, J>
where
    R: Fn(&[f64], &mut [f64]),
    J: Fn(&[f64], &mut DMatrix<f64>),
{
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
        (self.jac)(x, jac)
    }
}

/// The scalar objective `f(x) = Σᵢ rᵢ(x)²` of a [`Residuals`] problem, with
/// gradient `2 Jᵀ r` and Gauss-Newton products.
///
/// Keeps its residual and Jacobian buffers behind a mutex so evaluation
/// allocates nothing after the first call.
pub struct LeastSquares<R> {
    inner: R,
    work: std::sync::Mutex<(Vec<f64>, DMatrix<f64>)>,
}

impl<R: Residuals> LeastSquares<R> {
    /// Wraps a residual problem.
    pub fn new(inner: R) -> Self {
        let (n, m) = (inner.num_params(), inner.num_residuals());
        Self {
            inner,
            work: std::sync::Mutex::new((vec![0.0; m], DMatrix::zeros(m, n))),
        }
    }

    /// The residual problem inside.
    pub fn inner(&self) -> &R {
        &self.inner
    }
}

impl<R: Residuals> Objective for LeastSquares<R> {
    fn dim(&self) -> usize {
        self.inner.num_params()
    }
    fn value(&self, x: &[f64]) -> f64 {
        let mut work = self.work.lock().unwrap_or_else(|e| e.into_inner());
        self.inner.residuals(x, &mut work.0);
        work.0.iter().map(|r| r * r).sum()
    }
}

impl<R: Residuals> Gradient for LeastSquares<R> {
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        let mut work = self.work.lock().unwrap_or_else(|e| e.into_inner());
        let (r, jac) = &mut *work;
        self.inner.residuals(x, r);
        let shape = jac.shape();
        self.inner.jacobian(x, jac);
        if jac.shape() != shape {
            // A Jacobian of another shape: no gradient (the contract says
            // the matrix is filled in place, at m × n).
            *jac = DMatrix::zeros(shape.0, shape.1);
            g.fill(f64::NAN);
            return f64::NAN;
        }
        // g = 2 Jᵀ r, column by column (J is column-major).
        for (j, gj) in g.iter_mut().enumerate() {
            let col = jac.column(j);
            *gj = 2.0 * col.iter().zip(r.iter()).map(|(a, b)| a * b).sum::<f64>();
        }
        r.iter().map(|r| r * r).sum()
    }
}

// ---------------------------------------------------------------------------
// Evaluation counting
// ---------------------------------------------------------------------------

/// Evaluation counts, as every report gives them.
///
/// A call that computes `f` counts one `f` evaluation and a call that computes
/// the gradient one `g` evaluation, so a fused `value_grad` counts in both.
/// For [`Residuals`], a residual vector counts as an `f` evaluation and a
/// Jacobian as a `g` evaluation (MINPACK's `nfev` and `njev`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evals {
    /// Objective values (or residual vectors).
    pub f: u64,
    /// Gradients (or Jacobians).
    pub g: u64,
    /// Dense Hessians.
    pub h: u64,
    /// Hessian-vector (or Gauss-Newton-vector) products.
    pub hv: u64,
}

impl Evals {
    /// The total of all counts.
    pub fn total(&self) -> u64 {
        self.f + self.g + self.h + self.hv
    }
}

impl std::ops::Sub for Evals {
    type Output = Evals;
    fn sub(self, o: Evals) -> Evals {
        Evals {
            f: self.f - o.f,
            g: self.g - o.g,
            h: self.h - o.h,
            hv: self.hv - o.hv,
        }
    }
}

/// A problem that counts its evaluations. Solvers evaluate only through it.
///
/// ```
/// use hesse::problem::{Counted, FnObjective, Objective};
/// let p = FnObjective::new(1, |x: &[f64]| x[0] * x[0]);
/// let counted = Counted::new(&p);
/// counted.value(&[2.0]);
/// assert_eq!(counted.evals().f, 1);
/// ```
///
/// # Limits enforced inside an iteration
///
/// [`with_limits`](Counted::with_limits) makes it the run's guard as well:
/// it refuses a call once the evaluation budget is spent (`f + g + h + hv
/// ≥ max_evals` before the call) or the deadline has passed, and refuses
/// every call after a value `f ≤ f_lower` (the objective appears unbounded
/// below). A refused call evaluates nothing and answers NaN (NaN value,
/// gradient, Hessian, product or residuals), which every minimizer already
/// treats as a failed trial, so a line search, trust-region retry loop or CG
/// solve ends at its next call instead of at the end of the iteration;
/// [`halted`](Counted::halted) then says why. A run therefore overshoots its
/// evaluation budget by at most one call (two counts for a fused
/// `value_grad`, which counts in `f` and `g`).
///
/// ```
/// use hesse::problem::{Counted, FnObjective, Objective};
/// use hesse::solver::Termination;
/// let p = FnObjective::new(1, |x: &[f64]| x[0] * x[0]);
/// let counted = Counted::new(&p).with_limits(Some(2), None, f64::NEG_INFINITY);
/// assert_eq!(counted.value(&[2.0]), 4.0);
/// assert_eq!(counted.value(&[3.0]), 9.0);
/// assert!(counted.value(&[4.0]).is_nan()); // refused: the budget of 2 is spent
/// assert_eq!(counted.evals().f, 2);
/// assert_eq!(counted.halted(), Some(Termination::MaxEvaluations));
/// ```
pub struct Counted<P> {
    inner: P,
    f: Cell<u64>,
    g: Cell<u64>,
    h: Cell<u64>,
    hv: Cell<u64>,
    max_evals: Option<u64>,
    deadline: Option<std::time::Instant>,
    f_lower: f64,
    halted: Cell<Option<crate::solver::Termination>>,
    /// The descent watch ([`Counted::descent_run`]): the last value seen,
    /// the last decrease and the current run length.
    last_v: Cell<f64>,
    last_dec: Cell<f64>,
    run: Cell<u32>,
    /// The first output contract the problem broke (a Hessian or Jacobian
    /// of the wrong shape), see [`Counted::broken_contract`].
    broken: Cell<Option<String>>,
}

impl<P> Counted<P> {
    /// Wraps `inner` with all counts at zero.
    pub fn new(inner: P) -> Self {
        Self::with_evals(inner, Evals::default())
    }

    /// Wraps `inner` with counts starting from `evals` (for a resumed run).
    pub fn with_evals(inner: P, evals: Evals) -> Self {
        Self {
            inner,
            f: Cell::new(evals.f),
            g: Cell::new(evals.g),
            h: Cell::new(evals.h),
            hv: Cell::new(evals.hv),
            max_evals: None,
            deadline: None,
            f_lower: f64::NEG_INFINITY,
            halted: Cell::new(None),
            last_v: Cell::new(f64::NAN),
            last_dec: Cell::new(0.0),
            run: Cell::new(0),
            broken: Cell::new(None),
        }
    }

    /// Enforces limits inside every call (see the type's docs): at most
    /// `max_evals` counted evaluations (plus the one call that crosses it),
    /// no call after `deadline`, and no call after a value `f ≤ f_lower`
    /// (`f64::NEG_INFINITY`: only `f = −∞` counts).
    #[must_use]
    pub fn with_limits(
        mut self,
        max_evals: Option<u64>,
        deadline: Option<std::time::Instant>,
        f_lower: f64,
    ) -> Self {
        self.max_evals = max_evals;
        self.deadline = deadline;
        self.f_lower = f_lower;
        self
    }

    /// Why calls are being refused: [`MaxEvaluations`], [`TimeLimit`] or
    /// [`Unbounded`]; `None` while they are not.
    ///
    /// [`MaxEvaluations`]: crate::solver::Termination::MaxEvaluations
    /// [`TimeLimit`]: crate::solver::Termination::TimeLimit
    /// [`Unbounded`]: crate::solver::Termination::Unbounded
    pub fn halted(&self) -> Option<crate::solver::Termination> {
        self.halted.get()
    }

    /// Starts the descent watch from the value `f0` (the driver calls it at
    /// the start of each iteration with `f(x_k)`).
    pub fn watch_from(&self, f0: f64) {
        self.last_v.set(f0);
        self.last_dec.set(0.0);
        self.run.set(0);
    }

    /// The run of values that ends with the last one seen since
    /// [`watch_from`](Counted::watch_from), in evaluation order, each below
    /// the one before by at least the previous decrease, as `(length, last
    /// value)`: what a line search extrapolating along a direction on which
    /// `f` falls without bound produces (each longer step lowers `f` by
    /// more), and an interpolating one does not (its decreases shrink).
    pub fn descent_run(&self) -> (u32, f64) {
        (self.run.get(), self.last_v.get())
    }

    /// Whether a call may be made; sets [`halted`](Counted::halted) if not.
    ///
    /// Every evaluation a solver makes passes here, so the upper halves of
    /// the vector registers are cleared here too: a user's objective is
    /// usually scalar code calling glibc's legacy-SSE `exp`, `ln`, `cos`, …,
    /// and on Intel CPUs with AVX-512 each such call after a solver's faer
    /// factorization would pay the AVX-SSE transition penalty (issue 17:
    /// glibc's `exp` at 34x its cost). One `vzeroupper` per call.
    fn admit(&self) -> bool {
        crate::linalg::elementwise::zero_upper();
        if self.halted.get().is_some() {
            return false;
        }
        use crate::solver::Termination;
        if self.max_evals.is_some_and(|m| self.evals().total() >= m) {
            self.halted.set(Some(Termination::MaxEvaluations));
            return false;
        }
        if self
            .deadline
            .is_some_and(|d| std::time::Instant::now() >= d)
        {
            self.halted.set(Some(Termination::TimeLimit));
            return false;
        }
        true
    }

    /// Records a value of `f`: the unboundedness threshold and the descent watch.
    fn observe(&self, v: f64) -> f64 {
        if v <= self.f_lower || v == f64::NEG_INFINITY {
            self.halted.set(Some(crate::solver::Termination::Unbounded));
        }
        let last = self.last_v.get();
        let dec = last - v;
        if dec > 0.0 && dec >= self.last_dec.get() {
            self.run.set(self.run.get() + 1);
            self.last_dec.set(dec);
        } else {
            self.run.set(0);
            self.last_dec.set(0.0);
        }
        self.last_v.set(v);
        v
    }

    /// What the problem got wrong, if it broke the contract of its
    /// [`Hessian::hessian`] or [`Residuals::jacobian`] by replacing the
    /// matrix it was given with one of another shape: `"the Hessian is
    /// 3 × 3, expected n × n = 2 × 2"`. Such a call is answered with the
    /// right shape filled with NaN and, like a limit, refuses every later
    /// call ([`halted`](Counted::halted) is
    /// [`NonFiniteValue`](crate::solver::Termination::NonFiniteValue)); the
    /// driver returns the message as an error from the start, and as the
    /// report's note from a later iteration. Taking it clears it.
    pub fn broken_contract(&self) -> Option<String> {
        self.broken.take()
    }

    /// `true` if `m` is `rows × cols`; else records the broken contract,
    /// halts, and gives `m` that shape filled with NaN.
    fn check_shape(&self, what: &str, m: &mut DMatrix<f64>, rows: usize, cols: usize) -> bool {
        if m.shape() == (rows, cols) {
            return true;
        }
        let message = shape_message(what, m.shape(), (rows, cols));
        let first = self.broken.take().unwrap_or(message);
        self.broken.set(Some(first));
        self.halted
            .set(Some(crate::solver::Termination::NonFiniteValue));
        *m = DMatrix::from_element(rows, cols, f64::NAN);
        false
    }

    /// The counts so far.
    pub fn evals(&self) -> Evals {
        Evals {
            f: self.f.get(),
            g: self.g.get(),
            h: self.h.get(),
            hv: self.hv.get(),
        }
    }

    /// The wrapped problem.
    pub fn inner(&self) -> &P {
        &self.inner
    }

    fn bump(c: &Cell<u64>) {
        c.set(c.get() + 1);
    }
}

impl<P: Objective> Objective for Counted<P> {
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn value(&self, x: &[f64]) -> f64 {
        if !self.admit() {
            return f64::NAN;
        }
        Self::bump(&self.f);
        self.observe(self.inner.value(x))
    }
}

impl<P: Gradient> Gradient for Counted<P> {
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        if !self.admit() {
            g.fill(f64::NAN);
            return f64::NAN;
        }
        Self::bump(&self.f);
        Self::bump(&self.g);
        self.observe(self.inner.value_grad(x, g))
    }
}

impl<P: Hessian> Hessian for Counted<P> {
    fn hessian(&self, x: &[f64], h: &mut DMatrix<f64>) {
        if !self.admit() {
            h.fill(f64::NAN);
            return;
        }
        Self::bump(&self.h);
        let n = self.inner.dim();
        self.inner.hessian(x, h);
        self.check_shape("the Hessian", h, n, n);
    }
}

impl<P: HessVec> HessVec for Counted<P> {
    fn hess_vec(&self, x: &[f64], v: &[f64], hv: &mut [f64]) {
        if !self.admit() {
            hv.fill(f64::NAN);
            return;
        }
        Self::bump(&self.hv);
        self.inner.hess_vec(x, v, hv)
    }
}

/// A Gauss-Newton product counts as a Hessian-vector product (`hv`).
impl<P: GaussNewtonVec> GaussNewtonVec for Counted<P> {
    fn gauss_newton_vec(&self, x: &[f64], v: &[f64], gv: &mut [f64]) {
        if !self.admit() {
            gv.fill(f64::NAN);
            return;
        }
        Self::bump(&self.hv);
        self.inner.gauss_newton_vec(x, v, gv)
    }
}

impl<P: Residuals> Residuals for Counted<P> {
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
    fn jacobian(&self, x: &[f64], jac: &mut DMatrix<f64>) {
        if !self.admit() {
            jac.fill(f64::NAN);
            return;
        }
        Self::bump(&self.g);
        let (m, n) = (self.inner.num_residuals(), self.inner.num_params());
        self.inner.jacobian(x, jac);
        self.check_shape("the Jacobian", jac, m, n);
    }
}

/// "the Hessian is 3 × 3, expected 2 × 2": a matrix a problem returned in
/// another shape than the one it was given.
pub(crate) fn shape_message(what: &str, got: (usize, usize), expected: (usize, usize)) -> String {
    format!(
        "{what} is {} × {}, expected {} × {} (fill the matrix given, in place)",
        got.0, got.1, expected.0, expected.1
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fused_call_counts_in_both() {
        let p = FnGradient::new(1, |x: &[f64], g: &mut [f64]| {
            g[0] = 2.0 * x[0];
            x[0] * x[0]
        });
        let c = Counted::new(&p);
        let mut g = [0.0];
        assert_eq!(c.value_grad(&[3.0], &mut g), 9.0);
        assert_eq!(g, [6.0]);
        assert_eq!(c.value(&[1.0]), 1.0);
        assert_eq!(
            c.evals(),
            Evals {
                f: 2,
                g: 1,
                h: 0,
                hv: 0
            }
        );
    }

    #[test]
    fn least_squares_gradient_is_two_jt_r() {
        let p = FnResiduals::new(
            2,
            3,
            |x: &[f64], r: &mut [f64]| {
                r[0] = x[0] - 1.0;
                r[1] = x[0] * x[1];
                r[2] = x[1].sin();
            },
            |x: &[f64], j: &mut DMatrix<f64>| {
                j[(0, 0)] = 1.0;
                j[(0, 1)] = 0.0;
                j[(1, 0)] = x[1];
                j[(1, 1)] = x[0];
                j[(2, 0)] = 0.0;
                j[(2, 1)] = x[1].cos();
            },
        );
        let ls = LeastSquares::new(&p);
        let x = [0.5, 2.0];
        let mut g = [0.0; 2];
        let f = ls.value_grad(&x, &mut g);
        let r = [-0.5, 1.0, 2f64.sin()];
        assert!((f - r.iter().map(|v| v * v).sum::<f64>()).abs() < 1e-15);
        assert!((g[0] - 2.0 * (r[0] + 2.0 * r[1])).abs() < 1e-14);
        assert!((g[1] - 2.0 * (0.5 * r[1] + 2f64.cos() * r[2])).abs() < 1e-14);
        assert_eq!(ls.value(&x), f);
    }
}
