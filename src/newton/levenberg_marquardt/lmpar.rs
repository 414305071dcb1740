//! The Levenberg-Marquardt parameter: Moré (1978) §3 and §5, MINPACK's
//! `lmpar` and `qrsolv`.
//!
//! Given `J P = Q R` (a pivoted [`Qr`]), the scaling `D`, `qtf = (Qᵀ r)[..n]`
//! and the step bound `Δ`, [`lm_parameter`] finds `λ ≥ 0` and `p` with
//! `[J; √λ D] p ≅ [r; 0]` and either `λ = 0`, `‖D p‖ ≤ 1.1 Δ`, or
//! `|‖D p‖ − Δ| ≤ 0.1 Δ`; [`solve_damped`] is the least-squares solve for one
//! `λ` (Moré §3), by Givens rotations on `[R; √λ Pᵀ D P]`, never forming
//! `JᵀJ`. The LM step is `−p`.

use super::enorm;
use crate::linalg::Qr;

/// Scratch of [`lm_parameter`] and [`solve_damped`], sized once per run.
#[derive(Debug, Default)]
pub(super) struct LmparWork {
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
    pub(super) fn new(n: usize) -> Self {
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

/// `R_ij` of the factored `J P = Q R` (`i ≤ j`).
#[inline]
fn r(qr: &Qr, i: usize, j: usize) -> f64 {
    qr.qr_dirty()[(i, j)]
}

/// Moré §5: given `J P = Q R`, `D`, `qtf = (Qᵀ r)[..n]` and `Δ > 0`, finds
/// `λ ≥ 0` and `p` solving `[J; √λ D] p ≅ [r; 0]` such that either `λ = 0` and
/// `‖D p‖ ≤ 1.1 Δ`, or `|‖D p‖ − Δ| ≤ 0.1 Δ` (at most 10 Newton steps on
/// `φ(λ) = ‖D p(λ)‖ − Δ`, kept inside `[l, u]`). `lambda` holds the previous
/// value on entry (the first guess) and the new one on exit. The LM step is
/// `−p`.
pub(super) fn lm_parameter(
    qr: &Qr,
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
    let perm = qr.perm();

    // The Gauss-Newton step p(0) = P R⁻¹ qtf, on the leading nonsingular
    // block if R has a zero pivot (then a least-squares solution).
    ws.z.copy_from_slice(qtf);
    let nsing = qr.solve_r_mut(&mut ws.z);
    qr.permute_mut(&ws.z, p);
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

    // Lower bound l = −φ(0)/φ'(0) (φ is convex for full rank), zero if J
    // is rank deficient.
    let mut lower = 0.0;
    if nsing == n {
        let q = &mut ws.q;
        for j in 0..n {
            let l = perm[j];
            q[j] = diag[l] * (ws.dp[l] / dxnorm);
        }
        qr.solve_rt_mut(q);
        let qn = enorm(q);
        lower = ((phi / delta) / qn) / qn;
        if !lower.is_finite() {
            lower = 0.0;
        }
    }

    // Upper bound u = ‖(JD⁻¹)ᵀ r‖ / Δ, with (JP)ᵀ r = Rᵀ qtf.
    let q = &mut ws.q;
    for j in 0..n {
        let s: f64 = (0..=j).map(|i| r(qr, i, j) * qtf[i]).sum();
        q[j] = s / diag[perm[j]];
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
        let correction = newton_correction(perm, diag, dxnorm, phi, delta, ws);
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

/// The Newton correction `−φ(λ)/φ'(λ)` of Moré (5.x): `φ'(λ) = −‖q‖² / ‖Dp‖`
/// with `Sᵀ q = Pᵀ D² p / ‖Dp‖`, `S` the triangle [`solve_damped`] left in
/// `ws.s` and `D p` in `ws.dp`.
fn newton_correction(
    perm: &[usize],
    diag: &[f64],
    dxnorm: f64,
    phi: f64,
    delta: f64,
    ws: &mut LmparWork,
) -> f64 {
    let n = diag.len();
    let q = &mut ws.q;
    for j in 0..n {
        let l = perm[j];
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
    ((phi / delta) / qn) / qn
}

/// Moré §3 (MINPACK's `qrsolv`): solves `[J; √λ D] p ≅ [r; 0]` in the least
/// squares sense given `J P = Q R` and `qtf = (Qᵀ r)[..n]`, without touching
/// `R`: the rows of `√λ Pᵀ D P` are eliminated from `[R; √λ Pᵀ D P]` one at a
/// time by Givens rotations, leaving `S` upper triangular in `ws.s` (kept for
/// the Newton correction of [`lm_parameter`]), and `S z = w` is solved by back
/// substitution (a least-squares solution on the leading block if `S` has a
/// zero pivot). `p = P z`.
pub(super) fn solve_damped(
    qr: &Qr,
    diag: &[f64],
    sqrt_lambda: f64,
    qtf: &[f64],
    p: &mut [f64],
    ws: &mut LmparWork,
) {
    let n = diag.len();
    let perm = qr.perm();
    let s = &mut ws.s;
    // S = R (upper triangle), w = qtf.
    for j in 0..n {
        for i in 0..=j {
            s[i + j * n] = r(qr, i, j);
        }
    }
    ws.w.copy_from_slice(qtf);
    for j in 0..n {
        // Row j of √λ Pᵀ D P has its one nonzero at column j.
        let d = sqrt_lambda * diag[perm[j]];
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
    qr.permute_mut(z, p);
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::{DMatrix, DVector};

    /// A seeded, reproducible pseudo-random matrix (column-major).
    fn matrix(m: usize, n: usize, seed: u64) -> DMatrix<f64> {
        let mut s = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        DMatrix::from_fn(m, n, |_, _| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
    }

    /// `J`'s pivoted QR and `(Qᵀ r)[..n]` for a random `J`, `r`.
    fn factored(m: usize, n: usize, seed: u64) -> (DMatrix<f64>, Vec<f64>, Qr, Vec<f64>) {
        let a = matrix(m, n, seed);
        let r: Vec<f64> = matrix(m, 1, seed + 1).iter().copied().collect();
        let mut qr = Qr::new_pivoted(&a).unwrap();
        let mut qtr = r.clone();
        qr.apply_qt_mut(&mut qtr).unwrap();
        qtr.truncate(n);
        (a, r, qr, qtr)
    }

    /// The damped solve equals the normal-equations solution
    /// `(JᵀJ + λDᵀD) p = Jᵀ r` on a well-conditioned problem.
    #[test]
    fn damped_solve_matches_normal_equations() {
        let (m, n) = (8, 4);
        let (j, r, qr, qtf) = factored(m, n, 7);
        let diag = [1.0, 2.0, 0.5, 3.0];
        let lambda: f64 = 0.7;
        let mut p = vec![0.0; n];
        let mut ws = LmparWork::new(n);
        solve_damped(&qr, &diag, lambda.sqrt(), &qtf, &mut p, &mut ws);
        let dd = DMatrix::from_diagonal(&DVector::from_iterator(
            n,
            diag.iter().map(|d| lambda * d * d),
        ));
        let lhs = j.transpose() * &j + dd;
        let rhs = j.transpose() * DVector::from_column_slice(&r);
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
        let (_, _, qr, qtf) = factored(m, n, 11);
        let diag = [1.0, 1.0, 1.0];
        let mut ws = LmparWork::new(n);
        let mut p = vec![0.0; n];
        let mut lambda = 0.0;
        lm_parameter(&qr, &diag, &qtf, 1e6, &mut lambda, &mut p, &mut ws);
        assert_eq!(lambda, 0.0);
        let gn = enorm(&p);
        for delta in [0.5 * gn, 0.1 * gn, 1e-3 * gn] {
            let mut lambda = 0.0;
            lm_parameter(&qr, &diag, &qtf, delta, &mut lambda, &mut p, &mut ws);
            assert!(lambda > 0.0);
            assert!(
                (enorm(&p) - delta).abs() <= 0.1 * delta,
                "{} vs {delta}",
                enorm(&p)
            );
        }
    }
}
