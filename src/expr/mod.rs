//! A small expression language with exact derivatives, for `hesse minimize`
//! and `hesse fit`.
//!
//! [`Expr::parse`] reads an expression such as `(1-x)^2 + 100*(y-x^2)^2`;
//! [`Expr::compile`] turns it into a [`Tape`], a flat list of operations with
//! one slot per result (SSA), constants folded and common subexpressions
//! shared. A tape evaluates `f` in one forward sweep, `∇f` by reverse-mode
//! automatic differentiation (one forward and one backward sweep, whatever
//! the number of variables), and Hessian-vector products `∇²f v` by
//! forward-over-reverse: a tangent in direction `v` rides along the forward
//! sweep and the adjoints' tangents along the backward sweep (Griewank &
//! Walther, *Evaluating Derivatives*, 2nd ed. 2008, §5.4 "second-order
//! adjoints"). [`ExprProblem`] wraps a tape as a problem for every minimizer.
//!
//! ```
//! use hesse::expr::{Expr, ExprProblem};
//! use hesse::problem::{Gradient, HessVec};
//!
//! let expr = Expr::parse("(1-x)^2 + 100*(y-x^2)^2").unwrap();
//! assert_eq!(expr.variables(), ["x", "y"]);
//! let rosen = ExprProblem::new(&expr, &["x", "y"]).unwrap();
//! let mut g = [0.0; 2];
//! let f = rosen.value_grad(&[-1.2, 1.0], &mut g);
//! assert!((f - 24.2).abs() < 1e-12);
//! assert!((g[0] + 215.6).abs() < 1e-12 && (g[1] + 88.0).abs() < 1e-12);
//! let mut hv = [0.0; 2];
//! rosen.hess_vec(&[1.0, 1.0], &[1.0, 0.0], &mut hv);
//! assert_eq!(hv, [802.0, -400.0]);
//! ```
//!
//! # Syntax
//!
//! | form | meaning |
//! |---|---|
//! | `+ - * /` | arithmetic, left-associative, `*` `/` before `+` `-` |
//! | `a^b`, `a**b` | power, right-associative (`2^3^2 = 2^9`), binding tighter than a sign: `-x^2 = -(x^2)`; the exponent may carry a sign: `x^-1` |
//! | `-a`, `+a` | signs |
//! | `( )`, `[ ]` | grouping; square brackets as NIST StRD model lines write them, `exp[-b1*x]` |
//! | `1`, `2.5`, `.5`, `1e-3`, `2.5E+4` | numbers |
//! | `pi`, `e` | the constants π and Euler's number |
//! | `exp ln log log10 log2 sqrt abs sin cos tan asin acos atan arctan sinh cosh tanh erf erfc` | functions of one argument; `log` is the natural logarithm, as in NIST StRD and most programming languages (`log(e) = 1`), and `arctan` is `atan` |
//! | `atan2(y, x)`, `min(a, b)`, `max(a, b)`, `hypot(a, b)` | functions of two arguments, separated by a comma ([`Function2`]) |
//! | `x`, `y`, `x1`, `b12`, `_t` | variables: `[A-Za-z_][A-Za-z0-9_]*` |
//!
//! The names `pi` and `e` are always the constants, and function names are
//! always functions, so neither can name a variable (`e1` and `pi2` are
//! variables). Names are case-sensitive: `E` and `Pi` are variables.
//! Whitespace is ignored. There is no implicit multiplication: `2x` is an
//! error that says to write `2*x`.
//!
//! # Derivatives at kinks and outside the domain
//!
//! Every value and derivative is computed in `f64` with the usual IEEE
//! rules: `ln(-1)` is NaN, `1/0` is ∞, and NaN propagates to `f`; minimizers
//! treat non-finite values as a typed outcome. Where a function is not
//! differentiable the tape uses: `abs'(0) = 0`; `sqrt'(0) = +∞`; at a tie
//! `min` and `max` take the mean of the two one-sided gradients, and
//! `hypot` has gradient 0 at the origin ([`Function2`]); for `a^b`
//! with a variable exponent, `∂/∂b = a^b ln a`, which is NaN for `a < 0` and
//! 0 for `a = 0, b > 0`. An integer constant exponent (`x^2`, `x^3`, `x^-1`)
//! is computed by repeated multiplication and is defined for negative `x`;
//! `x^0.5` with negative `x` is NaN.
//!
//! # Data variables
//!
//! A tape distinguishes *parameters*, the variables derivatives are taken
//! with respect to, from *data*, variables bound to values that stay fixed
//! within an evaluation. `hesse fit` compiles `y = MODEL(x; b)` with the
//! parameters `b1, b2, …` and the data `x`, then evaluates the tape once per
//! data point with that point's `x`:
//!
//! ```
//! use hesse::expr::Expr;
//!
//! let model = Expr::parse("b1*(1-exp[-b2*x])").unwrap(); // NIST BoxBOD
//! let tape = model.compile(&["b1", "b2"], &["x"]).unwrap();
//! let mut ws = tape.workspace();
//! let mut jac_row = [0.0; 2]; // ∂model/∂(b1, b2) at one data point
//! let b = [213.8, 0.547];
//! for x in [1.0, 2.0, 3.0, 5.0, 7.0, 10.0] {
//!     let m = tape.value_grad(&b, &[x], &mut jac_row, &mut ws);
//!     assert!((m - b[0] * (1.0 - (-b[1] * x).exp())).abs() < 1e-12);
//!     assert!((jac_row[0] - (1.0 - (-b[1] * x).exp())).abs() < 1e-15);
//! }
//! ```

