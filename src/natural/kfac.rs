//! K-FAC: Kronecker-factored approximate curvature (Martens & Grosse,
//! "Optimizing neural networks with Kronecker-factored approximate
//! curvature", ICML 2015, arXiv 1503.05671), block-diagonal version, for the
//! layers of an [`Mlp`](crate::nn::Mlp).
//!
//! Notation as the paper: `h` the minibatch objective, `θ` the parameters,
//! `W̄_l = [W_l b_l]` layer `l`'s weights with the bias as a last column (the
//! flat layout of [`Mlp`](crate::nn::Mlp) is `vec W̄_l`), `ā = (a; 1)` its
//! input with a homogeneous coordinate, `g = ∂ℓ/∂y_l` the gradient of its
//! pre-activations for a target drawn from the model. One iteration `k`:
//!
//! ```text
//! ∇h on the minibatch                                         (B examples)
//! A_l = E[ā āᵀ], G_l = E[g gᵀ] on a curvature sub-batch,      §3, §5
//!   running averages Ā ← ε Ā + (1 − ε) A, ε = min(1 − 1/k, 0.95)   §5
//! every T₃ (and at k = 1, 2, 4, … < T₃): eigendecompositions of Ā_l, Ḡ_l (faer)
//!   and π_l = √((tr Ā_l/dim Ā_l) / (tr Ḡ_l/dim Ḡ_l))             §6.3
//! Δ_l = −(Ḡ_l + γ/π_l I)⁻¹ ∇_{W̄_l} h (Ā_l + π_l γ I)⁻¹        §4.2, §6.3
//! δ = α Δ + μ δ₀, (α, μ) minimizing the quadratic model
//!   M(δ) = ½ δᵀ (F + λ I) δ + ∇hᵀ δ + h  (F exact, on the sub-batch)   §6.4, §7
//! every T₁: ρ = (h(θ + δ) − h(θ)) / (M₀(δ) − M₀(0));
//!   ρ > ¾: λ ← ω₁ λ;  ρ < ¼: λ ← λ / ω₁,  ω₁ = (19/20)^T₁        §6.5
//! every T₂: γ ∈ {γ/ω₂, γ, ω₂ γ}, ω₂ = √(19/20)^T₂, the one whose update
//!   gives the lowest h(θ + δ) on the minibatch                    §6.6
//! step check (not in the paper): if h(θ + δ) > h(θ) on the minibatch (every
//!   T₁, T₂) or on the sub-batch (else), or is not finite: reject, δ₀ ← 0,
//!   λ ← λ/ω₁, θ kept
//! θ ← θ + δ
//! ```
//!
//! `F` is the generalized Gauss-Newton matrix of the minibatch objective (the
//! exact Fisher of these losses, plus the weight decay `η` on the weights, so
//! the paper's `λ + η` is `λ` here); its quadratic forms come from
//! [`gauss_newton_gram`](super::statistics::gauss_newton_gram) (one forward R pass per direction).
//! Defaults as the paper (§8): `λ₀ = 150`, `γ₀ = √(λ₀ + η)`, `T₁ = 5`,
//! `T₂ = T₃ = 20`, factor decay 0.95, momentum on.
//!
//! Choices the paper leaves open, or where we differ:
//!
//! - `ρ` uses the model without the `λ` term, `M₀(δ) = ½ δᵀ F δ + ∇hᵀδ + h`
//!   (as Martens & Sutskever 2012 for Hessian-free and kfac-jax's default);
//!   the update itself uses the damped model.
//! - The statistics (and the `F` quadratic forms) are computed on the first
//!   `⌈f B⌉` examples of each minibatch, `f` = [`Kfac::with_curvature_fraction`]
//!   (default 1/4): they cost one extra backward pass and two products per
//!   layer on the sub-batch, and two forward R passes; the gradient uses the
//!   whole minibatch. Inverses are formed from the eigendecompositions, so a
//!   new `γ` (the search) costs one matrix product per factor, no new
//!   decomposition.
//! - Targets are sampled from the model (one per example, §5:
//!   [`KfacEstimator::Sampled`]); [`KfacEstimator::Exact`] takes the
//!   expectation instead (one backward pass per output unit, for tests).
//! - `λ` does not go below `λ_min = 10⁻⁸` ([`Kfac::with_min_damping`]; the
//!   paper has no floor, kfac-jax does).
//! - A step that raises the loss is rejected (`θ` kept, momentum dropped,
//!   `λ ← λ/ω₁` at once): [`Kfac::with_step_check`], default on; the paper
//!   rejects no step. The loss is compared on the whole minibatch where
//!   `h(θ + δ)` is measured anyway (every `T₁`, `T₂`), else on the
//!   statistics sub-batch (one forward pass on it).
//! - Networks with batch normalization are rejected (their examples are
//!   coupled); skip connections are supported (a layer's gradient is still
//!   `g āᵀ`).
//!
//! # Measured
//!
//! The measurement history of this implementation (speed per phase, the
//! `λ₀` scan, the step check's effect and cost) is in
//! `docs/bench/kfac-history.md`; the current benchmark tables are in
//! `docs/bench/README.md`.

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::evd;
use faer::{Accum, Mat, MatMut, MatRef};
use serde::{Deserialize, Serialize};

use crate::linalg::dot;
use crate::nn::{Loss, MlpProblem};
use crate::solver::{Error, check_nonneg, check_start};
use crate::train::{Driver, EvalEvery, Method, Minibatch, NetworkObjective, Progress, StepRecord};

use super::fisher::sampled_residuals;

/// How K-FAC estimates `G_l = E[g gᵀ]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KfacEstimator {
    /// One target per example drawn from the model's predictive distribution
    /// (Martens & Grosse 2015, §5): one backward pass.
    Sampled,
    /// The expectation over the predictive distribution, from a square root
    /// of the output Fisher `H_F(o)`: one backward pass per output unit.
    Exact,
}

