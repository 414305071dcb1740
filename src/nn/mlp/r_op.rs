//! The R-operator (Pearlmutter 1994, §3-4): the forward R pass `R z_l`,
//! `R y_l`, `R h_l`, `R a_l`; the loss curvature `R da_L = (1/B) H_L R o`;
//! and the backward R pass, which gives `H v = R{∇f}` (module docs of
//! `nn::mlp` for the formulas).

use super::MlpProblem;
use super::kernels::{add_bias, gemm, mat, par_cols, row_sum};
use super::workspace::{LayerWork, Workspace};
use crate::nn::batchnorm;

impl MlpProblem<'_> {
    /// Forward R pass: `R y`, `R h`, `R a` for direction `v`.
    pub(super) fn r_forward(&self, ws: &mut Workspace, params: &[f64], v: &[f64]) {
        let mlp = self.mlp;
        let Workspace {
            b,
            x,
            layers,
            key_full,
            ..
        } = ws;
        let b = *b;
        let input0: &[f64] = if *key_full {
            self.data.inputs()
        } else {
            x.as_slice()
        };
        for (l, layer) in mlp.layers.iter().enumerate() {
            let (lo, hi) = layers.split_at_mut(l);
            let cur = &mut hi[0];
            let (wr, (m, k)) = mlp.weights_range(l);
            let prev_skip = l > 0 && mlp.layers[l - 1].skip;
            let (input, rinput): (&[f64], Option<&[f64]>) = match lo.last() {
                Some(pw) => (pw.out(prev_skip), Some(pw.rout(prev_skip))),
                None => (input0, None),
            };
            // R z = V a_in + W R a_in
            gemm(
                &mut cur.ry,
                m,
                b,
                mat(&v[wr.clone()], m, k),
                mat(input, k, b),
                false,
            );
            if let Some(ra) = rinput {
                gemm(
                    &mut cur.ry,
                    m,
                    b,
                    mat(&params[wr], m, k),
                    mat(ra, k, b),
                    true,
                );
            }
            if let Some(g) = mlp.gamma_range(l) {
                // Rẑ = P(Rz)/s; ρ = mean(ẑ ⊙ Rz) = Rs; R y = Rγ ẑ + γ Rẑ + Rβ.
                batchnorm::project(
                    m,
                    b,
                    &cur.zhat,
                    &cur.s,
                    &cur.ry,
                    &mut cur.rzhat,
                    &mut cur.m1,
                    &mut cur.rho,
                );
                let (gamma, rgamma, rbeta) = (&params[g.clone()], &v[g], &v[mlp.bias_range(l)]);
                for ((ryc, hc), rhc) in cur
                    .ry
                    .chunks_exact_mut(m)
                    .zip(cur.zhat.chunks_exact(m))
                    .zip(cur.rzhat.chunks_exact(m))
                {
                    for i in 0..m {
                        ryc[i] = rgamma[i] * hc[i] + gamma[i] * rhc[i] + rbeta[i];
                    }
                }
            } else {
                add_bias(&mut cur.ry, &v[mlp.bias_range(l)]);
            }
            let act = layer.activation;
            let (ry, y, h) = (&cur.ry, &cur.y, &cur.h);
            par_cols(m, &mut cur.rh, |s, rhc| {
                let e = s + rhc.len();
                act.d1s(&y[s..e], &h[s..e], rhc);
                for (rh, &ry) in rhc.iter_mut().zip(&ry[s..e]) {
                    *rh *= ry;
                }
            });
            if layer.skip {
                match rinput {
                    Some(ra_in) => {
                        let rh = &cur.rh;
                        par_cols(m, &mut cur.ra, |s, rac| {
                            for ((ra, &rh), &r) in rac.iter_mut().zip(&rh[s..]).zip(&ra_in[s..]) {
                                *ra = rh + r;
                            }
                        });
                    }
                    None => cur.ra.copy_from_slice(&cur.rh),
                }
            }
        }
    }

    /// Sets the last layer's `rda = (1/B) H_L R o`.
    pub(super) fn loss_curvature(&self, ws: &mut Workspace) {
        let mlp = self.mlp;
        let k = mlp.outputs();
        let scale = 1.0 / ws.b as f64;
        let skip = mlp.layers.last().is_some_and(|l| l.skip);
        let Workspace {
            t,
            p,
            layers,
            key_full,
            ..
        } = ws;
        let targets: &[f64] = if *key_full {
            self.data.targets()
        } else {
            t.as_slice()
        };
        let last = layers.last_mut().expect("at least one layer");
        let ro = std::mem::take(if skip { &mut last.ra } else { &mut last.rh });
        let loss = mlp.loss;
        let pr: &[f64] = p;
        par_cols(k, &mut last.rda, |s, out| {
            loss.hess_vec(k, &pr[s..], &targets[s..], &ro[s..], scale, out)
        });
        *(if skip { &mut last.ra } else { &mut last.rh }) = ro;
    }

    /// Backward R pass: writes `R{∇f}` (without decay) into `hv`. Needs the
    /// forward, gradient and forward R passes, and the last `rda`.
    pub(super) fn r_backward(&self, ws: &mut Workspace, params: &[f64], v: &[f64], hv: &mut [f64]) {
        let mlp = self.mlp;
        let Workspace {
            b,
            x,
            layers,
            key_full,
            ..
        } = ws;
        let b = *b;
        let input0: &[f64] = if *key_full {
            self.data.inputs()
        } else {
            x.as_slice()
        };
        for l in (0..mlp.layers.len()).rev() {
            let layer = mlp.layers[l];
            let (lo, hi) = layers.split_at_mut(l);
            let cur = &mut hi[0];
            let (wr, (m, k)) = mlp.weights_range(l);
            let act = layer.activation;
            // R dy = R da ⊙ φ'(y) + da ⊙ φ''(y) ⊙ R y
            let (y, h, rda, da, ry) = (&cur.y, &cur.h, &cur.rda, &cur.da, &cur.ry);
            par_cols(m, &mut cur.rdy, |s, rdyc| {
                let e = s + rdyc.len();
                act.d1s(&y[s..e], &h[s..e], rdyc);
                for (i, rdy) in (s..).zip(rdyc.iter_mut()) {
                    let d1 = *rdy;
                    let mut r = rda[i] * d1;
                    if !act.is_piecewise_linear() {
                        r += da[i] * act.d2_from_d1(h[i], d1) * ry[i];
                    }
                    *rdy = r;
                }
            });
            let (dz, rdz): (&[f64], &[f64]) = if let Some(g) = mlp.gamma_range(l) {
                let (gamma, rgamma) = (&params[g.clone()], &v[g.clone()]);
                // γ_l sits just before β_l (`Offsets`).
                let (hv_gamma, hv_beta) = hv[g.start..mlp.bias_range(l).end].split_at_mut(m);
                bn_r_backward(cur, m, b, gamma, rgamma, hv_gamma, hv_beta);
                (&cur.dz, &cur.rdz)
            } else {
                row_sum(m, b, &cur.rdy, &mut hv[mlp.bias_range(l)]);
                (&cur.dy, &cur.rdy)
            };
            let prev_skip = l > 0 && mlp.layers[l - 1].skip;
            {
                let (input, rinput): (&[f64], Option<&[f64]>) = match lo.last() {
                    Some(pw) => (pw.out(prev_skip), Some(pw.rout(prev_skip))),
                    None => (input0, None),
                };
                // R dW = R dz a_inᵀ + dz R a_inᵀ
                gemm(
                    &mut hv[wr.clone()],
                    m,
                    k,
                    mat(rdz, m, b),
                    mat(input, k, b).transpose(),
                    false,
                );
                if let Some(ra) = rinput {
                    gemm(
                        &mut hv[wr.clone()],
                        m,
                        k,
                        mat(dz, m, b),
                        mat(ra, k, b).transpose(),
                        true,
                    );
                }
            }
            if let Some(pw) = lo.last_mut() {
                // R da_{l−1} = V_lᵀ dz + W_lᵀ R dz (+ R da_l)
                gemm(
                    &mut pw.rda,
                    k,
                    b,
                    mat(&v[wr.clone()], m, k).transpose(),
                    mat(dz, m, b),
                    false,
                );
                gemm(
                    &mut pw.rda,
                    k,
                    b,
                    mat(&params[wr], m, k).transpose(),
                    mat(rdz, m, b),
                    true,
                );
                if layer.skip {
                    for (p, &d) in pw.rda.iter_mut().zip(&cur.rda) {
                        *p += d;
                    }
                }
            }
        }
    }
}

