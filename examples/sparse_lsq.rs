//! Sparse against dense least squares (issue 21 item 4): `SparseLevenbergMarquardt`
//! on `BandedFit` (five nonzeros per Jacobian row) at `m × n = 1e5 × 1e3`
//! and `1e4 × 1e3`, the dense `LevenbergMarquardt` at `1e4 × 1e3` (the size it
//! can still hold), and scipy's `least_squares(method='trf',
//! tr_solver='lsmr')` on the same problem (`scripts/scipy_sparse_lsq.py`),
//! with the analytic sparse Jacobian and with `jac_sparsity` (grouped
//! finite differences), measured in the same session.
//!
//! Every run is its own process, so that its peak resident memory (VmHWM in
//! `/proc/self/status`, the whole process) is its own; "before" is the
//! resident memory once the problem is built, before the solve. Runs are
//! interleaved (run 1 of every configuration, then run 2, ...) so that the
//! load of a shared machine spreads over all of them; the table gives the
//! median of `--runs` (default 3) for the time of the solve alone.
//!
//! Tolerances: ours MINPACK `ftol = xtol = 1e-8`, `gtol = 0` (the driver's
//! tests off); scipy's defaults `ftol = xtol = gtol = 1e-8`. Both start at
//! `x₀ = 0`; `noise = 0.01`, so the minimum is not zero and both report the
//! final `f = Σ rᵢ²` (scipy's `2·cost`).
//!
//! `cargo run --release --example sparse_lsq -- [--runs 3] [--out FILE]`
//! (`--no-dense`, `--no-scipy` leave those out; `--child SOLVER M N` is one run).

use std::process::Command;
use std::time::Instant;

use hesse::newton::{LevenbergMarquardt, SparseLevenbergMarquardt};
use hesse::problems::BandedFit;

const NOISE: f64 = 0.01;
const TOL: f64 = 1e-8;

/// Peak and current resident memory of this process, in MiB.
fn memory() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// One run in this process: prints `key=value` pairs on one line.
fn child(solver: &str, m: usize, n: usize) {
    let p = BandedFit::new(m, n, NOISE).expect("sizes");
    let x0 = p.start();
    let before = memory().1;
    let start = Instant::now();
    let report = match solver {
        "sparse" => SparseLevenbergMarquardt::default()
            .with_minpack_tolerances(TOL, TOL, 0.0)
            .minimize(&p, &x0),
        "dense" => LevenbergMarquardt::default()
            .with_minpack_tolerances(TOL, TOL, 0.0)
            .minimize(&p, &x0),
        other => panic!("unknown solver {other}"),
    }
    .expect("valid problem");
    let seconds = start.elapsed().as_secs_f64();
    let peak = memory().0;
    let a = p.truth();
    let err = report
        .x
        .iter()
        .zip(&a)
        .fold(0.0f64, |e, (x, a)| e.max((x - a).abs()));
    println!(
        "seconds={seconds:.4} peak_mib={peak:.1} before_mib={before:.1} iterations={} \
         nfev={} njev={} f={:.12e} max_err_vs_truth={err:.3e} termination={}",
        report.iterations,
        report.evals.f,
        report.evals.g,
        report.f,
        report.termination.as_str()
    );
}

/// A configuration of the table.
struct Config {
    label: String,
    command: Vec<String>,
}

