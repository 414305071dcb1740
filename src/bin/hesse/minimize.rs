//! `hesse minimize EXPR --start NAME=VALUE,...`

use clap::Args;
use hesse::continuation::{
    Continuation, ContinuationError, DEFAULT_SAMPLES, Rule, Schedule, Smoothing, StageRecord,
};
use hesse::expr::{CompileError, Expr, ExprProblem, Function, ParseError};
use hesse::problem::{HessVec, Hessian};
use hesse::solver::{Bounds, Report, Side, Termination};
use serde::Serialize;

use crate::json::{Named, Num};
use crate::methods::{MethodError, MethodName, MethodOptions, run_method_bounded};

/// Minimize an expression in named variables, with exact derivatives.
#[derive(Debug, Args)]
pub struct MinimizeArgs {
    /// The expression, e.g. '(1-x)^2 + 100*(y-x^2)^2'. Operators + - * / ^ **,
    /// functions exp ln log (natural) log10 log2 sqrt abs sin cos tan asin
    /// acos atan sinh cosh tanh erf erfc, atan2(y, x) min(a, b) max(a, b)
    /// hypot(a, b), constants pi and e.
    #[arg(allow_hyphen_values = true, value_name = "EXPR")]
    pub expr: String,

    /// Start values, NAME=VALUE separated by commas (or repeat the option);
    /// every variable needs one, a finite number. A value may be a constant
    /// expression (pi/4).
    #[arg(
        long,
        value_name = "NAME=VALUE,...",
        allow_hyphen_values = true,
        required = true
    )]
    pub start: Vec<String>,

    /// The method. The default, bfgs, is scipy.optimize.minimize's default
    /// for unconstrained problems: with exact gradients it converges
    /// superlinearly (40 iterations on Rosenbrock from (-1.2, 1) where gd
    /// takes about 15,000) at O(n²) memory and work per iteration; above a
    /// few thousand variables use lbfgs.
    #[arg(long, value_enum, default_value = "bfgs")]
    pub method: MethodName,

    /// Absolute gradient tolerance: stop when ‖∇f‖∞ ≤ gtol.
    #[arg(long, default_value_t = 1e-8, allow_hyphen_values = true)]
    pub gtol: f64,

    /// Relative tolerance on the change in f: stop when |f_{k-1} - f_k| ≤
    /// ftol |f_k| (default: off).
    #[arg(long, allow_hyphen_values = true)]
    pub ftol: Option<f64>,

    /// Relative tolerance on the step: stop when ‖x_k - x_{k-1}‖∞ ≤ xtol
    /// ‖x_k‖∞ (default: off).
    #[arg(long, allow_hyphen_values = true)]
    pub xtol: Option<f64>,

    /// Iteration limit. The default is high because the first-order
    /// baselines need tens of thousands of iterations on a valley like
    /// Rosenbrock's; quasi-Newton and Newton methods stop long before.
    #[arg(long, default_value_t = 100_000, allow_negative_numbers = true)]
    pub max_iter: u64,

    /// Limit on the evaluations of f, ∇f, ∇²f and ∇²f·v together (default:
    /// none).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub max_evals: Option<u64>,

    /// Wall-time limit in seconds (default: none); the run ends with the
    /// termination time_limit.
    #[arg(long, value_name = "SECONDS", allow_hyphen_values = true)]
    pub time_limit: Option<f64>,

    /// Print one line per iteration to stderr: k, f, ‖g‖∞, the step
    /// ‖x_k - x_{k-1}‖∞, the line-search step α, and the f, g, H, Hv
    /// evaluations so far.
    #[arg(long)]
    pub trace: bool,

    /// L-BFGS memory: the number of (s, y) pairs kept (default 10).
    #[arg(long, allow_negative_numbers = true)]
    pub memory: Option<usize>,

    /// Box constraints LO ≤ NAME ≤ HI, NAME=LO:HI separated by commas (or
    /// repeat the option); either side may be empty (unbounded) or
    /// inf/-inf, and LO = HI fixes the variable. Variables not named are
    /// unbounded. Methods that take bounds: lbfgsb, tron. A start outside
    /// the box is projected onto it; --json adds `active` (name → "lower"
    /// or "upper", the variables at a bound) and `projected_start`.
    #[arg(long, value_name = "NAME=LO:HI,...", allow_hyphen_values = true)]
    pub bounds: Vec<String>,

    /// Print one JSON object instead of the summary.
    #[arg(long)]
    pub json: bool,

    /// Hyper-parameters of the first-order baselines.
    #[command(flatten)]
    pub first_order: crate::baselines::FirstOrderArgs,

    /// Gaussian-blur continuation (Goodfellow et al. §8.7.6): minimize the
    /// objective blurred with σ = σ₀, σ₀/2, … (STAGES halvings), each stage
    /// from the last one's end, then the expression itself. The blur averages
    /// SAMPLES scrambled-Sobol points (antithetic pairs; default 256).
    /// --json adds the per-stage records as `stages`.
    #[arg(long, value_name = "SIGMA0,STAGES[,SAMPLES]")]
    pub continuation: Option<String>,
}

