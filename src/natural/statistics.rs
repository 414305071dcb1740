//! Curvature statistics of a network on a minibatch, computed from the
//! model's per-layer hook ([`MlpProblem::layer_pass`]: each layer's inputs
//! and back-propagated signals from the cached forward pass), not inside the
//! model:
//!
//! - [`grad_sq_sum`]: the sum of squared per-example
//!   gradients, the diagonal of Hessian-free's preconditioner (Martens,
//!   "Deep learning via Hessian-free optimization", ICML 2010, §4.7);
//! - [`kfac_factors`]: K-FAC's Kronecker factors
//!   `(A_l, G_l)` (Martens & Grosse, "Optimizing neural networks with
//!   Kronecker-factored approximate curvature", ICML 2015, §3, §5);
//! - [`gauss_newton_gram`]: the Gauss-Newton Gram matrix
//!   `vᵢᵀ G vⱼ` of a few directions (K-FAC's re-scaling and momentum, §6.4,
//!   §7).
//!
//! They are free functions of the network's training problem that use only
//! the hook and the network's public layout: the model carries no method's
//! statistics. (The `MlpProblem` methods of the same names with a `_batch`
//! suffix are deprecated forwarders.) A new method's statistic is written
//! the same way, in its own file: see
//! [`LayerPass`](crate::nn::LayerPass) for Shampoo's and a diagonal
//! Gauss-Newton estimate's.
//!
//! None applies to batch normalization: its examples are coupled, so neither
//! per-example gradients nor the Kronecker factorization exist.

use faer::{Accum, MatMut};
use nalgebra::DMatrix;

use crate::linalg::elementwise;
use crate::nn::mlp::kernels::{gemm, mat, row_sum, small_par};
use crate::nn::{MlpProblem, NnError};

/// `Err(Length)` unless `v` has `expected` entries.
fn check_len(what: &'static str, v: &[f64], expected: usize) -> Result<(), NnError> {
    if v.len() != expected {
        return Err(NnError::Length {
            what,
            got: v.len(),
            expected,
        });
    }
    Ok(())
}

/// `Err(Architecture)` for a network with batch normalization.
fn no_batch_norm(problem: &MlpProblem<'_>, what: &str) -> Result<(), NnError> {
    if problem.mlp().layers().iter().any(|l| l.batch_norm) {
        return Err(NnError::Architecture(format!(
            "{what} need a network without batch normalization"
        )));
    }
    Ok(())
}

