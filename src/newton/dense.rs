//! Line-search Newton with a modified Hessian.
//!
//! Nocedal & Wright (2006), Algorithm 3.2 ("Line Search Newton with
//! Modification"), with the modification of Algorithm 3.3 ("Cholesky with
//! Added Multiple of the Identity"):
//!
//! ```text
//! B_k = ∇²f(x_k) + τ_k I,  τ_k ≥ 0 the first shift for which B_k = L Lᵀ succeeds
//! solve B_k p_k = −∇f(x_k)                (two triangular solves; H⁻¹ is never formed)
//! x_{k+1} = x_k + α_k p_k,  α_k from backtracking with α = 1 tried first
//! ```
//!
//! Near a minimizer with a positive definite Hessian, `τ_k = 0` and `α_k = 1`
//! are accepted and convergence is quadratic (N&W Theorem 3.5). Since `B_k`
//! is positive definite, `p_k` is a descent direction whatever the inertia of
//! `∇²f(x_k)`.
//!
//! The number of Cholesky factorizations (one per iteration when the Hessian
//! is positive definite) is reported in the iteration's note when the
//! Hessian had to be shifted.
//!
//! **Damped Newton**, the two senses of the seeds ("damped Newton",
//! "regularizing the Hessian"), chosen with [`Damping`]:
//! - [`Damping::LineSearch`] (the default): the step *length* is damped,
//!   `x_{k+1} = x_k + α_k p_k` with Armijo backtracking, as above;
//! - [`Damping::Regularized`]: the *Hessian* is damped, `(H_k + μ_k I) p_k = −g_k`
//!   with `x_{k+1} = x_k + p_k`, and `μ_k` adapted Levenberg-Marquardt style
//!   from `ρ_k = (f(x_k) − f(x_k + p_k)) / (m_k(0) − m_k(p_k))`,
//!   `m_k(p) = f_k + g_kᵀp + ½pᵀH_k p` (Marquardt 1963; N&W §10.3 for the
//!   least-squares form; the seeds' rule with thresholds ¼ and ¾):
//!
//! ```text
//! ρ_k < ¼:  μ ← max(4μ, β)      (model poor: damp more; reject the step if ρ_k ≤ η = 10⁻⁴)
//! ρ_k > ¾:  μ ← μ/4, and μ ← 0 once μ < 10⁻³ β   (model good: back to Newton)
//! H_k + μI not positive definite: μ ← max(4μ, β) and factor again
//! ```
//!
//! with `β = 10⁻³ ‖H_k‖_F` the modified Cholesky's shift unit (N&W §3.4).
//! The factors 4 and ¼ mirror the trust-region radius update of N&W
//! Algorithm 4.1 (`μ` acts as `1/Δ`); resetting `μ` to 0 restores pure
//! Newton steps, hence quadratic convergence, near a minimizer with a
//! positive definite Hessian. `μ` starts at 0. Since `H + μI` is positive
//! definite, the predicted reduction `½pᵀ(H + μI)p + ½μ‖p‖²` is positive.

use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};

use super::reduction_ratio;
use crate::linalg::{Cholesky, LinalgError, ModifiedCholesky};
use crate::linesearch::{Backtracking, LineSearch, ProblemLine, dot};
use crate::problem::{Counted, Gradient, Hessian, Objective};
use crate::solver::{
    Error, Minimizer, Report, RunOptions, State, Termination, inf_norm, run_options,
};

/// How [`Newton`] damps its step: the step length, or the Hessian.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Damping {
    /// Step-length damping: modified Cholesky (N&W Alg. 3.3) and the line
    /// search (N&W Alg. 3.2). The default.
    #[default]
    LineSearch,
    /// Hessian regularization `(H + μI) p = −g`, `μ` adapted from the ratio
    /// of actual to predicted reduction (thresholds ¼ and ¾, factors 4 and ¼);
    /// no line search.
    Regularized,
}

/// Newton's method with a modified-Cholesky Hessian and a line search, or
/// with a regularized Hessian ([`Newton::with_damping`]).
///
/// # Requirements on the optimization problem
/// [`Hessian`]: value, gradient and the dense Hessian (its lower triangle is
/// read).
///
/// # Reference
/// Nocedal & Wright, *Numerical Optimization* (2006), Algorithms 3.2 and 3.3.
///
/// ```
/// use hesse::newton::Newton;
/// use hesse::problems::Rosenbrock;
/// let report = Newton::default().with_gtol(1e-10).minimize(&Rosenbrock::new(2), &[-1.2, 1.0]).unwrap();
/// assert!(report.converged());
/// assert!((report.x[0] - 1.0).abs() < 1e-8 && (report.x[1] - 1.0).abs() < 1e-8);
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Newton<L = Backtracking> {
    options: RunOptions,
    line_search: L,
    damping: Damping,
    /// The regularization `μ_k` of [`Damping::Regularized`].
    #[serde(with = "crate::solver::float_serde")]
    mu: f64,
    /// Cholesky factorizations over the run (`≥` iterations; the excess is
    /// the cost of modifying indefinite Hessians).
    factorizations: u64,
    #[serde(skip)]
    work: Work,
}

