//! BFGS with the inverse-Hessian update.
//!
//! Nocedal & Wright, *Numerical Optimization* (2nd ed., 2006), §6.1,
//! Algorithm 6.1. Notation: `s_k = x_{k+1} − x_k`, `y_k = ∇f_{k+1} − ∇f_k`,
//! `ρ_k = 1 / (y_kᵀ s_k)`, `H_k ≈ ∇²f(x_k)⁻¹`; comments "N&W (6.17)" point
//! into the book.
//!
//! - Direction `d_k = −H_k ∇f_k`, step `x_{k+1} = x_k + α_k d_k` (N&W (6.18)).
//! - Update N&W (6.17): `H_{k+1} = (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ`,
//!   applied in place in its expanded form
//!   `H + (ρ² yᵀHy + ρ) s sᵀ − ρ (H y sᵀ + s yᵀH)`, one pass over `H` and
//!   one vector `H y` of scratch: `O(n²)` work, no allocation.
//! - Initial matrix `H_0 = I` for the first step, then, before the first update,
//!   `H_0 = (s_0ᵀy_0 / y_0ᵀy_0) I` (N&W (6.20)) unless
//!   [`with_initial_scaling(false)`](Bfgs::with_initial_scaling).
//!
//! Deviations from the book: a pair with too little curvature is skipped or
//! damped ([`CurvatureGuard`]); a direction that is not a descent direction
//! (rounding has made `H_k` indefinite) resets `H_k = I` and retries; so does
//! a line search that fails along `−H_k ∇f_k` (once per iteration, with the
//! first iteration's initial step), before the run ends in
//! [`Termination::LineSearchFailed`]. On the MGH protocol this reset turns
//! several failures far from `x*` into solves (see `tests/mgh_protocol.rs`).
//! A failed search whose trials were all finite and none below `f_k` ends
//! the run at once: rounding is the cause, and `−∇f_k` would meet the same
//! floor. The search with its restart is the step L-BFGS and nonlinear CG
//! make too (`linesearch::step`), the acceptance of a pair L-BFGS's
//! (`quasi_newton::pair`).

use serde::{Deserialize, Serialize};

use super::pair::{CURVATURE_EPS, Pair, accept_pair};
use super::{CurvatureGuard, F_EPS, UnitLengthFirstStep};
use crate::linesearch::step::{Buffers, Direction, Searcher, search_step};
use crate::linesearch::{InitialStep, LineSearch, MoreThuente, dot};
use crate::problem::{Counted, Gradient, Objective};
use crate::solver::{
    Error, Minimizer, Report, RunOptions, State, Termination, check_positive, float_serde,
    inf_norm, run_options,
};

/// BFGS: quasi-Newton with the dense inverse-Hessian update, N&W (6.17).
///
/// Defaults: line search [`MoreThuente`] for the strong Wolfe conditions with
/// `c₁ = 1e-4`, `c₂ = 0.9` (N&W p. 142) and a rounding allowance of
/// `1e-14 |f|` in the sufficient-decrease test ([`MoreThuente::with_f_eps`]);
/// initial step [`UnitLengthFirstStep`], `1/‖g₀‖₂` on the first iteration
/// and `1` after it, as scipy's L-BFGS-B (its `BFGS` tries
/// `min(1, 1.01/‖g₀‖₂)`);
/// `H_0` scaled by N&W (6.20); pairs with `sᵀy ≤ 1e-10 ‖s‖‖y‖` skipped.
///
/// # Requirements on the optimization problem
/// [`Gradient`]; `O(n²)` memory, so for `n` beyond a few thousand use
/// [`Lbfgs`](super::Lbfgs).
///
/// # Example
/// ```
/// use hesse::prelude::*;
/// use hesse::problems::Rosenbrock;
///
/// let report = Bfgs::default().with_gtol(1e-8).minimize(&Rosenbrock::new(2), &[-1.2, 1.0]).unwrap();
/// assert!(report.converged());
/// assert!((report.x[0] - 1.0).abs() < 1e-6 && (report.x[1] - 1.0).abs() < 1e-6);
/// ```
///
/// # Reference
/// Nocedal & Wright, *Numerical Optimization*, 2nd ed., Springer 2006, §6.1.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Bfgs<L = MoreThuente, I = UnitLengthFirstStep> {
    options: RunOptions,
    line_search: L,
    initial_step: I,
    initial_scaling: bool,
    guard: CurvatureGuard,
    #[serde(with = "crate::solver::float_serde")]
    curvature_eps: f64,
    /// `H_k`, `n × n`, column-major, both triangles stored (exactly symmetric).
    #[serde(with = "float_serde::vec")]
    h: Vec<f64>,
    /// Updates made so far (the first one applies the scaling N&W (6.20)).
    updates: u64,
    #[serde(skip)]
    work: Work,
}

