//! Levenberg-Marquardt for nonlinear least squares, as MINPACK's `lmder` does it.
//!
//! Reference: J. J. Moré, "The Levenberg-Marquardt algorithm: implementation and
//! theory", in G. A. Watson (ed.), *Numerical Analysis*, Lecture Notes in
//! Mathematics 630, Springer (1978), pp. 105–116. The convergence tests and
//! their defaults are those of MINPACK-1: J. J. Moré, B. S. Garbow and
//! K. E. Hillstrom, *User Guide for MINPACK-1*, Argonne report ANL-80-74
//! (1980), §2.3 (`lmder`'s `ftol`, `xtol`, `gtol` and its `info` codes).
//! Comments "Moré §k" point into the paper.
//!
//! # Notation
//!
//! Residuals `r(x) ∈ ℝᵐ` (Moré's `f`), Jacobian `J`, `m ≥ n`, objective
//! `f(x) = ‖r(x)‖²` (Moré minimizes `½‖r‖²`; every test below is a ratio, so the
//! factor changes nothing). At `x_k` the step `p` solves the scaled trust-region
//! subproblem (Moré §2)
//!
//! ```text
//! min ‖r + J p‖  subject to  ‖D p‖ ≤ Δ,
//! ```
//!
//! whose solution is `p(λ) = −(JᵀJ + λ DᵀD)⁻¹ Jᵀ r` for the `λ ≥ 0` (the LM
//! parameter, `lambda`, MINPACK's `par`) with `λ = 0` and `‖D p(0)‖ ≤ Δ`, or
//! `‖D p(λ)‖ = Δ`. The implementation never forms `JᵀJ`:
//!
//! 1. `J P = Q R`, Householder QR with column pivoting (`P` the permutation,
//!    MINPACK's `ipvt`), once per Jacobian;
//! 2. for each trial `λ`, the least-squares problem `[J; √λ D] p ≅ −[r; 0]`
//!    is reduced to `[R; √λ Pᵀ D P]`, whose diagonal block is eliminated by
//!    Givens rotations into an upper triangular `S` (Moré §3, MINPACK's
//!    `qrsolv`), `O(n²)` per rotation sweep;
//! 3. `λ` itself comes from a safeguarded Newton iteration on the secular
//!    equation `φ(λ) = ‖D p(λ)‖ − Δ = 0`, accepted once `|φ| ≤ 0.1 Δ`, with
//!    the bounds `l ≤ λ ≤ u` of Moré §5 (MINPACK's `lmpar`, at most 10 steps);
//! 4. the ratio `ρ` of actual to predicted reduction decides whether the step
//!    is taken (`ρ ≥ 10⁻⁴`) and how `Δ` changes (Moré §4): halved or shrunk
//!    by the interpolation factor `μ ∈ [0.1, 0.5]` when `ρ ≤ 1/4`, doubled as
//!    `Δ = 2‖Dp‖` when `ρ ≥ 3/4` (or when `λ = 0`);
//! 5. the scaling `D = diag(d_j)` is the running maximum over iterations of the
//!    Jacobian's column norms `‖J e_j‖` (Moré §6, `lmder`'s `mode = 1`), which
//!    makes the method invariant under diagonal scaling of `x`. The initial
//!    bound is `Δ₀ = factor · ‖D x₀‖` (or `factor` if that is 0), `factor = 100`.
//!    [`Scaling`] chooses `D` as `lmder`'s `mode` does: the running maximum
//!    (`mode = 1`, the default) or a fixed `D` the caller gives (`mode = 2`),
//!    `D = I` being Levenberg's (1944) original damping `λI`.
//!
//! # Convergence tests (MINPACK's `info` codes)
//!
//! MINPACK's three tests have their own builders,
//! [`with_minpack_ftol`](LevenbergMarquardt::with_minpack_ftol),
//! [`with_minpack_xtol`](LevenbergMarquardt::with_minpack_xtol),
//! [`with_minpack_gtol`](LevenbergMarquardt::with_minpack_gtol) (or all three
//! with [`with_minpack_tolerances`](LevenbergMarquardt::with_minpack_tolerances)):
//!
//! | MINPACK | test | [`Termination`] |
//! |---|---|---|
//! | `info = 1` | actual and predicted relative reductions of `‖r‖²` both `≤ ftol`, and `ρ ≤ 2` | `FunctionTolerance` |
//! | `info = 2` | `Δ ≤ xtol · ‖D x‖` (relative error in `x` at most `xtol`) | `StepTolerance` |
//! | `info = 3` | both of the above | `FunctionTolerance` (the note says `info = 3`) |
//! | `info = 4` | `max_j |J_jᵀ r| / (‖J_j‖ ‖r‖) ≤ gtol` (cosine of `r` with every column) | `GradientTolerance` |
//! | `info = 5` | evaluation limit | `MaxEvaluations` / `MaxIterations` (driver limits) |
//! | `info = 6, 7, 8` | the tests above with `ε` for the tolerance | as 1, 2, 4: tolerances below `ε` act as `ε` |
//!
//! The driver's own tests ([`Stop`]) also run, on `f = ‖r‖²` and
//! `g = 2 Jᵀ r`, set by the builders every minimizer has with their common
//! meaning: `with_gtol` (`‖g‖∞ ≤ gtol`; the projected gradient under bounds),
//! `with_gtol_rel`, `with_ftol`/`with_ftol_abs` (change in `f`),
//! `with_xtol`/`with_xtol_abs` (step `‖Δx‖∞`), the limits.
//! [`LevenbergMarquardt::default`] turns the gradient test off (`gtol = 0`,
//! where other minimizers default to `1e-8`), because an absolute test on
//! `‖2Jᵀr‖∞` is not scale invariant (on NIST's Lanczos1, with
//! `‖r‖ ≈ 10⁻¹³`, any useful threshold ends the run before the parameters
//! have 6 digits); the others are off as everywhere.
//!
//! # Layout
//!
//! This file holds the options and the driver-facing iteration
//! (`next_iter`: trial steps until one is accepted or a test passes);
//! `step.rs` the named steps of one trial (the LM step and trial point, the
//! ratio `ρ`, the update of `Δ` and `λ`, acceptance, MINPACK's tests),
//! `jacobian.rs` the factorization of `J` at an accepted point, `lmpar.rs`
//! Moré §3 and §5, `geodesic.rs` the optional acceleration, `stats.rs` the
//! fit statistics and `fit_problem.rs` the model-on-data residuals of
//! `hesse fit`.
//!
//! # Deviations from `lmder`
//!
//! - The pivoted QR is faer's ([`Qr`], pivoting on the largest remaining
//!   column norm, as MINPACK's `qrfac`), not `qrfac` itself; pivot orders can differ on
//!   ties, so iterates agree with MINPACK's to rounding, not bit for bit.
//! - The Jacobian is evaluated at every accepted point, including the last
//!   (the report's gradient and [`fit_statistics`] need it there); `lmder`
//!   skips it after a successful `ftol`/`xtol` test, so our `g` count can be
//!   one more than MINPACK's `njev`.
//! - A trial point whose residuals are not finite is a failed step: `Δ` shrinks
//!   by 10 and `λ` grows by 10 (`lmder` leaves NaN to the user's `iflag`). If
//!   the step bound shrinks to `xtol · ‖D x‖` with every trial since the last
//!   accepted point non-finite, the run ends with
//!   [`Termination::NonFiniteValue`], not a step-tolerance "success".
//! - Rounding-noise steps: near a minimizer whose residuals cancel
//!   (`rᵢ = yᵢ − f(xᵢ)` with `|rᵢ| ≪ |yᵢ|`, e.g. NIST's Lanczos3) `‖r‖²` is
//!   computed with relative noise far above `ε`, so `ρ` becomes noise and
//!   `lmder` rejects good steps until `Δ` meets `xtol` (6.4 digits on
//!   Lanczos3). A Gauss-Newton step (`λ = 0`) whose predicted and actual
//!   relative changes of `‖r‖²` are both below `10⁻¹⁰` is taken anyway when it
//!   is at most `q = 3/4` of the previous accepted step
//!   ([`LevenbergMarquardt::with_noise_steps`]): these steps come from the
//!   exact `J` and `r`, not from differences of `‖r‖²`, and contract
//!   geometrically, so few are taken and the point they converge to lies
//!   within `q/(1 − q) = 3` last steps (Lanczos3 then reaches 10.5 digits).
//!   Such a step can raise `‖r‖²` by at most `10⁻¹⁰` relative. On a
//!   large-residual problem Gauss-Newton converges only linearly, with rate
//!   about `‖(JᵀJ)⁻¹ Σ rᵢ ∇²rᵢ‖` (Dennis & Schnabel 1983, §10.2): NIST's
//!   Thurber (`‖r‖² ≈ 5643`) contracts by 0.67 a step, so a factor 1/2
//!   stopped it at 8.0 digits from Start 2 (MINPACK: 8.6), and 3/4 lets it
//!   reach 9.1 (10.4 from Start 1, MINPACK 7.6).
//! - Optionally ([`LevenbergMarquardt::with_deferred_ftol`], off by default)
//!   the `ftol` test waits while Gauss-Newton steps still contract.
//! - Rank deficiency needs no special case: an exactly zero pivot of `R` makes
//!   `lmpar` drop the lower bound `l` and the Gauss-Newton step a minimum-norm
//!   least-squares solution on the leading columns, as in MINPACK.