/// Batch normalization's part of the backward R pass of a layer of `m` units
/// at batch `b`, after `R dy`: writes `R dγ` and `R dβ` into `hv_gamma` and
/// `hv_beta`, and `R dz` into `cur.rdz` (Ioffe & Szegedy 2015's backward map
/// differentiated along the direction: `Rγ = rgamma`, `Rẑ`, `ρ = Rs` from
/// the forward R pass).
fn bn_r_backward(
    cur: &mut LayerWork,
    m: usize,
    b: usize,
    gamma: &[f64],
    rgamma: &[f64],
    hv_gamma: &mut [f64],
    hv_beta: &mut [f64],
) {
    let bf = b as f64;
    // R dγ = Σ (R dy ⊙ ẑ + dy ⊙ Rẑ), R dβ = Σ R dy.
    batchnorm::row_mean_prod(m, b, &cur.rdy, &cur.zhat, &mut cur.m1);
    batchnorm::row_mean_prod(m, b, &cur.dy, &cur.rzhat, &mut cur.m2);
    for i in 0..m {
        hv_gamma[i] = bf * (cur.m1[i] + cur.m2[i]);
    }
    row_sum(m, b, &cur.rdy, hv_beta);
    // R dẑ = Rγ dy + γ R dy
    for ((o, dyc), rdyc) in cur
        .rdzhat
        .chunks_exact_mut(m)
        .zip(cur.dy.chunks_exact(m))
        .zip(cur.rdy.chunks_exact(m))
    {
        for i in 0..m {
            o[i] = rgamma[i] * dyc[i] + gamma[i] * rdyc[i];
        }
    }
    // mean(ẑ ⊙ dẑ) = γ mean(ẑ ⊙ dy), mean(Rẑ ⊙ dẑ) = γ mean(Rẑ ⊙ dy)
    batchnorm::row_mean_prod(m, b, &cur.zhat, &cur.dy, &mut cur.m3);
    for i in 0..m {
        cur.m3[i] *= gamma[i];
        cur.m2[i] *= gamma[i];
    }
    // rdz = P(R dẑ)/s, then the terms from R(1/s) and R(P).
    batchnorm::project(
        m,
        b,
        &cur.zhat,
        &cur.s,
        &cur.rdzhat,
        &mut cur.rdz,
        &mut cur.m1,
        &mut cur.m4,
    );
    for j in 0..b {
        for i in 0..m {
            let at = j * m + i;
            cur.rdz[at] += -(cur.rho[i] / cur.s[i]) * cur.dz[at]
                - (cur.rzhat[at] * cur.m3[i] + cur.zhat[at] * cur.m2[i]) / cur.s[i];
        }
    }
}
