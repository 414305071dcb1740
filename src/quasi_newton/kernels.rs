//! The streaming loops of L-BFGS's compact form and of L-BFGS-B's bounded
//! path (its pair pass, Cauchy path start, subspace step and clamped line
//! probes), with AVX2 versions chosen at run time.
//!
//! The crate is built for baseline x86-64 (SSE2), where LLVM vectorized the
//! two-sum dot product of sweep 1 across the two sums (`s·g` and `y·g` in
//! one register, `g` broadcast element by element): 27 instructions per four
//! elements, so the sweep ran at 27 GB/s against the 41 GB/s a plain read
//! streams here. The AVX2 versions below do the same arithmetic in the same
//! order, four lanes per register (lane `l` sums elements `l, l + 4, …`, as the
//! four accumulators of the portable versions do, and no fused multiply-add),
//! so every result is bit-identical whichever version runs: the choice made at
//! run time (`is_x86_feature_detected!`) changes the speed only, never an
//! iterate. The sweeps handle one pair per pass over a block (two streams of
//! the history) and prefetch a page ahead ([`PREFETCH`]).

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// How far ahead of its loads (bytes) the AVX2 [`dot2`] and [`axpy2`] ask
/// for the history. The hardware prefetchers of this machine's CPU (AMD EPYC
/// in a VM) follow a stream within a 4 KB page and restart slowly at the
/// next one; one software prefetch per cache line a page ahead brings the
/// sweeps to the speed of a plain read of as many bytes
/// (`cargo run --release --example sweep_bandwidth`, n = 1e6, m = 10,
/// medians of 21: sweep 1 4.77 ms and sweep 2 4.84 ms against 4.74 ms for a
/// plain read of `S` and `Y`; without the prefetch 5.60 and 5.41 ms, and
/// 6.15 and 6.08 ms with two pairs per pass, the kernels before).
#[cfg(target_arch = "x86_64")]
const PREFETCH: usize = 4096;

/// A helper thread that maps the pages of given ranges of memory for
/// writing, range after range, so that a solve's first writes there find
/// them mapped instead of taking the page faults on the solving thread.
/// Mapping fresh pages is kernel work (zeroing each page, one trap or one
/// system call per page) that costs as much as a tenth of an L-BFGS solve
/// at n = 1e6 and needs no data from the solve, so the machine's second core
/// can do it while the first iterations run (`benches/lbfgs.rs`).
///
/// Dropping the value stops the thread after its current range and waits
/// for it. The contents of the memory are never changed
/// (`madvise(MADV_POPULATE_WRITE)` maps only pages not mapped yet, with
/// zeros, as the first write would); the solving thread may read and write
/// the memory meanwhile. Linux only; elsewhere, or if the thread cannot be
/// started, the pages are mapped by the first writes as without it.
#[derive(Default)]
pub(super) struct Prefault {
    stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Prefault {
    /// Starts mapping `pages` (address and length in bytes, from
    /// [`Pages::of`]), in order.
    ///
    /// # Safety
    /// Every range must lie in allocations that stay alive, unmoved and not
    /// resized, until the value returned is dropped.
    pub unsafe fn start(pages: Vec<(usize, usize)>) -> Self {
        #[cfg(target_os = "linux")]
        {
            use std::sync::Arc;
            use std::sync::atomic::{AtomicBool, Ordering};
            let stop = Arc::new(AtomicBool::new(false));
            let flag = Arc::clone(&stop);
            let spawned = std::thread::Builder::new()
                .name("hesse-prefault".into())
                .spawn(move || {
                    for (start, len) in pages {
                        if flag.load(Ordering::Relaxed) {
                            return;
                        }
                        // SAFETY: the range lies in memory the caller keeps
                        // allocated until the thread is joined;
                        // MADV_POPULATE_WRITE does not change what it holds.
                        // On a kernel without it the call fails: stop, the
                        // first writes map the pages.
                        let ok = unsafe {
                            libc::madvise(
                                start as *mut libc::c_void,
                                len,
                                libc::MADV_POPULATE_WRITE,
                            )
                        };
                        if ok != 0 {
                            return;
                        }
                    }
                });
            if let Ok(thread) = spawned {
                return Prefault {
                    stop: Some(stop),
                    thread: Some(thread),
                };
            }
        }
        #[cfg(not(target_os = "linux"))]
        let _ = pages;
        Prefault::default()
    }
}

/// Whole pages of a slice: element ranges of it as page-aligned byte ranges.
pub(super) struct Pages {
    at: usize,
    lo: usize,
    hi: usize,
    page: usize,
}

impl Pages {
    /// The pages of `v` (`None` where the page size is unknown).
    pub fn of(v: &mut [f64]) -> Option<Self> {
        #[cfg(target_os = "linux")]
        {
            // SAFETY: sysconf has no preconditions.
            let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
            let page = usize::try_from(page).ok().filter(|&p| p > 0)?;
            let at = v.as_mut_ptr() as usize;
            Some(Pages {
                at,
                lo: at.next_multiple_of(page),
                hi: (at + std::mem::size_of_val(v)) / page * page,
                page,
            })
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = v;
            None
        }
    }

    /// The whole pages of `v`'s allocation (its capacity, whether or not in
    /// use), as `(address, bytes)`, or `None` if there are none.
    pub fn capacity<T>(v: &mut Vec<T>) -> Option<(usize, usize)> {
        #[cfg(target_os = "linux")]
        {
            // SAFETY: sysconf has no preconditions.
            let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
            let page = usize::try_from(page).ok().filter(|&p| p > 0)?;
            let at = v.as_mut_ptr() as usize;
            let (lo, hi) = (
                at.next_multiple_of(page),
                (at + v.capacity() * std::mem::size_of::<T>()) / page * page,
            );
            (hi > lo).then_some((lo, hi - lo))
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = v;
            None
        }
    }

    /// The whole pages inside the slice that elements `r` touch, as
    /// `(address, bytes)`, or `None` if there are none.
    pub fn range(&self, r: std::ops::Range<usize>) -> Option<(usize, usize)> {
        let size = std::mem::size_of::<f64>();
        let start = ((self.at + r.start * size) / self.page * self.page).max(self.lo);
        let end = (self.at + r.end * size)
            .next_multiple_of(self.page)
            .min(self.hi);
        (end > start).then_some((start, end - start))
    }
}

impl Drop for Prefault {
    fn drop(&mut self) {
        if let Some(stop) = &self.stop {
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        if let Some(thread) = self.thread.take() {
            // The thread only makes system calls; it does not panic.
            let _ = thread.join();
        }
    }
}

/// A copy holds no thread: the memory it is cloned along with is new, mapped
/// by the copy.
impl Clone for Prefault {
    fn clone(&self) -> Self {
        Prefault::default()
    }
}

impl std::fmt::Debug for Prefault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prefault")
            .field("running", &self.thread.is_some())
            .finish()
    }
}

/// Whether this CPU runs the AVX2 versions (cached by the standard library).
#[cfg(target_arch = "x86_64")]
#[inline]
fn has_avx2() -> bool {
    std::is_x86_feature_detected!("avx2")
}

/// `(aᵀg, bᵀg)` in one pass over `g`, four accumulators each, added as
/// `(p₀ + p₂) + (p₁ + p₃)` plus the tail `len mod 4` elements summed in order.
/// `a`, `b` and `g` have the same length.
#[inline]
pub(super) fn dot2(a: &[f64], b: &[f64], g: &[f64]) -> (f64, f64) {
    assert!(a.len() == g.len() && b.len() == g.len());
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { avx2::dot2(a, b, g) };
    }
    dot2_portable(a, b, g)
}

/// `d += a x + b y` elementwise, as `dᵢ + ((a xᵢ) + (b yᵢ))`.
#[inline]
pub(super) fn axpy2(a: f64, x: &[f64], b: f64, y: &[f64], d: &mut [f64]) {
    assert!(x.len() == d.len() && y.len() == d.len());
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { avx2::axpy2(a, x, b, y, d) };
    }
    axpy2_portable(a, x, b, y, d);
}

/// `(gᵀd, ‖d‖∞)`: the bits of [`crate::linesearch::dot`]`(g, d)` (eight
/// accumulators) and of [`crate::solver::inf_norm`]`(d)` (NaN if `d` holds
/// one) in one pass.
#[inline]
pub(super) fn dot_inf(g: &[f64], d: &[f64]) -> (f64, f64) {
    assert_eq!(g.len(), d.len());
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { avx2::dot_inf(g, d) };
    }
    (crate::linesearch::dot(g, d), crate::solver::inf_norm(d))
}

