//! Levenberg-Marquardt on a sparse Jacobian: the damped normal equations by
//! sparse Cholesky, the damping `λ` by Nielsen's rule.
//!
//! References: K. Madsen, H. B. Nielsen and O. Tingleff, *Methods for
//! Non-Linear Least Squares Problems*, 2nd ed., IMM, DTU (2004), §3.2 and
//! Algorithm 3.16 ("MNT"); H. B. Nielsen, "Damping parameter in Marquardt's
//! method", IMM-REP-1999-05 (1999). The scaling `D` and MINPACK's
//! convergence tests are those of [`LevenbergMarquardt`] (Moré 1978, §6;
//! MINPACK-1 User Guide §2.3).
//!
//! # Notation
//!
//! Residuals `r ∈ ℝᵐ`, sparse Jacobian `J`, objective `f = ‖r‖²` (MNT's
//! `F = ½‖r‖²`: every test is a ratio), scaling `D = diag(d_j)`. At `x_k`
//! the step `p` solves
//!
//! ```text
//! (JᵀJ + λ DᵀD) p = −Jᵀ r,
//! ```
//!
//! the minimizer of `‖r + J p‖² + λ ‖D p‖²` (MNT (3.13) with `D = I`).
//! `H = JᵀJ` is sparse when each residual touches few parameters; its
//! pattern and symbolic Cholesky factorization are computed once per run,
//! its values once per Jacobian, the numeric factorization once per trial
//! `λ` (`normal_equations.rs`). No `m × n` or `n × n` dense matrix is formed.
//!
//! # The iteration
//!
//! 1. `λ₀ = τ max_j (H_jj / d_j²)`, `τ = 10⁻³` (MNT (3.14) with the scaling;
//!    `τ` is [`with_initial_damping`](SparseLevenbergMarquardt::with_initial_damping)),
//!    `ν = 2`;
//! 2. the step `p(λ)`, the trial point `x + p`, and the gain ratio
//!    `ρ = (‖r‖² − ‖r₊‖²) / (‖r‖² − ‖r + J p‖²)` (MNT (2.18)); the predicted
//!    reduction is computed as Moré does, `‖J p‖² + 2 λ ‖D p‖²` (the same
//!    number, without cancellation);
//! 3. if `ρ ≥ 10⁻⁴` (MINPACK's acceptance threshold; MNT accept `ρ > 0`) the
//!    step is taken and `λ ← λ max(1/3, 1 − (2ρ − 1)³)`, `ν ← 2` (Nielsen's
//!    rule, MNT (3.15)); else `λ ← ν λ`, `ν ← 2ν`, and another trial from
//!    the same factorization of `H`;
//! 4. `D` is the running maximum of the column norms of `J` (Moré §6,
//!    [`Scaling::ColumnNorms`], the default), or fixed ([`Scaling`]).
//!
//! # Convergence tests
//!
//! MINPACK's tests with their meaning in [`LevenbergMarquardt`], on the
//! trial just computed: `ftol` (actual and predicted relative reductions of
//! `‖r‖²` both `≤ ftol`, `ρ ≤ 2`; [`Termination::FunctionTolerance`]),
//! `xtol` (`‖D p‖ ≤ xtol ‖D x‖`, the damped step in place of MINPACK's
//! trust-region bound, which it tracks; [`Termination::StepTolerance`]),
//! `gtol` (the cosine of `r` with every column of `J`;
//! [`Termination::GradientTolerance`]); and the driver's ([`Stop`]): on
//! `f = ‖r‖²` and `g = 2 Jᵀ r`, the limits.
//!
//! # Deviations from `lmder` and from MNT
//!
//! - `λ` is updated by Nielsen's rule, not found by Moré's secular-equation
//!   iteration on a trust radius `Δ` (which needs several factorizations per
//!   step): one factorization per trial step, as Ceres and MNT do.
//! - MINPACK's `xtol` tests the trust radius; here it tests the step just
//!   computed, which shrinks with it when steps are rejected (`ν` doubles).
//! - At an accepted step, a passed `ftol` or `xtol` test ends the run only
//!   if it also holds for the Gauss-Newton step from the new point (`λ` at
//!   `10⁻¹²` of `JᵀJ`'s scaled diagonal; one more factorization, no
//!   evaluation). A damped step is shorter, and its predicted reduction
//!   smaller, than the Gauss-Newton step MINPACK takes whenever it fits the
//!   trust region; without the check both tests passed on Brown and Dennis
//!   with `x` 2·10⁻⁸ relative from the dense solver's minimizer (still
//!   `ftol`-limited: the two agree to 1.3·10⁻⁷ there, to 10⁻⁸ elsewhere in
//!   `tests/sparse_least_squares.rs`).
//! - A factorization that fails (`H + λ DᵀD` not numerically positive
//!   definite, possible only for `λ` at rounding level with a rank-deficient
//!   `J`) counts as a rejected trial: `λ ← ν λ` without an evaluation.
//! - A trial whose residuals are not finite is rejected; if the `xtol` test
//!   passes with every trial since the last accepted point non-finite, the
//!   run ends with [`Termination::NonFiniteValue`], as in
//!   [`LevenbergMarquardt`].
//! - No bounds, robust losses or geodesic acceleration ([`LevenbergMarquardt`]
//!   has them on a dense `J`). `m < n` is allowed (`λ > 0` keeps the
//!   system definite).

