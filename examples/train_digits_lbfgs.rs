//! Trains a 64-32-10 tanh network with softmax cross-entropy on the embedded
//! UCI handwritten digits with L-BFGS through the ordinary `minimize`, and
//! reports the accuracy on a held-out quarter of the data it never saw.
//!
//! Run: `cargo run --release --example train_digits_lbfgs`

use hesse::nn::{Activation, Dataset, Init, Loss, Mlp};
use hesse::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let digits = Dataset::digits()?;
    // A seeded 75/25 split; the held-out part is used only for the last line.
    let (mut train, mut test) = digits.split(0.25, 0)?;
    let (mean, std) = train.input_moments();
    train.standardize(&mean, &std)?;
    test.standardize(&mean, &std)?;

    let mlp = Mlp::new(&[64, 32, 10], Activation::Tanh, Loss::SoftmaxCrossEntropy)?
        .with_weight_decay(1e-3)?;
    let mut x0 = mlp.init(Init::Glorot, 1);
    mlp.set_output_bias_from_data(&mut x0, &train)?;
    let problem = mlp.problem(&train)?;

    let report = Lbfgs::default()
        .with_gtol(1e-5)
        .with_max_iter(400)
        .minimize(&problem, &x0)?;
    println!(
        "L-BFGS: {} after {} iterations, {} gradients, {:.2} s; training loss {:.4}",
        report.termination,
        report.iterations,
        report.evals.g,
        report.elapsed.as_secs_f64(),
        report.f
    );
    println!(
        "training accuracy: {:.3} ({} examples)",
        mlp.accuracy(&report.x, &train, None)?,
        train.len()
    );
    println!(
        "held-out accuracy: {:.3}",
        mlp.accuracy(&report.x, &test, None)?
    );
    Ok(())
}
