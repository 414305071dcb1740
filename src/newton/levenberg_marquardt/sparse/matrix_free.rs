//! Jacobian-free Levenberg-Marquardt: the damped least-squares subproblem
//! `min ‖r + J p‖² + λ ‖p‖²` solved by CGLS on products `J v`, `Jᵀ u`.
//!
//! References: Madsen, Nielsen & Tingleff (2004), Algorithm 3.16 (the
//! outer iteration and Nielsen's `λ` rule, as in
//! [`SparseLevenbergMarquardt`](super::SparseLevenbergMarquardt)); Å.
//! Björck, *Numerical Methods for Least Squares Problems*, SIAM (1996),
//! §7.4.1 (CGLS, here with the damping term: CG on `(JᵀJ + λI) p = −Jᵀr`
//! without forming `JᵀJ`).
//!
//! Deviations from the sparse solver: `D = I` (Levenberg's damping; column
//! norms of `J` are not available from products), so the method is not
//! invariant under scaling of `x`; `λ₀ = τ ‖J g‖² / ‖g‖²` (the Rayleigh
//! quotient of `JᵀJ` along `g = Jᵀr`, one product, in place of MNT's
//! `max_j (JᵀJ)_jj`); the predicted reduction is `−2 pᵀJᵀr − ‖J p‖²`
//! computed with one more product (CGLS's step is inexact, so Moré's
//! identity does not hold); no MINPACK `gtol` test (the driver's
//! `with_gtol` on `‖2Jᵀr‖∞` is the gradient test).

use serde::{Deserialize, Serialize};

use super::super::enorm;
use crate::problem::{Counted, JacobianProducts};
use crate::solver::{
    Error, Minimizer, Report, RunOptions, State, Stop, Termination, check_nonneg, check_positive,
    float_serde, inf_norm, run_options,
};

/// Levenberg-Marquardt on [`JacobianProducts`]: each step solves the
/// damped subproblem `(JᵀJ + λI) p = −Jᵀ r` by CGLS (two products per CG
/// step), with Nielsen's damping rule and MINPACK's `ftol`/`xtol` tests; no
/// matrix is ever formed (memory: a few vectors of length `m` and `n`).
/// See the [module docs](crate::newton::levenberg_marquardt::sparse::matrix_free).
///
/// # Defaults
///
/// MINPACK's `ftol = xtol = 1e-15` (below `ε` acts as `ε`), the driver's
/// gradient test off, iteration limit 1000; `τ = 10⁻³`; CGLS to a relative
/// normal-equation residual `‖Jᵀs − λp‖ ≤ 10⁻¹⁰ ‖Jᵀr‖` or `n` steps
/// (exact in exact arithmetic).
///
/// # Example
///
/// ```
/// use hesse::newton::MatrixFreeLevenbergMarquardt;
/// use hesse::problem::JacobianProducts;
///
/// /// rᵢ = xᵢ² − (i + 1) for i < n, and r_n = Σ xᵢ − c: a dense last row.
/// struct P(usize);
/// impl JacobianProducts for P {
///     fn num_params(&self) -> usize { self.0 }
///     fn num_residuals(&self) -> usize { self.0 + 1 }
///     fn residuals(&self, x: &[f64], r: &mut [f64]) {
///         let n = self.0;
///         for i in 0..n { r[i] = x[i] * x[i] - (i + 1) as f64; }
///         r[n] = x.iter().sum::<f64>() - (1..=n).map(|k| (k as f64).sqrt()).sum::<f64>();
///     }
///     fn jac_vec(&self, x: &[f64], v: &[f64], jv: &mut [f64]) {
///         let n = self.0;
///         for i in 0..n { jv[i] = 2.0 * x[i] * v[i]; }
///         jv[n] = v.iter().sum();
///     }
///     fn jac_t_vec(&self, x: &[f64], u: &[f64], jtu: &mut [f64]) {
///         let n = self.0;
///         for j in 0..n { jtu[j] = 2.0 * x[j] * u[j] + u[n]; }
///     }
/// }
/// let report = MatrixFreeLevenbergMarquardt::default()
///     .minimize(&P(1000), &vec![1.0; 1000])
///     .unwrap();
/// assert!(report.converged());
/// assert!((report.x[3] - 2.0).abs() < 1e-10);
/// assert_eq!(report.method, "matrix-free-lm");
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MatrixFreeLevenbergMarquardt {
    options: RunOptions,
    /// MINPACK `ftol`.
    #[serde(with = "float_serde")]
    minpack_ftol: f64,
    /// MINPACK `xtol`: `‖p‖ ≤ xtol ‖x‖`.
    #[serde(with = "float_serde")]
    minpack_xtol: f64,
    /// MNT's `τ`.
    #[serde(with = "float_serde")]
    tau: f64,
    /// CGLS's relative tolerance.
    #[serde(with = "float_serde")]
    cg_rtol: f64,
    /// CGLS's step limit (`None`: `n`).
    cg_max: Option<usize>,
    iter: IterState,
    #[serde(skip)]
    work: Work,
}

