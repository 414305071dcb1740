//! Shampoo: a Kronecker-factored full-matrix AdaGrad per layer (Gupta, Koren
//! & Singer, "Shampoo: preconditioned stochastic tensor optimization", ICML
//! 2018, arXiv 1802.09568), with the learning-rate grafting, filtered
//! gradient, momentum and delayed start of Distributed Shampoo (Shi, Lee,
//! Iwasaki, Gallego-Posada, Li, Rangadurai, Mudigere & Rabbat, "A
//! distributed data-parallel PyTorch implementation of the distributed
//! Shampoo optimizer", 2023, arXiv 2309.06497).
//!
//! Notation as Gupta et al. (Algorithm 1, the order-2 case): per layer `l`
//! the gradient is the matrix `G_t = [∂W_l ∂b_l]` (`m × (k+1)`: the bias
//! folded in as a last column, as K-FAC folds it; in the flat parameter
//! vector this is one contiguous column-major block). One step `t`:
//!
//! ```text
//! L_t = β₂ L_{t−1} + G_t G_tᵀ     (β₂ = 1: a sum, Gupta et al. Alg. 1)    m × m
//! R_t = β₂ R_{t−1} + G_tᵀ G_t                                           (k+1) × (k+1)
//! M_t = β₁ M_{t−1} + (1 − β₁) G_t,  M̂_t = M_t / (1 − β₁ᵗ)   (Shi et al. §3.1, filtered gradient)
//! P_t = (L + εI)^{−1/4} M̂_t (R + εI)^{−1/4}                  (Gupta et al. Alg. 1; roots every T steps)
//! A_t = M̂_t / (√(V_t / (1 − β₂ᵍᵗ)) + εᵍ),  V_t = β₂ᵍ V_{t−1} + (1 − β₂ᵍ) G_t ⊙ G_t   (Adam grafting)
//! D_t = (‖A_t‖_F / ‖P_t‖_F) P_t     (layer-wise grafting, Shi et al. §3.2; D_t = A_t before the start step)
//! B_t = μ B_{t−1} + D_t,  θ_{t+1} = θ_t − η B_t                 (momentum, Shi et al. §3.1)
//! ```
//!
//! The inverse fourth roots come from a symmetric eigendecomposition (faer):
//! `(L + εI)^{−1/4} = U diag((max(d, 0) + ε)^{−1/4}) Uᵀ` for `L = U diag(d) Uᵀ`.
//!
//! Defaults are Distributed Shampoo's (`DistributedShampoo.__init__` in
//! facebookresearch/optimizers, Shi et al.): `η = 10⁻²`, `β₁ = 0.9`,
//! `β₂ = 1`, `ε = 10⁻¹²`, `μ = 0`, the start step equal to the
//! precondition frequency; grafting Adam with `β₂ᵍ = 0.999`, `εᵍ = 10⁻⁸`
//! (their `AdamGraftingConfig` of the paper's time; later versions use
//! `εᵍ = 10⁻¹⁰`), applied, as theirs, to the filtered gradient (Adam's
//! `β₁` is `β₁` above). Deviations:
//! - the roots are recomputed every `T = 10` steps, where Distributed
//!   Shampoo defaults to every step (`precondition_frequency = 1`): see
//!   docs/bench/shampoo-soap.md for what it costs;
//! - no weight decay (the network objective carries its own `λ`), no
//!   blocking of large factors (`max_preconditioner_dim`), no dimension
//!   merging: a layer is one block;
//! - networks without batch normalization (where a layer's weights and
//!   bias are one block), as K-FAC.
//!
//! [`Soap`](super::Soap) runs Adam in the eigenbasis of the same factors.

use std::ops::Range;

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use serde::{Deserialize, Serialize};

use super::{Method, Minibatch, NetworkObjective, StepRecord, nn_error};
use crate::nn::Mlp;
use crate::solver::{Error, check_nonneg, check_positive};