#[derive(Debug, Clone)]
struct Work {
    /// n × n Hessian.
    h: DMatrix<f64>,
    chol: ModifiedCholesky,
    /// `H + μI = LLᵀ` for [`Damping::Regularized`].
    reg: Cholesky,
    hp: Vec<f64>,
    p: Vec<f64>,
    x_trial: Vec<f64>,
    g_trial: Vec<f64>,
}

impl Default for Work {
    fn default() -> Self {
        Work::new(0)
    }
}

impl Work {
    fn new(n: usize) -> Self {
        Work {
            h: DMatrix::zeros(n, n),
            chol: ModifiedCholesky::with_dim(n),
            reg: Cholesky::with_dim(0),
            hp: vec![0.0; n],
            p: vec![0.0; n],
            x_trial: vec![0.0; n],
            g_trial: vec![0.0; n],
        }
    }
}

impl Default for Newton<Backtracking> {
    fn default() -> Self {
        Self::with_line_search(Backtracking::default())
    }
}

impl<L> Newton<L> {
    /// Newton with the given line search (the first trial step is always 1).
    pub fn with_line_search(line_search: L) -> Self {
        Newton {
            options: RunOptions::default(),
            line_search,
            damping: Damping::LineSearch,
            mu: 0.0,
            factorizations: 0,
            work: Work::default(),
        }
    }

    /// The damping: [`Damping::LineSearch`] (default) or
    /// [`Damping::Regularized`] (the line search is then unused).
    ///
    /// ```
    /// use hesse::newton::{Damping, Newton};
    /// use hesse::problems::Rosenbrock;
    /// let solver = Newton::default().with_damping(Damping::Regularized).with_gtol(1e-10);
    /// let report = solver.minimize(&Rosenbrock::new(2), &[-1.2, 1.0]).unwrap();
    /// assert!(report.converged());
    /// assert!((report.x[0] - 1.0).abs() < 1e-8);
    /// ```
    #[must_use]
    pub fn with_damping(mut self, damping: Damping) -> Self {
        self.damping = damping;
        self
    }

    /// The regularization `μ_k` of [`Damping::Regularized`] (0 otherwise).
    pub fn regularization(&self) -> f64 {
        self.mu
    }

    /// Cholesky factorizations so far (the last run's, after `minimize`).
    pub fn factorizations(&self) -> u64 {
        self.factorizations
    }

    /// Runs to the end from `x0`.
    pub fn minimize<P: Hessian + ?Sized>(&self, problem: &P, x0: &[f64]) -> Result<Report, Error>
    where
        L: LineSearch + Clone,
    {
        crate::solver::minimize(self.clone(), problem, x0)
    }
}

run_options!([L] Newton<L>);

