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
//! one fused pass. In exact arithmetic this is the B form's `d`; the
//! rounding differs, so runs without a finite bound do not repeat the B
//! form's iterates bit for bit.
//!
//! In a box the pairs live in the same blocked layout (`m + 1` slots, a new
//! pair committed only if it passes the test), and an iteration reads them
//! twice, as L-BFGS does:
//!
//! - the **pair pass** writes `s`, `y` into the free slot and, in the same
//!   sweep, computes their products with every kept pair over all variables
//!   (`SᵀY`, `SᵀS` for `K`) and over the free set (`WᵀZZᵀW`), and starts
//!   the next Cauchy path at `x₊`: its direction `d`, `f' = −dᵀd`, the
//!   smallest breakpoint and `p = Wᵀd`, with the projected gradient's norm
//!   that the driver stops on ([`Minimizer::known_grad_norm`]);
//! - the **subspace pass** forms `W u` block by block and with it `x^c`,
//!   `d^u`, MN's `x̄` and `x̄ − x`, with `gᵀd`, `dᵀd` and the largest step.
//!
//! Nothing else reads the pairs: the free-set products follow the free set
//! as variables enter and leave it (Fortran `formk`: `±w_i w_iᵀ` per
//! variable, or summed afresh when fewer rows are free than changed); on
//! the free set `x^c − x = −t g`, so `WᵀZ r^c = −(1 − θt) p − WᵀZZᵀW M c`
//! needs no pass; the breakpoints are sorted only when the path reaches
//! the first one. At n = 1e6, m = 10 (`examples/bounds_scale.rs`) an
//! iteration costs 1.5-1.65 times L-BFGS's on the unbounded problem
//! (1.4 once the memory is full).
//!
//! Deviations: every trial point of the line search is projected onto the
//! box (`x + α d` can leave it by rounding at `α` = the largest step), so no
//! point outside the box is ever evaluated; the new pair's free-set
//! products are taken over the free set of the iteration that made it,
//! then moved to the next free set with the older pairs' (the Fortran code
//! computes them over the new free set directly); a failed line search or an ascent
//! direction clears the memory and retries along the projected gradient
//! once (the Fortran code's restart), and a search at the box's largest step
//! that still descends ends there (`dcsrch`'s "stp = stpmax" warning, which
//! `lnsrlb` accepts).

// Index loops over several vectors at once read like the paper's
// componentwise formulas.
#![allow(clippy::needless_range_loop)]

use serde::{Deserialize, Serialize};

use super::F_EPS;
use super::kernels::{
    self, BoxPairSums, Free, NewPair, Pages, Prefault, StepBlock, StepLanes, axpy2, box_pair,
    box_products, breakpoint, clamped_step, dot2, subspace_step,
};
use super::lbfgs::{BLOCK, History as Pairs, Sweep, compact_direction};
use crate::linesearch::step::{Watched, no_decrease};
use crate::linesearch::{LineFunction, LineSearch, LineSearchError, MoreThuente, dot};
use crate::problem::{Counted, Gradient, Objective};
use crate::solver::{
    Bounds, Error, Minimizer, Report, RunOptions, State, Termination, float_serde, run_options,
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
/// outside). Memory `2 (m + 1) n` doubles for the pairs plus `≈ 7n` of
/// scratch, as L-BFGS's from 1 MB on mapped ahead by a helper thread; without
/// a finite bound L-BFGS's: `2 (m + 1) n` plus `3n`.
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

/// The pairs of a run in a box, stored blocked as L-BFGS's (`lbfgs.rs`:
/// elements `b B .. (b + 1) B` of every slot side by side, `B = BLOCK`) in
/// `m + 1` slots (a new pair is written into the free slot and committed
/// only if it passes the curvature test), and their inner products over all
/// variables and over the free set.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct History {
    /// The thread mapping the pages of `s` and `y` (declared first, so
    /// dropped and joined before they are freed).
    #[serde(skip)]
    prefault: Prefault,
    n: usize,
    /// Slots, `m + 1`.
    slots: usize,
    #[serde(with = "float_serde::vec")]
    s: Vec<f64>,
    #[serde(with = "float_serde::vec")]
    y: Vec<f64>,
    oldest: usize,
    len: usize,
    /// `s_iᵀy_j` and `s_iᵀs_j` by slots (`slots × slots`, row `i`).
    #[serde(with = "float_serde::vec")]
    sy: Vec<f64>,
    #[serde(with = "float_serde::vec")]
    ss: Vec<f64>,
    /// `y_iᵀy_j`, `y_iᵀs_j`, `s_iᵀs_j` summed over the variables where
    /// `free` holds: the blocks of `WᵀZZᵀW` (BLNZ (5.10)), kept up to date
    /// as variables enter and leave the free set (Fortran `formk`).
    #[serde(with = "float_serde::vec")]
    fyy: Vec<f64>,
    #[serde(with = "float_serde::vec")]
    fys: Vec<f64>,
    #[serde(with = "float_serde::vec")]
    fss: Vec<f64>,
    /// The free set of the products above: free at the last Cauchy point.
    free: Vec<bool>,
    /// `θ = yᵀy / sᵀy` of the newest pair (1 with none).
    #[serde(with = "float_serde")]
    theta: f64,
}