/// One layer's parameters `[W_l b_l]` as a matrix: `m × n` column-major
/// (`n = n_{l−1} + 1`, the bias the last column), a contiguous block of the
/// flat parameter vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Block {
    /// First index in the flat vector.
    pub start: usize,
    /// Rows: the layer's width `n_l`.
    pub m: usize,
    /// Columns: the fan-in plus one.
    pub n: usize,
}

impl Block {
    /// The blocks of every layer of `mlp`; an error for batch normalization
    /// (its `γ` sits between the weights and `β`).
    pub(crate) fn of(mlp: &Mlp, method: &str) -> Result<Vec<Block>, Error> {
        if mlp.layers().iter().any(|l| l.batch_norm) {
            return Err(Error::InvalidProblem(format!(
                "{method} supports networks without batch normalization"
            )));
        }
        let blocks: Vec<Block> = (0..mlp.layers().len())
            .map(|l| {
                let (w, (m, k)) = mlp.weights_range(l);
                debug_assert_eq!(mlp.bias_range(l).start, w.end);
                Block {
                    start: w.start,
                    m,
                    n: k + 1,
                }
            })
            .collect();
        // Per block the factors L (m²) and R (n²), their roots or
        // eigenbases, and the eigensolver's work.
        let floats = blocks.iter().try_fold(0usize, |acc, b| {
            let lr = b.m.checked_mul(b.m)?.checked_add(b.n.checked_mul(b.n)?)?;
            acc.checked_add(lr.checked_mul(3)?)
        });
        crate::solver::check_dense(
            method,
            "three copies of each layer's factors width² and (fan-in + 1)²",
            floats,
            ": use a first-order method for layers this wide",
        )?;
        Ok(blocks)
    }

    /// `Ok` if `blocks` (a method's state, perhaps from a checkpoint) are
    /// the layers of `mlp`, given as `(start, rows, columns)` by `layer`;
    /// else an error naming both shapes: a checkpoint resumed on another
    /// network with as many parameters would precondition the wrong blocks.
    /// Allocates nothing when they match.
    pub(crate) fn check_layers(
        blocks: impl ExactSizeIterator<Item = (usize, usize, usize)> + Clone,
        mlp: &Mlp,
        method: &str,
    ) -> Result<(), Error> {
        let network = |l: usize| {
            let (w, (m, k)) = mlp.weights_range(l);
            (w.start, m, k + 1)
        };
        let layers = mlp.layers().len();
        if blocks.len() == layers && blocks.clone().enumerate().all(|(l, b)| b == network(l)) {
            return Ok(());
        }
        let shapes = |it: &mut dyn Iterator<Item = (usize, usize, usize)>| {
            it.map(|(_, m, n)| format!("{m}×{n}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        Err(Error::InvalidProblem(format!(
            "the {method} state has layer blocks [{}] (width × fan-in + 1), the network [{}]: \
             resume a checkpoint on the network it was saved with",
            shapes(&mut blocks.clone()),
            shapes(&mut (0..layers).map(network)),
        )))
    }

    /// The block's range in the flat vector.
    pub(crate) fn range(&self) -> Range<usize> {
        self.start..self.start + self.m * self.n
    }
}

/// A column-major `rows × cols` view of `s`.
pub(crate) fn mat(s: &[f64], rows: usize, cols: usize) -> MatRef<'_, f64> {
    MatRef::from_column_major_slice(s, rows, cols)
}

/// A mutable column-major `rows × cols` view of `s`.
pub(crate) fn mat_mut(s: &mut [f64], rows: usize, cols: usize) -> MatMut<'_, f64> {
    MatMut::from_column_major_slice_mut(s, rows, cols)
}

/// faer's parallelism for a product of `flops` multiply-adds: sequential
/// below 2²⁰, where thread wake-ups cost more than the product (as K-FAC).
pub(crate) fn par_for(flops: usize) -> Par {
    if flops < 1 << 20 {
        Par::Seq
    } else {
        crate::linalg::par()
    }
}