impl KfacEstimator {
    /// The output-space vectors `e_s` (each `k × B`, column-major) whose
    /// back-propagations give `G = (1/B) Σᵢ Σₛ gᵢₛ gᵢₛᵀ`, from `p = p(o)`
    /// (`k × B`): a sampled residual `∇ₒℓ(o, y)`, `y ∼ p(·|o)` (softmax:
    /// `p − onehot(y)`; logistic: `p − y`, `yⱼ ∼ Bernoulli(pⱼ)`; squared
    /// error: `−z`, `z ∼ N(0, I)`), or the `k` columns `sⱼ` of a square root
    /// `Σⱼ sⱼ sⱼᵀ = H_F(o)` (softmax `√pⱼ (eⱼ − p)`, logistic
    /// `√(pⱼ(1 − pⱼ)) eⱼ`, squared error `eⱼ`). For
    /// [`kfac_factors`](super::statistics::kfac_factors).
    ///
    /// # Panics
    /// If `k = 0` or `p.len()` is not a multiple of `k` (`p` must hold whole
    /// columns of `k` outputs); the message gives both numbers.
    #[track_caller]
    pub fn output_vectors(self, loss: Loss, k: usize, p: &[f64], seed: u64) -> Vec<Vec<f64>> {
        assert!(
            k > 0 && p.len().is_multiple_of(k),
            "output_vectors needs k ≥ 1 outputs and p of whole k-columns: k = {k}, p.len() = {}",
            p.len()
        );
        match self {
            KfacEstimator::Sampled => vec![sampled_residuals(loss, k, p, 1, seed)],
            KfacEstimator::Exact => (0..k)
                .map(|j| {
                    let mut e = vec![0.0; p.len()];
                    for (ec, pc) in e.chunks_exact_mut(k).zip(p.chunks_exact(k)) {
                        match loss {
                            Loss::MeanSquaredError => ec[j] = 1.0,
                            Loss::LogisticCrossEntropy => ec[j] = (pc[j] * (1.0 - pc[j])).sqrt(),
                            Loss::SoftmaxCrossEntropy => {
                                let s = pc[j].sqrt();
                                for (ei, &pi) in ec.iter_mut().zip(pc) {
                                    *ei = -s * pi;
                                }
                                ec[j] += s;
                            }
                        }
                    }
                    e
                })
                .collect(),
        }
    }
}

/// One γ search (Martens & Grosse 2015, §6.6): the three candidates
/// `γ/ω₂, γ, ω₂ γ`, the minibatch objective `h(θ + δ)` each update gives,
/// and the index of the one kept (the lowest).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GammaSearch {
    /// The iteration (1-based).
    pub iteration: usize,
    /// `[γ/ω₂, γ, ω₂ γ]`.
    pub candidates: [f64; 3],
    /// `h(θ + δ(γ'))` for each candidate.
    pub losses: [f64; 3],
    /// Index of the candidate kept.
    pub chosen: usize,
}

/// Per-iteration record of K-FAC's adaptive quantities.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KfacTrace {
    /// Minibatch objective `h(θ_k)` at the start of iteration `k`.
    pub batch_loss: Vec<f64>,
    /// `λ` used in iteration `k`.
    pub lambda: Vec<f64>,
    /// `γ` used in iteration `k` (after that iteration's search, if any).
    pub gamma: Vec<f64>,
    /// Step scale `α`.
    pub alpha: Vec<f64>,
    /// Momentum coefficient `μ` (0 without momentum).
    pub mu: Vec<f64>,
    /// `ρ`, on the iterations that compute it (every `T₁`).
    pub rho: Vec<Option<f64>>,
    /// The γ searches.
    pub gamma_search: Vec<GammaSearch>,
    /// Whether iteration `k`'s step was rejected by the step check
    /// ([`Kfac::with_step_check`]): `θ` kept, momentum dropped, `λ` raised.
    pub rejected: Vec<bool>,
}

/// Options of [`Kfac::train`], as a [`Driver`] ([`KfacTraining::driver`]).
#[derive(Debug, Clone)]
pub struct KfacTraining {
    /// Iterations to run.
    pub iterations: usize,
    /// Examples per minibatch (capped at the data set's size).
    pub batch_size: usize,
    /// Seed of the minibatch order and the sampled targets.
    pub seed: u64,
}

/// What [`Kfac::train`] reports after each iteration. The driver reports
/// the same quantities as named values of a [`StepRecord`].
#[deprecated(note = "use hesse::train::Driver; its callback sees a train::Progress")]
#[derive(Debug, Clone)]
pub struct KfacStep<'s> {
    /// Iterations done (1-based).
    pub iteration: usize,
    /// The parameters after the iteration.
    pub x: &'s [f64],
    /// Minibatch objective at the start of the iteration.
    pub batch_loss: f64,
    /// `λ` used.
    pub lambda: f64,
    /// `γ` used.
    pub gamma: f64,
    /// Step scale `α`.
    pub alpha: f64,
    /// Momentum coefficient `μ`.
    pub mu: f64,
    /// `ρ` if computed this iteration.
    pub rho: Option<f64>,
    /// Whether the step check rejected this iteration's step (then `x` is
    /// the iteration's starting point; [`Kfac::with_step_check`]).
    pub rejected: bool,
}

#[allow(deprecated)]
impl<'s> KfacStep<'s> {
    /// The driver's progress as the old record.
    fn of(p: &Progress<'s>) -> Self {
        let r = p.record;
        KfacStep {
            iteration: p.iteration as usize,
            x: p.x,
            batch_loss: r.loss,
            lambda: r.get("lambda").unwrap_or(f64::NAN),
            gamma: r.get("gamma").unwrap_or(f64::NAN),
            alpha: r.get("alpha").unwrap_or(f64::NAN),
            mu: r.get("mu").unwrap_or(0.0),
            rho: r.get("rho"),
            rejected: r.rejected(),
        }
    }
}

