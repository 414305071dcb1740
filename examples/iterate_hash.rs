//! A fingerprint of every iterate of every full-batch minimizer on the MGH
//! and NIST suites: the check that a refactoring changed no bit.
//!
//! Each method runs on the 35 Moré-Garbow-Hillstrom problems from the 1×,
//! 10× and 100× starts (`gtol = 1e-10`, at most 3000 iterations), the
//! bounded methods also on the boxed MGH suite ([`mgh_in_boxes`]), and
//! Levenberg-Marquardt (plain, geodesic, soft-L1, in a box) on the 27 NIST
//! StRD problems from both starts. An observer feeds the bits of every
//! iterate's `x`, `f` and `g` into a 64-bit FNV-1a hash, and the report's
//! termination and evaluation counts after it.
//!
//! Run: `cargo run --release --example iterate_hash`: one line per method
//! (`method  runs  iterations  hash`) and a last line hashing all of them.
//! Compare the output of two commits: equal lines mean bit-identical runs.

use std::cell::RefCell;
use std::rc::Rc;

use hesse::newton::{Damping, RobustLoss};
use hesse::prelude::*;
use hesse::problems::bounded::mgh_in_boxes;
use hesse::problems::mgh::{self, Mgh};
use hesse::problems::nist::{NistDataset, NistProblem};
use hesse::quasi_newton::CurvatureGuard;
use hesse::solver::{Control, Minimizer, Run};

