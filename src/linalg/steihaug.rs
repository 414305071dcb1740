//! Steihaug-Toint truncated conjugate gradients for the trust-region subproblem.
//!
//! Steihaug (1983), Toint (1981); Nocedal & Wright (2006) Algorithm 7.2 (CG-Steihaug).
//! Approximately solves
//!
//! ```text
//! min_p  m(p) = gᵀp + ½ pᵀ B p    subject to  ‖p‖ ≤ Δ
//! ```
//!
//! by CG on `B p = −g` from `z_0 = 0`, in N&W's notation (`r_j = B z_j + g`,
//! `d_j` the search direction):
//!
//! ```text
//! r_0 = g, d_0 = −r_0; if ‖r_0‖ < ε: return 0
//! loop j = 0, 1, …
//!     if d_jᵀ B d_j ≤ 0: return the boundary point z_j + τ d_j, ‖·‖ = Δ, of least m
//!     α_j = r_jᵀ r_j / d_jᵀ B d_j,  z_{j+1} = z_j + α_j d_j
//!     if ‖z_{j+1}‖ ≥ Δ: return z_j + τ d_j with τ ≥ 0 and ‖·‖ = Δ
//!     r_{j+1} = r_j + α_j B d_j
//!     if ‖r_{j+1}‖ < ε: return z_{j+1}
//!     β_{j+1} = r_{j+1}ᵀ r_{j+1} / r_jᵀ r_j,  d_{j+1} = −r_{j+1} + β_{j+1} d_j
//! ```
//!
//! with `ε = rtol ‖g‖` (N&W take `ε_k = η_k ‖∇f_k‖`, `η_k` from
//! [`forcing_term`]). The iterates grow monotonically in norm (N&W Theorem 7.3),
//! which is why the first to leave the region ends the solve.
//!
//! Deviation: no preconditioner (N&W's Alg. 7.2 has none either; a
//! preconditioned variant changes the trust-region norm).
//!
//! The model value `m(p)` is returned as well: it is `½ pᵀ(r_p + g)` with
//! `r_p = B p + g`, updated from vectors already at hand, so the trust-region
//! ratio `ρ = (f(x) − f(x + p)) / (−m(p))` costs no extra product.

use super::{LinalgError, LinearOperator, axpy, check_finite_vec, check_len, dot, norm2};

/// The forcing term `η = min(0.5, √‖g‖)` of N&W Algorithm 7.1 (and Eq. 7.3):
/// solving the Newton system to relative residual `η_k` gives superlinear
/// convergence (N&W Theorem 7.2).
///
/// ```
/// assert_eq!(hesse::linalg::forcing_term(1e-4), 1e-2);
/// assert_eq!(hesse::linalg::forcing_term(4.0), 0.5);
/// ```
pub fn forcing_term(grad_norm: f64) -> f64 {
    0.5f64.min(grad_norm.sqrt())
}

/// How a Steihaug-CG solve ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SteihaugOutcome {
    /// Interior solution: `‖B p + g‖ < rtol ‖g‖` with `‖p‖ < Δ`.
    Converged,
    /// Non-positive curvature `d_jᵀ B d_j ≤ 0`: `p` is on the boundary.
    NegativeCurvature,
    /// The next CG iterate would leave the region: `p` is on the boundary.
    Boundary,
    /// The iteration cap was reached inside the region.
    MaxIterations,
    /// A non-finite product: `p` is the last finite iterate.
    Breakdown,
}

impl SteihaugOutcome {
    /// Whether the step lies on the trust-region boundary (`‖p‖ = Δ`).
    pub fn on_boundary(&self) -> bool {
        matches!(self, Self::NegativeCurvature | Self::Boundary)
    }
}

/// The result of [`SteihaugCg::solve`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SteihaugResult {
    /// CG steps taken.
    pub iterations: usize,
    /// Products with `B` (Hessian-vector evaluations).
    pub products: usize,
    /// `‖p‖`.
    pub step_norm: f64,
    /// `m(p) = gᵀp + ½ pᵀ B p` (≤ 0); the predicted reduction is `−m(p)`.
    pub model_value: f64,
    /// `‖B p + g‖`, the residual of the Newton equation at `p`.
    pub residual_norm: f64,
    /// Why it stopped.
    pub outcome: SteihaugOutcome,
}