/// K-FAC with block-diagonal inverse (Martens & Grosse 2015); see the
/// [module docs](self) for the iteration.
///
/// A method of the training driver ([`crate::train::Driver`]): the driver
/// draws the minibatches, K-FAC computes its statistics on the first
/// [`with_curvature_fraction`](Kfac::with_curvature_fraction) of each.
///
/// ```
/// use hesse::natural::Kfac;
/// use hesse::nn::{Activation, Dataset, Init, Loss, Mlp};
/// use hesse::prelude::*;
/// let data = Dataset::two_spirals(50, 0.0, 3).unwrap();
/// let mlp = Mlp::new(&[2, 8, 2], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
/// let problem = mlp.problem(&data).unwrap();
/// let x0 = mlp.init(Init::Glorot, 1);
/// let kfac = Kfac::default().with_initial_damping(1.0);
/// let state = Driver::new()
///     .with_batch_size(50)
///     .with_max_iter(30)
///     .train(&problem, kfac, x0.clone())
///     .unwrap();
/// assert!(problem.value(&state.x) < problem.value(&x0));
/// assert_eq!(state.method.trace().lambda.len(), 30);
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Kfac {
    #[serde(with = "crate::solver::float_serde")]
    lambda0: f64,
    gamma0: Option<f64>,
    momentum: bool,
    t1: usize,
    t2: usize,
    t3: usize,
    #[serde(with = "crate::solver::float_serde")]
    factor_decay: f64,
    #[serde(with = "crate::solver::float_serde")]
    curvature_fraction: f64,
    estimator: KfacEstimator,
    adapt_gamma: bool,
    #[serde(with = "crate::solver::float_serde")]
    min_damping: f64,
    step_check: bool,
    #[serde(with = "crate::solver::float_serde")]
    lambda: f64,
    #[serde(with = "crate::solver::float_serde")]
    gamma: f64,
    /// The trace of the run (not part of a checkpoint: a resumed run's
    /// trace starts at the resumed iteration).
    #[serde(skip)]
    trace: KfacTrace,
    /// The running factors, their decompositions and the previous update.
    #[serde(default)]
    run: KfacRun,
}

/// K-FAC's state between iterations (saved in a checkpoint).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct KfacRun {
    layers: Vec<LayerState>,
    /// The previous update `δ₀`.
    #[serde(with = "crate::solver::float_serde::vec")]
    delta_prev: Vec<f64>,
    /// Whether `δ₀` is used (momentum on, and the last step accepted).
    have_prev: bool,
    #[serde(skip)]
    g: Vec<f64>,
    #[serde(skip)]
    trial: Vec<f64>,
}

impl Default for Kfac {
    fn default() -> Self {
        Kfac {
            lambda0: 150.0,
            gamma0: None,
            momentum: true,
            t1: 5,
            t2: 20,
            t3: 20,
            factor_decay: 0.95,
            curvature_fraction: 0.25,
            estimator: KfacEstimator::Sampled,
            adapt_gamma: true,
            min_damping: 1e-8,
            step_check: true,
            lambda: 150.0,
            gamma: 150f64.sqrt(),
            trace: KfacTrace::default(),
            run: KfacRun::default(),
        }
    }
}

impl Kfac {
    /// The initial `λ ≥ 0` of the quadratic model (default 150, §8).
    #[must_use]
    pub fn with_initial_damping(mut self, lambda0: f64) -> Self {
        self.lambda0 = lambda0;
        self
    }

    /// The initial factored damping `γ ≥ 0` (default `√(λ₀ + η)`, §6.6).
    #[must_use]
    pub fn with_initial_gamma(mut self, gamma0: f64) -> Self {
        self.gamma0 = Some(gamma0);
        self
    }

    /// Momentum by the 2×2 quadratic model (§7; default on). Off: `δ = αΔ`.
    #[must_use]
    pub fn with_momentum(mut self, momentum: bool) -> Self {
        self.momentum = momentum;
        self
    }

    /// `T₁ ≥ 1`: iterations between `λ` adjustments (default 5).
    #[must_use]
    pub fn with_t1(mut self, t1: usize) -> Self {
        self.t1 = t1;
        self
    }

    /// `T₂ ≥ 1`: iterations between `γ` searches (default 20).
    #[must_use]
    pub fn with_t2(mut self, t2: usize) -> Self {
        self.t2 = t2;
        self
    }

    /// `T₃ ≥ 1`: iterations between refreshes of the factor inverses
    /// (default 20).
    #[must_use]
    pub fn with_t3(mut self, t3: usize) -> Self {
        self.t3 = t3;
        self
    }

    /// The cap on the running averages' decay, `ε = min(1 − 1/k, decay)`, in
    /// `[0, 1)` (default 0.95, §5).
    #[must_use]
    pub fn with_factor_decay(mut self, decay: f64) -> Self {
        self.factor_decay = decay;
        self
    }

    /// The fraction `f ∈ (0, 1]` of each minibatch on which the statistics
    /// and the exact-`F` quadratic forms are computed (default 1/4).
    #[must_use]
    pub fn with_curvature_fraction(mut self, f: f64) -> Self {
        self.curvature_fraction = f;
        self
    }

    /// How `G` is estimated (default [`KfacEstimator::Sampled`]).
    #[must_use]
    pub fn with_estimator(mut self, estimator: KfacEstimator) -> Self {
        self.estimator = estimator;
        self
    }

    /// Whether `γ` is searched every `T₂` iterations (default on).
    #[must_use]
    pub fn with_gamma_adaptation(mut self, adapt: bool) -> Self {
        self.adapt_gamma = adapt;
        self
    }

    /// The floor `λ_min ≥ 0` that the `ρ` rule does not take a positive `λ`
    /// below (default 10⁻⁸, as kfac-jax's `min_damping`): without it a run
    /// that keeps `ρ > ¾` drives `λ` to underflow, and `λ = 0` could never
    /// grow again. `λ₀ = 0` stays 0 (the undamped method).
    #[must_use]
    pub fn with_min_damping(mut self, min_damping: f64) -> Self {
        self.min_damping = min_damping;
        self
    }

