//! The per-layer hook: each layer's input and back-propagated signal on a
//! batch, read from the cached forward pass, so that curvature statistics
//! (K-FAC's Kronecker factors, Hessian-free's preconditioner, ...) are
//! computed outside the model, in [`natural`](crate::natural), and a new
//! method never edits the network.

use std::sync::MutexGuard;

use super::MlpProblem;
use super::workspace::{Slot, Workspace};
use crate::nn::NnError;

/// The forward pass of an [`MlpProblem`] on a batch, held open so that a
/// curvature method can read each layer's input and back-propagate what it
/// needs from the outputs: made by [`MlpProblem::layer_pass`].
///
/// Per layer `l` (0-based here; `n × B` column-major buffers, one column per
/// example of the batch; notation of [`Mlp`](crate::nn::Mlp)):
///
/// - [`input(l)`](Self::input): the layer's input `a_{l−1}` (`n_{l−1} × B`;
///   the network input for `l = 0`), without a homogeneous coordinate;
/// - [`signal(l)`](Self::signal): the gradient back-propagated to the
///   layer's weight output `z_l = W_l a_{l−1}` (`n_l × B`) by the last
///   backward pass: `∂f/∂z_l` of the batch objective after
///   [`backprop_gradient`](Self::backprop_gradient) (it carries the
///   objective's `1/B`), or `∂(Σᵢ eᵢᵀ oᵢ)/∂z_l` after
///   [`backprop(e)`](Self::backprop) for an output-space vector `e`
///   (`n_L × B`). Without batch normalization `y_l = z_l + b_l`, so this is
///   the pre-activation gradient `δ_l`.
///
/// So layer `l`'s weight gradient is `signal(l) input(l)ᵀ`, its bias
/// gradient `signal(l) 1` (without batch normalization), and example `i`'s
/// own gradient the outer product of the two columns `i` (examples are
/// independent without batch normalization). A statistic of per-layer
/// gradients is then a few matrix products on these buffers, with no
/// per-example loop and no copy (Dangel, Kunstner & Hennig, "BackPACK:
/// packing more into backprop", ICLR 2020, §2). In `natural::statistics`:
///
/// - K-FAC (Martens & Grosse 2015, §3): `A_l = (1/B) ā āᵀ` with
///   `ā = (input(l); 1)`, and `G_l = (1/B) Σₛ g_s g_sᵀ`, `g_s` the signal
///   after `backprop(e_s)` for output vectors `e_s` sampled from
///   [`p`](Self::p) (or a square root of the output Fisher);
/// - Hessian-free's diagonal preconditioner (Martens 2010, §4.7):
///   `Σᵢ gᵢ ⊙ gᵢ = (δ ⊙ δ)(a ⊙ a)ᵀ` after `backprop_gradient` (times `B²` to
///   undo the objective's `1/B`);
/// - K-FAC's Gauss-Newton Gram matrices `vᵢᵀ G vⱼ` (§6.4) in output space,
///   without a backward pass: [`jac_vec`](Self::jac_vec) (`J v`, one forward
///   R pass) and [`output_hess_vec`](Self::output_hess_vec) (`(1/B) H_L u`).
///
/// Methods still to come are written the same way, without editing the
/// network:
///
/// - Shampoo and SOAP (Gupta, Koren & Singer 2018; Vyas et al. 2024): after
///   `backprop_gradient`, the layer's gradient
///   `G = signal(l) (input(l); 1)ᵀ` (`n_l × (n_{l−1} + 1)`, the bias folded
///   in as K-FAC does) is one product and `L += G Gᵀ`, `R += Gᵀ G` two more;
/// - a diagonal curvature: the Gauss-Newton diagonal (Sophia-G, Liu et al.
///   2023) is `(1/B) Σₛ (g_s ⊙ g_s)(a ⊙ a)ᵀ` with `e_s` sampled as K-FAC's
///   (the Hessian-free statistic above with sampled outputs); a Hutchinson
///   estimate of the Hessian diagonal (AdaHessian, Sophia-H) needs
///   Hessian-vector products ([`MlpProblem::hess_vec_batch`]) instead.
///
/// The pass reuses the problem's cached forward pass when `params` and
/// `batch` are those of the last evaluation (or, without batch
/// normalization, `batch` is a prefix of its batch), and `backprop_gradient`
/// the cached backward pass; `backprop` and `jac_vec` write the tangent
/// buffers, so the cached gradient pass survives them.
///
/// While it lives, the pass holds the problem's workspace lock: calling the
/// problem's other methods on the same thread before dropping it deadlocks.
///
/// ```
/// use hesse::nn::{Activation, Dataset, Init, Loss, Mlp};
/// let data = Dataset::two_spirals(20, 0.0, 1).unwrap();
/// let mlp = Mlp::new(&[2, 5, 2], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
/// let problem = mlp.problem(&data).unwrap();
/// let x = mlp.init(Init::Glorot, 0);
/// let batch = [0, 4, 9];
/// let mut grad = vec![0.0; mlp.num_params()];
/// problem.value_grad_batch(&x, &batch, &mut grad).unwrap();
///
/// // The first layer's weight gradient is signal(0) input(0)ᵀ.
/// let mut pass = problem.layer_pass(&x, &batch).unwrap();
/// pass.backprop_gradient();
/// let (range, (m, k)) = mlp.weights_range(0);
/// let (d, a) = (pass.signal(0), pass.input(0));
/// for c in 0..k {
///     for r in 0..m {
///         let dw: f64 = (0..batch.len()).map(|i| d[i * m + r] * a[i * k + c]).sum();
///         assert!((dw - grad[range.start + c * m + r]).abs() < 1e-14);
///     }
/// }
/// ```
pub struct LayerPass<'p> {
    problem: &'p MlpProblem<'p>,
    params: &'p [f64],
    ws: MutexGuard<'p, Workspace>,
    /// The buffers `signal` reads: those of the last backward pass, if any.
    slot: Option<Slot>,
}

