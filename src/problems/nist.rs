//! NIST StRD nonlinear regression: the `.dat` files, the models, and LRE.
//!
//! The Statistical Reference Datasets of the US National Institute of
//! Standards and Technology (<https://www.itl.nist.gov/div898/strd/nls/nls_main.shtml>)
//! are least-squares problems with parameters, standard deviations and residual
//! sum of squares certified to 11 digits (computed in 128-bit arithmetic). A
//! solver is scored by the *log relative error* ([`lre`]), the number of
//! correct significant digits (McCullough 1998, "Assessing the reliability of
//! statistical software: Part I", *The American Statistician* 52(4)).
//!
//! - [`NistDataset::parse`] / [`NistDataset::load`] read a `.dat` file: the
//!   model text, the two starting points, the certified values, the data
//!   (one response `y`, one predictor `x`, or Nelson's `x1`, `x2`).
//! - [`NistModel`] is each of the 27 models written once, generic over
//!   [`Real`], so [`NistProblem`]'s Jacobian is exact (forward-mode dual
//!   numbers, one pass per parameter).
//! - [`NistProblem`] is a dataset with its model: a [`Residuals`] problem with
//!   `rᵢ = yᵢ − f(xᵢ; b)` (Nelson: `rᵢ = ln yᵢ − f(xᵢ; b)`, as NIST certifies it).
//!
//! ```
//! use hesse::problems::nist::{NistDataset, NistProblem, lre};
//! use hesse::newton::LevenbergMarquardt;
//!
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/nist/Misra1a.dat");
//! let data = NistDataset::load(path).unwrap();
//! let problem = NistProblem::new(&data).unwrap();
//! let fit = LevenbergMarquardt::default().fit(&problem, data.start(1).unwrap()).unwrap();
//! for (est, cert) in fit.report.x.iter().zip(&data.certified) {
//!     assert!(lre(*est, *cert) >= 7.0);
//! }
//! assert!(lre(fit.statistics.rss, data.certified_rss) >= 7.0);
//! ```

use std::path::Path;

use nalgebra::DMatrix;
use num_dual::Dual64;
use thiserror::Error;

use crate::diff::{Real, VectorFn};
use crate::problem::Residuals;

/// The largest LRE reported: NIST certifies 11 significant digits.
pub const LRE_CAP: f64 = 11.0;

/// The log relative error `−log₁₀(|est − cert| / |cert|)`: the number of
/// correct significant digits of `estimate`.
///
/// - For `certified = 0` the absolute error is used: `−log₁₀|est|`.
/// - Capped at [`LRE_CAP`] (11, the certified digits; an exact match gives 11).
/// - 0 when not even the first digit is right (a negative value), and for a
///   non-finite estimate.
///
/// ```
/// use hesse::problems::nist::lre;
/// assert!((lre(1.0001, 1.0) - 4.0).abs() < 1e-9);
/// assert_eq!(lre(2.5, 2.5), 11.0);
/// assert_eq!(lre(100.0, 1.0), 0.0);
/// assert!((lre(1e-7, 0.0) - 7.0).abs() < 1e-12);
/// assert_eq!(lre(f64::NAN, 1.0), 0.0);
/// ```
pub fn lre(estimate: f64, certified: f64) -> f64 {
    if !estimate.is_finite() || !certified.is_finite() {
        return 0.0;
    }
    let err = if certified == 0.0 {
        estimate.abs()
    } else {
        ((estimate - certified) / certified).abs()
    };
    if err == 0.0 {
        return LRE_CAP;
    }
    (-err.log10()).clamp(0.0, LRE_CAP)
}

/// NIST's grading of a problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Difficulty {
    /// "Lower Level of Difficulty".
    Lower,
    /// "Average Level of Difficulty".
    Average,
    /// "Higher Level of Difficulty".
    Higher,
}

