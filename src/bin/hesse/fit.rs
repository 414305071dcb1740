//! `hesse fit MODEL --data FILE [--start 1|2|NAME=VALUE,...] [--response EXPR]
//! [--scaling column-norms|identity]`
//!
//! Least-squares fit of `y = MODEL(x)` by Levenberg-Marquardt
//! ([`LevenbergMarquardt`], MINPACK's `lmder`, tolerances `1e-15`) with the
//! residual Jacobian exact from the expression tape. `--scaling` chooses the
//! diagonal `D` of the trust region `‖D p‖ ≤ Δ` ([`Scaling`]): the running
//! column norms of `J` (MINPACK's `mode = 1`, the default) or `D = I`
//! (Levenberg 1944); the JSON report echoes it as `scaling`.
//!
//! # The model
//!
//! `MODEL` is an expression ([`hesse::expr`] syntax). Its variables named
//! like data columns (`x`, `x1`, `x2`, ...) are data; every other name is a
//! parameter. `y` (the response) may not appear in it. For a NIST StRD `.dat`
//! file `MODEL` may be omitted: the file's model line is used
//! (`y = b1*(1-exp[-b2*x])  +  e` gives `b1*(1-exp[-b2*x])`; a left-hand side
//! other than `y`, as Nelson's `log[y]`, becomes the `--response`).
//!
//! # The data
//!
//! `FILE` is a NIST StRD `.dat` file (recognized by its `NIST/ITL StRD` first
//! line or the `.dat` extension) or CSV:
//!
//! - with a header, the columns are named `x`, `y`, `x1`, `x2`, ... and
//!   optionally `w` (weights) or `sigma` (standard deviations of `y`), in any
//!   order; without a header (the first row all numbers) exactly two columns,
//!   `x` then `y`;
//! - blank lines and lines starting with `#` are skipped; fields may be
//!   padded with spaces.
//!
//! # Residuals and weights
//!
//! `rᵢ = √wᵢ (g(yᵢ) − MODEL(xᵢ; b))` with `g` the `--response` transform
//! (identity by default) and `wᵢ = 1` by default, the `w` column, or
//! `1/σᵢ²` from a `sigma` column. The fit minimizes `RSS = Σ rᵢ²`; standard
//! errors are `sqrt(diag(s² (JᵀJ)⁻¹))`, `s² = RSS/(m − n)` (as NIST certifies
//! them and as scipy's `curve_fit` reports with `absolute_sigma=False`).
//!
//! # Jacobian
//!
//! Row `i` of `J` is `−√wᵢ ∇_b MODEL(xᵢ; b)`, one forward and one reverse
//! sweep of the tape per observation (reverse mode: its cost does not grow
//! with the number of parameters, where forward mode needs `n` tangent
//! sweeps per observation).

use std::cell::RefCell;
use std::path::Path;

use clap::Args;
use hesse::expr::{CompileError, Expr, ParseError, Tape, Workspace};
use hesse::newton::{Fit, LevenbergMarquardt, Scaling};
use hesse::problem::Residuals;
use hesse::problems::nist::{NistDataset, NistError, lre};
use nalgebra::DMatrix;
use serde::Serialize;

use crate::json::{Named, Num};
use crate::minimize::{MinimizeError, parse_starts, start_point};
use crate::summary::Measure;

/// Least-squares fit of y = MODEL(x) to data, by Levenberg-Marquardt with an
/// exact Jacobian.
#[derive(Debug, Args)]
pub struct FitArgs {
    /// The model, e.g. 'b1*(1-exp(-b2*x))': x, x1, x2, ... are data columns,
    /// every other name is a parameter. May be omitted for a NIST .dat file
    /// (its model line is used).
    #[arg(allow_hyphen_values = true, value_name = "MODEL")]
    pub model: Option<String>,

    /// The data: a NIST StRD .dat file, or CSV with columns x,y (header
    /// optional; with a header also x1, x2, ... and a weight column w or a
    /// standard-deviation column sigma).
    #[arg(long, value_name = "FILE")]
    pub data: String,

    /// Start values: 1 or 2 for a NIST file's Start 1 / Start 2 (default 1
    /// for a NIST file), or NAME=VALUE,... for every parameter.
    #[arg(long, value_name = "1|2|NAME=VALUE,...", allow_hyphen_values = true)]
    pub start: Vec<String>,