// Index loops follow the paper's subscripts (R_ij, P, D), as MINPACK does.
#![allow(clippy::needless_range_loop)]

mod fit_problem;
mod geodesic;
mod jacobian;
mod lmpar;
pub mod sparse;
mod stats;
mod step;

pub use fit_problem::{ExtendedResiduals, FitProblem};
pub use sparse::{MatrixFreeLevenbergMarquardt, SparseLevenbergMarquardt};
pub use stats::{FitStatistics, fit_statistics, fit_statistics_with_loss};

use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};

use self::lmpar::LmparWork;
use super::robust_loss::RobustLoss;
use crate::linalg::Qr;
use crate::problem::{Counted, Residuals};
use crate::solver::{
    Bounds, Error, Minimizer, Report, RunOptions, State, Stop, Termination, check_nonneg,
    check_positive, float_serde, inf_norm, run_options,
};

/// Levenberg-Marquardt for `min Σ rᵢ(x)²` on a [`Residuals`] problem: Moré's
/// (1978) scaled trust-region method as MINPACK's `lmder` implements it (see
/// the [module docs](crate::newton::levenberg_marquardt) for the algorithm, the convergence tests and how
/// they map to [`Termination`]).
///
/// One iteration is one Jacobian: trial steps are computed (each costing one
/// residual evaluation) until one reduces `‖r‖` enough (`ρ ≥ 10⁻⁴`) or a
/// convergence test passes.
///
/// # Requirements on the problem
///
/// `m ≥ n` (at least as many residuals as parameters, else
/// [`Error::InvalidProblem`]) and a Jacobian that is exact (or nearly so): the
/// predicted reduction and the `gtol` test use it. Write the residuals once,
/// generic over [`Real`](crate::diff::Real), to get it exactly from dual numbers.
///
/// # Defaults
///
/// - MINPACK's `ftol = xtol = 1e-15`, `gtol = 0`. MINPACK's `lmder1` uses
///   `ftol = xtol = tol`, `gtol = 0` and recommends `tol = sqrt(ε) ≈ 1.5e-8`
///   (scipy's `least_squares` uses `1e-8`); we default to the tolerances the
///   NIST StRD comparisons use (`1e-15`), because a fit is judged by its
///   digits and the last ones cost little: on the 38 lower- and
///   average-difficulty NIST runs they take 9%
///   more residual evaluations than `1e-10` and raise the worst parameter LRE
///   from 4.2 to 6.5 (ENSO), and from 6.2 to 8.3 on the rest. An `ftol` test
///   guarantees only about `sqrt(ftol)` relative accuracy in poorly determined
///   parameters. Tolerances below `ε` act as `ε`, so `0` stops as soon as
///   nothing further is achievable in double precision.
/// - `factor = 100` (MINPACK's recommended initial step bound factor).
/// - The driver's tests: gradient test off (`with_gtol(0)`), `f` and `x`
///   change tests off, iteration limit 1000; no evaluation limit (MINPACK's
///   `maxfev = 100 (n + 1)` is `with_max_evals`, checked after every trial
///   step as MINPACK does).
///
/// # Example
///
/// ```
/// use hesse::newton::LevenbergMarquardt;
/// use hesse::prelude::*;
/// // Rosenbrock as residuals: r = (10 (x1 − x0²), 1 − x0).
/// let rosen = FnResiduals::new(
///     2,
///     2,
///     |x: &[f64], r: &mut [f64]| {
///         r[0] = 10.0 * (x[1] - x[0] * x[0]);
///         r[1] = 1.0 - x[0];
///     },
///     |x: &[f64], j: &mut nalgebra::DMatrix<f64>| {
///         j[(0, 0)] = -20.0 * x[0];
///         j[(0, 1)] = 10.0;
///         j[(1, 0)] = -1.0;
///         j[(1, 1)] = 0.0;
///     },
/// );
/// let report = LevenbergMarquardt::default().minimize(&rosen, &[-1.2, 1.0]).unwrap();
/// assert!(report.converged());
/// assert!((report.x[0] - 1.0).abs() < 1e-10 && (report.x[1] - 1.0).abs() < 1e-10);
/// assert_eq!(report.method, "lm");
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LevenbergMarquardt {
    options: RunOptions,
    /// MINPACK `ftol`: relative reduction of `‖r‖²`.
    #[serde(alias = "ftol", with = "crate::solver::float_serde")]
    minpack_ftol: f64,
    /// MINPACK `xtol`: relative change of `D x`.
    #[serde(alias = "xtol", with = "crate::solver::float_serde")]
    minpack_xtol: f64,
    /// MINPACK `gtol`: cosine between `r` and the columns of `J`.
    #[serde(alias = "gtol", with = "crate::solver::float_serde")]
    minpack_gtol: f64,
    /// MINPACK `factor`: `Δ₀ = factor ‖D x₀‖`.
    #[serde(with = "crate::solver::float_serde")]
    factor: f64,
    /// Geodesic acceleration (Transtrum & Sethna 2012): `None` is off, else
    /// the bound `α` on `2‖D a‖ / ‖D v‖`.
    #[serde(default)]
    geodesic: Option<f64>,
    /// MINPACK `mode`: how `D` is chosen.
    #[serde(default)]
    scaling: Scaling,
    /// Largest ratio `‖D s‖ / ‖D s_prev‖` of a rounding-noise Gauss-Newton
    /// step to the last accepted step (0: no such steps, MINPACK's rule).
    #[serde(default = "default_noise_contraction")]
    noise_contraction: f64,
    /// Skip the ftol test at contracting Gauss-Newton steps.
    #[serde(default)]
    defer_ftol: bool,
    /// The robust loss `ρ` (scipy's `loss`).
    #[serde(default)]
    loss: RobustLoss,
    /// The residual scale `C` of the loss (scipy's `f_scale`).
    #[serde(default = "default_f_scale", with = "float_serde")]
    f_scale: f64,
    /// The box `l ≤ x ≤ u`, if any.
    #[serde(default)]
    bounds: Option<Bounds>,
    /// Why the bounds given to [`with_bounds`](Self::with_bounds) are not a
    /// box: reported by `minimize`.
    #[serde(skip)]
    bounds_error: Option<Error>,
    /// The iteration's state (checkpointed).
    iter: IterState,
    #[serde(skip)]
    work: Work,
}

