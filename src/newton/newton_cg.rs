//! Newton-CG: truncated Newton on Hessian-vector products (Hessian-free).
//!
//! Nocedal & Wright, *Numerical Optimization* (2nd ed., 2006): Algorithm 7.1
//! ("Line Search Newton-CG") and Algorithm 7.2 ("CG-Steihaug") inside the
//! trust-region loop of Algorithm 4.1. Dembo & Steihaug (1983) for the
//! truncated-Newton idea; Steihaug (1983) for the trust-region solve.
//! Notation as N&W: `g_k = ∇f(x_k)`, `B_k = ∇²f(x_k)` (touched only through
//! products `B_k v`), `p_k` the step.
//!
//! Each outer iteration solves the Newton equation `B_k p = −g_k` inexactly by
//! conjugate gradients from `p = 0`, stopping at the relative residual
//!
//! ```text
//! ‖B_k p + g_k‖ ≤ η_k ‖g_k‖,   η_k = min(0.5, √‖g_k‖)        N&W (7.3), Alg. 7.1
//! ```
//!
//! (`‖·‖` the 2-norm), which gives superlinear convergence near a minimizer
//! with a positive definite Hessian (N&W Theorem 7.2). Two globalizations:
//!
//! - **Line search** (Alg. 7.1): the CG solve stops at the first direction of
//!   non-positive curvature `d_jᵀ B_k d_j ≤ 0`, returning the last iterate
//!   `z_j`, or `−g_k` if that happens on the first inner iteration (every
//!   `z_j`, `j ≥ 1`, is a descent direction: N&W p. 169). Then a backtracking
//!   line search (N&W §3.5) from the unit step, which Newton steps make the
//!   natural first trial.
//! - **Trust region** (Alg. 4.1 with 7.2): Steihaug-Toint CG solves
//!   `min gᵀp + ½ pᵀB_k p, ‖p‖ ≤ Δ_k` (going to the boundary along negative
//!   curvature); the step is taken if `ρ_k = (f(x_k) − f(x_k + p)) / (−m_k(p))
//!   > η` and `Δ` is updated from `ρ_k` (shrink by ¼ below `ρ = ¼`, double
//!   above `¾` when the step reached the boundary). Parameters are scipy's
//!   `trust-ncg` (`Δ_0 = 1`, `Δ_max = 1000`, `η = 0.15`).
//!
//! One iteration of the trust-region variant is one *accepted* step: rejected
//! trials (with their evaluations) happen inside it, so that `x` moves on
//! every iteration as the driver's step test expects. scipy's `nit` counts
//! rejected trials as iterations too.
//!
//! Deviations from N&W Alg. 4.1: after a rejected step the radius becomes
//! `¼ min(Δ_k, ‖p_k‖)` rather than `¼ Δ_k`, since an interior step with
//! `‖p_k‖ < ¼ Δ_k` would otherwise be computed again and rejected again; and
//! `ρ_k` is computed with both reductions shifted by `10 ε max(1, |f_k|)`
//! (Conn, Gould & Toint, *Trust-Region Methods*, 2000, §17.4.2), so that a
//! step whose actual and predicted reductions are both below rounding is
//! accepted rather than shrinking the region to nothing.
//!
//! Cost: one outer iteration makes `O(n)` vector operations per inner CG step
//! plus the products; the work vectors (five of length `n`, and the CG
//! solver's own) are allocated once per run, so the method runs at `n = 10⁶`
//! with analytic products (`benches/newton_cg.rs`).

use serde::{Deserialize, Serialize};

use crate::linalg::{
    CgOutcome, ConjugateGradient, HessianOperator, SteihaugCg, SteihaugOutcome, dot, forcing_term,
    norm2,
};
use crate::linesearch::{Backtracking, LineFunction, LineSearch, LineSearchResult, ProblemLine};
use crate::problem::{Counted, Gradient, HessVec, Objective};
use crate::solver::{
    Error, Minimizer, Report, RunOptions, State, Termination, check_positive, run_options,
};

/// How Newton-CG makes its steps safe far from a minimizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Globalization {
    /// CG stopped at negative curvature, then a line search (N&W Alg. 7.1).
    LineSearch,
    /// Steihaug-Toint CG inside a trust region (N&W Algs. 4.1 and 7.2).
    TrustRegion,
}