/// A malformed or unusable `.dat` file.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum NistError {
    /// The file could not be read.
    #[error("{path}: {message}")]
    Io {
        /// The path given.
        path: String,
        /// The operating system's message.
        message: String,
    },
    /// A line that does not parse, or a section that is missing (then `line`
    /// is the last line of the file).
    #[error("line {line}: {message}")]
    Parse {
        /// 1-based line number.
        line: usize,
        /// What was expected and what was found.
        message: String,
    },
    /// A dataset whose name has no model in [`NistModel`].
    #[error("no model for NIST dataset {0:?}")]
    UnknownModel(String),
    /// A dataset that does not fit its model (parameter or predictor count).
    #[error("dataset {name}: {message}")]
    Mismatch {
        /// The dataset's name.
        name: String,
        /// What does not fit.
        message: String,
    },
}

/// One NIST StRD nonlinear regression file.
#[derive(Debug, Clone, PartialEq)]
pub struct NistDataset {
    /// `Dataset Name:` (`"Misra1a"`).
    pub name: String,
    /// The level of difficulty, if the file states it.
    pub difficulty: Option<Difficulty>,
    /// The model as the file writes it (`"y = b1*(1-exp[-b2*x])  +  e"`),
    /// continuation lines joined with newlines.
    pub model: String,
    /// Parameter names in order (`b1`, `b2`, …).
    pub param_names: Vec<String>,
    /// `Start 1` and `Start 2`.
    pub starts: [Vec<f64>; 2],
    /// Certified parameter values.
    pub certified: Vec<f64>,
    /// Certified standard deviations of the parameters.
    pub certified_std_dev: Vec<f64>,
    /// Certified residual sum of squares.
    pub certified_rss: f64,
    /// Certified residual standard deviation (NaN if absent).
    pub certified_residual_std: f64,
    /// Degrees of freedom as stated (0 if absent).
    pub dof: usize,
    /// Column names of the data block: `["y", "x"]` or `["y", "x1", "x2"]`.
    pub columns: Vec<String>,
    /// The response column.
    pub y: Vec<f64>,
    /// The predictor columns, `x[k][i]` for predictor `k`, observation `i`.
    pub x: Vec<Vec<f64>>,
}

fn parse_err(line: usize, message: impl Into<String>) -> NistError {
    NistError::Parse {
        line,
        message: message.into(),
    }
}

fn number(tok: &str, line: usize, what: &str) -> Result<f64, NistError> {
    tok.parse::<f64>()
        .map_err(|_| parse_err(line, format!("{what}: {tok:?} is not a number")))
}

