//! Nonlinear conjugate gradients.
//!
//! Nocedal & Wright, *Numerical Optimization* (2nd ed., 2006), §5.2
//! (Algorithm 5.4, FR; (5.44)-(5.50) the other choices of `β`); Hager &
//! Zhang, "A new conjugate gradient method with guaranteed descent and an
//! efficient line search", *SIAM J. Optim.* 16 (2005) 170-192 (HZ); Dai &
//! Yuan, *SIAM J. Optim.* 10 (1999) 177-182; Powell, "Restart procedures for
//! the conjugate gradient method", *Math. Programming* 12 (1977) 241-254.
//!
//! Notation: `g_k = ∇f(x_k)`, `d_k` the direction, `y_k = g_{k+1} − g_k`.
//! `d_0 = −g_0`, `x_{k+1} = x_k + α_k d_k`, `d_{k+1} = −g_{k+1} + β_{k+1} d_k`
//! with ([`Beta`]):
//!
//! | choice | `β_{k+1}` | source |
//! |---|---|---|
//! | FR  | `g₊ᵀg₊ / gᵀg` | N&W (5.41a) |
//! | PR  | `g₊ᵀy / gᵀg` | N&W (5.44) |
//! | PR+ | `max(β^PR, 0)` | N&W (5.45) |
//! | HS  | `g₊ᵀy / dᵀy` | N&W (5.46) |
//! | DY  | `g₊ᵀg₊ / dᵀy` | Dai-Yuan (1999), N&W (5.49) |
//! | HZ  | `max(β^N, η_k)`, `β^N = (y − 2d ‖y‖²/dᵀy)ᵀg₊ / dᵀy`, `η_k = −1/(‖d‖ min(η, ‖g‖))` | HZ (1.3), (1.6) with `η = 0.01` |
//!
//! Restarts (`β = 0`, so `d = −g₊`): every `n` iterations (N&W p. 124);
//! Powell's test `|g₊ᵀg| ≥ ν ‖g₊‖²` with `ν = 0.2` (Powell 1977, §4; N&W
//! (5.52) quote `ν = 0.1`), not for HZ, whose truncation already guarantees
//! descent; and whenever `d_{k+1}` is not a descent direction (a deviation
//! from the book, where FR with a strong Wolfe search and `c₂ < ½` cannot
//! lose descent, N&W Lemma 5.6, but other choices and searches can).
//!
//! Line search: strong Wolfe by Moré-Thuente with `c₁ = 1e-4`, `c₂ = 0.1`
//! (N&W p. 125: CG wants a more accurate search than quasi-Newton) and the
//! quasi-Newton methods' rounding allowance `1e-14 |f|` in the
//! sufficient-decrease test ([`MoreThuente::with_f_eps`]), or, for
//! [`Beta::HagerZhang`], Hager-Zhang's own search, as CG_DESCENT pairs them
//! ([`CgLineSearch`]). The first trial step ([`CgInitialStep`]) is
//! [`QuadraticInterpolation`], N&W (3.60)'s companion on p. 59 and scipy's
//! `CG`: `α₀ = min(1, 1.01 · 2 (f_k − f_{k−1}) / φ'_k(0))`, the minimizer of
//! the quadratic through `f_{k−1}`, `f_k` and `φ'_k(0)`; for
//! [`Beta::HagerZhang`] it is CG_DESCENT's [`HagerZhangInitial`] (HZ06 §4:
//! `QuadStep`, a quadratic fit through one probe). Measured on the MGH
//! protocol (35 problems, 1×/10×/100×, `gtol = 1e-10`): PR with
//! [`ScaledPrevious`] (N&W (3.60), `α₀ = α_{k−1} φ'_{k−1}(0) / φ'_k(0)`)
//! solved 27/23/20 with 144 244 gradients in all, with
//! [`QuadraticInterpolation`] 27/26/24 with 82 923: after a restart (3.60)
//! carries the previous step's scale into a direction of another scale.
//! Hager-Zhang's search accepts `φ'(α) ≥ 0.9 φ'(0)`, so with
//! [`ScaledPrevious`] it took the first trial nearly every time and CG
//! degenerated to steepest descent: 27 295 iterations on Rosenbrock from
//! (−1.2, 1) to `‖g‖∞ ≤ 1e-8`, against 52 with `QuadStep`.
//!
//! When a line search fails along a direction other than `−g_k`, the
//! iteration restarts with `d_k = −g_k` and searches again before it gives up
//! (as CG_DESCENT and Optim.jl do not; scipy's `CG` stops): a CG direction
//! that is a poor descent direction is a reason to restart, not to stop.
//! Unless the failed search's trials were all finite and none went below
//! `f_k`: rounding is then the cause, `−g_k` would meet the same floor, and
//! the run ends at once. This step is BFGS's and L-BFGS's too
//! (`linesearch::step`); CG's restart keeps the initial step's history.

