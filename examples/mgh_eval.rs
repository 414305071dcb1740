//! One Moré-Garbow-Hillstrom problem as a filter, for comparisons with other
//! libraries (`scripts/scipy_mgh.py` runs scipy's minimizers through it,
//! `scripts/scipy_mgh_lm.py` scipy's `least_squares`).
//!
//! Run: `cargo run --release --example mgh_eval ID SCALE [residuals]`. It
//! prints `n`, the start [`Mgh::start_scaled`]`(SCALE)` and `f*` on three
//! lines, then reads one point per line (`n` numbers separated by spaces) and
//! answers each with `f` and `∇f` on one line (`n + 1` numbers, shortest
//! round-trip form).
//!
//! With the third argument `residuals` it prints `m` on a fourth line and
//! answers each point with the residuals `r` (`m` numbers) and the Jacobian
//! `J` (`m · n` numbers, row-major: `∂r₀/∂x₀, ∂r₀/∂x₁, …`) on one line; `f` is
//! `Σ rᵢ²`, without a factor ½.

use std::io::{BufRead, Write};

use hesse::problem::{Gradient, Residuals};
use hesse::problems::mgh::Mgh;
use nalgebra::DMatrix;

fn join(v: &[f64]) -> String {
    v.iter()
        .map(|x| format!("{x:?}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: mgh_eval ID SCALE [residuals]";
    let id: usize = args.get(1).and_then(|a| a.parse().ok()).expect(usage);
    let scale: f64 = args.get(2).and_then(|a| a.parse().ok()).expect(usage);
    let residual_mode = match args.get(3).map(String::as_str) {
        None => false,
        Some("residuals") => true,
        Some(_) => panic!("{usage}"),
    };
    let p = Mgh::from_id(id).expect("ID is 1..=35");
    let (n, m) = (p.n(), p.m());
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    writeln!(out, "{n}").unwrap();
    writeln!(out, "{}", join(&p.start_scaled(scale))).unwrap();
    writeln!(out, "{:?}", p.f_star().unwrap_or(f64::NAN)).unwrap();
    if residual_mode {
        writeln!(out, "{m}").unwrap();
    }
    out.flush().unwrap();
    let mut g = vec![0.0; n];
    let mut r = vec![0.0; m];
    let mut jac = DMatrix::zeros(m, n);
    for line in std::io::stdin().lock().lines() {
        let line = line.unwrap();
        let x: Vec<f64> = line
            .split_whitespace()
            .map(|t| t.parse().expect("a number"))
            .collect();
        assert_eq!(x.len(), n, "a point has {n} entries");
        if residual_mode {
            p.residuals(&x, &mut r);
            p.jacobian(&x, &mut jac);
            // nalgebra stores column-major; the transpose's storage is J row-major.
            writeln!(out, "{} {}", join(&r), join(jac.transpose().as_slice())).unwrap();
        } else {
            let f = p.value_grad(&x, &mut g);
            writeln!(out, "{f:?} {}", join(&g)).unwrap();
        }
        out.flush().unwrap();
    }
}