pub mod matrix_free;
mod normal_equations;

use serde::{Deserialize, Serialize};

pub use self::matrix_free::MatrixFreeLevenbergMarquardt;
use self::normal_equations::NormalEquations;
use super::{Scaling, enorm, scaled_norm};
use crate::problem::{Counted, SparseResiduals};
use crate::solver::{
    Error, Minimizer, Report, RunOptions, State, Stop, Termination, check_nonneg, check_positive,
    float_serde, inf_norm, run_options,
};

#[cfg(doc)]
use super::LevenbergMarquardt;

/// Levenberg-Marquardt for `min Σ rᵢ(x)²` on a [`SparseResiduals`] problem:
/// the damped normal equations `(JᵀJ + λ DᵀD) p = −Jᵀ r` solved by a sparse
/// Cholesky factorization (faer's, symbolic once per run), with Nielsen's
/// damping update (Madsen, Nielsen & Tingleff 2004, Algorithm 3.16), Moré's
/// scaling `D` and MINPACK's convergence tests (see the [module
/// docs](crate::newton::levenberg_marquardt::sparse)).
///
/// Time and memory per iteration are linear in the nonzeros of `J` and of
/// the Cholesky factor of `JᵀJ`: for a banded `J` (`q` nonzeros per row),
/// `O(m q²)` to form `JᵀJ` and `O(n q²)` to factor it.
///
/// One iteration is one Jacobian: trial steps (one residual evaluation and
/// one factorization each) until one is accepted or a test ends the run.
///
/// # Requirements on the problem
///
/// An exact (or nearly) Jacobian on a pattern that covers every nonzero.
/// A pattern of the wrong shape is an [`Error::InvalidPattern`] at
/// `minimize`. A row with many nonzeros makes `JᵀJ` dense in those columns.
///
/// # Defaults
///
/// Those of [`LevenbergMarquardt`]: MINPACK's `ftol = xtol = 1e-15`,
/// `gtol = 0`; the driver's gradient test off (`with_gtol(0)`), iteration
/// limit 1000; [`Scaling::ColumnNorms`]; and `τ = 10⁻³` (MNT's suggestion
/// for a start believed far from the solution).
///
/// # Example
///
/// ```
/// use hesse::newton::SparseLevenbergMarquardt;
/// use hesse::problem::{SparseResiduals, SparsityPattern};
/// use hesse::solver::Error;
///
/// /// Discrete boundary-value problem (Moré, Garbow & Hillstrom 1981, #28):
/// /// rᵢ = 2xᵢ − xᵢ₋₁ − xᵢ₊₁ + h² (xᵢ + tᵢ + 1)³ / 2, tridiagonal J.
/// struct Bvp(usize);
///
/// impl SparseResiduals for Bvp {
///     fn num_params(&self) -> usize { self.0 }
///     fn num_residuals(&self) -> usize { self.0 }
///     fn residuals(&self, x: &[f64], r: &mut [f64]) {
///         let n = self.0;
///         let h = 1.0 / (n as f64 + 1.0);
///         for i in 0..n {
///             let t = (i as f64 + 1.0) * h;
///             let left = if i > 0 { x[i - 1] } else { 0.0 };
///             let right = if i + 1 < n { x[i + 1] } else { 0.0 };
///             r[i] = 2.0 * x[i] - left - right + h * h * (x[i] + t + 1.0).powi(3) / 2.0;
///         }
///     }
///     fn jacobian_pattern(&self) -> Result<SparsityPattern, Error> {
///         let n = self.0;
///         let entries: Vec<(usize, usize)> = (0..n)
///             .flat_map(|j| (j.saturating_sub(1)..(j + 2).min(n)).map(move |i| (i, j)))
///             .collect();
///         SparsityPattern::from_triplets(n, n, &entries)
///     }
///     fn jacobian_values(&self, x: &[f64], v: &mut [f64]) {
///         let n = self.0;
///         let h = 1.0 / (n as f64 + 1.0);
///         let mut k = 0;
///         for j in 0..n {
///             let t = (j as f64 + 1.0) * h;
///             for i in j.saturating_sub(1)..(j + 2).min(n) {
///                 v[k] = if i == j { 2.0 + 1.5 * h * h * (x[j] + t + 1.0).powi(2) } else { -1.0 };
///                 k += 1;
///             }
///         }
///     }
/// }
///
/// let n = 500;
/// let h = 1.0 / (n as f64 + 1.0);
/// let x0: Vec<f64> = (1..=n).map(|i| i as f64 * h * (i as f64 * h - 1.0)).collect();
/// let report = SparseLevenbergMarquardt::default().minimize(&Bvp(n), &x0).unwrap();
/// assert!(report.converged());
/// assert!(report.f < 1e-25);
/// assert_eq!(report.method, "sparse-lm");
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SparseLevenbergMarquardt {
    options: RunOptions,
    /// MINPACK `ftol`: relative reduction of `‖r‖²`.
    #[serde(with = "float_serde")]
    minpack_ftol: f64,
    /// MINPACK `xtol`: `‖D p‖ ≤ xtol ‖D x‖`.
    #[serde(with = "float_serde")]
    minpack_xtol: f64,
    /// MINPACK `gtol`: cosine between `r` and the columns of `J`.
    #[serde(with = "float_serde")]
    minpack_gtol: f64,
    /// MNT's `τ`: `λ₀ = τ max_j H_jj / d_j²`.
    #[serde(with = "float_serde")]
    tau: f64,
    /// How `D` is chosen.
    #[serde(default)]
    scaling: Scaling,
    /// The iteration's state (checkpointed).
    iter: IterState,
    #[serde(skip)]
    work: Work,
}

