//! An [`Mlp`] bound to a [`Dataset`]: the objective and its products on the
//! full data set or a minibatch, and the [`problem`](crate::problem) traits.

use std::sync::{Mutex, MutexGuard};

use super::Mlp;
use super::workspace::{Slot, Workspace};
use crate::nn::batchnorm::BatchNormStats;
use crate::nn::{Dataset, NnError};
use crate::problem::{GaussNewtonVec, Gradient, HessVec, Objective};

/// An [`Mlp`] bound to a [`Dataset`]: the objective
/// `f(θ) = (1/N) Σ ℓ(o(xᵢ; θ), tᵢ) + (λ/2) Σ ‖W_l‖²` over all `N` examples,
/// with every product on the full batch through the [`problem`](crate::problem)
/// traits ([`Gradient`], [`HessVec`], [`GaussNewtonVec`]) and on any minibatch
/// through the `*_batch` methods.
///
/// # Minibatch API
/// `batch` is a slice of example indices (repeats allowed); the objective on
/// it is the mean over those examples (plus the decay term). The `*_batch`
/// methods return `Err` on a wrong vector length, an empty batch or an index
/// out of range. The trait methods (full batch) return NaN, and fill their
/// output with NaN, on a wrong `params` length instead.
///
/// Per-layer inputs and back-propagated signals, for curvature statistics,
/// come from [`layer_pass`](Self::layer_pass).
///
/// ```
/// use hesse::nn::{Activation, Dataset, Init, Loss, Mlp};
/// let data = Dataset::two_spirals(50, 0.0, 1).unwrap();
/// let mlp = Mlp::new(&[2, 6, 2], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
/// let problem = mlp.problem(&data).unwrap();
/// let params = mlp.init(Init::Glorot, 3);
/// let mut grad = vec![0.0; mlp.num_params()];
/// let f = problem.value_grad_batch(&params, &[0, 5, 17], &mut grad).unwrap();
/// assert!(f > 0.0 && grad.iter().any(|g| *g != 0.0));
/// assert!(problem.value_grad_batch(&params, &[1000], &mut grad).is_err());
/// ```
///
/// Evaluations lock an internal workspace (a `Mutex`), so a problem can be
/// shared between threads but evaluates one call at a time.
pub struct MlpProblem<'a> {
    pub(super) mlp: &'a Mlp,
    pub(super) data: &'a Dataset,
    pub(super) work: Mutex<Workspace>,
}

impl<'a> MlpProblem<'a> {
    /// The network.
    pub fn mlp(&self) -> &'a Mlp {
        self.mlp
    }

    /// The data set.
    pub fn data(&self) -> &'a Dataset {
        self.data
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Workspace> {
        self.work.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn check_len(what: &'static str, v: &[f64], expected: usize) -> Result<(), NnError> {
        if v.len() != expected {
            return Err(NnError::Length {
                what,
                got: v.len(),
                expected,
            });
        }
        Ok(())
    }
}