/// `dst = a b` (`alpha = 1`), or `dst += alpha a b` with `accumulate`.
pub(crate) fn product(
    dst: MatMut<'_, f64>,
    accumulate: Option<f64>,
    a: MatRef<'_, f64>,
    b: MatRef<'_, f64>,
) {
    let par = par_for(a.nrows() * a.ncols() * b.ncols());
    match accumulate {
        Some(alpha) => matmul(dst, Accum::Add, a, b, alpha, par),
        None => matmul(dst, Accum::Replace, a, b, 1.0, par),
    }
}

/// The Kronecker statistics of one block: `L = Σ G Gᵀ` (`m × m`) and
/// `R = Σ Gᵀ G` (`n × n`), as exponential moving averages
/// `S ← β S + (1 − β) G Gᵀ` for `β < 1` or sums for `β = 1`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Factors {
    /// `L`, `m × m` column-major.
    #[serde(with = "crate::solver::float_serde::vec")]
    pub l: Vec<f64>,
    /// `R`, `n × n` column-major.
    #[serde(with = "crate::solver::float_serde::vec")]
    pub r: Vec<f64>,
}

impl Factors {
    pub(crate) fn zeros(b: &Block) -> Self {
        Factors {
            l: vec![0.0; b.m * b.m],
            r: vec![0.0; b.n * b.n],
        }
    }

    /// Adds the gradient `g` (`m × n`) of block `b` with weight `β`.
    pub(crate) fn update(&mut self, b: &Block, g: &[f64], beta: f64) {
        let g = mat(g, b.m, b.n);
        let weight = if beta < 1.0 {
            for s in self.l.iter_mut().chain(self.r.iter_mut()) {
                *s *= beta;
            }
            1.0 - beta
        } else {
            1.0
        };
        product(
            mat_mut(&mut self.l, b.m, b.m),
            Some(weight),
            g,
            g.transpose(),
        );
        product(
            mat_mut(&mut self.r, b.n, b.n),
            Some(weight),
            g.transpose(),
            g,
        );
        crate::linalg::elementwise::zero_upper();
    }
}

/// The eigendecomposition `S = U diag(d) Uᵀ` of the symmetric `n × n`
/// column-major `s` (its lower triangle), eigenvalues ascending: `(d, U)`
/// with `U` column-major.
pub(crate) fn sym_eigen(s: &[f64], n: usize) -> Result<(Vec<f64>, Vec<f64>), Error> {
    use faer::dyn_stack::{MemBuffer, MemStack};
    use faer::linalg::evd;
    let par = par_for(n * n * n);
    let mut d = vec![0.0; n];
    let mut u = vec![0.0; n * n];
    let mut buf = MemBuffer::new(evd::self_adjoint_evd_scratch::<f64>(
        n,
        evd::ComputeEigenvectors::Yes,
        par,
        Default::default(),
    ));
    evd::self_adjoint_evd(
        mat(s, n, n),
        faer::diag::DiagMut::from_slice_mut(&mut d),
        Some(mat_mut(&mut u, n, n)),
        par,
        MemStack::new(&mut buf),
        Default::default(),
    )
    .map_err(|e| Error::InvalidProblem(format!("Kronecker factor eigendecomposition: {e:?}")))?;
    crate::linalg::elementwise::zero_upper();
    Ok((d, u))
}