/// What a checkpoint must hold for a resumed run to repeat an uninterrupted
/// one bit for bit: the trust region, `λ`, `D`, and `r`, `J` at `x_k` (the QR
/// is recomputed from `J` on resume, which is deterministic and costs no
/// evaluation).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct IterState {
    /// The step bound `Δ`.
    #[serde(with = "float_serde")]
    delta: f64,
    /// The LM parameter `λ` (MINPACK's `par`), the start of the next `lmpar`.
    #[serde(with = "float_serde")]
    lambda: f64,
    /// The scaling `d_j` (running maximum of column norms).
    #[serde(with = "float_serde::vec")]
    diag: Vec<f64>,
    /// `sqrt(F(x_k))`, `F = C² Σ ρ((rᵢ/C)²)` the objective: `‖r(x_k)‖₂` for
    /// the linear loss.
    #[serde(with = "float_serde")]
    rnorm: f64,
    /// `‖D x_k‖₂`.
    #[serde(with = "float_serde")]
    xnorm: f64,
    /// No step accepted yet (MINPACK's `iter = 1`): `Δ` is then also capped
    /// by the length of each trial step.
    first: bool,
    /// `‖D s‖` of the last accepted step (∞ before the first).
    #[serde(with = "float_serde")]
    last_pnorm: f64,
    /// A convergence test passed at the step just accepted; reported by the
    /// next call so that the accepted step counts as an iteration.
    pending: Option<Termination>,
    /// Why `pending` was set, for the state's note.
    pending_note: Option<String>,
    /// `r(x_k)`.
    #[serde(with = "float_serde::vec")]
    r: Vec<f64>,
    /// `J(x_k)`, `m × n` column-major; under a robust loss the rescaled
    /// `J̃` (rows times `wᵢ`, see [`RobustLoss`]).
    #[serde(with = "float_serde::vec")]
    jac: Vec<f64>,
}