fn parse(line: &str) -> Vec<(String, String)> {
    line.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn get(kv: &[(String, String)], key: &str) -> String {
    kv.iter()
        .find(|(k, _)| k == key)
        .map_or_else(|| "?".to_string(), |(_, v)| v.clone())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let k = v.len();
    if k == 0 {
        f64::NAN
    } else if k % 2 == 1 {
        v[k / 2]
    } else {
        0.5 * (v[k / 2 - 1] + v[k / 2])
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        let m = args[i + 2].parse().expect("m");
        let n = args[i + 3].parse().expect("n");
        child(&args[i + 1], m, n);
        return;
    }
    let flag = |name: &str| args.iter().any(|a| a == name);
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let runs: usize = value("--runs").map_or(3, |v| v.parse().expect("--runs"));
    let exe = std::env::current_exe().expect("own path");
    let exe = exe.to_string_lossy().to_string();
    let script = format!("{}/scripts/scipy_sparse_lsq.py", env!("CARGO_MANIFEST_DIR"));
    let sizes = [(100_000usize, 1000usize), (10_000, 1000)];
    let mut configs = Vec::new();
    for &(m, n) in &sizes {
        let mut ours = vec![("sparse-lm", "sparse")];
        if m <= 10_000 && !flag("--no-dense") {
            ours.push(("dense lm", "dense"));
        }
        for (label, solver) in ours {
            configs.push(Config {
                label: format!("{label:<22} {m:>6} x {n}"),
                command: vec![
                    exe.clone(),
                    "--child".into(),
                    solver.into(),
                    m.to_string(),
                    n.to_string(),
                ],
            });
        }
        if !flag("--no-scipy") {
            for variant in ["jac", "jac_sparsity"] {
                configs.push(Config {
                    label: format!("scipy trf lsmr {variant:<7} {m:>6} x {n}"),
                    command: vec![
                        "python3".into(),
                        script.clone(),
                        variant.into(),
                        m.to_string(),
                        n.to_string(),
                    ],
                });
            }
        }
    }
    let mut results: Vec<Vec<Vec<(String, String)>>> = vec![Vec::new(); configs.len()];
    for run in 0..runs {
        for (c, config) in configs.iter().enumerate() {
            let out = Command::new(&config.command[0])
                .args(&config.command[1..])
                .output()
                .expect("run a child");
            let text = String::from_utf8_lossy(&out.stdout);
            let line = text.lines().last().unwrap_or("").to_string();
            if !out.status.success() || line.is_empty() {
                eprintln!(
                    "{} (run {run}) failed: {}",
                    config.label,
                    String::from_utf8_lossy(&out.stderr)
                );
                continue;
            }
            eprintln!("{} run {run}: {line}", config.label);
            results[c].push(parse(&line));
        }
    }
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let mut table = String::new();
    table.push_str(&format!(
        "BandedFit (5 nonzeros per row, noise {NOISE}, x0 = 0), median of {runs} runs, \
         one process each; CPU: {cpu}\n"
    ));
    table.push_str(&format!(
        "{:<42} {:>9} {:>9} {:>10} {:>10} {:>5} {:>6} {:>5} {:>20}  termination\n",
        "solver, m x n",
        "seconds",
        "vs scipy",
        "peak MiB",
        "before MiB",
        "iter",
        "nfev",
        "njev",
        "f"
    ));
    for (c, config) in configs.iter().enumerate() {
        let r = &results[c];
        if r.is_empty() {
            continue;
        }
        let med = |key: &str| {
            median(
                r.iter()
                    .filter_map(|kv| get(kv, key).parse().ok())
                    .collect(),
            )
        };
        // Ratio to scipy's analytic-Jacobian run of the same size.
        let size = config
            .label
            .split_whitespace()
            .rev()
            .take(3)
            .collect::<Vec<_>>();
        let scipy = configs.iter().position(|o| {
            o.label.starts_with("scipy trf lsmr jac ")
                && o.label.split_whitespace().rev().take(3).collect::<Vec<_>>() == size
        });
        let ratio = scipy
            .filter(|&s| !results[s].is_empty())
            .map(|s| {
                let t = median(
                    results[s]
                        .iter()
                        .filter_map(|kv| get(kv, "seconds").parse().ok())
                        .collect(),
                );
                med("seconds") / t
            })
            .unwrap_or(f64::NAN);
        let last = r.last().expect("non-empty");
        table.push_str(&format!(
            "{:<42} {:>9.3} {:>9.3} {:>10.1} {:>10.1} {:>5} {:>6} {:>5} {:>20}  {}\n",
            config.label,
            med("seconds"),
            ratio,
            med("peak_mib"),
            med("before_mib"),
            get(last, "iterations"),
            get(last, "nfev"),
            get(last, "njev"),
            get(last, "f"),
            get(last, "termination"),
        ));
    }
    print!("{table}");
    if let Some(path) = value("--out") {
        std::fs::write(&path, &table).expect("write --out");
    }
}
