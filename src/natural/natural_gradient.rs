//! Natural gradient descent with a matrix-free damped Fisher solve.
//!
//! Amari, "Natural gradient works efficiently in learning", *Neural
//! Computation* 10 (1998): `θ ← θ − ε F⁻¹ ∇f`, with `F` the Fisher information
//! of the model's predictive distribution. As Martens, "New insights and
//! perspectives on the natural gradient method" (JMLR 21, 2020, §§9-10)
//! recommends, `F` is the exact Fisher, i.e. the generalized Gauss-Newton
//! matrix for these matching losses, damped by Tikhonov `λ I`, and `λ`
//! follows the Levenberg-Marquardt rule on the reduction ratio
//!
//! ```text
//! d = (F + λI)⁻¹ g          CG on Fisher-vector products (from d = 0),
//!                           or dense Cholesky for tiny networks
//! p = −ε d
//! ρ = (f(θ + p) − f(θ)) / (gᵀp + ½ pᵀ F p)
//! ρ < ¼: λ ← 3/2 λ;  ρ > ¾: λ ← 2/3 λ   (Martens 2010 §4.1; Moré 1978)
//! ```
//!
//! A step that does not decrease `f` (on the batch it was computed on) is
//! rejected. On the full-batch driver ([`NaturalGradient::minimize`]) the
//! Fisher is the problem's [`GaussNewtonVec`] product; on the minibatch
//! [`Driver`](crate::train::Driver) (natural gradient is a [`Method`]) it is
//! a [`Fisher`] of the kind [`NaturalGradient::with_fisher`] chooses on the
//! curvature sub-batch, so the empirical Fisher can be tried against the
//! exact one.

use serde::{Deserialize, Serialize};

use super::hessian_free::{drive, record};
use super::{Fisher, FisherKind, HfRun, HfTrace};
use crate::linalg::{Cholesky, ConjugateGradient, FnOperator, LinearOperator, axpy, dot};
use crate::nn::MlpProblem;
use crate::problem::{Counted, GaussNewtonVec, Gradient, Objective};
use crate::solver::{
    Error, Minimizer, Report, RunOptions, State, Termination, check_positive, run_options,
};
use crate::train::{Method, Minibatch, NetworkObjective, StepRecord};

/// How [`NaturalGradient`] solves `(F + λI) d = g`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum NgSolve {
    /// Matrix-free conjugate gradients on Fisher-vector products (the
    /// default): `O(n)` memory, a few products per iteration.
    #[default]
    Cg,
    /// The dense matrix `F + λI`, formed from `n` Fisher-vector products and
    /// factored by Cholesky (faer): exact solves for tiny networks
    /// (`n` up to a few hundred; `O(n²)` memory, `O(n³)` time).
    Dense,
}

/// Natural gradient descent (Amari 1998) with LM-adapted Tikhonov damping.
///
/// Requirements on the problem: [`GaussNewtonVec`] (for an
/// [`MlpProblem`], the Gauss-Newton matrix is the exact Fisher).
///
/// ```
/// use hesse::natural::NaturalGradient;
/// use hesse::nn::{Activation, Dataset, Init, Loss, Mlp};
/// use hesse::prelude::*;
/// let data = Dataset::two_spirals(50, 0.0, 3).unwrap();
/// let mlp = Mlp::new(&[2, 6, 2], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
/// let problem = mlp.problem(&data).unwrap();
/// let x0 = mlp.init(Init::Glorot, 1);
/// let report = NaturalGradient::default().with_max_iter(10).minimize(&problem, &x0).unwrap();
/// assert!(report.f < problem.value(&x0));
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NaturalGradient {
    options: RunOptions,
    /// Step size `ε` (default 1: the damped Gauss-Newton step).
    #[serde(with = "crate::solver::float_serde")]
    lr: f64,
    /// Initial damping `λ_0` (default 1).
    #[serde(with = "crate::solver::float_serde")]
    lambda0: f64,
    /// CG relative-residual tolerance (default 10⁻²).
    #[serde(with = "crate::solver::float_serde")]
    cg_rtol: f64,
    /// CG steps per solve (default 50).
    max_cg_iter: usize,
    /// CG or dense Cholesky (default CG).
    #[serde(default)]
    solve: NgSolve,
    /// The Fisher on minibatches (default exact).
    #[serde(default = "exact", with = "fisher_kind")]
    fisher: FisherKind,
    #[serde(with = "crate::solver::float_serde")]
    lambda: f64,
    trace: HfTrace,
    /// The minibatch gradient of a driver step.
    #[serde(skip)]
    g: Vec<f64>,
}

fn exact() -> FisherKind {
    FisherKind::Exact
}