/// Scratch sized once per run (not checkpointed).
#[derive(Debug, Default)]
struct Work {
    m: usize,
    n: usize,
    /// `J` as the problem writes it.
    jac: DMatrix<f64>,
    /// `J P = Q R` of `J` (of `J̃` under a robust loss; binding columns
    /// zeroed under bounds).
    qr: Qr,
    /// The first `n` entries of `Qᵀ r` (MINPACK's `qtf`).
    qtf: Vec<f64>,
    /// `Qᵀ r`, all `m` entries.
    qtr: Vec<f64>,
    /// The `lmpar` solution `p` with `J p ≅ r` (the step is `−p`).
    p: Vec<f64>,
    step: Vec<f64>,
    x_trial: Vec<f64>,
    r_trial: Vec<f64>,
    lmpar: LmparWork,
    /// `R Pᵀ step`, for the predicted reduction.
    rp: Vec<f64>,
    /// `D step`.
    dstep: Vec<f64>,
    /// Geodesic acceleration: `r(x + h v)`, then the second directional
    /// derivative `r_vv`, then `Qᵀ r_vv` (`m` entries each).
    r_h: Vec<f64>,
    /// `J v`, `m` entries.
    jv: Vec<f64>,
    /// The acceleration `a` (`n`).
    accel: Vec<f64>,
    /// The rescaled residuals `r̃` under a robust loss (`m`).
    r_scaled: Vec<f64>,
    /// Bounds: which variables are held at their bound this iteration.
    binding: Vec<bool>,
    /// Some variable is binding: `J` was factored with those columns zeroed.
    any_binding: bool,
    /// `J` with the binding columns zeroed (`m × n`, sized on first use).
    jac_free: Vec<f64>,
    /// Column norms of the whole `J` (when `any_binding`).
    full_col_norms: Vec<f64>,
}

impl Clone for Work {
    /// Scratch is not state: a clone starts with none and sizes it on use.
    fn clone(&self) -> Self {
        Work::default()
    }
}

impl Work {
    fn new(m: usize, n: usize) -> Self {
        Work {
            m,
            n,
            jac: DMatrix::zeros(m, n),
            qr: Qr::with_shape(m, n),
            qtf: vec![0.0; n],
            qtr: vec![0.0; m],
            p: vec![0.0; n],
            step: vec![0.0; n],
            x_trial: vec![0.0; n],
            r_trial: vec![0.0; m],
            lmpar: LmparWork::new(n),
            rp: vec![0.0; n],
            dstep: vec![0.0; n],
            r_h: vec![0.0; m],
            jv: vec![0.0; m],
            accel: vec![0.0; n],
            r_scaled: Vec::new(),
            binding: vec![false; n],
            any_binding: false,
            jac_free: Vec::new(),
            full_col_norms: vec![0.0; n],
        }
    }
}

impl Default for LevenbergMarquardt {
    fn default() -> Self {
        LevenbergMarquardt {
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
            factor: 100.0,
            geodesic: None,
            scaling: Scaling::ColumnNorms,
            noise_contraction: default_noise_contraction(),
            defer_ftol: false,
            loss: RobustLoss::Linear,
            f_scale: 1.0,
            bounds: None,
            bounds_error: None,
            iter: IterState::default(),
            work: Work::default(),
        }
    }
}

/// A fit: the run's report and the statistics at its final point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fit {
    /// The run.
    pub report: Report,
    /// Standard errors, covariance and residual sum of squares at `report.x`.
    pub statistics: FitStatistics,
}

/// How [`LevenbergMarquardt`] chooses the scaling `D` of its trust region
/// `‖D p‖ ≤ Δ` (MINPACK `lmder`'s `mode` and `diag`; Moré 1978 §6).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub enum Scaling {
    /// `lmder`'s `mode = 1` (the default): `d_j` is the largest norm of
    /// column `j` of `J` seen so far (1 for a column that has been zero).
    /// Invariant under diagonal scaling of `x`; but a column norm that was
    /// huge far from the solution keeps `d_j` huge, and then steps in `x_j`
    /// stay short (Chebyquad and Box three-dimensional from the 10× start).
    #[default]
    ColumnNorms,
    /// `D = I`: Levenberg's (1944) damping `λI` and a trust region in the
    /// plain Euclidean norm, like scipy's `least_squares(method='trf')` with
    /// its default `x_scale = 1`. Not scale invariant: use it when the
    /// parameters have comparable units. With `with_step_bound(0.1)` it
    /// solves more of the MGH problems from far starts than
    /// [`Scaling::ColumnNorms`]: 33, 30, 27 of 35 from the 1×, 10×, 100×
    /// starts against 33, 25, 24 (scipy's `trf`: 33, 27, 26; see
    /// `tests/mgh_lm.rs`). On the 38 lower- and average-difficulty NIST
    /// StRD runs of `tests/nist.rs`, whose parameters differ in magnitude by
    /// up to 5·10⁸ (Nelson), it reaches 6.7 digits or more on every run, with
    /// 55% more residual evaluations (2048 against 1321; 1779 with
    /// `with_step_bound(0.1)`); on the 16 higher-difficulty runs it gets 0
    /// digits on MGH10 from Start 1 (parameters from 5.6·10⁻³ to 6.2·10³),
    /// with or without `with_step_bound(0.1)`.
    Identity,
    /// `lmder`'s `mode = 2`: a fixed `D` given by the caller, one finite,
    /// positive entry per parameter (the parameters' reciprocal typical
    /// magnitudes, say); a wrong length or entry is an error at `minimize`.
    Diagonal(Vec<f64>),
}

impl LevenbergMarquardt {
    /// MINPACK's `ftol`: stop when both the actual and the predicted relative
    /// reductions of `‖r‖²` in a step are at most `ftol` (`info = 1`). Default
    /// `1e-15`; values below `ε` act as `ε`. (The driver's `with_ftol` is the
    /// relative change of `f` between iterates, as in every minimizer.)
    #[must_use]
    pub fn with_minpack_ftol(mut self, ftol: f64) -> Self {
        self.minpack_ftol = ftol;
        self
    }