use serde::{Deserialize, Serialize};

use crate::linesearch::initial::StepContext;
use crate::linesearch::step::{Buffers, Direction, Searcher, search_step};
use crate::linesearch::{
    HagerZhang, HagerZhangInitial, InitialStep, LineFunction, LineSearch, LineSearchError,
    LineSearchResult, MoreThuente, QuadraticInterpolation, ScaledPrevious, dot,
};
use crate::problem::{Counted, Gradient, Objective};
use crate::quasi_newton::F_EPS;
use crate::solver::{
    Error, Minimizer, Report, RunOptions, State, Termination, check_positive, float_serde,
    inf_norm, run_options,
};

/// The choice of `β` in `d_{k+1} = −g_{k+1} + β d_k` (see the module docs for
/// the formulas and sources).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Beta {
    /// Fletcher-Reeves (1964), N&W (5.41a).
    FletcherReeves,
    /// Polak-Ribière (1969), N&W (5.44).
    PolakRibiere,
    /// Polak-Ribière truncated at 0, N&W (5.45) (Gilbert & Nocedal 1992):
    /// the default, globally convergent with a strong Wolfe search.
    #[default]
    PolakRibierePlus,
    /// Hestenes-Stiefel (1952), N&W (5.46).
    HestenesStiefel,
    /// Dai-Yuan (1999), N&W (5.49).
    DaiYuan,
    /// Hager-Zhang (2005), CG_DESCENT's `β` with its lower truncation `η = 0.01`.
    HagerZhang,
}

impl Beta {
    /// The command-line name of the method: `"cg-fr"`, `"cg-pr"`, `"cg-pr+"`,
    /// `"cg-hs"`, `"cg-dy"`, `"cg-hz"`.
    pub fn method_name(self) -> &'static str {
        match self {
            Beta::FletcherReeves => "cg-fr",
            Beta::PolakRibiere => "cg-pr",
            Beta::PolakRibierePlus => "cg-pr+",
            Beta::HestenesStiefel => "cg-hs",
            Beta::DaiYuan => "cg-dy",
            Beta::HagerZhang => "cg-hz",
        }
    }
}

/// The default line search of [`NonlinearCg`]: Moré-Thuente with `c₂ = 0.1`,
/// or Hager-Zhang's for [`Beta::HagerZhang`] ([`CgLineSearch::for_beta`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CgLineSearch {
    /// Strong Wolfe by [`MoreThuente`].
    MoreThuente(MoreThuente),
    /// Hager-Zhang's (approximate) Wolfe search, [`HagerZhang`].
    HagerZhang(HagerZhang),
}

impl CgLineSearch {
    /// `HagerZhang::default()` for [`Beta::HagerZhang`] (CG_DESCENT), else
    /// `MoreThuente` with `c₁ = 1e-4`, `c₂ = 0.1` (N&W p. 125) and
    /// `f_eps = 1e-14`.
    pub fn for_beta(beta: Beta) -> Self {
        match beta {
            Beta::HagerZhang => CgLineSearch::HagerZhang(HagerZhang::default()),
            _ => CgLineSearch::MoreThuente(MoreThuente::default().with_c2(0.1).with_f_eps(F_EPS)),
        }
    }
}