mod error;
mod extended;
mod parse;
mod problem;
mod tape;

use std::fmt;
use std::str::FromStr;

pub use error::{CompileError, ParseError, ParseErrorKind};
pub use extended::{ExtendedWorkspace, decimal_parts};
pub use problem::ExprProblem;
pub use tape::{Tape, Workspace};

/// A parsed expression.
///
/// It keeps its source text (its `Display`), its variables in order of first
/// appearance, and its syntax tree; [`compile`](Expr::compile) it to evaluate
/// it with derivatives, or [`eval`](Expr::eval) it directly (slower, for
/// checks).
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    source: String,
    /// The syntax tree in post-order: children before parents, root last.
    nodes: Vec<Node>,
    vars: Vec<String>,
}

/// A node of the syntax tree; children are indices of earlier nodes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Node {
    Num(f64),
    /// Index into the expression's variables.
    Var(u32),
    Neg(u32),
    Bin(BinOp, u32, u32),
    Call(Function, u32),
    Call2(Function2, u32, u32),
}

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
}

impl BinOp {
    pub(crate) fn apply(self, a: f64, b: f64) -> f64 {
        match self {
            BinOp::Add => a + b,
            BinOp::Sub => a - b,
            BinOp::Mul => a * b,
            BinOp::Div => a / b,
            BinOp::Pow => a.powf(b),
        }
    }
}

/// The functions of one argument the language knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Function {
    /// `exp(u)`.
    Exp,
    /// The natural logarithm, written `ln(u)` or `log(u)`.
    Ln,
    /// `sqrt(u)`.
    Sqrt,
    /// `abs(u)`, with derivative 0 at 0.
    Abs,
    /// `sin(u)`.
    Sin,
    /// `cos(u)`.
    Cos,
    /// `tan(u)`.
    Tan,
    /// `asin(u)`.
    Asin,
    /// `acos(u)`.
    Acos,
    /// `atan(u)`, also written `arctan(u)`.
    Atan,
    /// `sinh(u)`.
    Sinh,
    /// `cosh(u)`.
    Cosh,
    /// `tanh(u)`.
    Tanh,
    /// The error function `erf(u) = 2/√π ∫₀ᵘ e^(−t²) dt` (libm's, FreeBSD
    /// msun's `s_erf.c`, within an ulp).
    Erf,
    /// The complementary error function `erfc(u) = 1 − erf(u)`, accurate
    /// where `erf(u)` is close to 1 (libm's).
    Erfc,
    /// The base-10 logarithm `log10(u)`.
    Log10,
    /// The base-2 logarithm `log2(u)`.
    Log2,
}

const FUNCTIONS: &[(&str, Function)] = &[
    ("exp", Function::Exp),
    ("ln", Function::Ln),
    ("log", Function::Ln),
    ("sqrt", Function::Sqrt),
    ("abs", Function::Abs),
    ("sin", Function::Sin),
    ("cos", Function::Cos),
    ("tan", Function::Tan),
    ("asin", Function::Asin),
    ("acos", Function::Acos),
    ("atan", Function::Atan),
    ("arctan", Function::Atan),
    ("sinh", Function::Sinh),
    ("cosh", Function::Cosh),
    ("tanh", Function::Tanh),
    ("erf", Function::Erf),
    ("erfc", Function::Erfc),
    ("log10", Function::Log10),
    ("log2", Function::Log2),
];

