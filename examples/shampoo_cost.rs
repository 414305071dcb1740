//! Seconds per iteration of Adam, Shampoo (roots every T = 1, 10, 1000
//! steps) and SOAP (eigenbasis every f = 10, 100 steps, or frozen to the
//! identity) on train_bench's digits-ae network (64-32-16-32-64, batch 256),
//! through the training driver: the methods interleaved, 9 rounds of 500
//! iterations each, median and minimum per method, and the ratio of medians
//! to Adam's (docs/bench/shampoo-soap.md). The shared machine's load moves
//! the absolute figures; interleaving spreads it over all methods.
//!
//! `cargo run --release --example shampoo_cost`
use hesse::first_order::Adam;
use hesse::nn::{Activation, Dataset, Init, Layer, Loss, Mlp};
use hesse::train::{Driver, EvalEvery, FirstOrder, Shampoo, Soap};
use std::time::Instant;

fn main() {
    let x = Dataset::digits().unwrap().inputs().to_vec();
    let data = Dataset::new(64, 64, x.clone(), x).unwrap();
    let layers = vec![
        Layer::new(32, Activation::Logistic),
        Layer::new(16, Activation::Identity),
        Layer::new(32, Activation::Logistic),
        Layer::new(64, Activation::Identity),
    ];
    let mlp = Mlp::from_layers(64, layers, Loss::LogisticCrossEntropy).unwrap();
    let problem = mlp.problem(&data).unwrap();
    let x0 = mlp.init(Init::Glorot, 0);
    let iters = 500;
    let names = [
        "adam",
        "shampoo T=1",
        "shampoo T=10",
        "shampoo T=1000",
        "soap f=10",
        "soap f=100",
        "soap frozen",
    ];
    let mut ts = vec![Vec::new(); names.len()];
    let d = Driver::new()
        .with_batch_size(256)
        .with_seed(0)
        .with_max_iter(iters)
        .with_eval_every(EvalEvery::Never)
        .with_progress(false);
    for _ in 0..9 {
        for (i, t) in ts.iter_mut().enumerate() {
            let start = Instant::now();
            match i {
                0 => {
                    d.train(&problem, FirstOrder::new(Adam::new(0.01)), x0.clone())
                        .unwrap();
                }
                1 => {
                    d.train(
                        &problem,
                        Shampoo::default().with_precondition_frequency(1),
                        x0.clone(),
                    )
                    .unwrap();
                }
                2 => {
                    d.train(
                        &problem,
                        Shampoo::default().with_precondition_frequency(10),
                        x0.clone(),
                    )
                    .unwrap();
                }
                3 => {
                    d.train(
                        &problem,
                        Shampoo::default().with_precondition_frequency(1000),
                        x0.clone(),
                    )
                    .unwrap();
                }
                4 => {
                    d.train(
                        &problem,
                        Soap::default().with_precondition_frequency(10),
                        x0.clone(),
                    )
                    .unwrap();
                }
                5 => {
                    d.train(
                        &problem,
                        Soap::default().with_precondition_frequency(100),
                        x0.clone(),
                    )
                    .unwrap();
                }
                _ => {
                    d.train(
                        &problem,
                        Soap::default().with_frozen_identity_basis(),
                        x0.clone(),
                    )
                    .unwrap();
                }
            }
            t.push(start.elapsed().as_secs_f64() / iters as f64);
        }
    }
    let med = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let a = med(&mut ts[0].clone());
    for (n, t) in names.iter().zip(ts.iter_mut()) {
        let m = med(t);
        println!(
            "{n:<16} {m:.6} s/iter (median of 9, min {:.6})  ratio to adam {:.2}",
            t[0],
            m / a
        );
    }
}
