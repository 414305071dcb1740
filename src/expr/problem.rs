//! An expression as a problem for the minimizers.

use std::sync::Mutex;

use nalgebra::DMatrix;

use super::Expr;
use super::error::CompileError;
use super::tape::{Tape, Workspace};
use crate::problem::{Gradient, HessVec, Hessian, Objective};

/// An expression compiled as an objective of its parameters, with exact
/// gradient, Hessian and Hessian-vector products from its [`Tape`].
///
/// Data variables, if any, are bound to fixed values
/// ([`with_data`](ExprProblem::with_data), [`set_data`](ExprProblem::set_data)).
/// Evaluations share one [`Workspace`] behind a mutex, so the problem is
/// `Send` and `Sync` and allocates nothing after the first evaluation.
///
/// ```
/// use hesse::expr::{Expr, ExprProblem};
/// use hesse::prelude::*;
///
/// let expr = Expr::parse("(x - a)^2 + (y + 1)^2").unwrap();
/// let p = ExprProblem::with_data(&expr, &["x", "y"], &[("a", 3.0)]).unwrap();
/// let report = GradientDescent::default().minimize(&p, &[0.0, 0.0]).unwrap();
/// assert!(report.converged());
/// assert!((report.x[0] - 3.0).abs() < 1e-8 && (report.x[1] + 1.0).abs() < 1e-8);
/// ```
#[derive(Debug)]
pub struct ExprProblem {
    tape: Tape,
    data: Vec<f64>,
    work: Mutex<Workspace>,
}

impl ExprProblem {
    /// The expression as a function of `params`, in that order; every
    /// variable of the expression must be among them.
    pub fn new(expr: &Expr, params: &[&str]) -> Result<Self, CompileError> {
        Self::with_data(expr, params, &[])
    }

    /// The expression as a function of `params`, with the variables named in
    /// `data` bound to the values given.
    pub fn with_data(
        expr: &Expr,
        params: &[&str],
        data: &[(&str, f64)],
    ) -> Result<Self, CompileError> {
        let names: Vec<&str> = data.iter().map(|&(n, _)| n).collect();
        let tape = expr.compile(params, &names)?;
        let work = Mutex::new(tape.workspace());
        Ok(ExprProblem {
            tape,
            data: data.iter().map(|&(_, v)| v).collect(),
            work,
        })
    }

    /// The compiled tape.
    pub fn tape(&self) -> &Tape {
        &self.tape
    }

    /// The parameters' names, in the order of `x`.
    pub fn params(&self) -> &[String] {
        self.tape.params()
    }

    /// The values of the data variables, in the order they were given.
    pub fn data(&self) -> &[f64] {
        &self.data
    }

    /// Rebinds the data variables.
    ///
    /// # Panics
    /// If `values` does not have one entry per data variable.
    pub fn set_data(&mut self, values: &[f64]) {
        assert_eq!(
            values.len(),
            self.data.len(),
            "values has {} entries, the problem has {} data variables",
            values.len(),
            self.data.len()
        );
        self.data.copy_from_slice(values);
    }

    fn work(&self) -> std::sync::MutexGuard<'_, Workspace> {
        // A panic while holding the lock leaves only scratch values behind.
        self.work.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Clone for ExprProblem {
    fn clone(&self) -> Self {
        ExprProblem {
            tape: self.tape.clone(),
            data: self.data.clone(),
            work: Mutex::new(self.tape.workspace()),
        }
    }
}

impl Objective for ExprProblem {
    fn dim(&self) -> usize {
        self.tape.params().len()
    }
    fn value(&self, x: &[f64]) -> f64 {
        self.tape.value(x, &self.data, &mut self.work())
    }
}

impl Gradient for ExprProblem {
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        self.tape.value_grad(x, &self.data, g, &mut self.work())
    }
}

impl Hessian for ExprProblem {
    fn hessian(&self, x: &[f64], h: &mut DMatrix<f64>) {
        self.tape.hessian(x, &self.data, h, &mut self.work());
    }
}

impl HessVec for ExprProblem {
    fn hess_vec(&self, x: &[f64], v: &[f64], hv: &mut [f64]) {
        self.tape.hess_vec(x, &self.data, v, hv, &mut self.work());
    }
}
