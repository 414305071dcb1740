//! Saddle-free Newton: the Newton step with the Hessian's eigenvalues replaced
//! by their absolute values.
//!
//! Dauphin, Pascanu, Gulcehre, Cho, Ganguli & Bengio, "Identifying and
//! attacking the saddle point problem in high-dimensional non-convex
//! optimization", NIPS 2014: §4 (the generalized trust-region argument for
//! `|H|`) and Algorithm 1 (the Krylov-subspace approximation). With
//! `H = ∇²f(x_k) = V Λ Vᵀ` and `|H| = V |Λ| Vᵀ`, the step is
//!
//! ```text
//! p_k = −(|H| + δ_k I)⁻¹ g_k = −Σᵢ vᵢ (vᵢᵀ g_k) / (|λᵢ| + δ_k)
//! ```
//!
//! Along a direction of negative curvature Newton's step `−g/λ` climbs toward
//! the saddle; `−g/|λ|` descends away from it, at Newton's length.
//!
//! Two ways to obtain `(V, Λ)`, chosen by type:
//! - [`DenseEigen`] (small `n`): the dense Hessian and its symmetric
//!   eigen-decomposition ([`SymmetricEigen`], faer), `O(n³)` per iteration.
//! - [`KrylovSubspace`] (large `n`): `k` steps of [`Lanczos`] on Hessian-vector
//!   products from `q₁ = g/‖g‖`, giving `H ≈ Q T Qᵀ`, `T = Y Θ Yᵀ`; the step is
//!   `p = −Q Y (|Θ| + δI)⁻¹ Yᵀ Qᵀ g` (Dauphin et al. Alg. 1 work in this
//!   subspace too). **Choice on the complement**: since the Krylov space is
//!   built from `g`, `g = Q Qᵀ g` and the component of `g` outside the
//!   subspace is zero up to rounding, so the step has no complement part
//!   (a `−g_⊥/δ` term would be a rounding-level vector divided by the
//!   damping). `Qᵀ g = ‖g‖ e₁` exactly, so no extra pass over `g` is needed.
//!   Cost: `k` products and `O(n k²)` reorthogonalization (full for `k ≤ 100`).
//!
//! **Damping and step control** (our choice; Dauphin et al. pick the damping
//! by a small search over values each step): `|λ| + δ` (their `|Ĥ| + λI`), with
//! `δ_k = μ_k max(max|λᵢ|, ε)` relative to the spectrum so that it is
//! scale-free, and `μ_k` adapted from the ratio `ρ_k` of actual to predicted
//! reduction as in Levenberg-Marquardt (Moré 1978; N&W §4.1's thresholds):
//! `ρ < ¼ ⇒ μ ← 4μ`, `ρ > ¾ ⇒ μ ← max(μ/3, μ_min)`. A trial with
//! `ρ ≤ η = 10⁻⁴` (or a non-finite `f`) is rejected and recomputed with the
//! larger `μ` from the same eigen-decomposition, so a rejection costs one
//! value-and-gradient evaluation and no new Hessian. The prediction is the
//! *true* quadratic model `gᵀp + ½ pᵀHp` (`pᵀHp = Σ λᵢ aᵢ²` in the eigenbasis),
//! which is negative for every saddle-free step, and which is accurate near
//! a minimizer, where `μ` falls to `μ_min` and the step becomes Newton's
//! (quadratic convergence when `H ≻ 0`). `ρ` is computed with both reductions
//! shifted by `10 ε max(1, |f|)` (Conn, Gould & Toint 2000, §17.4.2).
//! Defaults: `μ₀ = 10⁻³`, `μ_min = ε` (below it `δ` vanishes next to
//! `max|λᵢ|` in floating point; a floor of `10⁻¹²` left MGH's Powell badly
//! scaled and Meyer crawling for 20000 iterations at gtol 1e-6; with `ε` they reach f*
//! in 479 and 245).

use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};

