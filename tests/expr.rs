//! The expression language: parsing, errors, and exact derivatives checked
//! against finite differences, hand-derived values and the tree evaluator.

use hesse::expr::{CompileError, Expr, ExprProblem, ParseErrorKind};
use hesse::problem::{Gradient, HessVec, Hessian, Objective};
use nalgebra::DMatrix;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn eval(src: &str) -> f64 {
    Expr::parse(src).unwrap_or_else(|e| panic!("{e}")).eval(&[])
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
}

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

#[test]
fn precedence_and_associativity() {
    assert_eq!(eval("1 + 2 * 3"), 7.0);
    assert_eq!(eval("(1 + 2) * 3"), 9.0);
    assert_eq!(eval("[1 + 2] * 3"), 9.0);
    assert_eq!(eval("8 - 3 - 2"), 3.0);
    assert_eq!(eval("8 / 4 / 2"), 1.0);
    assert_eq!(eval("2 ^ 3 ^ 2"), 512.0);
    assert_eq!(eval("2 ** 3 ** 2"), 512.0);
    assert_eq!(eval("2 ** 3 ^ 2"), 512.0);
    assert_eq!(eval("-2 ^ 2"), -4.0);
    assert_eq!(eval("-2 ** 2"), -4.0);
    assert_eq!(eval("(-2) ^ 2"), 4.0);
    assert_eq!(eval("2 ^ -1"), 0.5);
    assert_eq!(eval("2 ^ -1 ^ 2"), 0.5); // 2^(-(1^2))
    assert_eq!(eval("- - 3"), 3.0);
    assert_eq!(eval("+3 - -3"), 6.0);
    assert_eq!(eval("2 * -3"), -6.0);
    assert_eq!(eval("-3 * 2 ^ 2"), -12.0);
    assert_eq!(eval("3 - 2 ^ 2 * 2"), -5.0);
    assert_eq!(eval("2 ^ 2 * 3"), 12.0);
    assert_eq!(eval("4 ^ 0.5"), 2.0);
}

#[test]
fn numbers() {
    assert_eq!(eval("1e-3"), 1e-3);
    assert_eq!(eval("2.5E+4"), 2.5e4);
    assert_eq!(eval(".5"), 0.5);
    assert_eq!(eval("5."), 5.0);
    assert_eq!(eval("1.5e2"), 150.0);
    assert_eq!(eval("0.1"), 0.1);
    assert_eq!(eval("007"), 7.0);
    assert_eq!(eval("1E3"), 1000.0);
}

#[test]
fn constants_and_functions() {
    use std::f64::consts::{E, PI};
    assert_eq!(eval("pi"), PI);
    assert_eq!(eval("e"), E);
    assert_eq!(eval("log(e)"), 1.0);
    assert_eq!(eval("ln(e^2)"), 2.0);
    assert_eq!(eval("exp[0]"), 1.0);
    assert_eq!(eval("sqrt(16)"), 4.0);
    assert_eq!(eval("abs(-3)"), 3.0);
    assert!(close(eval("sin(pi/6)"), 0.5, 1e-15));
    assert!(close(eval("cos(pi/3)"), 0.5, 1e-15));
    assert!(close(eval("tan(pi/4)"), 1.0, 1e-15));
    assert!(close(eval("asin(1)"), PI / 2.0, 1e-15));
    assert!(close(eval("acos(0)"), PI / 2.0, 1e-15));
    assert!(close(eval("4*atan(1)"), PI, 1e-15));
    assert_eq!(eval("arctan(1)"), eval("atan(1)"));
    assert!(close(eval("cosh(1)^2 - sinh(1)^2"), 1.0, 1e-14));
    assert!(close(eval("tanh(1)"), 1f64.tanh(), 1e-15));
}

