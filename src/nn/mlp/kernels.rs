//! Dense kernels of the passes: matrix products through faer (sequential
//! below 2²⁰ multiply-adds), column-parallel elementwise loops, and buffer
//! sizing. Crate-visible so that curvature statistics in
//! [`natural`](crate::natural) run the same products as the model.

use faer::{Accum, MatMut, MatRef};
use rayon::prelude::*;

use crate::linalg::{elementwise, par};

/// `s[..m n]` as an `m × n` column-major view.
pub(crate) fn mat(s: &[f64], m: usize, n: usize) -> MatRef<'_, f64> {
    MatRef::from_column_major_slice(&s[..m * n], m, n)
}

/// `dst (m × n) = lhs rhs`, or `+=` with `accumulate`.
pub(crate) fn gemm(
    dst: &mut [f64],
    m: usize,
    n: usize,
    lhs: MatRef<'_, f64>,
    rhs: MatRef<'_, f64>,
    accumulate: bool,
) {
    let dst = MatMut::from_column_major_slice_mut(&mut dst[..m * n], m, n);
    let accum = if accumulate {
        Accum::Add
    } else {
        Accum::Replace
    };
    let par = small_par(m * n * lhs.ncols());
    faer::linalg::matmul::matmul(dst, accum, lhs, rhs, 1.0, par);
    // faer returns with the upper halves of the vector registers dirty; the
    // scalar (legacy-SSE) loops after it would pay for that on every
    // instruction on Intel CPUs (issue 17). Workers: see `par_cols`.
    elementwise::zero_upper();
}

/// faer's parallelism for a product of `flops` multiply-adds: sequential
/// below 2²⁰, where thread synchronization costs more than the product.
pub(crate) fn small_par(flops: usize) -> faer::Par {
    if flops < 1 << 20 {
        faer::Par::Seq
    } else {
        par()
    }
}

/// Entries per task of a parallel elementwise pass (rounded to whole columns).
pub(super) const TASK: usize = 1 << 15;

/// Runs `f(start, chunk)` over column-aligned chunks of `out` (`n` rows per
/// column; `start` is the chunk's first entry), on rayon's pool when faer's
/// parallelism is not sequential and the pass is large. Every pass is
/// elementwise or per column, so the bits do not depend on the thread count.
pub(super) fn par_cols(n: usize, out: &mut [f64], f: impl Fn(usize, &mut [f64]) + Sync + Send) {
    let block = n * (TASK / n).max(1);
    if out.len() > block && !matches!(par(), faer::Par::Seq) {
        out.par_chunks_mut(block).enumerate().for_each(|(i, c)| {
            // The worker may come from a faer product (issue 17).
            elementwise::zero_upper();
            f(i * block, c)
        });
    } else {
        f(0, out);
    }
}

/// Adds `b` to every column.
pub(super) fn add_bias(y: &mut [f64], b: &[f64]) {
    par_cols(b.len(), y, |_, chunk| {
        for col in chunk.chunks_exact_mut(b.len()) {
            for (v, &bi) in col.iter_mut().zip(b) {
                *v += bi;
            }
        }
    });
}

/// `out = Σ_columns x` (length `n`).
pub(crate) fn row_sum(n: usize, b: usize, x: &[f64], out: &mut [f64]) {
    out.fill(0.0);
    for col in x[..n * b].chunks_exact(n) {
        for (o, &v) in out.iter_mut().zip(col) {
            *o += v;
        }
    }
}

/// Resizes `v` to `len` (allocates only when it grows past its capacity).
pub(super) fn fit(v: &mut Vec<f64>, len: usize) {
    if v.len() != len {
        v.resize(len, 0.0);
    }
}

