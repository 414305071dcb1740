//! `hesse compare`: methods over an embedded suite of test problems, with a
//! table, CSV files, convergence plots and performance/data profiles.
//!
//! A run counts as solved when `f − f* ≤ max(10⁻⁶ |f*|, 10⁻¹⁰)`, the test
//! of the Moré-Garbow-Hillstrom protocol as published comparisons (scipy's
//! included) apply it: a stationary point that is not the minimizer is not
//! solved. Whether the method knew it was done is the separate `converged`
//! column (its typed termination).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use clap::Args;
use hesse::nn::{Activation, Dataset, Init, Loss, Mlp, MlpProblem};
use hesse::problem::{Gradient, HessVec, Hessian, Objective};
use hesse::problems::{ExtendedRosenbrock, LogisticRegression, Quadratic, Rosenbrock, mgh};
use hesse::report::{
    Comparison, Cost, EvalWeights, PlotError, RunRecord, convergence_series, plot_lines,
    plot_profile,
};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::json::Num;
use crate::methods::{METHODS, MethodError, MethodName, MethodOptions, run_method_bounded};

/// Run methods over an embedded suite of test problems: a table, CSV files,
/// convergence plots and performance profiles.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Absolute gradient tolerance for every run: ‖∇f‖∞ ≤ gtol.
    #[arg(
        long,
        visible_alias = "tol",
        default_value_t = 1e-6,
        allow_hyphen_values = true
    )]
    pub gtol: f64,

    /// Iteration limit for every run.
    #[arg(long, default_value_t = 20_000, allow_negative_numbers = true)]
    pub max_iter: u64,

    /// Wall-time cap per run in seconds; a run that reaches it ends with the
    /// termination `time_limit` (shown, not hidden).
    #[arg(long, default_value_t = 10.0, allow_hyphen_values = true)]
    pub time_limit: f64,

    /// The suite: `default` (Rosenbrock 2-d and 1000-d, quadratics of
    /// condition 1e2, 1e4, 1e6, logistic regression, the digits classifier,
    /// the MGH problems, the bounded MGH problems for lbfgsb and tron),
    /// `mgh` (the MGH problems only), `bounds` (the MGH problems in boxes
    /// that cut off their minimizers, for lbfgsb and tron) or `quick` (a
    /// handful, for a smoke test).
    #[arg(long, default_value = "default")]
    pub suite: String,

    /// Comma-separated methods to run (default: all but the first-order
    /// baselines). Dense methods with O(n³) steps run on problems above
    /// `--dense-max-n` only when named here.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub methods: Vec<MethodName>,

    /// Comma-separated problems of the suite to run (default: all).
    #[arg(long, value_delimiter = ',')]
    pub problems: Vec<String>,

    /// Largest n on which dense O(n³) methods (Newton and friends) run
    /// unless named in `--methods`.
    #[arg(long, default_value_t = 1000, allow_negative_numbers = true)]
    pub dense_max_n: usize,

    /// Directory for the CSV files and SVG plots.
    #[arg(long, default_value = "hesse-out")]
    pub out: PathBuf,

    /// Write the CSV files but no plots.
    #[arg(long)]
    pub no_plots: bool,

    /// Write every iteration of every run to history.csv (139 MB for the
    /// default suite). By default history.csv keeps, per run, iterations
    /// 0-9, then about 10 per decade (log-spaced), and the last one: enough
    /// to plot f − f* against iterations or evaluations on log axes. The
    /// SVG plots are drawn from the full histories either way.
    #[arg(long)]
    pub full_history: bool,

    /// Print one JSON object `{"runs": [...], "summary": [...]}` instead of
    /// the table.
    #[arg(long)]
    pub json: bool,
}

/// A problem of the suite: every derivative a method may ask for.
trait SuiteFn: Hessian + HessVec {}
impl<T: Hessian + HessVec> SuiteFn for T {}

