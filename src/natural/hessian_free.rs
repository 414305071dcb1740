//! Hessian-free optimization (Martens, "Deep learning via Hessian-free
//! optimization", ICML 2010), on generalized Gauss-Newton products.
//!
//! Notation as the paper: `θ` the parameters (`x_k` here), `B = G + λI` the
//! damped curvature, `q_θ(p) = ∇f(θ)ᵀp + ½ pᵀ G p` the (undamped) quadratic
//! model. One outer iteration:
//!
//! ```text
//! g = ∇f(θ_k)
//! p_0 = 0.95 · p_{k−1}                              warm start, §4.5 (decay 0.95, §4.8)
//! CG on (G + λI) p = −g from p_0, storing p_i at i = ⌈1.3^j⌉ and the last
//!   stop at i > k_min = 10 when  φ_i < 0 and (φ_i − φ_{i−s}) / φ_i < s·ε,
//!   s = max(10, ⌈0.1 i⌉), ε = 5·10⁻⁴, φ the CG quadratic          §4.4
//! backtrack: from the last stored p_i, go back while f(θ + p_j) decreases  §4.6
//! ρ = (f(θ + p) − f(θ)) / (q_θ(p) − q_θ(0))
//! ρ < ¼: λ ← 3/2 λ;  ρ > ¾: λ ← 2/3 λ              Levenberg-Marquardt, §4.1
//! ```
//!
//! Deviations: if even the backtracked step does not decrease `f`, an Armijo
//! backtracking on the step length (`α ← 0.8 α`, sufficient decrease
//! `10⁻² α gᵀp`) follows, as in Martens & Sutskever, "Training deep and
//! recurrent networks with Hessian-free optimization" (2012), §8.8; if that
//! fails too the step is rejected (λ grows, the warm start is reset) and the
//! iteration ends at the same point. The undamped model `q_θ` in `ρ` is as in
//! Martens & Sutskever (2012), §8.5. On the full-batch driver
//! ([`HessianFree::minimize`]) the gradient and the curvature come from the
//! same problem; on the minibatch [`Driver`] (HF is a
//! [`Method`]) the curvature products use the driver's curvature sub-batch
//! (§4.3: the first examples of the gradient's minibatch). The diagonal
//! preconditioner of §4.7 needs per-example gradients (batched by
//! [`grad_sq_sum`](super::statistics::grad_sq_sum)), so it is available on minibatches only
//! ([`HessianFree::with_preconditioner`]).

use serde::{Deserialize, Serialize};

use crate::linalg::{axpy, dot, norm2};
use crate::nn::MlpProblem;
use crate::problem::{Counted, GaussNewtonVec, Gradient, Objective};
use crate::solver::{
    Error, Minimizer, Report, RunOptions, State, Termination, check_positive, run_options,
};
use crate::train::{Driver, EvalEvery, Method, Minibatch, NetworkObjective, Progress, StepRecord};

/// Per-iteration record of the damping: `λ` used in the CG solve, the
/// reduction ratio `ρ` it produced and the CG steps taken.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct HfTrace {
    /// `λ_k` used in iteration `k`.
    #[serde(with = "crate::solver::float_serde::vec")]
    pub lambda: Vec<f64>,
    /// `ρ_k` of iteration `k` (of the backtracked CG step, before any Armijo
    /// search; `−∞` when the model did not decrease).
    #[serde(with = "crate::solver::float_serde::vec")]
    pub rho: Vec<f64>,
    /// CG steps in iteration `k`.
    pub cg_iterations: Vec<usize>,
    /// `f` after iteration `k`.
    #[serde(with = "crate::solver::float_serde::vec")]
    pub f: Vec<f64>,
}