/// Serde for [`FisherKind`] (a checkpoint keeps the Fisher of the run).
mod fisher_kind {
    use super::FisherKind;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Repr {
        Exact,
        Empirical,
        Sampled { samples: usize, seed: u64 },
    }

    pub fn serialize<S: Serializer>(k: &FisherKind, s: S) -> Result<S::Ok, S::Error> {
        match *k {
            FisherKind::Exact => Repr::Exact,
            FisherKind::Empirical => Repr::Empirical,
            FisherKind::Sampled { samples, seed } => Repr::Sampled { samples, seed },
        }
        .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<FisherKind, D::Error> {
        Ok(match Repr::deserialize(d)? {
            Repr::Exact => FisherKind::Exact,
            Repr::Empirical => FisherKind::Empirical,
            Repr::Sampled { samples, seed } => FisherKind::Sampled { samples, seed },
        })
    }
}

impl Default for NaturalGradient {
    fn default() -> Self {
        NaturalGradient {
            options: RunOptions::default(),
            lr: 1.0,
            lambda0: 1.0,
            cg_rtol: 1e-2,
            max_cg_iter: 50,
            solve: NgSolve::Cg,
            fisher: FisherKind::Exact,
            lambda: 1.0,
            trace: HfTrace::default(),
            g: Vec::new(),
        }
    }
}

run_options!(NaturalGradient);

impl NaturalGradient {
    /// The step size `ε > 0` (default 1).
    #[must_use]
    pub fn with_learning_rate(mut self, lr: f64) -> Self {
        self.lr = lr;
        self
    }

    /// The initial damping `λ_0 > 0` (default 1).
    #[must_use]
    pub fn with_initial_damping(mut self, lambda0: f64) -> Self {
        self.lambda0 = lambda0;
        self.lambda = lambda0;
        self
    }

    /// The CG tolerance `‖(F + λI) d − g‖ ≤ rtol ‖g‖`, `rtol > 0` (default 10⁻²).
    #[must_use]
    pub fn with_cg_rtol(mut self, rtol: f64) -> Self {
        self.cg_rtol = rtol;
        self
    }

    /// Caps the CG steps per solve (default 50).
    #[must_use]
    pub fn with_max_cg_iter(mut self, max_cg_iter: usize) -> Self {
        self.max_cg_iter = max_cg_iter;
        self
    }

    /// How the damped Fisher system is solved (default [`NgSolve::Cg`];
    /// [`NgSolve::Dense`] for tiny networks).
    ///
    /// ```
    /// use hesse::natural::{NaturalGradient, NgSolve};
    /// use hesse::nn::{Activation, Dataset, Init, Loss, Mlp};
    /// use hesse::prelude::*;
    /// let data = Dataset::two_spirals(50, 0.0, 3).unwrap();
    /// let mlp = Mlp::new(&[2, 6, 2], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
    /// let problem = mlp.problem(&data).unwrap();
    /// let x0 = mlp.init(Init::Glorot, 1);
    /// let report = NaturalGradient::default()
    ///     .with_solve(NgSolve::Dense)
    ///     .with_max_iter(10)
    ///     .minimize(&problem, &x0)
    ///     .unwrap();
    /// assert!(report.f < problem.value(&x0));
    /// ```
    #[must_use]
    pub fn with_solve(mut self, solve: NgSolve) -> Self {
        self.solve = solve;
        self
    }

    /// The Fisher used on minibatches (default [`FisherKind::Exact`]; the
    /// full-batch driver uses the problem's Gauss-Newton product).
    #[must_use]
    pub fn with_fisher(mut self, kind: FisherKind) -> Self {
        self.fisher = kind;
        self
    }

    /// The current damping `λ_k`.
    pub fn damping(&self) -> f64 {
        self.lambda
    }

    /// The damping trace of the last run (`λ`, `ρ`, CG steps, `f`).
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
        check_positive("learning_rate", self.lr)?;
        check_positive("initial_damping", self.lambda0)?;
        check_positive("cg_rtol", self.cg_rtol)?;
        if self.max_cg_iter == 0 {
            return Err(Error::invalid_option(
                "max_cg_iter",
                0.0,
                "must be at least 1",
            ));
        }
        Ok(())
    }

    /// With [`NgSolve::Dense`], that its `n × n` matrices fit in memory.
    fn check_workspace(&self, n: usize) -> Result<(), Error> {
        if self.solve != NgSolve::Dense {
            return Ok(());
        }
        // F, its symmetrized copy and its Cholesky factor.
        crate::solver::check_dense(
            "NaturalGradient with NgSolve::Dense",
            &format!("three dense n × n matrices at n = {n}"),
            n.checked_mul(n).and_then(|k| k.checked_mul(3)),
            ": use NgSolve::Cg",
        )
    }

