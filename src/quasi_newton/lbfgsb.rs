//! L-BFGS-B: limited-memory BFGS on a box `l ≤ x ≤ u`.
//!
//! Byrd, Lu, Nocedal & Zhu, "A limited memory algorithm for bound constrained
//! optimization", *SIAM J. Sci. Comput.* 16 (1995) 1190-1208 (BLNZ); Morales &
//! Nocedal, "Remark on 'Algorithm 778: L-BFGS-B'", *ACM TOMS* 38 (2011) 7
//! (MN). Comments "BLNZ (3.x)" point into the paper; "Fortran" means Zhu,
//! Byrd, Lu & Nocedal's code, version 3.0 (the one scipy wraps).
//!
//! Notation: the last `m` pairs `s_i = x_{i+1} − x_i`, `y_i = g_{i+1} − g_i`
//! (oldest first), `S`, `Y` their `n × m` matrices, `θ = yᵀy / sᵀy` of the
//! newest pair; the compact matrix (BLNZ (3.2), Byrd, Nocedal & Schnabel
//! 1994) `B = θI − W M Wᵀ`, `W = [Y  θS]`,
//! `M = K⁻¹`, `K = [[−D, Lᵀ], [L, θSᵀS]]`, `L` the strictly lower triangle of
//! `SᵀY` and `D` its diagonal (BLNZ (3.3)-(3.4)). Each iteration:
//!
//! 1. the generalized Cauchy point `x^c`: the first local minimizer of the
//!    quadratic model along the projected steepest-descent path
//!    `P(x − t g)`, breakpoint after breakpoint (BLNZ §4, Algorithm CP), with
//!    `c = Wᵀ(x^c − x)` on the way;
//! 2. subspace minimization over the variables free at `x^c` by the direct
//!    primal method (BLNZ §5.1, (5.4)-(5.11)): `d^u = −B̂⁻¹ r^c` with
//!    `r^c = Zᵀ(g + θ(x^c − x) − W M c)`, through the Sherman-Morrison-Woodbury
//!    form of `B̂⁻¹` with the `2m × 2m` matrix `N = I − θ⁻¹ M WᵀZZᵀW`;
//! 3. MN's correction: `x̄ = P(x^c + d^u)` (the subspace step projected back
//!    onto the box); only if `(x̄ − x)ᵀg > 0` the step is backtracked to the
//!    box, `x̄ = x^c + α* d^u` with the largest feasible `α* ≤ 1` (BLNZ (5.8));
//! 4. a Moré-Thuente line search along `d = x̄ − x` with `c₁ = 1e-3`,
//!    `c₂ = 0.9`, `xtol = 0.1` and the largest step that stays in the box
//!    (Fortran `lnsrlb`): on the first iteration of a bounded run that step
//!    is 1, the trial `min(1/‖d‖₂, 1)` unless every variable has both bounds
//!    (then 1); later trials start at 1;
//! 5. the pair `(s, y)` is kept when `sᵀy > ε (−gᵀs)`, `ε` the machine
//!    epsilon (Fortran `matupd`'s test).
//!
//! With no finite bound there is no Cauchy point and no free set (the
//! Fortran code skips them from the second iteration on): the direction is
//! `−B⁻¹g = −H g`, L-BFGS's, and it is computed as [`Lbfgs`](super::Lbfgs)
//! computes it, by the compact form `H = γI + [S γY] M [Sᵀ; γYᵀ]` (BNS
//! (2.6)) over L-BFGS's blocked history with its streaming kernels
//! (`lbfgs.rs`, `kernels.rs`): two sweeps over the pairs per iteration, the
//! products `R` and `YᵀY` kept up to date from them, and the pair written by
//! one fused pass. The B form through the Sherman-Morrison-Woodbury matrix
//! `N` that a box needs costs about three times as much per iteration
//! (`W v`, `Wᵀv` and the new pair's products with every kept pair, each a
//! pass over the history). In exact arithmetic both give the same `d`; the
//! rounding differs, so runs without a finite bound do not repeat the B
//! form's iterates bit for bit.
//!
//! Deviations: every trial point of the line search is projected onto the
//! box (`x + α d` can leave it by rounding at `α` = the largest step), so no
//! point outside the box is ever evaluated; `WᵀZZᵀW` is computed over the
//! smaller of the free and the active set each iteration instead of the
//! Fortran code's incremental `formk`; a failed line search or an ascent
//! direction clears the memory and retries along the projected gradient
//! once (the Fortran code's restart), and a search at the box's largest step
//! that still descends ends there (`dcsrch`'s "stp = stpmax" warning, which
//! `lnsrlb` accepts).

// Index loops over several vectors at once read like the paper's
// componentwise formulas.
#![allow(clippy::needless_range_loop)]

use serde::{Deserialize, Serialize};

use super::F_EPS;
use super::lbfgs::{History as Pairs, Sweep, compact_direction};
use crate::linesearch::step::{Watched, no_decrease};
use crate::linesearch::{LineFunction, LineSearch, LineSearchError, MoreThuente, dot};
use crate::problem::{Counted, Gradient, Objective};
use crate::solver::{
    Bounds, Error, Minimizer, Report, RunOptions, State, Termination, float_serde, inf_norm,
    run_options,
};