/// What a checkpoint must hold to resume bit for bit: `λ`, `ν`, `D`, and
/// `r`, `J` at `x_k` (`JᵀJ` and the symbolic factorization are recomputed
/// from them and the problem's pattern, which costs no evaluation).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct IterState {
    /// The damping `λ`.
    #[serde(with = "float_serde")]
    lambda: f64,
    /// Nielsen's growth factor `ν` for the next rejection.
    #[serde(with = "float_serde")]
    nu: f64,
    /// The scaling `d_j`.
    #[serde(with = "float_serde::vec")]
    diag: Vec<f64>,
    /// `‖r(x_k)‖₂`.
    #[serde(with = "float_serde")]
    rnorm: f64,
    /// `‖D x_k‖₂`.
    #[serde(with = "float_serde")]
    xnorm: f64,
    /// A convergence test passed at the step just accepted; reported by the
    /// next call so that the accepted step counts as an iteration.
    pending: Option<Termination>,
    /// Why `pending` was set, for the state's note.
    pending_note: Option<String>,
    /// `r(x_k)`.
    #[serde(with = "float_serde::vec")]
    r: Vec<f64>,
    /// `J(x_k)`'s values on the pattern.
    #[serde(with = "float_serde::vec")]
    jac: Vec<f64>,
}

/// Scratch sized once per run (not checkpointed).
#[derive(Debug, Default)]
struct Work {
    /// `JᵀJ`, its pattern and factorization; `None` until sized.
    normal: Option<NormalEquations>,
    /// `Jᵀ r`, then the step `p` solved in place.
    p: Vec<f64>,
    /// `Jᵀ r` kept for the gradient test.
    jtr: Vec<f64>,
    x_trial: Vec<f64>,
    r_trial: Vec<f64>,
    /// `J p` (`m`).
    jp: Vec<f64>,
    /// `D p`.
    dp: Vec<f64>,
}