    /// MINPACK's `xtol`: stop when the step bound is at most `xtol ‖D x‖`, i.e.
    /// the relative error in `D x` is at most `xtol` (`info = 2`). Default
    /// `1e-15`; values below `ε` act as `ε`. (The driver's `with_xtol` is the
    /// relative step `‖Δx‖∞ / ‖x‖∞`, as in every minimizer.)
    #[must_use]
    pub fn with_minpack_xtol(mut self, xtol: f64) -> Self {
        self.minpack_xtol = xtol;
        self
    }

    /// MINPACK's `gtol`: stop when `|J_jᵀ r| ≤ gtol ‖J_j‖ ‖r‖` for every
    /// column `j` (`info = 4`), the cosine of `r` with every column of `J`.
    /// Default `0` (as `lmder1`; it still fires at a zero residual or an
    /// exactly orthogonal one). (The driver's `with_gtol` is `‖g‖∞ ≤ gtol`
    /// on `g = 2Jᵀr`, as in every minimizer.)
    #[must_use]
    pub fn with_minpack_gtol(mut self, gtol: f64) -> Self {
        self.minpack_gtol = gtol;
        self
    }

    /// MINPACK's three tests at once: [`with_minpack_ftol`](Self::with_minpack_ftol),
    /// [`with_minpack_xtol`](Self::with_minpack_xtol) and
    /// [`with_minpack_gtol`](Self::with_minpack_gtol); `lmder1`'s choice is
    /// `(tol, tol, 0)`, scipy `least_squares`'s `ftol`, `xtol`, `gtol`.
    ///
    /// ```
    /// use hesse::newton::LevenbergMarquardt;
    /// let lm = LevenbergMarquardt::default().with_minpack_tolerances(1e-8, 1e-8, 0.0);
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

    /// MINPACK's `factor`: the initial step bound is `factor ‖D x₀‖`, or
    /// `factor` itself if that is 0. Default `100` (MINPACK's recommendation;
    /// smaller values, 0.1 to 1, help when the first steps go too far).
    #[must_use]
    pub fn with_step_bound(mut self, factor: f64) -> Self {
        self.factor = factor;
        self
    }

    /// The scaling `D` of the trust region (MINPACK's `mode`): see
    /// [`Scaling`]. Default [`Scaling::ColumnNorms`], `lmder`'s `mode = 1`.
    #[must_use]
    pub fn with_scaling(mut self, scaling: Scaling) -> Self {
        self.scaling = scaling;
        self
    }

    /// Geodesic acceleration (Transtrum & Sethna 2012, "Improvements to the
    /// Levenberg-Marquardt algorithm for nonlinear least-squares
    /// minimization", arXiv:1201.5885, §4): to the LM step `v` (the
    /// "velocity") add `½ a`, where `a` solves the same damped system with
    /// the second directional derivative `r_vv = ∂²r/∂t² (x + t v)` in place
    /// of `r`,
    ///
    /// ```text
    /// (JᵀJ + λ DᵀD) a = −Jᵀ r_vv,   r_vv ≈ (2/h) ((r(x + h v) − r(x))/h − J v),  h = 0.1,
    /// ```
    ///
    /// (their eq. 15 and the finite difference of §4.1, one more residual
    /// evaluation per trial step), and keep the acceleration only when
    /// `2‖D a‖ / ‖D v‖ ≤ alpha` (their §4.2, `alpha = 0.75` recommended;
    /// otherwise the plain step `v` is tried, where the paper rejects the
    /// trial). The trust-region update and the predicted reduction are those
    /// of `v`, as in the paper. It follows curved valleys in fewer steps; the
    /// default is off (`None`), MINPACK's method. `Some(alpha)` with
    /// `alpha ≤ 0` or not finite is an error at `minimize`.
    ///
    /// Measured on the 35 MGH problems from the 1×, 10×, 100× starts
    /// (`cargo run --release --example mgh_lm 1000`, 1000 iterations): solved
    /// 33, 24, 23 without and 33, 25, 24 with `alpha = 0.75` (Meyer at 10×
    /// and Gaussian at 100× need 1482 and 1594 Jacobians without it, 69 and
    /// 121 with it), with 15–47% fewer Jacobians and 11–68% more residual
    /// evaluations in total. Under the MGH protocol's 20000 iterations
    /// (`tests/mgh_lm.rs`) both solve 33, 25, 24.
    #[must_use]
    pub fn with_geodesic_acceleration(mut self, alpha: Option<f64>) -> Self {
        self.geodesic = alpha;
        self
    }

    /// Rounding-noise Gauss-Newton steps (a deviation from `lmder`, see the
    /// [module docs](crate::newton::levenberg_marquardt)): near a minimizer
    /// where the relative changes of `‖r‖²`, actual and predicted, are both
    /// below `10⁻¹⁰`, the ratio `ρ` is rounding noise; a Gauss-Newton step
    /// (`λ = 0`) is then taken regardless of `ρ` when `‖D s‖ ≤ contraction ·
    /// ‖D s_prev‖`, `s_prev` the last accepted step. Default `0.75`; `0`
    /// turns these steps off (MINPACK's acceptance rule `ρ ≥ 10⁻⁴` alone).
    /// `contraction` must lie in `[0, 1)` (the steps then form a convergent
    /// geometric series), else an error at `minimize`.
    ///
    /// Measured on the 54 NIST StRD runs of `tests/nist.rs`: `0.5` leaves
    /// Thurber at 8.0 and 7.6 digits (its Gauss-Newton steps contract by
    /// 0.67), `0.75` reaches 9.1 and 10.4 and changes no other run's digits
    /// but MGH09 Start 2 (9.0 to 10.5, 37 to 50 residual evaluations) and
    /// ENSO Start 2 (6.5 to 6.7); `0.9` gives the same digits as `0.75`.
    #[must_use]
    pub fn with_noise_steps(mut self, contraction: f64) -> Self {
        self.noise_contraction = contraction;
        self
    }