impl NistDataset {
    /// Reads and parses a file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, NistError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| NistError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Self::parse(&text)
    }

    /// Parses the text of a `.dat` file. Sections are found by their labels,
    /// not by the line numbers the header gives, so reflowed files parse.
    pub fn parse(text: &str) -> Result<Self, NistError> {
        let lines: Vec<&str> = text.lines().collect();
        let last = lines.len().max(1);
        let mut name = None;
        let mut difficulty = None;
        let mut model_lines: Vec<String> = Vec::new();
        let mut in_model = false;
        let mut param_names = Vec::new();
        let (mut start1, mut start2, mut cert, mut sd) = (vec![], vec![], vec![], vec![]);
        let mut rss = None;
        let mut res_sd = f64::NAN;
        let mut dof = 0;
        let mut num_obs = None;
        let mut data_start = None;

        for (idx, raw) in lines.iter().enumerate() {
            let line_no = idx + 1;
            let line = raw.trim();
            if let Some(rest) = line.strip_prefix("Dataset Name:") {
                name = rest.split_whitespace().next().map(str::to_string);
                continue;
            }
            if line.contains("Level of Difficulty") {
                difficulty = match line.split_whitespace().next() {
                    Some("Lower") => Some(Difficulty::Lower),
                    Some("Average") => Some(Difficulty::Average),
                    Some("Higher") => Some(Difficulty::Higher),
                    _ => None,
                };
                continue;
            }
            if line.starts_with("Model:") {
                in_model = true;
                continue;
            }
            if in_model {
                if line.to_ascii_lowercase().starts_with("starting values") {
                    in_model = false;
                } else if !line.is_empty() && !line.contains("Parameters (") {
                    model_lines.push(line.to_string());
                }
                continue;
            }
            if let Some((lhs, rhs)) = line.split_once('=')
                && is_param_name(lhs.trim())
                && data_start.is_none()
            {
                let toks: Vec<&str> = rhs.split_whitespace().collect();
                if toks.len() != 4 {
                    return Err(parse_err(
                        line_no,
                        format!(
                            "expected `{} = start1 start2 certified std_dev`, found {} values",
                            lhs.trim(),
                            toks.len()
                        ),
                    ));
                }
                let expected = format!("b{}", param_names.len() + 1);
                if lhs.trim() != expected {
                    return Err(parse_err(
                        line_no,
                        format!("expected parameter {expected}, found {}", lhs.trim()),
                    ));
                }
                start1.push(number(toks[0], line_no, "Start 1")?);
                start2.push(number(toks[1], line_no, "Start 2")?);
                cert.push(number(toks[2], line_no, "certified value")?);
                sd.push(number(toks[3], line_no, "certified standard deviation")?);
                param_names.push(expected);
                continue;
            }
            let last_tok = || line.split_whitespace().last().unwrap_or("");
            if line.starts_with("Residual Sum of Squares:") {
                rss = Some(number(last_tok(), line_no, "residual sum of squares")?);
            } else if line.starts_with("Residual Standard Deviation:") {
                res_sd = number(last_tok(), line_no, "residual standard deviation")?;
            } else if line.starts_with("Degrees of Freedom:") {
                dof = last_tok().parse().map_err(|_| {
                    parse_err(line_no, format!("degrees of freedom: {:?}", last_tok()))
                })?;
            } else if line.starts_with("Number of Observations:") {
                num_obs = Some(last_tok().parse::<usize>().map_err(|_| {
                    parse_err(line_no, format!("number of observations: {:?}", last_tok()))
                })?);
            } else if let Some(rest) = line.strip_prefix("Data:")
                && rest.split_whitespace().next() == Some("y")
            {
                data_start = Some((idx, rest.split_whitespace().map(str::to_string).collect()));
                break;
            }
        }

        let name = name.ok_or_else(|| parse_err(last, "no `Dataset Name:` line"))?;
        if param_names.is_empty() {
            return Err(parse_err(last, "no parameter lines (`b1 = ...`)"));
        }
        let certified_rss =
            rss.ok_or_else(|| parse_err(last, "no `Residual Sum of Squares:` line"))?;
        let (data_idx, columns): (usize, Vec<String>) =
            data_start.ok_or_else(|| parse_err(last, "no data header (`Data:   y   x`)"))?;
        let ncol = columns.len();
        if ncol < 2 {
            return Err(parse_err(
                data_idx + 1,
                "the data header names no predictor column",
            ));
        }
        let mut y = Vec::new();
        let mut x = vec![Vec::new(); ncol - 1];
        for (idx, raw) in lines.iter().enumerate().skip(data_idx + 1) {
            let toks: Vec<&str> = raw.split_whitespace().collect();
            if toks.is_empty() {
                continue;
            }
            if toks.len() != ncol {
                return Err(parse_err(
                    idx + 1,
                    format!(
                        "expected {ncol} numbers ({}), found {}",
                        columns.join(" "),
                        toks.len()
                    ),
                ));
            }
            y.push(number(toks[0], idx + 1, &columns[0])?);
            for k in 1..ncol {
                x[k - 1].push(number(toks[k], idx + 1, &columns[k])?);
            }
        }
        if let Some(n) = num_obs
            && n != y.len()
        {
            return Err(parse_err(
                last,
                format!(
                    "the header states {n} observations, the data block has {}",
                    y.len()
                ),
            ));
        }
        if y.is_empty() {
            return Err(parse_err(last, "the data block is empty"));
        }
        Ok(NistDataset {
            name,
            difficulty,
            model: model_lines.join("\n"),
            param_names,
            starts: [start1, start2],
            certified: cert,
            certified_std_dev: sd,
            certified_rss,
            certified_residual_std: res_sd,
            dof,
            columns,
            y,
            x,
        })
    }

    /// `Start 1` (`k = 1`) or `Start 2` (`k = 2`); `None` for any other `k`.
    pub fn start(&self, k: usize) -> Option<&[f64]> {
        match k {
            1 => Some(&self.starts[0]),
            2 => Some(&self.starts[1]),
            _ => None,
        }
    }

    /// The number of observations.
    pub fn num_obs(&self) -> usize {
        self.y.len()
    }

    /// The number of parameters.
    pub fn num_params(&self) -> usize {
        self.param_names.len()
    }

    /// [`lre`] of each estimated parameter against the certified value.
    pub fn param_lres(&self, estimate: &[f64]) -> Vec<f64> {
        estimate
            .iter()
            .zip(&self.certified)
            .map(|(e, c)| lre(*e, *c))
            .collect()
    }

    /// [`lre`] of each standard error against the certified standard deviation.
    pub fn std_dev_lres(&self, std_errors: &[f64]) -> Vec<f64> {
        std_errors
            .iter()
            .zip(&self.certified_std_dev)
            .map(|(e, c)| lre(*e, *c))
            .collect()
    }
}