use crate::linalg::{HessianOperator, Lanczos, SymmetricEigen, norm2};
use crate::problem::{Counted, Gradient, HessVec, Hessian, Objective};
use crate::solver::{
    Error, Minimizer, Report, RunOptions, State, Termination, check_positive, run_options,
};

/// The dense eigen-decomposition of the Hessian (small `n`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DenseEigen {
    #[serde(skip)]
    work: DenseWork,
}

#[derive(Debug, Clone, Default)]
struct DenseWork {
    /// n × n Hessian.
    h: DMatrix<f64>,
    eigen: SymmetricEigen,
}

/// A `k`-step Lanczos Krylov subspace of Hessian-vector products (large `n`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KrylovSubspace {
    /// Lanczos steps `k` (subspace dimension, at most `n`).
    k: usize,
    #[serde(skip)]
    lanczos: Lanczos,
}

impl KrylovSubspace {
    /// A subspace of dimension `k ≥ 1` (Dauphin et al. use `k` in the tens).
    pub fn new(k: usize) -> Self {
        KrylovSubspace {
            k,
            lanczos: Lanczos::new(),
        }
    }

    /// The subspace dimension `k`.
    pub fn k(&self) -> usize {
        self.k
    }
}

/// Saddle-free Newton (Dauphin et al. 2014) with `ρ`-adapted damping.
///
/// # Requirements on the optimization problem
/// [`Hessian`] for the dense variant ([`SaddleFreeNewton::default`]),
/// [`HessVec`] for the Krylov variant ([`SaddleFreeNewton::krylov`]).
///
/// # Reference
/// Dauphin et al., "Identifying and attacking the saddle point problem in
/// high-dimensional non-convex optimization", NIPS 2014, §4 and Algorithm 1.
///
/// ```
/// use hesse::newton::SaddleFreeNewton;
/// use hesse::problem::FnGradient;
/// use nalgebra::DMatrix;
/// // f = x² − y² + y⁴/4: a saddle at 0, minima f = −1 at (0, ±√2).
/// let f = FnGradient::new(2, |x: &[f64], g: &mut [f64]| {
///     g[0] = 2.0 * x[0];
///     g[1] = -2.0 * x[1] + x[1].powi(3);
///     x[0] * x[0] - x[1] * x[1] + 0.25 * x[1].powi(4)
/// })
/// .with_hessian(|x: &[f64], h: &mut DMatrix<f64>| {
///     h.copy_from_slice(&[2.0, 0.0, 0.0, -2.0 + 3.0 * x[1] * x[1]]);
/// });
/// let r = SaddleFreeNewton::default().with_gtol(1e-10).minimize(&f, &[0.1, 0.1]).unwrap();
/// assert!(r.converged());
/// assert!((r.f + 1.0).abs() < 1e-12 && (r.x[1] - 2f64.sqrt()).abs() < 1e-9);
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SaddleFreeNewton<C = DenseEigen> {
    options: RunOptions,
    curvature: C,
    /// Initial relative damping `μ₀`.
    #[serde(with = "crate::solver::float_serde")]
    mu0: f64,
    /// Floor of `μ`.
    #[serde(with = "crate::solver::float_serde")]
    mu_min: f64,
    /// Current relative damping `μ_k`.
    #[serde(with = "crate::solver::float_serde")]
    mu: f64,
    /// Trials rejected (`ρ ≤ η`).
    rejected: u64,
    /// Iterations whose Hessian (or subspace) had a negative eigenvalue.
    negative_curvature: u64,
    #[serde(skip)]
    work: Work,
}

/// Vectors shared by both variants.
#[derive(Debug, Clone, Default)]
struct Work {
    /// Coordinates of `g` in the eigenbasis, `cᵢ = vᵢᵀ g`.
    c: Vec<f64>,
    /// Coordinates of the step, `aᵢ = −cᵢ / (|λᵢ| + δ)`.
    a: Vec<f64>,
    /// `Y a` (Krylov variant).
    ya: Vec<f64>,
    p: Vec<f64>,
    x_trial: Vec<f64>,
    g_trial: Vec<f64>,
}

