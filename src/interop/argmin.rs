//! Both directions between hesse and [argmin](https://argmin-rs.org) 0.11:
//!
//! - [`FromArgmin`] makes a problem written for argmin (`CostFunction`,
//!   `Gradient`, optionally `Hessian`, over `Vec<f64>`) a hesse problem, so
//!   hesse's minimizers solve it;
//! - [`ToArgmin`] makes a hesse problem an argmin problem, and
//!   [`run_argmin`] runs one of argmin's solvers on it and returns a hesse
//!   [`Report`] with exact evaluation counts, so `hesse compare --methods
//!   argmin-lbfgs,...` sets argmin beside hesse on the same problems.
//!
//! Only with the cargo feature `argmin` (off by default, so the default build
//! stays lean).
//!
//! ```
//! use argmin::core::{CostFunction, Error as ArgminError, Gradient as ArgminGradient};
//! use hesse::interop::argmin::FromArgmin;
//! use hesse::prelude::*;
//!
//! struct Rosen;
//! impl CostFunction for Rosen {
//!     type Param = Vec<f64>;
//!     type Output = f64;
//!     fn cost(&self, x: &Vec<f64>) -> Result<f64, ArgminError> {
//!         Ok((1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2))
//!     }
//! }
//! impl ArgminGradient for Rosen {
//!     type Param = Vec<f64>;
//!     type Gradient = Vec<f64>;
//!     fn gradient(&self, x: &Vec<f64>) -> Result<Vec<f64>, ArgminError> {
//!         let t = x[1] - x[0] * x[0];
//!         Ok(vec![-2.0 * (1.0 - x[0]) - 400.0 * x[0] * t, 200.0 * t])
//!     }
//! }
//!
//! let report = Bfgs::default().minimize(&FromArgmin::new(Rosen, 2), &[-1.2, 1.0]).unwrap();
//! assert!(report.converged());
//! assert!((report.x[0] - 1.0).abs() < 1e-6);
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use argmin::core::{
    CostFunction, Error as ArgminError, Executor, Gradient as ArgminGradient,
    Hessian as ArgminHessian, State, TerminationReason, TerminationStatus,
};
use argmin::solver::conjugategradient::NonlinearConjugateGradient;
use argmin::solver::conjugategradient::beta::PolakRibiere;
use argmin::solver::gradientdescent::SteepestDescent;
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::{BFGS, LBFGS};
use nalgebra::DMatrix;

use crate::problem::{Evals, Gradient, Hessian, Objective};
use crate::solver::{Error, Report, Stop, Termination, check_start};

/// An argmin problem seen as a hesse problem of dimension `n`.
///
/// An `Err` from argmin's `cost` or `gradient`, or a gradient of the wrong
/// length, becomes NaN, which hesse's minimizers end on with
/// [`Termination::NonFiniteValue`] (keeping the last good iterate).
#[derive(Debug, Clone)]
pub struct FromArgmin<P> {
    problem: P,
    n: usize,
}

impl<P> FromArgmin<P> {
    /// Wraps `problem`, a function of `n` variables.
    pub fn new(problem: P, n: usize) -> Self {
        FromArgmin { problem, n }
    }

    /// The wrapped problem.
    pub fn inner(&self) -> &P {
        &self.problem
    }
}

impl<P: CostFunction<Param = Vec<f64>, Output = f64>> Objective for FromArgmin<P> {
    fn dim(&self) -> usize {
        self.n
    }

    fn value(&self, x: &[f64]) -> f64 {
        self.problem.cost(&x.to_vec()).unwrap_or(f64::NAN)
    }
}

impl<P> Gradient for FromArgmin<P>
where
    P: CostFunction<Param = Vec<f64>, Output = f64>
        + ArgminGradient<Param = Vec<f64>, Gradient = Vec<f64>>,
{
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        let x = x.to_vec();
        match self.problem.gradient(&x) {
            Ok(grad) if grad.len() == g.len() => g.copy_from_slice(&grad),
            _ => g.fill(f64::NAN),
        }
        self.problem.cost(&x).unwrap_or(f64::NAN)
    }
}

impl<P> Hessian for FromArgmin<P>
where
    P: CostFunction<Param = Vec<f64>, Output = f64>
        + ArgminGradient<Param = Vec<f64>, Gradient = Vec<f64>>
        + ArgminHessian<Param = Vec<f64>, Hessian = Vec<Vec<f64>>>,
{
    fn hessian(&self, x: &[f64], h: &mut DMatrix<f64>) {
        match self.problem.hessian(&x.to_vec()) {
            Ok(rows) if rows.len() == self.n && rows.iter().all(|r| r.len() == self.n) => {
                for (i, row) in rows.iter().enumerate() {
                    for (j, v) in row.iter().enumerate() {
                        h[(i, j)] = *v;
                    }
                }
            }
            _ => h.fill(f64::NAN),
        }
    }
}