/// What a checkpoint holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct IterState {
    #[serde(with = "float_serde")]
    lambda: f64,
    #[serde(with = "float_serde")]
    nu: f64,
    #[serde(with = "float_serde")]
    rnorm: f64,
    #[serde(with = "float_serde")]
    xnorm: f64,
    pending: Option<Termination>,
    /// `r(x_k)`.
    #[serde(with = "float_serde::vec")]
    r: Vec<f64>,
    /// `J(x_k)ᵀ r(x_k)`.
    #[serde(with = "float_serde::vec")]
    jtr: Vec<f64>,
}

/// Scratch (not checkpointed): CGLS's vectors and the trial point.
#[derive(Debug, Default)]
struct Work {
    p: Vec<f64>,
    d: Vec<f64>,
    q: Vec<f64>,
    s: Vec<f64>,
    t: Vec<f64>,
    x_trial: Vec<f64>,
    r_trial: Vec<f64>,
}

impl Clone for Work {
    fn clone(&self) -> Self {
        Work::default()
    }
}

impl Work {
    fn new(m: usize, n: usize) -> Self {
        Work {
            p: vec![0.0; n],
            d: vec![0.0; n],
            q: vec![0.0; n],
            s: vec![0.0; m],
            t: vec![0.0; m],
            x_trial: vec![0.0; n],
            r_trial: vec![0.0; m],
        }
    }
}

impl Default for MatrixFreeLevenbergMarquardt {
    fn default() -> Self {
        MatrixFreeLevenbergMarquardt {
            options: RunOptions {
                stop: Stop {
                    g_abs: 0.0,
                    ..Stop::default()
                },
                history: false,
            },
            minpack_ftol: 1e-15,
            minpack_xtol: 1e-15,
            tau: 1e-3,
            cg_rtol: 1e-10,
            cg_max: None,
            iter: IterState::default(),
            work: Work::default(),
        }
    }
}

run_options!(MatrixFreeLevenbergMarquardt);

impl MatrixFreeLevenbergMarquardt {
    /// MINPACK's `ftol` and `xtol` (see [`SparseLevenbergMarquardt`](super::SparseLevenbergMarquardt)).
    #[must_use]
    pub fn with_minpack_tolerances(mut self, ftol: f64, xtol: f64) -> Self {
        self.minpack_ftol = ftol;
        self.minpack_xtol = xtol;
        self
    }

    /// MNT's `τ`: `λ₀ = τ ‖J g‖² / ‖g‖²`. Default `1e-3`.
    #[must_use]
    pub fn with_initial_damping(mut self, tau: f64) -> Self {
        self.tau = tau;
        self
    }

    /// CGLS's relative tolerance on the normal equations (default `1e-10`)
    /// and step limit (default `None`: `n`).
    #[must_use]
    pub fn with_cg(mut self, rtol: f64, max_steps: Option<usize>) -> Self {
        self.cg_rtol = rtol;
        self.cg_max = max_steps;
        self
    }

    /// Runs to the end from `x0`.
    pub fn minimize<P: JacobianProducts + ?Sized>(
        &self,
        problem: &P,
        x0: &[f64],
    ) -> Result<Report, Error> {
        crate::solver::minimize(self.clone(), problem, x0)
    }

    /// `Jᵀ r` at `x` into `iter.jtr` and `g = 2 Jᵀ r`.
    fn gradient_at<P: JacobianProducts>(&mut self, problem: &Counted<P>, state: &mut State) {
        problem.jac_t_vec(&state.x, &self.iter.r, &mut self.iter.jtr);
        for (g, &v) in state.g.iter_mut().zip(&self.iter.jtr) {
            *g = 2.0 * v;
        }
    }