/// Truncated Newton (Newton-CG) on Hessian-vector products.
///
/// # Requirements on the optimization problem
/// [`HessVec`]: value, gradient and Hessian-vector products. The Hessian is
/// never formed.
///
/// # Defaults
/// Line-search variant ([`NewtonCg::default`]) with [`Backtracking`] (unit
/// first step, `c1 = 1e-4`); trust-region variant ([`NewtonCg::trust_region`])
/// with scipy's `trust-ncg` parameters `Δ_0 = 1`, `Δ_max = 1000`, `η = 0.15`.
/// Forcing term `η_k = min(0.5, √‖g_k‖₂)` (N&W Alg. 7.1); inner CG capped at
/// `10 n` steps (scipy's `cg` default) unless [`with_max_cg_iter`](Self::with_max_cg_iter).
///
/// # Reference
/// Nocedal & Wright, *Numerical Optimization* (2006), Algorithms 7.1, 7.2, 4.1;
/// Steihaug, "The conjugate gradient method and trust regions in large scale
/// optimization", SIAM J. Numer. Anal. 20 (1983).
///
/// ```
/// use hesse::newton::NewtonCg;
/// use hesse::problems::ExtendedRosenbrock;
/// let problem = ExtendedRosenbrock::new(1000);
/// for solver in [NewtonCg::default(), NewtonCg::trust_region()] {
///     let report = solver.with_gtol(1e-8).minimize(&problem, &problem.start()).unwrap();
///     assert!(report.converged());
///     assert!(report.x.iter().all(|&xi| (xi - 1.0).abs() < 1e-8));
///     assert_eq!(report.evals.h, 0); // Hessian-free
/// }
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewtonCg<L = Backtracking> {
    options: RunOptions,
    line_search: L,
    globalization: Globalization,
    /// Initial trust radius `Δ_0`.
    #[serde(with = "crate::solver::float_serde")]
    delta0: f64,
    /// Largest trust radius `Δ_max`.
    #[serde(with = "crate::solver::float_serde")]
    delta_max: f64,
    /// Acceptance threshold `η` on `ρ_k`.
    #[serde(with = "crate::solver::float_serde")]
    eta: f64,
    /// Cap on inner CG steps per outer iteration (`None`: `10 n`).
    max_cg_iter: Option<usize>,
    /// The current trust radius `Δ_k`.
    #[serde(with = "crate::solver::float_serde")]
    delta: f64,
    /// Inner CG steps over the run.
    cg_iterations: u64,
    /// Inner solves that ended on non-positive curvature.
    negative_curvature: u64,
    /// Trust-region trials rejected (`ρ_k ≤ η`).
    rejected: u64,
    #[serde(skip)]
    work: Work,
}

#[derive(Debug, Clone, Default)]
struct Work {
    /// The step `p_k`.
    p: Vec<f64>,
    /// The right-hand side `−g_k` of the line-search variant's CG solve.
    b: Vec<f64>,
    x_trial: Vec<f64>,
    g_trial: Vec<f64>,
    cg: ConjugateGradient,
    steihaug: SteihaugCg,
}

impl Work {
    fn new(n: usize, max_cg_iter: Option<usize>) -> Self {
        let mut cg = ConjugateGradient::new();
        let mut steihaug = SteihaugCg::new();
        if let Some(m) = max_cg_iter {
            cg = cg.with_max_iter(m);
            steihaug = steihaug.with_max_iter(m);
        }
        Work {
            p: vec![0.0; n],
            b: vec![0.0; n],
            x_trial: vec![0.0; n],
            g_trial: vec![0.0; n],
            cg,
            steihaug,
        }
    }
}

impl Default for NewtonCg<Backtracking> {
    fn default() -> Self {
        Self::with_line_search(Backtracking::default())
    }
}

impl NewtonCg<Backtracking> {
    /// The trust-region variant (Steihaug-Toint CG, N&W Algs. 4.1 and 7.2).
    pub fn trust_region() -> Self {
        NewtonCg {
            globalization: Globalization::TrustRegion,
            ..Self::default()
        }
    }
}