/// L-BFGS-B (Byrd, Lu, Nocedal & Zhu 1995, with Morales & Nocedal's 2011
/// subspace step): limited-memory BFGS for `min f(x)` subject to
/// `l ≤ x ≤ u`.
///
/// Every iterate, trial point and line-search probe lies in the box, and a
/// start outside it is projected onto it first (the report's
/// `projected_start` says so). The run stops when the projected gradient
/// `‖P(x − g) − x‖∞ ≤ gtol` (L-BFGS-B's `pgtol`, [`with_gtol`](Self::with_gtol)),
/// or on the driver's `f`/`x` tolerances; the report's `grad_norm` is that
/// projected norm and `active` lists the variables at a bound.
///
/// Defaults: memory `m = 10` (scipy's `maxcor`); line search Moré-Thuente
/// with `c₁ = 1e-3`, `c₂ = 0.9`, `xtol = 0.1` (the Fortran code's `dcsrch`
/// call), with [`MoreThuente::with_f_eps`]`(1e-14)` as [`Lbfgs`](super::Lbfgs);
/// no bounds (then the method is L-BFGS with L-BFGS-B's first step).
///
/// # Requirements on the optimization problem
/// [`Gradient`], defined at least on the box (it is never evaluated
/// outside). Memory `2mn` doubles for the pairs plus `≈ 7n` of scratch;
/// without a finite bound L-BFGS's: `2 (m + 1) n` plus `3n`.
///
/// # Example
/// ```
/// use hesse::prelude::*;
/// use hesse::problems::Rosenbrock;
///
/// // Rosenbrock with x₀ ≤ 0.5: the minimizer (1, 1) is cut off.
/// let bounds = Bounds::new(vec![-2.0, -2.0], vec![0.5, 2.0]).unwrap();
/// let report = LbfgsB::default()
///     .with_bounds(bounds)
///     .with_gtol(1e-8)
///     .minimize(&Rosenbrock::new(2), &[-1.2, 1.0])
///     .unwrap();
/// assert!(report.converged());
/// assert_eq!(report.x[0], 0.5); // on its upper bound
/// assert!((report.x[1] - 0.25).abs() < 1e-7);
/// assert_eq!(report.active, Some(vec![(0, Side::Upper)]));
/// ```
///
/// # Reference
/// Byrd, Lu, Nocedal & Zhu (1995) §3-6; Morales & Nocedal (2011); Zhu, Byrd,
/// Lu & Nocedal, "Algorithm 778: L-BFGS-B", *ACM TOMS* 23 (1997).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LbfgsB {
    options: RunOptions,
    bounds: Option<Bounds>,
    memory: usize,
    line_search: MoreThuente,
    /// The pairs of a run in a box with a finite bound (the B form).
    history: History,
    /// The pairs of a run without a finite bound, in L-BFGS's compact store.
    #[serde(default)]
    pairs: Pairs,
    /// No line search has succeeded yet in this run (Fortran `iter = 0`).
    first: bool,
    #[serde(skip)]
    work: Work,
}

/// The pairs, oldest first from `oldest`, and their inner products.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct History {
    n: usize,
    m: usize,
    /// Slot `k`'s `s` at `k n .. (k + 1) n`.
    #[serde(with = "float_serde::vec")]
    s: Vec<f64>,
    #[serde(with = "float_serde::vec")]
    y: Vec<f64>,
    oldest: usize,
    len: usize,
    /// `s_iᵀy_j`, `s_iᵀs_j`, `y_iᵀy_j` by slots, `m × m`.
    #[serde(with = "float_serde::vec")]
    sy: Vec<f64>,
    #[serde(with = "float_serde::vec")]
    ss: Vec<f64>,
    #[serde(with = "float_serde::vec")]
    yy: Vec<f64>,
    /// `θ = yᵀy / sᵀy` of the newest pair (1 with none).
    #[serde(with = "float_serde")]
    theta: f64,
}

impl History {
    fn new(n: usize, m: usize) -> Self {
        History {
            n,
            m,
            s: vec![0.0; m * n],
            y: vec![0.0; m * n],
            oldest: 0,
            len: 0,
            sy: vec![0.0; m * m],
            ss: vec![0.0; m * m],
            yy: vec![0.0; m * m],
            theta: 1.0,
        }
    }

    /// The slot of the `c`-th pair, oldest first.
    fn slot(&self, c: usize) -> usize {
        (self.oldest + c) % self.m
    }

    fn s_of(&self, c: usize) -> &[f64] {
        let k = self.slot(c);
        &self.s[k * self.n..(k + 1) * self.n]
    }

    fn y_of(&self, c: usize) -> &[f64] {
        let k = self.slot(c);
        &self.y[k * self.n..(k + 1) * self.n]
    }

    fn clear(&mut self) {
        self.len = 0;
        self.theta = 1.0;
    }

    /// Keeps `(s, y)`, dropping the oldest pair if `m` are kept.
    fn push(&mut self, s: &[f64], y: &[f64], sy: f64, yy: f64) {
        let (n, m) = (self.n, self.m);
        if self.len == m {
            self.oldest = (self.oldest + 1) % m;
            self.len -= 1;
        }
        let k = (self.oldest + self.len) % m;
        self.s[k * n..(k + 1) * n].copy_from_slice(s);
        self.y[k * n..(k + 1) * n].copy_from_slice(y);
        for c in 0..self.len {
            let j = self.slot(c);
            let (sj, yj) = (&self.s[j * n..(j + 1) * n], &self.y[j * n..(j + 1) * n]);
            self.sy[k * m + j] = dot(s, yj);
            self.sy[j * m + k] = dot(sj, y);
            let ss = dot(s, sj);
            self.ss[k * m + j] = ss;
            self.ss[j * m + k] = ss;
            let yyj = dot(y, yj);
            self.yy[k * m + j] = yyj;
            self.yy[j * m + k] = yyj;
        }
        self.sy[k * m + k] = sy;
        self.ss[k * m + k] = dot(s, s);
        self.yy[k * m + k] = yy;
        self.len += 1;
        self.theta = yy / sy;
    }
}

