//! `hesse train`: the issue's digits run reaches 95% validation accuracy,
//! the JSON has its fields, `--out` gets history.csv and loss.svg, and bad
//! input exits 2 with a message that names the problem.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

mod cli_support;

fn hesse(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hesse"))
        .args(args)
        .output()
        .expect("the hesse binary runs")
}

/// A fresh directory under the system temp dir for one test's `--out`.
fn out_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hesse-train-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn train_json(args: &[&str], out: &Path) -> Value {
    let mut all = vec!["train"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--json", "--out", out.to_str().unwrap()]);
    let o = hesse(&all);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

const ISSUE: &[&str] = &[
    "--data",
    "digits",
    "--layers",
    "64,32,10",
    "--activation",
    "tanh",
    "--loss",
    "softmax-ce",
    "--optimizer",
    "adam",
    "--lr",
    "0.003",
    "--batch",
    "128",
    "--epochs",
    "30",
    "--seed",
    "0",
];

#[test]
fn issue_command_reaches_95_percent_and_writes_the_curve() {
    let out = out_dir("issue");
    let v = train_json(ISSUE, &out);
    for key in [
        "train_loss",
        "val_loss",
        "train_accuracy",
        "val_accuracy",
        "epochs",
        "seconds",
        "history",
    ] {
        assert!(v.get(key).is_some(), "missing {key} in {v}");
    }
    let val_accuracy = v["val_accuracy"].as_f64().unwrap();
    assert!(val_accuracy >= 0.95, "val_accuracy {val_accuracy}");
    assert!(v["train_accuracy"].as_f64().unwrap() >= val_accuracy - 0.05);
    assert!(v["val_loss"].as_f64().unwrap() < 0.5);
    assert_eq!(v["epochs"], 30);
    assert_eq!(
        (v["n_train"].as_u64(), v["n_val"].as_u64()),
        (Some(1438), Some(359))
    );
    // Its time (0.16 s here, the issue asks for under a minute) is measured
    // by running the command, not asserted: a loaded CI machine is no clock.
    assert!(v["seconds"].as_f64().is_some(), "{v}");
    let history = v["history"].as_array().unwrap();
    assert_eq!(history.len(), 30);
    for (i, h) in history.iter().enumerate() {
        assert_eq!(h["epoch"], i as u64 + 1);
        for key in ["train_loss", "val_loss", "val_accuracy", "lr", "seconds"] {
            assert!(h[key].is_number(), "epoch {}: {key} in {h}", i + 1);
        }
    }

    let csv = std::fs::read_to_string(out.join("history.csv")).unwrap();
    assert!(csv.starts_with("epoch,train_loss,val_loss,val_accuracy,lr,seconds\n"));
    assert_eq!(csv.lines().count(), 31);
    let svg = std::fs::read_to_string(out.join("loss.svg")).unwrap();
    assert!(svg.contains("<svg") && svg.contains("validation"));
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn same_seed_same_run_and_table_output() {
    let out = out_dir("table");
    let args = [
        "train", "--data", "spirals", "--epochs", "3", "--batch", "50",
    ];
    let mut with_out = args.to_vec();
    with_out.extend_from_slice(&["--out", out.to_str().unwrap()]);
    let a = hesse(&with_out);
    let b = hesse(&with_out);
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    let text = String::from_utf8_lossy(&a.stdout);
    assert!(text.contains("validation: loss"), "{text}");
    // Identical apart from the timing line.
    let strip = |s: &[u8]| {
        String::from_utf8_lossy(s)
            .lines()
            .filter(|l| !l.contains(" s;"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&a.stdout), strip(&b.stdout));
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn regression_and_autoencoder_have_no_accuracy() {
    let out = out_dir("tasks");
    let v = train_json(
        &["--data", "teacher", "--layers", "10,16,1", "--epochs", "3"],
        &out,
    );
    assert_eq!(v["loss_function"], "mse");
    assert!(v["val_accuracy"].is_null() && v["val_loss"].as_f64().unwrap() > 0.0);
    let v = train_json(
        &[
            "--task",
            "autoencoder",
            "--layers",
            "64,16,64",
            "--epochs",
            "2",
        ],
        &out,
    );
    assert_eq!(v["loss_function"], "logistic-ce");
    assert!(v["train_accuracy"].is_null());
    assert_eq!(v["history"].as_array().unwrap().len(), 2);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn bad_input_exits_2_with_a_clear_message() {
    let out = out_dir("bad");
    let cases: &[(&[&str], &str)] = &[
        (&["--lr", "0"], "learning rate"),
        (&["--lr", "-0.1"], "learning rate"),
        (&["--optimizer", "rmsprop", "--rho", "1"], "rho"),
        (&["--optimizer", "adadelta", "--rho", "-0.5"], "rho"),
        (&["--batch", "100000"], "training examples"),
        (
            &["--optimizer", "newton"],
            "invalid value 'newton' for '--optimizer",
        ),
        (&["--data", "cifar"], "invalid value 'cifar' for '--data"),
        (
            &["--activation", "gelu"],
            "invalid value 'gelu' for '--activation",
        ),
        (&["--loss", "hinge"], "invalid value 'hinge' for '--loss"),
        (&["--layers", "64,32,3"], "the last 10"),
        (&["--layers", "2,32,10"], "the first width must be 64"),
        (&["--layers", "64,x,10"], "positive widths"),
        (&["--task", "autoencoder", "--layers", "64,8,10"], "last 64"),
        (
            &["--task", "regress"],
            "invalid value 'regress' for '--task",
        ),
        // Typos get clap's "did you mean" and the possible values.
        (&["--optimizer", "kfca"], "a similar value exists: 'kfac'"),
        (
            &["--data", "digts"],
            "possible values: digits, spirals, teacher, mnist",
        ),
        (&["--batch", "-5"], "it must be a whole number >= 1"),
        (&["--batch", "0"], "it must be a whole number >= 1"),
        (
            &["--optimizer", "lbfgs", "--batch", "64"],
            "--batch does not apply to optimizer lbfgs",
        ),
        (
            &["--optimizer", "sgd", "--beta1", "0.5"],
            "does not apply to optimizer sgd",
        ),
        // A network too large to allocate aborted the process (134); one
        // whose parameter count wraps past usize was not even noticed.
        (
            &["--layers", "64,100000000000,10"],
            "--layers 64,100000000000,10: 7500000000010 parameters; training them with --optimizer adam needs about",
        ),
        (
            &["--layers", "64,4294967296,4294967296,10"],
            "layer 1 (4294967296 → 4294967296 units) takes the parameter count past",
        ),
        (&["--patience", "0"], "--patience must be at least 1"),
    ];
    for (args, expected) in cases {
        let mut all = vec!["train", "--epochs", "1", "--out", out.to_str().unwrap()];
        all.extend_from_slice(args);
        let o = hesse(&all);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("error: ") && stderr.contains(expected),
            "{args:?}: {stderr}"
        );
        assert!(o.stdout.is_empty(), "{args:?}");
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
    }
}

/// An `--out` that cannot be written is an error before training, and
/// nothing is written: a directory where loss.svg goes used to fail only
/// after the run, with history.csv already written beside it.
#[test]
fn an_unwritable_out_fails_before_training() {
    let out = out_dir("in-the-way");
    std::fs::create_dir_all(out.join("loss.svg")).unwrap();
    let o = hesse(&["train", "--epochs", "1", "--out", out.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("loss.svg: a directory is in the way of the file"),
        "{stderr}"
    );
    assert!(!out.join("history.csv").exists());
    assert!(o.stdout.is_empty());
    // --out naming a file: the file is left as it was.
    let file = out.join("file");
    std::fs::write(&file, "mine").unwrap();
    let o = hesse(&["train", "--epochs", "1", "--out", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot write"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn lbfgs_trains_full_batch_with_a_history_per_iteration() {
    let out = out_dir("lbfgs");
    let v = train_json(
        &[
            "--data",
            "digits",
            "--layers",
            "64,32,10",
            "--activation",
            "tanh",
            "--optimizer",
            "lbfgs",
            "--epochs",
            "200",
            "--seed",
            "0",
        ],
        &out,
    );
    assert_eq!(v["optimizer"], "lbfgs");
    let history = v["history"].as_array().unwrap();
    // Converges (gradient tolerance) well before 200 iterations.
    assert!(
        !history.is_empty() && history.len() < 200,
        "{}",
        history.len()
    );
    assert!(v["val_accuracy"].as_f64().unwrap() >= 0.95, "{v}");
    assert!(v["train_accuracy"].as_f64().unwrap() >= 0.99, "{v}");
    assert!(out.join("history.csv").exists());
    let _ = std::fs::remove_dir_all(&out);
    // First-order flags do not apply to it.
    let o = hesse(&["train", "--optimizer", "lbfgs", "--lr", "0.1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--lr does not apply"));
}

/// `hesse train --optimizer hf|natural` on the digits classifier and
/// autoencoder: 20 iterations on minibatches of 256. Measured (seed 0): hf
/// train loss 0.037 (classifier), 16.5 (autoencoder); natural 0.061 and
/// 16.6; Adam at its best rate 1e-2 reaches 17.8 on the autoencoder in the
/// same 20 epochs (≈ 120 iterations). Bounds with margin.
#[test]
fn hf_and_natural_train_digits_with_their_options_in_the_json() {
    let out = out_dir("second-order");
    let clf = ["--data", "digits", "--layers", "64,32,10", "--batch", "256"];
    let ae = [
        "--task",
        "autoencoder",
        "--layers",
        "64,32,16,32,64",
        "--batch",
        "256",
    ];
    for (optimizer, task, bound) in [
        ("hf", &clf, 0.15),
        ("natural", &clf, 0.2),
        ("hf", &ae, 18.0),
        ("natural", &ae, 18.0),
    ] {
        let mut args = task.to_vec();
        args.extend_from_slice(&["--optimizer", optimizer, "--epochs", "20", "--seed", "0"]);
        if optimizer == "hf" {
            args.extend_from_slice(&[
                "--precondition",
                "--curvature-batch",
                "128",
                "--min-damping",
                "1e-3",
            ]);
        } else {
            args.extend_from_slice(&["--damping", "0.5", "--cg-tol", "0.01"]);
        }
        let v = train_json(&args, &out);
        let loss = v["train_loss"].as_f64().unwrap();
        assert!(loss < bound, "{optimizer} {task:?}: {loss}");
        assert_eq!(v["optimizer"], optimizer);
        assert_eq!(v["history"].as_array().unwrap().len(), 20);
        let so = &v["second_order"];
        assert_eq!(so["batch"], 256);
        let d = &v["damping"];
        assert_eq!(d["lambda"].as_array().unwrap().len(), 20);
        assert_eq!(d["rho"].as_array().unwrap().len(), 20);
        if optimizer == "hf" {
            assert_eq!(
                (so["curvature_batch"].as_u64(), so["precondition"].as_bool()),
                (Some(128), Some(true))
            );
            assert_eq!(d["initial"], 1.0);
            assert_eq!(so["min_damping"], 1e-3);
            assert!(d["min"].as_f64().unwrap() >= 1e-3, "{d}");
        } else {
            assert_eq!(so["fisher"], "exact");
            assert_eq!(
                (so["learning_rate"].as_f64(), so["cg_tolerance"].as_f64()),
                (Some(1.0), Some(0.01))
            );
            assert_eq!(d["initial"], 0.5);
        }
        // The damping adapts: the LM rule moved it from λ₀.
        assert!(
            d["min"].as_f64().unwrap() < d["initial"].as_f64().unwrap(),
            "{d}"
        );
        if task == &clf {
            assert!(
                v["val_accuracy"].as_f64().unwrap() >= 0.93,
                "{optimizer}: {v}"
            );
        }
        assert!(out.join("history.csv").exists());
    }
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn bad_second_order_options_exit_2_with_a_clear_message() {
    let out = out_dir("bad-second-order");
    let cases: &[(&[&str], &str)] = &[
        (&["--optimizer", "hf", "--damping", "0"], "initial_damping"),
        (
            &["--optimizer", "natural", "--damping", "-1"],
            "initial_damping",
        ),
        (&["--optimizer", "hf", "--cg-iters", "0"], "max_cg_iter"),
        (&["--optimizer", "hf", "--min-damping", "-1"], "min_damping"),
        (
            &["--optimizer", "natural", "--min-damping", "0.1"],
            "--min-damping does not apply to optimizer natural",
        ),
        (&["--optimizer", "natural", "--cg-tol", "0"], "cg_rtol"),
        (&["--optimizer", "natural", "--lr", "0"], "learning_rate"),
        (
            &[
                "--optimizer",
                "hf",
                "--batch",
                "128",
                "--curvature-batch",
                "500",
            ],
            "--curvature-batch 500 must be between 1 and the gradient --batch 128",
        ),
        (
            &["--optimizer", "natural", "--precondition"],
            "--precondition does not apply to optimizer natural",
        ),
        (
            &["--optimizer", "adam", "--damping", "1"],
            "--damping does not apply to optimizer adam",
        ),
        (
            &["--optimizer", "hf", "--lr", "0.1"],
            "--lr does not apply to optimizer hf",
        ),
        (
            &["--optimizer", "hf", "--momentum", "0.5"],
            "--momentum does not apply to optimizer hf",
        ),
    ];
    for (args, expected) in cases {
        let mut all = vec!["train", "--epochs", "1", "--out", out.to_str().unwrap()];
        all.extend_from_slice(args);
        let o = hesse(&all);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("error: ") && stderr.contains(expected),
            "{args:?}: {stderr}"
        );
        assert!(o.stdout.is_empty(), "{args:?}");
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
    }
}

/// `hesse train --optimizer kfac` on the digits classifier and autoencoder:
/// 20 iterations on minibatches of 256, statistics on a quarter of each.
/// Measured (seed 0): train loss 0.152 (classifier, held-out accuracy 0.961),
/// 18.96 (autoencoder); λ 1 → 0.46 by the ρ rule, γ 1 → 0.60 on the
/// autoencoder. Bounds with margin.
#[test]
fn kfac_trains_digits_with_its_options_and_damping_trace_in_the_json() {
    let out = out_dir("kfac");
    let clf = ["--data", "digits", "--layers", "64,32,10", "--batch", "256"];
    let ae = [
        "--task",
        "autoencoder",
        "--layers",
        "64,32,16,32,64",
        "--batch",
        "256",
    ];
    for (task, bound) in [(&clf[..], 0.3), (&ae[..], 20.5)] {
        let mut args = task.to_vec();
        args.extend_from_slice(&["--optimizer", "kfac", "--epochs", "20", "--seed", "0"]);
        let v = train_json(&args, &out);
        let loss = v["train_loss"].as_f64().unwrap();
        assert!(loss < bound, "kfac {task:?}: {loss}");
        assert_eq!(v["history"].as_array().unwrap().len(), 20);
        let so = &v["second_order"];
        assert_eq!(
            (so["batch"].as_u64(), so["curvature_batch"].as_u64()),
            (Some(256), Some(64))
        );
        assert_eq!(so["periods"], serde_json::json!([5, 20, 20]));
        let d = &v["damping"];
        assert_eq!(d["gamma"].as_array().unwrap().len(), 20);
        assert_eq!(d["initial"], 1.0);
        assert!(d["last"].as_f64().unwrap() < 1.0, "{d}");
        // The step check is on by default and reports its rejections.
        assert_eq!(so["step_check"], true);
        assert_eq!(
            d["rejected_steps"].as_u64().unwrap() as usize,
            d["rejected_iterations"].as_array().unwrap().len()
        );
        if task == &clf[..] {
            assert!(v["val_accuracy"].as_f64().unwrap() >= 0.93, "{v}");
        }
    }
    // --no-step-check: the paper's method, nothing rejected.
    let mut args = clf.to_vec();
    args.extend_from_slice(&["--optimizer", "kfac", "--epochs", "5", "--no-step-check"]);
    let v = train_json(&args, &out);
    assert_eq!(v["second_order"]["step_check"], false);
    assert_eq!(v["damping"]["rejected_steps"], 0);
    for (args, needle) in [
        (
            &["--optimizer", "kfac", "--cg-iters", "3"][..],
            "--cg-iters does not apply",
        ),
        (
            &["--optimizer", "hf", "--no-step-check"][..],
            "--no-step-check does not apply to optimizer hf (it applies to kfac)",
        ),
        (
            &["--optimizer", "kfac", "--damping", "-1"][..],
            "initial_damping",
        ),
    ] {
        let mut a = vec!["train"];
        a.extend_from_slice(args);
        let o = hesse(&a);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(needle),
            "{args:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&out);
}

/// `hesse train --optimizer kfac`'s table counts the steps the step check
/// rejected, as the JSON does. Measured (seed 0, digits 64-32-10, 10
/// iterations on minibatches of 256, λ₀ = 1e-4, small enough that the first
/// steps overshoot): 2 rejected, at iterations 1 and 2 (3, at 1, 2 and 8,
/// with the sampling before the training driver).
#[test]
fn kfac_table_shows_the_rejected_steps() {
    let out = out_dir("kfac-table");
    let args = [
        "--optimizer",
        "kfac",
        "--batch",
        "256",
        "--epochs",
        "10",
        "--damping",
        "1e-4",
        "--seed",
        "0",
    ];
    let v = train_json(&args, &out);
    let rejected: Vec<String> = v["damping"]["rejected_iterations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.to_string())
        .collect();
    assert_eq!(rejected, ["1", "2"]);
    let table = |extra: &[&str]| {
        let mut a = vec!["train"];
        a.extend_from_slice(&args);
        a.extend_from_slice(extra);
        a.extend_from_slice(&["--out", out.to_str().unwrap()]);
        let o = hesse(&a);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let text = table(&[]);
    assert!(
        text.contains("step check: 2 of 10 steps rejected (iterations 1, 2)\n"),
        "{text}"
    );
    let text = table(&["--no-step-check"]);
    assert!(text.contains("step check: off\n"), "{text}");
    // Other optimizers' tables have no such line.
    let mut a = vec!["train", "--optimizer", "hf", "--epochs", "2"];
    a.extend_from_slice(&["--out", out.to_str().unwrap()]);
    let o = hesse(&a);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!String::from_utf8_lossy(&o.stdout).contains("step check"));
    let _ = std::fs::remove_dir_all(&out);
}

/// `hesse train --optimizer adahessian|sophia|shampoo|soap` (issue 23): each
/// trains the digits classifier 64-32-10 from its paper's defaults (the
/// library's `Default`s, built by name through the registry), one history
/// row per epoch. Measured (seed 0, 10 epochs, batch 128): train loss
/// adahessian 0.015, sophia 0.68 (gnb 0.65), shampoo 0.029, soap 0.62 from
/// ln 10 = 2.30; held-out accuracy 0.96, 0.87 (0.88), 0.96, 0.84. Bounds with
/// margin. A method's own flags go to it only (exit 2 otherwise).
#[test]
fn the_preconditioners_train_digits_by_name_with_their_flags() {
    let out = out_dir("preconditioners");
    let base = [
        "--data", "digits", "--layers", "64,32,10", "--epochs", "10", "--seed", "0",
    ];
    let runs: &[(&[&str], f64)] = &[
        (&["--optimizer", "adahessian"], 0.1),
        (&["--optimizer", "sophia"], 1.0),
        (
            &[
                "--optimizer",
                "sophia",
                "--sophia-estimator",
                "gnb",
                "--hessian-period",
                "5",
            ],
            1.0,
        ),
        (
            &["--optimizer", "shampoo", "--grafting", "sgd", "--lr", "0.1"],
            1.0,
        ),
        (&["--optimizer", "shampoo"], 0.1),
        (
            &["--optimizer", "soap", "--precondition-frequency", "5"],
            1.0,
        ),
    ];
    for (extra, bound) in runs {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        let v = train_json(&args, &out);
        let loss = v["train_loss"].as_f64().unwrap();
        assert!(loss < *bound, "{extra:?}: {loss}");
        assert!(v["val_accuracy"].as_f64().unwrap() > 0.75, "{extra:?}: {v}");
        assert_eq!(v["history"].as_array().unwrap().len(), 10, "{extra:?}");
    }
    for (args, needle) in [
        (
            &["--optimizer", "adam", "--grafting", "sgd"][..],
            "--grafting does not apply to optimizer adam (it applies to shampoo)",
        ),
        (
            &["--optimizer", "soap", "--betas", "0.9,0.99"][..],
            "--betas does not apply to optimizer soap",
        ),
        (&["--optimizer", "sophia", "--betas", "0.9"][..], "B1,B2"),
        (
            &["--optimizer", "sophia", "--sophia-gamma", "-1"][..],
            "gamma",
        ),
        (
            &["--optimizer", "shampoo", "--lr", "0"][..],
            "learning_rate",
        ),
    ] {
        let mut a = vec!["train", "--epochs", "1", "--out", out.to_str().unwrap()];
        a.extend_from_slice(args);
        let o = hesse(&a);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
    let _ = std::fs::remove_dir_all(&out);
}

/// Ctrl-C (SIGINT) ends training after the current step: the table or JSON
/// of the epochs so far (`"interrupted": true`, `stop` null), history.csv
/// with those epochs, exit status 130. It used to kill the process with
/// nothing printed or written.
#[cfg(target_os = "linux")]
#[test]
fn ctrl_c_ends_training_with_the_epochs_so_far() {
    let out = out_dir("ctrl-c");
    let child = cli_support::with_default_sigint(&mut Command::new(env!("CARGO_BIN_EXE_hesse")))
        .args(["train", "--epochs", "1000000", "--json", "--out"])
        .arg(&out)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let o = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{stderr}");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["interrupted"], true, "{v}");
    assert!(v["stop"].is_null(), "{v}");
    let epochs = v["epochs"].as_u64().unwrap();
    assert!(epochs > 0 && epochs < 1_000_000, "{epochs}");
    let csv = std::fs::read_to_string(out.join("history.csv")).unwrap();
    assert_eq!(csv.lines().count() as u64, epochs + 1);
    // Without Ctrl-C the field is absent.
    let v = train_json(&["--epochs", "1"], &out);
    assert!(v.get("interrupted").is_none(), "{v}");
    let _ = std::fs::remove_dir_all(&out);
}

/// `--time-limit` ends training after the step during which it ran out: the
/// run is reported (stop `time_limit`, fewer epochs than asked, a finite
/// validation loss) and its files written, for a first-order method (rows
/// per epoch) and K-FAC (rows per iteration); a limit that is not a
/// positive number of seconds below 1e9 exits 2 before training.
#[test]
fn time_limit_ends_training_with_a_report() {
    for optimizer in ["adam", "kfac"] {
        let out = out_dir(&format!("time-limit-{optimizer}"));
        let json = train_json(
            &[
                "--optimizer",
                optimizer,
                "--epochs",
                "100000000",
                "--time-limit",
                "0.2",
            ],
            &out,
        );
        assert_eq!(json["stop"], "time_limit", "{optimizer}");
        let epochs = json["epochs"].as_u64().unwrap();
        assert!((1..100_000_000).contains(&epochs), "{optimizer}: {epochs}");
        assert_eq!(json["history"].as_array().unwrap().len() as u64, epochs);
        assert!(
            json["val_loss"].as_f64().unwrap().is_finite(),
            "{optimizer}"
        );
        assert!(json.get("interrupted").is_none());
        assert!(out.join("history.csv").exists() && out.join("loss.svg").exists());
    }
    let out = out_dir("time-limit-bad");
    for bad in ["0", "-1", "nan", "inf", "1e9"] {
        let o = hesse(&["train", "--time-limit", bad, "--out", out.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "--time-limit {bad}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("--time-limit") && err.contains("positive number of seconds"),
            "{err}"
        );
        assert!(
            !out.join("history.csv").exists(),
            "--time-limit {bad} wrote files"
        );
    }
}