    /// CGLS (Björck 1996, §7.4.1) for `(JᵀJ + λI) p = −Jᵀ r` into `work.p`.
    fn cgls<P: JacobianProducts>(&mut self, problem: &Counted<P>, x: &[f64]) {
        let (it, w) = (&self.iter, &mut self.work);
        let n = w.p.len();
        let lambda = it.lambda;
        w.p.iter_mut().for_each(|v| *v = 0.0);
        // s = b − J p = −r, q = Jᵀ s − λ p = −Jᵀ r.
        for (s, &r) in w.s.iter_mut().zip(&it.r) {
            *s = -r;
        }
        for j in 0..n {
            w.q[j] = -it.jtr[j];
            w.d[j] = w.q[j];
        }
        let q0 = enorm(&w.q);
        let mut gamma = q0 * q0;
        for _ in 0..self.cg_max.unwrap_or(n).max(1) {
            if gamma.sqrt() <= self.cg_rtol * q0 || !gamma.is_finite() {
                break;
            }
            problem.jac_vec(x, &w.d, &mut w.t);
            let dn = enorm(&w.d);
            let tn = enorm(&w.t);
            let delta = tn * tn + lambda * dn * dn;
            if delta <= 0.0 || !delta.is_finite() {
                break;
            }
            let alpha = gamma / delta;
            for j in 0..n {
                w.p[j] += alpha * w.d[j];
            }
            for (s, &t) in w.s.iter_mut().zip(&w.t) {
                *s -= alpha * t;
            }
            problem.jac_t_vec(x, &w.s, &mut w.q);
            for j in 0..n {
                w.q[j] -= lambda * w.p[j];
            }
            let qn = enorm(&w.q);
            let gamma_new = qn * qn;
            let beta = gamma_new / gamma;
            for j in 0..n {
                w.d[j] = w.q[j] + beta * w.d[j];
            }
            gamma = gamma_new;
        }
    }
}

impl<P: JacobianProducts> Minimizer<P> for MatrixFreeLevenbergMarquardt {
    fn check_resume(&self, problem: &Counted<P>) -> Result<(), Error> {
        let m = problem.num_residuals();
        crate::solver::check_saved("the checkpoint's residual vector", self.iter.r.len(), m)?;
        let n = problem.num_params();
        crate::solver::check_saved("the checkpoint's Jᵀr", self.iter.jtr.len(), n)
    }

