//! SOAP: Adam in the eigenbasis of Shampoo's preconditioner (Vyas, Morwani,
//! Zhao, Kwun, Shapira, Brandfonbrener, Janson & Kakade, "SOAP: improving
//! and stabilizing Shampoo using Adam", ICLR 2025, arXiv 2409.11321).
//!
//! Notation as the paper (Algorithm 3, one layer): `G_t = [∂W ∂b]` the
//! layer's gradient (`m × (k+1)`, the bias folded in as
//! [`Shampoo`](super::Shampoo)), `L`, `R` Shampoo's factors as moving
//! averages, `Q_L`, `Q_R` their eigenbases. One step `t`:
//!
//! ```text
//! G'_t = Q_Lᵀ G_t Q_R                                  (the gradient rotated)
//! M_t  = β₁ M_{t−1} + (1 − β₁) G_t                     (first moment, original space)
//! V_t  = β₂ V_{t−1} + (1 − β₂) G'_t ⊙ G'_t             (second moment, rotated space)
//! N'_t = η (Q_Lᵀ M_t Q_R) / (1 − β₁ᵗ) / (√(V_t / (1 − β₂ᵗ)) + ε)
//! θ_{t+1} = θ_t − Q_L N'_t Q_Rᵀ                        (rotated back)
//! L ← β_s L + (1 − β_s) G_t G_tᵀ,  R ← β_s R + (1 − β_s) G_tᵀ G_t
//! every f steps: Q ← QR(S Q) for S = L, R                (one power iteration)
//! ```
//!
//! The eigenbasis update is the paper's (and the authors' `soap.py`): the
//! first step only accumulates `L`, `R` and takes their exact
//! eigendecompositions (faer, columns by decreasing eigenvalue) without
//! moving `θ`; thereafter every `f` steps one step of power iteration with
//! QR (faer's Householder QR): the columns of `Q` are first sorted by the
//! estimated eigenvalues `diag(Qᵀ S Q)`, decreasing, and the rows (for `L`)
//! or columns (for `R`) of `V` permuted with them; `V` is otherwise not
//! rotated to the new basis, as the paper prescribes (§4, "we do not rotate
//! V"; `M` needs no rotation, being kept in the original space).
//!
//! Defaults as the paper's and `soap.py`'s: `η = 3·10⁻³`, `β₁ = β₂ = 0.95`,
//! `β_s = β₂`, `ε = 10⁻⁸`, `f = 10`. Deviations:
//! - `ε` is added to `√V̂` (bias-corrected), as our [`Adam`](crate::first_order::Adam)
//!   (Kingma & Ba alg. 1), where `soap.py` adds it to `√V` and folds the
//!   corrections into the step size; so that SOAP with a frozen identity
//!   basis ([`Soap::with_frozen_identity_basis`]) is Adam bit for bit;
//! - the bias is folded into the layer's matrix (`soap.py` runs plain Adam
//!   on one-dimensional parameters); no weight decay (the network objective
//!   carries its own `λ`; `soap.py` defaults to decoupled 0.01); networks
//!   without batch normalization.

use serde::{Deserialize, Serialize};

use super::shampoo::{Block, Factors, mat, mat_mut, par_for, product, sym_eigen};
use super::{Method, Minibatch, NetworkObjective, StepRecord, nn_error};
use crate::solver::{Error, check_positive};