fn is_param_name(s: &str) -> bool {
    s.len() >= 2 && s.starts_with('b') && s[1..].bytes().all(|c| c.is_ascii_digit())
}

/// The 27 NIST StRD nonlinear regression models, `y = f(x; b)`, as NIST
/// writes them (`b1` is `b[0]`). Each is evaluated generically over [`Real`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NistModel {
    /// Misra1a: `y = b1*(1-exp[-b2*x])`.
    Misra1a,
    /// Chwirut1, Chwirut2: `y = exp[-b1*x]/(b2+b3*x)`.
    Chwirut,
    /// DanWood: `y = b1*x**b2`.
    DanWood,
    /// Misra1b: `y = b1 * (1-(1+b2*x/2)**(-2))`.
    Misra1b,
    /// Lanczos1, 2, 3: `y = b1*exp(-b2*x) + b3*exp(-b4*x) + b5*exp(-b6*x)`.
    Lanczos,
    /// Gauss1, 2, 3: `y = b1*exp(-b2*x) + b3*exp(-(x-b4)**2/b5**2) + b6*exp(-(x-b7)**2/b8**2)`.
    Gauss,
    /// Kirby2: `y = (b1 + b2*x + b3*x**2) / (1 + b4*x + b5*x**2)`.
    Kirby2,
    /// Hahn1: `y = (b1+b2*x+b3*x**2+b4*x**3) / (1+b5*x+b6*x**2+b7*x**3)`.
    Hahn1,
    /// Nelson: `log[y] = b1 - b2*x1 * exp[-b3*x2]` (fits `ln y`).
    Nelson,
    /// MGH17: `y = b1 + b2*exp[-x*b4] + b3*exp[-x*b5]`.
    Mgh17,
    /// Misra1c: `y = b1 * (1-(1+2*b2*x)**(-.5))`.
    Misra1c,
    /// Misra1d: `y = b1*b2*x*((1+b2*x)**(-1))`.
    Misra1d,
    /// Roszman1: `y = b1 - b2*x - arctan[b3/(x-b4)]/pi`.
    Roszman1,
    /// ENSO: three harmonics, periods 12, `b4` and `b7` (see [`NistModel::formula`]).
    Enso,
    /// MGH09 (higher difficulty): `y = b1*(x**2+x*b2) / (x**2+x*b3+b4)`.
    Mgh09,
    /// Thurber (higher difficulty): the cubic/cubic rational of Hahn1.
    Thurber,
    /// BoxBOD (higher difficulty): `y = b1*(1-exp[-b2*x])`.
    BoxBod,
    /// Rat42 (higher difficulty): `y = b1 / (1+exp[b2-b3*x])`.
    Rat42,
    /// MGH10 (higher difficulty): `y = b1 * exp[b2/(x+b3)]`.
    Mgh10,
    /// Eckerle4 (higher difficulty): `y = (b1/b2) * exp[-0.5*((x-b3)/b2)**2]`.
    Eckerle4,
    /// Rat43 (higher difficulty): `y = b1 / ((1+exp[b2-b3*x])**(1/b4))`.
    Rat43,
    /// Bennett5 (higher difficulty): `y = b1 * (b2+x)**(-1/b3)`.
    Bennett5,
}