/// `(S + εI)^{−1/4} = U diag((max(d, 0) + ε)^{−1/4}) Uᵀ` into `out`
/// (`n × n` column-major): eigenvalues rounded below zero count as zero.
pub(crate) fn inverse_fourth_root(
    s: &[f64],
    n: usize,
    eps: f64,
    out: &mut [f64],
) -> Result<(), Error> {
    let (d, u) = sym_eigen(s, n)?;
    let mut ud = u.clone();
    for (j, dj) in d.iter().enumerate() {
        let w = (dj.max(0.0) + eps).powf(-0.25);
        for v in &mut ud[j * n..(j + 1) * n] {
            *v *= w;
        }
    }
    product(
        mat_mut(out, n, n),
        None,
        mat(&ud, n, n),
        mat(&u, n, n).transpose(),
    );
    crate::linalg::elementwise::zero_upper();
    Ok(())
}

/// The grafting method: the layer-wise step norm Shampoo's direction takes
/// (Agarwal, Anil, Hazan, Koren & Zhang, "Disentangling adaptive gradient
/// methods from learning rates", 2020; Shi et al. 2023 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Grafting {
    /// The (filtered) gradient's norm: SGD grafting.
    Sgd,
    /// Adam's step norm, `M̂ / (√V̂ + ε)` (Distributed Shampoo's
    /// `AdamGraftingConfig`).
    Adam {
        /// `β₂` of the squared gradient (0.999).
        #[serde(with = "crate::solver::float_serde")]
        beta2: f64,
        /// `ε` (10⁻⁸).
        #[serde(with = "crate::solver::float_serde")]
        eps: f64,
    },
}

impl Default for Grafting {
    /// Adam grafting with `β₂ = 0.999`, `ε = 10⁻⁸`.
    fn default() -> Self {
        Grafting::Adam {
            beta2: 0.999,
            eps: 1e-8,
        }
    }
}

/// Shampoo (Gupta et al. 2018) with Distributed Shampoo's grafting
/// (Shi et al. 2023) on the training driver; see the [module docs](self).
///
/// ```
/// use hesse::nn::{Activation, Dataset, Init, Loss, Mlp};
/// use hesse::prelude::*;
/// use hesse::train::{Driver, Shampoo};
/// let data = Dataset::two_spirals(50, 0.0, 3).unwrap();
/// let mlp = Mlp::new(&[2, 8, 2], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
/// let problem = mlp.problem(&data).unwrap();
/// let x0 = mlp.init(Init::Glorot, 1);
/// let state = Driver::new()
///     .with_batch_size(50)
///     .with_max_iter(30)
///     .train(&problem, Shampoo::default(), x0.clone())
///     .unwrap();
/// assert!(problem.value(&state.x) < problem.value(&x0));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shampoo {
    /// Learning rate `η` (10⁻²).
    #[serde(with = "crate::solver::float_serde")]
    lr: f64,
    /// `β₁` of the filtered gradient (0.9).
    #[serde(with = "crate::solver::float_serde")]
    beta1: f64,
    /// `β₂` of the factors (1: sums, as Gupta et al.).
    #[serde(with = "crate::solver::float_serde")]
    beta2: f64,
    /// `ε` added to the factors' eigenvalues (10⁻¹²).
    #[serde(with = "crate::solver::float_serde")]
    eps: f64,
    /// Momentum `μ` (0).
    #[serde(with = "crate::solver::float_serde")]
    momentum: f64,
    /// Roots recomputed every `T` steps (10).
    precondition_frequency: u64,
    /// The first step that uses Shampoo's direction (`None`: `T`).
    start_preconditioning_step: Option<u64>,
    grafting: Grafting,
    /// The layers.
    blocks: Vec<Block>,
    /// Per layer `L`, `R`.
    factors: Vec<Factors>,
    /// Per layer `(L + εI)^{−1/4}`, `(R + εI)^{−1/4}` (empty until computed).
    roots: Vec<Factors>,
    /// `M_t` (flat).
    #[serde(with = "crate::solver::float_serde::vec")]
    m: Vec<f64>,
    /// Adam grafting's `V_t` (flat; empty for SGD grafting).
    #[serde(with = "crate::solver::float_serde::vec")]
    v: Vec<f64>,
    /// `B_t` (flat; empty without momentum).
    #[serde(with = "crate::solver::float_serde::vec")]
    b: Vec<f64>,
    /// Steps taken, `t`.
    t: u64,
    #[serde(skip)]
    work: Work,
}