/// Hessian-free optimization (Martens 2010): truncated Newton on damped
/// Gauss-Newton products with Levenberg-Marquardt damping.
///
/// Requirements on the problem: [`GaussNewtonVec`] (a positive
/// semi-definite curvature; the GN matrix of an
/// [`MlpProblem`] is also its Fisher).
///
/// ```
/// use hesse::natural::HessianFree;
/// use hesse::nn::{Activation, Dataset, Init, Loss, Mlp};
/// use hesse::prelude::*;
/// let data = Dataset::two_spirals(50, 0.0, 3).unwrap();
/// let mlp = Mlp::new(&[2, 6, 2], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
/// let problem = mlp.problem(&data).unwrap();
/// let x0 = mlp.init(Init::Glorot, 1);
/// let report = HessianFree::default().with_max_iter(10).minimize(&problem, &x0).unwrap();
/// assert!(report.f < problem.value(&x0));
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HessianFree {
    options: RunOptions,
    /// Initial damping `λ_0` (Martens 2010 §4.1 does not fix it; default 1).
    #[serde(with = "crate::solver::float_serde")]
    lambda0: f64,
    /// Decay of the CG warm start (0.95, §4.8).
    #[serde(with = "crate::solver::float_serde")]
    decay: f64,
    /// Cap on CG steps per outer iteration (250, §4.4's experiments).
    max_cg_iter: usize,
    /// `ε` of the relative-progress stop (5·10⁻⁴, §4.4).
    #[serde(with = "crate::solver::float_serde")]
    cg_epsilon: f64,
    /// Floor on `λ_k` (default 0: none). On small minibatches the LM rule,
    /// judging `ρ` on the batch the step was fitted to, can drive `λ` to
    /// 10⁻⁸ and the steps then overfit the batch; a floor bounds the step.
    #[serde(default)]
    min_damping: f64,
    /// The diagonal preconditioner of §4.7 on minibatches (default off).
    #[serde(default)]
    precondition: bool,
    /// `λ_k`.
    #[serde(with = "crate::solver::float_serde")]
    lambda: f64,
    trace: HfTrace,
    /// Previous CG solution `p_{k−1}`, the next warm start (saved in a
    /// checkpoint, so that a resumed run starts CG where it would have).
    #[serde(with = "crate::solver::float_serde::vec", default)]
    p_prev: Vec<f64>,
    #[serde(skip)]
    work: Work,
}

#[derive(Debug, Clone, Default)]
struct Work {
    /// The right-hand side `−g`.
    b: Vec<f64>,
    x_trial: Vec<f64>,
    cg: HfCg,
    /// Minibatch gradient, per-example squared-gradient sums and the inverse
    /// preconditioner of a driver step.
    g: Vec<f64>,
    gi: Vec<f64>,
    minv: Vec<f64>,
}

impl Default for HessianFree {
    fn default() -> Self {
        HessianFree {
            options: RunOptions::default(),
            lambda0: 1.0,
            decay: 0.95,
            max_cg_iter: 250,
            cg_epsilon: 5e-4,
            min_damping: 0.0,
            precondition: false,
            lambda: 1.0,
            trace: HfTrace::default(),
            p_prev: Vec::new(),
            work: Work::default(),
        }
    }
}

run_options!(HessianFree);

impl HessianFree {
    /// The initial damping `λ_0 > 0` (default 1).
    #[must_use]
    pub fn with_initial_damping(mut self, lambda0: f64) -> Self {
        self.lambda0 = lambda0;
        self.lambda = lambda0;
        self
    }

    /// The warm-start decay in `[0, 1]` (default 0.95, Martens 2010 §4.8).
    #[must_use]
    pub fn with_decay(mut self, decay: f64) -> Self {
        self.decay = decay;
        self
    }

    /// Caps the CG steps per outer iteration (default 250).
    #[must_use]
    pub fn with_max_cg_iter(mut self, max_cg_iter: usize) -> Self {
        self.max_cg_iter = max_cg_iter;
        self
    }

    /// `ε > 0` of the relative-progress CG stop (default 5·10⁻⁴, §4.4).
    #[must_use]
    pub fn with_cg_epsilon(mut self, eps: f64) -> Self {
        self.cg_epsilon = eps;
        self
    }