impl NistModel {
    /// The model of the NIST dataset `name` (case-insensitive: `"Misra1a"`,
    /// `"Gauss2"`, `"Lanczos3"`, …).
    pub fn for_dataset(name: &str) -> Option<Self> {
        use NistModel::*;
        Some(match name.to_ascii_lowercase().as_str() {
            "misra1a" => Misra1a,
            "chwirut1" | "chwirut2" => Chwirut,
            "danwood" => DanWood,
            "misra1b" => Misra1b,
            "lanczos1" | "lanczos2" | "lanczos3" => Lanczos,
            "gauss1" | "gauss2" | "gauss3" => Gauss,
            "kirby2" => Kirby2,
            "hahn1" => Hahn1,
            "nelson" => Nelson,
            "mgh17" => Mgh17,
            "misra1c" => Misra1c,
            "misra1d" => Misra1d,
            "roszman1" => Roszman1,
            "enso" => Enso,
            "mgh09" => Mgh09,
            "thurber" => Thurber,
            "boxbod" => BoxBod,
            "rat42" => Rat42,
            "mgh10" => Mgh10,
            "eckerle4" => Eckerle4,
            "rat43" => Rat43,
            "bennett5" => Bennett5,
            _ => return None,
        })
    }

    /// The model as NIST writes it.
    pub fn formula(self) -> &'static str {
        use NistModel::*;
        match self {
            Misra1a => "y = b1*(1-exp[-b2*x])",
            Chwirut => "y = exp[-b1*x]/(b2+b3*x)",
            DanWood => "y = b1*x**b2",
            Misra1b => "y = b1 * (1-(1+b2*x/2)**(-2))",
            Lanczos => "y = b1*exp(-b2*x) + b3*exp(-b4*x) + b5*exp(-b6*x)",
            Gauss => {
                "y = b1*exp( -b2*x ) + b3*exp( -(x-b4)**2 / b5**2 ) + b6*exp( -(x-b7)**2 / b8**2 )"
            }
            Kirby2 => "y = (b1 + b2*x + b3*x**2) / (1 + b4*x + b5*x**2)",
            Hahn1 | Thurber => "y = (b1+b2*x+b3*x**2+b4*x**3) / (1+b5*x+b6*x**2+b7*x**3)",
            Nelson => "log[y] = b1 - b2*x1 * exp[-b3*x2]",
            Mgh17 => "y = b1 + b2*exp[-x*b4] + b3*exp[-x*b5]",
            Misra1c => "y = b1 * (1-(1+2*b2*x)**(-.5))",
            Misra1d => "y = b1*b2*x*((1+b2*x)**(-1))",
            Roszman1 => "y = b1 - b2*x - arctan[b3/(x-b4)]/pi",
            Enso => {
                "y = b1 + b2*cos( 2*pi*x/12 ) + b3*sin( 2*pi*x/12 ) + b5*cos( 2*pi*x/b4 ) \
                 + b6*sin( 2*pi*x/b4 ) + b8*cos( 2*pi*x/b7 ) + b9*sin( 2*pi*x/b7 )"
            }
            Mgh09 => "y = b1*(x**2+x*b2) / (x**2+x*b3+b4)",
            BoxBod => "y = b1*(1-exp[-b2*x])",
            Rat42 => "y = b1 / (1+exp[b2-b3*x])",
            Mgh10 => "y = b1 * exp[b2/(x+b3)]",
            Eckerle4 => "y = (b1/b2) * exp[-0.5*((x-b3)/b2)**2]",
            Rat43 => "y = b1 / ((1+exp[b2-b3*x])**(1/b4))",
            Bennett5 => "y = b1 * (b2+x)**(-1/b3)",
        }
    }

    /// The number of parameters.
    pub fn num_params(self) -> usize {
        use NistModel::*;
        match self {
            Misra1a | DanWood | Misra1b | Misra1c | Misra1d | BoxBod => 2,
            Chwirut | Nelson | Rat42 | Mgh10 | Eckerle4 | Bennett5 => 3,
            Roszman1 | Mgh09 | Rat43 => 4,
            Kirby2 | Mgh17 => 5,
            Lanczos => 6,
            Hahn1 | Thurber => 7,
            Gauss => 8,
            Enso => 9,
        }
    }

    /// The number of predictors (2 for Nelson, 1 otherwise).
    pub fn num_predictors(self) -> usize {
        if self == NistModel::Nelson { 2 } else { 1 }
    }

    /// Whether the certified fit is of `ln y` rather than `y` (Nelson).
    pub fn log_response(self) -> bool {
        self == NistModel::Nelson
    }

    /// `f(x; b)` for one observation with predictors `x` (one entry, two for
    /// Nelson).
    pub fn eval<D: Real>(self, b: &[D], x: &[f64]) -> D {
        use NistModel::*;
        use std::f64::consts::PI;
        let c = |v: f64| D::from(v);
        let t = x[0];
        match self {
            Misra1a | BoxBod => b[0] * (c(1.0) - (-b[1] * t).exp()),
            Chwirut => (-b[0] * t).exp() / (b[1] + b[2] * t),
            // x^b2 = exp(b2 ln x), x > 0 in DanWood's data.
            DanWood => b[0] * (b[1] * t.ln()).exp(),
            Misra1b => b[0] * (c(1.0) - (c(1.0) + b[1] * (t / 2.0)).powi(-2)),
            Lanczos => {
                b[0] * (-b[1] * t).exp() + b[2] * (-b[3] * t).exp() + b[4] * (-b[5] * t).exp()
            }
            Gauss => {
                let g1 = (c(t) - b[3]) / b[4];
                let g2 = (c(t) - b[6]) / b[7];
                b[0] * (-b[1] * t).exp() + b[2] * (-g1 * g1).exp() + b[5] * (-g2 * g2).exp()
            }
            Kirby2 => (b[0] + b[1] * t + b[2] * (t * t)) / (c(1.0) + b[3] * t + b[4] * (t * t)),
            Hahn1 | Thurber => {
                let (t2, t3) = (t * t, t * t * t);
                (b[0] + b[1] * t + b[2] * t2 + b[3] * t3)
                    / (c(1.0) + b[4] * t + b[5] * t2 + b[6] * t3)
            }
            Nelson => b[0] - b[1] * x[0] * (-b[2] * x[1]).exp(),
            Mgh17 => b[0] + b[1] * (-b[3] * t).exp() + b[2] * (-b[4] * t).exp(),
            Misra1c => b[0] * (c(1.0) - (c(1.0) + b[1] * (2.0 * t)).sqrt().recip()),
            Misra1d => b[0] * b[1] * t / (c(1.0) + b[1] * t),
            Roszman1 => b[0] - b[1] * t - (b[2] / (c(t) - b[3])).atan() / PI,
            Enso => {
                let w = 2.0 * PI * t;
                let a = c(w / 12.0);
                let p4 = b[3].recip() * w;
                let p7 = b[6].recip() * w;
                b[0] + b[1] * a.cos()
                    + b[2] * a.sin()
                    + b[4] * p4.cos()
                    + b[5] * p4.sin()
                    + b[7] * p7.cos()
                    + b[8] * p7.sin()
            }
            Mgh09 => {
                let t2 = t * t;
                b[0] * (b[1] * t + t2) / (b[2] * t + b[3] + t2)
            }
            Rat42 => b[0] / ((b[1] - b[2] * t).exp() + 1.0),
            Mgh10 => b[0] * (b[1] / (b[2] + t)).exp(),
            Eckerle4 => {
                let u = (c(t) - b[2]) / b[1];
                b[0] / b[1] * (u * u * (-0.5)).exp()
            }
            Rat43 => b[0] / ((b[1] - b[2] * t).exp() + 1.0).powd(b[3].recip()),
            Bennett5 => b[0] * (b[1] + t).powd(-b[2].recip()),
        }
    }
}

