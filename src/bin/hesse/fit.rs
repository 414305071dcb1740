//! `hesse fit MODEL --data FILE [--start 1|2|NAME=VALUE,...] [--response EXPR]
//! [--scaling column-norms|identity] [--loss linear|soft-l1|huber|cauchy|arctan]
//! [--f-scale C] [--bounds NAME=LO:HI,...] [--confidence P] [--absolute-sigma]
//! [--drop-nonfinite]`
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
//! The residuals are the library's [`FitProblem`]. The statistics' residuals
//! (RSS, `s`, and so the standard errors, intervals and covariance) are its
//! [`extended`](FitProblem::extended) ones: the model in double-double
//! arithmetic, the data with the parts of the file's decimals below their
//! `f64`s ([`hesse::expr::decimal_parts`]); the solver's are `f64`. On
//! NIST's Lanczos1, whose residuals (8·10⁻¹⁴) are a few hundred ulps of its
//! data, that lifts the standard errors from 3.0 certified digits to 6.6-7.0;
//! elsewhere the two agree to rounding.
//!
//! # Robust losses and bounds
//!
//! `--loss` and `--f-scale` minimize `F = C² Σ ρ((rᵢ/C)²)` instead of `RSS`
//! ([`RobustLoss`], scipy `least_squares`'s `loss` and `f_scale`); the
//! statistics are then those of scipy's `curve_fit(loss=...)`: `s² = F/(m −
//! n)` and `J` with Triggs et al.'s rescaled rows
//! ([`hesse::newton::fit_statistics_with_loss`]). `--bounds b1=0:,b2=:10`
//! keeps parameters in a box (either side empty or `inf`/`-inf` for none;
//! parameters not named are free); the JSON report lists the parameters
//! that end on a bound under `active` (`"lower"` or `"upper"`) and says
//! under `projected_start` whether the start was projected into the box; its
//! `grad_norm` is then the projected gradient's. Standard
//! errors ignore the bounds (as `curve_fit`'s).
//!
//! # The report
//!
//! Covariance and correlation matrices, standard errors, t-based confidence
//! intervals `b ± t_{(1+P)/2, m−n} · se` (`--confidence P`, default 0.95,
//! Student's t quantile from statrs), degrees of freedom and the reduced
//! chi-square `s² = RSS/(m − n)` (`F/(m − n)` under a loss). With a `w` or
//! `sigma` column, `--absolute-sigma` takes the weights as exact (`Cov =
//! (JᵀJ)⁻¹`, scipy `curve_fit(absolute_sigma=True)`) instead of scaling the
//! covariance by `s²`; confidence intervals then use the normal quantile.
//! `--drop-nonfinite` skips CSV rows with a NaN or infinite field (their
//! count is reported) instead of refusing the file.
//!
//! # Jacobian
//!
//! Row `i` of `J` is `−√wᵢ ∇_b MODEL(xᵢ; b)`, one forward and one reverse
//! sweep of the tape per observation ([`FitProblem`]; reverse mode: its cost
//! does not grow with the number of parameters, where forward mode needs `n`
//! tangent sweeps per observation).

use std::path::Path;

use clap::Args;
use hesse::expr::{CompileError, Expr, ParseError, decimal_parts};
use hesse::newton::{
    Fit, FitProblem, FitStatistics, LevenbergMarquardt, RobustLoss, Scaling,
    fit_statistics_with_loss,
};
use hesse::problems::nist::{NistDataset, NistError, lre};
use hesse::solver::Run;
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
    #[arg(long, default_value_t = 1000, allow_negative_numbers = true)]
    pub max_iter: u64,

    /// Wall-time limit in seconds (default: none): the fit ends with the
    /// termination time_limit and reports the statistics at the point
    /// reached. Ctrl-C ends it the same way (termination user_stop, exit
    /// status 130).
    #[arg(long, value_name = "SECONDS", allow_hyphen_values = true)]
    pub time_limit: Option<f64>,

    /// The diagonal D of the trust region ‖D p‖ ≤ Δ: column-norms is
    /// invariant under rescaling the parameters; identity (Levenberg's
    /// damping λI) suits parameters of comparable magnitude.
    #[arg(long, value_enum, default_value_t = ScalingArg::ColumnNorms)]
    pub scaling: ScalingArg,

    /// Robust loss rho applied to (r/f_scale)^2 (scipy least_squares's loss):
    /// outliers count less than in least squares (linear).
    #[arg(long, value_enum, default_value_t = LossArg::Linear)]
    pub loss: LossArg,

    /// The residual scale C of --loss: residuals well below C count as in
    /// least squares.
    #[arg(
        long,
        value_name = "C",
        default_value_t = 1.0,
        allow_hyphen_values = true
    )]
    pub f_scale: f64,

    /// Bounds on parameters, NAME=LO:HI,... (either side may be empty or
    /// inf/-inf; unnamed parameters are free).
    #[arg(long, value_name = "NAME=LO:HI,...", allow_hyphen_values = true)]
    pub bounds: Vec<String>,

    /// Confidence level of the t-based confidence intervals.
    #[arg(
        long,
        value_name = "P",
        default_value_t = 0.95,
        allow_hyphen_values = true
    )]
    pub confidence: f64,

    /// With a w or sigma column: take the weights as exact (Cov = (JᵀJ)⁻¹, as
    /// scipy's curve_fit(absolute_sigma=True)) instead of scaling by the
    /// reduced chi-square.
    #[arg(long)]
    pub absolute_sigma: bool,

    /// Skip CSV rows with a NaN or infinite field (their count is reported)
    /// instead of refusing the file.
    #[arg(long)]
    pub drop_nonfinite: bool,

    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// `--loss`: [`RobustLoss`] on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LossArg {
    /// rho(z) = z: least squares.
    Linear,
    /// rho(z) = 2 (sqrt(1 + z) - 1).
    SoftL1,
    /// rho(z) = z for z <= 1, 2 sqrt(z) - 1 above.
    Huber,
    /// rho(z) = ln(1 + z).
    Cauchy,
    /// rho(z) = arctan(z).
    Arctan,
}

