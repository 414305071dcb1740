//! Limited-memory BFGS.
//!
//! Nocedal & Wright, *Numerical Optimization* (2nd ed., 2006), §7.2; Byrd,
//! Nocedal & Schnabel, "Representations of quasi-Newton matrices and their use
//! in limited memory methods", *Math. Programming* 63 (1994) 129-156 (BNS).
//!
//! Notation as N&W: the last `m` pairs `s_i = x_{i+1} − x_i`,
//! `y_i = ∇f_{i+1} − ∇f_i`, `ρ_i = 1/(y_iᵀs_i)`, oldest first; `S_k`, `Y_k` the
//! `n × m` matrices of those pairs; `H_k^0 = γ_k I` with
//! `γ_k = s_{k−1}ᵀy_{k−1} / y_{k−1}ᵀy_{k−1}` (N&W (7.20)). The direction is
//! `d_k = −H_k ∇f_k`, computed in one of two ways ([`LbfgsForm`]):
//!
//! - **Compact** (BNS Theorem 2.2, eq. (2.6); N&W (7.24) is the same for `B`):
//!   `H_k = γI + [S  γY] M [Sᵀ; γYᵀ]` with
//!   `M = [[R⁻ᵀ(D + γYᵀY)R⁻¹, −R⁻ᵀ], [−R⁻¹, 0]]`, `R` the upper triangle of
//!   `SᵀY` (`R_ij = s_iᵀy_j`, `i ≤ j`) and `D` its diagonal. With `a = Sᵀg`,
//!   `b = Yᵀg`, `t = R⁻¹a` and `u = R⁻ᵀ((D + γYᵀY)t − γb)`:
//!   `d = −γg − S u + γ Y t`. One sweep over `S`, `Y` computes all `2m` dot
//!   products, `O(m²)` work on the small matrices solves for `t` and `u`, and a
//!   second sweep forms `d`. `R` and `YᵀY` are kept up to date incrementally
//!   without extra sweeps: the new column `s_iᵀy_k = s_iᵀg_{k+1} − s_iᵀg_k`
//!   (likewise `y_iᵀy_k`) is the difference of the dot products of two
//!   consecutive sweeps.
//! - **Two-loop** recursion, N&W Algorithm 7.4, in the book's order: `4m`
//!   passes over `q` (a dot product and an axpy per pair and loop).
//!
//! Both read every `s_i` and `y_i` twice per iteration; the compact form moves
//! about half the bytes of the two-loop form (`≈ (4m + 3) n` against
//! `≈ 8mn` doubles), and measures faster at large `n` (see `benches/lbfgs.rs`),
//! so it is the default and the two-loop form is kept as its test oracle.
//!
//! The pairs live in a ring buffer of `m + 1` slots: a new pair is written into
//! the free slot and only then committed (dropping the oldest) if it passes the
//! curvature test, so a skipped pair never destroys a kept one. The slots are
//! stored blocked, 2048 elements of every slot side by side, so that the
//! compact form's block-by-block sweeps read the history as one sequential
//! stream instead of `2m` interleaved ones (2× faster at n = 1e6, m = 10;
//! see `BLOCK`); the two-loop form pays for it with strided reads, which is
//! acceptable in a test oracle. The pair pass that writes a new pair also
//! computes its products with the new gradient, so the next sweep 1 skips
//! it (`History::fresh`).
//!
//! Memory: when the history is 1 MB or more, its fresh pages (and those of
//! the three `n`-vectors of scratch) are mapped by a short-lived helper
//! thread, `hesse-prefault`, in the order the run first writes them, while
//! the run goes on; at n = 1e6, m = 10 that is ≈ 80 ms of the kernel's time
//! per solve kept off the solving thread (`benches/lbfgs.rs`). The thread
//! changes no values and is joined when the run's buffers are dropped.
//!
//! Deviation from the book: a pair with too little curvature is skipped or
//! damped ([`CurvatureGuard`]); a non-descent direction (rounding) clears the
//! history and retries with `−∇f_k`; so does a line search that fails along
//! `−H_k ∇f_k` (once per iteration, with the first iteration's initial step),
//! before the run ends in [`Termination::LineSearchFailed`], unless the
//! failed search's trials were all finite and none went below `f_k`: then
//! rounding is the cause and the run ends at once (scipy's L-BFGS-B retries, and stops on the next
//! iteration whose `f` does not decrease). The search with its restart is
//! the step BFGS and nonlinear CG make too (`linesearch::step`), the
//! acceptance of a pair BFGS's (`quasi_newton::pair`).