impl LineSearch for CgLineSearch {
    fn validate(&self) -> Result<(), Error> {
        match self {
            CgLineSearch::MoreThuente(l) => l.validate(),
            CgLineSearch::HagerZhang(l) => l.validate(),
        }
    }
    fn reset(&mut self) {
        match self {
            CgLineSearch::MoreThuente(l) => l.reset(),
            CgLineSearch::HagerZhang(l) => l.reset(),
        }
    }
    fn search(
        &mut self,
        phi: &mut dyn LineFunction,
        phi0: f64,
        dphi0: f64,
        alpha0: f64,
    ) -> Result<LineSearchResult, LineSearchError> {
        match self {
            CgLineSearch::MoreThuente(l) => l.search(phi, phi0, dphi0, alpha0),
            CgLineSearch::HagerZhang(l) => l.search(phi, phi0, dphi0, alpha0),
        }
    }
}

/// The initial step of [`NonlinearCg`]: [`QuadraticInterpolation`] by
/// default, CG_DESCENT's [`HagerZhangInitial`] for [`Beta::HagerZhang`]
/// ([`CgInitialStep::for_beta`]), or N&W (3.60)'s [`ScaledPrevious`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum CgInitialStep {
    /// N&W p. 59 (scipy's `CG`), [`QuadraticInterpolation`]: the default.
    QuadraticInterpolation(QuadraticInterpolation),
    /// N&W (3.60), [`ScaledPrevious`].
    ScaledPrevious(ScaledPrevious),
    /// HZ06 §4 (`QuadStep`), [`HagerZhangInitial`].
    HagerZhang(HagerZhangInitial),
}

impl Default for CgInitialStep {
    fn default() -> Self {
        CgInitialStep::QuadraticInterpolation(QuadraticInterpolation::default())
    }
}

impl CgInitialStep {
    /// `HagerZhangInitial::default()` for [`Beta::HagerZhang`] (CG_DESCENT's
    /// pairing), else `QuadraticInterpolation::default()`.
    pub fn for_beta(beta: Beta) -> Self {
        match beta {
            Beta::HagerZhang => CgInitialStep::HagerZhang(HagerZhangInitial::default()),
            _ => CgInitialStep::default(),
        }
    }
}

impl InitialStep for CgInitialStep {
    fn alpha0(&mut self, ctx: &StepContext<'_>, phi: &mut dyn LineFunction) -> f64 {
        match self {
            CgInitialStep::QuadraticInterpolation(i) => i.alpha0(ctx, phi),
            CgInitialStep::ScaledPrevious(i) => i.alpha0(ctx, phi),
            CgInitialStep::HagerZhang(i) => i.alpha0(ctx, phi),
        }
    }
    fn accept(&mut self, alpha: f64, ctx: &StepContext<'_>) {
        match self {
            CgInitialStep::QuadraticInterpolation(i) => i.accept(alpha, ctx),
            CgInitialStep::ScaledPrevious(i) => i.accept(alpha, ctx),
            CgInitialStep::HagerZhang(i) => i.accept(alpha, ctx),
        }
    }
    fn reset(&mut self) {
        match self {
            CgInitialStep::QuadraticInterpolation(i) => i.reset(),
            CgInitialStep::ScaledPrevious(i) => i.reset(),
            CgInitialStep::HagerZhang(i) => i.reset(),
        }
    }
}