impl Clone for Work {
    /// Scratch is not state: a clone starts with none and sizes it on use.
    fn clone(&self) -> Self {
        Work::default()
    }
}

impl Default for SparseLevenbergMarquardt {
    fn default() -> Self {
        SparseLevenbergMarquardt {
            options: RunOptions {
                stop: Stop {
                    g_abs: 0.0,
                    ..Stop::default()
                },
                history: false,
            },
            minpack_ftol: 1e-15,
            minpack_xtol: 1e-15,
            minpack_gtol: 0.0,
            tau: 1e-3,
            scaling: Scaling::ColumnNorms,
            iter: IterState::default(),
            work: Work::default(),
        }
    }
}

run_options!(SparseLevenbergMarquardt);

impl SparseLevenbergMarquardt {
    /// MINPACK's `ftol`, as [`LevenbergMarquardt::with_minpack_ftol`]:
    /// stop when the actual and predicted relative reductions of `‖r‖²` are
    /// both at most `ftol`. Default `1e-15`; below `ε` acts as `ε`.
    #[must_use]
    pub fn with_minpack_ftol(mut self, ftol: f64) -> Self {
        self.minpack_ftol = ftol;
        self
    }

    /// MINPACK's `xtol`: stop when a trial step has `‖D p‖ ≤ xtol ‖D x‖`
    /// (see the module docs for how it differs from `lmder`'s). Default
    /// `1e-15`; below `ε` acts as `ε`.
    #[must_use]
    pub fn with_minpack_xtol(mut self, xtol: f64) -> Self {
        self.minpack_xtol = xtol;
        self
    }

    /// MINPACK's `gtol`, as [`LevenbergMarquardt::with_minpack_gtol`]: stop
    /// when `|J_jᵀ r| ≤ gtol ‖J_j‖ ‖r‖` for every column `j`. Default `0`.
    #[must_use]
    pub fn with_minpack_gtol(mut self, gtol: f64) -> Self {
        self.minpack_gtol = gtol;
        self
    }

    /// MINPACK's three tests at once (`ftol`, `xtol`, `gtol`).
    ///
    /// ```
    /// use hesse::newton::SparseLevenbergMarquardt;
    /// let lm = SparseLevenbergMarquardt::default().with_minpack_tolerances(1e-8, 1e-8, 0.0);
    /// assert_eq!(lm.minpack_tolerances(), (1e-8, 1e-8, 0.0));
    /// ```
    #[must_use]
    pub fn with_minpack_tolerances(self, ftol: f64, xtol: f64, gtol: f64) -> Self {
        self.with_minpack_ftol(ftol)
            .with_minpack_xtol(xtol)
            .with_minpack_gtol(gtol)
    }

    /// MINPACK's `(ftol, xtol, gtol)`.
    pub fn minpack_tolerances(&self) -> (f64, f64, f64) {
        (self.minpack_ftol, self.minpack_xtol, self.minpack_gtol)
    }

    /// MNT's `τ`: the first damping is `λ₀ = τ max_j (JᵀJ)_jj / d_j²`
    /// (`= τ` with the default column-norm scaling). Default `1e-3` (MNT
    /// §3.2: `10⁻⁶` for a start believed close to the solution, up to `1`
    /// otherwise); must be positive and finite.
    #[must_use]
    pub fn with_initial_damping(mut self, tau: f64) -> Self {
        self.tau = tau;
        self
    }

    /// The scaling `D` (see [`Scaling`]). Default [`Scaling::ColumnNorms`].
    #[must_use]
    pub fn with_scaling(mut self, scaling: Scaling) -> Self {
        self.scaling = scaling;
        self
    }

    /// Runs to the end from `x0`.
    pub fn minimize<P: SparseResiduals + ?Sized>(
        &self,
        problem: &P,
        x0: &[f64],
    ) -> Result<Report, Error> {
        crate::solver::minimize(self.clone(), problem, x0)
    }

    fn validate(&self) -> Result<(), Error> {
        check_nonneg("minpack_ftol", self.minpack_ftol)?;
        check_nonneg("minpack_xtol", self.minpack_xtol)?;
        check_nonneg("minpack_gtol", self.minpack_gtol)?;
        check_positive("initial_damping", self.tau)?;
        Ok(())
    }