use serde::{Deserialize, Serialize};

use super::kernels::{Pages, PairSums, Prefault, axpy2, dot_inf, dot2, pair_pass};
use super::pair::{CURVATURE_EPS, Pair, accept_pair};
use super::{CurvatureGuard, F_EPS, UnitLengthFirstStep};
use crate::linesearch::step::{Buffers, Direction, Searcher, search_step};
use crate::linesearch::{InitialStep, LineSearch, MoreThuente, dot};
use crate::problem::{Counted, Gradient, Objective};
use crate::solver::{
    Error, Minimizer, Report, RunOptions, State, Termination, float_serde, run_options,
};

/// How L-BFGS applies `H_k` to the gradient. Both give the same direction up to
/// rounding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum LbfgsForm {
    /// The compact representation of Byrd, Nocedal & Schnabel (1994): two fused
    /// sweeps over the history. The default: it moves half the memory of the
    /// two-loop form.
    #[default]
    Compact,
    /// The two-loop recursion, N&W Algorithm 7.4.
    TwoLoop,
}

/// L-BFGS: limited-memory BFGS with the last `m` pairs (N&W §7.2).
///
/// Defaults: memory `m = 10` (scipy's L-BFGS-B `maxcor` and LBFGS++ use 10,
/// Optim.jl 10, PyTorch's `history_size` 100; N&W p. 178: "small values of
/// `m` (say 3 ≤ m ≤ 20) often give satisfactory results"); scaling
/// `γ_k = sᵀy/yᵀy` (N&W (7.20)); line search [`MoreThuente`] for the strong
/// Wolfe conditions with `c₁ = 1e-4`, `c₂ = 0.9` (N&W p. 142) and a
/// rounding allowance of `1e-14 |f|` in the sufficient-decrease test
/// ([`MoreThuente::with_f_eps`]); initial step
/// [`UnitLengthFirstStep`], `1/‖g₀‖₂` on the first iteration and `1` after
/// it, as scipy's L-BFGS-B; pairs with
/// `sᵀy ≤ 1e-10 ‖s‖‖y‖` skipped; [`LbfgsForm::Compact`].
///
/// # Requirements on the optimization problem
/// [`Gradient`]. Memory `2 (m + 1) n` doubles for the history, plus `3n`
/// of scratch; from 1 MB of history on, a helper thread maps their pages
/// while the run starts (see the module documentation).
///
/// # Example
/// ```
/// use hesse::prelude::*;
/// use hesse::problems::ExtendedRosenbrock;
///
/// let p = ExtendedRosenbrock::new(1000);
/// let report = Lbfgs::default().with_memory(5).with_gtol(1e-6).minimize(&p, &p.start()).unwrap();
/// assert!(report.converged());
/// assert!(report.x.iter().all(|v| (v - 1.0).abs() < 1e-5));
/// ```
///
/// # Reference
/// Nocedal & Wright (2006) §7.2; Byrd, Nocedal & Schnabel (1994) §2-4; Liu &
/// Nocedal, "On the limited memory BFGS method for large scale optimization",
/// *Math. Programming* 45 (1989).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Lbfgs<L = MoreThuente, I = UnitLengthFirstStep> {
    options: RunOptions,
    line_search: L,
    initial_step: I,
    memory: usize,
    form: LbfgsForm,
    initial_scaling: bool,
    guard: CurvatureGuard,
    #[serde(with = "crate::solver::float_serde")]
    curvature_eps: f64,
    history: History,
    #[serde(skip)]
    work: Work,
}