/// A hesse problem seen as an argmin problem over `Vec<f64>`, counting its
/// evaluations. Clones share the counts (argmin's `Executor` takes the
/// problem by value; keep a clone to read them).
#[derive(Debug)]
pub struct ToArgmin<'p, P: ?Sized> {
    problem: &'p P,
    counts: Arc<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    f: AtomicU64,
    g: AtomicU64,
    h: AtomicU64,
}

impl<P: ?Sized> Clone for ToArgmin<'_, P> {
    fn clone(&self) -> Self {
        ToArgmin {
            problem: self.problem,
            counts: Arc::clone(&self.counts),
        }
    }
}

impl<'p, P: ?Sized> ToArgmin<'p, P> {
    /// Wraps `problem`.
    pub fn new(problem: &'p P) -> Self {
        ToArgmin {
            problem,
            counts: Arc::default(),
        }
    }

    /// The evaluations argmin asked for so far: a `cost` is one f, a
    /// `gradient` one g (computed by hesse's fused `value_grad`, counted as a
    /// gradient only), a `hessian` one H.
    pub fn evals(&self) -> Evals {
        Evals {
            f: self.counts.f.load(Ordering::Relaxed),
            g: self.counts.g.load(Ordering::Relaxed),
            h: self.counts.h.load(Ordering::Relaxed),
            hv: 0,
        }
    }
}

impl<P: Objective + ?Sized> CostFunction for ToArgmin<'_, P> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, x: &Vec<f64>) -> Result<f64, ArgminError> {
        self.counts.f.fetch_add(1, Ordering::Relaxed);
        Ok(self.problem.value(x))
    }
}

impl<P: Gradient + ?Sized> ArgminGradient for ToArgmin<'_, P> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;

    fn gradient(&self, x: &Vec<f64>) -> Result<Vec<f64>, ArgminError> {
        self.counts.g.fetch_add(1, Ordering::Relaxed);
        let mut g = vec![0.0; x.len()];
        self.problem.value_grad(x, &mut g);
        Ok(g)
    }
}

impl<P: Hessian + ?Sized> ArgminHessian for ToArgmin<'_, P> {
    type Param = Vec<f64>;
    type Hessian = Vec<Vec<f64>>;

    fn hessian(&self, x: &Vec<f64>) -> Result<Vec<Vec<f64>>, ArgminError> {
        self.counts.h.fetch_add(1, Ordering::Relaxed);
        let n = x.len();
        let mut h = DMatrix::zeros(n, n);
        self.problem.hessian(x, &mut h);
        Ok((0..n).map(|i| h.row(i).iter().copied().collect()).collect())
    }
}

/// argmin's solvers that [`run_argmin`] knows, by the names `hesse compare`
/// uses: `argmin-lbfgs` (`LBFGS`, m = 10, `MoreThuenteLineSearch`),
/// `argmin-bfgs` (`BFGS` from H₀ = I), `argmin-cg` (`NonlinearConjugateGradient`
/// with Polak-Ribière β, restarts every n iterations and when
/// |gₖᵀgₖ₋₁| ≥ 0.1‖gₖ‖²) and `argmin-sd` (`SteepestDescent`), each with
/// `MoreThuenteLineSearch`. (argmin's `Newton` needs a matrix inverse its
/// `Vec` backend does not have.)
pub const ARGMIN_METHODS: &[&str] = &["argmin-lbfgs", "argmin-bfgs", "argmin-cg", "argmin-sd"];