    fn name(&self) -> &'static str {
        "matrix-free-lm"
    }

    fn options(&self) -> &RunOptions {
        &self.options
    }

    fn dim(&self, problem: &Counted<P>) -> usize {
        problem.num_params()
    }

    fn init(&mut self, problem: &Counted<P>, state: &mut State) -> Result<(), Error> {
        check_nonneg("minpack_ftol", self.minpack_ftol)?;
        check_nonneg("minpack_xtol", self.minpack_xtol)?;
        check_positive("initial_damping", self.tau)?;
        check_nonneg("cg_rtol", self.cg_rtol)?;
        let n = state.x.len();
        let m = problem.num_residuals();
        self.work = Work::new(m, n);
        self.iter = IterState {
            lambda: f64::NAN,
            nu: 2.0,
            rnorm: f64::NAN,
            xnorm: enorm(&state.x),
            pending: None,
            r: vec![0.0; m],
            jtr: vec![0.0; n],
        };
        problem.residuals(&state.x, &mut self.iter.r);
        self.iter.rnorm = enorm(&self.iter.r);
        state.f = self.iter.rnorm * self.iter.rnorm;
        if !state.f.is_finite() {
            state.f = f64::NAN;
            state.g.iter_mut().for_each(|g| *g = f64::NAN);
            return Ok(());
        }
        self.gradient_at(problem, state);
        // λ₀ = τ ‖J g‖² / ‖g‖², with g = Jᵀ r.
        let gn = enorm(&self.iter.jtr);
        let scale = if gn > 0.0 && gn.is_finite() {
            problem.jac_vec(&state.x, &self.iter.jtr, &mut self.work.t);
            let jg = enorm(&self.work.t) / gn;
            jg * jg
        } else {
            1.0
        };
        self.iter.lambda = self.tau * if scale > 0.0 { scale } else { 1.0 };
        if gn == 0.0 {
            self.iter.pending = Some(Termination::GradientTolerance);
        }
        Ok(())
    }

    fn next_iter(&mut self, problem: &Counted<P>, state: &mut State) -> Option<Termination> {
        if let Some(t) = self.iter.pending.take() {
            return Some(t);
        }
        let (n, m) = (state.x.len(), problem.num_residuals());
        if self.work.p.len() != n {
            self.work = Work::new(m, n); // resumed from a checkpoint
        }
        let ftol = self.minpack_ftol.max(f64::EPSILON);
        let xtol = self.minpack_xtol.max(f64::EPSILON);
        let mut all_trials_non_finite = true;
        loop {
            self.cgls(problem, &state.x);
            let (it, w) = (&self.iter, &mut self.work);
            let pnorm = enorm(&w.p);
            if !pnorm.is_finite() {
                if let Some(t) = problem.halted() {
                    return Some(t);
                }
                state.note = Some("the LM step is not finite".into());
                return Some(Termination::LinearAlgebraFailure);
            }
            // Predicted relative reduction −(2 pᵀJᵀr + ‖Jp‖²)/‖r‖².
            problem.jac_vec(&state.x, &w.p, &mut w.t);
            let pj: f64 = w.p.iter().zip(&it.jtr).map(|(a, b)| a * b).sum();
            let jp = enorm(&w.t) / it.rnorm;
            let prered = -(2.0 * pj / it.rnorm / it.rnorm + jp * jp);
            for j in 0..n {
                w.x_trial[j] = state.x[j] + w.p[j];
            }
            let no_move = w.x_trial == state.x;
            problem.residuals(&w.x_trial, &mut w.r_trial);
            let rnorm = enorm(&w.r_trial);
            let finite = rnorm.is_finite();
            all_trials_non_finite &= !finite || no_move;
            let actred = if finite && 0.1 * rnorm < it.rnorm {
                1.0 - (rnorm / it.rnorm).powi(2)
            } else {
                -1.0
            };
            let ratio = if prered > 0.0 && prered.is_finite() {
                actred / prered
            } else {
                0.0
            };
            let accepted = ratio >= 1e-4;
            if accepted {
                let c = 2.0 * ratio - 1.0;
                self.iter.lambda *= (1.0 / 3.0f64).max(1.0 - c * c * c);
                self.iter.lambda = self.iter.lambda.max(f64::MIN_POSITIVE);
                self.iter.nu = 2.0;
                let (it, w) = (&mut self.iter, &mut self.work);
                std::mem::swap(&mut state.x, &mut w.x_trial);
                std::mem::swap(&mut it.r, &mut w.r_trial);
                it.rnorm = rnorm;
                it.xnorm = enorm(&state.x);
                state.step_norm = inf_norm(&w.p);
            } else {
                self.iter.lambda *= self.iter.nu;
                self.iter.nu *= 2.0;
            }
            let f_test = actred.abs() <= ftol && prered <= ftol && ratio <= 2.0;
            let x_test = pnorm <= xtol * self.iter.xnorm;
            let converged = match (f_test, x_test) {
                (true, _) => Some(Termination::FunctionTolerance),
                (false, true) => Some(Termination::StepTolerance),
                (false, false) => None,
            };
            if accepted {
                state.f = self.iter.rnorm * self.iter.rnorm;
                state.alpha = f64::NAN;
                self.gradient_at(problem, state);
                if self.iter.rnorm == 0.0 {
                    self.iter.pending = Some(Termination::GradientTolerance);
                } else {
                    self.iter.pending = converged;
                }
                return None;
            }
            if let Some(t) = converged {
                if x_test && all_trials_non_finite {
                    state.note = Some(
                        "every trial step since the last accepted point gave non-finite residuals"
                            .into(),
                    );
                    return Some(Termination::NonFiniteValue);
                }
                return Some(t);
            }
            if let Some(t) = problem.halted() {
                return Some(t);
            }
            if !self.iter.lambda.is_finite() {
                state.note = Some("the damping λ overflowed".into());
                return Some(Termination::LinearAlgebraFailure);
            }
        }
    }
}
