//! `hesse._hesse`: the compiled core of the Python package `hesse`.
//!
//! The Python wrapper (`python/hesse/__init__.py`) parses scipy.optimize's
//! arguments (method names, option aliases, bounds, dtypes) and calls the
//! functions here, [`minimize`], [`least_squares`] and
//! [`sparse_least_squares`] (scipy's `jac_sparsity`), with hesse's own names.
//! They wrap the user's callables in a problem type that implements hesse's
//! traits ([`PyObjective`], [`PyResiduals`], [`PySparseResiduals`]) and run a
//! hesse minimizer on it through [`Run`], whose observer calls the user's
//! callback and stops the run on request, on an exception, or on Ctrl-C.
//!
//! The GIL is released for the whole run ([`Python::detach`]) and taken back
//! for each call into Python ([`Python::attach`]), so that linear algebra
//! (Newton's factorizations, L-BFGS's updates) lets other Python threads run.
//!
//! An exception raised by a user's callable, and a `KeyboardInterrupt` seen
//! by [`Python::check_signals`] before each call, is kept; from then on every
//! evaluation returns NaN without calling Python, the observer stops the run
//! at the end of the iteration, and the kept exception is raised, with its
//! traceback, in place of a result.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hesse::diff::{FdWork, Scheme, fd_gradient, fd_hess_vec, fd_hessian};
use hesse::newton::{
    FitStatistics, LevenbergMarquardt, RobustLoss, Scaling, SparseLevenbergMarquardt,
    fit_statistics, fit_statistics_with_loss,
};
use hesse::prelude::*;
use hesse::problem::{
    Gradient, HessVec, Hessian, Objective, Residuals, SparseResiduals, SparsityPattern,
};
use hesse::solver::{Control, Minimizer, Run};
use nalgebra::DMatrix;
use numpy::{AllowTypeChange, PyArray1, PyArray2, PyArrayLike1, PyArrayLike2};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFloat, PyList, PyTuple};

/// How the gradient is obtained.
enum Jac {
    /// `jac=True`: `fun` returns `(f, g)`.
    WithFun,
    /// `jac=callable`: `jac(x, *args)` returns `g`.
    Callable(Py<PyAny>),
    /// `jac=None` or a scipy finite-difference name: differences of `fun`
    /// (`hesse::diff::fd_gradient`; central unless `'2-point'`).
    Fd(Scheme),
}

/// What a run keeps about the user's Python code: the first error, how often
/// each callable was called, and the run's deadline.
#[derive(Default)]
struct Calls {
    failed: AtomicBool,
    error: Mutex<Option<PyErr>>,
    /// The wall-time limit (`options['time_limit']`), checked before every
    /// call into Python. The library checks its own limit before each
    /// evaluation it counts, but one counted evaluation here may be many
    /// calls of Python (`2n + 1` for a central-difference gradient, `n`
    /// products for a dense Hessian from `hessp`, a difference Jacobian):
    /// with a slow `fun` the run would overshoot the limit by a whole
    /// gradient. Past the deadline no call is made, the evaluation answers
    /// NaN (as after an exception) and the run ends with `time_limit`.
    deadline: Option<Instant>,
    /// Whether the deadline is enforced (off for the final evaluation of
    /// the residuals and Jacobian at the solution, after the run).
    deadline_on: AtomicBool,
    timed_out: AtomicBool,
    fun: AtomicU64,
    jac: AtomicU64,
    hess: AtomicU64,
    hessp: AtomicU64,
}

impl Calls {
    /// No calls yet; Python is not called after `limit` from now.
    fn with_time_limit(limit: Option<Duration>) -> Self {
        let deadline = limit.and_then(|t| Instant::now().checked_add(t));
        Calls {
            deadline,
            deadline_on: AtomicBool::new(deadline.is_some()),
            ..Calls::default()
        }
    }

    fn failed(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
    }

    /// Whether a call was refused because the deadline had passed.
    fn timed_out(&self) -> bool {
        self.timed_out.load(Ordering::Relaxed)
    }

    /// Stops enforcing the deadline, for the evaluations after the run (the
    /// residuals and Jacobian at the solution): calls are allowed again
    /// unless one raised.
    fn lift_deadline(&self) {
        self.deadline_on.store(false, Ordering::Relaxed);
        let error = self.error.lock().unwrap_or_else(|p| p.into_inner());
        if error.is_none() {
            self.failed.store(false, Ordering::Relaxed);
        }
    }

    fn fail(&self, e: PyErr) {
        let mut slot = self.error.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(e);
        }
        self.failed.store(true, Ordering::Relaxed);
    }

    fn take_error(&self) -> Option<PyErr> {
        self.error.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    /// Runs `body` with the GIL unless a call already failed; a signal
    /// (Ctrl-C) pending before the call, or an exception from it, is kept
    /// and `default` returned.
    fn eval<T>(&self, default: T, body: impl FnOnce(Python<'_>) -> PyResult<T>) -> T {
        if self.failed() {
            return default;
        }
        if self.deadline_on.load(Ordering::Relaxed)
            && self.deadline.is_some_and(|d| Instant::now() >= d)
        {
            self.timed_out.store(true, Ordering::Relaxed);
            self.failed.store(true, Ordering::Relaxed);
            return default;
        }
        Python::attach(|py| {
            if let Err(e) = py.check_signals() {
                self.fail(e);
                return default;
            }
            match body(py) {
                Ok(v) => v,
                Err(e) => {
                    self.fail(e);
                    default
                }
            }
        })
    }
}

/// `x` as a new float64 array (the callee may keep or modify it).
fn array<'py>(py: Python<'py>, x: &[f64]) -> Bound<'py, PyArray1<f64>> {
    PyArray1::from_slice(py, x)
}

/// Calls `f(x, [v,] *args)`.
fn call<'py>(
    py: Python<'py>,
    f: &Py<PyAny>,
    x: &[f64],
    v: Option<&[f64]>,
    args: &Py<PyTuple>,
) -> PyResult<Bound<'py, PyAny>> {
    let args = args.bind(py);
    let f = f.bind(py);
    if args.is_empty() {
        return match v {
            None => f.call1((array(py, x),)),
            Some(v) => f.call1((array(py, x), array(py, v))),
        };
    }
    let mut all: Vec<Bound<'py, PyAny>> = Vec::with_capacity(args.len() + 2);
    all.push(array(py, x).into_any());
    if let Some(v) = v {
        all.push(array(py, v).into_any());
    }
    all.extend(args.iter());
    f.call1(PyTuple::new(py, all)?)
}

/// A scalar returned by `what` as f64: a float, int, numpy scalar or 0-d
/// array, or (as scipy accepts) an array of one real number; a complex
/// numpy scalar is refused (a cast would drop its imaginary part).
fn scalar(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<f64> {
    // Fast path: float and its subclass numpy.float64.
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Ok(f.value());
    }
    let numpy_like = obj.hasattr("dtype").unwrap_or(false);
    if !numpy_like || real_kind(obj).unwrap_or(false) {
        if let Ok(v) = obj.extract::<f64>() {
            return Ok(v);
        }
        let one = numpy_like
            && obj
                .getattr("size")
                .and_then(|n| n.extract::<usize>())
                .is_ok_and(|n| n == 1);
        if one && let Ok(v) = obj.call_method0("item").and_then(|v| v.extract::<f64>()) {
            return Ok(v);
        }
    }
    let t = obj
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_default();
    let shape = if obj.hasattr("shape").unwrap_or(false) {
        format!(" of shape {}", shape_of(obj))
    } else {
        String::new()
    };
    Err(PyTypeError::new_err(format!(
        "{what} must return a real number, got {t}{shape}"
    )))
}