    /// Deferred `ftol` test (a deviation from `lmder`, off by default): with
    /// `true`, MINPACK's `ftol` test (`info = 1`) does not end the run at an
    /// accepted Gauss-Newton step (`λ = 0`) that is at most the
    /// [noise-step](Self::with_noise_steps) contraction times the previous
    /// accepted step, because `x` is then still converging. The `ftol` test
    /// bounds the relative reduction of `‖r‖²`, which is second order in the
    /// remaining error of `x`: it can pass with poorly determined parameters
    /// correct to only about `sqrt(ftol)` relative. The run then ends at the
    /// first step that does not contract (by `ftol` or `xtol`); it cannot
    /// loop, since contracting steps shrink `Δ = 2‖D s‖` to `xtol ‖D x‖`.
    ///
    /// Measured on the 54 NIST StRD runs (`tests/nist.rs`): the worst
    /// parameter LRE rises from 6.6 to 7.1 (ENSO Start 1: 6.6 to 10.6;
    /// Nelson Start 2: 8.3 to 10.9; Rat43 Start 2: 8.4 to 11) for 3% more
    /// residual evaluations in total (3556 to 3677), but up to 80% more on
    /// short runs (Rat43 Start 2: 12 to 22).
    #[must_use]
    pub fn with_deferred_ftol(mut self, defer: bool) -> Self {
        self.defer_ftol = defer;
        self
    }

    /// A robust loss (scipy `least_squares`'s `loss`): minimize
    /// `F(x) = C² Σ ρ((rᵢ(x)/C)²)` with `C` the [`f_scale`](Self::with_f_scale)
    /// instead of `Σ rᵢ²`, each step solving the least-squares model in the
    /// rescaled residuals and Jacobian of Triggs et al. (2000), see
    /// [`RobustLoss`]. The trust region, `λ`, the ratio test and MINPACK's
    /// convergence tests are unchanged, with `‖r‖²` read as `F` and `r`, `J`
    /// as `r̃`, `J̃` (the `gtol` test: cosines of `r̃` with the columns of
    /// `J̃`). The report's `f` is `F` and its gradient `∇F = 2 J̃ᵀ r̃`.
    /// Default [`RobustLoss::Linear`], which is MINPACK's method bit for bit.
    /// Not available with [geodesic
    /// acceleration](Self::with_geodesic_acceleration) (an error at
    /// `minimize`).
    ///
    /// ```
    /// use hesse::newton::{LevenbergMarquardt, RobustLoss};
    /// use hesse::problem::FnResiduals;
    /// // A constant c fitted to 1, 1.1, 0.9, 1.05 and a gross outlier 50.
    /// let y = [1.0, 1.1, 0.9, 1.05, 50.0];
    /// let p = FnResiduals::new(
    ///     1,
    ///     5,
    ///     move |x: &[f64], r: &mut [f64]| {
    ///         for i in 0..5 { r[i] = x[0] - y[i]; }
    ///     },
    ///     |_: &[f64], j: &mut nalgebra::DMatrix<f64>| j.fill(1.0),
    /// );
    /// let plain = LevenbergMarquardt::default().minimize(&p, &[0.0]).unwrap();
    /// assert!((plain.x[0] - 10.81).abs() < 1e-9); // the mean
    /// let robust = LevenbergMarquardt::default()
    ///     .with_loss(RobustLoss::Cauchy)
    ///     .with_f_scale(0.1)
    ///     .minimize(&p, &[0.0])
    ///     .unwrap();
    /// assert!((robust.x[0] - 1.0).abs() < 0.1);
    /// ```
    #[must_use]
    pub fn with_loss(mut self, loss: RobustLoss) -> Self {
        self.loss = loss;
        self
    }

    /// The scale `C` of the [robust loss](Self::with_loss) (scipy's
    /// `f_scale`): residuals well below `C` count as in least squares, those
    /// above it are down-weighted. Default `1`; must be positive and finite.
    #[must_use]
    pub fn with_f_scale(mut self, f_scale: f64) -> Self {
        self.f_scale = f_scale;
        self
    }