impl<L> NewtonCg<L> {
    /// The line-search variant with the given line search (first trial step 1).
    pub fn with_line_search(line_search: L) -> Self {
        NewtonCg {
            options: RunOptions::default(),
            line_search,
            globalization: Globalization::LineSearch,
            delta0: 1.0,
            delta_max: 1000.0,
            eta: 0.15,
            max_cg_iter: None,
            delta: 1.0,
            cg_iterations: 0,
            negative_curvature: 0,
            rejected: 0,
            work: Work::default(),
        }
    }

    /// The initial trust radius `Δ_0 > 0` (default `1`, scipy's `trust-ncg`).
    #[must_use]
    pub fn with_initial_radius(mut self, delta0: f64) -> Self {
        self.delta0 = delta0;
        self
    }

    /// The largest trust radius `Δ_max ≥ Δ_0` (default `1000`, scipy's `trust-ncg`).
    #[must_use]
    pub fn with_max_radius(mut self, delta_max: f64) -> Self {
        self.delta_max = delta_max;
        self
    }

    /// The acceptance threshold `η ∈ [0, ¼)` on `ρ_k` (default `0.15`, scipy's
    /// `trust-ncg`; N&W Alg. 4.1 asks for `η ∈ [0, ¼)`).
    #[must_use]
    pub fn with_eta(mut self, eta: f64) -> Self {
        self.eta = eta;
        self
    }

    /// Caps the inner CG steps per outer iteration (default `10 n`).
    #[must_use]
    pub fn with_max_cg_iter(mut self, max_cg_iter: usize) -> Self {
        self.max_cg_iter = Some(max_cg_iter);
        self
    }

    /// Which globalization the solver uses.
    pub fn globalization(&self) -> Globalization {
        self.globalization
    }

    /// Inner CG steps of the last run (after [`minimize`](Self::minimize) on
    /// a clone, read them from [`Run::solver`](crate::solver::Run::solver)).
    pub fn cg_iterations(&self) -> u64 {
        self.cg_iterations
    }

    /// Inner solves of the last run that met non-positive curvature.
    pub fn negative_curvature_exits(&self) -> u64 {
        self.negative_curvature
    }

    /// Trust-region trial steps the last run rejected.
    pub fn rejected_steps(&self) -> u64 {
        self.rejected
    }

    /// The current trust radius `Δ_k` (trust-region variant).
    pub fn radius(&self) -> f64 {
        self.delta
    }

    /// Runs to the end from `x0`.
    pub fn minimize<P: HessVec + ?Sized>(&self, problem: &P, x0: &[f64]) -> Result<Report, Error>
    where
        L: LineSearch + Clone,
    {
        crate::solver::minimize(self.clone(), problem, x0)
    }

    fn validate(&self) -> Result<(), Error> {
        check_positive("initial_radius", self.delta0)?;
        check_positive("max_radius", self.delta_max)?;
        if self.delta_max < self.delta0 {
            return Err(Error::invalid_option(
                "max_radius",
                self.delta_max,
                "must be >= initial_radius",
            ));
        }
        if !(0.0..0.25).contains(&self.eta) {
            return Err(Error::invalid_option(
                "eta",
                self.eta,
                "must be in [0, 0.25)",
            ));
        }
        if self.max_cg_iter == Some(0) {
            return Err(Error::invalid_option("max_cg_iter", 0, "must be >= 1"));
        }
        Ok(())
    }
}

run_options!([L] NewtonCg<L>);

