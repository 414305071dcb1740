//! Data sets: inputs and targets as columns, minibatches, splits, and the
//! embedded and generated sets the tests and examples train on.
//!
//! A [`Dataset`] holds `N` examples as the columns of a `d × N` input matrix
//! and a `k × N` target matrix (column-major, so each example is contiguous
//! and a minibatch is gathered by copying columns). Classification targets are
//! one-hot.

use std::io::Read;
use std::path::{Path, PathBuf};

use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::idx::read_idx;
use super::{Activation, Init, Loss, Mlp, NnError};

/// Inputs and targets of `N` examples, one column each.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    dim: usize,
    target_dim: usize,
    inputs: Vec<f64>,
    targets: Vec<f64>,
}

/// A standard normal sample (Box-Muller), from the given stream.
pub(crate) fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1]
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

impl Dataset {
    /// A data set from `inputs` (`dim × N`, column-major) and `targets`
    /// (`target_dim × N`).
    ///
    /// ```
    /// use hesse::nn::Dataset;
    /// let d = Dataset::new(2, 1, vec![0.0, 1.0, 2.0, 3.0], vec![5.0, 6.0]).unwrap();
    /// assert_eq!(d.len(), 2);
    /// assert_eq!(d.input(1), &[2.0, 3.0]);
    /// assert!(Dataset::new(2, 1, vec![0.0; 4], vec![5.0; 3]).is_err());
    /// ```
    pub fn new(
        dim: usize,
        target_dim: usize,
        inputs: Vec<f64>,
        targets: Vec<f64>,
    ) -> Result<Self, NnError> {
        if dim == 0 || target_dim == 0 {
            return Err(NnError::Architecture(
                "a data set needs at least one input and one target".into(),
            ));
        }
        if !inputs.len().is_multiple_of(dim) {
            return Err(NnError::Length {
                what: "inputs",
                got: inputs.len(),
                expected: dim * inputs.len().div_ceil(dim),
            });
        }
        let n = inputs.len() / dim;
        if targets.len() != target_dim * n {
            return Err(NnError::Length {
                what: "targets",
                got: targets.len(),
                expected: target_dim * n,
            });
        }
        Ok(Self {
            dim,
            target_dim,
            inputs,
            targets,
        })
    }

    /// A classification set: integer labels in `0..classes` become one-hot
    /// targets.
    pub fn from_labels(
        dim: usize,
        inputs: Vec<f64>,
        labels: &[usize],
        classes: usize,
    ) -> Result<Self, NnError> {
        if let Some(&bad) = labels.iter().find(|&&c| c >= classes) {
            return Err(NnError::Architecture(format!(
                "label {bad} is not below the number of classes {classes}"
            )));
        }
        let mut targets = vec![0.0; classes * labels.len()];
        for (j, &c) in labels.iter().enumerate() {
            targets[j * classes + c] = 1.0;
        }
        Self::new(dim, classes, inputs, targets)
    }

    /// Number of examples `N`.
    pub fn len(&self) -> usize {
        self.inputs.len() / self.dim
    }