impl LossArg {
    /// The library's value.
    fn loss(self) -> RobustLoss {
        match self {
            Self::Linear => RobustLoss::Linear,
            Self::SoftL1 => RobustLoss::SoftL1,
            Self::Huber => RobustLoss::Huber,
            Self::Cauchy => RobustLoss::Cauchy,
            Self::Arctan => RobustLoss::Arctan,
        }
    }

    /// The name on the command line and in the JSON report.
    fn name(self) -> &'static str {
        match self {
            Self::Linear => "linear",
            Self::SoftL1 => "soft-l1",
            Self::Huber => "huber",
            Self::Cauchy => "cauchy",
            Self::Arctan => "arctan",
        }
    }
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
    Option(String),
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
    /// The file has a `w` or `sigma` column.
    weighted: bool,
    /// The parts of the values below their `f64`s, from the file's decimals
    /// (`hesse::expr::decimal_parts`; 0 where a field is not a plain
    /// decimal): `columns`' in their order, then `y`'s. `None` when the file's
    /// rows could not be matched to them (a NIST file laid out unusually).
    low: Option<(Vec<Vec<f64>>, Vec<f64>)>,
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

/// Reads a CSV file (see the module docs for the columns); with
/// `drop_nonfinite`, rows with a NaN or infinite field are skipped and
/// counted (the second value).
fn read_csv(path: &str, text: &str, drop_nonfinite: bool) -> Result<(Data, usize), FitError> {
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
    let mut rows_lo: Vec<Vec<f64>> = Vec::new();
    let mut width = 0;
    let mut dropped = 0;
    'rows: for (k, record) in reader.records().enumerate() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            err(line, e.to_string())
        })?;
        let line = record.position().map_or(k as u64 + 1, |p| p.line());
        if record.iter().all(str::is_empty) {
            continue;
        }
        // The first record with a field (a whitespace-only line before it
        // is skipped, as blank lines are; it used to take the header's place).
        let first = names.is_none() && rows.is_empty();
        if first && record.iter().any(|f| f.parse::<f64>().is_err()) {
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
        let mut row_lo = Vec::with_capacity(width);
        for (j, field) in record.iter().enumerate() {
            let v: f64 = field
                .parse()
                .map_err(|_| err(line, format!("field {} ({field:?}) is not a number", j + 1)))?;
            if !v.is_finite() {
                if drop_nonfinite {
                    dropped += 1;
                    continue 'rows;
                }
                return Err(err(
                    line,
                    format!(
                        "field {} is {v}, not finite (--drop-nonfinite skips such rows)",
                        j + 1
                    ),
                ));
            }
            row.push(v);
            row_lo.push(decimal_parts(field).map_or(0.0, |(_, lo)| lo));
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
        rows_lo.push(row_lo);
    }
    let Some(names) = names else {
        return Err(FitError::Data {
            path: path.to_string(),
            message: "no data rows".into(),
        });
    };
    if rows.is_empty() && dropped > 0 {
        return Err(FitError::Data {
            path: path.to_string(),
            message: format!("every data row ({dropped}) has a non-finite field"),
        });
    }
    let col_of = |rows: &[Vec<f64>], name: &str| -> Option<Vec<f64>> {
        let j = names.iter().position(|n| n == name)?;
        Some(rows.iter().map(|r| r[j]).collect())
    };
    let col = |name: &str| col_of(&rows, name);
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
    let weighted = names.iter().any(|n| n == "w" || n == "sigma");
    let columns_lo = names
        .iter()
        .filter(|n| n.starts_with('x'))
        .map(|n| col_of(&rows_lo, n).expect("named"))
        .collect();
    let y_lo = col_of(&rows_lo, "y").expect("checked");
    Ok((
        Data {
            columns,
            y,
            w,
            weighted,
            low: Some((columns_lo, y_lo)),
        },
        dropped,
    ))
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
    /// `--loss` and `--f-scale`.
    loss: &'static str,
    f_scale: f64,
    covariance: NamedMap<Named>,
    correlation: NamedMap<Named>,
    /// `--confidence` and the intervals `[low, high]` per parameter.
    confidence: f64,
    confidence_intervals: NamedMap<[Num; 2]>,
    /// The t (or, with `--absolute-sigma`, normal) quantile of the intervals.
    quantile: Num,
    reduced_chi_square: Num,
    absolute_sigma: bool,
    /// With `--bounds`: parameter → "lower" | "upper", those on a bound.
    #[serde(skip_serializing_if = "Option::is_none")]
    active: Option<NamedMap<&'static str>>,
    /// With `--bounds`: whether the start lay outside the box and was
    /// projected onto it.
    #[serde(skip_serializing_if = "Option::is_none")]
    projected_start: Option<bool>,
    /// With `--drop-nonfinite`: CSV rows skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    dropped_rows: Option<usize>,
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
    /// The standard errors' against NIST's certified standard deviations.
    std_errors: Named,
}

