//! NIST StRD nonlinear regression through the library: every problem in
//! `tests/data/nist/`, from both starting points, solved by
//! `LevenbergMarquardt` (default options) with exact dual-number Jacobians.
//!
//! Print the table with `cargo test --test nist -- --nocapture`.

use hesse::newton::{LevenbergMarquardt, fit_statistics};
use hesse::problem::Residuals;
use hesse::problems::nist::{Difficulty, NistDataset, NistProblem, lre};

/// The 19 files, with the residual and Jacobian evaluations measured for
/// (Start 1, Start 2) at the commit that added this table; the test allows
/// 20% more (rounded up) so an accidental slowdown fails it.
const RUNS: [(&str, [(u64, u64); 2]); 19] = [
    ("Misra1a", [(22, 19), (8, 8)]),
    ("Chwirut2", [(12, 11), (9, 9)]),
    ("Chwirut1", [(16, 15), (10, 10)]),
    ("Lanczos3", [(92, 83), (15, 13)]),
    ("Gauss1", [(8, 8), (7, 7)]),
    ("Gauss2", [(8, 8), (11, 11)]),
    ("DanWood", [(11, 11), (9, 9)]),
    ("Misra1b", [(29, 24), (10, 8)]),
    ("Kirby2", [(18, 18), (13, 13)]),
    ("Hahn1", [(17, 17), (18, 18)]),
    ("Nelson", [(72, 59), (18, 14)]),
    ("MGH17", [(502, 461), (27, 23)]),
    ("Lanczos1", [(81, 73), (13, 11)]),
    ("Lanczos2", [(90, 79), (13, 11)]),
    ("Gauss3", [(8, 8), (10, 9)]),
    ("Misra1c", [(14, 12), (10, 10)]),
    ("Misra1d", [(13, 11), (10, 9)]),
    ("Roszman1", [(9, 9), (12, 12)]),
    ("ENSO", [(39, 39), (37, 36)]),
];

fn load(name: &str) -> NistDataset {
    let path = format!("{}/tests/data/nist/{name}.dat", env!("CARGO_MANIFEST_DIR"));
    NistDataset::load(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn min(v: Vec<f64>) -> f64 {
    v.into_iter().fold(f64::INFINITY, f64::min)
}

/// Digits required: 7 for NIST's lower difficulty, 6 for average.
fn required(d: &NistDataset) -> f64 {
    match d.difficulty {
        Some(Difficulty::Lower) => 7.0,
        _ => 6.0,
    }
}

#[test]
fn every_problem_from_both_starts_to_the_certified_digits() {
    let solver = LevenbergMarquardt::default();
    let mut failures = Vec::new();
    println!(
        "{:<9} {:>5} {:>10} {:>7} {:>10} {:>7} {:>7}  termination",
        "problem", "start", "min LRE b", "LRE RSS", "min LRE sd", "f evals", "J evals"
    );
    for (name, measured) in RUNS {
        let data = load(name);
        let problem = NistProblem::new(&data).unwrap();
        let need = required(&data);
        for start in [1, 2] {
            let fit = solver.fit(&problem, data.start(start).unwrap()).unwrap();
            let report = &fit.report;
            let b = min(data.param_lres(&report.x));
            let rss = lre(fit.statistics.rss, data.certified_rss);
            let sd = min(data.std_dev_lres(&fit.statistics.std_errors));
            println!(
                "{:<9} {:>5} {:>10.1} {:>7.1} {:>10.1} {:>7} {:>7}  {}",
                name,
                start,
                b,
                rss,
                sd,
                report.evals.f,
                report.evals.g,
                report.termination.as_str()
            );
            let run = format!("{name} start {start}");
            if !report.converged() {
                failures.push(format!("{run}: {}", report.termination));
            }
            if b < need {
                failures.push(format!("{run}: parameters LRE {b:.1} < {need}"));
            }
            // Lanczos1's certified RSS (1.4e-25) is below double precision's
            // reach; its standard deviations scale with sqrt(RSS), so they
            // inherit those ~3 digits.
            let lanczos1 = name == "Lanczos1";
            if !lanczos1 && rss < need {
                failures.push(format!("{run}: RSS LRE {rss:.1} < {need}"));
            }
            let need_sd = if lanczos1 { 3.0 } else { 6.0 };
            if sd < need_sd {
                failures.push(format!("{run}: std errors LRE {sd:.1} < {need_sd}"));
            }
            let (f_max, g_max) = measured[start - 1];
            let (f_max, g_max) = ((f_max * 6).div_ceil(5), (g_max * 6).div_ceil(5));
            if report.evals.f > f_max || report.evals.g > g_max {
                failures.push(format!(
                    "{run}: {} f / {} J evaluations, bound {f_max} / {g_max}",
                    report.evals.f, report.evals.g
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// The files parse and are self-consistent: parameter and observation
/// counts, and the certified `s² = RSS / dof`.
#[test]
fn files_parse_and_agree_with_themselves() {
    for (name, _) in RUNS {
        let d = load(name);
        assert_eq!(d.name, name);
        assert!(d.difficulty.is_some(), "{name}");
        assert_eq!(d.num_obs() - d.num_params(), d.dof, "{name}");
        let s2 = d.certified_rss / d.dof as f64;
        assert!(lre(s2.sqrt(), d.certified_residual_std) >= 9.0, "{name}");
        assert!(d.model.contains("b1"), "{name}: {}", d.model);
        assert_eq!(d.x.len(), if name == "Nelson" { 2 } else { 1 });
    }
}

/// The models, checked against NIST itself: at the certified parameters the
/// residual sum of squares and the standard errors are the certified ones.
#[test]
fn models_reproduce_the_certified_rss_and_std_devs() {
    for (name, _) in RUNS {
        let d = load(name);
        let p = NistProblem::new(&d).unwrap();
        assert_eq!(p.num_residuals(), d.num_obs());
        let stats = fit_statistics(&p, &d.certified).unwrap();
        assert_eq!(stats.rank, d.num_params(), "{name}");
        assert_eq!(stats.dof, d.dof, "{name}");
        if name != "Lanczos1" {
            // Certified parameters have 11 digits, so the RSS at them agrees
            // with the certified RSS to about that many.
            let rss = lre(stats.rss, d.certified_rss);
            assert!(rss >= 8.0, "{name}: RSS LRE {rss:.1}");
            let sd = min(d.std_dev_lres(&stats.std_errors));
            assert!(sd >= 7.0, "{name}: std dev LRE {sd:.1}");
        }
    }
}