/// Scratch, sized once per run (the `n`-vectors but `d`, `x_trial` and
/// `g_trial` only in a box with a finite bound).
#[derive(Debug, Clone, Default)]
struct Work {
    /// The generalized Cauchy point `x^c`, then `x̄`.
    xcp: Vec<f64>,
    /// The Cauchy path's direction, then the search direction `x̄ − x`.
    d: Vec<f64>,
    /// `r = −r^c` on the free variables (0 elsewhere), then `d^u`.
    r: Vec<f64>,
    x_trial: Vec<f64>,
    g_trial: Vec<f64>,
    /// Whether a variable is at a bound at `x^c` (not in the subspace).
    at_bound: Vec<bool>,
    /// `(t_i, i)` of the breakpoints (capacity kept between iterations).
    breaks: Vec<(f64, usize)>,
    /// Indices of the free (or active, whichever is fewer) variables.
    index: Vec<usize>,
    /// `2m`-vectors and `2m × 2m` matrices.
    p: Vec<f64>,
    c: Vec<f64>,
    v: Vec<f64>,
    wb: Vec<f64>,
    k: SmallLu,
    n_mat: SmallLu,
    gram: Vec<f64>,
    /// `W v` for the subspace step.
    wv: Vec<f64>,
    /// The compact form's small vectors (no finite bound).
    sweep: Sweep,
}

impl Work {
    fn new(n: usize, m: usize, boxed: bool) -> Self {
        let nb = if boxed { n } else { 0 };
        Work {
            xcp: vec![0.0; nb],
            d: vec![0.0; n],
            r: vec![0.0; nb],
            x_trial: vec![0.0; n],
            g_trial: vec![0.0; n],
            at_bound: vec![false; nb],
            breaks: Vec::with_capacity(nb),
            index: Vec::with_capacity(nb),
            p: vec![0.0; 2 * m],
            c: vec![0.0; 2 * m],
            v: vec![0.0; 2 * m],
            wb: vec![0.0; 2 * m],
            k: SmallLu::default(),
            n_mat: SmallLu::default(),
            gram: vec![0.0; 4 * m * m],
            wv: vec![0.0; nb],
            sweep: Sweep::new(m),
        }
    }
}

/// A dense LU factorization with partial pivoting of a small matrix
/// (`2m × 2m`, row-major).
#[derive(Debug, Clone, Default)]
struct SmallLu {
    a: Vec<f64>,
    piv: Vec<usize>,
    dim: usize,
}

impl SmallLu {
    /// Factors `a` (`dim × dim`, row-major, taken over); `false` if singular.
    fn factor(&mut self, dim: usize) -> bool {
        self.dim = dim;
        self.piv.clear();
        let a = &mut self.a;
        for col in 0..dim {
            let (mut best, mut at) = (0.0f64, col);
            for row in col..dim {
                let v = a[row * dim + col].abs();
                if v > best {
                    best = v;
                    at = row;
                }
            }
            if !(best > 0.0 && best.is_finite()) {
                return false;
            }
            self.piv.push(at);
            if at != col {
                for j in 0..dim {
                    a.swap(col * dim + j, at * dim + j);
                }
            }
            let pivot = a[col * dim + col];
            for row in col + 1..dim {
                let l = a[row * dim + col] / pivot;
                a[row * dim + col] = l;
                for j in col + 1..dim {
                    a[row * dim + j] -= l * a[col * dim + j];
                }
            }
        }
        true
    }

    /// `b ← A⁻¹ b`.
    fn solve(&self, b: &mut [f64]) {
        let (a, dim) = (&self.a, self.dim);
        for (col, &at) in self.piv.iter().enumerate() {
            b.swap(col, at);
        }
        for row in 0..dim {
            let mut v = b[row];
            for j in 0..row {
                v -= a[row * dim + j] * b[j];
            }
            b[row] = v;
        }
        for row in (0..dim).rev() {
            let mut v = b[row];
            for j in row + 1..dim {
                v -= a[row * dim + j] * b[j];
            }
            b[row] = v / a[row * dim + row];
        }
    }
}

impl Default for LbfgsB {
    fn default() -> Self {
        LbfgsB {
            options: RunOptions::default(),
            bounds: None,
            memory: 10,
            line_search: MoreThuente::default()
                .with_c1(1e-3)
                .with_c2(0.9)
                .with_xtol(0.1)
                .with_f_eps(F_EPS),
            history: History::default(),
            pairs: Pairs::default(),
            first: true,
            work: Work::default(),
        }
    }
}

impl LbfgsB {
    /// Keeps every point in `bounds` (default: no bounds). Their length must
    /// be the problem's dimension (checked when the run starts).
    #[must_use]
    pub fn with_bounds(mut self, bounds: Bounds) -> Self {
        self.bounds = Some(bounds);
        self
    }

    /// Number of pairs kept, `m` (default 10, scipy's `maxcor`).
    #[must_use]
    pub fn with_memory(mut self, m: usize) -> Self {
        self.memory = m;
        self
    }

    /// The line search's options (its largest step is set by the box on
    /// every iteration).
    #[must_use]
    pub fn with_line_search(mut self, line_search: MoreThuente) -> Self {
        self.line_search = line_search;
        self
    }

