//! Losses on the network output, with the output nonlinearity inside the loss.
//!
//! Schraudolph, "Fast curvature matrix-vector products for second-order
//! gradient descent", *Neural Computation* 14 (2002), §3: splitting the
//! network from the loss at the logits `o` (the output of a linear last
//! layer) makes each loss below a *matching* loss: its gradient with respect
//! to `o` is `p − t`, where `p` is the output nonlinearity applied to `o`, and
//! its Hessian `H_L = ∂²ℓ/∂o²` is positive semi-definite, so the generalized
//! Gauss-Newton matrix `Jᵀ H_L J` is too.
//!
//! | loss | `p(o)` | `ℓ(o, t)` | `H_L v` |
//! |---|---|---|---|
//! | [`Loss::MeanSquaredError`] | `o` | `½‖o − t‖²` | `v` |
//! | [`Loss::SoftmaxCrossEntropy`] | `softmax(o)` | `−Σₖ tₖ log pₖ` | `(Σt) (p⊙v − p (pᵀv))` |
//! | [`Loss::LogisticCrossEntropy`] | `σ(o)` | `−Σₖ tₖ log pₖ + (1 − tₖ) log(1 − pₖ)` | `p⊙(1 − p)⊙v` |
//!
//! The softmax gradient is `(Σₖ tₖ) p − t`, which is `p − t` for a one-hot or
//! probability target. Buffers are `k × B`, column-major: one column per
//! example.

use serde::{Deserialize, Serialize};

use crate::linalg::elementwise::{self, Function};

/// Columns per block of the softmax pass (its per-column sums live on the
/// stack).
const COLS: usize = 64;
/// Elements per block of the logistic cross-entropy pass.
const ELEMS: usize = 512;

/// Softmax and its cross-entropy on up to [`COLS`] columns:
/// `pₖ = e^{oₖ − max}/z`, `ℓ = (Σt) ln z − Σₖ tₖ (oₖ − max)` with
/// `z = Σₖ e^{oₖ − max}` (the log-sum-exp `max + ln z` with the `max`
/// cancelled exactly instead of in rounding).
fn softmax_block(k: usize, o: &[f64], t: &[f64], p: &mut [f64], losses: &mut [f64]) {
    let cols = losses.len();
    let (mut z, mut d, mut ts) = ([0.0; COLS], [0.0; COLS], [0.0; COLS]);
    for (j, ((pc, oc), tc)) in p
        .chunks_exact_mut(k)
        .zip(o.chunks_exact(k))
        .zip(t.chunks_exact(k))
        .enumerate()
    {
        let max = oc.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let (mut dot, mut t_sum) = (0.0, 0.0);
        for ((pi, &oi), &ti) in pc.iter_mut().zip(oc).zip(tc) {
            *pi = oi - max;
            dot += ti * *pi;
            t_sum += ti;
        }
        d[j] = dot;
        ts[j] = t_sum;
    }
    elementwise::apply_in_place(Function::Exp, p);
    for (j, pc) in p.chunks_exact_mut(k).enumerate() {
        let zj: f64 = pc.iter().sum();
        let inv = 1.0 / zj;
        pc.iter_mut().for_each(|pi| *pi *= inv);
        z[j] = zj;
    }
    elementwise::apply_in_place(Function::Ln, &mut z[..cols]);
    for j in 0..cols {
        losses[j] = ts[j] * z[j] - d[j];
    }
}

/// A loss `ℓ(o, t)` on the output `o ∈ ℝᵏ` of the network for one example
/// with target `t ∈ ℝᵏ`. The objective is the mean over the examples of a
/// batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Loss {
    /// `½‖o − t‖²` (regression; the identity output).
    MeanSquaredError,
    /// `−Σₖ tₖ log softmax(o)ₖ` with one-hot (or probability) targets
    /// (classification).
    SoftmaxCrossEntropy,
    /// Binary cross-entropy of independent logistic outputs `σ(oₖ)` against
    /// targets `tₖ ∈ [0, 1]`: `Σₖ softplus(oₖ) − tₖ oₖ` (autoencoders on pixel
    /// intensities, Hinton & Salakhutdinov 2006; Martens 2010).
    LogisticCrossEntropy,
}

impl Loss {
    /// All losses, for tests that run over each.
    pub const ALL: [Loss; 3] = [
        Loss::MeanSquaredError,
        Loss::SoftmaxCrossEntropy,
        Loss::LogisticCrossEntropy,
    ];