/// # Evaluations on the full data set or a minibatch
impl MlpProblem<'_> {
    fn value_impl(&self, params: &[f64], batch: Option<&[usize]>) -> Result<f64, NnError> {
        let mut ws = self.lock();
        self.prepare(&mut ws, params, batch)?;
        self.forward(&mut ws, params);
        Ok(self.value_from(&ws, params))
    }

    fn value_grad_impl(
        &self,
        params: &[f64],
        batch: Option<&[usize]>,
        grad: &mut [f64],
    ) -> Result<f64, NnError> {
        Self::check_len("grad", grad, self.mlp.num_params)?;
        let mut ws = self.lock();
        self.prepare(&mut ws, params, batch)?;
        self.forward(&mut ws, params);
        self.gradient(&mut ws, params, Some(grad));
        self.mlp.add_decay(params, grad);
        Ok(self.value_from(&ws, params))
    }

    fn hess_vec_impl(
        &self,
        params: &[f64],
        batch: Option<&[usize]>,
        v: &[f64],
        hv: &mut [f64],
    ) -> Result<(), NnError> {
        let n = self.mlp.num_params;
        Self::check_len("v", v, n)?;
        Self::check_len("hv", hv, n)?;
        let mut ws = self.lock();
        self.prepare(&mut ws, params, batch)?;
        self.prepare_tangent(&mut ws);
        self.forward(&mut ws, params);
        self.gradient(&mut ws, params, None);
        self.r_forward(&mut ws, params, v);
        self.loss_curvature(&mut ws);
        self.r_backward(&mut ws, params, v, hv);
        self.mlp.add_decay(v, hv);
        Ok(())
    }

    fn gauss_newton_vec_impl(
        &self,
        params: &[f64],
        batch: Option<&[usize]>,
        v: &[f64],
        gv: &mut [f64],
    ) -> Result<(), NnError> {
        let n = self.mlp.num_params;
        Self::check_len("v", v, n)?;
        Self::check_len("gv", gv, n)?;
        let mut ws = self.lock();
        self.prepare(&mut ws, params, batch)?;
        self.prepare_tangent(&mut ws);
        self.forward(&mut ws, params);
        self.r_forward(&mut ws, params, v);
        self.loss_curvature(&mut ws);
        self.backward(&mut ws, params, Slot::Tangent, Some(gv));
        self.mlp.add_decay(v, gv);
        Ok(())
    }

    fn jac_vec_impl(
        &self,
        params: &[f64],
        batch: Option<&[usize]>,
        v: &[f64],
        jv: &mut [f64],
    ) -> Result<(), NnError> {
        Self::check_len("v", v, self.mlp.num_params)?;
        let mut ws = self.lock();
        self.prepare(&mut ws, params, batch)?;
        Self::check_len("jv", jv, self.mlp.outputs() * ws.b)?;
        self.prepare_tangent(&mut ws);
        self.forward(&mut ws, params);
        self.r_forward(&mut ws, params, v);
        let skip = self.mlp.layers.last().is_some_and(|l| l.skip);
        jv.copy_from_slice(ws.layers.last().expect("a layer").rout(skip));
        Ok(())
    }

    fn jac_t_vec_impl(
        &self,
        params: &[f64],
        batch: Option<&[usize]>,
        u: &[f64],
        out: &mut [f64],
    ) -> Result<(), NnError> {
        Self::check_len("out", out, self.mlp.num_params)?;
        let mut ws = self.lock();
        self.prepare(&mut ws, params, batch)?;
        Self::check_len("u", u, self.mlp.outputs() * ws.b)?;
        self.prepare_tangent(&mut ws);
        self.forward(&mut ws, params);
        ws.layers
            .last_mut()
            .expect("a layer")
            .rda
            .copy_from_slice(u);
        self.backward(&mut ws, params, Slot::Tangent, Some(out));
        Ok(())
    }

    fn stats_impl(
        &self,
        params: &[f64],
        batch: Option<&[usize]>,
    ) -> Result<BatchNormStats, NnError> {
        let mut ws = self.lock();
        self.prepare(&mut ws, params, batch)?;
        self.forward(&mut ws, params);
        let delta = self.mlp.bn_delta;
        let mut stats = BatchNormStats::default();
        for (lw, layer) in ws.layers.iter().zip(&self.mlp.layers) {
            if layer.batch_norm {
                stats.mean.push(lw.mean.clone());
                stats
                    .var
                    .push(lw.s.iter().map(|s| (s * s - delta).max(0.0)).collect());
            } else {
                stats.mean.push(Vec::new());
                stats.var.push(Vec::new());
            }
        }
        Ok(stats)
    }

    /// `f` on the examples `batch`.
    pub fn value_batch(&self, params: &[f64], batch: &[usize]) -> Result<f64, NnError> {
        self.value_impl(params, Some(batch))
    }

    /// [`value_batch`](Self::value_batch) at a point that no later call
    /// evaluates again (a trial step): the same value, bit for bit, but on a
    /// miss the parameters are not kept as the cache key, which saves copying
    /// them (and, in the next call, comparing against them).
    pub(crate) fn value_batch_once(&self, params: &[f64], batch: &[usize]) -> Result<f64, NnError> {
        let mut ws = self.lock();
        self.prepare_keyed(&mut ws, params, Some(batch), false)?;
        self.forward(&mut ws, params);
        Ok(self.value_from(&ws, params))
    }

    /// Writes `∇f` on the examples `batch` into `grad` and returns `f` there:
    /// one forward and one backward pass. The primitive of stochastic methods.
    pub fn value_grad_batch(
        &self,
        params: &[f64],
        batch: &[usize],
        grad: &mut [f64],
    ) -> Result<f64, NnError> {
        self.value_grad_impl(params, Some(batch), grad)
    }

    /// Writes the Hessian-vector product `∇²f v` on `batch` into `hv`
    /// (R-operator, Pearlmutter 1994; exact).
    pub fn hess_vec_batch(
        &self,
        params: &[f64],
        batch: &[usize],
        v: &[f64],
        hv: &mut [f64],
    ) -> Result<(), NnError> {
        self.hess_vec_impl(params, Some(batch), v, hv)
    }

    /// Writes the generalized Gauss-Newton product
    /// `G v = (1/B) Σ Jᵢᵀ H_L Jᵢ v + λ V` on `batch` into `gv` (Schraudolph 2002).
    pub fn gauss_newton_vec_batch(
        &self,
        params: &[f64],
        batch: &[usize],
        v: &[f64],
        gv: &mut [f64],
    ) -> Result<(), NnError> {
        self.gauss_newton_vec_impl(params, Some(batch), v, gv)
    }

    /// Writes `J v` into `jv`: the directional derivative of the network
    /// outputs, `n_L × B` column-major (one column per example of `batch`).
    pub fn jac_vec_batch(
        &self,
        params: &[f64],
        batch: &[usize],
        v: &[f64],
        jv: &mut [f64],
    ) -> Result<(), NnError> {
        self.jac_vec_impl(params, Some(batch), v, jv)
    }

    /// Writes `Jᵀ u` into `out` for `u` of shape `n_L × B` (column-major):
    /// backpropagation of `u` from the outputs of `batch`, without the `1/B`
    /// of the objective and without decay.
    pub fn jac_t_vec_batch(
        &self,
        params: &[f64],
        batch: &[usize],
        u: &[f64],
        out: &mut [f64],
    ) -> Result<(), NnError> {
        self.jac_t_vec_impl(params, Some(batch), u, out)
    }

    /// `J v` on the full data set (`n_L × N`).
    pub fn jac_vec(&self, params: &[f64], v: &[f64], jv: &mut [f64]) -> Result<(), NnError> {
        self.jac_vec_impl(params, None, v, jv)
    }

    /// `Jᵀ u` on the full data set (`u` is `n_L × N`).
    pub fn jac_t_vec(&self, params: &[f64], u: &[f64], out: &mut [f64]) -> Result<(), NnError> {
        self.jac_t_vec_impl(params, None, u, out)
    }

    /// Batch-norm statistics (mean and variance of each normalized unit) of
    /// the examples `batch`, or of the whole data set with `None`: the
    /// population statistics for [`Mlp::predict`] (Ioffe & Szegedy 2015,
    /// Algorithm 2), or one term of a running average
    /// ([`BatchNormStats::update`]).
    pub fn batch_norm_stats(
        &self,
        params: &[f64],
        batch: Option<&[usize]>,
    ) -> Result<BatchNormStats, NnError> {
        self.stats_impl(params, batch)
    }
}