impl<P: Hessian, L: LineSearch> Minimizer<P> for Newton<L> {
    fn name(&self) -> &'static str {
        "newton"
    }

    fn options(&self) -> &RunOptions {
        &self.options
    }

    fn dim(&self, problem: &Counted<P>) -> usize {
        problem.dim()
    }

    fn init(&mut self, problem: &Counted<P>, state: &mut State) -> Result<(), Error> {
        self.line_search.validate()?;
        let n = state.x.len();
        // The Hessian and its modified Cholesky factor, n × n each.
        crate::solver::check_dense(
            "Newton",
            &format!("two dense n × n matrices at n = {n}"),
            n.checked_mul(n).and_then(|k| k.checked_mul(2)),
            ": use NewtonCg or Lbfgs",
        )?;
        self.work = Work::new(n);
        self.factorizations = 0;
        self.mu = 0.0;
        state.f = problem.value_grad(&state.x, &mut state.g);
        Ok(())
    }

    fn next_iter(&mut self, problem: &Counted<P>, state: &mut State) -> Option<Termination> {
        let n = state.x.len();
        if self.work.p.len() != n {
            // Resumed from a checkpoint: the workspace was not serialized.
            self.work = Work::new(n);
        }
        if self.damping == Damping::Regularized {
            return self.regularized_iter(problem, state);
        }
        let Work {
            h,
            chol,
            p,
            x_trial,
            g_trial,
            ..
        } = &mut self.work;

        // B_k = ∇²f(x_k) + τ_k I = L Lᵀ (N&W Alg. 3.3).
        problem.hessian(&state.x, h);
        let info = match chol.factor(h) {
            Ok(info) => info,
            Err(e) => {
                // A NaN in the Hessian, or a shift limit: nothing to step with.
                state.note = Some(e.to_string());
                return Some(Termination::LinearAlgebraFailure);
            }
        };
        self.factorizations += info.factorizations as u64;
        state.note = (info.tau > 0.0).then(|| {
            format!(
                "modified Hessian: tau = {:.3e} after {} factorizations",
                info.tau, info.factorizations
            )
        });

        // B_k p_k = −g_k.
        for (pi, gi) in p.iter_mut().zip(&state.g) {
            *pi = -gi;
        }
        if let Err(e) = chol.solve_mut(p) {
            state.note = Some(e.to_string());
            return Some(Termination::LinearAlgebraFailure);
        }
        let dphi0 = dot(&state.g, p);
        if dphi0 >= 0.0 || dphi0.is_nan() {
            // Only rounding can make a positive definite B_k give an ascent direction.
            return Some(if dphi0.is_finite() {
                Termination::NotDescentDirection
            } else {
                Termination::NonFiniteValue
            });
        }

        let mut line = ProblemLine::new(problem, &state.x, p, x_trial, g_trial);
        let step = match self.line_search.search(&mut line, state.f, dphi0, 1.0) {
            Ok(step) => step,
            Err(e) => {
                state.note = Some(e.to_string());
                return Some(Termination::LineSearchFailed);
            }
        };
        let f = line.finish(step.alpha);
        if !f.is_finite() {
            return Some(Termination::NonFiniteValue);
        }
        state.step_norm = step.alpha * inf_norm(p);
        state.alpha = step.alpha;
        state.f = f;
        std::mem::swap(&mut state.x, x_trial);
        std::mem::swap(&mut state.g, g_trial);
        None
    }
}