impl MinimizeArgs {
    /// The method-specific options given (those of the table in
    /// [`applies`](crate::applies); the first-order flags are checked apart).
    fn given(&self) -> Vec<&'static str> {
        [
            ("ftol", self.ftol.is_some()),
            ("xtol", self.xtol.is_some()),
            ("max-evals", self.max_evals.is_some()),
            ("trace", self.trace),
            ("memory", self.memory.is_some()),
            ("bounds", !self.bounds.is_empty()),
        ]
        .into_iter()
        .filter_map(|(name, on)| on.then_some(name))
        .collect()
    }
}

/// Bad input to `minimize`.
#[derive(Debug, thiserror::Error)]
pub enum MinimizeError {
    #[error("{0}")]
    Parse(#[from] ParseError),
    #[error("bad --start entry '{entry}': {why}")]
    BadStart { entry: String, why: String },
    #[error("--start gives {name} twice")]
    DuplicateStart { name: String },
    #[error("missing start value for {} (add --start {}): every variable of the expression needs one",
        .names.join(", "), example(.names))]
    MissingStart { names: Vec<String> },
    #[error("--start names {} not in the expression (its variables: {}){hint}",
        .names.join(", "), if .vars.is_empty() { "none".to_string() } else { .vars.join(", ") })]
    UnknownStart {
        names: Vec<String>,
        vars: Vec<String>,
        hint: String,
    },
    #[error("bad --bounds entry '{entry}': {why}")]
    BadBounds { entry: String, why: String },
    #[error("the expression has no variables to minimize")]
    NoVariables,
    #[error("invalid option --{0} {1}: must be finite and >= 0")]
    Tolerance(&'static str, f64),
    #[error("invalid option --time-limit {0}: must be a number of seconds > 0 and < 1e9")]
    TimeLimit(f64),
    #[error("invalid option --max-evals 0: must be at least 1")]
    MaxEvals,
    #[error("{0}")]
    NotApplicable(String),
    #[error("{0}")]
    Compile(#[from] CompileError),
    #[error("{0}")]
    Method(#[from] MethodError),
    #[error("{0}")]
    FirstOrder(#[from] hesse::solver::Error),
    #[error("bad --continuation '{spec}': {why}")]
    BadContinuation { spec: String, why: String },
    #[error("--continuation: {0}")]
    Continuation(#[from] ContinuationError),
}

/// Parses `--continuation σ₀,stages[,samples]` (the numbers are checked by
/// the library: σ₀ > 0, stages ≥ 1, samples even and ≥ 2).
fn parse_continuation(spec: &str) -> Result<Continuation, MinimizeError> {
    let bad = |why: &str| MinimizeError::BadContinuation {
        spec: spec.to_string(),
        why: why.to_string(),
    };
    let parts: Vec<&str> = spec.split(',').map(str::trim).collect();
    if !(2..=3).contains(&parts.len()) {
        return Err(bad(
            "expected SIGMA0,STAGES[,SAMPLES], as in 1.7,8 or 1.7,8,256",
        ));
    }
    let sigma0: f64 = parts[0]
        .parse()
        .map_err(|_| bad("SIGMA0 must be a number"))?;
    let stages: usize = parts[1]
        .parse()
        .map_err(|_| bad("STAGES must be a whole number ≥ 1"))?;
    let samples: usize = match parts.get(2) {
        Some(p) => p
            .parse()
            .map_err(|_| bad("SAMPLES must be a whole number, even and ≥ 2"))?,
        None => DEFAULT_SAMPLES,
    };
    let continuation = Continuation::new(Schedule::geometric(sigma0, stages))
        .with_smoothing(Smoothing::QuasiMonteCarlo { samples, seed: 0 });
    continuation.schedule().sigmas()?;
    Rule::new(continuation.smoothing(), 1)?;
    Ok(continuation)
}

/// One stage of `--continuation` in the JSON output.
#[derive(Serialize)]
struct StageJson {
    sigma: Num,
    f_blurred: Num,
    f: Num,
    start: Named,
    x: Named,
    iterations: u64,
    termination: &'static str,
    f_evals: u64,
    g_evals: u64,
    h_evals: u64,
    hv_evals: u64,
    seconds: f64,
}

fn stage_json(vars: &[String], s: &StageRecord) -> StageJson {
    let named = |v: &[f64]| Named(vars.iter().cloned().zip(v.iter().copied()).collect());
    StageJson {
        sigma: Num(s.sigma),
        f_blurred: Num(s.f_blurred),
        f: Num(s.f),
        start: named(&s.start),
        x: named(&s.end),
        iterations: s.iterations,
        termination: s.termination.as_str(),
        f_evals: s.evals.f,
        g_evals: s.evals.g,
        h_evals: s.evals.h,
        hv_evals: s.evals.hv,
        seconds: s.seconds,
    }
}

/// One run of `--method` (a baseline with its flags, or a method of the
/// table) on `problem` from `start`.
fn run_one<P: Hessian + HessVec>(
    args: &MinimizeArgs,
    options: &MethodOptions,
    bounds: Option<&Bounds>,
    problem: &P,
    start: &[f64],
) -> Result<Report, MinimizeError> {
    let method = args.method.name();
    if crate::methods::is_baseline(method) {
        crate::baselines::run_baseline(method, problem, start, options, &args.first_order)
            .map_err(|e| MinimizeError::from(MethodError::from(e)))
    } else {
        Ok(run_method_bounded(method, problem, start, options, bounds)?)
    }
}

fn example(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("{n}=..."))
        .collect::<Vec<_>>()
        .join(",")
}

/// Parses `--start` values: `x=-1.2,y=1`, each value a constant expression.
pub fn parse_starts(args: &[String]) -> Result<Vec<(String, f64)>, MinimizeError> {
    let mut starts: Vec<(String, f64)> = Vec::new();
    for entry in args.iter().flat_map(|a| a.split(',')) {
        let bad = |why: String| MinimizeError::BadStart {
            entry: entry.to_string(),
            why,
        };
        let Some((name, value)) = entry.split_once('=') else {
            return Err(bad("expected NAME=VALUE, as in x=-1.2".into()));
        };
        let name = name.trim();
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(bad(format!(
                "'{name}' is not a variable name (letters, digits and _, not starting with a digit)"
            )));
        }
        let value = Expr::parse(value.trim())
            .map_err(|e| bad(format!("the value is not a number:\n{e}")))?;
        if let Some(word) = value
            .variables()
            .iter()
            .find(|v| matches!(v.to_ascii_lowercase().as_str(), "nan" | "inf" | "infinity"))
        {
            return Err(bad(format!(
                "starts must be finite numbers ('{word}' is not one)"
            )));
        }
        if !value.variables().is_empty() {
            return Err(bad(format!(
                "the value must be a constant, it uses {}",
                value.variables().join(", ")
            )));
        }
        let v = value.eval(&[]);
        if !v.is_finite() {
            return Err(bad(format!(
                "starts must be finite numbers, this one is {v}"
            )));
        }
        if starts.iter().any(|(n, _)| n == name) {
            return Err(MinimizeError::DuplicateStart { name: name.into() });
        }
        starts.push((name.to_string(), v));
    }
    Ok(starts)
}

/// One side of a `--bounds` entry: empty is unbounded (`default`), else a
/// number, `inf`/`-inf`, or a constant expression (`pi/2`); NaN is refused.
pub fn parse_bound_side(text: &str, default: f64) -> Result<f64, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(default);
    }
    let v = match text.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        "nan" | "+nan" | "-nan" => return Err("NaN is not a bound".into()),
        _ => {
            let e = Expr::parse(text).map_err(|_| format!("'{text}' is not a number"))?;
            if !e.variables().is_empty() {
                return Err(format!("'{text}' is not a number"));
            }
            e.eval(&[])
        }
    };
    if v.is_nan() {
        return Err(format!("'{text}' is NaN, not a bound"));
    }
    Ok(v)
}