/// Runs argmin's solver `method` (one of [`ARGMIN_METHODS`]) on `problem`
/// from `x0`, with `stop`'s gradient tolerance (argmin tests `‖g‖₂`, hesse
/// `‖g‖∞`), iteration limit and wall-time limit, and returns hesse's
/// [`Report`] of the run.
///
/// argmin's own errors (a line search that fails, say) end the run with
/// [`Termination::LineSearchFailed`] at the start point, since argmin does
/// not return its state on error; its `SolverExit` reasons map the same way.
pub fn run_argmin<P: Hessian + ?Sized>(
    method: &str,
    problem: &P,
    x0: &[f64],
    stop: &Stop,
) -> Result<Report, Error> {
    stop.validate()?;
    check_start(x0, problem.dim())?;
    let counted = ToArgmin::new(problem);
    let n = x0.len();
    let max_iters = stop.max_iter;
    let timeout = stop.time_limit;
    let gtol = stop.g_abs;
    let start = Instant::now();
    macro_rules! exec {
        ($solver:expr) => {{
            let mut exec = Executor::new(counted.clone(), $solver)
                .configure(|s| s.param(x0.to_vec()).max_iters(max_iters));
            if let Some(t) = timeout {
                exec = exec.timeout(t);
            }
            exec.run().map(|r| {
                let s = r.state();
                (
                    s.get_best_param().cloned(),
                    s.get_best_cost(),
                    s.get_iter(),
                    s.get_termination_status().clone(),
                )
            })
        }};
    }
    let unknown = || Error::InvalidOption {
        name: "method",
        value: method.into(),
        expected: "one of argmin-lbfgs, argmin-bfgs, argmin-cg, argmin-sd",
    };
    let outcome = match method {
        "argmin-lbfgs" => {
            let s = LBFGS::new(MoreThuenteLineSearch::new(), 10)
                .with_tolerance_grad(gtol)
                .map_err(|_| gtol_option(gtol))?;
            exec!(s)
        }
        "argmin-bfgs" => {
            let s = BFGS::new(MoreThuenteLineSearch::new())
                .with_tolerance_grad(gtol)
                .map_err(|_| gtol_option(gtol))?;
            let eye: Vec<Vec<f64>> = (0..n)
                .map(|i| (0..n).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
                .collect();
            let mut exec = Executor::new(counted.clone(), s)
                .configure(|st| st.param(x0.to_vec()).inv_hessian(eye).max_iters(max_iters));
            if let Some(t) = timeout {
                exec = exec.timeout(t);
            }
            exec.run().map(|r| {
                let s = r.state();
                (
                    s.get_best_param().cloned(),
                    s.get_best_cost(),
                    s.get_iter(),
                    s.get_termination_status().clone(),
                )
            })
        }
        "argmin-cg" => {
            let s =
                NonlinearConjugateGradient::new(MoreThuenteLineSearch::new(), PolakRibiere::new())
                    .restart_iters(n as u64)
                    .restart_orthogonality(0.1);
            exec!(s)
        }
        "argmin-sd" => exec!(SteepestDescent::new(MoreThuenteLineSearch::new())),
        _ => return Err(unknown()),
    };
    let elapsed = start.elapsed();
    let (x, termination, iterations) = match outcome {
        Ok((param, _, iter, status)) => (
            param.unwrap_or_else(|| x0.to_vec()),
            termination_of(&status),
            iter,
        ),
        Err(_) => (x0.to_vec(), Termination::LineSearchFailed, 0),
    };
    report(
        method,
        problem,
        x,
        termination,
        iterations,
        counted.evals(),
        stop,
        elapsed,
    )
}

fn gtol_option(gtol: f64) -> Error {
    Error::InvalidOption {
        name: "gtol",
        value: gtol.to_string(),
        expected: "a tolerance argmin accepts (finite, >= 0)",
    }
}

fn termination_of(status: &TerminationStatus) -> Termination {
    match status {
        TerminationStatus::Terminated(TerminationReason::SolverConverged)
        | TerminationStatus::Terminated(TerminationReason::TargetCostReached) => {
            Termination::GradientTolerance
        }
        TerminationStatus::Terminated(TerminationReason::MaxItersReached) => {
            Termination::MaxIterations
        }
        TerminationStatus::Terminated(TerminationReason::Timeout) => Termination::TimeLimit,
        TerminationStatus::Terminated(TerminationReason::Interrupt) => Termination::UserStop,
        TerminationStatus::Terminated(TerminationReason::SolverExit(_))
        | TerminationStatus::NotTerminated => Termination::LineSearchFailed,
    }
}

/// hesse's report of an argmin run: `f` and `‖g‖∞` recomputed once at the
/// final point (not counted: they are the report's, not the solver's).
#[allow(clippy::too_many_arguments)]
fn report<P: Gradient + ?Sized>(
    method: &str,
    problem: &P,
    x: Vec<f64>,
    termination: Termination,
    iterations: u64,
    evals: Evals,
    stop: &Stop,
    elapsed: Duration,
) -> Result<Report, Error> {
    let mut g = vec![0.0; x.len()];
    let f = problem.value_grad(&x, &mut g);
    let grad_norm = g.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    let termination = if f.is_finite() {
        termination
    } else {
        Termination::NonFiniteValue
    };
    Ok(Report {
        method: method.into(),
        x,
        f,
        grad_norm,
        iterations,
        evals,
        termination,
        f_change: f64::NAN,
        step_norm: f64::NAN,
        stop: stop.clone(),
        history: None,
        elapsed,
        active: None,
        projected_start: false,
    })
}