/// SOAP (Vyas et al. 2024) on the training driver; see the
/// [module docs](self).
///
/// ```
/// use hesse::nn::{Activation, Dataset, Init, Loss, Mlp};
/// use hesse::prelude::*;
/// use hesse::train::{Driver, Soap};
/// let data = Dataset::two_spirals(50, 0.0, 3).unwrap();
/// let mlp = Mlp::new(&[2, 8, 2], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
/// let problem = mlp.problem(&data).unwrap();
/// let x0 = mlp.init(Init::Glorot, 1);
/// let state = Driver::new()
///     .with_batch_size(50)
///     .with_max_iter(30)
///     .train(&problem, Soap::default(), x0.clone())
///     .unwrap();
/// assert!(problem.value(&state.x) < problem.value(&x0));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Soap {
    /// Learning rate `η` (3·10⁻³).
    #[serde(with = "crate::solver::float_serde")]
    lr: f64,
    /// `β₁` (0.95).
    #[serde(with = "crate::solver::float_serde")]
    beta1: f64,
    /// `β₂` (0.95).
    #[serde(with = "crate::solver::float_serde")]
    beta2: f64,
    /// `β_s` of the factors (`None`: `β₂`).
    shampoo_beta: Option<f64>,
    /// `ε` (10⁻⁸).
    #[serde(with = "crate::solver::float_serde")]
    eps: f64,
    /// The eigenbasis refreshed every `f` steps (10).
    precondition_frequency: u64,
    /// Identity bases, never refreshed (Adam; for tests).
    frozen: bool,
    blocks: Vec<Block>,
    factors: Vec<Factors>,
    /// Per layer `Q_L` (in `l`) and `Q_R` (in `r`); empty before the first
    /// step.
    bases: Vec<Factors>,
    /// `M_t` (flat, original space).
    #[serde(with = "crate::solver::float_serde::vec")]
    m: Vec<f64>,
    /// `V_t` (flat, per layer in its rotated space).
    #[serde(with = "crate::solver::float_serde::vec")]
    v: Vec<f64>,
    /// Adam steps taken, `t` (the basis-initializing step not counted).
    t: u64,
    #[serde(skip)]
    work: Work,
}

/// The gradient, a rotated matrix, an intermediate product.
#[derive(Debug, Clone, Default, PartialEq)]
struct Work {
    g: Vec<f64>,
    rotated: Vec<f64>,
    half: Vec<f64>,
    m_rot: Vec<f64>,
}

impl Default for Soap {
    fn default() -> Self {
        Soap {
            lr: 3e-3,
            beta1: 0.95,
            beta2: 0.95,
            shampoo_beta: None,
            eps: 1e-8,
            precondition_frequency: 10,
            frozen: false,
            blocks: Vec::new(),
            factors: Vec::new(),
            bases: Vec::new(),
            m: Vec::new(),
            v: Vec::new(),
            t: 0,
            work: Work::default(),
        }
    }
}

impl Soap {
    /// The learning rate `η > 0` (default 3·10⁻³).
    #[must_use]
    pub fn with_learning_rate(mut self, lr: f64) -> Self {
        self.lr = lr;
        self
    }

    /// Adam's `β₁, β₂ ∈ [0, 1)` (default 0.95, 0.95).
    #[must_use]
    pub fn with_betas(mut self, beta1: f64, beta2: f64) -> Self {
        self.beta1 = beta1;
        self.beta2 = beta2;
        self
    }

    /// `β_s ∈ [0, 1)` of the factors' moving averages (default `β₂`).
    #[must_use]
    pub fn with_shampoo_beta(mut self, beta: f64) -> Self {
        self.shampoo_beta = Some(beta);
        self
    }

    /// `ε > 0` (default 10⁻⁸).
    #[must_use]
    pub fn with_eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// The eigenbasis refreshed every `f ≥ 1` steps (default 10).
    #[must_use]
    pub fn with_precondition_frequency(mut self, f: u64) -> Self {
        self.precondition_frequency = f;
        self
    }

    /// Identity eigenbases, never refreshed, and no basis-initializing
    /// step: then SOAP is [`Adam`](crate::first_order::Adam) with the same
    /// `η`, `β₁`, `β₂`, `ε`, bit for bit.
    #[must_use]
    pub fn with_frozen_identity_basis(mut self) -> Self {
        self.frozen = true;
        self
    }

    fn shampoo_beta(&self) -> f64 {
        self.shampoo_beta.unwrap_or(self.beta2)
    }

    fn validate(&self) -> Result<(), Error> {
        check_positive("learning_rate", self.lr)?;
        check_positive("eps", self.eps)?;
        for (name, b) in [
            ("beta1", self.beta1),
            ("beta2", self.beta2),
            ("shampoo_beta", self.shampoo_beta()),
        ] {
            if !(0.0..1.0).contains(&b) {
                return Err(Error::invalid_option(name, b, "must be in [0, 1)"));
            }
        }
        if self.precondition_frequency == 0 {
            return Err(Error::invalid_option(
                "precondition_frequency",
                0,
                "must be at least 1",
            ));
        }
        Ok(())
    }