    /// The bounds, if any.
    pub fn bounds(&self) -> Option<&Bounds> {
        self.bounds.as_ref()
    }

    /// Runs to the end from `x0` (projected onto the bounds if outside).
    pub fn minimize<P: Gradient + ?Sized>(&self, problem: &P, x0: &[f64]) -> Result<Report, Error> {
        crate::solver::minimize(self.clone(), problem, x0)
    }
}

run_options!(LbfgsB);

/// `φ(α) = f(P(x + α d))`: every probe projected onto the box.
struct BoxLine<'a, P: ?Sized> {
    problem: &'a P,
    bounds: Option<&'a Bounds>,
    x: &'a [f64],
    d: &'a [f64],
    x_trial: &'a mut [f64],
    g_trial: &'a mut [f64],
    /// The step whose gradient and value are in `g_trial`, and the value.
    at: f64,
    phi: f64,
}

impl<P: Gradient + ?Sized> BoxLine<'_, P> {
    fn move_to(&mut self, alpha: f64) {
        for ((xt, &x), &d) in self.x_trial.iter_mut().zip(self.x).zip(self.d) {
            *xt = x + alpha * d;
        }
        if let Some(b) = self.bounds {
            b.project(self.x_trial);
        }
    }

    /// Leaves `P(x + α d)` and its gradient in the buffers; returns `f` there.
    fn finish(&mut self, alpha: f64) -> f64 {
        if self.at.to_bits() != alpha.to_bits() {
            let _ = self.value_deriv(alpha);
        }
        self.phi
    }
}

impl<P: Gradient + ?Sized> LineFunction for BoxLine<'_, P> {
    fn value(&mut self, alpha: f64) -> f64 {
        self.move_to(alpha);
        self.at = f64::NAN;
        self.problem.value(self.x_trial)
    }

    fn value_deriv(&mut self, alpha: f64) -> (f64, f64) {
        self.move_to(alpha);
        self.phi = self.problem.value_grad(self.x_trial, self.g_trial);
        self.at = alpha;
        (self.phi, dot(self.g_trial, self.d))
    }
}

/// L-BFGS-B's largest step without bounds (`lnsrlb`'s `big`).
const STEP_MAX: f64 = 1e10;

impl LbfgsB {
    /// Builds `K = [[−D, Lᵀ], [L, θSᵀS]]` (BLNZ (3.4)) and factors it;
    /// `false` if it is singular.
    fn factor_k(&mut self) -> bool {
        let h = &self.history;
        let (len, m, theta) = (h.len, h.m, h.theta);
        let dim = 2 * len;
        let a = &mut self.work.k.a;
        a.clear();
        a.resize(dim * dim, 0.0);
        for i in 0..len {
            let si = h.slot(i);
            for j in 0..len {
                let sj = h.slot(j);
                // L_ij = s_iᵀy_j for i > j.
                let l_ij = if i > j { h.sy[si * m + sj] } else { 0.0 };
                let l_ji = if j > i { h.sy[sj * m + si] } else { 0.0 };
                a[i * dim + j] = if i == j { -h.sy[si * m + si] } else { 0.0 };
                a[i * dim + len + j] = l_ji; // Lᵀ
                a[(len + i) * dim + j] = l_ij; // L
                a[(len + i) * dim + len + j] = theta * h.ss[si * m + sj];
            }
        }
        self.work.k.factor(dim)
    }

    /// Row `i` of `W = [Y  θS]` into `wb`.
    fn w_row(h: &History, i: usize, wb: &mut [f64]) {
        let len = h.len;
        for c in 0..len {
            let k = h.slot(c);
            wb[c] = h.y[k * h.n + i];
            wb[len + c] = h.theta * h.s[k * h.n + i];
        }
    }

    /// `out = Wᵀ v` (length `2 len`).
    fn w_t(h: &History, v: &[f64], out: &mut [f64]) {
        let len = h.len;
        for c in 0..len {
            out[c] = dot(h.y_of(c), v);
            out[len + c] = h.theta * dot(h.s_of(c), v);
        }
    }

    /// `out += a · W v` on the entries where `mask` is false (all if `None`).
    fn w_times(h: &History, v: &[f64], a: f64, out: &mut [f64]) {
        let len = h.len;
        for c in 0..len {
            let (yc, sc) = (h.y_of(c), h.s_of(c));
            let (cy, cs) = (a * v[c], a * h.theta * v[len + c]);
            for ((o, &yi), &si) in out.iter_mut().zip(yc).zip(sc) {
                *o += cy * yi + cs * si;
            }
        }
    }

