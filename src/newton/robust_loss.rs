//! Robust losses for least squares, in the sense of scipy's `least_squares`
//! (`loss`, `f_scale`).
//!
//! Reference: B. Triggs, P. F. McLauchlan, R. I. Hartley and A. W. Fitzgibbon,
//! "Bundle adjustment — a modern synthesis", in *Vision Algorithms: Theory
//! and Practice*, LNCS 1883, Springer (2000), pp. 298–372, §4.3 ("Robustified
//! least squares"); the losses and their scaling are those of scipy's
//! `scipy/optimize/_lsq/least_squares.py` (`construct_loss_function`) and
//! `common.py` (`scale_for_robust_loss_function`).
//!
//! # Notation
//!
//! Residuals `rᵢ`, scale `C` (`f_scale`), `zᵢ = (rᵢ/C)²`. The objective is
//!
//! ```text
//! F(x) = C² Σᵢ ρ(zᵢ)            (scipy's `cost` is F/2)
//! ```
//!
//! so `ρ(z) = z` (Linear) gives `F = Σ rᵢ²`, the objective of plain
//! Levenberg-Marquardt. Its gradient is `∇F = 2 Σ ρ'(zᵢ) rᵢ ∇rᵢ`, and Triggs
//! et al.'s second-order correction gives the Gauss-Newton Hessian
//! `2 Σ (ρ'(zᵢ) + 2 ρ''(zᵢ) zᵢ) ∇rᵢ ∇rᵢᵀ` (their (10), dropping `∇²rᵢ`).
//! Both come out of an ordinary least-squares model in the rescaled residuals
//! and Jacobian rows
//!
//! ```text
//! wᵢ = sqrt(max(ρ'(zᵢ) + 2 ρ''(zᵢ) zᵢ, ε)),   r̃ᵢ = ρ'(zᵢ) rᵢ / wᵢ,   J̃ᵢ = wᵢ Jᵢ,
//! ```
//!
//! since `J̃ᵀ r̃ = Σ ρ' rᵢ ∇rᵢ` and `J̃ᵀ J̃ = Σ wᵢ² ∇rᵢ ∇rᵢᵀ`. Where `ρ''` would
//! make the curvature factor negative (the non-convex part of Cauchy and
//! Arctan, `z > 1` resp. `z > 1/√3`), it is clipped to `ε`, as scipy does:
//! the row then hardly counts in the model, while `r̃ᵢ` keeps its gradient
//! contribution.
//!
//! # Deviation from scipy
//!
//! SoftL1's `ρ` is evaluated as `2z / (sqrt(1 + z) + 1)`, which equals
//! scipy's `2 (sqrt(1 + z) − 1)` but keeps its digits for small `z` (near a
//! zero-residual solution scipy's form rounds `F` to 0). Otherwise none in
//! the losses or the scaling; scipy's `least_squares` applies them
//! inside its `trf` and `dogbox` methods, here inside MINPACK's
//! Levenberg-Marquardt ([`LevenbergMarquardt::with_loss`](super::LevenbergMarquardt::with_loss)).

use serde::{Deserialize, Serialize};

/// A robust loss `ρ(z)` applied to the squared scaled residuals
/// `z = (r / f_scale)²` (scipy `least_squares`'s `loss`). Named `RobustLoss`
/// so as not to clash with the network losses of [`crate::nn::Loss`].
///
/// | variant | `ρ(z)` | scipy |
/// |---|---|---|
/// | `Linear` | `z` | `'linear'` (ordinary least squares) |
/// | `SoftL1` | `2 (sqrt(1 + z) − 1)` | `'soft_l1'` |
/// | `Huber` | `z` if `z ≤ 1`, else `2 sqrt(z) − 1` | `'huber'` |
/// | `Cauchy` | `ln(1 + z)` | `'cauchy'` |
/// | `Arctan` | `arctan(z)` | `'arctan'` |
///
/// Every loss has `ρ(z) ≈ z` for small `z`, so residuals well below
/// `f_scale` count as in least squares; above it, SoftL1 and Huber grow like
/// `|r|` (an L1 fit), Cauchy like `ln |r|`, and Arctan is bounded by `π/2`.
///
/// # Example
/// ```
/// use hesse::newton::RobustLoss;
/// let [rho, d1, d2] = RobustLoss::SoftL1.rho(3.0);
/// assert_eq!(rho, 2.0); // 2 (sqrt(4) − 1)
/// assert_eq!(d1, 0.5); // (1 + z)^(−1/2)
/// assert_eq!(d2, -0.0625); // −(1 + z)^(−3/2) / 2
/// assert_eq!(RobustLoss::Linear.rho(3.0), [3.0, 1.0, 0.0]);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RobustLoss {
    /// `ρ(z) = z`: ordinary least squares (the default).
    #[default]
    Linear,
    /// `ρ(z) = 2 (sqrt(1 + z) − 1)`: a smooth approximation of the L1 loss.
    SoftL1,
    /// `ρ(z) = z` for `z ≤ 1`, `2 sqrt(z) − 1` above: Huber's loss.
    Huber,
    /// `ρ(z) = ln(1 + z)`: the Cauchy (Lorentzian) loss.
    Cauchy,
    /// `ρ(z) = arctan(z)`: bounded by `π/2`, ignores gross outliers almost
    /// entirely.
    Arctan,
}

