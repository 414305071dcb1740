//! Comparing runs: records of many runs, their costs, CSV writers,
//! performance and data profiles, and SVG plots.
//!
//! `hesse compare` is built on this module, and a researcher can use it to
//! compare their own method with ours: collect one [`RunRecord`] per
//! (method, problem) run — [`RunRecord::from_report`] takes a
//! [`Report`] — then ask the [`Comparison`] for profiles, tables and plots.
//!
//! ```
//! use hesse::prelude::*;
//! use hesse::problems::Rosenbrock;
//! use hesse::report::{Comparison, Cost, RunRecord};
//!
//! let p = Rosenbrock::new(2);
//! let mut cmp = Comparison::default();
//! for (name, report) in [
//!     ("bfgs", Bfgs::default().with_history(true).minimize(&p, &[-1.2, 1.0]).unwrap()),
//!     ("gd", GradientDescent::default().with_max_iter(50).with_history(true)
//!         .minimize(&p, &[-1.2, 1.0]).unwrap()),
//! ] {
//!     cmp.push(RunRecord::from_report(name, "rosenbrock", 0.0, &report));
//! }
//! let profile = cmp.performance_profile(Cost::default()).unwrap();
//! assert_eq!(profile.at(0, 1.0), 1.0); // BFGS solves it, and first
//! assert_eq!(profile.solved(1), 0.0); // 50 steps of GD do not
//! ```

mod plot;
mod profile;

pub use plot::{PlotError, Series, convergence_series, plot_lines, plot_profile};
pub use profile::{Profile, ProfileError, data_profile, performance_profile};

use std::io::Write;

use crate::problem::Evals;
use crate::solver::{IterRecord, Report};

/// The Moré-Garbow-Hillstrom protocol's test of a solved run, as published
/// comparisons (scipy's included) apply it: `f − f* ≤ max(10⁻⁶ |f*|, 10⁻¹⁰)`.
/// A NaN `f` is not solved.
///
/// ```
/// use hesse::report::solved;
/// assert!(solved(1e-11, 0.0));
/// assert!(!solved(1e-9, 0.0));
/// assert!(solved(3.0 + 2e-6, 3.0));
/// assert!(!solved(f64::NAN, 0.0));
/// ```
pub fn solved(f: f64, f_star: f64) -> bool {
    f - f_star <= (1e-6 * f_star.abs()).max(1e-10)
}

/// How evaluations are weighed into one cost.
///
/// The default counts one objective value, one gradient and one
/// Hessian-vector product as one unit each, and a dense Hessian as `n` units
/// (the `n` Hessian-vector products it is made of, column by column). A fused
/// value-and-gradient call counts two units, since it counts as one of each.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EvalWeights {
    /// Weight of an objective value.
    pub f: f64,
    /// Weight of a gradient.
    pub g: f64,
    /// Weight of a dense Hessian, per dimension (the weight is `h · n`).
    pub h_per_n: f64,
    /// Weight of a Hessian-vector product.
    pub hv: f64,
}

impl Default for EvalWeights {
    fn default() -> Self {
        EvalWeights {
            f: 1.0,
            g: 1.0,
            h_per_n: 1.0,
            hv: 1.0,
        }
    }
}

impl EvalWeights {
    /// The cost of `evals` on a problem of dimension `n`.
    pub fn cost(&self, evals: &Evals, n: usize) -> f64 {
        self.f * evals.f as f64
            + self.g * evals.g as f64
            + self.h_per_n * n as f64 * evals.h as f64
            + self.hv * evals.hv as f64
    }

    /// The definition, to print beside a plot.
    pub fn describe(&self) -> String {
        format!(
            "cost = {}·f + {}·g + {}·n·H + {}·Hv evaluations",
            self.f, self.g, self.h_per_n, self.hv
        )
    }
}

/// What a profile measures a run by.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cost {
    /// Weighted evaluations.
    Evaluations(EvalWeights),
    /// Wall time in seconds.
    Seconds,
}

impl Default for Cost {
    fn default() -> Self {
        Cost::Evaluations(EvalWeights::default())
    }
}

impl Cost {
    /// The axis label for plots.
    pub fn label(&self) -> String {
        match self {
            Cost::Evaluations(w) => w.describe(),
            Cost::Seconds => "wall time (s)".into(),
        }
    }
}

/// One run of one method on one problem.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    /// The method's name.
    pub method: String,
    /// The problem's name.
    pub problem: String,
    /// The problem's dimension.
    pub n: usize,
    /// The known minimum.
    pub f_star: f64,
    /// Whether the final `f` passes [`solved`].
    pub solved: bool,
    /// Whether the method's own termination counts as convergence.
    pub converged: bool,
    /// The termination's snake_case name.
    pub termination: String,
    /// Completed iterations.
    pub iterations: u64,
    /// Evaluation counts.
    pub evals: Evals,
    /// The final `f`.
    pub f: f64,
    /// The final `‖∇f‖∞`.
    pub grad_norm: f64,
    /// Wall time.
    pub seconds: f64,
    /// Per-iteration records (empty if the run kept none).
    pub history: Vec<IterRecord>,
}