    /// Fit a transform of the observations instead of y itself, an
    /// expression in y (NIST's Nelson fits 'log(y)').
    #[arg(long, value_name = "EXPR", allow_hyphen_values = true)]
    pub response: Option<String>,

    /// Iteration (Jacobian) limit.
    #[arg(long, default_value_t = 1000)]
    pub max_iter: u64,

    /// The diagonal D of the trust region ‖D p‖ ≤ Δ: column-norms is
    /// invariant under rescaling the parameters; identity (Levenberg's
    /// damping λI) suits parameters of comparable magnitude.
    #[arg(long, value_enum, default_value_t = ScalingArg::ColumnNorms)]
    pub scaling: ScalingArg,

    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// `--scaling`: the [`Scaling`] modes the command line offers (a fixed
/// diagonal, [`Scaling::Diagonal`], is library-only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScalingArg {
    /// d_j = the largest norm of Jacobian column j so far (MINPACK's mode 1,
    /// `Scaling::ColumnNorms`, the library's default).
    ColumnNorms,
    /// D = I (Levenberg 1944, `Scaling::Identity`).
    Identity,
}

impl ScalingArg {
    /// The library's value.
    fn scaling(self) -> Scaling {
        match self {
            Self::ColumnNorms => Scaling::ColumnNorms,
            Self::Identity => Scaling::Identity,
        }
    }

    /// The name on the command line and in the JSON report.
    fn name(self) -> &'static str {
        match self {
            Self::ColumnNorms => "column-norms",
            Self::Identity => "identity",
        }
    }
}

/// Bad input to `fit`.
#[derive(Debug, thiserror::Error)]
pub enum FitError {
    #[error("cannot read {path}: {message}")]
    Io { path: String, message: String },
    #[error("{path}: {source}")]
    Nist { path: String, source: NistError },
    #[error("{path}, line {line}: {message}")]
    Csv {
        path: String,
        line: u64,
        message: String,
    },
    #[error("{path}: {message}")]
    Data { path: String, message: String },
    #[error("model: {0}")]
    ModelParse(ParseError),
    #[error("--response: {0}")]
    ResponseParse(ParseError),
    #[error("{0}")]
    Model(String),
    #[error("{0}")]
    Start(#[from] MinimizeError),
    #[error("{0}")]
    Compile(#[from] CompileError),
    #[error("{0}")]
    Solver(#[from] hesse::solver::Error),
}

/// Observations: the response `y`, the named predictor columns, the weights.
#[derive(Debug, Clone)]
struct Data {
    /// Predictor columns by name (`x`, `x1`, ...).
    columns: Vec<(String, Vec<f64>)>,
    y: Vec<f64>,
    /// `wᵢ` (1 when the file has no weights).
    w: Vec<f64>,
}

/// A NIST file's extras: starting values and certified values.
struct Certified {
    dataset: NistDataset,
}

fn is_nist(path: &str, text: &str) -> bool {
    Path::new(path)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("dat"))
        || text.trim_start().starts_with("NIST/ITL StRD")
}

/// Reads a CSV file (see the module docs for the columns).
fn read_csv(path: &str, text: &str) -> Result<Data, FitError> {
    let err = |line: u64, message: String| FitError::Csv {
        path: path.to_string(),
        line,
        message,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut names: Option<Vec<String>> = None;
    let mut rows: Vec<Vec<f64>> = Vec::new();
    let mut width = 0;
    for (k, record) in reader.records().enumerate() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            err(line, e.to_string())
        })?;
        let line = record.position().map_or(k as u64 + 1, |p| p.line());
        if record.iter().all(str::is_empty) {
            continue;
        }
        if k == 0 && record.iter().any(|f| f.parse::<f64>().is_err()) {
            // A header: every field a column name we know.
            let mut seen: Vec<String> = Vec::new();
            for field in record.iter() {
                let known = matches!(field, "x" | "y" | "w" | "sigma")
                    || (field.len() > 1
                        && field.starts_with('x')
                        && field[1..].bytes().all(|b| b.is_ascii_digit()));
                if !known {
                    return Err(err(
                        line,
                        format!(
                            "unknown column {field:?} in the header: columns are x, y, x1, x2, ..., \
                             and optionally w (weights) or sigma (standard deviations)"
                        ),
                    ));
                }
                if seen.iter().any(|s| s == field) {
                    return Err(err(line, format!("column {field:?} appears twice")));
                }
                seen.push(field.to_string());
            }
            if !seen.iter().any(|s| s == "y") {
                return Err(err(line, "the header has no y column".into()));
            }
            if seen.iter().any(|s| s == "w") && seen.iter().any(|s| s == "sigma") {
                return Err(err(
                    line,
                    "give weights (w) or standard deviations (sigma), not both".into(),
                ));
            }
            width = seen.len();
            names = Some(seen);
            continue;
        }
        if names.is_none() {
            if record.len() != 2 {
                return Err(err(
                    line,
                    format!(
                        "{} columns without a header: a file without a header has two, x and y; \
                         name more columns in a header (x1,x2,y,w,...)",
                        record.len()
                    ),
                ));
            }
            width = 2;
            names = Some(vec!["x".into(), "y".into()]);
        }
        if record.len() != width {
            return Err(err(
                line,
                format!("{} fields, expected {width}", record.len()),
            ));
        }
        let mut row = Vec::with_capacity(width);
        for (j, field) in record.iter().enumerate() {
            let v: f64 = field
                .parse()
                .map_err(|_| err(line, format!("field {} ({field:?}) is not a number", j + 1)))?;
            if !v.is_finite() {
                return Err(err(line, format!("field {} is {v}, not finite", j + 1)));
            }
            row.push(v);
        }
        let named = names.as_ref().expect("set above");
        for (name, &v) in named.iter().zip(&row) {
            if name == "w" && v < 0.0 {
                return Err(err(line, format!("weight w = {v} is negative")));
            }
            if name == "sigma" && v <= 0.0 {
                return Err(err(line, format!("sigma = {v} is not positive")));
            }
        }
        rows.push(row);
    }
    let Some(names) = names else {
        return Err(FitError::Data {
            path: path.to_string(),
            message: "no data rows".into(),
        });
    };
    let col = |name: &str| -> Option<Vec<f64>> {
        let j = names.iter().position(|n| n == name)?;
        Some(rows.iter().map(|r| r[j]).collect())
    };
    let y = col("y").expect("checked");
    let w = if let Some(w) = col("w") {
        w
    } else if let Some(s) = col("sigma") {
        s.iter().map(|s| 1.0 / (s * s)).collect()
    } else {
        vec![1.0; y.len()]
    };
    let columns = names
        .iter()
        .filter(|n| n.starts_with('x'))
        .map(|n| (n.clone(), col(n).expect("named")))
        .collect();
    Ok(Data { columns, y, w })
}