    /// `out = Q_Lᵀ x Q_R` (`back = false`) or `Q_L x Q_Rᵀ` (`back = true`)
    /// for layer `i`.
    fn rotate(&mut self, i: usize, x: &[f64], out: &mut [f64], back: bool) {
        let (b, q) = (self.blocks[i], &self.bases[i]);
        let (ql, qr) = (mat(&q.l, b.m, b.m), mat(&q.r, b.n, b.n));
        let half = mat_mut(&mut self.work.half[..b.m * b.n], b.m, b.n);
        if back {
            product(half, None, ql, mat(x, b.m, b.n));
            let half = mat(&self.work.half[..b.m * b.n], b.m, b.n);
            product(mat_mut(out, b.m, b.n), None, half, qr.transpose());
        } else {
            product(half, None, ql.transpose(), mat(x, b.m, b.n));
            let half = mat(&self.work.half[..b.m * b.n], b.m, b.n);
            product(mat_mut(out, b.m, b.n), None, half, qr);
        }
        crate::linalg::elementwise::zero_upper();
    }

    /// The exact eigenbases of the factors, columns by decreasing
    /// eigenvalue (the first step).
    fn init_bases(&mut self) -> Result<(), Error> {
        for ((b, f), q) in self.blocks.iter().zip(&self.factors).zip(&mut self.bases) {
            for (s, n, out) in [(&f.l, b.m, &mut q.l), (&f.r, b.n, &mut q.r)] {
                let (_, u) = sym_eigen(s, n)?;
                // faer's eigenvalues ascend: reverse the columns.
                *out = (0..n)
                    .rev()
                    .flat_map(|j| u[j * n..(j + 1) * n].iter().copied())
                    .collect();
            }
        }
        Ok(())
    }

    /// One power iteration with QR per factor, `V` permuted with the
    /// sorted columns (the paper's eigenbasis refresh).
    fn refresh_bases(&mut self) {
        for i in 0..self.blocks.len() {
            let b = self.blocks[i];
            let v = &mut self.v[b.range()];
            let (f, q) = (&self.factors[i], &mut self.bases[i]);
            for (side, s, n, qs) in [(0, &f.l, b.m, &mut q.l), (1, &f.r, b.n, &mut q.r)] {
                let (s, qm) = (mat(s, n, n), mat(qs, n, n));
                // diag(Qᵀ S Q), the current estimates of the eigenvalues.
                let mut sq = faer::Mat::<f64>::zeros(n, n);
                product(sq.as_mut(), None, s, qm);
                let est: Vec<f64> = (0..n)
                    .map(|j| (0..n).map(|r| qm[(r, j)] * sq[(r, j)]).sum())
                    .collect();
                let mut order: Vec<usize> = (0..n).collect();
                order.sort_by(|&a, &c| est[c].total_cmp(&est[a]));
                let sorted = faer::Mat::<f64>::from_fn(n, n, |r, j| qm[(r, order[j])]);
                // V's rows (for L) or columns (for R) follow the columns.
                let old = v.to_vec();
                for c in 0..b.n {
                    for r in 0..b.m {
                        v[c * b.m + r] = if side == 0 {
                            old[c * b.m + order[r]]
                        } else {
                            old[order[c] * b.m + r]
                        };
                    }
                }
                let mut power = faer::Mat::<f64>::zeros(n, n);
                product(power.as_mut(), None, s, sorted.as_ref());
                let qnew = orthogonal_factor(power);
                for j in 0..n {
                    for r in 0..n {
                        qs[j * n + r] = qnew[(r, j)];
                    }
                }
            }
        }
        crate::linalg::elementwise::zero_upper();
    }
}

