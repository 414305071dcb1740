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
//! | MINPACK | test | [`Termination`] |
//! |---|---|---|
//! | `info = 1` | actual and predicted relative reductions of `‖r‖²` both `≤ ftol`, and `ρ ≤ 2` | `FunctionTolerance` |
//! | `info = 2` | `Δ ≤ xtol · ‖D x‖` (relative error in `x` at most `xtol`) | `StepTolerance` |
//! | `info = 3` | both of the above | `FunctionTolerance` (the note says `info = 3`) |
//! | `info = 4` | `max_j |J_jᵀ r| / (‖J_j‖ ‖r‖) ≤ gtol` (cosine of `r` with every column) | `GradientTolerance` |
//! | `info = 5` | evaluation limit | `MaxEvaluations` / `MaxIterations` (driver limits) |
//! | `info = 6, 7, 8` | the tests above with `ε` for the tolerance | as 1, 2, 4: tolerances below `ε` act as `ε` |
//!
//! The driver's own tests ([`Stop`]) also run, on
//! `f = ‖r‖²` and `g = 2 Jᵀ r`; [`LevenbergMarquardt::default`] turns its
//! gradient test off (`g_abs = 0`), because an absolute test on `‖2Jᵀr‖∞` is
//! not scale invariant (on NIST's Lanczos1, with `‖r‖ ≈ 10⁻¹³`, any useful
//! threshold ends the run before the parameters have 6 digits).
//!
//! # Deviations from `lmder`
//!
//! - The pivoted QR is faer's (pivoting on the largest remaining column norm,
//!   as MINPACK's `qrfac`), not `qrfac` itself; pivot orders can differ on
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

use faer::dyn_stack::{MemBuffer, MemStack, StackReq};
use faer::linalg::householder::{
    apply_block_householder_sequence_transpose_on_the_left_in_place_scratch,
    apply_block_householder_sequence_transpose_on_the_left_in_place_with_conj,
};
use faer::linalg::qr::col_pivoting::factor::{qr_in_place, qr_in_place_scratch};
use faer::linalg::qr::no_pivoting::factor::recommended_block_size;
use faer::{Conj, MatMut, MatRef, Par};
use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};