impl History {
    fn new(n: usize, m: usize) -> Self {
        let slots = m + 1;
        let mut h = History {
            prefault: Prefault::default(),
            n,
            slots,
            s: vec![0.0; slots * n],
            y: vec![0.0; slots * n],
            oldest: 0,
            len: 0,
            sy: vec![0.0; slots * slots],
            ss: vec![0.0; slots * slots],
            fyy: vec![0.0; slots * slots],
            fys: vec![0.0; slots * slots],
            fss: vec![0.0; slots * slots],
            free: vec![true; n],
            theta: 1.0,
        };
        // As L-BFGS's history: fresh pages mapped by a helper thread in the
        // order the pair passes first write them.
        if std::mem::size_of_val(h.s.as_slice()) >= 1 << 20
            && let (Some(ps), Some(py)) = (Pages::of(&mut h.s), Pages::of(&mut h.y))
        {
            let mut pages = Vec::with_capacity(2 * slots * h.blocks());
            for k in 0..slots {
                for b in 0..h.blocks() {
                    pages.extend(ps.range(h.chunk(k, b)));
                    pages.extend(py.range(h.chunk(k, b)));
                }
            }
            // SAFETY: `s` and `y` are never resized or replaced, and
            // `prefault`, declared before them, is dropped before they are.
            h.prefault = unsafe { Prefault::start(pages) };
        }
        h
    }

    /// The slot of the `c`-th pair, oldest first.
    fn slot(&self, c: usize) -> usize {
        (self.oldest + c) % self.slots
    }

    /// The slot a new pair is written into (not in use).
    fn free_slot(&self) -> usize {
        (self.oldest + self.len) % self.slots
    }

    /// Where block `b` of slot `k`'s `s` (or `y`) lies (as `lbfgs.rs`).
    fn chunk(&self, k: usize, b: usize) -> std::ops::Range<usize> {
        let start = b * BLOCK;
        let len = BLOCK.min(self.n - start);
        let at = start * self.slots + k * len;
        at..at + len
    }

    fn blocks(&self) -> usize {
        self.n.div_ceil(BLOCK)
    }

    /// Where element `i` of slot `k`'s `s` (or `y`) lies.
    fn at(&self, k: usize, i: usize) -> usize {
        self.chunk(k, i / BLOCK).start + i % BLOCK
    }

    fn clear(&mut self) {
        self.len = 0;
        self.theta = 1.0;
    }

    /// Commits the pair in the free slot `k` with its sums and its products
    /// with the kept pairs (`prod`, by slot, as [`box_products`] orders
    /// them), dropping the oldest pair if `m` are kept.
    fn commit(&mut self, m: usize, sums: &BoxPairSums, prod: &[[f64; 9]]) {
        let (k, w) = (self.free_slot(), self.slots);
        self.sy[k * w + k] = sums.sy;
        self.ss[k * w + k] = sums.ss;
        self.fyy[k * w + k] = sums.fyy;
        self.fys[k * w + k] = sums.fys;
        self.fss[k * w + k] = sums.fss;
        for c in 0..self.len {
            let j = self.slot(c);
            let p = &prod[j];
            self.sy[k * w + j] = p[0];
            self.sy[j * w + k] = p[1];
            self.ss[k * w + j] = p[2];
            self.ss[j * w + k] = p[2];
            self.fyy[k * w + j] = p[3];
            self.fyy[j * w + k] = p[3];
            self.fys[k * w + j] = p[4];
            self.fys[j * w + k] = p[5];
            self.fss[k * w + j] = p[6];
            self.fss[j * w + k] = p[6];
        }
        if self.len == m {
            self.oldest = (self.oldest + 1) % w;
        } else {
            self.len += 1;
        }
        self.theta = sums.yy / sums.sy;
    }

    /// Adds `w_i w_iᵀ` (unscaled: the `y`, `s` parts) of each row `i` to
    /// the free-set products if `i` is free, subtracts it if not.
    fn add_rows(&mut self, rows: &[usize], yv: &mut [f64], sv: &mut [f64]) {
        let (len, w) = (self.len, self.slots);
        for &i in rows {
            let sign = if self.free[i] { 1.0 } else { -1.0 };
            for c in 0..len {
                let at = self.at(self.slot(c), i);
                yv[c] = self.y[at];
                sv[c] = self.s[at];
            }
            for a in 0..len {
                let ka = self.slot(a);
                let (ya, sa) = (sign * yv[a], sign * sv[a]);
                for b in 0..len {
                    let kb = self.slot(b);
                    self.fyy[ka * w + kb] += ya * yv[b];
                    self.fys[ka * w + kb] += ya * sv[b];
                    self.fss[ka * w + kb] += sa * sv[b];
                }
            }
        }
    }
}