    /// The generalized Cauchy point (BLNZ Algorithm CP) into `work.xcp`,
    /// with `c = Wᵀ(x^c − x)` into `work.c` and the variables at a bound
    /// at `x^c` marked in `work.at_bound`.
    fn cauchy_point(&mut self, x: &[f64], g: &[f64], bounds: &Bounds) {
        let h = &self.history;
        let w = &mut self.work;
        let len = h.len;
        let theta = h.theta;
        let (lo, hi) = (bounds.lower(), bounds.upper());
        w.breaks.clear();
        // f1 = f'(0) = −dᵀd, d = −g on the variables free to move.
        let mut f1 = 0.0;
        for i in 0..x.len() {
            w.xcp[i] = x[i];
            let gi = g[i];
            let stuck =
                lo[i] == hi[i] || (x[i] <= lo[i] && gi >= 0.0) || (x[i] >= hi[i] && gi <= 0.0);
            w.at_bound[i] = stuck;
            if stuck || gi == 0.0 {
                w.d[i] = 0.0;
                continue;
            }
            w.d[i] = -gi;
            f1 -= gi * gi;
            let t = bounds.breakpoint(i, x[i], -gi);
            if t.is_finite() {
                w.breaks.push((t, i));
            }
        }
        let dim = 2 * len;
        // p = Wᵀd, c = 0 (BLNZ (4.4)-(4.5)).
        Self::w_t(h, &w.d, &mut w.p[..dim]);
        w.c[..dim].fill(0.0);
        // f'' = −θ f' − pᵀMp.
        let mut f2 = -theta * f1;
        let f2_org = f2;
        if len > 0 {
            w.v[..dim].copy_from_slice(&w.p[..dim]);
            w.k.solve(&mut w.v[..dim]);
            f2 -= dot(&w.v[..dim], &w.p[..dim]);
        }
        let mut dt_min = if f2 > 0.0 { -f1 / f2 } else { 0.0 };
        let mut t_old = 0.0;
        // Breakpoints in increasing order, from a heap (BLNZ §4: "heapsort").
        let mut heap: std::collections::BinaryHeap<Break> = std::mem::take(&mut w.breaks)
            .into_iter()
            .map(Break)
            .collect();
        while let Some(&Break((t, b))) = heap.peek() {
            let dt = t - t_old;
            if dt_min < dt {
                break;
            }
            heap.pop();
            // Variable b reaches its bound.
            let xb = if w.d[b] > 0.0 { hi[b] } else { lo[b] };
            let zb = xb - x[b];
            w.xcp[b] = xb;
            let gb = g[b];
            for j in 0..dim {
                w.c[j] += dt * w.p[j];
            }
            f1 += dt * f2 + gb * gb + theta * gb * zb;
            f2 -= theta * gb * gb;
            if len > 0 {
                Self::w_row(h, b, &mut w.wb[..dim]);
                w.v[..dim].copy_from_slice(&w.wb[..dim]);
                w.k.solve(&mut w.v[..dim]);
                let wmc = dot(&w.v[..dim], &w.c[..dim]);
                let wmp = dot(&w.v[..dim], &w.p[..dim]);
                let wmw = dot(&w.v[..dim], &w.wb[..dim]);
                for j in 0..dim {
                    w.p[j] += gb * w.wb[j];
                }
                f1 -= gb * wmc;
                f2 += -2.0 * gb * wmp - gb * gb * wmw;
            }
            f2 = f2.max(f64::EPSILON * f2_org);
            w.d[b] = 0.0;
            w.at_bound[b] = true;
            dt_min = if f2 > 0.0 { -f1 / f2 } else { 0.0 };
            t_old = t;
        }
        w.breaks = heap.into_vec().into_iter().map(|b| b.0).collect();
        let dt_min = dt_min.max(0.0);
        let t = t_old + dt_min;
        for i in 0..x.len() {
            if w.d[i] != 0.0 {
                w.xcp[i] = x[i] + t * w.d[i];
            }
        }
        // Rounding must not leave the box.
        bounds.project(&mut w.xcp);
        for j in 0..dim {
            w.c[j] += dt_min * w.p[j];
        }
    }

    /// Subspace minimization over the variables free at `x^c` (BLNZ §5.1)
    /// with MN's projection, leaving `x̄` in `work.xcp`. `all_free` skips
    /// the free set (no finite bound).
    fn subspace_min(&mut self, x: &[f64], g: &[f64], bounds: Option<&Bounds>, all_free: bool) {
        let h = &self.history;
        let w = &mut self.work;
        let (len, theta, n) = (h.len, h.theta, x.len());
        let dim = 2 * len;
        let free = |w: &Work, i: usize| all_free || !w.at_bound[i];
        // r = −r^c = −θ(x^c − x) − g + W M c on the free variables (BLNZ (5.4)).
        for i in 0..n {
            w.r[i] = if free(w, i) {
                -theta * (w.xcp[i] - x[i]) - g[i]
            } else {
                0.0
            };
        }
        if len == 0 {
            // B = θI: d^u = r / θ.
            for i in 0..n {
                w.r[i] /= theta;
            }
        } else {
            if w.c[..dim].iter().any(|&v| v != 0.0) {
                w.v[..dim].copy_from_slice(&w.c[..dim]);
                w.k.solve(&mut w.v[..dim]);
                let mc = w.v[..dim].to_vec();
                w.wv.fill(0.0);
                Self::w_times(h, &mc, 1.0, &mut w.wv);
                for i in 0..n {
                    if free(w, i) {
                        w.r[i] += w.wv[i];
                    }
                }
            }
            // v = M WᵀZ r (r is 0 off the free set).
            Self::w_t(h, &w.r, &mut w.v[..dim]);
            w.k.solve(&mut w.v[..dim]);
            // N = I − θ⁻¹ M WᵀZZᵀW (BLNZ (5.10)).
            Self::free_gram(h, w, all_free);
            let gram = w.gram[..dim * dim].to_vec();
            let mut col = vec![0.0; dim];
            let nm = &mut w.n_mat.a;
            nm.clear();
            nm.resize(dim * dim, 0.0);
            for j in 0..dim {
                for i in 0..dim {
                    col[i] = gram[i * dim + j];
                }
                w.k.solve(&mut col);
                for i in 0..dim {
                    nm[i * dim + j] = f64::from(u8::from(i == j)) - col[i] / theta;
                }
            }
            if w.n_mat.factor(dim) {
                w.n_mat.solve(&mut w.v[..dim]);
                // d^u = r/θ + θ⁻² ZᵀW v (BLNZ (5.11)).
                let v = w.v[..dim].to_vec();
                for i in 0..n {
                    w.r[i] /= theta;
                }
                w.wv.fill(0.0);
                Self::w_times(h, &v, 1.0 / (theta * theta), &mut w.wv);
                for i in 0..n {
                    if free(w, i) {
                        w.r[i] += w.wv[i];
                    }
                }
            } else {
                for i in 0..n {
                    w.r[i] /= theta;
                }
            }
        }
        let Some(b) = bounds else {
            for i in 0..n {
                w.xcp[i] += w.r[i];
            }
            return;
        };
        // MN: x̄ = P(x^c + d^u); keep it if x̄ − x descends.
        let mut dd_p = 0.0;
        for i in 0..n {
            let xi = if free(w, i) {
                (w.xcp[i] + w.r[i]).clamp(b.lower()[i], b.upper()[i])
            } else {
                w.xcp[i]
            };
            w.d[i] = xi;
            dd_p += (xi - x[i]) * g[i];
        }
        if dd_p <= 0.0 {
            w.xcp.copy_from_slice(&w.d);
            return;
        }
        // Otherwise backtrack to the box (BLNZ (5.8)): x^c + α* d^u.
        let mut alpha = 1.0f64;
        let mut blocking = None;
        for i in 0..n {
            if free(w, i) {
                let a = b.breakpoint(i, w.xcp[i], w.r[i]);
                if a < alpha {
                    alpha = a;
                    blocking = Some(i);
                }
            }
        }
        for i in 0..n {
            if free(w, i) {
                w.xcp[i] += alpha * w.r[i];
            }
        }
        if let Some(i) = blocking {
            w.xcp[i] = if w.r[i] > 0.0 {
                b.upper()[i]
            } else {
                b.lower()[i]
            };
        }
        b.project(&mut w.xcp);
    }

