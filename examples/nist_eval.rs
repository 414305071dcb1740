//! One NIST StRD nonlinear regression problem as a filter, for comparisons
//! with other libraries (`scripts/scipy_nist_lm.py` runs scipy's
//! `least_squares` through it).
//!
//! Run: `cargo run --release --example nist_eval FILE.dat START` (`START` is
//! 1 or 2). It prints five lines: `n`, the start, `m`, the certified
//! parameters and the certified residual sum of squares. Then it reads one
//! point per line (`n` numbers separated by spaces) and answers each with the
//! residuals `r` (`m` numbers, `rᵢ = yᵢ − f(xᵢ; b)` as
//! [`NistProblem`] defines them) and the exact Jacobian `J` (`m · n` numbers,
//! row-major: `∂r₀/∂b₁, ∂r₀/∂b₂, …`) on one line, shortest round-trip form.

use std::io::{BufRead, Write};

use hesse::problem::Residuals;
use hesse::problems::nist::{NistDataset, NistProblem};
use nalgebra::DMatrix;

fn join(v: &[f64]) -> String {
    v.iter()
        .map(|x| format!("{x:?}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: nist_eval FILE.dat START (1 or 2)";
    let path = args.get(1).expect(usage);
    let start: usize = args.get(2).and_then(|a| a.parse().ok()).expect(usage);
    let data = NistDataset::load(path).unwrap_or_else(|e| panic!("{e}"));
    let p = NistProblem::new(&data).unwrap_or_else(|e| panic!("{e}"));
    let x0 = data.start(start).expect(usage);
    let (n, m) = (p.num_params(), p.num_residuals());
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    writeln!(out, "{n}").unwrap();
    writeln!(out, "{}", join(x0)).unwrap();
    writeln!(out, "{m}").unwrap();
    writeln!(out, "{}", join(&data.certified)).unwrap();
    writeln!(out, "{:?}", data.certified_rss).unwrap();
    out.flush().unwrap();
    let mut r = vec![0.0; m];
    let mut jac = DMatrix::zeros(m, n);
    for line in std::io::stdin().lock().lines() {
        let line = line.unwrap();
        let x: Vec<f64> = line
            .split_whitespace()
            .map(|t| t.parse().expect("a number"))
            .collect();
        assert_eq!(x.len(), n, "a point has {n} entries");
        p.residuals(&x, &mut r);
        p.jacobian(&x, &mut jac);
        // nalgebra stores column-major; the transpose's storage is J row-major.
        writeln!(out, "{} {}", join(&r), join(jac.transpose().as_slice())).unwrap();
        out.flush().unwrap();
    }
}