fn fill_nan(out: &mut [f64]) {
    out.fill(f64::NAN);
}

impl Objective for MlpProblem<'_> {
    fn dim(&self) -> usize {
        self.mlp.num_params
    }

    fn value(&self, x: &[f64]) -> f64 {
        self.value_impl(x, None).unwrap_or(f64::NAN)
    }
}

impl Gradient for MlpProblem<'_> {
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        self.value_grad_impl(x, None, g).unwrap_or_else(|_| {
            fill_nan(g);
            f64::NAN
        })
    }
}

impl HessVec for MlpProblem<'_> {
    fn hess_vec(&self, x: &[f64], v: &[f64], hv: &mut [f64]) {
        if self.hess_vec_impl(x, None, v, hv).is_err() {
            fill_nan(hv);
        }
    }
}

impl GaussNewtonVec for MlpProblem<'_> {
    fn gauss_newton_vec(&self, x: &[f64], v: &[f64], gv: &mut [f64]) {
        if self.gauss_newton_vec_impl(x, None, v, gv).is_err() {
            fill_nan(gv);
        }
    }
}

/// An [`MlpProblem`] restricted to a fixed minibatch, as a problem of its own:
/// the objective on those examples through the [`problem`](crate::problem)
/// traits, so a deterministic solver (or the curvature minibatch of
/// Hessian-free optimization, Martens 2010 §4.3) can work on it. Made by
/// [`MlpProblem::on_batch`], which checks the indices once.
pub struct MlpBatch<'p, 'a> {
    problem: &'p MlpProblem<'a>,
    batch: &'p [usize],
}