/// Whether `obj` (an array or array scalar) holds real numbers: its numpy
/// dtype's kind is bool, integer or float.
fn real_kind(obj: &Bound<'_, PyAny>) -> PyResult<bool> {
    let kind: String = obj.getattr("dtype")?.getattr("kind")?.extract()?;
    Ok(matches!(kind.as_str(), "b" | "i" | "u" | "f"))
}

/// The shape numpy sees for `obj`, for error messages.
fn shape_of(obj: &Bound<'_, PyAny>) -> String {
    let py = obj.py();
    py.import("numpy")
        .and_then(|np| np.call_method1("shape", (obj,)))
        .and_then(|s| s.str())
        .map(|s| s.to_string())
        .unwrap_or_else(|_| "(unknown)".into())
}

/// `obj` as something numpy converts to float64 without loss: a float64
/// array as it is (the fast path), a scipy.sparse matrix densified (scipy's
/// `hess` and `least_squares`' `jac` may return one), anything else through
/// `numpy.asarray`, refused with a TypeError naming `what` when its dtype
/// is not real (complex, whose imaginary part a cast would drop; strings;
/// objects, as from a list holding `None`, which a cast would make NaN).
fn real_array<'py>(obj: &Bound<'py, PyAny>, what: &str) -> PyResult<Bound<'py, PyAny>> {
    if obj.cast::<numpy::PyArrayDyn<f64>>().is_ok() {
        return Ok(obj.clone());
    }
    let py = obj.py();
    let np = py.import("numpy")?;
    let dense;
    let obj = if obj.hasattr("toarray")? && !obj.is_instance(&np.getattr("ndarray")?)? {
        dense = obj.call_method0("toarray")?;
        &dense
    } else {
        obj
    };
    let arr = np.call_method1("asarray", (obj,)).map_err(|e| {
        PyValueError::new_err(format!(
            "{what} must return an array of real numbers: {}",
            e.value(py)
        ))
    })?;
    if !real_kind(&arr)? {
        let dtype = arr.getattr("dtype")?.str()?.to_string();
        let t = obj
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_default();
        return Err(PyTypeError::new_err(format!(
            "{what} must return real numbers, got {t} of dtype {dtype}"
        )));
    }
    Ok(arr)
}

/// Copies a 1-d array of `n` floats returned by `what` into `out`.
fn vector_into(obj: &Bound<'_, PyAny>, out: &mut [f64], what: &str) -> PyResult<()> {
    let obj = &real_array(obj, what)?;
    let arr: PyArrayLike1<'_, f64, AllowTypeChange> = obj.extract().map_err(|_| {
        PyValueError::new_err(format!(
            "{what} must return a 1-d array of {} floats, got shape {}",
            out.len(),
            shape_of(obj)
        ))
    })?;
    let view = arr.as_array();
    if view.len() != out.len() {
        return Err(PyValueError::new_err(format!(
            "{what} must return a 1-d array of {} floats, got shape ({},)",
            out.len(),
            view.len()
        )));
    }
    for (o, v) in out.iter_mut().zip(view.iter()) {
        *o = *v;
    }
    Ok(())
}

/// Copies an `m × n` array returned by `what` into `out`.
fn matrix_into(obj: &Bound<'_, PyAny>, out: &mut DMatrix<f64>, what: &str) -> PyResult<()> {
    let (m, n) = out.shape();
    let obj = &real_array(obj, what)?;
    let bad = || {
        PyValueError::new_err(format!(
            "{what} must return a 2-d array of shape ({m}, {n}), got shape {}",
            shape_of(obj)
        ))
    };
    let arr: PyArrayLike2<'_, f64, AllowTypeChange> = obj.extract().map_err(|_| bad())?;
    let view = arr.as_array();
    if view.dim() != (m, n) {
        return Err(bad());
    }
    for ((i, j), v) in view.indexed_iter() {
        out[(i, j)] = *v;
    }
    Ok(())
}

/// A scalar objective made of the user's Python callables.
struct PyObjective {
    n: usize,
    fun: Py<PyAny>,
    args: Py<PyTuple>,
    jac: Jac,
    hess: Option<Py<PyAny>>,
    hessp: Option<Py<PyAny>>,
    calls: Calls,
    fd: Mutex<FdWork>,
    /// The box of a bounded run: finite differences stay inside it.
    bounds: Option<Box>,
}

impl PyObjective {
    /// `fun(x)`, the first element when `jac=True`; NaN after a failure.
    fn fun_value(&self, x: &[f64]) -> f64 {
        self.calls.eval(f64::NAN, |py| {
            self.calls.fun.fetch_add(1, Ordering::Relaxed);
            let out = call(py, &self.fun, x, None, &self.args)?;
            match self.jac {
                Jac::WithFun => scalar(&out.get_item(0)?, "fun (jac=True: the first of (f, g))"),
                _ => scalar(&out, "fun"),
            }
        })
    }
}

impl PyObjective {
    /// Finite differences of `fun` that stay inside the box `l ≤ x ≤ u` (as
    /// scipy's `approx_derivative` with bounds): the step `hᵢ` of `scheme`
    /// (`hesse::diff::Scheme::step`), central where `xᵢ ± hᵢ` are both
    /// inside, else one-sided towards the inside, shortened to the room
    /// there is; 0 for a fixed variable (`lᵢ = uᵢ`). `f(x)` is evaluated once
    /// (returned), then one or two points per variable.
    fn fd_gradient_in_box(&self, b: &Box, x: &[f64], g: &mut [f64], scheme: Scheme) -> f64 {
        let f0 = self.fun_value(x);
        let mut xp = x.to_vec();
        for i in 0..self.n {
            let (l, u, xi) = (b.lower[i], b.upper[i], x[i]);
            let h = scheme.step(xi);
            let (up, down) = (u - xi, xi - l);
            g[i] = if scheme == Scheme::Central && up >= h && down >= h {
                let hp = (xi + h) - xi;
                xp[i] = xi + hp;
                let fp = self.fun_value(&xp);
                xp[i] = xi - hp;
                let fm = self.fun_value(&xp);
                (fp - fm) / (2.0 * hp)
            } else if up <= 0.0 && down <= 0.0 {
                0.0
            } else {
                // Forward if there is room above (or more room above than below).
                let s = if up >= h || up >= down {
                    h.min(up)
                } else {
                    -h.min(down)
                };
                let s = (xi + s) - xi;
                xp[i] = xi + s;
                (self.fun_value(&xp) - f0) / s
            };
            xp[i] = xi;
        }
        f0
    }
}

/// Evaluates `fun` only (for finite differences of `f`).
struct ValueOnly<'a>(&'a PyObjective);

impl Objective for ValueOnly<'_> {
    fn dim(&self) -> usize {
        self.0.n
    }
    fn value(&self, x: &[f64]) -> f64 {
        self.0.fun_value(x)
    }
}

impl Objective for PyObjective {
    fn dim(&self) -> usize {
        self.n
    }
    fn value(&self, x: &[f64]) -> f64 {
        self.fun_value(x)
    }
}

