//! The shared driver: stopping criteria, state, reports, observers.
//!
//! A minimizer implements [`Minimizer`]: `init` sizes its workspace and
//! evaluates the start, `next_iter` makes one iteration. Everything else, the
//! stopping tests, counting, history, observers, time, checkpoints, lives here,
//! once, in [`Run`] (the split follows argmin's `Solver` with its `init` and
//! `next_iter`).
//!
//! ```
//! use hesse::prelude::*;
//! use hesse::problems::Rosenbrock;
//! use hesse::solver::{Control, Run};
//!
//! // Step a run by hand and stop it from an observer after 5 iterations.
//! let problem = Rosenbrock::new(2);
//! let mut run = Run::new(GradientDescent::default(), &problem, &[-1.2, 1.0]).unwrap()
//!     .with_observer(|state: &State| if state.iteration >= 5 { Control::Stop } else { Control::Continue });
//! while run.step().is_none() {}
//! let report = run.report();
//! assert_eq!(report.iterations, 5);
//! assert_eq!(report.termination, Termination::UserStop);
//! ```

mod bounds;
mod error;
pub mod float_serde;
mod report;
mod stop;
mod termination;

use std::time::Instant;

use serde::{Deserialize, Serialize};

pub use bounds::{Bounds, Side};
pub use error::{Error, check_nonneg, check_positive, check_start};
pub(crate) use error::{check_alloc, check_dense};
pub use report::{IterRecord, Report};
pub(crate) use stop::run_options;
pub use stop::{RunOptions, Stop};
pub use termination::Termination;

use crate::problem::{Counted, Evals};

/// The iterate and what is known at it, shared between the driver and a
/// minimizer. A minimizer's `next_iter` moves `x`, `f` and `g` to the next
/// iterate and sets `step_norm` and `alpha`; the driver does the rest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// The current iterate `x_k`.
    #[serde(with = "float_serde::vec")]
    pub x: Vec<f64>,
    /// `f(x_k)`.
    #[serde(with = "float_serde")]
    pub f: f64,
    /// `∇f(x_k)`.
    #[serde(with = "float_serde::vec")]
    pub g: Vec<f64>,
    /// `‖g_k‖∞`, or under bounds the projected gradient's
    /// `‖P(x_k − g_k) − x_k‖∞` (set by the driver).
    #[serde(with = "float_serde")]
    pub grad_norm: f64,
    /// `‖g_0‖∞` (set by the driver).
    #[serde(with = "float_serde")]
    pub grad_norm0: f64,
    /// `f(x_{k−1})` (set by the driver; NaN at the start).
    #[serde(with = "float_serde")]
    pub f_prev: f64,
    /// `‖x_k − x_{k−1}‖∞` (set by the minimizer; NaN at the start).
    #[serde(with = "float_serde")]
    pub step_norm: f64,
    /// The step length of the last line search, or NaN where none applies.
    #[serde(with = "float_serde")]
    pub alpha: f64,
    /// Completed iterations `k`.
    pub iteration: u64,
    /// Evaluations so far (set by the driver).
    pub evals: Evals,
    /// Wall time so far, in seconds, over all resumed segments.
    pub seconds: f64,
    /// Something the last iteration did that a reader should know ("skipped
    /// BFGS update: sᵀy ≤ 0", "restart"), set by the minimizer.
    pub note: Option<String>,
    /// Whether the start lay outside the minimizer's bounds and was
    /// projected onto them (set by the driver).
    #[serde(default)]
    pub projected_start: bool,
    /// Consecutive iterations without progress so far (set by the driver;
    /// see [`Stop::no_progress_iters`]).
    #[serde(default)]
    pub stalled_iterations: u64,
}

impl State {
    /// A state at `x0` with nothing evaluated yet.
    pub fn new(x0: &[f64]) -> Self {
        State {
            x: x0.to_vec(),
            f: f64::NAN,
            g: vec![f64::NAN; x0.len()],
            grad_norm: f64::NAN,
            grad_norm0: f64::NAN,
            f_prev: f64::NAN,
            step_norm: f64::NAN,
            alpha: f64::NAN,
            iteration: 0,
            evals: Evals::default(),
            seconds: 0.0,
            note: None,
            projected_start: false,
            stalled_iterations: 0,
        }
    }
}

