//! Statistics for curvature methods: squared per-example gradients
//! (Hessian-free's preconditioner), K-FAC's Kronecker factors, and Gram
//! matrices of the Gauss-Newton matrix.

use faer::{Accum, MatMut};
use nalgebra::DMatrix;

use super::MlpProblem;
use super::kernels::{gemm, mat, row_sum, small_par};
use super::workspace::Slot;
use crate::linalg::elementwise;
use crate::nn::NnError;

impl MlpProblem<'_> {
    /// Writes `Σᵢ gᵢ ⊙ gᵢ` into `out`: the sum over the examples `i` of
    /// `batch` of their squared per-example gradients (of the loss, without
    /// decay), with no per-example loop. For a dense layer the per-example
    /// gradient is `gᵢ = δᵢ aᵢᵀ`, so `Σᵢ gᵢ ⊙ gᵢ = (δ ⊙ δ)(a ⊙ a)ᵀ`, one matrix
    /// product (Dangel, Kunstner & Hennig, "BackPACK: packing more into
    /// backprop", ICLR 2020, §2). The diagonal of Martens's (2010, §4.7)
    /// Hessian-free preconditioner.
    ///
    /// Errors: wrong lengths, an empty or out-of-range batch, or a network
    /// with batch normalization (its examples are coupled).
    pub fn grad_sq_sum_batch(
        &self,
        params: &[f64],
        batch: &[usize],
        out: &mut [f64],
    ) -> Result<(), NnError> {
        let mlp = self.mlp;
        Self::check_len("out", out, mlp.num_params)?;
        if mlp.layers.iter().any(|l| l.batch_norm) {
            return Err(NnError::Architecture(
                "per-example gradients need a network without batch normalization".into(),
            ));
        }
        let mut ws = self.lock();
        self.prepare(&mut ws, params, Some(batch))?;
        self.forward(&mut ws, params);
        self.gradient(&mut ws, params, None);
        let b = ws.b;
        // dy carries the objective's 1/B; per-example gradients do not.
        let bf = b as f64;
        let input0: &[f64] = if ws.key_full {
            self.data.inputs()
        } else {
            ws.x.as_slice()
        };
        let mut d2 = Vec::new();
        let mut a2 = Vec::new();
        for l in 0..mlp.layers.len() {
            let (wr, (m, k)) = mlp.weights_range(l);
            let input: &[f64] = if l == 0 {
                input0
            } else {
                ws.layers[l - 1].out(mlp.layers[l - 1].skip)
            };
            d2.clear();
            d2.extend(ws.layers[l].dy[..m * b].iter().map(|d| (bf * d) * (bf * d)));
            a2.clear();
            a2.extend(input[..k * b].iter().map(|a| a * a));
            gemm(
                &mut out[wr],
                m,
                k,
                mat(&d2, m, b),
                mat(&a2, k, b).transpose(),
                false,
            );
            row_sum(m, b, &d2, &mut out[mlp.bias_range(l)]);
        }
        Ok(())
    }
}