/// Nonlinear conjugate gradients with a choice of [`Beta`].
///
/// Defaults: [`Beta::PolakRibierePlus`]; line search [`CgLineSearch::for_beta`]
/// (Moré-Thuente with `c₂ = 0.1`, Hager-Zhang's for [`Beta::HagerZhang`]);
/// initial step [`CgInitialStep::for_beta`] ([`QuadraticInterpolation`],
/// [`HagerZhangInitial`] for [`Beta::HagerZhang`]);
/// restart every `n` iterations and by Powell's test with `ν = 0.2`; `η = 0.01`
/// for [`Beta::HagerZhang`].
///
/// # Requirements on the optimization problem
/// [`Gradient`]; `O(n)` memory (four vectors beyond the iterate).
///
/// # Example
/// ```
/// use hesse::prelude::*;
/// // f = x² + 10 y²: conjugate gradients on a quadratic.
/// let p = FnGradient::new(2, |x: &[f64], g: &mut [f64]| {
///     g[0] = 2.0 * x[0];
///     g[1] = 20.0 * x[1];
///     x[0] * x[0] + 10.0 * x[1] * x[1]
/// });
/// let report = NonlinearCg::new(Beta::PolakRibierePlus).with_gtol(1e-10).minimize(&p, &[1.0, 1.0]).unwrap();
/// assert!(report.converged());
/// assert_eq!(report.method, "cg-pr+");
/// ```
///
/// # Reference
/// Nocedal & Wright (2006) §5.2; Hager & Zhang (2005); Powell (1977).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NonlinearCg<L = CgLineSearch, I = CgInitialStep> {
    options: RunOptions,
    line_search: L,
    initial_step: I,
    beta: Beta,
    restart_every: Option<u64>,
    powell: Option<f64>,
    #[serde(with = "crate::solver::float_serde")]
    eta: f64,
    /// `d_k`, the direction of the next iteration (empty before the start).
    #[serde(with = "float_serde::vec")]
    d: Vec<f64>,
    /// Iterations since the last restart.
    since_restart: u64,
    #[serde(skip)]
    work: Work,
}

#[derive(Debug, Clone, Default)]
struct Work {
    x_trial: Vec<f64>,
    g_trial: Vec<f64>,
}

impl Default for NonlinearCg {
    fn default() -> Self {
        Self::new(Beta::default())
    }
}

impl NonlinearCg {
    /// Conjugate gradients with `beta` and its default line search and
    /// initial step ([`CgLineSearch::for_beta`], [`CgInitialStep::for_beta`]).
    pub fn new(beta: Beta) -> Self {
        let mut cg = Self::with_line_search(CgLineSearch::for_beta(beta)).with_beta(beta);
        cg.initial_step = CgInitialStep::for_beta(beta);
        cg
    }
}

impl<L> NonlinearCg<L> {
    /// Conjugate gradients ([`Beta::PolakRibierePlus`]) with the given line
    /// search and the initial step [`QuadraticInterpolation`]. For FR, a strong Wolfe
    /// search with `c₂ < ½` keeps every direction a descent direction (N&W
    /// Lemma 5.6).
    pub fn with_line_search(line_search: L) -> Self {
        NonlinearCg {
            options: RunOptions::default(),
            line_search,
            initial_step: CgInitialStep::default(),
            beta: Beta::default(),
            restart_every: None,
            powell: Some(0.2),
            eta: 0.01,
            d: Vec::new(),
            since_restart: 0,
            work: Work::default(),
        }
    }
}

impl<L, I> NonlinearCg<L, I> {
    /// Uses `initial_step` for the first trial of each line search.
    pub fn with_initial_step<J: InitialStep>(self, initial_step: J) -> NonlinearCg<L, J> {
        NonlinearCg {
            options: self.options,
            line_search: self.line_search,
            initial_step,
            beta: self.beta,
            restart_every: self.restart_every,
            powell: self.powell,
            eta: self.eta,
            d: self.d,
            since_restart: self.since_restart,
            work: self.work,
        }
    }

    /// The choice of `β` (default [`Beta::PolakRibierePlus`]). The line search
    /// and initial step stay as they are: [`NonlinearCg::new`] picks the ones
    /// that go with `β`.
    #[must_use]
    pub fn with_beta(mut self, beta: Beta) -> Self {
        self.beta = beta;
        self
    }

    /// Restart with `d = −g` every `k` iterations (default `n`, N&W p. 124;
    /// `k ≥ 1`, checked when the run starts; `u64::MAX` for never).
    #[must_use]
    pub fn with_restart_every(mut self, k: u64) -> Self {
        self.restart_every = Some(k);
        self
    }

    /// Powell's restart test `|g₊ᵀg| ≥ ν ‖g₊‖²` (default `Some(0.2)`, Powell
    /// 1977; N&W (5.52) use `0.1`); `None` turns it off. Never applied with
    /// [`Beta::HagerZhang`]. `ν` must be finite and `> 0`.
    #[must_use]
    pub fn with_powell_restart(mut self, nu: Option<f64>) -> Self {
        self.powell = nu;
        self
    }

