//! K-FAC (Martens & Grosse 2015) against Adam (lr 3e-3) on the digits
//! autoencoder (64-32-16-32-64, logistic units, linear 16-unit code, binary
//! cross-entropy summed over the outputs, Glorot init, batch 256), or the
//! seconds per iteration on the MNIST deep autoencoder
//! (784-1000-500-250-30-250-500-1000-784, 10,000 training images, batch 1000,
//! sparse initialization).
//!
//! Reports the full-training-set loss after 100/200/500/2000 iterations and
//! the median seconds per iteration of each method (full-set evaluations
//! excluded), measured in the same run from the same initialization.
//!
//! Run: `cargo run --release --example kfac_digits -- [digits|mnist] [iterations] [seed] [λ₀] [curvature fraction] [T₂ = T₃]`;
//! `KFAC_EVAL_EVERY=n` sets how often K-FAC's full-set loss is recorded
//! (default 10), `KFAC_BUDGET_SECONDS=s` trains each method for `s` seconds.

// `Kfac::train` is a deprecated wrapper over `hesse::train::Driver`.
#![allow(deprecated)]

use std::time::Instant;

use hesse::first_order::{Adam, Optimizer};
use hesse::natural::{Kfac, KfacTraining};
use hesse::nn::{Activation, Dataset, Init, Layer, Loss, Mlp, MlpProblem};
use hesse::prelude::*;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

