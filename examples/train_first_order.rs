//! The first-order optimizers of GBC ch. 8 training L2-regularized logistic
//! regression on the breast-cancer data (569 × 30, see tests/data/SOURCES.md)
//! with the training loop: a seeded 80/20 split, minibatches of 32, 30
//! epochs, held-out loss and accuracy per epoch.
//!
//! `cargo run --release --example train_first_order`
//!
//! The features were standardized on all 569 rows when the problem was
//! embedded (`LogisticRegression::breast_cancer`), so the held-out fifth is
//! not perfectly unseen; the comparison between optimizers is what matters.

use hesse::first_order::{
    AdaDelta, AdaGrad, Adam, Metrics, MinibatchObjective, Momentum, Nesterov, Optimizer, RmsProp,
    RmsPropNesterov, Sgd, Trainer,
};
use hesse::problems::LogisticRegression;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// Logistic regression on the rows `train`, evaluated on the rows `val`:
/// `L_i(w) = log(1 + exp(−yᵢ wᵀaᵢ)) + (λ/2)‖w‖²`, so the mean over all
/// rows is `LogisticRegression`'s `f`.
struct Split {
    p: LogisticRegression,
    train: Vec<usize>,
    val: Vec<usize>,
}

impl Split {
    fn margin(&self, w: &[f64], i: usize) -> f64 {
        let a = self.p.design();
        let z: f64 = (0..a.ncols()).map(|j| a[(i, j)] * w[j]).sum();
        self.p.labels()[i] * z
    }

    fn softplus(t: f64) -> f64 {
        t.max(0.0) + (-t.abs()).exp().ln_1p()
    }

    fn reg(&self, w: &[f64]) -> f64 {
        0.5 * self.p.lambda() * w.iter().map(|v| v * v).sum::<f64>()
    }
}

impl MinibatchObjective for Split {
    fn n_params(&self) -> usize {
        self.p.design().ncols()
    }

    fn n_examples(&self) -> usize {
        self.train.len()
    }

    fn value_grad_batch(&self, w: &[f64], batch: &[usize], g: &mut [f64]) -> f64 {
        let a = self.p.design();
        let lambda = self.p.lambda();
        g.iter_mut().zip(w).for_each(|(gj, wj)| *gj = lambda * wj);
        let mut loss = 0.0;
        let scale = 1.0 / batch.len() as f64;
        for &b in batch {
            let i = self.train[b];
            let m = self.margin(w, i);
            loss += Self::softplus(-m);
            // d/dw softplus(−y wᵀa) = −y σ(−m) a
            let s = -self.p.labels()[i] / (1.0 + m.exp());
            for (j, gj) in g.iter_mut().enumerate() {
                *gj += scale * s * a[(i, j)];
            }
        }
        loss * scale + self.reg(w)
    }

    fn held_out(&self, w: &[f64]) -> Option<Metrics> {
        let n = self.val.len() as f64;
        let loss = self
            .val
            .iter()
            .map(|&i| Self::softplus(-self.margin(w, i)))
            .sum::<f64>()
            / n
            + self.reg(w);
        let correct = self
            .val
            .iter()
            .filter(|&&i| self.margin(w, i) > 0.0)
            .count();
        Some(Metrics {
            loss,
            accuracy: Some(correct as f64 / n),
        })
    }
}

fn run<O: Optimizer + Clone>(split: &Split, opt: O) {
    let name = opt.name();
    let t = std::time::Instant::now();
    let state = Trainer::new(opt)
        .with_batch_size(32)
        .with_epochs(30)
        .with_seed(0)
        .with_progress(false)
        .train(split, vec![0.0; split.n_params()])
        .expect("valid options");
    let last = state.history.last().expect("30 epochs");
    let h = last.held_out.expect("held-out data");
    println!(
        "{name:<17} {:>10.6} {:>10.6} {:>8.4} {:>8.1}",
        last.train_loss,
        h.loss,
        h.accuracy.unwrap_or(f64::NAN),
        t.elapsed().as_secs_f64() * 1e3
    );
}

fn main() {
    let p = LogisticRegression::breast_cancer();
    let mut rows: Vec<usize> = (0..p.num_samples()).collect();
    rows.shuffle(&mut ChaCha8Rng::seed_from_u64(0));
    let cut = rows.len() * 4 / 5;
    let split = Split {
        train: rows[..cut].to_vec(),
        val: rows[cut..].to_vec(),
        p,
    };
    println!(
        "breast cancer, {} train / {} held out, batch 32, 30 epochs, seed 0",
        split.train.len(),
        split.val.len()
    );
    println!(
        "{:<17} {:>10} {:>10} {:>8} {:>8}",
        "optimizer", "train loss", "val loss", "val acc", "ms"
    );
    run(&split, Sgd::new(0.1));
    run(&split, Momentum::new(0.01, 0.9));
    run(&split, Nesterov::new(0.01, 0.9));
    run(&split, AdaGrad::new(0.1));
    run(&split, RmsProp::new(0.01, 0.9));
    run(&split, RmsPropNesterov::new(0.001, 0.9, 0.9));
    run(&split, Adam::new(0.01));
    run(&split, AdaDelta::default());
}