/// Parameter count of the largest model (ENSO), for stack buffers.
const MAX_PARAMS: usize = 9;

/// A NIST dataset with its model as a least-squares problem: residuals
/// `rᵢ(b) = yᵢ − f(xᵢ; b)` (`ln yᵢ` for Nelson), Jacobian exact by dual numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct NistProblem {
    model: NistModel,
    /// The response as fitted (`ln y` for Nelson).
    response: Vec<f64>,
    /// Predictors by observation: `rows[i]` has one or two entries.
    rows: Vec<[f64; 2]>,
}

impl NistProblem {
    /// The problem of `data`, its model chosen by the dataset's name.
    pub fn new(data: &NistDataset) -> Result<Self, NistError> {
        let model = NistModel::for_dataset(&data.name)
            .ok_or_else(|| NistError::UnknownModel(data.name.clone()))?;
        Self::with_model(data, model)
    }

    /// The problem of `data` with the given model.
    pub fn with_model(data: &NistDataset, model: NistModel) -> Result<Self, NistError> {
        let mismatch = |message: String| NistError::Mismatch {
            name: data.name.clone(),
            message,
        };
        if data.num_params() != model.num_params() {
            return Err(mismatch(format!(
                "the file has {} parameters, the model {:?} has {}",
                data.num_params(),
                model,
                model.num_params()
            )));
        }
        if data.x.len() != model.num_predictors() {
            return Err(mismatch(format!(
                "the file has {} predictor columns, the model {:?} uses {}",
                data.x.len(),
                model,
                model.num_predictors()
            )));
        }
        let response = if model.log_response() {
            data.y.iter().map(|y| y.ln()).collect()
        } else {
            data.y.clone()
        };
        let rows = (0..data.num_obs())
            .map(|i| {
                let mut r = [0.0; 2];
                for (k, col) in data.x.iter().enumerate() {
                    r[k] = col[i];
                }
                r
            })
            .collect();
        Ok(NistProblem {
            model,
            response,
            rows,
        })
    }