/// The pairs and the small matrices of the compact form: the solver's state
/// (also [`LbfgsB`](super::LbfgsB)'s without a finite bound).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct History {
    /// The thread mapping the pages of `s` and `y` ahead of the pair passes
    /// (declared first so that it is dropped, and joined, before they are
    /// freed).
    #[serde(skip)]
    prefault: Prefault,
    /// Vector length.
    n: usize,
    /// Slots, `m + 1`.
    slots: usize,
    /// The `s` of every slot, blocked: elements `b B .. (b + 1) B` of all
    /// slots' `s` lie together, slot after slot ([`History::chunk`]), so a
    /// sweep over the pairs block by block reads `s` as one sequential
    /// stream.
    #[serde(with = "float_serde::vec")]
    s: Vec<f64>,
    /// `y` likewise.
    #[serde(with = "float_serde::vec")]
    y: Vec<f64>,
    /// The slot of the oldest pair.
    oldest: usize,
    /// Pairs kept (at most `m`).
    pub(super) len: usize,
    /// `s_iᵀy_j` by slots, `slots × slots`, row `i`: valid for `i` no newer
    /// than `j` (the upper triangle `R` in chronological order).
    #[serde(with = "float_serde::vec")]
    sy: Vec<f64>,
    /// `y_iᵀy_j` by slots, symmetric.
    #[serde(with = "float_serde::vec")]
    yy: Vec<f64>,
    /// `s_iᵀg_k`, `y_iᵀg_k` of the last sweep, by slot.
    #[serde(with = "float_serde::vec")]
    sg_prev: Vec<f64>,
    #[serde(with = "float_serde::vec")]
    yg_prev: Vec<f64>,
    /// The newest pair's slot, whose products with the older pairs the next
    /// sweep completes, with the damping `θ` and step `α` of its `y`.
    pending: Option<Pending>,
    /// The newest pair's slot with `s_kᵀg_{k+1}` and `y_kᵀg_{k+1}` from the
    /// pair pass, bit for bit what sweep 1 would compute, so that sweep 1
    /// skips the slot (one pair of the history not read, `2n` doubles).
    /// Not kept across a checkpoint: sweep 1 then reads the pair, to the
    /// same bits.
    #[serde(skip)]
    pub(super) fresh: Option<(usize, f64, f64)>,
    /// `γ_k` of N&W (7.20).
    #[serde(with = "float_serde")]
    gamma: f64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Pending {
    slot: usize,
    /// `y` stored is `θ (g_{k+1} − g_k) − (1 − θ) α g_k`; `θ = 1` undamped.
    #[serde(with = "float_serde")]
    theta: f64,
    #[serde(with = "float_serde")]
    alpha: f64,
}

impl History {
    /// `Ok` if a history read from a checkpoint is one of `n`-vectors in
    /// `slots` slots with every buffer sized to match (a hand-edited or
    /// corrupted checkpoint would index out of range).
    pub(super) fn check_resume(&self, n: usize) -> Result<(), Error> {
        use crate::solver::check_saved;
        let slots = self.slots;
        check_saved("the checkpoint's L-BFGS vector length", self.n, n)?;
        let sn = slots.saturating_mul(n);
        let ss = slots.saturating_mul(slots);
        check_saved("the checkpoint's L-BFGS s history", self.s.len(), sn)?;
        check_saved("the checkpoint's L-BFGS y history", self.y.len(), sn)?;
        check_saved("the checkpoint's L-BFGS sᵀy matrix", self.sy.len(), ss)?;
        check_saved("the checkpoint's L-BFGS yᵀy matrix", self.yy.len(), ss)?;
        check_saved(
            "the checkpoint's L-BFGS sᵀg products",
            self.sg_prev.len(),
            slots,
        )?;
        check_saved(
            "the checkpoint's L-BFGS yᵀg products",
            self.yg_prev.len(),
            slots,
        )?;
        let pending = self.pending.as_ref().map_or(0, |p| p.slot);
        if slots == 0 || self.len >= slots || self.oldest >= slots || pending >= slots {
            return Err(Error::InvalidProblem(format!(
                "the checkpoint's L-BFGS history is inconsistent: {} pairs, oldest slot {}, \
                 of {slots} slots",
                self.len, self.oldest
            )));
        }
        Ok(())
    }

    pub(super) fn new(n: usize, m: usize) -> Self {
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
            yy: vec![0.0; slots * slots],
            sg_prev: vec![0.0; slots],
            yg_prev: vec![0.0; slots],
            pending: None,
            fresh: None,
            gamma: 1.0,
        };
        // Fresh pages (at n = 1e6, m = 10, 176 MB, ≈ 80 ms of the kernel's
        // time to map) mapped on a helper thread in the order the pair passes
        // first write them, slot after slot; small histories come from the
        // heap, mostly mapped already.
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

    /// Where block `b` (elements `b B .. min((b + 1) B, n)`, `B = BLOCK`) of
    /// slot `k`'s `s` (or `y`) lies in `s` (or `y`). Every block but the last
    /// is full, so block `b` of all slots starts at `b · slots · B`.
    fn chunk(&self, k: usize, b: usize) -> std::ops::Range<usize> {
        let start = b * BLOCK;
        let len = BLOCK.min(self.n - start);
        let at = start * self.slots + k * len;
        at..at + len
    }