/// f* of `digits_mlp`, computed by `cargo run --release --example
/// digits_fstar`: the lowest minimum reached from the case's seeded start
/// by the suite's converging methods at gtol 10⁻¹⁰, each polished by
/// Newton-CG with a trust region. A network has many minima and from one
/// start the methods end in different ones (f = 0.13301 CG-HZ, 0.13359
/// Newton-CG-TR, 0.13362 Newton-CG, 0.13380 BFGS, 0.13408 L-BFGS, 0.13417
/// CG-PR): this is the best known minimum of that start (the MGH
/// convention), not a global minimum, and `solved` on this case means
/// reaching its basin.
const DIGITS_F_STAR: f64 = 1.330125796126299e-1;

/// The digits classifier of the default suite, owning nothing: the network
/// and data live in a process-wide `OnceLock` so the problem is `'static`.
/// Its dense Hessian (asked for only when a dense method is named on it
/// explicitly, n = 1210 being above `--dense-max-n`) is n Hessian-vector
/// products with the unit vectors.
struct DigitsMlp(MlpProblem<'static>);

impl DigitsMlp {
    /// A 64-16-10 tanh network with softmax cross-entropy and weight decay
    /// λ = 10⁻³ on the 1797 UCI digits (pixels in [0, 1]), and its start:
    /// Glorot weights (seed 1), output bias the log class frequencies.
    fn new() -> (Self, Vec<f64>) {
        static NET: OnceLock<(Mlp, Dataset)> = OnceLock::new();
        let (mlp, data) = NET.get_or_init(|| {
            let data = Dataset::digits().expect("the embedded digits parse");
            let mlp = Mlp::new(&[64, 16, 10], Activation::Tanh, Loss::SoftmaxCrossEntropy)
                .and_then(|m| m.with_weight_decay(1e-3))
                .expect("a valid architecture");
            (mlp, data)
        });
        let mut x0 = mlp.init(Init::Glorot, 1);
        mlp.set_output_bias_from_data(&mut x0, data)
            .expect("the data fit the network");
        let problem = mlp.problem(data).expect("the data fit the network");
        (DigitsMlp(problem), x0)
    }
}

impl Objective for DigitsMlp {
    fn dim(&self) -> usize {
        self.0.dim()
    }
    fn value(&self, x: &[f64]) -> f64 {
        self.0.value(x)
    }
}

impl Gradient for DigitsMlp {
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        self.0.value_grad(x, g)
    }
}

impl HessVec for DigitsMlp {
    fn hess_vec(&self, x: &[f64], v: &[f64], hv: &mut [f64]) {
        self.0.hess_vec(x, v, hv);
    }
}

impl Hessian for DigitsMlp {
    fn hessian(&self, x: &[f64], h: &mut nalgebra::DMatrix<f64>) {
        let n = self.dim();
        let mut e = vec![0.0; n];
        let mut col = vec![0.0; n];
        for j in 0..n {
            e[j] = 1.0;
            self.0.hess_vec(x, &e, &mut col);
            e[j] = 0.0;
            h.column_mut(j).copy_from_slice(&col);
        }
    }
}

/// A test problem with its start and known minimum.
struct Case {
    name: String,
    problem: Box<dyn SuiteFn>,
    x0: Vec<f64>,
    f_star: f64,
    /// A box for the methods that take bounds (only they run the case).
    bounds: Option<hesse::solver::Bounds>,
}