    /// Sizes the scratch and builds `JᵀJ`'s pattern and symbolic
    /// factorization from the problem's pattern.
    fn size_work<P: SparseResiduals>(&mut self, problem: &P, n: usize) -> Result<(), Error> {
        let m = problem.num_residuals();
        let pattern = problem.jacobian_pattern()?;
        if pattern.nrows() != m || pattern.ncols() != n {
            return Err(Error::InvalidPattern(format!(
                "the pattern is {} × {}, the Jacobian is m × n = {m} × {n}",
                pattern.nrows(),
                pattern.ncols()
            )));
        }
        let normal = NormalEquations::new(pattern).map_err(Error::InvalidProblem)?;
        self.work = Work {
            normal: Some(normal),
            p: vec![0.0; n],
            jtr: vec![0.0; n],
            x_trial: vec![0.0; n],
            r_trial: vec![0.0; m],
            jp: vec![0.0; m],
            dp: vec![0.0; n],
        };
        Ok(())
    }

    /// `JᵀJ` and `Jᵀ r` from `iter.jac` and `iter.r`, `g = 2 Jᵀ r` into
    /// `g`; returns MINPACK's `gtol` measure, or `None` if `J` is not finite.
    fn factor_inputs(&mut self, g: &mut [f64]) -> Option<f64> {
        if !self.iter.jac.iter().all(|v| v.is_finite()) {
            return None;
        }
        let (it, w) = (&self.iter, &mut self.work);
        let ne = w.normal.as_mut().expect("sized in init");
        ne.assemble(&it.jac);
        ne.jac_t_mul(&it.jac, &it.r, &mut w.jtr);
        for (gj, &v) in g.iter_mut().zip(&w.jtr) {
            *gj = 2.0 * v;
        }
        // gnorm = max_j |J_jᵀ r| / (‖J_j‖ ‖r‖).
        let mut gnorm = 0.0f64;
        if it.rnorm != 0.0 {
            for (j, &v) in w.jtr.iter().enumerate() {
                let c = ne.diagonal(j).sqrt();
                if c != 0.0 {
                    gnorm = gnorm.max((v / (c * it.rnorm)).abs());
                }
            }
        }
        Some(gnorm)
    }

    /// Evaluates `J` at `state.x`, forms `JᵀJ` and `g`. Returns the `gtol`
    /// measure, or `None` when `J` is not finite (then `g` is NaN and the
    /// driver ends the run).
    fn jacobian_at<P: SparseResiduals>(
        &mut self,
        problem: &Counted<P>,
        state: &mut State,
    ) -> Option<f64> {
        problem.jacobian_values(&state.x, &mut self.iter.jac);
        let gnorm = self.factor_inputs(&mut state.g);
        if gnorm.is_none() {
            state.g.iter_mut().for_each(|g| *g = f64::NAN);
        }
        gnorm
    }

    /// Moré §6: `d_j ← max(d_j, ‖J e_j‖)` under [`Scaling::ColumnNorms`].
    fn update_scaling(&mut self) {
        if self.scaling == Scaling::ColumnNorms {
            let ne = self.work.normal.as_ref().expect("sized");
            for (j, d) in self.iter.diag.iter_mut().enumerate() {
                *d = d.max(ne.diagonal(j).sqrt());
            }
        }
    }

    /// The note for a MINPACK test that passed: `info = 3`, or a tolerance
    /// below `ε`.
    fn minpack_note(&self, info: u8) -> Option<String> {
        let tight = match info {
            1 => self.minpack_ftol < f64::EPSILON,
            2 => self.minpack_xtol < f64::EPSILON,
            _ => self.minpack_ftol < f64::EPSILON && self.minpack_xtol < f64::EPSILON,
        };
        (info == 3 || tight).then(|| {
            if tight {
                format!(
                    "MINPACK info = {}: tolerance below ε, no further improvement possible",
                    info + 5
                )
            } else {
                "MINPACK info = 3: ftol and xtol tests both passed".to_string()
            }
        })
    }
}