impl Work {
    fn new(n: usize, m: usize) -> Self {
        Work {
            c: vec![0.0; m],
            a: vec![0.0; m],
            ya: vec![0.0; m],
            p: vec![0.0; n],
            x_trial: vec![0.0; n],
            g_trial: vec![0.0; n],
        }
    }
}

impl Default for SaddleFreeNewton<DenseEigen> {
    fn default() -> Self {
        Self::with_curvature(DenseEigen::default())
    }
}

impl SaddleFreeNewton<KrylovSubspace> {
    /// The Krylov variant: `k` Lanczos steps per iteration on Hessian-vector
    /// products (default choice for large `n`; `k = 20` is a reasonable start).
    pub fn krylov(k: usize) -> Self {
        Self::with_curvature(KrylovSubspace::new(k))
    }
}

impl<C> SaddleFreeNewton<C> {
    fn with_curvature(curvature: C) -> Self {
        SaddleFreeNewton {
            options: RunOptions::default(),
            curvature,
            mu0: 1e-3,
            mu_min: f64::EPSILON,
            mu: 1e-3,
            rejected: 0,
            negative_curvature: 0,
            work: Work::default(),
        }
    }

    /// The initial relative damping `μ₀ > 0` (default `1e-3`): `δ₀ = μ₀ max|λᵢ|`.
    #[must_use]
    pub fn with_damping(mut self, mu0: f64) -> Self {
        self.mu0 = mu0;
        self
    }

    /// The floor `μ_min > 0` of the relative damping (default `f64::EPSILON`).
    #[must_use]
    pub fn with_min_damping(mut self, mu_min: f64) -> Self {
        self.mu_min = mu_min;
        self
    }

    /// The current relative damping `μ_k`.
    pub fn damping(&self) -> f64 {
        self.mu
    }

    /// Trial steps rejected over the last run.
    pub fn rejected_steps(&self) -> u64 {
        self.rejected
    }

    /// Iterations of the last run at which the Hessian (or its Krylov
    /// projection) had a negative eigenvalue: where Newton's step would head
    /// for a saddle or a maximum.
    pub fn negative_curvature_steps(&self) -> u64 {
        self.negative_curvature
    }

    fn validate(&self) -> Result<(), Error> {
        check_positive("damping", self.mu0)?;
        check_positive("min_damping", self.mu_min)?;
        Ok(())
    }

    fn start(&mut self, n: usize, m: usize) {
        self.work = Work::new(n, m);
        self.mu = self.mu0;
        self.rejected = 0;
        self.negative_curvature = 0;
    }

    /// Given the eigenvalues `lambda` and `c = Vᵀg`, tries steps with growing
    /// damping until one is accepted; `basis(a, p)` writes `p = V a`.
    fn damped_steps<P: Gradient>(
        &mut self,
        problem: &Counted<P>,
        state: &mut State,
        lambda: &[f64],
        mut basis: impl FnMut(&[f64], &mut [f64], &mut [f64]),
    ) -> Option<Termination> {
        let m = lambda.len();
        let Work {
            c,
            a,
            ya,
            p,
            x_trial,
            g_trial,
        } = &mut self.work;
        let (c, a, ya) = (&c[..m], &mut a[..m], &mut ya[..m]);
        if lambda.first().is_some_and(|&l| l < 0.0) {
            self.negative_curvature += 1;
        }
        let scale = lambda
            .iter()
            .fold(0.0f64, |s, l| s.max(l.abs()))
            .max(f64::MIN_POSITIVE);
        loop {
            // a = −(|Λ| + δ)⁻¹ c, the step in eigen-coordinates.
            let delta = self.mu * scale;
            let (mut gp, mut php) = (0.0, 0.0);
            for ((ai, &ci), &li) in a.iter_mut().zip(c).zip(lambda) {
                *ai = -ci / (li.abs() + delta);
                gp += ci * *ai;
                php += li * *ai * *ai;
            }
            basis(a, ya, p);
            let mut moved = false;
            let mut p_max = 0.0f64;
            for ((xt, &xi), &pi) in x_trial.iter_mut().zip(&state.x).zip(p.iter()) {
                *xt = xi + pi;
                moved |= *xt != xi;
                p_max = p_max.max(pi.abs());
            }
            if !moved || !gp.is_finite() {
                return Some(Termination::TrustRegionTooSmall);
            }
            let f_trial = problem.value_grad(x_trial, g_trial);
            // Predicted reduction −(gᵀp + ½ pᵀHp) > 0; ρ shifted (CGT §17.4.2).
            let predicted = -(gp + 0.5 * php);
            let shift = 10.0 * f64::EPSILON * state.f.abs().max(1.0);
            let rho = if f_trial.is_finite() && predicted >= 0.0 {
                (state.f - f_trial + shift) / (predicted + shift)
            } else {
                f64::NEG_INFINITY
            };
            if rho < 0.25 {
                self.mu *= 4.0;
            } else if rho > 0.75 {
                self.mu = (self.mu / 3.0).max(self.mu_min);
            }
            if rho > 1e-4 {
                state.step_norm = p_max;
                state.alpha = f64::NAN;
                state.f = f_trial;
                std::mem::swap(&mut state.x, x_trial);
                std::mem::swap(&mut state.g, g_trial);
                return None;
            }
            self.rejected += 1;
            if !self.mu.is_finite() || self.mu > 1e300 {
                return Some(Termination::TrustRegionTooSmall);
            }
        }
    }
}