impl Gradient for PyObjective {
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        let nan = |g: &mut [f64]| g.iter_mut().for_each(|v| *v = f64::NAN);
        let f = match &self.jac {
            Jac::Fd(scheme) if self.bounds.is_some() => {
                let b = self.bounds.as_ref().expect("checked");
                self.fd_gradient_in_box(b, x, g, *scheme)
            }
            Jac::Fd(scheme) => {
                let mut work = self.fd.lock().unwrap_or_else(|p| p.into_inner());
                fd_gradient(&ValueOnly(self), x, g, *scheme, &mut work).unwrap_or(f64::NAN)
            }
            Jac::WithFun => self.calls.eval(f64::NAN, |py| {
                self.calls.fun.fetch_add(1, Ordering::Relaxed);
                let out = call(py, &self.fun, x, None, &self.args)?;
                let what = "fun (jac=True: a pair (f, g))";
                // A tuple, or a list as scipy's MemoizeJac takes (fg[0], fg[1]).
                let pair = match (out.cast::<PyTuple>(), out.cast::<PyList>()) {
                    (Ok(t), _) if t.len() == 2 => Some((t.get_item(0)?, t.get_item(1)?)),
                    (_, Ok(l)) if l.len() == 2 => Some((l.get_item(0)?, l.get_item(1)?)),
                    _ => None,
                };
                let Some((f, g_obj)) = pair else {
                    return Err(PyValueError::new_err(
                        "with jac=True, fun must return a tuple (f, g)",
                    ));
                };
                vector_into(&g_obj, g, what)?;
                scalar(&f, what)
            }),
            Jac::Callable(jac) => {
                let f = self.fun_value(x);
                let ok = self.calls.eval(false, |py| {
                    self.calls.jac.fetch_add(1, Ordering::Relaxed);
                    let out = call(py, jac, x, None, &self.args)?;
                    vector_into(&out, g, "jac")?;
                    Ok(true)
                });
                if ok { f } else { f64::NAN }
            }
        };
        if self.calls.failed() {
            nan(g);
            return f64::NAN;
        }
        f
    }
}

impl Hessian for PyObjective {
    fn hessian(&self, x: &[f64], h: &mut DMatrix<f64>) {
        let ok = if let Some(hess) = &self.hess {
            self.calls.eval(false, |py| {
                self.calls.hess.fetch_add(1, Ordering::Relaxed);
                let out = call(py, hess, x, None, &self.args)?;
                matrix_into(&out, h, "hess")?;
                Ok(true)
            })
        } else if self.hessp.is_some() {
            // Column j is H e_j: n products.
            let mut e = vec![0.0; self.n];
            let mut col = vec![0.0; self.n];
            for j in 0..self.n {
                e[j] = 1.0;
                self.hess_vec(x, &e, &mut col);
                e[j] = 0.0;
                h.column_mut(j).copy_from_slice(&col);
            }
            !self.calls.failed()
        } else {
            let mut work = FdWork::new(self.n, 0);
            fd_hessian(self, x, h, Scheme::Central, &mut work).is_ok()
        };
        if !ok || self.calls.failed() {
            h.fill(f64::NAN);
        }
    }
}

impl HessVec for PyObjective {
    fn hess_vec(&self, x: &[f64], v: &[f64], hv: &mut [f64]) {
        let ok = if let Some(hessp) = &self.hessp {
            self.calls.eval(false, |py| {
                self.calls.hessp.fetch_add(1, Ordering::Relaxed);
                let out = call(py, hessp, x, Some(v), &self.args)?;
                vector_into(&out, hv, "hessp")?;
                Ok(true)
            })
        } else if self.hess.is_some() {
            let mut h = DMatrix::zeros(self.n, self.n);
            self.hessian(x, &mut h);
            let prod = &h * nalgebra::DVector::from_column_slice(v);
            hv.copy_from_slice(prod.as_slice());
            true
        } else {
            let mut work = FdWork::new(self.n, 0);
            fd_hess_vec(self, x, v, hv, Scheme::Central, &mut work).is_ok()
        };
        if !ok || self.calls.failed() {
            hv.iter_mut().for_each(|e| *e = f64::NAN);
        }
    }
}

/// Stopping criteria and method options, with hesse's names (the wrapper maps
/// scipy's onto these).
#[derive(Default)]
struct Options {
    stop: Stop,
    memory: Option<usize>,
}

/// The largest L-BFGS memory accepted. L-BFGS and L-BFGS-B allocate their
/// history for the whole memory at the start, including `(m + 1)²` matrices:
/// `maxcor = 10**6` asked for 8 TB and aborted the Python process (an
/// allocation failure is not an exception). 1000 pairs is 16 MB, far above
/// scipy's default of 10 and any memory that helps.
const MAX_MEMORY: usize = 1000;

/// The largest `time_limit` accepted, in seconds (about 31 700 years; a
/// `Duration` holds up to 1.8e19 s).
const MAX_TIME_LIMIT: f64 = 1e12;

fn options_from(dict: Option<&Bound<'_, PyDict>>) -> PyResult<Options> {
    let mut o = Options::default();
    let Some(dict) = dict else { return Ok(o) };
    for (k, v) in dict.iter() {
        let key: String = k.extract()?;
        let s = &mut o.stop;
        match key.as_str() {
            "gtol" => s.g_abs = v.extract()?,
            "gtol_rel" => s.g_rel = v.extract()?,
            "ftol" => s.f_rel = v.extract()?,
            "ftol_abs" => s.f_abs = v.extract()?,
            "xtol" => s.x_rel = v.extract()?,
            "xtol_abs" => s.x_abs = v.extract()?,
            "max_iter" => s.max_iter = v.extract()?,
            "max_evals" => s.max_evals = Some(v.extract()?),
            "time_limit" => {
                let t: f64 = v.extract()?;
                // `Duration::from_secs_f64` panics on NaN, negatives and
                // above about 1.8e19 s.
                if !(0.0..=MAX_TIME_LIMIT).contains(&t) {
                    return Err(PyValueError::new_err(format!(
                        "option time_limit = {t:?} must be between 0 and {MAX_TIME_LIMIT:e} seconds"
                    )));
                }
                s.time_limit = Some(Duration::from_secs_f64(t));
            }
            "memory" => {
                let m: usize = v.extract()?;
                if !(1..=MAX_MEMORY).contains(&m) {
                    return Err(PyValueError::new_err(format!(
                        "option memory = {m} must be between 1 and {MAX_MEMORY}"
                    )));
                }
                o.memory = Some(m);
            }
            other => {
                return Err(PyValueError::new_err(format!(
                    "internal: unknown option {other}"
                )));
            }
        }
    }
    Ok(o)
}

fn value_error(e: Error) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// What a finished run hands back besides its report.
struct Outcome {
    report: Report,
    g: Vec<f64>,
}

/// Runs `solver` with the observer `obs`, to the end.
fn drive<'p, M, P>(
    solver: M,
    problem: &'p P,
    x0: &[f64],
    obs: impl FnMut(&State) -> Control + 'p,
) -> Result<Outcome, Error>
where
    M: Minimizer<&'p P>,
    P: ?Sized,
{
    let mut run = Run::new(solver, problem, x0)?.with_observer(obs);
    while run.step().is_none() {}
    Ok(Outcome {
        report: run.report(),
        g: run.state().g.clone(),
    })
}

/// The methods of `hesse minimize`, by their command-line names, and what
/// each needs.
const METHODS: &[&str] = &[
    "gd",
    "bfgs",
    "lbfgs",
    "cg-fr",
    "cg-pr",
    "cg-pr+",
    "cg-hs",
    "cg-dy",
    "cg-hz",
    "newton",
    "newton-tr",
    "newton-cg",
    "newton-cg-tr",
    "saddle-free-newton",
    "lbfgsb",
    "tron",
];