    /// A floor `λ_min ≥ 0` on the damping (default 0): `λ ← max(λ_min,
    /// rule(λ, ρ))`. Not in Martens 2010, whose gradient batches are large;
    /// a guard for small minibatches.
    #[must_use]
    pub fn with_min_damping(mut self, min_damping: f64) -> Self {
        self.min_damping = min_damping;
        self
    }

    /// The diagonal preconditioner `(diag(Σᵢ gᵢ²) + λI)^0.75` of §4.7 on
    /// minibatches (default off), with `gᵢ` the per-example gradients of the
    /// curvature sub-batch ([`grad_sq_sum`](super::statistics::grad_sq_sum)); the
    /// full-batch driver does not use it.
    #[must_use]
    pub fn with_preconditioner(mut self, precondition: bool) -> Self {
        self.precondition = precondition;
        self
    }

    /// The current damping `λ_k`.
    pub fn damping(&self) -> f64 {
        self.lambda
    }

    /// The per-iteration damping trace of the last run.
    pub fn trace(&self) -> &HfTrace {
        &self.trace
    }

    /// Runs to the end from `x0` on the full problem.
    pub fn minimize<P: GaussNewtonVec + ?Sized>(
        &self,
        problem: &P,
        x0: &[f64],
    ) -> Result<Report, Error> {
        crate::solver::minimize(self.clone(), problem, x0)
    }

    fn validate(&self) -> Result<(), Error> {
        check_positive("initial_damping", self.lambda0)?;
        check_positive("cg_epsilon", self.cg_epsilon)?;
        if !(self.min_damping >= 0.0 && self.min_damping.is_finite()) {
            return Err(Error::invalid_option(
                "min_damping",
                self.min_damping,
                "must be finite and ≥ 0",
            ));
        }
        if !(0.0..=1.0).contains(&self.decay) {
            return Err(Error::invalid_option(
                "decay",
                self.decay,
                "must be in [0, 1]",
            ));
        }
        if self.max_cg_iter == 0 {
            return Err(Error::invalid_option(
                "max_cg_iter",
                0.0,
                "must be at least 1",
            ));
        }
        Ok(())
    }
}

/// The Levenberg-Marquardt rule of Martens 2010 §4.1: `λ ← 3/2 λ` if
/// `ρ < ¼` (or `ρ` is not a number), `λ ← 2/3 λ` if `ρ > ¾`: the one rule
/// [`lm_damping`](super::lm_damping) with these factors.
pub(crate) fn next_damping(lambda: f64, rho: f64) -> f64 {
    super::lm_damping(lambda, rho, 2.0 / 3.0, 1.5)
}

/// CG on `(G + λI) p = b` with Martens's stop and stored iterates.
#[derive(Debug, Clone, Default)]
struct HfCg {
    r: Vec<f64>,
    d: Vec<f64>,
    ad: Vec<f64>,
    y: Vec<f64>,
    /// Stored iterates `(i, p_i, φ_i)`, `i` increasing.
    stored: Vec<(usize, Vec<f64>, f64)>,
}