/// The suites. `default`:
/// - Rosenbrock (1960) from (−1.2, 1); extended Rosenbrock, Moré, Garbow &
///   Hillstrom (1981) problem 21, n = 1000, from (−1.2, 1, …);
/// - convex quadratics, n = 100, condition numbers 10², 10⁴, 10⁶, seeded
///   eigenbasis, from their standard start;
/// - L2-regularized logistic regression on the breast-cancer data (λ = 10⁻²)
///   from zero, with its stored f*;
/// - the digits classifier `digits_mlp`: a 64-16-10 tanh network, softmax
///   cross-entropy, weight decay 10⁻³, full UCI digits set, n = 1210, from a
///   seeded Glorot start, f* = [`DIGITS_F_STAR`] (the best known minimum
///   of that start);
/// - every Moré-Garbow-Hillstrom problem at its standard size with a
///   published f*, from its standard start (named `mghNN_name`).
///
/// - the bounded MGH problems ([`hesse::problems::bounded`]: boxes that cut
///   off the minimizer) from their standard starts, projected, named
///   `mghNN_name_box`, run by the methods that take bounds (lbfgsb, tron)
///   only, with f* their [`f_ref`](hesse::problems::bounded::BoundedMgh::f_ref).
///
/// `mgh` is the unbounded MGH group alone; `bounds` the bounded group alone;
/// `quick` is Rosenbrock, the κ = 10² quadratic, logistic regression and
/// MGH problems 1-5.
fn suite(name: &str) -> Result<Vec<Case>, CompareError> {
    let (classic, mgh_ids): (bool, Option<std::ops::RangeInclusive<usize>>) = match name {
        "default" => (true, None),
        "mgh" => (false, None),
        "quick" => (true, Some(1..=5)),
        "bounds" => return Ok(bounded_cases()),
        other => return Err(CompareError::Suite(other.into())),
    };
    let mut cases = Vec::new();
    if classic {
        let rosen = Rosenbrock::new(2);
        cases.push(Case {
            name: "rosenbrock".into(),
            x0: rosen.start(),
            f_star: 0.0,
            problem: Box::new(rosen),
            bounds: None,
        });
        if mgh_ids.is_none() {
            let ext = ExtendedRosenbrock::new(1000);
            cases.push(Case {
                name: "extended_rosenbrock".into(),
                x0: ext.start(),
                f_star: 0.0,
                problem: Box::new(ext),
                bounds: None,
            });
        }
        let kappas: &[(f64, &str)] = if mgh_ids.is_none() {
            &[(1e2, "1e2"), (1e4, "1e4"), (1e6, "1e6")]
        } else {
            &[(1e2, "1e2")]
        };
        for &(kappa, tag) in kappas {
            let quad = Quadratic::with_condition(100, kappa, 0).expect("valid sizes");
            cases.push(Case {
                name: format!("quadratic_kappa{tag}"),
                x0: quad.start(),
                f_star: quad.f_star(),
                problem: Box::new(quad),
                bounds: None,
            });
        }
        let logistic = LogisticRegression::breast_cancer();
        cases.push(Case {
            name: "logistic_breast_cancer".into(),
            x0: logistic.start(),
            f_star: logistic.f_star().expect("stored for the embedded data"),
            problem: Box::new(logistic),
            bounds: None,
        });
        if mgh_ids.is_none() {
            let (digits, x0) = DigitsMlp::new();
            cases.push(Case {
                name: "digits_mlp".into(),
                x0,
                f_star: DIGITS_F_STAR,
                problem: Box::new(digits),
                bounds: None,
            });
        }
    }
    for p in mgh::all() {
        let Some(f_star) = p.f_star() else { continue };
        if let Some(ids) = &mgh_ids
            && !ids.contains(&p.id())
        {
            continue;
        }
        let slug: String = p
            .name()
            .to_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' })
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join("_");
        cases.push(Case {
            name: format!("mgh{:02}_{slug}", p.id()),
            x0: p.start(),
            f_star,
            problem: Box::new(p),
            bounds: None,
        });
    }
    if name == "default" {
        cases.extend(bounded_cases());
    }
    Ok(cases)
}

/// The bounded MGH group of the suites.
fn bounded_cases() -> Vec<Case> {
    hesse::problems::bounded::mgh_in_boxes()
        .into_iter()
        .map(|p| {
            let slug: String = p
                .mgh
                .name()
                .to_lowercase()
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' })
                .collect::<String>()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join("_");
            Case {
                name: format!("mgh{:02}_{slug}_box", p.mgh.id()),
                x0: p.mgh.start(),
                f_star: p.f_ref(),
                bounds: Some(p.bounds.clone()),
                problem: Box::new(p.mgh),
            }
        })
        .collect()
}