    /// Computes `p = p(o)` column by column (`o` and `p` are `k × B`) and
    /// writes each column's loss `ℓ(o, t)` into `losses` (length `B`; `o`
    /// and `t` may be longer than `p`, the rest is ignored).
    ///
    /// The exponentials and logarithms run through the vectorized kernels of
    /// [`crate::linalg::elementwise`] on blocks of columns (issue 17).
    pub(crate) fn forward(self, k: usize, o: &[f64], t: &[f64], p: &mut [f64], losses: &mut [f64]) {
        let n = p.len();
        let (o, t) = (&o[..n], &t[..n]);
        match self {
            Loss::MeanSquaredError => {
                for (((pc, oc), tc), lc) in p
                    .chunks_exact_mut(k)
                    .zip(o.chunks_exact(k))
                    .zip(t.chunks_exact(k))
                    .zip(losses.iter_mut())
                {
                    let mut sum = 0.0;
                    for ((pi, &oi), &ti) in pc.iter_mut().zip(oc).zip(tc) {
                        *pi = oi;
                        sum += 0.5 * (oi - ti) * (oi - ti);
                    }
                    *lc = sum;
                }
            }
            Loss::SoftmaxCrossEntropy => {
                for (((pg, og), tg), lg) in p
                    .chunks_mut(COLS * k)
                    .zip(o.chunks(COLS * k))
                    .zip(t.chunks(COLS * k))
                    .zip(losses.chunks_mut(COLS))
                {
                    softmax_block(k, og, tg, pg, lg);
                }
            }
            Loss::LogisticCrossEntropy => {
                losses[..n / k].fill(0.0);
                let mut sp = [0.0; ELEMS];
                for (b, ((pb, ob), tb)) in p
                    .chunks_mut(ELEMS)
                    .zip(o.chunks(ELEMS))
                    .zip(t.chunks(ELEMS))
                    .enumerate()
                {
                    // σ(o) and softplus(o) = max(o, 0) + ln(1 + e^{−|o|});
                    // ℓ = Σₖ softplus(oₖ) − tₖ oₖ.
                    let sp = &mut sp[..ob.len()];
                    elementwise::apply(Function::Logistic, ob, pb);
                    elementwise::apply(Function::Softplus, ob, sp);
                    for (i, ((&s, &oi), &ti)) in sp.iter().zip(ob).zip(tb).enumerate() {
                        losses[(b * ELEMS + i) / k] += s - ti * oi;
                    }
                }
            }
        }
    }
    /// `g = scale · ∂ℓ/∂o` from `p = p(o)` and the targets.
    pub(crate) fn gradient(self, k: usize, p: &[f64], t: &[f64], scale: f64, g: &mut [f64]) {
        match self {
            Loss::MeanSquaredError | Loss::LogisticCrossEntropy => {
                for ((gi, &pi), &ti) in g.iter_mut().zip(p).zip(t) {
                    *gi = scale * (pi - ti);
                }
            }
            Loss::SoftmaxCrossEntropy => {
                for ((gc, pc), tc) in g
                    .chunks_exact_mut(k)
                    .zip(p.chunks_exact(k))
                    .zip(t.chunks_exact(k))
                {
                    let t_sum: f64 = tc.iter().sum();
                    for ((gi, &pi), &ti) in gc.iter_mut().zip(pc).zip(tc) {
                        *gi = scale * (t_sum * pi - ti);
                    }
                }
            }
        }
    }

    /// `out = scale · H_L v`, column by column, from `p = p(o)`.
    pub(crate) fn hess_vec(
        self,
        k: usize,
        p: &[f64],
        t: &[f64],
        v: &[f64],
        scale: f64,
        out: &mut [f64],
    ) {
        match self {
            Loss::MeanSquaredError => {
                for (oi, &vi) in out.iter_mut().zip(v) {
                    *oi = scale * vi;
                }
            }
            Loss::SoftmaxCrossEntropy => {
                for (((oc, pc), vc), tc) in out
                    .chunks_exact_mut(k)
                    .zip(p.chunks_exact(k))
                    .zip(v.chunks_exact(k))
                    .zip(t.chunks_exact(k))
                {
                    let t_sum: f64 = tc.iter().sum();
                    let p_dot_v: f64 = pc.iter().zip(vc).map(|(a, b)| a * b).sum();
                    for ((oi, &pi), &vi) in oc.iter_mut().zip(pc).zip(vc) {
                        *oi = scale * t_sum * pi * (vi - p_dot_v);
                    }
                }
            }
            Loss::LogisticCrossEntropy => {
                for ((oi, &pi), &vi) in out.iter_mut().zip(p).zip(v) {
                    *oi = scale * pi * (1.0 - pi) * vi;
                }
            }
        }
    }
}