/// Steihaug-Toint truncated CG: options and a workspace.
///
/// ```
/// use hesse::linalg::{SteihaugCg, SteihaugOutcome};
/// use nalgebra::DMatrix;
/// let b = DMatrix::from_row_slice(2, 2, &[2.0, 0.0, 0.0, 1.0]);
/// let g = [-2.0, -1.0]; // Newton step p = (1, 1), ‖p‖ = √2
/// let mut p = [0.0; 2];
/// let mut tr = SteihaugCg::new().with_rtol(1e-10).unwrap();
///
/// let res = tr.solve(&b, &g, 10.0, &mut p).unwrap();
/// assert_eq!(res.outcome, SteihaugOutcome::Converged);
/// assert!((p[0] - 1.0).abs() < 1e-12 && (p[1] - 1.0).abs() < 1e-12);
/// assert!((res.model_value + 1.5).abs() < 1e-12);
///
/// let res = tr.solve(&b, &g, 0.5, &mut p).unwrap();
/// assert_eq!(res.outcome, SteihaugOutcome::Boundary);
/// assert!((res.step_norm - 0.5).abs() < 1e-12);
/// ```
#[derive(Clone, Debug)]
pub struct SteihaugCg {
    rtol: f64,
    max_iter: Option<usize>,
    r: Vec<f64>,
    d: Vec<f64>,
    bd: Vec<f64>,
}

impl Default for SteihaugCg {
    fn default() -> Self {
        Self::new()
    }
}

impl SteihaugCg {
    /// Default options: `rtol = 0.5` (the cap of N&W's forcing term; set
    /// [`forcing_term`]`(‖g‖)` per outer iteration), at most `10 n` steps.
    pub fn new() -> Self {
        Self {
            rtol: 0.5,
            max_iter: None,
            r: Vec::new(),
            d: Vec::new(),
            bd: Vec::new(),
        }
    }

    /// The relative tolerance `η`: stop inside when `‖B p + g‖ < η ‖g‖`.
    pub fn with_rtol(mut self, rtol: f64) -> Result<Self, LinalgError> {
        self.set_rtol(rtol)?;
        Ok(self)
    }

    /// Sets `η` between solves (the forcing term of each outer iteration).
    pub fn set_rtol(&mut self, rtol: f64) -> Result<(), LinalgError> {
        if !(rtol.is_finite() && rtol >= 0.0) {
            return Err(LinalgError::invalid_option(
                "rtol",
                rtol,
                "must be finite and >= 0",
            ));
        }
        self.rtol = rtol;
        Ok(())
    }

    /// The iteration cap. Default `10 n`.
    pub fn with_max_iter(mut self, max_iter: usize) -> Self {
        self.max_iter = Some(max_iter);
        self
    }