/// Methods whose every step costs O(n³) (a dense factorization or
/// eigen-decomposition): skipped above `--dense-max-n` unless named.
fn is_dense(method: &str) -> bool {
    matches!(method, "newton" | "newton-tr" | "saddle-free-newton")
}

/// One row of the table.
#[derive(Serialize)]
struct Run {
    method: String,
    problem: String,
    n: usize,
    solved: bool,
    converged: bool,
    termination: String,
    iterations: u64,
    f_evals: u64,
    g_evals: u64,
    h_evals: u64,
    hv_evals: u64,
    f: Num,
    f_star: f64,
    grad_norm: Num,
    seconds: f64,
}

impl From<&RunRecord> for Run {
    fn from(r: &RunRecord) -> Self {
        Run {
            method: r.method.clone(),
            problem: r.problem.clone(),
            n: r.n,
            solved: r.solved,
            converged: r.converged,
            termination: r.termination.clone(),
            iterations: r.iterations,
            f_evals: r.evals.f,
            g_evals: r.evals.g,
            h_evals: r.evals.h,
            hv_evals: r.evals.hv,
            f: Num(r.f),
            f_star: r.f_star,
            grad_norm: Num(r.grad_norm),
            seconds: r.seconds,
        }
    }
}

/// One method's totals and profile figures.
#[derive(Serialize)]
struct Summary {
    method: String,
    runs: usize,
    solved: usize,
    f_evals: u64,
    g_evals: u64,
    h_evals: u64,
    hv_evals: u64,
    seconds: f64,
    /// Fraction of problems on which the method is cheapest in evaluations
    /// (ties count for each): the performance profile at τ = 1.
    wins_evals: f64,
    /// The same in wall time.
    wins_time: f64,
    /// Fraction of problems solved within twice the best evaluation cost.
    within_2x_evals: f64,
}

#[derive(Serialize)]
struct Output {
    gtol: f64,
    max_iter: u64,
    time_limit: f64,
    suite: String,
    cost: String,
    out: Option<String>,
    /// Whether SVG plots were written (`--no-plots` not given).
    plots: bool,
    /// Whether history.csv has every iteration (`--full-history`).
    full_history: bool,
    runs: Vec<Run>,
    summary: Vec<Summary>,
}

/// Bad input to `compare`, or a file it could not write.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error("invalid option --gtol {0}: must be finite and >= 0")]
    Gtol(f64),
    #[error("invalid option --time-limit {0}: must be a number of seconds > 0 and < 1e9")]
    TimeLimit(f64),
    #[error("unknown suite '{0}' (known: default, mgh, bounds, quick)")]
    Suite(String),
    #[error("unknown problem '{name}' in suite '{suite}' (known: {known})")]
    Problem {
        name: String,
        suite: String,
        known: String,
    },
    #[error("{method} on {problem}: {source}")]
    Method {
        method: String,
        problem: String,
        source: MethodError,
    },
    #[error("{0} names {1} twice")]
    Twice(&'static str, String),
    #[error(
        "nothing to run: suite '{suite}' has no problem for --methods {methods} (its boxed problems run only with lbfgsb, tron)"
    )]
    NothingToRun { suite: String, methods: String },
    #[error("cannot write to --out {path}: {message}")]
    Out { path: String, message: String },
    #[error(transparent)]
    Plot(#[from] PlotError),
}