    /// The truncation `η` of [`Beta::HagerZhang`] (default `0.01`, HZ (1.6);
    /// finite and `> 0`).
    #[must_use]
    pub fn with_eta(mut self, eta: f64) -> Self {
        self.eta = eta;
        self
    }

    /// Runs to the end from `x0`.
    pub fn minimize<P: Gradient + ?Sized>(&self, problem: &P, x0: &[f64]) -> Result<Report, Error>
    where
        L: LineSearch + Clone,
        I: InitialStep + Clone,
    {
        crate::solver::minimize(self.clone(), problem, x0)
    }
}

run_options!([L, I] NonlinearCg<L, I>);

/// The dot products one pass gives for `β` and the restart tests.
struct Products {
    /// `g₊ᵀg₊`, `g₊ᵀg`, `gᵀg`, `dᵀg₊`, `dᵀg`, `yᵀy`, `dᵀd`.
    gpgp: f64,
    gpg: f64,
    gg: f64,
    dgp: f64,
    dg: f64,
    yy: f64,
    dd: f64,
}

fn products(g_new: &[f64], g: &[f64], d: &[f64]) -> Products {
    let mut p = Products {
        gpgp: 0.0,
        gpg: 0.0,
        gg: 0.0,
        dgp: 0.0,
        dg: 0.0,
        yy: 0.0,
        dd: 0.0,
    };
    for ((&gp, &gi), &di) in g_new.iter().zip(g).zip(d) {
        let yi = gp - gi;
        p.gpgp += gp * gp;
        p.gpg += gp * gi;
        p.gg += gi * gi;
        p.dgp += di * gp;
        p.dg += di * gi;
        p.yy += yi * yi;
        p.dd += di * di;
    }
    p
}

/// `β_{k+1}` from the products; NaN or ±∞ where a denominator vanishes.
fn beta_value(beta: Beta, eta: f64, p: &Products) -> f64 {
    let gpy = p.gpgp - p.gpg; // g₊ᵀy
    let dy = p.dgp - p.dg; // dᵀy
    match beta {
        Beta::FletcherReeves => p.gpgp / p.gg,
        Beta::PolakRibiere => gpy / p.gg,
        Beta::PolakRibierePlus => (gpy / p.gg).max(0.0),
        Beta::HestenesStiefel => gpy / dy,
        Beta::DaiYuan => p.gpgp / dy,
        Beta::HagerZhang => {
            // HZ (1.3): β^N = (y − 2 d ‖y‖²/dᵀy)ᵀ g₊ / dᵀy.
            let beta_n = (gpy - 2.0 * p.yy * p.dgp / dy) / dy;
            // HZ (1.6): η_k = −1 / (‖d_k‖ min(η, ‖g_k‖)).
            let eta_k = -1.0 / (p.dd.sqrt() * eta.min(p.gg.sqrt()));
            if beta_n.is_nan() {
                beta_n
            } else {
                beta_n.max(eta_k)
            }
        }
    }
}

