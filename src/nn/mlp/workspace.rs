//! The buffers of an evaluation, sized on first use and reused, and the key
//! (parameters and batch) of the cached forward and backward passes.

use super::kernels::fit;
use super::{Mlp, MlpProblem};
use crate::nn::NnError;

/// Buffers of one layer, each `n_l × B` unless said otherwise.
#[derive(Default)]
pub(super) struct LayerWork {
    /// Pre-activation `y`.
    pub(super) y: Vec<f64>,
    /// `h = φ(y)`.
    pub(super) h: Vec<f64>,
    /// `a = h + a_{l−1}` (skip layers only).
    pub(super) a: Vec<f64>,
    /// `∂f/∂a`, `∂f/∂y`, `∂f/∂z` (the last for batch norm only).
    pub(super) da: Vec<f64>,
    pub(super) dy: Vec<f64>,
    pub(super) dz: Vec<f64>,
    /// R-operator (or Gauss-Newton backward) counterparts.
    pub(super) ry: Vec<f64>,
    pub(super) rh: Vec<f64>,
    pub(super) ra: Vec<f64>,
    pub(super) rda: Vec<f64>,
    pub(super) rdy: Vec<f64>,
    pub(super) rdz: Vec<f64>,
    /// Batch norm: `ẑ`, `Rẑ`, `R dẑ` (`n × B`); per unit `μ`, `s`, `ρ`, and
    /// three scratch rows (`n`).
    pub(super) zhat: Vec<f64>,
    pub(super) rzhat: Vec<f64>,
    pub(super) rdzhat: Vec<f64>,
    pub(super) mean: Vec<f64>,
    pub(super) s: Vec<f64>,
    pub(super) rho: Vec<f64>,
    pub(super) m1: Vec<f64>,
    pub(super) m2: Vec<f64>,
    pub(super) m3: Vec<f64>,
    pub(super) m4: Vec<f64>,
}

impl LayerWork {
    pub(super) fn out(&self, skip: bool) -> &[f64] {
        if skip { &self.a } else { &self.h }
    }
    pub(super) fn rout(&self, skip: bool) -> &[f64] {
        if skip { &self.ra } else { &self.rh }
    }
}

/// Everything an evaluation needs, sized on first use and reused; plus the
/// key (parameters and batch) of the cached forward and backward passes.
#[derive(Default)]
pub(super) struct Workspace {
    pub(super) b: usize,
    /// Gathered minibatch inputs (`n_0 × B`) and targets (`n_L × B`).
    pub(super) x: Vec<f64>,
    pub(super) t: Vec<f64>,
    /// Loss nonlinearity of the output, `p(o)` (`n_L × B`).
    pub(super) p: Vec<f64>,
    /// Each example's loss (`B`), summed in order so the value is the same
    /// for any thread count.
    pub(super) col_loss: Vec<f64>,
    pub(super) layers: Vec<LayerWork>,
    pub(super) loss_sum: f64,
    pub(super) key_params: Vec<f64>,
    pub(super) key_batch: Vec<usize>,
    pub(super) key_full: bool,
    pub(super) forward_valid: bool,
    pub(super) backward_valid: bool,
}

impl Workspace {
    /// Keeps the cached forward pass of the first `b` examples of the cached
    /// batch (its first `b` columns): without batch normalization every
    /// example's column is computed on its own, so this is the forward pass of
    /// that prefix. K-FAC's statistics batch is a prefix of its gradient
    /// batch, so they share one forward pass.
    pub(super) fn restrict(&mut self, mlp: &Mlp, b: usize) {
        let (d, k) = (mlp.inputs, mlp.outputs());
        self.b = b;
        self.key_batch.truncate(b);
        self.x.truncate(d * b);
        self.t.truncate(k * b);
        self.p.truncate(k * b);
        self.col_loss.truncate(b);
        for (lw, layer) in self.layers.iter_mut().zip(&mlp.layers) {
            let nb = layer.width * b;
            for v in [&mut lw.y, &mut lw.h, &mut lw.da, &mut lw.dy, &mut lw.a] {
                v.truncate(nb);
            }
        }
        self.loss_sum = self.col_loss.iter().sum();
        self.backward_valid = false;
    }
}

/// Which buffers a backward pass uses: the gradient's (`da`, `dy`, `dz`) or
/// the tangent ones (`rda`, `rdy`, `rdz`), so that a Gauss-Newton or `Jᵀu`
/// product does not overwrite the cached gradient pass.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Slot {
    Primal,
    Tangent,
}