    /// `WᵀZZᵀW = [[Y_FᵀY_F, θ Y_FᵀS_F], [θ S_FᵀY_F, θ² S_FᵀS_F]]` into
    /// `work.gram` (`2len × 2len`, row-major), from the kept full products
    /// less the active rows, or from the free rows, whichever are fewer.
    fn free_gram(h: &History, w: &mut Work, all_free: bool) {
        let (len, m, n, theta) = (h.len, h.m, h.n, h.theta);
        let dim = 2 * len;
        let n_active = if all_free {
            0
        } else {
            w.at_bound.iter().filter(|&&a| a).count()
        };
        let from_free = n_active > n / 2;
        w.index.clear();
        if !all_free {
            w.index
                .extend((0..n).filter(|&i| w.at_bound[i] != from_free));
        }
        let g = &mut w.gram[..dim * dim];
        for a in 0..len {
            let (sa, ya) = (h.slot(a), h.s_of(a));
            let yya = h.y_of(a);
            for b in 0..len {
                let (sb, sbv, ybv) = (h.slot(b), h.s_of(b), h.y_of(b));
                let (mut yy, mut ys, mut ss) = if from_free {
                    (0.0, 0.0, 0.0)
                } else {
                    (h.yy[sa * m + sb], h.sy[sb * m + sa], h.ss[sa * m + sb])
                };
                let sign = if from_free { 1.0 } else { -1.0 };
                for &i in &w.index {
                    yy += sign * yya[i] * ybv[i];
                    ys += sign * yya[i] * sbv[i];
                    ss += sign * ya[i] * sbv[i];
                }
                g[a * dim + b] = yy;
                g[a * dim + len + b] = theta * ys;
                g[(len + b) * dim + a] = theta * ys;
                g[(len + a) * dim + len + b] = theta * theta * ss;
            }
        }
    }
}

/// A breakpoint `(t_i, i)` ordered for a min-heap on `t_i`.
#[derive(PartialEq)]
struct Break((f64, usize));

impl Eq for Break {}

impl PartialOrd for Break {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Break {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other
            .0
            .0
            .total_cmp(&self.0.0)
            .then(other.0.1.cmp(&self.0.1))
    }
}

impl<P: Gradient> Minimizer<P> for LbfgsB {
    fn name(&self) -> &'static str {
        "lbfgsb"
    }

    fn options(&self) -> &RunOptions {
        &self.options
    }

    fn dim(&self, problem: &Counted<P>) -> usize {
        problem.dim()
    }

    fn bounds(&self) -> Option<&Bounds> {
        self.bounds.as_ref()
    }

    fn init(&mut self, problem: &Counted<P>, state: &mut State) -> Result<(), Error> {
        if self.memory == 0 {
            return Err(Error::invalid_option("memory", 0, "must be >= 1"));
        }
        self.line_search.validate()?;
        let n = state.x.len();
        if (self.memory + 1).checked_mul(n).is_none() {
            return Err(Error::invalid_option(
                "memory",
                self.memory,
                "(memory + 1) n must fit in memory",
            ));
        }
        let boxed = self.is_boxed();
        if boxed {
            self.history = History::new(n, self.memory);
        } else {
            self.pairs = Pairs::new(n, self.memory);
        }
        self.work = Work::new(n, self.memory, boxed);
        self.first = true;
        state.f = problem.value_grad(&state.x, &mut state.g);
        Ok(())
    }

    fn next_iter(&mut self, problem: &Counted<P>, state: &mut State) -> Option<Termination> {
        let n = state.x.len();
        if self.work.d.len() != n {
            // Resumed from a checkpoint: the scratch was not serialized.
            self.work = Work::new(n, self.memory, self.is_boxed());
        }
        let bounds = self.bounds.take();
        let outcome = match bounds.as_ref().filter(|b| b.is_constrained()) {
            Some(b) => self.iterate(problem, state, b),
            None => self.iterate_free(problem, state),
        };
        self.bounds = bounds;
        outcome
    }

    fn previous_iterate(&self) -> Option<(&[f64], &[f64])> {
        // After the swap at the end of `iterate`, the trial buffers hold
        // x_k and g_k.
        Some((&self.work.x_trial, &self.work.g_trial))
    }
}