    /// The step check (default on), a deviation from Martens & Grosse 2015,
    /// which accepts every step: each iteration compares the objective
    /// before and after the step on the same examples — the whole minibatch
    /// on the iterations that measure `h(θ + δ)` anyway (`ρ` every `T₁`, the
    /// γ search every `T₂`), else the statistics sub-batch, whose `h(θ)`
    /// comes from the statistics' forward pass, so the check costs one
    /// forward pass on the sub-batch — and rejects the step if the loss
    /// rose there or is not finite (`ρ < 0`, as [`HessianFree`] and
    /// [`NaturalGradient`] reject). A rejected step keeps `θ`, drops the
    /// momentum (`δ₀ = 0`) and raises `λ ← λ/ω₁` at once (the `ρ < ¼` move
    /// of §6.5, without waiting for the next `T₁`; `λ₀ = 0` stays 0, so the
    /// undamped method should run with the check off).
    ///
    /// Why: on a classifier driven to memorization the softmax Fisher
    /// vanishes, `ρ > ¾` at every `T₁` check lets `λ` fall to `~10⁻³`, and
    /// as `‖δ‖ ≲ ‖∇h‖/λ` once `F ≈ 0`, one bad step can throw the loss up
    /// by orders of magnitude before the next check (measured in
    /// `docs/bench/kfac-history.md`). Off: the paper's method, every step accepted.
    ///
    /// Cost: one forward pass on the sub-batch on the iterations that do
    /// not measure `h(θ + δ)` anyway (4 of 5 with the default `T₁`); `h(θ)`
    /// comes with the statistics, and `θ + δ`, formed once, becomes `θ`
    /// when accepted. Profiled (`docs/bench/kfac-history.md`): that forward pass is
    /// all the check costs, and it costs more than its flops because the
    /// logistic units' `exp` and the loss's `exp` and `ln_1p` weigh as much
    /// as the products: +11 % per iteration on the digits autoencoder
    /// (0.21 ms on 64 examples against 1.6 ms), +4-5 % on the MNIST
    /// autoencoder (43 ms of CPU on 250 examples against about 1 s).
    ///
    /// [`HessianFree`]: super::HessianFree
    /// [`NaturalGradient`]: super::NaturalGradient
    #[must_use]
    pub fn with_step_check(mut self, check: bool) -> Self {
        self.step_check = check;
        self
    }

    /// The current `λ`.
    pub fn lambda(&self) -> f64 {
        self.lambda
    }

    /// The current `γ`.
    pub fn gamma(&self) -> f64 {
        self.gamma
    }

    /// The trace of the last run (since its start or resumption).
    pub fn trace(&self) -> &KfacTrace {
        &self.trace
    }

    /// Checks the options: dampings finite and `≥ 0`, periods `≥ 1`, factor
    /// decay in `[0, 1)`, curvature fraction in `(0, 1]`, `λ_min` finite and
    /// `≥ 0`.
    pub fn validate(&self) -> Result<(), Error> {
        check_nonneg("initial_damping", self.lambda0)?;
        check_nonneg("min_damping", self.min_damping)?;
        if let Some(g) = self.gamma0 {
            check_nonneg("initial_gamma", g)?;
        }
        for (name, t) in [("t1", self.t1), ("t2", self.t2), ("t3", self.t3)] {
            if t == 0 {
                return Err(Error::invalid_option(name, 0, "must be at least 1"));
            }
        }
        if !(0.0..1.0).contains(&self.factor_decay) {
            return Err(Error::invalid_option(
                "factor_decay",
                self.factor_decay,
                "must be in [0, 1)",
            ));
        }
        if !(self.curvature_fraction > 0.0 && self.curvature_fraction <= 1.0) {
            return Err(Error::invalid_option(
                "curvature_fraction",
                self.curvature_fraction,
                "must be in (0, 1]",
            ));
        }
        Ok(())
    }
}

/// The Levenberg-Marquardt rule of §6.5: `λ ← ω₁ λ` if `ρ > ¾`, `λ ← λ/ω₁`
/// if `ρ < ¼` (or `ρ` is not a number), else unchanged: the one rule
/// [`lm_damping`](super::lm_damping) with `(ω₁, 1/ω₁)`.
///
/// ```
/// use hesse::natural::kfac::next_lambda;
/// assert_eq!(next_lambda(1.0, 0.9, 0.5), 0.5);
/// assert_eq!(next_lambda(1.0, 0.1, 0.5), 2.0);
/// assert_eq!(next_lambda(1.0, 0.5, 0.5), 1.0);
/// ```
pub fn next_lambda(lambda: f64, rho: f64, omega1: f64) -> f64 {
    super::lm_damping(lambda, rho, omega1, 1.0 / omega1)
}

/// faer's parallelism for a product of `flops` multiply-adds: sequential
/// below 2²⁰ (on the digits autoencoder's layers, thread synchronization
/// costs more than the product), the global setting above.
fn par_for(flops: usize) -> faer::Par {
    if flops < 1 << 20 {
        faer::Par::Seq
    } else {
        crate::linalg::par()
    }
}

/// A symmetric factor's eigendecomposition `U diag(d) Uᵀ`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Eig {
    #[serde(with = "mat_serde")]
    u: Mat<f64>,
    #[serde(with = "crate::solver::float_serde::vec")]
    d: Vec<f64>,
}

/// Serde for a dense matrix: its shape and column-major entries (through
/// `float_serde`, so that a checkpoint holds the bits).
mod mat_serde {
    use faer::Mat;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Repr {
        rows: usize,
        cols: usize,
        #[serde(with = "crate::solver::float_serde::vec")]
        data: Vec<f64>,
    }

