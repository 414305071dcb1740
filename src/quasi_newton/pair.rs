//! The curvature pair's acceptance, shared by [`Bfgs`](super::Bfgs) and
//! [`Lbfgs`](super::Lbfgs): the non-finite check, the curvature test
//! `s_kᵀy_k > ε ‖s_k‖ ‖y_k‖` and, by [`CurvatureGuard`], the skip or Powell's
//! damping (N&W Procedure 18.2) of a pair that fails it.
//!
//! Notation as N&W §6.1: `s_k = x_{k+1} − x_k = α_k d_k`,
//! `y_k = ∇f_{k+1} − ∇f_k`, `B_k = H_k⁻¹`, so that `B_k s_k = −α_k ∇f_k`
//! exactly and `s_kᵀB_k s_k = −α_k s_kᵀ∇f_k` needs no product with `B_k`.

use serde::{Deserialize, Serialize};

use crate::solver::Termination;

/// What to do with a pair `(s_k, y_k)` whose curvature is too small to keep
/// the quasi-Newton matrix positive definite: `s_kᵀy_k ≤ ε ‖s_k‖ ‖y_k‖`, with
/// `ε` set by `with_curvature_eps` (default `1e-10`).
///
/// Either way, the iteration's `state.note` says what was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum CurvatureGuard {
    /// Skip the update and keep `H_k` (N&W §6.1, p. 143; what scipy's
    /// L-BFGS-B, LBFGS++ and Optim.jl do). The default.
    #[default]
    Skip,
    /// Powell's damping (N&W Procedure 18.2): replace `y_k` by
    /// `r_k = θ y_k + (1 − θ) B_k s_k` with
    /// `θ = 0.8 sᵀBs / (sᵀBs − sᵀy)` whenever `sᵀy < 0.2 sᵀBs` (N&W (18.15)),
    /// so that `s_kᵀr_k = 0.2 s_kᵀB_k s_k > 0`; this applies to every pair
    /// with `sᵀy < 0.2 sᵀBs`, also those with `sᵀy > 0` that the curvature
    /// test alone would accept. A pair with `sᵀy ≥ 0.2 sᵀBs` is used as it
    /// is (`θ = 1`), after the curvature test. In the inverse form
    /// `B_k s_k = −α_k ∇f_k` exactly, since `s_k = −α_k H_k ∇f_k` (for
    /// L-BFGS, `B_k` is the inverse of its `H_k`), so no product with `B_k`
    /// is needed. Skips the pair if `sᵀBs` is not positive and finite.
    PowellDamping,
}

/// The default threshold `ε` of the curvature test
/// `s_kᵀy_k ≤ ε ‖s_k‖ ‖y_k‖`: the cosine of the angle between `s_k` and `y_k`
/// must exceed `1e-10`.
pub(crate) const CURVATURE_EPS: f64 = 1e-10;

/// A pair's inner products and where it came from, as the method's pair
/// pass computed them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pair {
    /// `f(x_{k+1})`.
    pub f: f64,
    /// `α_k`.
    pub alpha: f64,
    /// `s_kᵀy_k`, `s_kᵀs_k`, `y_kᵀy_k`, `s_kᵀ∇f_k`.
    pub sy: f64,
    pub ss: f64,
    pub yy: f64,
    pub sg: f64,
}

/// A pair to update with: `y_k` itself (`θ = 1`) or, damped, `r_k` (which
/// has replaced `y_k` in the method's storage).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Kept {
    /// `s_kᵀy_k`, or `s_kᵀr_k` if damped.
    pub sy: f64,
    /// `y_kᵀy_k`, or `r_kᵀr_k` if damped.
    pub yy: f64,
    /// The damping `θ ∈ (0, 1]`; `1` for the pair as it is.
    pub theta: f64,
}

impl Kept {
    /// Whether `y_k` was replaced by `r_k`.
    pub(crate) fn damped(&self) -> bool {
        self.theta < 1.0
    }
}

