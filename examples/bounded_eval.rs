//! One problem of the bounded MGH suite ([`hesse::problems::bounded`]) as a
//! filter, for `scripts/scipy_bounds.py`.
//!
//! Run: `cargo run --release --example bounded_eval ID SCALE`. It prints `n`,
//! the start [`Mgh::start_scaled`](hesse::problems::Mgh::start_scaled)`(SCALE)`
//! (not projected), the lower and the upper bounds (`inf`, `-inf` for none)
//! on four lines, then answers each point read (`n` numbers on a line) with
//! `f` and `∇f` on one line.

use std::io::{BufRead, Write};

use hesse::problem::Gradient;
use hesse::problems::bounded;

fn join(v: &[f64]) -> String {
    v.iter()
        .map(|x| format!("{x:?}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: bounded_eval ID SCALE";
    let id: usize = args.get(1).and_then(|a| a.parse().ok()).expect(usage);
    let scale: f64 = args.get(2).and_then(|a| a.parse().ok()).expect(usage);
    let suite = bounded::mgh_in_boxes();
    let p = suite
        .iter()
        .find(|p| p.mgh.id() == id)
        .expect("ID is an MGH problem of the bounded suite");
    let n = p.mgh.n();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    writeln!(out, "{n}").unwrap();
    writeln!(out, "{}", join(&p.mgh.start_scaled(scale))).unwrap();
    writeln!(out, "{}", join(p.bounds.lower())).unwrap();
    writeln!(out, "{}", join(p.bounds.upper())).unwrap();
    out.flush().unwrap();
    let mut g = vec![0.0; n];
    for line in std::io::stdin().lock().lines() {
        let x: Vec<f64> = line
            .unwrap()
            .split_whitespace()
            .map(|t| t.parse().expect("a number"))
            .collect();
        assert_eq!(x.len(), n, "a point has {n} entries");
        let f = p.mgh.value_grad(&x, &mut g);
        writeln!(out, "{f:?} {}", join(&g)).unwrap();
        out.flush().unwrap();
    }
}
