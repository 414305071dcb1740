//! Hessian-free (Martens 2010) against tuned first-order baselines on the
//! digits classifier (64-32-10, tanh, softmax cross-entropy, 1797 examples)
//! or the digits autoencoder (64-32-16-32-64, logistic units, linear 16-unit
//! code, binary cross-entropy summed over the 64 outputs).
//!
//! Baselines: Adam and SGD with momentum 0.9, each with the best learning rate
//! of {1e-4, 3e-4, 1e-3, 3e-3, 1e-2}, minibatch 128, same Glorot
//! initialization, the same wall-time budget as HF's run. Reported: the
//! training loss on the whole set, iterations, examples processed (gradient
//! examples + curvature-product examples for HF) and wall time.
//!
//! Run: `cargo run --release --example hf_digits -- [seed] [classifier|autoencoder]`

use std::time::Instant;

use hesse::first_order::Optimizer;
use hesse::natural::{HessianFree, HfTraining, NaturalGradient};
use hesse::nn::{Activation, Dataset, Init, Layer, Loss, Mlp, MlpProblem};
use hesse::prelude::*;
use hesse::solver::Run;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// Minibatch training for `seconds`; returns (final full loss, iterations).
fn first_order<O: Optimizer>(
    mut opt: O,
    problem: &MlpProblem<'_>,
    x0: &[f64],
    batch: usize,
    seconds: f64,
    seed: u64,
) -> (f64, usize) {
    let n = problem.data().len();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..n).collect();
    let mut x = x0.to_vec();
    let mut g = vec![0.0; x.len()];
    let start = Instant::now();
    let mut it = 0;
    'outer: loop {
        order.shuffle(&mut rng);
        for b in order.chunks(batch) {
            problem.value_grad_batch(&x, b, &mut g).unwrap();
            opt.step(&mut x, &g);
            it += 1;
            if start.elapsed().as_secs_f64() >= seconds {
                break 'outer;
            }
        }
    }
    (problem.value(&x), it)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seed: u64 = std::env::args().nth(1).map_or(Ok(0), |s| s.parse())?;
    let which = std::env::args()
        .nth(2)
        .unwrap_or_else(|| "classifier".into());
    let digits = Dataset::digits()?;
    let (mlp, data) = match which.as_str() {
        "classifier" => (
            Mlp::new(&[64, 32, 10], Activation::Tanh, Loss::SoftmaxCrossEntropy)?,
            digits,
        ),
        "autoencoder" => {
            let layers = vec![
                Layer::new(32, Activation::Logistic),
                Layer::new(16, Activation::Identity),
                Layer::new(32, Activation::Logistic),
                Layer::new(64, Activation::Identity),
            ];
            let x = digits.inputs().to_vec();
            (
                Mlp::from_layers(64, layers, Loss::LogisticCrossEntropy)?,
                Dataset::new(64, 64, x.clone(), x)?,
            )
        }
        other => return Err(format!("unknown problem {other}").into()),
    };
    let problem = mlp.problem(&data)?;
    let x0 = mlp.init(Init::Glorot, seed);
    println!("f(x0) = {:.4}", problem.value(&x0));

    // HF, full batch through the driver.
    let t = Instant::now();
    let mut run = Run::new(HessianFree::default().with_max_iter(30), &problem, &x0)?;
    let mut curve = Vec::new(); // (seconds, f) after each iteration
    while run.step().is_none() {
        curve.push((t.elapsed().as_secs_f64(), run.state().f));
    }
    let trace = run.solver().trace().clone();
    let report = run.finish();
    let hf_secs = t.elapsed().as_secs_f64();
    let cg: usize = trace.cg_iterations.iter().sum();
    println!(
        "hf (full batch)    loss {:.5}  iterations {}  CG steps {}  evals f {} g {} Gv {}  examples {}  {:.3} s",
        report.f,
        report.iterations,
        cg,
        report.evals.f,
        report.evals.g,
        report.evals.hv,
        report.evals.total() as usize * data.len(),
        hf_secs
    );
    println!("  λ: {:.3?}", trace.lambda);
    println!("  ρ: {:.3?}", trace.rho);

    // HF on minibatches: gradient on 1000 examples, curvature on 200.
    let opts = HfTraining {
        iterations: 30,
        grad_batch: Some(1000),
        curvature_batch: 200,
        precondition: true,
        seed,
    };
    let mut hf = HessianFree::default();
    let mb = hf.train(&problem, &x0, &opts)?;
    println!(
        "hf (minibatch, preconditioned)  loss {:.5}  iterations {}  {:.3} s",
        mb.loss.last().unwrap(),
        opts.iterations,
        mb.seconds.last().unwrap()
    );

    // Natural gradient (exact Fisher = GN, ε = 1, LM damping), full batch.
    let t = Instant::now();
    let ng = NaturalGradient::default()
        .with_max_iter(30)
        .minimize(&problem, &x0)?;
    println!(
        "natural (full batch)  loss {:.5}  iterations {}  evals f {} g {} Fv {}  {:.3} s",
        ng.f,
        ng.iterations,
        ng.evals.f,
        ng.evals.g,
        ng.evals.hv,
        t.elapsed().as_secs_f64()
    );

    let lrs = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2];
    let mut best_adam = (f64::INFINITY, 0.0, 0);
    let mut best_sgd = (f64::INFINITY, 0.0, 0);
    for &lr in &lrs {
        let (f, it) = first_order(Adam::new(lr), &problem, &x0, 128, hf_secs, seed);
        if f < best_adam.0 {
            best_adam = (f, lr, it);
        }
        let (f, it) = first_order(Momentum::new(lr, 0.9), &problem, &x0, 128, hf_secs, seed);
        if f < best_sgd.0 {
            best_sgd = (f, lr, it);
        }
    }
    println!(
        "adam (best lr {:.0e})  loss {:.5}  iterations {}  {:.3} s",
        best_adam.1, best_adam.0, best_adam.2, hf_secs
    );
    println!(
        "sgd+momentum (best lr {:.0e})  loss {:.5}  iterations {}  {:.3} s",
        best_sgd.1, best_sgd.0, best_sgd.2, hf_secs
    );
    for (name, target) in [("adam", best_adam.0), ("sgd+momentum", best_sgd.0)] {
        match curve.iter().position(|&(_, f)| f <= target) {
            Some(k) => println!(
                "hf reaches {name}'s final loss {target:.5} at iteration {} after {:.3} s ({:.2} of the budget)",
                k + 1,
                curve[k].0,
                curve[k].0 / hf_secs
            ),
            None => println!("hf does not reach {name}'s final loss {target:.5}"),
        }
    }
    Ok(())
}