/// The sums of one block of the pair pass.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(super) struct PairSums {
    pub sy: f64,
    pub ss: f64,
    pub yy: f64,
    pub sg: f64,
    pub s_max: f64,
    /// `sᵀg₊` and `yᵀg₊` with the bits of [`dot2`]`(s, y, g₊)`: what the
    /// next direction's sweep 1 would compute for this pair, so that it
    /// need not read the pair back.
    pub sg_new: f64,
    pub yg_new: f64,
}

impl PairSums {
    /// Adds the sums of the next block (in the order sweep 1 adds its blocks).
    pub fn add(&mut self, b: PairSums) {
        self.sy += b.sy;
        self.ss += b.ss;
        self.yy += b.yy;
        self.sg += b.sg;
        self.s_max = self.s_max.max(b.s_max);
        self.sg_new += b.sg_new;
        self.yg_new += b.yg_new;
    }
}

/// The accumulators of the pair pass, four lanes each.
#[derive(Default)]
struct PairLanes {
    sy: [f64; 4],
    ss: [f64; 4],
    yy: [f64; 4],
    sg: [f64; 4],
    sm: [f64; 4],
    sg_new: [f64; 4],
    yg_new: [f64; 4],
    /// The tails of `sg_new` and `yg_new`, summed apart as [`dot2`] does.
    sg_new_tail: f64,
    yg_new_tail: f64,
}

/// `s = x₊ − x`, `y = g₊ − g` and `sᵀy`, `sᵀs`, `yᵀy`, `sᵀg`, `‖s‖∞`,
/// `sᵀg₊`, `yᵀg₊` in one pass, four lanes of accumulators per sum as in
/// [`dot2`] (the tail into lane 0, except for `sᵀg₊` and `yᵀg₊`, whose tails
/// are summed apart as in [`dot2`]).
pub(super) fn pair_pass(
    x: &[f64],
    x_new: &[f64],
    g: &[f64],
    g_new: &[f64],
    s: &mut [f64],
    y: &mut [f64],
) -> PairSums {
    let n = x.len();
    assert!([x_new, g, g_new].iter().all(|v| v.len() == n) && s.len() == n && y.len() == n);
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { avx2::pair_pass(x, x_new, g, g_new, s, y) };
    }
    pair_pass_portable(x, x_new, g, g_new, s, y)
}

fn dot2_portable(a: &[f64], b: &[f64], g: &[f64]) -> (f64, f64) {
    let (mut p, mut q) = ([0.0f64; 4], [0.0f64; 4]);
    let len = g.len() / 4 * 4;
    for ((x, y), z) in a[..len]
        .chunks_exact(4)
        .zip(b[..len].chunks_exact(4))
        .zip(g[..len].chunks_exact(4))
    {
        for l in 0..4 {
            p[l] += x[l] * z[l];
            q[l] += y[l] * z[l];
        }
    }
    let (mut pt, mut qt) = (0.0, 0.0);
    for i in len..g.len() {
        pt += a[i] * g[i];
        qt += b[i] * g[i];
    }
    (
        (p[0] + p[2]) + (p[1] + p[3]) + pt,
        (q[0] + q[2]) + (q[1] + q[3]) + qt,
    )
}

fn axpy2_portable(a: f64, x: &[f64], b: f64, y: &[f64], d: &mut [f64]) {
    for ((di, xi), yi) in d.iter_mut().zip(x).zip(y) {
        *di += a * xi + b * yi;
    }
}

fn pair_pass_portable(
    x: &[f64],
    x_new: &[f64],
    g: &[f64],
    g_new: &[f64],
    s: &mut [f64],
    y: &mut [f64],
) -> PairSums {
    const L: usize = 4;
    let mut a = PairLanes::default();
    let n = x.len();
    let nc = n / L * L;
    for b in (0..nc).step_by(L) {
        for l in 0..L {
            let i = b + l;
            let si = x_new[i] - x[i];
            let yi = g_new[i] - g[i];
            s[i] = si;
            y[i] = yi;
            a.sy[l] += si * yi;
            a.ss[l] += si * si;
            a.yy[l] += yi * yi;
            a.sg[l] += si * g[i];
            a.sm[l] = a.sm[l].max(si.abs());
            a.sg_new[l] += si * g_new[i];
            a.yg_new[l] += yi * g_new[i];
        }
    }
    pair_tail(x, x_new, g, g_new, s, y, nc, &mut a);
    finish_pair(a)
}

/// Elements `nc..` of the pair pass, into lane 0 (`sᵀg₊`, `yᵀg₊` apart).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn pair_tail(
    x: &[f64],
    x_new: &[f64],
    g: &[f64],
    g_new: &[f64],
    s: &mut [f64],
    y: &mut [f64],
    nc: usize,
    a: &mut PairLanes,
) {
    for i in nc..x.len() {
        let si = x_new[i] - x[i];
        let yi = g_new[i] - g[i];
        s[i] = si;
        y[i] = yi;
        a.sy[0] += si * yi;
        a.ss[0] += si * si;
        a.yy[0] += yi * yi;
        a.sg[0] += si * g[i];
        a.sm[0] = a.sm[0].max(si.abs());
        a.sg_new_tail += si * g_new[i];
        a.yg_new_tail += yi * g_new[i];
    }
}

#[inline(always)]
fn finish_pair(a: PairLanes) -> PairSums {
    let sum = |a: [f64; 4]| (a[0] + a[2]) + (a[1] + a[3]);
    PairSums {
        sy: sum(a.sy),
        ss: sum(a.ss),
        yy: sum(a.yy),
        sg: sum(a.sg),
        s_max: a.sm.iter().fold(0.0, |m: f64, v| m.max(*v)),
        sg_new: sum(a.sg_new) + a.sg_new_tail,
        yg_new: sum(a.yg_new) + a.yg_new_tail,
    }
}

/// `(p₀ + p₂) + (p₁ + p₃) + tail`: how [`dot2`] adds its lanes.
#[inline(always)]
fn lane_sum(p: [f64; 4], tail: f64) -> f64 {
    (p[0] + p[2]) + (p[1] + p[3]) + tail
}

/// One block of L-BFGS-B's new pair and what its pair pass needs of it.
pub(super) struct NewPair<'a> {
    /// `s`, `y` of the new pair.
    pub s: &'a [f64],
    pub y: &'a [f64],
    /// The same on the free set, `0` elsewhere.
    pub sf: &'a [f64],
    pub yf: &'a [f64],
    /// The next Cauchy point's direction.
    pub d: &'a [f64],
}

/// The products of L-BFGS-B's pair pass with one kept pair `(s_j, y_j)` over
/// one block, in this order: `sᵀy_j`, `yᵀs_j`, `sᵀs_j` (all variables),
/// `y_fᵀy_j`, `y_fᵀs_j`, `s_fᵀy_j`, `s_fᵀs_j` (the free set), `s_jᵀd`, `y_jᵀd`.
/// Each is summed as [`dot2`] sums, so the last two carry the bits of
/// `dot2(s_j, y_j, d)`. `free` says how much of the block is free (`s_f`
/// and `y_f` are then not read where they are `s`, `y` or 0); the result
/// does not depend on it.
#[inline]
pub(super) fn box_products(sj: &[f64], yj: &[f64], v: &NewPair<'_>, free: Free) -> [f64; 9] {
    let n = v.d.len();
    assert!([sj, yj, v.s, v.y, v.sf, v.yf].iter().all(|a| a.len() == n));
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { avx2::box_products(sj, yj, v, free) };
    }
    let _ = free;
    box_products_body(sj, yj, v)
}

/// How much of a block is in the free set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Free {
    All,
    None,
    Some,
}