/// Scratch, sized once per run (the `n`-vectors but `d`, `x_trial` and
/// `g_trial` only in a box with a finite bound).
#[derive(Debug, Clone, Default)]
struct Work {
    /// The thread mapping the pages of the `n`-vectors (declared first).
    prefault: Prefault,
    /// The run has a finite bound ([`LbfgsB::is_boxed`] when the run
    /// started, not read again every iteration).
    boxed: bool,
    /// The generalized Cauchy point `x^c`, then `x̄` (on the backtracking
    /// path). Before the subspace pass it holds `x^c` only where the
    /// Cauchy path took a variable to its bound (`d = −0.0` there).
    xcp: Vec<f64>,
    /// The Cauchy path's direction (`+0.0` where a variable is held from
    /// the start, `−0.0` where the path took it to its bound), then the
    /// search direction `x̄ − x`.
    d: Vec<f64>,
    /// The subspace step `d^u` (0 off the free set).
    r: Vec<f64>,
    x_trial: Vec<f64>,
    g_trial: Vec<f64>,
    /// Whether a variable is at a bound at `x^c` (not in the subspace).
    at_bound: Vec<bool>,
    /// The breakpoints `(t_i, i)` of the Cauchy path (capacity kept).
    breaks: Vec<Break>,
    /// The smallest breakpoint and `f' = −dᵀd` of the Cauchy path.
    t_min: f64,
    f1: f64,
    /// `s_kᵀd`, `y_kᵀd` of the Cauchy path's direction, by slot.
    wd_s: Vec<f64>,
    wd_y: Vec<f64>,
    /// The pair pass has computed `d`, `at_bound`, `t_min`, `f1` and
    /// `wd_*` at the new iterate.
    prepared: bool,
    /// The variables entering or leaving the free set.
    index: Vec<usize>,
    /// The pair pass's products with each kept pair, by slot.
    prod: Vec<[f64; 9]>,
    /// One block of `s_f`, `y_f` (the new pair on the free set) in the pair
    /// pass, of `W u` in the subspace pass.
    blk: [Vec<f64>; 2],
    /// The Cauchy step `t` (BLNZ §4).
    t_cauchy: f64,
    /// The projected gradient's ∞-norm at the iterate the last iteration
    /// reached, from its pair pass ([`Minimizer::known_grad_norm`]).
    pg_norm: Option<f64>,
    /// `2m`-vectors and `2m × 2m` matrices.
    p: Vec<f64>,
    c: Vec<f64>,
    v: Vec<f64>,
    v1: Vec<f64>,
    wb: Vec<f64>,
    k: SmallLu,
    n_mat: SmallLu,
    gram: Vec<f64>,
    col: Vec<f64>,
    /// The compact form's small vectors (no finite bound).
    sweep: Sweep,
}