/// What an observer tells the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Go on.
    Continue,
    /// Stop now, with [`Termination::UserStop`].
    Stop,
}

/// A minimizer as the driver sees it. `P` is the problem type it runs on
/// (through [`Counted`], so every evaluation is counted).
pub trait Minimizer<P> {
    /// The method's name as the command line spells it (`"bfgs"`).
    fn name(&self) -> &'static str;

    /// The stopping criteria and history option.
    fn options(&self) -> &RunOptions;

    /// The number of variables of `problem` (`problem.dim()` for the scalar
    /// traits, `problem.num_params()` for [`Residuals`](crate::problem::Residuals)).
    fn dim(&self, problem: &Counted<P>) -> usize;

    /// Validates the options, sizes the workspace for `state.x.len()`
    /// variables, and evaluates `f` and `g` at `state.x` into `state.f` and
    /// `state.g`. Returns `Err` only for bad input.
    fn init(&mut self, problem: &Counted<P>, state: &mut State) -> Result<(), Error>;

    /// Makes one iteration from `state.x`, leaving `x`, `f`, `g`, `step_norm`
    /// and `alpha` at the next iterate, and returns `None`; or returns a
    /// [`Termination`] that the method itself detected (line search failed,
    /// non-finite value, ...), leaving `state` at the last good iterate.
    fn next_iter(&mut self, problem: &Counted<P>, state: &mut State) -> Option<Termination>;

    /// The box the method keeps every point in, if it takes bounds and was
    /// given some (default: none). With bounds, the driver projects the start
    /// onto them before [`init`](Minimizer::init), measures `grad_norm` as
    /// the projected gradient's ∞-norm, and reports the active set.
    fn bounds(&self) -> Option<&Bounds> {
        None
    }

    /// The iterate `x_k` and gradient `g_k` that the last
    /// [`next_iter`](Minimizer::next_iter) started from, if the minimizer
    /// still holds them once it has moved `state` on (default: `None`).
    ///
    /// A minimizer that ends an iteration by swapping its trial buffers with
    /// `state.x` and `state.g` holds them for free; answering `Some` spares
    /// the driver its own copy of `x_k` and `g_k` before every iteration
    /// (for the no-progress test, [`Stop::no_progress_iters`], and to return
    /// to `x_k` when a limit cuts an iteration short): two vectors of `n`
    /// read and written per iteration, which made an L-BFGS iteration at
    /// n = 1e6 measurably slower (`benches/lbfgs.rs`, "2026-12-06").
    ///
    /// The contract, for a minimizer that answers `Some`: it answers `Some`
    /// throughout a run (the driver asks before each iteration whether to
    /// copy, and reads the slices only after a `next_iter` that returned
    /// `None`); and a `next_iter` that returns a termination leaves
    /// `state.x`, `g`, `f`, `step_norm` and `alpha` as they were.
    fn previous_iterate(&self) -> Option<(&[f64], &[f64])> {
        None
    }

    /// The stopping measure [`State::grad_norm`] at the iterate the last
    /// [`next_iter`](Minimizer::next_iter) reached, if that iteration
    /// computed it on its way, bit for bit as the driver would (default:
    /// `None`, and the driver computes it).
    ///
    /// Under bounds the measure is a pass over `x`, `g` and both bounds:
    /// L-BFGS-B forms it in the pass that starts its next Cauchy path,
    /// which reads them anyway (at n = 1e6, about a twentieth of an
    /// iteration, `examples/bounds_scale.rs`). The driver asks only after a
    /// `next_iter` that returned `None`.
    fn known_grad_norm(&self) -> Option<f64> {
        None
    }

    /// Checks that the minimizer's saved state fits `problem` before
    /// [`Run::resume`] continues it from a checkpoint (default: nothing
    /// beyond the driver's own checks of `x` and `g` against the problem's
    /// `n`). A least-squares method checks its residuals against the
    /// problem's `m`: a checkpoint of a fit to 5 points resumed on 9, with
    /// the same parameters, is an error, not an index out of range.
    fn check_resume(&self, problem: &Counted<P>) -> Result<(), Error> {
        let _ = problem;
        Ok(())
    }
}