/// The model line of a NIST file as `(response, model)`: `y = f + e` gives
/// `(None, f)`, `log[y] = f + e` gives `(Some("log[y]"), f)`. Definitions of
/// constants before it (Roszman1's `pi = 3.14...`) are skipped: `pi` is
/// built in.
fn nist_model(text: &str) -> Option<(Option<String>, String)> {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let start = lines.iter().position(|l| {
        l.split_once('=')
            .is_some_and(|(lhs, _)| lhs.split(|c: char| !c.is_alphanumeric()).any(|t| t == "y"))
    })?;
    let joined = lines[start..].join(" ");
    let (lhs, rhs) = joined.split_once('=')?;
    let rhs = rhs.trim();
    // The error term: a trailing `+ e`.
    let body = rhs
        .strip_suffix('e')?
        .trim_end()
        .strip_suffix('+')?
        .trim_end();
    let lhs = lhs.trim();
    let response = (lhs != "y").then(|| lhs.to_string());
    Some((response, body.to_string()))
}

/// The least-squares problem `rᵢ = √wᵢ (g(yᵢ) − MODEL(xᵢ; b))`.
struct FitProblem {
    tape: Tape,
    /// `m × d` row-major: the data variables of the tape per observation.
    data: Vec<f64>,
    d: usize,
    /// `g(yᵢ)`.
    response: Vec<f64>,
    /// `√wᵢ`.
    sqrt_w: Vec<f64>,
    ws: RefCell<(Workspace, Vec<f64>)>,
}