impl LbfgsB {
    /// Whether the run has a finite bound (and takes the B form's path).
    fn is_boxed(&self) -> bool {
        self.bounds.as_ref().is_some_and(Bounds::is_constrained)
    }

    /// One iteration in a box with a finite bound: Cauchy point, subspace
    /// step, search in the box, pair.
    fn iterate<P: Gradient>(
        &mut self,
        problem: &Counted<P>,
        state: &mut State,
        b: &Bounds,
    ) -> Option<Termination> {
        let n = state.x.len();
        let boxed =
            b.lower().iter().all(|v| v.is_finite()) && b.upper().iter().all(|v| v.is_finite());
        let mut restarted = false;
        let (alpha, f) = loop {
            let len = self.history.len;
            if len > 0 && !self.factor_k() {
                self.history.clear();
                state.note = Some("cleared L-BFGS-B memory: K was singular".into());
                continue;
            }
            let len = self.history.len;
            self.cauchy_point(&state.x, &state.g, b);
            self.subspace_min(&state.x, &state.g, Some(b), false);
            // d = x̄ − x.
            let w = &mut self.work;
            for i in 0..n {
                w.d[i] = w.xcp[i] - state.x[i];
            }
            let gd = dot(&state.g, &w.d);
            let d_norm2 = dot(&w.d, &w.d).sqrt();
            if gd >= 0.0 || gd.is_nan() {
                if len > 0 && !restarted && gd.is_finite() {
                    // Rounding made B indefinite on the subspace: restart.
                    self.history.clear();
                    restarted = true;
                    state.note = Some("cleared L-BFGS-B memory: ascent direction".into());
                    continue;
                }
                return Some(if d_norm2 == 0.0 {
                    Termination::NoProgress
                } else {
                    Termination::NotDescentDirection
                });
            }
            // The largest step in the box (Fortran lnsrlb).
            let step_max = if self.first {
                1.0
            } else {
                b.max_step(&state.x, &w.d).min(STEP_MAX)
            };
            let alpha0 = if self.first && !boxed {
                (1.0 / d_norm2).min(step_max)
            } else {
                1.0f64.min(step_max)
            };
            let mut line = BoxLine {
                problem,
                bounds: Some(b),
                x: &state.x,
                d: &w.d,
                x_trial: &mut w.x_trial,
                g_trial: &mut w.g_trial,
                at: f64::NAN,
                phi: f64::NAN,
            };
            let ls = &self.line_search;
            match lnsrlb(
                ls,
                step_max,
                &mut line,
                state.f,
                gd,
                alpha0,
                &mut state.note,
            ) {
                Ok(step) => break step,
                Err((t, retry)) if restarted || len == 0 || !retry => return Some(t),
                Err(_) => {
                    self.history.clear();
                    restarted = true;
                }
            }
        };
        if restarted && state.note.is_none() {
            state.note = Some("cleared L-BFGS-B memory: the line search failed".into());
        }
        if !f.is_finite() {
            state.note = Some(format!("non-finite f at alpha = {alpha:e}"));
            return Some(Termination::NonFiniteValue);
        }
        self.first = false;
        // s = x₊ − x into d, y = g₊ − g into r.
        let w = &mut self.work;
        let (mut sy, mut yy, mut sg) = (0.0, 0.0, 0.0);
        for i in 0..n {
            let s = w.x_trial[i] - state.x[i];
            let y = w.g_trial[i] - state.g[i];
            w.d[i] = s;
            w.r[i] = y;
            sy += s * y;
            yy += y * y;
            sg += s * state.g[i];
        }
        if !yy.is_finite() {
            state.note = Some(format!("non-finite gradient at alpha = {alpha:e}"));
            return Some(Termination::NonFiniteValue);
        }
        // Fortran matupd's test: keep the pair if sᵀy > ε (−gᵀs).
        if sy > f64::EPSILON * -sg && sy > 0.0 {
            self.history.push(&w.d, &w.r, sy, yy);
        } else {
            state.note = Some(format!("skipped L-BFGS-B pair: sᵀy = {sy:e}"));
        }
        state.step_norm = inf_norm(&w.d);
        state.alpha = alpha;
        state.f = f;
        std::mem::swap(&mut state.x, &mut w.x_trial);
        std::mem::swap(&mut state.g, &mut w.g_trial);
        None
    }