impl<P: HessVec, L: LineSearch> Minimizer<P> for NewtonCg<L> {
    fn name(&self) -> &'static str {
        match self.globalization {
            Globalization::LineSearch => "newton-cg",
            Globalization::TrustRegion => "newton-cg-tr",
        }
    }

    fn options(&self) -> &RunOptions {
        &self.options
    }

    fn dim(&self, problem: &Counted<P>) -> usize {
        problem.dim()
    }

    fn init(&mut self, problem: &Counted<P>, state: &mut State) -> Result<(), Error> {
        self.validate()?;
        self.line_search.validate()?;
        self.line_search.reset();
        self.work = Work::new(state.x.len(), self.max_cg_iter);
        self.delta = self.delta0;
        self.cg_iterations = 0;
        self.negative_curvature = 0;
        self.rejected = 0;
        state.f = problem.value_grad(&state.x, &mut state.g);
        Ok(())
    }

    fn next_iter(&mut self, problem: &Counted<P>, state: &mut State) -> Option<Termination> {
        if self.work.p.len() != state.x.len() {
            // Resumed from a checkpoint: the workspace was not serialized.
            self.work = Work::new(state.x.len(), self.max_cg_iter);
        }
        match self.globalization {
            Globalization::LineSearch => self.line_search_iter(problem, state),
            Globalization::TrustRegion => self.trust_region_iter(problem, state),
        }
    }
}

/// Doublings of the step at most in one [`extrapolate`].
const MAX_DOUBLINGS: u32 = 60;

/// Along a direction of non-positive curvature the quadratic model falls
/// without bound, so the unit step has no meaning: if the line search took
/// it (or longer), keep doubling `α` while `φ` falls, at most
/// [`MAX_DOUBLINGS`] times (one value evaluation each, one more for the
/// doubling that stops). On a bounded problem the doublings stop where `φ`
/// turns up, past a saddle's escape direction; on an objective unbounded
/// below (a linear `f`, where the Hessian is zero and N&W Alg. 7.1 gives
/// `−g` with `α = 1` forever) `f` reaches [`Stop::f_lower`] in a few
/// iterations and the run ends `unbounded` (issue 18).
///
/// [`Stop::f_lower`]: crate::solver::Stop::f_lower
fn extrapolate(line: &mut dyn LineFunction, alpha: f64, phi: f64) -> f64 {
    let (mut alpha, mut phi) = (alpha, phi);
    for _ in 0..MAX_DOUBLINGS {
        let next = line.value(2.0 * alpha);
        if next.is_nan() || next >= phi {
            break;
        }
        alpha *= 2.0;
        phi = next;
    }
    alpha
}

impl<L: LineSearch> NewtonCg<L> {
    /// N&W Algorithm 7.1, one outer iteration.
    fn line_search_iter<P: HessVec>(
        &mut self,
        problem: &Counted<P>,
        state: &mut State,
    ) -> Option<Termination> {
        let Work {
            p,
            b,
            x_trial,
            g_trial,
            cg,
            ..
        } = &mut self.work;
        // η_k = min(0.5, √‖g_k‖): CG stops at ‖B p + g‖ ≤ η_k ‖g_k‖.
        let eta_k = forcing_term(norm2(&state.g));
        if cg.set_rtol(eta_k).is_err() {
            return Some(Termination::NonFiniteValue);
        }
        for (bi, gi) in b.iter_mut().zip(&state.g) {
            *bi = -gi;
        }
        p.fill(0.0);
        let hessian = HessianOperator::new(problem, &state.x);
        let result = match cg.solve(&hessian, b, p, None) {
            Ok(result) => result,
            Err(e) => {
                state.note = Some(e.to_string());
                return Some(Termination::LinearAlgebraFailure);
            }
        };
        self.cg_iterations += result.iterations as u64;
        let mut unbounded_model = false;
        match result.outcome {
            CgOutcome::Converged | CgOutcome::MaxIterations => {}
            CgOutcome::NegativeCurvature { curvature } => {
                self.negative_curvature += 1;
                unbounded_model = true;
                if result.iterations == 0 {
                    // d_0ᵀ B d_0 ≤ 0 with d_0 = −g: steepest descent.
                    p.copy_from_slice(b);
                }
                state.note = Some(format!(
                    "negative curvature {curvature:.3e} after {} CG steps",
                    result.iterations
                ));
            }
            CgOutcome::Breakdown => {
                state.note = Some("Hessian-vector product not finite".into());
                return Some(Termination::NonFiniteValue);
            }
        }
        let dphi0 = dot(&state.g, p);
        if dphi0.is_nan() {
            return Some(Termination::NonFiniteValue);
        }
        if dphi0 >= 0.0 {
            // CG from p = 0 gives descent directions in exact arithmetic.
            return Some(Termination::NotDescentDirection);
        }
        let mut line = ProblemLine::new(problem, &state.x, p, x_trial, g_trial);
        let step = match self.line_search.search(&mut line, state.f, dphi0, 1.0) {
            Ok(step) => step,
            Err(e) => {
                state.note = Some(e.to_string());
                return Some(Termination::LineSearchFailed);
            }
        };
        let alpha = if unbounded_model && step.alpha >= 1.0 {
            extrapolate(&mut line, step.alpha, step.phi)
        } else {
            step.alpha
        };
        let step = LineSearchResult { alpha, ..step };
        let f = line.finish(step.alpha);
        if !f.is_finite() {
            return Some(Termination::NonFiniteValue);
        }
        state.step_norm = step.alpha * p.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        state.alpha = step.alpha;
        state.f = f;
        std::mem::swap(&mut state.x, x_trial);
        std::mem::swap(&mut state.g, g_trial);
        None
    }