use crate::problem::{Counted, Residuals};
use crate::solver::{
    Error, Minimizer, Report, RunOptions, State, Stop, Termination, check_nonneg, check_positive,
    float_serde, inf_norm,
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
/// - `ftol = xtol = 1e-15`, `gtol = 0`. MINPACK's `lmder1` uses
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
/// - Iteration limit 1000 (the driver's); no evaluation limit (MINPACK's
///   `maxfev = 100 (n + 1)` is `with_max_evals`).
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
    #[serde(with = "crate::solver::float_serde")]
    ftol: f64,
    /// MINPACK `xtol`: relative change of `D x`.
    #[serde(with = "crate::solver::float_serde")]
    xtol: f64,
    /// MINPACK `gtol`: cosine between `r` and the columns of `J`.
    #[serde(with = "crate::solver::float_serde")]
    gtol: f64,
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
    /// `‖r(x_k)‖₂`.
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
    /// `J(x_k)`, `m × n` column-major.
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
    qr: Option<PivotedQr>,
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
            qr: Some(PivotedQr::new(m, n)),
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
            ftol: 1e-15,
            xtol: 1e-15,
            gtol: 0.0,
            factor: 100.0,
            geodesic: None,
            scaling: Scaling::ColumnNorms,
            noise_contraction: default_noise_contraction(),
            defer_ftol: false,
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
    /// `1e-15`; values below `ε` act as `ε`.
    #[must_use]
    pub fn with_ftol(mut self, ftol: f64) -> Self {
        self.ftol = ftol;
        self
    }

    /// MINPACK's `xtol`: stop when the step bound is at most `xtol ‖D x‖`, i.e.
    /// the relative error in `D x` is at most `xtol` (`info = 2`). Default
    /// `1e-15`; values below `ε` act as `ε`.
    #[must_use]
    pub fn with_xtol(mut self, xtol: f64) -> Self {
        self.xtol = xtol;
        self
    }

    /// MINPACK's `gtol`: stop when `|J_jᵀ r| ≤ gtol ‖J_j‖ ‖r‖` for every
    /// column `j` (`info = 4`). Default `0` (as `lmder1`; it still fires at a
    /// zero residual or an exactly orthogonal one).
    #[must_use]
    pub fn with_gtol(mut self, gtol: f64) -> Self {
        self.gtol = gtol;
        self
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

    /// Iteration (Jacobian) limit, default 1000.
    #[must_use]
    pub fn with_max_iter(mut self, max_iter: u64) -> Self {
        self.options.stop.max_iter = max_iter;
        self
    }

    /// Limit on residual plus Jacobian evaluations (default none). Checked
    /// after every trial step, like MINPACK's `maxfev`.
    #[must_use]
    pub fn with_max_evals(mut self, max_evals: u64) -> Self {
        self.options.stop.max_evals = Some(max_evals);
        self
    }

    /// Wall-time limit (default none).
    #[must_use]
    pub fn with_time_limit(mut self, limit: std::time::Duration) -> Self {
        self.options.stop.time_limit = Some(limit);
        self
    }

    /// Replaces the driver's criteria ([`Stop`]: its gradient, `f` and `x`
    /// tests on `f = Σ r²`, `g = 2Jᵀr`, and the limits). The MINPACK tests
    /// (`ftol`, `xtol`, `gtol` above) stay on.
    #[must_use]
    pub fn with_stop(mut self, stop: Stop) -> Self {
        self.options.stop = stop;
        self
    }

    /// Keeps a per-iteration history in the report (default off).
    #[must_use]
    pub fn with_history(mut self, history: bool) -> Self {
        self.options.history = history;
        self
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
    /// the report).
    pub fn fit<P: Residuals + ?Sized>(&self, problem: &P, x0: &[f64]) -> Result<Fit, Error> {
        let report = self.minimize(problem, x0)?;
        let statistics = fit_statistics(problem, &report.x)?;
        Ok(Fit { report, statistics })
    }

    fn validate(&self) -> Result<(), Error> {
        check_nonneg("ftol", self.ftol)?;
        check_nonneg("xtol", self.xtol)?;
        check_nonneg("gtol", self.gtol)?;
        check_positive("step_bound", self.factor)?;
        if let Some(alpha) = self.geodesic {
            check_positive("geodesic acceleration alpha", alpha)?;
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

    /// Factors `J` (in `iter.jac`), forms `Qᵀ r` and the MINPACK `gtol`
    /// measure. Returns `None` when `J` has a non-finite entry.
    fn factor_jacobian(&mut self) -> Option<f64> {
        let (m, n) = (self.work.m, self.work.n);
        if !self.iter.jac.iter().all(|v| v.is_finite()) {
            return None;
        }
        let qr = self.work.qr.get_or_insert_with(|| PivotedQr::new(m, n));
        qr.factor(&self.iter.jac);
        self.work.qtr.copy_from_slice(&self.iter.r);
        qr.apply_qt(&mut self.work.qtr);
        self.work.qtf.copy_from_slice(&self.work.qtr[..n]);
        // gnorm = max_j |(J P)_jᵀ r| / (‖J_j‖ ‖r‖), with (JP)ᵀ r = Rᵀ Qᵀ r.
        let rnorm = self.iter.rnorm;
        let mut gnorm = 0.0f64;
        if rnorm != 0.0 {
            for j in 0..n {
                let l = qr.perm[j];
                if qr.col_norms[l] != 0.0 {
                    let s: f64 = (0..=j)
                        .map(|i| qr.r(i, j) * (self.work.qtf[i] / rnorm))
                        .sum();
                    gnorm = gnorm.max((s / qr.col_norms[l]).abs());
                }
            }
        }
        Some(gnorm)
    }

    /// Evaluates `J` at `state.x`, writes `g = 2Jᵀr`, factors `J`. Returns the
    /// `gtol` measure, or `None` if `J` is not finite (then `g` is NaN and
    /// the driver ends the run).
    fn jacobian_at<P: Residuals>(
        &mut self,
        problem: &Counted<P>,
        state: &mut State,
    ) -> Option<f64> {
        let (m, n) = (self.work.m, self.work.n);
        problem.jacobian(&state.x, &mut self.work.jac);
        self.iter.jac.copy_from_slice(self.work.jac.as_slice());
        for (j, gj) in state.g.iter_mut().enumerate() {
            let col = &self.iter.jac[j * m..(j + 1) * m];
            *gj = 2.0
                * col
                    .iter()
                    .zip(&self.iter.r)
                    .map(|(a, b)| a * b)
                    .sum::<f64>();
        }
        debug_assert_eq!(state.g.len(), n);
        let gnorm = self.factor_jacobian();
        if gnorm.is_none() {
            state.g.iter_mut().for_each(|g| *g = f64::NAN);
        }
        gnorm
    }
}

impl<P: Residuals> Minimizer<P> for LevenbergMarquardt {
    fn name(&self) -> &'static str {
        "lm"
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
        self.iter.rnorm = enorm(&self.iter.r);
        state.f = sum_of_squares(&self.iter.r);
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
        let qr = self.work.qr.as_ref().expect("sized above");
        match &self.scaling {
            Scaling::ColumnNorms => {
                for (d, &c) in self.iter.diag.iter_mut().zip(&qr.col_norms) {
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
        if gnorm <= self.gtol.max(f64::EPSILON) {
            self.iter.pending = Some(Termination::GradientTolerance);
        }
        Ok(())
    }

    fn next_iter(&mut self, problem: &Counted<P>, state: &mut State) -> Option<Termination> {
        if let Some(t) = self.iter.pending.take() {
            state.note = self.iter.pending_note.take();
            return Some(t);
        }
        let n = state.x.len();
        let m = problem.num_residuals();
        if self.work.n != n || self.work.m != m || self.work.qr.is_none() {
            // Resumed from a checkpoint: rebuild the scratch and the QR of the
            // stored Jacobian (no evaluation).
            self.work = Work::new(m, n);
            if self.factor_jacobian().is_none() {
                return Some(Termination::NonFiniteValue);
            }
        }
        let ftol = self.ftol.max(f64::EPSILON);
        let xtol = self.xtol.max(f64::EPSILON);
        let mut all_trials_non_finite = true;
        loop {
            let it = &mut self.iter;
            let w = &mut self.work;
            let qr = w.qr.as_ref().expect("sized");
            // Moré §5: λ and p(λ) for the current Δ.
            lm_parameter(
                qr,
                &it.diag,
                &w.qtf,
                it.delta,
                &mut it.lambda,
                &mut w.p,
                &mut w.lmpar,
            );
            if !w.p.iter().all(|v| v.is_finite()) || !it.lambda.is_finite() {
                state.note = Some("the LM step is not finite (λ overflow)".into());
                return Some(Termination::LinearAlgebraFailure);
            }
            for j in 0..n {
                w.step[j] = -w.p[j];
                w.x_trial[j] = state.x[j] + w.step[j];
                w.dstep[j] = it.diag[j] * w.step[j];
            }
            let pnorm = enorm(&w.dstep);
            if it.first {
                it.delta = it.delta.min(pnorm);
            }
            let accelerated = match self.geodesic {
                Some(alpha) if pnorm > 0.0 => geodesic_step(problem, &state.x, it, w, alpha, pnorm),
                _ => false,
            };
            let w = &mut self.work;
            let it = &mut self.iter;
            let qr = w.qr.as_ref().expect("sized");
            problem.residuals(&w.x_trial, &mut w.r_trial);
            let rnorm1 = enorm(&w.r_trial);
            let finite = rnorm1.is_finite();
            all_trials_non_finite &= !finite;
            // Moré (§4): actual and predicted relative reductions of ‖r‖².
            let actred = if finite && 0.1 * rnorm1 < it.rnorm {
                1.0 - (rnorm1 / it.rnorm).powi(2)
            } else {
                -1.0
            };
            for i in 0..n {
                w.rp[i] = 0.0;
            }
            for j in 0..n {
                let s_j = w.step[qr.perm[j]];
                for i in 0..=j {
                    w.rp[i] += qr.r(i, j) * s_j;
                }
            }
            if accelerated {
                // The step taken (for the report); `rp` above is the velocity's.
                for j in 0..n {
                    w.step[j] = w.x_trial[j] - state.x[j];
                }
            }
            let t1 = enorm(&w.rp) / it.rnorm;
            let t2 = it.lambda.sqrt() * pnorm / it.rnorm;
            let prered = t1 * t1 + 2.0 * t2 * t2;
            let dirder = -(t1 * t1 + t2 * t2);
            let ratio = if prered != 0.0 { actred / prered } else { 0.0 };

            let lambda_step = it.lambda;
            // Moré §4: update the step bound Δ (and λ with it).
            if ratio <= 0.25 {
                // μ minimizes the quadratic through the reduction along the
                // step, clamped to [0.1, 0.5].
                let mut mu = if actred >= 0.0 {
                    0.5
                } else {
                    0.5 * dirder / (dirder + 0.5 * actred)
                };
                if !finite || 0.1 * rnorm1 >= it.rnorm || mu.is_nan() || mu < 0.1 {
                    mu = 0.1;
                }
                it.delta = mu * it.delta.min(pnorm / 0.1);
                it.lambda /= mu;
            } else if it.lambda == 0.0 || ratio >= 0.75 {
                it.delta = pnorm / 0.5;
                it.lambda *= 0.5;
            }

            // Near a minimizer whose residuals cancel (y − f(x) with |r| ≪ |y|),
            // ‖r‖² carries rounding noise far above ε and ρ is noise, while the
            // Gauss-Newton step (from exact J and r) is still accurate. Such a
            // step is taken when both reductions are below NOISE and it is at
            // most `noise_contraction` times the last accepted one (so these
            // steps converge).
            let noise_step = finite
                && lambda_step == 0.0
                && prered <= NOISE
                && actred >= -NOISE
                && pnorm <= self.noise_contraction * it.last_pnorm;
            let accepted = ratio >= 1e-4 || noise_step;
            // A Gauss-Newton step that contracts: x is still converging, so
            // with `defer_ftol` the ftol test waits (see `with_deferred_ftol`).
            let contracting = self.defer_ftol
                && accepted
                && lambda_step == 0.0
                && pnorm <= self.noise_contraction * it.last_pnorm;
            if accepted {
                std::mem::swap(&mut state.x, &mut w.x_trial);
                std::mem::swap(&mut it.r, &mut w.r_trial);
                it.xnorm = scaled_norm(&it.diag, &state.x);
                it.rnorm = rnorm1;
                it.first = false;
                it.last_pnorm = pnorm;
            }

            // lmder's convergence tests, made after every trial.
            let f_test =
                actred.abs() <= ftol && prered <= ftol && 0.5 * ratio <= 1.0 && !contracting;
            let x_test = it.delta <= xtol * it.xnorm;
            let converged = match (f_test, x_test) {
                (true, true) => Some((Termination::FunctionTolerance, 3)),
                (true, false) => Some((Termination::FunctionTolerance, 1)),
                (false, true) => Some((Termination::StepTolerance, 2)),
                (false, false) => None,
            };
            let note = converged.and_then(|(_, info)| {
                let tight = match info {
                    1 => self.ftol < f64::EPSILON,
                    2 => self.xtol < f64::EPSILON,
                    _ => self.ftol < f64::EPSILON && self.xtol < f64::EPSILON,
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
            });

            if accepted {
                state.f = sum_of_squares(&self.iter.r);
                state.step_norm = inf_norm(&self.work.step);
                state.alpha = f64::NAN;
                let gnorm = self.jacobian_at(problem, state);
                if let Some(gnorm) = gnorm {
                    // Moré §6: D keeps the largest column norms seen (mode 1;
                    // a fixed D stays).
                    if self.scaling == Scaling::ColumnNorms {
                        let qr = self.work.qr.as_ref().expect("sized");
                        for (d, &c) in self.iter.diag.iter_mut().zip(&qr.col_norms) {
                            *d = d.max(c);
                        }
                    }
                    if let Some((t, _)) = converged {
                        self.iter.pending = Some(t);
                        self.iter.pending_note = note;
                    } else if gnorm <= self.gtol.max(f64::EPSILON) {
                        self.iter.pending = Some(Termination::GradientTolerance);
                        self.iter.pending_note = (self.gtol < f64::EPSILON).then(|| {
                            "MINPACK info = 8: gtol below ε, r is orthogonal to J's columns"
                                .to_string()
                        });
                    }
                }
                return None;
            }
            if let Some((t, _)) = converged {
                if t == Termination::StepTolerance && all_trials_non_finite {
                    state.note = Some(
                        "every trial step since the last accepted point gave non-finite residuals"
                            .into(),
                    );
                    return Some(Termination::NonFiniteValue);
                }
                state.note = note;
                return Some(t);
            }
            if let Some(t) = problem.halted() {
                // A limit reached inside the retries (see `Counted`).
                return Some(t);
            }
            if self.iter.delta.is_nan() || self.iter.delta <= 0.0 {
                // Δ underflowed with ‖D x‖ = 0 and xtol·0 = 0 not reached.
                return Some(Termination::TrustRegionTooSmall);
            }
        }
    }
}

/// Transtrum & Sethna (2012) §4: given the LM step `v` in `w.step` (and
/// `x + v` in `w.x_trial`), computes the acceleration `a` and, when
/// `2‖D a‖/‖D v‖ ≤ alpha` and everything is finite, sets
/// `w.x_trial = x + v + ½ a` and returns `true`. Costs one residual
/// evaluation.
fn geodesic_step<P: Residuals>(
    problem: &Counted<P>,
    x: &[f64],
    it: &IterState,
    w: &mut Work,
    alpha: f64,
    pnorm: f64,
) -> bool {
    const H: f64 = 0.1;
    let (m, n) = (w.m, w.n);
    // r(x + h v).
    for j in 0..n {
        w.accel[j] = x[j] + H * w.step[j];
    }
    problem.residuals(&w.accel, &mut w.r_h);
    // J v.
    w.jv.iter_mut().for_each(|v| *v = 0.0);
    for j in 0..n {
        let vj = w.step[j];
        let col = &it.jac[j * m..(j + 1) * m];
        for (o, &a) in w.jv.iter_mut().zip(col) {
            *o += a * vj;
        }
    }
    // r_vv = (2/h) ((r(x + h v) − r)/h − J v), then Qᵀ r_vv.
    for i in 0..m {
        w.r_h[i] = (2.0 / H) * ((w.r_h[i] - it.r[i]) / H - w.jv[i]);
    }
    if !w.r_h.iter().all(|v| v.is_finite()) {
        return false;
    }
    let qr = w.qr.as_mut().expect("sized");
    qr.apply_qt(&mut w.r_h);
    // [J; √λ D] p_a ≅ [r_vv; 0] gives a = −p_a, as p gives v = −p.
    let qr = w.qr.as_ref().expect("sized");
    let mut pa = std::mem::take(&mut w.accel);
    solve_damped(
        qr,
        &it.diag,
        it.lambda.sqrt(),
        &w.r_h[..n],
        &mut pa,
        &mut w.lmpar,
    );
    let anorm = scaled_norm(&it.diag, &pa);
    let ok = anorm.is_finite() && 2.0 * anorm <= alpha * pnorm;
    if ok {
        for j in 0..n {
            w.x_trial[j] = x[j] + w.step[j] - 0.5 * pa[j];
        }
    }
    w.accel = pa;
    ok
}

/// The default of [`LevenbergMarquardt::with_noise_steps`].
fn default_noise_contraction() -> f64 {
    0.75
}

/// Relative changes of `‖r‖²` below this are treated as possibly rounding
/// noise when deciding on a contracting Gauss-Newton step (see `next_iter`).
const NOISE: f64 = 1e-10;

// ---------------------------------------------------------------------------
// The LM parameter: Moré §5 (MINPACK's lmpar)
// ---------------------------------------------------------------------------

/// Scratch of [`lm_parameter`] and [`solve_damped`].
#[derive(Debug, Default)]
struct LmparWork {
    /// `S`, upper triangular, `n × n` column-major: `[R; √λ Pᵀ D P]` reduced.
    s: Vec<f64>,
    /// The right-hand side rotated with `S`.
    w: Vec<f64>,
    /// The row of `√λ D` being eliminated.
    row: Vec<f64>,
    z: Vec<f64>,
    /// `D p`.
    dp: Vec<f64>,
    q: Vec<f64>,
}

impl LmparWork {
    fn new(n: usize) -> Self {
        LmparWork {
            s: vec![0.0; n * n],
            w: vec![0.0; n],
            row: vec![0.0; n],
            z: vec![0.0; n],
            dp: vec![0.0; n],
            q: vec![0.0; n],
        }
    }
}

/// Moré §5: given `J P = Q R`, `D`, `qtf = (Qᵀ r)[..n]` and `Δ > 0`, finds
/// `λ ≥ 0` and `p` solving `[J; √λ D] p ≅ [r; 0]` such that either `λ = 0` and
/// `‖D p‖ ≤ 1.1 Δ`, or `|‖D p‖ − Δ| ≤ 0.1 Δ` (at most 10 Newton steps on
/// `φ(λ) = ‖D p(λ)‖ − Δ`, kept inside `[l, u]`). `lambda` holds the previous
/// value on entry (the first guess) and the new one on exit. The LM step is
/// `−p`.
fn lm_parameter(
    qr: &PivotedQr,
    diag: &[f64],
    qtf: &[f64],
    delta: f64,
    lambda: &mut f64,
    p: &mut [f64],
    ws: &mut LmparWork,
) {
    const SIGMA: f64 = 0.1;
    const MAX_STEPS: usize = 10;
    let n = diag.len();
    let dwarf = f64::MIN_POSITIVE;

    // The Gauss-Newton step p(0) = P R⁻¹ qtf, on the leading nonsingular
    // block if R has a zero pivot (then a least-squares solution).
    let nsing = (0..n).find(|&j| qr.r(j, j) == 0.0).unwrap_or(n);
    let z = &mut ws.z;
    z.copy_from_slice(qtf);
    z[nsing..].iter_mut().for_each(|v| *v = 0.0);
    for j in (0..nsing).rev() {
        z[j] /= qr.r(j, j);
        let zj = z[j];
        for i in 0..j {
            z[i] -= qr.r(i, j) * zj;
        }
    }
    for j in 0..n {
        p[qr.perm[j]] = z[j];
    }
    for j in 0..n {
        ws.dp[j] = diag[j] * p[j];
    }
    let mut dxnorm = enorm(&ws.dp);
    let mut phi = dxnorm - delta;
    if phi <= SIGMA * delta {
        // The Gauss-Newton step is inside the region: λ = 0.
        *lambda = 0.0;
        return;
    }

    // Lower bound l = −φ(0)/φ'(0) (Moré (5.x): φ is convex for full rank),
    // zero if J is rank deficient.
    let mut lower = 0.0;
    if nsing == n {
        let q = &mut ws.q;
        for j in 0..n {
            let l = qr.perm[j];
            q[j] = diag[l] * (ws.dp[l] / dxnorm);
        }
        // Solve Rᵀ q̃ = q (forward substitution).
        for j in 0..n {
            let s: f64 = (0..j).map(|i| qr.r(i, j) * q[i]).sum();
            q[j] = (q[j] - s) / qr.r(j, j);
        }
        let qn = enorm(q);
        lower = ((phi / delta) / qn) / qn;
        if !lower.is_finite() {
            lower = 0.0;
        }
    }

    // Upper bound u = ‖(JD⁻¹)ᵀ r‖ / Δ.
    let q = &mut ws.q;
    for j in 0..n {
        let s: f64 = (0..=j).map(|i| qr.r(i, j) * qtf[i]).sum();
        q[j] = s / diag[qr.perm[j]];
    }
    let gnorm = enorm(q);
    let mut upper = gnorm / delta;
    if upper == 0.0 {
        upper = dwarf / delta.min(SIGMA);
    }

    // Start from the previous λ, moved into [l, u].
    let mut lam = lambda.max(lower).min(upper);
    if lam == 0.0 {
        lam = gnorm / dxnorm;
    }

    for step in 1..=MAX_STEPS {
        if lam == 0.0 {
            lam = dwarf.max(0.001 * upper);
        }
        let sqrt_lam = lam.sqrt();
        solve_damped(qr, diag, sqrt_lam, qtf, p, ws);
        for j in 0..n {
            ws.dp[j] = diag[j] * p[j];
        }
        dxnorm = enorm(&ws.dp);
        let phi_prev = phi;
        phi = dxnorm - delta;
        // Accept, or stop when φ stays negative with no lower bound to
        // improve on (then the step is shorter than Δ and λ is too large
        // only by the factor Newton cannot fix: Moré §5).
        if phi.abs() <= SIGMA * delta
            || (lower == 0.0 && phi <= phi_prev && phi_prev < 0.0)
            || step == MAX_STEPS
        {
            break;
        }
        // Newton correction: φ'(λ) = −‖q‖² ‖Dp‖ / ... with Sᵀ q = Pᵀ D² p / ‖Dp‖.
        let q = &mut ws.q;
        for j in 0..n {
            let l = qr.perm[j];
            q[j] = diag[l] * (ws.dp[l] / dxnorm);
        }
        let s = &ws.s;
        for j in 0..n {
            q[j] /= s[j + j * n];
            let qj = q[j];
            for i in j + 1..n {
                q[i] -= s[j + i * n] * qj;
            }
        }
        let qn = enorm(q);
        let correction = ((phi / delta) / qn) / qn;
        if phi > 0.0 {
            lower = lower.max(lam);
        } else if phi < 0.0 {
            upper = upper.min(lam);
        }
        if !correction.is_finite() {
            break;
        }
        lam = lower.max(lam + correction);
    }
    *lambda = lam;
}

/// Moré §3 (MINPACK's `qrsolv`): solves `[J; √λ D] p ≅ [r; 0]` in the least
/// squares sense given `J P = Q R` and `qtf = (Qᵀ r)[..n]`, without touching
/// `R`: the rows of `√λ Pᵀ D P` are eliminated from `[R; √λ Pᵀ D P]` one at a
/// time by Givens rotations, leaving `S` upper triangular in `ws.s` (kept for
/// the Newton correction of [`lm_parameter`]), and `S z = w` is solved by back
/// substitution (a least-squares solution on the leading block if `S` has a
/// zero pivot). `p = P z`.
fn solve_damped(
    qr: &PivotedQr,
    diag: &[f64],
    sqrt_lambda: f64,
    qtf: &[f64],
    p: &mut [f64],
    ws: &mut LmparWork,
) {
    let n = diag.len();
    let s = &mut ws.s;
    // S = R (upper triangle), w = qtf.
    for j in 0..n {
        for i in 0..=j {
            s[i + j * n] = qr.r(i, j);
        }
    }
    ws.w.copy_from_slice(qtf);
    for j in 0..n {
        // Row j of √λ Pᵀ D P has its one nonzero at column j.
        let d = sqrt_lambda * diag[qr.perm[j]];
        if d == 0.0 {
            continue;
        }
        ws.row[j..].iter_mut().for_each(|v| *v = 0.0);
        ws.row[j] = d;
        // The right-hand side of this row is 0.
        let mut w_extra = 0.0;
        for k in j..n {
            if ws.row[k] == 0.0 {
                continue;
            }
            // The rotation (c, s) with −s·S_kk + c·row_k = 0, computed without
            // overflow from the smaller of the two ratios.
            let skk = s[k + k * n];
            let (c, sn) = if skk.abs() < ws.row[k].abs() {
                let cot = skk / ws.row[k];
                let sn = 0.5 / (0.25 + 0.25 * cot * cot).sqrt();
                (sn * cot, sn)
            } else {
                let tan = ws.row[k] / skk;
                let c = 0.5 / (0.25 + 0.25 * tan * tan).sqrt();
                (c, c * tan)
            };
            s[k + k * n] = c * skk + sn * ws.row[k];
            let wk = ws.w[k];
            ws.w[k] = c * wk + sn * w_extra;
            w_extra = -sn * wk + c * w_extra;
            for i in k + 1..n {
                let ski = s[k + i * n];
                s[k + i * n] = c * ski + sn * ws.row[i];
                ws.row[i] = -sn * ski + c * ws.row[i];
            }
        }
    }
    // Back substitution S z = w, on the leading nonsingular block.
    let nsing = (0..n).find(|&j| s[j + j * n] == 0.0).unwrap_or(n);
    let z = &mut ws.z;
    z.copy_from_slice(&ws.w);
    z[nsing..].iter_mut().for_each(|v| *v = 0.0);
    for j in (0..nsing).rev() {
        let t: f64 = (j + 1..nsing).map(|i| s[j + i * n] * z[i]).sum();
        z[j] = (z[j] - t) / s[j + j * n];
    }
    for j in 0..n {
        p[qr.perm[j]] = z[j];
    }
}

// ---------------------------------------------------------------------------
// Householder QR with column pivoting, through faer
// ---------------------------------------------------------------------------

/// `J P = Q R` for an `m × n` matrix, `m ≥ n`, with storage sized once.
struct PivotedQr {
    m: usize,
    n: usize,
    /// `m × n` column-major: `R` on and above the diagonal, the Householder
    /// vectors below it.
    qr: Vec<f64>,
    /// faer's block Householder factors, `block_size × n` column-major.
    q_coeff: Vec<f64>,
    block_size: usize,
    /// `perm[j]` is the column of `J` at position `j` of `J P` (MINPACK's `ipvt`).
    perm: Vec<usize>,
    perm_inv: Vec<usize>,
    /// `‖J e_j‖₂` of the columns of `J` in their original order.
    col_norms: Vec<f64>,
    /// `J = 0`: then `Q = I`, `R = 0`, `P = I` (faer scales by the largest
    /// column norm, which must not be 0).
    zero: bool,
    mem: MemBuffer,
    par: Par,
}

impl std::fmt::Debug for PivotedQr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PivotedQr")
            .field("m", &self.m)
            .field("n", &self.n)
            .field("perm", &self.perm)
            .finish_non_exhaustive()
    }
}

impl PivotedQr {
    fn new(m: usize, n: usize) -> Self {
        let block_size = recommended_block_size::<f64>(m, n).max(1);
        let par = faer::get_global_parallelism();
        let req = StackReq::any_of(&[
            qr_in_place_scratch::<usize, f64>(m, n, block_size, par, Default::default()),
            apply_block_householder_sequence_transpose_on_the_left_in_place_scratch::<f64>(
                m, block_size, 1,
            ),
        ]);
        PivotedQr {
            m,
            n,
            qr: vec![0.0; m * n],
            q_coeff: vec![0.0; block_size * n],
            block_size,
            perm: (0..n).collect(),
            perm_inv: (0..n).collect(),
            col_norms: vec![0.0; n],
            zero: true,
            mem: MemBuffer::new(req),
            par,
        }
    }

    /// Factors `a` (`m × n` column-major, every entry finite).
    fn factor(&mut self, a: &[f64]) {
        let (m, n) = (self.m, self.n);
        self.qr.copy_from_slice(a);
        for j in 0..n {
            self.col_norms[j] = enorm(&a[j * m..(j + 1) * m]);
        }
        self.zero = self.col_norms.iter().all(|&c| c == 0.0);
        if self.zero || n == 0 {
            self.qr.iter_mut().for_each(|v| *v = 0.0);
            for j in 0..n {
                self.perm[j] = j;
                self.perm_inv[j] = j;
            }
            return;
        }
        let a = MatMut::from_column_major_slice_mut(&mut self.qr, m, n);
        let h = MatMut::from_column_major_slice_mut(&mut self.q_coeff, self.block_size, n);
        qr_in_place(
            a,
            h,
            &mut self.perm,
            &mut self.perm_inv,
            self.par,
            MemStack::new(&mut self.mem),
            Default::default(),
        );
    }

    /// `v ← Qᵀ v` (`v` has `m` entries).
    fn apply_qt(&mut self, v: &mut [f64]) {
        if self.zero || self.n == 0 {
            return;
        }
        let (m, n) = (self.m, self.n);
        let basis = MatRef::from_column_major_slice(&self.qr, m, n);
        let h = MatRef::from_column_major_slice(&self.q_coeff, self.block_size, n);
        let rhs = MatMut::from_column_major_slice_mut(v, m, 1);
        apply_block_householder_sequence_transpose_on_the_left_in_place_with_conj(
            basis,
            h,
            Conj::No,
            rhs,
            self.par,
            MemStack::new(&mut self.mem),
        );
    }

    /// `R_ij` (`i ≤ j`).
    #[inline]
    fn r(&self, i: usize, j: usize) -> f64 {
        self.qr[i + j * self.m]
    }
}

// ---------------------------------------------------------------------------
// Standard errors at the solution
// ---------------------------------------------------------------------------

/// Standard errors and covariance of a least-squares fit at `x`, the usual
/// linearized statistics (NIST StRD certifies the same quantities):
///
/// ```text
/// RSS = Σ rᵢ²,   dof = m − n,   s² = RSS / dof,
/// Cov = s² (JᵀJ)⁻¹,   std_errors_j = sqrt(Cov_jj).
/// ```
///
/// `(JᵀJ)⁻¹` is computed from the pivoted QR of `J` with its columns scaled
/// to unit norm, `J S P = Q R`: `(JᵀJ)⁻¹ = S P R⁻¹ R⁻ᵀ Pᵀ S`, never from `JᵀJ`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitStatistics {
    /// The parameters `x`.
    #[serde(with = "float_serde::vec")]
    pub params: Vec<f64>,
    /// `sqrt(Cov_jj)`; all NaN when `J` is rank deficient or `dof = 0`.
    #[serde(with = "float_serde::vec")]
    pub std_errors: Vec<f64>,
    /// The residual sum of squares `Σ rᵢ²`.
    #[serde(with = "float_serde")]
    pub rss: f64,
    /// Degrees of freedom `m − n`.
    pub dof: usize,
    /// The residual standard deviation `s = sqrt(RSS / dof)` (NaN if `dof = 0`).
    #[serde(with = "float_serde")]
    pub residual_std: f64,
    /// `s² (JᵀJ)⁻¹`, `n × n`, row-major as nested vectors; all NaN when `J`
    /// is rank deficient or `dof = 0`.
    pub covariance: Vec<Vec<f64>>,
    /// The numerical rank of `J`: the number of pivots of the column-scaled
    /// `R` with `|R_jj| > max(m, n) · ε · |R_00|` (numpy's `matrix_rank`
    /// threshold).
    pub rank: usize,
}

/// [`FitStatistics`] of `problem` at `x` (one residual and one Jacobian
/// evaluation).
///
/// Errors: `x` of the wrong length or not finite, `m < n`, or residuals or
/// Jacobian with a non-finite entry at `x` (the message names it). A rank
/// deficient Jacobian is not an error: its standard errors are NaN and
/// [`FitStatistics::rank`] says so.
///
/// ```
/// use hesse::newton::fit_statistics;
/// use hesse::problem::FnResiduals;
/// // Straight line y = a + b t through (0, 1), (1, 2), (2, 4): the textbook
/// // standard errors are s·sqrt(5/6) and s·sqrt(1/2), s² = RSS / 1.
/// let (t, y) = ([0.0, 1.0, 2.0], [1.0, 2.0, 4.0]);
/// let p = FnResiduals::new(
///     2,
///     3,
///     move |x: &[f64], r: &mut [f64]| {
///         for i in 0..3 { r[i] = y[i] - x[0] - x[1] * t[i]; }
///     },
///     move |_: &[f64], j: &mut nalgebra::DMatrix<f64>| {
///         for i in 0..3 { j[(i, 0)] = -1.0; j[(i, 1)] = -t[i]; }
///     },
/// );
/// let stats = fit_statistics(&p, &[5.0 / 6.0, 1.5]).unwrap();
/// let s = (1.0f64 / 6.0).sqrt(); // RSS = 1/6, dof = 1
/// assert!((stats.rss - 1.0 / 6.0).abs() < 1e-15);
/// assert!((stats.std_errors[0] - s * (5.0f64 / 6.0).sqrt()).abs() < 1e-14);
/// assert!((stats.std_errors[1] - s * 0.5f64.sqrt()).abs() < 1e-14);
/// assert_eq!(stats.rank, 2);
/// ```
pub fn fit_statistics<P: Residuals + ?Sized>(
    problem: &P,
    x: &[f64],
) -> Result<FitStatistics, Error> {
    let n = problem.num_params();
    let m = problem.num_residuals();
    crate::solver::check_start(x, n)?;
    if m < n {
        return Err(Error::InvalidProblem(format!(
            "fit statistics need at least as many residuals as parameters: \
             the problem has m = {m} residuals and n = {n} parameters"
        )));
    }
    let mut r = vec![0.0; m];
    problem.residuals(x, &mut r);
    if let Some(i) = r.iter().position(|v| !v.is_finite()) {
        return Err(Error::InvalidProblem(format!(
            "residual {i} is {} at the given parameters",
            r[i]
        )));
    }
    let mut jac = DMatrix::zeros(m, n);
    problem.jacobian(x, &mut jac);
    if let Some(k) = jac.as_slice().iter().position(|v| !v.is_finite()) {
        return Err(Error::InvalidProblem(format!(
            "the Jacobian entry ({}, {}) is {} at the given parameters",
            k % m,
            k / m,
            jac.as_slice()[k]
        )));
    }
    let rss = sum_of_squares(&r);
    let dof = m - n;
    let residual_std = if dof > 0 {
        (rss / dof as f64).sqrt()
    } else {
        f64::NAN
    };

    // Scale columns to unit norm: the rank test is then independent of the
    // parameters' units.
    let mut scale = vec![0.0; n];
    let mut a = jac.as_slice().to_vec();
    for j in 0..n {
        let c = enorm(&a[j * m..(j + 1) * m]);
        scale[j] = if c > 0.0 { 1.0 / c } else { 0.0 };
        a[j * m..(j + 1) * m]
            .iter_mut()
            .for_each(|v| *v *= scale[j]);
    }
    let mut qr = PivotedQr::new(m, n);
    qr.factor(&a);
    let r00 = qr.r(0, 0).abs();
    let tol = (m.max(n) as f64) * f64::EPSILON * r00;
    let rank = if qr.zero {
        0
    } else {
        (0..n).take_while(|&j| qr.r(j, j).abs() > tol).count()
    };

    let mut covariance = vec![vec![f64::NAN; n]; n];
    let mut std_errors = vec![f64::NAN; n];
    if rank == n && dof > 0 {
        // R⁻¹ (upper triangular), column by column.
        let mut rinv = vec![0.0; n * n];
        for k in 0..n {
            rinv[k + k * n] = 1.0 / qr.r(k, k);
            for i in (0..k).rev() {
                let t: f64 = (i + 1..=k).map(|l| qr.r(i, l) * rinv[l + k * n]).sum();
                rinv[i + k * n] = -t / qr.r(i, i);
            }
        }
        // C = R⁻¹ R⁻ᵀ in the pivoted, scaled variables; map back.
        let s2 = residual_std * residual_std;
        for i in 0..n {
            for j in 0..n {
                let c: f64 = (i.max(j)..n)
                    .map(|k| rinv[i + k * n] * rinv[j + k * n])
                    .sum();
                let (pi, pj) = (qr.perm[i], qr.perm[j]);
                covariance[pi][pj] = s2 * c * scale[pi] * scale[pj];
            }
        }
        for j in 0..n {
            std_errors[j] = covariance[j][j].sqrt();
        }
    }
    Ok(FitStatistics {
        params: x.to_vec(),
        std_errors,
        rss,
        dof,
        residual_std,
        covariance,
        rank,
    })
}

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

/// `‖v‖₂` without overflow or destructive underflow (scaled by the largest
/// magnitude, as MINPACK's `enorm` intends); NaN if any entry is NaN.
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

    /// A seeded, reproducible pseudo-random matrix.
    fn matrix(m: usize, n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..m * n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn pivoted_qr_satisfies_qt_j_p_equals_r() {
        for &(m, n) in &[(1, 1), (2, 2), (5, 3), (7, 7), (40, 6), (250, 9)] {
            let a = matrix(m, n, (m * 31 + n) as u64);
            let mut qr = PivotedQr::new(m, n);
            qr.factor(&a);
            for j in 0..n {
                let mut col = a[qr.perm[j] * m..(qr.perm[j] + 1) * m].to_vec();
                qr.apply_qt(&mut col);
                for (i, &v) in col.iter().enumerate() {
                    let expected = if i <= j { qr.r(i, j) } else { 0.0 };
                    assert!(
                        (v - expected).abs() < 1e-13,
                        "({m},{n}) entry ({i},{j}): {v} vs {expected}"
                    );
                }
            }
            // Pivoting puts the largest remaining column first: |R_00| is
            // the largest column norm.
            let big = qr.col_norms.iter().cloned().fold(0.0, f64::max);
            assert!((qr.r(0, 0).abs() - big).abs() < 1e-12 * big);
        }
    }

    #[test]
    fn pivoted_qr_handles_zero_and_repeated_columns() {
        let (m, n) = (4, 3);
        // Columns: (1,2,3,4), 0, (1,2,3,4) again.
        let mut a = vec![0.0; m * n];
        for i in 0..m {
            a[i] = (i + 1) as f64;
            a[i + 2 * m] = (i + 1) as f64;
        }
        let mut qr = PivotedQr::new(m, n);
        qr.factor(&a);
        assert!(qr.qr.iter().all(|v| v.is_finite()));
        assert!(qr.r(1, 1).abs() < 1e-14 && qr.r(2, 2).abs() < 1e-14);
        let mut zero = PivotedQr::new(m, n);
        zero.factor(&vec![0.0; m * n]);
        assert!(zero.zero && zero.qr.iter().all(|&v| v == 0.0));
    }

    /// The damped solve equals the normal-equations solution
    /// `(JᵀJ + λDᵀD) p = Jᵀ r` on a well-conditioned problem.
    #[test]
    fn damped_solve_matches_normal_equations() {
        let (m, n) = (8, 4);
        let a = matrix(m, n, 7);
        let r = matrix(m, 1, 8);
        let diag = [1.0, 2.0, 0.5, 3.0];
        let lambda: f64 = 0.7;
        let mut qr = PivotedQr::new(m, n);
        qr.factor(&a);
        let mut qtr = r.clone();
        qr.apply_qt(&mut qtr);
        let mut p = vec![0.0; n];
        let mut ws = LmparWork::new(n);
        solve_damped(&qr, &diag, lambda.sqrt(), &qtr[..n], &mut p, &mut ws);
        let j = DMatrix::from_column_slice(m, n, &a);
        let dd = DMatrix::from_diagonal(&nalgebra::DVector::from_iterator(
            n,
            diag.iter().map(|d| lambda * d * d),
        ));
        let lhs = j.transpose() * &j + dd;
        let rhs = j.transpose() * nalgebra::DVector::from_column_slice(&r);
        let expected = lhs.lu().solve(&rhs).unwrap();
        for k in 0..n {
            assert!(
                (p[k] - expected[k]).abs() < 1e-12,
                "{k}: {} vs {}",
                p[k],
                expected[k]
            );
        }
    }

    /// The LM parameter puts ‖Dp‖ within 10% of Δ when the Gauss-Newton
    /// step is longer than Δ, and λ = 0 when it is not.
    #[test]
    fn lm_parameter_meets_the_trust_region() {
        let (m, n) = (10, 3);
        let a = matrix(m, n, 11);
        let r = matrix(m, 1, 12);
        let diag = [1.0, 1.0, 1.0];
        let mut qr = PivotedQr::new(m, n);
        qr.factor(&a);
        let mut qtr = r.clone();
        qr.apply_qt(&mut qtr);
        let mut ws = LmparWork::new(n);
        let mut p = vec![0.0; n];
        let mut lambda = 0.0;
        lm_parameter(&qr, &diag, &qtr[..n], 1e6, &mut lambda, &mut p, &mut ws);
        assert_eq!(lambda, 0.0);
        let gn = enorm(&p);
        for delta in [0.5 * gn, 0.1 * gn, 1e-3 * gn] {
            let mut lambda = 0.0;
            lm_parameter(&qr, &diag, &qtr[..n], delta, &mut lambda, &mut p, &mut ws);
            assert!(lambda > 0.0);
            assert!(
                (enorm(&p) - delta).abs() <= 0.1 * delta,
                "{} vs {delta}",
                enorm(&p)
            );
        }
    }

    #[test]
    fn enorm_neither_overflows_nor_underflows() {
        assert!((enorm(&[3e200, 4e200]) / 5e200 - 1.0).abs() < 1e-15);
        assert_eq!(enorm(&[3.0, 4.0]), 5.0);
        assert!((enorm(&[3e-200, 4e-200]) - 5e-200).abs() < 1e-214);
        assert!(enorm(&[1.0, f64::NAN]).is_nan());
        assert_eq!(enorm(&[]), 0.0);
    }
}