impl<L> Newton<L> {
    /// One iteration of [`Damping::Regularized`]: factor `H + μI`, step, and
    /// adapt `μ` from `ρ` until a step is accepted.
    fn regularized_iter<P: Hessian>(
        &mut self,
        problem: &Counted<P>,
        state: &mut State,
    ) -> Option<Termination> {
        let n = state.x.len();
        let Work {
            h,
            reg,
            hp,
            p,
            x_trial,
            g_trial,
            ..
        } = &mut self.work;
        problem.hessian(&state.x, h);
        // Symmetric from the lower triangle, for the model's H p.
        for j in 0..n {
            for i in j + 1..n {
                h[(j, i)] = h[(i, j)];
            }
        }
        let beta = 1e-3 * h.norm();
        let beta = if beta > 0.0 && beta.is_finite() {
            beta
        } else {
            1e-3
        };
        loop {
            // H + μI = LLᵀ, raising μ until it succeeds.
            let buf = reg.matrix_mut();
            if buf.nrows() != n {
                *buf = DMatrix::zeros(n, n);
            }
            buf.copy_from(h);
            for i in 0..n {
                buf[(i, i)] += self.mu;
            }
            self.factorizations += 1;
            match reg.factor_in_place() {
                Ok(()) => {}
                Err(LinalgError::NotPositiveDefinite { .. }) if self.mu.is_finite() => {
                    self.mu = (4.0 * self.mu).max(beta);
                    continue;
                }
                Err(e) => {
                    let nonfinite = matches!(e, LinalgError::NonFinite { .. });
                    state.note = Some(e.to_string());
                    return Some(if nonfinite {
                        Termination::NonFiniteValue
                    } else {
                        Termination::LinearAlgebraFailure
                    });
                }
            }
            for (pi, gi) in p.iter_mut().zip(&state.g) {
                *pi = -gi;
            }
            if let Err(e) = reg.solve_mut(p) {
                state.note = Some(e.to_string());
                return Some(Termination::LinearAlgebraFailure);
            }
            // Predicted reduction m(0) − m(p) = −gᵀp − ½pᵀHp > 0.
            for (i, hpi) in hp.iter_mut().enumerate() {
                *hpi = dot(&h.as_slice()[i * n..(i + 1) * n], p);
            }
            let pred = -(dot(&state.g, p) + 0.5 * dot(p, hp));
            let mut moved = false;
            for ((xt, xi), pi) in x_trial.iter_mut().zip(&state.x).zip(p.iter()) {
                *xt = xi + pi;
                moved |= *xt != *xi;
            }
            if !moved {
                state.note = Some(format!("regularization mu = {:.3e}", self.mu));
                return Some(Termination::TrustRegionTooSmall);
            }
            let f_trial = problem.value_grad(x_trial, g_trial);
            let rho = reduction_ratio(state.f, f_trial, g_trial, pred);
            if rho < 0.25 {
                self.mu = (4.0 * self.mu).max(beta);
            } else if rho > 0.75 {
                self.mu *= 0.25;
                if self.mu < 1e-3 * beta {
                    self.mu = 0.0;
                }
            }
            if rho > 1e-4 {
                state.step_norm = inf_norm(p);
                state.alpha = 1.0;
                state.f = f_trial;
                std::mem::swap(&mut state.x, x_trial);
                std::mem::swap(&mut state.g, g_trial);
                state.note = (self.mu > 0.0)
                    .then(|| format!("regularized Hessian: next mu = {:.3e}", self.mu));
                return None;
            }
            if let Some(t) = problem.halted() {
                // A limit reached inside the retries (see `Counted`).
                return Some(t);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::FnGradient;
    use crate::problems::Rosenbrock;
    use crate::solver::Run;

    #[test]
    fn one_step_solves_a_convex_quadratic() {
        // f = ½ xᵀ A x − bᵀx, A = [[3, 1], [1, 2]], b = (1, 1): x* = A⁻¹ b = (0.2, 0.4).
        let p = FnGradient::new(2, |x: &[f64], g: &mut [f64]| {
            g[0] = 3.0 * x[0] + x[1] - 1.0;
            g[1] = x[0] + 2.0 * x[1] - 1.0;
            0.5 * (3.0 * x[0] * x[0] + 2.0 * x[0] * x[1] + 2.0 * x[1] * x[1]) - x[0] - x[1]
        })
        .with_hessian(|_: &[f64], h: &mut DMatrix<f64>| {
            h.copy_from_slice(&[3.0, 1.0, 1.0, 2.0]);
        });
        let report = Newton::default()
            .with_gtol(1e-12)
            .minimize(&p, &[5.0, -7.0])
            .unwrap();
        assert!(report.converged());
        assert_eq!(report.iterations, 1);
        assert!((report.x[0] - 0.2).abs() < 1e-14 && (report.x[1] - 0.4).abs() < 1e-14);
        assert_eq!(report.evals.h, 1);
    }

    #[test]
    fn converges_quadratically_on_rosenbrock() {
        // Errors e_k = ‖x_k − x*‖ near the solution: e_{k+1} ≤ C e_k² (N&W Thm 3.5).
        let problem = Rosenbrock::new(2);
        let mut errors = Vec::new();
        let mut run = Run::new(Newton::default().with_gtol(1e-14), &problem, &[-1.2, 1.0]).unwrap();
        errors.push(2.2); // ‖(−1.2, 1) − (1, 1)‖
        while run.step().is_none() {
            let x = &run.state().x;
            errors.push(((x[0] - 1.0).powi(2) + (x[1] - 1.0).powi(2)).sqrt());
        }
        let report = run.report();
        assert!(report.converged(), "{:?}", report.termination);
        // The last steps, once e_k < 1e-2: e_{k+1} / e_k² stays bounded (C ≈ the
        // Hessian's Lipschitz constant over its smallest eigenvalue) while e_k falls.
        let tail: Vec<f64> = errors
            .iter()
            .copied()
            .filter(|&e| e < 1e-2 && e > 1e-15)
            .collect();
        assert!(tail.len() >= 2, "{errors:?}");
        for w in tail.windows(2) {
            let ratio = w[1] / (w[0] * w[0]);
            assert!(ratio < 1e3, "e = {errors:?}");
        }
        // Digits at least double per step at the end.
        let last = tail.len() - 1;
        assert!(
            tail[last].log10() < 1.8 * tail[last - 1].log10(),
            "{errors:?}"
        );
    }

    #[test]
    fn indefinite_start_is_modified_and_still_descends() {
        // f = x0⁴/4 − x0²/2 + x1²/2: Hessian diag(3x0² − 1, 1), indefinite at x0 = 0.1.
        let p = FnGradient::new(2, |x: &[f64], g: &mut [f64]| {
            g[0] = x[0].powi(3) - x[0];
            g[1] = x[1];
            0.25 * x[0].powi(4) - 0.5 * x[0] * x[0] + 0.5 * x[1] * x[1]
        })
        .with_hessian(|x: &[f64], h: &mut DMatrix<f64>| {
            h.copy_from_slice(&[3.0 * x[0] * x[0] - 1.0, 0.0, 0.0, 1.0]);
        });
        let solver = Newton::default().with_gtol(1e-10);
        let report = solver.minimize(&p, &[0.1, 1.0]).unwrap();
        assert!(report.converged());
        // Plain Newton would go to the saddle x0 = 0; the modified one finds x0 = ±1.
        assert!((report.x[0].abs() - 1.0).abs() < 1e-8, "{:?}", report.x);
    }
}
