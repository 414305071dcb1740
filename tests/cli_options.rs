//! Issue 18, the command line: no silent wrong result in `train` (item 1),
//! defaults and options that apply or exit 2 (item 4), the expression
//! language's new functions and finite starts (item 9), output a user asked
//! for (item 10), and random option values that never panic.

use std::path::PathBuf;
use std::process::{Command, Output};

use proptest::prelude::*;
use serde_json::Value;

fn hesse(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hesse"))
        .args(args)
        .output()
        .expect("the hesse binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn ok_json(args: &[&str]) -> Value {
    let o = hesse(args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {}", stdout(&o)))
}

fn fails(args: &[&str], needles: &[&str]) {
    let o = hesse(args);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stdout(&o));
    let err = stderr(&o);
    for n in needles {
        assert!(err.contains(n), "{args:?}: {err}");
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hesse-opts-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

const ROSENBROCK: &str = "(1-x)^2 + 100*(y-x^2)^2";

// ---------------------------------------------------------------------------
// Item 1: train's data × task × loss × activation
// ---------------------------------------------------------------------------

/// Every `--data` (the three embedded sets; MNIST's targets are swept in the
/// binary's unit test) × `--task` × `--loss` × `--activation`, one epoch on
/// full-size minibatches: exit 0 with a finite loss, accuracy exactly for
/// softmax-ce, or exit 2 with the message that says why. On main
/// `--data teacher --loss softmax-ce` exited 0 with loss 0 and accuracy 1.
#[test]
fn train_sweeps_every_combination() {
    let out = scratch("sweep");
    let out_s = out.to_str().unwrap();
    let mut ran = 0;
    for data in ["spirals", "teacher", "digits"] {
        let classes = data != "teacher";
        for task in ["classify", "autoencoder"] {
            for loss in ["softmax-ce", "logistic-ce", "mse"] {
                let expected = match loss {
                    "mse" => Ok(()),
                    "softmax-ce" if classes && task == "classify" => Ok(()),
                    "softmax-ce" => {
                        Err("--loss softmax-ce needs class labels and at least 2 outputs")
                    }
                    _ if data == "teacher" && task == "classify" => {
                        Err("--loss logistic-ce needs targets in [0, 1]")
                    }
                    _ => Ok(()),
                };
                for activation in ["tanh", "logistic", "relu", "softplus", "identity"] {
                    let args = [
                        "train",
                        "--data",
                        data,
                        "--task",
                        task,
                        "--loss",
                        loss,
                        "--activation",
                        activation,
                        "--epochs",
                        "1",
                        "--batch",
                        "400",
                        "--json",
                        "--out",
                        out_s,
                    ];
                    let o = hesse(&args);
                    match expected {
                        Ok(()) => {
                            assert!(o.status.success(), "{args:?}: {}", stderr(&o));
                            let v: Value = serde_json::from_slice(&o.stdout).unwrap();
                            assert_eq!(v["loss_function"], loss);
                            assert!(v["train_loss"].as_f64().is_some_and(f64::is_finite), "{v}");
                            assert_eq!(
                                v["val_accuracy"].is_number(),
                                loss == "softmax-ce",
                                "{args:?}: accuracy only for classes: {v}"
                            );
                            ran += 1;
                        }
                        Err(message) => {
                            assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stdout(&o));
                            let err = stderr(&o);
                            assert!(
                                err.starts_with("error: ") && err.contains(message),
                                "{args:?}: {err}"
                            );
                            assert!(o.stdout.is_empty());
                        }
                    }
                }
            }
        }
    }
    assert_eq!(ran, 13 * 5, "runs that trained");
    let _ = std::fs::remove_dir_all(&out);
}

/// The command: a regression set with softmax-ce exits 2 naming
/// the problem and the fix.
#[test]
fn train_softmax_on_regression_exits_2() {
    fails(
        &[
            "train",
            "--data",
            "teacher",
            "--loss",
            "softmax-ce",
            "--epochs",
            "3",
        ],
        &[
            "--data teacher is a regression set (1 real-valued output)",
            "use mse",
        ],
    );
    fails(
        &["train", "--task", "autoencoder", "--loss", "softmax-ce"],
        &["inputs scaled into [0, 1], not class labels"],
    );
}

// ---------------------------------------------------------------------------
// Item 4: minimize's default, the option table, ValueEnums, new options
// ---------------------------------------------------------------------------

/// The default method is bfgs (scipy's unconstrained default): Rosenbrock
/// in tens of iterations, where gd (main's default) took ~15,000.
#[test]
fn minimize_defaults_to_bfgs() {
    let v = ok_json(&["minimize", ROSENBROCK, "--start", "x=-1.2,y=1", "--json"]);
    assert_eq!(v["method"], "bfgs");
    assert_eq!(v["termination"], "gradient_tolerance");
    assert!(v["iterations"].as_u64().unwrap() <= 60, "{v}");
    let o = hesse(&["minimize", "--help"]);
    let help = stdout(&o);
    assert!(help.contains("[default: bfgs]"), "{help}");
    assert!(help.contains("scipy.optimize.minimize's default"), "{help}");
}

/// Every method-specific option with every method: exit 0 where the table
/// says it applies, else exit 2 naming the methods it applies to. On main
/// `--memory 0 --method gd` was accepted and ignored.
#[test]
fn every_option_applies_or_exits_2() {
    let methods = [
        "gd",
        "bfgs",
        "lbfgs",
        "lbfgsb",
        "cg-fr",
        "cg-pr",
        "cg-pr+",
        "cg-hs",
        "cg-dy",
        "cg-hz",
        "newton",
        "newton-tr",
        "newton-cg",
        "newton-cg-tr",
        "tron",
        "saddle-free-newton",
        "sgd",
        "momentum",
        "nesterov",
        "adagrad",
        "rmsprop",
        "rmsprop-nesterov",
        "adam",
        "adadelta",
        "coordinate-descent",
    ];
    let fixed = &methods[16..24];
    let options: &[(&[&str], &[&str])] = &[
        (&["--memory", "5"], &["lbfgs", "lbfgsb"]),
        (&["--bounds", "x=0:1"], &["lbfgsb", "tron"]),
        (&["--ftol", "1e-12"], &methods),
        (&["--xtol", "1e-12"], &methods),
        (&["--max-evals", "500"], &methods),
        (&["--trace"], &methods),
        (&["--lr", "0.01"], fixed),
        (
            &["--momentum", "0.5"],
            &["momentum", "nesterov", "rmsprop-nesterov"],
        ),
        (
            &["--rho", "0.9"],
            &["rmsprop", "rmsprop-nesterov", "adadelta"],
        ),
        (&["--beta1", "0.8"], &["adam"]),
        (&["--beta2", "0.99"], &["adam"]),
        (
            &["--eps", "1e-7"],
            &["adagrad", "rmsprop", "rmsprop-nesterov", "adam", "adadelta"],
        ),
        (&["--schedule", "constant"], fixed),
        (&["--clip-norm", "10"], fixed),
        (&["--clip-value", "10"], fixed),
        (&["--average", "polyak"], fixed),
    ];
    for (option, takers) in options {
        for method in methods {
            let mut args = vec![
                "minimize",
                "(x-1)^2 + 2*(y+0.5)^2",
                "--start",
                "x=0,y=0",
                "--max-iter",
                "20",
                "--method",
                method,
                "--json",
            ];
            args.extend_from_slice(option);
            let o = hesse(&args);
            if takers.contains(&method) {
                assert!(o.status.success(), "{args:?}: {}", stderr(&o));
            } else {
                assert_eq!(o.status.code(), Some(2), "{args:?} was accepted");
                let expected = format!(
                    "error: {} does not apply to method {method} (it applies to {})\n",
                    option[0],
                    takers.join(", ")
                );
                assert_eq!(stderr(&o), expected, "{args:?}");
            }
        }
    }
}

/// Names are clap ValueEnums: possible values in --help, "did you mean" on
/// a typo, for every command.
#[test]
fn names_are_value_enums_with_suggestions() {
    fails(
        &[
            "minimize", ROSENBROCK, "--start", "x=1,y=1", "--method", "bgfs",
        ],
        &[
            "invalid value 'bgfs' for '--method <METHOD>'",
            "a similar value exists: 'bfgs'",
        ],
    );
    fails(
        &["compare", "--methods", "lbfgs,newton-gc"],
        &[
            "invalid value 'newton-gc'",
            "a similar value exists: 'newton-cg'",
        ],
    );
    for (flag, typo, right) in [
        ("--optimizer", "adma", "adam"),
        ("--data", "spiral", "spirals"),
        ("--activation", "tahn", "tanh"),
        ("--loss", "softmax", "softmax-ce"),
        ("--task", "autoencode", "autoencoder"),
    ] {
        fails(
            &["train", flag, typo],
            &[&format!("a similar value exists: '{right}'")],
        );
    }
    let help = stdout(&hesse(&["minimize", "--help"]));
    for m in [
        "gd:",
        "bfgs:",
        "lbfgs:",
        "newton-cg-tr:",
        "adadelta:",
        "coordinate-descent:",
    ] {
        assert!(help.contains(m), "{m}: {help}");
    }
    let help = stdout(&hesse(&["train", "--help"]));
    for needle in [
        "- kfac:",
        "- hf:",
        "- natural:",
        "- lbfgs:",
        "- teacher:",
        "- softmax-ce:",
        "- relu:",
        "- autoencoder:",
    ] {
        assert!(help.contains(needle), "{needle}: {help}");
    }
    // train has no --max-iter, and its --schedule help does not send the
    // reader there.
    assert!(!help.contains("--max-iter"), "{help}");
    assert!(!help.contains("max-iter"), "{help}");
}

/// `--ftol`, `--xtol`, `--max-evals`, `--time-limit` map onto the library's
/// tests and end the run with their terminations; bad values exit 2.
#[test]
fn new_stopping_options() {
    let run = |extra: &[&str]| {
        let mut args = vec![
            "minimize",
            ROSENBROCK,
            "--start",
            "x=-1.2,y=1",
            "--method",
            "gd",
            "--json",
        ];
        args.extend_from_slice(extra);
        ok_json(&args)
    };
    let v = run(&["--ftol", "1e-4"]);
    assert_eq!(v["termination"], "function_tolerance", "{v}");
    let v = run(&["--xtol", "1e-3"]);
    assert_eq!(v["termination"], "step_tolerance", "{v}");
    let v = run(&["--max-evals", "50"]);
    assert_eq!(v["termination"], "max_evaluations", "{v}");
    let total = ["f_evals", "g_evals", "h_evals", "hv_evals"]
        .iter()
        .map(|k| v[k].as_u64().unwrap())
        .sum::<u64>();
    assert!((50..=60).contains(&total), "{v}");
    let v = run(&["--time-limit", "1e-6"]);
    assert_eq!(v["termination"], "time_limit", "{v}");
    for (flag, value, needle) in [
        ("--ftol", "-1", "--ftol -1"),
        ("--xtol", "nan", "--xtol NaN"),
        ("--time-limit", "0", "--time-limit 0"),
        ("--time-limit", "inf", "--time-limit inf"),
        ("--time-limit", "1e300", "--time-limit 1000000"),
        ("--max-evals", "0", "--max-evals 0"),
        ("--max-evals", "-3", "invalid value '-3'"),
    ] {
        fails(
            &["minimize", ROSENBROCK, "--start", "x=1,y=1", flag, value],
            &[needle],
        );
    }
}

/// `--trace`: a header, then one line per iteration (0 included, the last
/// included) to stderr, with k, f, ‖g‖∞, step and the evaluations; stdout
/// is unchanged.
#[test]
fn trace_prints_every_iteration() {
    for method in ["bfgs", "newton-tr", "adam", "coordinate-descent"] {
        let o = hesse(&[
            "minimize",
            ROSENBROCK,
            "--start",
            "x=-1.2,y=1",
            "--method",
            method,
            "--max-iter",
            "30",
            "--trace",
            "--json",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        let err = stderr(&o);
        let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("trace:")).collect();
        assert!(
            lines[0].contains("‖g‖∞") && lines[0].contains("f evals"),
            "{err}"
        );
        let iterations = v["iterations"].as_u64().unwrap() as usize;
        assert_eq!(lines.len(), iterations + 2, "{method}: {err}");
        let last: Vec<&str> = lines.last().unwrap().split_whitespace().collect();
        assert_eq!(last[1], iterations.to_string(), "{err}");
        let f: f64 = last[2].parse().unwrap();
        assert_eq!(f, v["f"].as_f64().unwrap(), "{method}");
        assert_eq!(last[6], v["f_evals"].to_string(), "{method}: {err}");
    }
    // Without --trace, nothing on stderr.
    let o = hesse(&["minimize", ROSENBROCK, "--start", "x=-1.2,y=1"]);
    assert!(o.stderr.is_empty());
}

/// A tolerance that is off reads "(test off)", never `≰ 0.0e0`; fit shows
/// MINPACK's tolerances rather than zeros.
#[test]
fn summaries_say_off() {
    let o = hesse(&["minimize", ROSENBROCK, "--start", "x=-1.2,y=1"]);
    let out = stdout(&o);
    assert!(
        out.contains("|x - x'|            = ") && out.contains("(test off)"),
        "{out}"
    );
    assert!(!out.contains("0.0e0"), "{out}");
    let o = hesse(&[
        "minimize",
        ROSENBROCK,
        "--start",
        "x=-1.2,y=1",
        "--xtol",
        "1e-6",
    ]);
    let out = stdout(&o);
    let line = out.lines().find(|l| l.contains("|x - x'|")).unwrap();
    assert!(line.contains("xtol 1.0e-6 ×"), "{out}");
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/nist/Misra1a.dat");
    let o = hesse(&["fit", "--data", data]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("(ftol 1.0e-15)") && out.contains("(xtol 1.0e-15)"),
        "{out}"
    );
    assert!(out.contains("gtol off"), "{out}");
    assert!(!out.contains("0.0e0"), "{out}");
}

// ---------------------------------------------------------------------------
// Item 9: new functions on the command line, finite starts
// ---------------------------------------------------------------------------

#[test]
fn new_functions_and_finite_starts() {
    // hypot(x-1, y-2) + max(x, 1): minimized at (1, 2), where hypot's kink
    // has gradient 0; newton-tr and bfgs from a smooth start.
    let v = ok_json(&[
        "minimize",
        "(atan2(y, x) - 0.5)^2 + (hypot(x, y) - 2)^2 + erfc(x)^2 * 0 + log2(4) + log10(100)",
        "--start",
        "x=1,y=1",
        "--method",
        "newton-tr",
        "--json",
    ]);
    assert_eq!(v["termination"], "gradient_tolerance", "{v}");
    let (x, y) = (v["x"]["x"].as_f64().unwrap(), v["x"]["y"].as_f64().unwrap());
    assert!(
        (y.atan2(x) - 0.5).abs() < 1e-8 && (x.hypot(y) - 2.0).abs() < 1e-8,
        "{v}"
    );
    assert!((v["f"].as_f64().unwrap() - 4.0).abs() < 1e-12, "{v}");
    for (start, needle) in [
        ("x=nan", "starts must be finite numbers ('nan' is not one)"),
        ("x=NaN", "starts must be finite numbers ('NaN' is not one)"),
        ("x=-inf", "starts must be finite numbers ('inf' is not one)"),
        ("x=1/0", "starts must be finite numbers, this one is inf"),
        ("x=ln(0)", "starts must be finite numbers, this one is -inf"),
    ] {
        fails(&["minimize", "x^2", "--start", start], &[needle]);
    }
}

/// An L-BFGS memory too large for the machine is an invalid option (exit 2
/// naming it), not an abort on a failed allocation: `--memory 100000` asked
/// for 80 GB of `(m + 1)²` products and the process died with SIGABRT (134).
#[test]
fn a_memory_too_large_to_allocate_exits_2() {
    for method in ["lbfgs", "lbfgsb"] {
        // 10⁹: 8e18 bytes, past any address space; 2³²: (m + 1)² overflows.
        for m in ["1000000000", "4294967296", "18446744073709551615"] {
            fails(
                &[
                    "minimize",
                    "x^2 + y^2",
                    "--start",
                    "x=1,y=1",
                    "--method",
                    method,
                    "--memory",
                    m,
                ],
                &[
                    &format!("invalid option memory = {m} ("),
                    "GB of workspace): the workspace it sizes cannot be allocated",
                ],
            );
        }
        // A large memory that fits still runs (the pairs never fill it).
        let v = ok_json(&[
            "minimize",
            "x^2 + y^2",
            "--start",
            "x=1,y=1",
            "--method",
            method,
            "--memory",
            "1000",
            "--json",
        ]);
        assert_eq!(v["termination"], "gradient_tolerance", "{v}");
    }
}

/// A negative count names its flag: clap took `-1` for an unknown option
/// and said only "unexpected argument '-1' found".
#[test]
fn negative_counts_name_their_flag() {
    let data = std::env::temp_dir().join(format!("hesse-opts-neg-{}.csv", std::process::id()));
    std::fs::write(&data, "x,y\n1,2\n2,4\n").unwrap();
    let data = data.to_str().unwrap();
    let min = ["minimize", "x^2", "--start", "x=1"];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            [&min[..], &["--max-iter", "-1"]].concat(),
            "'--max-iter <MAX_ITER>'",
        ),
        (
            [&min[..], &["--method", "lbfgs", "--memory", "-1"]].concat(),
            "'--memory <MEMORY>'",
        ),
        (vec!["train", "--seed", "-1"], "'--seed <SEED>'"),
        (vec!["train", "--epochs", "-1"], "'--epochs <EPOCHS>'"),
        (vec!["train", "--patience", "-3"], "'--patience <PATIENCE>'"),
        (
            vec!["train", "--optimizer", "hf", "--cg-iters", "-1"],
            "'--cg-iters <N>'",
        ),
        (
            vec!["train", "--optimizer", "kfac", "--curvature-batch", "-1"],
            "'--curvature-batch <N>'",
        ),
        (
            vec!["train", "--optimizer", "sophia", "--hessian-period", "-1"],
            "'--hessian-period <K>'",
        ),
        (
            vec![
                "train",
                "--optimizer",
                "soap",
                "--precondition-frequency",
                "-1",
            ],
            "'--precondition-frequency <T>'",
        ),
        (
            vec!["train", "--optimizer", "sophia", "--betas", "-1,0.9"],
            "beta1 = -1",
        ),
        (
            vec!["compare", "--max-iter", "-1"],
            "'--max-iter <MAX_ITER>'",
        ),
        (
            vec!["compare", "--dense-max-n", "-1"],
            "'--dense-max-n <DENSE_MAX_N>'",
        ),
        (
            vec![
                "fit",
                "a*x",
                "--data",
                data,
                "--start",
                "a=1",
                "--max-iter",
                "-1",
            ],
            "'--max-iter <MAX_ITER>'",
        ),
    ];
    for (args, needle) in cases {
        fails(&args, &[needle]);
        assert!(
            !stderr(&hesse(&args)).contains("unexpected argument"),
            "{args:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// Item 10: output a user asked for
// ---------------------------------------------------------------------------

/// `train --optimizer lbfgs --epochs 5` runs and reports 5 epochs (main: 4).
#[test]
fn lbfgs_reports_every_epoch() {
    let out = scratch("lbfgs5");
    let v = ok_json(&[
        "train",
        "--optimizer",
        "lbfgs",
        "--epochs",
        "5",
        "--json",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(v["epochs"], 5, "{v}");
    let epochs: Vec<u64> = v["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["epoch"].as_u64().unwrap())
        .collect();
    assert_eq!(epochs, [1, 2, 3, 4, 5]);
    let csv = std::fs::read_to_string(out.join("history.csv")).unwrap();
    assert_eq!(csv.lines().count(), 6, "{csv}");
    let _ = std::fs::remove_dir_all(&out);
}

/// `compare` thins history.csv by default (log-spaced iterations per run)
/// and writes every iteration with --full-history; --no-plots says it
/// wrote CSV files only.
#[test]
fn compare_history_is_thin_by_default() {
    let thin = scratch("thin");
    let full = scratch("full");
    let base = [
        "compare",
        "--suite",
        "quick",
        "--methods",
        "gd,bfgs",
        "--no-plots",
    ];
    let mut args = base.to_vec();
    args.extend_from_slice(&["--out", thin.to_str().unwrap()]);
    let o = hesse(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let table = stdout(&o);
    assert!(
        table.contains("CSV files (runs.csv, history.csv) in"),
        "{table}"
    );
    assert!(!table.contains("SVG"), "{table}");
    assert!(!thin.join("convergence").exists());
    let mut args = base.to_vec();
    args.extend_from_slice(&["--out", full.to_str().unwrap(), "--full-history"]);
    assert!(hesse(&args).status.success());
    let rows = |dir: &PathBuf| {
        let text = std::fs::read_to_string(dir.join("history.csv")).unwrap();
        text.lines().count() - 1
    };
    let (n_thin, n_full) = (rows(&thin), rows(&full));
    let runs = std::fs::read_to_string(thin.join("runs.csv")).unwrap();
    let iterations: Vec<f64> = {
        let mut r = csv_column(&runs, "iterations");
        r.iter_mut().for_each(|i| *i += 1.0);
        r
    };
    assert_eq!(
        n_full as f64,
        iterations.iter().sum::<f64>(),
        "one row per iteration"
    );
    let bound: f64 = iterations
        .iter()
        .map(|&n| n.min(10.0) + (10.0 * (n / 10.0).log10()).max(0.0).ceil() + 2.0)
        .sum();
    assert!((n_thin as f64) <= bound, "{n_thin} > {bound}");
    assert!(n_thin * 20 < n_full, "{n_thin} vs {n_full}");
    let _ = std::fs::remove_dir_all(&thin);
    let _ = std::fs::remove_dir_all(&full);
}

fn csv_column(text: &str, name: &str) -> Vec<f64> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let j = header.iter().position(|h| *h == name).unwrap();
    lines
        .map(|l| l.split(',').nth(j).unwrap().parse().unwrap())
        .collect()
}

// ---------------------------------------------------------------------------
// Random and malformed values never panic
// ---------------------------------------------------------------------------

/// A value for an option: numbers of every kind, names, garbage.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<f64>().prop_map(|v| v.to_string()),
        any::<i64>().prop_map(|v| v.to_string()),
        Just("nan".to_string()),
        Just("-inf".to_string()),
        Just("0".to_string()),
        Just("".to_string()),
        "[a-z+:=,.-]{0,12}",
        "[ -~]{0,16}",
    ]
}

/// An expression: well-formed pieces with the new functions, or garbage.
fn expression() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "x^2 + y^2",
            "atan2(y, x)",
            "min(x, y) + max(x, 2)",
            "hypot(x, y)",
            "erf(x) + erfc(y)",
            "log10(x) + log2(y)",
            "x - y^2",
            "min(x,)",
            "atan2(x)",
            "hypot(x, y, 1)",
            "max[x, y]",
        ])
        .prop_map(String::from),
        "[xy0-9+*/^(),. a-z-]{0,24}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// `minimize` with a random method, option and value, on a random
    /// expression: exit 0, or exit 2 with `error:`; never a panic (101).
    #[test]
    fn minimize_never_panics(
        expr in expression(),
        method in prop::sample::select(vec![
            "gd", "bfgs", "lbfgs", "cg-hz", "newton", "newton-tr", "newton-cg", "saddle-free-newton",
            "adam", "sgd", "coordinate-descent", "bfgs2", "",
        ]),
        option in prop::sample::select(vec![
            "--gtol", "--ftol", "--xtol", "--max-iter", "--max-evals", "--time-limit", "--memory",
            "--lr", "--momentum", "--rho", "--beta1", "--eps", "--schedule", "--clip-norm",
            "--average", "--continuation", "--start",
        ]),
        value in value(),
        trace in any::<bool>(),
    ) {
        let mut args = vec![
            "minimize".to_string(), expr, "--start".into(), "x=0.5,y=0.25".into(),
            "--method".into(), method.into(), "--max-iter".into(), "50".into(),
            "--time-limit".into(), "5".into(), option.into(), value, "--json".into(),
        ];
        if trace {
            args.push("--trace".into());
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = hesse(&refs);
        let code = o.status.code();
        prop_assert!(code == Some(0) || code == Some(2), "{args:?}: {code:?} {}", stderr(&o));
        if code == Some(2) {
            prop_assert!(stderr(&o).starts_with("error:"), "{args:?}: {}", stderr(&o));
        } else {
            prop_assert!(serde_json::from_slice::<Value>(&o.stdout).is_ok(), "{args:?}");
        }
    }

    /// `train` with random names and values: exit 0 or 2, never a panic.
    #[test]
    fn train_never_panics(
        option in prop::sample::select(vec![
            "--data", "--task", "--loss", "--activation", "--optimizer", "--batch", "--layers",
            "--epochs", "--lr", "--damping", "--curvature-batch", "--patience", "--schedule",
        ]),
        value in prop_oneof![
            value(),
            prop::sample::select(vec![
                "teacher", "spirals", "autoencoder", "softmax-ce", "logistic-ce", "mse", "relu",
                "identity", "lbfgs", "kfac", "hf", "mnist:/nonexistent", "2,4,2", "-5", "1",
            ]).prop_map(String::from),
        ],
    ) {
        let out = scratch("prop");
        let args = [
            "train", "--data", "spirals", "--epochs", "1", "--batch", "200", "--out",
            out.to_str().unwrap(), option, &value, "--json",
        ];
        let o = hesse(&args);
        let code = o.status.code();
        prop_assert!(code == Some(0) || code == Some(2), "{args:?}: {code:?} {}", stderr(&o));
        if code == Some(2) {
            prop_assert!(stderr(&o).starts_with("error:"), "{args:?}: {}", stderr(&o));
        }
        let _ = std::fs::remove_dir_all(&out);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// `compare --time-limit` past 1e9 s is refused, not a panic (main
    /// panicked in `Duration::from_secs_f64`).
    #[test]
    fn compare_never_panics_on_huge_time_limits(t in 1e9f64..1e308) {
        let out = scratch("prop-compare-t");
        let t = t.to_string();
        let o = hesse(&["compare", "--time-limit", &t, "--out", out.to_str().unwrap()]);
        prop_assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        prop_assert!(stderr(&o).contains("< 1e9"), "{}", stderr(&o));
    }

    /// `compare` with random method lists and option values on one small
    /// problem: exit 0 or 2, never a panic.
    #[test]
    fn compare_never_panics(
        methods in prop::collection::vec(
            prop::sample::select(vec!["gd", "bfgs", "newton-cg", "cg-hz", "adam", "nope", ""]),
            1..3,
        ),
        option in prop::sample::select(vec![
            "--gtol", "--max-iter", "--time-limit", "--dense-max-n", "--suite", "--problems",
        ]),
        value in value(),
        full in any::<bool>(),
    ) {
        let out = scratch("prop-compare");
        let list = methods.join(",");
        let mut args = vec![
            "compare", "--suite", "quick", "--problems", "rosenbrock", "--max-iter", "30",
            "--no-plots", "--methods", &list, "--out", out.to_str().unwrap(), option, &value,
        ];
        if full {
            args.push("--full-history");
        }
        let o = hesse(&args);
        let code = o.status.code();
        prop_assert!(code == Some(0) || code == Some(2), "{args:?}: {code:?} {}", stderr(&o));
        if code == Some(2) {
            prop_assert!(stderr(&o).starts_with("error:"), "{args:?}: {}", stderr(&o));
        }
        let _ = std::fs::remove_dir_all(&out);
    }
}