    /// One iteration: writes the new point into `x` and returns its `f`, or
    /// `None` if the step was rejected.
    fn iteration(
        &mut self,
        x: &mut [f64],
        f: f64,
        g: &[f64],
        fisher: &dyn LinearOperator,
        value: &mut dyn FnMut(&[f64]) -> f64,
    ) -> Result<Option<f64>, Error> {
        let n = x.len();
        let lambda = self.lambda;
        let mut d = vec![0.0; n];
        // CG steps taken (0 for the dense solve).
        let linear_iterations = match self.solve {
            NgSolve::Cg => {
                let damped = FnOperator::symmetric(n, |v: &[f64], out: &mut [f64]| {
                    fisher.apply(v, out);
                    axpy(lambda, v, out);
                });
                let mut cg = ConjugateGradient::new()
                    .with_rtol(self.cg_rtol)
                    .map_err(|e| Error::InvalidProblem(e.to_string()))?
                    .with_max_iter(self.max_cg_iter);
                cg.solve(&damped, g, &mut d, None)
                    .map_err(|e| Error::InvalidProblem(e.to_string()))?
                    .iterations
            }
            NgSolve::Dense => {
                // F column by column from n products, symmetrized against
                // rounding, then F + λI by Cholesky.
                let mut m = nalgebra::DMatrix::zeros(n, n);
                let mut e = vec![0.0; n];
                let mut col = vec![0.0; n];
                for j in 0..n {
                    e[j] = 1.0;
                    fisher.apply(&e, &mut col);
                    e[j] = 0.0;
                    m.column_mut(j).copy_from_slice(&col);
                }
                let mut m = (&m + m.transpose()) * 0.5;
                for i in 0..n {
                    m[(i, i)] += lambda;
                }
                let chol = Cholesky::new(&m).map_err(|e| Error::InvalidProblem(e.to_string()))?;
                d.copy_from_slice(g);
                chol.solve_mut(&mut d)
                    .map_err(|e| Error::InvalidProblem(e.to_string()))?;
                0
            }
        };
        // p = −ε d; model q(p) = gᵀp + ½ pᵀ F p (undamped).
        let p: Vec<f64> = d.iter().map(|v| -self.lr * v).collect();
        let mut fp = vec![0.0; n];
        fisher.apply(&p, &mut fp);
        let model = dot(g, &p) + 0.5 * dot(&p, &fp);
        let x_trial: Vec<f64> = x.iter().zip(&p).map(|(a, b)| a + b).collect();
        let f_trial = value(&x_trial);
        let rho = if model < 0.0 {
            (f_trial - f) / model
        } else {
            f64::NEG_INFINITY
        };
        self.trace.lambda.push(lambda);
        self.trace.rho.push(rho);
        self.trace.cg_iterations.push(linear_iterations);
        self.lambda = super::hessian_free::next_damping(lambda, rho);
        if f_trial.is_finite() && f_trial < f {
            x.copy_from_slice(&x_trial);
            self.trace.f.push(f_trial);
            Ok(Some(f_trial))
        } else {
            self.trace.f.push(f);
            Ok(None)
        }
    }

    /// Minibatch natural-gradient training of an [`MlpProblem`] on the
    /// driver, recording the full-data-set loss after each iteration: see
    /// [`NaturalGradient::train_with`].
    ///
    /// Errors: as [`NaturalGradient::train_with`].
    pub fn train(
        &mut self,
        problem: &MlpProblem<'_>,
        x0: &[f64],
        opts: &super::HfTraining,
        kind: FisherKind,
    ) -> Result<HfRun, Error> {
        let driver = opts.driver(problem.data().len())?;
        let fisher = std::mem::replace(&mut self.fisher, kind);
        let out = record(problem, x0, |on_step| {
            drive(self, problem, x0, &driver, on_step)
        });
        self.fisher = fisher;
        out
    }

    /// Minibatch natural-gradient training of an [`MlpProblem`]: a thin
    /// wrapper over the training driver ([`crate::train::Driver`], natural
    /// gradient as the [`Method`]): each iteration takes the driver's next
    /// gradient minibatch and, inside it, the curvature batch on which the
    /// Fisher of `kind` is formed. `on_iter` sees each finished iteration
    /// ([`HfStep`](super::HfStep)) and returns `true` to go on, `false` to
    /// stop; the final parameters are returned.
    ///
    /// Errors: invalid options, batch sizes of zero, a curvature batch larger
    /// than the gradient batch, wrong parameter length.
    #[deprecated(note = "use hesse::train::Driver with NaturalGradient as the method")]
    #[allow(deprecated)]
    pub fn train_with(
        &mut self,
        problem: &MlpProblem<'_>,
        x0: &[f64],
        opts: &super::HfTraining,
        kind: FisherKind,
        on_iter: &mut dyn FnMut(&super::HfStep<'_>) -> bool,
    ) -> Result<Vec<f64>, Error> {
        let driver = opts.driver(problem.data().len())?;
        let fisher = std::mem::replace(&mut self.fisher, kind);
        let out = drive(self, problem, x0, &driver, &mut |p| {
            on_iter(&super::HfStep::of(p))
        });
        self.fisher = fisher;
        out
    }
}

impl<P: NetworkObjective + ?Sized> Method<P> for NaturalGradient {
    fn name(&self) -> &'static str {
        "natural"
    }

