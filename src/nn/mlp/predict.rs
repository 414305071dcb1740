//! Inference: the network's outputs on new inputs, batch-normalized layers
//! with population statistics; classification accuracy.

use super::Mlp;
use super::kernels::{add_bias, gemm, mat};
use crate::nn::batchnorm::{self, BatchNormStats};
use crate::nn::{Dataset, NnError};

impl Mlp {
    /// Network outputs `o` (`n_L × N`, column-major) for inputs `x` (`n_0 × N`).
    ///
    /// Batch-normalized layers use `stats` (population averages,
    /// [`MlpProblem::batch_norm_stats`](crate::nn::MlpProblem::batch_norm_stats));
    /// with `None` they normalize by the statistics of `x` itself. Allocates;
    /// for evaluation, not training.
    pub fn predict(
        &self,
        params: &[f64],
        x: &[f64],
        stats: Option<&BatchNormStats>,
    ) -> Result<Vec<f64>, NnError> {
        self.check_params(params)?;
        if x.is_empty() || !x.len().is_multiple_of(self.inputs) {
            return Err(NnError::Length {
                what: "inputs",
                got: x.len(),
                expected: self.inputs * (x.len() / self.inputs).max(1),
            });
        }
        let b = x.len() / self.inputs;
        let mut a = x.to_vec();
        for (l, layer) in self.layers.iter().enumerate() {
            let (wr, (m, k)) = self.weights_range(l);
            let mut y = vec![0.0; m * b];
            gemm(&mut y, m, b, mat(&params[wr], m, k), mat(&a, k, b), false);
            if let Some(g) = self.gamma_range(l) {
                let (gamma, beta) = (&params[g], self.bias(params, l));
                let (mut mean, mut s) = (vec![0.0; m], vec![0.0; m]);
                match stats.and_then(|st| Some((st.mean.get(l)?, st.var.get(l)?))) {
                    Some((mu, var)) if mu.len() == m && var.len() == m => {
                        mean.copy_from_slice(mu);
                        for (si, &v) in s.iter_mut().zip(var) {
                            *si = (v + self.bn_delta).sqrt();
                        }
                    }
                    _ => {
                        let z = y.clone();
                        batchnorm::normalize(m, b, &z, self.bn_delta, &mut mean, &mut s, &mut y);
                        for i in 0..m {
                            mean[i] = 0.0;
                            s[i] = 1.0;
                        }
                    }
                }
                for col in y.chunks_exact_mut(m) {
                    for i in 0..m {
                        col[i] = gamma[i] * (col[i] - mean[i]) / s[i] + beta[i];
                    }
                }
            } else {
                add_bias(&mut y, self.bias(params, l));
            }
            let z = y.clone();
            layer.activation.values(&z, &mut y);
            if layer.skip {
                for (v, &p) in y.iter_mut().zip(&a) {
                    *v += p;
                }
            }
            a = y;
        }
        Ok(a)
    }

    /// Fraction of examples whose largest output is at the position of the
    /// largest target (classification accuracy with one-hot targets).
    pub fn accuracy(
        &self,
        params: &[f64],
        data: &Dataset,
        stats: Option<&BatchNormStats>,
    ) -> Result<f64, NnError> {
        if data.is_empty() {
            return Err(NnError::EmptyBatch);
        }
        let o = self.predict(params, data.inputs(), stats)?;
        let k = self.outputs();
        let argmax = |c: &[f64]| {
            c.iter()
                .enumerate()
                .fold((0, f64::NEG_INFINITY), |best, (i, &v)| {
                    if v > best.1 { (i, v) } else { best }
                })
                .0
        };
        let hits = o
            .chunks_exact(k)
            .zip(data.targets().chunks_exact(k))
            .filter(|(oc, tc)| argmax(oc) == argmax(tc))
            .count();
        Ok(hits as f64 / data.len() as f64)
    }
}
