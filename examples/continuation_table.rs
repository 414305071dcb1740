//! Continuation on multimodal test functions: how often plain L-BFGS and
//! continuation + L-BFGS reach the global minimum, and what each spends.
//!
//! ```text
//! cargo run --release --example continuation_table            # the table
//! cargo run --release --example continuation_table -- helps   # sampled Rastrigin n = 10: what helps
//! ```
//!
//! Protocol (the issue's scipy experiment): Rastrigin, Ackley, Griewank and
//! Levy at n = 2, 10, 30; 100 starts uniform in the usual domain `[lo, hi]ⁿ`
//! from `ChaCha8Rng::seed_from_u64(2024)`; success is `f − f* ≤ 1e-6`. The
//! schedule is σ₀ = a third of the domain's half width, 8 halving stages,
//! then the original objective. Columns: successes of 100, and the median
//! evaluations of the original `f` (a sampled blur costs S of them per call;
//! gradients are as many, fused with the values).

use hesse::continuation::{Blur, Continuation, Schedule, Smoothing};
use hesse::prelude::*;
use hesse::problems::{Ackley, Griewank, Levy, Multimodal, Rastrigin};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

const STARTS: usize = 100;
const SUCCESS: f64 = 1e-6;

/// One problem, with its exact blur where it has one.
enum Problem {
    Rastrigin(Rastrigin),
    Ackley(Ackley),
    Griewank(Griewank),
    Levy(Levy),
}

impl Problem {
    fn all(n: usize) -> Vec<Problem> {
        vec![
            Problem::Rastrigin(Rastrigin::new(n)),
            Problem::Ackley(Ackley::new(n)),
            Problem::Griewank(Griewank::new(n)),
            Problem::Levy(Levy::new(n)),
        ]
    }

    fn get(&self) -> &dyn Multimodal {
        match self {
            Problem::Rastrigin(p) => p,
            Problem::Ackley(p) => p,
            Problem::Griewank(p) => p,
            Problem::Levy(p) => p,
        }
    }
}

/// How a start is minimized.
#[derive(Clone)]
enum Method {
    Plain,
    Exact(Schedule),
    Sampled(Schedule, Smoothing),
}

impl Method {
    fn label(&self) -> String {
        match self {
            Method::Plain => "L-BFGS".into(),
            Method::Exact(_) => "exact blur".into(),
            Method::Sampled(_, Smoothing::MonteCarlo { samples, .. }) => format!("MC({samples})"),
            Method::Sampled(_, Smoothing::QuasiMonteCarlo { samples, .. }) => {
                format!("QMC({samples})")
            }
            Method::Sampled(_, Smoothing::GaussHermiteSeparable { order }) => {
                format!("GH-sep({order})")
            }
            Method::Sampled(_, Smoothing::GaussHermite { order }) => format!("GH({order})"),
        }
    }
}

/// `(f − f*, evaluations of f)` for one start, or `None` where the method does
/// not apply (no exact blur).
fn run(method: &Method, problem: &Problem, x0: &[f64]) -> Option<(f64, u64)> {
    let p = problem.get();
    let report = match method {
        Method::Plain => Lbfgs::default().minimize(p, x0).ok()?,
        Method::Exact(schedule) => {
            let cont = Continuation::new(schedule.clone());
            let exact = |b: &dyn Blur| cont.minimize_exact(b, x0).ok().map(|r| r.result);
            match problem {
                Problem::Rastrigin(r) => exact(r)?,
                Problem::Griewank(g) => exact(g)?,
                _ => return None,
            }
        }
        Method::Sampled(schedule, smoothing) => {
            Continuation::new(schedule.clone())
                .with_smoothing(smoothing.clone())
                .minimize(p, x0)
                .ok()?
                .result
        }
    };
    Some((report.f - p.f_star(), report.evals.f))
}