/// Scratch vectors, sized once per run.
#[derive(Debug, Clone, Default)]
struct Work {
    d: Vec<f64>,
    x_trial: Vec<f64>,
    g_trial: Vec<f64>,
    /// `s_k`, then `y_k` (or its damped `r_k`), then `H_k y_k`.
    s: Vec<f64>,
    y: Vec<f64>,
    hy: Vec<f64>,
}

impl Work {
    fn new(n: usize) -> Self {
        Work {
            d: vec![0.0; n],
            x_trial: vec![0.0; n],
            g_trial: vec![0.0; n],
            s: vec![0.0; n],
            y: vec![0.0; n],
            hy: vec![0.0; n],
        }
    }
}

impl Default for Bfgs {
    fn default() -> Self {
        Self::with_line_search(MoreThuente::default().with_f_eps(F_EPS))
    }
}

impl<L> Bfgs<L> {
    /// BFGS with the given line search (any [`LineSearch`]) and the default
    /// initial step.
    pub fn with_line_search(line_search: L) -> Self {
        Bfgs {
            options: RunOptions::default(),
            line_search,
            initial_step: UnitLengthFirstStep::default(),
            initial_scaling: true,
            guard: CurvatureGuard::Skip,
            curvature_eps: CURVATURE_EPS,
            h: Vec::new(),
            updates: 0,
            work: Work::default(),
        }
    }
}

impl<L, I> Bfgs<L, I> {
    /// Uses `initial_step` for the first trial of each line search.
    pub fn with_initial_step<J: InitialStep>(self, initial_step: J) -> Bfgs<L, J> {
        Bfgs {
            options: self.options,
            line_search: self.line_search,
            initial_step,
            initial_scaling: self.initial_scaling,
            guard: self.guard,
            curvature_eps: self.curvature_eps,
            h: self.h,
            updates: self.updates,
            work: self.work,
        }
    }

    /// Whether to scale `H_0 = (s_0ᵀy_0 / y_0ᵀy_0) I` before the first update
    /// (N&W (6.20); default `true`). With `false`, `H_0 = I` throughout, the
    /// form in which BFGS with exact line searches reproduces conjugate
    /// gradients on a quadratic.
    #[must_use]
    pub fn with_initial_scaling(mut self, scale: bool) -> Self {
        self.initial_scaling = scale;
        self
    }

    /// What to do with a pair of too little curvature (default
    /// [`CurvatureGuard::Skip`]).
    #[must_use]
    pub fn with_curvature_guard(mut self, guard: CurvatureGuard) -> Self {
        self.guard = guard;
        self
    }

    /// The threshold `ε` of the curvature test `sᵀy ≤ ε ‖s‖‖y‖` (default
    /// `1e-10`; must be finite and `> 0`).
    #[must_use]
    pub fn with_curvature_eps(mut self, eps: f64) -> Self {
        self.curvature_eps = eps;
        self
    }

    /// The inverse-Hessian approximation `H_k`, `n × n` column-major (empty
    /// before a run).
    pub fn inverse_hessian(&self) -> &[f64] {
        &self.h
    }

    /// Runs to the end from `x0`.
    pub fn minimize<P: Gradient + ?Sized>(&self, problem: &P, x0: &[f64]) -> Result<Report, Error>
    where
        L: LineSearch + Clone,
        I: InitialStep + Clone,
    {
        crate::solver::minimize(self.clone(), problem, x0)
    }
}

run_options!([L, I] Bfgs<L, I>);

/// Sets `h` (`n × n`) to `c I`.
fn set_scaled_identity(h: &mut [f64], n: usize, c: f64) {
    h.iter_mut().for_each(|v| *v = 0.0);
    for i in 0..n {
        h[i * n + i] = c;
    }
}

/// `out = H v` for symmetric `H` (`n × n`, column-major): a sum of columns, so
/// `H` streams through memory once.
fn sym_mat_vec(h: &[f64], v: &[f64], out: &mut [f64]) {
    let n = v.len();
    out.iter_mut().for_each(|o| *o = 0.0);
    for (j, col) in h.chunks_exact(n).enumerate() {
        let vj = v[j];
        for (o, &hij) in out.iter_mut().zip(col) {
            *o += hij * vj;
        }
    }
}