impl HfCg {
    /// Runs preconditioned CG from `x` (in place), `apply(v, out)` computing
    /// `(G + λI) v`, `minv` the inverse diagonal preconditioner if any.
    /// Returns the CG steps taken; the stored iterates end with the last.
    fn solve(
        &mut self,
        apply: &mut dyn FnMut(&[f64], &mut [f64]),
        b: &[f64],
        x: &mut [f64],
        minv: Option<&[f64]>,
        max_iter: usize,
        eps: f64,
    ) -> usize {
        let n = b.len();
        for v in [&mut self.r, &mut self.d, &mut self.ad, &mut self.y] {
            v.resize(n, 0.0);
        }
        self.stored.clear();
        // r = b − A x.
        apply(x, &mut self.ad);
        for ((ri, bi), ai) in self.r.iter_mut().zip(b).zip(&self.ad) {
            *ri = bi - ai;
        }
        // φ(x) = ½ xᵀA x − bᵀx = −½ xᵀ(b + r).
        let phi = |x: &[f64], r: &[f64]| {
            -0.5 * x
                .iter()
                .zip(b)
                .zip(r)
                .map(|((xi, bi), ri)| xi * (bi + ri))
                .sum::<f64>()
        };
        let precondition = |r: &[f64], y: &mut [f64]| match minv {
            Some(m) => {
                for ((yi, ri), mi) in y.iter_mut().zip(r).zip(m) {
                    *yi = ri * mi;
                }
            }
            None => y.copy_from_slice(r),
        };
        precondition(&self.r, &mut self.y);
        self.d.copy_from_slice(&self.y);
        let mut ry = dot(&self.r, &self.y);
        let mut phis = vec![phi(x, &self.r)];
        let mut next_store = 1usize;
        let mut j_pow = 1.0f64;
        let mut i = 0;
        while i < max_iter {
            if !(ry > 0.0 && ry.is_finite()) {
                break;
            }
            apply(&self.d, &mut self.ad);
            let dad = dot(&self.d, &self.ad);
            if !(dad > 0.0 && dad.is_finite()) {
                break;
            }
            let alpha = ry / dad;
            axpy(alpha, &self.d, x);
            axpy(-alpha, &self.ad, &mut self.r);
            i += 1;
            let phi_i = phi(x, &self.r);
            phis.push(phi_i);
            if i == next_store {
                self.stored.push((i, x.to_vec(), phi_i));
                while next_store <= i {
                    j_pow *= 1.3;
                    next_store = j_pow.ceil() as usize;
                }
            }
            // Martens 2010 §4.4: relative progress over the last s steps.
            let s = 10usize.max((0.1 * i as f64).ceil() as usize);
            if i > s && phi_i < 0.0 && (phi_i - phis[i - s]) / phi_i < s as f64 * eps {
                break;
            }
            if norm2(&self.r) == 0.0 {
                break;
            }
            precondition(&self.r, &mut self.y);
            let ry_next = dot(&self.r, &self.y);
            let beta = ry_next / ry;
            ry = ry_next;
            for (di, yi) in self.d.iter_mut().zip(&self.y) {
                *di = yi + beta * *di;
            }
        }
        if self.stored.last().is_none_or(|(k, _, _)| *k != i) {
            let last = *phis.last().unwrap_or(&0.0);
            self.stored.push((i, x.to_vec(), last));
        }
        i
    }
}