/// The gradient, `M̂`, the grafting direction, `L^{−1/4} M̂`, `P`.
#[derive(Debug, Clone, Default, PartialEq)]
struct Work {
    g: Vec<f64>,
    m_hat: Vec<f64>,
    graft: Vec<f64>,
    lm: Vec<f64>,
    p: Vec<f64>,
}

impl Default for Shampoo {
    fn default() -> Self {
        Shampoo {
            lr: 1e-2,
            beta1: 0.9,
            beta2: 1.0,
            eps: 1e-12,
            momentum: 0.0,
            precondition_frequency: 10,
            start_preconditioning_step: None,
            grafting: Grafting::default(),
            blocks: Vec::new(),
            factors: Vec::new(),
            roots: Vec::new(),
            m: Vec::new(),
            v: Vec::new(),
            b: Vec::new(),
            t: 0,
            work: Work::default(),
        }
    }
}

impl Shampoo {
    /// The learning rate `η > 0` (default 10⁻²).
    #[must_use]
    pub fn with_learning_rate(mut self, lr: f64) -> Self {
        self.lr = lr;
        self
    }

    /// `β₁ ∈ [0, 1)` of the filtered gradient and `β₂ ∈ (0, 1]` of the
    /// factors (default 0.9, 1).
    #[must_use]
    pub fn with_betas(mut self, beta1: f64, beta2: f64) -> Self {
        self.beta1 = beta1;
        self.beta2 = beta2;
        self
    }