    /// Bounds `lower ≤ x ≤ upper` (either side may be infinite; `lᵢ = uᵢ`
    /// fixes a variable): a projected Levenberg-Marquardt method that keeps
    /// every point at which the residuals or the Jacobian are evaluated in
    /// the box. The pair is checked as [`Bounds::new`] does, the error (which
    /// names the variable) returned by `minimize`, as is a box of the wrong
    /// dimension; a start outside the box is projected onto it.
    ///
    /// The method (Kanzow, Yamashita & Fukushima 2004, "Levenberg–Marquardt
    /// methods with strong local convergence properties for solving
    /// nonlinear equations with convex constraints", *J. Comput. Appl.
    /// Math.* 172, 375–397: the LM step projected onto the box, `x₊ =
    /// P(x + p)`) inside MINPACK's trust region, with the binding variables
    /// of Bertsekas (1982, "Projected Newton methods for optimization
    /// problems with simple constraints", *SIAM J. Control Optim.* 20,
    /// 221–246) held fixed: a variable at a bound whose gradient component
    /// `∂F/∂xⱼ` points out of the box has its column of `J` zeroed before the
    /// QR, so the step on the others is the LM step of the problem restricted
    /// to them (and a Gauss-Newton step when `λ = 0`, which keeps MINPACK's
    /// fast local convergence at a solution with active bounds). When the
    /// projection cuts the step, the predicted reduction is that of the step
    /// actually taken, `‖r̃‖² − ‖r̃ + J̃ s‖²`, and a step predicted not to
    /// reduce `F` is rejected (the region shrinks toward the projected
    /// steepest descent direction, which does reduce `F` unless `x` is
    /// stationary). MINPACK's `gtol` test looks only at the free columns; the
    /// driver measures the report's `grad_norm` (and its `with_gtol` test)
    /// on the projected gradient `‖P(x − g) − x‖∞`, and reports the active
    /// bounds and whether the start was projected. With
    /// every bound infinite nothing is ever projected or held, and the
    /// method is MINPACK's bit for bit. Not available with [geodesic
    /// acceleration](Self::with_geodesic_acceleration) (an error at
    /// `minimize`).
    ///
    /// ```
    /// use hesse::newton::LevenbergMarquardt;
    /// use hesse::problem::FnResiduals;
    /// // Rosenbrock with x1 ≤ 0.5: the minimizer is on the bound.
    /// let rosen = FnResiduals::new(
    ///     2,
    ///     2,
    ///     |x: &[f64], r: &mut [f64]| {
    ///         r[0] = 10.0 * (x[1] - x[0] * x[0]);
    ///         r[1] = 1.0 - x[0];
    ///     },
    ///     |x: &[f64], j: &mut nalgebra::DMatrix<f64>| {
    ///         j[(0, 0)] = -20.0 * x[0];
    ///         j[(0, 1)] = 10.0;
    ///         j[(1, 0)] = -1.0;
    ///         j[(1, 1)] = 0.0;
    ///     },
    /// );
    /// let report = LevenbergMarquardt::default()
    ///     .with_bounds(vec![f64::NEG_INFINITY; 2], vec![f64::INFINITY, 0.5])
    ///     .minimize(&rosen, &[-1.2, 1.0])
    ///     .unwrap();
    /// assert!(report.converged());
    /// assert_eq!(report.x[1], 0.5);
    /// // 200 x0 (x0² − 0.5) = 1 − x0 on the bound x1 = 0.5.
    /// assert!((report.x[0] - 0.7085595037617708).abs() < 1e-12);
    /// ```
    #[must_use]
    pub fn with_bounds(mut self, lower: Vec<f64>, upper: Vec<f64>) -> Self {
        match Bounds::new(lower, upper) {
            Ok(b) => {
                self.bounds = Some(b);
                self.bounds_error = None;
            }
            Err(e) => {
                self.bounds = None;
                self.bounds_error = Some(e);
            }
        }
        self
    }

    /// The bounds given to [`with_bounds`](Self::with_bounds) (`None` also
    /// when they were not a box).
    pub fn bounds(&self) -> Option<&Bounds> {
        self.bounds.as_ref()
    }

    /// The robust loss and its scale `C`.
    pub fn loss(&self) -> (RobustLoss, f64) {
        (self.loss, self.f_scale)
    }

    /// Runs to the end from `x0`.
    pub fn minimize<P: Residuals + ?Sized>(
        &self,
        problem: &P,
        x0: &[f64],
    ) -> Result<Report, Error> {
        crate::solver::minimize(self.clone(), problem, x0)
    }

    /// Runs to the end from `x0`, then computes [`fit_statistics`] at the
    /// final point (one more residual and Jacobian evaluation, not counted in
    /// the report). Under a [robust loss](Self::with_loss) the statistics are
    /// [`fit_statistics_with_loss`]'s: what scipy's `curve_fit(loss=...)`
    /// reports.
    pub fn fit<P: Residuals + ?Sized>(&self, problem: &P, x0: &[f64]) -> Result<Fit, Error> {
        let report = self.minimize(problem, x0)?;
        let statistics = fit_statistics_with_loss(problem, &report.x, self.loss, self.f_scale)?;
        Ok(Fit { report, statistics })
    }

    fn validate(&self) -> Result<(), Error> {
        if let Some(e) = &self.bounds_error {
            return Err(e.clone());
        }
        check_nonneg("minpack_ftol", self.minpack_ftol)?;
        check_nonneg("minpack_xtol", self.minpack_xtol)?;
        check_nonneg("minpack_gtol", self.minpack_gtol)?;
        check_positive("step_bound", self.factor)?;
        if let Some(alpha) = self.geodesic {
            check_positive("geodesic acceleration alpha", alpha)?;
        }
        check_positive("f_scale", self.f_scale)?;
        if self.geodesic.is_some() && (self.bounds.is_some() || self.loss != RobustLoss::Linear) {
            return Err(Error::InvalidProblem(
                "geodesic acceleration is not available with bounds or a robust loss".into(),
            ));
        }
        let q = check_nonneg("noise step contraction", self.noise_contraction)?;
        if q >= 1.0 {
            return Err(Error::invalid_option(
                "noise step contraction",
                q,
                "must be < 1 (noise steps must contract)",
            ));
        }
        Ok(())
    }
}

run_options!(LevenbergMarquardt);