impl RunRecord {
    /// The record of `report`, a run of `method` on `problem` whose minimum is
    /// `f_star`. Keeps the report's history if it has one.
    pub fn from_report(method: &str, problem: &str, f_star: f64, report: &Report) -> Self {
        RunRecord {
            method: method.into(),
            problem: problem.into(),
            n: report.x.len(),
            f_star,
            solved: solved(report.f, f_star),
            converged: report.converged(),
            termination: report.termination.as_str().into(),
            iterations: report.iterations,
            evals: report.evals,
            f: report.f,
            grad_norm: report.grad_norm,
            seconds: report.elapsed.as_secs_f64(),
            history: report.history.clone().unwrap_or_default(),
        }
    }

    /// What the run spent to solve the problem, or `None` if it did not.
    ///
    /// With a history, the cost at the first iterate that passes [`solved`]
    /// (a run that solves early and then spends more to meet its own
    /// tolerance is credited with the earlier cost, as Moré & Wild 2009
    /// measure); without one, the cost of the whole run.
    pub fn cost_to_solve(&self, cost: Cost) -> Option<f64> {
        let at = |evals: &Evals, seconds: f64| match cost {
            Cost::Evaluations(w) => w.cost(evals, self.n),
            Cost::Seconds => seconds,
        };
        let first = self
            .history
            .iter()
            .find(|r| solved(r.f, self.f_star))
            .map(|r| at(&r.evals, r.seconds));
        let total = self.solved.then(|| at(&self.evals, self.seconds));
        // A zero cost (solved at the start, or a clock that did not tick)
        // would make every ratio infinite: floor it at the smallest unit.
        let floor = match cost {
            Cost::Evaluations(_) => 1.0,
            Cost::Seconds => 1e-9,
        };
        first.or(total).map(|c| c.max(floor))
    }
}

/// Runs of several methods on several problems.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Comparison {
    /// The runs, in the order pushed.
    pub runs: Vec<RunRecord>,
}

impl Comparison {
    /// Adds a run.
    pub fn push(&mut self, run: RunRecord) {
        self.runs.push(run);
    }

    /// The distinct method names, in first-seen order.
    pub fn methods(&self) -> Vec<String> {
        distinct(self.runs.iter().map(|r| &r.method))
    }

    /// The distinct problem names, in first-seen order.
    pub fn problems(&self) -> Vec<String> {
        distinct(self.runs.iter().map(|r| &r.problem))
    }

    /// The cost table `t[problem][method]` (`None` = not solved or not run)
    /// and each problem's dimension.
    pub fn cost_table(&self, cost: Cost) -> (Vec<Vec<Option<f64>>>, Vec<usize>) {
        let methods = self.methods();
        let problems = self.problems();
        let mut table = vec![vec![None; methods.len()]; problems.len()];
        let mut n = vec![0; problems.len()];
        for r in &self.runs {
            let p = problems.iter().position(|p| *p == r.problem);
            let s = methods.iter().position(|m| *m == r.method);
            if let (Some(p), Some(s)) = (p, s) {
                table[p][s] = r.cost_to_solve(cost);
                n[p] = r.n;
            }
        }
        (table, n)
    }

    /// The Dolan-Moré performance profile of the methods under `cost`.
    pub fn performance_profile(&self, cost: Cost) -> Result<Profile, ProfileError> {
        let (table, _) = self.cost_table(cost);
        performance_profile(&self.methods(), &table)
    }

    /// The Moré-Wild data profile of the methods under `weights` (budgets in
    /// simplex gradients of weighted evaluations).
    pub fn data_profile(&self, weights: EvalWeights) -> Result<Profile, ProfileError> {
        let (table, n) = self.cost_table(Cost::Evaluations(weights));
        data_profile(&self.methods(), &table, &n)
    }