/// The methods of [`METHODS`] that take bounds.
const BOUNDED: &[&str] = &["lbfgsb", "tron"];

/// A box `lower ≤ x ≤ upper` as the caller gave it (±∞ for an open side).
struct Box {
    lower: Vec<f64>,
    upper: Vec<f64>,
}

/// Runs the method `name` (a command-line name) on `p`.
fn run_method<'p>(
    name: &str,
    p: &'p PyObjective,
    x0: &[f64],
    o: &Options,
    bounds: Option<&Box>,
    obs: impl FnMut(&State) -> Control + Clone + 'p,
) -> Result<Outcome, Error> {
    if bounds.is_some() && !BOUNDED.contains(&name) {
        return Err(Error::InvalidProblem(if BOUNDED.is_empty() {
            format!("method '{name}' does not take bounds, and no bounded method is available yet")
        } else {
            format!(
                "method '{name}' does not take bounds; methods that do: {}",
                BOUNDED.join(", ")
            )
        }));
    }
    let stop = o.stop.clone();
    let cg = |beta: Beta| {
        drive(
            NonlinearCg::new(beta).with_stop(stop.clone()),
            p,
            x0,
            obs.clone(),
        )
    };
    match name {
        "gd" => drive(GradientDescent::default().with_stop(stop), p, x0, obs),
        "bfgs" => drive(Bfgs::default().with_stop(stop), p, x0, obs),
        "lbfgs" => {
            let mut m = Lbfgs::default();
            if let Some(k) = o.memory {
                m = m.with_memory(k);
            }
            drive(m.with_stop(stop), p, x0, obs)
        }
        "cg-fr" => cg(Beta::FletcherReeves),
        "cg-pr" => cg(Beta::PolakRibiere),
        "cg-pr+" => cg(Beta::PolakRibierePlus),
        "cg-hs" => cg(Beta::HestenesStiefel),
        "cg-dy" => cg(Beta::DaiYuan),
        "cg-hz" => cg(Beta::HagerZhang),
        "newton" => drive(Newton::default().with_stop(stop), p, x0, obs),
        "newton-tr" => drive(NewtonTrustRegion::default().with_stop(stop), p, x0, obs),
        "newton-cg" => drive(NewtonCg::default().with_stop(stop), p, x0, obs),
        "newton-cg-tr" => drive(NewtonCg::trust_region().with_stop(stop), p, x0, obs),
        // As the command line: dense eigen up to n = 500, Lanczos (k = 20) above.
        "saddle-free-newton" if x0.len() <= 500 => {
            drive(SaddleFreeNewton::default().with_stop(stop), p, x0, obs)
        }
        "saddle-free-newton" => drive(SaddleFreeNewton::krylov(20).with_stop(stop), p, x0, obs),
        "lbfgsb" => {
            let mut m = LbfgsB::default();
            if let Some(k) = o.memory {
                m = m.with_memory(k);
            }
            if let Some(b) = bounds {
                m = m.with_bounds(Bounds::new(b.lower.clone(), b.upper.clone())?);
            }
            drive(m.with_stop(stop), p, x0, obs)
        }
        "tron" => {
            let mut m = Tron::default();
            if let Some(b) = bounds {
                m = m.with_bounds(Bounds::new(b.lower.clone(), b.upper.clone())?);
            }
            drive(m.with_stop(stop), p, x0, obs)
        }
        other => Err(Error::InvalidProblem(format!(
            "unknown method '{other}' (known: {})",
            METHODS.join(", ")
        ))),
    }
}

/// The observer: the user's callback after each iteration (its truthy
/// return stops the run), and a stop as soon as a call failed.
fn observer<'a>(
    calls: &'a Calls,
    callback: Option<&'a Py<PyAny>>,
) -> impl FnMut(&State) -> Control + Clone + 'a {
    observe(calls, callback, |cb, state| {
        let py = cb.py();
        cb.call1((array(py, &state.x), state.f, state.iteration))?
            .is_truthy()
    })
}

/// An observer that stops as soon as a call failed and otherwise, given a
/// callback, calls it through `call` (with Python attached, signals and the
/// deadline checked by [`Calls::eval`]); a true result stops the run.
fn observe<'a>(
    calls: &'a Calls,
    callback: Option<&'a Py<PyAny>>,
    call: impl Fn(&Bound<'_, PyAny>, &State) -> PyResult<bool> + Clone + 'a,
) -> impl FnMut(&State) -> Control + Clone + 'a {
    move |state: &State| {
        if calls.failed() {
            return Control::Stop;
        }
        let Some(cb) = callback else {
            return Control::Continue;
        };
        let stop = calls.eval(false, |py| call(cb.bind(py), state));
        if stop || calls.failed() {
            Control::Stop
        } else {
            Control::Continue
        }
    }
}

/// MemoryError when the dense `n × n` matrices `method` works on cannot be
/// allocated. Newton and Newton trust region keep the Hessian and its
/// factor (about three matrices with the work space), and a `hess` callable
/// under a product-based method makes one matrix per product. A failed
/// allocation in Rust aborts the process: `newton` on n = 60 000 asked for
/// 28.8 GB and killed the interpreter, where scipy raises MemoryError. The
/// probe reserves (without touching) the total once and frees it.
fn check_dense_memory(method: &str, n: usize, has_hess: bool) -> PyResult<()> {
    let matrices = match method {
        "newton" | "newton-tr" => 3,
        "saddle-free-newton" if n <= 500 => 3,
        _ if has_hess => 1,
        _ => return Ok(()),
    };
    if can_allocate(matrices, n, n) {
        return Ok(());
    }
    let gb = (matrices as f64) * (n as f64) * (n as f64) * 8.0 / 1e9;
    let what = if has_hess && matrices == 1 {
        format!("a dense {n} x {n} matrix for each product with hess")
    } else {
        format!("{matrices} dense {n} x {n} matrices")
    };
    Err(pyo3::exceptions::PyMemoryError::new_err(format!(
        "method '{method}' needs {what} ({gb:.1} GB), which cannot be allocated; for large n \
         use Hessian-vector products (hessp with newton-cg, newton-cg-tr or tron) or lbfgs"
    )))
}

/// Whether `count` matrices of `rows × cols` floats could be allocated:
/// reserves the total once (untouched pages cost nothing) and frees it.
fn can_allocate(count: usize, rows: usize, cols: usize) -> bool {
    let entries = rows.checked_mul(cols).and_then(|k| k.checked_mul(count));
    entries.is_some_and(|k| Vec::<f64>::new().try_reserve_exact(k).is_ok())
}

/// Why the run ended: the report's reason, or the time limit when the
/// binding refused a call into Python past the deadline (the library saw
/// NaN from that evaluation and ended on it, or on the observer's stop).
fn ended(report: &Report, calls: &Calls) -> Termination {
    if calls.timed_out() {
        Termination::TimeLimit
    } else {
        report.termination
    }
}