/// 64-bit FNV-1a.
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn u64(&mut self, v: u64) {
        for b in v.to_le_bytes() {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    fn f64s(&mut self, v: &[f64]) {
        for x in v {
            self.u64(x.to_bits());
        }
    }
}

/// Totals of one method over its problems.
struct Tally {
    hash: Fnv,
    runs: usize,
    iterations: u64,
}

impl Tally {
    fn new() -> Self {
        Tally {
            hash: Fnv::new(),
            runs: 0,
            iterations: 0,
        }
    }
}

/// Runs `solver` on `problem` from `x0`, hashing every iterate into `tally`.
fn hashed<'p, M: Minimizer<&'p P>, P>(tally: &mut Tally, solver: M, problem: &'p P, x0: &[f64]) {
    let run = match Run::new(solver, problem, x0) {
        Ok(run) => run,
        Err(e) => {
            // A refused start is part of the fingerprint too.
            for b in e.to_string().bytes() {
                tally.hash.u64(u64::from(b));
            }
            tally.runs += 1;
            return;
        }
    };
    // The observer must outlive the run's borrow of the problem: share the hash.
    let shared = Rc::new(RefCell::new(Fnv::new()));
    let inner = Rc::clone(&shared);
    let report = run
        .with_observer(move |s: &State| {
            let mut h = inner.borrow_mut();
            h.u64(s.iteration);
            h.f64s(&s.x);
            h.u64(s.f.to_bits());
            h.f64s(&s.g);
            Control::Continue
        })
        .finish();
    let mut h = shared.borrow_mut();
    h.u64(report.iterations);
    h.u64(report.evals.f);
    h.u64(report.evals.g);
    h.u64(report.evals.h);
    h.u64(report.evals.hv);
    for b in report.termination.as_str().bytes() {
        h.u64(u64::from(b));
    }
    tally.hash.u64(h.0);
    tally.runs += 1;
    tally.iterations += report.iterations;
}

const SCALES: [f64; 3] = [1.0, 10.0, 100.0];
const GTOL: f64 = 1e-10;
const MAX_ITER: u64 = 3000;

/// One method on the MGH suite.
fn mgh_method(name: &str, p: &Mgh, x0: &[f64], t: &mut Tally) {
    macro_rules! go {
        ($solver:expr) => {
            hashed(t, $solver.with_gtol(GTOL).with_max_iter(MAX_ITER), p, x0)
        };
    }
    match name {
        "gd" => go!(GradientDescent::default()),
        "bfgs" => go!(Bfgs::default()),
        "bfgs-bt-damped" => go!(Bfgs::with_line_search(Backtracking::default())
            .with_curvature_guard(CurvatureGuard::PowellDamping)),
        "lbfgs" => go!(Lbfgs::default()),
        "lbfgs-bt" => go!(Lbfgs::with_line_search(Backtracking::default())),
        "lbfgsb" => go!(LbfgsB::default()),
        "cg-fr" => go!(NonlinearCg::new(Beta::FletcherReeves)),
        "cg-pr" => go!(NonlinearCg::new(Beta::PolakRibiere)),
        "cg-pr+" => go!(NonlinearCg::new(Beta::PolakRibierePlus)),
        "cg-hs" => go!(NonlinearCg::new(Beta::HestenesStiefel)),
        "cg-dy" => go!(NonlinearCg::new(Beta::DaiYuan)),
        "cg-hz" => go!(NonlinearCg::new(Beta::HagerZhang)),
        "newton" => go!(Newton::default()),
        "newton-reg" => go!(Newton::default().with_damping(Damping::Regularized)),
        "newton-tr" => go!(NewtonTrustRegion::default()),
        "newton-cg" => go!(NewtonCg::default()),
        "newton-cg-tr" => go!(NewtonCg::trust_region()),
        "tron" => go!(Tron::default()),
        "saddle-free-newton" => go!(SaddleFreeNewton::default()),
        // MINPACK's orthogonality test (LM's `with_gtol` before issue 19).
        "lm" => hashed(
            t,
            LevenbergMarquardt::default()
                .with_minpack_gtol(GTOL)
                .with_max_iter(MAX_ITER),
            p,
            x0,
        ),
        "lm-geodesic" => hashed(
            t,
            LevenbergMarquardt::default()
                .with_geodesic_acceleration(Some(0.75))
                .with_minpack_gtol(GTOL)
                .with_max_iter(MAX_ITER),
            p,
            x0,
        ),
        _ => unreachable!("{name}"),
    }
}

const MGH_METHODS: [&str; 21] = [
    "gd",
    "bfgs",
    "bfgs-bt-damped",
    "lbfgs",
    "lbfgs-bt",
    "lbfgsb",
    "cg-fr",
    "cg-pr",
    "cg-pr+",
    "cg-hs",
    "cg-dy",
    "cg-hz",
    "newton",
    "newton-reg",
    "newton-tr",
    "newton-cg",
    "newton-cg-tr",
    "tron",
    "saddle-free-newton",
    "lm",
    "lm-geodesic",
];

const NIST: [&str; 27] = [
    "Misra1a", "Chwirut2", "Chwirut1", "Lanczos3", "Gauss1", "Gauss2", "DanWood", "Misra1b",
    "Kirby2", "Hahn1", "Nelson", "MGH17", "Lanczos1", "Lanczos2", "Gauss3", "Misra1c", "Misra1d",
    "Roszman1", "ENSO", "MGH09", "Thurber", "BoxBOD", "Rat42", "MGH10", "Eckerle4", "Rat43",
    "Bennett5",
];

fn main() {
    let mut all = Fnv::new();
    let mut line = |name: &str, t: Tally| {
        println!(
            "{name:<20} {:>5} {:>9}  {:016x}",
            t.runs, t.iterations, t.hash.0
        );
        all.u64(t.hash.0);
    };
    let problems = mgh::all();
    for name in MGH_METHODS {
        let mut t = Tally::new();
        for p in &problems {
            for s in SCALES {
                mgh_method(name, p, &p.start_scaled(s), &mut t);
            }
        }
        line(name, t);
    }
    for name in ["lbfgsb-box", "tron-box", "lm-box"] {
        let mut t = Tally::new();
        for b in mgh_in_boxes() {
            for s in SCALES {
                let x0 = b.mgh.start_scaled(s);
                let p = &b.mgh;
                match name {
                    "lbfgsb-box" => hashed(
                        &mut t,
                        LbfgsB::default()
                            .with_bounds(b.bounds.clone())
                            .with_gtol(GTOL)
                            .with_max_iter(MAX_ITER),
                        p,
                        &x0,
                    ),
                    "tron-box" => hashed(
                        &mut t,
                        Tron::default()
                            .with_bounds(b.bounds.clone())
                            .with_gtol(GTOL)
                            .with_max_iter(MAX_ITER),
                        p,
                        &x0,
                    ),
                    _ => hashed(
                        &mut t,
                        LevenbergMarquardt::default()
                            .with_bounds(b.bounds.lower().to_vec(), b.bounds.upper().to_vec())
                            .with_max_iter(MAX_ITER),
                        p,
                        &x0,
                    ),
                }
            }
        }
        line(name, t);
    }
    for name in ["nist-lm", "nist-lm-soft-l1", "nist-lm-box"] {
        let mut t = Tally::new();
        for d in NIST {
            let path = format!("{}/tests/data/nist/{d}.dat", env!("CARGO_MANIFEST_DIR"));
            let data = NistDataset::load(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            let p = NistProblem::new(&data).expect("a NIST model");
            for k in 1..=2 {
                let Some(x0) = data.start(k) else { continue };
                let lm = LevenbergMarquardt::default();
                let lm = match name {
                    "nist-lm" => lm,
                    "nist-lm-soft-l1" => lm.with_loss(RobustLoss::SoftL1).with_f_scale(1.0),
                    _ => {
                        // A box around the certified values that cuts off none of them.
                        let c = &data.certified;
                        let lo = c.iter().map(|v| v - 10.0 * v.abs() - 1.0).collect();
                        let hi = c.iter().map(|v| v + 10.0 * v.abs() + 1.0).collect();
                        lm.with_bounds(lo, hi)
                    }
                };
                hashed(&mut t, lm, &p, x0);
            }
        }
        line(name, t);
    }
    println!("{:<20} {:>5} {:>9}  {:016x}", "all", "", "", all.0);
}
