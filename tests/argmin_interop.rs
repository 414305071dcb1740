//! The argmin interop (cargo feature `argmin`): argmin's solvers on hesse
//! problems with exact counts, and hesse's solvers on argmin problems.
#![cfg(feature = "argmin")]

use hesse::interop::argmin::{ARGMIN_METHODS, FromArgmin, ToArgmin, run_argmin};
use hesse::prelude::*;
use hesse::problems::Rosenbrock;

#[test]
fn argmin_solvers_run_on_hesse_problems() {
    let p = Rosenbrock::new(2);
    let stop = Stop {
        g_abs: 1e-6,
        max_iter: 20_000,
        ..Stop::default()
    };
    for &m in ARGMIN_METHODS {
        let r = run_argmin(m, &p, &[-1.2, 1.0], &stop).unwrap();
        assert_eq!(r.method, m);
        assert!(r.evals.f + r.evals.g > 0, "{m}: {:?}", r.evals);
        if m == "argmin-lbfgs" || m == "argmin-bfgs" {
            assert!(r.converged(), "{m}: {:?}", r.termination);
            assert!(
                (r.x[0] - 1.0).abs() < 1e-4 && (r.x[1] - 1.0).abs() < 1e-4,
                "{m}: {:?}",
                r.x
            );
        }
    }
    assert!(run_argmin("argmin-nope", &p, &[-1.2, 1.0], &stop).is_err());
    assert!(run_argmin("argmin-lbfgs", &p, &[f64::NAN, 1.0], &stop).is_err());
}

#[test]
fn hesse_solves_an_argmin_problem_through_the_adapter_both_ways() {
    // A hesse problem seen by argmin and back again is the same function.
    let p = Rosenbrock::new(2);
    let there = ToArgmin::new(&p);
    let back = FromArgmin::new(there.clone(), 2);
    let r = Lbfgs::default()
        .with_gtol(1e-10)
        .minimize(&back, &[-1.2, 1.0])
        .unwrap();
    assert!(r.converged());
    assert!((r.x[0] - 1.0).abs() < 1e-8);
    // Every evaluation went through argmin's traits and was counted there.
    assert_eq!(there.evals().g, r.evals.g);
}

/// Built with the feature, `hesse` accepts argmin's solvers by name, and the
/// clap message for an unknown name lists them among the possible values.
#[test]
fn the_unknown_method_message_lists_argmin_solvers() {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_hesse"))
        .args(["compare", "--methods", "bfgs,nope"])
        .output()
        .expect("the hesse binary runs");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("invalid value 'nope'"), "{err}");
    assert!(err.contains("possible values: gd, "), "{err}");
    for name in ARGMIN_METHODS {
        assert!(err.contains(name), "{name} missing: {err}");
    }
}