/// The portable version of [`box_products`]: lane `l` sums elements
/// `l, l + 4, …`, as the lanes of the AVX2 version do (the same bits).
// The lanes index nine accumulators and seven vectors at once.
#[allow(clippy::needless_range_loop)]
#[inline(always)]
fn box_products_body(sj: &[f64], yj: &[f64], v: &NewPair<'_>) -> [f64; 9] {
    let n = v.d.len();
    let n4 = n / 4 * 4;
    let (s, y, sf, yf, d) = (&v.s[..n], &v.y[..n], &v.sf[..n], &v.yf[..n], v.d);
    let (sj, yj) = (&sj[..n], &yj[..n]);
    let mut p = [[0.0f64; 4]; 9];
    for i4 in (0..n4).step_by(4) {
        for l in 0..4 {
            let i = i4 + l;
            let (a, b) = (sj[i], yj[i]);
            p[0][l] += s[i] * b;
            p[1][l] += y[i] * a;
            p[2][l] += s[i] * a;
            p[3][l] += yf[i] * b;
            p[4][l] += yf[i] * a;
            p[5][l] += sf[i] * b;
            p[6][l] += sf[i] * a;
            p[7][l] += a * d[i];
            p[8][l] += b * d[i];
        }
    }
    let mut t = [0.0f64; 9];
    for i in n4..n {
        let (a, b) = (sj[i], yj[i]);
        t[0] += s[i] * b;
        t[1] += y[i] * a;
        t[2] += s[i] * a;
        t[3] += yf[i] * b;
        t[4] += yf[i] * a;
        t[5] += sf[i] * b;
        t[6] += sf[i] * a;
        t[7] += a * d[i];
        t[8] += b * d[i];
    }
    std::array::from_fn(|k| lane_sum(p[k], t[k]))
}

/// The sums of one block of L-BFGS-B's new pair.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(super) struct BoxPairSums {
    pub sy: f64,
    pub ss: f64,
    pub yy: f64,
    pub sg: f64,
    pub s_max: f64,
    /// `y_fᵀy`, `y_fᵀs`, `s_fᵀs`: the pair's products with itself over the
    /// free set.
    pub fyy: f64,
    pub fys: f64,
    pub fss: f64,
}

impl BoxPairSums {
    /// Adds the sums of the next block.
    pub fn add(&mut self, b: BoxPairSums) {
        self.sy += b.sy;
        self.ss += b.ss;
        self.yy += b.yy;
        self.sg += b.sg;
        self.s_max = self.s_max.max(b.s_max);
        self.fyy += b.fyy;
        self.fys += b.fys;
        self.fss += b.fss;
    }
}

/// One block of L-BFGS-B's new pair: `s = x₊ − x`, `y = g₊ − g` into `s`,
/// `y`, the same on the variables where `free` holds (`0` elsewhere) into
/// `sf`, `yf`, and the pair's sums.
#[allow(clippy::too_many_arguments)]
#[inline]
pub(super) fn box_pair(
    x: &[f64],
    x_new: &[f64],
    g: &[f64],
    g_new: &[f64],
    free: &[bool],
    s: &mut [f64],
    y: &mut [f64],
    sf: &mut [f64],
    yf: &mut [f64],
) -> BoxPairSums {
    let n = x.len();
    assert!([x_new, g, g_new].iter().all(|v| v.len() == n) && free.len() == n);
    assert!(s.len() == n && y.len() == n && sf.len() == n && yf.len() == n);
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { avx2::box_pair(x, x_new, g, g_new, free, s, y, sf, yf) };
    }
    box_pair_tail(
        x,
        x_new,
        g,
        g_new,
        free,
        s,
        y,
        sf,
        yf,
        0,
        [[0.0; 4]; 7],
        [0.0; 4],
    )
}

/// Elements `from..` of [`box_pair`] (`from` a multiple of 4), given the
/// lanes `p` of its seven sums and `sm` of `max |s_i|` over the elements
/// before: the portable version from 0, the end of the AVX2 one.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn box_pair_tail(
    x: &[f64],
    x_new: &[f64],
    g: &[f64],
    g_new: &[f64],
    free: &[bool],
    s: &mut [f64],
    y: &mut [f64],
    sf: &mut [f64],
    yf: &mut [f64],
    from: usize,
    mut p: [[f64; 4]; 7],
    mut sm: [f64; 4],
) -> BoxPairSums {
    let n = x.len();
    let (x_new, g, g_new, free) = (&x_new[..n], &g[..n], &g_new[..n], &free[..n]);
    let (s, y, sf, yf) = (&mut s[..n], &mut y[..n], &mut sf[..n], &mut yf[..n]);
    for i in from..n {
        let (si, yi) = (x_new[i] - x[i], g_new[i] - g[i]);
        s[i] = si;
        y[i] = yi;
        let f = if free[i] { 1.0 } else { 0.0 };
        sf[i] = si * f;
        yf[i] = yi * f;
    }
    let n4 = n / 4 * 4;
    for i4 in (from..n4).step_by(4) {
        for l in 0..4 {
            let i = i4 + l;
            let (si, yi) = (s[i], y[i]);
            p[0][l] += si * yi;
            p[1][l] += si * si;
            p[2][l] += yi * yi;
            p[3][l] += si * g[i];
            p[4][l] += yf[i] * yi;
            p[5][l] += yf[i] * si;
            p[6][l] += sf[i] * si;
            sm[l] = sm[l].max(si.abs());
        }
    }
    let mut t = [0.0f64; 7];
    let mut m = sm.iter().fold(0.0, |m: f64, v| m.max(*v));
    for i in n4..n {
        let (si, yi) = (s[i], y[i]);
        t[0] += si * yi;
        t[1] += si * si;
        t[2] += yi * yi;
        t[3] += si * g[i];
        t[4] += yf[i] * yi;
        t[5] += yf[i] * si;
        t[6] += sf[i] * si;
        m = m.max(si.abs());
    }
    let sum = |k: usize| lane_sum(p[k], t[k]);
    BoxPairSums {
        sy: sum(0),
        ss: sum(1),
        yy: sum(2),
        sg: sum(3),
        s_max: m,
        fyy: sum(4),
        fys: sum(5),
        fss: sum(6),
    }
}

/// The lanes of a Cauchy path's start on one block ([`cauchy_start`]):
/// lane `l` over the elements `l, l + 4, …`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct StartLanes {
    /// `f' = −dᵀd`.
    pub f1: [f64; 4],
    /// The smallest breakpoint.
    pub t_min: [f64; 4],
    /// The largest `|pg_i|` of the projected gradient
    /// ([`Bounds::projected_grad_norm`](crate::solver::Bounds::projected_grad_norm)),
    /// passing over NaN, and whether some `pg_i` was NaN.
    pub pg: [f64; 4],
    pub pg_nan: bool,
}

impl StartLanes {
    /// The projected gradient's ∞-norm from the lanes: NaN if some `pg_i`
    /// was (the maximum is exact, so any grouping gives the same bits).
    pub fn pg_norm(&self) -> f64 {
        if self.pg_nan {
            f64::NAN
        } else {
            self.pg.iter().fold(0.0, |m: f64, &a| m.max(a))
        }
    }
}

impl Default for StartLanes {
    fn default() -> Self {
        StartLanes {
            f1: [0.0; 4],
            t_min: [f64::INFINITY; 4],
            pg: [0.0; 4],
            pg_nan: false,
        }
    }
}

/// Where a Cauchy path starts on one block (L-BFGS-B, BLNZ §4) at `x`:
/// `d = −g` on the variables free to move, `+0.0` on those held at a bound
/// (marked in `at_bound`). Returns the lanes of `f' = −dᵀd`, of the smallest
/// breakpoint, and of the projected gradient's ∞-norm at `x` (L-BFGS-B's
/// stopping measure, read here from the vectors this pass reads anyway).
#[allow(clippy::too_many_arguments)]
#[inline]
pub(super) fn cauchy_start(
    x: &[f64],
    g: &[f64],
    lo: &[f64],
    hi: &[f64],
    d: &mut [f64],
    at_bound: &mut [bool],
) -> StartLanes {
    let n = x.len();
    assert!([g, lo, hi].iter().all(|v| v.len() == n));
    assert!(d.len() == n && at_bound.len() == n);
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { avx2::cauchy_start(x, g, lo, hi, d, at_bound) };
    }
    let mut acc = StartLanes::default();
    cauchy_start_tail(x, g, lo, hi, d, at_bound, 0, &mut acc);
    acc
}

/// `pg_i`, the projected gradient of one variable as
/// [`Bounds::projected_grad_norm`](crate::solver::Bounds::projected_grad_norm)
/// forms it (`g` cut at the distance to the bound it points to).
#[inline(always)]
fn projected_grad(x: f64, g: f64, lo: f64, hi: f64) -> f64 {
    let (a, b) = (g.max(x - hi), g.min(x - lo));
    if g < 0.0 {
        a
    } else if g > 0.0 {
        b
    } else {
        g
    }
}