/// Parses `--bounds x=0:1,y=:5,z=-inf:0` into the box over `vars` (a
/// variable not named is unbounded), or an error naming the entry.
pub fn parse_bounds(vars: &[String], args: &[String]) -> Result<Bounds, MinimizeError> {
    let n = vars.len();
    let (mut lower, mut upper) = (vec![f64::NEG_INFINITY; n], vec![f64::INFINITY; n]);
    let mut seen = vec![false; n];
    for entry in args.iter().flat_map(|a| a.split(',')) {
        let bad = |why: String| MinimizeError::BadBounds {
            entry: entry.to_string(),
            why,
        };
        let Some((name, range)) = entry.split_once('=') else {
            return Err(bad("expected NAME=LO:HI, as in x=0:1 or y=:5".into()));
        };
        let name = name.trim();
        let Some(i) = vars.iter().position(|v| v == name) else {
            return Err(bad(format!(
                "'{name}' is not a variable of the expression (its variables: {})",
                vars.join(", ")
            )));
        };
        if std::mem::replace(&mut seen[i], true) {
            return Err(bad(format!("{name} is bounded twice")));
        }
        let Some((lo, hi)) = range.split_once(':') else {
            return Err(bad(
                "expected LO:HI after '=', either side may be empty, as in x=0:1 or y=:5".into(),
            ));
        };
        let lo = parse_bound_side(lo, f64::NEG_INFINITY).map_err(|w| bad(format!("LO: {w}")))?;
        let hi = parse_bound_side(hi, f64::INFINITY).map_err(|w| bad(format!("HI: {w}")))?;
        if lo > hi {
            return Err(bad(format!("LO = {lo} exceeds HI = {hi}")));
        }
        if lo == f64::INFINITY || hi == f64::NEG_INFINITY {
            return Err(bad(format!("{name} = {lo}:{hi} leaves no finite value")));
        }
        lower[i] = lo;
        upper[i] = hi;
    }
    Bounds::new(lower, upper).map_err(|e| MinimizeError::BadBounds {
        entry: args.join(","),
        why: e.to_string(),
    })
}