impl<'a> MlpProblem<'a> {
    /// The objective on the examples `batch` as a problem.
    ///
    /// ```
    /// use hesse::nn::{Activation, Dataset, Init, Loss, Mlp};
    /// use hesse::prelude::*;
    /// let data = Dataset::two_spirals(20, 0.0, 1).unwrap();
    /// let mlp = Mlp::new(&[2, 4, 2], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
    /// let problem = mlp.problem(&data).unwrap();
    /// let batch = [0, 3, 5];
    /// let sub = problem.on_batch(&batch).unwrap();
    /// let x = mlp.init(Init::Glorot, 0);
    /// assert_eq!(sub.value(&x), problem.value_batch(&x, &batch).unwrap());
    /// assert!(problem.on_batch(&[99]).is_err());
    /// ```
    pub fn on_batch<'p>(&'p self, batch: &'p [usize]) -> Result<MlpBatch<'p, 'a>, NnError> {
        let n = self.data.len();
        if batch.is_empty() {
            return Err(NnError::EmptyBatch);
        }
        if let Some(&bad) = batch.iter().find(|&&i| i >= n) {
            return Err(NnError::BatchIndex { index: bad, len: n });
        }
        Ok(MlpBatch {
            problem: self,
            batch,
        })
    }
}

impl Objective for MlpBatch<'_, '_> {
    fn dim(&self) -> usize {
        self.problem.mlp.num_params
    }

    fn value(&self, x: &[f64]) -> f64 {
        self.problem
            .value_impl(x, Some(self.batch))
            .unwrap_or(f64::NAN)
    }
}

impl Gradient for MlpBatch<'_, '_> {
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        self.problem
            .value_grad_impl(x, Some(self.batch), g)
            .unwrap_or_else(|_| {
                fill_nan(g);
                f64::NAN
            })
    }
}

impl HessVec for MlpBatch<'_, '_> {
    fn hess_vec(&self, x: &[f64], v: &[f64], hv: &mut [f64]) {
        if self
            .problem
            .hess_vec_impl(x, Some(self.batch), v, hv)
            .is_err()
        {
            fill_nan(hv);
        }
    }
}

impl GaussNewtonVec for MlpBatch<'_, '_> {
    fn gauss_newton_vec(&self, x: &[f64], v: &[f64], gv: &mut [f64]) {
        if self
            .problem
            .gauss_newton_vec_impl(x, Some(self.batch), v, gv)
            .is_err()
        {
            fill_nan(gv);
        }
    }
}
