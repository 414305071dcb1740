//! K-FAC (Martens & Grosse 2015): the Kronecker factors, the invariance of
//! the undamped step, the damping rules, training, and bad input.

use hesse::natural::{Fisher, FisherKind, KfacEstimator};
use hesse::nn::{Activation, Dataset, Init, Loss, Mlp, MlpProblem};
use nalgebra::DMatrix;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `n` examples of `d` standard-normal-ish inputs and `k` targets in (0, 1).
fn random_data(n: usize, d: usize, k: usize, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x: Vec<f64> = (0..n * d)
        .map(|_| rng.random::<f64>() * 2.0 - 1.0)
        .collect();
    let t: Vec<f64> = (0..n * k).map(|_| rng.random::<f64>()).collect();
    Dataset::new(d, k, x, t).unwrap()
}

/// The layer-`l` block `A ⊗ G` of K-FAC and of the dense Fisher.
fn blocks(
    problem: &MlpProblem<'_>,
    x: &[f64],
    l: usize,
    estimator: KfacEstimator,
    seed: u64,
) -> (DMatrix<f64>, DMatrix<f64>, DMatrix<f64>) {
    let mlp = problem.mlp();
    let all: Vec<usize> = (0..problem.data().len()).collect();
    let (loss, k) = (mlp.loss(), mlp.outputs());
    let factors = problem
        .kfac_factors_batch(x, &all, &mut |p| estimator.output_vectors(loss, k, p, seed))
        .unwrap();
    let (a, g) = &factors[l];
    let kron = a.kronecker(g);
    let dense = Fisher::new(problem, x, None, FisherKind::Exact)
        .unwrap()
        .dense()
        .unwrap();
    let start = mlp.weights_range(l).0.start;
    let len = kron.nrows();
    assert_eq!(mlp.bias_range(l).end, start + len);
    let block = dense.view((start, start), (len, len)).into_owned();
    (kron, block, g.clone())
}

#[test]
fn kronecker_block_equals_exact_fisher_when_activations_and_gradients_are_independent() {
    // (a) Squared error, last layer: g = ∂ℓ/∂o has E[g gᵀ | x] = I for every
    // example, so the block is E[ā āᵀ] ⊗ I exactly.
    let data = random_data(30, 3, 2, 1);
    let mlp = Mlp::new(&[3, 4, 2], Activation::Tanh, Loss::MeanSquaredError).unwrap();
    let problem = mlp.problem(&data).unwrap();
    let x = mlp.init(Init::Glorot, 2);
    let (kron, block, g) = blocks(&problem, &x, 1, KfacEstimator::Exact, 0);
    assert!((g - DMatrix::identity(2, 2)).amax() < 1e-15);
    let err = (&kron - &block).amax();
    assert!(err < 1e-12 * block.amax(), "max |A⊗G − F| = {err:e}");

    // (b) Logistic outputs with zero output weights: p = σ(b) is the same for
    // every example, so the output gradients are independent of the inputs.
    let data = random_data(30, 3, 2, 3);
    let mlp = Mlp::new(&[3, 4, 2], Activation::Tanh, Loss::LogisticCrossEntropy).unwrap();
    let problem = mlp.problem(&data).unwrap();
    let mut x = mlp.init(Init::Glorot, 4);
    x[mlp.weights_range(1).0].fill(0.0);
    let b = mlp.bias_range(1);
    x[b.start] = 0.7;
    x[b.start + 1] = -1.3;
    let (kron, block, _) = blocks(&problem, &x, 1, KfacEstimator::Exact, 0);
    let err = (&kron - &block).amax();
    assert!(err < 1e-12 * block.amax(), "max |A⊗G − F| = {err:e}");
    // ... and not in general: the first layer's block differs.
    let x = mlp.init(Init::Glorot, 4);
    let (kron, block, _) = blocks(&problem, &x, 0, KfacEstimator::Exact, 0);
    assert!((&kron - &block).amax() > 1e-6 * block.amax());

    // (c) The sampled estimator is unbiased: averaged over seeds, G → I.
    let data = random_data(30, 3, 2, 1);
    let mlp = Mlp::new(&[3, 4, 2], Activation::Tanh, Loss::MeanSquaredError).unwrap();
    let problem = mlp.problem(&data).unwrap();
    let x = mlp.init(Init::Glorot, 2);
    let mut mean = DMatrix::zeros(2, 2);
    let seeds = 400;
    for s in 0..seeds {
        mean += blocks_g(&problem, &x, s) / seeds as f64;
    }
    // Each entry averages 12,000 products of N(0, 1) draws: sd ≈ 0.013.
    assert!((mean - DMatrix::identity(2, 2)).amax() < 0.06);
}

fn blocks_g(problem: &MlpProblem<'_>, x: &[f64], seed: u64) -> DMatrix<f64> {
    let all: Vec<usize> = (0..problem.data().len()).collect();
    let (loss, k) = (problem.mlp().loss(), problem.mlp().outputs());
    let f = problem
        .kfac_factors_batch(x, &all, &mut |p| {
            KfacEstimator::Sampled.output_vectors(loss, k, p, seed)
        })
        .unwrap();
    f[1].1.clone()
}