    /// Whether there are no examples.
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }

    /// Input width `d`.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Target width `k`.
    pub fn target_dim(&self) -> usize {
        self.target_dim
    }

    /// All inputs, `d × N` column-major.
    pub fn inputs(&self) -> &[f64] {
        &self.inputs
    }

    /// All targets, `k × N` column-major.
    pub fn targets(&self) -> &[f64] {
        &self.targets
    }

    /// Example `i`'s input.
    ///
    /// # Panics
    /// If `i ≥` [`len`](Dataset::len); the message gives both numbers.
    #[track_caller]
    pub fn input(&self, i: usize) -> &[f64] {
        self.check_example(i);
        &self.inputs[i * self.dim..(i + 1) * self.dim]
    }

    /// Example `i`'s target.
    ///
    /// # Panics
    /// If `i ≥` [`len`](Dataset::len); the message gives both numbers.
    #[track_caller]
    pub fn target(&self, i: usize) -> &[f64] {
        self.check_example(i);
        &self.targets[i * self.target_dim..(i + 1) * self.target_dim]
    }

    #[track_caller]
    fn check_example(&self, i: usize) {
        assert!(
            i < self.len(),
            "example index {i} out of range: the data set has {} examples",
            self.len()
        );
    }

    /// The class of each example: the position of its largest target.
    pub fn labels(&self) -> Vec<usize> {
        self.targets
            .chunks_exact(self.target_dim)
            .map(|t| {
                t.iter()
                    .enumerate()
                    .fold(
                        (0, f64::NEG_INFINITY),
                        |b, (i, &v)| if v > b.1 { (i, v) } else { b },
                    )
                    .0
            })
            .collect()
    }

    /// The examples at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> Result<Self, NnError> {
        let n = self.len();
        if let Some(&bad) = indices.iter().find(|&&i| i >= n) {
            return Err(NnError::BatchIndex { index: bad, len: n });
        }
        let mut inputs = Vec::with_capacity(indices.len() * self.dim);
        let mut targets = Vec::with_capacity(indices.len() * self.target_dim);
        for &i in indices {
            inputs.extend_from_slice(self.input(i));
            targets.extend_from_slice(self.target(i));
        }
        Self::new(self.dim, self.target_dim, inputs, targets)
    }

    /// A seeded random split into `(train, validation)` with
    /// `round(N · validation_fraction)` validation examples.
    ///
    /// ```
    /// use hesse::nn::Dataset;
    /// let digits = Dataset::digits().unwrap();
    /// let (train, val) = digits.split(0.25, 0).unwrap();
    /// assert_eq!(train.len() + val.len(), 1797);
    /// assert_eq!(val.len(), 449);
    /// ```
    pub fn split(&self, validation_fraction: f64, seed: u64) -> Result<(Self, Self), NnError> {
        if !(0.0..1.0).contains(&validation_fraction) {
            return Err(NnError::InvalidOption {
                name: "validation_fraction",
                value: validation_fraction,
                expected: "in [0, 1)",
            });
        }
        let n = self.len();
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
        let n_val = (n as f64 * validation_fraction).round() as usize;
        let (val, train) = order.split_at(n_val);
        Ok((self.subset(train)?, self.subset(val)?))
    }

    /// Per-feature mean and standard deviation of the inputs (a constant
    /// feature gets standard deviation 1, so standardizing leaves it at 0).
    pub fn input_moments(&self) -> (Vec<f64>, Vec<f64>) {
        let (d, n) = (self.dim, self.len().max(1) as f64);
        let mut mean = vec![0.0; d];
        for col in self.inputs.chunks_exact(d) {
            mean.iter_mut().zip(col).for_each(|(m, &x)| *m += x / n);
        }
        let mut var = vec![0.0; d];
        for col in self.inputs.chunks_exact(d) {
            for ((v, &x), &m) in var.iter_mut().zip(col).zip(&mean) {
                *v += (x - m) * (x - m) / n;
            }
        }
        let std = var
            .into_iter()
            .map(|v| if v > 1e-24 { v.sqrt() } else { 1.0 })
            .collect();
        (mean, std)
    }

    /// The smallest and largest input value over every example and feature
    /// (`(0, 1)` for an empty set).
    pub fn input_range(&self) -> (f64, f64) {
        if self.inputs.is_empty() {
            return (0.0, 1.0);
        }
        self.inputs
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
                (lo.min(x), hi.max(x))
            })
    }

    /// An autoencoder's set (inputs → inputs, Hinton & Salakhutdinov 2006):
    /// this set's inputs (standardized, say), and as targets `raw`'s inputs
    /// mapped from `range` (a training set's [`input_range`](Self::input_range))
    /// into `[0, 1]` and clamped there, so that a logistic output layer can
    /// fit them. `raw` is the same examples as `self` before any transform.
    ///
    /// ```
    /// use hesse::nn::Dataset;
    /// let raw = Dataset::new(2, 1, vec![0.0, 8.0, 16.0, 4.0], vec![0.0, 1.0]).unwrap();
    /// let ae = raw.autoencoder(&raw, raw.input_range()).unwrap();
    /// assert_eq!(ae.targets(), &[0.0, 0.5, 1.0, 0.25]);
    /// ```
    pub fn autoencoder(&self, raw: &Dataset, range: (f64, f64)) -> Result<Dataset, NnError> {
        if raw.dim != self.dim || raw.len() != self.len() {
            return Err(NnError::Length {
                what: "raw inputs",
                got: raw.inputs.len(),
                expected: self.inputs.len(),
            });
        }
        let (lo, hi) = range;
        let span = if hi > lo { hi - lo } else { 1.0 };
        let targets = raw
            .inputs
            .iter()
            .map(|&x| ((x - lo) / span).clamp(0.0, 1.0))
            .collect();
        Dataset::new(self.dim, self.dim, self.inputs.clone(), targets)
    }

    /// Standardizes the inputs in place, `x ← (x − mean)/std`, with moments
    /// from [`input_moments`](Dataset::input_moments) of a training set (apply
    /// the training set's moments to its validation set too).
    pub fn standardize(&mut self, mean: &[f64], std: &[f64]) -> Result<(), NnError> {
        for (what, v) in [("mean", mean), ("std", std)] {
            if v.len() != self.dim {
                return Err(NnError::Length {
                    what,
                    got: v.len(),
                    expected: self.dim,
                });
            }
        }
        for col in self.inputs.chunks_exact_mut(self.dim) {
            for ((x, &m), &s) in col.iter_mut().zip(mean).zip(std) {
                *x = (*x - m) / s;
            }
        }
        Ok(())
    }

    /// Minibatches of `batch_size` example indices, reshuffled every epoch
    /// from a seeded stream (the last batch of an epoch may be smaller).
    pub fn batches(&self, batch_size: usize, seed: u64) -> Result<Batches, NnError> {
        if batch_size == 0 {
            return Err(NnError::InvalidOption {
                name: "batch_size",
                value: 0.0,
                expected: "at least 1",
            });
        }
        Ok(Batches {
            order: (0..self.len()).collect(),
            batch_size,
            rng: ChaCha8Rng::seed_from_u64(seed),
        })
    }

    // -----------------------------------------------------------------------
    // Embedded and generated sets
    // -----------------------------------------------------------------------

    /// The UCI optical-recognition handwritten digits (Alpaydin & Kaynak
    /// 1998; scikit-learn's copy): 1797 images of 8×8 pixels in `0..=16`,
    /// scaled to `[0, 1]`, with one-hot targets over 10 classes. Embedded in
    /// the crate (`data/digits.csv.gz`, see `data/SOURCES.md`).
    pub fn digits() -> Result<Self, NnError> {
        const GZ: &[u8] = include_bytes!("../../data/digits.csv.gz");
        let name = PathBuf::from("data/digits.csv.gz");
        let bad = |reason: String| NnError::Malformed {
            path: name.clone(),
            reason,
        };
        let mut text = String::new();
        flate2::read::GzDecoder::new(GZ)
            .read_to_string(&mut text)
            .map_err(|e| bad(e.to_string()))?;
        let mut inputs = Vec::with_capacity(1797 * 64);
        let mut labels = Vec::with_capacity(1797);
        for (line_no, line) in text.lines().enumerate().skip(1) {
            let mut fields = line.split(',');
            for _ in 0..64 {
                let v: f64 = fields
                    .next()
                    .and_then(|f| f.trim().parse().ok())
                    .ok_or_else(|| bad(format!("line {}: bad pixel", line_no + 1)))?;
                inputs.push(v / 16.0);
            }
            let label: usize = fields
                .next()
                .and_then(|f| f.trim().parse().ok())
                .ok_or_else(|| bad(format!("line {}: bad label", line_no + 1)))?;
            labels.push(label);
        }
        Self::from_labels(64, inputs, &labels, 10)
    }

    /// Lang & Witbrock's two spirals (1988): `n` points per class on two
    /// interleaved spirals of three half-turns, `r = t`, `t ∈ [π/2, 3π]`, class
    /// 1 the point reflection of class 0, plus Gaussian noise of standard
    /// deviation `noise`; one-hot targets over 2 classes. Seeded.
    pub fn two_spirals(n: usize, noise: f64, seed: u64) -> Result<Self, NnError> {
        if n == 0 {
            return Err(NnError::EmptyBatch);
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut inputs = Vec::with_capacity(4 * n);
        let mut labels = Vec::with_capacity(2 * n);
        let pi = std::f64::consts::PI;
        for i in 0..n {
            let t = pi / 2.0 + 2.5 * pi * i as f64 / n.max(2).saturating_sub(1) as f64;
            let (x, y) = (t * t.cos() / pi, t * t.sin() / pi);
            for (sign, class) in [(1.0, 0), (-1.0, 1)] {
                inputs.push(sign * x + noise * normal(&mut rng));
                inputs.push(sign * y + noise * normal(&mut rng));
                labels.push(class);
            }
        }
        Self::from_labels(2, inputs, &labels, 2)
    }

    /// Teacher-network regression: `n` standard-normal inputs of width
    /// `sizes[0]` labelled by a random tanh network of widths `sizes`
    /// (Glorot-initialized, seeded), plus Gaussian noise of standard deviation
    /// `noise`. The student that matches the teacher reaches a loss of about
    /// `noise²/2` per output.
    pub fn teacher(n: usize, sizes: &[usize], noise: f64, seed: u64) -> Result<Self, NnError> {
        if n == 0 {
            return Err(NnError::EmptyBatch);
        }
        let teacher = Mlp::new(sizes, Activation::Tanh, Loss::MeanSquaredError)?;
        let params = teacher.init(Init::Glorot, seed);
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7eac_4e55);
        let inputs: Vec<f64> = (0..n * sizes[0]).map(|_| normal(&mut rng)).collect();
        let mut targets = teacher.predict(&params, &inputs, None)?;
        for t in targets.iter_mut() {
            *t += noise * normal(&mut rng);
        }
        Self::new(sizes[0], teacher.outputs(), inputs, targets)
    }

    /// An image set from IDX files of images (`N × rows × cols` bytes) and
    /// labels (`N` bytes), gzipped or not, as MNIST is distributed. Pixels are
    /// scaled to `[0, 1]`; labels become one-hot over 10 classes.
    pub fn from_idx(images: impl AsRef<Path>, labels: impl AsRef<Path>) -> Result<Self, NnError> {
        let (ip, lp) = (images.as_ref(), labels.as_ref());
        let img = read_idx(ip)?;
        let lab = read_idx(lp)?;
        if img.dims.len() < 2 {
            return Err(NnError::Malformed {
                path: ip.to_path_buf(),
                reason: format!("images need at least 2 dimensions, got {:?}", img.dims),
            });
        }
        if lab.dims.len() != 1 || lab.dims[0] != img.dims[0] {
            return Err(NnError::Malformed {
                path: lp.to_path_buf(),
                reason: format!(
                    "labels have dimensions {:?}, the images {:?} need [{}]",
                    lab.dims, img.dims, img.dims[0]
                ),
            });
        }
        let dim = img.dims[1..].iter().product();
        let inputs = img.data.iter().map(|&p| p as f64 / 255.0).collect();
        let labels: Vec<usize> = lab.data.iter().map(|&c| c as usize).collect();
        Self::from_labels(dim, inputs, &labels, 10).map_err(|e| NnError::Malformed {
            path: lp.to_path_buf(),
            reason: e.to_string(),
        })
    }

    /// MNIST's training and test sets `(train, test)` from a directory holding
    /// the four files `train-images-idx3-ubyte[.gz]`,
    /// `train-labels-idx1-ubyte[.gz]`, `t10k-images-idx3-ubyte[.gz]`,
    /// `t10k-labels-idx1-ubyte[.gz]` (this repository vendors them in
    /// `data/mnist/`).
    pub fn mnist(dir: impl AsRef<Path>) -> Result<(Self, Self), NnError> {
        let dir = dir.as_ref();
        let file = |stem: &str| {
            let gz = dir.join(format!("{stem}.gz"));
            if gz.exists() { gz } else { dir.join(stem) }
        };
        let train = Self::from_idx(
            file("train-images-idx3-ubyte"),
            file("train-labels-idx1-ubyte"),
        )?;
        let test = Self::from_idx(
            file("t10k-images-idx3-ubyte"),
            file("t10k-labels-idx1-ubyte"),
        )?;
        Ok((train, test))
    }
}

/// Seeded minibatch order over a data set: each call to
/// [`epoch`](Batches::epoch) reshuffles (ChaCha8 stream, so the same seed
/// gives the same batches on every platform and version) and hands out the
/// batches of that epoch.
///
/// ```
/// use hesse::nn::Dataset;
/// let data = Dataset::two_spirals(10, 0.0, 0).unwrap();
/// let mut batches = data.batches(6, 42).unwrap();
/// let sizes: Vec<usize> = batches.epoch().map(|b| b.len()).collect();
/// assert_eq!(sizes, [6, 6, 6, 2]);
/// ```
#[derive(Debug, Clone)]
pub struct Batches {
    order: Vec<usize>,
    batch_size: usize,
    rng: ChaCha8Rng,
}

impl Batches {
    /// Reshuffles and returns the minibatches (index slices) of one epoch.
    pub fn epoch(&mut self) -> std::slice::Chunks<'_, usize> {
        self.order.shuffle(&mut self.rng);
        self.order.chunks(self.batch_size)
    }
}