    fn start(&mut self, objective: &P, x0: &[f64]) -> Result<(), Error> {
        self.validate()?;
        super::hessian_free::check_params(objective.network(), x0)?;
        self.check_workspace(x0.len())?;
        self.lambda = self.lambda0;
        self.trace = HfTrace::default();
        Ok(())
    }

    /// One damped natural-gradient step on the minibatch, the Fisher on its
    /// curvature sub-batch. Reports `lambda` (used), `rho`, `cg_iterations`,
    /// `rejected` and `lr` (the step ε).
    fn step(
        &mut self,
        objective: &P,
        x: &mut [f64],
        mb: &Minibatch<'_>,
    ) -> Result<StepRecord, Error> {
        let problem = objective.network();
        let bad = |e: crate::nn::NnError| Error::InvalidProblem(e.to_string());
        let (batch, curv) = (mb.examples, mb.curvature);
        let mut g = std::mem::take(&mut self.g);
        g.resize(x.len(), 0.0);
        let f = problem.value_grad_batch(x, batch, &mut g).map_err(bad)?;
        if !f.is_finite() || g.iter().any(|v| !v.is_finite()) {
            // NaN from the objective ends the run (the driver's NonFinite),
            // it is not bad input: CG would refuse the right-hand side.
            self.g = g;
            return Ok(StepRecord::new(if f.is_finite() { f64::NAN } else { f }));
        }
        let fisher = Fisher::new(problem, x, Some(curv), self.fisher).map_err(bad)?;
        let mut value = |xt: &[f64]| problem.value_batch(xt, batch).unwrap_or(f64::NAN);
        let out = self.iteration(x, f, &g, &fisher, &mut value);
        self.g = g;
        let accepted = out?;
        let tr = &self.trace;
        Ok(StepRecord::new(f)
            .with("lambda", *tr.lambda.last().unwrap_or(&self.lambda))
            .with("rho", *tr.rho.last().unwrap_or(&f64::NAN))
            .with(
                "cg_iterations",
                *tr.cg_iterations.last().unwrap_or(&0) as f64,
            )
            .with("rejected", f64::from(u8::from(accepted.is_none())))
            .with("lr", self.lr))
    }
}

impl<P: GaussNewtonVec> Minimizer<P> for NaturalGradient {
    fn name(&self) -> &'static str {
        "natural"
    }

    fn options(&self) -> &RunOptions {
        &self.options
    }

    fn dim(&self, problem: &Counted<P>) -> usize {
        problem.dim()
    }

    fn init(&mut self, problem: &Counted<P>, state: &mut State) -> Result<(), Error> {
        self.validate()?;
        self.check_workspace(state.x.len())?;
        self.lambda = self.lambda0;
        self.trace = HfTrace::default();
        state.f = problem.value_grad(&state.x, &mut state.g);
        Ok(())
    }

    fn next_iter(&mut self, problem: &Counted<P>, state: &mut State) -> Option<Termination> {
        let n = state.x.len();
        let x_old = state.x.clone();
        let fisher = FnOperator::symmetric(n, |v: &[f64], out: &mut [f64]| {
            problem.gauss_newton_vec(&x_old, v, out)
        });
        let g = state.g.clone();
        let mut value = |x: &[f64]| problem.value(x);
        let mut x = state.x.clone();
        match self.iteration(&mut x, state.f, &g, &fisher, &mut value) {
            Err(e) => {
                state.note = Some(e.to_string());
                Some(Termination::LinearAlgebraFailure)
            }
            Ok(Some(_)) => {
                state.step_norm = x
                    .iter()
                    .zip(&state.x)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f64::max);
                state.x = x;
                state.f = problem.value_grad(&state.x, &mut state.g);
                state.alpha = self.lr;
                if state.f.is_finite() {
                    None
                } else {
                    Some(Termination::NonFiniteValue)
                }
            }
            Ok(None) => {
                // NaN: the driver's step test must not read a rejected trial
                // as convergence.
                state.step_norm = f64::NAN;
                state.note = Some(format!("step rejected; λ ← {:.3e}", self.lambda));
                (self.lambda > 1e12).then_some(Termination::LineSearchFailed)
            }
        }
    }
}