    /// One iteration without a finite bound: L-BFGS's direction by its
    /// compact form and kernels (see the module docs), L-BFGS-B's search,
    /// first step and pair test.
    fn iterate_free<P: Gradient>(
        &mut self,
        problem: &Counted<P>,
        state: &mut State,
    ) -> Option<Termination> {
        let mut restarted = false;
        let (alpha, f) = loop {
            let (h, w) = (&mut self.pairs, &mut self.work);
            let len = h.len;
            // d = −H g (BNS (2.6)); −g with no pair (H = I).
            w.sweep.set_order(h);
            let fresh = h.fresh.take();
            let (gd, d_max) = compact_direction(h, &state.g, &mut w.d, &mut w.sweep, fresh);
            if gd >= 0.0 || gd.is_nan() {
                if len > 0 && !restarted && gd.is_finite() {
                    // Rounding made H indefinite: restart.
                    h.clear();
                    restarted = true;
                    state.note = Some("cleared L-BFGS-B memory: ascent direction".into());
                    continue;
                }
                return Some(if d_max == 0.0 {
                    Termination::NoProgress
                } else {
                    Termination::NotDescentDirection
                });
            }
            let alpha0 = if self.first {
                (1.0 / dot(&w.d, &w.d).sqrt()).min(STEP_MAX)
            } else {
                1.0
            };
            let mut line = BoxLine {
                problem,
                bounds: None,
                x: &state.x,
                d: &w.d,
                x_trial: &mut w.x_trial,
                g_trial: &mut w.g_trial,
                at: f64::NAN,
                phi: f64::NAN,
            };
            let ls = &self.line_search;
            match lnsrlb(
                ls,
                STEP_MAX,
                &mut line,
                state.f,
                gd,
                alpha0,
                &mut state.note,
            ) {
                Ok(step) => break step,
                Err((t, retry)) if restarted || len == 0 || !retry => return Some(t),
                Err(_) => {
                    h.clear();
                    restarted = true;
                }
            }
        };
        if restarted && state.note.is_none() {
            state.note = Some("cleared L-BFGS-B memory: the line search failed".into());
        }
        if !f.is_finite() {
            state.note = Some(format!("non-finite f at alpha = {alpha:e}"));
            return Some(Termination::NonFiniteValue);
        }
        self.first = false;
        let (h, w) = (&mut self.pairs, &mut self.work);
        let (k, p) = h.pair_pass(&state.x, &w.x_trial, &state.g, &w.g_trial);
        if !p.yy.is_finite() {
            state.note = Some(format!("non-finite gradient at alpha = {alpha:e}"));
            return Some(Termination::NonFiniteValue);
        }
        // Fortran matupd's test: keep the pair if sᵀy > ε (−gᵀs).
        if p.sy > f64::EPSILON * -p.sg && p.sy > 0.0 {
            h.commit(self.memory, p.sy, p.yy, 1.0, alpha, true);
            // Sweep 1 of the next direction need not read the new pair.
            h.fresh = Some((k, p.sg_new, p.yg_new));
        } else {
            state.note = Some(format!("skipped L-BFGS-B pair: sᵀy = {:e}", p.sy));
        }
        state.step_norm = p.s_max;
        state.alpha = alpha;
        state.f = f;
        std::mem::swap(&mut state.x, &mut w.x_trial);
        std::mem::swap(&mut state.g, &mut w.g_trial);
        None
    }
}

/// Fortran `lnsrlb`: the Moré-Thuente search `ls` along `line` with the
/// largest step `step_max`, from `φ(0) = f0`, `φ'(0) = gd < 0` and the
/// first trial `alpha0`. `Ok((α, f))` leaves `x₊` and `g₊` in the line's
/// buffers; `Err((t, retry))` is a failure, its termination and whether a
/// search along the reset direction may do better (not after a non-descent
/// report or a search that saw only finite values and none below `f0`).
fn lnsrlb<P: Gradient + ?Sized>(
    ls: &MoreThuente,
    step_max: f64,
    line: &mut BoxLine<'_, P>,
    f0: f64,
    gd: f64,
    alpha0: f64,
    note: &mut Option<String>,
) -> Result<(f64, f64), (Termination, bool)> {
    let mut ls = ls.clone();
    ls.alpha_max = step_max.max(f64::MIN_POSITIVE);
    let mut watched = Watched::new(&mut *line);
    let e = match ls.search(&mut watched, f0, gd, alpha0) {
        Ok(step) => return Ok((step.alpha, line.finish(step.alpha))),
        // dcsrch's warnings "stp = stpmax" (φ still decreasing at the box's
        // edge) and "xtol test satisfied" (the bracket below 10 %,
        // `xtol = 0.1`) end lnsrlb's search at the step reached; here at the
        // best step seen, which decreased f.
        Err(
            LineSearchError::StepBound {
                best: Some((a, _)), ..
            }
            | LineSearchError::RoundingErrors {
                best: Some((a, _)), ..
            },
        ) => return Ok((a, line.finish(a))),
        Err(e) => e,
    };
    let t = watched.termination(&e);
    let evaluated = watched.only_finite();
    *note = Some(e.to_string());
    let retry = t != Termination::NotDescentDirection && !(evaluated && no_decrease(&e));
    Err((t, retry))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_lu_solves() {
        let mut lu = SmallLu {
            a: vec![0.0, 2.0, 1.0, 1.0, 1.0, 0.0, 3.0, 0.0, 1.0],
            ..Default::default()
        };
        let a = lu.a.clone();
        assert!(lu.factor(3));
        let x = [1.0, -2.0, 0.5];
        let mut b: Vec<f64> = (0..3)
            .map(|i| (0..3).map(|j| a[i * 3 + j] * x[j]).sum())
            .collect();
        lu.solve(&mut b);
        for i in 0..3 {
            assert!((b[i] - x[i]).abs() < 1e-14);
        }
    }
}