    /// The number of blocks, `⌈n / B⌉`.
    fn blocks(&self) -> usize {
        self.n.div_ceil(BLOCK)
    }

    pub(super) fn clear(&mut self) {
        self.len = 0;
        self.pending = None;
        self.fresh = None;
        self.gamma = 1.0;
    }

    /// Commits the pair in the free slot, dropping the oldest if `m` are kept.
    pub(super) fn commit(
        &mut self,
        m: usize,
        sy: f64,
        yy: f64,
        theta: f64,
        alpha: f64,
        scale: bool,
    ) {
        let k = self.free_slot();
        let w = self.slots;
        self.sy[k * w + k] = sy;
        self.yy[k * w + k] = yy;
        self.pending = Some(Pending {
            slot: k,
            theta,
            alpha,
        });
        if self.len == m {
            self.oldest = (self.oldest + 1) % w;
        } else {
            self.len += 1;
        }
        // N&W (7.20).
        self.gamma = if scale { sy / yy } else { 1.0 };
    }

    /// Writes `s_k = x₊ − x` and `y_k = g₊ − g` into the free slot, block by
    /// block with the kernels' pair pass; returns the slot and the pair's
    /// sums (`sᵀy`, `sᵀs`, `yᵀy`, `sᵀg`, `‖s‖∞`, and the next sweep's
    /// products with `g₊`).
    pub(super) fn pair_pass(
        &mut self,
        x: &[f64],
        x_new: &[f64],
        g: &[f64],
        g_new: &[f64],
    ) -> (usize, PairSums) {
        let n = self.n;
        let k = self.free_slot();
        let mut sums = PairSums::default();
        for (b, start) in (0..n).step_by(BLOCK).enumerate() {
            let end = (start + BLOCK).min(n);
            let r = self.chunk(k, b);
            sums.add(pair_pass(
                &x[start..end],
                &x_new[start..end],
                &g[start..end],
                &g_new[start..end],
                &mut self.s[r.clone()],
                &mut self.y[r],
            ));
        }
        (k, sums)
    }
}

/// Scratch, sized once per run.
#[derive(Debug, Clone, Default)]
struct Work {
    /// The thread mapping the pages of `d`, `x_trial`, `g_trial` (declared
    /// first, so dropped and joined before they are freed).
    prefault: Prefault,
    d: Vec<f64>,
    x_trial: Vec<f64>,
    g_trial: Vec<f64>,
    /// The direction's small vectors.
    sweep: Sweep,
}

/// The `m`-vectors of one direction, sized once per run.
#[derive(Debug, Clone, Default)]
pub(super) struct Sweep {
    /// Per slot: `s_iᵀg`, `y_iᵀg`.
    sg: Vec<f64>,
    yg: Vec<f64>,
    /// Per chronological index: `t`, `u` (compact) or `α_i` (two-loop).
    t: Vec<f64>,
    u: Vec<f64>,
    /// Slots in chronological order.
    order: Vec<usize>,
    /// The same slots in address order (the compact form's sweeps).
    by_addr: Vec<usize>,
}

impl Sweep {
    pub(super) fn new(m: usize) -> Self {
        Sweep {
            sg: vec![0.0; m + 1],
            yg: vec![0.0; m + 1],
            t: vec![0.0; m + 1],
            u: vec![0.0; m + 1],
            order: Vec::with_capacity(m + 1),
            by_addr: Vec::with_capacity(m + 1),
        }
    }

    /// The slots of `h`'s pairs, oldest first, into `order`.
    pub(super) fn set_order(&mut self, h: &History) {
        self.order.clear();
        self.order.extend((0..h.len).map(|c| h.slot(c)));
    }
}

impl Work {
    fn new(n: usize, m: usize) -> Self {
        let mut w = Work {
            prefault: Prefault::default(),
            d: vec![0.0; n],
            x_trial: vec![0.0; n],
            g_trial: vec![0.0; n],
            sweep: Sweep::new(m),
        };
        // In the order of their first writes, as for the history.
        if std::mem::size_of_val(w.d.as_slice()) >= 1 << 20 {
            let pages: Vec<(usize, usize)> = [&mut w.d, &mut w.x_trial, &mut w.g_trial]
                .into_iter()
                .filter_map(|v| Pages::of(v)?.range(0..n))
                .collect();
            // SAFETY: the three vectors are never resized; `prefault`,
            // declared before them, is dropped before they are, and
            // `next_iter` drops it before it hands `x_trial` and `g_trial`
            // to the driver's state (`mem::swap`).
            w.prefault = unsafe { Prefault::start(pages) };
        }
        w
    }
}