/// One trial step's outcome.
struct Trial {
    /// `‖D p‖`.
    pnorm: f64,
    /// `‖r(x + p)‖`.
    rnorm: f64,
    finite: bool,
    /// `x + p` rounds to `x` in every coordinate.
    no_move: bool,
    /// Actual relative reduction `1 − (‖r₊‖/‖r‖)²` (−1 if not finite or
    /// `‖r₊‖ ≥ 10 ‖r‖`).
    actred: f64,
    /// Predicted relative reduction `(‖J p‖² + 2 λ ‖D p‖²) / ‖r‖²`.
    prered: f64,
    /// `ρ = actred / prered`.
    ratio: f64,
}

impl<P: SparseResiduals> Minimizer<P> for SparseLevenbergMarquardt {
    fn check_resume(&self, problem: &Counted<P>) -> Result<(), Error> {
        let m = SparseResiduals::num_residuals(problem);
        crate::solver::check_saved("the checkpoint's residual vector", self.iter.r.len(), m)?;
        let nnz = problem.jacobian_pattern()?.nnz();
        crate::solver::check_saved("the checkpoint's Jacobian", self.iter.jac.len(), nnz)?;
        let n = SparseResiduals::num_params(problem);
        crate::solver::check_saved("the checkpoint's scaling diagonal", self.iter.diag.len(), n)
    }