fn starts(p: &dyn Multimodal) -> Vec<Vec<f64>> {
    let (lo, hi) = p.domain();
    let mut rng = ChaCha8Rng::seed_from_u64(2024);
    (0..STARTS)
        .map(|_| {
            (0..p.dim())
                .map(|_| lo + (hi - lo) * rng.random::<f64>())
                .collect()
        })
        .collect()
}

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    if v.is_empty() { 0 } else { v[v.len() / 2] }
}

/// One table row: successes and median evaluations.
fn row(method: &Method, problem: &Problem) -> Option<(usize, u64)> {
    let mut wins = 0;
    let mut evals = Vec::new();
    for x0 in starts(problem.get()) {
        let (gap, e) = run(method, problem, &x0)?;
        wins += usize::from(gap <= SUCCESS);
        evals.push(e);
    }
    Some((wins, median(evals)))
}

fn schedule_for(p: &dyn Multimodal, stages: usize, ratio: f64) -> Schedule {
    let (lo, hi) = p.domain();
    Schedule::Geometric {
        sigma0: (hi - lo) / 2.0 / 3.0,
        stages,
        ratio,
    }
}

fn main_table() {
    let qmc = |samples| Smoothing::QuasiMonteCarlo { samples, seed: 0 };
    let mc = |samples| Smoothing::MonteCarlo { samples, seed: 0 };
    println!("successes of {STARTS} (f - f* <= {SUCCESS:e}) / median evaluations of f");
    println!("sigma0 = domain half-width / 3, 8 halving stages, then f\n");
    let methods = |p: &dyn Multimodal| {
        let s = schedule_for(p, 8, 0.5);
        vec![
            Method::Plain,
            Method::Exact(s.clone()),
            Method::Sampled(s.clone(), mc(32)),
            Method::Sampled(s.clone(), mc(128)),
            Method::Sampled(s.clone(), qmc(32)),
            Method::Sampled(s, qmc(128)),
        ]
    };
    let header: Vec<String> = methods(&Rastrigin::new(2))
        .iter()
        .map(Method::label)
        .collect();
    print!("{:<10} {:>3}", "problem", "n");
    for h in &header {
        print!(" | {h:>17}");
    }
    println!();
    for n in [2, 10, 30] {
        for problem in Problem::all(n) {
            print!("{:<10} {:>3}", problem.get().name(), n);
            for m in methods(problem.get()) {
                match row(&m, &problem) {
                    Some((wins, evals)) => print!(" | {wins:>3}/100 {evals:>9}"),
                    None => print!(" | {:>17}", "-"),
                }
            }
            println!();
        }
    }
}

/// Sampled Rastrigin at n = 10 and 30: points, schedules.
fn what_helps() {
    for n in [10, 30] {
        let p = Problem::Rastrigin(Rastrigin::new(n));
        println!(
            "\nsampled blur on Rastrigin, n = {n}: successes of {STARTS} / median evaluations of f"
        );
        let variants: Vec<(String, Method)> = {
            let mut v = Vec::new();
            for stages in [8, 16] {
                let ratio = if stages == 8 { 0.5 } else { 0.5f64.sqrt() };
                let s = schedule_for(p.get(), stages, ratio);
                for samples in [32, 64, 128, 512] {
                    for (name, sm) in [
                        ("MC", Smoothing::MonteCarlo { samples, seed: 0 }),
                        ("QMC", Smoothing::QuasiMonteCarlo { samples, seed: 0 }),
                    ] {
                        v.push((
                            format!("{name}({samples}), {stages} stages x {ratio:.3}"),
                            Method::Sampled(s.clone(), sm),
                        ));
                    }
                }
                v.push((
                    format!("GH-sep(31), {stages} stages x {ratio:.3}"),
                    Method::Sampled(s.clone(), Smoothing::GaussHermiteSeparable { order: 31 }),
                ));
            }
            v
        };
        for (label, m) in variants {
            let (wins, evals) = row(&m, &p).unwrap_or((0, 0));
            println!("{label:<34} {wins:>3}/100 {evals:>9}");
        }
    }
}

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("helps") => what_helps(),
        _ => main_table(),
    }
}
