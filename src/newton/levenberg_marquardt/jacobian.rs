//! `J` at an accepted point: evaluated (rescaled under a robust loss),
//! the gradient `g = 2 J̃ᵀ r̃`, the binding variables under bounds, the
//! pivoted QR `J P = Q R`, `Qᵀ r` and MINPACK's `gtol` measure.

use nalgebra::DMatrixView;

use super::{LevenbergMarquardt, RobustLoss, Scaling, enorm};
use crate::problem::{Counted, Residuals};
use crate::solver::State;

impl LevenbergMarquardt {
    /// Under a robust loss, `r̃ = (ρ'/w) r` from `iter.r` into `work.r_scaled`.
    pub(super) fn scale_residuals(&mut self) {
        if self.loss == RobustLoss::Linear {
            return;
        }
        let m = self.work.m;
        self.work.r_scaled.resize(m, 0.0);
        for (rt, &r) in self.work.r_scaled.iter_mut().zip(&self.iter.r) {
            *rt = self.loss.scaling(r, self.f_scale).0 * r;
        }
    }

    /// The residuals of the least-squares model: `r`, or `r̃` under a robust
    /// loss.
    pub(super) fn model_residuals(&self) -> &[f64] {
        if self.loss == RobustLoss::Linear {
            &self.iter.r
        } else {
            &self.work.r_scaled
        }
    }

    /// The column norms of the whole `J` (for `D`), also when binding
    /// columns were zeroed for the QR.
    pub(super) fn col_norms(&self) -> &[f64] {
        if self.work.any_binding {
            &self.work.full_col_norms
        } else {
            self.work.qr.col_norms()
        }
    }

    /// Marks the binding variables (Bertsekas 1982): at a bound with the
    /// gradient `g` pointing out of the box. Returns whether there is one.
    pub(super) fn mark_binding(&mut self, x: &[f64], g: &[f64]) -> bool {
        let Some(b) = &self.bounds else {
            return false;
        };
        let mut any = false;
        for j in 0..x.len() {
            let binding =
                (x[j] <= b.lower()[j] && g[j] >= 0.0) || (x[j] >= b.upper()[j] && g[j] <= 0.0);
            self.work.binding[j] = binding;
            any |= binding;
        }
        any
    }

    /// Factors `J` (in `iter.jac`; with the binding columns zeroed when
    /// there are bounds), forms `Qᵀ r` (`Qᵀ r̃`) and the MINPACK `gtol`
    /// measure. `x` and `g` are the current point and gradient (they decide
    /// the binding variables). Returns `None` when `J` has a non-finite
    /// entry.
    pub(super) fn factor_jacobian(&mut self, x: &[f64], g: &[f64]) -> Option<f64> {
        let (m, n) = (self.work.m, self.work.n);
        if !self.iter.jac.iter().all(|v| v.is_finite()) {
            return None;
        }
        self.work.any_binding = self.mark_binding(x, g);
        let w = &mut self.work;
        let factored = if w.any_binding {
            w.jac_free.clear();
            w.jac_free.extend_from_slice(&self.iter.jac);
            for j in 0..n {
                let col = &mut w.jac_free[j * m..(j + 1) * m];
                w.full_col_norms[j] = enorm(col);
                if w.binding[j] {
                    col.iter_mut().for_each(|v| *v = 0.0);
                }
            }
            w.qr.factor_pivoted_view(DMatrixView::from_slice(&w.jac_free, m, n))
        } else {
            w.qr.factor_pivoted_view(DMatrixView::from_slice(&self.iter.jac, m, n))
        };
        // Cannot fail: J was checked finite above.
        factored.ok()?;
        let rt = if self.loss == RobustLoss::Linear {
            &self.iter.r
        } else {
            &w.r_scaled
        };
        w.qtr.copy_from_slice(rt);
        w.qr.apply_qt_mut(&mut w.qtr).ok()?;
        w.qtf.copy_from_slice(&w.qtr[..n]);
        // gnorm = max_j |(J P)_jᵀ r| / (‖J_j‖ ‖r‖), with (JP)ᵀ r = Rᵀ Qᵀ r.
        let rnorm = if self.loss == RobustLoss::Linear {
            self.iter.rnorm
        } else {
            enorm(rt)
        };
        let (r, perm, col_norms) = (w.qr.qr_dirty(), w.qr.perm(), w.qr.col_norms());
        let mut gnorm = 0.0f64;
        if rnorm != 0.0 {
            for j in 0..n {
                let l = perm[j];
                if col_norms[l] != 0.0 {
                    let s: f64 = (0..=j).map(|i| r[(i, j)] * (w.qtf[i] / rnorm)).sum();
                    gnorm = gnorm.max((s / col_norms[l]).abs());
                }
            }
        }
        Some(gnorm)
    }

    /// Evaluates `J` at `state.x` (rescaled to `J̃` under a robust loss),
    /// writes `g = 2Jᵀr` (`2J̃ᵀr̃ = ∇F`), factors `J`. Returns the `gtol`
    /// measure, or `None` if `J` is not finite (then `g` is NaN and the
    /// driver ends the run).
    pub(super) fn jacobian_at<P: Residuals>(
        &mut self,
        problem: &Counted<P>,
        state: &mut State,
    ) -> Option<f64> {
        let (m, n) = (self.work.m, self.work.n);
        problem.jacobian(&state.x, &mut self.work.jac);
        self.iter.jac.copy_from_slice(self.work.jac.as_slice());
        if self.loss != RobustLoss::Linear {
            // Triggs et al. (2000) §4.3: J̃ᵢ = wᵢ Jᵢ.
            for i in 0..m {
                let (_, w) = self.loss.scaling(self.iter.r[i], self.f_scale);
                for j in 0..n {
                    self.iter.jac[i + j * m] *= w;
                }
            }
        }
        self.scale_residuals();
        let rt = self.model_residuals();
        for (j, gj) in state.g.iter_mut().enumerate() {
            let col = &self.iter.jac[j * m..(j + 1) * m];
            *gj = 2.0 * col.iter().zip(rt).map(|(a, b)| a * b).sum::<f64>();
        }
        debug_assert_eq!(state.g.len(), n);
        let gnorm = self.factor_jacobian(&state.x, &state.g);
        if gnorm.is_none() {
            state.g.iter_mut().for_each(|g| *g = f64::NAN);
        }
        gnorm
    }

    /// Moré §6: `D` keeps the largest column norms of `J` seen (`mode = 1`);
    /// a fixed `D` stays.
    pub(super) fn update_scaling(&mut self) {
        if self.scaling == Scaling::ColumnNorms {
            let norms = if self.work.any_binding {
                &self.work.full_col_norms
            } else {
                self.work.qr.col_norms()
            };
            for (d, &c) in self.iter.diag.iter_mut().zip(norms) {
                *d = d.max(c);
            }
        }
    }
}