/// The core of `hesse.minimize`: see the wrapper's docstring. Returns a dict
/// with hesse's names; the wrapper makes it an `OptimizeResult`.
#[pyfunction]
#[pyo3(signature = (fun, x0, args, method, jac_mode, jac=None, hess=None, hessp=None, options=None, callback=None, lower=None, upper=None))]
#[allow(clippy::too_many_arguments)]
fn minimize<'py>(
    py: Python<'py>,
    fun: Py<PyAny>,
    x0: Vec<f64>,
    args: Py<PyTuple>,
    method: &str,
    jac_mode: &str,
    jac: Option<Py<PyAny>>,
    hess: Option<Py<PyAny>>,
    hessp: Option<Py<PyAny>>,
    options: Option<&Bound<'py, PyDict>>,
    callback: Option<Py<PyAny>>,
    lower: Option<Vec<f64>>,
    upper: Option<Vec<f64>>,
) -> PyResult<Bound<'py, PyDict>> {
    let options = options_from(options)?;
    let bounds = match (lower, upper) {
        (None, None) => None,
        (lower, upper) => {
            let n = x0.len();
            let b = Box {
                lower: lower.unwrap_or_else(|| vec![f64::NEG_INFINITY; n]),
                upper: upper.unwrap_or_else(|| vec![f64::INFINITY; n]),
            };
            for (what, v) in [("lower", &b.lower), ("upper", &b.upper)] {
                if v.len() != n {
                    return Err(PyValueError::new_err(format!(
                        "bounds: {what} has {} entries, x0 has {n}",
                        v.len()
                    )));
                }
            }
            Some(b)
        }
    };
    let jac = match (jac_mode, jac) {
        ("fun", _) => Jac::WithFun,
        ("callable", Some(j)) => Jac::Callable(j),
        ("2-point", _) => Jac::Fd(Scheme::Forward),
        ("3-point", _) => Jac::Fd(Scheme::Central),
        (m, _) => return Err(PyValueError::new_err(format!("internal: jac_mode {m}"))),
    };
    let n = x0.len();
    check_dense_memory(method, n, hess.is_some())?;
    let problem = PyObjective {
        n,
        fun,
        args,
        jac,
        hess,
        hessp,
        calls: Calls::with_time_limit(options.stop.time_limit),
        fd: Mutex::new(FdWork::new(n, 0)),
        bounds,
    };
    let outcome = py.detach(|| {
        let obs = observer(&problem.calls, callback.as_ref());
        run_method(
            method,
            &problem,
            &x0,
            &options,
            problem.bounds.as_ref(),
            obs,
        )
    });
    if let Some(e) = problem.calls.take_error() {
        return Err(e);
    }
    let Outcome { report, g } = outcome.map_err(value_error)?;
    let d = PyDict::new(py);
    d.set_item("x", array(py, &report.x))?;
    d.set_item("fun", report.f)?;
    d.set_item("jac", array(py, &g))?;
    d.set_item("nit", report.iterations)?;
    d.set_item("nfev", problem.calls.fun.load(Ordering::Relaxed))?;
    d.set_item("njev", report.evals.g)?;
    d.set_item("nhev", report.evals.h)?;
    d.set_item("hv_evals", report.evals.hv)?;
    let termination = ended(&report, &problem.calls);
    d.set_item("termination", termination.as_str())?;
    d.set_item("message", termination.message())?;
    d.set_item("success", termination.converged())?;
    d.set_item("method", report.method.as_str())?;
    d.set_item("grad_norm", report.grad_norm)?;
    d.set_item("seconds", report.elapsed.as_secs_f64())?;
    if let Some(active) = &report.active {
        let a: Vec<(usize, &str)> = active.iter().map(|(i, s)| (*i, s.as_str())).collect();
        d.set_item("active", a)?;
        d.set_item("projected_start", report.projected_start)?;
    }
    Ok(d)
}

/// How the Jacobian of the residuals is obtained.
enum ResJac {
    Callable(Py<PyAny>),
    Fd(Scheme),
}

/// Residuals `r(x) ∈ ℝᵐ` made of the user's Python callables.
struct PyResiduals {
    n: usize,
    m: usize,
    fun: Py<PyAny>,
    args: Py<PyTuple>,
    jac: ResJac,
    calls: Calls,
    /// Scratch for differences: the perturbed point, r(x + h), r(x − h) or r(x).
    fd: Mutex<(Vec<f64>, Vec<f64>, Vec<f64>)>,
    /// The box `(lower, upper)` that difference steps must not leave.
    bounds: Option<(Vec<f64>, Vec<f64>)>,
    /// scipy's `diff_step`: relative steps `h_j = diff_step_j |x_j|` in
    /// place of the default `s |x_j|`.
    diff_step: Option<Vec<f64>>,
}

impl Residuals for PyResiduals {
    fn num_params(&self) -> usize {
        self.n
    }
    fn num_residuals(&self) -> usize {
        self.m
    }
    fn residuals(&self, x: &[f64], r: &mut [f64]) {
        let ok = self.calls.eval(false, |py| {
            self.calls.fun.fetch_add(1, Ordering::Relaxed);
            let out = call(py, &self.fun, x, None, &self.args)?;
            vector_into(&out, r, "fun")?;
            Ok(true)
        });
        if !ok {
            r.iter_mut().for_each(|v| *v = f64::NAN);
        }
    }
    fn jacobian(&self, x: &[f64], jac: &mut DMatrix<f64>) {
        let ok = match &self.jac {
            ResJac::Callable(j) => self.calls.eval(false, |py| {
                self.calls.jac.fetch_add(1, Ordering::Relaxed);
                let out = call(py, j, x, None, &self.args)?;
                matrix_into(&out, jac, "jac")?;
                Ok(true)
            }),
            ResJac::Fd(scheme) => self.fd_jacobian(x, jac, *scheme),
        };
        if !ok || self.calls.failed() {
            jac.fill(f64::NAN);
        }
    }
}

impl PyResiduals {
    /// The difference step for `x_j` before bounds: `s |x_j|` (`s` where
    /// `x_j = 0`), or scipy's `diff_step_j |x_j|` where that moves `x_j`.
    fn fd_step(&self, x: &[f64], j: usize, s: f64) -> f64 {
        let default = if x[j] == 0.0 { s } else { s * x[j].abs() };
        match &self.diff_step {
            Some(d) if (x[j] + d[j] * x[j].abs()) - x[j] != 0.0 => d[j] * x[j].abs(),
            _ => default,
        }
    }