/// `Q` of the Householder QR `a = QR` of a square `a` (faer), sequential
/// below 2²⁰ flops: `Mat::qr` takes the global parallelism, whose thread
/// wake-ups cost more than these factors (as K-FAC's eigendecompositions).
fn orthogonal_factor(mut a: faer::Mat<f64>) -> faer::Mat<f64> {
    use faer::dyn_stack::{MemBuffer, MemStack, StackReq};
    use faer::linalg::householder;
    use faer::linalg::qr::no_pivoting::factor;
    let n = a.nrows();
    let par = par_for(n * n * n);
    let bs = factor::recommended_block_size::<f64>(n, n);
    let mut coeff = faer::Mat::<f64>::zeros(bs, n);
    let mut buf = MemBuffer::new(StackReq::any_of(&[
        factor::qr_in_place_scratch::<f64>(n, n, bs, par, Default::default()),
        householder::apply_block_householder_sequence_on_the_left_in_place_scratch::<f64>(n, bs, n),
    ]));
    factor::qr_in_place(
        a.as_mut(),
        coeff.as_mut(),
        par,
        MemStack::new(&mut buf),
        Default::default(),
    );
    let mut q = faer::Mat::<f64>::identity(n, n);
    householder::apply_block_householder_sequence_on_the_left_in_place_with_conj(
        a.as_ref(),
        coeff.as_ref(),
        faer::Conj::No,
        q.as_mut(),
        par,
        MemStack::new(&mut buf),
    );
    q
}