/// `2/√π`, the factor of `erf'(u) = 2/√π e^(−u²)`.
const TWO_OVER_SQRT_PI: f64 = std::f64::consts::FRAC_2_SQRT_PI;

impl Function {
    /// The function a name stands for (`"log"` and `"ln"` are both
    /// [`Function::Ln`]).
    pub fn from_name(name: &str) -> Option<Function> {
        FUNCTIONS.iter().find(|(n, _)| *n == name).map(|&(_, f)| f)
    }

    /// Every name the parser accepts as a function of one argument.
    pub fn names() -> Vec<&'static str> {
        FUNCTIONS.iter().map(|&(n, _)| n).collect()
    }

    /// Whether `name` is a function of one or two arguments (it cannot
    /// name a variable).
    pub fn is_function_name(name: &str) -> bool {
        Function::from_name(name).is_some() || Function2::from_name(name).is_some()
    }

    /// `f(u)`.
    pub fn apply(self, u: f64) -> f64 {
        match self {
            Function::Exp => u.exp(),
            Function::Ln => u.ln(),
            Function::Sqrt => u.sqrt(),
            Function::Abs => u.abs(),
            Function::Sin => u.sin(),
            Function::Cos => u.cos(),
            Function::Tan => u.tan(),
            Function::Asin => u.asin(),
            Function::Acos => u.acos(),
            Function::Atan => u.atan(),
            Function::Sinh => u.sinh(),
            Function::Cosh => u.cosh(),
            Function::Tanh => u.tanh(),
            Function::Erf => libm::erf(u),
            Function::Erfc => libm::erfc(u),
            Function::Log10 => u.log10(),
            Function::Log2 => u.log2(),
        }
    }

    /// `f'(u)` given `u` and `v = f(u)` (several derivatives are cheapest
    /// from `v`: `exp' = v`, `tanh' = 1 − v²`).
    #[inline]
    pub fn d1(self, u: f64, v: f64) -> f64 {
        match self {
            Function::Exp => v,
            Function::Ln => 1.0 / u,
            Function::Sqrt => 0.5 / v,
            Function::Abs => sign(u),
            Function::Sin => u.cos(),
            Function::Cos => -u.sin(),
            Function::Tan => 1.0 + v * v,
            Function::Asin => 1.0 / (1.0 - u * u).sqrt(),
            Function::Acos => -1.0 / (1.0 - u * u).sqrt(),
            Function::Atan => 1.0 / (1.0 + u * u),
            Function::Sinh => u.cosh(),
            Function::Cosh => u.sinh(),
            Function::Tanh => 1.0 - v * v,
            Function::Erf => TWO_OVER_SQRT_PI * (-u * u).exp(),
            Function::Erfc => -TWO_OVER_SQRT_PI * (-u * u).exp(),
            Function::Log10 => 1.0 / (u * std::f64::consts::LN_10),
            Function::Log2 => 1.0 / (u * std::f64::consts::LN_2),
        }
    }

    /// `(f'(u), f''(u))` given `u` and `v = f(u)`.
    #[inline]
    pub fn d2(self, u: f64, v: f64) -> (f64, f64) {
        match self {
            Function::Exp => (v, v),
            Function::Ln => {
                let r = 1.0 / u;
                (r, -r * r)
            }
            Function::Sqrt => {
                let d = 0.5 / v;
                (d, -d / (2.0 * u))
            }
            Function::Abs => (sign(u), 0.0),
            Function::Sin => (u.cos(), -v),
            Function::Cos => (-u.sin(), -v),
            Function::Tan => {
                let d = 1.0 + v * v;
                (d, 2.0 * v * d)
            }
            Function::Asin => {
                let w = 1.0 / (1.0 - u * u);
                let d = w.sqrt();
                (d, u * w * d)
            }
            Function::Acos => {
                let w = 1.0 / (1.0 - u * u);
                let d = w.sqrt();
                (-d, -u * w * d)
            }
            Function::Atan => {
                let d = 1.0 / (1.0 + u * u);
                (d, -2.0 * u * d * d)
            }
            Function::Sinh => (u.cosh(), v),
            Function::Cosh => (u.sinh(), v),
            Function::Tanh => {
                let d = 1.0 - v * v;
                (d, -2.0 * v * d)
            }
            // erf'' = −2u erf', erfc'' = −2u erfc'.
            Function::Erf | Function::Erfc => {
                let d = self.d1(u, v);
                (d, -2.0 * u * d)
            }
            Function::Log10 | Function::Log2 => {
                let d = self.d1(u, v);
                (d, -d / u)
            }
        }
    }
}