impl Residuals for FitProblem {
    fn num_params(&self) -> usize {
        self.tape.params().len()
    }
    fn num_residuals(&self) -> usize {
        self.response.len()
    }
    fn residuals(&self, b: &[f64], r: &mut [f64]) {
        let mut guard = self.ws.borrow_mut();
        let ws = &mut guard.0;
        for (i, ri) in r.iter_mut().enumerate() {
            let row = &self.data[i * self.d..(i + 1) * self.d];
            *ri = self.sqrt_w[i] * (self.response[i] - self.tape.value(b, row, ws));
        }
    }
    fn jacobian(&self, b: &[f64], jac: &mut DMatrix<f64>) {
        let mut guard = self.ws.borrow_mut();
        let (ws, grad) = &mut *guard;
        for i in 0..self.response.len() {
            let row = &self.data[i * self.d..(i + 1) * self.d];
            self.tape.value_grad(b, row, grad, ws);
            for (j, g) in grad.iter().enumerate() {
                jac[(i, j)] = -self.sqrt_w[i] * g;
            }
        }
    }
}

/// The JSON result of `fit`.
#[derive(Serialize)]
struct Output<'a> {
    method: &'a str,
    model: &'a str,
    response: &'a str,
    /// `--scaling`: column-norms or identity.
    scaling: &'static str,
    converged: bool,
    termination: &'static str,
    message: &'static str,
    params: Named,
    std_errors: Named,
    rss: Num,
    f: Num,
    residual_std: Num,
    observations: usize,
    dof: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    lre: Option<LreOut>,
    grad_norm: Num,
    iterations: u64,
    f_evals: u64,
    g_evals: u64,
    h_evals: u64,
    hv_evals: u64,
    seconds: f64,
}

#[derive(Serialize)]
struct LreOut {
    params: Named,
    rss: Num,
}

