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
//! [`MlpProblem::gauss_newton_gram_batch`] (one forward R pass per direction).
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
//! `cargo run --release --example kfac_digits -- digits 2000 0 1` (digits
//! autoencoder 64-32-16-32-64, logistic units, linear code, binary
//! cross-entropy summed over outputs, Glorot init, batch 256, λ₀ = 1, the
//! rest default; Adam lr 3e-3 from the same init; full-set loss):
//!
//! | iterations | 100 | 200 | 500 | 2000 |
//! |---|---|---|---|---|
//! | Adam | 27.10 | 24.42 | 20.95 | 16.43 |
//! | K-FAC | 17.76 | 15.60 | 15.14 | 14.99 |
//!
//! K-FAC reaches Adam's 2000-iteration loss at iteration 140 (0.07 of
//! Adam's iterations). Seconds per iteration (medians, same run, on a loaded
//! 2-core machine): Adam 0.0005, K-FAC 0.0020-0.0024 (3.8-4.5×), so about
//! 0.27-0.32 of Adam's time by medians (0.13-0.37 by the noisy totals). With
//! the paper's λ₀ = 150 the large initial γ = √150 comes down by ω₂ ≈ 0.6
//! per T₂ only, and K-FAC needs 290 iterations (0.145); with λ₀ = 0.01, 110.
//! K-FAC levels off near 15.0 (minibatch noise at batch 256; the paper grows
//! the batch).
//!
//! `cargo run --release --example train_bench -- --task digits-ae --seeds 3
//! --iterations 2000 --budget-secs 30 --curvature-batch 64 --max-cg 10
//! --methods adam,kfac --out DIR` (the same network, λ₀ = 1; Adam's best
//! rate of the sweep, 1e-2, final loss 15.52; medians of 3 seeds, Adam
//! measured in the same run; full-set evaluations excluded from the times):
//!
//! | | s/iteration | K-FAC / Adam per iteration | iterations to Adam's final loss | time to it |
//! |---|---|---|---|---|
//! | before (one forward pass per batch size, faer threads on tiny products) | 0.0019 (Adam 0.0010) | 1.9× | 0.110 | 0.219 |
//! | now | 0.0014 (Adam 0.0009) | 1.5× | 0.110 | 0.167 |
//! | now, `--kfac-damping 0.3` | 0.0013 (Adam 0.0009) | 1.4× | 0.100 | 0.148 |
//!
//! Where an iteration's time goes now (phases of [`Kfac::train`] timed with
//! `Instant` in a scratch build, λ₀ = 1, 2000 iterations, ms per iteration):
//! gradient on the 256 examples 0.87 (Adam's whole iteration; mostly `exp`
//! and `ln_1p` of the logistic units and the loss), statistics 0.06 (their
//! forward pass is the gradient's, cut to the first 64 columns), the 2×2
//! model 0.25 (two forward R passes on 64 examples, the per-layer products,
//! and the γ search's three proposals and minibatch losses every T₂), `ρ`
//! 0.11 (one minibatch loss every T₁), eigendecompositions 0.05 (8 factors of
//! 16 to 65 rows, about 0.7 ms per refresh). Before, with faer's threads on
//! these products, statistics took 0.30 and the model 0.45.
//!
//! λ₀ (same scratch build, Adam's per-seed final losses as targets, full
//! loss every 10 iterations, seeds 0-2): K-FAC reaches them at iterations
//! 230/210/210 with λ₀ = 1, 190/190/190 with 0.3, 190/180/190 with 0.1,
//! 210/210/180 with 0.01; γ₀ = 0.1 or 0.3 instead of √λ₀ (λ₀ = 1), a
//! curvature fraction of 1/2 or 1, T₃ = 5 or 10 or a factor decay of 0.9
//! change it by at most one evaluation (10 iterations); T₂ = 10 is worse
//! (230). λ₀ = 0.1 with T₃ = 5 reached them at 180/160/160 (one run; the
//! refreshes cost about 0.1 ms per iteration more; `train_bench` has no T₃
//! option to confirm it there). The defaults stay the paper's;
//! `--kfac-damping 0.3` is the benchmark's better setting.
//!
//! `KFAC_EVAL_EVERY=20 KFAC_BUDGET_SECONDS=270 cargo run --release --example
//! kfac_digits -- mnist 100000 0 1` (MNIST deep autoencoder
//! 784-1000-500-250-30-250-500-1000-784, 10,000 training images, batch 1000,
//! sparse init, λ₀ = 1; 270 s of training each, full-set evaluations
//! excluded): Adam (lr 3e-3) 389 iterations, loss 107.5; K-FAC 170
//! iterations, loss 58.7 (at iteration 160). K-FAC passes Adam's final loss
//! at iteration 60, after 117 s (0.44 of Adam's time). Seconds per iteration
//! (medians): Adam 0.67, K-FAC 1.39 (2.1×; kfac-jax measured 3.7× on this
//! machine); the machine was shared (load ≈ 8 on 2 cores). Seed 1 (`... mnist
//! 100000 1 1`): Adam 386 iterations, 108.9; K-FAC 200 iterations, 55.6,
//! past Adam's final loss at iteration 60 after 101 s (0.37); medians 0.68
//! and 1.07 s per iteration (1.6×). On MNIST every γ search kept the
//! smallest candidate (γ 1 → 0.006 in 200 iterations), so γ₀ = √λ₀ is
//! larger than this problem wants.
//!
//! The step check ([`Kfac::with_step_check`]), `cargo run --release --example
//! train_bench -- --task digits-clf --seeds 3 --iterations 500 --budget-secs
//! 600 --curvature-batch 64 --max-cg 10 --methods kfac --kfac-step-check
//! on|off` (64-256-256-10 tanh, softmax cross-entropy, batch 256, λ₀ = 0.3;
//! full-set loss on the recorded grid; Adam's best rate 1e-2 ends at 3.5e-4):
//!
//! | seed | 0 | 1 | 2 |
//! |---|---|---|---|
//! | off: final (minimum) | 461 (0.013) | 76.5 (0.0061) | 2.9e-7 (2.9e-7) |
//! | off: largest loss / running minimum | 3.3e5 | 5.6e5 | 2.2e4 |
//! | on: final | 9.2e-5 | 3.0e-4 | 9.9e-5 |
//! | on: largest loss / running minimum | 5.6 | 5.0 | 1.8 |
//! | on: rejected steps of 500 | 47 | 57 | 50 |
//!
//! Off, λ falls from 0.3 to 0.002-0.006 (seed 2: 1e-5) while the loss nears 0
//! (ρ > ¾ at the `T₁` checks), the loss jumps by up to five orders of
//! magnitude, and λ climbs back (to 1.8 on seed 0) only after. On, λ stays
//! between 0.003 and 0.14, each rejection pushing it up. Other thresholds
//! (same runs): rejecting only a rise larger than the predicted fall
//! (`ρ < −1`) left jumps of 2600× (seed 0); raising λ by ω₁⁻² or ω₁⁻⁵ per
//! rejection stalled the loss near 1e-2. On the digits autoencoder (`--task
//! digits-ae`, 2000 iterations) the check rejects 5 / 11 / 8 steps, and K-FAC
//! still reaches Adam's final loss at 0.100 of its iterations (final 14.99);
//! on the MNIST autoencoder it rejects none in the first 100 iterations (the
//! smallest `(h(θ + δ) − h(θ)) / M₀(δ)` was 0.85), so the trajectory is the
//! unchecked one.
//!
//! What the step check costs (profiled with `perf` and with the phases of
//! [`Kfac::train`] timed in a scratch build; `cargo run --release --example
//! train_bench -- --task digits-ae|mnist-ae --methods kfac --seeds 1
//! --iterations 2000|50 --points 1 --kfac-step-check on|off`, interleaved, on
//! a shared, loaded machine): its forward pass on the sub-batch, and nothing
//! else. On the digits autoencoder it takes 0.21 ms per checked iteration,
//! the time of `value_batch` on 64 examples alone (a quarter of 0.87 ms on
//! 256), against 1.6 ms for an unchecked iteration: the logistic units'
//! `exp` and the loss's `exp` and `ln_1p` make a forward pass 85 % of a
//! gradient's time there (the extra `perf` samples of the checked run are
//! 70 % `exp`, `ln_1p` and the forward loops), so a flop count (≈ 3 %)
//! underestimates it. Process CPU time, medians of 5 pairs: 3.57 s checked
//! against 3.22 s, +11 % (before the changes below: 3.62 against 3.19 s,
//! +13 %). On the MNIST autoencoder (iterations 1-40) the forward pass on
//! 250 examples takes 42-44 ms of CPU per iteration against about 1 s (4-5
//! %); seconds per iteration over 50 iterations, medians of 5 pairs: 0.441
//! checked against 0.426, +3.7 % (pairs from −7 % to +7 %; the +10 %
//! measured before was a single 100 s pair). Removed (the same iterates, bit
//! for bit: every minibatch loss and the final `θ` of digits-ae, digits-clf
//! with 47-57 rejections per seed and 40 MNIST iterations): a second cache
//! look-up for `h(θ)` that compared the whole 22 MB parameter vector (2.0 ms
//! per MNIST iteration), the copy of each trial point into the evaluation
//! cache's key, and the update's second pass (`θ += δ` after `θ + δ` was
//! formed, and the copy of `δ` into `δ₀`: 3.5 ms, now 0 checked and 1.3 ms
//! unchecked).

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::evd;
use faer::{Accum, Mat, MatMut, MatRef};
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::linalg::dot;
use crate::nn::{Loss, MlpProblem};
use crate::solver::{Error, check_nonneg, check_start};

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
    /// [`MlpProblem::kfac_factors_batch`].
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