/// Decides what to do with the pair `p`, for a method whose update is
/// called `what` in notes (`"BFGS update"`, `"L-BFGS pair"`).
///
/// - `Err(NonFiniteValue)` if `f(x_{k+1})` or `y_k` is not finite (the
///   iteration is abandoned, `x_k` kept);
/// - `Ok(None)`: skip the update (`note` says why);
/// - `Ok(Some(kept))`: update with `kept`. Damped (`kept.damped()`), `y_k`
///   has been overwritten by `r_k = θ y_k + (1 − θ) B_k s_k` (N&W (18.14))
///   through `y_and_g`: the pieces of `y_k`, each with the matching piece of
///   `∇f_k`, in order (one piece for a contiguous `y_k`, one per block for
///   L-BFGS's blocked history); it is not touched otherwise.
pub(crate) fn accept_pair<'y, Y>(
    guard: CurvatureGuard,
    eps: f64,
    p: &Pair,
    y_and_g: Y,
    what: &str,
    note: &mut Option<String>,
) -> Result<Option<Kept>, Termination>
where
    Y: IntoIterator<Item = (&'y mut [f64], &'y [f64])>,
{
    if !p.f.is_finite() || !p.yy.is_finite() {
        // The accepted point has a non-finite value or gradient: keep x_k.
        *note = Some(format!("non-finite f or gradient at alpha = {:e}", p.alpha));
        return Err(Termination::NonFiniteValue);
    }
    let (sy, alpha) = (p.sy, p.alpha);
    let s_b_s = -alpha * p.sg; // B_k s_k = −α_k ∇f_k
    match curvature_test(guard, eps, sy, (p.ss * p.yy).sqrt(), s_b_s) {
        Curvature::Accept => Ok(Some(Kept {
            sy,
            yy: p.yy,
            theta: 1.0,
        })),
        Curvature::Damp { theta } => {
            // r_k = θ y_k + (1 − θ) B_k s_k (N&W (18.14)), in place of y_k.
            let mut rr = 0.0;
            for (y, g) in y_and_g {
                for (yi, gi) in y.iter_mut().zip(g) {
                    *yi = theta * *yi - (1.0 - theta) * alpha * gi;
                    rr += *yi * *yi;
                }
            }
            let sr = theta * sy + (1.0 - theta) * s_b_s;
            *note = Some(format!(
                "Powell-damped {what}: sᵀy = {sy:e}, theta = {theta:.3}"
            ));
            Ok(Some(Kept {
                sy: sr,
                yy: rr,
                theta,
            }))
        }
        Curvature::Skip => {
            *note = Some(format!(
                "skipped {what}: sᵀy = {sy:e} would lose positive definiteness"
            ));
            Ok(None)
        }
    }
}

/// The outcome of the curvature test for one pair.
enum Curvature {
    /// Use the pair as it is.
    Accept,
    /// Use `y_k` damped to `θ y_k + (1 − θ) B_k s_k`.
    Damp {
        /// `θ ∈ (0, 1)`.
        theta: f64,
    },
    /// Skip the update.
    Skip,
}

/// Decides what to do with a pair from `sᵀy`, `‖s‖‖y‖` and
/// `sᵀB s = −α sᵀg_k`.
fn curvature_test(
    guard: CurvatureGuard,
    eps: f64,
    sy: f64,
    s_norm_y_norm: f64,
    s_b_s: f64,
) -> Curvature {
    if guard == CurvatureGuard::PowellDamping {
        // N&W Procedure 18.2, (18.15): damp whenever sᵀy < 0.2 sᵀBs, also a
        // pair the curvature test below would accept; θ ∈ (0, 1) there.
        if s_b_s > 0.0 && s_b_s.is_finite() && sy.is_finite() && sy < 0.2 * s_b_s {
            let theta = 0.8 * s_b_s / (s_b_s - sy);
            if theta.is_finite() && theta > 0.0 && theta < 1.0 {
                return Curvature::Damp { theta };
            }
        }
    }
    if sy > eps * s_norm_y_norm && sy.is_finite() {
        return Curvature::Accept;
    }
    Curvature::Skip
}

#[cfg(test)]
mod tests {
    use super::*;

    /// N&W Procedure 18.2 damps whenever `sᵀy < 0.2 sᵀBs`, also when `sᵀy`
    /// passes the curvature test (before issue 18 only skipped pairs were
    /// damped), and the damped pair has `sᵀr = 0.2 sᵀBs`.
    #[test]
    fn powell_damping_fires_below_a_fifth_of_s_b_s() {
        let (sy, s_b_s) = (0.1, 1.0);
        match curvature_test(CurvatureGuard::PowellDamping, 1e-10, sy, 1.0, s_b_s) {
            Curvature::Damp { theta } => {
                assert!((theta - 0.8 / 0.9).abs() < 1e-15);
                let sr = theta * sy + (1.0 - theta) * s_b_s;
                assert!((sr - 0.2 * s_b_s).abs() < 1e-15);
            }
            _ => panic!("a pair with sᵀy = 0.1 sᵀBs must be damped"),
        }
        // At or above 0.2 sᵀBs: as it is. Skip never damps.
        assert!(matches!(
            curvature_test(CurvatureGuard::PowellDamping, 1e-10, 0.2, 1.0, 1.0),
            Curvature::Accept
        ));
        assert!(matches!(
            curvature_test(CurvatureGuard::Skip, 1e-10, 0.1, 1.0, 1.0),
            Curvature::Accept
        ));
        assert!(matches!(
            curvature_test(CurvatureGuard::Skip, 1e-10, -0.1, 1.0, 1.0),
            Curvature::Skip
        ));
        // sᵀBs not positive: nothing to damp toward.
        assert!(matches!(
            curvature_test(CurvatureGuard::PowellDamping, 1e-10, -0.1, 1.0, 0.0),
            Curvature::Skip
        ));
    }
}
