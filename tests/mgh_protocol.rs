//! The Moré-Garbow-Hillstrom protocol for BFGS, L-BFGS and nonlinear CG: the
//! 35 problems of `hesse::problems::mgh` at their standard sizes, from the
//! standard start and from 10× and 100× it (`scale × (1, …, 1)` where the
//! start is 0), exact gradients, `gtol = 1e-10` on `‖g‖∞`, at most 20000
//! iterations. Solved means `f − f* ≤ max(1e-6·|f*|, 1e-10)` with
//! [`Mgh::f_star`].
//!
//! Each test asserts the solved counts per scale measured at the commit that
//! added it, and the gradient evaluations of the solved runs within 5% of
//! the measured total, so that a regression in either fails. The table,
//! `cargo run --release --example mgh_table` (solved per scale of 35; f and
//! g evaluations over all 105 runs, failures included):
//!
//! ```text
//! method    1x  10x 100x    f evals  g evals
//! bfgs      32   29   27      76508    76508
//! lbfgs     32   28   26      36361    36361
//! cg-fr     27   26   24     130041   130041
//! cg-pr     28   26   24      84565    84565
//! cg-pr+    28   26   24      84565    84565
//! cg-hs     28   26   23     295837   295837
//! cg-dy     28   26   23     208195   208195
//! cg-hz     28   27   26     714569   501726
//! ```
//!
//! scipy 1.17.1 on the same runs (`tests/data/scipy_mgh.txt`): `BFGS`
//! 32/27/24 with 14 595 f and 14 322 g evaluations in all, `L-BFGS-B`
//! 29/27/24 with 8421 and 8421, `CG` 29/21/20 with 77 011 and 76 525. Its
//! all-run totals are lower than ours because its failures stop early (at
//! the first failed line search, or for L-BFGS-B where `f` stops
//! decreasing); ours run on while the line search finds Wolfe steps, up to
//! the 20000 iterations, mostly on Meyer and Osborne 1.
//!
//! # Against scipy
//!
//! Issue 4 quotes scipy 1.17 on a 32-problem harness (which 32 it does not
//! say): `BFGS` 30/25/22, `L-BFGS-B` 27/26/23, `CG` 24/16/17. Our counts are
//! on all 35 and exceed those. For a like-for-like comparison,
//! `tests/data/scipy_mgh.txt` holds scipy 1.17.1 measured on the same 35
//! functions and starts (`scripts/scipy_mgh.py`): `BFGS` 32/27/24,
//! `L-BFGS-B` 29/27/24, `CG` 29/21/20. Ours (this file's figures): `bfgs`
//! 32/29/27, `lbfgs` 32/28/26, `cg-pr` 28/26/24. The gap: at 1× CG-PR
//! ends in Broyden banded's local minimum `f = 3.0573` (scipy's path avoids
//! it), and stops on rounding in Powell's and Brown's badly scaled problems
//! at `f ≈ 1e-8` where scipy's CG reaches 0 (with scipy's `c2 = 0.4` ours
//! solves Brown's too, but loses two runs at 10× and 100×); it solves
//! Osborne 1, which scipy's CG does not, but only after 21000 gradient
//! evaluations, which dominate its solved total. (BFGS reached the same local
//! minimum of Broyden banded with the first step `min(1, 1/‖g₀‖∞)`; with
//! L-BFGS-B's `1/‖g₀‖₂` it reaches `f* = 0`, as L-BFGS does.)
//! On the runs both solve, all three use fewer gradient evaluations than
//! scipy (`against_scipy`).

use hesse::prelude::*;
use hesse::problems::mgh::{self, Mgh};

const SCALES: [f64; 3] = [1.0, 10.0, 100.0];

/// One run of the protocol.
struct Run {
    id: usize,
    scale: f64,
    solved: bool,
    g_evals: u64,
}

fn solved(p: &Mgh, f: f64) -> bool {
    let f_star = p.f_star().expect("every standard-size problem has f*");
    f - f_star <= (1e-6 * f_star.abs()).max(1e-10)
}

fn protocol(method: &str) -> Vec<Run> {
    let mut runs = Vec::new();
    for p in mgh::all() {
        for scale in SCALES {
            let x0 = p.start_scaled(scale);
            let cg = |beta| {
                NonlinearCg::new(beta)
                    .with_gtol(1e-10)
                    .with_max_iter(20_000)
                    .minimize(&p, &x0)
            };
            let r = match method {
                "bfgs" => Bfgs::default()
                    .with_gtol(1e-10)
                    .with_max_iter(20_000)
                    .minimize(&p, &x0),
                "lbfgs" => Lbfgs::default()
                    .with_gtol(1e-10)
                    .with_max_iter(20_000)
                    .minimize(&p, &x0),
                "cg-fr" => cg(Beta::FletcherReeves),
                "cg-pr" => cg(Beta::PolakRibiere),
                "cg-hs" => cg(Beta::HestenesStiefel),
                "cg-dy" => cg(Beta::DaiYuan),
                "cg-hz" => cg(Beta::HagerZhang),
                _ => unreachable!("{method}"),
            }
            .expect("valid input");
            // Failure is typed: every run ends in a Termination with a finite
            // last iterate (overflowing starts included).
            assert!(r.x.iter().all(|v| v.is_finite()), "{method} {}", p.id());
            runs.push(Run {
                id: p.id(),
                scale,
                solved: solved(&p, r.f),
                g_evals: r.evals.g,
            });
        }
    }
    runs
}

