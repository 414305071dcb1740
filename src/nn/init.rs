//! Weight and bias initialization, seeded (ChaCha8).
//!
//! For a layer `W` of `m = n_{l−1}` inputs and `n = n_l` outputs:
//!
//! | [`Init`] | distribution | source |
//! |---|---|---|
//! | `Uniform` | `U(−1/√m, 1/√m)` | Goodfellow, Bengio & Courville (2016) §8.4 |
//! | `Glorot` | `U(−√6/√(m+n), √6/√(m+n))`, variance `2/(m+n)` | Glorot & Bengio (2010) eq. (16) |
//! | `Orthogonal` | `gain · Q`, `Q` with orthonormal rows or columns | Saxe, McClelland & Ganguli (2013) |
//! | `Sparse` | `k` non-zero `N(0, 1)` incoming weights per unit | Martens (2010) §5, `k = 15` |
//! | `He` | `N(0, 2/m)` | He, Zhang, Ren & Sun (2015) eq. (10) |
//!
//! The seeds write the normalized initialization as `U(−6/√(m+n), 6/√(m+n))`:
//! a transcription of the paper's `√6/√(m+n)`, which is what is used here.
//!
//! Biases follow [`BiasInit`]; batch-norm scales `γ` start at 1 and shifts `β`
//! at 0. [`Mlp::set_output_bias_from_data`] sets the output bias so that the
//! untrained network predicts the class frequencies (softmax(b) = frequencies)
//! or the mean target (logistic outputs).

use nalgebra::DMatrix;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::data::normal;
use super::{Dataset, Loss, Mlp, NnError};

/// How weights are drawn. See the module docs for formulas and sources.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Init {
    /// `U(−1/√m, 1/√m)` with `m` the fan-in.
    Uniform,
    /// Normalized initialization `U(±√6/√(m+n))` (Glorot & Bengio 2010).
    Glorot,
    /// A random orthogonal matrix times `gain` (Saxe et al. 2013; gain 1 for
    /// linear and tanh units).
    Orthogonal {
        /// Scale of the orthogonal matrix.
        gain: f64,
    },
    /// `k` non-zero incoming weights per unit from `N(0, 1)`, the rest zero
    /// (Martens 2010 uses `k = 15`).
    Sparse {
        /// Non-zero incoming weights per unit (all when the fan-in is smaller).
        k: usize,
    },
    /// `N(0, 2/m)` (He et al. 2015), for ReLU units.
    He,
}

/// How biases start.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum BiasInit {
    /// All zero.
    Zero,
    /// Hidden biases at a constant (e.g. 0.1 for ReLU units, so they start
    /// active: Goodfellow et al. 2016 §8.4), the output bias at 0.
    Hidden(f64),
}

impl Init {
    /// Fills `w` (`n × m` column-major, `n` units with fan-in `m`).
    fn fill(self, w: &mut [f64], n: usize, m: usize, rng: &mut ChaCha8Rng) {
        match self {
            Init::Uniform => {
                let a = 1.0 / (m as f64).sqrt();
                w.iter_mut().for_each(|x| *x = rng.random_range(-a..a));
            }
            Init::Glorot => {
                let a = 6f64.sqrt() / ((m + n) as f64).sqrt();
                w.iter_mut().for_each(|x| *x = rng.random_range(-a..a));
            }
            Init::He => {
                let s = (2.0 / m as f64).sqrt();
                w.iter_mut().for_each(|x| *x = s * normal(rng));
            }
            Init::Sparse { k } => {
                w.fill(0.0);
                let mut cols: Vec<usize> = (0..m).collect();
                for i in 0..n {
                    // A fresh random subset of k inputs for unit i.
                    let k = k.min(m);
                    for j in 0..k {
                        let pick = rng.random_range(j..m);
                        cols.swap(j, pick);
                    }
                    for &j in &cols[..k] {
                        w[j * n + i] = normal(rng);
                    }
                }
            }
            Init::Orthogonal { gain } => {
                // QR of a Gaussian matrix, with the signs of diag(R) folded
                // into Q so that Q is Haar-distributed (Mezzadri 2007).
                let (r, c) = (n.max(m), n.min(m));
                let g = DMatrix::from_fn(r, c, |_, _| normal(rng));
                let qr = g.qr();
                let mut q = qr.q();
                let rr = qr.r();
                for j in 0..c {
                    if rr[(j, j)] < 0.0 {
                        q.column_mut(j).neg_mut();
                    }
                }
                // q is r × c with orthonormal columns; W is n × m.
                for jj in 0..m {
                    for i in 0..n {
                        w[jj * n + i] = gain * if n >= m { q[(i, jj)] } else { q[(jj, i)] };
                    }
                }
            }
        }
    }
}