fn autoencoder(inputs: usize, widths: &[usize], code: usize) -> Mlp {
    let layers = widths
        .iter()
        .enumerate()
        .map(|(i, &w)| {
            let act = if i == code || i + 1 == widths.len() {
                Activation::Identity
            } else {
                Activation::Logistic
            };
            Layer::new(w, act)
        })
        .collect();
    Mlp::from_layers(inputs, layers, Loss::LogisticCrossEntropy).expect("architecture")
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Adam for `iterations` (or until `budget` seconds of training); returns
/// (loss at each checkpoint, per-iteration seconds, full loss at the end).
fn adam(
    problem: &MlpProblem<'_>,
    x0: &[f64],
    batch: usize,
    iterations: usize,
    checkpoints: &[usize],
    seed: u64,
    budget: f64,
) -> (Vec<f64>, Vec<f64>, f64) {
    let n = problem.data().len();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rng);
    let mut pos = 0;
    let mut opt = Adam::new(3e-3);
    let mut x = x0.to_vec();
    let mut g = vec![0.0; x.len()];
    let (mut losses, mut secs) = (Vec::new(), Vec::new());
    for it in 1..=iterations {
        let t = Instant::now();
        if pos + batch > n {
            order.shuffle(&mut rng);
            pos = 0;
        }
        problem
            .value_grad_batch(&x, &order[pos..pos + batch], &mut g)
            .expect("gradient");
        pos += batch;
        opt.step(&mut x, &g);
        secs.push(t.elapsed().as_secs_f64());
        if checkpoints.contains(&it) {
            losses.push(problem.value(&x));
        }
        if secs.iter().sum::<f64>() >= budget {
            break;
        }
    }
    let f = problem.value(&x);
    (losses, secs, f)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let which = std::env::args().nth(1).unwrap_or_else(|| "digits".into());
    let iterations: usize = std::env::args().nth(2).map_or(Ok(2000), |s| s.parse())?;
    let seed: u64 = std::env::args().nth(3).map_or(Ok(0), |s| s.parse())?;
    let (data, mlp, batch) = if which == "mnist" {
        let (train, _) = Dataset::mnist("data/mnist")?;
        let idx: Vec<usize> = (0..10_000).collect();
        let sub = train.subset(&idx)?;
        let data = Dataset::new(784, 784, sub.inputs().to_vec(), sub.inputs().to_vec())?;
        let mlp = autoencoder(784, &[1000, 500, 250, 30, 250, 500, 1000, 784], 3);
        (data, mlp, 1000)
    } else {
        let d = Dataset::digits()?;
        let data = Dataset::new(64, 64, d.inputs().to_vec(), d.inputs().to_vec())?;
        (data, autoencoder(64, &[32, 16, 32, 64], 1), 256)
    };
    let problem = mlp.problem(&data)?;
    // Sparse initialization on MNIST (Martens 2010, 15 incoming weights per
    // unit), Glorot on digits, as issue 8 specifies.
    let init = if which == "mnist" {
        Init::Sparse { k: 15 }
    } else {
        Init::Glorot
    };
    let x0 = mlp.init(init, seed);
    let checkpoints: Vec<usize> = [100, 200, 500, 2000]
        .into_iter()
        .filter(|&c| c <= iterations)
        .chain(std::iter::once(iterations))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    println!(
        "{which}: {} parameters, {} examples, batch {batch}",
        mlp.num_params(),
        data.len()
    );
    println!("initial loss {:.4}", problem.value(&x0));

    // With KFAC_BUDGET_SECONDS each method trains for that much time (the
    // iterations argument is then a cap).
    let budget: f64 =
        std::env::var("KFAC_BUDGET_SECONDS").map_or(Ok(f64::INFINITY), |s| s.parse())?;
    let (adam_losses, mut adam_secs, adam_final) =
        adam(&problem, &x0, batch, iterations, &checkpoints, seed, budget);
    let adam_iters = adam_secs.len();
    let mut kfac = Kfac::default();
    if let Some(l) = std::env::args().nth(4) {
        kfac = kfac.with_initial_damping(l.parse()?);
    }
    if let Some(f) = std::env::args().nth(5) {
        kfac = kfac.with_curvature_fraction(f.parse()?);
    }
    if let Some(t) = std::env::args().nth(6) {
        let t: usize = t.parse()?;
        kfac = kfac.with_t2(t).with_t3(t);
    }
    let opts = KfacTraining {
        iterations,
        batch_size: batch,
        seed,
    };
    let mut kfac_losses = Vec::new();
    let mut kfac_secs = Vec::new();
    // (iteration, cumulative seconds, full-set loss) every `every` iterations.
    let every: usize = std::env::var("KFAC_EVAL_EVERY").map_or(Ok(10), |s| s.parse())?;
    let mut kfac_curve = Vec::new();
    let mut last = Instant::now();
    kfac.train(&problem, &x0, &opts, &mut |s| {
        kfac_secs.push(last.elapsed().as_secs_f64());
        if checkpoints.contains(&s.iteration) || s.iteration % every == 0 {
            let f = problem.value(s.x);
            if checkpoints.contains(&s.iteration) {
                kfac_losses.push(f);
            }
            kfac_curve.push((s.iteration, kfac_secs.iter().sum::<f64>(), f));
        }
        last = Instant::now();
        kfac_secs.iter().sum::<f64>() < budget
    })?;
    let kfac_iters = kfac_secs.len();
    let kfac_final = kfac_curve.last().map_or(f64::NAN, |c| c.2);
    if budget.is_finite() {
        println!(
            "budget {budget} s: adam {adam_iters} iterations, loss {adam_final:.4}; kfac {kfac_iters} iterations, loss (at its last evaluation, iteration {}) {kfac_final:.4}",
            kfac_curve.last().map_or(0, |c| c.0)
        );
    }
    println!("iterations  adam  kfac");
    for (i, c) in checkpoints.iter().enumerate() {
        let (a, k) = (adam_losses.get(i), kfac_losses.get(i));
        println!(
            "{c:>10}  {:.4}  {:.4}",
            a.unwrap_or(&f64::NAN),
            k.unwrap_or(&f64::NAN)
        );
    }
    let kfac_total: f64 = kfac_secs.iter().sum();
    let adam_total: f64 = adam_secs.iter().sum();
    let adam_secs_sorted = adam_secs.clone();
    let (ka, aa) = (median(&mut kfac_secs), median(&mut adam_secs));
    let adam_secs = adam_secs_sorted;
    println!(
        "s/iteration (median): adam {aa:.5}  kfac {ka:.5}  ratio {:.2}; mean: adam {:.5} kfac {:.5}",
        ka / aa,
        adam_total / adam_iters as f64,
        kfac_total / kfac_iters as f64
    );
    let tr = kfac.trace();
    println!("damping trace (iteration: λ γ α μ ρ):");
    let n_tr = tr.lambda.len();
    for k in (0..n_tr).filter(|k| (k + 1) % (n_tr / 10).max(1) == 0 || *k == 0) {
        println!(
            "  {:>6}: {:.3e} {:.3e} {:.3} {:.3} {}",
            k + 1,
            tr.lambda[k],
            tr.gamma[k],
            tr.alpha[k],
            tr.mu[k],
            tr.rho[k].map_or("-".into(), |r| format!("{r:.3}"))
        );
    }
    let target = adam_final;
    println!(
        "final λ {:.3e} γ {:.3e}; γ searches {}",
        kfac.lambda(),
        kfac.gamma(),
        tr.gamma_search.len()
    );
    let adam_time: f64 = adam_secs.iter().sum();
    println!("adam final {target:.4} after {adam_iters} iterations, {adam_time:.3} s");
    match kfac_curve.iter().find(|c| c.2 <= target) {
        Some(&(it, t, f)) => println!(
            "kfac reaches it at iteration {it} ({:.3} of Adam's), {t:.3} s ({:.3} of Adam's time), loss {f:.4}",
            it as f64 / adam_iters as f64,
            t / adam_time
        ),
        None => println!("kfac does not reach it"),
    }
    Ok(())
}