/// LREs against a NIST file's certified values: parameters, RSS, standard
/// errors.
type Lres = (Vec<f64>, f64, Vec<f64>);

/// The data file read: observations, NIST's certified values and model
/// line (if a NIST file), and the count of CSV rows dropped.
type Loaded = (
    Data,
    Option<Certified>,
    Option<(Option<String>, String)>,
    usize,
);

/// Runs the command and returns what to print on stdout: reads the data,
/// builds the library's [`FitProblem`] and [`LevenbergMarquardt`] from the
/// flags, fits, and prints.
pub fn run(args: &FitArgs) -> Result<String, FitError> {
    let path = args.data.as_str();
    let (data, certified, file_model, dropped) = load(args)?;
    check_options(args, &data)?;
    let (model_src, response_src) = model_source(args, file_model, certified.is_some(), path)?;
    let model = Expr::parse(&model_src).map_err(FitError::ModelParse)?;
    let (data_names, params) = split_variables(&model, &data, certified.as_ref(), path)?;
    let (response, response_text) = responses(response_src.as_deref(), &data, path)?;
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

    let x0 = start_values(args, &params, certified.as_ref())?;
    let param_refs: Vec<&str> = params.iter().map(String::as_str).collect();
    let data_refs: Vec<&str> = data_names.iter().map(String::as_str).collect();
    let tape = model.compile(&param_refs, &data_refs)?;
    let flat = observations(&data, &data_refs);
    let low = low_parts(&data, &data_refs, response_src.as_deref(), &response);
    let mut problem = FitProblem::new(tape, flat, response, Some(data.w.clone()))?;
    if let Some((data_lo, response_lo)) = low {
        problem = problem.with_low_parts(data_lo, response_lo)?;
    }
    let mut solver = LevenbergMarquardt::default()
        .with_max_iter(args.max_iter)
        .with_scaling(args.scaling.scaling())
        .with_loss(args.loss.loss())
        .with_f_scale(args.f_scale);
    let bounds = parse_bounds(&args.bounds, &params)?;
    if let Some((lo, hi)) = &bounds {
        solver = solver.with_bounds(lo.clone(), hi.clone());
    }
    if let Some(t) = args.time_limit {
        solver = solver.with_time_limit(std::time::Duration::from_secs_f64(t));
    }
    // `LevenbergMarquardt::fit`, with Ctrl-C ending the run after the
    // current iteration (`user_stop`).
    let report = Run::new(solver.clone(), &problem, &x0)?
        .with_observer(crate::interrupt::observer)
        .finish();
    // The statistics from the residuals in double-double, with the data's
    // decimals: where the residuals are far below the data (NIST's
    // Lanczos1), f64's rounding of both is most of them.
    let statistics = match fit_statistics_with_loss(
        &problem.extended(),
        &report.x,
        args.loss.loss(),
        args.f_scale,
    ) {
        Ok(statistics) => statistics,
        // The run ran: where the statistics are undefined at its last point
        // (a diverging fit, a Jacobian that overflows there), it is still
        // reported, with NaN statistics and the reason on stderr, as
        // `minimize` reports a run that ended on a non-finite value. Only
        // the reason was printed before, and the run was lost.
        Err(e) => {
            eprintln!(
                "warning: no statistics at the point reached ({}): {e}",
                report.termination.as_str()
            );
            FitStatistics {
                params: report.x.clone(),
                std_errors: vec![f64::NAN; n],
                rss: f64::NAN,
                dof: m - n,
                residual_std: f64::NAN,
                covariance: vec![vec![f64::NAN; n]; n],
                rank: 0,
            }
        }
    };
    let fit = Fit { report, statistics };
    let report = Uncertainty::new(&fit, args.confidence, args.absolute_sigma);
    let active: Vec<(String, &'static str)> = fit
        .report
        .active
        .iter()
        .flatten()
        .map(|&(j, side)| (params[j].clone(), side.as_str()))
        .collect();
    let extras = Extras {
        loss: args.loss,
        f_scale: args.f_scale,
        uncertainty: &report,
        active: bounds.is_some().then_some(&active),
        dropped,
        drop_nonfinite: args.drop_nonfinite,
    };

    let lre = certified.as_ref().and_then(|c| {
        (c.dataset.param_names == params).then(|| {
            let p = c.dataset.param_lres(&fit.report.x);
            let sd = c.dataset.std_dev_lres(&fit.statistics.std_errors);
            (p, lre(fit.statistics.rss, c.dataset.certified_rss), sd)
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
            &extras,
        )
    } else {
        table(
            &params,
            &fit,
            lre.as_ref(),
            &minpack_tolerances(&solver),
            &extras,
        )
    })
}

/// Reads `--data`: a NIST StRD file or CSV.
fn load(args: &FitArgs) -> Result<Loaded, FitError> {
    let path = args.data.as_str();
    let text = std::fs::read_to_string(path).map_err(|e| FitError::Io {
        path: path.to_string(),
        message: e.to_string(),
    })?;
    Ok(if is_nist(path, &text) {
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
            weighted: false,
            low: nist_low_parts(&text, &dataset),
        };
        let file_model = nist_model(&dataset.model);
        (data, Some(Certified { dataset }), file_model, 0)
    } else {
        let (data, dropped) = read_csv(path, &text, args.drop_nonfinite)?;
        (data, None, None, dropped)
    })
}

/// The parts below their `f64`s of a NIST file's data (see [`Data::low`]):
/// the rows after its last `Data:` line with one decimal per column, when
/// they are the dataset's observations, `f64` for `f64`.
fn nist_low_parts(text: &str, dataset: &NistDataset) -> Option<(Vec<Vec<f64>>, Vec<f64>)> {
    let width = dataset.columns.len();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .rposition(|l| l.trim_start().starts_with("Data:"))?;
    let rows: Vec<Vec<(f64, f64)>> = lines[start + 1..]
        .iter()
        .map(|l| {
            l.split_whitespace()
                .map(decimal_parts)
                .collect::<Option<Vec<_>>>()
        })
        .filter_map(|row| row.filter(|r| r.len() == width))
        .collect();
    let matches = rows.len() == dataset.num_obs()
        && rows.iter().enumerate().all(|(i, r)| {
            r[0].0 == dataset.y[i] && dataset.x.iter().zip(&r[1..]).all(|(col, v)| col[i] == v.0)
        });
    if !matches {
        return None;
    }
    let columns_lo = (1..width)
        .map(|k| rows.iter().map(|r| r[k].1).collect())
        .collect();
    Some((columns_lo, rows.iter().map(|r| r[0].1).collect()))
}

/// The flags the library does not check itself.
fn check_options(args: &FitArgs, data: &Data) -> Result<(), FitError> {
    if let Some(t) = args.time_limit
        && !(t.is_finite() && t > 0.0 && t < 1e9)
    {
        return Err(FitError::Option(format!(
            "--time-limit {t}: must be a positive number of seconds below 1e9"
        )));
    }
    if args.absolute_sigma && !data.weighted {
        return Err(FitError::Option(
            "--absolute-sigma needs a w or sigma column in the data (the weights it takes as exact)"
                .into(),
        ));
    }
    if args.confidence.is_nan() || args.confidence <= 0.0 || args.confidence >= 1.0 {
        return Err(FitError::Option(format!(
            "--confidence {}: must lie strictly between 0 and 1",
            args.confidence
        )));
    }
    if !args.f_scale.is_finite() || args.f_scale <= 0.0 {
        return Err(FitError::Option(format!(
            "--f-scale {}: must be finite and > 0",
            args.f_scale
        )));
    }
    Ok(())
}

/// The model and the `--response` transform: from the flags, else from a
/// NIST file's model line.
fn model_source(
    args: &FitArgs,
    file_model: Option<(Option<String>, String)>,
    nist: bool,
    path: &str,
) -> Result<(String, Option<String>), FitError> {
    Ok(match (&args.model, &file_model) {
        (Some(m), _) => (m.clone(), args.response.clone()),
        (None, Some((resp, m))) => (m.clone(), args.response.clone().or_else(|| resp.clone())),
        (None, None) if nist => {
            return Err(FitError::Model(format!(
                "{path}: no model line of the form `y = ... + e` found; give MODEL"
            )));
        }
        (None, None) => {
            return Err(FitError::Model(
                "give MODEL (it may be omitted only for a NIST .dat file)".into(),
            ));
        }
    })
}

/// The model's variables split into data columns (`x`, `x1`, ...; each must
/// be in the data) and parameters (a NIST file's own parameters keep its
/// order `b1, b2, ...`).
fn split_variables(
    model: &Expr,
    data: &Data,
    certified: Option<&Certified>,
    path: &str,
) -> Result<(Vec<String>, Vec<String>), FitError> {
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
    let mut data_names: Vec<String> = Vec::new();
    for v in vars.iter().filter(|v| is_data_name(v)) {
        if !data.columns.iter().any(|(n, _)| n == v) {
            let have: Vec<&str> = data.columns.iter().map(|(n, _)| n.as_str()).collect();
            return Err(FitError::Model(format!(
                "the model uses {v}, but {path} has no column {v} (its predictor columns: {})",
                have.join(", ")
            )));
        }
        data_names.push(v.clone());
    }
    let mut params: Vec<String> = vars.iter().filter(|v| !is_data_name(v)).cloned().collect();
    if params.is_empty() {
        return Err(FitError::Model(
            "the model has no parameters to fit (x, x1, x2, ... are data)".into(),
        ));
    }
    // A NIST file's own parameters keep its order b1, b2, ...
    if let Some(c) = certified {
        let file = &c.dataset.param_names;
        if params.len() == file.len() && params.iter().all(|p| file.contains(p)) {
            params = file.clone();
        }
    }
    Ok((data_names, params))
}

/// The responses `g(yᵢ)` and the text of `g` (`y` without `--response`).
fn responses(
    response_src: Option<&str>,
    data: &Data,
    path: &str,
) -> Result<(Vec<f64>, String), FitError> {
    Ok(match response_src {
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
            (out, src.to_string())
        }
    })
}