impl MlpProblem<'_> {
    /// Opens the forward pass at `params` on the examples `batch` (cached
    /// when it is the last evaluation's) for per-layer statistics: see
    /// [`LayerPass`].
    ///
    /// Errors: a wrong `params` length, an empty batch or an index out of
    /// range.
    pub fn layer_pass<'p>(
        &'p self,
        params: &'p [f64],
        batch: &[usize],
    ) -> Result<LayerPass<'p>, NnError> {
        let mut ws = self.lock();
        self.prepare(&mut ws, params, Some(batch))?;
        self.forward(&mut ws, params);
        Ok(LayerPass {
            problem: self,
            params,
            ws,
            slot: None,
        })
    }
}

impl LayerPass<'_> {
    /// Number of examples `B` of the batch.
    pub fn batch_size(&self) -> usize {
        self.ws.b
    }

    /// Number of layers `L`.
    pub fn num_layers(&self) -> usize {
        self.problem.mlp.layers.len()
    }

    /// The objective `f` on the batch at `params` (with the decay term),
    /// from this forward pass: bit for bit
    /// [`MlpProblem::value_batch`]'s.
    pub fn value(&self) -> f64 {
        self.problem.value_from(&self.ws, self.params)
    }

    /// `p = p(o)`, the loss's output nonlinearity of each example
    /// (`n_L × B`; [`Loss`](crate::nn::Loss)): softmax or logistic
    /// probabilities, or the outputs `o` for squared error. The input of a
    /// sampler of output vectors for [`backprop`](Self::backprop).
    pub fn p(&self) -> &[f64] {
        &self.ws.p
    }

    /// The targets `t` of the batch (`n_L × B`).
    pub fn targets(&self) -> &[f64] {
        if self.ws.key_full {
            self.problem.data.targets()
        } else {
            &self.ws.t
        }
    }

    /// Layer `l`'s input `a_{l−1}` (`n_{l−1} × B`, column-major); the
    /// network's input for `l = 0`.
    ///
    /// # Panics
    /// If `l` is not a layer index.
    #[track_caller]
    pub fn input(&self, l: usize) -> &[f64] {
        let mlp = self.problem.mlp;
        let k = mlp.weights_range(l).1.1;
        let b = self.ws.b;
        let a = if l == 0 {
            if self.ws.key_full {
                self.problem.data.inputs()
            } else {
                &self.ws.x
            }
        } else {
            self.ws.layers[l - 1].out(mlp.layers[l - 1].skip)
        };
        &a[..k * b]
    }

    /// Back-propagates the gradient of the batch objective (the cached
    /// backward pass when there is one): [`signal(l)`](Self::signal) is then
    /// `∂f/∂z_l`, which carries the objective's `1/B`.
    pub fn backprop_gradient(&mut self) {
        self.problem.gradient(&mut self.ws, self.params, None);
        self.slot = Some(Slot::Primal);
    }

    /// Back-propagates the output-space vector `e` (`n_L × B`, column `i`
    /// for example `i`): [`signal(l)`](Self::signal) is then
    /// `∂(Σᵢ eᵢᵀ oᵢ)/∂z_l`, without the objective's `1/B`. One backward
    /// pass, in the tangent buffers.
    ///
    /// Errors: `e` of the wrong length.
    pub fn backprop(&mut self, e: &[f64]) -> Result<(), NnError> {
        let kb = self.problem.mlp.outputs() * self.ws.b;
        MlpProblem::check_len("output vector", e, kb)?;
        self.problem.prepare_tangent(&mut self.ws);
        self.ws
            .layers
            .last_mut()
            .expect("a layer")
            .rda
            .copy_from_slice(e);
        self.problem
            .backward(&mut self.ws, self.params, Slot::Tangent, None);
        self.slot = Some(Slot::Tangent);
        Ok(())
    }

    /// Layer `l`'s back-propagated signal `∂(·)/∂z_l` (`n_l × B`) of the
    /// last [`backprop_gradient`](Self::backprop_gradient) or
    /// [`backprop`](Self::backprop).
    ///
    /// # Panics
    /// If `l` is not a layer index, or nothing was back-propagated yet.
    #[track_caller]
    pub fn signal(&self, l: usize) -> &[f64] {
        let mlp = self.problem.mlp;
        let m = mlp.weights_range(l).1.0;
        let lw = &self.ws.layers[l];
        let bn = mlp.layers[l].batch_norm;
        let s = match self.slot {
            Some(Slot::Primal) if bn => &lw.dz,
            Some(Slot::Primal) => &lw.dy,
            Some(Slot::Tangent) if bn => &lw.rdz,
            Some(Slot::Tangent) => &lw.rdy,
            None => panic!("LayerPass::signal({l}) before any backprop"),
        };
        &s[..m * self.ws.b]
    }

    /// The Jacobian-vector product `J v` (`n_L × B`): the directional
    /// derivative of the outputs along `v`, by one forward R pass.
    ///
    /// Errors: `v` of the wrong length.
    pub fn jac_vec(&mut self, v: &[f64]) -> Result<&[f64], NnError> {
        let mlp = self.problem.mlp;
        MlpProblem::check_len("v", v, mlp.num_params)?;
        self.problem.prepare_tangent(&mut self.ws);
        self.problem.r_forward(&mut self.ws, self.params, v);
        let skip = mlp.layers.last().is_some_and(|l| l.skip);
        let kb = mlp.outputs() * self.ws.b;
        Ok(&self.ws.layers.last().expect("a layer").rout(skip)[..kb])
    }

    /// `out = (1/B) H_L u` for `u` of shape `n_L × B`: the Hessian of the
    /// batch objective with respect to the outputs `o` (block diagonal over
    /// the examples; [`Loss`](crate::nn::Loss)), applied to `u`.
    ///
    /// Errors: `u` or `out` of the wrong length.
    pub fn output_hess_vec(&self, u: &[f64], out: &mut [f64]) -> Result<(), NnError> {
        let mlp = self.problem.mlp;
        let (k, b) = (mlp.outputs(), self.ws.b);
        MlpProblem::check_len("u", u, k * b)?;
        MlpProblem::check_len("out", out, k * b)?;
        mlp.loss
            .hess_vec(k, &self.ws.p, self.targets(), u, 1.0 / b as f64, out);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::nn::{Activation, Dataset, Init, Layer, Loss, Mlp};

    /// `signal(l) input(l)ᵀ` is the weight gradient and `signal(l) 1` the
    /// bias gradient, for plain, skip and batch-normalized layers (the last
    /// through `∂f/∂z`); after a tangent backprop of `e`, the same products
    /// are `Jᵀ e` (`jac_t_vec_batch`).
    #[test]
    fn signals_times_inputs_are_the_gradients() {
        let data = Dataset::two_spirals(30, 0.1, 2).unwrap();
        let nets = [
            Mlp::new(&[2, 6, 4, 2], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap(),
            Mlp::from_layers(
                2,
                vec![
                    Layer::new(5, Activation::Softplus),
                    Layer::new(5, Activation::Tanh).with_skip(),
                    Layer::new(2, Activation::Identity),
                ],
                Loss::MeanSquaredError,
            )
            .unwrap(),
            Mlp::from_layers(
                2,
                vec![
                    Layer::new(4, Activation::Tanh).with_batch_norm(),
                    Layer::new(2, Activation::Identity),
                ],
                Loss::LogisticCrossEntropy,
            )
            .unwrap(),
        ];
        let batch = [3, 1, 4, 15, 9, 2, 6];
        let b = batch.len();
        for mlp in &nets {
            let problem = mlp.problem(&data).unwrap();
            let x = mlp.init(Init::Glorot, 5);
            let n = mlp.num_params();
            let mut grad = vec![0.0; n];
            problem.value_grad_batch(&x, &batch, &mut grad).unwrap();
            let e: Vec<f64> = (0..mlp.outputs() * b)
                .map(|i| ((i * 7 % 5) as f64 - 2.0) / 3.0)
                .collect();
            let mut jte = vec![0.0; n];
            problem.jac_t_vec_batch(&x, &batch, &e, &mut jte).unwrap();
            let f = problem.value_batch(&x, &batch).unwrap();
            let mut pass = problem.layer_pass(&x, &batch).unwrap();
            assert_eq!(pass.value().to_bits(), f.to_bits());
            for (tangent, want) in [(false, &grad), (true, &jte)] {
                if tangent {
                    pass.backprop(&e).unwrap();
                } else {
                    pass.backprop_gradient();
                }
                for l in 0..pass.num_layers() {
                    let (wr, (m, k)) = mlp.weights_range(l);
                    let (d, a) = (pass.signal(l), pass.input(l));
                    for c in 0..k {
                        for r in 0..m {
                            let dw: f64 = (0..b).map(|i| d[i * m + r] * a[i * k + c]).sum();
                            let w = want[wr.start + c * m + r];
                            assert!((dw - w).abs() < 1e-12 * (1.0 + w.abs()), "layer {l}");
                        }
                    }
                    if mlp.gamma_range(l).is_none() {
                        for r in 0..m {
                            let db: f64 = (0..b).map(|i| d[i * m + r]).sum();
                            let w = want[mlp.bias_range(l).start + r];
                            assert!((db - w).abs() < 1e-12 * (1.0 + w.abs()));
                        }
                    }
                }
            }
            assert!(pass.backprop(&e[1..]).is_err());
        }
    }

    /// `jac_vec` and `output_hess_vec` agree with `jac_vec_batch` and with
    /// the Gauss-Newton product: `vᵀ G v = (J v)ᵀ (1/B) H_L (J v)`.
    #[test]
    fn output_space_products() {
        let data = Dataset::two_spirals(30, 0.1, 2).unwrap();
        let mlp = Mlp::new(&[2, 6, 2], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
        let problem = mlp.problem(&data).unwrap();
        let x = mlp.init(Init::Glorot, 1);
        let v: Vec<f64> = (0..mlp.num_params())
            .map(|i| (i as f64 * 0.37).sin())
            .collect();
        let batch = [0, 2, 8, 21];
        let mut jv = vec![0.0; 2 * batch.len()];
        problem.jac_vec_batch(&x, &batch, &v, &mut jv).unwrap();
        let mut gv = vec![0.0; mlp.num_params()];
        problem
            .gauss_newton_vec_batch(&x, &batch, &v, &mut gv)
            .unwrap();
        let vgv: f64 = v.iter().zip(&gv).map(|(a, b)| a * b).sum();
        let mut pass = problem.layer_pass(&x, &batch).unwrap();
        let got = pass.jac_vec(&v).unwrap().to_vec();
        assert_eq!(got, jv);
        let mut hjv = vec![0.0; got.len()];
        pass.output_hess_vec(&got, &mut hjv).unwrap();
        let quad: f64 = got.iter().zip(&hjv).map(|(a, b)| a * b).sum();
        assert!((quad - vgv).abs() < 1e-12 * (1.0 + vgv.abs()));
        assert!(pass.jac_vec(&v[1..]).is_err());
        assert!(pass.output_hess_vec(&got[1..], &mut hjv).is_err());
    }
}