impl Work {
    fn new(n: usize, m: usize, boxed: bool) -> Self {
        let nb = if boxed { n } else { 0 };
        let slots = m + 1;
        let mut w = Work {
            prefault: Prefault::default(),
            boxed,
            xcp: vec![0.0; nb],
            d: vec![0.0; n],
            r: vec![0.0; nb],
            x_trial: vec![0.0; n],
            g_trial: vec![0.0; n],
            at_bound: vec![false; nb],
            breaks: Vec::with_capacity(nb),
            t_min: f64::INFINITY,
            f1: 0.0,
            wd_s: vec![0.0; slots],
            wd_y: vec![0.0; slots],
            prepared: false,
            index: Vec::with_capacity(nb),
            prod: vec![[0.0; 9]; slots],
            blk: std::array::from_fn(|_| vec![0.0; if boxed { BLOCK } else { 0 }]),
            t_cauchy: 0.0,
            pg_norm: None,
            p: vec![0.0; 2 * m],
            c: vec![0.0; 2 * m],
            v: vec![0.0; 2 * m],
            v1: vec![0.0; 2 * m],
            wb: vec![0.0; 2 * m],
            k: SmallLu::default(),
            n_mat: SmallLu::default(),
            gram: vec![0.0; 4 * m * m],
            col: vec![0.0; 2 * m],
            sweep: Sweep::new(m),
        };
        if boxed && std::mem::size_of_val(w.d.as_slice()) >= 1 << 20 {
            // In the order the first iteration writes them.
            let mut pages: Vec<(usize, usize)> = [&mut w.d, &mut w.xcp]
                .into_iter()
                .filter_map(|v| Pages::of(v)?.range(0..n))
                .collect();
            pages.extend(Pages::capacity(&mut w.at_bound));
            pages.extend(Pages::capacity(&mut w.breaks));
            pages.extend(
                [&mut w.r, &mut w.x_trial, &mut w.g_trial]
                    .into_iter()
                    .filter_map(|v| Pages::of(v)?.range(0..n)),
            );
            // SAFETY: the vectors are never resized or reallocated (`breaks`
            // stays within its capacity `n`, moved in and out of the
            // breakpoint queue with its allocation); `prefault`, declared
            // before them, is dropped before they are, and `next_iter` drops
            // it before it hands `x_trial` and `g_trial` to the driver's
            // state (`mem::swap`).
            w.prefault = unsafe { Prefault::start(pages) };
        }
        w
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
        match self.bounds {
            Some(b) => clamped_step(self.x, alpha, self.d, b.lower(), b.upper(), self.x_trial),
            None => {
                for ((xt, &x), &d) in self.x_trial.iter_mut().zip(self.x).zip(self.d) {
                    *xt = x + alpha * d;
                }
            }
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

/// The finite breakpoints of the path `x + t d` into `breaks`, in index order.
fn collect_breaks(x: &[f64], d: &[f64], lo: &[f64], hi: &[f64], breaks: &mut Vec<Break>) {
    breaks.clear();
    for i in 0..x.len() {
        if d[i] != 0.0 {
            let t = breakpoint(lo[i], hi[i], x[i], d[i]);
            if t.is_finite() {
                breaks.push(Break((t, i)));
            }
        }
    }
}

/// Sets `free` to the complement of `at_bound`, listing in `changed` the
/// variables that entered or left it; returns how many are free. Eight
/// variables at a time: a run of unchanged ones is one comparison.
fn free_set_changes(at_bound: &[bool], free: &mut [bool], changed: &mut Vec<usize>) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let n = at_bound.len();
    changed.clear();
    let mut n_at = 0;
    let n8 = n / 8 * 8;
    let mut update = |i: usize, free: &mut [bool]| {
        if free[i] == at_bound[i] {
            changed.push(i);
            free[i] = !at_bound[i];
        }
    };
    for i8 in (0..n8).step_by(8) {
        let word = |b: &[bool]| u64::from_le_bytes(std::array::from_fn(|k| u8::from(b[i8 + k])));
        let (a, f) = (word(at_bound), word(free));
        n_at += a.count_ones() as usize;
        // Every byte of a ^ f is 1 where `free` is already `!at_bound`.
        if a ^ f != ONES {
            for i in i8..i8 + 8 {
                update(i, free);
            }
        }
    }
    for i in n8..n {
        n_at += usize::from(at_bound[i]);
        update(i, free);
    }
    n - n_at
}

/// The start of the Cauchy path (BLNZ §4) at `x` on one block
/// ([`kernels::cauchy_start`]): returns the block's `f' = −dᵀd`, its
/// smallest breakpoint and the projected gradient's ∞-norm at `x` on it
/// (NaN if some `pg_i` is).
fn cauchy_start(
    x: &[f64],
    g: &[f64],
    lo: &[f64],
    hi: &[f64],
    d: &mut [f64],
    at_bound: &mut [bool],
) -> (f64, f64, f64) {
    let lanes = kernels::cauchy_start(x, g, lo, hi, d, at_bound);
    let f1 = lanes.f1;
    (
        (f1[0] + f1[2]) + (f1[1] + f1[3]),
        lanes.t_min.iter().fold(f64::INFINITY, |m, &t| m.min(t)),
        lanes.pg_norm(),
    )
}

/// The larger of two ∞-norms, NaN if either is.
fn norm_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

impl LbfgsB {
    /// Builds `K = [[−D, Lᵀ], [L, θSᵀS]]` (BLNZ (3.4)) and factors it;
    /// `false` if it is singular.
    fn factor_k(&mut self) -> bool {
        let h = &self.history;
        let (len, w, theta) = (h.len, h.slots, h.theta);
        let dim = 2 * len;
        let a = &mut self.work.k.a;
        a.clear();
        a.resize(dim * dim, 0.0);
        for i in 0..len {
            let si = h.slot(i);
            for j in 0..len {
                let sj = h.slot(j);
                // L_ij = s_iᵀy_j for i > j.
                let l_ij = if i > j { h.sy[si * w + sj] } else { 0.0 };
                let l_ji = if j > i { h.sy[sj * w + si] } else { 0.0 };
                a[i * dim + j] = if i == j { -h.sy[si * w + si] } else { 0.0 };
                a[i * dim + len + j] = l_ji; // Lᵀ
                a[(len + i) * dim + j] = l_ij; // L
                a[(len + i) * dim + len + j] = theta * h.ss[si * w + sj];
            }
        }
        self.work.k.factor(dim)
    }

    /// Row `i` of `W = [Y  θS]` into `wb`.
    fn w_row(h: &History, i: usize, wb: &mut [f64]) {
        let len = h.len;
        for c in 0..len {
            let at = h.at(h.slot(c), i);
            wb[c] = h.y[at];
            wb[len + c] = h.theta * h.s[at];
        }
    }

    /// The generalized Cauchy point (BLNZ Algorithm CP): the variables it
    /// takes to a bound into `work.xcp` (the rest of `x^c` is formed in the
    /// subspace pass), with `c = Wᵀ(x^c − x)` into `work.c`, `p = WᵀZd` (the path's
    /// direction on the variables free at `x^c`) into `work.p`, the step
    /// `t` into `work.t_cauchy`, the variables at a bound at `x^c` marked in
    /// `work.at_bound`, and the free-set products moved to the new free set.
    fn cauchy_point(&mut self, x: &[f64], g: &[f64], bounds: &Bounds) {
        let h = &mut self.history;
        let w = &mut self.work;
        let (len, theta, n) = (h.len, h.theta, x.len());
        let (lo, hi) = (bounds.lower(), bounds.upper());
        if !std::mem::take(&mut w.prepared) {
            // The pair pass did not start the path: start it here, with the
            // same blocks and sums (the same bits).
            let (mut f1, mut t_min) = (0.0, f64::INFINITY);
            for start in (0..n).step_by(BLOCK) {
                let r = start..(start + BLOCK).min(n);
                let (a, t, _) = cauchy_start(
                    &x[r.clone()],
                    &g[r.clone()],
                    &lo[r.clone()],
                    &hi[r.clone()],
                    &mut w.d[r.clone()],
                    &mut w.at_bound[r],
                );
                f1 += a;
                t_min = t_min.min(t);
            }
            (w.f1, w.t_min) = (f1, t_min);
            for c in 0..len {
                let k = h.slot(c);
                (w.wd_s[k], w.wd_y[k]) = (0.0, 0.0);
            }
            for (b, start) in (0..n).step_by(BLOCK).enumerate() {
                let db = &w.d[start..(start + BLOCK).min(n)];
                for c in 0..len {
                    let k = h.slot(c);
                    let r = h.chunk(k, b);
                    let (a, e) = dot2(&h.s[r.clone()], &h.y[r], db);
                    w.wd_s[k] += a;
                    w.wd_y[k] += e;
                }
            }
        }
        let dim = 2 * len;
        // p = Wᵀd, c = 0 (BLNZ (4.4)-(4.5)).
        for c in 0..len {
            let k = h.slot(c);
            w.p[c] = w.wd_y[k];
            w.p[len + c] = theta * w.wd_s[k];
        }
        w.c[..dim].fill(0.0);
        // f'' = −θ f' − pᵀMp.
        let mut f1 = w.f1;
        let mut f2 = -theta * f1;
        let f2_org = f2;
        if len > 0 {
            w.v[..dim].copy_from_slice(&w.p[..dim]);
            w.k.solve(&mut w.v[..dim]);
            f2 -= dot(&w.v[..dim], &w.p[..dim]);
        }
        let mut dt_min = if f2 > 0.0 { -f1 / f2 } else { 0.0 };
        let mut t_old = 0.0;
        if w.t_min <= dt_min && len == 0 {
            // No pairs yet, B = θI: along the path m'(t) = (θt − 1) Σ g_i²
            // over the variables still moving at t, so the path's minimizer
            // is t = 1/θ (`dt_min`), or the last breakpoint if every
            // variable stops before it. One pass, no ordering.
            let (mut t_last, mut moving) = (0.0f64, false);
            for i in 0..n {
                let t = breakpoint(lo[i], hi[i], x[i], w.d[i]);
                if t <= dt_min {
                    w.xcp[i] = if w.d[i] > 0.0 { hi[i] } else { lo[i] };
                    w.d[i] = -0.0;
                    w.at_bound[i] = true;
                    t_last = t_last.max(t);
                } else if w.d[i] != 0.0 {
                    moving = true;
                }
            }
            if !moving {
                (t_old, dt_min) = (t_last, 0.0);
            }
        } else if w.t_min <= dt_min {
            // Breakpoints in increasing order, from a heap (BLNZ §4:
            // "heapsort"), built only if the first one is reached.
            collect_breaks(x, &w.d, lo, hi, &mut w.breaks);
            let mut queue = Breakpoints::new(std::mem::take(&mut w.breaks));
            while let Some(Break((t, b))) = queue.peek() {
                let dt = t - t_old;
                if dt_min < dt {
                    break;
                }
                queue.pop();
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
                // −0.0: stopped at the bound in `xcp`, which the subspace
                // pass reads only there (+0.0, held from the start: x).
                w.d[b] = -0.0;
                w.at_bound[b] = true;
                dt_min = if f2 > 0.0 { -f1 / f2 } else { 0.0 };
                t_old = t;
                if queue.wants_sort() {
                    // The heap's rest: the variables still moving.
                    let mut left = queue.into_vec();
                    collect_breaks(x, &w.d, lo, hi, &mut left);
                    queue = Breakpoints::sorted(left);
                }
            }
            w.breaks = queue.into_vec();
        }
        let dt_min = dt_min.max(0.0);
        let t = t_old + dt_min;
        w.t_cauchy = t;
        for j in 0..dim {
            w.c[j] += dt_min * w.p[j];
        }
        // The variables entering or leaving the free set (x^c itself is
        // formed in the subspace step's pass: `x + t d` where `d ≠ 0`).
        let n_free = free_set_changes(&w.at_bound, &mut h.free, &mut w.index);
        // The free-set products follow (Fortran formk): add the rows of the
        // entering variables, subtract those of the leaving ones, or sum the
        // free rows afresh where that is fewer rows.
        if len > 0 {
            let (yv, sv) = (&mut w.v1[..len], &mut w.wb[..len]);
            if w.index.len() > n_free {
                let slots = h.slots;
                for a in 0..len {
                    for b in 0..len {
                        let at = h.slot(a) * slots + h.slot(b);
                        (h.fyy[at], h.fys[at], h.fss[at]) = (0.0, 0.0, 0.0);
                    }
                }
                w.index.clear();
                w.index.extend((0..n).filter(|&i| h.free[i]));
            }
            h.add_rows(&w.index, yv, sv);
        }
    }

    /// Subspace minimization over the variables free at `x^c` (BLNZ §5.1)
    /// with MN's projection: the search direction `x̄ − x` into `work.d`,
    /// `d^u` into `work.r`; returns `gᵀd`, `dᵀd` and the largest step along
    /// `d` in the box.
    ///
    /// On the free set `x^c − x = −t g` and `WᵀZZᵀW` is kept
    /// (`History::fyy` ...), so `WᵀZ r^c = −(1 − θt) p − WᵀZZᵀW M c` needs
    /// no pass over the pairs, and `d^u = −r^c/θ + θ⁻² ZᵀW N⁻¹ M WᵀZ(−r^c)`
    /// (BLNZ (5.11)) is `(x − x^c) − g/θ + W u` with the `2m`-vector
    /// `u = M c/θ + N⁻¹ M WᵀZ(−r^c)/θ²`: one pass over the pairs, fused
    /// with MN's projection.
    fn subspace_min(&mut self, x: &[f64], g: &[f64], b: &Bounds) -> (f64, f64, f64) {
        let h = &self.history;
        let w = &mut self.work;
        let (len, theta, n) = (h.len, h.theta, x.len());
        let dim = 2 * len;
        if len > 0 {
            // v1 = M c.
            w.v1[..dim].copy_from_slice(&w.c[..dim]);
            w.k.solve(&mut w.v1[..dim]);
            Self::free_gram(h, &mut w.gram[..dim * dim]);
            let gram = &w.gram[..dim * dim];
            // v = M WᵀZ(−r^c) = M ((1 − θt) p + WᵀZZᵀW M c).
            let a = 1.0 - theta * w.t_cauchy;
            for i in 0..dim {
                w.v[i] = a * w.p[i] + dot(&gram[i * dim..(i + 1) * dim], &w.v1[..dim]);
            }
            w.k.solve(&mut w.v[..dim]);
            // N = I − θ⁻¹ M WᵀZZᵀW (BLNZ (5.10)).
            let nm = &mut w.n_mat.a;
            nm.clear();
            nm.resize(dim * dim, 0.0);
            for j in 0..dim {
                for i in 0..dim {
                    w.col[i] = gram[i * dim + j];
                }
                w.k.solve(&mut w.col[..dim]);
                for i in 0..dim {
                    nm[i * dim + j] = f64::from(u8::from(i == j)) - w.col[i] / theta;
                }
            }
            let solved = w.n_mat.factor(dim);
            if solved {
                w.n_mat.solve(&mut w.v[..dim]);
            }
            // u, by slot: W u = Σ u_c y_c + θ u_{len+c} s_c.
            for c in 0..len {
                let k = h.slot(c);
                let (uy, us) = if solved {
                    (
                        w.v1[c] / theta + w.v[c] / (theta * theta),
                        w.v1[len + c] / theta + w.v[len + c] / (theta * theta),
                    )
                } else {
                    (w.v1[c] / theta, w.v1[len + c] / theta)
                };
                w.wd_y[k] = uy;
                w.wd_s[k] = theta * us;
            }
        }
        // One pass: d^u, x̄ = P(x^c + d^u) (MN), d = x̄ − x, gᵀd, dᵀd and the
        // largest step in the box along d; the pairs in address order.
        let (lo, hi) = (b.lower(), b.upper());
        let mut order = [usize::MAX; 64];
        let mut slots = 0;
        for k in 0..h.slots {
            if (0..len).any(|c| h.slot(c) == k) {
                order[slots] = k;
                slots += 1;
            }
        }
        let mut acc = StepLanes::default();
        let (t, inv_theta) = (w.t_cauchy, 1.0 / theta);
        for (blk, start) in (0..n).step_by(BLOCK).enumerate() {
            let end = (start + BLOCK).min(n);
            let wu = &mut w.blk[0][..end - start];
            wu.fill(0.0);
            for &k in &order[..slots] {
                let r = h.chunk(k, blk);
                axpy2(w.wd_y[k], &h.y[r.clone()], w.wd_s[k], &h.s[r], wu);
            }
            let r = start..end;
            let block = StepBlock {
                x: &x[r.clone()],
                g: &g[r.clone()],
                lo: &lo[r.clone()],
                hi: &hi[r.clone()],
                at_bound: &w.at_bound[r.clone()],
                wu,
                xcp: &mut w.xcp[r.clone()],
                d: &mut w.d[r.clone()],
                du: &mut w.r[r],
            };
            subspace_step(block, t, inv_theta, &mut acc);
        }
        let sum = |p: [f64; 4]| (p[0] + p[2]) + (p[1] + p[3]);
        let step = acc.step.iter().fold(f64::INFINITY, |m, &t| m.min(t));
        let gd = sum(acc.gd);
        if gd <= 0.0 || gd.is_nan() {
            return (gd, sum(acc.dd), step);
        }
        // Otherwise backtrack to the box (BLNZ (5.8)): x^c + α* d^u.
        let mut alpha = 1.0f64;
        let mut blocking = None;
        for i in 0..n {
            if !w.at_bound[i] {
                let a = breakpoint(lo[i], hi[i], w.xcp[i], w.r[i]);
                if a < alpha {
                    alpha = a;
                    blocking = Some(i);
                }
            }
        }
        for i in 0..n {
            if !w.at_bound[i] {
                w.xcp[i] += alpha * w.r[i];
            }
        }
        if let Some(i) = blocking {
            w.xcp[i] = if w.r[i] > 0.0 { hi[i] } else { lo[i] };
        }
        b.project(&mut w.xcp);
        for i in 0..n {
            w.d[i] = w.xcp[i] - x[i];
        }
        (dot(g, &w.d), dot(&w.d, &w.d), b.max_step(x, &w.d))
    }

    /// `WᵀZZᵀW = [[Y_FᵀY_F, θ Y_FᵀS_F], [θ S_FᵀY_F, θ² S_FᵀS_F]]` into `g`
    /// (`2len × 2len`, row-major) from the kept free-set products.
    fn free_gram(h: &History, g: &mut [f64]) {
        let (len, w, theta) = (h.len, h.slots, h.theta);
        let dim = 2 * len;
        for a in 0..len {
            let ka = h.slot(a);
            for b in 0..len {
                let at = ka * w + h.slot(b);
                let ys = theta * h.fys[at];
                g[a * dim + b] = h.fyy[at];
                g[a * dim + len + b] = ys;
                g[(len + b) * dim + a] = ys;
                g[(len + a) * dim + len + b] = theta * theta * h.fss[at];
            }
        }
    }

    /// The pair pass of a run in a box, one sweep over the pairs: writes
    /// `s = x₊ − x`, `y = g₊ − g` into the free slot with their sums and
    /// their products with every kept pair (in `work.prod`), and starts the
    /// next Cauchy path at `x₊` (`cauchy_start` and `Wᵀd`, which
    /// `cauchy_point` then skips), with the projected gradient's ∞-norm at
    /// `x₊` for the driver (in `work.pg_norm`).
    fn pair_pass(&mut self, x: &[f64], g: &[f64], bounds: &Bounds) -> BoxPairSums {
        let h = &mut self.history;
        let Work {
            x_trial: x_new,
            g_trial: g_new,
            d,
            at_bound,
            blk,
            prod,
            wd_s,
            wd_y,
            ..
        } = &mut self.work;
        let (n, len, k) = (x.len(), h.len, h.free_slot());
        let (lo, hi) = (bounds.lower(), bounds.upper());
        for c in 0..len {
            prod[h.slot(c)] = [0.0; 9];
        }
        (wd_s[k], wd_y[k]) = (0.0, 0.0);
        let (mut f1, mut t_min, mut pg) = (0.0, f64::INFINITY, 0.0);
        let mut sums = BoxPairSums::default();
        let [sf, yf] = blk;
        for (b, start) in (0..n).step_by(BLOCK).enumerate() {
            let r = start..(start + BLOCK).min(n);
            let m = r.len();
            let (a, t, p) = cauchy_start(
                &x_new[r.clone()],
                &g_new[r.clone()],
                &lo[r.clone()],
                &hi[r.clone()],
                &mut d[r.clone()],
                &mut at_bound[r.clone()],
            );
            f1 += a;
            t_min = t_min.min(t);
            pg = norm_max(pg, p);
            // The pair straight into its slot, whence the products below
            // read it back from the cache.
            let rk = h.chunk(k, b);
            sums.add(box_pair(
                &x[r.clone()],
                &x_new[r.clone()],
                &g[r.clone()],
                &g_new[r.clone()],
                &h.free[r.clone()],
                &mut h.s[rk.clone()],
                &mut h.y[rk.clone()],
                &mut sf[..m],
                &mut yf[..m],
            ));
            let (sn, yn) = (&h.s[rk.clone()], &h.y[rk]);
            let (a, e) = dot2(sn, yn, &d[r.clone()]);
            wd_s[k] += a;
            wd_y[k] += e;
            let v = NewPair {
                s: sn,
                y: yn,
                sf: &sf[..m],
                yf: &yf[..m],
                d: &d[r.clone()],
            };
            let free = match h.free[r.clone()].iter().filter(|&&f| f).count() {
                0 => Free::None,
                f if f == m => Free::All,
                _ => Free::Some,
            };
            for c in 0..len {
                let j = h.slot(c);
                let rj = h.chunk(j, b);
                let p = box_products(&h.s[rj.clone()], &h.y[rj], &v, free);
                for (acc, p) in prod[j].iter_mut().zip(p) {
                    *acc += p;
                }
            }
        }
        for c in 0..len {
            let j = h.slot(c);
            (wd_s[j], wd_y[j]) = (prod[j][7], prod[j][8]);
        }
        (self.work.f1, self.work.t_min) = (f1, t_min);
        self.work.prepared = true;
        self.work.pg_norm = Some(pg);
        sums
    }
}

/// The breakpoints of a Cauchy path, smallest first (ties by index): a heap
/// (BLNZ §4: "heapsort"), replaced by a sorted list of those left once
/// `SORT_AFTER` have been taken, when the path goes on past many of them
/// (the first iteration often passes every one: a pop costs `O(log n)`
/// scattered reads; the list, collected in index order, is often sorted
/// already). Both give the same order.
enum Breakpoints {
    Heap(std::collections::BinaryHeap<Break>, usize),
    /// Smallest `t` first, and the position of the next one.
    Sorted(Vec<Break>, usize),
}

impl Breakpoints {
    const SORT_AFTER: usize = 4096;

    fn new(breaks: Vec<Break>) -> Self {
        Breakpoints::Heap(std::collections::BinaryHeap::from(breaks), 0)
    }

    fn peek(&self) -> Option<Break> {
        match self {
            Breakpoints::Heap(h, _) => h.peek().copied(),
            Breakpoints::Sorted(v, at) => v.get(*at).copied(),
        }
    }

    fn pop(&mut self) {
        match self {
            Breakpoints::Heap(h, taken) => {
                h.pop();
                *taken += 1;
            }
            Breakpoints::Sorted(_, at) => *at += 1,
        }
    }

    /// Whether enough have been taken from the heap to sort the rest.
    fn wants_sort(&self) -> bool {
        matches!(self, Breakpoints::Heap(_, taken) if *taken >= Self::SORT_AFTER)
    }

    /// The breakpoints left, `left` (in index order), sorted.
    fn sorted(mut left: Vec<Break>) -> Self {
        // By `t` in `f64::total_cmp`'s order (as integers), then by index:
        // the heap's order.
        left.sort_unstable_by_key(|&Break((t, i))| {
            let bits = t.to_bits() as i64;
            (bits ^ (((bits >> 63) as u64) >> 1) as i64, i)
        });
        Breakpoints::Sorted(left, 0)
    }

    fn into_vec(self) -> Vec<Break> {
        match self {
            Breakpoints::Heap(h, _) => h.into_vec(),
            Breakpoints::Sorted(v, _) => v,
        }
    }
}

/// A breakpoint `(t_i, i)` ordered for a min-heap on `t_i`.
#[derive(Debug, Clone, Copy, PartialEq)]
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
        // s and y, (m + 1) n each, five (m + 1)² products and the 2m x 2m
        // middle matrix.
        let slots = self.memory.checked_add(1);
        let floats = slots.and_then(|k| {
            k.checked_mul(n)?
                .checked_mul(2)?
                .checked_add(k.checked_mul(k)?.checked_mul(9)?)
        });
        crate::solver::check_alloc("memory", self.memory, floats)?;
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
        self.work.pg_norm = None;
        let bounds = self.bounds.take();
        let outcome = match bounds.as_ref().filter(|_| self.work.boxed) {
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

    fn known_grad_norm(&self) -> Option<f64> {
        self.work.pg_norm
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
        // Every variable has both bounds (read on the first iteration only).
        let boxed = self.first
            && b.lower().iter().all(|v| v.is_finite())
            && b.upper().iter().all(|v| v.is_finite());
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
            // d = x̄ − x.
            let (gd, dd, step_box) = self.subspace_min(&state.x, &state.g, b);
            let w = &mut self.work;
            let d_norm2 = dd.sqrt();
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
                step_box.min(STEP_MAX)
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
        // `x_trial` and `g_trial` go to the driver's state below: stop the
        // thread mapping their pages first (long finished by now).
        drop(std::mem::take(&mut self.work.prefault));
        // s = x₊ − x, y = g₊ − g into the free slot, and the next Cauchy
        // path's start at x₊.
        let p = self.pair_pass(&state.x, &state.g, b);
        if !p.yy.is_finite() {
            self.work.prepared = false;
            state.note = Some(format!("non-finite gradient at alpha = {alpha:e}"));
            return Some(Termination::NonFiniteValue);
        }
        // Fortran matupd's test: keep the pair if sᵀy > ε (−gᵀs).
        if p.sy > f64::EPSILON * -p.sg && p.sy > 0.0 {
            self.history.commit(self.memory, &p, &self.work.prod);
        } else {
            state.note = Some(format!("skipped L-BFGS-B pair: sᵀy = {:e}", p.sy));
        }
        let w = &mut self.work;
        state.step_norm = p.s_max;
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

    /// The products the pair pass and the free-set updates keep equal the
    /// sums they stand for, iteration after iteration, while the free set
    /// changes (extended Rosenbrock over two blocks, every other variable
    /// bounded above at 0.5, as `examples/bounds_scale.rs`).
    #[test]
    fn kept_products_match_direct_sums() {
        use crate::problems::ExtendedRosenbrock;
        use crate::solver::Run;
        let n = 3000;
        let p = ExtendedRosenbrock::new(n);
        let upper = (0..n)
            .map(|i| if i % 2 == 0 { 0.5 } else { f64::INFINITY })
            .collect();
        let solver = LbfgsB::default()
            .with_memory(4)
            .with_bounds(Bounds::upper_only(upper).unwrap());
        let mut run = Run::new(solver, &p, &p.start()).unwrap();
        let mut changed = 0;
        let mut last_free: Option<Vec<bool>> = None;
        for _ in 0..25 {
            if run.step().is_some() {
                break;
            }
            let h = &run.solver().history;
            if last_free.as_ref().is_some_and(|f| *f != h.free) {
                changed += 1;
            }
            last_free = Some(h.free.clone());
            let w = h.slots;
            let get = |v: &[f64], k: usize| -> Vec<f64> { (0..n).map(|i| v[h.at(k, i)]).collect() };
            for a in 0..h.len {
                let ka = h.slot(a);
                let (sa, ya) = (get(&h.s, ka), get(&h.y, ka));
                for b in 0..h.len {
                    let kb = h.slot(b);
                    let (sb, yb) = (get(&h.s, kb), get(&h.y, kb));
                    // The kept free-set sums are updated by adding and
                    // subtracting terms: their error scales with all of them.
                    let sum = |u: &[f64], v: &[f64], only_free: bool| {
                        let (mut s, mut scale) = (0.0, 0.0);
                        for i in 0..n {
                            if !only_free || h.free[i] {
                                s += u[i] * v[i];
                            }
                            scale += (u[i] * v[i]).abs();
                        }
                        (s, scale)
                    };
                    for (kept, (want, scale)) in [
                        (h.sy[ka * w + kb], sum(&sa, &yb, false)),
                        (h.ss[ka * w + kb], sum(&sa, &sb, false)),
                        (h.fyy[ka * w + kb], sum(&ya, &yb, true)),
                        (h.fys[ka * w + kb], sum(&ya, &sb, true)),
                        (h.fss[ka * w + kb], sum(&sa, &sb, true)),
                    ] {
                        assert!(
                            (kept - want).abs() <= 1e-10 * scale.max(f64::MIN_POSITIVE),
                            "pairs {a}, {b}: kept {kept:e}, summed {want:e}"
                        );
                    }
                }
            }
        }
        assert!(changed > 0, "the free set never changed");
    }

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