    /// The Jacobian by differences with MINPACK `lmdif`'s relative steps,
    /// `h_j = s |x_j|` (`s` itself where `x_j = 0`), `s = √ε` forward or
    /// `ε^{1/3}` central: unlike `hesse::diff`'s `s max(1, |x_j|)`, the step
    /// stays relative for parameters far below 1 (NIST's Misra1a has
    /// `b2 ≈ 5.5e-4`, where an absolute step of `6e-6` costs 5 digits of the
    /// covariance). scipy's `diff_step` replaces `s` by `diff_step_j`; where
    /// that step vanishes in `x_j + h_j` (`x_j = 0`, or a step below the
    /// rounding of `x_j`) the default step is taken, as scipy's
    /// `approx_derivative` does. Returns false when a call failed.
    fn fd_jacobian(&self, x: &[f64], jac: &mut DMatrix<f64>, scheme: Scheme) -> bool {
        let (m, n) = (self.m, self.n);
        let mut work = self.fd.lock().unwrap_or_else(|p| p.into_inner());
        let (xp, rp, rm) = &mut *work;
        xp.clear();
        xp.extend_from_slice(x);
        rp.resize(m, 0.0);
        rm.resize(m, 0.0);
        let s = scheme.relative_step();
        // r(x), needed by forward differences and by one-sided steps at a
        // bound; evaluated once, at the first column that needs it.
        let mut r0: Option<Vec<f64>> = None;
        if scheme == Scheme::Forward {
            let mut r = vec![0.0; m];
            self.residuals(x, &mut r);
            r0 = Some(r);
        }
        for j in 0..n {
            let h0 = self.fd_step(x, j, s);
            let (lo, hi) = match &self.bounds {
                Some((l, u)) => (l[j], u[j]),
                None => (f64::NEG_INFINITY, f64::INFINITY),
            };
            let fits_up = x[j] + h0 <= hi;
            let fits_down = x[j] - h0 >= lo;
            let central = scheme == Scheme::Central && fits_up && fits_down;
            // Inside the box: forward where the step up fits, else backward
            // (a box narrower than the step uses its wider side).
            let sign = if fits_up || (!fits_down && hi - x[j] >= x[j] - lo) {
                1.0
            } else {
                -1.0
            };
            // The step actually taken, so that the divisor is exact; 0 for a
            // variable fixed by its bounds (lo = hi), which never moves.
            let h = (x[j] + sign * h0).clamp(lo, hi) - x[j];
            if h == 0.0 {
                jac.column_mut(j).fill(0.0);
                continue;
            }
            xp[j] = x[j] + h;
            self.residuals(xp, rp);
            let (base, width): (&[f64], f64) = if central {
                xp[j] = x[j] - h;
                self.residuals(xp, rm);
                (rm, 2.0 * h)
            } else {
                let base = r0.get_or_insert_with(|| {
                    let mut r = vec![0.0; m];
                    self.residuals(x, &mut r);
                    r
                });
                (base, h)
            };
            xp[j] = x[j];
            for i in 0..m {
                jac[(i, j)] = (rp[i] - base[i]) / width;
            }
        }
        !self.calls.failed()
    }
}

/// `x_scale` and `diff_step`, when given, have one entry per parameter
/// (the wrapper broadcasts them; a mismatch is the wrapper's bug).
fn check_per_parameter(
    n: usize,
    x_scale: &Option<Vec<f64>>,
    diff_step: &Option<Vec<f64>>,
) -> PyResult<()> {
    for (what, v) in [("x_scale", x_scale), ("diff_step", diff_step)] {
        if let Some(v) = v
            && v.len() != n
        {
            return Err(PyValueError::new_err(format!(
                "internal: {what} has {} entries, x0 has {n}",
                v.len()
            )));
        }
    }
    Ok(())
}

/// MINPACK's tests (scipy's `ftol`, `xtol`, `gtol`), `max_nfev`, the
/// iteration cap (lmder's `100 (n + 1)` by default) and the time limit, on
/// a dense or sparse Levenberg-Marquardt builder (the same `with_*` names).
macro_rules! minpack_limits {
    ($lm:expr, $ftol:expr, $xtol:expr, $gtol:expr, $max_nfev:expr, $max_iter:expr, $n:expr, $time_limit:expr) => {{
        let mut lm = $lm;
        if let Some(t) = $ftol {
            lm = lm.with_minpack_ftol(t);
        }
        if let Some(t) = $xtol {
            lm = lm.with_minpack_xtol(t);
        }
        if let Some(t) = $gtol {
            lm = lm.with_minpack_gtol(t);
        }
        if let Some(k) = $max_nfev {
            lm = lm.with_max_evals(k);
        }
        lm = lm.with_max_iter($max_iter.unwrap_or(100 * ($n as u64 + 1)).max(1));
        if let Some(t) = $time_limit {
            lm = lm.with_time_limit(t);
        }
        lm
    }};
}