impl MlpProblem<'_> {
    /// Validates, sizes the workspace, gathers a minibatch and invalidates the
    /// cached passes unless `params` and `batch` are those of the last call.
    pub(super) fn prepare(
        &self,
        ws: &mut Workspace,
        params: &[f64],
        batch: Option<&[usize]>,
    ) -> Result<(), NnError> {
        self.prepare_keyed(ws, params, batch, true)
    }

    /// [`prepare`](Self::prepare); on a miss with `keep_key = false` the
    /// parameters are not copied into the cache key (the key is left empty,
    /// so no later call hits this pass): for a one-off evaluation at a trial
    /// point, which saves a copy of the parameter vector (22 MB on the MNIST
    /// autoencoder) per call. The batch is compared before the parameters
    /// (the cheaper test first; a new minibatch at the same parameters, as
    /// after a trial evaluation, would otherwise compare all of them).
    pub(super) fn prepare_keyed(
        &self,
        ws: &mut Workspace,
        params: &[f64],
        batch: Option<&[usize]>,
        keep_key: bool,
    ) -> Result<(), NnError> {
        let mlp = self.mlp;
        mlp.check_params(params)?;
        let n = self.data.len();
        let b = match batch {
            Some(idx) => {
                if idx.is_empty() {
                    return Err(NnError::EmptyBatch);
                }
                if let Some(&bad) = idx.iter().find(|&&i| i >= n) {
                    return Err(NnError::BatchIndex { index: bad, len: n });
                }
                idx.len()
            }
            None => n,
        };
        if let Some(idx) = batch
            && ws.forward_valid
            && !ws.key_full
            && b < ws.b
            && ws.key_batch[..b] == *idx
            && ws.key_params == params
            && !mlp.layers.iter().any(|l| l.batch_norm)
        {
            ws.restrict(mlp, b);
            return Ok(());
        }
        let same = ws.forward_valid
            && ws.b == b
            && match batch {
                Some(idx) => !ws.key_full && ws.key_batch == idx,
                None => ws.key_full,
            }
            && ws.key_params == params;
        if same {
            return Ok(());
        }
        ws.forward_valid = false;
        ws.backward_valid = false;
        ws.b = b;
        ws.key_params.clear();
        if keep_key {
            ws.key_params.extend_from_slice(params);
        }
        ws.key_batch.clear();
        ws.key_full = batch.is_none();
        let (d, k) = (mlp.inputs, mlp.outputs());
        fit(&mut ws.p, k * b);
        fit(&mut ws.col_loss, b);
        if let Some(idx) = batch {
            ws.key_batch.extend_from_slice(idx);
            fit(&mut ws.x, d * b);
            fit(&mut ws.t, k * b);
            let (xs, ts) = (self.data.inputs(), self.data.targets());
            for (j, &i) in idx.iter().enumerate() {
                ws.x[j * d..(j + 1) * d].copy_from_slice(&xs[i * d..(i + 1) * d]);
                ws.t[j * k..(j + 1) * k].copy_from_slice(&ts[i * k..(i + 1) * k]);
            }
        }
        ws.layers.resize_with(mlp.layers.len(), LayerWork::default);
        for (lw, layer) in ws.layers.iter_mut().zip(&mlp.layers) {
            let nb = layer.width * b;
            fit(&mut lw.y, nb);
            fit(&mut lw.h, nb);
            fit(&mut lw.da, nb);
            fit(&mut lw.dy, nb);
            if layer.skip {
                fit(&mut lw.a, nb);
            }
            if layer.batch_norm {
                fit(&mut lw.dz, nb);
                fit(&mut lw.zhat, nb);
                for v in [
                    &mut lw.mean,
                    &mut lw.s,
                    &mut lw.rho,
                    &mut lw.m1,
                    &mut lw.m2,
                    &mut lw.m3,
                    &mut lw.m4,
                ] {
                    fit(v, layer.width);
                }
            }
        }
        Ok(())
    }

    /// Sizes the tangent buffers (first curvature product only).
    pub(super) fn prepare_tangent(&self, ws: &mut Workspace) {
        let b = ws.b;
        for (lw, layer) in ws.layers.iter_mut().zip(&self.mlp.layers) {
            let nb = layer.width * b;
            for v in [&mut lw.ry, &mut lw.rh, &mut lw.rda, &mut lw.rdy] {
                fit(v, nb);
            }
            if layer.skip {
                fit(&mut lw.ra, nb);
            }
            if layer.batch_norm {
                fit(&mut lw.rdz, nb);
                fit(&mut lw.rzhat, nb);
                fit(&mut lw.rdzhat, nb);
            }
        }
    }
}