/// The functions of two arguments the language knows, written `f(a, b)`.
///
/// Where one is not differentiable the tape takes, as for `abs'(0) = 0`:
/// - `min(a, b)` and `max(a, b)` at a tie `a = b`: the gradient `½ ∇a +
///   ½ ∇b`, the midpoint of the two one-sided gradients (JAX's choice; an
///   element of Clarke's subdifferential, so that `min(x, x)` has derivative
///   1), and zero second derivatives (they are piecewise linear in `a, b`).
///   A NaN argument gives NaN (IEEE `minNum` would drop it).
/// - `hypot(a, b)` at the origin: gradient 0 (a subgradient of the cone
///   `‖(a, b)‖₂`) and zero second derivatives.
/// - `atan2(y, x)` at the origin: NaN derivatives (`0/0`); its value there
///   is IEEE's (`atan2(0, 0) = 0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Function2 {
    /// `atan2(y, x)`: the angle of the point `(x, y)`, in `(−π, π]`.
    Atan2,
    /// `min(a, b)`.
    Min,
    /// `max(a, b)`.
    Max,
    /// `hypot(a, b) = √(a² + b²)`, without overflow or underflow in between.
    Hypot,
}

const FUNCTIONS2: &[(&str, Function2)] = &[
    ("atan2", Function2::Atan2),
    ("min", Function2::Min),
    ("max", Function2::Max),
    ("hypot", Function2::Hypot),
];

impl Function2 {
    /// The function a name stands for.
    pub fn from_name(name: &str) -> Option<Function2> {
        FUNCTIONS2.iter().find(|(n, _)| *n == name).map(|&(_, f)| f)
    }

    /// Every name the parser accepts as a function of two arguments.
    pub fn names() -> Vec<&'static str> {
        FUNCTIONS2.iter().map(|&(n, _)| n).collect()
    }

    /// `f(a, b)`.
    pub fn apply(self, a: f64, b: f64) -> f64 {
        match self {
            Function2::Atan2 => a.atan2(b),
            Function2::Min if a.is_nan() || b.is_nan() => f64::NAN,
            Function2::Max if a.is_nan() || b.is_nan() => f64::NAN,
            Function2::Min => a.min(b),
            Function2::Max => a.max(b),
            Function2::Hypot => a.hypot(b),
        }
    }

    /// `(∂f/∂a, ∂f/∂b)` given `a`, `b` and `v = f(a, b)`.
    #[inline]
    pub fn d1(self, a: f64, b: f64, v: f64) -> (f64, f64) {
        match self {
            Function2::Atan2 => {
                // atan2(y, x): (x, −y) / (x² + y²).
                let r = a * a + b * b;
                (b / r, -a / r)
            }
            Function2::Min => pick(a < b, a > b, a, b),
            Function2::Max => pick(a > b, a < b, a, b),
            Function2::Hypot if v == 0.0 => (0.0, 0.0),
            Function2::Hypot => (a / v, b / v),
        }
    }

    /// `(∂a, ∂b, ∂²aa, ∂²ab, ∂²bb)` given `a`, `b` and `v = f(a, b)`.
    #[inline]
    pub fn d2(self, a: f64, b: f64, v: f64) -> (f64, f64, f64, f64, f64) {
        let (da, db) = self.d1(a, b, v);
        match self {
            Function2::Atan2 => {
                // ∂²yy = −2xy/r², ∂²yx = (y² − x²)/r², ∂²xx = 2xy/r².
                let r = a * a + b * b;
                let r2 = r * r;
                let c = 2.0 * a * b / r2;
                (da, db, -c, (a * a - b * b) / r2, c)
            }
            Function2::Min | Function2::Max => (da, db, 0.0, 0.0, 0.0),
            Function2::Hypot if v == 0.0 => (da, db, 0.0, 0.0, 0.0),
            Function2::Hypot => {
                // ∂²aa = b²/h³, ∂²ab = −ab/h³, ∂²bb = a²/h³.
                let h3 = v * v * v;
                (da, db, b * b / h3, -a * b / h3, a * a / h3)
            }
        }
    }
}