/// The core of `hesse.least_squares` and `hesse.curve_fit`:
/// Levenberg-Marquardt (MINPACK's lmder) on `fun(x, *args) ∈ ℝᵐ`. Returns a
/// dict with the final residuals, Jacobian and, when `m > n`, the covariance
/// `s² (JᵀJ)⁻¹` and `s²`.
#[pyfunction]
#[pyo3(signature = (fun, x0, m, args, jac_mode, jac=None, ftol=None, xtol=None, gtol=None, max_nfev=None, max_iter=None, loss="linear", f_scale=1.0, lower=None, upper=None, time_limit=None, x_scale=None, diff_step=None, step_bound=None, callback=None))]
#[allow(clippy::too_many_arguments)]
fn least_squares<'py>(
    py: Python<'py>,
    fun: Py<PyAny>,
    x0: Vec<f64>,
    m: usize,
    args: Py<PyTuple>,
    jac_mode: &str,
    jac: Option<Py<PyAny>>,
    ftol: Option<f64>,
    xtol: Option<f64>,
    gtol: Option<f64>,
    max_nfev: Option<u64>,
    max_iter: Option<u64>,
    loss: &str,
    f_scale: f64,
    lower: Option<Vec<f64>>,
    upper: Option<Vec<f64>>,
    time_limit: Option<f64>,
    x_scale: Option<Vec<f64>>,
    diff_step: Option<Vec<f64>>,
    step_bound: Option<f64>,
    callback: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let n = x0.len();
    check_per_parameter(n, &x_scale, &diff_step)?;
    // The Jacobian, its QR factor, and the final J and its statistics: as
    // for the dense minimizers, a failed allocation would abort.
    if !can_allocate(4, m, n) {
        let gb = 4.0 * (m as f64) * (n as f64) * 8.0 / 1e9;
        return Err(pyo3::exceptions::PyMemoryError::new_err(format!(
            "least_squares needs 4 dense {m} x {n} matrices (the Jacobian and its factors, \
             {gb:.1} GB), which cannot be allocated"
        )));
    }
    let time_limit = match time_limit {
        None => None,
        Some(t) if (0.0..=MAX_TIME_LIMIT).contains(&t) => Some(Duration::from_secs_f64(t)),
        Some(t) => {
            return Err(PyValueError::new_err(format!(
                "time_limit = {t:?} must be between 0 and {MAX_TIME_LIMIT:e} seconds"
            )));
        }
    };
    let loss = match loss {
        "linear" => RobustLoss::Linear,
        "soft_l1" => RobustLoss::SoftL1,
        "huber" => RobustLoss::Huber,
        "cauchy" => RobustLoss::Cauchy,
        "arctan" => RobustLoss::Arctan,
        other => return Err(PyValueError::new_err(format!("loss {other:?} unknown"))),
    };
    let bounds = match (lower, upper) {
        (Some(l), Some(u)) if l.len() == n && u.len() == n => Some((l, u)),
        (None, None) => None,
        _ => {
            return Err(PyValueError::new_err(
                "internal: lower and upper must both have n entries",
            ));
        }
    };
    let jac = match (jac_mode, jac) {
        ("callable", Some(j)) => ResJac::Callable(j),
        ("2-point", _) => ResJac::Fd(Scheme::Forward),
        ("3-point", _) => ResJac::Fd(Scheme::Central),
        (m, _) => return Err(PyValueError::new_err(format!("internal: jac_mode {m}"))),
    };
    let problem = PyResiduals {
        n,
        m,
        fun,
        args,
        jac,
        calls: Calls::with_time_limit(time_limit),
        fd: Mutex::new((Vec::new(), Vec::new(), Vec::new())),
        bounds: bounds.clone(),
        diff_step,
    };
    let mut lm = LevenbergMarquardt::default();
    // scipy's x_scale: MINPACK's mode 2 with diag = 1 / x_scale; None is
    // x_scale='jac', mode 1 (the library's default, Scaling::ColumnNorms).
    if let Some(s) = x_scale {
        lm = lm.with_scaling(Scaling::Diagonal(s.iter().map(|v| 1.0 / v).collect()));
    }
    if let Some(factor) = step_bound {
        lm = lm.with_step_bound(factor);
    }
    if loss != RobustLoss::Linear {
        lm = lm.with_loss(loss).with_f_scale(f_scale);
    }
    if let Some((l, u)) = &bounds {
        lm = lm.with_bounds(l.clone(), u.clone());
    }
    // scipy's least_squares ftol/xtol/gtol are MINPACK-like tests.
    let lm = minpack_limits!(lm, ftol, xtol, gtol, max_nfev, max_iter, n, time_limit);
    type Final = (Vec<f64>, DMatrix<f64>, Option<FitStatistics>);
    let outcome: Result<(Outcome, Final), Error> = py.detach(|| {
        let obs = least_squares_observer(&problem.calls, callback.as_ref());
        let out = drive(lm, &problem, &x0, obs)?;
        let x = &out.report.x;
        let mut r = vec![0.0; m];
        let mut j = DMatrix::zeros(m, n);
        let mut stats = None;
        problem.calls.lift_deadline();
        if !problem.calls.failed() {
            problem.residuals(x, &mut r);
            problem.jacobian(x, &mut j);
            if m > n && !problem.calls.failed() {
                stats = if loss == RobustLoss::Linear {
                    fit_statistics(&Given(&r, &j), x).ok()
                } else {
                    fit_statistics_with_loss(&Given(&r, &j), x, loss, f_scale).ok()
                };
            }
        }
        Ok((out, (r, j, stats)))
    });
    if let Some(e) = problem.calls.take_error() {
        return Err(e);
    }
    let (Outcome { report, g }, (r, j, stats)) = outcome.map_err(value_error)?;
    let d = PyDict::new(py);
    d.set_item("x", array(py, &report.x))?;
    // scipy's cost: ½ C² Σ ρ((rᵢ/C)²), ½‖r‖² for the linear loss.
    d.set_item("cost", 0.5 * loss.objective(&r, f_scale))?;
    if let Some((l, u)) = &bounds {
        // scipy's active_mask: −1 on the lower bound, 1 on the upper, 0 free.
        let mask: Vec<i64> = (0..n)
            .map(|i| {
                let xi = report.x[i];
                if xi <= l[i] {
                    -1
                } else if xi >= u[i] {
                    1
                } else {
                    0
                }
            })
            .collect();
        d.set_item("active_mask", mask)?;
    }
    d.set_item("fun", array(py, &r))?;
    let rows: Vec<Vec<f64>> = (0..m).map(|i| j.row(i).iter().copied().collect()).collect();
    d.set_item(
        "jac",
        PyArray2::from_vec2(py, &rows).map_err(|e| PyValueError::new_err(e.to_string()))?,
    )?;
    // scipy's grad is Jᵀr (of ½‖r‖²); hesse's g is 2Jᵀr.
    let grad: Vec<f64> = g.iter().map(|v| 0.5 * v).collect();
    d.set_item("grad", array(py, &grad))?;
    d.set_item("nit", report.iterations)?;
    d.set_item("nfev", problem.calls.fun.load(Ordering::Relaxed))?;
    d.set_item("njev", report.evals.g)?;
    let termination = ended(&report, &problem.calls);
    d.set_item("termination", termination.as_str())?;
    d.set_item("message", termination.message())?;
    d.set_item("success", termination.converged())?;
    if let Some(s) = stats {
        d.set_item(
            "covariance",
            PyArray2::from_vec2(py, &s.covariance)
                .map_err(|e| PyValueError::new_err(e.to_string()))?,
        )?;
        d.set_item("residual_variance", s.residual_std * s.residual_std)?;
        d.set_item("rank", s.rank)?;
    }
    Ok(d)
}

/// Residuals whose Jacobian is sparse (scipy's `jac_sparsity`), for
/// [`SparseLevenbergMarquardt`]: the pattern in CSC form, and the values
/// from the user's callable (the wrapper reads them off the pattern) or by
/// differences over groups of structurally orthogonal columns (Curtis,
/// Powell & Reid 1974): columns of one group share no row, so one
/// evaluation of `fun` at `x + Σ_{j ∈ group} h_j e_j` (two for central
/// differences) gives all their entries.
struct PySparseResiduals {
    /// `fun`, the counters, the difference steps and scratch (no bounds).
    base: PyResiduals,
    pattern: SparsityPattern,
    /// The columns of each group (a partition of `0..n`).
    groups: Vec<Vec<usize>>,
}

impl SparseResiduals for PySparseResiduals {
    fn num_params(&self) -> usize {
        self.base.n
    }
    fn num_residuals(&self) -> usize {
        self.base.m
    }
    fn residuals(&self, x: &[f64], r: &mut [f64]) {
        self.base.residuals(x, r);
    }
    fn jacobian_pattern(&self) -> Result<SparsityPattern, Error> {
        Ok(self.pattern.clone())
    }
    fn jacobian_values(&self, x: &[f64], values: &mut [f64]) {
        let ok = match &self.base.jac {
            ResJac::Callable(j) => self.base.calls.eval(false, |py| {
                self.base.calls.jac.fetch_add(1, Ordering::Relaxed);
                let out = call(py, j, x, None, &self.base.args)?;
                vector_into(&out, values, "jac")?;
                Ok(true)
            }),
            ResJac::Fd(scheme) => self.fd_values(x, values, *scheme),
        };
        if !ok || self.base.calls.failed() {
            values.fill(f64::NAN);
        }
    }
}

impl PySparseResiduals {
    /// The Jacobian's values on the pattern by grouped differences, with
    /// [`PyResiduals::fd_step`]'s steps. Returns false when a call failed.
    fn fd_values(&self, x: &[f64], values: &mut [f64], scheme: Scheme) -> bool {
        let (m, n) = (self.base.m, self.base.n);
        let s = scheme.relative_step();
        // The steps actually taken, so that the divisors are exact.
        let h: Vec<f64> = (0..n)
            .map(|j| (x[j] + self.base.fd_step(x, j, s)) - x[j])
            .collect();
        let mut r0 = vec![0.0; m];
        if scheme == Scheme::Forward {
            self.base.residuals(x, &mut r0);
        }
        let mut xp = x.to_vec();
        let (mut rp, mut rm) = (vec![0.0; m], vec![0.0; m]);
        let (col_ptr, row_idx) = (self.pattern.col_ptr(), self.pattern.row_idx());
        for group in &self.groups {
            for &j in group {
                xp[j] = x[j] + h[j];
            }
            self.base.residuals(&xp, &mut rp);
            if scheme == Scheme::Central {
                for &j in group {
                    xp[j] = x[j] - h[j];
                }
                self.base.residuals(&xp, &mut rm);
            }
            for &j in group {
                xp[j] = x[j];
                for k in col_ptr[j]..col_ptr[j + 1] {
                    let i = row_idx[k];
                    values[k] = match scheme {
                        Scheme::Central => (rp[i] - rm[i]) / (2.0 * h[j]),
                        Scheme::Forward => (rp[i] - r0[i]) / h[j],
                    };
                }
            }
        }
        !self.base.calls.failed()
    }
}