/// The start point in the order of `vars`, or an error naming the missing
/// and the unknown names.
pub fn start_point(vars: &[String], starts: &[(String, f64)]) -> Result<Vec<f64>, MinimizeError> {
    let unknown: Vec<String> = starts
        .iter()
        .filter(|(n, _)| !vars.contains(n))
        .map(|(n, _)| n.clone())
        .collect();
    if !unknown.is_empty() {
        let hint = match unknown
            .iter()
            .find(|n| matches!(n.as_str(), "e" | "pi") || Function::is_function_name(n))
        {
            Some(n) if Function::is_function_name(n) => {
                format!("; '{n}' is a function, not a variable")
            }
            Some(n) => format!("; '{n}' is a constant, not a variable"),
            None => String::new(),
        };
        return Err(MinimizeError::UnknownStart {
            names: unknown,
            vars: vars.to_vec(),
            hint,
        });
    }
    let missing: Vec<String> = vars
        .iter()
        .filter(|v| !starts.iter().any(|(n, _)| n == *v))
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(MinimizeError::MissingStart { names: missing });
    }
    Ok(vars
        .iter()
        .map(|v| {
            starts
                .iter()
                .find(|(n, _)| n == v)
                .map_or(f64::NAN, |s| s.1)
        })
        .collect())
}

/// The JSON result of `minimize`.
#[derive(Serialize)]
struct Output<'a> {
    method: &'a str,
    expression: &'a str,
    converged: bool,
    termination: &'static str,
    message: &'static str,
    x: Named,
    f: Num,
    grad_norm: Num,
    iterations: u64,
    f_evals: u64,
    g_evals: u64,
    h_evals: u64,
    hv_evals: u64,
    seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    stages: Option<Vec<StageJson>>,
    /// With bounds: the variables at a bound, name → "lower" | "upper".
    #[serde(skip_serializing_if = "Option::is_none")]
    active: Option<ActiveJson>,
    /// With bounds: whether the start was projected onto the box.
    #[serde(skip_serializing_if = "Option::is_none")]
    projected_start: Option<bool>,
}