    pub fn serialize<S: Serializer>(m: &Mat<f64>, s: S) -> Result<S::Ok, S::Error> {
        let (rows, cols) = (m.nrows(), m.ncols());
        let data = (0..cols)
            .flat_map(|j| (0..rows).map(move |i| m[(i, j)]))
            .collect();
        Repr { rows, cols, data }.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Mat<f64>, D::Error> {
        let r = Repr::deserialize(d)?;
        if r.data.len() != r.rows * r.cols {
            return Err(serde::de::Error::custom(format!(
                "a {}x{} matrix needs {} entries, found {}",
                r.rows,
                r.cols,
                r.rows * r.cols,
                r.data.len()
            )));
        }
        Ok(Mat::from_fn(r.rows, r.cols, |i, j| r.data[i + j * r.rows]))
    }
}

impl Eig {
    /// From the lower triangle of `m`, sequential below 2²⁰ flops (faer's
    /// `self_adjoint_eigen` takes the global parallelism, whose thread
    /// wake-ups cost more than the digits autoencoder's factors).
    fn new(m: &Mat<f64>) -> Result<Self, Error> {
        let n = m.nrows();
        let par = par_for(n * n * n);
        let mut d = vec![0.0; n];
        let mut u = Mat::<f64>::zeros(n, n);
        let mut buf = MemBuffer::new(evd::self_adjoint_evd_scratch::<f64>(
            n,
            evd::ComputeEigenvectors::Yes,
            par,
            Default::default(),
        ));
        evd::self_adjoint_evd(
            m.as_ref(),
            faer::diag::DiagMut::from_slice_mut(&mut d),
            Some(u.as_mut()),
            par,
            MemStack::new(&mut buf),
            Default::default(),
        )
        .map_err(|e| Error::InvalidProblem(format!("K-FAC factor eigendecomposition: {e:?}")))?;
        for di in &mut d {
            *di = di.max(0.0);
        }
        Ok(Eig { u, d })
    }

    /// `(U diag(d) Uᵀ + c I)⁻¹ = U diag(1/(d + c)) Uᵀ`.
    fn inverse(&self, c: f64) -> Mat<f64> {
        let n = self.d.len();
        let mut ud = self.u.clone();
        for j in 0..n {
            let s = 1.0 / (self.d[j] + c);
            for i in 0..n {
                ud[(i, j)] *= s;
            }
        }
        let mut out = Mat::<f64>::zeros(n, n);
        faer::linalg::matmul::matmul(
            out.as_mut(),
            Accum::Replace,
            ud.as_ref(),
            self.u.transpose(),
            1.0,
            par_for(n * n * n),
        );
        // Scalar loops follow: no AVX-SSE transition penalty (issue 17).
        crate::linalg::elementwise::zero_upper();
        out
    }

    fn mean(&self) -> f64 {
        self.d.iter().sum::<f64>() / self.d.len() as f64
    }
}

/// One layer's running factors, their decompositions and the inverses at
/// the current `γ`.
///
/// A checkpoint keeps the factors and their decompositions; the inverses are
/// a function of the decompositions and `γ` and are formed again when needed
/// (the same bits).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct LayerState {
    /// Flat range of `vec W̄_l` and its shape `m × (k + 1)`.
    start: usize,
    m: usize,
    k1: usize,
    #[serde(with = "mat_serde")]
    a: Mat<f64>,
    #[serde(with = "mat_serde")]
    g: Mat<f64>,
    /// `(Ā = U_A D_A U_Aᵀ, Ḡ = U_G D_G U_Gᵀ, π)` at the last refresh.
    eig: Option<(Eig, Eig, f64)>,
    #[serde(skip)]
    inv: Option<(Mat<f64>, Mat<f64>)>,
}

impl LayerState {
    /// `(Ā + πγ I)⁻¹, (Ḡ + γ/π I)⁻¹`.
    fn inverses(&self, gamma: f64) -> (Mat<f64>, Mat<f64>) {
        let (ea, eg, pi) = self.eig.as_ref().expect("decomposed before use");
        (ea.inverse(pi * gamma), eg.inverse(gamma / pi))
    }
}

/// `Δ_l = −G⁻¹ V A⁻¹` for every layer into `out`.
fn precondition(
    layers: &[LayerState],
    inv: &[(Mat<f64>, Mat<f64>)],
    grad: &[f64],
    out: &mut [f64],
) {
    for (ls, (ai, gi)) in layers.iter().zip(inv) {
        let (m, k1) = (ls.m, ls.k1);
        let par = par_for(m * k1 * (m + k1));
        let v = MatRef::from_column_major_slice(&grad[ls.start..ls.start + m * k1], m, k1);
        let mut tmp = Mat::<f64>::zeros(m, k1);
        faer::linalg::matmul::matmul(tmp.as_mut(), Accum::Replace, gi.as_ref(), v, 1.0, par);
        let dst = MatMut::from_column_major_slice_mut(&mut out[ls.start..ls.start + m * k1], m, k1);
        faer::linalg::matmul::matmul(dst, Accum::Replace, tmp.as_ref(), ai.as_ref(), -1.0, par);
    }
    // Scalar loops follow: no AVX-SSE transition penalty (issue 17).
    crate::linalg::elementwise::zero_upper();
}

/// `avg ← ε avg + (1 − ε) new` (`new` column-major, the same shape).
fn blend(avg: &mut Mat<f64>, new: &[f64], eps: f64) {
    let n = avg.nrows();
    for j in 0..avg.ncols() {
        for i in 0..n {
            avg[(i, j)] = eps * avg[(i, j)] + (1.0 - eps) * new[i + j * n];
        }
    }
}

/// Per layer `((Ā + πγ I)⁻¹, (Ḡ + γ/π I)⁻¹)`.
type Inverses = Vec<(Mat<f64>, Mat<f64>)>;

/// A proposed update: `δ = αΔ + μδ₀`, and the change of the undamped model.
struct Proposal {
    delta: Vec<f64>,
    alpha: f64,
    mu: f64,
    model_change: f64,
}

/// An iteration's proposal with what is known of it: the minibatch loss at
/// `x + δ` if measured, and whether the `trial` buffer holds `x + δ`.
struct Step {
    proposal: Proposal,
    h_new: Option<f64>,
    trial_is_step: bool,
}

