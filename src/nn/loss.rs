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
    /// writes each column's loss `ℓ(o, t)` into `losses` (length `B`).
    pub(crate) fn forward(self, k: usize, o: &[f64], t: &[f64], p: &mut [f64], losses: &mut [f64]) {
        for (((pc, oc), tc), lc) in p
            .chunks_exact_mut(k)
            .zip(o.chunks_exact(k))
            .zip(t.chunks_exact(k))
            .zip(losses.iter_mut())
        {
            *lc = self.forward_column(pc, oc, tc);
        }
    }

    /// One column of [`forward`](Loss::forward).
    fn forward_column(self, p: &mut [f64], o: &[f64], t: &[f64]) -> f64 {
        let k = o.len();
        let mut sum = 0.0;
        match self {
            Loss::MeanSquaredError => {
                for ((pi, &oi), &ti) in p.iter_mut().zip(o).zip(t) {
                    *pi = oi;
                    sum += 0.5 * (oi - ti) * (oi - ti);
                }
            }
            Loss::SoftmaxCrossEntropy => {
                for ((pc, oc), tc) in p
                    .chunks_exact_mut(k)
                    .zip(o.chunks_exact(k))
                    .zip(t.chunks_exact(k))
                {
                    let max = oc.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let mut z = 0.0;
                    for (pi, &oi) in pc.iter_mut().zip(oc) {
                        *pi = (oi - max).exp();
                        z += *pi;
                    }
                    let lse = max + z.ln();
                    let inv = 1.0 / z;
                    let mut t_sum = 0.0;
                    let mut t_dot_o = 0.0;
                    for ((pi, &oi), &ti) in pc.iter_mut().zip(oc).zip(tc) {
                        *pi *= inv;
                        t_sum += ti;
                        t_dot_o += ti * oi;
                    }
                    sum += t_sum * lse - t_dot_o;
                }
            }
            Loss::LogisticCrossEntropy => {
                for ((pi, &oi), &ti) in p.iter_mut().zip(o).zip(t) {
                    // One exp serves both: e = e^{−|o|}, σ(o) = 1/(1 + e) or
                    // e/(1 + e), softplus(o) = max(o, 0) + ln(1 + e).
                    let e = (-oi.abs()).exp();
                    *pi = if oi >= 0.0 {
                        1.0 / (1.0 + e)
                    } else {
                        e / (1.0 + e)
                    };
                    sum += oi.max(0.0) + e.ln_1p() - ti * oi;
                }
            }
        }
        sum
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