    /// `ε ≥ 0` added to the factors' eigenvalues (default 10⁻¹²).
    #[must_use]
    pub fn with_eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// Momentum `μ ∈ [0, 1)` (default 0).
    #[must_use]
    pub fn with_momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }

    /// Roots recomputed every `T ≥ 1` steps (default 10).
    #[must_use]
    pub fn with_precondition_frequency(mut self, t: u64) -> Self {
        self.precondition_frequency = t;
        self
    }

    /// The first step `≥ 1` that uses Shampoo's direction, the grafting
    /// method's before it (default: the precondition frequency).
    #[must_use]
    pub fn with_start_preconditioning_step(mut self, step: u64) -> Self {
        self.start_preconditioning_step = Some(step);
        self
    }

    /// The grafting method (default Adam, `β₂ = 0.999`, `ε = 10⁻⁸`).
    #[must_use]
    pub fn with_grafting(mut self, grafting: Grafting) -> Self {
        self.grafting = grafting;
        self
    }

    fn validate(&self) -> Result<(), Error> {
        check_positive("learning_rate", self.lr)?;
        check_nonneg("eps", self.eps)?;
        if !(0.0..1.0).contains(&self.beta1) {
            return Err(Error::invalid_option(
                "beta1",
                self.beta1,
                "must be in [0, 1)",
            ));
        }
        if !(self.beta2 > 0.0 && self.beta2 <= 1.0) {
            return Err(Error::invalid_option(
                "beta2",
                self.beta2,
                "must be in (0, 1]",
            ));
        }
        if !(0.0..1.0).contains(&self.momentum) {
            return Err(Error::invalid_option(
                "momentum",
                self.momentum,
                "must be in [0, 1)",
            ));
        }
        if self.precondition_frequency == 0 {
            return Err(Error::invalid_option(
                "precondition_frequency",
                0,
                "must be at least 1",
            ));
        }
        if self.start_preconditioning_step == Some(0) {
            return Err(Error::invalid_option(
                "start_preconditioning_step",
                0,
                "must be at least 1",
            ));
        }
        if let Grafting::Adam { beta2, eps } = self.grafting {
            check_positive("grafting_eps", eps)?;
            if !(0.0..1.0).contains(&beta2) {
                return Err(Error::invalid_option(
                    "grafting_beta2",
                    beta2,
                    "must be in [0, 1)",
                ));
            }
        }
        Ok(())
    }

    fn start_step(&self) -> u64 {
        self.start_preconditioning_step
            .unwrap_or(self.precondition_frequency)
    }

    /// Recomputes every layer's roots from its factors.
    fn refresh_roots(&mut self) -> Result<(), Error> {
        for ((b, f), root) in self.blocks.iter().zip(&self.factors).zip(&mut self.roots) {
            let scale = if self.beta2 < 1.0 {
                // Bias correction of the moving averages (Shi et al. §3.1).
                1.0 / (1.0 - self.beta2.powi(self.t as i32))
            } else {
                1.0
            };
            let corrected = |s: &[f64]| s.iter().map(|v| v * scale).collect::<Vec<_>>();
            root.l.resize(b.m * b.m, 0.0);
            root.r.resize(b.n * b.n, 0.0);
            inverse_fourth_root(&corrected(&f.l), b.m, self.eps, &mut root.l)?;
            inverse_fourth_root(&corrected(&f.r), b.n, self.eps, &mut root.r)?;
        }
        Ok(())
    }

    /// `P = L^{−1/4} x R^{−1/4}` for block `i`'s `x` (`m × n`) into `p`.
    fn precondition(&mut self, i: usize, x: &[f64], p: &mut [f64]) {
        let (b, root) = (self.blocks[i], &self.roots[i]);
        let lm = &mut self.work.lm[..b.m * b.n];
        product(
            mat_mut(lm, b.m, b.n),
            None,
            mat(&root.l, b.m, b.m),
            mat(x, b.m, b.n),
        );
        product(
            mat_mut(p, b.m, b.n),
            None,
            mat(lm, b.m, b.n),
            mat(&root.r, b.n, b.n),
        );
        crate::linalg::elementwise::zero_upper();
    }

    /// The layer-wise preconditioned direction of the filtered gradient
    /// `m_hat`, without grafting (for tests).
    #[cfg(test)]
    fn shampoo_direction(&mut self, m_hat: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; m_hat.len()];
        for i in 0..self.blocks.len() {
            let r = self.blocks[i].range();
            self.precondition(i, &m_hat[r.clone()], &mut out[r]);
        }
        out
    }
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

