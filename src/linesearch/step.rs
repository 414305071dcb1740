//! One line-search step of a descent method, with its restart: what
//! [`Bfgs`](crate::quasi_newton::Bfgs), [`Lbfgs`](crate::quasi_newton::Lbfgs)
//! and [`NonlinearCg`](crate::cg::NonlinearCg) do between choosing a
//! direction and updating from the accepted point (Optim.jl's
//! `perform_linesearch!` with its per-method `reset_search_direction!`).
//!
//! Notation: `x_k`, `f_k`, `g_k = ∇f(x_k)` in the driver's [`State`], `d_k`
//! the method's direction ([`Direction`]), `φ(α) = f(x_k + α d_k)`.
//!
//! [`search_step`], in order:
//! 1. `d_k` from the method; if `φ'(0) = g_kᵀd_k` is not negative (rounding
//!    made the method's matrix indefinite, or a CG direction lost descent),
//!    the method forgets what it learned and `d_k = −g_k`
//!    ([`Direction::restart`]); if that does not descend either, the run ends
//!    in [`Termination::NotDescentDirection`];
//! 2. the initial step `α₀` and the line search along `d_k`;
//! 3. if the search fails: the typed termination ([`Watched::termination`]);
//!    the run ends there if `d_k` was already `−g_k` (nothing to forget), or
//!    if the search saw only finite values and none below `f_k`
//!    ([`no_decrease`]: rounding stopped it, and `−g_k` meets the same
//!    floor); otherwise the method forgets ([`Direction::forget`]) and the
//!    search is made once more along its reset direction.
//!
//! This departs from the books (N&W Algorithms 6.1, 7.5, 5.4 end at a failed
//! search); the restart turns several failures far from `x*` into solves on
//! the MGH protocol (`tests/mgh_protocol.rs`). scipy's L-BFGS-B restarts
//! too; CG_DESCENT, Optim.jl and scipy's `CG` do not.

use super::initial::StepContext;
use super::{InitialStep, LineFunction, LineSearch, LineSearchError, ProblemLine};
use crate::problem::Gradient;
use crate::solver::{State, Termination};

/// A method's search direction as [`search_step`] drives it.
pub(crate) trait Direction {
    /// The note of an iteration whose `d_k` was not a descent direction.
    const NOT_DESCENT: &'static str;
    /// The note of an iteration whose search failed along `d_k` and was made
    /// again along the reset direction.
    const RETRIED: &'static str;
    /// Whether the retry also restarts the initial step (its first
    /// iteration's rule, as for a new run): quasi-Newton methods, whose
    /// `α₀ = 1` assumes a scaled direction, do.
    const RESTART_INITIAL_STEP: bool;

    /// Writes `d_k` for the gradient `g` into `d`; returns `(gᵀd, ‖d‖∞)`.
    fn direction(&mut self, g: &[f64], d: &mut [f64]) -> (f64, f64);

    /// Whether the method has something to forget: `false` while the next
    /// direction is `−g_k` already (first iteration, after a reset or a CG
    /// restart), when a failed search ends the run.
    fn can_forget(&self) -> bool;

    /// Forgets what the method learned (`H = I`, history cleared, `β = 0`),
    /// so that [`direction`](Direction::direction) gives the steepest
    /// descent direction.
    fn forget(&mut self, g: &[f64], d: &mut [f64]);

    /// After a direction that did not descend: forgets and writes
    /// `d = −g`; returns `(gᵀd, ‖d‖∞)`.
    fn restart(&mut self, g: &[f64], d: &mut [f64]) -> (f64, f64) {
        self.forget(g, d);
        self.direction(g, d)
    }
}

/// The line search and initial step a method searches with.
pub(crate) struct Searcher<'a, L, I> {
    /// The line search.
    pub line_search: &'a mut L,
    /// The rule for its first trial.
    pub initial_step: &'a mut I,
}

/// The buffers of one step, each of the problem's dimension: the direction
/// `d_k`, and the trial point and its gradient, which hold `x_{k+1}` and
/// `g_{k+1}` once the step is accepted.
pub(crate) struct Buffers<'a> {
    pub d: &'a mut [f64],
    pub x_trial: &'a mut [f64],
    pub g_trial: &'a mut [f64],
}

/// An accepted step: `x_{k+1} = x_k + α d_k` in [`Buffers::x_trial`], its
/// gradient in [`Buffers::g_trial`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Accepted {
    /// `α_k`.
    pub alpha: f64,
    /// `f(x_{k+1})`.
    pub f: f64,
    /// `‖d_k‖∞` of the direction searched along.
    pub d_norm: f64,
}