    /// N&W Algorithm 4.1 with Steihaug's CG (Alg. 7.2) until a step is accepted.
    fn trust_region_iter<P: HessVec>(
        &mut self,
        problem: &Counted<P>,
        state: &mut State,
    ) -> Option<Termination> {
        let Work {
            p,
            x_trial,
            g_trial,
            steihaug,
            ..
        } = &mut self.work;
        let eta_k = forcing_term(norm2(&state.g));
        if steihaug.set_rtol(eta_k).is_err() {
            return Some(Termination::NonFiniteValue);
        }
        let hessian = HessianOperator::new(problem, &state.x);
        loop {
            let result = match steihaug.solve(&hessian, &state.g, self.delta, p) {
                Ok(result) => result,
                Err(e) => {
                    state.note = Some(e.to_string());
                    return Some(Termination::LinearAlgebraFailure);
                }
            };
            self.cg_iterations += result.iterations as u64;
            match result.outcome {
                SteihaugOutcome::Breakdown => {
                    state.note = Some("Hessian-vector product not finite".into());
                    return Some(Termination::NonFiniteValue);
                }
                SteihaugOutcome::NegativeCurvature => self.negative_curvature += 1,
                _ => {}
            }
            // x + p, ‖p‖∞, and whether x moved at all, in one pass (n = 1e6:
            // each pass over the vectors is a measurable share of an iteration).
            let mut moved = false;
            let mut p_max = 0.0f64;
            for ((xt, &xi), &pi) in x_trial.iter_mut().zip(&state.x).zip(p.iter()) {
                *xt = xi + pi;
                moved |= *xt != xi;
                p_max = p_max.max(pi.abs());
            }
            if !moved {
                return Some(Termination::TrustRegionTooSmall);
            }
            let f_trial = problem.value_grad(x_trial, g_trial);
            // ρ_k = actual / predicted reduction (N&W (4.4)), both shifted by
            // δ_k = 10 ε max(1, |f_k|) (Conn, Gould & Toint 2000, §17.4.2), so
            // that ρ_k → 1 when both fall below rounding near a minimizer.
            let predicted = -result.model_value;
            let shift = 10.0 * f64::EPSILON * state.f.abs().max(1.0);
            let rho = if f_trial.is_finite() && predicted >= 0.0 {
                (state.f - f_trial + shift) / (predicted + shift)
            } else {
                f64::NEG_INFINITY
            };
            let accepted = rho > self.eta;
            if rho < 0.25 {
                let base = if accepted {
                    self.delta
                } else {
                    // Deviation (file header): an interior step would repeat.
                    self.delta.min(result.step_norm)
                };
                self.delta = 0.25 * base;
            } else if rho > 0.75 && result.outcome.on_boundary() {
                self.delta = (2.0 * self.delta).min(self.delta_max);
            }
            if accepted {
                state.step_norm = p_max;
                state.alpha = f64::NAN;
                state.f = f_trial;
                std::mem::swap(&mut state.x, x_trial);
                std::mem::swap(&mut state.g, g_trial);
                return None;
            }
            self.rejected += 1;
            if self.delta <= 0.0 {
                return Some(Termination::TrustRegionTooSmall);
            }
        }
    }
}