/// One HF iteration on separate gradient and curvature oracles. Returns the
/// new `f` (or `None` if the step was rejected) and writes the new point into
/// `x`; `g` must hold `∇f(x)` and `f` the value.
#[allow(clippy::too_many_arguments)]
fn hf_iteration(
    hf: &mut HessianFree,
    x: &mut [f64],
    f: f64,
    g: &[f64],
    gn: &mut dyn FnMut(&[f64], &mut [f64]),
    value: &mut dyn FnMut(&[f64]) -> f64,
    minv: Option<&[f64]>,
) -> Option<f64> {
    let n = x.len();
    let lambda = hf.lambda;
    let Work { b, x_trial, cg, .. } = &mut hf.work;
    let p_prev = &mut hf.p_prev;
    p_prev.resize(n, 0.0);
    x_trial.resize(n, 0.0);
    b.resize(n, 0.0);
    for (bi, gi) in b.iter_mut().zip(g) {
        *bi = -gi;
    }
    // Warm start p_0 = decay · p_{k−1} (§4.5, §4.8).
    let mut p: Vec<f64> = p_prev.iter().map(|v| hf.decay * v).collect();
    let mut damped = |v: &[f64], out: &mut [f64]| {
        gn(v, out);
        axpy(lambda, v, out);
    };
    let cg_iters = cg.solve(&mut damped, b, &mut p, minv, hf.max_cg_iter, hf.cg_epsilon);
    // p_{k} for the next warm start is the last CG iterate (§4.6).
    p_prev.copy_from_slice(&p);

    // CG-backtracking (§4.6): from the last stored iterate, go back while f decreases.
    let stored = &cg.stored;
    let trial = |pj: &[f64], x_trial: &mut Vec<f64>, value: &mut dyn FnMut(&[f64]) -> f64| {
        for ((ti, xi), pi) in x_trial.iter_mut().zip(x.iter()).zip(pj) {
            *ti = xi + pi;
        }
        value(x_trial)
    };
    let mut best = stored.len() - 1;
    let mut f_best = trial(&stored[best].1, x_trial, value);
    while best > 0 {
        let f_prev = trial(&stored[best - 1].1, x_trial, value);
        if f_prev < f_best {
            best -= 1;
            f_best = f_prev;
        } else {
            break;
        }
    }
    let (_, p_best, phi_best) = &stored[best];
    // Undamped model: q(p) − q(0) = φ(p) − ½ λ ‖p‖².
    let pp = dot(p_best, p_best);
    let model = phi_best - 0.5 * lambda * pp;
    let rho = if model < 0.0 {
        (f_best - f) / model
    } else {
        f64::NEG_INFINITY
    };
    hf.trace.lambda.push(lambda);
    hf.trace.rho.push(rho);
    hf.trace.cg_iterations.push(cg_iters);
    hf.lambda = next_damping(lambda, rho).max(hf.min_damping);

    let p_best = p_best.clone();
    let mut accepted = None;
    if f_best.is_finite() && f_best < f {
        accepted = Some((1.0, f_best));
    } else {
        // Armijo backtracking on the step length (Martens & Sutskever 2012, §8.8).
        let slope = dot(g, &p_best);
        let mut alpha = 1.0;
        for _ in 0..40 {
            alpha *= 0.8;
            let scaled: Vec<f64> = p_best.iter().map(|v| alpha * v).collect();
            let ft = trial(&scaled, x_trial, value);
            if ft.is_finite() && ft <= f + 1e-2 * alpha * slope && slope < 0.0 {
                accepted = Some((alpha, ft));
                break;
            }
        }
    }
    match accepted {
        Some((alpha, f_new)) => {
            axpy(alpha, &p_best, x);
            hf.trace.f.push(f_new);
            Some(f_new)
        }
        None => {
            hf.p_prev.fill(0.0);
            hf.trace.f.push(f);
            None
        }
    }
}

impl<P: GaussNewtonVec> Minimizer<P> for HessianFree {
    fn name(&self) -> &'static str {
        "hessian-free"
    }

    fn options(&self) -> &RunOptions {
        &self.options
    }

    fn dim(&self, problem: &Counted<P>) -> usize {
        problem.dim()
    }

    fn init(&mut self, problem: &Counted<P>, state: &mut State) -> Result<(), Error> {
        self.validate()?;
        self.lambda = self.lambda0;
        self.trace = HfTrace::default();
        self.p_prev.clear();
        self.work = Work::default();
        state.f = problem.value_grad(&state.x, &mut state.g);
        Ok(())
    }

    fn next_iter(&mut self, problem: &Counted<P>, state: &mut State) -> Option<Termination> {
        let x_old = state.x.clone();
        let g = state.g.clone();
        let mut gn = |v: &[f64], out: &mut [f64]| problem.gauss_newton_vec(&x_old, v, out);
        let mut value = |x: &[f64]| problem.value(x);
        let mut x = state.x.clone();
        let out = hf_iteration(self, &mut x, state.f, &g, &mut gn, &mut value, None);
        match out {
            Some(_) => {
                state.step_norm = x
                    .iter()
                    .zip(&state.x)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f64::max);
                state.x = x;
                state.f = problem.value_grad(&state.x, &mut state.g);
                state.alpha = f64::NAN;
                if !state.f.is_finite() {
                    return Some(Termination::NonFiniteValue);
                }
                None
            }
            None => {
                // NaN: the driver's step test must not read a rejected trial
                // as convergence.
                state.step_norm = f64::NAN;
                state.note = Some(format!("step rejected; λ ← {:.3e}", self.lambda));
                if self.lambda > 1e12 {
                    Some(Termination::LineSearchFailed)
                } else {
                    None
                }
            }
        }
    }
}