/// `Ok` when a checkpoint's saved `what` has `got` entries where the
/// problem calls for `expected` (for [`Minimizer::check_resume`]).
pub(crate) fn check_saved(what: &'static str, got: usize, expected: usize) -> Result<(), Error> {
    crate::diff::finite::check_len(what, got, expected, "problem")
}

/// A checkpoint of a run: the solver with its internal state, the shared
/// state and history. Serialize it (serde) and [`Run::resume`] it to continue
/// with results bit-identical to an uninterrupted run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Checkpoint<M> {
    /// The minimizer, with its options and internal state.
    pub solver: M,
    /// The shared state.
    pub state: State,
    /// The history so far, if kept.
    pub history: Option<Vec<IterRecord>>,
    /// Set once the run has ended.
    pub finished: Option<Termination>,
}

type Observer<'p> = Box<dyn FnMut(&State) -> Control + 'p>;

/// A run of a minimizer on a problem, stepped by the caller or run to the end.
pub struct Run<'p, M, P: ?Sized> {
    solver: M,
    problem: Counted<&'p P>,
    state: State,
    history: Option<Vec<IterRecord>>,
    observer: Option<Observer<'p>>,
    started: Instant,
    seconds_before: f64,
    finished: Option<Termination>,
    backup: Backup,
    /// The output contract the problem broke mid-run, if it did
    /// ([`Counted::broken_contract`]).
    broken: Option<String>,
}

/// The iterate before the current iteration: restored when the iteration is
/// abandoned at a limit, and compared with the new one by the no-progress
/// test. `x` and `g` are copied only for a minimizer that does not keep
/// them itself ([`Minimizer::previous_iterate`]); sized once per run.
#[derive(Default)]
struct Backup {
    /// Whether `x` and `g` hold `x_k`, `g_k` (else the minimizer has them).
    copied: bool,
    x: Vec<f64>,
    g: Vec<f64>,
    f: f64,
    step_norm: f64,
    alpha: f64,
}

impl Backup {
    /// Saves `s`, its vectors only if `copy`.
    fn save(&mut self, s: &State, copy: bool) {
        self.copied = copy;
        if copy {
            self.x.clone_from(&s.x);
            self.g.clone_from(&s.g);
        }
        self.f = s.f;
        self.step_norm = s.step_norm;
        self.alpha = s.alpha;
    }

    /// Returns `s` to `x_k`. `previous` is the minimizer's copy of `x_k`,
    /// `g_k`, if `state` has moved on (its `next_iter` completed) and the
    /// driver did not copy them; without it `s.x`, `s.g` are still `x_k`'s.
    fn restore(&self, s: &mut State, previous: Option<(&[f64], &[f64])>) {
        if self.copied {
            s.x.clone_from(&self.x);
            s.g.clone_from(&self.g);
        } else if let Some((x, g)) = previous {
            s.x.clear();
            s.x.extend_from_slice(x);
            s.g.clear();
            s.g.extend_from_slice(g);
        }
        s.f = self.f;
        s.step_norm = self.step_norm;
        s.alpha = self.alpha;
    }

    /// `x_k`: the copy, or the minimizer's after a completed `next_iter`.
    fn x<'a>(&'a self, previous: Option<(&'a [f64], &'a [f64])>) -> &'a [f64] {
        match previous {
            Some((x, _)) if !self.copied => x,
            _ => &self.x,
        }
    }
}

/// Evaluations in a row, each lower than the one before by a growing
/// amount, that end an iteration whose line search failed and make it
/// [`Termination::Unbounded`] rather than a line-search failure, if the last
/// of them also lies [`UNBOUNDED_DROP`] below `f_k`.
const UNBOUNDED_DESCENT_RUN: u32 = 5;

/// How far below `f_k` the failed search's last value must lie, in units of
/// `max(1, |f_k|)`, for [`UNBOUNDED_DESCENT_RUN`] to apply: a search whose
/// budget ran out while it extrapolated toward a distant but finite minimum
/// (MGH's Bard and Gaussian from 100× their starts with CG-FR, whose `f ≥ 0`)
/// stays a line-search failure.
const UNBOUNDED_DROP: f64 = 1e6;

/// Whether a failed search's evaluations read as `f` falling without bound.
fn extrapolated_without_bound((run, last): (u32, f64), f_k: f64) -> bool {
    run >= UNBOUNDED_DESCENT_RUN && last <= f_k - UNBOUNDED_DROP * f_k.abs().max(1.0)
}