/// Elements `from..` of [`cauchy_start`], element `i` into lane `i mod 4`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn cauchy_start_tail(
    x: &[f64],
    g: &[f64],
    lo: &[f64],
    hi: &[f64],
    d: &mut [f64],
    at_bound: &mut [bool],
    from: usize,
    acc: &mut StartLanes,
) {
    for i in from..x.len() {
        let (xi, gi, l, h) = (x[i], g[i], lo[i], hi[i]);
        let stuck = (l == h) | ((xi <= l) & (gi >= 0.0)) | ((xi >= h) & (gi <= 0.0));
        at_bound[i] = stuck;
        let di = if stuck | (gi == 0.0) { 0.0 } else { -gi };
        d[i] = di;
        let k = i % 4;
        acc.f1[k] -= di * di;
        acc.t_min[k] = acc.t_min[k].min(breakpoint(l, h, xi, di));
        let p = projected_grad(xi, gi, l, h);
        let a = p.abs();
        acc.pg[k] = if a > acc.pg[k] { a } else { acc.pg[k] };
        acc.pg_nan |= p.is_nan();
    }
}

/// The step `α ≥ 0` at which `x + α d` meets the bound in `[lo, hi]` it
/// moves toward (`+∞` if none): `Bounds::breakpoint` on one variable.
#[inline(always)]
pub(super) fn breakpoint(lo: f64, hi: f64, x: f64, d: f64) -> f64 {
    let bound = if d < 0.0 { lo } else { hi };
    let t = ((bound - x) / d).max(0.0);
    if d != 0.0 && bound.is_finite() {
        t
    } else {
        f64::INFINITY
    }
}

/// The sums of L-BFGS-B's subspace pass, four lanes each.
#[derive(Debug, Clone, Copy)]
pub(super) struct StepLanes {
    /// `gᵀd`, `dᵀd` and the largest step in the box along `d`.
    pub gd: [f64; 4],
    pub dd: [f64; 4],
    pub step: [f64; 4],
}

impl Default for StepLanes {
    fn default() -> Self {
        StepLanes {
            gd: [0.0; 4],
            dd: [0.0; 4],
            step: [f64::INFINITY; 4],
        }
    }
}

/// The vectors of one block of L-BFGS-B's subspace pass.
pub(super) struct StepBlock<'a> {
    pub x: &'a [f64],
    pub g: &'a [f64],
    pub lo: &'a [f64],
    pub hi: &'a [f64],
    pub at_bound: &'a [bool],
    /// `W u` on the block.
    pub wu: &'a [f64],
    /// In: `x^c` where the Cauchy path took a variable to its bound (`d`
    /// is `−0.0` there); out: `x^c`.
    pub xcp: &'a mut [f64],
    /// In: the Cauchy path's direction, `−0.0` where the path reached the
    /// bound and `+0.0` where the variable did not move; out: the search
    /// direction `x̄ − x`.
    pub d: &'a mut [f64],
    /// Out: the subspace step `d^u` (0 off the free set).
    pub du: &'a mut [f64],
}

/// One block of L-BFGS-B's subspace pass: `x^c = P(x + t d)` where the
/// Cauchy direction `d ≠ 0`, `xcp` where `d = −0.0`, `x` where `d = +0.0`; on the free variables
/// `d^u = (x − x^c) − g/θ + (W u)` (`1/θ` as `inv_theta`), 0 elsewhere;
/// `x̄ = P(x^c + d^u)` (MN); the direction `x̄ − x` into `d`, with `gᵀd`,
/// `dᵀd` and the largest step in the box along it added into `acc`
/// (element `i` into lane `i mod 4`).
#[inline]
pub(super) fn subspace_step(b: StepBlock<'_>, t: f64, inv_theta: f64, acc: &mut StepLanes) {
    let n = b.x.len();
    assert!([b.g, b.lo, b.hi, b.wu].iter().all(|v| v.len() == n) && b.at_bound.len() == n);
    assert!(b.xcp.len() == n && b.d.len() == n && b.du.len() == n);
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { avx2::subspace_step(b, t, inv_theta, acc) };
    }
    subspace_step_tail(b, 0, t, inv_theta, acc);
}

/// Elements `from..` of [`subspace_step`].
#[inline(always)]
fn subspace_step_tail(b: StepBlock<'_>, from: usize, t: f64, inv_theta: f64, acc: &mut StepLanes) {
    for i in from..b.x.len() {
        let (x, g, lo, hi) = (b.x[i], b.g[i], b.lo[i], b.hi[i]);
        let dc = b.d[i];
        let xc = if dc != 0.0 {
            (x + t * dc).clamp(lo, hi)
        } else if dc.is_sign_negative() {
            b.xcp[i]
        } else {
            x
        };
        b.xcp[i] = xc;
        let free = !b.at_bound[i];
        let du = if free {
            (x - xc) - g * inv_theta + b.wu[i]
        } else {
            0.0
        };
        let xb = if free { (xc + du).clamp(lo, hi) } else { xc };
        b.du[i] = du;
        let di = xb - x;
        b.d[i] = di;
        let l = i % 4;
        acc.gd[l] += g * di;
        acc.dd[l] += di * di;
        acc.step[l] = acc.step[l].min(breakpoint(lo, hi, x, di));
    }
}

/// `out = P(x + α d)`, the box `[lo, hi]`.
#[inline]
pub(super) fn clamped_step(
    x: &[f64],
    alpha: f64,
    d: &[f64],
    lo: &[f64],
    hi: &[f64],
    out: &mut [f64],
) {
    let n = x.len();
    assert!([d, lo, hi].iter().all(|v| v.len() == n) && out.len() == n);
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { avx2::clamped_step(x, alpha, d, lo, hi, out) };
    }
    clamped_step_tail(x, alpha, d, lo, hi, out, 0);
}

