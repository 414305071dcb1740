//! The `hesse` binary: output formats, exit codes and error messages.

use std::process::{Command, Output};

use serde_json::Value;

mod cli_support;

fn hesse(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hesse"))
        .args(args)
        .output()
        .expect("the hesse binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> Value {
    let out = stdout(o);
    assert_eq!(out.trim().lines().count(), 1, "one JSON line: {out}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

const ROSENBROCK: &str = "(1-x)^2 + 100*(y-x^2)^2";

#[test]
fn minimize_rosenbrock_json() {
    let o = hesse(&[
        "minimize",
        ROSENBROCK,
        "--start",
        "x=-1.2,y=1",
        "--method",
        "gd",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v = json(&o);
    for field in [
        "method",
        "converged",
        "termination",
        "message",
        "x",
        "f",
        "grad_norm",
        "iterations",
        "f_evals",
        "g_evals",
        "h_evals",
        "hv_evals",
        "seconds",
    ] {
        assert!(v.get(field).is_some(), "missing {field}: {v}");
    }
    assert_eq!(v["method"], "gd");
    assert_eq!(v["converged"], true);
    assert_eq!(v["termination"], "gradient_tolerance");
    let x = v["x"].as_object().unwrap();
    assert_eq!(x.keys().collect::<Vec<_>>(), ["x", "y"]);
    assert!((x["x"].as_f64().unwrap() - 1.0).abs() < 1e-6, "{v}");
    assert!((x["y"].as_f64().unwrap() - 1.0).abs() < 1e-6, "{v}");
    assert!(v["f"].as_f64().unwrap() < 1e-12);
    assert!(v["grad_norm"].as_f64().unwrap() <= 1e-8);
    let iterations = v["iterations"].as_u64().unwrap();
    assert!(
        iterations > 100,
        "gd needs many iterations here: {iterations}"
    );
    // One fused value_grad per accepted step at least.
    assert!(v["g_evals"].as_u64().unwrap() >= iterations);
    assert!(v["f_evals"].as_u64().unwrap() >= v["g_evals"].as_u64().unwrap());
    assert_eq!(v["h_evals"], 0);
    assert_eq!(v["hv_evals"], 0);
    assert!(v["seconds"].as_f64().unwrap() >= 0.0);
}

#[test]
fn minimize_summary_names_the_variables() {
    let o = hesse(&[
        "minimize",
        "(a-3)^2 + (b+1)^2",
        "--start",
        "a=0",
        "--start",
        "b=0",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("Status: success"), "{out}");
    assert!(
        out.contains("a = 3.0000") || out.contains("a = 2.9999"),
        "{out}"
    );
    assert!(
        out.contains("b = -1.0000") || out.contains("b = -9.9999"),
        "{out}"
    );
}

#[test]
fn not_converged_exits_zero() {
    let o = hesse(&[
        "minimize",
        ROSENBROCK,
        "--start",
        "x=-1.2,y=1",
        "--max-iter",
        "5",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["converged"], false);
    assert_eq!(v["termination"], "max_iterations");
    assert_eq!(v["iterations"], 5);
}

#[test]
fn leading_minus_and_constant_starts() {
    let o = hesse(&["minimize", "-cos(x)", "--start", "x=pi/4", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v = json(&o);
    // Any multiple of 2π is a minimizer; gradient descent's first step may
    // reach a neighbour.
    assert!((v["f"].as_f64().unwrap() + 1.0).abs() < 1e-12, "{v}");
}

#[test]
fn non_finite_numbers_are_null() {
    // 1/(x-x) is ∞ at every point: the run ends at once, f is null.
    let o = hesse(&["minimize", "x^2 + 1/(x-x)", "--start", "x=1", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["termination"], "non_finite_value");
    assert!(v["f"].is_null(), "{v}");
}

fn fails(args: &[&str], needles: &[&str]) {
    let o = hesse(args);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stdout(&o));
    assert!(stdout(&o).is_empty(), "{args:?}: stdout {}", stdout(&o));
    let err = stderr(&o);
    for n in needles {
        assert!(err.contains(n), "{args:?}: {err}");
    }
}

#[test]
fn malformed_expression_shows_the_position() {
    fails(
        &["minimize", "(1-x^2", "--start", "x=1"],
        &["column 7", "expected ')'", "(1-x^2\n        ^"],
    );
    fails(
        &["minimize", "2 * foo(x)", "--start", "x=1"],
        &["column 5", "unknown function 'foo'"],
    );
}

#[test]
fn start_values_are_checked() {
    fails(
        &["minimize", ROSENBROCK, "--start", "x=-1.2"],
        &["missing start value for y"],
    );
    fails(
        &["minimize", ROSENBROCK, "--start", "x=1,y=1,z=3"],
        &["z", "not in the expression"],
    );
    fails(
        &["minimize", ROSENBROCK, "--start", "x=1,y"],
        &["bad --start entry 'y'"],
    );
    fails(
        &["minimize", ROSENBROCK, "--start", "x=1,y=abc"],
        &["constant"],
    );
    fails(
        &["minimize", ROSENBROCK, "--start", "x=1,x=2,y=0"],
        &["x twice"],
    );
    fails(&["minimize", "3 + 4", "--start", "x=1"], &["no variables"]);
}

#[test]
fn options_are_checked() {
    fails(
        &["minimize", ROSENBROCK, "--start", "x=1,y=1", "--gtol", "-1"],
        &["--gtol -1", ">= 0"],
    );
    fails(
        &[
            "minimize", ROSENBROCK, "--start", "x=1,y=1", "--method", "nope",
        ],
        &["invalid value 'nope'", "possible values: gd, bfgs"],
    );
    fails(&["compare", "--gtol", "nan"], &["--gtol NaN"]);
    // clap's own usage errors also exit 2.
    let o = hesse(&["minimize", ROSENBROCK]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--start"));
}

#[test]
fn compare_json_parses() {
    let out = scratch("compare_json");
    let o = hesse(&[
        "compare",
        "--problems",
        "rosenbrock,extended_rosenbrock,quadratic_kappa1e2",
        "--out",
        &out,
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v = json(&o);
    let runs = v["runs"].as_array().unwrap();
    assert!(runs.len() >= 2);
    for r in runs {
        for field in [
            "method",
            "problem",
            "n",
            "solved",
            "iterations",
            "f_evals",
            "g_evals",
            "f",
            "seconds",
        ] {
            assert!(r.get(field).is_some(), "missing {field}: {r}");
        }
    }
    let rosen = runs
        .iter()
        .find(|r| r["method"] == "gd" && r["problem"] == "rosenbrock")
        .unwrap();
    assert_eq!(rosen["n"], 2);
    assert_eq!(rosen["solved"], true);
    let ext = runs
        .iter()
        .find(|r| r["problem"] == "extended_rosenbrock")
        .unwrap();
    assert_eq!(ext["n"], 1000);
    assert_eq!(runs.len(), 3 * v["summary"].as_array().unwrap().len());
    for s in v["summary"].as_array().unwrap() {
        for field in [
            "method",
            "runs",
            "solved",
            "g_evals",
            "wins_evals",
            "wins_time",
        ] {
            assert!(s.get(field).is_some(), "missing {field}: {s}");
        }
    }
    // BFGS solves all three; the profile's wins are fractions.
    let bfgs = v["summary"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["method"] == "bfgs")
        .unwrap();
    assert_eq!(bfgs["solved"], 3);
    let wins = bfgs["wins_evals"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&wins), "{bfgs}");
}

/// A fresh directory under the system's temporary directory.
fn scratch(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("hesse-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir.display().to_string()
}

#[test]
fn compare_writes_csv_and_plots() {
    let out = scratch("compare_files");
    let o = hesse(&[
        "compare",
        "--suite",
        "quick",
        "--methods",
        "bfgs,gd,newton",
        "--out",
        &out,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let dir = std::path::Path::new(&out);
    let runs = std::fs::read_to_string(dir.join("runs.csv")).unwrap();
    // A header and one row per (method, problem): 3 methods x 8 problems.
    assert_eq!(runs.lines().count(), 1 + 3 * 8, "{runs}");
    let history = std::fs::read_to_string(dir.join("history.csv")).unwrap();
    assert!(history.starts_with("method,problem,iteration,f,f_minus_f_star"));
    assert!(history.lines().count() > 3 * 8);
    for file in [
        "performance_profile_evals.svg",
        "performance_profile_time.svg",
        "data_profile.svg",
        "convergence/rosenbrock-evals.svg",
        "convergence/rosenbrock-time.svg",
    ] {
        let svg = std::fs::read_to_string(dir.join(file)).unwrap();
        assert!(svg.contains("<svg"), "{file}");
        // Axis descriptions and a legend entry per method.
        assert!(svg.contains("bfgs") && svg.contains("newton"), "{file}");
    }
    let conv = std::fs::read_to_string(dir.join("convergence/rosenbrock-evals.svg")).unwrap();
    assert!(conv.contains("f − f*"), "y axis label");
    assert!(conv.contains("evaluations"), "x axis label");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn compare_bad_options_are_clear_errors() {
    fails(
        &["compare", "--methods", "bfgs,nope"],
        &["invalid value 'nope'", "possible values: gd, bfgs"],
    );
    fails(
        &["compare", "--problems", "nope"],
        &["unknown problem 'nope'", "rosenbrock"],
    );
    fails(&["compare", "--suite", "nope"], &["unknown suite 'nope'"]);
    fails(&["compare", "--time-limit", "0"], &["--time-limit"]);
    // --out under a regular file cannot be created.
    let file = std::env::temp_dir().join(format!("hesse-cli-file-{}", std::process::id()));
    std::fs::write(&file, "x").unwrap();
    let bad = file.join("sub").display().to_string();
    fails(
        &["compare", "--suite", "quick", "--out", &bad],
        &["cannot write to --out"],
    );
    let _ = std::fs::remove_file(file);
}

/// A method or problem named twice ran twice and counted twice in the
/// profiles; a selection with nothing to run exited 0 with an empty table
/// and emptied the runs.csv and history.csv already in --out; an --out that
/// cannot take a file failed only after every run. Each is now an error
/// before any run, and the files in --out are left as they were.
#[test]
fn compare_refuses_what_it_cannot_run_or_write_before_running() {
    let out = scratch("compare_refuses");
    std::fs::create_dir_all(&out).unwrap();
    let runs = format!("{out}/runs.csv");
    std::fs::write(&runs, "the user's earlier runs").unwrap();
    let quick = ["compare", "--suite", "quick", "--no-plots", "--out", &out];
    let with = |extra: &[&str]| -> Vec<String> {
        quick.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    for (extra, needle) in [
        (
            vec!["--methods", "bfgs,lbfgs,bfgs"],
            "--methods names bfgs twice",
        ),
        (
            vec!["--problems", "rosenbrock,mgh05_beale,rosenbrock"],
            "--problems names rosenbrock twice",
        ),
    ] {
        let args = with(&extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        fails(&args, &[needle]);
    }
    fails(
        &[
            "compare",
            "--suite",
            "bounds",
            "--methods",
            "bfgs,newton",
            "--out",
            &out,
        ],
        &[
            "nothing to run: suite 'bounds' has no problem for --methods bfgs, newton",
            "lbfgsb, tron",
        ],
    );
    assert_eq!(
        std::fs::read_to_string(&runs).unwrap(),
        "the user's earlier runs"
    );
    // history.csv blocked by a directory: refused before the runs, so
    // runs.csv (written first after them) is untouched.
    std::fs::create_dir_all(format!("{out}/history.csv")).unwrap();
    fails(
        &quick,
        &[
            "cannot write to --out",
            "history.csv: a directory is in the way",
        ],
    );
    assert_eq!(
        std::fs::read_to_string(&runs).unwrap(),
        "the user's earlier runs"
    );
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn compare_table_and_limits() {
    let out = scratch("compare_table");
    let o = hesse(&["compare", "--max-iter", "10", "--no-plots", "--out", &out]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("method"), "{out}");
    assert!(out.contains("rosenbrock"), "{out}");
    assert!(out.contains("max_iterations"), "{out}");
    // Ten iterations solve the linear MGH problems with Newton and little
    // else: far from all of the 16 methods × 42 problems (669 runs: the dense
    // three skip digits_mlp, n = 1210 > --dense-max-n; 168 solved with
    // lbfgsb and tron in the table), plus lbfgsb and tron on the 18 bounded
    // MGH problems (36 runs).
    let last = out.lines().last().unwrap();
    let solved: usize = last.split(' ').next().unwrap().parse().unwrap();
    assert!(last.ends_with("of 705 runs solved"), "{last}");
    assert!(solved < 200, "{last}");
    // The per-method summary lists every method.
    assert!(
        out.lines()
            .any(|l| l.starts_with("method") && l.contains("solved") && l.contains("wins")),
        "{out}"
    );
}

/// `x⁴/4 − x²/2 + y²/2 + y` from (0, 0.5): the gradient has no x component
/// on the line x = 0, where the Hessian's negative curvature lies (the hard
/// case). `newton-tr` steps off the line to a minimizer (±1, −1), f = −3/4;
/// `newton` (modified Cholesky) converges to the saddle (0, −1), f = −1/2.
#[test]
fn newton_tr_leaves_the_saddle_newton_converges_to() {
    let f = "x^4/4 - x^2/2 + y^2/2 + y";
    let run = |method: &str| {
        let o = hesse(&[
            "minimize",
            f,
            "--start",
            "x=0,y=0.5",
            "--method",
            method,
            "--json",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        json(&o)
    };
    let tr = run("newton-tr");
    assert_eq!(tr["method"], "newton-tr");
    assert_eq!(tr["converged"], true, "{tr}");
    assert!((tr["f"].as_f64().unwrap() + 0.75).abs() < 1e-12, "{tr}");
    let x = tr["x"]["x"].as_f64().unwrap();
    assert!((x.abs() - 1.0).abs() < 1e-8, "{tr}");
    let newton = run("newton");
    assert!(
        (newton["f"].as_f64().unwrap() + 0.5).abs() < 1e-12,
        "{newton}"
    );
    assert_eq!(newton["x"]["x"].as_f64().unwrap(), 0.0, "{newton}");
}

/// Starts `hesse args`, sends it SIGINT after `wait`, and returns its output.
#[cfg(target_os = "linux")]
fn interrupted(args: &[&str], wait: std::time::Duration) -> std::process::Output {
    let child = cli_support::with_default_sigint(&mut Command::new(env!("CARGO_BIN_EXE_hesse")))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the hesse binary runs");
    std::thread::sleep(wait);
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(kill.success());
    child.wait_with_output().unwrap()
}

/// Ctrl-C (SIGINT) ends a run at the end of the current iteration with the
/// report of the run so far (`user_stop`) and exit status 130; it used to
/// kill the process with nothing printed. compare keeps the runs made so far
/// and writes its files.
#[cfg(target_os = "linux")]
#[test]
fn ctrl_c_ends_the_run_with_a_report() {
    let wait = std::time::Duration::from_millis(500);
    // A run that would take minutes (capped at 120 s should SIGINT be lost).
    let o = interrupted(
        &[
            "minimize",
            "(1-x)^2 + 100*(y-x^2)^2",
            "--start",
            "x=-1.2,y=1",
            "--method",
            "sgd",
            "--lr",
            "1e-7",
            "--gtol",
            "0",
            "--max-iter",
            "4000000000",
            "--time-limit",
            "120",
            "--json",
        ],
        wait,
    );
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("interrupted (Ctrl-C)"),
        "{}",
        stderr(&o)
    );
    let v = json(&o);
    assert_eq!(v["termination"], "user_stop", "{v}");
    assert_eq!(v["converged"], false);
    assert!(v["iterations"].as_u64().unwrap() > 0, "{v}");
    assert!(v["f"].as_f64().unwrap() < 24.2, "{v}");

    let out = scratch("compare_ctrl_c");
    let o = interrupted(&["compare", "--no-plots", "--json", "--out", &out], wait);
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    let v = json(&o);
    let runs = v["runs"].as_array().unwrap();
    assert!(!runs.is_empty() && runs.len() < 705, "{} runs", runs.len());
    let csv = std::fs::read_to_string(format!("{out}/runs.csv")).unwrap();
    assert_eq!(csv.lines().count(), runs.len() + 1);
    let _ = std::fs::remove_dir_all(&out);
}