/// The gradient of `min`/`max` with respect to `(a, b)`: `(1, 0)` where `a`
/// is the one taken, `(0, 1)` where `b` is, `(½, ½)` at a tie, NaN if either
/// is NaN.
#[inline]
fn pick(a_taken: bool, b_taken: bool, a: f64, b: f64) -> (f64, f64) {
    if a_taken {
        (1.0, 0.0)
    } else if b_taken {
        (0.0, 1.0)
    } else if a.is_nan() || b.is_nan() {
        (f64::NAN, f64::NAN)
    } else {
        (0.5, 0.5)
    }
}

/// `sign(u)` with `sign(0) = 0` (and NaN for NaN).
#[inline]
fn sign(u: f64) -> f64 {
    if u > 0.0 {
        1.0
    } else if u < 0.0 {
        -1.0
    } else {
        u * 0.0
    }
}

impl Expr {
    /// Parses an expression (syntax in the [module docs](self)).
    ///
    /// ```
    /// use hesse::expr::Expr;
    /// let e = Expr::parse("b1 * exp[-b2*x] + x^2").unwrap();
    /// assert_eq!(e.variables(), ["b1", "b2", "x"]);
    /// assert_eq!(Expr::parse("-2^2").unwrap().eval(&[]), -4.0);
    ///
    /// let err = Expr::parse("2 * foo(x)").unwrap_err();
    /// assert_eq!(err.column(), 5);
    /// assert!(err.to_string().contains("unknown function 'foo'"));
    /// ```
    pub fn parse(source: &str) -> Result<Expr, ParseError> {
        let parse::Parsed { nodes, vars } = parse::parse(source)?;
        Ok(Expr {
            source: source.to_string(),
            nodes,
            vars,
        })
    }

    /// The variables, in order of first appearance (`"(1-x)^2 + y"` gives
    /// `["x", "y"]`). Constants and functions are not variables.
    pub fn variables(&self) -> &[String] {
        &self.vars
    }

    /// The text the expression was parsed from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The number of nodes of the syntax tree (a measure of size).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Always `false`: an expression has at least one node.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Evaluates the syntax tree directly, `values` in the order of
    /// [`variables`](Expr::variables). A reference implementation for
    /// checks: a [`Tape`] is several times faster and gives derivatives.
    ///
    /// # Panics
    /// If `values` has fewer entries than there are variables.
    pub fn eval(&self, values: &[f64]) -> f64 {
        assert!(
            values.len() >= self.vars.len(),
            "values has {} entries, the expression has {} variables",
            values.len(),
            self.vars.len()
        );
        let mut v: Vec<f64> = Vec::with_capacity(self.nodes.len());
        for node in &self.nodes {
            let x = match *node {
                Node::Num(c) => c,
                Node::Var(i) => values[i as usize],
                Node::Neg(a) => -v[a as usize],
                Node::Bin(op, a, b) => op.apply(v[a as usize], v[b as usize]),
                Node::Call(f, a) => f.apply(v[a as usize]),
                Node::Call2(f, a, b) => f.apply(v[a as usize], v[b as usize]),
            };
            v.push(x);
        }
        v.last().copied().unwrap_or(f64::NAN)
    }

    /// Compiles the expression to a [`Tape`] over `params` (the variables
    /// derivatives are taken with respect to, in this order) followed by
    /// `data` (variables bound to values per evaluation, no derivatives).
    ///
    /// Every variable of the expression must be in one of the lists; names
    /// in the lists that the expression does not use are allowed (their
    /// derivative is 0). A name given twice is an error.
    pub fn compile(&self, params: &[&str], data: &[&str]) -> Result<Tape, CompileError> {
        tape::compile(self, params, data)
    }

    pub(crate) fn nodes(&self) -> &[Node] {
        &self.nodes
    }
}

impl FromStr for Expr {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Expr, ParseError> {
        Expr::parse(s)
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}