    /// Writes one CSV row per run: method, problem, n, solved, converged,
    /// termination, iterations, f/g/H/Hv evaluations, f, f*, f − f*, ‖g‖∞,
    /// seconds.
    pub fn write_runs_csv<W: Write>(&self, out: W) -> csv::Result<()> {
        let mut w = csv::Writer::from_writer(out);
        w.write_record([
            "method",
            "problem",
            "n",
            "solved",
            "converged",
            "termination",
            "iterations",
            "f_evals",
            "g_evals",
            "h_evals",
            "hv_evals",
            "f",
            "f_star",
            "f_minus_f_star",
            "grad_norm",
            "seconds",
        ])?;
        for r in &self.runs {
            w.write_record([
                r.method.clone(),
                r.problem.clone(),
                r.n.to_string(),
                r.solved.to_string(),
                r.converged.to_string(),
                r.termination.clone(),
                r.iterations.to_string(),
                r.evals.f.to_string(),
                r.evals.g.to_string(),
                r.evals.h.to_string(),
                r.evals.hv.to_string(),
                num(r.f),
                num(r.f_star),
                num(r.f - r.f_star),
                num(r.grad_norm),
                num(r.seconds),
            ])?;
        }
        w.flush()?;
        Ok(())
    }

    /// Writes one CSV row per iteration of every run that kept a history:
    /// method, problem, iteration, f, f − f*, ‖g‖∞, step, α, f/g/H/Hv
    /// evaluations so far, seconds, note.
    pub fn write_history_csv<W: Write>(&self, out: W) -> csv::Result<()> {
        let mut w = csv::Writer::from_writer(out);
        w.write_record([
            "method",
            "problem",
            "iteration",
            "f",
            "f_minus_f_star",
            "grad_norm",
            "step_norm",
            "alpha",
            "f_evals",
            "g_evals",
            "h_evals",
            "hv_evals",
            "seconds",
            "note",
        ])?;
        for r in &self.runs {
            for h in &r.history {
                w.write_record([
                    r.method.clone(),
                    r.problem.clone(),
                    h.iteration.to_string(),
                    num(h.f),
                    num(h.f - r.f_star),
                    num(h.grad_norm),
                    num(h.step_norm),
                    num(h.alpha),
                    h.evals.f.to_string(),
                    h.evals.g.to_string(),
                    h.evals.h.to_string(),
                    h.evals.hv.to_string(),
                    num(h.seconds),
                    h.note.clone().unwrap_or_default(),
                ])?;
            }
        }
        w.flush()?;
        Ok(())
    }
}

/// A float for CSV: shortest round-trip form; NaN and infinities spelled as
/// pandas reads them.
fn num(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        format!("{v:?}")
    }
}

fn distinct<'a>(names: impl Iterator<Item = &'a String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in names {
        if !out.contains(n) {
            out.push(n.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(method: &str, problem: &str, f: f64, evals: u64) -> RunRecord {
        RunRecord {
            method: method.into(),
            problem: problem.into(),
            n: 2,
            f_star: 0.0,
            solved: solved(f, 0.0),
            converged: true,
            termination: "gradient_tolerance".into(),
            iterations: evals,
            evals: Evals {
                f: evals,
                g: evals,
                h: 0,
                hv: 0,
            },
            f,
            grad_norm: 0.0,
            seconds: 0.5,
            history: Vec::new(),
        }
    }

    #[test]
    fn cost_table_lines_up_methods_and_problems() {
        let mut c = Comparison::default();
        c.push(record("a", "p", 0.0, 10));
        c.push(record("b", "p", 1.0, 5));
        c.push(record("b", "q", 0.0, 7));
        let (t, n) = c.cost_table(Cost::default());
        assert_eq!(c.methods(), ["a", "b"]);
        assert_eq!(c.problems(), ["p", "q"]);
        assert_eq!(t, vec![vec![Some(20.0), None], vec![None, Some(14.0)]]);
        assert_eq!(n, [2, 2]);
    }

    #[test]
    fn history_credits_the_first_solved_iterate() {
        let mut r = record("a", "p", 0.0, 100);
        let mut h = IterRecord {
            iteration: 0,
            f: 1.0,
            grad_norm: 1.0,
            step_norm: f64::NAN,
            alpha: f64::NAN,
            evals: Evals {
                f: 1,
                g: 1,
                h: 0,
                hv: 0,
            },
            seconds: 0.0,
            note: None,
        };
        r.history.push(h.clone());
        h.f = 1e-12;
        h.evals.f = 6;
        h.evals.g = 6;
        h.seconds = 0.1;
        r.history.push(h);
        assert_eq!(r.cost_to_solve(Cost::default()), Some(12.0));
        assert_eq!(r.cost_to_solve(Cost::Seconds), Some(0.1));
        let weights = EvalWeights {
            f: 0.0,
            g: 2.0,
            h_per_n: 1.0,
            hv: 1.0,
        };
        assert_eq!(r.cost_to_solve(Cost::Evaluations(weights)), Some(12.0));
    }

    #[test]
    fn csv_has_one_row_per_run_and_spells_non_finite_values() {
        let mut c = Comparison::default();
        c.push(record("a", "p", f64::NAN, 3));
        let mut buf = Vec::new();
        c.write_runs_csv(&mut buf).unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(text.lines().nth(1).unwrap().contains(",NaN,"));
    }
}