/// Runs the command and returns what to print on stdout.
pub fn run(args: &FitArgs) -> Result<String, FitError> {
    let path = args.data.as_str();
    let text = std::fs::read_to_string(path).map_err(|e| FitError::Io {
        path: path.to_string(),
        message: e.to_string(),
    })?;
    let (data, certified, file_model) = if is_nist(path, &text) {
        let dataset = NistDataset::parse(&text).map_err(|source| FitError::Nist {
            path: path.to_string(),
            source,
        })?;
        let mut columns = Vec::new();
        for (name, col) in dataset.columns.iter().skip(1).zip(&dataset.x) {
            columns.push((name.clone(), col.clone()));
        }
        let w = vec![1.0; dataset.num_obs()];
        let data = Data {
            columns,
            y: dataset.y.clone(),
            w,
        };
        let file_model = nist_model(&dataset.model);
        (data, Some(Certified { dataset }), file_model)
    } else {
        (read_csv(path, &text)?, None, None)
    };

    // The model and the response transform.
    let (model_src, response_src) = match (&args.model, &file_model) {
        (Some(m), _) => (m.clone(), args.response.clone()),
        (None, Some((resp, m))) => (m.clone(), args.response.clone().or_else(|| resp.clone())),
        (None, None) if certified.is_some() => {
            return Err(FitError::Model(format!(
                "{path}: no model line of the form `y = ... + e` found; give MODEL"
            )));
        }
        (None, None) => {
            return Err(FitError::Model(
                "give MODEL (it may be omitted only for a NIST .dat file)".into(),
            ));
        }
    };
    let model = Expr::parse(&model_src).map_err(FitError::ModelParse)?;
    let vars = model.variables();
    if vars.iter().any(|v| v == "y") {
        return Err(FitError::Model(
            "the model uses y, the response; write the model of y in terms of x \
             (or use --response to transform y)"
                .into(),
        ));
    }
    let is_data_name = |v: &str| {
        v == "x"
            || (v.len() > 1 && v.starts_with('x') && v[1..].bytes().all(|b| b.is_ascii_digit()))
    };
    let mut data_names: Vec<&str> = Vec::new();
    for v in vars.iter().filter(|v| is_data_name(v)) {
        if !data.columns.iter().any(|(n, _)| n == v) {
            let have: Vec<&str> = data.columns.iter().map(|(n, _)| n.as_str()).collect();
            return Err(FitError::Model(format!(
                "the model uses {v}, but {path} has no column {v} (its predictor columns: {})",
                have.join(", ")
            )));
        }
        data_names.push(v);
    }
    let mut params: Vec<String> = vars.iter().filter(|v| !is_data_name(v)).cloned().collect();
    if params.is_empty() {
        return Err(FitError::Model(
            "the model has no parameters to fit (x, x1, x2, ... are data)".into(),
        ));
    }
    // A NIST file's own parameters keep its order b1, b2, ...
    if let Some(c) = &certified {
        let file = &c.dataset.param_names;
        if params.len() == file.len() && params.iter().all(|p| file.contains(p)) {
            params = file.clone();
        }
    }

    // Responses g(yᵢ).
    let (response, response_text) = match &response_src {
        None => (data.y.clone(), "y".to_string()),
        Some(src) => {
            let expr = Expr::parse(src).map_err(FitError::ResponseParse)?;
            let other: Vec<&String> = expr.variables().iter().filter(|v| *v != "y").collect();
            if !other.is_empty() {
                return Err(FitError::Model(format!(
                    "--response may use only y, it uses {}",
                    other
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            let uses_y = !expr.variables().is_empty();
            let mut out = Vec::with_capacity(data.y.len());
            for (i, &y) in data.y.iter().enumerate() {
                let v = if uses_y {
                    expr.eval(&[y])
                } else {
                    expr.eval(&[])
                };
                if !v.is_finite() {
                    return Err(FitError::Data {
                        path: path.to_string(),
                        message: format!(
                            "--response {src} is {v} at observation {} (y = {y})",
                            i + 1
                        ),
                    });
                }
                out.push(v);
            }
            (out, src.clone())
        }
    };

    let m = data.y.len();
    let n = params.len();
    if m < n {
        return Err(FitError::Data {
            path: path.to_string(),
            message: format!(
                "{m} data points for {n} parameters ({}): a fit needs at least {n}",
                params.join(", ")
            ),
        });
    }

    // The start.
    let x0 = start_values(args, &params, certified.as_ref())?;

    let param_refs: Vec<&str> = params.iter().map(String::as_str).collect();
    let tape = model.compile(&param_refs, &data_names)?;
    let d = data_names.len();
    let mut flat = Vec::with_capacity(m * d);
    for i in 0..m {
        for name in &data_names {
            let col = &data
                .columns
                .iter()
                .find(|(c, _)| c == name)
                .expect("checked")
                .1;
            flat.push(col[i]);
        }
    }
    let ws = tape.workspace();
    let problem = FitProblem {
        tape,
        data: flat,
        d,
        response,
        sqrt_w: data.w.iter().map(|w| w.sqrt()).collect(),
        ws: RefCell::new((ws, vec![0.0; n])),
    };
    let solver = LevenbergMarquardt::default()
        .with_max_iter(args.max_iter)
        .with_scaling(args.scaling.scaling());
    let fit = solver.fit(&problem, &x0)?;

    let lre = certified.as_ref().and_then(|c| {
        (c.dataset.param_names == params).then(|| {
            let p = c.dataset.param_lres(&fit.report.x);
            (p, lre(fit.statistics.rss, c.dataset.certified_rss))
        })
    });
    Ok(if args.json {
        json(
            &model_src,
            &response_text,
            args.scaling,
            &params,
            &fit,
            lre.as_ref(),
        )
    } else {
        table(&params, &fit, lre.as_ref(), &minpack_tolerances(&solver))
    })
}

/// `--start`: `1`/`2` for a NIST file, else `NAME=VALUE,...` for every
/// parameter; a NIST file defaults to Start 1.
fn start_values(
    args: &FitArgs,
    params: &[String],
    certified: Option<&Certified>,
) -> Result<Vec<f64>, FitError> {
    let numbered = match args.start.as_slice() {
        [] if certified.is_some() => Some(1),
        [s] if s.trim() == "1" || s.trim() == "2" => Some(if s.trim() == "1" { 1 } else { 2 }),
        _ => None,
    };
    if let Some(k) = numbered {
        let Some(c) = certified else {
            return Err(FitError::Model(format!(
                "--start {k} takes Start {k} of a NIST .dat file; for CSV data give \
                 --start {}",
                params
                    .iter()
                    .map(|p| format!("{p}=..."))
                    .collect::<Vec<_>>()
                    .join(",")
            )));
        };
        let file = &c.dataset.param_names;
        let unknown: Vec<&str> = params
            .iter()
            .filter(|p| !file.contains(p))
            .map(String::as_str)
            .collect();
        let unused: Vec<&str> = file
            .iter()
            .filter(|p| !params.contains(p))
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() || !unused.is_empty() {
            let mut why = Vec::new();
            if !unknown.is_empty() {
                why.push(format!("{} not in the file", unknown.join(", ")));
            }
            if !unused.is_empty() {
                why.push(format!("{} not in the model", unused.join(", ")));
            }
            return Err(FitError::Model(format!(
                "--start {k}: the model's parameters ({}) are not the file's ({}): {}; \
                 give --start NAME=VALUE,...",
                params.join(", "),
                file.join(", "),
                why.join("; ")
            )));
        }
        let start = c.dataset.start(k).expect("1 or 2");
        return Ok(params
            .iter()
            .map(|p| start[file.iter().position(|f| f == p).expect("checked")])
            .collect());
    }
    if args.start.is_empty() {
        return Err(MinimizeError::MissingStart {
            names: params.to_vec(),
        }
        .into());
    }
    let starts = parse_starts(&args.start)?;
    Ok(start_point(params, &starts)?)
}

fn json(
    model: &str,
    response: &str,
    scaling: ScalingArg,
    params: &[String],
    fit: &Fit,
    lre: Option<&(Vec<f64>, f64)>,
) -> String {
    let r = &fit.report;
    let s = &fit.statistics;
    let named = |v: &[f64]| Named(params.iter().cloned().zip(v.iter().copied()).collect());
    crate::json::to_line(&Output {
        method: &r.method,
        model,
        response,
        scaling: scaling.name(),
        converged: r.converged(),
        termination: r.termination.as_str(),
        message: r.termination.message(),
        params: named(&r.x),
        std_errors: named(&s.std_errors),
        rss: Num(s.rss),
        f: Num(r.f),
        residual_std: Num(s.residual_std),
        observations: s.dof + params.len(),
        dof: s.dof,
        lre: lre.map(|(p, rss)| LreOut {
            params: named(p),
            rss: Num(*rss),
        }),
        grad_norm: Num(r.grad_norm),
        iterations: r.iterations,
        f_evals: r.evals.f,
        g_evals: r.evals.g,
        h_evals: r.evals.h,
        hv_evals: r.evals.hv,
        seconds: r.elapsed.as_secs_f64(),
    })
}

/// MINPACK's `(ftol, xtol, gtol)` of `solver`, read from its serialized
/// options (the CLI shows the solver as used, it does not restate defaults).
fn minpack_tolerances(solver: &LevenbergMarquardt) -> [f64; 3] {
    let v = serde_json::to_value(solver).unwrap_or_default();
    ["ftol", "xtol", "gtol"].map(|k| v[k].as_f64().unwrap_or(f64::NAN))
}

/// The convergence measures of an LM fit: MINPACK's tests (`lmder`'s
/// `info` 1, 2, 4) rather than the driver's f and x tests, which LM does
/// not use. The printed values are the unscaled counterparts of MINPACK's
/// (relative change of ‖r‖² and of x); its tests use the predicted
/// reduction and the scaled step `‖D p‖ ≤ xtol ‖D x‖`, so no ≤ is claimed.
fn minpack_measures(r: &hesse::solver::Report, [ftol, xtol, gtol]: [f64; 3]) -> Vec<Measure> {
    let eps = f64::EPSILON;
    let on = |t: f64, what: &str| Measure {
        label: String::new(),
        value: f64::NAN,
        threshold: None,
        note: format!("{what} {:.1e}", t.max(eps)),
    };
    let mut f = on(ftol, "ftol");
    f.label = "|Δ‖r‖²| / ‖r‖²".into();
    f.value = r.f_change / r.f;
    let mut x = on(xtol, "xtol");
    x.label = "|x - x'| / |x|".into();
    x.value = r.step_norm / hesse::solver::inf_norm(&r.x);
    let g = Measure {
        label: "|g(x)|∞".into(),
        value: r.grad_norm,
        threshold: None,
        note: if gtol > 0.0 {
            format!("gtol {gtol:.1e} on the cosines |J_jᵀ r| / (‖J_j‖ ‖r‖)")
        } else {
            "gtol off (0, MINPACK's lmder1)".into()
        },
    };
    vec![f, x, g]
}

fn table(
    params: &[String],
    fit: &Fit,
    lre: Option<&(Vec<f64>, f64)>,
    tolerances: &[f64; 3],
) -> String {
    let r = &fit.report;
    let s = &fit.statistics;
    let width = params.iter().map(String::len).max().unwrap_or(0).max(9);
    let mut out = crate::summary::text(
        r,
        &minpack_measures(r, *tolerances),
        " (MINPACK lmder's tests: ftol on the relative reduction of ‖r‖², xtol on the scaled step)",
    );
    out += "\n\n * Parameters\n";
    out += &format!(
        "    {:width$} {:>24} {:>24}",
        "parameter", "estimate", "std error"
    );
    if lre.is_some() {
        out += &format!(" {:>5}", "LRE");
    }
    out += "\n";
    for (j, name) in params.iter().enumerate() {
        out += &format!(
            "    {name:width$} {:>24.16e} {:>24.16e}",
            r.x[j], s.std_errors[j]
        );
        if let Some((p, _)) = lre {
            out += &format!(" {:>5.1}", p[j]);
        }
        out += "\n";
    }
    out += &format!(
        "\n    RSS = {:.16e}   residual std = {:.6e}   dof = {}   rank = {}",
        s.rss, s.residual_std, s.dof, s.rank
    );
    if let Some((_, rss)) = lre {
        out += &format!("   LRE(RSS) = {rss:.1}");
    }
    out += "\n";
    if s.rank < params.len() {
        out += &format!(
            "    the Jacobian has rank {} < {}: the parameters are not all determined \
             by the data, standard errors are undefined\n",
            s.rank,
            params.len()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--scaling`'s default is the library's, and the names are clap's.
    #[test]
    fn scaling_default_and_names() {
        use clap::ValueEnum;
        assert_eq!(ScalingArg::ColumnNorms.scaling(), Scaling::default());
        for s in ScalingArg::value_variants() {
            let clap_name = s.to_possible_value().expect("not skipped");
            assert_eq!(clap_name.get_name(), s.name());
        }
    }

    #[test]
    fn nist_model_lines() {
        assert_eq!(
            nist_model("y = b1*(1-exp[-b2*x])  +  e"),
            Some((None, "b1*(1-exp[-b2*x])".to_string()))
        );
        assert_eq!(
            nist_model("log[y] = b1 - b2*x1 * exp[-b3*x2]  +  e"),
            Some((
                Some("log[y]".to_string()),
                "b1 - b2*x1 * exp[-b3*x2]".to_string()
            ))
        );
        let (resp, body) = nist_model(
            "pi = 3.141592653589793238462643383279E0\ny =  b1 - b2*x - arctan[b3/(x-b4)]/pi  +  e",
        )
        .unwrap();
        assert_eq!(
            (resp, body.as_str()),
            (None, "b1 - b2*x - arctan[b3/(x-b4)]/pi")
        );
        let (_, body) = nist_model("y = (b1+b2*x) /\n(1+b5*x)  +  e").unwrap();
        assert_eq!(body, "(b1+b2*x) / (1+b5*x)");
        assert_eq!(nist_model("no model here"), None);
    }

    #[test]
    fn csv_with_and_without_header() {
        let d = read_csv("a.csv", "1,2\n3, 4\n\n# comment\n5,6\n").unwrap();
        assert_eq!(d.y, [2.0, 4.0, 6.0]);
        assert_eq!(d.columns[0].1, [1.0, 3.0, 5.0]);
        assert_eq!(d.w, [1.0; 3]);
        let d = read_csv("a.csv", "y,x1,x2,sigma\n1,2,3,0.5\n").unwrap();
        assert_eq!(d.w, [4.0]);
        assert_eq!(d.columns.len(), 2);
        for (bad, line) in [
            ("x,y\n1,2\n3\n", "line 3"),
            ("1,2,3\n", "line 1"),
            ("x,q\n1,2\n", "line 1"),
            ("x,y\n1,2\n3,abc\n", "line 3"),
            ("x,y,w\n1,2,-1\n", "line 2"),
            ("x,x\n", "line 1"),
        ] {
            let e = read_csv("a.csv", bad).unwrap_err().to_string();
            assert!(e.contains(line), "{bad:?}: {e}");
        }
    }
}