/// Options of minibatch Hessian-free training ([`HessianFree::train`]), as
/// a [`Driver`] ([`HfTraining::driver`]).
#[derive(Debug, Clone)]
pub struct HfTraining {
    /// Outer iterations.
    pub iterations: usize,
    /// Examples in each gradient minibatch (`None`: the full data set).
    pub grad_batch: Option<usize>,
    /// Examples in each curvature minibatch, a subset of the gradient's
    /// (Martens 2010 §4.3 uses a fraction of it).
    pub curvature_batch: usize,
    /// Use the diagonal preconditioner `(diag(Σᵢ gᵢ²) + λI)^0.75` (§4.7),
    /// with `gᵢ` the per-example gradients of the curvature batch, summed
    /// without a per-example loop ([`grad_sq_sum`](super::statistics::grad_sq_sum)).
    pub precondition: bool,
    /// Seed of the minibatch sampling.
    pub seed: u64,
}

/// The result of [`HessianFree::train`].
#[derive(Debug, Clone)]
pub struct HfRun {
    /// The final parameters.
    pub x: Vec<f64>,
    /// Full-data-set loss after each iteration (index 0: at the start).
    pub loss: Vec<f64>,
    /// Wall time in seconds after each iteration (index 0: 0).
    pub seconds: Vec<f64>,
}

/// What [`HessianFree::train_with`] and
/// [`NaturalGradient::train_with`](crate::natural::NaturalGradient::train_with)
/// report after each iteration. The driver reports the same quantities as
/// named values of a [`StepRecord`] (`lambda`, `rho`, `cg_iterations`).
#[deprecated(note = "use hesse::train::Driver; its callback sees a train::Progress")]
#[derive(Debug, Clone, Copy)]
pub struct HfStep<'s> {
    /// The iteration just finished, from 1.
    pub iteration: usize,
    /// The parameters after it.
    pub x: &'s [f64],
    /// The loss on the iteration's gradient minibatch at its start.
    pub batch_loss: f64,
    /// The damping `λ` used in the iteration's solve.
    pub lambda: f64,
    /// The reduction ratio `ρ` the step produced (`−∞` when the model did not
    /// decrease).
    pub rho: f64,
    /// CG steps in the iteration's solve.
    pub cg_iterations: usize,
}

#[allow(deprecated)]
impl<'s> HfStep<'s> {
    /// The driver's progress as the old record.
    pub(crate) fn of(p: &Progress<'s>) -> Self {
        HfStep {
            iteration: p.iteration as usize,
            x: p.x,
            batch_loss: p.record.loss,
            lambda: p.record.get("lambda").unwrap_or(f64::NAN),
            rho: p.record.get("rho").unwrap_or(f64::NAN),
            cg_iterations: p.record.get("cg_iterations").unwrap_or(0.0) as usize,
        }
    }
}

impl HfTraining {
    /// Checks the batch sizes against the data (`n_data` examples) and
    /// returns the gradient batch size.
    pub(crate) fn grad_batch_size(&self, n_data: usize) -> Result<usize, Error> {
        let gb = self.grad_batch.unwrap_or(n_data).min(n_data);
        if gb == 0 || self.curvature_batch == 0 || self.curvature_batch > gb {
            return Err(Error::invalid_option(
                "curvature_batch",
                self.curvature_batch as f64,
                "must be in 1..=grad_batch",
            ));
        }
        Ok(gb)
    }