impl Step {
    /// The loss on `batch` at `x + δ`, formed in `trial` (which then holds
    /// the step).
    fn loss_at_trial(
        &mut self,
        problem: &MlpProblem<'_>,
        x: &[f64],
        batch: &[usize],
        trial: &mut [f64],
    ) -> Result<f64, Error> {
        for ((t, xi), di) in trial.iter_mut().zip(x).zip(&self.proposal.delta) {
            *t = xi + di;
        }
        self.trial_is_step = true;
        problem.value_batch_once(trial, batch).map_err(nn_err)
    }
}

/// The network's errors as the solver's.
fn nn_err(e: crate::nn::NnError) -> Error {
    Error::InvalidProblem(e.to_string())
}

#[allow(deprecated)]
impl Kfac {
    /// Trains `problem` from `x0` for `opts.iterations` minibatch iterations
    /// and returns the final parameters: a thin wrapper over the training
    /// driver ([`crate::train::Driver`] with K-FAC as the [`Method`]). Calls
    /// `on_iter` after every iteration; returning `false` stops training. No
    /// evaluation on the full data set is made (the caller's callback may
    /// make them, outside the iteration).
    ///
    /// Errors: invalid options, `x0` of the wrong length or not finite, a
    /// batch size of 0, a network with batch normalization.
    #[deprecated(note = "use hesse::train::Driver with Kfac as the method")]
    pub fn train(
        &mut self,
        problem: &MlpProblem<'_>,
        x0: &[f64],
        opts: &KfacTraining,
        on_iter: &mut dyn FnMut(&KfacStep<'_>) -> bool,
    ) -> Result<Vec<f64>, Error> {
        self.validate()?;
        if opts.batch_size == 0 {
            return Err(Error::invalid_option("batch_size", 0, "must be at least 1"));
        }
        let driver = opts.driver(problem.data().len());
        super::hessian_free::drive(self, problem, x0, &driver, &mut |p| {
            on_iter(&KfacStep::of(p))
        })
    }
}

impl KfacTraining {
    /// The training driver of these options on `n_data` examples: batches of
    /// `batch_size` (at most `n_data`), `iterations` iterations, the
    /// curvature sub-batch K-FAC's ([`Kfac::with_curvature_fraction`]), no
    /// held-out evaluation, no progress bar.
    pub fn driver(&self, n_data: usize) -> Driver {
        Driver::new()
            .with_batch_size(self.batch_size.min(n_data))
            .with_seed(self.seed)
            .with_max_iter(self.iterations as u64)
            .with_eval_every(EvalEvery::Never)
            .with_progress(false)
    }
}

impl<P: NetworkObjective + ?Sized> Method<P> for Kfac {
    fn name(&self) -> &'static str {
        "kfac"
    }

    /// Checks the options and the network (no batch normalization), sets
    /// `λ = λ₀`, `γ = γ₀` and zero factors.
    fn start(&mut self, objective: &P, x0: &[f64]) -> Result<(), Error> {
        self.validate()?;
        let mlp = objective.network().mlp();
        let n = mlp.num_params();
        check_start(x0, n)?;
        if mlp.layers().iter().any(|l| l.batch_norm) {
            return Err(Error::InvalidProblem(
                "K-FAC supports networks without batch normalization".into(),
            ));
        }
        // Per layer the factors A ((k+1)²) and G (m²), each with its
        // eigenvectors and damped inverse.
        let floats = (0..mlp.layers().len()).try_fold(0usize, |acc, l| {
            let (_, (m, k)) = mlp.weights_range(l);
            let a = (k + 1).checked_mul(k + 1)?;
            let g = m.checked_mul(m)?;
            acc.checked_add(a.checked_add(g)?.checked_mul(3)?)
        });
        crate::solver::check_dense(
            "K-FAC",
            "three copies of each layer's Kronecker factors (fan-in + 1)² and width²",
            floats,
            ": use hf or natural for layers this wide",
        )?;
        let eta = mlp.weight_decay();
        self.lambda = self.lambda0;
        self.gamma = self.gamma0.unwrap_or((self.lambda0 + eta).sqrt());
        self.trace = KfacTrace::default();
        let layers = (0..mlp.layers().len())
            .map(|l| {
                let (r, (m, k)) = mlp.weights_range(l);
                LayerState {
                    start: r.start,
                    m,
                    k1: k + 1,
                    a: Mat::zeros(k + 1, k + 1),
                    g: Mat::zeros(m, m),
                    eig: None,
                    inv: None,
                }
            })
            .collect();
        self.run = KfacRun {
            layers,
            delta_prev: vec![0.0; n],
            have_prev: false,
            g: vec![0.0; n],
            trial: vec![0.0; n],
        };
        Ok(())
    }

    /// `⌈f B⌉` examples, `f` = [`Kfac::with_curvature_fraction`].
    fn curvature_batch(&self, batch: usize) -> usize {
        ((self.curvature_fraction * batch as f64).ceil() as usize).clamp(1, batch)
    }

    /// One iteration of the module docs' box on the minibatch, the
    /// statistics and the quadratic model on its curvature sub-batch.
    /// Reports `lambda` (used), `gamma`, `alpha`, `mu`, `rho` (every `T₁`)
    /// and `rejected`.
    fn step(
        &mut self,
        objective: &P,
        x: &mut [f64],
        mb: &Minibatch<'_>,
    ) -> Result<StepRecord, Error> {
        let mut run = std::mem::take(&mut self.run);
        let out = self.iterate(objective.network(), x, mb, &mut run);
        self.run = run;
        out
    }
}