/// [`Data::low`] as [`FitProblem::with_low_parts`] takes it: the data
/// columns' in the tape's order (as [`observations`]), and the responses'
/// (`y`'s, or with `--response g` the rest of `g(y)` evaluated in
/// double-double below the `f64` value in `response`); `None` without them.
fn low_parts(
    data: &Data,
    data_names: &[&str],
    response_src: Option<&str>,
    response: &[f64],
) -> Option<(Vec<f64>, Vec<f64>)> {
    let (columns_lo, y_lo) = data.low.as_ref()?;
    let m = data.y.len();
    let used: Vec<&Vec<f64>> = data_names
        .iter()
        .map(|name| {
            let k = data.columns.iter().position(|(c, _)| c == name)?;
            Some(&columns_lo[k])
        })
        .collect::<Option<_>>()?;
    let flat: Vec<f64> = (0..m)
        .flat_map(|i| used.iter().map(move |col| col[i]))
        .collect();
    let response_lo = match response_src {
        None => y_lo.clone(),
        Some(src) => {
            let tape = Expr::parse(src).ok()?.compile(&[], &["y"]).ok()?;
            let mut ws = hesse::expr::ExtendedWorkspace::default();
            (0..m)
                .map(|i| {
                    let (hi, lo) = tape.value_extended(&[], &[(data.y[i], y_lo[i])], &mut ws);
                    // hi and the f64 value are within a few ulps: their
                    // difference is exact. Where the f64 transform is off by
                    // more (y^50 by repeated products, exp of a large
                    // argument), the f64 response is kept as it is.
                    let rest = (hi - response[i]) + lo;
                    if rest.abs() <= 4.0 * f64::EPSILON * response[i].abs() {
                        rest
                    } else {
                        0.0
                    }
                })
                .collect()
        }
    };
    Some((flat, response_lo))
}