#[test]
fn variables_in_order_of_first_appearance() {
    let e = Expr::parse("b2*x + b1 - x^b2 + _t + x1 + b12 + e1 + E + pi2").unwrap();
    assert_eq!(
        e.variables(),
        ["b2", "x", "b1", "_t", "x1", "b12", "e1", "E", "pi2"]
    );
    // Constants are not variables.
    assert!(Expr::parse("e * pi").unwrap().variables().is_empty());
    assert_eq!(Expr::parse("x*e").unwrap().variables(), ["x"]);
    // Whitespace, newlines and tabs are ignored.
    let e = Expr::parse(" ( 1 -\tx ) ^ 2 +\n 100 * ( y - x ^ 2 ) ^ 2 ").unwrap();
    assert_eq!(e.variables(), ["x", "y"]);
    assert_eq!(e.eval(&[1.0, 1.0]), 0.0);
}

#[test]
fn nist_model_lines_parse() {
    // Model lines as NIST StRD writes them (with the y = and + e dropped).
    let models = [
        ("b1*(1-exp[-b2*x])", 3),                                    // BoxBOD
        ("(b1/b2) * exp[-0.5*((x-b3)/b2)**2]", 4),                   // Eckerle4
        ("b1 - b2*x - arctan[b3/(x-b4)]/pi", 5),                     // Roszman1
        ("b1*(x**2+x*b2) / (x**2+x*b3+b4)", 5),                      // MGH09
        ("b1 * (b2+x)**(-1/b3)", 4),                                 // Bennett5
        ("b1 + b2*cos( 2*pi*x/12 ) + b3*sin( 2*pi*x/12 )", 4),       // ENSO (part)
        ("exp(-b1*x)/(b2+b3*x)", 4),                                 // Chwirut
        ("b1 - b2*x1 * exp[-b3*x2]", 5),                             // Nelson
        ("(b1+b2*x+b3*x**2+b4*x**3) / (1+b5*x+b6*x**2+b7*x**3)", 8), // Thurber
    ];
    for (src, nvars) in models {
        let e = Expr::parse(src).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(e.variables().len(), nvars, "{src}");
    }
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

fn err_at(src: &str) -> (usize, String) {
    let err = Expr::parse(src).expect_err(src);
    (err.column(), err.to_string())
}

#[test]
fn unclosed_bracket_points_past_the_end() {
    let (col, msg) = err_at("(1-x^2");
    assert_eq!(col, 7);
    assert!(
        msg.contains("expected ')' to close '(' at column 1, found end of input"),
        "{msg}"
    );
    assert!(msg.ends_with("  (1-x^2\n        ^"), "{msg}");
}

#[test]
fn error_positions_and_messages() {
    let cases: &[(&str, usize, &str)] = &[
        (
            "",
            1,
            "expected a number, a variable, a function or '(', found end of input",
        ),
        ("1 +", 4, "found end of input"),
        ("x + * y", 5, "found '*'"),
        ("(x]", 3, "expected ')' to close '(' at column 1, found ']'"),
        ("[x)", 3, "expected ']' to close '[' at column 1, found ')'"),
        ("x)", 2, "unmatched closing bracket"),
        ("2x", 1, "write '*' to multiply"),
        ("x y", 3, "write '*' to multiply"),
        ("1e", 1, "expected digits in the exponent"),
        ("1e+", 1, "expected digits in the exponent"),
        ("1.2.3", 1, "malformed number"),
        (".", 1, "expected digits before or after '.'"),
        ("1e999", 1, "too large"),
        ("x $ y", 3, "unexpected character '$'"),
        ("2 * foo(x)", 5, "unknown function 'foo'"),
        ("sin x", 1, "function 'sin' needs an argument"),
        ("x + exp", 5, "function 'exp' needs an argument"),
        ("e(x)", 1, "unknown function 'e'"),
        ("x ^ ", 5, "found end of input"),
        ("sin()", 5, "found ')'"),
        ("x ** * 2", 6, "found '*'"),
        ("x − 1", 3, "unexpected character '−'"),
    ];
    for &(src, col, needle) in cases {
        let (c, msg) = err_at(src);
        assert!(msg.contains(needle), "{src:?}: {msg}");
        assert_eq!(c, col, "{src:?}: {msg}");
    }
}

#[test]
fn columns_count_characters_not_bytes() {
    // 'é' is two bytes; the caret must sit under the '$'.
    let err = Expr::parse("é + $").unwrap_err();
    assert!(matches!(err.kind(), ParseErrorKind::UnexpectedChar('é')));
    let err = Expr::parse("x + $ é").unwrap_err();
    assert_eq!(err.byte(), 4);
    assert_eq!(err.column(), 5);
    let err = Expr::parse("(x − 1").unwrap_err();
    assert_eq!(err.column(), 4);
}

#[test]
fn multiline_errors_give_line_and_column() {
    let err = Expr::parse("x +\n  (y *\n 2").unwrap_err();
    assert_eq!(err.line(), 3);
    assert_eq!(err.column(), 3);
    let msg = err.to_string();
    assert!(msg.starts_with("parse error at line 3, column 3"), "{msg}");
    assert!(msg.ends_with("\n   2\n    ^"), "{msg:?}");
}

#[test]
fn hostile_input_does_not_panic() {
    // Deep nesting is an error, not a stack overflow.
    let deep = "(".repeat(100_000) + "x" + &")".repeat(100_000);
    assert!(matches!(
        Expr::parse(&deep).unwrap_err().kind(),
        ParseErrorKind::TooDeep(_)
    ));
    let minus = "-".repeat(100_000) + "x";
    assert!(Expr::parse(&minus).is_err());
    let pow = "x^".repeat(100_000) + "x";
    assert!(Expr::parse(&pow).is_err());
    // Long flat chains parse, compile, evaluate and drop without recursion.
    let chain = vec!["x"; 100_000].join("+");
    let e = Expr::parse(&chain).unwrap();
    let p = ExprProblem::new(&e, &["x"]).unwrap();
    let mut g = [0.0];
    assert_eq!(p.value_grad(&[2.0], &mut g), 200_000.0);
    assert_eq!(g, [100_000.0]);
    // Moderate nesting is fine.
    let ok = "(".repeat(200) + "x" + &")".repeat(200);
    assert!(Expr::parse(&ok).is_ok());
}

#[test]
fn compile_errors_name_the_variables() {
    let e = Expr::parse("a*x + b*y + c").unwrap();
    match e.compile(&["a", "b"], &["x"]) {
        Err(CompileError::Unbound(names)) => assert_eq!(names, ["y", "c"]),
        other => panic!("{other:?}"),
    }
    let msg = e
        .compile(&["a", "b", "x", "c"], &[])
        .unwrap_err()
        .to_string();
    assert_eq!(msg, "no value given for variable: y");
    let err = e.compile(&["a", "b", "c", "x"], &["y", "a"]).unwrap_err();
    assert_eq!(err, CompileError::Duplicate("a".into()));
    // Unused names are allowed; their derivative is 0.
    let p = ExprProblem::new(&Expr::parse("x^2").unwrap(), &["x", "unused"]).unwrap();
    let mut g = [1.0; 2];
    assert_eq!(p.value_grad(&[3.0, 5.0], &mut g), 9.0);
    assert_eq!(g, [6.0, 0.0]);
}

// ---------------------------------------------------------------------------
// Derivatives
// ---------------------------------------------------------------------------

/// Central differences of the gradient (step `h`), for checking `∇f`.
fn fd_grad(p: &ExprProblem, x: &[f64], h: f64) -> Vec<f64> {
    let mut xp = x.to_vec();
    (0..x.len())
        .map(|i| {
            let hi = h * (1.0 + x[i].abs());
            xp[i] = x[i] + hi;
            let fp = p.value(&xp);
            xp[i] = x[i] - hi;
            let fm = p.value(&xp);
            xp[i] = x[i];
            (fp - fm) / (2.0 * hi)
        })
        .collect()
}

/// Central differences of `∇f` along `v`, for checking `∇²f v`.
fn fd_hess_vec(p: &ExprProblem, x: &[f64], v: &[f64], h: f64) -> Vec<f64> {
    let n = x.len();
    let xp: Vec<f64> = x.iter().zip(v).map(|(a, b)| a + h * b).collect();
    let xm: Vec<f64> = x.iter().zip(v).map(|(a, b)| a - h * b).collect();
    let (mut gp, mut gm) = (vec![0.0; n], vec![0.0; n]);
    p.value_grad(&xp, &mut gp);
    p.value_grad(&xm, &mut gm);
    gp.iter()
        .zip(&gm)
        .map(|(a, b)| (a - b) / (2.0 * h))
        .collect()
}

/// Checks value (against the tree evaluator), gradient, Hessian-vector
/// products and the dense Hessian (against finite differences and each
/// other) at `x`.
fn check_derivatives(src: &str, x: &[f64]) {
    let e = Expr::parse(src).unwrap_or_else(|err| panic!("{err}"));
    let names: Vec<&str> = e.variables().iter().map(String::as_str).collect();
    let p = ExprProblem::new(&e, &names).unwrap();
    let n = x.len();
    assert_eq!(p.dim(), n, "{src}");

    let f_tree = e.eval(x);
    let mut g = vec![0.0; n];
    let f = p.value_grad(x, &mut g);
    assert!(close(f, f_tree, 1e-14), "{src}: tape {f} vs tree {f_tree}");
    assert_eq!(p.value(x), f, "{src}: value vs value_grad");

    let g_fd = fd_grad(&p, x, 1e-6);
    for i in 0..n {
        assert!(
            close(g[i], g_fd[i], 1e-6),
            "{src}: g[{i}] = {} vs fd {}",
            g[i],
            g_fd[i]
        );
    }

    let mut h = DMatrix::zeros(n, n);
    p.hessian(x, &mut h);
    let mut hv = vec![0.0; n];
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for _ in 0..3 {
        let v: Vec<f64> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
        p.hess_vec(x, &v, &mut hv);
        let hv_fd = fd_hess_vec(&p, x, &v, 1e-6);
        let hv_dense = &h * nalgebra::DVector::from_column_slice(&v);
        for i in 0..n {
            assert!(
                close(hv[i], hv_fd[i], 1e-5),
                "{src}: Hv[{i}] = {} vs fd {}",
                hv[i],
                hv_fd[i]
            );
            assert!(
                close(hv[i], hv_dense[i], 1e-12),
                "{src}: Hv[{i}] = {} vs dense {}",
                hv[i],
                hv_dense[i]
            );
        }
    }
}

#[test]
fn every_function_against_finite_differences() {
    let cases: &[(&str, &[f64])] = &[
        ("exp(2*x)", &[0.3]),
        ("ln(x)", &[0.7]),
        ("log(x*y)", &[0.7, 2.0]),
        ("sqrt(x)", &[2.0]),
        ("sqrt(x^2 + y^2)", &[3.0, -4.0]),
        ("abs(x)", &[-1.5]),
        ("abs(x*y)", &[0.5, 2.0]),
        ("sin(x)", &[0.4]),
        ("cos(x*y)", &[0.4, 1.3]),
        ("tan(x)", &[0.3]),
        ("asin(x)", &[0.3]),
        ("acos(x)", &[-0.6]),
        ("atan(x)", &[1.7]),
        ("arctan(x/y)", &[1.7, 0.5]),
        ("sinh(x)", &[0.9]),
        ("cosh(x)", &[-0.9]),
        ("tanh(x)", &[0.8]),
        ("exp(sin(x)) * ln(2 + cos(y))", &[0.3, 1.1]),
    ];
    for &(src, x) in cases {
        check_derivatives(src, x);
    }
}

#[test]
fn powers_and_division_against_finite_differences() {
    let cases: &[(&str, &[f64])] = &[
        ("x^2", &[-3.0]),
        ("x**2", &[-0.5]),
        ("x^3", &[-1.3]),
        ("x^-1", &[-2.0]),
        ("x^-2", &[0.7]),
        ("x^2.5", &[1.3]),
        ("x^0.5", &[1.3]),
        ("x^-0.5", &[1.3]),
        ("x^y", &[1.5, 2.3]),
        ("x^y", &[0.5, -1.2]),
        ("2^x", &[0.7]),
        ("e^x", &[0.7]),
        ("x^x", &[1.2]),
        ("(x*y)^(x-y)", &[1.2, 0.4]),
        ("x^(y^2)", &[1.1, 1.3]),
        ("x / y", &[1.0, 3.0]),
        ("x / y", &[-2.0, -0.5]),
        ("1 / (x*x + y)", &[0.3, 0.9]),
        ("x / x", &[2.5]),
        ("(x - y) / (x + y)", &[2.0, 1.0]),
        ("x*x*x", &[-1.5]),
        ("x*x", &[-2.0]),
        ("-x^2", &[-2.0]),
        ("(1-x)^2 + 100*(y-x^2)^2", &[-1.2, 1.0]),
        ("(x + y + z)^4 - x*y*z", &[0.2, -0.3, 0.5]),
    ];
    for &(src, x) in cases {
        check_derivatives(src, x);
    }
}

#[test]
fn hand_derived_values() {
    // Rosenbrock at (−1.2, 1): f = 24.2, ∇f = (−215.6, −88),
    // ∇²f = [[1200x² − 400y + 2, −400x], [−400x, 200]] = [[1330, 480], [480, 200]].
    let e = Expr::parse("(1-x)^2 + 100*(y-x^2)^2").unwrap();
    let p = ExprProblem::new(&e, &["x", "y"]).unwrap();
    let x = [-1.2, 1.0];
    let mut g = [0.0; 2];
    let f = p.value_grad(&x, &mut g);
    assert!(close(f, 24.2, 1e-15));
    assert!(
        close(g[0], -215.6, 1e-14) && close(g[1], -88.0, 1e-14),
        "{g:?}"
    );
    let mut h = DMatrix::zeros(2, 2);
    p.hessian(&x, &mut h);
    let expected = DMatrix::from_row_slice(2, 2, &[1330.0, 480.0, 480.0, 200.0]);
    assert!((h - expected).abs().max() < 1e-10);

    // x^2 at x = −3: derivative −6, second derivative 2.
    let p = ExprProblem::new(&Expr::parse("x^2").unwrap(), &["x"]).unwrap();
    let mut g = [0.0];
    assert_eq!(p.value_grad(&[-3.0], &mut g), 9.0);
    assert_eq!(g, [-6.0]);
    let mut hv = [0.0];
    p.hess_vec(&[-3.0], &[1.0], &mut hv);
    assert_eq!(hv, [2.0]);

    // x^y: ∂/∂x = y x^(y−1), ∂/∂y = x^y ln x; ∂²/∂x∂y = x^(y−1)(1 + y ln x).
    let p = ExprProblem::new(&Expr::parse("x^y").unwrap(), &["x", "y"]).unwrap();
    let mut g = [0.0; 2];
    let f = p.value_grad(&[2.0, 3.0], &mut g);
    assert_eq!(f, 8.0);
    assert!(close(g[0], 12.0, 1e-15) && close(g[1], 8.0 * 2f64.ln(), 1e-15));
    let mut h = DMatrix::zeros(2, 2);
    p.hessian(&[2.0, 3.0], &mut h);
    let l = 2f64.ln();
    assert!(close(h[(0, 0)], 12.0, 1e-14));
    assert!(close(h[(0, 1)], 4.0 * (1.0 + 3.0 * l), 1e-14));
    assert!(close(h[(1, 1)], 8.0 * l * l, 1e-14));

    // abs at 0 has derivative 0 by convention; sqrt at 0 is +inf.
    let p = ExprProblem::new(&Expr::parse("abs(x)").unwrap(), &["x"]).unwrap();
    p.value_grad(&[0.0], &mut g[..1]);
    assert_eq!(g[0], 0.0);
    let p = ExprProblem::new(&Expr::parse("sqrt(x)").unwrap(), &["x"]).unwrap();
    p.value_grad(&[0.0], &mut g[..1]);
    assert_eq!(g[0], f64::INFINITY);
}

#[test]
fn outside_the_domain_is_nan_not_a_panic() {
    let p = ExprProblem::new(&Expr::parse("ln(x) + x^0.5").unwrap(), &["x"]).unwrap();
    let mut g = [0.0];
    assert!(p.value_grad(&[-1.0], &mut g).is_nan());
    assert!(g[0].is_nan());
    let p = ExprProblem::new(&Expr::parse("1/x").unwrap(), &["x"]).unwrap();
    assert_eq!(p.value_grad(&[0.0], &mut g), f64::INFINITY);
    // An integer power of a negative number is fine.
    let p = ExprProblem::new(&Expr::parse("x^3").unwrap(), &["x"]).unwrap();
    assert_eq!(p.value_grad(&[-2.0], &mut g), -8.0);
    assert_eq!(g, [12.0]);
}

#[test]
fn constants_fold_and_subexpressions_share() {
    let e = Expr::parse("2*3*x + (x + 1)^2 + sin(x + 1) + exp(0)").unwrap();
    let tape = e.compile(&["x"], &[]).unwrap();
    // x+1 once, its square, its sine, 6*x, the three additions: 7 operations.
    assert_eq!(tape.len(), 7, "{tape:?}");
    // A constant expression compiles to no operation at all.
    let tape = Expr::parse("2^10 - ln(e)")
        .unwrap()
        .compile(&[], &[])
        .unwrap();
    assert!(tape.is_empty());
    let mut ws = tape.workspace();
    assert_eq!(tape.value(&[], &[], &mut ws), 1023.0);
    // So does a lone variable.
    let tape = Expr::parse("x").unwrap().compile(&["x"], &[]).unwrap();
    assert!(tape.is_empty());
    let mut g = [0.0];
    assert_eq!(tape.value_grad(&[4.0], &[], &mut g, &mut ws), 4.0);
    assert_eq!(g, [1.0]);
}

#[test]
fn data_variables_get_no_derivative() {
    // y = b1 exp(−b2 x): the Jacobian row at each x is (e^(−b2 x), −b1 x e^(−b2 x)).
    let e = Expr::parse("b1*exp[-b2*x]").unwrap();
    let tape = e.compile(&["b1", "b2"], &["x"]).unwrap();
    assert_eq!(tape.params(), ["b1", "b2"]);
    assert_eq!(tape.data(), ["x"]);
    let mut ws = tape.workspace();
    let b = [2.0, 0.5];
    let mut row = [0.0; 2];
    for x in [0.0, 1.0, 4.0] {
        let m = tape.value_grad(&b, &[x], &mut row, &mut ws);
        let ex = (-b[1] * x).exp();
        assert!(close(m, b[0] * ex, 1e-15));
        assert!(close(row[0], ex, 1e-15));
        assert!(close(row[1], -b[0] * x * ex, 1e-15));
    }
    // Order of parameters is the caller's, not the expression's.
    let tape = e.compile(&["b2", "b1"], &["x"]).unwrap();
    tape.value_grad(&[0.5, 2.0], &[1.0], &mut row, &mut ws);
    assert!(close(row[1], (-0.5f64).exp(), 1e-15));
    // A problem with data, rebound.
    let mut p = ExprProblem::with_data(&e, &["b1", "b2"], &[("x", 1.0)]).unwrap();
    let f1 = p.value(&b);
    p.set_data(&[2.0]);
    assert!(close(p.value(&b), 2.0 * (-1.0f64).exp(), 1e-15));
    assert!(close(f1, 2.0 * (-0.5f64).exp(), 1e-15));
    // Second derivatives see the data as constants: at x = 2,
    // ∂²/∂b1∂b2 = −x e^(−b2 x), ∂²/∂b2² = b1 x² e^(−b2 x).
    let mut h = DMatrix::zeros(2, 2);
    p.hessian(&b, &mut h);
    let ex = (-1.0f64).exp();
    assert_eq!(h[(0, 0)], 0.0);
    assert!(close(h[(0, 1)], -2.0 * ex, 1e-15) && close(h[(1, 0)], -2.0 * ex, 1e-15));
    assert!(close(h[(1, 1)], 8.0 * ex, 1e-15));
    let mut hv = [0.0; 2];
    p.hess_vec(&b, &[1.0, 1.0], &mut hv);
    assert!(close(hv[0], -2.0 * ex, 1e-15) && close(hv[1], 6.0 * ex, 1e-15));
}

/// A random smooth expression over `n` variables, as text.
fn random_expr(rng: &mut ChaCha8Rng, n: usize, depth: u32) -> String {
    if depth == 0 || rng.random_range(0..4) == 0 {
        return if rng.random_bool(0.7) {
            format!("x{}", rng.random_range(0..n))
        } else {
            format!("{:.2}", rng.random_range(-2.0..2.0))
        };
    }
    let a = random_expr(rng, n, depth - 1);
    match rng.random_range(0..12) {
        0 => format!("({a} + {})", random_expr(rng, n, depth - 1)),
        1 => format!("({a} - {})", random_expr(rng, n, depth - 1)),
        2 | 3 => format!("{a} * {}", random_expr(rng, n, depth - 1)),
        4 => format!("{a} / (1.5 + sin({}))", random_expr(rng, n, depth - 1)),
        5 => format!("({a})^2"),
        6 => format!("({a})^{}", rng.random_range(-2..4)),
        7 => format!("exp(0.3*tanh({a}))"),
        8 => format!("ln(1 + ({a})^2)"),
        9 => format!("sqrt(1 + ({a})^2)"),
        10 => format!("cos({a})"),
        _ => format!("atan({a})"),
    }
}

#[test]
fn random_expressions_match_tree_and_finite_differences() {
    let mut rng = ChaCha8Rng::seed_from_u64(2024);
    let mut checked = 0;
    for _ in 0..300 {
        let n = rng.random_range(1..5);
        let src = random_expr(&mut rng, n, 4);
        let e = Expr::parse(&src).unwrap_or_else(|err| panic!("{err}"));
        let x: Vec<f64> = (0..e.variables().len())
            .map(|_| rng.random_range(0.3..1.2))
            .collect();
        let f = e.eval(&x);
        // Skip points where a negative power hit 0 or the value is huge, where
        // finite differences say nothing.
        if !f.is_finite() || f.abs() > 1e6 {
            continue;
        }
        let names: Vec<&str> = e.variables().iter().map(String::as_str).collect();
        let p = ExprProblem::new(&e, &names).unwrap();
        let mut g = vec![0.0; x.len()];
        if !g.is_empty() && (p.value_grad(&x, &mut g) - f).abs() > 1e-12 * (1.0 + f.abs()) {
            panic!("{src}: tape and tree disagree");
        }
        if g.iter().any(|v| !v.is_finite() || v.abs() > 1e6) {
            continue;
        }
        check_derivatives(&src, &x);
        checked += 1;
    }
    assert!(checked > 150, "only {checked} expressions checked");
}

#[test]
fn expr_problem_is_send_sync_clone() {
    fn assert_traits<T: Send + Sync + Clone>() {}
    assert_traits::<ExprProblem>();
    assert_traits::<Expr>();
    assert_traits::<hesse::expr::Tape>();
}

// ---------------------------------------------------------------------------
// Issue 18 item 9: atan2, min, max, hypot, erf, erfc, log10, log2
// ---------------------------------------------------------------------------

/// Each new function: value against std/statrs, and gradient, Hessian-vector
/// products and the dense Hessian against finite differences, away from
/// kinks and composed with other operations.
#[test]
fn new_functions_against_finite_differences() {
    let cases: &[(&str, &[f64])] = &[
        ("atan2(y, x)", &[0.7, -1.3]),
        ("atan2(y, x)", &[-0.4, 2.0]),
        ("atan2(x*y, x^2 + 1) * exp(y)", &[0.8, -0.6]),
        ("min(x, y)", &[0.3, 1.1]),
        ("min(x, y)", &[1.3, -0.1]),
        ("max(x, y)", &[0.3, 1.1]),
        ("max(x^2, sin(y)) * y", &[1.4, 0.5]),
        ("min(x*y, 2) + max(exp(x), y^2)", &[0.9, 1.7]),
        ("hypot(x, y)", &[3.0, -4.0]),
        ("hypot(x*y, x - y)^3", &[0.5, 1.5]),
        ("erf(x)", &[0.4]),
        ("erf(x*y) + erfc(x - y)", &[0.8, -0.3]),
        ("erfc(x)", &[2.5]),
        ("log10(x)", &[7.0]),
        ("log2(x*y)", &[3.0, 0.25]),
        ("log10(1 + x^2) * log2(2 + y)", &[-0.7, 1.4]),
        // Square brackets, as NIST model lines write calls.
        ("hypot[x, y] + atan2[y, 2]", &[1.1, 0.2]),
    ];
    for &(src, x) in cases {
        check_derivatives(src, x);
    }
    let v = |src: &str| eval(src);
    assert_eq!(v("atan2(1, -1)"), 1f64.atan2(-1.0));
    assert_eq!(v("min(2, -3) + max(2, -3)"), -1.0);
    assert_eq!(v("hypot(3, 4)"), 5.0);
    assert_eq!(v("log10(1000)"), 3.0);
    assert_eq!(v("log2(1024)"), 10.0);
    assert!((v("erf(0.5)") - 0.520_499_877_813_046_5).abs() < 1e-15);
    assert!((v("erfc(3)") - 2.209_049_699_858_544e-5).abs() < 1e-19);
}

/// At the kinks: a tie of min/max splits the gradient equally (so min(x, x)
/// has derivative 1), hypot at the origin has gradient 0, second derivatives
/// of min/max are 0, and a NaN argument of min/max is NaN (not dropped).
#[test]
fn new_functions_at_kinks() {
    let grad = |src: &str, x: &[f64]| {
        let e = Expr::parse(src).unwrap();
        let names: Vec<&str> = e.variables().iter().map(String::as_str).collect();
        let p = ExprProblem::new(&e, &names).unwrap();
        let mut g = vec![0.0; x.len()];
        let f = p.value_grad(x, &mut g);
        let mut hv = vec![0.0; x.len()];
        p.hess_vec(x, &vec![1.0; x.len()], &mut hv);
        (f, g, hv)
    };
    assert_eq!(
        grad("min(x, y)", &[1.0, 1.0]),
        (1.0, vec![0.5, 0.5], vec![0.0, 0.0])
    );
    assert_eq!(
        grad("max(x, y)", &[2.0, 2.0]),
        (2.0, vec![0.5, 0.5], vec![0.0, 0.0])
    );
    assert_eq!(grad("min(x, x)", &[3.0]).1, [1.0]);
    assert_eq!(grad("max(x, 2*x)", &[0.0]).1, [1.5]);
    assert_eq!(
        grad("hypot(x, y)", &[0.0, 0.0]),
        (0.0, vec![0.0, 0.0], vec![0.0, 0.0])
    );
    let (f, g, _) = grad("min(x, y)", &[f64::NAN, 1.0]);
    assert!(f.is_nan() && g.iter().all(|v| v.is_nan()), "{f} {g:?}");
    let (f, _, _) = grad("max(x, y)", &[1.0, f64::NAN]);
    assert!(f.is_nan());
    // atan2 at the origin: IEEE's value, NaN derivatives (0/0).
    let (f, g, _) = grad("atan2(y, x)", &[0.0, 0.0]);
    assert_eq!(f, 0.0);
    assert!(g.iter().all(|v| v.is_nan()), "{g:?}");
}

/// Arity errors say what the function takes; the names cannot be variables.
#[test]
fn new_functions_arity_and_names() {
    for (src, needle) in [
        ("atan2(y)", "'atan2' takes 2 arguments"),
        ("min(x, y, z)", "takes 2 arguments"),
        (
            "sin(x, y)",
            "only atan2, min, max and hypot take two arguments",
        ),
        ("max", "function 'max' needs an argument"),
        ("hypot + 1", "function 'hypot' needs an argument"),
        ("x, y", "expected an operator or end of input"),
        ("min(, y)", "expected a number"),
    ] {
        let err = Expr::parse(src).unwrap_err().to_string();
        assert!(err.contains(needle), "{src}: {err}");
    }
    let err = Expr::parse("foo(x)").unwrap_err().to_string();
    for name in [
        "atan2", "min", "max", "hypot", "erf", "erfc", "log10", "log2",
    ] {
        assert!(err.contains(name), "{err}");
    }
    // Constant arguments fold.
    let e = Expr::parse("x + max(1, 2) * atan2(0, -1)").unwrap();
    let t = e.compile(&["x"], &[]).unwrap();
    assert_eq!(t.len(), 1, "{t:?}");
}