impl Kfac {
    /// One iteration `k = mb.iteration` at `x` (see [`Method::step`]).
    // The body is the former `Kfac::train` loop's, its calls (`&x`, `&batch`)
    // kept as they were so that the move of the curvature statistics out of
    // `nn::mlp` merges line for line.
    #[allow(clippy::needless_borrow)]
    fn iterate(
        &mut self,
        problem: &MlpProblem<'_>,
        x: &mut [f64],
        mb: &Minibatch<'_>,
        run: &mut KfacRun,
    ) -> Result<StepRecord, Error> {
        let omega1 = 0.95f64.powi(self.t1 as i32);
        let it = mb.iteration as usize;
        let (batch, curv) = (mb.examples, mb.curvature);
        let KfacRun {
            layers,
            delta_prev,
            have_prev,
            g,
            trial,
        } = run;
        if layers.is_empty() {
            return Err(Error::InvalidProblem(
                "K-FAC stepped before start (no layer state)".into(),
            ));
        }
        crate::train::shampoo::Block::check_layers(
            layers.iter().map(|ls| (ls.start, ls.m, ls.k1)),
            problem.mlp(),
            "K-FAC",
        )?;
        // Work vectors are not saved in a checkpoint.
        g.resize(x.len(), 0.0);
        trial.resize(x.len(), 0.0);
        let h = problem.value_grad_batch(x, batch, g).map_err(nn_err)?;
        let h_curv = self.update_statistics(problem, x, mb, layers)?;

        let prev = (self.momentum && *have_prev).then_some(delta_prev.as_slice());
        let mut step = if self.adapt_gamma && it.is_multiple_of(self.t2) {
            self.search_gamma(problem, x, mb, layers, g, prev, trial)?
        } else {
            self.propose_at_gamma(problem, x, curv, layers, g, prev)?
        };

        // λ from ρ every T₁ (§6.5).
        let lambda_used = self.lambda;
        let mut rho = None;
        if it.is_multiple_of(self.t1) {
            let hn = match step.h_new {
                Some(v) => v,
                None => step.loss_at_trial(problem, x, batch, trial)?,
            };
            step.h_new = Some(hn);
            let p = &step.proposal;
            let r = if p.model_change < 0.0 {
                (hn - h) / p.model_change
            } else {
                f64::NAN
            };
            if self.lambda > 0.0 {
                self.lambda = next_lambda(self.lambda, r, omega1).max(self.min_damping);
            }
            rho = Some(r);
        }

        // The step check: the loss change on the whole minibatch if it
        // was measured (every T₁, T₂), else on the statistics sub-batch.
        let rejected = self.step_check && {
            let (h0, h1) = match step.h_new {
                Some(v) => (h, v),
                None => (h_curv, step.loss_at_trial(problem, x, curv, trial)?),
            };
            // A NaN or infinite h1 is rejected too.
            !h1.is_finite() || h1 > h0
        };
        if rejected {
            if self.lambda > 0.0 {
                self.lambda = (lambda_used / omega1).max(self.min_damping);
            }
            *have_prev = false;
        } else {
            if step.trial_is_step {
                // trial = x + δ, computed as the sum below would.
                x.copy_from_slice(trial);
            } else {
                for (xi, di) in x.iter_mut().zip(&step.proposal.delta) {
                    *xi += di;
                }
            }
            std::mem::swap(delta_prev, &mut step.proposal.delta);
            *have_prev = true;
        }
        Ok(self.record(h, lambda_used, &step.proposal, rho, rejected))
    }

    /// K-FAC's statistics on the curvature sub-batch blended into the
    /// running averages (§5), and the eigendecompositions every `T₃` (and
    /// early, while the averages move fast). Returns `h` on the statistics
    /// sub-batch at `θ` for the step check: its forward pass is the
    /// gradient's, cut to the first columns (cached), so it is free.
    fn update_statistics(
        &self,
        problem: &MlpProblem<'_>,
        x: &[f64],
        mb: &Minibatch<'_>,
        layers: &mut [LayerState],
    ) -> Result<f64, Error> {
        let mlp = problem.mlp();
        let (kout, loss) = (mlp.outputs(), mlp.loss());
        let it = mb.iteration as usize;
        let (seed, est) = (mb.seed, self.estimator);
        let mut h_curv = f64::NAN;
        let factors = super::statistics::kfac_factors_value(
            problem,
            x,
            mb.curvature,
            &mut |p| est.output_vectors(loss, kout, p, seed),
            self.step_check.then_some(&mut h_curv),
        )
        .map_err(nn_err)?;
        let eps = (1.0 - 1.0 / it as f64).min(self.factor_decay);
        for (ls, (a, gm)) in layers.iter_mut().zip(&factors) {
            blend(&mut ls.a, a.as_slice(), eps);
            blend(&mut ls.g, gm.as_slice(), eps);
        }
        let refresh = it.is_multiple_of(self.t3) || (it < self.t3 && it.is_power_of_two());
        if refresh {
            for ls in layers.iter_mut() {
                let ea = Eig::new(&ls.a)?;
                let eg = Eig::new(&ls.g)?;
                let (ma, mg) = (ea.mean(), eg.mean());
                let pi = if ma > 0.0 && mg > 0.0 {
                    (ma / mg).sqrt()
                } else {
                    1.0
                };
                ls.eig = Some((ea, eg, pi));
                ls.inv = None;
            }
        }
        Ok(h_curv)
    }