/// The active set as a JSON object in the order of the variables.
struct ActiveJson(Vec<(String, Side)>);

impl Serialize for ActiveJson {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, side) in &self.0 {
            map.serialize_entry(name, side.as_str())?;
        }
        map.end()
    }
}

fn active_named(vars: &[String], r: &Report) -> Option<ActiveJson> {
    r.active
        .as_ref()
        .map(|a| ActiveJson(a.iter().map(|&(i, s)| (vars[i].clone(), s)).collect()))
}

/// Runs the command and returns what to print on stdout.
pub fn run(args: &MinimizeArgs) -> Result<String, MinimizeError> {
    let method = args.method.name();
    crate::applies::check(method, &args.given(), "method", &MethodName::names())
        .map_err(MinimizeError::NotApplicable)?;
    args.first_order
        .check_applies(method, "method", &MethodName::names())
        .map_err(MinimizeError::NotApplicable)?;
    let continuation = args
        .continuation
        .as_deref()
        .map(parse_continuation)
        .transpose()?;
    for (name, tol) in [
        ("gtol", Some(args.gtol)),
        ("ftol", args.ftol),
        ("xtol", args.xtol),
    ] {
        if let Some(t) = tol
            && !(t.is_finite() && t >= 0.0)
        {
            return Err(MinimizeError::Tolerance(name, t));
        }
    }
    let time_limit = match args.time_limit {
        None => None,
        Some(t) if t.is_finite() && t > 0.0 && t < 1e9 => {
            Some(std::time::Duration::from_secs_f64(t))
        }
        Some(t) => return Err(MinimizeError::TimeLimit(t)),
    };
    if args.max_evals == Some(0) {
        return Err(MinimizeError::MaxEvals);
    }
    let expr = Expr::parse(&args.expr)?;
    let starts = parse_starts(&args.start)?;
    let vars = expr.variables();
    if vars.is_empty() {
        return Err(MinimizeError::NoVariables);
    }
    let x0 = start_point(vars, &starts)?;
    let bounds = if args.bounds.is_empty() {
        None
    } else {
        Some(parse_bounds(vars, &args.bounds)?)
    };
    let names: Vec<&str> = vars.iter().map(String::as_str).collect();
    let problem = ExprProblem::new(&expr, &names)?;
    let options = MethodOptions {
        gtol: args.gtol,
        ftol: args.ftol,
        xtol: args.xtol,
        max_iter: args.max_iter,
        max_evals: args.max_evals,
        time_limit,
        memory: args.memory,
        trace: args.trace,
        ..MethodOptions::default()
    };
    let (report, stages) = match &continuation {
        None => (
            run_one(args, &options, bounds.as_ref(), &problem, &x0)?,
            None,
        ),
        Some(c) => {
            // --time-limit holds for the whole run, not per stage: each stage
            // gets what is left; once it is spent, the blurred stages left are
            // skipped (recorded with no iterations, J_σ not evaluated) and the
            // last stage, the expression itself, reports at the point reached.
            let deadline = time_limit.map(|t| std::time::Instant::now() + t);
            let mut last: Option<Report> = None;
            let r = c.minimize_with(
                &problem,
                &x0,
                |blurred, start| -> Result<Report, MinimizeError> {
                    let mut options = options;
                    let left =
                        deadline.map(|d| d.saturating_duration_since(std::time::Instant::now()));
                    // Past the deadline, or after Ctrl-C: skip the blurred
                    // stages left (the last, σ = 0, still reports).
                    let stopped = if crate::interrupt::interrupted() {
                        Some(Termination::UserStop)
                    } else if left.is_some_and(|l| l.is_zero()) {
                        Some(Termination::TimeLimit)
                    } else {
                        None
                    };
                    if let Some(termination) = stopped
                        && blurred.sigma() > 0.0
                        && let Some(prev) = &last
                    {
                        return Ok(Report {
                            x: start.to_vec(),
                            f: f64::NAN,
                            grad_norm: f64::NAN,
                            iterations: 0,
                            evals: Default::default(),
                            termination,
                            f_change: f64::NAN,
                            step_norm: f64::NAN,
                            history: None,
                            elapsed: std::time::Duration::ZERO,
                            projected_start: false,
                            ..prev.clone()
                        });
                    }
                    if let Some(left) = left {
                        options.time_limit = Some(left.max(std::time::Duration::from_nanos(1)));
                    }
                    let report = run_one(args, &options, bounds.as_ref(), blurred, start)?;
                    last = Some(report.clone());
                    Ok(report)
                },
            )?;
            (r.result, Some(r.stages))
        }
    };
    Ok(if args.json {
        let records = stages
            .as_ref()
            .map(|st| st.iter().map(|s| stage_json(vars, s)).collect());
        json(&expr, vars, &report, records)
    } else {
        let mut out = summary(vars, &report);
        if let Some(stages) = &stages {
            out += &stage_summary(stages);
        }
        out
    })
}