impl<C> SaddleFreeNewton<C>
where
    SaddleFreeNewton<C>: Clone,
{
    /// Runs to the end from `x0`.
    pub fn minimize<'p, P: ?Sized>(&self, problem: &'p P, x0: &[f64]) -> Result<Report, Error>
    where
        SaddleFreeNewton<C>: Minimizer<&'p P>,
    {
        crate::solver::minimize(self.clone(), problem, x0)
    }
}

run_options!([C] SaddleFreeNewton<C>);

impl<P: Hessian> Minimizer<P> for SaddleFreeNewton<DenseEigen> {
    fn name(&self) -> &'static str {
        "saddle-free-newton"
    }

    fn options(&self) -> &RunOptions {
        &self.options
    }

    fn dim(&self, problem: &Counted<P>) -> usize {
        problem.dim()
    }

    fn init(&mut self, problem: &Counted<P>, state: &mut State) -> Result<(), Error> {
        self.validate()?;
        let n = state.x.len();
        // The Hessian, its eigenvectors and the eigensolver's copy.
        crate::solver::check_dense(
            "SaddleFreeNewton",
            &format!("three dense n × n matrices at n = {n}"),
            n.checked_mul(n).and_then(|k| k.checked_mul(3)),
            ": use SaddleFreeNewton::krylov(k)",
        )?;
        self.start(n, n);
        self.curvature.work = DenseWork {
            h: DMatrix::zeros(n, n),
            eigen: SymmetricEigen::with_dim(n),
        };
        state.f = problem.value_grad(&state.x, &mut state.g);
        Ok(())
    }

    fn next_iter(&mut self, problem: &Counted<P>, state: &mut State) -> Option<Termination> {
        let n = state.x.len();
        if self.work.p.len() != n {
            // Resumed from a checkpoint: the workspace was not serialized.
            let mu = self.mu;
            let (rejected, negative) = (self.rejected, self.negative_curvature);
            self.start(n, n);
            (self.mu, self.rejected, self.negative_curvature) = (mu, rejected, negative);
            self.curvature.work.h = DMatrix::zeros(n, n);
        }
        let mut curvature = std::mem::take(&mut self.curvature.work);
        // H = V Λ Vᵀ (faer, lower triangle read).
        problem.hessian(&state.x, &mut curvature.h);
        if let Err(e) = curvature.eigen.factor(&curvature.h) {
            self.curvature.work = curvature;
            state.note = Some(e.to_string());
            return Some(Termination::LinearAlgebraFailure);
        }
        let v = curvature.eigen.vectors();
        // c = Vᵀ g.
        gemv(v.as_slice(), n, n, true, &state.g, &mut self.work.c);
        let outcome = self.damped_steps(problem, state, curvature.eigen.values(), |a, _, p| {
            gemv(v.as_slice(), n, n, false, a, p)
        });
        self.curvature.work = curvature;
        outcome
    }
}