/// One step from `state`: the direction, the initial step, the search and,
/// on failure, one restart along the reset direction (see the module docs).
/// Leaves `state` unchanged but for `note`; `Err` is the termination of a
/// step that found no acceptable point.
pub(crate) fn search_step<P, D, L, I>(
    problem: &P,
    state: &mut State,
    dir: &mut D,
    searcher: Searcher<'_, L, I>,
    buf: Buffers<'_>,
) -> Result<Accepted, Termination>
where
    P: Gradient + ?Sized,
    D: Direction,
    L: LineSearch,
    I: InitialStep,
{
    let Searcher {
        line_search,
        initial_step,
    } = searcher;
    let Buffers {
        d,
        x_trial,
        g_trial,
    } = buf;
    let mut retried = false;
    loop {
        let (mut dphi0, mut d_norm) = dir.direction(&state.g, d);
        if dphi0 >= 0.0 || dphi0.is_nan() {
            (dphi0, d_norm) = dir.restart(&state.g, d);
            state.note = Some(D::NOT_DESCENT.into());
            if dphi0 >= 0.0 || dphi0.is_nan() {
                return Err(Termination::NotDescentDirection);
            }
        }
        let ctx = StepContext {
            x: &state.x,
            f: state.f,
            dphi0,
            d_norm,
        };
        let mut line = ProblemLine::new(problem, &state.x, d, x_trial, g_trial);
        let mut watched = Watched::new(&mut line);
        let alpha0 = initial_step.alpha0(&ctx, &mut watched);
        let e = match line_search.search(&mut watched, state.f, dphi0, alpha0) {
            Ok(step) => {
                initial_step.accept(step.alpha, &ctx);
                let f = line.finish(step.alpha);
                if retried {
                    state.note = Some(D::RETRIED.into());
                }
                return Ok(Accepted {
                    alpha: step.alpha,
                    f,
                    d_norm,
                });
            }
            Err(e) => e,
        };
        let t = watched.termination(&e);
        let only_finite = watched.only_finite();
        state.note = Some(e.to_string());
        if retried || !dir.can_forget() || t == Termination::NotDescentDirection {
            return Err(t);
        }
        if only_finite && no_decrease(&e) {
            // Rounding, not the method's direction, stopped the search.
            return Err(t);
        }
        // The search failed along d_k: the method's curvature may be badly
        // scaled for where the iterate now is. Forget it and search once
        // more along −g_k before giving up.
        dir.forget(&state.g, d);
        if D::RESTART_INITIAL_STEP {
            initial_step.reset();
        }
        retried = true;
    }
}

/// Whether a failed search saw no trial below `φ(0)`: with finite trials
/// only ([`Watched::only_finite`]) along a descent direction, rounding is
/// the cause, and a restart along `−∇f_k` would meet the same floor.
pub(crate) fn no_decrease(e: &LineSearchError) -> bool {
    matches!(
        e,
        LineSearchError::RoundingErrors { best: None, .. }
            | LineSearchError::MaxEvaluations { best: None, .. }
    )
}

/// A [`LineFunction`] that remembers whether it met non-finite values, so a
/// failed search can be told apart from one that only saw NaN or ±∞.
pub(crate) struct Watched<'a> {
    inner: &'a mut dyn LineFunction,
    finite: bool,
    non_finite: bool,
}

impl<'a> Watched<'a> {
    pub(crate) fn new(inner: &'a mut dyn LineFunction) -> Self {
        Watched {
            inner,
            finite: false,
            non_finite: false,
        }
    }

    fn note(&mut self, v: f64) {
        if v.is_finite() {
            self.finite = true;
        } else {
            self.non_finite = true;
        }
    }

    /// Whether the search met finite values only (and at least one): then
    /// a failure with no decrease is rounding's doing ([`no_decrease`]).
    pub(crate) fn only_finite(&self) -> bool {
        self.finite && !self.non_finite
    }

    /// The termination for a failed search: [`Termination::NonFiniteValue`] if
    /// every trial was non-finite, the search's own failure otherwise.
    pub(crate) fn termination(&self, e: &LineSearchError) -> Termination {
        match e {
            LineSearchError::NotDescent { .. } => Termination::NotDescentDirection,
            LineSearchError::NonFinite { .. } => Termination::NonFiniteValue,
            _ if self.non_finite && !self.finite => Termination::NonFiniteValue,
            _ => Termination::LineSearchFailed,
        }
    }
}

impl LineFunction for Watched<'_> {
    fn value(&mut self, alpha: f64) -> f64 {
        let v = self.inner.value(alpha);
        self.note(v);
        v
    }
    fn value_deriv(&mut self, alpha: f64) -> (f64, f64) {
        let (v, d) = self.inner.value_deriv(alpha);
        self.note(v + d);
        (v, d)
    }
}
