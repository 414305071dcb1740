//! `hesse minimize --bounds NAME=LO:HI,...` with methods lbfgsb and tron:
//! every accepted form, every refused form (exit 2 naming the problem), and
//! the JSON fields `active` and `projected_start`.

use std::process::{Command, Output};

use proptest::prelude::*;
use serde_json::Value;

const ROSEN: &str = "(1-x)^2 + 100*(y-x^2)^2";

fn hesse(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hesse"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn ok_json(args: &[&str]) -> Value {
    let o = hesse(args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("one JSON object")
}

fn fails(args: &[&str], needles: &[&str]) {
    let o = hesse(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: {err} lacks {n}");
    }
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn rosenbrock_cut_off_by_an_upper_bound() {
    for method in ["lbfgsb", "tron"] {
        let v = ok_json(&[
            "minimize",
            ROSEN,
            "--start",
            "x=-1.2,y=1",
            "--method",
            method,
            "--bounds",
            "x=:0.5,y=-2:2",
            "--json",
        ]);
        assert_eq!(v["method"], method);
        assert_eq!(v["converged"], true, "{v}");
        assert_eq!(v["x"]["x"], 0.5);
        assert!((v["x"]["y"].as_f64().unwrap() - 0.25).abs() < 1e-7, "{v}");
        assert!(v["grad_norm"].as_f64().unwrap() <= 1e-8);
        assert_eq!(v["active"], serde_json::json!({"x": "upper"}));
        assert_eq!(v["projected_start"], false);
    }
}

#[test]
fn start_outside_is_projected_and_reported() {
    let v = ok_json(&[
        "minimize",
        ROSEN,
        "--start",
        "x=3,y=1",
        "--method",
        "tron",
        "--bounds",
        "x=-inf:0.5",
        "--json",
    ]);
    assert_eq!(v["projected_start"], true);
    assert_eq!(v["x"]["x"], 0.5);
    // The text summary says it too.
    let o = hesse(&[
        "minimize",
        ROSEN,
        "--start",
        "x=3,y=1",
        "--method",
        "lbfgsb",
        "--bounds",
        "x=-inf:0.5",
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("at its upper bound"), "{out}");
    assert!(out.contains("projected onto them"), "{out}");
}

#[test]
fn every_accepted_form() {
    // (bounds, expected x, expected active) on f = (x - 2)² + (y + 3)².
    let f = "(x-2)^2 + (y+3)^2";
    let cases: &[(&str, [f64; 2], Value)] = &[
        (
            "x=0:1,y=0:1",
            [1.0, 0.0],
            serde_json::json!({"x": "upper", "y": "lower"}),
        ),
        ("x=:1", [1.0, -3.0], serde_json::json!({"x": "upper"})),
        ("y=-1:", [2.0, -1.0], serde_json::json!({"y": "lower"})),
        ("x=-inf:inf,y=-inf:+inf", [2.0, -3.0], serde_json::json!({})),
        ("x=-Infinity:,y=:INF", [2.0, -3.0], serde_json::json!({})),
        (
            "x=pi:2*pi",
            [std::f64::consts::PI, -3.0],
            serde_json::json!({"x": "lower"}),
        ),
        ("x=1.5:1.5", [1.5, -3.0], serde_json::json!({"x": "lower"})),
        ("x=-1e3:3", [2.0, -3.0], serde_json::json!({})),
    ];
    for (bounds, x, active) in cases {
        for method in ["lbfgsb", "tron"] {
            // Repeating the option works as commas do.
            let parts: Vec<&str> = bounds.split(',').collect();
            let mut args = vec![
                "minimize",
                f,
                "--start",
                "x=0.5,y=0.5",
                "--method",
                method,
                "--json",
            ];
            for p in &parts {
                args.extend(["--bounds", p]);
            }
            let v = ok_json(&args);
            assert_eq!(v["converged"], true, "{bounds} {method}: {v}");
            assert!(
                (v["x"]["x"].as_f64().unwrap() - x[0]).abs() < 1e-7,
                "{bounds} {method}: {v}"
            );
            assert!(
                (v["x"]["y"].as_f64().unwrap() - x[1]).abs() < 1e-7,
                "{bounds} {method}: {v}"
            );
            assert_eq!(&v["active"], active, "{bounds} {method}");
        }
    }
}

#[test]
fn every_malformed_form_exits_2_naming_it() {
    let run = |b: &str, needles: &[&str]| {
        fails(
            &[
                "minimize", "x^2+y^2", "--start", "x=1,y=1", "--method", "lbfgsb", "--bounds", b,
            ],
            needles,
        )
    };
    run("z=0:1", &["'z' is not a variable", "its variables: x, y"]);
    run("x=2:1", &["'x=2:1'", "LO = 2 exceeds HI = 1"]);
    run("x=nan:1", &["LO: NaN is not a bound"]);
    run("x=0:NaN", &["HI: NaN is not a bound"]);
    run("x=0/0:1", &["NaN"]);
    run("x=0", &["expected LO:HI"]);
    run("x0:1", &["expected NAME=LO:HI"]);
    run("x=0:1,x=0:2", &["x is bounded twice"]);
    run("x=a:1", &["LO: 'a' is not a number"]);
    run("x=0:1:2", &["HI: '1:2' is not a number"]);
    run("x=inf:inf", &["leaves no finite value"]);
    run("x=1:-inf", &["exceeds HI = -inf"]);
    run("=0:1", &["'' is not a variable"]);
    run("", &["expected NAME=LO:HI"]);
}

#[test]
fn other_methods_refuse_bounds_naming_those_that_take_them() {
    for method in ["bfgs", "lbfgs", "newton", "newton-cg-tr", "gd", "adam"] {
        fails(
            &[
                "minimize", "x^2", "--start", "x=1", "--method", method, "--bounds", "x=0:1",
            ],
            &["--bounds does not apply to method", method, "lbfgsb, tron"],
        );
    }
}

#[test]
fn no_bounds_no_bounds_fields() {
    let v = ok_json(&[
        "minimize",
        ROSEN,
        "--start",
        "x=-1.2,y=1",
        "--method",
        "lbfgsb",
        "--json",
    ]);
    assert_eq!(v["converged"], true);
    assert!(
        v.get("active").is_none() && v.get("projected_start").is_none(),
        "{v}"
    );
    assert!((v["x"]["x"].as_f64().unwrap() - 1.0).abs() < 1e-6);
}

#[test]
fn compare_suite_bounds_runs_the_bounded_methods_only() {
    let out = std::env::temp_dir().join(format!("hesse-cli-bounds-{}", std::process::id()));
    let o = hesse(&[
        "compare",
        "--suite",
        "bounds",
        "--no-plots",
        "--json",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let runs = v["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 36, "18 problems × lbfgsb, tron");
    assert!(
        runs.iter()
            .all(|r| r["method"] == "lbfgsb" || r["method"] == "tron")
    );
    // From the standard starts: 14 of 18 each (Gulf, Wood, Biggs EXP6 and
    // extended Rosenbrock end at higher local minima of the box).
    for m in ["lbfgsb", "tron"] {
        let solved = runs
            .iter()
            .filter(|r| r["method"] == m && r["solved"] == true)
            .count();
        assert_eq!(solved, 14, "{m}");
    }
    let _ = std::fs::remove_dir_all(out);
}

/// `hesse fit --bounds`: Levenberg-Marquardt's box is the driver's, so the
/// JSON reports the active bounds and whether the start was projected, as
/// `minimize` does. Misra1a's Start 1 (b1 = 500) lies above `b1 ≤ 200`,
/// which cuts off the certified b1 = 238.9.
#[test]
fn fit_reports_active_bounds_and_the_projected_start() {
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/nist/Misra1a.dat");
    let v = ok_json(&["fit", "--data", data, "--bounds", "b1=:200", "--json"]);
    assert_eq!(v["converged"], true, "{v}");
    assert_eq!(v["params"]["b1"], 200.0, "{v}");
    assert_eq!(v["active"]["b1"], "upper", "{v}");
    assert!(v["active"].get("b2").is_none(), "{v}");
    assert_eq!(v["projected_start"], true, "{v}");
    let v = ok_json(&["fit", "--data", data, "--bounds", "b1=:600", "--json"]);
    assert_eq!(v["projected_start"], false, "{v}");
    let v = ok_json(&["fit", "--data", data, "--json"]);
    assert!(
        v.get("projected_start").is_none() && v.get("active").is_none(),
        "{v}"
    );
}

/// One side of a random `--bounds` entry: numbers, infinities, constant
/// expressions and the malformed spellings a user types.
fn side() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "",
            "0",
            "1",
            "-1",
            "2.5",
            "inf",
            "-inf",
            "+Infinity",
            "nan",
            "1e400",
            "-1e400",
            "pi",
            "pi/2",
            "1/0",
            "y",
            "x",
            "1:2",
            " 3 ",
            "abc",
            "--1",
        ])
        .prop_map(String::from),
        any::<f64>().prop_map(|v| v.to_string()),
    ]
}

/// A random `--bounds` value: entries `NAME=LO:HI` with known, unknown and
/// empty names, missing `=` or `:`, and empty entries between commas.
fn bounds_value() -> impl Strategy<Value = String> {
    let entry = (
        prop::sample::select(vec!["a", "b", "c", "", "a "]),
        side(),
        side(),
        0..4usize,
    )
        .prop_map(|(name, lo, hi, form)| match form {
            0 => format!("{name}={lo}:{hi}"),
            1 => format!("{name}={lo}"),
            2 => format!("{name}{lo}:{hi}"),
            _ => String::new(),
        });
    prop::collection::vec(entry, 1..4).prop_map(|v| v.join(","))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// `fit --bounds` takes `minimize --bounds`'s syntax (README: "same
    /// syntax"): on any value both exit 0 or 2, never a panic, and one
    /// refuses the value as a malformed `--bounds` exactly when the other
    /// does. (fit skipped empty entries, took 1e400 for inf and refused
    /// `pi`; minimize refused the first two and took the third.)
    #[test]
    fn fit_and_minimize_parse_bounds_alike(bounds in bounds_value()) {
        let data = std::env::temp_dir().join(format!("hesse-prop-bounds-{}.csv", std::process::id()));
        std::fs::write(&data, "x,y\n0,1.1\n1,2.9\n2,5.2\n3,6.8\n").unwrap();
        let m = hesse(&[
            "minimize", "(a-1)^2 + (b-2)^2", "--start", "a=0.5,b=0.5", "--method", "lbfgsb",
            "--bounds", &bounds, "--json",
        ]);
        let f = hesse(&[
            "fit", "a + b*x", "--data", data.to_str().unwrap(), "--start", "a=0.5,b=0.5",
            "--bounds", &bounds, "--json",
        ]);
        let (m_err, f_err) = (
            String::from_utf8_lossy(&m.stderr).to_string(),
            String::from_utf8_lossy(&f.stderr).to_string(),
        );
        for (o, err) in [(&m, &m_err), (&f, &f_err)] {
            let code = o.status.code();
            prop_assert!(code == Some(0) || code == Some(2), "{bounds:?}: {code:?} {err}");
            prop_assert!(!err.contains("panicked"), "{bounds:?}: {err}");
        }
        let refused = |err: &str| err.contains("--bounds");
        prop_assert_eq!(
            refused(&m_err),
            refused(&f_err),
            "{:?}: minimize says {:?}, fit says {:?}",
            bounds,
            m_err,
            f_err
        );
        if refused(&m_err) {
            prop_assert_eq!(m.status.code(), Some(2));
            prop_assert_eq!(f.status.code(), Some(2));
        }
    }
}