impl Default for Lbfgs {
    fn default() -> Self {
        Self::with_line_search(MoreThuente::default().with_f_eps(F_EPS))
    }
}

impl<L> Lbfgs<L> {
    /// L-BFGS with the given line search (any [`LineSearch`]) and the default
    /// initial step.
    pub fn with_line_search(line_search: L) -> Self {
        Lbfgs {
            options: RunOptions::default(),
            line_search,
            initial_step: UnitLengthFirstStep::default(),
            memory: 10,
            form: LbfgsForm::Compact,
            initial_scaling: true,
            guard: CurvatureGuard::Skip,
            curvature_eps: CURVATURE_EPS,
            history: History::default(),
            work: Work::default(),
        }
    }
}

impl<L, I> Lbfgs<L, I> {
    /// Uses `initial_step` for the first trial of each line search.
    pub fn with_initial_step<J: InitialStep>(self, initial_step: J) -> Lbfgs<L, J> {
        Lbfgs {
            options: self.options,
            line_search: self.line_search,
            initial_step,
            memory: self.memory,
            form: self.form,
            initial_scaling: self.initial_scaling,
            guard: self.guard,
            curvature_eps: self.curvature_eps,
            history: self.history,
            work: self.work,
        }
    }

    /// The number `m` of pairs kept (default 10; must be `≥ 1`, checked when the
    /// run starts).
    #[must_use]
    pub fn with_memory(mut self, m: usize) -> Self {
        self.memory = m;
        self
    }

    /// How `H_k ∇f_k` is computed (default [`LbfgsForm::Compact`]).
    #[must_use]
    pub fn with_form(mut self, form: LbfgsForm) -> Self {
        self.form = form;
        self
    }

    /// Whether `H_k^0 = γ_k I` with `γ_k = sᵀy/yᵀy` (N&W (7.20); default `true`)
    /// or `H_k^0 = I`.
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

    /// The number of pairs kept now.
    pub fn pairs(&self) -> usize {
        self.history.len
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

/// L-BFGS's direction `d_k = −H_k ∇f_k` for the shared line-search step;
/// forgetting clears the history (then `H_k = I`).
struct LbfgsDirection<'a> {
    history: &'a mut History,
    sweep: &'a mut Sweep,
    form: LbfgsForm,
}

impl Direction for LbfgsDirection<'_> {
    const NOT_DESCENT: &'static str = "cleared L-BFGS history: d was not a descent direction";
    const RETRIED: &'static str = "cleared L-BFGS history: the line search failed along −H g";
    const RESTART_INITIAL_STEP: bool = true;

    fn direction(&mut self, g: &[f64], d: &mut [f64]) -> (f64, f64) {
        let h = &mut *self.history;
        self.sweep.set_order(h);
        // Valid for the `g` of the iteration after the pair pass only.
        let fresh = h.fresh.take();
        match self.form {
            LbfgsForm::Compact => compact_direction(h, g, d, self.sweep, fresh),
            LbfgsForm::TwoLoop => {
                let Sweep { t, order, .. } = &mut *self.sweep;
                two_loop_direction(h, g, d, t, order)
            }
        }
    }

    fn can_forget(&self) -> bool {
        self.history.len > 0
    }

    fn forget(&mut self, _g: &[f64], _d: &mut [f64]) {
        self.history.clear();
    }
}

run_options!([L, I] Lbfgs<L, I>);

/// Elements per block of the fused sweeps: a block of `g` and `d` stays in L1
/// while every pair's block streams past it. The history is stored blocked
/// ([`History::chunk`]) so that those blocks are adjacent in memory: with
/// each pair in its own contiguous vector the sweeps read `2m` streams at
/// once, which the hardware prefetchers do not follow (measured at
/// n = 1e6, m = 10: 3 GB/s per sweep against 7 GB/s for one stream, so
/// the compact form was 2× slower than the two-loop form). 2048 rather than
/// 512: the sweeps then read each slot's `s` and `y` in 16 KB runs instead of
/// one 4 KB page at a time (n = 1e6, m = 10, a standalone copy of the
/// sweeps, medians of 15 interleaved: 11.6 ms per sweep at 512, ≈ 10 ms at
/// 1024-4096; in a solve, 8192 was slower: the blocks of `g` and `d` no
/// longer fit in L1).
pub(super) const BLOCK: usize = 2048;