    /// The `γ` search every `T₂` (§6.6): a proposal at each of `γ/ω₂`, `γ`,
    /// `γω₂`, the one of least minibatch loss kept (with its inverses and its
    /// loss; `trial` holds its `x + δ` when it is the last candidate).
    #[allow(clippy::too_many_arguments)]
    fn search_gamma(
        &mut self,
        problem: &MlpProblem<'_>,
        x: &[f64],
        mb: &Minibatch<'_>,
        layers: &mut [LayerState],
        g: &[f64],
        prev: Option<&[f64]>,
        trial: &mut [f64],
    ) -> Result<Step, Error> {
        let omega2 = 0.95f64.sqrt().powi(self.t2 as i32);
        let gamma = self.gamma;
        let candidates = [gamma / omega2, gamma, gamma * omega2];
        let mut best: Option<(usize, Proposal, Inverses)> = None;
        let mut losses = [f64::NAN; 3];
        for (c, &gc) in candidates.iter().enumerate() {
            let inv: Vec<_> = layers.iter().map(|ls| ls.inverses(gc)).collect();
            let p = self.propose(problem, x, mb.curvature, layers, &inv, g, prev)?;
            for ((t, xi), di) in trial.iter_mut().zip(x.iter()).zip(&p.delta) {
                *t = xi + di;
            }
            let hc = problem
                .value_batch_once(trial, mb.examples)
                .map_err(nn_err)?;
            losses[c] = hc;
            let better = match &best {
                None => true,
                Some((b, _, _)) => hc < losses[*b] || losses[*b].is_nan(),
            };
            if better {
                best = Some((c, p, inv));
            }
        }
        let (chosen, proposal, inv) = best.expect("three candidates");
        self.gamma = candidates[chosen];
        for (ls, i) in layers.iter_mut().zip(inv) {
            ls.inv = Some(i);
        }
        self.trace.gamma_search.push(GammaSearch {
            iteration: mb.iteration as usize,
            candidates,
            losses,
            chosen,
        });
        Ok(Step {
            proposal,
            h_new: Some(losses[chosen]),
            trial_is_step: chosen == candidates.len() - 1,
        })
    }

    /// The proposal at the current `γ`, forming its inverses if the last
    /// refresh dropped them.
    fn propose_at_gamma(
        &self,
        problem: &MlpProblem<'_>,
        x: &[f64],
        curv: &[usize],
        layers: &mut [LayerState],
        g: &[f64],
        prev: Option<&[f64]>,
    ) -> Result<Step, Error> {
        for ls in layers.iter_mut() {
            if ls.inv.is_none() {
                ls.inv = Some(ls.inverses(self.gamma));
            }
        }
        let inv: Vec<_> = layers
            .iter_mut()
            .map(|ls| ls.inv.take().expect("formed above"))
            .collect();
        let p = self.propose(problem, x, curv, layers, &inv, g, prev);
        for (ls, i) in layers.iter_mut().zip(inv) {
            ls.inv = Some(i);
        }
        Ok(Step {
            proposal: p?,
            h_new: None,
            trial_is_step: false,
        })
    }

    /// The step's trace entry and its record: `lambda` (used), `gamma`,
    /// `alpha`, `mu`, `rho` (every `T₁`) and `rejected`.
    fn record(
        &mut self,
        h: f64,
        lambda_used: f64,
        p: &Proposal,
        rho: Option<f64>,
        rejected: bool,
    ) -> StepRecord {
        let tr = &mut self.trace;
        tr.batch_loss.push(h);
        tr.lambda.push(lambda_used);
        tr.gamma.push(self.gamma);
        tr.alpha.push(p.alpha);
        tr.mu.push(p.mu);
        tr.rho.push(rho);
        tr.rejected.push(rejected);
        let mut record = StepRecord::new(h)
            .with("lambda", lambda_used)
            .with("gamma", self.gamma)
            .with("alpha", p.alpha)
            .with("mu", p.mu);
        if let Some(r) = rho {
            record = record.with("rho", r);
        }
        record.with("rejected", f64::from(u8::from(rejected)))
    }

    /// `Δ` from the inverses, then `(α, μ)` minimizing
    /// `M(αΔ + μδ₀)` with `F` on the curvature batch (§6.4, §7).
    #[allow(clippy::too_many_arguments)]
    fn propose(
        &self,
        problem: &MlpProblem<'_>,
        x: &[f64],
        curv: &[usize],
        layers: &[LayerState],
        inv: &[(Mat<f64>, Mat<f64>)],
        g: &[f64],
        prev: Option<&[f64]>,
    ) -> Result<Proposal, Error> {
        let nn_err = |e: crate::nn::NnError| Error::InvalidProblem(e.to_string());
        let mut d = vec![0.0; g.len()];
        precondition(layers, inv, g, &mut d);
        let lambda = self.lambda;
        let gd = dot(g, &d);
        let one_d = |gram_dd: f64, dd: f64| {
            let c = gram_dd + lambda * dd;
            let alpha = if c > 0.0 && c.is_finite() {
                -gd / c
            } else {
                0.0
            };
            (alpha, 0.5 * alpha * alpha * gram_dd + alpha * gd)
        };
        let (alpha, mu, model_change) = match prev {
            Some(p) => {
                let gram = super::statistics::gauss_newton_gram(problem, x, curv, &[&d, p])
                    .map_err(nn_err)?;
                let (dd, dp, pp) = (dot(&d, &d), dot(&d, p), dot(p, p));
                let a11 = gram[(0, 0)] + lambda * dd;
                let a12 = gram[(0, 1)] + lambda * dp;
                let a22 = gram[(1, 1)] + lambda * pp;
                let gp = dot(g, p);
                let det = a11 * a22 - a12 * a12;
                if det > 1e-14 * a11.abs() * a22.abs() && det.is_finite() {
                    let alpha = (-gd * a22 + gp * a12) / det;
                    let mu = (-gp * a11 + gd * a12) / det;
                    let quad = alpha * alpha * gram[(0, 0)]
                        + 2.0 * alpha * mu * gram[(0, 1)]
                        + mu * mu * gram[(1, 1)];
                    (alpha, mu, 0.5 * quad + alpha * gd + mu * gp)
                } else {
                    let (a, m) = one_d(gram[(0, 0)], dd);
                    (a, 0.0, m)
                }
            }
            None => {
                let gram = super::statistics::gauss_newton_gram(problem, x, curv, &[&d])
                    .map_err(nn_err)?;
                let (a, m) = one_d(gram[(0, 0)], dot(&d, &d));
                (a, 0.0, m)
            }
        };
        let delta = match prev {
            Some(p) => d
                .iter()
                .zip(p)
                .map(|(di, pi)| alpha * di + mu * pi)
                .collect(),
            None => d.iter().map(|di| alpha * di).collect(),
        };
        Ok(Proposal {
            delta,
            alpha,
            mu,
            model_change,
        })
    }
}