    /// The model.
    pub fn model(&self) -> NistModel {
        self.model
    }
}

impl VectorFn for NistProblem {
    fn num_inputs(&self) -> usize {
        self.model.num_params()
    }
    fn num_outputs(&self) -> usize {
        self.response.len()
    }
    fn eval<D: Real>(&self, b: &[D], out: &mut [D]) {
        for ((o, y), x) in out.iter_mut().zip(&self.response).zip(&self.rows) {
            *o = D::from(*y) - self.model.eval(b, x);
        }
    }
}

impl Residuals for NistProblem {
    fn num_params(&self) -> usize {
        self.model.num_params()
    }
    fn num_residuals(&self) -> usize {
        self.response.len()
    }
    fn residuals(&self, b: &[f64], r: &mut [f64]) {
        VectorFn::eval(self, b, r);
    }
    fn jacobian(&self, b: &[f64], jac: &mut DMatrix<f64>) {
        // Forward mode, one dual pass per parameter and observation: ∂rᵢ/∂b_j
        // = −∂f(xᵢ; b)/∂b_j, exact to rounding.
        let n = b.len().min(MAX_PARAMS);
        let mut bd = [Dual64::from_re(0.0); MAX_PARAMS];
        for (d, &v) in bd.iter_mut().zip(b) {
            *d = Dual64::from_re(v);
        }
        for j in 0..n {
            bd[j].eps = 1.0;
            for (i, x) in self.rows.iter().enumerate() {
                jac[(i, j)] = -self.model.eval(&bd[..n], x).eps;
            }
            bd[j].eps = 0.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINI: &str = "NIST/ITL StRD
Dataset Name:  Misra1a           (Misra1a.dat)

Data:          1 Response Variable  (y = volume)
               3 Observations
               Lower Level of Difficulty

Model:         Exponential Class
               2 Parameters (b1 and b2)

               y = b1*(1-exp[-b2*x])  +  e

          Starting values                  Certified Values

        Start 1     Start 2           Parameter     Standard Deviation
  b1 =   500         250           2.3894212918E+02  2.7070075241E+00
  b2 =     0.0001      0.0005      5.5015643181E-04  7.2668688436E-06

Residual Sum of Squares:                    1.2455138894E-01
Residual Standard Deviation:                1.0187876330E-01
Degrees of Freedom:                                1
Number of Observations:                            3

Data:   y               x
      10.07E0      77.6E0
      14.73E0     114.9E0
      17.94E0     141.1E0
";

    #[test]
    fn parses_every_section() {
        let d = NistDataset::parse(MINI).unwrap();
        assert_eq!(d.name, "Misra1a");
        assert_eq!(d.difficulty, Some(Difficulty::Lower));
        assert_eq!(d.model, "y = b1*(1-exp[-b2*x])  +  e");
        assert_eq!(d.param_names, ["b1", "b2"]);
        assert_eq!(d.starts, [vec![500.0, 0.0001], vec![250.0, 0.0005]]);
        assert_eq!(d.certified, [2.3894212918E+02, 5.5015643181E-04]);
        assert_eq!(d.certified_std_dev[1], 7.2668688436E-06);
        assert_eq!(d.certified_rss, 1.2455138894E-01);
        assert_eq!(d.dof, 1);
        assert_eq!(d.columns, ["y", "x"]);
        assert_eq!(d.y, [10.07, 14.73, 17.94]);
        assert_eq!(d.x, [vec![77.6, 114.9, 141.1]]);
    }

    #[test]
    fn malformed_input_names_the_line() {
        let bad = MINI.replace("0.0005      5.5015643181E-04", "0.0005      five");
        let err = NistDataset::parse(&bad).unwrap_err();
        assert!(matches!(err, NistError::Parse { line: 17, .. }), "{err}");
        assert!(err.to_string().contains("five"), "{err}");
        let bad = MINI.replace("      14.73E0     114.9E0", "      14.73E0");
        let err = NistDataset::parse(&bad).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 26: expected 2 numbers (y x), found 1"
        );
        let bad = MINI.replace("  b2 =  ", "  b3 =  ");
        assert!(
            NistDataset::parse(&bad)
                .unwrap_err()
                .to_string()
                .contains("expected parameter b2")
        );
        let bad = MINI.replace(
            "Number of Observations:                            3",
            "Number of Observations: 4",
        );
        assert!(
            NistDataset::parse(&bad)
                .unwrap_err()
                .to_string()
                .contains("4 observations")
        );
        assert!(matches!(
            NistDataset::parse("nothing here").unwrap_err(),
            NistError::Parse { line: 1, .. }
        ));
        assert!(matches!(
            NistDataset::load("/no/such/file.dat").unwrap_err(),
            NistError::Io { .. }
        ));
    }

    /// The dual-number Jacobian of every model agrees with central
    /// differences at the certified-ish point of a synthetic observation.
    #[test]
    fn jacobians_match_finite_differences() {
        use NistModel::*;
        let all = [
            Misra1a, Chwirut, DanWood, Misra1b, Lanczos, Gauss, Kirby2, Hahn1, Nelson, Mgh17,
            Misra1c, Misra1d, Roszman1, Enso, Mgh09, Thurber, BoxBod, Rat42, Mgh10, Eckerle4,
            Rat43, Bennett5,
        ];
        for model in all {
            let n = model.num_params();
            let b: Vec<f64> = (0..n).map(|j| 0.3 + 0.17 * j as f64).collect();
            let x = [1.7, 0.9];
            let mut bd = [Dual64::from_re(0.0); MAX_PARAMS];
            for j in 0..n {
                bd[j] = Dual64::from_re(b[j]);
            }
            for j in 0..n {
                bd[j].eps = 1.0;
                let exact = model.eval(&bd[..n], &x).eps;
                bd[j].eps = 0.0;
                let h = 1e-6 * b[j].abs().max(1.0);
                let (mut bp, mut bm) = (b.clone(), b.clone());
                bp[j] += h;
                bm[j] -= h;
                let fd = (model.eval(&bp, &x) - model.eval(&bm, &x)) / (2.0 * h);
                assert!(
                    (exact - fd).abs() <= 1e-6 * exact.abs().max(1.0),
                    "{model:?} b{}: {exact} vs {fd}",
                    j + 1
                );
            }
        }
    }
}