/// Asserts solved counts per scale `≥ counts` and the gradient evaluations
/// of the solved runs `≤ 1.05 × g_solved`. (The total over all runs is
/// dominated by the few that run to 20000 iterations, whose paths rounding
/// changes; it is printed, not asserted.)
fn check(method: &str, counts: [usize; 3], g_solved: u64) -> Vec<Run> {
    let runs = protocol(method);
    let got = count(&runs);
    let total: u64 = runs.iter().map(|r| r.g_evals).sum();
    let solved: u64 = runs.iter().filter(|r| r.solved).map(|r| r.g_evals).sum();
    println!(
        "{method}: solved {got:?} of 35 per scale; gradient evaluations {solved} on the solved runs, {total} in all"
    );
    for k in 0..3 {
        assert!(got[k] >= counts[k], "{method}: {got:?} < {counts:?}");
    }
    assert!(
        solved * 100 <= g_solved * 105,
        "{method}: {solved} gradient evaluations on the solved runs, measured {g_solved}"
    );
    runs
}

#[test]
fn bfgs() {
    let runs = check("bfgs", [32, 29, 27], 10_369);
    // Issue 4's scipy figures on its 32 problems; ours count 35.
    assert!(count(&runs) >= [30, 25, 22]);
    against_scipy(&runs, "bfgs", "BFGS", 1.0);
}

#[test]
fn lbfgs() {
    let runs = check("lbfgs", [32, 28, 26], 7_512);
    assert!(count(&runs) >= [27, 26, 23]);
    against_scipy(&runs, "lbfgs", "L-BFGS-B", 1.0);
}

#[test]
fn cg_pr() {
    let runs = check("cg-pr", [28, 26, 24], 55_731);
    assert!(count(&runs) >= [24, 16, 17]);
    against_scipy(&runs, "cg-pr", "CG", 1.0);
}

#[test]
fn cg_fr_hs_dy() {
    check("cg-fr", [27, 26, 24], 32_184);
    check("cg-hs", [28, 26, 23], 41_837);
    check("cg-dy", [28, 26, 23], 32_241);
}

#[test]
fn cg_hz() {
    check("cg-hz", [28, 27, 26], 92_178);
}

fn count(runs: &[Run]) -> [usize; 3] {
    let mut c = [0; 3];
    for r in runs {
        let k = SCALES.iter().position(|&s| s == r.scale).unwrap();
        c[k] += usize::from(r.solved);
    }
    c
}

/// scipy's runs from `tests/data/scipy_mgh.txt`: `(id, scale) → (solved, njev)`.
fn scipy(method: &str) -> Vec<(usize, f64, bool, u64)> {
    include_str!("data/scipy_mgh.txt")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let t: Vec<&str> = l.split_whitespace().collect();
            (t[0] == method).then(|| {
                (
                    t[1].parse().unwrap(),
                    t[2].parse().unwrap(),
                    t[3] == "1",
                    t[6].parse().unwrap(),
                )
            })
        })
        .collect()
}

/// On the runs both solve, our total gradient evaluations must be at most
/// `at_most` times scipy's. Measured: `bfgs` 8968 vs `BFGS` 10412 on 79
/// runs; `cg-pr` 30455 vs `CG` 36666 on 66; `lbfgs` 6124 vs `L-BFGS-B` 6424
/// on 80. (`lbfgs` was 6832 vs 6342, 8% more, before it took L-BFGS-B's
/// first step `1/‖g₀‖₂` and a rounding allowance in its line search's
/// sufficient-decrease test: the excess was the end game of runs whose
/// last steps met `φ' ≈ 0` a few ulps above `φ(0)`, which the exact test
/// rejected, spending two line searches of 20 evaluations on noise.)
fn against_scipy(runs: &[Run], ours: &str, theirs: &str, at_most: f64) {
    let reference = scipy(theirs);
    assert_eq!(reference.len(), 105, "{theirs}");
    let (mut both, mut g_ours, mut g_theirs) = (0, 0, 0);
    for (r, &(id, scale, ok, njev)) in runs.iter().zip(&reference) {
        assert_eq!((r.id, r.scale), (id, scale));
        if r.solved && ok {
            both += 1;
            g_ours += r.g_evals;
            g_theirs += njev;
        }
    }
    println!("{ours} vs {theirs}: both solve {both}, g evals {g_ours} vs {g_theirs}");
    assert!(
        g_ours as f64 <= at_most * g_theirs as f64,
        "{ours}: {g_ours} gradient evaluations, scipy's {theirs} {g_theirs}"
    );
}