/// Writes `Σᵢ gᵢ ⊙ gᵢ` into `out`: the sum over the examples `i` of
/// `batch` of their squared per-example gradients (of the loss, without
/// decay), with no per-example loop. For a dense layer the per-example
/// gradient is `gᵢ = δᵢ aᵢᵀ`, so `Σᵢ gᵢ ⊙ gᵢ = (δ ⊙ δ)(a ⊙ a)ᵀ`, one matrix
/// product (Dangel, Kunstner & Hennig, "BackPACK: packing more into
/// backprop", ICLR 2020, §2), from the hook's inputs and gradient signals
/// ([`MlpProblem::layer_pass`]). The diagonal of Martens's (2010,
/// §4.7) Hessian-free preconditioner.
///
/// Errors: wrong lengths, an empty or out-of-range batch, or a network
/// with batch normalization (its examples are coupled).
pub fn grad_sq_sum(
    problem: &MlpProblem<'_>,
    params: &[f64],
    batch: &[usize],
    out: &mut [f64],
) -> Result<(), NnError> {
    let mlp = problem.mlp();
    check_len("out", out, mlp.num_params())?;
    no_batch_norm(problem, "per-example gradients")?;
    let mut pass = problem.layer_pass(params, batch)?;
    pass.backprop_gradient();
    let b = pass.batch_size();
    // The signals carry the objective's 1/B; per-example gradients do not.
    let bf = b as f64;
    let mut d2 = Vec::new();
    let mut a2 = Vec::new();
    for l in 0..mlp.layers().len() {
        let (wr, (m, k)) = mlp.weights_range(l);
        d2.clear();
        d2.extend(pass.signal(l).iter().map(|d| (bf * d) * (bf * d)));
        a2.clear();
        a2.extend(pass.input(l).iter().map(|a| a * a));
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
/// output nonlinearity, [`Loss`](crate::nn::Loss)) and returns the `e_s`
/// (each `n_L × B`): one sampled residual `∇ₒℓ(oᵢ, yᵢ)`, `yᵢ ∼ p(·|oᵢ)`,
/// for K-FAC's Monte-Carlo Fisher (§5; scale by `1/√S` for `S` samples),
/// or the columns of a square root of the output Fisher `H_F(oᵢ)` for its
/// expectation. Each vector costs one backward pass over the batch; the
/// factors are matrix products (faer) of the hook's inputs and signals
/// ([`MlpProblem::layer_pass`]), with no per-example loop. The
/// forward pass is reused when `params` and `batch` are those of the last
/// evaluation.
///
/// Errors: wrong lengths (also of a returned vector), an empty or
/// out-of-range batch, or a network with batch normalization (its
/// examples are coupled, so the factorization does not apply).
#[allow(clippy::type_complexity)]
pub fn kfac_factors(
    problem: &MlpProblem<'_>,
    params: &[f64],
    batch: &[usize],
    out_vectors: &mut dyn FnMut(&[f64]) -> Vec<Vec<f64>>,
) -> Result<Vec<(DMatrix<f64>, DMatrix<f64>)>, NnError> {
    kfac_factors_value(problem, params, batch, out_vectors, None)
}

/// [`kfac_factors`], and `f` on `batch`
/// into `value` if given (from the same forward pass, bit for bit
/// [`MlpProblem::value_batch`]'s, without a second look-up of the
/// cache, which compares the whole parameter vector): K-FAC's step check
/// needs `h(θ)` on the statistics batch.
#[allow(clippy::type_complexity)]
pub(crate) fn kfac_factors_value(
    problem: &MlpProblem<'_>,
    params: &[f64],
    batch: &[usize],
    out_vectors: &mut dyn FnMut(&[f64]) -> Vec<Vec<f64>>,
    value: Option<&mut f64>,
) -> Result<Vec<(DMatrix<f64>, DMatrix<f64>)>, NnError> {
    let mlp = problem.mlp();
    no_batch_norm(problem, "K-FAC factors")?;
    let mut pass = problem.layer_pass(params, batch)?;
    if let Some(v) = value {
        *v = pass.value();
    }
    let b = pass.batch_size();
    let es = out_vectors(pass.p());
    for e in &es {
        check_len("output vector", e, mlp.outputs() * b)?;
    }
    let inv_b = 1.0 / b as f64;
    let mut factors = Vec::with_capacity(mlp.layers().len());
    for l in 0..mlp.layers().len() {
        let (_, (m, k)) = mlp.weights_range(l);
        factors.push((input_factor(pass.input(l), k, b), DMatrix::zeros(m, m)));
    }
    for e in &es {
        pass.backprop(e)?;
        for (l, (_, g)) in factors.iter_mut().enumerate() {
            let m = g.nrows();
            let d = mat(pass.signal(l), m, b);
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
/// [`MlpProblem::gauss_newton_vec_batch`]) on `batch`,
/// for a few directions: one forward R pass per direction and products in
/// output space ([`LayerPass::jac_vec`](crate::nn::LayerPass::jac_vec),
/// [`LayerPass::output_hess_vec`](crate::nn::LayerPass::output_hess_vec)),
/// cheaper than `G vⱼ` (K-FAC's re-scaling and momentum, Martens & Grosse
/// 2015 §6.4 and §7, need only these).
///
/// Errors: wrong lengths, an empty or out-of-range batch.
// `i ≤ j` indexes a triangle of three parallel sequences.
#[allow(clippy::needless_range_loop)]
pub fn gauss_newton_gram(
    problem: &MlpProblem<'_>,
    params: &[f64],
    batch: &[usize],
    vs: &[&[f64]],
) -> Result<DMatrix<f64>, NnError> {
    let mlp = problem.mlp();
    for v in vs {
        check_len("v", v, mlp.num_params())?;
    }
    let mut pass = problem.layer_pass(params, batch)?;
    let mut jv = Vec::with_capacity(vs.len());
    for v in vs {
        jv.push(pass.jac_vec(v)?.to_vec());
    }
    let mut hjv = vec![0.0; mlp.outputs() * pass.batch_size()];
    let n = vs.len();
    let mut gram = DMatrix::<f64>::zeros(n, n);
    for j in 0..n {
        pass.output_hess_vec(&jv[j], &mut hjv)?;
        for i in 0..=j {
            let mut s: f64 = jv[i].iter().zip(&hjv).map(|(x, y)| x * y).sum();
            if mlp.weight_decay() != 0.0 {
                for l in 0..mlp.layers().len() {
                    let (r, _) = mlp.weights_range(l);
                    let d: f64 = vs[i][r.clone()]
                        .iter()
                        .zip(&vs[j][r])
                        .map(|(x, y)| x * y)
                        .sum();
                    s += mlp.weight_decay() * d;
                }
            }
            gram[(i, j)] = s;
            gram[(j, i)] = s;
        }
    }
    Ok(gram)
}

/// The statistics under their former names, as methods of the model.
impl MlpProblem<'_> {
    /// [`grad_sq_sum`].
    #[deprecated(note = "use hesse::natural::statistics::grad_sq_sum")]
    pub fn grad_sq_sum_batch(
        &self,
        params: &[f64],
        batch: &[usize],
        out: &mut [f64],
    ) -> Result<(), NnError> {
        grad_sq_sum(self, params, batch, out)
    }

    /// [`kfac_factors`].
    #[deprecated(note = "use hesse::natural::statistics::kfac_factors")]
    #[allow(clippy::type_complexity)]
    pub fn kfac_factors_batch(
        &self,
        params: &[f64],
        batch: &[usize],
        out_vectors: &mut dyn FnMut(&[f64]) -> Vec<Vec<f64>>,
    ) -> Result<Vec<(DMatrix<f64>, DMatrix<f64>)>, NnError> {
        kfac_factors(self, params, batch, out_vectors)
    }

    /// [`gauss_newton_gram`].
    #[deprecated(note = "use hesse::natural::statistics::gauss_newton_gram")]
    pub fn gauss_newton_gram_batch(
        &self,
        params: &[f64],
        batch: &[usize],
        vs: &[&[f64]],
    ) -> Result<DMatrix<f64>, NnError> {
        gauss_newton_gram(self, params, batch, vs)
    }
}

/// K-FAC's `A = (1/B) Σᵢ āᵢ āᵢᵀ` (`(k + 1)²`) of a layer's input `input`
/// (`k × B`), `āᵢ = (aᵢ; 1)`: the `k × k` block is one product, the last row
/// and column the mean input, the corner 1.
fn input_factor(input: &[f64], k: usize, b: usize) -> DMatrix<f64> {
    let inv_b = 1.0 / b as f64;
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
    for (j, &mj) in mean.iter().enumerate() {
        a[(j, k)] = mj * inv_b;
        a[(k, j)] = mj * inv_b;
    }
    a[(k, k)] = 1.0;
    a
}