/// The data columns the model uses, `m × d` row-major in the tape's order.
fn observations(data: &Data, data_names: &[&str]) -> Vec<f64> {
    let m = data.y.len();
    let d = data_names.len();
    let mut flat = Vec::with_capacity(m * d);
    for i in 0..m {
        for name in data_names {
            let col = &data
                .columns
                .iter()
                .find(|(c, _)| c == name)
                .expect("checked")
                .1;
            flat.push(col[i]);
        }
    }
    flat
}

/// `(lower, upper)` bounds, one pair per parameter.
type BoundsPair = (Vec<f64>, Vec<f64>);

/// `--bounds NAME=LO:HI,...` as `(lower, upper)` over `params` (a
/// parameter not named is free); `None` without `--bounds`.
fn parse_bounds(specs: &[String], params: &[String]) -> Result<Option<BoundsPair>, FitError> {
    if specs.is_empty() {
        return Ok(None);
    }
    let n = params.len();
    let (mut lo, mut hi) = (vec![f64::NEG_INFINITY; n], vec![f64::INFINITY; n]);
    let mut seen = vec![false; n];
    let bad = |item: &str, why: String| FitError::Option(format!("--bounds {item:?}: {why}"));
    for item in specs.iter().flat_map(|s| s.split(',')).map(str::trim) {
        let Some((name, range)) = item.split_once('=') else {
            return Err(bad(
                item,
                "expected NAME=LO:HI (LO or HI may be empty)".into(),
            ));
        };
        let name = name.trim();
        let Some(j) = params.iter().position(|p| p == name) else {
            return Err(bad(
                item,
                format!("no parameter {name} (parameters: {})", params.join(", ")),
            ));
        };
        if seen[j] {
            return Err(bad(item, format!("{name} is bounded twice")));
        }
        seen[j] = true;
        let Some((l, h)) = range.split_once(':') else {
            return Err(bad(
                item,
                "expected NAME=LO:HI (LO or HI may be empty)".into(),
            ));
        };
        // minimize's syntax: a number, inf/-inf or a constant expression
        // (`pi/2`); `1e400` is not a number (it is no f64), NaN not a bound.
        let side = |text: &str, empty: f64| -> Result<f64, FitError> {
            crate::minimize::parse_bound_side(text, empty).map_err(|_| {
                bad(
                    item,
                    format!("{:?} is not a number (or inf, -inf)", text.trim()),
                )
            })
        };
        let (l, h) = (side(l, f64::NEG_INFINITY)?, side(h, f64::INFINITY)?);
        if l > h {
            return Err(bad(item, format!("lower bound {l} above upper bound {h}")));
        }
        if l == f64::INFINITY || h == f64::NEG_INFINITY {
            return Err(bad(
                item,
                format!("{name} = {l}:{h} leaves no finite value"),
            ));
        }
        lo[j] = l;
        hi[j] = h;
    }
    Ok(Some((lo, hi)))
}