    fn name(&self) -> &'static str {
        "sparse-lm"
    }

    fn options(&self) -> &RunOptions {
        &self.options
    }

    fn dim(&self, problem: &Counted<P>) -> usize {
        SparseResiduals::num_params(problem)
    }

    fn init(&mut self, problem: &Counted<P>, state: &mut State) -> Result<(), Error> {
        self.validate()?;
        let n = state.x.len();
        let m = SparseResiduals::num_residuals(problem);
        if let Scaling::Diagonal(d) = &self.scaling {
            if d.len() != n {
                return Err(Error::DimensionMismatch {
                    what: "the scaling diagonal",
                    got: d.len(),
                    expected: n,
                    expected_from: "problem",
                });
            }
            for &v in d {
                check_positive("scaling diagonal entry", v)?;
            }
        }
        self.size_work(problem, n)?;
        let nnz = self.work.normal.as_ref().map_or(0, |ne| ne.pattern().nnz());
        self.iter = IterState {
            lambda: f64::NAN,
            nu: 2.0,
            diag: vec![0.0; n],
            rnorm: f64::NAN,
            xnorm: f64::NAN,
            pending: None,
            pending_note: None,
            r: vec![0.0; m],
            jac: vec![0.0; nnz],
        };
        SparseResiduals::residuals(problem, &state.x, &mut self.iter.r);
        self.iter.rnorm = enorm(&self.iter.r);
        state.f = self.iter.rnorm * self.iter.rnorm;
        if !state.f.is_finite() {
            // The driver ends the run with NonFiniteValue.
            state.f = f64::NAN;
            state.g.iter_mut().for_each(|g| *g = f64::NAN);
            return Ok(());
        }
        let Some(gnorm) = self.jacobian_at(problem, state) else {
            return Ok(());
        };
        let ne = self.work.normal.as_ref().expect("sized");
        match &self.scaling {
            Scaling::ColumnNorms => {
                for (j, d) in self.iter.diag.iter_mut().enumerate() {
                    let c = ne.diagonal(j).sqrt();
                    *d = if c == 0.0 { 1.0 } else { c };
                }
            }
            Scaling::Identity => self.iter.diag.iter_mut().for_each(|d| *d = 1.0),
            Scaling::Diagonal(fixed) => self.iter.diag.copy_from_slice(fixed),
        }
        // MNT (3.14), scaled: λ₀ = τ max_j H_jj / d_j².
        let max_ratio = (0..n)
            .map(|j| ne.diagonal(j) / (self.iter.diag[j] * self.iter.diag[j]))
            .fold(0.0f64, f64::max);
        self.iter.lambda = self.tau * if max_ratio > 0.0 { max_ratio } else { 1.0 };
        self.iter.xnorm = scaled_norm(&self.iter.diag, &state.x);
        if gnorm <= self.minpack_gtol.max(f64::EPSILON) {
            self.iter.pending = Some(Termination::GradientTolerance);
        }
        Ok(())
    }

    /// Trial steps from `x_k` until one is accepted (then `J` at the new
    /// point, and `None`) or a test ends the run.
    fn next_iter(&mut self, problem: &Counted<P>, state: &mut State) -> Option<Termination> {
        if let Some(t) = self.iter.pending.take() {
            state.note = self.iter.pending_note.take();
            return Some(t);
        }
        let n = state.x.len();
        if self.work.normal.is_none() {
            // Resumed from a checkpoint: rebuild the scratch and JᵀJ from the
            // stored Jacobian (no evaluation).
            if let Err(e) = self.size_work(problem, n) {
                state.note = Some(format!("resuming: {e}"));
                return Some(Termination::LinearAlgebraFailure);
            }
            let mut g = vec![0.0; n];
            if self.factor_inputs(&mut g).is_none() {
                return Some(Termination::NonFiniteValue);
            }
        }
        let ftol = self.minpack_ftol.max(f64::EPSILON);
        let xtol = self.minpack_xtol.max(f64::EPSILON);
        let mut all_trials_non_finite = true;
        loop {
            let Some(trial) = self.trial_step(problem, state) else {
                // H + λDᵀD not positive definite: a rejected trial with no
                // evaluation.
                self.reject();
                if !self.iter.lambda.is_finite() {
                    state.note = Some("the damping λ overflowed".into());
                    return Some(Termination::LinearAlgebraFailure);
                }
                continue;
            };
            if !trial.pnorm.is_finite() {
                state.note = Some("the LM step is not finite".into());
                return Some(Termination::LinearAlgebraFailure);
            }
            // A trial that rounds back to x_k tells nothing about finiteness.
            all_trials_non_finite &= !trial.finite || trial.no_move;
            let accepted = trial.ratio >= 1e-4;
            if accepted {
                // Nielsen's rule, MNT (3.15).
                let c = 2.0 * trial.ratio - 1.0;
                self.iter.lambda *= (1.0 / 3.0f64).max(1.0 - c * c * c);
                self.iter.lambda = self.iter.lambda.max(f64::MIN_POSITIVE);
                self.iter.nu = 2.0;
                let (it, w) = (&mut self.iter, &mut self.work);
                std::mem::swap(&mut state.x, &mut w.x_trial);
                std::mem::swap(&mut it.r, &mut w.r_trial);
                it.rnorm = trial.rnorm;
                it.xnorm = scaled_norm(&it.diag, &state.x);
                // x_trial now holds x_k: the step taken.
                for j in 0..n {
                    w.x_trial[j] = state.x[j] - w.x_trial[j];
                }
                state.step_norm = inf_norm(&w.x_trial);
            } else {
                self.reject();
            }
            // MINPACK's tests on this trial.
            let f_test = trial.actred.abs() <= ftol && trial.prered <= ftol && trial.ratio <= 2.0;
            let x_test = trial.pnorm <= xtol * self.iter.xnorm;
            let converged = match (f_test, x_test) {
                (true, true) => Some((Termination::FunctionTolerance, 3)),
                (true, false) => Some((Termination::FunctionTolerance, 1)),
                (false, true) => Some((Termination::StepTolerance, 2)),
                (false, false) => None,
            };
            if accepted {
                state.f = self.iter.rnorm * self.iter.rnorm;
                state.alpha = f64::NAN;
                // A non-finite J leaves g NaN: the driver ends the run.
                let gnorm = self.jacobian_at(problem, state)?;
                self.update_scaling();
                let confirmed = converged.filter(|_| self.gauss_newton_agrees(ftol, xtol));
                if let Some((t, info)) = confirmed {
                    self.iter.pending = Some(t);
                    self.iter.pending_note = self.minpack_note(info);
                } else if gnorm <= self.minpack_gtol.max(f64::EPSILON) {
                    self.iter.pending = Some(Termination::GradientTolerance);
                }
                return None;
            }
            if let Some((t, info)) = converged {
                if info != 1 && all_trials_non_finite {
                    state.note = Some(
                        "every trial step since the last accepted point gave non-finite residuals"
                            .into(),
                    );
                    return Some(Termination::NonFiniteValue);
                }
                state.note = self.minpack_note(info);
                return Some(t);
            }
            if let Some(t) = problem.halted() {
                return Some(t);
            }
            if !self.iter.lambda.is_finite() {
                state.note = Some("the damping λ overflowed".into());
                return Some(Termination::LinearAlgebraFailure);
            }
        }
    }
}