/// `y += a x`.
#[inline]
fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// The compact-form direction (BNS (2.6)) for the pairs in `w.order`;
/// returns `gᵀd` and `‖d‖∞`.
pub(super) fn compact_direction(
    h: &mut History,
    g: &[f64],
    d: &mut [f64],
    w: &mut Sweep,
    fresh: Option<(usize, f64, f64)>,
) -> (f64, f64) {
    let Sweep {
        sg,
        yg,
        t,
        u,
        order,
        by_addr,
    } = w;
    let order: &[usize] = order;
    let n = g.len();
    let w = h.slots;
    let len = order.len();
    // Sweep 1: a = Sᵀg, b = Yᵀg, every pair per block of g.
    for &k in order {
        sg[k] = 0.0;
        yg[k] = 0.0;
    }
    // Slots in address order (the sums do not depend on it), so each block
    // of the history is read front to back, one slot per pass over the
    // block of `g` (two per pass, four streams at once, read slower:
    // `examples/sweep_bandwidth.rs`).
    by_addr.clear();
    by_addr.extend((0..w).filter(|k| order.contains(k)));
    let fresh = fresh.filter(|(p, _, _)| order.contains(p));
    let skip = fresh.map(|(p, _, _)| p);
    for (b, start) in (0..n).step_by(BLOCK).enumerate() {
        let end = (start + BLOCK).min(n);
        let gb = &g[start..end];
        for &k in by_addr.iter().filter(|&&k| Some(k) != skip) {
            let r = h.chunk(k, b);
            let (a, c) = dot2(&h.s[r.clone()], &h.y[r], gb);
            sg[k] += a;
            yg[k] += c;
        }
    }
    if let Some((p, a, c)) = fresh {
        sg[p] = a;
        yg[p] = c;
    }
    // Complete the newest pair's column of R and row of YᵀY from the two
    // sweeps: s_iᵀy_k = s_iᵀg_{k+1} − s_iᵀg_k (times θ, less (1 − θ) α s_iᵀg_k
    // for a damped y).
    if let Some(Pending {
        slot: p,
        theta,
        alpha,
    }) = h.pending.take()
    {
        for &i in order.iter().filter(|&&i| i != p) {
            let s_y = theta * (sg[i] - h.sg_prev[i]) - (1.0 - theta) * alpha * h.sg_prev[i];
            let y_y = theta * (yg[i] - h.yg_prev[i]) - (1.0 - theta) * alpha * h.yg_prev[i];
            h.sy[i * w + p] = s_y;
            h.yy[i * w + p] = y_y;
            h.yy[p * w + i] = y_y;
        }
    }
    for &k in order {
        h.sg_prev[k] = sg[k];
        h.yg_prev[k] = yg[k];
    }
    let gamma = h.gamma;
    // t = R⁻¹ a (back substitution; R upper triangular in chronological order).
    for c in (0..len).rev() {
        let i = order[c];
        let mut v = sg[i];
        for c2 in c + 1..len {
            v -= h.sy[i * w + order[c2]] * t[c2];
        }
        t[c] = v / h.sy[i * w + i];
    }
    // u = R⁻ᵀ ((D + γ YᵀY) t − γ b) (forward substitution with Rᵀ).
    for c in 0..len {
        let i = order[c];
        let mut v = h.sy[i * w + i] * t[c] - gamma * yg[i];
        for c2 in 0..len {
            v += gamma * h.yy[i * w + order[c2]] * t[c2];
        }
        for c1 in 0..c {
            v -= h.sy[order[c1] * w + i] * u[c1];
        }
        u[c] = v / h.sy[i * w + i];
    }
    // Sweep 2: d = −γ g − S u + γ Y t, with gᵀd and ‖d‖∞ on the way; the
    // coefficients by slot (into `sg`, `yg`, free now) so that the history
    // is read in address order again.
    for c in 0..len {
        sg[order[c]] = -u[c];
        yg[order[c]] = gamma * t[c];
    }
    let mut gd = 0.0;
    let mut d_max = 0.0f64;
    for (b, start) in (0..n).step_by(BLOCK).enumerate() {
        let end = (start + BLOCK).min(n);
        let gb = &g[start..end];
        let db = &mut d[start..end];
        for (di, gi) in db.iter_mut().zip(gb) {
            *di = -gamma * gi;
        }
        for &k in by_addr.iter() {
            let r = h.chunk(k, b);
            axpy2(sg[k], &h.s[r.clone()], yg[k], &h.y[r], db);
        }
        let (gd_b, d_max_b) = dot_inf(gb, db);
        gd += gd_b;
        // NaN in d shows in gᵀd, which the caller tests.
        d_max = d_max.max(d_max_b);
    }
    (gd, d_max)
}