    /// The training driver of these options on `n_data` examples: batches of
    /// `grad_batch` (all examples when `None`), the first `curvature_batch`
    /// of each for the curvature, `iterations` iterations, no held-out
    /// evaluation, no progress bar.
    pub fn driver(&self, n_data: usize) -> Result<Driver, Error> {
        let gb = self.grad_batch_size(n_data)?;
        Ok(Driver::new()
            .with_batch_size(gb)
            .with_curvature_batch(self.curvature_batch)
            .with_seed(self.seed)
            .with_max_iter(self.iterations as u64)
            .with_eval_every(EvalEvery::Never)
            .with_progress(false))
    }
}

/// Checks that `x0` has the network's parameter count.
pub(crate) fn check_params(problem: &MlpProblem<'_>, x0: &[f64]) -> Result<(), Error> {
    let n = problem.mlp().num_params();
    if x0.len() != n {
        return Err(Error::DimensionMismatch {
            what: "x0",
            got: x0.len(),
            expected: n,
            expected_from: "network",
        });
    }
    Ok(())
}

/// Runs a minibatch method on the driver ([`HfTraining::driver`]) from
/// `x0`, calling `on_step` after each iteration; leaves the method (with its
/// trace) in `method` and returns the final parameters.
pub(crate) fn drive<M>(
    method: &mut M,
    problem: &MlpProblem<'_>,
    x0: &[f64],
    driver: &Driver,
    on_step: &mut dyn FnMut(&Progress<'_>) -> bool,
) -> Result<Vec<f64>, Error>
where
    M: for<'a> Method<MlpProblem<'a>> + Clone,
{
    let mut state = driver.start(problem, method.clone(), x0.to_vec())?;
    let out = driver.run(problem, &mut state, on_step);
    *method = state.method;
    out.map(|()| state.x)
}

/// Runs `train` and records the full-data-set loss and the wall time
/// (including the evaluation) after each iteration.
pub(crate) fn record(
    problem: &MlpProblem<'_>,
    x0: &[f64],
    train: impl FnOnce(&mut dyn FnMut(&Progress<'_>) -> bool) -> Result<Vec<f64>, Error>,
) -> Result<HfRun, Error> {
    let start = std::time::Instant::now();
    let mut loss = vec![problem.value(x0)];
    let mut seconds = vec![0.0];
    let x = train(&mut |p: &Progress<'_>| {
        loss.push(problem.value(p.x));
        seconds.push(start.elapsed().as_secs_f64());
        true
    })?;
    Ok(HfRun { x, loss, seconds })
}

impl HessianFree {
    /// Minibatch Hessian-free training of an [`MlpProblem`] (Martens 2010
    /// §4.3) on the driver, recording the full-data-set loss after each
    /// iteration: see [`HessianFree::train_with`].
    ///
    /// Errors: as [`HessianFree::train_with`].
    pub fn train(
        &mut self,
        problem: &MlpProblem<'_>,
        x0: &[f64],
        opts: &HfTraining,
    ) -> Result<HfRun, Error> {
        let driver = opts.driver(problem.data().len())?;
        let precondition = self.precondition;
        self.precondition = opts.precondition;
        let out = record(problem, x0, |on_step| {
            drive(self, problem, x0, &driver, on_step)
        });
        self.precondition = precondition;
        out
    }

    /// Minibatch Hessian-free training of an [`MlpProblem`] (Martens 2010
    /// §4.3): a thin wrapper over the training driver
    /// ([`crate::train::Driver`], with HF as the [`Method`]): each iteration
    /// takes the driver's next gradient minibatch and its first
    /// `curvature_batch` examples for the Gauss-Newton products; `f` in the
    /// backtracking and in `ρ` is evaluated on the gradient minibatch.
    /// `on_iter` sees each finished iteration ([`HfStep`]) and returns `true`
    /// to go on, `false` to stop; the final parameters are returned.
    ///
    /// Errors: invalid options, batch sizes of zero, a curvature batch larger
    /// than the gradient batch, wrong parameter length.
    #[deprecated(note = "use hesse::train::Driver with HessianFree as the method")]
    #[allow(deprecated)]
    pub fn train_with(
        &mut self,
        problem: &MlpProblem<'_>,
        x0: &[f64],
        opts: &HfTraining,
        on_iter: &mut dyn FnMut(&HfStep<'_>) -> bool,
    ) -> Result<Vec<f64>, Error> {
        let driver = opts.driver(problem.data().len())?;
        let precondition = self.precondition;
        self.precondition = opts.precondition;
        let out = drive(self, problem, x0, &driver, &mut |p| on_iter(&HfStep::of(p)));
        self.precondition = precondition;
        out
    }
}

impl<P: NetworkObjective + ?Sized> Method<P> for HessianFree {
    fn name(&self) -> &'static str {
        "hf"
    }

    fn start(&mut self, objective: &P, x0: &[f64]) -> Result<(), Error> {
        self.validate()?;
        check_params(objective.network(), x0)?;
        self.lambda = self.lambda0;
        self.trace = HfTrace::default();
        self.p_prev.clear();
        self.work = Work::default();
        Ok(())
    }

    /// One outer iteration on the minibatch, the Gauss-Newton products on its
    /// curvature sub-batch. Reports `lambda` (used), `rho`, `cg_iterations`
    /// and `rejected`.
    // The former `train_with` loop's calls (`&x`) kept as they were, so that
    // the move of the curvature statistics out of `nn::mlp` merges.
    #[allow(clippy::needless_borrow)]
    fn step(
        &mut self,
        objective: &P,
        x: &mut [f64],
        mb: &Minibatch<'_>,
    ) -> Result<StepRecord, Error> {
        let problem = objective.network();
        let (batch, curv) = (mb.examples, mb.curvature);
        let n = x.len();
        let [mut g, mut gi, mut minv] = [
            std::mem::take(&mut self.work.g),
            std::mem::take(&mut self.work.gi),
            std::mem::take(&mut self.work.minv),
        ];
        for v in [&mut g, &mut gi, &mut minv] {
            v.resize(n, 0.0);
        }
        let f = problem
            .value_grad_batch(&x, batch, &mut g)
            .map_err(|e| Error::InvalidProblem(e.to_string()))?;
        let minv_ref = if self.precondition {
            // (diag(Σᵢ gᵢ²) + λI)^0.75 from per-example gradients of the
            // curvature batch, batched: (δ ⊙ δ)(a ⊙ a)ᵀ per layer.
            super::statistics::grad_sq_sum(problem, &x, curv, &mut gi)
                .map_err(|e| Error::InvalidProblem(e.to_string()))?;
            for (m, d) in minv.iter_mut().zip(&gi) {
                *m = 1.0 / (d + self.lambda).powf(0.75);
            }
            Some(minv.as_slice())
        } else {
            None
        };
        let x_old = x.to_vec();
        let mut gn = |v: &[f64], out: &mut [f64]| {
            if problem
                .gauss_newton_vec_batch(&x_old, curv, v, out)
                .is_err()
            {
                out.fill(f64::NAN);
            }
        };
        let mut value = |xt: &[f64]| problem.value_batch(xt, batch).unwrap_or(f64::NAN);
        let accepted = hf_iteration(self, x, f, &g, &mut gn, &mut value, minv_ref);
        (self.work.g, self.work.gi, self.work.minv) = (g, gi, minv);
        let tr = &self.trace;
        Ok(StepRecord::new(f)
            .with("lambda", *tr.lambda.last().unwrap_or(&self.lambda))
            .with("rho", *tr.rho.last().unwrap_or(&f64::NAN))
            .with(
                "cg_iterations",
                *tr.cg_iterations.last().unwrap_or(&0) as f64,
            )
            .with("rejected", f64::from(u8::from(accepted.is_none()))))
    }
}