impl<P: Residuals> Minimizer<P> for LevenbergMarquardt {
    fn name(&self) -> &'static str {
        "lm"
    }

    fn check_resume(&self, problem: &Counted<P>) -> Result<(), Error> {
        let (m, n) = (problem.num_residuals(), problem.num_params());
        crate::solver::check_saved("the checkpoint's residual vector", self.iter.r.len(), m)?;
        crate::solver::check_saved("the checkpoint's Jacobian", self.iter.jac.len(), m * n)?;
        crate::solver::check_saved("the checkpoint's scaling diagonal", self.iter.diag.len(), n)
    }

    fn options(&self) -> &RunOptions {
        &self.options
    }

    fn dim(&self, problem: &Counted<P>) -> usize {
        problem.num_params()
    }

    fn init(&mut self, problem: &Counted<P>, state: &mut State) -> Result<(), Error> {
        self.validate()?;
        let n = state.x.len();
        let m = problem.num_residuals();
        if m < n {
            return Err(Error::InvalidProblem(format!(
                "Levenberg-Marquardt needs at least as many residuals as parameters: \
                 the problem has m = {m} residuals and n = {n} parameters"
            )));
        }
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
        // J, its QR factor, the saved J and J with binding columns zeroed.
        crate::solver::check_dense(
            "Levenberg-Marquardt",
            &format!("four dense m × n matrices at m = {m}, n = {n}"),
            m.checked_mul(n).and_then(|k| k.checked_mul(4)),
            ": use SparseLevenbergMarquardt",
        )?;
        self.work = Work::new(m, n);
        self.iter = IterState {
            delta: f64::NAN,
            lambda: 0.0,
            diag: vec![0.0; n],
            rnorm: f64::NAN,
            xnorm: f64::NAN,
            first: true,
            last_pnorm: f64::INFINITY,
            pending: None,
            pending_note: None,
            r: vec![0.0; m],
            jac: vec![0.0; m * n],
        };
        problem.residuals(&state.x, &mut self.iter.r);
        state.f = self.loss.objective(&self.iter.r, self.f_scale);
        self.iter.rnorm = if self.loss == RobustLoss::Linear {
            enorm(&self.iter.r)
        } else {
            state.f.sqrt()
        };
        if !self.iter.rnorm.is_finite() || !state.f.is_finite() {
            // The driver ends the run with NonFiniteValue.
            state.f = f64::NAN;
            state.g.iter_mut().for_each(|g| *g = f64::NAN);
            return Ok(());
        }
        let Some(gnorm) = self.jacobian_at(problem, state) else {
            return Ok(());
        };
        // Moré §6: D₀ = column norms of J₀ (1 for a zero column), or the
        // caller's fixed D (MINPACK mode = 2).
        match &self.scaling {
            Scaling::ColumnNorms => {
                let norms = self.col_norms().to_vec();
                for (d, &c) in self.iter.diag.iter_mut().zip(&norms) {
                    *d = if c == 0.0 { 1.0 } else { c };
                }
            }
            Scaling::Identity => self.iter.diag.iter_mut().for_each(|d| *d = 1.0),
            Scaling::Diagonal(fixed) => self.iter.diag.copy_from_slice(fixed),
        }
        self.iter.xnorm = scaled_norm(&self.iter.diag, &state.x);
        self.iter.delta = if self.iter.xnorm == 0.0 {
            self.factor
        } else {
            self.factor * self.iter.xnorm
        };
        if gnorm <= self.minpack_gtol.max(f64::EPSILON) {
            self.iter.pending = Some(Termination::GradientTolerance);
        }
        Ok(())
    }

    /// Trial steps from `x_k` (one residual evaluation each, see `step.rs`)
    /// until one is accepted (then `J` at the new point, and `None`) or a
    /// test ends the run.
    fn next_iter(&mut self, problem: &Counted<P>, state: &mut State) -> Option<Termination> {
        if let Some(t) = self.iter.pending.take() {
            state.note = self.iter.pending_note.take();
            return Some(t);
        }
        let n = state.x.len();
        let m = problem.num_residuals();
        if self.work.n != n || self.work.m != m {
            // Resumed from a checkpoint: rebuild the scratch and the QR of the
            // stored Jacobian (no evaluation).
            self.work = Work::new(m, n);
            self.scale_residuals();
            if self.factor_jacobian(&state.x, &state.g).is_none() {
                return Some(Termination::NonFiniteValue);
            }
        }
        let mut all_trials_non_finite = true;
        loop {
            let trial = match self.trial_step(problem, state) {
                Ok(trial) => trial,
                Err(t) => return Some(t),
            };
            all_trials_non_finite &= !trial.finite;
            self.update_bound(&trial);
            let (accepted, contracting) = self.acceptance(&trial);
            if accepted {
                self.take_step(state, &trial);
            }
            let converged = self.minpack_tests(&trial, contracting);
            if accepted {
                self.after_accepted(problem, state, converged);
                return None;
            }
            if let Some(t) = self.after_rejected(problem, state, converged, all_trials_non_finite) {
                return Some(t);
            }
        }
    }

    fn bounds(&self) -> Option<&Bounds> {
        self.bounds.as_ref()
    }
}

/// The default of [`LevenbergMarquardt::with_f_scale`] (scipy's).
fn default_f_scale() -> f64 {
    1.0
}

/// The default of [`LevenbergMarquardt::with_noise_steps`].
fn default_noise_contraction() -> f64 {
    0.75
}

/// Relative changes of `‖r‖²` below this are treated as possibly rounding
/// noise when deciding on a contracting Gauss-Newton step (see `next_iter`).
const NOISE: f64 = 1e-10;

// ---------------------------------------------------------------------------
// Norms
// ---------------------------------------------------------------------------

/// `‖v‖₂` without overflow or destructive underflow (scaled by the largest
/// magnitude, as MINPACK's `enorm` intends); NaN if any entry is NaN. The
/// same computation as [`Qr::col_norms`], whose norms make `D`.
fn enorm(v: &[f64]) -> f64 {
    // The plain sum is the accurate one whenever it neither overflowed nor
    // lost digits to underflow.
    let plain = sum_of_squares(v);
    if plain.is_finite() && plain > 1e-280 {
        return plain.sqrt();
    }
    let big = inf_norm(v);
    if big == 0.0 || !big.is_finite() {
        return big;
    }
    let s: f64 = v.iter().map(|x| (x / big) * (x / big)).sum();
    big * s.sqrt()
}

/// `‖D x‖₂`.
fn scaled_norm(diag: &[f64], x: &[f64]) -> f64 {
    let big = diag
        .iter()
        .zip(x)
        .fold(0.0f64, |m, (d, x)| m.max((d * x).abs()));
    if big == 0.0 || !big.is_finite() {
        return big;
    }
    let s: f64 = diag
        .iter()
        .zip(x)
        .map(|(d, x)| (d * x / big) * (d * x / big))
        .sum();
    big * s.sqrt()
}

/// `Σ vᵢ²`, NaN-propagating.
fn sum_of_squares(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enorm_neither_overflows_nor_underflows() {
        assert!((enorm(&[3e200, 4e200]) / 5e200 - 1.0).abs() < 1e-15);
        assert_eq!(enorm(&[3.0, 4.0]), 5.0);
        assert!((enorm(&[3e-200, 4e-200]) - 5e-200).abs() < 1e-214);
        assert!(enorm(&[1.0, f64::NAN]).is_nan());
        assert_eq!(enorm(&[]), 0.0);
    }
}