/// Name → `T`, serialized as an object in the given order.
struct NamedMap<T>(Vec<(String, T)>);

impl<T: Serialize> Serialize for NamedMap<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// The uncertainty report: covariance (scaled by `s²`, or with
/// `--absolute-sigma` not), correlation, standard errors and confidence
/// intervals.
struct Uncertainty {
    covariance: Vec<Vec<f64>>,
    correlation: Vec<Vec<f64>>,
    std_errors: Vec<f64>,
    /// `(low, high)` per parameter.
    intervals: Vec<(f64, f64)>,
    /// The quantile used: `t_{(1+P)/2, dof}` or the normal one.
    quantile: f64,
    confidence: f64,
    reduced_chi_square: f64,
    absolute_sigma: bool,
}

impl Uncertainty {
    fn new(fit: &Fit, confidence: f64, absolute_sigma: bool) -> Self {
        use statrs::distribution::{ContinuousCDF, Normal, StudentsT};
        let s = &fit.statistics;
        let n = s.std_errors.len();
        let s2 = s.residual_std * s.residual_std;
        // curve_fit(absolute_sigma=True): (JᵀJ)⁻¹ without the factor s².
        let covariance: Vec<Vec<f64>> = if absolute_sigma {
            s.covariance
                .iter()
                .map(|row| row.iter().map(|c| c / s2).collect())
                .collect()
        } else {
            s.covariance.clone()
        };
        let std_errors: Vec<f64> = (0..n).map(|j| covariance[j][j].sqrt()).collect();
        let correlation = (0..n)
            .map(|i| {
                (0..n)
                    .map(|j| covariance[i][j] / (std_errors[i] * std_errors[j]))
                    .collect()
            })
            .collect();
        let p = 0.5 * (1.0 + confidence);
        let quantile = if absolute_sigma {
            Normal::new(0.0, 1.0).map_or(f64::NAN, |d| d.inverse_cdf(p))
        } else if s.dof > 0 {
            StudentsT::new(0.0, 1.0, s.dof as f64).map_or(f64::NAN, |d| d.inverse_cdf(p))
        } else {
            f64::NAN
        };
        let intervals = (0..n)
            .map(|j| {
                let half = quantile * std_errors[j];
                (fit.report.x[j] - half, fit.report.x[j] + half)
            })
            .collect();
        Uncertainty {
            covariance,
            correlation,
            std_errors,
            intervals,
            quantile,
            confidence,
            reduced_chi_square: s2,
            absolute_sigma,
        }
    }
}

