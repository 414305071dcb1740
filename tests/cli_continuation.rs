//! `hesse minimize --continuation σ₀,stages[,samples]`.

use std::process::{Command, Output};

use serde_json::Value;

fn hesse(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hesse"))
        .args(args)
        .output()
        .expect("the hesse binary runs")
}

fn json(o: &Output) -> Value {
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(out.trim().lines().count(), 1, "one JSON line: {out}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

const RASTRIGIN: &str = "20 + x^2 - 10*cos(2*pi*x) + y^2 - 10*cos(2*pi*y)";

#[test]
fn continuation_finds_rastrigins_global_minimum() {
    let start = "x=3.3,y=-4.2";
    let plain = json(&hesse(&[
        "minimize", RASTRIGIN, "--start", start, "--method", "lbfgs", "--json",
    ]));
    assert!(plain["f"].as_f64().unwrap() > 1.0, "{plain}");
    assert!(plain.get("stages").is_none());
    let o = hesse(&[
        "minimize",
        RASTRIGIN,
        "--start",
        start,
        "--method",
        "lbfgs",
        "--continuation",
        "1.7,8",
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = json(&o);
    assert_eq!(v["method"], "continuation+lbfgs");
    assert_eq!(v["converged"], true);
    assert!(v["f"].as_f64().unwrap() < 1e-10, "{v}");
    let stages = v["stages"].as_array().unwrap();
    assert_eq!(stages.len(), 9);
    assert_eq!(stages[0]["sigma"], 1.7);
    assert_eq!(stages[0]["start"]["x"], 3.3);
    assert_eq!(stages[8]["sigma"], 0.0);
    assert_eq!(stages[8]["f"], v["f"]);
    assert_eq!(stages[8]["x"], v["x"]);
    // Totals are evaluations of the expression summed over the stages; a
    // blurred stage costs 256 per call (the default).
    let total: u64 = stages.iter().map(|s| s["f_evals"].as_u64().unwrap()).sum();
    assert_eq!(v["f_evals"].as_u64().unwrap(), total);
    assert_eq!(stages[0]["f_evals"].as_u64().unwrap() % 256, 1);
    for s in stages {
        for key in [
            "f_blurred",
            "iterations",
            "termination",
            "g_evals",
            "seconds",
        ] {
            assert!(s.get(key).is_some(), "{key} in {s}");
        }
    }
}

#[test]
fn the_summary_lists_the_stages() {
    let o = hesse(&[
        "minimize",
        RASTRIGIN,
        "--start",
        "x=3.3,y=-4.2",
        "--method",
        "bfgs",
        "--continuation",
        "1.7,4,64",
    ]);
    assert!(o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("Continuation stages"), "{out}");
    assert!(out.contains("continuation+bfgs"), "{out}");
    assert!(out.contains("gradient_tolerance"), "{out}");
}

#[test]
fn bad_specs_are_errors_not_panics() {
    for (spec, says) in [
        ("1", "expected SIGMA0,STAGES[,SAMPLES]"),
        ("a,3", "SIGMA0 must be a number"),
        ("1,x", "STAGES must be a whole number"),
        ("1,0", "no stages"),
        ("0,3", "σ₀ > 0"),
        ("-1,3", "σ[0] = -1"),
        ("1,3,7", "must be even"),
        ("1,3,0", "samples = 0"),
    ] {
        let o = hesse(&[
            "minimize",
            "x^2",
            "--start",
            "x=1",
            &format!("--continuation={spec}"),
        ]);
        assert_eq!(o.status.code(), Some(2), "{spec}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(says), "{spec}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// A stage count whose last width underflows is refused before anything is
/// allocated (100000 stages of 131072 points built every rule up front:
/// the process grew to 24 GB and was killed).
#[test]
fn too_many_stages_are_refused() {
    for spec in ["1.7,100000", "1.7,100000,131072", "1,1000000000000000"] {
        let o = hesse(&[
            "minimize",
            "x^2",
            "--start",
            "x=1",
            &format!("--continuation={spec}"),
        ]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{spec}: {err}");
        assert!(err.contains("at most 1023 stages"), "{spec}: {err}");
        assert!(o.stdout.is_empty(), "{spec}");
    }
    // The largest count allowed runs.
    let o = hesse(&[
        "minimize",
        "x^2",
        "--start",
        "x=1",
        "--continuation=1,1023,2",
        "--json",
    ]);
    assert_eq!(json(&o)["stages"].as_array().unwrap().len(), 1024);
}

/// `--time-limit` holds for the whole continuation, not per stage (each
/// stage used to get the full limit: 60 stages of 131072 points ran 4 s
/// under `--time-limit 0.5`). Once it is spent the blurred stages left are
/// skipped unevaluated and the last stage, the expression itself, reports
/// `time_limit` at the point reached.
#[test]
fn the_time_limit_covers_every_stage() {
    let v = json(&hesse(&[
        "minimize",
        RASTRIGIN,
        "--start",
        "x=3.3,y=-4.2",
        "--method",
        "bfgs",
        "--continuation",
        "1.7,200,131072",
        "--time-limit",
        "0.01",
        "--json",
    ]));
    assert_eq!(v["termination"], "time_limit", "{v}");
    let stages = v["stages"].as_array().unwrap();
    assert_eq!(stages.len(), 201);
    let last = &stages[200];
    assert_eq!(last["sigma"], 0.0);
    assert_eq!(last["termination"], "time_limit");
    // Skipped stages: no iterations, J_σ not evaluated (null), and the
    // point carried through unchanged to the end.
    let skipped: Vec<&Value> = stages[..200]
        .iter()
        .filter(|s| s["f_blurred"].is_null())
        .collect();
    assert!(skipped.len() > 100, "{v}");
    for s in &skipped {
        assert_eq!(s["iterations"], 0, "{s}");
        assert_eq!(s["termination"], "time_limit", "{s}");
        assert_eq!(s["start"], s["x"], "{s}");
    }
    assert_eq!(last["x"], v["x"]);
}
