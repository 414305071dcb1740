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