/// The per-stage table of `--continuation`.
fn stage_summary(stages: &[StageRecord]) -> String {
    let mut out = String::from(
        "\n * Continuation stages (f evals are evaluations of the expression)\n      sigma        J_sigma(x)             f(x)   iter  f evals  termination\n",
    );
    for s in stages {
        out += &format!(
            "    {:9.3e} {:>16.9e} {:>16.9e} {:>6} {:>8}  {}\n",
            s.sigma,
            s.f_blurred,
            s.f,
            s.iterations,
            s.evals.f,
            s.termination.as_str()
        );
    }
    out
}

fn json(expr: &Expr, vars: &[String], r: &Report, stages: Option<Vec<StageJson>>) -> String {
    crate::json::to_line(&Output {
        method: &r.method,
        expression: expr.source(),
        converged: r.converged(),
        termination: r.termination.as_str(),
        message: r.termination.message(),
        x: Named(vars.iter().cloned().zip(r.x.iter().copied()).collect()),
        f: Num(r.f),
        grad_norm: Num(r.grad_norm),
        iterations: r.iterations,
        f_evals: r.evals.f,
        g_evals: r.evals.g,
        h_evals: r.evals.h,
        hv_evals: r.evals.hv,
        seconds: r.elapsed.as_secs_f64(),
        stages,
        active: active_named(vars, r),
        projected_start: r.active.is_some().then_some(r.projected_start),
    })
}

fn summary(vars: &[String], r: &Report) -> String {
    let mut out = crate::summary::text(r, &crate::summary::driver_measures(r), "");
    out += "\n\n * Variables\n";
    let width = vars.iter().map(String::len).max().unwrap_or(0);
    let active = r.active.as_deref().unwrap_or(&[]);
    for (i, (name, v)) in vars.iter().zip(&r.x).enumerate() {
        out += &format!("    {name:width$} = {v:.16e}");
        if let Some((_, side)) = active.iter().find(|(j, _)| *j == i) {
            out += &format!("  (at its {} bound)", side.as_str());
        }
        out += "\n";
    }
    if r.projected_start {
        out += "    (the start lay outside the bounds and was projected onto them)\n";
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn start_values_parse() {
        let s = parse_starts(&strings(&["x=-1.2, y = 1", "z=pi/2", "w=1e-3"])).unwrap();
        assert_eq!(s[0], ("x".into(), -1.2));
        assert_eq!(s[1], ("y".into(), 1.0));
        assert_eq!(s[2], ("z".into(), std::f64::consts::FRAC_PI_2));
        assert_eq!(s[3], ("w".into(), 1e-3));
        for bad in ["x", "x=", "=1", "1x=2", "x=y", "x=1/0", "x=1,x=2", "x=(1"] {
            assert!(parse_starts(&strings(&[bad])).is_err(), "{bad}");
        }
    }

    #[test]
    fn missing_and_unknown_are_named() {
        let vars = strings(&["x", "y", "z"]);
        let err = start_point(&vars, &[("x".into(), 1.0)])
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing start value for y, z"), "{err}");
        assert!(err.contains("--start y=...,z=..."), "{err}");
        let starts = [("x".into(), 1.0), ("e".into(), 1.0)];
        let err = start_point(&vars, &starts).unwrap_err().to_string();
        assert!(err.contains("names e not in the expression"), "{err}");
        assert!(err.contains("'e' is a constant"), "{err}");
        let starts = [("y".into(), 2.0), ("x".into(), 1.0), ("z".into(), 3.0)];
        assert_eq!(start_point(&vars, &starts).unwrap(), [1.0, 2.0, 3.0]);
    }
}