impl<P: Gradient, L: LineSearch, I: InitialStep> Minimizer<P> for NonlinearCg<L, I> {
    fn name(&self) -> &'static str {
        self.beta.method_name()
    }

    fn check_resume(&self, problem: &Counted<P>) -> Result<(), Error> {
        crate::solver::check_saved("the checkpoint's CG direction", self.d.len(), problem.dim())
    }

    fn options(&self) -> &RunOptions {
        &self.options
    }

    fn dim(&self, problem: &Counted<P>) -> usize {
        problem.dim()
    }

    fn init(&mut self, problem: &Counted<P>, state: &mut State) -> Result<(), Error> {
        if self.restart_every == Some(0) {
            return Err(Error::invalid_option("restart_every", 0, "must be >= 1"));
        }
        if let Some(nu) = self.powell {
            check_positive("powell_restart", nu)?;
        }
        check_positive("eta", self.eta)?;
        self.line_search.validate()?;
        self.line_search.reset();
        self.initial_step.reset();
        let n = state.x.len();
        self.work = Work {
            x_trial: vec![0.0; n],
            g_trial: vec![0.0; n],
        };
        self.since_restart = 0;
        state.f = problem.value_grad(&state.x, &mut state.g);
        self.d = state.g.iter().map(|g| -g).collect();
        Ok(())
    }

    fn next_iter(&mut self, problem: &Counted<P>, state: &mut State) -> Option<Termination> {
        let n = state.x.len();
        if self.work.x_trial.len() != n {
            // Resumed from a checkpoint: the scratch vectors were not serialized.
            self.work = Work {
                x_trial: vec![0.0; n],
                g_trial: vec![0.0; n],
            };
        }
        let Work { x_trial, g_trial } = &mut self.work;
        let mut dir = CgDirection {
            since_restart: &mut self.since_restart,
        };
        let searcher = Searcher {
            line_search: &mut self.line_search,
            initial_step: &mut self.initial_step,
        };
        let buffers = Buffers {
            d: &mut self.d,
            x_trial,
            g_trial,
        };
        let (alpha, f, d_norm) = match search_step(problem, state, &mut dir, searcher, buffers) {
            Ok(step) => (step.alpha, step.f, step.d_norm),
            Err(t) => return Some(t),
        };
        let Work { g_trial, x_trial } = &mut self.work;
        let d = &mut self.d;
        let p = products(g_trial, &state.g, d);
        if !f.is_finite() || !p.gpgp.is_finite() {
            state.note = Some(format!("non-finite f or gradient at alpha = {alpha:e}"));
            return Some(Termination::NonFiniteValue);
        }
        state.step_norm = alpha * d_norm;

        // β_{k+1}, or 0 for a restart.
        self.since_restart += 1;
        let every = self.restart_every.unwrap_or(n as u64);
        let beta = if self.since_restart >= every {
            state.note = Some(format!("restart: {every} iterations"));
            0.0
        } else if self.beta != Beta::HagerZhang
            && self.powell.is_some_and(|nu| p.gpg.abs() >= nu * p.gpgp)
        {
            state.note = Some("restart: Powell's test |g₊ᵀg| ≥ ν ‖g₊‖²".into());
            0.0
        } else {
            let b = beta_value(self.beta, self.eta, &p);
            if b.is_finite() {
                b
            } else {
                state.note = Some(format!("restart: beta = {b} (vanishing denominator)"));
                0.0
            }
        };
        if beta == 0.0 {
            self.since_restart = 0;
        }
        // d_{k+1} = −g_{k+1} + β d_k.
        for (di, gi) in d.iter_mut().zip(g_trial.iter()) {
            *di = beta * *di - gi;
        }
        state.alpha = alpha;
        state.f = f;
        std::mem::swap(&mut state.x, x_trial);
        std::mem::swap(&mut state.g, g_trial);
        None
    }

    fn previous_iterate(&self) -> Option<(&[f64], &[f64])> {
        // After the swap above, the trial buffers hold x_k and g_k.
        Some((&self.work.x_trial, &self.work.g_trial))
    }
}

/// The CG direction `d_k` (kept from the last iteration's update) for the
/// shared line-search step; forgetting is a restart, `d_k = −g_k`.
struct CgDirection<'a> {
    since_restart: &'a mut u64,
}

impl Direction for CgDirection<'_> {
    const NOT_DESCENT: &'static str = "restart: d was not a descent direction";
    const RETRIED: &'static str = "restart: the line search failed along d, not along −g";
    /// The initial step's history (the last step, `f_{k−1}`) stays: it is
    /// what scales a steepest-descent step too.
    const RESTART_INITIAL_STEP: bool = false;

    fn direction(&mut self, g: &[f64], d: &mut [f64]) -> (f64, f64) {
        (dot(g, d), inf_norm(d))
    }

    fn can_forget(&self) -> bool {
        *self.since_restart > 0
    }

    fn forget(&mut self, g: &[f64], d: &mut [f64]) {
        for (di, gi) in d.iter_mut().zip(g) {
            *di = -gi;
        }
        *self.since_restart = 0;
    }
}