/// What `--loss`, `--bounds`, `--confidence`, ... add to the report.
struct Extras<'a> {
    loss: LossArg,
    f_scale: f64,
    uncertainty: &'a Uncertainty,
    /// With `--bounds`: the parameters on a bound.
    active: Option<&'a Vec<(String, &'static str)>>,
    dropped: usize,
    drop_nonfinite: bool,
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
        // `--start 3`, `--start 1 --start 2`: a start number, but not one.
        starts if starts.iter().any(|s| s.trim().parse::<u64>().is_ok()) => {
            return Err(FitError::Model(format!(
                "--start {}: a start number is 1 or 2 (a NIST file's Start 1 / Start 2), given once; \
                 else give NAME=VALUE,... for every parameter",
                starts.join(" --start ")
            )));
        }
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
    lre: Option<&Lres>,
    extras: &Extras,
) -> String {
    let r = &fit.report;
    let s = &fit.statistics;
    let u = extras.uncertainty;
    let named = |v: &[f64]| Named(params.iter().cloned().zip(v.iter().copied()).collect());
    let matrix = |m: &[Vec<f64>]| {
        NamedMap(
            params
                .iter()
                .cloned()
                .zip(m.iter().map(|row| named(row)))
                .collect(),
        )
    };
    crate::json::to_line(&Output {
        loss: extras.loss.name(),
        f_scale: extras.f_scale,
        covariance: matrix(&u.covariance),
        correlation: matrix(&u.correlation),
        confidence: u.confidence,
        confidence_intervals: NamedMap(
            params
                .iter()
                .cloned()
                .zip(u.intervals.iter().map(|&(a, b)| [Num(a), Num(b)]))
                .collect(),
        ),
        quantile: Num(u.quantile),
        reduced_chi_square: Num(u.reduced_chi_square),
        absolute_sigma: u.absolute_sigma,
        active: extras
            .active
            .map(|a| NamedMap(a.iter().map(|(k, v)| (k.clone(), *v)).collect())),
        projected_start: extras.active.is_some().then_some(r.projected_start),
        dropped_rows: extras.drop_nonfinite.then_some(extras.dropped),
        method: &r.method,
        model,
        response,
        scaling: scaling.name(),
        converged: r.converged(),
        termination: r.termination.as_str(),
        message: r.termination.message(),
        params: named(&r.x),
        std_errors: named(&u.std_errors),
        rss: Num(s.rss),
        f: Num(r.f),
        residual_std: Num(s.residual_std),
        observations: s.dof + params.len(),
        dof: s.dof,
        lre: lre.map(|(p, rss, sd)| LreOut {
            params: named(p),
            rss: Num(*rss),
            std_errors: named(sd),
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

/// MINPACK's `(ftol, xtol, gtol)` of `solver`.
fn minpack_tolerances(solver: &LevenbergMarquardt) -> [f64; 3] {
    let (ftol, xtol, gtol) = solver.minpack_tolerances();
    [ftol, xtol, gtol]
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
        // Under bounds the driver measures the projected gradient.
        label: if r.active.is_some() {
            "|P(x - g) - x|∞".into()
        } else {
            "|g(x)|∞".into()
        },
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
    lre: Option<&Lres>,
    tolerances: &[f64; 3],
    extras: &Extras,
) -> String {
    let r = &fit.report;
    let s = &fit.statistics;
    let u = extras.uncertainty;
    let width = params.iter().map(String::len).max().unwrap_or(0).max(9);
    let mut out = crate::summary::text(
        r,
        &minpack_measures(r, *tolerances),
        " (MINPACK lmder's tests: ftol on the relative reduction of ‖r‖², xtol on the scaled step)",
    );
    out += "\n\n * Parameters\n";
    let ci = format!("{}% confidence interval", 100.0 * u.confidence);
    out += &format!(
        "    {:width$} {:>24} {:>24} {:>49}",
        "parameter", "estimate", "std error", ci
    );
    if lre.is_some() {
        out += &format!(" {:>5} {:>6}", "LRE", "LRE se");
    }
    if extras.active.is_some() {
        out += "  bound";
    }
    out += "\n";
    for (j, name) in params.iter().enumerate() {
        out += &format!(
            "    {name:width$} {:>24.16e} {:>24.16e} {:>24.16e} {:>24.16e}",
            r.x[j], u.std_errors[j], u.intervals[j].0, u.intervals[j].1
        );
        if let Some((p, _, sd)) = lre {
            out += &format!(" {:>5.1} {:>6.1}", p[j], sd[j]);
        }
        if let Some(active) = extras.active
            && let Some((_, side)) = active.iter().find(|(k, _)| k == name)
        {
            out += &format!("  {side}");
        }
        out += "\n";
    }
    out += &format!("\n * Correlation\n    {:width$}", "");
    for name in params {
        out += &format!(" {name:>9}");
    }
    out += "\n";
    for (i, name) in params.iter().enumerate() {
        out += &format!("    {name:width$}");
        for j in 0..params.len() {
            out += &format!(" {:>9.4}", u.correlation[i][j]);
        }
        out += "\n";
    }
    if extras.loss != LossArg::Linear {
        out += &format!(
            "\n    loss = {}, f_scale = {}: F = C² Σ ρ((r/C)²) = {:.16e}; standard errors from \
             F/dof and the loss-weighted Jacobian (scipy's curve_fit)",
            extras.loss.name(),
            extras.f_scale,
            r.f
        );
    }
    if u.absolute_sigma {
        out +=
            "\n    --absolute-sigma: covariance (JᵀJ)⁻¹ with the weights as exact, normal quantile";
    }
    if extras.drop_nonfinite {
        out += &format!(
            "\n    dropped {} rows with a non-finite field",
            extras.dropped
        );
    }
    out += &format!(
        "\n    RSS = {:.16e}   residual std = {:.6e}   reduced chi-square = {:.6e}   dof = {}   rank = {}",
        s.rss, s.residual_std, u.reduced_chi_square, s.dof, s.rank
    );
    if let Some((_, rss, _)) = lre {
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

    /// A header after a whitespace-only line (or comments, blank lines, a
    /// BOM-free CRLF file) is still the header: the blank record took its
    /// place and "x" was read as a number on line 4.
    #[test]
    fn the_header_may_follow_blank_lines() {
        for text in ["# c\n  \nx,y\n1,2\n2,4\n", "\n\t\nx,y\r\n1,2\r\n2,4\r\n"] {
            let (d, _) = read_csv("a.csv", text, false).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert_eq!(d.y, [2.0, 4.0], "{text:?}");
        }
    }

    #[test]
    fn drop_nonfinite_skips_and_counts() {
        let text = "x,y\n1,2\n2,nan\ninf,3\n4,5\n";
        assert!(read_csv("a.csv", text, false).is_err());
        let (d, dropped) = read_csv("a.csv", text, true).unwrap();
        assert_eq!((d.y, dropped), (vec![2.0, 5.0], 2));
    }

    #[test]
    fn bounds_syntax() {
        let p = ["a".to_string(), "b".to_string(), "c".to_string()];
        let (lo, hi) = parse_bounds(&["a=0:1,b=-2:".into(), "c=-inf:inf".into()], &p)
            .unwrap()
            .unwrap();
        assert_eq!(lo, [0.0, -2.0, f64::NEG_INFINITY]);
        assert_eq!(hi, [1.0, f64::INFINITY, f64::INFINITY]);
        // minimize's syntax: constant expressions, inf spelled out.
        let (lo, hi) = parse_bounds(&["a=-pi:pi/2,b=-Infinity:+inf".into()], &p)
            .unwrap()
            .unwrap();
        assert_eq!(lo[..2], [-std::f64::consts::PI, f64::NEG_INFINITY]);
        assert_eq!(hi[..2], [std::f64::consts::FRAC_PI_2, f64::INFINITY]);
        for bad in [
            "a=1:0",
            "b=:-inf",
            "q=0:1",
            "a=0",
            "a",
            "a=nan:1",
            "a=0:x",
            "a=0:1,a=0:2",
            "a=inf:",
            "a=1e400:",
            "a=inf:inf",
            "a=0:1,,",
            "",
        ] {
            let e = parse_bounds(&[bad.into()], &p).unwrap_err().to_string();
            assert!(e.starts_with("--bounds"), "{bad}: {e}");
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
        let (d, _) = read_csv("a.csv", "1,2\n3, 4\n\n# comment\n5,6\n", false).unwrap();
        assert_eq!(d.y, [2.0, 4.0, 6.0]);
        assert_eq!(d.columns[0].1, [1.0, 3.0, 5.0]);
        assert_eq!(d.w, [1.0; 3]);
        let (d, _) = read_csv("a.csv", "y,x1,x2,sigma\n1,2,3,0.5\n", false).unwrap();
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
            let e = read_csv("a.csv", bad, false).unwrap_err().to_string();
            assert!(e.contains(line), "{bad:?}: {e}");
        }
    }
}