/// `x_k` is within rounding of `x_{k−1}` in every coordinate, and `f_k` not
/// below `f_{k−1}` beyond rounding (the rule of [`Stop::no_progress_iters`]).
fn stalled(x_prev: &[f64], x: &[f64], f_prev: f64, f: f64) -> bool {
    let tol = 4.0 * f64::EPSILON;
    f >= f_prev - tol * f_prev.abs()
        && x_prev
            .iter()
            .zip(x)
            .all(|(&a, &b)| (b - a).abs() <= tol * b.abs())
}

impl<'p, M, P> Run<'p, M, P>
where
    M: Minimizer<&'p P>,
    P: ?Sized,
{
    /// Checks the input, evaluates the start and makes the start's tests.
    ///
    /// A non-finite `f` or `g` at the start is not an error: the run is
    /// finished at once with [`Termination::NonFiniteValue`]. A Hessian or
    /// Jacobian returned in another shape than the `n × n` or `m × n`
    /// matrix given ([`Counted::broken_contract`]) is an
    /// [`Error::InvalidProblem`] naming both shapes at the start, and ends a
    /// later iteration with [`Termination::NonFiniteValue`] at the last
    /// complete iterate, the shapes in the state's `note` (and
    /// [`minimize`] returns them as the error).
    pub fn new(mut solver: M, problem: &'p P, x0: &[f64]) -> Result<Self, Error> {
        let started = Instant::now();
        let counted = Counted::new(problem);
        check_start(x0, solver.dim(&counted))?;
        solver.options().stop.validate()?;
        let mut state = State::new(x0);
        if let Some(b) = solver.bounds() {
            b.check_dim(x0.len())?;
            state.projected_start = b.project(&mut state.x);
        }
        solver.init(&counted, &mut state)?;
        if let Some(message) = counted.broken_contract() {
            return Err(Error::InvalidProblem(message));
        }
        // The start is always evaluated; the limits apply from here on.
        let stop = &solver.options().stop;
        let deadline = stop.time_limit.and_then(|t| started.checked_add(t));
        let counted = Counted::with_evals(problem, counted.evals()).with_limits(
            stop.max_evals,
            deadline,
            stop.f_lower,
        );
        state.grad_norm = grad_norm(solver.bounds(), &state);
        state.grad_norm0 = state.grad_norm;
        state.evals = counted.evals();
        state.seconds = started.elapsed().as_secs_f64();
        let history = solver.options().history.then(Vec::new);
        let mut run = Run {
            solver,
            problem: counted,
            state,
            history,
            observer: None,
            started,
            seconds_before: 0.0,
            finished: None,
            backup: Backup::default(),
            broken: None,
        };
        run.finished = run.start_tests();
        if let Some(h) = &mut run.history {
            h.push(IterRecord::from_state(&run.state));
        }
        Ok(run)
    }

    /// Continues a checkpointed run on the same problem.
    pub fn resume(checkpoint: Checkpoint<M>, problem: &'p P) -> Result<Self, Error> {
        let started = Instant::now();
        let stop = &checkpoint.solver.options().stop;
        stop.validate()?;
        let deadline = stop.time_limit.map(|t| {
            let left = t.as_secs_f64() - checkpoint.state.seconds;
            started
                .checked_add(std::time::Duration::from_secs_f64(left.max(0.0)))
                .unwrap_or(started)
        });
        let counted = Counted::with_evals(problem, checkpoint.state.evals).with_limits(
            stop.max_evals,
            deadline,
            stop.f_lower,
        );
        let n = checkpoint.solver.dim(&counted);
        check_start(&checkpoint.state.x, n)?;
        check_saved("the checkpoint's gradient", checkpoint.state.g.len(), n)?;
        checkpoint.solver.check_resume(&counted)?;
        let Checkpoint {
            solver,
            state,
            history,
            finished,
        } = checkpoint;
        Ok(Run {
            problem: counted,
            seconds_before: state.seconds,
            solver,
            state,
            history,
            observer: None,
            started,
            finished,
            backup: Backup::default(),
            broken: None,
        })
    }

    /// Calls `observer` after every completed iteration, the last one
    /// included; it may stop the run (a stop asked on the iteration that ends
    /// the run anyway leaves that run's own termination).
    #[must_use]
    pub fn with_observer(mut self, observer: impl FnMut(&State) -> Control + 'p) -> Self {
        self.observer = Some(Box::new(observer));
        self
    }

    /// Makes one iteration. Returns `Some(termination)` once the run has
    /// ended (and on every call after that), `None` while it goes on.
    pub fn step(&mut self) -> Option<Termination> {
        if self.finished.is_some() {
            return self.finished;
        }
        let f_before = self.state.f;
        self.state.note = None;
        let keeps_previous = self.solver.previous_iterate().is_some();
        self.backup.save(&self.state, !keeps_previous);
        self.problem.watch_from(f_before);
        let outcome = self.solver.next_iter(&self.problem, &mut self.state);
        self.state.evals = self.problem.evals();
        self.state.seconds = self.seconds_before + self.started.elapsed().as_secs_f64();
        if let Some(halt) = self.problem.halted() {
            // A limit was reached inside the iteration (or f fell below
            // f_lower, or the problem returned a matrix of the wrong shape).
            // Keep its iterate only if the iteration completed on
            // evaluated values; else end at the last complete iterate.
            if let Some(message) = self.problem.broken_contract() {
                self.state.note = Some(message.clone());
                self.broken = Some(message);
            }
            let s = &self.state;
            let complete = outcome.is_none()
                && s.f.is_finite()
                && s.x.iter().chain(&s.g).all(|v| v.is_finite());
            let mut t = halt;
            if complete {
                self.complete_iteration(f_before);
                if let Some(c) = self.iteration_tests().filter(|c| c.converged()) {
                    t = c;
                }
            } else {
                // The minimizer moved `state` on only if it completed.
                let previous = outcome.is_none().then(|| self.solver.previous_iterate());
                self.backup.restore(&mut self.state, previous.flatten());
            }
            self.finished = Some(t);
            return self.finished;
        }
        if let Some(t) = outcome {
            // A line search that failed after extrapolating with ever larger
            // decreases in f: the objective appears unbounded below.
            let t = if t == Termination::LineSearchFailed
                && extrapolated_without_bound(self.problem.descent_run(), f_before)
            {
                Termination::Unbounded
            } else {
                t
            };
            self.finished = Some(t);
            return self.finished;
        }
        self.complete_iteration(f_before);
        self.finished = self.iteration_tests();
        // The observer sees every completed iteration, the one that ends the
        // run included (a progress bar or an epoch log must not miss the last).
        if let Some(obs) = &mut self.observer
            && obs(&self.state) == Control::Stop
            && self.finished.is_none()
        {
            self.finished = Some(Termination::UserStop);
        }
        self.finished
    }

    /// The driver's bookkeeping after an iteration that reached a new iterate.
    fn complete_iteration(&mut self, f_before: f64) {
        self.state.iteration += 1;
        self.state.f_prev = f_before;
        self.state.grad_norm = self
            .solver
            .known_grad_norm()
            .unwrap_or_else(|| grad_norm(self.solver.bounds(), &self.state));
        let x_prev = self.backup.x(self.solver.previous_iterate());
        if stalled(x_prev, &self.state.x, f_before, self.state.f) {
            self.state.stalled_iterations += 1;
        } else {
            self.state.stalled_iterations = 0;
        }
        if let Some(h) = &mut self.history {
            h.push(IterRecord::from_state(&self.state));
        }
    }

    /// Runs to the end and returns the report.
    pub fn finish(mut self) -> Report {
        while self.step().is_none() {}
        self.report()
    }

    /// The report as of now (termination `MaxIterations` if still running).
    pub fn report(&self) -> Report {
        Report {
            method: self.solver.name().to_string(),
            x: self.state.x.clone(),
            f: self.state.f,
            grad_norm: self.state.grad_norm,
            iterations: self.state.iteration,
            evals: self.state.evals,
            termination: self.finished.unwrap_or(Termination::MaxIterations),
            f_change: (self.state.f_prev - self.state.f).abs(),
            step_norm: self.state.step_norm,
            stop: self.solver.options().stop.clone(),
            history: self.history.clone(),
            elapsed: std::time::Duration::from_secs_f64(self.state.seconds),
            active: self.solver.bounds().map(|b| b.active(&self.state.x)),
            projected_start: self.state.projected_start,
        }
    }

    /// The current state.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The minimizer, with its internal state.
    pub fn solver(&self) -> &M {
        &self.solver
    }

    /// Whether the run has ended, and why.
    pub fn finished(&self) -> Option<Termination> {
        self.finished
    }

    /// A serializable snapshot to [`resume`](Run::resume) from.
    pub fn checkpoint(&self) -> Checkpoint<M>
    where
        M: Clone,
    {
        Checkpoint {
            solver: self.solver.clone(),
            state: self.state.clone(),
            history: self.history.clone(),
            finished: self.finished,
        }
    }

    /// The run as a snapshot to [`resume`](Run::resume) from, without
    /// copying the minimizer or the state ([`checkpoint`](Run::checkpoint)
    /// copies): a caller that steps a run a few iterations at a time keeps
    /// it between calls this way.
    pub fn into_checkpoint(self) -> Checkpoint<M> {
        Checkpoint {
            solver: self.solver,
            state: self.state,
            history: self.history,
            finished: self.finished,
        }
    }

    fn start_tests(&self) -> Option<Termination> {
        let s = &self.state;
        let stop = &self.solver.options().stop;
        if s.f == f64::NEG_INFINITY || s.f <= stop.f_lower {
            return Some(Termination::Unbounded);
        }
        if !s.f.is_finite() || !s.grad_norm.is_finite() {
            return Some(Termination::NonFiniteValue);
        }
        if s.grad_norm <= stop.g_threshold(s.grad_norm0) {
            return Some(Termination::GradientTolerance);
        }
        if stop.max_iter == 0 {
            return Some(Termination::MaxIterations);
        }
        None
    }

    fn iteration_tests(&self) -> Option<Termination> {
        let s = &self.state;
        let stop = &self.solver.options().stop;
        if !s.f.is_finite() || !s.grad_norm.is_finite() {
            return Some(Termination::NonFiniteValue);
        }
        if s.grad_norm <= stop.g_threshold(s.grad_norm0) {
            return Some(Termination::GradientTolerance);
        }
        let f_on = stop.f_abs > 0.0 || stop.f_rel > 0.0;
        if f_on && (s.f_prev - s.f).abs() <= stop.f_abs.max(stop.f_rel * s.f.abs()) {
            return Some(Termination::FunctionTolerance);
        }
        let x_on = stop.x_abs > 0.0 || stop.x_rel > 0.0;
        if x_on && s.step_norm.is_finite() {
            let x_scale = if stop.x_rel > 0.0 {
                inf_norm(&s.x)
            } else {
                0.0
            };
            if s.step_norm <= stop.x_abs.max(stop.x_rel * x_scale) {
                return Some(Termination::StepTolerance);
            }
        }
        if stop.no_progress_iters > 0 && s.stalled_iterations >= stop.no_progress_iters {
            return Some(Termination::NoProgress);
        }
        if s.iteration >= stop.max_iter {
            return Some(Termination::MaxIterations);
        }
        if stop.max_evals.is_some_and(|m| s.evals.total() >= m) {
            return Some(Termination::MaxEvaluations);
        }
        if stop
            .time_limit
            .is_some_and(|t| s.seconds >= t.as_secs_f64())
        {
            return Some(Termination::TimeLimit);
        }
        None
    }
}