/// Options of [`Kfac::train`].
#[derive(Debug, Clone)]
pub struct KfacTraining {
    /// Iterations to run.
    pub iterations: usize,
    /// Examples per minibatch (capped at the data set's size).
    pub batch_size: usize,
    /// Seed of the minibatch order and the sampled targets.
    pub seed: u64,
}

/// What [`Kfac::train`] reports after each iteration.
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

/// K-FAC with block-diagonal inverse (Martens & Grosse 2015); see the
/// [module docs](self) for the iteration.
///
/// ```
/// use hesse::natural::{Kfac, KfacTraining};
/// use hesse::nn::{Activation, Dataset, Init, Loss, Mlp};
/// let data = Dataset::two_spirals(50, 0.0, 3).unwrap();
/// let mlp = Mlp::new(&[2, 8, 2], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
/// let problem = mlp.problem(&data).unwrap();
/// let x0 = mlp.init(Init::Glorot, 1);
/// let opts = KfacTraining { iterations: 30, batch_size: 50, seed: 0 };
/// let mut kfac = Kfac::default().with_initial_damping(1.0);
/// let x = kfac.train(&problem, &x0, &opts, &mut |_| true).unwrap();
/// use hesse::prelude::*;
/// assert!(problem.value(&x) < problem.value(&x0));
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
    trace: KfacTrace,
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
    /// by orders of magnitude before the next check (see the module docs'
    /// measurements). Off: the paper's method, every step accepted.
    ///
    /// Cost: one forward pass on the sub-batch on the iterations that do
    /// not measure `h(θ + δ)` anyway (4 of 5 with the default `T₁`); `h(θ)`
    /// comes with the statistics, and `θ + δ`, formed once, becomes `θ`
    /// when accepted. Profiled (see the module docs): that forward pass is
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

    /// The trace of the last [`train`](Self::train).
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
/// if `ρ < ¼` (or `ρ` is not a number), else unchanged.
///
/// ```
/// use hesse::natural::kfac::next_lambda;
/// assert_eq!(next_lambda(1.0, 0.9, 0.5), 0.5);
/// assert_eq!(next_lambda(1.0, 0.1, 0.5), 2.0);
/// assert_eq!(next_lambda(1.0, 0.5, 0.5), 1.0);
/// ```
pub fn next_lambda(lambda: f64, rho: f64, omega1: f64) -> f64 {
    if rho.is_nan() || rho < 0.25 {
        lambda / omega1
    } else if rho > 0.75 {
        lambda * omega1
    } else {
        lambda
    }
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
struct Eig {
    u: Mat<f64>,
    d: Vec<f64>,
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
struct LayerState {
    /// Flat range of `vec W̄_l` and its shape `m × (k + 1)`.
    start: usize,
    m: usize,
    k1: usize,
    a: Mat<f64>,
    g: Mat<f64>,
    eig: Option<(Eig, Eig, f64)>,
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

impl Kfac {
    /// Trains `problem` from `x0` for `opts.iterations` minibatch iterations
    /// and returns the final parameters. Calls `on_iter` after every
    /// iteration; returning `false` stops training. No evaluation on the
    /// full data set is made (the caller's callback may make them, outside
    /// the iteration).
    ///
    /// Errors: invalid options, `x0` of the wrong length or not finite, a
    /// batch size of 0, a network with batch normalization.
    pub fn train(
        &mut self,
        problem: &MlpProblem<'_>,
        x0: &[f64],
        opts: &KfacTraining,
        on_iter: &mut dyn FnMut(&KfacStep<'_>) -> bool,
    ) -> Result<Vec<f64>, Error> {
        self.validate()?;
        let mlp = problem.mlp();
        let n = mlp.num_params();
        check_start(x0, n)?;
        if opts.batch_size == 0 {
            return Err(Error::invalid_option("batch_size", 0, "must be at least 1"));
        }
        if mlp.layers().iter().any(|l| l.batch_norm) {
            return Err(Error::InvalidProblem(
                "K-FAC supports networks without batch normalization".into(),
            ));
        }
        let nn_err = |e: crate::nn::NnError| Error::InvalidProblem(e.to_string());
        let n_data = problem.data().len();
        let bsz = opts.batch_size.min(n_data);
        let cb = ((self.curvature_fraction * bsz as f64).ceil() as usize).clamp(1, bsz);
        let eta = mlp.weight_decay();
        self.lambda = self.lambda0;
        self.gamma = self.gamma0.unwrap_or((self.lambda0 + eta).sqrt());
        self.trace = KfacTrace::default();
        let omega1 = 0.95f64.powi(self.t1 as i32);
        let omega2 = 0.95f64.sqrt().powi(self.t2 as i32);
        let kout = mlp.outputs();
        let loss = mlp.loss();
        let mut layers: Vec<LayerState> = (0..mlp.layers().len())
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
        let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
        let mut order: Vec<usize> = (0..n_data).collect();
        order.shuffle(&mut rng);
        let mut pos = 0;
        let mut x = x0.to_vec();
        let mut g = vec![0.0; n];
        let mut delta_prev = vec![0.0; n];
        let mut have_prev = false;
        let mut trial = vec![0.0; n];
        for it in 1..=opts.iterations {
            if pos + bsz > n_data {
                order.shuffle(&mut rng);
                pos = 0;
            }
            let batch = order[pos..pos + bsz].to_vec();
            pos += bsz;
            let curv = &batch[..cb];
            let h = problem
                .value_grad_batch(&x, &batch, &mut g)
                .map_err(nn_err)?;

            // Statistics and running averages (§5), and h on the statistics
            // sub-batch at θ for the step check: their forward pass is the
            // gradient's, cut to the first columns (cached), so h is free.
            let seed = rng.random::<u64>();
            let est = self.estimator;
            let mut h_curv = f64::NAN;
            let factors = problem
                .kfac_factors_value_batch(
                    &x,
                    curv,
                    &mut |p| est.output_vectors(loss, kout, p, seed),
                    self.step_check.then_some(&mut h_curv),
                )
                .map_err(nn_err)?;
            let eps = (1.0 - 1.0 / it as f64).min(self.factor_decay);
            for (ls, (a, gm)) in layers.iter_mut().zip(&factors) {
                blend(&mut ls.a, a.as_slice(), eps);
                blend(&mut ls.g, gm.as_slice(), eps);
            }

            // Eigendecompositions every T₃ (and early, while the averages move fast).
            let refresh = it % self.t3 == 0 || (it < self.t3 && it.is_power_of_two());
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

            let search = self.adapt_gamma && it % self.t2 == 0;
            let mut h_new = None;
            // Whether `trial` holds x + δ of the proposal taken (then an
            // accepted step moves it into x instead of adding δ again).
            let mut trial_is_step = false;
            let prev = (self.momentum && have_prev).then_some(delta_prev.as_slice());
            let mut proposal = if search {
                let gamma = self.gamma;
                let candidates = [gamma / omega2, gamma, gamma * omega2];
                let mut best: Option<(usize, Proposal, Inverses)> = None;
                let mut losses = [f64::NAN; 3];
                for (c, &gc) in candidates.iter().enumerate() {
                    let inv: Vec<_> = layers.iter().map(|ls| ls.inverses(gc)).collect();
                    let p = self.propose(problem, &x, curv, &layers, &inv, &g, prev)?;
                    for ((t, xi), di) in trial.iter_mut().zip(&x).zip(&p.delta) {
                        *t = xi + di;
                    }
                    let hc = problem.value_batch_once(&trial, &batch).map_err(nn_err)?;
                    losses[c] = hc;
                    let better = match &best {
                        None => true,
                        Some((b, _, _)) => hc < losses[*b] || losses[*b].is_nan(),
                    };
                    if better {
                        best = Some((c, p, inv));
                    }
                }
                let (chosen, p, inv) = best.expect("three candidates");
                trial_is_step = chosen == candidates.len() - 1;
                self.gamma = candidates[chosen];
                for (ls, i) in layers.iter_mut().zip(inv) {
                    ls.inv = Some(i);
                }
                h_new = Some(losses[chosen]);
                self.trace.gamma_search.push(GammaSearch {
                    iteration: it,
                    candidates,
                    losses,
                    chosen,
                });
                p
            } else {
                for ls in layers.iter_mut() {
                    if ls.inv.is_none() {
                        ls.inv = Some(ls.inverses(self.gamma));
                    }
                }
                let inv: Vec<_> = layers
                    .iter_mut()
                    .map(|ls| ls.inv.take().expect("formed above"))
                    .collect();
                let p = self.propose(problem, &x, curv, &layers, &inv, &g, prev);
                for (ls, i) in layers.iter_mut().zip(inv) {
                    ls.inv = Some(i);
                }
                p?
            };

            // λ from ρ every T₁ (§6.5).
            let lambda_used = self.lambda;
            let mut rho = None;
            if it % self.t1 == 0 {
                let hn = match h_new {
                    Some(v) => v,
                    None => {
                        for ((t, xi), di) in trial.iter_mut().zip(&x).zip(&proposal.delta) {
                            *t = xi + di;
                        }
                        trial_is_step = true;
                        problem.value_batch_once(&trial, &batch).map_err(nn_err)?
                    }
                };
                h_new = Some(hn);
                let r = if proposal.model_change < 0.0 {
                    (hn - h) / proposal.model_change
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
                let (h0, h1) = match h_new {
                    Some(v) => (h, v),
                    None => {
                        for ((t, xi), di) in trial.iter_mut().zip(&x).zip(&proposal.delta) {
                            *t = xi + di;
                        }
                        trial_is_step = true;
                        (
                            h_curv,
                            problem.value_batch_once(&trial, curv).map_err(nn_err)?,
                        )
                    }
                };
                // A NaN or infinite h1 is rejected too.
                !h1.is_finite() || h1 > h0
            };
            if rejected {
                if self.lambda > 0.0 {
                    self.lambda = (lambda_used / omega1).max(self.min_damping);
                }
                have_prev = false;
            } else {
                if trial_is_step {
                    // trial = x + δ, computed as the sum below would.
                    std::mem::swap(&mut x, &mut trial);
                } else {
                    for (xi, di) in x.iter_mut().zip(&proposal.delta) {
                        *xi += di;
                    }
                }
                std::mem::swap(&mut delta_prev, &mut proposal.delta);
                have_prev = true;
            }
            let tr = &mut self.trace;
            tr.batch_loss.push(h);
            tr.lambda.push(lambda_used);
            tr.gamma.push(self.gamma);
            tr.alpha.push(proposal.alpha);
            tr.mu.push(proposal.mu);
            tr.rho.push(rho);
            tr.rejected.push(rejected);
            let step = KfacStep {
                iteration: it,
                x: &x,
                batch_loss: h,
                lambda: lambda_used,
                gamma: self.gamma,
                alpha: proposal.alpha,
                mu: proposal.mu,
                rho,
                rejected,
            };
            if !on_iter(&step) {
                break;
            }
        }
        Ok(x)
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
                let gram = problem
                    .gauss_newton_gram_batch(x, curv, &[&d, p])
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
                let gram = problem
                    .gauss_newton_gram_batch(x, curv, &[&d])
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