/// The core of `hesse.least_squares` with `jac_sparsity`:
/// [`SparseLevenbergMarquardt`] on `fun(x, *args) ∈ ℝᵐ` with the Jacobian's
/// pattern `(col_ptr, row_idx)` (CSC) and, for differences, the column
/// group of each column. `jac`, if given, returns the values on the
/// pattern. Returns a dict as [`least_squares`]'s, with the Jacobian's
/// final values (`jac_values`) in place of `jac` and no covariance.
#[pyfunction]
#[pyo3(signature = (fun, x0, m, args, jac_mode, col_ptr, row_idx, groups=None, jac=None, ftol=None, xtol=None, gtol=None, max_nfev=None, max_iter=None, time_limit=None, x_scale=None, diff_step=None, callback=None))]
#[allow(clippy::too_many_arguments)]
fn sparse_least_squares<'py>(
    py: Python<'py>,
    fun: Py<PyAny>,
    x0: Vec<f64>,
    m: usize,
    args: Py<PyTuple>,
    jac_mode: &str,
    col_ptr: Vec<usize>,
    row_idx: Vec<usize>,
    groups: Option<Vec<usize>>,
    jac: Option<Py<PyAny>>,
    ftol: Option<f64>,
    xtol: Option<f64>,
    gtol: Option<f64>,
    max_nfev: Option<u64>,
    max_iter: Option<u64>,
    time_limit: Option<f64>,
    x_scale: Option<Vec<f64>>,
    diff_step: Option<Vec<f64>>,
    callback: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let n = x0.len();
    check_per_parameter(n, &x_scale, &diff_step)?;
    let pattern = SparsityPattern::new(m, n, col_ptr, row_idx).map_err(value_error)?;
    let time_limit = match time_limit {
        None => None,
        Some(t) if (0.0..=MAX_TIME_LIMIT).contains(&t) => Some(Duration::from_secs_f64(t)),
        Some(t) => {
            return Err(PyValueError::new_err(format!(
                "time_limit = {t:?} must be between 0 and {MAX_TIME_LIMIT:e} seconds"
            )));
        }
    };
    let (jac, groups) = match (jac_mode, jac, groups) {
        ("callable", Some(j), _) => (ResJac::Callable(j), Vec::new()),
        ("2-point" | "3-point", _, Some(g)) if g.len() == n => {
            let count = g.iter().max().map_or(0, |&k| k + 1);
            let mut columns = vec![Vec::new(); count];
            for (j, &k) in g.iter().enumerate() {
                columns[k].push(j);
            }
            let scheme = if jac_mode == "2-point" {
                Scheme::Forward
            } else {
                Scheme::Central
            };
            (ResJac::Fd(scheme), columns)
        }
        (mode, _, _) => {
            return Err(PyValueError::new_err(format!(
                "internal: jac_mode {mode} without its callable or column groups"
            )));
        }
    };
    let problem = PySparseResiduals {
        base: PyResiduals {
            n,
            m,
            fun,
            args,
            jac,
            calls: Calls::with_time_limit(time_limit),
            fd: Mutex::new((Vec::new(), Vec::new(), Vec::new())),
            bounds: None,
            diff_step,
        },
        pattern,
        groups,
    };
    let mut lm = SparseLevenbergMarquardt::default();
    if let Some(s) = x_scale {
        lm = lm.with_scaling(Scaling::Diagonal(s.iter().map(|v| 1.0 / v).collect()));
    }
    let lm = minpack_limits!(lm, ftol, xtol, gtol, max_nfev, max_iter, n, time_limit);
    let nnz = problem.pattern.nnz();
    let outcome: Result<(Outcome, Vec<f64>, Vec<f64>), Error> = py.detach(|| {
        let obs = least_squares_observer(&problem.base.calls, callback.as_ref());
        let out = drive(lm, &problem, &x0, obs)?;
        let mut r = vec![0.0; m];
        let mut v = vec![0.0; nnz];
        problem.base.calls.lift_deadline();
        if !problem.base.calls.failed() {
            problem.residuals(&out.report.x, &mut r);
            problem.jacobian_values(&out.report.x, &mut v);
        }
        Ok((out, r, v))
    });
    if let Some(e) = problem.base.calls.take_error() {
        return Err(e);
    }
    let (Outcome { report, g }, r, v) = outcome.map_err(value_error)?;
    let d = PyDict::new(py);
    d.set_item("x", array(py, &report.x))?;
    d.set_item("cost", 0.5 * r.iter().map(|ri| ri * ri).sum::<f64>())?;
    d.set_item("fun", array(py, &r))?;
    d.set_item("jac_values", array(py, &v))?;
    let grad: Vec<f64> = g.iter().map(|gi| 0.5 * gi).collect();
    d.set_item("grad", array(py, &grad))?;
    d.set_item("nit", report.iterations)?;
    d.set_item("nfev", problem.base.calls.fun.load(Ordering::Relaxed))?;
    d.set_item("njev", report.evals.g)?;
    let termination = ended(&report, &problem.base.calls);
    d.set_item("termination", termination.as_str())?;
    d.set_item("message", termination.message())?;
    d.set_item("success", termination.converged())?;
    Ok(d)
}

/// The observer of [`least_squares`]: as [`observer`], with the wrapper's
/// per-iteration function (its `verbose=2` lines and the user's callback)
/// called as `cb(x, f, f_prev, step_norm, grad_norm, grad_norm0, nit,
/// nfev)` (`f = Σ ρ(rᵢ²)`, twice scipy's cost; norms are ∞-norms of the
/// step and of `g = 2 Jᵀ r`, projected under bounds; `nfev` the calls of
/// `fun` so far, differences included). A truthy return stops the run.
fn least_squares_observer<'a>(
    calls: &'a Calls,
    callback: Option<&'a Py<PyAny>>,
) -> impl FnMut(&State) -> Control + Clone + 'a {
    observe(calls, callback, move |cb, state| {
        let nfev = calls.fun.load(Ordering::Relaxed);
        cb.call1((
            array(cb.py(), &state.x),
            state.f,
            state.f_prev,
            state.step_norm,
            state.grad_norm,
            state.grad_norm0,
            state.iteration,
            nfev,
        ))?
        .is_truthy()
    })
}

/// Residuals and Jacobian already evaluated at one point, for
/// [`fit_statistics`] without calling Python again.
struct Given<'a>(&'a [f64], &'a DMatrix<f64>);

impl Residuals for Given<'_> {
    fn num_params(&self) -> usize {
        self.1.ncols()
    }
    fn num_residuals(&self) -> usize {
        self.0.len()
    }
    fn residuals(&self, _: &[f64], r: &mut [f64]) {
        r.copy_from_slice(self.0);
    }
    fn jacobian(&self, _: &[f64], jac: &mut DMatrix<f64>) {
        jac.copy_from(self.1);
    }
}

/// The methods `minimize` knows, by their command-line names.
#[pyfunction]
fn methods() -> Vec<&'static str> {
    METHODS.to_vec()
}

/// The methods of `methods()` that take bounds.
#[pyfunction]
fn bounded_methods() -> Vec<&'static str> {
    BOUNDED.to_vec()
}

#[pymodule]
fn _hesse(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(minimize, m)?)?;
    m.add_function(wrap_pyfunction!(least_squares, m)?)?;
    m.add_function(wrap_pyfunction!(sparse_least_squares, m)?)?;
    m.add_function(wrap_pyfunction!(methods, m)?)?;
    m.add_function(wrap_pyfunction!(bounded_methods, m)?)?;
    Ok(())
}
