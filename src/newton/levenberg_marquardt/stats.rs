//! Fit statistics at the solution: residual sum of squares, degrees of
//! freedom, the linearized covariance `s² (JᵀJ)⁻¹` and standard errors (the
//! quantities NIST StRD certifies), with or without a robust loss.

use nalgebra::{DMatrix, DMatrixView};
use serde::{Deserialize, Serialize};

use super::{enorm, sum_of_squares};
use crate::linalg::Qr;
use crate::newton::RobustLoss;
use crate::problem::Residuals;
use crate::solver::{Error, check_positive, float_serde};

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
    fit_statistics_with_loss(problem, x, RobustLoss::Linear, 1.0)
}

/// [`fit_statistics`] under a robust loss `ρ` with scale `C` (see
/// [`RobustLoss`]), as scipy's `curve_fit(loss=..., f_scale=...)` computes
/// them: the Gauss-Newton covariance of the robust objective
/// `F = C² Σ ρ((rᵢ/C)²)`,
///
/// ```text
/// s² = F / (m − n),   Cov = s² (J̃ᵀJ̃)⁻¹,   J̃ᵢ = wᵢ Jᵢ  (Triggs et al.'s rows),
/// ```
///
/// reported in [`FitStatistics::covariance`] and `std_errors`, with
/// `residual_std = s`; `rss` stays the plain `Σ rᵢ²`. What they are: a
/// linearization in which outliers (`wᵢ ≈ 0`) hardly count, not a sandwich
/// (Huber–White) estimate and not exact for any finite sample; with few
/// outliers and `C` near the noise level they are close to the standard
/// errors of a least-squares fit to the clean points, with
/// [`RobustLoss::Linear`] exactly [`fit_statistics`]. Where the curvature
/// factor of a row was clipped (Cauchy and Arctan beyond their convex
/// range) that row contributes `ε` to `J̃ᵀJ̃`.
pub fn fit_statistics_with_loss<P: Residuals + ?Sized>(
    problem: &P,
    x: &[f64],
    loss: RobustLoss,
    f_scale: f64,
) -> Result<FitStatistics, Error> {
    check_positive("f_scale", f_scale)?;
    let n = problem.num_params();
    let m = problem.num_residuals();
    crate::solver::check_start(x, n)?;
    if m < n {
        return Err(Error::InvalidProblem(format!(
            "fit statistics need at least as many residuals as parameters: \
             the problem has m = {m} residuals and n = {n} parameters"
        )));
    }
    // J and its QR factor (m × n), the covariance (n × n).
    crate::solver::check_dense(
        "fit statistics",
        &format!("two dense m × n matrices and an n × n one at m = {m}, n = {n}"),
        m.checked_mul(n)
            .and_then(|k| k.checked_mul(2))
            .and_then(|k| n.checked_mul(n).and_then(|c| k.checked_add(c))),
        "",
    )?;
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
    if jac.shape() != (m, n) {
        return Err(Error::InvalidProblem(crate::problem::shape_message(
            "the Jacobian",
            jac.shape(),
            (m, n),
        )));
    }
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
    let objective = loss.objective(&r, f_scale);
    if loss != RobustLoss::Linear {
        for i in 0..m {
            let (_, w) = loss.scaling(r[i], f_scale);
            for j in 0..n {
                jac[(i, j)] *= w;
            }
        }
    }
    let residual_std = if dof > 0 {
        (objective / dof as f64).sqrt()
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
        let col = &mut a[j * m..(j + 1) * m];
        if scale[j].is_finite() {
            col.iter_mut().for_each(|v| *v *= scale[j]);
        } else {
            // A column of subnormal norm: 1/c overflows, and 0 · ∞ = NaN
            // (a converged fit whose Gaussian term has moved off the data);
            // dividing keeps every entry finite and at most 1.
            col.iter_mut().for_each(|v| *v /= c);
        }
    }
    let mut qr = Qr::with_shape(m, n);
    qr.factor_pivoted_view(DMatrixView::from_slice(&a, m, n))
        .map_err(|e| Error::InvalidProblem(format!("the column-scaled Jacobian: {e}")))?;
    let rd = qr.qr_dirty();
    let r00 = rd[(0, 0)].abs();
    let tol = (m.max(n) as f64) * f64::EPSILON * r00;
    // A zero J factors as R = 0: rank 0.
    let rank = (0..n).take_while(|&j| rd[(j, j)].abs() > tol).count();

    let mut covariance = vec![vec![f64::NAN; n]; n];
    let mut std_errors = vec![f64::NAN; n];
    if rank == n && dof > 0 {
        // R⁻¹ (upper triangular), column by column.
        let mut rinv = vec![0.0; n * n];
        for k in 0..n {
            rinv[k + k * n] = 1.0 / rd[(k, k)];
            for i in (0..k).rev() {
                let t: f64 = (i + 1..=k).map(|l| rd[(i, l)] * rinv[l + k * n]).sum();
                rinv[i + k * n] = -t / rd[(i, i)];
            }
        }
        // C = R⁻¹ R⁻ᵀ in the pivoted, scaled variables; map back, one value
        // for both (pi, pj) and (pj, pi): symmetric to the bit.
        let s2 = residual_std * residual_std;
        for i in 0..n {
            for j in i..n {
                let c: f64 = (j..n).map(|k| rinv[i + k * n] * rinv[j + k * n]).sum();
                let (pi, pj) = (qr.perm()[i], qr.perm()[j]);
                let v = s2 * c * scale[pi] * scale[pj];
                covariance[pi][pj] = v;
                covariance[pj][pi] = v;
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