/// The BFGS inverse update N&W (6.17) in place, in the expanded form
/// `H ← H − ρ (s (Hy)ᵀ + (Hy) sᵀ) + (ρ² yᵀHy + ρ) s sᵀ` with `ρ = 1/(sᵀy)`.
/// `hy` is scratch of length `n`. Entry `(i, j)` and `(j, i)` are computed by
/// the same commuted operations, so a symmetric `H` stays exactly symmetric.
///
/// Requires `sᵀy > 0`; then `H` stays positive definite (N&W p. 141).
pub(crate) fn bfgs_inverse_update(h: &mut [f64], s: &[f64], y: &[f64], hy: &mut [f64]) {
    let n = s.len();
    let rho = 1.0 / dot(s, y);
    sym_mat_vec(h, y, hy);
    let y_h_y = dot(y, hy);
    let c = rho * rho * y_h_y + rho;
    for (j, col) in h.chunks_exact_mut(n).enumerate() {
        let (sj, hyj) = (s[j], hy[j]);
        for ((hij, &si), &hyi) in col.iter_mut().zip(s).zip(hy.iter()) {
            *hij += c * (si * sj) - rho * (si * hyj + hyi * sj);
        }
    }
}

impl<P: Gradient, L: LineSearch, I: InitialStep> Minimizer<P> for Bfgs<L, I> {
    fn name(&self) -> &'static str {
        "bfgs"
    }

    fn check_resume(&self, problem: &Counted<P>) -> Result<(), Error> {
        let n = problem.dim();
        let nn = n.saturating_mul(n);
        crate::solver::check_saved("the checkpoint's inverse Hessian", self.h.len(), nn)
    }

    fn options(&self) -> &RunOptions {
        &self.options
    }

    fn dim(&self, problem: &Counted<P>) -> usize {
        problem.dim()
    }

    fn init(&mut self, problem: &Counted<P>, state: &mut State) -> Result<(), Error> {
        check_positive("curvature_eps", self.curvature_eps)?;
        self.line_search.validate()?;
        self.line_search.reset();
        self.initial_step.reset();
        let n = state.x.len();
        crate::solver::check_dense(
            "BFGS",
            &format!("a dense n × n inverse Hessian at n = {n}"),
            n.checked_mul(n),
            ": use Lbfgs",
        )?;
        self.h = vec![0.0; n * n];
        set_scaled_identity(&mut self.h, n, 1.0);
        self.updates = 0;
        self.work = Work::new(n);
        state.f = problem.value_grad(&state.x, &mut state.g);
        Ok(())
    }

    fn next_iter(&mut self, problem: &Counted<P>, state: &mut State) -> Option<Termination> {
        let n = state.x.len();
        if self.work.d.len() != n {
            // Resumed from a checkpoint: the scratch vectors were not serialized.
            self.work = Work::new(n);
        }
        let Work {
            d,
            x_trial,
            g_trial,
            s,
            y,
            ..
        } = &mut self.work;
        let mut dir = BfgsDirection {
            h: &mut self.h,
            updates: &mut self.updates,
        };
        let searcher = Searcher {
            line_search: &mut self.line_search,
            initial_step: &mut self.initial_step,
        };
        let buffers = Buffers {
            d,
            x_trial,
            g_trial,
        };
        let step = match search_step(problem, state, &mut dir, searcher, buffers) {
            Ok(step) => step,
            Err(t) => return Some(t),
        };

        // s_k, y_k and their products in one pass.
        let (mut sy, mut ss, mut yy, mut sg) = (0.0, 0.0, 0.0, 0.0);
        let mut step_norm = 0.0f64;
        for i in 0..n {
            let si = x_trial[i] - state.x[i];
            let yi = g_trial[i] - state.g[i];
            s[i] = si;
            y[i] = yi;
            sy += si * yi;
            ss += si * si;
            yy += yi * yi;
            sg += si * state.g[i];
            step_norm = step_norm.max(si.abs());
        }
        let pair = Pair {
            f: step.f,
            alpha: step.alpha,
            sy,
            ss,
            yy,
            sg,
        };
        let y_and_g = std::iter::once((y.as_mut_slice(), state.g.as_slice()));
        let (guard, eps) = (self.guard, self.curvature_eps);
        match accept_pair(guard, eps, &pair, y_and_g, "BFGS update", &mut state.note) {
            Err(t) => return Some(t),
            Ok(Some(kept)) => self.update(n, kept.sy, kept.yy),
            Ok(None) => {}
        }

        let Work {
            x_trial, g_trial, ..
        } = &mut self.work;
        state.step_norm = step_norm;
        state.alpha = step.alpha;
        state.f = step.f;
        std::mem::swap(&mut state.x, x_trial);
        std::mem::swap(&mut state.g, g_trial);
        None
    }

    fn previous_iterate(&self) -> Option<(&[f64], &[f64])> {
        // After the swap above, the trial buffers hold x_k and g_k.
        Some((&self.work.x_trial, &self.work.g_trial))
    }
}

