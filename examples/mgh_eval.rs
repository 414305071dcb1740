//! One Moré-Garbow-Hillstrom problem as a filter, for comparisons with other
//! libraries (`scripts/scipy_mgh.py` runs scipy's minimizers through it).
//!
//! Run: `cargo run --release --example mgh_eval ID SCALE`. It prints `n`, the
//! start [`Mgh::start_scaled`]`(SCALE)` and `f*` on three lines, then reads
//! one point per line (`n` numbers separated by spaces) and answers each with
//! `f` and `∇f` on one line (`n + 1` numbers, shortest round-trip form).

use std::io::{BufRead, Write};

use hesse::problem::Gradient;
use hesse::problems::mgh::Mgh;

fn join(v: &[f64]) -> String {
    v.iter()
        .map(|x| format!("{x:?}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: mgh_eval ID SCALE";
    let id: usize = args.get(1).and_then(|a| a.parse().ok()).expect(usage);
    let scale: f64 = args.get(2).and_then(|a| a.parse().ok()).expect(usage);
    let p = Mgh::from_id(id).expect("ID is 1..=35");
    let n = p.n();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    writeln!(out, "{n}").unwrap();
    writeln!(out, "{}", join(&p.start_scaled(scale))).unwrap();
    writeln!(out, "{:?}", p.f_star().unwrap_or(f64::NAN)).unwrap();
    out.flush().unwrap();
    let mut g = vec![0.0; n];
    for line in std::io::stdin().lock().lines() {
        let line = line.unwrap();
        let x: Vec<f64> = line
            .split_whitespace()
            .map(|t| t.parse().expect("a number"))
            .collect();
        assert_eq!(x.len(), n, "a point has {n} entries");
        let f = p.value_grad(&x, &mut g);
        writeln!(out, "{f:?} {}", join(&g)).unwrap();
        out.flush().unwrap();
    }
}