/// # K-FAC statistics and small Gauss-Newton Gram matrices
impl MlpProblem<'_> {
    /// The Kronecker factors of K-FAC (Martens & Grosse, "Optimizing neural
    /// networks with Kronecker-factored approximate curvature", ICML 2015, §3)
    /// of every layer on the examples `batch`, as `(A_l, G_l)`:
    ///
    /// - `A_l = (1/B) Σᵢ āᵢ āᵢᵀ`, `(n_{l−1} + 1)²`, with `āᵢ = (a_{l−1,i}; 1)`
    ///   the layer's input with a homogeneous coordinate for the bias, so that
    ///   the layer's flat parameters `(vec W_l, b_l)` are `vec [W_l b_l]` and
    ///   its Fisher block is approximated by `A_l ⊗ G_l`;
    /// - `G_l = (1/B) Σᵢ Σₛ g_{l,i,s} g_{l,i,s}ᵀ`, `n_l²`, with
    ///   `g_{l,i,s} = ∂(e_{i,s}ᵀ o_i)/∂y_l` the output-space vectors `e_s`
    ///   back-propagated to layer `l`'s pre-activations.
    ///
    /// `out_vectors` receives `p(o)` (`n_L × B`, column-major, the loss's
    /// output nonlinearity, [`Loss`](crate::nn::Loss)) and returns the `e_s` (each `n_L × B`):
    /// one sampled residual `∇ₒℓ(oᵢ, yᵢ)`, `yᵢ ∼ p(·|oᵢ)`, for K-FAC's
    /// Monte-Carlo Fisher (§5; scale by `1/√S` for `S` samples), or the
    /// columns of a square root of the output Fisher `H_F(oᵢ)` for its
    /// expectation. Each vector costs one backward pass over the batch; the
    /// factors are matrix products (faer), with no per-example loop. The
    /// forward pass is reused when `params` and `batch` are those of the last
    /// evaluation.
    ///
    /// Errors: wrong lengths (also of a returned vector), an empty or
    /// out-of-range batch, or a network with batch normalization (its
    /// examples are coupled, so the factorization does not apply).
    #[allow(clippy::type_complexity)]
    pub fn kfac_factors_batch(
        &self,
        params: &[f64],
        batch: &[usize],
        out_vectors: &mut dyn FnMut(&[f64]) -> Vec<Vec<f64>>,
    ) -> Result<Vec<(DMatrix<f64>, DMatrix<f64>)>, NnError> {
        self.kfac_factors_value_batch(params, batch, out_vectors, None)
    }

    /// [`kfac_factors_batch`](Self::kfac_factors_batch), and `f` on `batch`
    /// into `value` if given (from the same forward pass, bit for bit
    /// [`value_batch`](Self::value_batch)'s, without a second look-up of the
    /// cache, which compares the whole parameter vector): K-FAC's step check
    /// needs `h(θ)` on the statistics batch.
    #[allow(clippy::type_complexity)]
    pub(crate) fn kfac_factors_value_batch(
        &self,
        params: &[f64],
        batch: &[usize],
        out_vectors: &mut dyn FnMut(&[f64]) -> Vec<Vec<f64>>,
        value: Option<&mut f64>,
    ) -> Result<Vec<(DMatrix<f64>, DMatrix<f64>)>, NnError> {
        let mlp = self.mlp;
        if mlp.layers.iter().any(|l| l.batch_norm) {
            return Err(NnError::Architecture(
                "K-FAC factors need a network without batch normalization".into(),
            ));
        }
        let mut ws = self.lock();
        self.prepare(&mut ws, params, Some(batch))?;
        self.prepare_tangent(&mut ws);
        self.forward(&mut ws, params);
        if let Some(v) = value {
            *v = self.value_from(&ws, params);
        }
        let b = ws.b;
        let kout = mlp.outputs();
        let es = out_vectors(&ws.p);
        for e in &es {
            Self::check_len("output vector", e, kout * b)?;
        }
        let inv_b = 1.0 / b as f64;
        let mut factors = Vec::with_capacity(mlp.layers.len());
        for l in 0..mlp.layers.len() {
            let (_, (m, k)) = mlp.weights_range(l);
            let input: &[f64] = if l == 0 {
                ws.x.as_slice()
            } else {
                ws.layers[l - 1].out(mlp.layers[l - 1].skip)
            };
            let mut a = DMatrix::<f64>::zeros(k + 1, k + 1);
            {
                let dst = MatMut::from_column_major_slice_mut(a.as_mut_slice(), k + 1, k + 1);
                let x = mat(input, k, b);
                faer::linalg::matmul::matmul(
                    dst.submatrix_mut(0, 0, k, k),
                    Accum::Replace,
                    x,
                    x.transpose(),
                    inv_b,
                    small_par(k * k * b),
                );
                elementwise::zero_upper();
            }
            let mut mean = vec![0.0; k];
            row_sum(k, b, input, &mut mean);
            for j in 0..k {
                a[(j, k)] = mean[j] * inv_b;
                a[(k, j)] = mean[j] * inv_b;
            }
            a[(k, k)] = 1.0;
            factors.push((a, DMatrix::<f64>::zeros(m, m)));
        }
        for e in &es {
            ws.layers
                .last_mut()
                .expect("a layer")
                .rda
                .copy_from_slice(e);
            self.backward(&mut ws, params, Slot::Tangent, None);
            for (l, (_, g)) in factors.iter_mut().enumerate() {
                let m = mlp.layers[l].width;
                let d = mat(&ws.layers[l].rdy, m, b);
                let dst = MatMut::from_column_major_slice_mut(g.as_mut_slice(), m, m);
                faer::linalg::matmul::matmul(
                    dst,
                    Accum::Add,
                    d,
                    d.transpose(),
                    inv_b,
                    small_par(m * m * b),
                );
                elementwise::zero_upper();
            }
        }
        Ok(factors)
    }

    /// The Gram matrix `Mᵢⱼ = vᵢᵀ G vⱼ` of the generalized Gauss-Newton matrix
    /// `G = (1/B) Σ Jᵀ H_L J + λ I_W` (with the weight decay, as
    /// [`gauss_newton_vec_batch`](Self::gauss_newton_vec_batch)) on `batch`,
    /// for a few directions: one forward R pass per direction and products in
    /// output space, cheaper than `G vⱼ` (K-FAC's re-scaling and momentum,
    /// Martens & Grosse 2015 §6.4 and §7, need only these).
    ///
    /// Errors: wrong lengths, an empty or out-of-range batch.
    pub fn gauss_newton_gram_batch(
        &self,
        params: &[f64],
        batch: &[usize],
        vs: &[&[f64]],
    ) -> Result<DMatrix<f64>, NnError> {
        let mlp = self.mlp;
        for v in vs {
            Self::check_len("v", v, mlp.num_params)?;
        }
        let mut ws = self.lock();
        self.prepare(&mut ws, params, Some(batch))?;
        self.prepare_tangent(&mut ws);
        self.forward(&mut ws, params);
        let b = ws.b;
        let kout = mlp.outputs();
        let skip = mlp.layers.last().is_some_and(|l| l.skip);
        let mut jv = Vec::with_capacity(vs.len());
        for v in vs {
            self.r_forward(&mut ws, params, v);
            jv.push(ws.layers.last().expect("a layer").rout(skip)[..kout * b].to_vec());
        }
        let mut hjv = vec![0.0; kout * b];
        let n = vs.len();
        let mut gram = DMatrix::<f64>::zeros(n, n);
        for j in 0..n {
            mlp.loss
                .hess_vec(kout, &ws.p, &ws.t, &jv[j], 1.0 / b as f64, &mut hjv);
            for i in 0..=j {
                let mut s: f64 = jv[i].iter().zip(&hjv).map(|(x, y)| x * y).sum();
                if mlp.weight_decay != 0.0 {
                    for l in 0..mlp.layers.len() {
                        let (r, _) = mlp.weights_range(l);
                        let d: f64 = vs[i][r.clone()]
                            .iter()
                            .zip(&vs[j][r])
                            .map(|(x, y)| x * y)
                            .sum();
                        s += mlp.weight_decay * d;
                    }
                }
                gram[(i, j)] = s;
                gram[(j, i)] = s;
            }
        }
        Ok(gram)
    }
}