impl<P: NetworkObjective + ?Sized> Method<P> for Shampoo {
    fn name(&self) -> &'static str {
        "shampoo"
    }

    fn start(&mut self, objective: &P, x0: &[f64]) -> Result<(), Error> {
        self.validate()?;
        let mlp = objective.network().mlp();
        let n = mlp.num_params();
        crate::solver::check_start(x0, n)?;
        self.blocks = Block::of(mlp, "Shampoo")?;
        self.factors = self.blocks.iter().map(Factors::zeros).collect();
        self.roots = self.blocks.iter().map(|_| Factors::default()).collect();
        self.m = vec![0.0; n];
        self.v = match self.grafting {
            Grafting::Adam { .. } => vec![0.0; n],
            Grafting::Sgd => Vec::new(),
        };
        self.b = if self.momentum > 0.0 {
            vec![0.0; n]
        } else {
            Vec::new()
        };
        self.t = 0;
        Ok(())
    }

    /// Reports `lr` and `preconditioned` (1 once Shampoo's direction is
    /// used, 0 while the grafting method's is).
    fn step(
        &mut self,
        objective: &P,
        x: &mut [f64],
        mb: &Minibatch<'_>,
    ) -> Result<StepRecord, Error> {
        let problem = objective.network();
        Block::check_layers(
            self.blocks.iter().map(|b| (b.start, b.m, b.n)),
            problem.mlp(),
            "Shampoo",
        )?;
        let n = x.len();
        let largest = self.blocks.iter().map(|b| b.m * b.n).max().unwrap_or(0);
        for w in [&mut self.work.g, &mut self.work.m_hat, &mut self.work.graft] {
            w.resize(n, 0.0);
        }
        for w in [&mut self.work.lm, &mut self.work.p] {
            w.resize(largest, 0.0);
        }
        let f = problem
            .value_grad_batch(x, mb.examples, &mut self.work.g)
            .map_err(nn_error)?;
        if !f.is_finite() || self.work.g.iter().any(|g| !g.is_finite()) {
            let f = if f.is_finite() { f64::NAN } else { f };
            return Ok(StepRecord::new(f));
        }
        self.t += 1;
        let t = i32::try_from(self.t).unwrap_or(i32::MAX);
        // The factors from the raw gradient, every step.
        for (b, fac) in self.blocks.iter().zip(&mut self.factors) {
            fac.update(b, &self.work.g[b.range()], self.beta2);
        }
        // The filtered gradient and the grafting direction.
        let inv_bias1 = 1.0 / (1.0 - self.beta1.powi(t));
        let Work {
            g, m_hat, graft, ..
        } = &mut self.work;
        for i in 0..n {
            self.m[i] = self.beta1 * self.m[i] + (1.0 - self.beta1) * g[i];
            m_hat[i] = self.m[i] * inv_bias1;
        }
        match self.grafting {
            Grafting::Sgd => graft.copy_from_slice(m_hat),
            Grafting::Adam { beta2, eps } => {
                let inv_bias2 = 1.0 / (1.0 - beta2.powi(t));
                for i in 0..n {
                    self.v[i] = beta2 * self.v[i] + (1.0 - beta2) * g[i] * g[i];
                    graft[i] = m_hat[i] / ((self.v[i] * inv_bias2).sqrt() + eps);
                }
            }
        }
        let preconditioned = self.t >= self.start_step();
        if preconditioned {
            let stale = self.roots.first().is_some_and(|r| r.l.is_empty());
            if stale || self.t.is_multiple_of(self.precondition_frequency) {
                self.refresh_roots()?;
            }
            // D = (‖A‖ / ‖P‖) P per layer, into `graft`.
            let m_hat = std::mem::take(&mut self.work.m_hat);
            let mut p = std::mem::take(&mut self.work.p);
            for i in 0..self.blocks.len() {
                let r = self.blocks[i].range();
                let p = &mut p[..r.len()];
                self.precondition(i, &m_hat[r.clone()], p);
                let a = &mut self.work.graft[r];
                let (na, np) = (norm(a), norm(p));
                if np > 0.0 {
                    let s = na / np;
                    for (ai, pi) in a.iter_mut().zip(p.iter()) {
                        *ai = s * pi;
                    }
                }
            }
            self.work.m_hat = m_hat;
            self.work.p = p;
        }
        let d = &self.work.graft;
        if self.momentum > 0.0 {
            for i in 0..n {
                self.b[i] = self.momentum * self.b[i] + d[i];
                x[i] -= self.lr * self.b[i];
            }
        } else {
            for i in 0..n {
                x[i] -= self.lr * d[i];
            }
        }
        Ok(StepRecord::new(f)
            .with("lr", self.lr)
            .with("preconditioned", f64::from(u8::from(preconditioned))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Activation, Dataset, Init, Loss};
    use crate::problem::Objective;
    use crate::train::Driver;
    use nalgebra::DMatrix;

    /// `S^{−1/4}` by nalgebra's symmetric eigendecomposition, independently
    /// of faer.
    fn root(s: &DMatrix<f64>, eps: f64) -> DMatrix<f64> {
        let e = s.clone().symmetric_eigen();
        let d = e.eigenvalues.map(|v| (v.max(0.0) + eps).powf(-0.25));
        &e.eigenvectors * DMatrix::from_diagonal(&d) * e.eigenvectors.transpose()
    }

    #[test]
    fn the_preconditioner_is_the_kronecker_formula() {
        // On a tiny network, after a few steps: for each layer,
        // vec(P) = (R^{−1/4} ⊗ L^{−1/4}) vec(M̂) (column-major vec), with L,
        // R summed from the gradients and their roots taken by nalgebra.
        let data = Dataset::two_spirals(20, 0.0, 1).unwrap();
        let mlp = Mlp::new(&[2, 3, 4, 2], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
        let problem = mlp.problem(&data).unwrap();
        let x0 = mlp.init(Init::Glorot, 2);
        let eps = 1e-3;
        let mut s = Shampoo::default()
            .with_eps(eps)
            .with_precondition_frequency(1);
        Method::<crate::nn::MlpProblem<'_>>::start(&mut s, &problem, &x0).unwrap();
        let mut x = x0.clone();
        let batches: [&[usize]; 3] = [&[0, 3, 5, 9], &[1, 2, 7, 30], &[11, 4, 6, 8]];
        let blocks = Block::of(&mlp, "Shampoo").unwrap();
        let mut sums: Vec<(DMatrix<f64>, DMatrix<f64>)> = blocks
            .iter()
            .map(|b| (DMatrix::zeros(b.m, b.m), DMatrix::zeros(b.n, b.n)))
            .collect();
        let mut g = vec![0.0; x.len()];
        for (it, batch) in batches.iter().enumerate() {
            problem.value_grad_batch(&x, batch, &mut g).unwrap();
            for (b, (l, r)) in blocks.iter().zip(&mut sums) {
                let gm = DMatrix::from_column_slice(b.m, b.n, &g[b.range()]);
                *l += &gm * gm.transpose();
                *r += gm.transpose() * &gm;
            }
            let mb = Minibatch {
                iteration: it as u64 + 1,
                examples: batch,
                curvature: batch,
                seed: 0,
            };
            s.step(&problem, &mut x, &mb).unwrap();
        }
        // The roots of the last step, applied to an arbitrary matrix.
        let probe: Vec<f64> = (0..x.len()).map(|i| (i as f64 * 0.7).sin()).collect();
        let p = s.shampoo_direction(&probe);
        for (b, (l, r)) in blocks.iter().zip(&sums) {
            let vec_m = nalgebra::DVector::from_column_slice(&probe[b.range()]);
            let kron = root(r, eps).transpose().kronecker(&root(l, eps));
            let want = kron * vec_m;
            for (got, want) in p[b.range()].iter().zip(want.iter()) {
                assert!(
                    (got - want).abs() < 1e-9 * (1.0 + want.abs()),
                    "{got} against {want}"
                );
            }
        }
    }

    #[test]
    fn lowers_the_digits_loss_and_rejects_bad_options() {
        let data = Dataset::digits().unwrap();
        let mlp = Mlp::new(&[64, 16, 10], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
        let problem = mlp.problem(&data).unwrap();
        let x0 = mlp.init(Init::Glorot, 0);
        for s in [
            Shampoo::default(),
            Shampoo::default()
                .with_grafting(Grafting::Sgd)
                .with_learning_rate(0.5)
                .with_momentum(0.5),
        ] {
            let state = Driver::new()
                .with_batch_size(128)
                .with_seed(5)
                .with_max_iter(60)
                .with_progress(false)
                .train(&problem, s, x0.clone())
                .unwrap();
            let (f0, f1) = (problem.value(&x0), problem.value(&state.x));
            assert!(f1 < 0.5 * f0, "Shampoo: {f0} -> {f1}");
        }
        for bad in [
            Shampoo::default().with_betas(0.9, 0.0),
            Shampoo::default().with_precondition_frequency(0),
            Shampoo::default().with_start_preconditioning_step(0),
            Shampoo::default().with_momentum(1.0),
            Shampoo::default().with_eps(-1.0),
        ] {
            assert!(bad.validate().is_err());
        }
    }
}