impl<P: NetworkObjective + ?Sized> Method<P> for Soap {
    fn name(&self) -> &'static str {
        "soap"
    }

    fn start(&mut self, objective: &P, x0: &[f64]) -> Result<(), Error> {
        self.validate()?;
        let mlp = objective.network().mlp();
        let n = mlp.num_params();
        crate::solver::check_start(x0, n)?;
        self.blocks = Block::of(mlp, "SOAP")?;
        self.factors = self.blocks.iter().map(Factors::zeros).collect();
        self.bases = if self.frozen {
            let eye = |n: usize| {
                (0..n * n)
                    .map(|i| if i % (n + 1) == 0 { 1.0 } else { 0.0 })
                    .collect()
            };
            self.blocks
                .iter()
                .map(|b| Factors {
                    l: eye(b.m),
                    r: eye(b.n),
                })
                .collect()
        } else {
            self.blocks.iter().map(|_| Factors::default()).collect()
        };
        self.m = vec![0.0; n];
        self.v = vec![0.0; n];
        self.t = 0;
        Ok(())
    }

    /// Reports `lr` and `basis_refreshed` (1 on the steps that initialize
    /// or refresh the eigenbases).
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
            "SOAP",
        )?;
        let n = x.len();
        let largest = self.blocks.iter().map(|b| b.m * b.n).max().unwrap_or(0);
        self.work.g.resize(n, 0.0);
        for w in [
            &mut self.work.rotated,
            &mut self.work.half,
            &mut self.work.m_rot,
        ] {
            w.resize(largest, 0.0);
        }
        let f = problem
            .value_grad_batch(x, mb.examples, &mut self.work.g)
            .map_err(nn_error)?;
        if !f.is_finite() || self.work.g.iter().any(|g| !g.is_finite()) {
            let f = if f.is_finite() { f64::NAN } else { f };
            return Ok(StepRecord::new(f));
        }
        let beta_s = self.shampoo_beta();
        if self.bases.first().is_some_and(|q| q.l.is_empty()) {
            // The first step builds the bases and does not move θ, so that
            // the step's own gradient is never in its projection (soap.py).
            for (b, fac) in self.blocks.iter().zip(&mut self.factors) {
                fac.update(b, &self.work.g[b.range()], beta_s);
            }
            self.init_bases()?;
            return Ok(StepRecord::new(f)
                .with("lr", self.lr)
                .with("basis_refreshed", 1.0));
        }
        self.t += 1;
        let t = i32::try_from(self.t).unwrap_or(i32::MAX);
        // As Adam's step (first_order/adam.rs), operation for operation.
        let inv_bias1 = 1.0 / (1.0 - self.beta1.powi(t));
        let inv_bias2 = 1.0 / (1.0 - self.beta2.powi(t));
        let (b1, b2) = (self.beta1, self.beta2);
        for i in 0..self.blocks.len() {
            let range = self.blocks[i].range();
            let len = range.len();
            let g = std::mem::take(&mut self.work.g);
            let mut rotated = std::mem::take(&mut self.work.rotated);
            let mut m_rot = std::mem::take(&mut self.work.m_rot);
            for (m, gi) in self.m[range.clone()].iter_mut().zip(&g[range.clone()]) {
                *m = b1 * *m + (1.0 - b1) * gi;
            }
            self.rotate(i, &g[range.clone()], &mut rotated[..len], false);
            let m = std::mem::take(&mut self.m);
            self.rotate(i, &m[range.clone()], &mut m_rot[..len], false);
            self.m = m;
            for ((v, gr), mr) in self.v[range.clone()]
                .iter_mut()
                .zip(&rotated[..len])
                .zip(&mut m_rot[..len])
            {
                *v = b2 * *v + (1.0 - b2) * gr * gr;
                let s_hat = *mr * inv_bias1;
                let r_hat = *v * inv_bias2;
                *mr = self.lr * s_hat / (r_hat.sqrt() + self.eps);
            }
            self.rotate(i, &m_rot[..len], &mut rotated[..len], true);
            for (xi, d) in x[range].iter_mut().zip(&rotated[..len]) {
                *xi -= d;
            }
            self.work.g = g;
            self.work.rotated = rotated;
            self.work.m_rot = m_rot;
        }
        let mut refreshed = false;
        if !self.frozen {
            for (b, fac) in self.blocks.iter().zip(&mut self.factors) {
                fac.update(b, &self.work.g[b.range()], beta_s);
            }
            if self.t.is_multiple_of(self.precondition_frequency) {
                self.refresh_bases();
                refreshed = true;
            }
        }
        Ok(StepRecord::new(f)
            .with("lr", self.lr)
            .with("basis_refreshed", f64::from(u8::from(refreshed))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::first_order::Adam;
    use crate::nn::{Activation, Dataset, Init, Loss, Mlp};
    use crate::problem::Objective;
    use crate::train::{Driver, FirstOrder};

    fn digits() -> (Mlp, Dataset) {
        let mlp = Mlp::new(&[64, 16, 10], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
        (mlp, Dataset::digits().unwrap())
    }

    fn driver(k: u64) -> Driver {
        Driver::new()
            .with_batch_size(128)
            .with_seed(5)
            .with_max_iter(k)
            .with_progress(false)
    }

    #[test]
    fn with_a_frozen_identity_basis_it_is_adam_bit_for_bit() {
        let (mlp, data) = digits();
        let problem = mlp.problem(&data).unwrap();
        let x0 = mlp.init(Init::Glorot, 0);
        let soap = Soap::default()
            .with_learning_rate(0.01)
            .with_betas(0.9, 0.999)
            .with_eps(1e-8)
            .with_frozen_identity_basis();
        let a = driver(40).train(&problem, soap, x0.clone()).unwrap();
        let b = driver(40)
            .train(&problem, FirstOrder::new(Adam::new(0.01)), x0.clone())
            .unwrap();
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&a.x), bits(&b.x));
        assert!(problem.value(&a.x) < problem.value(&x0));
    }

    #[test]
    fn lowers_the_digits_loss_keeps_orthogonal_bases_and_rejects_bad_options() {
        let (mlp, data) = digits();
        let problem = mlp.problem(&data).unwrap();
        let x0 = mlp.init(Init::Glorot, 0);
        let state = driver(60)
            .train(
                &problem,
                Soap::default().with_learning_rate(0.01),
                x0.clone(),
            )
            .unwrap();
        let (f0, f1) = (problem.value(&x0), problem.value(&state.x));
        assert!(f1 < 0.5 * f0, "SOAP: {f0} -> {f1}");
        // After 59 Adam steps (5 refreshes), QᵀQ = I. (At the default
        // η = 3·10⁻³ SOAP, like Adam, needs more than 60 steps to halve f.)
        let s = &state.method;
        for (b, q) in s.blocks.iter().zip(&s.bases) {
            for (qs, n) in [(&q.l, b.m), (&q.r, b.n)] {
                for i in 0..n {
                    for j in 0..n {
                        let dot: f64 = (0..n).map(|r| qs[i * n + r] * qs[j * n + r]).sum();
                        let want = if i == j { 1.0 } else { 0.0 };
                        assert!((dot - want).abs() < 1e-10);
                    }
                }
            }
        }
        for bad in [
            Soap::default().with_betas(1.0, 0.9),
            Soap::default().with_shampoo_beta(-0.1),
            Soap::default().with_precondition_frequency(0),
            Soap::default().with_eps(0.0),
        ] {
            assert!(bad.validate().is_err());
        }
    }
}