impl Mlp {
    /// Initial parameters: weights from `init`, zero biases, `γ = 1`, `β = 0`.
    ///
    /// ```
    /// use hesse::nn::{Activation, Init, Loss, Mlp};
    /// let mlp = Mlp::new(&[100, 50, 10], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
    /// let p = mlp.init(Init::Glorot, 7);
    /// assert_eq!(p, mlp.init(Init::Glorot, 7)); // seeded
    /// let bound = 6f64.sqrt() / 150f64.sqrt();
    /// assert!(mlp.weights(&p, 0).iter().all(|w| w.abs() <= bound));
    /// ```
    pub fn init(&self, init: Init, seed: u64) -> Vec<f64> {
        self.init_with(init, BiasInit::Zero, seed)
    }

    /// Initial parameters with a choice of bias.
    pub fn init_with(&self, init: Init, bias: BiasInit, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut p = vec![0.0; self.num_params()];
        let last = self.layers().len() - 1;
        for l in 0..=last {
            let (range, (n, m)) = self.weights_range(l);
            init.fill(&mut p[range], n, m, &mut rng);
            let b = match bias {
                BiasInit::Hidden(c) if l < last => c,
                _ => 0.0,
            };
            if let Some(g) = self.gamma_range(l) {
                p[g].fill(1.0);
            } else {
                p[self.bias_range(l)].fill(b);
            }
        }
        p
    }

    /// Sets the output layer's bias so that the network with zero output
    /// weights predicts the training targets' mean: `b = log(frequency)` for
    /// softmax cross-entropy (so `softmax(b)` is the class frequencies),
    /// `b = logit(mean)` for logistic outputs, `b = mean` for squared error.
    pub fn set_output_bias_from_data(
        &self,
        params: &mut [f64],
        data: &Dataset,
    ) -> Result<(), NnError> {
        let k = self.outputs();
        if data.target_dim() != k {
            return Err(NnError::Shape {
                what: "target width",
                got: data.target_dim(),
                expected: k,
            });
        }
        if params.len() != self.num_params() {
            return Err(NnError::Length {
                what: "params",
                got: params.len(),
                expected: self.num_params(),
            });
        }
        if data.is_empty() {
            return Err(NnError::EmptyBatch);
        }
        let mut mean = vec![0.0; k];
        let n = data.len() as f64;
        for t in data.targets().chunks_exact(k) {
            mean.iter_mut().zip(t).for_each(|(m, &v)| *m += v / n);
        }
        let clamp = |v: f64| v.clamp(1e-6, 1.0 - 1e-6);
        let last = self.layers().len() - 1;
        let b = &mut params[self.bias_range(last)];
        for (bi, &m) in b.iter_mut().zip(&mean) {
            *bi = match self.loss() {
                Loss::SoftmaxCrossEntropy => clamp(m).ln(),
                Loss::LogisticCrossEntropy => (clamp(m) / (1.0 - clamp(m))).ln(),
                Loss::MeanSquaredError => m,
            };
        }
        Ok(())
    }
}