impl<P: HessVec> Minimizer<P> for SaddleFreeNewton<KrylovSubspace> {
    fn name(&self) -> &'static str {
        "saddle-free-newton"
    }

    fn options(&self) -> &RunOptions {
        &self.options
    }

    fn dim(&self, problem: &Counted<P>) -> usize {
        problem.dim()
    }

    fn init(&mut self, problem: &Counted<P>, state: &mut State) -> Result<(), Error> {
        self.validate()?;
        if self.curvature.k == 0 {
            return Err(Error::invalid_option("k", 0, "must be >= 1"));
        }
        let n = state.x.len();
        let k = self.curvature.k.min(n);
        // The Lanczos basis (n × k) and its k × k eigenproblem.
        crate::solver::check_dense(
            "SaddleFreeNewton::krylov",
            &format!("a dense n × k basis at n = {n}, k = {k}"),
            n.checked_mul(k)
                .and_then(|a| k.checked_mul(k).and_then(|b| a.checked_add(2 * b))),
            ": use a smaller k",
        )?;
        self.start(n, k);
        state.f = problem.value_grad(&state.x, &mut state.g);
        Ok(())
    }

    fn next_iter(&mut self, problem: &Counted<P>, state: &mut State) -> Option<Termination> {
        let n = state.x.len();
        let k = self.curvature.k.min(n);
        if self.work.p.len() != n {
            let mu = self.mu;
            let (rejected, negative) = (self.rejected, self.negative_curvature);
            self.start(n, k);
            (self.mu, self.rejected, self.negative_curvature) = (mu, rejected, negative);
        }
        let mut lanczos = std::mem::take(&mut self.curvature.lanczos);
        // H Q = Q T + β q_{s+1} e_sᵀ from q₁ = g/‖g‖ (Dauphin et al. Alg. 1).
        let hessian = HessianOperator::new(problem, &state.x);
        let steps = match lanczos.run(&hessian, &state.g, k) {
            Ok(result) => result.steps,
            Err(e) => {
                self.curvature.lanczos = lanczos;
                state.note = Some(e.to_string());
                return Some(Termination::NonFiniteValue);
            }
        };
        // c = Yᵀ Qᵀ g = ‖g‖ Yᵀ e₁: the first row of Y.
        let g_norm = norm2(&state.g);
        let y = lanczos.ritz_vectors_of_t();
        for (i, ci) in self.work.c[..steps].iter_mut().enumerate() {
            *ci = g_norm * y[(0, i)];
        }
        let theta = lanczos.ritz_values();
        let outcome = self.damped_steps(problem, state, theta, |a, ya, p| {
            // p = Q (Y a): k × k, then one pass over the n × k basis.
            for (i, yai) in ya.iter_mut().enumerate() {
                *yai = (0..steps).map(|j| y[(i, j)] * a[j]).sum();
            }
            // Lengths match by construction (steps and n).
            let _ = lanczos.basis_times(ya, p);
        });
        self.curvature.lanczos = lanczos;
        outcome
    }
}

/// `out = A x` (or `Aᵀ x` if `transpose`) for a column-major `rows × cols`
/// matrix `a`, through faer.
fn gemv(a: &[f64], rows: usize, cols: usize, transpose: bool, x: &[f64], out: &mut [f64]) {
    let a = faer::MatRef::from_column_major_slice(a, rows, cols);
    let a = if transpose { a.transpose() } else { a };
    let (m, k) = (a.nrows(), a.ncols());
    faer::linalg::matmul::matmul(
        faer::MatMut::from_column_major_slice_mut(&mut out[..m], m, 1),
        faer::Accum::Replace,
        a,
        faer::MatRef::from_column_major_slice(&x[..k], k, 1),
        1.0,
        faer::get_global_parallelism(),
    );
}