    /// Solves the subproblem for `B`, `g` and radius `delta`, writing the step
    /// into `p`.
    ///
    /// Errors: lengths differ from `b.dim()`; `g` not finite; `delta` not
    /// finite and `> 0`.
    pub fn solve<B: LinearOperator + ?Sized>(
        &mut self,
        b: &B,
        g: &[f64],
        delta: f64,
        p: &mut [f64],
    ) -> Result<SteihaugResult, LinalgError> {
        let n = b.dim();
        check_len("g", g, n, "operator")?;
        check_len("p", p, n, "operator")?;
        check_finite_vec("g", g)?;
        if !(delta.is_finite() && delta > 0.0) {
            return Err(LinalgError::invalid_option(
                "delta",
                delta,
                "must be finite and > 0",
            ));
        }
        for v in [&mut self.r, &mut self.d, &mut self.bd] {
            v.resize(n, 0.0);
        }
        let max_iter = self.max_iter.unwrap_or(10 * n);

        // z_0 = 0 (held in p), r_0 = g, d_0 = −g.
        p.fill(0.0);
        self.r.copy_from_slice(g);
        for (di, gi) in self.d.iter_mut().zip(g) {
            *di = -gi;
        }
        let g_norm = norm2(g);
        let eps = self.rtol * g_norm;
        let mut rr = g_norm * g_norm;
        let mut products = 0;
        let finish = |p: &[f64], r: &[f64], iterations, products, outcome| {
            // m(p) = ½ pᵀ(r_p + g) where r_p = B p + g.
            let model_value = 0.5 * (dot(p, r) + dot(p, g));
            SteihaugResult {
                iterations,
                products,
                step_norm: norm2(p),
                model_value,
                residual_norm: norm2(r),
                outcome,
            }
        };
        if g_norm == 0.0 || g_norm < eps {
            return Ok(finish(p, &self.r, 0, 0, SteihaugOutcome::Converged));
        }

        for j in 0..max_iter {
            b.apply(&self.d, &mut self.bd);
            products += 1;
            let dbd = dot(&self.d, &self.bd);
            if !dbd.is_finite() {
                return Ok(finish(p, &self.r, j, products, SteihaugOutcome::Breakdown));
            }
            if dbd <= 0.0 {
                // Both boundary points z + τ±d; keep the one of least model value:
                // m(z + τd) − m(z) = τ rᵀd + ½ τ² dᵀBd.
                let (tau_minus, tau_plus) = boundary_roots(p, &self.d, delta);
                let rd = dot(&self.r, &self.d);
                let change = |t: f64| t * rd + 0.5 * t * t * dbd;
                let tau = if change(tau_minus) < change(tau_plus) {
                    tau_minus
                } else {
                    tau_plus
                };
                self.step_to(p, tau);
                return Ok(finish(
                    p,
                    &self.r,
                    j,
                    products,
                    SteihaugOutcome::NegativeCurvature,
                ));
            }
            let alpha = rr / dbd;
            // ‖z + α d‖ ≥ Δ ⇔ ‖z‖² + 2α zᵀd + α² dᵀd ≥ Δ².
            let zz = dot(p, p);
            let zd = dot(p, &self.d);
            let dd = dot(&self.d, &self.d);
            if zz + alpha * (2.0 * zd + alpha * dd) >= delta * delta {
                let (_, tau) = boundary_roots(p, &self.d, delta);
                self.step_to(p, tau);
                return Ok(finish(
                    p,
                    &self.r,
                    j + 1,
                    products,
                    SteihaugOutcome::Boundary,
                ));
            }
            axpy(alpha, &self.d, p);
            axpy(alpha, &self.bd, &mut self.r);
            let rr_next = dot(&self.r, &self.r);
            if !rr_next.is_finite() {
                return Ok(finish(
                    p,
                    &self.r,
                    j + 1,
                    products,
                    SteihaugOutcome::Breakdown,
                ));
            }
            if rr_next.sqrt() < eps {
                return Ok(finish(
                    p,
                    &self.r,
                    j + 1,
                    products,
                    SteihaugOutcome::Converged,
                ));
            }
            let beta = rr_next / rr;
            rr = rr_next;
            for (di, ri) in self.d.iter_mut().zip(&self.r) {
                *di = -ri + beta * *di;
            }
        }
        Ok(finish(
            p,
            &self.r,
            max_iter,
            products,
            SteihaugOutcome::MaxIterations,
        ))
    }

    /// `p ← p + τ d` and `r ← r + τ B d` (so that `r = B p + g` stays true).
    fn step_to(&mut self, p: &mut [f64], tau: f64) {
        axpy(tau, &self.d, p);
        axpy(tau, &self.bd, &mut self.r);
    }
}

/// The roots `τ₋ ≤ 0 ≤ τ₊` of `‖z + τ d‖ = Δ` for `‖z‖ ≤ Δ`, `d ≠ 0`, computed
/// without cancellation (G&VL §2.7 / Numerical Recipes' `q` formula).
fn boundary_roots(z: &[f64], d: &[f64], delta: f64) -> (f64, f64) {
    let a = dot(d, d);
    let b = 2.0 * dot(z, d);
    // c ≤ 0 because z is inside; clamp rounding.
    let c = (dot(z, z) - delta * delta).min(0.0);
    let disc = (b * b - 4.0 * a * c).max(0.0).sqrt();
    let q = -0.5 * (b + b.signum() * disc);
    if q == 0.0 {
        // b = 0 and c = 0: z on the boundary, d orthogonal to it.
        return (0.0, 0.0);
    }
    let (t1, t2) = (q / a, c / q);
    (t1.min(t2), t1.max(t2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundary_roots_from_origin() {
        let (lo, hi) = boundary_roots(&[0.0, 0.0], &[3.0, 4.0], 10.0);
        assert!((lo + 2.0).abs() < 1e-15 && (hi - 2.0).abs() < 1e-15);
    }

    #[test]
    fn negative_curvature_goes_to_the_boundary_downhill() {
        // B = −I: every direction has negative curvature.
        let b = nalgebra::DMatrix::from_diagonal_element(2, 2, -1.0);
        let mut p = [0.0; 2];
        let res = SteihaugCg::new()
            .solve(&b, &[1.0, 0.0], 2.0, &mut p)
            .unwrap();
        assert_eq!(res.outcome, SteihaugOutcome::NegativeCurvature);
        assert_eq!(p, [-2.0, 0.0]);
        // m(p) = gᵀp − ½‖p‖² = −2 − 2.
        assert!((res.model_value + 4.0).abs() < 1e-15);
    }
}