#[inline(always)]
fn clamped_step_tail(
    x: &[f64],
    alpha: f64,
    d: &[f64],
    lo: &[f64],
    hi: &[f64],
    out: &mut [f64],
    from: usize,
) {
    for i in from..x.len() {
        out[i] = (x[i] + alpha * d[i]).clamp(lo[i], hi[i]);
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! The AVX2 versions: lane `l` of each register is accumulator `l` of
    //! the portable version; multiplications and additions stay separate
    //! (Rust never contracts `a * b + c` into a fused multiply-add, and
    //! neither do these), so the results are bit-identical.
    use super::*;

    /// `v.clamp(lo, hi)` lane by lane: `lo` where `v < lo`, `hi` where
    /// `v > hi`, else `v` (NaN stays NaN), as `f64::clamp`.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn clamp(v: __m256d, lo: __m256d, hi: __m256d) -> __m256d {
        let v = _mm256_blendv_pd(v, lo, _mm256_cmp_pd::<_CMP_LT_OQ>(v, lo));
        _mm256_blendv_pd(v, hi, _mm256_cmp_pd::<_CMP_GT_OQ>(v, hi))
    }

    /// [`super::breakpoint`] lane by lane.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn breakpoints(lo: __m256d, hi: __m256d, x: __m256d, d: __m256d) -> __m256d {
        let zero = _mm256_setzero_pd();
        let inf = _mm256_set1_pd(f64::INFINITY);
        let bound = _mm256_blendv_pd(hi, lo, _mm256_cmp_pd::<_CMP_LT_OQ>(d, zero));
        // max(NaN, 0) is 0, as f64::max.
        let t = _mm256_max_pd(_mm256_div_pd(_mm256_sub_pd(bound, x), d), zero);
        let abs = _mm256_andnot_pd(_mm256_set1_pd(-0.0), bound);
        let keep = _mm256_and_pd(
            _mm256_cmp_pd::<_CMP_NEQ_UQ>(d, zero),
            _mm256_cmp_pd::<_CMP_LT_OQ>(abs, inf),
        );
        _mm256_blendv_pd(inf, t, keep)
    }

    /// `a + b c`, rounded twice (no fused multiply-add).
    #[inline]
    #[target_feature(enable = "avx2")]
    fn acc(a: __m256d, b: __m256d, c: __m256d) -> __m256d {
        _mm256_add_pd(a, _mm256_mul_pd(b, c))
    }

    /// Four `bool`s as a lane mask (all ones where true).
    #[inline]
    #[target_feature(enable = "avx2")]
    fn bool_mask(b: &[bool]) -> __m256d {
        let bits = u32::from_le_bytes([
            u8::from(b[0]),
            u8::from(b[1]),
            u8::from(b[2]),
            u8::from(b[3]),
        ]);
        let wide = _mm256_cvtepu8_epi64(_mm_cvtsi32_si128(bits as i32));
        let zero = _mm256_setzero_si256();
        // All ones where the byte is not 0.
        _mm256_castsi256_pd(_mm256_xor_si256(
            _mm256_cmpeq_epi64(wide, zero),
            _mm256_set1_epi64x(-1),
        ))
    }

    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx2")]
    pub(super) fn cauchy_start(
        x: &[f64],
        g: &[f64],
        lo: &[f64],
        hi: &[f64],
        d: &mut [f64],
        at_bound: &mut [bool],
    ) -> super::StartLanes {
        let n4 = x.len() / 4 * 4;
        let zero = _mm256_setzero_pd();
        let mut f1 = zero;
        let mut t_min = _mm256_set1_pd(f64::INFINITY);
        let (mut pg, mut pg_nan) = (zero, zero);
        let sign = _mm256_set1_pd(-0.0);
        for i in (0..n4).step_by(4) {
            let r = i..i + 4;
            let (xv, gv) = (load(&x[r.clone()]), load(&g[r.clone()]));
            let (l, h) = (load(&lo[r.clone()]), load(&hi[r.clone()]));
            let stuck = _mm256_or_pd(
                _mm256_cmp_pd::<_CMP_EQ_OQ>(l, h),
                _mm256_or_pd(
                    _mm256_and_pd(
                        _mm256_cmp_pd::<_CMP_LE_OQ>(xv, l),
                        _mm256_cmp_pd::<_CMP_GE_OQ>(gv, zero),
                    ),
                    _mm256_and_pd(
                        _mm256_cmp_pd::<_CMP_GE_OQ>(xv, h),
                        _mm256_cmp_pd::<_CMP_LE_OQ>(gv, zero),
                    ),
                ),
            );
            let bits = _mm256_movemask_pd(stuck);
            for (k, a) in at_bound[r.clone()].iter_mut().enumerate() {
                *a = bits >> k & 1 != 0;
            }
            let hold = _mm256_or_pd(stuck, _mm256_cmp_pd::<_CMP_EQ_OQ>(gv, zero));
            // 0 (+0.0) where held, −g elsewhere.
            let dv = _mm256_andnot_pd(hold, _mm256_xor_pd(gv, sign));
            store(&mut d[r], dv);
            f1 = _mm256_sub_pd(f1, _mm256_mul_pd(dv, dv));
            t_min = _mm256_min_pd(t_min, breakpoints(l, h, xv, dv));
            // pg_i as `projected_grad`: `maxpd(a, b)` is `a > b ? a : b`,
            // so `maxpd(x − hi, g)` is `g.max(x − hi)` for g < 0 (not NaN),
            // and `maxpd(|p|, pg)` is the portable `if a > pg`.
            let cut_hi = _mm256_max_pd(_mm256_sub_pd(xv, h), gv);
            let cut_lo = _mm256_min_pd(_mm256_sub_pd(xv, l), gv);
            let p = _mm256_blendv_pd(
                _mm256_blendv_pd(gv, cut_lo, _mm256_cmp_pd::<_CMP_GT_OQ>(gv, zero)),
                cut_hi,
                _mm256_cmp_pd::<_CMP_LT_OQ>(gv, zero),
            );
            pg = _mm256_max_pd(_mm256_andnot_pd(sign, p), pg);
            pg_nan = _mm256_or_pd(pg_nan, _mm256_cmp_pd::<_CMP_UNORD_Q>(p, p));
        }
        let mut acc = super::StartLanes {
            f1: lanes(f1),
            t_min: lanes(t_min),
            pg: lanes(pg),
            pg_nan: _mm256_movemask_pd(pg_nan) != 0,
        };
        super::cauchy_start_tail(x, g, lo, hi, d, at_bound, n4, &mut acc);
        acc
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn subspace_step(b: StepBlock<'_>, t: f64, inv_theta: f64, acc: &mut StepLanes) {
        let n4 = b.x.len() / 4 * 4;
        let zero = _mm256_setzero_pd();
        let (tv, iv) = (_mm256_set1_pd(t), _mm256_set1_pd(inv_theta));
        let (mut gd, mut dd) = (load(&acc.gd), load(&acc.dd));
        let mut step = load(&acc.step);
        let StepBlock {
            x,
            g,
            lo,
            hi,
            at_bound,
            wu,
            xcp,
            d,
            du,
        } = b;
        for i in (0..n4).step_by(4) {
            let r = i..i + 4;
            let (xv, gv) = (load(&x[r.clone()]), load(&g[r.clone()]));
            let (l, h) = (load(&lo[r.clone()]), load(&hi[r.clone()]));
            let dc = load(&d[r.clone()]);
            let moving = _mm256_cmp_pd::<_CMP_NEQ_UQ>(dc, zero);
            let moved = clamp(_mm256_add_pd(xv, _mm256_mul_pd(tv, dc)), l, h);
            // Where d = ±0: `xcp` if the path took the variable to its
            // bound (−0.0, the sign bit blendv reads), else x. `xcp` is read
            // only for a group that has one (after the first iterations,
            // seldom: a variable at its bound is held from the start).
            let still = _mm256_cmp_pd::<_CMP_EQ_OQ>(dc, zero);
            let start = if _mm256_movemask_pd(_mm256_and_pd(still, dc)) != 0 {
                _mm256_blendv_pd(xv, load(&xcp[r.clone()]), dc)
            } else {
                xv
            };
            let xc = _mm256_blendv_pd(start, moved, moving);
            store(&mut xcp[r.clone()], xc);
            let held = bool_mask(&at_bound[r.clone()]);
            let step_u = _mm256_add_pd(
                _mm256_sub_pd(_mm256_sub_pd(xv, xc), _mm256_mul_pd(gv, iv)),
                load(&wu[r.clone()]),
            );
            // 0 (+0.0) where held.
            let duv = _mm256_andnot_pd(held, step_u);
            let xb = _mm256_blendv_pd(clamp(_mm256_add_pd(xc, duv), l, h), xc, held);
            store(&mut du[r.clone()], duv);
            let di = _mm256_sub_pd(xb, xv);
            store(&mut d[r], di);
            gd = _mm256_add_pd(gd, _mm256_mul_pd(gv, di));
            dd = _mm256_add_pd(dd, _mm256_mul_pd(di, di));
            step = _mm256_min_pd(step, breakpoints(l, h, xv, di));
        }
        (acc.gd, acc.dd, acc.step) = (lanes(gd), lanes(dd), lanes(step));
        let rest = StepBlock {
            x,
            g,
            lo,
            hi,
            at_bound,
            wu,
            xcp,
            d,
            du,
        };
        super::subspace_step_tail(rest, n4, t, inv_theta, acc);
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn clamped_step(
        x: &[f64],
        alpha: f64,
        d: &[f64],
        lo: &[f64],
        hi: &[f64],
        out: &mut [f64],
    ) {
        let n4 = x.len() / 4 * 4;
        let a = _mm256_set1_pd(alpha);
        for i in (0..n4).step_by(4) {
            let r = i..i + 4;
            let v = _mm256_add_pd(load(&x[r.clone()]), _mm256_mul_pd(a, load(&d[r.clone()])));
            store(
                &mut out[r.clone()],
                clamp(v, load(&lo[r.clone()]), load(&hi[r])),
            );
        }
        super::clamped_step_tail(x, alpha, d, lo, hi, out, n4);
    }

    /// [`super::box_products`] with the free set's products taken from the
    /// whole ones where the block is all free (`s_f = s`, `y_f = y`: the
    /// same bits) and zero where none is (`s_f = y_f = 0`).
    #[target_feature(enable = "avx2")]
    pub(super) fn box_products(
        sj: &[f64],
        yj: &[f64],
        v: &NewPair<'_>,
        free: super::Free,
    ) -> [f64; 9] {
        match free {
            super::Free::All => box_products_in::<1>(sj, yj, v),
            super::Free::None => box_products_in::<0>(sj, yj, v),
            super::Free::Some => box_products_in::<2>(sj, yj, v),
        }
    }

    /// `FREE`: 0 none, 1 all, 2 some of the block's variables free.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn box_products_in<const FREE: u8>(sj: &[f64], yj: &[f64], v: &NewPair<'_>) -> [f64; 9] {
        let n = v.d.len();
        let n4 = n / 4 * 4;
        let z = _mm256_setzero_pd();
        let mut p = [z; 9];
        macro_rules! add {
            ($acc:expr, $a:expr, $b:expr) => {
                $acc = _mm256_add_pd($acc, _mm256_mul_pd($a, $b))
            };
        }
        for i in (0..n4).step_by(4) {
            if i % 8 == 0 {
                prefetch(sj[i..].as_ptr());
                prefetch(yj[i..].as_ptr());
            }
            let r = i..i + 4;
            let (a, b) = (load(&sj[r.clone()]), load(&yj[r.clone()]));
            let (s, y, d) = (
                load(&v.s[r.clone()]),
                load(&v.y[r.clone()]),
                load(&v.d[r.clone()]),
            );
            add!(p[0], s, b);
            add!(p[1], y, a);
            add!(p[2], s, a);
            add!(p[7], a, d);
            add!(p[8], b, d);
            match FREE {
                1 => add!(p[3], y, b),
                2 => {
                    let (sf, yf) = (load(&v.sf[r.clone()]), load(&v.yf[r]));
                    add!(p[3], yf, b);
                    add!(p[4], yf, a);
                    add!(p[5], sf, b);
                    add!(p[6], sf, a);
                }
                _ => {}
            }
        }
        if FREE == 1 {
            (p[4], p[5], p[6]) = (p[1], p[0], p[2]);
        }
        let mut t = [0.0f64; 9];
        for i in n4..n {
            let (a, b) = (sj[i], yj[i]);
            let (s, y, sf, yf, d) = (v.s[i], v.y[i], v.sf[i], v.yf[i], v.d[i]);
            t[0] += s * b;
            t[1] += y * a;
            t[2] += s * a;
            t[3] += yf * b;
            t[4] += yf * a;
            t[5] += sf * b;
            t[6] += sf * a;
            t[7] += a * d;
            t[8] += b * d;
        }
        std::array::from_fn(|k| super::lane_sum(lanes(p[k]), t[k]))
    }

    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx2")]
    pub(super) fn box_pair(
        x: &[f64],
        x_new: &[f64],
        g: &[f64],
        g_new: &[f64],
        free: &[bool],
        s: &mut [f64],
        y: &mut [f64],
        sf: &mut [f64],
        yf: &mut [f64],
    ) -> BoxPairSums {
        // One loop where the portable version has two: the pair is summed
        // from the registers it was formed in.
        let n4 = x.len() / 4 * 4;
        let zero = _mm256_setzero_pd();
        let (one, sign) = (_mm256_set1_pd(1.0), _mm256_set1_pd(-0.0));
        let mut p = [zero; 7];
        let mut sm = zero;
        for i in (0..n4).step_by(4) {
            let r = i..i + 4;
            let gv = load(&g[r.clone()]);
            let sv = _mm256_sub_pd(load(&x_new[r.clone()]), load(&x[r.clone()]));
            let yv = _mm256_sub_pd(load(&g_new[r.clone()]), gv);
            store(&mut s[r.clone()], sv);
            store(&mut y[r.clone()], yv);
            // 1.0 where free, +0.0 elsewhere, times s and y (as portable).
            let f = _mm256_and_pd(bool_mask(&free[r.clone()]), one);
            let (sfv, yfv) = (_mm256_mul_pd(sv, f), _mm256_mul_pd(yv, f));
            store(&mut sf[r.clone()], sfv);
            store(&mut yf[r], yfv);
            p[0] = acc(p[0], sv, yv);
            p[1] = acc(p[1], sv, sv);
            p[2] = acc(p[2], yv, yv);
            p[3] = acc(p[3], sv, gv);
            p[4] = acc(p[4], yfv, yv);
            p[5] = acc(p[5], yfv, sv);
            p[6] = acc(p[6], sfv, sv);
            // `maxpd(|s|, m)` keeps m where |s| is NaN, as `m.max(|s|)`.
            sm = _mm256_max_pd(_mm256_andnot_pd(sign, sv), sm);
        }
        let p = p.map(lanes);
        super::box_pair_tail(x, x_new, g, g_new, free, s, y, sf, yf, n4, p, lanes(sm))
    }

    /// Four elements from `c` (exactly four long).
    #[inline(always)]
    fn load(c: &[f64]) -> __m256d {
        debug_assert_eq!(c.len(), 4);
        // SAFETY: `c` holds four `f64` (callers pass `chunks_exact(4)` items);
        // the load is unaligned.
        unsafe { _mm256_loadu_pd(c.as_ptr()) }
    }

    #[inline(always)]
    fn store(c: &mut [f64], v: __m256d) {
        debug_assert_eq!(c.len(), 4);
        // SAFETY: as in `load`.
        unsafe { _mm256_storeu_pd(c.as_mut_ptr(), v) }
    }

    #[inline(always)]
    fn lanes(v: __m256d) -> [f64; 4] {
        let mut a = [0.0; 4];
        store(&mut a, v);
        a
    }

    /// Asks for the cache line `PREFETCH` bytes past `p` (a hint: it never
    /// faults, whatever the address).
    #[inline(always)]
    fn prefetch(p: *const f64) {
        // SAFETY: a prefetch reads nothing and cannot fault; `wrapping_byte_add`
        // keeps the address arithmetic defined past the end of the slice.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(p.wrapping_byte_add(PREFETCH).cast::<i8>()) }
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn dot2(a: &[f64], b: &[f64], g: &[f64]) -> (f64, f64) {
        let len = g.len() / 4 * 4;
        let (mut p, mut q) = (_mm256_setzero_pd(), _mm256_setzero_pd());
        // Eight elements (one cache line of each stream) per step, added into
        // the lanes in element order as four at a time would.
        let len8 = g.len() / 8 * 8;
        for ((x, y), z) in a[..len8]
            .chunks_exact(8)
            .zip(b[..len8].chunks_exact(8))
            .zip(g[..len8].chunks_exact(8))
        {
            prefetch(x.as_ptr());
            prefetch(y.as_ptr());
            let (z0, z1) = (load(&z[..4]), load(&z[4..]));
            p = _mm256_add_pd(p, _mm256_mul_pd(load(&x[..4]), z0));
            q = _mm256_add_pd(q, _mm256_mul_pd(load(&y[..4]), z0));
            p = _mm256_add_pd(p, _mm256_mul_pd(load(&x[4..]), z1));
            q = _mm256_add_pd(q, _mm256_mul_pd(load(&y[4..]), z1));
        }
        if len > len8 {
            let z = load(&g[len8..len]);
            p = _mm256_add_pd(p, _mm256_mul_pd(load(&a[len8..len]), z));
            q = _mm256_add_pd(q, _mm256_mul_pd(load(&b[len8..len]), z));
        }
        let (mut pt, mut qt) = (0.0, 0.0);
        for i in len..g.len() {
            pt += a[i] * g[i];
            qt += b[i] * g[i];
        }
        let (p, q) = (lanes(p), lanes(q));
        (
            (p[0] + p[2]) + (p[1] + p[3]) + pt,
            (q[0] + q[2]) + (q[1] + q[3]) + qt,
        )
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn axpy2(a: f64, x: &[f64], b: f64, y: &[f64], d: &mut [f64]) {
        let len = d.len() / 8 * 8;
        let (va, vb) = (_mm256_set1_pd(a), _mm256_set1_pd(b));
        for ((dc, xc), yc) in d[..len]
            .chunks_exact_mut(8)
            .zip(x[..len].chunks_exact(8))
            .zip(y[..len].chunks_exact(8))
        {
            prefetch(xc.as_ptr());
            prefetch(yc.as_ptr());
            for h in [0, 4] {
                let (xh, yh) = (load(&xc[h..h + 4]), load(&yc[h..h + 4]));
                let t = _mm256_add_pd(_mm256_mul_pd(va, xh), _mm256_mul_pd(vb, yh));
                let dh = &mut dc[h..h + 4];
                store(dh, _mm256_add_pd(load(dh), t));
            }
        }
        super::axpy2_portable(a, &x[len..], b, &y[len..], &mut d[len..]);
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn dot_inf(g: &[f64], d: &[f64]) -> (f64, f64) {
        let len = d.len() / 8 * 8;
        let zero = _mm256_setzero_pd();
        let (mut lo, mut hi, mut max, mut nan) = (zero, zero, zero, zero);
        let sign = _mm256_set1_pd(-0.0);
        for (gc, dc) in g[..len].chunks_exact(8).zip(d[..len].chunks_exact(8)) {
            let (d_lo, d_hi) = (load(&dc[..4]), load(&dc[4..]));
            lo = _mm256_add_pd(lo, _mm256_mul_pd(load(&gc[..4]), d_lo));
            hi = _mm256_add_pd(hi, _mm256_mul_pd(load(&gc[4..]), d_hi));
            max = _mm256_max_pd(_mm256_andnot_pd(sign, d_lo), max);
            max = _mm256_max_pd(_mm256_andnot_pd(sign, d_hi), max);
            nan = _mm256_or_pd(nan, _mm256_cmp_pd::<_CMP_UNORD_Q>(d_lo, d_hi));
        }
        let mut tail = 0.0;
        let mut m = lanes(max).iter().fold(0.0, |m: f64, &a| m.max(a));
        let mut any_nan = _mm256_movemask_pd(nan) != 0;
        for (gi, di) in g[len..].iter().zip(&d[len..]) {
            tail += gi * di;
            m = m.max(di.abs());
            any_nan |= di.is_nan();
        }
        let (a, b) = (lanes(lo), lanes(hi));
        let dot = ((a[0] + b[0]) + (a[1] + b[1])) + ((a[2] + b[2]) + (a[3] + b[3])) + tail;
        (dot, if any_nan { f64::NAN } else { m })
    }

    /// Stores `v` at `c` with non-temporal stores (around the caches) when
    /// `c` is 16-byte aligned: the pair pass writes the history, which the
    /// next sweep reads back from memory, so reading each line in before
    /// overwriting it (what an ordinary store does) is wasted traffic.
    #[inline(always)]
    fn store_stream(c: &mut [f64], v: __m256d, aligned: bool) {
        debug_assert_eq!(c.len(), 4);
        if aligned {
            let p = c.as_mut_ptr();
            // SAFETY: `c` holds four `f64` and `p` is 16-byte aligned
            // (`aligned`), as `_mm_stream_pd` needs for each half.
            unsafe {
                _mm_stream_pd(p, _mm256_castpd256_pd128(v));
                _mm_stream_pd(p.add(2), _mm256_extractf128_pd::<1>(v));
            }
        } else {
            store(c, v);
        }
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn pair_pass(
        x: &[f64],
        x_new: &[f64],
        g: &[f64],
        g_new: &[f64],
        s: &mut [f64],
        y: &mut [f64],
    ) -> PairSums {
        let nc = x.len() / 4 * 4;
        let zero = _mm256_setzero_pd();
        let (mut sy, mut ss, mut yy, mut sg, mut sm) = (zero, zero, zero, zero, zero);
        let (mut sgn, mut ygn) = (zero, zero);
        let sign = _mm256_set1_pd(-0.0);
        let s_aligned = (s.as_ptr() as usize).is_multiple_of(16);
        let y_aligned = (y.as_ptr() as usize).is_multiple_of(16);
        for (((((xc, xnc), gc), gnc), sc), yc) in x[..nc]
            .chunks_exact(4)
            .zip(x_new[..nc].chunks_exact(4))
            .zip(g[..nc].chunks_exact(4))
            .zip(g_new[..nc].chunks_exact(4))
            .zip(s[..nc].chunks_exact_mut(4))
            .zip(y[..nc].chunks_exact_mut(4))
        {
            let (gv, gnv) = (load(gc), load(gnc));
            let si = _mm256_sub_pd(load(xnc), load(xc));
            let yi = _mm256_sub_pd(gnv, gv);
            store_stream(sc, si, s_aligned);
            store_stream(yc, yi, y_aligned);
            sy = _mm256_add_pd(sy, _mm256_mul_pd(si, yi));
            ss = _mm256_add_pd(ss, _mm256_mul_pd(si, si));
            yy = _mm256_add_pd(yy, _mm256_mul_pd(yi, yi));
            sg = _mm256_add_pd(sg, _mm256_mul_pd(si, gv));
            // max(|s|, m) returns m when |s| is NaN, as f64::max(m, |s|) does.
            sm = _mm256_max_pd(_mm256_andnot_pd(sign, si), sm);
            sgn = _mm256_add_pd(sgn, _mm256_mul_pd(si, gnv));
            ygn = _mm256_add_pd(ygn, _mm256_mul_pd(yi, gnv));
        }
        // Order the streaming stores before whatever reads `s` and `y` next.
        // SAFETY: a store fence has no preconditions (the intrinsic is an
        // `unsafe fn` in the Rust versions before it became safe).
        #[allow(unused_unsafe)]
        unsafe {
            _mm_sfence()
        };
        let mut a = PairLanes {
            sy: lanes(sy),
            ss: lanes(ss),
            yy: lanes(yy),
            sg: lanes(sg),
            sm: lanes(sm),
            sg_new: lanes(sgn),
            yg_new: lanes(ygn),
            ..PairLanes::default()
        };
        super::pair_tail(x, x_new, g, g_new, s, y, nc, &mut a);
        super::finish_pair(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    /// Bits, with every NaN as one (NaN payloads are not part of the contract).
    fn bits(v: &[f64]) -> Vec<u64> {
        v.iter()
            .map(|x| {
                if x.is_nan() {
                    f64::NAN.to_bits()
                } else {
                    x.to_bits()
                }
            })
            .collect()
    }

    fn random(n: usize, rng: &mut rand_chacha::ChaCha8Rng) -> Vec<f64> {
        (0..n)
            .map(|_| rng.random_range(-1.0..1.0) * 10f64.powi(rng.random_range(-3..4)))
            .collect()
    }

    /// The prefault thread maps pages without changing what they hold, while
    /// the owner writes them, and stops when dropped; the page ranges are
    /// whole pages inside the slice covering what the elements touch.
    #[test]
    fn prefault_keeps_contents_and_pages_cover_ranges() {
        let n = 1 << 20;
        let mut v = vec![0.0f64; n];
        for i in (0..n).step_by(1000) {
            v[i] = i as f64;
        }
        let Some(pages) = Pages::of(&mut v) else {
            return; // not Linux: nothing to map
        };
        let at = v.as_ptr() as usize;
        let mut ranges = Vec::new();
        for start in (0..n).step_by(3000) {
            let r = start..(start + 3000).min(n);
            if let Some((a, len)) = pages.range(r.clone()) {
                assert_eq!((a % pages.page, len % pages.page), (0, 0));
                assert!(a >= at && a + len <= at + 8 * n);
                // Every whole page inside the slice that the range touches.
                let (lo, hi) = (at + 8 * r.start, at + 8 * r.end);
                assert!(
                    a <= lo.next_multiple_of(pages.page) && a + len >= hi / pages.page * pages.page
                );
                ranges.push((a, len));
            }
        }
        assert!(ranges.len() > 300);
        // SAFETY: `v` outlives the guard and is not resized meanwhile.
        let guard = unsafe { Prefault::start(ranges.clone()) };
        for i in (0..n).step_by(7) {
            v[i] += 1.0;
        }
        drop(guard);
        for (i, x) in v.iter().enumerate() {
            let want =
                if i % 1000 == 0 { i as f64 } else { 0.0 } + if i % 7 == 0 { 1.0 } else { 0.0 };
            assert_eq!(*x, want, "element {i}");
        }
        // Dropped at once, the thread stops after at most one range.
        let guard = unsafe { Prefault::start(ranges) };
        drop(guard);
    }

    /// L-BFGS-B's kernels (AVX2 on a CPU that has it) give the bits of their
    /// portable versions, with bounds, held variables, zeros and NaN mixed in.
    #[test]
    fn box_kernels_are_bit_identical_to_portable() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(12);
        for n in [0, 1, 3, 4, 5, 8, 13, 64, 2047, 2048] {
            let v: Vec<Vec<f64>> = (0..9).map(|_| random(n, &mut rng)).collect();
            // Bounds: some infinite, some equal, x at a bound now and then.
            let lo: Vec<f64> = (0..n)
                .map(|i| {
                    if i % 3 == 0 {
                        f64::NEG_INFINITY
                    } else {
                        -v[6][i].abs()
                    }
                })
                .collect();
            let hi: Vec<f64> = (0..n)
                .map(|i| match i % 5 {
                    0 => f64::INFINITY,
                    1 => lo[i].max(-1.0),
                    _ => v[7][i].abs(),
                })
                .collect();
            let hi: Vec<f64> = hi.iter().zip(&lo).map(|(&h, &l)| h.max(l)).collect();
            let x: Vec<f64> = (0..n)
                .map(|i| match i % 7 {
                    0 if lo[i].is_finite() => lo[i],
                    1 if hi[i].is_finite() => hi[i],
                    _ => v[0][i].clamp(lo[i], hi[i]),
                })
                .collect();
            let mut g = v[1].clone();
            for i in (0..n).step_by(11) {
                g[i] = 0.0;
            }
            if n > 9 {
                g[9] = f64::NAN;
            }
            let free: Vec<bool> = (0..n).map(|i| i % 4 != 1).collect();

            let run_start = |dispatch: bool| {
                let (mut d, mut at) = (vec![0.0; n], vec![false; n]);
                let lanes = if dispatch {
                    cauchy_start(&x, &g, &lo, &hi, &mut d, &mut at)
                } else {
                    let mut acc = StartLanes::default();
                    cauchy_start_tail(&x, &g, &lo, &hi, &mut d, &mut at, 0, &mut acc);
                    acc
                };
                let lanes = (
                    bits(&lanes.f1),
                    bits(&lanes.t_min),
                    bits(&lanes.pg),
                    lanes.pg_nan,
                );
                (bits(&d), at, lanes)
            };
            assert_eq!(run_start(true), run_start(false), "n = {n}");
            // Its projected-gradient lanes give the driver's stopping measure.
            let (mut d, mut at) = (vec![0.0; n], vec![false; n]);
            let lanes = cauchy_start(&x, &g, &lo, &hi, &mut d, &mut at);
            let box_ = crate::solver::Bounds::new(lo.clone(), hi.clone()).unwrap();
            assert_eq!(
                lanes.pg_norm().to_bits(),
                box_.projected_grad_norm(&x, &g).to_bits(),
                "n = {n}"
            );
            if n > 9 {
                // And without the NaN.
                g[9] = 0.5;
                let lanes = cauchy_start(&x, &g, &lo, &hi, &mut d, &mut at);
                let want = box_.projected_grad_norm(&x, &g);
                assert!(want > 0.0);
                assert_eq!(lanes.pg_norm().to_bits(), want.to_bits(), "n = {n}");
                g[9] = f64::NAN;
            }

            let (mut d0, mut at) = (vec![0.0; n], vec![false; n]);
            cauchy_start(&x, &g, &lo, &hi, &mut d0, &mut at);
            // Some variables taken to a bound by the Cauchy path, as
            // `cauchy_point` leaves them (`d = −0.0`, at the bound in
            // `xcp`); elsewhere `xcp` holds a value that must not be read.
            let mut xcp0 = vec![f64::NAN; n];
            for i in (2..n).step_by(6) {
                if d0[i] != 0.0 {
                    xcp0[i] = if d0[i] > 0.0 { hi[i] } else { lo[i] };
                    (d0[i], at[i]) = (-0.0, true);
                }
            }
            let run_step = |dispatch: bool| {
                let (mut xcp, mut d, mut du) = (xcp0.clone(), d0.clone(), vec![0.0; n]);
                let mut acc = StepLanes::default();
                let b = StepBlock {
                    x: &x,
                    g: &g,
                    lo: &lo,
                    hi: &hi,
                    at_bound: &at,
                    wu: &v[2],
                    xcp: &mut xcp,
                    d: &mut d,
                    du: &mut du,
                };
                if dispatch {
                    subspace_step(b, 0.7, 1.3, &mut acc);
                } else {
                    subspace_step_tail(b, 0, 0.7, 1.3, &mut acc);
                }
                (
                    bits(&xcp),
                    bits(&d),
                    bits(&du),
                    bits(&acc.gd),
                    bits(&acc.dd),
                    bits(&acc.step),
                )
            };
            assert_eq!(run_step(true), run_step(false), "n = {n}");

            let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
            clamped_step(&x, 2.5, &v[3], &lo, &hi, &mut a);
            clamped_step_tail(&x, 2.5, &v[3], &lo, &hi, &mut b, 0);
            assert_eq!(bits(&a), bits(&b));

            let mut bufs: Vec<Vec<f64>> = (0..8).map(|_| vec![0.0; n]).collect();
            let [s1, y1, sf1, yf1, s2, y2, sf2, yf2] = &mut bufs[..] else {
                unreachable!()
            };
            let got = box_pair(&x, &v[4], &g, &v[5], &free, s1, y1, sf1, yf1);
            let zeros = ([[0.0; 4]; 7], [0.0; 4]);
            let want = box_pair_tail(
                &x, &v[4], &g, &v[5], &free, s2, y2, sf2, yf2, 0, zeros.0, zeros.1,
            );
            let sums =
                |p: BoxPairSums| bits(&[p.sy, p.ss, p.yy, p.sg, p.s_max, p.fyy, p.fys, p.fss]);
            assert_eq!(sums(got), sums(want), "n = {n}");
            for k in 0..4 {
                assert_eq!(bits(&bufs[k]), bits(&bufs[k + 4]));
            }
            let np = NewPair {
                s: &bufs[0],
                y: &bufs[1],
                sf: &bufs[2],
                yf: &bufs[3],
                d: &d0,
            };
            let want = bits(&box_products_body(&v[6], &v[7], &np));
            // Every claim about the free set gives the bits of the mixed case
            // where it holds (all free: `s_f = s`; none: `s_f = 0`).
            assert_eq!(bits(&box_products(&v[6], &v[7], &np, Free::Some)), want);
            let all = NewPair {
                sf: &bufs[0],
                yf: &bufs[1],
                ..np
            };
            let want_all = bits(&box_products_body(&v[6], &v[7], &all));
            assert_eq!(bits(&box_products(&v[6], &v[7], &all, Free::All)), want_all);
            let zeros = vec![0.0; n];
            let none = NewPair {
                sf: &zeros,
                yf: &zeros,
                ..all
            };
            let want_none = bits(&box_products_body(&v[6], &v[7], &none));
            assert_eq!(
                bits(&box_products(&v[6], &v[7], &none, Free::None)),
                want_none
            );
            // The last two are dot2's.
            let (a, b) = dot2(&v[6], &v[7], &d0);
            assert_eq!(bits(&[a, b]), want[7..].to_vec());
        }
    }

    /// The dispatched kernels (AVX2 on a CPU that has it) give the same bits
    /// as the portable ones, over lengths with every remainder mod 4.
    #[test]
    fn dispatched_kernels_are_bit_identical_to_portable() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        for n in [0, 1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 15, 16, 64, 2047, 2048] {
            let v: Vec<Vec<f64>> = (0..6).map(|_| random(n, &mut rng)).collect();
            let pair = |a: (f64, f64)| bits(&[a.0, a.1]);
            assert_eq!(
                pair(dot2(&v[0], &v[1], &v[2])),
                pair(dot2_portable(&v[0], &v[1], &v[2]))
            );

            let (mut d, mut d_ref) = (v[5].clone(), v[5].clone());
            axpy2(0.3, &v[0], -1.7, &v[1], &mut d);
            axpy2_portable(0.3, &v[0], -1.7, &v[1], &mut d_ref);
            assert_eq!(bits(&d), bits(&d_ref));

            let mut d_nan = v[5].clone();
            if n > 5 {
                d_nan[n - 2] = f64::NAN;
            }
            for d in [&v[5], &d_nan] {
                let (p, m) = dot_inf(&v[4], d);
                let want = (crate::linesearch::dot(&v[4], d), crate::solver::inf_norm(d));
                assert_eq!(bits(&[p, m]), bits(&[want.0, want.1]), "n = {n}");
            }

            let mut x_nan = v[1].clone();
            if n > 2 {
                x_nan[2] = f64::NAN;
            }
            for x_new in [&v[1], &x_nan] {
                let (mut s, mut y, mut s_ref, mut y_ref) =
                    (vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
                let got = pair_pass(&v[0], x_new, &v[2], &v[3], &mut s, &mut y);
                let want = pair_pass_portable(&v[0], x_new, &v[2], &v[3], &mut s_ref, &mut y_ref);
                let b = |p: PairSums| bits(&[p.sy, p.ss, p.yy, p.sg, p.s_max, p.sg_new, p.yg_new]);
                assert_eq!(b(got), b(want), "n = {n}");
                assert_eq!((bits(&s), bits(&y)), (bits(&s_ref), bits(&y_ref)));
                // sᵀg₊ and yᵀg₊ carry the bits sweep 1 would compute.
                let (sg_new, yg_new) = dot2(&s, &y, &v[3]);
                assert_eq!(
                    bits(&[got.sg_new, got.yg_new]),
                    bits(&[sg_new, yg_new]),
                    "n = {n}"
                );
            }
        }
    }
}