impl SparseLevenbergMarquardt {
    /// Whether MINPACK's `ftol` or `xtol` test, passed at an accepted step,
    /// also holds for the Gauss-Newton step from the new point (`λ` at
    /// `10⁻¹² max_j H_jj / d_j²`, one factorization, no evaluation).
    ///
    /// A damped step is shorter than the Gauss-Newton step, and its reduction
    /// smaller: while `λ` is still large next to `JᵀJ`'s small eigenvalues
    /// (Nielsen's rule lowers it by at most 3 per step), both tests can pass
    /// with `x` still some way off in those directions (Brown and Dennis
    /// stopped 2·10⁻⁸ relative from the dense solver's minimizer). MINPACK
    /// takes the Gauss-Newton step whenever it fits its trust region, so its
    /// tests see that step; this restores it. A failed factorization
    /// (rank-deficient `J`) lets the test stand.
    fn gauss_newton_agrees(&mut self, ftol: f64, xtol: f64) -> bool {
        let (it, w) = (&self.iter, &mut self.work);
        let ne = w.normal.as_mut().expect("sized");
        let n = it.diag.len();
        let scale = (0..n)
            .map(|j| ne.diagonal(j) / (it.diag[j] * it.diag[j]))
            .fold(0.0f64, f64::max);
        let lambda_gn = 1e-12 * scale;
        if it.lambda <= lambda_gn || it.rnorm == 0.0 || !ne.factor(lambda_gn, &it.diag) {
            return true;
        }
        for (p, &v) in w.p.iter_mut().zip(&w.jtr) {
            *p = -v;
        }
        ne.solve(&mut w.p);
        for j in 0..n {
            w.dp[j] = it.diag[j] * w.p[j];
        }
        ne.jac_mul(&it.jac, &w.p, &mut w.jp);
        let t1 = enorm(&w.jp) / it.rnorm;
        let prered = t1 * t1;
        let pnorm = enorm(&w.dp);
        !(prered > ftol && pnorm > xtol * it.xnorm)
    }

    /// Nielsen's rule after a rejected trial: `λ ← ν λ`, `ν ← 2ν`.
    fn reject(&mut self) {
        self.iter.lambda *= self.iter.nu;
        self.iter.nu *= 2.0;
    }

    /// The step for the current `λ`, the trial point, its residuals and the
    /// reductions; `None` if `H + λ DᵀD` could not be factored.
    fn trial_step<P: SparseResiduals>(
        &mut self,
        problem: &Counted<P>,
        state: &State,
    ) -> Option<Trial> {
        let (it, w) = (&self.iter, &mut self.work);
        let ne = w.normal.as_mut().expect("sized");
        if !ne.factor(it.lambda, &it.diag) {
            return None;
        }
        for (p, &v) in w.p.iter_mut().zip(&w.jtr) {
            *p = -v;
        }
        ne.solve(&mut w.p);
        for j in 0..w.p.len() {
            w.dp[j] = it.diag[j] * w.p[j];
            w.x_trial[j] = state.x[j] + w.p[j];
        }
        let pnorm = enorm(&w.dp);
        let no_move = w.x_trial == state.x;
        ne.jac_mul(&it.jac, &w.p, &mut w.jp);
        SparseResiduals::residuals(problem, &w.x_trial, &mut w.r_trial);
        let rnorm = enorm(&w.r_trial);
        let finite = rnorm.is_finite();
        let actred = if finite && 0.1 * rnorm < it.rnorm {
            1.0 - (rnorm / it.rnorm).powi(2)
        } else {
            -1.0
        };
        // ‖r‖² − ‖r + Jp‖² = ‖Jp‖² + 2λ‖Dp‖² at the solution of the damped
        // system (Moré §4's form, free of cancellation).
        let t1 = enorm(&w.jp) / it.rnorm;
        let t2 = it.lambda.sqrt() * pnorm / it.rnorm;
        let prered = t1 * t1 + 2.0 * t2 * t2;
        let ratio = if prered != 0.0 && prered.is_finite() {
            actred / prered
        } else {
            0.0
        };
        Some(Trial {
            pnorm,
            rnorm,
            finite,
            no_move,
            actred,
            prered,
            ratio,
        })
    }
}