/// The transition guard of issue 17 checked on the register state itself,
/// not on a timing: after [`gemm`] on the calling thread, and at the start
/// of every [`par_cols`] task on rayon's workers, the upper halves of the
/// vector registers must be clean. The state is read with `XGETBV` (`ECX =
/// 1`, XINUSE: a component's bit is 0 when it is in its initial state).
/// Where the CPU does not report XINUSE, or does not show faer's own
/// products leaving the state dirty (the control below), there is nothing
/// to see and the test says so and passes.
#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// XINUSE's bits for the upper 128 bits of `ymm0-15` (component 2) and
    /// the upper 256 bits of `zmm0-15` (component 6), both of which
    /// `vzeroupper` returns to their initial state.
    const UPPER: u64 = (1 << 2) | (1 << 6);

    /// XINUSE, when the CPU supports `XGETBV` with `ECX = 1`.
    fn xinuse() -> Option<u64> {
        if !std::is_x86_feature_detected!("xsave") {
            return None;
        }
        // CPUID leaf 0xD exists where XSAVE does; sub-leaf 1, EAX bit 2.
        // (`__cpuid_count` is an `unsafe fn` in older toolchains.)
        #[allow(unused_unsafe)]
        // SAFETY: CPUID is available on every x86-64 CPU.
        let sub1 = unsafe { std::arch::x86_64::__cpuid_count(0xD, 1) };
        if sub1.eax & (1 << 2) == 0 {
            return None;
        }
        let (lo, hi): (u32, u32);
        // SAFETY: XGETBV with ECX = 1 is supported (checked above); it
        // reads a register and touches no memory.
        unsafe {
            std::arch::asm!(
                "xgetbv",
                in("ecx") 1u32,
                out("eax") lo,
                out("edx") hi,
                options(nomem, nostack, preserves_flags)
            );
        }
        Some((u64::from(hi) << 32) | u64::from(lo))
    }

    /// `c = a b` by faer directly, without [`gemm`]'s guard.
    fn bare_product(
        c: &mut [f64],
        a: &[f64],
        b: &[f64],
        (m, k, n): (usize, usize, usize),
        par: faer::Par,
    ) {
        faer::linalg::matmul::matmul(
            MatMut::from_column_major_slice_mut(c, m, n),
            Accum::Replace,
            mat(a, m, k),
            mat(b, k, n),
            1.0,
            par,
        );
    }

    fn matrix(m: usize, n: usize) -> Vec<f64> {
        (0..m * n).map(|i| ((i * 7) % 11) as f64 * 0.1).collect()
    }

    #[test]
    fn faer_products_leave_the_upper_halves_clean_for_scalar_code() {
        let Some(_) = xinuse() else {
            eprintln!("XGETBV(ECX = 1) not supported: nothing to check here");
            return;
        };
        let (m, k, n) = (96, 96, 96);
        let (a, b) = (matrix(m, k), matrix(k, n));
        let mut c = vec![0.0; m * n];
        // Control: faer's own product, without the guard.
        bare_product(&mut c, &a, &b, (m, k, n), faer::Par::Seq);
        let dirty = xinuse().unwrap() & UPPER;
        if dirty == 0 {
            eprintln!("faer's product leaves no upper state this CPU reports: nothing to check");
            return;
        }
        gemm(&mut c, m, n, mat(&a, m, k), mat(&b, k, n), false);
        assert_eq!(
            xinuse().unwrap() & UPPER,
            0,
            "gemm returned with the upper halves dirty (the control saw {dirty:#x})"
        );

        // Workers: dirty them with a parallel product, then every task of
        // a parallel elementwise pass must start clean.
        let threads = rayon::current_num_threads();
        if threads < 2 || matches!(par(), faer::Par::Seq) {
            eprintln!("one thread: the workers' guard is not exercised");
            return;
        }
        let (m, k, n) = (512, 512, 512);
        let (a, b) = (matrix(m, k), matrix(k, n));
        let mut c = vec![0.0; m * n];
        let dirty_workers = AtomicUsize::new(0);
        let (started, unclean) = (AtomicUsize::new(0), AtomicUsize::new(0));
        for _ in 0..4 {
            bare_product(&mut c, &a, &b, (m, k, n), faer::Par::rayon(threads));
            rayon::broadcast(|_| {
                if xinuse().unwrap() & UPPER != 0 {
                    dirty_workers.fetch_add(1, Ordering::Relaxed);
                }
            });
            bare_product(&mut c, &a, &b, (m, k, n), faer::Par::rayon(threads));
            par_cols(m, &mut c, |_, chunk| {
                started.fetch_add(1, Ordering::Relaxed);
                if xinuse().unwrap() & UPPER != 0 {
                    unclean.fetch_add(1, Ordering::Relaxed);
                }
                chunk[0] += 1.0;
            });
        }
        assert!(
            started.load(Ordering::Relaxed) > 4,
            "the pass ran in parallel"
        );
        if dirty_workers.load(Ordering::Relaxed) == 0 {
            eprintln!("no worker left dirty by faer's parallel product: nothing to check");
            return;
        }
        assert_eq!(
            unclean.load(Ordering::Relaxed),
            0,
            "par_cols tasks started dirty"
        );
    }
}