impl RobustLoss {
    /// `[ρ(z), ρ'(z), ρ''(z)]` for `z ≥ 0` (scipy's `rho` rows).
    pub fn rho(self, z: f64) -> [f64; 3] {
        match self {
            RobustLoss::Linear => [z, 1.0, 0.0],
            RobustLoss::SoftL1 => {
                let t = 1.0 + z;
                let s = t.sqrt();
                // 2 (s − 1) without cancellation for small z (scipy's form
                // loses every digit below z ≈ ε, and F with it).
                [2.0 * z / (s + 1.0), 1.0 / s, -0.5 / (t * s)]
            }
            RobustLoss::Huber => {
                if z <= 1.0 {
                    [z, 1.0, 0.0]
                } else {
                    let s = z.sqrt();
                    [2.0 * s - 1.0, 1.0 / s, -0.5 / (z * s)]
                }
            }
            RobustLoss::Cauchy => {
                let t = 1.0 + z;
                [z.ln_1p(), 1.0 / t, -1.0 / (t * t)]
            }
            RobustLoss::Arctan => {
                let t = 1.0 + z * z;
                [z.atan(), 1.0 / t, -2.0 * z / (t * t)]
            }
        }
    }

    /// The objective `F = C² Σ ρ((rᵢ/C)²)` (twice scipy's `cost`); for
    /// [`RobustLoss::Linear`] exactly `Σ rᵢ²`.
    pub fn objective(self, r: &[f64], f_scale: f64) -> f64 {
        match self {
            RobustLoss::Linear => r.iter().map(|v| v * v).sum(),
            _ => {
                let c2 = f_scale * f_scale;
                c2 * r
                    .iter()
                    .map(|&v| {
                        let u = v / f_scale;
                        self.rho(u * u)[0]
                    })
                    .sum::<f64>()
            }
        }
    }

    /// Triggs et al.'s scaling of residual `r` (module docs): `(ρ'/w, w)`,
    /// the factor of the residual and of its Jacobian row, with
    /// `w = sqrt(max(ρ' + 2 ρ'' z, ε))`.
    pub fn scaling(self, r: f64, f_scale: f64) -> (f64, f64) {
        let u = r / f_scale;
        let z = u * u;
        let [_, d1, d2] = self.rho(z);
        let w = (d1 + 2.0 * d2 * z).max(f64::EPSILON).sqrt();
        (d1 / w, w)
    }

    /// scipy's name (`"soft_l1"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            RobustLoss::Linear => "linear",
            RobustLoss::SoftL1 => "soft_l1",
            RobustLoss::Huber => "huber",
            RobustLoss::Cauchy => "cauchy",
            RobustLoss::Arctan => "arctan",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [RobustLoss; 5] = [
        RobustLoss::Linear,
        RobustLoss::SoftL1,
        RobustLoss::Huber,
        RobustLoss::Cauchy,
        RobustLoss::Arctan,
    ];

    /// ρ' and ρ'' against central differences of ρ and ρ'.
    #[test]
    fn derivatives_match_finite_differences() {
        for loss in ALL {
            for z in [0.01, 0.3, 0.9, 1.7, 4.0, 25.0] {
                let h = 1e-6 * z;
                let [_, d1, d2] = loss.rho(z);
                let fd1 = (loss.rho(z + h)[0] - loss.rho(z - h)[0]) / (2.0 * h);
                let fd2 = (loss.rho(z + h)[1] - loss.rho(z - h)[1]) / (2.0 * h);
                assert!((d1 - fd1).abs() < 1e-7 * (1.0 + d1.abs()), "{loss:?} {z}");
                assert!((d2 - fd2).abs() < 1e-6 * (1.0 + d2.abs()), "{loss:?} {z}");
            }
            // ρ(z) ≈ z near 0.
            let [r, d1, _] = loss.rho(1e-12);
            assert!((r - 1e-12).abs() < 1e-20 && (d1 - 1.0).abs() < 1e-11);
        }
    }

    /// The scaled model reproduces the gradient ρ' r and the corrected
    /// curvature ρ' + 2ρ''z wherever that is positive.
    #[test]
    fn scaling_gives_gradient_and_curvature() {
        for loss in ALL {
            for r in [-3.0, -0.4, 0.1, 0.8, 2.5] {
                let c = 0.7;
                let (fs, w) = loss.scaling(r, c);
                let z = (r / c) * (r / c);
                let [_, d1, d2] = loss.rho(z);
                assert!(((fs * r) * w - d1 * r).abs() < 1e-14);
                let curv = d1 + 2.0 * d2 * z;
                if curv > f64::EPSILON {
                    assert!((w * w - curv).abs() < 1e-14);
                } else {
                    assert_eq!(w * w, f64::EPSILON);
                }
            }
        }
    }
}