fn out_error(path: &Path, e: impl std::fmt::Display) -> CompareError {
    CompareError::Out {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Runs the command and returns what to print on stdout.
pub fn run(args: &CompareArgs) -> Result<String, CompareError> {
    if !(args.gtol.is_finite() && args.gtol >= 0.0) {
        return Err(CompareError::Gtol(args.gtol));
    }
    // Below 1e9 s (31 years): `Duration::from_secs_f64` panics past u64 seconds.
    if !(args.time_limit.is_finite() && args.time_limit > 0.0 && args.time_limit < 1e9) {
        return Err(CompareError::TimeLimit(args.time_limit));
    }
    let mut cases = suite(&args.suite)?;
    if !args.problems.is_empty() {
        let known: Vec<String> = cases.iter().map(|c| c.name.clone()).collect();
        for p in &args.problems {
            if !known.contains(p) {
                return Err(CompareError::Problem {
                    name: p.clone(),
                    suite: args.suite.clone(),
                    known: known.join(", "),
                });
            }
        }
        cases.retain(|c| args.problems.contains(&c.name));
    }
    let methods: Vec<&str> = if args.methods.is_empty() {
        METHODS.iter().map(|m| m.name).collect()
    } else {
        args.methods.iter().map(|m| m.name()).collect()
    };
    // A name given twice would run twice and count twice in the profiles.
    for (i, m) in methods.iter().enumerate() {
        if methods[..i].contains(m) {
            return Err(CompareError::Twice("--methods", m.to_string()));
        }
    }
    for (i, p) in args.problems.iter().enumerate() {
        if args.problems[..i].contains(p) {
            return Err(CompareError::Twice("--problems", p.clone()));
        }
    }

    let options = MethodOptions {
        gtol: args.gtol,
        max_iter: args.max_iter,
        history: true,
        time_limit: Some(Duration::from_secs_f64(args.time_limit)),
        ..MethodOptions::default()
    };
    let work: Vec<(&str, &Case)> = methods
        .iter()
        .flat_map(|&m| cases.iter().map(move |c| (m, c)))
        .filter(|(m, c)| !is_dense(m) || c.x0.len() <= args.dense_max_n || !args.methods.is_empty())
        // A box only for the methods that take one.
        .filter(|(m, c)| c.bounds.is_none() || crate::applies::BOUNDED.contains(m))
        .collect();
    if work.is_empty() {
        return Err(CompareError::NothingToRun {
            suite: args.suite.clone(),
            methods: methods.join(", "),
        });
    }
    // Fail on an unwritable --out before spending minutes on the runs.
    let mut files = vec!["runs.csv", "history.csv"];
    if !args.no_plots {
        files.extend([
            "performance_profile_evals.svg",
            "performance_profile_time.svg",
            "data_profile.svg",
        ]);
    }
    crate::out::check_writable(&args.out, &files).map_err(|(path, e)| out_error(&path, e))?;
    if !args.no_plots {
        let conv = args.out.join("convergence");
        fs::create_dir_all(&conv).map_err(|e| out_error(&conv, e))?;
    }
    // indicatif draws nothing when stderr is not a terminal.
    let bar = ProgressBar::new(work.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} runs, {elapsed} {msg}")
            .expect("a valid template"),
    );
    let mut cmp = Comparison::default();
    for (method, case) in work {
        bar.set_message(format!("{method} on {}", case.name));
        let problem: &dyn SuiteFn = &*case.problem;
        let report = run_method_bounded(method, &problem, &case.x0, &options, case.bounds.as_ref())
            .map_err(|source| CompareError::Method {
                method: method.into(),
                problem: case.name.clone(),
                source,
            })?;
        cmp.push(RunRecord::from_report(
            method,
            &case.name,
            case.f_star,
            &report,
        ));
        bar.inc(1);
        // Ctrl-C: the run it stopped is kept (user_stop); the table and the
        // files cover the runs made so far.
        if crate::interrupt::interrupted() {
            break;
        }
    }
    bar.finish_and_clear();

    write_files(&cmp, args)?;
    let output = output(&cmp, args);
    Ok(if args.json {
        crate::json::to_line(&output)
    } else {
        table(&output)
    })
}

/// `runs.csv`, `history.csv`, and unless `--no-plots`: per problem
/// `convergence/PROBLEM-evals.svg` and `-time.svg`, and the profiles.
fn write_files(cmp: &Comparison, args: &CompareArgs) -> Result<(), CompareError> {
    let dir = &args.out;
    let create = |name: &str| {
        let path = dir.join(name);
        fs::File::create(&path)
            .map(std::io::BufWriter::new)
            .map_err(|e| out_error(&path, e))
    };
    cmp.write_runs_csv(create("runs.csv")?)
        .map_err(|e| out_error(&dir.join("runs.csv"), e))?;
    let thinned;
    let history = if args.full_history {
        cmp
    } else {
        thinned = thin(cmp);
        &thinned
    };
    history
        .write_history_csv(create("history.csv")?)
        .map_err(|e| out_error(&dir.join("history.csv"), e))?;
    if args.no_plots {
        return Ok(());
    }
    let conv = dir.join("convergence");
    fs::create_dir_all(&conv).map_err(|e| out_error(&conv, e))?;
    let weights = EvalWeights::default();
    for problem in cmp.problems() {
        let runs: Vec<&RunRecord> = cmp.runs.iter().filter(|r| r.problem == problem).collect();
        for (cost, tag) in [
            (Cost::Evaluations(weights), "evals"),
            (Cost::Seconds, "time"),
        ] {
            let series = convergence_series(&runs, cost);
            plot_lines(
                &conv.join(format!("{problem}-{tag}.svg")),
                &format!("{problem} (n = {})", runs[0].n),
                &cost.label(),
                "f − f*",
                &series,
                true,
                true,
            )?;
        }
    }
    let perf = |cost: Cost, file: &str, what: &str| -> Result<(), CompareError> {
        if let Ok(p) = cmp.performance_profile(cost) {
            plot_profile(
                &dir.join(file),
                &format!("Performance profile ({what}): {}", cost.label()),
                "log₂ τ (cost within a factor τ of the best method)",
                &p,
                true,
            )?;
        }
        Ok(())
    };
    perf(
        Cost::Evaluations(weights),
        "performance_profile_evals.svg",
        "evaluations",
    )?;
    perf(Cost::Seconds, "performance_profile_time.svg", "wall time")?;
    if let Ok(d) = cmp.data_profile(weights) {
        plot_profile(
            &dir.join("data_profile.svg"),
            &format!("Data profile: {}", weights.describe()),
            "α, budget in simplex gradients (cost / (n + 1))",
            &d,
            false,
        )?;
    }
    Ok(())
}

/// Whether iteration `i` of a run of `len` records is kept in the thinned
/// history: `0..10`, then the first iteration of each tenth of a decade
/// (`⌊10 log₁₀ i⌋` changes: 10, 12, 15, 19, 24, ...), and the last.
fn keep(i: usize, len: usize) -> bool {
    let bucket = |i: usize| (10.0 * (i as f64).log10()).floor() as i64;
    i < 10 || i + 1 == len || bucket(i) != bucket(i - 1)
}

/// `cmp` with each run's history thinned by [`keep`].
fn thin(cmp: &Comparison) -> Comparison {
    let mut thinned = cmp.clone();
    for run in &mut thinned.runs {
        let len = run.history.len();
        let mut i = 0;
        run.history.retain(|_| {
            i += 1;
            keep(i - 1, len)
        });
    }
    thinned
}

fn output(cmp: &Comparison, args: &CompareArgs) -> Output {
    let weights = EvalWeights::default();
    let perf_evals = cmp.performance_profile(Cost::Evaluations(weights)).ok();
    let perf_time = cmp.performance_profile(Cost::Seconds).ok();
    let summary = cmp
        .methods()
        .iter()
        .enumerate()
        .map(|(s, m)| {
            let runs: Vec<&RunRecord> = cmp.runs.iter().filter(|r| r.method == *m).collect();
            let total = |f: fn(&RunRecord) -> u64| runs.iter().map(|r| f(r)).sum::<u64>();
            Summary {
                method: m.clone(),
                runs: runs.len(),
                solved: runs.iter().filter(|r| r.solved).count(),
                f_evals: total(|r| r.evals.f),
                g_evals: total(|r| r.evals.g),
                h_evals: total(|r| r.evals.h),
                hv_evals: total(|r| r.evals.hv),
                seconds: runs.iter().map(|r| r.seconds).sum(),
                wins_evals: perf_evals.as_ref().map_or(0.0, |p| p.at(s, 1.0)),
                wins_time: perf_time.as_ref().map_or(0.0, |p| p.at(s, 1.0)),
                within_2x_evals: perf_evals.as_ref().map_or(0.0, |p| p.at(s, 2.0)),
            }
        })
        .collect();
    Output {
        gtol: args.gtol,
        max_iter: args.max_iter,
        time_limit: args.time_limit,
        suite: args.suite.clone(),
        cost: weights.describe(),
        out: Some(args.out.display().to_string()),
        plots: !args.no_plots,
        full_history: args.full_history,
        runs: cmp.runs.iter().map(Run::from).collect(),
        summary,
    }
}

fn table(out: &Output) -> String {
    let mut s = format!(
        "suite {}: gtol = {:e} (‖∇f‖∞), max_iter = {}, time limit {} s per run; \
         solved = f − f* ≤ max(1e-6 |f*|, 1e-10)\n\n",
        out.suite, out.gtol, out.max_iter, out.time_limit
    );
    for m in METHODS {
        if out.summary.iter().any(|r| r.method == m.name) {
            s += &format!("{:<18} {}\n", m.name, m.about);
        }
    }
    s += "\n";
    s += &format!(
        "{:<18} {:<32} {:>5} {:<6} {:>8} {:>8} {:>8} {:>6} {:>8} {:>11} {:>8}  {}\n",
        "method",
        "problem",
        "n",
        "solved",
        "iters",
        "f evals",
        "g evals",
        "H",
        "Hv",
        "f − f*",
        "seconds",
        "termination"
    );
    for r in &out.runs {
        s += &format!(
            "{:<18} {:<32} {:>5} {:<6} {:>8} {:>8} {:>8} {:>6} {:>8} {:>11.3e} {:>8.4}  {}\n",
            r.method,
            r.problem,
            r.n,
            if r.solved { "yes" } else { "no" },
            r.iterations,
            r.f_evals,
            r.g_evals,
            r.h_evals,
            r.hv_evals,
            r.f.0 - r.f_star,
            r.seconds,
            r.termination
        );
    }
    s += &format!(
        "\n{:<18} {:>8} {:>10} {:>10} {:>8} {:>10} {:>9} {:>6} {:>6} {:>6}\n",
        "method",
        "solved",
        "f evals",
        "g evals",
        "H evals",
        "Hv evals",
        "seconds",
        "wins",
        "≤2x",
        "wins t"
    );
    for m in &out.summary {
        s += &format!(
            "{:<18} {:>4}/{:<3} {:>10} {:>10} {:>8} {:>10} {:>9.3} {:>6.2} {:>6.2} {:>6.2}\n",
            m.method,
            m.solved,
            m.runs,
            m.f_evals,
            m.g_evals,
            m.h_evals,
            m.hv_evals,
            m.seconds,
            m.wins_evals,
            m.within_2x_evals,
            m.wins_time
        );
    }
    s += &format!(
        "\nwins = fraction of problems where the method is cheapest (performance profile at τ = 1), \
         ≤2x = within twice the cheapest, by {}; wins t = by wall time.\n",
        out.cost
    );
    if let Some(dir) = &out.out {
        s += &if out.plots {
            format!(
                "CSV and SVG plots (convergence per problem, performance and data profiles) in {dir}/\n"
            )
        } else {
            format!("CSV files (runs.csv, history.csv) in {dir}/\n")
        };
    }
    let solved = out.runs.iter().filter(|r| r.solved).count();
    s += &format!("\n{solved} of {} runs solved\n", out.runs.len());
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `DIGITS_F_STAR` belongs to one network, data set and start: if any of
    /// them drifts (architecture, decay, init, data scaling), f(x₀) moves
    /// and examples/digits_fstar.rs must be rerun. The value is the one that
    /// example printed with the f* stored.
    #[test]
    fn digits_case_is_the_one_f_star_was_computed_for() {
        let (p, x0) = DigitsMlp::new();
        assert_eq!(p.dim(), 1210);
        let f0 = p.value(&x0);
        assert!(
            (f0 - 2.509_036_096_486_535).abs() < 1e-12,
            "f(x0) = {f0:.17e}"
        );
        assert!(DIGITS_F_STAR < f0);
    }

    /// Issue 18 item 6: `no_progress` and `unbounded` reach the table as
    /// their snake_case names, and `--no-plots` claims no plots.
    #[test]
    fn table_shows_new_terminations_and_no_plots() {
        use clap::Parser;
        #[derive(Parser)]
        struct Wrap {
            #[command(flatten)]
            args: CompareArgs,
        }
        let args = Wrap::parse_from(["compare", "--no-plots", "--out", "somewhere"]).args;
        let mut cmp = Comparison::default();
        for (t, problem) in [
            (hesse::solver::Termination::NoProgress, "p1"),
            (hesse::solver::Termination::Unbounded, "p2"),
        ] {
            let report = hesse::solver::Report {
                method: "bfgs".into(),
                x: vec![0.0],
                f: -1e300,
                grad_norm: 1.0,
                iterations: 3,
                evals: Default::default(),
                termination: t,
                f_change: 1.0,
                step_norm: 1.0,
                stop: Default::default(),
                history: None,
                elapsed: Duration::ZERO,
                active: None,
                projected_start: false,
            };
            cmp.push(RunRecord::from_report("bfgs", problem, 0.0, &report));
        }
        let text = table(&output(&cmp, &args));
        let row = |p: &str| {
            text.lines()
                .find(|l| l.starts_with("bfgs ") && l.contains(&format!(" {p} ")))
                .unwrap_or_default()
        };
        assert!(row("p1").ends_with("  no_progress"), "{text}");
        assert!(row("p2").ends_with("  unbounded"), "{text}");
        assert!(
            text.contains("CSV files (runs.csv, history.csv) in somewhere/"),
            "{text}"
        );
        assert!(!text.contains("SVG"), "{text}");
        let json = crate::json::to_line(&output(&cmp, &args));
        assert!(json.contains(r#""termination":"unbounded""#), "{json}");
    }

    /// The thinned history keeps 0..10, about ten iterations per decade and
    /// the last: at most 10 + 10·log₁₀(20000/10) + 1 ≈ 44 of 20,000.
    #[test]
    fn thinning_is_log_spaced() {
        let kept: Vec<usize> = (0..20_000).filter(|&i| keep(i, 20_000)).collect();
        assert_eq!(&kept[..13], &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 13, 16]);
        assert_eq!(kept.last(), Some(&19_999));
        assert!((40..=46).contains(&kept.len()), "{}", kept.len());
        assert_eq!((0..7).filter(|&i| keep(i, 7)).count(), 7);
    }

    /// The dense Hessian built from Hessian-vector products is symmetric
    /// (the R-operator's products are exact).
    #[test]
    fn digits_hessian_from_products_is_symmetric() {
        let (p, x0) = DigitsMlp::new();
        let n = p.dim();
        let mut h = nalgebra::DMatrix::zeros(n, n);
        p.hessian(&x0, &mut h);
        let asym = (&h - h.transpose()).amax();
        assert!(asym < 1e-10 * h.amax().max(1.0), "asymmetry {asym:e}");
    }
}
