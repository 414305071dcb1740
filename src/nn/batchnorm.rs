//! Batch normalization of a layer's pre-activations, with the exact
//! derivatives the backward pass and the R-operator need.
//!
//! Ioffe & Szegedy, "Batch normalization: accelerating deep network training
//! by reducing internal covariate shift", ICML 2015, Algorithm 1 and §3.1
//! (notation: `μ_B`, `σ²_B`, `x̂`, `γ`, `β`, `ε`; the seeds call `ε` `δ`). For
//! one unit (one row of the `n × B` matrix `z = W a`, one column per example):
//!
//! - `μ = mean(z)`, `σ² = mean((z − μ)²)` (the biased batch variance, as in
//!   the paper's training transform), `s = √(σ² + δ)`, `ẑ = (z − μ)/s`,
//!   `y = γ ẑ + β`.
//! - The Jacobian of `z ↦ ẑ` is `(1/s) P` with `P = I − 11ᵀ/B − ẑẑᵀ/B`, which
//!   is symmetric, so the backward map and the forward tangent map are the
//!   same projection: `dz = P(dẑ)/s` (Ioffe & Szegedy's three-line chain rule
//!   collapsed) and `Rẑ = P(Rz)/s`.
//! - The R-operator of the backward map (Pearlmutter 1994 applied to the line
//!   above): with `ρ = mean(ẑ ⊙ Rz)` (which is `Rs`),
//!   `R(dz) = −(ρ/s) dz + (1/s) [P R(dẑ) − Rẑ mean(ẑ ⊙ dẑ) − ẑ mean(Rẑ ⊙ dẑ)]`.
//!
//! All products through the normalization, the Hessian-vector one included,
//! are therefore exact (the statistics are differentiated, not frozen).
//!
//! At test time the batch statistics are replaced by population averages:
//! [`BatchNormStats`].

// Per-unit loops index several parallel rows (γ, s, μ, scratch) at once, as
// the formulas do; iterator zips of four slices would hide the math.
#![allow(clippy::needless_range_loop)]

use serde::{Deserialize, Serialize};

/// Default `δ` added to the batch variance: `1e-5` (the `eps` of PyTorch's
/// and Keras' batch-norm layers; Ioffe & Szegedy leave `ε` unspecified).
pub const DEFAULT_DELTA: f64 = 1e-5;

/// Row means of an `n × b` column-major matrix into `out` (length `n`).
pub(crate) fn row_mean(n: usize, b: usize, x: &[f64], out: &mut [f64]) {
    out.fill(0.0);
    for col in x[..n * b].chunks_exact(n) {
        for (o, &v) in out.iter_mut().zip(col) {
            *o += v;
        }
    }
    let inv = 1.0 / b as f64;
    out.iter_mut().for_each(|o| *o *= inv);
}

/// Row means of the elementwise product `x ⊙ y`.
pub(crate) fn row_mean_prod(n: usize, b: usize, x: &[f64], y: &[f64], out: &mut [f64]) {
    out.fill(0.0);
    for (cx, cy) in x[..n * b].chunks_exact(n).zip(y.chunks_exact(n)) {
        for ((o, &u), &v) in out.iter_mut().zip(cx).zip(cy) {
            *o += u * v;
        }
    }
    let inv = 1.0 / b as f64;
    out.iter_mut().for_each(|o| *o *= inv);
}

/// Forward: `mean`, `s = √(σ² + δ)` and `ẑ = (z − μ)/s` per row.
pub(crate) fn normalize(
    n: usize,
    b: usize,
    z: &[f64],
    delta: f64,
    mean: &mut [f64],
    s: &mut [f64],
    zhat: &mut [f64],
) {
    row_mean(n, b, z, mean);
    s.fill(0.0);
    for col in z[..n * b].chunks_exact(n) {
        for ((si, &zi), &mi) in s.iter_mut().zip(col).zip(mean.iter()) {
            *si += (zi - mi) * (zi - mi);
        }
    }
    let inv = 1.0 / b as f64;
    s.iter_mut().for_each(|si| *si = (*si * inv + delta).sqrt());
    for (hc, zc) in zhat[..n * b].chunks_exact_mut(n).zip(z.chunks_exact(n)) {
        for (((h, &zi), &mi), &si) in hc.iter_mut().zip(zc).zip(mean.iter()).zip(s.iter()) {
            *h = (zi - mi) / si;
        }
    }
}

/// `out = P(x)/s = (x − mean(x) − ẑ mean(ẑ ⊙ x))/s` per row; `m1`, `m2` are
/// scratch of length `n`. Returns nothing; `m2` holds `mean(ẑ ⊙ x)` after.
#[allow(clippy::too_many_arguments)]
pub(crate) fn project(
    n: usize,
    b: usize,
    zhat: &[f64],
    s: &[f64],
    x: &[f64],
    out: &mut [f64],
    m1: &mut [f64],
    m2: &mut [f64],
) {
    row_mean(n, b, x, m1);
    row_mean_prod(n, b, zhat, x, m2);
    for ((oc, xc), hc) in out[..n * b]
        .chunks_exact_mut(n)
        .zip(x.chunks_exact(n))
        .zip(zhat.chunks_exact(n))
    {
        for i in 0..n {
            oc[i] = (xc[i] - m1[i] - hc[i] * m2[i]) / s[i];
        }
    }
}

/// Population statistics of every batch-normalized layer, for test time
/// (Ioffe & Szegedy 2015, Algorithm 2: `E[x]` and `Var[x]` replace the batch
/// statistics). `mean[l]` and `var[l]` are empty for a layer without batch
/// normalization.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BatchNormStats {
    /// Per layer, the mean of each unit's pre-normalization input.
    pub mean: Vec<Vec<f64>>,
    /// Per layer, the (biased) variance of each unit's input, without `δ`.
    pub var: Vec<Vec<f64>>,
}

impl BatchNormStats {
    /// Exponential running average: `self ← (1 − momentum) self + momentum
    /// batch`, layer by layer (PyTorch's `momentum = 0.1` convention). An
    /// empty `self` is set to `batch`.
    pub fn update(&mut self, batch: &BatchNormStats, momentum: f64) {
        if self.mean.is_empty() {
            *self = batch.clone();
            return;
        }
        for (mine, theirs) in self
            .mean
            .iter_mut()
            .chain(self.var.iter_mut())
            .zip(batch.mean.iter().chain(batch.var.iter()))
        {
            for (a, &b) in mine.iter_mut().zip(theirs) {
                *a += momentum * (b - *a);
            }
        }
    }
}