/// Runs `solver` on `problem` from `x0` to the end: what each minimizer's
/// `minimize` calls.
///
/// # Errors
/// Bad input ([`Run::new`]), and a problem that broke its output contract
/// during the run ([`Counted::broken_contract`]: a Hessian or Jacobian
/// returned in another shape), as [`Error::InvalidProblem`] naming both
/// shapes.
pub fn minimize<'p, M, P>(solver: M, problem: &'p P, x0: &[f64]) -> Result<Report, Error>
where
    M: Minimizer<&'p P>,
    P: ?Sized,
{
    let mut run = Run::new(solver, problem, x0)?;
    while run.step().is_none() {}
    match run.broken.take() {
        Some(message) => Err(Error::InvalidProblem(message)),
        None => Ok(run.report()),
    }
}

/// `‖g‖∞`, or the projected gradient's ∞-norm under bounds.
fn grad_norm(bounds: Option<&Bounds>, s: &State) -> f64 {
    match bounds {
        Some(b) => b.projected_grad_norm(&s.x, &s.g),
        None => inf_norm(&s.g),
    }
}

/// `‖v‖∞`, NaN if any entry is NaN.
///
/// Branch-free with eight lanes, so that it vectorizes: the maximum of `|x|`
/// by comparison (which passes over NaN) and, apart, whether any `x` was NaN.
pub fn inf_norm(v: &[f64]) -> f64 {
    let mut max = [0.0f64; 8];
    let mut nan = [false; 8];
    let mut lanes = v.chunks_exact(8);
    for c in &mut lanes {
        for l in 0..8 {
            let a = c[l].abs();
            max[l] = if a > max[l] { a } else { max[l] };
            nan[l] |= c[l].is_nan();
        }
    }
    for &x in lanes.remainder() {
        let a = x.abs();
        max[0] = if a > max[0] { a } else { max[0] };
        nan[0] |= x.is_nan();
    }
    if nan.iter().any(|&b| b) {
        f64::NAN
    } else {
        max.iter().fold(0.0, |m: f64, &a| m.max(a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cg::NonlinearCg;
    use crate::problems::mgh::{self, Mgh};
    use crate::quasi_newton::{Bfgs, Lbfgs, LbfgsB};

    /// A minimizer with its [`Minimizer::previous_iterate`] hidden, so that
    /// the driver copies `x_k` and `g_k` itself.
    struct DriverCopies<M>(M);

    impl<P, M: Minimizer<P>> Minimizer<P> for DriverCopies<M> {
        fn name(&self) -> &'static str {
            self.0.name()
        }
        fn options(&self) -> &RunOptions {
            self.0.options()
        }
        fn dim(&self, problem: &Counted<P>) -> usize {
            self.0.dim(problem)
        }
        fn init(&mut self, problem: &Counted<P>, state: &mut State) -> Result<(), Error> {
            self.0.init(problem, state)
        }
        fn next_iter(&mut self, problem: &Counted<P>, state: &mut State) -> Option<Termination> {
            self.0.next_iter(problem, state)
        }
        fn bounds(&self) -> Option<&Bounds> {
            self.0.bounds()
        }
    }

    /// The run with the minimizer's copy of `x_k` against the run with the
    /// driver's: the same iterate bits, counts and termination.
    fn same_run<'p, M: Minimizer<&'p Mgh> + Clone>(m: &M, p: &'p Mgh, x0: &[f64]) {
        let ours = Run::new(m.clone(), p, x0).unwrap().finish();
        let copied = Run::new(DriverCopies(m.clone()), p, x0).unwrap().finish();
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let what = format!("{} on {} from {x0:?}", ours.method, p.name());
        assert_eq!(bits(&ours.x), bits(&copied.x), "{what}");
        assert_eq!(ours.f.to_bits(), copied.f.to_bits(), "{what}");
        assert_eq!(ours.iterations, copied.iterations, "{what}");
        assert_eq!(ours.evals, copied.evals, "{what}");
        assert_eq!(ours.termination, copied.termination, "{what}");
    }

    /// `previous_iterate` changes no run: on MGH from 1× and 100× their
    /// starts, to convergence (the no-progress test reads the minimizer's
    /// `x_k`) and with evaluation budgets that cut iterations short (the
    /// driver returns to the minimizer's `x_k`).
    #[test]
    fn the_minimizers_copy_of_x_k_changes_no_run() {
        for p in mgh::all() {
            for scale in [1.0, 100.0] {
                let x0 = p.start_scaled(scale);
                for max_evals in [None, Some(3), Some(8), Some(41)] {
                    let stop = Stop {
                        g_abs: 1e-10,
                        max_iter: 3000,
                        max_evals,
                        ..Stop::default()
                    };
                    same_run(&Bfgs::default().with_stop(stop.clone()), &p, &x0);
                    same_run(&Lbfgs::default().with_stop(stop.clone()), &p, &x0);
                    same_run(&LbfgsB::default().with_stop(stop.clone()), &p, &x0);
                    same_run(&NonlinearCg::default().with_stop(stop), &p, &x0);
                }
            }
        }
    }
}
