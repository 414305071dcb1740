//! The text summary of a run (`minimize`, `fit`), read like Optim.jl's: the
//! status with the termination's message, the candidate, each convergence
//! measure against its tolerance, and the work counters.
//!
//! Unlike the library's `Report` display, a test that is off says `off`
//! (rather than `|x - x'| = 3.4e-14 ≰ 0.0e0`), and a tolerance is shown as
//! the threshold the driver compares with (`max(abs, rel·|·|)`).

use hesse::solver::{Report, inf_norm};

/// One convergence measure: its label, value and what it is held to.
pub struct Measure {
    /// `|x - x'|`, `|g(x)|∞`, ...
    pub label: String,
    /// The measured value.
    pub value: f64,
    /// The threshold it is compared with, or `None` when the test is off.
    pub threshold: Option<f64>,
    /// What the threshold is, when it is not plain (`xtol × |x|∞`).
    pub note: String,
}

/// The measures of the shared driver's tests ([`hesse::solver::Stop`]): the
/// f and x tests are off while both their tolerances are 0.
pub fn driver_measures(r: &Report) -> Vec<Measure> {
    let s = &r.stop;
    let test = |abs: f64, rel: f64, scale: f64, name: &str| -> (Option<f64>, String) {
        match (abs > 0.0, rel > 0.0) {
            (false, false) => (None, String::new()),
            (true, false) => (Some(abs), format!("{name}_abs")),
            (false, true) => (
                Some(rel * scale),
                format!("{name}tol {rel:.1e} × {scale:.2e}"),
            ),
            (true, true) => (
                Some(abs.max(rel * scale)),
                format!("max({name}_abs, {name}tol × {scale:.2e})"),
            ),
        }
    };
    let (xt, xn) = test(s.x_abs, s.x_rel, inf_norm(&r.x), "x");
    let (ft, fnote) = test(s.f_abs, s.f_rel, r.f.abs(), "f");
    vec![
        Measure {
            label: "|x - x'|".into(),
            value: r.step_norm,
            threshold: xt,
            note: xn,
        },
        Measure {
            label: "|f(x) - f(x')|".into(),
            value: r.f_change,
            threshold: ft,
            note: fnote,
        },
        Measure {
            // Under bounds the driver measures the projected gradient.
            label: if r.active.is_some() {
                "|P(x - g) - x|∞".into()
            } else {
                "|g(x)|∞".into()
            },
            value: r.grad_norm,
            threshold: Some(s.g_abs),
            note: String::new(),
        },
    ]
}

/// The summary of `r` with `measures`.
pub fn text(r: &Report, measures: &[Measure], heading: &str) -> String {
    let status = if r.converged() { "success" } else { "failure" };
    let mut out = format!(" * Status: {status} ({})\n\n", r.termination);
    out += " * Candidate solution\n";
    out += &format!("    Method:                {}\n", r.method);
    out += &format!("    Final objective value: {:e}\n", r.f);
    if r.x.len() <= 10 {
        out += &format!("    x:                     {:?}\n", r.x);
    }
    out += &format!("\n * Convergence measures{heading}\n");
    for m in measures {
        let value = if m.value.is_nan() {
            "-".to_string()
        } else {
            format!("{:.2e}", m.value)
        };
        let test = match m.threshold {
            None if !m.note.is_empty() => format!("({})", m.note),
            None => "(test off)".to_string(),
            Some(t) => {
                let le = if m.value <= t { "≤" } else { "≰" };
                if m.note.is_empty() {
                    format!("{le} {t:.1e}")
                } else {
                    format!("{le} {t:.1e} ({})", m.note)
                }
            }
        };
        out += &format!("    {:<19} = {value:<9} {test}\n", m.label);
    }
    out += "\n * Work counters\n";
    out += &format!("    Seconds run:   {:.4}\n", r.elapsed.as_secs_f64());
    out += &format!("    Iterations:    {}\n", r.iterations);
    out += &format!("    f(x) calls:    {}\n", r.evals.f);
    out += &format!("    ∇f(x) calls:   {}\n", r.evals.g);
    out += &format!("    ∇²f(x) calls:  {}\n", r.evals.h);
    out += &format!("    ∇²f(x)v calls: {}", r.evals.hv);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use hesse::problem::Evals;
    use hesse::solver::{Stop, Termination};

    fn report(termination: Termination, stop: Stop) -> Report {
        Report {
            method: "bfgs".into(),
            x: vec![1.0, 2.0],
            f: -4.0,
            grad_norm: 3e-9,
            iterations: 7,
            evals: Evals::default(),
            termination,
            f_change: 1e-12,
            step_norm: 3.4e-14,
            stop,
            history: None,
            elapsed: std::time::Duration::ZERO,
            active: None,
            projected_start: false,
        }
    }

    /// Issue 18 item 4: a tolerance that is off says so; one that is on is
    /// the driver's threshold.
    #[test]
    fn off_tests_say_off() {
        let out = text(
            &report(Termination::GradientTolerance, Stop::default()),
            &driver_measures(&report(Termination::GradientTolerance, Stop::default())),
            "",
        );
        assert!(
            out.contains("|x - x'|            = 3.40e-14  (test off)"),
            "{out}"
        );
        assert!(
            out.contains("|f(x) - f(x')|      = 1.00e-12  (test off)"),
            "{out}"
        );
        assert!(
            out.contains("|g(x)|∞             = 3.00e-9   ≤ 1.0e-8"),
            "{out}"
        );
        assert!(!out.contains("0.0e0"), "{out}");
        let stop = Stop {
            x_rel: 1e-8,
            ..Stop::default()
        };
        let r = report(Termination::StepTolerance, stop);
        let out = text(&r, &driver_measures(&r), "");
        assert!(out.contains("≤ 2.0e-8 (xtol 1.0e-8 × 2.00e0)"), "{out}");
    }

    /// Issue 18 item 6: the new typed endings read as their messages.
    #[test]
    fn new_terminations_show_their_messages() {
        for (t, needle) in [
            (Termination::NoProgress, "progress stopped"),
            (Termination::Unbounded, "unbounded below"),
        ] {
            let r = report(t, Stop::default());
            let out = text(&r, &driver_measures(&r), "");
            assert!(out.starts_with(" * Status: failure ("), "{out}");
            assert!(out.contains(needle), "{out}");
        }
    }

    /// Under bounds the gradient measure is the projected gradient's, and
    /// says so.
    #[test]
    fn bounded_runs_name_the_projected_gradient() {
        let mut r = report(Termination::GradientTolerance, Stop::default());
        r.active = Some(vec![]);
        let out = text(&r, &driver_measures(&r), "");
        assert!(out.contains("|P(x - g) - x|∞     = 3.00e-9"), "{out}");
        assert!(!out.contains("|g(x)|∞"), "{out}");
    }
}
