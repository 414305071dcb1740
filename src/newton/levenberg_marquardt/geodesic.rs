//! Geodesic acceleration: Transtrum & Sethna (2012), "Improvements to the
//! Levenberg-Marquardt algorithm for nonlinear least-squares minimization",
//! arXiv:1201.5885, §4 (see
//! [`LevenbergMarquardt::with_geodesic_acceleration`](super::LevenbergMarquardt::with_geodesic_acceleration)).

use super::lmpar::solve_damped;
use super::{IterState, Work, scaled_norm};
use crate::problem::{Counted, Residuals};

/// Transtrum & Sethna (2012) §4: given the LM step `v` in `w.step` (and
/// `x + v` in `w.x_trial`), computes the acceleration `a` and, when
/// `2‖D a‖/‖D v‖ ≤ alpha` and everything is finite, sets
/// `w.x_trial = x + v + ½ a` and returns `true`. Costs one residual
/// evaluation.
pub(super) fn geodesic_step<P: Residuals>(
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
    if w.qr.apply_qt_mut(&mut w.r_h).is_err() {
        return false;
    }
    // [J; √λ D] p_a ≅ [r_vv; 0] gives a = −p_a, as p gives v = −p.
    let mut pa = std::mem::take(&mut w.accel);
    solve_damped(
        &w.qr,
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