/// The two-loop recursion, N&W Algorithm 7.4; returns `gᵀd` and `‖d‖∞`.
fn two_loop_direction(
    h: &History,
    g: &[f64],
    d: &mut [f64],
    alpha: &mut [f64],
    order: &[usize],
) -> (f64, f64) {
    let w = h.slots;
    let q = d;
    q.copy_from_slice(g);
    // αᵀv and v += a x over the blocked storage of one slot.
    let dot_slot = |v: &[f64], k: usize, of: &[f64]| -> f64 {
        (0..h.blocks())
            .map(|b| {
                let r = h.chunk(k, b);
                dot(&of[r.clone()], &v[b * BLOCK..b * BLOCK + r.len()])
            })
            .sum()
    };
    let add = |v: &mut [f64], a: f64, k: usize, of: &[f64]| {
        for b in 0..h.blocks() {
            let r = h.chunk(k, b);
            let len = r.len();
            axpy(a, &of[r], &mut v[b * BLOCK..b * BLOCK + len]);
        }
    };
    for c in (0..order.len()).rev() {
        let k = order[c];
        let rho = 1.0 / h.sy[k * w + k];
        alpha[c] = rho * dot_slot(q, k, &h.s);
        add(q, -alpha[c], k, &h.y);
    }
    let r = q;
    r.iter_mut().for_each(|v| *v *= h.gamma);
    for c in 0..order.len() {
        let k = order[c];
        let rho = 1.0 / h.sy[k * w + k];
        let beta = rho * dot_slot(r, k, &h.y);
        add(r, alpha[c] - beta, k, &h.s);
    }
    r.iter_mut().for_each(|v| *v = -*v);
    (dot(g, r), crate::solver::inf_norm(r))
}