/// BFGS's direction `d_k = −H_k ∇f_k` (N&W (6.18)) for the shared line-search
/// step; forgetting resets `H_k = I`.
struct BfgsDirection<'a> {
    h: &'a mut [f64],
    updates: &'a mut u64,
}

impl Direction for BfgsDirection<'_> {
    const NOT_DESCENT: &'static str = "reset H = I: d = −H g was not a descent direction";
    const RETRIED: &'static str = "reset H = I: the line search failed along −H g";
    const RESTART_INITIAL_STEP: bool = true;

    fn direction(&mut self, g: &[f64], d: &mut [f64]) -> (f64, f64) {
        sym_mat_vec(self.h, g, d);
        d.iter_mut().for_each(|v| *v = -*v);
        (dot(g, d), inf_norm(d))
    }

    fn can_forget(&self) -> bool {
        *self.updates > 0
    }

    fn forget(&mut self, g: &[f64], _d: &mut [f64]) {
        set_scaled_identity(self.h, g.len(), 1.0);
        *self.updates = 0;
    }

    /// `H_k` has lost positive definiteness to rounding: `H = I` and
    /// `d = −g` (written directly, not as `−I g`).
    fn restart(&mut self, g: &[f64], d: &mut [f64]) -> (f64, f64) {
        self.forget(g, d);
        for (di, gi) in d.iter_mut().zip(g) {
            *di = -gi;
        }
        (dot(g, d), inf_norm(d))
    }
}

impl<L, I> Bfgs<L, I> {
    /// Applies (6.17) with the pair in `work.s`, `work.y`, given `sᵀy` and `yᵀy`.
    fn update(&mut self, n: usize, sy: f64, yy: f64) {
        if self.updates == 0 && self.initial_scaling {
            // N&W (6.20): H_0 = (sᵀy / yᵀy) I before the first update.
            set_scaled_identity(&mut self.h, n, sy / yy);
        }
        bfgs_inverse_update(&mut self.h, &self.work.s, &self.work.y, &mut self.work.hy);
        self.updates += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::DMatrix;
    use proptest::prelude::*;

    #[test]
    fn update_satisfies_the_secant_equation() {
        let n = 4;
        let mut h = vec![0.0; n * n];
        set_scaled_identity(&mut h, n, 1.0);
        let s = [1.0, -0.5, 0.25, 2.0];
        let y = [2.0, -0.1, 0.3, 1.0];
        let mut hy = vec![0.0; n];
        bfgs_inverse_update(&mut h, &s, &y, &mut hy);
        let mut out = vec![0.0; n];
        sym_mat_vec(&h, &y, &mut out);
        for i in 0..n {
            assert!((out[i] - s[i]).abs() < 1e-14, "H y = {out:?}, s = {s:?}");
        }
    }

    proptest! {
        /// N&W p. 141: if H_k is symmetric positive definite and sᵀy > 0, so is
        /// H_{k+1}; here over 6 successive random updates in n = 2..8, each
        /// checked by a Cholesky factorization and the secant equation.
        #[test]
        fn inverse_stays_symmetric_positive_definite(
            n in 2usize..8,
            pairs in proptest::collection::vec(
                (proptest::collection::vec(-1.0f64..1.0, 8), proptest::collection::vec(-1.0f64..1.0, 8)),
                6,
            ),
        ) {
            let mut h = vec![0.0; n * n];
            set_scaled_identity(&mut h, n, 1.0);
            let mut hy = vec![0.0; n];
            for (s, y) in &pairs {
                let s = &s[..n];
                let mut y = y[..n].to_vec();
                // Make the pair satisfy the curvature condition robustly:
                // y ← y + (|sᵀy| + 0.1 sᵀs) s / sᵀs ... sᵀy ≥ 0.1 sᵀs > 0.
                let ss = dot(s, s);
                prop_assume!(ss > 1e-6);
                let shift = (dot(s, &y).abs() + 0.1 * ss) / ss;
                y.iter_mut().zip(s).for_each(|(yi, si)| *yi += shift * si);
                prop_assert!(dot(s, &y) > 0.0);
                bfgs_inverse_update(&mut h, s, &y, &mut hy);
                let m = DMatrix::from_column_slice(n, n, &h);
                prop_assert_eq!(&m, &m.transpose());
                prop_assert!(m.clone().cholesky().is_some(), "not positive definite: {}", m);
                let mut out = vec![0.0; n];
                sym_mat_vec(&h, &y, &mut out);
                let scale = s.iter().map(|v| v.abs()).fold(0.0, f64::max);
                for i in 0..n {
                    prop_assert!((out[i] - s[i]).abs() <= 1e-8 * scale.max(1.0) * m.norm());
                }
            }
        }
    }
}
