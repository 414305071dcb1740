//! The forward pass with the loss, and backpropagation (module docs of
//! `nn::mlp`: `dy_l = da_l ⊙ φ'(y_l)`, `dW_l = dz_l a_{l−1}ᵀ`,
//! `da_{l−1} = W_lᵀ dz_l (+ da_l)`), from the gradient of the loss or from
//! any output-space vector (the tangent slot).

use rayon::prelude::*;

use super::MlpProblem;
use super::kernels::{TASK, add_bias, fit, gemm, mat, par_cols, row_sum};
use super::workspace::{Slot, Workspace};
use crate::linalg::{elementwise, par};
use crate::nn::batchnorm;

impl MlpProblem<'_> {
    /// Forward pass and loss (`p`, `loss_sum`), unless cached.
    pub(super) fn forward(&self, ws: &mut Workspace, params: &[f64]) {
        if ws.forward_valid {
            return;
        }
        let mlp = self.mlp;
        let Workspace {
            b,
            x,
            t,
            p,
            col_loss,
            layers,
            loss_sum,
            key_full,
            ..
        } = ws;
        let b = *b;
        let (input0, targets): (&[f64], &[f64]) = if *key_full {
            (self.data.inputs(), self.data.targets())
        } else {
            (x.as_slice(), t.as_slice())
        };
        for (l, layer) in mlp.layers.iter().enumerate() {
            let (lo, hi) = layers.split_at_mut(l);
            let cur = &mut hi[0];
            let prev_skip = l > 0 && mlp.layers[l - 1].skip;
            let input: &[f64] = match lo.last() {
                Some(pw) => pw.out(prev_skip),
                None => input0,
            };
            let (wr, (m, k)) = mlp.weights_range(l);
            gemm(
                &mut cur.y,
                m,
                b,
                mat(&params[wr], m, k),
                mat(input, k, b),
                false,
            );
            if let Some(g) = mlp.gamma_range(l) {
                batchnorm::normalize(
                    m,
                    b,
                    &cur.y,
                    mlp.bn_delta,
                    &mut cur.mean,
                    &mut cur.s,
                    &mut cur.zhat,
                );
                let (gamma, beta) = (&params[g], mlp.bias(params, l));
                for (yc, hc) in cur.y.chunks_exact_mut(m).zip(cur.zhat.chunks_exact(m)) {
                    for i in 0..m {
                        yc[i] = gamma[i] * hc[i] + beta[i];
                    }
                }
            } else {
                add_bias(&mut cur.y, mlp.bias(params, l));
            }
            let act = layer.activation;
            let y = &cur.y;
            par_cols(m, &mut cur.h, |s, hc| act.values(&y[s..s + hc.len()], hc));
            if layer.skip {
                let h = &cur.h;
                par_cols(m, &mut cur.a, |s, ac| {
                    for ((a, &h), &x) in ac.iter_mut().zip(&h[s..]).zip(&input[s..]) {
                        *a = h + x;
                    }
                });
            }
        }
        let k = mlp.outputs();
        let last = layers.last().expect("at least one layer");
        let o = last.out(mlp.layers.last().is_some_and(|l| l.skip));
        let loss = mlp.loss;
        let block = (TASK / k).max(1);
        if b > block && !matches!(par(), faer::Par::Seq) {
            p.par_chunks_mut(block * k)
                .zip(col_loss.par_chunks_mut(block))
                .enumerate()
                .for_each(|(i, (pc, lc))| {
                    elementwise::zero_upper();
                    let s = i * block * k;
                    loss.forward(k, &o[s..], &targets[s..], pc, lc);
                });
        } else {
            loss.forward(k, o, targets, p, col_loss);
        }
        *loss_sum = col_loss.iter().sum();
        ws.forward_valid = true;
    }

    /// `f` on the current batch from the cached forward pass.
    pub(super) fn value_from(&self, ws: &Workspace, params: &[f64]) -> f64 {
        ws.loss_sum / ws.b as f64 + self.mlp.decay_value(params)
    }

    /// Backward pass from `da` (or `rda`) of the last layer, which the caller
    /// has set. Writes `∂/∂θ` into `grad` when given (without decay).
    pub(super) fn backward(
        &self,
        ws: &mut Workspace,
        params: &[f64],
        slot: Slot,
        mut grad: Option<&mut [f64]>,
    ) {
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
            let (da, dy, dz) = match slot {
                Slot::Primal => (&cur.da, &mut cur.dy, &mut cur.dz),
                Slot::Tangent => (&cur.rda, &mut cur.rdy, &mut cur.rdz),
            };
            let (y, h) = (&cur.y, &cur.h);
            par_cols(m, dy, |s, dyc| {
                let e = s + dyc.len();
                act.d1s(&y[s..e], &h[s..e], dyc);
                for (d, &a) in dyc.iter_mut().zip(&da[s..e]) {
                    *d *= a;
                }
            });
            let dz: &[f64] = if let Some(g) = mlp.gamma_range(l) {
                let gamma = &params[g.clone()];
                // dγ = Σ dy ⊙ ẑ, dβ = Σ dy; dẑ = γ dy; dz = P(dẑ)/s.
                batchnorm::row_mean_prod(m, b, dy, &cur.zhat, &mut cur.m3);
                row_sum(m, b, dy, &mut cur.m1);
                if let Some(gr) = grad.as_deref_mut() {
                    for i in 0..m {
                        gr[g.start + i] = cur.m3[i] * b as f64;
                    }
                    gr[mlp.bias_range(l)].copy_from_slice(&cur.m1);
                }
                for (dzc, dyc) in dz.chunks_exact_mut(m).zip(dy.chunks_exact(m)) {
                    for i in 0..m {
                        dzc[i] = gamma[i] * dyc[i];
                    }
                }
                // In place: the projection reads its input's means first.
                let tmp = std::mem::take(&mut cur.rdzhat);
                let mut tmp = tmp;
                fit(&mut tmp, m * b);
                tmp.copy_from_slice(&dz[..m * b]);
                batchnorm::project(m, b, &cur.zhat, &cur.s, &tmp, dz, &mut cur.m1, &mut cur.m2);
                cur.rdzhat = tmp;
                dz
            } else {
                if let Some(gr) = grad.as_deref_mut() {
                    row_sum(m, b, dy, &mut gr[mlp.bias_range(l)]);
                }
                dy
            };
            let prev_skip = l > 0 && mlp.layers[l - 1].skip;
            if let Some(gr) = grad.as_deref_mut() {
                let input: &[f64] = match lo.last() {
                    Some(pw) => pw.out(prev_skip),
                    None => input0,
                };
                // dW = dz a_inᵀ (m × k)
                gemm(
                    &mut gr[wr.clone()],
                    m,
                    k,
                    mat(dz, m, b),
                    mat(input, k, b).transpose(),
                    false,
                );
            }
            if let Some(pw) = lo.last_mut() {
                let da_prev = match slot {
                    Slot::Primal => &mut pw.da,
                    Slot::Tangent => &mut pw.rda,
                };
                // da_{l−1} = W_lᵀ dz (+ da_l)
                gemm(
                    da_prev,
                    k,
                    b,
                    mat(&params[wr], m, k).transpose(),
                    mat(dz, m, b),
                    false,
                );
                if layer.skip {
                    let da = match slot {
                        Slot::Primal => &cur.da,
                        Slot::Tangent => &cur.rda,
                    };
                    for (p, &d) in da_prev.iter_mut().zip(da) {
                        *p += d;
                    }
                }
            }
        }
    }

    /// Gradient pass (cached): loss gradient into the last `da`, backward.
    pub(super) fn gradient(&self, ws: &mut Workspace, params: &[f64], grad: Option<&mut [f64]>) {
        if ws.backward_valid && grad.is_none() {
            return;
        }
        let mlp = self.mlp;
        let k = mlp.outputs();
        let scale = 1.0 / ws.b as f64;
        {
            let Workspace {
                t,
                p,
                layers,
                key_full,
                ..
            } = &mut *ws;
            let targets: &[f64] = if *key_full {
                self.data.targets()
            } else {
                t.as_slice()
            };
            let last = layers.last_mut().expect("at least one layer");
            let loss = mlp.loss;
            par_cols(k, &mut last.da, |s, g| {
                loss.gradient(k, &p[s..], &targets[s..], scale, g)
            });
        }
        self.backward(ws, params, Slot::Primal, grad);
        ws.backward_valid = true;
    }
}