impl<P: Gradient, L: LineSearch, I: InitialStep> Minimizer<P> for Lbfgs<L, I> {
    fn name(&self) -> &'static str {
        "lbfgs"
    }

    fn check_resume(&self, problem: &Counted<P>) -> Result<(), Error> {
        self.history.check_resume(problem.dim())
    }

    fn options(&self) -> &RunOptions {
        &self.options
    }

    fn dim(&self, problem: &Counted<P>) -> usize {
        problem.dim()
    }

    fn init(&mut self, problem: &Counted<P>, state: &mut State) -> Result<(), Error> {
        if self.memory == 0 {
            return Err(Error::invalid_option("memory", 0, "must be >= 1"));
        }
        crate::solver::check_positive("curvature_eps", self.curvature_eps)?;
        self.line_search.validate()?;
        self.line_search.reset();
        self.initial_step.reset();
        let n = state.x.len();
        // The history: s and y, (m + 1) n each, and the (m + 1)² products.
        let slots = self.memory.checked_add(1);
        let floats = slots.and_then(|k| {
            k.checked_mul(n)?
                .checked_mul(2)?
                .checked_add(k.checked_mul(k)?.checked_mul(2)?)
        });
        crate::solver::check_alloc("memory", self.memory, floats)?;
        self.history = History::new(n, self.memory);
        self.work = Work::new(n, self.memory);
        state.f = problem.value_grad(&state.x, &mut state.g);
        Ok(())
    }

    fn next_iter(&mut self, problem: &Counted<P>, state: &mut State) -> Option<Termination> {
        let n = state.x.len();
        let m = self.memory;
        if self.work.d.len() != n {
            // Resumed from a checkpoint: the scratch vectors were not serialized.
            self.work = Work::new(n, m);
        }

        let Work {
            d,
            x_trial,
            g_trial,
            sweep,
            ..
        } = &mut self.work;
        let mut dir = LbfgsDirection {
            history: &mut self.history,
            sweep,
            form: self.form,
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
        // `x_trial` and `g_trial` go to the driver's state below (swapped with
        // `x_k`, `g_k`): stop the thread mapping their pages first (it has
        // long finished by now, at the end of the first iteration).
        drop(std::mem::take(&mut self.work.prefault));
        let Work {
            x_trial, g_trial, ..
        } = &mut self.work;

        // s_k and y_k into the free slot, with sᵀy, sᵀs, yᵀy, sᵀg_k, ‖s‖∞ and
        // the next sweep's products with g_{k+1}.
        let h = &mut self.history;
        let (k, sums) = h.pair_pass(&state.x, x_trial, &state.g, g_trial);
        let PairSums {
            sy,
            ss,
            yy,
            sg,
            s_max,
            sg_new,
            yg_new,
        } = sums;
        let pair = Pair {
            f: step.f,
            alpha: step.alpha,
            sy,
            ss,
            yy,
            sg,
        };
        // y_k's blocks (block b of every slot lies at b · slots · B, slot
        // after slot: `History::chunk`) with the matching blocks of g_k.
        let slots = h.slots;
        let y_and_g =
            h.y.chunks_mut(slots * BLOCK)
                .zip(state.g.chunks(BLOCK))
                .map(|(block, g)| (&mut block[k * g.len()..(k + 1) * g.len()], g));
        let (guard, eps) = (self.guard, self.curvature_eps);
        match accept_pair(guard, eps, &pair, y_and_g, "L-BFGS pair", &mut state.note) {
            Err(t) => return Some(t),
            Ok(Some(kept)) => {
                h.commit(
                    m,
                    kept.sy,
                    kept.yy,
                    kept.theta,
                    step.alpha,
                    self.initial_scaling,
                );
                if !kept.damped() {
                    h.fresh = Some((k, sg_new, yg_new));
                }
            }
            // A pending pair's products still come from the previous sweep.
            Ok(None) => {}
        }

        state.step_norm = s_max;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Fills a history with `pairs` random pairs satisfying sᵀy > 0 through
    /// `commit` and direction calls, as a run does.
    fn random_history(n: usize, m: usize, pairs: usize, seed: u64) -> (History, Work, Vec<f64>) {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut h = History::new(n, m);
        let mut w = Work::new(n, m);
        let mut g: Vec<f64> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
        for _ in 0..pairs {
            // A compact sweep at g_k, as at the start of each iteration.
            w.sweep.set_order(&h);
            compact_direction(&mut h, &g, &mut w.d, &mut w.sweep, None);
            // A random s with y = A s for a random SPD diagonal A, and g_{k+1} = g_k + y.
            let k = h.free_slot();
            let (mut sy, mut yy) = (0.0, 0.0);
            for (i, gi) in g.iter_mut().enumerate() {
                let si: f64 = rng.random_range(-1.0..1.0);
                let yi = si * rng.random_range(0.5..4.0);
                let at = h.chunk(k, i / BLOCK).start + i % BLOCK;
                h.s[at] = si;
                h.y[at] = yi;
                *gi += yi;
                sy += si * yi;
                yy += yi * yi;
            }
            h.commit(m, sy, yy, 1.0, 1.0, true);
        }
        (h, w, g)
    }

    #[test]
    fn compact_form_matches_two_loop() {
        for (n, m, pairs) in [
            (5, 3, 2),
            (7, 3, 9),
            (40, 10, 25),
            (1, 1, 4),
            (600, 5, 6),
            (5000, 4, 7),
        ] {
            let (mut h, mut w, g) = random_history(n, m, pairs, 7 + n as u64);
            w.sweep.set_order(&h);
            let mut d_two = vec![0.0; n];
            let mut alpha = w.sweep.t.clone();
            let (gd_two, _) = two_loop_direction(&h, &g, &mut d_two, &mut alpha, &w.sweep.order);
            let (gd, _) = compact_direction(&mut h, &g, &mut w.d, &mut w.sweep, None);
            let d = &w.d;
            let scale = d_two.iter().fold(0.0f64, |a, v| a.max(v.abs()));
            for i in 0..n {
                assert!(
                    (d[i] - d_two[i]).abs() <= 1e-10 * scale,
                    "n={n} m={m}: d[{i}] = {} vs two-loop {}",
                    d[i],
                    d_two[i]
                );
            }
            assert!((gd - gd_two).abs() <= 1e-10 * gd_two.abs());
        }
    }
}
